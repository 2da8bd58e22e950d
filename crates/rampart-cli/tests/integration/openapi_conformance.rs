//! The server against its own OpenAPI document, checked by schemathesis (PyPI, pinned in
//! `scripts/install-test-deps.sh`, in the venv `target/test-deps/venv`): a real server
//! over TLS with realistic objects behind every path parameter it can fill, then
//! `st run` over the served document with a fixed seed and a bounded number of cases per
//! operation. Any server error, any status the document does not list, any body or
//! content type that does not match it fails the test, with schemathesis's report.
//! SQLite always (every phase); PostgreSQL at the same time when
//! `RAMPART_TEST_DATABASE_URL` is set (the random and stateful phases).
//!
//! Left out of the run, with reasons: `DELETE /api/v1/tokens/{token_id}` in the stateful
//! phase (it would revoke the run's own token); the deletes of organisations, projects,
//! users and tokens are pointed at objects made to be deleted.

use std::path::{Path, PathBuf};
use std::process::Command;

use rampart_testkit::{Engine, Options, StatusCode, TestServer};
use serde_json::{Value, json};

/// The seed and the cases per operation: the same run every time.
const SEED: u32 = 21;
const MAX_EXAMPLES: u32 = 5;
const CHECKS: &str = "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance";
const PROJECT: &str = "/api/v1/orgs/default/projects/default";

fn schemathesis() -> PathBuf {
    let st = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/test-deps/venv/bin/st");
    assert!(
        st.exists(),
        "schemathesis is missing: run scripts/install-test-deps.sh (it installs the pinned \
         version into target/test-deps/venv)"
    );
    st
}

async fn created(server: &TestServer, path: &str, body: Value) -> Value {
    let reply = server.post(path, &server.admin_token, body).await;
    assert!(
        reply.status == StatusCode::CREATED || reply.status == StatusCode::OK,
        "{path}: {} {}",
        reply.status,
        reply.text
    );
    reply.body
}

/// What the run's path parameters name: objects made through the API, so that
/// operations reach their logic rather than a 404.
async fn seed(server: &TestServer) -> String {
    let admin = server.admin_token.clone();
    // Made to be deleted: the deletes of organisations, projects, users and tokens are
    // pointed at these, never at what the rest of the run (and its own credentials)
    // stands on.
    created(
        server,
        "/api/v1/orgs",
        json!({"identifier": "doomed", "name": "Doomed"}),
    )
    .await;
    created(
        server,
        "/api/v1/orgs/default/projects",
        json!({"identifier": "doomed", "name": "Doomed"}),
    )
    .await;
    let doomed_user = created(
        server,
        "/api/v1/users",
        json!({"email": "doomed@example.com", "display_name": "Doomed"}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let doomed_token = created(
        server,
        "/api/v1/tokens",
        json!({"name": "doomed", "expires_in_days": 1}),
    )
    .await;
    rampart_testkit::remember_secret(doomed_token["secret"].as_str().unwrap());
    let doomed_token = doomed_token["token"]["id"].as_str().unwrap().to_owned();

    let user = created(
        server,
        "/api/v1/users",
        json!({"email": "oncall@example.com", "display_name": "On Call"}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    created(
        server,
        &format!("{PROJECT}/services"),
        json!({"identifier": "svc", "name": "Service"}),
    )
    .await;
    created(
        server,
        &format!("{PROJECT}/schedules"),
        json!({"identifier": "primary", "name": "Primary", "definition": {
            "time_zone": "UTC",
            "layers": [{"name": "day", "unit": "day", "first_handoff": "2026-11-02T09:00",
                        "participants": [user]}]}}),
    )
    .await;
    created(
        server,
        &format!("{PROJECT}/escalation-policies"),
        json!({"identifier": "pol", "name": "Policy", "definition": {
            "levels": [{"delay_minutes": 5, "targets": [{"type": "schedule", "id": "primary"}]}]}}),
    )
    .await;
    created(
        server,
        &format!("{PROJECT}/secrets"),
        json!({"identifier": "sec", "name": "Secret", "value": "s3cret value"}),
    )
    .await;
    rampart_testkit::remember_secret("s3cret value");
    let integration = created(
        server,
        &format!("{PROJECT}/services/svc/integrations"),
        json!({"name": "hook", "format": "generic", "auth_mode": "bearer"}),
    )
    .await;
    let integration_id = integration["integration"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let webhook_token = integration["token"].as_str().unwrap().to_owned();
    rampart_testkit::remember_secret(&webhook_token);
    // Another for the integration routes of the API, which rotate and delete it: the
    // one above keeps its token for the webhook route.
    let spare_integration = created(
        server,
        &format!("{PROJECT}/services/svc/integrations"),
        json!({"name": "spare", "format": "generic", "auth_mode": "bearer"}),
    )
    .await;
    rampart_testkit::remember_secret(spare_integration["token"].as_str().unwrap());
    let spare_integration = spare_integration["integration"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // An alert and its incident (number 1).
    let delivered = server
        .client
        .post(format!("{}/hooks/v1/{integration_id}", server.url))
        .bearer_auth(&webhook_token)
        .json(&json!({"summary": "disk full", "severity": "critical", "dedup_key": "disk"}))
        .send()
        .await
        .unwrap();
    let delivered: Value = delivered.json().await.unwrap();
    let alert = delivered["alerts"][0]["alert_id"]
        .as_str()
        .unwrap_or_else(|| panic!("an alert: {delivered}"))
        .to_owned();
    created(
        server,
        &format!("{PROJECT}/incidents"),
        json!({"title": "By hand", "severity": "SEV3"}),
    )
    .await;
    let account = created(
        server,
        &format!("{PROJECT}/service-accounts"),
        json!({"name": "ci"}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // A workspace with a state.
    let state = json!({"version": 4, "serial": 1, "lineage": "seed", "terraform_version": "1.15.0",
                       "outputs": {}, "resources": []});
    let written = server
        .client
        .post(format!("{}/tf/v1/default/default/prod", server.url))
        .basic_auth("terraform", Some(&admin))
        .json(&state)
        .send()
        .await
        .unwrap();
    assert_eq!(written.status(), StatusCode::OK);

    let parameter = |name: &str, value: &str| format!("\"path.{name}\" = \"{value}\"\n");
    // The run's credentials: here rather than on the command line, where they would win
    // over the webhook route's own below.
    let mut config =
        format!("headers = {{ Authorization = \"Bearer {admin}\" }}\n\n[parameters]\n");
    for (name, value) in [
        ("org", "default"),
        ("project", "default"),
        ("workspace", "prod"),
        ("service", "svc"),
        ("schedule", "primary"),
        ("policy", "pol"),
        ("secret", "sec"),
        ("number", "1"),
        ("version", "current"),
        ("integration", spare_integration.as_str()),
        ("integration_id", integration_id.as_str()),
        ("alert", alert.as_str()),
        ("service_account_id", account.as_str()),
        ("user_id", doomed_user.as_str()),
        ("token_id", doomed_token.as_str()),
    ] {
        config.push_str(&parameter(name, value));
    }
    // One operation, by its id (`openapi::operation_id`): schemathesis takes the union
    // of several `include-*` filters, so a method and a path would select every
    // operation with that method.
    let operation = |id: &str, body: &str| {
        format!("\n[[operations]]\ninclude-operation-id = \"{id}\"\n{body}\n")
    };
    // Deletes of containers are pointed at the ones made to be deleted.
    config.push_str(&operation(
        "delete_api_v1_orgs_org",
        "parameters = { \"path.org\" = \"doomed\" }",
    ));
    config.push_str(&operation(
        "delete_api_v1_orgs_org_projects_project",
        "parameters = { \"path.project\" = \"doomed\" }",
    ));
    // Webhooks authenticate as the integration, with its token, not an API token.
    config.push_str(&operation(
        "post_hooks_v1_integration_id",
        &format!("headers = {{ Authorization = \"Bearer {webhook_token}\" }}"),
    ));
    // Excluded, with reasons: the stateful phase follows links it infers from list
    // answers, and the list of the caller's own tokens names the token the run
    // authenticates with; revoking it would end the run (every later answer 401). The
    // coverage and fuzzing phases revoke the token made for it above.
    config.push_str(&operation(
        "delete_api_v1_tokens_token_id",
        "phases.stateful.enabled = false",
    ));
    config
}

/// Runs the `phases` of schemathesis against `server`; panics with its report on any
/// failure.
async fn conformance(server: TestServer, phases: &str) {
    let config = seed(&server).await;
    let work = tempfile::tempdir().unwrap();
    let config_file = work.path().join("schemathesis.toml");
    std::fs::write(&config_file, config).unwrap();
    let started = std::time::Instant::now();
    let mut command = Command::new(schemathesis());
    command
        .current_dir(work.path())
        // This machine exports CA bundles that Python's clients prefer over
        // `--tls-verify`; the server's own CA is the one to trust.
        .env_remove("REQUESTS_CA_BUNDLE")
        .env_remove("SSL_CERT_FILE")
        .env_remove("CURL_CA_BUNDLE")
        .arg("--config-file")
        .arg(&config_file)
        .arg("run")
        .arg(format!("{}/api/v1/openapi.json", server.url))
        .arg("--tls-verify")
        .arg(&server.ca_cert)
        .arg("--seed")
        .arg(SEED.to_string())
        .arg("--max-examples")
        .arg(MAX_EXAMPLES.to_string())
        .arg("--phases")
        .arg(phases)
        .arg("--checks")
        .arg(CHECKS)
        .arg("--generation-database")
        .arg("none")
        .arg("--max-failures")
        .arg("1000")
        .arg("--no-color");
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap();
    let report = String::from_utf8_lossy(&output.stdout);
    let engine = match server.config.database.url {
        Some(_) => "PostgreSQL",
        None => "SQLite",
    };
    // The warnings and the summary (cases, phases, time), kept in the test's output.
    let summary = report
        .find("=== WARNINGS ===")
        .or_else(|| report.find("=== SUMMARY ==="))
        .map_or("", |start| &report[start..]);
    eprintln!(
        "schemathesis on {engine}, {:.0?}:\n{summary}",
        started.elapsed()
    );
    assert!(
        output.status.success(),
        "schemathesis found failures:\n{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    server.stop().await;
}

fn options(engine: Engine) -> Options {
    Options {
        engine: Some(engine),
        configure: Some(Box::new(|config| {
            // Thousands of requests from one address in a minute or two, many with
            // bad credentials on purpose: throttling would answer them all 429.
            config.rate_limits.requests_per_second_per_ip = 0;
            config.rate_limits.requests_per_second_per_principal = 0;
            config.rate_limits.auth_failures_per_minute_per_ip = 0;
            config
                .rate_limits
                .login_failures_per_hour_per_account_and_ip = 0;
            config.rate_limits.login_failures_per_hour_per_account = 0;
        })),
        ..Options::default()
    }
}

// Two servers answering at once: each gets threads of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_server_conforms_to_its_openapi_document() {
    // Every phase on SQLite: the coverage phase's boundary values of every parameter
    // and body field, random cases, then sequences following the links it infers.
    let sqlite = async {
        conformance(
            TestServer::start_with(options(Engine::Sqlite)).await,
            "coverage,fuzzing,stateful",
        )
        .await;
    };
    if rampart_testkit::postgres_server_url().is_none() {
        sqlite.await;
        return;
    }
    // At the same time on PostgreSQL, the random cases and sequences (the coverage
    // phase's are the same on both engines and take most of the time; the suite gives
    // this test less than three minutes).
    let postgres = async {
        conformance(
            TestServer::start_with(options(Engine::Postgres)).await,
            "fuzzing,stateful",
        )
        .await;
    };
    tokio::join!(sqlite, postgres);
}
