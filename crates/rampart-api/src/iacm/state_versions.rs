//! Wire types of Terraform state versions: history, rollback, resources and diffs.
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One stored state version (metadata; the body is downloaded separately).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct StateVersion {
    pub version: u64,
    pub serial: u64,
    pub lineage: String,
    /// Hex SHA-256 of the body.
    pub sha256: String,
    pub size_bytes: u64,
    pub resource_count: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lock_id: Option<String>,
    pub created_by: String,
    pub created_at: String,
    /// Why it was written, for a rollback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StateRollback {
    /// The version whose content becomes the newest version.
    pub version: u64,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct StateResource {
    pub address: String,
    /// `managed` or `data`.
    pub mode: String,
    #[serde(rename = "type")]
    pub resource_type: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
    pub provider: String,
    pub instances: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct StateOutput {
    pub name: String,
    pub sensitive: bool,
    /// Absent for a sensitive output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<serde_json::Value>,
}

/// What the current state holds.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct StateResources {
    pub version: u64,
    pub serial: u64,
    pub lineage: String,
    pub terraform_version: String,
    pub resources: Vec<StateResource>,
    pub outputs: Vec<StateOutput>,
    pub modules: Vec<String>,
}

/// What changed between two versions.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct StateDiff {
    pub from: u64,
    pub to: u64,
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<String>,
    pub outputs_added: Vec<String>,
    pub outputs_removed: Vec<String>,
    pub outputs_changed: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StateDiffQuery {
    pub from: u64,
    pub to: u64,
}
