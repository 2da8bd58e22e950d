//! Terraform/OpenTofu state: the `http` backend's reads, writes and locks, rollback.
//!
//! Every state body is sealed with the project's key ([`App::seal_value`], AAD: the
//! workspace id, version number, serial and lineage) and every version commits to the
//! one before it (`chain_hash`), so a body, a version row or a link changed behind the
//! server's back is refused on read with `state_integrity_violation` — and audited —
//! instead of being served. Permissions are checked per workspace
//! (`workspace:access_state`, `write_state`, `force_unlock`, `create`), and every write,
//! lock, unlock, read and refusal is audited.

use rampart_domain::ErrorCode;
use rampart_domain::iacm::policy_sets::PolicyEntity;
use rampart_domain::iacm::state_versions::StateVersion;
use rampart_domain::iacm::state_versions::WorkspaceLock;
use rampart_domain::iacm::state_versions::{
    CurrentState, StateError, WriteDecision, decide_write, parse_lock_info, parse_state,
};
use rampart_domain::iacm::workspaces::{Provisioner, Workspace};
use rampart_domain::platform::tenancy::Scope;
use rampart_domain::{Description, Name, Permission, RunId, Slug, WorkspaceId};
use serde_json::json;

use crate::audit::Outcome;
use rampart_store::iacm::state_versions::STATE_BODY;
use rampart_store::sealed::SealedCell;

use super::policy_sets::Subject;
use crate::sealing::{Resealer, SealContext, SealedPlace};
use crate::{App, AppError, AppResult, Ctx, authorize_resource, mint};

/// Attempts at an optimistic state write before giving up (another write to the same
/// workspace won each time).
const WRITE_ATTEMPTS: usize = 3;

/// What the client learns from a lock or unlock request.
#[derive(Clone, Debug, PartialEq)]
pub enum LockOutcome {
    /// Done (locked, already held by the same ID, or unlocked).
    Done,
    /// Someone else holds the lock: their lock info, verbatim (423 on LOCK, 409 on
    /// UNLOCK).
    HeldBy(String),
}

/// A state write's result.
#[derive(Clone, Debug, PartialEq)]
pub enum WriteOutcome {
    /// Stored as this new version.
    Stored(u64),
    /// The same bytes as the newest version: nothing changed.
    Retry(u64),
}

pub(crate) fn workspace_not_found() -> AppError {
    AppError::NotFound { what: "workspace" }
}

fn integrity_violation(workspace: &Workspace, version: u64, what: &str) -> AppError {
    AppError::Corrupt {
        code: ErrorCode::StateIntegrityViolation,
        message: format!(
            "state version {version} of workspace {} failed its integrity check ({what}); \
             it is not served — an operator must restore it",
            workspace.identifier
        ),
    }
}

/// The sealed Terraform state bodies, for the rewrap job.
pub(crate) const SEALED_PLACES: &[SealedPlace] = &[SealedPlace {
    column: STATE_BODY,
    reseal: reseal_state_body,
}];

fn reseal_state_body(
    resealer: &Resealer<'_>,
    owner: &str,
    cell: &SealedCell,
) -> AppResult<Option<Vec<u8>>> {
    let integrity = || AppError::Integrity(format!("state body of {}", cell.id));
    let workspace = cell.id.parse().map_err(|_| integrity())?;
    let serial = cell
        .extra("serial")
        .and_then(|serial| serial.parse().ok())
        .ok_or_else(integrity)?;
    let lineage = cell.extra("lineage").ok_or_else(integrity)?;
    let entity = seal_entity(workspace, serial, lineage);
    resealer.reseal(&state_place(owner, &entity, cell.version), &cell.sealed)
}

/// Where version `version` of a workspace's state is sealed. The serial and lineage
/// are bound through the entity id, so a body moved to another version, serial or
/// lineage does not open.
pub(crate) fn state_place<'a>(owner: &'a str, entity: &'a str, version: u64) -> SealContext<'a> {
    SealContext {
        owner,
        entity_type: "state_version",
        entity_id: entity,
        field: "body",
        version,
    }
}

pub(crate) fn seal_entity(workspace: WorkspaceId, serial: u64, lineage: &str) -> String {
    format!("{workspace}/{serial}/{lineage}")
}

/// The chain link of a version: SHA-256 over a domain tag, the previous link and this
/// version's identifying fields and body hash.
pub fn chain_hash(previous: &[u8; 32], row: &StateVersion) -> [u8; 32] {
    let mut bytes = Vec::with_capacity(256);
    bytes.extend_from_slice(b"rampart/state-chain/v1\0");
    bytes.extend_from_slice(previous);
    for field in [
        row.workspace_id.to_string().as_bytes(),
        &row.version.to_be_bytes(),
        &row.serial.to_be_bytes(),
        row.lineage.as_bytes(),
        &row.sha256,
        &row.size_bytes.to_be_bytes(),
        &row.resource_count.to_be_bytes(),
        row.lock_id.as_deref().unwrap_or("").as_bytes(),
        row.created_by.as_bytes(),
        &row.created_at.as_microsecond().to_be_bytes(),
        row.reason.as_deref().unwrap_or("").as_bytes(),
    ] {
        bytes.extend_from_slice(&(field.len() as u64).to_be_bytes());
        bytes.extend_from_slice(field);
    }
    rampart_crypto::digest::sha256(&bytes)
}

fn owner(workspace: &Workspace) -> String {
    workspace.project_id.to_string()
}

pub(crate) fn scope_of(workspace: &Workspace) -> Scope {
    Scope::Project(workspace.org_id, workspace.project_id)
}

impl App {
    /// Checks `permission` on one workspace; a refusal is audited.
    pub(crate) async fn authorize_workspace(
        &self,
        ctx: &Ctx,
        scope: Scope,
        identifier: &str,
        permission: Permission,
    ) -> AppResult<()> {
        if let Err(denied) =
            authorize_resource(&ctx.actor, &ctx.access, permission, scope, identifier)
        {
            self.store()
                .append_audit(
                    &ctx.audit(self.now(), "access.denied", "workspace")
                        .scope(scope)
                        .resource_id(identifier)
                        .outcome(Outcome::Denied)
                        .details(json!({ "permission": permission.as_str() }))
                        .build(),
                )
                .await?;
            return Err(denied);
        }
        Ok(())
    }

    /// The workspace `identifier` in project `scope`, or `None`.
    pub async fn find_workspace(
        &self,
        scope: Scope,
        identifier: &str,
    ) -> AppResult<Option<Workspace>> {
        let Ok(slug) = Slug::parse(identifier) else {
            return Ok(None);
        };
        Ok(self.store().workspace_by_identifier(scope, &slug).await?)
    }

    /// The backend's view of a workspace: it exists, or the first use creates it when
    /// the caller may create workspaces (otherwise 404, like a workspace that is not
    /// there).
    pub async fn backend_workspace(
        &self,
        ctx: &Ctx,
        scope: Scope,
        identifier: &str,
    ) -> AppResult<Workspace> {
        if let Some(workspace) = self.find_workspace(scope, identifier).await? {
            // A workspace the caller may neither see nor use through the backend is
            // answered like a missing one, before anything else about the request is
            // looked at (one it sees but may not use gets 403 from the operation).
            let usable = [
                Permission::WorkspaceView,
                Permission::WorkspaceAccessState,
                Permission::WorkspaceWriteState,
                Permission::WorkspaceForceUnlock,
            ]
            .into_iter()
            .any(|permission| {
                authorize_resource(&ctx.actor, &ctx.access, permission, scope, identifier).is_ok()
            });
            if !usable {
                return Err(workspace_not_found());
            }
            return Ok(workspace);
        }
        let Scope::Project(org_id, project_id) = scope else {
            return Err(workspace_not_found());
        };
        if authorize_resource(
            &ctx.actor,
            &ctx.access,
            Permission::WorkspaceCreate,
            scope,
            identifier,
        )
        .is_err()
        {
            return Err(workspace_not_found());
        }
        let slug = Slug::parse(identifier).map_err(|_| workspace_not_found())?;
        let now = self.now();
        let workspace = Workspace {
            id: mint(now, WorkspaceId::mint)?,
            org_id,
            project_id,
            name: Name::parse(identifier)?,
            identifier: slug,
            description: Description::parse("")?,
            provisioner: Provisioner::Terraform,
            provisioner_version: String::new(),
            tags: Vec::new(),
            runs: Default::default(),
            drift_integration: None,
            created_at: now,
            updated_at: now,
        };
        // Created on first use, it is checked like one created through the API.
        self.enforce_policies(
            ctx,
            scope,
            &workspace,
            PolicyEntity::Workspace,
            Subject::Document(super::policy_sets::workspace_document(&workspace)),
        )
        .await?;
        let mut tx = self.store().write().await?;
        match tx.insert_workspace(&workspace).await {
            Ok(()) => {}
            // Two first uses raced: the other one created it.
            Err(rampart_store::StoreError::Conflict { .. }) => {
                tx.rollback().await?;
                return self
                    .find_workspace(scope, identifier)
                    .await?
                    .ok_or_else(workspace_not_found);
            }
            Err(other) => return Err(other.into()),
        }
        tx.commit(
            ctx.audit(now, "workspace.create", "workspace")
                .scope(scope)
                .resource_id(workspace.id)
                .details(json!({ "identifier": identifier, "via": "state_backend" }))
                .build(),
        )
        .await?;
        Ok(workspace)
    }

    /// The newest state body (or version `version`), verified: the seal opens and the
    /// chain link holds. Needs `workspace:access_state`; audited.
    pub async fn read_state(
        &self,
        ctx: &Ctx,
        workspace: &Workspace,
        version: Option<u64>,
    ) -> AppResult<Option<(StateVersion, Vec<u8>)>> {
        let scope = scope_of(workspace);
        self.authorize_workspace(
            ctx,
            scope,
            workspace.identifier.as_str(),
            Permission::WorkspaceAccessState,
        )
        .await?;
        let Some((row, sealed, previous)) =
            self.store().state_version(workspace.id, version).await?
        else {
            return Ok(None);
        };
        let verified = self
            .verify_state_version(workspace, &row, &sealed, previous)
            .await;
        let outcome = match &verified {
            Ok(_) => Outcome::Success,
            Err(_) => Outcome::Failure,
        };
        let action = if matches!(verified, Err(AppError::Corrupt { .. })) {
            "state.integrity_violation"
        } else {
            "state.read"
        };
        self.store()
            .append_audit(
                &ctx.audit(self.now(), action, "workspace")
                    .scope(scope)
                    .resource_id(workspace.id)
                    .outcome(outcome)
                    .details(json!({
                        "workspace": workspace.identifier.as_str(),
                        "version": row.version,
                        "serial": row.serial,
                    }))
                    .build(),
            )
            .await?;
        let body = verified?;
        Ok(Some((row, body)))
    }

    /// Opens a version's body and checks its hash and chain link.
    pub(crate) async fn verify_state_version(
        &self,
        workspace: &Workspace,
        row: &StateVersion,
        sealed: &[u8],
        previous: Option<[u8; 32]>,
    ) -> AppResult<Vec<u8>> {
        let expected_link = chain_hash(&previous.unwrap_or([0; 32]), row);
        if row.workspace_id != workspace.id
            || !rampart_crypto::digest::constant_time_eq(&expected_link, &row.chain_hash)
        {
            return Err(integrity_violation(workspace, row.version, "chain link"));
        }
        let owner = owner(workspace);
        let entity = seal_entity(workspace.id, row.serial, &row.lineage);
        let body = match self
            .open_sealed(&state_place(&owner, &entity, row.version), sealed)
            .await
        {
            Ok(body) => body.to_vec(),
            Err(AppError::Integrity(_)) => {
                return Err(integrity_violation(workspace, row.version, "seal"));
            }
            Err(other) => return Err(other),
        };
        if rampart_crypto::digest::sha256(&body) != row.sha256
            || body.len() as u64 != row.size_bytes
        {
            return Err(integrity_violation(workspace, row.version, "body hash"));
        }
        Ok(body)
    }

    /// Stores a state body as a new version, by the serial/lineage rules, when the
    /// caller holds the lock (or nobody does; a run credential writes under its run's
    /// lock without naming it). Needs `workspace:write_state`. A `Content-MD5` the
    /// client sent must match the body.
    pub async fn write_state(
        &self,
        ctx: &Ctx,
        workspace: &Workspace,
        lock_id: Option<&str>,
        body: &[u8],
        content_md5: Option<&str>,
    ) -> AppResult<WriteOutcome> {
        let scope = scope_of(workspace);
        self.authorize_workspace(
            ctx,
            scope,
            workspace.identifier.as_str(),
            Permission::WorkspaceWriteState,
        )
        .await?;
        let limit = self.settings().state_size_bytes_max;
        if body.len() > limit {
            return Err(AppError::TooLarge {
                code: ErrorCode::StateTooLarge,
                message: format!("a state body holds at most {limit} bytes"),
            });
        }
        if let Some(md5) = content_md5
            && !rampart_crypto::digest::content_md5_matches(body, md5)
        {
            return Err(AppError::bad_request(
                ErrorCode::ContentMd5Mismatch,
                "the Content-MD5 header does not match the body",
            ));
        }
        let header = parse_state(body).map_err(state_error)?;
        self.enforce_policies(
            ctx,
            scope,
            workspace,
            PolicyEntity::State,
            Subject::StateJson(std::sync::Arc::new(body.to_vec())),
        )
        .await?;
        // A run credential writes under its run's lock (whose ID is the run's): the
        // client need not repeat it on the address.
        let run_lock = ctx
            .actor
            .run_credential
            .as_ref()
            .map(|credential| credential.run_id.to_string());
        self.append_state_version(
            ctx,
            workspace,
            Append::Client {
                lock_id: lock_id.or(run_lock.as_deref()),
                body,
                header,
            },
        )
        .await
    }

    /// Rolls forward to an old version: its content becomes the newest version, with
    /// the serial raised above the current one (so a client still holding the newer
    /// state cannot silently overwrite the rollback) and the reason recorded. Needs
    /// `workspace:rollback_state`; refused while the workspace is locked.
    pub async fn rollback_state(
        &self,
        ctx: &Ctx,
        workspace: &Workspace,
        version: u64,
        reason: &str,
    ) -> AppResult<u64> {
        let scope = scope_of(workspace);
        self.authorize_workspace(
            ctx,
            scope,
            workspace.identifier.as_str(),
            Permission::WorkspaceRollbackState,
        )
        .await?;
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > 1024 {
            return Err(AppError::bad_request(
                ErrorCode::InvalidReason,
                "a rollback needs a reason of 1 to 1024 characters",
            ));
        }
        let (_, old) = self
            .read_state(ctx, workspace, Some(version))
            .await?
            .ok_or(AppError::NotFound {
                what: "state version",
            })?;
        let outcome = self
            .append_state_version(
                ctx,
                workspace,
                Append::Rollback {
                    from_version: version,
                    old_body: &old,
                    reason,
                },
            )
            .await?;
        match outcome {
            WriteOutcome::Stored(version) | WriteOutcome::Retry(version) => Ok(version),
        }
    }

    /// The one way a state version is added: seal for the next version number outside
    /// the transaction, then inside it (under the workspace's lock) check the lock, that
    /// nobody wrote in between, and the write rules; insert with its chain link; commit
    /// with the audit event.
    async fn append_state_version(
        &self,
        ctx: &Ctx,
        workspace: &Workspace,
        append: Append<'_>,
    ) -> AppResult<WriteOutcome> {
        let scope = scope_of(workspace);
        let owner = owner(workspace);
        for _ in 0..WRITE_ATTEMPTS {
            let latest = self.latest_state(workspace.id).await?;
            let version = latest.as_ref().map_or(1, |row| row.version + 1);
            let (body, header) = match &append {
                Append::Client { body, header, .. } => (body.to_vec(), header.clone()),
                Append::Rollback { old_body, .. } => {
                    let serial = latest.as_ref().map_or(1, |row| row.serial + 1);
                    let body = with_serial(old_body, serial)?;
                    let header = parse_state(&body).map_err(state_error)?;
                    (body, header)
                }
            };
            let sha256 = rampart_crypto::digest::sha256(&body);
            let entity = seal_entity(workspace.id, header.serial, &header.lineage);
            // Sealing may create the project's key ring in a write of its own, so it
            // happens before the transaction, for the version number seen now.
            let sealed = self
                .seal_value(&state_place(&owner, &entity, version), &body)
                .await?;
            let mut tx = self.store().write().await?;
            tx.lock_workspace(workspace.id).await?;
            let held = tx.held_workspace_lock(workspace.id).await?;
            if let Some(refusal) = lock_refusal(&append, held.as_ref()) {
                tx.rollback().await?;
                return Err(refusal);
            }
            if workspace.runs.governed
                && let Append::Client { lock_id, .. } = &append
            {
                // Only the apply of a run, with the credential the run's start handed
                // out (bound to this run and workspace), under the run's lock.
                let applying = tx.applying_run(workspace.id).await?;
                let by_the_run = applying.is_some_and(|run| {
                    let run_text = run.to_string();
                    ctx.actor.run_credential.as_ref().is_some_and(|credential| {
                        credential.run_id == run && credential.workspace_id == workspace.id
                    }) && *lock_id == Some(run_text.as_str())
                        && held.as_ref().is_some_and(|held| {
                            held.lock_id == run_text && held.locked_by == ctx.actor.actor_text()
                        })
                });
                if !by_the_run {
                    tx.rollback().await?;
                    return Err(self.governed_refusal(ctx, workspace, "state.write").await?);
                }
            }
            let current = tx.latest_state_version(workspace.id).await?;
            if current.as_ref().map(|row| row.version) != latest.as_ref().map(|row| row.version) {
                tx.rollback().await?;
                continue;
            }
            if let Append::Client { .. } = append {
                let current_state = current.as_ref().map(|row| CurrentState {
                    serial: row.serial,
                    lineage: row.lineage.clone(),
                    resource_count: row.resource_count,
                    sha256: row.sha256,
                });
                match decide_write(current_state.as_ref(), &header, &sha256) {
                    WriteDecision::Retry => {
                        tx.rollback().await?;
                        return Ok(WriteOutcome::Retry(version - 1));
                    }
                    WriteDecision::Conflict(message) => {
                        tx.rollback().await?;
                        return Err(AppError::conflict(ErrorCode::StateConflict, message));
                    }
                    WriteDecision::NewVersion => {}
                }
            }
            let now = self.now();
            let (lock_id, reason, action) = match &append {
                Append::Client { lock_id, .. } => (lock_id.map(str::to_owned), None, "state.write"),
                Append::Rollback {
                    from_version,
                    reason,
                    ..
                } => (
                    None,
                    Some(format!("rollback to version {from_version}: {reason}")),
                    "state.rollback",
                ),
            };
            let mut row = StateVersion {
                workspace_id: workspace.id,
                version,
                serial: header.serial,
                lineage: header.lineage.clone(),
                sha256,
                size_bytes: body.len() as u64,
                resource_count: header.resource_count,
                lock_id,
                created_by: ctx.actor.actor_text(),
                created_at: now,
                reason: reason.clone(),
                chain_hash: [0; 32],
            };
            row.chain_hash = chain_hash(
                &current
                    .as_ref()
                    .map_or([0; 32], |previous| previous.chain_hash),
                &row,
            );
            tx.insert_state_version(&row, &sealed).await?;
            tx.commit(
                ctx.audit(now, action, "workspace")
                    .scope(scope)
                    .resource_id(workspace.id)
                    .details(json!({
                        "workspace": workspace.identifier.as_str(),
                        "version": version,
                        "serial": header.serial,
                        "lineage": header.lineage,
                        "sha256": rampart_crypto::digest::hex(&sha256),
                        "size_bytes": body.len(),
                        "reason": reason,
                    }))
                    .build(),
            )
            .await?;
            return Ok(WriteOutcome::Stored(version));
        }
        Err(AppError::conflict(
            ErrorCode::ConcurrentUpdate,
            "other writes to this workspace kept winning; retry",
        ))
    }

    async fn latest_state(&self, workspace: WorkspaceId) -> AppResult<Option<StateVersion>> {
        let page = rampart_store::PageRequest {
            after: None,
            limit: 1,
        };
        Ok(self
            .store()
            .state_versions(workspace, &page)
            .await?
            .items
            .into_iter()
            .next())
    }

    /// The refusal of a direct change to a governed workspace, audited as denied.
    async fn governed_refusal(
        &self,
        ctx: &Ctx,
        workspace: &Workspace,
        action: &str,
    ) -> AppResult<AppError> {
        self.store()
            .append_audit(
                &ctx.audit(self.now(), action, "workspace")
                    .scope(scope_of(workspace))
                    .resource_id(workspace.id)
                    .outcome(crate::audit::Outcome::Denied)
                    .details(json!({
                        "workspace": workspace.identifier.as_str(),
                        "reason": "governed",
                    }))
                    .build(),
            )
            .await?;
        Ok(AppError::forbidden(
            ErrorCode::WorkspaceGoverned,
            format!(
                "the workspace {} is governed: its state changes only through reviewed \
                 runs. Plan and apply with `rampart tf apply` (or turn `governed` off in \
                 the workspace's run settings)",
                workspace.identifier
            ),
        ))
    }

    /// Takes the lock with the client's lock info (stored verbatim). Needs
    /// `workspace:write_state`.
    pub async fn lock_state(
        &self,
        ctx: &Ctx,
        workspace: &Workspace,
        info: &[u8],
    ) -> AppResult<LockOutcome> {
        let scope = scope_of(workspace);
        self.authorize_workspace(
            ctx,
            scope,
            workspace.identifier.as_str(),
            Permission::WorkspaceWriteState,
        )
        .await?;
        refuse_run_credential(ctx)?;
        let request = parse_lock(info)?;
        // A governed workspace's state changes only through runs, whose applies hold
        // the lock already: a lock for anything but a plan is a direct change on its way.
        if workspace.runs.governed && request.operation != "OperationTypePlan" {
            return Err(self.governed_refusal(ctx, workspace, "state.lock").await?);
        }
        let info = String::from_utf8(info.to_vec()).map_err(|_| {
            AppError::bad_request(ErrorCode::InvalidLock, "the lock info is not UTF-8")
        })?;
        let mut tx = self.store().write().await?;
        tx.lock_workspace(workspace.id).await?;
        if let Some(held) = tx.held_workspace_lock(workspace.id).await? {
            tx.rollback().await?;
            return Ok(if held.lock_id == request.id {
                LockOutcome::Done
            } else {
                LockOutcome::HeldBy(held.info)
            });
        }
        let now = self.now();
        tx.insert_workspace_lock(
            workspace.id,
            &WorkspaceLock {
                lock_id: request.id.clone(),
                info,
                operation: request.operation.clone(),
                locked_by: ctx.actor.actor_text(),
                locked_at: now,
            },
        )
        .await?;
        tx.commit(
            ctx.audit(now, "state.lock", "workspace")
                .scope(scope)
                .resource_id(workspace.id)
                .details(json!({
                    "workspace": workspace.identifier.as_str(),
                    "lock_id": request.id,
                    "operation": request.operation,
                    "who": request.who,
                }))
                .build(),
        )
        .await?;
        Ok(LockOutcome::Done)
    }

    /// Releases the lock. With lock info, its ID must match the held lock (needs
    /// `workspace:write_state`); with an empty body it is a force-unlock (needs
    /// `workspace:force_unlock`). Unlocking a free workspace succeeds.
    pub async fn unlock_state(
        &self,
        ctx: &Ctx,
        workspace: &Workspace,
        info: &[u8],
    ) -> AppResult<LockOutcome> {
        let scope = scope_of(workspace);
        let force = info.iter().all(u8::is_ascii_whitespace);
        let permission = if force {
            Permission::WorkspaceForceUnlock
        } else {
            Permission::WorkspaceWriteState
        };
        self.authorize_workspace(ctx, scope, workspace.identifier.as_str(), permission)
            .await?;
        refuse_run_credential(ctx)?;
        let request = if force { None } else { Some(parse_lock(info)?) };
        let mut tx = self.store().write().await?;
        tx.lock_workspace(workspace.id).await?;
        let Some(held) = tx.held_workspace_lock(workspace.id).await? else {
            tx.rollback().await?;
            return Ok(LockOutcome::Done);
        };
        if let Some(request) = &request
            && request.id != held.lock_id
        {
            tx.rollback().await?;
            return Ok(LockOutcome::HeldBy(held.info));
        }
        tx.delete_workspace_lock(workspace.id).await?;
        let now = self.now();
        // The lock of a run's apply (its ID is the run's): the apply is over for the
        // backend, and so is its credential.
        if let Some(run) = rampart_domain::parse_uuid(&held.lock_id).map(RunId::from_uuid) {
            tx.revoke_run_credentials(run, now).await?;
        }
        tx.commit(
            ctx.audit(
                now,
                if force {
                    "state.force_unlock"
                } else {
                    "state.unlock"
                },
                "workspace",
            )
            .scope(scope)
            .resource_id(workspace.id)
            .details(json!({
                "workspace": workspace.identifier.as_str(),
                "lock_id": held.lock_id,
                "held_by": held.locked_by,
            }))
            .build(),
        )
        .await?;
        Ok(LockOutcome::Done)
    }
}

/// How a version comes to be added.
enum Append<'a> {
    /// A client's write (the backend), by the write rules, with the lock it holds.
    Client {
        lock_id: Option<&'a str>,
        body: &'a [u8],
        header: rampart_domain::iacm::state_versions::StateHeader,
    },
    /// A rollback: an old version's content rolled forward.
    Rollback {
        from_version: u64,
        old_body: &'a [u8],
        reason: &'a str,
    },
}

/// Whether the held lock refuses this append: a client must hold it (or nobody does);
/// a rollback waits until nobody does.
/// A run credential neither takes nor releases locks: its run holds the workspace's
/// lock from the apply's start and gives it back when the run finishes.
fn refuse_run_credential(ctx: &Ctx) -> AppResult<()> {
    match &ctx.actor.run_credential {
        Some(credential) => Err(AppError::forbidden(
            ErrorCode::TokenNarrowed,
            format!(
                "this is the credential of run {}: its run holds the workspace's lock and \
                 releases it when the run finishes; the credential takes and releases none",
                credential.run_id
            ),
        )),
        None => Ok(()),
    }
}

fn lock_refusal(append: &Append<'_>, held: Option<&WorkspaceLock>) -> Option<AppError> {
    let held = held?;
    match append {
        Append::Client { lock_id, .. } => match lock_id {
            Some(id) if *id == held.lock_id => None,
            Some(_) => Some(AppError::Locked {
                code: ErrorCode::StateLocked,
                message: format!(
                    "the workspace is locked by another lock ({}, held by {})",
                    held.lock_id, held.locked_by
                ),
            }),
            None => Some(AppError::conflict(
                ErrorCode::StateLocked,
                format!(
                    "the workspace is locked ({}, held by {}); write with its lock ID",
                    held.lock_id, held.locked_by
                ),
            )),
        },
        Append::Rollback { .. } => Some(AppError::Locked {
            code: ErrorCode::WorkspaceLocked,
            message: format!(
                "the workspace is locked ({}, held by {}); roll back when it is free",
                held.lock_id, held.locked_by
            ),
        }),
    }
}

fn state_error(error: StateError) -> AppError {
    let code = match error {
        StateError::Empty => ErrorCode::StateEmpty,
        StateError::NotJson(_) => ErrorCode::StateNotJson,
        StateError::UnsupportedVersion(_) => ErrorCode::StateVersionUnsupported,
        StateError::NoLineage | StateError::Shape(_) => ErrorCode::StateInvalid,
    };
    AppError::bad_request(code, error.to_string())
}

/// The same state with `serial` replaced, formatted as Terraform writes state (two-space
/// indentation).
fn with_serial(body: &[u8], serial: u64) -> AppResult<Vec<u8>> {
    let mut state: serde_json::Value = serde_json::from_slice(body)
        .map_err(|_| AppError::Integrity("a stored state is not JSON".into()))?;
    if let Some(object) = state.as_object_mut() {
        object.insert("serial".into(), serial.into());
    }
    let mut out =
        serde_json::to_vec_pretty(&state).map_err(|error| AppError::Internal(error.to_string()))?;
    out.push(b'\n');
    Ok(out)
}

fn parse_lock(info: &[u8]) -> AppResult<rampart_domain::iacm::state_versions::LockRequest> {
    if info.len() > rampart_domain::limits::STATE_LOCK_INFO_BYTES_MAX {
        return Err(AppError::TooLarge {
            code: ErrorCode::LockInfoTooLarge,
            message: format!(
                "lock info holds at most {} bytes",
                rampart_domain::limits::STATE_LOCK_INFO_BYTES_MAX
            ),
        });
    }
    parse_lock_info(info).map_err(|message| AppError::bad_request(ErrorCode::InvalidLock, message))
}
