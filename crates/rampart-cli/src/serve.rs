//! `rampart serve`: start everything and run until SIGINT/SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use rampart_app::{Clock, bootstrap};
use rampart_crypto::SecretToken;
use rampart_http::AppState;
use rampart_http::server::{
    ReloadingCertResolver, TlsFiles, build_router, serve, spawn_cert_reloader, tls_config,
};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::instance_lock::{self, InstallationLock};
use crate::setup;

/// A running server.
pub struct RunningServer {
    pub https_addr: SocketAddr,
    pub plain_http_addr: Option<SocketAddr>,
    pub data_dir: PathBuf,
    pub cert_file: PathBuf,
    /// The owner's token when this start initialised the installation.
    pub initial_admin_token: Option<SecretToken>,
    pub app: rampart_app::App,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    /// The installation lock (data directory and database), released at stop.
    lock: InstallationLock,
}

impl std::fmt::Debug for RunningServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningServer")
            .field("https_addr", &self.https_addr)
            .finish_non_exhaustive()
    }
}

impl RunningServer {
    /// Stops accepting, lets open requests finish, closes the store.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
        if let Err(error) = self.app.leave_replicas().await {
            tracing::warn!(?error, "removing this replica's heartbeat row failed");
        }
        self.app.store().close().await;
        self.lock.release().await;
    }
}

/// Starts a server from `config` (the data dir is initialised on first start).
pub async fn start(
    config: &Config,
    env_root_key: Option<&str>,
    clock: Arc<dyn Clock>,
) -> Result<RunningServer> {
    let https_addr = config.listen_addr()?;
    let plain_addr = config.plain_http_addr()?;
    let data_dir = config.server.data_dir.clone();
    setup::ensure_data_dir(&data_dir)?;
    // Held for the server's life, so that offline key commands refuse to run beside it.
    let (store, lock) =
        setup::open_store_locked(config, clock.as_ref(), instance_lock::Holder::Server).await?;
    let initialized = bootstrap::is_initialized(&store)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    // A new installation gets a new root key; an existing one must be given its own
    // (a second replica's empty data directory must not get a random key).
    let root_key = match setup::root_key(&data_dir, env_root_key, !initialized) {
        Ok(key) => key,
        Err(error) => {
            store.close().await;
            lock.release().await;
            return Err(error);
        }
    };
    let root_key = match setup::check_root_key(&store, &data_dir, env_root_key, root_key).await {
        Ok(key) => key,
        Err(error) => {
            store.close().await;
            lock.release().await;
            return Err(error);
        }
    };
    let initial_admin_token = if initialized {
        None
    } else {
        Some(
            bootstrap::initialize(
                &store,
                &root_key,
                clock.now(),
                &config.server.admin_email,
                config.auth.token_lifetime_days_max,
            )
            .await
            .map_err(|e| anyhow::anyhow!("initialising: {e}"))?,
        )
    };
    let root_key_file = env_root_key
        .is_none()
        .then(|| setup::root_key_path(&data_dir));
    let app = setup::open_app(config, store, &root_key, clock, root_key_file).await?;
    drop(root_key);
    // Before the first request: rows from before migration 15 get their clear values
    // sealed and blind-indexed (nothing to do on later starts).
    app.seal_legacy_plaintext()
        .await
        .map_err(|e| anyhow::anyhow!("sealing values stored before migration 15: {e}"))?;
    // Registered before the first request, so that a rotation on another replica
    // waits for this one.
    app.replica_heartbeat()
        .await
        .map_err(|e| anyhow::anyhow!("recording this replica: {e}"))?;

    let tls_files = match (&config.tls.cert_file, &config.tls.key_file) {
        (Some(cert), Some(key)) => TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
        },
        _ => crate::tls_files::ensure_self_signed(&data_dir)?,
    };
    let resolver = Arc::new(
        ReloadingCertResolver::new(
            tls_files.clone(),
            Arc::new(rustls::crypto::aws_lc_rs::default_provider()),
        )
        .context("loading the TLS certificate")?,
    );
    let tls = Arc::new(tls_config(resolver.clone())?);
    tracing::info!(
        cert = %tls_files.cert.display(),
        sha256 = %crate::tls_files::fingerprint(&tls_files.cert).unwrap_or_default(),
        "TLS certificate"
    );

    let state = AppState::new(app.clone(), config.http_settings()?);
    let (router, _specs) = build_router(state);
    let (shutdown, shutdown_rx) = watch::channel(false);
    spawn_cert_reloader(
        resolver,
        Duration::from_secs(config.tls.reload_interval_secs),
        shutdown_rx.clone(),
    );

    spawn_maintenance(
        app.clone(),
        Maintenance {
            checkpoint_every: Duration::from_secs(config.audit.checkpoint_interval_secs),
            retention_every: Duration::from_secs(config.audit.retention_sweep_interval_secs),
            rewrap_every: Duration::from_secs(config.keys.rewrap_interval_secs),
            escalate_every: Duration::from_secs(config.oncall.engine_interval_secs),
            throttle_audit_every: Duration::from_secs(
                config.rate_limits.audit_summary_interval_secs,
            ),
            heartbeat_every: Duration::from_secs(config.server.replica_heartbeat_secs),
        },
        shutdown_rx.clone(),
    );

    let listener = TcpListener::bind(https_addr)
        .await
        .with_context(|| format!("binding {https_addr}"))?;
    let bound = listener.local_addr()?;
    app.set_listen_address(bound);
    let mut tasks = Vec::new();
    {
        let router = router.clone();
        let rx = shutdown_rx.clone();
        tasks.push(tokio::spawn(async move {
            if let Err(error) = serve(listener, router, Some(tls), rx).await {
                tracing::error!(%error, "HTTPS listener stopped");
            }
        }));
    }
    let mut plain_bound = None;
    if let Some(addr) = plain_addr {
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding {addr}"))?;
        plain_bound = Some(listener.local_addr()?);
        let rx = shutdown_rx.clone();
        tasks.push(tokio::spawn(async move {
            if let Err(error) = serve(listener, router, None, rx).await {
                tracing::error!(%error, "plain HTTP listener stopped");
            }
        }));
    }
    tracing::info!(https = %bound, plain_http = ?plain_bound, "rampart serving");
    Ok(RunningServer {
        https_addr: bound,
        plain_http_addr: plain_bound,
        data_dir,
        cert_file: tls_files.cert,
        initial_admin_token,
        app,
        shutdown,
        tasks,
        lock,
    })
}

/// How often each background job runs.
/// How often replicas share integration rate-limit counts: the installation's limit is
/// exceeded at most by what the other replicas accept in this time.
const RATE_LIMIT_SYNC_EVERY: Duration = Duration::from_secs(1);

struct Maintenance {
    checkpoint_every: Duration,
    retention_every: Duration,
    rewrap_every: Duration,
    escalate_every: Duration,
    throttle_audit_every: Duration,
    heartbeat_every: Duration,
}

/// The background jobs, until shutdown: signing audit checkpoints, applying audit
/// retention, resealing data after key rotations, advancing escalations (paging),
/// writing counted `auth.throttled` audit events, the replica heartbeat, and sharing
/// integration rate-limit counts. Failures are logged and retried at the
/// next tick; each job is safe to run on several replicas at once.
fn spawn_maintenance(
    app: rampart_app::App,
    every: Maintenance,
    mut shutdown: watch::Receiver<bool>,
) {
    tokio::spawn(async move {
        let mut checkpoint_tick = tokio::time::interval(every.checkpoint_every);
        let mut retention_tick = tokio::time::interval(every.retention_every);
        let mut rewrap_tick = tokio::time::interval(every.rewrap_every);
        let mut escalate_tick = tokio::time::interval(every.escalate_every);
        let mut throttle_audit_tick = tokio::time::interval(every.throttle_audit_every);
        let mut heartbeat_tick = tokio::time::interval(every.heartbeat_every);
        // Start-up beat already (before the first request): the next one is a period
        // away, not at once — an immediate second beat, landing whenever this task first
        // runs, would say "alive" at a moment the replica did not choose.
        heartbeat_tick.reset();
        let mut rate_sync_tick = tokio::time::interval(RATE_LIMIT_SYNC_EVERY);
        for tick in [
            &mut rate_sync_tick,
            &mut heartbeat_tick,
            &mut throttle_audit_tick,
            &mut checkpoint_tick,
            &mut retention_tick,
            &mut rewrap_tick,
            &mut escalate_tick,
        ] {
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        }
        loop {
            tokio::select! {
                _ = shutdown.changed() => break,
                _ = checkpoint_tick.tick() => {
                    if let Err(error) = app.sign_audit_checkpoint().await {
                        tracing::error!(?error, "signing an audit checkpoint failed");
                    }
                }
                _ = retention_tick.tick() => {
                    match app.prune_audit_log().await {
                        Ok(0) => {}
                        Ok(pruned) => tracing::info!(pruned, "audit retention applied"),
                        Err(error) => tracing::error!(?error, "audit retention failed"),
                    }
                    match app.prune_slo_data().await {
                        Ok(0) => {}
                        Ok(pruned) => tracing::info!(pruned, "SLO data retention applied"),
                        Err(error) => tracing::error!(?error, "SLO data retention failed"),
                    }
                }
                _ = escalate_tick.tick() => {
                    match app.run_escalations().await {
                        Ok(0) => {}
                        Ok(pages) => tracing::info!(pages, "escalation pages sent"),
                        Err(error) => tracing::error!(?error, "advancing escalations failed"),
                    }
                    // Pages just made go out on the same tick.
                    match app.dispatch_notifications().await {
                        Ok(0) => {}
                        Ok(deliveries) => tracing::info!(deliveries, "notification deliveries queued for delegates"),
                        Err(error) => tracing::error!(?error, "dispatching notifications failed"),
                    }
                    // Incident changes start the runbooks they trigger.
                    match app.run_runbook_triggers().await {
                        Ok(0) => {}
                        Ok(started) => tracing::info!(started, "runbook executions triggered by incidents"),
                        Err(error) => tracing::error!(?error, "starting triggered runbooks failed"),
                    }
                    // SLOs raise and resolve their burn-rate alerts.
                    match app.evaluate_slos().await {
                        Ok(0) => {}
                        Ok(changed) => tracing::info!(changed, "SLO alerts raised or resolved"),
                        Err(error) => tracing::error!(?error, "evaluating SLOs failed"),
                    }
                    // SLOs with a pull get a delegate's query of their series.
                    match app.pull_slis().await {
                        Ok(0) => {}
                        Ok(queued) => tracing::debug!(queued, "SLO pulls queued for delegates"),
                        Err(error) => tracing::error!(?error, "queueing SLO pulls failed"),
                    }
                }
                _ = rate_sync_tick.tick() => {
                    if let Err(error) = app.sync_webhook_rate_limits().await {
                        tracing::warn!(?error, "sharing integration rate-limit counts failed");
                    }
                }
                _ = heartbeat_tick.tick() => {
                    // Failures are logged inside (a mismatch) or here (the store).
                    if let Err(error) = app.replica_heartbeat().await {
                        tracing::error!(?error, "recording the replica heartbeat failed");
                    }
                }
                _ = throttle_audit_tick.tick() => {
                    if let Err(error) = app.flush_throttle_audit().await {
                        tracing::error!(?error, "writing throttle audit events failed");
                    }
                }
                _ = rewrap_tick.tick() => {
                    match app.rewrap_rotated_data().await {
                        Ok(0) => {}
                        Ok(moved) => tracing::info!(moved, "data resealed under new key versions"),
                        Err(error) => tracing::error!(?error, "resealing after key rotation failed"),
                    }
                }
            }
        }
    });
}

/// Waits for SIGINT or SIGTERM.
pub async fn wait_for_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        if let Ok(mut terminate) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            tokio::select! {
                _ = interrupt => {},
                _ = terminate.recv() => {},
            }
            return;
        }
    }
    let _ = interrupt.await;
}
