//! `rampart run`: a workspace's runs — history, one run with its plan, policy results,
//! cost, approvals and transitions, its logs, and the reviewer's actions (approve,
//! override, discard, cancel).

use anyhow::Result;
use clap::Subcommand;
use rampart_api::iacm as wire;

use crate::cli::{ClientArgs, OutputFormat, ProjectArgs};
use crate::client::{Client, print};

#[derive(Debug, Subcommand)]
pub enum RunCommand {
    /// A workspace's runs, newest first.
    List {
        /// The workspace's identifier.
        workspace: String,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// A run: its plan, policy results, cost change, approvals and transitions.
    Show {
        /// The workspace's identifier.
        workspace: String,
        /// The run's id.
        run: String,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// A run's logs as Terraform printed them, sensitive values masked: every phase the
    /// run has (plan, apply), or one.
    Logs {
        /// The workspace's identifier.
        workspace: String,
        /// The run's id.
        run: String,
        /// Only this phase: plan or apply.
        #[arg(long)]
        phase: Option<String>,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// Approve a run's plan as it is now (needs workspace:approve; not your own run
    /// unless the workspace allows it).
    Approve {
        /// The workspace's identifier.
        workspace: String,
        /// The run's id.
        run: String,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// Override a failed soft-mandatory policy set of a run's plan (needs
    /// policy_set:override).
    Override {
        /// The workspace's identifier.
        workspace: String,
        /// The run's id.
        run: String,
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
    /// Discard a run before it is applied (needs workspace:apply).
    Discard {
        /// The workspace's identifier.
        workspace: String,
        /// The run's id.
        run: String,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// Cancel a planning run, or an applying one whose apply is gone (that needs
    /// workspace:force_unlock: it releases the lock).
    Cancel {
        /// The workspace's identifier.
        workspace: String,
        /// The run's id.
        run: String,
        #[command(flatten)]
        project: ProjectArgs,
    },
}

const COLUMNS: [&str; 6] = [
    "id",
    "status",
    "is_destroy",
    "applied_state_version",
    "created_by",
    "created_at",
];

fn print_json<T: serde::Serialize>(value: &T) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

pub async fn run(command: RunCommand, args: &ClientArgs) -> Result<()> {
    let client = Client::new(args)?;
    let runs = |project: &ProjectArgs, workspace: &str| {
        format!("{}/{workspace}/runs", project.workspaces())
    };
    let detail: wire::RunDetail = match command {
        RunCommand::List { workspace, project } => {
            let listed: Vec<wire::Run> = client.list_all(&runs(&project, &workspace)).await?;
            if args.output == OutputFormat::Json {
                return print_json(&listed);
            }
            return print(args.output, &listed, &COLUMNS);
        }
        RunCommand::Show {
            workspace,
            run,
            project,
        } => {
            client
                .get(&format!("{}/{run}", runs(&project, &workspace)))
                .await?
        }
        RunCommand::Logs {
            workspace,
            run,
            phase,
            project,
        } => {
            let logs = format!("{}/{run}/logs", runs(&project, &workspace));
            let phases = match phase {
                Some(phase) => vec![phase],
                None => {
                    let listed: wire::RunLogList = client.get(&logs).await?;
                    listed.items.into_iter().map(|log| log.phase).collect()
                }
            };
            let mut texts = serde_json::Map::new();
            for phase in phases {
                let bytes = client.get_bytes(&format!("{logs}/{phase}")).await?;
                let text = String::from_utf8_lossy(&bytes).into_owned();
                if args.output != OutputFormat::Json {
                    println!("=== {phase} ===");
                    print!("{text}");
                    if !text.ends_with('\n') {
                        println!();
                    }
                }
                texts.insert(phase, text.into());
            }
            if args.output == OutputFormat::Json {
                return print_json(&texts);
            }
            return Ok(());
        }
        RunCommand::Approve {
            workspace,
            run,
            project,
        } => {
            client
                .post_empty(&format!("{}/{run}/approvals", runs(&project, &workspace)))
                .await?
        }
        RunCommand::Override {
            workspace,
            run,
            policy_set,
            reason,
            project,
        } => {
            client
                .post(
                    &format!("{}/{run}/policy-overrides", runs(&project, &workspace)),
                    &wire::PolicyOverrideCreate { policy_set, reason },
                )
                .await?
        }
        RunCommand::Discard {
            workspace,
            run,
            project,
        } => {
            client
                .post_empty(&format!("{}/{run}/discard", runs(&project, &workspace)))
                .await?
        }
        RunCommand::Cancel {
            workspace,
            run,
            project,
        } => {
            client
                .post_empty(&format!("{}/{run}/cancel", runs(&project, &workspace)))
                .await?
        }
    };
    print_detail(args.output, &detail)
}

/// A run as a reviewer reads it: status, what the plan changes, what the policies and
/// the cost say, who approved, and how it got here.
pub fn print_detail(output: OutputFormat, detail: &wire::RunDetail) -> Result<()> {
    if output == OutputFormat::Json {
        return print_json(detail);
    }
    let run = &detail.run;
    println!(
        "run {} ({}{}): {}",
        run.id,
        run.workspace,
        if run.is_destroy { ", destroy" } else { "" },
        run.status
    );
    if let Some(plan) = &detail.plan {
        println!(
            "plan {}: {} to add, {} to change, {} to replace, {} to destroy",
            plan.id, plan.counts.add, plan.counts.change, plan.counts.replace, plan.counts.destroy
        );
    }
    if let Some(policy) = &detail.policy {
        println!("policies: {}", policy.policy_status);
        for result in &policy.results {
            println!(
                "  {} ({}): {}{}",
                result.policy_set,
                result.enforcement,
                result.outcome,
                if result.r#override.is_some() {
                    ", overridden"
                } else {
                    ""
                }
            );
        }
    }
    if let Some(cost) = &detail.cost {
        println!(
            "cost: {} {} → {} a month ({} change{})",
            cost.currency,
            cost.prior_monthly,
            cost.proposed_monthly,
            cost.delta_monthly,
            if cost.unpriced > 0 {
                format!(", {} resources unpriced", cost.unpriced)
            } else {
                String::new()
            }
        );
    }
    println!(
        "approvals: {} of {} valid",
        detail.valid_approvals, detail.approvals_required
    );
    for approval in &detail.approvals {
        println!(
            "  {} at {} (until {}){}",
            approval.approver,
            approval.approved_at,
            approval.expires_at,
            if approval.valid {
                ""
            } else {
                ", no longer valid"
            }
        );
    }
    if let Some(version) = run.applied_state_version {
        println!("applied: state version {version}");
    }
    print(
        output,
        &detail.transitions,
        &["at", "event", "from_status", "to_status", "actor", "detail"],
    )
}
