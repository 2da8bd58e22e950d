//! Single sign-on: the sign-in redirects (public: the browser is not signed in yet) and
//! the identity providers' configuration (account admins).

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use rampart_api::platform as wire;
use rampart_app::platform::sso::{SsoCallback, SsoProviderInput, SsoProviderPatch};
use rampart_app::{Access, Ctx, RequestMeta};
use rampart_domain::ErrorCode;
use rampart_domain::Permission as P;
use rampart_domain::platform::sso::{OidcConfig, SSO_LOGIN_TTL_SECS, SsoProvider};
use serde::Deserialize;

use crate::AppState;
use crate::enforce::cookie;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery, path_params};
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
            "Add an OpenID Connect provider",
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

/// The configuration as the domain reads it: through the same serde shape, so absent
/// fields take the domain's defaults (one place decides them).
fn config_from_wire(config: wire::OidcConfig) -> ApiResult<OidcConfig> {
    serde_json::to_value(config)
        .and_then(serde_json::from_value)
        .map_err(|error| ApiError::new(ErrorCode::InvalidBody, error.to_string()))
}

fn wire_provider(state: &AppState, provider: &SsoProvider) -> wire::SsoProvider {
    let config = &provider.config;
    wire::SsoProvider {
        id: provider.id.to_string(),
        name: provider.name.to_string(),
        display_name: provider.display_name.to_string(),
        kind: "oidc".into(),
        enabled: provider.enabled,
        oidc: wire::OidcConfig {
            issuer: config.issuer.clone(),
            client_id: config.client_id.clone(),
            client_secret: config.client_secret.clone(),
            scopes: Some(config.scopes.clone()),
            algorithms: Some(config.algorithms.clone()),
            email_claim: Some(config.email_claim.clone()),
            name_claim: Some(config.name_claim.clone()),
            groups_claim: config.groups_claim.clone(),
            group_mappings: config
                .group_mappings
                .iter()
                .map(|mapping| wire::SsoGroupMapping {
                    claim_value: mapping.claim_value.clone(),
                    group: mapping.group.clone(),
                })
                .collect(),
            create_users: config.create_users,
            ca_certificates_pem: config.ca_certificates_pem.clone(),
            endpoint_hosts: config.endpoint_hosts.clone(),
        },
        redirect_uri: state.app.sso_redirect_uri(&provider.name).ok(),
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
    let binder = format!(
        "{SSO_BINDER_COOKIE}={}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age={SSO_LOGIN_TTL_SECS}",
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
            super::auth::session_set_cookie(&state, login.session_secret.as_str()),
            format!(
                "{CSRF_COOKIE}={}; Path=/; Secure; SameSite=Strict; Max-Age={max_age}",
                login.csrf_token.as_str()
            ),
            clear_binder,
        ],
    )
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
                config: config_from_wire(body.oidc)?,
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
                config: body.oidc.map(config_from_wire).transpose()?,
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
