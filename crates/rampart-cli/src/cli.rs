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
    /// Run the server (HTTPS with TLS 1.3; initialises an empty data directory first).
    Serve(ServeArgs),
    /// Operator commands run on the server's host against the store, with no server.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Organisations: list, create, delete.
    Org {
        #[command(subcommand)]
        command: OrgCommand,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Projects of an organisation: list, create.
    Project {
        #[command(subcommand)]
        command: ProjectCommand,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Your personal API tokens: list, create, revoke.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// The account's users: list, show, create, disable, delete.
    User {
        #[command(subcommand)]
        command: UserCommand,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Roles, built-in and custom: list, show, create, delete.
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
    /// Policy sets of an organisation or project: create from .rego files, list, show, update, delete.
    PolicySet {
        #[command(subcommand)]
        command: crate::client::iacm::policy_sets::PolicySetCommand,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// A workspace's plans: upload `terraform show -json` output, list, show, download.
    Plan {
        #[command(subcommand)]
        command: crate::client::iacm::plans::PlanCommand,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Variables of a workspace or a variable set (Terraform and environment; sensitive ones write-only): list, set, delete.
    Variable {
        #[command(subcommand)]
        command: crate::client::iacm::variables::VariableCommand,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Variable sets of an organisation or project, applying to all, tagged or named workspaces.
    VariableSet {
        #[command(subcommand)]
        command: crate::client::iacm::variables::VariableSetCommand,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// A workspace's runs (plan → checks → approval → apply): list, show, approve, override, discard, cancel.
    Run {
        #[command(subcommand)]
        command: crate::client::iacm::runs::RunCommand,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// The Terraform/OpenTofu wrapper: plan, approve, apply exactly the approved plan.
    /// Exit codes: 0 done or nothing to do, 2 needs approval, 3 blocked by policy,
    /// 4 stale (the state changed since the plan), 1 any other error.
    Tf {
        #[command(subcommand)]
        command: crate::client::iacm::tf::TfCommand,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Incidents: list, show, open by hand, acknowledge, resolve, notes, action items.
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
    /// Who is on call: on every schedule of the project, or on one.
    Oncall {
        /// Only this schedule (identifier); default: every schedule of the project.
        #[arg(long)]
        schedule: Option<String>,
        /// The instant to ask about, RFC 3339 (default: now).
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
    /// The project's services (what alerts and incidents belong to): list, create.
    Service {
        #[command(subcommand)]
        command: ServiceCommand,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// A service's webhook integrations (where alerts come in): list, create, rotate, delete.
    Integration {
        #[command(subcommand)]
        command: IntegrationCommand,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// On-call schedules: list, show, create and update from a file, delete.
    Schedule {
        #[command(subcommand)]
        command: crate::client::sre::schedules::ScheduleCommand,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Escalation policies (who is paged, in which order): list, show, create, update, delete.
    EscalationPolicy {
        #[command(subcommand)]
        command: crate::client::sre::escalation_policies::EscalationPolicyCommand,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Your notifications (pages, subscription notices) and how each reached your
    /// contact methods: list, read.
    Notification {
        #[command(subcommand)]
        command: crate::client::sre::notifications::NotificationCommand,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Your contact methods in an organisation (email, Slack, signed webhook), where
    /// delegates deliver your pages: list, add, delete.
    ContactMethod {
        #[command(subcommand)]
        command: crate::client::sre::contact_methods::ContactMethodCommand,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Secrets of an organisation or project (values write-only): list, show, create, update, delete.
    Secret {
        #[command(subcommand)]
        command: crate::client::platform::secrets::SecretCommand,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Single sign-on providers of the account (OpenID Connect): list, show, create,
    /// update, delete.
    Sso {
        #[command(subcommand)]
        command: crate::client::platform::sso::SsoCommand,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Runbooks of a project: list, show (any version), create, update (a new version),
    /// versions, delete; run one and follow, approve or cancel its executions.
    Runbook {
        #[command(subcommand)]
        command: crate::client::sre::runbooks::RunbookCommand,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// SLOs of a project: list, show (error budget and burn rates, now or --at), create,
    /// update, delete, push minutes of events, and import or export OpenSLO v1 YAML.
    Slo {
        #[command(subcommand)]
        command: crate::client::sre::slos::SloCommand,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Delegates, the agents that do outbound work: manage a project's (create, list,
    /// revoke, ping, tasks), or be one (register, run).
    Delegate {
        #[command(subcommand)]
        command: crate::client::platform::delegates::DelegateCommand,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Service accounts of an organisation or project, and their tokens.
    ServiceAccount {
        #[command(subcommand)]
        command: crate::client::platform::identity::ServiceAccountCommand,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Source-address allowlists of the account or an organisation: show, set, clear.
    Allowlist {
        #[command(subcommand)]
        command: crate::client::platform::network::AllowlistCommand,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Encryption keys, online: a ring's versions, rotation, crypto-shredding, the root key.
    Key {
        #[command(subcommand)]
        command: crate::client::platform::keys::KeyCommand,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Offline cost estimates of a Terraform/OpenTofu plan, from the price catalogue compiled into the binary.
    Cost {
        #[command(subcommand)]
        command: CostCommand,
    },
    /// Rego policies, offline (no server): evaluate modules against a plan as the server does.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// Print a shell completion script: `source <(rampart completions bash)`.
    Completions {
        /// The shell to complete in.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff; `rampart man | man -l -`), or write one per command.
    Man {
        /// Write a page for every command into this directory instead (a man1 directory).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum CostCommand {
    /// Price a plan offline (no server, no network): monthly cost per resource, prior,
    /// proposed and delta totals, the resources that could not be priced and why, and the
    /// usage-based charges, which are listed but never counted.
    ///
    /// Make the plan JSON with `terraform plan -out=tfplan && terraform show -json tfplan > plan.json`.
    /// Prices are on-demand list prices in USD from the catalogue's date; `--output json`
    /// prints the shape policies see as `input.cost`.
    Estimate {
        /// The plan JSON (`terraform show -json PLANFILE`), or `-` for standard input.
        plan: PathBuf,
        /// `table` for people, `json` for scripts and policies.
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        output: OutputFormat,
    },
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Evaluate every `.rego` module under the paths against a plan (`terraform show -json`)
    /// with the server's engine and limits. Exit 0: nothing denies; 1: something denies;
    /// 2: an error (a module that does not parse, a timeout), message on stderr.
    Eval(PolicyEvalArgs),
}

#[derive(Debug, Args)]
pub struct PolicyEvalArgs {
    /// The plan JSON (the output of `terraform show -json PLANFILE`).
    #[arg(long, value_name = "PLAN.json")]
    pub input: PathBuf,
    /// `hcp`: HCP Terraform's OPA input (`input.plan`, `input.run`, …); `plan`: the plan
    /// JSON itself is `input` (conftest style).
    #[arg(long, value_enum, default_value_t = InputShapeArg::Hcp)]
    pub input_shape: InputShapeArg,
    /// The Rego syntax of the modules: `v1` (OPA 1.x) or `v0` (OPA before 1.0).
    #[arg(long, value_enum, default_value_t = RegoSyntaxArg::V1)]
    pub rego_syntax: RegoSyntaxArg,
    /// `text` for people; `json` prints `{"modules": [{"path", "package", "deny", "warn"}]}`.
    #[arg(long, value_enum, default_value_t = PolicyOutputArg::Text)]
    pub output: PolicyOutputArg,
    /// A cost estimate (JSON) to show the policies as `input.cost` (shape `hcp` only),
    /// instead of the catalogue's estimate of the plan (`rampart cost estimate`), which
    /// they see by default.
    #[arg(long, value_name = "COST.json")]
    pub cost: Option<PathBuf>,
    /// `.rego` files, or directories searched for them (recursively; `_test.rego` files
    /// are skipped).
    #[arg(required = true, value_name = "POLICY_PATH")]
    pub paths: Vec<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum InputShapeArg {
    Hcp,
    Plan,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum RegoSyntaxArg {
    V0,
    V1,
}

impl InputShapeArg {
    pub fn shape(self) -> rampart_policy::InputShape {
        match self {
            Self::Hcp => rampart_policy::InputShape::Hcp,
            Self::Plan => rampart_policy::InputShape::Plan,
        }
    }
}

impl RegoSyntaxArg {
    pub fn syntax(self) -> rampart_policy::RegoSyntax {
        match self {
            Self::V0 => rampart_policy::RegoSyntax::V0,
            Self::V1 => rampart_policy::RegoSyntax::V1,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum PolicyOutputArg {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum IncidentCommand {
    /// The project's incidents, newest first.
    List {
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// An incident with its commander, assignees, alerts, action items and timeline.
    Show {
        /// The incident's number in the project.
        number: u64,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// Open an incident by hand (with no alert); prints it with its number.
    Create {
        /// What is happening, in one line.
        #[arg(long)]
        title: String,
        /// SEV0 (worst) to SEV4.
        #[arg(long)]
        severity: String,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// Acknowledge an incident: someone is on it (stops its escalation).
    Ack {
        /// The incident's number in the project.
        number: u64,
        /// A status update recorded in the timeline with the change.
        #[arg(long)]
        message: Option<String>,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// Resolve an incident.
    Resolve {
        /// The incident's number in the project.
        number: u64,
        /// A status update recorded in the timeline with the change.
        #[arg(long)]
        message: Option<String>,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// Add a note to an incident's timeline.
    Note {
        /// The incident's number in the project.
        number: u64,
        /// The note's text.
        text: String,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// An incident's action items (follow-up work): add, mark done, reopen.
    ActionItem {
        #[command(subcommand)]
        command: ActionItemCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum ActionItemCommand {
    /// Add an action item to an incident; prints it with its number.
    Add {
        /// The incident's number in the project.
        number: u64,
        /// What is to be done.
        text: String,
        /// Who is to do it: email or id.
        #[arg(long)]
        assignee: Option<String>,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// Mark an action item done.
    Done {
        /// The incident's number in the project.
        number: u64,
        /// The action item's number (from `incident show`).
        item: u64,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// Mark a done action item open again.
    Reopen {
        /// The incident's number in the project.
        number: u64,
        /// The action item's number (from `incident show`).
        item: u64,
        #[command(flatten)]
        project: ProjectArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum AlertCommand {
    /// The project's alerts, newest first.
    List {
        /// Only alerts in this status: triggered, acknowledged or resolved.
        #[arg(long)]
        status: Option<String>,
        /// Only alerts of this service (identifier).
        #[arg(long)]
        service: Option<String>,
        /// Only alerts created at or after this RFC 3339 time.
        #[arg(long)]
        since: Option<String>,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// An alert with its payload.
    Show {
        /// The alert's id (from `alert list`).
        alert: String,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// Acknowledge a triggered alert.
    Ack {
        /// The alert's id (from `alert list`).
        alert: String,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// Resolve an alert (its incident resolves when it was the last open alert).
    Resolve {
        /// The alert's id (from `alert list`).
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
        /// Only overrides ending after this RFC 3339 time.
        #[arg(long)]
        from: Option<String>,
        /// Only overrides starting before this RFC 3339 time.
        #[arg(long)]
        to: Option<String>,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// Put a user on call over a range.
    Add {
        /// The schedule's identifier.
        schedule: String,
        /// The user to put on call: email or id.
        #[arg(long)]
        user: String,
        /// When the override starts, RFC 3339.
        #[arg(long)]
        starts_at: String,
        /// When the override ends, RFC 3339.
        #[arg(long)]
        ends_at: String,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// Take the shift yourself over a range (a user's token).
    Take {
        /// The schedule's identifier.
        schedule: String,
        /// When your shift starts, RFC 3339.
        #[arg(long)]
        starts_at: String,
        /// When your shift ends, RFC 3339.
        #[arg(long)]
        ends_at: String,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// Delete an override by its id.
    Delete {
        /// The schedule's identifier.
        schedule: String,
        /// The override's id (from `override list`).
        id: String,
        #[command(flatten)]
        project: ProjectArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum ServiceCommand {
    /// The project's services.
    List {
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// Create a service.
    Create {
        /// The service's identifier (lowercase letters, digits, dashes).
        identifier: String,
        /// Its display name.
        #[arg(long)]
        name: String,
        /// What the service is.
        #[arg(long)]
        description: Option<String>,
        /// The escalation policy (identifier) to page when an incident opens.
        #[arg(long)]
        escalation_policy: Option<String>,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// One service, with its owner team, subscribers and tags.
    Show {
        /// The service's identifier.
        identifier: String,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// Change a service's name, description or auto-resolve (what is not given stays).
    Update {
        /// The service's identifier.
        identifier: String,
        /// Its new display name.
        #[arg(long)]
        name: Option<String>,
        /// Its new description (an empty one clears it).
        #[arg(long)]
        description: Option<String>,
        /// Resolve an incident when all its alerts resolve: true or false.
        #[arg(long)]
        auto_resolve: Option<bool>,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// Delete a service with its integrations (their URLs stop accepting webhooks) and
    /// its alerts; its incidents stay, no longer linked to it.
    Delete {
        /// The service's identifier.
        identifier: String,
        #[command(flatten)]
        project: ProjectArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum IntegrationCommand {
    /// A service's integrations (never their credentials).
    List {
        /// The service's identifier.
        service: String,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// Add an integration; its credential is printed once.
    Create {
        /// The service's identifier.
        service: String,
        /// The integration's display name.
        #[arg(long)]
        name: String,
        /// What the sender posts: alertmanager, grafana, pagerduty or generic.
        #[arg(long)]
        format: String,
        /// bearer, basic, hmac or routing_key (PagerDuty's integration key in the
        /// event body; format pagerduty only).
        #[arg(long, default_value = "bearer")]
        auth_mode: String,
        /// Allowed source network (repeatable).
        #[arg(long = "source-cidr")]
        source_cidrs: Vec<String>,
        /// Deliveries accepted per minute before 429 (default 600).
        #[arg(long)]
        rate_limit_per_minute: Option<u32>,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// Issue a new credential, printed once: the old one stops working at once (an HMAC
    /// secret stays valid until the next rotation).
    Rotate {
        /// The service's identifier.
        service: String,
        /// The integration's name or id.
        integration: String,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// Delete an integration: its URL stops accepting webhooks.
    Delete {
        /// The service's identifier.
        service: String,
        /// The integration's name or id.
        integration: String,
        #[command(flatten)]
        project: ProjectArgs,
    },
}

// The project a project-level command works in (incidents, alerts, on call, services,
// integrations, workspaces, state). Its help must be right for every command that
// flattens it.
#[derive(Debug, Args, Clone)]
pub struct ProjectArgs {
    /// The organisation (identifier) of the project.
    #[arg(long, default_value = "default")]
    pub org: String,
    /// The project (identifier) to work in.
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
    /// The project's workspaces you may view.
    List {
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// A workspace and who holds its lock.
    Show {
        /// The workspace's identifier.
        identifier: String,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// Create a workspace (the Terraform backend also creates one on first use).
    Create {
        /// The workspace's identifier (lowercase letters, digits, dashes).
        identifier: String,
        /// Its display name.
        #[arg(long)]
        name: String,
        /// What the workspace manages.
        #[arg(long)]
        description: Option<String>,
        /// terraform (default) or opentofu.
        #[arg(long)]
        provisioner: Option<String>,
        /// The provisioner version, e.g. 1.15.5 (default: whatever the client runs).
        #[arg(long)]
        provisioner_version: Option<String>,
        /// A tag (repeatable).
        #[arg(long = "tag")]
        tags: Vec<String>,
        #[command(flatten)]
        runs: RunSettingsArgs,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// Change a workspace's name, description, provisioner or tags.
    Update {
        /// The workspace's identifier.
        identifier: String,
        /// A new display name.
        #[arg(long)]
        name: Option<String>,
        /// A new description.
        #[arg(long)]
        description: Option<String>,
        /// terraform or opentofu.
        #[arg(long)]
        provisioner: Option<String>,
        /// The provisioner version, e.g. 1.15.5.
        #[arg(long)]
        provisioner_version: Option<String>,
        /// Replaces the tags (repeatable).
        #[arg(long = "tag")]
        tags: Option<Vec<String>>,
        #[command(flatten)]
        runs: RunSettingsArgs,
        /// The SRE service that drift raises an alert on ("" stops); needs service:edit
        /// (an integration of the service is made for the workspace).
        #[arg(long, value_name = "SERVICE")]
        drift_alert_service: Option<String>,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// Delete a workspace and its whole state history (not while locked).
    Delete {
        /// The workspace's identifier.
        identifier: String,
        #[command(flatten)]
        project: ProjectArgs,
    },
}

/// How a workspace's runs are approved (changing them needs `workspace:approve`).
#[derive(Debug, Clone, Args)]
pub struct RunSettingsArgs {
    /// Approve checked runs without a person (true|false; for low-risk workspaces).
    #[arg(long)]
    pub auto_apply: Option<bool>,
    /// Whether a run's author may approve it (true|false).
    #[arg(long)]
    pub allow_self_approval: Option<bool>,
    /// Valid approvals an apply needs (1 to 10).
    #[arg(long)]
    pub approvals_required: Option<u32>,
    /// How long an approval stays valid, in seconds (60 to 2592000).
    #[arg(long)]
    pub approval_ttl: Option<u64>,
    /// Whether state changes only through runs (true|false; new workspaces: true).
    #[arg(long)]
    pub governed: Option<bool>,
}

impl RunSettingsArgs {
    /// The wire form: `None` when no flag was given.
    pub fn wire(&self) -> Option<rampart_api::iacm::WorkspaceRunSettingsUpdate> {
        let update = rampart_api::iacm::WorkspaceRunSettingsUpdate {
            auto_apply: self.auto_apply,
            allow_self_approval: self.allow_self_approval,
            approvals_required: self.approvals_required,
            approval_ttl_seconds: self.approval_ttl,
            governed: self.governed,
        };
        let empty = update.auto_apply.is_none()
            && update.allow_self_approval.is_none()
            && update.approvals_required.is_none()
            && update.approval_ttl_seconds.is_none()
            && update.governed.is_none();
        (!empty).then_some(update)
    }
}

#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// State versions, newest first.
    List {
        /// The workspace's identifier.
        workspace: String,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// Resources and outputs of the current state (sensitive values masked).
    Show {
        /// The workspace's identifier.
        workspace: String,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// Resources and outputs changed between two versions.
    Diff {
        /// The workspace's identifier.
        workspace: String,
        /// The older version's number.
        from: u64,
        /// The newer version's number.
        to: u64,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// Roll forward to an old version's content (recorded with the reason).
    Rollback {
        /// The workspace's identifier.
        workspace: String,
        /// The version whose content becomes current again.
        version: u64,
        /// Why, recorded with the new version and in the audit log.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// Print a state version (the current one by default) exactly as stored.
    Pull {
        /// The workspace's identifier.
        workspace: String,
        /// The version's number (default: the current version).
        #[arg(long)]
        version: Option<u64>,
        #[command(flatten)]
        project: ProjectArgs,
    },
}

// The organisation or project a command works in (secrets, service accounts, key
// rings): `--org`, and `--project` for one of its projects. Its help must be right for
// every command that flattens it.
#[derive(Debug, Args, Clone)]
pub struct OrgScopeArgs {
    /// The organisation (identifier) to work in.
    #[arg(long)]
    pub org: String,
    /// Work in this project (identifier) of --org instead of the organisation itself.
    #[arg(long)]
    pub project: Option<String>,
}

impl OrgScopeArgs {
    /// The API path of the organisation or project.
    pub fn base(&self) -> String {
        match &self.project {
            Some(project) => format!("/api/v1/orgs/{}/projects/{project}", self.org),
            None => format!("/api/v1/orgs/{}", self.org),
        }
    }

    /// The scope as the key-ring routes name it: `org` or `org/project`.
    pub fn text(&self) -> String {
        match &self.project {
            Some(project) => format!("{}/{project}", self.org),
            None => self.org.clone(),
        }
    }
}

// The scope an access-control command works at: the account (no flags), an
// organisation (`--org`) or a project (`--org` and `--project`). Its help must be right
// for every command that flattens it.
#[derive(Debug, Args, Clone, Default)]
pub struct ScopeArgs {
    /// Work at this organisation (identifier); without it, at the account.
    #[arg(long)]
    pub org: Option<String>,
    /// Work at this project (identifier) of --org.
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
    /// The built-in roles, then the custom roles defined at the scope.
    List {
        #[command(flatten)]
        scope: ScopeArgs,
    },
    /// A role with its permissions.
    Show {
        /// A built-in role's identifier (`_viewer`, …) or a custom role's id.
        id: String,
        #[command(flatten)]
        scope: ScopeArgs,
    },
    /// Create a custom role from catalogue permissions (`--permission incident:view`, repeatable).
    Create {
        /// The role's identifier (lowercase letters, digits, dashes).
        identifier: String,
        /// Its display name.
        #[arg(long)]
        name: String,
        /// A permission from the catalogue, e.g. incident:view (repeatable).
        #[arg(long = "permission", required = true)]
        permissions: Vec<String>,
        #[command(flatten)]
        scope: ScopeArgs,
    },
    /// Delete a custom role and its assignments.
    Delete {
        /// The custom role's id.
        id: String,
        #[command(flatten)]
        scope: ScopeArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum GroupCommand {
    /// The user groups defined at the scope.
    List {
        #[command(flatten)]
        scope: ScopeArgs,
    },
    /// Create a user group.
    Create {
        /// The group's identifier (lowercase letters, digits, dashes).
        identifier: String,
        /// Its display name.
        #[arg(long)]
        name: String,
        #[command(flatten)]
        scope: ScopeArgs,
    },
    /// Delete a user group, its memberships and its role assignments.
    Delete {
        /// The group's identifier (as created) or id.
        group: String,
        #[command(flatten)]
        scope: ScopeArgs,
    },
    /// A group's members.
    Members {
        /// The group's identifier (as created) or id.
        group: String,
        #[command(flatten)]
        scope: ScopeArgs,
    },
    /// Add a user to a group (never giving more than you hold).
    AddMember {
        /// The group's identifier (as created) or id.
        group: String,
        /// The user's email or id.
        user: String,
        #[command(flatten)]
        scope: ScopeArgs,
    },
    /// Remove a user from a group.
    RemoveMember {
        /// The group's identifier (as created) or id.
        group: String,
        /// The user's email or id.
        user: String,
        #[command(flatten)]
        scope: ScopeArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum AccessCommand {
    /// Assign a role: `--principal user:<id>|service_account:<id>|group:<id> --role _viewer|<custom role id>`.
    Grant {
        /// Who gets the role: `user:<id>`, `service_account:<id>` or `group:<id>`.
        #[arg(long)]
        principal: String,
        /// A built-in role (_account_admin, _org_admin, _project_admin, _user, _viewer)
        /// or a custom role's id.
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
        /// The assignment's id (from `access list`).
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
        /// The principal asked about: `user:<id>`, `service_account:<id>` or `group:<id>`.
        #[arg(long)]
        principal: String,
        /// A permission from the catalogue, e.g. incident:view.
        #[arg(long)]
        permission: String,
        #[command(flatten)]
        scope: ScopeArgs,
    },
}

#[derive(Debug, Args, Clone, Default)]
pub struct ServeArgs {
    /// Configuration file (TOML); every key can also be set as `RAMPART_<SECTION>__<KEY>`.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Data directory: SQLite database, root key, certificate (default ./rampart-data).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Address to listen on for HTTPS (default 127.0.0.1:8443).
    #[arg(long)]
    pub listen: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create the database, root key, account, default org and project, and the owner;
    /// print the owner's API token (once) on stdout.
    Init {
        /// Configuration file (TOML) naming the data directory or database.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Data directory to initialise (default ./rampart-data).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// The owner's email address.
        #[arg(long, default_value = "admin@localhost")]
        admin_email: String,
    },
    /// Add a replica: install a running installation's root key in this data directory,
    /// after checking it against the database (PostgreSQL only).
    Join {
        /// Configuration file (TOML) naming the shared PostgreSQL database.
        #[arg(long)]
        config: Option<PathBuf>,
        /// The new replica's data directory, where the root key is written (default
        /// ./rampart-data).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// A copy of a running replica's `root.key` (mode 0600).
        #[arg(long)]
        root_key_file: PathBuf,
    },
    /// Recover a locked-out owner: re-enable, end sessions, print a new token. With
    /// --email, that user (created if missing) becomes an account owner.
    ResetAdmin {
        /// Configuration file (TOML) naming the data directory or database.
        #[arg(long)]
        config: Option<PathBuf>,
        /// The server's data directory (default ./rampart-data).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Make this user (created if missing) an account owner instead of the first owner.
        #[arg(long)]
        email: Option<String>,
    },
    /// Export, verify and inspect the tamper-evident audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Encryption keys: rotate the root key or a key ring.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Check every stored Terraform state version (seal, hash, chain), with no server;
    /// exits non-zero naming each version that fails.
    VerifyState {
        /// Configuration file (TOML) naming the data directory or database.
        #[arg(long)]
        config: Option<PathBuf>,
        /// The server's data directory (default ./rampart-data).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Only this workspace (identifier) of --org/--project.
        #[arg(long)]
        workspace: Option<String>,
        /// The organisation (identifier) of --workspace.
        #[arg(long, requires = "workspace", default_value = "default")]
        org: String,
        /// The project (identifier) of --workspace.
        #[arg(long, requires = "workspace", default_value = "default")]
        project: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// With --org (and --project): make a new key version of that ring primary (the
    /// server's background job reseals older data). Without: rotate the root key,
    /// rewrapping every ring and server secret. Offline only: refused while a server
    /// runs on the data directory or the database (`POST /api/v1/keys/rotate` and
    /// `/api/v1/keys/rotate-root` do it online).
    Rotate {
        /// Configuration file (TOML) naming the data directory or database.
        #[arg(long)]
        config: Option<PathBuf>,
        /// The server's data directory (default ./rampart-data).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Rotate this organisation's key ring (identifier) instead of the root key.
        #[arg(long, conflicts_with = "new_key_file")]
        org: Option<String>,
        /// Rotate the key ring of this project (identifier) of --org instead.
        #[arg(long, requires = "org")]
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
        /// Configuration file (TOML) naming the data directory or database.
        #[arg(long)]
        config: Option<PathBuf>,
        /// The server's data directory (default ./rampart-data).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// ndjson (verifiable: entries, checkpoints, proofs) or csv (for spreadsheets).
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
        /// The NDJSON export to verify.
        file: PathBuf,
        /// The public key (64 hex characters), or a file holding it.
        #[arg(long)]
        public_key: String,
    },
    /// Print the audit log's public key (hex), to keep beside exports.
    PublicKey {
        /// Configuration file (TOML) naming the data directory or database.
        #[arg(long)]
        config: Option<PathBuf>,
        /// The server's data directory (default ./rampart-data).
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

// How client commands reach a server (flattened into every client command group).
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
    /// How to print results: a table, or JSON for scripts.
    #[arg(long, value_enum, global = true, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
}

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// The organisations you can see.
    List,
    /// Create an organisation.
    Create {
        /// The organisation's identifier (lowercase letters, digits, dashes).
        identifier: String,
        /// Its display name.
        #[arg(long)]
        name: String,
        /// What the organisation is.
        #[arg(long)]
        description: Option<String>,
    },
    /// Delete an organisation (refused while it holds projects, unless --force).
    Delete {
        /// The organisation's identifier.
        identifier: String,
        /// Delete it with everything in it (account admins only).
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ProjectCommand {
    /// The projects of an organisation you can view.
    List {
        /// The organisation (identifier) whose projects to list.
        #[arg(long, default_value = "default")]
        org: String,
    },
    /// Create a project in an organisation.
    Create {
        /// The project's identifier (lowercase letters, digits, dashes).
        identifier: String,
        /// The organisation (identifier) to create it in.
        #[arg(long, default_value = "default")]
        org: String,
        /// Its display name.
        #[arg(long)]
        name: String,
        /// What the project is.
        #[arg(long)]
        description: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Your tokens (never their secrets).
    List,
    /// Create a token; the secret is printed once.
    Create {
        /// A name to recognise the token by.
        #[arg(long)]
        name: String,
        /// Days until the token expires.
        #[arg(long, default_value_t = 30)]
        expires_in_days: u32,
        /// Narrow the token to a project: its organisation (with --project).
        #[arg(long, requires = "project")]
        org: Option<String>,
        /// Narrow the token to this project (identifier) of --org.
        #[arg(long, requires = "org")]
        project: Option<String>,
        /// Only usable from this network (CIDR or address); repeatable.
        #[arg(long = "allowed-cidr")]
        allowed_cidrs: Vec<String>,
    },
    /// Revoke one of your tokens at once.
    Revoke {
        /// The token's id (from `token list`).
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// The account's users.
    List,
    /// One user.
    Show {
        /// The user's email or id.
        user: String,
    },
    /// Create a user; with --password-stdin the password is read from standard input.
    Create {
        /// The user's email address (their login).
        #[arg(long)]
        email: String,
        /// The name shown to others (on call, incidents).
        #[arg(long)]
        display_name: String,
        /// Read a password for login from standard input (default: no password).
        #[arg(long)]
        password_stdin: bool,
    },
    /// Disable a user: their tokens and sessions stop working.
    Disable {
        /// The user's email or id.
        user: String,
    },
    /// Delete a user with their tokens and role assignments.
    Delete {
        /// The user's email or id.
        user: String,
    },
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use clap::{Args, CommandFactory};

    use super::*;

    /// Every command below `command`, with its path (`rampart incident ack`), built so
    /// that global flags appear on every command that accepts them.
    fn walk(command: &clap::Command, path: &str, out: &mut Vec<(String, clap::Command)>) {
        out.push((path.to_owned(), command.clone()));
        for sub in command.get_subcommands() {
            walk(sub, &format!("{path} {}", sub.get_name()), out);
        }
    }

    fn all_commands() -> Vec<(String, clap::Command)> {
        let mut root = Cli::command();
        root.build();
        let mut out = Vec::new();
        walk(&root, "rampart", &mut out);
        out
    }

    fn text(styled: Option<&clap::builder::StyledStr>) -> String {
        styled.map(ToString::to_string).unwrap_or_default()
    }

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_command_and_argument_has_its_own_help() {
        let mut problems = Vec::new();
        for (path, command) in all_commands() {
            if path != "rampart" && text(command.get_about()).trim().is_empty() {
                problems.push(format!("{path}: no description"));
            }
            let mut seen: BTreeMap<String, &str> = BTreeMap::new();
            for sub in command.get_subcommands() {
                let about = text(sub.get_about());
                if let Some(other) = seen.insert(about.clone(), sub.get_name()) {
                    problems.push(format!(
                        "{path}: {} and {other} share the description {about:?}",
                        sub.get_name()
                    ));
                }
            }
            for arg in command.get_arguments() {
                let id = arg.get_id().as_str();
                if matches!(id, "help" | "version") {
                    continue;
                }
                if text(arg.get_help()).trim().is_empty() {
                    problems.push(format!("{path}: argument {id} has no help"));
                }
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    /// A command's own argument named like a global flag of a command above it (a
    /// positional `token` under the client flags' `--token`) would silently share the
    /// flag's value: clap does not refuse it.
    #[test]
    fn no_argument_shadows_a_global_flag() {
        fn check(
            command: &clap::Command,
            path: &str,
            globals: &std::collections::BTreeSet<String>,
            problems: &mut Vec<String>,
        ) {
            let mut inherited = globals.clone();
            for arg in command.get_arguments() {
                let id = arg.get_id().as_str().to_owned();
                if globals.contains(&id) {
                    problems.push(format!("{path}: {id} shadows a global flag"));
                }
                if arg.is_global_set() {
                    inherited.insert(id);
                }
            }
            for sub in command.get_subcommands() {
                let sub_path = format!("{path} {}", sub.get_name());
                check(sub, &sub_path, &inherited, problems);
            }
        }
        let mut problems = Vec::new();
        check(
            &Cli::command(),
            "rampart",
            &std::collections::BTreeSet::new(),
            &mut problems,
        );
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    /// The flags flattened into many commands (`--org`/`--project`) are described so
    /// that the text is right wherever they appear: it names no particular command
    /// group (an incident command once said "the project a workspace command works in").
    #[test]
    fn shared_flags_name_no_particular_command() {
        let groups: Vec<String> = Cli::command()
            .get_subcommands()
            .map(|sub| sub.get_name().to_owned())
            .filter(|name| !matches!(name.as_str(), "org" | "project"))
            .collect();
        let shared = [
            ProjectArgs::augment_args(clap::Command::new("project-args")),
            ScopeArgs::augment_args(clap::Command::new("scope-args")),
            OrgScopeArgs::augment_args(clap::Command::new("org-scope-args")),
            ClientArgs::augment_args(clap::Command::new("client-args")),
        ];
        for command in shared {
            assert!(command.get_about().is_none(), "{}", command.get_name());
            for arg in command.get_arguments() {
                let help = text(arg.get_help()).to_lowercase();
                let words: Vec<&str> = help
                    .split(|c: char| !c.is_alphanumeric() && c != '-')
                    .collect();
                for group in &groups {
                    // "API token" names the credential, not the `token` command.
                    let credential = group == "token" && arg.get_id() == "token";
                    assert!(
                        credential || !words.contains(&group.as_str()),
                        "--{} ({}) names `{group}`: {help}",
                        arg.get_id(),
                        command.get_name()
                    );
                }
            }
        }
    }
}
