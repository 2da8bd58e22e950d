//! `rampart service-account`: an organisation's or project's service accounts (the
//! principals of scripts and CI) and their tokens. Users and personal tokens have
//! `rampart user` and `rampart token`.

use anyhow::{Result, anyhow, bail};
use clap::Subcommand;
use rampart_api::platform as wire;

use crate::cli::{ClientArgs, OrgScopeArgs};
use crate::client::{Client, TOKEN_COLUMNS, print, print_created_token};

#[derive(Debug, Subcommand)]
pub enum ServiceAccountCommand {
    /// The service accounts of the organisation or project.
    List {
        #[command(flatten)]
        scope: OrgScopeArgs,
    },
    /// One service account.
    Show {
        /// The service account's name or id.
        account: String,
        #[command(flatten)]
        scope: OrgScopeArgs,
    },
    /// Create a service account (give it roles with `rampart access grant`).
    Create {
        /// Its name (what it is for).
        #[arg(long)]
        name: String,
        /// What it does.
        #[arg(long)]
        description: Option<String>,
        #[command(flatten)]
        scope: OrgScopeArgs,
    },
    /// Delete a service account with its tokens.
    Delete {
        /// The service account's name or id.
        account: String,
        #[command(flatten)]
        scope: OrgScopeArgs,
    },
    /// A service account's tokens: list, create, revoke.
    Token {
        #[command(subcommand)]
        command: ServiceAccountTokenCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum ServiceAccountTokenCommand {
    /// The service account's tokens (never their secrets).
    List {
        /// The service account's name or id.
        account: String,
        #[command(flatten)]
        scope: OrgScopeArgs,
    },
    /// Create a token for the service account; the secret is printed once.
    Create {
        /// The service account's name or id.
        account: String,
        /// A name to recognise the token by.
        #[arg(long)]
        name: String,
        /// Days until the token expires.
        #[arg(long, default_value_t = 30)]
        expires_in_days: u32,
        /// Only usable from this network (CIDR or address); repeatable.
        #[arg(long = "allowed-cidr")]
        allowed_cidrs: Vec<String>,
        #[command(flatten)]
        scope: OrgScopeArgs,
    },
    /// Revoke one of the service account's tokens at once.
    Revoke {
        /// The service account's name or id.
        account: String,
        /// The token's id (from `service-account token list`).
        token_id: String,
        #[command(flatten)]
        scope: OrgScopeArgs,
    },
}

const COLUMNS: [&str; 5] = ["id", "name", "org", "project", "created_at"];

/// The service account `account` names at the scope: its id, or its name when exactly
/// one account there has it.
async fn find(
    client: &Client,
    scope: &OrgScopeArgs,
    account: &str,
) -> Result<wire::ServiceAccount> {
    let accounts: Vec<wire::ServiceAccount> = client
        .list_all(&format!("{}/service-accounts", scope.base()))
        .await?;
    if let Some(found) = accounts.iter().find(|found| found.id == account) {
        return Ok(found.clone());
    }
    let mut named = accounts.into_iter().filter(|found| found.name == account);
    match (named.next(), named.next()) {
        (Some(found), None) => Ok(found),
        (Some(_), Some(_)) => bail!("several service accounts are named {account}: give the id"),
        _ => Err(anyhow!("no service account {account} here")),
    }
}

pub async fn service_account(command: ServiceAccountCommand, args: &ClientArgs) -> Result<()> {
    let client = Client::new(args)?;
    match command {
        ServiceAccountCommand::List { scope } => {
            let accounts: Vec<wire::ServiceAccount> = client
                .list_all(&format!("{}/service-accounts", scope.base()))
                .await?;
            print(args.output, &accounts, &COLUMNS)
        }
        ServiceAccountCommand::Show { account, scope } => {
            let found = find(&client, &scope, &account).await?;
            print(args.output, &[found], &COLUMNS)
        }
        ServiceAccountCommand::Create {
            name,
            description,
            scope,
        } => {
            let created: wire::ServiceAccount = client
                .post(
                    &format!("{}/service-accounts", scope.base()),
                    &wire::ServiceAccountCreate { name, description },
                )
                .await?;
            print(args.output, &[created], &COLUMNS)
        }
        ServiceAccountCommand::Delete { account, scope } => {
            let found = find(&client, &scope, &account).await?;
            client
                .delete(&format!("{}/service-accounts/{}", scope.base(), found.id))
                .await?;
            eprintln!(
                "deleted service account {} ({}) and its tokens",
                found.name, found.id
            );
            Ok(())
        }
        ServiceAccountCommand::Token { command } => token(&client, command, args).await,
    }
}

async fn token(
    client: &Client,
    command: ServiceAccountTokenCommand,
    args: &ClientArgs,
) -> Result<()> {
    match command {
        ServiceAccountTokenCommand::List { account, scope } => {
            let found = find(client, &scope, &account).await?;
            let tokens: Vec<wire::Token> = client
                .list_all(&format!(
                    "{}/service-accounts/{}/tokens",
                    scope.base(),
                    found.id
                ))
                .await?;
            print(args.output, &tokens, &TOKEN_COLUMNS)
        }
        ServiceAccountTokenCommand::Create {
            account,
            name,
            expires_in_days,
            allowed_cidrs,
            scope,
        } => {
            let found = find(client, &scope, &account).await?;
            let created: wire::TokenCreated = client
                .post(
                    &format!("{}/service-accounts/{}/tokens", scope.base(), found.id),
                    &wire::TokenCreate {
                        name,
                        expires_in_days: Some(expires_in_days),
                        expires_at: None,
                        org: None,
                        project: None,
                        allowed_cidrs,
                    },
                )
                .await?;
            print_created_token(args.output, &created)
        }
        ServiceAccountTokenCommand::Revoke {
            account,
            token_id,
            scope,
        } => {
            let found = find(client, &scope, &account).await?;
            let revoked: wire::Token = client
                .delete_returning(&format!(
                    "{}/service-accounts/{}/tokens/{token_id}",
                    scope.base(),
                    found.id
                ))
                .await?;
            print(args.output, &[revoked], &TOKEN_COLUMNS)
        }
    }
}
