//! `rampart runbook`: a project's runbooks — created from a JSON definition file, a new
//! version with each update (the old ones stay readable: `show --version`, `versions`)
//! — and their executions: `run` (with `--wait`, following the steps as they end and
//! a script's output as it comes),
//! `executions`, `execution`, `approve`, `cancel`.

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
    /// Delete a runbook and all its versions (its executions' records stay).
    Delete {
        /// The runbook's identifier.
        runbook: String,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// Start an execution of a runbook's current version (a sensitive runbook's waits
    /// for someone else's approval).
    Run {
        /// The runbook's identifier.
        runbook: String,
        /// An input, NAME=VALUE (repeatable; read as the input's type: `3`, `true`).
        #[arg(long = "input", value_name = "NAME=VALUE")]
        inputs: Vec<String>,
        /// The number of the incident to run it on.
        #[arg(long)]
        incident: Option<u64>,
        /// Follow it until it ends, showing each step as it ends; exits non-zero when
        /// it fails or is canceled.
        #[arg(long)]
        wait: bool,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// Executions, newest first: the project's, or one runbook's.
    Executions {
        /// Only this runbook's.
        runbook: Option<String>,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// One execution with its steps and their output.
    Execution {
        /// The execution's id.
        id: String,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// Approve an execution of a sensitive runbook that someone else started.
    Approve {
        /// The execution's id.
        id: String,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// Cancel an execution waiting for approval or running.
    Cancel {
        /// The execution's id.
        id: String,
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
const EXECUTION_COLUMNS: [&str; 7] = [
    "id",
    "runbook",
    "status",
    "trigger",
    "started_by",
    "current_step",
    "created_at",
];
const EXECUTION_SHOWN: [&str; 7] = [
    "id",
    "runbook",
    "runbook_version",
    "status",
    "incident",
    "started_by",
    "error_code",
];
const STEP_COLUMNS: [&str; 5] = ["index", "name", "kind", "status", "error_code"];
/// How often `run --wait` looks at the execution.
const WAIT_POLL: std::time::Duration = std::time::Duration::from_millis(500);

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
        RunbookCommand::Run {
            runbook,
            inputs,
            incident,
            wait,
            project,
        } => {
            let base = project.base();
            let definition: wire::Runbook =
                client.get(&format!("{base}/runbooks/{runbook}")).await?;
            let inputs = typed_inputs(&definition.definition, &inputs)?;
            let started: wire::RunbookExecution = client
                .post(
                    &format!("{base}/runbooks/{runbook}/executions"),
                    &wire::RunbookExecutionCreate { inputs, incident },
                )
                .await?;
            if !wait {
                return show_execution(args, &started);
            }
            let ended = follow(&client, &base, started).await?;
            show_execution(args, &ended)?;
            match ended.status.as_str() {
                "succeeded" => Ok(()),
                other => anyhow::bail!(
                    "execution {} {other}{}",
                    ended.id,
                    ended
                        .error_code
                        .as_deref()
                        .map(|code| format!(" ({code})"))
                        .unwrap_or_default()
                ),
            }
        }
        RunbookCommand::Executions { runbook, project } => {
            let path = match runbook {
                Some(runbook) => format!("{}/runbooks/{runbook}/executions", project.base()),
                None => format!("{}/runbook-executions", project.base()),
            };
            let items: Vec<wire::RunbookExecutionSummary> = client.list_all(&path).await?;
            print(args.output, &items, &EXECUTION_COLUMNS)
        }
        RunbookCommand::Execution { id, project } => {
            let shown: wire::RunbookExecution = client
                .get(&format!("{}/runbook-executions/{id}", project.base()))
                .await?;
            show_execution(args, &shown)
        }
        RunbookCommand::Approve { id, project } => {
            let shown: wire::RunbookExecution = client
                .post(
                    &format!("{}/runbook-executions/{id}/approve", project.base()),
                    &serde_json::json!({}),
                )
                .await?;
            show_execution(args, &shown)
        }
        RunbookCommand::Cancel { id, project } => {
            let shown: wire::RunbookExecution = client
                .post(
                    &format!("{}/runbook-executions/{id}/cancel", project.base()),
                    &serde_json::json!({}),
                )
                .await?;
            show_execution(args, &shown)
        }
    }
}

/// `NAME=VALUE` pairs as the runbook's inputs are typed (an integer input's `3` is a
/// number, a boolean's `true` a boolean; anything else stays text for the server to
/// judge).
fn typed_inputs(
    definition: &serde_json::Value,
    pairs: &[String],
) -> Result<serde_json::Map<String, serde_json::Value>> {
    let mut inputs = serde_json::Map::new();
    for pair in pairs {
        let Some((name, value)) = pair.split_once('=') else {
            anyhow::bail!("--input {pair:?} is not NAME=VALUE");
        };
        let kind = definition["inputs"]
            .as_array()
            .and_then(|inputs| inputs.iter().find(|input| input["name"] == name))
            .and_then(|input| input["type"].as_str())
            .unwrap_or("string");
        let typed = match kind {
            "integer" => value
                .parse::<i64>()
                .map(serde_json::Value::from)
                .unwrap_or_else(|_| value.into()),
            "boolean" => value
                .parse::<bool>()
                .map(serde_json::Value::from)
                .unwrap_or_else(|_| value.into()),
            _ => value.into(),
        };
        inputs.insert(name.to_owned(), typed);
    }
    Ok(inputs)
}

/// Polls an execution until it ends, telling stderr of each step as it ends.
async fn follow(
    client: &Client,
    base: &str,
    mut execution: wire::RunbookExecution,
) -> Result<wire::RunbookExecution> {
    let mut told = std::collections::BTreeSet::new();
    // What each script step has printed so far, as shown (its output streams while it
    // runs).
    let mut shown_output: std::collections::BTreeMap<u32, String> = Default::default();
    loop {
        for step in &execution.steps {
            let text = step
                .output
                .as_ref()
                .filter(|_| step.kind == "script")
                .and_then(|output| output.get("output"))
                .and_then(serde_json::Value::as_str);
            if let Some(text) = text {
                let before = shown_output.entry(step.index).or_default();
                // A masked tail may read differently once more came: only what
                // extends what was shown is printed.
                if let Some(new) = text.strip_prefix(before.as_str())
                    && !new.is_empty()
                {
                    eprint!("{new}");
                    *before = text.to_owned();
                }
            }
            if matches!(step.status.as_str(), "succeeded" | "failed") && told.insert(step.index) {
                eprintln!(
                    "step {}/{} {} ({}): {}",
                    step.index + 1,
                    execution.steps.len(),
                    step.name,
                    step.kind,
                    step.status
                );
            }
        }
        match execution.status.as_str() {
            "succeeded" | "failed" | "canceled" => return Ok(execution),
            "awaiting_approval" if told.insert(u32::MAX) => {
                eprintln!(
                    "execution {} waits for approval by someone else",
                    execution.id
                );
            }
            _ => {}
        }
        tokio::time::sleep(WAIT_POLL).await;
        execution = client
            .get(&format!("{base}/runbook-executions/{}", execution.id))
            .await?;
    }
}

fn show_execution(args: &ClientArgs, shown: &wire::RunbookExecution) -> Result<()> {
    if args.output == OutputFormat::Json {
        println!("{}", serde_json::to_string_pretty(shown)?);
        return Ok(());
    }
    print(args.output, std::slice::from_ref(shown), &EXECUTION_SHOWN)?;
    print(args.output, &shown.steps, &STEP_COLUMNS)
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
