//! Delegates: a project's members manage them and follow their tasks
//! (`…/projects/{project}/delegates`, `…/delegate-tasks`); the agent registers, polls
//! for signed tasks and reports results under `/api/v1/delegate/…`, authenticated by
//! its own `rmp_dlg_` credential (those routes are open at the edge and the handler
//! checks the credential: no user token is accepted there, and a delegate credential
//! is accepted nowhere else).

use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use rampart_api::platform as wire;
use rampart_api::{ListParams, ListResponse};
use rampart_app::platform::delegates::{DelegateCaller, DelegateInput, TaskOutcome, TaskView};
use rampart_app::{Access, AppError, Ctx, RequestMeta};
use rampart_domain::ErrorCode;
use rampart_domain::Permission as P;
use rampart_domain::platform::delegates::{Delegate, DelegateTask};

use crate::AppState;
use crate::enforce::Scope;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath, ApiQuery, path_params};
use crate::routes::{
    CURSOR, LIMIT, PROJECT, QueryParam, RouteSpec, RouteTable, Shape, join_path, perm,
};

/// The header an agent names its version in on every request.
pub const VERSION_HEADER: &str = "x-rampart-delegate-version";

/// Registers this module's routes.
pub fn routes(table: &mut RouteTable) {
    use Method as M;
    let r = RouteSpec::new;
    let path = |suffix| join_path(PROJECT, suffix);
    const TASK_LIST_QUERY: &[QueryParam] = &[
        QueryParam::optional(
            "status",
            "queued, running, succeeded, failed or refused",
            Shape::OneOf(&["queued", "running", "succeeded", "failed", "refused"]),
        ),
        LIMIT,
        CURSOR,
    ];
    const POLL_QUERY: &[QueryParam] = &[QueryParam::optional(
        "wait",
        "seconds to wait for a task, 0 to 30 (default 25)",
        Shape::Integer { min: 0, max: 30 },
    )];

    table.add(
        r(
            M::GET,
            path("/delegates"),
            perm(P::DelegateView),
            "The project's delegates, with their last heartbeat, version and tags",
        )
        .page::<wire::Delegate>(),
        list_delegates,
    );
    table.add(
        r(
            M::POST,
            path("/delegates"),
            perm(P::DelegateCreate),
            "Create a delegate: its one-time registration token is returned once",
        )
        .step_up()
        .body::<wire::DelegateCreate>()
        .reply::<wire::DelegateCreated>(201)
        .errors(&[409]),
        create_delegate,
    );
    table.add(
        r(
            M::GET,
            path("/delegates/{delegate}"),
            perm(P::DelegateView),
            "A delegate",
        )
        .reply::<wire::Delegate>(200),
        get_delegate,
    );
    table.add(
        r(
            M::POST,
            path("/delegates/{delegate}/revoke"),
            perm(P::DelegateEdit),
            "Revoke a delegate: its next request is refused and its running tasks are queued again",
        )
        .reply::<wire::Delegate>(200),
        revoke_delegate,
    );
    table.add(
        r(
            M::DELETE,
            path("/delegates/{delegate}"),
            perm(P::DelegateDelete),
            "Delete a delegate (revoking it)",
        ),
        delete_delegate,
    );
    table.add(
        r(
            M::POST,
            path("/delegates/{delegate}/ping"),
            perm(P::DelegateEdit),
            "Queue a connectivity check of a delegate; follow the returned task",
        )
        .body::<wire::DelegatePing>()
        .reply::<wire::DelegateTask>(202)
        .errors(&[400, 409]),
        ping_delegate,
    );
    table.add(
        r(
            M::GET,
            path("/delegate-tasks"),
            perm(P::DelegateView),
            "The project's delegate tasks, newest first (filter: status)",
        )
        .page::<wire::DelegateTask>()
        .query(TASK_LIST_QUERY),
        list_tasks,
    );
    table.add(
        r(
            M::GET,
            path("/delegate-tasks/{task}"),
            perm(P::DelegateView),
            "A delegate task with what its delegate reported",
        )
        .reply::<wire::DelegateTask>(200),
        get_task,
    );

    // The agent's side.
    table.add(
        r(
            M::POST,
            "/api/v1/delegate/register",
            Access::Public,
            "Exchange a registration token for the delegate's credential and the task-signing key",
        )
        .body::<wire::DelegateRegister>()
        .reply::<wire::DelegateRegistered>(201)
        .errors(&[401]),
        register,
    );
    table.add(
        r(
            M::GET,
            "/api/v1/delegate/tasks/next",
            Access::Public,
            "Wait for the next task (long poll; 204 when none came): a signed envelope and its arguments",
        )
        .reply::<wire::DelegateWork>(200)
        .query(POLL_QUERY)
        .errors(&[401]),
        next_task,
    );
    table.add(
        r(
            M::POST,
            "/api/v1/delegate/tasks/{task}/result",
            Access::Public,
            "Report how an attempt at a task ended",
        )
        .body::<wire::DelegateTaskResult>()
        .reply::<wire::DelegateTaskReported>(200)
        .errors(&[401, 409]),
        report_task,
    );
    table.add(
        r(
            M::POST,
            "/api/v1/delegate/tasks/{task}/progress",
            Access::Public,
            "Show what a running task has done so far (a script's output); extends its lease",
        )
        .body::<wire::DelegateTaskProgress>()
        .empty(204)
        .errors(&[401, 409]),
        report_progress,
    );
}

path_params! {
    /// `…/delegates/{delegate}`
    pub struct DelegatePath { delegate }
}

path_params! {
    /// `…/delegate-tasks/{task}`
    pub struct TaskPath { task }
}

fn wire_delegate(delegate: &Delegate) -> wire::Delegate {
    let text = |time: Option<jiff::Timestamp>| time.map(|time| time.to_string());
    wire::Delegate {
        id: delegate.id.to_string(),
        name: delegate.name.to_string(),
        tags: delegate.tags.to_strings(),
        status: delegate.status.as_str().to_owned(),
        registration_expires_at: text(delegate.registration_expires_at),
        version: delegate.version.clone(),
        last_heartbeat_at: text(delegate.last_heartbeat_at),
        last_ip: delegate.last_ip.clone(),
        created_by: delegate.created_by.clone(),
        created_at: delegate.created_at.to_string(),
        registered_at: text(delegate.registered_at),
        revoked_at: text(delegate.revoked_at),
        sandbox: delegate.sandbox.clone(),
    }
}

fn wire_task(task: &DelegateTask, result: Option<String>) -> wire::DelegateTask {
    wire::DelegateTask {
        id: task.id.to_string(),
        kind: task.kind.as_str().to_owned(),
        status: task.status.as_str().to_owned(),
        selector: task.selector.to_strings(),
        target_delegate_id: task.target_delegate_id.map(|id| id.to_string()),
        delegate_id: task.delegate_id.map(|id| id.to_string()),
        attempts: task.attempts,
        max_attempts: task.max_attempts,
        not_before: task.not_before.to_string(),
        expires_at: task.expires_at.to_string(),
        error_code: task.error_code.clone(),
        result,
        created_at: task.created_at.to_string(),
        updated_at: task.updated_at.to_string(),
    }
}

pub async fn list_delegates(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<ListResponse<wire::Delegate>>> {
    let page = state
        .app
        .delegates(&ctx, scope.scope(), params.limit, params.cursor.as_deref())
        .await?;
    Ok(Json(ListResponse {
        items: page.items.iter().map(wire_delegate).collect(),
        next_cursor: page.next_cursor,
    }))
}

pub async fn create_delegate(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiJson(body): ApiJson<wire::DelegateCreate>,
) -> ApiResult<(StatusCode, Json<wire::DelegateCreated>)> {
    let (delegate, token) = state
        .app
        .create_delegate(
            &ctx,
            scope.scope(),
            DelegateInput {
                name: body.name,
                tags: body.tags,
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(wire::DelegateCreated {
            delegate: wire_delegate(&delegate),
            registration_token: token.to_string(),
        }),
    ))
}

pub async fn get_delegate(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<DelegatePath>,
) -> ApiResult<Json<wire::Delegate>> {
    let delegate = state
        .app
        .delegate(&ctx, scope.scope(), &path.delegate)
        .await?;
    Ok(Json(wire_delegate(&delegate)))
}

pub async fn revoke_delegate(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<DelegatePath>,
) -> ApiResult<Json<wire::Delegate>> {
    let delegate = state
        .app
        .revoke_delegate(&ctx, scope.scope(), &path.delegate)
        .await?;
    Ok(Json(wire_delegate(&delegate)))
}

pub async fn delete_delegate(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<DelegatePath>,
) -> ApiResult<StatusCode> {
    state
        .app
        .delete_delegate(&ctx, scope.scope(), &path.delegate)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn ping_delegate(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<DelegatePath>,
    ApiJson(body): ApiJson<wire::DelegatePing>,
) -> ApiResult<(StatusCode, Json<wire::DelegateTask>)> {
    let task = state
        .app
        .ping_delegate(&ctx, scope.scope(), &path.delegate, body.echo.as_deref())
        .await?;
    Ok((StatusCode::ACCEPTED, Json(wire_task(&task, None))))
}

pub async fn list_tasks(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiQuery(params): ApiQuery<wire::DelegateTaskListParams>,
) -> ApiResult<Json<ListResponse<wire::DelegateTask>>> {
    let page = state
        .app
        .delegate_tasks(
            &ctx,
            scope.scope(),
            params.status.as_deref(),
            params.limit,
            params.cursor.as_deref(),
        )
        .await?;
    Ok(Json(ListResponse {
        items: page
            .items
            .iter()
            .map(|task| wire_task(task, None))
            .collect(),
        next_cursor: page.next_cursor,
    }))
}

pub async fn get_task(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<TaskPath>,
) -> ApiResult<Json<wire::DelegateTask>> {
    let TaskView { task, result } = state
        .app
        .delegate_task(&ctx, scope.scope(), &path.task)
        .await?;
    Ok(Json(wire_task(&task, result)))
}

/// The calling agent, from its credential.
async fn caller(
    state: &AppState,
    meta: &RequestMeta,
    headers: &HeaderMap,
    sandbox: Option<&str>,
) -> Result<DelegateCaller, AppError> {
    let text = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    state
        .app
        .authenticate_delegate(
            meta,
            text(header::AUTHORIZATION.as_str()),
            text(VERSION_HEADER),
            sandbox,
        )
        .await
}

pub async fn register(
    State(state): State<AppState>,
    Extension(meta): Extension<RequestMeta>,
    ApiJson(body): ApiJson<wire::DelegateRegister>,
) -> ApiResult<(StatusCode, Json<wire::DelegateRegistered>)> {
    let registration = state
        .app
        .register_delegate(&meta, &body.registration_token, &body.version)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(wire::DelegateRegistered {
            delegate: wire_delegate(&registration.delegate),
            project: registration.project.clone(),
            credential: registration.credential.to_string(),
            task_signing_public_key: registration.task_signing_public_key.clone(),
        }),
    ))
}

/// The default wait of a poll when `wait` is not given.
const POLL_WAIT_DEFAULT: u64 = 25;
/// How long before the request timeout a poll gives up waiting.
const POLL_TIMEOUT_MARGIN: Duration = Duration::from_secs(2);

pub async fn next_task(
    State(state): State<AppState>,
    Extension(meta): Extension<RequestMeta>,
    headers: HeaderMap,
    ApiQuery(params): ApiQuery<wire::DelegatePollParams>,
) -> ApiResult<Response> {
    let caller = caller(&state, &meta, &headers, params.sandbox.as_deref()).await?;
    // The poll ends before the server's request timeout would answer it 503.
    let wait = Duration::from_secs(params.wait.unwrap_or(POLL_WAIT_DEFAULT)).min(
        state
            .settings
            .request_timeout
            .saturating_sub(POLL_TIMEOUT_MARGIN),
    );
    let Some(claimed) = state.app.next_delegate_task(&caller, wait).await? else {
        return Ok(StatusCode::NO_CONTENT.into_response());
    };
    let envelope = &claimed.signed.envelope;
    Ok(Json(wire::DelegateWork {
        envelope: wire::TaskEnvelope {
            task_id: envelope.task_id.clone(),
            kind: envelope.kind.clone(),
            arguments_sha256: envelope.arguments_sha256.clone(),
            delegate_id: envelope.delegate_id.clone(),
            expires_at: envelope.expires_at,
            nonce: envelope.nonce.clone(),
        },
        signature: claimed.signed.signature.clone(),
        attempt: claimed.task.attempts,
        arguments: claimed.arguments.to_string(),
    })
    .into_response())
}

pub async fn report_progress(
    State(state): State<AppState>,
    Extension(meta): Extension<RequestMeta>,
    headers: HeaderMap,
    ApiPath(path): ApiPath<TaskPath>,
    body: axum::body::Body,
) -> ApiResult<StatusCode> {
    // The credential first: nothing about the body is answered to a stranger.
    let caller = caller(&state, &meta, &headers, None).await?;
    let mut request = axum::extract::Request::new(body);
    *request.headers_mut() = headers;
    let ApiJson(body) =
        <ApiJson<wire::DelegateTaskProgress> as axum::extract::FromRequest<()>>::from_request(
            request,
            &(),
        )
        .await?;
    state
        .app
        .record_task_progress(&caller, &path.task, body.attempt, &body.output)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn report_task(
    State(state): State<AppState>,
    Extension(meta): Extension<RequestMeta>,
    headers: HeaderMap,
    ApiPath(path): ApiPath<TaskPath>,
    body: axum::body::Body,
) -> ApiResult<Json<wire::DelegateTaskReported>> {
    // The credential first: nothing about the body is answered to a stranger.
    let caller = caller(&state, &meta, &headers, None).await?;
    let mut request = axum::extract::Request::new(body);
    *request.headers_mut() = headers;
    let ApiJson(body) =
        <ApiJson<wire::DelegateTaskResult> as axum::extract::FromRequest<()>>::from_request(
            request,
            &(),
        )
        .await?;
    let outcome = match body.outcome.as_str() {
        "succeeded" => TaskOutcome::Succeeded,
        "failed" if body.permanent => TaskOutcome::FailedPermanently,
        "failed" => TaskOutcome::Failed,
        "refused" => TaskOutcome::Refused,
        _ => {
            return Err(AppError::bad_request(
                ErrorCode::InvalidOutcome,
                "outcome must be succeeded, failed or refused",
            )
            .into());
        }
    };
    let status = state
        .app
        .report_delegate_task(
            &caller,
            &path.task,
            body.attempt,
            outcome,
            body.output.as_deref(),
            body.error_code.as_deref(),
        )
        .await?;
    Ok(Json(wire::DelegateTaskReported {
        status: status.as_str().to_owned(),
    }))
}
