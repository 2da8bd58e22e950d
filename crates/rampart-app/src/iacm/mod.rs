//! IaCM use cases: workspaces ([`workspaces`]) and their Terraform/OpenTofu state
//! ([`state`]: the `http` backend's reads, writes and locks, history, rollback, views).

pub mod state;
pub mod workspaces;

pub use rampart_store::iacm::locks::WorkspaceLockRow;
pub use rampart_store::iacm::state_versions::StateVersionRow;
pub use state::{LockOutcome, WriteOutcome, chain_hash};
