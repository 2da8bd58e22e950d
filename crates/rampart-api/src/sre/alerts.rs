//! Wire types of alerts (in an incident and in the alerts API), the alert list's
//! filters, and the answers to a webhook delivery (at the PagerDuty-compatible route,
//! PagerDuty's own shapes).
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An alert. In an incident's detail it carries the first fields only; the alerts API
/// adds its service, incident and last change, and (one alert) its payload.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Alert {
    pub id: String,
    pub dedup_key: String,
    /// `triggered`, `acknowledged` or `resolved`.
    pub status: String,
    pub severity: String,
    pub event_count: u64,
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<String>,
    /// The service's identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// The number of the incident it went to (none when recorded only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    /// Everything the sender said (summary, source, labels, annotations, links,
    /// details); one alert's detail only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<serde_json::Value>,
}

/// `?status=&service=&since=&limit=&cursor=` on the alert list.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertListParams {
    /// `triggered`, `acknowledged` or `resolved`.
    #[serde(default)]
    pub status: Option<String>,
    /// A service's identifier.
    #[serde(default)]
    pub service: Option<String>,
    /// Alerts created at or after this RFC 3339 time.
    #[serde(default)]
    pub since: Option<String>,
    #[serde(default)]
    pub limit: Option<u32>,
    #[serde(default)]
    pub cursor: Option<String>,
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

/// The 202 answer of the PagerDuty-compatible route (`POST /hooks/pagerduty/v2/enqueue`),
/// PagerDuty's own: `{"status": "success", "message": "Event processed", "dedup_key": …}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct PagerDutyEventAccepted {
    /// `success`.
    pub status: String,
    /// `Event processed`.
    pub message: String,
    /// The event's dedup key: the one it gave, or the one generated for a trigger that
    /// had none (acknowledge and resolve it with this).
    pub dedup_key: String,
}

/// An error of the PagerDuty-compatible route: PagerDuty's fields for PagerDuty's
/// clients (Alertmanager reads `message` and `errors`), and Rampart's `error` with its
/// catalogued code for everything else — one body, both readings.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct PagerDutyEventError {
    /// PagerDuty's word for it: `invalid event` (400, 413), `throttle event` (429),
    /// `forbidden` (403), `error` (5xx), `rejected` (any other).
    pub status: String,
    /// `Event object is invalid` for an invalid event, as PagerDuty says it; otherwise
    /// what went wrong.
    pub message: String,
    /// What is wrong, one sentence each.
    pub errors: Vec<String>,
    /// The error as every Rampart answer carries it (`code` from the catalogue).
    pub error: crate::ErrorDetail,
}
