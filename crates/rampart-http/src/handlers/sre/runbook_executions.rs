//! Executions of runbooks: start one (`…/runbooks/{runbook}/executions`,
//! `runbook:execute`), list them (a runbook's, or the project's at
//! `…/runbook-executions`), read one with its steps, approve a sensitive runbook's
//! (a second person) and cancel.

use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::{Extension, Json};
use rampart_api::{ListParams, ListResponse, sre as wire};
use rampart_app::Ctx;
use rampart_app::sre::runbook_executions::{ExecutionInput, ExecutionView};
use rampart_domain::Permission as P;
use rampart_domain::sre::runbook_executions::RunbookExecution;

use crate::AppState;
use crate::enforce::Scope;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath, ApiQuery, path_params};
use crate::routes::{PROJECT, RouteSpec, RouteTable, join_path, perm};

/// Registers this module's routes.
pub fn routes(table: &mut RouteTable) {
    use Method as M;
    let r = RouteSpec::new;
    let path = |suffix| join_path(PROJECT, suffix);
    table.add(
        r(
            M::POST,
            path("/runbooks/{runbook}/executions"),
            perm(P::RunbookExecute),
            "Start an execution of a runbook (a sensitive one waits for approval)",
        )
        .step_up()
        .body::<wire::RunbookExecutionCreate>()
        .reply::<wire::RunbookExecution>(201),
        start_execution,
    );
    table.add(
        r(
            M::GET,
            path("/runbooks/{runbook}/executions"),
            perm(P::RunbookView),
            "A runbook's executions, newest first",
        )
        .page::<wire::RunbookExecutionSummary>(),
        list_runbook_executions,
    );
    table.add(
        r(
            M::GET,
            path("/runbook-executions"),
            perm(P::RunbookView),
            "The project's runbook executions, newest first",
        )
        .page::<wire::RunbookExecutionSummary>(),
        list_executions,
    );
    table.add(
        r(
            M::GET,
            path("/runbook-executions/{execution}"),
            perm(P::RunbookView),
            "A runbook execution with its steps and their output",
        )
        .reply::<wire::RunbookExecution>(200),
        get_execution,
    );
    table.add(
        r(
            M::POST,
            path("/runbook-executions/{execution}/approve"),
            perm(P::RunbookExecute),
            "Approve a sensitive runbook's execution (not by who started it); it starts",
        )
        .step_up()
        .reply::<wire::RunbookExecution>(200)
        .errors(&[409]),
        approve_execution,
    );
    table.add(
        r(
            M::POST,
            path("/runbook-executions/{execution}/cancel"),
            perm(P::RunbookExecute),
            "Cancel an execution waiting for approval or running (no further step starts)",
        )
        .reply::<wire::RunbookExecution>(200)
        .errors(&[409]),
        cancel_execution,
    );
}

path_params! {
    /// `…/runbooks/{runbook}/executions`
    pub struct RunbookPath { runbook }
}

path_params! {
    /// `…/runbook-executions/{execution}`
    pub struct ExecutionPath { execution }
}

fn wire_summary(execution: RunbookExecution) -> wire::RunbookExecutionSummary {
    wire::RunbookExecutionSummary {
        id: execution.id.to_string(),
        runbook: execution.runbook_identifier,
        runbook_version: execution.runbook_version,
        trigger: execution.trigger.as_str().to_owned(),
        status: execution.status.as_str().to_owned(),
        started_by: execution.started_by,
        current_step: execution.current_step,
        error_code: execution.error_code,
        created_at: execution.created_at.to_string(),
        finished_at: execution.finished_at.map(|at| at.to_string()),
    }
}

fn wire_execution(view: ExecutionView) -> wire::RunbookExecution {
    let execution = view.execution;
    wire::RunbookExecution {
        id: execution.id.to_string(),
        runbook: execution.runbook_identifier,
        runbook_version: execution.runbook_version,
        incident: view.incident_number,
        trigger: execution.trigger.as_str().to_owned(),
        status: execution.status.as_str().to_owned(),
        started_by: execution.started_by,
        approved_by: execution.approved_by,
        canceled_by: execution.canceled_by,
        error_code: execution.error_code,
        inputs: view.inputs,
        steps: view
            .steps
            .into_iter()
            .map(|step| wire::RunbookExecutionStep {
                index: step.step.index,
                name: step.step.name,
                kind: step.step.kind,
                status: step.step.status.as_str().to_owned(),
                task_id: step.step.task_id.map(|id| id.to_string()),
                error_code: step.step.error_code,
                output: step.output.map(|output| {
                    serde_json::from_str(&output).unwrap_or(serde_json::Value::String(output))
                }),
                started_at: step.step.started_at.map(|at| at.to_string()),
                finished_at: step.step.finished_at.map(|at| at.to_string()),
            })
            .collect(),
        created_at: execution.created_at.to_string(),
        updated_at: execution.updated_at.to_string(),
        finished_at: execution.finished_at.map(|at| at.to_string()),
    }
}

pub async fn start_execution(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<RunbookPath>,
    ApiJson(body): ApiJson<wire::RunbookExecutionCreate>,
) -> ApiResult<(StatusCode, Json<wire::RunbookExecution>)> {
    let view = state
        .app
        .start_runbook_execution(
            &ctx,
            scope.scope(),
            &path.runbook,
            ExecutionInput {
                inputs: body.inputs.into_iter().collect(),
                incident: body.incident,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(wire_execution(view))))
}

pub async fn list_runbook_executions(
    State(state): State<AppState>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<RunbookPath>,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<ListResponse<wire::RunbookExecutionSummary>>> {
    page_of(&state, scope.scope(), Some(&path.runbook), &params).await
}

pub async fn list_executions(
    State(state): State<AppState>,
    Extension(scope): Scope,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<ListResponse<wire::RunbookExecutionSummary>>> {
    page_of(&state, scope.scope(), None, &params).await
}

/// One page of the executions of the project at `scope`, or of one of its runbooks.
async fn page_of(
    state: &AppState,
    scope: rampart_domain::platform::tenancy::Scope,
    runbook: Option<&str>,
    params: &ListParams,
) -> ApiResult<Json<ListResponse<wire::RunbookExecutionSummary>>> {
    let page = state
        .app
        .runbook_executions(scope, runbook, params.limit, params.cursor.as_deref())
        .await?;
    Ok(Json(ListResponse {
        items: page.items.into_iter().map(wire_summary).collect(),
        next_cursor: page.next_cursor,
    }))
}

pub async fn get_execution(
    State(state): State<AppState>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<ExecutionPath>,
) -> ApiResult<Json<wire::RunbookExecution>> {
    let view = state
        .app
        .runbook_execution(scope.scope(), &path.execution)
        .await?;
    Ok(Json(wire_execution(view)))
}

pub async fn approve_execution(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<ExecutionPath>,
) -> ApiResult<Json<wire::RunbookExecution>> {
    let view = state
        .app
        .approve_runbook_execution(&ctx, scope.scope(), &path.execution)
        .await?;
    Ok(Json(wire_execution(view)))
}

pub async fn cancel_execution(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<ExecutionPath>,
) -> ApiResult<Json<wire::RunbookExecution>> {
    let view = state
        .app
        .cancel_runbook_execution(&ctx, scope.scope(), &path.execution)
        .await?;
    Ok(Json(wire_execution(view)))
}
