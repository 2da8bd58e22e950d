//! Single sign-on: the sign-in redirects, SAML's assertion consumer service and SP
//! metadata (public: the browser is not signed in yet), and the identity providers'
//! configuration (account admins).

use axum::extract::RawQuery;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use rampart_api::platform as wire;
use rampart_app::platform::sso::{SsoCallback, SsoFinished, SsoProviderInput, SsoProviderPatch};
use rampart_app::platform::sso_saml::{SamlLogoutMessage, SamlPost, saml_identity_provider};
use rampart_app::{Access, Ctx, RequestMeta};
use rampart_domain::ErrorCode;
use rampart_domain::Permission as P;
use rampart_domain::platform::sso::{
    OidcConfig, ProviderConfig, SSO_LOGIN_TTL_SECS, SamlConfig, SsoProvider,
};
use serde::Deserialize;

use crate::AppState;
use crate::enforce::cookie;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiForm, ApiJson, ApiPath, ApiQuery, path_params};
use crate::routes::{QueryParam, RouteSpec, RouteTable, Shape, perm};

/// The cookie binding a started login to the browser that started it.
pub const SSO_BINDER_COOKIE: &str = "__Host-rampart_sso";
/// The cookie handing a browser signed in by redirect its CSRF token (readable by the
/// page's script, which echoes it in `X-CSRF-Token`; the server checks it against the
/// session's stored hash, so the cookie alone proves nothing).
pub const CSRF_COOKIE: &str = "__Host-rampart_csrf";

const START_QUERY: &[QueryParam] = &[
    QueryParam::optional(
        "redirect_to",
        "a path on this server to return to once signed in (default /)",
        Shape::Text,
    ),
    QueryParam::optional(
        "reauthenticate",
        "renew the sign-in of this browser's session (step-up) instead of opening one: \
         the provider authenticates the person again",
        Shape::Boolean,
    ),
];
const CALLBACK_QUERY: &[QueryParam] = &[
    QueryParam::optional("code", "the authorization code", Shape::Text),
    QueryParam::optional("state", "the login's state, as sent", Shape::Text),
    QueryParam::optional(
        "iss",
        "the issuer (RFC 9207), checked when sent",
        Shape::Text,
    ),
    QueryParam::optional("error", "the provider's refusal", Shape::Text),
    QueryParam::optional("error_description", "its explanation", Shape::Text),
];

const SLO_QUERY: &[QueryParam] = &[
    QueryParam::optional(
        "SAMLResponse",
        "the provider's LogoutResponse to this service's logout, DEFLATEd and base64ed",
        Shape::Text,
    ),
    QueryParam::optional(
        "SAMLRequest",
        "the provider's own LogoutRequest (IdP-initiated single logout; must be signed)",
        Shape::Text,
    ),
    QueryParam::optional("RelayState", "returned to the provider", Shape::Text),
    QueryParam::optional("SigAlg", "the query signature's algorithm", Shape::Text),
    QueryParam::optional("Signature", "the query signature", Shape::Text),
];

/// Registers this module's routes.
pub fn routes(table: &mut RouteTable) {
    use Method as M;
    let r = RouteSpec::new;
    table.add(
        r(
            M::GET,
            "/api/v1/auth/sso",
            Access::Public,
            "The single sign-on providers one may sign in with (for a login page)",
        )
        .reply::<wire::SsoLoginOptions>(200),
        login_options,
    );
    table.add(
        r(
            M::GET,
            "/api/v1/auth/sso/{provider}/start",
            Access::Public,
            "Start signing in through a provider: redirects the browser there",
        )
        .query(START_QUERY)
        .empty(303)
        // A bad redirect_to; a re-authentication without a session or of another
        // provider's session; the provider's discovery failing or refusing PKCE; no
        // known public URL.
        .errors(&[400, 401, 403, 502, 503]),
        start,
    );
    table.add(
        r(
            M::GET,
            "/api/v1/auth/sso/{provider}/callback",
            Access::Public,
            "Where the provider sends the browser back: signs in (session cookie), or \
             renews the session's sign-in for a re-authentication, and redirects to where \
             the login started",
        )
        .query(CALLBACK_QUERY)
        .empty(303)
        // Unknown, replayed or foreign state; a refused or failed check; no user; the
        // provider failing.
        .errors(&[400, 401, 403, 409, 502, 503]),
        callback,
    );
    table.add(
        r(
            M::POST,
            "/api/v1/auth/sso/{provider}/acs",
            Access::Public,
            "SAML's assertion consumer service: the identity provider's page posts its \
             response here (HTTP-POST binding); signs in (session cookie), or renews the \
             session's sign-in for a re-authentication, and redirects to where the login \
             started",
        )
        .form::<wire::SamlPost>()
        .empty(303)
        // No or unknown login (IdP-initiated when not allowed); a refused response, a
        // replayed assertion; no user; the provider's metadata unusable.
        .errors(&[400, 401, 403, 409, 502, 503]),
        saml_acs,
    );
    table.add(
        r(
            M::GET,
            "/api/v1/auth/sso/{provider}/slo",
            Access::Public,
            "SAML single logout (HTTP-Redirect binding): the identity provider's \
             LogoutResponse to this service's logout (redirects to /), or its signed \
             LogoutRequest ending a person's sessions here (redirects back to the provider \
             with the answer)",
        )
        .query(SLO_QUERY)
        .empty(303)
        // No, an unreadable, unsigned or unknown message.
        .errors(&[400, 502]),
        saml_logout,
    );
    table.add(
        r(
            M::GET,
            "/api/v1/auth/sso/{provider}/metadata",
            Access::Public,
            "A SAML provider's service provider metadata, for the identity provider to \
             import",
        )
        .text(&["application/samlmetadata+xml"])
        .errors(&[503]),
        saml_metadata,
    );
    table.add(
        r(
            M::GET,
            "/api/v1/sso/providers",
            perm(P::AccountManage),
            "List single sign-on providers",
        )
        .reply::<wire::SsoProviderList>(200),
        list_providers,
    );
    table.add(
        r(
            M::POST,
            "/api/v1/sso/providers",
            perm(P::AccountManage),
            "Add an OpenID Connect or SAML provider",
        )
        .step_up()
        .body::<wire::SsoProviderCreate>()
        .reply::<wire::SsoProvider>(201)
        .errors(&[409]),
        create_provider,
    );
    table.add(
        r(
            M::GET,
            "/api/v1/sso/providers/{provider}",
            perm(P::AccountManage),
            "Read a single sign-on provider",
        )
        .reply::<wire::SsoProvider>(200),
        get_provider,
    );
    table.add(
        r(
            M::PATCH,
            "/api/v1/sso/providers/{provider}",
            perm(P::AccountManage),
            "Change a provider (its name stays)",
        )
        .step_up()
        .body::<wire::SsoProviderUpdate>()
        .reply::<wire::SsoProvider>(200),
        update_provider,
    );
    table.add(
        r(
            M::DELETE,
            "/api/v1/sso/providers/{provider}",
            perm(P::AccountManage),
            "Delete a provider and its links to users (the users stay)",
        )
        .step_up(),
        delete_provider,
    );
    policy_routes(table);
}

// The SSO policies: the account's and each organisation's.
pub fn policy_routes(table: &mut RouteTable) {
    use Method as M;
    let r = RouteSpec::new;
    for (path, permission) in [
        ("/api/v1/sso/policy", P::AccountManage),
        ("/api/v1/orgs/{org}/sso/policy", P::OrgEdit),
    ] {
        table.add(
            r(
                M::GET,
                path,
                perm(permission),
                "Whether single sign-on is required here, and the break-glass users",
            )
            .reply::<wire::SsoPolicy>(200),
            get_policy,
        );
        table.add(
            r(
                M::PUT,
                path,
                perm(permission),
                "Require single sign-on here (or not); name the break-glass users",
            )
            .step_up()
            .body::<wire::SsoPolicy>()
            .reply::<wire::SsoPolicy>(200)
            // No enabled provider; a policy that would end the caller's own session.
            .errors(&[409]),
            set_policy,
        );
    }
}

fn wire_policy(policy: &rampart_domain::platform::sso::SsoPolicy) -> wire::SsoPolicy {
    wire::SsoPolicy {
        required: policy.required,
        break_glass_users: policy.break_glass.iter().map(ToString::to_string).collect(),
    }
}

pub async fn get_policy(
    State(state): State<AppState>,
    Extension(scope): crate::enforce::Scope,
) -> ApiResult<Json<wire::SsoPolicy>> {
    let policy = state.app.sso_policy(scope.scope()).await?;
    Ok(Json(wire_policy(&policy)))
}

pub async fn set_policy(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): crate::enforce::Scope,
    ApiJson(body): ApiJson<wire::SsoPolicy>,
) -> ApiResult<Json<wire::SsoPolicy>> {
    let policy = state
        .app
        .set_sso_policy(&ctx, scope.scope(), body.required, &body.break_glass_users)
        .await?;
    Ok(Json(wire_policy(&policy)))
}

path_params! {
    /// `…/sso/{provider}…`
    pub struct ProviderPath { provider }
}

#[derive(Debug, Deserialize)]
pub struct StartQuery {
    #[serde(default)]
    redirect_to: Option<String>,
    #[serde(default)]
    reauthenticate: bool,
}

/// The provider's redirect. Not `deny_unknown_fields`: providers add their own
/// parameters (`session_state`), which are ignored. Not `Debug`: code and state are
/// credentials until used.
#[derive(Deserialize)]
pub struct CallbackQuery {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    iss: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
}

/// A configuration as the domain reads it: through the same serde shape, so absent
/// fields take the domain's defaults (one place decides them).
fn domain_shape<W: serde::Serialize, D: serde::de::DeserializeOwned>(config: W) -> ApiResult<D> {
    serde_json::to_value(config)
        .and_then(serde_json::from_value)
        .map_err(|error| ApiError::new(ErrorCode::InvalidBody, error.to_string()))
}

/// The configuration a body gives: `oidc` or `saml`, not both; `None` when neither.
fn config_from_wire(
    oidc: Option<wire::OidcConfig>,
    saml: Option<wire::SamlConfig>,
) -> ApiResult<Option<ProviderConfig>> {
    match (oidc, saml) {
        (Some(_), Some(_)) => Err(ApiError::new(
            ErrorCode::InvalidBody,
            "give oidc or saml, not both: a provider speaks one protocol",
        )),
        (Some(oidc), None) => Ok(Some(ProviderConfig::Oidc(domain_shape::<_, OidcConfig>(
            oidc,
        )?))),
        (None, Some(saml)) => Ok(Some(ProviderConfig::Saml(domain_shape::<_, SamlConfig>(
            saml,
        )?))),
        (None, None) => Ok(None),
    }
}

fn wire_saml(config: &SamlConfig) -> wire::SamlConfig {
    wire::SamlConfig {
        idp_metadata_xml: config.idp_metadata_xml.clone(),
        sp_entity_id: config.sp_entity_id.clone(),
        name_id_format: Some(config.name_id_format.clone()),
        email_attribute: Some(config.email_attribute.clone()),
        name_attribute: Some(config.name_attribute.clone()),
        groups_attribute: config.groups_attribute.clone(),
        group_mappings: wire_mappings(&config.group_mappings),
        create_users: config.create_users,
        link_by_email: config.link_by_email,
        allow_idp_initiated: config.allow_idp_initiated,
    }
}

fn wire_mappings(
    mappings: &[rampart_domain::platform::sso::GroupMapping],
) -> Vec<wire::SsoGroupMapping> {
    mappings
        .iter()
        .map(|mapping| wire::SsoGroupMapping {
            claim_value: mapping.claim_value.clone(),
            group: mapping.group.clone(),
        })
        .collect()
}

fn wire_oidc(config: &OidcConfig) -> wire::OidcConfig {
    wire::OidcConfig {
        issuer: config.issuer.clone(),
        client_id: config.client_id.clone(),
        client_secret: config.client_secret.clone(),
        scopes: Some(config.scopes.clone()),
        algorithms: Some(config.algorithms.clone()),
        email_claim: Some(config.email_claim.clone()),
        name_claim: Some(config.name_claim.clone()),
        groups_claim: config.groups_claim.clone(),
        group_mappings: wire_mappings(&config.group_mappings),
        create_users: config.create_users,
        ca_certificates_pem: config.ca_certificates_pem.clone(),
        endpoint_hosts: config.endpoint_hosts.clone(),
    }
}

fn wire_provider(state: &AppState, provider: &SsoProvider) -> wire::SsoProvider {
    let (oidc, saml, saml_service_provider, redirect_uri) = match &provider.config {
        ProviderConfig::Oidc(config) => (
            Some(wire_oidc(config)),
            None,
            None,
            state.app.sso_redirect_uri(&provider.name).ok(),
        ),
        ProviderConfig::Saml(config) => {
            let addresses = state
                .app
                .saml_service_provider(provider, config)
                .ok()
                .zip(saml_identity_provider(config))
                .map(|(sp, idp)| wire::SamlServiceProvider {
                    entity_id: sp.entity_id,
                    acs_url: sp.acs_url,
                    metadata_url: sp.metadata_url,
                    slo_url: sp.slo_url,
                    idp_entity_id: idp.entity_id,
                    idp_sso_url: idp.sso_url,
                    idp_certificates_sha256: idp.certificates_sha256,
                });
            let acs = addresses.as_ref().map(|sp| sp.acs_url.clone());
            (None, Some(wire_saml(config)), addresses, acs)
        }
    };
    wire::SsoProvider {
        id: provider.id.to_string(),
        name: provider.name.to_string(),
        display_name: provider.display_name.to_string(),
        kind: provider.config.kind().into(),
        enabled: provider.enabled,
        oidc,
        saml,
        saml_service_provider,
        redirect_uri,
        created_at: provider.created_at.to_string(),
        updated_at: provider.updated_at.to_string(),
    }
}

/// A 303 to `location` that sets `cookies` and is never cached.
fn see_other(location: &str, cookies: &[String]) -> ApiResult<Response> {
    let header_value = |text: &str| {
        HeaderValue::from_str(text)
            .map_err(|_| ApiError::new(ErrorCode::InternalError, "internal error"))
    };
    let mut response = StatusCode::SEE_OTHER.into_response();
    let headers = response.headers_mut();
    headers.insert(header::LOCATION, header_value(location)?);
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    for cookie in cookies {
        headers.append(header::SET_COOKIE, header_value(cookie)?);
    }
    Ok(response)
}

pub async fn login_options(
    State(state): State<AppState>,
) -> ApiResult<Json<wire::SsoLoginOptions>> {
    let providers = state.app.sso_login_options().await?;
    let policy = state
        .app
        .sso_policy(rampart_domain::platform::tenancy::Scope::Account)
        .await?;
    Ok(Json(wire::SsoLoginOptions {
        sso_required: policy.required,
        items: providers
            .iter()
            .map(|provider| wire::SsoLoginOption {
                name: provider.name.to_string(),
                display_name: provider.display_name.to_string(),
                start_url: format!("/api/v1/auth/sso/{}/start", provider.name),
            })
            .collect(),
    }))
}

pub async fn start(
    State(state): State<AppState>,
    Extension(meta): Extension<RequestMeta>,
    headers: HeaderMap,
    ApiPath(path): ApiPath<ProviderPath>,
    ApiQuery(query): ApiQuery<StartQuery>,
) -> ApiResult<Response> {
    // A re-authentication is of the session this browser holds (a top-level GET
    // navigation: the cookie comes with it, and no CSRF token is needed because the
    // round trip changes nothing unless the person signs in at the provider again).
    let session = if query.reauthenticate {
        // Only this server's own pages start a re-authentication: a browser says where
        // a navigation came from (Fetch Metadata), and another site's does not count.
        let fetch_site = headers
            .get("sec-fetch-site")
            .and_then(|value| value.to_str().ok());
        if fetch_site.is_some_and(|site| !matches!(site, "same-origin" | "none")) {
            return Err(ApiError::new(
                ErrorCode::OriginMismatch,
                "a re-authentication starts from this server's own pages",
            ));
        }
        let secret = crate::enforce::session_cookie(&headers).ok_or_else(|| {
            ApiError::new(
                ErrorCode::AuthenticationRequired,
                "re-authentication renews a session: this browser has none",
            )
        })?;
        Some(
            state
                .app
                .authenticate_session(secret, None, false, &meta)
                .await?,
        )
    } else {
        None
    };
    let started = state
        .app
        .start_sso_login(
            &path.provider,
            query.redirect_to.as_deref(),
            session.as_ref(),
            &meta,
        )
        .await?;
    // SAML's provider sends the browser back by a cross-site POST, which brings a
    // cookie only when it is SameSite=None; the binder proves nothing by itself (the
    // state must match it), so a cross-site sender gains nothing from it.
    let same_site = if started.returns_by_post {
        "None"
    } else {
        "Lax"
    };
    let binder = format!(
        "{SSO_BINDER_COOKIE}={}; Path=/; Secure; HttpOnly; SameSite={same_site}; Max-Age={SSO_LOGIN_TTL_SECS}",
        started.binder.as_str()
    );
    see_other(&started.authorization_url, &[binder])
}

pub async fn callback(
    State(state): State<AppState>,
    Extension(meta): Extension<RequestMeta>,
    headers: HeaderMap,
    ApiPath(path): ApiPath<ProviderPath>,
    ApiQuery(query): ApiQuery<CallbackQuery>,
) -> ApiResult<Response> {
    let finished = state
        .app
        .finish_sso_login(
            &path.provider,
            SsoCallback {
                code: query.code,
                state: query.state,
                iss: query.iss,
                error: query.error,
                error_description: query.error_description,
            },
            cookie(&headers, SSO_BINDER_COOKIE),
            &meta,
        )
        .await?;
    signed_in(&state, finished)
}

/// The answer to a finished sign-in round trip: to where the login started, with the
/// session's cookies (unless it re-authenticated the browser's session), the binder
/// cookie cleared.
fn signed_in(state: &AppState, finished: SsoFinished) -> ApiResult<Response> {
    let clear_binder =
        format!("{SSO_BINDER_COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0");
    let Some(login) = finished.login else {
        // A re-authentication: the browser keeps its session.
        return see_other(&finished.redirect_to, &[clear_binder]);
    };
    let max_age = state.app.settings().session_timeouts.absolute_secs;
    see_other(
        &finished.redirect_to,
        &[
            super::auth::session_set_cookie(state, login.session_secret.as_str()),
            format!(
                "{CSRF_COOKIE}={}; Path=/; Secure; SameSite=Strict; Max-Age={max_age}",
                login.csrf_token.as_str()
            ),
            clear_binder,
        ],
    )
}

pub async fn saml_acs(
    State(state): State<AppState>,
    Extension(meta): Extension<RequestMeta>,
    headers: HeaderMap,
    ApiPath(path): ApiPath<ProviderPath>,
    ApiForm(post): ApiForm<SamlForm>,
) -> ApiResult<Response> {
    let finished = state
        .app
        .finish_saml_login(
            &path.provider,
            SamlPost {
                saml_response: post.saml_response,
                relay_state: post.relay_state,
            },
            cookie(&headers, SSO_BINDER_COOKIE),
            &meta,
        )
        .await?;
    signed_in(&state, finished)
}

/// The posted form. Not `deny_unknown_fields` (providers may add their own fields), not
/// `Debug` (the response is a credential until used).
#[derive(Deserialize)]
pub struct SamlForm {
    #[serde(rename = "SAMLResponse", default)]
    saml_response: Option<String>,
    #[serde(rename = "RelayState", default)]
    relay_state: Option<String>,
}

/// What the provider sends to the single logout location. Not `deny_unknown_fields`.
#[derive(Deserialize)]
pub struct SloQuery {
    #[serde(rename = "SAMLResponse", default)]
    saml_response: Option<String>,
    #[serde(rename = "SAMLRequest", default)]
    saml_request: Option<String>,
    #[serde(rename = "RelayState", default)]
    relay_state: Option<String>,
    #[serde(rename = "SigAlg", default)]
    sig_alg: Option<String>,
    #[serde(rename = "Signature", default)]
    signature: Option<String>,
}

pub async fn saml_logout(
    State(state): State<AppState>,
    Extension(meta): Extension<RequestMeta>,
    ApiPath(path): ApiPath<ProviderPath>,
    RawQuery(raw_query): RawQuery,
    ApiQuery(query): ApiQuery<SloQuery>,
) -> ApiResult<Response> {
    let location = state
        .app
        .finish_saml_logout(
            &path.provider,
            SamlLogoutMessage {
                saml_response: query.saml_response,
                saml_request: query.saml_request,
                relay_state: query.relay_state,
                sig_alg: query.sig_alg,
                signature: query.signature,
                raw_query: raw_query.unwrap_or_default(),
            },
            &meta,
        )
        .await?;
    see_other(&location, &[])
}

pub async fn saml_metadata(
    State(state): State<AppState>,
    ApiPath(path): ApiPath<ProviderPath>,
) -> ApiResult<Response> {
    let metadata = state.app.saml_sp_metadata(&path.provider).await?;
    let mut response = metadata.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/samlmetadata+xml"),
    );
    Ok(response)
}

pub async fn list_providers(
    State(state): State<AppState>,
) -> ApiResult<Json<wire::SsoProviderList>> {
    let providers = state.app.list_sso_providers().await?;
    Ok(Json(wire::SsoProviderList {
        items: providers
            .iter()
            .map(|provider| wire_provider(&state, provider))
            .collect(),
    }))
}

pub async fn create_provider(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    ApiJson(body): ApiJson<wire::SsoProviderCreate>,
) -> ApiResult<(StatusCode, Json<wire::SsoProvider>)> {
    let provider = state
        .app
        .create_sso_provider(
            &ctx,
            SsoProviderInput {
                name: body.name,
                display_name: body.display_name,
                config: config_from_wire(body.oidc, body.saml)?.ok_or_else(|| {
                    ApiError::new(
                        ErrorCode::InvalidBody,
                        "give the provider's configuration: oidc or saml",
                    )
                })?,
                enabled: body.enabled.unwrap_or(true),
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(wire_provider(&state, &provider))))
}

pub async fn get_provider(
    State(state): State<AppState>,
    ApiPath(path): ApiPath<ProviderPath>,
) -> ApiResult<Json<wire::SsoProvider>> {
    let provider = state.app.sso_provider(&path.provider).await?;
    Ok(Json(wire_provider(&state, &provider)))
}

pub async fn update_provider(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    ApiPath(path): ApiPath<ProviderPath>,
    ApiJson(body): ApiJson<wire::SsoProviderUpdate>,
) -> ApiResult<Json<wire::SsoProvider>> {
    let provider = state
        .app
        .update_sso_provider(
            &ctx,
            &path.provider,
            SsoProviderPatch {
                display_name: body.display_name,
                config: config_from_wire(body.oidc, body.saml)?,
                enabled: body.enabled,
            },
        )
        .await?;
    Ok(Json(wire_provider(&state, &provider)))
}

pub async fn delete_provider(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    ApiPath(path): ApiPath<ProviderPath>,
) -> ApiResult<StatusCode> {
    state.app.delete_sso_provider(&ctx, &path.provider).await?;
    Ok(StatusCode::NO_CONTENT)
}
