//! Wire types of the REST API: what goes over HTTP as JSON, shared by the server and the
//! CLI client, with OpenAPI schemas. No logic lives here; the server converts between
//! these and domain types at the edge.
//!
//! Request bodies refuse unknown fields, so a typo (`"nmae"`) is an error rather than a
//! silently ignored value. Timestamps are RFC 3339 strings in UTC.

pub mod iacm;
pub mod platform;
pub mod sre;

/// Schemas of fields whose values are words from a closed list (`#[schema(schema_with =
/// …)]`): the lists are the domain's parsers', and a word outside them is refused.
pub(crate) mod words {
    use utoipa::openapi::Object;
    use utoipa::openapi::schema::{ObjectBuilder, Type};

    fn one_of(words: &[&str]) -> Object {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(words.iter().copied()))
            .build()
    }

    /// `rampart_domain::sre::incidents::IncidentSeverity`.
    pub fn incident_severity() -> Object {
        one_of(&["SEV0", "SEV1", "SEV2", "SEV3", "SEV4"])
    }

    /// `rampart_domain::sre::incidents::IncidentStatus`.
    pub fn incident_status() -> Object {
        one_of(&[
            "triggered",
            "acknowledged",
            "investigating",
            "identified",
            "monitoring",
            "resolved",
            "closed",
        ])
    }

    /// `rampart_domain::sre::integrations`: the formats a webhook can speak.
    pub fn integration_format() -> Object {
        one_of(&["alertmanager", "grafana", "pagerduty", "generic"])
    }

    /// `rampart_domain::sre::integrations`: how a sender authenticates.
    pub fn integration_auth_mode() -> Object {
        one_of(&["bearer", "basic", "hmac", "routing_key"])
    }
}

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Every error response: `{"error": {"code": "...", "message": "..."}}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ErrorDetail {
    /// Stable, snake_case; clients match on it: one of the `ErrorCode` catalogue, or
    /// `invalid_<field>` for a value that failed validation.
    pub code: String,
    /// Human-readable; may change between versions.
    pub message: String,
    /// The input field at fault, for validation errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The permission that was missing, for 403 answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission: Option<String>,
}

/// One page of a list. Pass `next_cursor` as `?cursor=` to get the next page; `null`
/// means this is the last page.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ListResponse<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// `?limit=&cursor=` on every list endpoint.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// Page size, 1 to 500 (default 50).
    pub limit: Option<u32>,
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
}

/// `?force=true` on deletes of containers.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DeleteParams {
    /// Delete even when not empty (account admins only).
    #[serde(default)]
    pub force: bool,
}

/// Liveness and readiness answers.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct HealthResponse {
    pub status: String,
}
