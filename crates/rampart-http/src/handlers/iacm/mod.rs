//! Infrastructure as code: workspaces, their state versions, their plans, and the
//! Terraform state backend.

pub mod plans;
pub mod state_versions;
pub mod tf_backend;
pub mod workspaces;
