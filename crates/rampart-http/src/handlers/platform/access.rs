//! Access control at account, organisation and project scope: role assignments, explain,
//! "my permissions", custom roles, user groups and their members, resource groups.

use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::{Extension, Json};
use rampart_api::platform as wire;
use rampart_api::{ListParams, ListResponse};
use rampart_app::Access;
use rampart_app::Ctx;
use rampart_app::platform::access::{
    ResourceGroupInput, RoleInput, RolePatch, RoleView, grantee_text,
};
use rampart_app::platform::tenancy::ResolvedScope;
use rampart_domain::Permission as P;
use rampart_domain::platform::access::BuiltinRole;
use rampart_domain::platform::access::ResourceSelector;
use rampart_domain::platform::access::{
    ResourceGroupRecord, RoleAssignmentRecord, RoleRef, UserGroup,
};

use crate::AppState;
use crate::enforce::Scope;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath, ApiQuery, path_params};
use crate::routes::{QueryParam, RouteSpec, RouteTable, Shape, join_path, perm};

/// A principal as `explain` reads it: `user:` or `service_account:` and a UUID.
const PRINCIPAL_PATTERN: &str = "^(user|service_account):[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";

/// Registers this module's routes.
pub fn routes(table: &mut RouteTable) {
    use Method as M;
    let r = RouteSpec::new;

    // Access control at each scope.
    for (assignments, assignment, explain_path, mine) in [
        (
            "/api/v1/role-assignments",
            "/api/v1/role-assignments/{assignment_id}",
            "/api/v1/access/explain",
            "/api/v1/access/my-permissions",
        ),
        (
            "/api/v1/orgs/{org}/role-assignments",
            "/api/v1/orgs/{org}/role-assignments/{assignment_id}",
            "/api/v1/orgs/{org}/access/explain",
            "/api/v1/orgs/{org}/access/my-permissions",
        ),
        (
            "/api/v1/orgs/{org}/projects/{project}/role-assignments",
            "/api/v1/orgs/{org}/projects/{project}/role-assignments/{assignment_id}",
            "/api/v1/orgs/{org}/projects/{project}/access/explain",
            "/api/v1/orgs/{org}/projects/{project}/access/my-permissions",
        ),
    ] {
        table.add(
            r(
                M::GET,
                assignments,
                perm(P::RoleAssignmentView),
                "List role assignments made at this scope",
            )
            .page::<wire::RoleAssignment>(),
            list_role_assignments,
        );
        table.add(
            r(
                M::POST,
                assignments,
                perm(P::RoleAssignmentCreate),
                "Assign a role (never beyond your own rights)",
            )
            .step_up()
            .body::<wire::RoleAssignmentCreate>()
            .reply::<wire::RoleAssignment>(201),
            create_role_assignment,
        );
        table.add(
            r(
                M::DELETE,
                assignment,
                perm(P::RoleAssignmentDelete),
                "Remove a role assignment (not the last Account Admin)",
            )
            .step_up(),
            delete_role_assignment,
        );
        table.add(
            r(
                M::GET,
                explain_path,
                perm(P::RoleAssignmentView),
                "Does a principal hold a permission here, and which assignment decided",
            )
            .query(
                const {
                    &[
                        QueryParam::required(
                            "principal",
                            "user:<id> or service_account:<id>",
                            Shape::Pattern(PRINCIPAL_PATTERN),
                        ),
                        QueryParam::required(
                            "permission",
                            "resource:action",
                            Shape::Pattern("^[a-z_]+:[a-z_]+$"),
                        ),
                        QueryParam::optional("resource", "one resource as type/id", Shape::Text),
                    ]
                },
            )
            .reply::<wire::Explanation>(200),
            explain,
        );
        table.add(
            r(
                M::GET,
                mine,
                Access::SeeScope,
                "My permissions at this scope",
            )
            .reply::<wire::MyPermissions>(200),
            my_permissions,
        );
    }

    // Custom roles, user groups and their members, at each scope.
    for base in [
        "/api/v1",
        "/api/v1/orgs/{org}",
        "/api/v1/orgs/{org}/projects/{project}",
    ] {
        let path = |suffix| join_path(base, suffix);
        table.add(
            r(
                M::GET,
                path("/roles"),
                perm(P::RoleView),
                "List roles: the built-in ones first, then custom roles defined here",
            )
            .page::<wire::Role>(),
            list_roles,
        );
        table.add(
            r(
                M::POST,
                path("/roles"),
                perm(P::RoleCreate),
                "Create a custom role (never beyond your own permissions)",
            )
            .step_up()
            .body::<wire::RoleCreate>()
            .reply::<wire::Role>(201),
            create_role,
        );
        table.add(
            r(
                M::GET,
                path("/roles/{role_id}"),
                perm(P::RoleView),
                "Read a role (built-in identifier or custom id)",
            )
            .reply::<wire::Role>(200),
            get_role,
        );
        table.add(
            r(
                M::PATCH,
                path("/roles/{role_id}"),
                perm(P::RoleEdit),
                "Update a custom role (built-in roles are immutable)",
            )
            .step_up()
            .body::<wire::RoleUpdate>()
            .reply::<wire::Role>(200),
            update_role,
        );
        table.add(
            r(
                M::DELETE,
                path("/roles/{role_id}"),
                perm(P::RoleDelete),
                "Delete a custom role and its assignments",
            )
            .step_up(),
            delete_role,
        );
        table.add(
            r(
                M::GET,
                path("/groups"),
                perm(P::GroupView),
                "List user groups defined here",
            )
            .page::<wire::Group>(),
            list_groups,
        );
        table.add(
            r(
                M::POST,
                path("/groups"),
                perm(P::GroupCreate),
                "Create a user group",
            )
            .body::<wire::GroupCreate>()
            .reply::<wire::Group>(201),
            create_group,
        );
        table.add(
            r(
                M::GET,
                path("/groups/{group_id}"),
                perm(P::GroupView),
                "Read a user group",
            )
            .reply::<wire::Group>(200),
            get_group,
        );
        table.add(
            r(
                M::DELETE,
                path("/groups/{group_id}"),
                perm(P::GroupDelete),
                "Delete a user group, its memberships and assignments",
            )
            .step_up(),
            delete_group,
        );
        table.add(
            r(
                M::GET,
                path("/groups/{group_id}/members"),
                perm(P::GroupView),
                "List a group's members",
            )
            .page::<wire::GroupMember>(),
            list_group_members,
        );
        table.add(
            r(
                M::POST,
                path("/groups/{group_id}/members"),
                perm(P::GroupEdit),
                "Add a user to a group",
            )
            .step_up()
            .body::<wire::GroupMember>()
            .reply::<wire::GroupMember>(201),
            add_group_member,
        );
        table.add(
            r(
                M::DELETE,
                path("/groups/{group_id}/members/{user_id}"),
                perm(P::GroupEdit),
                "Remove a user from a group",
            )
            .step_up(),
            remove_group_member,
        );
        table.add(
            r(
                M::GET,
                path("/resource-groups"),
                perm(P::ResourceGroupView),
                "List resource groups defined here",
            )
            .page::<wire::ResourceGroup>(),
            list_resource_groups,
        );
        table.add(
            r(
                M::POST,
                path("/resource-groups"),
                perm(P::ResourceGroupCreate),
                "Create a resource group (all, some types, or named resources)",
            )
            .body::<wire::ResourceGroupCreate>()
            .reply::<wire::ResourceGroup>(201),
            create_resource_group,
        );
        table.add(
            r(
                M::GET,
                path("/resource-groups/{resource_group_id}"),
                perm(P::ResourceGroupView),
                "Read a resource group",
            )
            .reply::<wire::ResourceGroup>(200),
            get_resource_group,
        );
        table.add(
            r(
                M::DELETE,
                path("/resource-groups/{resource_group_id}"),
                perm(P::ResourceGroupDelete),
                "Delete a resource group and the assignments over it",
            )
            .step_up(),
            delete_resource_group,
        );
        table.add(
            r(
                M::PATCH,
                path("/groups/{group_id}"),
                perm(P::GroupEdit),
                "Rename or re-describe a user group",
            )
            .body::<wire::ScopeUpdate>()
            .reply::<wire::Group>(200),
            update_group,
        );
        table.add(
            r(
                M::PATCH,
                path("/resource-groups/{resource_group_id}"),
                perm(P::ResourceGroupEdit),
                "Rename or re-describe a resource group (what it selects is fixed)",
            )
            .body::<wire::ScopeUpdate>()
            .reply::<wire::ResourceGroup>(200),
            update_resource_group,
        );
    }
}

path_params! {
    /// `…/role-assignments/{assignment_id}`
    pub struct AssignmentPath { assignment_id }
}

path_params! {
    /// `…/roles/{role_id}`
    pub struct RolePath { role_id }
}

path_params! {
    /// `…/groups/{group_id}` and its members
    pub struct GroupPath { group_id }
}

path_params! {
    /// `…/groups/{group_id}/members/{user_id}`
    pub struct GroupMemberPath { group_id, user_id }
}

path_params! {
    /// `…/resource-groups/{resource_group_id}`
    pub struct ResourceGroupPath { resource_group_id }
}

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
        .create_role_assignment(
            &ctx,
            scope.scope(),
            &body.principal,
            &body.role,
            body.resource_group.as_deref(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(wire_assignment(&record, &scope))))
}

pub async fn delete_role_assignment(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<AssignmentPath>,
) -> ApiResult<StatusCode> {
    state
        .app
        .delete_role_assignment(&ctx, scope.scope(), &path.assignment_id)
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
        .explain(
            scope.scope(),
            &params.principal,
            &params.permission,
            params.resource.as_deref(),
        )
        .await?;
    Ok(Json(wire::Explanation {
        principal: params.principal,
        permission: params.permission,
        scope: scope_text(&scope),
        resource: params.resource,
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

fn wire_role(role: &RoleView, scope: &ResolvedScope) -> wire::Role {
    match role {
        RoleView::Builtin(builtin) => wire::Role {
            id: builtin.identifier().to_owned(),
            identifier: builtin.identifier().to_owned(),
            name: format!("{builtin:?}"),
            description: "built-in role".to_owned(),
            scope: "account".to_owned(),
            built_in: true,
            permissions: builtin
                .permissions()
                .iter()
                .map(|p| p.as_str().to_owned())
                .collect(),
            created_at: None,
            updated_at: None,
        },
        RoleView::Custom(custom) => wire::Role {
            id: custom.id.to_string(),
            identifier: custom.identifier.to_string(),
            name: custom.name.to_string(),
            description: custom.description.to_string(),
            scope: scope_text(scope),
            built_in: false,
            permissions: custom
                .permissions
                .iter()
                .map(|p| p.as_str().to_owned())
                .collect(),
            created_at: Some(custom.created_at.to_string()),
            updated_at: Some(custom.updated_at.to_string()),
        },
    }
}

fn wire_group(group: &UserGroup, scope: &ResolvedScope) -> wire::Group {
    wire::Group {
        id: group.id.to_string(),
        identifier: group.identifier.to_string(),
        name: group.name.to_string(),
        description: group.description.to_string(),
        scope: scope_text(scope),
        created_at: group.created_at.to_string(),
        updated_at: group.updated_at.to_string(),
    }
}

/// Custom roles defined at this scope; the first page starts with the built-in roles.
pub async fn list_roles(
    State(state): State<AppState>,
    Extension(scope): Scope,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<ListResponse<wire::Role>>> {
    let page = state
        .app
        .list_custom_roles(scope.scope(), params.limit, params.cursor.as_deref())
        .await?;
    let mut items: Vec<wire::Role> = Vec::new();
    if params.cursor.is_none() {
        items.extend(
            BuiltinRole::ALL
                .iter()
                .map(|role| wire_role(&RoleView::Builtin(*role), &scope)),
        );
    }
    items.extend(
        page.items
            .into_iter()
            .map(|role| wire_role(&RoleView::Custom(role), &scope)),
    );
    Ok(Json(ListResponse {
        items,
        next_cursor: page.next_cursor,
    }))
}

pub async fn create_role(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiJson(body): ApiJson<wire::RoleCreate>,
) -> ApiResult<(StatusCode, Json<wire::Role>)> {
    let role = state
        .app
        .create_custom_role(
            &ctx,
            scope.scope(),
            RoleInput {
                identifier: body.identifier,
                name: body.name,
                description: body.description,
                permissions: body.permissions,
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(wire_role(&RoleView::Custom(role), &scope)),
    ))
}

pub async fn get_role(
    State(state): State<AppState>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<RolePath>,
) -> ApiResult<Json<wire::Role>> {
    let role = state.app.role_at(scope.scope(), &path.role_id).await?;
    Ok(Json(wire_role(&role, &scope)))
}

pub async fn update_role(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<RolePath>,
    ApiJson(body): ApiJson<wire::RoleUpdate>,
) -> ApiResult<Json<wire::Role>> {
    let role = state
        .app
        .update_custom_role(
            &ctx,
            scope.scope(),
            &path.role_id,
            RolePatch {
                name: body.name,
                description: body.description,
                permissions: body.permissions,
            },
        )
        .await?;
    Ok(Json(wire_role(&RoleView::Custom(role), &scope)))
}

pub async fn delete_role(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<RolePath>,
) -> ApiResult<StatusCode> {
    state
        .app
        .delete_custom_role(&ctx, scope.scope(), &path.role_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn list_groups(
    State(state): State<AppState>,
    Extension(scope): Scope,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<ListResponse<wire::Group>>> {
    let page = state
        .app
        .list_user_groups(scope.scope(), params.limit, params.cursor.as_deref())
        .await?;
    Ok(Json(ListResponse {
        items: page
            .items
            .iter()
            .map(|group| wire_group(group, &scope))
            .collect(),
        next_cursor: page.next_cursor,
    }))
}

pub async fn create_group(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiJson(body): ApiJson<wire::GroupCreate>,
) -> ApiResult<(StatusCode, Json<wire::Group>)> {
    let group = state
        .app
        .create_user_group(
            &ctx,
            scope.scope(),
            &body.identifier,
            &body.name,
            body.description.as_deref(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(wire_group(&group, &scope))))
}

pub async fn get_group(
    State(state): State<AppState>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<GroupPath>,
) -> ApiResult<Json<wire::Group>> {
    let group = state
        .app
        .user_group_at(scope.scope(), &path.group_id)
        .await?;
    Ok(Json(wire_group(&group, &scope)))
}

pub async fn delete_group(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<GroupPath>,
) -> ApiResult<StatusCode> {
    state
        .app
        .delete_user_group(&ctx, scope.scope(), &path.group_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn list_group_members(
    State(state): State<AppState>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<GroupPath>,
    ApiQuery(list): ApiQuery<ListParams>,
) -> ApiResult<Json<ListResponse<wire::GroupMember>>> {
    let page = state
        .app
        .list_group_members(
            scope.scope(),
            &path.group_id,
            list.limit,
            list.cursor.as_deref(),
        )
        .await?;
    Ok(Json(ListResponse {
        items: page
            .items
            .iter()
            .map(|user| wire::GroupMember {
                user: user.to_string(),
            })
            .collect(),
        next_cursor: page.next_cursor,
    }))
}

pub async fn add_group_member(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<GroupPath>,
    ApiJson(body): ApiJson<wire::GroupMember>,
) -> ApiResult<(StatusCode, Json<wire::GroupMember>)> {
    state
        .app
        .add_group_member(&ctx, scope.scope(), &path.group_id, &body.user)
        .await?;
    Ok((StatusCode::CREATED, Json(body)))
}

pub async fn remove_group_member(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<GroupMemberPath>,
) -> ApiResult<StatusCode> {
    state
        .app
        .remove_group_member(&ctx, scope.scope(), &path.group_id, &path.user_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

fn wire_resource_group(group: &ResourceGroupRecord, scope: &ResolvedScope) -> wire::ResourceGroup {
    let (kind, include_children, types, resources) = match &group.spec.selector {
        ResourceSelector::All { include_children } => {
            ("all", *include_children, Vec::new(), Vec::new())
        }
        ResourceSelector::Types {
            kinds,
            include_children,
        } => ("types", *include_children, kinds.clone(), Vec::new()),
        ResourceSelector::Specific(items) => (
            "specific",
            false,
            Vec::new(),
            items
                .iter()
                .map(|(kind, id)| format!("{kind}/{id}"))
                .collect(),
        ),
    };
    wire::ResourceGroup {
        id: group.id.to_string(),
        identifier: group.identifier.to_string(),
        name: group.name.to_string(),
        description: group.description.to_string(),
        scope: scope_text(scope),
        kind: kind.to_owned(),
        include_children,
        types,
        resources,
        created_at: group.created_at.to_string(),
    }
}

pub async fn list_resource_groups(
    State(state): State<AppState>,
    Extension(scope): Scope,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<ListResponse<wire::ResourceGroup>>> {
    let page = state
        .app
        .list_resource_groups(scope.scope(), params.limit, params.cursor.as_deref())
        .await?;
    Ok(Json(ListResponse {
        items: page
            .items
            .iter()
            .map(|group| wire_resource_group(group, &scope))
            .collect(),
        next_cursor: page.next_cursor,
    }))
}

pub async fn create_resource_group(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiJson(body): ApiJson<wire::ResourceGroupCreate>,
) -> ApiResult<(StatusCode, Json<wire::ResourceGroup>)> {
    let group = state
        .app
        .create_resource_group(
            &ctx,
            scope.scope(),
            ResourceGroupInput {
                identifier: body.identifier,
                name: body.name,
                description: body.description,
                kind: body.kind,
                include_children: body.include_children,
                types: body.types,
                resources: body.resources,
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(wire_resource_group(&group, &scope)),
    ))
}

pub async fn get_resource_group(
    State(state): State<AppState>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<ResourceGroupPath>,
) -> ApiResult<Json<wire::ResourceGroup>> {
    let group = state
        .app
        .resource_group_at(scope.scope(), &path.resource_group_id, true)
        .await?;
    Ok(Json(wire_resource_group(&group, &scope)))
}

pub async fn delete_resource_group(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<ResourceGroupPath>,
) -> ApiResult<StatusCode> {
    state
        .app
        .delete_resource_group(&ctx, scope.scope(), &path.resource_group_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

fn scope_patch(body: wire::ScopeUpdate) -> rampart_app::platform::tenancy::ScopePatch {
    rampart_app::platform::tenancy::ScopePatch {
        name: body.name,
        description: body.description,
    }
}

pub async fn update_group(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<GroupPath>,
    ApiJson(body): ApiJson<wire::ScopeUpdate>,
) -> ApiResult<Json<wire::Group>> {
    let group = state
        .app
        .update_user_group(&ctx, scope.scope(), &path.group_id, scope_patch(body))
        .await?;
    Ok(Json(wire_group(&group, &scope)))
}

pub async fn update_resource_group(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<ResourceGroupPath>,
    ApiJson(body): ApiJson<wire::ScopeUpdate>,
) -> ApiResult<Json<wire::ResourceGroup>> {
    let group = state
        .app
        .update_resource_group(
            &ctx,
            scope.scope(),
            &path.resource_group_id,
            scope_patch(body),
        )
        .await?;
    Ok(Json(wire_resource_group(&group, &scope)))
}
