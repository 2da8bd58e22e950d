//! The tamper-evident audit log above the store: the signing key, signed checkpoints,
//! the query API, export (NDJSON with checkpoints and proofs, or CSV), retention, and the
//! offline verifier that `rampart admin audit verify` runs with no server.
//!
//! Checkpoints are computed from the previous checkpoint's stored frontier plus the
//! leaves appended since, never by re-reading older rows: rewriting old rows in the
//! database cannot change what a later checkpoint signs, so the verifier catches it.

use std::borrow::Cow;
use std::io::BufRead;

use jiff::Timestamp;
use rampart_crypto::checkpoint::{Checkpoint, CheckpointSigner, verify_checkpoint};
use rampart_crypto::digest::from_hex;
pub use rampart_crypto::digest::hex;
use rampart_crypto::merkle::{Frontier, Hash, Levels, verify_consistency, verify_inclusion};
use rampart_crypto::{RootKey, merkle};
use rampart_domain::Permission;
use rampart_domain::platform::tenancy::Scope;
use rampart_store::{
    AuditEvent, AuditFilter, AuditRecord, Page, PageRequest, Store, StoredCheckpoint,
};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::{Access, App, AppError, AppResult, Ctx, authorize};

pub(crate) const SIGNING_KEY_SECRET: &str = "audit_signing_key";
pub(crate) const SIGNING_KEY_PURPOSE: &str = "rampart/audit-signing-key/v1";
/// The first line of every NDJSON export names its format.
pub const EXPORT_FORMAT: &str = "rampart-audit-export/v1";
/// Rows per store read while exporting.
const EXPORT_BATCH: u64 = 2_000;
/// Problems listed by the verifier before it only counts.
const PROBLEMS_LISTED_MAX: usize = 100;
/// Events pruned per statement by the retention sweep.
const PRUNE_BATCH: u32 = 5_000;

/// Loads the log's Ed25519 key (wrapped by the root key), creating it on first start.
pub(crate) async fn load_or_create_signer(
    store: &Store,
    root_key: &RootKey,
    now: Timestamp,
) -> AppResult<CheckpointSigner> {
    for _attempt in 0..2 {
        if let Some(wrapped) = store.server_secret(SIGNING_KEY_SECRET).await? {
            let pkcs8 = root_key.unwrap_key(SIGNING_KEY_PURPOSE, &wrapped)?;
            return Ok(CheckpointSigner::from_pkcs8(&pkcs8)?);
        }
        let (signer, pkcs8) = CheckpointSigner::generate()?;
        let wrapped = root_key.wrap(SIGNING_KEY_PURPOSE, &pkcs8)?;
        let mut tx = store.write().await?;
        tx.insert_server_secret(SIGNING_KEY_SECRET, &wrapped, now)
            .await?;
        let event = Ctx::system()
            .audit(now, "audit.signing_key.create", "audit_signing_key")
            .details(serde_json::json!({ "public_key": hex(&signer.public_key()) }))
            .build();
        match tx.commit(event).await {
            Ok(()) => return Ok(signer),
            // Another replica created it first: read theirs.
            Err(error) if error.is_unique_violation() => continue,
            Err(error) => return Err(error.into()),
        }
    }
    Err(AppError::Internal(
        "the audit signing key could not be loaded".into(),
    ))
}

fn checkpoint_of(stored: &StoredCheckpoint) -> Checkpoint {
    Checkpoint {
        tree_size: stored.tree_size,
        root: stored.root,
        time_micros: stored.signed_at.as_microsecond(),
        previous: stored.previous,
    }
}

/// What the query API returns for one event.
#[derive(Clone, Debug)]
pub struct AuditEventView {
    pub index: u64,
    pub record: AuditRecord,
}

/// The two export formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    Ndjson,
    Csv,
}

/// One NDJSON line of an export.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ExportLine {
    Header {
        format: String,
        /// The log's Ed25519 public key (hex). Informational: the verifier trusts the
        /// key it is given, not this one.
        public_key: String,
        tree_size: u64,
        exported_at: String,
        /// Every leaf from 0 to `tree_size` follows (else only the matching entries,
        /// each with an inclusion proof).
        complete: bool,
    },
    Checkpoint {
        tree_size: u64,
        root: String,
        time_micros: i64,
        previous: String,
        signature: String,
    },
    Consistency {
        from: u64,
        to: u64,
        proof: Vec<String>,
    },
    Entry {
        index: u64,
        leaf_hash: String,
        event: Box<ExportedEvent>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        inclusion: Option<Vec<String>>,
    },
    /// An event whose body retention removed: only its hash remains.
    Pruned { index: u64, leaf_hash: String },
}

/// An event's body in an export: exactly the fields the leaf hash covers.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ExportedEvent {
    pub id: String,
    pub occurred_at: String,
    pub actor: Option<String>,
    pub auth_method: Option<String>,
    pub token_id: Option<String>,
    pub client_ip: Option<String>,
    pub org_id: Option<String>,
    pub project_id: Option<String>,
    pub action: String,
    pub resource_type: String,
    pub resource_id: Option<String>,
    pub outcome: String,
    pub request_id: Option<String>,
    pub details: String,
}

impl ExportedEvent {
    pub fn from_record(record: &AuditRecord) -> Self {
        Self {
            id: record.id.clone(),
            occurred_at: record.occurred_at.to_string(),
            actor: record.actor.clone(),
            auth_method: record.auth_method.clone(),
            token_id: record.token_id.clone(),
            client_ip: record.client_ip.clone(),
            org_id: record.org_id.clone(),
            project_id: record.project_id.clone(),
            action: record.action.clone(),
            resource_type: record.resource_type.clone(),
            resource_id: record.resource_id.clone(),
            outcome: record.outcome.clone(),
            request_id: record.request_id.clone(),
            details: record.details.clone(),
        }
    }
}

/// An entry line read directly (no detour through serde's buffering of internally
/// tagged enums), borrowing its strings from the line where it can: the verifier hashes
/// a million of these and only needs owned records for the few that do not match.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryLine<'a> {
    #[serde(rename = "type", borrow)]
    _type: Cow<'a, str>,
    index: u64,
    #[serde(borrow)]
    leaf_hash: Cow<'a, str>,
    #[serde(borrow)]
    event: EventRef<'a>,
    #[serde(default)]
    inclusion: Option<Vec<String>>,
}

/// [`ExportedEvent`], borrowed.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EventRef<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(borrow)]
    occurred_at: Cow<'a, str>,
    #[serde(borrow)]
    actor: Option<Cow<'a, str>>,
    #[serde(borrow)]
    auth_method: Option<Cow<'a, str>>,
    #[serde(borrow)]
    token_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    client_ip: Option<Cow<'a, str>>,
    #[serde(borrow)]
    org_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    project_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    action: Cow<'a, str>,
    #[serde(borrow)]
    resource_type: Cow<'a, str>,
    #[serde(borrow)]
    resource_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    outcome: Cow<'a, str>,
    #[serde(borrow)]
    request_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    details: Cow<'a, str>,
}

impl EventRef<'_> {
    fn leaf_hash(&self, index: u64, occurred_at: Timestamp) -> Hash {
        merkle::leaf_hash(&rampart_store::platform::audit::canonical_leaf_bytes(
            index,
            &self.id,
            occurred_at.as_microsecond(),
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
        ))
    }

    fn to_record(&self, occurred_at: Timestamp) -> AuditRecord {
        let owned = |value: &Option<Cow<'_, str>>| value.as_deref().map(str::to_owned);
        AuditRecord {
            id: self.id.to_string(),
            occurred_at,
            actor: owned(&self.actor),
            auth_method: owned(&self.auth_method),
            token_id: owned(&self.token_id),
            client_ip: owned(&self.client_ip),
            org_id: owned(&self.org_id),
            project_id: owned(&self.project_id),
            action: self.action.to_string(),
            resource_type: self.resource_type.to_string(),
            resource_id: owned(&self.resource_id),
            outcome: self.outcome.to_string(),
            request_id: owned(&self.request_id),
            details: self.details.to_string(),
        }
    }
}

const ENTRY_PREFIX: &str = "{\"type\":\"entry\",";

/// Filters accepted by the query and export APIs, as text from the caller.
#[derive(Clone, Debug, Default)]
pub struct AuditQuery {
    pub since: Option<String>,
    pub until: Option<String>,
    pub actor: Option<String>,
    pub action: Option<String>,
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    pub outcome: Option<String>,
}

impl AuditQuery {
    fn is_empty(&self) -> bool {
        self.since.is_none()
            && self.until.is_none()
            && self.actor.is_none()
            && self.action.is_none()
            && self.resource_type.is_none()
            && self.resource_id.is_none()
            && self.outcome.is_none()
    }
}

fn parse_time(text: Option<&str>, field: &'static str) -> AppResult<Option<Timestamp>> {
    text.map(|text| {
        text.parse::<Timestamp>().map_err(|_| {
            AppError::bad_request(
                "invalid_time",
                format!("{field} must be an RFC 3339 time such as 2026-01-31T12:00:00Z"),
            )
        })
    })
    .transpose()
}

fn store_filter(query: &AuditQuery, scope: Scope) -> AppResult<AuditFilter> {
    if let Some(outcome) = &query.outcome
        && !matches!(outcome.as_str(), "success" | "failure" | "denied")
    {
        return Err(AppError::bad_request(
            "invalid_outcome",
            "outcome must be success, failure or denied",
        ));
    }
    Ok(AuditFilter {
        since: parse_time(query.since.as_deref(), "since")?,
        until: parse_time(query.until.as_deref(), "until")?,
        actor: query.actor.clone(),
        action: query.action.clone(),
        resource_type: query.resource_type.clone(),
        resource_id: query.resource_id.clone(),
        outcome: query.outcome.clone(),
        org_ids: scope.org_id().map(|org| vec![org.to_string()]),
        project_id: scope.project_id().map(|project| project.to_string()),
    })
}

fn audit_page_request(limit: Option<u32>, cursor: Option<&str>) -> AppResult<PageRequest> {
    let limit = crate::platform::page_limit(limit)?;
    let after = match cursor {
        None | Some("") => None,
        Some(text) => Some(
            text.parse::<u64>()
                .map_err(|_| {
                    AppError::bad_request("invalid_cursor", "cursor is not one this server issued")
                })?
                .to_string(),
        ),
    };
    Ok(PageRequest { after, limit })
}

/// Quotes a CSV field (RFC 4180) and defuses spreadsheet formulas: a field starting with
/// `=`, `+`, `-`, `@`, tab or CR gets a leading apostrophe.
fn csv_field(out: &mut String, value: &str) {
    let formula = value.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let needs_quotes = formula || value.contains([',', '"', '\n', '\r']);
    if needs_quotes {
        out.push('"');
        if formula {
            out.push('\'');
        }
        out.push_str(&value.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(value);
    }
}

const CSV_HEADER: &str = "index,id,occurred_at,actor,auth_method,token_id,client_ip,org_id,\
project_id,action,resource_type,resource_id,outcome,request_id,details\n";

fn csv_line(index: u64, record: &AuditRecord) -> String {
    let mut out = index.to_string();
    let occurred_at = record.occurred_at.to_string();
    for value in [
        Some(record.id.as_str()),
        Some(occurred_at.as_str()),
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
        out.push(',');
        csv_field(&mut out, value.unwrap_or(""));
    }
    out.push('\n');
    out
}

fn json_line(line: &ExportLine) -> AppResult<Vec<u8>> {
    let mut bytes =
        serde_json::to_vec(line).map_err(|error| AppError::Internal(error.to_string()))?;
    bytes.push(b'\n');
    Ok(bytes)
}

fn hexes(hashes: &[Hash]) -> Vec<String> {
    hashes.iter().map(|hash| hex(hash)).collect()
}

impl App {
    /// The log's public key, for verifiers.
    pub fn audit_public_key(&self) -> Vec<u8> {
        self.inner.signer.public_key()
    }

    /// Signs a checkpoint over every event committed so far, unless the newest one
    /// already covers them. Safe to run from several replicas at once.
    pub async fn sign_audit_checkpoint(&self) -> AppResult<Option<StoredCheckpoint>> {
        let mut tx = self.store().write().await?;
        tx.lock_audit_checkpoints().await?;
        let latest = tx.latest_audit_checkpoint().await?;
        let size = tx.audit_tree_size().await?;
        let from = latest.as_ref().map_or(0, |checkpoint| checkpoint.tree_size);
        if size == from {
            tx.rollback().await?;
            return Ok(latest);
        }
        let mut frontier = match &latest {
            None => Frontier::default(),
            Some(checkpoint) => Frontier::from_bytes(&checkpoint.frontier).ok_or_else(|| {
                AppError::Integrity("the stored audit checkpoint frontier does not decode".into())
            })?,
        };
        for (expected, (index, hash)) in (from..).zip(tx.audit_leaf_hashes(from, size).await?) {
            if index != expected {
                return Err(AppError::Integrity(format!(
                    "audit leaf {expected} is missing from the log"
                )));
            }
            frontier.push(hash);
        }
        if frontier.size() != size {
            return Err(AppError::Integrity(format!(
                "the audit log holds {} leaves, the head says {size}",
                frontier.size()
            )));
        }
        let checkpoint = Checkpoint {
            tree_size: size,
            root: frontier.root(),
            time_micros: self.now().as_microsecond(),
            previous: latest
                .as_ref()
                .map_or([0; 32], |stored| checkpoint_of(stored).hash()),
        };
        let stored = StoredCheckpoint {
            tree_size: size,
            root: checkpoint.root,
            signed_at: self.now(),
            previous: checkpoint.previous,
            signature: self.inner.signer.sign(&checkpoint),
            frontier: frontier.to_bytes(),
        };
        // `signed_at` must be exactly the signed time.
        let stored = StoredCheckpoint {
            signed_at: Timestamp::from_microsecond(checkpoint.time_micros)
                .map_err(|error| AppError::Internal(error.to_string()))?,
            ..stored
        };
        tx.insert_audit_checkpoint(&stored).await?;
        tx.commit_audit_machinery().await?;
        Ok(Some(stored))
    }

    /// Audit events at `scope` (account: all; organisation or project: its own),
    /// newest first.
    pub async fn list_audit_events(
        &self,
        ctx: &Ctx,
        scope: Scope,
        query: &AuditQuery,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> AppResult<Page<AuditEventView>> {
        authorize(
            &ctx.actor,
            &ctx.access,
            Access::Permission(Permission::AuditView),
            scope,
        )?;
        let filter = store_filter(query, scope)?;
        let page = audit_page_request(limit, cursor)?;
        let events = self.store().audit_events(&filter, &page).await?;
        Ok(Page {
            items: events
                .items
                .into_iter()
                .filter_map(|event| {
                    event.record.map(|record| AuditEventView {
                        index: event.index,
                        record,
                    })
                })
                .collect(),
            next_cursor: events.next_cursor,
        })
    }

    /// Checks the caller may export at `scope`; the export itself then runs with
    /// [`App::write_audit_export`], possibly in another task.
    pub fn authorize_audit_export(&self, ctx: &Ctx, scope: Scope) -> AppResult<()> {
        authorize(
            &ctx.actor,
            &ctx.access,
            Access::Permission(Permission::AuditExport),
            scope,
        )
    }

    /// Streams an export into `sink`, one line per message. An account-scope export
    /// without filters is complete (every leaf, consistency proofs between checkpoints);
    /// any other carries the matching entries, each with an inclusion proof against the
    /// checkpoint signed for the export. The caller must have passed
    /// [`App::authorize_audit_export`].
    pub async fn write_audit_export(
        &self,
        ctx: &Ctx,
        scope: Scope,
        query: &AuditQuery,
        format: ExportFormat,
        sink: mpsc::Sender<Vec<u8>>,
    ) -> AppResult<()> {
        let filter = store_filter(query, scope)?;
        let complete = scope == Scope::Account && query.is_empty();
        // The export is itself an audited read, recorded before the checkpoint it signs.
        self.store()
            .append_audit(
                &ctx.audit(self.now(), "audit.export", "audit_log")
                    .scope(scope)
                    .details(serde_json::json!({
                        "format": match format {
                            ExportFormat::Ndjson => "ndjson",
                            ExportFormat::Csv => "csv",
                        },
                        "complete": complete,
                        "since": query.since,
                        "until": query.until,
                        "actor": query.actor,
                        "action": query.action,
                        "resource_type": query.resource_type,
                        "resource_id": query.resource_id,
                        "outcome": query.outcome,
                    }))
                    .build(),
            )
            .await?;
        let send = |bytes: Vec<u8>| {
            let sink = sink.clone();
            async move {
                sink.send(bytes)
                    .await
                    .map_err(|_| AppError::Internal("the export reader went away".into()))
            }
        };
        if format == ExportFormat::Csv {
            send(CSV_HEADER.as_bytes().to_vec()).await?;
            let mut page = PageRequest {
                after: None,
                limit: EXPORT_BATCH as u32,
            };
            loop {
                let events = self.store().audit_events(&filter, &page).await?;
                let mut chunk = String::new();
                for event in &events.items {
                    if let Some(record) = &event.record {
                        chunk.push_str(&csv_line(event.index, record));
                    }
                }
                send(chunk.into_bytes()).await?;
                match events.next_cursor {
                    Some(cursor) => page.after = Some(cursor),
                    None => return Ok(()),
                }
            }
        }

        let head = self
            .sign_audit_checkpoint()
            .await?
            .ok_or_else(|| AppError::Conflict {
                code: "audit_log_empty",
                message: "the audit log has no events yet".into(),
            })?;
        let size = head.tree_size;
        send(json_line(&ExportLine::Header {
            format: EXPORT_FORMAT.into(),
            public_key: hex(&self.audit_public_key()),
            tree_size: size,
            exported_at: self.now().to_string(),
            complete,
        })?)
        .await?;
        let checkpoints: Vec<StoredCheckpoint> = self
            .store()
            .audit_checkpoints()
            .await?
            .into_iter()
            .filter(|checkpoint| checkpoint.tree_size <= size)
            .collect();
        for checkpoint in &checkpoints {
            send(json_line(&ExportLine::Checkpoint {
                tree_size: checkpoint.tree_size,
                root: hex(&checkpoint.root),
                time_micros: checkpoint.signed_at.as_microsecond(),
                previous: hex(&checkpoint.previous),
                signature: hex(&checkpoint.signature),
            })?)
            .await?;
        }
        // Proofs come from the leaf hashes as stored now: if those were rewritten, the
        // proofs fail against the signed heads, which is the point.
        let leaves: Vec<Hash> = self
            .store()
            .audit_leaf_hashes(0, size)
            .await?
            .into_iter()
            .map(|(_, hash)| hash)
            .collect();
        for pair in checkpoints.windows(2) {
            if let [older, newer] = pair {
                let (from, to) = (older.tree_size, newer.tree_size);
                let (Ok(from_len), Ok(to_len)) = (usize::try_from(from), usize::try_from(to))
                else {
                    continue;
                };
                let proof = leaves
                    .get(..to_len)
                    .map(|prefix| merkle::consistency_proof(prefix, from_len))
                    .unwrap_or_default();
                send(json_line(&ExportLine::Consistency {
                    from,
                    to,
                    proof: hexes(&proof),
                })?)
                .await?;
            }
        }

        if complete {
            let mut from = 0;
            while from < size {
                let to = (from + EXPORT_BATCH).min(size);
                let mut chunk = Vec::new();
                for event in self.store().audit_events_in(from, to).await? {
                    chunk.extend(json_line(&entry_line(&event, None))?);
                }
                send(chunk).await?;
                from = to;
            }
            return Ok(());
        }

        let levels = Levels::new(leaves);
        let mut page = PageRequest {
            after: None,
            limit: EXPORT_BATCH as u32,
        };
        loop {
            let events = self.store().audit_events(&filter, &page).await?;
            let mut chunk = Vec::new();
            for event in events.items.iter().filter(|event| event.index < size) {
                let proof = usize::try_from(event.index)
                    .map(|index| levels.inclusion_proof(index))
                    .unwrap_or_default();
                chunk.extend(json_line(&entry_line(event, Some(hexes(&proof))))?);
            }
            send(chunk).await?;
            match events.next_cursor {
                Some(cursor) => page.after = Some(cursor),
                None => return Ok(()),
            }
        }
    }

    pub async fn audit_retention(&self, org: &rampart_domain::OrgId) -> AppResult<Option<u32>> {
        Ok(self.store().org_audit_retention(*org).await?)
    }

    /// Sets how many days an organisation's audit events keep their bodies (`None`:
    /// for ever). Pruned events keep their hashes, so exports still verify.
    pub async fn set_audit_retention(
        &self,
        ctx: &Ctx,
        org: rampart_domain::OrgId,
        days: Option<u32>,
    ) -> AppResult<Option<u32>> {
        use rampart_domain::limits::{AUDIT_RETENTION_DAYS_MAX, AUDIT_RETENTION_DAYS_MIN};
        if let Some(days) = days
            && !(AUDIT_RETENTION_DAYS_MIN..=AUDIT_RETENTION_DAYS_MAX).contains(&days)
        {
            return Err(AppError::bad_request(
                "invalid_days",
                format!(
                    "days must be between {AUDIT_RETENTION_DAYS_MIN} and \
                     {AUDIT_RETENTION_DAYS_MAX}, or null to keep events for ever"
                ),
            ));
        }
        let now = self.now();
        let previous = self.store().org_audit_retention(org).await?;
        let mut tx = self.store().write().await?;
        tx.set_org_audit_retention(org, days).await?;
        tx.commit(
            ctx.audit(now, "org.audit_retention.update", "org")
                .scope(Scope::Org(org))
                .resource_id(org)
                .details(serde_json::json!({ "days": days, "previous": previous }))
                .build(),
        )
        .await?;
        Ok(days)
    }

    /// Drops the bodies of events older than each organisation's retention setting,
    /// keeping their hashes. Returns how many were pruned.
    pub async fn prune_audit_log(&self) -> AppResult<u64> {
        let now = self.now();
        let mut pruned = 0;
        for (org_id, days) in self.store().audit_retention_settings().await? {
            let before = now
                .checked_sub(jiff::SignedDuration::from_hours(i64::from(days) * 24))
                .map_err(|error| AppError::Internal(error.to_string()))?;
            loop {
                let count = self
                    .store()
                    .prune_audit_bodies(&org_id, before, PRUNE_BATCH)
                    .await?;
                pruned += count;
                if count < u64::from(PRUNE_BATCH) {
                    break;
                }
            }
        }
        Ok(pruned)
    }
}

fn entry_line(event: &AuditEvent, inclusion: Option<Vec<String>>) -> ExportLine {
    match &event.record {
        Some(record) => ExportLine::Entry {
            index: event.index,
            leaf_hash: hex(&event.leaf_hash),
            event: Box::new(ExportedEvent::from_record(record)),
            inclusion,
        },
        None => ExportLine::Pruned {
            index: event.index,
            leaf_hash: hex(&event.leaf_hash),
        },
    }
}

/// What `verify` found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct VerifyReport {
    pub tree_size: u64,
    pub complete: bool,
    pub entries: u64,
    pub pruned: u64,
    pub checkpoints: u64,
    /// Human-readable findings, each naming the entry or checkpoint concerned. Empty
    /// when the export is intact.
    pub problems: Vec<String>,
    /// Problems found beyond those listed.
    pub problems_not_listed: u64,
}

impl VerifyReport {
    pub fn is_intact(&self) -> bool {
        self.problems.is_empty()
    }

    fn problem(&mut self, text: String) {
        if self.problems.len() < PROBLEMS_LISTED_MAX {
            self.problems.push(text);
        } else {
            self.problems_not_listed += 1;
        }
    }
}

/// Why an export could not be read at all (as opposed to what it shows).
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("line {line}: {message}")]
    Malformed { line: u64, message: String },
    #[error("reading the export: {0}")]
    Io(#[from] std::io::Error),
}

fn hash_from_hex(text: &str, line: u64, what: &str) -> Result<Hash, VerifyError> {
    from_hex(text)
        .and_then(|bytes| Hash::try_from(bytes.as_slice()).ok())
        .ok_or_else(|| VerifyError::Malformed {
            line,
            message: format!("{what} is not a 32-byte hex hash"),
        })
}

fn hashes_from_hex(texts: &[String], line: u64) -> Result<Vec<Hash>, VerifyError> {
    texts
        .iter()
        .map(|text| hash_from_hex(text, line, "a proof element"))
        .collect()
}

/// An entry seen while streaming a complete export.
struct Seen {
    position: u64,
    stored_hash: Hash,
    record: AuditRecord,
}

/// Lines parsed per parallel step of the verifier.
const VERIFY_BATCH: usize = 8_192;

/// An entry line parsed and hashed (at the position it claims) off the main thread.
struct PreparedEntry {
    index: u64,
    stored_hash: Hash,
    id: String,
    /// Kept only when the content does not match the recorded hash (to name what
    /// happened); matching records are dropped on the worker thread.
    mismatched: Option<AuditRecord>,
    hash_at_index: Hash,
    inclusion: Option<Vec<String>>,
}

enum Parsed {
    Entry(Box<PreparedEntry>),
    Line(ExportLine),
}

fn parse_line(number: u64, line: &str) -> Result<Option<Parsed>, VerifyError> {
    if line.trim().is_empty() {
        return Ok(None);
    }
    let malformed = |error: serde_json::Error| VerifyError::Malformed {
        line: number,
        message: format!("not an export line: {error}"),
    };
    if number > 1 && line.starts_with(ENTRY_PREFIX) {
        let entry: EntryLine = serde_json::from_str(line).map_err(malformed)?;
        let stored_hash = hash_from_hex(&entry.leaf_hash, number, "leaf_hash")?;
        let occurred_at: Timestamp =
            entry
                .event
                .occurred_at
                .parse()
                .map_err(|_| VerifyError::Malformed {
                    line: number,
                    message: "occurred_at is not a time".into(),
                })?;
        let hash_at_index = entry.event.leaf_hash(entry.index, occurred_at);
        let matches = hash_at_index == stored_hash;
        let id = if matches {
            String::new()
        } else {
            entry.event.id.to_string()
        };
        return Ok(Some(Parsed::Entry(Box::new(PreparedEntry {
            index: entry.index,
            stored_hash,
            id,
            mismatched: (!matches).then(|| entry.event.to_record(occurred_at)),
            hash_at_index,
            inclusion: entry.inclusion,
        }))));
    }
    Ok(Some(Parsed::Line(
        serde_json::from_str(line).map_err(malformed)?,
    )))
}

/// Parses one batch of numbered lines (on a worker thread, which also frees them).
fn parse_batch(batch: Vec<(u64, String)>) -> Result<Vec<(u64, Parsed)>, VerifyError> {
    let mut out = Vec::with_capacity(batch.len());
    for (number, line) in batch {
        if let Some(parsed) = parse_line(number, &line)? {
            out.push((number, parsed));
        }
    }
    Ok(out)
}

type ParsedBatch = Result<Vec<(u64, Parsed)>, VerifyError>;

/// Verifies an NDJSON export offline with the trusted public key: checkpoint signatures
/// and their chain, consistency between checkpoints, every entry against its recorded
/// hash, and (complete exports) every leaf in order against every checkpoint's root, or
/// (filtered exports) each entry's inclusion proof. Names what it finds: an edited,
/// missing (deleted), inserted or moved (reordered) entry, or a checkpoint that does
/// not match.
pub fn verify_export(
    reader: impl BufRead + Send,
    trusted_public_key: &[u8],
) -> Result<VerifyReport, VerifyError> {
    // A pipeline: one thread reads batches of lines, one worker per core parses and
    // hashes them, and this thread folds the results in order. Every stage runs at
    // once, so the cores stay busy (a million entries is mostly JSON parsing).
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    std::thread::scope(|scope| {
        let (raw_sender, raw_receiver) =
            std::sync::mpsc::sync_channel::<(usize, Vec<(u64, String)>)>(workers * 2);
        let (parsed_sender, parsed_receiver) =
            std::sync::mpsc::sync_channel::<(usize, ParsedBatch)>(workers * 2);
        let raw_receiver = std::sync::Arc::new(std::sync::Mutex::new(raw_receiver));
        let reader_errors = parsed_sender.clone();
        scope.spawn(move || {
            let mut lines = reader.lines();
            let mut number = 0u64;
            for sequence in 0.. {
                let mut batch = Vec::with_capacity(VERIFY_BATCH);
                for line in lines.by_ref().take(VERIFY_BATCH) {
                    number += 1;
                    match line {
                        Ok(line) => batch.push((number, line)),
                        Err(error) => {
                            let _ = reader_errors.send((sequence, Err(VerifyError::Io(error))));
                            return;
                        }
                    }
                }
                // Stop at the end, or when the verifier has given up.
                if batch.is_empty() || raw_sender.send((sequence, batch)).is_err() {
                    return;
                }
            }
        });
        for _ in 0..workers {
            let raw_receiver = raw_receiver.clone();
            let parsed_sender = parsed_sender.clone();
            scope.spawn(move || {
                loop {
                    let next = match raw_receiver.lock() {
                        Ok(receiver) => receiver.recv(),
                        Err(_) => return,
                    };
                    let Ok((sequence, batch)) = next else {
                        return;
                    };
                    if parsed_sender.send((sequence, parse_batch(batch))).is_err() {
                        return;
                    }
                }
            });
        }
        drop(parsed_sender);
        // Put batches back in order as they arrive.
        let mut pending = std::collections::BTreeMap::new();
        let mut next_sequence = 0usize;
        let mut arrivals = parsed_receiver.into_iter();
        let in_order = std::iter::from_fn(move || {
            loop {
                if let Some(batch) = pending.remove(&next_sequence) {
                    next_sequence += 1;
                    return Some(batch);
                }
                let (sequence, batch) = arrivals.next()?;
                pending.insert(sequence, batch);
            }
        });
        verify_batches(in_order, trusted_public_key)
    })
}

fn verify_batches(
    batches: impl Iterator<Item = ParsedBatch>,
    trusted_public_key: &[u8],
) -> Result<VerifyReport, VerifyError> {
    let mut report = VerifyReport::default();
    let mut header_seen = false;
    let mut checkpoints: Vec<Checkpoint> = Vec::new();
    let mut consistency: Vec<(u64, u64, Vec<Hash>)> = Vec::new();
    let mut frontier = Frontier::default();
    let mut next_checkpoint = 0usize;
    let mut expected_index: u64 = 0;
    let mut mismatched: Vec<Seen> = Vec::new();
    let mut partial_entries: Vec<(u64, Hash, Vec<Hash>, u64)> = Vec::new();

    for batch in batches {
        for (number, parsed) in batch? {
            let parsed = match parsed {
                Parsed::Line(line) => line,
                Parsed::Entry(entry) => {
                    if !header_seen {
                        return Err(VerifyError::Malformed {
                            line: number,
                            message: "the first line must be the export header".into(),
                        });
                    }
                    let PreparedEntry {
                        index,
                        stored_hash,
                        id,
                        mismatched: changed,
                        hash_at_index,
                        inclusion,
                    } = *entry;
                    report.entries += 1;
                    if report.complete {
                        let position = expected_index;
                        check_position(&mut report, index, &mut expected_index);
                        // An entry that matches its recorded hash at the index it claims is folded as
                        // recorded (a gap or repeat is reported above, and the checkpoints then
                        // disagree); one that does not is judged at its position.
                        let content_hash = match changed {
                            None => hash_at_index,
                            Some(record) => {
                                let content_hash = record.leaf_hash(position);
                                if content_hash != stored_hash {
                                    mismatched.push(Seen {
                                        position,
                                        stored_hash,
                                        record,
                                    });
                                }
                                content_hash
                            }
                        };
                        push_leaf(
                            &mut report,
                            &mut frontier,
                            content_hash,
                            &checkpoints,
                            &mut next_checkpoint,
                        );
                    } else {
                        if hash_at_index != stored_hash {
                            report.problem(format!(
                                "entry {index} (id {id}): its content does not match its recorded \
                             hash: edited"
                            ));
                        }
                        let proof = hashes_from_hex(&inclusion.unwrap_or_default(), number)?;
                        partial_entries.push((index, hash_at_index, proof, number));
                    }
                    continue;
                }
            };
            match parsed {
                ExportLine::Header {
                    format,
                    public_key,
                    tree_size,
                    complete,
                    ..
                } => {
                    if header_seen || number != 1 {
                        return Err(VerifyError::Malformed {
                            line: number,
                            message: "the header must be the first line, once".into(),
                        });
                    }
                    if format != EXPORT_FORMAT {
                        return Err(VerifyError::Malformed {
                            line: number,
                            message: format!("unknown format {format:?}"),
                        });
                    }
                    header_seen = true;
                    report.tree_size = tree_size;
                    report.complete = complete;
                    if from_hex(&public_key).as_deref() != Some(trusted_public_key) {
                        report.problem(
                            "the export names a different signing key than the trusted one; \
                         checkpoints are checked against the trusted key"
                                .into(),
                        );
                    }
                }
                _ if !header_seen => {
                    return Err(VerifyError::Malformed {
                        line: number,
                        message: "the first line must be the export header".into(),
                    });
                }
                ExportLine::Checkpoint {
                    tree_size,
                    root,
                    time_micros,
                    previous,
                    signature,
                } => {
                    let checkpoint = Checkpoint {
                        tree_size,
                        root: hash_from_hex(&root, number, "root")?,
                        time_micros,
                        previous: hash_from_hex(&previous, number, "previous")?,
                    };
                    let signature = from_hex(&signature).unwrap_or_default();
                    if !verify_checkpoint(trusted_public_key, &checkpoint, &signature) {
                        report.problem(format!(
                            "checkpoint at tree size {tree_size}: the signature does not verify \
                         with the trusted key"
                        ));
                    }
                    let expected_previous = checkpoints.last().map_or([0; 32], Checkpoint::hash);
                    if checkpoint.previous != expected_previous {
                        report.problem(format!(
                            "checkpoint at tree size {tree_size}: it does not chain to the \
                         checkpoint before it (one was removed, inserted or changed)"
                        ));
                    }
                    if checkpoints
                        .last()
                        .is_some_and(|last| last.tree_size >= tree_size)
                    {
                        report
                            .problem(format!("checkpoint at tree size {tree_size}: out of order"));
                    }
                    report.checkpoints += 1;
                    checkpoints.push(checkpoint);
                }
                ExportLine::Consistency { from, to, proof } => {
                    consistency.push((from, to, hashes_from_hex(&proof, number)?));
                }
                ExportLine::Entry { .. } => {
                    // Entry lines are parsed by `parse_line`'s fast path; one that is not in
                    // the canonical field order is not an export this server wrote.
                    return Err(VerifyError::Malformed {
                        line: number,
                        message: "an entry line must start with {\"type\":\"entry\",".into(),
                    });
                }
                ExportLine::Pruned { index, leaf_hash } => {
                    let stored_hash = hash_from_hex(&leaf_hash, number, "leaf_hash")?;
                    report.pruned += 1;
                    if report.complete {
                        check_position(&mut report, index, &mut expected_index);
                        push_leaf(
                            &mut report,
                            &mut frontier,
                            stored_hash,
                            &checkpoints,
                            &mut next_checkpoint,
                        );
                    }
                }
            }
        }
    }
    if !header_seen {
        return Err(VerifyError::Malformed {
            line: 1,
            message: "the export is empty".into(),
        });
    }

    explain_mismatches(&mut report, mismatched);

    let roots: std::collections::HashMap<u64, Hash> = checkpoints
        .iter()
        .map(|checkpoint| (checkpoint.tree_size, checkpoint.root))
        .collect();
    for (from, to, proof) in &consistency {
        let (Some(old_root), Some(new_root)) = (roots.get(from), roots.get(to)) else {
            report.problem(format!(
                "a consistency proof from {from} to {to} names a checkpoint not in the export"
            ));
            continue;
        };
        if !verify_consistency(*from, *to, old_root, new_root, proof) {
            report.problem(format!(
                "the log at size {to} does not extend the log signed at size {from}: \
                 entries before {from} were changed"
            ));
        }
    }

    let head = checkpoints.last().cloned();
    match &head {
        None => report.problem("the export carries no signed checkpoint".into()),
        Some(head) if head.tree_size != report.tree_size => report.problem(format!(
            "the newest checkpoint covers {} entries, the header says {}",
            head.tree_size, report.tree_size
        )),
        Some(_) => {}
    }
    if report.complete {
        if expected_index != report.tree_size {
            report.problem(format!(
                "the export holds {expected_index} entries, the log had {}: entries are missing \
                 at the end",
                report.tree_size
            ));
        }
        if next_checkpoint < checkpoints.len() {
            report.problem(format!(
                "{} checkpoint(s) cover entries the export does not hold",
                checkpoints.len() - next_checkpoint
            ));
        }
    } else if let Some(head) = head {
        for (index, leaf, proof, line) in partial_entries {
            if !verify_inclusion(&leaf, index, head.tree_size, &proof, &head.root) {
                report.problem(format!(
                    "entry {index} (line {line}): not included in the signed log of size {}",
                    head.tree_size
                ));
            }
        }
    }
    Ok(report)
}

/// Checks that entries arrive at consecutive positions and names a gap or repeat.
fn check_position(report: &mut VerifyReport, index: u64, expected: &mut u64) {
    if index > *expected {
        report.problem(format!(
            "entries {} to {} are missing: deleted",
            *expected,
            index - 1
        ));
    } else if index < *expected {
        report.problem(format!(
            "an entry claiming index {index} appears at position {}: inserted or reordered",
            *expected
        ));
    }
    *expected += 1;
}

/// Adds a leaf and compares the root whenever the tree reaches a checkpoint's size.
fn push_leaf(
    report: &mut VerifyReport,
    frontier: &mut Frontier,
    leaf: Hash,
    checkpoints: &[Checkpoint],
    next_checkpoint: &mut usize,
) {
    frontier.push(leaf);
    while let Some(checkpoint) = checkpoints.get(*next_checkpoint) {
        if checkpoint.tree_size > frontier.size() {
            break;
        }
        if checkpoint.tree_size == frontier.size() && checkpoint.root != frontier.root() {
            report.problem(format!(
                "the entries up to {} do not match the checkpoint signed at {} for that size",
                checkpoint.tree_size,
                Timestamp::from_microsecond(checkpoint.time_micros)
                    .map(|time| time.to_string())
                    .unwrap_or_default()
            ));
        }
        *next_checkpoint += 1;
    }
}

/// Names each entry whose content does not match its recorded hash: moved (its content
/// was recorded at another position — reordered or shifted by an insertion) or edited
/// (it matches no recorded position: changed or forged).
fn explain_mismatches(report: &mut VerifyReport, mismatched: Vec<Seen>) {
    let positions: Vec<u64> = mismatched.iter().map(|seen| seen.position).collect();
    for seen in &mismatched {
        let candidates = positions
            .iter()
            .copied()
            .chain([seen.position.saturating_sub(1), seen.position + 1])
            .filter(|candidate| *candidate != seen.position);
        let recorded_at = candidates
            .take(PROBLEMS_LISTED_MAX * 4)
            .find(|candidate| seen.record.leaf_hash(*candidate) == seen.stored_hash);
        match recorded_at {
            Some(original) => report.problem(format!(
                "entry {} (id {}) was recorded at position {original}: reordered or shifted",
                seen.position, seen.record.id
            )),
            None => report.problem(format!(
                "entry {} (id {}): its content does not match its recorded hash: edited or \
                 inserted",
                seen.position, seen.record.id
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        let mut out = String::new();
        csv_field(&mut out, "=HYPERLINK(\"x\")");
        assert_eq!(out, "\"'=HYPERLINK(\"\"x\"\")\"");
        let mut out = String::new();
        csv_field(&mut out, "a,b");
        assert_eq!(out, "\"a,b\"");
        let mut out = String::new();
        csv_field(&mut out, "plain");
        assert_eq!(out, "plain");
    }
}
