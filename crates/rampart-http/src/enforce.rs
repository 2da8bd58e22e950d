//! The one enforcement point. Runs in front of every handler with the route's declared
//! [`Access`]: authenticates (bearer token, or session cookie + CSRF header for
//! state-changing requests), resolves `{org}`/`{project}` from the path (404 when they
//! do not exist), authorises, records denials, and hands the handler a [`Ctx`] and the
//! [`ResolvedScope`].

use axum::extract::{RawPathParams, Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rampart_app::audit::Outcome;
use rampart_app::platform::tenancy::ResolvedScope;
use rampart_app::{Access, AppError, Ctx, RequestMeta, authorize};
use rampart_domain::ErrorCode;
use serde_json::json;

use crate::AppState;
use crate::error::ApiError;

/// The session cookie. `__Host-` binds it to this host, over HTTPS, path `/`.
pub const SESSION_COOKIE: &str = "__Host-rampart_session";
/// The header carrying the CSRF token on state-changing requests made with a session.
pub const CSRF_HEADER: &str = "x-csrf-token";

fn bearer(headers: &HeaderMap) -> Option<&str> {
    rampart_app::credentials::bearer(headers.get(header::AUTHORIZATION)?.to_str().ok()?)
}

pub fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    cookie(headers, SESSION_COOKIE)
}

/// The value of the cookie `wanted` sent with the request, if any.
pub fn cookie<'a>(headers: &'a HeaderMap, wanted: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == wanted)
        .map(|(_, value)| value)
}

fn state_changing(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// For a state-changing request made with a session cookie, a browser's `Origin` (when
/// sent) must be this server: a second line of defence behind the CSRF token.
pub(crate) fn origin_matches(headers: &HeaderMap, authority: Option<&str>) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .or(authority);
    match (origin.to_str().ok(), host) {
        (Some(origin), Some(host)) => origin.strip_prefix("https://") == Some(host),
        _ => false,
    }
}

async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    method: &Method,
    authority: Option<&str>,
    meta: &RequestMeta,
) -> Result<rampart_app::Actor, AppError> {
    if let Some(token) = bearer(headers) {
        return state.app.authenticate_token(token, meta).await;
    }
    if headers.contains_key(header::AUTHORIZATION) {
        return Err(AppError::unauthenticated(
            ErrorCode::UnsupportedAuthorization,
            "use `Authorization: Bearer <token>`",
        ));
    }
    if let Some(session) = session_cookie(headers) {
        if state_changing(method) && !origin_matches(headers, authority) {
            return Err(AppError::forbidden(
                ErrorCode::OriginMismatch,
                "a state-changing request with a session must come from this server's origin",
            ));
        }
        let csrf = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
        return state
            .app
            .authenticate_session(session, csrf, state_changing(method), meta)
            .await;
    }
    Err(AppError::unauthenticated(
        ErrorCode::AuthenticationRequired,
        "this route needs an API token (Authorization: Bearer …) or a session",
    ))
}

/// What a route asks of the enforcement point: its access, and whether it is sensitive
/// (step-up).
#[derive(Clone, Copy, Debug)]
pub struct Guard {
    pub access: Access,
    pub step_up: bool,
}

pub async fn enforce(
    State((state, guard)): State<(AppState, Guard)>,
    request: Request,
    next: Next,
) -> Response {
    let access = guard.access;
    let (mut parts, body) = request.into_parts();
    let meta = parts
        .extensions
        .get::<RequestMeta>()
        .cloned()
        .unwrap_or_default();
    if access == Access::Public {
        return next.run(Request::from_parts(parts, body)).await;
    }
    let authority = parts.uri.authority().map(|a| a.as_str().to_owned());
    let actor = match authenticate(
        &state,
        &parts.headers,
        &parts.method,
        authority.as_deref(),
        &meta,
    )
    .await
    {
        Ok(actor) => actor,
        Err(error) => return ApiError::from(error).into_response(),
    };
    // A path whose parameters do not decode (bad percent-encoding) names nothing: 404,
    // never a fall back to a wider scope.
    let raw = match <RawPathParams as axum::extract::FromRequestParts<()>>::from_request_parts(
        &mut parts,
        &(),
    )
    .await
    {
        Ok(raw) => raw,
        Err(_) => {
            return ApiError::from(AppError::NotFound { what: "resource" }).into_response();
        }
    };
    let param = |name: &str| {
        raw.iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.to_owned())
    };
    let route = parts
        .extensions
        .get::<axum::extract::MatchedPath>()
        .map_or_else(String::new, |path| path.as_str().to_owned());
    let target = Target {
        org: param("org"),
        project: param("project"),
        method: &parts.method,
        route: &route,
    };
    let (ctx, resolved) = match admit(&state, actor, meta, guard, &target).await {
        Ok(admitted) => admitted,
        Err(error) => return ApiError::from(error).into_response(),
    };
    parts.extensions.insert(ctx);
    parts.extensions.insert(resolved);
    next.run(Request::from_parts(parts, body)).await
}

/// What an authenticated request asks for: the scope named in its path and the route
/// (method and matched path, for the audit record of a denial and the step-up message).
pub struct Target<'a> {
    pub org: Option<String>,
    pub project: Option<String>,
    pub method: &'a Method,
    pub route: &'a str,
}

/// Everything after authentication, shared by the API's middleware and the web UI (whose
/// pages and forms name the API route they stand for, so both are held to one rule):
/// scope resolution (404 for unknown org/project), allowlists, `authorize` with the
/// denial audited, SSO policies, and step-up for a sensitive route.
pub async fn admit(
    state: &AppState,
    actor: rampart_app::Actor,
    meta: RequestMeta,
    guard: Guard,
    target: &Target<'_>,
) -> Result<(Ctx, ResolvedScope), AppError> {
    let access = guard.access;
    let access_index = state.app.access_of(&actor).await?;
    let ctx = Ctx::new(actor, meta, access_index);
    let resolved = state
        .app
        .resolve_scope(target.org.as_deref(), target.project.as_deref())
        .await?;
    state
        .app
        .check_ip_allowlists(&ctx.meta, resolved.scope())
        .await?;
    if let Err(error) = authorize(&ctx.actor, &ctx.access, access, resolved.scope()) {
        let permission = match access {
            Access::Permission(permission) | Access::List(permission) => Some(permission.as_str()),
            _ => None,
        };
        let record = ctx
            .audit(state.app.now(), "access.denied", "route")
            .scope(resolved.scope())
            .outcome(Outcome::Denied)
            .details(json!({
                "method": target.method.as_str(),
                "route": target.route,
                "permission": permission,
            }))
            .build();
        if let Err(store_error) = state.app.store().append_audit(&record).await {
            // A denial that cannot be recorded is still a denial.
            tracing::error!(error = %store_error, "could not record an authorisation denial");
        }
        return Err(error);
    }
    // After authorisation: a scope the caller cannot see answers 404 before any policy
    // of it is told.
    state
        .app
        .check_sso_policies(&ctx.actor, &ctx.meta, resolved.scope())
        .await?;
    if guard.step_up {
        state
            .app
            .check_step_up(
                &ctx,
                resolved.scope(),
                &format!("{} {}", target.method, target.route),
            )
            .await?;
    }
    Ok((ctx, resolved))
}

/// Handlers of scoped routes take the resolved scope from here.
pub type Scope = axum::Extension<ResolvedScope>;
