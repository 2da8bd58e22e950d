//! Organisations and projects.

use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::{Extension, Json};
use rampart_api::platform as wire;
use rampart_api::{DeleteParams, ListParams, ListResponse};
use rampart_app::Access;
use rampart_app::Ctx;
use rampart_app::platform::tenancy::{NewScopeInput, ResolvedScope, ScopePatch};
use rampart_domain::ErrorCode;
use rampart_domain::Permission as P;
use rampart_domain::platform::tenancy::{Organization, Project};

use crate::AppState;
use crate::convert;
use crate::enforce::Scope;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery};
use crate::routes::{FORCE_QUERY, RouteSpec, RouteTable, perm};

/// Registers this module's routes.
pub fn routes(table: &mut RouteTable) {
    use Method as M;
    let r = RouteSpec::new;

    // Organisations and projects.
    table.add(
        r(
            M::GET,
            "/api/v1/orgs",
            Access::List(P::OrgView),
            "List the organisations you can see",
        )
        .page::<wire::Org>(),
        list_orgs,
    );
    table.add(
        r(
            M::POST,
            "/api/v1/orgs",
            perm(P::OrgCreate),
            "Create an organisation",
        )
        .body::<wire::OrgCreate>()
        .reply::<wire::Org>(201),
        create_org,
    );
    table.add(
        r(
            M::GET,
            "/api/v1/orgs/{org}",
            perm(P::OrgView),
            "Read an organisation",
        )
        .reply::<wire::Org>(200),
        get_org,
    );
    table.add(
        r(
            M::PATCH,
            "/api/v1/orgs/{org}",
            perm(P::OrgEdit),
            "Update an organisation",
        )
        .body::<wire::ScopeUpdate>()
        .reply::<wire::Org>(200),
        update_org,
    );
    table.add(
        r(
            M::DELETE,
            "/api/v1/orgs/{org}",
            perm(P::OrgDelete),
            "Delete an organisation (409 when not empty unless ?force=true)",
        )
        .step_up()
        .query(FORCE_QUERY),
        delete_org,
    );
    table.add(
        r(
            M::GET,
            "/api/v1/orgs/{org}/projects",
            Access::List(P::ProjectView),
            "List the projects you can view",
        )
        .page::<wire::Project>(),
        list_projects,
    );
    table.add(
        r(
            M::POST,
            "/api/v1/orgs/{org}/projects",
            perm(P::ProjectCreate),
            "Create a project",
        )
        .body::<wire::ProjectCreate>()
        .reply::<wire::Project>(201),
        create_project,
    );
    table.add(
        r(
            M::GET,
            "/api/v1/orgs/{org}/projects/{project}",
            perm(P::ProjectView),
            "Read a project",
        )
        .reply::<wire::Project>(200),
        get_project,
    );
    table.add(
        r(
            M::PATCH,
            "/api/v1/orgs/{org}/projects/{project}",
            perm(P::ProjectEdit),
            "Update a project",
        )
        .body::<wire::ScopeUpdate>()
        .reply::<wire::Project>(200),
        update_project,
    );
    table.add(
        r(
            M::DELETE,
            "/api/v1/orgs/{org}/projects/{project}",
            perm(P::ProjectDelete),
            "Delete a project (409 when not empty unless ?force=true)",
        )
        .query(FORCE_QUERY),
        delete_project,
    );
}

pub(crate) fn org_of(scope: &ResolvedScope) -> ApiResult<&Organization> {
    match scope {
        ResolvedScope::Org(org) | ResolvedScope::Project(org, _) => Ok(org),
        ResolvedScope::Account => Err(ApiError::new(
            ErrorCode::InternalError,
            "route registered without an organisation",
        )),
    }
}

pub(crate) fn project_of(scope: &ResolvedScope) -> ApiResult<(&Organization, &Project)> {
    match scope {
        ResolvedScope::Project(org, project) => Ok((org, project)),
        _ => Err(ApiError::new(
            ErrorCode::InternalError,
            "route registered without a project",
        )),
    }
}

pub async fn list_orgs(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<ListResponse<wire::Org>>> {
    let page = state
        .app
        .list_orgs(&ctx, params.limit, params.cursor.as_deref())
        .await?;
    Ok(Json(ListResponse {
        items: page.items.iter().map(convert::org).collect(),
        next_cursor: page.next_cursor,
    }))
}

pub async fn create_org(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    ApiJson(body): ApiJson<wire::OrgCreate>,
) -> ApiResult<(StatusCode, Json<wire::Org>)> {
    let org = state
        .app
        .create_org(
            &ctx,
            NewScopeInput {
                identifier: body.identifier,
                name: body.name,
                description: body.description,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(convert::org(&org))))
}

pub async fn get_org(Extension(scope): Scope) -> ApiResult<Json<wire::Org>> {
    Ok(Json(convert::org(org_of(&scope)?)))
}

pub async fn update_org(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiJson(body): ApiJson<wire::ScopeUpdate>,
) -> ApiResult<Json<wire::Org>> {
    let org = state
        .app
        .update_org(
            &ctx,
            org_of(&scope)?.clone(),
            ScopePatch {
                name: body.name,
                description: body.description,
            },
        )
        .await?;
    Ok(Json(convert::org(&org)))
}

pub async fn delete_org(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiQuery(params): ApiQuery<DeleteParams>,
) -> ApiResult<StatusCode> {
    state
        .app
        .delete_org(&ctx, org_of(&scope)?, params.force)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn list_projects(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<ListResponse<wire::Project>>> {
    let org = org_of(&scope)?;
    let page = state
        .app
        .list_projects(&ctx, org, params.limit, params.cursor.as_deref())
        .await?;
    Ok(Json(ListResponse {
        items: page
            .items
            .iter()
            .map(|p| convert::project(org, p))
            .collect(),
        next_cursor: page.next_cursor,
    }))
}

pub async fn create_project(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiJson(body): ApiJson<wire::ProjectCreate>,
) -> ApiResult<(StatusCode, Json<wire::Project>)> {
    let org = org_of(&scope)?;
    let project = state
        .app
        .create_project(
            &ctx,
            org,
            NewScopeInput {
                identifier: body.identifier,
                name: body.name,
                description: body.description,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(convert::project(org, &project))))
}

pub async fn get_project(Extension(scope): Scope) -> ApiResult<Json<wire::Project>> {
    let (org, project) = project_of(&scope)?;
    Ok(Json(convert::project(org, project)))
}

pub async fn update_project(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiJson(body): ApiJson<wire::ScopeUpdate>,
) -> ApiResult<Json<wire::Project>> {
    let (org, project) = project_of(&scope)?;
    let updated = state
        .app
        .update_project(
            &ctx,
            project.clone(),
            ScopePatch {
                name: body.name,
                description: body.description,
            },
        )
        .await?;
    Ok(Json(convert::project(org, &updated)))
}

pub async fn delete_project(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiQuery(params): ApiQuery<DeleteParams>,
) -> ApiResult<StatusCode> {
    let (_, project) = project_of(&scope)?;
    state
        .app
        .delete_project(&ctx, project, params.force)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
