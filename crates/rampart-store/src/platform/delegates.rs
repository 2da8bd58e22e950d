//! Delegates of projects and the tasks they pull. Credentials arrive as blind indexes
//! and task arguments and results arrive sealed: this module never sees a token or a
//! task's content. A task is claimed with a conditional update, so exactly one
//! delegate holds it at a time whatever number of server replicas hand tasks out.

use jiff::Timestamp;
use rampart_domain::platform::delegates::{
    Delegate, DelegateStatus, DelegateTask, Tags, TaskKind, TaskStatus,
};
use rampart_domain::{DelegateId, DelegateTaskId, ProjectId, Slug};
use sqlx::any::AnyRow;

use crate::platform::{Page, PageRequest};
use crate::rows::{
    get, get_id, get_optional_id, get_optional_timestamp, get_timestamp, micros, number, parsed,
};
use crate::sealed::{SealedColumn, SealedOwner};
use crate::{Store, StoreError, StoreResult, WriteTx};

const COLUMNS: &str = "id, project_id, name, tags, status, registration_expires_at, version, \
     last_heartbeat_at, last_ip, created_by, created_at, registered_at, revoked_at, sandbox";

const TASK_COLUMNS: &str = "id, project_id, kind, selector, target_delegate_id, \
     arguments_sealed, status, delegate_id, attempts, max_attempts, not_before, lease_until, expires_at, result_sealed, \
     error_code, subject, created_at, updated_at";

/// Task arguments, sealed with the project's key.
pub const TASK_ARGUMENTS: SealedColumn = SealedColumn {
    table: "delegate_tasks",
    id_column: "id",
    version_column: None,
    sealed_column: "arguments_sealed",
    optional: false,
    owner: SealedOwner::Column("project_id"),
    extra_columns: &[],
};

/// Task results (what the delegate reported), sealed with the project's key.
pub const TASK_RESULT: SealedColumn = SealedColumn {
    table: "delegate_tasks",
    id_column: "id",
    version_column: None,
    sealed_column: "result_sealed",
    optional: true,
    owner: SealedOwner::Column("project_id"),
    extra_columns: &[],
};

/// How many tasks one page of claim candidates holds (a delegate whose tags satisfy
/// none of a page looks at the next).
pub const CLAIM_CANDIDATES: i64 = 32;

fn tags_from(row: &AnyRow, column: &str) -> StoreResult<Tags> {
    let text: String = get(row, column)?;
    let texts: Vec<String> = serde_json::from_str(&text)
        .map_err(|_| StoreError::Corrupt(format!("column {column} holds invalid tags")))?;
    parsed(Tags::parse(&texts), column)
}

fn tags_text(tags: &Tags) -> String {
    serde_json::Value::from(tags.to_strings()).to_string()
}

fn delegate_from(row: &AnyRow) -> StoreResult<Delegate> {
    Ok(Delegate {
        id: get_id(row, "id")?,
        project_id: get_id(row, "project_id")?,
        name: parsed(Slug::parse(&get::<String>(row, "name")?), "name")?,
        tags: tags_from(row, "tags")?,
        status: parsed(
            DelegateStatus::parse(&get::<String>(row, "status")?),
            "status",
        )?,
        registration_expires_at: get_optional_timestamp(row, "registration_expires_at")?,
        version: get(row, "version")?,
        last_heartbeat_at: get_optional_timestamp(row, "last_heartbeat_at")?,
        last_ip: get(row, "last_ip")?,
        created_by: get(row, "created_by")?,
        created_at: get_timestamp(row, "created_at")?,
        registered_at: get_optional_timestamp(row, "registered_at")?,
        revoked_at: get_optional_timestamp(row, "revoked_at")?,
        sandbox: get(row, "sandbox")?,
    })
}

fn count(value: i64, column: &str) -> StoreResult<u32> {
    u32::try_from(number(value, column)?)
        .map_err(|_| StoreError::Corrupt(format!("column {column} out of range")))
}

fn task_from(row: &AnyRow) -> StoreResult<DelegateTask> {
    Ok(DelegateTask {
        id: get_id(row, "id")?,
        project_id: get_id(row, "project_id")?,
        kind: parsed(TaskKind::parse(&get::<String>(row, "kind")?), "kind")?,
        selector: tags_from(row, "selector")?,
        target_delegate_id: get_optional_id(row, "target_delegate_id")?,
        arguments_sealed: get(row, "arguments_sealed")?,
        status: parsed(TaskStatus::parse(&get::<String>(row, "status")?), "status")?,
        delegate_id: get_optional_id(row, "delegate_id")?,
        attempts: count(get(row, "attempts")?, "attempts")?,
        max_attempts: count(get(row, "max_attempts")?, "max_attempts")?,
        not_before: get_timestamp(row, "not_before")?,
        lease_until: get_optional_timestamp(row, "lease_until")?,
        expires_at: get_timestamp(row, "expires_at")?,
        result_sealed: get(row, "result_sealed")?,
        error_code: get(row, "error_code")?,
        subject: get(row, "subject")?,
        created_at: get_timestamp(row, "created_at")?,
        updated_at: get_timestamp(row, "updated_at")?,
    })
}

/// How a task's attempt ended, as the store records it.
#[derive(Clone, Debug, PartialEq)]
pub enum TaskEnd {
    /// Final: succeeded, failed for good or refused.
    Final {
        status: TaskStatus,
        result_sealed: Option<Vec<u8>>,
        error_code: Option<String>,
    },
    /// Failed, to be tried again from `not_before`.
    Retry {
        not_before: Timestamp,
        result_sealed: Option<Vec<u8>>,
        error_code: Option<String>,
    },
}

impl Store {
    /// A project's delegates, oldest first.
    pub async fn delegates(
        &self,
        project: ProjectId,
        page: &PageRequest,
    ) -> StoreResult<Page<Delegate>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM delegates WHERE project_id = $1 AND id > $2 ORDER BY id LIMIT $3"
        );
        let rows = sqlx::query(&sql)
            .bind(project.to_string())
            .bind(page.after_or_start())
            .bind(page.overfetch())
            .fetch_all(self.pool())
            .await?;
        let items = rows
            .iter()
            .map(delegate_from)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Page::from_overfetch(items, page.limit, |delegate| {
            delegate.id.to_string()
        }))
    }

    pub async fn delegate_by_name(
        &self,
        project: ProjectId,
        name: &Slug,
    ) -> StoreResult<Option<Delegate>> {
        let sql = format!("SELECT {COLUMNS} FROM delegates WHERE project_id = $1 AND name = $2");
        sqlx::query(&sql)
            .bind(project.to_string())
            .bind(name.as_str())
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(delegate_from)
            .transpose()
    }

    /// The delegate whose credential has this blind index (any status).
    pub async fn delegate_by_credential(&self, hmac: &[u8]) -> StoreResult<Option<Delegate>> {
        self.delegate_by_index("credential_hmac", hmac).await
    }

    /// The delegate whose registration token has this blind index (pending ones only
    /// have one).
    pub async fn delegate_by_registration(&self, hmac: &[u8]) -> StoreResult<Option<Delegate>> {
        self.delegate_by_index("registration_hmac", hmac).await
    }

    async fn delegate_by_index(
        &self,
        column: &'static str,
        hmac: &[u8],
    ) -> StoreResult<Option<Delegate>> {
        let sql = format!("SELECT {COLUMNS} FROM delegates WHERE {column} = $1");
        sqlx::query(&sql)
            .bind(hmac.to_vec())
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(delegate_from)
            .transpose()
    }

    /// Records a delegate's heartbeat (bookkeeping, outside an audited transaction:
    /// a delegate polls every few seconds).
    pub async fn touch_delegate(
        &self,
        id: DelegateId,
        version: Option<&str>,
        sandbox: Option<&str>,
        ip: &str,
        at: Timestamp,
    ) -> StoreResult<()> {
        let _writer = self.writer_guard().await;
        sqlx::query(
            "UPDATE delegates SET last_heartbeat_at = $2, last_ip = $3, \
             version = COALESCE($4, version), sandbox = COALESCE($5, sandbox) WHERE id = $1",
        )
        .bind(id.to_string())
        .bind(micros(at))
        .bind(ip)
        .bind(version)
        .bind(sandbox)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Keeps the output so far of the running attempt of `task` by `delegate` (sealed,
    /// where its result will go) and extends its lease to `lease_until`. Bookkeeping
    /// outside an audited transaction, like a heartbeat (the task's end is audited).
    /// False when the task is not running for that delegate any more.
    pub async fn progress_delegate_task(
        &self,
        task: DelegateTaskId,
        delegate: DelegateId,
        attempt: u32,
        output_sealed: &[u8],
        lease_until: Timestamp,
        at: Timestamp,
    ) -> StoreResult<bool> {
        let _writer = self.writer_guard().await;
        let done = sqlx::query(
            "UPDATE delegate_tasks SET result_sealed = $4, lease_until = $5, updated_at = $6 \
             WHERE id = $1 AND delegate_id = $2 AND attempts = $3 AND status = 'running'",
        )
        .bind(task.to_string())
        .bind(delegate.to_string())
        .bind(i64::from(attempt))
        .bind(output_sealed.to_vec())
        .bind(micros(lease_until))
        .bind(micros(at))
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// A task of a project.
    pub async fn delegate_task(
        &self,
        project: ProjectId,
        id: DelegateTaskId,
    ) -> StoreResult<Option<DelegateTask>> {
        let sql =
            format!("SELECT {TASK_COLUMNS} FROM delegate_tasks WHERE project_id = $1 AND id = $2");
        sqlx::query(&sql)
            .bind(project.to_string())
            .bind(id.to_string())
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(task_from)
            .transpose()
    }

    /// A project's tasks, newest first (`status` filters).
    pub async fn delegate_tasks(
        &self,
        project: ProjectId,
        status: Option<TaskStatus>,
        page: &PageRequest,
    ) -> StoreResult<Page<DelegateTask>> {
        let sql = format!(
            "SELECT {TASK_COLUMNS} FROM delegate_tasks WHERE project_id = $1 \
             AND ($2 = '' OR id < $2) AND ($3 = '' OR status = $3) ORDER BY id DESC LIMIT $4"
        );
        let rows = sqlx::query(&sql)
            .bind(project.to_string())
            .bind(page.after.clone().unwrap_or_default())
            .bind(status.map(TaskStatus::as_str).unwrap_or_default())
            .bind(page.overfetch())
            .fetch_all(self.pool())
            .await?;
        let items = rows
            .iter()
            .map(task_from)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Page::from_overfetch(items, page.limit, |task| {
            task.id.to_string()
        }))
    }

    /// Tasks of `project` that `delegate` could claim at `now`, oldest due first, one
    /// page of at most [`CLAIM_CANDIDATES`] after `after` (the last page's last
    /// `(not_before, id)`): queued and due, or running with a lease that ran out (its
    /// delegate went away), and meant for any delegate or for this one. Tasks for
    /// another delegate are left out here, so a silent delegate's backlog never hides
    /// the rest; tag selectors are checked by the caller, page by page.
    pub async fn claimable_tasks(
        &self,
        project: ProjectId,
        delegate: DelegateId,
        now: Timestamp,
        after: Option<(Timestamp, DelegateTaskId)>,
    ) -> StoreResult<Vec<DelegateTask>> {
        let after_clause = if after.is_some() {
            "AND (not_before > $5 OR (not_before = $5 AND id > $6)) "
        } else {
            ""
        };
        let sql = format!(
            "SELECT {TASK_COLUMNS} FROM delegate_tasks WHERE project_id = $1 AND \
             ((status = 'queued' AND not_before <= $2) OR (status = 'running' AND lease_until < $2)) \
             AND (target_delegate_id IS NULL OR target_delegate_id = $4) {after_clause}\
             ORDER BY not_before, id LIMIT $3"
        );
        let mut query = sqlx::query(&sql)
            .bind(project.to_string())
            .bind(micros(now))
            .bind(CLAIM_CANDIDATES)
            .bind(delegate.to_string());
        if let Some((not_before, id)) = after {
            query = query.bind(micros(not_before)).bind(id.to_string());
        }
        let rows = query.fetch_all(self.pool()).await?;
        rows.iter().map(task_from).collect()
    }
}

impl Store {
    /// Projects with tasks whose time ran out while queued or running.
    pub async fn projects_with_overdue_tasks(&self, at: Timestamp) -> StoreResult<Vec<ProjectId>> {
        let rows = sqlx::query(
            "SELECT DISTINCT project_id FROM delegate_tasks \
             WHERE status IN ('queued', 'running') AND expires_at < $1",
        )
        .bind(micros(at))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|row| get_id(row, "project_id")).collect()
    }
}

impl WriteTx {
    /// A new delegate, pending, with the blind index of its registration token.
    pub async fn insert_delegate(
        &mut self,
        delegate: &Delegate,
        registration_hmac: &[u8],
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO delegates (id, project_id, name, tags, status, registration_hmac, \
             registration_expires_at, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(delegate.id.to_string())
        .bind(delegate.project_id.to_string())
        .bind(delegate.name.as_str())
        .bind(tags_text(&delegate.tags))
        .bind(delegate.status.as_str())
        .bind(registration_hmac.to_vec())
        .bind(delegate.registration_expires_at.map(micros))
        .bind(delegate.created_by.as_str())
        .bind(micros(delegate.created_at))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Exchanges a pending delegate's registration for its credential: active, the
    /// registration token spent. False when it was not pending any more (a second
    /// registration with the same token lost the race).
    pub async fn register_delegate(
        &mut self,
        id: DelegateId,
        credential_hmac: &[u8],
        version: &str,
        ip: &str,
        at: Timestamp,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE delegates SET status = 'active', registration_hmac = NULL, \
             registration_expires_at = NULL, credential_hmac = $2, version = $3, last_ip = $4, \
             registered_at = $5, last_heartbeat_at = $5 WHERE id = $1 AND status = 'pending'",
        )
        .bind(id.to_string())
        .bind(credential_hmac.to_vec())
        .bind(version)
        .bind(ip)
        .bind(micros(at))
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Revokes a delegate (its registration token too) and puts its running tasks
    /// back in the queue. False when it was revoked already.
    pub async fn revoke_delegate(&mut self, id: DelegateId, at: Timestamp) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE delegates SET status = 'revoked', registration_hmac = NULL, \
             registration_expires_at = NULL, revoked_at = $2 WHERE id = $1 AND status <> 'revoked'",
        )
        .bind(id.to_string())
        .bind(micros(at))
        .execute(self.conn())
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        self.requeue_tasks_of(id, at).await?;
        Ok(true)
    }

    /// Deletes a delegate (its running tasks go back in the queue).
    pub async fn delete_delegate(&mut self, id: DelegateId, at: Timestamp) -> StoreResult<bool> {
        self.requeue_tasks_of(id, at).await?;
        let done = sqlx::query("DELETE FROM delegates WHERE id = $1")
            .bind(id.to_string())
            .execute(self.conn())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn requeue_tasks_of(&mut self, id: DelegateId, at: Timestamp) -> StoreResult<()> {
        sqlx::query(
            "UPDATE delegate_tasks SET status = 'queued', delegate_id = NULL, lease_until = NULL, \
             not_before = $2, updated_at = $2 WHERE delegate_id = $1 AND status = 'running'",
        )
        .bind(id.to_string())
        .bind(micros(at))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    pub async fn insert_delegate_task(&mut self, task: &DelegateTask) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO delegate_tasks (id, project_id, kind, selector, target_delegate_id, \
             arguments_sealed, status, attempts, max_attempts, not_before, expires_at, subject, \
             created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)",
        )
        .bind(task.id.to_string())
        .bind(task.project_id.to_string())
        .bind(task.kind.as_str())
        .bind(tags_text(&task.selector))
        .bind(task.target_delegate_id.map(|id| id.to_string()))
        .bind(task.arguments_sealed.clone())
        .bind(task.status.as_str())
        .bind(i64::from(task.attempts))
        .bind(i64::from(task.max_attempts))
        .bind(micros(task.not_before))
        .bind(micros(task.expires_at))
        .bind(task.subject.as_deref())
        .bind(micros(task.created_at))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Claims `task` for `delegate` if it is still as `seen` (queued, or running with
    /// its lease run out): one attempt more, leased until `lease_until`. False when
    /// another delegate (through any replica) took it first.
    pub async fn claim_delegate_task(
        &mut self,
        seen: &DelegateTask,
        delegate: DelegateId,
        lease_until: Timestamp,
        at: Timestamp,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE delegate_tasks SET status = 'running', delegate_id = $2, lease_until = $3, \
             attempts = attempts + 1, updated_at = $4 \
             WHERE id = $1 AND status = $5 AND attempts = $6",
        )
        .bind(seen.id.to_string())
        .bind(delegate.to_string())
        .bind(micros(lease_until))
        .bind(micros(at))
        .bind(seen.status.as_str())
        .bind(i64::from(seen.attempts))
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Ends the running attempt of `task` by `delegate` as `end`. False when the task
    /// is not running for that delegate any more (its lease ran out and another took
    /// it, or it was put back when the delegate was revoked).
    pub async fn end_delegate_task(
        &mut self,
        task: DelegateTaskId,
        delegate: DelegateId,
        attempt: u32,
        end: &TaskEnd,
        at: Timestamp,
    ) -> StoreResult<bool> {
        let (status, not_before, result, error) = match end {
            TaskEnd::Final {
                status,
                result_sealed,
                error_code,
            } => (*status, None, result_sealed, error_code),
            TaskEnd::Retry {
                not_before,
                result_sealed,
                error_code,
            } => (
                TaskStatus::Queued,
                Some(*not_before),
                result_sealed,
                error_code,
            ),
        };
        let done = sqlx::query(
            "UPDATE delegate_tasks SET status = $4, not_before = COALESCE($5, not_before), \
             lease_until = NULL, result_sealed = $6, error_code = $7, updated_at = $8 \
             WHERE id = $1 AND delegate_id = $2 AND attempts = $3 AND status = 'running'",
        )
        .bind(task.to_string())
        .bind(delegate.to_string())
        .bind(i64::from(attempt))
        .bind(status.as_str())
        .bind(not_before.map(micros))
        .bind(result.clone())
        .bind(error.as_deref())
        .bind(micros(at))
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Fails `seen` with `error_code` when it is still as read (status and attempts):
    /// its attempts ran out without a report, or its arguments cannot be opened. False
    /// when something else changed it first.
    pub async fn fail_delegate_task(
        &mut self,
        seen: &DelegateTask,
        error_code: &str,
        at: Timestamp,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE delegate_tasks SET status = 'failed', error_code = $5, \
             lease_until = NULL, updated_at = $3 WHERE id = $1 AND status = $2 AND attempts = $4",
        )
        .bind(seen.id.to_string())
        .bind(seen.status.as_str())
        .bind(micros(at))
        .bind(i64::from(seen.attempts))
        .bind(error_code)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Fails every task (of `project`, or of every project) whose time ran out before
    /// it succeeded (queued or running past `expires_at`), returning them.
    pub async fn expire_delegate_tasks(
        &mut self,
        project: Option<ProjectId>,
        at: Timestamp,
    ) -> StoreResult<Vec<DelegateTask>> {
        let of_project = if project.is_some() {
            "project_id = $2 AND "
        } else {
            ""
        };
        let sql = format!(
            "UPDATE delegate_tasks SET status = 'failed', error_code = 'task_timed_out', \
             lease_until = NULL, updated_at = $1 \
             WHERE {of_project}status IN ('queued', 'running') AND expires_at < $1 \
             RETURNING {TASK_COLUMNS}"
        );
        let mut query = sqlx::query(&sql).bind(micros(at));
        if let Some(project) = project {
            query = query.bind(project.to_string());
        }
        let rows = query.fetch_all(self.conn()).await?;
        rows.iter().map(task_from).collect()
    }
}
