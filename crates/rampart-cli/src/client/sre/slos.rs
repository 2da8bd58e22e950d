//! `rampart slo`: a project's SLOs — created from a JSON definition file (OpenSLO v1's
//! fields in snake case), shown with their error budget and burn rates now or `--at` an
//! instant, their `history` over a range (a chart's data) — `push`, which sends minutes
//! of good and total events from a JSON file, and `import`/`export` of OpenSLO v1 YAML.

use std::path::PathBuf;

use anyhow::Result;
use clap::Subcommand;
use rampart_api::sre as wire;

use super::definitions::{read_document, read_text};
use crate::cli::{ClientArgs, OutputFormat, ProjectArgs};
use crate::client::{Client, print, query_string};

#[derive(Debug, Subcommand)]
pub enum SloCommand {
    /// The project's SLOs.
    List {
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// An SLO with its definition, error budget and burn rates.
    Show {
        /// The SLO's identifier.
        slo: String,
        /// The status at this instant (RFC 3339) instead of now.
        #[arg(long)]
        at: Option<String>,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// An SLO's history: the events, burn rate and error budget of each interval of a
    /// range (by default one window up to now, in at most 240 intervals).
    History {
        /// The SLO's identifier.
        slo: String,
        /// The range's start (RFC 3339; default: one window before `--to`).
        #[arg(long)]
        from: Option<String>,
        /// The range's end (RFC 3339; default: now).
        #[arg(long)]
        to: Option<String>,
        /// Each interval's length: `<n>m`, `h`, `d` or `w` (at most 1 440 intervals).
        #[arg(long)]
        step: Option<String>,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// Create an SLO from a definition file.
    Create {
        /// The SLO's identifier (lowercase letters, digits, dashes).
        slo: String,
        /// Its display name.
        #[arg(long)]
        name: String,
        /// JSON file of the definition: service, target, time_window, budgeting_method
        /// (`-`: stdin).
        #[arg(long)]
        definition: PathBuf,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// Replace an SLO's definition.
    Update {
        /// The SLO's identifier.
        slo: String,
        /// JSON file of the whole new definition (`-`: stdin).
        #[arg(long)]
        definition: PathBuf,
        /// A new display name.
        #[arg(long)]
        name: Option<String>,
        /// Refuse the change if the SLO is no longer at this version.
        #[arg(long)]
        expected_version: Option<u32>,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// Delete an SLO and its data.
    Delete {
        /// The SLO's identifier.
        slo: String,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// Push minutes of events: a JSON file `{"minutes": [{"minute", "good", "total"}]}`
    /// (`-`: stdin), each minute replacing an earlier push of it.
    Push {
        /// The SLO's identifier.
        slo: String,
        /// The file of minutes.
        #[arg(long)]
        minutes: PathBuf,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// Create or replace SLOs from OpenSLO v1 YAML (SLO, SLI, AlertPolicy and
    /// AlertCondition documents), all or nothing; an SLO already as written is left
    /// unchanged.
    Import {
        /// The YAML file (`-`: stdin).
        file: PathBuf,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// Write the project's SLOs (or one) as OpenSLO v1 YAML, each with its SLI and alert
    /// policies inline.
    Export {
        /// Only this SLO.
        #[arg(long)]
        slo: Option<String>,
        /// Write to this file instead of standard output.
        #[arg(long)]
        file: Option<PathBuf>,
        #[command(flatten)]
        project: ProjectArgs,
    },
}

const COLUMNS: [&str; 4] = ["identifier", "name", "version", "updated_at"];
const SHOWN: [&str; 3] = ["identifier", "name", "version"];
const STATUS_SHOWN: [&str; 9] = [
    "at",
    "window_start",
    "window_end",
    "good",
    "bad",
    "consumed",
    "remaining",
    "exhausted",
    "exhaustion_at",
];
const HISTORY_COLUMNS: [&str; 7] = [
    "start",
    "end",
    "total",
    "ratio",
    "burn_rate",
    "budget_consumed",
    "budget_remaining",
];
const BURN_COLUMNS: [&str; 7] = [
    "severity",
    "long_window_minutes",
    "short_window_minutes",
    "factor",
    "long_burn_rate",
    "short_burn_rate",
    "firing",
];

pub async fn slo(command: SloCommand, args: &ClientArgs) -> Result<()> {
    let client = Client::new(args)?;
    match command {
        SloCommand::List { project } => {
            let items: Vec<wire::SloSummary> =
                client.list_all(&format!("{}/slos", project.base())).await?;
            print(args.output, &items, &COLUMNS)
        }
        SloCommand::Show { slo, at, project } => {
            let query = query_string(&[("at", at.as_deref())]);
            let shown: wire::Slo = client
                .get(&format!("{}/slos/{slo}{query}", project.base()))
                .await?;
            show(args, &shown)
        }
        SloCommand::History {
            slo,
            from,
            to,
            step,
            project,
        } => {
            let query = query_string(&[
                ("from", from.as_deref()),
                ("to", to.as_deref()),
                ("step", step.as_deref()),
            ]);
            let history: wire::SloHistory = client
                .get(&format!("{}/slos/{slo}/history{query}", project.base()))
                .await?;
            if args.output == OutputFormat::Json {
                println!("{}", serde_json::to_string_pretty(&history)?);
                return Ok(());
            }
            print(args.output, &history.points, &HISTORY_COLUMNS)
        }
        SloCommand::Create {
            slo,
            name,
            definition,
            project,
        } => {
            let created: wire::Slo = client
                .post(
                    &format!("{}/slos", project.base()),
                    &wire::SloCreate {
                        identifier: slo,
                        name,
                        definition: read_document(&definition)?,
                    },
                )
                .await?;
            show(args, &created)
        }
        SloCommand::Update {
            slo,
            definition,
            name,
            expected_version,
            project,
        } => {
            let updated: wire::Slo = client
                .put(
                    &format!("{}/slos/{slo}", project.base()),
                    &wire::SloUpdate {
                        name,
                        definition: read_document(&definition)?,
                        expected_version,
                    },
                )
                .await?;
            show(args, &updated)
        }
        SloCommand::Delete { slo, project } => {
            client
                .delete(&format!("{}/slos/{slo}", project.base()))
                .await?;
            eprintln!("deleted SLO {slo}");
            Ok(())
        }
        SloCommand::Push {
            slo,
            minutes,
            project,
        } => {
            let push: wire::SloMinutesPush = serde_json::from_value(read_document(&minutes)?)
                .map_err(|error| anyhow::anyhow!("{}: {error}", minutes.display()))?;
            let stored: wire::SloMinutesStored = client
                .post(&format!("{}/slos/{slo}/minutes", project.base()), &push)
                .await?;
            print(args.output, &[stored], &["stored"])
        }
        SloCommand::Import { file, project } => {
            let imported: wire::SloImportOutcome = client
                .send_bytes(
                    reqwest::Method::POST,
                    &format!("{}/openslo", project.base()),
                    read_text(&file)?.into_bytes(),
                    "application/yaml",
                )
                .await?;
            print(
                args.output,
                &imported.slos,
                &["identifier", "outcome", "version"],
            )
        }
        SloCommand::Export { slo, file, project } => {
            let query = slo.map(|slo| format!("?slo={slo}")).unwrap_or_default();
            let yaml = client
                .get_bytes(&format!("{}/openslo{query}", project.base()))
                .await?;
            match file {
                Some(file) => {
                    std::fs::write(&file, &yaml)
                        .map_err(|error| anyhow::anyhow!("writing {}: {error}", file.display()))?;
                    eprintln!("wrote {}", file.display());
                    Ok(())
                }
                None => {
                    use std::io::Write as _;
                    std::io::stdout().write_all(&yaml)?;
                    Ok(())
                }
            }
        }
    }
}

/// An SLO, its status and alert windows, and (as a table) its definition.
fn show(args: &ClientArgs, shown: &wire::Slo) -> Result<()> {
    if args.output == OutputFormat::Json {
        println!("{}", serde_json::to_string_pretty(shown)?);
        return Ok(());
    }
    print(args.output, std::slice::from_ref(shown), &SHOWN)?;
    print(
        args.output,
        std::slice::from_ref(&shown.status),
        &STATUS_SHOWN,
    )?;
    print(args.output, &shown.status.burn_rates, &BURN_COLUMNS)?;
    println!("{}", serde_json::to_string_pretty(&shown.definition)?);
    Ok(())
}
