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
use rampart_domain::sre::payload::{Action, AlertEvent, Severity};
use rampart_domain::{IntegrationId, Permission, RunId};
use rampart_store::Page;
use serde_json::json;

use super::variables::handed_keys;
use crate::{App, AppError, AppResult, Ctx, mint};

/// A workspace's drift event: one dedup key per workspace, so however many checks find
/// drift there is one open alert.
fn drift_event(workspace: &Workspace, action: Action) -> AlertEvent {
    let identifier = workspace.identifier.as_str();
    AlertEvent {
        dedup_key: format!("rampart-workspace-drift:{}", workspace.id),
        action,
        summary: format!("Workspace {identifier} is in sync"),
        severity: Severity::Warning,
        source: format!("rampart workspace {identifier}"),
        group_key: None,
        labels: [("workspace".to_owned(), identifier.to_owned())].into(),
        annotations: Default::default(),
        links: Vec::new(),
        details: json!({ "workspace": identifier }),
    }
}

/// The event of a drift check: a trigger naming the drifted resources, or (none
/// drifted) a resolve.
fn drift_check_event(
    workspace: &Workspace,
    check: &DriftCheck,
    drifted: &[DriftedResource],
) -> AlertEvent {
    if drifted.is_empty() {
        return drift_event(workspace, Action::Resolve);
    }
    let mut event = drift_event(workspace, Action::Trigger);
    event.summary = format!(
        "Workspace {} drifted: {} resource{} changed outside Terraform",
        workspace.identifier,
        drifted.len(),
        if drifted.len() == 1 { "" } else { "s" }
    );
    event
        .labels
        .insert("drift_check".to_owned(), check.id.clone());
    // The first hundred addresses (the check itself lists them all).
    let addresses: Vec<&str> = drifted
        .iter()
        .take(100)
        .map(|resource| resource.address.as_str())
        .collect();
    event.details = json!({
        "workspace": workspace.identifier.as_str(),
        "check": check.id,
        "mode": check.mode.as_str(),
        "drifted": addresses,
    });
    event
}

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
        self.send_drift_alert(
            ctx,
            &workspace,
            drift_check_event(&workspace, &check, &drifted),
        )
        .await;
        Ok((check, drifted))
    }

    /// Resolves the workspace's drift alert after run `run` applied (its new state is
    /// the configuration's).
    pub(crate) async fn drift_alert_resolved_by_run(
        &self,
        ctx: &Ctx,
        workspace: &Workspace,
        run: RunId,
    ) {
        let mut event = drift_event(workspace, Action::Resolve);
        event.summary = format!(
            "Workspace {}: run {run} applied the configuration",
            workspace.identifier
        );
        self.send_drift_alert(ctx, workspace, event).await;
    }

    /// Delivers a drift event to the workspace's SRE service (when it names one):
    /// through the workspace's drift integration like any sender's event, so the
    /// service's alert rules, dedup, incidents, escalation and paging apply. A failure
    /// is logged: what caused the event stands, and the alert is the service's to miss.
    async fn send_drift_alert(&self, ctx: &Ctx, workspace: &Workspace, event: AlertEvent) {
        let Some(integration) = workspace.drift_integration else {
            return;
        };
        if let Err(error) = self.deliver_own_events(ctx, integration, vec![event]).await {
            tracing::warn!(%error, workspace = %workspace.id, "could not deliver the drift alert");
        }
    }

    /// Resolves the drift alert a workspace raised through `integration`, which it no
    /// longer uses (it names another service, or none): nothing is left open there.
    pub(crate) async fn drift_alert_left(
        &self,
        ctx: &Ctx,
        workspace: &Workspace,
        integration: IntegrationId,
    ) {
        let mut event = drift_event(workspace, Action::Resolve);
        event.summary = format!(
            "Workspace {}: drift alerts go elsewhere now",
            workspace.identifier
        );
        if let Err(error) = self.deliver_own_events(ctx, integration, vec![event]).await {
            tracing::warn!(%error, workspace = %workspace.id, "could not resolve the drift alert");
        }
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
