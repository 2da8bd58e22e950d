//! Audit-log verification speed: recomputing the Merkle root over 1 000 000 entries of
//! audit-record size (the work `audit verify` does before checking a signed checkpoint),
//! and inclusion-proof checks. Goal: 1 000 000 entries in ≤ 3 s.
//!
//! Run: `cargo bench -p rampart-crypto --bench merkle_verify`

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::disallowed_methods
)]

use std::hint::black_box;
use std::time::Instant;

use rampart_crypto::merkle::{Frontier, inclusion_proof, leaf_hash, root, verify_inclusion};

fn main() {
    const ENTRIES: usize = 1_000_000;
    let entries: Vec<String> = (0..ENTRIES)
        .map(|i| {
            format!(
                "{{\"seq\":{i},\"id\":\"01a2{i:028x}\",\"occurred_at\":1795000000{i:06},\"actor\":\"user:01a20719-0dcc-738b-a71e-fc7f7b705d26\",\"auth_method\":\"token\",\"client_ip\":\"127.0.0.1\",\"action\":\"incident.update\",\"resource_type\":\"incident\",\"outcome\":\"success\",\"details\":{{}}}}"
            )
        })
        .collect();
    let bytes: usize = entries.iter().map(String::len).sum();

    let started = Instant::now();
    let mut frontier = Frontier::default();
    for entry in &entries {
        frontier.push(leaf_hash(entry.as_bytes()));
    }
    let head = black_box(frontier.root());
    let elapsed = started.elapsed();
    println!(
        "root over {ENTRIES} entries ({:.0} MB): {:.2} s ({:.0} entries/s)",
        bytes as f64 / 1e6,
        elapsed.as_secs_f64(),
        ENTRIES as f64 / elapsed.as_secs_f64()
    );

    let leaves: Vec<_> = entries
        .iter()
        .take(65_536)
        .map(|e| leaf_hash(e.as_bytes()))
        .collect();
    let small_root = root(&leaves);
    let proofs: Vec<_> = (0..1_000)
        .map(|i| (i * 61, inclusion_proof(&leaves, i * 61)))
        .collect();
    let started = Instant::now();
    for (index, proof) in &proofs {
        assert!(verify_inclusion(
            &leaves[*index],
            *index as u64,
            leaves.len() as u64,
            proof,
            &small_root
        ));
    }
    println!(
        "inclusion proof check (tree of 65 536): {:.1} µs each",
        started.elapsed().as_secs_f64() * 1e6 / proofs.len() as f64
    );
    black_box(head);
}
