//! Drift checks of workspaces: the history, newest first, and the latest one. Nothing
//! here is sealed: what drifted is read from the check's plan (sealed with the plans).

use rampart_domain::WorkspaceId;
use rampart_domain::iacm::drift_checks::{DriftCheck, DriftMode};
use sqlx::any::AnyRow;

use crate::platform::{Page, PageRequest};
use crate::rows::{get, get_id, get_timestamp, micros, number, parsed, signed};
use crate::{Store, StoreResult, WriteTx};

const COLUMNS: &str = "id, workspace_id, plan_id, mode, drifted, checked_by, checked_at";

fn drift_check_from(row: &AnyRow) -> StoreResult<DriftCheck> {
    Ok(DriftCheck {
        id: get(row, "id")?,
        workspace_id: get_id(row, "workspace_id")?,
        plan_id: get_id(row, "plan_id")?,
        mode: parsed(DriftMode::parse(&get::<String>(row, "mode")?), "mode")?,
        drifted: number(get(row, "drifted")?, "drifted")?,
        checked_by: get(row, "checked_by")?,
        checked_at: get_timestamp(row, "checked_at")?,
    })
}

impl Store {
    /// A workspace's drift checks, newest first.
    pub async fn drift_checks(
        &self,
        workspace: WorkspaceId,
        page: &PageRequest,
    ) -> StoreResult<Page<DriftCheck>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM drift_checks WHERE workspace_id = $1 AND ($2 = '' OR id < $2) \
             ORDER BY id DESC LIMIT $3"
        );
        let rows = sqlx::query(&sql)
            .bind(workspace.to_string())
            .bind(page.after.clone().unwrap_or_default())
            .bind(page.overfetch())
            .fetch_all(self.pool())
            .await?;
        let items = rows
            .iter()
            .map(drift_check_from)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Page::from_overfetch(items, page.limit, |check| {
            check.id.clone()
        }))
    }

    /// One drift check of a workspace.
    pub async fn drift_check(
        &self,
        workspace: WorkspaceId,
        id: &str,
    ) -> StoreResult<Option<DriftCheck>> {
        let sql = format!("SELECT {COLUMNS} FROM drift_checks WHERE workspace_id = $1 AND id = $2");
        sqlx::query(&sql)
            .bind(workspace.to_string())
            .bind(id.to_owned())
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(drift_check_from)
            .transpose()
    }

    /// A workspace's latest drift check.
    pub async fn latest_drift_check(
        &self,
        workspace: WorkspaceId,
    ) -> StoreResult<Option<DriftCheck>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM drift_checks WHERE workspace_id = $1 ORDER BY id DESC LIMIT 1"
        );
        sqlx::query(&sql)
            .bind(workspace.to_string())
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(drift_check_from)
            .transpose()
    }
}

impl WriteTx {
    pub async fn insert_drift_check(&mut self, check: &DriftCheck) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO drift_checks (id, workspace_id, plan_id, mode, drifted, checked_by, \
             checked_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(check.id.clone())
        .bind(check.workspace_id.to_string())
        .bind(check.plan_id.to_string())
        .bind(check.mode.as_str())
        .bind(signed(check.drifted)?)
        .bind(check.checked_by.clone())
        .bind(micros(check.checked_at))
        .execute(self.conn())
        .await?;
        Ok(())
    }
}
