//! Workspaces: create, list, show, change, delete; their state history, diffs,
//! resource view and lock view; and the operator's full verification of every stored
//! version. A new or changed workspace is checked by the policy sets checking
//! workspaces that apply to it (a mandatory one that denies refuses the change). Permissions are decided per workspace (so a resource group naming single
//! workspaces works); every change is audited.

use rampart_domain::ErrorCode;
use rampart_domain::iacm::runs::RunSettings;
use rampart_domain::iacm::state_versions::StateVersion;
use rampart_domain::iacm::state_versions::WorkspaceLock;
use rampart_domain::iacm::state_versions::{StateDiff, StateView, diff_states, state_view};
use rampart_domain::iacm::workspaces::{
    Provisioner, Workspace, parse_provisioner_version, parse_tags,
};
use rampart_domain::platform::tenancy::Scope;
use rampart_domain::{Description, IntegrationId, Name, Permission, Slug, WorkspaceId};
use rampart_store::Page;
use serde_json::json;

use super::policy_sets::{Subject, workspace_document};
use super::state_versions::workspace_not_found;
use crate::{App, AppError, AppResult, Ctx, authorize_resource, mint};
use rampart_domain::iacm::policy_sets::PolicyEntity;

/// A new workspace.
#[derive(Clone, Debug, Default)]
pub struct WorkspaceInput {
    pub identifier: String,
    pub name: String,
    pub description: Option<String>,
    pub provisioner: Option<String>,
    pub provisioner_version: Option<String>,
    pub tags: Vec<String>,
    pub runs: RunSettingsPatch,
}

/// Changes to how a workspace's runs are approved (each `None` keeps what is there).
/// Changing them needs `workspace:approve` besides `workspace:edit`: whoever loosens
/// approval must be someone who approves.
#[derive(Clone, Copy, Debug, Default)]
pub struct RunSettingsPatch {
    pub auto_apply: Option<bool>,
    pub allow_self_approval: Option<bool>,
    pub approvals_required: Option<u32>,
    pub approval_ttl_seconds: Option<u64>,
    pub governed: Option<bool>,
}

impl RunSettingsPatch {
    fn is_empty(self) -> bool {
        self.auto_apply.is_none()
            && self.allow_self_approval.is_none()
            && self.approvals_required.is_none()
            && self.approval_ttl_seconds.is_none()
            && self.governed.is_none()
    }

    fn applied_to(self, settings: RunSettings) -> AppResult<RunSettings> {
        Ok(RunSettings {
            auto_apply: self.auto_apply.unwrap_or(settings.auto_apply),
            allow_self_approval: self
                .allow_self_approval
                .unwrap_or(settings.allow_self_approval),
            approvals_required: self
                .approvals_required
                .unwrap_or(settings.approvals_required),
            approval_ttl_seconds: self
                .approval_ttl_seconds
                .unwrap_or(settings.approval_ttl_seconds),
            governed: self.governed.unwrap_or(settings.governed),
        }
        .validate()?)
    }
}

/// Changes to a workspace.
#[derive(Clone, Debug, Default)]
pub struct WorkspacePatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub provisioner: Option<String>,
    pub provisioner_version: Option<String>,
    pub tags: Option<Vec<String>>,
    pub runs: RunSettingsPatch,
    /// The SRE service (identifier, same project) the workspace's drift arrives at as
    /// an alert; empty: none.
    pub drift_alert_service: Option<String>,
}

/// One version that failed verification.
#[derive(Clone, Debug, PartialEq)]
pub struct StateProblem {
    pub workspace: String,
    pub version: u64,
    pub problem: String,
}

/// The outcome of verifying every stored state version.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StateVerification {
    pub workspaces: u64,
    pub versions: u64,
    pub problems: Vec<StateProblem>,
}

/// A workspace's run settings as the audit log records them.
fn run_settings_details(settings: &RunSettings) -> serde_json::Value {
    json!({
        "auto_apply": settings.auto_apply,
        "allow_self_approval": settings.allow_self_approval,
        "approvals_required": settings.approvals_required,
        "approval_ttl_seconds": settings.approval_ttl_seconds,
        "governed": settings.governed,
    })
}

fn state_error(error: rampart_domain::iacm::state_versions::StateError) -> AppError {
    AppError::Integrity(format!("a stored state does not parse: {error}"))
}

impl App {
    /// The workspace `identifier` at `scope` if the caller holds `permission` on it
    /// (404 when it does not exist or the scope is not visible; 403, audited, when
    /// visible but not allowed).
    pub async fn workspace_for(
        &self,
        ctx: &Ctx,
        scope: Scope,
        identifier: &str,
        permission: Permission,
    ) -> AppResult<Workspace> {
        let workspace = self
            .find_workspace(scope, identifier)
            .await?
            .ok_or_else(workspace_not_found)?;
        self.authorize_workspace(ctx, scope, identifier, permission)
            .await?;
        Ok(workspace)
    }

    pub async fn create_workspace(
        &self,
        ctx: &Ctx,
        scope: Scope,
        input: WorkspaceInput,
    ) -> AppResult<Workspace> {
        let Scope::Project(org_id, project_id) = scope else {
            return Err(AppError::bad_request(
                ErrorCode::InvalidScope,
                "workspaces belong to projects",
            ));
        };
        let identifier = Slug::parse(&input.identifier)?;
        self.authorize_workspace(ctx, scope, identifier.as_str(), Permission::WorkspaceCreate)
            .await?;
        if !input.runs.is_empty() {
            self.authorize_workspace(
                ctx,
                scope,
                identifier.as_str(),
                Permission::WorkspaceApprove,
            )
            .await?;
        }
        let now = self.now();
        let workspace = Workspace {
            id: mint(now, WorkspaceId::mint)?,
            org_id,
            project_id,
            identifier,
            name: Name::parse(&input.name)?,
            description: Description::parse(input.description.as_deref().unwrap_or(""))?,
            provisioner: Provisioner::parse(input.provisioner.as_deref().unwrap_or("terraform"))?,
            provisioner_version: parse_provisioner_version(
                input.provisioner_version.as_deref().unwrap_or(""),
            )?,
            tags: parse_tags(&input.tags)?,
            // New workspaces are governed unless their creator says otherwise: their
            // state changes through reviewed runs.
            runs: input.runs.applied_to(RunSettings {
                governed: true,
                ..RunSettings::default()
            })?,
            drift_integration: None,
            created_at: now,
            updated_at: now,
        };
        self.enforce_policies(
            ctx,
            scope,
            &workspace,
            PolicyEntity::Workspace,
            Subject::Document(workspace_document(&workspace)),
        )
        .await?;
        let mut tx = self.store().write().await?;
        tx.insert_workspace(&workspace)
            .await
            .map_err(|error| match error {
                rampart_store::StoreError::Conflict { .. } => AppError::conflict(
                    ErrorCode::IdentifierTaken,
                    "a workspace with this identifier already exists in the project",
                ),
                other => other.into(),
            })?;
        tx.commit(
            ctx.audit(now, "workspace.create", "workspace")
                .scope(scope)
                .resource_id(workspace.id)
                .details(json!({
                    "identifier": workspace.identifier.as_str(),
                    "provisioner": workspace.provisioner.as_str(),
                    "runs": run_settings_details(&workspace.runs),
                }))
                .build(),
        )
        .await?;
        Ok(workspace)
    }

    /// The workspaces of a project on which the caller holds `workspace:view`; 404 for
    /// a project the caller can neither see nor view any workspace of.
    pub async fn list_workspaces(
        &self,
        ctx: &Ctx,
        scope: Scope,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> AppResult<Page<Workspace>> {
        let page = crate::platform::page_request(limit, cursor)?;
        let visible = crate::authorize(&ctx.actor, &ctx.access, crate::Access::SeeScope, scope);
        let mut listed = self.store().list_workspaces(scope, &page).await?;
        listed.items.retain(|workspace| {
            authorize_resource(
                &ctx.actor,
                &ctx.access,
                Permission::WorkspaceView,
                scope,
                workspace.identifier.as_str(),
            )
            .is_ok()
        });
        if listed.items.is_empty() {
            visible?;
        }
        Ok(listed)
    }

    pub async fn update_workspace(
        &self,
        ctx: &Ctx,
        scope: Scope,
        identifier: &str,
        patch: WorkspacePatch,
    ) -> AppResult<Workspace> {
        let mut workspace = self
            .workspace_for(ctx, scope, identifier, Permission::WorkspaceEdit)
            .await?;
        let mut changed = Vec::new();
        if let Some(name) = &patch.name {
            workspace.name = Name::parse(name)?;
            changed.push("name");
        }
        if let Some(description) = &patch.description {
            workspace.description = Description::parse(description)?;
            changed.push("description");
        }
        if let Some(provisioner) = &patch.provisioner {
            workspace.provisioner = Provisioner::parse(provisioner)?;
            changed.push("provisioner");
        }
        if let Some(version) = &patch.provisioner_version {
            workspace.provisioner_version = parse_provisioner_version(version)?;
            changed.push("provisioner_version");
        }
        if let Some(tags) = &patch.tags {
            workspace.tags = parse_tags(tags)?;
            changed.push("tags");
        }
        if !patch.runs.is_empty() {
            self.authorize_workspace(ctx, scope, identifier, Permission::WorkspaceApprove)
                .await?;
            workspace.runs = patch.runs.applied_to(workspace.runs)?;
            changed.push("runs");
        }
        self.enforce_policies(
            ctx,
            scope,
            &workspace,
            PolicyEntity::Workspace,
            Subject::Document(workspace_document(&workspace)),
        )
        .await?;
        let previous_drift_integration = workspace.drift_integration;
        if let Some(service) = &patch.drift_alert_service {
            workspace.drift_integration = self
                .drift_integration(ctx, scope, &workspace, service)
                .await?;
            changed.push("drift_alert_service");
        }
        let now = self.now();
        workspace.updated_at = now;
        let mut tx = self.store().write().await?;
        tx.update_workspace(&workspace).await?;
        tx.commit(
            ctx.audit(now, "workspace.update", "workspace")
                .scope(scope)
                .resource_id(workspace.id)
                .details(json!({
                    "identifier": workspace.identifier.as_str(),
                    "changed": changed,
                    "runs": run_settings_details(&workspace.runs),
                    "drift_integration": workspace.drift_integration.map(|id| id.to_string()),
                }))
                .build(),
        )
        .await?;
        if let Some(previous) = previous_drift_integration
            && workspace.drift_integration != Some(previous)
        {
            self.drift_alert_left(ctx, &workspace, previous).await;
        }
        Ok(workspace)
    }

    /// The integration a workspace's drift alerts arrive through, for `service` (empty:
    /// none). The service's integration made for the workspace is kept when it still
    /// exists; otherwise a new one is made (generic format, a bearer credential nobody
    /// is shown: the server delivers its events itself, and `rotate` makes it usable by
    /// others). Making one needs `service:edit`, like making it by hand: raising alerts
    /// on a service is that service's owners' decision. An integration it no longer
    /// uses stays (its alerts are history), with the drift alert resolved.
    async fn drift_integration(
        &self,
        ctx: &Ctx,
        scope: Scope,
        workspace: &Workspace,
        service: &str,
    ) -> AppResult<Option<IntegrationId>> {
        if service.is_empty() {
            return Ok(None);
        }
        crate::authorize(
            &ctx.actor,
            &ctx.access,
            crate::Access::Permission(Permission::ServiceEdit),
            scope,
        )?;
        let found = self
            .service_at(scope, service)
            .await
            .map_err(|error| match error {
                AppError::NotFound { .. } => AppError::bad_request(
                    ErrorCode::UnknownService,
                    "drift_alert_service names no service of this project",
                ),
                other => other,
            })?;
        if let Some(id) = workspace.drift_integration
            && let Some(record) = self.store().integration(id).await?
            && record.integration.service_id == found.id
        {
            return Ok(Some(id));
        }
        let (integration, _credential) = self
            .create_integration(
                ctx,
                scope,
                service,
                crate::sre::integrations::IntegrationInput {
                    name: format!("Drift of workspace {}", workspace.identifier),
                    format: "generic".into(),
                    auth_mode: "bearer".into(),
                    source_cidrs: Vec::new(),
                    rate_limit_per_minute: None,
                },
            )
            .await?;
        Ok(Some(integration.id))
    }

    /// Deletes a workspace with its state history; refused while it is locked (an
    /// operation is running).
    pub async fn delete_workspace(
        &self,
        ctx: &Ctx,
        scope: Scope,
        identifier: &str,
    ) -> AppResult<()> {
        let workspace = self
            .workspace_for(ctx, scope, identifier, Permission::WorkspaceDelete)
            .await?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        tx.lock_workspace(workspace.id).await?;
        if let Some(held) = tx.held_workspace_lock(workspace.id).await? {
            tx.rollback().await?;
            return Err(AppError::Locked {
                code: ErrorCode::WorkspaceLocked,
                message: format!(
                    "the workspace is locked ({}, held by {}); delete it when it is free",
                    held.lock_id, held.locked_by
                ),
            });
        }
        tx.delete_workspace(workspace.id).await?;
        tx.commit(
            ctx.audit(now, "workspace.delete", "workspace")
                .scope(scope)
                .resource_id(workspace.id)
                .details(json!({ "identifier": workspace.identifier.as_str() }))
                .build(),
        )
        .await?;
        Ok(())
    }

    /// The held lock, if any (needs `workspace:view`).
    pub async fn workspace_lock_view(
        &self,
        workspace: &Workspace,
    ) -> AppResult<Option<WorkspaceLock>> {
        Ok(self.store().workspace_lock(workspace.id).await?)
    }

    /// State versions, newest first (metadata only; needs `workspace:view`).
    pub async fn state_history(
        &self,
        workspace: &Workspace,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> AppResult<Page<StateVersion>> {
        // Versions page by number, newest first.
        let page = crate::platform::numbered_page_request(limit, cursor)?;
        Ok(self.store().state_versions(workspace.id, &page).await?)
    }

    /// Resources, outputs (sensitive values masked) and modules of the current state
    /// (needs `workspace:access_state`; the read is audited).
    pub async fn state_resources(
        &self,
        ctx: &Ctx,
        workspace: &Workspace,
    ) -> AppResult<Option<(StateVersion, StateView)>> {
        let Some((row, body)) = self.read_state(ctx, workspace, None).await? else {
            return Ok(None);
        };
        Ok(Some((row, state_view(&body).map_err(state_error)?)))
    }

    /// What changed from version `from` to version `to`.
    pub async fn diff_state_versions(
        &self,
        ctx: &Ctx,
        workspace: &Workspace,
        from: u64,
        to: u64,
    ) -> AppResult<StateDiff> {
        let mut bodies = Vec::with_capacity(2);
        for version in [from, to] {
            let (_, body) = self
                .read_state(ctx, workspace, Some(version))
                .await?
                .ok_or(AppError::NotFound {
                    what: "state version",
                })?;
            bodies.push(body);
        }
        let [old, new] = bodies.as_slice() else {
            return Err(AppError::Internal("two bodies were read".into()));
        };
        diff_states(old, new).map_err(state_error)
    }

    /// Checks every stored version (seal, body hash, chain link) of every workspace, or
    /// of the workspaces named `only` (`org/project/workspace`): the operator's
    /// `rampart admin verify-state`. Reports problems instead of stopping at the first.
    pub async fn verify_all_states(&self, only: Option<&str>) -> AppResult<StateVerification> {
        let mut report = StateVerification::default();
        for (org, project, workspace) in self.store().all_workspace_addresses().await? {
            let address = format!("{org}/{project}/{}", workspace.identifier);
            if only.is_some_and(|only| only != address) {
                continue;
            }
            report.workspaces += 1;
            let mut previous: Option<StateVersion> = None;
            loop {
                let rows = self
                    .store()
                    .state_versions_ascending(
                        workspace.id,
                        previous.as_ref().map(|row| row.version),
                        200,
                    )
                    .await?;
                if rows.is_empty() {
                    break;
                }
                for (row, sealed) in rows {
                    report.versions += 1;
                    // The link to check against: none for version 1, the previous row's
                    // when it is the one before, else a hash nothing matches (a
                    // version is missing).
                    let link = match (row.version, &previous) {
                        (1, _) => None,
                        (n, Some(before)) if before.version + 1 == n => Some(before.chain_hash),
                        _ => Some([0xff; 32]),
                    };
                    if let Err(error) = self
                        .verify_state_version(&workspace, &row, &sealed, link)
                        .await
                    {
                        report.problems.push(StateProblem {
                            workspace: address.clone(),
                            version: row.version,
                            problem: match error {
                                AppError::Corrupt { message, .. }
                                | AppError::Gone { message, .. } => message,
                                other => other.to_string(),
                            },
                        });
                    }
                    previous = Some(row);
                }
            }
        }
        if only.is_some() && report.workspaces == 0 {
            return Err(workspace_not_found());
        }
        Ok(report)
    }
}
