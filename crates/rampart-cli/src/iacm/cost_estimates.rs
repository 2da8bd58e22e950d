//! `rampart cost estimate PLAN.json [--output json]`: prices a plan offline with the
//! catalogue compiled into the binary (`rampart_domain::iacm::cost_estimates`). `json`
//! prints the estimate's stable shape (what policies see as `input.cost`); the table is
//! for people and rounds to cents.

use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result, bail};
use rampart_domain::iacm::cost_estimates::{CostEstimate, Micros, estimate_plan_json};

use crate::cli::OutputFormat;

/// The largest plan JSON the command reads (a plan of tens of thousands of resources is
/// a few hundred MB at most).
pub const PLAN_JSON_BYTES_MAX: u64 = 512 * 1024 * 1024;

fn read_plan(path: &Path) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    let limit = PLAN_JSON_BYTES_MAX + 1;
    if path == Path::new("-") {
        std::io::stdin()
            .take(limit)
            .read_to_end(&mut bytes)
            .context("reading the plan from standard input")?;
    } else {
        std::fs::File::open(path)
            .and_then(|file| file.take(limit).read_to_end(&mut bytes))
            .with_context(|| format!("reading {}", path.display()))?;
    }
    if bytes.len() as u64 > PLAN_JSON_BYTES_MAX {
        bail!("the plan is larger than {PLAN_JSON_BYTES_MAX} bytes");
    }
    Ok(bytes)
}

/// Runs the command.
pub fn estimate(plan: &Path, output: OutputFormat) -> Result<()> {
    let bytes = read_plan(plan)?;
    let estimate = estimate_plan_json(&bytes).with_context(|| format!("{}", plan.display()))?;
    match output {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&estimate.to_json())?),
        OutputFormat::Table => print!("{}", table(&estimate)),
    }
    Ok(())
}

fn signed_cents(amount: Micros) -> String {
    let text = amount.to_cents_string();
    if amount.0 > 0 {
        format!("+{text}")
    } else {
        text
    }
}

fn aligned(rows: &[Vec<String>], right_aligned_from: usize) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or_default();
    let widths: Vec<usize> = (0..columns)
        .map(|column| {
            rows.iter()
                .filter_map(|row| row.get(column))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or_default()
        })
        .collect();
    let mut text = String::new();
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(column, (cell, width))| {
                if column >= right_aligned_from {
                    format!("{cell:>width$}")
                } else {
                    format!("{cell:<width$}")
                }
            })
            .collect();
        text.push_str(cells.join("  ").trim_end());
        text.push('\n');
    }
    text
}

/// The estimate for people: priced resources, totals, then what is not counted.
pub fn table(estimate: &CostEstimate) -> String {
    let cents =
        |amount: Option<Micros>| amount.map_or_else(|| "-".to_owned(), Micros::to_cents_string);
    let mut rows = vec![vec![
        "ADDRESS".to_owned(),
        "ACTION".to_owned(),
        "REGION".to_owned(),
        "PRIOR".to_owned(),
        "PROPOSED".to_owned(),
        "DELTA".to_owned(),
    ]];
    let mut free = 0_usize;
    for resource in &estimate.resources {
        if resource.free {
            free += 1;
            continue;
        }
        let partial = if resource.unpriced_parts.is_empty() {
            ""
        } else {
            " *"
        };
        rows.push(vec![
            format!("{}{partial}", resource.address),
            resource.action.as_str().to_owned(),
            resource.region.clone().unwrap_or_default(),
            cents(resource.prior_monthly),
            cents(resource.proposed_monthly),
            signed_cents(resource.delta_monthly()),
        ]);
    }
    rows.push(vec![
        "TOTAL".to_owned(),
        String::new(),
        String::new(),
        estimate.prior_monthly.to_cents_string(),
        estimate.proposed_monthly.to_cents_string(),
        signed_cents(estimate.delta_monthly()),
    ]);
    let mut text = format!(
        "Monthly cost estimate, {} (on-demand list prices of {}; 730 hours a month)\n\n",
        estimate.currency, estimate.catalogue_date
    );
    text.push_str(&aligned(&rows, 3));
    if free > 0 {
        let (noun, verb) = if free == 1 {
            ("resource costs nothing by itself", "is")
        } else {
            ("resources cost nothing by themselves", "are")
        };
        text.push_str(&format!(
            "\n{free} {noun} (IAM, networks, random values) and {verb} not shown.\n"
        ));
    }
    let partial: Vec<String> = estimate
        .resources
        .iter()
        .flat_map(|resource| {
            resource.unpriced_parts.iter().map(move |part| {
                format!(
                    "  * {} {}: {}",
                    resource.address, part.component, part.problem.detail
                )
            })
        })
        .collect();
    if !partial.is_empty() {
        text.push_str("\nParts not priced (not in the totals):\n");
        text.push_str(&partial.join("\n"));
        text.push('\n');
    }
    if !estimate.unpriced.is_empty() {
        text.push_str(&format!(
            "\nNot priced ({}), not in the totals:\n",
            estimate.unpriced.len()
        ));
        let rows: Vec<Vec<String>> = estimate
            .unpriced
            .iter()
            .map(|resource| {
                vec![
                    format!("  {}", resource.address),
                    resource
                        .action
                        .map_or("?", |action| action.as_str())
                        .to_owned(),
                    resource.problem.reason.as_str().to_owned(),
                    resource.problem.detail.clone(),
                ]
            })
            .collect();
        text.push_str(&aligned(&rows, usize::MAX));
    }
    if !estimate.usage_based.is_empty() {
        text.push_str(&format!(
            "\nUsage-based ({}), priced by use, not in the totals:\n",
            estimate.usage_based.len()
        ));
        let rows: Vec<Vec<String>> = estimate
            .usage_based
            .iter()
            .map(|usage| {
                vec![
                    format!("  {}", usage.address),
                    usage.name.clone(),
                    format!(
                        "{} {} per {}",
                        usage.unit_price, estimate.currency, usage.unit
                    ),
                ]
            })
            .collect();
        text.push_str(&aligned(&rows, usize::MAX));
    }
    text
}
