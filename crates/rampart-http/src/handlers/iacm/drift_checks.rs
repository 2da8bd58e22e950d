//! Drift checks of a workspace through the API: record one made with an uploaded plan,
//! list the history (newest first), read one with its drifted resources.

use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::{Extension, Json};
use rampart_api::iacm as wire;
use rampart_api::{ListParams, ListResponse};
use rampart_app::{Access, Ctx};
use rampart_domain::Permission as P;
use rampart_domain::iacm::drift_checks::{DriftCheck, DriftedResource};

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

    const BASE: &str = "/api/v1/orgs/{org}/projects/{project}/workspaces/{workspace}/drift-checks";
    table.add(
        r(
            M::POST,
            BASE,
            Access::PerResource(P::WorkspacePlan),
            "Record a drift check made with a plan uploaded to the workspace \
             (`rampart tf drift`)",
        )
        .body::<wire::DriftCheckCreate>()
        .reply::<wire::DriftCheck>(201),
        create_drift_check,
    );
    table.add(
        r(
            M::GET,
            BASE,
            Access::PerResource(P::WorkspaceView),
            "Drift checks, newest first",
        )
        .page::<wire::DriftCheck>(),
        list_drift_checks,
    );
    table.add(
        r(
            M::GET,
            join_path(BASE, "/variables"),
            Access::PerResource(P::WorkspacePlan),
            "The variables a drift check's plan needs, with values (audited)",
        )
        .reply::<wire::RunVariables>(200),
        drift_variables,
    );
    table.add(
        r(
            M::GET,
            join_path(BASE, "/{check}"),
            Access::PerResource(P::WorkspaceView),
            "A drift check with its drifted resources (values masked as in the plan's view)",
        )
        .reply::<wire::DriftCheck>(200),
        get_drift_check,
    );
}

path_params! {
    /// `…/workspaces/{workspace}/drift-checks/{check}`
    pub struct DriftCheckPath { workspace, check }
}

fn wire_check(
    check: &DriftCheck,
    workspace: &str,
    resources: Option<Vec<DriftedResource>>,
) -> wire::DriftCheck {
    wire::DriftCheck {
        id: check.id.clone(),
        workspace: workspace.to_owned(),
        plan_id: check.plan_id.to_string(),
        mode: check.mode.as_str().to_owned(),
        drifted: check.drifted,
        checked_by: check.checked_by.clone(),
        checked_at: check.checked_at.to_string(),
        resources: resources.map(|resources| {
            resources
                .into_iter()
                .map(|resource| wire::DriftedResource {
                    address: resource.address,
                    kind: resource.kind.to_owned(),
                    actions: resource.actions,
                    before: resource.before,
                    after: resource.after,
                })
                .collect()
        }),
    }
}

pub async fn create_drift_check(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<WorkspacePath>,
    ApiJson(body): ApiJson<wire::DriftCheckCreate>,
) -> ApiResult<(StatusCode, Json<wire::DriftCheck>)> {
    let (check, resources) = state
        .app
        .record_drift_check(
            &ctx,
            scope.scope(),
            &path.workspace,
            &body.plan,
            body.mode.as_deref().unwrap_or("plan"),
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(wire_check(&check, &path.workspace, Some(resources))),
    ))
}

pub async fn list_drift_checks(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<WorkspacePath>,
    ApiQuery(list): ApiQuery<ListParams>,
) -> ApiResult<Json<ListResponse<wire::DriftCheck>>> {
    let page = state
        .app
        .list_drift_checks(
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
            .map(|check| wire_check(check, &path.workspace, None))
            .collect(),
        next_cursor: page.next_cursor,
    }))
}

pub async fn get_drift_check(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<DriftCheckPath>,
) -> ApiResult<Json<wire::DriftCheck>> {
    let (check, resources) = state
        .app
        .get_drift_check(&ctx, scope.scope(), &path.workspace, &path.check)
        .await?;
    Ok(Json(wire_check(&check, &path.workspace, Some(resources))))
}

pub async fn drift_variables(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<WorkspacePath>,
) -> ApiResult<Json<wire::RunVariables>> {
    let resolved = state
        .app
        .drift_variables(&ctx, scope.scope(), &path.workspace)
        .await?;
    Ok(Json(super::variables::wire_run_variables(resolved)))
}
