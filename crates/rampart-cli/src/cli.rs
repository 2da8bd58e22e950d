//! Command-line definitions (clap).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "rampart",
    version,
    about = "Incident response and infrastructure-as-code management"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server.
    Serve(ServeArgs),
    /// Operator commands run on the server's host.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Organisations.
    Org {
        #[command(subcommand)]
        command: OrgCommand,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Projects.
    Project {
        #[command(subcommand)]
        command: ProjectCommand,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Your API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Users.
    User {
        #[command(subcommand)]
        command: UserCommand,
        #[command(flatten)]
        client: ClientArgs,
    },
}

#[derive(Debug, Args, Clone, Default)]
pub struct ServeArgs {
    #[arg(long)]
    pub config: Option<PathBuf>,
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    #[arg(long)]
    pub listen: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create the database, root key, account, default org and project, and the owner;
    /// print the owner's API token (once) on stdout.
    Init {
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long)]
        data_dir: Option<PathBuf>,
        #[arg(long, default_value = "admin@localhost")]
        admin_email: String,
    },
    /// Recover a locked-out owner: re-enable, end sessions, print a new token. With
    /// --email, that user (created if missing) becomes an account owner.
    ResetAdmin {
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long)]
        data_dir: Option<PathBuf>,
        #[arg(long)]
        email: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum, Default, PartialEq, Eq)]
pub enum OutputFormat {
    #[default]
    Table,
    Json,
}

/// How client commands reach a server.
#[derive(Debug, Args, Clone)]
pub struct ClientArgs {
    /// Server URL, e.g. https://127.0.0.1:8443
    #[arg(
        long,
        env = "RAMPART_URL",
        global = true,
        default_value = "https://127.0.0.1:8443"
    )]
    pub url: String,
    /// API token.
    #[arg(long, env = "RAMPART_TOKEN", global = true, hide_env_values = true)]
    pub token: Option<String>,
    /// PEM file of the CA (or self-signed certificate) to trust.
    #[arg(long, env = "RAMPART_CA_CERT", global = true)]
    pub ca_cert: Option<PathBuf>,
    #[arg(long, value_enum, global = true, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
}

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    List,
    Create {
        identifier: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        description: Option<String>,
    },
    Delete {
        identifier: String,
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ProjectCommand {
    List {
        #[arg(long, default_value = "default")]
        org: String,
    },
    Create {
        identifier: String,
        #[arg(long, default_value = "default")]
        org: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        description: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    List,
    /// Create a token; the secret is printed once.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long, default_value_t = 30)]
        expires_in_days: u32,
        /// Narrow the token to a project (with --project).
        #[arg(long, requires = "project")]
        org: Option<String>,
        #[arg(long, requires = "org")]
        project: Option<String>,
    },
    Revoke {
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    List,
    Show {
        id: String,
    },
    /// Create a user; with --password-stdin the password is read from standard input.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        display_name: String,
        #[arg(long)]
        password_stdin: bool,
    },
    Disable {
        id: String,
    },
    Delete {
        id: String,
    },
}
