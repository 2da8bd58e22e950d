//! Incident-response and on-call tables, one module per resource. Payloads, titles,
//! timeline bodies and integration secrets arrive sealed; these modules never see
//! plaintext.

pub mod alert_rules;
pub mod alerts;
pub mod definitions;
pub mod escalation_policies;
pub mod escalations;
pub mod incidents;
pub mod integrations;
pub mod notifications;
pub mod schedules;
pub mod services;

use crate::rows::{get, number, signed};
use crate::{Store, StoreError, StoreResult};

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(what.into())
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
