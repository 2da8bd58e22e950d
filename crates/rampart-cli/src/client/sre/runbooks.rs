//! `rampart runbook`: a project's runbooks — created from a JSON definition file, a new
//! version with each update (the old ones stay readable: `show --version`, `versions`).

use std::path::PathBuf;

use anyhow::Result;
use clap::Subcommand;
use rampart_api::sre as wire;

use super::definitions::read_document;
use crate::cli::{ClientArgs, OutputFormat, ProjectArgs};
use crate::client::{Client, print};

#[derive(Debug, Subcommand)]
pub enum RunbookCommand {
    /// The project's runbooks.
    List {
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// A runbook with its definition (the current version, or --version).
    Show {
        /// The runbook's identifier.
        runbook: String,
        /// This version instead of the current one.
        #[arg(long)]
        version: Option<u32>,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// Create a runbook from a definition file (version 1).
    Create {
        /// The runbook's identifier (lowercase letters, digits, dashes).
        runbook: String,
        /// Its display name.
        #[arg(long)]
        name: String,
        /// JSON file of the definition: inputs, secrets, steps, triggers (`-`: stdin).
        #[arg(long)]
        definition: PathBuf,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// A new version of a runbook's definition.
    Update {
        /// The runbook's identifier.
        runbook: String,
        /// JSON file of the whole new definition (`-`: stdin).
        #[arg(long)]
        definition: PathBuf,
        /// A new display name.
        #[arg(long)]
        name: Option<String>,
        /// Refuse the change if the runbook is no longer at this version (someone else
        /// changed it since you read it).
        #[arg(long)]
        expected_version: Option<u32>,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// A runbook's versions, newest first, with who wrote each.
    Versions {
        /// The runbook's identifier.
        runbook: String,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// Delete a runbook and all its versions.
    Delete {
        /// The runbook's identifier.
        runbook: String,
        #[command(flatten)]
        project: ProjectArgs,
    },
}

const COLUMNS: [&str; 4] = ["identifier", "name", "current_version", "updated_at"];
const SHOWN: [&str; 6] = [
    "identifier",
    "name",
    "version",
    "current_version",
    "sensitive",
    "steps",
];
const VERSION_COLUMNS: [&str; 3] = ["version", "created_at", "created_by"];

pub async fn runbook(command: RunbookCommand, args: &ClientArgs) -> Result<()> {
    let client = Client::new(args)?;
    match command {
        RunbookCommand::List { project } => {
            let items: Vec<wire::RunbookSummary> = client
                .list_all(&format!("{}/runbooks", project.base()))
                .await?;
            print(args.output, &items, &COLUMNS)
        }
        RunbookCommand::Show {
            runbook,
            version,
            project,
        } => {
            let query = version.map(|v| format!("?version={v}")).unwrap_or_default();
            let shown: wire::Runbook = client
                .get(&format!("{}/runbooks/{runbook}{query}", project.base()))
                .await?;
            show(args, &shown)
        }
        RunbookCommand::Create {
            runbook,
            name,
            definition,
            project,
        } => {
            let created: wire::Runbook = client
                .post(
                    &format!("{}/runbooks", project.base()),
                    &wire::RunbookCreate {
                        identifier: runbook,
                        name,
                        definition: read_document(&definition)?,
                    },
                )
                .await?;
            print(args.output, &[created], &SHOWN)
        }
        RunbookCommand::Update {
            runbook,
            definition,
            name,
            expected_version,
            project,
        } => {
            let updated: wire::Runbook = client
                .put(
                    &format!("{}/runbooks/{runbook}", project.base()),
                    &wire::RunbookUpdate {
                        name,
                        definition: read_document(&definition)?,
                        expected_version,
                    },
                )
                .await?;
            print(args.output, &[updated], &SHOWN)
        }
        RunbookCommand::Versions { runbook, project } => {
            let versions: wire::RunbookVersionList = client
                .get(&format!("{}/runbooks/{runbook}/versions", project.base()))
                .await?;
            print(args.output, &versions.items, &VERSION_COLUMNS)
        }
        RunbookCommand::Delete { runbook, project } => {
            client
                .delete(&format!("{}/runbooks/{runbook}", project.base()))
                .await?;
            eprintln!("deleted runbook {runbook}");
            Ok(())
        }
    }
}

fn show(args: &ClientArgs, shown: &wire::Runbook) -> Result<()> {
    if args.output == OutputFormat::Json {
        println!("{}", serde_json::to_string_pretty(shown)?);
        return Ok(());
    }
    print(args.output, std::slice::from_ref(shown), &SHOWN)?;
    println!("{}", serde_json::to_string_pretty(&shown.definition)?);
    Ok(())
}
