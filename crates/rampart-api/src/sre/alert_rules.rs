//! Wire types of a service alert rules.
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A service's alert rules, in order; the first whose conditions all hold decides.
/// Each: `{"name", "conditions": {"min_severity", "max_severity", "labels": {…},
/// "source"}, "action": "open_incident" | "record_only"}`. No match: open an incident.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AlertRules {
    pub rules: serde_json::Value,
}
