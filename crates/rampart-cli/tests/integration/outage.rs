//! PostgreSQL outages under load: the server's backends terminated mid-request
//! (`pg_terminate_backend`, as a failover or a restart does) and then every connection
//! cut and refused for a few seconds (a [`FaultProxy`] between the server and
//! PostgreSQL). Every answer is a success or 503 `store_unavailable` with `Retry-After`
//! — never a 500 —, `/readyz` says not ready during the cut, the server recovers without
//! a restart, and no write it acknowledged is lost. The SLO engine's tick (alerts, pulls,
//! retention) meets the same outage and ends with "unavailable", never another error.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rampart_testkit::fault_proxy::FaultProxy;
use rampart_testkit::{Engine, Options, StatusCode, TestServer};
use serde_json::json;

use crate::sre::{Hook, PROJECT, generic, integration, send, service};

/// One answer the load saw: status, error code, whether `Retry-After` was set.
type Seen = (StatusCode, String, bool);

/// Host and port of the PostgreSQL server in a `postgres://user@host:port/db` URL.
fn authority(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, rest)| rest);
    rest.split(['/', '?']).next().unwrap_or(rest)
}

#[tokio::test]
async fn a_postgres_outage_answers_503_never_500_and_loses_no_acknowledged_write() {
    let Some(server_url) = rampart_testkit::postgres_server_url() else {
        eprintln!("skipped: RAMPART_TEST_DATABASE_URL is not set");
        return;
    };
    let upstream_authority = authority(&server_url).to_owned();
    let upstream = tokio::net::lookup_host(if upstream_authority.contains(':') {
        upstream_authority.clone()
    } else {
        format!("{upstream_authority}:5432")
    })
    .await
    .unwrap()
    .next()
    .unwrap();
    let proxy = FaultProxy::start(upstream).await;
    let proxy_addr = proxy.addr().to_string();
    let server = TestServer::start_with(Options {
        engine: Some(Engine::Postgres),
        configure: Some(Box::new(move |config| {
            let url = config.database.url.take().unwrap();
            let at = authority(&url).to_owned();
            config.database.url = Some(url.replacen(&at, &proxy_addr, 1));
        })),
        ..Options::default()
    })
    .await;
    service(&server, "checkout").await;
    let hook = integration(
        &server,
        "checkout",
        json!({"name": "Generic", "format": "generic", "auth_mode": "bearer"}),
    )
    .await;
    let admin = server.admin_token.clone();
    // A workspace with a run and a variable, whose routes are read during the outage.
    let workspaces = format!("{PROJECT}/workspaces");
    let created = server
        .post(
            &workspaces,
            &admin,
            json!({"identifier": "app", "name": "app"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let run = server
        .post(&format!("{workspaces}/app/runs"), &admin, json!({}))
        .await;
    assert_eq!(run.status, StatusCode::CREATED, "{}", run.text);
    let variable = server
        .request(
            reqwest::Method::PUT,
            &format!("{workspaces}/app/variables/terraform/region"),
            Some(&admin),
            Some(&json!({"value": "eu"})),
        )
        .await;
    assert_eq!(variable.status, StatusCode::CREATED, "{}", variable.text);
    // A runbook with an execution, read and started again during the outage.
    let runbook = server
        .post(
            &format!("{PROJECT}/runbooks"),
            &admin,
            json!({"identifier": "rb", "name": "rb", "definition": {
                "steps": [{"kind": "http_request", "name": "ping", "method": "GET",
                           "url": "https://status.example/ping"}]
            }}),
        )
        .await;
    assert_eq!(runbook.status, StatusCode::CREATED, "{}", runbook.text);
    let execution = server
        .post(
            &format!("{PROJECT}/runbooks/rb/executions"),
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(execution.status, StatusCode::CREATED, "{}", execution.text);
    let execution = execution.body["id"].as_str().unwrap().to_owned();
    // An SLO, read and pushed to during the outage.
    crate::sre::service(&server, "slo-service").await;
    let slo = server
        .post(
            &format!("{PROJECT}/slos"),
            &admin,
            json!({"identifier": "slo", "name": "SLO", "definition": {
                "service": "slo-service", "target": 0.99,
                "time_window": {"duration": "7d"}, "budgeting_method": "occurrences",
                "indicator": {"ratio_metric": {"counter": true,
                    "good": {"metric_source": {"type": "Prometheus",
                             "spec": {"query": "outage_requests_total{code=\"200\"}"}}},
                    "total": {"metric_source": {"type": "Prometheus",
                              "spec": {"query": "outage_requests_total"}}}}},
                "pull": {"url": "http://127.0.0.1:9/"}}}),
        )
        .await;
    assert_eq!(slo.status, StatusCode::CREATED, "{}", slo.text);
    // A registered delegate, which polls during the outage.
    let delegate = server
        .post(
            &format!("{PROJECT}/delegates"),
            &admin,
            json!({"name": "edge"}),
        )
        .await;
    assert_eq!(delegate.status, StatusCode::CREATED, "{}", delegate.text);
    let registered = server
        .post(
            "/api/v1/delegate/register",
            "",
            json!({"registration_token": delegate.body["registration_token"], "version": "1"}),
        )
        .await;
    assert_eq!(
        registered.status,
        StatusCode::CREATED,
        "{}",
        registered.text
    );
    let delegate_credential = registered.body["credential"].as_str().unwrap().to_owned();

    let load = Load::default();
    let chaos = async {
        // Phase 1: PostgreSQL terminates this server's backends, mid-request, a few times.
        let killer =
            rampart_store::Store::connect(&server_url, &rampart_store::StoreOptions::default())
                .await
                .unwrap();
        tokio::time::sleep(Duration::from_millis(800)).await;
        let mut terminated = 0;
        for _ in 0..4 {
            let ports = proxy.upstream_ports();
            if !ports.is_empty() {
                let list = ports
                    .iter()
                    .map(u16::to_string)
                    .collect::<Vec<_>>()
                    .join(",");
                killer
                    .execute_raw_for_tests(&format!(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                         WHERE client_port IN ({list})"
                    ))
                    .await
                    .unwrap();
                terminated += ports.len();
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        killer.close().await;
        assert!(terminated > 0, "the server had connections to terminate");

        // Phase 2: every connection cut and new ones refused for a few seconds.
        proxy.cut();
        let during = server.get("/readyz", &admin).await;
        assert_eq!(
            (during.status, during.code()),
            (StatusCode::SERVICE_UNAVAILABLE, "store_unavailable"),
            "{}",
            during.text
        );
        tokio::time::sleep(Duration::from_secs(4)).await;
        proxy.restore();

        // Recovery without a restart.
        let mut ready = false;
        for _ in 0..60 {
            if server.get("/readyz", &admin).await.status == StatusCode::OK {
                ready = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        assert!(ready, "the server became ready again after the outage");
        tokio::time::sleep(Duration::from_millis(500)).await;
        load.stop.store(true, Ordering::SeqCst);
        terminated
    };
    let (terminated, (), (), (), (), ()) = tokio::join!(
        chaos,
        load.create_projects(&server, "a"),
        load.create_projects(&server, "b"),
        load.send_alerts(&server, &hook, "a"),
        load.send_alerts(&server, &hook, "b"),
        load.read(&server, &delegate_credential, &execution),
    );
    let after = server
        .post(
            "/api/v1/orgs/default/projects",
            &admin,
            json!({"identifier": "after-outage", "name": "After"}),
        )
        .await;
    assert_eq!(after.status, StatusCode::CREATED, "{}", after.text);

    let seen = load.seen.lock().unwrap().clone();
    let unavailable = seen
        .iter()
        .filter(|(status, _, _)| *status == StatusCode::SERVICE_UNAVAILABLE)
        .count();
    assert!(unavailable > 0, "the outage was felt by the load");
    for (status, code, retry_after) in &seen {
        assert!(
            status.is_success() || *status == StatusCode::SERVICE_UNAVAILABLE,
            "only successes and 503s during an outage, got {status} {code}"
        );
        if *status == StatusCode::SERVICE_UNAVAILABLE {
            assert_eq!(code, "store_unavailable");
            assert!(retry_after, "a 503 says when to retry");
        }
    }

    // No acknowledged write was lost: every created project is there, and every
    // acknowledged alert is known (sending it again only deduplicates).
    let projects = load.projects.lock().unwrap().clone();
    assert!(!projects.is_empty(), "some writes were acknowledged");
    for identifier in &projects {
        let reply = server
            .get(
                &format!("/api/v1/orgs/default/projects/{identifier}"),
                &admin,
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "project {identifier} was lost"
        );
    }
    let alerts = load.alerts.lock().unwrap().clone();
    assert!(!alerts.is_empty(), "some alerts were acknowledged");
    for key in &alerts {
        let again = send(&server, &hook, &generic(key, "trigger", "Outage"), &[]).await;
        assert_eq!(again.status, StatusCode::ACCEPTED);
        assert_eq!(
            again.body["alerts"][0]["outcome"], "deduplicated",
            "alert {key} was acknowledged, then lost"
        );
    }
    eprintln!(
        "outage: {} answers, {unavailable} × 503, {} projects and {} alerts acknowledged, \
         {terminated} backends terminated",
        seen.len(),
        projects.len(),
        alerts.len()
    );
}

/// What the load saw and what the server acknowledged; `stop` ends it.
#[derive(Default)]
struct Load {
    stop: AtomicBool,
    seen: Mutex<Vec<Seen>>,
    projects: Mutex<Vec<String>>,
    alerts: Mutex<Vec<String>>,
}

impl Load {
    fn record(&self, status: StatusCode, code: &str, headers: &reqwest::header::HeaderMap) {
        let retry_after = headers.contains_key("retry-after");
        self.seen
            .lock()
            .unwrap()
            .push((status, code.to_owned(), retry_after));
    }

    /// Creates projects (a key ring each: sealed writes) until stopped.
    async fn create_projects(&self, server: &TestServer, worker: &str) {
        let mut n = 0;
        while !self.stop.load(Ordering::SeqCst) {
            n += 1;
            let identifier = format!("p{worker}{n}");
            let reply = server
                .post(
                    "/api/v1/orgs/default/projects",
                    &server.admin_token,
                    json!({"identifier": identifier, "name": "Outage"}),
                )
                .await;
            self.record(reply.status, reply.code(), &reply.headers);
            if reply.status == StatusCode::CREATED {
                self.projects.lock().unwrap().push(identifier);
            }
        }
    }

    /// Sends new alerts through the webhook until stopped.
    async fn send_alerts(&self, server: &TestServer, hook: &Hook, worker: &str) {
        let mut n = 0;
        while !self.stop.load(Ordering::SeqCst) {
            n += 1;
            let key = format!("k{worker}{n}");
            let reply = send(server, hook, &generic(&key, "trigger", "Outage"), &[]).await;
            self.record(reply.status, reply.code(), &reply.headers);
            if reply.status == StatusCode::ACCEPTED {
                self.alerts.lock().unwrap().push(key);
            }
        }
    }

    /// Reads readiness, the incident list, the caller, a workspace's runs, variables
    /// and drift checks, the project's delegates and their tasks, the caller's contact
    /// methods and notifications, runbooks, executions and SLOs, polls as the delegate,
    /// starts executions and pushes SLO minutes, until stopped.
    async fn read(&self, server: &TestServer, delegate_credential: &str, execution: &str) {
        let incidents = format!("{PROJECT}/incidents");
        let workspace = format!("{PROJECT}/workspaces/app");
        let paths = [
            "/readyz".to_owned(),
            incidents,
            "/api/v1/me".to_owned(),
            format!("{workspace}/runs"),
            format!("{workspace}/variables/effective"),
            format!("{workspace}/drift-checks"),
            format!("{PROJECT}/delegates"),
            format!("{PROJECT}/delegate-tasks"),
            "/api/v1/orgs/default/contact-methods".to_owned(),
            "/api/v1/me/notifications".to_owned(),
            format!("{PROJECT}/runbooks"),
            format!("{PROJECT}/runbooks/rb"),
            format!("{PROJECT}/runbook-executions"),
            format!("{PROJECT}/runbook-executions/{execution}"),
            format!("{PROJECT}/slos"),
            format!("{PROJECT}/slos/slo"),
            format!("{PROJECT}/slos/slo/history"),
            format!("{PROJECT}/openslo"),
        ];
        let mut counter = 0.0;
        while !self.stop.load(Ordering::SeqCst) {
            for path in &paths {
                let reply = server.get(path, &server.admin_token).await;
                self.record(reply.status, reply.code(), &reply.headers);
            }
            let poll = server
                .get("/api/v1/delegate/tasks/next?wait=0", delegate_credential)
                .await;
            self.record(poll.status, poll.code(), &poll.headers);
            let started = server
                .post(
                    &format!("{PROJECT}/runbooks/rb/executions"),
                    &server.admin_token,
                    json!({}),
                )
                .await;
            self.record(started.status, started.code(), &started.headers);
            let minute = server.app().now().as_second().div_euclid(60) * 60 - 60;
            let minute = jiff::Timestamp::from_second(minute).unwrap();
            let pushed = server
                .post(
                    &format!("{PROJECT}/slos/slo/minutes"),
                    &server.admin_token,
                    json!({"minutes": [{"minute": minute.to_string(), "good": 9, "total": 10}]}),
                )
                .await;
            self.record(pushed.status, pushed.code(), &pushed.headers);
            // Prometheus' remote write of the SLO's counter, and an OpenSLO import of an
            // SLO (created once, then unchanged).
            counter += 10.0;
            let written = crate::sre::slo_remote_write::send(
                server,
                &server.admin_token,
                remote_write_body(server.app().now(), counter),
            )
            .await;
            self.record(written.status, written.code(), &written.headers);
            let imported =
                crate::sre::slo_openslo::send(server, &server.admin_token, OPENSLO).await;
            self.record(imported.status, imported.code(), &imported.headers);
            // The engine's SLO tick and retention: done, or the store is unavailable
            // (the tick runs again); never another error.
            for tick in [
                server.app().evaluate_slos().await.map(|_| ()),
                server.app().pull_slis().await.map(|_| ()),
                server.app().prune_slo_data().await.map(|_| ()),
            ] {
                let seen = match tick {
                    Ok(()) => (StatusCode::OK, String::new(), false),
                    Err(rampart_app::AppError::Unavailable(_)) => (
                        StatusCode::SERVICE_UNAVAILABLE,
                        "store_unavailable".to_owned(),
                        true,
                    ),
                    Err(other) => (
                        StatusCode::INTERNAL_SERVER_ERROR,
                        format!("SLO engine: {other}"),
                        false,
                    ),
                };
                self.seen.lock().unwrap().push(seen);
            }
        }
    }
}

/// An OpenSLO v1 SLO of the outage test's service.
const OPENSLO: &str = "apiVersion: openslo/v1
kind: SLO
metadata:
  name: imported
spec:
  service: slo-service
  budgetingMethod: Occurrences
  timeWindow:
    - duration: 28d
      isRolling: true
  objectives:
    - target: 0.999
";

/// A remote write of the outage SLO's counter at `at`: `value` requests, all good.
fn remote_write_body(at: jiff::Timestamp, value: f64) -> Vec<u8> {
    use rampart_app::sre::remote_write::{WriteRequest, encode};
    encode(&WriteRequest {
        timeseries: vec![crate::sre::slo_remote_write::series(
            &[("__name__", "outage_requests_total"), ("code", "200")],
            &[(at, value)],
        )],
    })
}
