//! Wire types of webhook integrations (the credential appears only in `IntegrationCreated`).
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IntegrationCreate {
    pub name: String,
    /// `alertmanager`, `grafana`, `pagerduty` or `generic`.
    pub format: String,
    /// `bearer`, `basic` or `hmac`.
    pub auth_mode: String,
    /// Source networks allowed to send; empty: any.
    #[serde(default)]
    pub source_cidrs: Vec<String>,
    /// Default 600.
    #[serde(default)]
    pub rate_limit_per_minute: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Integration {
    pub id: String,
    pub service: String,
    pub name: String,
    pub format: String,
    pub auth_mode: String,
    pub source_cidrs: Vec<String>,
    pub rate_limit_per_minute: u32,
    /// `/hooks/v1/{id}`.
    pub url_path: String,
    pub created_at: String,
}

/// A new integration with its credential, shown once.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct IntegrationCreated {
    pub integration: Integration,
    /// Bearer: the `rmp_whk_` token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Basic: the username and password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// HMAC: the signing secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}
