//! Infrastructure changes in the UI.

pub mod runs;
pub mod workspaces;
