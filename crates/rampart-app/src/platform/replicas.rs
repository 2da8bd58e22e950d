//! This server as one replica among several on a shared database: its heartbeat, and
//! how it follows a root-key rotation. Each heartbeat (run by the maintenance loop)
//! picks up a root key an operator staged beside the key file (`root.key.new`),
//! switches to it once the database records it (another replica rotated), and records
//! in `server_replicas` which key it serves with and which it holds staged — what an
//! online rotation checks before it switches ([`App::rotate_root_key`]).
//!
//! Safety does not depend on heartbeats being timely: every wrap reads the database's
//! root key id in its own transaction (see `sealing`), so a replica that missed a
//! rotation refuses writes and reads with `root_key_mismatch` (503) and reports itself
//! not ready, instead of wrapping keys nobody else can open.

use std::path::Path;

use jiff::{SignedDuration, Timestamp};
use rampart_crypto::RootKey;
use rampart_store::platform::replicas::ReplicaRow;

use crate::sealing::{
    RootKeySet, install_staged_root_key, root_key_mismatch, staged_root_key_path,
};
use crate::{App, AppResult};

/// Heartbeats a replica may miss before the others count it as gone.
const HEARTBEATS_MISSED_MAX: i64 = 6;

/// Rows of replicas silent this long are deleted (they crashed without saying goodbye).
const FORGET_AFTER: SignedDuration = SignedDuration::from_hours(24);

/// This replica's identity, fixed for the process's life.
#[derive(Clone, Debug)]
pub(crate) struct ReplicaIdentity {
    pub(crate) replica_id: String,
    pub(crate) started_at: Timestamp,
}

impl ReplicaIdentity {
    pub(crate) fn new(now: Timestamp) -> AppResult<Self> {
        let replica_id = crate::mint(now, |millis, random| {
            uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid()
        })?
        .to_string();
        Ok(Self {
            replica_id,
            started_at: now,
        })
    }
}

/// What one heartbeat found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Heartbeat {
    /// Serving with the database's root key.
    InStep,
    /// Another replica rotated the root key; this one switched to it.
    FollowedRotation,
    /// The database is wrapped under a root key this replica does not hold.
    RootKeyMismatch,
}

impl App {
    /// This replica's id in `server_replicas`.
    pub fn replica_id(&self) -> &str {
        &self.inner.replica.replica_id
    }

    fn live_since(&self) -> Timestamp {
        let heartbeat = i64::try_from(self.settings().replica_heartbeat_secs).unwrap_or(i64::MAX);
        let window = SignedDuration::from_secs(heartbeat.saturating_mul(HEARTBEATS_MISSED_MAX));
        self.now()
            .checked_sub(window)
            .unwrap_or(Timestamp::UNIX_EPOCH)
    }

    /// The other live replicas that do not report `key_id` staged, named for an operator.
    pub(crate) async fn replicas_without_staged_key(&self, key_id: &str) -> AppResult<Vec<String>> {
        Ok(self
            .store()
            .live_replicas(self.live_since())
            .await?
            .into_iter()
            .filter(|replica| {
                replica.replica_id != self.replica_id()
                    && replica.staged_root_key_id.as_deref() != Some(key_id)
            })
            .map(|replica| format!("{} ({})", replica.hostname, replica.replica_id))
            .collect())
    }

    /// One heartbeat: follow the root key (see the module doc), then record this
    /// replica's row.
    pub async fn replica_heartbeat(&self) -> AppResult<Heartbeat> {
        let root_keys = &self.inner.root_keys;
        // Not while this replica rotates: the rotation owns the staged file until it ends.
        let _wrapping = root_keys.wrapping.read().await;
        let database_key_id = self.store().root_key_id().await?;
        let mut keys = root_keys.get();
        if let Some(file) = root_keys.file() {
            keys.staged = read_staged_key(&staged_root_key_path(file), &keys);
        }
        let mut heartbeat = Heartbeat::InStep;
        if let Some(wanted) = database_key_id.as_deref()
            && keys.current.key_id() != wanted
        {
            match keys.staged.take() {
                Some(staged) if staged.key_id() == wanted => {
                    if let Some(file) = root_keys.file() {
                        // The staged file is the key the database now uses.
                        install_staged_root_key(&staged_root_key_path(file), file).map_err(
                            |error| {
                                crate::AppError::Internal(format!(
                                    "installing the rotated root key in {}: {error}",
                                    file.display()
                                ))
                            },
                        )?;
                    }
                    tracing::info!(key_id = wanted, "followed a root-key rotation");
                    keys = RootKeySet {
                        previous: Some(keys.current),
                        current: staged,
                        staged: None,
                    };
                    heartbeat = Heartbeat::FollowedRotation;
                }
                staged => {
                    keys.staged = staged;
                    tracing::error!(
                        key_id = wanted,
                        "the database is wrapped under a root key this replica does not hold"
                    );
                    heartbeat = Heartbeat::RootKeyMismatch;
                }
            }
        }
        let row = ReplicaRow {
            replica_id: self.replica_id().to_owned(),
            hostname: self.settings().replica_name.clone(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            started_at: self.inner.replica.started_at,
            heartbeat_at: self.now(),
            root_key_id: keys.current.key_id(),
            staged_root_key_id: keys.staged.as_ref().map(RootKey::key_id),
        };
        root_keys.set(keys);
        self.store().record_replica_heartbeat(&row).await?;
        Ok(heartbeat)
    }

    /// Removes this replica's row (it stops) and rows of long-silent replicas.
    pub async fn leave_replicas(&self) -> AppResult<()> {
        let forget_before = self
            .now()
            .checked_sub(FORGET_AFTER)
            .unwrap_or(Timestamp::UNIX_EPOCH);
        Ok(self
            .store()
            .remove_replica(self.replica_id(), forget_before)
            .await?)
    }

    /// Readiness: the store answers and is wrapped under this replica's root key.
    pub async fn ready(&self) -> AppResult<()> {
        match self.store().root_key_id().await? {
            Some(database_key_id)
                if self.inner.root_keys.get().current.key_id() != database_key_id =>
            {
                Err(root_key_mismatch(&database_key_id))
            }
            _ => Ok(()),
        }
    }
}

/// The key staged at `path` when it differs from the current one; a file that does not
/// hold a key is reported and ignored (the rotation refuses it by name).
fn read_staged_key(path: &Path, keys: &RootKeySet) -> Option<RootKey> {
    if !path.exists() {
        return None;
    }
    match RootKey::read_file(path) {
        Ok(key) if key.key_id() != keys.current.key_id() => Some(key),
        Ok(_) => None,
        Err(error) => {
            tracing::warn!(path = %path.display(), %error, "the staged root key is not usable");
            None
        }
    }
}
