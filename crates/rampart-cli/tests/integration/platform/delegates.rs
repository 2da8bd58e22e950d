//! Delegates with the real agent (`rampart delegate register` / `run`, the same binary):
//! registration exchanges a one-time token for a credential kept 0600 and pins the
//! task-signing key; a ping reaches the agent and its answer comes back sealed; each
//! task is handed out once however many polls race for it; envelopes that were tampered
//! with do not pass the agent's check; revoking stops the agent at its next request;
//! credentials work only where they belong; both engines.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use rampart_crypto::task_signature::{
    SeenNonces, SignedTask, TaskEnvelope, TaskRefusal, check_task,
};
use rampart_testkit::{StatusCode, TestServer};
use serde_json::{Value, json};

use super::BASE;

/// The agent's registration and run commands, as a user starts them (with nothing of
/// this machine's `RAMPART_*` environment).
#[allow(clippy::disallowed_methods)] // tests start real clients
pub(crate) fn agent(server: &TestServer, args: &[&str]) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_rampart"));
    command
        .arg("delegate")
        .args(args)
        .env("RAMPART_URL", &server.url)
        .env("RAMPART_CA_CERT", &server.ca_cert)
        .env_remove("RAMPART_TOKEN")
        .env_remove("RAMPART_DELEGATE_ALLOW_URLS")
        .env_remove("RAMPART_DELEGATE_SMTP_URL")
        .env_remove("RAMPART_DELEGATE_SMTP_FROM")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    command
}

/// A delegate `name` of the default project, registered by the real agent, which keeps
/// its state in `state` (for a test that then starts `agent(…, &["run", …])`).
pub(crate) async fn agent_registered(server: &TestServer, name: &str, state: &std::path::Path) {
    let created = server
        .post(
            &format!("{BASE}/delegates"),
            &server.admin_token,
            json!({"name": name}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let registration = created.body["registration_token"].as_str().unwrap();
    rampart_testkit::remember_secret(registration);
    let registered = agent(server, &["register", "--state", state.to_str().unwrap()])
        .env("RAMPART_DELEGATE_REGISTRATION_TOKEN", registration)
        .output()
        .await
        .unwrap();
    assert!(
        registered.status.success(),
        "{}",
        String::from_utf8_lossy(&registered.stderr)
    );
}

/// The real agent `name`, registered with its state in `dir` and running (`rampart
/// delegate run`) with `allow_urls` allowed; killed when dropped.
pub(crate) async fn running_agent(
    server: &TestServer,
    name: &str,
    dir: &std::path::Path,
    allow_urls: &[&str],
) -> tokio::process::Child {
    let state = dir.join("delegate.json");
    agent_registered(server, name, &state).await;
    let mut args = vec!["run", "--state", state.to_str().unwrap()];
    for url in allow_urls {
        args.extend(["--allow-url", url]);
    }
    agent(server, &args).spawn().unwrap()
}

async fn task(server: &TestServer, id: &str) -> Value {
    let reply = server
        .get(&format!("{BASE}/delegate-tasks/{id}"), &server.admin_token)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    reply.body
}

async fn settled(server: &TestServer, id: &str) -> Value {
    for _ in 0..150 {
        let shown = task(server, id).await;
        if !matches!(shown["status"].as_str(), Some("queued" | "running")) {
            return shown;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("task {id} never ended: {}", task(server, id).await);
}

async fn next(server: &TestServer, credential: &str, wait: u64) -> (StatusCode, Value) {
    let reply = server
        .get(
            &format!("/api/v1/delegate/tasks/next?wait={wait}"),
            credential,
        )
        .await;
    (reply.status, reply.body)
}

fn signed_task(work: &Value) -> SignedTask {
    let envelope = &work["envelope"];
    SignedTask {
        envelope: TaskEnvelope {
            task_id: envelope["task_id"].as_str().unwrap().into(),
            kind: envelope["kind"].as_str().unwrap().into(),
            arguments_sha256: envelope["arguments_sha256"].as_str().unwrap().into(),
            delegate_id: envelope["delegate_id"].as_str().unwrap().into(),
            expires_at: envelope["expires_at"].as_i64().unwrap(),
            nonce: envelope["nonce"].as_str().unwrap().into(),
        },
        signature: work["signature"].as_str().unwrap().into(),
    }
}

async fn delegates_register_poll_and_answer(server: TestServer) {
    let admin = server.admin_token.clone();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("delegate.json");

    // Creating needs delegate:create; names and tags are checked.
    let created = server
        .post(
            &format!("{BASE}/delegates"),
            &admin,
            json!({"name": "edge-1", "tags": ["env=prod", "region=eu-1"]}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    assert_eq!(created.body["delegate"]["status"], "pending");
    assert_eq!(
        created.body["delegate"]["tags"],
        json!(["env=prod", "region=eu-1"])
    );
    let registration = created.body["registration_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(registration.starts_with("rmp_dlg_"), "{registration}");
    rampart_testkit::remember_secret(&registration);
    let taken = server
        .post(
            &format!("{BASE}/delegates"),
            &admin,
            json!({"name": "edge-1"}),
        )
        .await;
    assert_eq!(taken.status, StatusCode::CONFLICT);
    assert_eq!(taken.code(), "identifier_taken");
    for (body, code) in [
        (json!({"name": "Edge 1"}), "invalid_name"),
        (json!({"name": "e", "tags": ["env"]}), "invalid_tags"),
        (
            json!({"name": "e", "tags": ["env=a\u{0}b"]}),
            "nul_character",
        ),
    ] {
        let refused = server
            .post(&format!("{BASE}/delegates"), &admin, body.clone())
            .await;
        assert_eq!(
            refused.status,
            StatusCode::BAD_REQUEST,
            "{body}: {}",
            refused.text
        );
        assert_eq!(refused.code(), code, "{body}");
    }
    let user = super::access::user_with_role(&server, "viewer@example.com", "_viewer").await;
    let denied = server
        .post(
            &format!("{BASE}/delegates"),
            &user,
            json!({"name": "edge-2"}),
        )
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN, "{}", denied.text);

    // The agent registers: its credential lands in a file only its user can read.
    let registered = agent(&server, &["register", "--state", state.to_str().unwrap()])
        .env("RAMPART_DELEGATE_REGISTRATION_TOKEN", &registration)
        .output()
        .await
        .unwrap();
    assert!(
        registered.status.success(),
        "{}",
        String::from_utf8_lossy(&registered.stderr)
    );
    assert_eq!(
        std::fs::metadata(&state).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let saved: Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    let credential = saved["credential"].as_str().unwrap().to_owned();
    rampart_testkit::remember_secret(&credential);
    assert!(credential.starts_with("rmp_dlg_"));
    assert_eq!(saved["project"], "default/default");
    let public_key =
        rampart_crypto::digest::from_hex(saved["task_signing_public_key"].as_str().unwrap())
            .unwrap();
    let delegate_id = saved["delegate_id"].as_str().unwrap().to_owned();
    let shown = server
        .get(&format!("{BASE}/delegates/edge-1"), &admin)
        .await;
    assert_eq!(shown.body["status"], "active", "{}", shown.text);
    assert_eq!(shown.body["version"], env!("CARGO_PKG_VERSION"));
    assert!(shown.body["last_heartbeat_at"].is_string());

    // The registration token works once.
    let again = server
        .post(
            "/api/v1/delegate/register",
            "",
            json!({"registration_token": registration, "version": "1.0"}),
        )
        .await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED, "{}", again.text);
    assert_eq!(again.code(), "registration_invalid");
    // A delegate's credential is good only on the delegate routes, and those take
    // nothing else.
    let me = server.get("/api/v1/me", &credential).await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED, "{}", me.text);
    let (status, body) = next(&server, &admin, 0).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"]["code"], "token_kind_not_accepted");
    let (status, body) = next(&server, "", 0).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, _) = next(&server, &credential, 0).await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    // A ping reaches the running agent, and its answer comes back.
    let mut running = agent(
        &server,
        &[
            "run",
            "--state",
            state.to_str().unwrap(),
            "--max-tasks",
            "1",
        ],
    )
    .spawn()
    .unwrap();
    let ping = server
        .post(
            &format!("{BASE}/delegates/edge-1/ping"),
            &admin,
            json!({"echo": "mk7q-hello-from-the-test"}),
        )
        .await;
    assert_eq!(ping.status, StatusCode::ACCEPTED, "{}", ping.text);
    let ping_id = ping.body["id"].as_str().unwrap().to_owned();
    let answered = settled(&server, &ping_id).await;
    assert_eq!(answered["status"], "succeeded", "{answered}");
    assert_eq!(answered["attempts"], 1);
    assert_eq!(answered["delegate_id"], delegate_id.as_str());
    let result: Value = serde_json::from_str(answered["result"].as_str().unwrap()).unwrap();
    assert_eq!(result["echo"], "mk7q-hello-from-the-test");
    assert_eq!(result["version"], env!("CARGO_PKG_VERSION"));
    // The agent reports its script sandbox: this machine's kernel confines fully.
    assert!(
        result["sandbox"]
            .as_str()
            .unwrap()
            .starts_with("full (landlock"),
        "{result}"
    );
    let shown = server
        .get(&format!("{BASE}/delegates/edge-1"), &admin)
        .await;
    assert_eq!(shown.body["sandbox"], result["sandbox"], "{}", shown.text);
    let exit = tokio::time::timeout(Duration::from_secs(30), running.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(exit.success());
    // The nonce it ran is kept (0600) so a restarted agent refuses the envelope replayed.
    let nonces = state.with_extension("nonces");
    assert_eq!(
        std::fs::metadata(&nonces).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let kept: Vec<(String, i64)> =
        serde_json::from_slice(&std::fs::read(&nonces).unwrap()).unwrap();
    assert_eq!(kept.len(), 1, "{kept:?}");

    // Many polls race for the tasks: each is handed out once.
    let mut queued = Vec::new();
    for _ in 0..6 {
        let ping = server
            .post(&format!("{BASE}/delegates/edge-1/ping"), &admin, json!({}))
            .await;
        assert_eq!(ping.status, StatusCode::ACCEPTED, "{}", ping.text);
        queued.push(ping.body["id"].as_str().unwrap().to_owned());
    }
    let polls = (0..10).map(|_| next(&server, &credential, 1));
    let handed: Vec<(StatusCode, Value)> = futures_util::future::join_all(polls).await;
    let mut ids: Vec<String> = handed
        .iter()
        .filter(|(status, _)| *status == StatusCode::OK)
        .map(|(_, work)| work["envelope"]["task_id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    queued.sort();
    assert_eq!(ids, queued, "every task handed out exactly once");

    // What the server hands out passes the agent's checks; anything altered does not.
    let work = handed
        .iter()
        .find(|(status, _)| *status == StatusCode::OK)
        .map(|(_, work)| work.clone())
        .unwrap();
    let genuine = signed_task(&work);
    let arguments = work["arguments"].as_str().unwrap();
    let now = jiff::Timestamp::from_second(genuine.envelope.expires_at - 5)
        .unwrap()
        .as_second();
    let check = |task: &SignedTask, arguments: &str, delegate: &str, seen: &mut SeenNonces| {
        check_task(task, arguments.as_bytes(), &public_key, delegate, now, seen)
    };
    let mut seen = SeenNonces::default();
    assert_eq!(
        check(&genuine, arguments, "someone-else", &mut seen),
        Err(TaskRefusal::OtherDelegate)
    );
    assert_eq!(
        check(&genuine, "{\"echo\":\"changed\"}", &delegate_id, &mut seen),
        Err(TaskRefusal::ArgumentsChanged)
    );
    let mut retargeted = genuine.clone();
    retargeted.envelope.delegate_id = "someone-else".into();
    assert_eq!(
        check(&retargeted, arguments, "someone-else", &mut seen),
        Err(TaskRefusal::BadSignature)
    );
    assert_eq!(check(&genuine, arguments, &delegate_id, &mut seen), Ok(()));
    assert_eq!(
        check(&genuine, arguments, &delegate_id, &mut seen),
        Err(TaskRefusal::Replayed)
    );
    // A refusal is reported and kept; a report for an attempt not running is refused.
    let task_id = genuine.envelope.task_id.clone();
    let refused = server
        .post(
            &format!("/api/v1/delegate/tasks/{task_id}/result"),
            &credential,
            json!({"attempt": 1, "outcome": "refused", "error_code": "task_replayed"}),
        )
        .await;
    assert_eq!(refused.status, StatusCode::OK, "{}", refused.text);
    assert_eq!(refused.body["status"], "refused");
    let late = server
        .post(
            &format!("/api/v1/delegate/tasks/{task_id}/result"),
            &credential,
            json!({"attempt": 1, "outcome": "succeeded"}),
        )
        .await;
    assert_eq!(late.status, StatusCode::CONFLICT, "{}", late.text);
    assert_eq!(late.code(), "task_not_claimed");
    let shown = task(&server, &task_id).await;
    assert_eq!(shown["status"], "refused");
    assert_eq!(shown["error_code"], "task_replayed");

    // A failed attempt of a kind with no attempts left fails the task for good, with
    // the delegate's reason kept.
    let other = handed
        .iter()
        .filter(|(status, _)| *status == StatusCode::OK)
        .map(|(_, work)| work["envelope"]["task_id"].as_str().unwrap().to_owned())
        .find(|id| *id != task_id)
        .unwrap();
    let failed = server
        .post(
            &format!("/api/v1/delegate/tasks/{other}/result"),
            &credential,
            json!({"attempt": 1, "outcome": "failed", "output": "no route", "error_code": "http_unreachable"}),
        )
        .await;
    assert_eq!(failed.status, StatusCode::OK, "{}", failed.text);
    assert_eq!(failed.body["status"], "failed");
    let shown = task(&server, &other).await;
    assert_eq!(shown["error_code"], "http_unreachable");
    assert_eq!(shown["result"], "no route");
    for (body, code) in [
        (json!({"attempt": 1, "outcome": "maybe"}), "invalid_outcome"),
        (
            json!({"attempt": 1, "outcome": "failed", "error_code": "Bad Code"}),
            "invalid_error_code",
        ),
        (
            json!({"attempt": 1, "outcome": "failed", "output": "x".repeat(64 * 1024 + 1)}),
            "invalid_output",
        ),
    ] {
        let refused = server
            .post(
                &format!("/api/v1/delegate/tasks/{other}/result"),
                &credential,
                body,
            )
            .await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text);
        assert_eq!(refused.code(), code);
    }

    // Revoking refuses the agent's next request; the agent stops and says why, and
    // the tasks it held go back in the queue.
    let revoked = server
        .post(
            &format!("{BASE}/delegates/edge-1/revoke"),
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.text);
    assert_eq!(revoked.body["status"], "revoked");
    let (status, body) = next(&server, &credential, 0).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"]["code"], "delegate_revoked");
    let stopped = agent(&server, &["run", "--state", state.to_str().unwrap()])
        .output()
        .await
        .unwrap();
    assert!(!stopped.status.success());
    assert!(
        String::from_utf8_lossy(&stopped.stderr).contains("delegate_revoked"),
        "{}",
        String::from_utf8_lossy(&stopped.stderr)
    );
    let requeued = server
        .get(&format!("{BASE}/delegate-tasks?status=queued"), &admin)
        .await;
    assert_eq!(
        requeued.body["items"].as_array().unwrap().len(),
        queued.len() - 2,
        "{}",
        requeued.text
    );
    let ping = server
        .post(&format!("{BASE}/delegates/edge-1/ping"), &admin, json!({}))
        .await;
    assert_eq!(ping.status, StatusCode::CONFLICT);
    assert_eq!(ping.code(), "delegate_not_active");

    // Every step is in the audit log, the delegate named as the actor of its own.
    let agent_actor = format!("delegate:{delegate_id}");
    for (action, by_agent) in [
        ("delegate.create", false),
        ("delegate.register", true),
        ("delegate.ping", false),
        ("delegate_task.claim", true),
        ("delegate_task.finish", true),
        ("delegate.revoke", false),
    ] {
        let events = server
            .get(&format!("/api/v1/audit-events?action={action}"), &admin)
            .await;
        let items = events.body["items"].as_array().unwrap();
        assert!(
            !items.is_empty()
                && items
                    .iter()
                    .all(|event| (event["actor"] == agent_actor.as_str()) == by_agent),
            "{action}: {}",
            events.text
        );
    }
}

#[tokio::test]
async fn delegates_register_poll_and_answer_on_sqlite() {
    delegates_register_poll_and_answer(TestServer::start().await).await;
}

#[tokio::test]
async fn delegates_register_poll_and_answer_on_postgres() {
    let Some(server) = TestServer::start_postgres().await else {
        return;
    };
    delegates_register_poll_and_answer(server).await;
}

#[tokio::test]
async fn a_poll_ends_before_the_request_timeout_would_cut_it() {
    let server = TestServer::start_with(rampart_testkit::Options {
        configure: Some(Box::new(|config| {
            config.server.request_timeout_secs = 3;
        })),
        ..Default::default()
    })
    .await;
    let admin = server.admin_token.clone();
    let created = server
        .post(
            &format!("{BASE}/delegates"),
            &admin,
            json!({"name": "short"}),
        )
        .await;
    let registered = server
        .post(
            "/api/v1/delegate/register",
            "",
            json!({"registration_token": created.body["registration_token"], "version": "1"}),
        )
        .await;
    let credential = registered.body["credential"].as_str().unwrap();
    // Asked to wait 30 s, the server answers "nothing yet" within its 3 s timeout.
    let (status, body) = next(&server, credential, 30).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
}

/// A delegate registered through the API (no agent process): its credential.
pub(crate) async fn registered(server: &TestServer, name: &str) -> String {
    registered_in(server, BASE, name).await
}

/// A delegate of the project at `project` (its API path) registered through the API,
/// and its credential.
pub(crate) async fn registered_in(server: &TestServer, project: &str, name: &str) -> String {
    registered_with_tags(server, project, name, &[]).await
}

/// A delegate with `tags` of the project at `project` registered through the API, and
/// its credential.
pub(crate) async fn registered_with_tags(
    server: &TestServer,
    project: &str,
    name: &str,
    tags: &[&str],
) -> String {
    let created = server
        .post(
            &format!("{project}/delegates"),
            &server.admin_token,
            json!({"name": name, "tags": tags}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let registered = server
        .post(
            "/api/v1/delegate/register",
            "",
            json!({"registration_token": created.body["registration_token"], "version": "1"}),
        )
        .await;
    assert_eq!(
        registered.status,
        StatusCode::CREATED,
        "{}",
        registered.text
    );
    let credential = registered.body["credential"].as_str().unwrap().to_owned();
    rampart_testkit::remember_secret(&credential);
    credential
}

/// A silent delegate's backlog — more tasks meant for it than one page of claim
/// candidates — does not hide a task meant for another delegate, nor one for anyone.
#[tokio::test]
async fn a_silent_delegates_backlog_hides_nothing_from_the_others() {
    let server = TestServer::start().await;
    let admin = server.admin_token.clone();
    registered(&server, "silent").await;
    let busy = registered(&server, "busy").await;
    for _ in 0..40 {
        let queued = server
            .post(&format!("{BASE}/delegates/silent/ping"), &admin, json!({}))
            .await;
        assert_eq!(queued.status, StatusCode::ACCEPTED, "{}", queued.text);
    }
    let mine = server
        .post(&format!("{BASE}/delegates/busy/ping"), &admin, json!({}))
        .await;
    let (status, work) = next(&server, &busy, 1).await;
    assert_eq!(status, StatusCode::OK, "{work}");
    assert_eq!(work["envelope"]["task_id"], mine.body["id"]);
    // Nothing else is for it: the silent delegate's pings stay queued for that one.
    let (status, _) = next(&server, &busy, 0).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let queued = server
        .get(
            &format!("{BASE}/delegate-tasks?status=queued&limit=100"),
            &admin,
        )
        .await;
    assert_eq!(queued.body["items"].as_array().unwrap().len(), 40);
}

/// A task whose project's keys were shredded cannot be opened: it fails at once
/// (`task_unreadable`) instead of failing every poll, and the poll goes on to the rest.
#[tokio::test]
async fn a_task_that_cannot_be_opened_fails_at_once() {
    let server = TestServer::start().await;
    let admin = server.admin_token.clone();
    let credential = registered(&server, "edge").await;
    let queued = server
        .post(&format!("{BASE}/delegates/edge/ping"), &admin, json!({}))
        .await;
    assert_eq!(queued.status, StatusCode::ACCEPTED, "{}", queued.text);
    let id = queued.body["id"].as_str().unwrap().to_owned();
    let shredded = server
        .post(
            "/api/v1/keys/destroy",
            &admin,
            json!({"scope": "default/default", "confirm": "default/default"}),
        )
        .await;
    assert_eq!(shredded.status, StatusCode::OK, "{}", shredded.text);
    let (status, body) = next(&server, &credential, 0).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let failed = task(&server, &id).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    assert_eq!(failed["error_code"], "task_unreadable");
    // New work of the project (under the key made after the shred) flows again.
    let again = server
        .post(&format!("{BASE}/delegates/edge/ping"), &admin, json!({}))
        .await;
    let (status, work) = next(&server, &credential, 0).await;
    assert_eq!(status, StatusCode::OK, "{work}");
    assert_eq!(work["envelope"]["task_id"], again.body["id"]);
}
