//! Infrastructure as code: workspaces and the rules of their Terraform/OpenTofu state
//! (what a state body must look like, which writes a workspace accepts, how versions
//! chain).

pub mod state_versions;
pub mod workspaces;
