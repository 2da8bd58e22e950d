//! The policy engine: validate and prepare a set of Rego modules once, evaluate it many
//! times, each evaluation bounded in time and memory.
//!
//! A *policy set* is a list of modules in one Rego syntax (v1 by default, v0 when the set
//! declares it). [`PreparedPolicySet::prepare`] parses every module (errors carry the
//! parser's line and column), requires each to declare a `deny` or a `warn` rule, runs
//! regorus' analysis once (rule dependencies, scheduling, loop hoisting), and refuses a
//! call to a function that does not exist, with its line and column ([`crate::calls`]:
//! regorus itself looks a function up only when it calls it). The
//! prepared engine is then cloned for every evaluation — a clone shares the parsed and
//! analysed modules — so nothing is parsed or analysed twice.
//!
//! What a module decides is read from its package's `deny` and `warn` documents, as
//! conftest and HCP Terraform do: a set or an array of messages (strings; any other value
//! is rendered as compact JSON), `true` (one message naming the rule) or `false`;
//! an undefined or empty `deny` passes. Messages are sorted.
//!
//! Limits ([`PolicyLimits`]):
//! - **Time**: regorus' cooperative execution timer, checked every few interpreter steps
//!   (statements, loop iterations, rule evaluations); past the limit the evaluation
//!   returns [`PolicyError::Timeout`] on the caller's thread — no thread is left running.
//! - **Memory**: regorus counts live heap bytes through its vendored mimalloc (the
//!   `allocator-memory-limits` feature makes it the process's allocator) and checks a
//!   ceiling at the same kind of points and inside the builtins that build large values
//!   (`net.cidr_expand`, `concat`, …). The ceiling is process-wide, so
//!   evaluations take turns ([`MEMORY_GATE`]): each sets the ceiling to the live bytes at
//!   its start plus its budget, and lifts it when done. Evaluations last milliseconds;
//!   one that would not is stopped by its time limit.
//!   Both checks are cooperative: a single builtin call can overshoot before the next
//!   check. regorus' own `numbers.range`/`numbers.range_step` reserve their whole result
//!   before checking, and a span too large to map (about 5 × 10¹² elements) would abort
//!   the process; they are replaced by checked versions ([`crate::range`], regorus
//!   extensions, OPA's semantics) that refuse, before allocating, a range whose elements
//!   (24 bytes each) do not fit in what is left of the budget — the evaluation then stops
//!   with [`PolicyError::MemoryExceeded`]. regorus' `sprintf` pads to every width of its
//!   format string (up to 4 × 10⁹ characters each) with no check inside the call, so a few
//!   widths would exhaust memory; it is replaced too ([`crate::sprintf`], OPA's
//!   formatting: Go's `fmt`), and refuses, before writing it, any piece that would take its result
//!   (counted twice: the buffer and the string kept) past what is left of the budget.
//! - No network: regorus is built without its `http` feature, so `http.send` is an
//!   unknown function and a module calling it does not validate ([`crate::calls`]).

use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

use regorus::utils::limits::ExecutionTimerConfig;
use regorus::{Engine, LimitError, Value as RegoValue};

/// Default time limit of one evaluation of a policy set (every module).
pub const EVALUATION_TIME_MAX_DEFAULT: Duration = Duration::from_secs(2);
/// Default memory budget of one evaluation: live heap bytes beyond those at its start.
pub const EVALUATION_MEMORY_BYTES_MAX_DEFAULT: u64 = 256 * 1024 * 1024;
/// Interpreter steps between two reads of the clock. A step is microseconds at most,
/// so the limit is overshot by far less than a millisecond.
const TIMER_CHECK_INTERVAL_STEPS: u32 = 32;
/// Largest module source accepted, in bytes.
pub const MODULE_BYTES_MAX: usize = 512 * 1024;
/// Most modules in one policy set.
pub const MODULES_PER_SET_MAX: usize = 500;

/// Evaluations take turns under the process-wide memory ceiling (see the module doc).
static MEMORY_GATE: Mutex<()> = Mutex::new(());

/// The Rego syntax a policy set is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RegoSyntax {
    /// Rego v0 (OPA before 1.0: `deny[msg] { … }`, no `if`/`contains` required).
    V0,
    /// Rego v1 (OPA 1.x's default: `deny contains msg if { … }`).
    #[default]
    V1,
}

impl RegoSyntax {
    /// The name users write (`v0`, `v1`).
    pub fn as_str(self) -> &'static str {
        match self {
            RegoSyntax::V0 => "v0",
            RegoSyntax::V1 => "v1",
        }
    }

    /// Parses the name users write; `None` for anything else.
    pub fn parse(name: &str) -> Option<RegoSyntax> {
        match name {
            "v0" => Some(RegoSyntax::V0),
            "v1" => Some(RegoSyntax::V1),
            _ => None,
        }
    }
}

/// One Rego module: where it comes from (a file path, or the module's name in a policy
/// set; unique within the set) and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyModule {
    pub path: String,
    pub source: String,
}

/// Bounds of one evaluation of a policy set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PolicyLimits {
    /// Wall-clock time for every module of the set together.
    pub evaluation_time_max: Duration,
    /// Heap bytes the evaluation may hold beyond those live when it starts.
    pub evaluation_memory_bytes_max: u64,
}

impl Default for PolicyLimits {
    fn default() -> Self {
        PolicyLimits {
            evaluation_time_max: EVALUATION_TIME_MAX_DEFAULT,
            evaluation_memory_bytes_max: EVALUATION_MEMORY_BYTES_MAX_DEFAULT,
        }
    }
}

/// What one module decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleOutcome {
    /// The module's path, as given.
    pub path: String,
    /// Its package, without `data.` (`terraform.policies.tags`).
    pub package: String,
    /// Messages of its package's `deny`, sorted; empty passes.
    pub deny: Vec<String>,
    /// Messages of its package's `warn`, sorted.
    pub warn: Vec<String>,
}

impl ModuleOutcome {
    /// Whether the module denies.
    pub fn denies(&self) -> bool {
        !self.deny.is_empty()
    }
}

/// Why a policy set could not be prepared or evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// A module does not parse or compile: line and column of the parser, 1-based (0 and
    /// 0 when regorus names no place, e.g. a module over the size limit of its parser).
    #[error("{path}:{line}:{column}: {message}")]
    Invalid {
        path: String,
        line: u32,
        column: u32,
        message: String,
    },
    /// A module declares neither `deny` nor `warn`: it could never decide anything.
    #[error(
        "{path}: the module declares neither a `deny` nor a `warn` rule, so it can decide nothing"
    )]
    NoDecisionRule { path: String },
    /// Two modules of one set have the same path, or a set has no or too many modules.
    #[error("{0}")]
    InvalidSet(String),
    /// The evaluation ran past its time limit and was stopped.
    #[error("policy_timeout: the evaluation ran longer than {limit_ms} ms and was stopped")]
    Timeout { limit_ms: u64 },
    /// The evaluation held more memory than its budget, or called a builtin whose result
    /// would not fit in what was left of it (a huge `numbers.range`, a `sprintf` with huge
    /// widths), and was stopped.
    #[error(
        "policy_memory_exceeded: the evaluation needed more than {limit_bytes} bytes of memory and was stopped"
    )]
    MemoryExceeded { limit_bytes: u64 },
    /// Evaluating a module failed (a conflict between rule values, a builtin's error…).
    #[error("{path}: evaluation failed: {message}")]
    Evaluation { path: String, message: String },
}

impl PolicyError {
    /// A stable snake_case code for this error, for the API's error body and scripts.
    pub fn code(&self) -> &'static str {
        match self {
            PolicyError::Invalid { .. } => "policy_invalid",
            PolicyError::NoDecisionRule { .. } => "policy_without_decision",
            PolicyError::InvalidSet(_) => "policy_set_invalid",
            PolicyError::Timeout { .. } => "policy_timeout",
            PolicyError::MemoryExceeded { .. } => "policy_memory_exceeded",
            PolicyError::Evaluation { .. } => "policy_evaluation_failed",
        }
    }
}

/// The input document of evaluations, converted once to the engine's value type (a plan
/// of megabytes is converted once and shared by every set evaluated against it).
#[derive(Debug, Clone)]
pub struct PolicyInput(RegoValue);

impl PolicyInput {
    /// Converts a JSON document (usually [`crate::build_input`]'s result).
    pub fn from_json(document: serde_json::Value) -> PolicyInput {
        let _turn = take_turn();
        PolicyInput(RegoValue::from(document))
    }
}

#[derive(Debug, Clone)]
struct PreparedModule {
    path: String,
    package: String,
    /// `data.<package>.deny` when some module of the package declares it.
    deny_rule: Option<String>,
    warn_rule: Option<String>,
}

/// A validated, analysed policy set, ready to evaluate. Cheap to share (`Send + Sync`):
/// evaluations clone the prepared engine and never change it.
#[derive(Debug, Clone)]
pub struct PreparedPolicySet {
    engine: Engine,
    modules: Vec<PreparedModule>,
    limits: PolicyLimits,
}

impl PreparedPolicySet {
    /// Validates (parse + compile) and prepares `modules`, written in `syntax`.
    /// The first problem found is returned; [`PreparedPolicySet::validate_module`] checks
    /// one module alone.
    pub fn prepare(
        syntax: RegoSyntax,
        modules: &[PolicyModule],
        limits: PolicyLimits,
    ) -> Result<PreparedPolicySet, PolicyError> {
        if modules.is_empty() {
            return Err(PolicyError::InvalidSet(
                "a policy set needs at least one module".to_owned(),
            ));
        }
        if modules.len() > MODULES_PER_SET_MAX {
            return Err(PolicyError::InvalidSet(format!(
                "a policy set holds at most {MODULES_PER_SET_MAX} modules"
            )));
        }
        // regorus checks the process-wide memory ceiling in everything it does (parsing
        // too), so preparing takes its turn like an evaluation.
        let _turn = take_turn();
        let mut engine = Engine::new();
        engine.set_rego_v0(syntax == RegoSyntax::V0);
        // Builtin errors make the expression undefined, as in OPA's default (non-strict).
        engine.set_strict_builtin_errors(false);
        // Before any module: a compiled policy keeps the extensions it was compiled with.
        crate::range::install(&mut engine, limits.evaluation_memory_bytes_max)
            .and_then(|()| crate::sprintf::install(&mut engine, limits.evaluation_memory_bytes_max))
            .map_err(|error| PolicyError::Evaluation {
                path: String::new(),
                message: format!("the policy engine could not be set up: {error:#}"),
            })?;
        let mut prepared = Vec::with_capacity(modules.len());
        for module in modules {
            if prepared
                .iter()
                .any(|seen: &PreparedModule| seen.path == module.path)
            {
                return Err(PolicyError::InvalidSet(format!(
                    "two modules have the path {}",
                    module.path
                )));
            }
            if module.source.len() > MODULE_BYTES_MAX {
                return Err(PolicyError::Invalid {
                    path: module.path.clone(),
                    line: 1,
                    column: 1,
                    message: format!("the module is larger than {MODULE_BYTES_MAX} bytes"),
                });
            }
            let package = engine
                .add_policy(module.path.clone(), module.source.clone())
                .map_err(|error| invalid(&module.path, &error))?;
            let package = package.strip_prefix("data.").unwrap_or(&package).to_owned();
            let declares = |rule: &str| {
                engine
                    .has_declared_rule_rooted_at(&module.path, rule)
                    .map_err(|error| invalid(&module.path, &error))
            };
            let (deny, warn) = (declares("deny")?, declares("warn")?);
            if !deny && !warn {
                return Err(PolicyError::NoDecisionRule {
                    path: module.path.clone(),
                });
            }
            prepared.push(PreparedModule {
                path: module.path.clone(),
                deny_rule: deny.then(|| format!("data.{package}.deny")),
                warn_rule: warn.then(|| format!("data.{package}.warn")),
                package,
            });
        }
        // Modules of one package share its documents: a module reads the package's `deny`
        // and `warn` when any module of the package declares them.
        let declared: Vec<(String, Option<String>, Option<String>)> = prepared
            .iter()
            .map(|module| {
                let same_package = prepared
                    .iter()
                    .filter(|other| other.package == module.package);
                let deny = same_package
                    .clone()
                    .find_map(|other| other.deny_rule.clone());
                let warn = same_package
                    .into_iter()
                    .find_map(|other| other.warn_rule.clone());
                (module.path.clone(), deny, warn)
            })
            .collect();
        for (module, (_, deny, warn)) in prepared.iter_mut().zip(declared) {
            module.deny_rule = deny;
            module.warn_rule = warn;
        }
        // Analysis (unsafe variables, rule conflicts, scheduling) runs
        // here, once; clones of the engine share its result.
        let entry: regorus::Rc<str> = prepared
            .first()
            .and_then(|module| module.deny_rule.as_ref().or(module.warn_rule.as_ref()))
            .map(|rule| regorus::Rc::from(rule.as_str()))
            .unwrap_or_else(|| regorus::Rc::from("data"));
        if let Err(failure) = with_limits(&mut engine, limits, |engine| {
            engine
                .compile_with_entrypoint(&entry)
                .map_err(|error| Failure::new("", error))
        }) {
            let path = module_named_in(&failure.error, modules)
                .or_else(|| modules.first().map(|module| module.path.clone()))
                .unwrap_or_default();
            return Err(invalid(&path, &failure.error));
        }
        // regorus looks a called function up only when it calls it; an unknown one is
        // refused here, as OPA's compiler does, rather than at the first evaluation.
        let paths: Vec<&str> = modules.iter().map(|module| module.path.as_str()).collect();
        let unknown =
            crate::calls::find_unknown_call(engine.get_modules(), &paths).map_err(|error| {
                PolicyError::Evaluation {
                    path: String::new(),
                    message: format!("the policy engine could not check the calls: {error:#}"),
                }
            })?;
        if let Some(call) = unknown {
            return Err(PolicyError::Invalid {
                message: call.message(),
                path: call.path,
                line: call.line,
                column: call.column,
            });
        }
        Ok(PreparedPolicySet {
            engine,
            modules: prepared,
            limits,
        })
    }

    /// Validates one module on its own (what saving a module checks): parse, compile and
    /// the presence of a `deny` or `warn` rule. Returns its package.
    pub fn validate_module(
        syntax: RegoSyntax,
        module: &PolicyModule,
    ) -> Result<String, PolicyError> {
        let set = PreparedPolicySet::prepare(
            syntax,
            std::slice::from_ref(module),
            PolicyLimits::default(),
        )?;
        Ok(set
            .modules
            .first()
            .map(|module| module.package.clone())
            .unwrap_or_default())
    }

    /// The limits every evaluation of this set runs under.
    pub fn limits(&self) -> PolicyLimits {
        self.limits
    }

    /// The modules' paths and packages, in the order given.
    pub fn modules(&self) -> impl Iterator<Item = (&str, &str)> {
        self.modules
            .iter()
            .map(|module| (module.path.as_str(), module.package.as_str()))
    }

    /// Evaluates every module against `input`, in the order given, on a clone of the
    /// prepared engine, under the set's limits (for all modules together).
    pub fn evaluate(&self, input: &PolicyInput) -> Result<Vec<ModuleOutcome>, PolicyError> {
        self.evaluate_timed(input, &|| 0)
            .map(|timed| timed.into_iter().map(|(outcome, _)| outcome).collect())
    }

    /// [`PreparedPolicySet::evaluate`], with the time each module took by `clock`
    /// (microseconds; the caller's clock, since this crate takes time from its caller
    /// like the rest of Rampart). A module's time is that of reading its `deny` and
    /// `warn`: rules it shares with modules read before it were already computed and
    /// count for them.
    pub fn evaluate_timed(
        &self,
        input: &PolicyInput,
        clock: &dyn Fn() -> u64,
    ) -> Result<Vec<(ModuleOutcome, u64)>, PolicyError> {
        let _turn = take_turn();
        let mut engine = self.engine.clone();
        engine.set_input(input.0.clone());
        let limits = self.limits;
        with_limits(&mut engine, limits, |engine| {
            let mut outcomes = Vec::with_capacity(self.modules.len());
            for module in &self.modules {
                let started = clock();
                let mut read = |rule: &Option<String>| match rule {
                    Some(rule) => engine
                        .eval_rule(rule.clone())
                        .map(|value| messages(&value, rule))
                        .map_err(|error| Failure::new(&module.path, error)),
                    None => Ok(Vec::new()),
                };
                let deny = read(&module.deny_rule)?;
                let warn = read(&module.warn_rule)?;
                outcomes.push((
                    ModuleOutcome {
                        path: module.path.clone(),
                        package: module.package.clone(),
                        deny,
                        warn,
                    },
                    clock().saturating_sub(started),
                ));
            }
            Ok(outcomes)
        })
        .map_err(|failure| failure.into_policy_error(limits))
    }
}

/// An evaluation's error, with the module it happened in.
struct Failure {
    path: String,
    error: anyhow::Error,
}

impl Failure {
    fn new(path: &str, error: anyhow::Error) -> Failure {
        Failure {
            path: path.to_owned(),
            error,
        }
    }

    fn into_policy_error(self, limits: PolicyLimits) -> PolicyError {
        match limit_error(&self.error) {
            Some(LimitError::TimeLimitExceeded { .. }) => PolicyError::Timeout {
                limit_ms: u64::try_from(limits.evaluation_time_max.as_millis()).unwrap_or(u64::MAX),
            },
            Some(LimitError::MemoryLimitExceeded { .. }) => PolicyError::MemoryExceeded {
                limit_bytes: limits.evaluation_memory_bytes_max,
            },
            _ => PolicyError::Evaluation {
                path: self.path,
                message: evaluation_message(&self.error),
            },
        }
    }
}

/// The limit regorus reports having hit, if that is what stopped it.
fn limit_error(error: &anyhow::Error) -> Option<LimitError> {
    error
        .chain()
        .find_map(|cause| cause.downcast_ref::<LimitError>().copied())
}

/// Waits for this thread's turn under the process-wide memory ceiling (see the module
/// doc); the ceiling is lifted while the turn is held and outside [`with_limits`].
pub(crate) fn take_turn() -> std::sync::MutexGuard<'static, ()> {
    // A poisoned gate only means another turn panicked; the ceiling is lifted by every
    // `with_limits` before it returns, so the gate's state is still sound.
    MEMORY_GATE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Runs `work` on `engine` under `limits` (the caller holds the turn): the execution timer on the engine, and the
/// process-wide memory ceiling set to the live bytes now plus the budget, for as long as
/// `work` runs.
fn with_limits<T>(
    engine: &mut Engine,
    limits: PolicyLimits,
    work: impl FnOnce(&mut Engine) -> Result<T, Failure>,
) -> Result<T, Failure> {
    engine.set_execution_timer_config(ExecutionTimerConfig {
        limit: limits.evaluation_time_max,
        check_interval: NonZeroU32::new(TIMER_CHECK_INTERVAL_STEPS).unwrap_or(NonZeroU32::MIN),
    });
    let live_bytes = regorus_mimalloc::global_allocation_stats_snapshot().allocated;
    let ceiling_bytes = live_bytes.saturating_add(limits.evaluation_memory_bytes_max);
    regorus::set_global_memory_limit(Some(ceiling_bytes));
    // Only a refusal made during this turn counts.
    let _ = crate::range::take_refusal();
    // A panic inside regorus (a bug there) must neither leave the ceiling set for the
    // next turn nor take the caller's thread down: it becomes an evaluation error.
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(engine)));
    regorus::set_global_memory_limit(None);
    // A refused range stops the evaluation, whatever regorus made of the call's error
    // (text, or nothing when another body of the same function answered): a result
    // computed without that range is not the policy's.
    if let Some(refusal) = crate::range::take_refusal() {
        return Err(Failure::new(
            "",
            anyhow::Error::new(LimitError::MemoryLimitExceeded {
                usage: live_bytes
                    .saturating_add(u64::try_from(refusal.needed_bytes).unwrap_or(u64::MAX)),
                limit: ceiling_bytes,
            }),
        ));
    }
    result.unwrap_or_else(|_| {
        Err(Failure::new(
            "",
            anyhow::anyhow!("the policy engine failed unexpectedly (a panic in regorus)"),
        ))
    })
}

/// A parse or compile error of `path`, with the line and column regorus names
/// (`--> path:LINE:COLUMN` in its message; 0 and 0 when it names none).
fn invalid(path: &str, error: &anyhow::Error) -> PolicyError {
    let text = format!("{error:#}");
    let (line, column) = text
        .lines()
        .find_map(|line| line.trim_start().strip_prefix("--> "))
        .and_then(|location| {
            let mut parts = location.rsplitn(3, ':');
            let column = parts.next()?.trim().parse().ok()?;
            let line = parts.next()?.trim().parse().ok()?;
            Some((line, column))
        })
        .unwrap_or((0, 0));
    PolicyError::Invalid {
        path: path.to_owned(),
        line,
        column,
        message: last_line(error),
    }
}

/// regorus' message for a call to an extension with another number of arguments than it
/// was registered with. The only extensions are the checked ranges ([`crate::range`]) and
/// `sprintf` ([`crate::sprintf`]).
const EXTENSION_ARITY_MESSAGE: &str = "incorrect number of parameters supplied to extension";

/// The message of an evaluation error: regorus' own, except for a range or `sprintf` called
/// with the wrong number of arguments, whose message would speak of an "extension" the policy
/// author never wrote.
fn evaluation_message(error: &anyhow::Error) -> String {
    let message = last_line(error);
    if message != EXTENSION_ARITY_MESSAGE {
        return message;
    }
    let text = format!("{error:#}");
    let location = text
        .lines()
        .find_map(|line| line.trim_start().strip_prefix("--> "))
        .map(|location| format!("{}: ", location.trim()))
        .unwrap_or_default();
    format!("{location}numbers.range and sprintf take 2 arguments, numbers.range_step 3")
}

/// The module an error message points at (`--> path:…`), among `modules`.
fn module_named_in(error: &anyhow::Error, modules: &[PolicyModule]) -> Option<String> {
    let text = format!("{error:#}");
    let location = text
        .lines()
        .find_map(|line| line.trim_start().strip_prefix("--> "))?;
    modules
        .iter()
        .find(|module| {
            location
                .strip_prefix(module.path.as_str())
                .is_some_and(|rest| rest.starts_with(':'))
        })
        .map(|module| module.path.clone())
}

/// The message of a regorus error without its source excerpt: its last line, without the
/// `error: ` prefix.
fn last_line(error: &anyhow::Error) -> String {
    let text = format!("{error:#}");
    let line = text
        .lines()
        .rev()
        .find(|line| !line.trim().is_empty())
        .unwrap_or("")
        .trim();
    line.strip_prefix("error: ").unwrap_or(line).to_owned()
}

/// The messages of a `deny` or `warn` document, sorted: the elements of a set or an
/// array (strings as they are, anything else as compact JSON with sorted keys), one
/// message naming the rule for `true`, none for `false` or undefined.
fn messages(value: &RegoValue, rule: &str) -> Vec<String> {
    let mut messages: Vec<String> = match value {
        RegoValue::Undefined | RegoValue::Null | RegoValue::Bool(false) => Vec::new(),
        RegoValue::Bool(true) => vec![format!("{rule} is true")],
        RegoValue::Set(items) => items.iter().map(message_text).collect(),
        RegoValue::Array(items) => items.iter().map(message_text).collect(),
        other => vec![message_text(other)],
    };
    messages.sort();
    messages
}

fn message_text(value: &RegoValue) -> String {
    match value {
        RegoValue::String(text) => text.to_string(),
        other => serde_json::to_string(other).unwrap_or_else(|_| format!("{other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn module(path: &str, source: &str) -> PolicyModule {
        PolicyModule {
            path: path.to_owned(),
            source: source.to_owned(),
        }
    }

    fn prepare(source: &str) -> Result<PreparedPolicySet, PolicyError> {
        PreparedPolicySet::prepare(
            RegoSyntax::V1,
            &[module("p.rego", source)],
            PolicyLimits::default(),
        )
    }

    fn evaluate(source: &str, input: serde_json::Value) -> Result<ModuleOutcome, PolicyError> {
        let outcomes = prepare(source)?.evaluate(&PolicyInput::from_json(input))?;
        Ok(outcomes.into_iter().next().unwrap())
    }

    #[test]
    fn deny_as_a_set_gives_sorted_messages_and_warn_is_read() {
        let outcome = evaluate(
            r#"package t
deny contains msg if { some name in input.names; msg := sprintf("%s is not allowed", [name]) }
warn contains "be careful" if input.careful
"#,
            json!({"names": ["zed", "abe"], "careful": true}),
        )
        .unwrap();
        assert_eq!(
            outcome,
            ModuleOutcome {
                path: "p.rego".to_owned(),
                package: "t".to_owned(),
                deny: vec![
                    "abe is not allowed".to_owned(),
                    "zed is not allowed".to_owned()
                ],
                warn: vec!["be careful".to_owned()],
            }
        );
        assert!(outcome.denies());
    }

    #[test]
    fn deny_as_an_array_and_non_string_messages() {
        let outcome = evaluate(
            r#"package t.arr
deny := [m | some x in input.xs; x > 1; m := sprintf("%d too big", [x])]
warn := [{"msg": "object", "n": 2}]
"#,
            json!({"xs": [3, 1, 2]}),
        )
        .unwrap();
        assert_eq!(outcome.package, "t.arr");
        assert_eq!(outcome.deny, vec!["2 too big", "3 too big"]);
        assert_eq!(outcome.warn, vec![r#"{"msg":"object","n":2}"#]);
    }

    #[test]
    fn an_empty_or_undefined_deny_passes() {
        let empty = evaluate(
            "package t\ndeny contains m if { some m in input.none }\n",
            json!({}),
        )
        .unwrap();
        assert!(!empty.denies());
        let undefined = evaluate("package t\ndeny := input.missing\n", json!({})).unwrap();
        assert!(undefined.deny.is_empty() && undefined.warn.is_empty());
        let only_warn = evaluate("package t\nwarn contains \"w\" if true\n", json!({})).unwrap();
        assert_eq!((only_warn.deny.len(), only_warn.warn.len()), (0, 1));
    }

    #[test]
    fn a_module_without_deny_or_warn_is_refused() {
        let error = prepare("package t\nallow if true\n").unwrap_err();
        assert_eq!(
            error,
            PolicyError::NoDecisionRule {
                path: "p.rego".to_owned()
            }
        );
        assert_eq!(error.code(), "policy_without_decision");
    }

    #[test]
    fn a_parse_error_names_its_line_and_column() {
        let error =
            prepare("package t\n\ndeny contains msg if {\n  msg := \"x\" +\n}\n").unwrap_err();
        let PolicyError::Invalid {
            path,
            line,
            column,
            message,
        } = &error
        else {
            panic!("{error:?}");
        };
        assert_eq!(path, "p.rego");
        assert_eq!((*line, *column), (4, 7), "{error}");
        assert!(!message.is_empty() && !message.contains("-->"), "{message}");
        assert_eq!(error.code(), "policy_invalid");
        // v0 syntax is refused in a v1 set, with its place.
        let v0 = prepare("package t\n\ndeny[msg] { msg := \"x\" }\n").unwrap_err();
        assert!(matches!(v0, PolicyError::Invalid { line: 3, .. }), "{v0:?}");
    }

    #[test]
    fn compile_errors_are_found_when_the_set_is_prepared() {
        // An unsafe variable and an unknown function are compile errors, found before any
        // evaluation, with the module they are in.
        let unsafe_var = PreparedPolicySet::prepare(
            RegoSyntax::V1,
            &[
                module("ok.rego", "package a\ndeny contains \"a\" if false\n"),
                module("bad.rego", "package b\ndeny contains m if { x > 1 }\n"),
            ],
            PolicyLimits::default(),
        )
        .unwrap_err();
        assert!(
            matches!(&unsafe_var, PolicyError::Invalid { path, line: 2, .. } if path == "bad.rego"),
            "{unsafe_var:?}"
        );
        // No network: http.send does not exist, and a module calling it does not
        // validate (crate::calls has the cases).
        let network = prepare(
            "package t\ndeny contains \"x\" if { http.send({\"method\": \"get\", \"url\": \"http://x\"}).status_code == 200 }\n",
        )
        .unwrap_err();
        assert_eq!(
            network.to_string(),
            "p.rego:2:24: unknown function http.send (network builtins are not available)"
        );
    }

    #[test]
    fn known_difference_from_opa_iterating_over_a_scalar_is_an_error() {
        // OPA finds nothing in `some x in null`; regorus 0.14 stops the evaluation. The
        // README tells policy authors to guard with is_object/is_array. When an upgrade
        // changes this, this test says so: update the README's list of differences.
        let error = evaluate(
            "package t\ndeny contains k if { some k, _ in input.tags }\n",
            json!({"tags": null}),
        )
        .unwrap_err();
        assert_eq!(error.code(), "policy_evaluation_failed");
        assert!(
            error.to_string().starts_with("p.rego: evaluation failed: "),
            "{error}"
        );
        let guarded = evaluate(
            "package t\ndeny contains k if { is_object(input.tags); some k, _ in input.tags }\n",
            json!({"tags": null}),
        )
        .unwrap();
        assert!(guarded.deny.is_empty());
    }

    #[test]
    fn v0_sets_are_read_as_v0() {
        let set = PreparedPolicySet::prepare(
            RegoSyntax::V0,
            &[module(
                "old.rego",
                "package old\n\ndeny[msg] {\n  r := input.resources[_]\n  r.public\n  msg := sprintf(\"%v is public\", [r.name])\n}\n",
            )],
            PolicyLimits::default(),
        )
        .unwrap();
        let outcomes = set
            .evaluate(&PolicyInput::from_json(json!({"resources": [
                {"name": "b", "public": true}, {"name": "a", "public": false}
            ]})))
            .unwrap();
        assert_eq!(outcomes[0].deny, vec!["b is public"]);
    }

    #[test]
    fn a_prepared_set_is_reused_across_evaluations_and_threads() {
        let set = std::sync::Arc::new(
            prepare("package t\ndeny contains sprintf(\"%d\", [input.n]) if input.n > 1\n")
                .unwrap(),
        );
        let threads: Vec<_> = (0..4)
            .map(|n| {
                let set = set.clone();
                std::thread::spawn(move || {
                    set.evaluate(&PolicyInput::from_json(json!({"n": n})))
                        .unwrap()
                        .remove(0)
                        .deny
                })
            })
            .collect();
        let results: Vec<Vec<String>> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        assert_eq!(
            results,
            vec![vec![], vec![], vec!["2".to_owned()], vec!["3".to_owned()]]
        );
    }

    #[test]
    #[allow(clippy::disallowed_methods)] // how long the stop took, measured on purpose
    fn an_endless_policy_is_stopped_with_policy_timeout() {
        let limits = PolicyLimits {
            evaluation_time_max: Duration::from_millis(200),
            ..PolicyLimits::default()
        };
        // 10¹² iterations (exponential in spirit: nested loops over a big range).
        let set = PreparedPolicySet::prepare(
            RegoSyntax::V1,
            &[module(
                "loop.rego",
                "package loop\ndeny contains \"never\" if {\n  some i in numbers.range(1, 1000000)\n  some j in numbers.range(1, 1000000)\n  i + j < 0\n}\n",
            )],
            limits,
        )
        .unwrap();
        let started = std::time::Instant::now();
        let error = set
            .evaluate(&PolicyInput::from_json(json!({})))
            .unwrap_err();
        assert_eq!(error, PolicyError::Timeout { limit_ms: 200 });
        assert_eq!(error.code(), "policy_timeout");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        // The process and the prepared set are unharmed: a good evaluation still works.
        let good = prepare("package t\ndeny contains \"d\" if input.x\n").unwrap();
        let outcome = good
            .evaluate(&PolicyInput::from_json(json!({"x": true})))
            .unwrap();
        assert_eq!(outcome[0].deny, vec!["d"]);
    }

    #[test]
    fn a_memory_blow_up_is_stopped_with_policy_memory_exceeded() {
        let limits = PolicyLimits {
            evaluation_time_max: Duration::from_secs(30),
            evaluation_memory_bytes_max: 64 * 1024 * 1024,
        };
        // A string doubled 40 times (16 TiB if nothing stopped it).
        let mut source = String::from("package blow\n\ns0 := \"0123456789abcdef\"\n");
        for n in 1..=40 {
            source.push_str(&format!("s{n} := concat(\"\", [s{p}, s{p}])\n", p = n - 1));
        }
        source.push_str("deny contains \"long\" if count(s40) > 0\n");
        let set =
            PreparedPolicySet::prepare(RegoSyntax::V1, &[module("blow.rego", &source)], limits)
                .unwrap();
        let error = set
            .evaluate(&PolicyInput::from_json(json!({})))
            .unwrap_err();
        assert_eq!(
            error,
            PolicyError::MemoryExceeded {
                limit_bytes: 64 * 1024 * 1024
            }
        );
        // A comprehension that grows an array without bound is stopped too.
        let set = PreparedPolicySet::prepare(
            RegoSyntax::V1,
            &[module(
                "grow.rego",
                "package grow\nbig := [sprintf(\"%d-%d\", [i, j]) | some i in numbers.range(1, 100000); some j in numbers.range(1, 100000)]\ndeny contains \"big\" if count(big) > 0\n",
            )],
            limits,
        )
        .unwrap();
        let error = set
            .evaluate(&PolicyInput::from_json(json!({})))
            .unwrap_err();
        assert_eq!(error.code(), "policy_memory_exceeded", "{error:?}");
    }

    #[test]
    fn ordinary_ranges_are_opas() {
        // (expression, its value as JSON; None: undefined, as OPA's non-strict mode makes
        // a builtin error). Each runs as the `deny` of a module of its own. The defined
        // values were checked against the OPA of scripts/opa_eval.py.
        let cases: &[(&str, Option<&str>)] = &[
            ("numbers.range(1, 5)", Some("[1,2,3,4,5]")),
            ("numbers.range(5, 1)", Some("[5,4,3,2,1]")),
            ("numbers.range(-2, 1)", Some("[-2,-1,0,1]")),
            ("numbers.range(3, 3)", Some("[3]")),
            ("numbers.range(1e3, 1002)", Some("[1000,1001,1002]")),
            ("numbers.range(input.from, input.to)", Some("[7,8,9]")),
            ("[x | some x in numbers.range(1, 3)]", Some("[1,2,3]")),
            ("{x | some x in numbers.range(1, 3); x != 2}", Some("[1,3]")),
            ("[y | numbers.range(1, 2, y)]", Some("[[1,2]]")),
            ("numbers.range(1.5, 3)", None),
            ("numbers.range(1, \"3\")", None),
            ("numbers.range(1, input.missing)", None),
            ("numbers.range_step(0, 10, 3)", Some("[0,3,6,9]")),
            ("numbers.range_step(10, 0, 3)", Some("[10,7,4,1]")),
            ("numbers.range_step(1, 5, 1)", Some("[1,2,3,4,5]")),
            ("numbers.range_step(2, 2, 7)", Some("[2]")),
            ("numbers.range_step(0, 2, 5)", Some("[0]")),
            ("numbers.range_step(-6, -1, 2)", Some("[-6,-4,-2]")),
            ("numbers.range_step(0, 10, 0)", None),
            ("numbers.range_step(0, 10, -2)", None),
            ("numbers.range_step(0, 10, 2.5)", None),
        ];
        for (expression, expected) in cases {
            let source =
                format!("package t\ndeny contains json.marshal(r) if {{ r := {expression} }}\n");
            let outcome = evaluate(&source, json!({"from": 7, "to": 9}))
                .unwrap_or_else(|error| panic!("{expression}: {error}"));
            let expected: Vec<String> = expected.iter().map(|json| (*json).to_owned()).collect();
            assert_eq!(outcome.deny, expected, "{expression}");
        }
        // Another number of arguments is an error, as in OPA (there at compile time).
        let error = evaluate(
            "package t\ndeny contains \"x\" if count(numbers.range(1)) > 0\n",
            json!({}),
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "p.rego: evaluation failed: p.rego:2:41: numbers.range and sprintf take 2 arguments, numbers.range_step 3"
        );
    }

    #[test]
    fn a_range_too_large_for_the_memory_budget_stops_the_evaluation() {
        // regorus' own builtins reserve the whole result first: from about 5 × 10¹²
        // elements that reservation fails and the process aborts. Here every one of these
        // is refused before anything is allocated, and this test process lives on.
        let refused: &[(&str, serde_json::Value)] = &[
            ("count(numbers.range(0, 1e15)) > 0", json!({})),
            ("count(numbers.range(0, 1e18)) > 0", json!({})),
            ("count(numbers.range(1e18, -1e18)) > 0", json!({})),
            ("count(numbers.range(0, input.n)) > 0", json!({"n": 1e15})),
            (
                "count(numbers.range(0, input.n)) > 0",
                json!({"n": 1_000_000_000_000_000_000_u64}),
            ),
            (
                "count(numbers.range(0 - input.n, 0)) > 0",
                json!({"n": 1e15}),
            ),
            (
                "some i in numbers.range(1, input.n * input.n); i < 0",
                json!({"n": 1_000_000_000_u64}),
            ),
            ("count(numbers.range_step(0, 1e18, 1)) > 0", json!({})),
            (
                "count(numbers.range_step(input.n, 0, 3)) > 0",
                json!({"n": 1e15}),
            ),
            // Within the address space, but more than the budget (10⁸ × 24 bytes > 256 MiB).
            ("count(numbers.range(1, 100000000)) > 0", json!({})),
            // A function whose other body answers: regorus swallows the first body's
            // error, and the evaluation is stopped all the same.
            ("f(input.n) == 1", json!({"n": 1e15})),
        ];
        for (condition, input) in refused {
            let source = format!(
                "package t\n\nf(n) := c if {{ c := count(numbers.range(0, n)) }}\nf(n) := 1 if {{ n > 0 }}\n\ndeny contains \"x\" if {{\n  {condition}\n}}\n"
            );
            let error = evaluate(&source, input.clone()).unwrap_err();
            assert_eq!(
                error,
                PolicyError::MemoryExceeded {
                    limit_bytes: EVALUATION_MEMORY_BYTES_MAX_DEFAULT
                },
                "{condition} with {input}"
            );
            assert_eq!(
                error.to_string(),
                format!(
                    "policy_memory_exceeded: the evaluation needed more than {EVALUATION_MEMORY_BYTES_MAX_DEFAULT} bytes of memory and was stopped"
                )
            );
        }
        // The same set with an ordinary span evaluates normally afterwards.
        let outcome = evaluate(
            "package t\ndeny contains \"x\" if count(numbers.range(0, input.n)) == 1001\n",
            json!({"n": 1000}),
        )
        .unwrap();
        assert_eq!(outcome.deny, vec!["x"]);
    }

    #[test]
    fn a_range_is_bounded_by_the_sets_own_memory_budget() {
        // 10⁶ numbers take 24 MB: within the default budget, beyond a budget of 8 MiB.
        let source = "package t\ndeny contains \"big\" if count(numbers.range(1, 1000000)) > 0\n";
        assert_eq!(evaluate(source, json!({})).unwrap().deny, vec!["big"]);
        let limits = PolicyLimits {
            evaluation_memory_bytes_max: 8 * 1024 * 1024,
            ..PolicyLimits::default()
        };
        let set = PreparedPolicySet::prepare(RegoSyntax::V1, &[module("p.rego", source)], limits)
            .unwrap();
        assert_eq!(
            set.evaluate(&PolicyInput::from_json(json!({}))),
            Err(PolicyError::MemoryExceeded {
                limit_bytes: 8 * 1024 * 1024
            })
        );
    }
}
