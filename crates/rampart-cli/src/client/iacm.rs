//! Client commands of the IaCM slice that have a file of their own.

pub mod plans;
pub mod policy_sets;
pub mod runs;
pub mod tf;
pub mod variables;
