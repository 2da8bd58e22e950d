//! Incident-response tables: services, integrations, alerts, incidents and their
//! timelines. Payloads, titles, timeline bodies and integration secrets arrive sealed;
//! this module never sees plaintext.

use jiff::Timestamp;
use rampart_domain::platform::tenancy::Scope;
use rampart_domain::sre::incident::{AlertStatus, AuthMode, IncidentStatus, Integration, Service};
use rampart_domain::sre::payload::Format;
use rampart_domain::{AlertId, IncidentId, IntegrationId, Name, ProjectId, ServiceId, Slug};
use sqlx::any::AnyRow;

use crate::platform::access::scope_columns;
use crate::platform::{Page, PageRequest};
use crate::rows::{
    get, get_flag, get_id, get_optional_id, get_optional_timestamp, get_timestamp, micros, number,
    parsed, signed,
};
use crate::{Store, StoreError, StoreResult, WriteTx};

const SERVICE_COLUMNS: &str =
    "id, org_id, project_id, identifier, name, description, auto_resolve, created_at, updated_at";
const INTEGRATION_COLUMNS: &str = "id, service_id, project_id, name, format, auth_mode, \
     token_hmac, credentials_sealed, source_cidrs, rate_limit_per_minute, created_at";
const ALERT_COLUMNS: &str = "id, project_id, service_id, integration_id, dedup_key, status, \
     severity, group_key, incident_id, event_count, created_at, updated_at, resolved_at";
const INCIDENT_COLUMNS: &str = "id, org_id, project_id, number, service_id, open_group, \
     severity, status, created_at, updated_at, acknowledged_at, resolved_at";

/// Advisory lock space serialising alert-group decisions on PostgreSQL.
const POSTGRES_ALERT_GROUP_LOCK_SPACE: i32 = 0x4147; // "AG"

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(what.into())
}

fn service_from(row: &AnyRow) -> StoreResult<Service> {
    Ok(Service {
        id: get_id(row, "id")?,
        org_id: get_id(row, "org_id")?,
        project_id: get_id(row, "project_id")?,
        identifier: parsed(
            Slug::parse(&get::<String>(row, "identifier")?),
            "identifier",
        )?,
        name: parsed(Name::parse(&get::<String>(row, "name")?), "name")?,
        description: parsed(
            rampart_domain::Description::parse(&get::<String>(row, "description")?),
            "description",
        )?,
        auto_resolve: get_flag(row, "auto_resolve")?,
        created_at: get_timestamp(row, "created_at")?,
        updated_at: get_timestamp(row, "updated_at")?,
    })
}

/// An integration with its stored credentials.
#[derive(Clone, Debug, PartialEq)]
pub struct IntegrationRecord {
    pub integration: Integration,
    /// Bearer: the token's blind index.
    pub token_hmac: Option<[u8; 32]>,
    /// Basic and HMAC: the sealed secrets.
    pub credentials_sealed: Option<Vec<u8>>,
}

fn integration_from(row: &AnyRow) -> StoreResult<IntegrationRecord> {
    let cidrs: String = get(row, "source_cidrs")?;
    let token_hmac: Option<Vec<u8>> = get(row, "token_hmac")?;
    Ok(IntegrationRecord {
        integration: Integration {
            id: get_id(row, "id")?,
            service_id: get_id(row, "service_id")?,
            project_id: get_id(row, "project_id")?,
            name: parsed(Name::parse(&get::<String>(row, "name")?), "name")?,
            format: parsed(Format::parse(&get::<String>(row, "format")?), "format")?,
            auth_mode: parsed(
                AuthMode::parse(&get::<String>(row, "auth_mode")?),
                "auth_mode",
            )?,
            source_cidrs: serde_json::from_str(&cidrs).map_err(|_| corrupt("source_cidrs"))?,
            rate_limit_per_minute: u32::try_from(get::<i64>(row, "rate_limit_per_minute")?)
                .map_err(|_| corrupt("rate_limit_per_minute"))?,
            created_at: get_timestamp(row, "created_at")?,
        },
        token_hmac: token_hmac
            .map(|bytes| bytes.try_into().map_err(|_| corrupt("token_hmac")))
            .transpose()?,
        credentials_sealed: get(row, "credentials_sealed")?,
    })
}

/// An alert as stored (its payload is read separately, sealed).
pub type AlertRow = rampart_domain::sre::alerts::Alert;

fn alert_from(row: &AnyRow) -> StoreResult<AlertRow> {
    Ok(AlertRow {
        id: get_id(row, "id")?,
        project_id: get_id(row, "project_id")?,
        service_id: get_id(row, "service_id")?,
        integration_id: get_id(row, "integration_id")?,
        dedup_key: get(row, "dedup_key")?,
        status: AlertStatus::parse(&get::<String>(row, "status")?)
            .ok_or_else(|| corrupt("status"))?,
        severity: get(row, "severity")?,
        group_key: get(row, "group_key")?,
        incident_id: get_optional_id(row, "incident_id")?,
        event_count: number(get(row, "event_count")?, "event_count")?,
        created_at: get_timestamp(row, "created_at")?,
        updated_at: get_timestamp(row, "updated_at")?,
        resolved_at: get_optional_timestamp(row, "resolved_at")?,
    })
}

/// An incident as stored (its title is read separately, sealed).
pub type IncidentRow = rampart_domain::sre::incidents::Incident;

fn incident_from(row: &AnyRow) -> StoreResult<IncidentRow> {
    Ok(IncidentRow {
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
    pub async fn service_by_identifier(
        &self,
        scope: Scope,
        identifier: &Slug,
    ) -> StoreResult<Option<Service>> {
        let (_, _, scope_key) = scope_columns(scope);
        let sql = format!(
            "SELECT {SERVICE_COLUMNS} FROM services WHERE scope_key = $1 AND identifier = $2"
        );
        sqlx::query(&sql)
            .bind(scope_key)
            .bind(identifier.as_str())
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(service_from)
            .transpose()
    }

    pub async fn service(&self, id: ServiceId) -> StoreResult<Option<Service>> {
        let sql = format!("SELECT {SERVICE_COLUMNS} FROM services WHERE id = $1");
        sqlx::query(&sql)
            .bind(id.to_string())
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(service_from)
            .transpose()
    }

    /// A service's alert rules, as stored (JSON).
    pub async fn service_alert_rules(&self, service: ServiceId) -> StoreResult<String> {
        let row = sqlx::query("SELECT alert_rules FROM services WHERE id = $1")
            .bind(service.to_string())
            .fetch_one(self.pool())
            .await?;
        get(&row, "alert_rules")
    }

    pub async fn list_services(
        &self,
        scope: Scope,
        page: &PageRequest,
    ) -> StoreResult<Page<Service>> {
        self.list_defined_at(
            "services",
            SERVICE_COLUMNS,
            scope,
            page,
            service_from,
            |s| s.id.to_string(),
        )
        .await
    }

    pub async fn integration(&self, id: IntegrationId) -> StoreResult<Option<IntegrationRecord>> {
        let sql = format!("SELECT {INTEGRATION_COLUMNS} FROM integrations WHERE id = $1");
        sqlx::query(&sql)
            .bind(id.to_string())
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(integration_from)
            .transpose()
    }

    pub async fn integrations_of_service(
        &self,
        service: ServiceId,
    ) -> StoreResult<Vec<IntegrationRecord>> {
        let sql = format!(
            "SELECT {INTEGRATION_COLUMNS} FROM integrations WHERE service_id = $1 ORDER BY id"
        );
        let rows = sqlx::query(&sql)
            .bind(service.to_string())
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(integration_from).collect()
    }

    pub async fn incident_by_number(
        &self,
        project: ProjectId,
        number: u64,
    ) -> StoreResult<Option<(IncidentRow, Vec<u8>)>> {
        let sql = format!(
            "SELECT {INCIDENT_COLUMNS}, title_sealed FROM incidents \
             WHERE project_id = $1 AND number = $2"
        );
        let Some(row) = sqlx::query(&sql)
            .bind(project.to_string())
            .bind(signed(number)?)
            .fetch_optional(self.pool())
            .await?
        else {
            return Ok(None);
        };
        Ok(Some((incident_from(&row)?, get(&row, "title_sealed")?)))
    }

    /// Incidents of a project, newest first (the cursor is an incident number).
    pub async fn list_incidents(
        &self,
        project: ProjectId,
        page: &PageRequest,
    ) -> StoreResult<Page<(IncidentRow, Vec<u8>)>> {
        let before = match page.after.as_deref() {
            None => i64::MAX,
            Some(cursor) => cursor
                .parse::<i64>()
                .map_err(|_| StoreError::Internal("incident cursor".into()))?,
        };
        let sql = format!(
            "SELECT {INCIDENT_COLUMNS}, title_sealed FROM incidents \
             WHERE project_id = $1 AND number < $2 ORDER BY number DESC LIMIT $3"
        );
        let rows = sqlx::query(&sql)
            .bind(project.to_string())
            .bind(before)
            .bind(page.overfetch())
            .fetch_all(self.pool())
            .await?;
        let items = rows
            .iter()
            .map(|row| Ok((incident_from(row)?, get(row, "title_sealed")?)))
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Page::from_overfetch(items, page.limit, |(incident, _)| {
            incident.number.to_string()
        }))
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

    pub async fn alerts_of_incident(&self, incident: IncidentId) -> StoreResult<Vec<AlertRow>> {
        let sql = format!(
            "SELECT {ALERT_COLUMNS} FROM alerts WHERE incident_id = $1 ORDER BY created_at, id"
        );
        let rows = sqlx::query(&sql)
            .bind(incident.to_string())
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(alert_from).collect()
    }

    /// Alerts of an integration (newest first), for tests and views.
    pub async fn alerts_of_integration(
        &self,
        integration: IntegrationId,
    ) -> StoreResult<Vec<AlertRow>> {
        let sql = format!(
            "SELECT {ALERT_COLUMNS} FROM alerts WHERE integration_id = $1 ORDER BY created_at DESC, id DESC"
        );
        let rows = sqlx::query(&sql)
            .bind(integration.to_string())
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(alert_from).collect()
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
    pub async fn insert_service(&mut self, service: &Service) -> StoreResult<()> {
        let (org, project, scope_key) =
            scope_columns(Scope::Project(service.org_id, service.project_id));
        sqlx::query(
            "INSERT INTO services (id, org_id, project_id, scope_key, identifier, name, \
             description, auto_resolve, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(service.id.to_string())
        .bind(org)
        .bind(project)
        .bind(scope_key)
        .bind(service.identifier.as_str())
        .bind(service.name.as_str())
        .bind(service.description.as_str())
        .bind(i64::from(service.auto_resolve))
        .bind(micros(service.created_at))
        .bind(micros(service.updated_at))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    pub async fn insert_integration(&mut self, record: &IntegrationRecord) -> StoreResult<()> {
        let integration = &record.integration;
        sqlx::query(
            "INSERT INTO integrations (id, service_id, project_id, name, format, auth_mode, \
             token_hmac, credentials_sealed, source_cidrs, rate_limit_per_minute, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(integration.id.to_string())
        .bind(integration.service_id.to_string())
        .bind(integration.project_id.to_string())
        .bind(integration.name.as_str())
        .bind(integration.format.as_str())
        .bind(integration.auth_mode.as_str())
        .bind(record.token_hmac.map(|h| h.to_vec()))
        .bind(record.credentials_sealed.clone())
        .bind(serde_json::Value::from(integration.source_cidrs.clone()).to_string())
        .bind(i64::from(integration.rate_limit_per_minute))
        .bind(micros(integration.created_at))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    pub async fn set_service_alert_rules(
        &mut self,
        service: ServiceId,
        rules: &str,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE services SET alert_rules = $2 WHERE id = $1")
            .bind(service.to_string())
            .bind(rules)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Replaces an integration's credentials (a rotation).
    pub async fn update_integration_credentials(
        &mut self,
        id: IntegrationId,
        token_hmac: Option<[u8; 32]>,
        credentials_sealed: Option<&[u8]>,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE integrations SET token_hmac = $2, credentials_sealed = $3 WHERE id = $1",
        )
        .bind(id.to_string())
        .bind(token_hmac.map(|h| h.to_vec()))
        .bind(credentials_sealed.map(<[u8]>::to_vec))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Serialises decisions about one alert group (which incident it opens or joins).
    pub async fn lock_alert_group(&mut self, service: ServiceId, group: &str) -> StoreResult<()> {
        if self.engine() == crate::Engine::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
                .bind(POSTGRES_ALERT_GROUP_LOCK_SPACE)
                .bind(format!("{service}/{group}"))
                .execute(self.conn())
                .await?;
        }
        Ok(())
    }

    pub async fn open_alert(
        &mut self,
        integration: IntegrationId,
        dedup_key: &str,
    ) -> StoreResult<Option<AlertRow>> {
        let sql = format!(
            "SELECT {ALERT_COLUMNS} FROM alerts WHERE integration_id = $1 AND open_key = $2"
        );
        sqlx::query(&sql)
            .bind(integration.to_string())
            .bind(dedup_key)
            .fetch_optional(self.conn())
            .await?
            .as_ref()
            .map(alert_from)
            .transpose()
    }

    /// Inserts an open alert; a concurrent identical trigger makes this a `Conflict`.
    pub async fn insert_alert(
        &mut self,
        alert: &AlertRow,
        payload_sealed: &[u8],
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO alerts (id, project_id, service_id, integration_id, dedup_key, open_key, \
             status, severity, group_key, payload_sealed, incident_id, event_count, created_at, \
             updated_at, resolved_at) \
             VALUES ($1, $2, $3, $4, $5, $5, $6, $7, $8, $9, $10, $11, $12, $13, NULL)",
        )
        .bind(alert.id.to_string())
        .bind(alert.project_id.to_string())
        .bind(alert.service_id.to_string())
        .bind(alert.integration_id.to_string())
        .bind(alert.dedup_key.clone())
        .bind(alert.status.as_str())
        .bind(alert.severity.clone())
        .bind(alert.group_key.clone())
        .bind(payload_sealed.to_vec())
        .bind(alert.incident_id.map(|id| id.to_string()))
        .bind(signed(alert.event_count)?)
        .bind(micros(alert.created_at))
        .bind(micros(alert.updated_at))
        .execute(self.conn())
        .await?;
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
        let resolved = status == AlertStatus::Resolved;
        sqlx::query(
            "UPDATE alerts SET status = $2, updated_at = $3, \
             open_key = CASE WHEN $4 = 1 THEN NULL ELSE open_key END, \
             resolved_at = CASE WHEN $4 = 1 THEN $3 ELSE resolved_at END, \
             event_count = event_count + 1 WHERE id = $1",
        )
        .bind(alert.to_string())
        .bind(status.as_str())
        .bind(micros(at))
        .bind(i64::from(resolved))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    pub async fn open_incident_for_group(
        &mut self,
        service: ServiceId,
        group: &str,
    ) -> StoreResult<Option<IncidentRow>> {
        let sql = format!(
            "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE service_id = $1 AND open_group = $2"
        );
        sqlx::query(&sql)
            .bind(service.to_string())
            .bind(group)
            .fetch_optional(self.conn())
            .await?
            .as_ref()
            .map(incident_from)
            .transpose()
    }

    pub async fn incident_for_update(
        &mut self,
        id: IncidentId,
    ) -> StoreResult<Option<IncidentRow>> {
        let sql = format!("SELECT {INCIDENT_COLUMNS} FROM incidents WHERE id = $1");
        sqlx::query(&sql)
            .bind(id.to_string())
            .fetch_optional(self.conn())
            .await?
            .as_ref()
            .map(incident_from)
            .transpose()
    }

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

    pub async fn insert_incident(
        &mut self,
        incident: &IncidentRow,
        title_sealed: &[u8],
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO incidents (id, org_id, project_id, number, service_id, open_group, \
             title_sealed, severity, status, created_at, updated_at, acknowledged_at, resolved_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(incident.id.to_string())
        .bind(incident.org_id.to_string())
        .bind(incident.project_id.to_string())
        .bind(signed(incident.number)?)
        .bind(incident.service_id.map(|id| id.to_string()))
        .bind(incident.open_group.clone())
        .bind(title_sealed.to_vec())
        .bind(incident.severity.clone())
        .bind(incident.status.as_str())
        .bind(micros(incident.created_at))
        .bind(micros(incident.updated_at))
        .bind(incident.acknowledged_at.map(micros))
        .bind(incident.resolved_at.map(micros))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Writes status, severity, timestamps and the open group of an incident.
    pub async fn update_incident(&mut self, incident: &IncidentRow) -> StoreResult<()> {
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

    pub async fn insert_incident_event(
        &mut self,
        incident: IncidentId,
        event: &IncidentEventRow,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO incident_events (incident_id, seq, at, actor, kind, body_sealed) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(incident.to_string())
        .bind(signed(event.seq)?)
        .bind(micros(event.at))
        .bind(event.actor.clone())
        .bind(event.kind.clone())
        .bind(event.body_sealed.clone())
        .execute(self.conn())
        .await?;
        Ok(())
    }
}

/// The sealed columns of the incident-response tables, for the rewrap job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SealedColumn {
    AlertPayload,
    IncidentTitle,
    IncidentDescription,
    TimelineBody,
    IntegrationCredentials,
}

impl SealedColumn {
    pub const ALL: [SealedColumn; 5] = [
        Self::AlertPayload,
        Self::IncidentTitle,
        Self::IncidentDescription,
        Self::TimelineBody,
        Self::IntegrationCredentials,
    ];

    /// (SELECT over `id`, `version`, `sealed` of a project's rows after a key, UPDATE of
    /// one row's sealed value if unchanged).
    fn sql(self) -> (&'static str, &'static str) {
        match self {
            Self::AlertPayload => (
                "SELECT id, CAST(0 AS BIGINT) AS version, payload_sealed AS sealed FROM alerts \
                 WHERE project_id = $1 AND (id > $2 OR (id = $2 AND 0 > $3)) \
                 ORDER BY id LIMIT $4",
                "UPDATE alerts SET payload_sealed = $3 \
                 WHERE id = $1 AND 0 = $2 AND payload_sealed = $4",
            ),
            Self::IncidentTitle => (
                "SELECT id, CAST(0 AS BIGINT) AS version, title_sealed AS sealed FROM incidents \
                 WHERE project_id = $1 AND (id > $2 OR (id = $2 AND 0 > $3)) \
                 ORDER BY id LIMIT $4",
                "UPDATE incidents SET title_sealed = $3 \
                 WHERE id = $1 AND 0 = $2 AND title_sealed = $4",
            ),
            Self::IncidentDescription => (
                "SELECT id, CAST(0 AS BIGINT) AS version, description_sealed AS sealed \
                 FROM incidents WHERE project_id = $1 AND description_sealed IS NOT NULL \
                 AND (id > $2 OR (id = $2 AND 0 > $3)) ORDER BY id LIMIT $4",
                "UPDATE incidents SET description_sealed = $3 \
                 WHERE id = $1 AND 0 = $2 AND description_sealed = $4",
            ),
            Self::TimelineBody => (
                "SELECT e.incident_id AS id, e.seq AS version, e.body_sealed AS sealed \
                 FROM incident_events e JOIN incidents i ON i.id = e.incident_id \
                 WHERE i.project_id = $1 AND (e.incident_id > $2 OR \
                 (e.incident_id = $2 AND e.seq > $3)) ORDER BY e.incident_id, e.seq LIMIT $4",
                "UPDATE incident_events SET body_sealed = $3 \
                 WHERE incident_id = $1 AND seq = $2 AND body_sealed = $4",
            ),
            Self::IntegrationCredentials => (
                "SELECT id, CAST(0 AS BIGINT) AS version, credentials_sealed AS sealed FROM integrations \
                 WHERE project_id = $1 AND credentials_sealed IS NOT NULL \
                 AND (id > $2 OR (id = $2 AND 0 > $3)) ORDER BY id LIMIT $4",
                "UPDATE integrations SET credentials_sealed = $3 \
                 WHERE id = $1 AND 0 = $2 AND credentials_sealed = $4",
            ),
        }
    }
}

/// One sealed value of an incident-response table.
#[derive(Clone, Debug, PartialEq)]
pub struct SealedCell {
    pub column: SealedColumn,
    /// The row's id (for timeline entries, the incident's).
    pub id: String,
    /// 0, or the timeline entry's sequence number.
    pub version: u64,
    pub sealed: Vec<u8>,
}

impl Store {
    /// A project's sealed values of `column`, a page at a time in (id, version) order.
    pub async fn sealed_cells(
        &self,
        column: SealedColumn,
        project_id: &str,
        after: Option<(String, u64)>,
        limit: u32,
    ) -> StoreResult<Vec<SealedCell>> {
        let (after_id, after_version) = match after {
            Some((id, version)) => (id, signed(version)?),
            None => (String::new(), 0),
        };
        let rows = sqlx::query(column.sql().0)
            .bind(project_id)
            .bind(after_id)
            .bind(after_version)
            .bind(i64::from(limit))
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|row| {
                Ok(SealedCell {
                    column,
                    id: get(row, "id")?,
                    version: number(get(row, "version")?, "version")?,
                    sealed: get(row, "sealed")?,
                })
            })
            .collect()
    }

    /// Replaces a sealed value only if it is still the one read.
    pub async fn replace_sealed_cell(
        &self,
        cell: &SealedCell,
        resealed: &[u8],
    ) -> StoreResult<bool> {
        let _writer = self.writer_guard().await;
        let result = sqlx::query(cell.column.sql().1)
            .bind(cell.id.clone())
            .bind(signed(cell.version)?)
            .bind(resealed.to_vec())
            .bind(cell.sealed.clone())
            .execute(self.pool())
            .await?;
        Ok(result.rows_affected() == 1)
    }
}

/// The fields responders set on an incident.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IncidentFields {
    /// A user id.
    pub commander: Option<String>,
    /// User ids.
    pub assignees: Vec<String>,
    /// Service ids.
    pub linked_services: Vec<String>,
    pub custom_fields: serde_json::Map<String, serde_json::Value>,
}

/// One action item of an incident.
#[derive(Clone, Debug, PartialEq)]
pub struct ActionItemRow {
    pub seq: u64,
    pub text: String,
    pub assignee: Option<String>,
    pub done: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Store {
    pub async fn incident_fields(&self, incident: IncidentId) -> StoreResult<IncidentFields> {
        let row = sqlx::query(
            "SELECT commander, assignees, linked_services, custom_fields FROM incidents WHERE id = $1",
        )
        .bind(incident.to_string())
        .fetch_one(self.pool())
        .await?;
        let json = |column: &str| -> StoreResult<serde_json::Value> {
            serde_json::from_str(&get::<String>(&row, column)?).map_err(|_| corrupt(column))
        };
        let strings = |value: serde_json::Value, column: &str| -> StoreResult<Vec<String>> {
            serde_json::from_value(value).map_err(|_| corrupt(column))
        };
        Ok(IncidentFields {
            commander: get(&row, "commander")?,
            assignees: strings(json("assignees")?, "assignees")?,
            linked_services: strings(json("linked_services")?, "linked_services")?,
            custom_fields: match json("custom_fields")? {
                serde_json::Value::Object(map) => map,
                _ => return Err(corrupt("custom_fields")),
            },
        })
    }

    pub async fn incident_description(&self, incident: IncidentId) -> StoreResult<Option<Vec<u8>>> {
        let row = sqlx::query("SELECT description_sealed FROM incidents WHERE id = $1")
            .bind(incident.to_string())
            .fetch_one(self.pool())
            .await?;
        get(&row, "description_sealed")
    }

    pub async fn action_items(&self, incident: IncidentId) -> StoreResult<Vec<ActionItemRow>> {
        let rows = sqlx::query(
            "SELECT seq, text, assignee, done, created_at, updated_at FROM incident_action_items \
             WHERE incident_id = $1 ORDER BY seq",
        )
        .bind(incident.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ActionItemRow {
                    seq: number(get(row, "seq")?, "seq")?,
                    text: get(row, "text")?,
                    assignee: get(row, "assignee")?,
                    done: get_flag(row, "done")?,
                    created_at: get_timestamp(row, "created_at")?,
                    updated_at: get_timestamp(row, "updated_at")?,
                })
            })
            .collect()
    }
}

impl WriteTx {
    pub async fn set_incident_fields(
        &mut self,
        incident: IncidentId,
        fields: &IncidentFields,
        at: Timestamp,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE incidents SET commander = $2, assignees = $3, linked_services = $4, \
             custom_fields = $5, updated_at = $6 WHERE id = $1",
        )
        .bind(incident.to_string())
        .bind(fields.commander.clone())
        .bind(serde_json::Value::from(fields.assignees.clone()).to_string())
        .bind(serde_json::Value::from(fields.linked_services.clone()).to_string())
        .bind(serde_json::Value::Object(fields.custom_fields.clone()).to_string())
        .bind(micros(at))
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

    /// Adds an action item; returns its number within the incident.
    pub async fn add_action_item(
        &mut self,
        incident: IncidentId,
        text: &str,
        assignee: Option<&str>,
        at: Timestamp,
    ) -> StoreResult<u64> {
        let row = sqlx::query(
            "SELECT COALESCE(MAX(seq), 0) AS last FROM incident_action_items WHERE incident_id = $1",
        )
        .bind(incident.to_string())
        .fetch_one(self.conn())
        .await?;
        let seq = number(get(&row, "last")?, "seq")? + 1;
        sqlx::query(
            "INSERT INTO incident_action_items (incident_id, seq, text, assignee, done, created_at, \
             updated_at) VALUES ($1, $2, $3, $4, 0, $5, $5)",
        )
        .bind(incident.to_string())
        .bind(signed(seq)?)
        .bind(text)
        .bind(assignee.map(str::to_owned))
        .bind(micros(at))
        .execute(self.conn())
        .await?;
        Ok(seq)
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

/// Who owns a service and who hears about its incidents.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ServiceOwnership {
    /// A user group id.
    pub owner_group: Option<String>,
    /// `user:<id>` or `group:<id>`.
    pub subscribers: Vec<String>,
    pub tags: Vec<String>,
}

impl Store {
    pub async fn service_ownership(&self, service: ServiceId) -> StoreResult<ServiceOwnership> {
        let row = sqlx::query("SELECT owner_group, subscribers, tags FROM services WHERE id = $1")
            .bind(service.to_string())
            .fetch_one(self.pool())
            .await?;
        let list = |column: &str| -> StoreResult<Vec<String>> {
            serde_json::from_str(&get::<String>(&row, column)?).map_err(|_| corrupt(column))
        };
        Ok(ServiceOwnership {
            owner_group: get(&row, "owner_group")?,
            subscribers: list("subscribers")?,
            tags: list("tags")?,
        })
    }

    /// An organisation's names for the SEV levels (JSON object, SEV0…SEV4 → label).
    pub async fn severity_labels(&self, org: rampart_domain::OrgId) -> StoreResult<String> {
        let row = sqlx::query("SELECT severity_labels FROM organizations WHERE id = $1")
            .bind(org.to_string())
            .fetch_one(self.pool())
            .await?;
        get(&row, "severity_labels")
    }
}

impl WriteTx {
    pub async fn set_service_ownership(
        &mut self,
        service: ServiceId,
        ownership: &ServiceOwnership,
        at: Timestamp,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE services SET owner_group = $2, subscribers = $3, tags = $4, updated_at = $5 \
             WHERE id = $1",
        )
        .bind(service.to_string())
        .bind(ownership.owner_group.clone())
        .bind(serde_json::Value::from(ownership.subscribers.clone()).to_string())
        .bind(serde_json::Value::from(ownership.tags.clone()).to_string())
        .bind(micros(at))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    pub async fn set_severity_labels(
        &mut self,
        org: rampart_domain::OrgId,
        labels: &str,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE organizations SET severity_labels = $2 WHERE id = $1")
            .bind(org.to_string())
            .bind(labels)
            .execute(self.conn())
            .await?;
        Ok(())
    }
}

impl WriteTx {
    /// Name, description and auto-resolve of a service.
    pub async fn update_service(&mut self, service: &Service) -> StoreResult<()> {
        sqlx::query(
            "UPDATE services SET name = $2, description = $3, auto_resolve = $4, updated_at = $5 \
             WHERE id = $1",
        )
        .bind(service.id.to_string())
        .bind(service.name.as_str())
        .bind(service.description.as_str())
        .bind(i64::from(service.auto_resolve))
        .bind(micros(service.updated_at))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Deletes a service with its integrations and alerts; its incidents stay (their
    /// service link is cleared).
    pub async fn delete_service(&mut self, service: ServiceId) -> StoreResult<()> {
        for sql in [
            "UPDATE incidents SET service_id = NULL, open_group = NULL WHERE service_id = $1",
            "DELETE FROM alerts WHERE service_id = $1",
            "DELETE FROM integrations WHERE service_id = $1",
            "DELETE FROM services WHERE id = $1",
        ] {
            sqlx::query(sql)
                .bind(service.to_string())
                .execute(self.conn())
                .await?;
        }
        Ok(())
    }

    /// Deletes an integration; its alerts stay (history), no longer receiving events.
    pub async fn delete_integration(&mut self, integration: IntegrationId) -> StoreResult<bool> {
        sqlx::query("UPDATE alerts SET open_key = NULL WHERE integration_id = $1")
            .bind(integration.to_string())
            .execute(self.conn())
            .await?;
        let result = sqlx::query("DELETE FROM integrations WHERE id = $1")
            .bind(integration.to_string())
            .execute(self.conn())
            .await?;
        Ok(result.rows_affected() == 1)
    }
}
