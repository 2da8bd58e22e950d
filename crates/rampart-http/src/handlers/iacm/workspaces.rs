//! Workspaces of a project: create, read, change, delete, and views of their state
//! history (the versions, a diff, the current state's resources). Routes are
//! `Access::PerResource`: the use cases decide per workspace (so resource groups naming
//! single workspaces hold), and every state read is audited there.

use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::{Extension, Json};
use rampart_api::iacm as wire;
use rampart_api::{ListParams, ListResponse};
use rampart_app::Access;
use rampart_app::iacm::workspaces::{WorkspaceInput, WorkspacePatch};
use rampart_app::platform::tenancy::ResolvedScope;
use rampart_app::{AppError, Ctx};
use rampart_domain::Permission;
use rampart_domain::Permission as P;
use rampart_domain::iacm::drift_checks::{DriftCheck, DriftStatus};
use rampart_domain::iacm::state_versions::WorkspaceLock;
use rampart_domain::iacm::workspaces::Workspace;

use super::state_versions::wire_version;
use crate::AppState;
use crate::enforce::Scope;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath, ApiQuery, path_params};
use crate::handlers::platform::access::scope_text;
use crate::routes::{
    NUMBER_MAX, NUMBERED_LIST_QUERY, QueryParam, RouteSpec, RouteTable, Shape, join_path,
};

/// Registers this module's routes.
pub fn routes(table: &mut RouteTable) {
    use Method as M;
    let r = RouteSpec::new;

    // Workspaces and their state history: the use cases decide per workspace.
    const BASE: &str = "/api/v1/orgs/{org}/projects/{project}/workspaces";
    let path = |suffix| join_path(BASE, suffix);
    table.add(
        r(
            M::GET,
            path(""),
            Access::PerResource(P::WorkspaceView),
            "List the workspaces you may view",
        )
        .page::<wire::Workspace>(),
        list_workspaces,
    );
    table.add(
        r(
            M::POST,
            path(""),
            Access::PerResource(P::WorkspaceCreate),
            "Create a workspace (checked by the workspace policy sets that apply: 422)",
        )
        .body::<wire::WorkspaceCreate>()
        .errors(&[422])
        .reply::<wire::Workspace>(201),
        create_workspace,
    );
    table.add(
        r(
            M::GET,
            path("/{workspace}"),
            Access::PerResource(P::WorkspaceView),
            "A workspace with its lock",
        )
        .reply::<wire::Workspace>(200),
        get_workspace,
    );
    table.add(
        r(
            M::PATCH,
            path("/{workspace}"),
            Access::PerResource(P::WorkspaceEdit),
            "Change a workspace (checked by the workspace policy sets that apply: 422)",
        )
        .step_up()
        .body::<wire::WorkspaceUpdate>()
        // `unknown_service`: `drift_alert_service` names no service here.
        .errors(&[400, 422])
        .reply::<wire::Workspace>(200),
        update_workspace,
    );
    table.add(
        r(
            M::DELETE,
            path("/{workspace}"),
            Access::PerResource(P::WorkspaceDelete),
            "Delete a workspace and its state history (not while locked)",
        ),
        delete_workspace,
    );
    table.add(
        r(
            M::GET,
            path("/{workspace}/state-versions"),
            Access::PerResource(P::WorkspaceView),
            "State versions, newest first",
        )
        .page::<wire::StateVersion>()
        .query(NUMBERED_LIST_QUERY),
        list_state_versions,
    );
    table.add(
        r(
            M::GET,
            path("/{workspace}/state-diff"),
            Access::PerResource(P::WorkspaceAccessState),
            "Resources and outputs changed between two versions",
        )
        .query(
            const {
                &[
                    QueryParam::required(
                        "from",
                        "older version",
                        Shape::Integer {
                            min: 1,
                            max: NUMBER_MAX,
                        },
                    ),
                    QueryParam::required(
                        "to",
                        "newer version",
                        Shape::Integer {
                            min: 1,
                            max: NUMBER_MAX,
                        },
                    ),
                ]
            },
        )
        .reply::<wire::StateDiff>(200),
        diff_state,
    );
    table.add(
        r(
            M::GET,
            path("/{workspace}/resources"),
            Access::PerResource(P::WorkspaceAccessState),
            "Resources, outputs (sensitive masked) and modules of the current state",
        )
        .reply::<wire::StateResources>(200),
        state_resources,
    );
}

path_params! {
    /// `…/workspaces/{workspace}` and its views
    pub struct WorkspacePath { workspace }
}

fn wire_lock(lock: WorkspaceLock) -> wire::StateLock {
    wire::StateLock {
        id: lock.lock_id,
        operation: lock.operation,
        locked_by: lock.locked_by,
        locked_at: lock.locked_at.to_string(),
        info: serde_json::from_str(&lock.info).unwrap_or(serde_json::Value::Null),
    }
}

fn run_settings_patch(
    body: Option<wire::WorkspaceRunSettingsUpdate>,
) -> rampart_app::iacm::workspaces::RunSettingsPatch {
    let body = body.unwrap_or_default();
    rampart_app::iacm::workspaces::RunSettingsPatch {
        auto_apply: body.auto_apply,
        allow_self_approval: body.allow_self_approval,
        approvals_required: body.approvals_required,
        approval_ttl_seconds: body.approval_ttl_seconds,
        governed: body.governed,
    }
}

/// A workspace's drift status and latest check, when reading one workspace.
type Drift = (DriftStatus, Option<DriftCheck>);

fn wire_workspace(
    workspace: &Workspace,
    scope: &ResolvedScope,
    lock: Option<Option<WorkspaceLock>>,
    drift: Option<Drift>,
) -> wire::Workspace {
    let locked = matches!(lock, Some(Some(_)));
    let drifted = matches!(drift, Some((DriftStatus::Drifted, _)));
    wire::Workspace {
        id: workspace.id.to_string(),
        identifier: workspace.identifier.to_string(),
        scope: scope_text(scope),
        name: workspace.name.to_string(),
        description: workspace.description.to_string(),
        provisioner: workspace.provisioner.as_str().to_owned(),
        provisioner_version: workspace.provisioner_version.clone(),
        tags: workspace.tags.clone(),
        runs: wire::WorkspaceRunSettings {
            auto_apply: workspace.runs.auto_apply,
            allow_self_approval: workspace.runs.allow_self_approval,
            approvals_required: workspace.runs.approvals_required,
            approval_ttl_seconds: workspace.runs.approval_ttl_seconds,
            governed: workspace.runs.governed,
        },
        status: if locked {
            "locked"
        } else if drifted {
            "drifted"
        } else {
            "active"
        }
        .to_owned(),
        created_at: workspace.created_at.to_string(),
        updated_at: workspace.updated_at.to_string(),
        lock: lock.flatten().map(wire_lock),
        drift: drift.map(|(status, latest)| wire::WorkspaceDrift {
            status: status.as_str().to_owned(),
            latest_check: latest.as_ref().map(|check| check.id.clone()),
            checked_at: latest.map(|check| check.checked_at.to_string()),
        }),
        drift_alert_integration: workspace.drift_integration.map(|id| id.to_string()),
    }
}

pub(super) async fn workspace(
    state: &AppState,
    ctx: &Ctx,
    scope: &ResolvedScope,
    workspace: &str,
    permission: Permission,
) -> ApiResult<Workspace> {
    Ok(state
        .app
        .workspace_for(ctx, scope.scope(), workspace, permission)
        .await?)
}

pub async fn list_workspaces(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<ListResponse<wire::Workspace>>> {
    let page = state
        .app
        .list_workspaces(&ctx, scope.scope(), params.limit, params.cursor.as_deref())
        .await?;
    let overviews = state.app.workspaces_overview(&page.items).await?;
    Ok(Json(ListResponse {
        items: page
            .items
            .iter()
            .zip(overviews)
            .map(|(workspace, (locked, status, latest))| {
                let mut listed = wire_workspace(workspace, &scope, None, Some((status, latest)));
                if locked {
                    // Lists say that it is locked; the lock itself is in a single read.
                    listed.status = "locked".to_owned();
                }
                listed
            })
            .collect(),
        next_cursor: page.next_cursor,
    }))
}

pub async fn create_workspace(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiJson(body): ApiJson<wire::WorkspaceCreate>,
) -> ApiResult<(StatusCode, Json<wire::Workspace>)> {
    let workspace = state
        .app
        .create_workspace(
            &ctx,
            scope.scope(),
            WorkspaceInput {
                identifier: body.identifier,
                name: body.name,
                description: body.description,
                provisioner: body.provisioner,
                provisioner_version: body.provisioner_version,
                tags: body.tags,
                runs: run_settings_patch(body.runs),
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(wire_workspace(&workspace, &scope, Some(None), None)),
    ))
}

pub async fn get_workspace(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<WorkspacePath>,
) -> ApiResult<Json<wire::Workspace>> {
    let workspace = workspace(
        &state,
        &ctx,
        &scope,
        &path.workspace,
        Permission::WorkspaceView,
    )
    .await?;
    let lock = state.app.workspace_lock_view(&workspace).await?;
    let drift = state.app.workspace_drift(&workspace).await?;
    Ok(Json(wire_workspace(
        &workspace,
        &scope,
        Some(lock),
        Some(drift),
    )))
}

pub async fn update_workspace(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<WorkspacePath>,
    ApiJson(body): ApiJson<wire::WorkspaceUpdate>,
) -> ApiResult<Json<wire::Workspace>> {
    let workspace = state
        .app
        .update_workspace(
            &ctx,
            scope.scope(),
            &path.workspace,
            WorkspacePatch {
                name: body.name,
                description: body.description,
                provisioner: body.provisioner,
                provisioner_version: body.provisioner_version,
                tags: body.tags,
                runs: run_settings_patch(body.runs),
                drift_alert_service: body.drift_alert_service,
            },
        )
        .await?;
    let lock = state.app.workspace_lock_view(&workspace).await?;
    let drift = state.app.workspace_drift(&workspace).await?;
    Ok(Json(wire_workspace(
        &workspace,
        &scope,
        Some(lock),
        Some(drift),
    )))
}

pub async fn delete_workspace(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<WorkspacePath>,
) -> ApiResult<StatusCode> {
    state
        .app
        .delete_workspace(&ctx, scope.scope(), &path.workspace)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn list_state_versions(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<WorkspacePath>,
    ApiQuery(list): ApiQuery<ListParams>,
) -> ApiResult<Json<ListResponse<wire::StateVersion>>> {
    let workspace = workspace(
        &state,
        &ctx,
        &scope,
        &path.workspace,
        Permission::WorkspaceView,
    )
    .await?;
    let page = state
        .app
        .state_history(&workspace, list.limit, list.cursor.as_deref())
        .await?;
    Ok(Json(ListResponse {
        items: page.items.iter().map(wire_version).collect(),
        next_cursor: page.next_cursor,
    }))
}

pub async fn diff_state(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<WorkspacePath>,
    ApiQuery(query): ApiQuery<wire::StateDiffQuery>,
) -> ApiResult<Json<wire::StateDiff>> {
    let workspace = workspace(
        &state,
        &ctx,
        &scope,
        &path.workspace,
        Permission::WorkspaceView,
    )
    .await?;
    let diff = state
        .app
        .diff_state_versions(&ctx, &workspace, query.from, query.to)
        .await?;
    Ok(Json(wire::StateDiff {
        from: query.from,
        to: query.to,
        added: diff.added,
        removed: diff.removed,
        changed: diff.changed,
        outputs_added: diff.outputs_added,
        outputs_removed: diff.outputs_removed,
        outputs_changed: diff.outputs_changed,
    }))
}

pub async fn state_resources(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<WorkspacePath>,
) -> ApiResult<Json<wire::StateResources>> {
    let workspace = workspace(
        &state,
        &ctx,
        &scope,
        &path.workspace,
        Permission::WorkspaceView,
    )
    .await?;
    let (row, view) = state
        .app
        .state_resources(&ctx, &workspace)
        .await?
        .ok_or(AppError::NotFound { what: "state" })?;
    Ok(Json(wire::StateResources {
        version: row.version,
        serial: view.serial,
        lineage: view.lineage,
        terraform_version: view.terraform_version,
        resources: view
            .resources
            .into_iter()
            .map(|resource| wire::StateResource {
                address: resource.address,
                mode: resource.mode,
                resource_type: resource.resource_type,
                name: resource.name,
                module: resource.module,
                provider: resource.provider,
                instances: resource.instances,
            })
            .collect(),
        outputs: view
            .outputs
            .into_iter()
            .map(|output| wire::StateOutput {
                name: output.name,
                sensitive: output.sensitive,
                value: output.value,
            })
            .collect(),
        modules: view.modules,
    }))
}
