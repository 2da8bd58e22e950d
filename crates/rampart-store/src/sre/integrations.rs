//! Webhook integrations of a service and their credentials (a bearer token's or a
//! PagerDuty routing key's blind index, or basic/HMAC secrets that arrive sealed: this
//! module never sees plaintext), the lookup of a routing-key integration by its key, and
//! the per-minute delivery counts through which replicas share integration rate limits.

use rampart_domain::sre::integrations::{AuthMode, Integration};
use rampart_domain::sre::payload::Format;
use rampart_domain::{IntegrationId, Name, ServiceId};
use sqlx::any::AnyRow;

use super::corrupt;
use crate::rows::{get, get_id, get_timestamp, micros, parsed};
use crate::sealed::{SealedColumn, SealedOwner};
use crate::{Store, StoreResult, WriteTx};

const INTEGRATION_COLUMNS: &str = "id, service_id, project_id, name, format, auth_mode, \
     token_hmac, credentials_sealed, source_cidrs, rate_limit_per_minute, created_at";

/// Basic and HMAC integration secrets (bearer integrations have none), sealed with the
/// project's key.
pub const INTEGRATION_CREDENTIALS: SealedColumn = SealedColumn {
    table: "integrations",
    id_column: "id",
    version_column: None,
    sealed_column: "credentials_sealed",
    optional: true,
    owner: SealedOwner::Column("project_id"),
    extra_columns: &[],
};

/// An integration with its stored credentials.
#[derive(Clone, Debug, PartialEq)]
pub struct IntegrationRecord {
    pub integration: Integration,
    /// Bearer: the token's blind index; routing key: the key's (unique among
    /// routing-key integrations, migration 0016).
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

impl Store {
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

    /// The `routing_key` integration whose key has this blind index: one probe of the
    /// partial unique index `integrations_routing_key` (the predicate repeats the
    /// index's, so both engines use it).
    pub async fn integration_by_routing_key(
        &self,
        key_hmac: &[u8; 32],
    ) -> StoreResult<Option<IntegrationRecord>> {
        let sql = format!(
            "SELECT {INTEGRATION_COLUMNS} FROM integrations \
             WHERE auth_mode = 'routing_key' AND token_hmac = $1"
        );
        sqlx::query(&sql)
            .bind(key_hmac.to_vec())
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
}

impl WriteTx {
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

    /// Deletes an integration with its alerts (`alerts.integration_id` cascades on both
    /// engines); the incidents they opened stay, with their timelines.
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

impl Store {
    /// Publishes this replica's accepted deliveries per integration in `minute`.
    pub async fn publish_webhook_counts(
        &self,
        replica_id: &str,
        minute: i64,
        counts: &[(IntegrationId, u32)],
    ) -> StoreResult<()> {
        let _writer = self.writer_guard().await;
        let mut tx = self.pool().begin().await?;
        for (integration, deliveries) in counts {
            sqlx::query(
                "INSERT INTO webhook_rate_counts (minute, integration_id, replica_id, deliveries) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (minute, integration_id, replica_id) \
                 DO UPDATE SET deliveries = excluded.deliveries",
            )
            .bind(minute)
            .bind(integration.to_string())
            .bind(replica_id)
            .bind(i64::from(*deliveries))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The other replicas' accepted deliveries per integration in `minute`.
    pub async fn webhook_counts_of_others(
        &self,
        replica_id: &str,
        minute: i64,
    ) -> StoreResult<Vec<(IntegrationId, u32)>> {
        let rows = sqlx::query(
            "SELECT integration_id, CAST(SUM(deliveries) AS BIGINT) AS deliveries \
             FROM webhook_rate_counts WHERE minute = $1 AND replica_id <> $2 GROUP BY integration_id",
        )
        .bind(minute)
        .bind(replica_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                let deliveries: i64 = get(row, "deliveries")?;
                Ok((
                    get_id(row, "integration_id")?,
                    u32::try_from(deliveries).unwrap_or(u32::MAX),
                ))
            })
            .collect()
    }

    /// Deletes the counts of minutes before `minute`.
    pub async fn forget_webhook_counts(&self, minute: i64) -> StoreResult<()> {
        let _writer = self.writer_guard().await;
        sqlx::query("DELETE FROM webhook_rate_counts WHERE minute < $1")
            .bind(minute)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
