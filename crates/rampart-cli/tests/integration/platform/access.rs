//! Role assignments at account, organisation and project scope, enforced on every route.

use rampart_testkit::{Reply, StatusCode, TestServer};
use serde_json::json;

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
    assert!(
        permissions.iter().all(|p| p.ends_with(":view")),
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
    let renamed = server
        .patch(PROJECT, &sa_token, json!({"description": "by CI"}))
        .await;
    assert_eq!(renamed.status, StatusCode::OK, "User may edit");
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
            json!({"identifier": "more", "name": "More", "permissions": ["incident:configure"]}),
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
