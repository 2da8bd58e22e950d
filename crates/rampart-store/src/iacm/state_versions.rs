//! The state backend's versions: append-only rows with their hash chain, read newest
//! first, one at a time with the previous link, or ascending for verification. Bodies
//! arrive sealed; this module never sees plaintext.

use rampart_domain::WorkspaceId;
use rampart_domain::iacm::state_versions::StateVersion;
use sqlx::any::AnyRow;

use crate::platform::{Page, PageRequest};
use crate::rows::{get, get_id, get_timestamp, micros, number, signed};
use crate::sealed::{SealedColumn, SealedOwner};
use crate::{Store, StoreError, StoreResult, WriteTx};

const VERSION_COLUMNS: &str = "workspace_id, version, serial, lineage, sha256, size_bytes, \
     resource_count, lock_id, created_by, created_at, reason, chain_hash";

/// State bodies, keyed by (workspace, version), sealed with the key of the workspace's
/// project; the seal also names the state's serial and lineage.
pub const STATE_BODY: SealedColumn = SealedColumn {
    table: "state_versions",
    id_column: "workspace_id",
    version_column: Some("version"),
    sealed_column: "body_sealed",
    optional: false,
    owner: SealedOwner::Parent {
        table: "workspaces",
        foreign_key: "workspace_id",
        column: "project_id",
    },
    extra_columns: &["serial", "lineage"],
};

fn hash(bytes: Vec<u8>, column: &str) -> StoreResult<[u8; 32]> {
    bytes
        .try_into()
        .map_err(|_| StoreError::Corrupt(format!("{column} is not 32 bytes")))
}

fn version_from(row: &AnyRow) -> StoreResult<StateVersion> {
    Ok(StateVersion {
        workspace_id: get_id(row, "workspace_id")?,
        version: number(get(row, "version")?, "version")?,
        serial: number(get(row, "serial")?, "serial")?,
        lineage: get(row, "lineage")?,
        sha256: hash(get(row, "sha256")?, "sha256")?,
        size_bytes: number(get(row, "size_bytes")?, "size_bytes")?,
        resource_count: number(get(row, "resource_count")?, "resource_count")?,
        lock_id: get(row, "lock_id")?,
        created_by: get(row, "created_by")?,
        created_at: get_timestamp(row, "created_at")?,
        reason: get(row, "reason")?,
        chain_hash: hash(get(row, "chain_hash")?, "chain_hash")?,
    })
}

impl Store {
    /// Versions newest first, a page at a time (the cursor is a version number).
    pub async fn state_versions(
        &self,
        workspace: WorkspaceId,
        page: &PageRequest,
    ) -> StoreResult<Page<StateVersion>> {
        let before = match page.after.as_deref() {
            None => i64::MAX,
            Some(cursor) => cursor
                .parse::<i64>()
                .map_err(|_| StoreError::Internal("state version cursor".into()))?,
        };
        let sql = format!(
            "SELECT {VERSION_COLUMNS} FROM state_versions WHERE workspace_id = $1 \
             AND version < $2 ORDER BY version DESC LIMIT $3"
        );
        let rows = sqlx::query(&sql)
            .bind(workspace.to_string())
            .bind(before)
            .bind(page.overfetch())
            .fetch_all(self.pool())
            .await?;
        let items = rows
            .iter()
            .map(version_from)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Page::from_overfetch(items, page.limit, |v| {
            v.version.to_string()
        }))
    }

    /// One version's row and sealed body, with the previous version's chain hash (all
    /// zeros for version 1), so the caller can check the link.
    pub async fn state_version(
        &self,
        workspace: WorkspaceId,
        version: Option<u64>,
    ) -> StoreResult<Option<(StateVersion, Vec<u8>, Option<[u8; 32]>)>> {
        let sql = match version {
            Some(_) => format!(
                "SELECT {VERSION_COLUMNS}, body_sealed FROM state_versions \
                 WHERE workspace_id = $1 AND version = $2"
            ),
            None => format!(
                "SELECT {VERSION_COLUMNS}, body_sealed FROM state_versions \
                 WHERE workspace_id = $1 AND version > $2 ORDER BY version DESC LIMIT 1"
            ),
        };
        // A number beyond what the store keeps names no version.
        let Ok(number) = signed(version.unwrap_or(0)) else {
            return Ok(None);
        };
        let Some(row) = sqlx::query(&sql)
            .bind(workspace.to_string())
            .bind(number)
            .fetch_optional(self.pool())
            .await?
        else {
            return Ok(None);
        };
        let found = version_from(&row)?;
        let body: Vec<u8> = get(&row, "body_sealed")?;
        let previous = match found.version {
            0 | 1 => None,
            n => {
                let row = sqlx::query(
                    "SELECT chain_hash FROM state_versions WHERE workspace_id = $1 AND version = $2",
                )
                .bind(workspace.to_string())
                .bind(signed(n - 1)?)
                .fetch_optional(self.pool())
                .await?;
                match row {
                    Some(row) => Some(hash(get(&row, "chain_hash")?, "chain_hash")?),
                    // A missing predecessor is a broken chain: the caller sees it as a
                    // link that does not verify.
                    None => Some([0xff; 32]),
                }
            }
        };
        Ok(Some((found, body, previous)))
    }

    /// Versions with their sealed bodies in version order, after `after`.
    pub async fn state_versions_ascending(
        &self,
        workspace: WorkspaceId,
        after: Option<u64>,
        limit: u32,
    ) -> StoreResult<Vec<(StateVersion, Vec<u8>)>> {
        let sql = format!(
            "SELECT {VERSION_COLUMNS}, body_sealed FROM state_versions \
             WHERE workspace_id = $1 AND version > $2 ORDER BY version LIMIT $3"
        );
        let rows = sqlx::query(&sql)
            .bind(workspace.to_string())
            .bind(signed(after.unwrap_or(0))?)
            .bind(i64::from(limit))
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|row| Ok((version_from(row)?, get(row, "body_sealed")?)))
            .collect()
    }
}

impl Store {
    /// When the workspace's newest state version was written (none: no state yet).
    pub async fn last_state_written_at(
        &self,
        workspace: WorkspaceId,
    ) -> StoreResult<Option<jiff::Timestamp>> {
        let row = sqlx::query(
            "SELECT created_at FROM state_versions WHERE workspace_id = $1 \
             ORDER BY version DESC LIMIT 1",
        )
        .bind(workspace.to_string())
        .fetch_optional(self.pool())
        .await?;
        row.map(|row| get_timestamp(&row, "created_at")).transpose()
    }
}

impl WriteTx {
    /// The newest version's row (inside the transaction, after `lock_workspace`).
    pub async fn latest_state_version(
        &mut self,
        workspace: WorkspaceId,
    ) -> StoreResult<Option<StateVersion>> {
        let sql = format!(
            "SELECT {VERSION_COLUMNS} FROM state_versions WHERE workspace_id = $1 \
             ORDER BY version DESC LIMIT 1"
        );
        sqlx::query(&sql)
            .bind(workspace.to_string())
            .fetch_optional(self.conn())
            .await?
            .as_ref()
            .map(version_from)
            .transpose()
    }

    pub async fn insert_state_version(
        &mut self,
        row: &StateVersion,
        body_sealed: &[u8],
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO state_versions (workspace_id, version, serial, lineage, sha256, \
             size_bytes, resource_count, lock_id, created_by, created_at, reason, \
             body_sealed, chain_hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(row.workspace_id.to_string())
        .bind(signed(row.version)?)
        .bind(signed(row.serial)?)
        .bind(row.lineage.clone())
        .bind(row.sha256.to_vec())
        .bind(signed(row.size_bytes)?)
        .bind(signed(row.resource_count)?)
        .bind(row.lock_id.clone())
        .bind(row.created_by.clone())
        .bind(micros(row.created_at))
        .bind(row.reason.clone())
        .bind(body_sealed.to_vec())
        .bind(row.chain_hash.to_vec())
        .execute(self.conn())
        .await?;
        Ok(())
    }
}
