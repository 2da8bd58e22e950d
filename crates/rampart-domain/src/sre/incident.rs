//! Services, their integrations, alerts and incidents: the entities and their rules
//! (statuses and the moves between them, severities).

use jiff::Timestamp;

use super::payload::{Format, Severity};
use crate::{Description, IntegrationId, Name, OrgId, ProjectId, ServiceId, Slug, ValidationError};

/// A service in a project's directory: what alerts are about and incidents affect.
#[derive(Clone, Debug, PartialEq)]
pub struct Service {
    pub id: ServiceId,
    pub org_id: OrgId,
    pub project_id: ProjectId,
    pub identifier: Slug,
    pub name: Name,
    pub description: Description,
    /// Resolve an incident when every alert linked to it has resolved.
    pub auto_resolve: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// How a webhook sender proves who it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMode {
    /// `Authorization: Bearer rmp_whk_…`.
    Bearer,
    /// HTTP Basic with a generated username and password.
    Basic,
    /// `X-Rampart-Signature` HMAC-SHA256 with a timestamp.
    Hmac,
}

impl AuthMode {
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        match text {
            "bearer" => Ok(Self::Bearer),
            "basic" => Ok(Self::Basic),
            "hmac" => Ok(Self::Hmac),
            _ => Err(ValidationError::new(
                "auth_mode",
                "must be bearer, basic or hmac",
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bearer => "bearer",
            Self::Basic => "basic",
            Self::Hmac => "hmac",
        }
    }
}

/// The most requests per minute an integration may be given.
pub const INTEGRATION_RATE_LIMIT_MAX: u32 = 6_000_000;
/// The most source networks an integration may list.
pub const INTEGRATION_CIDRS_MAX: usize = 32;
/// The default requests per minute of an integration.
pub const INTEGRATION_RATE_LIMIT_DEFAULT: u32 = 600;

#[derive(Clone, Debug, PartialEq)]
pub struct Integration {
    pub id: IntegrationId,
    pub service_id: ServiceId,
    pub project_id: ProjectId,
    pub name: Name,
    pub format: Format,
    pub auth_mode: AuthMode,
    /// Empty: any source address.
    pub source_cidrs: Vec<String>,
    pub rate_limit_per_minute: u32,
    pub created_at: Timestamp,
}

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

/// SEV0 (worst) to SEV4.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct IncidentSeverity(u8);

impl IncidentSeverity {
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        text.strip_prefix("SEV")
            .and_then(|digit| digit.parse::<u8>().ok())
            .filter(|level| *level <= 4)
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
    }

    #[test]
    fn severities_parse_and_follow_alerts() {
        assert_eq!(IncidentSeverity::parse("SEV0").unwrap().as_string(), "SEV0");
        assert!(IncidentSeverity::parse("SEV5").is_err());
        assert!(IncidentSeverity::parse("sev1").is_err());
        assert_eq!(
            IncidentSeverity::for_alert(Severity::Critical).as_string(),
            "SEV1"
        );
        assert!(
            IncidentSeverity::for_alert(Severity::Critical)
                < IncidentSeverity::for_alert(Severity::Info)
        );
        assert_eq!(AuthMode::parse("hmac").unwrap(), AuthMode::Hmac);
        assert!(AuthMode::parse("none").is_err());
    }
}
