//! Incident response in the UI.

pub mod alerts;
pub mod escalation_policies;
pub mod incidents;
pub mod runbook_executions;
pub mod runbooks;
pub mod schedules;
pub mod services;
pub mod slos;
