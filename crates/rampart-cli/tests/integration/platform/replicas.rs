//! Several replicas on one PostgreSQL database and the root key: a rotation with two
//! live replicas ends readable everywhere (and is refused, naming the replica, until
//! every live replica holds the new key); a replica that missed a rotation answers 503
//! `root_key_mismatch` — never an integrity violation — and recovers once an operator
//! gives it the key; a new replica must be joined with the installation's key; a
//! rotation whose file move was lost is completed at the next start.

use std::path::Path;

use rampart_app::platform::replicas::Heartbeat;
use rampart_testkit::{StatusCode, TestServer, copy_private};
use serde_json::json;

use super::{BASE, create_secret, project_scope};
use crate::cli::rampart;

fn key_bytes(server: &TestServer, name: &str) -> Option<Vec<u8>> {
    std::fs::read(server.config.server.data_dir.join(name)).ok()
}

async fn secret_is(server: &TestServer, project: &str, identifier: &str, value: &str) {
    let ctx = server.ctx_for(&server.admin_token).await;
    let scope = project_scope(server, "default", project).await;
    let read = server
        .app()
        .read_secret(&ctx, scope, identifier, None)
        .await
        .unwrap();
    assert_eq!(read.as_str(), value, "{identifier} on {}", server.url);
}

async fn create_project(server: &TestServer, identifier: &str) -> rampart_testkit::Reply {
    server
        .post(
            "/api/v1/orgs/default/projects",
            &server.admin_token,
            json!({"identifier": identifier, "name": identifier}),
        )
        .await
}

/// No read or write on any replica was taken for tampering.
async fn no_integrity_events(server: &TestServer) {
    let events = server
        .get("/api/v1/audit-events?limit=500", &server.admin_token)
        .await;
    assert_eq!(events.status, StatusCode::OK, "{}", events.text);
    for event in events.body["items"].as_array().unwrap() {
        let action = event["action"].as_str().unwrap();
        assert!(!action.contains("integrity"), "{event}");
    }
}

#[tokio::test]
async fn root_rotation_with_two_live_replicas_ends_readable_everywhere() {
    let Some(mut a) = TestServer::start_postgres().await else {
        eprintln!("RAMPART_TEST_DATABASE_URL is not set: skipped");
        return;
    };
    // Heartbeats are driven by hand below.
    let mut b = a
        .start_replica(|config| config.server.replica_heartbeat_secs = 300)
        .await;
    create_secret(&a, BASE, "via-a", "value-a").await;
    assert_eq!(create_project(&b, "pb").await.status, StatusCode::CREATED);
    create_secret(&b, "/api/v1/orgs/default/projects/pb", "via-b", "value-b").await;

    // B is alive and does not hold the new key: refused, naming B; nothing changed.
    let refused = a
        .post("/api/v1/keys/rotate-root", &a.admin_token, json!(null))
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.text);
    assert_eq!(refused.code(), "replicas_not_ready");
    assert!(
        refused.text.contains(b.app().replica_id()),
        "{}",
        refused.text
    );
    let staged = key_bytes(&a, "root.key.new").expect("the new key stays staged for copying");
    for server in [&a, &b] {
        secret_is(server, "default", "via-a", "value-a").await;
        secret_is(server, "pb", "via-b", "value-b").await;
    }

    // The operator copies the staged key to B, which reports it at its heartbeat.
    copy_private(
        &a.config.server.data_dir.join("root.key.new"),
        &b.config.server.data_dir.join("root.key.new"),
    );
    assert_eq!(
        b.app().replica_heartbeat().await.unwrap(),
        Heartbeat::InStep
    );
    let rotated = a
        .post("/api/v1/keys/rotate-root", &a.admin_token, json!(null))
        .await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.text);
    assert_eq!(key_bytes(&a, "root.key"), Some(staged.clone()));

    // Before B's next heartbeat it already wraps with the key the database records.
    assert_eq!(create_project(&b, "pc").await.status, StatusCode::CREATED);
    create_secret(
        &b,
        "/api/v1/orgs/default/projects/pc",
        "via-b-after",
        "value-c",
    )
    .await;
    secret_is(&b, "default", "via-a", "value-a").await;
    assert_eq!(
        b.app().replica_heartbeat().await.unwrap(),
        Heartbeat::FollowedRotation
    );
    assert_eq!(key_bytes(&b, "root.key"), Some(staged));
    assert_eq!(key_bytes(&b, "root.key.new"), None);

    // Only the new key on disk now: every value opens on both after a restart.
    a.restart().await;
    b.restart().await;
    for server in [&a, &b] {
        secret_is(server, "default", "via-a", "value-a").await;
        secret_is(server, "pb", "via-b", "value-b").await;
        secret_is(server, "pc", "via-b-after", "value-c").await;
        let ready = server.get("/readyz", &server.admin_token).await;
        assert_eq!(ready.status, StatusCode::OK, "{}", ready.text);
    }
    no_integrity_events(&a).await;
    b.stop().await;
    a.stop().await;
}

#[tokio::test]
async fn a_replica_that_missed_the_rotation_answers_503_and_recovers_with_the_key() {
    if rampart_testkit::postgres_server_url().is_none() {
        eprintln!("RAMPART_TEST_DATABASE_URL is not set: skipped");
        return;
    }
    let clock = std::sync::Arc::new(rampart_app::ManualClock::new(
        "2026-12-02T09:00:00Z".parse().unwrap(),
    ));
    let a = TestServer::start_with(rampart_testkit::Options {
        engine: Some(rampart_testkit::Engine::Postgres),
        clock: Some(clock.clone()),
        ..Default::default()
    })
    .await;
    let b = a
        .start_replica(|config| config.server.replica_heartbeat_secs = 300)
        .await;
    create_secret(&a, BASE, "kept", "kept-value").await;
    // B stops beating (a partition, a pause): after six missed beats it no longer counts.
    clock.advance(jiff::SignedDuration::from_mins(31));
    let rotated = a
        .post("/api/v1/keys/rotate-root", &a.admin_token, json!(null))
        .await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.text);

    // B holds only the old key: a configuration error, not tampering; nothing written.
    // (A project has no key ring until it first seals something.)
    assert_eq!(
        create_project(&b, "during").await.status,
        StatusCode::CREATED
    );
    let created = b
        .post(
            "/api/v1/orgs/default/projects/during/secrets",
            &b.admin_token,
            json!({"identifier": "first", "name": "first", "value": "x"}),
        )
        .await;
    assert_eq!(
        created.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        created.text
    );
    assert_eq!(created.code(), "root_key_mismatch");
    assert!(created.headers.contains_key("retry-after"));
    let secret = b
        .post(
            &format!("{BASE}/secrets"),
            &b.admin_token,
            json!({"identifier": "lost", "name": "lost", "value": "x"}),
        )
        .await;
    assert_eq!(secret.code(), "root_key_mismatch", "{}", secret.text);
    let ready = b.get("/readyz", &b.admin_token).await;
    assert_eq!(
        ready.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        ready.text
    );
    assert_eq!(ready.code(), "root_key_mismatch");
    assert_eq!(
        b.app().replica_heartbeat().await.unwrap(),
        Heartbeat::RootKeyMismatch
    );

    // The operator gives B the current key; it follows at its next heartbeat.
    copy_private(
        &a.config.server.data_dir.join("root.key"),
        &b.config.server.data_dir.join("root.key.new"),
    );
    assert_eq!(
        b.app().replica_heartbeat().await.unwrap(),
        Heartbeat::FollowedRotation
    );
    secret_is(&b, "default", "kept", "kept-value").await;
    create_secret(&b, "/api/v1/orgs/default/projects/during", "after", "fine").await;
    secret_is(&a, "during", "after", "fine").await;
    let ready = b.get("/readyz", &b.admin_token).await;
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.text);
    no_integrity_events(&a).await;
    b.stop().await;
    a.stop().await;
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

// The blocking `rampart` child runs while this test's in-process server serves:
// a second worker keeps the server answering (one thread would starve it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_replica_is_joined_with_the_installations_key_and_nothing_else() {
    let Some(a) = TestServer::start_postgres().await else {
        eprintln!("RAMPART_TEST_DATABASE_URL is not set: skipped");
        return;
    };
    let url = a.config.database.url.clone().unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let data_dir = scratch.path().join("replica");
    let data_arg = data_dir.to_str().unwrap();
    let env = [
        ("RAMPART_DATABASE_URL", url.as_str()),
        ("RAMPART_SERVER__LISTEN", "127.0.0.1:0"),
    ];

    // `serve` with an empty data directory must not invent a key for this database.
    let serve = rampart(&["serve", "--data-dir", data_arg], &env);
    assert!(!serve.status.success());
    assert!(
        stderr(&serve).contains("rampart admin join"),
        "{}",
        stderr(&serve)
    );
    assert!(!data_dir.join("root.key").exists());
    // `admin init` says the database is taken and how to add a replica.
    let init = rampart(&["admin", "init", "--data-dir", data_arg], &env);
    assert!(!init.status.success());
    assert!(stderr(&init).contains("admin join"), "{}", stderr(&init));

    // A wrong key is refused before anything is written.
    let wrong = scratch.path().join("wrong.key");
    rampart_crypto::RootKey::generate()
        .unwrap()
        .write_new_file(&wrong)
        .unwrap();
    let refused = rampart(
        &[
            "admin",
            "join",
            "--data-dir",
            data_arg,
            "--root-key-file",
            wrong.to_str().unwrap(),
        ],
        &env,
    );
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("not the installation's root key"),
        "{}",
        stderr(&refused)
    );
    assert!(!data_dir.join("root.key").exists());
    // Joining needs the shared database.
    let sqlite = rampart(
        &[
            "admin",
            "join",
            "--data-dir",
            data_arg,
            "--root-key-file",
            wrong.to_str().unwrap(),
        ],
        &[],
    );
    assert!(
        stderr(&sqlite).contains("PostgreSQL"),
        "{}",
        stderr(&sqlite)
    );

    let copy = scratch.path().join("copy.key");
    copy_private(&a.config.server.data_dir.join("root.key"), &copy);
    let joined = rampart(
        &[
            "admin",
            "join",
            "--data-dir",
            data_arg,
            "--root-key-file",
            copy.to_str().unwrap(),
        ],
        &env,
    );
    assert!(joined.status.success(), "{}", stderr(&joined));
    assert!(String::from_utf8_lossy(&joined.stdout).contains("joined"));
    assert_eq!(
        std::fs::read(data_dir.join("root.key")).unwrap(),
        std::fs::read(&copy).unwrap()
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(data_dir.join("root.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    a.stop().await;
}

/// The server moves a staged key into place when the database is already wrapped under
/// it (a rotation that committed and crashed before its rename); an offline rotation
/// that fails leaves no staged key behind.
// The blocking `rampart` child runs while this test's in-process server serves:
// a second worker keeps the server answering (one thread would starve it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_committed_rotation_whose_file_move_was_lost_completes_at_the_next_start() {
    let mut server = TestServer::start().await;
    create_secret(&server, BASE, "survives", "yes").await;
    let data_dir = server.config.server.data_dir.clone();
    let data_arg = data_dir.to_str().unwrap().to_owned();
    server.stop_in_place().await;
    let old = std::fs::read(data_dir.join("root.key")).unwrap();
    let rotated = rampart(&["admin", "keys", "rotate", "--data-dir", &data_arg], &[]);
    assert!(rotated.status.success(), "{}", stderr(&rotated));
    let new = std::fs::read(data_dir.join("root.key")).unwrap();
    assert_ne!(new, old);
    // As if the process died between the commit and the rename.
    std::fs::rename(data_dir.join("root.key"), data_dir.join("root.key.new")).unwrap();
    write_private(&data_dir.join("root.key"), &old);
    server.start_again().await;
    assert_eq!(std::fs::read(data_dir.join("root.key")).unwrap(), new);
    assert!(!data_dir.join("root.key.new").exists());
    secret_is(&server, "default", "survives", "yes").await;

    // A server whose key the database does not know stops with both ids named.
    server.stop_in_place().await;
    write_private(&data_dir.join("root.key"), &old);
    let serve = rampart(
        &["serve", "--data-dir", &data_arg],
        &[("RAMPART_SERVER__LISTEN", "127.0.0.1:0")],
    );
    assert!(!serve.status.success());
    assert!(
        stderr(&serve).contains("does not match the database"),
        "{}",
        stderr(&serve)
    );
    // An offline rotation with that wrong key fails and leaves no staged key.
    let failed = rampart(&["admin", "keys", "rotate", "--data-dir", &data_arg], &[]);
    assert!(!failed.status.success());
    assert!(stderr(&failed).contains("root key"), "{}", stderr(&failed));
    assert!(!data_dir.join("root.key.new").exists());
    write_private(&data_dir.join("root.key"), &new);
    server.start_again().await;
    secret_is(&server, "default", "survives", "yes").await;
    server.stop().await;
}

fn write_private(path: &Path, bytes: &[u8]) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::remove_file(path);
    std::fs::write(path, bytes).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}
