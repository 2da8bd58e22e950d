//! Platform wire types: organisations, projects, users, service accounts, tokens,
//! sessions.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Org {
    pub id: String,
    /// The slug used in URLs: `[a-z0-9][a-z0-9-]{0,62}`.
    pub identifier: String,
    pub name: String,
    pub description: String,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrgCreate {
    pub identifier: String,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
}

/// Partial update; identifiers cannot change (they are in every URL).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScopeUpdate {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Project {
    pub id: String,
    /// The organisation's identifier.
    pub org: String,
    pub identifier: String,
    pub name: String,
    pub description: String,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectCreate {
    pub identifier: String,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct User {
    pub id: String,
    pub email: String,
    pub display_name: String,
    pub is_account_owner: bool,
    pub has_password: bool,
    pub disabled: bool,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserCreate {
    pub email: String,
    pub display_name: String,
    /// Optional; users may also sign in with SSO or use tokens only.
    #[serde(default)]
    pub password: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserUpdate {
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub disabled: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    /// Required when the user already has a password.
    #[serde(default)]
    pub current_password: Option<String>,
    pub new_password: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ServiceAccount {
    pub id: String,
    pub org: String,
    pub project: Option<String>,
    pub name: String,
    pub description: String,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceAccountCreate {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Token {
    pub id: String,
    /// `pat` (personal) or `sat` (service account).
    pub kind: String,
    pub name: String,
    /// The last four characters of the secret, to recognise it.
    pub last_four: String,
    /// `org/project` when the token is narrowed to one project.
    pub project: Option<String>,
    pub created_at: String,
    pub expires_at: String,
    pub revoked_at: Option<String>,
    pub last_used_at: Option<String>,
    pub last_used_ip: Option<String>,
    /// Source networks the token may be used from; empty: anywhere.
    pub allowed_cidrs: Vec<String>,
}

/// A new token. Expiry is mandatory: `expires_in_days` or `expires_at` (not both); the
/// server's `auth.token_lifetime_days_max` bounds it. `org` + `project` narrow the token
/// to that project.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenCreate {
    pub name: String,
    #[serde(default)]
    pub expires_in_days: Option<u32>,
    #[serde(default)]
    pub expires_at: Option<String>,
    #[serde(default)]
    pub org: Option<String>,
    #[serde(default)]
    pub project: Option<String>,
    /// Source networks (CIDR or address) the token may be used from; absent: anywhere.
    #[serde(default)]
    pub allowed_cidrs: Vec<String>,
}

/// The created token with its secret. The secret is shown only in this response.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TokenCreated {
    pub token: Token,
    pub secret: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

/// A new session. The session id itself is only in the `__Host-rampart_session`
/// cookie; state-changing requests must echo `csrf_token` in `X-CSRF-Token`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LoginResponse {
    pub csrf_token: String,
    pub expires_at: String,
    pub idle_timeout_secs: u64,
}

/// The authenticated principal.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Me {
    /// `user` or `service_account`.
    pub kind: String,
    pub user: Option<User>,
    pub service_account: Option<ServiceAccount>,
    /// How this request was authenticated: `token` or `session`.
    pub auth_method: String,
    pub token_id: Option<String>,
    /// `org/project` when the token is narrowed.
    pub narrowed_to_project: Option<String>,
}

/// A role given to a principal at a scope, over all resources of that scope.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct RoleAssignment {
    pub id: String,
    /// `account`, `<org>` or `<org>/<project>`.
    pub scope: String,
    /// `user:<id>`, `service_account:<id>` or `group:<id>`.
    pub principal: String,
    /// A built-in role: `_account_admin`, `_org_admin`, `_project_admin`, `_user`, `_viewer`.
    pub role: String,
    /// `null`: all resources in the scope (and its child scopes).
    pub resource_group: Option<String>,
    pub created_at: String,
    pub created_by: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleAssignmentCreate {
    pub principal: String,
    pub role: String,
    /// A resource group id (defined here or above); absent: all resources in scope.
    #[serde(default)]
    pub resource_group: Option<String>,
}

/// `?principal=&permission=` of the explain endpoint.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ExplainParams {
    pub principal: String,
    pub permission: String,
    /// One resource as `type/id`; absent: the scope's resources as a whole.
    #[serde(default)]
    pub resource: Option<String>,
}

/// Whether a principal holds a permission here, and which assignment decided.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Explanation {
    pub principal: String,
    pub permission: String,
    pub scope: String,
    pub resource: Option<String>,
    pub allowed: bool,
    /// The id of the deciding role assignment; `null` when denied (deny by default).
    pub decided_by: Option<String>,
}

/// The caller's permissions at a scope.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MyPermissions {
    pub scope: String,
    pub permissions: Vec<String>,
}

/// A role: built-in (id = its identifier, e.g. `_viewer`) or custom (id = a UUID).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Role {
    pub id: String,
    pub identifier: String,
    pub name: String,
    pub description: String,
    /// Where a custom role is defined (usable there and below); `account` for built-ins.
    pub scope: String,
    pub built_in: bool,
    pub permissions: Vec<String>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleCreate {
    pub identifier: String,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// `resource:action` permissions from the catalogue; never beyond your own.
    pub permissions: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleUpdate {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub permissions: Option<Vec<String>>,
}

/// A user group (a principal that role assignments can name as `group:<id>`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Group {
    pub id: String,
    pub identifier: String,
    pub name: String,
    pub description: String,
    pub scope: String,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupCreate {
    pub identifier: String,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
}

/// A member of a group.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GroupMember {
    /// The user's id.
    pub user: String,
}

/// Which resources an assignment reaches.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ResourceGroup {
    pub id: String,
    pub identifier: String,
    pub name: String,
    pub description: String,
    pub scope: String,
    /// `all`, `types` or `specific`.
    pub kind: String,
    pub include_children: bool,
    pub types: Vec<String>,
    /// `type/id` items of a `specific` group.
    pub resources: Vec<String>,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceGroupCreate {
    pub identifier: String,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// `all` (every resource of the scope), `types` or `specific`.
    pub kind: String,
    /// Also the child scopes' resources (organisation → its projects).
    #[serde(default)]
    pub include_children: bool,
    #[serde(default)]
    pub types: Vec<String>,
    #[serde(default)]
    pub resources: Vec<String>,
}

/// Filters of the audit query and export routes.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditParams {
    /// Events at or after this RFC 3339 time.
    #[serde(default)]
    pub since: Option<String>,
    /// Events before this RFC 3339 time.
    #[serde(default)]
    pub until: Option<String>,
    /// `user:<id>` or `service_account:<id>`.
    #[serde(default)]
    pub actor: Option<String>,
    #[serde(default)]
    pub action: Option<String>,
    #[serde(default)]
    pub resource_type: Option<String>,
    #[serde(default)]
    pub resource_id: Option<String>,
    /// `success`, `failure` or `denied`.
    #[serde(default)]
    pub outcome: Option<String>,
    #[serde(default)]
    pub limit: Option<u32>,
    #[serde(default)]
    pub cursor: Option<String>,
    /// Export only: `ndjson` (default) or `csv`.
    #[serde(default)]
    pub format: Option<String>,
}

/// One audit event.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct AuditEvent {
    /// The event's position in the tamper-evident log.
    pub index: u64,
    pub id: String,
    pub occurred_at: String,
    pub actor: Option<String>,
    pub auth_method: Option<String>,
    pub token_id: Option<String>,
    pub client_ip: Option<String>,
    pub org_id: Option<String>,
    pub project_id: Option<String>,
    pub action: String,
    pub resource_type: String,
    pub resource_id: Option<String>,
    pub outcome: String,
    pub request_id: Option<String>,
    /// Non-secret facts about the action.
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

/// The audit log's Ed25519 public key, for offline verification of exports.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct AuditPublicKey {
    /// 32 bytes, hex.
    pub public_key: String,
    pub algorithm: String,
}

/// How long an organisation's audit events keep their bodies.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AuditRetention {
    /// Days, 1 to 36500; `null` keeps events for ever. Older events keep only their
    /// hash, so the log still verifies.
    pub days: Option<u32>,
}

/// A new secret. The value is write-only: no response ever contains it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretCreate {
    pub identifier: String,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// At most 64 KiB.
    pub value: String,
}

/// Changes to a secret; a `value` adds a new version.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretUpdate {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub value: Option<String>,
}

/// A secret's metadata (never its value).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Secret {
    pub id: String,
    pub identifier: String,
    /// `org` or `org/project`.
    pub scope: String,
    pub name: String,
    pub description: String,
    pub current_version: u32,
    pub created_at: String,
    pub updated_at: String,
    /// Newest first; present when reading one secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub versions: Option<Vec<SecretVersion>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct SecretVersion {
    pub version: u32,
    pub created_at: String,
    pub created_by: String,
}

/// Which key ring: `org` or `org/project`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct KeyScope {
    pub scope: String,
}

/// Crypto-shredding: `confirm` must repeat `scope`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyDestroy {
    pub scope: String,
    pub confirm: String,
}

/// One key version (never its material).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct KeyVersion {
    pub version: u32,
    /// `enabled` (the primary seals), `disabled` (rotated out, data being moved),
    /// `retired` (data moved; still opens stragglers) or `destroyed`.
    pub status: String,
    pub primary: bool,
    pub created_at: String,
    pub destroyed_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct KeyRing {
    pub scope: String,
    pub versions: Vec<KeyVersion>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct KeysDestroyed {
    pub scope: String,
    pub versions_destroyed: u64,
}

/// The outcome of an online root-key rotation: how many wrapped keys (ring versions and
/// server secrets) now use the new root key.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct RootKeyRotated {
    pub wrapped_keys: u64,
}

/// Source networks allowed to use the API (account) or one organisation; empty allows
/// every address.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct IpAllowlist {
    /// CIDRs or single addresses, at most 200.
    pub cidrs: Vec<String>,
}
