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
}
