//! SAML 2.0 sign-in against a real identity provider: PyPI `pysaml2` in IdP mode
//! (`scripts/saml_idp.py`, signing with Debian's `xmlsec1`; installed by
//! `scripts/install-test-deps.sh`), started on loopback over HTTPS. The administrator's
//! steps are the real ones: the IdP's metadata is given to Rampart, and Rampart's SP
//! metadata (from its public endpoint) to the IdP. The browser is played by hand, as in
//! the OpenID Connect tests (`sso`): the IdP's login page filled in, and its
//! auto-submitting form posted to the assertion consumer service.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use rampart_testkit::{Engine, Options, Reply, StatusCode, TestServer};
use serde_json::{Value, json};

use super::sso::{
    Browser, between, group_members, location, me, param, prepare_account, spawn_listening,
};

/// Where a sign-in through the provider `corp` starts.
const START: &str = "/api/v1/auth/sso/corp/start";

/// The identity provider's process, its metadata and the PEM of its TLS certificate.
struct SamlIdp {
    base: String,
    metadata: String,
    tls_pem: String,
    sp_metadata: PathBuf,
    _child: tokio::process::Child,
    _dir: tempfile::TempDir,
}

impl SamlIdp {
    /// Starts the IdP with these users (username → attribute → values) and options of
    /// `scripts/saml_idp.py` (`--sign assertion|response|both`, `--sha1`).
    async fn start(users: Value, options: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: String| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            path
        };
        let tls = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let tls_cert = write("tls.crt", tls.cert.pem());
        let tls_key = write("tls.key", tls.signing_key.serialize_pem());
        // The signing key: RSA (what IdPs use most), made by openssl as an IdP admin would.
        let (key, cert) = (dir.path().join("sign.key"), dir.path().join("sign.crt"));
        let made = tokio::process::Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            ])
            .args(["-subj", "/CN=Test IdP signing"])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .stderr(std::process::Stdio::null())
            .status()
            .await
            .expect("openssl (scripts/install-test-deps.sh installs it)");
        assert!(made.success());
        let users_file = write("users.json", users.to_string());
        let (sp_metadata, idp_metadata) = (dir.path().join("sp.xml"), dir.path().join("idp.xml"));
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let python = root.join("target/test-deps/venv/bin/python");
        let mut command = tokio::process::Command::new(&python);
        command
            .arg(root.join("scripts/saml_idp.py"))
            .args(["--entity-id", "https://localhost/test-idp"])
            .args(options)
            .arg("--key")
            .arg(&key)
            .arg("--cert")
            .arg(&cert)
            .arg("--tls-cert")
            .arg(&tls_cert)
            .arg("--tls-key")
            .arg(&tls_key)
            .arg("--sp-metadata")
            .arg(&sp_metadata)
            .arg("--metadata-out")
            .arg(&idp_metadata)
            .arg("--users")
            .arg(&users_file);
        let (child, port) = spawn_listening(command, "READY ", "the SAML IdP (pysaml2)").await;
        Self {
            base: format!("https://localhost:{port}"),
            metadata: std::fs::read_to_string(&idp_metadata).unwrap(),
            tls_pem: tls.cert.pem(),
            sp_metadata,
            _child: child,
            _dir: dir,
        }
    }

    /// Makes this IdP the one of the provider `corp` (its metadata there, `corp`'s SP
    /// metadata here).
    async fn become_corps_idp(&self, server: &TestServer) {
        let changed = server
            .patch(
                "/api/v1/sso/providers/corp",
                &server.admin_token,
                json!({"saml": {"idp_metadata_xml": self.metadata, "create_users": true}}),
            )
            .await;
        assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);
        self.import_sp_metadata(server, "corp").await;
    }

    /// Gives the IdP Rampart's SP metadata, read from Rampart's public endpoint (before
    /// the first sign-in: the IdP loads it then).
    async fn import_sp_metadata(&self, server: &TestServer, provider: &str) {
        let reply = server
            .request(
                reqwest::Method::GET,
                &format!("/api/v1/auth/sso/{provider}/metadata"),
                None,
                None,
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        assert_eq!(
            reply.headers["content-type"], "application/samlmetadata+xml",
            "the metadata media type"
        );
        std::fs::write(&self.sp_metadata, &reply.text).unwrap();
    }
}

/// The fields of the auto-submitting form on an IdP page: its action and hidden inputs.
fn auto_post_form(page: &str) -> (String, Vec<(String, String)>) {
    let unescape = |text: String| {
        text.replace("&quot;", "\"")
            .replace("&#x27;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&")
    };
    let action = unescape(between(page, "<form method=\"post\" action=\"", "\""));
    let fields = page
        .split("<input type=\"hidden\" ")
        .skip(1)
        .map(|input| {
            (
                between(input, "name=\"", "\""),
                unescape(between(input, "value=\"", "\"")),
            )
        })
        .collect();
    (action, fields)
}

/// Posts an IdP page's form to the assertion consumer service (as its script does).
async fn post_to_acs(browser: &mut Browser, page: &str, changes: &[(&str, Option<&str>)]) -> Reply {
    let (action, mut fields) = auto_post_form(page);
    for (name, value) in changes {
        fields.retain(|(field, _)| field != name);
        if let Some(value) = value {
            fields.push(((*name).to_owned(), (*value).to_owned()));
        }
    }
    let form: Vec<(&str, &str)> = fields
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    browser.post_form(&action, &form).await
}

/// Starts a sign-in at `start` (a path on the server), signs in at the IdP as `user`
/// (`seconds_ago`: when the IdP says they authenticated), and returns the IdP's
/// auto-submitting page, not yet posted.
async fn through_idp(
    browser: &mut Browser,
    server: &TestServer,
    idp: &SamlIdp,
    start: &str,
    user: &str,
    seconds_ago: u32,
) -> String {
    let started = browser.get(&format!("{}{start}", server.url)).await;
    assert_eq!(started.status, StatusCode::SEE_OTHER, "{}", started.text);
    let binder = started
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|value| value.to_str().unwrap().to_owned())
        .find(|cookie| cookie.starts_with("__Host-rampart_sso="))
        .expect("the binder cookie");
    assert!(
        binder.contains("SameSite=None") && binder.contains("Secure"),
        "the binder must come back with the IdP's cross-site POST: {binder}"
    );
    let to_idp = location(&started, &server.url);
    assert!(
        to_idp.starts_with(&format!("{}/sso/redirect?", idp.base)),
        "{to_idp}"
    );
    assert!(param(&to_idp, "SAMLRequest").is_some() && param(&to_idp, "RelayState").is_some());
    let page = browser.get(&to_idp).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    if !page.text.contains("action=\"/login\"") {
        return page.text; // a remembered sign-in: the IdP answers at once
    }
    let key = between(&page.text, "name=\"key\" value=\"", "\"");
    let age = seconds_ago.to_string();
    let signed = browser
        .post_form(
            &format!("{}/login", idp.base),
            &[
                ("key", key.as_str()),
                ("username", user),
                ("authenticated_seconds_ago", age.as_str()),
            ],
        )
        .await;
    assert_eq!(signed.status, StatusCode::OK, "{}", signed.text);
    signed.text
}

/// Configures the SAML provider `corp` from the IdP's metadata; `extra` adds settings.
async fn add_provider(server: &TestServer, idp: &SamlIdp, extra: Value) -> Reply {
    let mut saml = json!({
        "idp_metadata_xml": idp.metadata,
        "groups_attribute": "groups",
        "group_mappings": [{"claim_value": "sre", "group": "acme/sre"}],
        "create_users": true,
    });
    for (key, value) in extra.as_object().unwrap() {
        saml[key] = value.clone();
    }
    server
        .post(
            "/api/v1/sso/providers",
            &server.admin_token,
            json!({"name": "corp", "display_name": "Sign in with Corp", "saml": saml}),
        )
        .await
}

async fn audit(server: &TestServer, action: &str) -> Vec<Value> {
    let reply = server
        .get(
            &format!("/api/v1/audit-events?action={action}&limit=500"),
            &server.admin_token,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    reply.body["items"].as_array().unwrap().clone()
}

fn users() -> Value {
    json!({
        "ana": {"email": ["ana@example.com"], "displayName": ["Ana Lima"], "groups": ["sre", "other"]},
        "bob": {"email": ["bob@example.com"], "displayName": ["Bob"], "groups": []},
        "carol": {"email": ["carol@example.com"]},
    })
}

/// SP-initiated sign-in with just-in-time creation, group mapping and linking by email;
/// the step-up round trip (ForceAuthn); replays refused; IdP-initiated only once
/// allowed, each response used once.
async fn saml_signs_in_users(engine: Option<Engine>, sign: &str) {
    let server = TestServer::start_with(Options {
        engine,
        ..Options::default()
    })
    .await;
    prepare_account(&server).await;
    let bob_id = server
        .create_user("bob@example.com", "a long password 12345")
        .await;
    let idp = SamlIdp::start(users(), &["--sign", sign]).await;
    let added = add_provider(&server, &idp, json!({})).await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.text);
    assert_eq!(added.body["kind"], "saml");
    let acs = format!("{}/api/v1/auth/sso/corp/acs", server.url);
    assert_eq!(added.body["redirect_uri"], acs.as_str());
    let sp = &added.body["saml_service_provider"];
    assert_eq!(sp["acs_url"], acs.as_str());
    assert_eq!(
        sp["entity_id"],
        format!("{}/api/v1/auth/sso/corp/metadata", server.url)
    );
    assert_eq!(sp["idp_entity_id"], "https://localhost/test-idp");
    assert_eq!(sp["idp_sso_url"], format!("{}/sso/redirect", idp.base));
    assert_eq!(sp["idp_certificates_sha256"].as_array().unwrap().len(), 1);
    assert_eq!(
        sp["slo_url"],
        format!("{}/api/v1/auth/sso/corp/slo", server.url)
    );
    idp.import_sp_metadata(&server, "corp").await;

    // Just-in-time creation, with the mapped group joined.
    let mut browser = Browser::trusting(&server, &idp.tls_pem);
    let start = "/api/v1/auth/sso/corp/start?redirect_to=/incidents%3Fstatus%3Dopen";
    let page = through_idp(&mut browser, &server, &idp, start, "ana", 0).await;
    let finished = post_to_acs(&mut browser, &page, &[]).await;
    assert_eq!(finished.status, StatusCode::SEE_OTHER, "{}", finished.text);
    assert_eq!(finished.headers["location"], "/incidents?status=open");
    assert!(browser.cookie(&server.url, "__Host-rampart_sso").is_none());
    let who = me(&mut browser, &server).await;
    assert_eq!(who.status, StatusCode::OK, "{}", who.text);
    assert_eq!(who.body["user"]["email"], "ana@example.com");
    assert_eq!(who.body["user"]["display_name"], "Ana Lima");
    assert_eq!(who.body["session_method"], "saml:corp");
    let ana_id = who.body["user"]["id"].as_str().unwrap().to_owned();
    assert_eq!(group_members(&server).await, vec![ana_id.clone()]);
    let org = browser
        .get(&format!("{}/api/v1/orgs/acme", server.url))
        .await;
    assert_eq!(
        org.status,
        StatusCode::OK,
        "Viewer through the group: {}",
        org.text
    );
    // The IdP said when ana authenticated (AuthnInstant, just now): sensitive actions
    // need no re-authentication yet.
    let token = json!({"name": "laptop", "expires_in_days": 1});
    let fresh = browser
        .post_json(&server, "/api/v1/tokens", token.clone())
        .await;
    assert_eq!(fresh.status, StatusCode::CREATED, "{}", fresh.text);
    rampart_testkit::remember_secret(fresh.body["secret"].as_str().unwrap());

    // The same post again: its login was taken, so it is refused, and the assertion
    // would be too.
    let replayed = post_to_acs(&mut browser, &page, &[]).await;
    assert_eq!(
        (replayed.status, replayed.code()),
        (StatusCode::BAD_REQUEST, "sso_state_invalid"),
        "{}",
        replayed.text
    );
    // Without its RelayState it is an unsolicited response, which this provider does
    // not take.
    let unsolicited = post_to_acs(&mut browser, &page, &[("RelayState", None)]).await;
    assert_eq!(
        unsolicited.code(),
        "sso_state_invalid",
        "{}",
        unsolicited.text
    );

    // Step-up: the sign-in grows old; the session renews it at the IdP, which must
    // authenticate ana again (ForceAuthn), not answer from its remembered session.
    server
        .app()
        .store()
        .execute_raw_for_tests(
            "UPDATE sessions SET authenticated_at = authenticated_at - 660000000",
        )
        .await
        .unwrap();
    let stale = browser
        .post_json(&server, "/api/v1/tokens", token.clone())
        .await;
    assert_eq!(stale.code(), "reauthentication_required", "{}", stale.text);
    let session = browser.cookie(&server.url, "__Host-rampart_session");
    let reauthenticate = "/api/v1/auth/sso/corp/start?reauthenticate=true&redirect_to=/tokens";
    // An IdP that answered from a sign-in of an hour ago proves nothing new.
    let old = through_idp(&mut browser, &server, &idp, reauthenticate, "ana", 3600).await;
    let refused = post_to_acs(&mut browser, &old, &[]).await;
    assert_eq!(
        (refused.status, refused.code()),
        (StatusCode::UNAUTHORIZED, "sso_login_failed"),
        "{}",
        refused.text
    );
    assert!(refused.text.contains("again"), "{}", refused.text);
    let again = through_idp(&mut browser, &server, &idp, reauthenticate, "ana", 0).await;
    let renewed = post_to_acs(&mut browser, &again, &[]).await;
    assert_eq!(renewed.status, StatusCode::SEE_OTHER, "{}", renewed.text);
    assert_eq!(renewed.headers["location"], "/tokens");
    assert_eq!(
        browser.cookie(&server.url, "__Host-rampart_session"),
        session,
        "the same session, renewed"
    );
    let renewed_token = browser.post_json(&server, "/api/v1/tokens", token).await;
    assert_eq!(
        renewed_token.status,
        StatusCode::CREATED,
        "{}",
        renewed_token.text
    );
    rampart_testkit::remember_secret(renewed_token.body["secret"].as_str().unwrap());
    // Someone else signing in at the IdP does not renew ana's session.
    let bob_instead = through_idp(&mut browser, &server, &idp, reauthenticate, "bob", 0).await;
    let mismatch = post_to_acs(&mut browser, &bob_instead, &[]).await;
    assert_eq!(mismatch.code(), "sso_login_failed", "{}", mismatch.text);

    // An existing user with the email is not linked by it unless the provider is told
    // to (SAML vouches for no email); then linked, not duplicated.
    let mut bob = Browser::trusting(&server, &idp.tls_pem);
    let page = through_idp(&mut bob, &server, &idp, START, "bob", 0).await;
    let refused = post_to_acs(&mut bob, &page, &[]).await;
    assert_eq!(
        (refused.status, refused.code()),
        (StatusCode::FORBIDDEN, "sso_user_unknown"),
        "{}",
        refused.text
    );
    assert!(refused.text.contains("link_by_email"), "{}", refused.text);
    let mut linking = added.body["saml"].clone();
    linking["link_by_email"] = json!(true);
    let changed = server
        .patch(
            "/api/v1/sso/providers/corp",
            &server.admin_token,
            json!({"saml": linking}),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);
    let mut bob = Browser::trusting(&server, &idp.tls_pem);
    let page = through_idp(&mut bob, &server, &idp, START, "bob", 0).await;
    let finished = post_to_acs(&mut bob, &page, &[]).await;
    assert_eq!(finished.status, StatusCode::SEE_OTHER, "{}", finished.text);
    assert_eq!(
        me(&mut bob, &server).await.body["user"]["id"],
        bob_id.as_str()
    );

    // A response for this browser's login but from another browser (no binder cookie)
    // is refused: login CSRF.
    let mut victim = Browser::trusting(&server, &idp.tls_pem);
    let mut attacker = Browser::trusting(&server, &idp.tls_pem);
    let page = through_idp(&mut attacker, &server, &idp, START, "carol", 0).await;
    let planted = post_to_acs(&mut victim, &page, &[]).await;
    assert_eq!(planted.code(), "sso_state_invalid", "{}", planted.text);
    assert!(
        victim
            .cookie(&server.url, "__Host-rampart_session")
            .is_none()
    );

    // A tampered response (carol's email changed to ana's) is refused over HTTP: the
    // signature no longer verifies.
    let mut tamperer = Browser::trusting(&server, &idp.tls_pem);
    let page = through_idp(&mut tamperer, &server, &idp, START, "carol", 0).await;
    let (_, fields) = auto_post_form(&page);
    let original = &fields
        .iter()
        .find(|(name, _)| name == "SAMLResponse")
        .unwrap()
        .1;
    let xml = String::from_utf8(BASE64.decode(original).unwrap()).unwrap();
    assert!(xml.contains("carol@example.com"));
    let forged = BASE64.encode(xml.replace("carol@example.com", "ana@example.com"));
    let refused = post_to_acs(&mut tamperer, &page, &[("SAMLResponse", Some(&forged))]).await;
    assert_eq!(
        (refused.status, refused.code()),
        (StatusCode::UNAUTHORIZED, "sso_login_failed"),
        "{}",
        refused.text
    );
    // Bad bodies get their 4xx: not a form, not base64.
    let not_form = tamperer
        .post_json(
            &server,
            "/api/v1/auth/sso/corp/acs",
            json!({"SAMLResponse": "x"}),
        )
        .await;
    assert_eq!(
        not_form.status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "{}",
        not_form.text
    );
    let garbage = tamperer
        .post_form(
            &acs,
            &[("SAMLResponse", "%%% not base64"), ("RelayState", "/x")],
        )
        .await;
    assert_eq!(garbage.status.as_u16() / 100, 4, "{}", garbage.text);
    // Hostile forms get the same 4xx on both engines (this test runs on each): a NUL,
    // a field twice, a response larger than the reader takes, a RelayState longer than
    // the binding allows — and no session.
    let huge = "A".repeat(400_000);
    let long_relay = "r".repeat(81);
    type Hostile<'a> = (&'a [(&'a str, &'a str)], &'a [u16], &'a str);
    let hostile: [Hostile; 4] = [
        (
            &[("SAMLResponse", "PD94\u{0}bWw=")],
            &[400],
            "nul_character",
        ),
        (
            &[("SAMLResponse", "PD94"), ("SAMLResponse", "PD94")],
            &[400],
            "invalid_body",
        ),
        (&[("SAMLResponse", huge.as_str())], &[400, 413], ""),
        (
            &[
                ("SAMLResponse", "PD94"),
                ("RelayState", long_relay.as_str()),
            ],
            &[400],
            "sso_state_invalid",
        ),
    ];
    for (form, statuses, code) in hostile {
        let reply = tamperer.post_form(&acs, form).await;
        assert!(
            statuses.contains(&reply.status.as_u16()),
            "{code}: {} {}",
            reply.status,
            reply.text
        );
        if !code.is_empty() {
            assert_eq!(reply.code(), code, "{}", reply.text);
        }
    }
    assert!(
        tamperer
            .cookie(&server.url, "__Host-rampart_session")
            .is_none()
    );

    // IdP-initiated: refused until allowed; then each response signs in once.
    let idp_initiated = format!(
        "{}/idp-initiated?username=ana&relay_state=/incidents",
        idp.base
    );
    let mut elsewhere = Browser::trusting(&server, &idp.tls_pem);
    let page = elsewhere.get(&idp_initiated).await;
    let refused = post_to_acs(&mut elsewhere, &page.text, &[]).await;
    assert_eq!(refused.code(), "sso_state_invalid", "{}", refused.text);
    let mut saml = added.body["saml"].clone();
    saml["allow_idp_initiated"] = json!(true);
    let changed = server
        .patch(
            "/api/v1/sso/providers/corp",
            &server.admin_token,
            json!({"saml": saml}),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);
    let kind_change = server
        .patch(
            "/api/v1/sso/providers/corp",
            &server.admin_token,
            json!({"oidc": {"issuer": "https://x.example", "client_id": "a", "client_secret": "acme/oidc-client"}}),
        )
        .await;
    assert_eq!(
        kind_change.status,
        StatusCode::BAD_REQUEST,
        "{}",
        kind_change.text
    );
    let page = elsewhere.get(&idp_initiated).await;
    let finished = post_to_acs(&mut elsewhere, &page.text, &[]).await;
    assert_eq!(finished.status, StatusCode::SEE_OTHER, "{}", finished.text);
    assert_eq!(finished.headers["location"], "/incidents");
    assert_eq!(
        me(&mut elsewhere, &server).await.body["user"]["id"],
        ana_id.as_str()
    );
    let mut replay = Browser::trusting(&server, &idp.tls_pem);
    let replayed = post_to_acs(&mut replay, &page.text, &[]).await;
    assert_eq!(
        (replayed.status, replayed.code()),
        (StatusCode::UNAUTHORIZED, "sso_login_failed"),
        "{}",
        replayed.text
    );
    assert!(replayed.text.contains("used already"), "{}", replayed.text);
    // A RelayState that leads off this server is not followed.
    let offsite = format!(
        "{}/idp-initiated?username=ana&relay_state=https://evil.example/",
        idp.base
    );
    let page = replay.get(&offsite).await;
    let finished = post_to_acs(&mut replay, &page.text, &[]).await;
    assert_eq!(finished.status, StatusCode::SEE_OTHER, "{}", finished.text);
    assert_eq!(finished.headers["location"], "/");

    // A response for one login posted with another login's RelayState (same browser):
    // the login is this browser's, but the response does not answer its request.
    let mut juggler = Browser::trusting(&server, &idp.tls_pem);
    let first = through_idp(&mut juggler, &server, &idp, START, "carol", 0).await;
    let second = juggler
        .get(&format!("{}/api/v1/auth/sso/corp/start", server.url))
        .await;
    let other_state = param(&location(&second, &server.url), "RelayState").unwrap();
    let crossed = post_to_acs(&mut juggler, &first, &[("RelayState", Some(&other_state))]).await;
    assert_eq!(crossed.code(), "sso_login_failed", "{}", crossed.text);
    assert!(crossed.text.contains("InResponseTo"), "{}", crossed.text);
    // …nor does a captured SP-initiated response count as an IdP-initiated one.
    let captured = through_idp(&mut juggler, &server, &idp, START, "carol", 0).await;
    let unsolicited = post_to_acs(&mut juggler, &captured, &[("RelayState", None)]).await;
    assert_eq!(
        unsolicited.code(),
        "sso_login_failed",
        "{}",
        unsolicited.text
    );
    assert!(
        unsolicited.text.contains("InResponseTo"),
        "{}",
        unsolicited.text
    );

    // Logout ends the session here, and single logout ends ana's at the IdP (the
    // IdP checks the NameID and the SessionIndex the request names are hers).
    let logout = browser
        .post_json(&server, "/api/v1/auth/logout", json!({}))
        .await;
    assert_eq!(logout.status, StatusCode::OK, "{}", logout.text);
    assert_eq!(
        me(&mut browser, &server).await.status,
        StatusCode::UNAUTHORIZED
    );
    let single_logout = logout.body["provider_logout_url"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        single_logout.starts_with(&format!("{}/slo/redirect?SAMLRequest=", idp.base)),
        "{single_logout}"
    );
    let at_idp = browser.get(&single_logout).await;
    assert_eq!(at_idp.status, StatusCode::SEE_OTHER, "{}", at_idp.text);
    let back = location(&at_idp, &single_logout);
    assert!(
        back.starts_with(&format!("{}/api/v1/auth/sso/corp/slo?", server.url)),
        "{back}"
    );
    let landed = browser.get(&back).await;
    assert_eq!(landed.status, StatusCode::SEE_OTHER, "{}", landed.text);
    assert_eq!(landed.headers["location"], "/");
    let logged_out = browser.get(&format!("{}/logged-out", idp.base)).await;
    assert_eq!(logged_out.body, json!(["ana"]), "{}", logged_out.text);
    let bogus = browser
        .get(&format!(
            "{}/api/v1/auth/sso/corp/slo?SAMLResponse=bm90",
            server.url
        ))
        .await;
    assert_eq!(bogus.status, StatusCode::BAD_REQUEST, "{}", bogus.text);
    let confirmed = audit(&server, "auth.sso_logout").await;
    assert_eq!(confirmed.len(), 1, "{confirmed:?}");
    assert_eq!(confirmed[0]["outcome"], "success");
    // A LogoutResponse that answers no logout started here (right issuer, unsigned, as
    // anyone can make one) is refused and records nothing.
    let forged = rampart_crypto::saml_messages::logout_response_xml(
        "https://localhost/test-idp",
        "_forged",
        "_no_such_request",
        &format!("{}/api/v1/auth/sso/corp/slo", server.url),
        jiff::Timestamp::UNIX_EPOCH,
    );
    let forged: String = url::form_urlencoded::byte_serialize(
        rampart_crypto::saml_messages::redirect_encode(&forged)
            .unwrap()
            .as_bytes(),
    )
    .collect();
    let refused = browser
        .get(&format!(
            "{}/api/v1/auth/sso/corp/slo?SAMLResponse={forged}",
            server.url
        ))
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text);
    assert_eq!(audit(&server, "auth.sso_logout").await.len(), 1);

    // IdP-initiated single logout: ana signs in again, then logs out at the IdP, which
    // asks this service (a signed redirect) to end her session here too.
    let mut again = Browser::trusting(&server, &idp.tls_pem);
    let page = through_idp(&mut again, &server, &idp, START, "ana", 0).await;
    let signed_in = post_to_acs(&mut again, &page, &[]).await;
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_in.text
    );
    assert_eq!(me(&mut again, &server).await.status, StatusCode::OK);
    let asked = again
        .get(&format!(
            "{}/idp-logout?username=ana&relay_state=back",
            idp.base
        ))
        .await;
    assert_eq!(asked.status, StatusCode::SEE_OTHER, "{}", asked.text);
    let to_sp = location(&asked, &idp.base);
    assert!(
        to_sp.starts_with(&format!(
            "{}/api/v1/auth/sso/corp/slo?SAMLRequest=",
            server.url
        )),
        "{to_sp}"
    );
    // Unsigned, or with its RelayState changed, it ends nothing.
    let unsigned = to_sp.split("&Signature=").next().unwrap().to_owned();
    let tampered = to_sp.replace("RelayState=back", "RelayState=bacK");
    for forged in [&unsigned, &tampered] {
        let refused = again.get(forged).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text);
        assert_eq!(me(&mut again, &server).await.status, StatusCode::OK);
    }
    let answered = again.get(&to_sp).await;
    assert_eq!(answered.status, StatusCode::SEE_OTHER, "{}", answered.text);
    assert_eq!(
        me(&mut again, &server).await.status,
        StatusCode::UNAUTHORIZED
    );
    let back_at_idp = location(&answered, &to_sp);
    assert!(
        back_at_idp.starts_with(&format!("{}/slo/redirect?SAMLResponse=", idp.base)),
        "{back_at_idp}"
    );
    assert_eq!(param(&back_at_idp, "RelayState").as_deref(), Some("back"));
    let acknowledged = again.get(&back_at_idp).await;
    assert_eq!(acknowledged.status, StatusCode::OK, "{}", acknowledged.text);
    let responses = again
        .get(&format!("{}/sp-logout-responses", idp.base))
        .await;
    assert_eq!(
        responses.body[0]["status"], "urn:oasis:names:tc:SAML:2.0:status:Success",
        "{}",
        responses.text
    );
    let ended = audit(&server, "auth.sso_logout").await;
    assert_eq!(ended.len(), 2, "{ended:?}");
    assert_eq!(ended[0]["details"]["initiated_by"], "identity_provider");
    // The IdP named every SessionIndex it gave ana: her other sessions (the two
    // IdP-initiated ones) end too.
    assert_eq!(ended[0]["details"]["sessions_ended"], 3, "{ended:?}");
    assert_eq!(
        me(&mut elsewhere, &server).await.status,
        StatusCode::UNAUTHORIZED
    );

    // Every sign-in and refusal is in the audit log, with the SAML method.
    let logins = audit(&server, "auth.login")
        .await
        .iter()
        .filter(|event| event["details"]["method"] == "saml:corp")
        .count();
    assert_eq!(logins, 5, "ana, bob, ana twice by the IdP, ana again");
    let failures = audit(&server, "auth.failure").await;
    assert!(
        failures
            .iter()
            .filter(|event| event["auth_method"] == "saml:corp")
            .count()
            >= 6,
        "{failures:?}"
    );
    let renewals = audit(&server, "auth.reauthenticate").await;
    assert_eq!(renewals.len(), 1, "{renewals:?}");
    server.stop().await;
}

#[tokio::test]
async fn saml_signs_in_users_on_sqlite() {
    saml_signs_in_users(None, "assertion").await;
}

#[tokio::test]
async fn saml_signs_in_users_on_postgres() {
    if rampart_testkit::postgres_server_url().is_some() {
        // The other place a signature may be: on the response only.
        saml_signs_in_users(Some(Engine::Postgres), "response").await;
    }
}

/// Metadata that could not verify anything is refused when configured, and the SP
/// endpoints of a provider that is not SAML do not exist.
#[tokio::test(flavor = "multi_thread")]
async fn saml_provider_configuration_is_checked() {
    let server = TestServer::start().await;
    prepare_account(&server).await;
    let idp = SamlIdp::start(users(), &[]).await;
    let without_key = idp
        .metadata
        .split("<md:KeyDescriptor")
        .next()
        .unwrap()
        .to_owned()
        + idp.metadata.split("</md:KeyDescriptor>").nth(1).unwrap();
    assert!(!without_key.contains("X509Certificate"), "{without_key}");
    let refused = add_provider(&server, &idp, json!({"idp_metadata_xml": without_key})).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text);
    assert!(
        refused.text.contains("signing certificate"),
        "{}",
        refused.text
    );
    assert!(
        refused.text.contains("idp_metadata_xml"),
        "{}",
        refused.text
    );
    for (settings, field) in [
        (
            json!({"idp_metadata_xml": "<!DOCTYPE x><x/>"}),
            "idp_metadata_xml",
        ),
        (
            json!({"name_id_format": "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"}),
            "name_id_format",
        ),
        (
            json!({"group_mappings": [{"claim_value": "sre", "group": "acme/nobody"}]}),
            "group_mappings",
        ),
    ] {
        let refused = add_provider(&server, &idp, settings.clone()).await;
        assert_eq!(
            refused.status,
            StatusCode::BAD_REQUEST,
            "{settings}: {}",
            refused.text
        );
        assert!(refused.text.contains(field), "{settings}: {}", refused.text);
    }
    let both = server
        .post(
            "/api/v1/sso/providers",
            &server.admin_token,
            json!({"name": "x", "display_name": "X", "saml": {"idp_metadata_xml": idp.metadata},
                   "oidc": {"issuer": "https://x.example", "client_id": "a", "client_secret": "acme/oidc-client"}}),
        )
        .await;
    assert_eq!(both.code(), "invalid_body", "{}", both.text);
    // Two providers cannot be one service to the IdP.
    for name in ["one", "two"] {
        let added = server
            .post(
                "/api/v1/sso/providers",
                &server.admin_token,
                json!({"name": name, "display_name": name, "saml": {
                    "idp_metadata_xml": idp.metadata, "sp_entity_id": "urn:rampart:shared",
                }}),
            )
            .await;
        let expected = if name == "one" {
            StatusCode::CREATED
        } else {
            StatusCode::CONFLICT
        };
        assert_eq!(added.status, expected, "{}", added.text);
    }
    let deleted = server
        .delete("/api/v1/sso/providers/one", &server.admin_token)
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text);
    // Nothing else was added; no provider has SP metadata.
    let listed = server
        .get("/api/v1/sso/providers", &server.admin_token)
        .await;
    assert_eq!(listed.body["items"], json!([]), "{}", listed.text);
    let missing = server
        .request(
            reqwest::Method::GET,
            "/api/v1/auth/sso/corp/metadata",
            None,
            None,
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND, "{}", missing.text);
    // Added with the CLI, as the README shows: the metadata file and a settings file.
    let files = tempfile::tempdir().unwrap();
    let metadata = files.path().join("idp-metadata.xml");
    let settings = files.path().join("saml.json");
    std::fs::write(&metadata, &idp.metadata).unwrap();
    std::fs::write(&settings, json!({"create_users": true}).to_string()).unwrap();
    let cli = crate::cli::Cli::new(&server, &server.admin_token);
    let (metadata, settings) = (metadata.to_str().unwrap(), settings.to_str().unwrap());
    let created = cli.json(&[
        "sso",
        "create",
        "corp",
        "--display-name",
        "Sign in with Corp",
        "--saml-metadata",
        metadata,
        "--saml-settings",
        settings,
    ]);
    assert_eq!(created["kind"], "saml", "{created}");
    assert_eq!(created["saml"]["create_users"], true, "{created}");
    let shown = cli.run(&["sso", "show", "corp"]);
    for expected in [
        "/api/v1/auth/sso/corp/acs",
        "https://localhost/test-idp",
        "idp_certificates_sha256",
    ] {
        assert!(shown.contains(expected), "{expected}: {shown}");
    }
    assert!(
        !shown.contains("X509Certificate"),
        "the metadata text is not printed: {shown}"
    );
    // A new metadata file alone (a certificate rollover) keeps the other settings.
    std::fs::write(
        files.path().join("settings2.json"),
        json!({"create_users": true, "groups_attribute": "groups", "allow_idp_initiated": true})
            .to_string(),
    )
    .unwrap();
    let settings2 = files.path().join("settings2.json");
    cli.json(&[
        "sso",
        "update",
        "corp",
        "--saml-metadata",
        metadata,
        "--saml-settings",
        settings2.to_str().unwrap(),
    ]);
    let rolled = cli.json(&["sso", "update", "corp", "--saml-metadata", metadata]);
    assert_eq!(rolled["saml"]["groups_attribute"], "groups", "{rolled}");
    assert_eq!(rolled["saml"]["allow_idp_initiated"], true, "{rolled}");
    let settings_only = cli.output(
        &[
            "sso",
            "create",
            "x",
            "--display-name",
            "X",
            "--saml-settings",
            settings,
        ],
        None,
    );
    assert!(
        !settings_only.status.success(),
        "settings need the metadata"
    );
    // The audit record says what the metadata named (not its text).
    let created = audit(&server, "sso_provider.create").await;
    assert_eq!(
        created[0]["details"]["idp"]["entity_id"], "https://localhost/test-idp",
        "{created:?}"
    );
    server.stop().await;
}

/// A forgery: the response a real IdP signed in, the forged one out.
type Forge = Box<dyn Fn(&str) -> String>;

/// The signed response's `SAMLResponse` on an IdP page, decoded.
fn response_xml(page: &str) -> String {
    let (_, fields) = auto_post_form(page);
    let encoded = &fields
        .iter()
        .find(|(name, _)| name == "SAMLResponse")
        .unwrap()
        .1;
    String::from_utf8(BASE64.decode(encoded).unwrap()).unwrap()
}

/// The text from the first `start` to the end of the last `end` in `text`.
fn span<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let from = text.find(start).unwrap();
    let to = text.rfind(end).unwrap() + end.len();
    &text[from..to]
}

/// Signs in at the IdP as `user` in a fresh browser and posts `forge(response XML)` to
/// the assertion consumer service in that browser (so the login is this browser's and
/// only the response decides): the server's answer and the browser.
async fn post_forged(
    server: &TestServer,
    idp: &SamlIdp,
    user: &str,
    forge: impl Fn(&str) -> String,
) -> (Reply, Browser) {
    let mut browser = Browser::trusting(server, &idp.tls_pem);
    let start = START;
    let page = through_idp(&mut browser, server, idp, start, user, 0).await;
    let forged = BASE64.encode(forge(&response_xml(&page)));
    let reply = post_to_acs(&mut browser, &page, &[("SAMLResponse", Some(&forged))]).await;
    (reply, browser)
}

/// Posts each forgery of a response `idp` made for mallory: each refused with
/// `sso_login_failed`, and no session.
async fn refuse_all(server: &TestServer, idp: &SamlIdp, forgeries: &[(&str, Forge)]) {
    for (name, forge) in forgeries {
        let (reply, browser) = post_forged(server, idp, "mallory", forge).await;
        assert_eq!(
            (reply.status, reply.code()),
            (StatusCode::UNAUTHORIZED, "sso_login_failed"),
            "{name}: {}",
            reply.text
        );
        assert!(
            browser
                .cookie(&server.url, "__Host-rampart_session")
                .is_none(),
            "{name}"
        );
    }
}

/// The attacks of the SAML literature, on responses a real IdP signed, over HTTP: each
/// signature-wrapping variant (XSW1–8), duplicate IDs, a DOCTYPE with an external
/// entity, an IdP signing with SHA-1, and a response made for another provider's
/// service — each refused with `sso_login_failed` and no session; and a comment
/// inserted into the signed email and NameID (the signature still verifies, as exclusive
/// canonicalisation drops comments) reads as the whole text, not the part before it.
#[tokio::test]
async fn saml_refuses_forged_and_misdirected_responses() {
    let server = TestServer::start().await;
    prepare_account(&server).await;
    let users = json!({
        "mallory": {"email": ["mallory@example.com"]},
        "eve": {"email": ["ana@example.com.evil.example"]},
        "ana": {"email": ["ana@example.com"]},
    });
    let ana = server
        .create_user("ana@example.com", "a long password 12345")
        .await;
    let idp = SamlIdp::start(users.clone(), &["--sign", "assertion"]).await;
    let added = add_provider(&server, &idp, json!({})).await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.text);
    idp.import_sp_metadata(&server, "corp").await;

    // The evil assertion: mallory's, made ana's by email and given another ID, without
    // the signature; the original signed assertion is kept somewhere the wrapping
    // hopes a verifier looks.
    let parts = |xml: &str| {
        let assertion = span(xml, "<ns1:Assertion", "</ns1:Assertion>").to_owned();
        let signature = span(&assertion, "<ds:Signature", "</ds:Signature>").to_owned();
        let id = between(&assertion, "ID=\"", "\"");
        let unsigned = assertion.replace(&signature, "");
        let evil = unsigned
            .replace("mallory@example.com", "ana@example.com")
            .replace(&format!("ID=\"{id}\""), "ID=\"_evil\"");
        (assertion, signature, unsigned, evil)
    };
    let wrappings: Vec<(&str, Forge)> = vec![
        (
            "XSW3: the evil assertion before the signed one",
            Box::new(move |xml| {
                let (assertion, _, _, evil) = parts(xml);
                xml.replace(&assertion, &format!("{evil}{assertion}"))
            }),
        ),
        (
            "XSW4: the signed assertion inside the evil one",
            Box::new(move |xml| {
                let (assertion, _, _, evil) = parts(xml);
                let wrapped =
                    evil.replace("</ns1:Assertion>", &format!("{assertion}</ns1:Assertion>"));
                xml.replace(&assertion, &wrapped)
            }),
        ),
        (
            "XSW5: the evil assertion carries the signature, the original follows unsigned",
            Box::new(move |xml| {
                let (assertion, signature, unsigned, evil) = parts(xml);
                let signed_evil =
                    evil.replacen("</ns1:Issuer>", &format!("</ns1:Issuer>{signature}"), 1);
                xml.replace(&assertion, &signed_evil)
                    .replace("</ns0:Response>", &format!("{unsigned}</ns0:Response>"))
            }),
        ),
        (
            "XSW6: the original inside the copied signature's Object",
            Box::new(move |xml| {
                let (assertion, signature, unsigned, evil) = parts(xml);
                let carrying = signature.replace(
                    "</ds:Signature>",
                    &format!("<ds:Object>{unsigned}</ds:Object></ds:Signature>"),
                );
                let signed_evil =
                    evil.replacen("</ns1:Issuer>", &format!("</ns1:Issuer>{carrying}"), 1);
                xml.replace(&assertion, &signed_evil)
            }),
        ),
        (
            "XSW7: the signed assertion inside Extensions",
            Box::new(move |xml| {
                let (assertion, _, _, evil) = parts(xml);
                xml.replace(
                    &assertion,
                    &format!("<ns0:Extensions>{assertion}</ns0:Extensions>{evil}"),
                )
            }),
        ),
        (
            "XSW8: the signed original inside the evil assertion's signature Object",
            Box::new(move |xml| {
                let (assertion, signature, _, evil) = parts(xml);
                let carrying = signature.replace(
                    "</ds:Signature>",
                    &format!("<ds:Object>{assertion}</ds:Object></ds:Signature>"),
                );
                let signed_evil =
                    evil.replacen("</ns1:Issuer>", &format!("</ns1:Issuer>{carrying}"), 1);
                xml.replace(&assertion, &signed_evil)
            }),
        ),
        (
            "duplicate IDs: another element with the assertion's ID",
            Box::new(move |xml| {
                let (assertion, _, _, _) = parts(xml);
                let id = between(&assertion, "ID=\"", "\"");
                xml.replace(
                    &assertion,
                    &format!("<ns0:Extensions><ns0:X ID=\"{id}\"/></ns0:Extensions>{assertion}"),
                )
            }),
        ),
        (
            "a DOCTYPE with an external entity",
            Box::new(|xml| {
                let body = xml.split_once("?>").map_or(xml, |(_, body)| body);
                format!("<!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>{body}")
            }),
        ),
    ];
    refuse_all(&server, &idp, &wrappings).await;

    // A comment inside the signed email and NameID: the signature holds (comments are
    // not signed), and the whole text is read — eve gets her own address, not ana's.
    let (reply, mut browser) = post_forged(&server, &idp, "eve", |xml| {
        let name_id = between(xml, "nameid-format:persistent\">", "<");
        xml.replace(
            "ana@example.com.evil.example",
            "ana@example.com<!---->.evil.example",
        )
        .replace(
            &format!(">{name_id}<"),
            &format!(">{}<!---->{}<", &name_id[..3], &name_id[3..]),
        )
    })
    .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text);
    let who = me(&mut browser, &server).await;
    assert_eq!(who.body["user"]["email"], "ana@example.com.evil.example");
    assert_ne!(who.body["user"]["id"], ana.as_str());

    // A response made for another service (a second provider with the same IdP, which
    // takes IdP-initiated sign-ins): its Destination and Audience are corp's.
    let mut second = added.body["saml"].clone();
    second["allow_idp_initiated"] = json!(true);
    let other = server
        .post(
            "/api/v1/sso/providers",
            &server.admin_token,
            json!({"name": "corp2", "display_name": "Corp again", "saml": second}),
        )
        .await;
    assert_eq!(other.status, StatusCode::CREATED, "{}", other.text);
    let mut browser = Browser::trusting(&server, &idp.tls_pem);
    let page = browser
        .get(&format!("{}/idp-initiated?username=mallory", idp.base))
        .await;
    let (_, fields) = auto_post_form(&page.text);
    let form: Vec<(&str, &str)> = fields
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    let misdirected = browser
        .post_form(&format!("{}/api/v1/auth/sso/corp2/acs", server.url), &form)
        .await;
    assert_eq!(
        (misdirected.status, misdirected.code()),
        (StatusCode::UNAUTHORIZED, "sso_login_failed"),
        "{}",
        misdirected.text
    );
    assert!(
        misdirected.text.contains("destination"),
        "{}",
        misdirected.text
    );

    // A NameID of another format than the provider asks for is refused, however
    // genuine the response.
    let mut email_only = added.body["saml"].clone();
    email_only["name_id_format"] = json!("urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress");
    let changed = server
        .patch(
            "/api/v1/sso/providers/corp",
            &server.admin_token,
            json!({"saml": email_only}),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);
    let (reply, _) = post_forged(&server, &idp, "mallory", str::to_owned).await;
    assert_eq!(reply.code(), "sso_login_failed", "{}", reply.text);
    assert!(reply.text.contains("format"), "{}", reply.text);

    // An IdP that still signs with SHA-1 is refused, however genuine its key.
    let outdated = SamlIdp::start(users, &["--sha1"]).await;
    outdated.become_corps_idp(&server).await;
    let (reply, _) = post_forged(&server, &outdated, "mallory", str::to_owned).await;
    assert_eq!(
        (reply.status, reply.code()),
        (StatusCode::UNAUTHORIZED, "sso_login_failed"),
        "{}",
        reply.text
    );
    assert!(
        reply.text.to_ascii_lowercase().contains("sha"),
        "{}",
        reply.text
    );

    // XSW1 and XSW2: an IdP that signs the response; the evil response carries the
    // signed original inside its copied signature, or beside it.
    let response_signer = SamlIdp::start(users_for_xsw(), &["--sign", "response"]).await;
    response_signer.become_corps_idp(&server).await;
    let evil_response = |xml: &str| {
        let original = xml
            .split_once("?>")
            .map_or(xml, |(_, body)| body)
            .trim()
            .to_owned();
        let signature = span(&original, "<ds:Signature", "</ds:Signature>").to_owned();
        let root_id = between(&original, "ID=\"", "\"");
        let assertion = span(&original, "<ns1:Assertion", "</ns1:Assertion>");
        let assertion_id = between(assertion, "ID=\"", "\"");
        let evil = original
            .replace(&signature, "")
            .replace("mallory@example.com", "ana@example.com")
            .replace(&format!("ID=\"{root_id}\""), "ID=\"_evil\"")
            .replace(&format!("ID=\"{assertion_id}\""), "ID=\"_evil_a\"");
        (original, signature, evil)
    };
    let response_wrappings: Vec<(&str, Forge)> = vec![
        (
            "XSW1: the signed original inside the evil response's copied signature",
            Box::new(move |xml| {
                let (original, signature, evil) = evil_response(xml);
                let carrying = signature.replace(
                    "</ds:Signature>",
                    &format!("<ds:Object>{original}</ds:Object></ds:Signature>"),
                );
                evil.replacen("</ns1:Issuer>", &format!("</ns1:Issuer>{carrying}"), 1)
            }),
        ),
        (
            "XSW2: the signed original beside the evil response's copied signature",
            Box::new(move |xml| {
                let (original, signature, evil) = evil_response(xml);
                evil.replacen(
                    "</ns1:Issuer>",
                    &format!("</ns1:Issuer>{original}{signature}"),
                    1,
                )
            }),
        ),
    ];
    refuse_all(&server, &response_signer, &response_wrappings).await;
    // The unforged response of that IdP signs in: the refusals were the wrappings'.
    let (genuine, _) = post_forged(&server, &response_signer, "mallory", str::to_owned).await;
    assert_eq!(genuine.status, StatusCode::SEE_OTHER, "{}", genuine.text);
    server.stop().await;
}

fn users_for_xsw() -> Value {
    json!({"mallory": {"email": ["mallory@example.com"]}})
}
