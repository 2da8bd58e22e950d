//! Incident response, one module per resource: the service directory, webhook
//! integrations, incoming alerts, alert rules, incidents, on-call schedules, escalation
//! policies, notifications and users' contact methods. Schedules and escalation policies are both stored
//! definitions; [`definition`] reads the definition of a request to create or replace
//! either.

use rampart_app::AppError;
use rampart_domain::ErrorCode;
use serde::de::DeserializeOwned;

/// Reads a request's definition (a schedule's or an escalation policy's) into its wire
/// type: a definition of the wrong shape (an unknown field, a wrong type) is
/// `invalid_definition`, not a malformed body.
pub(crate) fn definition<T: DeserializeOwned>(
    definition: serde_json::Value,
) -> Result<T, AppError> {
    rampart_domain::json::from_value(definition).map_err(|error| {
        AppError::bad_request(
            ErrorCode::InvalidDefinition,
            format!("the definition: {error}"),
        )
    })
}

pub mod alert_rules;
pub mod alerts;
pub mod contact_methods;
pub mod escalation_policies;
pub mod incidents;
pub mod integrations;
pub mod notifications;
pub mod runbook_executions;
pub mod runbooks;
pub mod schedules;
pub mod services;
pub mod slos;
