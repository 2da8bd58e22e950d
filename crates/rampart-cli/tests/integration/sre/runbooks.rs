//! Runbooks: who may read, write and delete them, versions (each kept, readable, and a
//! stale edit refused), definitions checked with the place of an error named, and a
//! runbook of another project looking exactly like a missing one. Both engines.

use rampart_testkit::{StatusCode, TestServer};
use serde_json::{Value, json};

use super::{PROJECT, user_with_role};

fn restart() -> Value {
    json!({
        "description": "Restart the web tier",
        "delegate_selector": ["env=prod"],
        "inputs": [
            {"name": "ENV", "allowed": ["staging", "prod"], "default": "staging",
             "restricted": {"prod": ["production-operator"]}},
            {"name": "DRY_RUN", "type": "boolean", "default": true}
        ],
        "secrets": [{"name": "DEPLOY_TOKEN", "secret": "deploy-token"}],
        "steps": [
            {"kind": "script", "name": "drain", "script": "echo draining \"$ENV\"",
             "secrets": ["DEPLOY_TOKEN"], "limits": {"wall_seconds": 60}},
            {"kind": "http_request", "name": "announce", "method": "POST",
             "url": "https://chat.example/hooks/{{inputs.ENV}}",
             "headers": {"Authorization": "Bearer {{secrets.DEPLOY_TOKEN}}"}},
            {"kind": "set_status", "name": "monitor", "status": "monitoring"}
        ]
    })
}

async fn put(server: &TestServer, path: &str, token: &str, body: Value) -> rampart_testkit::Reply {
    server
        .request(reqwest::Method::PUT, path, Some(token), Some(&body))
        .await
}

async fn runbooks_are_versioned_checked_and_guarded(server: TestServer) {
    let (_, viewer) = user_with_role(&server, "viewer@example.com", "_viewer").await;
    let (author_id, author) = user_with_role(&server, "author@example.com", "_user").await;
    let runbooks = format!("{PROJECT}/runbooks");

    let body = json!({"identifier": "restart-web", "name": "Restart web", "definition": restart()});
    let refused = server.post(&runbooks, &viewer, body.clone()).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    // A script is code a delegate runs in the customer's network: a User may write
    // runbooks, but not scripts, until someone grants `runbook:author_scripts`.
    let refused = server.post(&runbooks, &author, body.clone()).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    assert!(
        refused.text.contains("runbook:author_scripts"),
        "{}",
        refused.text
    );
    let mut no_script = restart();
    no_script["steps"].as_array_mut().unwrap().remove(0);
    let scriptless = server
        .post(
            &runbooks,
            &author,
            json!({"identifier": "announce", "name": "Announce", "definition": no_script}),
        )
        .await;
    assert_eq!(
        scriptless.status,
        StatusCode::CREATED,
        "{}",
        scriptless.text
    );
    let role = server
        .post(
            "/api/v1/orgs/default/roles",
            &server.admin_token,
            json!({"identifier": "script-author", "name": "Script author",
                   "permissions": ["runbook:author_scripts"]}),
        )
        .await;
    assert_eq!(role.status, StatusCode::CREATED, "{}", role.text);
    let granted = server
        .post(
            &format!("{PROJECT}/role-assignments"),
            &server.admin_token,
            json!({"principal": format!("user:{}", author_id),
                   "role": role.body["id"].as_str().unwrap()}),
        )
        .await;
    assert_eq!(granted.status, StatusCode::CREATED, "{}", granted.text);
    let created = server.post(&runbooks, &author, body.clone()).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    assert_eq!(created.body["version"], 1);
    assert_eq!(created.body["steps"], 3);
    assert_eq!(created.body["sensitive"], false);
    assert_eq!(created.body["definition"], restart());
    let taken = server.post(&runbooks, &author, body).await;
    assert_eq!(taken.status, StatusCode::CONFLICT, "{}", taken.text);
    assert_eq!(taken.code(), "identifier_taken");

    // Readers see it as written; the list has no definitions.
    let path = format!("{runbooks}/restart-web");
    let shown = server.get(&path, &viewer).await;
    assert_eq!(shown.status, StatusCode::OK, "{}", shown.text);
    assert_eq!(shown.body["definition"], restart());
    let listed = server.get(&runbooks, &viewer).await;
    let mut identifiers: Vec<&str> = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            assert!(item.get("definition").is_none(), "{}", listed.text);
            item["identifier"].as_str().unwrap()
        })
        .collect();
    identifiers.sort_unstable();
    assert_eq!(identifiers, ["announce", "restart-web"]);

    // A new definition is a new version; the old one stays readable.
    let mut sensitive = restart();
    sensitive["sensitive"] = json!(true);
    let refused = put(&server, &path, &viewer, json!({"definition": sensitive})).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    let updated = put(
        &server,
        &path,
        &author,
        json!({"definition": sensitive, "expected_version": 1, "name": "Restart the web tier"}),
    )
    .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.text);
    assert_eq!(updated.body["version"], 2);
    assert_eq!(updated.body["sensitive"], true);
    assert_eq!(updated.body["name"], "Restart the web tier");
    let stale = put(
        &server,
        &path,
        &author,
        json!({"definition": restart(), "expected_version": 1}),
    )
    .await;
    assert_eq!(stale.status, StatusCode::CONFLICT, "{}", stale.text);
    assert_eq!(stale.code(), "runbook_version_stale");
    let first = server.get(&format!("{path}?version=1"), &viewer).await;
    assert_eq!(first.body["version"], 1);
    assert_eq!(first.body["current_version"], 2);
    assert_eq!(first.body["sensitive"], false);
    let missing = server.get(&format!("{path}?version=9"), &viewer).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND, "{}", missing.text);
    let versions = server.get(&format!("{path}/versions"), &viewer).await;
    let numbers: Vec<u64> = versions.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|version| version["version"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, [2, 1]);
    assert!(
        versions.body["items"][0]["created_by"]
            .as_str()
            .unwrap()
            .starts_with("user:"),
        "{}",
        versions.text
    );

    // A bad definition is refused with its place named, and nothing changes.
    for (definition, place) in [
        (
            json!({"steps": [{"kind": "script", "name": "a"}]}),
            "steps[0]",
        ),
        (
            json!({"steps": [{"kind": "http_request", "name": "a", "method": "GET",
                              "url": "https://x/{{secrets.T}}"}],
                   "secrets": [{"name": "T", "secret": "t"}]}),
            "steps[0].url",
        ),
        (
            json!({"inputs": [{"name": "A", "type": "integer", "default": "x"}],
                   "steps": [{"kind": "add_note", "name": "a", "text": "x"}]}),
            "inputs[0].default",
        ),
        (json!({"steps": "all of them"}), "steps"),
    ] {
        let refused = put(&server, &path, &author, json!({ "definition": definition })).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text);
        assert_eq!(refused.code(), "invalid_definition");
        assert!(
            refused.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains(place),
            "{place}: {}",
            refused.text
        );
    }
    // NUL is refused at the edge, as everywhere.
    let nul = put(
        &server,
        &path,
        &author,
        json!({"definition": {"steps": [{"kind": "script", "name": "a", "script": "x\u{0}"}]}}),
    )
    .await;
    assert_eq!(nul.status, StatusCode::BAD_REQUEST, "{}", nul.text);
    assert_eq!(nul.code(), "nul_character");
    let unchanged = server.get(&path, &viewer).await;
    assert_eq!(unchanged.body["current_version"], 2);

    // Another project's runbook, and one that does not exist, look the same.
    let other = server
        .post(
            "/api/v1/orgs/default/projects",
            &server.admin_token,
            json!({"identifier": "other", "name": "Other"}),
        )
        .await;
    assert_eq!(other.status, StatusCode::CREATED, "{}", other.text);
    let elsewhere = server
        .get(
            "/api/v1/orgs/default/projects/other/runbooks/restart-web",
            &server.admin_token,
        )
        .await;
    let nowhere = server
        .get(&format!("{runbooks}/no-such-runbook"), &server.admin_token)
        .await;
    assert_eq!(elsewhere.status, StatusCode::NOT_FOUND);
    assert_eq!(elsewhere.body, nowhere.body);
    // Even a bad definition for a missing runbook is "not found".
    let ghost = put(
        &server,
        &format!("{runbooks}/no-such-runbook"),
        &author,
        json!({"definition": {"steps": []}}),
    )
    .await;
    assert_eq!(ghost.status, StatusCode::NOT_FOUND, "{}", ghost.text);

    // Deleting takes the operational user's permission away: only admins delete.
    let refused = server.delete(&path, &author).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    let deleted = server.delete(&path, &server.admin_token).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text);
    let gone = server.get(&path, &viewer).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);

    // Every change is in the audit log (the refused script is not).
    for (action, count) in [
        ("runbook.create", 2),
        ("runbook.update", 1),
        ("runbook.delete", 1),
    ] {
        let audit = server
            .get(
                &format!("/api/v1/audit-events?action={action}"),
                &server.admin_token,
            )
            .await;
        assert_eq!(
            audit.body["items"].as_array().unwrap().len(),
            count,
            "{action}: {}",
            audit.text
        );
    }
}

#[tokio::test]
async fn runbooks_are_versioned_checked_and_guarded_on_sqlite() {
    runbooks_are_versioned_checked_and_guarded(TestServer::start().await).await;
}

#[tokio::test]
async fn runbooks_are_versioned_checked_and_guarded_on_postgres() {
    let Some(server) = TestServer::start_postgres().await else {
        return;
    };
    runbooks_are_versioned_checked_and_guarded(server).await;
}
