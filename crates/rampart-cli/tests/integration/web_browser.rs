//! The web UI in a real browser: Debian's Chromium driven by npm `playwright-core`
//! (`scripts/browser/ui_test.mjs`, installed by `scripts/install-test-deps.sh`) against a
//! test server: signing in by keyboard, an incident from a webhook appearing on the open
//! list without a reload (its `<script>` inert), acknowledging by click and resolving by
//! keyboard, the timeline updating live, a cross-site form post refused, a viewer shown
//! no controls and their forged post refused, the alert, service, on-call, audit, token
//! and workspace pages (a state diff, the rollback confirmation), an SLO's page with
//! its window drawn, a runbook run from its page whose approval (by someone else,
//! through the API) shows on the open execution page without a reload, delegates and
//! their tasks, signing out; on every page axe-core finds
//! no serious or critical violation, nothing is wider than a 390 px screen, no page
//! weighs more than 150 KB, and screenshots at 390 and 1440 px land in
//! `target/ui-screenshots/` for a reviewer.

use std::path::Path;

use rampart_testkit::{StatusCode, TestServer};
use serde_json::json;

use crate::sre::{PROJECT, integration, service};

use crate::web::{PASSWORD, person};

#[tokio::test]
async fn the_web_ui_in_chromium() {
    let server = TestServer::start().await;
    let ops = person(&server, "ops@example.com", "_project_admin").await;
    person(&server, "vera@example.com", "_viewer").await;
    // Also the account's admin, so that the account's and the organisation's access and
    // settings pages are visited too.
    let granted = server
        .post(
            "/api/v1/role-assignments",
            &server.admin_token,
            json!({"principal": format!("user:{ops}"), "role": "_account_admin"}),
        )
        .await;
    assert_eq!(granted.status, StatusCode::CREATED, "{}", granted.text);
    service(&server, "checkout").await;
    let hook = integration(
        &server,
        "checkout",
        json!({"name": "Generic", "format": "generic", "auth_mode": "bearer"}),
    )
    .await;

    crate::web::business_hours_schedule(&server).await;
    let policy = server
        .post(
            &format!("{PROJECT}/escalation-policies"),
            &server.admin_token,
            json!({"identifier": "default", "name": "Default", "definition": {
                "levels": [{"targets": [{"type": "schedule", "id": "primary"}], "delay_minutes": 15}]}}),
        )
        .await;
    assert_eq!(policy.status, StatusCode::CREATED, "{}", policy.text);
    slo_with_ten_hours_of_minutes(&server).await;
    let runbook = server
        .post(
            &format!("{PROJECT}/runbooks"),
            &server.admin_token,
            json!({"identifier": "purge", "name": "Purge", "definition": {
                "description": "Frees the disk of the primary",
                "sensitive": true,
                "inputs": [{"name": "REASON", "description": "Why it runs", "default": "disk full"},
                           {"name": "MODE", "allowed": ["soft", "hard"], "default": "soft"}],
                "steps": [{"kind": "add_note", "name": "tell", "text": "purged ({{inputs.MODE}}): {{inputs.REASON}}"}]}}),
        )
        .await;
    assert_eq!(runbook.status, StatusCode::CREATED, "{}", runbook.text);
    let delegate = server
        .post(
            &format!("{PROJECT}/delegates"),
            &server.admin_token,
            json!({"name": "edge-1", "tags": ["env=prod"]}),
        )
        .await;
    assert_eq!(delegate.status, StatusCode::CREATED, "{}", delegate.text);
    rampart_testkit::remember_secret(delegate.body["registration_token"].as_str().unwrap());
    let tf = crate::iacm::Tf { server: &server };
    for (serial, resources) in [(1, &["web", "db"][..]), (2, &["web"][..])] {
        let state = crate::web::tfstate(serial, resources);
        let wrote = tf
            .send(
                "POST",
                crate::iacm::WS,
                Some(&server.admin_token),
                &state,
                &[],
            )
            .await;
        assert_eq!(wrote.status, StatusCode::OK, "{}", wrote.text());
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let modules = root.join("target/test-deps/browser/node_modules");
    assert!(
        modules.join("playwright-core").exists() && Path::new("/usr/bin/chromium").exists(),
        "playwright-core or Chromium is missing: run scripts/install-test-deps.sh"
    );
    let dir = tempfile::tempdir().unwrap();
    let settings = dir.path().join("settings.json");
    let body = json!({
        "url": server.url,
        "ops": {"email": "ops@example.com", "password": PASSWORD},
        "viewer": {"email": "vera@example.com", "password": PASSWORD},
        "hook": {"url": format!("{}{}", server.url, hook.path), "token": hook.token},
        "api": {"url": format!("{}{PROJECT}", server.url), "token": server.admin_token},
        "incidents": "/o/default/p/default/incidents",
        "screenshots": root.join("target/ui-screenshots"),
    });
    std::fs::write(&settings, body.to_string()).unwrap();
    let output = tokio::process::Command::new("node")
        .arg(root.join("scripts/browser/ui_test.mjs"))
        .arg(&modules)
        .arg(&settings)
        // Node's own fetch (the webhook, the API note) trusts the test server.
        .env("NODE_EXTRA_CA_CERTS", &server.ca_cert)
        .kill_on_drop(true)
        .output()
        .await
        .expect("node runs: run scripts/install-test-deps.sh");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("all checks passed"),
        "the browser test failed\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    println!("{stdout}");

    // What the browser did is what the server holds.
    let incident = server
        .get(&format!("{PROJECT}/incidents/1"), &server.admin_token)
        .await;
    assert_eq!(incident.body["status"], "resolved", "{}", incident.text);
    let timeline = incident.body["timeline"].to_string();
    assert!(timeline.contains("postmortem on Monday"), "{timeline}");
    let denials = server
        .get(
            "/api/v1/audit-events?action=access.denied",
            &server.admin_token,
        )
        .await;
    assert!(denials.text.contains("/status"), "{}", denials.text);
}

/// The SLO `checkout-availability` with ten hours of minutes, errors rising and falling,
/// so that its page draws both charts.
async fn slo_with_ten_hours_of_minutes(server: &TestServer) {
    let created = server
        .post(
            &format!("{PROJECT}/slos"),
            &server.admin_token,
            json!({"identifier": "checkout-availability", "name": "Checkout availability",
                   "definition": {"service": "checkout", "target": 0.999,
                                  "time_window": {"duration": "1d", "is_rolling": true},
                                  "budgeting_method": "occurrences"}}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let minute =
        jiff::Timestamp::from_second(jiff::Timestamp::now().as_second() / 60 * 60).unwrap();
    let minutes: Vec<_> = (1..=600_i64)
        .map(|back| {
            let bad = ((back % 120) - 60).abs() as f64 / 20.0;
            json!({"minute": (minute - jiff::SignedDuration::from_mins(back)).to_string(),
                   "good": 1000.0 - bad, "total": 1000.0})
        })
        .collect();
    let pushed = server
        .post(
            &format!("{PROJECT}/slos/checkout-availability/minutes"),
            &server.admin_token,
            json!({ "minutes": minutes }),
        )
        .await;
    assert_eq!(pushed.status, StatusCode::OK, "{}", pushed.text);
}
