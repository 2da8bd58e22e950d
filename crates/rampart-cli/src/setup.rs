//! Wiring an installation together from configuration: the data directory, the root
//! key, the store, the self-signed certificate, the app. Shared by `serve` and the
//! `admin` commands (and the testkit, which starts the same server in-process).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use rampart_app::{App, Clock};
use rampart_crypto::RootKey;
use rampart_store::{Store, StoreOptions};

use crate::config::{Config, ENV_ROOT_KEY};
use crate::instance_lock::{self, Holder, InstallationLock};

pub fn root_key_path(data_dir: &Path) -> PathBuf {
    data_dir.join("root.key")
}

/// Creates the data directory (0700) if needed.
pub fn ensure_data_dir(data_dir: &Path) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if !data_dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(data_dir)
            .with_context(|| format!("creating the data directory {}", data_dir.display()))?;
    }
    Ok(())
}

/// The root key: `RAMPART_ROOT_KEY` from the environment, else the key file in the data
/// directory, created (0600) when `create` is set and it does not exist yet.
pub fn root_key(data_dir: &Path, env_root_key: Option<&str>, create: bool) -> Result<RootKey> {
    if let Some(text) = env_root_key {
        return RootKey::from_base64(text).with_context(|| ENV_ROOT_KEY.to_string());
    }
    let path = root_key_path(data_dir);
    if path.exists() {
        return RootKey::read_file(&path).with_context(|| format!("reading {}", path.display()));
    }
    if !create {
        bail!(
            "no root key: {} does not exist and {ENV_ROOT_KEY} is not set. The database \
             already holds an installation: to add a replica, copy a running replica's \
             root key here with `rampart admin join --root-key-file FILE` (nothing was written)",
            path.display()
        );
    }
    let key = RootKey::generate()?;
    key.write_new_file(&path)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(key)
}

/// Checks the root key against the one the database records (see
/// [`rampart_app::sealing::check_root_key`]) and returns the key to serve with: the
/// staged key (`root.key.new`) when a rotation committed and its file was not moved into
/// place — it is moved now. A wrong key stops the start with both key ids.
pub async fn check_root_key(
    store: &Store,
    data_dir: &Path,
    env_root_key: Option<&str>,
    root_key: RootKey,
) -> Result<RootKey> {
    use rampart_app::sealing::{RootKeyCheck, install_staged_root_key, staged_root_key_path};
    let key_file = root_key_path(data_dir);
    let staged_file = staged_root_key_path(&key_file);
    let staged = if env_root_key.is_none() && staged_file.exists() {
        RootKey::read_file(&staged_file).ok()
    } else {
        None
    };
    let check = rampart_app::sealing::check_root_key(store, &root_key, staged.as_ref()).await;
    match (check, staged) {
        (Ok(RootKeyCheck::Matches), _) => Ok(root_key),
        (Ok(RootKeyCheck::StagedMatches), Some(staged)) => {
            install_staged_root_key(&staged_file, &key_file).with_context(|| {
                format!(
                    "the database is wrapped under the key in {}; moving it to {}",
                    staged_file.display(),
                    key_file.display()
                )
            })?;
            tracing::info!(
                key_id = %staged.key_id(),
                "installed the root key of a rotation that committed before its file was moved"
            );
            Ok(staged)
        }
        (Ok(RootKeyCheck::StagedMatches), None) => Ok(root_key),
        (Err(error), _) => {
            let source = if env_root_key.is_some() {
                ENV_ROOT_KEY.to_owned()
            } else {
                key_file.display().to_string()
            };
            bail!(
                "the root key in {source} (key id {}) does not match the database: {error}",
                root_key.key_id()
            )
        }
    }
}

/// Creates the embedded SQLite file readable by the owner only (0600) before SQLite
/// does; SQLite gives its -wal and -shm files the database file's permissions.
fn create_private_sqlite_file(config: &Config) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    if config.database.url.is_some() {
        return Ok(());
    }
    let path = config.server.data_dir.join("rampart.db");
    if !path.exists() {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .with_context(|| format!("creating {}", path.display()))?;
    }
    Ok(())
}

/// Connects to the configured store and applies migrations.
pub async fn open_store(config: &Config, clock: &dyn Clock) -> Result<Store> {
    let store = connect_store(config).await?;
    migrate_store(&store, clock).await?;
    Ok(store)
}

/// Like [`open_store`], under the installation lock taken for `holder` before anything
/// is written: the data directory's lock file first, then the database's lock; refused
/// with a message naming the holder when either is taken.
pub async fn open_store_locked(
    config: &Config,
    clock: &dyn Clock,
    holder: Holder,
) -> Result<(Store, InstallationLock)> {
    let file = instance_lock::lock_data_dir(&config.server.data_dir, holder)?;
    let store = connect_store(config).await?;
    let lock = match instance_lock::lock_store(&store, file, holder).await {
        Ok(lock) => lock,
        Err(error) => {
            store.close().await;
            return Err(error);
        }
    };
    if let Err(error) = migrate_store(&store, clock).await {
        store.close().await;
        lock.release().await;
        return Err(error);
    }
    Ok((store, lock))
}

async fn connect_store(config: &Config) -> Result<Store> {
    create_private_sqlite_file(config)?;
    Store::connect(
        &config.database_url(),
        &StoreOptions {
            max_connections: config.database.max_connections,
            acquire_timeout: std::time::Duration::from_secs(config.database.acquire_timeout_secs),
        },
    )
    .await
    .context("connecting to the database")
}

async fn migrate_store(store: &Store, clock: &dyn Clock) -> Result<()> {
    let now = clock.now().as_microsecond();
    store.migrate(now).await.context("migrating the database")
}

/// Opens an initialised installation as an [`App`].
/// Opens the application. `root_key_file` is where the root key lives when the server
/// may replace it by online rotation (the server, with the key from the data dir).
pub async fn open_app(
    config: &Config,
    store: Store,
    root_key: &RootKey,
    clock: Arc<dyn Clock>,
    root_key_file: Option<PathBuf>,
) -> Result<App> {
    let settings = rampart_app::AppSettings {
        root_key_file,
        ..config.app_settings()
    };
    App::open(store, root_key, clock, settings)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
}
