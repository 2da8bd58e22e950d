//! The `rampart` binary: `admin init`, `admin reset-admin`, `serve`, configuration
//! errors, and the client commands against a running server.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use rampart_testkit::TestServer;

const BIN: &str = env!("CARGO_BIN_EXE_rampart");

/// Runs the real `rampart` binary with only `env` in its environment (shared by the
/// tests of offline commands elsewhere).
pub(crate) fn rampart(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(BIN);
    command.args(args).env_clear().env("PATH", "/usr/bin:/bin");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `args` followed by `--org default --project default`.
pub(crate) fn in_default_project<'a>(args: &[&'a str]) -> Vec<&'a str> {
    [args, &["--org", "default", "--project", "default"][..]].concat()
}

/// The `rampart` binary pointed at a test server with a token: client commands as a user
/// types them, for the tests of each slice's commands.
pub(crate) struct Cli {
    env: Vec<(&'static str, String)>,
}

impl Cli {
    pub(crate) fn new(server: &TestServer, token: &str) -> Self {
        Self {
            env: vec![
                ("RAMPART_URL", server.url.clone()),
                ("RAMPART_TOKEN", token.to_owned()),
                (
                    "RAMPART_CA_CERT",
                    server.ca_cert.to_str().unwrap().to_owned(),
                ),
            ],
        }
    }

    /// Runs a command with `stdin` as its standard input.
    pub(crate) fn output(&self, args: &[&str], stdin: Option<&str>) -> Output {
        use std::io::Write;
        let mut command = Command::new(BIN);
        command
            .args(args)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .envs(self.env.iter().map(|(key, value)| (key, value)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().unwrap();
        let mut input = child.stdin.take().unwrap();
        input.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
        drop(input);
        child.wait_with_output().unwrap()
    }

    /// Stdout of a command that must succeed.
    pub(crate) fn run(&self, args: &[&str]) -> String {
        self.run_with_stdin(args, "")
    }

    pub(crate) fn run_with_stdin(&self, args: &[&str], stdin: &str) -> String {
        let output = self.output(args, Some(stdin));
        assert!(
            output.status.success(),
            "{args:?}: {}",
            text(&output.stderr)
        );
        text(&output.stdout)
    }

    /// The JSON a command prints with `--output json`.
    pub(crate) fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = args.to_vec();
        all.extend(["--output", "json"]);
        let stdout = self.run(&all);
        serde_json::from_str(&stdout).unwrap_or_else(|error| panic!("{args:?}: {error}: {stdout}"))
    }

    /// Stderr of a command that must fail.
    pub(crate) fn fails(&self, args: &[&str]) -> String {
        let output = self.output(args, None);
        assert!(
            !output.status.success(),
            "{args:?} succeeded: {}",
            text(&output.stdout)
        );
        text(&output.stderr)
    }
}

#[test]
fn admin_init_prints_exactly_one_token_and_refuses_a_second_time() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_arg = data.to_str().unwrap();
    let first = rampart(
        &[
            "admin",
            "init",
            "--data-dir",
            data_arg,
            "--admin-email",
            "ops@example.com",
        ],
        &[],
    );
    assert!(first.status.success(), "{}", text(&first.stderr));
    let stdout = text(&first.stdout);
    let lines: Vec<_> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{stdout}");
    assert!(lines[0].starts_with("rmp_pat_") && lines[0].len() == 47);
    rampart_testkit::remember_secret(lines[0]);
    use std::os::unix::fs::PermissionsExt;
    // The database holds hashes and wrapped keys: owner-only, like the root key. (SQLite
    // gives its -wal/-shm files the same mode; they are gone after a clean close.)
    let db_mode = std::fs::metadata(data.join("rampart.db"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(db_mode, 0o600);
    assert_eq!(
        std::fs::metadata(data.join("root.key"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );

    let second = rampart(&["admin", "init", "--data-dir", data_arg], &[]);
    assert!(!second.status.success());
    assert!(second.stdout.is_empty(), "no token the second time");
    assert!(
        text(&second.stderr).contains("already initialised"),
        "{}",
        text(&second.stderr)
    );
}

#[test]
fn configuration_errors_name_the_key_and_stop_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rampart.toml");
    std::fs::write(
        &file,
        "[server]\nlisten = \"127.0.0.1:0\"\nlistne = \"typo\"\n",
    )
    .unwrap();
    let unknown = rampart(
        &[
            "serve",
            "--config",
            file.to_str().unwrap(),
            "--data-dir",
            dir.path().join("d").to_str().unwrap(),
        ],
        &[],
    );
    assert!(!unknown.status.success());
    assert!(
        text(&unknown.stderr).starts_with(
            "error: configuration: [server]: unknown key \"listne\" (the section's keys: listen,"
        ),
        "the key is named with its section: {}",
        text(&unknown.stderr)
    );

    let public_plain = rampart(
        &[
            "serve",
            "--data-dir",
            dir.path().join("d").to_str().unwrap(),
        ],
        &[("RAMPART_SERVER__PLAIN_HTTP_LISTEN", "0.0.0.0:8080")],
    );
    assert!(!public_plain.status.success());
    assert!(
        text(&public_plain.stderr).contains("server.plain_http_listen"),
        "{}",
        text(&public_plain.stderr)
    );

    let bad_env = rampart(
        &[
            "serve",
            "--data-dir",
            dir.path().join("d").to_str().unwrap(),
        ],
        &[("RAMPART_AUTH__TOKEN_LIFETIME_DAYS_MAX", "0")],
    );
    assert!(
        text(&bad_env.stderr).contains("auth.token_lifetime_days_max"),
        "{}",
        text(&bad_env.stderr)
    );
    assert!(
        !dir.path().join("d").exists(),
        "nothing was created by a refused start"
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn wait_ready(url: &str, ca: &Path) -> bool {
    for _ in 0..100 {
        if ca.exists() {
            let client = rampart_testkit::https_client(ca);
            if let Ok(reply) = client.get(format!("{url}/healthz")).send().await
                && reply.status().is_success()
            {
                return true;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test]
async fn serve_initialises_once_and_reset_admin_recovers_the_owner() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let port = free_port();
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--data-dir",
            data.to_str().unwrap(),
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .env_clear()
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let url = format!("https://127.0.0.1:{port}");
    let ca = data.join("tls/server.crt");
    assert!(wait_ready(&url, &ca).await, "server did not become ready");
    child.kill().unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = text(&output.stderr);
    assert!(!stderr.contains('\u{1b}'), "no colours in a pipe: {stderr}");
    let token = stderr
        .split_whitespace()
        .find(|word| word.starts_with("rmp_pat_"))
        .expect("the one-time token on stderr")
        .to_owned();
    rampart_testkit::remember_secret(&token);
    assert_eq!(stderr.matches("rmp_pat_").count(), 1, "printed once");

    let reset = rampart(
        &["admin", "reset-admin", "--data-dir", data.to_str().unwrap()],
        &[],
    );
    assert!(reset.status.success(), "{}", text(&reset.stderr));
    let new_token = text(&reset.stdout).trim().to_owned();
    rampart_testkit::remember_secret(&new_token);
    assert_ne!(new_token, token);

    let mut again = Command::new(BIN)
        .args([
            "serve",
            "--data-dir",
            data.to_str().unwrap(),
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .env_clear()
        .env("RAMPART_LOG__FORMAT", "text")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    assert!(wait_ready(&url, &ca).await);
    let client = rampart_testkit::https_client(&ca);
    let me = client
        .get(format!("{url}/api/v1/me"))
        .bearer_auth(&new_token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    let old = client
        .get(format!("{url}/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        old.status(),
        200,
        "reset-admin adds a token; it does not revoke the others"
    );
    again.kill().unwrap();
    let second_run = again.wait_with_output().unwrap();
    let stderr = text(&second_run.stderr);
    assert!(
        !stderr.contains("rmp_pat_"),
        "the token is printed only on first start"
    );
    // Text logs into a pipe (a file, a journal) carry no ANSI colour codes.
    assert!(stderr.contains(" INFO "), "text logs: {stderr}");
    assert!(!stderr.contains('\u{1b}'), "no colours in a pipe: {stderr}");
}

// The CLI runs as a blocking child process while the server runs in this process, so
// the server needs worker threads of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_commands_manage_orgs_projects_tokens_and_users() {
    let server = TestServer::start().await;
    let ca = server.ca_cert.to_str().unwrap().to_owned();
    let env = [
        ("RAMPART_URL", server.url.as_str()),
        ("RAMPART_TOKEN", server.admin_token.as_str()),
        ("RAMPART_CA_CERT", ca.as_str()),
    ];
    let run = |args: &[&str]| {
        let output = rampart(args, &env);
        assert!(
            output.status.success(),
            "{args:?}: {}",
            text(&output.stderr)
        );
        text(&output.stdout)
    };
    run(&["org", "create", "acme", "--name", "Acme Corp"]);
    let orgs: serde_json::Value =
        serde_json::from_str(&run(&["org", "list", "--output", "json"])).unwrap();
    assert_eq!(orgs.as_array().unwrap().len(), 2);
    let table = run(&["org", "list"]);
    assert!(
        table.starts_with("IDENTIFIER") && table.contains("Acme Corp"),
        "{table}"
    );

    run(&["project", "create", "web", "--org", "acme", "--name", "Web"]);
    assert!(run(&["project", "list", "--org", "acme"]).contains("web"));

    let secret = run(&["token", "create", "--name", "cli", "--expires-in-days", "3"])
        .trim()
        .to_owned();
    rampart_testkit::remember_secret(&secret);
    assert!(secret.starts_with("rmp_pat_"));
    let tokens: serde_json::Value =
        serde_json::from_str(&run(&["token", "list", "--output", "json"])).unwrap();
    let id = tokens
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "cli")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    run(&["token", "revoke", &id]);
    let revoked = rampart(
        &["org", "list"],
        &[
            ("RAMPART_URL", server.url.as_str()),
            ("RAMPART_TOKEN", secret.as_str()),
            ("RAMPART_CA_CERT", ca.as_str()),
        ],
    );
    assert!(!revoked.status.success());
    assert!(
        text(&revoked.stderr).contains("token_revoked"),
        "{}",
        text(&revoked.stderr)
    );

    run(&[
        "user",
        "create",
        "--email",
        "hal@example.com",
        "--display-name",
        "Hal",
    ]);
    assert!(run(&["user", "list"]).contains("hal@example.com"));

    let failure = rampart(&["org", "create", "Bad Slug", "--name", "x"], &env);
    assert!(!failure.status.success());
    assert!(
        text(&failure.stderr).contains("invalid_identifier"),
        "{}",
        text(&failure.stderr)
    );
    let untrusted = rampart(
        &["org", "list"],
        &[
            ("RAMPART_URL", server.url.as_str()),
            ("RAMPART_TOKEN", server.admin_token.as_str()),
        ],
    );
    assert!(
        !untrusted.status.success(),
        "the self-signed certificate is not trusted without RAMPART_CA_CERT"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_commands_grant_explain_and_revoke() {
    let server = TestServer::start().await;
    let ca = server.ca_cert.to_str().unwrap().to_owned();
    let env = [
        ("RAMPART_URL", server.url.as_str()),
        ("RAMPART_TOKEN", server.admin_token.as_str()),
        ("RAMPART_CA_CERT", ca.as_str()),
    ];
    let run = |args: &[&str]| {
        let output = rampart(args, &env);
        assert!(
            output.status.success(),
            "{args:?}: {}",
            text(&output.stderr)
        );
        text(&output.stdout)
    };
    let json = |args: &[&str]| -> serde_json::Value {
        let mut all = args.to_vec();
        all.extend(["--output", "json"]);
        serde_json::from_str(&run(&all)).unwrap()
    };
    let user = json(&[
        "user",
        "create",
        "--email",
        "ivy@example.com",
        "--display-name",
        "Ivy",
    ]);
    let principal = format!("user:{}", user[0]["id"].as_str().unwrap());
    let scope = ["--org", "default", "--project", "default"];

    let role = json(
        &[
            &[
                "role",
                "create",
                "triage",
                "--name",
                "Triage",
                "--permission",
                "incident:view",
                "--permission",
                "project:view",
            ][..],
            &scope[..],
        ]
        .concat(),
    );
    let role_id = role[0]["id"].as_str().unwrap().to_owned();
    assert!(run(&[&["role", "list"][..], &scope[..]].concat()).contains("triage"));
    let group = json(
        &[
            &["group", "create", "triagers", "--name", "Triagers"][..],
            &scope[..],
        ]
        .concat(),
    );
    let group_id = group[0]["id"].as_str().unwrap().to_owned();
    // The group by the name it was created with, the user by email.
    run(&[
        &["group", "add-member", "triagers", "ivy@example.com"][..],
        &scope[..],
    ]
    .concat());
    assert!(
        run(&[&["group", "members", "triagers"][..], &scope[..]].concat())
            .contains(user[0]["id"].as_str().unwrap())
    );
    let unknown = rampart(
        &[&["group", "members", "nobody"][..], &scope[..]].concat(),
        &env,
    );
    assert!(
        !unknown.status.success() && text(&unknown.stderr).contains("no group nobody"),
        "{}",
        text(&unknown.stderr)
    );

    let granted = json(
        &[
            &[
                "access",
                "grant",
                "--principal",
                &format!("group:{group_id}"),
                "--role",
                &role_id,
            ][..],
            &scope[..],
        ]
        .concat(),
    );
    let assignment = granted[0]["id"].as_str().unwrap().to_owned();
    let twice = rampart(
        &[
            &[
                "access",
                "grant",
                "--principal",
                &format!("group:{group_id}"),
                "--role",
                &role_id,
            ][..],
            &scope[..],
        ]
        .concat(),
        &env,
    );
    assert!(
        !twice.status.success() && text(&twice.stderr).contains("role_already_assigned (409)"),
        "{}",
        text(&twice.stderr)
    );
    let explained = json(
        &[
            &[
                "access",
                "explain",
                "--principal",
                &principal,
                "--permission",
                "incident:view",
            ][..],
            &scope[..],
        ]
        .concat(),
    );
    assert_eq!(explained[0]["allowed"], true);
    assert_eq!(explained[0]["decided_by"], assignment.as_str());
    assert!(run(&[&["access", "list"][..], &scope[..]].concat()).contains(&assignment));

    run(&[&["access", "revoke", &assignment][..], &scope[..]].concat());
    let after = json(
        &[
            &[
                "access",
                "explain",
                "--principal",
                &principal,
                "--permission",
                "incident:view",
            ][..],
            &scope[..],
        ]
        .concat(),
    );
    assert_eq!(after[0]["allowed"], false);
    let refused = rampart(
        &[
            "access",
            "grant",
            "--principal",
            &principal,
            "--role",
            "_org_admin",
            "--org",
            "default",
            "--project",
            "default",
        ],
        &env,
    );
    assert!(
        text(&refused.stderr).contains("role_not_assignable_here"),
        "{}",
        text(&refused.stderr)
    );
}

#[test]
fn admin_audit_exports_and_verifies_offline_and_names_an_edited_entry() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_arg = data.to_str().unwrap();
    let init = rampart(&["admin", "init", "--data-dir", data_arg], &[]);
    assert!(init.status.success(), "{}", text(&init.stderr));
    rampart_testkit::remember_secret(text(&init.stdout).trim());

    let key = rampart(
        &["admin", "audit", "public-key", "--data-dir", data_arg],
        &[],
    );
    assert!(key.status.success(), "{}", text(&key.stderr));
    let key = text(&key.stdout).trim().to_owned();
    assert_eq!(key.len(), 64, "{key}");
    let key_file = dir.path().join("audit.pub");
    std::fs::write(&key_file, format!("{key}\n")).unwrap();

    let export = dir.path().join("audit.ndjson");
    let exported = rampart(
        &[
            "admin",
            "audit",
            "export",
            "--data-dir",
            data_arg,
            "--output",
            export.to_str().unwrap(),
        ],
        &[],
    );
    assert!(exported.status.success(), "{}", text(&exported.stderr));
    let body = std::fs::read_to_string(&export).unwrap();
    assert!(
        body.contains("\"action\":\"audit.export\""),
        "the export is recorded"
    );

    // Verify needs no server and no data dir: the file and the key.
    for key_argument in [key.as_str(), key_file.to_str().unwrap()] {
        let verified = rampart(
            &[
                "admin",
                "audit",
                "verify",
                export.to_str().unwrap(),
                "--public-key",
                key_argument,
            ],
            &[],
        );
        assert!(verified.status.success(), "{}", text(&verified.stdout));
        assert!(text(&verified.stdout).starts_with("OK: complete export"));
    }

    // Edit one entry in the file: verify fails and names it.
    let edited_body = body.replacen(
        "\"action\":\"account.initialize\"",
        "\"action\":\"account.view\"",
        1,
    );
    assert_ne!(edited_body, body);
    let edited = dir.path().join("edited.ndjson");
    std::fs::write(&edited, edited_body).unwrap();
    let verified = rampart(
        &[
            "admin",
            "audit",
            "verify",
            edited.to_str().unwrap(),
            "--public-key",
            &key,
        ],
        &[],
    );
    assert!(!verified.status.success());
    let stdout = text(&verified.stdout);
    assert!(
        stdout.contains("TAMPERED: entry") && stdout.contains("edited"),
        "{stdout}"
    );

    // A file that is not an export is an error, not a pass.
    let garbage = dir.path().join("garbage.ndjson");
    std::fs::write(&garbage, "hello\n").unwrap();
    let verified = rampart(
        &[
            "admin",
            "audit",
            "verify",
            garbage.to_str().unwrap(),
            "--public-key",
            &key,
        ],
        &[],
    );
    assert!(!verified.status.success());
    assert!(
        text(&verified.stderr).contains("line 1"),
        "{}",
        text(&verified.stderr)
    );
}

/// Runs `rampart ARGS…` with its standard output closed before it writes (as `| head`
/// leaves it once it has read enough); returns the exit success and stderr.
fn with_closed_stdout(args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = command.spawn().unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    (output.status.success(), text(&output.stderr))
}

/// `rampart … | head`: a closed pipe ends every command quietly — what is written
/// through a file writer (the export, a state download) and what is printed line by
/// line (tables, keys) — instead of "Broken pipe" or a panic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_pipe_ends_commands_quietly() {
    let server = TestServer::start().await;
    let data_arg = server.config.server.data_dir.to_str().unwrap().to_owned();
    for args in [
        &["admin", "audit", "export", "--data-dir", &data_arg][..],
        &[
            "admin",
            "audit",
            "export",
            "--data-dir",
            &data_arg,
            "--format",
            "csv",
        ],
        &["admin", "audit", "public-key", "--data-dir", &data_arg],
    ] {
        let (success, stderr) = with_closed_stdout(args, &[]);
        assert!(success && stderr.is_empty(), "{args:?}: {stderr}");
    }
    let ca = server.ca_cert.to_str().unwrap().to_owned();
    let env = [
        ("RAMPART_URL", server.url.as_str()),
        ("RAMPART_TOKEN", server.admin_token.as_str()),
        ("RAMPART_CA_CERT", ca.as_str()),
    ];
    for args in [
        &["org", "list"][..],
        &["org", "list", "--output", "json"],
        &["user", "list"],
    ] {
        let (success, stderr) = tokio::task::block_in_place(|| with_closed_stdout(args, &env));
        assert!(success && stderr.is_empty(), "{args:?}: {stderr}");
    }
}

/// `admin audit verify` on an export whose log lost one row (deleted in the database):
/// the gap is named once, with the right index, and the entries after it are not
/// reported one by one.
async fn admin_audit_verify_names_one_deleted_entry_once(server: Option<TestServer>) {
    let Some(mut server) = server else {
        eprintln!("skipped: RAMPART_TEST_DATABASE_URL is not set");
        return;
    };
    for n in 0..6 {
        let reply = server
            .post(
                "/api/v1/orgs",
                &server.admin_token,
                serde_json::json!({"identifier": format!("org-{n}"), "name": "Org"}),
            )
            .await;
        assert_eq!(reply.status, rampart_testkit::StatusCode::CREATED);
    }
    server.app().sign_audit_checkpoint().await.unwrap();
    let deleted = server
        .app()
        .store()
        .execute_raw_for_tests("DELETE FROM audit_events WHERE leaf_index = 4")
        .await
        .unwrap();
    assert_eq!(deleted, 1);
    server.stop_in_place().await;

    let dir = tempfile::tempdir().unwrap();
    let data_arg = server.config.server.data_dir.to_str().unwrap().to_owned();
    let database_url = server.config.database.url.clone().unwrap_or_default();
    let env: Vec<(&str, &str)> = if database_url.is_empty() {
        Vec::new()
    } else {
        vec![("RAMPART_DATABASE_URL", database_url.as_str())]
    };
    let export = dir.path().join("audit.ndjson");
    let export_arg = export.to_str().unwrap();
    let exported = rampart(
        &[
            "admin",
            "audit",
            "export",
            "--data-dir",
            &data_arg,
            "--output",
            export_arg,
        ],
        &env,
    );
    assert!(exported.status.success(), "{}", text(&exported.stderr));
    let key = rampart(
        &["admin", "audit", "public-key", "--data-dir", &data_arg],
        &env,
    );
    assert!(key.status.success(), "{}", text(&key.stderr));
    let key = text(&key.stdout).trim().to_owned();
    let verified = rampart(
        &["admin", "audit", "verify", export_arg, "--public-key", &key],
        &[],
    );
    assert!(!verified.status.success());
    let stdout = text(&verified.stdout);
    let missing: Vec<&str> = stdout.lines().filter(|l| l.contains("missing")).collect();
    assert_eq!(
        missing,
        ["TAMPERED: entry 4 is missing: deleted"],
        "the gap is named once: {stdout}"
    );
    assert!(
        !stdout.contains("inserted") && !stdout.contains("edited"),
        "the entries after the gap are intact: {stdout}"
    );
    assert!(
        stdout.contains("do not match the checkpoint"),
        "the signed checkpoint disagrees: {stdout}"
    );
}

#[tokio::test]
async fn admin_audit_verify_names_one_deleted_entry_once_on_sqlite() {
    admin_audit_verify_names_one_deleted_entry_once(Some(TestServer::start().await)).await;
}

#[tokio::test]
async fn admin_audit_verify_names_one_deleted_entry_once_on_postgres() {
    admin_audit_verify_names_one_deleted_entry_once(TestServer::start_postgres().await).await;
}

// The blocking `rampart` child runs while this test's in-process server serves:
// a second worker keeps the server answering (one thread would starve it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_keys_rotate_rewraps_everything_under_a_new_root_key_and_rotates_rings() {
    let mut server = TestServer::start().await;
    let created = server
        .post(
            "/api/v1/orgs/default/projects/default/secrets",
            &server.admin_token,
            serde_json::json!({"identifier": "kept", "name": "kept", "value": "survives-rotation"}),
        )
        .await;
    assert_eq!(
        created.status,
        rampart_testkit::StatusCode::CREATED,
        "{}",
        created.text
    );
    let public_key = server.app().audit_public_key();
    server.stop_in_place().await;

    let data_dir = server.config.server.data_dir.clone();
    let data_arg = data_dir.to_str().unwrap().to_owned();
    let key_file = data_dir.join("root.key");
    let before = std::fs::read(&key_file).unwrap();
    let rotated = rampart(&["admin", "keys", "rotate", "--data-dir", &data_arg], &[]);
    assert!(rotated.status.success(), "{}", text(&rotated.stderr));
    assert!(
        text(&rotated.stdout).starts_with("rewrapped "),
        "{}",
        text(&rotated.stdout)
    );
    assert_ne!(std::fs::read(&key_file).unwrap(), before);
    assert!(!data_dir.join("root.key.new").exists());
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777,
        0o600
    );

    let ring = rampart(
        &[
            "admin",
            "keys",
            "rotate",
            "--data-dir",
            &data_arg,
            "--org",
            "default",
            "--project",
            "default",
        ],
        &[],
    );
    assert!(ring.status.success(), "{}", text(&ring.stderr));
    assert_eq!(
        text(&ring.stdout).trim(),
        "default/default: key version 2 is now primary"
    );
    let missing = rampart(
        &[
            "admin",
            "keys",
            "rotate",
            "--data-dir",
            &data_arg,
            "--org",
            "default",
            "--project",
            "nope",
        ],
        &[],
    );
    assert!(!missing.status.success());
    // One form everywhere: a project is `--org O --project P`, never `O/P`.
    let slashed = rampart(
        &[
            "admin",
            "keys",
            "rotate",
            "--data-dir",
            &data_arg,
            "--project",
            "default/default",
        ],
        &[],
    );
    assert!(!slashed.status.success());
    assert!(
        text(&slashed.stderr).contains("--org"),
        "{}",
        text(&slashed.stderr)
    );

    // Back up under the new root key: tokens (pepper), the audit key and sealed data all
    // still work.
    server.start_again().await;
    let me = server.get("/api/v1/me", &server.admin_token).await;
    assert_eq!(me.status, rampart_testkit::StatusCode::OK, "{}", me.text);
    assert_eq!(server.app().audit_public_key(), public_key);
    let scope = server
        .app()
        .resolve_scope(Some("default"), Some("default"))
        .await
        .unwrap()
        .scope();
    let ctx = server.ctx_for(&server.admin_token).await;
    let value = server
        .app()
        .read_secret(&ctx, scope, "kept", None)
        .await
        .unwrap();
    assert_eq!(value.as_str(), "survives-rotation");
    let rotations = server
        .get(
            "/api/v1/audit-events?action=keys.rotate_root",
            &server.admin_token,
        )
        .await;
    assert_eq!(rotations.body["items"].as_array().unwrap().len(), 1);
}

fn tf_state(serial: u64, resources: usize) -> Vec<u8> {
    let resources: Vec<serde_json::Value> = (0..resources)
        .map(|n| {
            serde_json::json!({"mode": "managed", "type": "terraform_data", "name": format!("r{n}"),
                "provider": "provider[\"terraform.io/builtin/terraform\"]",
                "instances": [{"attributes": {"id": format!("id-{n}")}}]})
        })
        .collect();
    serde_json::to_vec_pretty(&serde_json::json!({
        "version": 4, "terraform_version": "1.15.5", "serial": serial, "lineage": "cli",
        "outputs": {"secret": {"value": "s3cr3t-output", "type": "string", "sensitive": true}},
        "resources": resources,
    }))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workspace_and_state_commands_and_offline_verification() {
    let mut server = TestServer::start().await;
    let ca = server.ca_cert.to_str().unwrap().to_owned();
    let url = server.url.clone();
    let token = server.admin_token.clone();
    let env = [
        ("RAMPART_URL", url.as_str()),
        ("RAMPART_TOKEN", token.as_str()),
        ("RAMPART_CA_CERT", ca.as_str()),
    ];
    let run = |args: &[&str]| {
        let output = rampart(args, &env);
        assert!(
            output.status.success(),
            "{args:?}: {}",
            text(&output.stderr)
        );
        text(&output.stdout)
    };
    let created = run(&[
        "workspace",
        "create",
        "app",
        "--name",
        "App",
        "--tag",
        "team:web",
        // The state is pushed directly below: not through runs.
        "--governed",
        "false",
    ]);
    assert!(
        created.contains("app") && created.contains("team:web"),
        "{created}"
    );
    let bodies: Vec<Vec<u8>> = (1..=2)
        .map(|serial| tf_state(serial, serial as usize))
        .collect();
    for body in &bodies {
        let reply = server
            .client
            .post(format!("{url}/tf/v1/default/default/app"))
            .basic_auth("terraform", Some(&token))
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 200);
    }
    let listed = run(&["workspace", "list"]);
    assert!(
        listed.lines().nth(1).unwrap().starts_with("app "),
        "{listed}"
    );
    let versions = run(&["state", "list", "app"]);
    assert_eq!(versions.lines().count(), 3, "{versions}");
    let shown = run(&["state", "show", "app"]);
    assert!(shown.contains("terraform_data.r1"), "{shown}");
    assert!(shown.contains("output secret = (sensitive)"), "{shown}");
    assert!(!shown.contains("s3cr3t-output"));
    let diff = run(&["state", "diff", "app", "1", "2"]);
    assert_eq!(diff.trim(), "+ terraform_data.r1");
    let pulled = rampart(&["state", "pull", "app", "--version", "1"], &env);
    assert!(pulled.status.success());
    assert_eq!(pulled.stdout, bodies[0]);
    let rolled = run(&["state", "rollback", "app", "1", "--reason", "revert r1"]);
    assert!(rolled.contains("revert r1"), "{rolled}");
    let missing = rampart(&["state", "pull", "app", "--version", "99"], &env);
    assert!(!missing.status.success());
    assert!(
        text(&missing.stderr).contains("not_found"),
        "{}",
        text(&missing.stderr)
    );

    // Offline verification: all good, then a tampered version is named.
    server.stop_in_place().await;
    let data_dir = server.config.server.data_dir.to_str().unwrap().to_owned();
    let verified = rampart(&["admin", "verify-state", "--data-dir", &data_dir], &[]);
    assert!(verified.status.success(), "{}", text(&verified.stderr));
    assert_eq!(
        text(&verified.stdout).trim(),
        "OK: 3 state versions of 1 workspaces verified"
    );
    server.start_again().await;
    server
        .app()
        .store()
        .execute_raw_for_tests("UPDATE state_versions SET resource_count = 7 WHERE version = 2")
        .await
        .unwrap();
    server.stop_in_place().await;
    let tampered = rampart(
        &[
            "admin",
            "verify-state",
            "--data-dir",
            &data_dir,
            "--workspace",
            "app",
        ],
        &[],
    );
    assert!(!tampered.status.success());
    let report = text(&tampered.stdout);
    assert!(
        report.contains("TAMPERED: default/default/app version 2:"),
        "{report}"
    );
    // Version 3 links to version 2's stored chain hash, which is unchanged: only the
    // edited row is named.
    assert_eq!(report.lines().count(), 1, "{report}");
    let unknown = rampart(
        &[
            "admin",
            "verify-state",
            "--data-dir",
            &data_dir,
            "--workspace",
            "nope",
            "--org",
            "default",
            "--project",
            "default",
        ],
        &[],
    );
    assert!(!unknown.status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incident_oncall_service_and_integration_commands() {
    let server = TestServer::start().await;
    let ca = server.ca_cert.to_str().unwrap().to_owned();
    let url = server.url.clone();
    let token = server.admin_token.clone();
    let env = [
        ("RAMPART_URL", url.as_str()),
        ("RAMPART_TOKEN", token.as_str()),
        ("RAMPART_CA_CERT", ca.as_str()),
    ];
    let run = |args: &[&str]| {
        let output = rampart(args, &env);
        assert!(
            output.status.success(),
            "{args:?}: {}",
            text(&output.stderr)
        );
        text(&output.stdout)
    };
    let created = run(&["service", "create", "web", "--name", "Web"]);
    assert!(created.contains("web"), "{created}");
    let integration = run(&[
        "integration",
        "create",
        "web",
        "--name",
        "Prometheus",
        "--format",
        "alertmanager",
    ]);
    let hook_token = integration
        .lines()
        .find_map(|line| line.strip_prefix("token (shown once): "))
        .expect("the token is printed once")
        .to_owned();
    rampart_testkit::remember_secret(&hook_token);
    let path = integration
        .lines()
        .nth(1)
        .and_then(|row| row.split_whitespace().last())
        .unwrap()
        .to_owned();
    assert!(path.starts_with("/hooks/v1/"), "{integration}");
    // A PagerDuty sender's integration: its routing key, printed once, and the one URL
    // every PagerDuty sender posts to.
    let pagerduty = run(&[
        "integration",
        "create",
        "web",
        "--name",
        "Grafana",
        "--format",
        "pagerduty",
        "--auth-mode",
        "routing_key",
    ]);
    let routing_key = pagerduty
        .lines()
        .find_map(|line| line.strip_prefix("routing key (shown once): "))
        .expect("the routing key is printed once")
        .to_owned();
    rampart_testkit::remember_secret(&routing_key);
    assert_eq!(routing_key.len(), 32, "{pagerduty}");
    assert!(
        pagerduty.contains("/hooks/pagerduty/v2/enqueue"),
        "{pagerduty}"
    );
    let listed = run(&["integration", "list", "web"]);
    assert!(listed.contains("Prometheus") && !listed.contains(&hook_token));
    assert!(listed.contains("Grafana") && !listed.contains(&routing_key));

    let alert = serde_json::json!({"version": "4", "groupKey": "g", "status": "firing",
        "alerts": [{"status": "firing", "labels": {"alertname": "DiskFull", "severity": "critical"},
                    "annotations": {"summary": "disk 95% on db-1"}, "fingerprint": "f1"}]});
    let sent = server
        .client
        .post(format!("{url}{path}"))
        .bearer_auth(&hook_token)
        .json(&alert)
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 202);

    let incidents = run(&["incident", "list"]);
    assert!(
        incidents.contains("disk 95% on db-1") && incidents.contains("triggered"),
        "{incidents}"
    );
    // Each change says what it did: the incident as it now is, the note as added.
    let acked = run(&["incident", "ack", "1", "--message", "on it"]);
    assert!(
        acked.starts_with("NUMBER") && acked.lines().nth(1).unwrap().contains("acknowledged"),
        "{acked}"
    );
    let noted = run(&["incident", "note", "1", "freed 20 GB"]);
    assert!(
        noted.starts_with("incident 1: note ") && noted.contains(" added at "),
        "{noted}"
    );
    let noted: Vec<serde_json::Value> = serde_json::from_str(&run(&[
        "incident",
        "note",
        "1",
        "disk alarm tuned",
        "--output",
        "json",
    ]))
    .unwrap();
    assert_eq!(
        (noted[0]["kind"].as_str(), noted[0]["body"]["text"].as_str()),
        (Some("note"), Some("disk alarm tuned"))
    );
    let resolved: Vec<serde_json::Value> =
        serde_json::from_str(&run(&["incident", "resolve", "1", "--output", "json"])).unwrap();
    assert_eq!(
        (
            resolved[0]["number"].as_u64(),
            resolved[0]["status"].as_str()
        ),
        (Some(1), Some("resolved"))
    );
    let shown = run(&["incident", "show", "1"]);
    assert!(shown.contains("resolved"), "{shown}");
    assert!(shown.contains("alert f1 resolved"), "{shown}");
    assert!(
        shown.contains("freed 20 GB") && shown.contains("on it"),
        "{shown}"
    );
    let refused = rampart(&["incident", "ack", "1"], &env);
    assert!(!refused.status.success());
    assert!(text(&refused.stderr).contains("invalid_transition"));

    // An incident opened by hand; show names its commander and assignees and lists its
    // action items.
    let opened: Vec<serde_json::Value> = serde_json::from_str(&run(&[
        "incident",
        "create",
        "--title",
        "Checkout is slow",
        "--severity",
        "SEV2",
        "--output",
        "json",
    ]))
    .unwrap();
    assert_eq!(
        (opened[0]["number"].as_u64(), opened[0]["status"].as_str()),
        (Some(2), Some("triggered"))
    );
    let me = server.get("/api/v1/me", &token).await;
    let admin_id = me.body["user"]["id"].as_str().unwrap().to_owned();
    let base = "/api/v1/orgs/default/projects/default/incidents/2";
    let patched = server
        .patch(
            base,
            &token,
            serde_json::json!({"commander": admin_id, "assignees": [admin_id]}),
        )
        .await;
    assert_eq!(
        patched.status,
        rampart_testkit::StatusCode::NO_CONTENT,
        "{}",
        patched.text
    );
    let item = server
        .post(
            &format!("{base}/action-items"),
            &token,
            serde_json::json!({"text": "add a load test", "assignee": admin_id}),
        )
        .await;
    assert!(item.status.is_success(), "{}", item.text);
    let shown = run(&["incident", "show", "2"]);
    assert!(
        shown.contains("commander: Administrator <admin@localhost>")
            && shown.contains("assignees: Administrator <admin@localhost>")
            && shown.contains(
                "action item 1 [ ] add a load test (assignee: Administrator <admin@localhost>)"
            ),
        "{shown}"
    );
    let refused = rampart(
        &["incident", "create", "--title", "x", "--severity", "SEV9"],
        &env,
    );
    assert!(
        text(&refused.stderr).contains("invalid_severity"),
        "{}",
        text(&refused.stderr)
    );

    // The alerts: listed with filters (the `+` of a time zone survives the query), shown
    // with their payload, and refused a second resolve.
    let alerts: Vec<serde_json::Value> = serde_json::from_str(&run(&[
        "alert",
        "list",
        "--status",
        "resolved",
        "--since",
        "2020-01-01T00:00:00+01:00",
        "--output",
        "json",
    ]))
    .unwrap();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(
        (
            alerts[0]["dedup_key"].as_str(),
            alerts[0]["incident"].as_u64()
        ),
        (Some("f1"), Some(1))
    );
    let alert_id = alerts[0]["id"].as_str().unwrap().to_owned();
    let table = run(&["alert", "list", "--service", "web"]);
    assert!(
        table.contains("f1") && table.contains("resolved"),
        "{table}"
    );
    let shown = run(&["alert", "show", &alert_id]);
    assert!(shown.contains("disk 95% on db-1"), "{shown}");
    let refused = rampart(&["alert", "resolve", &alert_id], &env);
    assert!(!refused.status.success());
    assert!(text(&refused.stderr).contains("alert_resolved"));

    let me = server.get("/api/v1/me", &token).await;
    let admin_id = me.body["user"]["id"].as_str().unwrap().to_owned();
    let schedule = server
        .post(
            "/api/v1/orgs/default/projects/default/schedules",
            &token,
            serde_json::json!({"identifier": "primary", "name": "Primary", "definition": {
                "time_zone": "UTC",
                "layers": [{"name": "all", "unit": "week", "first_handoff": "2026-01-05T00:00",
                            "participants": [admin_id]}]}}),
        )
        .await;
    assert_eq!(
        schedule.status,
        rampart_testkit::StatusCode::CREATED,
        "{}",
        schedule.text
    );
    // People by name in the table; the id and the name in JSON.
    let oncall = run(&["oncall", "--at", "2026-11-23T12:00:00Z"]);
    assert!(
        oncall.contains("primary")
            && oncall.contains("Administrator")
            && !oncall.contains(&admin_id),
        "{oncall}"
    );
    let one: Vec<serde_json::Value> = serde_json::from_str(&run(&[
        "oncall",
        "--schedule",
        "primary",
        "--output",
        "json",
    ]))
    .unwrap();
    assert_eq!(
        (one[0]["user"].as_str(), one[0]["user_name"].as_str()),
        (Some(admin_id.as_str()), Some("Administrator"))
    );

    // Overrides: taken by the caller, listed, deleted; who is on call follows.
    let (other, _) = crate::platform::access::user_with_token(&server, "otto@example.com").await;
    let added: Vec<serde_json::Value> = serde_json::from_str(&run(&[
        "override",
        "add",
        "primary",
        "--user",
        "otto@example.com",
        "--starts-at",
        "2026-11-23T00:00:00Z",
        "--ends-at",
        "2026-11-24T00:00:00Z",
        "--output",
        "json",
    ]))
    .unwrap();
    let override_id = added[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(added[0]["user"], other.as_str(), "the email named otto");
    let during = run(&[
        "oncall",
        "--schedule",
        "primary",
        "--at",
        "2026-11-23T12:00:00Z",
    ]);
    assert!(during.contains("Test User"), "{during}");
    let taken = run(&[
        "override",
        "take",
        "primary",
        "--starts-at",
        "2026-12-01T00:00:00Z",
        "--ends-at",
        "2026-12-02T00:00:00Z",
    ]);
    assert!(taken.contains(&admin_id), "{taken}");
    let listed = run(&[
        "override",
        "list",
        "primary",
        "--from",
        "2026-11-22T00:00:00+01:00",
        "--to",
        "2026-11-25T00:00:00Z",
    ]);
    assert!(
        listed.contains(&override_id) && !listed.contains("2026-12-01"),
        "{listed}"
    );
    run(&["override", "delete", "primary", &override_id]);
    let after = run(&[
        "oncall",
        "--schedule",
        "primary",
        "--at",
        "2026-11-23T12:00:00Z",
    ]);
    assert!(
        !after.contains("Test User") && after.contains("Administrator"),
        "{after}"
    );
    let refused = rampart(&["override", "delete", "primary", &override_id], &env);
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("not_found"),
        "{}",
        text(&refused.stderr)
    );
}

/// The names of the top-level commands, from the same definitions the binary parses.
fn top_level_commands() -> Vec<String> {
    use clap::CommandFactory;
    rampart_cli::cli::Cli::command()
        .get_subcommands()
        .map(|command| command.get_name().to_owned())
        .collect()
}

/// What bash completes for the words typed so far (the last one being completed), with
/// the script `rampart completions bash` prints loaded in a real bash.
fn bash_completes(script: &Path, words: &[&str]) -> Vec<String> {
    let array = words
        .iter()
        .map(|word| format!("'{word}'"))
        .collect::<Vec<_>>()
        .join(" ");
    let line = words.join(" ");
    let current = words.last().unwrap();
    let previous = words[words.len() - 2];
    let program = format!(
        "source '{}' || exit 3\n\
         complete -p rampart >/dev/null || exit 4\n\
         COMP_WORDS=({array}); COMP_CWORD={}; COMP_LINE='{line}'; COMP_POINT=${{#COMP_LINE}}\n\
         _rampart rampart '{current}' '{previous}'\n\
         printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script.display(),
        words.len() - 1
    );
    let output = Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &program])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    text(&output.stdout).lines().map(str::to_owned).collect()
}

#[test]
fn completions_load_in_bash_and_complete_commands_and_flags() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("rampart.bash");
    let output = rampart(&["completions", "bash"], &[]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    std::fs::write(&script, &output.stdout).unwrap();

    assert_eq!(bash_completes(&script, &["rampart", "inci"]), ["incident"]);
    let all = bash_completes(&script, &["rampart", ""]);
    for command in top_level_commands() {
        assert!(all.contains(&command), "{command} in {all:?}");
    }
    assert_eq!(
        bash_completes(&script, &["rampart", "incident", "res"]),
        ["resolve"]
    );
    assert_eq!(
        bash_completes(&script, &["rampart", "incident", "ack", "--pro"]),
        ["--project"]
    );

    // The other shells get scripts in their own syntax (not run: no zsh or fish here).
    let zsh = rampart(&["completions", "zsh"], &[]);
    assert!(text(&zsh.stdout).starts_with("#compdef rampart"));
    let fish = rampart(&["completions", "fish"], &[]);
    assert!(text(&fish.stdout).contains("complete -c rampart"));
    let unknown = rampart(&["completions", "cmd.exe"], &[]);
    assert!(!unknown.status.success());
}

#[test]
fn man_page_names_every_command_and_renders() {
    let output = rampart(&["man"], &[]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let roff = text(&output.stdout);
    assert!(roff.contains(".TH rampart 1"), "{roff}");
    for command in top_level_commands() {
        // roff escapes the dash of `rampart-incident(1)`.
        assert!(
            roff.contains(&format!("rampart\\-{}(1)", command.replace('-', "\\-"))),
            "{command} is not in the manual page"
        );
    }

    // Rendered by man itself, when the machine has it.
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("rampart.1");
    std::fs::write(&page, &output.stdout).unwrap();
    if let Ok(rendered) = Command::new("man")
        .arg("-l")
        .arg(&page)
        .env("MANWIDTH", "200")
        .env("MANPAGER", "cat")
        .env("PAGER", "cat")
        .output()
    {
        assert!(rendered.status.success(), "{}", text(&rendered.stderr));
        let rendered = text(&rendered.stdout);
        assert!(rendered.contains("SUBCOMMANDS"), "{rendered}");
        for command in top_level_commands() {
            assert!(
                rendered.contains(&format!("rampart-{command}(1)")),
                "{command}"
            );
        }
    }

    // One page per command: every command of the tree, each readable by man.
    let pages = dir.path().join("man1");
    let written = rampart(&["man", "--dir", pages.to_str().unwrap()], &[]);
    assert!(written.status.success(), "{}", text(&written.stderr));
    let ack = std::fs::read_to_string(pages.join("rampart-incident-ack.1")).unwrap();
    assert!(ack.contains("Acknowledge an incident"), "{ack}");
    assert!(
        ack.contains("RAMPART_TOKEN"),
        "the environment is documented: {ack}"
    );
    for command in top_level_commands() {
        assert!(
            pages.join(format!("rampart-{command}.1")).exists(),
            "{command}"
        );
    }
}
