//! IaCM tables, one module per resource: workspaces, their state versions (bodies
//! arrive sealed; these modules never see plaintext), their locks and their plans
//! (sealed alike), their runs and runs' logs, and variables (sealed alike).

pub mod drift_checks;
pub mod locks;
pub mod plans;
pub mod policy_sets;
pub mod runs;
pub mod state_versions;
pub mod variables;
pub mod workspaces;
