//! Incidents: per-project numbers, the open group (one open incident per alert group,
//! named by its blind index), status and severity, the timeline (bodies sealed), the
//! fields responders set (custom fields sealed), the sealed title and description, and
//! action items (text sealed). This module never sees plaintext.

use jiff::Timestamp;
use rampart_domain::sre::incidents::Incident;
use rampart_domain::sre::incidents::{IncidentFilter, IncidentStatus};
use rampart_domain::{IncidentId, ProjectId, ServiceId};
use sqlx::any::AnyRow;

use super::corrupt;
use crate::platform::{Page, PageRequest};
use crate::rows::{
    get, get_flag, get_id, get_optional_id, get_optional_timestamp, get_timestamp, micros, number,
    parsed, signed,
};
use crate::sealed::{BlindIndexColumn, SealedColumn, SealedOwner};
use crate::{Store, StoreError, StoreResult, WriteTx};

const INCIDENT_COLUMNS: &str = "id, org_id, project_id, number, service_id, open_group, \
     severity, status, created_at, updated_at, acknowledged_at, resolved_at";

/// Incident titles, sealed with the project's key.
pub const INCIDENT_TITLE: SealedColumn = SealedColumn {
    table: "incidents",
    id_column: "id",
    version_column: None,
    sealed_column: "title_sealed",
    optional: false,
    owner: SealedOwner::Column("project_id"),
    extra_columns: &[],
};

/// Incident descriptions (absent until set), sealed with the project's key.
pub const INCIDENT_DESCRIPTION: SealedColumn = SealedColumn {
    table: "incidents",
    id_column: "id",
    version_column: None,
    sealed_column: "description_sealed",
    optional: true,
    owner: SealedOwner::Column("project_id"),
    extra_columns: &[],
};

/// Custom fields (a JSON object; absent until set), sealed with the project's key.
pub const INCIDENT_CUSTOM_FIELDS: SealedColumn = SealedColumn {
    table: "incidents",
    id_column: "id",
    version_column: None,
    sealed_column: "custom_fields_sealed",
    optional: true,
    owner: SealedOwner::Column("project_id"),
    extra_columns: &[],
};

/// Action item texts, keyed by (incident, item number), sealed with the key of the
/// incident's project. NULL only on rows from before migration 15 until the server's
/// start converts them.
pub const ACTION_ITEM_TEXT: SealedColumn = SealedColumn {
    table: "incident_action_items",
    id_column: "incident_id",
    version_column: Some("seq"),
    sealed_column: "text_sealed",
    optional: true,
    owner: SealedOwner::Parent {
        table: "incidents",
        foreign_key: "incident_id",
        column: "project_id",
    },
    extra_columns: &[],
};

/// The blind index of the alert group an open incident collects (the group key's, as on
/// its alerts).
pub const INCIDENT_OPEN_GROUP: BlindIndexColumn = BlindIndexColumn {
    table: "incidents",
    column: "open_group",
};

/// Timeline entry bodies, keyed by (incident, sequence number), sealed with the key of
/// the incident's project.
pub const TIMELINE_BODY: SealedColumn = SealedColumn {
    table: "incident_events",
    id_column: "incident_id",
    version_column: Some("seq"),
    sealed_column: "body_sealed",
    optional: false,
    owner: SealedOwner::Parent {
        table: "incidents",
        foreign_key: "incident_id",
        column: "project_id",
    },
    extra_columns: &[],
};

fn incident_from(row: &AnyRow) -> StoreResult<Incident> {
    Ok(Incident {
        id: get_id(row, "id")?,
        org_id: get_id(row, "org_id")?,
        project_id: get_id(row, "project_id")?,
        number: number(get(row, "number")?, "number")?,
        service_id: get_optional_id(row, "service_id")?,
        open_group: get(row, "open_group")?,
        severity: get(row, "severity")?,
        status: parsed(
            IncidentStatus::parse(&get::<String>(row, "status")?),
            "status",
        )?,
        created_at: get_timestamp(row, "created_at")?,
        updated_at: get_timestamp(row, "updated_at")?,
        acknowledged_at: get_optional_timestamp(row, "acknowledged_at")?,
        resolved_at: get_optional_timestamp(row, "resolved_at")?,
    })
}

/// The fields responders set on an incident: ids in clear, custom fields sealed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IncidentFieldsRow {
    /// A user id.
    pub commander: Option<String>,
    /// User ids.
    pub assignees: Vec<String>,
    /// Service ids.
    pub linked_services: Vec<String>,
    /// The custom fields' JSON object, sealed; `None` when never set.
    pub custom_fields_sealed: Option<Vec<u8>>,
}

/// The columns of an [`IncidentFieldsRow`].
const INCIDENT_FIELDS_SELECT: &str =
    "SELECT commander, assignees, linked_services, custom_fields_sealed FROM incidents";

fn incident_fields_from(row: &AnyRow) -> StoreResult<IncidentFieldsRow> {
    let json = |column: &str| -> StoreResult<serde_json::Value> {
        serde_json::from_str(&get::<String>(row, column)?).map_err(|_| corrupt(column))
    };
    let strings = |value: serde_json::Value, column: &str| -> StoreResult<Vec<String>> {
        serde_json::from_value(value).map_err(|_| corrupt(column))
    };
    Ok(IncidentFieldsRow {
        commander: get(row, "commander")?,
        assignees: strings(json("assignees")?, "assignees")?,
        linked_services: strings(json("linked_services")?, "linked_services")?,
        custom_fields_sealed: get(row, "custom_fields_sealed")?,
    })
}

/// One action item, its text sealed.
#[derive(Clone, Debug, PartialEq)]
pub struct ActionItemRow {
    pub seq: u64,
    pub text_sealed: Vec<u8>,
    pub assignee: Option<String>,
    pub done: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// One timeline entry (body sealed).
#[derive(Clone, Debug, PartialEq)]
pub struct IncidentEventRow {
    pub seq: u64,
    pub at: Timestamp,
    pub actor: String,
    pub kind: String,
    pub body_sealed: Vec<u8>,
}

impl Store {
    /// An incident and its sealed title, by id.
    pub async fn incident_by_id(&self, id: IncidentId) -> StoreResult<Option<(Incident, Vec<u8>)>> {
        let sql = format!("SELECT {INCIDENT_COLUMNS}, title_sealed FROM incidents WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id.to_string())
            .fetch_optional(self.pool())
            .await?;
        row.map(|row| Ok((incident_from(&row)?, get(&row, "title_sealed")?)))
            .transpose()
    }

    pub async fn incident_by_number(
        &self,
        project: ProjectId,
        number: u64,
    ) -> StoreResult<Option<(Incident, Vec<u8>)>> {
        let sql = format!(
            "SELECT {INCIDENT_COLUMNS}, title_sealed FROM incidents \
             WHERE project_id = $1 AND number = $2"
        );
        // A number beyond what the store keeps names no incident.
        let Ok(number) = signed(number) else {
            return Ok(None);
        };
        let Some(row) = sqlx::query(&sql)
            .bind(project.to_string())
            .bind(number)
            .fetch_optional(self.pool())
            .await?
        else {
            return Ok(None);
        };
        Ok(Some((incident_from(&row)?, get(&row, "title_sealed")?)))
    }

    /// Incidents of a project, newest first (the cursor is an incident number).
    /// A project's incidents matching `filter`, newest first.
    pub async fn list_incidents(
        &self,
        project: ProjectId,
        filter: &IncidentFilter,
        page: &PageRequest,
    ) -> StoreResult<Page<(Incident, Vec<u8>)>> {
        let before = match page.after.as_deref() {
            None => i64::MAX,
            Some(cursor) => cursor
                .parse::<i64>()
                .map_err(|_| StoreError::Internal("incident cursor".into()))?,
        };
        // Statuses are the enum's own words, never the caller's text; severity and
        // service are bound.
        let mut conditions = String::new();
        if !filter.statuses.is_empty() {
            let listed: Vec<String> = filter
                .statuses
                .iter()
                .map(|status| format!("'{}'", status.as_str()))
                .collect();
            conditions.push_str(&format!(" AND status IN ({})", listed.join(", ")));
        }
        let mut next = 4;
        if filter.severity.is_some() {
            conditions.push_str(&format!(" AND severity = ${next}"));
            next += 1;
        }
        if filter.service.is_some() {
            conditions.push_str(&format!(" AND service_id = ${next}"));
        }
        let sql = format!(
            "SELECT {INCIDENT_COLUMNS}, title_sealed FROM incidents \
             WHERE project_id = $1 AND number < $2{conditions} ORDER BY number DESC LIMIT $3"
        );
        let mut query = sqlx::query(&sql)
            .bind(project.to_string())
            .bind(before)
            .bind(page.overfetch());
        if let Some(severity) = &filter.severity {
            query = query.bind(severity.clone());
        }
        if let Some(service) = filter.service {
            query = query.bind(service.to_string());
        }
        let rows = query.fetch_all(self.pool()).await?;
        let items = rows
            .iter()
            .map(|row| Ok((incident_from(row)?, get(row, "title_sealed")?)))
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Page::from_overfetch(items, page.limit, |(incident, _)| {
            incident.number.to_string()
        }))
    }

    /// What changes whenever a project's incident list would: the number of incidents
    /// and the latest change to any (the web UI's live list polls it; cheap, no
    /// plaintext).
    pub async fn incidents_watermark(&self, project: ProjectId) -> StoreResult<(i64, i64)> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS how_many, COALESCE(MAX(updated_at), 0) AS latest \
             FROM incidents WHERE project_id = $1",
        )
        .bind(project.to_string())
        .fetch_one(self.pool())
        .await?;
        Ok((get(&row, "how_many")?, get(&row, "latest")?))
    }

    /// What changes whenever an incident's page would: its last change, its latest
    /// timeline entry and its action items; `None` when there is no such incident.
    pub async fn incident_watermark(
        &self,
        project: ProjectId,
        number: u64,
    ) -> StoreResult<Option<(i64, i64, i64)>> {
        let row = sqlx::query(
            "SELECT i.updated_at AS updated_at, \
             COALESCE((SELECT MAX(e.seq) FROM incident_events e WHERE e.incident_id = i.id), 0) \
             AS latest_event, \
             (SELECT COUNT(*) FROM incident_action_items a WHERE a.incident_id = i.id) AS items \
             FROM incidents i WHERE i.project_id = $1 AND i.number = $2",
        )
        .bind(project.to_string())
        .bind(signed(number)?)
        .fetch_optional(self.pool())
        .await?;
        row.map(|row| {
            Ok((
                get(&row, "updated_at")?,
                get(&row, "latest_event")?,
                get(&row, "items")?,
            ))
        })
        .transpose()
    }

    pub async fn incident_fields(&self, incident: IncidentId) -> StoreResult<IncidentFieldsRow> {
        let row = sqlx::query(&format!("{INCIDENT_FIELDS_SELECT} WHERE id = $1"))
            .bind(incident.to_string())
            .fetch_one(self.pool())
            .await?;
        incident_fields_from(&row)
    }

    pub async fn incident_description(&self, incident: IncidentId) -> StoreResult<Option<Vec<u8>>> {
        let row = sqlx::query("SELECT description_sealed FROM incidents WHERE id = $1")
            .bind(incident.to_string())
            .fetch_one(self.pool())
            .await?;
        get(&row, "description_sealed")
    }

    pub async fn incident_events(
        &self,
        incident: IncidentId,
    ) -> StoreResult<Vec<IncidentEventRow>> {
        let rows = sqlx::query(
            "SELECT seq, at, actor, kind, body_sealed FROM incident_events \
             WHERE incident_id = $1 ORDER BY seq",
        )
        .bind(incident.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(IncidentEventRow {
                    seq: number(get(row, "seq")?, "seq")?,
                    at: get_timestamp(row, "at")?,
                    actor: get(row, "actor")?,
                    kind: get(row, "kind")?,
                    body_sealed: get(row, "body_sealed")?,
                })
            })
            .collect()
    }

    pub async fn action_items(&self, incident: IncidentId) -> StoreResult<Vec<ActionItemRow>> {
        let rows = sqlx::query(
            "SELECT seq, text_sealed, assignee, done, created_at, updated_at \
             FROM incident_action_items WHERE incident_id = $1 ORDER BY seq",
        )
        .bind(incident.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ActionItemRow {
                    seq: number(get(row, "seq")?, "seq")?,
                    text_sealed: get(row, "text_sealed")?,
                    assignee: get(row, "assignee")?,
                    done: get_flag(row, "done")?,
                    created_at: get_timestamp(row, "created_at")?,
                    updated_at: get_timestamp(row, "updated_at")?,
                })
            })
            .collect()
    }
}

/// Incidents (or timeline entries, or alert groups looked up) per multi-row statement:
/// under 2 000 bound values, well within both engines' limits.
const INSERTED_PER_STATEMENT: usize = 150;

/// Incidents numbered per statement by [`WriteTx::number_incidents`] (three parameters
/// each).
const NUMBERED_PER_STATEMENT: usize = 500;

impl WriteTx {
    /// The next incident number of a project (1, 2, …), reserved in this transaction.
    pub async fn next_incident_number(&mut self, project: ProjectId) -> StoreResult<u64> {
        let row = sqlx::query(
            "INSERT INTO incident_counters (project_id, last_number) VALUES ($1, 1) \
             ON CONFLICT (project_id) DO UPDATE \
             SET last_number = incident_counters.last_number + 1 RETURNING last_number",
        )
        .bind(project.to_string())
        .fetch_one(self.conn())
        .await?;
        number(get(&row, "last_number")?, "last_number")
    }

    /// Gives the incidents `incidents` of `project`, opened in this transaction with
    /// provisional numbers, the project's next numbers in that order, and returns them:
    /// one statement reserves them all, one more writes them. The counter row stays
    /// locked until the commit, so this is the last thing a transaction does before its
    /// audit events.
    pub async fn number_incidents(
        &mut self,
        project: ProjectId,
        incidents: &[IncidentId],
    ) -> StoreResult<Vec<u64>> {
        if incidents.is_empty() {
            return Ok(Vec::new());
        }
        let count = signed(incidents.len() as u64)?;
        let row = sqlx::query(
            "INSERT INTO incident_counters (project_id, last_number) VALUES ($1, $2) \
             ON CONFLICT (project_id) DO UPDATE \
             SET last_number = incident_counters.last_number + $2 RETURNING last_number",
        )
        .bind(project.to_string())
        .bind(count)
        .fetch_one(self.conn())
        .await?;
        let last = number(get(&row, "last_number")?, "last_number")?;
        let first = last + 1 - incidents.len() as u64;
        let numbers: Vec<u64> = (first..=last).collect();
        for (chunk, chunk_numbers) in incidents
            .chunks(NUMBERED_PER_STATEMENT)
            .zip(numbers.chunks(NUMBERED_PER_STATEMENT))
        {
            // Bound in the order of the text: (id, number) pairs, the project, the ids.
            let engine = self.engine();
            let cases: Vec<String> = (0..chunk.len())
                .map(|n| {
                    format!(
                        "WHEN {} THEN {}",
                        engine.placeholders(1 + 2 * n, 1),
                        engine.placeholders(2 + 2 * n, 1)
                    )
                })
                .collect();
            let sql = format!(
                "UPDATE incidents SET number = CASE id {} END \
                 WHERE project_id = {} AND id IN ({})",
                cases.join(" "),
                engine.placeholders(1 + 2 * chunk.len(), 1),
                engine.placeholders(2 + 2 * chunk.len(), chunk.len())
            );
            let mut query = sqlx::query(&sql);
            for (incident, number) in chunk.iter().zip(chunk_numbers) {
                query = query.bind(incident.to_string()).bind(signed(*number)?);
            }
            query = query.bind(project.to_string());
            for incident in chunk {
                query = query.bind(incident.to_string());
            }
            query.execute(self.conn()).await?;
        }
        Ok(numbers)
    }

    pub async fn insert_incident(
        &mut self,
        incident: &Incident,
        title_sealed: &[u8],
    ) -> StoreResult<()> {
        self.insert_incidents(&[(incident.clone(), title_sealed.to_vec())])
            .await
    }

    /// Inserts new incidents (each with its sealed title) in a few statements, like
    /// [`WriteTx::insert_incident`] one by one.
    pub async fn insert_incidents(&mut self, incidents: &[(Incident, Vec<u8>)]) -> StoreResult<()> {
        let engine = self.engine();
        for chunk in incidents.chunks(INSERTED_PER_STATEMENT) {
            let rows: Vec<String> = (0..chunk.len())
                .map(|n| format!("({})", engine.placeholders(1 + n * 13, 13)))
                .collect();
            let sql = format!(
                "INSERT INTO incidents (id, org_id, project_id, number, service_id, open_group, \
                 title_sealed, severity, status, created_at, updated_at, acknowledged_at, \
                 resolved_at) VALUES {}",
                rows.join(", ")
            );
            let mut query = sqlx::query(&sql);
            for (incident, title_sealed) in chunk {
                query = query
                    .bind(incident.id.to_string())
                    .bind(incident.org_id.to_string())
                    .bind(incident.project_id.to_string())
                    .bind(signed(incident.number)?)
                    .bind(incident.service_id.map(|id| id.to_string()))
                    .bind(incident.open_group.clone())
                    .bind(title_sealed.clone())
                    .bind(incident.severity.clone())
                    .bind(incident.status.as_str())
                    .bind(micros(incident.created_at))
                    .bind(micros(incident.updated_at))
                    .bind(incident.acknowledged_at.map(micros))
                    .bind(incident.resolved_at.map(micros));
            }
            query.execute(self.conn()).await?;
        }
        Ok(())
    }

    /// The open incidents collecting any of `groups` ((service, group blind index)
    /// pairs), in a few statements: what a batch of deliveries attaches new alerts to.
    pub async fn open_incidents_for_groups(
        &mut self,
        groups: &[(ServiceId, String)],
    ) -> StoreResult<Vec<Incident>> {
        let engine = self.engine();
        let mut found = Vec::new();
        for chunk in groups.chunks(INSERTED_PER_STATEMENT) {
            let pairs: Vec<String> = (0..chunk.len())
                .map(|n| format!("({})", engine.placeholders(1 + n * 2, 2)))
                .collect();
            let sql = format!(
                "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE (service_id, open_group) IN ({})",
                pairs.join(", ")
            );
            let mut query = sqlx::query(&sql);
            for (service, group_index) in chunk {
                query = query.bind(service.to_string()).bind(group_index.clone());
            }
            for row in query.fetch_all(self.conn()).await? {
                found.push(incident_from(&row)?);
            }
        }
        Ok(found)
    }

    /// An incident's people, services and custom fields, read inside the transaction
    /// with its row locked until the transaction ends (PostgreSQL; SQLite writers are
    /// serialised already): a change to one field then cannot write back a stale copy
    /// of another that a concurrent change set.
    pub async fn incident_fields_for_update(
        &mut self,
        incident: IncidentId,
    ) -> StoreResult<Option<IncidentFieldsRow>> {
        let lock = if self.engine() == crate::Engine::Postgres {
            " FOR UPDATE"
        } else {
            ""
        };
        sqlx::query(&format!("{INCIDENT_FIELDS_SELECT} WHERE id = $1{lock}"))
            .bind(incident.to_string())
            .fetch_optional(self.conn())
            .await?
            .as_ref()
            .map(incident_fields_from)
            .transpose()
    }

    /// An incident's sealed title and description as the transaction sees them (read
    /// after [`WriteTx::incident_fields_for_update`] locked the row: what a concurrent
    /// change wrote is committed and seen, nothing can change them until the end).
    pub async fn incident_texts(
        &mut self,
        id: IncidentId,
    ) -> StoreResult<Option<(Vec<u8>, Option<Vec<u8>>)>> {
        let row =
            sqlx::query("SELECT title_sealed, description_sealed FROM incidents WHERE id = $1")
                .bind(id.to_string())
                .fetch_optional(self.conn())
                .await?;
        row.map(|row| Ok((get(&row, "title_sealed")?, get(&row, "description_sealed")?)))
            .transpose()
    }

    pub async fn incident_for_update(&mut self, id: IncidentId) -> StoreResult<Option<Incident>> {
        let sql = format!("SELECT {INCIDENT_COLUMNS} FROM incidents WHERE id = $1");
        sqlx::query(&sql)
            .bind(id.to_string())
            .fetch_optional(self.conn())
            .await?
            .as_ref()
            .map(incident_from)
            .transpose()
    }

    /// The open incident of `service` collecting the group whose blind index is
    /// `group_index`.
    pub async fn open_incident_for_group(
        &mut self,
        service: ServiceId,
        group_index: &str,
    ) -> StoreResult<Option<Incident>> {
        let sql = format!(
            "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE service_id = $1 AND open_group = $2"
        );
        sqlx::query(&sql)
            .bind(service.to_string())
            .bind(group_index)
            .fetch_optional(self.conn())
            .await?
            .as_ref()
            .map(incident_from)
            .transpose()
    }

    /// Writes status, severity, timestamps and the open group of an incident.
    pub async fn update_incident(&mut self, incident: &Incident) -> StoreResult<()> {
        sqlx::query(
            "UPDATE incidents SET status = $2, severity = $3, open_group = $4, updated_at = $5, \
             acknowledged_at = $6, resolved_at = $7 WHERE id = $1",
        )
        .bind(incident.id.to_string())
        .bind(incident.status.as_str())
        .bind(incident.severity.clone())
        .bind(incident.open_group.clone())
        .bind(micros(incident.updated_at))
        .bind(incident.acknowledged_at.map(micros))
        .bind(incident.resolved_at.map(micros))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Marks an incident whose sealed data does not open, once: `true` for the write that
    /// set the mark, `false` when an earlier one (any request, any replica) already had.
    /// The conditional update is atomic on both engines, so exactly one writer sees
    /// `true`.
    pub async fn mark_incident_integrity_violation(
        &mut self,
        incident: IncidentId,
        at: Timestamp,
    ) -> StoreResult<bool> {
        let marked = sqlx::query(
            "UPDATE incidents SET integrity_violation_at = $2 \
             WHERE id = $1 AND integrity_violation_at IS NULL",
        )
        .bind(incident.to_string())
        .bind(micros(at))
        .execute(self.conn())
        .await?
        .rows_affected();
        Ok(marked == 1)
    }

    pub async fn set_incident_title(
        &mut self,
        incident: IncidentId,
        title_sealed: &[u8],
    ) -> StoreResult<()> {
        sqlx::query("UPDATE incidents SET title_sealed = $2 WHERE id = $1")
            .bind(incident.to_string())
            .bind(title_sealed.to_vec())
            .execute(self.conn())
            .await?;
        Ok(())
    }

    pub async fn set_incident_description(
        &mut self,
        incident: IncidentId,
        description_sealed: &[u8],
    ) -> StoreResult<()> {
        sqlx::query("UPDATE incidents SET description_sealed = $2 WHERE id = $1")
            .bind(incident.to_string())
            .bind(description_sealed.to_vec())
            .execute(self.conn())
            .await?;
        Ok(())
    }

    pub async fn set_incident_fields(
        &mut self,
        incident: IncidentId,
        fields: &IncidentFieldsRow,
        at: Timestamp,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE incidents SET commander = $2, assignees = $3, linked_services = $4, \
             custom_fields_sealed = $5, updated_at = $6 WHERE id = $1",
        )
        .bind(incident.to_string())
        .bind(fields.commander.clone())
        .bind(serde_json::Value::from(fields.assignees.clone()).to_string())
        .bind(serde_json::Value::from(fields.linked_services.clone()).to_string())
        .bind(fields.custom_fields_sealed.clone())
        .bind(micros(at))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// The sequence number the next timeline entry of `incident` takes (its sealed body
    /// is bound to it).
    pub async fn next_incident_event_seq(&mut self, incident: IncidentId) -> StoreResult<u64> {
        let row = sqlx::query(
            "SELECT COALESCE(MAX(seq), 0) AS last FROM incident_events WHERE incident_id = $1",
        )
        .bind(incident.to_string())
        .fetch_one(self.conn())
        .await?;
        Ok(number(get(&row, "last")?, "seq")? + 1)
    }

    /// Inserts timeline entries of several incidents in a few statements.
    pub async fn insert_incident_events(
        &mut self,
        events: &[(IncidentId, IncidentEventRow)],
    ) -> StoreResult<()> {
        let engine = self.engine();
        for chunk in events.chunks(INSERTED_PER_STATEMENT) {
            let rows: Vec<String> = (0..chunk.len())
                .map(|n| format!("({})", engine.placeholders(1 + n * 6, 6)))
                .collect();
            let sql = format!(
                "INSERT INTO incident_events (incident_id, seq, at, actor, kind, body_sealed) \
                 VALUES {}",
                rows.join(", ")
            );
            let mut query = sqlx::query(&sql);
            for (incident, event) in chunk {
                query = query
                    .bind(incident.to_string())
                    .bind(signed(event.seq)?)
                    .bind(micros(event.at))
                    .bind(event.actor.clone())
                    .bind(event.kind.clone())
                    .bind(event.body_sealed.clone());
            }
            query.execute(self.conn()).await?;
        }
        Ok(())
    }

    pub async fn insert_incident_event(
        &mut self,
        incident: IncidentId,
        event: &IncidentEventRow,
    ) -> StoreResult<()> {
        self.insert_incident_events(&[(incident, event.clone())])
            .await
    }

    /// The number the next action item of `incident` takes (its sealed text is bound
    /// to it).
    pub async fn next_action_item_seq(&mut self, incident: IncidentId) -> StoreResult<u64> {
        let row = sqlx::query(
            "SELECT COALESCE(MAX(seq), 0) AS last FROM incident_action_items WHERE incident_id = $1",
        )
        .bind(incident.to_string())
        .fetch_one(self.conn())
        .await?;
        Ok(number(get(&row, "last")?, "seq")? + 1)
    }

    /// Adds action item `seq` (from [`WriteTx::next_action_item_seq`]), open, with its
    /// sealed text. (`legacy_text` only ever held the text of items from before
    /// migration 15.)
    pub async fn insert_action_item(
        &mut self,
        incident: IncidentId,
        seq: u64,
        text_sealed: &[u8],
        assignee: Option<&str>,
        at: Timestamp,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO incident_action_items (incident_id, seq, legacy_text, text_sealed, \
             assignee, done, created_at, updated_at) VALUES ($1, $2, '', $3, $4, 0, $5, $5)",
        )
        .bind(incident.to_string())
        .bind(signed(seq)?)
        .bind(text_sealed.to_vec())
        .bind(assignee.map(str::to_owned))
        .bind(micros(at))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Marks an action item done or open again; false when there is no such item.
    pub async fn set_action_item_done(
        &mut self,
        incident: IncidentId,
        seq: u64,
        done: bool,
        at: Timestamp,
    ) -> StoreResult<bool> {
        let result = sqlx::query(
            "UPDATE incident_action_items SET done = $3, updated_at = $4 \
             WHERE incident_id = $1 AND seq = $2",
        )
        .bind(incident.to_string())
        .bind(signed(seq)?)
        .bind(i64::from(done))
        .bind(micros(at))
        .execute(self.conn())
        .await?;
        Ok(result.rows_affected() == 1)
    }
}
