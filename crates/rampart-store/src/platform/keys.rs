//! Key rings for encryption at rest: one row per key version of an owner (an
//! organisation or a project), the key wrapped by the root key. The app layer unwraps
//! and uses them; this module only keeps them.

use jiff::Timestamp;
use sqlx::any::AnyRow;

use crate::rows::{get, get_flag, get_optional_timestamp, get_timestamp, micros};
use crate::{Store, StoreError, StoreResult, WriteTx};

/// One key version as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct KeyVersionRow {
    pub owner_id: String,
    pub version: u32,
    /// `None` once destroyed.
    pub wrapped: Option<Vec<u8>>,
    /// `enabled`, `disabled` or `destroyed`.
    pub status: String,
    pub is_primary: bool,
    pub created_at: Timestamp,
    pub destroyed_at: Option<Timestamp>,
}

const COLUMNS: &str = "owner_id, version, wrapped, status, is_primary, created_at, destroyed_at";

fn row_from(row: &AnyRow) -> StoreResult<KeyVersionRow> {
    let version: i64 = get(row, "version")?;
    Ok(KeyVersionRow {
        owner_id: get(row, "owner_id")?,
        version: u32::try_from(version)
            .map_err(|_| StoreError::Corrupt("key version out of range".into()))?,
        wrapped: get(row, "wrapped")?,
        status: get(row, "status")?,
        is_primary: get_flag(row, "is_primary")?,
        created_at: get_timestamp(row, "created_at")?,
        destroyed_at: get_optional_timestamp(row, "destroyed_at")?,
    })
}

impl Store {
    /// Every key version of `owner`, oldest first.
    pub async fn key_versions(&self, owner_id: &str) -> StoreResult<Vec<KeyVersionRow>> {
        let sql =
            format!("SELECT {COLUMNS} FROM key_versions WHERE owner_id = $1 ORDER BY version");
        let rows = sqlx::query(&sql)
            .bind(owner_id)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(row_from).collect()
    }

    /// Every key version of every owner (root-key rotation).
    pub async fn all_key_versions(&self) -> StoreResult<Vec<KeyVersionRow>> {
        let sql = format!("SELECT {COLUMNS} FROM key_versions ORDER BY owner_id, version");
        let rows = sqlx::query(&sql).fetch_all(self.pool()).await?;
        rows.iter().map(row_from).collect()
    }

    /// Owners that still have data under a rotated-out (disabled) key version.
    pub async fn key_owners_with_disabled_versions(&self) -> StoreResult<Vec<String>> {
        let rows = sqlx::query(
            "SELECT DISTINCT owner_id FROM key_versions WHERE status = 'disabled' ORDER BY owner_id",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|row| get(row, "owner_id")).collect()
    }
}

/// Serialises changes to one owner's ring across replicas (PostgreSQL advisory lock
/// space; the key is derived from the owner id).
const POSTGRES_KEY_RING_LOCK_SPACE: i32 = 0x4b52;

impl WriteTx {
    /// Locks `owner`'s ring until the transaction ends.
    pub async fn lock_key_ring(&mut self, owner_id: &str) -> StoreResult<()> {
        if self.engine() == crate::Engine::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
                .bind(POSTGRES_KEY_RING_LOCK_SPACE)
                .bind(owner_id)
                .execute(self.conn())
                .await?;
        }
        Ok(())
    }

    pub async fn key_versions(&mut self, owner_id: &str) -> StoreResult<Vec<KeyVersionRow>> {
        let sql =
            format!("SELECT {COLUMNS} FROM key_versions WHERE owner_id = $1 ORDER BY version");
        let rows = sqlx::query(&sql)
            .bind(owner_id)
            .fetch_all(self.conn())
            .await?;
        rows.iter().map(row_from).collect()
    }

    /// Adds a version as the primary one; the previous primary becomes disabled (it
    /// still opens what it sealed).
    pub async fn add_primary_key_version(
        &mut self,
        owner_id: &str,
        version: u32,
        wrapped: &[u8],
        at: Timestamp,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE key_versions SET is_primary = 0, status = 'disabled' \
             WHERE owner_id = $1 AND is_primary = 1",
        )
        .bind(owner_id)
        .execute(self.conn())
        .await?;
        sqlx::query(
            "INSERT INTO key_versions (owner_id, version, wrapped, status, is_primary, created_at) \
             VALUES ($1, $2, $3, 'enabled', 1, $4)",
        )
        .bind(owner_id)
        .bind(i64::from(version))
        .bind(wrapped.to_vec())
        .bind(micros(at))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Marks rotated-out versions below `primary` as retired: the rewrap job moved
    /// their data. They keep their material and still open (a late writer may have used
    /// them); the next rotation's rewrap moves any such straggler.
    pub async fn mark_key_versions_retired(
        &mut self,
        owner_id: &str,
        primary: u32,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE key_versions SET status = 'retired' \
             WHERE owner_id = $1 AND status = 'disabled' AND version < $2",
        )
        .bind(owner_id)
        .bind(i64::from(primary))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Destroys every version of `owner`'s ring (crypto-shredding). Returns how many
    /// versions held key material.
    pub async fn destroy_key_versions(
        &mut self,
        owner_id: &str,
        at: Timestamp,
    ) -> StoreResult<u64> {
        let result = sqlx::query(
            "UPDATE key_versions SET status = 'destroyed', wrapped = NULL, is_primary = 0, \
             destroyed_at = $2 WHERE owner_id = $1 AND status <> 'destroyed'",
        )
        .bind(owner_id)
        .bind(micros(at))
        .execute(self.conn())
        .await?;
        Ok(result.rows_affected())
    }

    /// Replaces a version's wrapped key (root-key rotation).
    pub async fn rewrap_key_version(
        &mut self,
        owner_id: &str,
        version: u32,
        wrapped: &[u8],
    ) -> StoreResult<()> {
        sqlx::query("UPDATE key_versions SET wrapped = $3 WHERE owner_id = $1 AND version = $2")
            .bind(owner_id)
            .bind(i64::from(version))
            .bind(wrapped.to_vec())
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Replaces a server secret's wrapped value (root-key rotation).
    pub async fn rewrap_server_secret(&mut self, name: &str, wrapped: &[u8]) -> StoreResult<()> {
        sqlx::query("UPDATE server_secrets SET wrapped = $2 WHERE name = $1")
            .bind(name)
            .bind(wrapped.to_vec())
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Every server secret as (name, wrapped).
    pub async fn server_secrets(&mut self) -> StoreResult<Vec<(String, Vec<u8>)>> {
        let rows = sqlx::query("SELECT name, wrapped FROM server_secrets ORDER BY name")
            .fetch_all(self.conn())
            .await?;
        rows.iter()
            .map(|row| Ok((get(row, "name")?, get(row, "wrapped")?)))
            .collect()
    }

    /// Every key version of every owner, read inside this transaction.
    pub async fn all_key_versions(&mut self) -> StoreResult<Vec<KeyVersionRow>> {
        let sql = format!("SELECT {COLUMNS} FROM key_versions ORDER BY owner_id, version");
        let rows = sqlx::query(&sql).fetch_all(self.conn()).await?;
        rows.iter().map(row_from).collect()
    }
}

/// How a write transaction reads the root key's id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RootKeyIdLock {
    /// About to wrap a key: a rotation waits until this transaction ends, and this one
    /// waits for a rotation in progress (PostgreSQL `FOR SHARE`).
    Shared,
    /// About to rewrap everything under a new root key (PostgreSQL `FOR UPDATE`).
    Exclusive,
}

impl Store {
    /// The id of the root key the database is wrapped under (`None` on an installation
    /// from before migration 17 that has not started since).
    pub async fn root_key_id(&self) -> StoreResult<Option<String>> {
        let row = sqlx::query("SELECT key_id FROM root_key_state WHERE singleton = 1")
            .fetch_optional(self.pool())
            .await?;
        row.map(|row| get(&row, "key_id")).transpose()
    }
}

impl WriteTx {
    /// The root key's id, locked as `lock` says until the transaction ends. SQLite
    /// writers are already serialised.
    pub async fn root_key_id(&mut self, lock: RootKeyIdLock) -> StoreResult<Option<String>> {
        let suffix = match (self.engine(), lock) {
            (crate::Engine::Sqlite, _) => "",
            (crate::Engine::Postgres, RootKeyIdLock::Shared) => " FOR SHARE",
            (crate::Engine::Postgres, RootKeyIdLock::Exclusive) => " FOR UPDATE",
        };
        let sql = format!("SELECT key_id FROM root_key_state WHERE singleton = 1{suffix}");
        let row = sqlx::query(&sql).fetch_optional(self.conn()).await?;
        row.map(|row| get(&row, "key_id")).transpose()
    }

    /// Records the id of the root key the database is now wrapped under.
    pub async fn set_root_key_id(&mut self, key_id: &str, at: Timestamp) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO root_key_state (singleton, key_id, changed_at) VALUES (1, $1, $2) \
             ON CONFLICT (singleton) DO UPDATE SET key_id = excluded.key_id, \
             changed_at = excluded.changed_at",
        )
        .bind(key_id)
        .bind(micros(at))
        .execute(self.conn())
        .await?;
        Ok(())
    }
}
