//! Webhook integrations: how a monitoring tool sends a service its alerts (format,
//! authentication, source networks, rate limit) and the limits on them.

use jiff::Timestamp;

use super::payload::Format;
use crate::{IntegrationId, Name, ProjectId, ServiceId, ValidationError};

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_modes_parse() {
        assert_eq!(AuthMode::parse("hmac").unwrap(), AuthMode::Hmac);
        assert!(AuthMode::parse("none").is_err());
    }
}
