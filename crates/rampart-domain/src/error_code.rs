//! The catalogue of error codes: every `code` the API answers with, its HTTP status and
//! what it means. Codes are stable API — clients and scripts match on them — so a code is
//! only ever added here, never renamed. Every error of every crate carries an
//! [`ErrorCode`], so a response cannot name a code the catalogue does not list; the
//! OpenAPI document lists the catalogue, and a test checks that every code the test
//! suite expects is in it.
//!
//! One family is open-ended: a value that failed validation answers
//! `invalid_<field>` (the field is named in the error body too), see
//! [`INVALID_FIELD_PREFIX`].

/// The prefix of the codes of values that failed validation (`invalid_email`, …).
pub const INVALID_FIELD_PREFIX: &str = "invalid_";

macro_rules! catalogue {
    ($($variant:ident = ($code:literal, $status:literal, $meaning:literal),)+) => {
        /// One stable error code. See the module documentation.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ErrorCode {
            $(#[doc = $meaning] $variant,)+
        }

        impl ErrorCode {
            /// Every code, in catalogue order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)+];

            /// The code as clients see it.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $code,)+
                }
            }

            /// The HTTP status this code is answered with (the Terraform backend's
            /// `state_locked` answers 423 to LOCK and 409 to a write: its entry names
            /// the usual one).
            pub const fn status(self) -> u16 {
                match self {
                    $(ErrorCode::$variant => $status,)+
                }
            }

            /// What the code means, for the API documentation.
            pub const fn meaning(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $meaning,)+
                }
            }
        }
    };
}

catalogue! {
    // Requests the server cannot read.
    MalformedJson = ("malformed_json", 400, "The request body is not valid JSON."),
    InvalidBody = ("invalid_body", 400, "The body does not match the expected shape (an unknown field, a wrong type)."),
    UnreadableBody = ("unreadable_body", 400, "The request body could not be read."),
    InvalidQuery = ("invalid_query", 400, "The query string does not match what the route accepts."),
    UnsupportedMediaType = ("unsupported_media_type", 415, "The body must be sent as JSON with `Content-Type: application/json`."),
    BodyTooLarge = ("body_too_large", 413, "The request body is larger than the route accepts."),
    HttpsRequired = ("https_required", 400, "Plain HTTP was sent to the TLS port."),
    MethodNotAllowed = ("method_not_allowed", 405, "The path exists but not with this method."),
    NotFound = ("not_found", 404, "Nothing here, or nothing the caller may see (hidden looks exactly like missing)."),
    RequestTimeout = ("request_timeout", 503, "The request took longer than the server's request timeout."),

    // Authentication.
    AuthenticationRequired = ("authentication_required", 401, "No credentials were sent."),
    UnsupportedAuthorization = ("unsupported_authorization", 401, "The `Authorization` scheme is not one this route accepts."),
    InvalidCredentials = ("invalid_credentials", 401, "The email or password is wrong."),
    CredentialsInvalid = ("credentials_invalid", 401, "A webhook's Basic credentials are wrong."),
    TokenMalformed = ("token_malformed", 401, "The token does not have the shape of a Rampart token."),
    TokenChecksumMismatch = ("token_checksum_mismatch", 401, "The token's checksum is wrong: it was mistyped or truncated."),
    TokenInvalid = ("token_invalid", 401, "The token is not known."),
    TokenExpired = ("token_expired", 401, "The token has expired."),
    TokenRevoked = ("token_revoked", 401, "The token was revoked."),
    TokenKindNotAccepted = ("token_kind_not_accepted", 401, "This kind of token is not accepted here."),
    PrincipalDisabled = ("principal_disabled", 401, "The user or service account is disabled."),
    SessionInvalid = ("session_invalid", 401, "The session has ended or never existed."),
    ReauthenticationRequired = ("reauthentication_required", 401, "The action is sensitive (key operations, role changes, tokens, single sign-on settings, runbook execution, approvals) and the session's sign-in is older than `auth.reauthentication_minutes`: re-authenticate (the message says how) and retry. API tokens are not asked."),
    SignatureRequired = ("signature_required", 401, "The webhook needs an `X-Rampart-Signature` header."),
    SignatureMalformed = ("signature_malformed", 401, "The webhook signature header cannot be parsed."),
    SignatureExpired = ("signature_expired", 401, "The webhook signature's timestamp is outside the replay window."),
    SignatureInvalid = ("signature_invalid", 401, "No webhook signature matches the body."),
    RegistrationInvalid = ("registration_invalid", 401, "The delegate registration token is not known, was used already or has expired."),
    DelegateRevoked = ("delegate_revoked", 401, "The delegate was revoked; its credential is refused."),
    SsoStateInvalid = ("sso_state_invalid", 400, "The single sign-on callback's `state` is unknown, used already, expired, or from another browser than the one that started the login."),
    SsoLoginFailed = ("sso_login_failed", 401, "The identity provider refused the sign-in, or its answer failed a check (the message names which: issuer, audience, nonce, signature, expiry…)."),
    SsoUserUnknown = ("sso_user_unknown", 403, "No user has the identity provider's verified email, and the provider does not create users (or sent no verified email)."),
    SsoProviderError = ("sso_provider_error", 502, "The identity provider could not be reached or answered something unusable (the message says what)."),

    // Authorisation and source addresses.
    PermissionDenied = ("permission_denied", 403, "The caller lacks the permission the route needs (named in `permission`)."),
    TokenNarrowed = ("token_narrowed", 403, "The token is narrowed to a project and cannot be used here."),
    SsoRequired = ("sso_required", 403, "This account or organisation signs in through single sign-on; a password session (other than a named break-glass user's) is refused."),
    CsrfTokenInvalid = ("csrf_token_invalid", 403, "A state-changing request with a session cookie lacks the right `X-CSRF-Token`."),
    OriginMismatch = ("origin_mismatch", 403, "The request's `Origin` is not this server."),
    IpNotAllowed = ("ip_not_allowed", 403, "The source address is outside the allowlist."),
    SourceNotAllowed = ("source_not_allowed", 403, "The integration does not accept webhooks from this address."),
    CurrentPasswordWrong = ("current_password_wrong", 403, "The current password given is wrong."),
    GrantExceedsOwnRights = ("grant_exceeds_own_rights", 403, "Nobody grants permissions they do not hold at that scope."),
    ForceRequiresAccountAdmin = ("force_requires_account_admin", 403, "Deleting a non-empty organisation or project needs an account admin."),
    ServiceAccountCannotSelfIssue = ("service_account_cannot_self_issue", 403, "A service account cannot create tokens for itself."),

    // Input that is well formed but not acceptable.
    InvalidScope = ("invalid_scope", 400, "The operation does not exist at this scope."),
    InvalidProject = ("invalid_project", 400, "The project a token is narrowed to does not exist or is not allowed."),
    InvalidCursor = ("invalid_cursor", 400, "The page cursor is not one this list gave."),
    InvalidLimit = ("invalid_limit", 400, "The page size is outside 1 to 500."),
    InvalidAt = ("invalid_at", 400, "`at` is not an RFC 3339 time from 1970 to 9000."),
    InvalidRange = ("invalid_range", 400, "`from` or `to` is not an RFC 3339 time from 1970 to 9000, or the range they make is empty or longer than the route allows."),
    InvalidTime = ("invalid_time", 400, "A time in a query (the audit log's or the alert list's `since`/`until`) is not RFC 3339."),
    InvalidDays = ("invalid_days", 400, "An audit retention in days is out of range."),
    InvalidExpiry = ("invalid_expiry", 400, "A token expiry is in the past or out of range."),
    InvalidExpiresAt = ("invalid_expires_at", 400, "`expires_at` is not an RFC 3339 time."),
    ConflictingExpiry = ("conflicting_expiry", 400, "Give either `expires_at` or `expires_in_days`, not both."),
    ExpiryRequired = ("expiry_required", 400, "A token needs an expiry."),
    TokenLifetimeTooLong = ("token_lifetime_too_long", 400, "The token would live longer than the configured maximum."),
    TokenOutlivesCreator = ("token_outlives_creator", 400, "A token cannot outlive the token that creates it."),
    InvalidCidr = ("invalid_cidr", 400, "A network is not a valid CIDR."),
    TooManyCidrs = ("too_many_cidrs", 400, "More networks than the limit."),
    InvalidPermission = ("invalid_permission", 400, "A permission name is not in the catalogue."),
    InvalidPrincipal = ("invalid_principal", 400, "A principal reference cannot be parsed."),
    UnknownPrincipal = ("unknown_principal", 400, "The principal does not exist."),
    UnknownRole = ("unknown_role", 400, "The role does not exist."),
    UnknownGroup = ("unknown_group", 400, "The user group does not exist."),
    UnknownResourceGroup = ("unknown_resource_group", 400, "The resource group does not exist."),
    UnknownUser = ("unknown_user", 400, "A user id does not name a user."),
    UnknownService = ("unknown_service", 400, "No such service in this project."),
    UnknownSchedule = ("unknown_schedule", 400, "No such schedule in this project."),
    UnknownSubscriber = ("unknown_subscriber", 400, "A subscriber does not name a user."),
    TooManySubscribers = ("too_many_subscribers", 400, "More subscribers than the limit."),
    TooManyAssignees = ("too_many_assignees", 400, "More assignees than the limit."),
    InvalidResource = ("invalid_resource", 400, "A resource reference cannot be parsed."),
    InvalidResourceType = ("invalid_resource_type", 400, "A resource type is not one the catalogue knows."),
    InvalidResourceGroup = ("invalid_resource_group", 400, "The resource group definition is not valid."),
    RoleNotAssignableHere = ("role_not_assignable_here", 400, "The role cannot be assigned at this scope."),
    OutsideServiceAccountScope = ("outside_service_account_scope", 400, "A service account's role must be inside its own scope."),
    NotAUser = ("not_a_user", 400, "The operation needs a user (not a service account)."),
    InvalidOverrideRange = ("invalid_override_range", 400, "A schedule override's `starts_at`/`ends_at` are not RFC 3339 times, or it does not end after it starts, or it lasts longer than the limit (90 days)."),
    TooManyOverrides = ("too_many_overrides", 400, "The schedule already holds the most overrides it may (200)."),
    NotASession = ("not_a_session", 400, "Logout and re-authentication are for sessions; API tokens are revoked instead."),
    ReauthenticationMethodMismatch = ("reauthentication_method_mismatch", 400, "A session re-authenticates the way it signed in: a password session with its password, a single sign-on session at its identity provider (the message names it)."),
    ConfirmationMismatch = ("confirmation_mismatch", 400, "The confirmation does not repeat what is to be destroyed."),
    SecretTooLarge = ("secret_too_large", 400, "A secret value is larger than the limit."),
    InvalidValue = ("invalid_value", 400, "A secret value is empty."),
    InvalidLabel = ("invalid_label", 400, "A severity label is empty or too long."),
    InvalidOutcome = ("invalid_outcome", 400, "An audit outcome filter is not success, failure or denied."),
    InvalidFormat = ("invalid_format", 400, "The export format is not ndjson or csv."),
    InvalidReason = ("invalid_reason", 400, "A reason (of a rollback, of a policy override) is empty or too long."),
    InvalidRateLimitPerMinute = ("invalid_rate_limit_per_minute", 400, "The integration's rate limit is out of range."),
    AuthModeNotForFormat = ("auth_mode_not_for_format", 400, "The auth mode does not fit the integration's format (`routing_key` is PagerDuty's: format `pagerduty` only)."),
    InvalidDefinition = ("invalid_definition", 400, "A definition (schedule, escalation policy, runbook) is not valid; the message names the place."),
    InvalidRules = ("invalid_rules", 400, "A service's alert rules are not valid."),
    InvalidTitle = ("invalid_title", 400, "An incident title is empty or too long."),
    InvalidText = ("invalid_text", 400, "A note or message is empty or too long."),
    InvalidDescription = ("invalid_description", 400, "A description is too long."),
    InvalidInputs = ("invalid_inputs", 400, "A runbook execution's inputs are unknown, missing, of the wrong type or not among the allowed values; the message names the input."),
    IncidentRequired = ("incident_required", 400, "The runbook has steps that act on an incident (add a note, change its status): name the incident to run it on."),
    InvalidCustomFields = ("invalid_custom_fields", 400, "Custom fields have bad names or values, or there are too many."),
    InvalidVersion = ("invalid_version", 400, "A delegate's version is empty, too long or holds characters other than letters, digits, '.', '-', '+' and '_'."),
    InvalidEcho = ("invalid_echo", 400, "A delegate ping's echo is longer than 1 024 characters."),
    InvalidOutput = ("invalid_output", 400, "A task's reported output is larger than 64 KiB."),
    InvalidErrorCode = ("invalid_error_code", 400, "A task's reported error code is not 1 to 64 lowercase letters, digits or '_'."),
    InvalidLock = ("invalid_lock", 400, "Terraform lock information is not valid JSON with an `ID`."),
    ContentMd5Mismatch = ("content_md5_mismatch", 400, "The body does not match its `Content-MD5`."),

    NulCharacter = ("nul_character", 400, "Text holds a NUL character (`\\u0000`), which no field accepts."),

    // Webhook payloads.
    InvalidPayload = ("invalid_payload", 400, "The webhook body is not the integration's format."),
    PayloadMissing = ("payload_missing", 400, "The webhook body is empty."),
    PayloadTooLarge = ("payload_too_large", 413, "The webhook body is larger than the limit."),
    SummaryMissing = ("summary_missing", 400, "An alert has no summary."),
    SummaryTooLong = ("summary_too_long", 400, "An alert summary is longer than the limit."),
    DedupKeyMissing = ("dedup_key_missing", 400, "An acknowledge or resolve event has no dedup key."),
    DedupKeyTooLong = ("dedup_key_too_long", 400, "A dedup key is longer than the limit."),
    InvalidEventAction = ("invalid_event_action", 400, "An event action is not trigger, acknowledge or resolve."),
    InvalidAction = ("invalid_action", 400, "An event action is not one the format knows."),
    InvalidSeverity = ("invalid_severity", 400, "An alert severity is not one the format knows."),
    RoutingKeyMissing = ("routing_key_missing", 400, "A PagerDuty event has no `routing_key` (answered 400 with PagerDuty's `invalid event` body, as PagerDuty does)."),
    RoutingKeyInvalid = ("routing_key_invalid", 400, "The `routing_key` is no integration's key (answered 400 with PagerDuty's `invalid event` body, as PagerDuty does)."),

    // Conflicts with the stored state.
    Conflict = ("conflict", 409, "The change conflicts with existing data."),
    ConcurrentUpdate = ("concurrent_update", 409, "Other writes kept winning (a secret version, a state write); retry."),
    AlreadyInitialized = ("already_initialized", 409, "The installation is already initialised."),
    IdentifierTaken = ("identifier_taken", 409, "The identifier is already used here."),
    EmailTaken = ("email_taken", 409, "A user with this email exists."),
    OrgNotEmpty = ("org_not_empty", 409, "The organisation still holds projects or resources."),
    ProjectNotEmpty = ("project_not_empty", 409, "The project still holds resources."),
    BuiltInRoleImmutable = ("built_in_role_immutable", 409, "Built-in roles cannot be changed."),
    CannotDeleteOwner = ("cannot_delete_owner", 409, "The account owner cannot be deleted."),
    CannotDisableOwner = ("cannot_disable_owner", 409, "The account owner cannot be disabled."),
    LastAccountAdmin = ("last_account_admin", 409, "The change would leave no enabled account admin."),
    RoleAlreadyAssigned = ("role_already_assigned", 409, "The principal already holds this role here (over the same resource group)."),
    AllowlistExcludesYou = ("allowlist_excludes_you", 409, "The allowlist would lock out the caller's own address."),
    SsoPolicyExcludesYou = ("sso_policy_excludes_you", 409, "Requiring single sign-on would lock out the caller's own password session: sign in through SSO, or name yourself a break-glass user."),
    NoSsoProvider = ("no_sso_provider", 409, "Single sign-on cannot be required while no provider is enabled."),
    InvalidTransition = ("invalid_transition", 409, "The incident cannot move to that status from its current one."),
    AlertAcknowledged = ("alert_acknowledged", 409, "The alert is already acknowledged."),
    AlertResolved = ("alert_resolved", 409, "The alert is resolved: it can be neither acknowledged nor resolved again."),
    PolicyInUse = ("policy_in_use", 409, "The escalation policy is used by a service."),
    ScheduleInUse = ("schedule_in_use", 409, "The schedule is used by an escalation policy."),
    RunbookVersionStale = ("runbook_version_stale", 409, "The runbook has a newer version than the one the change was made to; read it again."),
    InvalidRemoteWrite = ("invalid_remote_write", 400, "A Prometheus remote write body is not a snappy-compressed WriteRequest (remote write v1)."),
    SloVersionStale = ("slo_version_stale", 409, "The SLO has a newer version than the one the change was made to; read it again."),
    IncidentChangedSince = ("incident_changed_since", 409, "Someone else changed a field of the incident that the form changes too, after the form was drawn; the message names the fields. Read the incident again."),
    ExecutionStateConflict = ("execution_state_conflict", 409, "The runbook execution is not in a status where this can happen (only one awaiting approval can be approved, a finished one cannot be canceled); the message says where it is."),
    RootKeyFromEnvironment = ("root_key_from_environment", 409, "The root key comes from `RAMPART_ROOT_KEY`; rotate it offline."),
    RootKeyRotationPending = ("root_key_rotation_pending", 409, "The staged root key file (`root.key.new`) does not hold a usable key."),
    ReplicasNotReady = ("replicas_not_ready", 409, "Other running replicas do not hold the staged root key yet; the message names them."),
    StateConflict = ("state_conflict", 409, "The Terraform state write breaks the serial or lineage rules."),
    StateLocked = ("state_locked", 423, "The workspace is locked by someone else (423 to LOCK, 409 to a write)."),
    WorkspaceLocked = ("workspace_locked", 423, "The workspace is locked by a Terraform run; try again when it is free."),
    NoState = ("no_state", 404, "The workspace has no state yet."),
    PlanStateMismatch = ("plan_state_mismatch", 409, "The state the plan says it was made against is not the workspace's current state."),
    PlanFileExists = ("plan_file_exists", 409, "The plan already has a different binary plan file; a plan file is uploaded once."),
    PolicyNotOverridable = ("policy_not_overridable", 409, "Only a failed soft-mandatory policy set's result that is not overridden yet can be overridden."),
    PolicyInvalid = ("policy_invalid", 422, "A Rego module does not parse or compile; the message names the module, line and column."),
    PolicyWithoutDecision = ("policy_without_decision", 422, "A Rego module declares neither a `deny` nor a `warn` rule, so it could decide nothing."),
    InvalidOpenslo = ("invalid_openslo", 422, "OpenSLO YAML does not parse, or holds a field or value Rampart does not import; the message names the document and the field."),
    PolicySetInvalid = ("policy_set_invalid", 422, "A policy set needs 1 to 500 modules with distinct names."),
    PolicyDenied = ("policy_denied", 422, "A mandatory policy set denied the change; the message lists the sets and their messages."),
    RunStateConflict = ("run_state_conflict", 409, "The run is not in a status where this can happen (an applied run cannot be approved, a discarded one cannot be applied); the message says where it is."),
    RunStale = ("run_stale", 409, "The workspace's state changed since the run's plan was made; the plan can never apply as reviewed: plan again."),
    RunPlanMismatch = ("run_plan_mismatch", 409, "The plan file is not the one that was approved (or the run's plan lacks its binary file)."),
    ApprovalExpired = ("approval_expired", 409, "The run's approvals expired or no longer match its plan, policy results and cost; approve it again."),
    WorkspaceGoverned = ("workspace_governed", 403, "The workspace is governed: its state changes only through reviewed runs (`rampart tf apply`), not by a direct `terraform apply`."),
    InputValueRestricted = ("input_value_restricted", 403, "A value chosen for a runbook input may be chosen only by holders of the roles the message names."),
    SecondPersonRequired = ("second_person_required", 403, "A sensitive runbook's execution must be approved by someone other than who started it."),
    SelfApprovalForbidden = ("self_approval_forbidden", 403, "The run's author may not approve it in this workspace; another holder of `workspace:approve` must."),
    AlreadyApproved = ("already_approved", 409, "You have already approved this run's plan."),
    WorkspaceBusy = ("workspace_busy", 409, "Another run of the workspace is applying; the message names it. Apply when it has finished."),
    ApplyNotVerified = ("apply_not_verified", 409, "The state the apply wrote does not continue the plan's state (lineage, serial), or no state was written; the run is marked errored."),
    NotRunExecutor = ("not_run_executor", 403, "A run's variables and logs go only to its executor: while it plans, who started it; while it applies, who holds its lock."),
    RunLogExists = ("run_log_exists", 409, "That phase of the run has its log already; a log is uploaded once."),
    RunLogTooLarge = ("run_log_too_large", 413, "The run log is larger than 8 MiB; upload its end."),
    DelegateNotActive = ("delegate_not_active", 409, "The delegate is pending registration or revoked, so it cannot be sent a task."),
    TaskNotClaimed = ("task_not_claimed", 409, "The task's attempt is not running on the reporting delegate (its lease ran out, or it ended); the result is not recorded."),
    TooManyContactMethods = ("too_many_contact_methods", 400, "You already have the most contact methods allowed in this organisation (16)."),

    // Limits.
    StateEmpty = ("state_empty", 400, "The Terraform state body is empty."),
    StateNotJson = ("state_not_json", 400, "The Terraform state body is not JSON."),
    StateVersionUnsupported = ("state_version_unsupported", 400, "The Terraform state is not format version 4."),
    StateInvalid = ("state_invalid", 400, "The Terraform state lacks its lineage."),
    InvalidPlan = ("invalid_plan", 400, "The body is not the JSON of a Terraform/OpenTofu plan (`terraform show -json PLANFILE`); the message names what is wrong."),
    PlanFormatUnsupported = ("plan_format_unsupported", 400, "The plan's `format_version` is not one this server reads (0.1 to 1.x)."),
    StateTooLarge = ("state_too_large", 413, "The Terraform state is larger than `iacm.state_size_bytes_max`."),
    LockInfoTooLarge = ("lock_info_too_large", 413, "The Terraform lock information is larger than the limit."),
    RateLimited = ("rate_limited", 429, "Too many requests; `Retry-After` says when to retry."),
    TooManyAuthFailures = ("too_many_auth_failures", 429, "Too many failed sign-ins or bad credentials from this address or for this account; the credential was not checked. `Retry-After` says when to try again."),

    // Data that cannot be served.
    DataShredded = ("data_shredded", 410, "The data's keys were destroyed (crypto-shredding); it can never be read again."),
    AuditLogEmpty = ("audit_log_empty", 409, "The audit log has no events to export or sign yet."),
    StateIntegrityViolation = ("state_integrity_violation", 500, "A stored Terraform state failed its integrity check; it is not served."),
    IntegrityViolation = ("integrity_violation", 500, "Stored data failed an integrity check; an operator is alerted in the log."),
    PublicUrlUnknown = ("public_url_unknown", 503, "The server listens on every address and does not know the URL users reach it at: set `server.public_url` (single sign-on redirects are built from it)."),
    StoreUnavailable = ("store_unavailable", 503, "The database is unavailable; retry later."),
    RootKeyMismatch = ("root_key_mismatch", 503, "This replica's root key is not the one the database is wrapped under; another replica can answer, and an operator must install the current key on this one."),
    InternalError = ("internal_error", 500, "A bug or an unexpected failure; the request id identifies it in the server log."),
}

impl ErrorCode {
    /// The catalogued code with this text, if any.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|code| code.as_str() == text)
    }

    /// Whether `text` is a code the API can answer with: a catalogued code or an
    /// `invalid_<field>` validation code.
    pub fn is_known(text: &str) -> bool {
        Self::parse(text).is_some()
            || text
                .strip_prefix(INVALID_FIELD_PREFIX)
                .is_some_and(|field| {
                    !field.is_empty()
                        && field
                            .chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                })
    }
}

/// A rule refused an input or a change: a catalogued code (which gives the status) and a
/// message a user can act on. Domain rules return it; the edge answers it as is.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Refusal {
    pub code: ErrorCode,
    pub message: String,
}

impl Refusal {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_snake_case_with_a_meaning_and_an_error_status() {
        let mut seen = std::collections::BTreeSet::new();
        for code in ErrorCode::ALL {
            let text = code.as_str();
            assert!(seen.insert(text), "{text} is catalogued twice");
            assert!(
                text.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                "{text} is not snake_case"
            );
            assert!((400..600).contains(&code.status()), "{text}");
            assert!(
                code.meaning().ends_with('.'),
                "{text}: say it in a sentence"
            );
            assert_eq!(ErrorCode::parse(text), Some(*code));
        }
    }

    #[test]
    fn validation_codes_are_known_by_their_prefix() {
        assert!(ErrorCode::is_known("invalid_email"));
        assert!(ErrorCode::is_known("state_locked"));
        assert!(!ErrorCode::is_known("invalid_"));
        assert!(!ErrorCode::is_known("state-locked"));
        assert!(!ErrorCode::is_known("no_such_code"));
    }
}
