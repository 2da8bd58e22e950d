//! Webhook integrations: rotating credentials — two HMAC secrets valid during a rotation,
//! a bearer token replaced at once — audited.

use rampart_testkit::{StatusCode, TestServer};
use serde_json::json;

use super::{Hook, PROJECT, generic, integration, send, service};

#[tokio::test]
async fn integration_credentials_rotate_with_two_hmac_secrets_valid_meanwhile() {
    let server = TestServer::start().await;
    service(&server, "svc").await;
    let hmac = integration(
        &server,
        "svc",
        json!({"name": "Signed", "format": "generic", "auth_mode": "hmac"}),
    )
    .await;
    let id = hmac.path.trim_start_matches("/hooks/v1/").to_owned();
    let rotate = async || {
        let reply = server
            .post(
                &format!("{PROJECT}/services/svc/integrations/{id}/rotate"),
                &server.admin_token,
                json!({}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        let secret = reply.body["secret"].as_str().unwrap().to_owned();
        rampart_testkit::remember_secret(&secret);
        secret
    };
    let first = hmac.secret.clone().unwrap();
    let second = rotate().await;
    let body = generic("k", "trigger", "s");
    let now = server.app().now().as_second();
    let with = |secret: &str| {
        vec![(
            "x-rampart-signature",
            rampart_crypto::webhook_signature::sign(secret.as_bytes(), now, &body),
        )]
    };
    // During the rotation both the previous and the new secret work.
    assert_eq!(
        send(&server, &hmac, &body, &with(&first)).await.status,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        send(&server, &hmac, &body, &with(&second)).await.status,
        StatusCode::ACCEPTED
    );
    // The next rotation retires the oldest.
    let third = rotate().await;
    assert_eq!(
        send(&server, &hmac, &body, &with(&first)).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        send(&server, &hmac, &body, &with(&second)).await.status,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        send(&server, &hmac, &body, &with(&third)).await.status,
        StatusCode::ACCEPTED
    );

    // A bearer token is replaced at once.
    let bearer = integration(
        &server,
        "svc",
        json!({"name": "B", "format": "generic", "auth_mode": "bearer"}),
    )
    .await;
    let bearer_id = bearer.path.trim_start_matches("/hooks/v1/").to_owned();
    let rotated = server
        .post(
            &format!("{PROJECT}/services/svc/integrations/{bearer_id}/rotate"),
            &server.admin_token,
            json!({}),
        )
        .await;
    let new_token = rotated.body["token"].as_str().unwrap().to_owned();
    rampart_testkit::remember_secret(&new_token);
    assert_eq!(
        send(&server, &bearer, &body, &[]).await.status,
        StatusCode::UNAUTHORIZED
    );
    let renewed = Hook {
        path: bearer.path.clone(),
        token: Some(new_token),
        basic: None,
        secret: None,
    };
    assert_eq!(
        send(&server, &renewed, &body, &[]).await.status,
        StatusCode::ACCEPTED
    );
    let audited = server
        .get(
            "/api/v1/audit-events?action=integration.rotate",
            &server.admin_token,
        )
        .await;
    assert_eq!(audited.body["items"].as_array().unwrap().len(), 3);
}

/// `rampart integration rotate|delete`, the integration named by its name: the new
/// token is printed once and replaces the old at once; a deleted integration's URL
/// accepts nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn integration_commands_rotate_and_delete_by_name() {
    let server = TestServer::start().await;
    service(&server, "svc").await;
    let cli = crate::cli::Cli::new(&server, &server.admin_token);
    let created = cli.json(&[
        "integration",
        "create",
        "svc",
        "--name",
        "Prometheus",
        "--format",
        "generic",
    ]);
    let old_token = created["token"].as_str().unwrap().to_owned();
    rampart_testkit::remember_secret(&old_token);
    let path = created["integration"]["url_path"]
        .as_str()
        .unwrap()
        .to_owned();
    let hook = |token: &str| Hook {
        path: path.clone(),
        token: Some(token.to_owned()),
        basic: None,
        secret: None,
    };

    let rotated = cli.run(&["integration", "rotate", "svc", "Prometheus"]);
    let new_token = rotated
        .lines()
        .find_map(|line| line.strip_prefix("token (shown once): "))
        .unwrap_or_else(|| panic!("{rotated}"))
        .to_owned();
    rampart_testkit::remember_secret(&new_token);
    assert_ne!(new_token, old_token);
    let event = generic("rotated", "trigger", "rotated");
    assert_eq!(
        send(&server, &hook(&old_token), &event, &[]).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        send(&server, &hook(&new_token), &event, &[]).await.status,
        StatusCode::ACCEPTED
    );
    assert!(
        cli.fails(&["integration", "rotate", "svc", "Grafana"])
            .contains("has no integration Grafana")
    );

    cli.run(&["integration", "delete", "svc", "Prometheus"]);
    assert_eq!(cli.json(&["integration", "list", "svc"]), json!([]));
    let after = send(&server, &hook(&new_token), &event, &[]).await;
    assert_eq!(after.status, StatusCode::NOT_FOUND);
}
