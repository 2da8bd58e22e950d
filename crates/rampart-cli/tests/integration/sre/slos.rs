//! SLOs through the API, on a manual clock: who may read and write them, definitions
//! checked with the field named, minutes pushed (all or nothing, each minute replacing
//! an earlier push of it), and the budget and burn rates the status shows — numbers
//! worked out by hand from README "How SLO budgets are computed". Both engines.

use jiff::{SignedDuration, Timestamp};
use rampart_testkit::StatusCode;
use serde_json::{Value, json};

use super::contact_methods::{manual_clock, quiet_engine};
use super::{PROJECT, user_with_role};

fn definition() -> Value {
    json!({
        "description": "Checkout answers",
        "service": "checkout",
        "target": 0.999,
        "time_window": {"duration": "30d", "is_rolling": true},
        "budgeting_method": "occurrences"
    })
}

/// `count` minutes ending at `end`, each with 1 000 events of which `bad(index)` bad.
fn minutes(end: Timestamp, count: i64, bad: impl Fn(i64) -> f64) -> Value {
    let minutes: Vec<Value> = (0..count)
        .map(|index| {
            let minute = end - SignedDuration::from_mins(count - index);
            json!({"minute": minute.to_string(), "good": 1000.0 - bad(index), "total": 1000.0})
        })
        .collect();
    json!({ "minutes": minutes })
}

fn close(left: &Value, right: f64) -> bool {
    left.as_f64()
        .is_some_and(|left| (left - right).abs() < 1e-6)
}

/// The service's alerts as (severity, status), sorted.
async fn service_alerts(
    server: &rampart_testkit::TestServer,
    token: &str,
    service: &str,
) -> Vec<(String, String)> {
    let listed = server
        .get(&format!("{PROJECT}/alerts?service={service}"), token)
        .await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    let mut alerts: Vec<(String, String)> = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|alert| {
            (
                alert["severity"].as_str().unwrap().to_owned(),
                alert["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    alerts.sort();
    alerts
}

/// `PUT` of a new definition of the SLO at `path`, made to `expected_version`.
async fn put_definition(
    server: &rampart_testkit::TestServer,
    token: &str,
    path: &str,
    definition: Value,
    expected_version: u32,
) -> rampart_testkit::Reply {
    server
        .request(
            reqwest::Method::PUT,
            path,
            Some(token),
            Some(&json!({"definition": definition, "expected_version": expected_version})),
        )
        .await
}

async fn slos_keep_budgets(engine: Option<rampart_testkit::Engine>) {
    let clock = manual_clock();
    let now: Timestamp = "2026-11-03T10:00:00Z".parse().unwrap();
    let server = quiet_engine(engine, Some(clock.clone())).await;
    let admin = server.admin_token.clone();
    super::service(&server, "checkout").await;
    let slos = format!("{PROJECT}/slos");
    let (_, viewer) = user_with_role(&server, "viewer@example.com", "_viewer").await;

    // Created by a writer, not by a reader.
    let body = json!({"identifier": "checkout-availability", "name": "Checkout availability",
                      "definition": definition()});
    let refused = server.post(&slos, &viewer, body.clone()).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    let created = server.post(&slos, &admin, body.clone()).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    assert_eq!(created.body["version"], 1);
    assert_eq!(created.body["definition"], definition());
    let status = &created.body["status"];
    assert_eq!(status["window_start"], "2026-10-04T10:00:00Z", "{status}");
    assert_eq!(status["window_end"], "2026-11-03T10:00:00Z", "{status}");
    assert!(close(&status["consumed"], 0.0), "{status}");
    assert!(status["exhaustion_at"].is_null(), "{status}");
    let windows: Vec<(i64, i64, f64)> = status["burn_rates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|burn| {
            assert!(
                burn["long_burn_rate"].is_null(),
                "no data, no burn rate: {burn}"
            );
            (
                burn["long_window_minutes"].as_i64().unwrap(),
                burn["short_window_minutes"].as_i64().unwrap(),
                burn["factor"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        windows,
        [
            (60, 5, 14.4),
            (360, 30, 6.0),
            (1440, 120, 3.0),
            (4320, 360, 1.0)
        ]
    );
    let taken = server.post(&slos, &admin, body).await;
    assert_eq!(taken.status, StatusCode::CONFLICT, "{}", taken.text);
    assert_eq!(taken.code(), "identifier_taken");

    // Bad definitions are refused with the field named; nothing is created.
    for (change, code, names) in [
        (json!({"targett": 0.9}), "invalid_definition", "targett"),
        (json!({"target": 1.5}), "invalid_definition", "target"),
        (
            json!({"time_window": {"duration": "2M", "is_rolling": false}}),
            "invalid_definition",
            "calendar window",
        ),
        (
            json!({"time_window": {"duration": "1M", "is_rolling": false, "time_zone": "Mars/Base"}}),
            "invalid_definition",
            "Mars/Base",
        ),
        (
            json!({"time_window": {"duration": "401d"}}),
            "invalid_definition",
            "rolling window",
        ),
        (
            json!({"budgeting_method": "timeslices"}),
            "invalid_definition",
            "time_slice_target",
        ),
        (json!({"service": "nowhere"}), "unknown_service", "nowhere"),
    ] {
        let mut bad = definition();
        for (key, value) in change.as_object().unwrap() {
            bad[key] = value.clone();
        }
        let refused = server
            .post(
                &slos,
                &admin,
                json!({"identifier": "bad", "name": "Bad", "definition": bad}),
            )
            .await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text);
        assert_eq!(refused.code(), code, "{}", refused.text);
        assert!(refused.text.contains(names), "{names}: {}", refused.text);
    }
    let listed = server.get(&slos, &viewer).await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);

    // 100 minutes at 0.05 % errors: half the budget's rate, nothing fires.
    let path = format!("{slos}/checkout-availability");
    let push = format!("{path}/minutes");
    let refused = server
        .post(&push, &viewer, minutes(now, 100, |_| 0.5))
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    let refused = server.delete(&path, &viewer).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    let pushed = server.post(&push, &admin, minutes(now, 100, |_| 0.5)).await;
    assert_eq!(pushed.status, StatusCode::OK, "{}", pushed.text);
    assert_eq!(pushed.body["stored"], 100);
    let shown = server.get(&path, &viewer).await;
    let status = &shown.body["status"];
    assert!(close(&status["good"], 99_950.0), "{status}");
    assert!(close(&status["bad"], 50.0), "{status}");
    assert!(close(&status["allowed"], 100.0), "{status}");
    assert!(close(&status["consumed"], 0.5), "{status}");
    assert!(close(&status["remaining"], 0.5), "{status}");
    assert_eq!(status["exhausted"], false);
    // At 0.5× the half left lasts 30 days.
    assert_eq!(status["exhaustion_at"], "2026-12-03T10:00:00Z", "{status}");
    assert!(
        close(&status["burn_rates"][0]["long_burn_rate"], 0.5),
        "{status}"
    );
    assert!(
        status["burn_rates"]
            .as_array()
            .unwrap()
            .iter()
            .all(|burn| burn["firing"] == false),
        "{status}"
    );

    // The same push again changes nothing.
    let again = server.post(&push, &admin, minutes(now, 100, |_| 0.5)).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
    assert_eq!(server.get(&path, &viewer).await.body["status"], *status);

    // A bad minute refuses the whole push, naming it; nothing of it is kept.
    let bad_pushes = [
        (
            json!({"minute": "2026-11-03T09:58:30Z", "good": 1, "total": 1}),
            "whole minute",
        ),
        (
            json!({"minute": "2026-11-03T09:58:00Z", "good": 2, "total": 1}),
            "more good",
        ),
        (
            json!({"minute": "2026-11-03T09:58:00Z", "good": -1, "total": 1}),
            "negative",
        ),
        (
            json!({"minute": "2025-09-01T00:00:00Z", "good": 1, "total": 1}),
            "400 days",
        ),
        (
            json!({"minute": "2026-11-03T10:10:00Z", "good": 1, "total": 1}),
            "5 minutes",
        ),
        (
            json!({"minute": "yesterday", "good": 1, "total": 1}),
            "RFC 3339",
        ),
    ];
    for (bad, says) in bad_pushes {
        let body = json!({"minutes": [
            {"minute": "2026-11-03T09:59:00Z", "good": 0, "total": 1000},
            bad
        ]});
        let refused = server.post(&push, &admin, body).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text);
        assert_eq!(refused.code(), "invalid_minutes", "{}", refused.text);
        assert!(refused.text.contains("minutes[1]"), "{}", refused.text);
        assert!(refused.text.contains(says), "{says}: {}", refused.text);
    }
    for body in [
        json!({"minutes": []}),
        minutes(now, 1441, |_| 0.0),
        json!({"minutes": [{"minute": "2026-11-03T09:59:00Z", "good": null, "total": 1}]}),
        json!({"minutes": [{"minute": "2026-11-03T09:59:00Z", "good": "1", "total": 1}]}),
    ] {
        let refused = server.post(&push, &admin, body).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text);
    }
    assert_eq!(server.get(&path, &viewer).await.body["status"], *status);

    // A burst: the last 10 minutes at 20 % errors, sent again over what was there.
    let burst = server
        .post(&push, &admin, minutes(now, 10, |_| 200.0))
        .await;
    assert_eq!(burst.status, StatusCode::OK, "{}", burst.text);
    let status = server.get(&path, &viewer).await.body["status"].clone();
    // 90 × 0.5 + 10 × 200 bad of 100 000.
    assert!(close(&status["bad"], 2045.0), "{status}");
    assert!(close(&status["consumed"], 20.45), "{status}");
    assert_eq!(status["exhausted"], true);
    assert_eq!(status["exhaustion_at"], "2026-11-03T10:00:00Z", "{status}");
    let page = &status["burn_rates"][0];
    // Last hour: (50 × 0.5 + 2 000) / 60 000 over 0.1 %; last 5 minutes: 20 %.
    assert!(close(&page["long_burn_rate"], 2025.0 / 60.0), "{page}");
    assert!(close(&page["short_burn_rate"], 200.0), "{page}");
    assert_eq!(page["firing"], true, "{page}");
    // Before the burst the same SLO was quiet (?at= a past instant).
    let earlier = server
        .get(&format!("{path}?at=2026-11-03T09:45:00Z"), &viewer)
        .await;
    assert_eq!(earlier.status, StatusCode::OK, "{}", earlier.text);
    assert_eq!(earlier.body["status"]["burn_rates"][0]["firing"], false);
    let bad_at = server.get(&format!("{path}?at=soon"), &viewer).await;
    assert_eq!(bad_at.status, StatusCode::BAD_REQUEST, "{}", bad_at.text);
    assert_eq!(bad_at.code(), "invalid_at");

    // The engine raises the alerts the status calls for, once, on the SLO's service
    // like any sender's (so they open an incident): the page and the ticket burns and
    // the exhausted budget.
    let alerts_of = async |service: &str| service_alerts(&server, &admin, service).await;
    let alerts = async || alerts_of("checkout").await;
    assert!(alerts().await.is_empty());
    assert_eq!(server.app().evaluate_slos().await.unwrap(), 1);
    assert_eq!(
        server.app().evaluate_slos().await.unwrap(),
        0,
        "raised once"
    );
    let pair = |severity: &str, status: &str| (severity.to_owned(), status.to_owned());
    assert_eq!(
        alerts().await,
        [
            pair("critical", "triggered"),
            pair("error", "triggered"),
            pair("warning", "triggered")
        ]
    );
    let incidents = server.get(&format!("{PROJECT}/incidents"), &admin).await;
    assert!(
        !incidents.body["items"].as_array().unwrap().is_empty(),
        "{}",
        incidents.text
    );
    // Four days on, nothing burns in any lookback: the burn alerts resolve; the budget
    // of the 30 days is still spent.
    clock.advance(SignedDuration::from_hours(96));
    assert_eq!(server.app().evaluate_slos().await.unwrap(), 1);
    assert_eq!(
        alerts().await,
        [
            pair("critical", "resolved"),
            pair("error", "triggered"),
            pair("warning", "resolved")
        ]
    );

    // Timeslices instead: 10 bad minutes of 30 days' 43 200 at 0.1 %.
    let mut slices = definition();
    slices["budgeting_method"] = json!("timeslices");
    slices["time_slice_target"] = json!(0.95);
    let updated = put_definition(&server, &admin, &path, slices, 1).await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.text);
    assert_eq!(updated.body["version"], 2);
    let status = &updated.body["status"];
    assert!(close(&status["good"], 90.0), "{status}");
    assert!(close(&status["bad"], 10.0), "{status}");
    assert!(close(&status["allowed"], 43.2), "{status}");
    let stale = put_definition(&server, &admin, &path, definition(), 1).await;
    assert_eq!(stale.status, StatusCode::CONFLICT, "{}", stale.text);
    assert_eq!(stale.code(), "slo_version_stale");

    // Moved to another service (occurrences again: the budget is spent), its open alert
    // ends on the old service and the engine raises it on the new one.
    super::service(&server, "payments").await;
    let mut moved = definition();
    moved["service"] = json!("payments");
    let updated = put_definition(&server, &admin, &path, moved, 2).await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.text);
    assert_eq!(
        alerts().await,
        [
            pair("critical", "resolved"),
            pair("error", "resolved"),
            pair("warning", "resolved")
        ]
    );
    assert!(alerts_of("payments").await.is_empty());
    assert_eq!(server.app().evaluate_slos().await.unwrap(), 1);
    assert_eq!(alerts_of("payments").await, [pair("error", "triggered")]);
    // The same through an OpenSLO import naming the first service again.
    let exported = server
        .get(
            &format!("{PROJECT}/openslo?slo=checkout-availability"),
            &admin,
        )
        .await;
    assert_eq!(exported.status, StatusCode::OK, "{}", exported.text);
    let back = exported
        .text
        .replace("service: payments", "service: checkout");
    assert_ne!(back, exported.text);
    let imported = super::slo_openslo::send(&server, &admin, back).await;
    assert_eq!(imported.status, StatusCode::OK, "{}", imported.text);
    assert_eq!(alerts_of("payments").await, [pair("error", "resolved")]);
    assert_eq!(server.app().evaluate_slos().await.unwrap(), 1);
    assert_eq!(
        alerts().await,
        [
            pair("critical", "resolved"),
            pair("error", "resolved"),
            pair("error", "triggered"),
            pair("warning", "resolved")
        ]
    );

    // Another project's SLO looks missing; deleted, it is missing.
    let other = server
        .post(
            "/api/v1/orgs/default/projects",
            &admin,
            json!({"identifier": "other", "name": "Other"}),
        )
        .await;
    assert_eq!(other.status, StatusCode::CREATED, "{}", other.text);
    let elsewhere = server
        .get(
            "/api/v1/orgs/default/projects/other/slos/checkout-availability",
            &admin,
        )
        .await;
    assert_eq!(
        elsewhere.status,
        StatusCode::NOT_FOUND,
        "{}",
        elsewhere.text
    );
    let deleted = server.delete(&path, &admin).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text);
    // Deleted, its open alert ends too.
    assert_eq!(
        alerts().await,
        [
            pair("critical", "resolved"),
            pair("error", "resolved"),
            pair("error", "resolved"),
            pair("warning", "resolved")
        ]
    );
    assert_eq!(server.app().evaluate_slos().await.unwrap(), 0);
    assert_eq!(
        server.get(&path, &admin).await.status,
        StatusCode::NOT_FOUND
    );
    let gone = server.post(&push, &admin, minutes(now, 1, |_| 0.0)).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND, "{}", gone.text);

    // Every change is in the audit log; refused pushes are not.
    for (action, count) in [
        ("slo.create", 1),
        ("slo.update", 3),
        ("slo.delete", 1),
        ("slo.data", 3),
    ] {
        let audit = server
            .get(&format!("/api/v1/audit-events?action={action}"), &admin)
            .await;
        assert_eq!(
            audit.body["items"].as_array().unwrap().len(),
            count,
            "{action}: {}",
            audit.text
        );
    }
}

/// The engine keeps each SLO's minutes between ticks and reads only what changed: a
/// minute written long after its time (a backfill, a correction) must still count, and
/// a window that grows must be read again further back.
async fn the_engine_sees_every_change_to_the_minutes_it_keeps(
    engine: Option<rampart_testkit::Engine>,
) {
    let clock = manual_clock();
    let now: Timestamp = "2026-11-03T10:00:00Z".parse().unwrap();
    let server = quiet_engine(engine, Some(clock.clone())).await;
    let admin = server.admin_token.clone();
    super::service(&server, "checkout").await;
    let slos = format!("{PROJECT}/slos");
    let created = server
        .post(
            &slos,
            &admin,
            json!({"identifier": "kept", "name": "Kept", "definition": definition()}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let path = format!("{slos}/kept");
    let push = format!("{path}/minutes");
    let one_minute = |back: SignedDuration, good: f64, total: f64| json!({"minutes": [{"minute": (now - back).to_string(), "good": good, "total": total}]});
    let exhausted = async || {
        service_alerts(&server, &admin, "checkout")
            .await
            .into_iter()
            .filter(|(_, status)| status == "triggered")
            .map(|(severity, _)| severity)
            .collect::<Vec<_>>()
    };

    // Two good hours: nothing to raise, and the engine now keeps the window.
    let good = server.post(&push, &admin, minutes(now, 120, |_| 0.0)).await;
    assert_eq!(good.status, StatusCode::OK, "{}", good.text);
    assert_eq!(server.app().evaluate_slos().await.unwrap(), 0);
    // A minute of twenty hours ago sent now, all bad: the budget is spent (no lookback
    // of a burn alert but the window holds it).
    let twenty_hours = SignedDuration::from_hours(20);
    let backfill = server
        .post(&push, &admin, one_minute(twenty_hours, 0.0, 1e6))
        .await;
    assert_eq!(backfill.status, StatusCode::OK, "{}", backfill.text);
    assert_eq!(server.app().evaluate_slos().await.unwrap(), 1);
    assert_eq!(exhausted().await, ["error"]);
    // Corrected (sent again, all good): the budget is back.
    let corrected = server
        .post(&push, &admin, one_minute(twenty_hours, 1e6, 1e6))
        .await;
    assert_eq!(corrected.status, StatusCode::OK, "{}", corrected.text);
    assert_eq!(server.app().evaluate_slos().await.unwrap(), 1);
    assert!(exhausted().await.is_empty());
    // A bad minute of forty days ago is outside the 30-day window…
    let forty_days = SignedDuration::from_hours(40 * 24);
    let old = server
        .post(&push, &admin, one_minute(forty_days, 0.0, 1e6))
        .await;
    assert_eq!(old.status, StatusCode::OK, "{}", old.text);
    assert_eq!(server.app().evaluate_slos().await.unwrap(), 0);
    // …and inside a 90-day one: the grown window is read again from its start.
    let mut longer = definition();
    longer["time_window"] = json!({"duration": "90d", "is_rolling": true});
    let updated = put_definition(&server, &admin, &path, longer, 1).await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.text);
    assert_eq!(server.app().evaluate_slos().await.unwrap(), 1);
    assert_eq!(exhausted().await, ["error"]);
    // A minute on, the newest minute arrives and is read; the budget stays spent.
    clock.advance(SignedDuration::from_mins(1));
    let next = server
        .post(
            &push,
            &admin,
            one_minute(SignedDuration::ZERO, 1000.0, 1000.0),
        )
        .await;
    assert_eq!(next.status, StatusCode::OK, "{}", next.text);
    assert_eq!(server.app().evaluate_slos().await.unwrap(), 0);
    // Deleted, the SLO's kept minutes are forgotten with it.
    let deleted = server.delete(&path, &admin).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text);
    assert_eq!(server.app().evaluate_slos().await.unwrap(), 0);
}

#[tokio::test]
async fn the_engine_sees_every_change_on_sqlite() {
    the_engine_sees_every_change_to_the_minutes_it_keeps(None).await;
}

#[tokio::test]
async fn the_engine_sees_every_change_on_postgres() {
    if rampart_testkit::postgres_server_url().is_some() {
        the_engine_sees_every_change_to_the_minutes_it_keeps(Some(
            rampart_testkit::Engine::Postgres,
        ))
        .await;
    }
}

#[tokio::test]
async fn slos_keep_budgets_on_sqlite() {
    slos_keep_budgets(None).await;
}

#[tokio::test]
async fn slos_keep_budgets_on_postgres() {
    if rampart_testkit::postgres_server_url().is_some() {
        slos_keep_budgets(Some(rampart_testkit::Engine::Postgres)).await;
    }
}

/// The history of an SLO, as a chart reads it: each interval's events, burn rate and
/// the budget at its end — figures worked out by hand — through the API and
/// `rampart slo history`, with the range's defaults and its limits.
async fn an_slo_history_charts_its_minutes(engine: Option<rampart_testkit::Engine>) {
    let clock = manual_clock();
    let now: Timestamp = "2026-11-03T10:00:00Z".parse().unwrap();
    let server = quiet_engine(engine, Some(clock.clone())).await;
    let admin = server.admin_token.clone();
    super::service(&server, "checkout").await;
    let (_, viewer) = user_with_role(&server, "viewer@example.com", "_viewer").await;
    let path = format!("{PROJECT}/slos/checkout-availability");
    let created = server
        .post(
            &format!("{PROJECT}/slos"),
            &admin,
            json!({"identifier": "checkout-availability", "name": "Checkout availability",
                   "definition": definition()}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    // 04:00 to 10:00, 1 000 events a minute; 1 % bad from 07:00 to 08:00.
    let pushed = server
        .post(
            &format!("{path}/minutes"),
            &admin,
            minutes(now, 360, |index| {
                if (180..240).contains(&index) {
                    10.0
                } else {
                    0.0
                }
            }),
        )
        .await;
    assert_eq!(pushed.status, StatusCode::OK, "{}", pushed.text);

    let history = server
        .get(
            &format!("{path}/history?from=2026-11-03T03:00:00Z&step=1h"),
            &viewer,
        )
        .await;
    assert_eq!(history.status, StatusCode::OK, "{}", history.text);
    let body = &history.body;
    assert_eq!(body["slo"], "checkout-availability");
    assert_eq!(body["version"], 1);
    assert!(close(&body["target"], 0.999), "{body}");
    assert_eq!(body["from"], "2026-11-03T03:00:00Z");
    assert_eq!(body["to"], "2026-11-03T10:00:00Z", "`to` is now by default");
    assert_eq!(body["step_minutes"], 60);
    let points = body["points"].as_array().unwrap();
    let ends: Vec<&str> = points.iter().map(|p| p["end"].as_str().unwrap()).collect();
    assert_eq!(ends.len(), 7, "{ends:?}");
    assert_eq!(ends[0], "2026-11-03T04:00:00Z");
    assert_eq!(ends[6], "2026-11-03T10:00:00Z");
    // Before the data: no events, no ratio, no burn rate, nothing spent.
    assert_eq!(points[0]["start"], "2026-11-03T03:00:00Z");
    assert!(close(&points[0]["total"], 0.0), "{}", points[0]);
    assert!(points[0]["ratio"].is_null() && points[0]["burn_rate"].is_null());
    assert!(close(&points[0]["budget_remaining"], 1.0), "{}", points[0]);
    // A clean hour.
    assert!(close(&points[1]["ratio"], 1.0), "{}", points[1]);
    assert!(close(&points[1]["burn_rate"], 0.0), "{}", points[1]);
    // The bad hour: 1 % against 0.1 % is 10×; by 08:00, 600 bad of the 240 allowed
    // by 240 000 events.
    let bad = &points[4];
    assert_eq!(bad["start"], "2026-11-03T07:00:00Z");
    assert!(
        close(&bad["good"], 59_400.0) && close(&bad["total"], 60_000.0),
        "{bad}"
    );
    assert!(close(&bad["ratio"], 0.99), "{bad}");
    assert!(close(&bad["burn_rate"], 10.0), "{bad}");
    assert!(close(&bad["budget_consumed"], 2.5), "{bad}");
    assert!(close(&bad["budget_remaining"], -1.5), "{bad}");
    // At 10:00, the same 600 of 360 allowed: what the status says now.
    let status = server.get(&path, &viewer).await;
    assert!(
        close(&points[6]["budget_consumed"], 600.0 / 360.0)
            && points[6]["budget_consumed"] == status.body["status"]["consumed"],
        "{} / {}",
        points[6],
        status.body["status"]
    );

    // The CLI: the same range written with an offset (its `+` must reach the server
    // as a `+`), as JSON.
    let output = crate::iacm::runs::rampart(
        &server,
        &viewer,
        &[
            "slo",
            "history",
            "checkout-availability",
            "--from",
            "2026-11-03T04:00:00+01:00",
            "--to",
            "2026-11-03T11:00:00+01:00",
            "--step",
            "60m",
            "--output",
            "json",
        ],
    )
    .await;
    assert_eq!(output.code, 0, "{}", output.stderr);
    let printed: Value = serde_json::from_str(&output.stdout).unwrap();
    assert_eq!(&printed, body);

    // Defaults: one window (30 days) up to now, in 240 intervals of 3 hours.
    let whole = server.get(&format!("{path}/history"), &viewer).await;
    assert_eq!(whole.status, StatusCode::OK, "{}", whole.text);
    assert_eq!(whole.body["from"], "2026-10-04T10:00:00Z");
    assert_eq!(whole.body["step_minutes"], 180);
    assert_eq!(whole.body["points"].as_array().unwrap().len(), 240);

    // Ranges and steps outside the limits, named; a missing SLO is missing.
    for (query, code) in [
        ("from=yesterday", "invalid_range"),
        (
            "to=2026-11-03T09:00:00Z&from=2026-11-03T09:00:00Z",
            "invalid_range",
        ),
        ("from=2025-01-01T00:00:00Z&step=1d", "invalid_range"),
        ("step=5x", "invalid_step"),
        ("from=2026-11-03T09:00:00Z&step=2h", "invalid_step"),
        ("from=2026-11-01T00:00:00Z&step=1m", "invalid_step"),
        ("steps=1h", "invalid_query"),
        // Instants a timestamp holds but a window's arithmetic would overflow near.
        (
            "from=-009999-01-02T02:00:00Z&to=-009999-01-02T03:00:00Z",
            "invalid_range",
        ),
        ("from=1969-12-31T23:00:00Z", "invalid_range"),
        ("to=9999-12-31T23:59:59Z", "invalid_range"),
    ] {
        let refused = server
            .get(&format!("{path}/history?{query}"), &viewer)
            .await;
        assert_eq!(
            refused.status,
            StatusCode::BAD_REQUEST,
            "{query}: {}",
            refused.text
        );
        assert_eq!(refused.code(), code, "{query}: {}", refused.text);
    }
    let far = server
        .get(&format!("{path}?at=-009999-01-02T02:00:00Z"), &viewer)
        .await;
    assert_eq!(
        (far.status, far.code()),
        (StatusCode::BAD_REQUEST, "invalid_at"),
        "{}",
        far.text
    );
    let missing = server
        .get(&format!("{PROJECT}/slos/nope/history"), &viewer)
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND, "{}", missing.text);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_slo_history_charts_its_minutes_on_sqlite() {
    an_slo_history_charts_its_minutes(None).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_slo_history_charts_its_minutes_on_postgres() {
    if rampart_testkit::postgres_server_url().is_some() {
        an_slo_history_charts_its_minutes(Some(rampart_testkit::Engine::Postgres)).await;
    }
}

/// Crypto-shredding a project's keys: its SLOs' definitions are gone for good (410
/// `data_shredded` from every read and change of them, the OpenSLO export included,
/// never a 500), they can still be listed and deleted, and the engine goes on raising
/// other projects' alerts.
#[tokio::test]
async fn shredded_slos_answer_410_and_the_engine_carries_on() {
    let clock = manual_clock();
    let now: Timestamp = "2026-11-03T10:00:00Z".parse().unwrap();
    let server = quiet_engine(None, Some(clock.clone())).await;
    let admin = server.admin_token.clone();
    let other = "/api/v1/orgs/default/projects/other";
    let created = server
        .post(
            "/api/v1/orgs/default/projects",
            &admin,
            json!({"identifier": "other", "name": "Other"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    for project in [PROJECT, other] {
        super::service_in(&server, project, "checkout").await;
        let created = server
            .post(
                &format!("{project}/slos"),
                &admin,
                json!({"identifier": "avail", "name": "Availability",
                       "definition": definition()}),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
        // An hour at 2 % errors: 20× the budget's rate, both page windows fire.
        let pushed = server
            .post(
                &format!("{project}/slos/avail/minutes"),
                &admin,
                minutes(now, 60, |_| 20.0),
            )
            .await;
        assert_eq!(pushed.status, StatusCode::OK, "{}", pushed.text);
    }
    let destroyed = server
        .post(
            "/api/v1/keys/destroy",
            &admin,
            json!({"scope": "default/default", "confirm": "default/default"}),
        )
        .await;
    assert_eq!(destroyed.status, StatusCode::OK, "{}", destroyed.text);

    let slo = format!("{PROJECT}/slos/avail");
    for path in [
        slo.clone(),
        format!("{slo}/history"),
        format!("{PROJECT}/openslo"),
        format!("{PROJECT}/openslo?slo=avail"),
    ] {
        let gone = server.get(&path, &admin).await;
        assert_eq!(
            (gone.status, gone.code()),
            (StatusCode::GONE, "data_shredded"),
            "{path}: {}",
            gone.text
        );
    }
    let listed = server.get(&format!("{PROJECT}/slos"), &admin).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    assert_eq!(listed.body["items"][0]["identifier"], "avail");

    // The engine: the shredded SLO is skipped, the other project's pages.
    server.app().evaluate_slos().await.unwrap();
    let paged = server
        .get(&format!("{other}/alerts?service=checkout"), &admin)
        .await;
    let severities: Vec<&str> = paged.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|alert| alert["severity"].as_str().unwrap())
        .collect();
    assert!(severities.contains(&"critical"), "{}", paged.text);
    assert!(
        service_alerts(&server, &admin, "checkout").await.is_empty(),
        "the shredded SLO raised nothing"
    );

    // Changing it needs what it was (its service's alerts are resolved on a move), so
    // it is refused the same way; deleting it works, and the identifier is free again.
    let replaced = put_definition(&server, &admin, &slo, definition(), 1).await;
    assert_eq!(
        (replaced.status, replaced.code()),
        (StatusCode::GONE, "data_shredded"),
        "{}",
        replaced.text
    );
    let imported = super::slo_openslo::send(
        &server,
        &admin,
        "apiVersion: openslo/v1\nkind: SLO\nmetadata:\n  name: avail\nspec:\n  \
         service: checkout\n  budgetingMethod: Occurrences\n  timeWindow:\n    \
         - duration: 30d\n      isRolling: true\n  objectives:\n    - target: 0.99\n",
    )
    .await;
    assert_eq!(
        (imported.status, imported.code()),
        (StatusCode::GONE, "data_shredded"),
        "{}",
        imported.text
    );
    let deleted = server.delete(&slo, &admin).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text);
    let again = server
        .post(
            &format!("{PROJECT}/slos"),
            &admin,
            json!({"identifier": "avail", "name": "Availability", "definition": definition()}),
        )
        .await;
    assert_eq!(again.status, StatusCode::CREATED, "{}", again.text);
    server.stop().await;
}
