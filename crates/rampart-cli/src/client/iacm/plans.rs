//! `rampart plan`: a workspace's plans — upload the output of `terraform show -json`
//! (and the binary plan file), list, show a summary, download.

use std::io::{Read, Write};
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Subcommand;
use rampart_api::iacm as wire;
use reqwest::Method;

use crate::cli::{ClientArgs, OutputFormat, ProjectArgs};
use crate::client::{Client, print};

#[derive(Debug, Subcommand)]
pub enum PlanCommand {
    /// Upload a plan: `terraform show -json tfplan | rampart plan upload WORKSPACE`.
    Upload {
        /// The workspace's identifier.
        workspace: String,
        /// The plan JSON (`terraform show -json PLANFILE`); `-` or nothing reads standard input.
        #[arg(long = "json")]
        json: Option<PathBuf>,
        /// The binary plan file (`terraform plan -out PLANFILE`), kept for the apply.
        #[arg(long)]
        file: Option<PathBuf>,
        /// Refuse unless the workspace's current state has this serial.
        #[arg(long)]
        state_serial: Option<u64>,
        /// Refuse unless the workspace's current state has this lineage.
        #[arg(long)]
        state_lineage: Option<String>,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// A workspace's plans, newest first.
    List {
        /// The workspace's identifier.
        workspace: String,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// A plan's summary: resources and outputs by action.
    Show {
        /// The workspace's identifier.
        workspace: String,
        /// The plan's id.
        plan: String,
        /// Print the whole plan JSON with sensitive values masked instead.
        #[arg(long)]
        masked: bool,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// What the policy sets decided about a plan, module by module.
    Results {
        /// The workspace's identifier.
        workspace: String,
        /// The plan's id.
        plan: String,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// Override a plan's failed soft-mandatory policy set (needs policy_set:override).
    Override {
        /// The workspace's identifier.
        workspace: String,
        /// The plan's id.
        plan: String,
        /// The policy set (identifier, or id when an organisation's and a project's set
        /// share the identifier).
        #[arg(long)]
        policy_set: String,
        /// Why (kept sealed with the result).
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// Print a plan's JSON as uploaded, or its binary file (needs workspace:access_state).
    Download {
        /// The workspace's identifier.
        workspace: String,
        /// The plan's id.
        plan: String,
        /// The binary plan file instead of the JSON.
        #[arg(long)]
        file: bool,
        #[command(flatten)]
        project: ProjectArgs,
    },
}

const COLUMNS: [&str; 9] = [
    "id",
    "terraform_version",
    "add",
    "change",
    "replace",
    "destroy",
    "policy_status",
    "created_by",
    "created_at",
];

/// A plan as one table row: its counts beside its metadata.
fn row(plan: &wire::Plan) -> serde_json::Value {
    serde_json::json!({
        "id": plan.id,
        "terraform_version": plan.terraform_version,
        "add": plan.counts.add,
        "change": plan.counts.change,
        "replace": plan.counts.replace,
        "destroy": plan.counts.destroy,
        "policy_status": plan.policy_status,
        "created_by": plan.created_by,
        "created_at": plan.created_at,
    })
}

fn read_input(path: Option<&PathBuf>) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    match path {
        Some(path) if path.as_os_str() != "-" => {
            bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        }
        _ => {
            std::io::stdin()
                .read_to_end(&mut bytes)
                .context("reading the plan JSON from standard input")?;
        }
    }
    Ok(bytes)
}

fn print_json<T: serde::Serialize>(value: &T) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

pub async fn plan(command: PlanCommand, args: &ClientArgs) -> Result<()> {
    let client = Client::new(args)?;
    let json = args.output == OutputFormat::Json;
    match command {
        PlanCommand::Upload {
            workspace,
            json: json_path,
            file,
            state_serial,
            state_lineage,
            project,
        } => {
            let body = read_input(json_path.as_ref())?;
            let mut query = Vec::new();
            if let Some(serial) = state_serial {
                query.push(format!("state_serial={serial}"));
            }
            if let Some(lineage) = state_lineage {
                query.push(format!("state_lineage={lineage}"));
            }
            let query = if query.is_empty() {
                String::new()
            } else {
                format!("?{}", query.join("&"))
            };
            let base = format!("{}/{workspace}/plans", project.workspaces());
            let mut plan: wire::Plan = client
                .send_bytes(
                    Method::POST,
                    &format!("{base}{query}"),
                    body,
                    "application/json",
                )
                .await?;
            if let Some(file) = file {
                let bytes =
                    std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
                plan = client
                    .send_bytes(
                        Method::PUT,
                        &format!("{base}/{}/file", plan.id),
                        bytes,
                        "application/octet-stream",
                    )
                    .await?;
            }
            if json {
                return print_json(&plan);
            }
            println!(
                "plan {}: {} to add, {} to change, {} to replace, {} to destroy; policies: {}",
                plan.id,
                plan.counts.add,
                plan.counts.change,
                plan.counts.replace,
                plan.counts.destroy,
                plan.policy_status
            );
            Ok(())
        }
        PlanCommand::List { workspace, project } => {
            let plans: Vec<wire::Plan> = client
                .list_all(&format!("{}/{workspace}/plans", project.workspaces()))
                .await?;
            if json {
                return print_json(&plans);
            }
            let rows: Vec<serde_json::Value> = plans.iter().map(row).collect();
            print(args.output, &rows, &COLUMNS)
        }
        PlanCommand::Show {
            workspace,
            plan,
            masked,
            project,
        } => {
            let path = format!("{}/{workspace}/plans/{plan}", project.workspaces());
            if masked {
                let document: serde_json::Value = client.get(&format!("{path}/masked")).await?;
                return print_json(&document);
            }
            let detail: wire::PlanDetail = client.get(&path).await?;
            if json {
                return print_json(&detail);
            }
            let plan = &detail.plan;
            println!(
                "plan {} (terraform {}, format {}), by {} at {}",
                plan.id,
                plan.terraform_version,
                plan.format_version,
                plan.created_by,
                plan.created_at
            );
            match &plan.state {
                Some(state) => println!(
                    "made against state version {} (serial {}, lineage {})",
                    state.version, state.serial, state.lineage
                ),
                None => println!("made against an empty workspace"),
            }
            println!(
                "{} to add, {} to change, {} to replace, {} to destroy, {} to read",
                plan.counts.add,
                plan.counts.change,
                plan.counts.replace,
                plan.counts.destroy,
                plan.counts.read
            );
            println!("policies: {}", plan.policy_status);
            print(
                args.output,
                &detail.resource_changes,
                &["address", "action", "action_reason"],
            )?;
            for output in &detail.output_changes {
                println!("output {}: {}", output.name, output.action);
            }
            Ok(())
        }
        PlanCommand::Results {
            workspace,
            plan,
            project,
        } => {
            let results: wire::PolicyResults = client
                .get(&format!(
                    "{}/{workspace}/plans/{plan}/policy-results",
                    project.workspaces()
                ))
                .await?;
            print_results(args.output, &results)
        }
        PlanCommand::Override {
            workspace,
            plan,
            policy_set,
            reason,
            project,
        } => {
            let results: wire::PolicyResults = client
                .post(
                    &format!(
                        "{}/{workspace}/plans/{plan}/policy-overrides",
                        project.workspaces()
                    ),
                    &wire::PolicyOverrideCreate { policy_set, reason },
                )
                .await?;
            print_results(args.output, &results)
        }
        PlanCommand::Download {
            workspace,
            plan,
            file,
            project,
        } => {
            let part = if file { "file" } else { "json" };
            let body = client
                .get_bytes(&format!(
                    "{}/{workspace}/plans/{plan}/{part}",
                    project.workspaces()
                ))
                .await?;
            std::io::stdout().write_all(&body)?;
            Ok(())
        }
    }
}

/// A plan's policy results: the status, then each set and what its modules said.
fn print_results(output: OutputFormat, results: &wire::PolicyResults) -> Result<()> {
    if output == OutputFormat::Json {
        return print_json(results);
    }
    println!("policies: {}", results.policy_status);
    for result in &results.results {
        println!(
            "{} ({} {}, v{}): {}{}",
            result.policy_set,
            result.policy_set_scope,
            result.enforcement,
            result.policy_set_version,
            result.outcome,
            match &result.r#override {
                Some(done) => format!(", overridden by {} ({})", done.by, done.reason),
                None => String::new(),
            }
        );
        if let Some(error) = &result.error {
            println!("  error: {error}");
        }
        for module in &result.modules {
            for message in &module.deny {
                println!("  deny  {}: {message}", module.name);
            }
            for message in &module.warn {
                println!("  warn  {}: {message}", module.name);
            }
        }
    }
    Ok(())
}
