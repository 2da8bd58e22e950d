//! Role assignments at account, organisation and project scope, enforced on every route;
//! the built-in roles against a table written from the seed; what a User can and cannot
//! do, end to end.

use rampart_domain::platform::access::BuiltinRole;
use rampart_testkit::{Reply, StatusCode, TestServer};
use serde_json::json;

/// Which built-in role holds each permission, written by hand from the seed (SECURITY.md
/// "RBAC": Account Admin, Org Admin, Project Admin, User — no delete —, Viewer; PRODUCT.md:
/// the reviewer is read-only and verifies the audit log offline) and README "Access
/// control", one decision per line — never computed from the rule the server uses, so
/// that a change to that rule shows up here as a difference to argue about.
///
/// Columns: Account Admin, Org Admin, Project Admin, User, Viewer; `x` holds, `.` not.
/// Admins hold what means something where they are assigned (an Org Admin nothing of the
/// account, a Project Admin nothing of its organisation); the User reads and does the
/// day's work but deletes nothing and administers nothing; the Viewer only reads, and no
/// secret material (state bodies, secret values, metrics).
const SEED_ROLE_TABLE: &str = "
    account:manage             x . . . .
    org:view                   x x . x x
    org:create                 x . . . .
    org:edit                   x x . . .
    org:delete                 x x . . .
    project:view               x x x x x
    project:create             x x . . .
    project:edit               x x x . .
    project:delete             x x x . .
    user:view                  x . . x x
    user:invite                x . . . .
    user:edit                  x . . . .
    user:delete                x . . . .
    group:view                 x x x x x
    group:create               x x x . .
    group:edit                 x x x . .
    group:delete               x x x . .
    service_account:view       x x x x x
    service_account:create     x x x . .
    service_account:edit       x x x . .
    service_account:delete     x x x . .
    token:view                 x x x x x
    token:create               x x x . .
    token:revoke               x x x . .
    role:view                  x x x x x
    role:create                x x x . .
    role:edit                  x x x . .
    role:delete                x x x . .
    resource_group:view        x x x x x
    resource_group:create      x x x . .
    resource_group:edit        x x x . .
    resource_group:delete      x x x . .
    role_assignment:view       x x x x x
    role_assignment:create     x x x . .
    role_assignment:delete     x x x . .
    secret:view                x x x x x
    secret:create              x x x x .
    secret:edit                x x x x .
    secret:delete              x x x . .
    secret:access              x x x x .
    audit:view                 x x x x x
    audit:export               x x x x x
    settings:view              x x x . .
    settings:edit              x x x . .
    delegate:view              x x x x x
    delegate:create            x x x . .
    delegate:edit              x x x . .
    delegate:delete            x x x . .
    incident:view              x x x x x
    incident:create            x x x x .
    incident:edit              x x x x .
    incident:configure         x x . . .
    incident:status_update     x x x x .
    alert:view                 x x x x x
    alert:create               x x x x .
    alert:edit                 x x x x .
    alert_rule:view            x x x x x
    alert_rule:create          x x x x .
    alert_rule:edit            x x x x .
    alert_rule:delete          x x x . .
    escalation_policy:view     x x x x x
    escalation_policy:create   x x x x .
    escalation_policy:edit     x x x x .
    escalation_policy:delete   x x x . .
    schedule:view              x x x x x
    schedule:create            x x x x .
    schedule:edit              x x x x .
    schedule:delete            x x x . .
    schedule_override:view     x x x x x
    schedule_override:create   x x x x .
    schedule_override:edit     x x x x .
    schedule_override:delete   x x x . .
    slo:view                   x x x x x
    slo:create                 x x x x .
    slo:edit                   x x x x .
    slo:delete                 x x x . .
    slo:write_data             x x x x .
    runbook:view               x x x x x
    runbook:create             x x x x .
    runbook:edit               x x x x .
    runbook:delete             x x x . .
    runbook:execute            x x x x .
    runbook:author_scripts     x x x . .
    service:view               x x x x x
    service:create             x x x x .
    service:edit               x x x x .
    service:delete             x x x . .
    service:subscribe          x x x x .
    integration:view           x x x x x
    integration:create         x x x x .
    integration:edit           x x x x .
    integration:delete         x x x . .
    workspace:view             x x x x x
    workspace:create           x x x x .
    workspace:edit             x x x x .
    workspace:delete           x x x . .
    workspace:edit_variables   x x x x .
    workspace:approve          x x x . .
    workspace:access_state     x x x x .
    workspace:plan             x x x x .
    workspace:apply            x x x x .
    workspace:destroy          x x x . .
    workspace:write_state      x x x x .
    workspace:rollback_state   x x x . .
    workspace:force_unlock     x x x . .
    policy_set:view            x x x x x
    policy_set:create          x x x . .
    policy_set:edit            x x x . .
    policy_set:delete          x x x . .
    policy_set:override        x x x . .
    variable_set:view          x x x x x
    variable_set:create        x x x x .
    variable_set:edit          x x x x .
    variable_set:delete        x x x . .
";

/// The table's columns, in order.
const SEED_COLUMNS: [BuiltinRole; 5] = [
    BuiltinRole::AccountAdmin,
    BuiltinRole::OrgAdmin,
    BuiltinRole::ProjectAdmin,
    BuiltinRole::User,
    BuiltinRole::Viewer,
];

/// The table's rows: permission, then who holds it in column order.
fn seed_rows() -> Vec<(&'static str, [bool; 5])> {
    SEED_ROLE_TABLE
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let mut words = line.split_whitespace();
            let permission = words.next().unwrap();
            let marks: Vec<bool> = words
                .map(|mark| match mark {
                    "x" => true,
                    "." => false,
                    other => panic!("{permission}: mark {other:?} is neither x nor ."),
                })
                .collect();
            (permission, marks.try_into().expect("five columns"))
        })
        .collect()
}

/// Whether the seed's table gives `role` the permission `permission`.
pub(crate) fn seed_holds(role: BuiltinRole, permission: &str) -> bool {
    let column = SEED_COLUMNS.iter().position(|c| *c == role).unwrap();
    let rows = seed_rows();
    let (_, marks) = rows
        .iter()
        .find(|(name, _)| *name == permission)
        .unwrap_or_else(|| panic!("{permission} is not in the seed's role table"));
    marks[column]
}

#[tokio::test]
async fn the_served_built_in_roles_are_the_seeds_table() {
    // Every permission of the catalogue has exactly one row: a new permission cannot
    // be added without deciding, here too, who holds it.
    let rows = seed_rows();
    let mut in_table: Vec<&str> = rows.iter().map(|(name, _)| *name).collect();
    let mut catalogue: Vec<&str> = rampart_domain::Permission::ALL
        .iter()
        .map(|permission| permission.as_str())
        .collect();
    in_table.sort_unstable();
    catalogue.sort_unstable();
    assert_eq!(in_table, catalogue);

    // What the server says each built-in role holds (GET …/roles) is the table.
    let server = TestServer::start().await;
    let listed = server.get("/api/v1/roles", &server.admin_token).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    let mut seen = 0;
    for role in listed.body["items"].as_array().unwrap() {
        let Some(builtin) = BuiltinRole::from_identifier(role["identifier"].as_str().unwrap())
        else {
            continue;
        };
        seen += 1;
        let mut served: Vec<&str> = role["permissions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap())
            .collect();
        served.sort_unstable();
        let mut expected: Vec<&str> = rows
            .iter()
            .filter(|(name, _)| seed_holds(builtin, name))
            .map(|(name, _)| *name)
            .collect();
        expected.sort_unstable();
        let missing: Vec<_> = expected.iter().filter(|p| !served.contains(p)).collect();
        let extra: Vec<_> = served.iter().filter(|p| !expected.contains(p)).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{}: the server lacks {missing:?} and has {extra:?} beyond the seed's table",
            builtin.identifier()
        );
    }
    assert_eq!(seen, SEED_COLUMNS.len());
}

/// Creates a user and a personal token for them (through a session, as a person would).
pub(crate) async fn user_with_token(server: &TestServer, email: &str) -> (String, String) {
    // A distinct password per user that does not contain the email.
    let password = format!("amber violet {} harbour", email.len() * 7919);
    let id = server.create_user(email, &password).await;
    let session = super::auth::login(server, email, &password).await;
    let created = session
        .post(
            server,
            "/api/v1/tokens",
            json!({"name": "t", "expires_in_days": 1}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let token = created.body["secret"].as_str().unwrap().to_owned();
    rampart_testkit::remember_secret(&token);
    (id, token)
}

/// A user with a token and `role` in the project `default/default`.
pub(crate) async fn user_with_role(server: &TestServer, email: &str, role: &str) -> String {
    let (id, token) = user_with_token(server, email).await;
    let granted = assign(
        server,
        &server.admin_token,
        PROJECT,
        &format!("user:{id}"),
        role,
    )
    .await;
    assert_eq!(granted.status, StatusCode::CREATED, "{}", granted.text);
    token
}

async fn assign(
    server: &TestServer,
    token: &str,
    base: &str,
    principal: &str,
    role: &str,
) -> Reply {
    server
        .post(
            &format!("{base}/role-assignments"),
            token,
            json!({"principal": principal, "role": role}),
        )
        .await
}

const PROJECT: &str = "/api/v1/orgs/default/projects/default";

/// Granting a role a principal already holds at the scope is a conflict, not a second
/// assignment (which revoking would only half undo), on both engines.
#[tokio::test]
async fn granting_the_same_role_twice_is_a_conflict() {
    let mut servers = vec![TestServer::start().await];
    servers.extend(TestServer::start_postgres().await);
    for server in &servers {
        let admin = &server.admin_token;
        let (carol, _) = user_with_token(server, "carol@example.com").await;
        let principal = format!("user:{carol}");
        let first = assign(server, admin, PROJECT, &principal, "_viewer").await;
        assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
        let again = assign(server, admin, PROJECT, &principal, "_viewer").await;
        assert_eq!(
            (again.status, again.code()),
            (StatusCode::CONFLICT, "role_already_assigned"),
            "{}",
            again.text
        );
        // Another role, or the same role at another scope, is another assignment.
        let other_role = assign(server, admin, PROJECT, &principal, "_user").await;
        assert_eq!(
            other_role.status,
            StatusCode::CREATED,
            "{}",
            other_role.text
        );
        let other_scope =
            assign(server, admin, "/api/v1/orgs/default", &principal, "_viewer").await;
        assert_eq!(
            other_scope.status,
            StatusCode::CREATED,
            "{}",
            other_scope.text
        );
        let listed = server
            .get(&format!("{PROJECT}/role-assignments"), admin)
            .await;
        let held: Vec<&str> = listed.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|item| item["principal"] == principal.as_str())
            .map(|item| item["role"].as_str().unwrap())
            .collect();
        assert_eq!(held, ["_viewer", "_user"], "{}", listed.text);
    }
}

#[tokio::test]
async fn a_viewer_sees_its_project_only_and_changes_nothing() {
    let server = TestServer::start().await;
    let admin = &server.admin_token;
    server
        .post(
            "/api/v1/orgs/default/projects",
            admin,
            json!({"identifier": "web", "name": "Web"}),
        )
        .await;
    server
        .post(
            "/api/v1/orgs",
            admin,
            json!({"identifier": "acme", "name": "Acme"}),
        )
        .await;
    let (carol, token) = user_with_token(&server, "carol@example.com").await;
    let principal = format!("user:{carol}");

    assert_eq!(
        server.get(PROJECT, &token).await.status,
        StatusCode::NOT_FOUND,
        "no role yet"
    );
    let created = assign(&server, admin, PROJECT, &principal, "_viewer").await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    assert_eq!(created.body["scope"], "default/default");

    assert_eq!(server.get(PROJECT, &token).await.status, StatusCode::OK);
    let edit = server
        .patch(PROJECT, &token, json!({"name": "renamed"}))
        .await;
    assert_eq!(
        (edit.status, edit.code()),
        (StatusCode::FORBIDDEN, "permission_denied")
    );
    assert_eq!(edit.body["error"]["permission"], "project:edit");
    let other = server
        .get("/api/v1/orgs/default/projects/web", &token)
        .await;
    assert_eq!(
        other.status,
        StatusCode::NOT_FOUND,
        "another project is invisible"
    );
    let other_org = server.get("/api/v1/orgs/acme", &token).await;
    assert_eq!(other_org.status, StatusCode::NOT_FOUND);
    let org = server.get("/api/v1/orgs/default", &token).await;
    assert_eq!(
        (org.status, org.code()),
        (StatusCode::FORBIDDEN, "permission_denied"),
        "visible, not readable"
    );

    let orgs = server.get("/api/v1/orgs", &token).await;
    let listed: Vec<_> = orgs.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["identifier"].clone())
        .collect::<Vec<_>>();
    // Lists show what the caller may view: the organisation itself needs org:view, but
    // its project is listed and reachable.
    assert!(listed.is_empty(), "{listed:?}");
    let projects = server.get("/api/v1/orgs/default/projects", &token).await;
    let listed: Vec<_> = projects.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["identifier"].clone())
        .collect();
    assert_eq!(listed, [json!("default")]);

    let mine = server
        .get(&format!("{PROJECT}/access/my-permissions"), &token)
        .await;
    let permissions: Vec<&str> = mine.body["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert!(permissions.contains(&"project:view") && permissions.contains(&"incident:view"));
    // Reading only: views, and the audit export a reviewer verifies offline.
    assert!(
        permissions
            .iter()
            .all(|p| p.ends_with(":view") || *p == "audit:export"),
        "{permissions:?}"
    );

    // Removing the assignment takes effect on the very next request.
    let id = created.body["id"].as_str().unwrap();
    let removed = server
        .delete(&format!("{PROJECT}/role-assignments/{id}"), admin)
        .await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT);
    assert_eq!(
        server.get(PROJECT, &token).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn nobody_grants_beyond_their_rights_or_outside_their_scope() {
    let server = TestServer::start().await;
    let admin = &server.admin_token;
    let (dave, dave_token) = user_with_token(&server, "dave@example.com").await;
    let (erin, erin_token) = user_with_token(&server, "erin@example.com").await;
    assert_eq!(
        assign(
            &server,
            admin,
            PROJECT,
            &format!("user:{dave}"),
            "_project_admin"
        )
        .await
        .status,
        StatusCode::CREATED
    );

    // A Project Admin assigns inside the project…
    let granted = assign(
        &server,
        &dave_token,
        PROJECT,
        &format!("user:{erin}"),
        "_user",
    )
    .await;
    assert_eq!(granted.status, StatusCode::CREATED, "{}", granted.text);
    // …but not at the organisation or the account, and not admin roles of other levels.
    let org_level = assign(
        &server,
        &dave_token,
        "/api/v1/orgs/default",
        &format!("user:{erin}"),
        "_viewer",
    )
    .await;
    assert_eq!(
        (org_level.status, org_level.code()),
        (StatusCode::FORBIDDEN, "permission_denied")
    );
    let account_level = assign(
        &server,
        &dave_token,
        "/api/v1",
        &format!("user:{dave}"),
        "_account_admin",
    )
    .await;
    assert_eq!(account_level.status, StatusCode::FORBIDDEN);
    let wrong_level = assign(
        &server,
        &dave_token,
        PROJECT,
        &format!("user:{dave}"),
        "_org_admin",
    )
    .await;
    assert_eq!(
        (wrong_level.status, wrong_level.code()),
        (StatusCode::BAD_REQUEST, "role_not_assignable_here")
    );

    // A User cannot change access at all.
    let by_user = assign(
        &server,
        &erin_token,
        PROJECT,
        &format!("user:{erin}"),
        "_project_admin",
    )
    .await;
    assert_eq!(
        (by_user.status, by_user.code()),
        (StatusCode::FORBIDDEN, "permission_denied")
    );
    assert_eq!(
        by_user.body["error"]["permission"],
        "role_assignment:create"
    );

    // Bad input.
    for (principal, role, code) in [
        ("user:not-an-id", "_viewer", "invalid_principal"),
        ("robot:1", "_viewer", "invalid_principal"),
        (
            "user:01a20000-0000-7000-8000-000000000009",
            "_viewer",
            "unknown_principal",
        ),
        (&*format!("user:{erin}"), "_superuser", "unknown_role"),
    ] {
        let reply = assign(&server, admin, PROJECT, principal, role).await;
        assert_eq!(
            (reply.status, reply.code()),
            (StatusCode::BAD_REQUEST, code),
            "{principal} {role}"
        );
    }
}

#[tokio::test]
async fn the_last_account_admin_cannot_be_removed() {
    let server = TestServer::start().await;
    let admin = &server.admin_token;
    let listed = server.get("/api/v1/role-assignments", admin).await;
    let owner_assignment = listed.body["items"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(listed.body["items"][0]["role"], "_account_admin");
    let refused = server
        .delete(
            &format!("/api/v1/role-assignments/{owner_assignment}"),
            admin,
        )
        .await;
    assert_eq!(
        (refused.status, refused.code()),
        (StatusCode::CONFLICT, "last_account_admin")
    );

    let (frank, frank_token) = user_with_token(&server, "frank@example.com").await;
    let second = assign(
        &server,
        admin,
        "/api/v1",
        &format!("user:{frank}"),
        "_account_admin",
    )
    .await;
    assert_eq!(second.status, StatusCode::CREATED, "{}", second.text);
    assert_eq!(
        server.get("/api/v1/users", &frank_token).await.status,
        StatusCode::OK,
        "Frank is an admin now"
    );
    let removed = server
        .delete(
            &format!("/api/v1/role-assignments/{owner_assignment}"),
            &frank_token,
        )
        .await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT);
    let frank_assignment = second.body["id"].as_str().unwrap();
    let last = server
        .delete(
            &format!("/api/v1/role-assignments/{frank_assignment}"),
            &frank_token,
        )
        .await;
    assert_eq!(last.code(), "last_account_admin");
    let disable_last = server
        .patch(
            &format!("/api/v1/users/{frank}"),
            &frank_token,
            json!({"disabled": true}),
        )
        .await;
    assert_eq!(
        disable_last.code(),
        "last_account_admin",
        "disabling is demoting too"
    );
    let delete_last = server
        .delete(&format!("/api/v1/users/{frank}"), &frank_token)
        .await;
    assert_eq!(delete_last.code(), "last_account_admin");
    assert_eq!(
        server.get("/api/v1/me", &frank_token).await.status,
        StatusCode::OK,
        "nothing changed"
    );
    assert_eq!(
        server.get("/api/v1/users", admin).await.status,
        StatusCode::FORBIDDEN,
        "the owner is no admin any more"
    );
}

#[tokio::test]
async fn explain_names_the_deciding_assignment_and_service_accounts_take_roles() {
    let server = TestServer::start().await;
    let admin = &server.admin_token;
    let sa = server
        .post(
            &format!("{PROJECT}/service-accounts"),
            admin,
            json!({"name": "deployer"}),
        )
        .await;
    let sa_id = sa.body["id"].as_str().unwrap();
    let token = server
        .post(
            &format!("{PROJECT}/service-accounts/{sa_id}/tokens"),
            admin,
            json!({"name": "ci", "expires_in_days": 1}),
        )
        .await;
    let sa_token = token.body["secret"].as_str().unwrap().to_owned();
    rampart_testkit::remember_secret(&sa_token);
    let principal = format!("service_account:{sa_id}");
    assert_eq!(
        server.get(PROJECT, &sa_token).await.status,
        StatusCode::NOT_FOUND
    );
    let created = assign(&server, admin, PROJECT, &principal, "_user").await;
    assert_eq!(server.get(PROJECT, &sa_token).await.status, StatusCode::OK);
    let opened = server
        .post(
            &format!("{PROJECT}/incidents"),
            &sa_token,
            json!({"title": "deploy failed", "severity": "SEV3"}),
        )
        .await;
    assert_eq!(
        opened.status,
        StatusCode::CREATED,
        "a User does the day's work: {}",
        opened.text
    );
    let renamed = server
        .patch(PROJECT, &sa_token, json!({"description": "by CI"}))
        .await;
    assert_eq!(
        renamed.body["error"]["permission"], "project:edit",
        "changing the project is administration"
    );
    let deleted = server
        .delete(&format!("{PROJECT}/service-accounts/{sa_id}"), &sa_token)
        .await;
    assert_eq!(deleted.code(), "permission_denied", "User may not delete");

    let explain = |permission: &str| {
        format!("{PROJECT}/access/explain?principal={principal}&permission={permission}")
    };
    let allowed = server.get(&explain("incident:edit"), admin).await;
    assert_eq!(allowed.body["allowed"], true, "{}", allowed.text);
    assert_eq!(allowed.body["decided_by"], created.body["id"]);
    let denied = server.get(&explain("incident:configure"), admin).await;
    assert_eq!(
        (
            denied.body["allowed"].as_bool(),
            denied.body["decided_by"].as_str()
        ),
        (Some(false), None)
    );
    let bad = server.get(&explain("incident:fly"), admin).await;
    assert_eq!(bad.code(), "invalid_permission");
}

#[tokio::test]
async fn custom_roles_and_groups_grant_exactly_their_permissions() {
    let server = TestServer::start().await;
    let admin = &server.admin_token;
    let (carol, carol_token) = user_with_token(&server, "carol@example.com").await;
    let (erin, erin_token) = user_with_token(&server, "erin@example.com").await;

    // A custom role defined at the organisation, usable in its projects.
    let role = server
        .post(
            "/api/v1/orgs/default/roles",
            admin,
            json!({"identifier": "responder", "name": "Responder",
                   "permissions": ["project:view", "incident:view", "incident:edit", "role:create", "role:view"]}),
        )
        .await;
    assert_eq!(role.status, StatusCode::CREATED, "{}", role.text);
    assert_eq!(role.body["built_in"], false);
    let role_id = role.body["id"].as_str().unwrap().to_owned();
    let unknown = server
        .post(
            "/api/v1/orgs/default/roles",
            admin,
            json!({"identifier": "x", "name": "X", "permissions": ["incident:fly"]}),
        )
        .await;
    assert_eq!(
        (unknown.status, unknown.code()),
        (StatusCode::BAD_REQUEST, "invalid_permission")
    );
    let duplicate = server
        .post(
            "/api/v1/orgs/default/roles",
            admin,
            json!({"identifier": "responder", "name": "Again", "permissions": []}),
        )
        .await;
    assert_eq!(duplicate.code(), "identifier_taken");
    let builtin = server
        .patch("/api/v1/roles/_viewer", admin, json!({"name": "Mine now"}))
        .await;
    assert_eq!(
        (builtin.status, builtin.code()),
        (StatusCode::CONFLICT, "built_in_role_immutable")
    );
    let listed = server.get("/api/v1/orgs/default/roles", admin).await;
    let ids: Vec<&str> = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids[..5],
        [
            "_account_admin",
            "_org_admin",
            "_project_admin",
            "_user",
            "_viewer"
        ]
    );
    assert!(ids.contains(&role_id.as_str()));

    // Through a group at project scope.
    let group = server
        .post(
            &format!("{PROJECT}/groups"),
            admin,
            json!({"identifier": "oncall", "name": "On call"}),
        )
        .await;
    assert_eq!(group.status, StatusCode::CREATED, "{}", group.text);
    let group_id = group.body["id"].as_str().unwrap().to_owned();
    let members = format!("{PROJECT}/groups/{group_id}/members");
    assert_eq!(
        server
            .post(&members, admin, json!({"user": carol}))
            .await
            .status,
        StatusCode::CREATED
    );
    assert_eq!(
        server
            .post(&members, admin, json!({"user": erin}))
            .await
            .status,
        StatusCode::CREATED
    );
    let renamed = server
        .patch(
            &format!("{PROJECT}/groups/{group_id}"),
            admin,
            json!({"description": "whoever carries the pager"}),
        )
        .await;
    assert_eq!(renamed.body["description"], "whoever carries the pager");
    let assigned = assign(
        &server,
        admin,
        PROJECT,
        &format!("group:{group_id}"),
        &role_id,
    )
    .await;
    assert_eq!(assigned.status, StatusCode::CREATED, "{}", assigned.text);

    assert_eq!(
        server.get(PROJECT, &carol_token).await.status,
        StatusCode::OK
    );
    let edit = server
        .patch(PROJECT, &carol_token, json!({"name": "x"}))
        .await;
    assert_eq!(
        edit.body["error"]["permission"], "project:edit",
        "exactly the role's permissions"
    );

    // Holding role:create does not let Erin create a role beyond her own permissions.
    let beyond = server
        .post(
            &format!("{PROJECT}/roles"),
            &erin_token,
            json!({"identifier": "more", "name": "More", "permissions": ["incident:status_update"]}),
        )
        .await;
    assert_eq!(
        (beyond.status, beyond.code()),
        (StatusCode::FORBIDDEN, "grant_exceeds_own_rights")
    );
    let within = server
        .post(
            &format!("{PROJECT}/roles"),
            &erin_token,
            json!({"identifier": "less", "name": "Less", "permissions": ["incident:view"]}),
        )
        .await;
    assert_eq!(within.status, StatusCode::CREATED, "{}", within.text);

    // A role or group defined in another project is not usable here.
    server
        .post(
            "/api/v1/orgs/default/projects",
            admin,
            json!({"identifier": "other", "name": "O"}),
        )
        .await;
    let elsewhere = server
        .post(
            "/api/v1/orgs/default/projects/other/roles",
            admin,
            json!({"identifier": "r", "name": "R", "permissions": ["incident:view"]}),
        )
        .await;
    let elsewhere_id = elsewhere.body["id"].as_str().unwrap();
    let misuse = assign(
        &server,
        admin,
        PROJECT,
        &format!("user:{carol}"),
        elsewhere_id,
    )
    .await;
    assert_eq!(
        (misuse.status, misuse.code()),
        (StatusCode::BAD_REQUEST, "unknown_role")
    );

    // Leaving the group ends the access on the next request.
    let removed = server.delete(&format!("{members}/{carol}"), admin).await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT);
    assert_eq!(
        server.get(PROJECT, &carol_token).await.status,
        StatusCode::NOT_FOUND
    );
    // Deleting the role removes what it granted.
    assert_eq!(
        server.get(PROJECT, &erin_token).await.status,
        StatusCode::OK
    );
    assert_eq!(
        server
            .delete(&format!("/api/v1/orgs/default/roles/{role_id}"), admin)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        server.get(PROJECT, &erin_token).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn resource_groups_limit_an_assignment_to_some_types_or_named_resources() {
    let server = TestServer::start().await;
    let admin = &server.admin_token;
    let (gus, _) = user_with_token(&server, "gus@example.com").await;
    let principal = format!("user:{gus}");
    let incidents = server
        .post(
            "/api/v1/orgs/default/resource-groups",
            admin,
            json!({"identifier": "incidents", "name": "Incidents", "kind": "types",
                   "types": ["incident"], "include_children": true}),
        )
        .await;
    assert_eq!(incidents.status, StatusCode::CREATED, "{}", incidents.text);
    let group_id = incidents.body["id"].as_str().unwrap().to_owned();
    for (body, code) in [
        (
            json!({"identifier": "a", "name": "A", "kind": "types", "types": ["spaceship"]}),
            "invalid_resource_type",
        ),
        (
            json!({"identifier": "b", "name": "B", "kind": "types"}),
            "invalid_resource_group",
        ),
        (
            json!({"identifier": "c", "name": "C", "kind": "some"}),
            "invalid_resource_group",
        ),
        (
            json!({"identifier": "d", "name": "D", "kind": "specific", "resources": ["workspace"]}),
            "invalid_resource",
        ),
    ] {
        let reply = server
            .post("/api/v1/orgs/default/resource-groups", admin, body.clone())
            .await;
        assert_eq!(
            (reply.status, reply.code()),
            (StatusCode::BAD_REQUEST, code),
            "{body}"
        );
    }

    // The User role, but only over incidents.
    let assigned = server
        .post(
            &format!("{PROJECT}/role-assignments"),
            admin,
            json!({"principal": principal, "role": "_user", "resource_group": group_id}),
        )
        .await;
    assert_eq!(assigned.status, StatusCode::CREATED, "{}", assigned.text);
    assert_eq!(assigned.body["resource_group"], group_id.as_str());
    // Once per resource group: again over the same group is a conflict.
    let again = server
        .post(
            &format!("{PROJECT}/role-assignments"),
            admin,
            json!({"principal": principal, "role": "_user", "resource_group": group_id}),
        )
        .await;
    assert_eq!(
        (again.status, again.code()),
        (StatusCode::CONFLICT, "role_already_assigned")
    );
    let explain = |permission: &str| {
        format!("{PROJECT}/access/explain?principal={principal}&permission={permission}")
    };
    assert_eq!(
        server.get(&explain("incident:edit"), admin).await.body["allowed"],
        true
    );
    assert_eq!(
        server.get(&explain("slo:edit"), admin).await.body["allowed"],
        false
    );
    assert_eq!(
        server.get(&explain("project:view"), admin).await.body["allowed"],
        false
    );

    // A group defined in a project cannot be used at the organisation.
    let local = server
        .post(
            &format!("{PROJECT}/resource-groups"),
            admin,
            json!({"identifier": "prod", "name": "Prod", "kind": "specific", "resources": ["workspace/prod"]}),
        )
        .await;
    let misuse = server
        .post(
            "/api/v1/orgs/default/role-assignments",
            admin,
            json!({"principal": principal, "role": "_viewer", "resource_group": local.body["id"]}),
        )
        .await;
    assert_eq!(
        (misuse.status, misuse.code()),
        (StatusCode::BAD_REQUEST, "unknown_resource_group")
    );
    // Over named resources: explain answers per resource.
    let named = server
        .post(
            &format!("{PROJECT}/role-assignments"),
            admin,
            json!({"principal": principal, "role": "_project_admin", "resource_group": local.body["id"]}),
        )
        .await;
    assert_eq!(named.status, StatusCode::CREATED, "{}", named.text);
    let on = |resource: &str| format!("{}&resource={resource}", explain("workspace:force_unlock"));
    let prod = server.get(&on("workspace/prod"), admin).await;
    assert_eq!(
        (
            prod.body["allowed"].as_bool(),
            prod.body["decided_by"].clone()
        ),
        (Some(true), named.body["id"].clone())
    );
    assert_eq!(
        server.get(&on("workspace/staging"), admin).await.body["allowed"],
        false
    );
    assert_eq!(
        server
            .get(&explain("workspace:force_unlock"), admin)
            .await
            .body["allowed"],
        false,
        "not the whole scope"
    );
    assert_eq!(
        server.get(&on("incident/prod"), admin).await.code(),
        "invalid_resource"
    );

    let renamed = server
        .patch(
            &format!("/api/v1/orgs/default/resource-groups/{group_id}"),
            admin,
            json!({"name": "All incidents"}),
        )
        .await;
    assert_eq!(
        (renamed.status, renamed.body["name"].as_str()),
        (StatusCode::OK, Some("All incidents"))
    );
    assert_eq!(
        renamed.body["types"],
        json!(["incident"]),
        "the selection is unchanged"
    );
    let bad = server
        .patch(
            &format!("/api/v1/orgs/default/resource-groups/{group_id}"),
            admin,
            json!({"types": ["slo"]}),
        )
        .await;
    assert_eq!(bad.code(), "invalid_body", "the selection cannot be edited");
    // Deleting the group removes the assignments over it.
    let deleted = server
        .delete(
            &format!("/api/v1/orgs/default/resource-groups/{group_id}"),
            admin,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(
        server.get(&explain("incident:edit"), admin).await.body["allowed"],
        false
    );
}

/// The escalation paths a reviewer found: each must be refused.
#[tokio::test]
async fn rights_cannot_be_borrowed_through_tokens_groups_users_or_revocations() {
    let server = TestServer::start().await;
    let admin = &server.admin_token;
    let (erin, erin_token) = user_with_token(&server, "erin@example.com").await;
    let (frank, _) = user_with_token(&server, "frank@example.com").await;
    let erin_principal = format!("user:{erin}");
    let role = |identifier: &str, scope: &str, permissions: &[&str]| {
        let server = &server;
        let identifier = identifier.to_owned();
        let scope = scope.to_owned();
        let permissions: Vec<String> = permissions.iter().map(|p| (*p).to_owned()).collect();
        async move {
            let reply = server
                .post(
                    &format!("{scope}/roles"),
                    &server.admin_token,
                    json!({"identifier": identifier, "name": "R", "permissions": permissions}),
                )
                .await;
            assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
            reply.body["id"].as_str().unwrap().to_owned()
        }
    };
    let org = "/api/v1/orgs/default";

    // A token carries its service account's rights: minting one is granting them.
    let sa = server
        .post(
            &format!("{org}/service-accounts"),
            admin,
            json!({"name": "ci"}),
        )
        .await;
    let sa_id = sa.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        assign(
            &server,
            admin,
            org,
            &format!("service_account:{sa_id}"),
            "_org_admin"
        )
        .await
        .status,
        StatusCode::CREATED
    );
    let minter = role(
        "minter",
        org,
        &["token:create", "service_account:view", "org:view"],
    )
    .await;
    assert_eq!(
        assign(&server, admin, org, &erin_principal, &minter)
            .await
            .status,
        StatusCode::CREATED
    );
    let minted = server
        .post(
            &format!("{org}/service-accounts/{sa_id}/tokens"),
            &erin_token,
            json!({"name": "stolen", "expires_in_days": 1}),
        )
        .await;
    assert_eq!(
        (minted.status, minted.code()),
        (StatusCode::FORBIDDEN, "grant_exceeds_own_rights")
    );
    // …and a service account holds roles only where it belongs.
    server
        .post(
            "/api/v1/orgs",
            admin,
            json!({"identifier": "elsewhere", "name": "E"}),
        )
        .await;
    let outside = assign(
        &server,
        admin,
        "/api/v1/orgs/elsewhere",
        &format!("service_account:{sa_id}"),
        "_viewer",
    )
    .await;
    assert_eq!(
        (outside.status, outside.code()),
        (StatusCode::BAD_REQUEST, "outside_service_account_scope")
    );

    // group:edit does not let Erin join a group that holds more than she does.
    let group = server
        .post(
            &format!("{org}/groups"),
            admin,
            json!({"identifier": "admins", "name": "Admins"}),
        )
        .await;
    let group_id = group.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        assign(
            &server,
            admin,
            org,
            &format!("group:{group_id}"),
            "_org_admin"
        )
        .await
        .status,
        StatusCode::CREATED
    );
    let joiner = role("joiner", org, &["group:edit", "group:view"]).await;
    assert_eq!(
        assign(&server, admin, org, &erin_principal, &joiner)
            .await
            .status,
        StatusCode::CREATED
    );
    let joined = server
        .post(
            &format!("{org}/groups/{group_id}/members"),
            &erin_token,
            json!({"user": erin}),
        )
        .await;
    assert_eq!(
        (joined.status, joined.code()),
        (StatusCode::FORBIDDEN, "grant_exceeds_own_rights")
    );

    // user:edit does not let Erin disable an admin; role_assignment:delete does not let
    // her remove one.
    let second_admin = assign(
        &server,
        admin,
        "/api/v1",
        &format!("user:{frank}"),
        "_account_admin",
    )
    .await;
    let editor = role(
        "editor",
        "/api/v1",
        &[
            "user:edit",
            "user:view",
            "role_assignment:delete",
            "role_assignment:view",
        ],
    )
    .await;
    assert_eq!(
        assign(&server, admin, "/api/v1", &erin_principal, &editor)
            .await
            .status,
        StatusCode::CREATED
    );
    let disabled = server
        .patch(
            &format!("/api/v1/users/{frank}"),
            &erin_token,
            json!({"disabled": true}),
        )
        .await;
    assert_eq!(
        (disabled.status, disabled.code()),
        (StatusCode::FORBIDDEN, "grant_exceeds_own_rights")
    );
    let revoked = server
        .delete(
            &format!(
                "/api/v1/role-assignments/{}",
                second_admin.body["id"].as_str().unwrap()
            ),
            &erin_token,
        )
        .await;
    assert_eq!(
        (revoked.status, revoked.code()),
        (StatusCode::FORBIDDEN, "grant_exceeds_own_rights")
    );

    // An assignment that only reaches some things does not make scopes visible:
    // Erin's account-level user:view shows her no organisation.
    let hidden = server.get("/api/v1/orgs/elsewhere", &erin_token).await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
    let listed = server.get("/api/v1/orgs", &erin_token).await;
    let names: Vec<_> = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["identifier"].clone())
        .collect();
    assert_eq!(
        names,
        [json!("default")],
        "only the organisation she may view"
    );

    // An Account Admin assignment limited to a resource group is not an Account Admin.
    let narrow = server
        .post("/api/v1/resource-groups", admin, json!({"identifier": "one", "name": "One", "kind": "specific", "resources": ["incident/x"]}))
        .await;
    let narrow_admin = server
        .post(
            "/api/v1/role-assignments",
            admin,
            json!({"principal": format!("user:{erin}"), "role": "_account_admin", "resource_group": narrow.body["id"]}),
        )
        .await;
    assert_eq!(
        narrow_admin.status,
        StatusCode::CREATED,
        "{}",
        narrow_admin.text
    );
    let owner_assignment =
        server.get("/api/v1/role-assignments", admin).await.body["items"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned();
    assert_eq!(
        server
            .delete(
                &format!(
                    "/api/v1/role-assignments/{}",
                    second_admin.body["id"].as_str().unwrap()
                ),
                admin
            )
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let last = server
        .delete(
            &format!("/api/v1/role-assignments/{owner_assignment}"),
            admin,
        )
        .await;
    assert_eq!(
        (last.status, last.code()),
        (StatusCode::CONFLICT, "last_account_admin")
    );
}

/// The User role end to end: the day's work of an on-call and an infrastructure
/// engineer goes through — subscribing to a service, hearing about its incident,
/// acknowledging and resolving it, reading and writing Terraform state through `/tf/v1`,
/// using a secret — while every delete and every administrative act is refused with the
/// permission named.
#[tokio::test]
async fn a_user_does_the_days_work_but_deletes_nothing_and_administers_nothing() {
    use crate::iacm::{Tf, WS, lock, state};
    let server = TestServer::start().await;
    let admin = server.admin_token.clone();
    let (ursula, token) = user_with_token(&server, "ursula@example.com").await;
    let me = format!("user:{ursula}");
    let granted = assign(&server, &admin, PROJECT, &me, "_user").await;
    assert_eq!(granted.status, StatusCode::CREATED, "{}", granted.text);

    // Subscribe, hear about the incident, acknowledge it, resolve it.
    crate::sre::service(&server, "checkout").await;
    let subscribed = server
        .request(
            reqwest::Method::PUT,
            &format!("{PROJECT}/services/checkout/subscription"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(subscribed.status, StatusCode::OK, "{}", subscribed.text);
    assert_eq!(subscribed.body["subscribers"], json!([me]));
    let hook = crate::sre::integration(
        &server,
        "checkout",
        json!({"name": "G", "format": "generic", "auth_mode": "bearer"}),
    )
    .await;
    let delivered = crate::sre::send(
        &server,
        &hook,
        &crate::sre::generic("pay", "trigger", "Payments failing"),
        &[],
    )
    .await;
    assert_eq!(delivered.status, StatusCode::ACCEPTED, "{}", delivered.body);
    let inbox = server.get("/api/v1/me/notifications", &token).await;
    assert_eq!(
        inbox.body["items"][0]["kind"], "subscribed",
        "{}",
        inbox.text
    );
    assert_eq!(inbox.body["items"][0]["incident_number"], 1);
    for status in ["acknowledged", "resolved"] {
        let moved = server
            .post(
                &format!("{PROJECT}/incidents/1/status"),
                &token,
                json!({"status": status}),
            )
            .await;
        assert_eq!(
            moved.status,
            StatusCode::NO_CONTENT,
            "{status}: {}",
            moved.text
        );
        let read = server.get(&format!("{PROJECT}/incidents/1"), &token).await;
        assert_eq!(read.body["status"], status, "{}", read.text);
    }

    // Terraform state through the backend, as the stock client does it: the workspace
    // is made on first use, locked, written, read back and unlocked.
    let tf = Tf { server: &server };
    let as_ursula = Some(token.as_str());
    let lock_path = format!("{WS}/lock");
    let locked = tf
        .send("LOCK", &lock_path, as_ursula, &lock("u-1"), &[])
        .await;
    assert_eq!(locked.status, StatusCode::OK, "{}", locked.text());
    let body = state(1, "lineage-u", 2);
    let wrote = tf
        .send("POST", &format!("{WS}?ID=u-1"), as_ursula, &body, &[])
        .await;
    assert_eq!(wrote.status, StatusCode::OK, "{}", wrote.text());
    let read = tf.send("GET", WS, as_ursula, b"", &[]).await;
    assert_eq!((read.status, read.body), (StatusCode::OK, body));
    let unlocked = tf
        .send("UNLOCK", &lock_path, as_ursula, &lock("u-1"), &[])
        .await;
    assert_eq!(unlocked.status, StatusCode::OK, "{}", unlocked.text());
    let current = server
        .get(
            &format!("{PROJECT}/workspaces/prod/state-versions/current"),
            &token,
        )
        .await;
    assert_eq!(current.status, StatusCode::OK, "{}", current.text);
    // Breaking someone else's lock is not the day's work.
    let admins = tf
        .send("LOCK", &lock_path, Some(&admin), &lock("admin-1"), &[])
        .await;
    assert_eq!(admins.status, StatusCode::OK);
    let forced = tf.send("UNLOCK", &lock_path, as_ursula, b"", &[]).await;
    assert_eq!(
        (forced.status, forced.code().as_str()),
        (StatusCode::FORBIDDEN, "permission_denied"),
        "{}",
        forced.text()
    );
    let still = tf
        .send("LOCK", &lock_path, as_ursula, &lock("u-2"), &[])
        .await;
    assert_eq!(still.status, StatusCode::LOCKED, "the admin's lock holds");
    let released = tf
        .send("UNLOCK", &lock_path, Some(&admin), &lock("admin-1"), &[])
        .await;
    assert_eq!(released.status, StatusCode::OK);

    // A secret: she creates one and a consumer acting as her reads its value.
    let created = server
        .post(
            &format!("{PROJECT}/secrets"),
            &token,
            json!({"identifier": "deploy-key", "name": "Deploy key", "value": "s3cr3t-u"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    rampart_testkit::remember_secret("s3cr3t-u");
    super::create_secret(&server, PROJECT, "db-password", "db-value-u").await;
    rampart_testkit::remember_secret("db-value-u");
    let scope = super::project_scope(&server, "default", "default").await;
    let ctx = server.ctx_for(&token).await;
    let value = server
        .app()
        .read_secret(&ctx, scope, "db-password", None)
        .await
        .unwrap();
    assert_eq!(value.as_str(), "db-value-u");

    // Nothing deleted, nothing administered: each refusal names its permission.
    let refused = [
        (
            "DELETE",
            format!("{PROJECT}/services/checkout"),
            "service:delete",
        ),
        (
            "DELETE",
            format!("{PROJECT}/secrets/db-password"),
            "secret:delete",
        ),
        (
            "DELETE",
            format!("{PROJECT}/workspaces/prod"),
            "workspace:delete",
        ),
        (
            "POST",
            format!("{PROJECT}/workspaces/prod/state-rollback"),
            "workspace:rollback_state",
        ),
        (
            "DELETE",
            format!("{PROJECT}/escalation-policies/any"),
            "escalation_policy:delete",
        ),
        ("DELETE", PROJECT.to_owned(), "project:delete"),
        ("PATCH", PROJECT.to_owned(), "project:edit"),
        ("POST", format!("{PROJECT}/roles"), "role:create"),
        (
            "POST",
            format!("{PROJECT}/role-assignments"),
            "role_assignment:create",
        ),
        ("POST", format!("{PROJECT}/groups"), "group:create"),
        (
            "POST",
            format!("{PROJECT}/service-accounts"),
            "service_account:create",
        ),
        ("POST", "/api/v1/users".to_owned(), "user:invite"),
        ("PATCH", format!("/api/v1/users/{ursula}"), "user:edit"),
        ("GET", "/metrics".to_owned(), "settings:view"),
        (
            "PUT",
            "/api/v1/orgs/default/ip-allowlist".to_owned(),
            "org:edit",
        ),
        (
            "PUT",
            "/api/v1/orgs/default/audit-retention".to_owned(),
            "org:edit",
        ),
        (
            "PUT",
            "/api/v1/orgs/default/incident-severities".to_owned(),
            "incident:configure",
        ),
        ("POST", "/api/v1/keys/rotate".to_owned(), "account:manage"),
    ];
    for (method, path, permission) in refused {
        // Routes that decide per resource read their body first; the others refuse
        // before reading it.
        let body = if path.ends_with("/state-rollback") {
            json!({"version": 1, "reason": "undo"})
        } else {
            json!({})
        };
        let reply = server
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                &path,
                Some(&token),
                Some(&body),
            )
            .await;
        assert_eq!(
            (reply.status, reply.code()),
            (StatusCode::FORBIDDEN, "permission_denied"),
            "{method} {path}: {}",
            reply.text
        );
        assert_eq!(
            reply.body["error"]["permission"], permission,
            "{method} {path}"
        );
    }
    // And what was refused is all still there.
    for path in [
        "services/checkout",
        "secrets/db-password",
        "workspaces/prod",
    ] {
        let kept = server.get(&format!("{PROJECT}/{path}"), &admin).await;
        assert_eq!(kept.status, StatusCode::OK, "{path}");
    }
}
