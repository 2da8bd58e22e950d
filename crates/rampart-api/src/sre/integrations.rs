//! Wire types of webhook integrations (the credential appears only in `IntegrationCreated`).
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IntegrationCreate {
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// `alertmanager`, `grafana`, `pagerduty` or `generic`.
    #[schema(schema_with = crate::words::integration_format)]
    pub format: String,
    /// `bearer`, `basic`, `hmac` or `routing_key` (PagerDuty's integration key in the
    /// event body; format `pagerduty` only).
    #[schema(schema_with = crate::words::integration_auth_mode)]
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
    /// Where senders post: `/hooks/v1/{id}`; for a `routing_key` integration
    /// `/hooks/pagerduty/v2/enqueue`, the same for every one (a PagerDuty sender's base
    /// URL is `https://HOST:PORT/hooks/pagerduty`).
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
    /// Routing key: the integration key (32 lowercase hex characters, like
    /// PagerDuty's), which senders put in the body as `routing_key`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing_key: Option<String>,
    /// Basic: the username and password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// HMAC: the signing secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}
