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
    /// `active` or `locked`.
    pub status: String,
    pub created_at: String,
    pub updated_at: String,
    /// Present when reading one workspace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lock: Option<StateLock>,
}
