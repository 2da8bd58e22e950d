//! Escalation state per paged incident: started, level, round, when the next step is
//! due and whether it is waiting, acknowledged or exhausted. Due rows are taken under a
//! row lock (`FOR UPDATE SKIP LOCKED` on PostgreSQL), so several replicas never page twice.

use jiff::Timestamp;
use rampart_domain::{IncidentId, ProjectId};
use sqlx::any::AnyRow;

use crate::rows::{get, get_id, get_timestamp, micros, number, signed};
use crate::{Store, StoreResult, WriteTx};

/// Where an incident's escalation stands.
#[derive(Clone, Debug, PartialEq)]
pub struct EscalationRow {
    pub incident_id: IncidentId,
    pub project_id: ProjectId,
    pub policy_id: String,
    /// Whether the first level has been paged.
    pub started: bool,
    pub level: u64,
    pub round: u64,
    pub next_at: Timestamp,
    /// `waiting`, `acknowledged` or `exhausted`.
    pub status: String,
    pub updated_at: Timestamp,
}

const ESCALATION_COLUMNS: &str =
    "incident_id, project_id, policy_id, started, level, round, next_at, status, updated_at";

fn escalation_from(row: &AnyRow) -> StoreResult<EscalationRow> {
    Ok(EscalationRow {
        incident_id: get_id(row, "incident_id")?,
        project_id: get_id(row, "project_id")?,
        policy_id: get(row, "policy_id")?,
        started: get::<i64>(row, "started")? != 0,
        level: number(get(row, "level")?, "level")?,
        round: number(get(row, "round")?, "round")?,
        next_at: get_timestamp(row, "next_at")?,
        status: get(row, "status")?,
        updated_at: get_timestamp(row, "updated_at")?,
    })
}

impl Store {
    pub async fn escalation(&self, incident: IncidentId) -> StoreResult<Option<EscalationRow>> {
        let sql = format!("SELECT {ESCALATION_COLUMNS} FROM escalations WHERE incident_id = $1");
        sqlx::query(&sql)
            .bind(incident.to_string())
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(escalation_from)
            .transpose()
    }
}

impl WriteTx {
    /// Queues an incident's escalation: the engine pages its first level. A reopened
    /// incident starts over from the first level.
    pub async fn start_escalation(
        &mut self,
        incident: IncidentId,
        project: ProjectId,
        policy: &str,
        now: Timestamp,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO escalations (incident_id, project_id, policy_id, started, level, round, \
             next_at, status, updated_at) VALUES ($1, $2, $3, 0, 0, 0, $4, 'waiting', $4) \
             ON CONFLICT (incident_id) DO UPDATE SET policy_id = $3, started = 0, level = 0, \
             round = 0, next_at = $4, status = 'waiting', updated_at = $4",
        )
        .bind(incident.to_string())
        .bind(project.to_string())
        .bind(policy)
        .bind(micros(now))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Escalations due by `now`, locked for this transaction (other replicas skip them).
    pub async fn due_escalations(
        &mut self,
        now: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<EscalationRow>> {
        let lock = if self.engine() == crate::Engine::Postgres {
            " FOR UPDATE SKIP LOCKED"
        } else {
            ""
        };
        let sql = format!(
            "SELECT {ESCALATION_COLUMNS} FROM escalations WHERE status = 'waiting' \
             AND next_at <= $1 ORDER BY next_at LIMIT $2{lock}"
        );
        let rows = sqlx::query(&sql)
            .bind(micros(now))
            .bind(i64::from(limit))
            .fetch_all(self.conn())
            .await?;
        rows.iter().map(escalation_from).collect()
    }

    pub async fn update_escalation(&mut self, row: &EscalationRow) -> StoreResult<()> {
        sqlx::query(
            "UPDATE escalations SET started = $2, level = $3, round = $4, next_at = $5, \
             status = $6, updated_at = $7 WHERE incident_id = $1",
        )
        .bind(row.incident_id.to_string())
        .bind(i64::from(row.started))
        .bind(signed(row.level)?)
        .bind(signed(row.round)?)
        .bind(micros(row.next_at))
        .bind(row.status.clone())
        .bind(micros(row.updated_at))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Stops an incident's escalation (acknowledged or resolved).
    pub async fn stop_escalation(
        &mut self,
        incident: IncidentId,
        status: &str,
        now: Timestamp,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE escalations SET status = $2, updated_at = $3 \
             WHERE incident_id = $1 AND status = 'waiting'",
        )
        .bind(incident.to_string())
        .bind(status)
        .bind(micros(now))
        .execute(self.conn())
        .await?;
        Ok(())
    }
}
