//! Incidents: by hand through their statuses with a timeline and notes; the commander,
//! assignees, linked services, custom fields and action items; and incident data (alert
//! payload, title, timeline, integration credentials) resealed after key rotation on both
//! engines.

use rampart_testkit::{StatusCode, TestServer};
use serde_json::{Value, json};

use super::{PROJECT, generic, incident, integration, send, service};

#[tokio::test]
async fn incidents_by_hand_move_through_their_statuses_with_a_timeline() {
    let server = TestServer::start().await;
    let admin = server.admin_token.clone();
    let created = server
        .post(
            &format!("{PROJECT}/incidents"),
            &admin,
            json!({"title": "Checkout errors", "severity": "SEV2"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    assert_eq!(created.body["number"], 1);
    let bad = server
        .post(
            &format!("{PROJECT}/incidents"),
            &admin,
            json!({"title": "x", "severity": "SEV9"}),
        )
        .await;
    assert_eq!(bad.code(), "invalid_severity");
    let status = |to: &str, message: Option<&str>| {
        let server = &server;
        let admin = admin.clone();
        let body = json!({"status": to, "message": message});
        async move {
            server
                .post(&format!("{PROJECT}/incidents/1/status"), &admin, body)
                .await
        }
    };
    assert_eq!(
        status("acknowledged", None).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        status("investigating", Some("looking at the payment provider"))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let backwards = status("acknowledged", None).await;
    assert_eq!(
        (backwards.status, backwards.code()),
        (StatusCode::CONFLICT, "invalid_transition")
    );
    let note = server
        .post(
            &format!("{PROJECT}/incidents/1/notes"),
            &admin,
            json!({"text": "provider confirmed an outage"}),
        )
        .await;
    assert_eq!(note.status, StatusCode::NO_CONTENT);
    assert_eq!(
        status("resolved", Some("provider recovered")).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(status("closed", None).await.status, StatusCode::NO_CONTENT);
    assert_eq!(
        status("investigating", Some("it is back")).await.status,
        StatusCode::NO_CONTENT
    );
    let shown = incident(&server, 1).await;
    assert_eq!(shown["status"], "investigating");
    let kinds: Vec<&str> = shown["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        vec![
            "incident.opened",
            "status.acknowledged",
            "status.investigating",
            "note",
            "status.resolved",
            "status.closed",
            "status.investigating"
        ]
    );
    assert_eq!(
        shown["timeline"][3]["body"]["text"],
        "provider confirmed an outage"
    );
    assert!(
        shown["timeline"][1]["actor"]
            .as_str()
            .unwrap()
            .starts_with("user:")
    );
    let missing = server.get(&format!("{PROJECT}/incidents/99"), &admin).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

async fn sre_data_follows_rotation(start: impl AsyncFnOnce() -> Option<TestServer>) {
    let Some(server) = start().await else {
        return;
    };
    service(&server, "pay").await;
    let hook = integration(
        &server,
        "pay",
        json!({"name": "Basic", "format": "generic", "auth_mode": "basic"}),
    )
    .await;
    let first = send(
        &server,
        &hook,
        &generic("k", "trigger", "Payments slow"),
        &[],
    )
    .await;
    assert_eq!(first.status, StatusCode::ACCEPTED);
    let rotated = server
        .post(
            "/api/v1/keys/rotate",
            &server.admin_token,
            json!({"scope": "default/default"}),
        )
        .await;
    assert_eq!(rotated.status, StatusCode::OK);
    // Alert payload, incident title, timeline entry, integration credentials.
    let moved = server.app().rewrap_rotated_data().await.unwrap();
    assert_eq!(moved, 4);
    assert_eq!(incident(&server, 1).await["title"], "Payments slow");
    let again = send(&server, &hook, &generic("k", "resolve", ""), &[]).await;
    assert_eq!(again.status, StatusCode::ACCEPTED, "credentials still open");
    assert_eq!(incident(&server, 1).await["status"], "resolved");
}

#[tokio::test]
async fn incident_data_is_resealed_after_rotation_on_sqlite() {
    sre_data_follows_rotation(async || Some(TestServer::start().await)).await;
}

#[tokio::test]
async fn incident_data_is_resealed_after_rotation_on_postgres() {
    sre_data_follows_rotation(TestServer::start_postgres).await;
}

#[tokio::test]
async fn incidents_carry_commander_assignees_services_custom_fields_and_action_items() {
    let server = TestServer::start().await;
    let admin = server.admin_token.clone();
    service(&server, "checkout").await;
    let (ann, _) = crate::platform::access::user_with_token(&server, "ann@example.com").await;
    let (bob, _) = crate::platform::access::user_with_token(&server, "bob@example.com").await;
    server
        .post(
            &format!("{PROJECT}/incidents"),
            &admin,
            json!({"title": "Checkout slow", "severity": "SEV3"}),
        )
        .await;
    let patch = |body: Value| {
        let server = &server;
        let admin = admin.clone();
        async move {
            server
                .patch(&format!("{PROJECT}/incidents/1"), &admin, body)
                .await
        }
    };
    let changed = patch(
        json!({"title": "Checkout down", "severity": "SEV1", "commander": ann,
        "description": "Card payments time out after the 14:00 deploy",
        "assignees": [bob, ann, bob], "linked_services": ["checkout"],
        "custom_fields": {"customer_impact": "all EU customers", "revenue_at_risk": 12000}}),
    )
    .await;
    assert_eq!(changed.status, StatusCode::NO_CONTENT, "{}", changed.text);
    let shown = incident(&server, 1).await;
    assert_eq!(shown["title"], "Checkout down");
    assert_eq!(
        shown["description"], "Card payments time out after the 14:00 deploy",
        "{shown}"
    );
    assert_eq!(shown["severity"], "SEV1");
    assert_eq!(shown["commander"], ann.as_str());
    assert_eq!(
        shown["assignees"].as_array().unwrap().len(),
        2,
        "deduplicated"
    );
    assert_eq!(shown["linked_services"].as_array().unwrap().len(), 1);
    assert_eq!(shown["custom_fields"]["revenue_at_risk"], 12000);
    let last = shown["timeline"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["kind"], "incident.updated");
    assert_eq!(last["body"]["severity"], "SEV1");
    // null clears the commander; absent fields stay.
    assert_eq!(
        patch(json!({"commander": null})).await.status,
        StatusCode::NO_CONTENT
    );
    let cleared = incident(&server, 1).await;
    assert!(cleared.get("commander").is_none());
    assert_eq!(cleared["assignees"].as_array().unwrap().len(), 2);
    for (body, code) in [
        (
            json!({"commander": "01a20000-0000-7000-8000-000000000000"}),
            "unknown_user",
        ),
        (json!({"linked_services": ["nope"]}), "unknown_service"),
        (
            json!({"custom_fields": {"nested": {"no": 1}}}),
            "invalid_custom_fields",
        ),
        (json!({"severity": "SEV7"}), "invalid_severity"),
        (json!({"priority": "P1"}), "invalid_body"),
    ] {
        let reply = patch(body.clone()).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{body}: {}",
            reply.text
        );
        assert_eq!(reply.code(), code, "{body}");
    }

    // Action items.
    let added = server
        .post(
            &format!("{PROJECT}/incidents/1/action-items"),
            &admin,
            json!({"text": "add a load test for checkout", "assignee": bob}),
        )
        .await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.text);
    let done = server
        .patch(
            &format!("{PROJECT}/incidents/1/action-items/1"),
            &admin,
            json!({"done": true}),
        )
        .await;
    assert_eq!(done.status, StatusCode::NO_CONTENT);
    let missing = server
        .patch(
            &format!("{PROJECT}/incidents/1/action-items/9"),
            &admin,
            json!({"done": true}),
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let shown = incident(&server, 1).await;
    let items = shown["action_items"].clone();
    assert_eq!(items[0]["done"], true);
    assert_eq!(items[0]["assignee"], bob.as_str());
    let kinds: Vec<&str> = shown["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.ends_with(&["action_item.added", "action_item.done"]),
        "{kinds:?}"
    );
}
