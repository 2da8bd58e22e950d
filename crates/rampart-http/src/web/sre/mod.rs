//! Incident response in the UI.

pub mod alerts;
pub mod incidents;
pub mod schedules;
pub mod services;
