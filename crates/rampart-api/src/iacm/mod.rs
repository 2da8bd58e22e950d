//! IaCM wire types, one module per resource; every type is also re-exported here, so a
//! wire type is `rampart_api::iacm::Name` whatever file holds it.

mod drift_checks;
mod locks;
mod plans;
mod policy_sets;
mod runs;
mod state_versions;
mod variables;
mod workspaces;

pub use drift_checks::*;
pub use locks::*;
pub use plans::*;
pub use policy_sets::*;
pub use runs::*;
pub use state_versions::*;
pub use variables::*;
pub use workspaces::*;
