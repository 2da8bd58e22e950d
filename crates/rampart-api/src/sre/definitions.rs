//! Wire types of stored schedule and escalation-policy definitions.
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A new schedule or escalation policy. `definition` is the schedule's
/// `{time_zone, layers, overrides}` or the policy's `{levels, repeats}` (see the README).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DefinitionCreate {
    pub identifier: String,
    pub name: String,
    pub definition: serde_json::Value,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DefinitionUpdate {
    pub name: String,
    pub definition: serde_json::Value,
}

/// A schedule or an escalation policy.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Definition {
    pub id: String,
    pub identifier: String,
    pub name: String,
    pub definition: serde_json::Value,
    pub created_at: String,
    pub updated_at: String,
}
