//! Wire types of single sign-on: identity providers (account admins) and the login
//! options a sign-in page lists (anyone).
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An OpenID Connect provider's configuration. The client secret is not here: the
/// configuration names the Rampart secret that holds it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OidcConfig {
    /// The issuer identifier, exactly as the provider's ID tokens name it
    /// (`https://login.example.com/realms/ops`).
    pub issuer: String,
    pub client_id: String,
    /// The secret holding the client secret: `org/secret` or `org/project/secret`.
    pub client_secret: String,
    /// Scopes asked for (default `openid email profile`); must include `openid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    /// JWS algorithms ID tokens may be signed with (default RS256, PS256, ES256,
    /// EdDSA); asymmetric ones only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algorithms: Option<Vec<String>>,
    /// The claim holding the email (default `email`; must be verified by the provider).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_claim: Option<String>,
    /// The claim holding the display name (default `name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_claim: Option<String>,
    /// The claim listing the user's groups at the provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups_claim: Option<String>,
    /// Provider groups mapped to user groups; membership follows the provider at each
    /// login.
    #[serde(default)]
    pub group_mappings: Vec<SsoGroupMapping>,
    /// Create a user at first sign-in when none has the verified email (default false).
    #[serde(default)]
    pub create_users: bool,
    /// PEM certificates to trust for the provider's TLS instead of the system's roots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_certificates_pem: Option<String>,
    /// Hosts (`host` or `host:port`) besides the issuer's where the provider's endpoints
    /// may be; the server connects nowhere else.
    #[serde(default)]
    pub endpoint_hosts: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SsoGroupMapping {
    /// The value in the groups claim.
    pub claim_value: String,
    /// The user group: `group`, `org/group` or `org/project/group` (identifiers).
    pub group: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SsoProvider {
    pub id: String,
    /// The identifier in URLs.
    pub name: String,
    pub display_name: String,
    /// `oidc`.
    pub kind: String,
    pub enabled: bool,
    pub oidc: OidcConfig,
    /// The redirect URI to register at the provider; absent while the server does not
    /// know its public URL (set `server.public_url`).
    pub redirect_uri: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SsoProviderList {
    pub items: Vec<SsoProvider>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SsoProviderCreate {
    #[schema(pattern = "^[a-z0-9][a-z0-9-]{0,62}$")]
    pub name: String,
    pub display_name: String,
    /// Default true.
    #[serde(default)]
    pub enabled: Option<bool>,
    pub oidc: OidcConfig,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SsoProviderUpdate {
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Replaces the whole configuration.
    #[serde(default)]
    pub oidc: Option<OidcConfig>,
}

/// One way to sign in, for a login page.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SsoLoginOption {
    pub name: String,
    pub display_name: String,
    /// Where the browser goes to start (append `?redirect_to=/path` to come back there).
    pub start_url: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SsoLoginOptions {
    pub items: Vec<SsoLoginOption>,
    /// The account requires single sign-on: password sign-in works only for its
    /// break-glass users (a login page can hide the password form).
    pub sso_required: bool,
}

/// Whether people must sign in through single sign-on here (the account, or an
/// organisation), and who may still use a password.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SsoPolicy {
    pub required: bool,
    /// Users (ids or emails) who may still sign in with a password — for when the
    /// identity provider is down; every such login is audited (`auth.break_glass`).
    /// Answered as ids.
    #[serde(default)]
    pub break_glass_users: Vec<String>,
}
