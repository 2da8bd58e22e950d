//! `rampart escalation-policy`: a project's escalation policies (who is paged, in which
//! order, how long apart), created and replaced from a JSON definition file. A service
//! pages with one (`rampart service create --escalation-policy`).

use std::path::PathBuf;

use anyhow::Result;
use clap::Subcommand;

use super::definitions::{Collection, DefinitionOp, run};
use crate::cli::{ClientArgs, ProjectArgs};

#[derive(Debug, Subcommand)]
pub enum EscalationPolicyCommand {
    /// The project's escalation policies.
    List {
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// An escalation policy with its definition.
    Show {
        /// The policy's identifier.
        policy: String,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// Create an escalation policy from a definition file.
    Create {
        /// The policy's identifier (lowercase letters, digits, dashes).
        policy: String,
        /// Its display name.
        #[arg(long)]
        name: String,
        /// JSON file of the definition: levels of targets with delays, repeats (`-`: stdin).
        #[arg(long)]
        definition: PathBuf,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// Replace a policy's name or definition (what is not given is kept).
    Update {
        /// The policy's identifier.
        policy: String,
        /// A new display name.
        #[arg(long)]
        name: Option<String>,
        /// JSON file of the new definition (`-`: stdin).
        #[arg(long)]
        definition: Option<PathBuf>,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// Delete an escalation policy (refused while a service pages with it).
    Delete {
        /// The policy's identifier.
        policy: String,
        #[command(flatten)]
        project: ProjectArgs,
    },
}

const POLICIES: Collection = Collection {
    path: "escalation-policies",
    noun: "escalation policy",
};

pub async fn escalation_policy(command: EscalationPolicyCommand, args: &ClientArgs) -> Result<()> {
    let (op, project) = match command {
        EscalationPolicyCommand::List { project } => (DefinitionOp::List, project),
        EscalationPolicyCommand::Show { policy, project } => {
            (DefinitionOp::Show { identifier: policy }, project)
        }
        EscalationPolicyCommand::Create {
            policy,
            name,
            definition,
            project,
        } => (
            DefinitionOp::Create {
                identifier: policy,
                name,
                definition,
            },
            project,
        ),
        EscalationPolicyCommand::Update {
            policy,
            name,
            definition,
            project,
        } => (
            DefinitionOp::Update {
                identifier: policy,
                name,
                definition,
            },
            project,
        ),
        EscalationPolicyCommand::Delete { policy, project } => {
            (DefinitionOp::Delete { identifier: policy }, project)
        }
    };
    run(&POLICIES, op, &project, args).await
}
