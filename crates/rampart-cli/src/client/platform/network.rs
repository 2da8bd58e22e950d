//! `rampart allowlist`: the source networks allowed to use the API — the account's (for
//! login and every request) or an organisation's (requests inside it).

use anyhow::Result;
use clap::Subcommand;
use rampart_api::platform as wire;

use crate::cli::{ClientArgs, OutputFormat};
use crate::client::Client;

#[derive(Debug, Subcommand)]
pub enum AllowlistCommand {
    /// The networks allowed now (none listed: every address).
    Show {
        /// An organisation's allowlist (identifier); without it, the account's.
        #[arg(long)]
        org: Option<String>,
    },
    /// Replace the allowlist (refused if it leaves out your own address).
    Set {
        /// A network (CIDR) or address allowed; repeatable.
        #[arg(required = true)]
        cidrs: Vec<String>,
        /// Set an organisation's allowlist (identifier); without it, the account's.
        #[arg(long)]
        org: Option<String>,
    },
    /// Empty the allowlist: every address is allowed again.
    Clear {
        /// Clear an organisation's allowlist (identifier); without it, the account's.
        #[arg(long)]
        org: Option<String>,
    },
}

fn path(org: Option<&str>) -> String {
    match org {
        Some(org) => format!("/api/v1/orgs/{org}/ip-allowlist"),
        None => "/api/v1/ip-allowlist".to_owned(),
    }
}

fn show(output: OutputFormat, list: &wire::IpAllowlist) -> Result<()> {
    if output == OutputFormat::Json {
        println!("{}", serde_json::to_string_pretty(list)?);
    } else if list.cidrs.is_empty() {
        println!("(empty: every address is allowed)");
    } else {
        for cidr in &list.cidrs {
            println!("{cidr}");
        }
    }
    Ok(())
}

pub async fn allowlist(command: AllowlistCommand, args: &ClientArgs) -> Result<()> {
    let client = Client::new(args)?;
    let (org, cidrs) = match command {
        AllowlistCommand::Show { org } => {
            let list: wire::IpAllowlist = client.get(&path(org.as_deref())).await?;
            return show(args.output, &list);
        }
        AllowlistCommand::Set { cidrs, org } => (org, cidrs),
        AllowlistCommand::Clear { org } => (org, Vec::new()),
    };
    let list: wire::IpAllowlist = client
        .put(&path(org.as_deref()), &wire::IpAllowlist { cidrs })
        .await?;
    show(args.output, &list)
}
