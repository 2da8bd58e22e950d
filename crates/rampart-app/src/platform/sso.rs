//! Single sign-on through OpenID Connect (authorization code flow with PKCE S256, `state`
//! and `nonce`): the providers an account admin configures, starting a login (a redirect
//! to the provider), and finishing it (the provider's redirect back: the code exchanged,
//! the ID token checked, the user found, linked or created, group membership synced, a
//! session opened).
//!
//! These are the server's only outbound connections (ARCHITECTURE.md): to the issuer's
//! discovery document and the endpoints it names, all `https`, TLS verified against the
//! system's roots or the provider's own CA, redirects never followed, answers size- and
//! time-limited.
//!
//! What makes a forged or replayed callback fail:
//! - `state` is 256 random bits; only its hash is stored, and the callback *takes* (deletes)
//!   the row, so it finishes once. A cookie set when the login started (the "binder")
//!   must come back with the callback: a login started in one browser cannot be finished
//!   in another (login CSRF).
//! - The PKCE verifier and the nonce are derived from the state under the server's pepper:
//!   never stored, never seen by the browser before the provider has the challenge.
//! - The ID token's signature is checked with the provider's published keys under an
//!   allow-list of asymmetric algorithms (`rampart_crypto::jws`), then its claims
//!   (`rampart_domain::platform::sso::check_id_token_claims`).
//! - RFC 9207's `iss` response parameter, when sent (and required when the provider says
//!   it sends it), must be the issuer: a mix-up between providers is refused.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use rampart_crypto::jws::{self, Algorithm, PublicKey};
use rampart_crypto::session::session_id_hash;
use rampart_domain::platform::access::Grantee;
use rampart_domain::platform::identity::User;
use rampart_domain::platform::sso::{
    BREAK_GLASS_USERS_MAX, GroupMapping, IdTokenExpectations, OidcConfig, PROVIDER_KINDS,
    PasswordVerdict, ProviderConfig, SSO_LOGIN_TTL_SECS, ScopedName, SsoPolicy, SsoProvider,
    VerifiedClaims, check_id_token_claims, read_identity,
};
use rampart_domain::platform::tenancy::Scope;
use rampart_domain::{DisplayName, Email, ErrorCode, Permission, Slug, UserId};
use rampart_store::StoreError;
use rampart_store::platform::sso::SsoLogin;
use reqwest::Url;
use serde_json::{Map, Value, json};
use zeroize::Zeroizing;

use super::auth::{LoginOutcome, SESSION_METHOD_PASSWORD};
use crate::audit::{Outcome, anonymous};
use crate::context::RequestMeta;
use crate::context::{Actor, AuthMethod};
use crate::{Access, App, AppError, AppResult, Ctx, authorize, mint};

use crate::tls_roots::SYSTEM_ROOTS;
/// How long one request to the provider may take.
const PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);
/// The most of a provider's answer read (discovery, keys, token, userinfo).
const PROVIDER_ANSWER_BYTES_MAX: usize = 1024 * 1024;
/// The longest local path a login may return to.
const REDIRECT_PATH_BYTES_MAX: usize = 2048;
/// The most of a refusal's message kept in its audit event.
const AUDIT_DETAIL_CHARS_KEPT: usize = 300;
/// The most of a provider's error text repeated to the user.
const PROVIDER_ERROR_CHARS_KEPT: usize = 200;

/// A new provider.
#[derive(Clone, Debug)]
pub struct SsoProviderInput {
    pub name: String,
    pub display_name: String,
    pub config: ProviderConfig,
    pub enabled: bool,
}

/// Changes to a provider.
#[derive(Clone, Debug, Default)]
pub struct SsoProviderPatch {
    pub display_name: Option<String>,
    pub config: Option<ProviderConfig>,
    pub enabled: Option<bool>,
}

/// A started login: where to send the browser, and the binder cookie's value.
pub struct SsoStart {
    pub authorization_url: String,
    pub binder: Zeroizing<String>,
    /// The provider sends the browser back by a cross-site POST (SAML's HTTP-POST
    /// binding), which a `SameSite=Lax` binder cookie would not come back with.
    pub returns_by_post: bool,
}

impl std::fmt::Debug for SsoStart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SsoStart").finish_non_exhaustive()
    }
}

/// What the provider sent back on the redirect (query parameters). Not `Debug`: the
/// code and state are credentials until used.
#[derive(Clone, Default)]
pub struct SsoCallback {
    pub code: Option<String>,
    pub state: Option<String>,
    pub iss: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// A finished login: the session (`None` when the round trip re-authenticated the
/// browser's existing session), and the local path to go to.
#[derive(Debug)]
pub struct SsoFinished {
    pub login: Option<LoginOutcome>,
    pub redirect_to: String,
}

/// The user of a password session; `None` for tokens, SSO sessions and the system (which
/// SSO policies never refuse).
fn password_session_user(actor: &Actor) -> Option<UserId> {
    match actor.principal {
        rampart_domain::platform::identity::PrincipalId::User(user)
            if actor.auth_method == AuthMethod::Session
                && actor.session_method.as_deref() == Some(SESSION_METHOD_PASSWORD) =>
        {
            Some(user)
        }
        _ => None,
    }
}

/// The scope whose policy `scope` sets: the account, or the organisation.
fn policy_scope(scope: Scope) -> Scope {
    match scope {
        Scope::Project(org, _) => Scope::Org(org),
        other => other,
    }
}

/// The session method of a login through `provider`: `oidc:<name>` or `saml:<name>`.
pub fn session_method(provider: &SsoProvider) -> String {
    format!("{}:{}", provider.config.kind(), provider.name)
}

/// The provider a session signed in through, from its method (`None` for a password
/// session): the inverse of [`session_method`].
pub fn session_provider(method: &str) -> Option<&str> {
    let (kind, name) = method.split_once(':')?;
    PROVIDER_KINDS.contains(&kind).then_some(name)
}

/// A provider's OpenID Connect configuration; another kind of provider has no OpenID
/// Connect endpoints (404, as for a provider that does not exist).
pub(crate) fn oidc_config(provider: &SsoProvider) -> AppResult<&OidcConfig> {
    match &provider.config {
        ProviderConfig::Oidc(config) => Ok(config),
        ProviderConfig::Saml(_) => Err(not_found()),
    }
}

/// How long a provider's discovery document (and the HTTP client built for it) is kept:
/// anonymous sign-in starts would otherwise each cost a TLS setup and a fetch.
const DISCOVERY_TTL_SECS: i64 = 300;

/// Providers' HTTP clients and discovery documents, by provider id, with the provider's
/// `updated_at` (a changed configuration is fetched afresh) and when they were fetched.
#[derive(Default)]
pub(crate) struct DiscoveryCache {
    entries: std::sync::Mutex<std::collections::HashMap<uuid::Uuid, CachedConnection>>,
    /// Providers whose discovery just failed: the provider's `updated_at`, when, and the
    /// answer given. While fresh, a sign-in start gets that answer at once instead of
    /// waiting out another timeout against a provider that is down.
    failures:
        std::sync::Mutex<std::collections::HashMap<uuid::Uuid, (Timestamp, Timestamp, String)>>,
}

/// How long a logout waits for the provider's discovery document (when it is not
/// cached) to learn where the browser ends its session there.
const LOGOUT_DISCOVERY_WAIT: Duration = Duration::from_secs(3);

/// How long a failed discovery is answered from memory.
const DISCOVERY_FAILURE_TTL_SECS: i64 = 30;

/// The provider's `updated_at` it was built for, when it was fetched, and what.
type CachedConnection = (Timestamp, Timestamp, std::sync::Arc<Connected>);

/// A provider's client and what its discovery document says.
pub(crate) struct Connected {
    client: reqwest::Client,
    discovery: Discovery,
}

/// The parts of the provider's discovery document the flow uses.
struct Discovery {
    authorization_endpoint: Url,
    token_endpoint: Url,
    jwks_uri: Url,
    userinfo_endpoint: Option<Url>,
    /// RFC 9207: the provider sends `iss` with every authorization response.
    sends_iss: bool,
    /// OpenID Connect RP-Initiated Logout: where a browser ends its session at the
    /// provider.
    end_session_endpoint: Option<Url>,
}

fn not_found() -> AppError {
    AppError::NotFound {
        what: "SSO provider",
    }
}

fn upstream(message: impl Into<String>) -> AppError {
    AppError::Upstream {
        code: ErrorCode::SsoProviderError,
        message: message.into(),
    }
}

pub(crate) fn login_failed(message: impl Into<String>) -> AppError {
    AppError::unauthenticated(ErrorCode::SsoLoginFailed, message)
}

pub(crate) fn state_invalid() -> AppError {
    AppError::bad_request(
        ErrorCode::SsoStateInvalid,
        "this sign-in is unknown, finished already, expired, or was started in another \
         browser; start again",
    )
}

/// A provider's text cut to a safe length, without control characters.
fn provider_text(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control())
        .take(PROVIDER_ERROR_CHARS_KEPT)
        .collect()
}

/// Checks a local path to return to after login: absolute, same origin (not `//host` or
/// `/\host`, which browsers read as another host), no control characters.
pub(crate) fn check_redirect(path: Option<&str>) -> AppResult<String> {
    let Some(path) = path else {
        return Ok("/".into());
    };
    let bad = || {
        AppError::bad_request(
            ErrorCode::InvalidValue,
            "redirect_to must be a path on this server, like /incidents",
        )
    };
    if !path.starts_with('/')
        || path.starts_with("//")
        || path.starts_with("/\\")
        || path.len() > REDIRECT_PATH_BYTES_MAX
        || path.chars().any(|c| c.is_control() || c == '\\')
    {
        return Err(bad());
    }
    Ok(path.to_owned())
}

/// An `https` endpoint named by the discovery document.
/// The (host, port) pairs the server may connect to for a provider: the issuer's, and
/// the configured `endpoint_hosts` (`host` or `host:port`, port 443 by default).
fn allowed_hosts(config: &OidcConfig) -> Vec<(String, u16)> {
    let issuer = Url::parse(&config.issuer).ok();
    issuer
        .iter()
        .filter_map(|url| {
            Some((
                url.host_str()?.to_ascii_lowercase(),
                url.port_or_known_default()?,
            ))
        })
        .chain(config.endpoint_hosts.iter().filter_map(|host| {
            let url = Url::parse(&format!("https://{host}")).ok()?;
            Some((
                url.host_str()?.to_ascii_lowercase(),
                url.port_or_known_default()?,
            ))
        }))
        .collect()
}

/// An `https` endpoint named by the discovery document, on an allowed host (the
/// discovery document alone cannot send the server, or the client secret, elsewhere).
fn endpoint(document: &Value, field: &str, allowed: &[(String, u16)]) -> AppResult<Option<Url>> {
    let Some(text) = document.get(field) else {
        return Ok(None);
    };
    let url = text
        .as_str()
        .and_then(|text| Url::parse(text).ok())
        .filter(|url| url.scheme() == "https" && url.host_str().is_some())
        .ok_or_else(|| upstream(format!("the provider's {field} is not an https URL")))?;
    let place = (
        url.host_str().unwrap_or_default().to_ascii_lowercase(),
        url.port_or_known_default().unwrap_or_default(),
    );
    if !allowed.contains(&place) {
        return Err(upstream(format!(
            "the provider's {field} is on {}:{}, which is neither the issuer's host nor one \
             of the provider's endpoint_hosts",
            place.0, place.1
        )));
    }
    Ok(Some(url))
}

/// A JWK's binary member.
fn jwk_bytes(key: &Value, member: &str) -> Option<Vec<u8>> {
    key.get(member)
        .and_then(Value::as_str)
        .and_then(jws::base64url_decode)
}

/// The public key in a JWK, if it is one `alg` can use (type, curve, `use`, `alg`).
fn jwk_for(key: &Value, alg: Algorithm) -> Option<PublicKey> {
    let member = |name: &str| key.get(name).and_then(Value::as_str);
    if member("kty") != Some(alg.key_type())
        || member("use").is_some_and(|usage| usage != "sig")
        || member("alg").is_some_and(|named| named != alg.name())
    {
        return None;
    }
    match alg.key_type() {
        "RSA" => Some(PublicKey::Rsa {
            n: jwk_bytes(key, "n")?,
            e: jwk_bytes(key, "e")?,
        }),
        "EC" => Some(PublicKey::Ec {
            curve: member("crv")?.to_owned(),
            x: jwk_bytes(key, "x")?,
            y: jwk_bytes(key, "y")?,
        }),
        _ if member("crv") == Some("Ed25519") => Some(PublicKey::Ed25519 {
            x: jwk_bytes(key, "x")?,
        }),
        _ => None,
    }
}

/// Verifies an ID token's signature with one of the provider's keys, under the
/// provider's allowed algorithms; returns its claims (not yet checked).
pub(crate) fn verify_id_token(
    token: &str,
    keys: &Value,
    allowed: &[String],
) -> AppResult<Map<String, Value>> {
    let parts =
        jws::split_compact(token).map_err(|_| login_failed("the ID token is not a signed JWT"))?;
    let header: Map<String, Value> = serde_json::from_slice(&parts.header)
        .map_err(|_| login_failed("the ID token's header is not a JSON object"))?;
    let named = header.get("alg").and_then(Value::as_str).unwrap_or("none");
    let alg = Algorithm::from_name(named)
        .filter(|alg| allowed.iter().any(|allowed| allowed == alg.name()))
        .ok_or_else(|| {
            login_failed(format!(
                "the ID token is signed with {:?}, which this provider is not allowed to use",
                provider_text(named)
            ))
        })?;
    if header.contains_key("crit") {
        return Err(login_failed(
            "the ID token has critical header parameters this server does not understand",
        ));
    }
    let kid = header.get("kid").and_then(Value::as_str);
    let verified = keys
        .get("keys")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|key| kid.is_none() || key.get("kid").and_then(Value::as_str) == kid)
        .filter_map(|key| jwk_for(key, alg))
        .any(|key| {
            jws::verify(alg, &key, parts.signing_input.as_bytes(), &parts.signature).is_ok()
        });
    if !verified {
        return Err(login_failed(
            "the ID token's signature does not verify with the provider's keys",
        ));
    }
    serde_json::from_slice(&parts.payload)
        .map_err(|_| login_failed("the ID token's claims are not a JSON object"))
}

/// The HTTP client for one provider: its CA or the system's roots, TLS 1.2 or 1.3, no
/// redirects, no proxy from the environment, bounded time.
fn provider_client(config: &OidcConfig) -> AppResult<reqwest::Client> {
    let pem = match &config.ca_certificates_pem {
        Some(pem) => pem.clone().into_bytes(),
        None => std::fs::read(SYSTEM_ROOTS).map_err(|error| {
            tracing::error!(%error, file = SYSTEM_ROOTS, "no trusted roots for SSO");
            upstream(format!(
                "this server has no trusted roots at {SYSTEM_ROOTS}; give the provider's \
                 ca_certificates_pem"
            ))
        })?,
    };
    let tls = crate::tls_roots::client_config(&pem, rustls::DEFAULT_VERSIONS)
        .map_err(|problem| upstream(format!("the provider's trusted certificates: {problem}")))?;
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(PROVIDER_TIMEOUT)
        .build()
        .map_err(|error| AppError::Internal(format!("building the SSO client: {error}")))
}

/// Sends a request to the provider and reads its JSON answer (at most
/// [`PROVIDER_ANSWER_BYTES_MAX`]). A transport failure or a 5xx is the provider's
/// problem (502); a 4xx is returned for the caller to judge.
async fn provider_json(
    request: reqwest::RequestBuilder,
    what: &str,
) -> AppResult<(reqwest::StatusCode, Value)> {
    let mut response = request
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|error| {
            // The detail (an address, a TLS alert) goes to the log, not to an anonymous
            // caller: the start route is public.
            tracing::warn!(%error, what, "an SSO provider could not be reached");
            upstream(format!("the provider's {what} could not be reached"))
        })?;
    let status = response.status();
    if status.is_server_error() || status.is_redirection() {
        return Err(upstream(format!("the provider's {what} answered {status}")));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|_| upstream(format!("the provider's {what} answer broke off")))?
    {
        if body.len() + chunk.len() > PROVIDER_ANSWER_BYTES_MAX {
            return Err(upstream(format!(
                "the provider's {what} answer is larger than {PROVIDER_ANSWER_BYTES_MAX} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    let value = serde_json::from_slice(&body)
        .map_err(|_| upstream(format!("the provider's {what} answer is not JSON")))?;
    Ok((status, value))
}

/// Reads the issuer's discovery document and checks it (OpenID Connect Discovery §4.3:
/// its `issuer` is exactly the configured one; PKCE S256 offered).
async fn discover(client: &reqwest::Client, config: &OidcConfig) -> AppResult<Discovery> {
    let url = format!(
        "{}/.well-known/openid-configuration",
        config.issuer.trim_end_matches('/')
    );
    let (status, document) = provider_json(client.get(url), "discovery document").await?;
    if !status.is_success() {
        return Err(upstream(format!(
            "the provider's discovery document answered {status}"
        )));
    }
    if document.get("issuer").and_then(Value::as_str) != Some(config.issuer.as_str()) {
        return Err(upstream(
            "the discovery document names another issuer than the configured one",
        ));
    }
    // PKCE downgrade: a provider that does not say it takes S256 would ignore the
    // challenge, leaving a stolen code usable. Refuse rather than go without.
    let offers_s256 = document
        .get("code_challenge_methods_supported")
        .and_then(Value::as_array)
        .is_some_and(|methods| methods.iter().any(|method| method == "S256"));
    if !offers_s256 {
        return Err(upstream(
            "the provider does not offer PKCE with S256 (code_challenge_methods_supported)",
        ));
    }
    let allowed = allowed_hosts(config);
    let required = |field: &str| -> AppResult<Url> {
        endpoint(&document, field, &allowed)?
            .ok_or_else(|| upstream(format!("the discovery document lacks {field}")))
    };
    Ok(Discovery {
        authorization_endpoint: required("authorization_endpoint")?,
        token_endpoint: required("token_endpoint")?,
        jwks_uri: required("jwks_uri")?,
        userinfo_endpoint: endpoint(&document, "userinfo_endpoint", &allowed)?,
        sends_iss: document
            .get("authorization_response_iss_parameter_supported")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        // Only handed to the browser, never fetched: a value that fails the checks
        // means no logout at the provider, not a provider nobody can sign in with.
        end_session_endpoint: endpoint(&document, "end_session_endpoint", &allowed)
            .unwrap_or_else(|error| {
                tracing::warn!(issuer = %config.issuer, %error, "ignoring the provider's end_session_endpoint");
                None
            }),
    })
}

/// Refuses a login taken for another provider, expired, or finished in another browser
/// than the one that started it (the binder cookie).
pub(crate) fn check_login_binding(
    login: &SsoLogin,
    provider: &SsoProvider,
    binder: Option<&str>,
    now: Timestamp,
) -> AppResult<()> {
    let binder_matches = binder.is_some_and(|binder| {
        rampart_crypto::digest::constant_time_eq(&session_id_hash(binder), &login.binder_hash)
    });
    if login.provider_id != provider.id || login.expires_at < now || !binder_matches {
        return Err(state_invalid());
    }
    Ok(())
}

/// A verified SAML assertion about to be used: a digest of its ID, and until when it
/// must be remembered.
pub(crate) struct UsedAssertion {
    pub id_hash: [u8; 32],
    pub expires_at: Timestamp,
    /// What the session's single logout will name at the provider.
    pub session: rampart_store::platform::sso::SamlSession,
}

/// Records `assertion` as used in the sign-in's own transaction: a replay (or a race
/// of two posts of one response) finds it there and is refused, on every replica.
async fn remember_assertion(
    tx: &mut rampart_store::WriteTx,
    provider: &SsoProvider,
    assertion: Option<&UsedAssertion>,
) -> AppResult<()> {
    let Some(assertion) = assertion else {
        return Ok(());
    };
    if !tx
        .remember_saml_assertion(provider.id, &assertion.id_hash, assertion.expires_at)
        .await?
    {
        return Err(login_failed(
            "this assertion was used already: a SAML response signs in once",
        ));
    }
    Ok(())
}

fn sso_required() -> AppError {
    AppError::forbidden(
        ErrorCode::SsoRequired,
        "this account or organisation signs in through single sign-on: sign in with your \
         identity provider (GET /api/v1/auth/sso lists the ways)",
    )
}

impl App {
    /// The provider's client and discovery document, from the cache when fresh.
    async fn connect(&self, provider: &SsoProvider) -> AppResult<std::sync::Arc<Connected>> {
        let now = self.now();
        let cache = &self.inner.sso_discovery;
        if let Ok(entries) = cache.entries.lock()
            && let Some((version, fetched, connected)) = entries.get(&provider.id)
            && *version == provider.updated_at
            && now.as_second() - fetched.as_second() < DISCOVERY_TTL_SECS
        {
            return Ok(connected.clone());
        }
        if let Ok(failures) = cache.failures.lock()
            && let Some((version, failed, message)) = failures.get(&provider.id)
            && *version == provider.updated_at
            && (0..DISCOVERY_FAILURE_TTL_SECS).contains(&(now.as_second() - failed.as_second()))
        {
            return Err(upstream(message.clone()));
        }
        let config = oidc_config(provider)?;
        let client = provider_client(config)?;
        let discovery = match discover(&client, config).await {
            Ok(discovery) => discovery,
            Err(error) => {
                if let (AppError::Upstream { message, .. }, Ok(mut failures)) =
                    (&error, cache.failures.lock())
                {
                    failures.retain(|_, (_, failed, _)| {
                        now.as_second() - failed.as_second() < DISCOVERY_FAILURE_TTL_SECS
                    });
                    failures.insert(provider.id, (provider.updated_at, now, message.clone()));
                }
                return Err(error);
            }
        };
        let connected = std::sync::Arc::new(Connected { client, discovery });
        if let Ok(mut entries) = cache.entries.lock() {
            // Expired entries go as new ones come: the map holds one per live provider.
            entries.retain(|_, (_, fetched, _)| {
                now.as_second() - fetched.as_second() < DISCOVERY_TTL_SECS
            });
            entries.insert(provider.id, (provider.updated_at, now, connected.clone()));
        }
        Ok(connected)
    }

    /// Refuses a password session where an SSO policy applies (the account's, or the
    /// organisation `scope` is in), unless its user is a named break-glass user there.
    /// Tokens and SSO sessions pass. Audits the refusal.
    pub async fn check_sso_policies(
        &self,
        actor: &Actor,
        meta: &RequestMeta,
        scope: Scope,
    ) -> AppResult<()> {
        let Some(user) = password_session_user(actor) else {
            return Ok(());
        };
        let policies = self.store().sso_policies_for(scope).await?;
        let mut break_glass_in_org = false;
        for (policy_scope, policy) in &policies {
            let verdict = policy.password_verdict(user);
            break_glass_in_org |=
                verdict == PasswordVerdict::BreakGlass && policy_scope != "account";
            if verdict == PasswordVerdict::Refused {
                let record = anonymous(self.now(), meta, "access.denied", "sso_policy", "any")
                    .scope(scope)
                    .outcome(Outcome::Denied)
                    .details(json!({
                        "reason": "sso_required",
                        "user": user.to_string(),
                        "policy": if policy_scope == "account" { "account" } else { "organization" },
                    }))
                    .build();
                if let Err(error) = self.store().append_audit(&record).await {
                    tracing::error!(%error, "could not record an SSO policy refusal");
                }
                return Err(sso_required());
            }
        }
        if break_glass_in_org {
            // Loud on purpose, at every use: a break-glass password session acting
            // inside an organisation that requires single sign-on. (The account's
            // break-glass is recorded once, at the login it let through.)
            tracing::warn!(%user, "break-glass password session used inside an organisation that requires SSO");
            let record = Ctx::new(actor.clone(), meta.clone(), std::sync::Arc::default())
                .audit(self.now(), "auth.break_glass", "sso_policy")
                .scope(scope)
                .details(json!({ "policy": "organization" }))
                .build();
            if let Err(error) = self.store().append_audit(&record).await {
                tracing::error!(%error, "could not record a break-glass use");
            }
        }
        Ok(())
    }

    /// Whether the SSO policies over `scope` let this actor in (a password session of a
    /// user they require single sign-on of is refused), recording nothing.
    pub(crate) async fn sso_policies_allow(&self, actor: &Actor, scope: Scope) -> AppResult<bool> {
        let Some(user) = password_session_user(actor) else {
            return Ok(true);
        };
        Ok(self
            .store()
            .sso_policies_for(scope)
            .await?
            .iter()
            .all(|(_, policy)| policy.password_verdict(user) != PasswordVerdict::Refused))
    }

    /// Whether the account's SSO policy lets `user` sign in with a password: refused
    /// (`sso_required`), or allowed — `true` when only as a break-glass user.
    pub(crate) async fn password_login_allowed(&self, user: UserId) -> AppResult<bool> {
        match self
            .store()
            .sso_policy(Scope::Account)
            .await?
            .password_verdict(user)
        {
            PasswordVerdict::Allowed => Ok(false),
            PasswordVerdict::BreakGlass => Ok(true),
            PasswordVerdict::Refused => Err(sso_required()),
        }
    }

    /// The SSO policy `scope` sets itself (the account's, or an organisation's).
    pub async fn sso_policy(&self, scope: Scope) -> AppResult<SsoPolicy> {
        Ok(self.store().sso_policy(policy_scope(scope)).await?)
    }

    /// Replaces the SSO policy of the account or an organisation. `break_glass` names
    /// users by id or email. Requiring SSO needs an enabled provider, and is refused when
    /// it would end the caller's own password session (name yourself, or sign in through
    /// SSO first).
    pub async fn set_sso_policy(
        &self,
        ctx: &Ctx,
        scope: Scope,
        required: bool,
        break_glass: &[String],
    ) -> AppResult<SsoPolicy> {
        let scope = policy_scope(scope);
        if break_glass.len() > BREAK_GLASS_USERS_MAX {
            return Err(AppError::bad_request(
                ErrorCode::InvalidValue,
                format!("at most {BREAK_GLASS_USERS_MAX} break-glass users"),
            ));
        }
        let mut users = Vec::new();
        for named in break_glass {
            let unknown = || {
                AppError::bad_request(
                    ErrorCode::UnknownPrincipal,
                    format!("break_glass_users: no user {named}"),
                )
            };
            let user = match (named.parse::<UserId>(), Email::parse(named)) {
                (Ok(id), _) => self.store().user_by_id(id).await?,
                (_, Ok(email)) => self
                    .store()
                    .user_credentials_by_email(&email)
                    .await?
                    .map(|found| found.user),
                _ => None,
            }
            .ok_or_else(unknown)?;
            if !users.contains(&user.id) {
                users.push(user.id);
            }
        }
        let policy = SsoPolicy {
            required,
            break_glass: users,
        };
        if required {
            if self.sso_login_options().await?.is_empty() {
                return Err(AppError::conflict(
                    ErrorCode::NoSsoProvider,
                    "add and enable an SSO provider before requiring single sign-on",
                ));
            }
            if password_session_user(&ctx.actor)
                .is_some_and(|user| policy.password_verdict(user) == PasswordVerdict::Refused)
            {
                return Err(AppError::conflict(
                    ErrorCode::SsoPolicyExcludesYou,
                    "this policy would end your own password session: sign in through SSO \
                     first, or name yourself a break-glass user",
                ));
            }
        }
        let now = self.now();
        let mut tx = self.store().write().await?;
        tx.set_sso_policy(scope, &policy, now).await?;
        // The account's policy refuses password sessions everywhere: those it now
        // refuses end at once (an organisation's refuses them only inside it, so they
        // stay usable elsewhere).
        let sessions_ended = if required && scope == Scope::Account {
            tx.revoke_password_sessions_except(&policy.break_glass, now)
                .await?
        } else {
            0
        };
        tx.commit(
            ctx.audit(now, "sso_policy.update", "sso_policy")
                .scope(scope)
                .details(json!({
                    "required": policy.required,
                    "break_glass_users": policy.break_glass.iter().map(ToString::to_string).collect::<Vec<_>>(),
                    "password_sessions_ended": sessions_ended,
                }))
                .build(),
        )
        .await?;
        Ok(policy)
    }

    /// The URL the provider sends the browser back to (registered at the provider).
    pub fn sso_redirect_uri(&self, provider: &Slug) -> AppResult<String> {
        Ok(format!("{}/callback", self.sso_base_url(provider)?))
    }

    /// `<public URL>/api/v1/auth/sso/<provider>`, under which the provider's browser
    /// endpoints are (the redirect URI, SAML's assertion consumer service and metadata).
    pub(crate) fn sso_base_url(&self, provider: &Slug) -> AppResult<String> {
        let base = self.public_url().ok_or_else(|| AppError::Misconfigured {
            code: ErrorCode::PublicUrlUnknown,
            message: "this server listens on every address and does not know the URL users \
                      reach it at: set server.public_url"
                .into(),
        })?;
        Ok(format!("{base}/api/v1/auth/sso/{provider}"))
    }

    /// A derived per-login value (PKCE verifier, nonce, SAML request ID): 256 bits
    /// under the pepper.
    pub(crate) fn sso_derived(&self, purpose: &str, state: &str) -> String {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(self.pepper().blind_index(purpose, state.as_bytes()))
    }

    /// Checks what a configuration refers to: an OpenID Connect client secret exists
    /// where named and the actor may use it; SAML metadata reads (with a signing
    /// certificate); each mapped group exists, and the actor could grant its rights
    /// (mapping a group hands them to whoever the provider says).
    async fn check_sso_references(&self, ctx: &Ctx, config: &ProviderConfig) -> AppResult<()> {
        match config {
            ProviderConfig::Oidc(config) => self.check_oidc_references(ctx, config).await?,
            ProviderConfig::Saml(config) => {
                super::sso_saml::idp_metadata(config).map_err(|problem| {
                    AppError::Invalid(rampart_domain::ValidationError::new(
                        "idp_metadata_xml",
                        problem,
                    ))
                })?;
            }
        }
        self.check_group_mappings(ctx, config.group_mappings())
            .await
    }

    async fn check_group_mappings(&self, ctx: &Ctx, mappings: &[GroupMapping]) -> AppResult<()> {
        for mapping in mappings {
            let group = self.mapped_group(&mapping.group).await?.ok_or_else(|| {
                AppError::bad_request(
                    ErrorCode::InvalidValue,
                    format!("group_mappings: no group {} exists", mapping.group),
                )
            })?;
            self.check_can_act_for(ctx, Grantee::Group(group.0)).await?;
        }
        Ok(())
    }

    async fn check_oidc_references(&self, ctx: &Ctx, config: &OidcConfig) -> AppResult<()> {
        if let Some(pem) = &config.ca_certificates_pem {
            crate::tls_roots::client_config(pem.as_bytes(), rustls::DEFAULT_VERSIONS).map_err(
                |problem| {
                    AppError::Invalid(rampart_domain::ValidationError::new(
                        "ca_certificates_pem",
                        problem,
                    ))
                },
            )?;
        }
        let secret = ScopedName::parse(&config.client_secret, "client_secret")?;
        let scope = self
            .resolve_scope(secret.org.as_deref(), secret.project.as_deref())
            .await?
            .scope();
        authorize(
            &ctx.actor,
            &ctx.access,
            Access::Permission(Permission::SecretAccess),
            scope,
        )?;
        let slug = Slug::parse(&secret.name)?;
        if self
            .store()
            .secret_by_identifier(scope, &slug)
            .await?
            .is_none()
        {
            return Err(AppError::bad_request(
                ErrorCode::InvalidValue,
                format!("client_secret: no secret {} exists", config.client_secret),
            ));
        }
        Ok(())
    }

    /// The id and scope of the group a mapping names, if it exists.
    async fn mapped_group(&self, reference: &str) -> AppResult<Option<(uuid::Uuid, Scope)>> {
        let name = ScopedName::parse(reference, "group_mappings")?;
        let scope = match self
            .resolve_scope(name.org.as_deref(), name.project.as_deref())
            .await
        {
            Ok(scope) => scope.scope(),
            Err(AppError::NotFound { .. }) => return Ok(None),
            Err(other) => return Err(other),
        };
        Ok(self
            .store()
            .user_group_by_identifier(scope, &name.name)
            .await?
            .map(|group| (group.id, scope)))
    }

    fn provider_audit_details(provider: &SsoProvider) -> Value {
        let mut details = json!({
            "name": provider.name.as_str(),
            "kind": provider.config.kind(),
            "enabled": provider.enabled,
            "create_users": provider.config.create_users(),
            "group_mappings": provider.config.group_mappings().iter()
                .map(|mapping| json!({"claim_value": mapping.claim_value, "group": mapping.group}))
                .collect::<Vec<_>>(),
        });
        let specific = match &provider.config {
            ProviderConfig::Oidc(config) => json!({
                "issuer": config.issuer,
                "client_id": config.client_id,
                "client_secret": config.client_secret,
                "groups_claim": config.groups_claim,
            }),
            ProviderConfig::Saml(config) => json!({
                // What the metadata says (an audit reader compares these), not its text.
                "idp": super::sso_saml::saml_identity_provider(config).map(|idp| json!({
                    "entity_id": idp.entity_id,
                    "sso_url": idp.sso_url,
                    "signing_certificates_sha256": idp.certificates_sha256,
                })),
                "sp_entity_id": config.sp_entity_id,
                "groups_attribute": config.groups_attribute,
                "link_by_email": config.link_by_email,
                "allow_idp_initiated": config.allow_idp_initiated,
            }),
        };
        if let (Value::Object(details), Value::Object(specific)) = (&mut details, specific) {
            details.extend(specific);
        }
        details
    }

    pub async fn create_sso_provider(
        &self,
        ctx: &Ctx,
        input: SsoProviderInput,
    ) -> AppResult<SsoProvider> {
        let name = Slug::parse(&input.name)?;
        let display_name = DisplayName::parse(&input.display_name)?;
        input.config.validate()?;
        self.check_sso_references(ctx, &input.config).await?;
        self.check_unique_sp_entity_id(&name, &input.config).await?;
        let now = self.now();
        let provider = SsoProvider {
            id: super::access::mint_uuid(now)?,
            name,
            display_name,
            config: input.config,
            enabled: input.enabled,
            created_at: now,
            updated_at: now,
        };
        let mut tx = self.store().write().await?;
        tx.insert_sso_provider(&provider)
            .await
            .map_err(|error| match error {
                StoreError::Conflict { .. } => AppError::conflict(
                    ErrorCode::IdentifierTaken,
                    "an SSO provider with this name already exists",
                ),
                other => other.into(),
            })?;
        tx.commit(
            ctx.audit(now, "sso_provider.create", "sso_provider")
                .scope(Scope::Account)
                .resource_id(provider.id)
                .details(Self::provider_audit_details(&provider))
                .build(),
        )
        .await?;
        Ok(provider)
    }

    pub async fn list_sso_providers(&self) -> AppResult<Vec<SsoProvider>> {
        Ok(self.store().list_sso_providers().await?)
    }

    pub async fn sso_provider(&self, name: &str) -> AppResult<SsoProvider> {
        let slug = Slug::parse(name).map_err(|_| not_found())?;
        self.store()
            .sso_provider_by_name(&slug)
            .await?
            .ok_or_else(not_found)
    }

    pub async fn update_sso_provider(
        &self,
        ctx: &Ctx,
        name: &str,
        patch: SsoProviderPatch,
    ) -> AppResult<SsoProvider> {
        let before = self.sso_provider(name).await?;
        let mut provider = before.clone();
        if let Some(display_name) = &patch.display_name {
            provider.display_name = DisplayName::parse(display_name)?;
        }
        if let Some(config) = patch.config {
            if config.kind() != before.config.kind() {
                return Err(AppError::bad_request(
                    ErrorCode::InvalidValue,
                    format!(
                        "this provider is of kind {}: its kind stays (add another provider \
                         for {})",
                        before.config.kind(),
                        config.kind()
                    ),
                ));
            }
            config.validate()?;
            self.check_sso_references(ctx, &config).await?;
            self.check_unique_sp_entity_id(&provider.name, &config)
                .await?;
            provider.config = config;
        }
        if let Some(enabled) = patch.enabled {
            provider.enabled = enabled;
        }
        if before.enabled && !provider.enabled {
            self.check_not_last_provider(&before).await?;
        }
        let now = self.now();
        provider.updated_at = now;
        let mut tx = self.store().write().await?;
        tx.update_sso_provider(&provider).await?;
        tx.commit(
            ctx.audit(now, "sso_provider.update", "sso_provider")
                .scope(Scope::Account)
                .resource_id(provider.id)
                .details(json!({
                    "before": Self::provider_audit_details(&before),
                    "after": Self::provider_audit_details(&provider),
                }))
                .build(),
        )
        .await?;
        Ok(provider)
    }

    /// Deletes a provider, its logins in flight and its links to users (the users stay).
    pub async fn delete_sso_provider(&self, ctx: &Ctx, name: &str) -> AppResult<()> {
        let provider = self.sso_provider(name).await?;
        if provider.enabled {
            self.check_not_last_provider(&provider).await?;
        }
        self.forget_connection(provider.id);
        let now = self.now();
        let mut tx = self.store().write().await?;
        tx.delete_sso_provider(provider.id).await?;
        tx.commit(
            ctx.audit(now, "sso_provider.delete", "sso_provider")
                .scope(Scope::Account)
                .resource_id(provider.id)
                .details(json!({ "name": provider.name.as_str() }))
                .build(),
        )
        .await?;
        Ok(())
    }

    /// Refuses to disable or delete the last enabled provider while a policy requires
    /// single sign-on: nobody but break-glass users could sign in.
    async fn check_not_last_provider(&self, provider: &SsoProvider) -> AppResult<()> {
        let others = self
            .sso_login_options()
            .await?
            .iter()
            .any(|other| other.id != provider.id);
        if !others && self.store().sso_policies_required().await? {
            return Err(AppError::conflict(
                ErrorCode::NoSsoProvider,
                "single sign-on is required and this is the last enabled provider: turn \
                 the requirement off first",
            ));
        }
        Ok(())
    }

    /// Drops a provider's cached client and discovery document.
    fn forget_connection(&self, id: uuid::Uuid) {
        if let Ok(mut entries) = self.inner.sso_discovery.entries.lock() {
            entries.remove(&id);
        }
        if let Ok(mut failures) = self.inner.sso_discovery.failures.lock() {
            failures.remove(&id);
        }
    }

    /// Where the browser of a session signed in through single sign-on ends its
    /// session at the provider too (OpenID Connect RP-Initiated Logout 1.0: the
    /// provider's `end_session_endpoint` with our `client_id`; the provider asks the
    /// person to confirm). `None` for other sessions, providers without the endpoint,
    /// and a provider that cannot be reached (the local logout stands regardless).
    pub async fn provider_logout_url(&self, actor: &Actor) -> Option<String> {
        let name = session_provider(actor.session_method.as_deref()?)?;
        let provider = self.enabled_provider(name).await.ok()?;
        if matches!(provider.config, ProviderConfig::Saml(_)) {
            return self.saml_logout_url(&provider, actor.session_id?).await;
        }
        let config = oidc_config(&provider).ok()?;
        // Bounded: a provider that is down must not hold up the local logout.
        let connected = match tokio::time::timeout(LOGOUT_DISCOVERY_WAIT, self.connect(&provider))
            .await
        {
            Ok(Ok(connected)) => connected,
            Ok(Err(error)) => {
                tracing::warn!(provider = %provider.name, %error, "could not reach the SSO provider for its logout URL");
                return None;
            }
            Err(_) => {
                tracing::warn!(provider = %provider.name, "the SSO provider was too slow to give its logout URL");
                return None;
            }
        };
        let mut url = connected.discovery.end_session_endpoint.clone()?;
        url.query_pairs_mut()
            .append_pair("client_id", &config.client_id);
        Some(url.into())
    }

    /// Refuses an API token to a password session that an organisation's SSO policy
    /// refuses: the token would carry that session's rights past the policy.
    pub async fn check_token_creation(&self, actor: &Actor) -> AppResult<()> {
        let Some(user) = password_session_user(actor) else {
            return Ok(());
        };
        if self
            .store()
            .all_required_sso_policies()
            .await?
            .iter()
            .any(|policy| policy.password_verdict(user) == PasswordVerdict::Refused)
        {
            return Err(AppError::forbidden(
                ErrorCode::SsoRequired,
                "an organisation requires single sign-on: sign in through SSO to create tokens",
            ));
        }
        Ok(())
    }

    /// The enabled providers, for a login page (anyone may ask).
    pub async fn sso_login_options(&self) -> AppResult<Vec<SsoProvider>> {
        let mut providers = self.store().list_sso_providers().await?;
        providers.retain(|provider| provider.enabled);
        Ok(providers)
    }

    pub(crate) async fn enabled_provider(&self, name: &str) -> AppResult<SsoProvider> {
        let provider = self.sso_provider(name).await?;
        if !provider.enabled {
            return Err(not_found());
        }
        Ok(provider)
    }

    /// Starts a login through `name`: records it and answers where to send the browser
    /// (the provider's authorization endpoint with the PKCE challenge, state and nonce)
    /// and the binder cookie that must come back with the callback.
    ///
    /// With `reauthenticate` (the browser's own session, signed in through this
    /// provider), the round trip renews that session's sign-in for step-up instead of
    /// opening a session: the provider is asked to authenticate the person again
    /// (`prompt=login`, `max_age=0`) and the callback checks that it did (`auth_time`).
    pub async fn start_sso_login(
        &self,
        name: &str,
        redirect_to: Option<&str>,
        reauthenticate: Option<&Actor>,
        meta: &RequestMeta,
    ) -> AppResult<SsoStart> {
        self.check_auth_failures(meta)?;
        self.check_ip_allowlists(meta, Scope::Account).await?;
        let redirect_to = check_redirect(redirect_to)?;
        let provider = self.enabled_provider(name).await?;
        let reauthenticates = match reauthenticate {
            None => None,
            Some(actor) => {
                let method = session_method(&provider);
                if actor.session_method.as_deref() != Some(method.as_str()) {
                    let how = match actor.session_method.as_deref() {
                        Some(SESSION_METHOD_PASSWORD) => {
                            "with its password (POST /api/v1/auth/reauthenticate)".to_owned()
                        }
                        Some(other) => format!(
                            "at the provider it signed in through ({})",
                            session_provider(other).unwrap_or(other)
                        ),
                        None => "(it is not a session)".to_owned(),
                    };
                    return Err(AppError::bad_request(
                        ErrorCode::ReauthenticationMethodMismatch,
                        format!(
                            "this session did not sign in through {}: it re-authenticates {how}",
                            provider.name
                        ),
                    ));
                }
                Some(actor.session_id.ok_or_else(|| {
                    AppError::bad_request(
                        ErrorCode::NotASession,
                        "re-authentication renews a session's sign-in",
                    )
                })?)
            }
        };
        let state = rampart_crypto::session::mint_session_id()?;
        let binder = rampart_crypto::session::mint_session_id()?;
        let now = self.now();
        let authorization_url = match &provider.config {
            ProviderConfig::Oidc(config) => {
                self.oidc_authorization_url(&provider, config, &state, reauthenticates.is_some())
                    .await?
            }
            ProviderConfig::Saml(config) => self.saml_authorization_url(
                &provider,
                config,
                &state,
                reauthenticates.is_some(),
                now,
            )?,
        };
        let login = SsoLogin {
            provider_id: provider.id,
            binder_hash: session_id_hash(&binder).to_vec(),
            redirect_to,
            created_at: now,
            expires_at: now
                .checked_add(SignedDuration::from_secs(SSO_LOGIN_TTL_SECS))
                .unwrap_or(Timestamp::MAX),
            reauthenticates,
        };
        self.store()
            .insert_sso_login(&session_id_hash(&state), &login, now)
            .await?;
        Ok(SsoStart {
            authorization_url,
            binder,
            returns_by_post: matches!(provider.config, ProviderConfig::Saml(_)),
        })
    }

    /// The provider's authorization endpoint with the PKCE challenge, state and nonce.
    async fn oidc_authorization_url(
        &self,
        provider: &SsoProvider,
        config: &OidcConfig,
        state: &str,
        reauthenticate: bool,
    ) -> AppResult<String> {
        let connected = self.connect(provider).await?;
        let verifier = self.sso_derived("sso-pkce-verifier", state);
        let nonce = self.sso_derived("sso-nonce", state);
        let mut url = connected.discovery.authorization_endpoint.clone();
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &config.client_id)
            .append_pair("redirect_uri", &self.sso_redirect_uri(&provider.name)?)
            .append_pair("scope", &config.scopes.join(" "))
            .append_pair("state", state)
            .append_pair("nonce", &nonce)
            .append_pair("code_challenge", &jws::pkce_s256_challenge(&verifier))
            .append_pair("code_challenge_method", "S256");
        if reauthenticate {
            // OpenID Connect Core §3.1.2.1: authenticate again, and say when (auth_time).
            url.query_pairs_mut()
                .append_pair("prompt", "login")
                .append_pair("max_age", "0");
        }
        Ok(url.into())
    }

    /// Finishes a login through `name` from the provider's redirect. Every refusal is
    /// audited (`auth.failure`, method `oidc:<name>`) and counted against the client
    /// address like a wrong password.
    pub async fn finish_sso_login(
        &self,
        name: &str,
        callback: SsoCallback,
        binder: Option<&str>,
        meta: &RequestMeta,
    ) -> AppResult<SsoFinished> {
        self.check_auth_failures(meta)?;
        let outcome = self.finish_sso(name, callback, binder, meta).await;
        self.account_sso_outcome("oidc", name, outcome, meta).await
    }

    /// Audits a refused sign-in round trip (`auth.failure`, method `<kind>:<name>`) and
    /// counts it against the client address like a wrong password when the person (or
    /// an attacker) got something wrong.
    pub(crate) async fn account_sso_outcome(
        &self,
        kind: &str,
        name: &str,
        outcome: AppResult<SsoFinished>,
        meta: &RequestMeta,
    ) -> AppResult<SsoFinished> {
        let method = match Slug::parse(name) {
            Ok(slug) => format!("{kind}:{slug}"),
            Err(_) => kind.to_owned(),
        };
        match outcome {
            Ok(finished) => Ok(finished),
            Err(error) => {
                let details = match &error {
                    // Which check refused, for the operator reading the log (the
                    // messages are this server's, with a provider's text bounded).
                    AppError::BadRequest { code, message }
                    | AppError::Unauthenticated { code, message }
                    | AppError::Forbidden { code, message }
                    | AppError::Conflict { code, message }
                    | AppError::Misconfigured { code, message }
                    | AppError::Upstream { code, message } => json!({
                        "reason": code.as_str(),
                        "detail": message.chars().take(AUDIT_DETAIL_CHARS_KEPT).collect::<String>(),
                    }),
                    AppError::NotFound { .. } => json!({ "reason": "unknown_provider" }),
                    _ => json!({ "reason": "error" }),
                };
                // Only what the person (or an attacker) got wrong counts against the
                // address; a provider's outage or this server's own trouble does not,
                // or an office behind one address would lock itself out.
                let counted = matches!(
                    &error,
                    AppError::BadRequest { .. }
                        | AppError::Unauthenticated { .. }
                        | AppError::Forbidden { .. }
                        | AppError::NotFound { .. }
                );
                if counted {
                    self.charge_auth_failure(meta);
                }
                self.audit_auth_failure_details(meta, &method, details)
                    .await;
                Err(error)
            }
        }
    }

    async fn finish_sso(
        &self,
        name: &str,
        callback: SsoCallback,
        binder: Option<&str>,
        meta: &RequestMeta,
    ) -> AppResult<SsoFinished> {
        self.check_ip_allowlists(meta, Scope::Account).await?;
        let provider = self.enabled_provider(name).await?;
        let state = callback.state.as_deref().ok_or_else(state_invalid)?;
        let login = self
            .take_sso_login(&provider, state, meta)
            .await?
            .ok_or_else(state_invalid)?;
        check_login_binding(&login, &provider, binder, self.now())?;
        if let Some(error) = &callback.error {
            let description = callback
                .error_description
                .as_deref()
                .map(|text| format!(": {}", provider_text(text)))
                .unwrap_or_default();
            return Err(login_failed(format!(
                "the provider refused the sign-in ({}){description}",
                provider_text(error)
            )));
        }
        let config = oidc_config(&provider)?;
        let connected = self.connect(&provider).await?;
        let (client, discovery) = (&connected.client, &connected.discovery);
        match &callback.iss {
            Some(iss) if iss != &config.issuer => {
                return Err(login_failed(
                    "the authorization response comes from another issuer (iss): a mix-up",
                ));
            }
            None if discovery.sends_iss => {
                return Err(login_failed(
                    "the authorization response lacks the iss parameter the provider sends",
                ));
            }
            _ => {}
        }
        let code = callback
            .code
            .as_deref()
            .filter(|code| !code.is_empty())
            .ok_or_else(|| login_failed("the provider sent no authorization code"))?;

        let client_secret = self.sso_client_secret(config).await?;
        let verifier = self.sso_derived("sso-pkce-verifier", state);
        let redirect_uri = self.sso_redirect_uri(&provider.name)?;
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri.as_str()),
            ("code_verifier", verifier.as_str()),
        ];
        // client_secret_basic (RFC 6749 §2.3.1): both parts form-urlencoded first.
        let encode = |text: &str| -> String {
            url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
        };
        let request = client
            .post(discovery.token_endpoint.clone())
            .basic_auth(encode(&config.client_id), Some(encode(&client_secret)))
            .form(&form);
        let (status, tokens) = provider_json(request, "token endpoint").await?;
        if !status.is_success() {
            let error = tokens
                .get("error")
                .and_then(Value::as_str)
                .map(provider_text)
                .unwrap_or_else(|| status.to_string());
            return Err(login_failed(format!(
                "the provider refused to exchange the code ({error})"
            )));
        }
        let id_token = tokens
            .get("id_token")
            .and_then(Value::as_str)
            .ok_or_else(|| login_failed("the provider's token answer has no ID token"))?;
        let (status, keys) = provider_json(client.get(discovery.jwks_uri.clone()), "keys").await?;
        if !status.is_success() {
            return Err(upstream(format!("the provider's keys answered {status}")));
        }
        let mut claims = verify_id_token(id_token, &keys, &config.algorithms)?;
        let nonce = self.sso_derived("sso-nonce", state);
        let subject = check_id_token_claims(
            &claims,
            &IdTokenExpectations {
                issuer: &config.issuer,
                client_id: &config.client_id,
                nonce: &nonce,
                now: self.now(),
                authenticated_since: login.reauthenticates.map(|_| login.created_at),
            },
        )
        .map_err(|refusal| login_failed(refusal.reason))?;

        // Claims a provider keeps for userinfo (OpenID Connect Core §5.4).
        let lacks_groups = config
            .groups_claim
            .as_ref()
            .is_some_and(|claim| !claims.contains_key(claim));
        if (!claims.contains_key(&config.email_claim) || lacks_groups)
            && let (Some(userinfo), Some(access_token)) = (
                discovery.userinfo_endpoint.clone(),
                tokens.get("access_token").and_then(Value::as_str),
            )
        {
            let (status, info) =
                provider_json(client.get(userinfo).bearer_auth(access_token), "userinfo").await?;
            if !status.is_success() {
                return Err(upstream(format!(
                    "the provider's userinfo answered {status}"
                )));
            }
            if info.get("sub").and_then(Value::as_str) != Some(subject.as_str()) {
                return Err(login_failed(
                    "the provider's userinfo is about another subject than the ID token",
                ));
            }
            if let Value::Object(info) = info {
                for (key, value) in info {
                    claims.entry(key).or_insert(value);
                }
            }
        }
        // Entra ID and others replace a long groups claim by a reference to fetch
        // (`_claim_names`); reading that as "no groups" would be wrong either way.
        if let Some(claim) = &config.groups_claim
            && !claims.contains_key(claim)
            && claims
                .get("_claim_names")
                .is_some_and(|names| names.get(claim).is_some())
        {
            return Err(login_failed(
                "the provider sent the groups as a reference to fetch (too many groups); \
                 have it send the groups in the token, or filter them to the mapped ones",
            ));
        }
        if let Some(session) = login.reauthenticates {
            self.reauthenticate_sso(&provider, session, &subject, None, meta)
                .await?;
            return Ok(SsoFinished {
                login: None,
                redirect_to: login.redirect_to,
            });
        }
        let identity = read_identity(subject, &claims, config);
        let session = self.sign_in_sso(&provider, &identity, None, meta).await?;
        Ok(SsoFinished {
            login: Some(session),
            redirect_to: login.redirect_to,
        })
    }

    /// Takes the login `state` names (deleting it, audited `auth.sso_callback`): whatever
    /// happens next, this state never works again.
    pub(crate) async fn take_sso_login(
        &self,
        provider: &SsoProvider,
        state: &str,
        meta: &RequestMeta,
    ) -> AppResult<Option<SsoLogin>> {
        let now = self.now();
        let mut tx = self.store().write().await?;
        let login = tx.take_sso_login(&session_id_hash(state)).await?;
        tx.commit(
            anonymous(
                now,
                meta,
                "auth.sso_callback",
                "sso_provider",
                provider.name.as_str(),
            )
            .resource_id(provider.id)
            .outcome(if login.is_some() {
                Outcome::Success
            } else {
                Outcome::Failure
            })
            .build(),
        )
        .await?;
        Ok(login)
    }

    /// Renews `session`'s sign-in after the provider authenticated `subject` again: the
    /// subject must be the one linked to the session's user (someone else signing in at
    /// the provider proves nothing about this session), and the session must still be
    /// open. Audited `auth.reauthenticate` as the session's user.
    pub(crate) async fn reauthenticate_sso(
        &self,
        provider: &SsoProvider,
        session: rampart_domain::SessionId,
        subject: &str,
        assertion: Option<&UsedAssertion>,
        meta: &RequestMeta,
    ) -> AppResult<()> {
        let method = session_method(provider);
        let user = self
            .store()
            .sso_identity_user(provider.id, subject)
            .await?
            .ok_or_else(|| {
                login_failed("the provider signed in someone other than this session's user")
            })?;
        let now = self.now();
        let ctx = Ctx::new(
            Actor {
                principal: rampart_domain::platform::identity::PrincipalId::User(user),
                auth_method: AuthMethod::Session,
                token_id: None,
                narrowed_to: None,
                token_expires_at: None,
                is_account_owner: false,
                session_id: Some(session),
                run_credential: None,
                session_method: Some(method.clone()),
                authenticated_at: Some(now),
            },
            meta.clone(),
            std::sync::Arc::default(),
        );
        let mut tx = self.store().write().await?;
        remember_assertion(&mut tx, provider, assertion).await?;
        if let Some(assertion) = assertion {
            tx.upsert_saml_session(session, &assertion.session).await?;
        }
        if !tx.reauthenticate_session_of(session, user, now).await? {
            return Err(login_failed(
                "the provider signed in someone other than this session's user, or the \
                 session has ended",
            ));
        }
        tx.commit(
            ctx.audit(now, "auth.reauthenticate", "session")
                .resource_id(session)
                .details(json!({ "method": method }))
                .build(),
        )
        .await?;
        Ok(())
    }

    /// The client secret, read from the Rampart secret the configuration names (audited
    /// as a read by the system).
    async fn sso_client_secret(&self, config: &OidcConfig) -> AppResult<Zeroizing<String>> {
        let secret = ScopedName::parse(&config.client_secret, "client_secret")?;
        let scope = self
            .resolve_scope(secret.org.as_deref(), secret.project.as_deref())
            .await
            .map_err(|_| upstream("the SSO client secret's organisation or project is gone"))?
            .scope();
        match self
            .read_secret(&Ctx::system(), scope, &secret.name, None)
            .await
        {
            Err(AppError::NotFound { .. }) => Err(upstream(format!(
                "the SSO client secret {} does not exist",
                config.client_secret
            ))),
            other => other,
        }
    }

    /// Finds the user `identity` is (linked subject; else the user with the verified
    /// email, linked now; else a new user when the provider creates users), syncs the
    /// mapped groups, and opens a session — one transaction, audited `auth.login`.
    pub(crate) async fn sign_in_sso(
        &self,
        provider: &SsoProvider,
        identity: &VerifiedClaims,
        assertion: Option<&UsedAssertion>,
        meta: &RequestMeta,
    ) -> AppResult<LoginOutcome> {
        let config = &provider.config;
        let linked = self
            .store()
            .sso_identity_user(provider.id, &identity.subject)
            .await?;
        let now = self.now();
        let verified_email = identity
            .email
            .as_deref()
            .filter(|_| identity.email_verified)
            .map(Email::parse)
            .transpose()
            .map_err(|_| login_failed("the provider's email claim is not an email address"))?;
        let (user, how) = match linked {
            Some(id) => (self.store().user_by_id(id).await?, "linked"),
            None => {
                let email = verified_email.clone().ok_or_else(|| {
                    AppError::forbidden(
                        ErrorCode::SsoUserUnknown,
                        "the provider sent no verified email for this account, so it \
                         cannot be matched to a user",
                    )
                })?;
                match self.store().user_credentials_by_email(&email).await? {
                    Some(_) if !config.links_by_email() => {
                        return Err(AppError::forbidden(
                            ErrorCode::SsoUserUnknown,
                            "a user with this email exists, and this provider does not link \
                             existing users by email (an admin may allow it: link_by_email)",
                        ));
                    }
                    Some(found) => {
                        // A user already linked to another subject at this provider is
                        // not taken over by a second one with the same email (an
                        // address reused for a new person at the provider).
                        if self
                            .store()
                            .sso_subject_of(provider.id, found.user.id)
                            .await?
                            .is_some()
                        {
                            return Err(AppError::forbidden(
                                ErrorCode::SsoUserUnknown,
                                "the user with this email is linked to another account at \
                                 this provider; an admin must remove that link first",
                            ));
                        }
                        (Some(found.user), "linked_by_email")
                    }
                    None if config.create_users() => (None, "created"),
                    None => {
                        return Err(AppError::forbidden(
                            ErrorCode::SsoUserUnknown,
                            "no user has this email, and this provider does not create users; \
                             ask an admin to invite you",
                        ));
                    }
                }
            }
        };
        let user = match user {
            Some(user) => user,
            None if how == "linked" => {
                return Err(AppError::unauthenticated(
                    ErrorCode::PrincipalDisabled,
                    "the user linked to this account no longer exists",
                ));
            }
            None => {
                let email = verified_email.clone().ok_or_else(|| {
                    AppError::forbidden(ErrorCode::SsoUserUnknown, "no verified email")
                })?;
                let display_name = identity
                    .name
                    .as_deref()
                    .and_then(|name| DisplayName::parse(name).ok())
                    .map_or_else(|| DisplayName::parse(email.as_str()), Ok)?;
                User {
                    id: mint(now, UserId::mint)?,
                    email,
                    display_name,
                    is_account_owner: false,
                    has_password: false,
                    disabled: false,
                    created_at: now,
                    updated_at: now,
                }
            }
        };
        if user.disabled {
            return Err(AppError::unauthenticated(
                ErrorCode::PrincipalDisabled,
                "the user is disabled",
            ));
        }
        let mut groups = Vec::new();
        if let Some(claimed) = &identity.groups {
            for mapping in config.group_mappings() {
                match self.mapped_group(&mapping.group).await? {
                    Some((id, scope)) => {
                        groups.push((id, scope, claimed.contains(&mapping.claim_value)))
                    }
                    None => tracing::warn!(
                        provider = %provider.name,
                        group = %mapping.group,
                        "an SSO group mapping names a group that no longer exists"
                    ),
                }
            }
        }

        let method = session_method(provider);
        let mut tx = self.store().write().await?;
        remember_assertion(&mut tx, provider, assertion).await?;
        if how == "created" {
            tx.insert_user(&user, None)
                .await
                .map_err(|error| match error {
                    StoreError::Conflict { .. } => AppError::conflict(
                        ErrorCode::EmailTaken,
                        "a user with this email was created at the same moment; sign in again",
                    ),
                    other => other.into(),
                })?;
        }
        tx.upsert_sso_identity(provider.id, &identity.subject, user.id, now)
            .await
            .map_err(|error| match error {
                // Another subject linked this user at the same moment.
                StoreError::Conflict { .. } => AppError::forbidden(
                    ErrorCode::SsoUserUnknown,
                    "the user with this email is linked to another account at this provider",
                ),
                other => other.into(),
            })?;
        let (mut joined, mut left) = (Vec::new(), Vec::new());
        for (group, scope, member) in &groups {
            if *member {
                if tx.add_group_member(*group, user.id, now).await? > 0 {
                    joined.push((*group, *scope));
                }
            } else if tx.remove_group_member(*group, user.id).await? > 0 {
                left.push((*group, *scope));
            }
        }
        // The session counts as recently authenticated (step-up) only as far as the
        // provider says the person authenticated: a sign-in the provider remembered
        // from long ago is not a fresh one. A provider that does not say (no
        // `auth_time`) gives a session that re-authenticates before sensitive actions.
        let authenticated_at = identity
            .authenticated_at
            .map_or(Timestamp::UNIX_EPOCH, |at| at.min(now));
        let (outcome, ctx) = self
            .open_session(&mut tx, &user, &method, authenticated_at, meta)
            .await?;
        if let Some(assertion) = assertion {
            tx.upsert_saml_session(outcome.session_id, &assertion.session)
                .await?;
        }
        let mut records = Vec::new();
        // Membership changes are recorded as any other, in the group's own scope.
        for (action, changes) in [
            ("group.member_add", &joined),
            ("group.member_remove", &left),
        ] {
            for (group, scope) in changes {
                records.push(
                    ctx.audit(now, action, "group")
                        .scope(*scope)
                        .resource_id(*group)
                        .details(json!({ "user": user.id.to_string(), "by": method }))
                        .build(),
                );
            }
        }
        if how != "linked" {
            records.push(
                ctx.audit(now, "sso.link", "user")
                    .scope(Scope::Account)
                    .resource_id(user.id)
                    .details(json!({ "provider": provider.name.as_str(), "how": how }))
                    .build(),
            );
        }
        if how == "created" {
            records.push(
                ctx.audit(now, "user.create", "user")
                    .scope(Scope::Account)
                    .resource_id(user.id)
                    .details(json!({ "has_password": false, "created_by": method }))
                    .build(),
            );
        }
        records.push(
            ctx.audit(now, "auth.login", "session")
                .resource_id(outcome.session_id)
                .details(json!({
                    "method": method,
                    "user": how,
                    "groups_joined": joined.iter().map(|(id, _)| id.to_string()).collect::<Vec<_>>(),
                    "groups_left": left.iter().map(|(id, _)| id.to_string()).collect::<Vec<_>>(),
                    "authenticated_at": identity.authenticated_at.map(|at| at.to_string()),
                }))
                .build(),
        );
        tx.commit_all(&records).await?;
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{self, KeyPair, RsaKeyPair};
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;

    /// A provider's RSA key and its JWK set (kid `k1`).
    fn provider_key() -> (RsaKeyPair, Value) {
        let key = RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        let public: signature::RsaPublicKeyComponents<Vec<u8>> = key.public_key().into();
        let jwks = json!({"keys": [{
            "kty": "RSA", "kid": "k1", "use": "sig",
            "n": B64.encode(&public.n), "e": B64.encode(&public.e),
        }]});
        (key, jwks)
    }

    fn compact(header: &Value, claims: &Value, sign: impl Fn(&[u8]) -> Vec<u8>) -> String {
        let input = format!(
            "{}.{}",
            B64.encode(header.to_string()),
            B64.encode(claims.to_string())
        );
        let signature = sign(input.as_bytes());
        format!("{input}.{}", B64.encode(signature))
    }

    fn rs256(key: &RsaKeyPair) -> impl Fn(&[u8]) -> Vec<u8> + '_ {
        move |input| {
            let mut out = vec![0; key.public_modulus_len()];
            key.sign(
                &signature::RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                input,
                &mut out,
            )
            .unwrap();
            out
        }
    }

    fn allowed() -> Vec<String> {
        ["RS256", "ES256"].map(String::from).to_vec()
    }

    #[test]
    fn genuine_id_tokens_verify() {
        let (key, jwks) = provider_key();
        let claims = json!({"sub": "a", "nonce": "n"});
        let token = compact(&json!({"alg": "RS256", "kid": "k1"}), &claims, rs256(&key));
        let verified = verify_id_token(&token, &jwks, &allowed()).unwrap();
        assert_eq!(Value::Object(verified), claims);
        // Without a kid, the keys of the algorithm's type are tried.
        let token = compact(&json!({"alg": "RS256"}), &claims, rs256(&key));
        assert!(verify_id_token(&token, &jwks, &allowed()).is_ok());
    }

    /// The forgeries of the OIDC attack literature, each refused.
    #[test]
    fn forged_id_tokens_are_refused() {
        let (key, jwks) = provider_key();
        let (other, _) = provider_key();
        let claims = json!({"sub": "admin", "nonce": "n"});
        let public_n = jwks["keys"][0]["n"].as_str().unwrap().to_owned();
        let hmac_with_public_key = |input: &[u8]| {
            let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, public_n.as_bytes());
            aws_lc_rs::hmac::sign(&key, input).as_ref().to_vec()
        };
        let genuine = compact(&json!({"alg": "RS256", "kid": "k1"}), &claims, rs256(&key));
        let (head, rest) = genuine.split_once('.').unwrap();
        let (_, signature) = rest.split_once('.').unwrap();
        let swapped_claims = format!(
            "{head}.{}.{signature}",
            B64.encode(json!({"sub": "root", "nonce": "n"}).to_string())
        );
        let cases: Vec<(&str, String)> = vec![
            (
                "alg none, no signature",
                compact(&json!({"alg": "none"}), &claims, |_| Vec::new()),
            ),
            (
                "alg None",
                compact(&json!({"alg": "None"}), &claims, |_| Vec::new()),
            ),
            (
                "no alg",
                compact(&json!({"kid": "k1"}), &claims, rs256(&key)),
            ),
            (
                "HS256 keyed with the provider's public key",
                compact(
                    &json!({"alg": "HS256", "kid": "k1"}),
                    &claims,
                    hmac_with_public_key,
                ),
            ),
            (
                "another key's signature",
                compact(
                    &json!({"alg": "RS256", "kid": "k1"}),
                    &claims,
                    rs256(&other),
                ),
            ),
            ("claims swapped under a genuine signature", swapped_claims),
            (
                "unknown kid",
                compact(&json!({"alg": "RS256", "kid": "k2"}), &claims, rs256(&key)),
            ),
            (
                "an algorithm this provider may not use",
                compact(&json!({"alg": "PS256", "kid": "k1"}), &claims, rs256(&key)),
            ),
            (
                "a critical extension",
                compact(
                    &json!({"alg": "RS256", "kid": "k1", "crit": ["exp"]}),
                    &claims,
                    rs256(&key),
                ),
            ),
            ("five parts (encrypted)", format!("{genuine}.e30.e30")),
            ("not base64", "!!.!!.!!".to_owned()),
            (
                "claims not an object",
                compact(&json!({"alg": "RS256"}), &json!(["a"]), rs256(&key)),
            ),
        ];
        for (name, token) in cases {
            match verify_id_token(&token, &jwks, &allowed()) {
                Err(AppError::Unauthenticated { code, .. }) => {
                    assert_eq!(code, ErrorCode::SsoLoginFailed, "{name}")
                }
                other => panic!("{name}: {other:?}"),
            }
        }
        // A key published for encryption, or for another algorithm, is not used.
        let mut for_encryption = jwks.clone();
        for_encryption["keys"][0]["use"] = json!("enc");
        assert!(verify_id_token(&genuine, &for_encryption, &allowed()).is_err());
        let mut other_alg = jwks.clone();
        other_alg["keys"][0]["alg"] = json!("RS512");
        assert!(verify_id_token(&genuine, &other_alg, &allowed()).is_err());
    }

    #[test]
    fn endpoints_stay_on_the_issuers_host_or_the_named_ones() {
        let config: OidcConfig = serde_json::from_value(json!({
            "issuer": "https://Login.Example.com/realms/ops",
            "client_id": "rampart",
            "client_secret": "acme/oidc",
            "endpoint_hosts": ["keys.example.net", "token.example.net:8443"],
        }))
        .unwrap();
        let allowed = allowed_hosts(&config);
        let document = json!({
            "same": "https://login.example.com/token",
            "same_explicit_port": "https://login.example.com:443/token",
            "named": "https://keys.example.net/jwks",
            "named_port": "https://token.example.net:8443/token",
            "other_port": "https://login.example.com:8443/token",
            "named_wrong_port": "https://keys.example.net:8443/jwks",
            "elsewhere": "https://169.254.169.254/latest/meta-data",
            "plain": "http://login.example.com/token",
        });
        for field in ["same", "same_explicit_port", "named", "named_port"] {
            assert!(endpoint(&document, field, &allowed).is_ok(), "{field}");
        }
        for field in ["other_port", "named_wrong_port", "elsewhere", "plain"] {
            assert!(endpoint(&document, field, &allowed).is_err(), "{field}");
        }
        assert_eq!(endpoint(&document, "absent", &allowed).unwrap(), None);
    }

    #[test]
    fn redirects_stay_on_this_server() {
        assert_eq!(check_redirect(None).unwrap(), "/");
        assert_eq!(
            check_redirect(Some("/incidents?status=open")).unwrap(),
            "/incidents?status=open"
        );
        for bad in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "/a\\b",
            "incidents",
            "/a\nb",
            "",
        ] {
            assert!(check_redirect(Some(bad)).is_err(), "{bad:?}");
        }
    }
}
