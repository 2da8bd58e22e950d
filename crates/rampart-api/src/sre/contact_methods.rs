//! Wire types of users' contact methods.
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A new contact method of the caller in an organisation.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactMethodCreate {
    /// `email`, `slack` (a Slack-compatible incoming webhook URL) or `webhook` (a URL
    /// that receives JSON signed with `X-Rampart-Signature`).
    pub kind: String,
    /// Shown instead of the address on timelines (1 to 64 characters, unique per user
    /// and organisation).
    pub label: String,
    /// The email address or the webhook URL (`https://`, or `http://` inside a network).
    pub address: String,
}

/// A contact method, as its owner reads it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ContactMethod {
    pub id: String,
    pub kind: String,
    pub label: String,
    pub address: String,
    pub created_at: String,
}

/// A contact method just added; a generic webhook's signing secret is shown this once.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ContactMethodCreated {
    pub contact_method: ContactMethod,
    /// The HMAC-SHA256 key of `X-Rampart-Signature` (64 hex characters; `webhook` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_secret: Option<String>,
}

/// The caller's contact methods in an organisation.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ContactMethodList {
    pub items: Vec<ContactMethod>,
}
