//! Client commands of the incident-response slice that have a file of their own.

pub mod contact_methods;
pub mod definitions;
pub mod escalation_policies;
pub mod notifications;
pub mod runbooks;
pub mod schedules;
pub mod slos;
