//! `/api/v1/auth/login`, `/logout`, sessions and passwords.

use std::sync::Arc;

use jiff::SignedDuration;
use rampart_app::ManualClock;
use rampart_testkit::{Options, Reply, StatusCode, TestServer, read};
use serde_json::{Value, json};

/// A browser-like session: the cookie and the CSRF token from login.
pub struct Session {
    pub cookie: String,
    pub csrf: String,
    pub set_cookie: String,
}

impl Session {
    pub async fn send(
        &self,
        server: &TestServer,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        csrf: bool,
    ) -> Reply {
        let mut request = server
            .client
            .request(method, format!("{}{path}", server.url))
            .header("cookie", format!("__Host-rampart_session={}", self.cookie));
        if csrf {
            request = request.header("x-csrf-token", &self.csrf);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        read(request.send().await.unwrap()).await
    }

    pub async fn get(&self, server: &TestServer, path: &str) -> Reply {
        self.send(server, reqwest::Method::GET, path, None, false)
            .await
    }

    pub async fn post(&self, server: &TestServer, path: &str, body: Value) -> Reply {
        self.send(server, reqwest::Method::POST, path, Some(body), true)
            .await
    }
}

pub async fn try_login(server: &TestServer, email: &str, password: &str) -> Reply {
    server
        .request(
            reqwest::Method::POST,
            "/api/v1/auth/login",
            None,
            Some(&json!({"email": email, "password": password})),
        )
        .await
}

pub async fn login(server: &TestServer, email: &str, password: &str) -> Session {
    let reply = try_login(server, email, password).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let set_cookie = reply.headers["set-cookie"].to_str().unwrap().to_owned();
    let cookie = set_cookie
        .split(';')
        .next()
        .unwrap()
        .strip_prefix("__Host-rampart_session=")
        .unwrap()
        .to_owned();
    rampart_testkit::remember_secret(&cookie);
    let csrf = reply.body["csrf_token"].as_str().unwrap().to_owned();
    rampart_testkit::remember_secret(&csrf);
    Session {
        cookie,
        csrf,
        set_cookie,
    }
}

#[tokio::test]
async fn login_gives_a_host_only_secure_session_that_needs_csrf_to_change_things() {
    let server = TestServer::start().await;
    server
        .create_user("carol@example.com", "winter harbour lantern")
        .await;
    let session = login(&server, "carol@example.com", "winter harbour lantern").await;
    for attribute in ["Path=/", "Secure", "HttpOnly", "SameSite=Lax"] {
        assert!(
            session.set_cookie.contains(attribute),
            "{attribute} missing: {}",
            session.set_cookie
        );
    }
    assert!(session.set_cookie.starts_with("__Host-rampart_session="));
    assert!(
        !session.set_cookie.contains("Domain="),
        "__Host- cookies carry no Domain"
    );
    assert_eq!(session.cookie.len(), 43, "256 random bits");

    let me = session.get(&server, "/api/v1/me").await;
    assert_eq!(me.body["auth_method"], "session");
    let no_csrf = session
        .send(
            &server,
            reqwest::Method::POST,
            "/api/v1/tokens",
            Some(json!({"name": "x", "expires_in_days": 1})),
            false,
        )
        .await;
    assert_eq!(
        (no_csrf.status, no_csrf.code()),
        (StatusCode::FORBIDDEN, "csrf_token_invalid")
    );
    let with_csrf = session
        .post(
            &server,
            "/api/v1/tokens",
            json!({"name": "x", "expires_in_days": 1}),
        )
        .await;
    assert_eq!(with_csrf.status, StatusCode::CREATED);
    rampart_testkit::remember_secret(with_csrf.body["secret"].as_str().unwrap());

    let cross_site = server
        .client
        .post(format!("{}/api/v1/tokens", server.url))
        .header(
            "cookie",
            format!("__Host-rampart_session={}", session.cookie),
        )
        .header("x-csrf-token", &session.csrf)
        .header("origin", "https://evil.example")
        .json(&json!({"name": "x", "expires_in_days": 1}))
        .send()
        .await
        .unwrap();
    let cross_site = read(cross_site).await;
    assert_eq!(
        (cross_site.status, cross_site.code()),
        (StatusCode::FORBIDDEN, "origin_mismatch")
    );

    let logout = session
        .post(&server, "/api/v1/auth/logout", json!({}))
        .await;
    assert_eq!(logout.status, StatusCode::OK, "{}", logout.text);
    assert_eq!(logout.body, json!({"provider_logout_url": null}));
    let after = session.get(&server, "/api/v1/me").await;
    assert_eq!(
        (after.status, after.code()),
        (StatusCode::UNAUTHORIZED, "session_invalid")
    );
}

#[tokio::test]
async fn failed_logins_look_the_same_and_are_audited() {
    let server = TestServer::start().await;
    server
        .create_user("dave@example.com", "copper kettle sunrise")
        .await;
    let wrong = try_login(&server, "dave@example.com", "not the right phrase").await;
    let unknown = try_login(&server, "nobody@example.com", "whatever passphrase").await;
    let garbage = try_login(&server, "not an email", "x").await;
    for reply in [&wrong, &unknown, &garbage] {
        assert_eq!(
            (reply.status, reply.code()),
            (StatusCode::UNAUTHORIZED, "invalid_credentials")
        );
    }
    assert_eq!(wrong.body, unknown.body, "no hint which emails exist");
    // The owner has no password: password login is impossible for them.
    let owner = try_login(&server, "admin@localhost", "anything at all").await;
    assert_eq!(owner.code(), "invalid_credentials");
    let audit = server.app().store().recent_audit(50).await.unwrap();
    let failures = audit
        .iter()
        .filter(|r| {
            r.outcome == "failure" && (r.action == "auth.login" || r.action == "auth.failure")
        })
        .count();
    assert_eq!(failures, 4);
}

#[tokio::test]
async fn sessions_end_after_the_idle_timeout_and_on_password_change() {
    let clock = Arc::new(ManualClock::new("2026-11-23T09:00:00Z".parse().unwrap()));
    let server = TestServer::start_with(Options {
        clock: Some(clock.clone()),
        configure: Some(Box::new(|config| {
            config.auth.session_idle_timeout_secs = 600;
            config.auth.session_absolute_timeout_secs = 3600;
        })),
        ..Options::default()
    })
    .await;
    server
        .create_user("erin@example.com", "granite meadow whistle")
        .await;
    let session = login(&server, "erin@example.com", "granite meadow whistle").await;
    clock.advance(SignedDuration::from_mins(9));
    assert_eq!(
        session.get(&server, "/api/v1/me").await.status,
        StatusCode::OK,
        "activity slides the idle timeout"
    );
    clock.advance(SignedDuration::from_mins(9));
    assert_eq!(
        session.get(&server, "/api/v1/me").await.status,
        StatusCode::OK
    );
    clock.advance(SignedDuration::from_mins(11));
    assert_eq!(
        session.get(&server, "/api/v1/me").await.code(),
        "session_invalid",
        "idle too long"
    );

    let first = login(&server, "erin@example.com", "granite meadow whistle").await;
    let second = login(&server, "erin@example.com", "granite meadow whistle").await;
    let wrong = first
        .post(
            &server,
            "/api/v1/me/password",
            json!({"current_password": "nope", "new_password": "velvet canyon thunder"}),
        )
        .await;
    assert_eq!(wrong.code(), "current_password_wrong");
    rampart_testkit::remember_secret("velvet canyon thunder");
    let changed = first
        .post(&server, "/api/v1/me/password", json!({"current_password": "granite meadow whistle", "new_password": "velvet canyon thunder"}))
        .await;
    assert_eq!(changed.status, StatusCode::NO_CONTENT, "{}", changed.text);
    assert_eq!(
        second.get(&server, "/api/v1/me").await.code(),
        "session_invalid",
        "every session ends"
    );
    assert_eq!(
        try_login(&server, "erin@example.com", "granite meadow whistle")
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    login(&server, "erin@example.com", "velvet canyon thunder").await;

    // The absolute timeout holds even for an active session.
    let active = login(&server, "erin@example.com", "velvet canyon thunder").await;
    for _ in 0..7 {
        clock.advance(SignedDuration::from_mins(9));
        active.get(&server, "/api/v1/me").await;
    }
    assert_eq!(
        active.get(&server, "/api/v1/me").await.code(),
        "session_invalid",
        "past 1 h absolute"
    );
}

#[tokio::test]
async fn a_password_is_rehashed_on_login_when_the_parameters_change() {
    let mut server = TestServer::start().await;
    server
        .create_user("fay@example.com", "orchard lighthouse ember")
        .await;
    let email = rampart_domain::Email::parse("fay@example.com").unwrap();
    let before = server
        .app()
        .store()
        .user_credentials_by_email(&email)
        .await
        .unwrap()
        .unwrap();
    assert!(
        before
            .password_hash
            .as_deref()
            .unwrap()
            .contains("m=19456,t=2,p=1")
    );
    server.config.auth.argon2_iterations = 3;
    server.restart().await;
    login(&server, "fay@example.com", "orchard lighthouse ember").await;
    let after = server
        .app()
        .store()
        .user_credentials_by_email(&email)
        .await
        .unwrap()
        .unwrap();
    assert!(
        after
            .password_hash
            .as_deref()
            .unwrap()
            .contains("m=19456,t=3,p=1"),
        "{:?}",
        after.password_hash
    );
    login(&server, "fay@example.com", "orchard lighthouse ember").await;
}

/// Step-up: sensitive routes need a session whose user signed in (or re-authenticated)
/// within `auth.reauthentication_minutes`; a password session re-authenticates with its
/// password; API tokens are not asked. Both engines.
async fn step_up_asks_for_the_password_again(engine: Option<rampart_testkit::Engine>) {
    let clock = Arc::new(ManualClock::new(jiff::Timestamp::now()));
    let server = TestServer::start_with(Options {
        engine,
        clock: Some(clock.clone()),
        ..Options::default()
    })
    .await;
    let password = "quartz harbour lantern";
    let user = server.create_user("gus@example.com", password).await;
    let session = login(&server, "gus@example.com", password).await;
    let token = |name: &str| json!({"name": name, "expires_in_days": 7});

    // Fresh from the sign-in: a token may be created.
    let fresh = session
        .post(&server, "/api/v1/tokens", token("fresh"))
        .await;
    assert_eq!(fresh.status, StatusCode::CREATED, "{}", fresh.text);
    rampart_testkit::remember_secret(fresh.body["secret"].as_str().unwrap());
    let me = session.get(&server, "/api/v1/me").await;
    let signed_in_at = me.body["authenticated_at"].as_str().unwrap().to_owned();

    // Eleven minutes on (the default window is ten): refused, nothing created, and the
    // message says how to re-authenticate. Reading and ordinary changes still work.
    clock.advance(SignedDuration::from_mins(11));
    let stale = session
        .post(&server, "/api/v1/tokens", token("stale"))
        .await;
    assert_eq!(
        (stale.status, stale.code()),
        (StatusCode::UNAUTHORIZED, "reauthentication_required"),
        "{}",
        stale.text
    );
    assert!(
        stale.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("POST /api/v1/auth/reauthenticate"),
        "{}",
        stale.text
    );
    let tokens = session.get(&server, "/api/v1/tokens").await;
    assert_eq!(
        tokens.body["items"].as_array().unwrap().len(),
        1,
        "nothing was created"
    );
    assert_eq!(
        session.get(&server, "/api/v1/me").await.status,
        StatusCode::OK
    );
    // An API token is not asked (creating one is what needed the step-up).
    let own_token = server
        .create_token(
            fresh.body["secret"].as_str().unwrap(),
            json!({"name": "by-token", "expires_in_days": 1}),
        )
        .await;
    rampart_testkit::remember_secret(&own_token);

    // Re-authenticating: the CSRF token is needed, a wrong password is refused (and
    // audited), a token has no session to renew.
    let without_csrf = session
        .send(
            &server,
            reqwest::Method::POST,
            "/api/v1/auth/reauthenticate",
            Some(json!({"password": password})),
            false,
        )
        .await;
    assert_eq!(without_csrf.code(), "csrf_token_invalid");
    let wrong = session
        .post(
            &server,
            "/api/v1/auth/reauthenticate",
            json!({"password": "not it at all"}),
        )
        .await;
    assert_eq!(
        (wrong.status, wrong.code()),
        (StatusCode::UNAUTHORIZED, "invalid_credentials")
    );
    let by_token = server
        .post(
            "/api/v1/auth/reauthenticate",
            &own_token,
            json!({"password": password}),
        )
        .await;
    assert_eq!(
        (by_token.status, by_token.code()),
        (StatusCode::BAD_REQUEST, "not_a_session")
    );
    assert_eq!(
        session
            .post(&server, "/api/v1/tokens", token("still"))
            .await
            .code(),
        "reauthentication_required",
        "a failed re-authentication renews nothing"
    );
    let renewed = session
        .post(
            &server,
            "/api/v1/auth/reauthenticate",
            json!({"password": password}),
        )
        .await;
    assert_eq!(renewed.status, StatusCode::NO_CONTENT, "{}", renewed.text);
    let after = session
        .post(&server, "/api/v1/tokens", token("after"))
        .await;
    assert_eq!(after.status, StatusCode::CREATED, "{}", after.text);
    rampart_testkit::remember_secret(after.body["secret"].as_str().unwrap());
    let me = session.get(&server, "/api/v1/me").await;
    assert_ne!(me.body["authenticated_at"].as_str().unwrap(), signed_in_at);
    // Again for the whole window, then no longer.
    clock.advance(SignedDuration::from_secs(9 * 60 + 59));
    let within = session
        .post(&server, "/api/v1/tokens", token("within"))
        .await;
    assert_eq!(within.status, StatusCode::CREATED, "{}", within.text);
    rampart_testkit::remember_secret(within.body["secret"].as_str().unwrap());
    clock.advance(SignedDuration::from_secs(1));
    assert_eq!(
        session
            .post(&server, "/api/v1/tokens", token("past"))
            .await
            .code(),
        "reauthentication_required"
    );

    // Audited: the refusals, the failed and the successful re-authentication.
    let audit = server.app().store().recent_audit(200).await.unwrap();
    let user_actor = format!("user:{user}");
    let refusals = audit
        .iter()
        .filter(|r| r.action == "access.denied" && r.details.contains("reauthentication_required"))
        .count();
    assert_eq!(refusals, 3);
    let reauthentications: Vec<&str> = audit
        .iter()
        .filter(|r| r.action == "auth.reauthenticate")
        .inspect(|r| assert_eq!(r.actor.as_deref(), Some(user_actor.as_str())))
        .map(|r| r.outcome.as_str())
        .collect();
    assert_eq!(reauthentications, ["success", "failure"], "newest first");

    // Wrong passwords count towards the login lockout of the account.
    let mut last = None;
    for _ in 0..12 {
        let reply = session
            .post(
                &server,
                "/api/v1/auth/reauthenticate",
                json!({"password": "guessing again"}),
            )
            .await;
        last = Some(reply.code().to_owned());
    }
    assert_eq!(last.as_deref(), Some("too_many_auth_failures"));
}

#[tokio::test]
async fn step_up_asks_for_the_password_again_on_sqlite() {
    step_up_asks_for_the_password_again(None).await;
}

#[tokio::test]
async fn step_up_asks_for_the_password_again_on_postgres() {
    if rampart_testkit::postgres_server_url().is_some() {
        step_up_asks_for_the_password_again(Some(rampart_testkit::Engine::Postgres)).await;
    }
}
