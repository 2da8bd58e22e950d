//! Alerts: `POST /hooks/v1/{id}` in every format and auth mode (bearer, Basic, HMAC with
//! its freshness window, source networks) and its limits with their codes and the rate
//! limit; dedup and the alert lifecycle (created, deduplicated, resolved, dropped), alerts
//! opening, joining and auto-resolving incidents, Alertmanager groups deduplicated per
//! fingerprint, concurrent identical triggers making one alert and incidents opened
//! together numbered without gaps, on both engines. The
//! alerts API on both engines: the list with each filter and pages, one alert with its
//! payload, acknowledging and resolving by hand (audited, auto-resolving the incident like
//! a sender's resolve), refusals, and another project's alert answering 404.

use rampart_testkit::{StatusCode, TestServer};
use serde_json::{Value, json};

use super::{Hook, PROJECT, generic, incident, integration, send, service};

#[tokio::test]
async fn alerts_dedup_open_incidents_and_resolve_them() {
    let server = TestServer::start().await;
    service(&server, "checkout").await;
    let hook = integration(
        &server,
        "checkout",
        json!({"name": "Generic", "format": "generic", "auth_mode": "bearer"}),
    )
    .await;
    assert!(hook.token.as_deref().unwrap().starts_with("rmp_whk_"));

    let first = send(
        &server,
        &hook,
        &generic("db-down", "trigger", "Database down"),
        &[],
    )
    .await;
    assert_eq!(first.status, StatusCode::ACCEPTED, "{}", first.body);
    assert_eq!(first.body["alerts"][0]["outcome"], "created");
    assert_eq!(first.body["alerts"][0]["incident"], 1);
    // Redelivery changes nothing.
    let again = send(
        &server,
        &hook,
        &generic("db-down", "trigger", "Database down"),
        &[],
    )
    .await;
    assert_eq!(again.body["alerts"][0]["outcome"], "deduplicated");
    let opened = incident(&server, 1).await;
    assert_eq!(opened["title"], "Database down");
    assert_eq!(opened["severity"], "SEV1");
    assert_eq!(opened["status"], "triggered");
    assert_eq!(opened["alerts"].as_array().unwrap().len(), 1);
    assert_eq!(opened["alerts"][0]["event_count"], 2);
    assert_eq!(opened["timeline"][0]["kind"], "incident.opened");

    // Resolve: the alert resolves, and with it (auto-resolve) the incident.
    let resolved = send(&server, &hook, &generic("db-down", "resolve", ""), &[]).await;
    assert_eq!(resolved.body["alerts"][0]["outcome"], "resolved");
    let closed = incident(&server, 1).await;
    assert_eq!(closed["status"], "resolved");
    assert_eq!(closed["alerts"][0]["status"], "resolved");
    // A resolve with no open alert is dropped.
    let dropped = send(&server, &hook, &generic("db-down", "resolve", ""), &[]).await;
    assert_eq!(dropped.status, StatusCode::ACCEPTED);
    assert_eq!(dropped.body["alerts"][0]["outcome"], "dropped");
    // A trigger after the resolve is a new alert and a new incident.
    let retrigger = send(
        &server,
        &hook,
        &generic("db-down", "trigger", "Database down again"),
        &[],
    )
    .await;
    assert_eq!(retrigger.body["alerts"][0]["outcome"], "created");
    assert_eq!(retrigger.body["alerts"][0]["incident"], 2);
    // The same key on another integration is another alert.
    let other = integration(
        &server,
        "checkout",
        json!({"name": "Other", "format": "generic", "auth_mode": "bearer"}),
    )
    .await;
    let elsewhere = send(
        &server,
        &other,
        &generic("db-down", "trigger", "Database down"),
        &[],
    )
    .await;
    assert_eq!(elsewhere.body["alerts"][0]["outcome"], "created");
    // Same service, same group: it joins the group's open incident.
    assert_eq!(elsewhere.body["alerts"][0]["incident"], 2);
    let joined = incident(&server, 2).await;
    assert_eq!(joined["alerts"].as_array().unwrap().len(), 2);
    assert_eq!(joined["timeline"][1]["kind"], "alerts.attached");
    assert_eq!(
        joined["timeline"][1]["body"]["alerts"][0]["dedup_key"],
        "db-down"
    );

    let listed = server
        .get(&format!("{PROJECT}/incidents"), &server.admin_token)
        .await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 2);
    assert_eq!(listed.body["items"][0]["number"], 2);
    let audited = server
        .get(
            "/api/v1/audit-events?action=alert.ingest",
            &server.admin_token,
        )
        .await;
    assert_eq!(audited.body["items"].as_array().unwrap().len(), 6);
    // Payloads and titles are sealed: the database file never holds them in clear.
    let db = std::fs::read(server.config.server.data_dir.join("rampart.db")).unwrap();
    let wal =
        std::fs::read(server.config.server.data_dir.join("rampart.db-wal")).unwrap_or_default();
    for bytes in [db, wal] {
        assert!(
            !bytes
                .windows(b"Database down".len())
                .any(|w| w == b"Database down"),
            "a summary reached the database in clear"
        );
    }
}

fn alertmanager(status: &str, alerts: Value, truncated: u64) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "version": "4", "groupKey": "{}:{alertname=\"HighLatency\"}", "truncatedAlerts": truncated,
        "status": status, "receiver": "rampart", "groupLabels": {"alertname": "HighLatency"},
        "commonLabels": {"alertname": "HighLatency"}, "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093", "alerts": alerts
    }))
    .unwrap()
}

fn am_alert(status: &str, instance: &str, fingerprint: &str) -> Value {
    json!({"status": status, "labels": {"alertname": "HighLatency", "instance": instance, "severity": "warning"},
           "annotations": {"summary": "p99 latency above 2s"}, "startsAt": "2026-11-23T10:00:00Z",
           "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "http://prometheus/graph",
           "fingerprint": fingerprint})
}

#[tokio::test]
async fn alertmanager_groups_are_deduplicated_per_fingerprint() {
    let server = TestServer::start().await;
    service(&server, "web").await;
    let hook = integration(
        &server,
        "web",
        json!({"name": "AM", "format": "alertmanager", "auth_mode": "bearer"}),
    )
    .await;
    // Two alerts with the same summary: two alerts (fingerprints), one incident (group).
    let body = alertmanager(
        "firing",
        json!([
            am_alert("firing", "web-1", "aaaa1111"),
            am_alert("firing", "web-2", "bbbb2222")
        ]),
        2,
    );
    let reply = send(&server, &hook, &body, &[]).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
    assert_eq!(reply.body["truncated_alerts"], 2);
    let outcomes: Vec<&str> = reply.body["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, vec!["created", "created"]);
    // Repeated sends (Alertmanager's repeat_interval) change nothing.
    let repeated = send(&server, &hook, &body, &[]).await;
    assert!(
        repeated.body["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["outcome"] == "deduplicated")
    );
    let opened = incident(&server, 1).await;
    assert_eq!(opened["alerts"].as_array().unwrap().len(), 2);
    // Mixed: one resolves, one still fires; the incident stays open.
    let mixed = alertmanager(
        "firing",
        json!([
            am_alert("resolved", "web-1", "aaaa1111"),
            am_alert("firing", "web-2", "bbbb2222")
        ]),
        0,
    );
    let reply = send(&server, &hook, &mixed, &[]).await;
    assert_eq!(reply.body["alerts"][0]["outcome"], "resolved");
    assert_eq!(reply.body["alerts"][1]["outcome"], "deduplicated");
    assert_eq!(incident(&server, 1).await["status"], "triggered");
    let done = alertmanager(
        "resolved",
        json!([am_alert("resolved", "web-2", "bbbb2222")]),
        0,
    );
    send(&server, &hook, &done, &[]).await;
    assert_eq!(incident(&server, 1).await["status"], "resolved");
    // Only bodies that cannot be read get a 4xx.
    let garbage = send(&server, &hook, b"{\"alerts\": 7}", &[]).await;
    assert_eq!(garbage.status, StatusCode::BAD_REQUEST);
    assert_eq!(garbage.code(), "invalid_payload");
}

async fn concurrent_triggers(start: impl AsyncFnOnce() -> Option<TestServer>) {
    let Some(server) = start().await else {
        return;
    };
    service(&server, "api").await;
    let hook = integration(
        &server,
        "api",
        json!({"name": "PD", "format": "pagerduty", "auth_mode": "bearer"}),
    )
    .await;
    let body = serde_json::to_vec(&json!({"routing_key": "x", "event_action": "trigger",
        "dedup_key": "same", "payload": {"summary": "CPU hot", "source": "api-1", "severity": "error"}}))
    .unwrap();
    let replies =
        futures_util::future::join_all((0..8).map(|_| send(&server, &hook, &body, &[]))).await;
    assert!(replies.iter().all(|r| r.status == StatusCode::ACCEPTED));
    let created = replies
        .iter()
        .filter(|r| r.body["alerts"][0]["outcome"] == "created")
        .count();
    assert_eq!(created, 1, "exactly one alert");
    let incidents = server
        .get(&format!("{PROJECT}/incidents"), &server.admin_token)
        .await;
    assert_eq!(incidents.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(incident(&server, 1).await["alerts"][0]["event_count"], 8);
}

#[tokio::test]
async fn concurrent_identical_triggers_make_one_alert_on_sqlite() {
    concurrent_triggers(async || Some(TestServer::start().await)).await;
}

#[tokio::test]
async fn concurrent_identical_triggers_make_one_alert_on_postgres() {
    concurrent_triggers(TestServer::start_postgres).await;
}

/// Deliveries that arrive together commit in one batch, whose incidents are numbered at
/// its end: each sender is told the number its incident finally got, the numbers run
/// 1..=N without gaps or repeats, and a repeat (deduplicated) joins the same alert.
async fn concurrent_new_incidents(start: impl AsyncFnOnce() -> Option<TestServer>) {
    let Some(server) = start().await else {
        return;
    };
    service(&server, "api").await;
    let hook = integration(
        &server,
        "api",
        json!({"name": "Generic", "format": "generic", "auth_mode": "bearer"}),
    )
    .await;
    let keys: Vec<String> = (0..12).map(|n| format!("key-{n}")).collect();
    let bodies: Vec<(String, Vec<u8>)> = keys
        .iter()
        .chain(keys.iter())
        .map(|key| (key.clone(), generic(key, "trigger", &format!("{key} down"))))
        .collect();
    let replies = futures_util::future::join_all(
        bodies
            .iter()
            .map(|(_, body)| send(&server, &hook, body, &[])),
    )
    .await;
    let mut number_of: std::collections::HashMap<&str, u64> = Default::default();
    for ((key, _), reply) in bodies.iter().zip(&replies) {
        assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
        let alert = &reply.body["alerts"][0];
        if alert["outcome"] == "created" {
            let number = alert["incident"].as_u64().unwrap();
            assert!(
                number_of.insert(key.as_str(), number).is_none(),
                "{key} created twice"
            );
        } else {
            assert_eq!(alert["outcome"], "deduplicated", "{}", reply.body);
        }
    }
    let mut numbers: Vec<u64> = number_of.values().copied().collect();
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=12).collect::<Vec<u64>>());
    for (key, number) in number_of {
        let shown = incident(&server, number).await;
        assert_eq!(shown["alerts"][0]["dedup_key"], key, "incident {number}");
        assert_eq!(shown["alerts"][0]["event_count"], 2, "incident {number}");
    }
}

#[tokio::test]
async fn incidents_opened_together_are_numbered_without_gaps_on_sqlite() {
    concurrent_new_incidents(async || Some(TestServer::start().await)).await;
}

#[tokio::test]
async fn incidents_opened_together_are_numbered_without_gaps_on_postgres() {
    concurrent_new_incidents(TestServer::start_postgres).await;
}

#[tokio::test]
async fn webhooks_authenticate_and_respect_their_limits() {
    let server = TestServer::start().await;
    service(&server, "svc").await;
    let bearer = integration(
        &server,
        "svc",
        json!({"name": "B", "format": "generic", "auth_mode": "bearer", "rate_limit_per_minute": 5}),
    )
    .await;
    let ok = generic("k", "trigger", "s");
    // No credentials, a wrong token, an unknown integration.
    let anonymous = Hook {
        path: bearer.path.clone(),
        token: None,
        basic: None,
        secret: None,
    };
    assert_eq!(
        send(&server, &anonymous, &ok, &[]).await.status,
        StatusCode::UNAUTHORIZED
    );
    let forged = Hook {
        path: bearer.path.clone(),
        token: Some("rmp_whk_0000000000000000000000000000000_000000".into()),
        basic: None,
        secret: None,
    };
    assert_eq!(
        send(&server, &forged, &ok, &[]).await.status,
        StatusCode::UNAUTHORIZED
    );
    let unknown = Hook {
        path: "/hooks/v1/01a20000-0000-7000-8000-000000000000".into(),
        token: bearer.token.clone(),
        basic: None,
        secret: None,
    };
    assert_eq!(
        send(&server, &unknown, &ok, &[]).await.status,
        StatusCode::NOT_FOUND
    );
    // Limits, each with its code.
    let long_summary = generic("k2", "trigger", &"x".repeat(1025));
    let long_key = generic(&"k".repeat(256), "trigger", "s");
    for (body, status, code) in [
        (long_summary, StatusCode::BAD_REQUEST, "summary_too_long"),
        (long_key, StatusCode::BAD_REQUEST, "dedup_key_too_long"),
        (
            vec![b' '; 600 * 1024],
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
    ] {
        let reply = send(&server, &bearer, &body, &[]).await;
        assert_eq!((reply.status, reply.code()), (status, code));
    }
    // The fifth request of the minute is the last accepted one (the 401s and 404 above
    // did not count; three 4xx did).
    let accepted = send(&server, &bearer, &ok, &[]).await;
    assert_eq!(accepted.status, StatusCode::ACCEPTED, "{}", accepted.body);
    let mut limited = None;
    for _ in 0..3 {
        let reply = send(&server, &bearer, &ok, &[]).await;
        if reply.status == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(reply);
            break;
        }
    }
    let limited = limited.expect("a 429 within the minute");
    assert_eq!(limited.code(), "rate_limited");
    let retry: u64 = limited.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry));

    // Basic auth.
    let basic = integration(
        &server,
        "svc",
        json!({"name": "Basic", "format": "generic", "auth_mode": "basic"}),
    )
    .await;
    assert_eq!(
        send(&server, &basic, &ok, &[]).await.status,
        StatusCode::ACCEPTED
    );
    let wrong = Hook {
        path: basic.path.clone(),
        token: None,
        basic: Some(("rampart".into(), "nope".into())),
        secret: None,
    };
    assert_eq!(
        send(&server, &wrong, &ok, &[]).await.status,
        StatusCode::UNAUTHORIZED
    );

    // HMAC signatures: valid, stale, wrong.
    let hmac = integration(
        &server,
        "svc",
        json!({"name": "Signed", "format": "generic", "auth_mode": "hmac"}),
    )
    .await;
    let secret = hmac.secret.clone().unwrap();
    let now = server.app().now().as_second();
    let signed =
        |at: i64, key: &str| rampart_crypto::webhook_signature::sign(key.as_bytes(), at, &ok);
    let good = send(
        &server,
        &hmac,
        &ok,
        &[("x-rampart-signature", signed(now, &secret))],
    )
    .await;
    assert_eq!(good.status, StatusCode::ACCEPTED, "{}", good.body);
    let stale = send(
        &server,
        &hmac,
        &ok,
        &[("x-rampart-signature", signed(now - 600, &secret))],
    )
    .await;
    assert_eq!(
        (stale.status, stale.code()),
        (StatusCode::UNAUTHORIZED, "signature_expired")
    );
    let bad = send(
        &server,
        &hmac,
        &ok,
        &[("x-rampart-signature", signed(now, "not-it"))],
    )
    .await;
    assert_eq!(
        (bad.status, bad.code()),
        (StatusCode::UNAUTHORIZED, "signature_invalid")
    );
    let unsigned = send(&server, &hmac, &ok, &[]).await;
    assert_eq!(unsigned.code(), "signature_required");

    // A source network that leaves the sender out.
    let fenced = integration(
        &server,
        "svc",
        json!({"name": "Fenced", "format": "generic", "auth_mode": "bearer", "source_cidrs": ["10.0.0.0/8"]}),
    )
    .await;
    let refused = send(&server, &fenced, &ok, &[]).await;
    assert_eq!(
        (refused.status, refused.code()),
        (StatusCode::FORBIDDEN, "source_not_allowed")
    );
    let refusals = server
        .get(
            "/api/v1/audit-events?action=webhook.refused",
            &server.admin_token,
        )
        .await;
    assert!(
        refusals.body["items"].as_array().unwrap().len() >= 5,
        "{}",
        refusals.text
    );
}

/// Two deliveries of one Alertmanager group whose `groupKey` is longer than an index row
/// may hold (its group labels carry long values): one incident, on `server`'s engine.
async fn a_long_group_key_opens_one_incident(server: &TestServer) {
    service(server, "web").await;
    let hook = integration(
        server,
        "web",
        json!({"name": "AM", "format": "alertmanager", "auth_mode": "bearer"}),
    )
    .await;
    let group_key = format!(
        "{{}}:{{alertname=\"HighLatency\", pods=\"{}\"}}",
        "p".repeat(3000)
    );
    for fingerprint in ["aaaa1111", "bbbb2222"] {
        let mut body: Value = serde_json::from_slice(&alertmanager(
            "firing",
            json!([am_alert("firing", fingerprint, fingerprint)]),
            0,
        ))
        .unwrap();
        body["groupKey"] = json!(group_key);
        let reply = send(server, &hook, &serde_json::to_vec(&body).unwrap(), &[]).await;
        assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
        assert_eq!(reply.body["alerts"][0]["outcome"], "created");
    }
    let opened = incident(server, 1).await;
    assert_eq!(
        opened["alerts"].as_array().unwrap().len(),
        2,
        "one incident"
    );
    let second = server
        .get(&format!("{PROJECT}/incidents/2"), &server.admin_token)
        .await;
    assert_eq!(second.status, StatusCode::NOT_FOUND, "no second incident");
}

#[tokio::test]
async fn a_group_key_longer_than_an_index_row_opens_one_incident_on_both_engines() {
    a_long_group_key_opens_one_incident(&TestServer::start().await).await;
    match TestServer::start_postgres().await {
        Some(server) => a_long_group_key_opens_one_incident(&server).await,
        None => eprintln!("RAMPART_TEST_DATABASE_URL is not set: PostgreSQL half skipped"),
    }
}

async fn alerts_api(server: &TestServer) {
    service(server, "checkout").await;
    service(server, "search").await;
    let generic_hook = json!({"name": "Generic", "format": "generic", "auth_mode": "bearer"});
    let checkout = integration(server, "checkout", generic_hook.clone()).await;
    let search = integration(server, "search", generic_hook).await;
    let before = server
        .get(&format!("{PROJECT}/alerts"), &server.admin_token)
        .await;
    assert_eq!(before.status, StatusCode::OK, "{}", before.text);
    assert_eq!(before.body["items"], json!([]));
    let since = "2020-01-01T00:00:00Z";
    let down = send(
        server,
        &checkout,
        &generic("db-down", "trigger", "Database down"),
        &[],
    )
    .await;
    assert_eq!(down.body["alerts"][0]["incident"], 1, "{}", down.body);
    let down_id = down.body["alerts"][0]["alert_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let slow = send(
        server,
        &search,
        &generic("slow", "trigger", "Search slow"),
        &[],
    )
    .await;
    assert_eq!(slow.body["alerts"][0]["incident"], 2, "{}", slow.body);
    let slow_id = slow.body["alerts"][0]["alert_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let admin = &server.admin_token;
    let keys = |reply: &rampart_testkit::Reply| -> Vec<String> {
        reply.body["items"]
            .as_array()
            .unwrap_or_else(|| panic!("{}", reply.text))
            .iter()
            .map(|a| a["dedup_key"].as_str().unwrap().to_owned())
            .collect()
    };
    let list = async |query: &str| server.get(&format!("{PROJECT}/alerts{query}"), admin).await;

    // The list, newest first, with its service and incident.
    let all = list("").await;
    assert_eq!(keys(&all), ["slow", "db-down"]);
    assert_eq!(all.body["items"][0]["service"], "search");
    assert_eq!(all.body["items"][0]["incident"], 2);
    assert_eq!(all.body["items"][1]["status"], "triggered");
    assert!(
        all.body["items"][1].get("payload").is_none(),
        "payloads in the detail only"
    );
    // Pages.
    let first = list("?limit=1").await;
    assert_eq!(keys(&first), ["slow"]);
    let cursor = first.body["next_cursor"].as_str().unwrap().to_owned();
    let second = list(&format!("?limit=1&cursor={cursor}")).await;
    assert_eq!(keys(&second), ["db-down"]);
    assert!(second.body["next_cursor"].is_null());
    // Filters.
    assert_eq!(keys(&list("?service=search").await), ["slow"]);
    assert_eq!(keys(&list("?status=triggered").await), ["slow", "db-down"]);
    assert_eq!(keys(&list("?status=resolved").await), Vec::<String>::new());
    assert_eq!(
        keys(&list(&format!("?since={since}")).await),
        ["slow", "db-down"]
    );
    assert_eq!(
        keys(&list("?since=2999-01-01T00:00:00Z").await),
        Vec::<String>::new()
    );
    for (query, code) in [
        ("?since=yesterday", "invalid_time"),
        ("?status=open", "invalid_status"),
        ("?service=nope", "unknown_service"),
        ("?colour=red", "invalid_query"),
    ] {
        let refused = list(query).await;
        assert_eq!(
            (refused.status, refused.code()),
            (StatusCode::BAD_REQUEST, code),
            "{query}"
        );
    }

    // One alert, its payload opened.
    let shown = server
        .get(&format!("{PROJECT}/alerts/{down_id}"), admin)
        .await;
    assert_eq!(shown.status, StatusCode::OK, "{}", shown.text);
    assert_eq!(shown.body["payload"]["summary"], "Database down");
    assert_eq!(shown.body["payload"]["labels"]["team"], "web");
    assert_eq!(shown.body["incident"], 1);
    assert_eq!(shown.body["service"], "checkout");
    for missing in ["not-an-id", "0190b5c4-0000-7000-8000-000000000000"] {
        let reply = server
            .get(&format!("{PROJECT}/alerts/{missing}"), admin)
            .await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND);
    }
    // Another project's alert looks missing.
    let created = server
        .post(
            "/api/v1/orgs/default/projects",
            admin,
            json!({"identifier": "web", "name": "Web"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let elsewhere = "/api/v1/orgs/default/projects/web/alerts";
    let hidden = server.get(&format!("{elsewhere}/{down_id}"), admin).await;
    let missing = server
        .get(
            &format!("{elsewhere}/0190b5c4-0000-7000-8000-000000000000"),
            admin,
        )
        .await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
    assert_eq!(hidden.body["error"]["code"], missing.body["error"]["code"]);
    assert_eq!(
        hidden.body["error"]["message"],
        missing.body["error"]["message"]
    );
    let ack_elsewhere = server
        .post(
            &format!("{elsewhere}/{down_id}/acknowledge"),
            admin,
            json!({}),
        )
        .await;
    assert_eq!(ack_elsewhere.status, StatusCode::NOT_FOUND);
    assert_eq!(server.get(elsewhere, admin).await.body["items"], json!([]));

    // A viewer reads and changes nothing.
    let (viewer, viewer_token) = super::user(server, "vera@example.com").await;
    let assigned = server
        .post(
            &format!("{PROJECT}/role-assignments"),
            admin,
            json!({"principal": format!("user:{viewer}"), "role": "_viewer"}),
        )
        .await;
    assert_eq!(assigned.status, StatusCode::CREATED, "{}", assigned.text);
    let seen = server
        .get(&format!("{PROJECT}/alerts"), &viewer_token)
        .await;
    assert_eq!(keys(&seen), ["slow", "db-down"]);
    for action in ["acknowledge", "resolve"] {
        let refused = server
            .post(
                &format!("{PROJECT}/alerts/{down_id}/{action}"),
                &viewer_token,
                json!({}),
            )
            .await;
        assert_eq!(
            (refused.status, refused.code()),
            (StatusCode::FORBIDDEN, "permission_denied"),
            "{action}"
        );
        assert_eq!(refused.body["error"]["permission"], "alert:edit");
    }

    // Acknowledge: once.
    let act = async |id: &str, action: &str| {
        server
            .post(&format!("{PROJECT}/alerts/{id}/{action}"), admin, json!({}))
            .await
    };
    let acked = act(&down_id, "acknowledge").await;
    assert_eq!(acked.status, StatusCode::OK, "{}", acked.text);
    assert_eq!(acked.body["status"], "acknowledged");
    let again = act(&down_id, "acknowledge").await;
    assert_eq!(
        (again.status, again.code()),
        (StatusCode::CONFLICT, "alert_acknowledged")
    );
    assert_eq!(keys(&list("?status=acknowledged").await), ["db-down"]);
    assert_eq!(
        incident(server, 1).await["status"],
        "triggered",
        "the incident is the incident's"
    );

    // Resolve: the incident's last alert, so the incident auto-resolves.
    let resolved = act(&down_id, "resolve").await;
    assert_eq!(resolved.status, StatusCode::OK, "{}", resolved.text);
    assert_eq!(resolved.body["status"], "resolved");
    assert_eq!(resolved.body["incident"], 1);
    assert!(resolved.body["resolved_at"].is_string());
    let closed = incident(server, 1).await;
    assert_eq!(closed["status"], "resolved");
    assert_eq!(closed["alerts"][0]["status"], "resolved");
    assert_eq!(
        closed["alerts"][0]["event_count"], 1,
        "a hand is not a delivery"
    );
    let kinds: Vec<&str> = closed["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["incident.opened", "alert.resolved", "status.resolved"]
    );
    assert_eq!(closed["timeline"][1]["body"]["dedup_key"], "db-down");
    assert_eq!(closed["timeline"][2]["body"]["auto"], true);
    for action in ["resolve", "acknowledge"] {
        let refused = act(&down_id, action).await;
        assert_eq!(
            (refused.status, refused.code()),
            (StatusCode::CONFLICT, "alert_resolved"),
            "{action}"
        );
    }
    // Its key is free: the sender's resolve finds nothing open, a trigger is a new alert.
    let late = send(server, &checkout, &generic("db-down", "resolve", ""), &[]).await;
    assert_eq!(late.body["alerts"][0]["outcome"], "dropped");
    // A triggered alert resolves directly; the other incident resolves too.
    let slow_resolved = act(&slow_id, "resolve").await;
    assert_eq!(
        slow_resolved.body["status"], "resolved",
        "{}",
        slow_resolved.text
    );
    assert_eq!(incident(server, 2).await["status"], "resolved");
    assert_eq!(keys(&list("?status=resolved").await), ["slow", "db-down"]);

    // Audited, with the actor.
    for (action, count) in [("alert.acknowledge", 1), ("alert.resolve", 2)] {
        let audited = server
            .get(&format!("/api/v1/audit-events?action={action}"), admin)
            .await;
        let items = audited.body["items"].as_array().unwrap();
        assert_eq!(items.len(), count, "{action}: {}", audited.text);
        assert!(items.iter().all(|e| e["outcome"] == "success"));
    }
}

#[tokio::test]
async fn the_alerts_api_lists_shows_acknowledges_and_resolves_on_sqlite() {
    alerts_api(&TestServer::start().await).await;
}

#[tokio::test]
async fn the_alerts_api_lists_shows_acknowledges_and_resolves_on_postgres() {
    let Some(server) = TestServer::start_postgres().await else {
        return;
    };
    alerts_api(&server).await;
}

/// Deliveries with wrong credentials do not use up an integration's budget: they meet
/// the per-address limit of failed authentications instead, and the genuine sender
/// (from another address) is still accepted.
#[tokio::test]
async fn bad_credentials_do_not_spend_an_integrations_budget() {
    let server = TestServer::start_with(rampart_testkit::Options {
        configure: Some(Box::new(|config| {
            config.server.trusted_proxies = vec!["127.0.0.1/32".into()];
        })),
        ..Default::default()
    })
    .await;
    service(&server, "svc").await;
    let genuine = integration(
        &server,
        "svc",
        json!({"name": "B", "format": "generic", "auth_mode": "bearer", "rate_limit_per_minute": 5}),
    )
    .await;
    let forged = Hook {
        path: genuine.path.clone(),
        token: Some("rmp_whk_0000000000000000000000000000000_000000".into()),
        basic: None,
        secret: None,
    };
    let from = |ip: &str| [("x-forwarded-for", ip.to_owned())];
    let body = generic("k", "trigger", "s");
    let mut statuses = Vec::new();
    for _ in 0..60 {
        statuses.push(
            send(&server, &forged, &body, &from("198.51.100.66"))
                .await
                .status,
        );
    }
    assert_eq!(statuses[0], StatusCode::UNAUTHORIZED);
    assert_eq!(
        *statuses.last().unwrap(),
        StatusCode::TOO_MANY_REQUESTS,
        "the guessing address is throttled"
    );
    for n in 0..5 {
        let reply = send(&server, &genuine, &body, &from("192.0.2.10")).await;
        assert_eq!(
            reply.status,
            StatusCode::ACCEPTED,
            "delivery {n}: {}",
            reply.body
        );
    }
    let over = send(&server, &genuine, &body, &from("192.0.2.10")).await;
    assert_eq!(over.code(), "rate_limited");
}
