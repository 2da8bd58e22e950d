//! Escalation policies and what they tie together: a service renamed, a schedule used by a
//! policy and a policy used by a service refused deletion (`schedule_in_use`,
//! `policy_in_use`), a deleted integration no longer accepting webhooks, and everything
//! deleted once unhooked. (It spans services, integrations and schedules; it lives here
//! because the policy is the link its refusals are about.)

use rampart_testkit::{StatusCode, TestServer};
use serde_json::json;

use super::{PROJECT, user};

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

/// `rampart escalation-policy`: created from a file naming a schedule, which then cannot
/// be deleted (`schedule_in_use`); updated, deleted, and the schedule with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escalation_policy_commands_create_update_and_delete() {
    let server = TestServer::start().await;
    let (ann, _) = user(&server, "ann@example.com").await;
    let cli = crate::cli::Cli::new(&server, &server.admin_token);
    let dir = tempfile::tempdir().unwrap();
    let schedule = dir.path().join("schedule.json");
    std::fs::write(
        &schedule,
        json!({"time_zone": "UTC", "layers": [{"name": "all", "unit": "week",
               "first_handoff": "2026-11-23T09:00", "participants": [ann]}]})
        .to_string(),
    )
    .unwrap();
    cli.run(&[
        "schedule",
        "create",
        "primary",
        "--name",
        "Primary",
        "--definition",
        schedule.to_str().unwrap(),
    ]);
    let policy = dir.path().join("policy.json");
    std::fs::write(
        &policy,
        json!({"levels": [{"targets": [{"type": "schedule", "id": "primary"}], "delay_minutes": 5}],
               "repeats": 1})
        .to_string(),
    )
    .unwrap();
    let created = cli.json(&[
        "escalation-policy",
        "create",
        "default",
        "--name",
        "Default",
        "--definition",
        policy.to_str().unwrap(),
    ]);
    assert_eq!(created[0]["identifier"], "default");
    assert_eq!(created[0]["definition"]["repeats"], 1);
    let listed = cli.run(&["escalation-policy", "list"]);
    assert!(
        listed.contains("default") && listed.contains("Default"),
        "{listed}"
    );
    let in_use = cli.fails(&["schedule", "delete", "primary"]);
    assert!(in_use.contains("schedule_in_use (409)"), "{in_use}");

    std::fs::write(
        &policy,
        json!({"levels": [{"targets": [{"type": "user", "id": ann}], "delay_minutes": 10}]})
            .to_string(),
    )
    .unwrap();
    let updated = cli.json(&[
        "escalation-policy",
        "update",
        "default",
        "--definition",
        policy.to_str().unwrap(),
    ]);
    assert_eq!(updated[0]["name"], "Default");
    assert_eq!(updated[0]["definition"]["levels"][0]["delay_minutes"], 10);
    let shown = cli.run(&["escalation-policy", "show", "default"]);
    assert!(shown.contains("\"delay_minutes\": 10"), "{shown}");

    cli.run(&["escalation-policy", "delete", "default"]);
    cli.run(&["schedule", "delete", "primary"]);
    assert_eq!(
        cli.json(&["escalation-policy", "list"]),
        json!([]),
        "nothing left"
    );
}
