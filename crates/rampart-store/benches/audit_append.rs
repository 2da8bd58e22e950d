//! Audit append throughput in the batch path (`Store::append_audit_batch`, which the
//! authentication group-commit queue uses): events per second, durable (SQLite WAL with
//! synchronous=FULL; PostgreSQL with its default fsync), each event a Merkle leaf
//! (position reserved under the head row's lock, leaf hash computed). Goal: ≥ 50 000
//! events/s.
//!
//! Run: `cargo bench -p rampart-store --bench audit_append` (PostgreSQL too when
//! `RAMPART_TEST_DATABASE_URL` is set).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::disallowed_methods
)]

use std::time::Instant;

use jiff::Timestamp;
use rampart_store::{AuditRecord, Store, StoreOptions};

const BATCH: usize = 1_000;
const BATCHES: usize = 200;

fn record(n: usize) -> AuditRecord {
    AuditRecord {
        // Time-ordered, as the app mints them (UUIDv7).
        id: {
            let mut random = [0u8; 10];
            random[2..].copy_from_slice(&(n as u64).to_be_bytes());
            uuid::Builder::from_unix_timestamp_millis(1_795_000_000_000 + n as u64 / 50, &random)
                .into_uuid()
                .to_string()
        },
        occurred_at: Timestamp::from_second(1_795_000_000).unwrap(),
        actor: Some("user:01a20719-0dcc-738b-a71e-fc7f7b705d26".into()),
        auth_method: Some("token".into()),
        token_id: Some("01a20719-0dcc-7ea2-984b-c3d6fceee3b3".into()),
        client_ip: Some("10.1.2.3".into()),
        org_id: Some("01a2078b-8dea-7952-b60e-e0af5598e22b".into()),
        project_id: Some("01a2078b-8dea-79a5-9399-c134d0180be8".into()),
        action: "auth.success".into(),
        resource_type: "credential".into(),
        resource_id: None,
        outcome: "success".into(),
        request_id: Some(format!("req-{n:012}")),
        details: "{}".into(),
    }
}

async fn run(name: &str, store: &Store) {
    let batches: Vec<Vec<AuditRecord>> = (0..BATCHES)
        .map(|b| (0..BATCH).map(|i| record(b * BATCH + i)).collect())
        .collect();
    // Warm-up.
    store.append_audit_batch(&batches[0]).await.unwrap();
    let started = Instant::now();
    for batch in &batches[1..] {
        store.append_audit_batch(batch).await.unwrap();
    }
    let elapsed = started.elapsed();
    let events = (BATCHES - 1) * BATCH;
    // Every event is a committed leaf: the measurement counts real work.
    assert_eq!(
        store.audit_tree_size().await.unwrap(),
        (BATCHES * BATCH) as u64
    );
    println!(
        "{name}: {events} events in batches of {BATCH}: {:.2} s ({:.0} events/s, {:.2} ms per batch)",
        elapsed.as_secs_f64(),
        events as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1000.0 / (BATCHES - 1) as f64
    );
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("bench.db").display()
    );
    let store = Store::connect(&url, &StoreOptions::default())
        .await
        .unwrap();
    store.migrate(0).await.unwrap();
    run("sqlite", &store).await;
    store.close().await;

    if let Ok(server) = std::env::var("RAMPART_TEST_DATABASE_URL") {
        let schema = rampart_store::testing::TestSchema::create(&server)
            .await
            .unwrap();
        let store = Store::connect(schema.url(), &StoreOptions::default())
            .await
            .unwrap();
        store.migrate(0).await.unwrap();
        run("postgres", &store).await;
        store.close().await;
        schema.drop_now().await.unwrap();
    }
}
