//! Oversized request bodies get their 413 to the client, whatever the client and the
//! protocol: curl over HTTP/1.1 (with and without `Expect: 100-continue`, with a length
//! and chunked) and HTTP/2 (with a length and without), Python `requests` writing the
//! whole body before reading (with a length and chunked), and Rust's reqwest over
//! HTTP/2 and HTTP/1.1 — to an API route, a webhook and the Terraform state backend.
//! Each case is repeated, so that the race between the answer and a connection closed
//! under a client still writing (rampart-http `unread_body`) would show.

use std::path::{Path, PathBuf};

use rampart_testkit::{Options, StatusCode, TestServer};
use serde_json::{Value, json};

/// Tries of each client × protocol × route.
const TRIES: usize = 50;
/// Curl processes run at once.
const CURL_AT_ONCE: usize = 4;
/// The Terraform state limit of the test server (the default is 64 MiB; a smaller one
/// keeps the test fast and the body still well past it).
const STATE_LIMIT_BYTES: usize = 512 * 1024;

enum Auth {
    Bearer(String),
    Basic(String),
}

struct Target {
    name: &'static str,
    path: String,
    auth: Auth,
    body: PathBuf,
    code: &'static str,
}

/// A JSON body of about `bytes` bytes.
fn write_body(dir: &Path, name: &str, bytes: usize) -> PathBuf {
    let body = serde_json::to_vec(&json!({
        "identifier": "big", "name": "x".repeat(bytes),
        "version": 4, "serial": 1, "lineage": "l",
    }))
    .unwrap();
    let path = dir.join(name);
    std::fs::write(&path, body).unwrap();
    path
}

async fn targets(server: &TestServer, dir: &Path) -> Vec<Target> {
    crate::sre::service(server, "checkout").await;
    let hook = crate::sre::integration(
        server,
        "checkout",
        json!({"name": "G", "format": "generic", "auth_mode": "bearer"}),
    )
    .await;
    let admin = server.admin_token.clone();
    vec![
        Target {
            name: "api",
            path: "/api/v1/orgs".into(),
            auth: Auth::Bearer(admin.clone()),
            // Twice the default API limit of 1 MiB.
            body: write_body(dir, "api.json", 2_000_000),
            code: "body_too_large",
        },
        Target {
            name: "webhook",
            path: hook.path.clone(),
            auth: Auth::Bearer(hook.token.clone().unwrap()),
            // Three times the webhook limit of 512 KiB.
            body: write_body(dir, "webhook.json", 1_500_000),
            code: "payload_too_large",
        },
        Target {
            name: "tf state",
            path: "/tf/v1/default/default/prod".into(),
            auth: Auth::Basic(admin),
            body: write_body(dir, "state.json", 3 * STATE_LIMIT_BYTES),
            code: "state_too_large",
        },
    ]
}

/// What one try got: `413 <code>`, or what went wrong.
fn outcome(status: u16, body: &[u8]) -> String {
    let code = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|value| value["error"]["code"].as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("unreadable body {:?}", String::from_utf8_lossy(body)));
    format!("{status} {code}")
}

/// One curl run: its outcome and the HTTP version it spoke.
async fn curl_once(
    server: &TestServer,
    target: &Target,
    args: &[&str],
    stdin_body: bool,
) -> (String, String) {
    let mut command = tokio::process::Command::new("curl");
    command
        .args(["-sS", "--cacert"])
        .arg(&server.ca_cert)
        .args(["-H", "content-type: application/json"])
        .args(["-w", "\n%{http_code} %{http_version}"])
        .args(args);
    match &target.auth {
        Auth::Bearer(token) => command.args(["-H", &format!("authorization: Bearer {token}")]),
        Auth::Basic(token) => command.args(["-u", &format!("terraform:{token}")]),
    };
    if stdin_body {
        // Streamed from stdin: curl does not know the length and sends none.
        command
            .args(["-X", "POST", "-T", "-"])
            .stdin(std::fs::File::open(&target.body).unwrap());
    } else {
        command
            .arg("--data-binary")
            .arg(format!("@{}", target.body.display()));
    }
    command.arg(format!("{}{}", server.url, target.path));
    let output = command.output().await.expect("curl runs");
    let stdout = output.stdout;
    let split = stdout.iter().rposition(|byte| *byte == b'\n').unwrap_or(0);
    let (body, tail) = stdout.split_at(split);
    let tail = String::from_utf8_lossy(tail).trim().to_owned();
    let (status, version) = tail.split_once(' ').unwrap_or(("0", ""));
    let got = if output.status.success() {
        outcome(status.parse().unwrap_or(0), body)
    } else {
        format!(
            "curl failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )
    };
    (got, version.to_owned())
}

#[tokio::test]
async fn curl_reads_the_413_over_http1_and_http2_with_and_without_a_length() {
    let curl = tokio::process::Command::new("curl")
        .arg("-V")
        .output()
        .await
        .expect("curl is installed (README: test dependencies)");
    assert!(
        String::from_utf8_lossy(&curl.stdout).contains("HTTP2"),
        "this curl cannot speak HTTP/2"
    );
    let server = TestServer::start_with(Options {
        configure: Some(Box::new(|config| {
            config.iacm.state_size_bytes_max = STATE_LIMIT_BYTES;
        })),
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    // (label, arguments, body from stdin, HTTP version spoken)
    let variants: [(&str, &[&str], bool, &str); 5] = [
        ("HTTP/1.1, length, Expect", &["--http1.1"], false, "1.1"),
        (
            "HTTP/1.1, length, no Expect",
            &["--http1.1", "-H", "Expect:"],
            false,
            "1.1",
        ),
        (
            "HTTP/1.1, chunked",
            &[
                "--http1.1",
                "-H",
                "Expect:",
                "-H",
                "Transfer-Encoding: chunked",
            ],
            false,
            "1.1",
        ),
        ("HTTP/2, length", &["--http2"], false, "2"),
        ("HTTP/2, no length", &["--http2"], true, "2"),
    ];
    for target in targets(&server, dir.path()).await {
        for (label, args, stdin_body, version) in variants {
            let mut failures = Vec::new();
            for _ in 0..TRIES / CURL_AT_ONCE + 1 {
                let batch = futures_util::future::join_all(
                    (0..CURL_AT_ONCE).map(|_| curl_once(&server, &target, args, stdin_body)),
                )
                .await;
                for (got, spoken) in batch {
                    assert_eq!(spoken, version, "{label}");
                    if got != format!("413 {}", target.code) {
                        failures.push(got);
                    }
                }
            }
            assert!(
                failures.is_empty(),
                "{} with curl, {label}: {} of {} tries did not read the 413: {failures:?}",
                target.name,
                failures.len(),
                (TRIES / CURL_AT_ONCE + 1) * CURL_AT_ONCE
            );
        }
    }
}

/// Python `requests` writes the whole body before it reads anything: the answer must
/// wait for it. `trust_env = False` so that the machine's CA bundle variables do not
/// replace `verify`. A fresh session (connection) per try.
const PYTHON_CLIENT: &str = r#"
import json, sys, requests
url, auth_kind, token, ca, body_path, mode, tries = sys.argv[1:8]
body = open(body_path, "rb").read()
outcomes = {}
for _ in range(int(tries)):
    session = requests.Session()
    session.trust_env = False
    session.verify = ca
    headers = {"content-type": "application/json"}
    auth = None
    if auth_kind == "bearer":
        headers["authorization"] = "Bearer " + token
    else:
        auth = ("terraform", token)
    data = body if mode == "length" else (body[i:i + 65536] for i in range(0, len(body), 65536))
    try:
        reply = session.post(url, data=data, headers=headers, auth=auth, timeout=60)
        try:
            got = "%d %s" % (reply.status_code, reply.json()["error"]["code"])
        except Exception:
            got = "%d unreadable body %r" % (reply.status_code, reply.text[:200])
    except Exception as error:
        got = "%s: %s" % (type(error).__name__, str(error)[:200])
    finally:
        session.close()
    outcomes[got] = outcomes.get(got, 0) + 1
print(json.dumps(outcomes))
"#;

#[tokio::test]
async fn python_requests_writing_the_whole_body_first_reads_the_413() {
    // The venv `scripts/install-test-deps.sh` installs requests into.
    let python =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/test-deps/venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/install-test-deps.sh",
        python.display()
    );
    let server = TestServer::start_with(Options {
        configure: Some(Box::new(|config| {
            config.iacm.state_size_bytes_max = STATE_LIMIT_BYTES;
        })),
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    for target in targets(&server, dir.path()).await {
        let (kind, token) = match &target.auth {
            Auth::Bearer(token) => ("bearer", token),
            Auth::Basic(token) => ("basic", token),
        };
        for mode in ["length", "chunked"] {
            let output = tokio::process::Command::new(&python)
                .args(["-c", PYTHON_CLIENT])
                .arg(format!("{}{}", server.url, target.path))
                .args([kind, token.as_str()])
                .arg(&server.ca_cert)
                .arg(&target.body)
                .args([mode, &TRIES.to_string()])
                .output()
                .await
                .expect("python3 runs");
            assert!(
                output.status.success(),
                "{}",
                String::from_utf8_lossy(&output.stderr)
            );
            let outcomes: Value = serde_json::from_slice(&output.stdout).unwrap();
            assert_eq!(
                outcomes,
                json!({ format!("413 {}", target.code): TRIES }),
                "{} with Python requests, {mode}",
                target.name
            );
        }
    }
}

#[tokio::test]
async fn reqwest_reads_the_413_over_http2_and_http1() {
    let server = TestServer::start_with(Options {
        configure: Some(Box::new(|config| {
            config.iacm.state_size_bytes_max = STATE_LIMIT_BYTES;
        })),
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    // A preconfigured TLS configuration is used as it is: ALPN decides the protocol.
    let tls = |protocol: &[u8]| {
        let mut config = rampart_cli::client::tls_client_config(Some(&server.ca_cert)).unwrap();
        config.alpn_protocols = vec![protocol.to_vec()];
        config
    };
    let http2 = reqwest::Client::builder()
        .use_preconfigured_tls(tls(b"h2"))
        .build()
        .unwrap();
    let http1 = reqwest::Client::builder()
        .use_preconfigured_tls(tls(b"http/1.1"))
        .http1_only()
        .build()
        .unwrap();
    for target in targets(&server, dir.path()).await {
        let body = std::fs::read(&target.body).unwrap();
        for (client, version) in [
            (&http2, reqwest::Version::HTTP_2),
            (&http1, reqwest::Version::HTTP_11),
        ] {
            let mut failures = Vec::new();
            for _ in 0..TRIES {
                let mut request = client
                    .post(format!("{}{}", server.url, target.path))
                    .header("content-type", "application/json")
                    .body(body.clone());
                request = match &target.auth {
                    Auth::Bearer(token) => request.bearer_auth(token),
                    Auth::Basic(token) => request.basic_auth("terraform", Some(token)),
                };
                let got = match request.send().await {
                    Ok(response) => {
                        assert_eq!(response.version(), version);
                        let status = response.status();
                        match response.bytes().await {
                            Ok(bytes) => outcome(status.as_u16(), &bytes),
                            Err(error) => format!("{status}, body lost: {error}"),
                        }
                    }
                    Err(error) => format!("{error:?}"),
                };
                if got != format!("{} {}", StatusCode::PAYLOAD_TOO_LARGE.as_u16(), target.code) {
                    failures.push(got);
                }
            }
            assert!(
                failures.is_empty(),
                "{} with reqwest over {version:?}: {} of {TRIES} tries did not read the 413: {failures:?}",
                target.name,
                failures.len()
            );
        }
    }
}
