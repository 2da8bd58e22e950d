//! Incident response: services and their webhook integrations, incoming alert payloads
//! decoded from each monitoring tool into one shape, alerts and their dedup decision,
//! alert rules, incidents, on-call schedules (who is on call, when, and the gaps) and
//! escalation policies (who is paged when, until someone acknowledges).

pub mod alert_rules;
pub mod alerts;
pub mod documents;
pub mod escalation_policies;
pub mod incidents;
pub mod integrations;
pub mod payload;
pub mod schedules;
pub mod services;

/// The names these rules had before the slices were reshaped, kept only while the
/// other crates move over (removed in the same change set).
pub mod incident {
    pub use super::alerts::AlertStatus;
    pub use super::incidents::{IncidentSeverity, IncidentStatus};
    pub use super::integrations::{
        AuthMode, INTEGRATION_CIDRS_MAX, INTEGRATION_RATE_LIMIT_DEFAULT,
        INTEGRATION_RATE_LIMIT_MAX, Integration,
    };
    pub use super::services::Service;
}
pub use alert_rules as rules;
pub use escalation_policies as escalation;
pub use schedules as schedule;
