//! Offline infrastructure-as-code commands: they read local files and need no server.

pub mod cost_estimates;
pub mod policy_eval;
