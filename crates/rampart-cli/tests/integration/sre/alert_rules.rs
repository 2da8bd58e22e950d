//! A service's alert rules: set and read, first match decides (record only or open an
//! incident); recorded alerts still dedup and resolve; bad conditions are refused.

use rampart_testkit::{StatusCode, TestServer};
use serde_json::json;

use super::{PROJECT, integration, send, service};

#[tokio::test]
async fn alert_rules_decide_which_alerts_open_incidents() {
    let server = TestServer::start().await;
    service(&server, "web").await;
    let hook = integration(
        &server,
        "web",
        json!({"name": "G", "format": "generic", "auth_mode": "bearer"}),
    )
    .await;
    let rules = json!({"rules": [
        {"name": "staging is noise", "conditions": {"labels": {"env": "staging"}}, "action": "record_only"},
        {"name": "info only records", "conditions": {"max_severity": "info"}, "action": "record_only"}
    ]});
    let set = server
        .request(
            reqwest::Method::PUT,
            &format!("{PROJECT}/services/web/alert-rules"),
            Some(&server.admin_token),
            Some(&rules),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.text);
    let read = server
        .get(
            &format!("{PROJECT}/services/web/alert-rules"),
            &server.admin_token,
        )
        .await;
    assert_eq!(read.body["rules"].as_array().unwrap().len(), 2);
    let event = |key: &str, severity: &str, env: &str| {
        serde_json::to_vec(&json!({"dedup_key": key, "summary": format!("{key} broke"),
            "severity": severity, "labels": {"env": env}}))
        .unwrap()
    };
    let staging = send(&server, &hook, &event("a", "critical", "staging"), &[]).await;
    assert_eq!(staging.body["alerts"][0]["outcome"], "recorded");
    assert!(staging.body["alerts"][0].get("incident").is_none());
    let info = send(&server, &hook, &event("b", "info", "prod"), &[]).await;
    assert_eq!(info.body["alerts"][0]["outcome"], "recorded");
    let real = send(&server, &hook, &event("c", "error", "prod"), &[]).await;
    assert_eq!(real.body["alerts"][0]["outcome"], "created");
    assert_eq!(real.body["alerts"][0]["incident"], 1);
    // A recorded alert still dedups and resolves.
    let again = send(&server, &hook, &event("a", "critical", "staging"), &[]).await;
    assert_eq!(again.body["alerts"][0]["outcome"], "deduplicated");
    let resolve = serde_json::to_vec(&json!({"dedup_key": "a", "action": "resolve"})).unwrap();
    assert_eq!(
        send(&server, &hook, &resolve, &[]).await.body["alerts"][0]["outcome"],
        "resolved"
    );
    let bad = server
        .request(
            reqwest::Method::PUT,
            &format!("{PROJECT}/services/web/alert-rules"),
            Some(&server.admin_token),
            Some(&json!({"rules": [{"name": "x", "conditions": {"min_severity": "doom"}, "action": "record_only"}]})),
        )
        .await;
    assert_eq!(
        (bad.status, bad.code()),
        (StatusCode::BAD_REQUEST, "invalid_conditions")
    );
}
