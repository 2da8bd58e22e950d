//! Rows from before migration 15, which still hold in clear what senders and people
//! wrote: alerts whose dedup and group keys are not yet blind-indexed (and the dedup key
//! not sealed), incidents whose custom fields and open group wait in `legacy_*` columns,
//! action items whose text is not sealed. The app reads them, seals and indexes them,
//! and writes them back here (each write only if the row is still legacy, so converting
//! twice changes nothing); then [`Store::purge_overwritten_values`] drops what the
//! engine still keeps of the overwritten values.

use jiff::Timestamp;
use rampart_domain::{AlertId, IncidentId, ProjectId};

use crate::rows::{get, get_id, get_optional_id, get_timestamp, number, signed};
use crate::{Engine, Store, StoreResult, WriteTx};

/// An alert whose keys are still in clear.
#[derive(Clone, Debug, PartialEq)]
pub struct LegacyAlert {
    pub id: AlertId,
    pub project_id: ProjectId,
    pub incident_id: Option<IncidentId>,
    pub dedup_key: String,
    pub group_key: String,
    pub created_at: Timestamp,
}

/// An incident whose custom fields or open group are still in clear.
#[derive(Clone, Debug, PartialEq)]
pub struct LegacyIncident {
    pub id: IncidentId,
    pub project_id: ProjectId,
    /// The custom fields' JSON object, when not empty.
    pub custom_fields: Option<String>,
    /// The group key (or, when it was long, `sha256:` and its digest) of an open one.
    pub open_group: Option<String>,
    pub created_at: Timestamp,
}

/// An action item whose text is still in clear.
#[derive(Clone, Debug, PartialEq)]
pub struct LegacyActionItem {
    pub incident_id: IncidentId,
    pub project_id: ProjectId,
    pub seq: u64,
    pub text: String,
    /// When its incident was opened.
    pub incident_created_at: Timestamp,
}

impl Store {
    pub async fn legacy_alerts(&self) -> StoreResult<Vec<LegacyAlert>> {
        let rows = sqlx::query(
            "SELECT id, project_id, incident_id, dedup_index, group_index, created_at FROM alerts \
             WHERE dedup_key_sealed IS NULL ORDER BY id",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(LegacyAlert {
                    id: get_id(row, "id")?,
                    project_id: get_id(row, "project_id")?,
                    incident_id: get_optional_id(row, "incident_id")?,
                    dedup_key: get(row, "dedup_index")?,
                    group_key: get(row, "group_index")?,
                    created_at: get_timestamp(row, "created_at")?,
                })
            })
            .collect()
    }

    pub async fn legacy_incidents(&self) -> StoreResult<Vec<LegacyIncident>> {
        let rows = sqlx::query(
            "SELECT id, project_id, legacy_custom_fields, legacy_open_group, created_at \
             FROM incidents \
             WHERE legacy_custom_fields <> '{}' OR legacy_open_group IS NOT NULL ORDER BY id",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                let custom_fields: String = get(row, "legacy_custom_fields")?;
                Ok(LegacyIncident {
                    id: get_id(row, "id")?,
                    project_id: get_id(row, "project_id")?,
                    custom_fields: (custom_fields != "{}").then_some(custom_fields),
                    open_group: get(row, "legacy_open_group")?,
                    created_at: get_timestamp(row, "created_at")?,
                })
            })
            .collect()
    }

    pub async fn legacy_action_items(&self) -> StoreResult<Vec<LegacyActionItem>> {
        let rows = sqlx::query(
            "SELECT a.incident_id, i.project_id, a.seq, a.legacy_text, i.created_at \
             FROM incident_action_items a JOIN incidents i ON i.id = a.incident_id \
             WHERE a.text_sealed IS NULL ORDER BY a.incident_id, a.seq",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(LegacyActionItem {
                    incident_id: get_id(row, "incident_id")?,
                    project_id: get_id(row, "project_id")?,
                    seq: number(get(row, "seq")?, "seq")?,
                    text: get(row, "legacy_text")?,
                    incident_created_at: get_timestamp(row, "created_at")?,
                })
            })
            .collect()
    }

    /// After legacy values were overwritten: SQLite keeps overwritten bytes in free
    /// space of its file and in the write-ahead log, so the file is rebuilt (`VACUUM`)
    /// and the log emptied (a truncating checkpoint). PostgreSQL keeps dead row versions
    /// until its vacuum reuses their space; no dump or backup shows them, and nothing is
    /// done here (a `VACUUM FULL` would lock the tables).
    pub async fn purge_overwritten_values(&self) -> StoreResult<()> {
        if self.engine() == Engine::Sqlite {
            let _writer = self.writer_guard().await;
            sqlx::raw_sql("VACUUM").execute(self.pool()).await?;
            sqlx::raw_sql("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(self.pool())
                .await?;
        }
        Ok(())
    }
}

impl WriteTx {
    /// Replaces a legacy alert's keys by their blind indexes (the open key too, if the
    /// alert is open) and its sealed dedup key; false when it was already converted.
    pub async fn convert_legacy_alert(
        &mut self,
        alert: AlertId,
        dedup_index: &str,
        dedup_key_sealed: &[u8],
        group_index: &str,
    ) -> StoreResult<bool> {
        let result = sqlx::query(
            "UPDATE alerts SET dedup_index = $2, \
             open_key = CASE WHEN open_key IS NULL THEN NULL ELSE $2 END, \
             group_index = $3, dedup_key_sealed = $4 \
             WHERE id = $1 AND dedup_key_sealed IS NULL",
        )
        .bind(alert.to_string())
        .bind(dedup_index.to_owned())
        .bind(group_index.to_owned())
        .bind(dedup_key_sealed.to_vec())
        .execute(self.conn())
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Moves a legacy incident's custom fields (sealed) and open group (its blind index,
    /// or none when it could not be recovered) out of the `legacy_*` columns; false when
    /// it was already converted.
    pub async fn convert_legacy_incident(
        &mut self,
        incident: IncidentId,
        custom_fields_sealed: Option<&[u8]>,
        open_group_index: Option<&str>,
    ) -> StoreResult<bool> {
        let mut changed = 0;
        if let Some(sealed) = custom_fields_sealed {
            changed += sqlx::query(
                "UPDATE incidents SET custom_fields_sealed = $2, legacy_custom_fields = '{}' \
                 WHERE id = $1 AND legacy_custom_fields <> '{}'",
            )
            .bind(incident.to_string())
            .bind(sealed.to_vec())
            .execute(self.conn())
            .await?
            .rows_affected();
        }
        changed += sqlx::query(
            "UPDATE incidents SET open_group = $2, legacy_open_group = NULL \
             WHERE id = $1 AND legacy_open_group IS NOT NULL",
        )
        .bind(incident.to_string())
        .bind(open_group_index.map(str::to_owned))
        .execute(self.conn())
        .await?
        .rows_affected();
        Ok(changed > 0)
    }

    /// Seals a legacy action item's text; false when it was already converted.
    pub async fn convert_legacy_action_item(
        &mut self,
        incident: IncidentId,
        seq: u64,
        text_sealed: &[u8],
    ) -> StoreResult<bool> {
        let result = sqlx::query(
            "UPDATE incident_action_items SET text_sealed = $3, legacy_text = '' \
             WHERE incident_id = $1 AND seq = $2 AND text_sealed IS NULL",
        )
        .bind(incident.to_string())
        .bind(signed(seq)?)
        .bind(text_sealed.to_vec())
        .execute(self.conn())
        .await?;
        Ok(result.rows_affected() == 1)
    }
}
