//! Wire types of escalation policies: the policy (its definition: levels of targets with
//! delays, repeats) and the policy a service pages with.
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A new escalation policy.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EscalationPolicyCreate {
    /// The policy's identifier in its project (a slug), used in paths and by services.
    #[schema(pattern = "^[a-z0-9][a-z0-9-]{0,62}$")]
    pub identifier: String,
    /// Its display name.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// Who is paged, in which order. Read by the server as an
    /// `EscalationPolicyDefinition`; a definition of the wrong shape is refused as
    /// `invalid_definition`.
    #[schema(value_type = EscalationPolicyDefinition)]
    pub definition: serde_json::Value,
}

/// An escalation policy's new name and definition (both replaced).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EscalationPolicyUpdate {
    /// Its display name.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// Who is paged, in which order. Read by the server as an
    /// `EscalationPolicyDefinition`; a definition of the wrong shape is refused as
    /// `invalid_definition`.
    #[schema(value_type = EscalationPolicyDefinition)]
    pub definition: serde_json::Value,
}

/// An escalation policy.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct EscalationPolicy {
    /// The policy's id.
    pub id: String,
    /// Its identifier in its project.
    pub identifier: String,
    /// Its display name.
    pub name: String,
    /// Who is paged, in which order.
    pub definition: EscalationPolicyDefinition,
    /// When it was created (RFC 3339).
    pub created_at: String,
    /// When it was last changed (RFC 3339).
    pub updated_at: String,
}

fn is_zero(number: &u32) -> bool {
    *number == 0
}

/// Levels paged one after the other until someone acknowledges; a level whose targets
/// resolve to nobody is skipped at once.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EscalationPolicyDefinition {
    /// The levels, in order; 1 to 20.
    pub levels: Vec<EscalationLevel>,
    /// How many more times the whole policy runs after its last level; 0 to 9, default 0.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub repeats: u32,
}

/// One level of a policy: who it pages, and how long it waits before the next.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EscalationLevel {
    /// Who the level pages; at least one.
    pub targets: Vec<EscalationTarget>,
    /// Minutes to wait before the next level; 1 to 1440.
    pub delay_minutes: u32,
}

/// Who a level pages.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EscalationTarget {
    /// `user`, `group` or `schedule`.
    #[serde(rename = "type")]
    pub kind: String,
    /// A user id, a group id, or a schedule identifier of the same project (whoever is on
    /// call on it when the level pages).
    pub id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceEscalationPolicy {
    /// An escalation policy identifier of the project, or null to stop paging.
    pub escalation_policy: Option<String>,
}
