//! Services: ownership (owner group, subscribers, tags), users subscribing themselves,
//! subscribers told in their inbox when an incident opens, the organisation's renamed
//! severity labels, and `rampart service show|update|delete`.

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

/// `PUT|DELETE …/services/{service}/subscription`: a user subscribes and leaves by
/// themself (`service:subscribe`, which the User role holds and the Viewer does not);
/// doing it twice changes nothing; a service account is not a subscriber.
#[tokio::test]
async fn users_subscribe_themselves_and_leave_again() {
    let server = TestServer::start().await;
    let admin = server.admin_token.clone();
    service(&server, "checkout").await;
    let path = format!("{PROJECT}/services/checkout/subscription");
    let grant = |principal: String, role: &'static str| {
        let server = &server;
        let admin = admin.clone();
        async move {
            let reply = server
                .post(
                    &format!("{PROJECT}/role-assignments"),
                    &admin,
                    json!({"principal": principal, "role": role}),
                )
                .await;
            assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        }
    };
    let (uma, uma_token) = super::user(&server, "uma@example.com").await;
    grant(format!("user:{uma}"), "_user").await;
    let (vic, vic_token) = super::user(&server, "vic@example.com").await;
    grant(format!("user:{vic}"), "_viewer").await;
    let put = |token: String| {
        let server = &server;
        let path = path.clone();
        async move {
            server
                .request(reqwest::Method::PUT, &path, Some(&token), None)
                .await
        }
    };

    for _ in 0..2 {
        let subscribed = put(uma_token.clone()).await;
        assert_eq!(subscribed.status, StatusCode::OK, "{}", subscribed.text);
        assert_eq!(
            subscribed.body["subscribers"],
            json!([format!("user:{uma}")])
        );
    }
    let viewer = put(vic_token.clone()).await;
    assert_eq!(
        (viewer.status, viewer.code()),
        (StatusCode::FORBIDDEN, "permission_denied")
    );
    assert_eq!(viewer.body["error"]["permission"], "service:subscribe");
    let missing = server
        .request(
            reqwest::Method::PUT,
            &format!("{PROJECT}/services/nope/subscription"),
            Some(&uma_token),
            None,
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND, "{}", missing.text);

    let sa = server
        .post(
            &format!("{PROJECT}/service-accounts"),
            &admin,
            json!({"name": "bot"}),
        )
        .await;
    let sa_id = sa.body["id"].as_str().unwrap().to_owned();
    grant(format!("service_account:{sa_id}"), "_user").await;
    let sa_token = server
        .post(
            &format!("{PROJECT}/service-accounts/{sa_id}/tokens"),
            &admin,
            json!({"name": "ci", "expires_in_days": 1}),
        )
        .await;
    let sa_token = sa_token.body["secret"].as_str().unwrap().to_owned();
    rampart_testkit::remember_secret(&sa_token);
    let bot = put(sa_token).await;
    assert_eq!(
        (bot.status, bot.code()),
        (StatusCode::BAD_REQUEST, "not_a_user"),
        "{}",
        bot.text
    );

    // Leaving, twice; the audit log has one subscribe and one unsubscribe.
    for _ in 0..2 {
        let left = server.delete(&path, &uma_token).await;
        assert_eq!(left.status, StatusCode::NO_CONTENT, "{}", left.text);
    }
    let shown = server
        .get(&format!("{PROJECT}/services/checkout"), &admin)
        .await;
    assert_eq!(shown.body["ownership"]["subscribers"], json!([]));
    for action in ["service.subscribe", "service.unsubscribe"] {
        let events = server
            .get(&format!("/api/v1/audit-events?action={action}"), &admin)
            .await;
        assert_eq!(
            events.body["items"].as_array().unwrap().len(),
            1,
            "{action}: {}",
            events.text
        );
    }
}

/// Subscriptions made at the same moment all land, on both engines (the service's row
/// is locked while its list changes).
#[tokio::test]
async fn concurrent_subscriptions_all_land_on_both_engines() {
    let mut servers = vec![TestServer::start().await];
    servers.extend(TestServer::start_postgres().await);
    for server in &servers {
        service(server, "checkout").await;
        let mut tokens = Vec::new();
        let mut expected = Vec::new();
        for n in 0..6 {
            let (id, token) = super::user(server, &format!("sub{n}@example.com")).await;
            let granted = server
                .post(
                    &format!("{PROJECT}/role-assignments"),
                    &server.admin_token,
                    json!({"principal": format!("user:{id}"), "role": "_user"}),
                )
                .await;
            assert_eq!(granted.status, StatusCode::CREATED, "{}", granted.text);
            tokens.push(token);
            expected.push(format!("user:{id}"));
        }
        let path = format!("{PROJECT}/services/checkout/subscription");
        let replies = futures_util::future::join_all(
            tokens
                .iter()
                .map(|token| server.request(reqwest::Method::PUT, &path, Some(token), None)),
        )
        .await;
        for reply in &replies {
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        }
        let shown = server
            .get(&format!("{PROJECT}/services/checkout"), &server.admin_token)
            .await;
        let mut subscribers: Vec<String> = shown.body["ownership"]["subscribers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_owned())
            .collect();
        subscribers.sort();
        expected.sort();
        assert_eq!(subscribers, expected);
    }
}

/// `rampart service update` changes only what it is given; `service delete` removes the
/// service and its integration's URL stops accepting webhooks, while the incident the
/// service opened stays; a missing service is named in the error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_commands_show_update_and_delete() {
    let server = TestServer::start().await;
    let cli = crate::cli::Cli::new(&server, &server.admin_token);
    cli.json(&["service", "create", "billing", "--name", "Billing"]);
    let hook = integration(
        &server,
        "billing",
        json!({"name": "Generic", "format": "generic", "auth_mode": "bearer"}),
    )
    .await;
    let opened = send(
        &server,
        &hook,
        &generic("disk", "trigger", "disk full"),
        &[],
    )
    .await;
    assert_eq!(opened.status, StatusCode::ACCEPTED, "{:?}", opened.body);

    assert!(
        cli.fails(&["service", "update", "billing"])
            .contains("nothing to change")
    );
    let updated = cli.json(&[
        "service",
        "update",
        "billing",
        "--description",
        "Invoices and card payments",
        "--auto-resolve",
        "false",
    ]);
    assert_eq!(updated[0]["name"], "Billing", "{updated}");
    assert_eq!(updated[0]["description"], "Invoices and card payments");
    assert_eq!(updated[0]["auto_resolve"], false);
    let shown = cli.json(&["service", "show", "billing"]);
    assert_eq!(shown[0]["description"], "Invoices and card payments");
    assert_eq!(shown[0]["ownership"]["subscribers"], json!([]), "{shown}");

    cli.run(&["service", "delete", "billing"]);
    assert_eq!(cli.json(&["service", "list"]), json!([]));
    assert!(
        cli.fails(&["service", "show", "billing"])
            .contains("not found")
    );
    let after = send(
        &server,
        &hook,
        &generic("disk", "trigger", "disk full"),
        &[],
    )
    .await;
    assert_eq!(after.status, StatusCode::NOT_FOUND, "{:?}", after.body);
    let incidents = cli.json(&["incident", "list"]);
    assert_eq!(incidents.as_array().map(Vec::len), Some(1), "{incidents}");
}
