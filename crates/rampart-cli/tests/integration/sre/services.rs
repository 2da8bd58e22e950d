//! Services: ownership (owner group, subscribers, tags), subscribers told in their inbox
//! when an incident opens, and the organisation's renamed severity labels.

use rampart_testkit::{StatusCode, TestServer};
use serde_json::json;

use super::{PROJECT, generic, incident, integration, send, service};

#[tokio::test]
async fn service_owners_subscribers_and_renamed_severities() {
    let server = TestServer::start().await;
    let admin = server.admin_token.clone();
    service(&server, "checkout").await;
    let (sue, sue_token) =
        crate::platform::access::user_with_token(&server, "sue@example.com").await;
    let group = server
        .post(
            "/api/v1/orgs/default/projects/default/groups",
            &admin,
            json!({"identifier": "payments", "name": "Payments"}),
        )
        .await;
    assert_eq!(group.status, StatusCode::CREATED, "{}", group.text);
    let group_id = group.body["id"].as_str().unwrap().to_owned();
    let set = server
        .request(
            reqwest::Method::PUT,
            &format!("{PROJECT}/services/checkout/ownership"),
            Some(&admin),
            Some(
                &json!({"owner_group": group_id, "subscribers": [format!("user:{sue}")],
                         "tags": ["tier:1"]}),
            ),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.text);
    let shown = server
        .get(&format!("{PROJECT}/services/checkout"), &admin)
        .await;
    assert_eq!(shown.body["ownership"]["owner_group"], group_id.as_str());
    assert_eq!(shown.body["ownership"]["tags"], json!(["tier:1"]));
    let bad = server
        .request(
            reqwest::Method::PUT,
            &format!("{PROJECT}/services/checkout/ownership"),
            Some(&admin),
            Some(&json!({"subscribers": ["team:nope"]})),
        )
        .await;
    assert_eq!(bad.code(), "unknown_subscriber");

    let labels = server
        .request(
            reqwest::Method::PUT,
            "/api/v1/orgs/default/incident-severities",
            Some(&admin),
            Some(&json!({"labels": {"SEV1": "Major outage", "SEV4": "Cosmetic"}})),
        )
        .await;
    assert_eq!(labels.status, StatusCode::OK, "{}", labels.text);
    let hook = integration(
        &server,
        "checkout",
        json!({"name": "G", "format": "generic", "auth_mode": "bearer"}),
    )
    .await;
    send(
        &server,
        &hook,
        &generic("pay", "trigger", "Payments failing"),
        &[],
    )
    .await;
    let opened = incident(&server, 1).await;
    assert_eq!(opened["severity"], "SEV1");
    assert_eq!(opened["severity_label"], "Major outage");
    // The subscriber heard about it.
    let inbox = server.get("/api/v1/me/notifications", &sue_token).await;
    assert_eq!(
        inbox.body["items"][0]["kind"], "subscribed",
        "{}",
        inbox.text
    );
    assert_eq!(inbox.body["items"][0]["incident_number"], 1);
    let bad_label = server
        .request(
            reqwest::Method::PUT,
            "/api/v1/orgs/default/incident-severities",
            Some(&admin),
            Some(&json!({"labels": {"SEV9": "x"}})),
        )
        .await;
    assert_eq!(bad_label.code(), "invalid_severity");
}
