//! The Terraform/OpenTofu `http` state backend at `/tf/v1/{org}/{project}/{workspace}`
//! (state: GET, POST or PUT) and `…/lock` (LOCK or POST locks; UNLOCK or DELETE
//! unlocks), as the stock client speaks it: HTTP Basic auth whose password is an API
//! token (the username is ignored), `?ID=` on locked writes, the holder's lock JSON as
//! the body of a 423 (LOCK) or 409 (UNLOCK). Mounted outside the `/api/v1` route table
//! because the client's methods and auth are its own; the same checks run here as at
//! the API's enforcement point (token, IP allowlists, scope, per-workspace permission).

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rampart_app::iacm::{LockOutcome, WriteOutcome};
use rampart_app::{AppError, Ctx, RequestMeta};
use rampart_domain::ErrorCode;
use rampart_domain::iacm::workspaces::Workspace;
use serde::Deserialize;

use crate::AppState;
use crate::error::ApiError;
use crate::unread_body::{BodyWatch, declared_over};

#[derive(Deserialize)]
pub struct LockQuery {
    #[serde(rename = "ID")]
    id: Option<String>,
}

type StatePath = Path<(String, String, String)>;

/// Mounts `/tf/v1/{org}/{project}/{workspace}` and `…/lock` (their own methods, auth and
/// body limit).
pub fn mount(router: Router<AppState>) -> Router<AppState> {
    router
        .route(
            "/tf/v1/{org}/{project}/{workspace}",
            axum::routing::any(state_route).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route(
            "/tf/v1/{org}/{project}/{workspace}/lock",
            axum::routing::any(lock_route).layer(axum::extract::DefaultBodyLimit::disable()),
        )
}

fn error(error: impl Into<ApiError>) -> Response {
    let mut error: ApiError = error.into();
    // Every "not found" of the backend reads alike (organisation, project or
    // workspace, missing or hidden): the path enumerates nothing.
    if error.status == StatusCode::NOT_FOUND {
        error = ApiError::from(AppError::NotFound { what: "workspace" });
    }
    let mut response = error.into_response();
    if response.status() == StatusCode::UNAUTHORIZED {
        // The client sends Basic credentials; say so.
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"rampart\""),
        );
    }
    response
}

/// The API token in `Authorization: Basic base64(user:token)` (or a bearer token).
fn token(headers: &HeaderMap) -> Result<String, AppError> {
    let missing = || {
        AppError::unauthenticated(
            ErrorCode::AuthenticationRequired,
            "the state backend needs an API token as the HTTP Basic password \
             (password = \"rmp_…\" or TF_HTTP_PASSWORD)",
        )
    };
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .ok_or_else(missing)?;
    if let Some(token) = rampart_app::credentials::bearer(value) {
        return Ok(token.to_owned());
    }
    let (_, password) = rampart_app::credentials::basic(value).ok_or_else(missing)?;
    if password.is_empty() {
        return Err(missing());
    }
    Ok(password.as_str().to_owned())
}

/// Authenticates, resolves the project and checks allowlists; then the workspace (made
/// on first use when the caller may create workspaces).
async fn open(
    state: &AppState,
    headers: &HeaderMap,
    meta: RequestMeta,
    (org, project, workspace): (String, String, String),
) -> Result<(Ctx, Workspace), AppError> {
    let token = token(headers)?;
    let actor = state.app.authenticate_token(&token, &meta).await?;
    let access = state.app.access_of(&actor).await?;
    let ctx = Ctx::new(actor, meta, access);
    // Hidden looks exactly like missing: a missing organisation, project or workspace
    // and one the caller may neither see nor use all answer the same 404, so the path
    // enumerates nothing.
    let hidden = |error: AppError| match error {
        AppError::NotFound { .. } => AppError::NotFound { what: "workspace" },
        other => other,
    };
    let resolved = state
        .app
        .resolve_scope(Some(&org), Some(&project))
        .await
        .map_err(hidden)?;
    state
        .app
        .check_ip_allowlists(&ctx.meta, resolved.scope())
        .await?;
    // Per-workspace permissions decide from here on.
    let workspace = state
        .app
        .backend_workspace(&ctx, resolved.scope(), &workspace)
        .await
        .map_err(hidden)?;
    Ok((ctx, workspace))
}

/// Reads the body up to the state size limit (413 `state_too_large` above it).
async fn read_body(state: &AppState, body: Body) -> Result<Bytes, AppError> {
    let limit = state.app.settings().state_size_bytes_max;
    axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| state_too_large(limit))
}

fn state_too_large(limit: usize) -> AppError {
    AppError::TooLarge {
        code: ErrorCode::StateTooLarge,
        message: format!("a state body holds at most {limit} bytes"),
    }
}

fn lock_info_too_large(limit: usize) -> AppError {
    AppError::TooLarge {
        code: ErrorCode::LockInfoTooLarge,
        message: format!("lock info holds at most {limit} bytes"),
    }
}

fn meta_of(request_meta: Option<axum::Extension<RequestMeta>>) -> RequestMeta {
    request_meta.map(|m| m.0).unwrap_or_default()
}

/// A JSON body as stored (a state, or a holder's lock info), with `status`.
fn json_body(status: StatusCode, body: impl Into<Body>) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body.into(),
    )
        .into_response()
}

/// `/tf/v1/{org}/{project}/{workspace}`.
#[allow(clippy::too_many_arguments)] // axum extractors: each part of the request it reads
pub async fn state_route(
    State(state): State<AppState>,
    path: StatePath,
    Query(query): Query<LockQuery>,
    method: Method,
    headers: HeaderMap,
    request_meta: Option<axum::Extension<RequestMeta>>,
    watch: Option<axum::Extension<BodyWatch>>,
    body: Body,
) -> Response {
    // A state declared too large is refused before anything is read or looked up.
    let limit = state.app.settings().state_size_bytes_max;
    if declared_over(watch.as_deref(), &headers, limit) {
        return error(state_too_large(limit));
    }
    let (ctx, workspace) = match open(&state, &headers, meta_of(request_meta), path.0).await {
        Ok(opened) => opened,
        Err(failure) => return error(failure),
    };
    match method {
        Method::GET => match state.app.read_state(&ctx, &workspace, None).await {
            Ok(Some((_, body))) => json_body(StatusCode::OK, body),
            Ok(None) => {
                ApiError::new(ErrorCode::NoState, "this workspace has no state yet").into_response()
            }
            Err(failure) => error(failure),
        },
        Method::POST | Method::PUT => {
            let body = match read_body(&state, body).await {
                Ok(body) => body,
                Err(failure) => return error(failure),
            };
            let content_md5 = match headers.get("content-md5").map(HeaderValue::to_str) {
                None => None,
                Some(Ok(md5)) => Some(md5),
                Some(Err(_)) => Some(""),
            };
            match state
                .app
                .write_state(&ctx, &workspace, query.id.as_deref(), &body, content_md5)
                .await
            {
                Ok(WriteOutcome::Stored(_) | WriteOutcome::Retry(_)) => {
                    StatusCode::OK.into_response()
                }
                Err(failure) => error(failure),
            }
        }
        _ => ApiError::new(
            ErrorCode::MethodNotAllowed,
            "the state address takes GET, POST or PUT; locks live at …/lock",
        )
        .into_response(),
    }
}

/// `/tf/v1/{org}/{project}/{workspace}/lock`.
pub async fn lock_route(
    State(state): State<AppState>,
    path: StatePath,
    method: Method,
    headers: HeaderMap,
    request_meta: Option<axum::Extension<RequestMeta>>,
    watch: Option<axum::Extension<BodyWatch>>,
    body: Body,
) -> Response {
    let limit = rampart_domain::limits::STATE_LOCK_INFO_BYTES_MAX;
    if declared_over(watch.as_deref(), &headers, limit) {
        return error(lock_info_too_large(limit));
    }
    let (ctx, workspace) = match open(&state, &headers, meta_of(request_meta), path.0).await {
        Ok(opened) => opened,
        Err(failure) => return error(failure),
    };
    let body = match axum::body::to_bytes(body, limit).await {
        Ok(body) => body,
        Err(_) => return error(lock_info_too_large(limit)),
    };
    let (outcome, held_status) = match method.as_str() {
        "LOCK" | "POST" | "PUT" => (
            state.app.lock_state(&ctx, &workspace, &body).await,
            StatusCode::LOCKED,
        ),
        "UNLOCK" | "DELETE" => (
            state.app.unlock_state(&ctx, &workspace, &body).await,
            StatusCode::CONFLICT,
        ),
        _ => {
            return ApiError::new(
                ErrorCode::MethodNotAllowed,
                "the lock address takes LOCK or POST to lock, UNLOCK or DELETE to unlock",
            )
            .into_response();
        }
    };
    match outcome {
        Ok(LockOutcome::Done) => StatusCode::OK.into_response(),
        Ok(LockOutcome::HeldBy(info)) => json_body(held_status, info),
        Err(failure) => error(failure),
    }
}
