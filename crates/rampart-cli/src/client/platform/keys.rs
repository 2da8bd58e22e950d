//! `rampart key`: encryption keys, online (account admins): an organisation's or
//! project's key ring — its versions, rotation, crypto-shredding — and the root key's
//! rotation. `rampart admin keys rotate` does the same offline.

use anyhow::Result;
use clap::Subcommand;
use rampart_api::platform as wire;

use crate::cli::{ClientArgs, OrgScopeArgs, OutputFormat};
use crate::client::{Client, print};

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// The versions of a key ring (which one is primary; never key material).
    Show {
        #[command(flatten)]
        scope: OrgScopeArgs,
    },
    /// Make a new key version primary; older data is resealed in the background.
    Rotate {
        #[command(flatten)]
        scope: OrgScopeArgs,
    },
    /// Crypto-shred: destroy every key version, so the data can never be read again.
    Destroy {
        /// Repeat the ring's scope (`org` or `org/project`) to confirm.
        #[arg(long)]
        confirm: String,
        #[command(flatten)]
        scope: OrgScopeArgs,
    },
    /// Replace the root key online: every key ring and server secret is rewrapped.
    RotateRoot,
}

const COLUMNS: [&str; 5] = ["version", "status", "primary", "created_at", "destroyed_at"];

fn show_ring(output: OutputFormat, ring: &wire::KeyRing) -> Result<()> {
    if output == OutputFormat::Json {
        println!("{}", serde_json::to_string_pretty(ring)?);
        return Ok(());
    }
    println!("key ring of {}", ring.scope);
    print(output, &ring.versions, &COLUMNS)
}

pub async fn key(command: KeyCommand, args: &ClientArgs) -> Result<()> {
    let client = Client::new(args)?;
    match command {
        KeyCommand::Show { scope } => {
            let ring: wire::KeyRing = client
                .get(&format!("/api/v1/keys?scope={}", scope.text()))
                .await?;
            show_ring(args.output, &ring)
        }
        KeyCommand::Rotate { scope } => {
            let ring: wire::KeyRing = client
                .post(
                    "/api/v1/keys/rotate",
                    &wire::KeyScope {
                        scope: scope.text(),
                    },
                )
                .await?;
            show_ring(args.output, &ring)
        }
        KeyCommand::Destroy { confirm, scope } => {
            let destroyed: wire::KeysDestroyed = client
                .post(
                    "/api/v1/keys/destroy",
                    &wire::KeyDestroy {
                        scope: scope.text(),
                        confirm,
                    },
                )
                .await?;
            if args.output == OutputFormat::Json {
                println!("{}", serde_json::to_string_pretty(&destroyed)?);
            } else {
                println!(
                    "destroyed {} key versions of {}: its data can no longer be read",
                    destroyed.versions_destroyed, destroyed.scope
                );
            }
            Ok(())
        }
        KeyCommand::RotateRoot => {
            let rotated: wire::RootKeyRotated =
                client.post_empty("/api/v1/keys/rotate-root").await?;
            if args.output == OutputFormat::Json {
                println!("{}", serde_json::to_string_pretty(&rotated)?);
            } else {
                println!(
                    "root key replaced: {} wrapped keys now use the new one",
                    rotated.wrapped_keys
                );
            }
            Ok(())
        }
    }
}
