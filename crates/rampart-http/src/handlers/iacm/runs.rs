//! Runs of a workspace through the API: create, list, read (with the plan, policy
//! results, cost, approvals and transitions), attach the plan, override, approve,
//! discard, cancel, and the verified apply's start and result. The use cases decide per
//! workspace and per run (a destroy run needs `workspace:destroy`).

use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::{Extension, Json};
use rampart_api::iacm as wire;
use rampart_api::{ListParams, ListResponse};
use rampart_app::iacm::runs::{ApplyOutcome, RunView};
use rampart_app::{Access, AppError, Ctx};
use rampart_domain::iacm::runs::Run;
use rampart_domain::{ErrorCode, Permission as P};

use super::plans::wire_plan;
use super::policy_sets::wire_results;
use super::workspaces::WorkspacePath;
use crate::AppState;
use crate::enforce::Scope;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath, ApiQuery, path_params};
use crate::routes::{RouteSpec, RouteTable, join_path};

/// Registers this module's routes.
pub fn routes(table: &mut RouteTable) {
    use Method as M;
    let r = RouteSpec::new;

    const BASE: &str = "/api/v1/orgs/{org}/projects/{project}/workspaces/{workspace}/runs";
    let path = |suffix| join_path(BASE, suffix);
    table.add(
        r(
            M::POST,
            BASE,
            Access::PerResource(P::WorkspacePlan),
            "Start a run (status `planning`); a destroy run needs workspace:destroy",
        )
        .body::<wire::RunCreate>()
        .reply::<wire::RunDetail>(201),
        create_run,
    );
    table.add(
        r(
            M::GET,
            BASE,
            Access::PerResource(P::WorkspaceView),
            "Runs, newest first",
        )
        .page::<wire::Run>(),
        list_runs,
    );
    table.add(
        r(
            M::GET,
            path("/{run}"),
            Access::PerResource(P::WorkspaceView),
            "A run with its plan, policy results, cost, approvals and transitions",
        )
        .reply::<wire::RunDetail>(200),
        get_run,
    );
    table.add(
        r(
            M::POST,
            path("/{run}/plan"),
            Access::PerResource(P::WorkspacePlan),
            "Attach the run's uploaded plan; its policy results decide what comes next",
        )
        .body::<wire::RunPlanAttach>()
        .reply::<wire::RunDetail>(200),
        attach_plan,
    );
    table.add(
        r(
            M::POST,
            path("/{run}/policy-overrides"),
            Access::PerResource(P::PolicySetOverride),
            "Override a failed soft-mandatory result of the run's plan, with a reason",
        )
        .step_up()
        .body::<wire::PolicyOverrideCreate>()
        .reply::<wire::RunDetail>(200),
        override_policy,
    );
    table.add(
        r(
            M::POST,
            path("/{run}/approvals"),
            Access::PerResource(P::WorkspaceApprove),
            "Approve the run's plan as it is (not by its author unless the workspace allows it)",
        )
        .step_up()
        .reply::<wire::RunDetail>(201),
        approve,
    );
    table.add(
        r(
            M::POST,
            path("/{run}/discard"),
            Access::PerResource(P::WorkspaceApply),
            "Discard a run before it is applied",
        )
        .reply::<wire::RunDetail>(200),
        discard,
    );
    table.add(
        r(
            M::POST,
            path("/{run}/cancel"),
            Access::PerResource(P::WorkspacePlan),
            "Cancel a planning run (an applying one needs workspace:force_unlock)",
        )
        .reply::<wire::RunDetail>(200),
        cancel,
    );
    table.add(
        r(
            M::POST,
            path("/{run}/plan-failed"),
            Access::PerResource(P::WorkspacePlan),
            "Mark a planning run errored: its plan could not be made",
        )
        .reply::<wire::RunDetail>(200),
        plan_failed,
    );
    table.add(
        r(
            M::POST,
            path("/{run}/apply"),
            Access::PerResource(P::WorkspaceApply),
            "Start the verified apply of an approved run: the run takes the workspace lock",
        )
        .body::<wire::RunApplyStart>()
        .reply::<wire::RunApplyTicket>(200),
        start_apply,
    );
    table.add(
        r(
            M::POST,
            path("/{run}/apply-result"),
            Access::PerResource(P::WorkspaceApply),
            "Report how the apply ended; the state written is checked and linked to the run",
        )
        .body::<wire::RunApplyResult>()
        .reply::<wire::RunDetail>(200),
        apply_result,
    );
}

path_params! {
    /// `…/workspaces/{workspace}/runs/{run}` and its actions
    pub struct RunPath { workspace, run }
}

fn wire_run(run: &Run, workspace: &str) -> wire::Run {
    wire::Run {
        id: run.id.to_string(),
        workspace: workspace.to_owned(),
        is_destroy: run.is_destroy,
        status: run.status.as_str().to_owned(),
        plan_id: run.plan_id.map(|plan| plan.to_string()),
        lock_id: run.lock_id.clone(),
        applied_state_version: run.applied_state_version,
        created_by: run.created_by.clone(),
        created_at: run.created_at.to_string(),
        updated_at: run.updated_at.to_string(),
    }
}

pub(crate) fn wire_detail(view: &RunView) -> wire::RunDetail {
    let workspace = view.workspace.identifier.as_str();
    let approvals = view
        .approvals
        .iter()
        .map(|approval| wire::RunApproval {
            approver: approval.approval.approver.clone(),
            approved_at: approval.approval.approved_at.to_string(),
            expires_at: approval.approval.expires_at.to_string(),
            valid: approval.valid,
        })
        .collect();
    wire::RunDetail {
        run: wire_run(&view.run, workspace),
        plan: view.plan.as_ref().map(|plan| wire_plan(plan, workspace)),
        policy: view.plan.as_ref().map(|_| wire_results(&view.policy)),
        cost: view.cost.as_ref().map(|cost| wire::RunCost {
            currency: cost.currency.clone(),
            prior_monthly: cost.prior_monthly.clone(),
            proposed_monthly: cost.proposed_monthly.clone(),
            delta_monthly: cost.delta_monthly.clone(),
            unpriced: cost.unpriced,
        }),
        approvals_required: view.workspace.runs.approvals_required,
        valid_approvals: view.valid_approvals,
        approvals,
        transitions: view
            .transitions
            .iter()
            .map(|transition| wire::RunTransition {
                event: transition.event.clone(),
                from_status: transition.from_status.as_str().to_owned(),
                to_status: transition.to_status.as_str().to_owned(),
                actor: transition.actor.clone(),
                at: transition.at.to_string(),
                detail: transition.detail.clone(),
            })
            .collect(),
    }
}

pub async fn create_run(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<WorkspacePath>,
    ApiJson(body): ApiJson<wire::RunCreate>,
) -> ApiResult<(StatusCode, Json<wire::RunDetail>)> {
    let view = state
        .app
        .create_run(&ctx, scope.scope(), &path.workspace, body.is_destroy)
        .await?;
    Ok((StatusCode::CREATED, Json(wire_detail(&view))))
}

pub async fn list_runs(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<WorkspacePath>,
    ApiQuery(list): ApiQuery<ListParams>,
) -> ApiResult<Json<ListResponse<wire::Run>>> {
    let (workspace, page) = state
        .app
        .list_runs(
            &ctx,
            scope.scope(),
            &path.workspace,
            list.limit,
            list.cursor.as_deref(),
        )
        .await?;
    Ok(Json(ListResponse {
        items: page
            .items
            .iter()
            .map(|run| wire_run(run, workspace.identifier.as_str()))
            .collect(),
        next_cursor: page.next_cursor,
    }))
}

pub async fn get_run(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<RunPath>,
) -> ApiResult<Json<wire::RunDetail>> {
    let view = state
        .app
        .get_run(&ctx, scope.scope(), &path.workspace, &path.run)
        .await?;
    Ok(Json(wire_detail(&view)))
}

pub async fn attach_plan(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<RunPath>,
    ApiJson(body): ApiJson<wire::RunPlanAttach>,
) -> ApiResult<Json<wire::RunDetail>> {
    let view = state
        .app
        .attach_run_plan(&ctx, scope.scope(), &path.workspace, &path.run, &body.plan)
        .await?;
    Ok(Json(wire_detail(&view)))
}

pub async fn override_policy(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<RunPath>,
    ApiJson(body): ApiJson<wire::PolicyOverrideCreate>,
) -> ApiResult<Json<wire::RunDetail>> {
    let (view, _) = state
        .app
        .override_run_policy(
            &ctx,
            scope.scope(),
            &path.workspace,
            &path.run,
            &body.policy_set,
            &body.reason,
        )
        .await?;
    Ok(Json(wire_detail(&view)))
}

pub async fn approve(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<RunPath>,
) -> ApiResult<(StatusCode, Json<wire::RunDetail>)> {
    let view = state
        .app
        .approve_run(&ctx, scope.scope(), &path.workspace, &path.run)
        .await?;
    Ok((StatusCode::CREATED, Json(wire_detail(&view))))
}

pub async fn discard(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<RunPath>,
) -> ApiResult<Json<wire::RunDetail>> {
    let view = state
        .app
        .discard_run(&ctx, scope.scope(), &path.workspace, &path.run)
        .await?;
    Ok(Json(wire_detail(&view)))
}

pub async fn cancel(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<RunPath>,
) -> ApiResult<Json<wire::RunDetail>> {
    let view = state
        .app
        .cancel_run(&ctx, scope.scope(), &path.workspace, &path.run)
        .await?;
    Ok(Json(wire_detail(&view)))
}

pub async fn plan_failed(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<RunPath>,
) -> ApiResult<Json<wire::RunDetail>> {
    let view = state
        .app
        .fail_run_plan(&ctx, scope.scope(), &path.workspace, &path.run)
        .await?;
    Ok(Json(wire_detail(&view)))
}

pub async fn start_apply(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<RunPath>,
    ApiJson(body): ApiJson<wire::RunApplyStart>,
) -> ApiResult<Json<wire::RunApplyTicket>> {
    let ticket = state
        .app
        .start_apply(
            &ctx,
            scope.scope(),
            &path.workspace,
            &path.run,
            &body.plan_file_sha256,
        )
        .await?;
    Ok(Json(wire::RunApplyTicket {
        run: wire_detail(&ticket.view),
        lock_id: ticket.lock_id,
        plan_file_sha256: ticket.plan_file_sha256,
        credential: ticket.credential.expose().to_owned(),
        credential_expires_at: ticket.credential_expires_at.to_string(),
    }))
}

pub async fn apply_result(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<RunPath>,
    ApiJson(body): ApiJson<wire::RunApplyResult>,
) -> ApiResult<Json<wire::RunDetail>> {
    let outcome = match body.outcome.as_str() {
        "succeeded" => ApplyOutcome::Succeeded,
        "failed" => ApplyOutcome::Failed,
        _ => {
            return Err(AppError::bad_request(
                ErrorCode::InvalidBody,
                "outcome must be \"succeeded\" or \"failed\"",
            )
            .into());
        }
    };
    let view = state
        .app
        .finish_apply(&ctx, scope.scope(), &path.workspace, &path.run, outcome)
        .await?;
    Ok(Json(wire_detail(&view)))
}
