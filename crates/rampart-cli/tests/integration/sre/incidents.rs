//! Incidents: by hand through their statuses with a timeline and notes; the commander,
//! assignees, linked services, custom fields and action items; incident data (alert
//! payload, title, timeline, integration credentials) resealed after key rotation on both
//! engines; and a tampered incident listed unreadable, refused and audited once.

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
    // Exactly the five names: these would read as numbers.
    for severity in ["SEV+2", "SEV02", "sev2"] {
        let bad = server
            .post(
                &format!("{PROJECT}/incidents"),
                &admin,
                json!({"title": "x", "severity": severity}),
            )
            .await;
        assert_eq!(bad.code(), "invalid_severity", "{severity}");
    }
    // An incident has one address: `+1`, `01` or a number beyond the store's name
    // nothing.
    for number in [
        "+1",
        "01",
        "1.0",
        "9223372036854775808",
        "18446744073709551617",
    ] {
        let reply = server
            .get(&format!("{PROJECT}/incidents/{number}"), &admin)
            .await;
        assert_eq!(
            (reply.status, reply.code()),
            (StatusCode::NOT_FOUND, "not_found"),
            "{number}: {}",
            reply.text
        );
    }
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
    let admin = server.admin_token.clone();
    let patched = server
        .patch(
            &format!("{PROJECT}/incidents/1"),
            &admin,
            json!({"custom_fields": {"customer": "Acme"}}),
        )
        .await;
    assert_eq!(patched.status, StatusCode::NO_CONTENT, "{}", patched.text);
    let added = server
        .post(
            &format!("{PROJECT}/incidents/1/action-items"),
            &admin,
            json!({"text": "add a payments canary"}),
        )
        .await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.text);
    let rotated = server
        .post(
            "/api/v1/keys/rotate",
            &admin,
            json!({"scope": "default/default"}),
        )
        .await;
    assert_eq!(rotated.status, StatusCode::OK);
    // Alert payload and dedup key; incident title, custom fields, action item and three
    // timeline entries (opened, updated, action item added); integration credentials.
    let moved = server.app().rewrap_rotated_data().await.unwrap();
    assert_eq!(moved, 9);
    let shown = incident(&server, 1).await;
    assert_eq!(shown["title"], "Payments slow");
    assert_eq!(shown["custom_fields"]["customer"], "Acme");
    assert_eq!(shown["action_items"][0]["text"], "add a payments canary");
    assert_eq!(shown["alerts"][0]["dedup_key"], "k");
    // The blind index of the dedup key outlives the rotation: a repeat is the same
    // alert, a resolve resolves it.
    let repeat = send(
        &server,
        &hook,
        &generic("k", "trigger", "Payments slow"),
        &[],
    )
    .await;
    assert_eq!(repeat.body["alerts"][0]["outcome"], "deduplicated");
    let again = send(&server, &hook, &generic("k", "resolve", ""), &[]).await;
    assert_eq!(again.status, StatusCode::ACCEPTED, "credentials still open");
    assert_eq!(again.body["alerts"][0]["outcome"], "resolved");
    assert_eq!(incident(&server, 1).await["status"], "resolved");
}

/// Incidents page by number, newest first: `next_cursor` is a number and following it
/// reads every incident once; a cursor this list never gives (a UUID, `+1`, a number
/// beyond the store's) is 400 `invalid_cursor`, never a 500.
async fn incidents_page_by_number(start: impl AsyncFnOnce() -> Option<TestServer>) {
    let Some(server) = start().await else {
        return;
    };
    let admin = server.admin_token.clone();
    for n in 1..=5 {
        let created = server
            .post(
                &format!("{PROJECT}/incidents"),
                &admin,
                json!({"title": format!("Incident {n}"), "severity": "SEV3"}),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    }
    let mut numbers = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = server
            .get(
                &format!("{PROJECT}/incidents?limit=2&cursor={cursor}"),
                &admin,
            )
            .await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        for item in page.body["items"].as_array().unwrap() {
            numbers.push(item["number"].as_u64().unwrap());
        }
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(numbers, [5, 4, 3, 2, 1]);
    for cursor in [
        "00000000-0000-0000-0000-000000000000",
        "%2B1",
        "01",
        "9223372036854775808",
    ] {
        let reply = server
            .get(&format!("{PROJECT}/incidents?cursor={cursor}"), &admin)
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
async fn incidents_page_by_number_on_sqlite() {
    incidents_page_by_number(async || Some(TestServer::start().await)).await;
}

#[tokio::test]
async fn incidents_page_by_number_on_postgres() {
    incidents_page_by_number(TestServer::start_postgres).await;
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
    // The created item comes back as JSON, with the number later calls use.
    assert_eq!(
        added.headers["content-type"], "application/json",
        "{:?}",
        added.headers
    );
    assert_eq!(added.body["item"], 1, "{}", added.text);
    assert_eq!(added.body["text"], "add a load test for checkout");
    assert_eq!(added.body["assignee"], bob.as_str());
    assert_eq!(added.body["done"], false);
    assert_eq!(added.body["created_at"], added.body["updated_at"]);
    let second = server
        .post(
            &format!("{PROJECT}/incidents/1/action-items"),
            &admin,
            json!({"text": "write the postmortem"}),
        )
        .await;
    assert_eq!(second.status, StatusCode::CREATED, "{}", second.text);
    assert_eq!(second.body["item"], 2, "{}", second.text);
    assert!(second.body.get("assignee").is_none(), "{}", second.text);
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

/// Three incidents, the second one's title ciphertext replaced by the first one's (sealed
/// for another incident, it does not open): the list still answers with all three, the
/// damaged one marked; its detail and every change to it are refused with
/// `integrity_violation` and change nothing; the others work as before; the violation is
/// audited once, also across a restart.
async fn a_tampered_incident_is_unreadable(start: impl AsyncFnOnce() -> Option<TestServer>) {
    let Some(mut server) = start().await else {
        return;
    };
    let admin = server.admin_token.clone();
    let mut ids = Vec::new();
    for title in ["Checkout errors", "Disk full", "Slow search"] {
        let created = server
            .post(
                &format!("{PROJECT}/incidents"),
                &admin,
                json!({"title": title, "severity": "SEV2"}),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
        ids.push(created.body["id"].as_str().unwrap().to_owned());
    }
    let (first, damaged) = (&ids[0], &ids[1]);
    let store = server.app().store();
    assert_eq!(
        store
            .execute_raw_for_tests(&format!(
                "UPDATE incidents SET title_sealed = \
                 (SELECT title_sealed FROM incidents WHERE id = '{first}') WHERE id = '{damaged}'"
            ))
            .await
            .unwrap(),
        1
    );

    let list = async |server: &TestServer| {
        let reply = server
            .get(&format!("{PROJECT}/incidents"), &server.admin_token)
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        let items = reply.body["items"].as_array().unwrap().clone();
        let shown: Vec<(u64, &str, bool)> = items
            .iter()
            .map(|item| {
                (
                    item["number"].as_u64().unwrap(),
                    item["title"].as_str().unwrap(),
                    item["unreadable"].as_bool().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            shown,
            [
                (3, "Slow search", false),
                (2, "", true),
                (1, "Checkout errors", false)
            ],
            "{}",
            reply.text
        );
        assert_eq!(items[1]["status"], "triggered");
    };
    list(&server).await;
    list(&server).await;

    // Its detail and every change are refused; the other incidents work.
    let refused = |reply: rampart_testkit::Reply, what: &str| {
        assert_eq!(
            (reply.status, reply.code()),
            (StatusCode::INTERNAL_SERVER_ERROR, "integrity_violation"),
            "{what}: {}",
            reply.text
        );
        assert!(!reply.text.contains("Checkout"), "{what}: {}", reply.text);
    };
    let two = format!("{PROJECT}/incidents/2");
    refused(server.get(&two, &admin).await, "detail");
    refused(
        server
            .post(
                &format!("{two}/status"),
                &admin,
                json!({"status": "acknowledged"}),
            )
            .await,
        "acknowledge",
    );
    refused(
        server
            .patch(
                &two,
                &admin,
                json!({"severity": "SEV1", "title": "Renamed"}),
            )
            .await,
        "update",
    );
    refused(
        server
            .post(
                &format!("{two}/notes"),
                &admin,
                json!({"text": "still there"}),
            )
            .await,
        "note",
    );
    refused(
        server
            .post(
                &format!("{two}/action-items"),
                &admin,
                json!({"text": "restore from backup"}),
            )
            .await,
        "action item",
    );
    refused(
        server
            .patch(
                &format!("{two}/action-items/1"),
                &admin,
                json!({"done": true}),
            )
            .await,
        "action item done",
    );
    assert_eq!(
        server
            .post(
                &format!("{PROJECT}/incidents/1/status"),
                &admin,
                json!({"status": "acknowledged"}),
            )
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let kinds = |shown: &Value| -> Vec<String> {
        shown["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .map(|entry| entry["kind"].as_str().unwrap().to_owned())
            .collect()
    };
    let one = incident(&server, 1).await;
    assert_eq!(one["status"], "acknowledged");
    assert_eq!(kinds(&one), ["incident.opened", "status.acknowledged"]);
    let three = incident(&server, 3).await;
    assert_eq!(three["status"], "triggered");
    assert_eq!(kinds(&three), ["incident.opened"]);

    // Nothing was written to the damaged incident (counted with no-op updates: the
    // number of rows that match).
    let matching = async |sql: String| store.execute_raw_for_tests(&sql).await.unwrap();
    assert_eq!(
        matching(format!(
            "UPDATE incidents SET status = status WHERE id = '{damaged}' \
             AND status = 'triggered' AND severity = 'SEV2' AND acknowledged_at IS NULL"
        ))
        .await,
        1,
        "status and severity unchanged"
    );
    assert_eq!(
        matching(format!(
            "UPDATE incident_events SET kind = kind WHERE incident_id = '{damaged}'"
        ))
        .await,
        1,
        "only the opening entry on its timeline"
    );
    assert_eq!(
        matching(format!(
            "UPDATE incident_action_items SET done = done WHERE incident_id = '{damaged}'"
        ))
        .await,
        0,
        "no action item"
    );

    // Audited once: two lists, a detail and six refused changes, then a restart and
    // another list, wrote one event.
    server.restart().await;
    list(&server).await;
    let admin = server.admin_token.clone();
    let events = server
        .get(
            "/api/v1/audit-events?action=incident.integrity_violation",
            &admin,
        )
        .await;
    let items = events.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", events.text);
    assert_eq!(items[0]["resource_id"], damaged.as_str());
    assert_eq!(items[0]["outcome"], "failure");
    assert_eq!(items[0]["details"]["field"], "title");
    let changes = server
        .get("/api/v1/audit-events?action=incident.status", &admin)
        .await;
    assert_eq!(
        changes.body["items"].as_array().unwrap().len(),
        1,
        "only the good incident's acknowledgement: {}",
        changes.text
    );
}

#[tokio::test]
async fn a_tampered_incident_is_unreadable_on_sqlite() {
    a_tampered_incident_is_unreadable(async || Some(TestServer::start().await)).await;
}

#[tokio::test]
async fn a_tampered_incident_is_unreadable_on_postgres() {
    a_tampered_incident_is_unreadable(TestServer::start_postgres).await;
}

/// `rampart incident action-item`: added with an assignee named by email, marked done and
/// reopened, each printing the item as it now is; `incident show` lists them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn action_item_commands_add_mark_done_and_reopen() {
    let server = TestServer::start().await;
    let (ann, _) = super::user(&server, "ann@example.com").await;
    let cli = crate::cli::Cli::new(&server, &server.admin_token);
    cli.run(&[
        "incident",
        "create",
        "--title",
        "Checkout is slow",
        "--severity",
        "SEV2",
    ]);
    let added = cli.json(&[
        "incident",
        "action-item",
        "add",
        "1",
        "add a load test",
        "--assignee",
        "ann@example.com",
    ]);
    assert_eq!(
        (
            added[0]["item"].as_u64(),
            added[0]["assignee"].as_str(),
            added[0]["done"].as_bool()
        ),
        (Some(1), Some(ann.as_str()), Some(false))
    );
    let second = cli.run(&[
        "incident",
        "action-item",
        "add",
        "1",
        "write the postmortem",
    ]);
    assert!(
        second.starts_with("ITEM") && second.contains("write the postmortem"),
        "{second}"
    );
    let done = cli.json(&["incident", "action-item", "done", "1", "1"]);
    assert_eq!(done[0]["done"], true);
    let shown = cli.run(&["incident", "show", "1"]);
    assert!(
        shown.contains("action item 1 [x] add a load test (assignee: Test User <ann@example.com>)")
            && shown.contains("action item 2 [ ] write the postmortem"),
        "{shown}"
    );
    let reopened = cli.json(&["incident", "action-item", "reopen", "1", "1"]);
    assert_eq!(reopened[0]["done"], false);
    assert!(
        cli.fails(&["incident", "action-item", "done", "1", "9"])
            .contains("not_found (404)")
    );
}

/// A SEV3 incident made by hand, titled "Round {round}"; its API path.
async fn round_incident(server: &TestServer, round: usize) -> String {
    let created = server
        .post(
            &format!("{PROJECT}/incidents"),
            &server.admin_token,
            json!({"title": format!("Round {round}"), "severity": "SEV3"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    format!(
        "{PROJECT}/incidents/{}",
        created.body["number"].as_u64().unwrap()
    )
}

/// Changes to different parts of one incident made at the same moment all stay: each
/// change holds the incident's row and reads what it keeps inside its transaction, so
/// none writes back a stale copy of another's field.
async fn concurrent_changes_to_an_incident_all_stay(
    start: impl AsyncFnOnce() -> Option<TestServer>,
) {
    let Some(server) = start().await else {
        return;
    };
    let admin = server.admin_token.clone();
    let ann = server
        .create_user("ann@example.com", "harbour amber violet 7919")
        .await;
    for round in 0..12 {
        let path = round_incident(&server, round).await;
        let (commander, assignees, severity, custom) = tokio::join!(
            server.patch(&path, &admin, json!({"commander": ann})),
            server.patch(&path, &admin, json!({"assignees": [ann]})),
            server.patch(&path, &admin, json!({"severity": "SEV1"})),
            server.patch(&path, &admin, json!({"custom_fields": {"region": "eu"}})),
        );
        for reply in [commander, assignees, severity, custom] {
            assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text);
        }
        let incident = server.get(&path, &admin).await;
        assert_eq!(
            (
                &incident.body["commander"],
                &incident.body["assignees"],
                &incident.body["severity"],
                &incident.body["custom_fields"],
            ),
            (
                &json!(ann),
                &json!([ann]),
                &json!("SEV1"),
                &json!({"region": "eu"})
            ),
            "round {round}: {}",
            incident.text
        );
    }
}

#[tokio::test]
async fn concurrent_changes_to_an_incident_all_stay_on_sqlite() {
    concurrent_changes_to_an_incident_all_stay(async || Some(TestServer::start().await)).await;
}

#[tokio::test]
async fn concurrent_changes_to_an_incident_all_stay_on_postgres() {
    concurrent_changes_to_an_incident_all_stay(TestServer::start_postgres).await;
}

/// A change made from a read of the incident (`expected`) applies only if what it was
/// read from still holds, checked with the incident held: of two changes to the
/// severity made from the same read at the same moment, exactly one applies and the
/// other gets 409 `incident_changed_since` naming the field; a stale title is refused
/// and changes nothing; a description read with CRLF line breaks matches.
async fn changes_made_from_a_stale_read_are_refused(
    start: impl AsyncFnOnce() -> Option<TestServer>,
) {
    let Some(server) = start().await else {
        return;
    };
    let admin = server.admin_token.clone();
    for round in 0..8 {
        let path = round_incident(&server, round).await;
        let described = server
            .patch(
                &path,
                &admin,
                json!({"description": "first line\nsecond line"}),
            )
            .await;
        assert_eq!(
            described.status,
            StatusCode::NO_CONTENT,
            "{}",
            described.text
        );
        let (one, two) = tokio::join!(
            server.patch(
                &path,
                &admin,
                json!({"severity": "SEV1", "expected": {"severity": "SEV3"}})
            ),
            server.patch(
                &path,
                &admin,
                json!({"severity": "SEV2", "expected": {"severity": "SEV3"}})
            ),
        );
        let mut statuses = [one.status, two.status];
        statuses.sort();
        assert_eq!(
            statuses,
            [StatusCode::NO_CONTENT, StatusCode::CONFLICT],
            "round {round}: {} / {}",
            one.text,
            two.text
        );
        let refused = if one.status == StatusCode::CONFLICT {
            &one
        } else {
            &two
        };
        assert_eq!(
            refused.body["error"]["code"], "incident_changed_since",
            "{}",
            refused.text
        );
        assert!(refused.text.contains("severity"), "{}", refused.text);
        let won = if one.status == StatusCode::NO_CONTENT {
            "SEV1"
        } else {
            "SEV2"
        };
        assert_eq!(server.get(&path, &admin).await.body["severity"], won);
    }
    let path = format!("{PROJECT}/incidents/1");
    let stale = server
        .patch(
            &path,
            &admin,
            json!({"title": "Mine", "expected": {"title": "Not what it says", "commander": null}}),
        )
        .await;
    assert_eq!(stale.status, StatusCode::CONFLICT, "{}", stale.text);
    assert!(stale.text.contains("title"), "{}", stale.text);
    assert!(!stale.text.contains("commander"), "{}", stale.text);
    assert_eq!(server.get(&path, &admin).await.body["title"], "Round 0");
    let fresh = server
        .patch(
            &path,
            &admin,
            json!({"title": "Mine", "description": "one line",
                   "expected": {"title": "Round 0", "description": "first line\r\nsecond line",
                                "commander": null, "assignees": []}}),
        )
        .await;
    assert_eq!(fresh.status, StatusCode::NO_CONTENT, "{}", fresh.text);
    let incident = server.get(&path, &admin).await;
    assert_eq!(
        (&incident.body["title"], &incident.body["description"]),
        (&json!("Mine"), &json!("one line")),
        "{}",
        incident.text
    );
    let unknown = server
        .patch(
            &path,
            &admin,
            json!({"title": "X", "expected": {"owner": "me"}}),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST, "{}", unknown.text);
    // An expected severity that is no level is refused as a new one would be.
    let sev3 = round_incident(&server, 8).await;
    let no_level = server
        .patch(
            &sev3,
            &admin,
            json!({"severity": "SEV2", "expected": {"severity": "sev3"}}),
        )
        .await;
    assert_eq!(
        no_level.status,
        StatusCode::BAD_REQUEST,
        "{}",
        no_level.text
    );
    assert_eq!(no_level.body["error"]["code"], "invalid_severity");
    assert_eq!(server.get(&sev3, &admin).await.body["severity"], "SEV3");
}

#[tokio::test]
async fn changes_made_from_a_stale_read_are_refused_on_sqlite() {
    changes_made_from_a_stale_read_are_refused(async || Some(TestServer::start().await)).await;
}

#[tokio::test]
async fn changes_made_from_a_stale_read_are_refused_on_postgres() {
    changes_made_from_a_stale_read_are_refused(TestServer::start_postgres).await;
}
