//! Wire types of runs: plan → policy checks → approval → verified apply.
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Plan, PolicyResults};

/// Starts a run (status `planning`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunCreate {
    /// A destroy run (needs `workspace:destroy`).
    #[serde(default)]
    pub is_destroy: bool,
}

/// Attaches an uploaded plan of the workspace to a planning run.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunPlanAttach {
    /// The plan's id (from `POST …/plans`).
    pub plan: String,
}

/// Starts the apply of an approved run.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunApplyStart {
    /// SHA-256 (hex) of the binary plan file the client is about to apply: it must be
    /// the approved one.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub plan_file_sha256: String,
}

/// How an apply ended, reported by the client that ran it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunApplyResult {
    /// `succeeded` or `failed`.
    pub outcome: String,
}

/// A run in a list.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Run {
    pub id: String,
    pub workspace: String,
    pub is_destroy: bool,
    /// `planning`, `planned_and_finished`, `policy_blocked`, `policy_override`,
    /// `needs_approval`, `approved`, `applying`, `applied`, `errored`, `discarded` or
    /// `canceled`.
    pub status: String,
    pub plan_id: Option<String>,
    /// The lock ID the apply holds the workspace with (and writes state with).
    pub lock_id: String,
    /// The state version the apply wrote.
    pub applied_state_version: Option<u64>,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
}

/// One transition of a run.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct RunTransition {
    pub event: String,
    pub from_status: String,
    pub to_status: String,
    pub actor: String,
    pub at: String,
    /// Why, when the server decided (a stale state, lapsed approvals).
    pub detail: Option<String>,
}

/// One approval of a run.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct RunApproval {
    pub approver: String,
    pub approved_at: String,
    pub expires_at: String,
    /// Whether it still counts: for the plan, file, policy results and cost as they are
    /// now, and not expired.
    pub valid: bool,
}

/// The monthly cost change of a run's plan (the catalogue compiled into the server).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct RunCost {
    pub currency: String,
    pub prior_monthly: String,
    pub proposed_monthly: String,
    pub delta_monthly: String,
    /// Resources the catalogue has no price for.
    pub unpriced: u64,
}

/// A run with what a reviewer needs.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct RunDetail {
    pub run: Run,
    pub plan: Option<Plan>,
    pub policy: Option<PolicyResults>,
    pub cost: Option<RunCost>,
    pub approvals_required: u32,
    pub valid_approvals: u32,
    pub approvals: Vec<RunApproval>,
    pub transitions: Vec<RunTransition>,
}

/// What the client applying a run needs: the lock the run holds (Terraform writes the
/// state with it, `?ID=`), the approved plan file's digest, and the run credential —
/// the token Terraform authenticates the state write with (shown once; it can read and
/// write only this workspace's state, and is revoked when the run stops applying).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct RunApplyTicket {
    pub run: RunDetail,
    pub lock_id: String,
    pub plan_file_sha256: String,
    pub credential: String,
    pub credential_expires_at: String,
}
