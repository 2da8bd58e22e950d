//! `rampart admin …`: operator commands that run on the server's host with the root key
//! and talk to the store directly (no server needed). Those that change key material
//! (`keys rotate`) take the installation lock and refuse while a server runs.

use std::path::PathBuf;

use std::io::Write;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use rampart_app::platform::audit_log::{AuditQuery, ExportFormat, VerifyReport, verify_export};
use rampart_app::{App, Clock, SystemClock, bootstrap};
use rampart_domain::platform::tenancy::Scope;

use crate::config::{Config, ENV_ROOT_KEY, process_env};
use crate::instance_lock::{Holder, InstallationLock};
use crate::setup;

fn load(
    config_file: Option<PathBuf>,
    data_dir: Option<PathBuf>,
) -> Result<(Config, Option<String>)> {
    let env = process_env();
    let mut config = Config::load(config_file.as_deref(), &env)?;
    if let Some(dir) = data_dir {
        config.server.data_dir = dir;
    }
    Ok((config, env.get(ENV_ROOT_KEY).cloned()))
}

/// `admin init`: returns the owner's token, to be printed as the only line on stdout.
pub async fn init(
    config_file: Option<PathBuf>,
    data_dir: Option<PathBuf>,
    admin_email: &str,
) -> Result<String> {
    let (config, env_root_key) = load(config_file, data_dir)?;
    let clock = SystemClock;
    setup::ensure_data_dir(&config.server.data_dir)?;
    let store = setup::open_store(&config, &clock).await?;
    if bootstrap::is_initialized(&store)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?
    {
        store.close().await;
        let database = if config.database.url.is_some() {
            "the configured PostgreSQL database".to_owned()
        } else {
            config
                .server
                .data_dir
                .join("rampart.db")
                .display()
                .to_string()
        };
        bail!(
            "already initialised: {database} holds an installation; use `rampart admin \
             reset-admin` to recover access, or `rampart admin join` to add a replica to it"
        );
    }
    let root_key = setup::root_key(&config.server.data_dir, env_root_key.as_deref(), true)?;
    let token = bootstrap::initialize(
        &store,
        &root_key,
        clock.now(),
        admin_email,
        config.auth.token_lifetime_days_max,
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    store.close().await;
    Ok(token.expose().to_owned())
}

/// `admin join`: makes this data directory a replica's of the installation in the
/// configured PostgreSQL database, by installing that installation's root key (read
/// from `root_key_file`, a copy of a running replica's `root.key`). The key is checked
/// against the database before anything is written. Returns a line for the operator.
pub async fn join(
    config_file: Option<PathBuf>,
    data_dir: Option<PathBuf>,
    root_key_file: &std::path::Path,
) -> Result<String> {
    let (config, env_root_key) = load(config_file, data_dir)?;
    if env_root_key.is_some() {
        bail!(
            "{} is set: the replica takes its root key from there, nothing to join",
            crate::config::ENV_ROOT_KEY
        );
    }
    join_installation(&config, root_key_file).await
}

/// [`join`] with a loaded configuration.
pub async fn join_installation(config: &Config, root_key_file: &std::path::Path) -> Result<String> {
    if config.database.url.is_none() {
        bail!(
            "replicas share one PostgreSQL database: set database.url (or RAMPART_DATABASE_URL) \
             to the first replica's; this configuration uses SQLite in {}",
            config.server.data_dir.display()
        );
    }
    let key = rampart_crypto::RootKey::read_file(root_key_file)
        .with_context(|| format!("reading {}", root_key_file.display()))?;
    let key_file = setup::root_key_path(&config.server.data_dir);
    let clock = SystemClock;
    let store = open_initialized_store(config, &clock)
        .await
        .map_err(|error| {
            anyhow::anyhow!(
                "{error}: start the first replica (`rampart serve`) before joining others"
            )
        })?;
    let checked = check_joining_key(&store, &key).await;
    store.close().await;
    checked?;
    if key_file.exists() {
        let existing = rampart_crypto::RootKey::read_file(&key_file)
            .with_context(|| format!("reading {}", key_file.display()))?;
        if existing.key_id() == key.key_id() {
            return Ok(format!(
                "already joined: {} holds this installation's root key (key id {})",
                key_file.display(),
                key.key_id()
            ));
        }
        bail!(
            "{} already holds another root key (key id {}): this data directory belongs to \
             another installation; use an empty one",
            key_file.display(),
            existing.key_id()
        );
    }
    setup::ensure_data_dir(&config.server.data_dir)?;
    key.write_new_file(&key_file)
        .with_context(|| format!("writing {}", key_file.display()))?;
    Ok(format!(
        "joined: the installation's root key (key id {}) is in {}; start this replica with \
         `rampart serve` and the same database.url",
        key.key_id(),
        key_file.display()
    ))
}

/// Whether `key` is the root key of the installation in `store`: by the id the database
/// records, or (an installation that has not recorded one) by opening its secrets.
async fn check_joining_key(
    store: &rampart_store::Store,
    key: &rampart_crypto::RootKey,
) -> Result<()> {
    match store.root_key_id().await? {
        Some(id) if id == key.key_id() => Ok(()),
        Some(id) => bail!(
            "this is not the installation's root key: the file's key id is {}, the database's \
             is {id}; copy root.key from a running replica (nothing was written)",
            key.key_id()
        ),
        None => bootstrap::load_pepper(store, key)
            .await
            .map(|_| ())
            .map_err(|error| anyhow::anyhow!("{error} (nothing was written)")),
    }
}

/// Opens the store of an initialised installation, or says to run `admin init`.
async fn open_initialized_store(
    config: &Config,
    clock: &SystemClock,
) -> Result<rampart_store::Store> {
    let store = setup::open_store(config, clock).await?;
    if !bootstrap::is_initialized(&store)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?
    {
        bail!("not initialised: run `rampart admin init` first");
    }
    Ok(store)
}

/// `admin reset-admin`: returns a new owner token.
pub async fn reset_admin(
    config_file: Option<PathBuf>,
    data_dir: Option<PathBuf>,
    email: Option<&str>,
) -> Result<String> {
    let (config, env_root_key) = load(config_file, data_dir)?;
    let clock = SystemClock;
    let root_key = setup::root_key(&config.server.data_dir, env_root_key.as_deref(), false)?;
    let store = open_initialized_store(&config, &clock).await?;
    let token = bootstrap::reset_admin(
        &store,
        &root_key,
        clock.now(),
        email,
        config.auth.token_lifetime_days_max,
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    store.close().await;
    Ok(token.expose().to_owned())
}

/// Opens an initialised installation for an offline command.
async fn open_installation(config_file: Option<PathBuf>, data_dir: Option<PathBuf>) -> Result<App> {
    let (config, env_root_key) = load(config_file, data_dir)?;
    let clock = SystemClock;
    let root_key = setup::root_key(&config.server.data_dir, env_root_key.as_deref(), false)?;
    let store = open_initialized_store(&config, &clock).await?;
    setup::open_app(&config, store, &root_key, Arc::new(SystemClock), None).await
}

/// `admin audit public-key`.
pub async fn audit_public_key(
    config_file: Option<PathBuf>,
    data_dir: Option<PathBuf>,
) -> Result<String> {
    let app = open_installation(config_file, data_dir).await?;
    let key = rampart_crypto::digest::hex(&app.audit_public_key());
    app.store().close().await;
    Ok(key)
}

/// `admin audit export`: writes to `output` (or stdout).
pub async fn audit_export(
    config_file: Option<PathBuf>,
    data_dir: Option<PathBuf>,
    format: ExportFormat,
    query: AuditQuery,
    output: Option<PathBuf>,
) -> Result<()> {
    let app = open_installation(config_file, data_dir).await?;
    let mut out: Box<dyn Write + Send> = match &output {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout())),
    };
    let (sink, mut lines) = tokio::sync::mpsc::channel::<Vec<u8>>(16);
    let exporter = {
        let app = app.clone();
        tokio::spawn(async move {
            app.write_audit_export(
                &rampart_app::Ctx::system(),
                Scope::Account,
                &query,
                format,
                sink,
            )
            .await
        })
    };
    while let Some(chunk) = lines.recv().await {
        out.write_all(&chunk).context("writing the export")?;
    }
    out.flush().context("writing the export")?;
    exporter
        .await
        .context("the export task failed")?
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    app.store().close().await;
    Ok(())
}

/// Reads a public key given as hex or as a file holding hex.
fn public_key_argument(argument: &str) -> Result<Vec<u8>> {
    let text = if rampart_crypto::digest::from_hex(argument.trim()).is_some() {
        argument.to_owned()
    } else {
        std::fs::read_to_string(argument).with_context(|| {
            format!("--public-key is neither hex nor a readable file: {argument}")
        })?
    };
    let key = rampart_crypto::digest::from_hex(text.trim())
        .context("the public key is not hexadecimal")?;
    if key.len() != 32 {
        bail!("the public key must be 32 bytes (64 hex characters)");
    }
    Ok(key)
}

/// `admin audit verify`: the report, or an error when the file cannot be read.
pub fn audit_verify(file: &std::path::Path, public_key: &str) -> Result<VerifyReport> {
    let key = public_key_argument(public_key)?;
    let reader = std::io::BufReader::new(
        std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?,
    );
    verify_export(reader, &key).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))
}

/// Opens an initialised installation for an offline command that writes key material,
/// under the installation lock: refused while a server runs on the data directory or
/// the database.
async fn open_store_for_keys(
    config: &Config,
    clock: &SystemClock,
) -> Result<(rampart_store::Store, InstallationLock)> {
    let (store, lock) = setup::open_store_locked(config, clock, Holder::OfflineKeys).await?;
    match bootstrap::is_initialized(&store).await {
        Ok(true) => Ok((store, lock)),
        outcome => {
            store.close().await;
            lock.release().await;
            match outcome {
                Err(error) => Err(anyhow::anyhow!("{error}")),
                Ok(_) => bail!("not initialised: run `rampart admin init` first"),
            }
        }
    }
}

/// `admin keys rotate --org/--project`: a new primary version of one ring. Refused while
/// a server runs (`POST /api/v1/keys/rotate` does it online).
pub async fn rotate_ring(
    config_file: Option<PathBuf>,
    data_dir: Option<PathBuf>,
    scope_text: &str,
) -> Result<u32> {
    let (config, env_root_key) = load(config_file, data_dir)?;
    let clock = SystemClock;
    let root_key = setup::root_key(&config.server.data_dir, env_root_key.as_deref(), false)?;
    let (store, lock) = open_store_for_keys(&config, &clock).await?;
    let outcome = rotate_ring_in(&config, store, &root_key, scope_text).await;
    lock.release().await;
    outcome
}

async fn rotate_ring_in(
    config: &Config,
    store: rampart_store::Store,
    root_key: &rampart_crypto::RootKey,
    scope_text: &str,
) -> Result<u32> {
    let app = setup::open_app(config, store, root_key, Arc::new(SystemClock), None).await?;
    let (org, project) = match scope_text.split_once('/') {
        Some((org, project)) => (org, Some(project)),
        None => (scope_text, None),
    };
    let scope = app
        .resolve_scope(Some(org), project)
        .await
        .map_err(|e| anyhow::anyhow!("{scope_text}: {e}"))?;
    let version = app
        .rotate_keys(&rampart_app::Ctx::system(), scope.scope())
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    app.store().close().await;
    Ok(version)
}

/// `admin keys rotate` without a ring: a new root key. Refused while a server runs
/// (`POST /api/v1/keys/rotate-root` does it online). The new key is the one staged
/// beside the old (`root.key.new`, or `--new-key-file`) if there is one, else a fresh
/// one written there; the database is rewrapped in one transaction, then the new file
/// replaces the old; when the rewrap fails, a file written here is removed. Returns a
/// line for the operator.
pub async fn rotate_root_key(
    config_file: Option<PathBuf>,
    data_dir: Option<PathBuf>,
    new_key_file: Option<PathBuf>,
) -> Result<String> {
    let (config, env_root_key) = load(config_file, data_dir)?;
    let clock = SystemClock;
    let old = setup::root_key(&config.server.data_dir, env_root_key.as_deref(), false)?;
    let key_file = setup::root_key_path(&config.server.data_dir);
    let staged = match (&env_root_key, new_key_file) {
        (Some(_), None) => bail!(
            "the root key comes from RAMPART_ROOT_KEY: pass --new-key-file to say where the new key goes"
        ),
        (_, Some(path)) => path,
        (None, None) => rampart_app::sealing::staged_root_key_path(&key_file),
    };
    let (store, lock) = open_store_for_keys(&config, &clock).await?;
    let (new, staged_here) = match rampart_app::sealing::stage_new_root_key(&staged) {
        Ok(staged) => staged,
        Err(error) => {
            store.close().await;
            lock.release().await;
            bail!("{error}");
        }
    };
    let rewrapped = rampart_app::sealing::rewrap_under_new_root_key(
        &store,
        &rampart_app::Ctx::system(),
        &old,
        &new,
        clock.now(),
    )
    .await;
    store.close().await;
    let rewrapped = match rewrapped {
        Ok(count) => count,
        Err(error) => {
            // Nothing committed: the database still uses the old key, so a new one
            // written here is of no use and must not be mistaken for the current one.
            if staged_here {
                let _ = std::fs::remove_file(&staged);
            }
            lock.release().await;
            bail!("{error}");
        }
    };
    let outcome = if env_root_key.is_some() {
        Ok(format!(
            "rewrapped {rewrapped} keys; the new root key is in {}: set RAMPART_ROOT_KEY to it before starting the server",
            staged.display()
        ))
    } else {
        rampart_app::sealing::install_staged_root_key(&staged, &key_file)
            .with_context(|| {
                format!(
                    "the database now uses the key in {}; move it to {} by hand",
                    staged.display(),
                    key_file.display()
                )
            })
            .map(|()| {
                format!(
                    "rewrapped {rewrapped} keys under a new root key in {}",
                    key_file.display()
                )
            })
    };
    lock.release().await;
    outcome
}

/// `admin verify-state`: every stored state version checked with the root key, no
/// server needed.
pub async fn verify_state(
    config_file: Option<PathBuf>,
    data_dir: Option<PathBuf>,
    workspace: Option<&str>,
) -> Result<rampart_app::iacm::workspaces::StateVerification> {
    let app = open_installation(config_file, data_dir).await?;
    let report = app
        .verify_all_states(workspace)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"));
    app.store().close().await;
    report
}
