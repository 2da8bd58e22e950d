//! Configuration: a TOML file (`--config`), every key also settable as an environment
//! variable `RAMPART_<SECTION>__<KEY>`, then command-line flags. Unknown keys are errors.
//! Every value is validated here, at start, with a message naming the key; the rest of
//! the server receives typed, checked settings.
//!
//! This is the only module that reads the process environment.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ipnet::IpNet;
use rampart_app::AppSettings;
use rampart_crypto::PasswordParams;
use rampart_domain::platform::identity::SessionTimeouts;
use rampart_domain::platform::password::PasswordPolicy;
use rampart_http::HttpSettings;
use serde::Deserialize;

/// Environment variables that are not `RAMPART_<SECTION>__<KEY>` settings but are known.
pub const ENV_DATABASE_URL: &str = "RAMPART_DATABASE_URL";
pub const ENV_ROOT_KEY: &str = "RAMPART_ROOT_KEY";

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
#[derive(Default)]
pub struct Config {
    pub server: ServerSection,
    pub tls: TlsSection,
    pub database: DatabaseSection,
    pub auth: AuthSection,
    pub log: LogSection,
    pub audit: AuditSection,
    pub keys: KeysSection,
    pub iacm: IacmSection,
    pub oncall: OncallSection,
    pub rate_limits: RateLimitsSection,
}

/// Request rates and authentication failures, per server process (0 switches one off).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitsSection {
    /// Requests a second per client address (IPv6: per /64); bursts of two seconds' worth.
    pub requests_per_second_per_ip: u32,
    /// Requests a second per authenticated user or service account; bursts of five
    /// seconds' worth.
    pub requests_per_second_per_principal: u32,
    /// Failed authentications a minute per client address before it is refused unchecked.
    pub auth_failures_per_minute_per_ip: u32,
    /// Failed logins an hour for one account from one address.
    pub login_failures_per_hour_per_account_and_ip: u32,
    /// Failed logins an hour for one account from addresses it has not signed in from.
    pub login_failures_per_hour_per_account: u32,
    /// How often refusals are written to the audit log as counted `auth.throttled` events.
    pub audit_summary_interval_secs: u64,
}

impl Default for RateLimitsSection {
    fn default() -> Self {
        use rampart_domain::limits::*;
        Self {
            requests_per_second_per_ip: REQUESTS_PER_SECOND_PER_IP_DEFAULT,
            requests_per_second_per_principal: REQUESTS_PER_SECOND_PER_PRINCIPAL_DEFAULT,
            auth_failures_per_minute_per_ip: AUTH_FAILURES_PER_IP_PER_MINUTE_DEFAULT,
            login_failures_per_hour_per_account_and_ip:
                LOGIN_FAILURES_PER_ACCOUNT_AND_IP_PER_HOUR_DEFAULT,
            login_failures_per_hour_per_account: LOGIN_FAILURES_PER_ACCOUNT_PER_HOUR_DEFAULT,
            audit_summary_interval_secs: THROTTLE_AUDIT_SUMMARY_SECS_DEFAULT,
        }
    }
}

impl RateLimitsSection {
    pub fn rules(&self) -> rampart_domain::platform::throttle::ThrottleRules {
        rampart_domain::platform::throttle::ThrottleRules::new(
            self.requests_per_second_per_ip,
            self.requests_per_second_per_principal,
            self.auth_failures_per_minute_per_ip,
            self.login_failures_per_hour_per_account_and_ip,
            self.login_failures_per_hour_per_account,
        )
    }
}

/// Incident response: the escalation engine.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct OncallSection {
    /// How often due escalations are advanced (pages sent) and new notifications
    /// handed to delegates for delivery.
    pub engine_interval_secs: u64,
}

impl Default for OncallSection {
    fn default() -> Self {
        Self {
            engine_interval_secs: 5,
        }
    }
}

/// Infrastructure as code: the Terraform/OpenTofu state backend and plans.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct IacmSection {
    /// The largest state body the backend accepts (413 above it).
    pub state_size_bytes_max: usize,
    /// The largest plan JSON a plan upload accepts (413 above it).
    pub plan_json_bytes_max: usize,
    /// The largest binary plan file a plan accepts (413 above it).
    pub plan_file_bytes_max: usize,
}

impl Default for IacmSection {
    fn default() -> Self {
        Self {
            state_size_bytes_max: rampart_domain::limits::STATE_SIZE_BYTES_MAX_DEFAULT,
            plan_json_bytes_max: rampart_domain::limits::PLAN_JSON_BYTES_MAX_DEFAULT,
            plan_file_bytes_max: rampart_domain::limits::PLAN_FILE_BYTES_MAX_DEFAULT,
        }
    }
}

/// Encryption-at-rest background work.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct KeysSection {
    /// How often data sealed under rotated-out key versions is resealed.
    pub rewrap_interval_secs: u64,
}

impl Default for KeysSection {
    fn default() -> Self {
        Self {
            rewrap_interval_secs: 30,
        }
    }
}

/// The audit log's background work.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AuditSection {
    /// How often a checkpoint over new events is signed (an export always signs one).
    pub checkpoint_interval_secs: u64,
    /// How often organisations' retention settings are applied.
    pub retention_sweep_interval_secs: u64,
}

impl Default for AuditSection {
    fn default() -> Self {
        Self {
            checkpoint_interval_secs: 60,
            retention_sweep_interval_secs: 3600,
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSection {
    /// HTTPS listen address.
    pub listen: String,
    pub data_dir: PathBuf,
    /// Optional plain-HTTP listener for a TLS-terminating proxy; loopback only.
    pub plain_http_listen: Option<String>,
    pub request_timeout_secs: u64,
    pub body_bytes_max: usize,
    pub metrics_public: bool,
    /// Serve `/readyz` without a token, for load balancers.
    pub readyz_public: bool,
    /// CIDRs of proxies whose X-Forwarded-For is believed.
    pub trusted_proxies: Vec<String>,
    /// Email of the owner created when `serve` initialises a new data directory.
    pub admin_email: String,
    /// How often this replica records its heartbeat and follows a root-key rotation.
    pub replica_heartbeat_secs: u64,
    /// Where users reach the server (`https://rampart.example.com`): single sign-on
    /// redirect URIs are built from it. Default: `https://<listen address>`.
    pub public_url: Option<String>,
}

impl Default for ServerSection {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8443".into(),
            data_dir: PathBuf::from("./rampart-data"),
            plain_http_listen: None,
            request_timeout_secs: 30,
            body_bytes_max: rampart_domain::limits::API_BODY_BYTES_MAX,
            metrics_public: false,
            readyz_public: false,
            trusted_proxies: Vec::new(),
            admin_email: "admin@localhost".into(),
            replica_heartbeat_secs: rampart_domain::limits::REPLICA_HEARTBEAT_SECS_DEFAULT,
            public_url: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TlsSection {
    /// PEM certificate chain; without it a self-signed certificate is made in the data dir.
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    /// How often the certificate files are checked for changes.
    pub reload_interval_secs: u64,
}

impl Default for TlsSection {
    fn default() -> Self {
        Self {
            cert_file: None,
            key_file: None,
            reload_interval_secs: 5,
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSection {
    /// `sqlite://…` or `postgres://…`; default SQLite in the data dir.
    pub url: Option<String>,
    pub max_connections: u32,
    /// How long a request waits for a database connection (including connecting) before
    /// it is answered 503 `store_unavailable`: an outage answers quickly, not after a hang.
    pub acquire_timeout_secs: u64,
}

impl Default for DatabaseSection {
    fn default() -> Self {
        Self {
            url: None,
            max_connections: 16,
            acquire_timeout_secs: 3,
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSection {
    pub token_lifetime_days_max: u32,
    pub session_idle_timeout_secs: u64,
    pub session_absolute_timeout_secs: u64,
    /// Step-up: a session's sign-in must be this recent for a sensitive action.
    pub reauthentication_minutes: u64,
    pub password_chars_min: usize,
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    pub argon2_parallelism: u32,
}

impl Default for AuthSection {
    fn default() -> Self {
        use rampart_domain::limits::*;
        let params = PasswordParams::default();
        Self {
            token_lifetime_days_max: TOKEN_LIFETIME_DAYS_MAX_DEFAULT,
            session_idle_timeout_secs: SESSION_IDLE_TIMEOUT_SECS_DEFAULT,
            session_absolute_timeout_secs: SESSION_ABSOLUTE_TIMEOUT_SECS_DEFAULT,
            reauthentication_minutes: REAUTHENTICATION_MINUTES_DEFAULT,
            password_chars_min: PASSWORD_CHARS_MIN_DEFAULT,
            argon2_memory_kib: params.memory_kib,
            argon2_iterations: params.iterations,
            argon2_parallelism: params.parallelism,
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LogSection {
    /// A tracing filter: `info`, `rampart=debug,info`, …
    pub level: String,
    /// `json` or `text`.
    pub format: String,
}

impl Default for LogSection {
    fn default() -> Self {
        Self {
            level: "info".into(),
            format: "json".into(),
        }
    }
}

/// A configuration problem, always naming the key.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("configuration: {key}: {problem}")]
pub struct ConfigError {
    pub key: String,
    pub problem: String,
}

fn problem(key: &str, text: impl Into<String>) -> ConfigError {
    ConfigError {
        key: key.to_owned(),
        problem: text.into(),
    }
}

/// A value serde refused, at `path` (`section.key`, or `section` for an unknown section):
/// an unknown key is named with its section, `[server] unknown key "x"`, and the keys
/// the section has; a bad value with its key.
fn deserialize_problem(path: &str, message: &str) -> ConfigError {
    let Some(rest) = message.strip_prefix("unknown field `") else {
        return problem(path, message);
    };
    let (name, expected) = rest.split_once('`').unwrap_or((rest, ""));
    let known = expected
        .trim_start_matches(", expected one of ")
        .trim_start_matches(", expected ")
        .replace('`', "");
    match path.rsplit_once('.') {
        Some((section, _)) => problem(
            &format!("[{section}]"),
            format!("unknown key \"{name}\" (the section's keys: {known})"),
        ),
        None => problem(
            &format!("[{name}]"),
            format!("unknown section (the sections: {known})"),
        ),
    }
}

/// Reads the process environment (the only place that does).
#[allow(clippy::disallowed_methods)]
pub fn process_env() -> BTreeMap<String, String> {
    std::env::vars().collect()
}

fn env_value(raw: &str) -> toml::Value {
    // Numbers, booleans and arrays are read as TOML; anything else is a string.
    toml::from_str::<toml::Table>(&format!("v = {raw}"))
        .ok()
        .and_then(|mut table| table.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_owned()))
}

impl Config {
    /// Loads the file (if any), overlays `RAMPART_<SECTION>__<KEY>` variables from
    /// `env`, and validates everything.
    pub fn load(file: Option<&Path>, env: &BTreeMap<String, String>) -> Result<Self, ConfigError> {
        let mut table = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| problem(&path.display().to_string(), e.to_string()))?;
                toml::from_str::<toml::Table>(&text)
                    .map_err(|e| problem(&path.display().to_string(), e.message().to_owned()))?
            }
            None => toml::Table::new(),
        };
        for (name, raw) in env {
            let Some(rest) = name.strip_prefix("RAMPART_") else {
                continue;
            };
            let (section, key) = if name == ENV_DATABASE_URL {
                ("database".to_owned(), "url".to_owned())
            } else if let Some((section, key)) = rest.split_once("__") {
                (section.to_lowercase(), key.to_lowercase())
            } else {
                continue;
            };
            let entry = table
                .entry(section.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            let toml::Value::Table(section_table) = entry else {
                return Err(problem(&section, "must be a table"));
            };
            let value = if key == "url" || key.ends_with("_file") || key.ends_with("_dir") {
                toml::Value::String(raw.clone())
            } else {
                env_value(raw)
            };
            section_table.insert(key, value);
        }
        let config: Config = serde_path_to_error::deserialize(toml::Value::Table(table))
            .map_err(|e| deserialize_problem(&e.path().to_string(), e.inner().message()))?;
        config.validate()?;
        Ok(config)
    }

    pub fn listen_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.server
            .listen
            .parse()
            .map_err(|_| problem("server.listen", "must be an address like 127.0.0.1:8443"))
    }

    pub fn plain_http_addr(&self) -> Result<Option<SocketAddr>, ConfigError> {
        let Some(text) = &self.server.plain_http_listen else {
            return Ok(None);
        };
        let addr: SocketAddr = text.parse().map_err(|_| {
            problem(
                "server.plain_http_listen",
                "must be an address like 127.0.0.1:8080",
            )
        })?;
        if !addr.ip().is_loopback() {
            return Err(problem(
                "server.plain_http_listen",
                "plain HTTP is only allowed on a loopback address (behind a TLS-terminating proxy)",
            ));
        }
        Ok(Some(addr))
    }

    pub fn trusted_proxies(&self) -> Result<Vec<IpNet>, ConfigError> {
        self.server
            .trusted_proxies
            .iter()
            .map(|text| {
                text.parse::<IpNet>()
                    .or_else(|_| text.parse::<std::net::IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        problem("server.trusted_proxies", format!("'{text}' is not a CIDR"))
                    })
            })
            .collect()
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if let Some(url) = &self.server.public_url {
            // The same shape as an OpenID issuer: https, a host, no query or fragment.
            rampart_domain::platform::sso::check_issuer(url)
                .map_err(|error| problem("server.public_url", error.reason))?;
        }
        self.listen_addr()?;
        self.plain_http_addr()?;
        self.trusted_proxies()?;
        let range = |key: &str, value: u64, min: u64, max: u64| {
            if value < min || value > max {
                Err(problem(key, format!("must be between {min} and {max}")))
            } else {
                Ok(())
            }
        };
        range(
            "server.request_timeout_secs",
            self.server.request_timeout_secs,
            1,
            3600,
        )?;
        range(
            "server.body_bytes_max",
            u64::try_from(self.server.body_bytes_max).unwrap_or(u64::MAX),
            1024,
            64 * 1024 * 1024,
        )?;
        range(
            "server.replica_heartbeat_secs",
            self.server.replica_heartbeat_secs,
            1,
            300,
        )?;
        rampart_domain::Email::parse(&self.server.admin_email)
            .map_err(|e| problem("server.admin_email", e.reason))?;
        if self.server.data_dir.as_os_str().is_empty() {
            return Err(problem("server.data_dir", "must not be empty"));
        }
        match (&self.tls.cert_file, &self.tls.key_file) {
            (Some(_), None) => {
                return Err(problem("tls.key_file", "is required with tls.cert_file"));
            }
            (None, Some(_)) => {
                return Err(problem("tls.cert_file", "is required with tls.key_file"));
            }
            _ => {}
        }
        range(
            "tls.reload_interval_secs",
            self.tls.reload_interval_secs,
            1,
            3600,
        )?;
        range(
            "audit.checkpoint_interval_secs",
            self.audit.checkpoint_interval_secs,
            1,
            86_400,
        )?;
        range(
            "oncall.engine_interval_secs",
            self.oncall.engine_interval_secs,
            1,
            300,
        )?;
        range(
            "iacm.state_size_bytes_max",
            self.iacm.state_size_bytes_max as u64,
            1024,
            1024 * 1024 * 1024,
        )?;
        range(
            "iacm.plan_json_bytes_max",
            self.iacm.plan_json_bytes_max as u64,
            1024,
            1024 * 1024 * 1024,
        )?;
        range(
            "iacm.plan_file_bytes_max",
            self.iacm.plan_file_bytes_max as u64,
            1024,
            1024 * 1024 * 1024,
        )?;
        range(
            "keys.rewrap_interval_secs",
            self.keys.rewrap_interval_secs,
            1,
            86_400,
        )?;
        range(
            "audit.retention_sweep_interval_secs",
            self.audit.retention_sweep_interval_secs,
            1,
            86_400,
        )?;
        if let Some(url) = &self.database.url
            && !(url.starts_with("sqlite:")
                || url.starts_with("postgres://")
                || url.starts_with("postgresql://"))
        {
            return Err(problem(
                "database.url",
                "must start with sqlite:// or postgres://",
            ));
        }
        range(
            "database.max_connections",
            u64::from(self.database.max_connections),
            1,
            1000,
        )?;
        range(
            "rate_limits.audit_summary_interval_secs",
            self.rate_limits.audit_summary_interval_secs,
            1,
            86_400,
        )?;
        range(
            "database.acquire_timeout_secs",
            self.database.acquire_timeout_secs,
            1,
            300,
        )?;
        range(
            "auth.token_lifetime_days_max",
            u64::from(self.auth.token_lifetime_days_max),
            1,
            3650,
        )?;
        // The idle clock slides at most once a minute, so a shorter idle timeout would
        // end sessions that are in use.
        range(
            "auth.session_idle_timeout_secs",
            self.auth.session_idle_timeout_secs,
            300,
            86_400,
        )?;
        range(
            "auth.session_absolute_timeout_secs",
            self.auth.session_absolute_timeout_secs,
            self.auth.session_idle_timeout_secs,
            30 * 86_400,
        )?;
        range(
            "auth.reauthentication_minutes",
            self.auth.reauthentication_minutes,
            1,
            24 * 60,
        )?;
        PasswordPolicy::new(self.auth.password_chars_min)
            .map_err(|e| problem("auth.password_chars_min", e.reason))?;
        // OWASP's weakest acceptable Argon2id setting is 7 MiB with 5 passes.
        range(
            "auth.argon2_memory_kib",
            u64::from(self.auth.argon2_memory_kib),
            7 * 1024,
            4 * 1024 * 1024,
        )?;
        range(
            "auth.argon2_iterations",
            u64::from(self.auth.argon2_iterations),
            1,
            100,
        )?;
        range(
            "auth.argon2_parallelism",
            u64::from(self.auth.argon2_parallelism),
            1,
            64,
        )?;
        if !matches!(self.log.format.as_str(), "json" | "text") {
            return Err(problem("log.format", "must be json or text"));
        }
        tracing_subscriber::EnvFilter::try_new(&self.log.level)
            .map_err(|e| problem("log.level", e.to_string()))?;
        Ok(())
    }

    /// The database URL in force: configured, or SQLite in the data directory.
    pub fn database_url(&self) -> String {
        self.database.url.clone().unwrap_or_else(|| {
            format!(
                "sqlite://{}?mode=rwc",
                self.server.data_dir.join("rampart.db").display()
            )
        })
    }

    /// The settings of the application layer (the root key file is the caller's).
    pub fn app_settings(&self) -> AppSettings {
        AppSettings {
            token_lifetime_days_max: self.auth.token_lifetime_days_max,
            session_timeouts: SessionTimeouts {
                idle_secs: self.auth.session_idle_timeout_secs,
                absolute_secs: self.auth.session_absolute_timeout_secs,
            },
            reauthentication_window_secs: self.auth.reauthentication_minutes * 60,
            password_policy: PasswordPolicy {
                chars_min: self.auth.password_chars_min,
            },
            password_params: PasswordParams {
                memory_kib: self.auth.argon2_memory_kib,
                iterations: self.auth.argon2_iterations,
                parallelism: self.auth.argon2_parallelism,
            },
            root_key_file: None,
            state_size_bytes_max: self.iacm.state_size_bytes_max,
            plan_json_bytes_max: self.iacm.plan_json_bytes_max,
            plan_file_bytes_max: self.iacm.plan_file_bytes_max,
            throttle_rules: self.rate_limits.rules(),
            replica_name: replica_name(&self.server.listen),
            replica_heartbeat_secs: self.server.replica_heartbeat_secs,
            public_url: self.server.public_url.clone(),
        }
    }

    pub fn http_settings(&self) -> Result<HttpSettings, ConfigError> {
        Ok(HttpSettings {
            trusted_proxies: self.trusted_proxies()?,
            request_timeout: Duration::from_secs(self.server.request_timeout_secs),
            metrics_public: self.server.metrics_public,
            readyz_public: self.server.readyz_public,
            body_bytes_max: self.server.body_bytes_max,
        })
    }
}

/// How a replica names itself to the others: the machine's host name and its listen
/// address (what an operator needs to find it).
fn replica_name(listen: &str) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_owned())
        .unwrap_or_default();
    if host.is_empty() {
        listen.to_owned()
    } else {
        format!("{host} {listen}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn environment_overrides_file_and_unknown_keys_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("rampart.toml");
        std::fs::write(
            &file,
            "[server]\nlisten = \"127.0.0.1:9000\"\nrequest_timeout_secs = 10\n",
        )
        .unwrap();
        let config = Config::load(
            Some(&file),
            &env(&[
                ("RAMPART_SERVER__REQUEST_TIMEOUT_SECS", "20"),
                ("RAMPART_DATABASE_URL", "postgres://x@localhost/db"),
                ("RAMPART_URL", "https://ignored-client-setting"),
            ]),
        )
        .unwrap();
        assert_eq!(config.server.listen, "127.0.0.1:9000");
        assert_eq!(config.server.request_timeout_secs, 20);
        assert_eq!(config.database_url(), "postgres://x@localhost/db");

        std::fs::write(&file, "[server]\nlisten_port = 1\n").unwrap();
        let error = Config::load(Some(&file), &BTreeMap::new()).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("configuration: [server]: unknown key \"listen_port\" (the section's keys: listen, data_dir,"),
            "{error}"
        );
        let error = Config::load(None, &env(&[("RAMPART_SERVER__NOPE", "1")])).unwrap_err();
        assert_eq!(error.key, "[server]");
        assert!(error.problem.starts_with("unknown key \"nope\""), "{error}");
        let error = Config::load(None, &env(&[("RAMPART_NOPE__X", "1")])).unwrap_err();
        assert_eq!(error.key, "[nope]");
        assert!(
            error
                .problem
                .starts_with("unknown section (the sections: server, tls,"),
            "{error}"
        );
        // A value of the wrong type names its key.
        let error =
            Config::load(None, &env(&[("RAMPART_AUTH__ARGON2_ITERATIONS", "x")])).unwrap_err();
        assert_eq!(error.key, "auth.argon2_iterations", "{error}");
    }

    #[test]
    fn values_are_validated_with_the_key_named() {
        let cases = [
            ("RAMPART_SERVER__LISTEN", "not-an-address", "server.listen"),
            (
                "RAMPART_SERVER__PLAIN_HTTP_LISTEN",
                "0.0.0.0:8080",
                "server.plain_http_listen",
            ),
            (
                "RAMPART_SERVER__REQUEST_TIMEOUT_SECS",
                "0",
                "server.request_timeout_secs",
            ),
            (
                "RAMPART_AUTH__PASSWORD_CHARS_MIN",
                "6",
                "auth.password_chars_min",
            ),
            (
                "RAMPART_AUTH__ARGON2_MEMORY_KIB",
                "64",
                "auth.argon2_memory_kib",
            ),
            ("RAMPART_DATABASE__URL", "mysql://x", "database.url"),
            ("RAMPART_LOG__FORMAT", "xml", "log.format"),
            ("RAMPART_TLS__CERT_FILE", "/x.pem", "tls.key_file"),
            (
                "RAMPART_SERVER__TRUSTED_PROXIES",
                "[\"nonsense\"]",
                "server.trusted_proxies",
            ),
        ];
        for (name, value, key) in cases {
            let error = Config::load(None, &env(&[(name, value)])).unwrap_err();
            assert_eq!(error.key, key, "{name}={value}: {error}");
        }
        let ok = Config::load(
            None,
            &env(&[("RAMPART_SERVER__PLAIN_HTTP_LISTEN", "127.0.0.1:8080")]),
        );
        assert!(ok.is_ok());
    }
}
