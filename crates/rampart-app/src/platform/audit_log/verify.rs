//! The offline verifier (`rampart admin audit verify`): reads an NDJSON export with the
//! trusted public key and no server, and names what it finds.

use std::borrow::Cow;
use std::io::BufRead;

use jiff::Timestamp;
use rampart_crypto::checkpoint::{Checkpoint, verify_checkpoint};
use rampart_crypto::digest::from_hex;
use rampart_crypto::merkle::{self, Frontier, Hash, verify_consistency, verify_inclusion};
use rampart_store::AuditRecord;
use serde::Deserialize;

use super::export::{EXPORT_FORMAT, ExportLine};

/// Problems listed by the verifier before it only counts.
const PROBLEMS_LISTED_MAX: usize = 100;

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

/// [`AuditRecord`] as an export writes it, borrowed: the same fields in the same order
/// (a test below keeps the two in step), read without an allocation per field.
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
        if expected_index < report.tree_size {
            // The same words as a gap inside the log, with "at the end".
            let last = report.tree_size - 1;
            report.problem(if expected_index == last {
                format!("entry {last} is missing at the end: deleted")
            } else {
                format!("entries {expected_index} to {last} are missing at the end: deleted")
            });
        } else if expected_index > report.tree_size {
            report.problem(format!(
                "the export holds entries up to {}, the log had {}: entries were added",
                expected_index - 1,
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

/// Checks that entries arrive at consecutive positions and names a gap or repeat. After
/// a gap the count resumes at the entry that ends it, so a gap is named once and the
/// entries after it are judged at the positions they were recorded at.
fn check_position(report: &mut VerifyReport, index: u64, expected: &mut u64) {
    if index > *expected {
        let last_missing = index - 1;
        if last_missing == *expected {
            report.problem(format!("entry {last_missing} is missing: deleted"));
        } else {
            report.problem(format!(
                "entries {} to {last_missing} are missing: deleted",
                *expected
            ));
        }
        *expected = index + 1;
        return;
    }
    if index < *expected {
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
    use rampart_crypto::digest::hex;

    use super::*;

    /// `EventRef` must read exactly what an export writes for an [`AuditRecord`]: a field
    /// added to one and not the other fails here (both deny unknown fields).
    #[test]
    fn an_entry_line_reads_back_as_the_record_it_was_written_from() {
        let record = AuditRecord {
            id: "01a20719-0dcc-7000-a71e-000000000003".into(),
            occurred_at: Timestamp::from_microsecond(1_795_000_000_000_000).unwrap(),
            actor: None,
            auth_method: Some("password".into()),
            token_id: None,
            client_ip: Some("::1".into()),
            org_id: Some("01a2078b-8dea-7952-b60e-e0af5598e22b".into()),
            project_id: None,
            action: "auth.login".into(),
            resource_type: "session".into(),
            resource_id: None,
            outcome: "failure".into(),
            request_id: Some("req-1".into()),
            details: "{\"reason\":\"bad \\\"password\\\"\"}".into(),
        };
        let written = ExportLine::Entry {
            index: 3,
            leaf_hash: hex(&record.leaf_hash(3)),
            event: Box::new(record.clone()),
            inclusion: None,
        };
        let line = serde_json::to_string(&written).unwrap();
        assert!(line.starts_with(ENTRY_PREFIX), "{line}");

        let entry: EntryLine = serde_json::from_str(&line).unwrap();
        let occurred_at: Timestamp = entry.event.occurred_at.parse().unwrap();
        assert_eq!(entry.event.to_record(occurred_at), record);
        assert_eq!(entry.event.leaf_hash(3, occurred_at), record.leaf_hash(3));
        assert_eq!(serde_json::from_str::<ExportLine>(&line).unwrap(), written);
    }
}
