//! Wire types of login, the current principal and password changes.
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ServiceAccount, User};

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    /// Required when the user already has a password.
    #[serde(default)]
    pub current_password: Option<String>,
    pub new_password: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    #[schema(min_length = 3, max_length = 254, pattern = "^[^@\\s]+@[^@\\s]+$")]
    pub email: String,
    pub password: String,
}

/// What a logout answers: the local session has ended; for a session signed in
/// through a provider that supports it (OpenID Connect RP-initiated logout, SAML single
/// logout), where to send the browser to end its session at the provider too.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LogoutResponse {
    pub provider_logout_url: Option<String>,
}

/// Re-authenticating a password session (step-up). Not `Debug`: it holds the password.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReauthenticateRequest {
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
    /// For a session: how it was signed in, `password` or `oidc:<provider>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_method: Option<String>,
    /// For a session: when its user last proved who they are (sign-in or
    /// re-authentication). Sensitive routes need this within
    /// `auth.reauthentication_minutes`, else 401 `reauthentication_required`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authenticated_at: Option<String>,
    pub token_id: Option<String>,
    /// `org/project` when the token is narrowed.
    pub narrowed_to_project: Option<String>,
}
