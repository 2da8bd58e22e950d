//! Tests generated from the route table: every route is walked, none is forgotten —
//! anonymous requests refused, no input answering 500, the served OpenAPI document equal
//! to `docs/openapi.json`, and the route-by-role matrix following the seed's role table.

use rampart_app::Access;
use rampart_http::routes::RouteSpec;
use rampart_http::{AppState, HttpSettings};
use rampart_testkit::{StatusCode, TestServer};
use serde_json::json;

fn specs(server: &TestServer) -> Vec<RouteSpec> {
    rampart_http::server::build_router(AppState::new(server.app().clone(), HttpSettings::default()))
        .1
}

/// Fills path parameters with values that exist (org and project) or plausible ids.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|segment| match segment {
            "{org}" | "{project}" => "default",
            // Any other parameter is an id: a well-formed one that names nothing.
            s if s.starts_with('{') => "01a20000-0000-7000-8000-000000000001",
            s => s,
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn every_route_that_is_not_public_refuses_a_request_without_credentials() {
    let server = TestServer::start().await;
    let specs = specs(&server);
    assert!(specs.len() > 30, "the table holds every route");
    let mut public = Vec::new();
    for spec in &specs {
        let reply = server
            .request(
                spec.method.clone(),
                &concrete(spec.path),
                None,
                Some(&json!({})),
            )
            .await;
        if spec.access == Access::Public {
            public.push(format!("{} {}", spec.method, spec.path));
            // A delegate's routes check its credential in the handler.
            if spec.path.starts_with("/api/v1/delegate/tasks") {
                assert_eq!(
                    (reply.status, reply.code()),
                    (StatusCode::UNAUTHORIZED, "authentication_required"),
                    "{} {}",
                    spec.method,
                    spec.path
                );
            }
            continue;
        }
        assert_eq!(
            (reply.status, reply.code()),
            (StatusCode::UNAUTHORIZED, "authentication_required"),
            "{} {}",
            spec.method,
            spec.path
        );
    }
    // Public routes are few and deliberate: health, login (password, and single sign-on's
    // options, start, callback, and SAML's assertion consumer service and SP metadata), and a delegate's own routes (registration with its
    // one-time token; the rest with its credential).
    assert_eq!(
        public,
        [
            "GET /healthz",
            "POST /api/v1/auth/login",
            "GET /api/v1/auth/sso",
            "GET /api/v1/auth/sso/{provider}/start",
            "GET /api/v1/auth/sso/{provider}/callback",
            "POST /api/v1/auth/sso/{provider}/acs",
            "GET /api/v1/auth/sso/{provider}/slo",
            "GET /api/v1/auth/sso/{provider}/metadata",
            "POST /api/v1/delegate/register",
            "GET /api/v1/delegate/tasks/next",
            "POST /api/v1/delegate/tasks/{task}/result",
            "POST /api/v1/delegate/tasks/{task}/progress"
        ]
    );
}

#[tokio::test]
async fn no_input_makes_any_route_answer_500() {
    let server = TestServer::start().await;
    let admin = server.admin_token.clone();
    let bodies = [
        json!(null),
        json!([]),
        json!("text"),
        json!({"name": 12}),
        json!({"identifier": "\u{0000}", "name": "\u{202e}"}),
        json!({"email": "a@b", "display_name": "x".repeat(10_000)}),
        json!({"expires_in_days": u64::MAX, "name": "x"}),
        json!({"expires_at": "9999-12-31T23:59:59Z", "name": "x"}),
    ];
    for spec in specs(&server) {
        if spec.path == "/api/v1/auth/logout" {
            continue; // would end nothing but is covered elsewhere
        }
        for body in &bodies {
            for path in [
                concrete(spec.path),
                spec.path.replace(['{', '}'], ""),
                concrete(spec.path).replace("default", "..%2F..%2Fetc"),
            ] {
                let reply = server
                    .request(spec.method.clone(), &path, Some(&admin), Some(body))
                    .await;
                assert!(
                    reply.status.as_u16() < 500,
                    "{} {path} with {body} → {}: {}",
                    spec.method,
                    reply.status,
                    reply.text
                );
            }
        }
    }
}

#[tokio::test]
async fn the_checked_in_openapi_document_is_the_one_served() {
    let server = TestServer::start().await;
    let reply = server
        .request(
            reqwest::Method::GET,
            "/api/v1/openapi.json",
            Some(&server.admin_token),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["openapi"], "3.1.0");
    let served = reply.text;
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json");
    if std::env::var("RAMPART_UPDATE_OPENAPI").is_ok() {
        std::fs::write(&path, &served).unwrap();
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        served == checked_in,
        "docs/openapi.json is stale: run `RAMPART_UPDATE_OPENAPI=1 cargo test -p rampart-cli --test integration openapi`"
    );
    // Each operation names its permission.
    let document: serde_json::Value = serde_json::from_str(&served).unwrap();
    let create_org = &document["paths"]["/api/v1/orgs"]["post"];
    assert_eq!(create_org["x-rampart-permission"], "org:create");
}

/// The scope a concrete route path addresses.
fn route_scope(path: &str) -> &'static str {
    if path.contains("{project}") {
        "project"
    } else if path.contains("{org}") {
        "org"
    } else {
        "account"
    }
}

/// Every route × every built-in role assignable at project scope, assigned at the
/// project the route addresses and at a different project: the expected status comes
/// from the permission the route declares and the seed's hand-written role table
/// (`platform::access::SEED_ROLE_TABLE`), never from the rule the server decides with.
#[tokio::test]
async fn the_route_by_role_matrix_follows_the_seeds_role_table() {
    use rampart_domain::platform::access::BuiltinRole;

    let server = TestServer::start().await;
    let admin = server.admin_token.clone();
    server
        .post(
            "/api/v1/orgs/default/projects",
            &admin,
            json!({"identifier": "other", "name": "Other"}),
        )
        .await;
    // Something in the project, so that an allowed project delete is refused as non-empty
    // rather than removing the project under the rest of the test.
    server
        .post(
            "/api/v1/orgs/default/projects/default/service-accounts",
            &admin,
            json!({"name": "keep"}),
        )
        .await;

    let mut holders = Vec::new();
    for (n, role) in [
        BuiltinRole::ProjectAdmin,
        BuiltinRole::User,
        BuiltinRole::Viewer,
    ]
    .into_iter()
    .enumerate()
    {
        for (at_project, project) in [(true, "default"), (false, "other")] {
            let email = format!(
                "matrix{n}{}@example.com",
                if at_project { "here" } else { "there" }
            );
            let password = format!("matrix passphrase number {n} {at_project}");
            let id = server.create_user(&email, &password).await;
            let assigned = server
                .post(
                    &format!("/api/v1/orgs/default/projects/{project}/role-assignments"),
                    &admin,
                    json!({"principal": format!("user:{id}"), "role": role.identifier()}),
                )
                .await;
            assert_eq!(assigned.status, StatusCode::CREATED, "{}", assigned.text);
            let session = crate::platform::auth::login(&server, &email, &password).await;
            let token = session
                .post(
                    &server,
                    "/api/v1/tokens",
                    json!({"name": "matrix", "expires_in_days": 1}),
                )
                .await;
            let secret = token.body["secret"].as_str().unwrap().to_owned();
            rampart_testkit::remember_secret(&secret);
            holders.push((role, at_project, secret));
        }
    }

    let mut specs: Vec<RouteSpec> = specs(&server)
        .into_iter()
        .filter(|spec| matches!(spec.access, Access::Permission(_)))
        .collect();
    // Deletes last, so that nothing a later check needs is gone.
    specs.sort_by_key(|spec| spec.method == reqwest::Method::DELETE);
    let mut checked = 0;
    for spec in &specs {
        let Access::Permission(permission) = spec.access else {
            continue;
        };
        for (role, at_project, token) in &holders {
            let reply = server
                .request(
                    spec.method.clone(),
                    &concrete(spec.path),
                    Some(token),
                    Some(&json!({})),
                )
                .await;
            let scope = route_scope(spec.path);
            let label = format!(
                "{} {} as {} at {}",
                spec.method,
                spec.path,
                role.identifier(),
                if *at_project {
                    "this project"
                } else {
                    "another project"
                }
            );
            match (scope, at_project) {
                ("project", true)
                    if crate::platform::access::seed_holds(*role, permission.as_str()) =>
                {
                    assert!(
                        !(reply.status == StatusCode::FORBIDDEN
                            && reply.code() == "permission_denied")
                            && reply.body["error"]["message"] != "project not found",
                        "{label}: should be allowed, got {} {}",
                        reply.status,
                        reply.text
                    );
                }
                ("project", false) => {
                    assert_eq!(
                        (reply.status, reply.body["error"]["message"].as_str()),
                        (StatusCode::NOT_FOUND, Some("project not found")),
                        "{label}: another project's routes are invisible"
                    );
                }
                _ => {
                    assert_eq!(
                        (reply.status, reply.code()),
                        (StatusCode::FORBIDDEN, "permission_denied"),
                        "{label}: {}",
                        reply.text
                    );
                    assert_eq!(
                        reply.body["error"]["permission"],
                        permission.as_str(),
                        "{label}"
                    );
                }
            }
            checked += 1;
        }
    }
    assert!(checked > 200, "{checked} route × role checks");
}

/// Fills path parameters for the hidden-versus-missing test: `project` is given; a
/// workspace and a service that exist in the hidden project are named by identifier.
fn in_project(path: &str, project: &str) -> String {
    path.split('/')
        .map(|segment| match segment {
            "{org}" => "default",
            "{project}" => project,
            "{workspace}" => "ws",
            "{service}" => "svc",
            s if s.starts_with('{') => "01a20000-0000-7000-8000-000000000001",
            s => s,
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn a_hidden_project_answers_every_route_exactly_as_a_missing_one() {
    let server = TestServer::start().await;
    let admin = server.admin_token.clone();
    // A project with a workspace and a service, which the caller cannot see; the caller
    // views another project, so the organisation itself is visible to it.
    let created = server
        .post(
            "/api/v1/orgs/default/projects",
            &admin,
            json!({"identifier": "hidden", "name": "Hidden"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    for (path, body) in [
        (
            "/api/v1/orgs/default/projects/hidden/workspaces",
            json!({"identifier": "ws", "name": "WS"}),
        ),
        (
            "/api/v1/orgs/default/projects/hidden/services",
            json!({"identifier": "svc", "name": "Svc"}),
        ),
    ] {
        let reply = server.post(path, &admin, body).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{path}: {}", reply.text);
    }
    let (viewer, token) =
        crate::platform::access::user_with_token(&server, "eve@example.com").await;
    let granted = server
        .post(
            "/api/v1/orgs/default/projects/default/role-assignments",
            &admin,
            json!({"principal": format!("user:{viewer}"), "role": "_project_admin"}),
        )
        .await;
    assert_eq!(granted.status, StatusCode::CREATED, "{}", granted.text);

    let mut compared = 0;
    for spec in specs(&server) {
        if !spec.path.contains("{project}") {
            continue;
        }
        let mut answers = Vec::new();
        for project in ["hidden", "missing"] {
            for query in ["", "?from=x"] {
                let reply = server
                    .request(
                        spec.method.clone(),
                        &format!("{}{query}", in_project(spec.path, project)),
                        Some(&token),
                        Some(&json!({})),
                    )
                    .await;
                answers.push((query, reply.status, reply.text));
            }
        }
        let (hidden, missing) = answers.split_at(2);
        assert_eq!(hidden, missing, "{} {}", spec.method, spec.path);
        assert!(
            hidden
                .iter()
                .all(|(_, status, _)| *status == StatusCode::NOT_FOUND),
            "{} {}: {hidden:?}",
            spec.method,
            spec.path
        );
        compared += 1;
    }
    assert!(compared > 40, "only {compared} project routes walked");

    // The Terraform backend (beside the table): the same for every method.
    for method in ["GET", "POST", "LOCK", "UNLOCK", "DELETE"] {
        let mut answers = Vec::new();
        for project in ["hidden", "missing"] {
            for suffix in ["", "/lock"] {
                let reply = server
                    .client
                    .request(
                        reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                        format!("{}/tf/v1/default/{project}/ws{suffix}", server.url),
                    )
                    .basic_auth("terraform", Some(&token))
                    .body(r#"{"ID": "x", "version": 4, "serial": 1, "lineage": "l"}"#)
                    .send()
                    .await
                    .unwrap();
                let status = reply.status();
                answers.push((suffix, status, reply.text().await.unwrap()));
            }
        }
        let (hidden, missing) = answers.split_at(2);
        assert_eq!(hidden, missing, "{method} /tf/v1");
    }
}

/// Step-up, walked over the route table: the sensitive routes are a deliberate list, and
/// each refuses a session whose sign-in is older than `auth.reauthentication_minutes`
/// with 401 `reauthentication_required` — before its handler reads anything — while an
/// API token is not asked.
#[tokio::test]
async fn sensitive_routes_need_a_recent_sign_in() {
    use std::sync::Arc;

    let clock = Arc::new(rampart_app::ManualClock::new(jiff::Timestamp::now()));
    let server = TestServer::start_with(rampart_testkit::Options {
        clock: Some(clock.clone()),
        ..rampart_testkit::Options::default()
    })
    .await;
    let password = "sable orchard pendulum";
    let user = server.create_user("hal@example.com", password).await;
    let granted = server
        .post(
            "/api/v1/role-assignments",
            &server.admin_token,
            json!({"principal": format!("user:{user}"), "role": "_account_admin"}),
        )
        .await;
    assert_eq!(granted.status, StatusCode::CREATED, "{}", granted.text);
    let session = crate::platform::auth::login(&server, "hal@example.com", password).await;
    clock.advance(jiff::SignedDuration::from_mins(11));

    let specs = specs(&server);
    let sensitive: Vec<String> = specs
        .iter()
        .filter(|spec| spec.step_up)
        .map(|spec| format!("{} {}", spec.method, spec.path))
        .collect();
    // What mints credentials (tokens, users, delegates, integration credentials),
    // changes who may do what (roles, groups, resource groups, allowlists, SSO) or
    // what governs a change (workspace settings, policy sets, overrides, approvals,
    // runbooks and their execution), holds secrets (secrets, variables, a run's
    // variables), keys, and what destroys history (an organisation, audit retention).
    assert_eq!(
        sensitive,
        [
            "POST /api/v1/tokens",
            "POST /api/v1/users",
            "PATCH /api/v1/users/{user_id}",
            "POST /api/v1/orgs/{org}/service-accounts/{service_account_id}/tokens",
            "POST /api/v1/orgs/{org}/projects/{project}/service-accounts/{service_account_id}/tokens",
            "DELETE /api/v1/orgs/{org}",
            "POST /api/v1/role-assignments",
            "DELETE /api/v1/role-assignments/{assignment_id}",
            "POST /api/v1/orgs/{org}/role-assignments",
            "DELETE /api/v1/orgs/{org}/role-assignments/{assignment_id}",
            "POST /api/v1/orgs/{org}/projects/{project}/role-assignments",
            "DELETE /api/v1/orgs/{org}/projects/{project}/role-assignments/{assignment_id}",
            "POST /api/v1/roles",
            "PATCH /api/v1/roles/{role_id}",
            "DELETE /api/v1/roles/{role_id}",
            "DELETE /api/v1/groups/{group_id}",
            "POST /api/v1/groups/{group_id}/members",
            "DELETE /api/v1/groups/{group_id}/members/{user_id}",
            "DELETE /api/v1/resource-groups/{resource_group_id}",
            "POST /api/v1/orgs/{org}/roles",
            "PATCH /api/v1/orgs/{org}/roles/{role_id}",
            "DELETE /api/v1/orgs/{org}/roles/{role_id}",
            "DELETE /api/v1/orgs/{org}/groups/{group_id}",
            "POST /api/v1/orgs/{org}/groups/{group_id}/members",
            "DELETE /api/v1/orgs/{org}/groups/{group_id}/members/{user_id}",
            "DELETE /api/v1/orgs/{org}/resource-groups/{resource_group_id}",
            "POST /api/v1/orgs/{org}/projects/{project}/roles",
            "PATCH /api/v1/orgs/{org}/projects/{project}/roles/{role_id}",
            "DELETE /api/v1/orgs/{org}/projects/{project}/roles/{role_id}",
            "DELETE /api/v1/orgs/{org}/projects/{project}/groups/{group_id}",
            "POST /api/v1/orgs/{org}/projects/{project}/groups/{group_id}/members",
            "DELETE /api/v1/orgs/{org}/projects/{project}/groups/{group_id}/members/{user_id}",
            "DELETE /api/v1/orgs/{org}/projects/{project}/resource-groups/{resource_group_id}",
            "PUT /api/v1/orgs/{org}/audit-retention",
            "PUT /api/v1/ip-allowlist",
            "PUT /api/v1/orgs/{org}/ip-allowlist",
            "POST /api/v1/keys/rotate",
            "POST /api/v1/keys/rotate-root",
            "POST /api/v1/keys/destroy",
            "POST /api/v1/orgs/{org}/secrets",
            "PATCH /api/v1/orgs/{org}/secrets/{secret}",
            "POST /api/v1/orgs/{org}/projects/{project}/secrets",
            "PATCH /api/v1/orgs/{org}/projects/{project}/secrets/{secret}",
            "POST /api/v1/sso/providers",
            "PATCH /api/v1/sso/providers/{provider}",
            "DELETE /api/v1/sso/providers/{provider}",
            "PUT /api/v1/sso/policy",
            "PUT /api/v1/orgs/{org}/sso/policy",
            "POST /api/v1/orgs/{org}/projects/{project}/delegates",
            "PATCH /api/v1/orgs/{org}/projects/{project}/workspaces/{workspace}",
            "POST /api/v1/orgs/{org}/policy-sets",
            "PATCH /api/v1/orgs/{org}/policy-sets/{policy_set}",
            "DELETE /api/v1/orgs/{org}/policy-sets/{policy_set}",
            "PUT /api/v1/orgs/{org}/policy-sets/{policy_set}/modules/{module}",
            "DELETE /api/v1/orgs/{org}/policy-sets/{policy_set}/modules/{module}",
            "POST /api/v1/orgs/{org}/projects/{project}/policy-sets",
            "PATCH /api/v1/orgs/{org}/projects/{project}/policy-sets/{policy_set}",
            "DELETE /api/v1/orgs/{org}/projects/{project}/policy-sets/{policy_set}",
            "PUT /api/v1/orgs/{org}/projects/{project}/policy-sets/{policy_set}/modules/{module}",
            "DELETE /api/v1/orgs/{org}/projects/{project}/policy-sets/{policy_set}/modules/{module}",
            "POST /api/v1/orgs/{org}/projects/{project}/workspaces/{workspace}/plans/{plan}/policy-overrides",
            "POST /api/v1/orgs/{org}/projects/{project}/workspaces/{workspace}/runs/{run}/policy-overrides",
            "POST /api/v1/orgs/{org}/projects/{project}/workspaces/{workspace}/runs/{run}/approvals",
            "PUT /api/v1/orgs/{org}/projects/{project}/workspaces/{workspace}/variables/{category}/{key}",
            "GET /api/v1/orgs/{org}/projects/{project}/workspaces/{workspace}/runs/{run}/variables",
            "PUT /api/v1/orgs/{org}/variable-sets/{variable_set}/variables/{category}/{key}",
            "PUT /api/v1/orgs/{org}/projects/{project}/variable-sets/{variable_set}/variables/{category}/{key}",
            "POST /api/v1/orgs/{org}/projects/{project}/services/{service}/integrations",
            "POST /api/v1/orgs/{org}/projects/{project}/services/{service}/integrations/{integration}/rotate",
            "POST /api/v1/orgs/{org}/projects/{project}/runbooks",
            "PUT /api/v1/orgs/{org}/projects/{project}/runbooks/{runbook}",
            "POST /api/v1/orgs/{org}/projects/{project}/runbooks/{runbook}/executions",
            "POST /api/v1/orgs/{org}/projects/{project}/runbook-executions/{execution}/approve",
        ]
    );
    for spec in specs.iter().filter(|spec| spec.step_up) {
        let reply = session
            .send(
                &server,
                spec.method.clone(),
                &concrete(spec.path),
                Some(json!({})),
                true,
            )
            .await;
        assert_eq!(
            (reply.status, reply.code()),
            (StatusCode::UNAUTHORIZED, "reauthentication_required"),
            "{} {}: {}",
            spec.method,
            spec.path,
            reply.text
        );
    }
    // Other routes do not ask.
    let org = session
        .send(
            &server,
            reqwest::Method::PATCH,
            "/api/v1/orgs/default",
            Some(json!({"name": "Default (renamed)"})),
            true,
        )
        .await;
    assert_eq!(org.status, StatusCode::OK, "{}", org.text);
    // Nor does a token, on the same sensitive routes.
    let token = server
        .post(
            "/api/v1/tokens",
            &server.admin_token,
            json!({"name": "automation", "expires_in_days": 1}),
        )
        .await;
    assert_eq!(token.status, StatusCode::CREATED, "{}", token.text);
    rampart_testkit::remember_secret(token.body["secret"].as_str().unwrap());
}
