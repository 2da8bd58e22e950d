//! The SLO load harness, against a server in this process over HTTPS (SQLite, and
//! PostgreSQL when `RAMPART_TEST_DATABASE_URL` is set):
//!
//! 1. **Remote write**: 100 SLOs with ratio indicators on `http_requests_total`; writes
//!    shaped like Prometheus' (2 000 series of one sample each, snappy protobuf), a tenth
//!    of the series selected by SLOs (100 jobs × 20 instances × good and error codes,
//!    each series' counter growing from write to write), the rest other metrics no SLO
//!    selects; 8 connections (Prometheus' shards) at full speed. Reports samples/s and
//!    latency; every write must answer 200.
//! 2. **Evaluation**: 900 more SLOs, a day of pushed minutes for each of the 1 000, then
//!    the engine's tick (`App::evaluate_slos`: every SLO's budget and burn rates) timed:
//!    the first (which reads every window) and then ticks after each SLO's newest minute
//!    changed (which read only that).
//!
//! Run: `cargo bench -p rampart-cli --bench slo_load`. The load generator shares the
//! machine's two cores with the server.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::disallowed_methods
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rampart_app::sre::remote_write::{Label, Sample, TimeSeries, WriteRequest, encode};
use rampart_testkit::TestServer;
use serde_json::json;

const PROJECT: &str = "/api/v1/orgs/default/projects/default";
const SLOS_WITH_INDICATORS: usize = 100;
const SLOS_EVALUATED: usize = 1_000;
const INSTANCES: usize = 20;
const SERIES_PER_WRITE: usize = 2_000;
const MATCHED_PER_WRITE: usize = 200;
const WRITES: usize = 1_500;
const CONNECTIONS: usize = 8;
const FULL_SPEED: Duration = Duration::from_secs(10);
const TICKS: usize = 5;

fn label(name: &str, value: &str) -> Label {
    Label {
        name: name.as_bytes().to_vec().into(),
        value: value.as_bytes().to_vec().into(),
    }
}

fn prometheus(query: String) -> serde_json::Value {
    json!({"metric_source": {"type": "Prometheus", "spec": {"query": query}}})
}

/// The write of round `round`: one shard of the SLO series (each series appears every
/// `matched / MATCHED_PER_WRITE` rounds, its counter and timestamp grown) and other
/// metrics.
fn write_body(round: usize, start_ms: i64) -> Vec<u8> {
    let matched_pool = SLOS_WITH_INDICATORS * INSTANCES * 2;
    let shards = matched_pool / MATCHED_PER_WRITE;
    let shard = round % shards;
    let at = start_ms + round as i64 * 1_000;
    let mut timeseries = Vec::with_capacity(SERIES_PER_WRITE);
    for n in 0..MATCHED_PER_WRITE {
        let index = shard * MATCHED_PER_WRITE + n;
        let (job, rest) = (index / (INSTANCES * 2), index % (INSTANCES * 2));
        let (instance, error) = (rest / 2, !rest.is_multiple_of(2));
        let seen = (round / shards) as f64;
        timeseries.push(TimeSeries {
            labels: vec![
                label("__name__", "http_requests_total"),
                label("job", &format!("svc-{job}")),
                label("instance", &format!("i-{instance}")),
                label("code", if error { "500" } else { "200" }),
            ],
            samples: vec![Sample {
                value: seen * if error { 1.0 } else { 999.0 },
                timestamp: at,
            }],
        });
    }
    for n in 0..SERIES_PER_WRITE - MATCHED_PER_WRITE {
        let key = (round * SERIES_PER_WRITE + n) % 100_000;
        timeseries.push(TimeSeries {
            labels: vec![
                label("__name__", "node_cpu_seconds_total"),
                label("instance", &format!("node-{}", key / 64)),
                label("cpu", &format!("{}", key % 16)),
                label(
                    "mode",
                    if key.is_multiple_of(4) {
                        "idle"
                    } else {
                        "user"
                    },
                ),
            ],
            samples: vec![Sample {
                value: round as f64,
                timestamp: at,
            }],
        });
    }
    encode(&WriteRequest { timeseries })
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn create_slo(server: &TestServer, identifier: &str, definition: serde_json::Value) {
    let created = server
        .post(
            &format!("{PROJECT}/slos"),
            &server.admin_token,
            json!({"identifier": identifier, "name": identifier, "definition": definition}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
}

async fn remote_write_phase(server: &TestServer, engine: &str) {
    for job in 0..SLOS_WITH_INDICATORS {
        create_slo(
            server,
            &format!("svc-{job}"),
            json!({"service": "web", "target": 0.999, "time_window": {"duration": "28d"},
                   "budgeting_method": "occurrences",
                   "indicator": {"ratio_metric": {"counter": true,
                       "bad": prometheus(format!("http_requests_total{{job=\"svc-{job}\",code=~\"5..\"}}")),
                       "total": prometheus(format!("http_requests_total{{job=\"svc-{job}\"}}"))}}}),
        )
        .await;
    }
    let start_ms = jiff::Timestamp::now().as_millisecond() - 60 * 60 * 1000;
    let bodies: Arc<Vec<Vec<u8>>> = Arc::new(
        (0..WRITES)
            .map(|round| write_body(round, start_ms))
            .collect(),
    );
    let url: Arc<str> = format!("{}{PROJECT}/prometheus/write", server.url).into();
    let token: Arc<str> = server.admin_token.clone().into();
    let next = Arc::new(AtomicUsize::new(0));
    let taken = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..CONNECTIONS)
        .map(|_| {
            let (client, url, token) = (server.client.clone(), url.clone(), token.clone());
            let (bodies, next, taken) = (bodies.clone(), next.clone(), taken.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                loop {
                    let round = next.fetch_add(1, Ordering::Relaxed);
                    if round >= bodies.len() || started.elapsed() >= FULL_SPEED {
                        break;
                    }
                    let sent = Instant::now();
                    let reply = client
                        .post(&*url)
                        .bearer_auth(&*token)
                        .header("content-type", "application/x-protobuf")
                        .header("content-encoding", "snappy")
                        .header("x-prometheus-remote-write-version", "0.1.0")
                        .body(bodies[round].clone())
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(reply.status(), 200);
                    let outcome: serde_json::Value = reply.json().await.unwrap();
                    latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
                    taken.fetch_add(outcome["taken"].as_u64().unwrap(), Ordering::Relaxed);
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.unwrap());
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    let writes = latencies.len();
    let samples = writes * SERIES_PER_WRITE;
    println!(
        "{engine}: remote write, {SLOS_WITH_INDICATORS} SLOs, {CONNECTIONS} connections: \
         {:.0} samples/s ({:.0} writes/s of {SERIES_PER_WRITE}), p50 {:.1} ms, p99 {:.1} ms; \
         {} of {samples} samples counted into SLOs (each SLO series counts once per SLO)",
        samples as f64 / elapsed,
        writes as f64 / elapsed,
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        taken.load(Ordering::Relaxed),
    );
}

async fn evaluation_phase(server: &TestServer, engine: &str) {
    for n in SLOS_WITH_INDICATORS..SLOS_EVALUATED {
        create_slo(
            server,
            &format!("pushed-{n}"),
            json!({"service": "web", "target": 0.999, "time_window": {"duration": "28d"},
                   "budgeting_method": if n.is_multiple_of(2) { "occurrences" } else { "timeslices" },
                   "time_slice_target": if n.is_multiple_of(2) { None } else { Some(0.95) }}),
        )
        .await;
    }
    let now = jiff::Timestamp::now();
    let minute = |back: i64| {
        let at = now - jiff::SignedDuration::from_mins(back);
        jiff::Timestamp::from_second(at.as_second() - at.as_second().rem_euclid(60)).unwrap()
    };
    let day: Vec<serde_json::Value> = (1..=1440)
        .map(|back| json!({"minute": minute(back).to_string(), "good": 1000.0, "total": 1000.0}))
        .collect();
    let filled = Instant::now();
    let listed = server
        .get(&format!("{PROJECT}/slos?limit=500"), &server.admin_token)
        .await;
    let mut identifiers: Vec<String> = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|slo| slo["identifier"].as_str().unwrap().to_owned())
        .collect();
    let more = server
        .get(
            &format!(
                "{PROJECT}/slos?limit=500&cursor={}",
                listed.body["next_cursor"].as_str().unwrap()
            ),
            &server.admin_token,
        )
        .await;
    identifiers.extend(
        more.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|slo| slo["identifier"].as_str().unwrap().to_owned()),
    );
    assert_eq!(identifiers.len(), SLOS_EVALUATED);
    for identifier in &identifiers {
        let pushed = server
            .post(
                &format!("{PROJECT}/slos/{identifier}/minutes"),
                &server.admin_token,
                json!({"minutes": day}),
            )
            .await;
        assert_eq!(pushed.status, 200, "{}", pushed.text);
    }
    println!(
        "{engine}: pushed a day of minutes to each of {SLOS_EVALUATED} SLOs in {:.1} s",
        filled.elapsed().as_secs_f64()
    );
    // The first tick reads every SLO's window: nothing is kept yet.
    let started = Instant::now();
    server.app().evaluate_slos().await.unwrap();
    let first = started.elapsed().as_secs_f64() * 1000.0;
    // Then as in steady use: between two ticks every SLO's newest minute changes (as
    // a remote write or a push each minute does), and a tick reads only what changed.
    let mut ticks = Vec::new();
    for round in 0..TICKS {
        let newest = json!({"minutes": [{"minute": minute(0).to_string(),
                                         "good": 990.0 + round as f64, "total": 1000.0}]});
        for identifier in &identifiers {
            let pushed = server
                .post(
                    &format!("{PROJECT}/slos/{identifier}/minutes"),
                    &server.admin_token,
                    newest.clone(),
                )
                .await;
            assert_eq!(pushed.status, 200, "{}", pushed.text);
        }
        let started = Instant::now();
        server.app().evaluate_slos().await.unwrap();
        ticks.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    ticks.sort_by(f64::total_cmp);
    println!(
        "{engine}: evaluating {SLOS_EVALUATED} SLOs (28-day windows, a day of data each): \
         first tick {first:.0} ms; then, each SLO's newest minute changed before each tick, \
         median {:.0} ms per tick, fastest {:.0} ms, slowest {:.0} ms ({TICKS} ticks)",
        percentile(&ticks, 0.5),
        ticks[0],
        ticks[ticks.len() - 1]
    );
}

async fn run(server: TestServer, engine: &str) {
    server
        .post(
            &format!("{PROJECT}/services"),
            &server.admin_token,
            json!({"identifier": "web", "name": "Web"}),
        )
        .await;
    remote_write_phase(&server, engine).await;
    evaluation_phase(&server, engine).await;
    server.stop().await;
}

/// A server whose engine does not tick on its own (the harness times the ticks).
async fn server(engine: Option<rampart_testkit::Engine>) -> TestServer {
    TestServer::start_with(rampart_testkit::Options {
        engine,
        configure: Some(Box::new(|config| {
            config.oncall.engine_interval_secs = 3600;
            // A thousand pushes between two ticks, from one identity.
            config.rate_limits.requests_per_second_per_principal = 0;
            config.rate_limits.requests_per_second_per_ip = 0;
        })),
        ..Default::default()
    })
    .await
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    run(server(None).await, "SQLite").await;
    if rampart_testkit::postgres_server_url().is_some() {
        run(
            server(Some(rampart_testkit::Engine::Postgres)).await,
            "PostgreSQL",
        )
        .await;
    }
}
