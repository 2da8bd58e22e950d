//! `numbers.range` and `numbers.range_step` as Rampart evaluates them: OPA's semantics, with
//! the size of the result checked against the evaluation's memory before it is allocated.
//!
//! regorus 0.14.1 (the newest release) reserves the whole result of these two builtins
//! before its first memory check. A span whose reservation cannot be mapped (about
//! 5 × 10¹² elements; `numbers.range(0, 1e15)`) makes the allocation fail, and a failed
//! allocation aborts the process — one hostile module would end the server. regorus
//! cannot be told to leave a builtin out, but its interpreter looks a called name up among
//! the engine's extensions ([`regorus::Engine::add_extension`]) before its builtins, for
//! every call (in a loop's collection, a comprehension, with an output argument, through
//! `with`), so [`install`] registers the two names as extensions and the builtins are
//! never reached.
//!
//! Semantics, OPA's: both ends are included; the range counts down when the first end is
//! greater than the last; `numbers.range_step`'s step is a positive integer. Ends and
//! step must be integers (a whole-number float such as `1e3` is one); anything else is a
//! builtin error in OPA, which leaves the call undefined in OPA's default (non-strict)
//! mode, and the call is undefined here too. Ends beyond ±1.7 × 10³⁸ (`i128`), which OPA
//! would accept, are undefined as well: such a range is either refused for its size or
//! made of numbers no plan holds.
//!
//! A range whose elements (one regorus value each, [`ELEMENT_BYTES`]) would take the
//! process past the evaluation's memory ceiling is refused before anything is allocated:
//! the call fails, and the refusal is recorded on the evaluating thread for
//! [`take_refusal`]. The engine reports the evaluation as `policy_memory_exceeded` from
//! that record, because regorus turns an extension's error into plain text, and swallows
//! it when it happens in one body of a function that another body answers. The checked
//! `sprintf` ([`crate::sprintf`]) records its refusals here too ([`record_refusal`]).

use std::cell::Cell;

use regorus::{Engine, Value as RegoValue};

/// What one element of a range costs: a regorus value, held inline in the array.
const ELEMENT_BYTES: usize = std::mem::size_of::<RegoValue>();

/// A refused call (a range, a `sprintf`): the bytes its result would have needed, and those
/// the evaluation had left under its memory ceiling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub(crate) needed_bytes: u128,
    pub(crate) available_bytes: u64,
}

thread_local! {
    /// The last call refused on this thread since [`take_refusal`] was called. Extensions
    /// run on the thread that evaluates, inside one evaluation's turn.
    static REFUSED: Cell<Option<Refusal>> = const { Cell::new(None) };
}

/// Takes (and clears) the call refused on this thread since the last call, if any.
pub(crate) fn take_refusal() -> Option<Refusal> {
    REFUSED.with(Cell::take)
}

/// The names [`install`] registers, which calls resolve to before regorus' builtins.
pub(crate) const EXTENSION_NAMES: [&str; 2] = [RANGE, RANGE_STEP];
const RANGE: &str = "numbers.range";
const RANGE_STEP: &str = "numbers.range_step";

/// Registers the checked `numbers.range` and `numbers.range_step` on `engine`, before any
/// module is compiled (a compiled policy keeps the extensions it was compiled with).
/// `budget_bytes`, the evaluation's memory budget, bounds a range on top of the ceiling
/// (which is always set while an evaluation runs; the bound keeps the extension safe on
/// its own).
pub(crate) fn install(engine: &mut Engine, budget_bytes: u64) -> anyhow::Result<()> {
    engine.add_extension(
        RANGE.to_owned(),
        2,
        Box::new(
            move |arguments: Vec<RegoValue>| match arguments.as_slice() {
                [first, last] => range(first, last, &RegoValue::from(1_i64), budget_bytes),
                _ => Ok(RegoValue::Undefined),
            },
        ),
    )?;
    engine.add_extension(
        RANGE_STEP.to_owned(),
        3,
        Box::new(
            move |arguments: Vec<RegoValue>| match arguments.as_slice() {
                [first, last, step] => range(first, last, step, budget_bytes),
                _ => Ok(RegoValue::Undefined),
            },
        ),
    )?;
    Ok(())
}

/// The integers from `first` to `last` (both included, downwards when `first > last`),
/// `step` apart; undefined unless all three are integers and `step` is positive; an error
/// (recorded for [`take_refusal`]) when the result would not fit in the memory left.
fn range(
    first: &RegoValue,
    last: &RegoValue,
    step: &RegoValue,
    budget_bytes: u64,
) -> anyhow::Result<RegoValue> {
    let (Ok(first), Ok(last), Ok(step)) = (first.as_i128(), last.as_i128(), step.as_i128()) else {
        return Ok(RegoValue::Undefined);
    };
    if step <= 0 {
        return Ok(RegoValue::Undefined);
    }
    // The distance between two i128 fits a u128; only the count of the widest range
    // (2¹²⁸ numbers) does not, and saturates (it is refused either way).
    let count = (first.abs_diff(last) / step.unsigned_abs()).saturating_add(1);
    let needed_bytes = count.saturating_mul(ELEMENT_BYTES as u128);
    let available_bytes = bytes_available(budget_bytes);
    let refusal = Refusal {
        needed_bytes,
        available_bytes,
    };
    let count = match usize::try_from(count) {
        Ok(count) if needed_bytes <= u128::from(available_bytes) => count,
        _ => return Err(refuse(refusal, count)),
    };
    let mut values = Vec::new();
    // Within the budget, the reservation can still fail on a machine short of memory: a
    // refusal then too, where `Vec::with_capacity` would abort.
    if values.try_reserve_exact(count).is_err() {
        return Err(refuse(refusal, count as u128));
    }
    let step = if first <= last { step } else { -step };
    let mut next = first;
    for _ in 0..count {
        values.push(RegoValue::from(next));
        // Saturating: the value after the last element may lie beyond i128; it is not used.
        next = next.saturating_add(step);
    }
    Ok(RegoValue::from(values))
}

/// Bytes the evaluation may still allocate: what is left under the process-wide ceiling
/// regorus enforces (set by the engine for the evaluation's turn), at most `budget_bytes`.
pub(crate) fn bytes_available(budget_bytes: u64) -> u64 {
    match regorus::global_memory_limit() {
        Some(ceiling) => {
            // The snapshot publishes this thread's pending allocations first.
            let live_bytes = regorus_mimalloc::global_allocation_stats_snapshot().allocated;
            ceiling.saturating_sub(live_bytes).min(budget_bytes)
        }
        None => budget_bytes,
    }
}

/// Records `refusal` for [`take_refusal`]: the evaluation will stop with
/// `policy_memory_exceeded`, whatever regorus makes of the call's error.
pub(crate) fn record_refusal(refusal: Refusal) {
    REFUSED.with(|refused| refused.set(Some(refusal)));
}

/// Records `refusal` for [`take_refusal`] and makes the call's error.
fn refuse(refusal: Refusal, count: u128) -> anyhow::Error {
    record_refusal(refusal);
    anyhow::anyhow!(
        "a range of {count} numbers needs {} bytes, more than the {} bytes the evaluation has left",
        refusal.needed_bytes,
        refusal.available_bytes
    )
}
