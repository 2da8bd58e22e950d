//! Wire types of incidents: the incident, its timeline, fields, action items, status changes and notes.
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Alert;

/// `?limit=&cursor=&status=&severity=&service=` on a project's incident list.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentListParams {
    pub limit: Option<u32>,
    pub cursor: Option<String>,
    /// `open`, or a comma-separated list of statuses.
    pub status: Option<String>,
    /// `SEV0` to `SEV4`.
    pub severity: Option<String>,
    /// The identifier of the service that opened them.
    pub service: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentCreate {
    #[schema(min_length = 1, max_length = 1024)]
    pub title: String,
    /// SEV0 to SEV4.
    #[schema(schema_with = crate::words::incident_severity)]
    pub severity: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct TimelineEntry {
    pub seq: u64,
    pub at: String,
    pub actor: String,
    pub kind: String,
    pub body: serde_json::Value,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Incident {
    pub id: String,
    pub number: u64,
    /// Empty when `unreadable`.
    pub title: String,
    /// `true` when this incident's stored data failed its integrity check (tampered with
    /// or damaged in the database): only a list shows it, with an empty title; reading
    /// its detail and every change to it answer 500 `integrity_violation`. The first
    /// request to meet it wrote an `incident.integrity_violation` audit event. A client
    /// shows it as unreadable and tells an operator; restoring the data from a backup
    /// makes it readable again.
    #[serde(default)]
    pub unreadable: bool,
    pub severity: String,
    /// The organisation's name for the severity (its code when not renamed).
    pub severity_label: String,
    pub status: String,
    pub created_at: String,
    pub updated_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<String>,
    /// Present when reading one incident.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alerts: Option<Vec<Alert>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeline: Option<Vec<TimelineEntry>>,
    /// Present when reading one incident.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commander: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignees: Option<Vec<String>>,
    /// Service ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linked_services: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_fields: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_items: Option<Vec<ActionItem>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ActionItem {
    pub item: u64,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
    pub done: bool,
    pub created_at: String,
    pub updated_at: String,
}

/// Changes to an incident; absent fields stay as they are (`commander: null` clears).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentUpdate {
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    #[schema(max_length = 16384)]
    pub description: Option<String>,
    /// SEV0 to SEV4.
    #[serde(default)]
    pub severity: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub commander: Option<Option<String>>,
    #[serde(default)]
    pub assignees: Option<Vec<String>>,
    /// Service identifiers of the project.
    #[serde(default)]
    pub linked_services: Option<Vec<String>>,
    #[serde(default)]
    pub custom_fields: Option<serde_json::Map<String, serde_json::Value>>,
    /// What the change was made from: each field given must still be the incident's
    /// when the change applies (compared with the incident held), or nothing changes
    /// and the answer is 409 `incident_changed_since` naming the fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<IncidentExpected>,
}

/// The values an incident change was made from (`IncidentUpdate.expected`):
/// `commander: null` expects no commander; assignees (user ids) compare in any order,
/// descriptions with every line break as LF.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct IncidentExpected {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub commander: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignees: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionItemCreate {
    #[schema(min_length = 1, max_length = 1024)]
    pub text: String,
    #[serde(default)]
    pub assignee: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionItemUpdate {
    pub done: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentStatusChange {
    #[schema(schema_with = crate::words::incident_status)]
    pub status: String,
    /// A status update for the timeline.
    #[serde(default)]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentNote {
    #[schema(min_length = 1, max_length = 16384)]
    pub text: String,
}

/// A field that is absent stays `None`; present (even as `null`) it is `Some(_)`, so
/// `null` can clear a value.
pub(crate) fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}
