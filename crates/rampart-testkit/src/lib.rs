//! Test support (dev only): start the real Rampart server in-process on port 0 over
//! HTTPS, on SQLite (a fresh temporary data directory) or PostgreSQL (a fresh schema on
//! the server named by `RAMPART_TEST_DATABASE_URL`), and talk to it over HTTP like a
//! client would.
//!
//! Every server's logs go to one JSON-lines file per test process under
//! `target/test-logs/`, and every secret a test handles is listed next to it with
//! [`remember_secret`]; `scripts/check-test-logs.sh` then proves no secret was logged.
//! A PostgreSQL server's schema is dropped when the [`TestServer`] is stopped or
//! dropped (`rampart_store::testing::TestSchema`); the same script proves none is left.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

pub mod fault_proxy;
pub mod terraform;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use rampart_app::{Clock, ManualClock, SystemClock};
use rampart_cli::config::Config;
use rampart_cli::serve::{RunningServer, start};
pub use reqwest::StatusCode;
use serde_json::Value;

pub use rampart_store::testing::TEST_DATABASE_URL_VAR;

/// Where test logs and remembered secrets go.
pub fn test_log_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/test-logs")
}

fn secrets_file() -> &'static Mutex<std::fs::File> {
    static FILE: OnceLock<Mutex<std::fs::File>> = OnceLock::new();
    FILE.get_or_init(|| {
        let dir = test_log_dir();
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("secrets-{}.txt", std::process::id()));
        Mutex::new(std::fs::File::create(path).unwrap())
    })
}

/// The log file of this test process.
pub fn log_file_path() -> PathBuf {
    test_log_dir().join(format!("server-{}.jsonl", std::process::id()))
}

fn init_logging() {
    static INIT: OnceLock<()> = OnceLock::new();
    INIT.get_or_init(|| {
        std::fs::create_dir_all(test_log_dir()).unwrap();
        let file = std::fs::File::create(log_file_path()).unwrap();
        rampart_cli::logging::init_to_file(file);
    });
}

/// Records a secret the test used, so the log check can look for it.
pub fn remember_secret(secret: &str) {
    let mut file = secrets_file().lock().unwrap();
    writeln!(file, "{secret}").unwrap();
}

/// Reads the environment for the PostgreSQL test server.
#[allow(clippy::disallowed_methods)]
pub fn postgres_server_url() -> Option<String> {
    std::env::var(TEST_DATABASE_URL_VAR)
        .ok()
        .filter(|v| !v.is_empty())
}

/// Which database a test server uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// Changes a test server's configuration before it starts.
pub type Configure = Box<dyn FnOnce(&mut Config) + Send>;

/// Options for [`TestServer::start_with`].
#[derive(Default)]
pub struct Options {
    pub engine: Option<Engine>,
    pub clock: Option<Arc<ManualClock>>,
    pub configure: Option<Configure>,
    /// The root key as `RAMPART_ROOT_KEY` would give it (base64), instead of a key file.
    pub env_root_key: Option<String>,
}

/// A running test server and a client for it.
pub struct TestServer {
    pub url: String,
    pub admin_token: String,
    pub client: reqwest::Client,
    pub ca_cert: PathBuf,
    pub config: Config,
    pub clock: Option<Arc<ManualClock>>,
    env_root_key: Option<String>,
    server: Option<RunningServer>,
    _data_dir: tempfile::TempDir,
    /// The PostgreSQL schema, dropped after the server (declared after it).
    schema: Option<rampart_store::testing::TestSchema>,
}

/// A response as the tests look at it.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Reply {
    /// The stable error code of an error response. Every code a test reads must be in
    /// the catalogue (`rampart_domain::error_code`): an answer with another is a bug.
    pub fn code(&self) -> &str {
        let code = self.body["error"]["code"].as_str().unwrap_or("");
        assert!(
            code.is_empty() || rampart_domain::ErrorCode::is_known(code),
            "the server answered the uncatalogued error code {code:?}"
        );
        code
    }
}

pub fn https_client(ca_cert: &Path) -> reqwest::Client {
    let tls = rampart_cli::client::tls_client_config(Some(ca_cert)).unwrap();
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .build()
        .unwrap()
}

impl TestServer {
    /// A server on SQLite.
    pub async fn start() -> Self {
        Self::start_with(Options::default()).await
    }

    /// A server on PostgreSQL, or `None` when `RAMPART_TEST_DATABASE_URL` is not set.
    pub async fn start_postgres() -> Option<Self> {
        postgres_server_url()?;
        Some(
            Self::start_with(Options {
                engine: Some(Engine::Postgres),
                ..Options::default()
            })
            .await,
        )
    }

    pub async fn start_with(options: Options) -> Self {
        init_logging();
        let data_dir = tempfile::tempdir().unwrap();
        let mut config = Config::default();
        config.server.data_dir = data_dir.path().join("data");
        config.server.listen = "127.0.0.1:0".into();
        config.tls.reload_interval_secs = 1;
        let mut schema = None;
        if options.engine == Some(Engine::Postgres) {
            let server = postgres_server_url().expect("RAMPART_TEST_DATABASE_URL");
            let created = rampart_store::testing::TestSchema::create(&server)
                .await
                .unwrap();
            config.database.url = Some(created.url().to_owned());
            config.database.max_connections = 8;
            schema = Some(created);
        }
        if let Some(configure) = options.configure {
            configure(&mut config);
        }
        let clock: Arc<dyn Clock> = match &options.clock {
            Some(clock) => clock.clone(),
            None => Arc::new(SystemClock),
        };
        let server = start(&config, options.env_root_key.as_deref(), clock)
            .await
            .unwrap();
        let admin_token = server
            .initial_admin_token
            .as_ref()
            .unwrap()
            .expose()
            .to_owned();
        remember_secret(&admin_token);
        let ca_cert = server.cert_file.clone();
        Self {
            url: format!("https://{}", server.https_addr),
            admin_token,
            client: https_client(&ca_cert),
            ca_cert,
            config,
            clock: options.clock,
            env_root_key: options.env_root_key,
            server: Some(server),
            _data_dir: data_dir,
            schema,
        }
    }

    /// Another replica of this PostgreSQL installation: its own data directory (and
    /// self-signed certificate), joined with `rampart admin join` from a copy of this
    /// one's root key, serving the same database. `configure` adjusts its configuration.
    pub async fn start_replica(&self, configure: impl FnOnce(&mut Config)) -> TestServer {
        let data_dir = tempfile::tempdir().unwrap();
        let mut config = self.config.clone();
        config.server.data_dir = data_dir.path().join("data");
        config.server.listen = "127.0.0.1:0".into();
        config.tls.cert_file = None;
        config.tls.key_file = None;
        configure(&mut config);
        let key_copy = data_dir.path().join("copied-root.key");
        copy_private(&self.config.server.data_dir.join("root.key"), &key_copy);
        rampart_cli::admin::join_installation(&config, &key_copy)
            .await
            .unwrap();
        let clock: Arc<dyn Clock> = match &self.clock {
            Some(clock) => clock.clone(),
            None => Arc::new(SystemClock),
        };
        let server = start(&config, None, clock).await.unwrap();
        assert!(
            server.initial_admin_token.is_none(),
            "a replica initialises nothing"
        );
        let ca_cert = server.cert_file.clone();
        TestServer {
            url: format!("https://{}", server.https_addr),
            admin_token: self.admin_token.clone(),
            client: https_client(&ca_cert),
            ca_cert,
            config,
            clock: self.clock.clone(),
            env_root_key: None,
            server: Some(server),
            // The schema is the first replica's: it drops it (stop this one first).
            schema: None,
            _data_dir: data_dir,
        }
    }

    pub fn server(&self) -> &RunningServer {
        self.server.as_ref().unwrap()
    }

    /// The PostgreSQL schema of a server on PostgreSQL.
    pub fn postgres_schema(&self) -> Option<&rampart_store::testing::TestSchema> {
        self.schema.as_ref()
    }

    pub fn app(&self) -> &rampart_app::App {
        &self.server().app
    }

    /// The use-case context of a request made with `token` (for calling internal use
    /// cases, such as secret reads, directly).
    pub async fn ctx_for(&self, token: &str) -> rampart_app::Ctx {
        let meta = rampart_app::RequestMeta {
            client_ip: "127.0.0.1".into(),
            request_id: "test".into(),
        };
        let actor = self.app().authenticate_token(token, &meta).await.unwrap();
        let access = self.app().access_of(&actor).await.unwrap();
        rampart_app::Ctx::new(actor, meta, access)
    }

    /// Stops the server and starts it again on the same data directory and port.
    pub async fn restart(&mut self) {
        self.stop_in_place().await;
        self.start_again().await;
    }

    /// Stops the server, keeping its data directory (for offline `rampart admin`
    /// commands); [`TestServer::start_again`] brings it back on the same port.
    pub async fn stop_in_place(&mut self) {
        let addr = self.server().https_addr;
        self.server.take().unwrap().stop().await;
        self.config.server.listen = addr.to_string();
    }

    pub async fn start_again(&mut self) {
        let clock: Arc<dyn Clock> = match &self.clock {
            Some(clock) => clock.clone(),
            None => Arc::new(SystemClock),
        };
        self.server = Some(
            start(&self.config, self.env_root_key.as_deref(), clock)
                .await
                .unwrap(),
        );
    }

    /// Stops the server for good and drops its PostgreSQL schema (dropping a
    /// `TestServer` does both too, less gracefully).
    pub async fn stop(mut self) {
        if let Some(server) = self.server.take() {
            server.stop().await;
        }
        if let Some(schema) = self.schema.take() {
            schema.drop_now().await.unwrap();
        }
    }

    /// Sends a request with an optional bearer token and JSON body.
    pub async fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Reply {
        let mut request = self.client.request(method, format!("{}{path}", self.url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        read(request.send().await.unwrap()).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.request(reqwest::Method::GET, path, Some(token), None)
            .await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Reply {
        self.request(reqwest::Method::POST, path, Some(token), Some(&body))
            .await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Reply {
        self.request(reqwest::Method::PATCH, path, Some(token), Some(&body))
            .await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Reply {
        self.request(reqwest::Method::DELETE, path, Some(token), None)
            .await
    }

    /// Creates a personal token for the holder of `token`; returns the secret.
    pub async fn create_token(&self, token: &str, body: Value) -> String {
        let reply = self.post("/api/v1/tokens", token, body).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        let secret = reply.body["secret"].as_str().unwrap().to_owned();
        remember_secret(&secret);
        secret
    }

    /// Creates a user with a password and returns (user id, a personal token of theirs
    /// obtained through a session login).
    pub async fn create_user(&self, email: &str, password: &str) -> String {
        remember_secret(password);
        let reply = self
            .post(
                "/api/v1/users",
                &self.admin_token,
                serde_json::json!({"email": email, "display_name": "Test User", "password": password}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        reply.body["id"].as_str().unwrap().to_owned()
    }
}

/// Copies a key file keeping it private (0600), as an operator copying it would.
pub fn copy_private(from: &Path, to: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::copy(from, to).unwrap();
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// Reads a response into a [`Reply`].
pub async fn read(response: reqwest::Response) -> Reply {
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        body,
        text,
    }
}
