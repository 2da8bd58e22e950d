//! `rampart contact-method`: the caller's contact methods in an organisation — where
//! the project's delegates deliver their pages (email, Slack-compatible webhook,
//! generic signed webhook).

use anyhow::Result;
use clap::Subcommand;
use rampart_api::sre as wire;

use crate::cli::{ClientArgs, OutputFormat};
use crate::client::{Client, print};

#[derive(Debug, Subcommand)]
pub enum ContactMethodCommand {
    /// Your contact methods in the organisation.
    List {
        /// The organisation (identifier).
        #[arg(long, default_value = "default")]
        org: String,
    },
    /// Add a contact method; a `webhook` one prints its signing secret, once.
    Add {
        /// email, slack or webhook.
        #[arg(long)]
        kind: String,
        /// A name for it, shown on incident timelines instead of the address.
        #[arg(long)]
        label: String,
        /// The email address, or the webhook URL.
        #[arg(long)]
        address: String,
        /// The organisation (identifier).
        #[arg(long, default_value = "default")]
        org: String,
    },
    /// Remove one of your contact methods (by id).
    Delete {
        /// The contact method's id (see `list`).
        id: String,
        /// The organisation (identifier).
        #[arg(long, default_value = "default")]
        org: String,
    },
}

const COLUMNS: [&str; 5] = ["id", "kind", "label", "address", "created_at"];

pub async fn contact_method(command: ContactMethodCommand, args: &ClientArgs) -> Result<()> {
    let client = Client::new(args)?;
    let base = |org: &str| format!("/api/v1/orgs/{org}/contact-methods");
    match command {
        ContactMethodCommand::List { org } => {
            let list: wire::ContactMethodList = client.get(&base(&org)).await?;
            print(args.output, &list.items, &COLUMNS)
        }
        ContactMethodCommand::Add {
            kind,
            label,
            address,
            org,
        } => {
            let created: wire::ContactMethodCreated = client
                .post(
                    &base(&org),
                    &wire::ContactMethodCreate {
                        kind,
                        label,
                        address,
                    },
                )
                .await?;
            if args.output == OutputFormat::Json {
                println!("{}", serde_json::to_string_pretty(&created)?);
                return Ok(());
            }
            let method = &created.contact_method;
            let Some(secret) = &created.signing_secret else {
                return print(args.output, &[method], &COLUMNS);
            };
            // The secret alone on standard output, so it can be piped or saved.
            eprintln!(
                "added contact method {} ({}, {}); its signing secret, shown once, signs \
                 every delivery: X-Rampart-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 \
                 of \"<t>.<body>\">",
                method.label, method.kind, method.id
            );
            println!("{secret}");
            Ok(())
        }
        ContactMethodCommand::Delete { id, org } => {
            client.delete(&format!("{}/{id}", base(&org))).await?;
            eprintln!("deleted contact method {id}");
            Ok(())
        }
    }
}
