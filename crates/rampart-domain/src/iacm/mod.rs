//! Infrastructure as code: workspaces and the rules of their Terraform/OpenTofu state
//! (what a state body must look like, which writes a workspace accepts, how versions
//! chain), plans (what a plan document must be, its summary, its masked view), policy sets
//! (what they check, how strictly, where they apply), runs (plan → checks → approval →
//! apply, and what an approval binds), variables (keys, precedence, masking), drift
//! checks (what counts as drift, a workspace's drift status) and the offline cost
//! estimate of a plan.

pub mod cost_estimates;
pub mod drift_checks;
pub mod plans;
pub mod policy_sets;
pub mod runs;
pub mod state_versions;
pub mod variables;
pub mod workspaces;
