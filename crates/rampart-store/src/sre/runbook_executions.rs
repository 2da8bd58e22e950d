//! Executions of runbooks and their steps. Bound inputs arrive sealed with the
//! project's key; state changes are conditional on the state they move from, so two
//! replicas (or a delegate's report racing a cancel) never both move one execution.

use rampart_domain::platform::tenancy::Scope;
use rampart_domain::sre::runbook_executions::{
    ExecutionStatus, ExecutionStep, ExecutionTrigger, RunbookExecution, StepStatus,
};
use rampart_domain::{
    DelegateTaskId, IncidentId, ProjectId, RunbookExecutionId, RunbookId, RunbookTriggerEventId,
};
use sqlx::any::AnyRow;

use crate::platform::access::{scope_columns, scope_from};
use crate::platform::{Page, PageRequest};
use crate::rows::{
    get, get_id, get_optional_id, get_optional_timestamp, get_timestamp, micros, parsed,
};
use crate::sealed::{SealedColumn, SealedOwner};
use crate::{Store, StoreError, StoreResult, WriteTx};

const COLUMNS: &str = "id, org_id, project_id, runbook_id, runbook_identifier, runbook_version, \
     incident_id, trigger_kind, status, started_by, approved_by, canceled_by, current_step, \
     error_code, created_at, updated_at, finished_at";

const STEP_COLUMNS: &str =
    "step_index, name, kind, status, task_id, error_code, started_at, finished_at";

/// The inputs an execution was started with, sealed with the project's key.
pub const EXECUTION_INPUTS: SealedColumn = SealedColumn {
    table: "runbook_executions",
    id_column: "id",
    version_column: None,
    sealed_column: "inputs_sealed",
    optional: false,
    owner: SealedOwner::Column("project_id"),
    extra_columns: &[],
};

fn index_of(value: i64, column: &str) -> StoreResult<u32> {
    u32::try_from(value).map_err(|_| StoreError::Corrupt(format!("{column} out of range")))
}

fn execution_from(row: &AnyRow) -> StoreResult<RunbookExecution> {
    Ok(RunbookExecution {
        id: get_id(row, "id")?,
        scope: scope_from(row, "org_id", "project_id")?,
        runbook_id: get_id(row, "runbook_id")?,
        runbook_identifier: get(row, "runbook_identifier")?,
        runbook_version: index_of(get(row, "runbook_version")?, "runbook_version")?,
        incident_id: get_optional_id(row, "incident_id")?,
        trigger: parsed(
            ExecutionTrigger::parse(&get::<String>(row, "trigger_kind")?),
            "trigger_kind",
        )?,
        status: parsed(
            ExecutionStatus::parse(&get::<String>(row, "status")?),
            "status",
        )?,
        started_by: get(row, "started_by")?,
        approved_by: get(row, "approved_by")?,
        canceled_by: get(row, "canceled_by")?,
        current_step: index_of(get(row, "current_step")?, "current_step")?,
        error_code: get(row, "error_code")?,
        created_at: get_timestamp(row, "created_at")?,
        updated_at: get_timestamp(row, "updated_at")?,
        finished_at: get_optional_timestamp(row, "finished_at")?,
    })
}

fn step_from(row: &AnyRow) -> StoreResult<ExecutionStep> {
    Ok(ExecutionStep {
        index: index_of(get(row, "step_index")?, "step_index")?,
        name: get(row, "name")?,
        kind: get(row, "kind")?,
        status: parsed(StepStatus::parse(&get::<String>(row, "status")?), "status")?,
        task_id: get_optional_id(row, "task_id")?,
        error_code: get(row, "error_code")?,
        started_at: get_optional_timestamp(row, "started_at")?,
        finished_at: get_optional_timestamp(row, "finished_at")?,
    })
}

/// The step a delegate task runs: `(execution, step index)`.
pub type TaskStep = (RunbookExecutionId, u32);

/// An incident change waiting to start the runbooks whose triggers it matches.
#[derive(Clone, Debug, PartialEq)]
pub struct TriggerEventRow {
    pub id: RunbookTriggerEventId,
    pub project_id: ProjectId,
    pub incident_id: IncidentId,
    /// `incident.opened` or `incident.changed`.
    pub event: String,
    pub created_at: jiff::Timestamp,
}

/// Incident changes queued per statement by [`WriteTx::queue_runbook_triggers`].
const TRIGGERS_PER_STATEMENT: usize = 300;

impl Store {
    /// The oldest `limit` incident changes waiting to start runbooks.
    pub async fn runbook_trigger_events(&self, limit: u32) -> StoreResult<Vec<TriggerEventRow>> {
        sqlx::query(
            "SELECT id, project_id, incident_id, event, created_at FROM runbook_trigger_events \
             ORDER BY id LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(|row| {
            Ok(TriggerEventRow {
                id: get_id(row, "id")?,
                project_id: get_id(row, "project_id")?,
                incident_id: get_id(row, "incident_id")?,
                event: get(row, "event")?,
                created_at: get_timestamp(row, "created_at")?,
            })
        })
        .collect()
    }

    /// Executions of a project (of one runbook, when named), newest first.
    pub async fn runbook_executions(
        &self,
        project: ProjectId,
        runbook: Option<RunbookId>,
        page: &PageRequest,
    ) -> StoreResult<Page<RunbookExecution>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM runbook_executions WHERE project_id = $1 \
             AND ($2 = '' OR id < $2) AND ($3 = '' OR runbook_id = $3) ORDER BY id DESC LIMIT $4"
        );
        let rows = sqlx::query(&sql)
            .bind(project.to_string())
            .bind(page.after.clone().unwrap_or_default())
            .bind(runbook.map(|id| id.to_string()).unwrap_or_default())
            .bind(page.overfetch())
            .fetch_all(self.pool())
            .await?;
        let items = rows
            .iter()
            .map(execution_from)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Page::from_overfetch(items, page.limit, |execution| {
            execution.id.to_string()
        }))
    }

    /// One execution of a project, with its sealed inputs.
    pub async fn runbook_execution(
        &self,
        project: ProjectId,
        id: RunbookExecutionId,
    ) -> StoreResult<Option<(RunbookExecution, Vec<u8>)>> {
        let sql = format!(
            "SELECT {COLUMNS}, inputs_sealed FROM runbook_executions WHERE project_id = $1 AND id = $2"
        );
        sqlx::query(&sql)
            .bind(project.to_string())
            .bind(id.to_string())
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(|row| Ok((execution_from(row)?, get(row, "inputs_sealed")?)))
            .transpose()
    }

    /// An execution's steps, in order.
    pub async fn runbook_execution_steps(
        &self,
        id: RunbookExecutionId,
    ) -> StoreResult<Vec<ExecutionStep>> {
        let sql = format!(
            "SELECT {STEP_COLUMNS} FROM runbook_execution_steps WHERE execution_id = $1 \
             ORDER BY step_index"
        );
        sqlx::query(&sql)
            .bind(id.to_string())
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(step_from)
            .collect()
    }

    /// The execution step a delegate task runs, if it runs one.
    pub async fn runbook_step_of_task(
        &self,
        task: DelegateTaskId,
    ) -> StoreResult<Option<TaskStep>> {
        sqlx::query(
            "SELECT execution_id, step_index FROM runbook_execution_steps WHERE task_id = $1",
        )
        .bind(task.to_string())
        .fetch_optional(self.pool())
        .await?
        .as_ref()
        .map(|row| {
            Ok((
                get_id(row, "execution_id")?,
                index_of(get(row, "step_index")?, "step_index")?,
            ))
        })
        .transpose()
    }

    /// The identifiers of the roles `principal` holds — itself or through its groups —
    /// at scopes covering `at` (built-in roles by their `_name`). Only roles defined for
    /// the whole account or an organisation count (a project's admin cannot make one of
    /// the same name), and only assignments over all of a scope's resources.
    pub async fn role_identifiers_held(
        &self,
        principal: rampart_domain::platform::identity::PrincipalId,
        at: Scope,
    ) -> StoreResult<Vec<String>> {
        let (kind, id) = crate::platform::access::grantee_columns(
            rampart_domain::platform::access::Grantee::Principal(principal),
        );
        let rows = sqlx::query(
            "SELECT a.org_id, a.project_id, COALESCE(r.identifier, a.role) AS identifier \
             FROM role_assignments a LEFT JOIN roles r ON r.id = a.role \
             WHERE ((a.principal_kind = $1 AND a.principal_id = $2) \
                OR (a.principal_kind = 'group' AND a.principal_id IN \
                    (SELECT group_id FROM group_members WHERE user_id = $2))) \
               AND a.resource_group_id IS NULL AND (r.id IS NULL OR r.project_id IS NULL)",
        )
        .bind(kind)
        .bind(id)
        .fetch_all(self.pool())
        .await?;
        let mut held = Vec::new();
        for row in &rows {
            let scope = scope_from(row, "org_id", "project_id")?;
            if rampart_domain::platform::access::scope_covers(scope, at) {
                held.push(get::<String>(row, "identifier")?);
            }
        }
        Ok(held)
    }
}

impl WriteTx {
    /// Records an incident change for the runbook triggers (see [`TriggerEventRow`]).
    pub async fn queue_runbook_trigger(&mut self, event: &TriggerEventRow) -> StoreResult<()> {
        self.queue_runbook_triggers(std::slice::from_ref(event))
            .await
    }

    /// Records several incident changes at once (one statement per few hundred).
    pub async fn queue_runbook_triggers(&mut self, events: &[TriggerEventRow]) -> StoreResult<()> {
        let engine = self.engine();
        for chunk in events.chunks(TRIGGERS_PER_STATEMENT) {
            let rows: Vec<String> = (0..chunk.len())
                .map(|n| format!("({})", engine.placeholders(1 + n * 5, 5)))
                .collect();
            let sql = format!(
                "INSERT INTO runbook_trigger_events (id, project_id, incident_id, event, \
                 created_at) VALUES {}",
                rows.join(", ")
            );
            let mut query = sqlx::query(&sql);
            for event in chunk {
                query = query
                    .bind(event.id.to_string())
                    .bind(event.project_id.to_string())
                    .bind(event.incident_id.to_string())
                    .bind(event.event.clone())
                    .bind(micros(event.created_at));
            }
            query.execute(self.conn()).await?;
        }
        Ok(())
    }

    /// Takes a waiting incident change: false when another replica took it first.
    pub async fn take_runbook_trigger(&mut self, id: RunbookTriggerEventId) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM runbook_trigger_events WHERE id = $1")
            .bind(id.to_string())
            .execute(self.conn())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Adds an execution and its steps (all pending).
    pub async fn insert_runbook_execution(
        &mut self,
        execution: &RunbookExecution,
        inputs_sealed: &[u8],
        steps: &[ExecutionStep],
    ) -> StoreResult<()> {
        let (org, project, _) = scope_columns(execution.scope);
        sqlx::query(
            "INSERT INTO runbook_executions (id, org_id, project_id, runbook_id, \
             runbook_identifier, runbook_version, incident_id, trigger_kind, status, \
             inputs_sealed, started_by, approved_by, canceled_by, current_step, error_code, \
             created_at, updated_at, finished_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
        )
        .bind(execution.id.to_string())
        .bind(org)
        .bind(project)
        .bind(execution.runbook_id.to_string())
        .bind(execution.runbook_identifier.clone())
        .bind(i64::from(execution.runbook_version))
        .bind(execution.incident_id.map(|id| id.to_string()))
        .bind(execution.trigger.as_str())
        .bind(execution.status.as_str())
        .bind(inputs_sealed.to_vec())
        .bind(execution.started_by.clone())
        .bind(execution.approved_by.clone())
        .bind(execution.canceled_by.clone())
        .bind(i64::from(execution.current_step))
        .bind(execution.error_code.clone())
        .bind(micros(execution.created_at))
        .bind(micros(execution.updated_at))
        .bind(execution.finished_at.map(micros))
        .execute(self.conn())
        .await?;
        for step in steps {
            self.insert_step(execution.id, step).await?;
        }
        Ok(())
    }

    async fn insert_step(
        &mut self,
        id: RunbookExecutionId,
        step: &ExecutionStep,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO runbook_execution_steps (execution_id, step_index, name, kind, status, \
             task_id, error_code, started_at, finished_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(id.to_string())
        .bind(i64::from(step.index))
        .bind(step.name.clone())
        .bind(step.kind.clone())
        .bind(step.status.as_str())
        .bind(step.task_id.map(|id| id.to_string()))
        .bind(step.error_code.clone())
        .bind(step.started_at.map(micros))
        .bind(step.finished_at.map(micros))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Moves an execution to the state in `execution` from `from` (status and current
    /// step as last read); false when someone moved it first.
    pub async fn update_runbook_execution(
        &mut self,
        execution: &RunbookExecution,
        from: (ExecutionStatus, u32),
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE runbook_executions SET status = $2, approved_by = $3, canceled_by = $4, \
             current_step = $5, error_code = $6, updated_at = $7, finished_at = $8 \
             WHERE id = $1 AND status = $9 AND current_step = $10",
        )
        .bind(execution.id.to_string())
        .bind(execution.status.as_str())
        .bind(execution.approved_by.clone())
        .bind(execution.canceled_by.clone())
        .bind(i64::from(execution.current_step))
        .bind(execution.error_code.clone())
        .bind(micros(execution.updated_at))
        .bind(execution.finished_at.map(micros))
        .bind(from.0.as_str())
        .bind(i64::from(from.1))
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Cancels an execution that is waiting for approval or running, whatever step it
    /// is at; false when it had ended.
    pub async fn cancel_runbook_execution(
        &mut self,
        execution: &RunbookExecution,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE runbook_executions SET status = 'canceled', canceled_by = $2, \
             updated_at = $3, finished_at = $3 \
             WHERE id = $1 AND status IN ('awaiting_approval', 'running')",
        )
        .bind(execution.id.to_string())
        .bind(execution.canceled_by.clone())
        .bind(micros(execution.updated_at))
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// In the transaction that cancels an execution: withdraws the tasks of its running
    /// steps that no delegate holds (still queued, perhaps again after a failed attempt)
    /// so they never run, and ends those steps — skipped when never tried, failed when
    /// an attempt had run. Returns the indexes of the steps withdrawn.
    pub async fn withdraw_queued_runbook_steps(
        &mut self,
        id: RunbookExecutionId,
        at: jiff::Timestamp,
    ) -> StoreResult<Vec<u32>> {
        let rows = sqlx::query(
            "SELECT s.step_index, s.task_id, t.attempts FROM runbook_execution_steps s \
             JOIN delegate_tasks t ON t.id = s.task_id \
             WHERE s.execution_id = $1 AND s.status = 'running' AND t.status = 'queued'",
        )
        .bind(id.to_string())
        .fetch_all(self.conn())
        .await?;
        let mut withdrawn = Vec::new();
        for row in &rows {
            let index = index_of(get(row, "step_index")?, "step_index")?;
            let task: String = get(row, "task_id")?;
            let tried = get::<i64>(row, "attempts")? > 0;
            let done = sqlx::query(
                "UPDATE delegate_tasks SET status = 'failed', error_code = 'execution_canceled', \
                 lease_until = NULL, updated_at = $2 WHERE id = $1 AND status = 'queued'",
            )
            .bind(&task)
            .bind(micros(at))
            .execute(self.conn())
            .await?;
            if done.rows_affected() != 1 {
                continue;
            }
            sqlx::query(
                "UPDATE runbook_execution_steps SET status = $3, \
                 error_code = 'execution_canceled', finished_at = $4 \
                 WHERE execution_id = $1 AND step_index = $2",
            )
            .bind(id.to_string())
            .bind(i64::from(index))
            .bind(if tried { "failed" } else { "skipped" })
            .bind(micros(at))
            .execute(self.conn())
            .await?;
            withdrawn.push(index);
        }
        Ok(withdrawn)
    }

    /// Writes one step's state.
    pub async fn update_runbook_execution_step(
        &mut self,
        id: RunbookExecutionId,
        step: &ExecutionStep,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE runbook_execution_steps SET status = $3, task_id = $4, error_code = $5, \
             started_at = $6, finished_at = $7 WHERE execution_id = $1 AND step_index = $2",
        )
        .bind(id.to_string())
        .bind(i64::from(step.index))
        .bind(step.status.as_str())
        .bind(step.task_id.map(|id| id.to_string()))
        .bind(step.error_code.clone())
        .bind(step.started_at.map(micros))
        .bind(step.finished_at.map(micros))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Marks the steps of an execution still pending as skipped.
    pub async fn skip_pending_runbook_steps(&mut self, id: RunbookExecutionId) -> StoreResult<()> {
        sqlx::query(
            "UPDATE runbook_execution_steps SET status = 'skipped' \
             WHERE execution_id = $1 AND status = 'pending'",
        )
        .bind(id.to_string())
        .execute(self.conn())
        .await?;
        Ok(())
    }
}
