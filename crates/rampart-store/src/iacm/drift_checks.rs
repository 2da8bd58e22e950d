//! Drift checks of workspaces: the history, newest first, and the latest one. Nothing
//! here is sealed: what drifted is read from the check's plan (sealed with the plans).

use rampart_domain::WorkspaceId;
use rampart_domain::iacm::drift_checks::{DriftCheck, DriftMode};
use sqlx::any::AnyRow;

use crate::platform::{Page, PageRequest};
use crate::rows::{
    get, get_id, get_optional_timestamp, get_timestamp, micros, number, parsed, signed,
};
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

/// What a list of workspaces shows of each: whether it is locked, its latest drift
/// check, and when its newest state was written.
#[derive(Clone, Debug)]
pub struct WorkspaceOverview {
    pub workspace_id: WorkspaceId,
    pub locked: bool,
    pub latest_check: Option<DriftCheck>,
    pub state_written_at: Option<jiff::Timestamp>,
}

impl Store {
    /// The overview of each of `workspaces` (a page of a list: two statements).
    pub async fn workspace_overviews(
        &self,
        workspaces: &[WorkspaceId],
    ) -> StoreResult<Vec<WorkspaceOverview>> {
        if workspaces.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT w.id, \
             (SELECT COUNT(*) FROM workspace_locks l WHERE l.workspace_id = w.id) AS locks, \
             (SELECT MAX(s.created_at) FROM state_versions s WHERE s.workspace_id = w.id) \
             AS state_at, \
             (SELECT MAX(d.id) FROM drift_checks d WHERE d.workspace_id = w.id) AS check_id \
             FROM workspaces w WHERE w.id IN ({})",
            self.engine().placeholders(1, workspaces.len())
        );
        let mut query = sqlx::query(&sql);
        for workspace in workspaces {
            query = query.bind(workspace.to_string());
        }
        let rows = query.fetch_all(self.pool()).await?;
        let mut overviews = Vec::with_capacity(rows.len());
        let mut check_ids = Vec::new();
        for row in &rows {
            let locks: i64 = get(row, "locks")?;
            if let Some(check) = get::<Option<String>>(row, "check_id")? {
                check_ids.push(check);
            }
            overviews.push(WorkspaceOverview {
                workspace_id: get_id(row, "id")?,
                locked: locks > 0,
                latest_check: None,
                state_written_at: get_optional_timestamp(row, "state_at")?,
            });
        }
        if !check_ids.is_empty() {
            let sql = format!(
                "SELECT {COLUMNS} FROM drift_checks WHERE id IN ({})",
                self.engine().placeholders(1, check_ids.len())
            );
            let mut query = sqlx::query(&sql);
            for id in &check_ids {
                query = query.bind(id.clone());
            }
            for row in query.fetch_all(self.pool()).await? {
                let check = drift_check_from(&row)?;
                if let Some(overview) = overviews
                    .iter_mut()
                    .find(|overview| overview.workspace_id == check.workspace_id)
                {
                    overview.latest_check = Some(check);
                }
            }
        }
        Ok(overviews)
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
