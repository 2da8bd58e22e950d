//! Runs of a workspace: create (planning), attach the uploaded plan (its policy results
//! decide where the run goes), override a failed soft-mandatory set, approve, discard,
//! cancel, and the verified apply — start (the state is still the one the plan was made
//! on, the plan file is the approved one, the approvals are valid; the run takes the
//! workspace's lock and hands out a run credential, the only token a governed
//! workspace's state accepts writes from) and finish (the state written continues the
//! plan's; the version is linked to the run; the lock is released and the credential
//! revoked).
//!
//! Every transition goes through [`RunStatus::after`], inside a write transaction that
//! first takes the workspace's write lock and re-reads the run, so two people acting at
//! once make exactly one transition; each is recorded with who and when, and audited in
//! the same transaction.
//!
//! Permissions, per workspace: `workspace:view` reads; `workspace:plan` creates runs and
//! attaches plans (a destroy run also needs `workspace:destroy`); `workspace:approve`
//! approves (not the run's author unless the workspace allows it); `policy_set:override`
//! overrides; `workspace:apply` applies and discards (`workspace:destroy` for a destroy
//! run); cancelling an applying run breaks its lock, so needs `workspace:force_unlock`.

use jiff::{SignedDuration, Timestamp};
use rampart_crypto::SecretToken;
use rampart_domain::iacm::cost_estimates::estimate_plan_json;
use rampart_domain::iacm::plans::{PlanStateRef, PlannedAction, StoredPlan};
use rampart_domain::iacm::policy_sets::PolicyStatus;
use rampart_domain::iacm::runs::{
    RUN_CREDENTIAL_SECONDS, Run, RunApproval, RunEvent, RunStatus, RunTransition, approval_binding,
    check_applied_state, valid_approvals,
};
use rampart_domain::iacm::state_versions::WorkspaceLock;
use rampart_domain::iacm::workspaces::Workspace;
use rampart_domain::platform::identity::{ApiToken, RunBinding};
use rampart_domain::platform::tenancy::Scope;
use rampart_domain::{ErrorCode, Permission, RunId, WorkspaceId};
use rampart_store::iacm::plans::PlanPart;
use rampart_store::{Page, WriteTx};
use serde_json::json;

use super::plans::{plan_entity_text, plan_place};
use super::policy_sets::PolicyResultView;
use crate::sealing::BlindIndex;
use crate::{App, AppError, AppResult, Ctx, mint};

/// The keyed digest an approval is bound to (not a registered blind index: it indexes
/// no person's text, only digests, and is compared, never looked up).
const APPROVAL_BINDING: BlindIndex = BlindIndex {
    domain: "rampart/run-approval/v1",
    columns: &[],
};

pub(crate) fn run_not_found() -> AppError {
    AppError::NotFound { what: "run" }
}

/// A run id from a path: the one UUID form, or nothing (404).
pub(crate) fn run_id(text: &str) -> AppResult<RunId> {
    rampart_domain::parse_uuid(text)
        .map(RunId::from_uuid)
        .ok_or_else(run_not_found)
}

fn state_conflict(message: String) -> AppError {
    AppError::conflict(ErrorCode::RunStateConflict, message)
}

/// The cost change of a run's plan, as the run view shows it (from the catalogue
/// compiled into the binary; `None` when the plan cannot be priced).
#[derive(Clone, Debug, PartialEq)]
pub struct RunCost {
    pub currency: String,
    pub prior_monthly: String,
    pub proposed_monthly: String,
    pub delta_monthly: String,
    pub unpriced: u64,
}

/// A run with what a reviewer needs: its transitions, approvals (and how many of them
/// still count), its plan and the plan's cost change.
#[derive(Clone, Debug)]
pub struct RunView {
    pub run: Run,
    pub workspace: Workspace,
    pub transitions: Vec<RunTransition>,
    pub approvals: Vec<ApprovalView>,
    /// Approvals that still count: for the plan as it is, not expired.
    pub valid_approvals: u32,
    pub plan: Option<StoredPlan>,
    /// What the policy sets decided about the plan (with overrides).
    pub policy: Vec<PolicyResultView>,
    pub cost: Option<RunCost>,
    /// What an approval is bound to now (once the run has a plan): computed once per
    /// view, for the view and for the approval or apply that read it.
    pub(crate) binding: Option<Binding>,
}

/// An approval and whether it still counts (for the plan as it is, not expired).
#[derive(Clone, Debug)]
pub struct ApprovalView {
    pub approval: RunApproval,
    pub valid: bool,
}

/// What the apply needs from the server: the lock the run holds and the plan file's
/// digest (the wrapper applies only a file with this digest).
#[derive(Clone, Debug)]
pub struct ApplyTicket {
    pub view: RunView,
    /// The run credential Terraform writes the state with (shown once; revoked when the
    /// run stops applying).
    pub credential: SecretToken,
    pub credential_expires_at: Timestamp,
    pub lock_id: String,
    pub plan_file_sha256: String,
}

/// How the wrapper says an apply ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApplyOutcome {
    Succeeded,
    Failed,
}

/// What a plan binds an approval to, computed from the stored plan.
#[derive(Clone, Debug)]
pub(crate) struct Binding {
    digest: String,
    plan_file_sha256: String,
    cost: Option<RunCost>,
}

impl App {
    /// Starts a run: status `planning`, waiting for its plan. Needs `workspace:plan`
    /// (and `workspace:destroy` for a destroy run).
    pub async fn create_run(
        &self,
        ctx: &Ctx,
        scope: Scope,
        identifier: &str,
        is_destroy: bool,
    ) -> AppResult<RunView> {
        let workspace = self
            .workspace_for(ctx, scope, identifier, Permission::WorkspacePlan)
            .await?;
        if is_destroy {
            self.authorize_workspace(ctx, scope, identifier, Permission::WorkspaceDestroy)
                .await?;
        }
        let now = self.now();
        let id = mint(now, RunId::mint)?;
        let run = Run {
            id,
            workspace_id: workspace.id,
            is_destroy,
            status: RunStatus::Planning,
            plan_id: None,
            // Terraform writes the apply's state with this ID (`?ID=` in the backend
            // address); the run's own id, so a lock holder is recognisable.
            lock_id: id.to_string(),
            applied_state_version: None,
            created_by: ctx.actor.actor_text(),
            created_at: now,
            updated_at: now,
            version: 1,
        };
        let mut tx = self.store().write().await?;
        tx.insert_run(&run).await?;
        tx.insert_run_transition(
            id,
            &RunTransition {
                seq: 1,
                event: "created".into(),
                from_status: RunStatus::Planning,
                to_status: RunStatus::Planning,
                actor: run.created_by.clone(),
                at: now,
                detail: None,
            },
        )
        .await?;
        tx.commit(
            ctx.audit(now, "run.create", "run")
                .scope(scope)
                .resource_id(id)
                .details(json!({
                    "workspace": workspace.identifier.as_str(),
                    "is_destroy": is_destroy,
                }))
                .build(),
        )
        .await?;
        self.run_view(&workspace, id).await
    }

    /// A workspace's runs, newest first. Needs `workspace:view`.
    pub async fn list_runs(
        &self,
        ctx: &Ctx,
        scope: Scope,
        identifier: &str,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> AppResult<(Workspace, Page<Run>)> {
        let workspace = self
            .workspace_for(ctx, scope, identifier, Permission::WorkspaceView)
            .await?;
        let page = crate::platform::page_request(limit, cursor)?;
        let runs = self.store().runs(workspace.id, &page).await?;
        Ok((workspace, runs))
    }

    /// A run with its transitions, approvals, plan and cost. Needs `workspace:view`.
    pub async fn get_run(
        &self,
        ctx: &Ctx,
        scope: Scope,
        identifier: &str,
        run: &str,
    ) -> AppResult<RunView> {
        let workspace = self
            .workspace_for(ctx, scope, identifier, Permission::WorkspaceView)
            .await?;
        self.run_view(&workspace, run_id(run)?).await
    }

    /// Attaches an uploaded plan of the workspace to a planning run; the plan's policy
    /// status and whether it changes anything decide the run's next status. A plan that
    /// changes something must have its binary plan file (the apply runs that file). A
    /// plan belongs to one run. Needs `workspace:plan`.
    pub async fn attach_run_plan(
        &self,
        ctx: &Ctx,
        scope: Scope,
        identifier: &str,
        run: &str,
        plan: &str,
    ) -> AppResult<RunView> {
        let workspace = self
            .workspace_for(ctx, scope, identifier, Permission::WorkspacePlan)
            .await?;
        let id = run_id(run)?;
        let (stored, details) = self.plan_details(ctx, scope, identifier, plan).await?;
        let has_changes = stored.counts.add
            + stored.counts.change
            + stored.counts.replace
            + stored.counts.destroy
            + stored.counts.forget
            > 0
            || details
                .summary
                .outputs
                .iter()
                .any(|output| output.action != PlannedAction::NoOp);
        if has_changes && details.file_sha256.is_none() {
            return Err(AppError::conflict(
                ErrorCode::RunPlanMismatch,
                "the plan changes something but has no binary plan file: upload the file \
                 `terraform plan -out` wrote (PUT …/plans/{plan}/file) first",
            ));
        }
        let now = self.now();
        let actor = ctx.actor.actor_text();
        let mut tx = self.store().write().await?;
        let mut current = locked_run(&mut tx, workspace.id, id).await?;
        if let Some(other) = tx.run_of_plan(stored.id).await? {
            return Err(AppError::conflict(
                ErrorCode::RunStateConflict,
                format!("the plan is already the plan of run {other}; upload a new plan"),
            ));
        }
        current.plan_id = Some(stored.id);
        let event = RunEvent::PlanAttached {
            has_changes,
            policy: stored.policy_status,
            auto_apply: workspace.runs.auto_apply,
        };
        transition(&mut tx, &mut current, event, &actor, now, None).await?;
        tx.commit(
            ctx.audit(now, "run.plan_attached", "run")
                .scope(scope)
                .resource_id(id)
                .details(json!({
                    "workspace": workspace.identifier.as_str(),
                    "plan": stored.id.to_string(),
                    "policy_status": stored.policy_status.as_str(),
                    "has_changes": has_changes,
                    "status": current.status.as_str(),
                }))
                .build(),
        )
        .await?;
        self.run_view(&workspace, id).await
    }

    /// Overrides a failed soft-mandatory result of the run's plan
    /// ([`App::override_plan_policy`]: `policy_set:override` and a reason), and moves the
    /// run on once nothing waits for an override.
    pub async fn override_run_policy(
        &self,
        ctx: &Ctx,
        scope: Scope,
        identifier: &str,
        run: &str,
        policy_set: &str,
        reason: &str,
    ) -> AppResult<(RunView, Vec<PolicyResultView>)> {
        let workspace = self
            .workspace_for(ctx, scope, identifier, Permission::WorkspaceView)
            .await?;
        let id = run_id(run)?;
        let view = self.run_view(&workspace, id).await?;
        let Some(plan) = view.run.plan_id else {
            return Err(state_conflict(
                "the run is planning: it has no plan to override yet".into(),
            ));
        };
        if view.run.status != RunStatus::PolicyOverride {
            return Err(state_conflict(format!(
                "the run is {}: only a run waiting for a policy override can be overridden",
                view.run.status.as_str()
            )));
        }
        let results = self
            .override_plan_policy(
                ctx,
                scope,
                identifier,
                &plan.to_string(),
                policy_set,
                reason,
            )
            .await?;
        self.clear_policy_if_overridden(ctx, scope, &workspace, id)
            .await?;
        Ok((self.run_view(&workspace, id).await?, results))
    }

    /// Moves a run waiting for an override on when its plan no longer needs one (the
    /// override may have been made on the plan directly).
    async fn clear_policy_if_overridden(
        &self,
        ctx: &Ctx,
        scope: Scope,
        workspace: &Workspace,
        id: RunId,
    ) -> AppResult<()> {
        let now = self.now();
        let mut tx = self.store().write().await?;
        let mut current = locked_run(&mut tx, workspace.id, id).await?;
        if current.status != RunStatus::PolicyOverride {
            return Ok(());
        }
        let Some(plan) = current.plan_id else {
            return Ok(());
        };
        let (stored, _) = self.plan_in(workspace, &plan.to_string(), &[]).await?;
        if stored.policy_status >= PolicyStatus::NeedsOverride {
            return Ok(());
        }
        let event = RunEvent::PolicyCleared {
            auto_apply: workspace.runs.auto_apply,
        };
        transition(
            &mut tx,
            &mut current,
            event,
            &ctx.actor.actor_text(),
            now,
            None,
        )
        .await?;
        tx.commit(
            ctx.audit(now, "run.policy_cleared", "run")
                .scope(scope)
                .resource_id(id)
                .details(json!({
                    "workspace": workspace.identifier.as_str(),
                    "status": current.status.as_str(),
                }))
                .build(),
        )
        .await?;
        Ok(())
    }

    /// Approves a run's plan as it is now (its plan, plan file, policy results and cost),
    /// until the workspace's approval lifetime runs out. The run becomes `approved`
    /// when the valid approvals reach the number required. Needs `workspace:approve`;
    /// the author may approve only where the workspace allows it.
    pub async fn approve_run(
        &self,
        ctx: &Ctx,
        scope: Scope,
        identifier: &str,
        run: &str,
    ) -> AppResult<RunView> {
        let workspace = self
            .workspace_for(ctx, scope, identifier, Permission::WorkspaceApprove)
            .await?;
        let id = run_id(run)?;
        // A run whose overrides were made on the plan itself goes on first.
        self.clear_policy_if_overridden(ctx, scope, &workspace, id)
            .await?;
        let view = self.run_view(&workspace, id).await?;
        let approver = ctx.actor.actor_text();
        if view.run.created_by == approver && !workspace.runs.allow_self_approval {
            return Err(AppError::forbidden(
                ErrorCode::SelfApprovalForbidden,
                "you started this run: another holder of workspace:approve must approve it \
                 (the workspace does not allow self-approval)",
            ));
        }
        // Refuse early (and clearly) what the transition would refuse anyway.
        view.run
            .status
            .after(RunEvent::Approved { enough: false })
            .map_err(state_conflict)?;
        let binding = view
            .binding
            .clone()
            .ok_or_else(|| state_conflict("the run has no plan yet".into()))?;
        let now = self.now();
        let ttl = jiff::SignedDuration::from_secs(
            i64::try_from(workspace.runs.approval_ttl_seconds).unwrap_or(i64::MAX),
        );
        let approval = RunApproval {
            approver: approver.clone(),
            binding: binding.digest.clone(),
            approved_at: now,
            expires_at: now
                .checked_add(ttl)
                .map_err(|error| AppError::Internal(error.to_string()))?,
        };
        let mut tx = self.store().write().await?;
        let mut current = locked_run(&mut tx, workspace.id, id).await?;
        if current.version != view.run.version {
            // Someone else moved the run between the read and now: decide on what it is.
            current
                .status
                .after(RunEvent::Approved { enough: false })
                .map_err(state_conflict)?;
        }
        let approvals = tx.run_approvals(id).await?;
        if valid_approvals(&approvals, &binding.digest, now)
            .any(|earlier| earlier.approver == approver)
        {
            return Err(AppError::conflict(
                ErrorCode::AlreadyApproved,
                "you have already approved this run's plan; another approver is needed",
            ));
        }
        tx.insert_run_approval(id, &approval).await?;
        let valid = valid_approvals(&approvals, &binding.digest, now).count() + 1;
        let required = workspace.runs.approvals_required as usize;
        let event = RunEvent::Approved {
            enough: valid >= required,
        };
        let before = current.status;
        if valid >= required {
            transition(&mut tx, &mut current, event, &approver, now, None).await?;
        } else {
            // Not enough yet: the approval is recorded; the status stays.
            current.status.after(event).map_err(state_conflict)?;
        }
        tx.commit(
            ctx.audit(now, "run.approve", "run")
                .scope(scope)
                .resource_id(id)
                .details(json!({
                    "workspace": workspace.identifier.as_str(),
                    "plan": current.plan_id.map(|plan| plan.to_string()),
                    // No plan digest in clear (see the plans module): the binding is
                    // keyed, and the plan id says which plan.
                    "valid_approvals": valid,
                    "approvals_required": required,
                    "expires_at": approval.expires_at.to_string(),
                    "status_before": before.as_str(),
                    "status": current.status.as_str(),
                }))
                .build(),
        )
        .await?;
        self.run_view(&workspace, id).await
    }

    /// Throws a run away before it is applied. Needs `workspace:apply`
    /// (`workspace:destroy` for a destroy run).
    pub async fn discard_run(
        &self,
        ctx: &Ctx,
        scope: Scope,
        identifier: &str,
        run: &str,
    ) -> AppResult<RunView> {
        let (workspace, id) = self.run_for_apply(ctx, scope, identifier, run).await?;
        self.simple_transition(ctx, scope, &workspace, id, RunEvent::Discard, "run.discard")
            .await
    }

    /// Stops a planning run (`workspace:plan`), or an applying one whose wrapper is gone
    /// (`workspace:force_unlock`: it releases the lock the apply held; the state may be
    /// half-applied, as after an interrupted `terraform apply`).
    pub async fn cancel_run(
        &self,
        ctx: &Ctx,
        scope: Scope,
        identifier: &str,
        run: &str,
    ) -> AppResult<RunView> {
        let workspace = self
            .workspace_for(ctx, scope, identifier, Permission::WorkspacePlan)
            .await?;
        let id = run_id(run)?;
        let view = self.run_view(&workspace, id).await?;
        if view.run.status == RunStatus::Applying {
            self.authorize_workspace(ctx, scope, identifier, Permission::WorkspaceForceUnlock)
                .await?;
        }
        self.simple_transition(ctx, scope, &workspace, id, RunEvent::Cancel, "run.cancel")
            .await
    }

    /// Marks a planning run errored: its plan could not be made (Terraform failed, the
    /// upload was refused). Needs `workspace:plan`.
    pub async fn fail_run_plan(
        &self,
        ctx: &Ctx,
        scope: Scope,
        identifier: &str,
        run: &str,
    ) -> AppResult<RunView> {
        let workspace = self
            .workspace_for(ctx, scope, identifier, Permission::WorkspacePlan)
            .await?;
        let id = run_id(run)?;
        let view = self.run_view(&workspace, id).await?;
        if view.run.status != RunStatus::Planning {
            return Err(state_conflict(format!(
                "the run is {}: only a planning run's plan can fail",
                view.run.status.as_str()
            )));
        }
        self.simple_transition(
            ctx,
            scope,
            &workspace,
            id,
            RunEvent::Failed,
            "run.plan_failed",
        )
        .await
    }

    /// Starts the verified apply: the run must be approved with enough valid approvals
    /// (unless the workspace auto-applies), the workspace's state must be the one the
    /// plan was made on (else the run is marked errored: 409 `run_stale`), the file the
    /// client will apply must be the approved one (`plan_file_sha256`), no other run may
    /// be applying and nobody may hold the lock. The run then holds the workspace's lock
    /// (its `lock_id`) until it finishes. Needs `workspace:apply` (`workspace:destroy`
    /// for a destroy run).
    pub async fn start_apply(
        &self,
        ctx: &Ctx,
        scope: Scope,
        identifier: &str,
        run: &str,
        plan_file_sha256: &str,
    ) -> AppResult<ApplyTicket> {
        let (workspace, id) = self.run_for_apply(ctx, scope, identifier, run).await?;
        let view = self.run_view(&workspace, id).await?;
        view.run
            .status
            .after(RunEvent::ApplyStarted)
            .map_err(state_conflict)?;
        let binding = view
            .binding
            .clone()
            .ok_or_else(|| state_conflict("the run has no plan yet".into()))?;
        if !rampart_crypto::digest::constant_time_eq(
            plan_file_sha256.trim().to_ascii_lowercase().as_bytes(),
            binding.plan_file_sha256.as_bytes(),
        ) {
            return Err(AppError::conflict(
                ErrorCode::RunPlanMismatch,
                "the plan file to apply is not the run's approved plan file (its SHA-256 \
                 differs): apply the file the run was planned and approved with",
            ));
        }
        let plan = view
            .plan
            .clone()
            .ok_or_else(|| AppError::Integrity(format!("approved run {id} has no plan")))?;
        let now = self.now();
        let actor = ctx.actor.actor_text();
        let (credential, credential_token, credential_hmac) =
            self.run_credential(ctx, &workspace, id, now).await?;
        let mut tx = self.store().write().await?;
        let mut current = locked_run(&mut tx, workspace.id, id).await?;
        current
            .status
            .after(RunEvent::ApplyStarted)
            .map_err(state_conflict)?;
        if let Some(other) = tx.applying_run(workspace.id).await? {
            return Err(AppError::conflict(
                ErrorCode::WorkspaceBusy,
                format!("run {other} of the workspace is applying; apply when it has finished"),
            ));
        }
        if let Some(held) = tx.held_workspace_lock(workspace.id).await? {
            return Err(AppError::Locked {
                code: ErrorCode::WorkspaceLocked,
                message: format!(
                    "the workspace is locked ({}, held by {}); apply when it is free",
                    held.lock_id, held.locked_by
                ),
            });
        }
        let latest = tx
            .latest_state_version(workspace.id)
            .await?
            .map(|row| PlanStateRef {
                version: row.version,
                serial: row.serial,
                lineage: row.lineage,
                sha256: row.sha256,
            });
        if latest != plan.state {
            let detail = format!(
                "the workspace's state is {} but the plan was made on {}",
                describe_state(latest.as_ref()),
                describe_state(plan.state.as_ref())
            );
            transition(
                &mut tx,
                &mut current,
                RunEvent::Stale,
                &actor,
                now,
                Some(detail.clone()),
            )
            .await?;
            tx.commit(self.run_audit(ctx, scope, &workspace, &current, now, "run.stale"))
                .await?;
            return Err(AppError::conflict(
                ErrorCode::RunStale,
                format!("{detail}: the plan can never apply as reviewed; plan again"),
            ));
        }
        if !workspace.runs.auto_apply {
            let approvals = tx.run_approvals(id).await?;
            let valid = valid_approvals(&approvals, &binding.digest, now).count();
            if valid < workspace.runs.approvals_required as usize {
                let detail = format!(
                    "{valid} of {} approvals are valid (the others expired or approved \
                     another plan, policy result or cost)",
                    workspace.runs.approvals_required
                );
                transition(
                    &mut tx,
                    &mut current,
                    RunEvent::ApprovalsLapsed,
                    &actor,
                    now,
                    Some(detail.clone()),
                )
                .await?;
                tx.commit(self.run_audit(
                    ctx,
                    scope,
                    &workspace,
                    &current,
                    now,
                    "run.approvals_lapsed",
                ))
                .await?;
                return Err(AppError::conflict(
                    ErrorCode::ApprovalExpired,
                    format!("{detail}: approve the run again"),
                ));
            }
        }
        let info = json!({
            "ID": current.lock_id,
            "Operation": "OperationTypeApply",
            "Info": format!("rampart run {id}"),
            "Who": actor,
            "Version": "",
            "Created": now.to_string(),
            "Path": "",
        });
        tx.insert_workspace_lock(
            workspace.id,
            &WorkspaceLock {
                lock_id: current.lock_id.clone(),
                info: info.to_string(),
                operation: "OperationTypeApply".into(),
                locked_by: actor.clone(),
                locked_at: now,
            },
        )
        .await?;
        tx.insert_token(&credential_token, &credential_hmac).await?;
        transition(
            &mut tx,
            &mut current,
            RunEvent::ApplyStarted,
            &actor,
            now,
            None,
        )
        .await?;
        // Which token is the run credential, and until when (its secret is never kept).
        tx.commit(self.run_audit_with(
            ctx,
            (scope, &workspace, &current),
            now,
            "run.apply_start",
            json!({
                "credential": credential_token.id.to_string(),
                "credential_expires_at": credential_token.expires_at.to_string(),
            }),
        ))
        .await?;
        Ok(ApplyTicket {
            credential,
            credential_expires_at: credential_token.expires_at,
            lock_id: current.lock_id.clone(),
            plan_file_sha256: binding.plan_file_sha256,
            view: self.run_view(&workspace, id).await?,
        })
    }

    /// Ends an apply. Succeeded: the newest state version must have been written under
    /// the run's lock and continue the plan's state (lineage, higher serial); it is linked
    /// to the run. Otherwise (or when the wrapper says it failed) the run is errored.
    /// The lock is released either way. Needs what starting it needed.
    pub async fn finish_apply(
        &self,
        ctx: &Ctx,
        scope: Scope,
        identifier: &str,
        run: &str,
        outcome: ApplyOutcome,
    ) -> AppResult<RunView> {
        let (workspace, id) = self.run_for_apply(ctx, scope, identifier, run).await?;
        let view = self.run_view(&workspace, id).await?;
        let plan_state = view.plan.as_ref().and_then(|plan| plan.state.clone());
        let now = self.now();
        let actor = ctx.actor.actor_text();
        let mut tx = self.store().write().await?;
        let mut current = locked_run(&mut tx, workspace.id, id).await?;
        current
            .status
            .after(RunEvent::ApplyFinished)
            .map_err(state_conflict)?;
        let verdict = match outcome {
            ApplyOutcome::Failed => Err("the apply failed (reported by the client)".to_owned()),
            ApplyOutcome::Succeeded => match tx.latest_state_version(workspace.id).await? {
                Some(row)
                    if row.lock_id.as_deref() == Some(current.lock_id.as_str())
                        && plan_state
                            .as_ref()
                            .is_none_or(|base| row.version > base.version) =>
                {
                    check_applied_state(plan_state.as_ref(), &row.lineage, row.serial)
                        .map(|()| row.version)
                }
                _ => Err("the apply wrote no state under the run's lock".to_owned()),
            },
        };
        release_run_lock(&mut tx, &workspace, &current, now).await?;
        let result = match verdict {
            Ok(version) => {
                current.applied_state_version = Some(version);
                transition(
                    &mut tx,
                    &mut current,
                    RunEvent::ApplyFinished,
                    &actor,
                    now,
                    None,
                )
                .await?;
                tx.commit(self.run_audit(ctx, scope, &workspace, &current, now, "run.applied"))
                    .await?;
                // A new state from a reviewed run ends any drift the workspace had.
                self.drift_alert_resolved_by_run(ctx, &workspace, id).await;
                Ok(())
            }
            Err(detail) => {
                transition(
                    &mut tx,
                    &mut current,
                    RunEvent::Failed,
                    &actor,
                    now,
                    Some(detail.clone()),
                )
                .await?;
                tx.commit(self.run_audit(ctx, scope, &workspace, &current, now, "run.errored"))
                    .await?;
                Err(detail)
            }
        };
        match (result, outcome) {
            (Ok(()), _) | (Err(_), ApplyOutcome::Failed) => self.run_view(&workspace, id).await,
            (Err(detail), ApplyOutcome::Succeeded) => Err(AppError::conflict(
                ErrorCode::ApplyNotVerified,
                format!("{detail}: the run is marked errored"),
            )),
        }
    }

    /// The workspace and run id, with `workspace:apply` (or `workspace:destroy` for a
    /// destroy run) checked.
    async fn run_for_apply(
        &self,
        ctx: &Ctx,
        scope: Scope,
        identifier: &str,
        run: &str,
    ) -> AppResult<(Workspace, RunId)> {
        let workspace = self
            .workspace_for(ctx, scope, identifier, Permission::WorkspaceView)
            .await?;
        let id = run_id(run)?;
        let (stored, _, _) = self
            .store()
            .run(workspace.id, id)
            .await?
            .ok_or_else(run_not_found)?;
        let permission = if stored.is_destroy {
            Permission::WorkspaceDestroy
        } else {
            Permission::WorkspaceApply
        };
        self.authorize_workspace(ctx, scope, identifier, permission)
            .await?;
        Ok((workspace, id))
    }

    /// A transition that needs nothing but the run's status (discard, cancel); an
    /// applying run that stops gives its lock back.
    async fn simple_transition(
        &self,
        ctx: &Ctx,
        scope: Scope,
        workspace: &Workspace,
        id: RunId,
        event: RunEvent,
        action: &'static str,
    ) -> AppResult<RunView> {
        let now = self.now();
        let mut tx = self.store().write().await?;
        let mut current = locked_run(&mut tx, workspace.id, id).await?;
        if current.status == RunStatus::Applying {
            release_run_lock(&mut tx, workspace, &current, now).await?;
        }
        transition(
            &mut tx,
            &mut current,
            event,
            &ctx.actor.actor_text(),
            now,
            None,
        )
        .await?;
        tx.commit(self.run_audit(ctx, scope, workspace, &current, now, action))
            .await?;
        self.run_view(workspace, id).await
    }

    /// A run credential for the apply of run `id`: a token of the caller narrowed to the
    /// workspace's project and bound to the run and workspace, living
    /// [`RUN_CREDENTIAL_SECONDS`] at most, never longer than the caller's own token,
    /// usable only from the networks that token is, and revoked with it — or, started
    /// from a session, revoked at its logout (and with every session of its user).
    async fn run_credential(
        &self,
        ctx: &Ctx,
        workspace: &Workspace,
        id: RunId,
        now: Timestamp,
    ) -> AppResult<(SecretToken, ApiToken, [u8; 32])> {
        let mut lifetime = SignedDuration::from_secs(RUN_CREDENTIAL_SECONDS);
        if let Some(expires_at) = ctx.actor.token_expires_at {
            lifetime = lifetime.min(expires_at.duration_since(now));
        }
        let allowed_cidrs = match ctx.actor.token_id {
            Some(parent) => self
                .store()
                .token_by_id(parent)
                .await?
                .map(|token| token.allowed_cidrs)
                .unwrap_or_default(),
            None => Vec::new(),
        };
        let (secret, mut token, hmac) = crate::bootstrap::personal_token(
            self.pepper(),
            ctx.actor.principal,
            &format!("run {id}"),
            now,
            lifetime,
            Some(workspace.project_id),
        )?;
        token.allowed_cidrs = allowed_cidrs;
        token.run = Some(RunBinding {
            run_id: id,
            workspace_id: workspace.id,
            parent_token_id: ctx.actor.token_id,
            parent_session_id: ctx.actor.session_id,
        });
        Ok((secret, token, hmac))
    }

    fn run_audit(
        &self,
        ctx: &Ctx,
        scope: Scope,
        workspace: &Workspace,
        run: &Run,
        now: jiff::Timestamp,
        action: &'static str,
    ) -> rampart_store::AuditRecord {
        self.run_audit_with(ctx, (scope, workspace, run), now, action, json!({}))
    }

    /// [`Self::run_audit`] with `extra` details.
    fn run_audit_with(
        &self,
        ctx: &Ctx,
        (scope, workspace, run): (Scope, &Workspace, &Run),
        now: jiff::Timestamp,
        action: &'static str,
        extra: serde_json::Value,
    ) -> rampart_store::AuditRecord {
        let mut details = json!({
            "workspace": workspace.identifier.as_str(),
            "plan": run.plan_id.map(|plan| plan.to_string()),
            "status": run.status.as_str(),
            "applied_state_version": run.applied_state_version,
        });
        if let (Some(details), serde_json::Value::Object(extra)) = (details.as_object_mut(), extra)
        {
            details.extend(extra);
        }
        ctx.audit(now, action, "run")
            .scope(scope)
            .resource_id(run.id)
            .details(details)
            .build()
    }

    async fn run_view(&self, workspace: &Workspace, id: RunId) -> AppResult<RunView> {
        let (run, transitions, approvals) = self
            .store()
            .run(workspace.id, id)
            .await?
            .ok_or_else(run_not_found)?;
        let mut view = RunView {
            run,
            workspace: workspace.clone(),
            transitions,
            approvals: approvals
                .into_iter()
                .map(|approval| ApprovalView {
                    approval,
                    valid: false,
                })
                .collect(),
            valid_approvals: 0,
            plan: None,
            policy: Vec::new(),
            cost: None,
            binding: None,
        };
        if let Some(plan) = view.run.plan_id {
            let (stored, _) = self.plan_in(workspace, &plan.to_string(), &[]).await?;
            view.policy = self.opened_results(workspace, stored.id).await?;
            view.plan = Some(stored);
            let binding = self.approval_binding(workspace, &view.run).await?;
            let now = self.now();
            for approval in &mut view.approvals {
                approval.valid = approval.approval.binding == binding.digest
                    && approval.approval.expires_at > now;
            }
            view.valid_approvals = view
                .approvals
                .iter()
                .filter(|approval| approval.valid)
                .count() as u32;
            view.cost = binding.cost.clone();
            view.binding = Some(binding);
        }
        Ok(view)
    }

    /// What an approval of the run's plan is bound to now: the plan JSON's and file's
    /// digests, each policy result (with its override) and the cost estimate, digested
    /// with the project's index key (a bare digest would confirm a guessed plan).
    async fn approval_binding(&self, workspace: &Workspace, run: &Run) -> AppResult<Binding> {
        let plan = run
            .plan_id
            .ok_or_else(|| state_conflict("the run has no plan yet".into()))?;
        let plan_text = plan.to_string();
        let (_, parts) = self
            .plan_in(
                workspace,
                &plan_text,
                &[PlanPart::Json, PlanPart::FileSha256],
            )
            .await?;
        let owner = workspace.project_id.to_string();
        let opener = self.opener(&owner).await?;
        let entity = plan_entity_text(&workspace.id.to_string(), &plan_text);
        let place = |field| plan_place(&owner, &entity, field);
        let mut parts = parts.into_iter();
        let json = parts
            .next()
            .flatten()
            .ok_or_else(|| AppError::Integrity(format!("plan {plan} has no JSON")))?;
        let json = opener.open(&place("json"), &json)?;
        let plan_file_sha256 = match parts.next().flatten() {
            Some(sealed) => {
                String::from_utf8_lossy(&opener.open(&place("file_sha256"), &sealed)?).into_owned()
            }
            None => String::new(),
        };
        let json_sha256 = rampart_crypto::digest::hex(&rampart_crypto::digest::sha256(&json));
        let body = json.to_vec();
        let estimate = tokio::task::spawn_blocking(move || estimate_plan_json(&body).ok())
            .await
            .map_err(|error| AppError::Internal(error.to_string()))?;
        let cost = estimate.as_ref().map(|estimate| RunCost {
            currency: estimate.currency.clone(),
            prior_monthly: estimate.prior_monthly.to_decimal_string(),
            proposed_monthly: estimate.proposed_monthly.to_decimal_string(),
            delta_monthly: estimate.delta_monthly().to_decimal_string(),
            unpriced: estimate.unpriced.len() as u64,
        });
        let cost_text = estimate.as_ref().map_or_else(
            || "unpriced".to_owned(),
            |estimate| {
                format!(
                    "{} {} {} {}",
                    estimate.currency,
                    estimate.catalogue_date,
                    estimate.prior_monthly.0,
                    estimate.proposed_monthly.0
                )
            },
        );
        let results = self.store().plan_policy_results(plan).await?;
        let policy: Vec<(String, u64, &str, &str, bool)> = results
            .iter()
            .map(|(result, _, _)| {
                (
                    result.policy_set_id.to_string(),
                    result.policy_set_version,
                    result.enforcement.as_str(),
                    result.outcome.as_str(),
                    result.overridden_by.is_some(),
                )
            })
            .collect();
        let text = approval_binding(run.id, &json_sha256, &plan_file_sha256, &policy, &cost_text);
        let sealer = self.sealer(&owner).await?;
        Ok(Binding {
            digest: sealer.blind_index(&APPROVAL_BINDING, &text),
            plan_file_sha256,
            cost,
        })
    }
}

fn describe_state(state: Option<&PlanStateRef>) -> String {
    match state {
        None => "empty".into(),
        Some(state) => format!(
            "version {} (serial {}, lineage {})",
            state.version, state.serial, state.lineage
        ),
    }
}

/// Moves `run` on by `event` and records the transition; 409 when the event does not
/// apply to its status, or when another transition of the run came first.
async fn transition(
    tx: &mut WriteTx,
    run: &mut Run,
    event: RunEvent,
    actor: &str,
    now: jiff::Timestamp,
    detail: Option<String>,
) -> AppResult<()> {
    let from = run.status;
    let next = from.after(event).map_err(state_conflict)?;
    run.status = next;
    run.version += 1;
    run.updated_at = now;
    if !tx.save_run(run).await? {
        return Err(state_conflict(
            "the run changed meanwhile; read it again".into(),
        ));
    }
    tx.insert_run_transition(
        run.id,
        &RunTransition {
            seq: 0,
            event: event.as_str().into(),
            from_status: from,
            to_status: next,
            actor: actor.to_owned(),
            at: now,
            detail,
        },
    )
    .await?;
    Ok(())
}

/// The run as it is now, read under the workspace's write lock (so it stays as read
/// until the transaction ends).
async fn locked_run(tx: &mut WriteTx, workspace: WorkspaceId, id: RunId) -> AppResult<Run> {
    tx.lock_workspace(workspace).await?;
    tx.run(workspace, id).await?.ok_or_else(run_not_found)
}

/// Ends what an applying run holds: the workspace's lock (when the run still holds it)
/// and its credential, which stops working on its next use.
async fn release_run_lock(
    tx: &mut WriteTx,
    workspace: &Workspace,
    run: &Run,
    now: Timestamp,
) -> AppResult<()> {
    if let Some(held) = tx.held_workspace_lock(workspace.id).await?
        && held.lock_id == run.lock_id
    {
        tx.delete_workspace_lock(workspace.id).await?;
    }
    tx.revoke_run_credentials(run.id, now).await?;
    Ok(())
}
