//! Wire types of who is on call and on-call timelines.
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OnCallQuery {
    /// RFC 3339; default now.
    #[serde(default)]
    pub at: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct OnCall {
    pub schedule: String,
    pub at: String,
    /// The user id on call, or null (nobody: a gap).
    pub user: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RangeQuery {
    pub from: String,
    pub to: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct OnCallSegment {
    pub start: String,
    pub end: String,
    pub user: Option<String>,
    /// `override` or `layer:<name>`; null for a gap.
    pub source: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct OnCallTimeline {
    pub schedule: String,
    pub segments: Vec<OnCallSegment>,
    /// The stretches with nobody on call.
    pub gaps: Vec<OnCallSegment>,
}
