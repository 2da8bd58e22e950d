//! End to end with the real Prometheus Alertmanager (Debian `prometheus-alertmanager`,
//! installed by `scripts/install-test-deps.sh`), started on loopback by the test: an
//! alert pushed with `amtool` arrives through a bearer-authenticated webhook over HTTPS
//! (Alertmanager trusts the server's certificate via `tls_config.ca_file`), opens an
//! incident, pages the on-call user's in-app inbox per the service's escalation policy
//! (through the server's own engine loop), and resolves when the alert resolves.
//!
//! It sits beside `alerts.rs` rather than at the top: like `iacm/terraform.rs` for the
//! state backend, it is the alerts slice's real client — the webhook protocol spoken by the
//! stock sender — and what it asserts first is the alert path; incidents and escalations
//! are what that alert sets off.

use std::process::Stdio;
use std::time::Duration;

use rampart_testkit::{StatusCode, TestServer};
use serde_json::{Value, json};

const PROJECT: &str = "/api/v1/orgs/default/projects/default";

pub(super) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls `check` until it yields, for at most `patience` (a wait for an external
/// process, not a timing assertion).
pub(super) async fn eventually<T>(
    patience: Duration,
    mut check: impl AsyncFnMut() -> Option<T>,
) -> Option<T> {
    let deadline = tokio::time::Instant::now() + patience;
    loop {
        if let Some(value) = check().await {
            return Some(value);
        }
        if tokio::time::Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Alertmanager's readiness endpoint answers 200 (plain HTTP on loopback).
pub(super) async fn ready(port: u16) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(mut stream) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else {
        return false;
    };
    if stream
        .write_all(b"GET /-/ready HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .is_err()
    {
        return false;
    }
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    answer.starts_with(b"HTTP/1.0 200") || answer.starts_with(b"HTTP/1.1 200")
}

pub(super) async fn amtool(port: u16, args: &[&str]) {
    let output = tokio::process::Command::new("amtool")
        .arg(format!("--alertmanager.url=http://127.0.0.1:{port}"))
        .args(args)
        .output()
        .await
        .expect("amtool (scripts/install-test-deps.sh installs it)");
    assert!(
        output.status.success(),
        "amtool {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_from_real_alertmanager_opens_and_resolves_an_incident() {
    let server = TestServer::start_with(rampart_testkit::Options {
        configure: Some(Box::new(|config| config.oncall.engine_interval_secs = 1)),
        ..Default::default()
    })
    .await;
    let admin = server.admin_token.clone();
    let (ann, ann_token) =
        crate::platform::access::user_with_token(&server, "ann@example.com").await;
    let schedule = server
        .post(
            &format!("{PROJECT}/schedules"),
            &admin,
            json!({"identifier": "primary", "name": "Primary", "definition": {
                "time_zone": "UTC",
                "layers": [{"name": "all", "unit": "week", "first_handoff": "2026-01-05T00:00",
                            "participants": [ann]}]}}),
        )
        .await;
    assert_eq!(schedule.status, StatusCode::CREATED, "{}", schedule.text);
    let policy = server
        .post(
            &format!("{PROJECT}/escalation-policies"),
            &admin,
            json!({"identifier": "default", "name": "Default", "definition": {
                "levels": [{"targets": [{"type": "schedule", "id": "primary"}], "delay_minutes": 5}]}}),
        )
        .await;
    assert_eq!(policy.status, StatusCode::CREATED, "{}", policy.text);
    let created = server
        .post(
            &format!("{PROJECT}/services"),
            &admin,
            json!({"identifier": "web", "name": "Web"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let set = server
        .request(
            reqwest::Method::PUT,
            &format!("{PROJECT}/services/web/escalation-policy"),
            Some(&admin),
            Some(&json!({"escalation_policy": "default"})),
        )
        .await;
    assert_eq!(set.status, StatusCode::NO_CONTENT, "{}", set.text);
    let integration = server
        .post(
            &format!("{PROJECT}/services/web/integrations"),
            &admin,
            json!({"name": "Alertmanager", "format": "alertmanager", "auth_mode": "bearer"}),
        )
        .await;
    assert_eq!(
        integration.status,
        StatusCode::CREATED,
        "{}",
        integration.text
    );
    let token = integration.body["token"].as_str().unwrap().to_owned();
    rampart_testkit::remember_secret(&token);
    let url = format!(
        "{}{}",
        server.url,
        integration.body["integration"]["url_path"]
            .as_str()
            .unwrap()
    );

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
    webhook_configs:
      - url: "{url}"
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials: "{token}"
          tls_config:
            ca_file: "{ca}"
"#,
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
    let ready = eventually(Duration::from_secs(30), async || {
        ready(port).await.then_some(())
    })
    .await;
    assert!(ready.is_some(), "Alertmanager did not start");

    amtool(
        port,
        &[
            "alert",
            "add",
            "HighLatency",
            "severity=critical",
            "instance=web-1",
            "--annotation=summary=p99 latency above 2s",
        ],
    )
    .await;
    let incidents = async || {
        server
            .get(&format!("{PROJECT}/incidents"), &admin)
            .await
            .body["items"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    };
    let opened: Option<Value> = eventually(Duration::from_secs(30), async || {
        incidents().await.into_iter().next()
    })
    .await;
    let opened = opened.expect("Alertmanager's webhook opened an incident");
    assert_eq!(opened["title"], "p99 latency above 2s");
    assert_eq!(opened["severity"], "SEV1");
    assert_eq!(opened["status"], "triggered");
    // The engine loop pages whoever the schedule has on call.
    let paged = eventually(Duration::from_secs(30), async || {
        server
            .get("/api/v1/me/notifications", &ann_token)
            .await
            .body["items"]
            .as_array()
            .and_then(|items| items.first().cloned())
    })
    .await;
    let paged = paged.expect("the on-call user was paged");
    assert_eq!(paged["incident_number"], 1);
    assert_eq!(paged["kind"], "page");

    // Resolve the alert in Alertmanager (an end time now): it sends the resolved
    // notification and the incident resolves with it.
    let now = jiff::Timestamp::now().to_string();
    amtool(
        port,
        &[
            "alert",
            "add",
            "HighLatency",
            "severity=critical",
            "instance=web-1",
            "--annotation=summary=p99 latency above 2s",
            &format!("--end={now}"),
        ],
    )
    .await;
    let resolved = eventually(Duration::from_secs(30), async || {
        let incident = server.get(&format!("{PROJECT}/incidents/1"), &admin).await;
        (incident.body["status"] == "resolved").then_some(incident.body)
    })
    .await;
    let resolved = resolved.expect("the resolved notification resolved the incident");
    assert_eq!(resolved["alerts"].as_array().unwrap().len(), 1);
    assert_eq!(resolved["alerts"][0]["status"], "resolved");
    assert_eq!(incidents().await.len(), 1, "one alert, one incident");
}
