//! The web UI's server render, against a server in this process over HTTPS (SQLite, and
//! PostgreSQL when `RAMPART_TEST_DATABASE_URL` is set): a project with 1 000 incidents,
//! a signed-in session, then sequential requests of
//!
//! - the incident list page (every status: the newest 50 of the 1 000, with filters,
//!   severity labels and service names),
//! - an incident's page,
//! - the home page,
//! - and, for reference, the API's JSON list of the same 50 incidents (same session),
//!
//! reporting p50 and p99 per page and each page's size. The goal: the incident
//! list with 1 000 incidents at p99 ≤ 20 ms.
//!
//! Run: `cargo bench -p rampart-cli --bench web_render`. Client and server share the
//! machine's two cores.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::disallowed_methods
)]

use std::time::{Duration, Instant};

use rampart_testkit::{StatusCode, TestServer};
use serde_json::json;

const PROJECT: &str = "/api/v1/orgs/default/projects/default";
const INCIDENTS: usize = 1_000;
const WARM_UP: usize = 20;
const REQUESTS: usize = 400;
const PASSWORD: &str = "harbour amber violet 7919";

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

async fn measure(server: &TestServer, engine: &str) {
    let admin = server.admin_token.clone();
    let id = server.create_user("ops@example.com", PASSWORD).await;
    let granted = server
        .post(
            &format!("{PROJECT}/role-assignments"),
            &admin,
            json!({"principal": format!("user:{id}"), "role": "_project_admin"}),
        )
        .await;
    assert_eq!(granted.status, StatusCode::CREATED, "{}", granted.text);
    for number in 0..INCIDENTS {
        let created = server
            .post(
                &format!("{PROJECT}/incidents"),
                &admin,
                json!({"title": format!("Checkout errors in region {number}"),
                       "severity": format!("SEV{}", number % 5)}),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    }

    let tls = rampart_cli::client::tls_client_config(Some(&server.ca_cert)).unwrap();
    let client = reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let signed_in = client
        .post(format!("{}/login", server.url))
        .header("origin", &server.url)
        .form(&[("email", "ops@example.com"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    let cookie = signed_in.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();

    let pages = [
        (
            "incident list page (50 of 1 000)",
            "/o/default/p/default/incidents?status=",
        ),
        ("incident page", "/o/default/p/default/incidents/500"),
        ("home page", "/"),
        (
            "API: JSON list of the same 50",
            "/api/v1/orgs/default/projects/default/incidents?limit=50",
        ),
    ];
    println!("\n{engine}: {INCIDENTS} incidents, {REQUESTS} sequential requests per page");
    println!("| page | p50 | p99 | bytes |");
    println!("|---|---|---|---|");
    for (name, path) in pages {
        let mut timings = Vec::with_capacity(REQUESTS);
        let mut bytes = 0;
        for round in 0..WARM_UP + REQUESTS {
            // The same session for the API (an API token has a request budget).
            let request = client
                .get(format!("{}{path}", server.url))
                .header("cookie", &cookie);
            let started = Instant::now();
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            let body = response.bytes().await.unwrap();
            let elapsed = started.elapsed();
            bytes = body.len();
            if round >= WARM_UP {
                timings.push(elapsed);
            }
        }
        timings.sort();
        println!(
            "| {name} | {:.1} ms | {:.1} ms | {bytes} |",
            percentile(&timings, 0.5).as_secs_f64() * 1e3,
            percentile(&timings, 0.99).as_secs_f64() * 1e3,
        );
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let server = TestServer::start().await;
    measure(&server, "SQLite").await;
    server.stop().await;
    if let Some(server) = TestServer::start_postgres().await {
        measure(&server, "PostgreSQL").await;
        server.stop().await;
    }
}
