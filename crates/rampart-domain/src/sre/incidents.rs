//! Incidents: the aggregate responders work on — its statuses and the moves between
//! them, what a move does to paging and to the incident's alerts, severities, and the
//! rules (with their named limits) for the fields responders write.
//!
//! Everything here is pure: the app loads an [`Incident`], asks it to change, and writes
//! what it answers in one transaction with the audit event.

use jiff::Timestamp;

use super::alerts::AlertStatus;
use super::payload::Severity;
use crate::{ErrorCode, IncidentId, OrgId, ProjectId, Refusal, ServiceId, ValidationError};

/// The most characters of an incident title and of an action item.
pub const INCIDENT_TITLE_CHARS_MAX: usize = 1024;
/// The most characters of a note, a status message and a description.
pub const INCIDENT_NOTE_CHARS_MAX: usize = 16 * 1024;
/// The most assignees of an incident.
pub const INCIDENT_ASSIGNEES_MAX: usize = 20;
/// The most custom fields of an incident.
pub const INCIDENT_CUSTOM_FIELDS_MAX: usize = 50;
/// The most characters of a custom field's name.
pub const CUSTOM_FIELD_NAME_CHARS_MAX: usize = 64;
/// The most characters of a custom field's text value.
pub const CUSTOM_FIELD_CHARS_MAX: usize = 1024;

/// SEV0 (worst) to SEV4.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct IncidentSeverity(u8);

impl IncidentSeverity {
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        // Exactly the five names: `SEV+1` or `SEV01` would parse as numbers.
        let level = match text {
            "SEV0" => Some(0),
            "SEV1" => Some(1),
            "SEV2" => Some(2),
            "SEV3" => Some(3),
            "SEV4" => Some(4),
            _ => None,
        };
        level
            .map(Self)
            .ok_or_else(|| ValidationError::new("severity", "must be SEV0 to SEV4"))
    }

    /// The default for an incident opened by an alert of `severity`.
    pub fn for_alert(severity: Severity) -> Self {
        Self(match severity {
            Severity::Critical => 1,
            Severity::Error => 2,
            Severity::Warning => 3,
            Severity::Info => 4,
        })
    }

    pub fn as_string(self) -> String {
        format!("SEV{}", self.0)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IncidentStatus {
    Triggered,
    Acknowledged,
    Investigating,
    Identified,
    Monitoring,
    Resolved,
    Closed,
}

impl IncidentStatus {
    pub const ALL: [IncidentStatus; 7] = [
        Self::Triggered,
        Self::Acknowledged,
        Self::Investigating,
        Self::Identified,
        Self::Monitoring,
        Self::Resolved,
        Self::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Triggered => "triggered",
            Self::Acknowledged => "acknowledged",
            Self::Investigating => "investigating",
            Self::Identified => "identified",
            Self::Monitoring => "monitoring",
            Self::Resolved => "resolved",
            Self::Closed => "closed",
        }
    }

    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == text)
            .ok_or_else(|| {
                ValidationError::new(
                    "status",
                    "must be triggered, acknowledged, investigating, identified, monitoring, resolved or closed",
                )
            })
    }

    /// Open: still needs people (anything before resolved).
    pub fn is_open(self) -> bool {
        !matches!(self, Self::Resolved | Self::Closed)
    }

    fn rank(self) -> usize {
        Self::ALL
            .iter()
            .position(|status| *status == self)
            .unwrap_or_default()
    }

    /// Whether an incident may move from `self` to `to`: forward through the stages
    /// (skipping is fine: a quick fix goes straight to resolved); back only by
    /// reopening a resolved or closed incident (to triggered or investigating); closed
    /// only from resolved.
    pub fn may_move_to(self, to: IncidentStatus) -> bool {
        if self == to {
            return false;
        }
        match (self, to) {
            (Self::Resolved | Self::Closed, Self::Triggered | Self::Investigating) => true,
            (_, Self::Closed) => self == Self::Resolved,
            (Self::Closed, _) => false,
            _ => to.rank() > self.rank(),
        }
    }
}

/// Which incidents a list shows: every one when nothing is set; otherwise those with
/// one of `statuses`, of `severity`, opened by `service` (all that are set).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IncidentFilter {
    pub statuses: Vec<IncidentStatus>,
    pub severity: Option<String>,
    pub service: Option<crate::ServiceId>,
}

impl IncidentFilter {
    /// Reads a `status` filter: a comma-separated list of statuses, where `open` stands
    /// for every status before resolved.
    pub fn parse_statuses(text: &str) -> Result<Vec<IncidentStatus>, ValidationError> {
        let mut statuses = Vec::new();
        for word in text.split(',').map(str::trim).filter(|w| !w.is_empty()) {
            let more: Vec<IncidentStatus> = if word == "open" {
                IncidentStatus::ALL
                    .into_iter()
                    .filter(|status| status.is_open())
                    .collect()
            } else {
                vec![IncidentStatus::parse(word).map_err(|_| {
                    ValidationError::new(
                        "status",
                        "must be open or a comma-separated list of triggered, acknowledged, \
                         investigating, identified, monitoring, resolved, closed",
                    )
                })?]
            };
            for status in more {
                if !statuses.contains(&status) {
                    statuses.push(status);
                }
            }
        }
        Ok(statuses)
    }
}

/// An incident (its title, description and timeline are sealed and kept beside it).
#[derive(Clone, Debug, PartialEq)]
pub struct Incident {
    pub id: IncidentId,
    pub org_id: OrgId,
    pub project_id: ProjectId,
    /// Per project, from 1.
    pub number: u64,
    /// The service whose alert opened it (none when opened by hand).
    pub service_id: Option<ServiceId>,
    /// The alert group it collects alerts of while open: the blind index of the group
    /// key (the alerts' `group_index`), never the key.
    pub open_group: Option<String>,
    /// `SEV0` to `SEV4`.
    pub severity: String,
    pub status: IncidentStatus,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub acknowledged_at: Option<Timestamp>,
    pub resolved_at: Option<Timestamp>,
}

/// What a move does to the incident's paging.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Paging {
    /// Reopened as triggered: page again from the first level of the service's policy.
    Restart,
    /// Someone has it in hand (`acknowledged`) or it is over (`resolved`): stop paging.
    Stop(&'static str),
    /// Moved back to triggered while open: nothing changes.
    Unchanged,
}

/// A move an incident made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Move {
    pub from: IncidentStatus,
    pub to: IncidentStatus,
    pub paging: Paging,
}

/// The number an incident opened by a webhook delivery carries inside its transaction
/// until the transaction numbers it, last ([`Incident::number`] is then the project's
/// next). Numbering last keeps the project's counter locked only from there to the
/// commit, so concurrent deliveries in one project do not queue behind each other for
/// a whole transaction. Derived from the id's random bits, it is unique among
/// transactions in practice (a collision is a conflict, and the batch is retried), and
/// it lies above 2^62, where no real number goes.
pub fn provisional_incident_number(id: IncidentId) -> u64 {
    const ABOVE: u64 = 1 << 62;
    // The low 62 bits of the UUIDv7: random.
    let random = (id.as_uuid().as_u128() as u64) & (ABOVE - 1);
    ABOVE | random
}

/// Whether `number` is a [`provisional_incident_number`].
pub const fn is_provisional_incident_number(number: u64) -> bool {
    number >= 1 << 62
}

impl Incident {
    /// A new incident opened by hand or by the first alert of `group`.
    #[allow(clippy::too_many_arguments)] // every field of a new incident is given
    pub fn open(
        id: IncidentId,
        org_id: OrgId,
        project_id: ProjectId,
        number: u64,
        service_id: Option<ServiceId>,
        open_group: Option<String>,
        severity: IncidentSeverity,
        now: Timestamp,
    ) -> Self {
        Self {
            id,
            org_id,
            project_id,
            number,
            service_id,
            open_group,
            severity: severity.as_string(),
            status: IncidentStatus::Triggered,
            created_at: now,
            updated_at: now,
            acknowledged_at: None,
            resolved_at: None,
        }
    }

    /// Moves to `to` at `now` (see [`IncidentStatus::may_move_to`]): acknowledging
    /// stamps the first acknowledgement, resolving or closing stamps the resolution and
    /// stops collecting alerts of the group, reopening clears the resolution.
    pub fn move_to(&mut self, to: IncidentStatus, now: Timestamp) -> Result<Move, Refusal> {
        let from = self.status;
        if !from.may_move_to(to) {
            return Err(Refusal::new(
                ErrorCode::InvalidTransition,
                format!(
                    "an incident cannot move from {} to {}",
                    from.as_str(),
                    to.as_str()
                ),
            ));
        }
        self.status = to;
        self.updated_at = now;
        match to {
            IncidentStatus::Acknowledged => {
                self.acknowledged_at.get_or_insert(now);
            }
            IncidentStatus::Resolved | IncidentStatus::Closed => {
                self.resolved_at.get_or_insert(now);
                self.open_group = None;
            }
            IncidentStatus::Triggered | IncidentStatus::Investigating if !from.is_open() => {
                self.resolved_at = None;
            }
            _ => {}
        }
        let paging = if to != IncidentStatus::Triggered {
            Paging::Stop(if to.is_open() {
                "acknowledged"
            } else {
                "resolved"
            })
        } else if !from.is_open() {
            Paging::Restart
        } else {
            Paging::Unchanged
        };
        Ok(Move { from, to, paging })
    }

    /// Whether the incident resolves by itself once none of its alerts is left
    /// unresolved: only when its service auto-resolves and it is still open. (Counting
    /// the alerts left is a query; the caller asks only when this holds.)
    pub fn may_auto_resolve(&self, service_auto_resolves: bool) -> bool {
        service_auto_resolves && self.status.is_open()
    }

    /// Resolves because every linked alert has resolved.
    pub fn resolve_automatically(&mut self, now: Timestamp) {
        self.status = IncidentStatus::Resolved;
        self.resolved_at = Some(now);
        self.updated_at = now;
        self.open_group = None;
    }
}

/// What happens to an alert of an incident that moved to `to`: resolving or closing the
/// incident resolves its alerts; any other move past triggered acknowledges its
/// triggered alerts. `None`: the alert stays as it is.
pub fn alert_status_after(to: IncidentStatus, alert: AlertStatus) -> Option<AlertStatus> {
    let next = match to {
        IncidentStatus::Resolved | IncidentStatus::Closed => AlertStatus::Resolved,
        _ if alert == AlertStatus::Triggered && to != IncidentStatus::Triggered => {
            AlertStatus::Acknowledged
        }
        _ => return None,
    };
    (alert != AlertStatus::Resolved && alert != next).then_some(next)
}

/// A title (1 to [`INCIDENT_TITLE_CHARS_MAX`] characters, not blank).
pub fn check_title(title: &str) -> Result<(), Refusal> {
    check_text(title, INCIDENT_TITLE_CHARS_MAX, "title")
}

/// Text a responder writes (a note, a status message, an action item): 1 to `max`
/// characters, not blank; `what` names it in the message.
pub fn check_text(text: &str, max: usize, what: &str) -> Result<(), Refusal> {
    if text.trim().is_empty() || text.chars().count() > max {
        return Err(Refusal::new(
            if what == "title" {
                ErrorCode::InvalidTitle
            } else {
                ErrorCode::InvalidText
            },
            format!("the {what} is 1 to {max} characters"),
        ));
    }
    Ok(())
}

/// A description: at most [`INCIDENT_NOTE_CHARS_MAX`] characters (empty clears it).
pub fn check_description(description: &str) -> Result<(), Refusal> {
    if description.chars().count() > INCIDENT_NOTE_CHARS_MAX {
        return Err(Refusal::new(
            ErrorCode::InvalidDescription,
            format!("a description holds at most {INCIDENT_NOTE_CHARS_MAX} characters"),
        ));
    }
    Ok(())
}

/// Assignees (user ids): at most [`INCIDENT_ASSIGNEES_MAX`], returned sorted without
/// repeats. That each is a user is the app's check.
pub fn normalise_assignees(assignees: &[String]) -> Result<Vec<String>, Refusal> {
    if assignees.len() > INCIDENT_ASSIGNEES_MAX {
        return Err(Refusal::new(
            ErrorCode::TooManyAssignees,
            format!("an incident has at most {INCIDENT_ASSIGNEES_MAX} assignees"),
        ));
    }
    let mut assignees = assignees.to_vec();
    assignees.sort();
    assignees.dedup();
    Ok(assignees)
}

/// Custom fields: at most [`INCIDENT_CUSTOM_FIELDS_MAX`], names of 1 to
/// [`CUSTOM_FIELD_NAME_CHARS_MAX`] characters, values a string (at most
/// [`CUSTOM_FIELD_CHARS_MAX`] characters), a number or a boolean.
pub fn check_custom_fields(
    fields: &serde_json::Map<String, serde_json::Value>,
) -> Result<(), Refusal> {
    if fields.len() > INCIDENT_CUSTOM_FIELDS_MAX {
        return Err(Refusal::new(
            ErrorCode::InvalidCustomFields,
            format!("at most {INCIDENT_CUSTOM_FIELDS_MAX} custom fields"),
        ));
    }
    let valid = |name: &String, value: &serde_json::Value| {
        !name.is_empty()
            && name.chars().count() <= CUSTOM_FIELD_NAME_CHARS_MAX
            && match value {
                serde_json::Value::String(text) => text.chars().count() <= CUSTOM_FIELD_CHARS_MAX,
                serde_json::Value::Number(_) | serde_json::Value::Bool(_) => true,
                _ => false,
            }
    };
    if fields.iter().all(|(name, value)| valid(name, value)) {
        return Ok(());
    }
    Err(Refusal::new(
        ErrorCode::InvalidCustomFields,
        format!(
            "custom fields are names of 1 to {CUSTOM_FIELD_NAME_CHARS_MAX} characters with a \
             string (at most {CUSTOM_FIELD_CHARS_MAX} characters), number or boolean"
        ),
    ))
}

/// The fields responders set on an incident.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IncidentFields {
    /// A user id.
    pub commander: Option<String>,
    /// User ids.
    pub assignees: Vec<String>,
    /// Service ids.
    pub linked_services: Vec<String>,
    pub custom_fields: serde_json::Map<String, serde_json::Value>,
}

/// One action item of an incident.
#[derive(Clone, Debug, PartialEq)]
pub struct ActionItem {
    pub seq: u64,
    pub text: String,
    pub assignee: Option<String>,
    pub done: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incident_statuses_move_forward_and_reopen() {
        use IncidentStatus::*;
        assert!(Triggered.may_move_to(Acknowledged));
        assert!(Triggered.may_move_to(Resolved), "a quick fix skips stages");
        assert!(Monitoring.may_move_to(Resolved));
        assert!(
            !Monitoring.may_move_to(Investigating),
            "no going back while open"
        );
        assert!(!Triggered.may_move_to(Closed), "closed only after resolved");
        assert!(Resolved.may_move_to(Closed));
        assert!(Resolved.may_move_to(Triggered), "reopen");
        assert!(Closed.may_move_to(Investigating), "reopen");
        assert!(!Closed.may_move_to(Monitoring));
        assert!(!Acknowledged.may_move_to(Acknowledged));
        assert!(Triggered.is_open() && !Resolved.is_open());
        assert_eq!(
            IncidentFilter::parse_statuses("open").unwrap(),
            [
                Triggered,
                Acknowledged,
                Investigating,
                Identified,
                Monitoring
            ]
        );
        assert_eq!(
            IncidentFilter::parse_statuses("resolved, triggered,open,").unwrap(),
            [
                Resolved,
                Triggered,
                Acknowledged,
                Investigating,
                Identified,
                Monitoring
            ]
        );
        assert!(IncidentFilter::parse_statuses("").unwrap().is_empty());
        assert_eq!(
            IncidentFilter::parse_statuses("opened").unwrap_err().field,
            "status"
        );
    }

    #[test]
    fn severities_parse_and_follow_alerts() {
        assert_eq!(IncidentSeverity::parse("SEV0").unwrap().as_string(), "SEV0");
        assert!(IncidentSeverity::parse("SEV5").is_err());
        assert!(IncidentSeverity::parse("sev1").is_err());
        for other in ["SEV+1", "SEV01", "SEV", "SEV1 ", " SEV1", "SEV٣"] {
            assert!(IncidentSeverity::parse(other).is_err(), "{other}");
        }
        assert_eq!(
            IncidentSeverity::for_alert(Severity::Critical).as_string(),
            "SEV1"
        );
        assert!(
            IncidentSeverity::for_alert(Severity::Critical)
                < IncidentSeverity::for_alert(Severity::Info)
        );
    }

    fn at(minute: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + minute * 60).unwrap()
    }

    fn incident(status: IncidentStatus) -> Incident {
        let mut incident = Incident::open(
            IncidentId::from_uuid(uuid::Uuid::from_u128(1)),
            OrgId::from_uuid(uuid::Uuid::from_u128(2)),
            ProjectId::from_uuid(uuid::Uuid::from_u128(3)),
            7,
            None,
            Some("group".into()),
            IncidentSeverity::for_alert(Severity::Error),
            at(0),
        );
        incident.status = status;
        incident
    }

    #[test]
    fn every_move_as_a_table() {
        use IncidentStatus::*;
        // (from, to, allowed, paging)
        let cases = [
            (Triggered, Acknowledged, Some(Paging::Stop("acknowledged"))),
            (Triggered, Investigating, Some(Paging::Stop("acknowledged"))),
            (Triggered, Resolved, Some(Paging::Stop("resolved"))),
            (Triggered, Closed, None),
            (Triggered, Triggered, None),
            (Acknowledged, Triggered, None),
            (Monitoring, Resolved, Some(Paging::Stop("resolved"))),
            (Monitoring, Investigating, None),
            (Resolved, Closed, Some(Paging::Stop("resolved"))),
            (Resolved, Triggered, Some(Paging::Restart)),
            (Resolved, Investigating, Some(Paging::Stop("acknowledged"))),
            (Closed, Triggered, Some(Paging::Restart)),
            (Closed, Monitoring, None),
        ];
        for (from, to, expected) in cases {
            let mut subject = incident(from);
            let result = subject.move_to(to, at(5));
            match expected {
                Some(paging) => {
                    let moved = result.unwrap();
                    assert_eq!(moved, Move { from, to, paging }, "{from:?} -> {to:?}");
                    assert_eq!(subject.status, to);
                    assert_eq!(subject.updated_at, at(5));
                }
                None => {
                    let refusal = result.unwrap_err();
                    assert_eq!(
                        refusal.code,
                        ErrorCode::InvalidTransition,
                        "{from:?} -> {to:?}"
                    );
                    assert_eq!(subject.status, from, "a refused move changes nothing");
                }
            }
        }
    }

    #[test]
    fn moves_stamp_and_clear_times() {
        let mut subject = incident(IncidentStatus::Triggered);
        subject
            .move_to(IncidentStatus::Acknowledged, at(1))
            .unwrap();
        subject
            .move_to(IncidentStatus::Investigating, at(2))
            .unwrap();
        assert_eq!(
            subject.acknowledged_at,
            Some(at(1)),
            "the first acknowledgement stays"
        );
        subject.move_to(IncidentStatus::Resolved, at(3)).unwrap();
        assert_eq!(
            (subject.resolved_at, subject.open_group.as_deref()),
            (Some(at(3)), None)
        );
        subject.move_to(IncidentStatus::Closed, at(4)).unwrap();
        assert_eq!(
            subject.resolved_at,
            Some(at(3)),
            "closing keeps the resolution time"
        );
        subject.move_to(IncidentStatus::Triggered, at(5)).unwrap();
        assert_eq!(subject.resolved_at, None, "reopening clears it");
    }

    #[test]
    fn alerts_follow_their_incident() {
        use AlertStatus as A;
        use IncidentStatus as I;
        let cases = [
            (I::Acknowledged, A::Triggered, Some(A::Acknowledged)),
            (I::Acknowledged, A::Acknowledged, None),
            (I::Acknowledged, A::Resolved, None),
            (I::Resolved, A::Triggered, Some(A::Resolved)),
            (I::Closed, A::Acknowledged, Some(A::Resolved)),
            (I::Resolved, A::Resolved, None),
            (I::Triggered, A::Triggered, None),
            (I::Triggered, A::Acknowledged, None),
        ];
        for (to, alert, expected) in cases {
            assert_eq!(alert_status_after(to, alert), expected, "{to:?} {alert:?}");
        }
    }

    #[test]
    fn auto_resolution_needs_a_service_that_auto_resolves_and_an_open_incident() {
        let open = incident(IncidentStatus::Acknowledged);
        assert!(open.may_auto_resolve(true));
        assert!(!open.may_auto_resolve(false));
        assert!(!incident(IncidentStatus::Resolved).may_auto_resolve(true));
        let mut subject = open;
        subject.resolve_automatically(at(9));
        assert_eq!(subject.status, IncidentStatus::Resolved);
        assert_eq!(
            (subject.resolved_at, subject.open_group),
            (Some(at(9)), None)
        );
    }

    #[test]
    fn field_rules_with_their_limits() {
        let long = |n: usize| "x".repeat(n);
        assert!(check_title(&long(INCIDENT_TITLE_CHARS_MAX)).is_ok());
        assert_eq!(
            check_title(&long(INCIDENT_TITLE_CHARS_MAX + 1))
                .unwrap_err()
                .code,
            ErrorCode::InvalidTitle
        );
        assert_eq!(
            check_title("   ").unwrap_err().code,
            ErrorCode::InvalidTitle
        );
        assert_eq!(
            check_text("", INCIDENT_NOTE_CHARS_MAX, "text")
                .unwrap_err()
                .code,
            ErrorCode::InvalidText
        );
        assert!(check_description("").is_ok());
        assert_eq!(
            check_description(&long(INCIDENT_NOTE_CHARS_MAX + 1))
                .unwrap_err()
                .code,
            ErrorCode::InvalidDescription
        );
        let assignees = vec!["b".to_owned(), "a".to_owned(), "b".to_owned()];
        assert_eq!(normalise_assignees(&assignees).unwrap(), vec!["a", "b"]);
        let too_many = vec!["a".to_owned(); INCIDENT_ASSIGNEES_MAX + 1];
        assert_eq!(
            normalise_assignees(&too_many).unwrap_err().code,
            ErrorCode::TooManyAssignees
        );
        let fields = |pairs: &[(&str, serde_json::Value)]| {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect::<serde_json::Map<_, _>>()
        };
        use serde_json::json;
        assert!(check_custom_fields(&fields(&[("team", json!("db")), ("n", json!(3))])).is_ok());
        for bad in [
            fields(&[("", json!("x"))]),
            fields(&[(&long(CUSTOM_FIELD_NAME_CHARS_MAX + 1), json!("x"))]),
            fields(&[("a", json!(long(CUSTOM_FIELD_CHARS_MAX + 1)))]),
            fields(&[("a", json!(["list"]))]),
            fields(&[("a", json!(null))]),
        ] {
            assert_eq!(
                check_custom_fields(&bad).unwrap_err().code,
                ErrorCode::InvalidCustomFields
            );
        }
        let many: serde_json::Map<_, _> = (0..=INCIDENT_CUSTOM_FIELDS_MAX)
            .map(|i| (format!("f{i}"), json!(1)))
            .collect();
        assert_eq!(
            check_custom_fields(&many).unwrap_err().code,
            ErrorCode::InvalidCustomFields
        );
    }
}
