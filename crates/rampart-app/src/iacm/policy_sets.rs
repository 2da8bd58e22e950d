//! Policy sets: Rego modules of an organisation or a project, kept sealed, validated when
//! saved, and evaluated in-process on what they check — a plan on upload (with its cost
//! estimate), a workspace on create and update, a state on write through the backend.
//!
//! Saving a set prepares it with the engine (`rampart-policy`: parse, compile, a `deny`
//! or `warn` rule in every module): a module that does not would fail every evaluation,
//! so it is refused with 422 and the parser's line and column. Prepared engines are
//! cached by (set id, version) — every change bumps the version, so a cached engine is
//! never stale, on this replica or another — and evaluations run on the blocking pool
//! under the engine's time and memory limits.
//!
//! An evaluation that cannot finish (a limit, a builtin's error) is the set's failure at
//! its enforcement level: a broken mandatory set blocks rather than waves through.
//!
//! Permissions: `policy_set:view|create|edit|delete` at the set's scope (the route
//! checks them); overriding a failed soft-mandatory result of a plan needs
//! `policy_set:override` on the plan's workspace and a reason, and is audited.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rampart_domain::iacm::cost_estimates::estimate_plan_json;
use rampart_domain::iacm::policy_sets::{
    Attachment, Blocking, Enforcement, PolicyEntity, PolicyResult, PolicySet, PolicyStatus,
    SetOutcome, parse_module_name, parse_override_reason,
};
use rampart_domain::iacm::workspaces::Workspace;
use rampart_domain::limits::POLICY_SET_SOURCE_BYTES_MAX;
use rampart_domain::platform::tenancy::Scope;
use rampart_domain::{Description, ErrorCode, Name, Permission, PlanId, PolicySetId, Slug};
use rampart_policy::{
    InputContext, InputShape, PolicyError, PolicyInput, PolicyLimits, PolicyModule,
    PreparedPolicySet, RegoSyntax, build_input,
};
use rampart_store::Page;
use rampart_store::iacm::policy_sets::{
    POLICY_RESULT_MODULES, POLICY_RESULT_OVERRIDE_REASON, POLICY_SET_MODULES,
};
use rampart_store::sealed::SealedCell;
use serde_json::{Value, json};

use crate::sealing::{Resealer, SealContext, SealedPlace, key_owner};

/// The largest module source accepted, in bytes (the engine's limit).
pub const MODULE_BYTES_MAX: usize = rampart_policy::engine::MODULE_BYTES_MAX;
use crate::{App, AppError, AppResult, Ctx, mint};

/// The sealed parts of policy sets and of plans' policy results, for the rewrap job.
pub(crate) const SEALED_PLACES: &[SealedPlace] = &[
    SealedPlace {
        column: POLICY_SET_MODULES,
        reseal: |resealer, owner, cell| {
            resealer.reseal(&modules_place(owner, &cell.id, cell.version), &cell.sealed)
        },
    },
    SealedPlace {
        column: POLICY_RESULT_MODULES,
        reseal: |resealer, owner, cell| reseal_result_part(resealer, owner, cell, "modules"),
    },
    SealedPlace {
        column: POLICY_RESULT_OVERRIDE_REASON,
        reseal: |resealer, owner, cell| {
            reseal_result_part(resealer, owner, cell, "override_reason")
        },
    },
];

fn reseal_result_part(
    resealer: &Resealer<'_>,
    owner: &str,
    cell: &SealedCell,
    field: &'static str,
) -> AppResult<Option<Vec<u8>>> {
    let workspace = cell.extra("workspace_id").ok_or_else(|| {
        AppError::Integrity(format!("policy result of {} has no workspace", cell.id))
    })?;
    let entity = format!("{workspace}/{}", cell.id);
    resealer.reseal(
        &result_place(owner, &entity, field, cell.version),
        &cell.sealed,
    )
}

/// Where version `version` of a set's modules is sealed.
fn modules_place<'a>(owner: &'a str, set: &'a str, version: u64) -> SealContext<'a> {
    SealContext {
        owner,
        entity_type: "policy_set",
        entity_id: set,
        field: "modules",
        version,
    }
}

/// Where a part (`modules`, `override_reason`) of result `seq` of plan
/// `{workspace}/{plan}` is sealed.
fn result_place<'a>(
    owner: &'a str,
    workspace_plan: &'a str,
    field: &'static str,
    seq: u64,
) -> SealContext<'a> {
    SealContext {
        owner,
        entity_type: "plan_policy_result",
        entity_id: workspace_plan,
        field,
        version: seq,
    }
}

/// One module of a set, as people wrote it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PolicyModuleText {
    pub name: String,
    pub source: String,
}

/// A new policy set.
#[derive(Clone, Debug, Default)]
pub struct PolicySetInput {
    pub identifier: String,
    pub name: String,
    pub description: Option<String>,
    pub entity: String,
    pub enforcement: Option<String>,
    pub rego_syntax: Option<String>,
    pub input_shape: Option<String>,
    /// `all`, `tags` or `workspaces`, with its values.
    pub attach: Option<(String, Vec<String>)>,
    pub enabled: Option<bool>,
    pub modules: Vec<PolicyModuleText>,
}

/// Changes to a policy set (what it checks is fixed: another entity is another set).
#[derive(Clone, Debug, Default)]
pub struct PolicySetPatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub enforcement: Option<String>,
    pub rego_syntax: Option<String>,
    pub input_shape: Option<String>,
    pub attach: Option<(String, Vec<String>)>,
    pub enabled: Option<bool>,
    /// Replaces every module.
    pub modules: Option<Vec<PolicyModuleText>>,
}

/// What one module decided, as stored with a plan (sealed) and shown.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ModuleDecision {
    pub name: String,
    pub package: String,
    pub deny: Vec<String>,
    pub warn: Vec<String>,
    /// Time spent reading the module's decision (see `evaluate_timed`).
    #[serde(default)]
    pub duration_us: u64,
}

/// The sealed part of a result: each module's decision, or why the set could not decide.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SetDecisions {
    pub modules: Vec<ModuleDecision>,
    /// `{code}: {message}` of an evaluation that could not finish.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A policy result with its opened parts.
#[derive(Clone, Debug, PartialEq)]
pub struct PolicyResultView {
    pub result: PolicyResult,
    pub decisions: SetDecisions,
    pub override_reason: Option<String>,
}

impl PolicyResultView {
    /// `set identifier: message` for every deny (or the error), for a refusal's message.
    fn denials(&self) -> Vec<String> {
        let set = &self.result.policy_set_identifier;
        let mut lines: Vec<String> = self
            .decisions
            .modules
            .iter()
            .flat_map(|module| module.deny.iter())
            .map(|message| format!("{set}: {message}"))
            .collect();
        if let Some(error) = &self.decisions.error {
            lines.push(format!("{set}: {error}"));
        }
        lines
    }
}

/// Prepared policy sets by (id, version). Bounded: past the bound it starts again
/// empty (sets change rarely; a miss costs one preparation).
#[derive(Default)]
pub(crate) struct PreparedCache {
    sets: Mutex<HashMap<(PolicySetId, u64), Arc<PreparedPolicySet>>>,
}

const PREPARED_CACHE_SETS_MAX: usize = 512;

impl PreparedCache {
    fn get(&self, set: &PolicySet) -> Option<Arc<PreparedPolicySet>> {
        self.sets.lock().ok()?.get(&(set.id, set.version)).cloned()
    }

    fn put(&self, set: &PolicySet, prepared: Arc<PreparedPolicySet>) {
        if let Ok(mut sets) = self.sets.lock() {
            if sets.len() >= PREPARED_CACHE_SETS_MAX {
                sets.clear();
            }
            // Older versions of the set are of no use any more.
            sets.retain(|(id, _), _| *id != set.id);
            sets.insert((set.id, set.version), prepared);
        }
    }
}

fn not_found() -> AppError {
    AppError::NotFound { what: "policy set" }
}

fn owner_of(scope: Scope) -> AppResult<String> {
    match scope {
        Scope::Account => Err(AppError::bad_request(
            ErrorCode::InvalidScope,
            "policy sets belong to organisations and projects",
        )),
        _ => key_owner(scope).ok_or_else(not_found),
    }
}

fn scope_kind(scope: Scope) -> &'static str {
    match scope {
        Scope::Project(..) => "project",
        _ => "org",
    }
}

fn syntax_of(set: &PolicySet) -> AppResult<RegoSyntax> {
    RegoSyntax::parse(&set.rego_syntax).ok_or_else(|| {
        AppError::Integrity(format!(
            "policy set {} has syntax {}",
            set.id, set.rego_syntax
        ))
    })
}

fn shape_of(set: &PolicySet) -> AppResult<InputShape> {
    InputShape::parse(&set.input_shape).ok_or_else(|| {
        AppError::Integrity(format!(
            "policy set {} has shape {}",
            set.id, set.input_shape
        ))
    })
}

fn parse_syntax(text: &str) -> AppResult<String> {
    RegoSyntax::parse(text)
        .map(|syntax| syntax.as_str().to_owned())
        .ok_or_else(|| {
            rampart_domain::ValidationError::new("rego_syntax", "must be \"v0\" or \"v1\"").into()
        })
}

fn parse_shape(text: &str) -> AppResult<String> {
    InputShape::parse(text)
        .map(|shape| shape.as_str().to_owned())
        .ok_or_else(|| {
            rampart_domain::ValidationError::new("input_shape", "must be \"hcp\" or \"plan\"")
                .into()
        })
}

/// A policy error of saving a set, answered with its catalogued code (422).
fn refused(error: &PolicyError) -> AppError {
    let code = match error {
        PolicyError::NoDecisionRule { .. } => ErrorCode::PolicyWithoutDecision,
        PolicyError::InvalidSet(_) => ErrorCode::PolicySetInvalid,
        _ => ErrorCode::PolicyInvalid,
    };
    AppError::Unprocessable {
        code,
        message: error.to_string(),
    }
}

/// Checks the modules' names and sizes and that the set prepares; returns them sorted by
/// name with the prepared engine.
async fn prepare_modules(
    syntax: RegoSyntax,
    mut modules: Vec<PolicyModuleText>,
) -> AppResult<(Vec<PolicyModuleText>, PreparedPolicySet)> {
    let mut total = 0usize;
    for module in &modules {
        parse_module_name(&module.name)?;
        if module.source.contains('\0') {
            return Err(AppError::bad_request(
                ErrorCode::NulCharacter,
                format!("{} must not contain a NUL character", module.name),
            ));
        }
        total += module.source.len();
    }
    if total > POLICY_SET_SOURCE_BYTES_MAX {
        return Err(AppError::TooLarge {
            code: ErrorCode::BodyTooLarge,
            message: format!(
                "a policy set's modules hold at most {POLICY_SET_SOURCE_BYTES_MAX} bytes together"
            ),
        });
    }
    modules.sort_by(|a, b| a.name.cmp(&b.name));
    let engine_modules: Vec<PolicyModule> = modules
        .iter()
        .map(|module| PolicyModule {
            path: module.name.clone(),
            source: module.source.clone(),
        })
        .collect();
    let prepared = tokio::task::spawn_blocking(move || {
        PreparedPolicySet::prepare(syntax, &engine_modules, PolicyLimits::default())
    })
    .await
    .map_err(|error| AppError::Internal(error.to_string()))?
    .map_err(|error| refused(&error))?;
    Ok((modules, prepared))
}

/// What policies are evaluated against.
pub(crate) enum Subject {
    /// A workspace's document.
    Document(Value),
    /// A state's JSON as written (already checked to be a state): parsed on the
    /// blocking pool, only when some set applies.
    StateJson(Arc<Vec<u8>>),
    /// A plan's JSON as uploaded (already checked to be a plan): parsed, and priced for
    /// `hcp` sets' `input.cost`, on the blocking pool and only when some set applies.
    PlanJson(Arc<Vec<u8>>),
}

/// One set's evaluation, before it is stored.
pub(crate) struct Evaluated {
    pub result: PolicyResult,
    pub decisions: SetDecisions,
}

/// A set that applies, with its modules opened when its engine is not cached.
struct Applicable {
    set: PolicySet,
    shape: InputShape,
    prepared: Result<Arc<PreparedPolicySet>, (RegoSyntax, Vec<PolicyModule>)>,
}

impl App {
    async fn policy_set_at(
        &self,
        scope: Scope,
        identifier: &str,
    ) -> AppResult<(PolicySet, Vec<PolicyModuleText>)> {
        let owner = owner_of(scope)?;
        let slug = Slug::parse(identifier).map_err(|_| not_found())?;
        let (set, sealed) = self
            .store()
            .policy_set_by_identifier(scope, &slug)
            .await?
            .ok_or_else(not_found)?;
        let modules = self.open_modules(&owner, &set, &sealed).await?;
        Ok((set, modules))
    }

    async fn open_modules(
        &self,
        owner: &str,
        set: &PolicySet,
        sealed: &[u8],
    ) -> AppResult<Vec<PolicyModuleText>> {
        let id = set.id.to_string();
        let opened = self
            .open_sealed(&modules_place(owner, &id, set.version), sealed)
            .await?;
        serde_json::from_slice(&opened)
            .map_err(|_| AppError::Integrity(format!("policy set {id}'s modules do not read")))
    }

    async fn seal_modules(
        &self,
        owner: &str,
        set: &PolicySet,
        modules: &[PolicyModuleText],
    ) -> AppResult<Vec<u8>> {
        let document =
            serde_json::to_vec(modules).map_err(|error| AppError::Internal(error.to_string()))?;
        let id = set.id.to_string();
        self.seal_value(&modules_place(owner, &id, set.version), &document)
            .await
    }

    pub async fn create_policy_set(
        &self,
        ctx: &Ctx,
        scope: Scope,
        input: PolicySetInput,
    ) -> AppResult<(PolicySet, Vec<PolicyModuleText>)> {
        let owner = owner_of(scope)?;
        let now = self.now();
        let (kind, values) = input
            .attach
            .unwrap_or_else(|| ("all".to_owned(), Vec::new()));
        let mut set = PolicySet {
            id: mint(now, PolicySetId::mint)?,
            scope,
            identifier: Slug::parse(&input.identifier)?,
            name: Name::parse(&input.name)?,
            description: Description::parse(input.description.as_deref().unwrap_or(""))?,
            entity: PolicyEntity::parse(&input.entity)?,
            enforcement: Enforcement::parse(input.enforcement.as_deref().unwrap_or("advisory"))?,
            rego_syntax: parse_syntax(input.rego_syntax.as_deref().unwrap_or("v1"))?,
            input_shape: parse_shape(input.input_shape.as_deref().unwrap_or("hcp"))?,
            attachment: Attachment::parse(&kind, &values)?,
            enabled: input.enabled.unwrap_or(true),
            version: 1,
            module_count: 0,
            created_at: now,
            updated_at: now,
        };
        let (modules, prepared) = prepare_modules(syntax_of(&set)?, input.modules).await?;
        set.module_count = modules.len() as u64;
        let sealed = self.seal_modules(&owner, &set, &modules).await?;
        let mut tx = self.store().write().await?;
        tx.insert_policy_set(&set, &sealed)
            .await
            .map_err(|error| match error {
                rampart_store::StoreError::Conflict { .. } => AppError::conflict(
                    ErrorCode::IdentifierTaken,
                    "a policy set with this identifier already exists here",
                ),
                other => other.into(),
            })?;
        tx.commit(
            ctx.audit(now, "policy_set.create", "policy_set")
                .scope(scope)
                .resource_id(set.id)
                .details(audit_details(&set, &[]))
                .build(),
        )
        .await?;
        self.inner.policy_cache.put(&set, Arc::new(prepared));
        Ok((set, modules))
    }

    /// The sets defined at `scope` (an organisation's sets are listed at the
    /// organisation, not at each of its projects).
    pub async fn list_policy_sets(
        &self,
        scope: Scope,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> AppResult<Page<PolicySet>> {
        owner_of(scope)?;
        let page = crate::platform::page_request(limit, cursor)?;
        Ok(self.store().list_policy_sets(scope, &page).await?)
    }

    /// A set with its modules.
    pub async fn get_policy_set(
        &self,
        scope: Scope,
        identifier: &str,
    ) -> AppResult<(PolicySet, Vec<PolicyModuleText>)> {
        self.policy_set_at(scope, identifier).await
    }

    pub async fn update_policy_set(
        &self,
        ctx: &Ctx,
        scope: Scope,
        identifier: &str,
        patch: PolicySetPatch,
    ) -> AppResult<(PolicySet, Vec<PolicyModuleText>)> {
        self.change_policy_set(ctx, scope, identifier, |set, modules| {
            let mut changed = Vec::new();
            if let Some(name) = &patch.name {
                set.name = Name::parse(name)?;
                changed.push("name");
            }
            if let Some(description) = &patch.description {
                set.description = Description::parse(description)?;
                changed.push("description");
            }
            if let Some(enforcement) = &patch.enforcement {
                set.enforcement = Enforcement::parse(enforcement)?;
                changed.push("enforcement");
            }
            if let Some(syntax) = &patch.rego_syntax {
                set.rego_syntax = parse_syntax(syntax)?;
                changed.push("rego_syntax");
            }
            if let Some(shape) = &patch.input_shape {
                set.input_shape = parse_shape(shape)?;
                changed.push("input_shape");
            }
            if let Some((kind, values)) = &patch.attach {
                set.attachment = Attachment::parse(kind, values)?;
                changed.push("attach");
            }
            if let Some(enabled) = patch.enabled {
                set.enabled = enabled;
                changed.push("enabled");
            }
            if let Some(replacement) = &patch.modules {
                *modules = replacement.clone();
                changed.push("modules");
            }
            Ok(changed)
        })
        .await
    }

    /// Adds module `name` to a set, or replaces its source.
    pub async fn put_policy_module(
        &self,
        ctx: &Ctx,
        scope: Scope,
        identifier: &str,
        name: &str,
        source: String,
    ) -> AppResult<(PolicySet, Vec<PolicyModuleText>)> {
        let name = parse_module_name(name)?;
        self.change_policy_set(ctx, scope, identifier, |_, modules| {
            match modules.iter_mut().find(|module| module.name == name) {
                Some(module) => module.source = source,
                None => modules.push(PolicyModuleText { name, source }),
            }
            Ok(vec!["modules"])
        })
        .await
    }

    /// Removes module `name` from a set (a set keeps at least one).
    pub async fn delete_policy_module(
        &self,
        ctx: &Ctx,
        scope: Scope,
        identifier: &str,
        name: &str,
    ) -> AppResult<(PolicySet, Vec<PolicyModuleText>)> {
        self.change_policy_set(ctx, scope, identifier, |_, modules| {
            let before = modules.len();
            modules.retain(|module| module.name != name);
            if modules.len() == before {
                return Err(AppError::NotFound {
                    what: "policy module",
                });
            }
            Ok(vec!["modules"])
        })
        .await
    }

    /// Loads a set, applies `change` (which names what it changed), validates and
    /// prepares the result, and stores it as the next version — only if nobody stored
    /// another version meanwhile (409 `concurrent_update`).
    async fn change_policy_set(
        &self,
        ctx: &Ctx,
        scope: Scope,
        identifier: &str,
        change: impl FnOnce(&mut PolicySet, &mut Vec<PolicyModuleText>) -> AppResult<Vec<&'static str>>,
    ) -> AppResult<(PolicySet, Vec<PolicyModuleText>)> {
        let owner = owner_of(scope)?;
        let (mut set, mut modules) = self.policy_set_at(scope, identifier).await?;
        let changed = change(&mut set, &mut modules)?;
        let (modules, prepared) = prepare_modules(syntax_of(&set)?, modules).await?;
        let now = self.now();
        set.version += 1;
        set.module_count = modules.len() as u64;
        set.updated_at = now;
        let sealed = self.seal_modules(&owner, &set, &modules).await?;
        let mut tx = self.store().write().await?;
        if !tx.update_policy_set(&set, &sealed).await? {
            tx.rollback().await?;
            return Err(AppError::conflict(
                ErrorCode::ConcurrentUpdate,
                "the policy set changed while this change was made; read it again and retry",
            ));
        }
        tx.commit(
            ctx.audit(now, "policy_set.update", "policy_set")
                .scope(scope)
                .resource_id(set.id)
                .details(audit_details(&set, &changed))
                .build(),
        )
        .await?;
        self.inner.policy_cache.put(&set, Arc::new(prepared));
        Ok((set, modules))
    }

    /// Deletes a set; what it decided about plans stays with the plans.
    pub async fn delete_policy_set(
        &self,
        ctx: &Ctx,
        scope: Scope,
        identifier: &str,
    ) -> AppResult<()> {
        owner_of(scope)?;
        let slug = Slug::parse(identifier).map_err(|_| not_found())?;
        let (set, _) = self
            .store()
            .policy_set_by_identifier(scope, &slug)
            .await?
            .ok_or_else(not_found)?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        tx.delete_policy_set(set.id).await?;
        tx.commit(
            ctx.audit(now, "policy_set.delete", "policy_set")
                .scope(scope)
                .resource_id(set.id)
                .details(json!({ "identifier": set.identifier.as_str() }))
                .build(),
        )
        .await?;
        Ok(())
    }

    /// Evaluates every enabled set checking `entity` that applies to `workspace` against
    /// `subject`, in the order the store lists them (the organisation's first). Nothing
    /// is parsed or priced when no set applies.
    pub(crate) async fn evaluate_policies(
        &self,
        workspace: &Workspace,
        entity: PolicyEntity,
        subject: Subject,
    ) -> AppResult<Vec<Evaluated>> {
        let sets: Vec<_> = self
            .store()
            .policy_sets_checking(workspace.org_id, workspace.project_id, entity)
            .await?
            .into_iter()
            .filter(|(set, _)| set.attachment.applies_to(workspace))
            .collect();
        if sets.is_empty() {
            return Ok(Vec::new());
        }
        let mut applicable = Vec::with_capacity(sets.len());
        for (set, sealed) in sets {
            let shape = shape_of(&set)?;
            let prepared = match self.inner.policy_cache.get(&set) {
                Some(prepared) => Ok(prepared),
                None => {
                    let owner = owner_of(set.scope)?;
                    let modules = self
                        .open_modules(&owner, &set, &sealed)
                        .await?
                        .into_iter()
                        .map(|module| PolicyModule {
                            path: module.name,
                            source: module.source,
                        })
                        .collect();
                    Err((syntax_of(&set)?, modules))
                }
            };
            applicable.push(Applicable {
                set,
                shape,
                prepared,
            });
        }
        let context = self.input_context(workspace, &applicable).await?;
        let clock = self.inner.clock.clone();
        let evaluated = tokio::task::spawn_blocking(move || {
            evaluate_applicable(applicable, entity, subject, context, clock.as_ref())
        })
        .await
        .map_err(|error| AppError::Internal(error.to_string()))?;
        let mut results = Vec::with_capacity(evaluated.len());
        for (evaluated, prepared) in evaluated {
            if let Some(prepared) = prepared {
                self.inner.policy_cache.put(&evaluated.set, prepared);
            }
            results.push(evaluated.evaluated);
        }
        Ok(results)
    }

    /// The context of the `hcp` shape: the workspace, its organisation and project (read
    /// only when some set uses that shape; the cost is added on the blocking pool).
    async fn input_context(
        &self,
        workspace: &Workspace,
        applicable: &[Applicable],
    ) -> AppResult<InputContext> {
        if !applicable.iter().any(|set| set.shape == InputShape::Hcp) {
            return Ok(InputContext::default());
        }
        let org = self.store().org_by_id(workspace.org_id).await?;
        let project = self.store().project_by_id(workspace.project_id).await?;
        Ok(InputContext {
            run: None,
            workspace: Some(workspace_document(workspace)),
            organization: org.map(|org| json!({"id": org.id.to_string(), "name": org.identifier.as_str()})),
            project: project.map(|project| {
                json!({"id": project.id.to_string(), "name": project.identifier.as_str()})
            }),
            cost: None,
        })
    }

    /// Checks a workspace's settings or a state against the mandatory sets that apply:
    /// an advisory failure is reported in the audit log only; a mandatory one refuses
    /// the change (422 `policy_denied`, every message listed). There is no plan to hold
    /// an override, so a soft-mandatory set blocks here like a hard one.
    pub(crate) async fn enforce_policies(
        &self,
        ctx: &Ctx,
        scope: Scope,
        workspace: &Workspace,
        entity: PolicyEntity,
        subject: Subject,
    ) -> AppResult<()> {
        let evaluated = self.evaluate_policies(workspace, entity, subject).await?;
        if evaluated.is_empty() {
            return Ok(());
        }
        let views: Vec<PolicyResultView> = evaluated
            .into_iter()
            .map(|evaluated| PolicyResultView {
                result: evaluated.result,
                decisions: evaluated.decisions,
                override_reason: None,
            })
            .collect();
        let denials: Vec<String> = views
            .iter()
            .filter(|view| {
                view.result.enforcement != Enforcement::Advisory && !view.result.outcome.passed()
            })
            .flat_map(PolicyResultView::denials)
            .collect();
        let summary: Vec<Value> = views
            .iter()
            .map(|view| {
                json!({
                    "policy_set": view.result.policy_set_identifier,
                    "enforcement": view.result.enforcement.as_str(),
                    "outcome": view.result.outcome.as_str(),
                })
            })
            .collect();
        let denied = !denials.is_empty();
        self.store()
            .append_audit(
                &ctx.audit(self.now(), "policy.check", "workspace")
                    .scope(scope)
                    .resource_id(workspace.id)
                    .outcome(if denied {
                        crate::audit::Outcome::Denied
                    } else {
                        crate::audit::Outcome::Success
                    })
                    .details(json!({
                        "workspace": workspace.identifier.as_str(),
                        "entity": entity.as_str(),
                        "results": summary,
                    }))
                    .build(),
            )
            .await?;
        if denied {
            return Err(AppError::Unprocessable {
                code: ErrorCode::PolicyDenied,
                message: format!(
                    "the {} was refused by policy: {}",
                    entity.as_str(),
                    denials.join("; ")
                ),
            });
        }
        Ok(())
    }

    /// Seals evaluated results of plan `plan` of `workspace` for storing.
    pub(crate) async fn seal_plan_results(
        &self,
        workspace: &Workspace,
        plan: PlanId,
        evaluated: &[Evaluated],
    ) -> AppResult<Vec<(PolicyResult, Vec<u8>)>> {
        if evaluated.is_empty() {
            return Ok(Vec::new());
        }
        let owner = workspace.project_id.to_string();
        let entity = format!("{}/{plan}", workspace.id);
        let sealer = self.sealer(&owner).await?;
        evaluated
            .iter()
            .map(|evaluated| {
                let document = serde_json::to_vec(&evaluated.decisions)
                    .map_err(|error| AppError::Internal(error.to_string()))?;
                let place = result_place(&owner, &entity, "modules", evaluated.result.seq);
                Ok((evaluated.result.clone(), sealer.seal(&place, &document)?))
            })
            .collect()
    }

    /// What the policy sets decided about a plan, opened. Needs `workspace:view`.
    pub async fn plan_policy_results(
        &self,
        ctx: &Ctx,
        scope: Scope,
        identifier: &str,
        plan: &str,
    ) -> AppResult<Vec<PolicyResultView>> {
        let workspace = self
            .workspace_for(ctx, scope, identifier, Permission::WorkspaceView)
            .await?;
        let (stored, _) = self.plan_in(&workspace, plan, &[]).await?;
        self.opened_results(&workspace, stored.id).await
    }

    pub(crate) async fn opened_results(
        &self,
        workspace: &Workspace,
        plan: PlanId,
    ) -> AppResult<Vec<PolicyResultView>> {
        let stored = self.store().plan_policy_results(plan).await?;
        if stored.is_empty() {
            return Ok(Vec::new());
        }
        let owner = workspace.project_id.to_string();
        let entity = format!("{}/{plan}", workspace.id);
        let opener = self.opener(&owner).await?;
        stored
            .into_iter()
            .map(|(result, modules, reason)| {
                let seq = result.seq;
                let opened =
                    opener.open(&result_place(&owner, &entity, "modules", seq), &modules)?;
                let decisions = serde_json::from_slice(&opened).map_err(|_| {
                    AppError::Integrity(format!("policy result {seq} of plan {plan} does not read"))
                })?;
                let override_reason = reason
                    .map(|sealed| {
                        opener.open_text(
                            &result_place(&owner, &entity, "override_reason", seq),
                            &sealed,
                        )
                    })
                    .transpose()?;
                Ok(PolicyResultView {
                    result,
                    decisions,
                    override_reason,
                })
            })
            .collect()
    }

    /// Overrides a plan's failed soft-mandatory result of set `policy_set` (its id, or
    /// its identifier when only one set of that identifier decided about the plan).
    /// Needs `policy_set:override` on the workspace and a reason. Audited (who, when,
    /// which result); the reason is sealed with the result.
    pub async fn override_plan_policy(
        &self,
        ctx: &Ctx,
        scope: Scope,
        identifier: &str,
        plan: &str,
        policy_set: &str,
        reason: &str,
    ) -> AppResult<Vec<PolicyResultView>> {
        let workspace = self
            .workspace_for(ctx, scope, identifier, Permission::PolicySetOverride)
            .await?;
        let reason = parse_override_reason(reason)?;
        let (stored, _) = self.plan_in(&workspace, plan, &[]).await?;
        let results = self.store().plan_policy_results(stored.id).await?;
        let matching: Vec<&PolicyResult> = results
            .iter()
            .map(|(result, _, _)| result)
            .filter(|result| {
                result.policy_set_id.to_string() == policy_set
                    || result.policy_set_identifier == policy_set
            })
            .collect();
        let target = match matching.as_slice() {
            [] => {
                return Err(AppError::NotFound {
                    what: "policy result",
                });
            }
            [one] => (*one).clone(),
            _ => {
                return Err(AppError::conflict(
                    ErrorCode::Conflict,
                    "an organisation's and a project's policy set share this identifier; name the set by its id",
                ));
            }
        };
        if target.blocking() != Blocking::UntilOverridden {
            let why = if target.outcome.passed() {
                "it passed"
            } else if target.overridden_by.is_some() {
                "it is already overridden"
            } else if target.enforcement == Enforcement::HardMandatory {
                "it is hard-mandatory: fix the plan or the policy"
            } else {
                "it is advisory and blocks nothing"
            };
            return Err(AppError::conflict(
                ErrorCode::PolicyNotOverridable,
                format!(
                    "the result of policy set {} cannot be overridden: {why}",
                    target.policy_set_identifier
                ),
            ));
        }
        let owner = workspace.project_id.to_string();
        let entity = format!("{}/{}", workspace.id, stored.id);
        let sealed_reason = self
            .seal_value(
                &result_place(&owner, &entity, "override_reason", target.seq),
                reason.as_bytes(),
            )
            .await?;
        let now = self.now();
        let by = ctx.actor.actor_text();
        let status = PolicyStatus::of(results.iter().map(|(result, _, _)| {
            (
                result.enforcement,
                result.outcome,
                result.overridden_by.is_some() || result.seq == target.seq,
            )
        }));
        let mut tx = self.store().write().await?;
        if !tx
            .override_plan_policy_result(stored.id, target.seq, &by, &sealed_reason, now)
            .await?
        {
            tx.rollback().await?;
            return Err(AppError::conflict(
                ErrorCode::PolicyNotOverridable,
                "the result was overridden by someone else meanwhile",
            ));
        }
        tx.set_plan_policy_status(stored.id, status).await?;
        tx.commit(
            ctx.audit(now, "plan.policy_override", "plan")
                .scope(scope)
                .resource_id(stored.id)
                .details(json!({
                    "workspace": workspace.identifier.as_str(),
                    "policy_set": target.policy_set_identifier,
                    "policy_set_id": target.policy_set_id.to_string(),
                    // The reason is what a person wrote: it is kept sealed with the
                    // result (read it there), not in clear in the log.
                    "result_seq": target.seq,
                    "policy_status": status.as_str(),
                }))
                .build(),
        )
        .await?;
        self.opened_results(&workspace, stored.id).await
    }
}

/// The workspace as policies see it (HCP Terraform's names where they exist).
pub(crate) fn workspace_document(workspace: &Workspace) -> Value {
    json!({
        "id": workspace.id.to_string(),
        "name": workspace.identifier.as_str(),
        "display_name": workspace.name.as_str(),
        "description": workspace.description.as_str(),
        "tags": workspace.tags,
        "provisioner": workspace.provisioner.as_str(),
        "terraform_version": workspace.provisioner_version,
        "created_at": workspace.created_at.to_string(),
    })
}

fn audit_details(set: &PolicySet, changed: &[&str]) -> Value {
    json!({
        "identifier": set.identifier.as_str(),
        "entity": set.entity.as_str(),
        "enforcement": set.enforcement.as_str(),
        "enabled": set.enabled,
        "version": set.version,
        "modules": set.module_count,
        "changed": changed,
    })
}

/// One set's evaluation with the engine prepared for it when it was not cached.
struct EvaluatedSet {
    set: PolicySet,
    evaluated: Evaluated,
}

/// Evaluates the applicable sets (on the blocking pool): prepares those not cached,
/// converts the input once per shape, times each set.
fn evaluate_applicable(
    applicable: Vec<Applicable>,
    entity: PolicyEntity,
    subject: Subject,
    mut context: InputContext,
    clock: &dyn crate::Clock,
) -> Vec<(EvaluatedSet, Option<Arc<PreparedPolicySet>>)> {
    let subject = match subject {
        Subject::Document(document) => document,
        Subject::StateJson(body) => serde_json::from_slice(&body).unwrap_or(Value::Null),
        Subject::PlanJson(body) => {
            if applicable.iter().any(|set| set.shape == InputShape::Hcp) {
                // A plan the pricer cannot read is evaluated without `input.cost`
                // (undefined in Rego), not refused: the plan itself parsed.
                context.cost = estimate_plan_json(&body)
                    .ok()
                    .map(|estimate| estimate.to_json());
            }
            serde_json::from_slice(&body).unwrap_or(Value::Null)
        }
    };
    let context = &context;
    let mut inputs: HashMap<&'static str, PolicyInput> = HashMap::new();
    let mut out = Vec::with_capacity(applicable.len());
    for (index, applicable) in applicable.into_iter().enumerate() {
        // The injected clock times each set (wall time: it includes waiting for the
        // engine's memory turn, which is what a slow set costs the server).
        let started = clock.now();
        let (prepared, fresh) = match applicable.prepared {
            Ok(prepared) => (Ok(prepared), None),
            Err((syntax, modules)) => {
                match PreparedPolicySet::prepare(syntax, &modules, PolicyLimits::default()) {
                    Ok(prepared) => {
                        let prepared = Arc::new(prepared);
                        (Ok(prepared.clone()), Some(prepared))
                    }
                    Err(error) => (Err(error), None),
                }
            }
        };
        let outcome = prepared.and_then(|prepared| {
            let input = inputs.entry(applicable.shape.as_str()).or_insert_with(|| {
                PolicyInput::from_json(entity_input(applicable.shape, entity, &subject, context))
            });
            let micros = || u64::try_from(clock.now().as_microsecond()).unwrap_or(0);
            prepared.evaluate_timed(input, &micros)
        });
        let finished = clock.now();
        let duration_us =
            u64::try_from(finished.as_microsecond() - started.as_microsecond()).unwrap_or(0);
        let (outcome, decisions) = match outcome {
            Ok(modules) => (
                if modules.iter().any(|(module, _)| module.denies()) {
                    SetOutcome::Failed
                } else {
                    SetOutcome::Passed
                },
                SetDecisions {
                    modules: modules
                        .into_iter()
                        .map(|(module, duration_us)| ModuleDecision {
                            name: module.path,
                            package: module.package,
                            deny: module.deny,
                            warn: module.warn,
                            duration_us,
                        })
                        .collect(),
                    error: None,
                },
            ),
            Err(error) => (
                SetOutcome::Errored,
                SetDecisions {
                    modules: Vec::new(),
                    error: Some(format!("{}: {error}", error.code())),
                },
            ),
        };
        let set = applicable.set;
        let result = PolicyResult {
            seq: index as u64 + 1,
            policy_set_id: set.id,
            policy_set_identifier: set.identifier.to_string(),
            policy_set_scope: scope_kind(set.scope).to_owned(),
            policy_set_version: set.version,
            enforcement: set.enforcement,
            outcome,
            duration_us,
            evaluated_at: jiff::Timestamp::from_microsecond(started.as_microsecond())
                .unwrap_or(started),
            overridden_by: None,
            overridden_at: None,
        };
        out.push((
            EvaluatedSet {
                set,
                evaluated: Evaluated { result, decisions },
            },
            fresh,
        ));
    }
    out
}

/// The input of one evaluation: the subject itself (`plan` shape), or HCP's document
/// with the subject under its entity's name (`input.plan`, `input.state`; a workspace
/// is `input.workspace` already).
fn entity_input(
    shape: InputShape,
    entity: PolicyEntity,
    subject: &Value,
    context: &InputContext,
) -> Value {
    let mut input = build_input(shape, subject.clone(), context);
    if shape == InputShape::Hcp
        && let Value::Object(map) = &mut input
    {
        let subject = map.remove("plan");
        match (entity, subject) {
            (PolicyEntity::Plan, Some(plan)) => {
                map.insert("plan".to_owned(), plan);
            }
            (PolicyEntity::State, Some(state)) => {
                map.insert("state".to_owned(), state);
            }
            _ => {}
        }
    }
    input
}
