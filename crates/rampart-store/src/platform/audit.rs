//! The audit log table. Every write transaction commits with at least one record (see
//! `WriteTx::commit`); authentication failures and denials, which change nothing else,
//! are appended on their own with [`Store::append_audit`].

use jiff::Timestamp;
use sqlx::any::AnyRow;

use crate::rows::{get, get_timestamp, micros};
use crate::{Store, StoreResult};

/// One audit record as stored. The app layer builds it; the details are a small JSON
/// object that never contains secret values.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    pub id: String,
    pub occurred_at: Timestamp,
    /// `user:<id>`, `service_account:<id>`, or `None` when nobody was authenticated.
    pub actor: Option<String>,
    /// `token`, `session`, `password`, `system`, …
    pub auth_method: Option<String>,
    pub token_id: Option<String>,
    pub client_ip: Option<String>,
    pub org_id: Option<String>,
    pub project_id: Option<String>,
    /// `resource.verb`, e.g. `org.create`, `auth.login`, `access.denied`.
    pub action: String,
    pub resource_type: String,
    pub resource_id: Option<String>,
    /// `success`, `failure` or `denied`.
    pub outcome: String,
    pub request_id: Option<String>,
    /// A JSON object.
    pub details: String,
}

pub(crate) async fn append(
    connection: &mut sqlx::AnyConnection,
    record: &AuditRecord,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO audit_events (id, occurred_at, actor, auth_method, token_id, client_ip, \
         org_id, project_id, action, resource_type, resource_id, outcome, request_id, details) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(&record.id)
    .bind(micros(record.occurred_at))
    .bind(&record.actor)
    .bind(&record.auth_method)
    .bind(&record.token_id)
    .bind(&record.client_ip)
    .bind(&record.org_id)
    .bind(&record.project_id)
    .bind(&record.action)
    .bind(&record.resource_type)
    .bind(&record.resource_id)
    .bind(&record.outcome)
    .bind(&record.request_id)
    .bind(&record.details)
    .execute(connection)
    .await?;
    Ok(())
}

fn record_from(row: &AnyRow) -> StoreResult<AuditRecord> {
    Ok(AuditRecord {
        id: get(row, "id")?,
        occurred_at: get_timestamp(row, "occurred_at")?,
        actor: get(row, "actor")?,
        auth_method: get(row, "auth_method")?,
        token_id: get(row, "token_id")?,
        client_ip: get(row, "client_ip")?,
        org_id: get(row, "org_id")?,
        project_id: get(row, "project_id")?,
        action: get(row, "action")?,
        resource_type: get(row, "resource_type")?,
        resource_id: get(row, "resource_id")?,
        outcome: get(row, "outcome")?,
        request_id: get(row, "request_id")?,
        details: get(row, "details")?,
    })
}

impl Store {
    /// Appends a record that accompanies no other change (a failed login, a denial).
    pub async fn append_audit(&self, record: &AuditRecord) -> StoreResult<()> {
        let mut tx = self.write().await?;
        append(tx.conn(), record).await?;
        tx.tx.commit().await?;
        Ok(())
    }

    /// The most recent records, newest first (the query API of the audit issue replaces
    /// this with filters and pagination).
    pub async fn recent_audit(&self, limit: u32) -> StoreResult<Vec<AuditRecord>> {
        let rows = sqlx::query(
            "SELECT id, occurred_at, actor, auth_method, token_id, client_ip, org_id, project_id, \
             action, resource_type, resource_id, outcome, request_id, details \
             FROM audit_events ORDER BY seq DESC LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(record_from).collect()
    }
}
