//! The audit log: one row per event, each a leaf of an RFC 6962 Merkle tree, and the
//! signed checkpoints over it.
//!
//! Every write transaction commits with at least one record (see `WriteTx::commit`);
//! authentication attempts and denials, which change nothing else, are appended on their
//! own with [`Store::append_audit`] (or many at once with [`Store::append_audit_batch`]).
//!
//! Leaf positions come from one counter row, `audit_log_head`, updated in the same
//! transaction as the events: the row lock (PostgreSQL) or the writer lock (SQLite) is
//! held until commit, so positions are gap-free and follow commit order — a reader never
//! sees leaf 7 committed before leaf 6. The leaf hash is computed here, from
//! [`AuditRecord::leaf_bytes`], so no caller can store a body and a hash that disagree.

use jiff::Timestamp;
use rampart_crypto::merkle::{Hash, leaf_hash};
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;

use crate::platform::{Page, PageRequest};
use crate::rows::{get, get_flag, get_timestamp, micros};
use crate::{Store, StoreError, StoreResult, WriteTx};

/// One audit record as stored. The app layer builds it; the details are a small JSON
/// object that never contains secret values.
///
/// This is the one shape of an event's body: the query API returns it, an export writes
/// it (serde, fields in this order, `occurred_at` as RFC 3339 text) and the offline
/// verifier reads it back — exactly the fields the leaf hash covers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditRecord {
    pub id: String,
    #[serde(with = "rfc3339")]
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

/// `occurred_at` in an export: the timestamp's RFC 3339 text (`Timestamp`'s `Display`).
mod rfc3339 {
    use jiff::Timestamp;
    use serde::{Deserialize, Deserializer, Serializer, de};

    pub(super) fn serialize<S: Serializer>(time: &Timestamp, out: S) -> Result<S::Ok, S::Error> {
        out.collect_str(time)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(input: D) -> Result<Timestamp, D::Error> {
        String::deserialize(input)?
            .parse()
            .map_err(de::Error::custom)
    }
}

const LEAF_FORMAT: &[u8] = b"rampart-audit-leaf/v1\n";

/// The canonical bytes of an audit record at leaf `index`: a format tag, the index, then
/// every field length-prefixed (absent and empty differ), in a fixed order — id, time,
/// then `texts` in [`AuditRecord`]'s field order from `actor` to `details`. The position
/// is part of the leaf, so a record moved elsewhere no longer matches its hash. An
/// offline verifier rebuilds exactly these bytes from an export.
pub fn canonical_leaf_bytes(
    index: u64,
    id: &str,
    occurred_at_micros: i64,
    texts: [Option<&str>; 12],
) -> Vec<u8> {
    fn text(out: &mut Vec<u8>, value: Option<&str>) {
        match value {
            None => out.push(0),
            Some(value) => {
                out.push(1);
                out.extend_from_slice(&(value.len() as u64).to_be_bytes());
                out.extend_from_slice(value.as_bytes());
            }
        }
    }
    let size: usize = texts.iter().flatten().map(|t| t.len() + 9).sum();
    let mut out = Vec::with_capacity(64 + id.len() + size);
    out.extend_from_slice(LEAF_FORMAT);
    out.extend_from_slice(&index.to_be_bytes());
    text(&mut out, Some(id));
    out.extend_from_slice(&occurred_at_micros.to_be_bytes());
    for value in texts {
        text(&mut out, value);
    }
    out
}

impl AuditRecord {
    /// The canonical bytes of this record at leaf `index` ([`canonical_leaf_bytes`]).
    pub fn leaf_bytes(&self, index: u64) -> Vec<u8> {
        canonical_leaf_bytes(
            index,
            &self.id,
            self.occurred_at.as_microsecond(),
            [
                self.actor.as_deref(),
                self.auth_method.as_deref(),
                self.token_id.as_deref(),
                self.client_ip.as_deref(),
                self.org_id.as_deref(),
                self.project_id.as_deref(),
                Some(&self.action),
                Some(&self.resource_type),
                self.resource_id.as_deref(),
                Some(&self.outcome),
                self.request_id.as_deref(),
                Some(&self.details),
            ],
        )
    }

    /// The Merkle leaf hash of this record at `index`.
    pub fn leaf_hash(&self, index: u64) -> Hash {
        leaf_hash(&self.leaf_bytes(index))
    }
}

/// A stored event: its leaf position and hash, and its body unless retention pruned it.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    pub index: u64,
    pub leaf_hash: Hash,
    /// `None` once pruned: the hash stays, the body is gone.
    pub record: Option<AuditRecord>,
}

/// A signed tree head as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredCheckpoint {
    pub tree_size: u64,
    pub root: Hash,
    pub signed_at: Timestamp,
    pub previous: Hash,
    pub signature: Vec<u8>,
    /// `rampart_crypto::merkle::Frontier::to_bytes` at `tree_size`.
    pub frontier: Vec<u8>,
}

/// Filters of the audit query API. Every field narrows; `org_ids` (when set) limits the
/// events to those organisations (a caller who is not an account admin sees only the
/// organisations it may audit).
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
    pub actor: Option<String>,
    pub action: Option<String>,
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    pub outcome: Option<String>,
    pub org_ids: Option<Vec<String>>,
    pub project_id: Option<String>,
}

const EVENT_COLUMNS: &str = "leaf_index, leaf_hash, pruned, id, occurred_at, actor, \
     auth_method, token_id, client_ip, org_id, project_id, action, resource_type, \
     resource_id, outcome, request_id, details";

fn to_index(value: i64, column: &str) -> StoreResult<u64> {
    u64::try_from(value).map_err(|_| StoreError::Corrupt(format!("column {column} is negative")))
}

fn to_hash(bytes: Vec<u8>, column: &str) -> StoreResult<Hash> {
    Hash::try_from(bytes.as_slice())
        .map_err(|_| StoreError::Corrupt(format!("column {column} is not a SHA-256 hash")))
}

fn from_index(value: u64) -> StoreResult<i64> {
    i64::try_from(value).map_err(|_| StoreError::Internal("leaf index out of range".into()))
}

/// Reserves `count` leaf positions and returns the first. Holds the head row's lock (or,
/// on SQLite, runs under the writer lock) until the transaction ends.
async fn reserve(connection: &mut sqlx::AnyConnection, count: usize) -> StoreResult<u64> {
    let count = i64::try_from(count).map_err(|_| StoreError::Internal("batch too big".into()))?;
    let row = sqlx::query(
        "UPDATE audit_log_head SET next_index = next_index + $1 WHERE id = 1 \
         RETURNING next_index",
    )
    .bind(count)
    .fetch_one(connection)
    .await?;
    to_index(get::<i64>(&row, "next_index")? - count, "next_index")
}

/// The batch insert: one statement whose only parameter is a JSON array with one array
/// per event, unpacked by the database. Measured with sqlx's SQLite driver, this is
/// several times faster than multi-row VALUES (whose binding cost grows with the square
/// of the parameter count) or one statement per row (a round trip each).
const INSERT_FROM_JSON_SQLITE: &str = "WITH rows AS MATERIALIZED \
     (SELECT key, jsonb(value) AS v FROM json_each($1)) \
     INSERT INTO audit_events (leaf_index, leaf_hash, id, \
     occurred_at, actor, auth_method, token_id, client_ip, org_id, project_id, action, \
     resource_type, resource_id, outcome, request_id, details) \
     SELECT v ->> 0, unhex(v ->> 1), v ->> 2, v ->> 3, v ->> 4, v ->> 5, v ->> 6, \
     v ->> 7, v ->> 8, v ->> 9, v ->> 10, v ->> 11, v ->> 12, v ->> 13, v ->> 14, v ->> 15 \
     FROM rows ORDER BY key";
const INSERT_FROM_JSON_POSTGRES: &str = "INSERT INTO audit_events (leaf_index, leaf_hash, id, \
     occurred_at, actor, auth_method, token_id, client_ip, org_id, project_id, action, \
     resource_type, resource_id, outcome, request_id, details) \
     SELECT CAST(value ->> 0 AS BIGINT), decode(value ->> 1, 'hex'), value ->> 2, \
     CAST(value ->> 3 AS BIGINT), value ->> 4, value ->> 5, value ->> 6, value ->> 7, \
     value ->> 8, value ->> 9, value ->> 10, value ->> 11, value ->> 12, value ->> 13, \
     value ->> 14, value ->> 15 FROM jsonb_array_elements(CAST($1 AS JSONB)) WITH ORDINALITY \
     AS rows (value, position) ORDER BY position";
/// Events per insert statement.
const INSERT_BATCH: usize = 1_000;

fn json_text(out: &mut String, value: Option<&str>) {
    match value {
        None => out.push_str("null"),
        Some(text) => out.push_str(&serde_json::Value::from(text).to_string()),
    }
}

pub(crate) async fn append(
    connection: &mut sqlx::AnyConnection,
    engine: crate::Engine,
    records: &[AuditRecord],
) -> StoreResult<()> {
    if records.is_empty() {
        return Ok(());
    }
    let first = reserve(connection, records.len()).await?;
    let sql = match engine {
        crate::Engine::Sqlite => INSERT_FROM_JSON_SQLITE,
        crate::Engine::Postgres => INSERT_FROM_JSON_POSTGRES,
    };
    let mut index = first;
    for chunk in records.chunks(INSERT_BATCH) {
        let mut rows = String::with_capacity(chunk.len() * 512);
        rows.push('[');
        for (n, record) in chunk.iter().enumerate() {
            if n > 0 {
                rows.push(',');
            }
            rows.push('[');
            rows.push_str(&index.to_string());
            rows.push_str(",\"");
            rows.push_str(&rampart_crypto::digest::hex(&record.leaf_hash(index)));
            rows.push_str("\",");
            json_text(&mut rows, Some(&record.id));
            rows.push(',');
            rows.push_str(&micros(record.occurred_at).to_string());
            for value in [
                record.actor.as_deref(),
                record.auth_method.as_deref(),
                record.token_id.as_deref(),
                record.client_ip.as_deref(),
                record.org_id.as_deref(),
                record.project_id.as_deref(),
                Some(record.action.as_str()),
                Some(record.resource_type.as_str()),
                record.resource_id.as_deref(),
                Some(record.outcome.as_str()),
                record.request_id.as_deref(),
                Some(record.details.as_str()),
            ] {
                rows.push(',');
                json_text(&mut rows, value);
            }
            rows.push(']');
            index += 1;
        }
        rows.push(']');
        sqlx::query(sql)
            .bind(rows)
            .execute(&mut *connection)
            .await?;
    }
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

fn event_from(row: &AnyRow) -> StoreResult<AuditEvent> {
    let index = to_index(get::<i64>(row, "leaf_index")?, "leaf_index")?;
    let leaf_hash = to_hash(get::<Vec<u8>>(row, "leaf_hash")?, "leaf_hash")?;
    let record = if get_flag(row, "pruned")? {
        None
    } else {
        Some(record_from(row)?)
    };
    Ok(AuditEvent {
        index,
        leaf_hash,
        record,
    })
}

fn checkpoint_from(row: &AnyRow) -> StoreResult<StoredCheckpoint> {
    Ok(StoredCheckpoint {
        tree_size: to_index(get::<i64>(row, "tree_size")?, "tree_size")?,
        root: to_hash(get(row, "root_hash")?, "root_hash")?,
        signed_at: get_timestamp(row, "signed_at")?,
        previous: to_hash(get(row, "previous_hash")?, "previous_hash")?,
        signature: get(row, "signature")?,
        frontier: get(row, "frontier")?,
    })
}

async fn tree_size<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(
    executor: E,
) -> StoreResult<u64> {
    let row = sqlx::query("SELECT next_index FROM audit_log_head WHERE id = 1")
        .fetch_one(executor)
        .await?;
    to_index(get::<i64>(&row, "next_index")?, "next_index")
}

async fn leaf_hashes<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(
    executor: E,
    from: u64,
    to: u64,
) -> StoreResult<Vec<(u64, Hash)>> {
    let rows = sqlx::query(
        "SELECT leaf_index, leaf_hash FROM audit_events \
         WHERE leaf_index >= $1 AND leaf_index < $2 ORDER BY leaf_index",
    )
    .bind(from_index(from)?)
    .bind(from_index(to)?)
    .fetch_all(executor)
    .await?;
    rows.iter()
        .map(|row| {
            Ok((
                to_index(get::<i64>(row, "leaf_index")?, "leaf_index")?,
                to_hash(get(row, "leaf_hash")?, "leaf_hash")?,
            ))
        })
        .collect()
}

async fn latest_checkpoint<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(
    executor: E,
) -> StoreResult<Option<StoredCheckpoint>> {
    let sql = format!(
        "SELECT {CHECKPOINT_COLUMNS} FROM audit_checkpoints ORDER BY tree_size DESC LIMIT 1"
    );
    sqlx::query(&sql)
        .fetch_optional(executor)
        .await?
        .as_ref()
        .map(checkpoint_from)
        .transpose()
}

const CHECKPOINT_COLUMNS: &str =
    "tree_size, root_hash, signed_at, previous_hash, signature, frontier";

impl Store {
    /// Appends a record that accompanies no other change (a failed login, a denial).
    pub async fn append_audit(&self, record: &AuditRecord) -> StoreResult<()> {
        self.append_audit_batch(std::slice::from_ref(record)).await
    }

    /// Appends many records in one transaction (one fsync, one counter update): the
    /// path for high-volume events such as successful authentications.
    pub async fn append_audit_batch(&self, records: &[AuditRecord]) -> StoreResult<()> {
        let mut tx = self.write().await?;
        let engine = tx.engine();
        append(tx.conn(), engine, records).await?;
        tx.tx.commit().await?;
        Ok(())
    }

    /// The number of leaves committed so far.
    pub async fn audit_tree_size(&self) -> StoreResult<u64> {
        tree_size(self.pool()).await
    }

    /// Events matching `filter`, newest first; the cursor is a leaf index.
    pub async fn audit_events(
        &self,
        filter: &AuditFilter,
        page: &PageRequest,
    ) -> StoreResult<Page<AuditEvent>> {
        enum Param {
            Text(String),
            Number(i64),
        }
        let mut params: Vec<Param> = Vec::new();
        let mut conditions: Vec<String> =
            vec!["pruned = 0".into(), "leaf_index IS NOT NULL".into()];
        for (column, value) in [
            ("actor", &filter.actor),
            ("action", &filter.action),
            ("resource_type", &filter.resource_type),
            ("resource_id", &filter.resource_id),
            ("outcome", &filter.outcome),
            ("project_id", &filter.project_id),
        ] {
            if let Some(value) = value {
                params.push(Param::Text(value.clone()));
                conditions.push(format!("{column} = ${}", params.len()));
            }
        }
        if let Some(org_ids) = &filter.org_ids {
            if org_ids.is_empty() {
                return Ok(Page {
                    items: Vec::new(),
                    next_cursor: None,
                });
            }
            let mut placeholders = Vec::new();
            for org in org_ids {
                params.push(Param::Text(org.clone()));
                placeholders.push(format!("${}", params.len()));
            }
            conditions.push(format!("org_id IN ({})", placeholders.join(", ")));
        }
        let cursor = page
            .after
            .as_deref()
            .map(|after| {
                after
                    .parse::<i64>()
                    .map_err(|_| StoreError::Internal("audit cursor is not a leaf index".into()))
            })
            .transpose()?;
        for (condition, value) in [
            ("occurred_at >=", filter.since.map(micros)),
            ("occurred_at <", filter.until.map(micros)),
            ("leaf_index <", cursor),
        ] {
            if let Some(value) = value {
                params.push(Param::Number(value));
                conditions.push(format!("{condition} ${}", params.len()));
            }
        }
        params.push(Param::Number(page.overfetch()));
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM audit_events WHERE {} \
             ORDER BY leaf_index DESC LIMIT ${}",
            conditions.join(" AND "),
            params.len()
        );
        let mut query = sqlx::query(&sql);
        for param in params {
            query = match param {
                Param::Text(text) => query.bind(text),
                Param::Number(number) => query.bind(number),
            };
        }
        let rows = query.fetch_all(self.pool()).await?;
        let events = rows
            .iter()
            .map(event_from)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Page::from_overfetch(events, page.limit, |event| {
            event.index.to_string()
        }))
    }

    /// The most recent records, newest first (tests and diagnostics).
    pub async fn recent_audit(&self, limit: u32) -> StoreResult<Vec<AuditRecord>> {
        let page = self
            .audit_events(&AuditFilter::default(), &PageRequest { after: None, limit })
            .await?;
        Ok(page
            .items
            .into_iter()
            .filter_map(|event| event.record)
            .collect())
    }

    /// Events with leaf index in `from..to`, in leaf order (export and verification).
    /// Rows are returned as stored, so an export shows tampering rather than hiding it.
    pub async fn audit_events_in(&self, from: u64, to: u64) -> StoreResult<Vec<AuditEvent>> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM audit_events \
             WHERE leaf_index >= $1 AND leaf_index < $2 ORDER BY leaf_index"
        );
        let rows = sqlx::query(&sql)
            .bind(from_index(from)?)
            .bind(from_index(to)?)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(event_from).collect()
    }

    /// Leaf hashes with index in `from..to`, in order, as stored.
    pub async fn audit_leaf_hashes(&self, from: u64, to: u64) -> StoreResult<Vec<(u64, Hash)>> {
        leaf_hashes(self.pool(), from, to).await
    }

    /// The newest signed checkpoint.
    pub async fn latest_audit_checkpoint(&self) -> StoreResult<Option<StoredCheckpoint>> {
        latest_checkpoint(self.pool()).await
    }

    /// Every checkpoint, oldest first.
    pub async fn audit_checkpoints(&self) -> StoreResult<Vec<StoredCheckpoint>> {
        let sql = format!("SELECT {CHECKPOINT_COLUMNS} FROM audit_checkpoints ORDER BY tree_size");
        let rows = sqlx::query(&sql).fetch_all(self.pool()).await?;
        rows.iter().map(checkpoint_from).collect()
    }

    /// Drops the bodies of an organisation's events older than `before`, keeping their
    /// leaf hashes. Returns how many were pruned. A batch at a time, so a long backlog
    /// does not hold the writer for long.
    pub async fn prune_audit_bodies(
        &self,
        org_id: &str,
        before: Timestamp,
        batch: u32,
    ) -> StoreResult<u64> {
        let _writer = self.writer_guard().await;
        let result = sqlx::query(
            "UPDATE audit_events SET pruned = 1, actor = NULL, auth_method = NULL, \
             token_id = NULL, client_ip = NULL, project_id = NULL, action = '', \
             resource_type = '', resource_id = NULL, outcome = '', request_id = NULL, \
             details = '{}' \
             WHERE leaf_index IN (SELECT leaf_index FROM audit_events \
               WHERE org_id = $1 AND occurred_at < $2 AND pruned = 0 \
               AND leaf_index IS NOT NULL LIMIT $3)",
        )
        .bind(org_id)
        .bind(micros(before))
        .bind(i64::from(batch))
        .execute(self.pool())
        .await?;
        Ok(result.rows_affected())
    }

    /// Organisations with an audit retention setting, as (org id, days).
    pub async fn audit_retention_settings(&self) -> StoreResult<Vec<(String, u32)>> {
        let rows = sqlx::query(
            "SELECT id, audit_retention_days FROM organizations \
             WHERE audit_retention_days IS NOT NULL",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                let days: i64 = get(row, "audit_retention_days")?;
                Ok((
                    get(row, "id")?,
                    u32::try_from(days).map_err(|_| {
                        StoreError::Corrupt("audit_retention_days out of range".into())
                    })?,
                ))
            })
            .collect()
    }
}

/// Serialises checkpoint signing across replicas (PostgreSQL advisory lock number).
const POSTGRES_CHECKPOINT_LOCK: i64 = 0x0052_4d50_4155_4449;

impl WriteTx {
    /// Takes the checkpoint lock for this transaction (PostgreSQL; SQLite's writer lock
    /// already serialises).
    pub async fn lock_audit_checkpoints(&mut self) -> StoreResult<()> {
        if self.engine() == crate::Engine::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(POSTGRES_CHECKPOINT_LOCK)
                .execute(self.conn())
                .await?;
        }
        Ok(())
    }

    pub async fn latest_audit_checkpoint(&mut self) -> StoreResult<Option<StoredCheckpoint>> {
        latest_checkpoint(self.conn()).await
    }

    pub async fn audit_tree_size(&mut self) -> StoreResult<u64> {
        tree_size(self.conn()).await
    }

    pub async fn audit_leaf_hashes(&mut self, from: u64, to: u64) -> StoreResult<Vec<(u64, Hash)>> {
        leaf_hashes(self.conn(), from, to).await
    }

    pub async fn insert_audit_checkpoint(
        &mut self,
        checkpoint: &StoredCheckpoint,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO audit_checkpoints (tree_size, root_hash, signed_at, previous_hash, \
             signature, frontier) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(from_index(checkpoint.tree_size)?)
        .bind(checkpoint.root.to_vec())
        .bind(micros(checkpoint.signed_at))
        .bind(checkpoint.previous.to_vec())
        .bind(checkpoint.signature.clone())
        .bind(checkpoint.frontier.clone())
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Commits without an event of its own: only for writes that are themselves part of
    /// the audit machinery (a checkpoint), whose auditing would grow the tree they sign.
    pub async fn commit_audit_machinery(self) -> StoreResult<()> {
        self.tx.commit().await?;
        Ok(())
    }
}

/// Assigns leaf positions to events written before the log became a tree (migration 4),
/// in their original order. Runs at start, before anything else is appended.
pub(crate) async fn backfill_leaves(store: &Store) -> StoreResult<u64> {
    let mut tx = store.write().await?;
    let sql = "SELECT seq, id, occurred_at, actor, auth_method, token_id, client_ip, org_id, \
               project_id, action, resource_type, resource_id, outcome, request_id, details \
               FROM audit_events WHERE leaf_index IS NULL ORDER BY seq";
    let rows = sqlx::query(sql).fetch_all(tx.conn()).await?;
    if rows.is_empty() {
        return Ok(0);
    }
    let first = reserve(tx.conn(), rows.len()).await?;
    for (offset, row) in rows.iter().enumerate() {
        let record = record_from(row)?;
        let index = first + offset as u64;
        sqlx::query("UPDATE audit_events SET leaf_index = $1, leaf_hash = $2 WHERE seq = $3")
            .bind(from_index(index)?)
            .bind(record.leaf_hash(index).to_vec())
            .bind(get::<i64>(row, "seq")?)
            .execute(tx.conn())
            .await?;
    }
    tx.tx.commit().await?;
    Ok(rows.len() as u64)
}
