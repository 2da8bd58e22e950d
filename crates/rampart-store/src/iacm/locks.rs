//! Terraform locks: at most one held lock per workspace, with the client's lock info
//! kept verbatim.

use rampart_domain::WorkspaceId;
use rampart_domain::iacm::state_versions::WorkspaceLock;
use sqlx::any::AnyRow;

use crate::rows::{get, get_timestamp, micros};
use crate::{Store, StoreResult, WriteTx};

const LOCK_SELECT: &str = "SELECT lock_id, info, operation, locked_by, locked_at \
     FROM workspace_locks WHERE workspace_id = $1";

fn lock_from(row: &AnyRow) -> StoreResult<WorkspaceLock> {
    Ok(WorkspaceLock {
        lock_id: get(row, "lock_id")?,
        info: get(row, "info")?,
        operation: get(row, "operation")?,
        locked_by: get(row, "locked_by")?,
        locked_at: get_timestamp(row, "locked_at")?,
    })
}

impl Store {
    pub async fn workspace_lock(
        &self,
        workspace: WorkspaceId,
    ) -> StoreResult<Option<WorkspaceLock>> {
        sqlx::query(LOCK_SELECT)
            .bind(workspace.to_string())
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(lock_from)
            .transpose()
    }
}

impl WriteTx {
    pub async fn held_workspace_lock(
        &mut self,
        workspace: WorkspaceId,
    ) -> StoreResult<Option<WorkspaceLock>> {
        sqlx::query(LOCK_SELECT)
            .bind(workspace.to_string())
            .fetch_optional(self.conn())
            .await?
            .as_ref()
            .map(lock_from)
            .transpose()
    }

    pub async fn insert_workspace_lock(
        &mut self,
        workspace: WorkspaceId,
        lock: &WorkspaceLock,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO workspace_locks (workspace_id, lock_id, info, operation, locked_by, \
             locked_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(workspace.to_string())
        .bind(lock.lock_id.clone())
        .bind(lock.info.clone())
        .bind(lock.operation.clone())
        .bind(lock.locked_by.clone())
        .bind(micros(lock.locked_at))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    pub async fn delete_workspace_lock(&mut self, workspace: WorkspaceId) -> StoreResult<()> {
        sqlx::query("DELETE FROM workspace_locks WHERE workspace_id = $1")
            .bind(workspace.to_string())
            .execute(self.conn())
            .await?;
        Ok(())
    }
}
