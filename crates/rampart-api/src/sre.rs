//! Wire types of services, integrations, incidents and webhook answers.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceCreate {
    pub identifier: String,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Resolve an incident when all its alerts resolve (default true).
    #[serde(default)]
    pub auto_resolve: Option<bool>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceUpdate {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub auto_resolve: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Service {
    pub id: String,
    pub identifier: String,
    pub name: String,
    pub description: String,
    pub auto_resolve: bool,
    pub created_at: String,
    /// Present when reading one service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ownership: Option<ServiceOwnership>,
}

/// A service's owner team (a user group id), subscribers (`user:<id>` or `group:<id>`,
/// told in-app when an incident opens) and tags.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ServiceOwnership {
    #[serde(default)]
    pub owner_group: Option<String>,
    #[serde(default)]
    pub subscribers: Vec<String>,
    #[serde(default)]
    pub tags: Vec<String>,
}

/// An organisation's names for SEV0…SEV4 (missing levels show their code).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SeverityLabels {
    pub labels: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IntegrationCreate {
    pub name: String,
    /// `alertmanager`, `grafana`, `pagerduty` or `generic`.
    pub format: String,
    /// `bearer`, `basic` or `hmac`.
    pub auth_mode: String,
    /// Source networks allowed to send; empty: any.
    #[serde(default)]
    pub source_cidrs: Vec<String>,
    /// Default 600.
    #[serde(default)]
    pub rate_limit_per_minute: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Integration {
    pub id: String,
    pub service: String,
    pub name: String,
    pub format: String,
    pub auth_mode: String,
    pub source_cidrs: Vec<String>,
    pub rate_limit_per_minute: u32,
    /// `/hooks/v1/{id}`.
    pub url_path: String,
    pub created_at: String,
}

/// A new integration with its credential, shown once.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct IntegrationCreated {
    pub integration: Integration,
    /// Bearer: the `rmp_whk_` token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Basic: the username and password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// HMAC: the signing secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentCreate {
    pub title: String,
    /// SEV0 to SEV4.
    pub severity: String,
}

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
    pub title: String,
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
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionItemCreate {
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
    pub status: String,
    /// A status update for the timeline.
    #[serde(default)]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentNote {
    pub text: String,
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

/// A new schedule or escalation policy. `definition` is the schedule's
/// `{time_zone, layers, overrides}` or the policy's `{levels, repeats}` (see the README).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DefinitionCreate {
    pub identifier: String,
    pub name: String,
    pub definition: serde_json::Value,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DefinitionUpdate {
    pub name: String,
    pub definition: serde_json::Value,
}

/// A schedule or an escalation policy.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Definition {
    pub id: String,
    pub identifier: String,
    pub name: String,
    pub definition: serde_json::Value,
    pub created_at: String,
    pub updated_at: String,
}

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

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceEscalationPolicy {
    /// An escalation policy identifier of the project, or null to stop paging.
    pub escalation_policy: Option<String>,
}

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

/// A service's alert rules, in order; the first whose conditions all hold decides.
/// Each: `{"name", "conditions": {"min_severity", "max_severity", "labels": {…},
/// "source"}, "action": "open_incident" | "record_only"}`. No match: open an incident.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AlertRules {
    pub rules: serde_json::Value,
}

/// A field that is absent stays `None`; present (even as `null`) it is `Some(_)`, so
/// `null` can clear a value.
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}
