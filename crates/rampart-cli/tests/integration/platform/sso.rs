//! Single sign-on against a real OpenID Provider: npm `oidc-provider` (OpenID
//! Certified; installed by `scripts/install-test-deps.sh`, started on loopback over
//! HTTPS by [`OidcProvider::start`]). The browser is played by hand, as kanidm's OAuth2
//! tests do: every redirect followed explicitly with a cookie jar, the provider's login
//! and consent forms filled in, and the server's callback answered with its cookies.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rampart_testkit::{Engine, Options, Reply, StatusCode, TestServer, read};
use serde_json::{Value, json};
use tokio::io::AsyncBufReadExt;

/// The provider's process, its issuer and the PEM of its certificate.
pub struct OidcProvider {
    pub issuer: String,
    pub ca_pem: String,
    settings: PathBuf,
    _child: tokio::process::Child,
    _dir: tempfile::TempDir,
}

impl OidcProvider {
    /// Starts the provider with these clients (oidc-provider client metadata) and
    /// accounts (id → claims); `extra` adds settings (`pkce_methods`…).
    pub async fn start(clients: Value, accounts: Value, extra: Value) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let generated = rcgen::generate_simple_self_signed(vec![
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
        ])
        .unwrap();
        let cert = dir.path().join("idp.crt");
        let key = dir.path().join("idp.key");
        std::fs::write(&cert, generated.cert.pem()).unwrap();
        std::fs::write(&key, generated.signing_key.serialize_pem()).unwrap();
        let mut settings = json!({
            "cert": cert, "key": key, "host": "localhost",
            "clients": clients, "accounts": accounts,
        });
        for (name, value) in extra.as_object().unwrap() {
            settings[name] = value.clone();
        }
        let settings_file = dir.path().join("settings.json");
        std::fs::write(&settings_file, settings.to_string()).unwrap();
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let modules = root.join("target/test-deps/oidc-provider/node_modules");
        assert!(
            modules.join("oidc-provider").exists(),
            "{} is missing: run scripts/install-test-deps.sh",
            modules.display()
        );
        let mut command = tokio::process::Command::new("node");
        command
            .arg(root.join("scripts/oidc-provider/provider.mjs"))
            .arg(&modules)
            .arg(&settings_file);
        let (child, port) = spawn_listening(command, "listening ", "the OIDC provider").await;
        Self {
            issuer: format!("https://localhost:{port}"),
            ca_pem: generated.cert.pem(),
            settings: settings_file,
            _child: child,
            _dir: dir,
        }
    }

    /// Changes an account's claims (read afresh at its next login).
    pub fn set_account(&self, id: &str, claims: Value) {
        let mut settings: Value =
            serde_json::from_str(&std::fs::read_to_string(&self.settings).unwrap()).unwrap();
        settings["accounts"][id] = claims;
        std::fs::write(&self.settings, settings.to_string()).unwrap();
    }
}

/// Spawns an identity provider's process and waits (at most 60 s) for the stdout line
/// `<ready_prefix><port>`; returns the child (killed on drop) and the port. Stdout is
/// read on afterwards: a provider may log there, and a closed pipe would kill it.
pub async fn spawn_listening(
    mut command: tokio::process::Command,
    ready_prefix: &str,
    what: &str,
) -> (tokio::process::Child, String) {
    let mut child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|error| {
            panic!("{what} did not start ({error}): run scripts/install-test-deps.sh")
        });
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let port = tokio::time::timeout(std::time::Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(port) = line.strip_prefix(ready_prefix) {
                return port.trim().to_owned();
            }
        }
        panic!("{what} exited before it was ready");
    })
    .await
    .unwrap_or_else(|_| panic!("{what} was not ready within 60 s"));
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, port)
}

/// A browser: trusts the server's and the provider's certificates, follows no redirect
/// by itself, keeps cookies per host (all paths: the provider only reads them by name).
pub struct Browser {
    client: reqwest::Client,
    cookies: BTreeMap<String, BTreeMap<String, String>>,
}

impl Browser {
    pub fn new(server: &TestServer, provider: &OidcProvider) -> Self {
        Self::trusting(server, &provider.ca_pem)
    }

    /// A browser that trusts the server's certificate and `provider_pem`.
    pub fn trusting(server: &TestServer, provider_pem: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let bundle = dir.path().join("trust.pem");
        let server_pem = std::fs::read_to_string(&server.ca_cert).unwrap();
        std::fs::write(&bundle, format!("{server_pem}\n{provider_pem}")).unwrap();
        let tls = rampart_cli::client::tls_client_config(Some(&bundle)).unwrap();
        let client = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self {
            client,
            cookies: BTreeMap::new(),
        }
    }

    fn host(url: &str) -> String {
        reqwest::Url::parse(url).unwrap().authority().to_owned()
    }

    fn cookie_header(&self, url: &str) -> String {
        self.cookies
            .get(&Self::host(url))
            .map(|jar| {
                jar.iter()
                    .map(|(name, value)| format!("{name}={value}"))
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .unwrap_or_default()
    }

    fn keep_cookies(&mut self, url: &str, reply: &Reply) {
        let jar = self.cookies.entry(Self::host(url)).or_default();
        for header in reply.headers.get_all("set-cookie") {
            let text = header.to_str().unwrap();
            let (pair, attributes) = text.split_once(';').unwrap_or((text, ""));
            let (name, value) = pair.split_once('=').unwrap();
            let expired = attributes.to_ascii_lowercase().contains("max-age=0")
                || attributes.contains("1970");
            if value.is_empty() || expired {
                jar.remove(name.trim());
            } else {
                jar.insert(name.trim().to_owned(), value.to_owned());
            }
        }
    }

    /// A state-changing JSON request to the server, as the page's script sends it: the
    /// CSRF token read from its cookie into `X-CSRF-Token`.
    pub async fn post_json(&mut self, server: &TestServer, path: &str, body: Value) -> Reply {
        let url = format!("{}{path}", server.url);
        let csrf = self.cookie(&url, "__Host-rampart_csrf").unwrap_or_default();
        let response = self
            .client
            .post(&url)
            .header("cookie", self.cookie_header(&url))
            .header("x-csrf-token", csrf)
            .json(&body)
            .send()
            .await
            .unwrap();
        let reply = read(response).await;
        self.keep_cookies(&url, &reply);
        reply
    }

    pub fn cookie(&self, url: &str, name: &str) -> Option<String> {
        self.cookies.get(&Self::host(url))?.get(name).cloned()
    }

    pub async fn get(&mut self, url: &str) -> Reply {
        let response = self
            .client
            .get(url)
            .header("cookie", self.cookie_header(url))
            .send()
            .await
            .unwrap();
        let reply = read(response).await;
        self.keep_cookies(url, &reply);
        reply
    }

    pub async fn post_form(&mut self, url: &str, form: &[(&str, &str)]) -> Reply {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let response = self
            .client
            .post(url)
            .header("cookie", self.cookie_header(url))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        let reply = read(response).await;
        self.keep_cookies(url, &reply);
        reply
    }

    /// Follows the provider's redirects from `url`, signing in as `account` at its login
    /// form and consenting, until it sends the browser back to `server`: returns that
    /// callback URL (not yet visited).
    pub async fn through_provider(&mut self, url: &str, account: &str, server: &str) -> String {
        let mut url = url.to_owned();
        for _ in 0..20 {
            if url.starts_with(server) {
                return url;
            }
            let reply = self.get(&url).await;
            if reply.status == StatusCode::OK && url.contains("/interaction/") {
                let prompt = if reply.text.contains("name=\"prompt\" value=\"login\"") {
                    vec![("prompt", "login"), ("login", account), ("password", "any")]
                } else {
                    assert!(
                        reply.text.contains("name=\"prompt\" value=\"consent\""),
                        "an interaction page this test does not know: {}",
                        reply.text
                    );
                    vec![("prompt", "consent")]
                };
                let posted = self.post_form(&url, &prompt).await;
                assert_eq!(posted.status, StatusCode::SEE_OTHER, "{}", posted.text);
                url = location(&posted, &url);
                continue;
            }
            // A page that submits itself (the provider ending its session for another
            // account, when a different person signs in): do what its script does.
            if reply.status == StatusCode::OK && reply.text.contains("document.forms[0].submit()") {
                let action = between(&reply.text, "action=\"", "\"");
                let fields: Vec<(String, String)> = reply
                    .text
                    .split("<input type=\"hidden\" ")
                    .skip(1)
                    .map(|input| {
                        (
                            between(input, "name=\"", "\""),
                            between(input, "value=\"", "\""),
                        )
                    })
                    .collect();
                let form: Vec<(&str, &str)> = fields
                    .iter()
                    .map(|(name, value)| (name.as_str(), value.as_str()))
                    .collect();
                let posted = self.post_form(&action, &form).await;
                assert!(posted.status.is_redirection(), "{}", posted.text);
                url = location(&posted, &action);
                continue;
            }
            assert!(
                reply.status.is_redirection(),
                "the provider answered {} at {url}: {}",
                reply.status,
                reply.text
            );
            url = location(&reply, &url);
        }
        panic!("the provider never sent the browser back");
    }
}

/// The text of `text` between the first `start` and the next `end`.
pub fn between(text: &str, start: &str, end: &str) -> String {
    let from = text.split_once(start).unwrap().1;
    from.split_once(end).unwrap().0.to_owned()
}

/// The redirect target of `reply`, made absolute against `base`.
pub fn location(reply: &Reply, base: &str) -> String {
    let target = reply.headers["location"].to_str().unwrap();
    reqwest::Url::parse(base)
        .unwrap()
        .join(target)
        .unwrap()
        .to_string()
}

/// The query parameter `name` of `url`.
pub fn param(url: &str, name: &str) -> Option<String> {
    reqwest::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

/// `url` with the query parameter `name` replaced (or removed when `value` is None).
fn with_param(url: &str, name: &str, value: Option<&str>) -> String {
    let mut parsed = reqwest::Url::parse(url).unwrap();
    let pairs: Vec<(String, String)> = parsed
        .query_pairs()
        .filter(|(key, _)| key != name)
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect();
    {
        let mut query = parsed.query_pairs_mut();
        query.clear();
        for (key, value) in &pairs {
            query.append_pair(key, value);
        }
        if let Some(value) = value {
            query.append_pair(name, value);
        }
    }
    parsed.to_string()
}

const CLIENT_SECRET: &str = "a-long-client-secret-for-the-sso-test";

/// The OIDC client registration of `client_id` at the provider for `server`.
fn client(server: &TestServer, client_id: &str, provider: &str, extra: Value) -> Value {
    let mut client = json!({
        "client_id": client_id,
        "client_secret": CLIENT_SECRET,
        "redirect_uris": [format!("{}/api/v1/auth/sso/{provider}/callback", server.url)],
        "grant_types": ["authorization_code"],
        "response_types": ["code"],
    });
    for (name, value) in extra.as_object().unwrap() {
        client[name] = value.clone();
    }
    client
}

/// Creates organisation `acme` with the client secret and a group `sre` that holds the
/// Viewer role in `acme`; returns nothing (names are fixed).
pub async fn prepare_account(server: &TestServer) {
    let token = &server.admin_token;
    let created = server
        .post(
            "/api/v1/orgs",
            token,
            json!({"identifier": "acme", "name": "Acme"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    rampart_testkit::remember_secret(CLIENT_SECRET);
    let secret = server
        .post(
            "/api/v1/orgs/acme/secrets",
            token,
            json!({"identifier": "oidc-client", "name": "OIDC client secret", "value": CLIENT_SECRET}),
        )
        .await;
    assert_eq!(secret.status, StatusCode::CREATED, "{}", secret.text);
    let group = server
        .post(
            "/api/v1/orgs/acme/groups",
            token,
            json!({"identifier": "sre", "name": "SRE"}),
        )
        .await;
    assert_eq!(group.status, StatusCode::CREATED, "{}", group.text);
    let group_id = group.body["id"].as_str().unwrap();
    let assigned = server
        .post(
            "/api/v1/orgs/acme/role-assignments",
            token,
            json!({"principal": format!("group:{group_id}"), "role": "_viewer"}),
        )
        .await;
    assert_eq!(assigned.status, StatusCode::CREATED, "{}", assigned.text);
}

/// Configures provider `name` for `client_id` at `provider`.
async fn add_provider(
    server: &TestServer,
    provider: &OidcProvider,
    name: &str,
    client_id: &str,
    extra: Value,
) -> Reply {
    let mut oidc = json!({
        "issuer": provider.issuer,
        "client_id": client_id,
        "client_secret": "acme/oidc-client",
        "scopes": ["openid", "email", "profile", "groups"],
        "groups_claim": "groups",
        "group_mappings": [{"claim_value": "sre", "group": "acme/sre"}],
        "create_users": true,
        "ca_certificates_pem": provider.ca_pem,
    });
    for (key, value) in extra.as_object().unwrap() {
        oidc[key] = value.clone();
    }
    server
        .post(
            "/api/v1/sso/providers",
            &server.admin_token,
            json!({"name": name, "display_name": format!("Sign in with {name}"), "oidc": oidc}),
        )
        .await
}

/// Signs in through `provider_name` as `account`, starting at `redirect_to`: returns
/// the callback's reply and the callback URL.
async fn sign_in(
    browser: &mut Browser,
    server: &TestServer,
    provider_name: &str,
    account: &str,
) -> (Reply, String) {
    let start = browser
        .get(&format!(
            "{}/api/v1/auth/sso/{provider_name}/start?redirect_to=/incidents%3Fstatus%3Dopen",
            server.url
        ))
        .await;
    assert_eq!(start.status, StatusCode::SEE_OTHER, "{}", start.text);
    let authorize = location(&start, &server.url);
    assert_eq!(
        param(&authorize, "code_challenge_method").as_deref(),
        Some("S256")
    );
    let callback = browser
        .through_provider(&authorize, account, &server.url)
        .await;
    (browser.get(&callback).await, callback)
}

/// Starts a login through `corp` and follows the provider as `account` up to the
/// callback URL, which is returned unvisited (for a test to tamper with).
async fn callback_url(browser: &mut Browser, server: &TestServer, account: &str) -> String {
    let start = browser
        .get(&format!("{}/api/v1/auth/sso/corp/start", server.url))
        .await;
    assert_eq!(start.status, StatusCode::SEE_OTHER, "{}", start.text);
    browser
        .through_provider(&location(&start, &server.url), account, &server.url)
        .await
}

/// `/api/v1/me` with the session cookie the browser holds.
pub async fn me(browser: &mut Browser, server: &TestServer) -> Reply {
    browser.get(&format!("{}/api/v1/me", server.url)).await
}

pub async fn group_members(server: &TestServer) -> Vec<String> {
    let groups = server
        .get("/api/v1/orgs/acme/groups", &server.admin_token)
        .await;
    let id = groups.body["items"][0]["id"].as_str().unwrap().to_owned();
    let members = server
        .get(
            &format!("/api/v1/orgs/acme/groups/{id}/members"),
            &server.admin_token,
        )
        .await;
    assert_eq!(members.status, StatusCode::OK, "{}", members.text);
    members.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|member| member["user"].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn sso_signs_in_users(engine: Option<Engine>) {
    let server = TestServer::start_with(Options {
        engine,
        ..Options::default()
    })
    .await;
    prepare_account(&server).await;
    let existing = server
        .create_user("bob@example.com", "a long password 12345")
        .await;
    let provider = OidcProvider::start(
        json!([client(&server, "rampart", "corp", json!({}))]),
        json!({
            "ana": {"email": "ana@example.com", "email_verified": true, "name": "Ana Lima", "groups": ["sre", "other"]},
            "bob": {"email": "bob@example.com", "email_verified": true, "name": "Bob"},
            "eve": {"email": "eve@example.com", "email_verified": false, "name": "Eve"},
            "bob-again": {"email": "bob@example.com", "email_verified": true, "name": "Not Bob"},
        }),
        json!({}),
    )
    .await;
    let added = add_provider(&server, &provider, "corp", "rampart", json!({})).await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.text);
    assert_eq!(
        added.body["redirect_uri"],
        format!("{}/api/v1/auth/sso/corp/callback", server.url)
    );
    assert!(
        !added.text.contains(CLIENT_SECRET),
        "the client secret is never returned"
    );
    let options = server
        .request(reqwest::Method::GET, "/api/v1/auth/sso", None, None)
        .await;
    assert_eq!(options.body["items"][0]["name"], "corp", "{}", options.text);

    // Just-in-time creation, with the mapped group joined.
    let mut browser = Browser::new(&server, &provider);
    let (finished, callback) = sign_in(&mut browser, &server, "corp", "ana").await;
    assert_eq!(finished.status, StatusCode::SEE_OTHER, "{}", finished.text);
    assert_eq!(
        finished.headers["location"], "/incidents?status=open",
        "back where the login started"
    );
    assert!(
        param(&callback, "iss").is_some(),
        "the provider sends RFC 9207 iss"
    );
    assert!(browser.cookie(&server.url, "__Host-rampart_sso").is_none());
    let csrf = browser
        .cookie(&server.url, "__Host-rampart_csrf")
        .expect("a CSRF cookie for the page's script");
    let who = me(&mut browser, &server).await;
    assert_eq!(who.status, StatusCode::OK, "{}", who.text);
    assert_eq!(who.body["user"]["email"], "ana@example.com");
    // This provider does not say when the person authenticated (no auth_time): the
    // sign-in may be one it remembered from long ago, so sensitive actions ask for a
    // re-authentication first.
    let sensitive = browser
        .post_json(
            &server,
            "/api/v1/tokens",
            json!({"name": "laptop", "expires_in_days": 1}),
        )
        .await;
    assert_eq!(
        sensitive.code(),
        "reauthentication_required",
        "{}",
        sensitive.text
    );
    assert_eq!(who.body["user"]["display_name"], "Ana Lima");
    assert_eq!(who.body["session_method"], "oidc:corp");
    let ana_id = who.body["user"]["id"].as_str().unwrap().to_owned();
    assert_eq!(group_members(&server).await, vec![ana_id.clone()]);
    // The mapped group's rights hold: Viewer in acme.
    let org = browser
        .get(&format!("{}/api/v1/orgs/acme", server.url))
        .await;
    assert_eq!(org.status, StatusCode::OK, "{}", org.text);
    // A state-changing request with the session needs the CSRF token from the cookie.
    let logout = read(
        browser
            .client
            .post(format!("{}/api/v1/auth/logout", server.url))
            .header("cookie", browser.cookie_header(&server.url))
            .header("x-csrf-token", csrf)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(logout.status, StatusCode::OK, "{}", logout.text);
    browser.keep_cookies(&server.url, &logout);
    assert!(me(&mut browser, &server).await.status == StatusCode::UNAUTHORIZED);
    // The answer says where to end the session at the provider too (RP-initiated
    // logout); the provider asks the person to confirm, then forgets them: the next
    // sign-in asks for a login again.
    let end = logout.body["provider_logout_url"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(end.starts_with(&provider.issuer), "{end}");
    assert_eq!(param(&end, "client_id").as_deref(), Some("rampart"));
    let confirm = browser.get(&end).await;
    assert_eq!(confirm.status, StatusCode::OK, "{}", confirm.text);
    let action = between(&confirm.text, "action=\"", "\"");
    let xsrf = between(&confirm.text, "name=\"xsrf\" value=\"", "\"");
    let ended = browser
        .post_form(&action, &[("xsrf", xsrf.as_str()), ("logout", "yes")])
        .await;
    assert!(ended.status.is_redirection(), "{}", ended.text);
    let start = browser
        .get(&format!("{}/api/v1/auth/sso/corp/start", server.url))
        .await;
    let mut url = location(&start, &server.url);
    let mut page = browser.get(&url).await;
    while page.status.is_redirection() && !url.starts_with(&server.url) {
        url = location(&page, &url);
        page = browser.get(&url).await;
    }
    assert!(
        page.text.contains("name=\"prompt\" value=\"login\""),
        "the provider asks for a login again: {}",
        page.text
    );

    // Replaying the callback (the same code and state) is refused: the state was taken.
    let replayed = browser.get(&callback).await;
    assert_eq!(
        replayed.status,
        StatusCode::BAD_REQUEST,
        "{}",
        replayed.text
    );
    assert_eq!(replayed.code(), "sso_state_invalid");

    // The second login is the same user; leaving the group at the provider leaves it here.
    // (The provider leaves the claim out altogether, as many do for no groups.)
    provider.set_account(
        "ana",
        json!({"email": "ana@example.com", "email_verified": true, "name": "Ana Lima"}),
    );
    let mut again = Browser::new(&server, &provider);
    let (finished, _) = sign_in(&mut again, &server, "corp", "ana").await;
    assert_eq!(finished.status, StatusCode::SEE_OTHER, "{}", finished.text);
    let who = me(&mut again, &server).await;
    assert_eq!(who.body["user"]["id"], ana_id.as_str());
    assert!(group_members(&server).await.is_empty());

    // An existing user with the same verified email is linked, not duplicated.
    let mut bob = Browser::new(&server, &provider);
    let (finished, _) = sign_in(&mut bob, &server, "corp", "bob").await;
    assert_eq!(finished.status, StatusCode::SEE_OTHER, "{}", finished.text);
    assert_eq!(
        me(&mut bob, &server).await.body["user"]["id"],
        existing.as_str()
    );

    // A second subject with bob's email does not take over his linked user.
    let mut impostor = Browser::new(&server, &provider);
    let (refused, _) = sign_in(&mut impostor, &server, "corp", "bob-again").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    assert_eq!(refused.code(), "sso_user_unknown");

    // An unverified email is never matched or used to create a user.
    let mut eve = Browser::new(&server, &provider);
    let (refused, _) = sign_in(&mut eve, &server, "corp", "eve").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    assert_eq!(refused.code(), "sso_user_unknown");
    assert!(eve.cookie(&server.url, "__Host-rampart_session").is_none());

    // Without user creation, an unknown email is refused.
    let changed = server
        .patch(
            "/api/v1/sso/providers/corp",
            &server.admin_token,
            json!({"oidc": {
                "issuer": provider.issuer, "client_id": "rampart",
                "client_secret": "acme/oidc-client", "ca_certificates_pem": provider.ca_pem,
            }}),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);
    provider.set_account(
        "ana",
        json!({"email": "ana.new@example.com", "email_verified": true, "groups": []}),
    );
    let mut carol_like = Browser::new(&server, &provider);
    provider.set_account(
        "carol",
        json!({"email": "carol@example.com", "email_verified": true}),
    );
    let (refused, _) = sign_in(&mut carol_like, &server, "corp", "carol").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    assert_eq!(refused.code(), "sso_user_unknown");
    // …while a linked subject signs in whatever its email has become.
    let mut linked = Browser::new(&server, &provider);
    let (finished, _) = sign_in(&mut linked, &server, "corp", "ana").await;
    assert_eq!(finished.status, StatusCode::SEE_OTHER, "{}", finished.text);
    assert_eq!(
        me(&mut linked, &server).await.body["user"]["id"],
        ana_id.as_str()
    );

    // Every login and refusal is in the audit log.
    let audit = |action: &'static str| {
        let server = &server;
        async move {
            let reply = server
                .get(
                    &format!("/api/v1/audit-events?action={action}&limit=500"),
                    &server.admin_token,
                )
                .await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
            reply.body["items"].as_array().unwrap().clone()
        }
    };
    let logins = audit("auth.login")
        .await
        .iter()
        .filter(|event| event["details"]["method"] == "oidc:corp")
        .count();
    assert_eq!(logins, 4, "ana twice, bob, ana again");
    let failures: Vec<String> = audit("auth.failure")
        .await
        .iter()
        .filter_map(|event| event["details"]["reason"].as_str().map(str::to_owned))
        .collect();
    for reason in ["sso_state_invalid", "sso_user_unknown"] {
        assert!(
            failures.iter().any(|seen| seen == reason),
            "{reason} audited: {failures:?}"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn sso_signs_in_users_on_sqlite() {
    sso_signs_in_users(None).await;
}

#[tokio::test]
async fn sso_signs_in_users_on_postgres() {
    if rampart_testkit::postgres_server_url().is_some() {
        sso_signs_in_users(Some(Engine::Postgres)).await;
    }
}

/// Forged, replayed and tampered callbacks, and providers that would weaken the flow,
/// are refused — each with its code, none with a session.
#[tokio::test]
async fn sso_refuses_forged_callbacks_and_weak_providers() {
    let server = TestServer::start().await;
    prepare_account(&server).await;
    let provider = OidcProvider::start(
        json!([
            client(&server, "rampart", "corp", json!({})),
            client(
                &server,
                "rampart-hs",
                "corp-hs",
                json!({"id_token_signed_response_alg": "HS256"})
            ),
            client(
                &server,
                "rampart-ec",
                "corp-ec",
                json!({"id_token_signed_response_alg": "ES256"})
            ),
        ]),
        json!({"ana": {"email": "ana@example.com", "email_verified": true, "groups": ["sre"]}}),
        json!({}),
    )
    .await;
    for (name, client_id) in [
        ("corp", "rampart"),
        ("corp-hs", "rampart-hs"),
        ("corp-ec", "rampart-ec"),
    ] {
        let added = add_provider(&server, &provider, name, client_id, json!({})).await;
        assert_eq!(added.status, StatusCode::CREATED, "{}", added.text);
    }
    let session_of = |browser: &Browser| browser.cookie(&server.url, "__Host-rampart_session");

    // ES256-signed ID tokens verify too.
    let mut browser = Browser::new(&server, &provider);
    let (finished, _) = sign_in(&mut browser, &server, "corp-ec", "ana").await;
    assert_eq!(finished.status, StatusCode::SEE_OTHER, "{}", finished.text);

    // HS256 (an HMAC keyed with the client secret) is not an algorithm a provider may use.
    let mut browser = Browser::new(&server, &provider);
    let (refused, _) = sign_in(&mut browser, &server, "corp-hs", "ana").await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{}", refused.text);
    assert_eq!(refused.code(), "sso_login_failed");
    assert!(refused.text.contains("HS256"), "{}", refused.text);
    assert!(session_of(&browser).is_none());

    // A callback from another browser (no binder cookie) is refused, and its state is
    // spent: the real browser cannot finish with it either.
    let mut browser = Browser::new(&server, &provider);
    let callback = callback_url(&mut browser, &server, "ana").await;
    // The stranger holds a binder of its own (it started a login too): not this one's.
    let mut stranger = Browser::new(&server, &provider);
    let own = stranger
        .get(&format!("{}/api/v1/auth/sso/corp/start", server.url))
        .await;
    assert_eq!(own.status, StatusCode::SEE_OTHER);
    let refused = stranger.get(&callback).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text);
    assert_eq!(refused.code(), "sso_state_invalid");
    let spent = browser.get(&callback).await;
    assert_eq!(spent.code(), "sso_state_invalid", "{}", spent.text);

    // Two callbacks at once with the same state: exactly one signs in.
    let mut browser = Browser::new(&server, &provider);
    let callback = callback_url(&mut browser, &server, "ana").await;
    let cookies = browser.cookie_header(&server.url);
    let send = || {
        browser
            .client
            .get(&callback)
            .header("cookie", &cookies)
            .send()
    };
    let (first, second) = tokio::join!(send(), send());
    let mut statuses = [first.unwrap().status(), second.unwrap().status()];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::SEE_OTHER, StatusCode::BAD_REQUEST]);

    // A forged state, a missing one.
    for forged in [
        with_param(&callback, "state", Some("forged-state-value")),
        with_param(&callback, "state", None),
    ] {
        let refused = browser.get(&forged).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text);
        assert_eq!(refused.code(), "sso_state_invalid");
    }

    // Mix-up: the authorization response names another issuer (RFC 9207), or drops the
    // iss parameter this provider always sends.
    for iss in [Some("https://evil.example"), None] {
        let mut browser = Browser::new(&server, &provider);
        let callback = callback_url(&mut browser, &server, "ana").await;
        let refused = browser.get(&with_param(&callback, "iss", iss)).await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{}", refused.text);
        assert_eq!(refused.code(), "sso_login_failed");
        assert!(refused.text.contains("iss"), "{}", refused.text);
        assert!(session_of(&browser).is_none());
    }

    // A code exchanged without this login's PKCE verifier is refused by the provider:
    // a code stolen from one login and replayed into another login's callback.
    let mut victim = Browser::new(&server, &provider);
    let stolen = callback_url(&mut victim, &server, "ana").await;
    let mut attacker = Browser::new(&server, &provider);
    let start = attacker
        .get(&format!("{}/api/v1/auth/sso/corp/start", server.url))
        .await;
    let own_state = param(&location(&start, &server.url), "state").unwrap();
    let injected = with_param(&stolen, "state", Some(&own_state));
    let refused = attacker.get(&injected).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{}", refused.text);
    assert_eq!(refused.code(), "sso_login_failed");
    // Refused at the code exchange (the verifier is the attacker's login's), before any
    // ID token is looked at.
    assert!(refused.text.contains("invalid_grant"), "{}", refused.text);
    assert!(session_of(&attacker).is_none());

    // The provider's refusal reaches the user with its error.
    let mut browser = Browser::new(&server, &provider);
    let start = browser
        .get(&format!("{}/api/v1/auth/sso/corp/start", server.url))
        .await;
    let state = param(&location(&start, &server.url), "state").unwrap();
    let denied = browser
        .get(&format!(
            "{}/api/v1/auth/sso/corp/callback?error=access_denied&error_description=no&state={state}",
            server.url
        ))
        .await;
    assert_eq!(denied.status, StatusCode::UNAUTHORIZED, "{}", denied.text);
    assert!(denied.text.contains("access_denied"), "{}", denied.text);

    // Redirects after login stay on this server.
    for target in [
        "//evil.example/",
        "https://evil.example/",
        "/\\evil.example",
    ] {
        let url = with_param(
            &format!("{}/api/v1/auth/sso/corp/start", server.url),
            "redirect_to",
            Some(target),
        );
        let refused = browser.get(&url).await;
        assert_eq!(
            refused.status,
            StatusCode::BAD_REQUEST,
            "{target}: {}",
            refused.text
        );
    }

    // A disabled provider and an unknown one start nothing.
    let disabled = server
        .patch(
            "/api/v1/sso/providers/corp-hs",
            &server.admin_token,
            json!({"enabled": false}),
        )
        .await;
    assert_eq!(disabled.status, StatusCode::OK, "{}", disabled.text);
    for name in ["corp-hs", "nobody", "Not%20A%20Slug"] {
        let missing = browser
            .get(&format!("{}/api/v1/auth/sso/{name}/start", server.url))
            .await;
        assert_eq!(
            missing.status,
            StatusCode::NOT_FOUND,
            "{name}: {}",
            missing.text
        );
    }

    // PKCE downgrade: a provider that does not offer S256 is refused before any redirect.
    let plain_only = OidcProvider::start(
        json!([client(&server, "rampart", "plain", json!({}))]),
        json!({}),
        json!({"pkce_methods": ["plain"]}),
    )
    .await;
    let added = add_provider(&server, &plain_only, "plain", "rampart", json!({})).await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.text);
    let refused = browser
        .get(&format!("{}/api/v1/auth/sso/plain/start", server.url))
        .await;
    assert_eq!(refused.status, StatusCode::BAD_GATEWAY, "{}", refused.text);
    assert_eq!(refused.code(), "sso_provider_error");
    assert!(refused.text.contains("S256"), "{}", refused.text);

    // A provider whose certificate is not trusted is not talked to.
    let untrusted = add_provider(
        &server,
        &provider,
        "untrusted",
        "rampart",
        json!({"ca_certificates_pem": plain_only.ca_pem}),
    )
    .await;
    assert_eq!(untrusted.status, StatusCode::CREATED, "{}", untrusted.text);
    let refused = browser
        .get(&format!("{}/api/v1/auth/sso/untrusted/start", server.url))
        .await;
    assert_eq!(refused.status, StatusCode::BAD_GATEWAY, "{}", refused.text);
    server.stop().await;
}

/// Configuration refusals: each names its field; only account admins configure.
#[tokio::test]
async fn sso_provider_configuration_is_checked() {
    let server = TestServer::start().await;
    prepare_account(&server).await;
    let issuer = "https://idp.example.com";
    let base =
        json!({"issuer": issuer, "client_id": "rampart", "client_secret": "acme/oidc-client"});
    let cases = [
        (
            json!({"issuer": "http://idp.example.com"}),
            "invalid_issuer",
        ),
        (json!({"algorithms": ["none"]}), "invalid_algorithms"),
        (json!({"algorithms": ["HS256"]}), "invalid_algorithms"),
        (json!({"scopes": ["email"]}), "invalid_scopes"),
        (json!({"client_secret": "acme/missing"}), "invalid_value"),
        (json!({"client_secret": "nope/oidc-client"}), "not_found"),
        (
            json!({"groups_claim": "groups", "group_mappings": [{"claim_value": "x", "group": "acme/nope"}]}),
            "invalid_value",
        ),
        (json!({"client_id": "a\u{0}b"}), "nul_character"),
        (json!({"skip_checks": true}), "invalid_body"),
    ];
    for (change, code) in cases {
        let mut oidc = base.clone();
        for (key, value) in change.as_object().unwrap() {
            oidc[key] = value.clone();
        }
        let refused = server
            .post(
                "/api/v1/sso/providers",
                &server.admin_token,
                json!({"name": "corp", "display_name": "Corp", "oidc": oidc}),
            )
            .await;
        assert!(
            refused.status.is_client_error(),
            "{change}: {}",
            refused.text
        );
        assert_eq!(refused.code(), code, "{change}: {}", refused.text);
    }
    let created = server
        .post(
            "/api/v1/sso/providers",
            &server.admin_token,
            json!({"name": "corp", "display_name": "Corp", "oidc": base}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let again = server
        .post(
            "/api/v1/sso/providers",
            &server.admin_token,
            json!({"name": "corp", "display_name": "Corp", "oidc": base}),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.text);

    // A user without account:manage sees nothing and changes nothing.
    server
        .create_user("viewer@example.com", "a long password 12345")
        .await;
    let session = super::auth::login(&server, "viewer@example.com", "a long password 12345").await;
    let listed = session.get(&server, "/api/v1/sso/providers").await;
    assert_eq!(listed.status, StatusCode::FORBIDDEN, "{}", listed.text);
    let deleted = server
        .delete("/api/v1/sso/providers/corp", &server.admin_token)
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text);
    let gone = server
        .get("/api/v1/sso/providers/corp", &server.admin_token)
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    server.stop().await;
}

/// "Sign in through SSO" policies: the account's refuses password logins, an
/// organisation's refuses password sessions inside it; break-glass users pass, loudly.
async fn sso_policies_refuse_passwords(engine: Option<Engine>) {
    let server = TestServer::start_with(Options {
        engine,
        ..Options::default()
    })
    .await;
    prepare_account(&server).await;
    let password = "a long password 12345";
    let carol = server.create_user("carol@example.com", password).await;
    server.create_user("dave@example.com", password).await;
    let granted = server
        .post(
            "/api/v1/orgs/acme/role-assignments",
            &server.admin_token,
            json!({"principal": format!("user:{carol}"), "role": "_viewer"}),
        )
        .await;
    assert_eq!(granted.status, StatusCode::CREATED, "{}", granted.text);
    let admin = &server.admin_token;
    // No provider yet: SSO cannot be required.
    let refused = server
        .request(
            reqwest::Method::PUT,
            "/api/v1/sso/policy",
            Some(admin),
            Some(&json!({"required": true})),
        )
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.text);
    assert_eq!(refused.code(), "no_sso_provider");
    let provider = OidcProvider::start(
        json!([client(&server, "rampart", "corp", json!({}))]),
        json!({"carol": {"email": "carol@example.com", "email_verified": true}}),
        json!({}),
    )
    .await;
    let added = add_provider(&server, &provider, "corp", "rampart", json!({})).await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.text);

    // The organisation requires SSO: carol's password session is refused inside it, her
    // SSO session is not; outside the organisation the password session still works.
    let carol_password = super::auth::login(&server, "carol@example.com", password).await;
    let put = |path: &'static str, body: Value| {
        let server = &server;
        async move {
            server
                .request(reqwest::Method::PUT, path, Some(admin), Some(&body))
                .await
        }
    };
    let set = put("/api/v1/orgs/acme/sso/policy", json!({"required": true})).await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.text);
    let inside = carol_password.get(&server, "/api/v1/orgs/acme").await;
    assert_eq!(inside.status, StatusCode::FORBIDDEN, "{}", inside.text);
    assert_eq!(inside.code(), "sso_required");
    let outside = carol_password.get(&server, "/api/v1/me").await;
    assert_eq!(outside.status, StatusCode::OK, "{}", outside.text);
    let mut browser = Browser::new(&server, &provider);
    let (finished, _) = sign_in(&mut browser, &server, "corp", "carol").await;
    assert_eq!(finished.status, StatusCode::SEE_OTHER, "{}", finished.text);
    let sso_inside = browser
        .get(&format!("{}/api/v1/orgs/acme", server.url))
        .await;
    assert_eq!(sso_inside.status, StatusCode::OK, "{}", sso_inside.text);
    // Tokens are not sessions: the admin's token still works inside…
    let token_inside = server.get("/api/v1/orgs/acme", admin).await;
    assert_eq!(token_inside.status, StatusCode::OK);
    // …so a refused password session cannot mint one to carry its rights past the policy.
    let minted = carol_password
        .post(
            &server,
            "/api/v1/tokens",
            json!({"name": "escape", "expires_in_days": 1}),
        )
        .await;
    assert_eq!(minted.status, StatusCode::FORBIDDEN, "{}", minted.text);
    assert_eq!(minted.code(), "sso_required");
    // An organisation the password session cannot see answers 404, policy or not.
    let hidden_org = server
        .post(
            "/api/v1/orgs",
            admin,
            json!({"identifier": "hidden", "name": "Hidden"}),
        )
        .await;
    assert_eq!(
        hidden_org.status,
        StatusCode::CREATED,
        "{}",
        hidden_org.text
    );
    let set = put("/api/v1/orgs/hidden/sso/policy", json!({"required": true})).await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.text);
    let hidden = carol_password.get(&server, "/api/v1/orgs/hidden").await;
    let missing = carol_password.get(&server, "/api/v1/orgs/nowhere").await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND, "{}", hidden.text);
    assert_eq!(hidden.body, missing.body);
    // The last enabled provider cannot be disabled or deleted while SSO is required.
    for refused in [
        server
            .patch(
                "/api/v1/sso/providers/corp",
                admin,
                json!({"enabled": false}),
            )
            .await,
        server.delete("/api/v1/sso/providers/corp", admin).await,
    ] {
        assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.text);
        assert_eq!(refused.code(), "no_sso_provider");
    }

    // The account requires SSO, with carol as its break-glass user: dave's password
    // session ends at once, his correct password is refused (and says why), carol's
    // session lives on and her password opens new ones, audited loudly.
    let dave_before = super::auth::login(&server, "dave@example.com", password).await;
    let set = put(
        "/api/v1/sso/policy",
        json!({"required": true, "break_glass_users": ["carol@example.com"]}),
    )
    .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.text);
    assert_eq!(set.body["break_glass_users"], json!([carol]));
    assert_eq!(
        dave_before.get(&server, "/api/v1/me").await.code(),
        "session_invalid",
        "a password session the account now refuses has ended"
    );
    assert_eq!(
        carol_password.get(&server, "/api/v1/me").await.status,
        StatusCode::OK,
        "a break-glass user's session lives on"
    );
    let updates = server
        .get("/api/v1/audit-events?action=sso_policy.update", admin)
        .await;
    assert_eq!(
        updates.body["items"][0]["details"]["password_sessions_ended"], 1,
        "{}",
        updates.text
    );
    // A correct password answers exactly as a wrong one (it confirms nothing); the
    // login page learns of the requirement from the login options.
    let dave = super::auth::try_login(&server, "dave@example.com", password).await;
    let wrong = super::auth::try_login(&server, "dave@example.com", "not the password").await;
    assert_eq!(dave.status, StatusCode::UNAUTHORIZED, "{}", dave.text);
    assert_eq!((dave.code(), &dave.body), (wrong.code(), &wrong.body));
    let options = server
        .request(reqwest::Method::GET, "/api/v1/auth/sso", None, None)
        .await;
    assert_eq!(options.body["sso_required"], true, "{}", options.text);
    let refusals = server
        .get("/api/v1/audit-events?action=auth.login", admin)
        .await;
    assert!(
        refusals.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|event| event["details"]["reason"] == "sso_required"),
        "the real reason is in the audit log: {}",
        refusals.text
    );
    let glass = super::auth::login(&server, "carol@example.com", password).await;
    assert_eq!(
        glass.get(&server, "/api/v1/me").await.status,
        StatusCode::OK
    );
    let loud = server
        .get("/api/v1/audit-events?action=auth.break_glass", admin)
        .await;
    assert_eq!(
        loud.body["items"].as_array().unwrap().len(),
        1,
        "{}",
        loud.text
    );
    // …but inside the organisation, whose policy does not name her, it is refused;
    // once the organisation names her too, each use inside it is audited loudly.
    let inside = glass.get(&server, "/api/v1/orgs/acme").await;
    assert_eq!(inside.code(), "sso_required", "{}", inside.text);
    let set = put(
        "/api/v1/orgs/acme/sso/policy",
        json!({"required": true, "break_glass_users": [carol]}),
    )
    .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.text);
    let inside = glass.get(&server, "/api/v1/orgs/acme").await;
    assert_eq!(inside.status, StatusCode::OK, "{}", inside.text);
    let loud = server
        .get("/api/v1/audit-events?action=auth.break_glass", admin)
        .await;
    let uses = loud.body["items"].as_array().unwrap();
    assert_eq!(uses.len(), 2, "{}", loud.text);
    assert_eq!(
        uses[0]["details"]["policy"], "organization",
        "{}",
        loud.text
    );
    assert_eq!(uses[0]["actor"], format!("user:{carol}"), "{}", loud.text);

    // Nobody locks themselves out: an admin's own password session cannot require SSO
    // without being named a break-glass user.
    let admin_user = server.create_user("root@example.com", password).await;
    let granted = server
        .post(
            "/api/v1/role-assignments",
            admin,
            json!({"principal": format!("user:{admin_user}"), "role": "_account_admin"}),
        )
        .await;
    assert_eq!(granted.status, StatusCode::CREATED, "{}", granted.text);
    let cleared = put("/api/v1/sso/policy", json!({"required": false})).await;
    assert_eq!(cleared.status, StatusCode::OK, "{}", cleared.text);
    let root = super::auth::login(&server, "root@example.com", password).await;
    let locked = root
        .send(
            &server,
            reqwest::Method::PUT,
            "/api/v1/sso/policy",
            Some(json!({"required": true})),
            true,
        )
        .await;
    assert_eq!(locked.status, StatusCode::CONFLICT, "{}", locked.text);
    assert_eq!(locked.code(), "sso_policy_excludes_you");
    for (body, code) in [
        (
            json!({"required": true, "break_glass_users": ["nobody@example.com"]}),
            "unknown_principal",
        ),
        (json!({"required": "yes"}), "invalid_body"),
    ] {
        let refused = put("/api/v1/sso/policy", body.clone()).await;
        assert_eq!(refused.code(), code, "{body}: {}", refused.text);
    }
    server.stop().await;
}

#[tokio::test]
async fn sso_policies_refuse_passwords_on_sqlite() {
    sso_policies_refuse_passwords(None).await;
}

#[tokio::test]
async fn sso_policies_refuse_passwords_on_postgres() {
    if rampart_testkit::postgres_server_url().is_some() {
        sso_policies_refuse_passwords(Some(Engine::Postgres)).await;
    }
}

/// Step-up for a single sign-on session: it re-authenticates at its provider, which is
/// asked to authenticate the person again (`prompt=login`, `max_age=0`); the callback
/// renews the same session (no new cookie) only for the person linked to it.
async fn sso_sessions_reauthenticate_at_their_provider(engine: Option<Engine>) {
    let server = TestServer::start_with(Options {
        engine,
        ..Options::default()
    })
    .await;
    prepare_account(&server).await;
    let provider = OidcProvider::start(
        // The provider says when the person authenticated (auth_time) in every ID
        // token, so a fresh sign-in counts as recent.
        json!([client(
            &server,
            "rampart",
            "corp",
            json!({"require_auth_time": true})
        )]),
        json!({
            "ana": {"email": "ana@example.com", "email_verified": true, "name": "Ana Lima"},
            "mallory": {"email": "mallory@example.com", "email_verified": true, "name": "Mallory"},
        }),
        json!({}),
    )
    .await;
    let added = add_provider(&server, &provider, "corp", "rampart", json!({})).await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.text);
    let mut browser = Browser::new(&server, &provider);
    let (finished, _) = sign_in(&mut browser, &server, "corp", "ana").await;
    assert_eq!(finished.status, StatusCode::SEE_OTHER, "{}", finished.text);
    let session_cookie = browser
        .cookie(&server.url, "__Host-rampart_session")
        .unwrap();
    let token = json!({"name": "laptop", "expires_in_days": 7});
    let fresh = browser
        .post_json(&server, "/api/v1/tokens", token.clone())
        .await;
    assert_eq!(fresh.status, StatusCode::CREATED, "{}", fresh.text);
    rampart_testkit::remember_secret(fresh.body["secret"].as_str().unwrap());

    // The sign-in grows old (eleven minutes; the window is ten).
    let age = || async {
        server
            .app()
            .store()
            .execute_raw_for_tests(
                "UPDATE sessions SET authenticated_at = authenticated_at - 660000000",
            )
            .await
            .unwrap();
    };
    age().await;
    let stale = browser
        .post_json(&server, "/api/v1/tokens", token.clone())
        .await;
    assert_eq!(
        (stale.status, stale.code()),
        (StatusCode::UNAUTHORIZED, "reauthentication_required"),
        "{}",
        stale.text
    );
    assert!(
        stale
            .text
            .contains("/api/v1/auth/sso/corp/start?reauthenticate=true"),
        "{}",
        stale.text
    );
    // Not with a password: the session signed in through the provider.
    let by_password = browser
        .post_json(
            &server,
            "/api/v1/auth/reauthenticate",
            json!({"password": "anything at all"}),
        )
        .await;
    assert_eq!(
        (by_password.status, by_password.code()),
        (StatusCode::BAD_REQUEST, "reauthentication_method_mismatch")
    );
    // Nor by giving the session's user a first password (then signing in with it).
    let first_password = browser
        .post_json(
            &server,
            "/api/v1/me/password",
            json!({"new_password": "a brand new password 42"}),
        )
        .await;
    assert_eq!(
        (first_password.status, first_password.code()),
        (StatusCode::UNAUTHORIZED, "reauthentication_required"),
        "{}",
        first_password.text
    );
    // Not without a session.
    let mut stranger = Browser::new(&server, &provider);
    let no_session = stranger
        .get(&format!(
            "{}/api/v1/auth/sso/corp/start?reauthenticate=true",
            server.url
        ))
        .await;
    assert_eq!(
        (no_session.status, no_session.code()),
        (StatusCode::UNAUTHORIZED, "authentication_required")
    );

    // A re-authentication starts from this server's pages, not another site's.
    let cross_site = browser
        .client
        .get(format!(
            "{}/api/v1/auth/sso/corp/start?reauthenticate=true",
            server.url
        ))
        .header("cookie", browser.cookie_header(&server.url))
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    let cross_site = read(cross_site).await;
    assert_eq!(
        (cross_site.status, cross_site.code()),
        (StatusCode::FORBIDDEN, "origin_mismatch")
    );

    // Someone else signing in at the provider renews nothing, even a person with a
    // Rampart account of their own (linked at the provider).
    let mut elsewhere = Browser::new(&server, &provider);
    let (mallory, _) = sign_in(&mut elsewhere, &server, "corp", "mallory").await;
    assert_eq!(mallory.status, StatusCode::SEE_OTHER, "{}", mallory.text);
    let start = browser
        .get(&format!(
            "{}/api/v1/auth/sso/corp/start?reauthenticate=true&redirect_to=/settings",
            server.url
        ))
        .await;
    assert_eq!(start.status, StatusCode::SEE_OTHER, "{}", start.text);
    let authorize = location(&start, &server.url);
    assert_eq!(param(&authorize, "prompt").as_deref(), Some("login"));
    assert_eq!(param(&authorize, "max_age").as_deref(), Some("0"));
    let callback = browser
        .through_provider(&authorize, "mallory", &server.url)
        .await;
    let refused = browser.get(&callback).await;
    assert_eq!(
        (refused.status, refused.code()),
        (StatusCode::UNAUTHORIZED, "sso_login_failed"),
        "{}",
        refused.text
    );
    assert_eq!(
        browser
            .post_json(&server, "/api/v1/tokens", token.clone())
            .await
            .code(),
        "reauthentication_required"
    );

    // The person of the session signs in again: the same session is renewed.
    let start = browser
        .get(&format!(
            "{}/api/v1/auth/sso/corp/start?reauthenticate=true&redirect_to=/settings",
            server.url
        ))
        .await;
    assert_eq!(start.status, StatusCode::SEE_OTHER, "{}", start.text);
    let callback = browser
        .through_provider(&location(&start, &server.url), "ana", &server.url)
        .await;
    let renewed = browser.get(&callback).await;
    assert_eq!(renewed.status, StatusCode::SEE_OTHER, "{}", renewed.text);
    assert_eq!(renewed.headers["location"], "/settings");
    assert!(
        renewed
            .headers
            .get_all("set-cookie")
            .iter()
            .all(|cookie| !cookie
                .to_str()
                .unwrap()
                .starts_with("__Host-rampart_session=")),
        "no new session"
    );
    assert_eq!(
        browser
            .cookie(&server.url, "__Host-rampart_session")
            .unwrap(),
        session_cookie
    );
    let after = browser
        .post_json(&server, "/api/v1/tokens", token.clone())
        .await;
    assert_eq!(after.status, StatusCode::CREATED, "{}", after.text);
    rampart_testkit::remember_secret(after.body["secret"].as_str().unwrap());

    // Audited as the session's user, by the provider.
    let audit = server.app().store().recent_audit(100).await.unwrap();
    let renewals: Vec<_> = audit
        .iter()
        .filter(|r| r.action == "auth.reauthenticate")
        .collect();
    assert_eq!(renewals.len(), 1);
    assert_eq!(renewals[0].outcome, "success");
    assert!(
        renewals[0].details.contains("oidc:corp"),
        "{}",
        renewals[0].details
    );
    let who = me(&mut browser, &server).await;
    assert_eq!(
        renewals[0].actor.as_deref(),
        Some(format!("user:{}", who.body["user"]["id"].as_str().unwrap()).as_str())
    );
}

#[tokio::test]
async fn sso_sessions_reauthenticate_at_their_provider_on_sqlite() {
    sso_sessions_reauthenticate_at_their_provider(None).await;
}

#[tokio::test]
async fn sso_sessions_reauthenticate_at_their_provider_on_postgres() {
    if rampart_testkit::postgres_server_url().is_some() {
        sso_sessions_reauthenticate_at_their_provider(Some(Engine::Postgres)).await;
    }
}
