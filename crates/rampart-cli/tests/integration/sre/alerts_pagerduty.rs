//! The PagerDuty-compatible route, `POST /hooks/pagerduty/v2/enqueue`: any PagerDuty
//! Events API v2 sender posts there unchanged, with the integration key as `routing_key`
//! in the body and no header, and is answered in PagerDuty's shapes.
//!
//! Raw HTTP on both engines: a `routing_key` integration (format `pagerduty` only), a
//! trigger, acknowledge and resolve round trip on one dedup key, a generated key, the
//! refusals with PagerDuty's `invalid event` body carrying the catalogued code (missing,
//! unknown, rotated-away key; invalid events; NUL; oversized), the integration's source
//! networks and rate limit, the same integration at `/hooks/v1/{id}`, and the audit. Then
//! the real senders: PagerDuty's own Python client (PyPI `pagerduty`, installed into
//! `target/test-deps/venv` by `scripts/install-test-deps.sh`) and Prometheus
//! Alertmanager's `pagerduty_configs`, each over HTTPS trusting the server's CA.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use rampart_testkit::{StatusCode, TestServer};
use serde_json::{Value, json};

use super::alerts_alertmanager::{amtool, eventually, free_port, ready};
use super::{Hook, HookReply, PROJECT, integration, send, service};

const ENQUEUE: &str = "/hooks/pagerduty/v2/enqueue";

/// A `routing_key` integration of `service`: its id and its key.
async fn routing_key_integration(
    server: &TestServer,
    service: &str,
    extra: Value,
) -> (String, String) {
    let mut body = json!({"name": "PagerDuty", "format": "pagerduty", "auth_mode": "routing_key"});
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    let created = server
        .post(
            &format!("{PROJECT}/services/{service}/integrations"),
            &server.admin_token,
            body,
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let key = created.body["routing_key"].as_str().unwrap().to_owned();
    rampart_testkit::remember_secret(&key);
    // PagerDuty's shape: 32 lowercase hex characters; no other credential.
    assert_eq!(key.len(), 32, "{key}");
    assert!(
        key.chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    );
    assert!(created.body.get("token").is_none(), "{}", created.text);
    assert_eq!(created.body["integration"]["auth_mode"], "routing_key");
    assert_eq!(created.body["integration"]["url_path"], ENQUEUE);
    let id = created.body["integration"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    (id, key)
}

/// Posts `body` to the PagerDuty route as a PagerDuty sender does: no auth header.
async fn enqueue(server: &TestServer, body: &Value) -> HookReply {
    enqueue_bytes(server, &serde_json::to_vec(body).unwrap()).await
}

async fn enqueue_bytes(server: &TestServer, body: &[u8]) -> HookReply {
    let hook = Hook {
        path: ENQUEUE.into(),
        token: None,
        basic: None,
        secret: None,
    };
    send(server, &hook, body, &[]).await
}

fn trigger(key: &str, dedup_key: Option<&str>, summary: &str) -> Value {
    let mut event = json!({"routing_key": key, "event_action": "trigger",
        "payload": {"summary": summary, "source": "db-1", "severity": "critical",
                    "component": "postgres", "custom_details": {"free_space": "1%"}},
        "links": [{"href": "https://runbooks.example/disk", "text": "runbook"}]});
    if let Some(dedup_key) = dedup_key {
        event["dedup_key"] = json!(dedup_key);
    }
    event
}

fn action(key: &str, action: &str, dedup_key: &str) -> Value {
    json!({"routing_key": key, "event_action": action, "dedup_key": dedup_key})
}

/// The alert of `service` with `dedup_key` as the alerts API shows it (the newest one).
async fn alert(server: &TestServer, service: &str, dedup_key: &str) -> Value {
    let listed = server
        .get(
            &format!("{PROJECT}/alerts?service={service}"),
            &server.admin_token,
        )
        .await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|alert| alert["dedup_key"] == dedup_key)
        .cloned()
        .unwrap_or_else(|| panic!("no alert {dedup_key}: {}", listed.text))
}

/// A refusal in PagerDuty's shape, with Rampart's code: `(status, PagerDuty's status
/// word, code)`.
fn refusal(reply: &HookReply) -> (StatusCode, &str, &str) {
    let errors = reply.body["errors"].as_array();
    assert!(
        errors.is_some_and(|errors| !errors.is_empty() && errors.iter().all(Value::is_string)),
        "PagerDuty's errors are a list of strings: {}",
        reply.body
    );
    (
        reply.status,
        reply.body["status"].as_str().unwrap_or(""),
        reply.code(),
    )
}

/// Runs the raw HTTP cases on `server`; answers the routing keys it was given.
async fn pagerduty_route(server: &TestServer) -> Vec<String> {
    service(server, "db").await;
    // The routing key is PagerDuty's: other formats cannot have one.
    let refused = server
        .post(
            &format!("{PROJECT}/services/db/integrations"),
            &server.admin_token,
            json!({"name": "AM", "format": "alertmanager", "auth_mode": "routing_key"}),
        )
        .await;
    assert_eq!(
        (refused.status, refused.code()),
        (StatusCode::BAD_REQUEST, "auth_mode_not_for_format"),
        "{}",
        refused.text
    );
    let (id, key) = routing_key_integration(server, "db", json!({})).await;

    // Trigger, acknowledge, resolve on one dedup key, answered as PagerDuty answers.
    let triggered = enqueue(
        server,
        &trigger(&key, Some("disk-db-1"), "Disk full on db-1"),
    )
    .await;
    assert_eq!(triggered.status, StatusCode::ACCEPTED, "{}", triggered.body);
    assert_eq!(
        triggered.body,
        json!({"status": "success", "message": "Event processed", "dedup_key": "disk-db-1"})
    );
    let opened = alert(server, "db", "disk-db-1").await;
    assert_eq!(opened["status"], "triggered");
    assert_eq!(opened["incident"], 1);
    let detail = server
        .get(
            &format!("{PROJECT}/alerts/{}", opened["id"].as_str().unwrap()),
            &server.admin_token,
        )
        .await;
    assert_eq!(detail.body["payload"]["summary"], "Disk full on db-1");
    assert_eq!(detail.body["payload"]["labels"]["component"], "postgres");
    assert_eq!(detail.body["payload"]["details"]["free_space"], "1%");
    assert!(
        !detail.text.contains(&key),
        "the routing key is not kept with the alert"
    );
    let incident = super::incident(server, 1).await;
    assert_eq!(
        (&incident["title"], &incident["severity"]),
        (&json!("Disk full on db-1"), &json!("SEV1"))
    );
    // A redelivery is the same alert.
    let again = enqueue(
        server,
        &trigger(&key, Some("disk-db-1"), "Disk full on db-1"),
    )
    .await;
    assert_eq!(again.status, StatusCode::ACCEPTED);
    assert_eq!(alert(server, "db", "disk-db-1").await["event_count"], 2);

    let acknowledged = enqueue(server, &action(&key, "acknowledge", "disk-db-1")).await;
    assert_eq!(
        acknowledged.status,
        StatusCode::ACCEPTED,
        "{}",
        acknowledged.body
    );
    assert_eq!(acknowledged.body["dedup_key"], "disk-db-1");
    assert_eq!(
        alert(server, "db", "disk-db-1").await["status"],
        "acknowledged"
    );

    let resolved = enqueue(server, &action(&key, "resolve", "disk-db-1")).await;
    assert_eq!(resolved.status, StatusCode::ACCEPTED, "{}", resolved.body);
    assert_eq!(alert(server, "db", "disk-db-1").await["status"], "resolved");
    assert_eq!(super::incident(server, 1).await["status"], "resolved");

    // A trigger without a dedup key gets one, which resolves it.
    let keyless = enqueue(server, &trigger(&key, None, "CPU hot")).await;
    assert_eq!(keyless.status, StatusCode::ACCEPTED, "{}", keyless.body);
    let generated = keyless.body["dedup_key"].as_str().unwrap().to_owned();
    assert!(!generated.is_empty());
    assert_eq!(alert(server, "db", &generated).await["status"], "triggered");
    let resolved = enqueue(server, &action(&key, "resolve", &generated)).await;
    assert_eq!(resolved.body["dedup_key"], json!(generated));
    assert_eq!(alert(server, "db", &generated).await["status"], "resolved");

    // Refusals: PagerDuty's `invalid event` body, with the catalogued code.
    let unknown_key = "0123456789abcdef0123456789abcdef";
    let bearer = integration(
        server,
        "db",
        json!({"name": "Bearer", "format": "pagerduty", "auth_mode": "bearer"}),
    )
    .await;
    let cases: Vec<(Vec<u8>, StatusCode, &str)> = vec![
        (
            serde_json::to_vec(&json!({"event_action": "trigger", "dedup_key": "k"})).unwrap(),
            StatusCode::BAD_REQUEST,
            "routing_key_missing",
        ),
        (
            serde_json::to_vec(&trigger(unknown_key, Some("k"), "s")).unwrap(),
            StatusCode::BAD_REQUEST,
            "routing_key_invalid",
        ),
        // Another kind of credential is no routing key.
        (
            serde_json::to_vec(&trigger(bearer.token.as_deref().unwrap(), Some("k"), "s")).unwrap(),
            StatusCode::BAD_REQUEST,
            "routing_key_invalid",
        ),
        (
            format!(r#"{{"routing_key": "{key}\u0000", "event_action": "trigger"}}"#).into_bytes(),
            StatusCode::BAD_REQUEST,
            "routing_key_invalid",
        ),
        (
            b"not json".to_vec(),
            StatusCode::BAD_REQUEST,
            "invalid_payload",
        ),
        (
            serde_json::to_vec(&action(&key, "explode", "k")).unwrap(),
            StatusCode::BAD_REQUEST,
            "invalid_event_action",
        ),
        (
            serde_json::to_vec(&action(&key, "resolve", "")).unwrap(),
            StatusCode::BAD_REQUEST,
            "dedup_key_missing",
        ),
        (
            serde_json::to_vec(&json!({"routing_key": key, "event_action": "trigger"})).unwrap(),
            StatusCode::BAD_REQUEST,
            "payload_missing",
        ),
        (
            serde_json::to_vec(&trigger(&key, Some(&"k".repeat(256)), "s")).unwrap(),
            StatusCode::BAD_REQUEST,
            "dedup_key_too_long",
        ),
        (
            format!(
                r#"{{"routing_key": "{key}", "event_action": "trigger", "dedup_key": "n",
                    "payload": {{"summary": "a\u0000b", "source": "s", "severity": "info"}}}}"#
            )
            .into_bytes(),
            StatusCode::BAD_REQUEST,
            "nul_character",
        ),
        (
            vec![b' '; 600 * 1024],
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
    ];
    for (body, status, code) in cases {
        let reply = enqueue_bytes(server, &body).await;
        assert_eq!(
            refusal(&reply),
            (status, "invalid event", code),
            "{}",
            reply.body
        );
        assert_eq!(reply.body["message"], "Event object is invalid");
        assert_eq!(reply.body["error"]["message"], reply.body["errors"][0]);
    }

    // Change events are not supported: no such route.
    let change = server
        .client
        .post(format!("{}/hooks/pagerduty/v2/change/enqueue", server.url))
        .json(&json!({"routing_key": key, "payload": {"summary": "deployed", "source": "ci"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(change.status(), StatusCode::NOT_FOUND);

    // The same integration at its own URL, with the key in the body as well.
    let own_url = Hook {
        path: format!("/hooks/v1/{id}"),
        token: None,
        basic: None,
        secret: None,
    };
    let direct = send(
        server,
        &own_url,
        &serde_json::to_vec(&trigger(&key, Some("direct"), "Direct")).unwrap(),
        &[],
    )
    .await;
    assert_eq!(direct.status, StatusCode::ACCEPTED, "{}", direct.body);
    assert_eq!(direct.body["alerts"][0]["outcome"], "created");
    let keyless_direct = send(
        server,
        &own_url,
        &serde_json::to_vec(&json!({"event_action": "resolve", "dedup_key": "direct"})).unwrap(),
        &[],
    )
    .await;
    assert_eq!(
        (keyless_direct.status, keyless_direct.code()),
        (StatusCode::BAD_REQUEST, "routing_key_missing")
    );

    // Rotation replaces the key at once.
    let rotated = server
        .post(
            &format!("{PROJECT}/services/db/integrations/{id}/rotate"),
            &server.admin_token,
            json!({}),
        )
        .await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.text);
    let new_key = rotated.body["routing_key"].as_str().unwrap().to_owned();
    rampart_testkit::remember_secret(&new_key);
    assert_ne!(new_key, key);
    let old = enqueue(server, &action(&key, "resolve", "direct")).await;
    assert_eq!(
        refusal(&old),
        (
            StatusCode::BAD_REQUEST,
            "invalid event",
            "routing_key_invalid"
        )
    );
    let renewed = enqueue(server, &action(&new_key, "resolve", "direct")).await;
    assert_eq!(renewed.status, StatusCode::ACCEPTED, "{}", renewed.body);
    assert_eq!(alert(server, "db", "direct").await["status"], "resolved");

    // The integration's source networks and rate limit hold here as at /hooks/v1.
    let (_, fenced) =
        routing_key_integration(server, "db", json!({"source_cidrs": ["10.0.0.0/8"]})).await;
    let outside = enqueue(server, &trigger(&fenced, Some("f"), "s")).await;
    assert_eq!(
        refusal(&outside),
        (StatusCode::FORBIDDEN, "forbidden", "source_not_allowed")
    );
    let (_, limited) =
        routing_key_integration(server, "db", json!({"rate_limit_per_minute": 2})).await;
    let mut throttled = None;
    // Two a minute: the fifth request is refused even if the minute turns once.
    for _ in 0..5 {
        let reply = enqueue(server, &trigger(&limited, Some("r"), "s")).await;
        if reply.status == StatusCode::TOO_MANY_REQUESTS {
            throttled = Some(reply);
            break;
        }
        assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
    }
    let throttled = throttled.expect("a 429 within the minute");
    assert_eq!(
        refusal(&throttled),
        (
            StatusCode::TOO_MANY_REQUESTS,
            "throttle event",
            "rate_limited"
        )
    );
    let retry: u64 = throttled.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry));

    // Audited like every webhook: deliveries, refusals at a known integration, and
    // keys that name none (as failed authentications: there is no integration).
    let audited = async |query: &str| {
        let reply = server
            .get(
                &format!("/api/v1/audit-events?{query}"),
                &server.admin_token,
            )
            .await;
        reply.body["items"].as_array().unwrap().clone()
    };
    let ingests = audited("action=alert.ingest").await;
    assert!(
        ingests
            .iter()
            .any(|event| event["resource_id"] == json!(id)
                && event["details"]["format"] == "pagerduty"),
        "{ingests:?}"
    );
    let refusals = audited("action=webhook.refused").await;
    let reasons: Vec<&str> = refusals
        .iter()
        .filter_map(|event| event["details"]["reason"].as_str())
        .collect();
    assert!(reasons.contains(&"routing_key_missing"), "{reasons:?}");
    assert!(reasons.contains(&"source_not_allowed"), "{reasons:?}");
    let failures = audited("action=auth.failure").await;
    let reasons: Vec<&str> = failures
        .iter()
        .filter_map(|event| event["details"]["reason"].as_str())
        .collect();
    assert!(reasons.contains(&"routing_key_invalid"), "{reasons:?}");
    assert!(reasons.contains(&"routing_key_missing"), "{reasons:?}");
    vec![key, new_key, fenced, limited]
}

#[tokio::test]
async fn pagerduty_events_round_trip_and_refusals_on_sqlite() {
    let server = TestServer::start().await;
    let keys = pagerduty_route(&server).await;
    // A key is kept only as its blind index: neither the database nor any answer but
    // its creation's holds it.
    let listed = server
        .get(
            &format!("{PROJECT}/services/db/integrations"),
            &server.admin_token,
        )
        .await;
    let stored = server.config.server.data_dir.join("rampart.db");
    let mut bytes = std::fs::read(&stored).unwrap();
    bytes.extend(std::fs::read(stored.with_extension("db-wal")).unwrap_or_default());
    for key in keys {
        assert!(!listed.text.contains(&key), "{}", listed.text);
        assert!(
            !bytes.windows(key.len()).any(|w| w == key.as_bytes()),
            "a routing key reached the database in clear"
        );
    }
}

#[tokio::test]
async fn pagerduty_events_round_trip_and_refusals_on_postgres() {
    let Some(server) = TestServer::start_postgres().await else {
        return;
    };
    pagerduty_route(&server).await;
}

/// PagerDuty's Python client (PyPI `pagerduty`, `EventsApiV2Client`) as a user runs it:
/// base URL `…/hooks/pagerduty`, the CA file as its trust, and none of this machine's
/// `SSL_CERT_FILE`/`REQUESTS_CA_BUNDLE` (`trust_env=False`). One event per process;
/// prints `{"dedup_key": …}`, or `{"http_status": …, "body": …}` when the client raised
/// its `HttpError`.
const PAGERDUTY_CLIENT: &str = r#"
import json, ssl, sys
import pagerduty

base_url, ca_file, routing_key, action = sys.argv[1:5]
dedup_key = sys.argv[5] if len(sys.argv) > 5 else None
client = pagerduty.EventsApiV2Client(
    routing_key,
    base_url=base_url,
    verify=ssl.create_default_context(cafile=ca_file),
    trust_env=False,
)
try:
    if action == "trigger":
        answer = client.trigger(
            "Replication lag above 30s",
            "db-2",
            dedup_key=dedup_key,
            severity="error",
            custom_details={"lag_seconds": 42},
            links=[{"href": "https://runbooks.example/lag", "text": "runbook"}],
        )
    elif action == "acknowledge":
        answer = client.acknowledge(dedup_key)
    else:
        answer = client.resolve(dedup_key)
    print(json.dumps({"dedup_key": answer}))
except pagerduty.HttpError as error:
    print(json.dumps({"http_status": error.response.status_code, "body": error.response.json()}))
"#;

/// The venv `scripts/install-test-deps.sh` installs the client into.
fn venv_python() -> PathBuf {
    let python =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/test-deps/venv/bin/python");
    assert!(
        python.is_file(),
        "{} is missing: run scripts/install-test-deps.sh",
        python.display()
    );
    python
}

async fn pagerduty_client(server: &TestServer, key: &str, args: &[&str]) -> Value {
    let output = tokio::process::Command::new(venv_python())
        .arg("-I")
        .arg("-c")
        .arg(PAGERDUTY_CLIENT)
        .arg(format!("{}/hooks/pagerduty", server.url))
        .arg(&server.ca_cert)
        .arg(key)
        .args(args)
        .output()
        .await
        .expect("the venv's python");
    assert!(
        output.status.success(),
        "the PagerDuty client failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|error| panic!("{error}: {}", String::from_utf8_lossy(&output.stdout)))
}

#[tokio::test]
async fn pagerduty_python_client_triggers_acknowledges_and_resolves() {
    let server = TestServer::start().await;
    service(&server, "db").await;
    let (_, key) = routing_key_integration(&server, "db", json!({})).await;

    // A trigger without a dedup key: the client returns the one the server generated.
    let triggered = pagerduty_client(&server, &key, &["trigger"]).await;
    let dedup_key = triggered["dedup_key"].as_str().unwrap().to_owned();
    let opened = alert(&server, "db", &dedup_key).await;
    assert_eq!(opened["status"], "triggered");
    let incident = super::incident(&server, 1).await;
    assert_eq!(incident["title"], "Replication lag above 30s");
    assert_eq!(incident["severity"], "SEV2");
    assert_eq!(incident["status"], "triggered");

    let acknowledged = pagerduty_client(&server, &key, &["acknowledge", &dedup_key]).await;
    assert_eq!(acknowledged["dedup_key"], json!(dedup_key));
    assert_eq!(
        alert(&server, "db", &dedup_key).await["status"],
        "acknowledged"
    );

    let resolved = pagerduty_client(&server, &key, &["resolve", &dedup_key]).await;
    assert_eq!(resolved["dedup_key"], json!(dedup_key));
    assert_eq!(alert(&server, "db", &dedup_key).await["status"], "resolved");
    assert_eq!(super::incident(&server, 1).await["status"], "resolved");

    // A trigger with its own key, then a key the server does not know: the client
    // raises its HttpError on PagerDuty's 400, whose body it can read.
    let own = pagerduty_client(&server, &key, &["trigger", "lag-db-2"]).await;
    assert_eq!(own["dedup_key"], "lag-db-2");
    let refused = pagerduty_client(&server, "0123456789abcdef0123456789abcdef", &["trigger"]).await;
    assert_eq!(refused["http_status"], 400, "{refused}");
    assert_eq!(refused["body"]["status"], "invalid event");
    assert_eq!(refused["body"]["error"]["code"], "routing_key_invalid");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alertmanager_pagerduty_config_opens_and_resolves_an_alert() {
    let server = TestServer::start().await;
    service(&server, "web").await;
    let (_, key) = routing_key_integration(&server, "web", json!({})).await;

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("alertmanager.yml");
    std::fs::write(
        &config,
        format!(
            r#"route:
  receiver: rampart
  group_by: ['alertname']
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: rampart
    pagerduty_configs:
      - url: "{url}{ENQUEUE}"
        routing_key: "{key}"
        send_resolved: true
        severity: critical
        http_config:
          tls_config:
            ca_file: "{ca}"
"#,
            url = server.url,
            ca = server.ca_cert.display()
        ),
    )
    .unwrap();
    let port = free_port();
    let _alertmanager = tokio::process::Command::new("prometheus-alertmanager")
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--cluster.listen-address=")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("prometheus-alertmanager (scripts/install-test-deps.sh installs it)");
    let started = eventually(Duration::from_secs(30), async || {
        ready(port).await.then_some(())
    })
    .await;
    assert!(started.is_some(), "Alertmanager did not start");

    let labels = ["DiskFull", "severity=critical", "instance=web-1"];
    let mut add = vec!["alert", "add"];
    add.extend(labels);
    add.push("--annotation=summary=disk 95% full");
    amtool(port, &add).await;
    let alerts = async || {
        server
            .get(
                &format!("{PROJECT}/alerts?service=web"),
                &server.admin_token,
            )
            .await
            .body["items"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    };
    let opened = eventually(Duration::from_secs(30), async || {
        alerts().await.into_iter().next()
    })
    .await
    .expect("Alertmanager's PagerDuty event made an alert");
    assert_eq!(opened["status"], "triggered");
    assert_eq!(opened["incident"], 1);
    let incident = super::incident(&server, 1).await;
    // Alertmanager's default PagerDuty description: `[FIRING:1] DiskFull …`.
    assert!(
        incident["title"]
            .as_str()
            .unwrap()
            .starts_with("[FIRING:1] DiskFull"),
        "{incident}"
    );
    assert_eq!(incident["severity"], "SEV1");

    // Resolve it in Alertmanager (an end time now): its resolve event resolves the
    // alert, and the incident with it.
    let now = jiff::Timestamp::now().to_string();
    let end = format!("--end={now}");
    add.push(&end);
    amtool(port, &add).await;
    let dedup_key = opened["dedup_key"].as_str().unwrap().to_owned();
    let resolved = eventually(Duration::from_secs(30), async || {
        let alert = alert(&server, "web", &dedup_key).await;
        (alert["status"] == "resolved").then_some(alert)
    })
    .await;
    assert!(resolved.is_some(), "the resolve event resolved the alert");
    assert_eq!(super::incident(&server, 1).await["status"], "resolved");
    assert_eq!(alerts().await.len(), 1, "one alert group, one alert");
}
