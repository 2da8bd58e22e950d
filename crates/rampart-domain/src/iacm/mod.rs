//! Infrastructure as code: workspaces and the rules of their Terraform/OpenTofu state
//! (what a state body must look like, which writes a workspace accepts, how versions
//! chain), and the offline cost estimate of a plan.

pub mod cost_estimates;
pub mod state_versions;
pub mod workspaces;
