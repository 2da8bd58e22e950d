//! Variables: a workspace's own, and variable sets of an organisation or a project
//! (applying to all of its workspaces, to those with a tag, or to named ones); what a
//! workspace's runs receive ([`rampart_domain::iacm::variables::resolve`]); handing them
//! to a run's executor; and runs' logs.
//!
//! Each holder's variables are one sealed document (keys, values, flags, descriptions)
//! with a version: a change reads it, applies the domain's rules, and writes the next
//! version only if nobody wrote it first — else it is made again on the newer version,
//! so parallel writers of different keys all succeed (409 `concurrent_update` only after
//! [`VARIABLE_WRITE_ATTEMPTS`] lost races). A sensitive value is
//! write-only: no response shows it again ([`VariableView`] has no value for it); it
//! leaves the server only to a run's **executor** — while the run plans, the principal
//! that started it; while it applies, the principal holding its lock — audited by key.
//! What the wrapper prints is uploaded as the run's log, masked again here with every
//! sensitive value the workspace's runs receive, and sealed.
//!
//! Permissions: `workspace:view` lists a workspace's variables (and what its runs
//! receive); `workspace:edit_variables` changes them; `variable_set:*` at the set's
//! scope (checked by the routes); the executor needs `workspace:plan` (planning) or
//! `workspace:apply` (applying); reading a run's log needs `workspace:view`.

use rampart_domain::iacm::policy_sets::Attachment;
use rampart_domain::iacm::runs::{Run, RunLog, RunStatus};
use rampart_domain::iacm::variables::{
    Put, ResolvedVariable, Variable, VariableCategory, VariableChange, VariableSet, VariableSource,
    mask, put_variable, resolve,
};
use rampart_domain::iacm::workspaces::Workspace;
use rampart_domain::limits::RUN_LOG_BYTES_MAX;
use rampart_domain::platform::tenancy::Scope;
use rampart_domain::{Description, ErrorCode, Name, Permission, Slug, VariableSetId};
use rampart_store::Page;
use rampart_store::iacm::variables::{RUN_LOG, VARIABLE_SET_VARIABLES, WORKSPACE_VARIABLES};
use rampart_store::sealed::SealedCell;
use serde_json::json;
use zeroize::Zeroizing;

use super::runs::{run_id, run_not_found};
use crate::sealing::{Resealer, SealContext, SealedPlace, key_owner};
use crate::{App, AppError, AppResult, Ctx, mint};

/// The sealed parts of variables and run logs, for the rewrap job.
pub(crate) const SEALED_PLACES: &[SealedPlace] = &[
    SealedPlace {
        column: WORKSPACE_VARIABLES,
        reseal: |resealer, owner, cell| {
            resealer.reseal(
                &variables_place(owner, HolderKind::Workspace, &cell.id, cell.version),
                &cell.sealed,
            )
        },
    },
    SealedPlace {
        column: VARIABLE_SET_VARIABLES,
        reseal: |resealer, owner, cell| {
            resealer.reseal(
                &variables_place(owner, HolderKind::Set, &cell.id, cell.version),
                &cell.sealed,
            )
        },
    },
    SealedPlace {
        column: RUN_LOG,
        reseal: reseal_run_log,
    },
];

fn reseal_run_log(
    resealer: &Resealer<'_>,
    owner: &str,
    cell: &SealedCell,
) -> AppResult<Option<Vec<u8>>> {
    let part = |name| {
        cell.extra(name)
            .ok_or_else(|| AppError::Integrity(format!("run log {} lacks its {name}", cell.id)))
    };
    let entity = format!("{}/{}", part("workspace_id")?, part("run_id")?);
    let phase = RunLogPhase::parse(part("phase")?)
        .map_err(|_| AppError::Integrity(format!("run log {} has no known phase", cell.id)))?;
    resealer.reseal(&log_place(owner, &entity, phase), &cell.sealed)
}

#[derive(Clone, Copy)]
enum HolderKind {
    Workspace,
    Set,
}

/// Where version `version` of a holder's variables is sealed.
fn variables_place<'a>(
    owner: &'a str,
    kind: HolderKind,
    id: &'a str,
    version: u64,
) -> SealContext<'a> {
    SealContext {
        owner,
        entity_type: match kind {
            HolderKind::Workspace => "workspace_variables",
            HolderKind::Set => "variable_set",
        },
        entity_id: id,
        field: "variables",
        version,
    }
}

/// Where the log of phase `phase` of run `{workspace}/{run}` is sealed.
fn log_place<'a>(owner: &'a str, workspace_run: &'a str, phase: RunLogPhase) -> SealContext<'a> {
    SealContext {
        owner,
        entity_type: "run_log",
        entity_id: workspace_run,
        field: phase.as_str(),
        version: 0,
    }
}

/// The phase of a run a log is of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunLogPhase {
    Plan,
    Apply,
}

impl RunLogPhase {
    pub fn parse(text: &str) -> AppResult<Self> {
        match text {
            "plan" => Ok(Self::Plan),
            "apply" => Ok(Self::Apply),
            _ => Err(AppError::NotFound { what: "run log" }),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Plan => "plan",
            Self::Apply => "apply",
        }
    }
}

/// A variable as the API shows it: a sensitive one without its value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VariableView {
    pub key: String,
    pub category: VariableCategory,
    /// `None` for a sensitive variable (write-only).
    pub value: Option<String>,
    pub hcl: bool,
    pub sensitive: bool,
    pub description: String,
    /// Where it comes from (`workspace`, `project set X`, `organisation set X`), in a
    /// list of what a workspace's runs receive; `None` in a holder's own list.
    pub source: Option<String>,
    /// What it won over, in such a list.
    pub overrides: Vec<String>,
}

impl VariableView {
    fn of(variable: &Variable) -> Self {
        Self {
            key: variable.key.clone(),
            category: variable.category,
            value: (!variable.sensitive).then(|| variable.value.clone()),
            hcl: variable.hcl,
            sensitive: variable.sensitive,
            description: variable.description.clone(),
            source: None,
            overrides: Vec::new(),
        }
    }

    fn resolved(resolved: &ResolvedVariable) -> Self {
        Self {
            source: Some(resolved.source.describe()),
            overrides: resolved
                .overrides
                .iter()
                .map(VariableSource::describe)
                .collect(),
            ..Self::of(&resolved.variable)
        }
    }
}

/// A new variable set.
#[derive(Clone, Debug, Default)]
pub struct VariableSetInput {
    pub identifier: String,
    pub name: String,
    pub description: Option<String>,
    /// `all`, `tags` or `workspaces`, with its values.
    pub attach: Option<(String, Vec<String>)>,
}

/// A change to a variable set's settings.
#[derive(Clone, Debug, Default)]
pub struct VariableSetPatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub attach: Option<(String, Vec<String>)>,
}

fn set_not_found() -> AppError {
    AppError::NotFound {
        what: "variable set",
    }
}

fn variable_not_found() -> AppError {
    AppError::NotFound { what: "variable" }
}

fn set_owner(scope: Scope) -> AppResult<String> {
    match scope {
        Scope::Account => Err(AppError::bad_request(
            ErrorCode::InvalidScope,
            "variable sets belong to organisations and projects",
        )),
        _ => key_owner(scope).ok_or_else(set_not_found),
    }
}

/// How many times a change to a holder's variables is made again on the version someone
/// else stored first (clients such as Terraform's `tfe` provider write many variables of
/// one workspace at once) before it gives up with 409 `concurrent_update`.
const VARIABLE_WRITE_ATTEMPTS: usize = 16;

fn lost_race(what: &str) -> AppError {
    AppError::conflict(
        ErrorCode::ConcurrentUpdate,
        format!("the {what} changed while this change was made; read them again and retry"),
    )
}

fn views(variables: &[Variable]) -> Vec<VariableView> {
    variables.iter().map(VariableView::of).collect()
}

/// A variable change's audit details: the key and flags, never the value.
fn variable_details(
    holder: serde_json::Value,
    category: VariableCategory,
    key: &str,
) -> serde_json::Value {
    json!({ "holder": holder, "category": category.as_str(), "key": key })
}

impl App {
    async fn open_variables(
        &self,
        place: &SealContext<'_>,
        sealed: &[u8],
    ) -> AppResult<Vec<Variable>> {
        let opened = self.open_sealed(place, sealed).await?;
        serde_json::from_slice(&opened).map_err(|_| {
            AppError::Integrity(format!("the variables of {} do not read", place.entity_id))
        })
    }

    async fn seal_variables(
        &self,
        place: &SealContext<'_>,
        variables: &[Variable],
    ) -> AppResult<Vec<u8>> {
        let document = Zeroizing::new(
            serde_json::to_vec(variables).map_err(|error| AppError::Internal(error.to_string()))?,
        );
        self.seal_value(place, &document).await
    }

    /// A workspace's own variables and the version they are at (0: none yet).
    async fn own_variables(&self, workspace: &Workspace) -> AppResult<(u64, Vec<Variable>)> {
        let Some(stored) = self.store().workspace_variables(workspace.id).await? else {
            return Ok((0, Vec::new()));
        };
        let owner = workspace.project_id.to_string();
        let id = workspace.id.to_string();
        let variables = self
            .open_variables(
                &variables_place(&owner, HolderKind::Workspace, &id, stored.version),
                &stored.sealed,
            )
            .await?;
        Ok((stored.version, variables))
    }

    /// A workspace's own variables (sensitive ones without their values). Needs
    /// `workspace:view`.
    pub async fn list_workspace_variables(
        &self,
        ctx: &Ctx,
        scope: Scope,
        identifier: &str,
    ) -> AppResult<Vec<VariableView>> {
        let workspace = self
            .workspace_for(ctx, scope, identifier, Permission::WorkspaceView)
            .await?;
        Ok(views(&self.own_variables(&workspace).await?.1))
    }

    /// What the workspace's runs receive, each with where it comes from (sensitive
    /// ones without their values). Needs `workspace:view`.
    pub async fn effective_variables(
        &self,
        ctx: &Ctx,
        scope: Scope,
        identifier: &str,
    ) -> AppResult<Vec<VariableView>> {
        let workspace = self
            .workspace_for(ctx, scope, identifier, Permission::WorkspaceView)
            .await?;
        Ok(self
            .resolved_variables(&workspace)
            .await?
            .iter()
            .map(VariableView::resolved)
            .collect())
    }

    /// Creates or changes one of a workspace's variables. Needs
    /// `workspace:edit_variables`.
    pub async fn put_workspace_variable(
        &self,
        ctx: &Ctx,
        scope: Scope,
        identifier: &str,
        category: &str,
        key: &str,
        change: VariableChange,
    ) -> AppResult<(Put, VariableView)> {
        let category = VariableCategory::parse(category)?;
        let workspace = self
            .workspace_for(ctx, scope, identifier, Permission::WorkspaceEditVariables)
            .await?;
        let mut put = Put::Created;
        let variables = self
            .change_workspace_variables(ctx, scope, &workspace, "variable.put", |variables| {
                put = put_variable(variables, category, key, change.clone())?;
                Ok(variable_details(
                    json!({ "workspace": workspace.identifier.as_str() }),
                    category,
                    key,
                ))
            })
            .await?;
        let view = variables
            .iter()
            .find(|variable| variable.category == category && variable.key == key)
            .map(VariableView::of)
            .ok_or_else(variable_not_found)?;
        Ok((put, view))
    }

    /// Deletes one of a workspace's variables. Needs `workspace:edit_variables`.
    pub async fn delete_workspace_variable(
        &self,
        ctx: &Ctx,
        scope: Scope,
        identifier: &str,
        category: &str,
        key: &str,
    ) -> AppResult<()> {
        let category = VariableCategory::parse(category).map_err(|_| variable_not_found())?;
        let workspace = self
            .workspace_for(ctx, scope, identifier, Permission::WorkspaceEditVariables)
            .await?;
        self.change_workspace_variables(ctx, scope, &workspace, "variable.delete", |variables| {
            remove_variable(variables, category, key)?;
            Ok(variable_details(
                json!({ "workspace": workspace.identifier.as_str() }),
                category,
                key,
            ))
        })
        .await?;
        Ok(())
    }

    async fn change_workspace_variables(
        &self,
        ctx: &Ctx,
        scope: Scope,
        workspace: &Workspace,
        action: &'static str,
        mut change: impl FnMut(&mut Vec<Variable>) -> AppResult<serde_json::Value>,
    ) -> AppResult<Vec<Variable>> {
        for _ in 0..VARIABLE_WRITE_ATTEMPTS {
            let (version, mut variables) = self.own_variables(workspace).await?;
            let details = change(&mut variables)?;
            let next = version + 1;
            let owner = workspace.project_id.to_string();
            let id = workspace.id.to_string();
            let sealed = self
                .seal_variables(
                    &variables_place(&owner, HolderKind::Workspace, &id, next),
                    &variables,
                )
                .await?;
            let now = self.now();
            let mut tx = self.store().write().await?;
            if !tx
                .put_workspace_variables(workspace.id, next, variables.len() as u64, &sealed, now)
                .await?
            {
                // Someone stored another version first: apply the change to theirs.
                tx.rollback().await?;
                continue;
            }
            tx.commit(
                ctx.audit(now, action, "workspace")
                    .scope(scope)
                    .resource_id(workspace.id)
                    .details(details)
                    .build(),
            )
            .await?;
            return Ok(variables);
        }
        Err(lost_race("workspace's variables"))
    }

    async fn variable_set_at(
        &self,
        scope: Scope,
        identifier: &str,
    ) -> AppResult<(VariableSet, Vec<Variable>)> {
        let owner = set_owner(scope)?;
        let slug = Slug::parse(identifier).map_err(|_| set_not_found())?;
        let (set, sealed) = self
            .store()
            .variable_set_by_identifier(scope, &slug)
            .await?
            .ok_or_else(set_not_found)?;
        let id = set.id.to_string();
        let variables = self
            .open_variables(
                &variables_place(&owner, HolderKind::Set, &id, set.version),
                &sealed,
            )
            .await?;
        Ok((set, variables))
    }

    pub async fn create_variable_set(
        &self,
        ctx: &Ctx,
        scope: Scope,
        input: VariableSetInput,
    ) -> AppResult<(VariableSet, Vec<VariableView>)> {
        let owner = set_owner(scope)?;
        let now = self.now();
        let (kind, values) = input
            .attach
            .unwrap_or_else(|| ("all".to_owned(), Vec::new()));
        let set = VariableSet {
            id: mint(now, VariableSetId::mint)?,
            scope,
            identifier: Slug::parse(&input.identifier)?,
            name: Name::parse(&input.name)?,
            description: Description::parse(input.description.as_deref().unwrap_or(""))?,
            attachment: Attachment::parse(&kind, &values)?,
            version: 1,
            variable_count: 0,
            created_at: now,
            updated_at: now,
        };
        let id = set.id.to_string();
        let sealed = self
            .seal_variables(&variables_place(&owner, HolderKind::Set, &id, 1), &[])
            .await?;
        let mut tx = self.store().write().await?;
        tx.insert_variable_set(&set, &sealed)
            .await
            .map_err(|error| match error {
                rampart_store::StoreError::Conflict { .. } => AppError::conflict(
                    ErrorCode::IdentifierTaken,
                    "a variable set with this identifier already exists here",
                ),
                other => other.into(),
            })?;
        tx.commit(
            ctx.audit(now, "variable_set.create", "variable_set")
                .scope(scope)
                .resource_id(set.id)
                .details(set_details(&set))
                .build(),
        )
        .await?;
        Ok((set, Vec::new()))
    }

    /// The sets defined at `scope` (an organisation's are listed at the organisation).
    pub async fn list_variable_sets(
        &self,
        scope: Scope,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> AppResult<Page<VariableSet>> {
        set_owner(scope)?;
        let page = crate::platform::page_request(limit, cursor)?;
        Ok(self.store().list_variable_sets(scope, &page).await?)
    }

    /// A set with its variables (sensitive ones without their values).
    pub async fn get_variable_set(
        &self,
        scope: Scope,
        identifier: &str,
    ) -> AppResult<(VariableSet, Vec<VariableView>)> {
        let (set, variables) = self.variable_set_at(scope, identifier).await?;
        Ok((set, views(&variables)))
    }

    pub async fn update_variable_set(
        &self,
        ctx: &Ctx,
        scope: Scope,
        identifier: &str,
        patch: VariableSetPatch,
    ) -> AppResult<(VariableSet, Vec<VariableView>)> {
        self.change_variable_set(ctx, scope, identifier, "variable_set.update", |set, _| {
            if let Some(name) = &patch.name {
                set.name = Name::parse(name)?;
            }
            if let Some(description) = &patch.description {
                set.description = Description::parse(description)?;
            }
            if let Some((kind, values)) = &patch.attach {
                set.attachment = Attachment::parse(kind, values)?;
            }
            Ok(set_details(set))
        })
        .await
    }

    /// Creates or changes one of a set's variables.
    pub async fn put_set_variable(
        &self,
        ctx: &Ctx,
        scope: Scope,
        identifier: &str,
        category: &str,
        key: &str,
        change: VariableChange,
    ) -> AppResult<(Put, VariableView)> {
        let category = VariableCategory::parse(category)?;
        let mut put = Put::Created;
        let (_, variables) = self
            .change_variable_set(ctx, scope, identifier, "variable.put", |set, variables| {
                put = put_variable(variables, category, key, change.clone())?;
                Ok(variable_details(
                    json!({ "variable_set": set.identifier.as_str() }),
                    category,
                    key,
                ))
            })
            .await?;
        let view = variables
            .into_iter()
            .find(|variable| variable.category == category && variable.key == key)
            .ok_or_else(variable_not_found)?;
        Ok((put, view))
    }

    /// Deletes one of a set's variables.
    pub async fn delete_set_variable(
        &self,
        ctx: &Ctx,
        scope: Scope,
        identifier: &str,
        category: &str,
        key: &str,
    ) -> AppResult<()> {
        let category = VariableCategory::parse(category).map_err(|_| variable_not_found())?;
        self.change_variable_set(
            ctx,
            scope,
            identifier,
            "variable.delete",
            |set, variables| {
                remove_variable(variables, category, key)?;
                Ok(variable_details(
                    json!({ "variable_set": set.identifier.as_str() }),
                    category,
                    key,
                ))
            },
        )
        .await?;
        Ok(())
    }

    /// Loads a set, applies `change` (which returns the audit details), and stores the
    /// next version only if nobody stored another meanwhile (else again, on theirs).
    async fn change_variable_set(
        &self,
        ctx: &Ctx,
        scope: Scope,
        identifier: &str,
        action: &'static str,
        mut change: impl FnMut(&mut VariableSet, &mut Vec<Variable>) -> AppResult<serde_json::Value>,
    ) -> AppResult<(VariableSet, Vec<VariableView>)> {
        let owner = set_owner(scope)?;
        for _ in 0..VARIABLE_WRITE_ATTEMPTS {
            let (mut set, mut variables) = self.variable_set_at(scope, identifier).await?;
            let details = change(&mut set, &mut variables)?;
            let now = self.now();
            set.version += 1;
            set.variable_count = variables.len() as u64;
            set.updated_at = now;
            let id = set.id.to_string();
            let sealed = self
                .seal_variables(
                    &variables_place(&owner, HolderKind::Set, &id, set.version),
                    &variables,
                )
                .await?;
            let mut tx = self.store().write().await?;
            if !tx.update_variable_set(&set, &sealed).await? {
                // Someone stored another version first: apply the change to theirs.
                tx.rollback().await?;
                continue;
            }
            tx.commit(
                ctx.audit(now, action, "variable_set")
                    .scope(scope)
                    .resource_id(set.id)
                    .details(details)
                    .build(),
            )
            .await?;
            return Ok((set, views(&variables)));
        }
        Err(lost_race("variable set"))
    }

    pub async fn delete_variable_set(
        &self,
        ctx: &Ctx,
        scope: Scope,
        identifier: &str,
    ) -> AppResult<()> {
        set_owner(scope)?;
        let slug = Slug::parse(identifier).map_err(|_| set_not_found())?;
        let (set, _) = self
            .store()
            .variable_set_by_identifier(scope, &slug)
            .await?
            .ok_or_else(set_not_found)?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        tx.delete_variable_set(set.id).await?;
        tx.commit(
            ctx.audit(now, "variable_set.delete", "variable_set")
                .scope(scope)
                .resource_id(set.id)
                .details(json!({ "identifier": set.identifier.as_str() }))
                .build(),
        )
        .await?;
        Ok(())
    }

    /// What a workspace's runs receive, with values.
    pub(crate) async fn resolved_variables(
        &self,
        workspace: &Workspace,
    ) -> AppResult<Vec<ResolvedVariable>> {
        let (_, own) = self.own_variables(workspace).await?;
        let mut sets = Vec::new();
        for (set, sealed) in self
            .store()
            .variable_sets_for(workspace.org_id, workspace.project_id)
            .await?
        {
            if !set.attachment.applies_to(workspace) {
                continue;
            }
            let owner = key_owner(set.scope).ok_or_else(set_not_found)?;
            let id = set.id.to_string();
            let variables = self
                .open_variables(
                    &variables_place(&owner, HolderKind::Set, &id, set.version),
                    &sealed,
                )
                .await?;
            let source = match set.scope {
                Scope::Project(..) => VariableSource::ProjectSet(set.identifier.clone()),
                _ => VariableSource::OrgSet(set.identifier.clone()),
            };
            sets.push((source, variables));
        }
        Ok(resolve(&own, &sets))
    }

    /// Every sensitive value a workspace's runs receive (to mask them in what is shown).
    pub(crate) async fn sensitive_values(
        &self,
        workspace: &Workspace,
    ) -> AppResult<Vec<Zeroizing<String>>> {
        Ok(self
            .resolved_variables(workspace)
            .await?
            .into_iter()
            .filter(|found| found.variable.sensitive)
            .map(|found| Zeroizing::new(found.variable.value))
            .collect())
    }

    /// The run's executor, or 403 `not_run_executor` / 409 `run_state_conflict`:
    /// while the run plans, who started it (with `workspace:plan`); while it applies,
    /// who holds its lock (with `workspace:apply`).
    async fn executed_run(
        &self,
        ctx: &Ctx,
        scope: Scope,
        identifier: &str,
        run: &str,
        phase: Option<RunLogPhase>,
    ) -> AppResult<(Workspace, Run)> {
        let workspace = self
            .workspace_for(ctx, scope, identifier, Permission::WorkspaceView)
            .await?;
        let run = self
            .store()
            .run(workspace.id, run_id(run)?)
            .await?
            .ok_or_else(run_not_found)?
            .0;
        let actor = ctx.actor.actor_text();
        let planning = match (run.status, phase) {
            (RunStatus::Planning, None | Some(RunLogPhase::Plan)) => true,
            (RunStatus::Applying, None | Some(RunLogPhase::Apply)) => false,
            (status, _) => {
                return Err(AppError::conflict(
                    ErrorCode::RunStateConflict,
                    format!(
                        "the run is {}: its variables and logs go to its executor only while \
                         it plans or applies",
                        status.as_str()
                    ),
                ));
            }
        };
        let permission = if planning {
            Permission::WorkspacePlan
        } else if run.is_destroy {
            Permission::WorkspaceDestroy
        } else {
            Permission::WorkspaceApply
        };
        self.authorize_workspace(ctx, scope, identifier, permission)
            .await?;
        let executor = if planning {
            run.created_by == actor
        } else {
            self.store()
                .workspace_lock(workspace.id)
                .await?
                .is_some_and(|held| held.lock_id == run.lock_id && held.locked_by == actor)
        };
        if !executor {
            return Err(AppError::forbidden(
                ErrorCode::NotRunExecutor,
                if planning {
                    "only who started the run receives its variables and sends its plan log"
                } else {
                    "only who applies the run (holding its lock) receives its variables and \
                     sends its apply log"
                },
            ));
        }
        Ok((workspace, run))
    }

    /// The variables of a run, with values, for its executor; audited by key.
    pub async fn run_variables(
        &self,
        ctx: &Ctx,
        scope: Scope,
        identifier: &str,
        run: &str,
    ) -> AppResult<Vec<ResolvedVariable>> {
        let (workspace, run) = self.executed_run(ctx, scope, identifier, run, None).await?;
        let resolved = self.resolved_variables(&workspace).await?;
        self.store()
            .append_audit(
                &ctx.audit(self.now(), "run.variables_read", "run")
                    .scope(scope)
                    .resource_id(run.id)
                    .details(json!({
                        "workspace": workspace.identifier.as_str(),
                        "status": run.status.as_str(),
                        "variables": handed_keys(&resolved),
                    }))
                    .build(),
            )
            .await?;
        Ok(resolved)
    }

    /// Stores what Terraform printed in one phase of a run (once a phase), from its
    /// executor: sensitive values masked, sealed.
    pub async fn put_run_log(
        &self,
        ctx: &Ctx,
        scope: Scope,
        identifier: &str,
        run: &str,
        phase: &str,
        text: &[u8],
    ) -> AppResult<RunLog> {
        let phase = RunLogPhase::parse(phase)?;
        if text.len() > RUN_LOG_BYTES_MAX {
            return Err(AppError::TooLarge {
                code: ErrorCode::RunLogTooLarge,
                message: format!("a run log is at most {RUN_LOG_BYTES_MAX} bytes"),
            });
        }
        let (workspace, run) = self
            .executed_run(ctx, scope, identifier, run, Some(phase))
            .await?;
        let secrets = self.sensitive_values(&workspace).await?;
        let text = Zeroizing::new(String::from_utf8_lossy(text).into_owned());
        let masked = Zeroizing::new(mask(&text, secrets.iter().map(|secret| secret.as_str())));
        let owner = workspace.project_id.to_string();
        let entity = format!("{}/{}", workspace.id, run.id);
        let sealed = self
            .seal_value(&log_place(&owner, &entity, phase), masked.as_bytes())
            .await?;
        let now = self.now();
        let log = RunLog {
            id: mint(now, rampart_domain::RunId::mint)?.to_string(),
            phase: phase.as_str().to_owned(),
            bytes: masked.len() as u64,
            uploaded_by: ctx.actor.actor_text(),
            uploaded_at: now,
        };
        let mut tx = self.store().write().await?;
        if !tx
            .insert_run_log(run.id, workspace.id, &log, &sealed)
            .await?
        {
            tx.rollback().await?;
            return Err(AppError::conflict(
                ErrorCode::RunLogExists,
                format!("the run's {} log is uploaded already", phase.as_str()),
            ));
        }
        tx.commit(
            ctx.audit(now, "run.log_uploaded", "run")
                .scope(scope)
                .resource_id(run.id)
                .details(json!({
                    "workspace": workspace.identifier.as_str(),
                    "phase": phase.as_str(),
                    "bytes": log.bytes,
                }))
                .build(),
        )
        .await?;
        Ok(log)
    }

    /// One phase's log of a run, opened. Needs `workspace:view`.
    pub async fn run_log(
        &self,
        ctx: &Ctx,
        scope: Scope,
        identifier: &str,
        run: &str,
        phase: &str,
    ) -> AppResult<(RunLog, Zeroizing<Vec<u8>>)> {
        let phase = RunLogPhase::parse(phase)?;
        let workspace = self
            .workspace_for(ctx, scope, identifier, Permission::WorkspaceView)
            .await?;
        let id = run_id(run)?;
        let (log, sealed) = self
            .store()
            .run_log(id, phase.as_str())
            .await?
            .ok_or(AppError::NotFound { what: "run log" })?;
        // The log row names its run; the run must be this workspace's.
        self.store()
            .run(workspace.id, id)
            .await?
            .ok_or_else(run_not_found)?;
        let owner = workspace.project_id.to_string();
        let entity = format!("{}/{id}", workspace.id);
        let text = self
            .open_sealed(&log_place(&owner, &entity, phase), &sealed)
            .await?;
        Ok((log, text))
    }

    /// The logs a run has (phase, size, who uploaded them). Needs `workspace:view`.
    pub async fn run_logs(
        &self,
        ctx: &Ctx,
        scope: Scope,
        identifier: &str,
        run: &str,
    ) -> AppResult<Vec<RunLog>> {
        let workspace = self
            .workspace_for(ctx, scope, identifier, Permission::WorkspaceView)
            .await?;
        let id = run_id(run)?;
        self.store()
            .run(workspace.id, id)
            .await?
            .ok_or_else(run_not_found)?;
        Ok(self.store().run_logs(id).await?)
    }
}

/// The variables handed to an executor, as its audit event names them
/// (`category:key`, never a value).
pub(crate) fn handed_keys(resolved: &[ResolvedVariable]) -> Vec<String> {
    resolved
        .iter()
        .map(|found| {
            format!(
                "{}:{}",
                found.variable.category.as_str(),
                found.variable.key
            )
        })
        .collect()
}

fn remove_variable(
    variables: &mut Vec<Variable>,
    category: VariableCategory,
    key: &str,
) -> AppResult<()> {
    let before = variables.len();
    variables.retain(|variable| !(variable.category == category && variable.key == key));
    if variables.len() == before {
        return Err(variable_not_found());
    }
    Ok(())
}

fn set_details(set: &VariableSet) -> serde_json::Value {
    json!({
        "identifier": set.identifier.as_str(),
        "name": set.name.as_str(),
        "attach": { "kind": set.attachment.kind(), "values": set.attachment.values() },
    })
}
