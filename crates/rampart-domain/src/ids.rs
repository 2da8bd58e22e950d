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
                Uuid::parse_str(value)
                    .map(Self)
                    .map_err(|_| crate::ValidationError::new("id", "is not a valid identifier"))
            }
        }
    };
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
typed_id!(ServiceId);
typed_id!(IntegrationId);
typed_id!(AlertId);
typed_id!(IncidentId);
typed_id!(ScheduleId);
typed_id!(EscalationPolicyId);
typed_id!(NotificationId);
