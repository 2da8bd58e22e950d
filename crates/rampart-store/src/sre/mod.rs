//! Incident-response and on-call tables, one module per resource. Payloads, titles,
//! timeline bodies and integration secrets arrive sealed; these modules never see
//! plaintext.

pub mod alert_rules;
pub mod alerts;
pub mod definitions;
pub mod escalation_policies;
pub mod escalations;
pub mod incidents;
pub mod integrations;
pub mod notifications;
pub mod schedules;
pub mod services;

use crate::StoreError;

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(what.into())
}
