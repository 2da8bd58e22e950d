//! The delegate's work: what a task does once its envelope passed the agent's checks
//! (signature, target, expiry, arguments digest, replay — `rampart delegate run` in the
//! CLI polls, checks and reports). [`outbound`] sends webhooks, notifications and
//! runbook HTTP steps to the places the delegate's operator allows; [`sandbox`] runs
//! runbook script steps confined (Landlock, seccomp, resource limits, an empty
//! environment, a fresh work directory, a wall-clock timeout, masked output).
//!
//! Besides the CLI's API client, this is the only crate that opens outbound
//! connections: the server never does (a tidy test checks the dependency graph).

pub mod masking;
pub mod outbound;
pub mod sandbox;
pub mod scripts;

/// Why a task failed: a stable code for the server, a human explanation for
/// the task's result, and whether another attempt could go differently.
#[derive(Debug)]
pub struct Failure {
    pub code: String,
    pub explanation: String,
    /// Trying again cannot help (the task's arguments, the delegate's configuration
    /// or the receiver's 4xx answer say so).
    pub permanent: bool,
}

/// A failure that will happen again however often the task is tried.
pub(crate) fn failure(code: &str, explanation: impl Into<String>) -> Failure {
    Failure {
        code: code.to_owned(),
        explanation: explanation.into(),
        permanent: true,
    }
}

/// A failure another attempt may not meet (the receiver unreachable or failing).
pub(crate) fn transient(code: &str, explanation: impl Into<String>) -> Failure {
    Failure {
        permanent: false,
        ..failure(code, explanation)
    }
}
