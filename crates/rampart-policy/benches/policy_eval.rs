//! Policy evaluation of `../shared/fixtures/tfplan/infracost-terraform_v0.14_plan.json`
//! (417 KB, 26 resource changes) with the ten policies of the OPA differential test
//! (`crates/rampart-cli/tests/fixtures/policies/hcp/`), side by side with OPA in the same
//! run: `scripts/opa_eval.py --bench` evaluates the same modules on the same plan with
//! OPA's Go library in-process (PyPI opa-golib-python-bindings, installed by
//! `scripts/install-test-deps.sh`). Goal: ≤ 10 ms per evaluation and faster than OPA.
//!
//! Three figures for Rampart: the evaluation alone (the plan converted once, as the
//! server does for all the sets of one upload), from a parsed JSON document (conversion
//! included) and from the file's bytes (JSON parsing included — what OPA's figure
//! includes: Python's json.dumps and Go's parse of the input on every call).
//!
//! Run: `cargo bench -p rampart-policy --bench policy_eval`

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::disallowed_methods
)]

use std::hint::black_box;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use rampart_policy::{
    InputContext, InputShape, PolicyInput, PolicyLimits, PolicyModule, PreparedPolicySet,
    RegoSyntax, build_input,
};

const EVALUATIONS: usize = 200;

fn summary(mut timings: Vec<Duration>) -> String {
    timings.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    format!(
        "median {:.3} ms, p90 {:.3} ms, min {:.3} ms",
        ms(timings[timings.len() / 2]),
        ms(timings[timings.len() * 9 / 10 - 1]),
        ms(timings[0])
    )
}

fn time(mut work: impl FnMut()) -> Vec<Duration> {
    work(); // warm-up
    (0..EVALUATIONS)
        .map(|_| {
            let started = Instant::now();
            work();
            started.elapsed()
        })
        .collect()
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let plan_path = root.join("../shared/fixtures/tfplan/infracost-terraform_v0.14_plan.json");
    let policy_dir = root.join("crates/rampart-cli/tests/fixtures/policies/hcp");
    let plan_bytes = std::fs::read(&plan_path).unwrap();
    let mut names: Vec<_> = std::fs::read_dir(&policy_dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "rego"))
        .collect();
    names.sort();
    let modules: Vec<PolicyModule> = names
        .iter()
        .map(|path| PolicyModule {
            path: path.display().to_string(),
            source: std::fs::read_to_string(path).unwrap(),
        })
        .collect();
    let started = Instant::now();
    let set =
        PreparedPolicySet::prepare(RegoSyntax::V1, &modules, PolicyLimits::default()).unwrap();
    let prepare = started.elapsed();
    let plan: serde_json::Value = serde_json::from_slice(&plan_bytes).unwrap();
    let context = InputContext::default();
    let input = PolicyInput::from_json(build_input(InputShape::Hcp, plan.clone(), &context));
    let outcomes = set.evaluate(&input).unwrap();
    let messages: usize = outcomes
        .iter()
        .map(|outcome| outcome.deny.len() + outcome.warn.len())
        .sum();
    println!(
        "{} policies, plan of {} bytes; {messages} messages per evaluation; prepared once in {:.1} ms",
        modules.len(),
        plan_bytes.len(),
        prepare.as_secs_f64() * 1000.0
    );

    let evaluate_only = time(|| {
        black_box(set.evaluate(&input).unwrap());
    });
    println!(
        "rampart, evaluation ({EVALUATIONS}):           {}",
        summary(evaluate_only)
    );
    let from_document = time(|| {
        let input = PolicyInput::from_json(build_input(InputShape::Hcp, plan.clone(), &context));
        black_box(set.evaluate(&input).unwrap());
    });
    println!(
        "rampart, from a JSON document ({EVALUATIONS}): {}",
        summary(from_document)
    );
    let from_bytes = time(|| {
        let plan: serde_json::Value = serde_json::from_slice(&plan_bytes).unwrap();
        let input = PolicyInput::from_json(build_input(InputShape::Hcp, plan, &context));
        black_box(set.evaluate(&input).unwrap());
    });
    println!(
        "rampart, from the file's bytes ({EVALUATIONS}): {}",
        summary(from_bytes)
    );

    let opa = Command::new("python3")
        .arg(root.join("scripts/opa_eval.py"))
        .args(["--bench", &EVALUATIONS.to_string()])
        .arg(&policy_dir)
        .arg(&plan_path)
        .output()
        .unwrap();
    if opa.status.success() {
        let report: serde_json::Value = serde_json::from_slice(&opa.stdout).unwrap();
        println!(
            "OPA (opa-golib-python-bindings, in-process) ({EVALUATIONS}): median {} ms, p90 {} ms, min {} ms",
            report["median_ms"], report["p90_ms"], report["min_ms"]
        );
    } else {
        println!(
            "OPA: not run ({}); scripts/install-test-deps.sh installs it",
            String::from_utf8_lossy(&opa.stderr).trim()
        );
    }
}
