//! Wire types of secrets (values are write-only: no response carries one).
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A new secret. The value is write-only: no response ever contains it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretCreate {
    #[schema(pattern = "^[a-z0-9][a-z0-9-]{0,62}$")]
    pub identifier: String,
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub description: Option<String>,
    /// At most 64 KiB.
    #[schema(min_length = 1)]
    pub value: String,
}

/// Changes to a secret; a `value` adds a new version.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretUpdate {
    #[serde(default)]
    #[schema(min_length = 1, max_length = 100)]
    pub name: Option<String>,
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub description: Option<String>,
    #[serde(default)]
    pub value: Option<String>,
}

/// A secret's metadata (never its value).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Secret {
    pub id: String,
    pub identifier: String,
    /// `org` or `org/project`.
    pub scope: String,
    pub name: String,
    pub description: String,
    pub current_version: u32,
    pub created_at: String,
    pub updated_at: String,
    /// Newest first; present when reading one secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub versions: Option<Vec<SecretVersion>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct SecretVersion {
    pub version: u32,
    pub created_at: String,
    pub created_by: String,
}
