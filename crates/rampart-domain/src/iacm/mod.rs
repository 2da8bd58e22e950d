//! Infrastructure as code: workspaces and the rules of their Terraform/OpenTofu state
//! (what a state body must look like, which writes a workspace accepts, how versions
//! chain).

pub mod state;
pub mod workspace;
