//! Infrastructure as code: workspaces, their state versions, and the Terraform state
//! backend.

pub mod state_versions;
pub mod tf_backend;
pub mod workspaces;
