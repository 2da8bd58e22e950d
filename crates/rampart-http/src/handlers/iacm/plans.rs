//! Plans of a workspace through the API: upload (the raw output of `terraform show
//! -json PLANFILE`, so that `terraform show -json tfplan | curl --data-binary @- …`
//! works, and the binary plan file), history, a plan's summary, the masked view and the
//! raw downloads. The use cases decide per workspace (`workspace:plan` to upload,
//! `workspace:view` to read, `workspace:access_state` to download, audited).

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use rampart_api::iacm as wire;
use rampart_api::{ListParams, ListResponse};
use rampart_app::Access;
use rampart_app::Ctx;
use rampart_app::iacm::plans::PlanDetails;
use rampart_domain::Permission as P;
use rampart_domain::iacm::plans::{StateAssertion, StoredPlan};

use super::workspaces::WorkspacePath;
use crate::AppState;
use crate::enforce::Scope;
use crate::error::ApiResult;
use crate::extract::{ApiPath, ApiQuery, body_too_large, path_params};
use crate::routes::{NUMBER_MAX, QueryParam, RouteSpec, RouteTable, Shape, join_path};

/// Registers this module's routes.
pub fn routes(table: &mut RouteTable) {
    use Method as M;
    let r = RouteSpec::new;

    const BASE: &str = "/api/v1/orgs/{org}/projects/{project}/workspaces";
    let path = |suffix| join_path(BASE, suffix);
    table.add(
        r(
            M::POST,
            path("/{workspace}/plans"),
            Access::PerResource(P::WorkspacePlan),
            "Upload a plan: the output of `terraform show -json PLANFILE`, as it is",
        )
        .body::<wire::PlanDocument>()
        .body_limit(|state| state.app.settings().plan_json_bytes_max)
        .query(
            const {
                &[
                    QueryParam::optional(
                        "state_serial",
                        "the serial of the state the plan was made against (must be current)",
                        Shape::Integer {
                            min: 0,
                            max: NUMBER_MAX,
                        },
                    ),
                    QueryParam::optional(
                        "state_lineage",
                        "the lineage of the state the plan was made against (must be current)",
                        Shape::Text,
                    ),
                ]
            },
        )
        .reply::<wire::Plan>(201),
        upload_plan,
    );
    table.add(
        r(
            M::GET,
            path("/{workspace}/plans"),
            Access::PerResource(P::WorkspaceView),
            "Plans, newest first",
        )
        .page::<wire::Plan>(),
        list_plans,
    );
    table.add(
        r(
            M::GET,
            path("/{workspace}/plans/{plan}"),
            Access::PerResource(P::WorkspaceView),
            "A plan with its summary: resources and outputs by action",
        )
        .reply::<wire::PlanDetail>(200),
        get_plan,
    );
    table.add(
        r(
            M::GET,
            path("/{workspace}/plans/{plan}/masked"),
            Access::PerResource(P::WorkspaceView),
            "The plan JSON with every sensitive value masked",
        )
        .text(&["application/json"]),
        masked_plan,
    );
    table.add(
        r(
            M::GET,
            path("/{workspace}/plans/{plan}/json"),
            Access::PerResource(P::WorkspaceAccessState),
            "Download the plan JSON as uploaded (audited)",
        )
        .text(&["application/json"]),
        download_plan_json,
    );
    table.add(
        r(
            M::PUT,
            path("/{workspace}/plans/{plan}/file"),
            Access::PerResource(P::WorkspacePlan),
            "Upload the binary plan file (`terraform plan -out`), once",
        )
        .body_limit(|state| state.app.settings().plan_file_bytes_max)
        .errors(&[400, 413])
        .reply::<wire::Plan>(200),
        upload_plan_file,
    );
    table.add(
        r(
            M::GET,
            path("/{workspace}/plans/{plan}/file"),
            Access::PerResource(P::WorkspaceAccessState),
            "Download the binary plan file (audited)",
        )
        .text(&["application/octet-stream"]),
        download_plan_file,
    );
}

path_params! {
    /// `…/workspaces/{workspace}/plans/{plan}` and its parts
    pub struct PlanPath { workspace, plan }
}

fn hex(bytes: &[u8]) -> String {
    rampart_app::platform::audit_log::hex(bytes)
}

fn wire_counts(counts: rampart_domain::iacm::plans::ActionCounts) -> wire::PlanCounts {
    wire::PlanCounts {
        add: counts.add,
        change: counts.change,
        replace: counts.replace,
        destroy: counts.destroy,
        read: counts.read,
        no_op: counts.no_op,
        forget: counts.forget,
    }
}

pub(super) fn wire_plan(plan: &StoredPlan, workspace: &str) -> wire::Plan {
    wire::Plan {
        id: plan.id.to_string(),
        workspace: workspace.to_owned(),
        format_version: plan.format_version.clone(),
        terraform_version: plan.terraform_version.clone(),
        size_bytes: plan.json_size_bytes,
        counts: wire_counts(plan.counts),
        state: plan.state.as_ref().map(|state| wire::PlanState {
            version: state.version,
            serial: state.serial,
            lineage: state.lineage.clone(),
            sha256: hex(&state.sha256),
        }),
        has_file: plan.file_size_bytes.is_some(),
        file_size_bytes: plan.file_size_bytes,
        policy_status: plan.policy_status.as_str().to_owned(),
        created_by: plan.created_by.clone(),
        created_at: plan.created_at.to_string(),
    }
}

fn wire_detail(plan: &StoredPlan, workspace: &str, details: PlanDetails) -> wire::PlanDetail {
    wire::PlanDetail {
        plan: wire_plan(plan, workspace),
        sha256: details.json_sha256,
        file_sha256: details.file_sha256,
        resource_changes: details
            .summary
            .resources
            .into_iter()
            .map(|change| wire::PlanResourceChange {
                address: change.address,
                action: change.action.as_str().to_owned(),
                actions: change.actions,
                action_reason: change.action_reason,
                deposed: change.deposed,
            })
            .collect(),
        output_changes: details
            .summary
            .outputs
            .into_iter()
            .map(|change| wire::PlanOutputChange {
                name: change.name,
                action: change.action.as_str().to_owned(),
            })
            .collect(),
    }
}

/// Reads a raw body up to `limit` bytes (413 `body_too_large` beyond it).
pub(crate) async fn read_raw(body: Body, limit: usize) -> ApiResult<axum::body::Bytes> {
    axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| body_too_large())
}

pub(crate) fn document(content_type: &'static str, body: impl Into<Body>) -> Response {
    (
        [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
        body.into(),
    )
        .into_response()
}

pub async fn upload_plan(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<WorkspacePath>,
    ApiQuery(query): ApiQuery<wire::PlanUploadQuery>,
    body: Body,
) -> ApiResult<(StatusCode, Json<wire::Plan>)> {
    let body = read_raw(body, state.app.settings().plan_json_bytes_max).await?;
    let plan = state
        .app
        .upload_plan(
            &ctx,
            scope.scope(),
            &path.workspace,
            &body,
            StateAssertion {
                serial: query.state_serial,
                lineage: query.state_lineage,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(wire_plan(&plan, &path.workspace))))
}

pub async fn upload_plan_file(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<PlanPath>,
    body: Body,
) -> ApiResult<Json<wire::Plan>> {
    let body = read_raw(body, state.app.settings().plan_file_bytes_max).await?;
    let plan = state
        .app
        .upload_plan_file(&ctx, scope.scope(), &path.workspace, &path.plan, &body)
        .await?;
    Ok(Json(wire_plan(&plan, &path.workspace)))
}

pub async fn list_plans(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<WorkspacePath>,
    ApiQuery(list): ApiQuery<ListParams>,
) -> ApiResult<Json<ListResponse<wire::Plan>>> {
    let page = state
        .app
        .list_plans(
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
            .map(|plan| wire_plan(plan, &path.workspace))
            .collect(),
        next_cursor: page.next_cursor,
    }))
}

pub async fn get_plan(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<PlanPath>,
) -> ApiResult<Json<wire::PlanDetail>> {
    let (plan, details) = state
        .app
        .plan_details(&ctx, scope.scope(), &path.workspace, &path.plan)
        .await?;
    Ok(Json(wire_detail(&plan, &path.workspace, details)))
}

pub async fn masked_plan(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<PlanPath>,
) -> ApiResult<Json<serde_json::Value>> {
    Ok(Json(
        state
            .app
            .masked_plan(&ctx, scope.scope(), &path.workspace, &path.plan)
            .await?,
    ))
}

pub async fn download_plan_json(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<PlanPath>,
) -> ApiResult<Response> {
    let body = state
        .app
        .download_plan(&ctx, scope.scope(), &path.workspace, &path.plan, false)
        .await?;
    Ok(document("application/json", body))
}

pub async fn download_plan_file(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<PlanPath>,
) -> ApiResult<Response> {
    let body = state
        .app
        .download_plan(&ctx, scope.scope(), &path.workspace, &path.plan, true)
        .await?;
    Ok(document("application/octet-stream", body))
}
