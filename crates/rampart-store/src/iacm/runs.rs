//! Runs of a workspace: one row per run (status, plan, lock ID, the state version its
//! apply wrote), its transitions in order, and its approvals. A run's status changes
//! only through [`WriteTx::save_run`], which applies to the version of the run that was
//! read: two transitions racing, one wins and the other learns it.

use rampart_domain::iacm::runs::{Run, RunApproval, RunStatus, RunTransition};
use rampart_domain::{RunId, WorkspaceId};
use sqlx::any::AnyRow;

use crate::platform::{Page, PageRequest};
use crate::rows::{get, get_flag, get_id, get_optional_id, get_timestamp, micros, number, signed};
use crate::{Store, StoreError, StoreResult, WriteTx};

const RUN_COLUMNS: &str = "id, workspace_id, is_destroy, status, plan_id, lock_id, \
     applied_state_version, created_by, created_at, updated_at, version";

fn status(row: &AnyRow, column: &str) -> StoreResult<RunStatus> {
    let text: String = get(row, column)?;
    RunStatus::parse(&text).ok_or_else(|| StoreError::Corrupt(format!("run {column} {text:?}")))
}

fn run_from(row: &AnyRow) -> StoreResult<Run> {
    Ok(Run {
        id: get_id(row, "id")?,
        workspace_id: get_id(row, "workspace_id")?,
        is_destroy: get_flag(row, "is_destroy")?,
        status: status(row, "status")?,
        plan_id: get_optional_id(row, "plan_id")?,
        lock_id: get(row, "lock_id")?,
        applied_state_version: get::<Option<i64>>(row, "applied_state_version")?
            .map(|version| number(version, "applied_state_version"))
            .transpose()?,
        created_by: get(row, "created_by")?,
        created_at: get_timestamp(row, "created_at")?,
        updated_at: get_timestamp(row, "updated_at")?,
        version: number(get(row, "version")?, "version")?,
    })
}

fn transition_from(row: &AnyRow) -> StoreResult<RunTransition> {
    Ok(RunTransition {
        seq: number(get(row, "seq")?, "seq")?,
        event: get(row, "event")?,
        from_status: status(row, "from_status")?,
        to_status: status(row, "to_status")?,
        actor: get(row, "actor")?,
        at: get_timestamp(row, "at")?,
        detail: get(row, "detail")?,
    })
}

fn approval_from(row: &AnyRow) -> StoreResult<RunApproval> {
    Ok(RunApproval {
        approver: get(row, "approver")?,
        binding: get(row, "binding")?,
        approved_at: get_timestamp(row, "approved_at")?,
        expires_at: get_timestamp(row, "expires_at")?,
    })
}

const RUN_BY_ID: &str = "WHERE workspace_id = $1 AND id = $2";
const TRANSITIONS: &str = "SELECT seq, event, from_status, to_status, actor, at, detail \
     FROM run_transitions WHERE run_id = $1 ORDER BY seq";
const APPROVALS: &str = "SELECT approver, binding, approved_at, expires_at FROM run_approvals \
     WHERE run_id = $1 ORDER BY approved_at, approver";

impl Store {
    /// A workspace's runs newest first, a page at a time (the cursor is a run id).
    pub async fn runs(&self, workspace: WorkspaceId, page: &PageRequest) -> StoreResult<Page<Run>> {
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM runs WHERE workspace_id = $1 \
             AND ($2 = '' OR id < $2) ORDER BY id DESC LIMIT $3"
        );
        let rows = sqlx::query(&sql)
            .bind(workspace.to_string())
            .bind(page.after.clone().unwrap_or_default())
            .bind(page.overfetch())
            .fetch_all(self.pool())
            .await?;
        let items = rows.iter().map(run_from).collect::<StoreResult<Vec<_>>>()?;
        Ok(Page::from_overfetch(items, page.limit, |run| {
            run.id.to_string()
        }))
    }

    /// One run of a workspace with its transitions and approvals.
    pub async fn run(
        &self,
        workspace: WorkspaceId,
        run: RunId,
    ) -> StoreResult<Option<(Run, Vec<RunTransition>, Vec<RunApproval>)>> {
        let sql = format!("SELECT {RUN_COLUMNS} FROM runs {RUN_BY_ID}");
        let Some(row) = sqlx::query(&sql)
            .bind(workspace.to_string())
            .bind(run.to_string())
            .fetch_optional(self.pool())
            .await?
        else {
            return Ok(None);
        };
        let transitions = sqlx::query(TRANSITIONS)
            .bind(run.to_string())
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(transition_from)
            .collect::<StoreResult<Vec<_>>>()?;
        let approvals = sqlx::query(APPROVALS)
            .bind(run.to_string())
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(approval_from)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Some((run_from(&row)?, transitions, approvals)))
    }
}

impl WriteTx {
    pub async fn insert_run(&mut self, run: &Run) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO runs (id, workspace_id, is_destroy, status, plan_id, lock_id, \
             applied_state_version, created_by, created_at, updated_at, version) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(run.id.to_string())
        .bind(run.workspace_id.to_string())
        .bind(i64::from(run.is_destroy))
        .bind(run.status.as_str())
        .bind(run.plan_id.map(|plan| plan.to_string()))
        .bind(run.lock_id.clone())
        .bind(run.applied_state_version.map(signed).transpose()?)
        .bind(run.created_by.clone())
        .bind(micros(run.created_at))
        .bind(micros(run.updated_at))
        .bind(signed(run.version)?)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// A run read inside the transaction (after `lock_workspace`, so it stays as read).
    pub async fn run(&mut self, workspace: WorkspaceId, run: RunId) -> StoreResult<Option<Run>> {
        let sql = format!("SELECT {RUN_COLUMNS} FROM runs {RUN_BY_ID}");
        sqlx::query(&sql)
            .bind(workspace.to_string())
            .bind(run.to_string())
            .fetch_optional(self.conn())
            .await?
            .as_ref()
            .map(run_from)
            .transpose()
    }

    /// The run of a workspace that is applying, if any.
    pub async fn applying_run(&mut self, workspace: WorkspaceId) -> StoreResult<Option<RunId>> {
        let row = sqlx::query("SELECT id FROM runs WHERE workspace_id = $1 AND status = $2")
            .bind(workspace.to_string())
            .bind(RunStatus::Applying.as_str())
            .fetch_optional(self.conn())
            .await?;
        row.as_ref().map(|row| get_id(row, "id")).transpose()
    }

    /// The run a plan is attached to, if any.
    pub async fn run_of_plan(
        &mut self,
        plan: rampart_domain::PlanId,
    ) -> StoreResult<Option<RunId>> {
        let row = sqlx::query("SELECT id FROM runs WHERE plan_id = $1")
            .bind(plan.to_string())
            .fetch_optional(self.conn())
            .await?;
        row.as_ref().map(|row| get_id(row, "id")).transpose()
    }

    /// Stores a run's new status, plan and applied version, only if the stored run is
    /// still at `run.version - 1` (the version read); false when another transition
    /// came first.
    pub async fn save_run(&mut self, run: &Run) -> StoreResult<bool> {
        let result = sqlx::query(
            "UPDATE runs SET status = $3, plan_id = $4, applied_state_version = $5, \
             updated_at = $6, version = $7 WHERE id = $1 AND version = $2",
        )
        .bind(run.id.to_string())
        .bind(signed(run.version.saturating_sub(1))?)
        .bind(run.status.as_str())
        .bind(run.plan_id.map(|plan| plan.to_string()))
        .bind(run.applied_state_version.map(signed).transpose()?)
        .bind(micros(run.updated_at))
        .bind(signed(run.version)?)
        .execute(self.conn())
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Appends a transition (its `seq` is the next one of the run).
    pub async fn insert_run_transition(
        &mut self,
        run: RunId,
        transition: &RunTransition,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO run_transitions (run_id, seq, event, from_status, to_status, actor, \
             at, detail) VALUES ($1, \
             (SELECT COALESCE(MAX(seq), 0) + 1 FROM run_transitions WHERE run_id = $1), \
             $2, $3, $4, $5, $6, $7)",
        )
        .bind(run.to_string())
        .bind(transition.event.clone())
        .bind(transition.from_status.as_str())
        .bind(transition.to_status.as_str())
        .bind(transition.actor.clone())
        .bind(micros(transition.at))
        .bind(transition.detail.clone())
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// A run's approvals, read inside the transaction.
    pub async fn run_approvals(&mut self, run: RunId) -> StoreResult<Vec<RunApproval>> {
        sqlx::query(APPROVALS)
            .bind(run.to_string())
            .fetch_all(self.conn())
            .await?
            .iter()
            .map(approval_from)
            .collect()
    }

    pub async fn insert_run_approval(
        &mut self,
        run: RunId,
        approval: &RunApproval,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO run_approvals (run_id, approver, binding, approved_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(run.to_string())
        .bind(approval.approver.clone())
        .bind(approval.binding.clone())
        .bind(micros(approval.approved_at))
        .bind(micros(approval.expires_at))
        .execute(self.conn())
        .await?;
        Ok(())
    }
}
