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
    // People are shown by their display name (on call, timelines, calendars).
    let renamed = server
        .patch(
            &format!("/api/v1/users/{bob}"),
            &admin,
            json!({"display_name": "Bob Builder"}),
        )
        .await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.text);
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
    assert_eq!(on_call.body["user_name"], "Bob Builder");
    let night = server
        .get(
            &format!("{PROJECT}/schedules/primary/on-call?at=2026-11-03T20:00:00Z"),
            &admin,
        )
        .await;
    assert!(
        night.body["user"].is_null() && night.body["user_name"].is_null(),
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
    assert_eq!(timeline.body["segments"][1]["user_name"], "Bob Builder");
    // Query strings are strict here as on every route: an unknown parameter is refused.
    for query in [
        "timeline?from=2026-11-03T00:00:00Z&to=2026-11-04T00:00:00Z&form=x",
        "ical?from=2026-11-03T00:00:00Z&to=2026-11-04T00:00:00Z&form=x",
        "on-call?at=2026-11-03T10:00:00Z&tz=UTC",
        "overrides?since=2026-11-03T00:00:00Z",
    ] {
        let reply = server
            .get(&format!("{PROJECT}/schedules/primary/{query}"), &admin)
            .await;
        assert_eq!(
            (reply.status, reply.code()),
            (StatusCode::BAD_REQUEST, "invalid_query"),
            "{query}: {}",
            reply.text
        );
    }
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
    assert!(
        text.contains("SUMMARY:On call: Bob Builder (Primary)\r\n")
            && text.contains("SUMMARY:On call: Test User (Primary)\r\n"),
        "{text}"
    );
    assert!(!text.contains(&bob) && !text.contains(&ann), "{text}");

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
        // Objects only, at every depth: a layer or a restriction as an array of its
        // fields is refused (serde alone would read it).
        (
            json!({"time_zone": "UTC", "layers": [["x", 0, "day", 1, "2026-11-02T09:00", [ann]]]}),
            "invalid_definition",
        ),
        (
            json!({"time_zone": "UTC", "layers": [{"name": "x", "unit": "day",
                   "first_handoff": "2026-11-02T09:00", "participants": [ann],
                   "restrictions": [["daily", "09:00", "17:00"]]}]}),
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

#[tokio::test]
async fn overrides_are_added_listed_taken_and_deleted_on_their_own_on_sqlite() {
    overrides_on_their_own(async || Some(TestServer::start().await)).await;
}

#[tokio::test]
async fn overrides_are_added_listed_taken_and_deleted_on_their_own_on_postgres() {
    overrides_on_their_own(TestServer::start_postgres).await;
}

/// The overrides API: add, list and delete one override without replacing the schedule,
/// who is on call follows; "take my shift" by a user; refusals; audit events.
async fn overrides_on_their_own(start: impl AsyncFnOnce() -> Option<TestServer>) {
    let Some(server) = start().await else {
        return;
    };
    let admin = server.admin_token.clone();
    let (ann, _) = user(&server, "ann@example.com").await;
    let (bob, bob_token) = user(&server, "bob@example.com").await;
    let (carol, carol_token) = user(&server, "carol@example.com").await;
    let legacy = json!({"user": ann, "starts_at": "2026-12-24T00:00:00Z",
                        "ends_at": "2026-12-25T00:00:00Z"});
    let created = server
        .post(
            &format!("{PROJECT}/schedules"),
            &admin,
            json!({"identifier": "primary", "name": "Primary", "definition": {
                "time_zone": "UTC",
                "layers": [{"name": "all", "unit": "week", "first_handoff": "2026-11-02T00:00",
                            "participants": [ann]}],
                "overrides": [legacy]}}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let base = format!("{PROJECT}/schedules/primary/overrides");
    let on_call_at = async |at: &str| {
        let reply = server
            .get(
                &format!("{PROJECT}/schedules/primary/on-call?at={at}"),
                &admin,
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        reply.body["user"].as_str().map(str::to_owned)
    };
    assert_eq!(
        on_call_at("2026-11-10T12:00:00Z").await.as_deref(),
        Some(ann.as_str())
    );

    // An override stored without an id is listed with a derived, stable one.
    let listed = server.get(&base, &admin).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    let legacy_id = listed.body["overrides"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(legacy_id.starts_with("legacy-"), "{}", listed.text);
    assert_eq!(server.get(&base, &admin).await.body, listed.body);

    // Add one: bob on call on 10 November; the layers and the old override stay.
    let added = server
        .post(
            &base,
            &admin,
            json!({"user": bob, "starts_at": "2026-11-10T00:00:00Z",
                   "ends_at": "2026-11-11T00:00:00Z"}),
        )
        .await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.text);
    let bob_override = added.body["id"].as_str().unwrap().to_owned();
    assert_eq!(added.body["user"], bob.as_str());
    assert_eq!(
        on_call_at("2026-11-10T12:00:00Z").await.as_deref(),
        Some(bob.as_str())
    );
    let schedule = server
        .get(&format!("{PROJECT}/schedules/primary"), &admin)
        .await;
    assert_eq!(schedule.body["definition"]["layers"][0]["name"], "all");
    assert_eq!(schedule.body["definition"]["overrides"][0], legacy);
    assert_eq!(
        schedule.body["definition"]["overrides"][1]["id"],
        bob_override.as_str()
    );

    // The range filter keeps what overlaps it.
    let ranged = server
        .get(
            &format!("{base}?from=2026-11-10T06:00:00Z&to=2026-11-12T00:00:00Z"),
            &admin,
        )
        .await;
    assert_eq!(ranged.status, StatusCode::OK, "{}", ranged.text);
    let ids: Vec<&str> = ranged.body["overrides"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [bob_override.as_str()]);

    // Carol (a plain user) takes her shift on 12 November; a viewer cannot.
    let project_users = format!("{PROJECT}/role-assignments");
    for (who, role) in [(&carol, "_user"), (&bob, "_viewer")] {
        let assigned = server
            .post(
                &project_users,
                &admin,
                json!({"principal": format!("user:{who}"), "role": role}),
            )
            .await;
        assert_eq!(assigned.status, StatusCode::CREATED, "{}", assigned.text);
    }
    let shift = json!({"starts_at": "2026-11-12T00:00:00Z", "ends_at": "2026-11-13T00:00:00Z"});
    let taken = server
        .post(&format!("{base}/take"), &carol_token, shift.clone())
        .await;
    assert_eq!(taken.status, StatusCode::CREATED, "{}", taken.text);
    assert_eq!(taken.body["user"], carol.as_str());
    assert_eq!(
        on_call_at("2026-11-12T12:00:00Z").await.as_deref(),
        Some(carol.as_str())
    );
    let viewer = server
        .post(&format!("{base}/take"), &bob_token, shift.clone())
        .await;
    assert_eq!(viewer.status, StatusCode::FORBIDDEN, "{}", viewer.text);
    assert_eq!(server.get(&base, &bob_token).await.status, StatusCode::OK);
    // Carol may add but not delete.
    let denied = server
        .delete(&format!("{base}/{bob_override}"), &carol_token)
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN, "{}", denied.text);

    // A service account cannot take a shift.
    let sa = server
        .post(
            &format!("{PROJECT}/service-accounts"),
            &admin,
            json!({"name": "bot"}),
        )
        .await;
    let sa_id = sa.body["id"].as_str().unwrap().to_owned();
    let assigned = server
        .post(
            &project_users,
            &admin,
            json!({"principal": format!("service_account:{sa_id}"), "role": "_project_admin"}),
        )
        .await;
    assert_eq!(assigned.status, StatusCode::CREATED, "{}", assigned.text);
    let sa_token = server
        .post(
            &format!("{PROJECT}/service-accounts/{sa_id}/tokens"),
            &admin,
            json!({"name": "ci", "expires_in_days": 1}),
        )
        .await;
    let sa_token = sa_token.body["secret"].as_str().unwrap().to_owned();
    rampart_testkit::remember_secret(&sa_token);
    let bot = server
        .post(&format!("{base}/take"), &sa_token, shift.clone())
        .await;
    assert_eq!(
        (bot.status, bot.code()),
        (StatusCode::BAD_REQUEST, "not_a_user"),
        "{}",
        bot.text
    );

    // Refusals: bad ranges, an unknown user, a missing schedule or override.
    for (body, code) in [
        (
            json!({"user": ann, "starts_at": "2026-11-10T00:00:00Z", "ends_at": "2026-11-10T00:00:00Z"}),
            "invalid_override_range",
        ),
        (
            json!({"user": ann, "starts_at": "2026-11-10T00:00:00Z", "ends_at": "2027-03-10T00:00:00Z"}),
            "invalid_override_range",
        ),
        (
            json!({"user": ann, "starts_at": "yesterday", "ends_at": "2026-11-10T00:00:00Z"}),
            "invalid_override_range",
        ),
        (
            json!({"user": "01a20000-0000-7000-8000-000000000000",
                   "starts_at": "2026-11-10T00:00:00Z", "ends_at": "2026-11-11T00:00:00Z"}),
            "unknown_user",
        ),
    ] {
        let reply = server.post(&base, &admin, body).await;
        assert_eq!(
            (reply.status, reply.code()),
            (StatusCode::BAD_REQUEST, code),
            "{}",
            reply.text
        );
    }
    let missing = server
        .post(
            &format!("{PROJECT}/schedules/nothing/overrides"),
            &admin,
            json!({"user": ann, "starts_at": "2026-11-10T00:00:00Z",
                   "ends_at": "2026-11-11T00:00:00Z"}),
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND, "{}", missing.text);
    let gone = server
        .delete(&format!("{base}/no-such-override"), &admin)
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND, "{}", gone.text);
    // Another project's schedule is not found there.
    server
        .post(
            "/api/v1/orgs/default/projects",
            &admin,
            json!({"identifier": "web", "name": "Web"}),
        )
        .await;
    let elsewhere = server
        .get(
            "/api/v1/orgs/default/projects/web/schedules/primary/overrides",
            &admin,
        )
        .await;
    assert_eq!(
        elsewhere.status,
        StatusCode::NOT_FOUND,
        "{}",
        elsewhere.text
    );
    let elsewhere = server
        .delete(
            &format!(
                "/api/v1/orgs/default/projects/web/schedules/primary/overrides/{bob_override}"
            ),
            &admin,
        )
        .await;
    assert_eq!(
        elsewhere.status,
        StatusCode::NOT_FOUND,
        "{}",
        elsewhere.text
    );

    // Delete bob's override and the legacy one: the layer is back.
    for id in [&bob_override, &legacy_id] {
        let deleted = server.delete(&format!("{base}/{id}"), &admin).await;
        assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text);
    }
    assert_eq!(
        on_call_at("2026-11-10T12:00:00Z").await.as_deref(),
        Some(ann.as_str())
    );
    let listed = server.get(&base, &admin).await;
    assert_eq!(listed.body["overrides"].as_array().unwrap().len(), 1);
    assert_eq!(listed.body["overrides"][0]["user"], carol.as_str());

    // A full replacement keeps the overrides it is given, ids included.
    let mut definition = server
        .get(&format!("{PROJECT}/schedules/primary"), &admin)
        .await
        .body["definition"]
        .clone();
    let carol_override = definition["overrides"][0]["id"].clone();
    definition["time_zone"] = json!("Europe/Berlin");
    let replaced = server
        .request(
            reqwest::Method::PUT,
            &format!("{PROJECT}/schedules/primary"),
            Some(&admin),
            Some(&json!({"name": "Primary", "definition": definition})),
        )
        .await;
    assert_eq!(replaced.status, StatusCode::OK, "{}", replaced.text);
    assert_eq!(
        server.get(&base, &admin).await.body["overrides"][0]["id"],
        carol_override
    );

    // Every change is audited.
    for (action, count) in [
        ("schedule_override.create", 2),
        ("schedule_override.delete", 2),
    ] {
        let audited = server
            .get(&format!("/api/v1/audit-events?action={action}"), &admin)
            .await;
        assert_eq!(
            audited.body["items"].as_array().unwrap().len(),
            count,
            "{action}: {}",
            audited.text
        );
    }
}

/// `rampart schedule`: created from a definition file, listed, shown, updated (a name
/// alone keeps the definition; a definition from stdin), refused with the field at fault,
/// deleted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedule_commands_create_from_a_file_show_update_and_delete() {
    let server = TestServer::start().await;
    let (ann, _) = user(&server, "ann@example.com").await;
    let cli = crate::cli::Cli::new(&server, &server.admin_token);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("primary.json");
    std::fs::write(
        &file,
        json!({"time_zone": "Europe/Berlin", "layers": [{"name": "weekly", "unit": "week",
               "first_handoff": "2026-11-23T09:00", "participants": [ann]}]})
        .to_string(),
    )
    .unwrap();
    let created = cli.run(&[
        "schedule",
        "create",
        "primary",
        "--name",
        "Primary",
        "--definition",
        file.to_str().unwrap(),
    ]);
    assert!(
        created.starts_with("IDENTIFIER") && created.contains("primary"),
        "{created}"
    );
    let listed = cli.json(&["schedule", "list"]);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["definition"]["time_zone"], "Europe/Berlin");
    let shown = cli.run(&["schedule", "show", "primary"]);
    assert!(
        shown.contains("\"time_zone\": \"Europe/Berlin\""),
        "{shown}"
    );

    let renamed = cli.json(&["schedule", "update", "primary", "--name", "Primary EU"]);
    assert_eq!(renamed[0]["name"], "Primary EU");
    assert_eq!(renamed[0]["definition"]["time_zone"], "Europe/Berlin");
    let utc = json!({"time_zone": "UTC", "layers": [{"name": "daily", "unit": "day",
                     "first_handoff": "2026-11-23T09:00", "participants": [ann]}]});
    let moved: serde_json::Value = serde_json::from_str(&cli.run_with_stdin(
        &[
            "schedule",
            "update",
            "primary",
            "--definition",
            "-",
            "--output",
            "json",
        ],
        &utc.to_string(),
    ))
    .unwrap();
    assert_eq!(
        (
            moved[0]["name"].as_str(),
            moved[0]["definition"]["time_zone"].as_str()
        ),
        (Some("Primary EU"), Some("UTC"))
    );
    assert!(
        cli.fails(&["schedule", "update", "primary"])
            .contains("nothing to change")
    );

    std::fs::write(
        &file,
        json!({"time_zone": "Mars/Base", "layers": []}).to_string(),
    )
    .unwrap();
    let refused = cli.fails(&[
        "schedule",
        "create",
        "bad",
        "--name",
        "Bad",
        "--definition",
        file.to_str().unwrap(),
    ]);
    assert!(refused.contains("invalid_time_zone (400)"), "{refused}");
    std::fs::write(&file, "not json").unwrap();
    let unreadable = cli.fails(&[
        "schedule",
        "create",
        "bad",
        "--name",
        "Bad",
        "--definition",
        file.to_str().unwrap(),
    ]);
    assert!(unreadable.contains("is not JSON"), "{unreadable}");

    cli.run(&["schedule", "delete", "primary"]);
    assert!(
        cli.fails(&["schedule", "show", "primary"])
            .contains("not_found (404)")
    );
}
