//! Incident response in the UI.

pub mod incidents;
