//! Infrastructure changes in the UI.

pub mod workspaces;
