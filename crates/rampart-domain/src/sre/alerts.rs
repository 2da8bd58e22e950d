//! Alerts: what a monitoring tool said about one problem, deduplicated by key per
//! integration, and the decision each incoming event makes ([`decide_alert`]).
//!
//! Rules: a trigger whose dedup key has an open alert on the integration is the same
//! alert (a redelivery changes nothing but a counter); otherwise it opens a new alert
//! and — unless the service's alert rules say to record it only — goes to an incident
//! for its alert group (the group's open incident, or a new one). Acknowledge and
//! resolve act on the open alert; with none they are dropped. A resolved alert frees its
//! key: the next trigger opens a new alert. A person acknowledges or resolves an alert
//! by hand with the same decisions ([`decide_by_hand`]), refused when the alert is not
//! open for it.

use jiff::Timestamp;

use super::alert_rules::{AlertRule, RuleAction, decide};
use super::payload::{Action, AlertEvent};
use crate::{AlertId, ErrorCode, IncidentId, IntegrationId, ProjectId, Refusal, ServiceId};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlertStatus {
    Triggered,
    Acknowledged,
    Resolved,
}

impl AlertStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Triggered => "triggered",
            Self::Acknowledged => "acknowledged",
            Self::Resolved => "resolved",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "triggered" => Some(Self::Triggered),
            "acknowledged" => Some(Self::Acknowledged),
            "resolved" => Some(Self::Resolved),
            _ => None,
        }
    }
}

/// An alert. What its sender wrote — the payload and the dedup key — is sealed and kept
/// beside it; its dedup and group keys are also kept as blind indexes (keyed HMACs that
/// the app computes) for lookups.
#[derive(Clone, Debug, PartialEq)]
pub struct Alert {
    pub id: AlertId,
    pub project_id: ProjectId,
    pub service_id: ServiceId,
    pub integration_id: IntegrationId,
    pub status: AlertStatus,
    /// `info`, `warning`, `error` or `critical`.
    pub severity: String,
    /// The blind index of its group key ([`group_of`]): alerts of a group go to one
    /// incident, whose `open_group` is the same index.
    pub group_index: String,
    pub incident_id: Option<IncidentId>,
    /// Deliveries of it, the first included.
    pub event_count: u64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub resolved_at: Option<Timestamp>,
}

impl Alert {
    /// The new alert `event` opens, in `incident` (none when recorded only), with
    /// `group_index` the blind index of its group key.
    pub fn open(
        id: AlertId,
        integration: (ProjectId, ServiceId, IntegrationId),
        event: &AlertEvent,
        group_index: String,
        incident: Option<IncidentId>,
        now: Timestamp,
    ) -> Self {
        let (project_id, service_id, integration_id) = integration;
        Self {
            id,
            project_id,
            service_id,
            integration_id,
            status: AlertStatus::Triggered,
            severity: event.severity.as_str().to_owned(),
            group_index,
            incident_id: incident,
            event_count: 1,
            created_at: now,
            updated_at: now,
            resolved_at: None,
        }
    }
}

/// The alert group of an event: its `group_key`, else its dedup key.
pub fn group_of(event: &AlertEvent) -> &str {
    event.group_key.as_deref().unwrap_or(&event.dedup_key)
}

/// What one incoming event does, given the open alert with its dedup key on its
/// integration (if any) and the service's alert rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AlertDecision {
    /// A trigger for the open alert: the same alert, one more delivery.
    Deduplicate { alert: AlertId },
    /// A trigger with no open alert: a new alert, sent to its group's incident or (a
    /// rule said so) recorded only; `rule` names the rule that decided, if one did.
    Open {
        to_incident: bool,
        rule: Option<String>,
    },
    /// Acknowledge the open alert (`changes_status` false: it already is; only a
    /// delivery is counted).
    Acknowledge {
        alert: AlertId,
        changes_status: bool,
    },
    /// Resolve the open alert, and look at its incident (if any) for auto-resolution.
    Resolve {
        alert: AlertId,
        incident: Option<IncidentId>,
    },
    /// Acknowledge or resolve with no open alert: nothing to act on.
    Drop,
}

impl AlertDecision {
    /// The outcome reported to the sender for this decision.
    pub fn outcome(&self) -> AlertOutcomeKind {
        match self {
            Self::Deduplicate { .. } => AlertOutcomeKind::Deduplicated,
            Self::Open {
                to_incident: true, ..
            } => AlertOutcomeKind::Created,
            Self::Open { .. } => AlertOutcomeKind::Recorded,
            Self::Acknowledge { .. } => AlertOutcomeKind::Acknowledged,
            Self::Resolve { .. } => AlertOutcomeKind::Resolved,
            Self::Drop => AlertOutcomeKind::Dropped,
        }
    }
}

/// Decides what `event` does. Pure: the caller holds the alert group's lock while it
/// reads `open` and writes the decision, so concurrent identical triggers make one alert.
pub fn decide_alert(
    open: Option<&Alert>,
    event: &AlertEvent,
    rules: &[AlertRule],
) -> AlertDecision {
    match (event.action, open) {
        (Action::Trigger, Some(open)) => AlertDecision::Deduplicate { alert: open.id },
        (Action::Trigger, None) => {
            let (action, rule) = decide(rules, event);
            AlertDecision::Open {
                to_incident: action != RuleAction::RecordOnly,
                rule: rule.map(str::to_owned),
            }
        }
        (Action::Acknowledge | Action::Resolve, None) => AlertDecision::Drop,
        (Action::Acknowledge, Some(open)) => AlertDecision::Acknowledge {
            alert: open.id,
            changes_status: open.status == AlertStatus::Triggered,
        },
        (Action::Resolve, Some(open)) => AlertDecision::Resolve {
            alert: open.id,
            incident: open.incident_id,
        },
    }
}

/// What a person does to an alert by hand (the API's acknowledge and resolve).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HandAction {
    Acknowledge,
    Resolve,
}

/// Decides an acknowledgement or resolution by hand: the decision the sender's own
/// acknowledge or resolve event makes on the open alert ([`decide_alert`]). A resolved
/// alert is closed to both (`alert_resolved`); an acknowledged one cannot be
/// acknowledged again (`alert_acknowledged`), only resolved.
pub fn decide_by_hand(alert: &Alert, action: HandAction) -> Result<AlertDecision, Refusal> {
    match (alert.status, action) {
        (AlertStatus::Resolved, _) => Err(Refusal::new(
            ErrorCode::AlertResolved,
            "the alert is resolved; a new trigger opens a new alert",
        )),
        (AlertStatus::Acknowledged, HandAction::Acknowledge) => Err(Refusal::new(
            ErrorCode::AlertAcknowledged,
            "the alert is already acknowledged",
        )),
        (AlertStatus::Triggered, HandAction::Acknowledge) => Ok(AlertDecision::Acknowledge {
            alert: alert.id,
            changes_status: true,
        }),
        (_, HandAction::Resolve) => Ok(AlertDecision::Resolve {
            alert: alert.id,
            incident: alert.incident_id,
        }),
    }
}

/// What happened to one event of a delivery, as the sender is told.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlertOutcomeKind {
    Created,
    Recorded,
    Deduplicated,
    Acknowledged,
    Resolved,
    Dropped,
}

impl AlertOutcomeKind {
    pub const ALL: [AlertOutcomeKind; 6] = [
        Self::Created,
        Self::Recorded,
        Self::Deduplicated,
        Self::Acknowledged,
        Self::Resolved,
        Self::Dropped,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Recorded => "recorded",
            Self::Deduplicated => "deduplicated",
            Self::Acknowledged => "acknowledged",
            Self::Resolved => "resolved",
            Self::Dropped => "dropped",
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::super::alert_rules::Conditions;
    use super::super::payload::Severity;
    use super::*;

    fn id(n: u128) -> AlertId {
        AlertId::from_uuid(uuid::Uuid::from_u128(n))
    }

    fn event(action: Action, severity: Severity, group: Option<&str>) -> AlertEvent {
        AlertEvent {
            dedup_key: "key".into(),
            action,
            summary: "disk full".into(),
            severity,
            source: "host-1".into(),
            group_key: group.map(str::to_owned),
            labels: BTreeMap::new(),
            annotations: BTreeMap::new(),
            links: Vec::new(),
            details: serde_json::Value::Null,
        }
    }

    fn open_alert(status: AlertStatus, incident: Option<u128>) -> Alert {
        let mut alert = Alert::open(
            id(1),
            (
                ProjectId::from_uuid(uuid::Uuid::from_u128(2)),
                ServiceId::from_uuid(uuid::Uuid::from_u128(3)),
                IntegrationId::from_uuid(uuid::Uuid::from_u128(4)),
            ),
            &event(Action::Trigger, Severity::Error, None),
            "index of key".into(),
            incident.map(|n| IncidentId::from_uuid(uuid::Uuid::from_u128(n))),
            Timestamp::UNIX_EPOCH,
        );
        alert.status = status;
        alert
    }

    fn record_info_only() -> Vec<AlertRule> {
        vec![AlertRule {
            name: "quiet".into(),
            conditions: Conditions {
                max_severity: Some("info".into()),
                ..Conditions::default()
            },
            action: RuleAction::RecordOnly,
        }]
    }

    #[test]
    fn every_action_against_every_open_state() {
        use AlertOutcomeKind as O;
        let incident = Some(IncidentId::from_uuid(uuid::Uuid::from_u128(9)));
        let triggered = open_alert(AlertStatus::Triggered, Some(9));
        let acknowledged = open_alert(AlertStatus::Acknowledged, None);
        let rules = record_info_only();
        // (action, severity, open alert, expected decision, expected outcome)
        let cases: Vec<(Action, Severity, Option<&Alert>, AlertDecision, O)> = vec![
            (
                Action::Trigger,
                Severity::Error,
                Some(&triggered),
                AlertDecision::Deduplicate { alert: id(1) },
                O::Deduplicated,
            ),
            (
                Action::Trigger,
                Severity::Error,
                None,
                AlertDecision::Open {
                    to_incident: true,
                    rule: None,
                },
                O::Created,
            ),
            (
                Action::Trigger,
                Severity::Info,
                None,
                AlertDecision::Open {
                    to_incident: false,
                    rule: Some("quiet".into()),
                },
                O::Recorded,
            ),
            (
                Action::Trigger,
                Severity::Info,
                Some(&acknowledged),
                AlertDecision::Deduplicate { alert: id(1) },
                O::Deduplicated,
            ),
            (
                Action::Acknowledge,
                Severity::Error,
                None,
                AlertDecision::Drop,
                O::Dropped,
            ),
            (
                Action::Resolve,
                Severity::Error,
                None,
                AlertDecision::Drop,
                O::Dropped,
            ),
            (
                Action::Acknowledge,
                Severity::Error,
                Some(&triggered),
                AlertDecision::Acknowledge {
                    alert: id(1),
                    changes_status: true,
                },
                O::Acknowledged,
            ),
            (
                Action::Acknowledge,
                Severity::Error,
                Some(&acknowledged),
                AlertDecision::Acknowledge {
                    alert: id(1),
                    changes_status: false,
                },
                O::Acknowledged,
            ),
            (
                Action::Resolve,
                Severity::Error,
                Some(&triggered),
                AlertDecision::Resolve {
                    alert: id(1),
                    incident,
                },
                O::Resolved,
            ),
            (
                Action::Resolve,
                Severity::Error,
                Some(&acknowledged),
                AlertDecision::Resolve {
                    alert: id(1),
                    incident: None,
                },
                O::Resolved,
            ),
        ];
        for (action, severity, open, expected, outcome) in cases {
            let decision = decide_alert(open, &event(action, severity, None), &rules);
            assert_eq!(decision, expected, "{action:?} {severity:?} {open:?}");
            assert_eq!(decision.outcome(), outcome);
        }
    }

    #[test]
    fn by_hand_is_the_senders_decision_on_an_open_alert_and_refused_otherwise() {
        let incident = Some(IncidentId::from_uuid(uuid::Uuid::from_u128(9)));
        let triggered = open_alert(AlertStatus::Triggered, Some(9));
        let acknowledged = open_alert(AlertStatus::Acknowledged, Some(9));
        let resolved = open_alert(AlertStatus::Resolved, Some(9));
        let rules = record_info_only();
        for (open, action, event_action) in [
            (&triggered, HandAction::Acknowledge, Action::Acknowledge),
            (&triggered, HandAction::Resolve, Action::Resolve),
            (&acknowledged, HandAction::Resolve, Action::Resolve),
        ] {
            assert_eq!(
                decide_by_hand(open, action),
                Ok(decide_alert(
                    Some(open),
                    &event(event_action, Severity::Error, None),
                    &rules
                )),
                "{action:?} on {:?}",
                open.status
            );
        }
        assert_eq!(
            decide_by_hand(&triggered, HandAction::Resolve),
            Ok(AlertDecision::Resolve {
                alert: id(1),
                incident
            })
        );
        let code = |alert: &Alert, action| decide_by_hand(alert, action).map_err(|r| r.code);
        assert_eq!(
            code(&acknowledged, HandAction::Acknowledge),
            Err(ErrorCode::AlertAcknowledged)
        );
        assert_eq!(
            code(&resolved, HandAction::Acknowledge),
            Err(ErrorCode::AlertResolved)
        );
        assert_eq!(
            code(&resolved, HandAction::Resolve),
            Err(ErrorCode::AlertResolved)
        );
    }

    #[test]
    fn the_group_is_the_group_key_else_the_dedup_key() {
        assert_eq!(
            group_of(&event(Action::Trigger, Severity::Error, Some("g"))),
            "g"
        );
        assert_eq!(
            group_of(&event(Action::Trigger, Severity::Error, None)),
            "key"
        );
        let alert = open_alert(AlertStatus::Triggered, None);
        assert_eq!(
            (alert.group_index.as_str(), alert.event_count),
            ("index of key", 1)
        );
        assert_eq!(alert.severity, "error");
    }

    #[test]
    fn outcome_names_are_the_wire_names() {
        let names: Vec<&str> = AlertOutcomeKind::ALL.iter().map(|o| o.as_str()).collect();
        assert_eq!(
            names,
            [
                "created",
                "recorded",
                "deduplicated",
                "acknowledged",
                "resolved",
                "dropped"
            ]
        );
    }
}
