//! `rampart sso`: the account's single sign-on providers (OpenID Connect). A provider's
//! configuration is a JSON file (the API's `oidc` object); the client secret is not in
//! it but in a Rampart secret it names (`rampart secret create`).

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use rampart_api::platform as wire;

use crate::cli::{ClientArgs, OutputFormat};
use crate::client::sre::definitions::read_text;
use crate::client::{Client, print};

#[derive(Debug, Subcommand)]
pub enum SsoCommand {
    /// The configured providers, with the redirect URI to register at each.
    List,
    /// One provider's configuration.
    Show {
        /// The provider's name (as in its URLs).
        provider: String,
    },
    /// Add an OpenID Connect provider.
    Create {
        /// The provider's name in URLs (lowercase letters, digits, dashes).
        provider: String,
        /// What the sign-in button says.
        #[arg(long)]
        display_name: String,
        /// JSON file of the configuration (`-`: stdin): issuer, client_id, client_secret
        /// (`org/secret`), and optionally scopes, algorithms, email_claim, name_claim,
        /// groups_claim, group_mappings, create_users, ca_certificates_pem.
        #[arg(long)]
        oidc: PathBuf,
        /// Add it disabled (no sign-in until enabled).
        #[arg(long)]
        disabled: bool,
    },
    /// Change a provider: its display name, its whole configuration, or whether it is
    /// enabled.
    Update {
        /// The provider's name.
        provider: String,
        /// What the sign-in button says.
        #[arg(long)]
        display_name: Option<String>,
        /// JSON file of the whole new configuration (`-`: stdin).
        #[arg(long)]
        oidc: Option<PathBuf>,
        /// Let people sign in through it again.
        #[arg(long, conflicts_with = "disable")]
        enable: bool,
        /// Stop sign-ins through it (refused while it is the last enabled provider and
        /// single sign-on is required).
        #[arg(long)]
        disable: bool,
    },
    /// Delete a provider and its links to users (the users stay).
    Delete {
        /// The provider's name.
        provider: String,
    },
}

const COLUMNS: [&str; 5] = [
    "name",
    "display_name",
    "enabled",
    "redirect_uri",
    "updated_at",
];

fn read_config(path: &std::path::Path) -> Result<wire::OidcConfig> {
    let text = read_text(path)?;
    serde_json::from_str(&text)
        .with_context(|| format!("{} is not an OpenID Connect configuration", path.display()))
}

/// Prints one provider: a table row, then (as text) its configuration.
fn show(output: OutputFormat, provider: &wire::SsoProvider) -> Result<()> {
    if output == OutputFormat::Json {
        println!("{}", serde_json::to_string_pretty(provider)?);
        return Ok(());
    }
    print(output, std::slice::from_ref(provider), &COLUMNS)?;
    println!();
    println!("{}", serde_json::to_string_pretty(&provider.oidc)?);
    Ok(())
}

pub async fn sso(command: SsoCommand, args: &ClientArgs) -> Result<()> {
    let client = Client::new(args)?;
    match command {
        SsoCommand::List => {
            let listed: wire::SsoProviderList = client.get("/api/v1/sso/providers").await?;
            print(args.output, &listed.items, &COLUMNS)
        }
        SsoCommand::Show { provider } => {
            let shown: wire::SsoProvider = client
                .get(&format!("/api/v1/sso/providers/{provider}"))
                .await?;
            show(args.output, &shown)
        }
        SsoCommand::Create {
            provider,
            display_name,
            oidc,
            disabled,
        } => {
            let created: wire::SsoProvider = client
                .post(
                    "/api/v1/sso/providers",
                    &wire::SsoProviderCreate {
                        name: provider,
                        display_name,
                        enabled: Some(!disabled),
                        oidc: read_config(&oidc)?,
                    },
                )
                .await?;
            show(args.output, &created)
        }
        SsoCommand::Update {
            provider,
            display_name,
            oidc,
            enable,
            disable,
        } => {
            let enabled = match (enable, disable) {
                (true, _) => Some(true),
                (_, true) => Some(false),
                _ => None,
            };
            if display_name.is_none() && oidc.is_none() && enabled.is_none() {
                bail!("nothing to change: give --display-name, --oidc, --enable or --disable");
            }
            let updated: wire::SsoProvider = client
                .patch(
                    &format!("/api/v1/sso/providers/{provider}"),
                    &wire::SsoProviderUpdate {
                        display_name,
                        enabled,
                        oidc: oidc.as_deref().map(read_config).transpose()?,
                    },
                )
                .await?;
            show(args.output, &updated)
        }
        SsoCommand::Delete { provider } => {
            client
                .delete(&format!("/api/v1/sso/providers/{provider}"))
                .await?;
            eprintln!("deleted SSO provider {provider}");
            Ok(())
        }
    }
}
