//! IaCM use cases: workspaces ([`workspaces`]) and their Terraform/OpenTofu state
//! ([`state_versions`]: the `http` backend's reads, writes and locks, history, rollback, views)
//! and their plans ([`plans`]: upload, history, summary, masked view, raw downloads),
//! the policy sets that check plans, states and workspaces ([`policy_sets`]), and runs
//! ([`runs`]: plan → checks → approval → verified apply) with their variables and logs
//! ([`variables`]), and drift checks ([`drift_checks`]).

pub mod drift_checks;
pub mod plans;
pub mod policy_sets;
pub mod runs;
pub mod state_versions;
pub mod variables;
pub mod workspaces;

pub use state_versions::{LockOutcome, WriteOutcome, chain_hash};
