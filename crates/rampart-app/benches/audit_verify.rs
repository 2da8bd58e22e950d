//! Offline verification speed of a complete audit export (`rampart admin audit verify`):
//! parse every NDJSON line, rebuild each entry's canonical bytes and leaf hash, check it
//! against the recorded hash, fold the tree and compare with two signed checkpoints
//! (half-way and at the end) and the consistency proof between them. Goal: 1 000 000
//! entries in ≤ 3 s.
//!
//! Run: `cargo bench -p rampart-app --bench audit_verify`

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::disallowed_methods
)]

use std::time::Instant;

use jiff::Timestamp;
use rampart_app::platform::audit_log::{EXPORT_FORMAT, ExportLine, verify_export};
use rampart_crypto::checkpoint::{Checkpoint, CheckpointSigner};
use rampart_crypto::digest::hex;
use rampart_crypto::merkle::{Frontier, consistency_proof};
use rampart_store::AuditRecord;

const ENTRIES: u64 = 1_000_000;

fn record(n: u64) -> AuditRecord {
    AuditRecord {
        id: format!("01a20719-0dcc-7{:03x}-a71e-{:012x}", n % 4096, n),
        occurred_at: Timestamp::from_microsecond(1_795_000_000_000_000 + n as i64 * 1_000).unwrap(),
        actor: Some("user:01a20719-0dcc-738b-a71e-fc7f7b705d26".into()),
        auth_method: Some("token".into()),
        token_id: Some("01a20719-0dcc-7ea2-984b-c3d6fceee3b3".into()),
        client_ip: Some("10.1.2.3".into()),
        org_id: Some("01a2078b-8dea-7952-b60e-e0af5598e22b".into()),
        project_id: Some("01a2078b-8dea-79a5-9399-c134d0180be8".into()),
        action: "incident.update".into(),
        resource_type: "incident".into(),
        resource_id: Some(format!("01a2078b-8dea-79a5-9399-{:012x}", n / 7)),
        outcome: "success".into(),
        request_id: Some(format!("req-{n:012}")),
        details: "{\"changed\":[\"status\"]}".into(),
    }
}

fn line(out: &mut Vec<u8>, line: &ExportLine) {
    serde_json::to_writer(&mut *out, line).unwrap();
    out.push(b'\n');
}

/// User + system CPU time of this process so far, in seconds (Linux).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

fn main() {
    let (signer, _) = CheckpointSigner::generate().unwrap();
    let mut leaves = Vec::with_capacity(ENTRIES as usize);
    let mut entries = Vec::with_capacity(ENTRIES as usize * 600);
    for n in 0..ENTRIES {
        let record = record(n);
        let hash = record.leaf_hash(n);
        leaves.push(hash);
        line(
            &mut entries,
            &ExportLine::Entry {
                index: n,
                leaf_hash: hex(&hash),
                event: Box::new(record),
                inclusion: None,
            },
        );
    }
    let mut export = Vec::with_capacity(entries.len() + 4096);
    line(
        &mut export,
        &ExportLine::Header {
            format: EXPORT_FORMAT.into(),
            public_key: hex(&signer.public_key()),
            tree_size: ENTRIES,
            exported_at: "2026-11-23T00:00:00Z".into(),
            complete: true,
        },
    );
    let mut previous = [0u8; 32];
    for size in [ENTRIES / 2, ENTRIES] {
        let mut frontier = Frontier::default();
        for leaf in &leaves[..size as usize] {
            frontier.push(*leaf);
        }
        let checkpoint = Checkpoint {
            tree_size: size,
            root: frontier.root(),
            time_micros: 1_795_000_000_000_000,
            previous,
        };
        line(
            &mut export,
            &ExportLine::Checkpoint {
                tree_size: size,
                root: hex(&checkpoint.root),
                time_micros: checkpoint.time_micros,
                previous: hex(&previous),
                signature: hex(&signer.sign(&checkpoint)),
            },
        );
        previous = checkpoint.hash();
    }
    line(
        &mut export,
        &ExportLine::Consistency {
            from: ENTRIES / 2,
            to: ENTRIES,
            proof: consistency_proof(&leaves, (ENTRIES / 2) as usize)
                .iter()
                .map(|hash| hex(hash))
                .collect(),
        },
    );
    export.extend_from_slice(&entries);
    drop(entries);

    let cpu_before = cpu_seconds();
    let started = Instant::now();
    let report = verify_export(std::io::Cursor::new(&export), &signer.public_key()).unwrap();
    let elapsed = started.elapsed();
    let cpu = cpu_seconds() - cpu_before;
    assert!(report.is_intact(), "{:?}", report.problems);
    assert_eq!(report.entries, ENTRIES);
    println!(
        "verify {ENTRIES} entries ({:.0} MB of NDJSON): {:.2} s ({:.0} entries/s)",
        export.len() as f64 / 1e6,
        elapsed.as_secs_f64(),
        ENTRIES as f64 / elapsed.as_secs_f64()
    );
    println!(
        "CPU time used: {cpu:.2} s on {} cores",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
}
