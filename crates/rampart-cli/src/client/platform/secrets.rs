//! `rampart secret`: an organisation's or project's secrets. Values are write-only: they
//! go in from standard input and no command (no API answer) ever shows one.

use std::io::Read;

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use rampart_api::platform as wire;

use crate::cli::{ClientArgs, OrgScopeArgs, OutputFormat};
use crate::client::{Client, print};

#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// The secrets of the organisation or project (names and versions, never values).
    List {
        #[command(flatten)]
        scope: OrgScopeArgs,
    },
    /// A secret's metadata and its versions.
    Show {
        /// The secret's identifier.
        secret: String,
        #[command(flatten)]
        scope: OrgScopeArgs,
    },
    /// Create a secret; its value is read from standard input.
    Create {
        /// The secret's identifier (lowercase letters, digits, dashes).
        secret: String,
        /// Its display name.
        #[arg(long)]
        name: String,
        /// What the secret is for.
        #[arg(long)]
        description: Option<String>,
        #[command(flatten)]
        scope: OrgScopeArgs,
    },
    /// Rename a secret, or add a version with a new value read from standard input.
    Update {
        /// The secret's identifier.
        secret: String,
        /// A new display name.
        #[arg(long)]
        name: Option<String>,
        /// A new description.
        #[arg(long)]
        description: Option<String>,
        /// Read a new value from standard input (a new version).
        #[arg(long)]
        value_stdin: bool,
        #[command(flatten)]
        scope: OrgScopeArgs,
    },
    /// Delete a secret and all its versions.
    Delete {
        /// The secret's identifier.
        secret: String,
        #[command(flatten)]
        scope: OrgScopeArgs,
    },
}

const COLUMNS: [&str; 5] = [
    "identifier",
    "name",
    "scope",
    "current_version",
    "updated_at",
];

/// A secret value from standard input, without the newline `echo` or a here-string add.
fn value_from_stdin() -> Result<String> {
    let mut value = String::new();
    std::io::stdin()
        .read_to_string(&mut value)
        .context("reading the value from standard input")?;
    let value = value
        .strip_suffix('\n')
        .map(|v| v.strip_suffix('\r').unwrap_or(v))
        .unwrap_or(&value)
        .to_owned();
    if value.is_empty() {
        bail!("no value on standard input");
    }
    Ok(value)
}

pub async fn secret(command: SecretCommand, args: &ClientArgs) -> Result<()> {
    let client = Client::new(args)?;
    match command {
        SecretCommand::List { scope } => {
            let secrets: Vec<wire::Secret> = client
                .list_all(&format!("{}/secrets", scope.base()))
                .await?;
            print(args.output, &secrets, &COLUMNS)
        }
        SecretCommand::Show { secret, scope } => {
            let shown: wire::Secret = client
                .get(&format!("{}/secrets/{secret}", scope.base()))
                .await?;
            if args.output == OutputFormat::Json {
                println!("{}", serde_json::to_string_pretty(&shown)?);
                return Ok(());
            }
            print(args.output, std::slice::from_ref(&shown), &COLUMNS)?;
            println!();
            print(
                args.output,
                shown.versions.as_deref().unwrap_or_default(),
                &["version", "created_at", "created_by"],
            )
        }
        SecretCommand::Create {
            secret,
            name,
            description,
            scope,
        } => {
            let created: wire::Secret = client
                .post(
                    &format!("{}/secrets", scope.base()),
                    &wire::SecretCreate {
                        identifier: secret,
                        name,
                        description,
                        value: value_from_stdin()?,
                    },
                )
                .await?;
            print(args.output, &[created], &COLUMNS)
        }
        SecretCommand::Update {
            secret,
            name,
            description,
            value_stdin,
            scope,
        } => {
            if name.is_none() && description.is_none() && !value_stdin {
                bail!("nothing to change: give --name, --description or --value-stdin");
            }
            let value = if value_stdin {
                Some(value_from_stdin()?)
            } else {
                None
            };
            let updated: wire::Secret = client
                .patch(
                    &format!("{}/secrets/{secret}", scope.base()),
                    &wire::SecretUpdate {
                        name,
                        description,
                        value,
                    },
                )
                .await?;
            print(args.output, &[updated], &COLUMNS)
        }
        SecretCommand::Delete { secret, scope } => {
            client
                .delete(&format!("{}/secrets/{secret}", scope.base()))
                .await?;
            eprintln!("deleted secret {secret} and its versions");
            Ok(())
        }
    }
}
