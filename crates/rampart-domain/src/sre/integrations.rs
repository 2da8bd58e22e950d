//! Webhook integrations: how a monitoring tool sends a service its alerts (format,
//! authentication, source networks, rate limit) and the limits on them, and which auth
//! mode fits which format.

use jiff::Timestamp;

use super::payload::Format;
use crate::{ErrorCode, IntegrationId, Name, ProjectId, Refusal, ServiceId, ValidationError};

/// How a webhook sender proves who it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMode {
    /// `Authorization: Bearer rmp_whk_…`.
    Bearer,
    /// HTTP Basic with a generated username and password.
    Basic,
    /// `X-Rampart-Signature` HMAC-SHA256 with a timestamp.
    Hmac,
    /// PagerDuty's integration key, sent as `routing_key` in the event body with no
    /// header (what every PagerDuty Events API v2 sender does).
    RoutingKey,
}

impl AuthMode {
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        match text {
            "bearer" => Ok(Self::Bearer),
            "basic" => Ok(Self::Basic),
            "hmac" => Ok(Self::Hmac),
            "routing_key" => Ok(Self::RoutingKey),
            _ => Err(ValidationError::new(
                "auth_mode",
                "must be bearer, basic, hmac or routing_key",
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bearer => "bearer",
            Self::Basic => "basic",
            Self::Hmac => "hmac",
            Self::RoutingKey => "routing_key",
        }
    }

    /// Whether an integration of `format` may authenticate this way. A routing key is
    /// PagerDuty's: it travels inside a PagerDuty event, so only `pagerduty`
    /// integrations have one (another format's body has no place for it).
    pub fn check_format(self, format: Format) -> Result<(), Refusal> {
        if self == Self::RoutingKey && format != Format::PagerDuty {
            return Err(Refusal::new(
                ErrorCode::AuthModeNotForFormat,
                format!(
                    "auth_mode routing_key is PagerDuty's: it needs format pagerduty, not {}",
                    format.as_str()
                ),
            ));
        }
        Ok(())
    }
}

/// The characters of a routing key Rampart issues: 32, like PagerDuty's integration keys
/// (lowercase hex, so that any sender that accepts a PagerDuty key accepts it).
pub const ROUTING_KEY_CHARS: usize = 32;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_modes_parse() {
        assert_eq!(AuthMode::parse("hmac").unwrap(), AuthMode::Hmac);
        assert_eq!(
            AuthMode::parse("routing_key").unwrap(),
            AuthMode::RoutingKey
        );
        assert!(AuthMode::parse("none").is_err());
    }

    #[test]
    fn a_routing_key_is_for_pagerduty_integrations_only() {
        assert!(AuthMode::RoutingKey.check_format(Format::PagerDuty).is_ok());
        for format in [Format::Alertmanager, Format::Grafana, Format::Generic] {
            let refusal = AuthMode::RoutingKey.check_format(format).unwrap_err();
            assert_eq!(refusal.code, ErrorCode::AuthModeNotForFormat);
        }
        // The other modes fit every format, PagerDuty's included.
        for mode in [AuthMode::Bearer, AuthMode::Basic, AuthMode::Hmac] {
            assert!(mode.check_format(Format::PagerDuty).is_ok());
            assert!(mode.check_format(Format::Generic).is_ok());
        }
    }
}
