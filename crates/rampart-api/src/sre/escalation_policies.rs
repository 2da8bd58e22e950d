//! Wire types of the escalation policy a service pages with.
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceEscalationPolicy {
    /// An escalation policy identifier of the project, or null to stop paging.
    pub escalation_policy: Option<String>,
}
