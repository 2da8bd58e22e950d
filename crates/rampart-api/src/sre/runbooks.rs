//! Wire types of runbooks: a runbook (identifier, name, its current or a chosen version
//! of its definition) and its versions. The definition travels as the author wrote it —
//! `description`, `sensitive`, `delegate_selector`, `inputs`, `secrets`, `steps`
//! (`script`, `http_request`, `prometheus_query`, `notification`, `add_note`, `set_status`, `page`), `triggers` — and is checked by
//! the server, which names the place of an error (`steps[1].url: …`).
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A new runbook.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunbookCreate {
    /// The runbook's identifier in its project (a slug), used in paths.
    #[schema(pattern = "^[a-z0-9][a-z0-9-]{0,62}$")]
    pub identifier: String,
    /// Its display name.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// What it does and how (see the module documentation); a definition of the wrong
    /// shape is refused as `invalid_definition`, naming the place.
    #[schema(value_type = Object)]
    pub definition: serde_json::Value,
}

/// A new version of a runbook's definition.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunbookUpdate {
    /// A new display name (default: unchanged).
    #[serde(default)]
    #[schema(min_length = 1, max_length = 100)]
    pub name: Option<String>,
    /// The whole new definition.
    #[schema(value_type = Object)]
    pub definition: serde_json::Value,
    /// The version this change was made to: a newer one answers 409
    /// `runbook_version_stale` instead of being overwritten.
    #[serde(default)]
    pub expected_version: Option<u32>,
}

/// A runbook with one version of its definition.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Runbook {
    pub id: String,
    pub identifier: String,
    pub name: String,
    /// The newest version.
    pub current_version: u32,
    /// The version of `definition` shown.
    pub version: u32,
    /// A second person approves each execution.
    pub sensitive: bool,
    pub steps: u32,
    /// As its author wrote it (defaults left out).
    #[schema(value_type = Object)]
    pub definition: serde_json::Value,
    /// Who wrote the version shown.
    pub version_created_by: String,
    pub created_at: String,
    pub updated_at: String,
}

/// A runbook as listed (no definition).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct RunbookSummary {
    pub id: String,
    pub identifier: String,
    pub name: String,
    pub current_version: u32,
    pub created_at: String,
    pub updated_at: String,
}

/// One version of a runbook's definition.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct RunbookVersion {
    pub version: u32,
    pub created_at: String,
    pub created_by: String,
}

/// A runbook's versions, newest first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct RunbookVersionList {
    pub items: Vec<RunbookVersion>,
}

/// `?version=` on reading a runbook: that version instead of the current one.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunbookParams {
    #[serde(default)]
    pub version: Option<u32>,
}
