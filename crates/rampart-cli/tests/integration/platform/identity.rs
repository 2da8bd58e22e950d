//! Identity: `/api/v1/tokens` and token authentication (revocation, expiry, narrowing to a
//! project or to networks, service-account tokens), `/api/v1/users` and `/api/v1/me`.

use std::sync::Arc;

use jiff::SignedDuration;
use rampart_app::ManualClock;
use rampart_testkit::{Options, StatusCode, TestServer};
use serde_json::{Value, json};

#[tokio::test]
async fn a_token_works_until_revoked_and_revocation_is_immediate() {
    let server = TestServer::start().await;
    let token = server
        .create_token(
            &server.admin_token,
            json!({"name": "ci", "expires_in_days": 7}),
        )
        .await;
    assert!(
        token.starts_with("rmp_pat_") && token.len() == 47,
        "{token}"
    );
    assert_eq!(
        server.get("/api/v1/orgs", &token).await.status,
        StatusCode::OK
    );

    let listed = server.get("/api/v1/tokens", &token).await;
    let mine = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "ci")
        .unwrap()
        .clone();
    assert_eq!(mine["last_four"], token[token.len() - 4..]);
    assert_eq!(mine["last_used_ip"], "127.0.0.1");
    assert!(mine["last_used_at"].is_string());
    assert!(
        !listed.text.contains(&token),
        "the secret is never shown again"
    );

    let id = mine["id"].as_str().unwrap();
    let revoked = server
        .delete(&format!("/api/v1/tokens/{id}"), &server.admin_token)
        .await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.text);
    assert!(revoked.body["revoked_at"].is_string());
    let after = server.get("/api/v1/orgs", &token).await;
    assert_eq!(
        (after.status, after.code()),
        (StatusCode::UNAUTHORIZED, "token_revoked")
    );
}

#[tokio::test]
async fn malformed_unknown_and_wrong_kind_tokens_are_refused_before_anything_else() {
    let server = TestServer::start().await;
    let good = server.admin_token.clone();
    let mut flipped = good.clone().into_bytes();
    let last = flipped.len() - 1;
    flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();
    let unknown =
        rampart_crypto::token::mint(rampart_domain::platform::identity::TokenKind::Personal)
            .unwrap();
    let webhook =
        rampart_crypto::token::mint(rampart_domain::platform::identity::TokenKind::Webhook)
            .unwrap();
    for (token, code) in [
        (flipped.as_str(), "token_checksum_mismatch"),
        ("not-a-token", "token_malformed"),
        (unknown.expose(), "token_invalid"),
        (webhook.expose(), "token_kind_not_accepted"),
    ] {
        let reply = server.get("/api/v1/orgs", token).await;
        assert_eq!(
            (reply.status, reply.code()),
            (StatusCode::UNAUTHORIZED, code),
            "{token}"
        );
        assert!(reply.headers.contains_key("www-authenticate"));
    }
    let failures = server
        .app()
        .store()
        .recent_audit(50)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.action == "auth.failure")
        .count();
    assert_eq!(failures, 4, "every failed authentication is recorded");
}

#[tokio::test]
async fn expiry_is_mandatory_bounded_and_enforced() {
    let clock = Arc::new(ManualClock::new("2026-11-23T12:00:00Z".parse().unwrap()));
    let server = TestServer::start_with(Options {
        clock: Some(clock.clone()),
        configure: Some(Box::new(|config| config.auth.token_lifetime_days_max = 90)),
        ..Options::default()
    })
    .await;
    let admin = &server.admin_token;
    for (body, code) in [
        (json!({"name": "x"}), "expiry_required"),
        (
            json!({"name": "x", "expires_in_days": 91}),
            "token_lifetime_too_long",
        ),
        (
            json!({"name": "x", "expires_at": "2026-01-01T00:00:00Z"}),
            "invalid_expiry",
        ),
        (
            json!({"name": "x", "expires_at": "soon"}),
            "invalid_expires_at",
        ),
        (
            json!({"name": "x", "expires_in_days": 1, "expires_at": "2026-12-01T00:00:00Z"}),
            "conflicting_expiry",
        ),
        (
            json!({"name": "x", "expires_in_days": 1, "org": "default"}),
            "invalid_project",
        ),
    ] {
        let reply = server.post("/api/v1/tokens", admin, body.clone()).await;
        assert_eq!(
            (reply.status, reply.code()),
            (StatusCode::BAD_REQUEST, code),
            "{body}"
        );
    }
    let token = server
        .create_token(
            admin,
            json!({"name": "short", "expires_at": "2026-11-23T13:00:00Z"}),
        )
        .await;
    assert_eq!(
        server.get("/api/v1/me", &token).await.status,
        StatusCode::OK
    );
    clock.advance(SignedDuration::from_mins(61));
    let reply = server.get("/api/v1/me", &token).await;
    assert_eq!(
        (reply.status, reply.code()),
        (StatusCode::UNAUTHORIZED, "token_expired")
    );
}

#[tokio::test]
async fn a_narrowed_token_reaches_only_its_project() {
    let server = TestServer::start().await;
    let admin = &server.admin_token;
    server
        .post(
            "/api/v1/orgs/default/projects",
            admin,
            json!({"identifier": "other", "name": "Other"}),
        )
        .await;
    let narrowed = server
        .create_token(
            admin,
            json!({"name": "proj", "expires_in_days": 1, "org": "default", "project": "default"}),
        )
        .await;
    assert_eq!(
        server
            .get("/api/v1/orgs/default/projects/default", &narrowed)
            .await
            .status,
        StatusCode::OK
    );
    let other = server
        .get("/api/v1/orgs/default/projects/other", &narrowed)
        .await;
    assert_eq!(
        (other.status, other.code()),
        (StatusCode::NOT_FOUND, "not_found")
    );
    let account_level = server.get("/api/v1/orgs", &narrowed).await;
    assert_eq!(
        (account_level.status, account_level.code()),
        (StatusCode::FORBIDDEN, "token_narrowed")
    );
    let make_more = server
        .post(
            "/api/v1/tokens",
            &narrowed,
            json!({"name": "escape", "expires_in_days": 1}),
        )
        .await;
    assert_eq!(
        make_more.status,
        StatusCode::FORBIDDEN,
        "a narrowed token cannot mint an unnarrowed one"
    );
    let me = server.get("/api/v1/me", &narrowed).await;
    assert_eq!(me.body["narrowed_to_project"], "default/default");
    server
        .post(
            "/api/v1/orgs",
            admin,
            json!({"identifier": "elsewhere", "name": "E"}),
        )
        .await;
    let other_org = server
        .get("/api/v1/orgs/elsewhere/projects", &narrowed)
        .await;
    assert_eq!(
        (other_org.status, other_org.code()),
        (StatusCode::NOT_FOUND, "not_found")
    );

    let denials = server
        .app()
        .store()
        .recent_audit(50)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.action == "access.denied" && r.outcome == "denied")
        .count();
    assert_eq!(denials, 4, "every denial is recorded");
}

#[tokio::test]
async fn service_account_tokens_identify_the_service_account_and_are_not_owners() {
    let server = TestServer::start().await;
    let admin = &server.admin_token;
    let base = "/api/v1/orgs/default/projects/default/service-accounts";
    let sa = server
        .post(
            base,
            admin,
            json!({"name": "deployer", "description": "CI"}),
        )
        .await;
    assert_eq!(sa.status, StatusCode::CREATED, "{}", sa.text);
    let id = sa.body["id"].as_str().unwrap();
    assert_eq!(sa.body["project"], "default");

    let created = server
        .post(
            &format!("{base}/{id}/tokens"),
            admin,
            json!({"name": "ci", "expires_in_days": 30}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let secret = created.body["secret"].as_str().unwrap().to_owned();
    rampart_testkit::remember_secret(&secret);
    assert!(secret.starts_with("rmp_sat_"));
    assert_eq!(
        created.body["token"]["project"], "default/default",
        "narrowed to its project by default"
    );

    let me = server.get("/api/v1/me", &secret).await;
    assert_eq!(me.body["kind"], "service_account");
    assert_eq!(me.body["service_account"]["name"], "deployer");
    // Without roles it can see no project: 404, nothing leaks.
    let hidden = server
        .get("/api/v1/orgs/default/projects/default", &secret)
        .await;
    assert_eq!(
        (hidden.status, hidden.code()),
        (StatusCode::NOT_FOUND, "not_found")
    );
    // Its token is narrowed to its project, so account-level routes are out of reach.
    let denied = server.get("/api/v1/users", &secret).await;
    assert_eq!(
        (denied.status, denied.code()),
        (StatusCode::FORBIDDEN, "token_narrowed")
    );

    // The service account is not visible from another scope.
    assert_eq!(
        server
            .get(
                &format!("/api/v1/orgs/default/service-accounts/{id}"),
                admin
            )
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let listed = server.get(&format!("{base}/{id}/tokens"), admin).await;
    let token_id = listed.body["items"][0]["id"].as_str().unwrap();
    let revoked = server
        .delete(&format!("{base}/{id}/tokens/{token_id}"), admin)
        .await;
    assert_eq!(revoked.status, StatusCode::OK);
    assert_eq!(
        server.get("/api/v1/me", &secret).await.code(),
        "token_revoked"
    );
    assert_eq!(
        server.delete(&format!("{base}/{id}"), admin).await.status,
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn tokens_cannot_outlive_or_escape_what_created_them() {
    let server = TestServer::start_with(Options {
        configure: Some(Box::new(|config| config.auth.token_lifetime_days_max = 30)),
        ..Options::default()
    })
    .await;
    let admin = &server.admin_token;
    // The bootstrap token respects the configured maximum.
    let mine = server.get("/api/v1/tokens", admin).await;
    let expires: jiff::Timestamp = mine.body["items"][0]["expires_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let created: jiff::Timestamp = mine.body["items"][0]["created_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        expires.duration_since(created),
        SignedDuration::from_hours(30 * 24)
    );

    let short = server
        .create_token(admin, json!({"name": "short", "expires_in_days": 2}))
        .await;
    let longer = server
        .post(
            "/api/v1/tokens",
            &short,
            json!({"name": "longer", "expires_in_days": 3}),
        )
        .await;
    assert_eq!(
        (longer.status, longer.code()),
        (StatusCode::BAD_REQUEST, "token_outlives_creator")
    );
    let shorter = server
        .post(
            "/api/v1/tokens",
            &short,
            json!({"name": "shorter", "expires_in_days": 1}),
        )
        .await;
    assert_eq!(shorter.status, StatusCode::CREATED);
    rampart_testkit::remember_secret(shorter.body["secret"].as_str().unwrap());

    // An organisation service account's token cannot be narrowed into another org.
    server
        .post(
            "/api/v1/orgs",
            admin,
            json!({"identifier": "other", "name": "Other"}),
        )
        .await;
    server
        .post(
            "/api/v1/orgs/other/projects",
            admin,
            json!({"identifier": "default", "name": "D"}),
        )
        .await;
    let sa = server
        .post(
            "/api/v1/orgs/default/service-accounts",
            admin,
            json!({"name": "bot"}),
        )
        .await;
    let tokens = format!(
        "/api/v1/orgs/default/service-accounts/{}/tokens",
        sa.body["id"].as_str().unwrap()
    );
    let escape = server
        .post(
            &tokens,
            admin,
            json!({"name": "x", "expires_in_days": 1, "org": "other", "project": "default"}),
        )
        .await;
    assert_eq!(
        (escape.status, escape.code()),
        (StatusCode::BAD_REQUEST, "invalid_project")
    );
    let inside = server
        .post(
            &tokens,
            admin,
            json!({"name": "x", "expires_in_days": 1, "org": "default", "project": "default"}),
        )
        .await;
    assert_eq!(inside.status, StatusCode::CREATED, "{}", inside.text);
    rampart_testkit::remember_secret(inside.body["secret"].as_str().unwrap());

    // An unnarrowed service account token cannot mint its own successor.
    let unnarrowed = server
        .post(&tokens, admin, json!({"name": "y", "expires_in_days": 1}))
        .await;
    let unnarrowed = unnarrowed.body["secret"].as_str().unwrap().to_owned();
    rampart_testkit::remember_secret(&unnarrowed);
    let successor = server
        .post(
            "/api/v1/tokens",
            &unnarrowed,
            json!({"name": "z", "expires_in_days": 1}),
        )
        .await;
    assert_eq!(
        (successor.status, successor.code()),
        (StatusCode::FORBIDDEN, "service_account_cannot_self_issue")
    );
}

#[tokio::test]
async fn a_narrowed_owner_token_cannot_force_delete() {
    let server = TestServer::start().await;
    let admin = &server.admin_token;
    server
        .post(
            "/api/v1/orgs/default/projects/default/service-accounts",
            admin,
            json!({"name": "keeps-it-non-empty"}),
        )
        .await;
    let narrowed = server
        .create_token(
            admin,
            json!({"name": "n", "expires_in_days": 1, "org": "default", "project": "default"}),
        )
        .await;
    let forced = server
        .delete(
            "/api/v1/orgs/default/projects/default?force=true",
            &narrowed,
        )
        .await;
    assert_eq!(
        (forced.status, forced.code()),
        (StatusCode::FORBIDDEN, "force_requires_account_admin")
    );
    assert_eq!(
        server
            .get("/api/v1/orgs/default/projects/default", admin)
            .await
            .status,
        StatusCode::OK
    );
    // The unrestricted owner may; and force on an empty project is simply a delete.
    server
        .post(
            "/api/v1/orgs/default/projects",
            admin,
            json!({"identifier": "empty", "name": "E"}),
        )
        .await;
    assert_eq!(
        server
            .delete("/api/v1/orgs/default/projects/empty?force=true", &narrowed)
            .await
            .status,
        StatusCode::NOT_FOUND,
        "another project is invisible to the narrowed token"
    );
    assert_eq!(
        server
            .delete("/api/v1/orgs/default/projects/empty?force=true", admin)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn a_token_limited_to_networks_works_only_from_them() {
    let server = TestServer::start().await;
    let admin = &server.admin_token;
    let elsewhere = server
        .create_token(admin, json!({"name": "office", "expires_in_days": 1, "allowed_cidrs": ["10.1.2.3/8", "2001:db8::/32"]}))
        .await;
    let refused = server.get("/api/v1/me", &elsewhere).await;
    assert_eq!(
        (refused.status, refused.code()),
        (StatusCode::FORBIDDEN, "ip_not_allowed")
    );
    let here = server
        .create_token(
            admin,
            json!({"name": "local", "expires_in_days": 1, "allowed_cidrs": ["127.0.0.1"]}),
        )
        .await;
    assert_eq!(server.get("/api/v1/me", &here).await.status, StatusCode::OK);

    let listed = server.get("/api/v1/tokens", admin).await;
    let office = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "office")
        .unwrap()
        .clone();
    assert_eq!(
        office["allowed_cidrs"],
        json!(["10.0.0.0/8", "2001:db8::/32"]),
        "normalised"
    );
    let invalid = server
        .post(
            "/api/v1/tokens",
            admin,
            json!({"name": "x", "expires_in_days": 1, "allowed_cidrs": ["10.0.0.0/33"]}),
        )
        .await;
    assert_eq!(
        (invalid.status, invalid.code()),
        (StatusCode::BAD_REQUEST, "invalid_cidr")
    );
    let audited = server
        .app()
        .store()
        .recent_audit(20)
        .await
        .unwrap()
        .into_iter()
        .any(|r| r.action == "auth.failure" && r.details.contains("ip_not_allowed"));
    assert!(audited, "the refusal is audited");
}

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
    // An update audits only what changed; one that changes nothing writes nothing.
    let renamed = server
        .patch(
            &format!("/api/v1/users/{id}"),
            admin,
            json!({"display_name": "Alice A.", "disabled": true}),
        )
        .await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.text);
    let unchanged = server
        .patch(
            &format!("/api/v1/users/{id}"),
            admin,
            json!({"display_name": "Alice A.", "disabled": true}),
        )
        .await;
    assert_eq!(unchanged.body["display_name"], "Alice A.");
    let updates = server
        .get(
            &format!("/api/v1/audit-events?action=user.update&resource_id={id}"),
            admin,
        )
        .await;
    let changed: Vec<&Value> = updates.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| &event["details"]["changed"])
        .collect();
    assert_eq!(
        changed,
        [&json!(["display_name"]), &json!(["disabled"])],
        "newest first: the rename, then the disable; the no-op left nothing"
    );
    // A user has one address: the hyphenated id (either case); the other forms a UUID
    // parser takes name nothing.
    assert_eq!(
        server
            .get(&format!("/api/v1/users/{}", id.to_uppercase()), admin)
            .await
            .status,
        StatusCode::OK
    );
    for other in [
        id.replace('-', ""),
        format!("%7B{id}%7D"),
        format!("urn:uuid:{id}"),
    ] {
        let reply = server.get(&format!("/api/v1/users/{other}"), admin).await;
        assert_eq!(
            (reply.status, reply.code()),
            (StatusCode::NOT_FOUND, "not_found"),
            "{other}: {}",
            reply.text
        );
    }
    // Bodies are objects: serde would read a struct from an array of its fields.
    let array = server
        .patch(&format!("/api/v1/users/{id}"), admin, json!([null, true]))
        .await;
    assert_eq!(
        (array.status, array.code()),
        (StatusCode::BAD_REQUEST, "invalid_body")
    );
    let array_org = server
        .post(
            "/api/v1/orgs",
            admin,
            json!(["arrayorg", "Array Org", null]),
        )
        .await;
    assert_eq!(
        (array_org.status, array_org.code()),
        (StatusCode::BAD_REQUEST, "invalid_body")
    );
    assert_eq!(
        server.get("/api/v1/orgs/arrayorg", admin).await.status,
        StatusCode::NOT_FOUND,
        "nothing was created"
    );
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

/// `rampart service-account`: created in a project, found by name, given a token (the
/// secret alone on stdout) that works until revoked, and deleted with its tokens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_account_commands_create_issue_tokens_revoke_and_delete() {
    let server = TestServer::start().await;
    let cli = crate::cli::Cli::new(&server, &server.admin_token);
    let with = crate::cli::in_default_project;

    let created = cli.json(&with(&[
        "service-account",
        "create",
        "--name",
        "ci",
        "--description",
        "the pipeline",
    ]));
    let id = created[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(created[0]["project"], "default");
    assert!(cli.run(&with(&["service-account", "list"])).contains(&id));
    assert_eq!(
        cli.json(&with(&["service-account", "show", "ci"]))[0]["id"],
        id.as_str()
    );

    let secret = cli
        .run(&with(&[
            "service-account",
            "token",
            "create",
            "ci",
            "--name",
            "deploy",
            "--expires-in-days",
            "2",
        ]))
        .trim()
        .to_owned();
    rampart_testkit::remember_secret(&secret);
    assert!(secret.starts_with("rmp_sat_"), "{secret}");
    let me = server.get("/api/v1/me", &secret).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text);
    let tokens = cli.json(&with(&["service-account", "token", "list", "ci"]));
    let token_id = tokens[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(tokens[0]["name"], "deploy");
    let revoked = cli.json(&with(&[
        "service-account",
        "token",
        "revoke",
        "ci",
        &token_id,
    ]));
    assert!(revoked[0]["revoked_at"].is_string(), "{revoked}");
    assert_eq!(
        server.get("/api/v1/me", &secret).await.code(),
        "token_revoked"
    );

    cli.run(&with(&["service-account", "create", "--name", "ci"]));
    assert!(
        cli.fails(&with(&["service-account", "show", "ci"]))
            .contains("several service accounts are named ci")
    );
    cli.run(&with(&["service-account", "delete", &id]));
    assert_eq!(
        cli.json(&with(&["service-account", "list"]))
            .as_array()
            .unwrap()
            .len(),
        1
    );
}
