//! Schedules: who is on call at an instant (layers, restrictions), the timeline with its
//! gaps, the iCal export, and bad definitions refused with the field at fault.

use rampart_testkit::{StatusCode, TestServer};
use serde_json::json;

use super::{PROJECT, user};

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
