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
    /// Roles (built-in and custom).
    Role {
        #[command(subcommand)]
        command: RoleCommand,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// User groups and their members.
    Group {
        #[command(subcommand)]
        command: GroupCommand,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Role assignments: grant, revoke, list, explain.
    Access {
        #[command(subcommand)]
        command: AccessCommand,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// IaCM workspaces (Terraform/OpenTofu root modules) of a project.
    Workspace {
        #[command(subcommand)]
        command: WorkspaceCommand,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// A workspace's Terraform state: versions, resources, diffs, rollback, download.
    State {
        #[command(subcommand)]
        command: StateCommand,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Incidents: list, show, acknowledge, resolve, add notes.
    Incident {
        #[command(subcommand)]
        command: IncidentCommand,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Alerts: list (filters), show with payload, acknowledge, resolve.
    Alert {
        #[command(subcommand)]
        command: AlertCommand,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Who is on call: every schedule of the project, or one.
    Oncall {
        /// A schedule identifier (default: all of the project's schedules).
        #[arg(long)]
        schedule: Option<String>,
        /// RFC 3339 time (default: now).
        #[arg(long)]
        at: Option<String>,
        #[command(flatten)]
        project: ProjectArgs,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// A schedule's overrides: list, add, take a shift yourself, delete.
    Override {
        #[command(subcommand)]
        command: OverrideCommand,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// The service directory.
    Service {
        #[command(subcommand)]
        command: ServiceCommand,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// A service's webhook integrations.
    Integration {
        #[command(subcommand)]
        command: IntegrationCommand,
        #[command(flatten)]
        client: ClientArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum IncidentCommand {
    List {
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// An incident with its alerts and timeline.
    Show {
        number: u64,
        #[command(flatten)]
        project: ProjectArgs,
    },
    Ack {
        number: u64,
        #[arg(long)]
        message: Option<String>,
        #[command(flatten)]
        project: ProjectArgs,
    },
    Resolve {
        number: u64,
        #[arg(long)]
        message: Option<String>,
        #[command(flatten)]
        project: ProjectArgs,
    },
    Note {
        number: u64,
        text: String,
        #[command(flatten)]
        project: ProjectArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum AlertCommand {
    /// A project's alerts, newest first.
    List {
        /// triggered, acknowledged or resolved.
        #[arg(long)]
        status: Option<String>,
        /// A service identifier.
        #[arg(long)]
        service: Option<String>,
        /// RFC 3339 time: alerts created at or after.
        #[arg(long)]
        since: Option<String>,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// An alert with its payload.
    Show {
        alert: String,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// Acknowledge a triggered alert.
    Ack {
        alert: String,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// Resolve an alert (its incident resolves when it was the last open alert).
    Resolve {
        alert: String,
        #[command(flatten)]
        project: ProjectArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum OverrideCommand {
    /// A schedule's overrides (only those overlapping --from/--to when given).
    List {
        /// The schedule's identifier.
        schedule: String,
        /// RFC 3339 time.
        #[arg(long)]
        from: Option<String>,
        /// RFC 3339 time.
        #[arg(long)]
        to: Option<String>,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// Put a user on call over a range.
    Add {
        schedule: String,
        /// The user id.
        #[arg(long)]
        user: String,
        /// RFC 3339 time.
        #[arg(long)]
        starts_at: String,
        /// RFC 3339 time.
        #[arg(long)]
        ends_at: String,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// Take the shift yourself over a range (a user's token).
    Take {
        schedule: String,
        /// RFC 3339 time.
        #[arg(long)]
        starts_at: String,
        /// RFC 3339 time.
        #[arg(long)]
        ends_at: String,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// Delete an override by its id.
    Delete {
        schedule: String,
        /// The override's id (from `list`).
        id: String,
        #[command(flatten)]
        project: ProjectArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum ServiceCommand {
    List {
        #[command(flatten)]
        project: ProjectArgs,
    },
    Create {
        identifier: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        description: Option<String>,
        /// An escalation policy identifier to page with.
        #[arg(long)]
        escalation_policy: Option<String>,
        #[command(flatten)]
        project: ProjectArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum IntegrationCommand {
    List {
        service: String,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// Add an integration; its credential is printed once.
    Create {
        service: String,
        #[arg(long)]
        name: String,
        /// alertmanager, grafana, pagerduty or generic.
        #[arg(long)]
        format: String,
        /// bearer, basic, hmac or routing_key (PagerDuty's integration key in the
        /// event body; format pagerduty only).
        #[arg(long, default_value = "bearer")]
        auth_mode: String,
        /// Allowed source network (repeatable).
        #[arg(long = "source-cidr")]
        source_cidrs: Vec<String>,
        #[arg(long)]
        rate_limit_per_minute: Option<u32>,
        #[command(flatten)]
        project: ProjectArgs,
    },
}

/// The project a workspace command works in.
#[derive(Debug, Args, Clone)]
pub struct ProjectArgs {
    #[arg(long, default_value = "default")]
    pub org: String,
    #[arg(long, default_value = "default")]
    pub project: String,
}

impl ProjectArgs {
    /// The API path of the project.
    pub fn base(&self) -> String {
        format!("/api/v1/orgs/{}/projects/{}", self.org, self.project)
    }

    /// The API path of the project's workspaces.
    pub fn workspaces(&self) -> String {
        format!("{}/workspaces", self.base())
    }
}

#[derive(Debug, Subcommand)]
pub enum WorkspaceCommand {
    List {
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// A workspace and who holds its lock.
    Show {
        identifier: String,
        #[command(flatten)]
        project: ProjectArgs,
    },
    Create {
        identifier: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        description: Option<String>,
        /// terraform (default) or opentofu.
        #[arg(long)]
        provisioner: Option<String>,
        #[arg(long)]
        provisioner_version: Option<String>,
        /// Repeatable.
        #[arg(long = "tag")]
        tags: Vec<String>,
        #[command(flatten)]
        project: ProjectArgs,
    },
    Update {
        identifier: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        description: Option<String>,
        #[arg(long)]
        provisioner: Option<String>,
        #[arg(long)]
        provisioner_version: Option<String>,
        /// Replaces the tags (repeatable).
        #[arg(long = "tag")]
        tags: Option<Vec<String>>,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// Delete a workspace and its whole state history (not while locked).
    Delete {
        identifier: String,
        #[command(flatten)]
        project: ProjectArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// State versions, newest first.
    List {
        workspace: String,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// Resources and outputs of the current state (sensitive values masked).
    Show {
        workspace: String,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// Resources and outputs changed between two versions.
    Diff {
        workspace: String,
        from: u64,
        to: u64,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// Roll forward to an old version's content (recorded with the reason).
    Rollback {
        workspace: String,
        version: u64,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// Print a state version (the current one by default) exactly as stored.
    Pull {
        workspace: String,
        #[arg(long)]
        version: Option<u64>,
        #[command(flatten)]
        project: ProjectArgs,
    },
}

/// The scope a command works at: the account (no flags), an organisation (`--org`) or
/// a project (`--org` and `--project`).
#[derive(Debug, Args, Clone, Default)]
pub struct ScopeArgs {
    #[arg(long)]
    pub org: Option<String>,
    #[arg(long, requires = "org")]
    pub project: Option<String>,
}

impl ScopeArgs {
    /// The API path prefix of the scope.
    pub fn base(&self) -> String {
        match (&self.org, &self.project) {
            (Some(org), Some(project)) => format!("/api/v1/orgs/{org}/projects/{project}"),
            (Some(org), None) => format!("/api/v1/orgs/{org}"),
            _ => "/api/v1".to_owned(),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum RoleCommand {
    List {
        #[command(flatten)]
        scope: ScopeArgs,
    },
    Show {
        id: String,
        #[command(flatten)]
        scope: ScopeArgs,
    },
    /// Create a custom role from catalogue permissions (`--permission incident:view`, repeatable).
    Create {
        identifier: String,
        #[arg(long)]
        name: String,
        #[arg(long = "permission", required = true)]
        permissions: Vec<String>,
        #[command(flatten)]
        scope: ScopeArgs,
    },
    Delete {
        id: String,
        #[command(flatten)]
        scope: ScopeArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum GroupCommand {
    List {
        #[command(flatten)]
        scope: ScopeArgs,
    },
    Create {
        identifier: String,
        #[arg(long)]
        name: String,
        #[command(flatten)]
        scope: ScopeArgs,
    },
    Delete {
        id: String,
        #[command(flatten)]
        scope: ScopeArgs,
    },
    Members {
        id: String,
        #[command(flatten)]
        scope: ScopeArgs,
    },
    AddMember {
        id: String,
        user: String,
        #[command(flatten)]
        scope: ScopeArgs,
    },
    RemoveMember {
        id: String,
        user: String,
        #[command(flatten)]
        scope: ScopeArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum AccessCommand {
    /// Assign a role: `--principal user:<id>|service_account:<id>|group:<id> --role _viewer|<custom role id>`.
    Grant {
        #[arg(long)]
        principal: String,
        #[arg(long)]
        role: String,
        /// Limit the assignment to a resource group (id); default: all resources in scope.
        #[arg(long)]
        resource_group: Option<String>,
        #[command(flatten)]
        scope: ScopeArgs,
    },
    /// Remove a role assignment by id.
    Revoke {
        id: String,
        #[command(flatten)]
        scope: ScopeArgs,
    },
    /// Role assignments made at the scope.
    List {
        #[command(flatten)]
        scope: ScopeArgs,
    },
    /// Whether a principal holds a permission at the scope, and which assignment decided.
    Explain {
        #[arg(long)]
        principal: String,
        #[arg(long)]
        permission: String,
        #[command(flatten)]
        scope: ScopeArgs,
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
    /// Add a replica: install a running installation's root key in this data directory,
    /// after checking it against the database (PostgreSQL only).
    Join {
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// A copy of a running replica's `root.key` (mode 0600).
        #[arg(long)]
        root_key_file: PathBuf,
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
    /// Export, verify and inspect the tamper-evident audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Encryption keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Check every stored Terraform state version (seal, hash, chain), with no server;
    /// exits non-zero naming each version that fails.
    VerifyState {
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Only this workspace, as `org/project/workspace`.
        #[arg(long)]
        workspace: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// With --org or --project: make a new key version of that ring primary (the
    /// server's background job reseals older data). Without: rotate the root key,
    /// rewrapping every ring and server secret. Offline only: refused while a server
    /// runs on the data directory or the database (`POST /api/v1/keys/rotate` and
    /// `/api/v1/keys/rotate-root` do it online).
    Rotate {
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// An organisation identifier.
        #[arg(long, conflicts_with = "project")]
        org: Option<String>,
        /// `org/project`.
        #[arg(long)]
        project: Option<String>,
        /// Root-key rotation when the key comes from RAMPART_ROOT_KEY: where to write
        /// the new key (0600); then put it in RAMPART_ROOT_KEY.
        #[arg(long)]
        new_key_file: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Sign a checkpoint and write the audit log (NDJSON with checkpoints and proofs, or
    /// CSV) from the store, with no server.
    Export {
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long)]
        data_dir: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = ExportFormatArg::Ndjson)]
        format: ExportFormatArg,
        /// Write here instead of stdout.
        #[arg(long)]
        output: Option<PathBuf>,
        /// Only events at or after this RFC 3339 time (the export is then partial, each
        /// entry with an inclusion proof).
        #[arg(long)]
        since: Option<String>,
        /// Only events before this RFC 3339 time.
        #[arg(long)]
        until: Option<String>,
    },
    /// Verify an NDJSON export offline against the log's public key.
    Verify {
        file: PathBuf,
        /// The public key (64 hex characters), or a file holding it.
        #[arg(long)]
        public_key: String,
    },
    /// Print the audit log's public key (hex), to keep beside exports.
    PublicKey {
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ExportFormatArg {
    Ndjson,
    Csv,
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
        /// Only usable from this network (CIDR or address); repeatable.
        #[arg(long = "allowed-cidr")]
        allowed_cidrs: Vec<String>,
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
