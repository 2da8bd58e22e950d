//! Runs: one plan → policy checks → approval → apply (or destroy) cycle on a workspace,
//! and the rules that keep it honest — the state machine every transition goes through
//! ([`RunStatus::after`]), the settings a workspace's runs follow ([`RunSettings`]), what
//! an approval is bound to ([`approval_binding`]) and when approvals add up to enough
//! ([`valid_approvals`]), and what an apply must have written ([`check_applied_state`]).
//!
//! The state machine, as HCP Terraform and Atlantis users know it:
//!
//! ```text
//! planning ──plan attached──► planned_and_finished      (nothing to change)
//!     │                 ├───► policy_blocked            (a hard-mandatory set failed)
//!     │                 ├───► policy_override ──override──► needs_approval
//!     │                 ├───► needs_approval ──enough approvals──► approved
//!     │                 └───► approved                  (auto-apply workspaces)
//!     ├──cancel──► canceled          approved ──approvals lapsed──► needs_approval
//!     └──failed──► errored           approved ──apply started──► applying
//! policy_override | needs_approval | approved ──discard──► discarded
//! approved ──state changed since the plan──► errored
//! applying ──state written and checked──► applied ; ──failed──► errored ; ──cancel──► canceled
//! ```
//!
//! `planned_and_finished`, `policy_blocked`, `applied`, `errored`, `discarded` and
//! `canceled` are final: a run that ends there is history, and the next change is a new
//! run.

use jiff::Timestamp;

use crate::iacm::plans::PlanStateRef;
use crate::iacm::policy_sets::PolicyStatus;
use crate::{RunId, ValidationError};

/// Where a run is in its cycle (see the module's diagram).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RunStatus {
    /// Created; the plan is being made and has not been attached yet.
    Planning,
    /// The plan changes nothing: nothing to approve or apply.
    PlannedAndFinished,
    /// A hard-mandatory policy set failed: this plan can never be applied.
    PolicyBlocked,
    /// A soft-mandatory policy set failed: an override is needed before approval.
    PolicyOverride,
    /// Waiting for approvals.
    NeedsApproval,
    /// Enough valid approvals: ready to apply.
    Approved,
    /// The apply is running; the run holds the workspace's lock.
    Applying,
    /// Applied; the state it wrote is linked to the run.
    Applied,
    /// Planning or applying failed, or the state changed under the plan.
    Errored,
    /// Thrown away by a person before it was applied.
    Discarded,
    /// Stopped while planning (or, by someone who may break locks, while applying).
    Canceled,
}

impl RunStatus {
    pub const ALL: [Self; 11] = [
        Self::Planning,
        Self::PlannedAndFinished,
        Self::PolicyBlocked,
        Self::PolicyOverride,
        Self::NeedsApproval,
        Self::Approved,
        Self::Applying,
        Self::Applied,
        Self::Errored,
        Self::Discarded,
        Self::Canceled,
    ];

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == text)
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Planning => "planning",
            Self::PlannedAndFinished => "planned_and_finished",
            Self::PolicyBlocked => "policy_blocked",
            Self::PolicyOverride => "policy_override",
            Self::NeedsApproval => "needs_approval",
            Self::Approved => "approved",
            Self::Applying => "applying",
            Self::Applied => "applied",
            Self::Errored => "errored",
            Self::Discarded => "discarded",
            Self::Canceled => "canceled",
        }
    }

    /// A final status: nothing more happens to the run.
    pub const fn is_final(self) -> bool {
        matches!(
            self,
            Self::PlannedAndFinished
                | Self::PolicyBlocked
                | Self::Applied
                | Self::Errored
                | Self::Discarded
                | Self::Canceled
        )
    }

    /// What happens to a run in this status on `event`: its next status, or why the
    /// event does not apply now (the message a person reads with the 409).
    pub fn after(self, event: RunEvent) -> Result<Self, String> {
        use RunEvent as E;
        use RunStatus as S;
        let next = match (self, event) {
            (
                S::Planning,
                E::PlanAttached {
                    has_changes,
                    policy,
                    auto_apply,
                },
            ) => match policy {
                PolicyStatus::Blocked => S::PolicyBlocked,
                _ if !has_changes => S::PlannedAndFinished,
                PolicyStatus::NeedsOverride => S::PolicyOverride,
                _ if auto_apply => S::Approved,
                _ => S::NeedsApproval,
            },
            (S::PolicyOverride, E::PolicyCleared { auto_apply }) => {
                if auto_apply {
                    S::Approved
                } else {
                    S::NeedsApproval
                }
            }
            (S::NeedsApproval, E::Approved { enough }) => {
                if enough {
                    S::Approved
                } else {
                    S::NeedsApproval
                }
            }
            (S::Approved, E::ApprovalsLapsed) => S::NeedsApproval,
            (S::Approved, E::ApplyStarted) => S::Applying,
            (S::Approved, E::Stale) => S::Errored,
            (S::Applying, E::ApplyFinished) => S::Applied,
            (S::Planning | S::Applying, E::Failed) => S::Errored,
            (S::PolicyOverride | S::NeedsApproval | S::Approved, E::Discard) => S::Discarded,
            (S::Planning | S::Applying, E::Cancel) => S::Canceled,
            (status, event) => return Err(refusal(status, event)),
        };
        Ok(next)
    }
}

/// Why `event` does not apply to a run in `status`, in the words a person needs.
fn refusal(status: RunStatus, event: RunEvent) -> String {
    let state = status.as_str();
    if status.is_final() {
        return format!("the run is {state}: it is finished and nothing more can happen to it");
    }
    let what = match event {
        RunEvent::PlanAttached { .. } => "a plan can only be attached while the run is planning",
        RunEvent::PolicyCleared { .. } => "only a run waiting for a policy override can go on",
        RunEvent::Approved { .. } => match status {
            RunStatus::PolicyOverride => {
                "a soft-mandatory policy set failed: override it (with a reason) before approving"
            }
            RunStatus::Approved => "the run is already approved",
            RunStatus::Planning => "the run has no plan to approve yet",
            _ => "only a run that needs approval can be approved",
        },
        RunEvent::ApprovalsLapsed => "only an approved run's approvals can lapse",
        RunEvent::ApplyStarted => match status {
            RunStatus::NeedsApproval => "the run needs approval before it is applied",
            RunStatus::PolicyOverride => {
                "a soft-mandatory policy set failed: override it and approve the run first"
            }
            RunStatus::Applying => "the run is already applying",
            _ => "only an approved run can be applied",
        },
        RunEvent::Stale => "only an approved run can go stale",
        RunEvent::ApplyFinished => "only an applying run can finish applying",
        RunEvent::Failed => "only a planning or applying run can fail",
        RunEvent::Discard => match status {
            RunStatus::Planning => "a planning run is canceled, not discarded",
            RunStatus::Applying => "an applying run cannot be discarded",
            _ => "only a run waiting for an override, approval or apply can be discarded",
        },
        RunEvent::Cancel => "only a planning or applying run can be canceled; discard it instead",
    };
    format!("the run is {state}: {what}")
}

/// What happens to a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunEvent {
    /// Its plan is attached, checked by the policy sets.
    PlanAttached {
        /// The plan changes a resource or an output.
        has_changes: bool,
        policy: PolicyStatus,
        auto_apply: bool,
    },
    /// Every failed soft-mandatory result is overridden.
    PolicyCleared {
        auto_apply: bool,
    },
    /// Someone approved; `enough` when the valid approvals reach the number required.
    Approved {
        enough: bool,
    },
    /// The approvals expired or no longer match the plan.
    ApprovalsLapsed,
    ApplyStarted,
    /// The workspace's state changed since the plan was made.
    Stale,
    ApplyFinished,
    Failed,
    Discard,
    Cancel,
}

impl RunEvent {
    /// Its name in the transition history and the audit log.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::PlanAttached { .. } => "plan_attached",
            Self::PolicyCleared { .. } => "policy_cleared",
            Self::Approved { .. } => "approved",
            Self::ApprovalsLapsed => "approvals_lapsed",
            Self::ApplyStarted => "apply_started",
            Self::Stale => "stale",
            Self::ApplyFinished => "apply_finished",
            Self::Failed => "failed",
            Self::Discard => "discard",
            Self::Cancel => "cancel",
        }
    }
}

/// The most approvals a workspace can require.
pub const APPROVALS_REQUIRED_MAX: u32 = 10;
/// Approval lifetimes: a minute to thirty days.
pub const APPROVAL_TTL_SECONDS_MIN: u64 = 60;
pub const APPROVAL_TTL_SECONDS_MAX: u64 = 30 * 24 * 3600;
/// How long an approval is valid unless the workspace says otherwise.
pub const APPROVAL_TTL_SECONDS_DEFAULT: u64 = 24 * 3600;

/// How long a run credential (the token an apply hands to Terraform) lives at most; it
/// is revoked as soon as the run stops applying, and never outlives the token that
/// started the apply.
pub const RUN_CREDENTIAL_SECONDS: i64 = 2 * 3600;

/// How a workspace's runs are approved and applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunSettings {
    /// Checked runs are approved without a person (for low-risk workspaces).
    pub auto_apply: bool,
    /// The run's author may approve it.
    pub allow_self_approval: bool,
    /// Valid approvals needed, 1 to [`APPROVALS_REQUIRED_MAX`].
    pub approvals_required: u32,
    /// How long an approval stays valid.
    pub approval_ttl_seconds: u64,
    /// The workspace's state changes only through runs: the backend accepts a write
    /// only from the principal applying a run, under the run's lock, and a lock only
    /// for a plan.
    pub governed: bool,
}

impl Default for RunSettings {
    fn default() -> Self {
        Self {
            auto_apply: false,
            allow_self_approval: false,
            approvals_required: 1,
            approval_ttl_seconds: APPROVAL_TTL_SECONDS_DEFAULT,
            governed: false,
        }
    }
}

impl RunSettings {
    /// Checks the numbers are in range.
    pub fn validate(self) -> Result<Self, ValidationError> {
        if !(1..=APPROVALS_REQUIRED_MAX).contains(&self.approvals_required) {
            return Err(ValidationError::new(
                "approvals_required",
                format!("must be 1 to {APPROVALS_REQUIRED_MAX}"),
            ));
        }
        if !(APPROVAL_TTL_SECONDS_MIN..=APPROVAL_TTL_SECONDS_MAX)
            .contains(&self.approval_ttl_seconds)
        {
            return Err(ValidationError::new(
                "approval_ttl_seconds",
                format!(
                    "must be {APPROVAL_TTL_SECONDS_MIN} to {APPROVAL_TTL_SECONDS_MAX} seconds (30 days)"
                ),
            ));
        }
        Ok(self)
    }
}

/// A run as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct Run {
    pub id: RunId,
    pub workspace_id: crate::WorkspaceId,
    pub is_destroy: bool,
    pub status: RunStatus,
    pub plan_id: Option<crate::PlanId>,
    /// The lock ID the run's apply holds the workspace with (and Terraform writes with).
    pub lock_id: String,
    /// The state version the apply wrote, once applied.
    pub applied_state_version: Option<u64>,
    pub created_by: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Counts transitions: a transition applies only to the version it read.
    pub version: u64,
}

/// One transition of a run: what happened, from which status to which, by whom, when.
#[derive(Clone, Debug, PartialEq)]
pub struct RunTransition {
    pub seq: u64,
    pub event: String,
    pub from_status: RunStatus,
    pub to_status: RunStatus,
    pub actor: String,
    pub at: Timestamp,
    /// Why, when the system decided (a stale state, a lapsed approval): never a person's text.
    pub detail: Option<String>,
}

/// One approval of a run.
#[derive(Clone, Debug, PartialEq)]
pub struct RunApproval {
    pub approver: String,
    /// What was approved: the keyed digest of [`approval_binding`] (hex).
    pub binding: String,
    pub approved_at: Timestamp,
    pub expires_at: Timestamp,
}

/// What an approval vouches for, as text to digest: the run, the plan JSON's and the
/// binary plan file's SHA-256, each policy set's result (set, version, enforcement,
/// outcome, overridden or not) and the cost estimate. Any of them changing makes earlier
/// approvals count for nothing.
pub fn approval_binding(
    run: RunId,
    plan_json_sha256: &str,
    plan_file_sha256: &str,
    policy_results: &[(String, u64, &str, &str, bool)],
    cost_estimate: &str,
) -> String {
    let mut text = format!(
        "rampart/run-approval/v1\nrun {run}\nplan {plan_json_sha256}\nfile {plan_file_sha256}\n"
    );
    for (set, version, enforcement, outcome, overridden) in policy_results {
        text.push_str(&format!(
            "policy {set} {version} {enforcement} {outcome} {overridden}\n"
        ));
    }
    text.push_str("cost ");
    text.push_str(cost_estimate);
    text
}

/// The approvals that still count: made for `binding` and not expired at `now`.
pub fn valid_approvals<'a>(
    approvals: &'a [RunApproval],
    binding: &str,
    now: Timestamp,
) -> impl Iterator<Item = &'a RunApproval> {
    approvals
        .iter()
        .filter(move |approval| approval.binding == binding && approval.expires_at > now)
}

/// Checks the state an apply wrote against the state its plan was made on: the same
/// lineage (a new one only when there was no state) and a higher serial.
pub fn check_applied_state(
    planned_on: Option<&PlanStateRef>,
    lineage: &str,
    serial: u64,
) -> Result<(), String> {
    let Some(base) = planned_on else {
        return Ok(());
    };
    if base.lineage != lineage {
        return Err(format!(
            "the applied state has lineage {lineage}, the plan was made on lineage {}",
            base.lineage
        ));
    }
    if serial <= base.serial {
        return Err(format!(
            "the applied state has serial {serial}, not above the plan's {}",
            base.serial
        ));
    }
    Ok(())
}

/// What Terraform printed in one phase of a run (`plan` or `apply`), as stored: its
/// text is kept sealed beside this.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunLog {
    pub id: String,
    pub phase: String,
    pub bytes: u64,
    pub uploaded_by: String,
    pub uploaded_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events() -> Vec<RunEvent> {
        let mut events = vec![
            RunEvent::ApprovalsLapsed,
            RunEvent::ApplyStarted,
            RunEvent::Stale,
            RunEvent::ApplyFinished,
            RunEvent::Failed,
            RunEvent::Discard,
            RunEvent::Cancel,
        ];
        for auto_apply in [false, true] {
            events.push(RunEvent::PolicyCleared { auto_apply });
            for has_changes in [false, true] {
                for policy in [
                    PolicyStatus::None,
                    PolicyStatus::Passed,
                    PolicyStatus::PassedWithWarnings,
                    PolicyStatus::NeedsOverride,
                    PolicyStatus::Blocked,
                ] {
                    events.push(RunEvent::PlanAttached {
                        has_changes,
                        policy,
                        auto_apply,
                    });
                }
            }
        }
        events.push(RunEvent::Approved { enough: false });
        events.push(RunEvent::Approved { enough: true });
        events
    }

    #[test]
    fn statuses_round_trip() {
        for status in RunStatus::ALL {
            assert_eq!(RunStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(RunStatus::parse("done"), None);
    }

    #[test]
    fn final_statuses_accept_nothing_and_every_refusal_says_why() {
        for status in RunStatus::ALL {
            for event in events() {
                match status.after(event) {
                    Ok(next) => assert!(!status.is_final(), "{status:?} --{event:?}--> {next:?}"),
                    Err(message) => {
                        assert!(message.starts_with(&format!("the run is {}", status.as_str())));
                    }
                }
            }
        }
    }

    #[test]
    fn the_plan_decides_where_a_run_goes() {
        let attach = |has_changes, policy, auto_apply| {
            RunStatus::Planning.after(RunEvent::PlanAttached {
                has_changes,
                policy,
                auto_apply,
            })
        };
        use PolicyStatus as P;
        use RunStatus as S;
        assert_eq!(attach(true, P::Blocked, true), Ok(S::PolicyBlocked));
        assert_eq!(attach(false, P::Blocked, false), Ok(S::PolicyBlocked));
        assert_eq!(
            attach(false, P::NeedsOverride, false),
            Ok(S::PlannedAndFinished)
        );
        assert_eq!(attach(true, P::NeedsOverride, true), Ok(S::PolicyOverride));
        assert_eq!(
            attach(true, P::PassedWithWarnings, false),
            Ok(S::NeedsApproval)
        );
        assert_eq!(attach(true, P::None, true), Ok(S::Approved));
        // Only the paths in the diagram lead to applying.
        let mut reach_applying = Vec::new();
        for status in RunStatus::ALL {
            if status.after(RunEvent::ApplyStarted) == Ok(S::Applying) {
                reach_applying.push(status);
            }
        }
        assert_eq!(reach_applying, vec![S::Approved]);
        assert_eq!(
            S::NeedsApproval.after(RunEvent::Approved { enough: false }),
            Ok(S::NeedsApproval)
        );
        assert!(
            S::PolicyOverride
                .after(RunEvent::Approved { enough: true })
                .unwrap_err()
                .contains("override it")
        );
        assert!(
            S::Applied
                .after(RunEvent::Approved { enough: true })
                .is_err()
        );
        assert!(S::Discarded.after(RunEvent::ApplyStarted).is_err());
    }

    #[test]
    fn settings_are_checked() {
        assert!(RunSettings::default().validate().is_ok());
        for bad in [
            RunSettings {
                approvals_required: 0,
                ..RunSettings::default()
            },
            RunSettings {
                approvals_required: 11,
                ..RunSettings::default()
            },
            RunSettings {
                approval_ttl_seconds: 59,
                ..RunSettings::default()
            },
            RunSettings {
                approval_ttl_seconds: APPROVAL_TTL_SECONDS_MAX + 1,
                ..RunSettings::default()
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn approvals_count_only_for_what_they_approved_and_until_they_expire() {
        let at = |seconds: i64| Timestamp::from_second(1_800_000_000 + seconds).unwrap();
        let approval = |who: &str, binding: &str, expires| RunApproval {
            approver: who.into(),
            binding: binding.into(),
            approved_at: at(0),
            expires_at: at(expires),
        };
        let approvals = [
            approval("a", "x", 100),
            approval("b", "y", 100),
            approval("c", "x", 10),
        ];
        assert_eq!(valid_approvals(&approvals, "x", at(5)).count(), 2);
        assert_eq!(valid_approvals(&approvals, "x", at(10)).count(), 1);
        assert_eq!(valid_approvals(&approvals, "x", at(100)).count(), 0);
        let run = RunId::from_uuid(uuid::Uuid::nil());
        let base = approval_binding(
            run,
            "j",
            "f",
            &[("s".into(), 1, "hard", "passed", false)],
            "1",
        );
        assert_ne!(
            base,
            approval_binding(
                run,
                "j",
                "f",
                &[("s".into(), 1, "hard", "passed", true)],
                "1"
            )
        );
        assert_ne!(
            base,
            approval_binding(
                run,
                "j",
                "g",
                &[("s".into(), 1, "hard", "passed", false)],
                "1"
            )
        );
        assert_ne!(
            base,
            approval_binding(
                run,
                "j",
                "f",
                &[("s".into(), 1, "hard", "passed", false)],
                "2"
            )
        );
    }

    #[test]
    fn an_apply_must_continue_the_planned_state() {
        let base = PlanStateRef {
            version: 3,
            serial: 7,
            lineage: "L".into(),
            sha256: [0; 32],
        };
        assert!(check_applied_state(None, "anything", 1).is_ok());
        assert!(check_applied_state(Some(&base), "L", 8).is_ok());
        assert!(check_applied_state(Some(&base), "L", 7).is_err());
        assert!(check_applied_state(Some(&base), "M", 9).is_err());
    }
}
