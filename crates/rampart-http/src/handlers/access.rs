//! Role assignments, explain and "my permissions", at account, organisation and project
//! scope.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use rampart_api::platform as wire;
use rampart_api::{ListParams, ListResponse};
use rampart_app::Ctx;
use rampart_app::platform::access::{RoleAssignmentRecord, RoleRef, grantee_text};
use rampart_app::platform::tenancy::ResolvedScope;

use crate::AppState;
use crate::enforce::Scope;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiQuery};

/// `account`, `<org>` or `<org>/<project>`.
pub fn scope_text(scope: &ResolvedScope) -> String {
    match scope {
        ResolvedScope::Account => "account".to_owned(),
        ResolvedScope::Org(org) => org.identifier.to_string(),
        ResolvedScope::Project(org, project) => {
            format!("{}/{}", org.identifier, project.identifier)
        }
    }
}

fn wire_assignment(record: &RoleAssignmentRecord, scope: &ResolvedScope) -> wire::RoleAssignment {
    wire::RoleAssignment {
        id: record.id.to_string(),
        scope: scope_text(scope),
        principal: grantee_text(record.grantee),
        role: match record.role {
            RoleRef::Builtin(role) => role.identifier().to_owned(),
            RoleRef::Custom(id) => id.to_string(),
        },
        resource_group: record.resource_group_id.map(|id| id.to_string()),
        created_at: record.created_at.to_string(),
        created_by: record.created_by.clone(),
    }
}

pub async fn list_role_assignments(
    State(state): State<AppState>,
    Extension(scope): Scope,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<ListResponse<wire::RoleAssignment>>> {
    let page = state
        .app
        .list_role_assignments(scope.scope(), params.limit, params.cursor.as_deref())
        .await?;
    Ok(Json(ListResponse {
        items: page
            .items
            .iter()
            .map(|record| wire_assignment(record, &scope))
            .collect(),
        next_cursor: page.next_cursor,
    }))
}

pub async fn create_role_assignment(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiJson(body): ApiJson<wire::RoleAssignmentCreate>,
) -> ApiResult<(StatusCode, Json<wire::RoleAssignment>)> {
    let record = state
        .app
        .create_role_assignment(&ctx, scope.scope(), &body.principal, &body.role)
        .await?;
    Ok((StatusCode::CREATED, Json(wire_assignment(&record, &scope))))
}

pub async fn delete_role_assignment(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    Path(params): Path<Vec<(String, String)>>,
) -> ApiResult<StatusCode> {
    let id = params
        .iter()
        .find(|(key, _)| key == "assignment_id")
        .map(|(_, value)| value.as_str())
        .unwrap_or_default();
    state
        .app
        .delete_role_assignment(&ctx, scope.scope(), id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn explain(
    State(state): State<AppState>,
    Extension(scope): Scope,
    ApiQuery(params): ApiQuery<wire::ExplainParams>,
) -> ApiResult<Json<wire::Explanation>> {
    let explanation = state
        .app
        .explain(scope.scope(), &params.principal, &params.permission)
        .await?;
    Ok(Json(wire::Explanation {
        principal: params.principal,
        permission: params.permission,
        scope: scope_text(&scope),
        allowed: explanation.allowed,
        decided_by: explanation.decided_by.map(|id| id.to_string()),
    }))
}

pub async fn my_permissions(
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
) -> Json<wire::MyPermissions> {
    Json(wire::MyPermissions {
        scope: scope_text(&scope),
        permissions: ctx
            .permissions_at(scope.scope())
            .iter()
            .map(|permission| permission.as_str().to_owned())
            .collect(),
    })
}
