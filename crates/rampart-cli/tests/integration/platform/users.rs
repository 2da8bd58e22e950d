//! `/api/v1/users` and `/api/v1/me`.

use rampart_testkit::{StatusCode, TestServer};
use serde_json::json;

#[tokio::test]
async fn users_are_unique_by_email_case_insensitively_and_passwords_follow_the_policy() {
    let server = TestServer::start().await;
    let admin = &server.admin_token;
    let id = server
        .create_user("Alice@Example.com", "a long enough passphrase")
        .await;
    let dup = server
        .post(
            "/api/v1/users",
            admin,
            json!({"email": "alice@EXAMPLE.com", "display_name": "A"}),
        )
        .await;
    assert_eq!(
        (dup.status, dup.code()),
        (StatusCode::CONFLICT, "email_taken")
    );
    for (body, code) in [
        (
            json!({"email": "nope", "display_name": "B"}),
            "invalid_email",
        ),
        (
            json!({"email": "b@x.io", "display_name": "B", "password": "short"}),
            "invalid_password",
        ),
        (
            json!({"email": "b@x.io", "display_name": "B", "password": "password123"}),
            "invalid_password",
        ),
        (
            json!({"email": "b@x.io", "display_name": ""}),
            "invalid_display_name",
        ),
    ] {
        let reply = server.post("/api/v1/users", admin, body.clone()).await;
        assert_eq!(
            (reply.status, reply.code()),
            (StatusCode::BAD_REQUEST, code),
            "{body}"
        );
    }
    let read = server.get(&format!("/api/v1/users/{id}"), admin).await;
    assert_eq!(read.body["email"], "Alice@Example.com");
    assert_eq!(read.body["has_password"], true);
    assert!(!read.text.contains("argon2"), "the hash is never returned");
    assert_eq!(
        server.get("/api/v1/users/not-an-id", admin).await.status,
        StatusCode::NOT_FOUND
    );

    let disabled = server
        .patch(
            &format!("/api/v1/users/{id}"),
            admin,
            json!({"disabled": true}),
        )
        .await;
    assert_eq!(disabled.body["disabled"], true);
    let owner_id = server.get("/api/v1/me", admin).await.body["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let refuse = server
        .delete(&format!("/api/v1/users/{owner_id}"), admin)
        .await;
    assert_eq!(refuse.code(), "cannot_delete_owner");
    assert_eq!(
        server
            .delete(&format!("/api/v1/users/{id}"), admin)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn a_user_without_roles_sees_nothing_and_changes_nothing() {
    let server = TestServer::start().await;
    server
        .create_user("bob@example.com", "maple rocket saturday")
        .await;
    let login = super::auth::login(&server, "bob@example.com", "maple rocket saturday").await;
    // Bob can look after himself…
    let token = server
        .request(
            reqwest::Method::POST,
            "/api/v1/tokens",
            None,
            Some(&json!({"name": "bob", "expires_in_days": 1})),
        )
        .await;
    assert_eq!(
        token.status,
        StatusCode::UNAUTHORIZED,
        "no credentials, no token"
    );
    let created = login
        .post(
            &server,
            "/api/v1/tokens",
            json!({"name": "bob", "expires_in_days": 1}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let bob = created.body["secret"].as_str().unwrap().to_owned();
    rampart_testkit::remember_secret(&bob);
    assert_eq!(
        server.get("/api/v1/me", &bob).await.body["user"]["email"],
        "bob@example.com"
    );
    // …but without a role he sees nothing and changes nothing: lists are empty, 403
    // names the permission at account level, and organisations he cannot see answer 404
    // (existing or not, the answer is the same).
    let orgs = server.get("/api/v1/orgs", &bob).await;
    assert_eq!(
        (orgs.status, orgs.body["items"].as_array().unwrap().len()),
        (StatusCode::OK, 0)
    );
    for (method, path, status) in [
        (reqwest::Method::POST, "/api/v1/orgs", StatusCode::FORBIDDEN),
        (reqwest::Method::GET, "/api/v1/users", StatusCode::FORBIDDEN),
        (
            reqwest::Method::DELETE,
            "/api/v1/orgs/default",
            StatusCode::NOT_FOUND,
        ),
        (
            reqwest::Method::DELETE,
            "/api/v1/orgs/no-such-org",
            StatusCode::NOT_FOUND,
        ),
        (
            reqwest::Method::GET,
            "/api/v1/orgs/default/projects/default",
            StatusCode::NOT_FOUND,
        ),
    ] {
        let reply = server
            .request(
                method.clone(),
                path,
                Some(&bob),
                Some(&json!({"identifier": "x", "name": "x"})),
            )
            .await;
        assert_eq!(reply.status, status, "{method} {path}: {}", reply.text);
    }
    let named = server
        .post(
            "/api/v1/orgs",
            &bob,
            json!({"identifier": "x", "name": "x"}),
        )
        .await;
    assert_eq!(named.code(), "permission_denied");
    assert_eq!(named.body["error"]["permission"], "org:create");
    let existing = server.delete("/api/v1/orgs/default", &bob).await;
    let missing = server.delete("/api/v1/orgs/no-such-org", &bob).await;
    assert_eq!(
        existing.body, missing.body,
        "no hint which organisations exist"
    );
}
