//! Wire types of users, service accounts and API tokens (a token secret appears only in `TokenCreated`).
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

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
    #[schema(min_length = 3, max_length = 254, pattern = "^[^@\\s]+@[^@\\s]+$")]
    pub email: String,
    #[schema(min_length = 1, max_length = 200)]
    pub display_name: String,
    /// Optional; users may also sign in with SSO or use tokens only.
    #[serde(default)]
    pub password: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserUpdate {
    #[serde(default)]
    #[schema(min_length = 1, max_length = 200)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub disabled: Option<bool>,
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
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    #[serde(default)]
    #[schema(max_length = 2000)]
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
    /// For a run credential (minted when a run's apply starts, revoked when it ends):
    /// the run; it reads and writes only that run's workspace's state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
}

/// A new token. Expiry is mandatory: `expires_in_days` or `expires_at` (not both); the
/// server's `auth.token_lifetime_days_max` bounds it. `org` + `project` narrow the token
/// to that project.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenCreate {
    #[schema(min_length = 1, max_length = 100)]
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
