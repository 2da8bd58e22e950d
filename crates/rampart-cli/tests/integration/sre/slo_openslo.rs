//! OpenSLO v1 import and export over HTTPS, both engines: what an import creates (the
//! SLI, the alert windows of its policies — the short lookback carried by the
//! extension annotation — as the status shows them), importing again changes nothing,
//! a changed document makes a new version, the export imports back unchanged through
//! the real CLI, and bad input (YAML that does not parse, unsupported fields, an unknown
//! service in the second SLO, not UTF-8, too large, a reader) is refused with nothing
//! written.

use rampart_testkit::{StatusCode, TestServer};
use serde_json::json;

use super::contact_methods::quiet_engine;
use super::{PROJECT, user_with_role};

const TWO_SLOS: &str = r#"
apiVersion: openslo/v1
kind: SLI
metadata:
  name: checkout-errors
spec:
  ratioMetric:
    counter: true
    bad:
      metricSource:
        type: Prometheus
        spec:
          query: http_requests_total{job="checkout",code=~"5.."}
    total:
      metricSource:
        type: Prometheus
        spec:
          query: http_requests_total{job="checkout"}
---
apiVersion: openslo/v1
kind: SLO
metadata:
  name: checkout-availability
  displayName: Checkout availability
spec:
  service: checkout
  indicatorRef: checkout-errors
  timeWindow:
  - duration: 28d
    isRolling: true
  budgetingMethod: Occurrences
  objectives:
  - targetPercent: 99.5
  alertPolicies:
  - kind: AlertPolicy
    metadata:
      name: burn
    spec:
      alertWhenBreaching: true
      conditions:
      - kind: AlertCondition
        metadata:
          name: page-2h
          annotations:
            rampart.dev/short-window: 10m
        spec:
          severity: page
          condition:
            kind: burnrate
            op: gte
            threshold: 10
            lookbackWindow: 2h
            alertAfter: 0m
---
apiVersion: openslo/v1
kind: SLO
metadata:
  name: checkout-latency
spec:
  service: checkout
  timeWindow:
  - duration: 1M
    calendar:
      startTime: 2026-01-01 00:00:00
      timeZone: Europe/Berlin
  budgetingMethod: Timeslices
  objectives:
  - target: 0.99
    timeSliceTarget: 0.9
"#;

pub(crate) async fn send(
    server: &TestServer,
    token: &str,
    body: impl Into<reqwest::Body>,
) -> rampart_testkit::Reply {
    let response = server
        .client
        .post(format!("{}{PROJECT}/openslo", server.url))
        .bearer_auth(token)
        .header("content-type", "application/yaml")
        .body(body)
        .send()
        .await
        .unwrap();
    rampart_testkit::read(response).await
}

fn outcomes(reply: &rampart_testkit::Reply) -> Vec<(String, String, u64)> {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    reply.body["slos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|slo| {
            (
                slo["identifier"].as_str().unwrap().to_owned(),
                slo["outcome"].as_str().unwrap().to_owned(),
                slo["version"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn owned(rows: &[(&str, &str, u64)]) -> Vec<(String, String, u64)> {
    rows.iter()
        .map(|(slo, outcome, version)| ((*slo).to_owned(), (*outcome).to_owned(), *version))
        .collect()
}

async fn slo_count(server: &TestServer) -> usize {
    let listed = server
        .get(&format!("{PROJECT}/slos"), &server.admin_token)
        .await;
    listed.body["items"].as_array().unwrap().len()
}

async fn openslo_round_trips(engine: Option<rampart_testkit::Engine>) {
    let server = quiet_engine(engine, None).await;
    let admin = server.admin_token.clone();
    super::service(&server, "checkout").await;
    let (_, viewer) = user_with_role(&server, "slo-reader@example.com", "_viewer").await;

    // Bad input first: each refused, nothing written.
    let unknown_service = TWO_SLOS.replacen(
        "service: checkout\n  timeWindow:\n  - duration: 1M",
        "service: payments\n  timeWindow:\n  - duration: 1M",
        1,
    );
    assert_ne!(unknown_service, TWO_SLOS);
    let refused = send(&server, &admin, unknown_service).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text);
    assert_eq!(refused.code(), "unknown_service");
    assert!(
        refused.text.contains("checkout-latency"),
        "{}",
        refused.text
    );
    for (body, names) in [
        ("kind: [SLO".to_owned(), "YAML"),
        (
            TWO_SLOS.replace(
                "  name: checkout-latency\n",
                "  name: checkout-latency\n  labels:\n    team: web\n",
            ),
            "document 3: metadata.labels",
        ),
        (
            TWO_SLOS.replace("alertAfter: 0m", "alertAfter: 5m"),
            "spec.alertPolicies[0].spec.conditions[0].spec.condition.alertAfter",
        ),
        (
            TWO_SLOS.replace("Timeslices", "RatioTimeslices"),
            "spec.budgetingMethod",
        ),
    ] {
        let refused = send(&server, &admin, body).await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            refused.text
        );
        assert_eq!(refused.code(), "invalid_openslo");
        assert!(refused.text.contains(names), "{names} in {}", refused.text);
    }
    let not_utf8 = send(&server, &admin, vec![0xff_u8, 0xfe, b'a']).await;
    assert_eq!(
        not_utf8.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        not_utf8.text
    );
    let huge = send(&server, &admin, "#".repeat(1024 * 1024 + 1)).await;
    assert_eq!(huge.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", huge.text);
    let reader = send(&server, &viewer, TWO_SLOS).await;
    assert_eq!(reader.status, StatusCode::FORBIDDEN, "{}", reader.text);
    assert_eq!(
        slo_count(&server).await,
        0,
        "a refused import writes nothing"
    );

    // Imported: two SLOs, the SLI and alert windows as written.
    let imported = send(&server, &admin, TWO_SLOS).await;
    assert_eq!(
        outcomes(&imported),
        owned(&[
            ("checkout-availability", "created", 1),
            ("checkout-latency", "created", 1)
        ])
    );
    let shown = server
        .get(&format!("{PROJECT}/slos/checkout-availability"), &admin)
        .await;
    assert_eq!(shown.status, StatusCode::OK, "{}", shown.text);
    assert_eq!(shown.body["name"], "Checkout availability");
    let definition = &shown.body["definition"];
    assert!(
        (definition["target"].as_f64().unwrap() - 0.995).abs() < 1e-12,
        "{definition}"
    );
    assert_eq!(definition["indicator"]["name"], "checkout-errors");
    let burns = shown.body["status"]["burn_rates"].as_array().unwrap();
    assert_eq!(burns.len(), 1, "{burns:?}");
    assert_eq!(
        (
            &burns[0]["severity"],
            &burns[0]["long_window_minutes"],
            &burns[0]["short_window_minutes"],
            &burns[0]["factor"]
        ),
        (&json!("page"), &json!(120), &json!(10), &json!(10.0))
    );
    // Without policies, the workbook's windows scaled to the window.
    let latency = server
        .get(&format!("{PROJECT}/slos/checkout-latency"), &admin)
        .await;
    assert_eq!(
        latency.body["status"]["burn_rates"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    assert_eq!(
        latency.body["definition"]["time_window"]["time_zone"],
        "Europe/Berlin"
    );

    // Again: unchanged, no new version; a change makes one.
    let again = send(&server, &admin, TWO_SLOS).await;
    assert_eq!(
        outcomes(&again),
        owned(&[
            ("checkout-availability", "unchanged", 1),
            ("checkout-latency", "unchanged", 1)
        ])
    );
    let changed = send(
        &server,
        &admin,
        TWO_SLOS.replace("target: 0.99\n", "target: 0.995\n"),
    )
    .await;
    assert_eq!(
        outcomes(&changed),
        owned(&[
            ("checkout-availability", "unchanged", 1),
            ("checkout-latency", "updated", 2)
        ])
    );
    // Creating needs slo:create; replacing needs slo:edit too, and a refusal writes nothing.
    let role = server
        .post(
            "/api/v1/orgs/default/roles",
            &admin,
            json!({"identifier": "slo-creator", "name": "SLO creator",
                   "permissions": ["project:view", "slo:view", "slo:create"]}),
        )
        .await;
    assert_eq!(role.status, StatusCode::CREATED, "{}", role.text);
    let (_, creator) = user_with_role(
        &server,
        "slo-creator@example.com",
        role.body["id"].as_str().unwrap(),
    )
    .await;
    // A new SLO beside a change to an existing one: the change needs slo:edit.
    let third = TWO_SLOS
        .replace("name: checkout-latency", "name: checkout-latency-eu")
        .replace("targetPercent: 99.5", "targetPercent: 99.9");
    let refused = send(&server, &creator, third.clone()).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    assert!(refused.text.contains("slo:edit"), "{}", refused.text);
    assert_eq!(
        slo_count(&server).await,
        2,
        "a refused import writes nothing"
    );
    let created_only = third
        .split("\n---\n")
        .filter(|document| document.contains("name: checkout-latency-eu"))
        .collect::<Vec<_>>()
        .join("\n---\n");
    let created = send(&server, &creator, created_only).await;
    assert_eq!(
        outcomes(&created),
        owned(&[("checkout-latency-eu", "created", 1)])
    );
    let deleted = server
        .delete(&format!("{PROJECT}/slos/checkout-latency-eu"), &admin)
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text);

    let audit = server
        .get("/api/v1/audit-events?action=slo.update", &admin)
        .await;
    assert_eq!(
        audit.body["items"].as_array().unwrap().len(),
        1,
        "{}",
        audit.text
    );

    // Export (a reader may), and the export imports back unchanged through the CLI.
    let exported = server.get(&format!("{PROJECT}/openslo"), &viewer).await;
    assert_eq!(exported.status, StatusCode::OK, "{}", exported.text);
    assert_eq!(exported.headers["content-type"], "application/yaml");
    assert!(
        exported.text.contains("rampart.dev/short-window: 10m"),
        "{}",
        exported.text
    );
    assert!(
        exported.text.contains("indicator:"),
        "the SLI is inline: {}",
        exported.text
    );
    let one = server
        .get(&format!("{PROJECT}/openslo?slo=checkout-latency"), &viewer)
        .await;
    assert!(
        one.text.contains("checkout-latency") && !one.text.contains("checkout-availability"),
        "{}",
        one.text
    );
    let missing = server
        .get(&format!("{PROJECT}/openslo?slo=nope"), &viewer)
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND, "{}", missing.text);

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("slos.yaml");
    std::fs::write(&file, &exported.text).unwrap();
    let file = file.to_str().unwrap();
    let output = crate::iacm::runs::rampart(
        &server,
        &admin,
        &[
            "slo",
            "import",
            file,
            "--org",
            "default",
            "--project",
            "default",
            "--output",
            "json",
        ],
    )
    .await;
    assert_eq!(output.code, 0, "{}", output.stderr);
    let printed: serde_json::Value = serde_json::from_str(&output.stdout).unwrap();
    assert_eq!(
        printed,
        json!([
            {"identifier": "checkout-availability", "outcome": "unchanged", "version": 1},
            {"identifier": "checkout-latency", "outcome": "unchanged", "version": 2}
        ])
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn openslo_round_trips_on_sqlite() {
    openslo_round_trips(None).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn openslo_round_trips_on_postgres() {
    if rampart_testkit::postgres_server_url().is_some() {
        openslo_round_trips(Some(rampart_testkit::Engine::Postgres)).await;
    }
}
