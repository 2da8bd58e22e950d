//! Keys (encryption at rest): a project's key ring rotated under concurrent writes,
//! crypto-shredding a project, online root-key rotation on both engines (refused when
//! the root key comes from the environment), and offline rotation refused while a server
//! holds the data directory or the database.

use rampart_app::AppError;
use rampart_testkit::{StatusCode, TestServer};
use serde_json::json;

use super::{BASE, create_secret, project_scope};
use crate::cli::rampart;

#[tokio::test]
async fn shredding_a_project_makes_its_data_unreadable_and_leaves_others_alone() {
    let server = TestServer::start().await;
    let admin = &server.admin_token;
    let other = server
        .post(
            "/api/v1/orgs/default/projects",
            admin,
            json!({"identifier": "other", "name": "Other"}),
        )
        .await;
    assert_eq!(other.status, StatusCode::CREATED);
    create_secret(&server, BASE, "doomed", "doomed-value").await;
    create_secret(
        &server,
        "/api/v1/orgs/default/projects/other",
        "kept",
        "kept-value",
    )
    .await;

    let wrong = server
        .post(
            "/api/v1/keys/destroy",
            admin,
            json!({"scope": "default/default", "confirm": "default"}),
        )
        .await;
    assert_eq!(wrong.code(), "confirmation_mismatch", "{}", wrong.text);
    let destroyed = server
        .post(
            "/api/v1/keys/destroy",
            admin,
            json!({"scope": "default/default", "confirm": "default/default"}),
        )
        .await;
    assert_eq!(destroyed.status, StatusCode::OK, "{}", destroyed.text);
    assert_eq!(destroyed.body["versions_destroyed"], 1);
    let ring = server
        .get("/api/v1/keys?scope=default/default", admin)
        .await;
    assert_eq!(ring.body["versions"][0]["status"], "destroyed");

    let ctx = server.ctx_for(admin).await;
    let shredded_scope = project_scope(&server, "default", "default").await;
    let shredded = server
        .app()
        .read_secret(&ctx, shredded_scope, "doomed", None)
        .await;
    assert!(
        matches!(
            &shredded,
            Err(AppError::Gone {
                code: rampart_domain::ErrorCode::DataShredded,
                ..
            })
        ),
        "{shredded:?}"
    );
    let kept_scope = project_scope(&server, "default", "other").await;
    let kept = server
        .app()
        .read_secret(&ctx, kept_scope, "kept", None)
        .await
        .unwrap();
    assert_eq!(kept.as_str(), "kept-value");

    // The project carries on with a fresh key version.
    create_secret(&server, BASE, "after", "after-value").await;
    let after = server
        .app()
        .read_secret(&ctx, shredded_scope, "after", None)
        .await
        .unwrap();
    assert_eq!(after.as_str(), "after-value");
    let ring = server
        .get("/api/v1/keys?scope=default/default", admin)
        .await;
    assert_eq!(ring.body["versions"][1]["primary"], true);

    let audit = server
        .get("/api/v1/audit-events?action=keys.destroy", admin)
        .await;
    assert_eq!(audit.body["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn rotation_under_concurrent_writes_loses_nothing_and_leaves_nothing_unreadable() {
    let server = TestServer::start().await;
    let admin = server.admin_token.clone();
    create_secret(&server, BASE, "seed", "seed-value").await;

    let writers = (0..4).map(|writer| {
        let server = &server;
        async move {
            for n in 0..10 {
                create_secret(
                    server,
                    BASE,
                    &format!("w{writer}-{n}"),
                    &format!("value-{writer}-{n}"),
                )
                .await;
            }
        }
    });
    let rotations = async {
        for _ in 0..5 {
            let rotated = server
                .post(
                    "/api/v1/keys/rotate",
                    &admin,
                    json!({"scope": "default/default"}),
                )
                .await;
            assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.text);
            server.app().rewrap_rotated_data().await.unwrap();
        }
    };
    futures_util::future::join(futures_util::future::join_all(writers), rotations).await;
    // A last pass moves whatever was written under a version while it was rotated out.
    server.app().rewrap_rotated_data().await.unwrap();

    let ctx = server.ctx_for(&admin).await;
    let scope = project_scope(&server, "default", "default").await;
    for writer in 0..4 {
        for n in 0..10 {
            let value = server
                .app()
                .read_secret(&ctx, scope, &format!("w{writer}-{n}"), None)
                .await
                .unwrap();
            assert_eq!(value.as_str(), format!("value-{writer}-{n}"));
        }
    }
    let ring = server
        .get("/api/v1/keys?scope=default/default", &admin)
        .await;
    let versions = ring.body["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 6, "{}", ring.text);
    assert!(
        versions[..5].iter().all(|v| v["status"] == "retired"),
        "{}",
        ring.text
    );
    assert_eq!(versions[5]["status"], "enabled");
    // Every value now sits under the primary version.
    let primary = versions[5]["version"].as_u64().unwrap() as u32;
    let owner = scope.project_id().unwrap().to_string();
    let sealed = server
        .app()
        .store()
        .sealed_cells(
            &rampart_store::platform::secrets::SECRET_VALUE,
            &owner,
            None,
            1000,
        )
        .await
        .unwrap();
    assert_eq!(sealed.len(), 41);
    assert!(sealed.iter().all(|value| {
        rampart_crypto::envelope::KeyRing::sealed_key_version(&value.sealed) == Some(primary)
    }));
}

/// Online root-key rotation through the API while other requests write secrets (some in
/// projects created meanwhile, so new key rings are wrapped during the rotations) and
/// read them: nothing is lost, every value opens before and after a restart with the
/// key file the server left behind, and each rotation is audited with its actor.
async fn root_key_rotates_online(start: impl AsyncFnOnce() -> Option<TestServer>) {
    let Some(mut server) = start().await else {
        return;
    };
    let admin = server.admin_token.clone();
    create_secret(&server, BASE, "seed", "seed-value").await;
    let key_file = server.config.server.data_dir.join("root.key");
    let before = std::fs::read(&key_file).unwrap();

    let writers = (0..3).map(|writer| {
        let server = &server;
        async move {
            let project = format!("p{writer}");
            let created = server
                .post(
                    "/api/v1/orgs/default/projects",
                    &server.admin_token,
                    json!({"identifier": project, "name": project}),
                )
                .await;
            assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
            for n in 0..6 {
                let base = if n % 2 == 0 {
                    BASE.to_owned()
                } else {
                    format!("/api/v1/orgs/default/projects/{project}")
                };
                create_secret(
                    server,
                    &base,
                    &format!("w{writer}-{n}"),
                    &format!("v{writer}-{n}"),
                )
                .await;
            }
        }
    });
    let reads = async {
        let ctx = server.ctx_for(&admin).await;
        let scope = project_scope(&server, "default", "default").await;
        for _ in 0..20 {
            let value = server
                .app()
                .read_secret(&ctx, scope, "seed", None)
                .await
                .unwrap();
            assert_eq!(value.as_str(), "seed-value");
        }
    };
    let rotations = async {
        let mut wrapped = Vec::new();
        for _ in 0..3 {
            let rotated = server
                .post("/api/v1/keys/rotate-root", &admin, json!(null))
                .await;
            assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.text);
            wrapped.push(rotated.body["wrapped_keys"].as_u64().unwrap());
        }
        wrapped
    };
    let (_, _, wrapped) =
        futures_util::future::join3(futures_util::future::join_all(writers), reads, rotations)
            .await;
    // Server secrets (pepper, audit key, …) and at least the default project's ring.
    assert!(wrapped.iter().all(|count| *count >= 2), "{wrapped:?}");
    assert_ne!(std::fs::read(&key_file).unwrap(), before);
    assert!(!server.config.server.data_dir.join("root.key.new").exists());

    async fn every_value_opens(server: &TestServer) {
        let ctx = server.ctx_for(&server.admin_token).await;
        for writer in 0..3 {
            for n in 0..6 {
                let project = if n % 2 == 0 {
                    "default".to_owned()
                } else {
                    format!("p{writer}")
                };
                let scope = project_scope(server, "default", &project).await;
                let value = server
                    .app()
                    .read_secret(&ctx, scope, &format!("w{writer}-{n}"), None)
                    .await
                    .unwrap();
                assert_eq!(value.as_str(), format!("v{writer}-{n}"));
            }
        }
    }
    every_value_opens(&server).await;
    server.restart().await;
    every_value_opens(&server).await;

    let audited = server
        .get("/api/v1/audit-events?action=keys.rotate_root", &admin)
        .await;
    let items = audited.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 3, "{}", audited.text);
    assert!(
        items
            .iter()
            .all(|item| item["actor"].as_str().unwrap().starts_with("user:")),
        "{}",
        audited.text
    );
}

#[tokio::test]
async fn the_root_key_rotates_online_on_sqlite() {
    root_key_rotates_online(async || Some(TestServer::start().await)).await;
}

#[tokio::test]
async fn the_root_key_rotates_online_on_postgres() {
    root_key_rotates_online(TestServer::start_postgres).await;
}

// The blocking `rampart` child runs while this test's in-process server serves:
// a second worker keeps the server answering (one thread would starve it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn online_root_rotation_is_refused_when_the_key_comes_from_the_environment() {
    let server = TestServer::start_with(rampart_testkit::Options {
        env_root_key: Some("BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=".into()),
        ..Default::default()
    })
    .await;
    let refused = server
        .post("/api/v1/keys/rotate-root", &server.admin_token, json!(null))
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.text);
    assert_eq!(refused.code(), "root_key_from_environment");
    assert!(refused.text.contains("rampart admin keys rotate"));
    assert!(!server.config.server.data_dir.join("root.key").exists());
}

fn assert_refused(output: &std::process::Output) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains("refused: a ") && stderr.contains("rotate-root"),
        "{stderr}"
    );
}

async fn secret_reads(server: &TestServer, identifier: &str, value: &str) {
    let ctx = server.ctx_for(&server.admin_token).await;
    let scope = project_scope(server, "default", "default").await;
    let read = server
        .app()
        .read_secret(&ctx, scope, identifier, None)
        .await
        .unwrap();
    assert_eq!(read.as_str(), value);
}

/// Issue #21 item 6: `rampart admin keys rotate` with the server up, then a ring rotated
/// online, a restart and a new secret. The offline command refuses (from the server's
/// data directory, and on PostgreSQL from another host's directory too, through the
/// database lock) and changes nothing, so the sequence ends readable; with the server
/// stopped the same command rotates, and everything reads after the next start. A failed
/// offline rotation leaves no staged key behind (issue #20 item 1).
async fn offline_rotation_refuses_while_a_server_runs(
    start: impl AsyncFnOnce() -> Option<TestServer>,
) {
    let Some(mut server) = start().await else {
        return;
    };
    create_secret(&server, BASE, "before", "before-value").await;
    let data_dir = server.config.server.data_dir.clone();
    let data_arg = data_dir.to_str().unwrap().to_owned();
    let database_url = server.config.database.url.clone();
    let env: Vec<(&str, &str)> = database_url
        .iter()
        .map(|url| ("RAMPART_DATABASE_URL", url.as_str()))
        .collect();
    let key_file = data_dir.join("root.key");
    let key_before = std::fs::read(&key_file).unwrap();
    let rings_before = server.app().store().all_key_versions().await.unwrap();

    let root = rampart(&["admin", "keys", "rotate", "--data-dir", &data_arg], &env);
    assert_refused(&root);
    let ring = rampart(
        &[
            "admin",
            "keys",
            "rotate",
            "--data-dir",
            &data_arg,
            "--org",
            "default",
            "--project",
            "default",
        ],
        &env,
    );
    assert_refused(&ring);
    if database_url.is_some() {
        // Another host's data directory with the same root key: the database refuses.
        let elsewhere = tempfile::tempdir().unwrap();
        std::fs::copy(&key_file, elsewhere.path().join("root.key")).unwrap();
        let refused = rampart(
            &[
                "admin",
                "keys",
                "rotate",
                "--data-dir",
                elsewhere.path().to_str().unwrap(),
            ],
            &env,
        );
        assert_refused(&refused);
        assert!(
            String::from_utf8_lossy(&refused.stderr).contains("connected to this database"),
            "{}",
            String::from_utf8_lossy(&refused.stderr)
        );
        assert!(!elsewhere.path().join("root.key.new").exists());

        // The connection holding the server's lock is terminated (a failover, an
        // operator's pg_terminate_backend): the server takes the lock again on a new one.
        let terminated = server
            .app()
            .store()
            .execute_raw_for_tests(
                "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' \
                 AND classid = 18766 AND objsubid = 2 \
                 AND int4(objid) = hashtext(current_schema())",
            )
            .await
            .unwrap();
        assert_eq!(terminated, 1);
        tokio::time::sleep(std::time::Duration::from_secs(7)).await;
        let refused = rampart(
            &[
                "admin",
                "keys",
                "rotate",
                "--data-dir",
                elsewhere.path().to_str().unwrap(),
            ],
            &env,
        );
        assert_refused(&refused);
    }
    assert_eq!(std::fs::read(&key_file).unwrap(), key_before);
    assert!(!data_dir.join("root.key.new").exists());
    assert_eq!(
        server.app().store().all_key_versions().await.unwrap(),
        rings_before
    );

    // A second server on the same data directory is refused too.
    let second = rampart_cli::serve::start(
        &server.config,
        None,
        std::sync::Arc::new(rampart_app::SystemClock),
    )
    .await;
    assert!(
        second
            .as_ref()
            .is_err_and(|error| error.to_string().contains("another rampart process")),
        "{second:?}"
    );

    // The rest of the reported sequence: a ring rotated online, a restart, a new secret.
    let rotated = server
        .post(
            "/api/v1/keys/rotate",
            &server.admin_token,
            json!({"scope": "default/default"}),
        )
        .await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.text);
    server.restart().await;
    create_secret(&server, BASE, "after", "after-value").await;
    secret_reads(&server, "before", "before-value").await;
    secret_reads(&server, "after", "after-value").await;

    // Server stopped: the offline rotation runs, and everything reads after a start.
    server.stop_in_place().await;
    let offline = rampart(&["admin", "keys", "rotate", "--data-dir", &data_arg], &env);
    assert!(
        offline.status.success(),
        "{}",
        String::from_utf8_lossy(&offline.stderr)
    );
    assert_ne!(std::fs::read(&key_file).unwrap(), key_before);
    assert!(!data_dir.join("root.key.new").exists());
    server.start_again().await;
    secret_reads(&server, "before", "before-value").await;
    secret_reads(&server, "after", "after-value").await;
    create_secret(&server, BASE, "last", "last-value").await;
    secret_reads(&server, "last", "last-value").await;

    // An offline rotation that fails (a key version that does not unwrap: each takes
    // another owner's wrapped key) leaves the key file as it was and no staged key.
    let other = server
        .post(
            "/api/v1/orgs/default/projects",
            &server.admin_token,
            json!({"identifier": "other", "name": "Other"}),
        )
        .await;
    assert_eq!(other.status, StatusCode::CREATED, "{}", other.text);
    create_secret(
        &server,
        "/api/v1/orgs/default/projects/other",
        "o",
        "o-value",
    )
    .await;
    server
        .app()
        .store()
        .execute_raw_for_tests(
            "UPDATE key_versions SET wrapped = (SELECT k2.wrapped FROM key_versions k2 \
             WHERE k2.owner_id <> key_versions.owner_id AND k2.wrapped IS NOT NULL LIMIT 1) \
             WHERE wrapped IS NOT NULL",
        )
        .await
        .unwrap();
    server.stop_in_place().await;
    let key_now = std::fs::read(&key_file).unwrap();
    let failed = rampart(&["admin", "keys", "rotate", "--data-dir", &data_arg], &env);
    assert!(!failed.status.success());
    assert!(
        String::from_utf8_lossy(&failed.stderr).contains("integrity check"),
        "{}",
        String::from_utf8_lossy(&failed.stderr)
    );
    assert_eq!(std::fs::read(&key_file).unwrap(), key_now);
    assert!(!data_dir.join("root.key.new").exists());
}

// Two worker threads: the offline command runs as a child process that the test waits for
// with a blocking call, and the in-process server's tasks must go on meanwhile — on a
// single-threaded runtime, one caught between an INSERT and its COMMIT would hold its row
// locks until the child, blocked on them, gave up (it never does: the run hung once).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_rotation_refuses_while_a_server_runs_on_sqlite() {
    offline_rotation_refuses_while_a_server_runs(async || Some(TestServer::start().await)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_rotation_refuses_while_a_server_runs_on_postgres() {
    offline_rotation_refuses_while_a_server_runs(TestServer::start_postgres).await;
}

/// Alert dedup and group keys are kept as blind indexes under the project's ring:
/// rotation keeps them (see `sre::incidents`), crypto-shredding makes them match
/// nothing. The shredded alert's key, sent again, opens a new alert in a new incident,
/// both readable, while the old ones answer `data_shredded`.
#[tokio::test]
async fn shredding_a_project_leaves_its_old_alert_keys_matching_nothing() {
    use crate::sre::{PROJECT, generic, integration_in, send, service_in};

    let server = TestServer::start().await;
    let admin = &server.admin_token;
    service_in(&server, PROJECT, "pay").await;
    let hook = integration_in(
        &server,
        PROJECT,
        "pay",
        json!({"name": "Generic", "format": "generic", "auth_mode": "bearer"}),
    )
    .await;
    let first = send(
        &server,
        &hook,
        &generic("k", "trigger", "Payments slow"),
        &[],
    )
    .await;
    assert_eq!(first.body["alerts"][0]["incident"], 1, "{}", first.body);
    let old_alert = first.body["alerts"][0]["alert_id"].as_str().unwrap();
    let destroyed = server
        .post(
            "/api/v1/keys/destroy",
            admin,
            json!({"scope": "default/default", "confirm": "default/default"}),
        )
        .await;
    assert_eq!(destroyed.status, StatusCode::OK, "{}", destroyed.text);

    let again = send(
        &server,
        &hook,
        &generic("k", "trigger", "Payments down"),
        &[],
    )
    .await;
    assert_eq!(
        again.body["alerts"][0]["outcome"], "created",
        "{}",
        again.body
    );
    assert_eq!(again.body["alerts"][0]["incident"], 2);
    let new_alert = again.body["alerts"][0]["alert_id"].as_str().unwrap();
    let shown = server
        .get(&format!("{PROJECT}/alerts/{new_alert}"), admin)
        .await;
    assert_eq!(shown.status, StatusCode::OK, "{}", shown.text);
    assert_eq!(shown.body["dedup_key"], "k");
    let opened = server.get(&format!("{PROJECT}/incidents/2"), admin).await;
    assert_eq!(opened.body["title"], "Payments down", "{}", opened.text);
    for path in [
        format!("{PROJECT}/alerts/{old_alert}"),
        format!("{PROJECT}/incidents/1"),
    ] {
        let gone = server.get(&path, admin).await;
        assert_eq!(gone.status, StatusCode::GONE, "{path}: {}", gone.text);
        assert_eq!(gone.code(), "data_shredded");
    }
}

/// `rampart key`: a project's ring shown and rotated, crypto-shredding refused without
/// the confirmation and done with it, and the root key replaced online.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_commands_show_rotate_destroy_and_rotate_the_root_key() {
    let server = TestServer::start().await;
    let cli = crate::cli::Cli::new(&server, &server.admin_token);
    let with = crate::cli::in_default_project;
    create_secret(&server, BASE, "kept", "kept-value-3c1d").await;

    let ring = cli.json(&with(&["key", "show"]));
    assert_eq!(ring["scope"], "default/default");
    let primary = |ring: &serde_json::Value| {
        ring["versions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|version| version["primary"] == true)
            .map(|version| version["version"].as_u64().unwrap())
    };
    let before = primary(&ring).unwrap();
    let rotated = cli.run(&with(&["key", "rotate"]));
    assert!(
        rotated.starts_with("key ring of default/default\nVERSION"),
        "{rotated}"
    );
    assert_eq!(
        primary(&cli.json(&with(&["key", "show"]))),
        Some(before + 1)
    );

    let root = cli.run(&["key", "rotate-root"]);
    assert!(root.starts_with("root key replaced: "), "{root}");
    // Data sealed before both rotations still reads.
    let ctx = server.ctx_for(&server.admin_token).await;
    let scope = project_scope(&server, "default", "default").await;
    let read = server.app().read_secret(&ctx, scope, "kept", None).await;
    assert_eq!(read.unwrap().as_str(), "kept-value-3c1d");

    let wrong = cli.fails(&with(&["key", "destroy", "--confirm", "default"]));
    assert!(wrong.contains("confirmation_mismatch (400)"), "{wrong}");
    let destroyed = cli.json(&with(&["key", "destroy", "--confirm", "default/default"]));
    assert_eq!(destroyed["scope"], "default/default");
    assert!(destroyed["versions_destroyed"].as_u64().unwrap() >= 2);
    let gone = server.app().read_secret(&ctx, scope, "kept", None).await;
    assert!(
        matches!(
            &gone,
            Err(AppError::Gone {
                code: rampart_domain::ErrorCode::DataShredded,
                ..
            })
        ),
        "{gone:?}"
    );
}
