//! Wire types of alerts and of the answer to a webhook delivery.
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Alert {
    pub id: String,
    pub dedup_key: String,
    pub status: String,
    pub severity: String,
    pub event_count: u64,
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<String>,
}

/// What one webhook event did.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct WebhookAlert {
    pub dedup_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_id: Option<String>,
    /// `created`, `deduplicated`, `acknowledged`, `resolved` or `dropped`.
    pub outcome: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident: Option<u64>,
}

/// The 202 answer to a webhook.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct WebhookAccepted {
    pub status: String,
    pub alerts: Vec<WebhookAlert>,
    /// Alerts the sender said it left out.
    pub truncated_alerts: u64,
    /// PagerDuty: the dedup key generated for a trigger that had none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dedup_key: Option<String>,
}
