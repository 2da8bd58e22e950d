//! Access in the UI, at the account's scope (`/access`), an organisation's
//! (`/o/{org}/access`) and a project's (`/o/{org}/p/{project}/access`): your own
//! permissions there; the "explain" form (may this person do this here, and which
//! assignment decided); the role assignments made there, assigning a role (to a person
//! by email, a service account or a group) and removing one; the roles; the user groups
//! with their members; and, at the account, the users ([`super::identity`]).
//!
//! Each part is drawn only for who may use its API route at this scope, and each form is
//! admitted again as that route (assigning, removing and group membership are sensitive:
//! step-up). Nobody can grant more than they hold: the use cases check it.

use axum::Extension;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use rampart_app::platform::access::{Explanation, grantee_text};
use rampart_domain::platform::access::{
    BuiltinRole, CustomRole, Grantee, PermissionSet, ResourceGroupRecord, RoleAssignmentRecord,
    RoleRef, UserGroup,
};
use serde::Deserialize;

use crate::AppState;
use crate::api_routes_at_each_level;
use crate::error::ApiError;
use crate::extract::ApiForm;
use crate::handlers::platform::access::scope_text;
use crate::web::ApiGuards;
use crate::web::gate::{
    ApiRoute, Browser, ButtonForm, Level, Viewer, WebError, WebPath, query_pairs, see_other,
};
use crate::web::page::{csrf_field, scope_base, viewer_page, when};

pub const MINE: [ApiRoute; 3] = api_routes_at_each_level!(GET, "/access/my-permissions");
const EXPLAIN: [ApiRoute; 3] = api_routes_at_each_level!(GET, "/access/explain");
pub const ASSIGNMENTS: [ApiRoute; 3] = api_routes_at_each_level!(GET, "/role-assignments");
const ASSIGN: [ApiRoute; 3] = api_routes_at_each_level!(POST, "/role-assignments");
const UNASSIGN: [ApiRoute; 3] =
    api_routes_at_each_level!(DELETE, "/role-assignments/{assignment_id}");
const ROLES: [ApiRoute; 3] = api_routes_at_each_level!(GET, "/roles");
const GROUPS: [ApiRoute; 3] = api_routes_at_each_level!(GET, "/groups");
const GROUP_CREATE: [ApiRoute; 3] = api_routes_at_each_level!(POST, "/groups");
const GROUP_DELETE: [ApiRoute; 3] = api_routes_at_each_level!(DELETE, "/groups/{group_id}");
const MEMBERS: [ApiRoute; 3] = api_routes_at_each_level!(GET, "/groups/{group_id}/members");
const MEMBER_ADD: [ApiRoute; 3] = api_routes_at_each_level!(POST, "/groups/{group_id}/members");
const MEMBER_REMOVE: [ApiRoute; 3] =
    api_routes_at_each_level!(DELETE, "/groups/{group_id}/members/{user_id}");
const RESOURCE_GROUPS: [ApiRoute; 3] = api_routes_at_each_level!(GET, "/resource-groups");

/// Every route of every level these pages stand for.
pub const API_ROUTES: [[ApiRoute; 3]; 13] = [
    MINE,
    EXPLAIN,
    ASSIGNMENTS,
    ASSIGN,
    UNASSIGN,
    ROLES,
    GROUPS,
    GROUP_CREATE,
    GROUP_DELETE,
    MEMBERS,
    MEMBER_ADD,
    MEMBER_REMOVE,
    RESOURCE_GROUPS,
];

/// The page draws at most this many of each list (assignments, groups, members).
const LIST_MAX: u32 = 200;

/// How people read a built-in role.
fn builtin_name(role: BuiltinRole) -> &'static str {
    match role {
        BuiltinRole::AccountAdmin => "Account Admin",
        BuiltinRole::OrgAdmin => "Organisation Admin",
        BuiltinRole::ProjectAdmin => "Project Admin",
        BuiltinRole::User => "User",
        BuiltinRole::Viewer => "Viewer",
    }
}

/// What the page shows, read once.
struct Known {
    assignments: Vec<RoleAssignmentRecord>,
    roles: Vec<CustomRole>,
    groups: Vec<(UserGroup, Vec<String>)>,
    resource_groups: Vec<ResourceGroupRecord>,
    /// The people in assignments and groups.
    names: super::identity::People,
}

impl Known {
    fn person(&self, id: &str) -> String {
        if self.names.knows(id) {
            self.names.label(id)
        } else {
            format!("user:{id}")
        }
    }

    /// A grantee as people read it: a person's name, a group's name, a service account.
    fn grantee(&self, grantee: Grantee) -> String {
        match grantee {
            Grantee::Principal(rampart_domain::platform::identity::PrincipalId::User(id)) => {
                self.person(&id.to_string())
            }
            Grantee::Group(id) => self
                .groups
                .iter()
                .find(|(group, _)| group.id == id)
                .map_or_else(
                    || format!("group:{id}"),
                    |(group, _)| format!("group {}", group.name),
                ),
            other => grantee_text(other),
        }
    }

    fn role(&self, role: RoleRef) -> String {
        match role {
            RoleRef::Builtin(builtin) => builtin_name(builtin).to_owned(),
            RoleRef::Custom(id) => self
                .roles
                .iter()
                .find(|custom| custom.id == id)
                .map_or_else(|| format!("role {id}"), |custom| custom.name.to_string()),
        }
    }

    fn resource_group(&self, id: Option<uuid::Uuid>) -> String {
        match id {
            None => "all resources".to_owned(),
            Some(id) => self
                .resource_groups
                .iter()
                .find(|group| group.id == id)
                .map_or_else(|| id.to_string(), |group| group.name.to_string()),
        }
    }
}

async fn read_known(state: &AppState, viewer: &Viewer, level: Level) -> Result<Known, WebError> {
    let scope = viewer.scope.scope();
    let app = &state.app;
    let assignments = if viewer.may(level.pick(&ASSIGNMENTS)) {
        app.list_role_assignments(scope, Some(LIST_MAX), None)
            .await?
            .items
    } else {
        Vec::new()
    };
    let roles = if viewer.may(level.pick(&ROLES)) {
        app.list_custom_roles(scope, Some(LIST_MAX), None)
            .await?
            .items
    } else {
        Vec::new()
    };
    let mut groups = Vec::new();
    if viewer.may(level.pick(&GROUPS)) {
        let with_members = viewer.may(level.pick(&MEMBERS));
        for group in app
            .list_user_groups(scope, Some(LIST_MAX), None)
            .await?
            .items
        {
            let members = if with_members {
                app.list_group_members(scope, &group.id.to_string(), Some(LIST_MAX), None)
                    .await?
                    .items
                    .iter()
                    .map(ToString::to_string)
                    .collect()
            } else {
                Vec::new()
            };
            groups.push((group, members));
        }
    }
    let resource_groups = if viewer.may(level.pick(&RESOURCE_GROUPS)) {
        app.list_resource_groups(scope, Some(LIST_MAX), None)
            .await?
            .items
    } else {
        Vec::new()
    };
    let mut people: Vec<String> = assignments
        .iter()
        .filter_map(|assignment| match assignment.grantee {
            Grantee::Principal(rampart_domain::platform::identity::PrincipalId::User(id)) => {
                Some(id.to_string())
            }
            _ => None,
        })
        .collect();
    people.extend(
        groups
            .iter()
            .flat_map(|(_, members)| members.iter().cloned()),
    );
    let people: Vec<&str> = people.iter().map(String::as_str).collect();
    let names = super::identity::People::read(state, viewer, &people).await?;
    Ok(Known {
        assignments,
        roles,
        groups,
        resource_groups,
        names,
    })
}

/// The asked "explain" question, from the page's address.
struct Question {
    principal: String,
    permission: String,
    resource: String,
}

/// `GET /access`, `/o/{org}/access`, `/o/{org}/p/{project}/access`; with `principal` and
/// `permission` in the address the page stands for "explain" and answers it.
pub async fn page(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
    RawQuery(raw): RawQuery,
) -> Result<Response, WebError> {
    let level = Level::of(&path);
    let query = query_pairs(raw.as_deref());
    let given = |name: &str| {
        query
            .get(name)
            .map(|v| v.trim().to_owned())
            .unwrap_or_default()
    };
    let question = Question {
        principal: given("principal"),
        permission: given("permission"),
        resource: given("resource"),
    };
    let asked = !question.principal.is_empty() || !question.permission.is_empty();
    let route = if asked {
        level.pick(&EXPLAIN)
    } else {
        level.pick(&MINE)
    };
    let viewer = browser.admit(&state, &guards, route, &path, None).await?;
    let answer = if asked {
        Some(explain(&state, &viewer, &question).await)
    } else {
        None
    };
    let known = read_known(&state, &viewer, level).await?;
    let users = if level == Level::Account {
        super::identity::users_section(&state, &viewer).await?
    } else {
        None
    };
    let base = format!("{}/access", scope_base(&viewer));
    let mine = viewer.ctx.permissions_at(viewer.scope.scope());
    let where_ = match level {
        Level::Account => "the account".to_owned(),
        Level::Org => format!("organisation {}", scope_text(&viewer.scope)),
        Level::Project => format!("project {}", scope_text(&viewer.scope)),
    };
    let main = html! {
        h1 { "Access: " (where_) }
        p.muted {
            "Roles assigned here hold here and below; nobody can grant more than they hold."
            @if level != Level::Account { " Assignments made above also count here." }
        }
        @if viewer.may(level.pick(&EXPLAIN)) {
            (explain_form(&base, &viewer, &question, answer.as_ref(), &known))
        }
        @if viewer.may(level.pick(&ASSIGNMENTS)) {
            (assignments_section(&base, &viewer, level, &known))
        }
        @if viewer.may(level.pick(&ROLES)) {
            (roles_section(&known))
        }
        @if viewer.may(level.pick(&GROUPS)) {
            (groups_section(&base, &viewer, level, &known))
        }
        @if let Some(users) = users { (users) }
        h2 #h-mine { "Your permissions here" }
        (permission_details(&mine, "permissions"))
    };
    Ok(viewer_page(&viewer, "Access", StatusCode::OK, main))
}

/// Runs the "explain" question; a question the API would refuse (a malformed
/// principal, an unknown permission) answers with the refusal, shown on the page.
async fn explain(
    state: &AppState,
    viewer: &Viewer,
    question: &Question,
) -> Result<Explanation, ApiError> {
    let principal = state.app.principal_named(&question.principal).await?;
    let resource = Some(question.resource.as_str()).filter(|r| !r.is_empty());
    Ok(state
        .app
        .explain(
            viewer.scope.scope(),
            &principal,
            &question.permission,
            resource,
        )
        .await?)
}

fn explain_form(
    base: &str,
    viewer: &Viewer,
    question: &Question,
    answer: Option<&Result<Explanation, ApiError>>,
    known: &Known,
) -> Markup {
    let relevant = PermissionSet::relevant_at(viewer.scope.scope());
    html! {
        h2 #h-explain { "Explain" }
        form.card.filters method="get" action=(base) aria-labelledby="h-explain" {
            div {
                label for="x-principal" { "Who" }
                input #x-principal type="text" name="principal" required value=(question.principal)
                    placeholder="email, user:<id> or service_account:<id>";
            }
            div {
                label for="x-permission" { "May do" }
                select #x-permission name="permission" required {
                    @for permission in relevant.iter() {
                        option value=(permission.as_str()) selected[permission.as_str() == question.permission] { (permission.as_str()) }
                    }
                }
            }
            div {
                label for="x-resource" { "On (optional)" }
                input #x-resource type="text" name="resource" value=(question.resource) placeholder="workspace/prod";
            }
            div { button type="submit" { "Explain" } }
        }
        @match answer {
            Some(Ok(explanation)) => {
                p #explanation role="status" {
                    @if explanation.allowed { span.notice { "Allowed." } } @else { span.error { "Not allowed." } }
                    " "
                    @if let Some(decided_by) = explanation.decided_by {
                        @if let Some(assignment) = known.assignments.iter().find(|a| a.id == decided_by) {
                            "Decided by the assignment of " strong { (known.role(assignment.role)) }
                            " to " (known.grantee(assignment.grantee)) " over " (known.resource_group(assignment.resource_group_id)) "."
                        } @else {
                            "Decided by assignment " code { (decided_by) } " (not among the assignments listed here: made at a scope above, or beyond this page's first "
                            (LIST_MAX) ")."
                        }
                    } @else if !explanation.allowed {
                        "No assignment here or above grants it."
                    }
                }
            }
            Some(Err(error)) => {
                p #explanation.error role="alert" { (error.message) " " span.code { "(" (error.code) ")" } }
            }
            None => {}
        }
    }
}

fn assignments_section(base: &str, viewer: &Viewer, level: Level, known: &Known) -> Markup {
    let may_remove = viewer.may(level.pick(&UNASSIGN));
    let scope = viewer.scope.scope();
    html! {
        h2 #h-assignments { "Role assignments made here" }
        @if known.assignments.is_empty() {
            p.muted { "None." }
        } @else {
            table.responsive aria-labelledby="h-assignments" {
                thead { tr {
                    th scope="col" { "Who" } th scope="col" { "Role" } th scope="col" { "Over" }
                    th scope="col" { "Since" }
                    @if may_remove { th scope="col" { span.visually-hidden { "Actions" } } }
                } }
                tbody {
                    @for assignment in &known.assignments {
                        @let who = known.grantee(assignment.grantee);
                        tr {
                            td data-label="Who" { (who) }
                            td data-label="Role" { (known.role(assignment.role)) }
                            td data-label="Over" { (known.resource_group(assignment.resource_group_id)) }
                            td data-label="Since" { (when(assignment.created_at)) }
                            @if may_remove {
                                td data-label="" {
                                    form method="post" action=(format!("{base}/assignments/{}/remove", assignment.id)) {
                                        (csrf_field(viewer))
                                        button.secondary type="submit" aria-label=(format!("Remove {} from {who}", known.role(assignment.role))) { "Remove" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if viewer.may(level.pick(&ASSIGN)) {
            form.card method="post" action=(format!("{base}/assignments")) aria-labelledby="h-assign" {
                h3 #h-assign { "Assign a role" }
                (csrf_field(viewer))
                label for="a-principal" { "To a person or service account" }
                input #a-principal type="text" name="principal" placeholder="email, or service_account:<id>";
                @if !known.groups.is_empty() {
                    label for="a-group" { "Or to a group" }
                    select #a-group name="group" {
                        option value="" { "—" }
                        @for (group, _) in &known.groups {
                            option value=(format!("group:{}", group.id)) { (group.name.as_str()) }
                        }
                    }
                }
                label for="a-role" { "Role" }
                select #a-role name="role" required {
                    @for role in BuiltinRole::ALL {
                        @if role.assignable_at(scope) {
                            option value=(role.identifier()) selected[role == BuiltinRole::Viewer] { (builtin_name(role)) }
                        }
                    }
                    @for role in &known.roles {
                        option value=(role.id.to_string()) { (role.name.as_str()) " (custom)" }
                    }
                }
                label for="a-over" { "Over" }
                select #a-over name="resource_group" {
                    option value="" { "all resources here" }
                    @for group in &known.resource_groups {
                        option value=(group.id.to_string()) { (group.name.as_str()) }
                    }
                }
                div { button type="submit" { "Assign" } }
            }
        }
    }
}

fn permission_details(permissions: &PermissionSet, what: &str) -> Markup {
    html! {
        details {
            summary { (permissions.len()) " " (what) }
            ul.permissions {
                @for permission in permissions.iter() { li { code { (permission.as_str()) } } }
            }
        }
    }
}

fn roles_section(known: &Known) -> Markup {
    html! {
        h2 #h-roles { "Roles" }
        table.responsive aria-labelledby="h-roles" {
            thead { tr { th scope="col" { "Role" } th scope="col" { "Identifier" } th scope="col" { "Grants" } } }
            tbody {
                @for role in BuiltinRole::ALL {
                    tr {
                        td data-label="Role" { (builtin_name(role)) span.muted { " (built in)" } }
                        td data-label="Identifier" { code { (role.identifier()) } }
                        td data-label="Grants" { (permission_details(&role.permissions(), "permissions")) }
                    }
                }
                @for role in &known.roles {
                    tr {
                        td data-label="Role" { (role.name.as_str()) @if !role.description.as_str().is_empty() { br; span.muted { (role.description.as_str()) } } }
                        td data-label="Identifier" { code { (role.identifier.as_str()) } }
                        td data-label="Grants" { (permission_details(&role.permissions, "permissions")) }
                    }
                }
            }
        }
    }
}

fn groups_section(base: &str, viewer: &Viewer, level: Level, known: &Known) -> Markup {
    let may_add = viewer.may(level.pick(&MEMBER_ADD));
    let may_remove = viewer.may(level.pick(&MEMBER_REMOVE));
    let may_delete = viewer.may(level.pick(&GROUP_DELETE));
    let may_members = viewer.may(level.pick(&MEMBERS));
    html! {
        h2 #h-groups { "Groups" }
        @if known.groups.is_empty() { p.muted { "No groups are defined here." } }
        @for (group, members) in &known.groups {
            section.card aria-label=(format!("Group {}", group.name)) {
                h3 { (group.name.as_str()) " " span.muted { code { (group.identifier.as_str()) } } }
                @if !group.description.as_str().is_empty() { p { (group.description.as_str()) } }
                @if may_members {
                    @if members.is_empty() { p.muted { "No members." } }
                    @else {
                        ul.members {
                            @for member in members {
                                @let name = known.person(member);
                                li {
                                    (name)
                                    @if may_remove {
                                        form.inline method="post" action=(format!("{base}/groups/{}/members/{member}/remove", group.id)) {
                                            (csrf_field(viewer))
                                            button.secondary type="submit" aria-label=(format!("Remove {name} from {}", group.name)) { "Remove" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                div.actions {
                    @if may_add {
                        form method="post" action=(format!("{base}/groups/{}/members", group.id)) {
                            (csrf_field(viewer))
                            label for=(format!("m-{}", group.id)) { "Add a member (email)" }
                            input id=(format!("m-{}", group.id)) type="email" name="user" required;
                            button type="submit" { "Add" }
                        }
                    }
                    @if may_delete {
                        form method="post" action=(format!("{base}/groups/{}/delete", group.id)) {
                            (csrf_field(viewer))
                            button.secondary type="submit" aria-label=(format!("Delete group {}", group.name)) { "Delete group" }
                        }
                    }
                }
            }
        }
        @if viewer.may(level.pick(&GROUP_CREATE)) {
            form.card method="post" action=(format!("{base}/groups")) aria-labelledby="h-group-new" {
                h3 #h-group-new { "New group" }
                (csrf_field(viewer))
                label for="g-identifier" { "Identifier" }
                input #g-identifier type="text" name="identifier" required pattern="[a-z0-9][a-z0-9\\-]{0,62}" placeholder="sre-team";
                label for="g-name" { "Name" }
                input #g-name type="text" name="name" required maxlength="100";
                div { button type="submit" { "Create group" } }
            }
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignForm {
    csrf: String,
    #[serde(default)]
    principal: String,
    #[serde(default)]
    group: String,
    role: String,
    #[serde(default)]
    resource_group: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupForm {
    csrf: String,
    identifier: String,
    name: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberForm {
    csrf: String,
    user: String,
}

fn back_to_access(viewer: &Viewer) -> Response {
    see_other(&format!("{}/access", scope_base(viewer)))
}

/// `POST …/access/assignments`: to a person (email), service account or group.
pub async fn assign(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
    form: Result<ApiForm<AssignForm>, ApiError>,
) -> Result<Response, WebError> {
    let route = Level::of(&path).pick(&ASSIGN);
    let (viewer, form) = browser
        .admit_form(&state, &guards, route, &path, form)
        .await?;
    let principal = match (form.principal.trim(), form.group.trim()) {
        ("", "") => {
            return Err(ApiError::new(
                rampart_domain::ErrorCode::InvalidPrincipal,
                "name a person or service account, or choose a group",
            )
            .into());
        }
        (person, "") => state.app.principal_named(person).await?,
        ("", group) => group.to_owned(),
        _ => {
            return Err(ApiError::new(
                rampart_domain::ErrorCode::InvalidPrincipal,
                "name a person or a group, not both",
            )
            .into());
        }
    };
    let resource_group = Some(form.resource_group.as_str()).filter(|id| !id.is_empty());
    state
        .app
        .create_role_assignment(
            &viewer.ctx,
            viewer.scope.scope(),
            &principal,
            &form.role,
            resource_group,
        )
        .await?;
    Ok(back_to_access(&viewer))
}

/// `POST …/access/assignments/{assignment_id}/remove`
pub async fn unassign(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
    form: Result<ApiForm<ButtonForm>, ApiError>,
) -> Result<Response, WebError> {
    let route = Level::of(&path).pick(&UNASSIGN);
    let (viewer, _) = browser
        .admit_form(&state, &guards, route, &path, form)
        .await?;
    state
        .app
        .delete_role_assignment(
            &viewer.ctx,
            viewer.scope.scope(),
            path.param("assignment_id"),
        )
        .await?;
    Ok(back_to_access(&viewer))
}

/// `POST …/access/groups`
pub async fn create_group(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
    form: Result<ApiForm<GroupForm>, ApiError>,
) -> Result<Response, WebError> {
    let route = Level::of(&path).pick(&GROUP_CREATE);
    let (viewer, form) = browser
        .admit_form(&state, &guards, route, &path, form)
        .await?;
    state
        .app
        .create_user_group(
            &viewer.ctx,
            viewer.scope.scope(),
            &form.identifier,
            &form.name,
            None,
        )
        .await?;
    Ok(back_to_access(&viewer))
}

/// `POST …/access/groups/{group_id}/delete`
pub async fn delete_group(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
    form: Result<ApiForm<ButtonForm>, ApiError>,
) -> Result<Response, WebError> {
    let route = Level::of(&path).pick(&GROUP_DELETE);
    let (viewer, _) = browser
        .admit_form(&state, &guards, route, &path, form)
        .await?;
    state
        .app
        .delete_user_group(&viewer.ctx, viewer.scope.scope(), path.param("group_id"))
        .await?;
    Ok(back_to_access(&viewer))
}

/// `POST …/access/groups/{group_id}/members`: a person by email.
pub async fn add_member(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
    form: Result<ApiForm<MemberForm>, ApiError>,
) -> Result<Response, WebError> {
    let route = Level::of(&path).pick(&MEMBER_ADD);
    let (viewer, form) = browser
        .admit_form(&state, &guards, route, &path, form)
        .await?;
    let user = state.app.user_named(&form.user).await?;
    state
        .app
        .add_group_member(
            &viewer.ctx,
            viewer.scope.scope(),
            path.param("group_id"),
            &user,
        )
        .await?;
    Ok(back_to_access(&viewer))
}

/// `POST …/access/groups/{group_id}/members/{user_id}/remove`
pub async fn remove_member(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
    form: Result<ApiForm<ButtonForm>, ApiError>,
) -> Result<Response, WebError> {
    let route = Level::of(&path).pick(&MEMBER_REMOVE);
    let (viewer, _) = browser
        .admit_form(&state, &guards, route, &path, form)
        .await?;
    state
        .app
        .remove_group_member(
            &viewer.ctx,
            viewer.scope.scope(),
            path.param("group_id"),
            path.param("user_id"),
        )
        .await?;
    Ok(back_to_access(&viewer))
}

crate::signed_forms!(AssignForm, GroupForm, MemberForm);
