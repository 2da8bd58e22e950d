//! Organisations and projects.

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use rampart_api::platform as wire;
use rampart_api::{DeleteParams, ListParams, ListResponse};
use rampart_app::Ctx;
use rampart_app::platform::tenancy::{NewScopeInput, ResolvedScope, ScopePatch};
use rampart_domain::platform::tenancy::{Organization, Project};

use crate::AppState;
use crate::convert;
use crate::enforce::Scope;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery};

pub(crate) fn org_of(scope: &ResolvedScope) -> ApiResult<&Organization> {
    match scope {
        ResolvedScope::Org(org) | ResolvedScope::Project(org, _) => Ok(org),
        ResolvedScope::Account => Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "route registered without an organisation",
        )),
    }
}

pub(crate) fn project_of(scope: &ResolvedScope) -> ApiResult<(&Organization, &Project)> {
    match scope {
        ResolvedScope::Project(org, project) => Ok((org, project)),
        _ => Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
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

pub async fn get_ip_allowlist(
    State(state): State<AppState>,
    Extension(scope): crate::enforce::Scope,
) -> ApiResult<Json<wire::IpAllowlist>> {
    let cidrs = state.app.ip_allowlist(scope.scope()).await?;
    Ok(Json(wire::IpAllowlist { cidrs }))
}

pub async fn set_ip_allowlist(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): crate::enforce::Scope,
    crate::extract::ApiJson(body): crate::extract::ApiJson<wire::IpAllowlist>,
) -> ApiResult<Json<wire::IpAllowlist>> {
    let cidrs = state
        .app
        .set_ip_allowlist(&ctx, scope.scope(), &body.cidrs)
        .await?;
    Ok(Json(wire::IpAllowlist { cidrs }))
}
