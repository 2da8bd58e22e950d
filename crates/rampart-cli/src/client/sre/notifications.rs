//! `rampart notification`: the caller's in-app notifications (pages and subscription
//! notices), each with how its deliveries to the caller's contact methods went, and
//! marking one read.

use anyhow::Result;
use clap::Subcommand;
use rampart_api::sre as wire;
use serde::Serialize;

use crate::cli::{ClientArgs, OutputFormat};
use crate::client::{Client, print};

#[derive(Debug, Subcommand)]
pub enum NotificationCommand {
    /// Your notifications, newest first, with their deliveries.
    List {
        /// Only those not read yet.
        #[arg(long)]
        unread: bool,
        /// At most this many (newest first).
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Mark one of your notifications read.
    Read {
        /// The notification's id (see `list`).
        id: String,
    },
}

const COLUMNS: [&str; 7] = [
    "id",
    "kind",
    "incident",
    "level",
    "created_at",
    "read_at",
    "deliveries",
];

/// One table row: the deliveries summed up as `label: status` each.
#[derive(Serialize)]
struct Row<'a> {
    id: &'a str,
    kind: &'a str,
    incident: u64,
    level: u64,
    created_at: &'a str,
    read_at: Option<&'a str>,
    deliveries: String,
}

pub async fn notification(command: NotificationCommand, args: &ClientArgs) -> Result<()> {
    let client = Client::new(args)?;
    match command {
        NotificationCommand::List { unread, limit } => {
            let page: rampart_api::ListResponse<wire::Notification> = client
                .get(&format!(
                    "/api/v1/me/notifications?limit={}",
                    limit.clamp(1, 500)
                ))
                .await?;
            let items: Vec<&wire::Notification> = page
                .items
                .iter()
                .filter(|item| !unread || item.read_at.is_none())
                .collect();
            if args.output == OutputFormat::Json {
                println!("{}", serde_json::to_string_pretty(&items)?);
                return Ok(());
            }
            let rows: Vec<Row<'_>> = items
                .iter()
                .map(|item| Row {
                    id: &item.id,
                    kind: &item.kind,
                    incident: item.incident_number,
                    level: item.level,
                    created_at: &item.created_at,
                    read_at: item.read_at.as_deref(),
                    deliveries: deliveries(&item.deliveries),
                })
                .collect();
            print(args.output, &rows, &COLUMNS)
        }
        NotificationCommand::Read { id } => {
            client
                .post_no_content(&format!("/api/v1/me/notifications/{id}/read"))
                .await?;
            eprintln!("notification {id} read");
            Ok(())
        }
    }
}

/// `Work email: succeeded, Slack: failed (http_status_401)`, or `-` for none.
fn deliveries(deliveries: &[wire::NotificationDelivery]) -> String {
    if deliveries.is_empty() {
        return "-".to_owned();
    }
    deliveries
        .iter()
        .map(|delivery| match &delivery.error_code {
            Some(code) => format!("{}: {} ({code})", delivery.label, delivery.status),
            None => format!("{}: {}", delivery.label, delivery.status),
        })
        .collect::<Vec<_>>()
        .join(", ")
}
