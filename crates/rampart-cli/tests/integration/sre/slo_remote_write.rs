//! SLI data by Prometheus remote write (v1): write requests built with the server's own
//! encoder on a manual clock (both engines) — counters become minute counts, a retried
//! write counts once, every kind of bad input gets its 4xx or is dropped and counted,
//! never a 500 and never a wrong budget — and end to end with the real Prometheus
//! (Debian's `prometheus`) scraping a loopback exporter the test controls and writing to
//! the server over HTTPS with a service account's token that may do nothing else: a
//! burst of errors opens an incident through the SLO's burn-rate alert and pages the
//! on-call user; when the errors stop, the alert resolves.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use rampart_app::sre::remote_write::{Label, Sample, TimeSeries, WriteRequest, encode};
use rampart_testkit::{Reply, StatusCode, TestServer};
use serde_json::{Value, json};

use super::PROJECT;
use super::contact_methods::{manual_clock, quiet_engine};

const WRITE: &str = "/api/v1/orgs/default/projects/default/prometheus/write";

pub(crate) fn prometheus(query: &str) -> Value {
    json!({"metric_source": {"type": "Prometheus", "spec": {"query": query}}})
}

/// An SLO of `service` on `metric`'s requests of job `job`: good is any code but 5xx.
fn ratio_slo(service: &str, metric: &str, window: &str) -> Value {
    json!({
        "service": service,
        "target": 0.99,
        "time_window": {"duration": window},
        "budgeting_method": "occurrences",
        "indicator": {"ratio_metric": {
            "counter": true,
            "good": prometheus(&format!("{metric}{{job=\"app\",code!~\"5..\"}}")),
            "total": prometheus(&format!("{metric}{{job=\"app\"}}")),
        }}
    })
}

pub(crate) fn series(labels: &[(&str, &str)], samples: &[(Timestamp, f64)]) -> TimeSeries {
    TimeSeries {
        labels: labels
            .iter()
            .map(|(name, value)| Label {
                name: name.as_bytes().to_vec().into(),
                value: value.as_bytes().to_vec().into(),
            })
            .collect(),
        samples: samples
            .iter()
            .map(|(at, value)| Sample {
                value: *value,
                timestamp: at.as_millisecond(),
            })
            .collect(),
    }
}

/// The requests counter of code `code` for job `job`.
fn requests(job: &str, code: &str, samples: &[(Timestamp, f64)]) -> TimeSeries {
    series(
        &[
            ("__name__", "http_requests_total"),
            ("job", job),
            ("code", code),
        ],
        samples,
    )
}

pub(crate) async fn send(server: &TestServer, token: &str, body: Vec<u8>) -> Reply {
    let response = server
        .client
        .post(format!("{}{WRITE}", server.url))
        .bearer_auth(token)
        .header("content-type", "application/x-protobuf")
        .header("content-encoding", "snappy")
        .header("x-prometheus-remote-write-version", "0.1.0")
        .body(body)
        .send()
        .await
        .unwrap();
    rampart_testkit::read(response).await
}

async fn write(server: &TestServer, token: &str, timeseries: Vec<TimeSeries>) -> Value {
    let reply = send(server, token, encode(&WriteRequest { timeseries })).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    reply.body
}

/// The SLO's good and bad events in its window now.
async fn counted(server: &TestServer, slo: &str) -> (f64, f64) {
    let reply = server
        .get(&format!("{PROJECT}/slos/{slo}"), &server.admin_token)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let status = &reply.body["status"];
    (
        status["good"].as_f64().unwrap(),
        status["bad"].as_f64().unwrap(),
    )
}

async fn remote_write_feeds_slos(engine: Option<rampart_testkit::Engine>) {
    let clock = manual_clock();
    let now: Timestamp = "2026-11-03T10:00:30Z".parse().unwrap();
    clock.set(now);
    let server = quiet_engine(engine, Some(clock.clone())).await;
    let admin = server.admin_token.clone();
    super::service(&server, "checkout").await;
    let created = server
        .post(
            &format!("{PROJECT}/slos"),
            &admin,
            json!({"identifier": "checkout-availability", "name": "Checkout availability",
                   "definition": ratio_slo("checkout", "http_requests_total", "30d")}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    // An SLO fed by pushes only: remote write leaves it alone.
    let pushed_only = server
        .post(
            &format!("{PROJECT}/slos"),
            &admin,
            json!({"identifier": "pushed", "name": "Pushed",
                   "definition": {"service": "checkout", "target": 0.99,
                                  "time_window": {"duration": "30d"},
                                  "budgeting_method": "occurrences"}}),
        )
        .await;
    assert_eq!(
        pushed_only.status,
        StatusCode::CREATED,
        "{}",
        pushed_only.text
    );
    let slo = "checkout-availability";
    let minute =
        |offset: i64| now - SignedDuration::from_secs(30) + SignedDuration::from_mins(offset);

    // Baselines: a counter's first sample counts nothing. Series of other metrics or
    // jobs are not selected.
    let outcome = write(
        &server,
        &admin,
        vec![
            requests("app", "200", &[(minute(-3), 100.0)]),
            requests("app", "500", &[(minute(-3), 10.0)]),
            requests("other", "200", &[(minute(-3), 5.0)]),
            series(&[("__name__", "up"), ("job", "app")], &[(minute(-3), 1.0)]),
        ],
    )
    .await;
    assert_eq!(outcome["series"], 4, "{outcome}");
    assert_eq!(outcome["unmatched_series"], 2, "{outcome}");
    // The 200s feed good and total, the 500s total.
    assert_eq!(outcome["taken"], 3, "{outcome}");
    assert_eq!(outcome["slos"], 0, "{outcome}");
    assert_eq!(counted(&server, slo).await, (0.0, 0.0));

    // Increases count in the minute of the later sample; a reset counts from zero.
    let second = vec![
        requests("app", "200", &[(minute(-2), 190.0)]),
        requests("app", "500", &[(minute(-2), 20.0)]),
    ];
    let outcome = write(&server, &admin, second.clone()).await;
    assert_eq!(outcome["slos"], 1, "{outcome}");
    assert_eq!(counted(&server, slo).await, (90.0, 10.0));
    // Prometheus retries a write it got no answer to: it counts once.
    let again = write(&server, &admin, second).await;
    assert_eq!(again["dropped_stale"], 3, "{again}");
    assert_eq!(again["taken"], 0, "{again}");
    assert_eq!(counted(&server, slo).await, (90.0, 10.0));
    let outcome = write(
        &server,
        &admin,
        vec![
            requests(
                "app",
                "200",
                &[
                    (minute(-1), 240.0),
                    (minute(-1) + SignedDuration::from_secs(15), 290.0),
                ],
            ),
            requests("app", "500", &[(minute(-1), 5.0)]),
        ],
    )
    .await;
    assert_eq!(outcome["taken"], 5, "{outcome}");
    assert_eq!(counted(&server, slo).await, (190.0, 15.0));

    // Values that cannot count are dropped and counted: NaN (the staleness marker
    // among them), infinities, samples from long ago or from the future.
    let stale_marker = f64::from_bits(0x7ff0_0000_0000_0002);
    let outcome = write(
        &server,
        &admin,
        vec![
            requests(
                "app",
                "200",
                &[
                    (minute(0), f64::NAN),
                    (minute(0), stale_marker),
                    (minute(0), f64::INFINITY),
                    (now - SignedDuration::from_hours(401 * 24), 1e9),
                    (now + SignedDuration::from_mins(10), 1e9),
                ],
            ),
            requests("app", "500", &[(minute(0), f64::NEG_INFINITY)]),
        ],
    )
    .await;
    assert_eq!(outcome["dropped_not_finite"], 4, "{outcome}");
    assert_eq!(outcome["dropped_out_of_range"], 2, "{outcome}");
    assert_eq!(outcome["taken"], 0, "{outcome}");
    assert_eq!(counted(&server, slo).await, (190.0, 15.0));
    // Labels that are not UTF-8: the series is dropped (Prometheus never sends them).
    let mut broken = requests("app", "200", &[(minute(0), 1e6)]);
    if let Some(label) = broken.labels.last_mut() {
        label.value = vec![0xff, 0xfe].into();
    }
    let outcome = write(&server, &admin, vec![broken]).await;
    assert_eq!(outcome["dropped_invalid"], 1, "{outcome}");
    assert_eq!(counted(&server, slo).await, (190.0, 15.0));

    // Bodies that are not a write request: 400 naming what is wrong, nothing kept.
    let not_snappy = send(&server, &admin, b"\xff\xff\xff\xff\xff\xff".to_vec()).await;
    assert_eq!(
        not_snappy.status,
        StatusCode::BAD_REQUEST,
        "{}",
        not_snappy.text
    );
    assert_eq!(not_snappy.code(), "invalid_remote_write");
    assert!(not_snappy.text.contains("snappy"), "{}", not_snappy.text);
    let truncated = {
        let mut body = encode(&WriteRequest {
            timeseries: vec![requests("app", "200", &[(minute(0), 1e6)])],
        });
        body.truncate(body.len() - 3);
        body
    };
    let reply = send(&server, &admin, truncated).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert_eq!(reply.code(), "invalid_remote_write");
    let not_protobuf = snap::raw::Encoder::new()
        .compress_vec(b"{\"timeseries\": []} is JSON, not protobuf")
        .unwrap();
    let reply = send(&server, &admin, not_protobuf).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert_eq!(reply.code(), "invalid_remote_write");
    assert!(reply.text.contains("WriteRequest"), "{}", reply.text);
    // 40 MiB of zeros compress to almost nothing: refused by their declared size
    // before any is decompressed.
    let bomb = snap::raw::Encoder::new()
        .compress_vec(&vec![0u8; 40 * 1024 * 1024])
        .unwrap();
    let reply = send(&server, &admin, bomb).await;
    assert_eq!(
        reply.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        reply.text
    );
    assert_eq!(reply.code(), "body_too_large");
    let oversized = send(&server, &admin, vec![0u8; 9 * 1024 * 1024]).await;
    assert_eq!(
        oversized.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        oversized.text
    );
    assert_eq!(oversized.code(), "body_too_large");
    assert_eq!(counted(&server, slo).await, (190.0, 15.0));

    // Who may write: a wrong token is 401; a reader is 403; a service account holding
    // only slo:write_data may (and cannot see the SLO it feeds).
    let body = encode(&WriteRequest {
        timeseries: vec![requests("app", "200", &[(minute(0), 300.0)])],
    });
    let wrong = send(&server, "rmp_not-a-token", body.clone()).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "{}", wrong.text);
    let (viewer_id, viewer) =
        crate::platform::access::user_with_token(&server, "viewer@example.com").await;
    let read_only = server
        .post(
            &format!("{PROJECT}/role-assignments"),
            &admin,
            json!({"principal": format!("user:{viewer_id}"), "role": "_viewer"}),
        )
        .await;
    assert_eq!(read_only.status, StatusCode::CREATED, "{}", read_only.text);
    let refused = send(&server, &viewer, body.clone()).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    let writer = data_writer(&server).await;
    let outcome = send(&server, &writer, body).await;
    assert_eq!(outcome.status, StatusCode::OK, "{}", outcome.text);
    assert_eq!(counted(&server, slo).await, (200.0, 15.0));
    // Without project:view the project is hidden from it, as if missing.
    let hidden = server.get(&format!("{PROJECT}/slos/{slo}"), &writer).await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND, "{}", hidden.text);
    assert_eq!(counted(&server, "pushed").await, (0.0, 0.0));

    // Each write that changed something is audited once, by its writer.
    let audit = server
        .get("/api/v1/audit-events?action=slo.remote_write", &admin)
        .await;
    let events = audit.body["items"].as_array().unwrap();
    assert_eq!(events.len(), 4, "{}", audit.text);

    // Deleting the SLO removes its series too: written again, the counters start from
    // a new baseline in a new SLO of the same name.
    let deleted = server
        .delete(&format!("{PROJECT}/slos/{slo}"), &admin)
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text);
    server
        .post(
            &format!("{PROJECT}/slos"),
            &admin,
            json!({"identifier": slo, "name": "Again",
                   "definition": ratio_slo("checkout", "http_requests_total", "30d")}),
        )
        .await;
    write(
        &server,
        &admin,
        vec![requests(
            "app",
            "200",
            &[(minute(0) + SignedDuration::from_secs(20), 400.0)],
        )],
    )
    .await;
    assert_eq!(counted(&server, slo).await, (0.0, 0.0));
    server.stop().await;
}

/// A service account of the project whose only permission is `slo:write_data` (what a
/// Prometheus should hold), and its token.
async fn data_writer(server: &TestServer) -> String {
    let admin = &server.admin_token;
    let role = server
        .post(
            "/api/v1/orgs/default/roles",
            admin,
            json!({"identifier": "sli-writer", "name": "SLI writer",
                   "permissions": ["slo:write_data"]}),
        )
        .await;
    assert_eq!(role.status, StatusCode::CREATED, "{}", role.text);
    let account = server
        .post(
            &format!("{PROJECT}/service-accounts"),
            admin,
            json!({"name": "prometheus", "description": "remote write"}),
        )
        .await;
    assert_eq!(account.status, StatusCode::CREATED, "{}", account.text);
    let id = account.body["id"].as_str().unwrap();
    let granted = server
        .post(
            &format!("{PROJECT}/role-assignments"),
            admin,
            json!({"principal": format!("service_account:{id}"),
                   "role": role.body["id"].as_str().unwrap()}),
        )
        .await;
    assert_eq!(granted.status, StatusCode::CREATED, "{}", granted.text);
    let token = server
        .post(
            &format!("{PROJECT}/service-accounts/{id}/tokens"),
            admin,
            json!({"name": "remote-write", "expires_in_days": 30}),
        )
        .await;
    assert_eq!(token.status, StatusCode::CREATED, "{}", token.text);
    let secret = token.body["secret"].as_str().unwrap().to_owned();
    rampart_testkit::remember_secret(&secret);
    secret
}

#[tokio::test]
async fn remote_write_feeds_slos_on_sqlite() {
    remote_write_feeds_slos(None).await;
}

#[tokio::test]
async fn remote_write_feeds_slos_on_postgres() {
    if rampart_testkit::postgres_server_url().is_some() {
        remote_write_feeds_slos(Some(rampart_testkit::Engine::Postgres)).await;
    }
}

/// The loopback exporter: each scrape adds 100 requests to `app_requests_total`, of
/// which `error_percent` with code 500.
pub(super) async fn exporter(error_percent: Arc<AtomicU64>) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (ok, errors) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request).await;
            let bad = error_percent.load(Ordering::SeqCst).min(100);
            let ok = ok.fetch_add(100 - bad, Ordering::SeqCst) + 100 - bad;
            let errors = errors.fetch_add(bad, Ordering::SeqCst) + bad;
            let body = format!(
                "# TYPE app_requests_total counter\n\
                 app_requests_total{{code=\"200\"}} {ok}\n\
                 app_requests_total{{code=\"500\"}} {errors}\n"
            );
            let _ = stream
                .write_all(
                    format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: text/plain; version=0.0.4\r\n\
                         content-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    )
                    .as_bytes(),
                )
                .await;
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_prometheus_remote_write_pages_through_a_burn_rate_alert() {
    use super::alerts_alertmanager::eventually;
    let server = TestServer::start_with(rampart_testkit::Options {
        configure: Some(Box::new(|config| config.oncall.engine_interval_secs = 1)),
        ..Default::default()
    })
    .await;
    let admin = server.admin_token.clone();
    let (ann, ann_token) =
        crate::platform::access::user_with_token(&server, "ann@example.com").await;
    for (path, body) in [
        (
            "schedules",
            json!({"identifier": "primary", "name": "Primary", "definition": {
                "time_zone": "UTC",
                "layers": [{"name": "all", "unit": "week", "first_handoff": "2026-01-05T00:00",
                            "participants": [ann]}]}}),
        ),
        (
            "escalation-policies",
            json!({"identifier": "default", "name": "Default", "definition": {
                "levels": [{"targets": [{"type": "schedule", "id": "primary"}], "delay_minutes": 5}]}}),
        ),
        ("services", json!({"identifier": "app", "name": "App"})),
    ] {
        let created = server
            .post(&format!("{PROJECT}/{path}"), &admin, body)
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    }
    let set = server
        .request(
            reqwest::Method::PUT,
            &format!("{PROJECT}/services/app/escalation-policy"),
            Some(&admin),
            Some(&json!({"escalation_policy": "default"})),
        )
        .await;
    assert_eq!(set.status, StatusCode::NO_CONTENT, "{}", set.text);
    // A one-hour window: the page windows scale to a minute, so a minute of errors
    // pages and a minute without resolves.
    let created = server
        .post(
            &format!("{PROJECT}/slos"),
            &admin,
            json!({"identifier": "app-availability", "name": "App availability",
                   "definition": ratio_slo("app", "app_requests_total", "1h")}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let token = data_writer(&server).await;

    let error_percent = Arc::new(AtomicU64::new(0));
    let exporter_port = exporter(Arc::clone(&error_percent)).await;
    let dir = tempfile::tempdir().unwrap();
    let (_prometheus, _) = super::spawn_prometheus(dir.path(), |_| {
        format!(
            r#"global: {{scrape_interval: 1s, evaluation_interval: 1s}}
scrape_configs:
  - job_name: app
    static_configs:
      - targets: ['127.0.0.1:{exporter_port}']
remote_write:
  - url: "{url}{WRITE}"
    authorization:
      type: Bearer
      credentials: "{token}"
    tls_config:
      ca_file: "{ca}"
    queue_config:
      batch_send_deadline: 1s
      min_backoff: 100ms
      max_backoff: 1s
"#,
            url = server.url,
            ca = server.ca_cert.display()
        )
    });

    // Healthy traffic arrives through remote write: events, no burn, no incident.
    let slo = format!("{PROJECT}/slos/app-availability");
    let flowing = eventually(Duration::from_secs(60), async || {
        let status = server.get(&slo, &admin).await.body["status"].clone();
        (status["good"].as_f64()? >= 300.0).then_some(status)
    })
    .await;
    let flowing = flowing.expect("Prometheus's remote write fed the SLO");
    assert_eq!(flowing["bad"], 0.0, "{flowing}");

    // Errors: 30 % of requests fail, 30× the 1 % the SLO allows.
    error_percent.store(30, Ordering::SeqCst);
    let page_incident = eventually(Duration::from_secs(90), async || {
        let incidents = server.get(&format!("{PROJECT}/incidents"), &admin).await;
        incidents.body["items"]
            .as_array()?
            .iter()
            .find(|incident| {
                incident["title"]
                    .as_str()
                    .is_some_and(|title| title.ends_with("(page)"))
            })
            .cloned()
    })
    .await;
    let page_incident = page_incident.expect("the page burn-rate alert opened an incident");
    assert_eq!(page_incident["severity"], "SEV1", "{page_incident}");
    assert!(
        page_incident["title"]
            .as_str()
            .unwrap()
            .starts_with("SLO App availability: burning its error budget"),
        "{page_incident}"
    );
    let number = page_incident["number"].as_i64().unwrap();
    let paged = eventually(Duration::from_secs(30), async || {
        let notifications = server.get("/api/v1/me/notifications", &ann_token).await;
        notifications.body["items"]
            .as_array()?
            .iter()
            .find(|item| item["incident_number"] == number && item["kind"] == "page")
            .cloned()
    })
    .await;
    assert!(paged.is_some(), "the on-call user was paged");

    // The errors stop: within a minute of clean traffic the page alert resolves, and
    // its incident with it.
    error_percent.store(0, Ordering::SeqCst);
    let resolved = eventually(Duration::from_secs(150), async || {
        let incident = server
            .get(&format!("{PROJECT}/incidents/{number}"), &admin)
            .await;
        (incident.body["status"] == "resolved").then_some(incident.body)
    })
    .await;
    let resolved = resolved.expect("the page alert resolved when the burn stopped");
    assert_eq!(resolved["alerts"][0]["status"], "resolved", "{resolved}");
    server.stop().await;
}
