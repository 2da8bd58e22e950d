//! Plan upload end to end over HTTPS: a 20 MB plan JSON (`terraform show -json` shape:
//! resource changes with large before/after values, planned values, prior state) posted
//! to `…/workspaces/{w}/plans` — read, checked and summarised, sealed twice (JSON and
//! summary), stored and audited — next to a 20 MB state POST to the Terraform backend in
//! the same run, median of 5 each (the state figure of `tf_backend`, measured alike);
//! then the same plan again with a policy set of the project checking it — the ten
//! fixture policies of the OPA differential test (`tests/fixtures/policies/hcp`), so
//! each upload also prices the plan, converts it for the engine and evaluates ten
//! modules.
//!
//! Run: `cargo bench -p rampart-cli --bench plan_upload`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::disallowed_methods
)]

use std::time::Instant;

use rampart_testkit::TestServer;
use serde_json::{Value, json};

const MB: usize = 20;
const ROUNDS: usize = 5;

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// A plan of about `mb` megabytes: one `terraform_data` update per MB, whose before and
/// after values each hold half a megabyte, with its planned and prior values.
fn big_plan(mb: usize) -> Vec<u8> {
    let chunk = "x".repeat(256 * 1024 - 100);
    let value =
        |n: usize, side: &str| json!({"id": format!("{n}"), "input": format!("{side}{chunk}")});
    let changes: Vec<Value> = (0..mb)
        .map(|n| {
            json!({"address": format!("terraform_data.big{n}"), "mode": "managed",
                "type": "terraform_data", "name": format!("big{n}"),
                "provider_name": "terraform.io/builtin/terraform",
                "change": {"actions": ["update"], "before": value(n, "a"), "after": value(n, "b"),
                           "after_unknown": {"output": true},
                           "before_sensitive": {}, "after_sensitive": {}}})
        })
        .collect();
    let resources = |side: &str| -> Vec<Value> {
        (0..mb)
            .map(|n| {
                json!({"address": format!("terraform_data.big{n}"), "mode": "managed",
                    "type": "terraform_data", "name": format!("big{n}"),
                    "provider_name": "terraform.io/builtin/terraform", "schema_version": 0,
                    "values": value(n, side), "sensitive_values": {}})
            })
            .collect()
    };
    serde_json::to_vec(&json!({
        "format_version": "1.2", "terraform_version": "1.15.5",
        "planned_values": {"root_module": {"resources": resources("b")}},
        "prior_state": {"format_version": "1.0", "terraform_version": "1.15.5",
                        "values": {"root_module": {"resources": resources("a")}}},
        "resource_changes": changes,
        "configuration": {"root_module": {}},
    }))
    .unwrap()
}

/// A state of about `mb` megabytes, as `tf_backend` writes it.
fn big_state(serial: u64, mb: usize) -> Vec<u8> {
    let chunk = "x".repeat(1024 * 1024 - 200);
    let resources: Vec<Value> = (0..mb)
        .map(|n| {
            json!({"mode": "managed", "type": "terraform_data", "name": format!("big{n}"),
                "provider": "provider[\"terraform.io/builtin/terraform\"]",
                "instances": [{"schema_version": 0, "attributes": {"id": format!("{n}"), "blob": chunk}}]})
        })
        .collect();
    serde_json::to_vec(&json!({
        "version": 4, "terraform_version": "1.15.5", "serial": serial,
        "lineage": "bench-big", "outputs": {}, "resources": resources,
    }))
    .unwrap()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let server = TestServer::start().await;
    let token = server.admin_token.clone();
    let state_url = format!("{}/tf/v1/default/default/big", server.url);
    let plans_url = format!(
        "{}/api/v1/orgs/default/projects/default/workspaces/big/plans",
        server.url
    );
    let plan = big_plan(MB);
    let mut state_mb_s = Vec::new();
    let mut plan_mb_s = Vec::new();
    for serial in 1..=ROUNDS as u64 {
        // Interleaved, so that drifts in machine load hit both alike.
        let state = big_state(serial, MB);
        let size = state.len();
        let started = Instant::now();
        let reply = server
            .client
            .post(&state_url)
            .basic_auth("bench", Some(&token))
            .body(state)
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 200);
        state_mb_s.push(size as f64 / 1e6 / started.elapsed().as_secs_f64());

        let started = Instant::now();
        let reply = server
            .client
            .post(&plans_url)
            .bearer_auth(&token)
            .body(plan.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 201, "{}", reply.text().await.unwrap());
        plan_mb_s.push(plan.len() as f64 / 1e6 / started.elapsed().as_secs_f64());
    }
    // The same uploads, now checked by a set of ten policies.
    let policies =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/policies/hcp");
    let mut modules: Vec<Value> = std::fs::read_dir(&policies)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .map(|path| {
            json!({"name": path.file_name().unwrap().to_str().unwrap(),
                   "source": std::fs::read_to_string(&path).unwrap()})
        })
        .collect();
    modules.sort_by_key(|module| module["name"].as_str().unwrap().to_owned());
    let created = server
        .post(
            "/api/v1/orgs/default/projects/default/policy-sets",
            &token,
            json!({"identifier": "bench", "name": "Bench", "entity": "plan",
                   "enforcement": "advisory", "modules": modules}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let mut checked_mb_s = Vec::new();
    for _ in 0..ROUNDS {
        let started = Instant::now();
        let reply = server
            .client
            .post(&plans_url)
            .bearer_auth(&token)
            .body(plan.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 201, "{}", reply.text().await.unwrap());
        checked_mb_s.push(plan.len() as f64 / 1e6 / started.elapsed().as_secs_f64());
    }
    println!(
        "{:.1} MB plan JSON over HTTPS: upload median {:.0} MB/s; {MB} MB state POST in the \
         same run: median {:.0} MB/s; the plan upload checked by ten policies: median {:.1} MB/s",
        plan.len() as f64 / 1e6,
        median(plan_mb_s),
        median(state_mb_s),
        median(checked_mb_s),
    );
    server.stop().await;
}
