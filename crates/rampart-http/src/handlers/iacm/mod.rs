//! Infrastructure as code: workspaces, their state versions, their plans, the policy
//! sets that check them, and the Terraform state backend.

pub mod plans;
pub mod policy_sets;
pub mod state_versions;
pub mod tf_backend;
pub mod workspaces;
