//! `rampart policy eval`: the server's policy engine, offline. Finds the `.rego` modules
//! under the given paths, prepares them as one policy set, evaluates it against a plan in
//! the chosen input shape and prints what each module decided (text, or the JSON of the
//! contract in CONTRACTS.md). The exit status is the verdict: see [`Verdict`].

use std::path::{Path, PathBuf};

use anyhow::Context;
use rampart_policy::{
    InputContext, InputShape, ModuleOutcome, PolicyInput, PolicyLimits, PolicyModule,
    PreparedPolicySet, build_input,
};

use crate::cli::{PolicyEvalArgs, PolicyOutputArg};

/// Most `.rego` files one run reads (a directory of policies, not a disk).
const POLICY_FILES_MAX: usize = 1_000;

/// What the modules decided, as the exit status says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Exit 0: no module denies.
    Pass,
    /// Exit 1: at least one module denies.
    Deny,
}

/// Runs `rampart policy eval`. An `Err` is exit 2 (the message goes to stderr).
pub fn run(args: &PolicyEvalArgs) -> anyhow::Result<Verdict> {
    let files = rego_files(&args.paths)?;
    if files.is_empty() {
        anyhow::bail!("no .rego module under the given paths");
    }
    let mut modules = Vec::with_capacity(files.len());
    for file in &files {
        let source =
            std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
        modules.push(PolicyModule {
            path: file.display().to_string(),
            source,
        });
    }
    let plan_bytes =
        std::fs::read(&args.input).with_context(|| format!("reading {}", args.input.display()))?;
    let plan: serde_json::Value = serde_json::from_slice(&plan_bytes)
        .with_context(|| format!("the plan ({}) is not valid JSON", args.input.display()))?;
    let shape = args.input_shape.shape();
    // The hcp shape sees the plan's cost estimate, as on the server: the one given, or
    // the catalogue's estimate of this plan.
    let cost = match (&args.cost, shape) {
        (Some(path), _) => Some(read_json(path, "the cost estimate")?),
        (None, InputShape::Hcp) => Some(
            rampart_domain::iacm::cost_estimates::estimate_plan_json(&plan_bytes)
                .map_err(|error| anyhow::anyhow!("pricing the plan: {error}"))?
                .to_json(),
        ),
        (None, InputShape::Plan) => None,
    };
    let context = InputContext {
        cost,
        ..InputContext::default()
    };
    let set =
        PreparedPolicySet::prepare(args.rego_syntax.syntax(), &modules, PolicyLimits::default())?;
    let input = PolicyInput::from_json(build_input(shape, plan, &context));
    let outcomes = set.evaluate(&input)?;
    match args.output {
        PolicyOutputArg::Json => println!("{}", json_report(&outcomes)?),
        PolicyOutputArg::Text => print!("{}", text_report(&outcomes)),
    }
    Ok(if outcomes.iter().any(ModuleOutcome::denies) {
        Verdict::Deny
    } else {
        Verdict::Pass
    })
}

fn read_json(path: &Path, what: &str) -> anyhow::Result<serde_json::Value> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_slice(&bytes)
        .with_context(|| format!("{what} ({}) is not valid JSON", path.display()))
}

/// The `.rego` files named or found (recursively, sorted, `_test.rego` skipped) under
/// `paths`.
pub(crate) fn rego_files(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for path in paths {
        let metadata =
            std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
        if metadata.is_dir() {
            walk(path, &mut found)?;
        } else {
            found.push(path.clone());
        }
    }
    found.dedup();
    Ok(found)
}

fn walk(dir: &Path, found: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .map(|entry| entry.map(|entry| entry.path()))
        .collect::<Result<_, _>>()
        .with_context(|| format!("reading {}", dir.display()))?;
    entries.sort();
    for entry in entries {
        if entry.is_dir() {
            walk(&entry, found)?;
        } else if let Some(name) = entry.file_name().and_then(|name| name.to_str())
            && name.ends_with(".rego")
            && !name.ends_with("_test.rego")
        {
            if found.len() >= POLICY_FILES_MAX {
                anyhow::bail!("more than {POLICY_FILES_MAX} .rego files under the given paths");
            }
            found.push(entry);
        }
    }
    Ok(())
}

/// The `--output json` document (the contract: scripts read it), fields in this order.
#[derive(serde::Serialize)]
struct Report<'a> {
    modules: Vec<ModuleReport<'a>>,
}

#[derive(serde::Serialize)]
struct ModuleReport<'a> {
    path: &'a str,
    package: &'a str,
    deny: &'a [String],
    warn: &'a [String],
}

/// `{"modules": [{"path", "package", "deny", "warn"}]}`.
fn json_report(outcomes: &[ModuleOutcome]) -> anyhow::Result<String> {
    let report = Report {
        modules: outcomes
            .iter()
            .map(|outcome| ModuleReport {
                path: &outcome.path,
                package: &outcome.package,
                deny: &outcome.deny,
                warn: &outcome.warn,
            })
            .collect(),
    };
    Ok(serde_json::to_string(&report)?)
}

fn text_report(outcomes: &[ModuleOutcome]) -> String {
    let mut text = String::new();
    for outcome in outcomes {
        let verdict = if outcome.denies() { "FAIL" } else { "PASS" };
        text.push_str(&format!(
            "{verdict} {} (package {})\n",
            outcome.path, outcome.package
        ));
        for message in &outcome.deny {
            text.push_str(&format!("  deny: {message}\n"));
        }
        for message in &outcome.warn {
            text.push_str(&format!("  warn: {message}\n"));
        }
    }
    let denying = outcomes.iter().filter(|outcome| outcome.denies()).count();
    let warnings: usize = outcomes.iter().map(|outcome| outcome.warn.len()).sum();
    text.push_str(&format!(
        "{} module(s): {denying} deny, {warnings} warning(s)\n",
        outcomes.len()
    ));
    text
}
