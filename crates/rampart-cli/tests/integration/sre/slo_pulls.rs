//! SLI data pulled by a delegate from a Prometheus inside the network, on a manual clock
//! (both engines): the engine queues one pull when one is due, whatever the replicas;
//! the delegate receives a range query of each minute's good and total events; the two
//! series it reports become the SLO's minutes — a minute pulled again replaced by the
//! same counts, however the pulls overlap — and a failed pull takes nothing. The last
//! test runs the whole way with a real Prometheus and the real agent.

use jiff::{SignedDuration, Timestamp};
use rampart_testkit::{StatusCode, TestServer};
use serde_json::{Value, json};

use super::PROJECT;
use super::contact_methods::{manual_clock, quiet_engine};
use super::slo_remote_write::prometheus;

/// Requests of job `app`, good unless 5xx, pulled every two minutes from `url`.
fn pulled_definition(url: &str) -> Value {
    json!({
        "service": "checkout",
        "target": 0.99,
        "time_window": {"duration": "7d"},
        "budgeting_method": "occurrences",
        "indicator": {"ratio_metric": {
            "counter": true,
            "good": prometheus("http_requests_total{job=\"app\",code!~\"5..\"}"),
            "total": prometheus("http_requests_total{job=\"app\"}"),
        }},
        "pull": {"url": url, "every": "2m", "delegate_selector": ["zone=eu"]}
    })
}

/// The answer a delegate reports for a pull: the good and total series at each whole
/// minute from `first` to `last`, each point the events of the minute before it — 990
/// good of 1 000 — but no good point at `no_good` (a minute without good events).
fn matrix(first: Timestamp, last: Timestamp, no_good: Option<Timestamp>) -> String {
    let points = |value: f64, skip: Option<Timestamp>| -> Vec<Value> {
        let mut points = Vec::new();
        let mut at = first;
        while at <= last {
            if Some(at) != skip {
                points.push(json!([at.as_second(), value.to_string()]));
            }
            at += SignedDuration::from_mins(1);
        }
        points
    };
    json!({
        "result_type": "matrix",
        "result": [
            {"metric": {"rampart_part": "good"}, "values": points(990.0, no_good)},
            {"metric": {"rampart_part": "total"}, "values": points(1000.0, None)},
        ],
        "series": 2, "truncated": false,
        "start": first.as_second(), "end": last.as_second(), "duration_ms": 4
    })
    .to_string()
}

/// The next task for the delegate, which must be a pull: its id and arguments.
async fn claim_pull(server: &TestServer, credential: &str) -> (String, Value) {
    let work = server
        .get("/api/v1/delegate/tasks/next?wait=0", credential)
        .await;
    assert_eq!(work.status, StatusCode::OK, "{}", work.text);
    assert_eq!(work.body["envelope"]["kind"], "prometheus_query");
    let arguments: Value = serde_json::from_str(work.body["arguments"].as_str().unwrap()).unwrap();
    (
        work.body["envelope"]["task_id"]
            .as_str()
            .unwrap()
            .to_owned(),
        arguments,
    )
}

async fn report(server: &TestServer, credential: &str, task: &str, body: Value) {
    let reported = server
        .post(
            &format!("/api/v1/delegate/tasks/{task}/result"),
            credential,
            body,
        )
        .await;
    assert_eq!(reported.status, StatusCode::OK, "{}", reported.text);
}

/// The SLO's good and bad events in its window at 10:05, past every minute the test
/// pulls.
async fn counted(server: &TestServer) -> (f64, f64) {
    let shown = server
        .get(
            &format!("{PROJECT}/slos/pulled?at=2026-11-03T10:05:00Z"),
            &server.admin_token,
        )
        .await;
    assert_eq!(shown.status, StatusCode::OK, "{}", shown.text);
    let status = &shown.body["status"];
    (
        status["good"].as_f64().unwrap(),
        status["bad"].as_f64().unwrap(),
    )
}

async fn delegates_pull_slis(engine: Option<rampart_testkit::Engine>) {
    let clock = manual_clock();
    let now: Timestamp = "2026-11-03T10:00:00Z".parse().unwrap();
    let server = quiet_engine(engine, Some(clock.clone())).await;
    let admin = server.admin_token.clone();
    super::service(&server, "checkout").await;
    let slos = format!("{PROJECT}/slos");

    // A pull that could never run is refused, naming what is wrong.
    for (pull, says) in [
        (
            json!({"url": "http://127.0.0.1:9090", "every": "2h"}),
            "pull.every",
        ),
        (json!({"url": "file:///etc/passwd"}), "pull.url"),
    ] {
        let mut definition = pulled_definition("http://127.0.0.1:9090");
        definition["pull"] = pull;
        let refused = server
            .post(
                &slos,
                &admin,
                json!({"identifier": "bad", "name": "Bad", "definition": definition}),
            )
            .await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text);
        assert_eq!(refused.code(), "invalid_definition");
        assert!(refused.text.contains(says), "{says}: {}", refused.text);
    }
    let created = server
        .post(
            &slos,
            &admin,
            json!({"identifier": "pulled", "name": "Pulled",
                   "definition": pulled_definition("http://127.0.0.1:9090/prom")}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    assert_eq!(created.body["definition"]["pull"]["every"], "2m");

    // Due at once; queued once, however often (and by however many replicas) the
    // engine looks before the next is due.
    assert_eq!(server.app().pull_slis().await.unwrap(), 1);
    assert_eq!(server.app().pull_slis().await.unwrap(), 0);
    let tasks = server
        .get(&format!("{PROJECT}/delegate-tasks"), &admin)
        .await;
    assert_eq!(
        tasks.body["items"].as_array().unwrap().len(),
        1,
        "{}",
        tasks.text
    );
    let task = &tasks.body["items"][0];
    assert_eq!(task["kind"], "prometheus_query");
    assert_eq!(task["selector"], json!(["zone=eu"]), "{task}");

    // Only a delegate with the pull's tags gets it.
    let elsewhere = crate::platform::delegates::registered(&server, "elsewhere").await;
    let nothing = server
        .get("/api/v1/delegate/tasks/next?wait=0", &elsewhere)
        .await;
    assert_eq!(nothing.status, StatusCode::NO_CONTENT, "{}", nothing.text);
    let credential =
        crate::platform::delegates::registered_with_tags(&server, PROJECT, "edge", &["zone=eu"])
            .await;
    let (task, arguments) = claim_pull(&server, &credential).await;
    let events = |selector: &str| format!("sum(increase({selector}[1m]))");
    assert_eq!(
        arguments,
        json!({
            "url": "http://127.0.0.1:9090/prom",
            "query": format!(
                "label_replace({}, \"rampart_part\", \"good\", \"\", \"\") or \
                 label_replace({}, \"rampart_part\", \"total\", \"\", \"\")",
                events("http_requests_total{job=\"app\",code!~\"5..\"}"),
                events("http_requests_total{job=\"app\"}")
            ),
            "range": {"end": now.as_second(), "seconds": 600, "step_seconds": 60},
            "timeout_seconds": 30,
        })
    );

    // Ten points: the ten minutes before them.
    report(
        &server,
        &credential,
        &task,
        json!({"attempt": 1, "outcome": "succeeded",
               "output": matrix(now - SignedDuration::from_mins(9), now, None)}),
    )
    .await;
    assert_eq!(counted(&server).await, (10.0 * 990.0, 10.0 * 10.0));

    // Not due a minute later; due two minutes later. The next pull overlaps the first
    // by eight minutes, which it writes again as they were; of its two new minutes, the
    // last has no good events.
    clock.advance(SignedDuration::from_mins(1));
    assert_eq!(server.app().pull_slis().await.unwrap(), 0);
    clock.advance(SignedDuration::from_mins(1));
    assert_eq!(server.app().pull_slis().await.unwrap(), 1);
    let (task, _) = claim_pull(&server, &credential).await;
    let later = now + SignedDuration::from_mins(2);
    report(
        &server,
        &credential,
        &task,
        json!({"attempt": 1, "outcome": "succeeded",
               "output": matrix(later - SignedDuration::from_mins(9), later, Some(later))}),
    )
    .await;
    assert_eq!(counted(&server).await, (11.0 * 990.0, 11.0 * 10.0 + 1000.0));

    // A pull Prometheus refused takes nothing (and is not tried again).
    clock.advance(SignedDuration::from_mins(2));
    assert_eq!(server.app().pull_slis().await.unwrap(), 1);
    let (task, _) = claim_pull(&server, &credential).await;
    report(
        &server,
        &credential,
        &task,
        json!({"attempt": 1, "outcome": "failed", "permanent": true,
               "output": "parse error", "error_code": "prometheus_bad_data"}),
    )
    .await;
    assert_eq!(counted(&server).await, (11.0 * 990.0, 11.0 * 10.0 + 1000.0));

    // An answer to the query of an older definition is not taken (it may count other
    // series); the new definition's pull is due at once.
    clock.advance(SignedDuration::from_mins(2));
    assert_eq!(server.app().pull_slis().await.unwrap(), 1);
    let (task, _) = claim_pull(&server, &credential).await;
    let mut stricter = pulled_definition("http://127.0.0.1:9090/prom");
    stricter["target"] = json!(0.995);
    let changed = server
        .request(
            reqwest::Method::PUT,
            &format!("{slos}/pulled"),
            Some(&admin),
            Some(&json!({"definition": stricter})),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);
    let stale = now + SignedDuration::from_mins(6);
    report(
        &server,
        &credential,
        &task,
        json!({"attempt": 1, "outcome": "succeeded",
               "output": matrix(stale - SignedDuration::from_mins(9), stale, None)}),
    )
    .await;
    assert_eq!(counted(&server).await, (11.0 * 990.0, 11.0 * 10.0 + 1000.0));
    assert_eq!(server.app().pull_slis().await.unwrap(), 1);

    // Each pull queued and each one taken is audited.
    for (action, count) in [("slo.pull", 5), ("slo.pull_data", 2)] {
        let events = server
            .get(&format!("/api/v1/audit-events?action={action}"), &admin)
            .await;
        assert_eq!(
            events.body["items"].as_array().unwrap().len(),
            count,
            "{action}: {}",
            events.text
        );
    }

    // OpenSLO carries the pull as the SLO's annotations, and reads it back unchanged.
    let exported = server
        .get(&format!("{PROJECT}/openslo?slo=pulled"), &admin)
        .await;
    assert_eq!(exported.status, StatusCode::OK, "{}", exported.text);
    assert!(
        exported
            .text
            .contains("rampart.dev/pull-url: http://127.0.0.1:9090/prom"),
        "{}",
        exported.text
    );
    // (The first import names the SLI, as every export does; the second changes nothing.)
    for outcome in ["updated", "unchanged"] {
        let imported = super::slo_openslo::send(&server, &admin, exported.text.clone()).await;
        assert_eq!(imported.status, StatusCode::OK, "{}", imported.text);
        assert_eq!(
            imported.body["slos"][0]["outcome"], outcome,
            "{}",
            imported.text
        );
    }
    let shown = server.get(&format!("{slos}/pulled"), &admin).await;
    assert_eq!(
        shown.body["definition"]["pull"],
        pulled_definition("http://127.0.0.1:9090/prom")["pull"]
    );

    // Without its pull the SLO is pulled no more.
    let mut definition = pulled_definition("http://127.0.0.1:9090/prom");
    definition.as_object_mut().unwrap().remove("pull");
    let changed = server
        .request(
            reqwest::Method::PUT,
            &format!("{slos}/pulled"),
            Some(&admin),
            Some(&json!({"definition": definition})),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);
    clock.advance(SignedDuration::from_mins(10));
    assert_eq!(server.app().pull_slis().await.unwrap(), 0);
    server.stop().await;
}

#[tokio::test]
async fn delegates_pull_slis_on_sqlite() {
    delegates_pull_slis(None).await;
}

#[tokio::test]
async fn delegates_pull_slis_on_postgres() {
    if rampart_testkit::postgres_server_url().is_some() {
        delegates_pull_slis(Some(rampart_testkit::Engine::Postgres)).await;
    }
}

/// The whole way with real components: a real Prometheus scrapes a loopback exporter
/// (one request in ten failing), the real agent (`rampart delegate run`, allowed only
/// that Prometheus) runs the pulls the engine queues each minute, and the SLO counts
/// the exporter's requests — the bad share exactly the exporter's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_delegate_pulls_from_a_real_prometheus() {
    use std::sync::Arc;
    use std::sync::atomic::AtomicU64;

    use super::alerts_alertmanager::eventually;
    use crate::platform::delegates::running_agent;

    let server = TestServer::start_with(rampart_testkit::Options {
        configure: Some(Box::new(|config| config.oncall.engine_interval_secs = 1)),
        ..Default::default()
    })
    .await;
    let admin = server.admin_token.clone();
    super::service(&server, "app").await;
    let exporter_port = super::slo_remote_write::exporter(Arc::new(AtomicU64::new(10))).await;
    let dir = tempfile::tempdir().unwrap();
    let (_prometheus, port) = super::spawn_prometheus(dir.path(), |_| {
        format!(
            "global: {{scrape_interval: 1s}}\nscrape_configs:\n  - job_name: app\n    \
             static_configs:\n      - targets: ['127.0.0.1:{exporter_port}']\n"
        )
    });
    let base = format!("http://127.0.0.1:{port}");
    let _agent = running_agent(&server, "inside", dir.path(), &[&format!("{base}/")]).await;
    let created = server
        .post(
            &format!("{PROJECT}/slos"),
            &admin,
            json!({"identifier": "app-availability", "name": "App availability",
                   "definition": {
                       "service": "app", "target": 0.99, "time_window": {"duration": "1d"},
                       "budgeting_method": "occurrences",
                       "indicator": {"ratio_metric": {"counter": true,
                           "good": prometheus("app_requests_total{job=\"app\",code!~\"5..\"}"),
                           "total": prometheus("app_requests_total{job=\"app\"}")}},
                       "pull": {"url": base, "every": "1m"}}}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);

    // A pull counts the whole minutes Prometheus has scraped: the one after the next
    // whole minute does.
    let slo = format!("{PROJECT}/slos/app-availability");
    let counted = eventually(std::time::Duration::from_secs(180), async || {
        let status = server.get(&slo, &admin).await.body["status"].clone();
        (status["good"].as_f64()? > 0.0).then_some(status)
    })
    .await;
    let counted = counted.expect("the delegate's pulls fed the SLO");
    let (good, bad) = (
        counted["good"].as_f64().unwrap(),
        counted["bad"].as_f64().unwrap(),
    );
    // Both counters come from the same scrapes: exactly one request in ten is bad,
    // and whole scrapes of 100 requests were counted (increase extrapolates a minute's
    // first and last samples to its edges, so not a whole number of them).
    assert!((bad / (good + bad) - 0.1).abs() < 1e-9, "{counted}");
    assert!(good + bad >= 100.0, "{counted}");
    let tasks = server
        .get(&format!("{PROJECT}/delegate-tasks"), &admin)
        .await;
    let succeeded = tasks.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|task| task["kind"] == "prometheus_query" && task["status"] == "succeeded")
        .count();
    assert!(succeeded >= 2, "{}", tasks.text);
    server.stop().await;
}
