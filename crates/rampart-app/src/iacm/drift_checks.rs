//! Drift checks: a plan made to compare a workspace's infrastructure with its state and
//! configuration (`rampart tf drift` uploads it like any plan) is recorded as a check —
//! how many resources drifted, by whom, when — kept as history; the drifted resources
//! with their values before and after are read from the plan's masked view. The latest
//! check and the latest state version give the workspace's drift status
//! ([`DriftStatus::of`]).
//!
//! Permissions: recording needs `workspace:plan` (a check is a plan); reading,
//! `workspace:view`.

use rampart_domain::iacm::drift_checks::{
    DriftCheck, DriftMode, DriftStatus, DriftedResource, drifted_resources,
};
use rampart_domain::iacm::variables::ResolvedVariable;
use rampart_domain::iacm::workspaces::Workspace;
use rampart_domain::platform::tenancy::Scope;
use rampart_domain::{Permission, RunId};
use rampart_store::Page;
use serde_json::json;

use super::variables::handed_keys;
use crate::{App, AppError, AppResult, Ctx, mint};

fn check_not_found() -> AppError {
    AppError::NotFound {
        what: "drift check",
    }
}

impl App {
    /// The drifted resources of a check, from its plan's masked view.
    async fn drifted_of(
        &self,
        workspace: &Workspace,
        check: &DriftCheck,
    ) -> AppResult<Vec<DriftedResource>> {
        let document = self
            .masked_plan_document(workspace, &check.plan_id.to_string())
            .await?;
        Ok(drifted_resources(&document, check.mode))
    }

    /// Records a drift check made with `plan` (uploaded to the workspace), in `mode`
    /// (`plan` or `refresh_only`). Needs `workspace:plan`.
    pub async fn record_drift_check(
        &self,
        ctx: &Ctx,
        scope: Scope,
        identifier: &str,
        plan: &str,
        mode: &str,
    ) -> AppResult<(DriftCheck, Vec<DriftedResource>)> {
        let mode = DriftMode::parse(mode)?;
        let workspace = self
            .workspace_for(ctx, scope, identifier, Permission::WorkspacePlan)
            .await?;
        let document = self.masked_plan_document(&workspace, plan).await?;
        let drifted = drifted_resources(&document, mode);
        let now = self.now();
        let check = DriftCheck {
            // Time-ordered like every id, so the newest check sorts last.
            id: mint(now, RunId::mint)?.to_string(),
            workspace_id: workspace.id,
            plan_id: rampart_domain::parse_uuid(plan)
                .map(rampart_domain::PlanId::from_uuid)
                .ok_or(AppError::NotFound { what: "plan" })?,
            mode,
            drifted: drifted.len() as u64,
            checked_by: ctx.actor.actor_text(),
            checked_at: now,
        };
        let mut tx = self.store().write().await?;
        tx.insert_drift_check(&check).await?;
        tx.commit(
            ctx.audit(now, "workspace.drift_checked", "workspace")
                .scope(scope)
                .resource_id(workspace.id)
                .details(json!({
                    "workspace": workspace.identifier.as_str(),
                    "check": check.id,
                    "plan": check.plan_id.to_string(),
                    "mode": mode.as_str(),
                    "drifted": check.drifted,
                }))
                .build(),
        )
        .await?;
        Ok((check, drifted))
    }

    /// The variables a drift check's plan needs, with values, for who makes the check
    /// (`workspace:plan`: as much as starting a run gives); audited by key.
    pub async fn drift_variables(
        &self,
        ctx: &Ctx,
        scope: Scope,
        identifier: &str,
    ) -> AppResult<Vec<ResolvedVariable>> {
        let workspace = self
            .workspace_for(ctx, scope, identifier, Permission::WorkspacePlan)
            .await?;
        let resolved = self.resolved_variables(&workspace).await?;
        self.store()
            .append_audit(
                &ctx.audit(self.now(), "workspace.variables_read", "workspace")
                    .scope(scope)
                    .resource_id(workspace.id)
                    .details(json!({
                        "workspace": workspace.identifier.as_str(),
                        "for": "drift_check",
                        "variables": handed_keys(&resolved),
                    }))
                    .build(),
            )
            .await?;
        Ok(resolved)
    }

    /// A workspace's drift checks, newest first. Needs `workspace:view`.
    pub async fn list_drift_checks(
        &self,
        ctx: &Ctx,
        scope: Scope,
        identifier: &str,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> AppResult<Page<DriftCheck>> {
        let workspace = self
            .workspace_for(ctx, scope, identifier, Permission::WorkspaceView)
            .await?;
        let page = crate::platform::page_request(limit, cursor)?;
        Ok(self.store().drift_checks(workspace.id, &page).await?)
    }

    /// One drift check with its drifted resources. Needs `workspace:view`.
    pub async fn get_drift_check(
        &self,
        ctx: &Ctx,
        scope: Scope,
        identifier: &str,
        check: &str,
    ) -> AppResult<(DriftCheck, Vec<DriftedResource>)> {
        let workspace = self
            .workspace_for(ctx, scope, identifier, Permission::WorkspaceView)
            .await?;
        // Only the one UUID form reaches the store: anything else (a NUL byte, a long
        // string PostgreSQL would refuse) is simply not a check.
        let check = rampart_domain::parse_uuid(check).ok_or_else(check_not_found)?;
        let check = self
            .store()
            .drift_check(workspace.id, &check.to_string())
            .await?
            .ok_or_else(check_not_found)?;
        let drifted = self.drifted_of(&workspace, &check).await?;
        Ok((check, drifted))
    }

    /// For a page of workspaces (authorised by the caller), in its order: whether each
    /// is locked, its drift status and its latest check.
    pub async fn workspaces_overview(
        &self,
        workspaces: &[Workspace],
    ) -> AppResult<Vec<(bool, DriftStatus, Option<DriftCheck>)>> {
        let ids: Vec<_> = workspaces.iter().map(|workspace| workspace.id).collect();
        let mut overviews = self.store().workspace_overviews(&ids).await?;
        Ok(workspaces
            .iter()
            .map(|workspace| {
                match overviews
                    .iter_mut()
                    .find(|overview| overview.workspace_id == workspace.id)
                {
                    Some(overview) => (
                        overview.locked,
                        DriftStatus::of(overview.latest_check.as_ref(), overview.state_written_at),
                        overview.latest_check.take(),
                    ),
                    None => (false, DriftStatus::Unchecked, None),
                }
            })
            .collect())
    }

    /// The workspace's drift status and its latest check (the caller authorised the
    /// workspace).
    pub async fn workspace_drift(
        &self,
        workspace: &Workspace,
    ) -> AppResult<(DriftStatus, Option<DriftCheck>)> {
        let latest = self.store().latest_drift_check(workspace.id).await?;
        let written = self.store().last_state_written_at(workspace.id).await?;
        Ok((DriftStatus::of(latest.as_ref(), written), latest))
    }
}
