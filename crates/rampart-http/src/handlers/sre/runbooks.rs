//! Runbooks of a project (`…/runbooks`): create, list, read (any version), a new
//! version of the definition, the versions, delete.

use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::{Extension, Json};
use rampart_api::{ListParams, ListResponse, sre as wire};
use rampart_app::Ctx;
use rampart_app::sre::runbooks::{RunbookInput, RunbookUpdate, RunbookView};
use rampart_domain::Permission as P;
use rampart_domain::sre::runbooks::Runbook;

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
            M::GET,
            path("/runbooks"),
            perm(P::RunbookView),
            "List runbooks",
        )
        .page::<wire::RunbookSummary>(),
        list_runbooks,
    );
    table.add(
        r(
            M::POST,
            path("/runbooks"),
            perm(P::RunbookCreate),
            "Create a runbook (version 1 of its definition)",
        )
        .step_up()
        .body::<wire::RunbookCreate>()
        .reply::<wire::Runbook>(201)
        .errors(&[409]),
        create_runbook,
    );
    table.add(
        r(
            M::GET,
            path("/runbooks/{runbook}"),
            perm(P::RunbookView),
            "A runbook with its current definition (or ?version=N)",
        )
        .reply::<wire::Runbook>(200),
        get_runbook,
    );
    table.add(
        r(
            M::PUT,
            path("/runbooks/{runbook}"),
            perm(P::RunbookEdit),
            "A new version of a runbook's definition (and perhaps a new name)",
        )
        .step_up()
        .body::<wire::RunbookUpdate>()
        .reply::<wire::Runbook>(200)
        .errors(&[409]),
        update_runbook,
    );
    table.add(
        r(
            M::GET,
            path("/runbooks/{runbook}/versions"),
            perm(P::RunbookView),
            "A runbook's versions, newest first",
        )
        .reply::<wire::RunbookVersionList>(200),
        list_versions,
    );
    table.add(
        r(
            M::DELETE,
            path("/runbooks/{runbook}"),
            perm(P::RunbookDelete),
            "Delete a runbook and all its versions",
        ),
        delete_runbook,
    );
}

path_params! {
    /// `…/runbooks/{runbook}`
    pub struct RunbookPath { runbook }
}

fn wire_summary(runbook: Runbook) -> wire::RunbookSummary {
    wire::RunbookSummary {
        id: runbook.id.to_string(),
        identifier: runbook.identifier.to_string(),
        name: runbook.name.to_string(),
        current_version: runbook.current_version,
        created_at: runbook.created_at.to_string(),
        updated_at: runbook.updated_at.to_string(),
    }
}

fn wire_runbook(view: RunbookView) -> ApiResult<wire::Runbook> {
    let definition = serde_json::to_value(&view.document).map_err(|error| {
        rampart_app::AppError::Integrity(format!("encoding a runbook definition: {error}"))
    })?;
    Ok(wire::Runbook {
        id: view.runbook.id.to_string(),
        identifier: view.runbook.identifier.to_string(),
        name: view.runbook.name.to_string(),
        current_version: view.runbook.current_version,
        version: view.version.version,
        sensitive: view.definition.sensitive,
        steps: u32::try_from(view.definition.steps.len()).unwrap_or(u32::MAX),
        definition,
        version_created_by: view.version.created_by,
        created_at: view.runbook.created_at.to_string(),
        updated_at: view.runbook.updated_at.to_string(),
    })
}

pub async fn list_runbooks(
    State(state): State<AppState>,
    Extension(scope): Scope,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<ListResponse<wire::RunbookSummary>>> {
    let page = state
        .app
        .list_runbooks(scope.scope(), params.limit, params.cursor.as_deref())
        .await?;
    Ok(Json(ListResponse {
        items: page.items.into_iter().map(wire_summary).collect(),
        next_cursor: page.next_cursor,
    }))
}

pub async fn create_runbook(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiJson(body): ApiJson<wire::RunbookCreate>,
) -> ApiResult<(StatusCode, Json<wire::Runbook>)> {
    let view = state
        .app
        .create_runbook(
            &ctx,
            scope.scope(),
            RunbookInput {
                identifier: body.identifier,
                name: body.name,
                definition: body.definition,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(wire_runbook(view)?)))
}

pub async fn get_runbook(
    State(state): State<AppState>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<RunbookPath>,
    ApiQuery(params): ApiQuery<wire::RunbookParams>,
) -> ApiResult<Json<wire::Runbook>> {
    let view = state
        .app
        .runbook(scope.scope(), &path.runbook, params.version)
        .await?;
    Ok(Json(wire_runbook(view)?))
}

pub async fn update_runbook(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<RunbookPath>,
    ApiJson(body): ApiJson<wire::RunbookUpdate>,
) -> ApiResult<Json<wire::Runbook>> {
    let view = state
        .app
        .update_runbook(
            &ctx,
            scope.scope(),
            &path.runbook,
            RunbookUpdate {
                name: body.name,
                definition: body.definition,
                expected_version: body.expected_version,
            },
        )
        .await?;
    Ok(Json(wire_runbook(view)?))
}

pub async fn list_versions(
    State(state): State<AppState>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<RunbookPath>,
) -> ApiResult<Json<wire::RunbookVersionList>> {
    let (_, versions) = state
        .app
        .runbook_versions(scope.scope(), &path.runbook)
        .await?;
    Ok(Json(wire::RunbookVersionList {
        items: versions
            .into_iter()
            .map(|version| wire::RunbookVersion {
                version: version.version,
                created_at: version.created_at.to_string(),
                created_by: version.created_by,
            })
            .collect(),
    }))
}

pub async fn delete_runbook(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<RunbookPath>,
) -> ApiResult<StatusCode> {
    state
        .app
        .delete_runbook(&ctx, scope.scope(), &path.runbook)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
