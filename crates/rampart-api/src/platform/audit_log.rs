//! Wire types of the audit log: queries, events, the signing key and retention.
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Filters of the audit query and export routes.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditParams {
    /// Events at or after this RFC 3339 time.
    #[serde(default)]
    pub since: Option<String>,
    /// Events before this RFC 3339 time.
    #[serde(default)]
    pub until: Option<String>,
    /// `user:<id>` or `service_account:<id>`.
    #[serde(default)]
    pub actor: Option<String>,
    #[serde(default)]
    pub action: Option<String>,
    #[serde(default)]
    pub resource_type: Option<String>,
    #[serde(default)]
    pub resource_id: Option<String>,
    /// `success`, `failure` or `denied`.
    #[serde(default)]
    pub outcome: Option<String>,
    #[serde(default)]
    pub limit: Option<u32>,
    #[serde(default)]
    pub cursor: Option<String>,
    /// Export only: `ndjson` (default) or `csv`.
    #[serde(default)]
    pub format: Option<String>,
}

/// One audit event.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct AuditEvent {
    /// The event's position in the tamper-evident log.
    pub index: u64,
    pub id: String,
    pub occurred_at: String,
    pub actor: Option<String>,
    pub auth_method: Option<String>,
    pub token_id: Option<String>,
    pub client_ip: Option<String>,
    pub org_id: Option<String>,
    pub project_id: Option<String>,
    pub action: String,
    pub resource_type: String,
    pub resource_id: Option<String>,
    pub outcome: String,
    pub request_id: Option<String>,
    /// Non-secret facts about the action.
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

/// The audit log's Ed25519 public key, for offline verification of exports.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct AuditPublicKey {
    /// 32 bytes, hex.
    pub public_key: String,
    pub algorithm: String,
}

/// How long an organisation's audit events keep their bodies.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AuditRetention {
    /// Days, 1 to 36500; `null` keeps events for ever. Older events keep only their
    /// hash, so the log still verifies.
    pub days: Option<u32>,
}
