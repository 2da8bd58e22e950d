//! On-call over HTTPS: schedules (who is on call, the timeline with gaps, iCal),
//! escalation policies on a service, the engine paging level by level into users'
//! in-app inboxes on a manual clock, and acknowledgement stopping it.

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use rampart_app::ManualClock;
use rampart_testkit::{StatusCode, TestServer};
use serde_json::json;

const PROJECT: &str = "/api/v1/orgs/default/projects/default";

async fn user(server: &TestServer, email: &str) -> (String, String) {
    crate::api::access::user_with_token(server, email).await
}

#[tokio::test]
async fn schedules_answer_who_is_on_call_with_gaps_and_ical() {
    let server = TestServer::start().await;
    let admin = server.admin_token.clone();
    let (ann, _) = user(&server, "ann@example.com").await;
    let (bob, _) = user(&server, "bob@example.com").await;
    let schedule = json!({
        "identifier": "primary", "name": "Primary",
        "definition": {
            "time_zone": "Europe/Berlin",
            "layers": [{"name": "business", "unit": "day", "first_handoff": "2026-11-02T09:00",
                        "participants": [ann, bob],
                        "restrictions": [{"type": "daily", "start": "09:00", "end": "17:00"}]}]
        }
    });
    let created = server
        .post(&format!("{PROJECT}/schedules"), &admin, schedule)
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    // 2026-11-03 is the second turn: bob; 10:00 Berlin = 09:00Z.
    let on_call = server
        .get(
            &format!("{PROJECT}/schedules/primary/on-call?at=2026-11-03T09:00:00Z"),
            &admin,
        )
        .await;
    assert_eq!(on_call.status, StatusCode::OK, "{}", on_call.text);
    assert_eq!(on_call.body["user"], bob.as_str());
    let night = server
        .get(
            &format!("{PROJECT}/schedules/primary/on-call?at=2026-11-03T20:00:00Z"),
            &admin,
        )
        .await;
    assert!(
        night.body["user"].is_null(),
        "outside the restriction: nobody"
    );
    let timeline = server
        .get(
            &format!(
                "{PROJECT}/schedules/primary/timeline?from=2026-11-03T00:00:00Z&to=2026-11-04T00:00:00Z"
            ),
            &admin,
        )
        .await;
    assert_eq!(timeline.status, StatusCode::OK, "{}", timeline.text);
    let gaps = timeline.body["gaps"].as_array().unwrap();
    assert_eq!(gaps.len(), 2, "{}", timeline.text);
    assert_eq!(timeline.body["segments"][1]["source"], "layer:business");
    let ical = server
        .client
        .get(format!(
            "{}{PROJECT}/schedules/primary/ical?from=2026-11-03T00:00:00Z&to=2026-11-05T00:00:00Z",
            server.url
        ))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert!(
        ical.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/calendar")
    );
    let text = ical.text().await.unwrap();
    assert_eq!(text.matches("BEGIN:VEVENT").count(), 2);

    // Bad definitions are refused with the field at fault; unknown users too.
    for (definition, code) in [
        (
            json!({"time_zone": "Mars/Base", "layers": []}),
            "invalid_time_zone",
        ),
        (
            json!({"time_zone": "UTC", "layers": [{"name": "x", "unit": "fortnight",
                   "first_handoff": "2026-11-02T09:00", "participants": [ann]}]}),
            "invalid_unit",
        ),
        (
            json!({"time_zone": "UTC", "layers": [{"name": "x", "unit": "day",
                   "first_handoff": "2026-11-02T09:00", "participants": ["01a20000-0000-7000-8000-000000000000"]}]}),
            "unknown_user",
        ),
        (
            json!({"time_zone": "UTC", "layers": [], "extra": 1}),
            "invalid_definition",
        ),
    ] {
        let reply = server
            .post(
                &format!("{PROJECT}/schedules"),
                &admin,
                json!({"identifier": "bad", "name": "Bad", "definition": definition}),
            )
            .await;
        assert_eq!(
            (reply.status, reply.code()),
            (StatusCode::BAD_REQUEST, code),
            "{}",
            reply.text
        );
    }
}

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

#[tokio::test]
async fn services_integrations_schedules_and_policies_update_and_delete_safely() {
    let server = TestServer::start().await;
    let admin = server.admin_token.clone();
    let (ann, _) = user(&server, "ann@example.com").await;
    server
        .post(
            &format!("{PROJECT}/services"),
            &admin,
            json!({"identifier": "api", "name": "API"}),
        )
        .await;
    let renamed = server
        .patch(
            &format!("{PROJECT}/services/api"),
            &admin,
            json!({"name": "Public API", "auto_resolve": false}),
        )
        .await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.text);
    assert_eq!(renamed.body["name"], "Public API");
    assert_eq!(renamed.body["auto_resolve"], false);
    server
        .post(
            &format!("{PROJECT}/schedules"),
            &admin,
            json!({"identifier": "primary", "name": "P", "definition": {"time_zone": "UTC",
                "layers": [{"name": "l", "unit": "week", "first_handoff": "2026-01-05T00:00",
                            "participants": [ann]}]}}),
        )
        .await;
    server
        .post(
            &format!("{PROJECT}/escalation-policies"),
            &admin,
            json!({"identifier": "default", "name": "D", "definition": {"levels": [
                {"targets": [{"type": "schedule", "id": "primary"}], "delay_minutes": 5}]}}),
        )
        .await;
    server
        .request(
            reqwest::Method::PUT,
            &format!("{PROJECT}/services/api/escalation-policy"),
            Some(&admin),
            Some(&json!({"escalation_policy": "default"})),
        )
        .await;
    // In use: refused, naming why.
    let schedule_in_use = server
        .delete(&format!("{PROJECT}/schedules/primary"), &admin)
        .await;
    assert_eq!(
        (schedule_in_use.status, schedule_in_use.code()),
        (StatusCode::CONFLICT, "schedule_in_use")
    );
    let policy_in_use = server
        .delete(&format!("{PROJECT}/escalation-policies/default"), &admin)
        .await;
    assert_eq!(
        (policy_in_use.status, policy_in_use.code()),
        (StatusCode::CONFLICT, "policy_in_use")
    );
    // An integration deleted stops accepting webhooks.
    let hook = server
        .post(
            &format!("{PROJECT}/services/api/integrations"),
            &admin,
            json!({"name": "G", "format": "generic", "auth_mode": "bearer"}),
        )
        .await;
    let id = hook.body["integration"]["id"].as_str().unwrap().to_owned();
    let token = hook.body["token"].as_str().unwrap().to_owned();
    rampart_testkit::remember_secret(&token);
    let deleted = server
        .delete(&format!("{PROJECT}/services/api/integrations/{id}"), &admin)
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let refused = server
        .client
        .post(format!("{}/hooks/v1/{id}", server.url))
        .bearer_auth(&token)
        .json(&json!({"dedup_key": "k", "summary": "s"}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 404);
    // Unhooked, everything goes.
    server
        .request(
            reqwest::Method::PUT,
            &format!("{PROJECT}/services/api/escalation-policy"),
            Some(&admin),
            Some(&json!({"escalation_policy": null})),
        )
        .await;
    for path in [
        "escalation-policies/default",
        "schedules/primary",
        "services/api",
    ] {
        let reply = server.delete(&format!("{PROJECT}/{path}"), &admin).await;
        assert_eq!(
            reply.status,
            StatusCode::NO_CONTENT,
            "{path}: {}",
            reply.text
        );
    }
    assert_eq!(
        server
            .get(&format!("{PROJECT}/services/api"), &admin)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn definitions_and_alert_rules_answer_what_was_written() {
    let server = TestServer::start().await;
    let admin = server.admin_token.clone();
    let (ann, _) = user(&server, "ann@example.com").await;
    let put = async |path: &str, body: serde_json::Value| {
        server
            .request(
                reqwest::Method::PUT,
                &format!("{PROJECT}/{path}"),
                Some(&admin),
                Some(&body),
            )
            .await
    };
    // A schedule and a policy answer their definition as written, defaults left out.
    let schedule = json!({"time_zone": "Europe/Berlin",
        "layers": [{"name": "day", "unit": "day", "first_handoff": "2026-11-02T09:00",
                    "participants": [ann], "priority": 1, "every": 2,
                    "restrictions": [{"type": "weekly", "start_day": "monday", "start": "09:00",
                                      "end_day": "friday", "end": "17:00"}],
                    "ends_at": "2027-01-01T00:00:00Z"}],
        "overrides": [{"user": ann, "starts_at": "2026-12-24T00:00:00Z",
                       "ends_at": "2026-12-27T00:00:00Z"}]});
    let created = server
        .post(
            &format!("{PROJECT}/schedules"),
            &admin,
            json!({"identifier": "primary", "name": "Primary", "definition": schedule}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    assert_eq!(created.body["definition"], schedule);
    let read = server
        .get(&format!("{PROJECT}/schedules/primary"), &admin)
        .await;
    assert_eq!(read.body["definition"], schedule);
    let listed = server.get(&format!("{PROJECT}/schedules"), &admin).await;
    assert_eq!(listed.body["items"][0]["definition"], schedule);
    let policy = json!({"levels": [{"targets": [{"type": "schedule", "id": "primary"}],
                                    "delay_minutes": 5}]});
    let created = server
        .post(
            &format!("{PROJECT}/escalation-policies"),
            &admin,
            json!({"identifier": "default", "name": "Default", "definition": policy}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let replaced_policy = json!({"levels": [{"targets": [{"type": "user", "id": ann}],
                                             "delay_minutes": 10}], "repeats": 2});
    let replaced = put(
        "escalation-policies/default",
        json!({"name": "Default", "definition": replaced_policy}),
    )
    .await;
    assert_eq!(replaced.status, StatusCode::OK, "{}", replaced.text);
    assert_eq!(replaced.body["definition"], replaced_policy);
    assert_eq!(
        server
            .get(&format!("{PROJECT}/escalation-policies/default"), &admin)
            .await
            .body["definition"],
        replaced_policy
    );
    // A malformed definition: 400, unless what it would replace does not exist.
    let malformed = json!({"name": "X", "definition": {"levels": [], "extra": 1}});
    let reply = put("escalation-policies/default", malformed.clone()).await;
    assert_eq!(
        (reply.status, reply.code()),
        (StatusCode::BAD_REQUEST, "invalid_definition")
    );
    let reply = put("escalation-policies/nothing", malformed).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.text);
    let reply = put(
        "schedules/nothing",
        json!({"name": "X", "definition": {"time_zone": 1}}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.text);

    // Alert rules answer with their conditions in full; a malformed rule is
    // invalid_rules, unless the service does not exist.
    server
        .post(
            &format!("{PROJECT}/services"),
            &admin,
            json!({"identifier": "api", "name": "API"}),
        )
        .await;
    let set = put(
        "services/api/alert-rules",
        json!({"rules": [{"name": "quiet", "action": "record_only"}]}),
    )
    .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.text);
    let full = json!({"rules": [{"name": "quiet", "action": "record_only", "conditions":
        {"min_severity": null, "max_severity": null, "labels": {}, "source": null}}]});
    assert_eq!(set.body, full);
    assert_eq!(
        server
            .get(&format!("{PROJECT}/services/api/alert-rules"), &admin)
            .await
            .body,
        full
    );
    let malformed = json!({"rules": [{"name": "x", "action": "delete_everything"}]});
    let reply = put("services/api/alert-rules", malformed.clone()).await;
    assert_eq!(
        (reply.status, reply.code()),
        (StatusCode::BAD_REQUEST, "invalid_rules")
    );
    let reply = put("services/nothing/alert-rules", malformed).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.text);
}
