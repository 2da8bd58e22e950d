//! Infrastructure as code: workspaces, their state versions, their plans, the policy
//! sets that check them, their runs (plan → checks → approval → apply), the variables
//! runs receive and runs' logs, drift checks, and the Terraform state backend.

pub mod drift_checks;
pub mod plans;
pub mod policy_sets;
pub mod runs;
pub mod state_versions;
pub mod tf_backend;
pub mod variables;
pub mod workspaces;
