//! Every limit of the system, named, with its unit last (STYLE.md 8). Limits that an
//! operator may tune live in the configuration with the same names; these are the
//! defaults and the hard bounds.

/// Longest slug (organisation and project identifiers), in characters.
pub const SLUG_CHARS_MAX: usize = 63;
/// Longest name of an organisation, project, service account or token.
pub const NAME_CHARS_MAX: usize = 100;
/// Longest description.
pub const DESCRIPTION_CHARS_MAX: usize = 2_000;
/// Longest display name of a user.
pub const DISPLAY_NAME_CHARS_MAX: usize = 200;
/// Longest email address (RFC 5321 path limit).
pub const EMAIL_CHARS_MAX: usize = 254;

/// OWASP ASVS 5.0 V6.2.1 asks for at least 8 and strongly recommends 15; we default to 12
/// and never allow an operator to go below 8.
pub const PASSWORD_CHARS_MIN_DEFAULT: usize = 12;
pub const PASSWORD_CHARS_MIN_FLOOR: usize = 8;
/// ASVS V6.2.9: at least 64 characters must be allowed. The upper bound keeps Argon2 input
/// bounded.
pub const PASSWORD_CHARS_MAX: usize = 128;

/// Default and largest page sizes for list endpoints.
pub const PAGE_SIZE_DEFAULT: u32 = 50;
pub const PAGE_SIZE_MAX: u32 = 500;

/// Default JSON body limit of API routes.
pub const API_BODY_BYTES_MAX: usize = 1024 * 1024;

/// Default and largest API token lifetimes.
pub const TOKEN_LIFETIME_DAYS_DEFAULT: u32 = 30;
pub const TOKEN_LIFETIME_DAYS_MAX_DEFAULT: u32 = 365;
/// The bootstrap admin token printed by `admin init` expires after this many days.
pub const BOOTSTRAP_TOKEN_LIFETIME_DAYS: u32 = 90;
/// A token's last-used time is written at most this often, so that a busy token does not
/// turn every read into a write.
pub const TOKEN_LAST_USED_WRITE_INTERVAL_SECS: i64 = 60;

/// Session timeouts (OWASP ASVS V7.3): idle and absolute.
pub const SESSION_IDLE_TIMEOUT_SECS_DEFAULT: u64 = 30 * 60;
pub const SESSION_ABSOLUTE_TIMEOUT_SECS_DEFAULT: u64 = 12 * 60 * 60;
/// Step-up: how recent a session's sign-in must be for a sensitive action.
pub const REAUTHENTICATION_MINUTES_DEFAULT: u64 = 10;

/// Audit retention per organisation, in days (unset keeps events for ever).
pub const AUDIT_RETENTION_DAYS_MIN: u32 = 1;
pub const AUDIT_RETENTION_DAYS_MAX: u32 = 36_500;

/// A secret's value, in bytes (certificates and kubeconfigs fit; blobs do not).
pub const SECRET_VALUE_BYTES_MAX: usize = 64 * 1024;

/// A Terraform state body accepted by the state backend, by default (configurable as
/// `iacm.state_size_bytes_max`).
pub const STATE_SIZE_BYTES_MAX_DEFAULT: usize = 64 * 1024 * 1024;

/// A plan's JSON (`terraform show -json PLANFILE`) accepted on upload, by default
/// (configurable as `iacm.plan_json_bytes_max`).
pub const PLAN_JSON_BYTES_MAX_DEFAULT: usize = 64 * 1024 * 1024;

/// A binary plan file (`terraform plan -out`) accepted on upload, by default
/// (configurable as `iacm.plan_file_bytes_max`).
pub const PLAN_FILE_BYTES_MAX_DEFAULT: usize = 64 * 1024 * 1024;

/// A state lock's info JSON, as the client sends it.
pub const STATE_LOCK_INFO_BYTES_MAX: usize = 16 * 1024;

/// A workspace's tags: how many, and how long each.
pub const WORKSPACE_TAGS_MAX: usize = 32;
pub const WORKSPACE_TAG_CHARS_MAX: usize = 64;

/// A policy module's name (a file name ending in `.rego`).
pub const POLICY_MODULE_NAME_CHARS_MAX: usize = 128;
/// Workspace identifiers one policy set may be attached to.
pub const POLICY_SET_WORKSPACES_MAX: usize = 500;
/// The Rego sources of one policy set together (a module alone: `rampart-policy`'s
/// `MODULE_BYTES_MAX`, 512 KiB).
pub const POLICY_SET_SOURCE_BYTES_MAX: usize = 4 * 1024 * 1024;
/// A policy override's reason.
pub const POLICY_OVERRIDE_REASON_CHARS_MAX: usize = 1000;

/// Request rates per client address (IPv6: per /64) and per authenticated principal, a
/// second, per server process (`[rate_limits]`; 0 switches a limit off). Bursts: two
/// seconds' worth per address, five per principal.
pub const REQUESTS_PER_SECOND_PER_IP_DEFAULT: u32 = 500;
pub const REQUESTS_PER_SECOND_PER_PRINCIPAL_DEFAULT: u32 = 200;
/// Failed authentications (bad token, bad password, bad session) a client address may
/// make a minute before it is refused with 429 without the credential being checked.
pub const AUTH_FAILURES_PER_IP_PER_MINUTE_DEFAULT: u32 = 20;
/// Failed logins an hour for one account from one address.
pub const LOGIN_FAILURES_PER_ACCOUNT_AND_IP_PER_HOUR_DEFAULT: u32 = 10;
/// Failed logins an hour for one account from all addresses together; addresses the
/// account signed in from within [`LOGIN_KNOWN_ADDRESS_DAYS`] are not refused by it.
pub const LOGIN_FAILURES_PER_ACCOUNT_PER_HOUR_DEFAULT: u32 = 100;
/// How long an address the account signed in from stays "known" to the account limit.
pub const LOGIN_KNOWN_ADDRESS_DAYS: i64 = 30;
/// Refusals by the throttles are written to the audit log as one counted
/// `auth.throttled` event per client or account this often, not one row each.
pub const THROTTLE_AUDIT_SUMMARY_SECS_DEFAULT: u64 = 60;
/// Throttle buckets kept per kind before full (forgettable) ones are dropped.
pub const THROTTLE_BUCKETS_MAX: usize = 100_000;

/// How often a server replica records its heartbeat and follows a root-key rotation.
pub const REPLICA_HEARTBEAT_SECS_DEFAULT: u64 = 5;

/// A variable's key (a Terraform variable name or an environment variable name).
pub const VARIABLE_KEY_CHARS_MAX: usize = 128;
/// A variable's value.
pub const VARIABLE_VALUE_BYTES_MAX: usize = 64 * 1024;
/// A variable's description.
pub const VARIABLE_DESCRIPTION_CHARS_MAX: usize = 500;
/// Variables one workspace or one variable set holds.
pub const VARIABLES_PER_HOLDER_MAX: usize = 200;
/// A run's log of one phase (plan or apply), as uploaded; the wrapper keeps the end of
/// a longer one.
pub const RUN_LOG_BYTES_MAX: usize = 8 * 1024 * 1024;
