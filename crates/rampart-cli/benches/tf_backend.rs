//! The Terraform state backend measured against Terraform's own backends, in one run:
//! the same `terraform apply` cycles (20 `terraform_data` resources, every one changed by
//! each of 10 applies) with the `local` backend, the `pg` backend on the local
//! PostgreSQL, and Rampart's `http` backend over HTTPS (a server in this process, SQLite,
//! sealed and chained versions, audited). Applies are interleaved across the three so
//! that drifts in machine load hit them alike. Then the raw throughput of writing and
//! reading a 20 MB state over HTTPS, next to single-core AES-256-GCM on this machine.
//!
//! Run: `cargo bench -p rampart-cli --bench tf_backend` (needs
//! `scripts/install-test-deps.sh`; the `pg` backend uses `RAMPART_TEST_DATABASE_URL`,
//! default `postgres://postgres@127.0.0.1:5432/test`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::disallowed_methods
)]

use std::time::{Duration, Instant};

use rampart_testkit::TestServer;
use rampart_testkit::terraform::{Terraform, http_backend_block};

const RESOURCES: usize = 20;
const APPLIES: usize = 10;
const BIG_STATE_MB: usize = 20;
const BIG_ROUNDS: usize = 5;

fn config(backend: &str) -> String {
    let mut config = format!("{backend}\nvariable \"v\" {{\n  type = string\n}}\n");
    for n in 0..RESOURCES {
        config.push_str(&format!(
            "resource \"terraform_data\" \"r{n}\" {{\n  input = \"${{var.v}}-{n}\"\n}}\n"
        ));
    }
    config
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// A state of about `mb` megabytes (one resource with a large attribute per MB).
fn big_state(serial: u64, mb: usize) -> Vec<u8> {
    let chunk = "x".repeat(1024 * 1024 - 200);
    let resources: Vec<serde_json::Value> = (0..mb)
        .map(|n| {
            serde_json::json!({"mode": "managed", "type": "terraform_data", "name": format!("big{n}"),
                "provider": "provider[\"terraform.io/builtin/terraform\"]",
                "instances": [{"schema_version": 0, "attributes": {"id": format!("{n}"), "blob": chunk}}]})
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({
        "version": 4, "terraform_version": "1.15.5", "serial": serial,
        "lineage": "bench-big", "outputs": {}, "resources": resources,
    }))
    .unwrap()
}

/// Raw AES-256-GCM sealing of `bytes` in place on one core, repeated for about a second.
fn aes_gcm_single_core_mb_s(bytes: usize) -> f64 {
    use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
    let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &[7u8; 32]).unwrap());
    let mut buffer = vec![1u8; bytes];
    let started = Instant::now();
    let mut rounds = 0u64;
    while started.elapsed() < Duration::from_secs(1) {
        let mut nonce = [0u8; 12];
        nonce[..8].copy_from_slice(&rounds.to_be_bytes());
        let tag = key
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::empty(),
                std::hint::black_box(&mut buffer),
            )
            .unwrap();
        let _ = std::hint::black_box(tag);
        rounds += 1;
    }
    let _ = std::hint::black_box(&buffer);
    (bytes as f64 * rounds as f64) / 1e6 / started.elapsed().as_secs_f64()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let server = TestServer::start().await;
    let pg_url = std::env::var("RAMPART_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let schema = format!("tfbench_{}", std::process::id());
    let backends = [
        ("local", Terraform::new(&config(""))),
        (
            "pg",
            Terraform::new(&config(&format!(
                "terraform {{\n  backend \"pg\" {{\n    conn_str = \"{pg_url}?sslmode=disable\"\n    schema_name = \"{schema}\"\n  }}\n}}\n"
            ))),
        ),
        (
            "rampart (https)",
            Terraform::new(&config(&http_backend_block(
                &server.url,
                "default",
                "default",
                "bench",
                &server.ca_cert,
            )))
            .env("TF_HTTP_PASSWORD", server.admin_token.as_str()),
        ),
    ];
    for (name, tf) in &backends {
        let init = tf.run(&["init"]).await;
        assert!(init.ok(), "{name}: {init:?}");
    }
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); backends.len()];
    // One warm-up apply each, not counted.
    for round in 0..=APPLIES {
        for (index, (name, tf)) in backends.iter().enumerate() {
            let var = format!("-var=v=round{round}");
            let started = Instant::now();
            let applied = tf.run(&["apply", "-auto-approve", &var]).await;
            let elapsed = started.elapsed();
            assert!(applied.ok(), "{name}: {applied:?}");
            if round > 0 {
                times[index].push(ms(elapsed));
            }
        }
    }
    println!(
        "terraform apply of {RESOURCES} terraform_data resources, {APPLIES} applies each (interleaved):"
    );
    let medians: Vec<f64> = times.iter().map(|t| median(t.clone())).collect();
    for ((name, _), (samples, median)) in backends.iter().zip(times.iter().zip(&medians)) {
        let mean = samples.iter().sum::<f64>() / samples.len() as f64;
        println!("  {name:<16} median {median:7.1} ms  mean {mean:7.1} ms per apply");
    }
    let faster = medians[0].min(medians[1]);
    println!(
        "  rampart / faster of local and pg: {:.3}× (goal ≤ 1.10×)",
        medians[2] / faster
    );

    // 20 MB state: write and read throughput over HTTPS.
    let url = format!("{}/tf/v1/default/default/big", server.url);
    let mut post_mb_s = Vec::new();
    let mut get_mb_s = Vec::new();
    let mut size = 0;
    for serial in 1..=BIG_ROUNDS as u64 {
        let body = big_state(serial, BIG_STATE_MB);
        size = body.len();
        let started = Instant::now();
        let reply = server
            .client
            .post(&url)
            .basic_auth("bench", Some(&server.admin_token))
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 200);
        post_mb_s.push(size as f64 / 1e6 / started.elapsed().as_secs_f64());
        let started = Instant::now();
        let reply = server
            .client
            .get(&url)
            .basic_auth("bench", Some(&server.admin_token))
            .send()
            .await
            .unwrap();
        let read = reply.bytes().await.unwrap();
        assert_eq!(read.len(), size);
        get_mb_s.push(size as f64 / 1e6 / started.elapsed().as_secs_f64());
    }
    println!(
        "{:.1} MB state over HTTPS: POST median {:.0} MB/s, GET median {:.0} MB/s; \
         single-core AES-256-GCM: {:.0} MB/s",
        size as f64 / 1e6,
        median(post_mb_s),
        median(get_mb_s),
        aes_gcm_single_core_mb_s(size)
    );
    server.stop().await;
}
