//! Wire types of the service directory: services, ownership and severity labels.
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceCreate {
    pub identifier: String,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Resolve an incident when all its alerts resolve (default true).
    #[serde(default)]
    pub auto_resolve: Option<bool>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceUpdate {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
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
