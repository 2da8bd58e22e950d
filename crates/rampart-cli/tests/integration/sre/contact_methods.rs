//! Contact methods and the delivery of pages to them: a user's methods are theirs alone
//! (others, and service accounts, get nothing); a page reaches a real SMTP server
//! (aiosmtpd), a Slack-shaped receiver and a signed-webhook receiver that checks the
//! signature with Python's own HMAC, through a real delegate process, and each
//! delivery's outcome lands on the incident's timeline — including the ones the
//! delegate may not make, the receiver refuses, or no delegate ever picks up. Both
//! engines.

use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use rampart_app::ManualClock;
use rampart_testkit::{StatusCode, TestServer};
use serde_json::{Value, json};
use tokio::io::AsyncBufReadExt;

use super::{PROJECT, incident, user};
use crate::platform::delegates::agent;

const METHODS: &str = "/api/v1/orgs/default/contact-methods";

async fn add(server: &TestServer, token: &str, kind: &str, label: &str, address: &str) -> Value {
    let added = server
        .post(
            METHODS,
            token,
            json!({"kind": kind, "label": label, "address": address}),
        )
        .await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.text);
    added.body
}

async fn contact_methods_are_their_owners_alone(server: TestServer) {
    let (ann, ann_token) = user(&server, "ann@example.com").await;
    super::grant_role(&server, &ann, "_viewer").await;
    let (bob, bob_token) = user(&server, "bob@example.com").await;
    super::grant_role(&server, &bob, "_viewer").await;
    let (_, stranger) = user(&server, "stranger@example.com").await;

    let email = add(&server, &ann_token, "email", "Work", "Ann@Example.com").await;
    assert_eq!(email["contact_method"]["address"], "Ann@Example.com");
    assert!(email.get("signing_secret").is_none(), "{email}");
    let hook = add(
        &server,
        &ann_token,
        "webhook",
        "Pager bridge",
        "https://bridge.example.com/in",
    )
    .await;
    let secret = hook["signing_secret"].as_str().unwrap();
    rampart_testkit::remember_secret(secret);
    assert_eq!(secret.len(), 64);
    let listed = server.get(METHODS, &ann_token).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    let labels: Vec<&str> = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["Work", "Pager bridge"]);
    assert!(!listed.text.contains(secret), "the secret is shown once");

    // Bad input: the field is named, nothing is stored.
    for (body, code) in [
        (
            json!({"kind": "sms", "label": "x", "address": "1"}),
            "invalid_kind",
        ),
        (
            json!({"kind": "email", "label": "x", "address": "nobody"}),
            "invalid_address",
        ),
        (
            json!({"kind": "slack", "label": "x", "address": "ftp://example.com/"}),
            "invalid_address",
        ),
        (
            json!({"kind": "webhook", "label": "x", "address": "https://u:p@example.com/"}),
            "invalid_address",
        ),
        (
            json!({"kind": "email", "label": "", "address": "a@example.com"}),
            "invalid_label",
        ),
        (
            json!({"kind": "email", "label": "x\u{0}", "address": "a@example.com"}),
            "nul_character",
        ),
    ] {
        let refused = server.post(METHODS, &ann_token, body.clone()).await;
        assert_eq!(
            refused.status,
            StatusCode::BAD_REQUEST,
            "{body}: {}",
            refused.text
        );
        assert_eq!(refused.code(), code, "{body}");
    }
    let taken = server
        .post(
            METHODS,
            &ann_token,
            json!({"kind": "email", "label": "Work", "address": "other@example.com"}),
        )
        .await;
    assert_eq!(taken.status, StatusCode::CONFLICT, "{}", taken.text);
    assert_eq!(taken.code(), "identifier_taken");
    for n in 2..16 {
        add(
            &server,
            &ann_token,
            "email",
            &format!("extra {n}"),
            "a@example.com",
        )
        .await;
    }
    let full = server
        .post(
            METHODS,
            &ann_token,
            json!({"kind": "email", "label": "one too many", "address": "a@example.com"}),
        )
        .await;
    assert_eq!(full.status, StatusCode::BAD_REQUEST, "{}", full.text);
    assert_eq!(full.code(), "too_many_contact_methods");

    // Another member sees only their own, and cannot remove Ann's.
    let bobs = server.get(METHODS, &bob_token).await;
    assert_eq!(bobs.body["items"], json!([]), "{}", bobs.text);
    let id = email["contact_method"]["id"].as_str().unwrap();
    let removed = server.delete(&format!("{METHODS}/{id}"), &bob_token).await;
    assert_eq!(removed.status, StatusCode::NOT_FOUND, "{}", removed.text);
    // Someone who cannot see the organisation finds nothing there.
    let hidden = server.get(METHODS, &stranger).await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND, "{}", hidden.text);
    let elsewhere = server
        .get("/api/v1/orgs/no-such-org/contact-methods", &ann_token)
        .await;
    assert_eq!(
        elsewhere.status,
        StatusCode::NOT_FOUND,
        "{}",
        elsewhere.text
    );
    // A service account (of the organisation) has no contact methods.
    const ORG: &str = "/api/v1/orgs/default";
    let sa = server
        .post(
            &format!("{ORG}/service-accounts"),
            &server.admin_token,
            json!({"name": "robot"}),
        )
        .await;
    assert_eq!(sa.status, StatusCode::CREATED, "{}", sa.text);
    let sa_id = sa.body["id"].as_str().unwrap();
    let granted = server
        .post(
            &format!("{ORG}/role-assignments"),
            &server.admin_token,
            json!({"principal": format!("service_account:{sa_id}"), "role": "_viewer"}),
        )
        .await;
    assert_eq!(granted.status, StatusCode::CREATED, "{}", granted.text);
    let sa_token = server
        .post(
            &format!("{ORG}/service-accounts/{sa_id}/tokens"),
            &server.admin_token,
            json!({"name": "t", "expires_in_days": 1}),
        )
        .await
        .body["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    rampart_testkit::remember_secret(&sa_token);
    let robot = server.get(METHODS, &sa_token).await;
    assert_eq!(robot.status, StatusCode::BAD_REQUEST, "{}", robot.text);
    assert_eq!(robot.code(), "not_a_user");

    // The owner removes one; it is audited, without the address.
    let removed = server.delete(&format!("{METHODS}/{id}"), &ann_token).await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT, "{}", removed.text);
    let again = server.delete(&format!("{METHODS}/{id}"), &ann_token).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    let audited = server
        .get(
            "/api/v1/audit-events?action=contact_method.create",
            &server.admin_token,
        )
        .await;
    assert_eq!(audited.body["items"].as_array().unwrap().len(), 16);
    assert!(!audited.text.contains("example.com"), "{}", audited.text);
}

#[tokio::test]
async fn contact_methods_are_their_owners_alone_on_sqlite() {
    contact_methods_are_their_owners_alone(TestServer::start().await).await;
}

#[tokio::test]
async fn contact_methods_are_their_owners_alone_on_postgres() {
    let Some(server) = TestServer::start_postgres().await else {
        return;
    };
    contact_methods_are_their_owners_alone(server).await;
}

/// A service whose escalation policy pages `users` at once, and an alert that opens
/// incident 1 titled "Checkout is down".
async fn page(server: &TestServer, users: &[&str]) {
    let admin = &server.admin_token;
    let targets: Vec<Value> = users
        .iter()
        .map(|user| json!({"type": "user", "id": user}))
        .collect();
    let policy = server
        .post(
            &format!("{PROJECT}/escalation-policies"),
            admin,
            json!({"identifier": "now", "name": "Now", "definition": {
                "levels": [{"targets": targets, "delay_minutes": 30}], "repeats": 0}}),
        )
        .await;
    assert_eq!(policy.status, StatusCode::CREATED, "{}", policy.text);
    super::service(server, "checkout").await;
    let set = server
        .request(
            reqwest::Method::PUT,
            &format!("{PROJECT}/services/checkout/escalation-policy"),
            Some(admin),
            Some(&json!({"escalation_policy": "now"})),
        )
        .await;
    assert_eq!(set.status, StatusCode::NO_CONTENT, "{}", set.text);
    let hook = super::integration(
        server,
        "checkout",
        json!({"name": "G", "format": "generic", "auth_mode": "bearer"}),
    )
    .await;
    let sent = super::send(
        server,
        &hook,
        &super::generic("down", "trigger", "Checkout is down"),
        &[],
    )
    .await;
    assert_eq!(sent.status, StatusCode::ACCEPTED, "{}", sent.body);
    assert_eq!(
        server.app().run_escalations().await.unwrap(),
        users.len() as u64
    );
}

/// The incident's timeline entries of `kind`.
async fn timeline(server: &TestServer, kind: &str) -> Vec<Value> {
    incident(server, 1).await["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|entry| entry["kind"] == kind)
        .cloned()
        .collect()
}

/// The loopback receivers (scripts/notification_sinks.py): (SMTP port, HTTP port).
#[allow(clippy::disallowed_methods)] // tests start real receivers
pub(crate) async fn sinks(dir: &std::path::Path) -> (tokio::process::Child, u16, u16) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut child = tokio::process::Command::new(root.join("target/test-deps/venv/bin/python"))
        .arg(root.join("scripts/notification_sinks.py"))
        .arg("--log")
        .arg(dir.join("sink.log"))
        .arg("--secret-file")
        .arg(dir.join("secret"))
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("scripts/install-test-deps.sh installs aiosmtpd in target/test-deps/venv");
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .expect("the sinks start")
        .unwrap()
        .unwrap();
    let port = |name: &str| -> u16 {
        line.split(' ')
            .find_map(|part| part.strip_prefix(&format!("{name}=")))
            .unwrap()
            .parse()
            .unwrap()
    };
    let ports = (port("smtp"), port("http"));
    (child, ports.0, ports.1)
}

pub(crate) fn received(dir: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("sink.log"))
        .unwrap_or_default()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

async fn pages_reach_contact_methods_through_a_delegate(server: TestServer) {
    let dir = tempfile::tempdir().unwrap();
    let (_sinks, smtp, http) = sinks(dir.path()).await;
    let (ann, ann_token) = user(&server, "ann@example.com").await;
    super::grant_role(&server, &ann, "_viewer").await;
    let (lead, _) = user(&server, "lead@example.com").await;
    super::grant_role(&server, &lead, "_viewer").await;

    add(
        &server,
        &ann_token,
        "email",
        "Work email",
        "ann@example.com",
    )
    .await;
    add(
        &server,
        &ann_token,
        "slack",
        "Team Slack",
        &format!("http://127.0.0.1:{http}/slack"),
    )
    .await;
    let signed = add(
        &server,
        &ann_token,
        "webhook",
        "Signed hook",
        &format!("http://127.0.0.1:{http}/signed"),
    )
    .await;
    let secret = signed["signing_secret"].as_str().unwrap();
    rampart_testkit::remember_secret(secret);
    std::fs::write(dir.path().join("secret"), secret).unwrap();
    // Another webhook at the same receiver: its own secret is not the one the
    // receiver holds, so the receiver refuses it (401), and that is final.
    let other = add(
        &server,
        &ann_token,
        "webhook",
        "Wrong secret",
        &format!("http://127.0.0.1:{http}/signed"),
    )
    .await;
    rampart_testkit::remember_secret(other["signing_secret"].as_str().unwrap());
    // An address the delegate's operator did not allow (another port).
    add(
        &server,
        &ann_token,
        "webhook",
        "Elsewhere",
        &format!("http://127.0.0.1:{}/signed", http.wrapping_add(1)),
    )
    .await;

    // Ann and the lead are paged; the lead has no contact method.
    page(&server, &[&ann, &lead]).await;
    assert_eq!(server.app().dispatch_notifications().await.unwrap(), 5);
    assert_eq!(server.app().dispatch_notifications().await.unwrap(), 0);
    let undeliverable = timeline(&server, "notification.undeliverable").await;
    assert_eq!(undeliverable.len(), 1, "{undeliverable:?}");
    assert_eq!(undeliverable[0]["body"]["user"], lead.as_str());

    // A delegate, run by its operator with the receivers allowed and an SMTP relay.
    let state = dir.path().join("delegate.json");
    crate::platform::delegates::agent_registered(&server, "notifier", &state).await;
    let ran = tokio::time::timeout(
        Duration::from_secs(90),
        agent(
            &server,
            &[
                "run",
                "--state",
                state.to_str().unwrap(),
                "--max-tasks",
                "5",
                "--allow-url",
                &format!("http://127.0.0.1:{http}/"),
                "--smtp-url",
                &format!("smtp://127.0.0.1:{smtp}"),
                "--smtp-from",
                "Rampart <rampart@example.com>",
            ],
        )
        .output(),
    )
    .await
    .expect("the delegate ran its five tasks")
    .unwrap();
    let log = String::from_utf8_lossy(&ran.stderr);
    assert!(ran.status.success(), "{log}");

    // What the receivers got.
    let got = received(dir.path());
    let mail = got
        .iter()
        .find(|entry| entry["kind"] == "smtp")
        .unwrap_or_else(|| panic!("no email: {got:?}"));
    assert_eq!(mail["rcpt_tos"], json!(["ann@example.com"]));
    assert_eq!(mail["mail_from"], "rampart@example.com");
    let data = mail["data"].as_str().unwrap();
    assert!(
        data.contains("Subject: [SEV1] Incident default/default#1 triggered: Checkout is down"),
        "{data}"
    );
    assert!(data.contains("You are paged"), "{data}");
    let slack: Vec<&Value> = got.iter().filter(|e| e["path"] == "/slack").collect();
    assert_eq!(slack.len(), 1, "{got:?}");
    assert_eq!(slack[0]["status"], 200);
    let text: Value = serde_json::from_str(slack[0]["body"].as_str().unwrap()).unwrap();
    assert!(
        text["text"].as_str().unwrap().contains("Checkout is down"),
        "{text}"
    );
    let hooks: Vec<&Value> = got.iter().filter(|e| e["path"] == "/signed").collect();
    assert_eq!(hooks.len(), 2, "{got:?}");
    let good = hooks
        .iter()
        .find(|hook| hook["signature_valid"] == true)
        .expect("one webhook's signature checks out in Python");
    let event: Value = serde_json::from_str(good["body"].as_str().unwrap()).unwrap();
    assert_eq!(event["type"], "incident.page");
    assert_eq!(event["incident"]["title"], "Checkout is down");
    assert_eq!(event["incident"]["number"], 1);
    assert_eq!(event["sent_for"], ann.as_str());
    assert!(
        hooks.iter().any(|hook| hook["signature_valid"] == false),
        "{hooks:?}"
    );

    // The incident's timeline says how each delivery went, by label, not address.
    let delivered = timeline(&server, "notification.delivered").await;
    let mut labels: Vec<&str> = delivered
        .iter()
        .map(|entry| entry["body"]["contact_method"].as_str().unwrap())
        .collect();
    labels.sort_unstable();
    assert_eq!(labels, ["Signed hook", "Team Slack", "Work email"]);
    let failed = timeline(&server, "notification.failed").await;
    let mut failures: Vec<(String, String)> = failed
        .iter()
        .map(|entry| {
            (
                entry["body"]["contact_method"].as_str().unwrap().to_owned(),
                entry["body"]["error_code"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    failures.sort_unstable();
    assert_eq!(
        failures,
        [
            ("Elsewhere".to_owned(), "destination_not_allowed".to_owned()),
            ("Wrong secret".to_owned(), "http_status_401".to_owned()),
        ]
    );
    let shown = incident(&server, 1).await.to_string();
    assert!(!shown.contains("127.0.0.1"), "no address on the timeline");
    assert!(
        !shown.contains("ann@example.com"),
        "no address on the timeline"
    );
    // Failures the delegate knows are final are not retried.
    let tasks = server
        .get(
            &format!("{PROJECT}/delegate-tasks?status=failed"),
            &server.admin_token,
        )
        .await;
    for task in tasks.body["items"].as_array().unwrap() {
        assert_eq!(task["attempts"], 1, "{task}");
    }
    // Ann's inbox shows each delivery of her page.
    let inbox = server.get("/api/v1/me/notifications", &ann_token).await;
    let deliveries = inbox.body["items"][0]["deliveries"].as_array().unwrap();
    assert_eq!(deliveries.len(), 5, "{}", inbox.text);
    let succeeded = deliveries
        .iter()
        .filter(|d| d["status"] == "succeeded")
        .count();
    assert_eq!(succeeded, 3, "{}", inbox.text);

    // The same from the command line: Ann's contact methods and her page's deliveries.
    let cli = crate::cli::Cli::new(&server, &ann_token);
    let methods = cli.run(&["contact-method", "list", "--org", "default"]);
    assert!(methods.contains("Team Slack"), "{methods}");
    let table = cli.run(&["notification", "list"]);
    assert!(
        table.contains("Work email: succeeded")
            && table.contains("Wrong secret: failed (http_status_401)"),
        "{table}"
    );
    let id = inbox.body["items"][0]["id"].as_str().unwrap();
    cli.run(&["notification", "read", id]);
    let unread = cli.json(&["notification", "list", "--unread"]);
    assert_eq!(unread, json!([]), "read: {unread}");
    // Adding a signed webhook prints its secret alone, for a pipe or a file.
    let secret = cli.run(&[
        "contact-method",
        "add",
        "--kind",
        "webhook",
        "--label",
        "From the CLI",
        "--address",
        "https://hooks.example.com/in",
        "--org",
        "default",
    ]);
    rampart_testkit::remember_secret(secret.trim());
    assert!(
        secret.trim().len() == 64 && secret.trim().bytes().all(|b| b.is_ascii_hexdigit()),
        "{secret}"
    );
}

// Multi-threaded: the test runs the `rampart` binary and waits for it while the server
// answers it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_reach_contact_methods_through_a_delegate_on_sqlite() {
    pages_reach_contact_methods_through_a_delegate(quiet_engine(None, None).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_reach_contact_methods_through_a_delegate_on_postgres() {
    if rampart_testkit::postgres_server_url().is_none() {
        return;
    }
    let server = quiet_engine(Some(rampart_testkit::Engine::Postgres), None).await;
    pages_reach_contact_methods_through_a_delegate(server).await;
}

/// A server whose background engine stays out of the way: the test runs it (on
/// `clock` when given).
pub(crate) async fn quiet_engine(
    engine: Option<rampart_testkit::Engine>,
    clock: Option<Arc<ManualClock>>,
) -> TestServer {
    TestServer::start_with(rampart_testkit::Options {
        engine,
        clock,
        configure: Some(Box::new(|config| {
            config.oncall.engine_interval_secs = 3600;
        })),
        ..Default::default()
    })
    .await
}

/// A manual clock at a fixed instant.
pub(crate) fn manual_clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(
        "2026-11-03T10:00:00Z".parse::<Timestamp>().unwrap(),
    ))
}

/// With no delegate to take them, deliveries fail when their time runs out, and the
/// timeline says so.
#[tokio::test]
async fn undelivered_pages_fail_when_their_time_runs_out() {
    let clock = manual_clock();
    let server = quiet_engine(None, Some(clock.clone())).await;
    let (ann, ann_token) = user(&server, "ann@example.com").await;
    super::grant_role(&server, &ann, "_viewer").await;
    add(&server, &ann_token, "email", "Work", "ann@example.com").await;
    page(&server, &[&ann]).await;
    assert_eq!(server.app().dispatch_notifications().await.unwrap(), 1);
    clock.advance(SignedDuration::from_mins(59));
    server.app().dispatch_notifications().await.unwrap();
    assert!(timeline(&server, "notification.failed").await.is_empty());
    clock.advance(SignedDuration::from_mins(2));
    server.app().dispatch_notifications().await.unwrap();
    let failed = timeline(&server, "notification.failed").await;
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0]["body"]["error_code"], "task_timed_out");
    assert_eq!(failed[0]["body"]["contact_method"], "Work");
    let inbox = server.get("/api/v1/me/notifications", &ann_token).await;
    assert_eq!(
        inbox.body["items"][0]["deliveries"][0]["status"], "failed",
        "{}",
        inbox.text
    );
}

/// One notification task through a delegate's failures, on a manual clock: a failed
/// attempt waits out its backoff, a claim whose lease ran out passes to the next poll
/// (and the late report is refused), and the last attempt's failure is final and
/// written on the timeline. The delegate here is driven through its HTTP API.
#[tokio::test]
async fn a_delivery_is_retried_with_backoff_and_leases_pass_on() {
    let clock = manual_clock();
    let server = quiet_engine(None, Some(clock.clone())).await;
    let (ann, ann_token) = user(&server, "ann@example.com").await;
    super::grant_role(&server, &ann, "_viewer").await;
    add(&server, &ann_token, "email", "Work", "ann@example.com").await;
    page(&server, &[&ann]).await;
    assert_eq!(server.app().dispatch_notifications().await.unwrap(), 1);
    let credential = crate::platform::delegates::registered(&server, "flaky").await;
    let poll = async || {
        let reply = server
            .get("/api/v1/delegate/tasks/next?wait=0", &credential)
            .await;
        (reply.status, reply.body)
    };
    let report = async |work: &Value, body: Value| {
        let id = work["envelope"]["task_id"].as_str().unwrap();
        let mut body = body;
        body["attempt"] = work["attempt"].clone();
        server
            .post(
                &format!("/api/v1/delegate/tasks/{id}/result"),
                &credential,
                body,
            )
            .await
    };
    let (status, first) = poll().await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first["attempt"], 1);
    let retried = report(
        &first,
        json!({"outcome": "failed", "error_code": "smtp_failed"}),
    )
    .await;
    assert_eq!(retried.body["status"], "queued", "{}", retried.text);
    // Not before its backoff (5 s after the first attempt).
    assert_eq!(poll().await.0, StatusCode::NO_CONTENT);
    clock.advance(SignedDuration::from_secs(6));
    let (status, second) = poll().await;
    assert_eq!(status, StatusCode::OK, "{second}");
    assert_eq!(second["attempt"], 2);
    // The delegate goes quiet: once the lease (60 s) runs out, the next poll takes it.
    assert_eq!(poll().await.0, StatusCode::NO_CONTENT);
    clock.advance(SignedDuration::from_secs(61));
    let (status, third) = poll().await;
    assert_eq!(status, StatusCode::OK, "{third}");
    assert_eq!(third["attempt"], 3);
    let late = report(&second, json!({"outcome": "succeeded"})).await;
    assert_eq!(late.status, StatusCode::CONFLICT, "{}", late.text);
    assert_eq!(late.code(), "task_not_claimed");
    // Progress from a delegate still working extends its lease; from one whose lease
    // passed on, it is refused like its report.
    let progress = async |work: &Value| {
        let id = work["envelope"]["task_id"].as_str().unwrap();
        server
            .post(
                &format!("/api/v1/delegate/tasks/{id}/progress"),
                &credential,
                json!({"attempt": work["attempt"], "output": "still sending"}),
            )
            .await
    };
    let late = progress(&second).await;
    assert_eq!(late.status, StatusCode::CONFLICT, "{}", late.text);
    assert_eq!(late.code(), "task_not_claimed");
    clock.advance(SignedDuration::from_secs(50));
    let kept = progress(&third).await;
    assert_eq!(kept.status, StatusCode::NO_CONTENT, "{}", kept.text);
    clock.advance(SignedDuration::from_secs(50));
    assert_eq!(
        poll().await.0,
        StatusCode::NO_CONTENT,
        "the lease was extended"
    );
    // Attempts 3 to 5 fail; the fifth is the last.
    let mut work = third;
    for attempt in 3..=5 {
        assert_eq!(work["attempt"], attempt);
        let ended = report(
            &work,
            json!({"outcome": "failed", "error_code": "smtp_failed"}),
        )
        .await;
        let expected = if attempt == 5 { "failed" } else { "queued" };
        assert_eq!(ended.body["status"], expected, "{}", ended.text);
        if attempt < 5 {
            clock.advance(SignedDuration::from_secs(400));
            let (status, next) = poll().await;
            assert_eq!(status, StatusCode::OK, "{next}");
            work = next;
        }
    }
    let failed = timeline(&server, "notification.failed").await;
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0]["body"]["error_code"], "smtp_failed");
    assert!(timeline(&server, "notification.delivered").await.is_empty());
}

/// A storm of pages (more than one dispatch batch of 100) is dispatched in one tick.
#[tokio::test]
async fn a_storm_of_pages_is_dispatched_in_one_tick() {
    let server = quiet_engine(None, None).await;
    let (ann, ann_token) = user(&server, "ann@example.com").await;
    super::grant_role(&server, &ann, "_viewer").await;
    add(&server, &ann_token, "email", "Work", "ann@example.com").await;
    page(&server, &[&ann]).await;
    let hook = super::integration(
        &server,
        "checkout",
        json!({"name": "More", "format": "generic", "auth_mode": "bearer"}),
    )
    .await;
    for n in 0..149 {
        let sent = super::send(
            &server,
            &hook,
            &super::generic(&format!("storm-{n}"), "trigger", "Storm"),
            &[],
        )
        .await;
        assert_eq!(sent.status, StatusCode::ACCEPTED, "{}", sent.body);
    }
    let mut paged = 0;
    while paged < 149 {
        let now = server.app().run_escalations().await.unwrap();
        assert!(now > 0, "paged {paged} of 149");
        paged += now;
    }
    assert_eq!(server.app().dispatch_notifications().await.unwrap(), 150);
    assert_eq!(server.app().dispatch_notifications().await.unwrap(), 0);
}
