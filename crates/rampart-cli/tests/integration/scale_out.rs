//! Two replicas on one PostgreSQL database behave as one installation: an alert sent to
//! both at once opens one incident with one alert, deliveries of many groups to both
//! make PostgreSQL break no deadlock, escalations run on both page each
//! user once per level, a Terraform lock has exactly one winner across them, an
//! integration's rate limit holds across both, and a revoked token is refused by both
//! at once. (Root-key rotation across replicas is in
//! `platform/replicas.rs`.)

use rampart_testkit::{StatusCode, TestServer};
use serde_json::json;

use crate::iacm::{Tf, WS, lock};
use crate::sre::{Hook, PROJECT, generic, integration, send, service};

#[tokio::test]
async fn two_replicas_share_dedup_paging_locks_and_revocation() {
    let Some(a) = TestServer::start_postgres().await else {
        eprintln!("RAMPART_TEST_DATABASE_URL is not set: skipped");
        return;
    };
    let b = a
        .start_replica(|config| config.oncall.engine_interval_secs = 3600)
        .await;
    let admin = a.admin_token.clone();
    let (user_id, user_token) =
        crate::platform::access::user_with_token(&a, "oncall@example.com").await;
    let policy = a
        .post(
            &format!("{PROJECT}/escalation-policies"),
            &admin,
            json!({"identifier": "direct", "name": "Direct", "definition": {
                "levels": [{"targets": [{"type": "user", "id": user_id}], "delay_minutes": 5}],
                "repeats": 0}}),
        )
        .await;
    assert_eq!(policy.status, StatusCode::CREATED, "{}", policy.text);
    service(&a, "api").await;
    let set = a
        .request(
            reqwest::Method::PUT,
            &format!("{PROJECT}/services/api/escalation-policy"),
            Some(&admin),
            Some(&json!({"escalation_policy": "direct"})),
        )
        .await;
    assert_eq!(set.status, StatusCode::NO_CONTENT, "{}", set.text);
    let hook: Hook = integration(
        &a,
        "api",
        json!({"name": "G", "format": "generic", "auth_mode": "bearer"}),
    )
    .await;

    // The same alert delivered 20 times, to both replicas at once.
    let body = generic("disk-full", "trigger", "Disk full");
    let deliveries = (0..20).map(|n| {
        let server = if n % 2 == 0 { &a } else { &b };
        send(server, &hook, &body, &[])
    });
    for reply in futures_util::future::join_all(deliveries).await {
        assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
    }
    let incidents = a.get(&format!("{PROJECT}/incidents"), &admin).await;
    assert_eq!(
        incidents.body["items"].as_array().unwrap().len(),
        1,
        "{}",
        incidents.text
    );
    let alerts = b.get(&format!("{PROJECT}/alerts"), &admin).await;
    assert_eq!(alerts.status, StatusCode::OK, "{}", alerts.text);
    assert_eq!(
        alerts.body["items"].as_array().unwrap().len(),
        1,
        "{}",
        alerts.text
    );

    // Both engines run at once, several times: one page.
    for _ in 0..3 {
        let (on_a, on_b) =
            futures_util::future::join(a.app().run_escalations(), b.app().run_escalations()).await;
        on_a.unwrap();
        on_b.unwrap();
    }
    let inbox = b.get("/api/v1/me/notifications", &user_token).await;
    assert_eq!(
        inbox.body["items"].as_array().unwrap().len(),
        1,
        "{}",
        inbox.text
    );

    // Many deliveries of ten alert groups in shuffled orders, to both replicas at once:
    // their batches lock groups in one global order, so PostgreSQL breaks no deadlock
    // and every delivery is accepted (none answered 5xx).
    let deadlocks_before = a
        .app()
        .store()
        .postgres_deadlocks_for_tests()
        .await
        .unwrap();
    let hook = &hook;
    let storm = (0..240).map(|n: usize| {
        let server = if n.is_multiple_of(2) { &a } else { &b };
        let group = (n * 7 + n / 10) % 10;
        let body = generic(&format!("storm-{group}"), "trigger", "Storm");
        async move { send(server, hook, &body, &[]).await }
    });
    for reply in futures_util::future::join_all(storm).await {
        assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
    }
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let deadlocks_after = a
        .app()
        .store()
        .postgres_deadlocks_for_tests()
        .await
        .unwrap();
    assert_eq!(
        deadlocks_after, deadlocks_before,
        "PostgreSQL broke deadlocks"
    );
    let storm_incidents = a
        .get(&format!("{PROJECT}/incidents?limit=100"), &admin)
        .await;
    assert_eq!(
        storm_incidents.body["items"].as_array().unwrap().len(),
        11,
        "one incident per group, plus the first one: {}",
        storm_incidents.text
    );

    // A Terraform lock taken through both at once: exactly one winner.
    let (tf_a, tf_b) = (Tf { server: &a }, Tf { server: &b });
    let lock_path = format!("{WS}/lock");
    // The first use creates the workspace; make it before the race.
    tf_a.send("GET", WS, Some(&admin), b"", &[]).await;
    let (first, second) = futures_util::future::join(
        tf_a.send("LOCK", &lock_path, Some(&admin), &lock("from-a"), &[]),
        tf_b.send("LOCK", &lock_path, Some(&admin), &lock("from-b"), &[]),
    )
    .await;
    let mut statuses = [first.status, second.status];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::OK, StatusCode::LOCKED],
        "{} / {}",
        first.text(),
        second.text()
    );

    // An integration's budget is the installation's, not each replica's: with the counts
    // shared after every delivery, exactly the limit is accepted across both.
    let limited: Hook = integration(
        &a,
        "api",
        json!({"name": "L", "format": "generic", "auth_mode": "bearer", "rate_limit_per_minute": 10}),
    )
    .await;
    let mut accepted = 0;
    for n in 0..30 {
        let server = if n % 2 == 0 { &a } else { &b };
        let reply = send(
            server,
            &limited,
            &generic(&format!("k{n}"), "trigger", "s"),
            &[],
        )
        .await;
        match reply.status {
            StatusCode::ACCEPTED => accepted += 1,
            StatusCode::TOO_MANY_REQUESTS => assert_eq!(reply.code(), "rate_limited"),
            other => panic!("{other}: {}", reply.body),
        }
        // A, then B, then A again: each has published and read the other's count.
        a.app().sync_webhook_rate_limits().await.unwrap();
        b.app().sync_webhook_rate_limits().await.unwrap();
        a.app().sync_webhook_rate_limits().await.unwrap();
    }
    assert_eq!(accepted, 10);

    // A token revoked through one replica is refused by the other at once.
    let me = b.get("/api/v1/me", &user_token).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text);
    let tokens = a.get("/api/v1/tokens", &user_token).await;
    let token_id = tokens.body["items"][0]["id"].as_str().unwrap().to_owned();
    let revoked = a
        .delete(&format!("/api/v1/tokens/{token_id}"), &user_token)
        .await;
    assert!(revoked.status.is_success(), "{}", revoked.text);
    let refused = b.get("/api/v1/me", &user_token).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{}", refused.text);
    b.stop().await;
    a.stop().await;
}
