//! Principals and their credentials: users, service accounts, API tokens and sessions.

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;

use crate::{
    DisplayName, Email, Name, OrgId, ProjectId, RunId, ServiceAccountId, SessionId, TokenId,
    UserId, ValidationError, WorkspaceId,
};

#[derive(Clone, Debug, PartialEq)]
pub struct User {
    pub id: UserId,
    pub email: Email,
    pub display_name: DisplayName,
    /// The account owner may do everything (until roles land, only the owner may manage).
    pub is_account_owner: bool,
    pub has_password: bool,
    pub disabled: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A non-human principal that belongs to an organisation or to one of its projects.
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceAccount {
    pub id: ServiceAccountId,
    pub org_id: OrgId,
    pub project_id: Option<ProjectId>,
    pub name: Name,
    pub description: crate::Description,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Who is acting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PrincipalId {
    User(UserId),
    ServiceAccount(ServiceAccountId),
}

impl PrincipalId {
    /// Stable text form used in audit records and in the store: `user:<id>` or
    /// `service_account:<id>`.
    pub fn to_text(self) -> String {
        match self {
            PrincipalId::User(id) => format!("user:{id}"),
            PrincipalId::ServiceAccount(id) => format!("service_account:{id}"),
        }
    }
}

/// The four token kinds of the contract (`rmp_<kind>_…`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// A user's personal access token.
    Personal,
    /// A service account token.
    ServiceAccount,
    /// A webhook integration key.
    Webhook,
    /// A delegate's token.
    Delegate,
}

impl TokenKind {
    pub const ALL: [TokenKind; 4] = [
        TokenKind::Personal,
        TokenKind::ServiceAccount,
        TokenKind::Webhook,
        TokenKind::Delegate,
    ];

    /// The three letters in the token prefix.
    pub const fn prefix_code(self) -> &'static str {
        match self {
            TokenKind::Personal => "pat",
            TokenKind::ServiceAccount => "sat",
            TokenKind::Webhook => "whk",
            TokenKind::Delegate => "dlg",
        }
    }
}

impl fmt::Display for TokenKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.prefix_code())
    }
}

impl FromStr for TokenKind {
    type Err = ValidationError;
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        TokenKind::ALL
            .into_iter()
            .find(|kind| kind.prefix_code() == value)
            .ok_or_else(|| ValidationError::new("kind", "is not a token kind"))
    }
}

/// An API token's metadata. The secret itself is never stored; only its peppered HMAC.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiToken {
    pub id: TokenId,
    pub kind: TokenKind,
    pub owner: PrincipalId,
    pub name: Name,
    /// The last four characters of the secret, for recognising it in a list.
    pub last_four: String,
    /// When set, the token only works inside this project.
    pub project_id: Option<ProjectId>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
    pub last_used_ip: Option<String>,
    /// Source networks (CIDR text, validated at the edge) the token may be used from;
    /// empty: anywhere.
    pub allowed_cidrs: Vec<String>,
    /// Set for a run credential: the token reads and writes this one workspace's state
    /// for this one run's apply, and nothing else.
    pub run: Option<RunBinding>,
}

/// The run a run credential belongs to (see [`ApiToken::run`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunBinding {
    pub run_id: RunId,
    pub workspace_id: WorkspaceId,
    /// The token that started the apply (none for a session): revoking it revokes this.
    pub parent_token_id: Option<TokenId>,
    /// The session that started the apply (none for a token): logging out revokes this.
    pub parent_session_id: Option<SessionId>,
}

/// Why a token cannot be used now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenUnusable {
    Expired,
    Revoked,
}

impl ApiToken {
    /// Checks whether the token may be used at `now`.
    pub fn usable_at(&self, now: Timestamp) -> Result<(), TokenUnusable> {
        if self.revoked_at.is_some() {
            return Err(TokenUnusable::Revoked);
        }
        if now >= self.expires_at {
            return Err(TokenUnusable::Expired);
        }
        Ok(())
    }
}

/// A web session. Only the hash of the opaque id is stored.
#[derive(Clone, Debug, PartialEq)]
pub struct Session {
    pub id: SessionId,
    pub user_id: UserId,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub absolute_expires_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
    /// When the user last proved who they are in this session: at sign-in, or by
    /// re-authenticating since (step-up).
    pub authenticated_at: Timestamp,
}

/// Session timeouts in force.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionTimeouts {
    pub idle_secs: u64,
    pub absolute_secs: u64,
}

impl Session {
    /// A session is alive when it is not revoked, not past its absolute lifetime, and was
    /// seen within the idle timeout.
    pub fn alive_at(&self, now: Timestamp, timeouts: SessionTimeouts) -> bool {
        if self.revoked_at.is_some() || now >= self.absolute_expires_at {
            return false;
        }
        let idle_secs = i64::try_from(timeouts.idle_secs).unwrap_or(i64::MAX);
        now.as_second()
            .saturating_sub(self.last_seen_at.as_second())
            < idle_secs
    }
}

/// Whether someone who proved who they are at `authenticated_at` did so less than
/// `window_secs` before `now`: what a sensitive action (step-up) needs. An
/// authentication stamped after `now` (a clock set back) does not count as recent.
pub fn authenticated_within(authenticated_at: Timestamp, now: Timestamp, window_secs: u64) -> bool {
    let window = i64::try_from(window_secs).unwrap_or(i64::MAX);
    let age = now.as_second().saturating_sub(authenticated_at.as_second());
    (0..window).contains(&age)
}

/// Validated input for a new user.
#[derive(Clone, Debug)]
pub struct NewUser {
    pub email: Email,
    pub display_name: DisplayName,
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::ToSpan;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn a_session_dies_when_idle_or_old_or_revoked() {
        let start = ts("2026-01-01T00:00:00Z");
        let timeouts = SessionTimeouts {
            idle_secs: 600,
            absolute_secs: 3600,
        };
        let session = Session {
            id: SessionId::mint(0, [0; 10]),
            user_id: UserId::mint(0, [0; 10]),
            created_at: start,
            last_seen_at: start,
            absolute_expires_at: start + 1.hour(),
            revoked_at: None,
            authenticated_at: start,
        };
        assert!(session.alive_at(start + 599.seconds(), timeouts));
        assert!(!session.alive_at(start + 600.seconds(), timeouts));
        let mut recent = session.clone();
        recent.last_seen_at = start + 59.minutes();
        assert!(recent.alive_at(start + 59.minutes() + 30.seconds(), timeouts));
        assert!(!recent.alive_at(start + 60.minutes(), timeouts));
        let mut revoked = session;
        revoked.revoked_at = Some(start);
        assert!(!revoked.alive_at(start, timeouts));
    }

    #[test]
    fn step_up_needs_a_recent_authentication() {
        let start = ts("2026-01-01T00:00:00Z");
        let authenticated_at = start + 5.minutes();
        let window = 600;
        for (at, recent) in [
            (start + 5.minutes(), true),
            (start + 14.minutes() + 59.seconds(), true),
            (start + 15.minutes(), false),
            (start + 50.minutes(), false),
            // Before the authentication: a clock set back proves nothing.
            (start + 4.minutes(), false),
        ] {
            assert_eq!(
                authenticated_within(authenticated_at, at, window),
                recent,
                "{at}"
            );
        }
        assert!(!authenticated_within(start, start, 0));
        assert!(authenticated_within(start, Timestamp::MAX, u64::MAX));
    }

    #[test]
    fn token_kinds_round_trip() {
        for kind in TokenKind::ALL {
            assert_eq!(kind.prefix_code().parse::<TokenKind>().unwrap(), kind);
        }
    }
}
