//! The installation lock that keeps a running server and the offline commands that
//! change key material (`rampart admin keys rotate`) apart: an exclusive lock on
//! `<data-dir>/rampart.lock` (both take it) and, on PostgreSQL, the store's installation
//! lock (shared by every server replica, exclusive for the offline command).

use std::fs::{File, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use rampart_store::{InstanceLock, InstanceLockMode, Store};

/// The lock file's name in the data directory.
pub const LOCK_FILE: &str = "rampart.lock";

/// What an offline operator should do instead of changing keys under a running server.
const ONLINE_ALTERNATIVE: &str = "rotate online instead (`POST /api/v1/keys/rotate-root` for \
     the root key, `POST /api/v1/keys/rotate` for one ring), or stop the server first";

/// Who takes the lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Holder {
    /// `rampart serve`.
    Server,
    /// An offline command that writes key material.
    OfflineKeys,
}

pub fn lock_file_path(data_dir: &Path) -> PathBuf {
    data_dir.join(LOCK_FILE)
}

/// The installation lock, held until [`InstallationLock::release`] (or drop, or the
/// process's end).
#[derive(Debug)]
pub struct InstallationLock {
    _file: File,
    store: Option<InstanceLock>,
}

impl InstallationLock {
    /// Releases the database lock, then the lock file.
    pub async fn release(mut self) {
        if let Some(lock) = self.store.take() {
            lock.release().await;
        }
    }
}

/// The data directory's lock file, locked exclusively, or a refusal naming the holder.
/// The file keeps the holder's process id for that message.
pub fn lock_data_dir(data_dir: &Path, holder: Holder) -> Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let path = lock_file_path(data_dir);
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let pid = std::fs::read_to_string(&path).unwrap_or_default();
            let pid = pid.trim();
            let by = if pid.is_empty() {
                String::new()
            } else {
                format!(" (process {pid})")
            };
            match holder {
                Holder::OfflineKeys => bail!(
                    "refused: a running rampart server holds {}{by}, and changing keys under it \
                     would leave data it writes unreadable; {ONLINE_ALTERNATIVE}",
                    data_dir.display()
                ),
                Holder::Server => bail!(
                    "another rampart process holds {}{by} (a server, or an offline \
                     `rampart admin keys` command): wait for it to finish or stop it",
                    data_dir.display()
                ),
            }
        }
        Err(TryLockError::Error(error)) => {
            return Err(error).with_context(|| format!("locking {}", path.display()));
        }
    }
    file.set_len(0)
        .and_then(|()| file.write_all(format!("{}\n", std::process::id()).as_bytes()))
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(file)
}

/// Takes the database's installation lock (PostgreSQL; always granted on SQLite, where
/// the lock file covers the database) beside the data directory's `file` lock.
pub async fn lock_store(store: &Store, file: File, holder: Holder) -> Result<InstallationLock> {
    let mode = match holder {
        Holder::Server => InstanceLockMode::Shared,
        Holder::OfflineKeys => InstanceLockMode::Exclusive,
    };
    let lock = store
        .try_lock_instance(mode)
        .await
        .context("taking the installation lock in the database")?;
    match (lock, holder) {
        (Some(lock), _) => Ok(InstallationLock {
            _file: file,
            store: Some(lock),
        }),
        (None, Holder::OfflineKeys) => bail!(
            "refused: a rampart server is connected to this database (it holds the \
             installation lock), and changing keys under it would leave data it writes \
             unreadable; {ONLINE_ALTERNATIVE} (every replica)"
        ),
        (None, Holder::Server) => bail!(
            "an offline `rampart admin keys` command is changing keys in this database: \
             start the server when it has finished"
        ),
    }
}
