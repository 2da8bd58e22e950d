//! Variables through the API: a workspace's own (`…/workspaces/{w}/variables`), what
//! its runs receive (`…/variables/effective`), variable sets at organisation and
//! project scope (`…/variable-sets`), a run's variables for its executor
//! (`…/runs/{run}/variables`) and a run's logs (`…/runs/{run}/logs/{phase}`). One
//! variable is addressed by its category and key: `…/variables/env/AWS_REGION`.
//! Sensitive values never appear in an answer except the executor's.

use axum::body::Body;
use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use axum::{Extension, Json};
use rampart_api::iacm as wire;
use rampart_api::{ListParams, ListResponse};
use rampart_app::iacm::variables::{VariableSetInput, VariableSetPatch, VariableView};
use rampart_app::platform::tenancy::ResolvedScope;
use rampart_app::{Access, Ctx};
use rampart_domain::Permission as P;
use rampart_domain::iacm::runs::RunLog;
use rampart_domain::iacm::variables::{Put, ResolvedVariable, VariableChange, VariableSet};
use rampart_domain::limits::RUN_LOG_BYTES_MAX;

use super::plans::{document, read_raw};
use super::runs::RunPath;
use super::workspaces::WorkspacePath;
use crate::AppState;
use crate::enforce::Scope;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath, ApiQuery, path_params};
use crate::handlers::platform::access::scope_text;
use crate::routes::{RouteSpec, RouteTable, join_path, perm};

/// A variable write: small JSON (a value is at most 64 KiB).
const VARIABLE_BODY_BYTES_MAX: usize = 128 * 1024;

/// Registers this module's routes.
pub fn routes(table: &mut RouteTable) {
    use Method as M;
    let r = RouteSpec::new;

    const WORKSPACE: &str = "/api/v1/orgs/{org}/projects/{project}/workspaces/{workspace}";
    let ws = |suffix| join_path(WORKSPACE, suffix);
    table.add(
        r(
            M::GET,
            ws("/variables"),
            Access::PerResource(P::WorkspaceView),
            "The workspace's own variables (sensitive ones without their values)",
        )
        .reply::<wire::VariableList>(200),
        list_workspace_variables,
    );
    table.add(
        r(
            M::GET,
            ws("/variables/effective"),
            Access::PerResource(P::WorkspaceView),
            "What the workspace's runs receive, with where each value comes from",
        )
        .reply::<wire::VariableList>(200),
        effective_variables,
    );
    table.add(
        r(
            M::PUT,
            ws("/variables/{category}/{key}"),
            Access::PerResource(P::WorkspaceEditVariables),
            "Create (201) or change (200) a variable of the workspace",
        )
        .step_up()
        .body::<wire::VariableWrite>()
        .body_limit(|_| VARIABLE_BODY_BYTES_MAX)
        .reply::<wire::Variable>(200),
        put_workspace_variable,
    );
    table.add(
        r(
            M::DELETE,
            ws("/variables/{category}/{key}"),
            Access::PerResource(P::WorkspaceEditVariables),
            "Delete a variable of the workspace",
        ),
        delete_workspace_variable,
    );
    table.add(
        r(
            M::GET,
            ws("/runs/{run}/variables"),
            Access::PerResource(P::WorkspaceView),
            "The run's variables with their values, for its executor only (who started it \
             while it plans, who holds its lock while it applies); audited",
        )
        .step_up()
        .errors(&[409])
        .reply::<wire::RunVariables>(200),
        run_variables,
    );
    table.add(
        r(
            M::GET,
            ws("/runs/{run}/logs"),
            Access::PerResource(P::WorkspaceView),
            "The logs a run has, by phase",
        )
        .reply::<wire::RunLogList>(200),
        list_run_logs,
    );
    table.add(
        r(
            M::PUT,
            ws("/runs/{run}/logs/{phase}"),
            Access::PerResource(P::WorkspaceView),
            "Upload what Terraform printed in the run's `plan` or `apply` phase (text, at \
             most 8 MiB, once a phase), from its executor; sensitive values are masked",
        )
        .body_limit(|_| RUN_LOG_BYTES_MAX)
        .errors(&[400, 409, 413])
        .reply::<wire::RunLog>(201),
        put_run_log,
    );
    table.add(
        r(
            M::GET,
            ws("/runs/{run}/logs/{phase}"),
            Access::PerResource(P::WorkspaceView),
            "A run's `plan` or `apply` log, as text",
        )
        .text(&["text/plain"]),
        get_run_log,
    );

    for base in [
        "/api/v1/orgs/{org}",
        "/api/v1/orgs/{org}/projects/{project}",
    ] {
        let path = |suffix| join_path(base, suffix);
        table.add(
            r(
                M::GET,
                path("/variable-sets"),
                perm(P::VariableSetView),
                "Variable sets defined here (an organisation's apply to its projects too)",
            )
            .page::<wire::VariableSet>(),
            list_variable_sets,
        );
        table.add(
            r(
                M::POST,
                path("/variable-sets"),
                perm(P::VariableSetCreate),
                "Create a variable set (its variables are added one at a time)",
            )
            .body::<wire::VariableSetCreate>()
            .reply::<wire::VariableSet>(201),
            create_variable_set,
        );
        table.add(
            r(
                M::GET,
                path("/variable-sets/{variable_set}"),
                perm(P::VariableSetView),
                "A variable set with its variables (sensitive ones without their values)",
            )
            .reply::<wire::VariableSet>(200),
            get_variable_set,
        );
        table.add(
            r(
                M::PATCH,
                path("/variable-sets/{variable_set}"),
                perm(P::VariableSetEdit),
                "Change a variable set's name, description or attachment",
            )
            .body::<wire::VariableSetUpdate>()
            .reply::<wire::VariableSet>(200),
            update_variable_set,
        );
        table.add(
            r(
                M::DELETE,
                path("/variable-sets/{variable_set}"),
                perm(P::VariableSetDelete),
                "Delete a variable set with its variables",
            ),
            delete_variable_set,
        );
        table.add(
            r(
                M::PUT,
                path("/variable-sets/{variable_set}/variables/{category}/{key}"),
                perm(P::VariableSetEdit),
                "Create (201) or change (200) a variable of the set",
            )
            .step_up()
            .body::<wire::VariableWrite>()
            .body_limit(|_| VARIABLE_BODY_BYTES_MAX)
            .reply::<wire::Variable>(200),
            put_set_variable,
        );
        table.add(
            r(
                M::DELETE,
                path("/variable-sets/{variable_set}/variables/{category}/{key}"),
                perm(P::VariableSetEdit),
                "Delete a variable of the set",
            ),
            delete_set_variable,
        );
    }
}

path_params! {
    /// `…/workspaces/{workspace}/variables/{category}/{key}`
    pub struct WorkspaceVariablePath { workspace, category, key }
}

path_params! {
    /// `…/variable-sets/{variable_set}`
    pub struct VariableSetPath { variable_set }
}

path_params! {
    /// `…/variable-sets/{variable_set}/variables/{category}/{key}`
    pub struct SetVariablePath { variable_set, category, key }
}

path_params! {
    /// `…/runs/{run}/logs/{phase}`
    pub struct RunLogPath { workspace, run, phase }
}

fn wire_variable(view: &VariableView) -> wire::Variable {
    wire::Variable {
        key: view.key.clone(),
        category: view.category.as_str().to_owned(),
        value: view.value.clone(),
        hcl: view.hcl,
        sensitive: view.sensitive,
        description: view.description.clone(),
        source: view.source.clone(),
        overrides: view.overrides.clone(),
    }
}

fn variable_list(views: &[VariableView]) -> wire::VariableList {
    wire::VariableList {
        items: views.iter().map(wire_variable).collect(),
    }
}

fn wire_set(
    set: &VariableSet,
    scope: &ResolvedScope,
    variables: Option<&[VariableView]>,
) -> wire::VariableSet {
    wire::VariableSet {
        id: set.id.to_string(),
        identifier: set.identifier.to_string(),
        scope: scope_text(scope),
        name: set.name.to_string(),
        description: set.description.to_string(),
        attach: wire::PolicySetAttach {
            kind: set.attachment.kind().to_owned(),
            values: set.attachment.values(),
        },
        version: set.version,
        variable_count: set.variable_count,
        created_at: set.created_at.to_string(),
        updated_at: set.updated_at.to_string(),
        variables: variables.map(|views| views.iter().map(wire_variable).collect()),
    }
}

fn change(body: wire::VariableWrite) -> VariableChange {
    VariableChange {
        value: body.value,
        hcl: body.hcl,
        sensitive: body.sensitive,
        description: body.description,
    }
}

fn put_status(put: Put) -> StatusCode {
    match put {
        Put::Created => StatusCode::CREATED,
        Put::Updated => StatusCode::OK,
    }
}

fn wire_log(log: &RunLog) -> wire::RunLog {
    wire::RunLog {
        phase: log.phase.clone(),
        bytes: log.bytes,
        uploaded_by: log.uploaded_by.clone(),
        uploaded_at: log.uploaded_at.to_string(),
    }
}

pub async fn list_workspace_variables(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<WorkspacePath>,
) -> ApiResult<Json<wire::VariableList>> {
    let views = state
        .app
        .list_workspace_variables(&ctx, scope.scope(), &path.workspace)
        .await?;
    Ok(Json(variable_list(&views)))
}

pub async fn effective_variables(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<WorkspacePath>,
) -> ApiResult<Json<wire::VariableList>> {
    let views = state
        .app
        .effective_variables(&ctx, scope.scope(), &path.workspace)
        .await?;
    Ok(Json(variable_list(&views)))
}

pub async fn put_workspace_variable(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<WorkspaceVariablePath>,
    ApiJson(body): ApiJson<wire::VariableWrite>,
) -> ApiResult<(StatusCode, Json<wire::Variable>)> {
    let (put, view) = state
        .app
        .put_workspace_variable(
            &ctx,
            scope.scope(),
            &path.workspace,
            &path.category,
            &path.key,
            change(body),
        )
        .await?;
    Ok((put_status(put), Json(wire_variable(&view))))
}

pub async fn delete_workspace_variable(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<WorkspaceVariablePath>,
) -> ApiResult<StatusCode> {
    state
        .app
        .delete_workspace_variable(
            &ctx,
            scope.scope(),
            &path.workspace,
            &path.category,
            &path.key,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn run_variables(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<RunPath>,
) -> ApiResult<Json<wire::RunVariables>> {
    let resolved = state
        .app
        .run_variables(&ctx, scope.scope(), &path.workspace, &path.run)
        .await?;
    Ok(Json(wire_run_variables(resolved)))
}

/// Variables with their values, as an executor receives them.
pub(super) fn wire_run_variables(resolved: Vec<ResolvedVariable>) -> wire::RunVariables {
    wire::RunVariables {
        items: resolved
            .into_iter()
            .map(|found| wire::RunVariable {
                environment_name: found
                    .variable
                    .category
                    .environment_name(&found.variable.key),
                category: found.variable.category.as_str().to_owned(),
                key: found.variable.key,
                value: found.variable.value,
                hcl: found.variable.hcl,
                sensitive: found.variable.sensitive,
                source: found.source.describe(),
            })
            .collect(),
    }
}

pub async fn list_run_logs(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<RunPath>,
) -> ApiResult<Json<wire::RunLogList>> {
    let logs = state
        .app
        .run_logs(&ctx, scope.scope(), &path.workspace, &path.run)
        .await?;
    Ok(Json(wire::RunLogList {
        items: logs.iter().map(wire_log).collect(),
    }))
}

pub async fn put_run_log(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<RunLogPath>,
    body: Body,
) -> ApiResult<(StatusCode, Json<wire::RunLog>)> {
    let body = read_raw(body, RUN_LOG_BYTES_MAX).await?;
    let log = state
        .app
        .put_run_log(
            &ctx,
            scope.scope(),
            &path.workspace,
            &path.run,
            &path.phase,
            &body,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(wire_log(&log))))
}

pub async fn get_run_log(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<RunLogPath>,
) -> ApiResult<Response> {
    let (_, text) = state
        .app
        .run_log(&ctx, scope.scope(), &path.workspace, &path.run, &path.phase)
        .await?;
    Ok(document("text/plain; charset=utf-8", text.to_vec()))
}

pub async fn list_variable_sets(
    State(state): State<AppState>,
    Extension(scope): Scope,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<ListResponse<wire::VariableSet>>> {
    let page = state
        .app
        .list_variable_sets(scope.scope(), params.limit, params.cursor.as_deref())
        .await?;
    Ok(Json(ListResponse {
        items: page
            .items
            .iter()
            .map(|set| wire_set(set, &scope, None))
            .collect(),
        next_cursor: page.next_cursor,
    }))
}

pub async fn create_variable_set(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiJson(body): ApiJson<wire::VariableSetCreate>,
) -> ApiResult<(StatusCode, Json<wire::VariableSet>)> {
    let (set, variables) = state
        .app
        .create_variable_set(
            &ctx,
            scope.scope(),
            VariableSetInput {
                identifier: body.identifier,
                name: body.name,
                description: body.description,
                attach: body.attach.map(|attach| (attach.kind, attach.values)),
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(wire_set(&set, &scope, Some(&variables))),
    ))
}

pub async fn get_variable_set(
    State(state): State<AppState>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<VariableSetPath>,
) -> ApiResult<Json<wire::VariableSet>> {
    let (set, variables) = state
        .app
        .get_variable_set(scope.scope(), &path.variable_set)
        .await?;
    Ok(Json(wire_set(&set, &scope, Some(&variables))))
}

pub async fn update_variable_set(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<VariableSetPath>,
    ApiJson(body): ApiJson<wire::VariableSetUpdate>,
) -> ApiResult<Json<wire::VariableSet>> {
    let (set, variables) = state
        .app
        .update_variable_set(
            &ctx,
            scope.scope(),
            &path.variable_set,
            VariableSetPatch {
                name: body.name,
                description: body.description,
                attach: body.attach.map(|attach| (attach.kind, attach.values)),
            },
        )
        .await?;
    Ok(Json(wire_set(&set, &scope, Some(&variables))))
}

pub async fn delete_variable_set(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<VariableSetPath>,
) -> ApiResult<StatusCode> {
    state
        .app
        .delete_variable_set(&ctx, scope.scope(), &path.variable_set)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn put_set_variable(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<SetVariablePath>,
    ApiJson(body): ApiJson<wire::VariableWrite>,
) -> ApiResult<(StatusCode, Json<wire::Variable>)> {
    let (put, view) = state
        .app
        .put_set_variable(
            &ctx,
            scope.scope(),
            &path.variable_set,
            &path.category,
            &path.key,
            change(body),
        )
        .await?;
    Ok((put_status(put), Json(wire_variable(&view))))
}

pub async fn delete_set_variable(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<SetVariablePath>,
) -> ApiResult<StatusCode> {
    state
        .app
        .delete_set_variable(
            &ctx,
            scope.scope(),
            &path.variable_set,
            &path.category,
            &path.key,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
