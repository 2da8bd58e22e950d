//! Delegates — agents a customer runs inside their network that pull work from a
//! project, so the server itself connects out to nothing — and the tasks they pull:
//! their tags and the selectors that route tasks by them, their lifecycle, and the
//! task lifecycle with its retry schedule.

use std::collections::BTreeSet;
use std::fmt;

use jiff::{SignedDuration, Timestamp};

use crate::{DelegateId, DelegateTaskId, ProjectId, Slug, ValidationError};

/// Tags a delegate (or a selector) may carry at most.
pub const TAGS_MAX: usize = 32;
const TAG_KEY_MAX: usize = 63;
const TAG_VALUE_MAX: usize = 63;

/// A `key=value` label of a delegate (`env=prod`, `region=eu-west-1`). Keys are
/// lowercase (`[a-z0-9][a-z0-9_.-]*`), values `[A-Za-z0-9_.-]+`, each at most 63.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag(String);

impl Tag {
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        let invalid = || {
            ValidationError::new(
                "tags",
                format!(
                    "each must be key=value: a key of lowercase letters, digits, '_', '.' or '-' \
                     (starting with a letter or digit) and a value of letters, digits, '_', '.' \
                     or '-', each at most {TAG_KEY_MAX} characters"
                ),
            )
        };
        let (key, value) = text.split_once('=').ok_or_else(invalid)?;
        let key_ok = key.len() <= TAG_KEY_MAX
            && key
                .bytes()
                .next()
                .is_some_and(|first| first.is_ascii_lowercase() || first.is_ascii_digit())
            && key.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'.' | b'-')
            });
        let value_ok = !value.is_empty()
            && value.len() <= TAG_VALUE_MAX
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
        if key_ok && value_ok {
            Ok(Self(text.to_owned()))
        } else {
            Err(invalid())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A set of tags, sorted and without repeats: a delegate's labels, or what a task
/// requires of the delegate that runs it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tags(BTreeSet<Tag>);

impl Tags {
    pub fn parse<S: AsRef<str>>(texts: &[S]) -> Result<Self, ValidationError> {
        if texts.len() > TAGS_MAX {
            return Err(ValidationError::new(
                "tags",
                format!("must be at most {TAGS_MAX}"),
            ));
        }
        let tags = texts
            .iter()
            .map(|text| Tag::parse(text.as_ref()))
            .collect::<Result<BTreeSet<_>, _>>()?;
        Ok(Self(tags))
    }

    /// Whether a delegate with these tags may run a task selecting `selector`: it has
    /// every tag the selector names (an empty selector takes any delegate).
    pub fn satisfy(&self, selector: &Tags) -> bool {
        selector.0.is_subset(&self.0)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Tag> {
        self.0.iter()
    }

    pub fn to_strings(&self) -> Vec<String> {
        self.0.iter().map(|tag| tag.0.clone()).collect()
    }
}

/// Where a delegate is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DelegateStatus {
    /// Created; its registration token not yet exchanged.
    Pending,
    /// Registered: it pulls tasks with its own credential.
    Active,
    /// Refused from its next request on.
    Revoked,
}

impl DelegateStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            DelegateStatus::Pending => "pending",
            DelegateStatus::Active => "active",
            DelegateStatus::Revoked => "revoked",
        }
    }

    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        [Self::Pending, Self::Active, Self::Revoked]
            .into_iter()
            .find(|status| status.as_str() == text)
            .ok_or_else(|| ValidationError::new("status", "is not a delegate status"))
    }
}

/// A delegate of a project.
#[derive(Clone, Debug, PartialEq)]
pub struct Delegate {
    pub id: DelegateId,
    pub project_id: ProjectId,
    pub name: Slug,
    pub tags: Tags,
    pub status: DelegateStatus,
    /// Until when the registration token may be exchanged (pending delegates).
    pub registration_expires_at: Option<Timestamp>,
    /// The version the delegate reported.
    pub version: Option<String>,
    pub last_heartbeat_at: Option<Timestamp>,
    pub last_ip: Option<String>,
    pub created_by: String,
    pub created_at: Timestamp,
    pub registered_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
    /// The sandbox the delegate runs script steps in, as it reported.
    pub sandbox: Option<String>,
}

/// The longest sandbox description a delegate may report.
pub const SANDBOX_DESCRIPTION_MAX: usize = 200;

/// Where a task is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskStatus {
    /// Waiting for a delegate (first time, or again after a failed attempt).
    Queued,
    /// Claimed by a delegate, until its lease runs out.
    Running,
    Succeeded,
    /// Failed on its last attempt, or ran out of time.
    Failed,
    /// A delegate refused it (its envelope did not pass the delegate's checks).
    Refused,
}

impl TaskStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Queued => "queued",
            TaskStatus::Running => "running",
            TaskStatus::Succeeded => "succeeded",
            TaskStatus::Failed => "failed",
            TaskStatus::Refused => "refused",
        }
    }

    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        [
            Self::Queued,
            Self::Running,
            Self::Succeeded,
            Self::Failed,
            Self::Refused,
        ]
        .into_iter()
        .find(|status| status.as_str() == text)
        .ok_or_else(|| ValidationError::new("status", "is not a task status"))
    }

    pub const fn is_final(self) -> bool {
        matches!(
            self,
            TaskStatus::Succeeded | TaskStatus::Failed | TaskStatus::Refused
        )
    }
}

/// What kind of work a task is. Each kind has its own attempts and backoff.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskKind {
    /// A connectivity check of one delegate: it answers with what it is and runs.
    Ping,
    /// A JSON POST, signed with HMAC-SHA256 when the task carries a secret.
    Webhook,
    /// A page or notice delivered to one of a user's contact methods (email, Slack,
    /// generic signed webhook).
    Notification,
    /// A runbook's script step, run in the delegate's sandbox.
    Script,
    /// A runbook's HTTP request step (to a URL the delegate allows).
    HttpRequest,
    /// A PromQL query (instant or range) against a Prometheus the delegate may reach:
    /// a runbook's query step, and the way SLI data comes from inside a network.
    PrometheusQuery,
}

impl TaskKind {
    pub const ALL: [TaskKind; 6] = [
        TaskKind::Ping,
        TaskKind::Webhook,
        TaskKind::Notification,
        TaskKind::Script,
        TaskKind::HttpRequest,
        TaskKind::PrometheusQuery,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            TaskKind::Ping => "ping",
            TaskKind::Webhook => "webhook",
            TaskKind::Notification => "notification",
            TaskKind::Script => "script",
            TaskKind::HttpRequest => "http_request",
            TaskKind::PrometheusQuery => "prometheus_query",
        }
    }

    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
            .ok_or_else(|| ValidationError::new("kind", "is not a task kind"))
    }

    /// Whether a task of this kind may run a runbook step (its end then moves an
    /// execution on; a notification may also be a page's delivery).
    pub const fn runs_a_runbook_step(self) -> bool {
        matches!(
            self,
            TaskKind::Script
                | TaskKind::HttpRequest
                | TaskKind::PrometheusQuery
                | TaskKind::Notification
        )
    }

    /// Attempts before the task fails for good. Runbook steps that may change
    /// something are tried once: a script or a request must not run twice because its
    /// answer was lost. A query only reads, so it is tried again.
    pub const fn max_attempts(self) -> u32 {
        match self {
            TaskKind::Ping | TaskKind::Script | TaskKind::HttpRequest => 1,
            TaskKind::PrometheusQuery => 3,
            TaskKind::Webhook | TaskKind::Notification => 5,
        }
    }

    /// How long a delegate holds a claimed task before another may take it over (a
    /// script's longest wall-clock time and a margin: a lease that ran out ends a task
    /// that has no attempt left).
    pub const fn lease(self) -> SignedDuration {
        match self {
            TaskKind::Ping => SignedDuration::from_secs(30),
            TaskKind::Webhook | TaskKind::Notification => SignedDuration::from_secs(60),
            TaskKind::HttpRequest | TaskKind::PrometheusQuery => SignedDuration::from_secs(120),
            TaskKind::Script => {
                SignedDuration::from_secs(SCRIPT_LIMITS_MAX.wall_seconds as i64 + 300)
            }
        }
    }

    /// How long after it was queued nobody runs the task any more.
    pub const fn lifetime(self) -> SignedDuration {
        match self {
            TaskKind::Ping => SignedDuration::from_secs(300),
            TaskKind::Webhook
            | TaskKind::Notification
            | TaskKind::Script
            | TaskKind::HttpRequest
            | TaskKind::PrometheusQuery => SignedDuration::from_secs(3600),
        }
    }

    /// The wait before attempt `attempt + 1` after `attempt` (1-based) failed:
    /// exponential from 5 s, at most 5 min.
    pub fn backoff(self, attempt: u32) -> SignedDuration {
        let base: i64 = match self {
            TaskKind::Ping
            | TaskKind::Webhook
            | TaskKind::Notification
            | TaskKind::Script
            | TaskKind::HttpRequest
            | TaskKind::PrometheusQuery => 5,
        };
        let exponent = attempt.saturating_sub(1).min(16);
        SignedDuration::from_secs((base << exponent).min(300))
    }
}

/// What a script step may use: wall-clock and CPU time, memory (address space),
/// processes, the size of a file it writes, and the output kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScriptLimits {
    pub wall_seconds: u64,
    pub cpu_seconds: u64,
    pub memory_bytes: u64,
    pub processes: u64,
    pub file_bytes: u64,
    pub output_bytes: u64,
}

/// A script step's limits when its runbook names none.
pub const SCRIPT_LIMITS_DEFAULT: ScriptLimits = ScriptLimits {
    wall_seconds: 300,
    cpu_seconds: 60,
    memory_bytes: 512 * 1024 * 1024,
    processes: 64,
    file_bytes: 64 * 1024 * 1024,
    output_bytes: 32 * 1024,
};

/// The most a script step may ask for (its output fits the 64 KiB task result).
pub const SCRIPT_LIMITS_MAX: ScriptLimits = ScriptLimits {
    wall_seconds: 3600,
    cpu_seconds: 3600,
    memory_bytes: 8 * 1024 * 1024 * 1024,
    processes: 1024,
    file_bytes: 1024 * 1024 * 1024,
    output_bytes: 48 * 1024,
};

impl ScriptLimits {
    /// Every limit at least 1 and at most [`SCRIPT_LIMITS_MAX`]; names the first that
    /// is not.
    pub fn check(self) -> Result<Self, ValidationError> {
        let pairs = [
            (
                "wall_seconds",
                self.wall_seconds,
                SCRIPT_LIMITS_MAX.wall_seconds,
            ),
            (
                "cpu_seconds",
                self.cpu_seconds,
                SCRIPT_LIMITS_MAX.cpu_seconds,
            ),
            (
                "memory_bytes",
                self.memory_bytes,
                SCRIPT_LIMITS_MAX.memory_bytes,
            ),
            ("processes", self.processes, SCRIPT_LIMITS_MAX.processes),
            ("file_bytes", self.file_bytes, SCRIPT_LIMITS_MAX.file_bytes),
            (
                "output_bytes",
                self.output_bytes,
                SCRIPT_LIMITS_MAX.output_bytes,
            ),
        ];
        for (name, value, max) in pairs {
            if value == 0 || value > max {
                return Err(ValidationError::new(
                    name,
                    format!("must be between 1 and {max}"),
                ));
            }
        }
        Ok(self)
    }
}

/// A task of a project's delegates (its arguments and result sealed).
#[derive(Clone, Debug, PartialEq)]
pub struct DelegateTask {
    pub id: DelegateTaskId,
    pub project_id: ProjectId,
    pub kind: TaskKind,
    pub selector: Tags,
    /// Set when only this delegate may run it.
    pub target_delegate_id: Option<DelegateId>,
    pub arguments_sealed: Vec<u8>,
    pub status: TaskStatus,
    pub delegate_id: Option<DelegateId>,
    pub attempts: u32,
    pub max_attempts: u32,
    pub not_before: Timestamp,
    pub lease_until: Option<Timestamp>,
    pub expires_at: Timestamp,
    pub result_sealed: Option<Vec<u8>>,
    /// Why it failed or was refused (a stable code), when it did.
    pub error_code: Option<String>,
    /// What the task is for (its producer's reference).
    pub subject: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_parse_and_select() {
        let delegate = Tags::parse(&["env=prod", "region=eu-1", "env=prod"]).unwrap();
        assert_eq!(delegate.to_strings(), ["env=prod", "region=eu-1"]);
        assert!(delegate.satisfy(&Tags::default()));
        assert!(delegate.satisfy(&Tags::parse(&["env=prod"]).unwrap()));
        assert!(!delegate.satisfy(&Tags::parse(&["env=staging"]).unwrap()));
        assert!(!delegate.satisfy(&Tags::parse(&["env=prod", "gpu=yes"]).unwrap()));
        for bad in [
            "env", "=prod", "Env=prod", "env=", "env=a b", "env=\0", "-x=1",
        ] {
            assert!(Tag::parse(bad).is_err(), "{bad}");
        }
        let too_many: Vec<String> = (0..=TAGS_MAX).map(|i| format!("k{i}=v")).collect();
        assert!(Tags::parse(&too_many).is_err());
    }

    #[test]
    fn script_limits_are_bounded() {
        assert_eq!(SCRIPT_LIMITS_DEFAULT.check(), Ok(SCRIPT_LIMITS_DEFAULT));
        assert_eq!(SCRIPT_LIMITS_MAX.check(), Ok(SCRIPT_LIMITS_MAX));
        let zero = ScriptLimits {
            processes: 0,
            ..SCRIPT_LIMITS_DEFAULT
        };
        assert_eq!(zero.check().unwrap_err().field, "processes");
        let long = ScriptLimits {
            wall_seconds: SCRIPT_LIMITS_MAX.wall_seconds + 1,
            ..SCRIPT_LIMITS_DEFAULT
        };
        assert_eq!(long.check().unwrap_err().field, "wall_seconds");
        // A script's lease outlasts its longest run: a lease that ran out fails it.
        assert!(TaskKind::Script.lease().as_secs() > SCRIPT_LIMITS_MAX.wall_seconds as i64);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let waits: Vec<i64> = (1..=8)
            .map(|attempt| TaskKind::Webhook.backoff(attempt).as_secs())
            .collect();
        assert_eq!(waits, [5, 10, 20, 40, 80, 160, 300, 300]);
        assert_eq!(TaskKind::Webhook.backoff(u32::MAX).as_secs(), 300);
    }
}
