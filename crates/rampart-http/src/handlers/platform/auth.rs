//! Login, logout, the current principal and password change.

use axum::extract::State;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use rampart_api::platform as wire;
use rampart_app::Access;
use rampart_app::platform::identity::Me;
use rampart_app::{Ctx, RequestMeta};
use rampart_domain::ErrorCode;

use crate::AppState;
use crate::convert;
use crate::enforce::SESSION_COOKIE;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::routes::{RouteSpec, RouteTable};

/// Registers this module's routes.
pub fn routes(table: &mut RouteTable) {
    use Method as M;
    let r = RouteSpec::new;

    // Sessions and the current principal.
    table.add(
        r(
            M::POST,
            "/api/v1/auth/login",
            Access::Public,
            "Password login; sets the session cookie",
        )
        .body::<wire::LoginRequest>()
        .reply::<wire::LoginResponse>(200)
        // Wrong credentials; a source outside the account's allowlist.
        .errors(&[401, 403]),
        login,
    );
    table.add(
        r(
            M::POST,
            "/api/v1/auth/logout",
            Access::SelfService,
            "End the current session; for a single sign-on session, also where to end \
             it at the provider",
        )
        .reply::<wire::LogoutResponse>(200)
        // `not_a_session`: an API token is revoked, not logged out.
        .errors(&[400]),
        logout,
    );
    table.add(
        r(
            M::POST,
            "/api/v1/auth/reauthenticate",
            Access::SelfService,
            "Prove it is you again (step-up): a password session's password renews its \
             sign-in for sensitive actions (an SSO session re-authenticates at its provider)",
        )
        .body::<wire::ReauthenticateRequest>()
        // `not_a_session`, `reauthentication_method_mismatch`; a wrong password (401).
        .errors(&[400, 401]),
        reauthenticate,
    );
    table.add(
        r(
            M::GET,
            "/api/v1/me",
            Access::SelfServiceNarrowedOk,
            "Who am I",
        )
        .reply::<wire::Me>(200),
        me,
    );
    table.add(
        r(
            M::POST,
            "/api/v1/me/password",
            Access::SelfService,
            "Change my password (ends my sessions)",
        )
        .body::<wire::PasswordChange>(),
        change_password,
    );
}

pub async fn login(
    State(state): State<AppState>,
    Extension(meta): Extension<RequestMeta>,
    ApiJson(body): ApiJson<wire::LoginRequest>,
) -> ApiResult<Response> {
    let outcome = state.app.login(&body.email, &body.password, &meta).await?;
    let cookie = session_set_cookie(&state, outcome.session_secret.as_str());
    let mut response = Json(wire::LoginResponse {
        csrf_token: outcome.csrf_token.to_string(),
        expires_at: outcome.absolute_expires_at.to_string(),
        idle_timeout_secs: outcome.idle_timeout_secs,
    })
    .into_response();
    let cookie = HeaderValue::from_str(&cookie)
        .map_err(|_| ApiError::new(ErrorCode::InternalError, "internal error"))?;
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(response)
}

/// The `Set-Cookie` value of a new session (password or single sign-on login).
pub fn session_set_cookie(state: &AppState, secret: &str) -> String {
    format!(
        "{SESSION_COOKIE}={secret}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age={}",
        state.app.settings().session_timeouts.absolute_secs
    )
}

pub async fn logout(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
) -> ApiResult<Response> {
    // Asked before the session ends: the provider it signed in through.
    let provider_logout_url = state.app.provider_logout_url(&ctx.actor).await;
    state.app.logout(&ctx).await?;
    let mut response = Json(wire::LogoutResponse {
        provider_logout_url,
    })
    .into_response();
    clear_session_cookies(response.headers_mut());
    Ok(response)
}

/// Tells the browser to forget its session (after a logout, API or web UI).
pub fn clear_session_cookies(headers: &mut axum::http::HeaderMap) {
    headers.append(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "__Host-rampart_session=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0",
        ),
    );
    // The CSRF cookie a single sign-on login handed over goes with the session.
    headers.append(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "__Host-rampart_csrf=; Path=/; Secure; SameSite=Strict; Max-Age=0",
        ),
    );
}

pub async fn me(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
) -> ApiResult<Json<wire::Me>> {
    let narrowed = match ctx.actor.narrowed_to_project() {
        Some(id) => project_path(&state, id).await?,
        None => None,
    };
    let me = state.app.me(&ctx).await?;
    let (kind, user, service_account) = match me {
        Me::User(user) => ("user", Some(convert::user(&user)), None),
        Me::ServiceAccount(account) => {
            let org = state
                .app
                .store()
                .org_by_id(account.org_id)
                .await
                .map_err(rampart_app::AppError::from)?;
            let project = match account.project_id {
                Some(id) => state
                    .app
                    .store()
                    .project_by_id(id)
                    .await
                    .map_err(rampart_app::AppError::from)?,
                None => None,
            };
            let wire = org.map(|org| convert::service_account(&account, &org, project.as_ref()));
            ("service_account", None, wire)
        }
    };
    Ok(Json(wire::Me {
        kind: kind.into(),
        user,
        service_account,
        auth_method: ctx.actor.auth_method.as_str().into(),
        session_method: ctx.actor.session_method.clone(),
        authenticated_at: ctx.actor.authenticated_at.map(|at| at.to_string()),
        token_id: ctx.actor.token_id.map(|id| id.to_string()),
        narrowed_to_project: narrowed,
    }))
}

/// `org/project` for a project id (narrowed tokens are displayed this way).
pub async fn project_path(
    state: &AppState,
    id: rampart_domain::ProjectId,
) -> ApiResult<Option<String>> {
    let store = state.app.store();
    let Some(project) = store
        .project_by_id(id)
        .await
        .map_err(rampart_app::AppError::from)?
    else {
        return Ok(None);
    };
    let org = store
        .org_by_id(project.org_id)
        .await
        .map_err(rampart_app::AppError::from)?;
    Ok(org.map(|org| format!("{}/{}", org.identifier, project.identifier)))
}

pub async fn reauthenticate(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    ApiJson(body): ApiJson<wire::ReauthenticateRequest>,
) -> ApiResult<StatusCode> {
    state.app.reauthenticate(&ctx, &body.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn change_password(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    ApiJson(body): ApiJson<wire::PasswordChange>,
) -> ApiResult<StatusCode> {
    state
        .app
        .change_own_password(&ctx, body.current_password.as_deref(), &body.new_password)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
