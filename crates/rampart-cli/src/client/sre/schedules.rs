//! `rampart schedule`: a project's on-call schedules, created and replaced from a JSON
//! definition file (time zone, layers, restrictions; see the README's on-call rules).
//! Their overrides have `rampart override`; who is on call, `rampart oncall`.

use std::path::PathBuf;

use anyhow::Result;
use clap::Subcommand;

use super::definitions::{Collection, DefinitionOp, run};
use crate::cli::{ClientArgs, ProjectArgs};

#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
    /// The project's schedules.
    List {
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// A schedule with its definition.
    Show {
        /// The schedule's identifier.
        schedule: String,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// Create a schedule from a definition file.
    Create {
        /// The schedule's identifier (lowercase letters, digits, dashes).
        schedule: String,
        /// Its display name.
        #[arg(long)]
        name: String,
        /// JSON file of the definition: time_zone, layers, overrides (`-`: stdin).
        #[arg(long)]
        definition: PathBuf,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// Replace a schedule's name or definition (what is not given is kept).
    Update {
        /// The schedule's identifier.
        schedule: String,
        /// A new display name.
        #[arg(long)]
        name: Option<String>,
        /// JSON file of the new definition (`-`: stdin); its overrides replace the old.
        #[arg(long)]
        definition: Option<PathBuf>,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// Delete a schedule (refused while an escalation policy pages it).
    Delete {
        /// The schedule's identifier.
        schedule: String,
        #[command(flatten)]
        project: ProjectArgs,
    },
}

const SCHEDULES: Collection = Collection {
    path: "schedules",
    noun: "schedule",
};

pub async fn schedule(command: ScheduleCommand, args: &ClientArgs) -> Result<()> {
    let (op, project) = match command {
        ScheduleCommand::List { project } => (DefinitionOp::List, project),
        ScheduleCommand::Show { schedule, project } => (
            DefinitionOp::Show {
                identifier: schedule,
            },
            project,
        ),
        ScheduleCommand::Create {
            schedule,
            name,
            definition,
            project,
        } => (
            DefinitionOp::Create {
                identifier: schedule,
                name,
                definition,
            },
            project,
        ),
        ScheduleCommand::Update {
            schedule,
            name,
            definition,
            project,
        } => (
            DefinitionOp::Update {
                identifier: schedule,
                name,
                definition,
            },
            project,
        ),
        ScheduleCommand::Delete { schedule, project } => (
            DefinitionOp::Delete {
                identifier: schedule,
            },
            project,
        ),
    };
    run(&SCHEDULES, op, &project, args).await
}
