//! IaCM tables, one module per resource: workspaces, their state versions (bodies
//! arrive sealed; these modules never see plaintext) and their locks.

pub mod locks;
pub mod state_versions;
pub mod workspaces;
