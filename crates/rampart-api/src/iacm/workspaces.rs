//! Wire types of IaCM workspaces.
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::StateLock;

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkspaceCreate {
    #[schema(pattern = "^[a-z0-9][a-z0-9-]{0,62}$")]
    pub identifier: String,
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub description: Option<String>,
    /// `terraform` (default) or `opentofu`.
    #[serde(default)]
    pub provisioner: Option<String>,
    /// Such as `1.15.5`; empty for "whatever the client runs".
    #[serde(default)]
    pub provisioner_version: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// How runs are approved (needs `workspace:approve` too); defaults as documented.
    #[serde(default)]
    pub runs: Option<WorkspaceRunSettingsUpdate>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkspaceUpdate {
    #[serde(default)]
    #[schema(min_length = 1, max_length = 100)]
    pub name: Option<String>,
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub description: Option<String>,
    #[serde(default)]
    pub provisioner: Option<String>,
    #[serde(default)]
    pub provisioner_version: Option<String>,
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    /// How runs are approved (needs `workspace:approve` too); fields left out stay.
    #[serde(default)]
    pub runs: Option<WorkspaceRunSettingsUpdate>,
    /// The SRE service (identifier, same project) that drift checks finding drift
    /// raise an alert on — deduplicated per workspace, resolved by the next clean
    /// check; `""` stops. Needs `service:edit`: the server makes an integration of that
    /// service for the workspace (`drift_alert_integration`).
    #[serde(default)]
    #[schema(max_length = 100)]
    pub drift_alert_service: Option<String>,
}

/// How a workspace's runs are approved and applied.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct WorkspaceRunSettings {
    /// Checked runs are approved without a person (default off).
    pub auto_apply: bool,
    /// The run's author may approve it (default off).
    pub allow_self_approval: bool,
    /// Valid approvals an apply needs, 1 to 10 (default 1).
    pub approvals_required: u32,
    /// How long an approval stays valid, 60 s to 30 days (default a day).
    pub approval_ttl_seconds: u64,
    /// State changes only through runs: a direct `terraform apply` is refused (403
    /// `workspace_governed`). On by default for workspaces created through the API.
    pub governed: bool,
}

/// Changes to how runs are approved; each field left out keeps its value.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkspaceRunSettingsUpdate {
    #[serde(default)]
    pub auto_apply: Option<bool>,
    #[serde(default)]
    pub allow_self_approval: Option<bool>,
    #[serde(default)]
    #[schema(minimum = 1, maximum = 10)]
    pub approvals_required: Option<u32>,
    #[serde(default)]
    #[schema(minimum = 60, maximum = 2592000)]
    pub approval_ttl_seconds: Option<u64>,
    #[serde(default)]
    pub governed: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Workspace {
    pub id: String,
    pub identifier: String,
    /// `org/project`.
    pub scope: String,
    pub name: String,
    pub description: String,
    pub provisioner: String,
    pub provisioner_version: String,
    pub tags: Vec<String>,
    pub runs: WorkspaceRunSettings,
    /// `active`, `locked`, or `drifted` (its latest drift check found drift and no
    /// state was written since).
    pub status: String,
    pub created_at: String,
    pub updated_at: String,
    /// Present when reading one workspace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lock: Option<StateLock>,
    /// Present when reading or listing workspaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift: Option<super::WorkspaceDrift>,
    /// The integration (of the SRE service named by `drift_alert_service`) that its
    /// drift arrives through as an alert; absent: drift raises no alert.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift_alert_integration: Option<String>,
}
