//! The policy engine against the real OPA: `rampart policy eval --output json` and OPA
//! (PyPI's opa-golib-python-bindings, run by `scripts/opa_eval.py`) must decide the same
//! `deny` and `warn` for every fixture plan in `../shared/fixtures/tfplan/`, over a corpus
//! of realistic policies (`tests/fixtures/policies/`: comprehensions, `every`, `some … in`,
//! string/regex/json/number-formatting/net/glob/time builtins, old-style `x := a[_]`), in
//! both input shapes. v0-syntax modules are checked against OPA's answers for the same
//! rules in v1 syntax. Then the command's contract: exit statuses, errors with line and
//! column, a runaway policy stopped with `policy_timeout`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_rampart");
const POLICIES: &str = "crates/rampart-cli/tests/fixtures/policies";

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The fixture plans, as paths relative to the workspace root (sorted).
fn fixture_plans() -> Vec<String> {
    let dir = workspace_root().join("../shared/fixtures/tfplan");
    let mut plans: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("{}: {error}", dir.display()))
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".json"))
        .map(|name| format!("../shared/fixtures/tfplan/{name}"))
        .collect();
    plans.sort();
    assert!(plans.len() >= 10, "fixture plans: {plans:?}");
    plans
}

/// `rampart …` run from the workspace root, so paths print as the OPA script prints them.
fn rampart(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(workspace_root())
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .output()
        .unwrap()
}

/// OPA's decisions for `policy_dir` over `plans`: `{plan: {"modules": […]}}`.
fn opa(shape: &str, policy_dir: &str, plans: &[String]) -> Value {
    let root = workspace_root();
    assert!(
        root.join("target/test-deps/opa/opa_bindings").is_dir(),
        "OPA is missing: run scripts/install-test-deps.sh (it unpacks opa-golib-python-bindings \
         into target/test-deps/opa)"
    );
    let output = Command::new("python3")
        .arg("scripts/opa_eval.py")
        .args(["--input-shape", shape, "--rampart", BIN, policy_dir])
        .args(plans)
        .current_dir(&root)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "opa_eval.py: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// `rampart policy eval --output json` for one plan, with its exit status.
fn rampart_eval(shape: &str, syntax: &str, policy_dir: &str, plan: &str) -> (Value, i32) {
    let output = rampart(&[
        "policy",
        "eval",
        "--input",
        plan,
        "--input-shape",
        shape,
        "--rego-syntax",
        syntax,
        "--output",
        "json",
        policy_dir,
    ]);
    let status = output.status.code().unwrap();
    assert!(
        status == 0 || status == 1,
        "{plan}: exit {status}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    (serde_json::from_slice(&output.stdout).unwrap(), status)
}

fn denies(report: &Value) -> bool {
    report["modules"]
        .as_array()
        .unwrap()
        .iter()
        .any(|module| !module["deny"].as_array().unwrap().is_empty())
}

fn message_count(report: &Value) -> usize {
    report["modules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|module| {
            module["deny"].as_array().unwrap().len() + module["warn"].as_array().unwrap().len()
        })
        .sum()
}

#[test]
fn policy_eval_decides_as_opa_on_every_fixture_plan() {
    let plans = fixture_plans();
    let mut compared = 0;
    let mut messages = 0;
    let mut denying_plans = 0;
    for (shape, dir) in [("hcp", "hcp"), ("plan", "plan_shape")] {
        let policy_dir = format!("{POLICIES}/{dir}");
        let expected = opa(shape, &policy_dir, &plans);
        for plan in &plans {
            let (report, status) = rampart_eval(shape, "v1", &policy_dir, plan);
            assert_eq!(
                report, expected[plan],
                "{shape} {plan}: rampart (left) and OPA (right) disagree"
            );
            assert_eq!(status, i32::from(denies(&report)), "{plan}: exit status");
            compared += report["modules"].as_array().unwrap().len();
            messages += message_count(&report);
            denying_plans += usize::from(denies(&report));
        }
    }
    // The corpus must decide something, or agreeing would prove nothing.
    assert!(
        compared >= 12 * plans.len() && messages >= 100 && denying_plans >= 5,
        "compared {compared} module results, {messages} messages, {denying_plans} denying plans"
    );
}

#[test]
fn v0_modules_decide_as_opa_does_for_the_same_rules_in_v1() {
    let plans = fixture_plans();
    let expected = opa("hcp", &format!("{POLICIES}/hcp"), &plans);
    for plan in &plans {
        let (report, _) = rampart_eval("hcp", "v0", &format!("{POLICIES}/v0"), plan);
        for module in report["modules"].as_array().unwrap() {
            let twin = expected[plan]["modules"]
                .as_array()
                .unwrap()
                .iter()
                .find(|other| other["package"] == module["package"])
                .unwrap();
            assert_eq!(
                (&module["deny"], &module["warn"]),
                (&twin["deny"], &twin["warn"]),
                "{plan}: {}",
                module["path"]
            );
        }
    }
    // And one answer written out by hand: the replaced null_resource of terraform-json's
    // action_reason plan.
    let (report, status) = rampart_eval(
        "hcp",
        "v0",
        &format!("{POLICIES}/v0/changes.rego"),
        "../shared/fixtures/tfplan/terraform-json-action_reason-plan.json",
    );
    assert_eq!(status, 1);
    assert_eq!(
        report,
        serde_json::json!({"modules": [{
            "path": format!("{POLICIES}/v0/changes.rego"),
            "package": "terraform.policies.changes",
            "deny": ["null_resource.example would be replaced (replace_because_tainted)"],
            "warn": ["1 resource(s) deleted: null_resource.example",
                     "the plan changes or deletes existing resources"],
        }]})
    );
}

#[test]
fn policy_eval_reports_errors_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let plan = "../shared/fixtures/tfplan/infracost-example_plan.json";
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_owned()
    };
    // A parse error: its file, line and column on stderr.
    let broken = write(
        "broken.rego",
        "package broken\n\ndeny contains msg if {\n  msg := \"x\" +\n}\n",
    );
    let output = rampart(&["policy", "eval", "--input", plan, &broken]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&format!("{broken}:4:7:")), "{stderr}");
    assert!(output.stdout.is_empty());
    // A module that can decide nothing.
    let no_rules = write("lib.rego", "package lib\n\nis_big(x) if x > 10\n");
    let output = rampart(&["policy", "eval", "--input", plan, &no_rules]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("neither a `deny` nor a `warn`"), "{stderr}");
    // A runaway policy is stopped by the time limit.
    let endless = write(
        "endless.rego",
        "package endless\n\ndeny contains \"never\" if {\n  some i in numbers.range(1, 1000000)\n  some j in numbers.range(1, 1000000)\n  i + j < 0\n}\n",
    );
    let started = std::time::Instant::now();
    let output = rampart(&["policy", "eval", "--input", plan, &endless]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("policy_timeout"), "{stderr}");
    assert!(started.elapsed().as_secs() < 30, "{:?}", started.elapsed());
    // A plan that is not JSON.
    let not_json = write("plan.json", "{");
    let output = rampart(&["policy", "eval", "--input", &not_json, &broken]);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn policy_eval_prints_for_people_by_default() {
    let output = rampart(&[
        "policy",
        "eval",
        "--input",
        "../shared/fixtures/tfplan/checkov-tfplan.json",
        &format!("{POLICIES}/hcp/storage.rego"),
        &format!("{POLICIES}/hcp/tags.rego"),
    ]);
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains(&format!(
            "FAIL {POLICIES}/hcp/storage.rego (package terraform.policies.storage)\n  deny: "
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains("\n  deny: aws_s3_bucket.data has the public ACL public-read\n"),
        "{stdout}"
    );
    assert!(
        stdout.ends_with("\n2 module(s): 2 deny, 2 warning(s)\n"),
        "{stdout}"
    );
}
