//! Wire types of single sign-on: identity providers, OpenID Connect and SAML (account
//! admins), the login options a sign-in page lists and SAML's posted response (anyone).
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

/// A SAML 2.0 identity provider's configuration (this server is the service provider).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SamlConfig {
    /// The identity provider's metadata XML (its `EntityDescriptor`): entity ID,
    /// HTTP-Redirect sign-in location, signing certificate (required).
    pub idp_metadata_xml: String,
    /// This service provider's entity ID, the audience of the provider's assertions
    /// (default: the URL of this provider's SP metadata).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sp_entity_id: Option<String>,
    /// The NameID format asked for (default
    /// `urn:oasis:names:tc:SAML:2.0:nameid-format:persistent`; also `…:1.1:nameid-format:
    /// emailAddress` and `…:1.1:nameid-format:unspecified`). Transient NameIDs are refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_id_format: Option<String>,
    /// The attribute holding the email (default `email`; an emailAddress NameID serves
    /// when it is absent). The provider vouches for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_attribute: Option<String>,
    /// The attribute holding the display name (default `displayName`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_attribute: Option<String>,
    /// The attribute listing the user's groups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups_attribute: Option<String>,
    /// Provider groups mapped to user groups; membership follows the provider at each
    /// sign-in.
    #[serde(default)]
    pub group_mappings: Vec<SsoGroupMapping>,
    /// Create a user at first sign-in when none has the email (default false).
    #[serde(default)]
    pub create_users: bool,
    /// Link an existing user with the email at their first sign-in (default false: the
    /// provider must not let people choose their own address).
    #[serde(default)]
    pub link_by_email: bool,
    /// Accept sign-ins the provider starts (IdP-initiated, unsolicited responses;
    /// default false: they cannot be bound to the browser).
    #[serde(default)]
    pub allow_idp_initiated: bool,
}

/// This server as a SAML provider's service provider: what to register at the
/// identity provider (or have it import from `metadata_url`), and what its metadata
/// said.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SamlServiceProvider {
    /// The audience the provider's assertions must name.
    pub entity_id: String,
    /// The assertion consumer service (HTTP-POST binding).
    pub acs_url: String,
    /// This service provider's metadata.
    pub metadata_url: String,
    /// Single logout (HTTP-Redirect binding): where the identity provider answers this
    /// service's logout, and sends its own signed logout requests.
    pub slo_url: String,
    /// The identity provider's entity ID, from its metadata.
    pub idp_entity_id: String,
    /// Where browsers sign in at the identity provider (HTTP-Redirect binding).
    pub idp_sso_url: String,
    /// SHA-256 fingerprints (hex) of the identity provider's signing certificates.
    pub idp_certificates_sha256: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SsoProvider {
    pub id: String,
    /// The identifier in URLs.
    pub name: String,
    pub display_name: String,
    /// `oidc` or `saml`.
    pub kind: String,
    pub enabled: bool,
    /// The configuration of an OpenID Connect provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oidc: Option<OidcConfig>,
    /// The configuration of a SAML provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saml: Option<SamlConfig>,
    /// A SAML provider's service provider addresses; absent while the server does not
    /// know its public URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saml_service_provider: Option<SamlServiceProvider>,
    /// The URL to register at the provider — the OpenID Connect redirect URI, or the
    /// SAML assertion consumer service; absent while the server does not know its
    /// public URL (set `server.public_url`).
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
    /// An OpenID Connect provider's configuration (give this or `saml`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oidc: Option<OidcConfig>,
    /// A SAML provider's configuration (give this or `oidc`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saml: Option<SamlConfig>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SsoProviderUpdate {
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Replaces the whole configuration of an OpenID Connect provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oidc: Option<OidcConfig>,
    /// Replaces the whole configuration of a SAML provider (the kind stays).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saml: Option<SamlConfig>,
}

/// What a SAML identity provider's page posts to the assertion consumer service
/// (`application/x-www-form-urlencoded`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SamlPost {
    /// The response, base64.
    #[serde(rename = "SAMLResponse")]
    pub saml_response: String,
    /// The login's state as sent (or, for an IdP-initiated sign-in, a path here).
    #[serde(
        rename = "RelayState",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub relay_state: Option<String>,
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
