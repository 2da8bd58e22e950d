//! Cost estimate of `../shared/fixtures/tfplan/infracost-terraform_v0.14_plan.json`
//! (417 KB, 35 resource changes in nested modules; goal ≤ 5 ms per estimate). Times the
//! whole command's work — JSON bytes parsed, plan read, every change priced — and, apart,
//! the pricing of an already parsed plan (what the plan upload and the policy engine pay,
//! since they parse the plan anyway). Reports median, p99 and max.
//!
//! Run: `cargo bench -p rampart-domain --bench cost_estimate`

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::disallowed_methods
)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use rampart_domain::iacm::cost_estimates::{
    PlanView, PriceCatalogue, estimate, estimate_plan_json,
};

const RUNS: usize = 500;

fn report(name: &str, mut times: Vec<Duration>) {
    times.sort();
    let at = |fraction: f64| times[((times.len() - 1) as f64 * fraction) as usize];
    println!(
        "{name:<40} median {:>8.3} ms  p99 {:>8.3} ms  max {:>8.3} ms  ({} runs)",
        at(0.5).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
        times[times.len() - 1].as_secs_f64() * 1e3,
        times.len()
    );
}

fn main() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/tfplan/infracost-terraform_v0.14_plan.json"
    );
    let bytes = std::fs::read(path).unwrap();
    let catalogue = PriceCatalogue::builtin().unwrap();
    // Warm up (and parse the catalogue once, as a running process has).
    for _ in 0..20 {
        black_box(estimate_plan_json(black_box(&bytes)).unwrap());
    }

    let whole: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            black_box(estimate_plan_json(black_box(&bytes)).unwrap());
            start.elapsed()
        })
        .collect();

    let plan: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let priced: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            let view = PlanView::read(black_box(&plan)).unwrap();
            black_box(estimate(&view, catalogue));
            start.elapsed()
        })
        .collect();

    let catalogue_start = Instant::now();
    black_box(PriceCatalogue::parse(include_str!("../src/iacm/price_catalogue.json")).unwrap());
    let catalogue_parse = catalogue_start.elapsed();

    println!("plan: {} bytes", bytes.len());
    report("parse + read + price (417 KB plan)", whole);
    report("read + price (plan already parsed)", priced);
    println!(
        "catalogue parse + check, once per process: {:.3} ms",
        catalogue_parse.as_secs_f64() * 1e3
    );
}
