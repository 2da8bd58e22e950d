//! The API client behind `rampart org|project|token|user …`: HTTPS with TLS 1.3 on
//! aws-lc-rs, trusting `RAMPART_CA_CERT` (or the system roots), bearer token from
//! `RAMPART_TOKEN`; prints tables or JSON.

use std::io::Read;

use anyhow::{Context, Result, anyhow, bail};
use rampart_api::platform as wire;
use rampart_api::{ErrorBody, ListResponse};
use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::cli::{
    AccessCommand, ActionItemCommand, AlertCommand, ClientArgs, GroupCommand, IncidentCommand,
    IntegrationCommand, OrgCommand, OutputFormat, OverrideCommand, ProjectArgs, ProjectCommand,
    RoleCommand, ScopeArgs, ServiceCommand, StateCommand, TokenCommand, UserCommand,
    WorkspaceCommand,
};

pub mod iacm;
pub mod platform;
pub mod sre;

/// An HTTPS client for the Rampart API.
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

/// A rustls client configuration: TLS 1.3, aws-lc-rs, trusting the PEM certificates in
/// `ca_file` (or the system bundle).
pub fn tls_client_config(ca_file: Option<&std::path::Path>) -> Result<rustls::ClientConfig> {
    client_config(ca_file, &[&rustls::version::TLS13])
}

/// The TLS configuration of a delegate's outbound requests to third parties (webhooks,
/// Slack): the system's roots, TLS 1.2 or 1.3 (what those receivers speak).
pub fn outbound_tls_config() -> Result<rustls::ClientConfig> {
    client_config(None, rustls::DEFAULT_VERSIONS)
}

fn client_config(
    ca_file: Option<&std::path::Path>,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Result<rustls::ClientConfig> {
    let path = ca_file.map_or_else(
        || std::path::PathBuf::from(rampart_app::tls_roots::SYSTEM_ROOTS),
        std::path::Path::to_path_buf,
    );
    let pem = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    rampart_app::tls_roots::client_config(&pem, versions)
        .map_err(|problem| anyhow::anyhow!("{}: {problem}", path.display()))
}

impl Client {
    pub fn new(args: &ClientArgs) -> Result<Self> {
        let tls = tls_client_config(args.ca_cert.as_deref())?;
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .build()
            .context("building the HTTP client")?;
        Ok(Self {
            http,
            base: args.url.trim_end_matches('/').to_owned(),
            token: args.token.clone(),
        })
    }

    /// A request to `path` with the token, if any.
    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let request = self.http.request(method, format!("{}{path}", self.base));
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<Option<T>> {
        let mut request = self.request(method, path);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("reaching {}", self.base))?;
        let status = response.status();
        if status.is_success() {
            let body = response.bytes().await.context("reading the response")?;
            // 204, or another success with nothing in it.
            if body.is_empty() {
                return Ok(None);
            }
            return Ok(Some(
                serde_json::from_slice(&body).context("reading the response")?,
            ));
        }
        let body = response.bytes().await.unwrap_or_default();
        Err(refusal(status, &body))
    }

    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        self.call::<(), T>(Method::GET, path, None)
            .await?
            .ok_or_else(|| anyhow!("empty response"))
    }

    /// A GET that may answer 204 with nothing (a long poll that timed out).
    pub async fn get_optional<T: DeserializeOwned>(&self, path: &str) -> Result<Option<T>> {
        self.call::<(), T>(Method::GET, path, None).await
    }

    pub async fn post<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T> {
        self.call(Method::POST, path, Some(body))
            .await?
            .ok_or_else(|| anyhow!("empty response"))
    }

    pub async fn patch<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T> {
        self.call(Method::PATCH, path, Some(body))
            .await?
            .ok_or_else(|| anyhow!("empty response"))
    }

    pub async fn put<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T> {
        self.call(Method::PUT, path, Some(body))
            .await?
            .ok_or_else(|| anyhow!("empty response"))
    }

    /// A POST without a body (an action such as a rotation).
    pub async fn post_empty<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        self.call::<(), T>(Method::POST, path, None)
            .await?
            .ok_or_else(|| anyhow!("empty response"))
    }

    /// A POST without a body answered with nothing (204).
    pub async fn post_no_content(&self, path: &str) -> Result<()> {
        self.call::<(), serde_json::Value>(Method::POST, path, None)
            .await
            .map(|_| ())
    }

    /// A DELETE answered with what was removed (a revoked token).
    pub async fn delete_returning<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        self.call::<(), T>(Method::DELETE, path, None)
            .await?
            .ok_or_else(|| anyhow!("empty response"))
    }

    pub async fn delete(&self, path: &str) -> Result<()> {
        self.call::<(), serde_json::Value>(Method::DELETE, path, None)
            .await
            .map(|_| ())
    }

    /// The raw body of a GET (a state download).
    pub async fn get_bytes(&self, path: &str) -> Result<Vec<u8>> {
        let response = self
            .request(Method::GET, path)
            .send()
            .await
            .with_context(|| format!("reaching {}", self.base))?;
        let status = response.status();
        let bytes = response.bytes().await.context("reading the response")?;
        if status.is_success() {
            return Ok(bytes.to_vec());
        }
        Err(refusal(status, &bytes))
    }

    /// Sends `body` as it is (a plan's JSON or file) with `content_type`; the answer is
    /// JSON.
    pub async fn send_bytes<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Vec<u8>,
        content_type: &'static str,
    ) -> Result<T> {
        let response = self
            .request(method, path)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body)
            .send()
            .await
            .with_context(|| format!("reaching {}", self.base))?;
        let status = response.status();
        let bytes = response.bytes().await.context("reading the response")?;
        if status.is_success() {
            return serde_json::from_slice(&bytes).context("reading the response");
        }
        Err(refusal(status, &bytes))
    }

    /// Follows `next_cursor` until the last page.
    pub async fn list_all<T: DeserializeOwned>(&self, path: &str) -> Result<Vec<T>> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        // A path may carry its own filters already.
        let join = if path.contains('?') { '&' } else { '?' };
        loop {
            let url = match &cursor {
                Some(cursor) => format!("{path}{join}limit=500&cursor={cursor}"),
                None => format!("{path}{join}limit=500"),
            };
            let page: ListResponse<T> = self.get(&url).await?;
            items.extend(page.items);
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(items),
            }
        }
    }
}

/// The error an answer that is not a success carries: its code, status and message.
/// An error answer of the API, kept whole so that a command can act on its code (the
/// `tf` wrapper turns some into exit codes).
#[derive(Debug, Clone)]
pub struct ApiRefusal {
    pub status: u16,
    pub code: String,
    pub message: String,
}

impl std::fmt::Display for ApiRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.status, self.message)
    }
}

impl std::error::Error for ApiRefusal {}

impl ApiRefusal {
    /// The refusal's code, when `error` is one.
    pub fn code_of(error: &anyhow::Error) -> Option<&str> {
        error
            .downcast_ref::<ApiRefusal>()
            .map(|refusal| refusal.code.as_str())
    }
}

fn refusal(status: reqwest::StatusCode, body: &[u8]) -> anyhow::Error {
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(error) => anyhow::Error::new(ApiRefusal {
            status: status.as_u16(),
            code: error.error.code,
            message: error.error.message,
        }),
        Err(_) => anyhow!("the server answered {status}"),
    }
}

/// `?name=value&…` of the pairs given a value, each percent-encoded (an RFC 3339 offset's
/// `+` would otherwise arrive as a space); empty when none is.
pub(crate) fn query_string(pairs: &[(&str, Option<&str>)]) -> String {
    // Any absolute URL: only its query is kept.
    let Ok(mut url) = reqwest::Url::parse("https://rampart.invalid/") else {
        return String::new();
    };
    url.query_pairs_mut().extend_pairs(
        pairs
            .iter()
            .filter_map(|(name, value)| value.map(|value| (name, value))),
    );
    match url.query() {
        Some(query) if !query.is_empty() => format!("?{query}"),
        _ => String::new(),
    }
}

/// Prints rows as an aligned table or the values as JSON.
pub(crate) fn print<T: Serialize>(
    format: OutputFormat,
    values: &[T],
    columns: &[&str],
) -> Result<()> {
    if format == OutputFormat::Json {
        println!("{}", serde_json::to_string_pretty(values)?);
        return Ok(());
    }
    let rows: Vec<Vec<String>> = values
        .iter()
        .map(|value| {
            let json = serde_json::to_value(value).unwrap_or_default();
            columns
                .iter()
                .map(|column| match json.get(*column) {
                    Some(serde_json::Value::String(text)) => text.clone(),
                    Some(serde_json::Value::Null) | None => "-".to_owned(),
                    Some(other) => other.to_string(),
                })
                .collect()
        })
        .collect();
    let widths: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(index, column)| {
            rows.iter()
                .filter_map(|row| row.get(index))
                .map(|cell| cell.chars().count())
                .chain([column.len()])
                .max()
                .unwrap_or_default()
        })
        .collect();
    let line = |cells: Vec<String>| {
        cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    println!(
        "{}",
        line(columns.iter().map(|c| c.to_uppercase()).collect())
    );
    for row in rows {
        println!("{}", line(row));
    }
    Ok(())
}

pub async fn org(command: OrgCommand, args: &ClientArgs) -> Result<()> {
    let client = Client::new(args)?;
    let columns = ["identifier", "name", "description", "created_at"];
    match command {
        OrgCommand::List => {
            let orgs: Vec<wire::Org> = client.list_all("/api/v1/orgs").await?;
            print(args.output, &orgs, &columns)
        }
        OrgCommand::Create {
            identifier,
            name,
            description,
        } => {
            let org: wire::Org = client
                .post(
                    "/api/v1/orgs",
                    &wire::OrgCreate {
                        identifier,
                        name,
                        description,
                    },
                )
                .await?;
            print(args.output, &[org], &columns)
        }
        OrgCommand::Delete { identifier, force } => {
            client
                .delete(&format!(
                    "/api/v1/orgs/{identifier}{}",
                    if force { "?force=true" } else { "" }
                ))
                .await
        }
    }
}

pub async fn project(command: ProjectCommand, args: &ClientArgs) -> Result<()> {
    let client = Client::new(args)?;
    let columns = ["org", "identifier", "name", "description", "created_at"];
    match command {
        ProjectCommand::List { org } => {
            let projects: Vec<wire::Project> = client
                .list_all(&format!("/api/v1/orgs/{org}/projects"))
                .await?;
            print(args.output, &projects, &columns)
        }
        ProjectCommand::Create {
            identifier,
            org,
            name,
            description,
        } => {
            let project: wire::Project = client
                .post(
                    &format!("/api/v1/orgs/{org}/projects"),
                    &wire::ProjectCreate {
                        identifier,
                        name,
                        description,
                    },
                )
                .await?;
            print(args.output, &[project], &columns)
        }
    }
}

/// The columns of a token table (personal and service-account tokens alike).
pub(crate) const TOKEN_COLUMNS: [&str; 8] = [
    "id",
    "name",
    "kind",
    "last_four",
    "project",
    "expires_at",
    "revoked_at",
    "last_used_at",
];

/// Prints a token just created: in a table, the secret alone on stdout, so
/// `$(rampart token create …)` captures it, and the rest on stderr.
pub(crate) fn print_created_token(
    output: OutputFormat,
    created: &wire::TokenCreated,
) -> Result<()> {
    if output == OutputFormat::Json {
        println!("{}", serde_json::to_string_pretty(created)?);
    } else {
        println!("{}", created.secret);
        eprintln!(
            "token {} expires {} — the secret above is shown only once",
            created.token.id, created.token.expires_at
        );
    }
    Ok(())
}

pub async fn token(command: TokenCommand, args: &ClientArgs) -> Result<()> {
    let client = Client::new(args)?;
    let columns = TOKEN_COLUMNS;
    match command {
        TokenCommand::List => {
            let tokens: Vec<wire::Token> = client.list_all("/api/v1/tokens").await?;
            print(args.output, &tokens, &columns)
        }
        TokenCommand::Create {
            name,
            expires_in_days,
            org,
            project,
            allowed_cidrs,
        } => {
            let created: wire::TokenCreated = client
                .post(
                    "/api/v1/tokens",
                    &wire::TokenCreate {
                        name,
                        expires_in_days: Some(expires_in_days),
                        expires_at: None,
                        org,
                        project,
                        allowed_cidrs,
                    },
                )
                .await?;
            print_created_token(args.output, &created)
        }
        TokenCommand::Revoke { id } => {
            let token: wire::Token = client
                .delete_returning(&format!("/api/v1/tokens/{id}"))
                .await?;
            print(args.output, &[token], &columns)
        }
    }
}

pub async fn user(command: UserCommand, args: &ClientArgs) -> Result<()> {
    let client = Client::new(args)?;
    let columns = [
        "id",
        "email",
        "display_name",
        "is_account_owner",
        "disabled",
        "created_at",
    ];
    match command {
        UserCommand::List => {
            let users: Vec<wire::User> = client.list_all("/api/v1/users").await?;
            print(args.output, &users, &columns)
        }
        UserCommand::Show { user } => {
            let id = user_id(&client, &user).await?;
            let user: wire::User = client.get(&format!("/api/v1/users/{id}")).await?;
            print(args.output, &[user], &columns)
        }
        UserCommand::Create {
            email,
            display_name,
            password_stdin,
        } => {
            let password = if password_stdin {
                let mut text = String::new();
                std::io::stdin().read_to_string(&mut text)?;
                Some(text.trim_end_matches(['\n', '\r']).to_owned())
            } else {
                None
            };
            let user: wire::User = client
                .post(
                    "/api/v1/users",
                    &wire::UserCreate {
                        email,
                        display_name,
                        password,
                    },
                )
                .await?;
            print(args.output, &[user], &columns)
        }
        UserCommand::Disable { user } => {
            let id = user_id(&client, &user).await?;
            let user: wire::User = client
                .patch(
                    &format!("/api/v1/users/{id}"),
                    &wire::UserUpdate {
                        display_name: None,
                        disabled: Some(true),
                    },
                )
                .await?;
            print(args.output, &[user], &columns)
        }
        UserCommand::Delete { user } => {
            let id = user_id(&client, &user).await?;
            client.delete(&format!("/api/v1/users/{id}")).await?;
            eprintln!("deleted user {user}");
            Ok(())
        }
    }
}

/// The id of the user `user` names: an email (looked up among the account's users) or
/// an id, passed as it is.
pub(crate) async fn user_id(client: &Client, user: &str) -> Result<String> {
    if !user.contains('@') {
        return Ok(user.to_owned());
    }
    let users: Vec<wire::User> = client.list_all("/api/v1/users").await?;
    users
        .into_iter()
        .find(|found| found.email.eq_ignore_ascii_case(user))
        .map(|found| found.id)
        .ok_or_else(|| anyhow!("no user has the email {user}"))
}

/// The id of the user group `group` names at the scope: its identifier (as `group
/// create` took it) or its id.
async fn group_id(client: &Client, scope: &ScopeArgs, group: &str) -> Result<String> {
    let groups: Vec<wire::Group> = client.list_all(&format!("{}/groups", scope.base())).await?;
    groups
        .into_iter()
        .find(|found| found.identifier == group || found.id == group)
        .map(|found| found.id)
        .ok_or_else(|| anyhow!("no group {group} here (groups are listed by `rampart group list`)"))
}

pub async fn role(command: RoleCommand, args: &ClientArgs) -> Result<()> {
    let client = Client::new(args)?;
    let columns = ["id", "identifier", "name", "built_in", "scope"];
    match command {
        RoleCommand::List { scope } => {
            let roles: Vec<wire::Role> =
                client.list_all(&format!("{}/roles", scope.base())).await?;
            print(args.output, &roles, &columns)
        }
        RoleCommand::Show { id, scope } => {
            let role: wire::Role = client.get(&format!("{}/roles/{id}", scope.base())).await?;
            if args.output == OutputFormat::Json {
                return print(args.output, &[role], &columns);
            }
            print(args.output, std::slice::from_ref(&role), &columns)?;
            println!("\nPERMISSIONS\n{}", role.permissions.join("\n"));
            Ok(())
        }
        RoleCommand::Create {
            identifier,
            name,
            permissions,
            scope,
        } => {
            let role: wire::Role = client
                .post(
                    &format!("{}/roles", scope.base()),
                    &wire::RoleCreate {
                        identifier,
                        name,
                        description: None,
                        permissions,
                    },
                )
                .await?;
            print(args.output, &[role], &columns)
        }
        RoleCommand::Delete { id, scope } => {
            client.delete(&format!("{}/roles/{id}", scope.base())).await
        }
    }
}

pub async fn group(command: GroupCommand, args: &ClientArgs) -> Result<()> {
    let client = Client::new(args)?;
    let columns = ["id", "identifier", "name", "scope"];
    match command {
        GroupCommand::List { scope } => {
            let groups: Vec<wire::Group> =
                client.list_all(&format!("{}/groups", scope.base())).await?;
            print(args.output, &groups, &columns)
        }
        GroupCommand::Create {
            identifier,
            name,
            scope,
        } => {
            let group: wire::Group = client
                .post(
                    &format!("{}/groups", scope.base()),
                    &wire::GroupCreate {
                        identifier,
                        name,
                        description: None,
                    },
                )
                .await?;
            print(args.output, &[group], &columns)
        }
        GroupCommand::Delete { group, scope } => {
            let id = group_id(&client, &scope, &group).await?;
            client
                .delete(&format!("{}/groups/{id}", scope.base()))
                .await?;
            eprintln!("deleted group {group}");
            Ok(())
        }
        GroupCommand::Members { group, scope } => {
            let id = group_id(&client, &scope, &group).await?;
            let members: Vec<wire::GroupMember> = client
                .list_all(&format!("{}/groups/{id}/members", scope.base()))
                .await?;
            print(args.output, &members, &["user"])
        }
        GroupCommand::AddMember { group, user, scope } => {
            let id = group_id(&client, &scope, &group).await?;
            let user = user_id(&client, &user).await?;
            let member: wire::GroupMember = client
                .post(
                    &format!("{}/groups/{id}/members", scope.base()),
                    &wire::GroupMember { user },
                )
                .await?;
            print(args.output, &[member], &["user"])
        }
        GroupCommand::RemoveMember { group, user, scope } => {
            let id = group_id(&client, &scope, &group).await?;
            let user = user_id(&client, &user).await?;
            client
                .delete(&format!("{}/groups/{id}/members/{user}", scope.base()))
                .await?;
            eprintln!("removed {user} from group {group}");
            Ok(())
        }
    }
}

pub async fn access(command: AccessCommand, args: &ClientArgs) -> Result<()> {
    let client = Client::new(args)?;
    let columns = [
        "id",
        "scope",
        "principal",
        "role",
        "created_at",
        "created_by",
    ];
    match command {
        AccessCommand::Grant {
            principal,
            role,
            resource_group,
            scope,
        } => {
            let assignment: wire::RoleAssignment = client
                .post(
                    &format!("{}/role-assignments", scope.base()),
                    &wire::RoleAssignmentCreate {
                        principal,
                        role,
                        resource_group,
                    },
                )
                .await?;
            print(args.output, &[assignment], &columns)
        }
        AccessCommand::Revoke { id, scope } => {
            client
                .delete(&format!("{}/role-assignments/{id}", scope.base()))
                .await
        }
        AccessCommand::List { scope } => {
            let assignments: Vec<wire::RoleAssignment> = client
                .list_all(&format!("{}/role-assignments", scope.base()))
                .await?;
            print(args.output, &assignments, &columns)
        }
        AccessCommand::Explain {
            principal,
            permission,
            scope,
        } => {
            let explanation: wire::Explanation = client
                .get(&format!(
                    "{}/access/explain?principal={principal}&permission={permission}",
                    scope.base()
                ))
                .await?;
            print(
                args.output,
                &[explanation],
                &["principal", "permission", "scope", "allowed", "decided_by"],
            )
        }
    }
}

pub async fn workspace(command: WorkspaceCommand, args: &ClientArgs) -> Result<()> {
    use rampart_api::iacm as iacm_wire;
    let client = Client::new(args)?;
    let columns = [
        "identifier",
        "name",
        "provisioner",
        "provisioner_version",
        "status",
        "tags",
        "updated_at",
    ];
    match command {
        WorkspaceCommand::List { project } => {
            let workspaces: Vec<iacm_wire::Workspace> =
                client.list_all(&project.workspaces()).await?;
            print(args.output, &workspaces, &columns)
        }
        WorkspaceCommand::Show {
            identifier,
            project,
        } => {
            let workspace: iacm_wire::Workspace = client
                .get(&format!("{}/{identifier}", project.workspaces()))
                .await?;
            if args.output == OutputFormat::Json {
                return print(args.output, &[workspace], &columns);
            }
            print(args.output, std::slice::from_ref(&workspace), &columns)?;
            if let Some(lock) = &workspace.lock {
                println!(
                    "locked: id {} ({}) by {} since {}",
                    lock.id, lock.operation, lock.locked_by, lock.locked_at
                );
            }
            Ok(())
        }
        WorkspaceCommand::Create {
            identifier,
            name,
            description,
            provisioner,
            provisioner_version,
            tags,
            runs,
            project,
        } => {
            let workspace: iacm_wire::Workspace = client
                .post(
                    &project.workspaces(),
                    &iacm_wire::WorkspaceCreate {
                        identifier,
                        name,
                        description,
                        provisioner,
                        provisioner_version,
                        tags,
                        runs: runs.wire(),
                    },
                )
                .await?;
            print(args.output, &[workspace], &columns)
        }
        WorkspaceCommand::Update {
            identifier,
            name,
            description,
            provisioner,
            provisioner_version,
            tags,
            runs,
            drift_alert_service,
            project,
        } => {
            let workspace: iacm_wire::Workspace = client
                .patch(
                    &format!("{}/{identifier}", project.workspaces()),
                    &iacm_wire::WorkspaceUpdate {
                        name,
                        description,
                        provisioner,
                        provisioner_version,
                        tags,
                        runs: runs.wire(),
                        drift_alert_service,
                    },
                )
                .await?;
            print(args.output, &[workspace], &columns)
        }
        WorkspaceCommand::Delete {
            identifier,
            project,
        } => {
            client
                .delete(&format!("{}/{identifier}", project.workspaces()))
                .await
        }
    }
}

pub async fn state(command: StateCommand, args: &ClientArgs) -> Result<()> {
    use rampart_api::iacm as iacm_wire;
    let client = Client::new(args)?;
    let version_columns = [
        "version",
        "serial",
        "resource_count",
        "size_bytes",
        "created_by",
        "created_at",
        "reason",
    ];
    match command {
        StateCommand::List { workspace, project } => {
            let versions: Vec<iacm_wire::StateVersion> = client
                .list_all(&format!(
                    "{}/{workspace}/state-versions",
                    project.workspaces()
                ))
                .await?;
            print(args.output, &versions, &version_columns)
        }
        StateCommand::Show { workspace, project } => {
            let view: iacm_wire::StateResources = client
                .get(&format!("{}/{workspace}/resources", project.workspaces()))
                .await?;
            if args.output == OutputFormat::Json {
                println!("{}", serde_json::to_string_pretty(&view)?);
                return Ok(());
            }
            println!(
                "version {} (serial {}, lineage {}, terraform {})",
                view.version, view.serial, view.lineage, view.terraform_version
            );
            print(
                args.output,
                &view.resources,
                &["address", "mode", "type", "instances", "provider"],
            )?;
            for output in &view.outputs {
                match &output.value {
                    Some(value) => println!("output {} = {value}", output.name),
                    None => println!("output {} = (sensitive)", output.name),
                }
            }
            Ok(())
        }
        StateCommand::Diff {
            workspace,
            from,
            to,
            project,
        } => {
            let diff: iacm_wire::StateDiff = client
                .get(&format!(
                    "{}/{workspace}/state-diff?from={from}&to={to}",
                    project.workspaces()
                ))
                .await?;
            if args.output == OutputFormat::Json {
                println!("{}", serde_json::to_string_pretty(&diff)?);
                return Ok(());
            }
            for (sign, addresses) in [
                ("+", &diff.added),
                ("-", &diff.removed),
                ("~", &diff.changed),
            ] {
                for address in addresses {
                    println!("{sign} {address}");
                }
            }
            for (sign, names) in [
                ("+", &diff.outputs_added),
                ("-", &diff.outputs_removed),
                ("~", &diff.outputs_changed),
            ] {
                for name in names {
                    println!("{sign} output.{name}");
                }
            }
            Ok(())
        }
        StateCommand::Rollback {
            workspace,
            version,
            reason,
            project,
        } => {
            let created: iacm_wire::StateVersion = client
                .post(
                    &format!("{}/{workspace}/state-rollback", project.workspaces()),
                    &iacm_wire::StateRollback { version, reason },
                )
                .await?;
            print(args.output, &[created], &version_columns)
        }
        StateCommand::Pull {
            workspace,
            version,
            project,
        } => {
            let which = version.map_or_else(|| "current".to_owned(), |v| v.to_string());
            let body = client
                .get_bytes(&format!(
                    "{}/{workspace}/state-versions/{which}",
                    project.workspaces()
                ))
                .await?;
            use std::io::Write;
            std::io::stdout().write_all(&body)?;
            Ok(())
        }
    }
}

/// Sends a request whose success answer has no body (204).
pub(crate) async fn call_no_content<B: Serialize>(
    client: &Client,
    method: Method,
    path: &str,
    body: &B,
) -> Result<()> {
    client
        .call::<B, serde_json::Value>(method, path, Some(body))
        .await
        .map(|_| ())
}

/// The account's people by user id, as `Name <email>`, for showing who is who; empty
/// when the caller may not list users (ids are shown then).
pub(crate) async fn people(client: &Client) -> std::collections::BTreeMap<String, String> {
    client
        .list_all::<wire::User>("/api/v1/users")
        .await
        .map(|users| {
            users
                .into_iter()
                .map(|user| (user.id, format!("{} <{}>", user.display_name, user.email)))
                .collect()
        })
        .unwrap_or_default()
}

/// `rampart incident`: list, show, open by hand, acknowledge, resolve, add notes. A
/// change is answered without a body; the command reads the incident back to print
/// what changed.
pub async fn incident(command: IncidentCommand, args: &ClientArgs) -> Result<()> {
    use rampart_api::sre as sre_wire;
    let client = Client::new(args)?;
    let columns = ["number", "severity", "status", "title", "created_at"];
    let read = async |project: &ProjectArgs, number: u64| -> Result<sre_wire::Incident> {
        client
            .get(&format!("{}/incidents/{number}", project.base()))
            .await
    };
    let status = async |project: &ProjectArgs, number: u64, to: &str, message: Option<String>| {
        call_no_content(
            &client,
            Method::POST,
            &format!("{}/incidents/{number}/status", project.base()),
            &sre_wire::IncidentStatusChange {
                status: to.to_owned(),
                message,
            },
        )
        .await?;
        let moved = read(project, number).await?;
        print(args.output, std::slice::from_ref(&moved), &columns)
    };
    match command {
        IncidentCommand::List { project } => {
            let mut incidents: Vec<sre_wire::Incident> = client
                .list_all(&format!("{}/incidents", project.base()))
                .await?;
            if args.output != OutputFormat::Json {
                // A table has no `unreadable` column: say it where the title would be.
                for incident in incidents.iter_mut().filter(|incident| incident.unreadable) {
                    incident.title = "(unreadable: integrity_violation)".into();
                }
            }
            print(args.output, &incidents, &columns)
        }
        IncidentCommand::Show { number, project } => {
            let incident = read(&project, number).await?;
            if args.output == OutputFormat::Json {
                println!("{}", serde_json::to_string_pretty(&incident)?);
                return Ok(());
            }
            print(args.output, std::slice::from_ref(&incident), &columns)?;
            let people = people(&client).await;
            let person = |id: &str| people.get(id).cloned().unwrap_or_else(|| id.to_owned());
            if let Some(description) = incident.description.as_deref().filter(|d| !d.is_empty()) {
                println!("description: {description}");
            }
            println!(
                "commander: {}",
                incident.commander.as_deref().map_or("-".to_owned(), person)
            );
            let assignees = incident.assignees.clone().unwrap_or_default();
            println!(
                "assignees: {}",
                if assignees.is_empty() {
                    "-".to_owned()
                } else {
                    assignees
                        .iter()
                        .map(|id| person(id))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            );
            if let Some(services) = incident.linked_services.as_ref().filter(|s| !s.is_empty()) {
                println!("linked services: {}", services.join(", "));
            }
            if let Some(fields) = incident
                .custom_fields
                .as_ref()
                .and_then(|fields| fields.as_object())
                .filter(|fields| !fields.is_empty())
            {
                for (name, value) in fields {
                    println!("field {name}: {value}");
                }
            }
            for alert in incident.alerts.iter().flatten() {
                println!(
                    "alert {} {} ({}, {} events)",
                    alert.dedup_key, alert.status, alert.severity, alert.event_count
                );
            }
            for item in incident.action_items.iter().flatten() {
                println!(
                    "action item {} [{}] {}{}",
                    item.item,
                    if item.done { "x" } else { " " },
                    item.text,
                    item.assignee
                        .as_deref()
                        .map(|id| format!(" (assignee: {})", person(id)))
                        .unwrap_or_default()
                );
            }
            for entry in incident.timeline.iter().flatten() {
                let field = |name: &str| entry.body.get(name).and_then(|value| value.as_str());
                let text = field("text").or_else(|| field("summary")).unwrap_or("");
                println!("{}  {:<22} {}  {text}", entry.at, entry.kind, entry.actor);
            }
            Ok(())
        }
        IncidentCommand::Create {
            title,
            severity,
            project,
        } => {
            let created: sre_wire::Incident = client
                .post(
                    &format!("{}/incidents", project.base()),
                    &sre_wire::IncidentCreate { title, severity },
                )
                .await?;
            print(args.output, &[created], &columns)
        }
        IncidentCommand::Ack {
            number,
            message,
            project,
        } => status(&project, number, "acknowledged", message).await,
        IncidentCommand::Resolve {
            number,
            message,
            project,
        } => status(&project, number, "resolved", message).await,
        IncidentCommand::ActionItem { command } => action_item(&client, command, args).await,
        IncidentCommand::Note {
            number,
            text,
            project,
        } => {
            call_no_content(
                &client,
                Method::POST,
                &format!("{}/incidents/{number}/notes", project.base()),
                &sre_wire::IncidentNote { text: text.clone() },
            )
            .await?;
            // The note as the timeline holds it: the newest note with this text.
            let incident = read(&project, number).await?;
            let note = incident
                .timeline
                .unwrap_or_default()
                .into_iter()
                .rev()
                .find(|entry| {
                    entry.kind == "note"
                        && entry.body.get("text").and_then(|value| value.as_str())
                            == Some(text.as_str())
                })
                .ok_or_else(|| anyhow!("the note is not in the incident's timeline"))?;
            if args.output == OutputFormat::Json {
                return print(args.output, &[note], &[]);
            }
            println!(
                "incident {number}: note {} added at {} by {}",
                note.seq, note.at, note.actor
            );
            Ok(())
        }
    }
}

/// `rampart incident action-item`: add one, mark one done or open. Each prints the item
/// as it now is (read back from the incident when the answer carries no body).
async fn action_item(client: &Client, command: ActionItemCommand, args: &ClientArgs) -> Result<()> {
    use rampart_api::sre as sre_wire;
    let columns = ["item", "done", "text", "assignee", "updated_at"];
    let items = async |project: &ProjectArgs, number: u64| -> Result<Vec<sre_wire::ActionItem>> {
        let incident: sre_wire::Incident = client
            .get(&format!("{}/incidents/{number}", project.base()))
            .await?;
        Ok(incident.action_items.unwrap_or_default())
    };
    let (number, item, done, project) = match command {
        ActionItemCommand::Add {
            number,
            text,
            assignee,
            project,
        } => {
            let assignee = match assignee {
                Some(assignee) => Some(user_id(client, &assignee).await?),
                None => None,
            };
            let created: Option<sre_wire::ActionItem> = client
                .call(
                    Method::POST,
                    &format!("{}/incidents/{number}/action-items", project.base()),
                    Some(&sre_wire::ActionItemCreate { text, assignee }),
                )
                .await?;
            let item = match created {
                Some(item) => item,
                // The newest item is the one just added.
                None => items(&project, number)
                    .await?
                    .into_iter()
                    .max_by_key(|item| item.item)
                    .ok_or_else(|| anyhow!("the action item is not on the incident"))?,
            };
            return print(args.output, &[item], &columns);
        }
        ActionItemCommand::Done {
            number,
            item,
            project,
        } => (number, item, true, project),
        ActionItemCommand::Reopen {
            number,
            item,
            project,
        } => (number, item, false, project),
    };
    call_no_content(
        client,
        Method::PATCH,
        &format!("{}/incidents/{number}/action-items/{item}", project.base()),
        &sre_wire::ActionItemUpdate { done },
    )
    .await?;
    let changed = items(&project, number)
        .await?
        .into_iter()
        .find(|found| found.item == item)
        .ok_or_else(|| anyhow!("action item {item} is not on the incident"))?;
    print(args.output, &[changed], &columns)
}

/// A query value percent-encoded (everything but unreserved characters).
pub(crate) fn query_value(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(byte).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// `rampart alert`: a project's alerts, one with its payload, acknowledge, resolve.
pub async fn alert(command: AlertCommand, args: &ClientArgs) -> Result<()> {
    use rampart_api::sre as sre_wire;
    let client = Client::new(args)?;
    let columns = [
        "id",
        "service",
        "dedup_key",
        "status",
        "severity",
        "incident",
        "created_at",
    ];
    let act = async |project: &ProjectArgs, alert: &str, action: &str| -> Result<()> {
        let moved: sre_wire::Alert = client
            .post(
                &format!("{}/alerts/{alert}/{action}", project.base()),
                &serde_json::json!({}),
            )
            .await?;
        print(args.output, std::slice::from_ref(&moved), &columns)
    };
    match command {
        AlertCommand::List {
            status,
            service,
            since,
            project,
        } => {
            let filters: Vec<String> = [("status", status), ("service", service), ("since", since)]
                .into_iter()
                .filter_map(|(name, value)| value.map(|v| format!("{name}={}", query_value(&v))))
                .collect();
            let mut path = format!("{}/alerts", project.base());
            if !filters.is_empty() {
                path = format!("{path}?{}", filters.join("&"));
            }
            let alerts: Vec<sre_wire::Alert> = client.list_all(&path).await?;
            print(args.output, &alerts, &columns)
        }
        AlertCommand::Show { alert, project } => {
            let shown: sre_wire::Alert = client
                .get(&format!("{}/alerts/{alert}", project.base()))
                .await?;
            if args.output == OutputFormat::Json {
                println!("{}", serde_json::to_string_pretty(&shown)?);
                return Ok(());
            }
            print(args.output, std::slice::from_ref(&shown), &columns)?;
            if let Some(payload) = &shown.payload {
                println!("{}", serde_json::to_string_pretty(payload)?);
            }
            Ok(())
        }
        AlertCommand::Ack { alert, project } => act(&project, &alert, "acknowledge").await,
        AlertCommand::Resolve { alert, project } => act(&project, &alert, "resolve").await,
    }
}

/// `rampart oncall`: who is on call on each schedule (or one) at an instant.
pub async fn oncall(
    schedule: Option<String>,
    at: Option<String>,
    project: ProjectArgs,
    args: &ClientArgs,
) -> Result<()> {
    use rampart_api::sre as sre_wire;
    let client = Client::new(args)?;
    let schedules = match schedule {
        Some(schedule) => vec![schedule],
        None => client
            .list_all::<sre_wire::Schedule>(&format!("{}/schedules", project.base()))
            .await?
            .into_iter()
            .map(|schedule| schedule.identifier)
            .collect(),
    };
    let mut rows = Vec::new();
    for schedule in schedules {
        let query = at
            .as_deref()
            .map(|at| format!("?at={}", at.replace('+', "%2B")))
            .unwrap_or_default();
        let on_call: sre_wire::OnCall = client
            .get(&format!(
                "{}/schedules/{schedule}/on-call{query}",
                project.base()
            ))
            .await?;
        rows.push(on_call);
    }
    if args.output == OutputFormat::Json {
        return print(args.output, &rows, &[]);
    }
    // People by name; the id only when the user no longer exists, `-` in a gap.
    #[derive(Serialize)]
    struct Row {
        schedule: String,
        on_call: Option<String>,
        at: String,
    }
    let rows: Vec<Row> = rows
        .into_iter()
        .map(|row| Row {
            schedule: row.schedule,
            on_call: row.user_name.or(row.user),
            at: row.at,
        })
        .collect();
    print(args.output, &rows, &["schedule", "on_call", "at"])
}

/// `rampart override`: a schedule's overrides — list, add, take a shift, delete.
pub async fn schedule_override(command: OverrideCommand, args: &ClientArgs) -> Result<()> {
    use rampart_api::sre as sre_wire;
    let client = Client::new(args)?;
    let columns = ["id", "user", "starts_at", "ends_at"];
    let base = |project: &ProjectArgs, schedule: &str| {
        format!("{}/schedules/{schedule}/overrides", project.base())
    };
    match command {
        OverrideCommand::List {
            schedule,
            from,
            to,
            project,
        } => {
            let range: Vec<String> = [("from", from), ("to", to)]
                .into_iter()
                .filter_map(|(name, value)| value.map(|v| format!("{name}={}", query_value(&v))))
                .collect();
            let mut path = base(&project, &schedule);
            if !range.is_empty() {
                path = format!("{path}?{}", range.join("&"));
            }
            let listed: sre_wire::ScheduleOverrides = client.get(&path).await?;
            print(args.output, &listed.overrides, &columns)
        }
        OverrideCommand::Add {
            schedule,
            user,
            starts_at,
            ends_at,
            project,
        } => {
            let user = user_id(&client, &user).await?;
            let added: sre_wire::ScheduleOverride = client
                .post(
                    &base(&project, &schedule),
                    &sre_wire::ScheduleOverrideCreate {
                        user,
                        starts_at,
                        ends_at,
                    },
                )
                .await?;
            print(args.output, std::slice::from_ref(&added), &columns)
        }
        OverrideCommand::Take {
            schedule,
            starts_at,
            ends_at,
            project,
        } => {
            let taken: sre_wire::ScheduleOverride = client
                .post(
                    &format!("{}/take", base(&project, &schedule)),
                    &sre_wire::ShiftTake { starts_at, ends_at },
                )
                .await?;
            print(args.output, std::slice::from_ref(&taken), &columns)
        }
        OverrideCommand::Delete {
            schedule,
            id,
            project,
        } => {
            client
                .delete(&format!("{}/{id}", base(&project, &schedule)))
                .await?;
            eprintln!("deleted override {id}");
            Ok(())
        }
    }
}

pub async fn service(command: ServiceCommand, args: &ClientArgs) -> Result<()> {
    use rampart_api::sre as sre_wire;
    let client = Client::new(args)?;
    let columns = ["identifier", "name", "auto_resolve", "created_at"];
    match command {
        ServiceCommand::List { project } => {
            let services: Vec<sre_wire::Service> = client
                .list_all(&format!("{}/services", project.base()))
                .await?;
            print(args.output, &services, &columns)
        }
        ServiceCommand::Create {
            identifier,
            name,
            description,
            escalation_policy,
            project,
        } => {
            let service: sre_wire::Service = client
                .post(
                    &format!("{}/services", project.base()),
                    &sre_wire::ServiceCreate {
                        identifier: identifier.clone(),
                        name,
                        description,
                        auto_resolve: None,
                    },
                )
                .await?;
            if let Some(policy) = escalation_policy {
                call_no_content(
                    &client,
                    Method::PUT,
                    &format!("{}/services/{identifier}/escalation-policy", project.base()),
                    &sre_wire::ServiceEscalationPolicy {
                        escalation_policy: Some(policy),
                    },
                )
                .await?;
            }
            print(args.output, &[service], &columns)
        }
        ServiceCommand::Show {
            identifier,
            project,
        } => {
            let service: sre_wire::Service = client
                .get(&format!("{}/services/{identifier}", project.base()))
                .await?;
            print(args.output, &[service], &columns)
        }
        ServiceCommand::Update {
            identifier,
            name,
            description,
            auto_resolve,
            project,
        } => {
            if name.is_none() && description.is_none() && auto_resolve.is_none() {
                bail!("nothing to change: give --name, --description or --auto-resolve");
            }
            let service: sre_wire::Service = client
                .patch(
                    &format!("{}/services/{identifier}", project.base()),
                    &sre_wire::ServiceUpdate {
                        name,
                        description,
                        auto_resolve,
                    },
                )
                .await?;
            print(args.output, &[service], &columns)
        }
        ServiceCommand::Delete {
            identifier,
            project,
        } => {
            client
                .delete(&format!("{}/services/{identifier}", project.base()))
                .await?;
            eprintln!("deleted service {identifier}: its integrations no longer accept webhooks");
            Ok(())
        }
    }
}

pub async fn integration(command: IntegrationCommand, args: &ClientArgs) -> Result<()> {
    use rampart_api::sre as sre_wire;
    let client = Client::new(args)?;
    let columns = ["id", "name", "format", "auth_mode", "url_path"];
    match command {
        IntegrationCommand::List { service, project } => {
            let integrations: Vec<sre_wire::Integration> = client
                .list_all(&format!(
                    "{}/services/{service}/integrations",
                    project.base()
                ))
                .await?;
            print(args.output, &integrations, &columns)
        }
        IntegrationCommand::Create {
            service,
            name,
            format,
            auth_mode,
            source_cidrs,
            rate_limit_per_minute,
            project,
        } => {
            let created: sre_wire::IntegrationCreated = client
                .post(
                    &format!("{}/services/{service}/integrations", project.base()),
                    &sre_wire::IntegrationCreate {
                        name,
                        format,
                        auth_mode,
                        source_cidrs,
                        rate_limit_per_minute,
                    },
                )
                .await?;
            print_credential(args.output, &created, &columns)
        }
        IntegrationCommand::Rotate {
            service,
            integration,
            project,
        } => {
            let id = integration_id(&client, &project, &service, &integration).await?;
            let rotated: sre_wire::IntegrationCreated = client
                .post_empty(&format!(
                    "{}/services/{service}/integrations/{id}/rotate",
                    project.base()
                ))
                .await?;
            print_credential(args.output, &rotated, &columns)
        }
        IntegrationCommand::Delete {
            service,
            integration,
            project,
        } => {
            let id = integration_id(&client, &project, &service, &integration).await?;
            client
                .delete(&format!(
                    "{}/services/{service}/integrations/{id}",
                    project.base()
                ))
                .await?;
            eprintln!("deleted integration {integration}: its URL no longer accepts webhooks");
            Ok(())
        }
    }
}

/// The id of the integration of `service` that `integration` names: its id, or its name
/// when exactly one of the service's integrations has it.
async fn integration_id(
    client: &Client,
    project: &ProjectArgs,
    service: &str,
    integration: &str,
) -> Result<String> {
    use rampart_api::sre as sre_wire;
    let all: Vec<sre_wire::Integration> = client
        .list_all(&format!(
            "{}/services/{service}/integrations",
            project.base()
        ))
        .await?;
    if all.iter().any(|found| found.id == integration) {
        return Ok(integration.to_owned());
    }
    let mut named = all.into_iter().filter(|found| found.name == integration);
    match (named.next(), named.next()) {
        (Some(found), None) => Ok(found.id),
        (Some(_), Some(_)) => bail!("several integrations are named {integration}: give the id"),
        _ => bail!("service {service} has no integration {integration}"),
    }
}

/// Prints an integration with its new credential, shown this once.
fn print_credential(
    output: OutputFormat,
    created: &rampart_api::sre::IntegrationCreated,
    columns: &[&str],
) -> Result<()> {
    if output == OutputFormat::Json {
        println!("{}", serde_json::to_string_pretty(created)?);
        return Ok(());
    }
    print(output, std::slice::from_ref(&created.integration), columns)?;
    if let Some(token) = &created.token {
        println!("token (shown once): {token}");
    }
    if let Some(routing_key) = &created.routing_key {
        println!("routing key (shown once): {routing_key}");
    }
    if let (Some(user), Some(password)) = (&created.username, &created.password) {
        println!("basic auth (shown once): {user}:{password}");
    }
    if let Some(secret) = &created.secret {
        println!("signing secret (shown once): {secret}");
    }
    Ok(())
}
