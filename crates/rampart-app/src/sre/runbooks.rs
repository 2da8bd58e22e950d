//! Runbooks of a project: create, read (any version), list, replace the definition
//! (a new version; the old ones stay readable), delete — each audited. A definition is
//! checked strictly by the domain ([`rampart_domain::sre::runbooks`]), every error
//! naming its place, and stored sealed with the project's key: scripts, URLs and bodies
//! are what an author wrote and may say more than they should.

use std::sync::Arc;

use rampart_domain::platform::access::Grantee;
use rampart_domain::platform::identity::PrincipalId;
use rampart_domain::platform::tenancy::Scope;
use rampart_domain::sre::runbooks::{
    DEFINITION_BYTES_MAX, Definition, Runbook, RunbookDoc, RunbookVersion, Step, Trigger,
};
use rampart_domain::{ErrorCode, Name, Permission, RunbookId, Slug, ValidationError};
use rampart_store::sealed::SealedCell;
use rampart_store::sre::runbooks::RUNBOOK_DEFINITION;
use rampart_store::{Page, WriteTx};
use serde_json::json;

use crate::sealing::{Resealer, SealContext, SealedPlace, key_owner};
use crate::{Access, App, AppError, AppResult, Ctx, authorize, mint};

/// The sealed definitions of runbooks, for the rewrap job.
pub(crate) const SEALED_PLACES: &[SealedPlace] = &[SealedPlace {
    column: RUNBOOK_DEFINITION,
    reseal: reseal_definition,
}];

fn reseal_definition(
    resealer: &Resealer<'_>,
    owner: &str,
    cell: &SealedCell,
) -> AppResult<Option<Vec<u8>>> {
    let version = u32::try_from(cell.version)
        .map_err(|_| AppError::Integrity(format!("runbook {} version", cell.id)))?;
    resealer.reseal(&definition_place(owner, &cell.id, version), &cell.sealed)
}

/// Where version `version` of runbook `id`'s definition is sealed.
pub(crate) fn definition_place<'a>(owner: &'a str, id: &'a str, version: u32) -> SealContext<'a> {
    SealContext {
        owner,
        entity_type: "runbook",
        entity_id: id,
        field: "definition",
        version: u64::from(version),
    }
}

/// The triggers of runbook versions, by (runbook, version): every incident change asks
/// each runbook of its project whether a trigger matches, which without this would open
/// and parse every definition each time.
pub(crate) type TriggerCache = super::VersionCache<RunbookId, Arc<[Trigger]>>;

/// A new runbook.
#[derive(Clone, Debug)]
pub struct RunbookInput {
    pub identifier: String,
    pub name: String,
    pub definition: serde_json::Value,
}

/// A new definition for a runbook (and perhaps a new name).
#[derive(Clone, Debug)]
pub struct RunbookUpdate {
    pub name: Option<String>,
    pub definition: serde_json::Value,
    /// The version the author edited: another author's newer version answers a
    /// conflict instead of being overwritten.
    pub expected_version: Option<u32>,
}

/// A runbook with one version of its definition, opened and parsed.
#[derive(Clone, Debug)]
pub struct RunbookView {
    pub runbook: Runbook,
    pub version: RunbookVersion,
    /// As its author wrote it (defaults left out).
    pub document: RunbookDoc,
    pub definition: Definition,
}

fn not_found() -> AppError {
    AppError::NotFound { what: "runbook" }
}

fn owner_of(scope: Scope) -> AppResult<String> {
    match scope {
        Scope::Project(..) => key_owner(scope).ok_or_else(not_found),
        _ => Err(AppError::bad_request(
            ErrorCode::InvalidScope,
            "runbooks belong to projects",
        )),
    }
}

/// `value` as a definition: its document (which must deserialize exactly, the path
/// of an error named) and what it means.
fn parse_definition(value: serde_json::Value) -> AppResult<(RunbookDoc, Definition, Vec<u8>)> {
    let document: RunbookDoc = super::author_document(value)?;
    let definition = document.parse()?;
    let stored = serde_json::to_vec(&document)
        .map_err(|error| AppError::Integrity(format!("encoding a definition: {error}")))?;
    if stored.len() > DEFINITION_BYTES_MAX {
        return Err(ValidationError::new(
            "definition",
            format!("a definition is at most {DEFINITION_BYTES_MAX} bytes"),
        )
        .into());
    }
    Ok((document, definition, stored))
}

/// Writes a new version's sealed definition and commits it with its audit record
/// (`action`) in `tx`, which already holds the runbook's row.
async fn commit_version(
    mut tx: WriteTx,
    ctx: &Ctx,
    action: &str,
    view: RunbookView,
    sealed: &[u8],
    now: jiff::Timestamp,
) -> AppResult<RunbookView> {
    let runbook = &view.runbook;
    tx.insert_runbook_version(runbook.id, &view.version, sealed)
        .await?;
    tx.commit(
        ctx.audit(now, action, "runbook")
            .scope(runbook.scope)
            .resource_id(runbook.id)
            .details(json!({
                "identifier": runbook.identifier.as_str(),
                "version": runbook.current_version,
                "steps": view.definition.steps.len(),
                "sensitive": view.definition.sensitive,
            }))
            .build(),
    )
    .await?;
    Ok(view)
}

impl App {
    /// What only some authors may write: a script step needs `runbook:author_scripts`
    /// (it is code a delegate runs inside the customer's network, bounded only by the
    /// sandbox and what the script declares, so writing one is an administrator's call,
    /// as Rundeck keeps ad-hoc commands apart from running jobs); steps using the
    /// project's secrets need `secret:access` (a script could print one); triggers need the incident rights
    /// their steps use, and may choose a role-restricted value only when their author
    /// holds the role (a trigger runs with the values its author chose); the service
    /// account triggers run as must be one its author could grant all it holds.
    async fn check_authoring(
        &self,
        ctx: &Ctx,
        scope: Scope,
        definition: &Definition,
    ) -> AppResult<()> {
        if definition.steps.iter().any(Step::is_script) {
            authorize(
                &ctx.actor,
                &ctx.access,
                Access::Permission(Permission::RunbookAuthorScripts),
                scope,
            )?;
        }
        if !definition.secrets.is_empty() {
            authorize(
                &ctx.actor,
                &ctx.access,
                Access::Permission(Permission::SecretAccess),
                scope,
            )?;
        }
        if !definition.triggers.is_empty() {
            // A trigger runs the steps on incidents with no one asking: its author must
            // be allowed to do to an incident what they do.
            crate::sre::runbook_executions::check_incident_rights(ctx, scope, definition)?;
        }
        for (trigger, index) in definition.triggers.iter().zip(0..) {
            let inputs =
                definition.bind_inputs(&trigger.inputs, &format!("triggers[{index}].inputs"))?;
            self.check_restricted_inputs(ctx, scope, definition, &inputs)
                .await?;
        }
        if let Some(id) = definition.run_as {
            // The service account must be the project's or its organisation's, and its
            // author one who could give it everything it holds: naming it must not
            // lend its author rights they could not grant.
            let (org, project) = match scope {
                Scope::Project(org, project) => (org, project),
                _ => return Err(AppError::Internal("runbooks belong to projects".into())),
            };
            let found = self
                .store()
                .service_account_by_id(id)
                .await?
                .filter(|account| {
                    account.org_id == org && account.project_id.is_none_or(|p| p == project)
                });
            if found.is_none() {
                return Err(AppError::bad_request(
                    ErrorCode::InvalidDefinition,
                    format!(
                        "run_as: there is no service account {id} in this project or its organization"
                    ),
                ));
            }
            self.check_can_act_for(ctx, Grantee::Principal(PrincipalId::ServiceAccount(id)))
                .await?;
        }
        Ok(())
    }

    pub async fn create_runbook(
        &self,
        ctx: &Ctx,
        scope: Scope,
        input: RunbookInput,
    ) -> AppResult<RunbookView> {
        let owner = owner_of(scope)?;
        let identifier = Slug::parse(&input.identifier)?;
        let name = Name::parse(&input.name)?;
        let (document, definition, stored) = parse_definition(input.definition)?;
        self.check_authoring(ctx, scope, &definition).await?;
        let now = self.now();
        let runbook = Runbook {
            id: mint(now, RunbookId::mint)?,
            scope,
            identifier,
            name,
            current_version: 1,
            created_at: now,
            updated_at: now,
        };
        let version = RunbookVersion {
            version: 1,
            created_at: now,
            created_by: ctx.actor.actor_text(),
        };
        let sealed = self
            .seal_value(
                &definition_place(&owner, &runbook.id.to_string(), 1),
                &stored,
            )
            .await?;
        let mut tx = self.store().write().await?;
        tx.insert_runbook(&runbook)
            .await
            .map_err(|error| match error {
                rampart_store::StoreError::Conflict { .. } => AppError::conflict(
                    ErrorCode::IdentifierTaken,
                    "a runbook with this identifier already exists in the project",
                ),
                other => other.into(),
            })?;
        let view = RunbookView {
            runbook,
            version,
            document,
            definition,
        };
        commit_version(tx, ctx, "runbook.create", view, &sealed, now).await
    }

    pub async fn list_runbooks(
        &self,
        scope: Scope,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> AppResult<Page<Runbook>> {
        owner_of(scope)?;
        let page = crate::platform::page_request(limit, cursor)?;
        Ok(self.store().list_runbooks(scope, &page).await?)
    }

    async fn runbook_at(&self, scope: Scope, identifier: &str) -> AppResult<Runbook> {
        let identifier = Slug::parse(identifier).map_err(|_| not_found())?;
        self.store()
            .runbook_by_identifier(scope, &identifier)
            .await?
            .ok_or_else(not_found)
    }

    /// A runbook with its current definition, or version `version`.
    pub async fn runbook(
        &self,
        scope: Scope,
        identifier: &str,
        version: Option<u32>,
    ) -> AppResult<RunbookView> {
        let owner = owner_of(scope)?;
        let runbook = self.runbook_at(scope, identifier).await?;
        let number = version.unwrap_or(runbook.current_version);
        let (version, sealed) = self
            .store()
            .sealed_runbook_definition(runbook.id, number)
            .await?
            .ok_or(AppError::NotFound {
                what: "runbook version",
            })?;
        let opened = self
            .open_sealed(
                &definition_place(&owner, &runbook.id.to_string(), number),
                &sealed,
            )
            .await?;
        let document: RunbookDoc = serde_json::from_slice(&opened).map_err(|_| {
            AppError::Integrity(format!(
                "runbook {} version {number} does not parse",
                runbook.id
            ))
        })?;
        let definition = document.parse().map_err(|_| {
            AppError::Integrity(format!(
                "runbook {} version {number} is not valid",
                runbook.id
            ))
        })?;
        Ok(RunbookView {
            runbook,
            version,
            document,
            definition,
        })
    }

    /// The triggers of `runbook`'s version `current_version` (as listed), from the
    /// cache when it holds them.
    pub(crate) async fn runbook_triggers(
        &self,
        scope: Scope,
        runbook: &Runbook,
    ) -> AppResult<Arc<[Trigger]>> {
        if let Some(triggers) = self
            .inner
            .runbook_triggers
            .get(runbook.id, runbook.current_version)
        {
            return Ok(triggers);
        }
        let view = self
            .runbook(
                scope,
                runbook.identifier.as_str(),
                Some(runbook.current_version),
            )
            .await?;
        let triggers: Arc<[Trigger]> = view.definition.triggers.into();
        self.inner
            .runbook_triggers
            .put(runbook.id, runbook.current_version, Arc::clone(&triggers));
        Ok(triggers)
    }

    /// A runbook and its versions, newest first.
    pub async fn runbook_versions(
        &self,
        scope: Scope,
        identifier: &str,
    ) -> AppResult<(Runbook, Vec<RunbookVersion>)> {
        owner_of(scope)?;
        let runbook = self.runbook_at(scope, identifier).await?;
        let versions = self.store().runbook_versions(runbook.id).await?;
        Ok((runbook, versions))
    }

    /// A new version of a runbook's definition (and perhaps a new name).
    pub async fn update_runbook(
        &self,
        ctx: &Ctx,
        scope: Scope,
        identifier: &str,
        update: RunbookUpdate,
    ) -> AppResult<RunbookView> {
        let owner = owner_of(scope)?;
        let current = self.runbook_at(scope, identifier).await?;
        let name = update
            .name
            .as_deref()
            .map(Name::parse)
            .transpose()?
            .unwrap_or_else(|| current.name.clone());
        let (document, definition, stored) = parse_definition(update.definition)?;
        self.check_authoring(ctx, scope, &definition).await?;
        let stale = |current: u32| {
            AppError::conflict(
                ErrorCode::RunbookVersionStale,
                format!(
                    "runbook {identifier} is at version {current} now: read it again and apply \
                     your change to that version"
                ),
            )
        };
        if update
            .expected_version
            .is_some_and(|expected| expected != current.current_version)
        {
            return Err(stale(current.current_version));
        }
        let now = self.now();
        let number = current.current_version + 1;
        let runbook = Runbook {
            name,
            current_version: number,
            updated_at: now,
            ..current.clone()
        };
        let version = RunbookVersion {
            version: number,
            created_at: now,
            created_by: ctx.actor.actor_text(),
        };
        let sealed = self
            .seal_value(
                &definition_place(&owner, &runbook.id.to_string(), number),
                &stored,
            )
            .await?;
        let mut tx = self.store().write().await?;
        if !tx.update_runbook(&runbook, current.current_version).await? {
            tx.rollback().await?;
            return Err(stale(number));
        }
        let view = RunbookView {
            runbook,
            version,
            document,
            definition,
        };
        commit_version(tx, ctx, "runbook.update", view, &sealed, now).await
    }

    pub async fn delete_runbook(&self, ctx: &Ctx, scope: Scope, identifier: &str) -> AppResult<()> {
        owner_of(scope)?;
        let runbook = self.runbook_at(scope, identifier).await?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        tx.delete_runbook(runbook.id).await?;
        tx.commit(
            ctx.audit(now, "runbook.delete", "runbook")
                .scope(scope)
                .resource_id(runbook.id)
                .details(json!({ "identifier": runbook.identifier.as_str() }))
                .build(),
        )
        .await?;
        Ok(())
    }
}
