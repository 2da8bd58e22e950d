//! Secrets: write-only values, audited reads with `secret:access`, sealed values bound to
//! their place, and no plaintext of a value in the database on either engine (every
//! other sealed field is covered by `sealed.rs`).

use rampart_app::AppError;
use rampart_testkit::{StatusCode, TestServer};
use serde_json::json;

use super::{BASE, create_secret, project_scope};
use crate::sealed::{contains, database_bytes};

#[tokio::test]
async fn secret_values_go_in_never_come_out_and_reads_are_checked_and_audited() {
    let server = TestServer::start().await;
    let admin = &server.admin_token;
    let value = "hunter2-very-secret-value-4a7c";
    rampart_testkit::remember_secret(value);

    let created = server
        .post(
            &format!("{BASE}/secrets"),
            admin,
            json!({"identifier": "db-password", "name": "DB password", "value": value}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    assert_eq!(created.body["current_version"], 1);
    assert_eq!(created.body["scope"], "default/default");
    assert!(!created.text.contains(value));

    let again = server
        .post(
            &format!("{BASE}/secrets"),
            admin,
            json!({"identifier": "db-password", "name": "x", "value": "y"}),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.code(), "identifier_taken");
    let too_big = server
        .post(
            &format!("{BASE}/secrets"),
            admin,
            json!({"identifier": "big", "name": "big", "value": "x".repeat(64 * 1024 + 1)}),
        )
        .await;
    assert_eq!(too_big.code(), "secret_too_large", "{}", too_big.text);
    let empty = server
        .post(
            &format!("{BASE}/secrets"),
            admin,
            json!({"identifier": "empty", "name": "empty", "value": ""}),
        )
        .await;
    assert_eq!(empty.code(), "invalid_value");

    let patched = server
        .patch(
            &format!("{BASE}/secrets/db-password"),
            admin,
            json!({"value": "rotated-value-9f3e", "description": "primary DB"}),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text);
    assert_eq!(patched.body["current_version"], 2);
    let read = server
        .get(&format!("{BASE}/secrets/db-password"), admin)
        .await;
    assert_eq!(read.body["versions"].as_array().unwrap().len(), 2);
    assert_eq!(read.body["description"], "primary DB");
    let listed = server.get(&format!("{BASE}/secrets"), admin).await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
    for reply in [&patched, &read, &listed] {
        assert!(!reply.text.contains(value) && !reply.text.contains("rotated-value"));
    }

    // Internal consumers read through one function that checks secret:access.
    let scope = project_scope(&server, "default", "default").await;
    let admin_ctx = server.ctx_for(admin).await;
    let current = server
        .app()
        .read_secret(&admin_ctx, scope, "db-password", None)
        .await
        .unwrap();
    assert_eq!(current.as_str(), "rotated-value-9f3e");
    let first = server
        .app()
        .read_secret(&admin_ctx, scope, "db-password", Some(1))
        .await
        .unwrap();
    assert_eq!(first.as_str(), value);

    let (viewer_id, viewer_token) =
        super::access::user_with_token(&server, "viewer@example.com").await;
    let granted = server
        .post(
            &format!("{BASE}/role-assignments"),
            admin,
            json!({"principal": format!("user:{viewer_id}"), "role": "_viewer"}),
        )
        .await;
    assert_eq!(granted.status, StatusCode::CREATED, "{}", granted.text);
    let viewer_ctx = server.ctx_for(&viewer_token).await;
    let refused = server
        .app()
        .read_secret(&viewer_ctx, scope, "db-password", None)
        .await;
    assert!(
        matches!(refused, Err(AppError::Forbidden { .. })),
        "{refused:?}"
    );
    // A viewer sees metadata but cannot create.
    let viewer_list = server.get(&format!("{BASE}/secrets"), &viewer_token).await;
    assert_eq!(viewer_list.status, StatusCode::OK);
    let viewer_create = server
        .post(
            &format!("{BASE}/secrets"),
            &viewer_token,
            json!({"identifier": "mine", "name": "mine", "value": "v"}),
        )
        .await;
    assert_eq!(viewer_create.status, StatusCode::FORBIDDEN);

    let reads = server
        .get("/api/v1/audit-events?action=secret.read", admin)
        .await;
    let outcomes: Vec<&str> = reads.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["denied", "success", "success"]);
    let everything = server.get("/api/v1/audit-events?limit=500", admin).await;
    assert!(!everything.text.contains(value) && !everything.text.contains("rotated-value"));

    let deleted = server
        .delete(&format!("{BASE}/secrets/db-password"), admin)
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let gone = server
        .get(&format!("{BASE}/secrets/db-password"), admin)
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_sealed_value_moved_to_another_row_does_not_open() {
    let server = TestServer::start().await;
    create_secret(&server, BASE, "first", "value-of-the-first").await;
    create_secret(&server, BASE, "second", "value-of-the-second").await;
    server
        .app()
        .store()
        .execute_raw_for_tests(
            "UPDATE secret_versions SET value_sealed = \
             (SELECT v.value_sealed FROM secret_versions v JOIN secrets s ON s.id = v.secret_id \
              WHERE s.identifier = 'first') \
             WHERE secret_id = (SELECT id FROM secrets WHERE identifier = 'second')",
        )
        .await
        .unwrap();
    let scope = project_scope(&server, "default", "default").await;
    let ctx = server.ctx_for(&server.admin_token).await;
    let moved = server.app().read_secret(&ctx, scope, "second", None).await;
    assert!(matches!(moved, Err(AppError::Integrity(_))), "{moved:?}");
    let untouched = server
        .app()
        .read_secret(&ctx, scope, "first", None)
        .await
        .unwrap();
    assert_eq!(untouched.as_str(), "value-of-the-first");
}

#[tokio::test]
async fn the_database_holds_no_plaintext_of_a_secret_on_sqlite_or_postgres() {
    let needle = "plaintext-canary-7d1e93b0";
    rampart_testkit::remember_secret(needle);

    let server = TestServer::start().await;
    create_secret(&server, BASE, "canary", needle).await;
    // The value went in and can be read back, so the search below is for real bytes.
    let ctx = server.ctx_for(&server.admin_token).await;
    let scope = project_scope(&server, "default", "default").await;
    let read = server
        .app()
        .read_secret(&ctx, scope, "canary", None)
        .await
        .unwrap();
    assert_eq!(read.as_str(), needle);
    let bytes = database_bytes(&server);
    assert!(
        contains(&bytes, "canary"),
        "the identifier is stored in clear"
    );
    assert!(!contains(&bytes, needle), "the value is not");

    let Some(server) = TestServer::start_postgres().await else {
        return;
    };
    create_secret(&server, BASE, "canary", needle).await;
    let dump = database_bytes(&server);
    assert!(
        contains(&dump, "canary"),
        "the dump holds the secrets table"
    );
    assert!(!contains(&dump, needle));
}

/// `rampart secret`: the value goes in on standard input and no command prints it; a
/// new value is a new version; the secret is deleted with its versions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_commands_take_values_on_stdin_and_never_print_them() {
    let server = TestServer::start().await;
    let cli = crate::cli::Cli::new(&server, &server.admin_token);
    let with = crate::cli::in_default_project;
    let value = "cli-secret-value-71f3";
    let newer = "cli-secret-value-newer-9b2e";
    rampart_testkit::remember_secret(value);
    rampart_testkit::remember_secret(newer);

    let created = cli.run_with_stdin(
        &with(&["secret", "create", "db-password", "--name", "DB password"]),
        &format!("{value}\n"),
    );
    assert!(
        created.contains("db-password") && !created.contains(value),
        "{created}"
    );
    let updated = cli.run_with_stdin(
        &with(&[
            "secret",
            "update",
            "db-password",
            "--value-stdin",
            "--output",
            "json",
        ]),
        newer,
    );
    assert!(!updated.contains(newer));
    let updated: serde_json::Value = serde_json::from_str(&updated).unwrap();
    assert_eq!(updated[0]["current_version"], 2);
    let shown = cli.run(&with(&["secret", "show", "db-password"]));
    assert!(
        shown.contains("VERSION") && !shown.contains(value) && !shown.contains(newer),
        "{shown}"
    );
    let listed = cli.json(&with(&["secret", "list"]));
    assert_eq!(listed[0]["identifier"], "db-password");
    // The value went in without its trailing newline: version 1 is exactly `value`.
    let admin_ctx = server.ctx_for(&server.admin_token).await;
    let scope_id = project_scope(&server, "default", "default").await;
    let first = server
        .app()
        .read_secret(&admin_ctx, scope_id, "db-password", Some(1))
        .await
        .unwrap();
    assert_eq!(first.as_str(), value);
    let current = server
        .app()
        .read_secret(&admin_ctx, scope_id, "db-password", None)
        .await
        .unwrap();
    assert_eq!(current.as_str(), newer);

    assert!(
        cli.fails(&with(&["secret", "update", "db-password"]))
            .contains("nothing to change")
    );
    let empty = cli.output(
        &with(&["secret", "create", "empty", "--name", "E"]),
        Some(""),
    );
    assert!(!empty.status.success());
    // At the organisation.
    cli.run_with_stdin(
        &[
            "secret", "create", "org-wide", "--name", "Org", "--org", "default",
        ],
        value,
    );
    assert_eq!(
        cli.json(&["secret", "list", "--org", "default"])[0]["scope"],
        "default"
    );

    cli.run(&with(&["secret", "delete", "db-password"]));
    assert_eq!(cli.json(&with(&["secret", "list"])), json!([]));
}
