//! A service's alert rules: which new alerts open (or join) an incident and which are
//! only recorded. The first rule whose conditions all hold decides; with no rule
//! matching, an alert opens an incident (the default PagerDuty and Grafana OnCall users
//! expect: nothing is silently dropped unless a rule says so).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::payload::{AlertEvent, Severity};
use crate::ValidationError;

/// The most rules of one service.
pub const ALERT_RULES_MAX: usize = 50;

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Conditions {
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

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RuleAction {
    /// Open an incident for the alert's group, or join the group's open one.
    OpenIncident,
    /// Record the alert only: no incident, nobody paged.
    RecordOnly,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AlertRule {
    pub name: String,
    #[serde(default)]
    pub conditions: Conditions,
    pub action: RuleAction,
}

fn severity(text: &str) -> Result<Severity, ValidationError> {
    Severity::from_label(text).ok_or_else(|| {
        ValidationError::new(
            "conditions",
            "severities are info, warning, error or critical",
        )
    })
}

/// Checks a service's rules.
pub fn validate_rules(rules: &[AlertRule]) -> Result<(), ValidationError> {
    if rules.len() > ALERT_RULES_MAX {
        return Err(ValidationError::new(
            "rules",
            format!("a service has at most {ALERT_RULES_MAX} alert rules"),
        ));
    }
    for rule in rules {
        if rule.name.trim().is_empty() || rule.name.chars().count() > 100 {
            return Err(ValidationError::new(
                "rules",
                "a rule has a name of 1 to 100 characters",
            ));
        }
        for bound in [&rule.conditions.min_severity, &rule.conditions.max_severity]
            .into_iter()
            .flatten()
        {
            severity(bound)?;
        }
    }
    Ok(())
}

impl Conditions {
    fn hold_for(&self, event: &AlertEvent) -> bool {
        let at_least = self
            .min_severity
            .as_deref()
            .and_then(Severity::from_label)
            .is_none_or(|min| event.severity >= min);
        let at_most = self
            .max_severity
            .as_deref()
            .and_then(Severity::from_label)
            .is_none_or(|max| event.severity <= max);
        let labels = self
            .labels
            .iter()
            .all(|(name, value)| event.labels.get(name) == Some(value));
        let source = self
            .source
            .as_ref()
            .is_none_or(|source| &event.source == source);
        at_least && at_most && labels && source
    }
}

/// What the rules say for a new alert, and which rule said it.
pub fn decide<'r>(rules: &'r [AlertRule], event: &AlertEvent) -> (RuleAction, Option<&'r str>) {
    rules
        .iter()
        .find(|rule| rule.conditions.hold_for(event))
        .map_or((RuleAction::OpenIncident, None), |rule| {
            (rule.action, Some(rule.name.as_str()))
        })
}

#[cfg(test)]
mod tests {
    use super::super::payload::Action;
    use super::*;

    fn event(severity: Severity, labels: &[(&str, &str)], source: &str) -> AlertEvent {
        AlertEvent {
            dedup_key: "k".into(),
            action: Action::Trigger,
            summary: "s".into(),
            severity,
            source: source.into(),
            group_key: None,
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            annotations: BTreeMap::new(),
            links: Vec::new(),
            details: serde_json::Value::Null,
        }
    }

    #[test]
    fn the_first_matching_rule_decides_and_the_default_opens_an_incident() {
        let rules: Vec<AlertRule> = serde_json::from_value(serde_json::json!([
            {"name": "staging is noise", "conditions": {"labels": {"env": "staging"}}, "action": "record_only"},
            {"name": "low severity", "conditions": {"max_severity": "info"}, "action": "record_only"},
            {"name": "db pages", "conditions": {"min_severity": "error", "source": "db-1"}, "action": "open_incident"}
        ]))
        .unwrap();
        validate_rules(&rules).unwrap();
        let staging = event(Severity::Critical, &[("env", "staging")], "web-1");
        assert_eq!(
            decide(&rules, &staging),
            (RuleAction::RecordOnly, Some("staging is noise"))
        );
        let info = event(Severity::Info, &[], "web-1");
        assert_eq!(decide(&rules, &info).0, RuleAction::RecordOnly);
        let db = event(Severity::Critical, &[], "db-1");
        assert_eq!(
            decide(&rules, &db),
            (RuleAction::OpenIncident, Some("db pages"))
        );
        let other = event(Severity::Warning, &[("env", "prod")], "web-2");
        assert_eq!(decide(&rules, &other), (RuleAction::OpenIncident, None));
        assert_eq!(decide(&[], &other), (RuleAction::OpenIncident, None));

        let bad: Vec<AlertRule> = serde_json::from_value(serde_json::json!([
            {"name": "x", "conditions": {"min_severity": "apocalyptic"}, "action": "record_only"}
        ]))
        .unwrap();
        assert!(validate_rules(&bad).is_err());
        assert!(
            serde_json::from_value::<Vec<AlertRule>>(serde_json::json!([
                {"name": "x", "action": "delete_everything"}
            ]))
            .is_err()
        );
    }
}
