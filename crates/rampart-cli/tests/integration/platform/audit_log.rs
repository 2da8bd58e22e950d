//! The audit log: every action recorded, queried with filters, exported with signed
//! checkpoints and proofs, verified offline, tampering in the database caught on both
//! engines, a failing audit write failing the request, and retention.

use std::sync::Arc;

use rampart_app::ManualClock;
use rampart_app::platform::audit_log::{VerifyReport, verify_export};
use rampart_testkit::{Options, StatusCode, TestServer};
use serde_json::json;

async fn public_key(server: &TestServer) -> Vec<u8> {
    let reply = server
        .get("/api/v1/audit-events/public-key", &server.admin_token)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["algorithm"], "ed25519");
    rampart_crypto::digest::from_hex(reply.body["public_key"].as_str().unwrap()).unwrap()
}

async fn export(server: &TestServer, query: &str) -> String {
    let reply = server
        .get(
            &format!("/api/v1/audit-events/export{query}"),
            &server.admin_token,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    reply.text
}

async fn verify(server: &TestServer) -> VerifyReport {
    let key = public_key(server).await;
    let text = export(server, "").await;
    verify_export(text.as_bytes(), &key).unwrap()
}

async fn make_events(server: &TestServer, count: usize) {
    for n in 0..count {
        let reply = server
            .post(
                "/api/v1/orgs",
                &server.admin_token,
                json!({"identifier": format!("org-{n}"), "name": format!("Org {n}")}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    }
}

#[tokio::test]
async fn actions_are_queried_with_filters_and_pages_and_exports_verify() {
    let server = TestServer::start().await;
    let admin = &server.admin_token;
    make_events(&server, 3).await;

    // Filters.
    let created = server
        .get("/api/v1/audit-events?action=org.create", admin)
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text);
    let items = created.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert!(items.iter().all(|item| item["action"] == "org.create"
        && item["outcome"] == "success"
        && item["auth_method"] == "token"
        && item["client_ip"] == "127.0.0.1"
        && item["request_id"].is_string()));
    assert!(
        items[0]["index"].as_u64() > items[1]["index"].as_u64(),
        "newest first"
    );

    // Pages: every event exactly once.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(cursor) => format!("/api/v1/audit-events?limit=2&cursor={cursor}"),
            None => "/api/v1/audit-events?limit=2".to_owned(),
        };
        let page = server.get(&path, admin).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        for item in page.body["items"].as_array().unwrap() {
            seen.push(item["index"].as_u64().unwrap());
        }
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    let mut sorted = seen.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), seen.len(), "no event twice");
    assert_eq!(sorted, (0..sorted.len() as u64).collect::<Vec<_>>());

    // Every successful authentication is recorded, with the token that was used.
    let successes = server
        .get("/api/v1/audit-events?action=auth.success&limit=500", admin)
        .await;
    let successes = successes.body["items"].as_array().unwrap();
    assert!(successes.len() >= 5, "one per authenticated request so far");
    assert!(successes.iter().all(|item| item["auth_method"] == "token"
        && item["token_id"].is_string()
        && item["actor"].as_str().unwrap().starts_with("user:")
        && item["client_ip"] == "127.0.0.1"));

    // Bad filters are 400 with a code, never 500.
    for (query, code) in [
        ("since=yesterday", "invalid_time"),
        ("outcome=maybe", "invalid_outcome"),
        ("cursor=abc", "invalid_cursor"),
        ("limit=0", "invalid_limit"),
        ("colour=red", "invalid_query"),
    ] {
        let reply = server
            .get(&format!("/api/v1/audit-events?{query}"), admin)
            .await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{query}: {}",
            reply.text
        );
        assert_eq!(reply.code(), code, "{query}");
    }

    // A complete export verifies, and records that it was made.
    let report = verify(&server).await;
    assert!(report.is_intact(), "{:?}", report.problems);
    assert!(report.complete);
    assert_eq!(report.entries, report.tree_size);
    assert!(report.checkpoints >= 1);
    let exports = server
        .get("/api/v1/audit-events?action=audit.export", admin)
        .await;
    assert_eq!(exports.body["items"].as_array().unwrap().len(), 1);

    // A filtered export carries inclusion proofs and verifies too.
    let key = public_key(&server).await;
    let partial = export(&server, "?action=org.create").await;
    let report = verify_export(partial.as_bytes(), &key).unwrap();
    assert!(report.is_intact(), "{:?}", report.problems);
    assert!(!report.complete);
    assert_eq!(report.entries, 3);

    // The wrong key is refused.
    let report = verify_export(partial.as_bytes(), &[7u8; 32]).unwrap();
    assert!(!report.is_intact());
    assert!(
        report.problems.iter().any(|p| p.contains("signature")),
        "{:?}",
        report.problems
    );

    // CSV: a header and one line per event.
    let csv = export(&server, "?format=csv&action=org.create").await;
    let mut lines = csv.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("index,id,occurred_at,actor")
    );
    assert_eq!(lines.count(), 3);
    let bad = server
        .get("/api/v1/audit-events/export?format=xml", admin)
        .await;
    assert_eq!(bad.code(), "invalid_format");
}

#[tokio::test]
async fn an_organisation_sees_only_its_own_events_and_viewing_needs_the_permission() {
    let server = TestServer::start().await;
    let admin = &server.admin_token;
    make_events(&server, 2).await;
    server
        .patch("/api/v1/orgs/org-0", admin, json!({"name": "Renamed"}))
        .await;
    server
        .patch("/api/v1/orgs/org-1", admin, json!({"name": "Other"}))
        .await;
    let (user, org_token) = super::access::user_with_token(&server, "orgadmin@example.com").await;
    let grant = server
        .post(
            "/api/v1/orgs/org-0/role-assignments",
            admin,
            json!({"principal": format!("user:{user}"), "role": "_org_admin"}),
        )
        .await;
    assert_eq!(grant.status, StatusCode::CREATED, "{}", grant.text);

    let own = server
        .get("/api/v1/orgs/org-0/audit-events", &org_token)
        .await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.text);
    let items = own.body["items"].as_array().unwrap();
    assert!(!items.is_empty());
    let org0_id = server.get("/api/v1/orgs/org-0", admin).await.body["id"].clone();
    assert!(items.iter().all(|item| item["org_id"] == org0_id));

    let other = server
        .get("/api/v1/orgs/org-1/audit-events", &org_token)
        .await;
    assert_eq!(other.status, StatusCode::NOT_FOUND, "{}", other.text);
    let account = server.get("/api/v1/audit-events", &org_token).await;
    assert_eq!(account.status, StatusCode::FORBIDDEN, "{}", account.text);
    assert_eq!(account.code(), "permission_denied");

    // The organisation's export is partial (its events only) and verifies.
    let key = public_key(&server).await;
    let reply = server
        .get("/api/v1/orgs/org-0/audit-events/export", &org_token)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let report = verify_export(reply.text.as_bytes(), &key).unwrap();
    assert!(report.is_intact(), "{:?}", report.problems);
    assert!(!report.complete);
    assert!(!reply.text.contains("\"org-1\""));
}

/// Each way of tampering with the rows, and the words `verify` must use for it.
const TAMPERING: &[(&str, &str, &str)] = &[
    (
        "edit",
        "UPDATE audit_events SET action = 'org.view' WHERE leaf_index = 3",
        "entry 3 (id",
    ),
    (
        "delete",
        "DELETE FROM audit_events WHERE leaf_index = 3",
        "entry 3 is missing: deleted",
    ),
    (
        "insert",
        "UPDATE audit_events SET leaf_index = leaf_index + 1000000 WHERE leaf_index >= 3; \
         UPDATE audit_events SET leaf_index = leaf_index - 999999 WHERE leaf_index >= 1000000; \
         INSERT INTO audit_events (id, occurred_at, action, resource_type, outcome, details, \
           leaf_index, leaf_hash) \
         SELECT 'forged', occurred_at, 'org.create', 'org', 'success', '{}', 3, leaf_hash \
         FROM audit_events WHERE leaf_index = 2; \
         UPDATE audit_log_head SET next_index = next_index + 1",
        "entry 3 (id forged): its content does not match its recorded hash: edited or inserted",
    ),
    (
        "reorder",
        "UPDATE audit_events SET leaf_index = -3 WHERE leaf_index = 3; \
         UPDATE audit_events SET leaf_index = 3 WHERE leaf_index = 5; \
         UPDATE audit_events SET leaf_index = 5 WHERE leaf_index = -3",
        "was recorded at position 5: reordered",
    ),
];

/// Each case on a fresh log: events, a signed checkpoint, an intact export; then the
/// rows are changed behind the server's back and the next export must not verify.
async fn tampering_is_caught(start: impl AsyncFn() -> Option<TestServer>) {
    for (name, sql, expected) in TAMPERING {
        let Some(server) = start().await else {
            return;
        };
        make_events(&server, 8).await;
        server.app().sign_audit_checkpoint().await.unwrap();
        let intact = verify(&server).await;
        assert!(intact.is_intact(), "{name}: {:?}", intact.problems);

        server
            .app()
            .store()
            .execute_raw_for_tests(sql)
            .await
            .unwrap();
        let report = verify(&server).await;
        assert!(!report.is_intact(), "{name}: tampering not detected");
        assert!(
            report
                .problems
                .iter()
                .any(|problem| problem.contains(expected)),
            "{name}: expected {expected:?} in {:#?}",
            report.problems
        );
        let gaps = report
            .problems
            .iter()
            .filter(|problem| problem.contains("missing"))
            .count();
        assert_eq!(
            gaps,
            usize::from(*name == "delete"),
            "{name}: a deleted entry is named once, nothing else is a gap: {:#?}",
            report.problems
        );
        assert!(
            report
                .problems
                .iter()
                .any(|problem| problem.contains("do not match the checkpoint")),
            "{name}: the signed checkpoint must disagree too: {:#?}",
            report.problems
        );
    }
}

#[tokio::test]
async fn tampering_with_audit_rows_is_caught_on_sqlite() {
    tampering_is_caught(async || Some(TestServer::start().await)).await;
}

#[tokio::test]
async fn tampering_with_audit_rows_is_caught_on_postgres() {
    tampering_is_caught(TestServer::start_postgres).await;
}

#[tokio::test]
async fn a_failing_audit_write_fails_the_request_and_changes_nothing() {
    let server = TestServer::start().await;
    let admin = &server.admin_token;
    server
        .app()
        .store()
        .execute_raw_for_tests(
            "CREATE TRIGGER audit_refuses BEFORE INSERT ON audit_events \
             BEGIN SELECT RAISE(ABORT, 'audit unavailable'); END",
        )
        .await
        .unwrap();
    let reply = server
        .post(
            "/api/v1/orgs",
            admin,
            json!({"identifier": "ghost", "name": "Ghost"}),
        )
        .await;
    assert!(reply.status.is_server_error(), "{}", reply.text);
    assert!(
        !reply.text.contains("audit unavailable"),
        "no internals leak"
    );
    server
        .app()
        .store()
        .execute_raw_for_tests("DROP TRIGGER audit_refuses")
        .await
        .unwrap();
    let read = server.get("/api/v1/orgs/ghost", admin).await;
    assert_eq!(
        read.status,
        StatusCode::NOT_FOUND,
        "the change was rolled back"
    );
}

#[tokio::test]
async fn retention_drops_bodies_keeps_hashes_and_the_log_still_verifies() {
    let clock = Arc::new(ManualClock::new("2026-06-01T00:00:00Z".parse().unwrap()));
    let server = TestServer::start_with(Options {
        clock: Some(clock.clone()),
        ..Options::default()
    })
    .await;
    let admin = &server.admin_token;
    make_events(&server, 2).await;
    let bad = server
        .request(
            reqwest::Method::PUT,
            "/api/v1/orgs/org-0/audit-retention",
            Some(admin),
            Some(&json!({"days": 0})),
        )
        .await;
    assert_eq!(bad.code(), "invalid_days");
    let set = server
        .request(
            reqwest::Method::PUT,
            "/api/v1/orgs/org-0/audit-retention",
            Some(admin),
            Some(&json!({"days": 30})),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.text);
    assert_eq!(set.body["days"], 30);
    let org0 = server.get("/api/v1/orgs/org-0/audit-events", admin).await;
    let before = org0.body["items"].as_array().unwrap().len();
    assert!(before >= 2, "create and the retention change");

    clock.advance(jiff::SignedDuration::from_hours(24 * 31));
    let pruned = server.app().prune_audit_log().await.unwrap();
    assert_eq!(pruned as usize, before);
    let after = server.get("/api/v1/orgs/org-0/audit-events", admin).await;
    assert_eq!(after.body["items"].as_array().unwrap().len(), 0);
    let other = server.get("/api/v1/orgs/org-1/audit-events", admin).await;
    assert_eq!(
        other.body["items"].as_array().unwrap().len(),
        1,
        "other organisations keep theirs"
    );
    let report = verify(&server).await;
    assert!(report.is_intact(), "{:?}", report.problems);
    assert_eq!(report.pruned as usize, before);
}

#[tokio::test]
async fn an_export_with_a_bad_filter_is_always_a_400_never_a_cut_off_stream() {
    let server = TestServer::start().await;
    make_events(&server, 2).await;
    // The refusal races the stream's start: every try must see the 400, whole.
    for attempt in 0..40 {
        for (query, code) in [
            ("?since=yesterday", "invalid_time"),
            ("?until=2026-13-01T00:00:00Z", "invalid_time"),
            ("?outcome=maybe", "invalid_outcome"),
        ] {
            let reply = server
                .get(
                    &format!("/api/v1/audit-events/export{query}"),
                    &server.admin_token,
                )
                .await;
            assert_eq!(
                (reply.status, reply.code()),
                (StatusCode::BAD_REQUEST, code),
                "attempt {attempt}, {query}: {}",
                reply.text
            );
        }
    }
}
