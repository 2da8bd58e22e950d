//! Typed identifiers. Every entity has its own id type so that a user id can never be
//! passed where a project id is expected. Ids are UUIDv7 (time-ordered, so a list ordered
//! by id is ordered by creation, which keyset pagination relies on).

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

macro_rules! typed_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Uuid);

        impl $name {
            /// Wraps an existing UUID (from the store or from a parsed request).
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            /// Mints a new UUIDv7 from the caller's clock reading and random bytes; the
            /// domain takes both as parameters because it reads neither a clock nor a RNG.
            pub fn mint(unix_millis: u64, random: [u8; 10]) -> Self {
                Self(uuid::Builder::from_unix_timestamp_millis(unix_millis, &random).into_uuid())
            }

            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.as_hyphenated().fmt(f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0.as_hyphenated())
            }
        }

        impl FromStr for $name {
            type Err = crate::ValidationError;
            fn from_str(value: &str) -> Result<Self, Self::Err> {
                parse_uuid(value)
                    .map(Self)
                    .ok_or_else(|| crate::ValidationError::new("id", "is not a valid identifier"))
            }
        }
    };
}

/// A UUID in the one form this API writes and reads: 36 characters, hyphenated
/// (`01a20000-0000-7000-8000-000000000001`, hex digits in either case). The other forms
/// `uuid` parses (braced, `urn:uuid:`, without hyphens) name nothing here, so that every
/// resource has one address.
pub fn parse_uuid(text: &str) -> Option<Uuid> {
    let hyphens_at = [8, 13, 18, 23];
    let canonical = text.len() == 36
        && text.char_indices().all(|(at, c)| {
            if hyphens_at.contains(&at) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        });
    canonical.then(|| Uuid::parse_str(text).ok()).flatten()
}

/// A number in a path (an incident's, a state version's, an action item's): decimal
/// digits without sign or leading zero, at most `i64::MAX` (the store keeps numbers as
/// signed 64-bit integers). Anything else names nothing.
pub fn parse_number(text: &str) -> Option<u64> {
    let digits = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    if !digits || (text.len() > 1 && text.starts_with('0')) {
        return None;
    }
    text.parse::<u64>()
        .ok()
        .filter(|number| i64::try_from(*number).is_ok())
}

typed_id!(
    /// The one account of an installation.
    AccountId
);
typed_id!(OrgId);
typed_id!(ProjectId);
typed_id!(UserId);
typed_id!(ServiceAccountId);
typed_id!(TokenId);
typed_id!(SessionId);
typed_id!(AuditEventId);
typed_id!(SecretId);
typed_id!(WorkspaceId);
typed_id!(PlanId);
typed_id!(RunId);
typed_id!(PolicySetId);
typed_id!(VariableSetId);
typed_id!(ServiceId);
typed_id!(IntegrationId);
typed_id!(AlertId);
typed_id!(IncidentId);
typed_id!(ScheduleId);
typed_id!(EscalationPolicyId);
typed_id!(NotificationId);
typed_id!(DelegateId);
typed_id!(DelegateTaskId);
typed_id!(ContactMethodId);
typed_id!(RunbookId);
typed_id!(RunbookExecutionId);
typed_id!(RunbookTriggerEventId);
typed_id!(SloId);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_uuid_has_one_form() {
        let id = "01a20000-0000-7000-8000-00000000000f";
        assert_eq!(parse_uuid(id).unwrap().to_string(), id);
        assert_eq!(
            parse_uuid(&id.to_uppercase()).unwrap().to_string(),
            id,
            "hex digits in either case"
        );
        for other in [
            "01a20000000070008000 00000000000f",
            "01a200000000700080000000000000f",
            "01a200000000700080000000000000ff",
            "{01a20000-0000-7000-8000-00000000000f}",
            "urn:uuid:01a20000-0000-7000-8000-00000000000f",
            "01a20000-0000-7000-8000-00000000000g",
            "01a2000-00000-7000-8000-00000000000f",
            "",
        ] {
            assert_eq!(parse_uuid(other), None, "{other}");
            assert!(other.parse::<UserId>().is_err(), "{other}");
        }
    }

    #[test]
    fn a_path_number_has_one_form() {
        assert_eq!(parse_number("0"), Some(0));
        assert_eq!(parse_number("17"), Some(17));
        assert_eq!(parse_number("9223372036854775807"), Some(i64::MAX as u64));
        for other in [
            "",
            "+1",
            "-1",
            "01",
            "1.0",
            " 1",
            "1e3",
            "9223372036854775808",
            "18446744073709551616",
            "١",
        ] {
            assert_eq!(parse_number(other), None, "{other}");
        }
    }
}
