//! Incident response over HTTPS: services, integrations, `POST /hooks/v1/{id}` in every
//! format and auth mode, dedup and alert lifecycle, incidents opened, joined and
//! auto-resolved, limits, and incidents by hand.

use rampart_testkit::{StatusCode, TestServer};
use serde_json::{Value, json};

const PROJECT: &str = "/api/v1/orgs/default/projects/default";

struct Hook {
    path: String,
    token: Option<String>,
    basic: Option<(String, String)>,
    secret: Option<String>,
}

struct HookReply {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl HookReply {
    fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

async fn service(server: &TestServer, identifier: &str) {
    let created = server
        .post(
            &format!("{PROJECT}/services"),
            &server.admin_token,
            json!({"identifier": identifier, "name": identifier}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
}

async fn integration(server: &TestServer, service: &str, body: Value) -> Hook {
    let created = server
        .post(
            &format!("{PROJECT}/services/{service}/integrations"),
            &server.admin_token,
            body,
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let text = |key: &str| created.body[key].as_str().map(str::to_owned);
    for secret in [text("token"), text("password"), text("secret")]
        .into_iter()
        .flatten()
    {
        rampart_testkit::remember_secret(&secret);
    }
    Hook {
        path: created.body["integration"]["url_path"]
            .as_str()
            .unwrap()
            .to_owned(),
        token: text("token"),
        basic: text("username").zip(text("password")),
        secret: text("secret"),
    }
}

async fn send(
    server: &TestServer,
    hook: &Hook,
    body: &[u8],
    extra: &[(&str, String)],
) -> HookReply {
    let mut request = server
        .client
        .post(format!("{}{}", server.url, hook.path))
        .header("content-type", "application/json")
        .body(body.to_vec());
    if let Some(token) = &hook.token {
        request = request.bearer_auth(token);
    }
    if let Some((user, password)) = &hook.basic {
        request = request.basic_auth(user, Some(password));
    }
    for (name, value) in extra {
        request = request.header(*name, value);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.unwrap();
    HookReply {
        status,
        headers,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

fn generic(key: &str, action: &str, summary: &str) -> Vec<u8> {
    serde_json::to_vec(
        &json!({"dedup_key": key, "action": action, "summary": summary,
                               "severity": "critical", "labels": {"team": "web"}}),
    )
    .unwrap()
}

async fn incident(server: &TestServer, number: u64) -> Value {
    let reply = server
        .get(
            &format!("{PROJECT}/incidents/{number}"),
            &server.admin_token,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    reply.body
}

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
async fn integration_credentials_rotate_with_two_hmac_secrets_valid_meanwhile() {
    let server = TestServer::start().await;
    service(&server, "svc").await;
    let hmac = integration(
        &server,
        "svc",
        json!({"name": "Signed", "format": "generic", "auth_mode": "hmac"}),
    )
    .await;
    let id = hmac.path.trim_start_matches("/hooks/v1/").to_owned();
    let rotate = async || {
        let reply = server
            .post(
                &format!("{PROJECT}/services/svc/integrations/{id}/rotate"),
                &server.admin_token,
                json!({}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        let secret = reply.body["secret"].as_str().unwrap().to_owned();
        rampart_testkit::remember_secret(&secret);
        secret
    };
    let first = hmac.secret.clone().unwrap();
    let second = rotate().await;
    let body = generic("k", "trigger", "s");
    let now = server.app().now().as_second();
    let with = |secret: &str| {
        vec![(
            "x-rampart-signature",
            rampart_crypto::webhook_signature::sign(secret.as_bytes(), now, &body),
        )]
    };
    // During the rotation both the previous and the new secret work.
    assert_eq!(
        send(&server, &hmac, &body, &with(&first)).await.status,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        send(&server, &hmac, &body, &with(&second)).await.status,
        StatusCode::ACCEPTED
    );
    // The next rotation retires the oldest.
    let third = rotate().await;
    assert_eq!(
        send(&server, &hmac, &body, &with(&first)).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        send(&server, &hmac, &body, &with(&second)).await.status,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        send(&server, &hmac, &body, &with(&third)).await.status,
        StatusCode::ACCEPTED
    );

    // A bearer token is replaced at once.
    let bearer = integration(
        &server,
        "svc",
        json!({"name": "B", "format": "generic", "auth_mode": "bearer"}),
    )
    .await;
    let bearer_id = bearer.path.trim_start_matches("/hooks/v1/").to_owned();
    let rotated = server
        .post(
            &format!("{PROJECT}/services/svc/integrations/{bearer_id}/rotate"),
            &server.admin_token,
            json!({}),
        )
        .await;
    let new_token = rotated.body["token"].as_str().unwrap().to_owned();
    rampart_testkit::remember_secret(&new_token);
    assert_eq!(
        send(&server, &bearer, &body, &[]).await.status,
        StatusCode::UNAUTHORIZED
    );
    let renewed = Hook {
        path: bearer.path.clone(),
        token: Some(new_token),
        basic: None,
        secret: None,
    };
    assert_eq!(
        send(&server, &renewed, &body, &[]).await.status,
        StatusCode::ACCEPTED
    );
    let audited = server
        .get(
            "/api/v1/audit-events?action=integration.rotate",
            &server.admin_token,
        )
        .await;
    assert_eq!(audited.body["items"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn alert_rules_decide_which_alerts_open_incidents() {
    let server = TestServer::start().await;
    service(&server, "web").await;
    let hook = integration(
        &server,
        "web",
        json!({"name": "G", "format": "generic", "auth_mode": "bearer"}),
    )
    .await;
    let rules = json!({"rules": [
        {"name": "staging is noise", "conditions": {"labels": {"env": "staging"}}, "action": "record_only"},
        {"name": "info only records", "conditions": {"max_severity": "info"}, "action": "record_only"}
    ]});
    let set = server
        .request(
            reqwest::Method::PUT,
            &format!("{PROJECT}/services/web/alert-rules"),
            Some(&server.admin_token),
            Some(&rules),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.text);
    let read = server
        .get(
            &format!("{PROJECT}/services/web/alert-rules"),
            &server.admin_token,
        )
        .await;
    assert_eq!(read.body["rules"].as_array().unwrap().len(), 2);
    let event = |key: &str, severity: &str, env: &str| {
        serde_json::to_vec(&json!({"dedup_key": key, "summary": format!("{key} broke"),
            "severity": severity, "labels": {"env": env}}))
        .unwrap()
    };
    let staging = send(&server, &hook, &event("a", "critical", "staging"), &[]).await;
    assert_eq!(staging.body["alerts"][0]["outcome"], "recorded");
    assert!(staging.body["alerts"][0].get("incident").is_none());
    let info = send(&server, &hook, &event("b", "info", "prod"), &[]).await;
    assert_eq!(info.body["alerts"][0]["outcome"], "recorded");
    let real = send(&server, &hook, &event("c", "error", "prod"), &[]).await;
    assert_eq!(real.body["alerts"][0]["outcome"], "created");
    assert_eq!(real.body["alerts"][0]["incident"], 1);
    // A recorded alert still dedups and resolves.
    let again = send(&server, &hook, &event("a", "critical", "staging"), &[]).await;
    assert_eq!(again.body["alerts"][0]["outcome"], "deduplicated");
    let resolve = serde_json::to_vec(&json!({"dedup_key": "a", "action": "resolve"})).unwrap();
    assert_eq!(
        send(&server, &hook, &resolve, &[]).await.body["alerts"][0]["outcome"],
        "resolved"
    );
    let bad = server
        .request(
            reqwest::Method::PUT,
            &format!("{PROJECT}/services/web/alert-rules"),
            Some(&server.admin_token),
            Some(&json!({"rules": [{"name": "x", "conditions": {"min_severity": "doom"}, "action": "record_only"}]})),
        )
        .await;
    assert_eq!(
        (bad.status, bad.code()),
        (StatusCode::BAD_REQUEST, "invalid_conditions")
    );
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

#[tokio::test]
async fn service_owners_subscribers_and_renamed_severities() {
    let server = TestServer::start().await;
    let admin = server.admin_token.clone();
    service(&server, "checkout").await;
    let (sue, sue_token) =
        crate::platform::access::user_with_token(&server, "sue@example.com").await;
    let group = server
        .post(
            "/api/v1/orgs/default/projects/default/groups",
            &admin,
            json!({"identifier": "payments", "name": "Payments"}),
        )
        .await;
    assert_eq!(group.status, StatusCode::CREATED, "{}", group.text);
    let group_id = group.body["id"].as_str().unwrap().to_owned();
    let set = server
        .request(
            reqwest::Method::PUT,
            &format!("{PROJECT}/services/checkout/ownership"),
            Some(&admin),
            Some(
                &json!({"owner_group": group_id, "subscribers": [format!("user:{sue}")],
                         "tags": ["tier:1"]}),
            ),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.text);
    let shown = server
        .get(&format!("{PROJECT}/services/checkout"), &admin)
        .await;
    assert_eq!(shown.body["ownership"]["owner_group"], group_id.as_str());
    assert_eq!(shown.body["ownership"]["tags"], json!(["tier:1"]));
    let bad = server
        .request(
            reqwest::Method::PUT,
            &format!("{PROJECT}/services/checkout/ownership"),
            Some(&admin),
            Some(&json!({"subscribers": ["team:nope"]})),
        )
        .await;
    assert_eq!(bad.code(), "unknown_subscriber");

    let labels = server
        .request(
            reqwest::Method::PUT,
            "/api/v1/orgs/default/incident-severities",
            Some(&admin),
            Some(&json!({"labels": {"SEV1": "Major outage", "SEV4": "Cosmetic"}})),
        )
        .await;
    assert_eq!(labels.status, StatusCode::OK, "{}", labels.text);
    let hook = integration(
        &server,
        "checkout",
        json!({"name": "G", "format": "generic", "auth_mode": "bearer"}),
    )
    .await;
    send(
        &server,
        &hook,
        &generic("pay", "trigger", "Payments failing"),
        &[],
    )
    .await;
    let opened = incident(&server, 1).await;
    assert_eq!(opened["severity"], "SEV1");
    assert_eq!(opened["severity_label"], "Major outage");
    // The subscriber heard about it.
    let inbox = server.get("/api/v1/me/notifications", &sue_token).await;
    assert_eq!(
        inbox.body["items"][0]["kind"], "subscribed",
        "{}",
        inbox.text
    );
    assert_eq!(inbox.body["items"][0]["incident_number"], 1);
    let bad_label = server
        .request(
            reqwest::Method::PUT,
            "/api/v1/orgs/default/incident-severities",
            Some(&admin),
            Some(&json!({"labels": {"SEV9": "x"}})),
        )
        .await;
    assert_eq!(bad_label.code(), "invalid_severity");
}
