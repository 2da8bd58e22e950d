//! Rego policies for Rampart, evaluated in-process with `regorus`.
//!
//! This crate owns the policy *engine*: a set of Rego modules is validated and prepared
//! once ([`PreparedPolicySet::prepare`]), then evaluated as often as needed against an
//! input document ([`PreparedPolicySet::evaluate`]), each evaluation on a clone of the
//! prepared engine and under a time and a memory limit ([`PolicyLimits`]). What a
//! module decides is read from its `deny` and `warn` rules ([`ModuleOutcome`]). The
//! input a module sees is built by [`build_input`] in one of two shapes
//! ([`InputShape`]): HCP Terraform's (`input.plan`, `input.run`, … `input.cost`) or the
//! plan JSON itself (conftest's).
//!
//! It is its own crate rather than a module of `rampart-domain` because regorus reads a
//! clock (its cooperative deadline and `time.now_ns`) and, for the memory limit, makes
//! its vendored mimalloc the process's allocator: neither belongs in the pure domain
//! crate, which every other crate (and every test binary) links. It does no IO of its
//! own; callers read files and store results.

mod calls;
pub mod engine;
pub mod input;
mod range;
mod sprintf;

pub use engine::{
    ModuleOutcome, PolicyError, PolicyInput, PolicyLimits, PolicyModule, PreparedPolicySet,
    RegoSyntax,
};
pub use input::{InputContext, InputShape, build_input};
