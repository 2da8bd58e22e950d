//! The web UI as a browser without JavaScript uses it (plain HTTP, forms, redirects,
//! cookies) on both engines: sign in, the home page, the incident list with its filters
//! in the address, an incident's page, acknowledging, noting and resolving, opening one by
//! hand, signing out; and what it must refuse: forms without the session's CSRF token or
//! from another origin (login included), a viewer's forged post, hidden projects told
//! apart from missing ones, API tokens instead of a session, markup that alert senders
//! wrote. The browser half (real Chromium: live updates, accessibility, keyboard,
//! screenshots) is `web_browser.rs`.

use rampart_testkit::{StatusCode, TestServer};
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use serde_json::json;

use crate::sre::{PROJECT, generic, integration, send, service};

pub(crate) const PASSWORD: &str = "harbour amber violet 7919";
const INCIDENTS: &str = "/o/default/p/default/incidents";

/// A browser without JavaScript: follows nothing by itself, keeps the session cookie.
struct Page {
    url: String,
    client: reqwest::Client,
    cookie: Option<String>,
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    text: String,
}

impl Answer {
    fn location(&self) -> &str {
        self.headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// The value of the page's (first) hidden field `name`, unescaped.
    fn hidden(&self, name: &str) -> String {
        let marker = format!("type=\"hidden\" name=\"{name}\" value=\"");
        let start = self
            .text
            .find(&marker)
            .unwrap_or_else(|| panic!("a hidden field {name}"))
            + marker.len();
        let end = self.text[start..].find('"').unwrap() + start;
        self.text[start..end]
            .replace("&quot;", "\"")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&")
    }

    /// The CSRF token the page's forms carry.
    fn csrf(&self) -> String {
        let marker = "name=\"csrf\" value=\"";
        let start = self.text.find(marker).expect("a form with a CSRF token") + marker.len();
        let end = self.text[start..].find('"').unwrap() + start;
        self.text[start..end].to_owned()
    }
}

impl Page {
    fn new(server: &TestServer) -> Self {
        let tls = rampart_cli::client::tls_client_config(Some(&server.ca_cert)).unwrap();
        Self {
            url: server.url.clone(),
            client: reqwest::Client::builder()
                .use_preconfigured_tls(tls)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookie: None,
        }
    }

    async fn answer(&self, request: reqwest::RequestBuilder) -> Answer {
        let request = match &self.cookie {
            Some(cookie) => request.header("cookie", cookie),
            None => request,
        };
        let response = request.send().await.unwrap();
        Answer {
            status: response.status(),
            headers: response.headers().clone(),
            text: response.text().await.unwrap(),
        }
    }

    async fn get(&self, path: &str) -> Answer {
        self.answer(self.client.get(format!("{}{path}", self.url)))
            .await
    }

    /// Posts a form as this server's own page would (same origin).
    async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Answer {
        self.post_from(path, fields, &[("origin", self.url.clone())])
            .await
    }

    async fn post_from(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        headers: &[(&str, String)],
    ) -> Answer {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let mut request = self
            .client
            .post(format!("{}{path}", self.url))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        self.answer(request).await
    }

    /// Signs in through the login form; keeps the session cookie.
    async fn sign_in(server: &TestServer, email: &str, password: &str) -> Self {
        let mut page = Self::new(server);
        let signed_in = page
            .post(
                "/login",
                &[("email", email), ("password", password), ("next", "/")],
            )
            .await;
        assert_eq!(
            signed_in.status,
            StatusCode::SEE_OTHER,
            "{}",
            signed_in.text
        );
        let cookie = signed_in.headers.get(SET_COOKIE).unwrap().to_str().unwrap();
        assert!(
            cookie.starts_with("__Host-rampart_session=")
                && cookie.contains("Secure")
                && cookie.contains("HttpOnly")
                && cookie.contains("SameSite=Lax"),
            "{cookie}"
        );
        page.cookie = Some(cookie.split(';').next().unwrap().to_owned());
        page
    }
}

/// A user with a password and `role` on the project `default/default`.
pub(crate) async fn person(server: &TestServer, email: &str, role: &str) -> String {
    let id = server.create_user(email, PASSWORD).await;
    let granted = server
        .post(
            &format!("{PROJECT}/role-assignments"),
            &server.admin_token,
            json!({"principal": format!("user:{id}"), "role": role}),
        )
        .await;
    assert_eq!(granted.status, StatusCode::CREATED, "{}", granted.text);
    id
}

async fn incident_status(server: &TestServer, number: u64) -> String {
    let reply = server
        .get(
            &format!("{PROJECT}/incidents/{number}"),
            &server.admin_token,
        )
        .await;
    reply.body["status"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn the_web_ui_works_without_javascript_on_sqlite() {
    let server = TestServer::start().await;
    without_javascript(&server).await;
}

#[tokio::test]
async fn the_web_ui_works_without_javascript_on_postgres() {
    let Some(server) = TestServer::start_postgres().await else {
        return;
    };
    without_javascript(&server).await;
    server.stop().await;
}

async fn without_javascript(server: &TestServer) {
    person(server, "ops@example.com", "_project_admin").await;
    service(server, "checkout").await;
    let hook = integration(
        server,
        "checkout",
        json!({"name": "Generic", "format": "generic", "auth_mode": "bearer"}),
    )
    .await;
    let sent = send(
        server,
        &hook,
        &generic(
            "db-down",
            "trigger",
            "<script>window.pwned=1</script> database down",
        ),
        &[],
    )
    .await;
    assert!(sent.status.is_success(), "{:?}", sent.body);

    // Nobody signed in: to the login page, and back here afterwards.
    let anonymous = Page::new(server);
    let home = anonymous.get(INCIDENTS).await;
    assert_eq!(home.status, StatusCode::SEE_OTHER);
    assert_eq!(
        home.location(),
        "/login?next=%2Fo%2Fdefault%2Fp%2Fdefault%2Fincidents"
    );
    let login = anonymous
        .get("/login?next=/o/default/p/default/incidents")
        .await;
    assert_eq!(login.status, StatusCode::OK);
    assert_eq!(
        login.headers["content-type"].to_str().unwrap(),
        "text/html; charset=utf-8"
    );
    assert!(login.text.contains("name=\"password\""), "{}", login.text);
    let wrong = anonymous
        .post(
            "/login",
            &[
                ("email", "ops@example.com"),
                ("password", "not it"),
                ("next", "/"),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "{}", wrong.text);
    assert!(wrong.headers.get(SET_COOKIE).is_none());
    assert!(wrong.text.contains("role=\"alert\""), "{}", wrong.text);
    // Signed in, the login page goes straight on; a foreign `next` goes home instead.
    let ops = Page::sign_in(server, "ops@example.com", PASSWORD).await;
    let again = ops.get("/login?next=//evil.example/").await;
    assert_eq!(
        (again.status, again.location()),
        (StatusCode::SEE_OTHER, "/")
    );

    // The list: open incidents by default, the sender's markup shown as text.
    let list = ops.get(INCIDENTS).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    assert!(
        list.text
            .contains("&lt;script&gt;window.pwned=1&lt;/script&gt; database down")
    );
    assert!(!list.text.contains("<script>window"));
    assert!(list.text.contains(&format!("href=\"{INCIDENTS}/1\"")));
    for (filter, listed) in [
        ("?status=open&severity=SEV1&service=checkout", true),
        ("?status=resolved", false),
        ("?status=&severity=SEV4", false),
        ("?service=nothing-here", false),
    ] {
        let filtered = ops.get(&format!("{INCIDENTS}{filter}")).await;
        assert_eq!(filtered.status, StatusCode::OK, "{filter}");
        assert_eq!(
            filtered.text.contains(&format!("href=\"{INCIDENTS}/1\"")),
            listed,
            "{filter}"
        );
    }
    let bad = ops.get(&format!("{INCIDENTS}?status=sideways")).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.text.contains("invalid_status"), "{}", bad.text);

    // The incident: acknowledge, note, resolve, each a form with the CSRF token.
    let page = ops.get(&format!("{INCIDENTS}/1")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(page.text.contains(">Acknowledge</button>"), "{}", page.text);
    let csrf = page.csrf();
    let acked = ops
        .post(
            &format!("{INCIDENTS}/1/status"),
            &[
                ("csrf", &csrf),
                ("status", "acknowledged"),
                ("message", "on it"),
            ],
        )
        .await;
    assert_eq!(
        (acked.status, acked.location()),
        (StatusCode::SEE_OTHER, "/o/default/p/default/incidents/1"),
        "{}",
        acked.text
    );
    assert_eq!(incident_status(server, 1).await, "acknowledged");
    let noted = ops
        .post(
            &format!("{INCIDENTS}/1/notes"),
            &[
                ("csrf", &csrf),
                ("text", "failing over to the replica <b>now</b>"),
            ],
        )
        .await;
    assert_eq!(noted.status, StatusCode::SEE_OTHER, "{}", noted.text);
    // Text PostgreSQL cannot store is refused alike on both engines, with nothing kept,
    // and so is an over-long note.
    let long = "x".repeat(200_000);
    for (text, code) in [
        ("half a note\0and the rest", "nul_character"),
        (long.as_str(), "body_too_large"),
    ] {
        let refused = ops
            .post(
                &format!("{INCIDENTS}/1/notes"),
                &[("csrf", &csrf), ("text", text)],
            )
            .await;
        assert!(
            refused.status.is_client_error() && refused.text.contains(code),
            "{code}: {} {}",
            refused.status,
            refused.text
        );
    }
    let page = ops.get(&format!("{INCIDENTS}/1")).await;
    assert!(
        page.text
            .contains("failing over to the replica &lt;b&gt;now&lt;/b&gt;")
    );
    assert!(!page.text.contains("half a note"));
    assert!(!page.text.contains(">Acknowledge</button>"));
    assert!(page.text.contains(">Resolve</button>"));
    let refused = ops
        .post(
            &format!("{INCIDENTS}/1/status"),
            &[("csrf", &csrf), ("status", "closed")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.text);
    let resolved = ops
        .post(
            &format!("{INCIDENTS}/1/status"),
            &[("csrf", &csrf), ("status", "resolved")],
        )
        .await;
    assert_eq!(resolved.status, StatusCode::SEE_OTHER, "{}", resolved.text);
    assert_eq!(incident_status(server, 1).await, "resolved");

    // Opened by hand, then on the home page with the project.
    let opened = ops
        .post(
            INCIDENTS,
            &[
                ("csrf", &csrf),
                ("title", "Checkout slow in EU"),
                ("severity", "SEV2"),
            ],
        )
        .await;
    assert_eq!(
        (opened.status, opened.location()),
        (StatusCode::SEE_OTHER, "/o/default/p/default/incidents/2"),
        "{}",
        opened.text
    );
    let home = ops.get("/").await;
    assert_eq!(home.status, StatusCode::OK, "{}", home.text);
    assert!(home.text.contains("Checkout slow in EU"));
    assert!(home.text.contains("default/default"));
    assert!(home.text.contains("ops@example.com"));

    // Signing out ends the session: its cookie opens nothing any more.
    let out = ops.post("/logout", &[("csrf", &csrf)]).await;
    assert_eq!(
        (out.status, out.location()),
        (StatusCode::SEE_OTHER, "/login")
    );
    let cleared: Vec<&str> = out
        .headers
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert!(
        cleared
            .iter()
            .any(|c| c.starts_with("__Host-rampart_session=;"))
    );
    let after = ops.get("/").await;
    assert_eq!(after.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn web_forms_refuse_forgeries_and_hidden_looks_missing() {
    let server = TestServer::start().await;
    person(&server, "ops@example.com", "_project_admin").await;
    person(&server, "vera@example.com", "_viewer").await;
    let created = server
        .post(
            &format!("{PROJECT}/incidents"),
            &server.admin_token,
            json!({"title": "Queue backlog", "severity": "SEV3"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let hidden = server
        .post(
            "/api/v1/orgs/default/projects",
            &server.admin_token,
            json!({"identifier": "payroll", "name": "Payroll"}),
        )
        .await;
    assert_eq!(hidden.status, StatusCode::CREATED, "{}", hidden.text);

    let ops = Page::sign_in(&server, "ops@example.com", PASSWORD).await;
    let page = ops.get(&format!("{INCIDENTS}/1")).await;
    let csrf = page.csrf();
    let ack = |csrf: &str| {
        vec![
            ("csrf", csrf.to_owned()),
            ("status", "acknowledged".to_owned()),
        ]
    };
    let fields =
        |pairs: &[(&'static str, String)]| -> Vec<(&'static str, String)> { pairs.to_vec() };
    let status_path = format!("{INCIDENTS}/1/status");
    // No token, someone else's, another origin, a cross-site fetch: refused, unchanged.
    for (what, form, headers, code) in [
        (
            "no token",
            fields(&[("status", "acknowledged".to_owned())]),
            vec![("origin", server.url.clone())],
            "invalid_body",
        ),
        (
            "a wrong token",
            ack("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
            vec![("origin", server.url.clone())],
            "csrf_token_invalid",
        ),
        (
            "another origin",
            ack(&csrf),
            vec![("origin", "https://evil.example".to_owned())],
            "origin_mismatch",
        ),
        (
            "a cross-site request",
            ack(&csrf),
            vec![("sec-fetch-site", "cross-site".to_owned())],
            "origin_mismatch",
        ),
    ] {
        let refused = ops.post_from(&status_path, &as_refs(&form), &headers).await;
        assert!(
            refused.status.is_client_error() && refused.text.contains(code),
            "{what}: {} {}",
            refused.status,
            refused.text
        );
        assert_eq!(incident_status(&server, 1).await, "triggered", "{what}");
    }
    // A login posted from another site is refused (nobody signs a browser into their
    // account), and sets no cookie.
    let anonymous = Page::new(&server);
    let forged_login = anonymous
        .post_from(
            "/login",
            &[("email", "ops@example.com"), ("password", PASSWORD)],
            &[("origin", "https://evil.example".to_owned())],
        )
        .await;
    assert_eq!(forged_login.status, StatusCode::FORBIDDEN);
    assert!(forged_login.headers.get(SET_COOKIE).is_none());

    // A viewer sees no controls, and a post forged with the viewer's own valid token is
    // refused as the API would refuse it (and audited).
    let vera = Page::sign_in(&server, "vera@example.com", PASSWORD).await;
    let seen = vera.get(&format!("{INCIDENTS}/1")).await;
    assert_eq!(seen.status, StatusCode::OK, "{}", seen.text);
    assert!(seen.text.contains("Queue backlog"));
    for control in ["/status\"", "/notes\"", ">Acknowledge<", "name=\"text\""] {
        assert!(!seen.text.contains(control), "a viewer is shown {control}");
    }
    let list = vera.get(INCIDENTS).await;
    assert!(!list.text.contains("Open incident"), "{}", list.text);
    let forged = vera.post(&status_path, &as_refs(&ack(&seen.csrf()))).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.text);
    assert!(forged.text.contains("permission_denied"), "{}", forged.text);
    assert_eq!(incident_status(&server, 1).await, "triggered");
    let denials = server
        .get(
            "/api/v1/audit-events?action=access.denied",
            &server.admin_token,
        )
        .await;
    assert!(
        denials.text.contains("/incidents/{number}/status"),
        "{}",
        denials.text
    );

    // A project the person cannot see answers exactly as one that does not exist.
    let hidden = ops.get("/o/default/p/payroll/incidents").await;
    let missing = ops.get("/o/default/p/nowhere/incidents").await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
    assert_eq!(
        (hidden.status, hidden.text.clone()),
        (missing.status, missing.text.clone())
    );
    for path in [
        "/o/default/p/default/incidents/99",
        "/o/default/p/default/incidents/+1",
        "/o/default/p/default/incidents/%zz",
    ] {
        let nothing = ops.get(path).await;
        assert_eq!(
            nothing.status,
            StatusCode::NOT_FOUND,
            "{path}: {}",
            nothing.text
        );
    }

    // The UI takes sessions, not API tokens.
    let with_token = anonymous
        .answer(
            anonymous
                .client
                .get(format!("{}/", server.url))
                .bearer_auth(&server.admin_token),
        )
        .await;
    assert_eq!(with_token.status, StatusCode::SEE_OTHER);

    // Pages need no inline script or style: the policy forbids both.
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    for html in [&page.text, &seen.text, &list.text] {
        assert!(!html.contains("style="), "inline style");
        assert!(
            html.matches("<script").count()
                == html.matches("<script src=\"/static/app.js\"").count(),
            "inline script"
        );
    }
    let script = anonymous.get("/static/app.js").await;
    assert_eq!(script.status, StatusCode::OK);
    assert!(
        script.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
}

/// Form fields as `post` takes them.
fn as_refs<'a>(pairs: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    pairs.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// The text between `<code>` and `</code>` after `label` on a page.
fn code_after(text: &str, label: &str) -> String {
    let start = text
        .find(label)
        .unwrap_or_else(|| panic!("{label} in {text}"));
    let open = text[start..].find("<code>").unwrap() + start + "<code>".len();
    let close = text[open..].find("</code>").unwrap() + open;
    text[open..close].to_owned()
}

#[tokio::test]
async fn services_integrations_and_alerts_in_the_web_ui() {
    let server = TestServer::start().await;
    person(&server, "ops@example.com", "_project_admin").await;
    person(&server, "vera@example.com", "_viewer").await;
    let ops = Page::sign_in(&server, "ops@example.com", PASSWORD).await;
    let services = ops.get("/o/default/p/default/services").await;
    assert_eq!(services.status, StatusCode::OK, "{}", services.text);
    let csrf = services.csrf();

    // A service, then a generic integration: its address and token shown once, with a
    // sample to paste.
    let created = ops
        .post(
            "/o/default/p/default/services",
            &[
                ("csrf", &csrf),
                ("identifier", "payments"),
                ("name", "Payments"),
            ],
        )
        .await;
    assert_eq!(
        (created.status, created.location()),
        (
            StatusCode::SEE_OTHER,
            "/o/default/p/default/services/payments"
        ),
        "{}",
        created.text
    );
    let bad = ops
        .post(
            "/o/default/p/default/services",
            &[("csrf", &csrf), ("identifier", "Not A Slug"), ("name", "x")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text);
    assert!(bad.text.contains("invalid_identifier"), "{}", bad.text);
    let added = ops
        .post(
            "/o/default/p/default/services/payments/integrations",
            &[
                ("csrf", &csrf),
                ("name", "Checks"),
                ("format", "generic"),
                ("auth_mode", "bearer"),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.text);
    let address = code_after(&added.text, "Address");
    let token = code_after(&added.text, "Bearer token");
    assert!(
        address.starts_with(&server.url) && address.contains("/hooks/v1/"),
        "{address}"
    );
    assert!(token.starts_with("rmp_whk_"), "{token}");
    rampart_testkit::remember_secret(&token);
    assert!(added.text.contains("curl -X POST"), "{}", added.text);
    let path = address.strip_prefix(&server.url).unwrap().to_owned();
    let hook = crate::sre::Hook {
        path,
        token: Some(token.clone()),
        basic: None,
        secret: None,
    };
    // The service page lists it and never shows the token again.
    let service_page = ops.get("/o/default/p/default/services/payments").await;
    assert!(service_page.text.contains("Checks") && !service_page.text.contains(&token));
    // An Alertmanager integration's sample is an alertmanager.yml receiver.
    let am = ops
        .post(
            "/o/default/p/default/services/payments/integrations",
            &[
                ("csrf", &csrf),
                ("name", "Prometheus"),
                ("format", "alertmanager"),
                ("auth_mode", "basic"),
            ],
        )
        .await;
    assert!(
        am.text.contains("webhook_configs:") && am.text.contains("basic_auth:"),
        "{}",
        am.text
    );

    // An alert through the address and token the page gave.
    let sent = send(
        &server,
        &hook,
        &generic("card-declines", "trigger", "<b>declines</b> up \"40%\""),
        &[],
    )
    .await;
    assert!(sent.status.is_success(), "{:?}", sent.body);
    let alerts = ops
        .get("/o/default/p/default/alerts?status=triggered")
        .await;
    assert_eq!(alerts.status, StatusCode::OK, "{}", alerts.text);
    assert!(alerts.text.contains("card-declines"), "{}", alerts.text);
    let none = ops.get("/o/default/p/default/alerts?status=resolved").await;
    assert!(!none.text.contains("card-declines"));
    let listed = server
        .get(&format!("{PROJECT}/alerts"), &server.admin_token)
        .await;
    let id = listed.body["items"][0]["id"].as_str().unwrap().to_owned();
    let alert = ops.get(&format!("/o/default/p/default/alerts/{id}")).await;
    assert_eq!(alert.status, StatusCode::OK, "{}", alert.text);
    assert!(
        alert.text.contains("&lt;b&gt;declines&lt;/b&gt; up"),
        "{}",
        alert.text
    );
    assert!(!alert.text.contains("<b>declines"));
    let acked = ops
        .post(
            &format!("/o/default/p/default/alerts/{id}/acknowledge"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(acked.status, StatusCode::SEE_OTHER, "{}", acked.text);
    let resolved = ops
        .post(
            &format!("/o/default/p/default/alerts/{id}/resolve"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(resolved.status, StatusCode::SEE_OTHER, "{}", resolved.text);
    let after = server
        .get(&format!("{PROJECT}/alerts/{id}"), &server.admin_token)
        .await;
    assert_eq!(after.body["status"], "resolved", "{}", after.text);
    let missing = ops.get("/o/default/p/default/alerts/not-an-alert").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);

    // Rotating shows a new token once; the old one stops working.
    let integrations = server
        .get(
            &format!("{PROJECT}/services/payments/integrations"),
            &server.admin_token,
        )
        .await;
    let checks = integrations.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "Checks")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let rotated = ops
        .post(
            &format!("/o/default/p/default/services/payments/integrations/{checks}/rotate"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.text);
    let new_token = code_after(&rotated.text, "Bearer token");
    rampart_testkit::remember_secret(&new_token);
    assert_ne!(new_token, token);
    let stale = send(&server, &hook, &generic("x", "trigger", "x"), &[]).await;
    assert_eq!(stale.status, StatusCode::UNAUTHORIZED);

    // A viewer reads the pages without any control.
    let vera = Page::sign_in(&server, "vera@example.com", PASSWORD).await;
    for path in [
        "/o/default/p/default/services".to_owned(),
        "/o/default/p/default/services/payments".to_owned(),
        format!("/o/default/p/default/alerts/{id}"),
    ] {
        let seen = vera.get(&path).await;
        assert_eq!(seen.status, StatusCode::OK, "{path}: {}", seen.text);
        assert!(
            !seen.text.contains("method=\"post\" action=\"/o/"),
            "{path} shows a viewer a form: {}",
            seen.text
        );
    }
    let forged = vera
        .post(
            &format!("/o/default/p/default/services/payments/integrations/{checks}/rotate"),
            &[("csrf", &vera.get("/").await.csrf())],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.text);
}

/// A schedule `primary` in Europe/Berlin: ann and bob taking turns by the day during
/// business hours (nights are gaps), and an override giving bob the next three hours.
pub(crate) async fn business_hours_schedule(server: &TestServer) -> (String, String) {
    let ann = server.create_user("ann@example.com", PASSWORD).await;
    let bob = server.create_user("bob@example.com", PASSWORD).await;
    let renamed = server
        .patch(
            &format!("/api/v1/users/{bob}"),
            &server.admin_token,
            json!({"display_name": "Bob Builder"}),
        )
        .await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.text);
    let created = server
        .post(
            &format!("{PROJECT}/schedules"),
            &server.admin_token,
            json!({
                "identifier": "primary", "name": "Primary",
                "definition": {
                    "time_zone": "Europe/Berlin",
                    "layers": [{"name": "business", "unit": "day", "first_handoff": "2026-11-02T09:00",
                                "participants": [ann, bob],
                                "restrictions": [{"type": "daily", "start": "09:00", "end": "17:00"}]}]
                }
            }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let now = jiff::Timestamp::now();
    let override_created = server
        .post(
            &format!("{PROJECT}/schedules/primary/overrides"),
            &server.admin_token,
            json!({"user": bob, "starts_at": now.to_string(),
                   "ends_at": (now + jiff::SignedDuration::from_hours(3)).to_string()}),
        )
        .await;
    assert_eq!(
        override_created.status,
        StatusCode::CREATED,
        "{}",
        override_created.text
    );
    (ann, bob)
}

#[tokio::test]
async fn who_is_on_call_and_two_weeks_drawn() {
    let server = TestServer::start().await;
    person(&server, "ops@example.com", "_project_admin").await;
    business_hours_schedule(&server).await;
    let ops = Page::sign_in(&server, "ops@example.com", PASSWORD).await;

    // The override makes Bob on call now, wherever the clock is.
    let list = ops.get("/o/default/p/default/schedules").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    assert!(
        list.text
            .contains("href=\"/o/default/p/default/schedules/primary\"")
    );
    assert!(
        list.text.contains("data-label=\"On call now\">Bob Builder"),
        "{}",
        list.text
    );
    let home = ops.get("/").await;
    assert!(home.text.contains("Bob Builder"), "{}", home.text);

    let page = ops.get("/o/default/p/default/schedules/primary").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    let text = &page.text;
    assert!(
        text.contains("On call now: <strong>Bob Builder</strong>"),
        "{text}"
    );
    assert!(text.contains("<svg class=\"timeline\""), "{text}");
    // Fourteen days drawn; ann and bob in colours, nights as gaps, the override outlined.
    assert_eq!(text.matches("<text class=\"day\"").count(), 14, "{text}");
    assert!(text.contains("class=\"gap\""));
    assert!(text.contains("override\""), "{text}");
    assert!(
        text.contains("ann@example.com") || text.contains("Test User"),
        "{text}"
    );
    assert!(text.contains("layer business"));
    assert!(
        text.contains("CET") || text.contains("CEST"),
        "times in the schedule's zone"
    );
    let missing = ops.get("/o/default/p/default/schedules/nope").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn tokens_are_shown_once_and_step_up_asks_again_then_comes_back() {
    use std::sync::Arc;

    let clock = Arc::new(rampart_app::ManualClock::new(jiff::Timestamp::now()));
    let server = TestServer::start_with(rampart_testkit::Options {
        clock: Some(clock.clone()),
        ..rampart_testkit::Options::default()
    })
    .await;
    person(&server, "ops@example.com", "_project_admin").await;
    let ops = Page::sign_in(&server, "ops@example.com", PASSWORD).await;
    let tokens = ops.get("/tokens").await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.text);
    let csrf = tokens.csrf();
    let from_tokens = [
        ("origin", server.url.clone()),
        ("referer", format!("{}/tokens", server.url)),
    ];

    // Signed in just now: the token is created and shown once, and it works.
    let created = ops
        .post_from(
            "/tokens",
            &[
                ("csrf", &csrf),
                ("name", "laptop"),
                ("expires_in_days", "7"),
            ],
            &from_tokens,
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let secret = code_after(&created.text, "Token");
    rampart_testkit::remember_secret(&secret);
    assert!(secret.starts_with("rmp_pat_"), "{secret}");
    assert_eq!(
        server.get("/api/v1/me", &secret).await.status,
        StatusCode::OK
    );
    let listed = ops.get("/tokens").await;
    assert!(listed.text.contains("laptop") && !listed.text.contains(&secret));

    // Eleven minutes on, creating one is sensitive: re-authenticate, then back.
    clock.advance(jiff::SignedDuration::from_mins(11));
    let asked = ops
        .post_from(
            "/tokens",
            &[("csrf", &csrf), ("name", "ci"), ("expires_in_days", "1")],
            &from_tokens,
        )
        .await;
    assert_eq!(
        (asked.status, asked.location()),
        (StatusCode::SEE_OTHER, "/reauthenticate?next=%2Ftokens"),
        "{}",
        asked.text
    );
    let prompt = ops.get(asked.location()).await;
    assert_eq!(prompt.status, StatusCode::OK, "{}", prompt.text);
    assert!(prompt.text.contains("name=\"password\""));
    let wrong = ops
        .post(
            "/reauthenticate",
            &[("csrf", &csrf), ("password", "not it"), ("next", "/tokens")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "{}", wrong.text);
    assert!(wrong.text.contains("role=\"alert\""));
    let renewed = ops
        .post(
            "/reauthenticate",
            &[("csrf", &csrf), ("password", PASSWORD), ("next", "/tokens")],
        )
        .await;
    assert_eq!(
        (renewed.status, renewed.location()),
        (StatusCode::SEE_OTHER, "/tokens"),
        "{}",
        renewed.text
    );
    let again = ops
        .post_from(
            "/tokens",
            &[("csrf", &csrf), ("name", "ci"), ("expires_in_days", "1")],
            &from_tokens,
        )
        .await;
    assert_eq!(again.status, StatusCode::CREATED, "{}", again.text);
    rampart_testkit::remember_secret(&code_after(&again.text, "Token"));

    // Revoking needs no step-up; the token stops working.
    let me = server.get("/api/v1/tokens", &secret).await;
    let id = me.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "laptop")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let revoked = ops
        .post(&format!("/tokens/{id}/revoke"), &[("csrf", &csrf)])
        .await;
    assert_eq!(
        (revoked.status, revoked.location()),
        (StatusCode::SEE_OTHER, "/tokens"),
        "{}",
        revoked.text
    );
    assert_eq!(
        server.get("/api/v1/me", &secret).await.status,
        StatusCode::UNAUTHORIZED
    );
    // Someone else's token, or none: not found.
    let nothing = ops
        .post("/tokens/not-a-token/revoke", &[("csrf", &csrf)])
        .await;
    assert_eq!(nothing.status, StatusCode::NOT_FOUND, "{}", nothing.text);
}

#[tokio::test]
async fn the_audit_log_page_filters_exports_and_shows_the_checkpoint() {
    let server = TestServer::start().await;
    person(&server, "ops@example.com", "_project_admin").await;
    let admin_id = server.create_user("root@example.com", PASSWORD).await;
    let granted = server
        .post(
            "/api/v1/role-assignments",
            &server.admin_token,
            json!({"principal": format!("user:{admin_id}"), "role": "_account_admin"}),
        )
        .await;
    assert_eq!(granted.status, StatusCode::CREATED, "{}", granted.text);
    let created = server
        .post(
            &format!("{PROJECT}/incidents"),
            &server.admin_token,
            json!({"title": "Disk full", "severity": "SEV3"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    server.app().sign_audit_checkpoint().await.unwrap();

    let ops = Page::sign_in(&server, "ops@example.com", PASSWORD).await;
    let page = ops.get("/o/default/p/default/audit").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(
        page.text.contains("<code>incident.create</code>"),
        "{}",
        page.text
    );
    assert!(page.text.contains("signature valid"), "{}", page.text);
    assert!(
        page.text
            .contains("href=\"/o/default/p/default/audit\">Audit</a>")
    );
    let filtered = ops
        .get("/o/default/p/default/audit?action=role_assignment.create")
        .await;
    assert!(!filtered.text.contains("<code>incident.create</code>"));
    let bad = ops.get("/o/default/p/default/audit?outcome=maybe").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text);
    // The export link carries the filters and works with the session.
    let link = "/api/v1/orgs/default/projects/default/audit-events/export?format=csv&amp;action=incident.create";
    let with_filter = ops
        .get("/o/default/p/default/audit?action=incident.create")
        .await;
    assert!(with_filter.text.contains(link), "{}", with_filter.text);
    let csv = ops.get(&link.replace("&amp;", "&")).await;
    assert_eq!(csv.status, StatusCode::OK, "{}", csv.text);
    assert!(csv.text.contains("incident.create"), "{}", csv.text);
    // The account's log is for those who may audit the account.
    let account = ops.get("/audit").await;
    assert_eq!(account.status, StatusCode::FORBIDDEN, "{}", account.text);
    let root = Page::sign_in(&server, "root@example.com", PASSWORD).await;
    let account = root.get("/audit?outcome=success").await;
    assert_eq!(account.status, StatusCode::OK, "{}", account.text);
    assert!(account.text.contains("auth.login"), "{}", account.text);
}

/// A Terraform state of `resources` `terraform_data` resources with a plain and a
/// sensitive output.
pub(crate) fn tfstate(serial: u64, resources: &[&str]) -> Vec<u8> {
    let resources: Vec<serde_json::Value> = resources
        .iter()
        .map(|name| {
            json!({"mode": "managed", "type": "terraform_data", "name": name,
                   "provider": "provider[\"terraform.io/builtin/terraform\"]",
                   "instances": [{"schema_version": 0, "attributes": {"id": format!("id-{name}")}}]})
        })
        .collect();
    serde_json::to_vec(&json!({
        "version": 4, "terraform_version": "1.15.5", "serial": serial, "lineage": "lineage-web",
        "outputs": {
            "url": {"value": "https://shop.example", "type": "string"},
            "db_password": {"value": "hunter2-very-secret", "type": "string", "sensitive": true},
        },
        "resources": resources,
    }))
    .unwrap()
}

#[tokio::test]
async fn workspaces_show_history_diffs_and_roll_back_only_when_confirmed() {
    let server = TestServer::start().await;
    person(&server, "ops@example.com", "_project_admin").await;
    person(&server, "vera@example.com", "_viewer").await;
    let tf = crate::iacm::Tf { server: &server };
    for (serial, resources) in [
        (1, &["web", "db"][..]),
        (2, &["web", "db", "cache"][..]),
        (3, &["web"][..]),
    ] {
        let wrote = tf
            .send(
                "POST",
                crate::iacm::WS,
                Some(&server.admin_token),
                &tfstate(serial, resources),
                &[],
            )
            .await;
        assert_eq!(wrote.status, StatusCode::OK, "{}", wrote.text());
    }
    let ops = Page::sign_in(&server, "ops@example.com", PASSWORD).await;
    let list = ops.get("/o/default/p/default/workspaces").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    assert!(
        list.text
            .contains("href=\"/o/default/p/default/workspaces/prod\""),
        "{}",
        list.text
    );

    let page = ops.get("/o/default/p/default/workspaces/prod").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(
        page.text.contains("Current state: version 3"),
        "{}",
        page.text
    );
    assert!(page.text.contains("<code>terraform_data.web</code>"));
    assert!(page.text.contains("https://shop.example"));
    assert!(
        !page.text.contains("hunter2"),
        "a sensitive output is masked"
    );
    assert!(page.text.contains("(sensitive)"));
    let diff = ops.get("/o/default/p/default/workspaces/prod?diff=3").await;
    assert!(
        diff.text.contains("Resources removed (2)") && diff.text.contains("terraform_data.cache"),
        "{}",
        diff.text
    );

    // Rolling back shows what changes and needs the identifier typed.
    let confirm = ops
        .get("/o/default/p/default/workspaces/prod/rollback?version=2")
        .await;
    assert_eq!(confirm.status, StatusCode::OK, "{}", confirm.text);
    assert!(
        confirm.text.contains("Resources added (2)"),
        "{}",
        confirm.text
    );
    let csrf = confirm.csrf();
    let unconfirmed = ops
        .post(
            "/o/default/p/default/workspaces/prod/rollback",
            &[
                ("csrf", &csrf),
                ("version", "2"),
                ("reason", "bad apply"),
                ("confirm", "prd"),
            ],
        )
        .await;
    assert_eq!(
        unconfirmed.status,
        StatusCode::BAD_REQUEST,
        "{}",
        unconfirmed.text
    );
    assert_eq!(
        state_versions(&server).await,
        3,
        "nothing written unconfirmed"
    );
    let rolled = ops
        .post(
            "/o/default/p/default/workspaces/prod/rollback",
            &[
                ("csrf", &csrf),
                ("version", "2"),
                ("reason", "bad apply"),
                ("confirm", "prod"),
            ],
        )
        .await;
    assert_eq!(
        (rolled.status, rolled.location()),
        (
            StatusCode::SEE_OTHER,
            "/o/default/p/default/workspaces/prod?diff=4"
        ),
        "{}",
        rolled.text
    );
    assert_eq!(state_versions(&server).await, 4);
    let after = ops.get(rolled.location()).await;
    assert!(after.text.contains("Current state: version 4") && after.text.contains("bad apply"));

    // A viewer sees the history without the rollback control, and cannot post it.
    let vera = Page::sign_in(&server, "vera@example.com", PASSWORD).await;
    let seen = vera.get("/o/default/p/default/workspaces/prod").await;
    assert_eq!(seen.status, StatusCode::OK, "{}", seen.text);
    assert!(!seen.text.contains("Roll back to this"), "{}", seen.text);
    let forged = vera
        .post(
            "/o/default/p/default/workspaces/prod/rollback",
            &[
                ("csrf", &seen.csrf()),
                ("version", "1"),
                ("reason", "x"),
                ("confirm", "prod"),
            ],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.text);
    assert_eq!(state_versions(&server).await, 4);
}

/// How many state versions the workspace `prod` has.
async fn state_versions(server: &TestServer) -> usize {
    server
        .get(
            "/api/v1/orgs/default/projects/default/workspaces/prod/state-versions",
            &server.admin_token,
        )
        .await
        .body["items"]
        .as_array()
        .unwrap()
        .len()
}

#[tokio::test]
async fn a_run_is_reviewed_approved_and_discarded_in_the_web_ui() {
    let server = TestServer::start().await;
    person(&server, "ops@example.com", "_project_admin").await;
    person(&server, "vera@example.com", "_viewer").await;
    crate::iacm::runs::create_workspace(&server, "infra", json!({})).await;
    let run = crate::iacm::runs::approvable_run(&server, "infra").await;
    let page_path = format!("/o/default/p/default/workspaces/infra/runs/{run}");
    let ops = Page::sign_in(&server, "ops@example.com", PASSWORD).await;
    let workspace = ops.get("/o/default/p/default/workspaces/infra").await;
    assert!(
        workspace.text.contains(&format!("/runs/{run}\"")),
        "{}",
        workspace.text
    );
    let page = ops.get(&page_path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(page.text.contains("1 to add"), "{}", page.text);
    assert!(page.text.contains("Approvals: 0 of 1"), "{}", page.text);
    assert!(page.text.contains(">Approve this plan</button>"));

    // A viewer sees the run and no action, and a forged approval is refused.
    let vera = Page::sign_in(&server, "vera@example.com", PASSWORD).await;
    let seen = vera.get(&page_path).await;
    assert_eq!(seen.status, StatusCode::OK, "{}", seen.text);
    assert!(!seen.text.contains("Approve this plan") && !seen.text.contains("Discard"));
    let forged = vera
        .post(&format!("{page_path}/approve"), &[("csrf", &seen.csrf())])
        .await;
    assert!(forged.status.is_client_error(), "{}", forged.text);
    assert_eq!(run_status(&server, &run).await, "needs_approval");

    let approved = ops
        .post(&format!("{page_path}/approve"), &[("csrf", &page.csrf())])
        .await;
    assert_eq!(
        (approved.status, approved.location()),
        (StatusCode::SEE_OTHER, page_path.as_str()),
        "{}",
        approved.text
    );
    assert_eq!(run_status(&server, &run).await, "approved");
    let after = ops.get(&page_path).await;
    assert!(after.text.contains("Approvals: 1 of 1"), "{}", after.text);
    assert!(
        after
            .text
            .contains(&format!("rampart tf apply --workspace infra --run {run}"))
    );

    // Discarded before its apply.
    let discarded = ops
        .post(&format!("{page_path}/discard"), &[("csrf", &page.csrf())])
        .await;
    assert_eq!(
        discarded.status,
        StatusCode::SEE_OTHER,
        "{}",
        discarded.text
    );
    assert_eq!(run_status(&server, &run).await, "discarded");
    let missing = ops
        .get("/o/default/p/default/workspaces/infra/runs/not-a-run")
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND, "{}", missing.text);
}

/// The status of run `run` of workspace `infra`, as the API tells it.
async fn run_status(server: &TestServer, run: &str) -> String {
    server
        .get(
            &format!("/api/v1/orgs/default/projects/default/workspaces/infra/runs/{run}"),
            &server.admin_token,
        )
        .await
        .body["run"]["status"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn the_home_page_leaves_out_projects_the_request_may_not_reach() {
    let server = TestServer::start_with(rampart_testkit::Options {
        configure: Some(Box::new(|config| {
            config.server.trusted_proxies = vec!["127.0.0.1/32".into()]
        })),
        ..rampart_testkit::Options::default()
    })
    .await;
    let admin = server.admin_token.clone();
    let id = server.create_user("ops@example.com", PASSWORD).await;
    for (path, body) in [
        (
            "/api/v1/orgs",
            json!({"identifier": "acme", "name": "Acme"}),
        ),
        (
            "/api/v1/orgs/acme/projects",
            json!({"identifier": "shop", "name": "Shop"}),
        ),
        (
            "/api/v1/orgs/acme/projects/shop/role-assignments",
            json!({"principal": format!("user:{id}"), "role": "_project_admin"}),
        ),
        (
            &format!("{PROJECT}/role-assignments"),
            json!({"principal": format!("user:{id}"), "role": "_project_admin"}),
        ),
        (
            "/api/v1/orgs/acme/projects/shop/incidents",
            json!({"title": "Acme checkout down", "severity": "SEV1"}),
        ),
        (
            &format!("{PROJECT}/incidents"),
            json!({"title": "Queue backlog", "severity": "SEV3"}),
        ),
    ] {
        let created = server.post(path, &admin, body).await;
        assert_eq!(
            created.status,
            StatusCode::CREATED,
            "{path}: {}",
            created.text
        );
    }
    // Acme admits only 10.0.0.0/8 (set from inside it: no self-lockout).
    let narrowed = rampart_testkit::read(
        server
            .client
            .put(format!("{}/api/v1/orgs/acme/ip-allowlist", server.url))
            .header("x-forwarded-for", "10.0.0.1")
            .bearer_auth(&admin)
            .json(&json!({"cidrs": ["10.0.0.0/8"]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(narrowed.status, StatusCode::OK, "{}", narrowed.text);

    let ops = Page::sign_in(&server, "ops@example.com", PASSWORD).await;
    // From 127.0.0.1: Acme's project is left out, as the API would refuse it.
    let home = ops.get("/").await;
    assert_eq!(home.status, StatusCode::OK, "{}", home.text);
    assert!(home.text.contains("Queue backlog"), "{}", home.text);
    assert!(
        !home.text.contains("Acme checkout down") && !home.text.contains("acme/shop"),
        "{}",
        home.text
    );
    let direct = ops.get("/o/acme/p/shop/incidents").await;
    assert_eq!(direct.status, StatusCode::FORBIDDEN, "{}", direct.text);
    assert!(direct.text.contains("ip_not_allowed"));
    // From inside Acme's network: shown.
    let inside = ops
        .answer(
            ops.client
                .get(format!("{}/", server.url))
                .header("x-forwarded-for", "10.1.1.1"),
        )
        .await;
    assert_eq!(inside.status, StatusCode::OK, "{}", inside.text);
    assert!(
        inside.text.contains("Acme checkout down"),
        "{}",
        inside.text
    );
    // Nothing was recorded for leaving it out: denials are for refused requests.
    let denials = server
        .get("/api/v1/audit-events?action=access.denied", &admin)
        .await;
    assert_eq!(
        denials.body["items"].as_array().map(Vec::len),
        Some(1),
        "only the direct page was refused: {}",
        denials.text
    );
}

#[tokio::test]
async fn access_and_settings_on_sqlite() {
    let server = TestServer::start().await;
    access_and_settings(&server).await;
}

#[tokio::test]
async fn access_and_settings_on_postgres() {
    let Some(server) = TestServer::start_postgres().await else {
        return;
    };
    access_and_settings(&server).await;
    server.stop().await;
}

/// How `viewer` is answered about `permission` on the project, through the API.
async fn allowed(server: &TestServer, user: &str, permission: &str) -> bool {
    let reply = server
        .get(
            &format!("{PROJECT}/access/explain?principal=user:{user}&permission={permission}"),
            &server.admin_token,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    reply.body["allowed"] == true
}

/// The Access and Settings pages, as a browser without JavaScript uses them: explain,
/// assigning and removing a role by email, groups and members, users, allowlists,
/// retention, severity names and write-only secrets — each change visible through the
/// API, each refusal the API's, nothing kept from a refused form.
async fn access_and_settings(server: &TestServer) {
    let project = "/o/default/p/default";
    let root_id = server.create_user("root@example.com", PASSWORD).await;
    let granted = server
        .post(
            "/api/v1/role-assignments",
            &server.admin_token,
            json!({"principal": format!("user:{root_id}"), "role": "_account_admin"}),
        )
        .await;
    assert_eq!(granted.status, StatusCode::CREATED, "{}", granted.text);
    person(server, "ops@example.com", "_project_admin").await;
    let vera = person(server, "vera@example.com", "_viewer").await;
    let ops = Page::sign_in(server, "ops@example.com", PASSWORD).await;
    let viewer = Page::sign_in(server, "vera@example.com", PASSWORD).await;

    // Explain, by email: a viewer may read incidents, not acknowledge them.
    let asked = ops
        .get(&format!(
            "{project}/access?principal=vera%40example.com&permission=incident%3Aview"
        ))
        .await;
    assert_eq!(asked.status, StatusCode::OK, "{}", asked.text);
    assert!(
        asked.text.contains("Allowed.")
            && asked
                .text
                .contains("Decided by the assignment of <strong>Viewer</strong>"),
        "{}",
        asked.text
    );
    let refused = ops
        .get(&format!(
            "{project}/access?principal=vera%40example.com&permission=incident%3Astatus_update"
        ))
        .await;
    assert!(refused.text.contains("Not allowed."), "{}", refused.text);
    let nobody = ops
        .get(&format!(
            "{project}/access?principal=nobody%40example.com&permission=incident%3Aview"
        ))
        .await;
    assert!(
        nobody.text.contains("unknown_principal") && nobody.text.contains("role=\"alert\""),
        "{}",
        nobody.text
    );

    // Assigning by email is seen by the API; removing takes it back.
    let page = ops.get(&format!("{project}/access")).await;
    assert!(page.text.contains("Assign a role"), "{}", page.text);
    let csrf = page.csrf();
    let assigned = ops
        .post(
            &format!("{project}/access/assignments"),
            &[
                ("csrf", &csrf),
                ("principal", "vera@example.com"),
                ("role", "_user"),
                ("resource_group", ""),
            ],
        )
        .await;
    assert_eq!(
        (assigned.status, assigned.location()),
        (StatusCode::SEE_OTHER, &*format!("{project}/access")),
        "{}",
        assigned.text
    );
    assert!(allowed(server, &vera, "incident:status_update").await);
    for (fields, code) in [
        (
            vec![("principal", "nobody@example.com"), ("role", "_user")],
            "unknown_principal",
        ),
        (
            vec![("principal", ""), ("role", "_user")],
            "invalid_principal",
        ),
        (
            vec![
                ("principal", "vera@example.com"),
                ("role", "_account_admin"),
            ],
            "role_not_assignable_here",
        ),
        (
            vec![("principal", "vera\u{0}@example.com"), ("role", "_user")],
            "nul_character",
        ),
    ] {
        let mut fields = fields;
        fields.push(("csrf", &csrf));
        let answer = ops
            .post(&format!("{project}/access/assignments"), &fields)
            .await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.text);
        assert!(answer.text.contains(code), "{code}: {}", answer.text);
    }
    let assignments = server
        .get(&format!("{PROJECT}/role-assignments"), &server.admin_token)
        .await;
    let user_role = assignments.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["principal"] == format!("user:{vera}") && a["role"] == "_user")
        .expect("the assignment made from the page")["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // The viewer sees the assignments but no control, and a forged form is refused.
    let seen = viewer.get(&format!("{project}/access")).await;
    assert_eq!(seen.status, StatusCode::OK, "{}", seen.text);
    assert!(
        !seen.text.contains("Assign a role") && !seen.text.contains("/remove\""),
        "{}",
        seen.text
    );
    let forged = viewer
        .post(
            &format!("{project}/access/assignments/{user_role}/remove"),
            &[("csrf", &seen.csrf())],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.text);
    assert!(allowed(server, &vera, "incident:status_update").await);
    let removed = ops
        .post(
            &format!("{project}/access/assignments/{user_role}/remove"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER, "{}", removed.text);
    assert!(!allowed(server, &vera, "incident:status_update").await);

    // A group: created, a member added by email, given a role, then taken apart.
    let created = ops
        .post(
            &format!("{project}/access/groups"),
            &[
                ("csrf", &csrf),
                ("identifier", "responders"),
                ("name", "Responders"),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.text);
    let groups = server
        .get(&format!("{PROJECT}/groups"), &server.admin_token)
        .await;
    let group = groups.body["items"][0]["id"].as_str().unwrap().to_owned();
    let added = ops
        .post(
            &format!("{project}/access/groups/{group}/members"),
            &[("csrf", &csrf), ("user", "vera@example.com")],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.text);
    let to_group = ops
        .post(
            &format!("{project}/access/assignments"),
            &[
                ("csrf", &csrf),
                ("group", &format!("group:{group}")),
                ("role", "_user"),
            ],
        )
        .await;
    assert_eq!(to_group.status, StatusCode::SEE_OTHER, "{}", to_group.text);
    assert!(allowed(server, &vera, "incident:status_update").await);
    let page = ops.get(&format!("{project}/access")).await;
    assert!(
        page.text.contains("group Responders")
            && page
                .text
                .contains(&format!("/access/groups/{group}/members/{vera}/remove")),
        "{}",
        page.text
    );
    let left = ops
        .post(
            &format!("{project}/access/groups/{group}/members/{vera}/remove"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(left.status, StatusCode::SEE_OTHER, "{}", left.text);
    assert!(!allowed(server, &vera, "incident:status_update").await);
    let deleted = ops
        .post(
            &format!("{project}/access/groups/{group}/delete"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER, "{}", deleted.text);
    let groups = server
        .get(&format!("{PROJECT}/groups"), &server.admin_token)
        .await;
    assert_eq!(groups.body["items"].as_array().unwrap().len(), 0);

    // The account's users: only an account admin sees them; a new user, disabled,
    // cannot sign in, enabled again, can.
    let root = Page::sign_in(server, "root@example.com", PASSWORD).await;
    let account = root.get("/access").await;
    assert_eq!(account.status, StatusCode::OK, "{}", account.text);
    // Who may list users sees emails beside names; a project admin sees names only.
    let project_page = root.get(&format!("{project}/access")).await;
    assert!(
        project_page
            .text
            .contains("Test User &lt;vera@example.com&gt;"),
        "{}",
        project_page.text
    );
    assert!(
        !ops.get(&format!("{project}/access"))
            .await
            .text
            .contains("vera@example.com")
    );
    assert!(account.text.contains("ops@example.com") && account.text.contains("New user"));
    let not_admin = ops.get("/access").await;
    assert!(
        not_admin.status == StatusCode::OK && !not_admin.text.contains("id=\"h-users\""),
        "{}",
        not_admin.text
    );
    let root_csrf = account.csrf();
    let made = root
        .post(
            "/access/users",
            &[
                ("csrf", &root_csrf),
                ("email", "new@example.com"),
                ("display_name", "New Person"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.text);
    let users = server.get("/api/v1/users", &server.admin_token).await;
    let new_id = users.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "new@example.com")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let disabled = root
        .post(
            &format!("/access/users/{new_id}/disable"),
            &[("csrf", &root_csrf)],
        )
        .await;
    assert_eq!(disabled.status, StatusCode::SEE_OTHER, "{}", disabled.text);
    let login = Page::new(server)
        .post(
            "/login",
            &[
                ("email", "new@example.com"),
                ("password", PASSWORD),
                ("next", "/"),
            ],
        )
        .await;
    assert_ne!(login.status, StatusCode::SEE_OTHER, "{}", login.text);
    root.post(
        &format!("/access/users/{new_id}/enable"),
        &[("csrf", &root_csrf)],
    )
    .await;
    Page::sign_in(server, "new@example.com", PASSWORD).await;
    let weak = root
        .post(
            "/access/users",
            &[
                ("csrf", &root_csrf),
                ("email", "weak@example.com"),
                ("display_name", "Weak"),
                ("password", "short"),
            ],
        )
        .await;
    assert!(weak.status.is_client_error(), "{}", weak.text);

    // The account's allowlist: one that leaves out the person's own address is refused.
    let settings = root.get("/settings").await;
    assert_eq!(settings.status, StatusCode::OK, "{}", settings.text);
    assert!(settings.text.contains("Allowed source addresses"));
    assert_eq!(ops.get("/settings").await.status, StatusCode::FORBIDDEN);
    let locked_out = root
        .post(
            "/settings/allowlist",
            &[("csrf", &root_csrf), ("cidrs", "10.0.0.0/8")],
        )
        .await;
    assert!(locked_out.status.is_client_error(), "{}", locked_out.text);
    let saved = root
        .post(
            "/settings/allowlist",
            &[
                ("csrf", &root_csrf),
                ("cidrs", "127.0.0.0/8\n::1/128\n10.0.0.0/8"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text);
    let list = server
        .get("/api/v1/ip-allowlist", &server.admin_token)
        .await;
    assert_eq!(
        list.body["cidrs"].as_array().unwrap().len(),
        3,
        "{}",
        list.text
    );
    root.post(
        "/settings/allowlist",
        &[("csrf", &root_csrf), ("cidrs", "")],
    )
    .await;
    let list = server
        .get("/api/v1/ip-allowlist", &server.admin_token)
        .await;
    assert_eq!(list.body["cidrs"], json!([]));

    // The organisation's retention and severity names.
    let org = root.get("/o/default/settings").await;
    assert_eq!(org.status, StatusCode::OK, "{}", org.text);
    assert!(org.text.contains("Audit retention") && org.text.contains("Incident severity names"));
    for (days, status) in [
        ("abc", StatusCode::BAD_REQUEST),
        ("0", StatusCode::BAD_REQUEST),
        ("30", StatusCode::SEE_OTHER),
    ] {
        let answer = root
            .post(
                "/o/default/settings/retention",
                &[("csrf", &root_csrf), ("days", days)],
            )
            .await;
        assert_eq!(answer.status, status, "{days}: {}", answer.text);
    }
    let retention = server
        .get("/api/v1/orgs/default/audit-retention", &server.admin_token)
        .await;
    assert_eq!(retention.body["days"], 30);
    let named = root
        .post(
            "/o/default/settings/severities",
            &[("csrf", &root_csrf), ("SEV1", "Critical"), ("SEV2", "")],
        )
        .await;
    assert_eq!(named.status, StatusCode::SEE_OTHER, "{}", named.text);
    let labels = server
        .get(
            "/api/v1/orgs/default/incident-severities",
            &server.admin_token,
        )
        .await;
    assert_eq!(labels.body["labels"], json!({"SEV1": "Critical"}));

    // A project's secrets: the value goes in and never comes out.
    let value = "correct horse battery staple 4411";
    let secrets = ops.get(&format!("{project}/settings")).await;
    assert_eq!(secrets.status, StatusCode::OK, "{}", secrets.text);
    let made = ops
        .post(
            &format!("{project}/settings/secrets"),
            &[
                ("csrf", &csrf),
                ("identifier", "db-password"),
                ("name", "Database password"),
                ("value", value),
            ],
        )
        .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.text);
    let versioned = ops
        .post(
            &format!("{project}/settings/secrets/db-password"),
            &[("csrf", &csrf), ("value", "a second value 9932")],
        )
        .await;
    assert_eq!(
        versioned.status,
        StatusCode::SEE_OTHER,
        "{}",
        versioned.text
    );
    let shown = ops.get(&format!("{project}/settings")).await;
    assert!(
        shown.text.contains("Database password") && !shown.text.contains(value),
        "{}",
        shown.text
    );
    let api = server
        .get(
            &format!("{PROJECT}/secrets/db-password"),
            &server.admin_token,
        )
        .await;
    assert_eq!(api.body["current_version"], 2, "{}", api.text);
    assert!(!api.text.contains(value));
    let nul = ops
        .post(
            &format!("{project}/settings/secrets"),
            &[
                ("csrf", &csrf),
                ("identifier", "other"),
                ("name", "Other"),
                ("value", "a\u{0}b"),
            ],
        )
        .await;
    assert_eq!(nul.status, StatusCode::BAD_REQUEST, "{}", nul.text);
    // The viewer sees the list, no form; a forged deletion is refused and loses nothing.
    let seen = viewer.get(&format!("{project}/settings")).await;
    assert!(
        seen.text.contains("db-password") && !seen.text.contains("New secret"),
        "{}",
        seen.text
    );
    let forged = viewer
        .post(
            &format!("{project}/settings/secrets/db-password/delete"),
            &[("csrf", &seen.csrf())],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.text);
    let gone = ops
        .post(
            &format!("{project}/settings/secrets/db-password/delete"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(gone.status, StatusCode::SEE_OTHER, "{}", gone.text);
    let list = server
        .get(&format!("{PROJECT}/secrets"), &server.admin_token)
        .await;
    assert_eq!(list.body["items"], json!([]), "{}", list.text);
}

#[tokio::test]
async fn an_incident_is_edited_and_its_action_items_kept_in_the_web_ui() {
    let server = TestServer::start().await;
    let ops_id = person(&server, "ops@example.com", "_project_admin").await;
    let vera_id = person(&server, "vera@example.com", "_viewer").await;
    let opened = server
        .post(
            &format!("{PROJECT}/incidents"),
            &server.admin_token,
            json!({"title": "Checkout slow", "severity": "SEV3"}),
        )
        .await;
    assert_eq!(opened.status, StatusCode::CREATED, "{}", opened.text);
    let number = opened.body["number"].as_u64().unwrap();
    let here = format!("{INCIDENTS}/{number}");
    let api = format!("{PROJECT}/incidents/{number}");
    let ops = Page::sign_in(&server, "ops@example.com", PASSWORD).await;
    let page = ops.get(&here).await;
    assert!(
        page.text.contains(&format!("action=\"{here}/edit\"")),
        "{}",
        page.text
    );
    let csrf = page.csrf();

    // Title, severity, commander and assignees by email, description: seen by the API.
    // The form carries what it was drawn from (`was_*`), as the page drew it.
    let edit = |commander: &'static str, assignees: &'static str, drawn: &Answer| {
        let mut fields: Vec<(&'static str, String)> = vec![
            ("title", "Checkout down".into()),
            ("severity", "SEV1".into()),
            ("commander", commander.into()),
            ("assignees", assignees.into()),
            ("description", "Payments time out <b>everywhere</b>".into()),
        ];
        for name in [
            "was_title",
            "was_severity",
            "was_commander",
            "was_assignees",
            "was_description",
        ] {
            fields.push((name, drawn.hidden(name)));
        }
        fields
    };
    let mut fields = edit(
        "vera@example.com",
        "ops@example.com, vera@example.com",
        &page,
    );
    fields.push(("csrf", csrf.clone()));
    let fields = as_refs(&fields);
    let saved = ops.post(&format!("{here}/edit"), &fields).await;
    assert_eq!(
        (saved.status, saved.location()),
        (StatusCode::SEE_OTHER, &*here),
        "{}",
        saved.text
    );
    let incident = server.get(&api, &server.admin_token).await;
    assert_eq!(incident.body["title"], "Checkout down", "{}", incident.text);
    assert_eq!(incident.body["severity"], "SEV1");
    assert_eq!(incident.body["commander"], json!(vera_id));
    assert_eq!(incident.body["assignees"], json!([ops_id, vera_id]));
    // People are named; their emails are for who may list users (as in the API).
    let shown = ops.get(&here).await;
    assert!(
        shown.text.contains("<dd>Test User</dd>")
            && !shown.text.contains("vera@example.com")
            && shown.text.contains("&lt;b&gt;everywhere&lt;/b&gt;"),
        "{}",
        shown.text
    );

    // Somebody unknown: refused with the API's code, nothing changed.
    let mut fields = edit("nobody@example.com", "", &shown);
    fields.push(("csrf", csrf.clone()));
    let refused = ops.post(&format!("{here}/edit"), &as_refs(&fields)).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text);
    assert!(
        refused.text.contains("unknown_principal"),
        "{}",
        refused.text
    );
    let mut fields = edit("", "", &shown);
    fields.retain(|(name, _)| *name != "severity");
    fields.push(("severity", "SEV9".into()));
    fields.push(("csrf", csrf.clone()));
    let bad = ops.post(&format!("{here}/edit"), &as_refs(&fields)).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text);
    let incident = server.get(&api, &server.admin_token).await;
    assert_eq!(
        incident.body["commander"],
        json!(vera_id),
        "{}",
        incident.text
    );
    assert_eq!(incident.body["severity"], "SEV1");

    // A form drawn before someone else's change: only what it changes is sent, so their
    // change to another field stays; a field they changed too is refused, not
    // overwritten.
    let drawn = ops.get(&here).await;
    let changed = server
        .patch(
            &api,
            &server.admin_token,
            json!({"description": "Changed through the API", "severity": "SEV2"}),
        )
        .await;
    assert_eq!(changed.status, StatusCode::NO_CONTENT, "{}", changed.text);
    let mut fields = edit(
        "vera@example.com",
        "ops@example.com, vera@example.com",
        &drawn,
    );
    fields.retain(|(name, _)| !matches!(*name, "title" | "description"));
    fields.push(("title", "Checkout down again".into()));
    fields.push(("description", drawn.hidden("was_description")));
    fields.push(("csrf", csrf.clone()));
    let kept = ops.post(&format!("{here}/edit"), &as_refs(&fields)).await;
    assert_eq!(kept.status, StatusCode::SEE_OTHER, "{}", kept.text);
    let incident = server.get(&api, &server.admin_token).await;
    assert_eq!(
        (
            &incident.body["title"],
            &incident.body["description"],
            &incident.body["severity"]
        ),
        (
            &json!("Checkout down again"),
            &json!("Changed through the API"),
            &json!("SEV2")
        ),
        "{}",
        incident.text
    );
    let mut fields = edit(
        "vera@example.com",
        "ops@example.com, vera@example.com",
        &drawn,
    );
    fields.retain(|(name, _)| *name != "description");
    fields.push(("description", "My own account\r\nof it".into()));
    fields.push(("csrf", csrf.clone()));
    let stale = ops.post(&format!("{here}/edit"), &as_refs(&fields)).await;
    assert_eq!(stale.status, StatusCode::CONFLICT, "{}", stale.text);
    assert!(
        stale.text.contains("incident_changed_since")
            && stale.text.contains("the incident's description since"),
        "{}",
        stale.text
    );
    let unchanged = server.get(&api, &server.admin_token).await;
    assert_eq!(unchanged.body["description"], "Changed through the API");
    // Drawn anew, the same change goes through, its line breaks stored as written.
    let fresh = ops.get(&here).await;
    let mut fields = edit(
        "vera@example.com",
        "ops@example.com, vera@example.com",
        &fresh,
    );
    fields.retain(|(name, _)| !matches!(*name, "description" | "title" | "severity"));
    fields.push(("title", "Checkout down again".into()));
    fields.push(("severity", "SEV2".into()));
    fields.push(("description", "My own account\r\nof it".into()));
    fields.push(("csrf", csrf.clone()));
    let saved = ops.post(&format!("{here}/edit"), &as_refs(&fields)).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text);
    let incident = server.get(&api, &server.admin_token).await;
    assert_eq!(
        incident.body["description"], "My own account\nof it",
        "{}",
        incident.text
    );

    // An action item, assigned by email, marked done and reopened.
    let added = ops
        .post(
            &format!("{here}/action-items"),
            &[
                ("csrf", &csrf),
                ("text", "Add a timeout alert"),
                ("assignee", "vera@example.com"),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.text);
    let incident = server.get(&api, &server.admin_token).await;
    let item = &incident.body["action_items"][0];
    assert_eq!(
        (&item["text"], &item["assignee"], &item["done"]),
        (
            &json!("Add a timeout alert"),
            &json!(vera_id),
            &json!(false)
        ),
        "{}",
        incident.text
    );
    let seq = item["item"].as_u64().unwrap();
    let done = ops
        .post(
            &format!("{here}/action-items/{seq}"),
            &[("csrf", &csrf), ("done", "true")],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text);
    let incident = server.get(&api, &server.admin_token).await;
    assert_eq!(incident.body["action_items"][0]["done"], true);
    let bad = ops
        .post(
            &format!("{here}/action-items/{seq}"),
            &[("csrf", &csrf), ("done", "maybe")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text);
    let missing = ops
        .post(
            &format!("{here}/action-items/99"),
            &[("csrf", &csrf), ("done", "true")],
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND, "{}", missing.text);

    // A viewer is shown no edit control; a forged one is refused and changes nothing.
    let viewer = Page::sign_in(&server, "vera@example.com", PASSWORD).await;
    let seen = viewer.get(&here).await;
    assert!(
        !seen.text.contains(&format!("action=\"{here}/edit\""))
            && !seen.text.contains("Add action item"),
        "{}",
        seen.text
    );
    // (The viewer's page has no form: what it was drawn from is the editor's.)
    let mut fields = edit("", "", &ops.get(&here).await);
    fields.push(("csrf", seen.csrf()));
    let forged = viewer
        .post(&format!("{here}/edit"), &as_refs(&fields))
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.text);
    let incident = server.get(&api, &server.admin_token).await;
    assert_eq!(incident.body["commander"], json!(vera_id));
}

#[tokio::test]
async fn schedules_are_created_edited_and_overridden_in_the_web_ui() {
    let server = TestServer::start().await;
    let ops_id = person(&server, "ops@example.com", "_project_admin").await;
    let vera_id = person(&server, "vera@example.com", "_viewer").await;
    let ops = Page::sign_in(&server, "ops@example.com", PASSWORD).await;
    let schedules = "/o/default/p/default/schedules";
    let list = ops.get(schedules).await;
    assert!(list.text.contains("New schedule"), "{}", list.text);
    let csrf = list.csrf();
    let api = format!("{PROJECT}/schedules/primary");

    let created = ops
        .post(
            schedules,
            &[
                ("csrf", &csrf),
                ("identifier", "primary"),
                ("name", "Primary"),
                ("time_zone", "Europe/Berlin"),
                ("layer0.name", "weekly"),
                ("layer0.every", "1"),
                ("layer0.unit", "week"),
                ("layer0.first_handoff", "2026-11-30T09:00"),
                ("layer0.participants", "ops@example.com\r\nvera@example.com"),
                ("layer1.name", ""),
                ("layer1.every", "1"),
                ("layer1.unit", "week"),
                ("layer1.first_handoff", ""),
                ("layer1.participants", ""),
            ],
        )
        .await;
    assert_eq!(
        (created.status, created.location()),
        (StatusCode::SEE_OTHER, &*format!("{schedules}/primary")),
        "{}",
        created.text
    );
    let schedule = server.get(&api, &server.admin_token).await;
    let definition = &schedule.body["definition"];
    assert_eq!(
        definition["time_zone"], "Europe/Berlin",
        "{}",
        schedule.text
    );
    assert_eq!(
        definition["layers"][0]["participants"],
        json!([ops_id, vera_id])
    );

    // Edited: renamed, the first layer changed, a second layer added; then the first
    // removed by emptying its name.
    let page = ops.get(&format!("{schedules}/primary")).await;
    assert!(page.text.contains("Edit the schedule"), "{}", page.text);
    let edit = |first: &'static str| {
        vec![
            ("name", "Primary on call"),
            ("time_zone", "Europe/Berlin"),
            ("layer0.name", first),
            ("layer0.every", "1"),
            ("layer0.unit", "week"),
            ("layer0.first_handoff", "2026-11-30T09:00"),
            ("layer0.participants", "vera@example.com"),
            ("layer1.name", "weekend"),
            ("layer1.every", "2"),
            ("layer1.unit", "day"),
            ("layer1.first_handoff", "2026-12-05T00:00"),
            ("layer1.participants", "ops@example.com"),
        ]
    };
    let mut fields = edit("weekly");
    fields.push(("csrf", &csrf));
    let saved = ops
        .post(&format!("{schedules}/primary/edit"), &fields)
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text);
    let schedule = server.get(&api, &server.admin_token).await;
    assert_eq!(
        schedule.body["name"], "Primary on call",
        "{}",
        schedule.text
    );
    let layers = &schedule.body["definition"]["layers"];
    assert_eq!(layers[0]["participants"], json!([vera_id]));
    assert_eq!(
        (&layers[1]["name"], &layers[1]["every"], &layers[1]["unit"]),
        (&json!("weekend"), &json!(2), &json!("day"))
    );
    for (field, value) in [
        ("time_zone", "Mars/Olympus_Mons"),
        ("layer1.every", "often"),
        ("layer0.colour", "blue"),
        ("layer1.unit", "fortnight"),
        ("layer1.participants", "nobody@example.com"),
        ("layer01.name", "padded"),
        ("layer3.name", "after a gap"),
    ] {
        let mut fields = edit("weekly");
        fields.retain(|(name, _)| *name != field);
        fields.push((field, value));
        fields.push(("csrf", &csrf));
        let refused = ops
            .post(&format!("{schedules}/primary/edit"), &fields)
            .await;
        assert_eq!(
            refused.status,
            StatusCode::BAD_REQUEST,
            "{field}: {}",
            refused.text
        );
    }
    let mut fields = edit("");
    fields.push(("csrf", &csrf));
    let removed = ops
        .post(&format!("{schedules}/primary/edit"), &fields)
        .await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER, "{}", removed.text);
    let schedule = server.get(&api, &server.admin_token).await;
    let layers = schedule.body["definition"]["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 1, "{}", schedule.text);
    assert_eq!(layers[0]["name"], "weekend");

    // Overrides: wall times in the schedule's zone (Berlin is UTC+1 in December).
    let added = ops
        .post(
            &format!("{schedules}/primary/overrides"),
            &[
                ("csrf", &csrf),
                ("user", "vera@example.com"),
                ("from", "2026-12-10T09:00"),
                ("until", "2026-12-11T09:00"),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.text);
    let taken = ops
        .post(
            &format!("{schedules}/primary/overrides/take"),
            &[
                ("csrf", &csrf),
                ("from", "2026-12-12T09:00"),
                ("until", "2026-12-12T18:00"),
            ],
        )
        .await;
    assert_eq!(taken.status, StatusCode::SEE_OTHER, "{}", taken.text);
    let bad = ops
        .post(
            &format!("{schedules}/primary/overrides/take"),
            &[
                ("csrf", &csrf),
                ("from", "tomorrow"),
                ("until", "2026-12-12T18:00"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text);
    let overrides = server
        .get(&format!("{api}/overrides"), &server.admin_token)
        .await;
    let items = overrides.body["overrides"].as_array().unwrap().clone();
    assert_eq!(items.len(), 2, "{}", overrides.text);
    let starts = |at: &str| at.parse::<jiff::Timestamp>().unwrap();
    let vera_override = items.iter().find(|o| o["user"] == json!(vera_id)).unwrap();
    assert_eq!(
        starts(vera_override["starts_at"].as_str().unwrap()),
        starts("2026-12-10T08:00:00Z")
    );
    let ops_override = items.iter().find(|o| o["user"] == json!(ops_id)).unwrap();
    assert_eq!(
        starts(ops_override["ends_at"].as_str().unwrap()),
        starts("2026-12-12T17:00:00Z")
    );
    let page = ops.get(&format!("{schedules}/primary")).await;
    assert!(page.text.contains("Thu 10 Dec 09:00 CET"), "{}", page.text);
    let id = vera_override["id"].as_str().unwrap();
    let gone = ops
        .post(
            &format!("{schedules}/primary/overrides/remove"),
            &[("csrf", &csrf), ("override_id", id)],
        )
        .await;
    assert_eq!(gone.status, StatusCode::SEE_OTHER, "{}", gone.text);
    let overrides = server
        .get(&format!("{api}/overrides"), &server.admin_token)
        .await;
    assert_eq!(overrides.body["overrides"].as_array().unwrap().len(), 1);

    // A viewer sees who is on call, and no control; a forged edit is refused.
    let viewer = Page::sign_in(&server, "vera@example.com", PASSWORD).await;
    let seen = viewer.get(&format!("{schedules}/primary")).await;
    assert!(
        seen.status == StatusCode::OK
            && !seen.text.contains("Edit the schedule")
            && !seen.text.contains("Take the shift"),
        "{}",
        seen.text
    );
    let mut fields = edit("weekly");
    let vera_csrf = seen.csrf();
    fields.push(("csrf", &vera_csrf));
    let forged = viewer
        .post(&format!("{schedules}/primary/edit"), &fields)
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.text);
}

#[tokio::test]
async fn escalation_policies_are_created_and_edited_in_the_web_ui() {
    let server = TestServer::start().await;
    let ops_id = person(&server, "ops@example.com", "_project_admin").await;
    person(&server, "vera@example.com", "_viewer").await;
    business_hours_schedule(&server).await;
    let ops = Page::sign_in(&server, "ops@example.com", PASSWORD).await;
    let policies = "/o/default/p/default/escalation-policies";
    let list = ops.get(policies).await;
    assert!(list.text.contains("New escalation policy"), "{}", list.text);
    let csrf = list.csrf();
    let api = format!("{PROJECT}/escalation-policies/default");
    let fields = |first: &'static str, repeats: &'static str| {
        vec![
            ("name", "Default"),
            ("repeats", repeats),
            ("level0.targets", first),
            ("level0.delay_minutes", "10"),
            ("level1.targets", "vera@example.com"),
            ("level1.delay_minutes", "30"),
        ]
    };

    let mut create = fields("ops@example.com\r\nschedule:primary", "2");
    create.push(("identifier", "default"));
    create.push(("csrf", &csrf));
    let created = ops.post(policies, &create).await;
    assert_eq!(
        (created.status, created.location()),
        (StatusCode::SEE_OTHER, &*format!("{policies}/default")),
        "{}",
        created.text
    );
    let policy = server.get(&api, &server.admin_token).await;
    let definition = &policy.body["definition"];
    assert_eq!(definition["repeats"], 2, "{}", policy.text);
    assert_eq!(
        definition["levels"][0]["targets"],
        json!([{"type": "user", "id": ops_id}, {"type": "schedule", "id": "primary"}])
    );
    assert_eq!(definition["levels"][1]["delay_minutes"], 30);
    let page = ops.get(&format!("{policies}/default")).await;
    assert!(
        page.text.contains("pages Test User")
            && page.text.contains("/o/default/p/default/schedules/primary"),
        "{}",
        page.text
    );

    // Refused with the API's reasons, nothing changed.
    for (first, repeats, delay) in [
        ("schedule:nowhere", "0", "10"),
        ("nobody@example.com", "0", "10"),
        ("ops@example.com", "10", "10"),
        ("ops@example.com", "0", "soon"),
        ("ops@example.com", "0", "0"),
    ] {
        let mut edit = fields(first, repeats);
        edit.retain(|(name, _)| *name != "level0.delay_minutes");
        edit.push(("level0.delay_minutes", delay));
        edit.push(("csrf", &csrf));
        let refused = ops.post(&format!("{policies}/default/edit"), &edit).await;
        assert_eq!(
            refused.status,
            StatusCode::BAD_REQUEST,
            "{first} {repeats} {delay}: {}",
            refused.text
        );
    }
    let unchanged = server.get(&api, &server.admin_token).await;
    assert_eq!(unchanged.body["definition"], policy.body["definition"]);

    // Emptying the first level's targets removes it.
    let mut edit = fields("", "0");
    edit.push(("csrf", &csrf));
    let saved = ops.post(&format!("{policies}/default/edit"), &edit).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text);
    let policy = server.get(&api, &server.admin_token).await;
    let levels = policy.body["definition"]["levels"].as_array().unwrap();
    assert_eq!(levels.len(), 1, "{}", policy.text);
    assert_eq!(levels[0]["delay_minutes"], 30);

    // A viewer reads it and is shown no control; a forged edit is refused.
    let viewer = Page::sign_in(&server, "vera@example.com", PASSWORD).await;
    let seen = viewer.get(&format!("{policies}/default")).await;
    assert!(
        seen.status == StatusCode::OK && !seen.text.contains("Edit the policy"),
        "{}",
        seen.text
    );
    let mut edit = fields("vera@example.com", "0");
    let vera_csrf = seen.csrf();
    edit.push(("csrf", &vera_csrf));
    let forged = viewer
        .post(&format!("{policies}/default/edit"), &edit)
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.text);
}

#[tokio::test]
async fn a_service_gets_its_policy_and_alert_rules_in_the_web_ui() {
    let server = TestServer::start().await;
    person(&server, "ops@example.com", "_project_admin").await;
    person(&server, "vera@example.com", "_viewer").await;
    service(&server, "checkout").await;
    let policy = server
        .post(
            &format!("{PROJECT}/escalation-policies"),
            &server.admin_token,
            json!({"identifier": "default", "name": "Default", "definition": {
                "levels": [{"targets": [{"type": "user", "id": person(&server, "sam@example.com", "_user").await}],
                            "delay_minutes": 15}]}}),
        )
        .await;
    assert_eq!(policy.status, StatusCode::CREATED, "{}", policy.text);
    let hook = integration(
        &server,
        "checkout",
        json!({"name": "Generic", "format": "generic", "auth_mode": "bearer"}),
    )
    .await;
    let here = "/o/default/p/default/services/checkout";
    let ops = Page::sign_in(&server, "ops@example.com", PASSWORD).await;
    let page = ops.get(here).await;
    assert!(
        page.text.contains("incidents of this service page nobody"),
        "{}",
        page.text
    );
    let csrf = page.csrf();

    // The policy, chosen from the list; an unknown one is not found.
    let chosen = ops
        .post(
            &format!("{here}/escalation-policy"),
            &[("csrf", &csrf), ("policy", "default")],
        )
        .await;
    assert_eq!(chosen.status, StatusCode::SEE_OTHER, "{}", chosen.text);
    let page = ops.get(here).await;
    assert!(
        page.text
            .contains("/o/default/p/default/escalation-policies/default"),
        "{}",
        page.text
    );
    let unknown = ops
        .post(
            &format!("{here}/escalation-policy"),
            &[("csrf", &csrf), ("policy", "elsewhere")],
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{}", unknown.text);

    // A rule that records team=web alerts only: such an alert then opens no incident.
    let rule = |labels: &'static str, action: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("rule0.name", "web is noisy".to_owned()),
            ("rule0.min_severity", "".to_owned()),
            ("rule0.max_severity", "".to_owned()),
            ("rule0.source", "".to_owned()),
            ("rule0.labels", labels.to_owned()),
            ("rule0.action", action.to_owned()),
            ("rule1.name", "".to_owned()),
            ("rule1.action", "open_incident".to_owned()),
        ]
    };
    let saved = ops
        .post(
            &format!("{here}/alert-rules"),
            &as_refs(&rule("team=web", "record_only")),
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text);
    let rules = server
        .get(
            &format!("{PROJECT}/services/checkout/alert-rules"),
            &server.admin_token,
        )
        .await;
    assert_eq!(
        rules.body["rules"],
        json!([{"name": "web is noisy", "conditions": {"min_severity": null, "max_severity": null,
                "labels": {"team": "web"}, "source": null}, "action": "record_only"}]),
        "{}",
        rules.text
    );
    let sent = send(
        &server,
        &hook,
        &generic("noisy-1", "trigger", "web blip"),
        &[],
    )
    .await;
    assert!(sent.status.is_success(), "{:?}", sent.body);
    let incidents = server
        .get(&format!("{PROJECT}/incidents"), &server.admin_token)
        .await;
    assert_eq!(incidents.body["items"], json!([]), "{}", incidents.text);
    for (labels, action) in [("team", "record_only"), ("team=web", "drop")] {
        let refused = ops
            .post(
                &format!("{here}/alert-rules"),
                &as_refs(&rule(labels, action)),
            )
            .await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text);
    }

    // The viewer reads the rules and is shown no control; a forged change is refused.
    let viewer = Page::sign_in(&server, "vera@example.com", PASSWORD).await;
    let seen = viewer.get(here).await;
    assert!(
        seen.text.contains("web is noisy")
            && !seen.text.contains("Edit the alert rules")
            && !seen.text.contains("name=\"policy\""),
        "{}",
        seen.text
    );
    let mut forged = rule("", "open_incident");
    forged[0].1 = seen.csrf();
    let forged = viewer
        .post(&format!("{here}/alert-rules"), &as_refs(&forged))
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.text);
}

#[tokio::test]
async fn slos_are_read_created_edited_and_deleted_in_the_web_ui() {
    let server = TestServer::start().await;
    person(&server, "ops@example.com", "_project_admin").await;
    person(&server, "vera@example.com", "_viewer").await;
    service(&server, "checkout").await;
    let ops = Page::sign_in(&server, "ops@example.com", PASSWORD).await;
    let slos = "/o/default/p/default/slos";
    let empty = ops.get(slos).await;
    assert!(
        empty.text.contains("No SLOs in this project.")
            && empty.text.contains("New SLO")
            && empty.text.contains(&format!("href=\"{slos}\">SLOs</a>")),
        "{}",
        empty.text
    );
    let csrf = empty.csrf();
    let definition = |target: f64| {
        json!({
            "description": "Checkout answers",
            "service": "checkout",
            "target": target,
            "time_window": {"duration": "30d", "is_rolling": true},
            "budgeting_method": "occurrences"
        })
        .to_string()
    };
    let first = definition(0.999);
    let created = ops
        .post(
            slos,
            &[
                ("csrf", &csrf),
                ("identifier", "checkout-availability"),
                ("name", "Checkout availability"),
                ("definition", &first),
            ],
        )
        .await;
    let page = format!("{slos}/checkout-availability");
    assert_eq!(
        (created.status, created.location()),
        (StatusCode::SEE_OTHER, &*page),
        "{}",
        created.text
    );

    // An hour of minutes, the last ten at 20 % errors: the fast page window burns.
    let api = format!("{PROJECT}/slos/checkout-availability");
    let now = jiff::Timestamp::now();
    let minute = jiff::Timestamp::from_second(now.as_second() / 60 * 60).unwrap();
    let minutes: Vec<_> = (1..=60)
        .map(|back| {
            let bad = if back <= 10 { 200.0 } else { 0.0 };
            json!({"minute": (minute - jiff::SignedDuration::from_mins(back)).to_string(),
                   "good": 1000.0 - bad, "total": 1000.0})
        })
        .collect();
    let pushed = server
        .post(
            &format!("{api}/minutes"),
            &server.admin_token,
            json!({ "minutes": minutes }),
        )
        .await;
    assert_eq!(pushed.status, StatusCode::OK, "{}", pushed.text);
    let shown = ops.get(&page).await;
    for expected in [
        "Checkout answers",
        "99.9 % good events over a rolling 30d",
        "2000 of 60000, 60 allowed",
        "budget exhausted",
        "page (14.4× over 1 h)",
        "class=\"chart\"",
        "class=\"budget\"",
        "class=\"burn over\"",
        "Edit the definition",
        "Delete this SLO",
    ] {
        assert!(shown.text.contains(expected), "{expected}: {}", shown.text);
    }
    let listed = ops.get(slos).await;
    assert!(
        listed.text.contains("Checkout availability")
            && listed
                .text
                .contains(">burning</span> page (14.4× over 1 h)"),
        "{}",
        listed.text
    );

    // Edited on the version the form was drawn from; a stale or bad form changes nothing.
    let edit = format!("{page}/edit");
    let looser = definition(0.99);
    let saved = ops
        .post(
            &edit,
            &[
                ("csrf", &csrf),
                ("version", "1"),
                ("name", "Checkout availability"),
                ("definition", &looser),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text);
    let stored = server.get(&api, &server.admin_token).await;
    assert_eq!(
        (
            &stored.body["version"],
            &stored.body["definition"]["target"]
        ),
        (&json!(2), &json!(0.99)),
        "{}",
        stored.text
    );
    for (version, definition, status, code) in [
        (
            "1",
            first.as_str(),
            StatusCode::CONFLICT,
            "slo_version_stale",
        ),
        (
            "2",
            "{\"target\": ",
            StatusCode::BAD_REQUEST,
            "invalid_definition",
        ),
        (
            "2",
            &definition(2.0),
            StatusCode::BAD_REQUEST,
            "definition target",
        ),
        (
            "two",
            first.as_str(),
            StatusCode::BAD_REQUEST,
            "invalid_version",
        ),
    ] {
        let refused = ops
            .post(
                &edit,
                &[
                    ("csrf", &csrf),
                    ("version", version),
                    ("name", "Checkout availability"),
                    ("definition", definition),
                ],
            )
            .await;
        assert_eq!(
            refused.status, status,
            "{version} {definition}: {}",
            refused.text
        );
        assert!(refused.text.contains(code), "{code}: {}", refused.text);
    }
    let unchanged = server.get(&api, &server.admin_token).await;
    assert_eq!(unchanged.body["version"], 2, "{}", unchanged.text);

    // Exported as OpenSLO and imported again: the same SLO is unchanged, a renamed copy
    // is created.
    let exported = ops
        .get("/o/default/p/default/openslo?slo=checkout-availability")
        .await;
    assert_eq!(exported.status, StatusCode::OK, "{}", exported.text);
    assert!(
        exported.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/yaml")
            && exported.text.contains("kind: SLO"),
        "{}",
        exported.text
    );
    let copy = exported
        .text
        .replace("checkout-availability", "checkout-copy");
    let both = format!("{}\n---\n{copy}", exported.text.trim_end());
    let imported = ops
        .post(
            "/o/default/p/default/openslo",
            &[("csrf", &csrf), ("yaml", &both)],
        )
        .await;
    assert_eq!(imported.status, StatusCode::OK, "{}", imported.text);
    assert!(
        imported.text.contains("unchanged, version 2")
            && imported.text.contains("created, version 1"),
        "{}",
        imported.text
    );
    let bad_yaml = ops
        .post(
            "/o/default/p/default/openslo",
            &[("csrf", &csrf), ("yaml", "kind: [")],
        )
        .await;
    assert_eq!(
        bad_yaml.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        bad_yaml.text
    );

    // A viewer reads it and is shown no control; a forged delete is refused.
    let viewer = Page::sign_in(&server, "vera@example.com", PASSWORD).await;
    let seen = viewer.get(&page).await;
    assert!(
        seen.status == StatusCode::OK
            && seen.text.contains("Checkout availability")
            && !seen.text.contains("Edit the definition")
            && !seen.text.contains("Delete this SLO"),
        "{}",
        seen.text
    );
    assert!(!viewer.get(slos).await.text.contains("New SLO"));
    let vera_csrf = seen.csrf();
    let forged = viewer
        .post(&format!("{page}/delete"), &[("csrf", &vera_csrf)])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.text);
    assert_eq!(
        server.get(&api, &server.admin_token).await.status,
        StatusCode::OK
    );

    let deleted = ops
        .post(&format!("{page}/delete"), &[("csrf", &csrf)])
        .await;
    assert_eq!(
        (deleted.status, deleted.location()),
        (StatusCode::SEE_OTHER, slos),
        "{}",
        deleted.text
    );
    assert_eq!(
        server.get(&api, &server.admin_token).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(ops.get(&page).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn runbooks_are_created_run_approved_and_edited_in_the_web_ui() {
    let server = TestServer::start().await;
    person(&server, "ann@example.com", "_project_admin").await;
    person(&server, "bob@example.com", "_project_admin").await;
    person(&server, "vera@example.com", "_viewer").await;
    let opened = server
        .post(
            &format!("{PROJECT}/incidents"),
            &server.admin_token,
            json!({"title": "Disk full", "severity": "SEV3"}),
        )
        .await;
    assert_eq!(opened.status, StatusCode::CREATED, "{}", opened.text);
    let ann = Page::sign_in(&server, "ann@example.com", PASSWORD).await;
    let runbooks = "/o/default/p/default/runbooks";
    let empty = ann.get(runbooks).await;
    assert!(
        empty.text.contains("No runbooks in this project.")
            && empty.text.contains("New runbook")
            && empty
                .text
                .contains(&format!("href=\"{runbooks}\">Runbooks</a>")),
        "{}",
        empty.text
    );
    let csrf = empty.csrf();
    let definition = |note: &str| {
        json!({
            "description": "Frees the disk",
            "sensitive": true,
            "inputs": [
                {"name": "TIMES", "type": "integer", "default": 1},
                {"name": "MODE", "allowed": ["soft", "hard"], "default": "soft"},
                {"name": "REASON", "description": "Why"}
            ],
            "steps": [{"kind": "add_note", "name": "tell", "text": note}]
        })
        .to_string()
    };
    let first = definition("purged {{inputs.MODE}} x{{inputs.TIMES}}: {{inputs.REASON}}");
    let created = ann
        .post(
            runbooks,
            &[
                ("csrf", &csrf),
                ("identifier", "purge"),
                ("name", "Purge"),
                ("definition", &first),
            ],
        )
        .await;
    let page = format!("{runbooks}/purge");
    assert_eq!(
        (created.status, created.location()),
        (StatusCode::SEE_OTHER, &*page),
        "{}",
        created.text
    );
    let shown = ann.get(&page).await;
    for expected in [
        "Frees the disk",
        "each execution waits for a second person",
        "adds a note to the incident",
        "name=\"input.TIMES\" value=\"1\"",
        "<option value=\"soft\" selected>soft</option>",
        "REASON</code> — Why (required)",
        "Edit the definition",
        "name=\"definition\" rows=\"16\" required spellcheck=\"false\">\n{\n  &quot;description&quot;: &quot;Frees the disk&quot;,",
        "name=\"version\" value=\"1\"",
    ] {
        assert!(shown.text.contains(expected), "{expected}: {}", shown.text);
    }

    // Bad inputs are refused with the field named; nothing starts.
    let run = format!("{page}/run");
    for (fields, code) in [
        (vec![("input.TIMES", "three")], "invalid_inputs"),
        (vec![("input.NOPE", "1")], "invalid_inputs"),
        (vec![("other", "1")], "invalid_inputs"),
        (vec![("incident", "first")], "invalid_incident"),
        (vec![("input.MODE", "harder")], "invalid_inputs"),
    ] {
        let mut fields = fields;
        fields.push(("input.REASON", "full"));
        fields.push(("version", "1"));
        fields.push(("csrf", &csrf));
        let refused = ann.post(&run, &fields).await;
        assert_eq!(
            refused.status,
            StatusCode::BAD_REQUEST,
            "{fields:?}: {}",
            refused.text
        );
        assert!(refused.text.contains(code), "{code}: {}", refused.text);
    }
    let executions = format!("{PROJECT}/runbook-executions");
    let none = server.get(&executions, &server.admin_token).await;
    assert_eq!(none.body["items"], json!([]), "{}", none.text);

    // Started on incident 1, it waits: its starter is not offered the approval.
    let started = ann
        .post(
            &run,
            &[
                ("csrf", &csrf),
                ("version", "1"),
                ("input.TIMES", "3"),
                ("input.MODE", "hard"),
                ("input.REASON", "disk full"),
                ("incident", "1"),
            ],
        )
        .await;
    assert_eq!(started.status, StatusCode::SEE_OTHER, "{}", started.text);
    let execution = started.location().to_owned();
    assert!(
        execution.starts_with("/o/default/p/default/runbook-executions/"),
        "{execution}"
    );
    let waiting = ann.get(&execution).await;
    assert!(
        waiting.text.contains("status-awaiting_approval")
            && waiting.text.contains(">Cancel<")
            && !waiting.text.contains("Approve and run")
            && waiting.text.contains("/o/default/p/default/incidents/1"),
        "{}",
        waiting.text
    );
    let own = ann
        .post(&format!("{execution}/approve"), &[("csrf", &csrf)])
        .await;
    assert_eq!(own.status, StatusCode::FORBIDDEN, "{}", own.text);
    assert!(own.text.contains("second_person_required"), "{}", own.text);

    // A second person approves it; it runs.
    let bob = Page::sign_in(&server, "bob@example.com", PASSWORD).await;
    let seen = bob.get(&execution).await;
    assert!(seen.text.contains("Approve and run"), "{}", seen.text);
    let approved = bob
        .post(&format!("{execution}/approve"), &[("csrf", &seen.csrf())])
        .await;
    assert_eq!(
        (approved.status, approved.location()),
        (StatusCode::SEE_OTHER, &*execution),
        "{}",
        approved.text
    );
    let done = bob.get(&execution).await;
    assert!(
        done.text.contains("status-succeeded") && done.text.contains("Approved by"),
        "{}",
        done.text
    );
    let incident = server
        .get(&format!("{PROJECT}/incidents/1"), &server.admin_token)
        .await;
    assert!(
        incident.text.contains("purged hard x3: disk full"),
        "{}",
        incident.text
    );

    // Another one is canceled before anyone approves it.
    let again = ann
        .post(
            &run,
            &[
                ("csrf", &csrf),
                ("version", "1"),
                ("input.REASON", "again"),
                ("incident", "1"),
            ],
        )
        .await;
    assert_eq!(again.status, StatusCode::SEE_OTHER, "{}", again.text);
    let other = again.location().to_owned();
    let canceled = ann
        .post(&format!("{other}/cancel"), &[("csrf", &csrf)])
        .await;
    assert_eq!(canceled.status, StatusCode::SEE_OTHER, "{}", canceled.text);
    assert!(ann.get(&other).await.text.contains("status-canceled"));
    let listed = ann.get(runbooks).await;
    assert!(
        listed.text.contains("Latest executions") && listed.text.contains("status-canceled"),
        "{}",
        listed.text
    );

    // Edited on the version the form was drawn from; a stale form changes nothing.
    let edit = format!("{page}/edit");
    let second = definition("emptied {{inputs.MODE}}");
    let fields = [
        ("csrf", csrf.as_str()),
        ("version", "1"),
        ("name", "Purge"),
        ("definition", second.as_str()),
    ];
    let saved = ann.post(&edit, &fields).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text);
    // The same form again: it was drawn from version 1, and version 2 is there now.
    let refused = ann.post(&edit, &fields).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.text);
    assert!(
        refused.text.contains("runbook_version_stale"),
        "{}",
        refused.text
    );
    // A Run form drawn from version 1 does not run version 2's steps unseen.
    let unseen = ann
        .post(
            &run,
            &[
                ("csrf", &csrf),
                ("version", "1"),
                ("input.REASON", "late"),
                ("incident", "1"),
            ],
        )
        .await;
    assert_eq!(unseen.status, StatusCode::CONFLICT, "{}", unseen.text);
    assert!(
        unseen.text.contains("runbook_version_stale"),
        "{}",
        unseen.text
    );
    // A definition larger than other forms may be (64 KiB) is taken: here padded with
    // 100 000 spaces, which JSON ignores.
    let padded = format!("{}{}", " ".repeat(100_000), definition("padded"));
    let large = ann
        .post(
            &edit,
            &[
                ("csrf", csrf.as_str()),
                ("version", "2"),
                ("name", "Purge"),
                ("definition", padded.as_str()),
            ],
        )
        .await;
    assert_eq!(large.status, StatusCode::SEE_OTHER, "{}", large.text);
    let old = ann.get(&format!("{page}?version=1")).await;
    assert!(
        old.text.contains("This is version 1, not the current one")
            && !old.text.contains("Edit the definition")
            && !old.text.contains("h-run"),
        "{}",
        old.text
    );

    // A viewer reads it and is shown no control; a forged run is refused.
    let viewer = Page::sign_in(&server, "vera@example.com", PASSWORD).await;
    let seen = viewer.get(&page).await;
    assert!(
        seen.status == StatusCode::OK
            && seen.text.contains("padded")
            && !seen.text.contains("h-run")
            && !seen.text.contains("Edit the definition")
            && !seen.text.contains("Delete this runbook"),
        "{}",
        seen.text
    );
    let vera_csrf = seen.csrf();
    let forged = viewer
        .post(
            &run,
            &[
                ("csrf", &vera_csrf),
                ("version", "2"),
                ("input.REASON", "x"),
            ],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.text);

    let deleted = ann
        .post(&format!("{page}/delete"), &[("csrf", &csrf)])
        .await;
    assert_eq!(
        (deleted.status, deleted.location()),
        (StatusCode::SEE_OTHER, runbooks),
        "{}",
        deleted.text
    );
    assert_eq!(ann.get(&page).await.status, StatusCode::NOT_FOUND);
    // Its executions stay on record.
    assert_eq!(ann.get(&execution).await.status, StatusCode::OK);
}

#[tokio::test]
async fn delegates_are_created_checked_and_revoked_in_the_web_ui() {
    use crate::platform::delegates::agent;
    let server = TestServer::start().await;
    person(&server, "ops@example.com", "_project_admin").await;
    person(&server, "vera@example.com", "_viewer").await;
    let ops = Page::sign_in(&server, "ops@example.com", PASSWORD).await;
    let settings = ops.get("/o/default/p/default/settings").await;
    assert!(
        settings.text.contains("0 active of 0") && settings.text.contains("Manage delegates"),
        "{}",
        settings.text
    );
    let delegates = "/o/default/p/default/delegates";
    let empty = ops.get(delegates).await;
    assert!(
        empty.text.contains("No delegates in this project.") && empty.text.contains("New delegate"),
        "{}",
        empty.text
    );
    let csrf = empty.csrf();

    // Bad names and tags are refused with the field named; nothing is created.
    for (name, tags, code) in [
        ("Edge 1", "", "invalid_name"),
        ("edge-1", "no tag here", "invalid_tags"),
    ] {
        let refused = ops
            .post(
                delegates,
                &[("csrf", &csrf), ("name", name), ("tags", tags)],
            )
            .await;
        assert_eq!(
            refused.status,
            StatusCode::BAD_REQUEST,
            "{name}: {}",
            refused.text
        );
        assert!(refused.text.contains(code), "{code}: {}", refused.text);
    }

    // Created, its registration token shown once; the real agent registers with it.
    let created = ops
        .post(
            delegates,
            &[
                ("csrf", &csrf),
                ("name", "edge-1"),
                ("tags", "env=prod\r\nzone=eu"),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let token = code_after(&created.text, "Registration token");
    rampart_testkit::remember_secret(&token);
    assert!(
        created
            .text
            .contains("rampart delegate register --state delegate.json"),
        "{}",
        created.text
    );
    let taken = ops
        .post(
            delegates,
            &[("csrf", &csrf), ("name", "edge-1"), ("tags", "")],
        )
        .await;
    assert_eq!(taken.status, StatusCode::CONFLICT, "{}", taken.text);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("delegate.json");
    let registered = agent(&server, &["register", "--state", state.to_str().unwrap()])
        .env("RAMPART_DELEGATE_REGISTRATION_TOKEN", &token)
        .output()
        .await
        .unwrap();
    assert!(
        registered.status.success(),
        "{}",
        String::from_utf8_lossy(&registered.stderr)
    );
    let listed = ops.get(delegates).await;
    assert!(
        listed.text.contains("status-active") && listed.text.contains("env=prod, zone=eu"),
        "{}",
        listed.text
    );

    // A connectivity check from its page is answered by the running agent.
    let mut running = agent(
        &server,
        &[
            "run",
            "--state",
            state.to_str().unwrap(),
            "--max-tasks",
            "1",
        ],
    )
    .spawn()
    .unwrap();
    let page = format!("{delegates}/edge-1");
    let shown = ops.get(&page).await;
    assert!(shown.text.contains("Check connectivity"), "{}", shown.text);
    let pinged = ops
        .post(
            &format!("{page}/ping"),
            &[("csrf", &csrf), ("echo", "<b>mk7q</b>")],
        )
        .await;
    assert_eq!(pinged.status, StatusCode::SEE_OTHER, "{}", pinged.text);
    let task = pinged.location().to_owned();
    assert!(
        task.starts_with("/o/default/p/default/delegate-tasks/"),
        "{task}"
    );
    assert!(running.wait().await.unwrap().success());
    let answered = ops.get(&task).await;
    assert!(
        answered.text.contains("status-succeeded")
            && answered.text.contains("&lt;b&gt;mk7q&lt;/b&gt;")
            && !answered.text.contains("<b>mk7q"),
        "{}",
        answered.text
    );
    let tasks = "/o/default/p/default/delegate-tasks";
    let succeeded = ops.get(&format!("{tasks}?status=succeeded")).await;
    assert!(succeeded.text.contains(&task), "{}", succeeded.text);
    let queued = ops.get(&format!("{tasks}?status=queued")).await;
    assert!(queued.text.contains("No tasks match."), "{}", queued.text);
    let bogus = ops.get(&format!("{tasks}?status=bogus")).await;
    assert_eq!(bogus.status, StatusCode::BAD_REQUEST, "{}", bogus.text);

    // A viewer reads it and is shown no control; a forged revoke is refused.
    let viewer = Page::sign_in(&server, "vera@example.com", PASSWORD).await;
    let seen = viewer.get(&page).await;
    assert!(
        seen.status == StatusCode::OK
            && !seen.text.contains("Check connectivity")
            && !seen.text.contains("Revoke edge-1")
            && !seen.text.contains("Delete this delegate"),
        "{}",
        seen.text
    );
    let vera_csrf = seen.csrf();
    let forged = viewer
        .post(&format!("{page}/revoke"), &[("csrf", &vera_csrf)])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.text);

    // Revoked: the agent's next request is refused.
    let revoked = ops
        .post(&format!("{page}/revoke"), &[("csrf", &csrf)])
        .await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER, "{}", revoked.text);
    assert!(ops.get(&page).await.text.contains("status-revoked"));
    let refused = agent(
        &server,
        &[
            "run",
            "--state",
            state.to_str().unwrap(),
            "--max-tasks",
            "1",
        ],
    )
    .output()
    .await
    .unwrap();
    assert!(
        !refused.status.success()
            && String::from_utf8_lossy(&refused.stderr).contains("delegate_revoked"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );

    let deleted = ops
        .post(&format!("{page}/delete"), &[("csrf", &csrf)])
        .await;
    assert_eq!(
        (deleted.status, deleted.location()),
        (StatusCode::SEE_OTHER, delegates),
        "{}",
        deleted.text
    );
    assert_eq!(ops.get(&page).await.status, StatusCode::NOT_FOUND);
    // Its connectivity checks go with it.
    assert_eq!(ops.get(&task).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_service_is_edited_its_integration_removed_and_it_is_deleted_in_the_web_ui() {
    let server = TestServer::start().await;
    person(&server, "ops@example.com", "_project_admin").await;
    person(&server, "vera@example.com", "_viewer").await;
    service(&server, "checkout").await;
    let hook = integration(
        &server,
        "checkout",
        json!({"name": "Generic", "format": "generic", "auth_mode": "bearer"}),
    )
    .await;
    let ops = Page::sign_in(&server, "ops@example.com", PASSWORD).await;
    let page = "/o/default/p/default/services/checkout";
    let shown = ops.get(page).await;
    assert!(
        shown.text.contains("Edit the service")
            && shown.text.contains("Delete this service")
            && shown.text.contains(">Remove<"),
        "{}",
        shown.text
    );
    let csrf = shown.csrf();
    let api = format!("{PROJECT}/services/checkout");

    let saved = ops
        .post(
            &format!("{page}/edit"),
            &[
                ("csrf", &csrf),
                ("name", "Checkout API"),
                ("description", "Takes the <b>money</b>\r\nand more"),
                ("auto_resolve", "false"),
            ],
        )
        .await;
    assert_eq!(
        (saved.status, saved.location()),
        (StatusCode::SEE_OTHER, page),
        "{}",
        saved.text
    );
    let stored = server.get(&api, &server.admin_token).await;
    assert_eq!(
        (
            &stored.body["name"],
            &stored.body["description"],
            &stored.body["auto_resolve"]
        ),
        (
            &json!("Checkout API"),
            &json!("Takes the <b>money</b>\nand more"),
            &json!(false)
        ),
        "{}",
        stored.text
    );
    assert!(
        ops.get(page)
            .await
            .text
            .contains("Takes the &lt;b&gt;money&lt;/b&gt;")
    );
    for (name, auto_resolve, code) in [
        ("Checkout API", "maybe", "invalid_auto_resolve"),
        ("", "true", "invalid_name"),
    ] {
        let refused = ops
            .post(
                &format!("{page}/edit"),
                &[
                    ("csrf", &csrf),
                    ("name", name),
                    ("description", ""),
                    ("auto_resolve", auto_resolve),
                ],
            )
            .await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text);
        assert!(refused.text.contains(code), "{code}: {}", refused.text);
    }
    assert_eq!(
        server.get(&api, &server.admin_token).await.body["auto_resolve"],
        false
    );

    // The integration removed: its address stops accepting alerts.
    let integrations = server
        .get(&format!("{api}/integrations"), &server.admin_token)
        .await;
    let id = integrations.body["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = send(
        &server,
        &hook,
        json!({"summary": "before", "dedup_key": "k1"})
            .to_string()
            .as_bytes(),
        &[],
    )
    .await;
    assert_eq!(before.status, StatusCode::ACCEPTED, "{:?}", before.body);

    // A viewer is shown none of it; their forged removal is refused.
    let viewer = Page::sign_in(&server, "vera@example.com", PASSWORD).await;
    let seen = viewer.get(page).await;
    assert!(
        seen.status == StatusCode::OK
            && !seen.text.contains("Edit the service")
            && !seen.text.contains("Delete this service")
            && !seen.text.contains(">Remove<"),
        "{}",
        seen.text
    );
    let forged = viewer
        .post(
            &format!("{page}/integrations/{id}/remove"),
            &[("csrf", &seen.csrf())],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.text);

    let removed = ops
        .post(
            &format!("{page}/integrations/{id}/remove"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER, "{}", removed.text);
    let after = send(
        &server,
        &hook,
        json!({"summary": "after", "dedup_key": "k2"})
            .to_string()
            .as_bytes(),
        &[],
    )
    .await;
    assert_ne!(after.status, StatusCode::ACCEPTED, "{:?}", after.body);
    assert!(ops.get(page).await.text.contains("No integration yet"));

    let deleted = ops
        .post(&format!("{page}/delete"), &[("csrf", &csrf)])
        .await;
    assert_eq!(
        (deleted.status, deleted.location()),
        (StatusCode::SEE_OTHER, "/o/default/p/default/services"),
        "{}",
        deleted.text
    );
    assert_eq!(
        server.get(&api, &server.admin_token).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn runbook_and_delegate_forms_ask_to_sign_in_again_when_the_sign_in_is_old() {
    use std::sync::Arc;

    let clock = Arc::new(rampart_app::ManualClock::new(jiff::Timestamp::now()));
    let server = TestServer::start_with(rampart_testkit::Options {
        clock: Some(clock.clone()),
        ..rampart_testkit::Options::default()
    })
    .await;
    person(&server, "ops@example.com", "_project_admin").await;
    let created = server
        .post(
            &format!("{PROJECT}/runbooks"),
            &server.admin_token,
            json!({"identifier": "note", "name": "Note", "definition": {
                "steps": [{"kind": "add_note", "name": "n", "text": "x"}]}}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let opened = server
        .post(
            &format!("{PROJECT}/incidents"),
            &server.admin_token,
            json!({"title": "Disk full", "severity": "SEV3"}),
        )
        .await;
    assert_eq!(opened.status, StatusCode::CREATED, "{}", opened.text);
    let ops = Page::sign_in(&server, "ops@example.com", PASSWORD).await;
    let csrf = ops.get("/o/default/p/default/runbooks").await.csrf();
    let definition = json!({"steps": [{"kind": "add_note", "name": "n", "text": "y"}]}).to_string();

    // Eleven minutes after signing in, each of these sensitive forms asks again.
    clock.advance(jiff::SignedDuration::from_mins(11));
    for (path, fields) in [
        (
            "/o/default/p/default/runbooks/note/run",
            vec![("csrf", csrf.as_str()), ("version", "1"), ("incident", "1")],
        ),
        (
            "/o/default/p/default/runbooks",
            vec![
                ("csrf", csrf.as_str()),
                ("identifier", "other"),
                ("name", "Other"),
                ("definition", definition.as_str()),
            ],
        ),
        (
            "/o/default/p/default/delegates",
            vec![("csrf", csrf.as_str()), ("name", "edge-1"), ("tags", "")],
        ),
    ] {
        let asked = ops.post(path, &fields).await;
        assert_eq!(
            asked.status,
            StatusCode::SEE_OTHER,
            "{path}: {}",
            asked.text
        );
        assert!(
            asked.location().starts_with("/reauthenticate?next="),
            "{path}: {}",
            asked.location()
        );
    }
    // Nothing was started or created.
    let api = |path: &str| format!("{PROJECT}{path}");
    for path in ["/runbook-executions", "/delegates"] {
        let listed = server.get(&api(path), &server.admin_token).await;
        assert_eq!(listed.body["items"], json!([]), "{path}: {}", listed.text);
    }
    let runbooks = server.get(&api("/runbooks"), &server.admin_token).await;
    assert_eq!(
        runbooks.body["items"].as_array().unwrap().len(),
        1,
        "{}",
        runbooks.text
    );
}
