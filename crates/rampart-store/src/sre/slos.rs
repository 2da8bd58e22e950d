//! SLOs of a project and their per-minute data. Definitions arrive here sealed with the
//! project's key; this module never sees them in clear.

use std::collections::HashMap;

use jiff::Timestamp;
use rampart_domain::platform::tenancy::Scope;
use rampart_domain::sre::slos::{MinuteDelta, Rollup, SeriesSample, Slo};
use rampart_domain::{IntegrationId, Name, SloId, Slug};
use sqlx::any::AnyRow;

use crate::platform::access::{scope_columns, scope_from};
use crate::platform::{Page, PageRequest};
use crate::rows::{get, get_id, get_timestamp, micros, parsed};
use crate::sealed::{BlindIndexColumn, SealedColumn, SealedOwner};
use crate::{Store, StoreError, StoreResult, WriteTx};

const COLUMNS: &str =
    "id, org_id, project_id, identifier, name, service_id, version, created_at, updated_at";

/// SLO definitions, keyed by (SLO, version), sealed with the project's key.
pub const SLO_DEFINITION: SealedColumn = SealedColumn {
    table: "slos",
    id_column: "id",
    version_column: Some("version"),
    sealed_column: "definition_sealed",
    optional: false,
    owner: SealedOwner::Column("project_id"),
    extra_columns: &[],
};

/// The blind index naming a series of an SLO's indicator (its role and labels).
pub const SLO_SERIES_INDEX: BlindIndexColumn = BlindIndexColumn {
    table: "slo_series",
    column: "series_index",
};

/// A minute of an SLO to write: (SLO, the write's data version, minute, good, total).
type MinuteRow = (SloId, i64, Timestamp, f64, f64);

/// A series of an SLO, as [`SLO_SERIES_INDEX`] names it.
pub type SeriesKey = (SloId, String);

/// The most series one statement reads or writes (bound values stay well under both
/// engines' limits).
const SERIES_PER_STATEMENT: usize = 200;

/// The most minutes one statement writes (bound values stay well under both engines'
/// limits: 5 per minute).
const MINUTES_PER_STATEMENT: usize = 200;

fn slo_from(row: &AnyRow) -> StoreResult<Slo> {
    Ok(Slo {
        id: get_id(row, "id")?,
        scope: scope_from(row, "org_id", "project_id")?,
        identifier: parsed(
            Slug::parse(&get::<String>(row, "identifier")?),
            "identifier",
        )?,
        name: parsed(Name::parse(&get::<String>(row, "name")?), "name")?,
        service_id: get_id(row, "service_id")?,
        version: u32::try_from(get::<i64>(row, "version")?)
            .map_err(|_| StoreError::Corrupt("SLO version out of range".into()))?,
        created_at: get_timestamp(row, "created_at")?,
        updated_at: get_timestamp(row, "updated_at")?,
    })
}

/// An SLO as the alert engine sees it: the integration its alerts go through (made at
/// the first one) and the alerts it has open.
#[derive(Clone, Debug, PartialEq)]
pub struct SloAlerting {
    pub slo: Slo,
    pub integration_id: Option<IntegrationId>,
    /// Sorted names joined by commas (`budget_exhausted,page`); empty when none.
    pub alerts_open: String,
    /// The version of its minutes: the last write of them took it (see
    /// [`WriteTx::next_slo_data_versions`]).
    pub data_version: i64,
}

/// A minute row as the engine reads it. Remote write adds a bad/total SLO's bad events
/// as negative good ones and good/total's series arrive in separate writes: a minute
/// read between two of them is held to 0 ≤ good ≤ total.
fn rollup_from(row: &AnyRow) -> StoreResult<Rollup> {
    let total: f64 = get(row, "total")?;
    let good: f64 = get(row, "good")?;
    Ok(Rollup {
        minute: get_timestamp(row, "minute")?,
        good: good.clamp(0.0, total.max(0.0)),
        total: total.max(0.0),
    })
}

impl Store {
    /// Every SLO of every project after `after`, in id order, at most `limit`.
    pub async fn slos_for_alerting(
        &self,
        after: Option<SloId>,
        limit: u32,
    ) -> StoreResult<Vec<SloAlerting>> {
        let sql = format!(
            "SELECT {COLUMNS}, integration_id, alerts_open, data_version FROM slos \
             WHERE id > $1 ORDER BY id LIMIT $2"
        );
        let rows = sqlx::query(&sql)
            .bind(after.map(|id| id.to_string()).unwrap_or_default())
            .bind(i64::from(limit))
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|row| {
                let integration: Option<String> = get(row, "integration_id")?;
                Ok(SloAlerting {
                    slo: slo_from(row)?,
                    integration_id: integration
                        .map(|text| {
                            rampart_domain::parse_uuid(&text)
                                .map(IntegrationId::from_uuid)
                                .ok_or_else(|| StoreError::Corrupt("SLO integration id".into()))
                        })
                        .transpose()?,
                    alerts_open: get(row, "alerts_open")?,
                    data_version: get(row, "data_version")?,
                })
            })
            .collect()
    }

    /// Moves an SLO's open alerts from `from` to `to` (and records the integration they
    /// go through); false when another replica moved them first.
    pub async fn set_slo_alerts(
        &self,
        id: SloId,
        integration: IntegrationId,
        from: &str,
        to: &str,
    ) -> StoreResult<bool> {
        let _writer = self.writer_guard().await;
        let done = sqlx::query(
            "UPDATE slos SET alerts_open = $3, integration_id = $2 \
             WHERE id = $1 AND alerts_open = $4",
        )
        .bind(id.to_string())
        .bind(integration.to_string())
        .bind(to)
        .bind(from)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Up to `limit` SLOs whose pull is due at `now`, the longest due first.
    pub async fn slos_with_pulls_due(&self, now: Timestamp, limit: u32) -> StoreResult<Vec<Slo>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM slos WHERE pull_due_at <= $1 ORDER BY pull_due_at LIMIT $2"
        );
        let rows = sqlx::query(&sql)
            .bind(micros(now))
            .bind(i64::from(limit))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(slo_from).collect()
    }

    /// An SLO and its sealed definition.
    pub async fn slo_by_identifier(
        &self,
        scope: Scope,
        identifier: &Slug,
    ) -> StoreResult<Option<(Slo, Vec<u8>)>> {
        let (_, _, scope_key) = scope_columns(scope);
        let sql = format!(
            "SELECT {COLUMNS}, definition_sealed FROM slos \
             WHERE scope_key = $1 AND identifier = $2"
        );
        sqlx::query(&sql)
            .bind(scope_key)
            .bind(identifier.as_str())
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(|row| Ok((slo_from(row)?, get(row, "definition_sealed")?)))
            .transpose()
    }

    pub async fn list_slos(&self, scope: Scope, page: &PageRequest) -> StoreResult<Page<Slo>> {
        self.list_defined_at("slos", COLUMNS, scope, page, slo_from, |slo| {
            slo.id.to_string()
        })
        .await
    }

    /// The minutes of `slo` in `[from, to)`, oldest first.
    pub async fn slo_minutes(
        &self,
        slo: SloId,
        from: Timestamp,
        to: Timestamp,
    ) -> StoreResult<Vec<Rollup>> {
        let rows = sqlx::query(
            "SELECT minute, good, total FROM slo_minutes \
             WHERE slo_id = $1 AND minute >= $2 AND minute < $3 ORDER BY minute",
        )
        .bind(slo.to_string())
        .bind(micros(from))
        .bind(micros(to))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(rollup_from).collect()
    }

    /// The minutes of each `(SLO, version)` written after that version of its data, in
    /// any order: what changed since the engine last read them.
    pub async fn slo_minutes_changed(
        &self,
        since: &[(SloId, i64)],
    ) -> StoreResult<Vec<(SloId, Rollup)>> {
        let engine = self.engine();
        let mut changed = Vec::new();
        for part in since.chunks(SERIES_PER_STATEMENT) {
            let seen: Vec<String> = (0..part.len())
                .map(|index| format!("({})", engine.placeholders(1 + index * 2, 2)))
                .collect();
            // One probe of the (slo_id, version) index per SLO. SQLite plans the join
            // that way; PostgreSQL, whose estimate of `version >` is a guess until the
            // table is analysed, would hash-join a scan of every minute instead, so
            // there the probe is a lateral subquery kept from being flattened
            // (`OFFSET 0`).
            let probe = if engine == crate::Engine::Postgres {
                "CROSS JOIN LATERAL (SELECT slo_id, minute, good, total FROM slo_minutes \
                 WHERE slo_id = seen.slo_id AND version > seen.version OFFSET 0) m"
            } else {
                "JOIN slo_minutes m ON m.slo_id = seen.slo_id AND m.version > seen.version"
            };
            let sql = format!(
                "WITH seen (slo_id, version) AS (VALUES {}) \
                 SELECT m.slo_id, m.minute, m.good, m.total FROM seen {probe}",
                seen.join(", ")
            );
            let mut query = sqlx::query(&sql);
            for (slo, version) in part {
                query = query.bind(slo.to_string()).bind(*version);
            }
            for row in query.fetch_all(self.pool()).await? {
                changed.push((get_id(&row, "slo_id")?, rollup_from(&row)?));
            }
        }
        Ok(changed)
    }
}

impl Store {
    /// Every SLO of a project (without its definition), in id order: how the
    /// remote-write receiver checks that the definitions it holds are current.
    pub async fn slos_of(&self, scope: Scope) -> StoreResult<Vec<Slo>> {
        let (_, _, scope_key) = scope_columns(scope);
        let sql = format!("SELECT {COLUMNS} FROM slos WHERE scope_key = $1 ORDER BY id");
        let rows = sqlx::query(&sql)
            .bind(scope_key)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(slo_from).collect()
    }

    /// An SLO and its sealed definition, by id.
    pub async fn slo_by_id(&self, id: SloId) -> StoreResult<Option<(Slo, Vec<u8>)>> {
        let sql = format!("SELECT {COLUMNS}, definition_sealed FROM slos WHERE id = $1");
        sqlx::query(&sql)
            .bind(id.to_string())
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(|row| Ok((slo_from(row)?, get(row, "definition_sealed")?)))
            .transpose()
    }

    /// Retention: removes the minutes before `minutes_before` and the series last sent
    /// before `series_before`. Returns how many rows went.
    pub async fn prune_slo_data(
        &self,
        minutes_before: Timestamp,
        series_before: Timestamp,
    ) -> StoreResult<u64> {
        let _writer = self.writer_guard().await;
        let minutes = sqlx::query("DELETE FROM slo_minutes WHERE minute < $1")
            .bind(micros(minutes_before))
            .execute(self.pool())
            .await?;
        let series = sqlx::query("DELETE FROM slo_series WHERE at_ms < $1")
            .bind(series_before.as_millisecond())
            .execute(self.pool())
            .await?;
        Ok(minutes.rows_affected() + series.rows_affected())
    }
}

impl WriteTx {
    /// The samples kept for these series, each row locked until the transaction ends
    /// (PostgreSQL `FOR UPDATE`, in (SLO, index) order; a writer of minutes has taken
    /// its SLOs' data versions before, whose row locks already keep two writers of one
    /// SLO apart — SQLite writers are serialised anyway).
    pub async fn slo_series_for_update(
        &mut self,
        keys: &[SeriesKey],
    ) -> StoreResult<HashMap<SeriesKey, SeriesSample>> {
        let lock = if self.engine() == crate::Engine::Postgres {
            " FOR UPDATE"
        } else {
            ""
        };
        let mut sorted: Vec<&SeriesKey> = keys.iter().collect();
        sorted.sort();
        sorted.dedup();
        let mut kept = HashMap::new();
        for part in sorted.chunks(SERIES_PER_STATEMENT) {
            let engine = self.engine();
            let pairs: Vec<String> = (0..part.len())
                .map(|index| format!("({})", engine.placeholders(1 + index * 2, 2)))
                .collect();
            let sql = format!(
                "SELECT slo_id, series_index, at_ms, value FROM slo_series \
                 WHERE (slo_id, series_index) IN ({}) ORDER BY slo_id, series_index{lock}",
                pairs.join(", ")
            );
            let mut query = sqlx::query(&sql);
            for (slo, index) in part {
                query = query.bind(slo.to_string()).bind(index.clone());
            }
            for row in query.fetch_all(self.conn()).await? {
                kept.insert(
                    (
                        get_id(&row, "slo_id")?,
                        get::<String>(&row, "series_index")?,
                    ),
                    SeriesSample {
                        at_ms: get(&row, "at_ms")?,
                        value: get(&row, "value")?,
                    },
                );
            }
        }
        Ok(kept)
    }

    /// Keeps the last sample taken of each series (a later one only replaces an
    /// earlier one).
    pub async fn put_slo_series(&mut self, rows: &[(SeriesKey, SeriesSample)]) -> StoreResult<()> {
        for chunk in rows.chunks(SERIES_PER_STATEMENT) {
            let engine = self.engine();
            let values: Vec<String> = (0..chunk.len())
                .map(|index| format!("({})", engine.placeholders(1 + index * 4, 4)))
                .collect();
            let sql = format!(
                "INSERT INTO slo_series (slo_id, series_index, at_ms, value) VALUES {} \
                 ON CONFLICT (slo_id, series_index) DO UPDATE SET at_ms = excluded.at_ms, \
                 value = excluded.value WHERE slo_series.at_ms < excluded.at_ms",
                values.join(", ")
            );
            let mut query = sqlx::query(&sql);
            for ((slo, index), sample) in chunk {
                query = query
                    .bind(slo.to_string())
                    .bind(index.clone())
                    .bind(sample.at_ms)
                    .bind(sample.value);
            }
            query.execute(self.conn()).await?;
        }
        Ok(())
    }

    /// The next data version of each of `slos` (see [`SloAlerting::data_version`]), their
    /// rows locked until the transaction ends — in id order on PostgreSQL, so that two
    /// writers wait rather than deadlock; a write of minutes takes its SLOs' versions
    /// before any other lock of theirs, as deleting an SLO locks its row first. SLOs
    /// that are gone have none.
    pub async fn next_slo_data_versions(
        &mut self,
        slos: &[SloId],
    ) -> StoreResult<HashMap<SloId, i64>> {
        let mut sorted: Vec<String> = slos.iter().map(SloId::to_string).collect();
        sorted.sort();
        sorted.dedup();
        let engine = self.engine();
        let mut versions = HashMap::new();
        for part in sorted.chunks(SERIES_PER_STATEMENT) {
            let list = engine.placeholders(1, part.len());
            if engine == crate::Engine::Postgres {
                let sql =
                    format!("SELECT id FROM slos WHERE id IN ({list}) ORDER BY id FOR UPDATE");
                let mut query = sqlx::query(&sql);
                for id in part {
                    query = query.bind(id.clone());
                }
                query.fetch_all(self.conn()).await?;
            }
            let sql = format!(
                "UPDATE slos SET data_version = data_version + 1 WHERE id IN ({list}) \
                 RETURNING id, data_version"
            );
            let mut query = sqlx::query(&sql);
            for id in part {
                query = query.bind(id.clone());
            }
            for row in query.fetch_all(self.conn()).await? {
                versions.insert(get_id(&row, "id")?, get(&row, "data_version")?);
            }
        }
        Ok(versions)
    }

    /// Adds to minutes of SLOs (what remote write's samples counted), each stamped with
    /// its SLO's data version this write took: `(SLO, version, delta)`, at most one per
    /// SLO and minute.
    pub async fn add_slo_minutes(
        &mut self,
        deltas: &[(SloId, i64, MinuteDelta)],
    ) -> StoreResult<()> {
        let rows: Vec<MinuteRow> = deltas
            .iter()
            .map(|(slo, version, delta)| (*slo, *version, delta.minute, delta.good, delta.total))
            .collect();
        self.upsert_minutes(
            &rows,
            "good = slo_minutes.good + excluded.good, total = slo_minutes.total + excluded.total",
        )
        .await
    }

    /// Writes minute rows, a minute already there changed by `on_conflict` (an SQL
    /// `SET` list over `slo_minutes` and `excluded`) and stamped anew.
    async fn upsert_minutes(&mut self, rows: &[MinuteRow], on_conflict: &str) -> StoreResult<()> {
        for chunk in rows.chunks(MINUTES_PER_STATEMENT) {
            let engine = self.engine();
            let values: Vec<String> = (0..chunk.len())
                .map(|index| format!("({})", engine.placeholders(1 + index * 5, 5)))
                .collect();
            let sql = format!(
                "INSERT INTO slo_minutes (slo_id, minute, good, total, version) VALUES {} \
                 ON CONFLICT (slo_id, minute) DO UPDATE SET {on_conflict}, \
                 version = excluded.version",
                values.join(", ")
            );
            let mut query = sqlx::query(&sql);
            for (slo, version, minute, good, total) in chunk {
                query = query
                    .bind(slo.to_string())
                    .bind(micros(*minute))
                    .bind(*good)
                    .bind(*total)
                    .bind(*version);
            }
            query.execute(self.conn()).await?;
        }
        Ok(())
    }

    /// Adds an SLO; an identifier taken in the project is a conflict.
    pub async fn insert_slo(&mut self, slo: &Slo, sealed: &[u8]) -> StoreResult<()> {
        let (org, project, scope_key) = scope_columns(slo.scope);
        sqlx::query(
            "INSERT INTO slos (id, org_id, project_id, scope_key, identifier, name, service_id, \
             version, definition_sealed, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(slo.id.to_string())
        .bind(org)
        .bind(project)
        .bind(scope_key)
        .bind(slo.identifier.as_str())
        .bind(slo.name.as_str())
        .bind(slo.service_id.to_string())
        .bind(i64::from(slo.version))
        .bind(sealed.to_vec())
        .bind(micros(slo.created_at))
        .bind(micros(slo.updated_at))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Replaces an SLO's name, service and definition if it is still at version `from`;
    /// false when another writer changed it first.
    pub async fn update_slo(&mut self, slo: &Slo, sealed: &[u8], from: u32) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE slos SET name = $2, service_id = $3, version = $4, definition_sealed = $5, \
             updated_at = $6 WHERE id = $1 AND version = $7",
        )
        .bind(slo.id.to_string())
        .bind(slo.name.as_str())
        .bind(slo.service_id.to_string())
        .bind(i64::from(slo.version))
        .bind(sealed.to_vec())
        .bind(micros(slo.updated_at))
        .bind(i64::from(from))
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// When the SLO's next pull is due: `Some` (at once, as a definition naming a pull is
    /// written) or `None` (its definition names none).
    pub async fn set_slo_pull_due(&mut self, id: SloId, due: Option<Timestamp>) -> StoreResult<()> {
        sqlx::query("UPDATE slos SET pull_due_at = $2 WHERE id = $1")
            .bind(id.to_string())
            .bind(due.map(micros))
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Takes the SLO's pull due at `now` and sets the next at `next`; false when it is
    /// not due — another replica took it, it is not time yet, or it pulls no more.
    pub async fn take_slo_pull(
        &mut self,
        id: SloId,
        now: Timestamp,
        next: Timestamp,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE slos SET pull_due_at = $2 \
             WHERE id = $1 AND pull_due_at <= $3",
        )
        .bind(id.to_string())
        .bind(micros(next))
        .bind(micros(now))
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Takes an SLO's open alerts off it — the integration they were raised through and
    /// their names (sorted, comma-joined) — leaving none open and no integration, so the
    /// engine raises what is still wanted afresh (on the SLO's service as it is now).
    /// `None` when none were open. The caller resolves them after committing.
    pub async fn take_slo_alerts(
        &mut self,
        id: SloId,
    ) -> StoreResult<Option<(IntegrationId, String)>> {
        let lock = if self.engine() == crate::Engine::Postgres {
            " FOR UPDATE"
        } else {
            ""
        };
        let sql = format!("SELECT integration_id, alerts_open FROM slos WHERE id = $1{lock}");
        let Some(row) = sqlx::query(&sql)
            .bind(id.to_string())
            .fetch_optional(self.conn())
            .await?
        else {
            return Ok(None);
        };
        let integration: Option<String> = get(&row, "integration_id")?;
        let open: String = get(&row, "alerts_open")?;
        sqlx::query("UPDATE slos SET alerts_open = '', integration_id = NULL WHERE id = $1")
            .bind(id.to_string())
            .execute(self.conn())
            .await?;
        let Some(integration) = integration else {
            return Ok(None);
        };
        if open.is_empty() {
            return Ok(None);
        }
        let integration = rampart_domain::parse_uuid(&integration)
            .map(IntegrationId::from_uuid)
            .ok_or_else(|| StoreError::Corrupt("SLO integration id".into()))?;
        Ok(Some((integration, open)))
    }

    pub async fn delete_slo(&mut self, id: SloId) -> StoreResult<()> {
        sqlx::query("DELETE FROM slo_minutes WHERE slo_id = $1")
            .bind(id.to_string())
            .execute(self.conn())
            .await?;
        sqlx::query("DELETE FROM slo_series WHERE slo_id = $1")
            .bind(id.to_string())
            .execute(self.conn())
            .await?;
        sqlx::query("DELETE FROM slos WHERE id = $1")
            .bind(id.to_string())
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Writes minutes of `slo`, each replacing what was sent for the same minute before
    /// (so sending a minute again is harmless), stamped with the SLO's data `version`
    /// this write took.
    pub async fn put_slo_minutes(
        &mut self,
        slo: SloId,
        version: i64,
        minutes: &[Rollup],
    ) -> StoreResult<()> {
        let rows: Vec<MinuteRow> = minutes
            .iter()
            .map(|minute| (slo, version, minute.minute, minute.good, minute.total))
            .collect();
        self.upsert_minutes(&rows, "good = excluded.good, total = excluded.total")
            .await
    }
}
