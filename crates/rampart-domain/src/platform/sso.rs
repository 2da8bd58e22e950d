//! Single sign-on through OpenID Connect and SAML 2.0: what an identity provider's
//! configuration may say, and the checks an ID token's claims must pass before anyone is
//! signed in (OpenID Connect Core §3.1.3.7). Signatures (JWS, XML) and the SAML response
//! are checked in `rampart-crypto`; the exchanges with the provider happen in the
//! application layer.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::ValidationError;

/// How far the provider's clock may be from ours when checking `exp` and `iat`.
pub const ID_TOKEN_CLOCK_SKEW_SECS: i64 = 120;
/// The oldest an ID token may be when it arrives (its `iat`): the code was just issued.
pub const ID_TOKEN_MAX_AGE_SECS: i64 = 600;
/// How long a started login may wait for the provider to send the browser back.
pub const SSO_LOGIN_TTL_SECS: i64 = 600;
/// The most group mappings one provider may list.
pub const GROUP_MAPPINGS_MAX: usize = 200;
/// The most extra endpoint hosts one provider may name.
const ENDPOINT_HOSTS_MAX: usize = 10;
/// The longest text accepted in a configuration field (an issuer URL, a client id).
const FIELD_BYTES_MAX: usize = 2048;
/// The most bytes of trusted certificates one provider may carry.
const CA_PEM_BYTES_MAX: usize = 64 * 1024;
/// Algorithms allowed when a provider names none: the asymmetric ones providers use.
pub const DEFAULT_ALGORITHMS: &[&str] = &["RS256", "PS256", "ES256", "EdDSA"];
/// Every algorithm a provider may be allowed (the asymmetric JWS algorithms; never
/// `none` or HMAC).
pub const KNOWN_ALGORITHMS: &[&str] = &[
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA",
];

fn default_scopes() -> Vec<String> {
    ["openid", "email", "profile"].map(String::from).to_vec()
}
fn default_algorithms() -> Vec<String> {
    DEFAULT_ALGORITHMS
        .iter()
        .map(|&alg| alg.to_owned())
        .collect()
}
fn default_email_claim() -> String {
    "email".into()
}
fn default_name_claim() -> String {
    "name".into()
}

/// An OpenID Connect provider's configuration, as an administrator writes it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcConfig {
    /// The issuer identifier (`https://…`, no query or fragment); discovery reads
    /// `<issuer>/.well-known/openid-configuration`, and ID tokens must name it exactly.
    pub issuer: String,
    pub client_id: String,
    /// The Rampart secret that holds the client secret: `org/secret` or
    /// `org/project/secret`. Read (and audited) at each login, never returned.
    pub client_secret: String,
    /// Scopes asked for; must include `openid`.
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    /// The JWS algorithms ID tokens may be signed with.
    #[serde(default = "default_algorithms")]
    pub algorithms: Vec<String>,
    #[serde(default = "default_email_claim")]
    pub email_claim: String,
    #[serde(default = "default_name_claim")]
    pub name_claim: String,
    /// The claim listing the user's groups at the provider (`groups`), if mapped.
    #[serde(default)]
    pub groups_claim: Option<String>,
    /// Provider group → Rampart user group. Membership of the mapped groups follows the
    /// provider at every login (added and removed); other groups are not touched.
    #[serde(default)]
    pub group_mappings: Vec<GroupMapping>,
    /// Create a user at first login when no user has the (verified) email.
    #[serde(default)]
    pub create_users: bool,
    /// PEM certificates to trust for the provider's TLS instead of the system's roots
    /// (a provider behind a private CA).
    #[serde(default)]
    pub ca_certificates_pem: Option<String>,
    /// Hosts (`host` or `host:port`) besides the issuer's where the discovery document
    /// may place the provider's endpoints (Google's token endpoint is on another host
    /// than its issuer). Nothing else is ever connected to.
    #[serde(default)]
    pub endpoint_hosts: Vec<String>,
}

fn default_email_attribute() -> String {
    "email".into()
}
fn default_name_attribute() -> String {
    "displayName".into()
}
fn default_name_id_format() -> String {
    NAME_ID_PERSISTENT.into()
}
/// The NameID formats a service provider may ask for (unspecified: the provider's
/// choice, which must then be persistent or an email address to be linked).
pub const NAME_ID_FORMATS: &[&str] = &[NAME_ID_PERSISTENT, NAME_ID_EMAIL, NAME_ID_UNSPECIFIED];
/// The NameID format that leaves the choice to the provider (no `Format` is asked).
pub const NAME_ID_UNSPECIFIED: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified";

/// The most bytes of an identity provider's SAML metadata (the XML reader's own limit).
pub const SAML_METADATA_BYTES_MAX: usize = 256 * 1024;

/// A SAML 2.0 identity provider's configuration, as an administrator writes it. This
/// server is the service provider: it sends unsigned `AuthnRequest`s by the HTTP-Redirect
/// binding and receives signed responses by HTTP-POST at its assertion consumer service.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SamlConfig {
    /// The identity provider's metadata (an `EntityDescriptor` with an
    /// `IDPSSODescriptor`), as the provider publishes it: its entity ID, where browsers
    /// sign in (HTTP-Redirect binding) and its signing certificates. Metadata without a
    /// signing certificate is refused: nothing could be verified.
    pub idp_metadata_xml: String,
    /// This service provider's entity ID, the audience the provider's assertions must
    /// name; by default the URL of this provider's SP metadata.
    #[serde(default)]
    pub sp_entity_id: Option<String>,
    /// The NameID format asked for: persistent (the default), emailAddress, or
    /// unspecified (the provider chooses). A transient NameID is refused at sign-in.
    #[serde(default = "default_name_id_format")]
    pub name_id_format: String,
    /// The attribute holding the email (default `email`). A NameID of the
    /// `emailAddress` format serves when the attribute is absent. The provider vouches
    /// for it: connect only a provider whose users cannot choose their own address.
    #[serde(default = "default_email_attribute")]
    pub email_attribute: String,
    /// The attribute holding the display name (default `displayName`).
    #[serde(default = "default_name_attribute")]
    pub name_attribute: String,
    /// The attribute listing the user's groups, if mapped.
    #[serde(default)]
    pub groups_attribute: Option<String>,
    /// Provider group → Rampart user group, as for OpenID Connect.
    #[serde(default)]
    pub group_mappings: Vec<GroupMapping>,
    /// Create a user at first sign-in when no user has the email.
    #[serde(default)]
    pub create_users: bool,
    /// Link a user who already exists with the email at their first sign-in. Off by
    /// default: SAML has no "email verified" — where people can set their own address
    /// at the provider, linking by it hands over whichever account has that address.
    #[serde(default)]
    pub link_by_email: bool,
    /// Accept responses the provider sends without a request from this server
    /// (IdP-initiated sign-in). Off by default: such a response cannot be bound to the
    /// browser that receives it, so a captured or planted one signs that browser in as
    /// someone else (login CSRF); assertions are still used once.
    #[serde(default)]
    pub allow_idp_initiated: bool,
}

impl SamlConfig {
    /// Checks every field but the metadata's content (the application layer reads it
    /// with the XML reader); the error names the first one that is wrong.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.idp_metadata_xml.trim().is_empty() {
            return Err(ValidationError::new(
                "idp_metadata_xml",
                "must not be empty",
            ));
        }
        if self.idp_metadata_xml.len() > SAML_METADATA_BYTES_MAX {
            return Err(ValidationError::new(
                "idp_metadata_xml",
                format!("holds at most {SAML_METADATA_BYTES_MAX} bytes"),
            ));
        }
        if let Some(entity_id) = &self.sp_entity_id {
            text_field("sp_entity_id", entity_id)?;
            if entity_id.contains(char::is_whitespace) {
                return Err(ValidationError::new(
                    "sp_entity_id",
                    "must be a URI, without spaces",
                ));
            }
        }
        if !NAME_ID_FORMATS.contains(&self.name_id_format.as_str()) {
            return Err(ValidationError::new(
                "name_id_format",
                format!("must be one of {}", NAME_ID_FORMATS.join(", ")),
            ));
        }
        text_field("email_attribute", &self.email_attribute)?;
        text_field("name_attribute", &self.name_attribute)?;
        if let Some(attribute) = &self.groups_attribute {
            text_field("groups_attribute", attribute)?;
        }
        if !self.group_mappings.is_empty() && self.groups_attribute.is_none() {
            return Err(ValidationError::new(
                "groups_attribute",
                "group_mappings need the attribute that lists the groups",
            ));
        }
        check_group_mappings(&self.group_mappings)
    }
}

fn check_group_mappings(mappings: &[GroupMapping]) -> Result<(), ValidationError> {
    if mappings.len() > GROUP_MAPPINGS_MAX {
        return Err(ValidationError::new(
            "group_mappings",
            format!("at most {GROUP_MAPPINGS_MAX} mappings"),
        ));
    }
    for mapping in mappings {
        text_field("group_mappings", &mapping.claim_value)?;
        ScopedName::parse(&mapping.group, "group_mappings")?;
    }
    Ok(())
}

/// What a provider speaks, with its configuration.
#[derive(Clone, Debug, PartialEq)]
pub enum ProviderConfig {
    Oidc(OidcConfig),
    Saml(SamlConfig),
}

impl ProviderConfig {
    /// `oidc` or `saml`: the provider's kind in the API, and the prefix of its
    /// sessions' method (`oidc:<provider>`).
    pub fn kind(&self) -> &'static str {
        match self {
            ProviderConfig::Oidc(_) => "oidc",
            ProviderConfig::Saml(_) => "saml",
        }
    }

    pub fn validate(&self) -> Result<(), ValidationError> {
        match self {
            ProviderConfig::Oidc(config) => config.validate(),
            ProviderConfig::Saml(config) => config.validate(),
        }
    }

    pub fn group_mappings(&self) -> &[GroupMapping] {
        match self {
            ProviderConfig::Oidc(config) => &config.group_mappings,
            ProviderConfig::Saml(config) => &config.group_mappings,
        }
    }

    /// Whether a first sign-in is linked to the user who has the email: OpenID
    /// Connect's verified emails always; SAML's only when configured.
    pub fn links_by_email(&self) -> bool {
        match self {
            ProviderConfig::Oidc(_) => true,
            ProviderConfig::Saml(config) => config.link_by_email,
        }
    }

    pub fn create_users(&self) -> bool {
        match self {
            ProviderConfig::Oidc(config) => config.create_users,
            ProviderConfig::Saml(config) => config.create_users,
        }
    }
}

/// The kinds of provider, as session methods name them (`<kind>:<provider>`).
pub const PROVIDER_KINDS: &[&str] = &["oidc", "saml"];

/// A configured identity provider.
#[derive(Clone, Debug, PartialEq)]
pub struct SsoProvider {
    pub id: uuid::Uuid,
    /// The provider's identifier in URLs (`/api/v1/auth/sso/<name>/start`).
    pub name: crate::Slug,
    /// What the login page's button says ("Sign in with Okta").
    pub display_name: crate::DisplayName,
    pub config: ProviderConfig,
    /// A disabled provider starts no login and finishes none.
    pub enabled: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Whether people must sign in through single sign-on: the account's policy (password
/// login refused) or an organisation's (a password session refused inside it). The
/// break-glass users may still use a password — each use audited loudly — so that an
/// identity provider outage does not lock everyone out.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SsoPolicy {
    pub required: bool,
    pub break_glass: Vec<crate::UserId>,
}

/// The most break-glass users one policy may name.
pub const BREAK_GLASS_USERS_MAX: usize = 20;

/// What a policy says of a password session of `user`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PasswordVerdict {
    /// No SSO requirement here.
    Allowed,
    /// SSO is required, but this user is a named break-glass user.
    BreakGlass,
    Refused,
}

impl SsoPolicy {
    pub fn password_verdict(&self, user: crate::UserId) -> PasswordVerdict {
        if !self.required {
            PasswordVerdict::Allowed
        } else if self.break_glass.contains(&user) {
            PasswordVerdict::BreakGlass
        } else {
            PasswordVerdict::Refused
        }
    }
}

/// One provider group mapped to a Rampart user group.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupMapping {
    /// The value in the groups claim.
    pub claim_value: String,
    /// The user group: `group` (account), `org/group` or `org/project/group`.
    pub group: String,
}

/// A reference to something by its place: the scope's slugs and the last segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScopedName {
    pub org: Option<String>,
    pub project: Option<String>,
    pub name: String,
}

impl ScopedName {
    /// Parses `name`, `org/name` or `org/project/name`.
    pub fn parse(text: &str, field: &'static str) -> Result<ScopedName, ValidationError> {
        let parts: Vec<&str> = text.split('/').collect();
        let segment = |part: &str| -> Result<String, ValidationError> {
            crate::Slug::parse(part)
                .map(|slug| slug.as_str().to_owned())
                .map_err(|_| {
                    ValidationError::new(field, format!("{text:?} is not a path of identifiers"))
                })
        };
        match parts.as_slice() {
            [name] => Ok(ScopedName {
                org: None,
                project: None,
                name: segment(name)?,
            }),
            [org, name] => Ok(ScopedName {
                org: Some(segment(org)?),
                project: None,
                name: segment(name)?,
            }),
            [org, project, name] => Ok(ScopedName {
                org: Some(segment(org)?),
                project: Some(segment(project)?),
                name: segment(name)?,
            }),
            _ => Err(ValidationError::new(
                field,
                "must be name, org/name or org/project/name",
            )),
        }
    }
}

fn text_field(field: &'static str, value: &str) -> Result<(), ValidationError> {
    if value.is_empty() {
        return Err(ValidationError::new(field, "must not be empty"));
    }
    if value.len() > FIELD_BYTES_MAX {
        return Err(ValidationError::new(
            field,
            format!("holds at most {FIELD_BYTES_MAX} bytes"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(ValidationError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}

/// Checks an issuer identifier: an `https` URL with a host, without query, fragment or
/// credentials (OpenID Connect Discovery §2). Returned without a trailing slash for
/// joining discovery paths; the ID token's `iss` is compared with the text as written.
pub fn check_issuer(issuer: &str) -> Result<(), ValidationError> {
    text_field("issuer", issuer)?;
    let invalid = |reason: &str| ValidationError::new("issuer", reason.to_owned());
    let rest = issuer
        .strip_prefix("https://")
        .ok_or_else(|| invalid("must be an https:// URL"))?;
    if rest.contains(['?', '#', '@', ' ', '\\']) {
        return Err(invalid(
            "must not contain a query, a fragment, credentials or spaces",
        ));
    }
    let host = rest.split('/').next().unwrap_or_default();
    if host.is_empty() {
        return Err(invalid("must name a host"));
    }
    Ok(())
}

impl OidcConfig {
    /// Checks every field; the error names the first one that is wrong.
    pub fn validate(&self) -> Result<(), ValidationError> {
        check_issuer(&self.issuer)?;
        text_field("client_id", &self.client_id)?;
        ScopedName::parse(&self.client_secret, "client_secret")?;
        if self.client_secret.split('/').count() < 2 {
            return Err(ValidationError::new(
                "client_secret",
                "names a secret of an organisation or project: org/secret or org/project/secret",
            ));
        }
        if !self.scopes.iter().any(|scope| scope == "openid") {
            return Err(ValidationError::new("scopes", "must include openid"));
        }
        for scope in &self.scopes {
            text_field("scopes", scope)?;
            if scope.contains(' ') {
                return Err(ValidationError::new(
                    "scopes",
                    "a scope must not contain spaces",
                ));
            }
        }
        if self.algorithms.is_empty() {
            return Err(ValidationError::new(
                "algorithms",
                "must allow at least one algorithm",
            ));
        }
        if let Some(alg) = self
            .algorithms
            .iter()
            .find(|alg| !KNOWN_ALGORITHMS.contains(&alg.as_str()))
        {
            return Err(ValidationError::new(
                "algorithms",
                format!(
                    "{alg:?} is not allowed: only {} (never none or HMAC)",
                    KNOWN_ALGORITHMS.join(", ")
                ),
            ));
        }
        text_field("email_claim", &self.email_claim)?;
        text_field("name_claim", &self.name_claim)?;
        if let Some(claim) = &self.groups_claim {
            text_field("groups_claim", claim)?;
        }
        if !self.group_mappings.is_empty() && self.groups_claim.is_none() {
            return Err(ValidationError::new(
                "groups_claim",
                "group_mappings need the claim that lists the groups",
            ));
        }
        check_group_mappings(&self.group_mappings)?;
        if self.endpoint_hosts.len() > ENDPOINT_HOSTS_MAX {
            return Err(ValidationError::new(
                "endpoint_hosts",
                format!("at most {ENDPOINT_HOSTS_MAX} hosts"),
            ));
        }
        for host in &self.endpoint_hosts {
            text_field("endpoint_hosts", host)?;
            if host.contains(['/', '?', '#', '@', ' ', '\\']) {
                return Err(ValidationError::new(
                    "endpoint_hosts",
                    format!("{host:?} is not a host or host:port"),
                ));
            }
        }
        if let Some(pem) = &self.ca_certificates_pem
            && (pem.len() > CA_PEM_BYTES_MAX || !pem.contains("-----BEGIN CERTIFICATE-----"))
        {
            return Err(ValidationError::new(
                "ca_certificates_pem",
                format!("must be PEM certificates, at most {CA_PEM_BYTES_MAX} bytes"),
            ));
        }
        Ok(())
    }
}

/// What a login expects of the ID token it receives.
#[derive(Clone, Debug)]
pub struct IdTokenExpectations<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub nonce: &'a str,
    pub now: Timestamp,
    /// For a re-authentication (step-up): when it started. The provider must say when
    /// the person authenticated (`auth_time`, which `max_age` makes required), and that
    /// must be no earlier than this: a remembered sign-in at the provider proves nothing
    /// new.
    pub authenticated_since: Option<Timestamp>,
}

/// The identity an ID token (and the userinfo answer, for missing claims) vouches for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedClaims {
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
    /// `None` when no groups claim is configured (membership is not managed).
    pub groups: Option<Vec<String>>,
    /// When the person authenticated at the provider (`auth_time`), if it says.
    pub authenticated_at: Option<Timestamp>,
}

fn refused(reason: impl Into<String>) -> ValidationError {
    ValidationError::new("id_token", reason)
}

fn number(claims: &Map<String, Value>, name: &str) -> Result<i64, ValidationError> {
    match claims.get(name) {
        Some(Value::Number(number)) => number
            .as_i64()
            .or_else(|| number.as_f64().map(|float| float as i64))
            .ok_or_else(|| refused(format!("{name} is not a time"))),
        _ => Err(refused(format!("{name} is missing"))),
    }
}

/// Checks an ID token's claims (its signature already verified): `iss` exactly the
/// issuer; `aud` the client (alone, or with `azp` naming the client when there are
/// several audiences); `azp`, when present, the client; `exp` not passed and `iat` not
/// in the future (both with [`ID_TOKEN_CLOCK_SKEW_SECS`]) nor older than
/// [`ID_TOKEN_MAX_AGE_SECS`]; `nonce` exactly the login's; `sub` present.
pub fn check_id_token_claims(
    claims: &Map<String, Value>,
    expected: &IdTokenExpectations<'_>,
) -> Result<String, ValidationError> {
    if claims.get("iss").and_then(Value::as_str) != Some(expected.issuer) {
        return Err(refused("the issuer (iss) is not the configured provider's"));
    }
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(one)) => vec![one.as_str()],
        Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !audiences.contains(&expected.client_id) {
        return Err(refused("the audience (aud) is not this client"));
    }
    let azp = claims.get("azp").and_then(Value::as_str);
    if (audiences.len() > 1 && azp.is_none()) || azp.is_some_and(|azp| azp != expected.client_id) {
        return Err(refused("the authorized party (azp) is not this client"));
    }
    // Saturating: a provider's (or a forger's) i64::MAX must not wrap around.
    let now = expected.now.as_second();
    if number(claims, "exp")?.saturating_add(ID_TOKEN_CLOCK_SKEW_SECS) <= now {
        return Err(refused("the token has expired (exp)"));
    }
    let issued = number(claims, "iat")?;
    if issued.saturating_sub(ID_TOKEN_CLOCK_SKEW_SECS) > now {
        return Err(refused("the token was issued in the future (iat)"));
    }
    if issued.saturating_add(ID_TOKEN_MAX_AGE_SECS + ID_TOKEN_CLOCK_SKEW_SECS) < now {
        return Err(refused("the token was issued too long ago (iat)"));
    }
    if claims.get("nonce").and_then(Value::as_str) != Some(expected.nonce) {
        return Err(refused("the nonce is not this login's"));
    }
    if let Some(since) = expected.authenticated_since {
        let authenticated = number(claims, "auth_time")?;
        if authenticated.saturating_add(ID_TOKEN_CLOCK_SKEW_SECS) < since.as_second() {
            return Err(refused(
                "the provider did not authenticate the person again (auth_time is before \
                 the re-authentication started)",
            ));
        }
        if authenticated.saturating_sub(ID_TOKEN_CLOCK_SKEW_SECS) > now {
            return Err(refused(
                "the authentication time is in the future (auth_time)",
            ));
        }
    }
    match claims.get("sub").and_then(Value::as_str) {
        Some(subject)
            if !subject.is_empty()
                && subject.len() <= 255
                && !subject.chars().any(char::is_control) =>
        {
            Ok(subject.to_owned())
        }
        _ => Err(refused("the subject (sub) is missing")),
    }
}

/// Reads the person's attributes from the claims (the ID token's, with the userinfo
/// answer's filling what it lacks), as the provider's configuration names them.
pub fn read_identity(
    subject: String,
    claims: &Map<String, Value>,
    config: &OidcConfig,
) -> VerifiedClaims {
    let text = |name: &str| {
        claims
            .get(name)
            .and_then(Value::as_str)
            .filter(|value| !value.is_empty())
            .map(str::to_owned)
    };
    // `email_verified` is a boolean; some providers send the string "true".
    let email_verified = match claims.get("email_verified") {
        Some(Value::Bool(verified)) => *verified,
        Some(Value::String(text)) => text == "true",
        _ => false,
    };
    // A configured groups claim that is absent means no groups: providers leave the
    // claim out when it would be empty, and leaving membership as it was would keep
    // someone in a group (and its roles) after the provider dropped them.
    let groups = config
        .groups_claim
        .as_deref()
        .map(|name| match claims.get(name) {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            Some(Value::String(one)) => vec![one.clone()],
            _ => Vec::new(),
        });
    VerifiedClaims {
        subject,
        email: text(&config.email_claim),
        email_verified,
        name: text(&config.name_claim),
        groups,
        authenticated_at: claims
            .get("auth_time")
            .and_then(Value::as_i64)
            .and_then(|second| Timestamp::from_second(second).ok()),
    }
}

/// The NameID format of an email address (SAML 1.1's, which SAML 2.0 uses).
pub const NAME_ID_EMAIL: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";
/// The NameID format this service provider asks for: one opaque name per person that
/// stays the same at every sign-in, so a link to a user can be kept.
pub const NAME_ID_PERSISTENT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent";
/// A NameID that changes at every sign-in.
pub const NAME_ID_TRANSIENT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient";

/// What a verified SAML assertion names, as the identity to sign in. The subject linked
/// to a user is the NameID with its format (`<format>|<value>`, an email address in
/// lowercase): a NameID of another format than the configured one is refused (unless
/// the configuration leaves the format to the provider), and so is a transient one, new
/// at each sign-in, which could never be linked. The attributes the configuration names
/// give the email (the NameID when it is an email address and the attribute is absent),
/// the name and the groups.
pub fn read_saml_identity(
    name_id: &str,
    name_id_format: Option<&str>,
    attributes: &std::collections::BTreeMap<String, Vec<String>>,
    authenticated_at: Option<Timestamp>,
    config: &SamlConfig,
) -> Result<VerifiedClaims, ValidationError> {
    let subject = saml_subject(name_id, name_id_format, config)?;
    let format = name_id_format.unwrap_or(NAME_ID_UNSPECIFIED);
    // An email address is one person however it is written.
    let name_id = if format == NAME_ID_EMAIL {
        name_id.to_lowercase()
    } else {
        name_id.to_owned()
    };
    let first = |name: &str| {
        attributes
            .get(name)
            .and_then(|values| values.iter().find(|value| !value.is_empty()))
            .cloned()
    };
    let email = first(&config.email_attribute)
        .or_else(|| (format == NAME_ID_EMAIL).then(|| name_id.clone()));
    Ok(VerifiedClaims {
        subject,
        // SAML has no "verified" flag: the provider's signed word is the vouching (see
        // `SamlConfig::email_attribute`).
        email_verified: email.is_some(),
        email,
        name: first(&config.name_attribute),
        // As for OpenID Connect: a configured attribute that is absent is no groups.
        groups: config.groups_attribute.as_deref().map(|name| {
            attributes
                .get(name)
                .map(|values| {
                    values
                        .iter()
                        .filter(|value| !value.is_empty())
                        .cloned()
                        .collect()
                })
                .unwrap_or_default()
        }),
        authenticated_at,
    })
}

/// The subject a NameID is linked by (`<format>|<value>`, an email address in
/// lowercase), refusing a transient NameID and one of another format than the
/// configured one (unless the configuration leaves the format to the provider). The
/// same at sign-in, re-authentication and the provider's single logout.
pub fn saml_subject(
    name_id: &str,
    name_id_format: Option<&str>,
    config: &SamlConfig,
) -> Result<String, ValidationError> {
    let format = name_id_format.unwrap_or(NAME_ID_UNSPECIFIED);
    if format == NAME_ID_TRANSIENT {
        return Err(ValidationError::new(
            "name_id",
            "the identity provider sent a transient NameID, which names nobody twice: \
             have it send a persistent one (or an email address)",
        ));
    }
    if config.name_id_format != NAME_ID_UNSPECIFIED && format != config.name_id_format {
        return Err(ValidationError::new(
            "name_id",
            format!(
                "the identity provider sent a NameID of format {format}, and this provider \
                 asks for {}",
                config.name_id_format
            ),
        ));
    }
    let value = if format == NAME_ID_EMAIL {
        name_id.to_lowercase()
    } else {
        name_id.to_owned()
    };
    Ok(format!("{format}|{value}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_800_000_000;

    fn expected() -> IdTokenExpectations<'static> {
        IdTokenExpectations {
            issuer: "https://idp.example.com",
            client_id: "rampart",
            nonce: "n-0S6_WzA2Mj",
            now: Timestamp::from_second(NOW).unwrap(),
            authenticated_since: None,
        }
    }

    fn claims(changes: Value) -> Map<String, Value> {
        let mut base = json!({
            "iss": "https://idp.example.com",
            "aud": "rampart",
            "sub": "248289761001",
            "exp": NOW + 300,
            "iat": NOW - 5,
            "nonce": "n-0S6_WzA2Mj",
        });
        let (Value::Object(base_map), Value::Object(changes)) = (&mut base, changes) else {
            unreachable!()
        };
        for (key, value) in changes {
            if value.is_null() {
                base_map.remove(&key);
            } else {
                base_map.insert(key, value);
            }
        }
        base_map.clone()
    }

    #[test]
    fn id_token_claims_table() {
        let skew = ID_TOKEN_CLOCK_SKEW_SECS;
        let cases: Vec<(&str, Value, Option<&str>)> = vec![
            ("valid", json!({}), None),
            (
                "audience array with azp",
                json!({"aud": ["rampart", "other"], "azp": "rampart"}),
                None,
            ),
            ("audience array of one", json!({"aud": ["rampart"]}), None),
            (
                "wrong issuer (mix-up)",
                json!({"iss": "https://evil.example.com"}),
                Some("iss"),
            ),
            (
                "issuer with trailing slash",
                json!({"iss": "https://idp.example.com/"}),
                Some("iss"),
            ),
            ("issuer missing", json!({"iss": null}), Some("iss")),
            (
                "wrong audience",
                json!({"aud": "other-client"}),
                Some("aud"),
            ),
            ("audience missing", json!({"aud": null}), Some("aud")),
            (
                "several audiences, no azp",
                json!({"aud": ["rampart", "other"]}),
                Some("azp"),
            ),
            ("azp another client", json!({"azp": "other"}), Some("azp")),
            (
                "expired beyond skew",
                json!({"exp": NOW - skew}),
                Some("expired"),
            ),
            ("expired within skew", json!({"exp": NOW - skew + 1}), None),
            ("exp missing", json!({"exp": null}), Some("exp")),
            ("exp not a number", json!({"exp": "soon"}), Some("exp")),
            (
                "issued in the future",
                json!({"iat": NOW + skew + 1}),
                Some("future"),
            ),
            ("issued within skew ahead", json!({"iat": NOW + skew}), None),
            (
                "issued too long ago",
                json!({"iat": NOW - ID_TOKEN_MAX_AGE_SECS - skew - 1}),
                Some("too long"),
            ),
            (
                "replayed nonce of another login",
                json!({"nonce": "other"}),
                Some("nonce"),
            ),
            ("nonce missing", json!({"nonce": null}), Some("nonce")),
            ("sub missing", json!({"sub": null}), Some("sub")),
            ("sub empty", json!({"sub": ""}), Some("sub")),
            ("sub with a NUL", json!({"sub": "a\u{0}b"}), Some("sub")),
            ("exp at i64::MAX", json!({"exp": i64::MAX}), None),
            (
                "iat at i64::MIN",
                json!({"iat": i64::MIN}),
                Some("too long"),
            ),
            ("iat at i64::MAX", json!({"iat": i64::MAX}), Some("future")),
        ];
        for (name, changes, wanted) in cases {
            let outcome = check_id_token_claims(&claims(changes), &expected());
            match wanted {
                None => assert_eq!(outcome, Ok("248289761001".to_owned()), "{name}"),
                Some(fragment) => {
                    let error = outcome.expect_err(name);
                    assert_eq!(error.field, "id_token");
                    assert!(error.reason.contains(fragment), "{name}: {}", error.reason);
                }
            }
        }
    }

    #[test]
    fn a_reauthentication_needs_a_fresh_auth_time() {
        let skew = ID_TOKEN_CLOCK_SKEW_SECS;
        let started = NOW - 30;
        let reauthentication = IdTokenExpectations {
            authenticated_since: Some(Timestamp::from_second(started).unwrap()),
            ..expected()
        };
        let cases: Vec<(&str, Value, Option<&str>)> = vec![
            (
                "authenticated after the start",
                json!({"auth_time": NOW - 5}),
                None,
            ),
            (
                "authenticated within skew before",
                json!({"auth_time": started - skew}),
                None,
            ),
            (
                "a remembered sign-in",
                json!({"auth_time": started - skew - 1}),
                Some("again"),
            ),
            ("auth_time missing", json!({}), Some("auth_time is missing")),
            (
                "auth_time not a time",
                json!({"auth_time": "now"}),
                Some("auth_time"),
            ),
            (
                "auth_time in the future",
                json!({"auth_time": NOW + skew + 1}),
                Some("future"),
            ),
            (
                "auth_time at i64::MIN",
                json!({"auth_time": i64::MIN}),
                Some("again"),
            ),
            (
                "auth_time at i64::MAX",
                json!({"auth_time": i64::MAX}),
                Some("future"),
            ),
        ];
        for (name, changes, wanted) in cases {
            let outcome = check_id_token_claims(&claims(changes), &reauthentication);
            match wanted {
                None => assert!(outcome.is_ok(), "{name}: {outcome:?}"),
                Some(fragment) => {
                    let error = outcome.expect_err(name);
                    assert!(error.reason.contains(fragment), "{name}: {}", error.reason);
                }
            }
        }
        // An ordinary login does not ask for auth_time.
        assert!(check_id_token_claims(&claims(json!({})), &expected()).is_ok());
    }

    fn config() -> OidcConfig {
        serde_json::from_value(json!({
            "issuer": "https://idp.example.com",
            "client_id": "rampart",
            "client_secret": "acme/oidc-client",
            "groups_claim": "groups",
            "group_mappings": [{"claim_value": "sre", "group": "acme/payments/oncall"}],
        }))
        .unwrap()
    }

    #[test]
    fn configuration_defaults_and_refusals() {
        let config = config();
        assert_eq!(config.validate(), Ok(()));
        assert_eq!(config.scopes, ["openid", "email", "profile"]);
        assert_eq!(config.algorithms, DEFAULT_ALGORITHMS);
        assert!(!config.create_users);
        let refusals: Vec<(&str, Value)> = vec![
            ("issuer", json!({"issuer": "http://idp.example.com"})),
            ("issuer", json!({"issuer": "https://idp.example.com?x=1"})),
            ("issuer", json!({"issuer": "https://user@idp.example.com"})),
            ("issuer", json!({"issuer": "https:///path"})),
            ("issuer", json!({"issuer": "https://idp\u{0}.example.com"})),
            ("client_id", json!({"client_id": ""})),
            ("client_secret", json!({"client_secret": "just-a-name"})),
            ("client_secret", json!({"client_secret": "a/b/c/d"})),
            ("client_secret", json!({"client_secret": "Acme/x"})),
            ("scopes", json!({"scopes": ["email"]})),
            ("scopes", json!({"scopes": ["openid", "a b"]})),
            ("algorithms", json!({"algorithms": ["none"]})),
            ("algorithms", json!({"algorithms": ["HS256"]})),
            ("algorithms", json!({"algorithms": []})),
            ("groups_claim", json!({"groups_claim": null})),
            (
                "group_mappings",
                json!({"group_mappings": [{"claim_value": "x", "group": "a/b/c/d"}]}),
            ),
            (
                "ca_certificates_pem",
                json!({"ca_certificates_pem": "not pem"}),
            ),
        ];
        for (field, changes) in refusals {
            let mut value = serde_json::to_value(config.clone()).unwrap();
            for (key, change) in changes.as_object().unwrap() {
                value[key] = change.clone();
            }
            let changed: OidcConfig = serde_json::from_value(value).unwrap();
            assert_eq!(
                changed.validate().map_err(|error| error.field),
                Err(field),
                "{changes}"
            );
        }
        let unknown = serde_json::from_value::<OidcConfig>(json!({
            "issuer": "https://idp.example.com", "client_id": "a", "client_secret": "o/s",
            "skip_verification": true,
        }));
        assert!(unknown.is_err(), "unknown fields are refused");
    }

    #[test]
    fn identity_from_claims() {
        let identity = read_identity(
            "sub-1".into(),
            &claims(json!({
                "email": "ana@example.com", "email_verified": true, "name": "Ana",
                "groups": ["sre", "dev"],
            })),
            &config(),
        );
        assert_eq!(identity.email.as_deref(), Some("ana@example.com"));
        assert!(identity.email_verified);
        assert_eq!(identity.groups, Some(vec!["sre".into(), "dev".into()]));
        let unverified = read_identity(
            "sub-1".into(),
            &claims(json!({"email": "ana@example.com", "email_verified": "false"})),
            &config(),
        );
        assert!(!unverified.email_verified);
        assert_eq!(
            unverified.groups,
            Some(Vec::new()),
            "an absent claim is no groups"
        );
        let unmanaged = read_identity(
            "sub-1".into(),
            &claims(json!({"groups": ["sre"]})),
            &OidcConfig {
                groups_claim: None,
                group_mappings: Vec::new(),
                ..config()
            },
        );
        assert_eq!(
            unmanaged.groups, None,
            "no groups claim configured: not managed"
        );
        assert_eq!(
            ScopedName::parse("acme/payments/oncall", "group").unwrap(),
            ScopedName {
                org: Some("acme".into()),
                project: Some("payments".into()),
                name: "oncall".into()
            }
        );
    }

    fn saml_config() -> SamlConfig {
        serde_json::from_value(json!({
            "idp_metadata_xml": "<EntityDescriptor/>",
            "groups_attribute": "groups",
            "group_mappings": [{"claim_value": "sre", "group": "acme/oncall"}],
        }))
        .unwrap()
    }

    #[test]
    fn saml_configuration_defaults_and_refusals() {
        let config = saml_config();
        assert_eq!(config.validate(), Ok(()));
        assert_eq!(config.email_attribute, "email");
        assert_eq!(config.name_attribute, "displayName");
        assert!(!config.allow_idp_initiated, "IdP-initiated is opt-in");
        assert!(!config.create_users);
        let refusals: Vec<(&str, Value)> = vec![
            ("idp_metadata_xml", json!({"idp_metadata_xml": "  "})),
            (
                "idp_metadata_xml",
                json!({"idp_metadata_xml": "x".repeat(SAML_METADATA_BYTES_MAX + 1)}),
            ),
            ("sp_entity_id", json!({"sp_entity_id": "urn:a b"})),
            ("sp_entity_id", json!({"sp_entity_id": ""})),
            (
                "name_id_format",
                json!({"name_id_format": NAME_ID_TRANSIENT}),
            ),
            ("email_attribute", json!({"email_attribute": "a\u{7}"})),
            ("groups_attribute", json!({"groups_attribute": null})),
            (
                "group_mappings",
                json!({"group_mappings": [{"claim_value": "x", "group": "A"}]}),
            ),
        ];
        for (field, changes) in refusals {
            let mut value = serde_json::to_value(config.clone()).unwrap();
            for (key, change) in changes.as_object().unwrap() {
                value[key] = change.clone();
            }
            let changed: SamlConfig = serde_json::from_value(value).unwrap();
            assert_eq!(
                changed.validate().map_err(|error| error.field),
                Err(field),
                "{changes}"
            );
        }
        assert!(
            serde_json::from_value::<SamlConfig>(
                json!({"idp_metadata_xml": "<x/>", "want_signed": false})
            )
            .is_err(),
            "unknown fields are refused"
        );
    }

    #[test]
    fn identity_from_a_saml_assertion() {
        let attributes: std::collections::BTreeMap<String, Vec<String>> = [
            ("email", vec!["", "ana@example.com"]),
            ("displayName", vec!["Ana"]),
            ("groups", vec!["sre", "", "dev"]),
        ]
        .into_iter()
        .map(|(name, values)| {
            (
                name.to_owned(),
                values.into_iter().map(String::from).collect(),
            )
        })
        .collect();
        let identity = read_saml_identity(
            "p-1",
            Some(NAME_ID_PERSISTENT),
            &attributes,
            None,
            &saml_config(),
        )
        .unwrap();
        assert_eq!(identity.subject, format!("{NAME_ID_PERSISTENT}|p-1"));
        assert_eq!(identity.email.as_deref(), Some("ana@example.com"));
        assert!(identity.email_verified);
        assert_eq!(identity.name.as_deref(), Some("Ana"));
        assert_eq!(identity.groups, Some(vec!["sre".into(), "dev".into()]));
        // An email NameID serves when the attribute is absent; other formats do not.
        let none = std::collections::BTreeMap::new();
        let email_config = SamlConfig {
            name_id_format: NAME_ID_EMAIL.into(),
            ..saml_config()
        };
        let by_name_id = read_saml_identity(
            "Bo@Example.com",
            Some(NAME_ID_EMAIL),
            &none,
            None,
            &email_config,
        )
        .unwrap();
        assert_eq!(by_name_id.email.as_deref(), Some("bo@example.com"));
        assert_eq!(
            by_name_id.subject,
            format!("{NAME_ID_EMAIL}|bo@example.com")
        );
        assert_eq!(by_name_id.groups, Some(Vec::new()), "absent is no groups");
        // Another format than the one asked for is refused; left to the provider, any
        // format but transient is taken, and an unnamed one reads as unspecified.
        let other = read_saml_identity(
            "p-1",
            Some(NAME_ID_EMAIL),
            &attributes,
            None,
            &saml_config(),
        );
        assert_eq!(other.map_err(|error| error.field), Err("name_id"));
        let any_config = SamlConfig {
            name_id_format: NAME_ID_UNSPECIFIED.into(),
            ..saml_config()
        };
        let opaque = read_saml_identity("bo@example.com", None, &none, None, &any_config).unwrap();
        assert_eq!(opaque.email, None);
        assert!(!opaque.email_verified);
        assert_eq!(
            opaque.subject,
            format!("{NAME_ID_UNSPECIFIED}|bo@example.com")
        );
        let transient = read_saml_identity(
            "t-9",
            Some(NAME_ID_TRANSIENT),
            &attributes,
            None,
            &saml_config(),
        );
        assert_eq!(transient.map_err(|error| error.field), Err("name_id"));
    }
}
