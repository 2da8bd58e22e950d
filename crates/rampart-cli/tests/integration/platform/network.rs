//! Network allowlists: account, organisation and project allowlists hold on login and on
//! every request (client address through the trusted proxy).

use rampart_testkit::{Reply, StatusCode, TestServer};
use serde_json::json;

/// A request as if from `ip`, through the loopback proxy the server trusts.
async fn from_ip(
    server: &TestServer,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<serde_json::Value>,
    ip: &str,
) -> Reply {
    let mut request = server
        .client
        .request(method, format!("{}{path}", server.url))
        .header("x-forwarded-for", ip);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    rampart_testkit::read(request.send().await.unwrap()).await
}

#[tokio::test]
async fn account_and_organisation_allowlists_hold_on_login_and_every_request() {
    let server = TestServer::start_with(rampart_testkit::Options {
        configure: Some(Box::new(|config| {
            config.server.trusted_proxies = vec!["127.0.0.1/32".into()]
        })),
        ..rampart_testkit::Options::default()
    })
    .await;
    let admin = server.admin_token.as_str();
    let put = reqwest::Method::PUT;
    let get = reqwest::Method::GET;

    let bad = server
        .request(
            put.clone(),
            "/api/v1/ip-allowlist",
            Some(admin),
            Some(&json!({"cidrs": ["10.0.0.0/33"]})),
        )
        .await;
    assert_eq!(bad.code(), "invalid_cidr");
    // A list that leaves out the caller's own address is refused: no self-lockout.
    let lockout = from_ip(
        &server,
        put.clone(),
        "/api/v1/ip-allowlist",
        Some(admin),
        Some(json!({"cidrs": ["10.0.0.0/8"]})),
        "198.51.100.1",
    )
    .await;
    assert_eq!(lockout.status, StatusCode::CONFLICT, "{}", lockout.text);
    assert_eq!(lockout.code(), "allowlist_excludes_you");
    let set = from_ip(
        &server,
        put.clone(),
        "/api/v1/ip-allowlist",
        Some(admin),
        Some(json!({"cidrs": ["10.1.2.3/8", "198.51.100.1"]})),
        "198.51.100.1",
    )
    .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.text);
    assert_eq!(set.body["cidrs"], json!(["10.0.0.0/8", "198.51.100.1/32"]));

    let outside = from_ip(
        &server,
        get.clone(),
        "/api/v1/me",
        Some(admin),
        None,
        "203.0.113.9",
    )
    .await;
    assert_eq!(outside.status, StatusCode::FORBIDDEN, "{}", outside.text);
    assert_eq!(outside.code(), "ip_not_allowed");
    let inside = from_ip(
        &server,
        get.clone(),
        "/api/v1/me",
        Some(admin),
        None,
        "10.9.9.9",
    )
    .await;
    assert_eq!(inside.status, StatusCode::OK, "{}", inside.text);
    let login = from_ip(
        &server,
        reqwest::Method::POST,
        "/api/v1/auth/login",
        None,
        Some(json!({"email": "admin@localhost", "password": "whatever it is"})),
        "203.0.113.9",
    )
    .await;
    assert_eq!(login.code(), "ip_not_allowed", "{}", login.text);

    // An organisation narrows further, for requests inside it only.
    let org_set = from_ip(
        &server,
        put.clone(),
        "/api/v1/orgs/default/ip-allowlist",
        Some(admin),
        Some(json!({"cidrs": ["198.51.100.0/24"]})),
        "198.51.100.1",
    )
    .await;
    assert_eq!(org_set.status, StatusCode::OK, "{}", org_set.text);
    let in_org = from_ip(
        &server,
        get.clone(),
        "/api/v1/orgs/default/projects",
        Some(admin),
        None,
        "10.9.9.9",
    )
    .await;
    assert_eq!(in_org.code(), "ip_not_allowed");
    let in_project = from_ip(
        &server,
        get.clone(),
        "/api/v1/orgs/default/projects/default",
        Some(admin),
        None,
        "10.9.9.9",
    )
    .await;
    assert_eq!(in_project.code(), "ip_not_allowed");
    let account_level = from_ip(
        &server,
        get.clone(),
        "/api/v1/orgs",
        Some(admin),
        None,
        "10.9.9.9",
    )
    .await;
    assert_eq!(
        account_level.status,
        StatusCode::OK,
        "{}",
        account_level.text
    );

    let denials = from_ip(
        &server,
        get,
        "/api/v1/audit-events?action=access.denied&resource_type=ip_allowlist",
        Some(admin),
        None,
        "198.51.100.1",
    )
    .await;
    let items = denials.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 4, "{}", denials.text);
    assert!(items.iter().all(|item| item["outcome"] == "denied"));

    // Clearing lets every address in again.
    let cleared = from_ip(
        &server,
        put,
        "/api/v1/ip-allowlist",
        Some(admin),
        Some(json!({"cidrs": []})),
        "198.51.100.1",
    )
    .await;
    assert_eq!(cleared.status, StatusCode::OK);
}

/// `rampart allowlist`: the account's and an organisation's allowlists shown, set (not
/// leaving out the caller's own address) and cleared.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowlist_commands_show_set_and_clear() {
    let server = TestServer::start().await;
    let cli = crate::cli::Cli::new(&server, &server.admin_token);
    assert!(
        cli.run(&["allowlist", "show"])
            .contains("every address is allowed")
    );
    let set = cli.run(&["allowlist", "set", "127.0.0.0/8", "10.0.0.0/8"]);
    assert_eq!(set, "127.0.0.0/8\n10.0.0.0/8\n");
    assert_eq!(
        cli.json(&["allowlist", "show"]),
        json!({"cidrs": ["127.0.0.0/8", "10.0.0.0/8"]})
    );
    let locked_out = cli.fails(&["allowlist", "set", "192.0.2.0/24"]);
    assert!(
        locked_out.contains("allowlist_excludes_you (409)"),
        "{locked_out}"
    );
    assert!(cli.fails(&["allowlist", "set"]).contains("required"));
    cli.run(&["allowlist", "set", "--org", "default", "127.0.0.1"]);
    assert_eq!(
        cli.json(&["allowlist", "show", "--org", "default"])["cidrs"],
        json!(["127.0.0.1/32"])
    );
    cli.run(&["allowlist", "clear"]);
    cli.run(&["allowlist", "clear", "--org", "default"]);
    assert_eq!(cli.json(&["allowlist", "show"]), json!({"cidrs": []}));
    assert_eq!(
        cli.json(&["allowlist", "show", "--org", "default"]),
        json!({"cidrs": []})
    );
}
