//! Infrastructure as code: workspaces and the rules of their Terraform/OpenTofu state
//! (what a state body must look like, which writes a workspace accepts, how versions
<<<<<<< HEAD
//! chain), and the offline cost estimate of a plan.

pub mod cost_estimates;
=======
//! chain), and plans (what a plan document must be, its summary, its masked view).

pub mod plans;
>>>>>>> plans
pub mod state_versions;
pub mod workspaces;
