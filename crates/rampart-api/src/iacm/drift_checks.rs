//! Wire types of drift checks.
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Records a drift check made with a plan uploaded to the workspace.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DriftCheckCreate {
    /// The plan's id (from `POST …/plans`).
    pub plan: String,
    /// `plan` (default: everything the plan would change counts) or `refresh_only`
    /// (only what changed outside Terraform).
    #[serde(default)]
    #[schema(pattern = "^(plan|refresh_only)$")]
    pub mode: Option<String>,
}

/// A drifted resource, with its values as the plan's masked view shows them.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct DriftedResource {
    pub address: String,
    /// `changed_outside` (found while refreshing) or `would_change` (the plan would
    /// change it back to the configuration).
    pub kind: String,
    pub actions: Vec<String>,
    pub before: serde_json::Value,
    pub after: serde_json::Value,
}

/// A drift check; `resources` in the answer of a single check.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct DriftCheck {
    pub id: String,
    pub workspace: String,
    pub plan_id: String,
    pub mode: String,
    /// How many resources drifted (0: in sync).
    pub drifted: u64,
    pub checked_by: String,
    pub checked_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Vec<DriftedResource>>,
}

/// A workspace's drift, in the answer of a single workspace.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct WorkspaceDrift {
    /// `unchecked` (never, or the state changed since), `in_sync` or `drifted`.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_check: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked_at: Option<String>,
}
