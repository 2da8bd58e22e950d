//! Wire types of a service's alert rules: which new alerts open an incident and which
//! are only recorded.
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A service's alert rules, in order; the first whose conditions all hold decides. No
/// match: open an incident.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AlertRules {
    /// The rules, in order.
    pub rules: Vec<AlertRule>,
}

/// A service's new alert rules (replacing all of them), in order; the first whose
/// conditions all hold decides. No match: open an incident.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AlertRulesUpdate {
    /// The rules, in order; at most 50. Read by the server as `AlertRule`s; rules of
    /// the wrong shape are refused as `invalid_rules`.
    #[schema(value_type = Vec<AlertRule>)]
    pub rules: serde_json::Value,
}

/// One alert rule: when its conditions all hold for a new alert, its action decides.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AlertRule {
    /// The rule's name, 1 to 100 characters.
    pub name: String,
    /// What a new alert must be for the rule to apply; none: every alert.
    #[serde(default)]
    pub conditions: AlertConditions,
    /// What happens to an alert the rule applies to.
    pub action: AlertRuleAction,
}

/// Conditions on a new alert; every one given must hold.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AlertConditions {
    /// At least this severity (`info` < `warning` < `error` < `critical`).
    #[serde(default)]
    pub min_severity: Option<String>,
    /// At most this severity.
    #[serde(default)]
    pub max_severity: Option<String>,
    /// Every label given must have exactly this value.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// The alert's source, exactly.
    #[serde(default)]
    pub source: Option<String>,
}

/// What an alert rule does with the alerts it applies to.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AlertRuleAction {
    /// Open an incident for the alert's group, or join the group's open one.
    OpenIncident,
    /// Record the alert only: no incident, nobody paged.
    RecordOnly,
}
