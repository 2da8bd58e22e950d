//! State versions, the state behind the backend: history, a version downloaded exactly as
//! written, diff, resources with sensitive outputs masked, rollback (refused while locked,
//! rolled forward with a higher serial) and who may do which; the state body following key
//! rotation and dying with the project's keys; a resource group naming one workspace
//! limiting state access to it.

use rampart_testkit::{StatusCode, TestServer};
use serde_json::{Value, json};

use super::{API, Tf, WS, lock, state};

fn with_outputs(serial: u64, resources: usize) -> Vec<u8> {
    let mut state: Value = serde_json::from_slice(&state(serial, "lin", resources)).unwrap();
    state["outputs"] = json!({
        "url": {"value": format!("https://v{serial}"), "type": "string"},
        "db_password": {"value": "hunter2-output-secret", "type": "string", "sensitive": true}
    });
    serde_json::to_vec_pretty(&state).unwrap()
}

#[tokio::test]
async fn history_diff_resources_and_rollback() {
    let server = TestServer::start().await;
    let admin = server.admin_token.clone();
    let tf = Tf { server: &server };
    let bodies: Vec<Vec<u8>> = (1..=3)
        .map(|serial| with_outputs(serial, serial as usize))
        .collect();
    for body in &bodies {
        assert_eq!(
            tf.send("POST", WS, Some(&admin), body, &[]).await.status,
            StatusCode::OK
        );
    }
    let ws = format!("{API}/prod");

    // History, newest first, with hashes; a version downloads exactly as written.
    let history = server.get(&format!("{ws}/state-versions"), &admin).await;
    let items = history.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(items[0]["version"], 3);
    assert_eq!(items[2]["serial"], 1);
    assert_eq!(items[0]["sha256"].as_str().unwrap().len(), 64);
    let first = server
        .client
        .get(format!("{}{ws}/state-versions/1", server.url))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(first.bytes().await.unwrap().to_vec(), bodies[0]);

    // Diff 1 → 3: two resources added, the url output changed.
    let diff = server
        .get(&format!("{ws}/state-diff?from=1&to=3"), &admin)
        .await;
    assert_eq!(diff.status, StatusCode::OK, "{}", diff.text);
    let unknown = server
        .get(&format!("{ws}/state-diff?from=1&to=3&form=2"), &admin)
        .await;
    assert_eq!(
        (unknown.status, unknown.code()),
        (StatusCode::BAD_REQUEST, "invalid_query"),
        "an unknown parameter is refused, as on every route: {}",
        unknown.text
    );
    assert_eq!(
        diff.body["added"],
        json!(["terraform_data.r1", "terraform_data.r2"])
    );
    assert_eq!(diff.body["outputs_changed"], json!(["url"]));

    // Resources: the sensitive output's value never shows.
    let resources = server.get(&format!("{ws}/resources"), &admin).await;
    assert_eq!(resources.status, StatusCode::OK, "{}", resources.text);
    assert_eq!(resources.body["resources"].as_array().unwrap().len(), 3);
    assert_eq!(
        resources.body["resources"][0]["address"],
        "terraform_data.r0"
    );
    assert!(!resources.text.contains("hunter2-output-secret"));
    let outputs = resources.body["outputs"].as_array().unwrap();
    let password = outputs.iter().find(|o| o["name"] == "db_password").unwrap();
    assert_eq!(password["sensitive"], true);
    assert!(password.get("value").is_none());

    // Rollback: refused while locked; then version 1's content rolls forward with a
    // serial above the current one and the reason recorded.
    tf.send(
        "LOCK",
        &format!("{WS}/lock"),
        Some(&admin),
        &lock("busy"),
        &[],
    )
    .await;
    let rollback = json!({"version": 1, "reason": "bad deploy of r2"});
    let locked = server
        .post(&format!("{ws}/state-rollback"), &admin, rollback.clone())
        .await;
    assert_eq!(locked.status, StatusCode::LOCKED);
    tf.send(
        "UNLOCK",
        &format!("{WS}/lock"),
        Some(&admin),
        &lock("busy"),
        &[],
    )
    .await;
    let rolled = server
        .post(&format!("{ws}/state-rollback"), &admin, rollback)
        .await;
    assert_eq!(rolled.status, StatusCode::CREATED, "{}", rolled.text);
    assert_eq!(rolled.body["version"], 4);
    assert_eq!(rolled.body["serial"], 4);
    assert!(
        rolled.body["reason"]
            .as_str()
            .unwrap()
            .contains("bad deploy of r2")
    );
    let current: Value =
        serde_json::from_slice(&tf.send("GET", WS, Some(&admin), b"", &[]).await.body).unwrap();
    assert_eq!(current["serial"], 4);
    assert_eq!(current["resources"].as_array().unwrap().len(), 1);
    // A client still holding serial 3 and writing serial 4 cannot overwrite it.
    let stale = tf
        .send("POST", WS, Some(&admin), &with_outputs(4, 3), &[])
        .await;
    assert_eq!(stale.status, StatusCode::CONFLICT);

    // A viewer may list versions but not download, diff, or roll back.
    let (viewer_id, viewer) =
        crate::platform::access::user_with_token(&server, "viewer@example.com").await;
    server
        .post(
            "/api/v1/orgs/default/projects/default/role-assignments",
            &admin,
            json!({"principal": format!("user:{viewer_id}"), "role": "_viewer"}),
        )
        .await;
    assert_eq!(
        server
            .get(&format!("{ws}/state-versions"), &viewer)
            .await
            .status,
        StatusCode::OK
    );
    for path in ["/state-versions/1", "/state-diff?from=1&to=2", "/resources"] {
        let reply = server.get(&format!("{ws}{path}"), &viewer).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{path}");
    }
    let refused = server
        .post(
            &format!("{ws}/state-rollback"),
            &viewer,
            json!({"version": 2, "reason": "no"}),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let events = server
        .get("/api/v1/audit-events?action=state.rollback", &admin)
        .await;
    assert_eq!(events.body["items"].as_array().unwrap().len(), 1);
}

/// The history pages by version number, newest first: following `next_cursor` reads
/// every version once; a cursor it never gives is 400 `invalid_cursor`, never a 500.
async fn history_pages_by_version(start: impl AsyncFnOnce() -> Option<TestServer>) {
    let Some(server) = start().await else {
        return;
    };
    let admin = server.admin_token.clone();
    let tf = Tf { server: &server };
    for serial in 1..=5 {
        let written = tf
            .send("POST", WS, Some(&admin), &state(serial, "paged", 1), &[])
            .await;
        assert_eq!(written.status, StatusCode::OK, "{}", written.text());
    }
    let history = format!("{API}/prod/state-versions");
    let mut versions = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = server
            .get(&format!("{history}?limit=2&cursor={cursor}"), &admin)
            .await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        for item in page.body["items"].as_array().unwrap() {
            versions.push(item["version"].as_u64().unwrap());
        }
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(versions, [5, 4, 3, 2, 1]);
    for cursor in [
        "01a20000-0000-7000-8000-000000000001",
        "%2B3",
        "9223372036854775808",
    ] {
        let reply = server
            .get(&format!("{history}?cursor={cursor}"), &admin)
            .await;
        assert_eq!(
            (reply.status, reply.code()),
            (StatusCode::BAD_REQUEST, "invalid_cursor"),
            "{cursor}: {}",
            reply.text
        );
    }
}

#[tokio::test]
async fn history_pages_by_version_on_sqlite() {
    history_pages_by_version(async || Some(TestServer::start().await)).await;
}

#[tokio::test]
async fn history_pages_by_version_on_postgres() {
    history_pages_by_version(TestServer::start_postgres).await;
}

#[tokio::test]
async fn state_follows_key_rotation_and_dies_with_the_project_keys() {
    let server = TestServer::start().await;
    let admin = server.admin_token.clone();
    let tf = Tf { server: &server };
    let body = state(1, "keys", 2);
    assert_eq!(
        tf.send("POST", WS, Some(&admin), &body, &[]).await.status,
        StatusCode::OK
    );
    let rotated = server
        .post(
            "/api/v1/keys/rotate",
            &admin,
            json!({"scope": "default/default"}),
        )
        .await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.text);
    let moved = server.app().rewrap_rotated_data().await.unwrap();
    assert!(moved >= 1, "the state body moved to the new key version");
    let read = tf.send("GET", WS, Some(&admin), b"", &[]).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.body, body);
    let ring = server
        .get("/api/v1/keys?scope=default/default", &admin)
        .await;
    assert_eq!(
        ring.body["versions"][0]["status"], "retired",
        "{}",
        ring.text
    );

    // Crypto-shredding the project: the state is gone for good, and says so.
    let destroyed = server
        .post(
            "/api/v1/keys/destroy",
            &admin,
            json!({"scope": "default/default", "confirm": "default/default"}),
        )
        .await;
    assert_eq!(destroyed.status, StatusCode::OK, "{}", destroyed.text);
    let gone = tf.send("GET", WS, Some(&admin), b"", &[]).await;
    assert_eq!(gone.status, StatusCode::GONE, "{}", gone.text());
    assert_eq!(gone.code(), "data_shredded");
}

#[tokio::test]
async fn a_resource_group_naming_one_workspace_limits_state_access_to_it() {
    let server = TestServer::start().await;
    let admin = server.admin_token.clone();
    let tf = Tf { server: &server };
    for workspace in ["prod", "staging"] {
        let created = server
            .post(
                API,
                &admin,
                // Ungoverned: this test writes state through the backend directly.
                json!({"identifier": workspace, "name": workspace, "runs": {"governed": false}}),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED);
    }
    let group = server
        .post(
            "/api/v1/orgs/default/projects/default/resource-groups",
            &admin,
            json!({"identifier": "prod-only", "name": "Prod only", "kind": "specific",
                   "resources": ["workspace/prod"]}),
        )
        .await;
    assert_eq!(group.status, StatusCode::CREATED, "{}", group.text);
    let (ops_id, ops) = crate::platform::access::user_with_token(&server, "ops@example.com").await;
    let assigned = server
        .post(
            "/api/v1/orgs/default/projects/default/role-assignments",
            &admin,
            json!({"principal": format!("user:{ops_id}"), "role": "_project_admin",
                   "resource_group": group.body["id"]}),
        )
        .await;
    assert_eq!(assigned.status, StatusCode::CREATED, "{}", assigned.text);

    let wrote = tf
        .send("POST", WS, Some(&ops), &state(1, "rg", 1), &[])
        .await;
    assert_eq!(wrote.status, StatusCode::OK, "{}", wrote.text());
    let other = tf
        .send(
            "POST",
            "/tf/v1/default/default/staging",
            Some(&ops),
            &state(1, "rg", 1),
            &[],
        )
        .await;
    assert!(
        matches!(other.status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
        "{}",
        other.text()
    );
    let listed = server.get(API, &ops).await;
    let names: Vec<&str> = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["identifier"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["prod"], "{}", listed.text);
}
