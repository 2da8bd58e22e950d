//! Wire types of Terraform state locks.
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Who holds a workspace's lock.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct StateLock {
    pub id: String,
    pub operation: String,
    pub locked_by: String,
    pub locked_at: String,
    /// The client's lock info, as it sent it.
    pub info: serde_json::Value,
}
