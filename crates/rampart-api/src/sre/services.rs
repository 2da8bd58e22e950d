//! Wire types of the service directory: services, ownership and severity labels.
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceCreate {
    #[schema(pattern = "^[a-z0-9][a-z0-9-]{0,62}$")]
    pub identifier: String,
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub description: Option<String>,
    /// Resolve an incident when all its alerts resolve (default true).
    #[serde(default)]
    pub auto_resolve: Option<bool>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceUpdate {
    #[serde(default)]
    #[schema(min_length = 1, max_length = 100)]
    pub name: Option<String>,
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub description: Option<String>,
    #[serde(default)]
    pub auto_resolve: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Service {
    pub id: String,
    pub identifier: String,
    pub name: String,
    pub description: String,
    pub auto_resolve: bool,
    pub created_at: String,
    /// Present when reading one service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ownership: Option<ServiceOwnership>,
}

/// A service's owner team (a user group id), subscribers (`user:<id>` or `group:<id>`,
/// told in-app when an incident opens) and tags.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ServiceOwnership {
    #[serde(default)]
    pub owner_group: Option<String>,
    #[serde(default)]
    pub subscribers: Vec<String>,
    #[serde(default)]
    pub tags: Vec<String>,
}

/// An organisation's names for SEV0…SEV4 (missing levels show their code).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SeverityLabels {
    pub labels: std::collections::BTreeMap<String, String>,
}
