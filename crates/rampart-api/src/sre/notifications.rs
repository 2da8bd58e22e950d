//! Wire types of in-app notifications.
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Notification {
    pub id: String,
    pub kind: String,
    pub project_id: String,
    pub incident_id: String,
    pub incident_number: u64,
    pub level: u64,
    pub round: u64,
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_at: Option<String>,
    /// Where delegates took it: one entry per contact method it was sent to.
    #[serde(default)]
    pub deliveries: Vec<NotificationDelivery>,
}

/// One notification's delivery to one contact method.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct NotificationDelivery {
    /// The delegate task carrying it.
    pub task_id: String,
    pub channel: String,
    /// The contact method's label.
    pub label: String,
    /// queued, running, succeeded, failed or refused.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    pub updated_at: String,
}
