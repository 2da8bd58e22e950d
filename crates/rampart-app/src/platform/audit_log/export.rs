//! Export: the whole log (every leaf, the signed checkpoints and consistency proofs
//! between them) or the entries matching a filter (each with an inclusion proof), as
//! NDJSON, or the matching events as CSV.

use rampart_crypto::merkle::{self, Hash, Levels};
use rampart_domain::ErrorCode;
use rampart_domain::Permission;
use rampart_domain::platform::tenancy::Scope;
use rampart_store::{AuditEvent, AuditRecord, PageRequest, StoredCheckpoint};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::hex;
use super::query::{AuditQuery, store_filter};
use crate::{Access, App, AppError, AppResult, Ctx, authorize};

/// The first line of every NDJSON export names its format.
pub const EXPORT_FORMAT: &str = "rampart-audit-export/v1";
/// Rows per store read while exporting.
const EXPORT_BATCH: u64 = 2_000;

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
        /// The event's body: exactly the fields the leaf hash covers.
        event: Box<AuditRecord>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        inclusion: Option<Vec<String>>,
    },
    /// An event whose body retention removed: only its hash remains.
    Pruned { index: u64, leaf_hash: String },
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
                code: ErrorCode::AuditLogEmpty,
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
}

fn entry_line(event: &AuditEvent, inclusion: Option<Vec<String>>) -> ExportLine {
    match &event.record {
        Some(record) => ExportLine::Entry {
            index: event.index,
            leaf_hash: hex(&event.leaf_hash),
            event: Box::new(record.clone()),
            inclusion,
        },
        None => ExportLine::Pruned {
            index: event.index,
            leaf_hash: hex(&event.leaf_hash),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> AuditRecord {
        AuditRecord {
            id: "01a20719-0dcc-7000-a71e-000000000007".into(),
            occurred_at: jiff::Timestamp::from_microsecond(1_795_000_000_123_456).unwrap(),
            actor: Some("user:01a20719-0dcc-738b-a71e-fc7f7b705d26".into()),
            auth_method: Some("token".into()),
            token_id: None,
            client_ip: Some("10.1.2.3".into()),
            org_id: None,
            project_id: None,
            action: "org.create".into(),
            resource_type: "org".into(),
            resource_id: Some("=1+1".into()),
            outcome: "success".into(),
            request_id: None,
            details: "{\"name\":\"a \\\"b\\\",\\n\u{e9}\"}".into(),
        }
    }

    /// The NDJSON and CSV bytes of one event: the offline verifier and every export
    /// already written depend on them.
    #[test]
    fn an_event_exports_to_these_exact_bytes() {
        let event = AuditEvent {
            index: 7,
            leaf_hash: [0xab; 32],
            record: Some(record()),
        };
        let ndjson = String::from_utf8(json_line(&entry_line(&event, None)).unwrap()).unwrap();
        assert_eq!(
            ndjson,
            concat!(
                r#"{"type":"entry","index":7,"leaf_hash":"abababababababababababababababababababababababababababababababab","event":{"id":"01a20719-0dcc-7000-a71e-000000000007","occurred_at":"2026-11-18T11:06:40.123456Z","actor":"user:01a20719-0dcc-738b-a71e-fc7f7b705d26","auth_method":"token","token_id":null,"client_ip":"10.1.2.3","org_id":null,"project_id":null,"action":"org.create","resource_type":"org","resource_id":"=1+1","outcome":"success","request_id":null,"details":"{\"name\":\"a \\\"b\\\",\\né\"}"}}"#,
                "\n"
            )
        );
        let pruned = AuditEvent {
            record: None,
            ..event.clone()
        };
        let ndjson = String::from_utf8(json_line(&entry_line(&pruned, None)).unwrap()).unwrap();
        assert_eq!(
            ndjson,
            concat!(
                r#"{"type":"pruned","index":7,"leaf_hash":"abababababababababababababababababababababababababababababababab"}"#,
                "\n"
            )
        );
        assert_eq!(
            csv_line(7, &record()),
            concat!(
                r#"7,01a20719-0dcc-7000-a71e-000000000007,2026-11-18T11:06:40.123456Z,user:01a20719-0dcc-738b-a71e-fc7f7b705d26,token,,10.1.2.3,,,org.create,org,"'=1+1",success,,"{""name"":""a \""b\"",\né""}""#,
                "\n"
            )
        );
    }

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
