//! On-call tables: schedules and escalation policies (definitions stored as validated
//! JSON), escalation state per incident, notifications and their outbound tasks.

use jiff::Timestamp;
use rampart_domain::platform::tenancy::Scope;
use rampart_domain::{IncidentId, Name, NotificationId, ProjectId, ServiceId, Slug, UserId};
use sqlx::any::AnyRow;

use crate::platform::access::scope_columns;
use crate::platform::{Page, PageRequest};
use crate::rows::{
    get, get_id, get_optional_timestamp, get_timestamp, micros, number, parsed, signed,
};
use crate::{Store, StoreResult, WriteTx};

/// Which kind of definition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefinitionKind {
    Schedule,
    EscalationPolicy,
}

impl DefinitionKind {
    fn table(self) -> &'static str {
        match self {
            Self::Schedule => "schedules",
            Self::EscalationPolicy => "escalation_policies",
        }
    }
}

const COLUMNS: &str =
    "id, org_id, project_id, identifier, name, definition, created_at, updated_at";

/// A schedule or an escalation policy as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct DefinitionRecord {
    pub id: String,
    pub org_id: rampart_domain::OrgId,
    pub project_id: ProjectId,
    pub identifier: Slug,
    pub name: Name,
    /// The validated definition, JSON.
    pub definition: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

fn definition_from(row: &AnyRow) -> StoreResult<DefinitionRecord> {
    Ok(DefinitionRecord {
        id: get(row, "id")?,
        org_id: get_id(row, "org_id")?,
        project_id: get_id(row, "project_id")?,
        identifier: parsed(
            Slug::parse(&get::<String>(row, "identifier")?),
            "identifier",
        )?,
        name: parsed(Name::parse(&get::<String>(row, "name")?), "name")?,
        definition: get(row, "definition")?,
        created_at: get_timestamp(row, "created_at")?,
        updated_at: get_timestamp(row, "updated_at")?,
    })
}

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

/// An in-app notification.
#[derive(Clone, Debug, PartialEq)]
pub struct NotificationRow {
    pub id: NotificationId,
    pub user_id: UserId,
    pub project_id: ProjectId,
    pub incident_id: IncidentId,
    /// Filled when read (0 when written).
    pub incident_number: u64,
    pub kind: String,
    pub level: u64,
    pub round: u64,
    pub created_at: Timestamp,
    pub read_at: Option<Timestamp>,
}

fn notification_from(row: &AnyRow) -> StoreResult<NotificationRow> {
    Ok(NotificationRow {
        id: get_id(row, "id")?,
        user_id: get_id(row, "user_id")?,
        project_id: get_id(row, "project_id")?,
        incident_id: get_id(row, "incident_id")?,
        incident_number: number(get(row, "incident_number")?, "incident_number")?,
        kind: get(row, "kind")?,
        level: number(get(row, "level")?, "level")?,
        round: number(get(row, "round")?, "round")?,
        created_at: get_timestamp(row, "created_at")?,
        read_at: get_optional_timestamp(row, "read_at")?,
    })
}

impl Store {
    pub async fn definition_by_identifier(
        &self,
        kind: DefinitionKind,
        scope: Scope,
        identifier: &Slug,
    ) -> StoreResult<Option<DefinitionRecord>> {
        let (_, _, scope_key) = scope_columns(scope);
        let sql = format!(
            "SELECT {COLUMNS} FROM {} WHERE scope_key = $1 AND identifier = $2",
            kind.table()
        );
        sqlx::query(&sql)
            .bind(scope_key)
            .bind(identifier.as_str())
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(definition_from)
            .transpose()
    }

    pub async fn definition_by_id(
        &self,
        kind: DefinitionKind,
        id: &str,
    ) -> StoreResult<Option<DefinitionRecord>> {
        let sql = format!("SELECT {COLUMNS} FROM {} WHERE id = $1", kind.table());
        sqlx::query(&sql)
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(definition_from)
            .transpose()
    }

    pub async fn list_definitions(
        &self,
        kind: DefinitionKind,
        scope: Scope,
        page: &PageRequest,
    ) -> StoreResult<Page<DefinitionRecord>> {
        self.list_defined_at(kind.table(), COLUMNS, scope, page, definition_from, |d| {
            d.id.clone()
        })
        .await
    }

    /// The escalation policy a service pages with.
    pub async fn service_policy(&self, service: ServiceId) -> StoreResult<Option<String>> {
        let row = sqlx::query("SELECT escalation_policy_id FROM services WHERE id = $1")
            .bind(service.to_string())
            .fetch_optional(self.pool())
            .await?;
        Ok(match row {
            Some(row) => get(&row, "escalation_policy_id")?,
            None => None,
        })
    }

    /// The members of a user group.
    pub async fn group_member_ids(&self, group_id: &str) -> StoreResult<Vec<UserId>> {
        let rows =
            sqlx::query("SELECT user_id FROM group_members WHERE group_id = $1 ORDER BY user_id")
                .bind(group_id)
                .fetch_all(self.pool())
                .await?;
        rows.iter().map(|row| get_id(row, "user_id")).collect()
    }

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

    /// A user's notifications, newest first.
    pub async fn notifications_of_user(
        &self,
        user: UserId,
        page: &PageRequest,
    ) -> StoreResult<Page<NotificationRow>> {
        let before = page.after.clone().unwrap_or_else(|| "~".into());
        let rows = sqlx::query(
            "SELECT n.id, n.user_id, n.project_id, n.incident_id, i.number AS incident_number, \
             n.kind, n.level, n.round, n.created_at, n.read_at \
             FROM notifications n JOIN incidents i ON i.id = n.incident_id \
             WHERE n.user_id = $1 AND n.id < $2 ORDER BY n.id DESC LIMIT $3",
        )
        .bind(user.to_string())
        .bind(before)
        .bind(page.overfetch())
        .fetch_all(self.pool())
        .await?;
        let items = rows
            .iter()
            .map(notification_from)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Page::from_overfetch(items, page.limit, |n| {
            n.id.to_string()
        }))
    }

    /// Outbound tasks still queued (for delegates).
    pub async fn queued_notification_tasks(&self) -> StoreResult<u64> {
        let row =
            sqlx::query("SELECT COUNT(*) AS n FROM notification_tasks WHERE status = 'queued'")
                .fetch_one(self.pool())
                .await?;
        number(get(&row, "n")?, "count")
    }
}

impl WriteTx {
    pub async fn insert_definition(
        &mut self,
        kind: DefinitionKind,
        record: &DefinitionRecord,
    ) -> StoreResult<()> {
        let (org, project, scope_key) =
            scope_columns(Scope::Project(record.org_id, record.project_id));
        let sql = format!(
            "INSERT INTO {} (id, org_id, project_id, scope_key, identifier, name, definition, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            kind.table()
        );
        sqlx::query(&sql)
            .bind(record.id.clone())
            .bind(org)
            .bind(project)
            .bind(scope_key)
            .bind(record.identifier.as_str())
            .bind(record.name.as_str())
            .bind(record.definition.clone())
            .bind(micros(record.created_at))
            .bind(micros(record.updated_at))
            .execute(self.conn())
            .await?;
        Ok(())
    }

    pub async fn delete_definition(&mut self, kind: DefinitionKind, id: &str) -> StoreResult<()> {
        let sql = format!("DELETE FROM {} WHERE id = $1", kind.table());
        sqlx::query(&sql).bind(id).execute(self.conn()).await?;
        Ok(())
    }

    /// How many services page with a policy.
    pub async fn services_using_policy(&mut self, policy: &str) -> StoreResult<u64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM services WHERE escalation_policy_id = $1")
            .bind(policy)
            .fetch_one(self.conn())
            .await?;
        number(get(&row, "n")?, "count")
    }

    pub async fn update_definition(
        &mut self,
        kind: DefinitionKind,
        record: &DefinitionRecord,
    ) -> StoreResult<()> {
        let sql = format!(
            "UPDATE {} SET name = $2, definition = $3, updated_at = $4 WHERE id = $1",
            kind.table()
        );
        sqlx::query(&sql)
            .bind(record.id.clone())
            .bind(record.name.as_str())
            .bind(record.definition.clone())
            .bind(micros(record.updated_at))
            .execute(self.conn())
            .await?;
        Ok(())
    }

    pub async fn set_service_policy(
        &mut self,
        service: ServiceId,
        policy: Option<&str>,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE services SET escalation_policy_id = $2 WHERE id = $1")
            .bind(service.to_string())
            .bind(policy.map(str::to_owned))
            .execute(self.conn())
            .await?;
        Ok(())
    }

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

    /// An in-app notification, with an outbound task queued for delegates.
    pub async fn insert_notification(
        &mut self,
        row: &NotificationRow,
        task_id: &str,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO notifications (id, user_id, project_id, incident_id, kind, level, round, \
             created_at, read_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL)",
        )
        .bind(row.id.to_string())
        .bind(row.user_id.to_string())
        .bind(row.project_id.to_string())
        .bind(row.incident_id.to_string())
        .bind(row.kind.clone())
        .bind(signed(row.level)?)
        .bind(signed(row.round)?)
        .bind(micros(row.created_at))
        .execute(self.conn())
        .await?;
        sqlx::query(
            "INSERT INTO notification_tasks (id, notification_id, channel, status, created_at) \
             VALUES ($1, $2, 'delegate', 'queued', $3)",
        )
        .bind(task_id)
        .bind(row.id.to_string())
        .bind(micros(row.created_at))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Marks a user's notification read; false when it is not theirs.
    pub async fn mark_notification_read(
        &mut self,
        id: NotificationId,
        user: UserId,
        at: Timestamp,
    ) -> StoreResult<bool> {
        let result = sqlx::query(
            "UPDATE notifications SET read_at = COALESCE(read_at, $3) WHERE id = $1 AND user_id = $2",
        )
        .bind(id.to_string())
        .bind(user.to_string())
        .bind(micros(at))
        .execute(self.conn())
        .await?;
        Ok(result.rows_affected() == 1)
    }
}
