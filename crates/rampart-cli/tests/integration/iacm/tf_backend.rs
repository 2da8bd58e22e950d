//! `/tf/v1/…`: the Terraform state backend, case by case from TESTING.md's conformance
//! list, over HTTPS with raw HTTP (for the cases the stock client never produces, and to
//! pin every status and body exactly). The real-Terraform half (`terraform.rs`) drives the
//! same server with the stock CLI.

use rampart_testkit::{StatusCode, TestServer};
use serde_json::json;

use super::{Tf, WS, lock, state};

async fn versions(server: &TestServer, workspace: &str) -> u64 {
    let scope = server
        .app()
        .resolve_scope(Some("default"), Some("default"))
        .await
        .unwrap()
        .scope();
    let workspace = server
        .app()
        .find_workspace(scope, workspace)
        .await
        .unwrap()
        .unwrap();
    let page = server
        .app()
        .store()
        .state_versions(
            workspace.id,
            &rampart_store::PageRequest {
                after: None,
                limit: 1000,
            },
        )
        .await
        .unwrap();
    page.items.len() as u64
}

#[tokio::test]
async fn the_backend_follows_the_conformance_list_over_raw_http() {
    let server = TestServer::start().await;
    let admin = server.admin_token.clone();
    let tf = Tf { server: &server };
    let lock_path = format!("{WS}/lock");
    let token = Some(admin.as_str());

    // 1. No state yet: 404 (the first use made the workspace: the admin may create).
    let empty = tf.send("GET", WS, token, b"", &[]).await;
    assert_eq!(empty.status, StatusCode::NOT_FOUND, "{}", empty.text());

    // 13. LOCK free → 200; held by another ID → 423 with the holder's lock JSON; same
    // ID → 200.
    let locked = tf.send("LOCK", &lock_path, token, &lock("aaa"), &[]).await;
    assert_eq!(locked.status, StatusCode::OK, "{}", locked.text());
    let other = tf.send("LOCK", &lock_path, token, &lock("bbb"), &[]).await;
    assert_eq!(other.status, StatusCode::LOCKED);
    assert_eq!(other.json()["ID"], "aaa", "{}", other.text());
    assert_eq!(other.json()["Who"], "ci@runner");
    let again = tf.send("LOCK", &lock_path, token, &lock("aaa"), &[]).await;
    assert_eq!(again.status, StatusCode::OK);

    // 3/4. A locked write with the held ID → 200; 2. GET answers exactly those bytes.
    let first = state(1, "lineage-1", 2);
    let wrote = tf
        .send("POST", &format!("{WS}?ID=aaa"), token, &first, &[])
        .await;
    assert_eq!(wrote.status, StatusCode::OK, "{}", wrote.text());
    let read = tf.send("GET", WS, token, b"", &[]).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.body, first);

    // 5. Wrong ID while locked → 423; 6. no ID while locked → 409; state unchanged.
    let wrong = tf
        .send(
            "POST",
            &format!("{WS}?ID=zzz"),
            token,
            &state(2, "lineage-1", 2),
            &[],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::LOCKED, "{}", wrong.text());
    let no_id = tf
        .send("POST", WS, token, &state(2, "lineage-1", 2), &[])
        .await;
    assert_eq!(no_id.status, StatusCode::CONFLICT, "{}", no_id.text());
    assert_eq!(tf.send("GET", WS, token, b"", &[]).await.body, first);

    // 15. UNLOCK with another ID → 409 with the holder; the lock stays. Matching → 200.
    let mismatched = tf
        .send("UNLOCK", &lock_path, token, &lock("bbb"), &[])
        .await;
    assert_eq!(mismatched.status, StatusCode::CONFLICT);
    assert_eq!(mismatched.json()["ID"], "aaa");
    assert_eq!(
        tf.send("LOCK", &lock_path, token, &lock("bbb"), &[])
            .await
            .status,
        StatusCode::LOCKED
    );
    let unlocked = tf
        .send("UNLOCK", &lock_path, token, &lock("aaa"), &[])
        .await;
    assert_eq!(unlocked.status, StatusCode::OK);
    // 17. UNLOCK when not locked → 200.
    assert_eq!(
        tf.send("UNLOCK", &lock_path, token, &lock("aaa"), &[])
            .await
            .status,
        StatusCode::OK
    );

    // 7/10. Unlocked write without ID, serial + 1 → 200, a new version.
    let second = state(2, "lineage-1", 3);
    assert_eq!(
        tf.send("POST", WS, token, &second, &[]).await.status,
        StatusCode::OK
    );
    assert_eq!(versions(&server, "prod").await, 2);
    // 11. Same serial, identical bytes → 200, no new version.
    assert_eq!(
        tf.send("POST", WS, token, &second, &[]).await.status,
        StatusCode::OK
    );
    assert_eq!(versions(&server, "prod").await, 2);
    // 12. Same serial with other bytes, a lower serial, another lineage → 409.
    for (refused, what) in [
        (state(2, "lineage-1", 1), "same serial"),
        (state(1, "lineage-1", 3), "lower serial"),
        (state(9, "lineage-2", 1), "other lineage"),
    ] {
        let reply = tf.send("POST", WS, token, &refused, &[]).await;
        assert_eq!(
            reply.status,
            StatusCode::CONFLICT,
            "{what}: {}",
            reply.text()
        );
        assert_eq!(reply.code(), "state_conflict", "{what}");
    }
    // 8. Content-MD5: a mismatch → 400; the right one is accepted.
    let third = state(3, "lineage-1", 3);
    let bad_md5 = tf
        .send(
            "POST",
            WS,
            token,
            &third,
            &[("content-md5", "kAFQmDzST7DWlj99KOF/cg==")],
        )
        .await;
    assert_eq!(bad_md5.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad_md5.code(), "content_md5_mismatch");
    // 9. Empty, not JSON, version 3 → 400; stored state kept.
    for (body, code) in [
        (b"".to_vec(), "state_empty"),
        (b"{not json".to_vec(), "state_not_json"),
        (
            br#"{"version": 3, "serial": 9, "lineage": "lineage-1"}"#.to_vec(),
            "state_version_unsupported",
        ),
    ] {
        let reply = tf.send("POST", WS, token, &body, &[]).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{code}");
        assert_eq!(reply.code(), code);
    }
    assert_eq!(tf.send("GET", WS, token, b"", &[]).await.body, second);
    assert_eq!(versions(&server, "prod").await, 2);

    // 18. Configurable methods: PUT writes, POST locks, DELETE unlocks.
    assert_eq!(
        tf.send("PUT", WS, token, &third, &[]).await.status,
        StatusCode::OK
    );
    assert_eq!(
        tf.send("POST", &lock_path, token, &lock("ccc"), &[])
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        tf.send("POST", &lock_path, token, &lock("ddd"), &[])
            .await
            .status,
        StatusCode::LOCKED
    );
    assert_eq!(
        tf.send("DELETE", &lock_path, token, &lock("ccc"), &[])
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(tf.send("GET", WS, token, b"", &[]).await.body, third);

    // Every change is in the audit log.
    for action in [
        "state.write",
        "state.lock",
        "state.unlock",
        "workspace.create",
    ] {
        let events = server
            .get(&format!("/api/v1/audit-events?action={action}"), &admin)
            .await;
        assert!(
            !events.body["items"].as_array().unwrap().is_empty(),
            "{action}: {}",
            events.text
        );
    }
}

#[tokio::test]
async fn credentials_permissions_and_scopes_are_enforced() {
    let server = TestServer::start().await;
    let admin = server.admin_token.clone();
    let tf = Tf { server: &server };
    assert_eq!(
        tf.send("POST", WS, Some(&admin), &state(1, "l", 1), &[])
            .await
            .status,
        StatusCode::OK
    );

    // 19. No credentials or a wrong token → 401 asking for Basic.
    let anonymous = tf.send("GET", WS, None, b"", &[]).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert!(
        anonymous.headers[reqwest::header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    let forged = tf
        .send(
            "GET",
            WS,
            Some("rmp_pat_0000000000000000000000000000000_000000"),
            b"",
            &[],
        )
        .await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);

    // A viewer sees the project but may not read state: 403 (audited); nor create a
    // workspace by first use: 404.
    let (viewer_id, viewer) =
        crate::platform::access::user_with_token(&server, "viewer@example.com").await;
    let assigned = server
        .post(
            "/api/v1/orgs/default/projects/default/role-assignments",
            &admin,
            json!({"principal": format!("user:{viewer_id}"), "role": "_viewer"}),
        )
        .await;
    assert_eq!(assigned.status, StatusCode::CREATED, "{}", assigned.text);
    let denied = tf.send("GET", WS, Some(&viewer), b"", &[]).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN, "{}", denied.text());
    let not_made = tf
        .send(
            "GET",
            "/tf/v1/default/default/new-one",
            Some(&viewer),
            b"",
            &[],
        )
        .await;
    assert_eq!(not_made.status, StatusCode::NOT_FOUND);
    // 16. Force-unlock (empty UNLOCK) needs workspace:force_unlock.
    assert_eq!(
        tf.send(
            "LOCK",
            &format!("{WS}/lock"),
            Some(&admin),
            &lock("held"),
            &[]
        )
        .await
        .status,
        StatusCode::OK
    );
    let forced = tf
        .send("UNLOCK", &format!("{WS}/lock"), Some(&viewer), b"", &[])
        .await;
    assert_eq!(forced.status, StatusCode::FORBIDDEN);
    let forced = tf
        .send("UNLOCK", &format!("{WS}/lock"), Some(&admin), b"", &[])
        .await;
    assert_eq!(forced.status, StatusCode::OK);
    let audited = server
        .get("/api/v1/audit-events?action=state.force_unlock", &admin)
        .await;
    assert_eq!(audited.body["items"].as_array().unwrap().len(), 1);

    // Another project's workspace, for someone who cannot see that project → 404.
    server
        .post(
            "/api/v1/orgs/default/projects",
            &admin,
            json!({"identifier": "other", "name": "Other"}),
        )
        .await;
    let hidden = tf
        .send("GET", "/tf/v1/default/other/prod", Some(&viewer), b"", &[])
        .await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
    let missing = tf
        .send("GET", "/tf/v1/default/nope/prod", Some(&admin), b"", &[])
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn oversized_states_are_refused_and_locks_survive_a_restart() {
    let mut server = TestServer::start_with(rampart_testkit::Options {
        configure: Some(Box::new(|config| {
            config.iacm.state_size_bytes_max = 4096;
        })),
        ..Default::default()
    })
    .await;
    let admin = server.admin_token.clone();
    let big = state(1, "l", 40);
    assert!(big.len() > 4096);
    {
        let tf = Tf { server: &server };
        let refused = tf.send("POST", WS, Some(&admin), &big, &[]).await;
        assert_eq!(refused.status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(refused.code(), "state_too_large");
        assert_eq!(
            tf.send(
                "LOCK",
                &format!("{WS}/lock"),
                Some(&admin),
                &lock("kept"),
                &[]
            )
            .await
            .status,
            StatusCode::OK
        );
    }
    // 22. The lock survives a restart.
    server.restart().await;
    let tf = Tf { server: &server };
    let held = tf
        .send(
            "LOCK",
            &format!("{WS}/lock"),
            Some(&admin),
            &lock("new"),
            &[],
        )
        .await;
    assert_eq!(held.status, StatusCode::LOCKED);
    assert_eq!(held.json()["ID"], "kept");
}

/// Case 23: state changed in the database behind the server's back is refused, with
/// an audit event, never served: a body swapped between versions, a version row edited,
/// a chain link broken by deleting a version.
async fn tampering_is_refused(start: impl AsyncFnOnce() -> Option<TestServer>) {
    let Some(server) = start().await else {
        return;
    };
    let admin = server.admin_token.clone();
    let tf = Tf { server: &server };
    for serial in 1..=3 {
        assert_eq!(
            tf.send("POST", WS, Some(&admin), &state(serial, "l", 1), &[])
                .await
                .status,
            StatusCode::OK
        );
    }
    let store = server.app().store();
    let check = async |what: &str| {
        let reply = tf.send("GET", WS, Some(&admin), b"", &[]).await;
        assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR, "{what}");
        assert_eq!(reply.code(), "state_integrity_violation", "{what}");
        assert!(
            !reply.text().contains("\"lineage\""),
            "{what}: never served"
        );
    };

    // An edited row (serial changed): the chain link no longer matches.
    store
        .execute_raw_for_tests("UPDATE state_versions SET serial = 30 WHERE version = 3")
        .await
        .unwrap();
    check("edited serial").await;
    store
        .execute_raw_for_tests("UPDATE state_versions SET serial = 3 WHERE version = 3")
        .await
        .unwrap();
    assert_eq!(
        tf.send("GET", WS, Some(&admin), b"", &[]).await.status,
        StatusCode::OK
    );

    // A body from another version: the seal (bound to the version) does not open.
    store
        .execute_raw_for_tests(
            "UPDATE state_versions SET body_sealed = \
             (SELECT body_sealed FROM state_versions WHERE version = 2) WHERE version = 3",
        )
        .await
        .unwrap();
    check("swapped body").await;

    // The previous version deleted: the newest one's link has nothing to hang on.
    store
        .execute_raw_for_tests("DELETE FROM state_versions WHERE version = 3")
        .await
        .unwrap();
    assert_eq!(
        tf.send("GET", WS, Some(&admin), b"", &[]).await.status,
        StatusCode::OK,
        "version 2 is intact"
    );
    store
        .execute_raw_for_tests("DELETE FROM state_versions WHERE version = 1")
        .await
        .unwrap();
    check("deleted predecessor").await;

    // The refusals were audited; nothing was written over the bad state.
    let events = server
        .get(
            "/api/v1/audit-events?action=state.integrity_violation",
            &admin,
        )
        .await;
    assert_eq!(
        events.body["items"].as_array().unwrap().len(),
        3,
        "{}",
        events.text
    );
    assert_eq!(events.body["items"][0]["outcome"], "failure");
}

/// A state body that is JSON but not a state's shape — a field of the wrong type, an
/// array for an object, a serial the store cannot hold — is refused with 400
/// `state_invalid` and nothing is stored; the largest serial the store holds is taken.
async fn state_shapes_are_refused(start: impl AsyncFnOnce() -> Option<TestServer>) {
    let Some(server) = start().await else {
        return;
    };
    let admin = server.admin_token.clone();
    let tf = Tf { server: &server };
    let token = Some(admin.as_str());
    for body in [
        r#"[4, 1, "lineage-1"]"#,
        r#"{"version": 4, "serial": "1", "lineage": "lineage-1"}"#,
        r#"{"version": 4, "serial": 9223372036854775808, "lineage": "lineage-1"}"#,
        r#"{"version": 4, "serial": 18446744073709551615, "lineage": "lineage-1"}"#,
        r#"{"version": 4, "serial": 1, "lineage": "lineage-1", "resources": [["managed", "t", "n"]]}"#,
        r#"{"version": 4, "serial": 1, "lineage": "lineage-1", "resources": [{"instances": 3}]}"#,
        r#"{"version": 4, "serial": 1, "lineage": "lineage-1", "outputs": [1]}"#,
    ] {
        let reply = tf.send("POST", WS, token, body.as_bytes(), &[]).await;
        assert_eq!(
            (reply.status, reply.code().as_str()),
            (StatusCode::BAD_REQUEST, "state_invalid"),
            "{body}: {}",
            reply.text()
        );
    }
    assert_eq!(
        tf.send("GET", WS, token, b"", &[]).await.status,
        StatusCode::NOT_FOUND,
        "nothing was stored"
    );
    let largest = format!(
        r#"{{"version": 4, "serial": {}, "lineage": "lineage-1"}}"#,
        i64::MAX
    );
    let stored = tf.send("POST", WS, token, largest.as_bytes(), &[]).await;
    assert_eq!(stored.status, StatusCode::OK, "{}", stored.text());
    assert_eq!(
        tf.send("GET", WS, token, b"", &[]).await.body,
        largest.as_bytes()
    );
    let versions = server
        .get(
            "/api/v1/orgs/default/projects/default/workspaces/prod/state-versions",
            &admin,
        )
        .await;
    assert_eq!(
        versions.body["items"][0]["serial"],
        i64::MAX,
        "{}",
        versions.text
    );
    // Versions are numbered from 1; a number the store cannot hold names nothing.
    for version in ["9223372036854775808", "18446744073709551616", "-1", "0"] {
        let reply = server
            .get(
                &format!(
                    "/api/v1/orgs/default/projects/default/workspaces/prod/state-versions/{version}"
                ),
                &admin,
            )
            .await;
        assert_eq!(
            (reply.status, reply.code()),
            (StatusCode::NOT_FOUND, "not_found"),
            "{version}: {}",
            reply.text
        );
    }
}

#[tokio::test]
async fn state_shapes_are_refused_on_sqlite() {
    state_shapes_are_refused(async || Some(TestServer::start().await)).await;
}

#[tokio::test]
async fn state_shapes_are_refused_on_postgres() {
    state_shapes_are_refused(TestServer::start_postgres).await;
}

#[tokio::test]
async fn tampered_state_is_refused_on_sqlite() {
    tampering_is_refused(async || Some(TestServer::start().await)).await;
}

#[tokio::test]
async fn tampered_state_is_refused_on_postgres() {
    tampering_is_refused(TestServer::start_postgres).await;
}
