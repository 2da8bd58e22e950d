//! Alerts made from webhook deliveries: the open-alert lookup by the dedup key's blind
//! index (a unique index on the open key makes concurrent identical triggers one alert;
//! resolving frees the key), event counts, status, the link to an incident, and the
//! per-group lock that serialises which incident a group opens or joins; a project's
//! alert list (newest first, filtered by status, service and time) and one alert with
//! its service's identifier and incident number. Payloads and dedup keys arrive sealed,
//! dedup and group keys also as blind indexes: this module never sees them in clear.

use jiff::Timestamp;
use rampart_domain::sre::alerts::Alert;
use rampart_domain::sre::alerts::AlertStatus;
use rampart_domain::{AlertId, IncidentId, IntegrationId, ProjectId, ServiceId};
use sqlx::any::AnyRow;

use super::corrupt;
use crate::rows::{
    get, get_id, get_optional_id, get_optional_timestamp, get_timestamp, micros, number, signed,
};
use crate::sealed::{BlindIndexColumn, SealedColumn, SealedOwner};
use crate::{Page, PageRequest, Store, StoreResult, WriteTx};

const ALERT_COLUMNS: &str = "id, project_id, service_id, integration_id, status, severity, \
     group_index, incident_id, event_count, created_at, updated_at, resolved_at";

/// Advisory lock space serialising alert-group decisions on PostgreSQL.
const POSTGRES_ALERT_GROUP_LOCK_SPACE: i32 = 0x4147; // "AG"

/// Alert payloads, sealed with the project's key.
pub const ALERT_PAYLOAD: SealedColumn = SealedColumn {
    table: "alerts",
    id_column: "id",
    version_column: None,
    sealed_column: "payload_sealed",
    optional: false,
    owner: SealedOwner::Column("project_id"),
    extra_columns: &[],
};

/// Alert dedup keys, sealed with the project's key (shown by the alerts API). NULL
/// only on rows from before migration 15 until the server's start converts them.
pub const ALERT_DEDUP_KEY: SealedColumn = SealedColumn {
    table: "alerts",
    id_column: "id",
    version_column: None,
    sealed_column: "dedup_key_sealed",
    optional: true,
    owner: SealedOwner::Column("project_id"),
    extra_columns: &[],
};

/// The blind index of an alert's dedup key.
pub const ALERT_DEDUP_INDEX: BlindIndexColumn = BlindIndexColumn {
    table: "alerts",
    column: "dedup_index",
};

/// The same while the alert is open (NULL once resolved): unique per integration.
pub const ALERT_OPEN_KEY: BlindIndexColumn = BlindIndexColumn {
    table: "alerts",
    column: "open_key",
};

/// The blind index of an alert's group key.
pub const ALERT_GROUP_INDEX: BlindIndexColumn = BlindIndexColumn {
    table: "alerts",
    column: "group_index",
};

/// The alert columns read from `alerts a`, with its service's identifier and its
/// incident's number (`services s`, `incidents i`).
const LISTED_COLUMNS: &str = "a.id, a.project_id, a.service_id, a.integration_id, \
     a.status, a.severity, a.group_index, a.incident_id, a.event_count, a.created_at, \
     a.updated_at, a.resolved_at, a.dedup_key_sealed, s.identifier AS service_identifier, \
     i.number AS incident_number";
const LISTED_FROM: &str = "alerts a JOIN services s ON s.id = a.service_id \
     LEFT JOIN incidents i ON i.id = a.incident_id";

/// What a project's alert list keeps: all optional.
#[derive(Clone, Debug, Default)]
pub struct AlertFilter {
    pub status: Option<AlertStatus>,
    pub service: Option<ServiceId>,
    /// Alerts created at or after.
    pub since: Option<Timestamp>,
}

/// An alert with its sealed dedup key.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertRow {
    pub alert: Alert,
    pub dedup_key_sealed: Vec<u8>,
}

/// An alert as listed: with its service's identifier and its incident's number.
#[derive(Clone, Debug, PartialEq)]
pub struct ListedAlert {
    pub alert: Alert,
    pub dedup_key_sealed: Vec<u8>,
    pub service: String,
    pub incident_number: Option<u64>,
}

/// Dedup-key indexes read, or alerts bumped, per statement: well under both engines'
/// limits on bound parameters.
const OPEN_ALERTS_PER_STATEMENT: usize = 500;
/// Alerts inserted per statement (15 parameters each).
const INSERTED_ALERTS_PER_STATEMENT: usize = 200;

/// A new alert with what it keeps beside its entity, owned (for batched inserts).
#[derive(Clone, Debug)]
pub struct NewAlertRow {
    pub alert: Alert,
    pub dedup_index: String,
    pub dedup_key_sealed: Vec<u8>,
    pub payload_sealed: Vec<u8>,
}

/// What a new alert keeps beside its entity: the blind index of its dedup key, and its
/// dedup key and payload sealed.
#[derive(Clone, Copy, Debug)]
pub struct NewAlertSeals<'a> {
    pub dedup_index: &'a str,
    pub dedup_key_sealed: &'a [u8],
    pub payload_sealed: &'a [u8],
}

fn alert_row_from(row: &AnyRow) -> StoreResult<AlertRow> {
    Ok(AlertRow {
        alert: alert_from(row)?,
        dedup_key_sealed: get(row, "dedup_key_sealed")?,
    })
}

fn listed_from(row: &AnyRow) -> StoreResult<ListedAlert> {
    Ok(ListedAlert {
        alert: alert_from(row)?,
        dedup_key_sealed: get(row, "dedup_key_sealed")?,
        service: get(row, "service_identifier")?,
        incident_number: get::<Option<i64>>(row, "incident_number")?
            .map(|n| number(n, "incident_number"))
            .transpose()?,
    })
}

fn alert_from(row: &AnyRow) -> StoreResult<Alert> {
    Ok(Alert {
        id: get_id(row, "id")?,
        project_id: get_id(row, "project_id")?,
        service_id: get_id(row, "service_id")?,
        integration_id: get_id(row, "integration_id")?,
        status: AlertStatus::parse(&get::<String>(row, "status")?)
            .ok_or_else(|| corrupt("status"))?,
        severity: get(row, "severity")?,
        group_index: get(row, "group_index")?,
        incident_id: get_optional_id(row, "incident_id")?,
        event_count: number(get(row, "event_count")?, "event_count")?,
        created_at: get_timestamp(row, "created_at")?,
        updated_at: get_timestamp(row, "updated_at")?,
        resolved_at: get_optional_timestamp(row, "resolved_at")?,
    })
}

impl Store {
    /// What changes whenever a project's alert list would: how many alerts it has and
    /// the latest change among them (counts and times only, nothing sealed).
    pub async fn alerts_watermark(&self, project: ProjectId) -> StoreResult<(i64, i64)> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS how_many, COALESCE(MAX(updated_at), 0) AS latest \
             FROM alerts WHERE project_id = $1",
        )
        .bind(project.to_string())
        .fetch_one(self.pool())
        .await?;
        Ok((get(&row, "how_many")?, get(&row, "latest")?))
    }

    pub async fn alerts_of_incident(&self, incident: IncidentId) -> StoreResult<Vec<AlertRow>> {
        let sql = format!(
            "SELECT {ALERT_COLUMNS}, dedup_key_sealed FROM alerts WHERE incident_id = $1 \
             ORDER BY created_at, id"
        );
        let rows = sqlx::query(&sql)
            .bind(incident.to_string())
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(alert_row_from).collect()
    }

    /// Alerts of an integration (newest first), for tests and views.
    pub async fn alerts_of_integration(
        &self,
        integration: IntegrationId,
    ) -> StoreResult<Vec<AlertRow>> {
        let sql = format!(
            "SELECT {ALERT_COLUMNS}, dedup_key_sealed FROM alerts WHERE integration_id = $1 \
             ORDER BY created_at DESC, id DESC"
        );
        let rows = sqlx::query(&sql)
            .bind(integration.to_string())
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(alert_row_from).collect()
    }

    /// A project's alerts, newest first (ids are time-ordered UUIDv7; the cursor is the
    /// last id of the previous page), kept by `filter`.
    pub async fn list_alerts(
        &self,
        project: ProjectId,
        filter: &AlertFilter,
        page: &PageRequest,
    ) -> StoreResult<Page<ListedAlert>> {
        let mut sql = format!("SELECT {LISTED_COLUMNS} FROM {LISTED_FROM} WHERE a.project_id = $1");
        let mut n = 1;
        let mut next = |column: &str| {
            n += 1;
            format!(" AND {column} ${n}")
        };
        if page.after.is_some() {
            sql.push_str(&next("a.id <"));
        }
        if filter.status.is_some() {
            sql.push_str(&next("a.status ="));
        }
        if filter.service.is_some() {
            sql.push_str(&next("a.service_id ="));
        }
        if filter.since.is_some() {
            sql.push_str(&next("a.created_at >="));
        }
        n += 1;
        sql.push_str(&format!(" ORDER BY a.id DESC LIMIT ${n}"));
        let mut query = sqlx::query(&sql).bind(project.to_string());
        if let Some(after) = &page.after {
            query = query.bind(after.clone());
        }
        if let Some(status) = filter.status {
            query = query.bind(status.as_str());
        }
        if let Some(service) = filter.service {
            query = query.bind(service.to_string());
        }
        if let Some(since) = filter.since {
            query = query.bind(micros(since));
        }
        let rows = query.bind(page.overfetch()).fetch_all(self.pool()).await?;
        let items = rows
            .iter()
            .map(listed_from)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Page::from_overfetch(items, page.limit, |listed| {
            listed.alert.id.to_string()
        }))
    }

    /// One alert of `project` (another project's is `None`, like a missing one).
    pub async fn project_alert(
        &self,
        project: ProjectId,
        alert: AlertId,
    ) -> StoreResult<Option<ListedAlert>> {
        let sql = format!(
            "SELECT {LISTED_COLUMNS} FROM {LISTED_FROM} WHERE a.project_id = $1 AND a.id = $2"
        );
        sqlx::query(&sql)
            .bind(project.to_string())
            .bind(alert.to_string())
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(listed_from)
            .transpose()
    }

    pub async fn alert_payload(&self, alert: AlertId) -> StoreResult<Option<Vec<u8>>> {
        let row = sqlx::query("SELECT payload_sealed FROM alerts WHERE id = $1")
            .bind(alert.to_string())
            .fetch_optional(self.pool())
            .await?;
        row.as_ref()
            .map(|row| get(row, "payload_sealed"))
            .transpose()
    }
}

impl WriteTx {
    /// Serialises decisions about one alert group (which incident it opens or joins),
    /// named by the blind index of its group key.
    pub async fn lock_alert_group(
        &mut self,
        service: ServiceId,
        group_index: &str,
    ) -> StoreResult<()> {
        self.lock_alert_groups(&[(service, group_index.to_owned())])
            .await
    }

    /// Locks every group of `groups` (see [`WriteTx::lock_alert_group`]) in one
    /// statement, in the order of their lock keys, so that transactions locking
    /// overlapping sets (batches of deliveries on several replicas) never wait on each
    /// other in a cycle. SQLite writers are already serialised.
    pub async fn lock_alert_groups(&mut self, groups: &[(ServiceId, String)]) -> StoreResult<()> {
        if self.engine() != crate::Engine::Postgres || groups.is_empty() {
            return Ok(());
        }
        let names: Vec<String> = groups
            .iter()
            .map(|(service, group_index)| format!("{service}/{group_index}"))
            .collect();
        // pg_advisory_xact_lock is volatile, so PostgreSQL calls it after sorting.
        sqlx::query(
            "SELECT pg_advisory_xact_lock($1, key) FROM \
             (SELECT DISTINCT hashtext(name) AS key \
              FROM regexp_split_to_table($2, E'\\n') AS name) AS keys ORDER BY key",
        )
        .bind(POSTGRES_ALERT_GROUP_LOCK_SPACE)
        .bind(names.join("\n"))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// The open alert of `integration` whose dedup key has the blind index `dedup_index`.
    pub async fn open_alert(
        &mut self,
        integration: IntegrationId,
        dedup_index: &str,
    ) -> StoreResult<Option<Alert>> {
        let sql = format!(
            "SELECT {ALERT_COLUMNS} FROM alerts WHERE integration_id = $1 AND open_key = $2"
        );
        sqlx::query(&sql)
            .bind(integration.to_string())
            .bind(dedup_index)
            .fetch_optional(self.conn())
            .await?
            .as_ref()
            .map(alert_from)
            .transpose()
    }

    /// The open alerts of `integration` among the dedup-key blind indexes
    /// `dedup_indexes`, each with its index: one statement per few hundred events, so
    /// that a batch of deliveries reads what it deduplicates against at once.
    pub async fn open_alerts(
        &mut self,
        integration: IntegrationId,
        dedup_indexes: &[&str],
    ) -> StoreResult<Vec<(String, Alert)>> {
        let mut found = Vec::new();
        let engine = self.engine();
        for chunk in dedup_indexes.chunks(OPEN_ALERTS_PER_STATEMENT) {
            let sql = format!(
                "SELECT open_key, {ALERT_COLUMNS} FROM alerts \
                 WHERE integration_id = {} AND open_key IN ({})",
                engine.placeholders(1, 1),
                engine.placeholders(2, chunk.len())
            );
            let mut query = sqlx::query(&sql).bind(integration.to_string());
            for index in chunk {
                query = query.bind(index.to_string());
            }
            for row in query.fetch_all(self.conn()).await? {
                found.push((get(&row, "open_key")?, alert_from(&row)?));
            }
        }
        Ok(found)
    }

    /// One alert, read inside the transaction (after its group's lock).
    pub async fn alert_by_id(&mut self, alert: AlertId) -> StoreResult<Option<Alert>> {
        let sql = format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE id = $1");
        sqlx::query(&sql)
            .bind(alert.to_string())
            .fetch_optional(self.conn())
            .await?
            .as_ref()
            .map(alert_from)
            .transpose()
    }

    /// Inserts an open alert; a concurrent identical trigger makes this a `Conflict`.
    pub async fn insert_alert(
        &mut self,
        alert: &Alert,
        seals: NewAlertSeals<'_>,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO alerts (id, project_id, service_id, integration_id, dedup_index, \
             open_key, status, severity, group_index, payload_sealed, incident_id, event_count, \
             created_at, updated_at, resolved_at, dedup_key_sealed) \
             VALUES ($1, $2, $3, $4, $5, $5, $6, $7, $8, $9, $10, $11, $12, $13, NULL, $14)",
        )
        .bind(alert.id.to_string())
        .bind(alert.project_id.to_string())
        .bind(alert.service_id.to_string())
        .bind(alert.integration_id.to_string())
        .bind(seals.dedup_index.to_owned())
        .bind(alert.status.as_str())
        .bind(alert.severity.clone())
        .bind(alert.group_index.clone())
        .bind(seals.payload_sealed.to_vec())
        .bind(alert.incident_id.map(|id| id.to_string()))
        .bind(signed(alert.event_count)?)
        .bind(micros(alert.created_at))
        .bind(micros(alert.updated_at))
        .bind(seals.dedup_key_sealed.to_vec())
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Inserts many open alerts in a few statements (see [`WriteTx::insert_alert`]).
    pub async fn insert_alerts(&mut self, alerts: &[NewAlertRow]) -> StoreResult<()> {
        let engine = self.engine();
        for chunk in alerts.chunks(INSERTED_ALERTS_PER_STATEMENT) {
            let rows: Vec<String> = (0..chunk.len())
                .map(|n| format!("({})", engine.placeholders(1 + n * 15, 15)))
                .collect();
            let sql = format!(
                "INSERT INTO alerts (id, project_id, service_id, integration_id, dedup_index, \
                 open_key, status, severity, group_index, payload_sealed, incident_id, \
                 event_count, created_at, updated_at, dedup_key_sealed) VALUES {}",
                rows.join(", ")
            );
            let mut query = sqlx::query(&sql);
            for row in chunk {
                let alert = &row.alert;
                query = query
                    .bind(alert.id.to_string())
                    .bind(alert.project_id.to_string())
                    .bind(alert.service_id.to_string())
                    .bind(alert.integration_id.to_string())
                    .bind(row.dedup_index.clone())
                    // open_key: the dedup index while the alert is open.
                    .bind(row.dedup_index.clone())
                    .bind(alert.status.as_str())
                    .bind(alert.severity.clone())
                    .bind(alert.group_index.clone())
                    .bind(row.payload_sealed.clone())
                    .bind(alert.incident_id.map(|id| id.to_string()))
                    .bind(signed(alert.event_count)?)
                    .bind(micros(alert.created_at))
                    .bind(micros(alert.updated_at))
                    .bind(row.dedup_key_sealed.clone());
            }
            query.execute(self.conn()).await?;
        }
        Ok(())
    }

    /// Counts `events` more deliveries of each alert of `alerts`, in one statement per
    /// distinct count (see [`WriteTx::bump_alert`]).
    pub async fn bump_alerts(
        &mut self,
        alerts: &[(AlertId, u64)],
        at: Timestamp,
    ) -> StoreResult<()> {
        let mut by_count: std::collections::BTreeMap<u64, Vec<AlertId>> = Default::default();
        for (alert, events) in alerts {
            by_count.entry(*events).or_default().push(*alert);
        }
        let engine = self.engine();
        for (events, ids) in by_count {
            for chunk in ids.chunks(OPEN_ALERTS_PER_STATEMENT) {
                let sql = format!(
                    "UPDATE alerts SET event_count = event_count + {}, updated_at = {} \
                     WHERE id IN ({})",
                    engine.placeholders(1, 1),
                    engine.placeholders(2, 1),
                    engine.placeholders(3, chunk.len())
                );
                let mut query = sqlx::query(&sql).bind(signed(events)?).bind(micros(at));
                for id in chunk {
                    query = query.bind(id.to_string());
                }
                query.execute(self.conn()).await?;
            }
        }
        Ok(())
    }

    /// A repeated event for an open alert.
    pub async fn bump_alert(&mut self, alert: AlertId, at: Timestamp) -> StoreResult<()> {
        sqlx::query(
            "UPDATE alerts SET event_count = event_count + 1, updated_at = $2 WHERE id = $1",
        )
        .bind(alert.to_string())
        .bind(micros(at))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Moves an alert; resolving it frees its dedup key for a new alert.
    pub async fn set_alert_status(
        &mut self,
        alert: AlertId,
        status: AlertStatus,
        at: Timestamp,
    ) -> StoreResult<()> {
        self.move_alert(alert, status, at, true).await
    }

    /// Moves an alert, counting one more event of it when `counts_event` (a sender's
    /// delivery, not a person's hand); resolving it frees its dedup key for a new alert.
    pub async fn move_alert(
        &mut self,
        alert: AlertId,
        status: AlertStatus,
        at: Timestamp,
        counts_event: bool,
    ) -> StoreResult<()> {
        let resolved = status == AlertStatus::Resolved;
        sqlx::query(
            "UPDATE alerts SET status = $2, updated_at = $3, \
             open_key = CASE WHEN $4 = 1 THEN NULL ELSE open_key END, \
             resolved_at = CASE WHEN $4 = 1 THEN $3 ELSE resolved_at END, \
             event_count = event_count + $5 WHERE id = $1",
        )
        .bind(alert.to_string())
        .bind(status.as_str())
        .bind(micros(at))
        .bind(i64::from(resolved))
        .bind(i64::from(counts_event))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    pub async fn link_alert(&mut self, alert: AlertId, incident: IncidentId) -> StoreResult<()> {
        sqlx::query("UPDATE alerts SET incident_id = $2 WHERE id = $1")
            .bind(alert.to_string())
            .bind(incident.to_string())
            .execute(self.conn())
            .await?;
        Ok(())
    }

    pub async fn unresolved_alerts_of_incident(
        &mut self,
        incident: IncidentId,
    ) -> StoreResult<u64> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM alerts WHERE incident_id = $1 AND status <> 'resolved'",
        )
        .bind(incident.to_string())
        .fetch_one(self.conn())
        .await?;
        number(get(&row, "n")?, "count")
    }
}
