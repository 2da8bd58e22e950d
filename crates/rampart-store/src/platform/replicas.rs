//! The running server replicas, one row each, refreshed by the replica's heartbeat and
//! removed when it stops. What a replica reports is what an online root-key rotation
//! needs to know before it switches keys: which root key each live replica serves with
//! and which one it holds staged. These rows are bookkeeping, not changes anyone made:
//! they are written without audit events (under the SQLite writer lock like every write).

use jiff::Timestamp;
use sqlx::any::AnyRow;

use crate::rows::{get, get_timestamp, micros};
use crate::{Store, StoreResult};

/// One replica as it last reported itself.
#[derive(Clone, Debug, PartialEq)]
pub struct ReplicaRow {
    pub replica_id: String,
    pub hostname: String,
    pub version: String,
    pub started_at: Timestamp,
    pub heartbeat_at: Timestamp,
    /// The id of the root key it wraps and unwraps with.
    pub root_key_id: String,
    /// The id of the root key it holds staged for a rotation, if any.
    pub staged_root_key_id: Option<String>,
}

const COLUMNS: &str =
    "replica_id, hostname, version, started_at, heartbeat_at, root_key_id, staged_root_key_id";

fn row_from(row: &AnyRow) -> StoreResult<ReplicaRow> {
    Ok(ReplicaRow {
        replica_id: get(row, "replica_id")?,
        hostname: get(row, "hostname")?,
        version: get(row, "version")?,
        started_at: get_timestamp(row, "started_at")?,
        heartbeat_at: get_timestamp(row, "heartbeat_at")?,
        root_key_id: get(row, "root_key_id")?,
        staged_root_key_id: get(row, "staged_root_key_id")?,
    })
}

impl Store {
    /// Records a replica's heartbeat (inserting its row on the first one).
    pub async fn record_replica_heartbeat(&self, replica: &ReplicaRow) -> StoreResult<()> {
        let _writer = self.writer_guard().await;
        sqlx::query(
            "INSERT INTO server_replicas (replica_id, hostname, version, started_at, \
             heartbeat_at, root_key_id, staged_root_key_id) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (replica_id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at, \
             root_key_id = excluded.root_key_id, staged_root_key_id = excluded.staged_root_key_id",
        )
        .bind(&replica.replica_id)
        .bind(&replica.hostname)
        .bind(&replica.version)
        .bind(micros(replica.started_at))
        .bind(micros(replica.heartbeat_at))
        .bind(&replica.root_key_id)
        .bind(replica.staged_root_key_id.as_deref())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Replicas whose last heartbeat is at or after `since`, oldest start first.
    pub async fn live_replicas(&self, since: Timestamp) -> StoreResult<Vec<ReplicaRow>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM server_replicas WHERE heartbeat_at >= $1 \
             ORDER BY started_at, replica_id"
        );
        let rows = sqlx::query(&sql)
            .bind(micros(since))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(row_from).collect()
    }

    /// Removes a replica's row (it stopped), and rows of replicas silent since before
    /// `stale_before` (they crashed).
    pub async fn remove_replica(
        &self,
        replica_id: &str,
        stale_before: Timestamp,
    ) -> StoreResult<()> {
        sqlx::query("DELETE FROM server_replicas WHERE replica_id = $1 OR heartbeat_at < $2")
            .bind(replica_id)
            .bind(micros(stale_before))
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
