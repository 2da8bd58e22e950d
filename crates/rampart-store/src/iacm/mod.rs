//! IaCM tables, one module per resource: workspaces, their state versions (bodies
//! arrive sealed; these modules never see plaintext), their locks and their plans
//! (sealed alike), and their runs.

pub mod locks;
pub mod plans;
pub mod policy_sets;
pub mod runs;
pub mod state_versions;
pub mod workspaces;
