//! The webhook load harness: Alertmanager-format payloads posted over HTTPS with many
//! connections to a server in this process (SQLite, durable: WAL with synchronous=FULL),
//! each alert deduplicated, sealed and the delivery audited, next to an empty-handler
//! baseline (`GET /healthz`) of the same server measured in the same run.
//!
//! Phases: baseline at full speed; webhooks at full speed (sustained events/s; an event
//! is one alert; half the deliveries open new alert groups, half repeat earlier ones);
//! webhooks at a fixed 5 000 events/s (latency percentiles).
//!
//! Run: `cargo bench -p rampart-cli --bench webhook_load`. The load generator shares
//! the machine's two cores with the server.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::disallowed_methods
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rampart_testkit::TestServer;
use serde_json::json;

const CONNECTIONS: usize = 64;
const ALERTS_PER_DELIVERY: usize = 10;
const FULL_SPEED: Duration = Duration::from_secs(10);
const FIXED_RATE_EVENTS: u64 = 5_000;
const FIXED_RATE_FOR: Duration = Duration::from_secs(10);

fn payload(group: u64) -> Vec<u8> {
    let alerts: Vec<serde_json::Value> = (0..ALERTS_PER_DELIVERY)
        .map(|n| {
            json!({"status": "firing",
                   "labels": {"alertname": "HighLatency", "instance": format!("web-{n}"), "severity": "warning"},
                   "annotations": {"summary": format!("p99 above 2s on web-{n}")},
                   "startsAt": "2026-11-23T10:00:00Z", "generatorURL": "http://prometheus/graph",
                   "fingerprint": format!("{group:08x}{n:08x}")})
        })
        .collect();
    serde_json::to_vec(&json!({
        "version": "4", "groupKey": format!("{{}}:{{alertname=\"HighLatency\",group=\"{group}\"}}"),
        "truncatedAlerts": 0, "status": "firing", "receiver": "rampart",
        "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093", "alerts": alerts
    }))
    .unwrap()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

struct Run {
    requests: u64,
    elapsed: Duration,
    latencies_ms: Vec<f64>,
}

/// Sends requests from `CONNECTIONS` tasks until `duration` is over; `rate` (requests/s,
/// across all tasks) paces them when given.
async fn drive(
    duration: Duration,
    rate: Option<u64>,
    send: Arc<dyn Fn(u64) -> futures_util::future::BoxFuture<'static, bool> + Send + Sync>,
) -> Run {
    let counter = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..CONNECTIONS)
        .map(|_| {
            let counter = counter.clone();
            let send = send.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                loop {
                    let n = counter.fetch_add(1, Ordering::Relaxed);
                    if let Some(rate) = rate {
                        let due = started + Duration::from_secs_f64(n as f64 / rate as f64);
                        tokio::time::sleep_until(due.into()).await;
                    }
                    if started.elapsed() >= duration {
                        break;
                    }
                    let sent = Instant::now();
                    assert!(send(n).await, "a request failed");
                    latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
                }
                latencies
            })
        })
        .collect();
    let mut latencies_ms = Vec::new();
    for task in tasks {
        latencies_ms.extend(task.await.unwrap());
    }
    latencies_ms.sort_by(f64::total_cmp);
    Run {
        requests: latencies_ms.len() as u64,
        elapsed: started.elapsed(),
        latencies_ms,
    }
}

fn report(name: &str, run: &Run, events_per_request: u64) {
    let seconds = run.elapsed.as_secs_f64();
    println!(
        "{name:<34} {:>8.0} req/s {:>9.0} events/s  p50 {:>6.2} ms  p99 {:>7.2} ms  ({} requests)",
        run.requests as f64 / seconds,
        (run.requests * events_per_request) as f64 / seconds,
        percentile(&run.latencies_ms, 0.50),
        percentile(&run.latencies_ms, 0.99),
        run.requests
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let server = TestServer::start().await;
    let admin = server.admin_token.clone();
    let project = "/api/v1/orgs/default/projects/default";
    server
        .post(
            &format!("{project}/services"),
            &admin,
            json!({"identifier": "web", "name": "Web"}),
        )
        .await;
    let created = server
        .post(
            &format!("{project}/services/web/integrations"),
            &admin,
            json!({"name": "AM", "format": "alertmanager", "auth_mode": "bearer",
                   "rate_limit_per_minute": 6_000_000}),
        )
        .await;
    let token: Arc<str> = created.body["token"].as_str().unwrap().into();
    let url: Arc<str> = format!(
        "{}{}",
        server.url,
        created.body["integration"]["url_path"].as_str().unwrap()
    )
    .into();
    let health: Arc<str> = format!("{}/healthz", server.url).into();
    let client = server.client.clone();

    let baseline = {
        let client = client.clone();
        let health = health.clone();
        drive(
            FULL_SPEED,
            None,
            Arc::new(move |_| {
                let client = client.clone();
                let health = health.clone();
                Box::pin(async move {
                    client
                        .get(&*health)
                        .send()
                        .await
                        .is_ok_and(|r| r.status().is_success())
                })
            }),
        )
        .await
    };
    let webhook = |offset: u64| {
        let client = client.clone();
        let url = url.clone();
        let token = token.clone();
        Arc::new(move |n: u64| {
            let client = client.clone();
            let url = url.clone();
            let token = token.clone();
            // Even deliveries open a new group; odd ones repeat a recent one (dedup).
            let group = offset
                + if n.is_multiple_of(2) {
                    n
                } else {
                    n.saturating_sub(1)
                };
            Box::pin(async move {
                client
                    .post(&*url)
                    .bearer_auth(&*token)
                    .header("content-type", "application/json")
                    .body(payload(group))
                    .send()
                    .await
                    .is_ok_and(|r| r.status() == 202)
            }) as futures_util::future::BoxFuture<'static, bool>
        })
            as Arc<dyn Fn(u64) -> futures_util::future::BoxFuture<'static, bool> + Send + Sync>
    };
    let full = drive(FULL_SPEED, None, webhook(0)).await;
    let paced = drive(
        FIXED_RATE_FOR,
        Some(FIXED_RATE_EVENTS / ALERTS_PER_DELIVERY as u64),
        webhook(1 << 40),
    )
    .await;

    println!(
        "{CONNECTIONS} connections, {ALERTS_PER_DELIVERY} alerts per Alertmanager delivery, HTTPS, SQLite:"
    );
    report("baseline GET /healthz", &baseline, 1);
    report("webhooks, full speed", &full, ALERTS_PER_DELIVERY as u64);
    report(
        &format!("webhooks at {FIXED_RATE_EVENTS} events/s"),
        &paced,
        ALERTS_PER_DELIVERY as u64,
    );
    let alerts = server
        .get(&format!("{project}/incidents?limit=1"), &admin)
        .await;
    println!(
        "newest incident number after the run: {}",
        alerts.body["items"][0]["number"]
    );
    server.stop().await;
}
