//! Escalations: the engine pages a service's escalation policy level by level on a manual
//! clock (a level with nobody on call skipped), into users' in-app inboxes, until the
//! incident is acknowledged.

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use rampart_app::ManualClock;
use rampart_testkit::{StatusCode, TestServer};
use serde_json::json;

use super::{PROJECT, user};

#[tokio::test]
async fn escalations_page_level_by_level_until_acknowledged() {
    let clock = Arc::new(ManualClock::new(
        "2026-11-03T10:00:00Z".parse::<Timestamp>().unwrap(),
    ));
    let server = TestServer::start_with(rampart_testkit::Options {
        clock: Some(clock.clone()),
        configure: Some(Box::new(|config| config.oncall.engine_interval_secs = 300)),
        ..Default::default()
    })
    .await;
    let admin = server.admin_token.clone();
    let (ann, ann_token) = user(&server, "ann@example.com").await;
    let (lead, lead_token) = user(&server, "lead@example.com").await;
    server
        .post(
            &format!("{PROJECT}/schedules"),
            &admin,
            json!({"identifier": "primary", "name": "Primary", "definition": {
                "time_zone": "UTC",
                "layers": [{"name": "all", "unit": "week", "first_handoff": "2026-11-02T00:00",
                            "participants": [ann]}]}}),
        )
        .await;
    // A schedule with nobody on call now (nights only): its level is skipped.
    server
        .post(
            &format!("{PROJECT}/schedules"),
            &admin,
            json!({"identifier": "nights", "name": "Nights", "definition": {
                "time_zone": "UTC",
                "layers": [{"name": "n", "unit": "week", "first_handoff": "2026-11-02T00:00",
                            "participants": [ann],
                            "restrictions": [{"type": "daily", "start": "22:00", "end": "06:00"}]}]}}),
        )
        .await;
    let policy = server
        .post(
            &format!("{PROJECT}/escalation-policies"),
            &admin,
            json!({"identifier": "default", "name": "Default", "definition": {
                "levels": [
                    {"targets": [{"type": "schedule", "id": "primary"}], "delay_minutes": 5},
                    {"targets": [{"type": "schedule", "id": "nights"}], "delay_minutes": 30},
                    {"targets": [{"type": "user", "id": lead}], "delay_minutes": 10}
                ],
                "repeats": 1}}),
        )
        .await;
    assert_eq!(policy.status, StatusCode::CREATED, "{}", policy.text);
    server
        .post(
            &format!("{PROJECT}/services"),
            &admin,
            json!({"identifier": "api", "name": "API"}),
        )
        .await;
    let set = server
        .request(
            reqwest::Method::PUT,
            &format!("{PROJECT}/services/api/escalation-policy"),
            Some(&admin),
            Some(&json!({"escalation_policy": "default"})),
        )
        .await;
    assert_eq!(set.status, StatusCode::NO_CONTENT, "{}", set.text);
    let hook = server
        .post(
            &format!("{PROJECT}/services/api/integrations"),
            &admin,
            json!({"name": "G", "format": "generic", "auth_mode": "bearer"}),
        )
        .await;
    let token = hook.body["token"].as_str().unwrap().to_owned();
    rampart_testkit::remember_secret(&token);
    let path = hook.body["integration"]["url_path"]
        .as_str()
        .unwrap()
        .to_owned();
    let sent = server
        .client
        .post(format!("{}{path}", server.url))
        .bearer_auth(&token)
        .json(&json!({"dedup_key": "5xx", "summary": "API errors", "severity": "critical"}))
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 202);

    let inbox = async |token: &str| {
        server.get("/api/v1/me/notifications", token).await.body["items"]
            .as_array()
            .unwrap()
            .clone()
    };
    // Level 0: the schedule's on-call user.
    assert_eq!(server.app().run_escalations().await.unwrap(), 1);
    let ann_inbox = inbox(&ann_token).await;
    assert_eq!(ann_inbox.len(), 1);
    assert_eq!(ann_inbox[0]["incident_number"], 1);
    assert_eq!(ann_inbox[0]["level"], 0);
    assert!(inbox(&lead_token).await.is_empty());
    // Nothing more until the delay passes.
    assert_eq!(server.app().run_escalations().await.unwrap(), 0);
    // After 5 minutes: level 1 has nobody on call (nights) and is skipped at once.
    clock.advance(SignedDuration::from_mins(6));
    assert_eq!(server.app().run_escalations().await.unwrap(), 1);
    let lead_inbox = inbox(&lead_token).await;
    assert_eq!(lead_inbox.len(), 1);
    assert_eq!(lead_inbox[0]["level"], 2);
    // Reading a notification.
    let id = lead_inbox[0]["id"].as_str().unwrap();
    let read = server
        .post(
            &format!("/api/v1/me/notifications/{id}/read"),
            &lead_token,
            json!({}),
        )
        .await;
    assert_eq!(read.status, StatusCode::NO_CONTENT);
    let others = server
        .post(
            &format!("/api/v1/me/notifications/{id}/read"),
            &ann_token,
            json!({}),
        )
        .await;
    assert_eq!(others.status, StatusCode::NOT_FOUND, "not someone else's");
    // Acknowledged: the second pass never comes.
    let ack = server
        .post(
            &format!("{PROJECT}/incidents/1/status"),
            &admin,
            json!({"status": "acknowledged"}),
        )
        .await;
    assert_eq!(ack.status, StatusCode::NO_CONTENT);
    clock.advance(SignedDuration::from_hours(2));
    assert_eq!(server.app().run_escalations().await.unwrap(), 0);
    assert_eq!(inbox(&ann_token).await.len(), 1);
    let pages = server
        .get("/api/v1/audit-events?action=escalation.page", &admin)
        .await;
    assert_eq!(pages.body["items"].as_array().unwrap().len(), 2);
    assert_eq!(
        server
            .app()
            .store()
            .queued_notification_tasks()
            .await
            .unwrap(),
        2
    );
}
