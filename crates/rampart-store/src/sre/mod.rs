//! Incident-response and on-call tables, one module per resource. Payloads, dedup keys,
//! titles, descriptions, custom fields, action items, timeline bodies and integration
//! secrets arrive sealed, dedup and group keys also as blind indexes; these modules never
//! see plaintext ([`legacy`] reads the rows from before they were sealed, to convert
//! them).

pub mod alert_rules;
pub mod alerts;
pub mod contact_methods;
pub mod definitions;
pub mod escalation_policies;
pub mod escalations;
pub mod incidents;
pub mod integrations;
pub mod legacy;
pub mod notifications;
pub mod runbook_executions;
pub mod runbooks;
pub mod schedules;
pub mod services;
pub mod slos;

use crate::StoreError;

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(what.into())
}
