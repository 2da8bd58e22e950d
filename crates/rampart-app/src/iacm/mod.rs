//! IaCM use cases: workspaces ([`workspaces`]) and their Terraform/OpenTofu state
//! ([`state`]: the `http` backend's reads, writes and locks, history, rollback, views).

pub mod state;
pub mod workspaces;

pub use state::{LockOutcome, WriteOutcome, chain_hash};
