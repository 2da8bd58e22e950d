//! Rampart's use cases.
//!
//! One function per operation, each following the same steps: take an authenticated
//! [`Ctx`], check the permission (through [`authorize`] — the one decision function),
//! load, apply the domain rule, then persist and audit in one store transaction. The
//! store's `WriteTx::commit` takes the audit record, so no mutation can skip it.
//!
//! Plaintext secrets exist here only in memory; the store sees hashes and HMACs. Time
//! comes from the injected [`Clock`].

pub mod access;
pub mod audit;
mod audit_queue;
pub mod bootstrap;
pub mod clock;
pub mod context;
pub mod credentials;
pub mod error;
mod group_commit;
pub mod iacm;
pub mod platform;
pub mod sealing;
pub mod sre;
pub mod tls_roots;

use std::sync::Arc;

use rampart_crypto::{PasswordHasher, PasswordParams, Pepper, RootKey};
use rampart_domain::platform::identity::SessionTimeouts;
use rampart_domain::platform::password::PasswordPolicy;
use rampart_store::Store;

pub use access::{Access, authorize, authorize_resource};
pub use clock::{Clock, ManualClock, SystemClock};
pub use context::{Actor, AuthMethod, Ctx, RequestMeta};
pub use error::{AppError, AppResult};

/// Settings the use cases need (already validated by the configuration loader).
#[derive(Clone, Debug)]
pub struct AppSettings {
    pub token_lifetime_days_max: u32,
    pub session_timeouts: SessionTimeouts,
    /// Step-up: how recent (seconds) a session's sign-in must be for a sensitive route.
    pub reauthentication_window_secs: u64,
    pub password_policy: PasswordPolicy,
    pub password_params: PasswordParams,
    /// The root key's file, when the server may replace it (online root-key rotation);
    /// `None` when the key came from the environment.
    pub root_key_file: Option<std::path::PathBuf>,
    /// The largest Terraform state body the backend accepts.
    pub state_size_bytes_max: usize,
    /// The largest plan JSON (`terraform show -json`) a plan upload accepts.
    pub plan_json_bytes_max: usize,
    /// The largest binary plan file a plan accepts.
    pub plan_file_bytes_max: usize,
    /// Request-rate and authentication-failure limits.
    pub throttle_rules: rampart_domain::platform::throttle::ThrottleRules,
    /// How this replica names itself in `server_replicas` (host and listen address).
    pub replica_name: String,
    /// How often the replica heartbeat runs; other replicas count this one as gone
    /// after six missed beats.
    pub replica_heartbeat_secs: u64,
    /// Where users reach the server (`https://rampart.example.com`), when it is not the
    /// listen address (behind a proxy, a DNS name).
    pub public_url: Option<String>,
}

impl Default for AppSettings {
    fn default() -> Self {
        use rampart_domain::limits::*;
        Self {
            token_lifetime_days_max: TOKEN_LIFETIME_DAYS_MAX_DEFAULT,
            session_timeouts: SessionTimeouts {
                idle_secs: SESSION_IDLE_TIMEOUT_SECS_DEFAULT,
                absolute_secs: SESSION_ABSOLUTE_TIMEOUT_SECS_DEFAULT,
            },
            reauthentication_window_secs: REAUTHENTICATION_MINUTES_DEFAULT * 60,
            password_policy: PasswordPolicy {
                chars_min: PASSWORD_CHARS_MIN_DEFAULT,
            },
            password_params: PasswordParams::default(),
            root_key_file: None,
            state_size_bytes_max: STATE_SIZE_BYTES_MAX_DEFAULT,
            plan_json_bytes_max: PLAN_JSON_BYTES_MAX_DEFAULT,
            plan_file_bytes_max: PLAN_FILE_BYTES_MAX_DEFAULT,
            throttle_rules: rampart_domain::platform::throttle::ThrottleRules::default(),
            replica_name: "rampart".into(),
            replica_heartbeat_secs: REPLICA_HEARTBEAT_SECS_DEFAULT,
            public_url: None,
        }
    }
}

struct Inner {
    store: Store,
    clock: Arc<dyn Clock>,
    pepper: Pepper,
    passwords: PasswordHasher,
    settings: AppSettings,
    /// The audit log's checkpoint key.
    signer: rampart_crypto::checkpoint::CheckpointSigner,
    /// Signs every task handed to a delegate.
    task_key: rampart_crypto::task_signature::TaskSigningKey,
    /// Wakes delegates' polls waiting on this replica when tasks are queued.
    delegate_wakeup: tokio::sync::Notify,
    /// Wraps and unwraps key rings (see `sealing`).
    root_keys: sealing::RootKeys,
    /// Webhook request counts per integration.
    webhook_limits: sre::alerts::RateLimiter,
    /// Request rates and authentication failures per client, principal and account.
    throttle: platform::throttle::Throttle,
    /// Group commit for webhook deliveries.
    ingest_queue: sre::ingest_queue::IngestQueue,
    /// Group commit for authentication events.
    audit_queue: audit_queue::AuditQueue,
    /// Every kind of sealed value the features store, for the rewrap job.
    sealed_places: Vec<sealing::SealedPlace>,
    /// This server among the replicas on the database.
    replica: platform::replicas::ReplicaIdentity,
    /// Prepared policy engines by (set, version).
    policy_cache: iacm::policy_sets::PreparedCache,
    /// Runbook triggers by (runbook, version).
    runbook_triggers: sre::runbooks::TriggerCache,
    /// SLO indicators by (SLO, version), for the remote-write receiver.
    slo_definitions: sre::slos::DefinitionCache,
    /// SLOs' minutes kept between the engine's ticks.
    slo_minutes: sre::slos::MinuteCache,
    /// SSO providers' clients and discovery documents.
    sso_discovery: platform::sso::DiscoveryCache,
    /// `https://<bound address>`: the public URL when none is configured (set once the
    /// listener is bound; see [`App::public_url`]).
    listen_url: std::sync::OnceLock<String>,
}

/// Every kind of sealed value that a feature stores: the registry the rewrap job walks
/// (see `sealing`), and which the "no plaintext at rest" test covers place by place. A
/// feature with a new sealed column declares its `SEALED_PLACES` and is listed here.
pub fn sealed_places() -> Vec<sealing::SealedPlace> {
    platform::secrets::SEALED_PLACES
        .iter()
        .chain(platform::delegates::SEALED_PLACES)
        .chain(iacm::state_versions::SEALED_PLACES)
        .chain(iacm::plans::SEALED_PLACES)
        .chain(iacm::policy_sets::SEALED_PLACES)
        .chain(iacm::variables::SEALED_PLACES)
        .copied()
        .chain(sre::sealed_places())
        .collect()
}

/// Every kind of blind index that a feature stores (see `sealing`), which the "no
/// plaintext at rest" test covers column by column. A feature with a new one declares
/// its `BLIND_INDEXES` and is listed here.
pub fn blind_indexes() -> Vec<sealing::BlindIndex> {
    sre::blind_indexes().collect()
}

/// The application: every use case is a method. Cheap to clone.
#[derive(Clone)]
pub struct App {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App").finish_non_exhaustive()
    }
}

impl App {
    /// Opens an initialised installation: unwraps the pepper with the root key.
    pub async fn open(
        store: Store,
        root_key: &RootKey,
        clock: Arc<dyn Clock>,
        settings: AppSettings,
    ) -> AppResult<Self> {
        let pepper = bootstrap::load_pepper(&store, root_key).await?;
        let signer =
            platform::audit_log::load_or_create_signer(&store, root_key, clock.now()).await?;
        let task_key =
            platform::delegates::load_or_create_task_key(&store, root_key, clock.now()).await?;
        let passwords = PasswordHasher::new(settings.password_params)
            .map_err(|error| AppError::Internal(error.to_string()))?;
        // The pepper opened, so the root key is the database's: record its id if this
        // installation has none yet (created before migration 17).
        sealing::record_root_key_id(&store, root_key, clock.now()).await?;
        let root_keys = sealing::RootKeys::new(root_key.clone(), settings.root_key_file.clone());
        let replica = platform::replicas::ReplicaIdentity::new(clock.now())?;
        Ok(Self {
            inner: Arc::new_cyclic(|weak| Inner {
                ingest_queue: sre::ingest_queue::IngestQueue::start(weak.clone(), store.engine()),
                audit_queue: audit_queue::AuditQueue::start(store.clone()),
                webhook_limits: sre::alerts::RateLimiter::default(),
                throttle: platform::throttle::Throttle::new(settings.throttle_rules),
                sealed_places: sealed_places(),
                store,
                clock,
                pepper,
                passwords,
                settings,
                signer,
                task_key,
                delegate_wakeup: tokio::sync::Notify::new(),
                root_keys,
                replica,
                policy_cache: Default::default(),
                runbook_triggers: Default::default(),
                slo_definitions: Default::default(),
                slo_minutes: Default::default(),
                sso_discovery: Default::default(),
                listen_url: std::sync::OnceLock::new(),
            }),
        })
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The clock reading, truncated to the microsecond precision the store keeps, so
    /// that what a use case returns equals what a later read returns.
    pub fn now(&self) -> jiff::Timestamp {
        let now = self.inner.clock.now();
        jiff::Timestamp::from_microsecond(now.as_microsecond()).unwrap_or(now)
    }

    pub fn settings(&self) -> &AppSettings {
        &self.inner.settings
    }

    /// Records the address the HTTPS listener bound: the public URL's fallback, unless
    /// it is every address (`0.0.0.0`, `::`), which names no place a browser can go.
    pub fn set_listen_address(&self, bound: std::net::SocketAddr) {
        if !bound.ip().is_unspecified() {
            let _ = self.inner.listen_url.set(format!("https://{bound}"));
        }
    }

    /// Where users reach this server (`server.public_url`, else the HTTPS listener's
    /// address), without a trailing slash: SSO redirect URIs are built from it. `None`
    /// when neither names a place (`public_url_unknown` for whoever needs it).
    pub fn public_url(&self) -> Option<String> {
        match &self.inner.settings.public_url {
            Some(url) => Some(url.trim_end_matches('/').to_owned()),
            None => self.inner.listen_url.get().cloned(),
        }
    }

    pub(crate) fn pepper(&self) -> &Pepper {
        &self.inner.pepper
    }

    /// Verifies a password against a stored hash (or, without one, spends the same time
    /// and answers `Mismatch`). Argon2 is deliberately slow, so it runs on the blocking
    /// pool and never stalls the request threads.
    pub(crate) async fn verify_password(
        &self,
        password: &str,
        stored_phc: Option<String>,
    ) -> AppResult<rampart_crypto::PasswordVerdict> {
        let hasher = self.inner.passwords.clone();
        let password = zeroize::Zeroizing::new(password.to_owned());
        tokio::task::spawn_blocking(move || match stored_phc {
            Some(phc) => hasher.verify(&password, &phc),
            None => {
                hasher.verify_dummy(&password);
                rampart_crypto::PasswordVerdict::Mismatch
            }
        })
        .await
        .map_err(|error| AppError::Internal(error.to_string()))
    }

    /// Hashes a password on the blocking pool.
    pub(crate) async fn hash_password(&self, password: &str) -> AppResult<String> {
        let hasher = self.inner.passwords.clone();
        let password = zeroize::Zeroizing::new(password.to_owned());
        tokio::task::spawn_blocking(move || hasher.hash(&password))
            .await
            .map_err(|error| AppError::Internal(error.to_string()))?
            .map_err(AppError::from)
    }

    /// The actor's role assignments, read fresh for this request (a removed assignment
    /// never keeps allowing anything).
    pub async fn access_of(
        &self,
        actor: &Actor,
    ) -> AppResult<std::sync::Arc<rampart_domain::platform::access::AccessIndex>> {
        if actor.is_system() {
            return Ok(std::sync::Arc::default());
        }
        Ok(std::sync::Arc::new(
            self.store().access_of(actor.principal).await?,
        ))
    }
}

/// Mints a new id of type `T` from the clock reading and fresh randomness.
pub(crate) fn mint<T>(now: jiff::Timestamp, make: impl FnOnce(u64, [u8; 10]) -> T) -> AppResult<T> {
    let random = rampart_crypto::random::bytes::<10>()
        .map_err(|error| AppError::Internal(error.to_string()))?;
    let millis = u64::try_from(now.as_millisecond()).unwrap_or_default();
    Ok(make(millis, random))
}
