//! `rampart cost estimate`: the real binary prices the shared fixture plans offline (no
//! server, an empty environment), as JSON for scripts and as a table for people.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::cli::rampart;

fn fixture(name: &str) -> String {
    format!(
        "{}/../../../shared/fixtures/tfplan/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

#[test]
fn cost_estimate_prices_a_plan_offline_as_json_and_as_a_table() {
    let plan = fixture("infracost-terraform_v0.14_plan.json");
    let output = rampart(&["cost", "estimate", &plan, "--output", "json"], &[]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let estimate: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    // The figures of the domain's fixture test (arithmetic there): 6 kept t3.nano with
    // their root volumes and an updated db.t3.micro before; plus 6 new t3.nano and a new
    // db.t3.micro after.
    assert_eq!(estimate["currency"], "USD");
    assert_eq!(estimate["prior_monthly"], 40.561);
    assert_eq!(estimate["proposed_monthly"], 76.322);
    assert_eq!(estimate["delta_monthly"], 35.761);
    assert_eq!(estimate["delta_monthly_micros"], 35_761_000);
    assert_eq!(estimate["counts"]["priced"], 14);
    assert_eq!(estimate["counts"]["unpriced"], 0);

    // The table: one line per priced resource, totals rounded to cents, the parts that
    // could not be priced below it.
    let output = rampart(&["cost", "estimate", &plan], &[]);
    assert!(output.status.success());
    let table = String::from_utf8(output.stdout).unwrap();
    assert!(table.contains("on-demand list prices of 20"), "{table}");
    let total = table
        .lines()
        .find(|line| line.starts_with("TOTAL"))
        .unwrap();
    assert_eq!(
        total.split_whitespace().collect::<Vec<_>>(),
        ["TOTAL", "40.56", "76.32", "+35.76"]
    );
    assert!(
        table.contains("module.db.module.db_2.module.db_instance.aws_db_instance.this[0]"),
        "{table}"
    );
    assert!(
        table.contains("root_block_device is known only after apply"),
        "{table}"
    );
    assert!(
        table.contains("12 resources cost nothing by themselves"),
        "{table}"
    );
}

#[test]
fn cost_estimate_lists_what_it_cannot_price_and_reads_standard_input() {
    let plan = std::fs::read(fixture("infracost-azure_firewall_plan.json")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(["cost", "estimate", "-"])
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&plan).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let table = String::from_utf8(output.stdout).unwrap();
    // 2 × 1277.50 + 912.50 + 3.65 (see the domain's fixture test).
    assert!(
        table
            .lines()
            .any(|line| line.split_whitespace().collect::<Vec<_>>()
                == ["TOTAL", "0.00", "3471.15", "+3471.15"]),
        "{table}"
    );
    assert!(
        table.contains("Not priced (3), not in the totals:"),
        "{table}"
    );
    assert!(
        table.contains("azurerm_virtual_hub.example") && table.contains("unknown_type"),
        "{table}"
    );
    assert!(
        table.contains("sku_tier is known only after apply"),
        "{table}"
    );
    assert!(
        table.contains("Usage-based (5), priced by use, not in the totals:"),
        "{table}"
    );
    assert!(table.contains("0.016 USD per GB"), "{table}");
}

#[test]
fn cost_estimate_refuses_what_is_not_a_plan() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("terraform.tfstate");
    std::fs::write(
        &state,
        br#"{"version": 4, "serial": 1, "lineage": "x", "resources": []}"#,
    )
    .unwrap();
    let output = rampart(&["cost", "estimate", state.to_str().unwrap()], &[]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("terraform show -json"), "{stderr}");

    let missing = rampart(&["cost", "estimate", "/nonexistent/plan.json"], &[]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/plan.json"));
}
