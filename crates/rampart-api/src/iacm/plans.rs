//! Wire types of plans: what an upload answers, a plan's history entry, its summary.
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The body of a plan upload: the output of `terraform show -json PLANFILE`, sent as it
/// is (any content type). Only the fields the server checks are described here; the
/// rest of Terraform's JSON plan format is kept as uploaded.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PlanDocument {
    /// Terraform's JSON format version, `0.1` to `1.x`.
    pub format_version: String,
    /// The Terraform or OpenTofu version that made the plan.
    pub terraform_version: String,
    pub planned_values: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    pub resource_changes: Vec<serde_json::Value>,
}

/// Counts of resource changes by what they do.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct PlanCounts {
    pub add: u64,
    pub change: u64,
    /// Destroy and create (either order).
    pub replace: u64,
    pub destroy: u64,
    /// Data sources read during apply.
    pub read: u64,
    pub no_op: u64,
    /// Dropped from the state, left running.
    pub forget: u64,
}

/// The state version a plan was made against.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct PlanState {
    /// The workspace's state version number.
    pub version: u64,
    pub serial: u64,
    pub lineage: String,
    /// Hex SHA-256 of that state version's body.
    pub sha256: String,
}

/// A stored plan (without its contents).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Plan {
    pub id: String,
    pub workspace: String,
    pub format_version: String,
    pub terraform_version: String,
    pub size_bytes: u64,
    pub counts: PlanCounts,
    /// `null` when the workspace had no state at upload.
    pub state: Option<PlanState>,
    /// Whether the binary plan file was uploaded, and its size.
    pub has_file: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_size_bytes: Option<u64>,
    /// What the policy sets that applied decided, together: `none`, `passed`,
    /// `passed_with_warnings`, `needs_override` or `blocked` (see `…/policy-results`).
    pub policy_status: String,
    pub created_by: String,
    pub created_at: String,
}

/// One resource change of a plan.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct PlanResourceChange {
    pub address: String,
    /// `create`, `update`, `replace`, `delete`, `read`, `no-op` or `forget`.
    pub action: String,
    /// The actions as Terraform lists them (`["delete", "create"]`).
    pub actions: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deposed: Option<String>,
}

/// One output change of a plan.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct PlanOutputChange {
    pub name: String,
    pub action: String,
}

/// A plan with its summary and digests.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct PlanDetail {
    #[serde(flatten)]
    pub plan: Plan,
    /// Hex SHA-256 of the plan JSON as uploaded.
    pub sha256: String,
    /// Hex SHA-256 of the binary plan file, once uploaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_sha256: Option<String>,
    pub resource_changes: Vec<PlanResourceChange>,
    pub output_changes: Vec<PlanOutputChange>,
}

/// What the uploader says the plan was made against; each given one must match the
/// workspace's current state (409 `plan_state_mismatch` otherwise).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanUploadQuery {
    #[serde(default)]
    pub state_serial: Option<u64>,
    #[serde(default)]
    pub state_lineage: Option<String>,
}
