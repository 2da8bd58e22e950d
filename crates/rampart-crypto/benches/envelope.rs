//! Seal/open throughput of the envelope format against raw AES-256-GCM from aws-lc-rs
//! on the same sizes, on one core. The difference is the per-value cost: HKDF for the
//! data key, a fresh salt and nonce, and the associated data.
//!
//! Run: `cargo bench -p rampart-crypto --bench envelope`

#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use rampart_crypto::envelope::{KeyRing, SealContext};

fn measure(mut work: impl FnMut()) -> Duration {
    let mut runs = 0u32;
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(800) || runs < 3 {
        work();
        runs += 1;
    }
    started.elapsed() / runs
}

fn main() {
    let mut ring = KeyRing::default();
    ring.rotate().unwrap();
    let context = SealContext {
        owner: "01a20719-0dcc-738b-a71e-fc7f7b705d26",
        entity_type: "state_version",
        entity_id: "01a20719-0dcc-738b-a71e-fc7f7b705d27",
        field: "body",
        version: 7,
    };
    let raw = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &[7u8; 32]).unwrap());
    println!("| size | raw AES-256-GCM seal | envelope seal | envelope open |");
    println!("|---|---|---|---|");
    for size in [1024usize, 64 * 1024, 1024 * 1024, 20 * 1024 * 1024] {
        let plaintext = vec![0x5au8; size];
        let raw_time = measure(|| {
            let mut buffer = plaintext.clone();
            raw.seal_in_place_append_tag(
                Nonce::assume_unique_for_key([1; 12]),
                Aad::from(b"aad"),
                &mut buffer,
            )
            .unwrap();
            black_box(buffer);
        });
        let sealed = ring.seal(&context, &plaintext).unwrap();
        let seal_time = measure(|| {
            black_box(ring.seal(&context, &plaintext).unwrap());
        });
        let open_time = measure(|| {
            black_box(ring.open(&context, &sealed).unwrap());
        });
        let rate = |time: Duration| {
            let mb_s = size as f64 / time.as_secs_f64() / 1e6;
            format!("{:.1} µs ({mb_s:.0} MB/s)", time.as_secs_f64() * 1e6)
        };
        let label = if size >= 1024 * 1024 {
            format!("{} MiB", size / 1024 / 1024)
        } else {
            format!("{} KiB", size / 1024)
        };
        println!(
            "| {label} | {} | {} | {} |",
            rate(raw_time),
            rate(seal_time),
            rate(open_time)
        );
    }
}
