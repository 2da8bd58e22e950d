//! Delegates and their tasks: an admin creates a delegate in a project (a one-time
//! registration token, `delegate:create`); the agent exchanges it for its own `rmp_dlg_`
//! credential and the task-signing public key it pins; then it long-polls for tasks,
//! each handed out once (a conditional claim, whatever the number of replicas) in an
//! envelope signed with the installation's Ed25519 task-signing key, and reports how
//! each ended. A failed attempt is retried with the kind's backoff until its attempts or
//! its lifetime run out. Revoking a delegate refuses its next request and puts its
//! running tasks back in the queue. Credentials are kept as blind indexes; task
//! arguments and results are sealed with the project's key.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use rampart_crypto::task_signature::{SignedTask, TaskEnvelope, TaskSigningKey};
use rampart_domain::platform::delegates::{
    Delegate, DelegateStatus, DelegateTask, SANDBOX_DESCRIPTION_MAX, Tags, TaskKind, TaskStatus,
};
use rampart_domain::platform::identity::TokenKind;
use rampart_domain::platform::tenancy::Scope;
use rampart_domain::{DelegateId, DelegateTaskId, ErrorCode, ProjectId, Slug, ValidationError};
use rampart_store::Page;
use rampart_store::platform::delegates::{CLAIM_CANDIDATES, TASK_ARGUMENTS, TASK_RESULT, TaskEnd};
use rampart_store::sealed::SealedCell;
use serde_json::json;
use zeroize::Zeroizing;

use crate::audit::anonymous;
use crate::sealing::{Resealer, SealContext, SealedPlace, key_owner};
use crate::{App, AppError, AppResult, Ctx, RequestMeta, mint};

/// Blind-index domains: a registration token never matches as a credential.
const REGISTRATION_DOMAIN: &str = "delegate-registration";
const CREDENTIAL_DOMAIN: &str = "delegate-credential";
/// How long a registration token may be exchanged.
pub const REGISTRATION_LIFETIME: SignedDuration = SignedDuration::from_hours(24);
/// The longest a delegate's poll waits for a task.
pub const POLL_WAIT_MAX: Duration = Duration::from_secs(30);
/// How often a waiting poll looks at the database for tasks queued through another
/// replica (tasks queued through this one wake it at once).
const POLL_RECHECK: Duration = Duration::from_millis(500);
/// Output a delegate may report for one attempt.
pub const RESULT_BYTES_MAX: usize = 64 * 1024;
/// Pages of claim candidates one poll looks through before it waits again.
const CLAIM_PAGES: usize = 8;
/// Characters a ping's echo may have.
const PING_ECHO_CHARS_MAX: usize = 1024;

pub(crate) const TASK_KEY_SECRET: &str = "delegate_task_signing_key";
pub(crate) const TASK_KEY_PURPOSE: &str = "rampart/delegate-task-signing-key/v1";

/// The sealed arguments and results of tasks, for the rewrap job.
pub(crate) const SEALED_PLACES: &[SealedPlace] = &[
    SealedPlace {
        column: TASK_ARGUMENTS,
        reseal: reseal_arguments,
    },
    SealedPlace {
        column: TASK_RESULT,
        reseal: reseal_result,
    },
];

fn reseal_arguments(
    resealer: &Resealer<'_>,
    owner: &str,
    cell: &SealedCell,
) -> AppResult<Option<Vec<u8>>> {
    resealer.reseal(&task_place(owner, &cell.id, "arguments"), &cell.sealed)
}

fn reseal_result(
    resealer: &Resealer<'_>,
    owner: &str,
    cell: &SealedCell,
) -> AppResult<Option<Vec<u8>>> {
    resealer.reseal(&task_place(owner, &cell.id, "result"), &cell.sealed)
}

/// Where a task's result is sealed.
pub(crate) fn task_result_place<'a>(owner: &'a str, id: &'a str) -> SealContext<'a> {
    task_place(owner, id, "result")
}

fn task_place<'a>(owner: &'a str, id: &'a str, field: &'static str) -> SealContext<'a> {
    SealContext {
        owner,
        entity_type: "delegate_task",
        entity_id: id,
        field,
        version: 0,
    }
}

/// A new delegate.
#[derive(Clone, Debug, Default)]
pub struct DelegateInput {
    pub name: String,
    pub tags: Vec<String>,
}

/// What registering hands the agent: its identity, its credential (shown once) and the
/// key every task it runs must be signed with.
pub struct Registration {
    pub delegate: Delegate,
    /// The delegate's project, `org/project`.
    pub project: String,
    pub credential: Zeroizing<String>,
    /// Hex Ed25519 public key.
    pub task_signing_public_key: String,
}

/// A task handed to a delegate: the envelope signed for it and the arguments it covers
/// (exactly the bytes whose digest was signed).
pub struct ClaimedTask {
    pub task: DelegateTask,
    pub signed: SignedTask,
    pub arguments: Zeroizing<String>,
}

/// A task as its project's members read it (the result opened).
pub struct TaskView {
    pub task: DelegateTask,
    pub result: Option<String>,
}

/// How a delegate says an attempt ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskOutcome {
    Succeeded,
    /// Failed; retried after the kind's backoff while attempts and lifetime remain.
    Failed,
    /// Failed in a way another attempt cannot mend (the delegate may not reach the
    /// destination, the receiver refused the request): not retried.
    FailedPermanently,
    /// The envelope did not pass the delegate's checks (`error_code` says which).
    Refused,
}

/// The agent calling, authenticated by its credential.
#[derive(Clone, Debug)]
pub struct DelegateCaller {
    pub delegate: Delegate,
    pub meta: RequestMeta,
}

fn project_of(scope: Scope) -> AppResult<ProjectId> {
    scope
        .project_id()
        .ok_or(AppError::NotFound { what: "project" })
}

fn missing_delegate() -> AppError {
    AppError::NotFound { what: "delegate" }
}

fn parse_name(name: &str) -> AppResult<Slug> {
    Slug::parse(name).map_err(|error| error.for_field("name").into())
}

impl App {
    /// Creates a delegate of the project at `scope`, pending until the agent registers
    /// with the returned one-time token.
    pub async fn create_delegate(
        &self,
        ctx: &Ctx,
        scope: Scope,
        input: DelegateInput,
    ) -> AppResult<(Delegate, Zeroizing<String>)> {
        let project = project_of(scope)?;
        let name = parse_name(&input.name)?;
        let tags = Tags::parse(&input.tags)?;
        let now = self.now();
        let token = rampart_crypto::token::mint(TokenKind::Delegate)?;
        let hmac = self
            .pepper()
            .blind_index(REGISTRATION_DOMAIN, token.expose().as_bytes());
        let delegate = Delegate {
            id: mint(now, DelegateId::mint)?,
            project_id: project,
            name,
            tags,
            status: DelegateStatus::Pending,
            registration_expires_at: Some(now + REGISTRATION_LIFETIME),
            version: None,
            last_heartbeat_at: None,
            last_ip: None,
            created_by: ctx.actor.actor_text(),
            created_at: now,
            registered_at: None,
            revoked_at: None,
            sandbox: None,
        };
        let mut tx = self.store().write().await?;
        if let Err(error) = tx.insert_delegate(&delegate, &hmac).await {
            return Err(if error.is_unique_violation() {
                AppError::conflict(
                    ErrorCode::IdentifierTaken,
                    "the project has a delegate of that name",
                )
            } else {
                error.into()
            });
        }
        tx.commit(
            ctx.audit(now, "delegate.create", "delegate")
                .scope(scope)
                .resource_id(delegate.id)
                .details(json!({
                    "name": delegate.name.as_str(),
                    "tags": delegate.tags.to_strings(),
                }))
                .build(),
        )
        .await?;
        Ok((delegate, Zeroizing::new(token.expose().to_owned())))
    }

    pub async fn delegates(
        &self,
        _ctx: &Ctx,
        scope: Scope,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> AppResult<Page<Delegate>> {
        let page = crate::platform::page_request(limit, cursor)?;
        Ok(self.store().delegates(project_of(scope)?, &page).await?)
    }

    pub async fn delegate(&self, _ctx: &Ctx, scope: Scope, name: &str) -> AppResult<Delegate> {
        let name = Slug::parse(name).map_err(|_| missing_delegate())?;
        self.store()
            .delegate_by_name(project_of(scope)?, &name)
            .await?
            .ok_or_else(missing_delegate)
    }

    /// Revokes a delegate: its next request is refused, its running tasks are queued
    /// again for others.
    pub async fn revoke_delegate(
        &self,
        ctx: &Ctx,
        scope: Scope,
        name: &str,
    ) -> AppResult<Delegate> {
        let delegate = self.delegate(ctx, scope, name).await?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        if !tx.revoke_delegate(delegate.id, now).await? {
            tx.rollback().await?;
            return Ok(delegate);
        }
        tx.commit(
            ctx.audit(now, "delegate.revoke", "delegate")
                .scope(scope)
                .resource_id(delegate.id)
                .details(json!({ "name": delegate.name.as_str() }))
                .build(),
        )
        .await?;
        self.wake_delegates();
        self.delegate(ctx, scope, name).await
    }

    /// Deletes a delegate (revoking it); its tasks' history stays.
    pub async fn delete_delegate(&self, ctx: &Ctx, scope: Scope, name: &str) -> AppResult<()> {
        let delegate = self.delegate(ctx, scope, name).await?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        if !tx.delete_delegate(delegate.id, now).await? {
            tx.rollback().await?;
            return Err(missing_delegate());
        }
        tx.commit(
            ctx.audit(now, "delegate.delete", "delegate")
                .scope(scope)
                .resource_id(delegate.id)
                .details(json!({ "name": delegate.name.as_str() }))
                .build(),
        )
        .await?;
        self.wake_delegates();
        Ok(())
    }

    /// Queues a connectivity check for one delegate: it answers with its version, how
    /// it runs scripts and `echo`. Returns the task to follow.
    pub async fn ping_delegate(
        &self,
        ctx: &Ctx,
        scope: Scope,
        name: &str,
        echo: Option<&str>,
    ) -> AppResult<DelegateTask> {
        if echo.is_some_and(|echo| echo.chars().count() > PING_ECHO_CHARS_MAX) {
            return Err(AppError::bad_request(
                ErrorCode::InvalidEcho,
                format!("echo must be at most {PING_ECHO_CHARS_MAX} characters"),
            ));
        }
        let delegate = self.delegate(ctx, scope, name).await?;
        if delegate.status != DelegateStatus::Active {
            return Err(AppError::conflict(
                ErrorCode::DelegateNotActive,
                format!(
                    "delegate {} is {}: only a registered, unrevoked delegate can be checked",
                    delegate.name,
                    delegate.status.as_str()
                ),
            ));
        }
        let now = self.now();
        let owner = key_owner(scope).ok_or(AppError::NotFound { what: "project" })?;
        let sealer = self.sealer(&owner).await?;
        let mut tx = self.store().write().await?;
        let task = queue_task(
            &sealer,
            NewTask {
                project: delegate.project_id,
                kind: TaskKind::Ping,
                selector: Tags::default(),
                target: Some(delegate.id),
                arguments: json!({ "echo": echo }).to_string(),
                subject: None,
            },
            now,
        )?;
        tx.insert_delegate_task(&task).await?;
        tx.commit(
            ctx.audit(now, "delegate.ping", "delegate")
                .scope(scope)
                .resource_id(delegate.id)
                .details(json!({ "task": task.id.to_string() }))
                .build(),
        )
        .await?;
        self.wake_delegates();
        Ok(task)
    }

    /// A project's tasks, newest first.
    pub async fn delegate_tasks(
        &self,
        _ctx: &Ctx,
        scope: Scope,
        status: Option<&str>,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> AppResult<Page<DelegateTask>> {
        let page = crate::platform::page_request(limit, cursor)?;
        let status = status.map(TaskStatus::parse).transpose()?;
        Ok(self
            .store()
            .delegate_tasks(project_of(scope)?, status, &page)
            .await?)
    }

    /// A token that changes whenever task `id`'s page would (its status, attempts and
    /// last change); nothing is opened.
    pub async fn delegate_task_watermark(&self, scope: Scope, id: &str) -> AppResult<String> {
        let missing = || AppError::NotFound { what: "task" };
        let id: DelegateTaskId = id.parse().map_err(|_| missing())?;
        let task = self
            .store()
            .delegate_task(project_of(scope)?, id)
            .await?
            .ok_or_else(missing)?;
        Ok(format!(
            "{}.{}.{}",
            task.status.as_str(),
            task.attempts,
            task.updated_at.as_microsecond()
        ))
    }

    /// One task of a project, with what its delegate reported.
    pub async fn delegate_task(&self, _ctx: &Ctx, scope: Scope, id: &str) -> AppResult<TaskView> {
        let missing = || AppError::NotFound { what: "task" };
        let id: DelegateTaskId = id.parse().map_err(|_| missing())?;
        let task = self
            .store()
            .delegate_task(project_of(scope)?, id)
            .await?
            .ok_or_else(missing)?;
        let result = match &task.result_sealed {
            Some(sealed) => {
                let owner = task.project_id.to_string();
                let id = task.id.to_string();
                Some(
                    self.opener(&owner)
                        .await?
                        .open_text(&task_place(&owner, &id, "result"), sealed)?,
                )
            }
            None => None,
        };
        Ok(TaskView { task, result })
    }

    // ---- the agent's side ----

    /// Exchanges a registration token for the delegate's credential. The token works
    /// once, and only until it expires.
    pub async fn register_delegate(
        &self,
        meta: &RequestMeta,
        registration_token: &str,
        version: &str,
    ) -> AppResult<Registration> {
        let refused = || {
            AppError::unauthenticated(
                ErrorCode::RegistrationInvalid,
                "the registration token is not known, was used already or has expired: \
                 create the delegate again",
            )
        };
        let parsed = rampart_crypto::token::parse(registration_token).map_err(|_| refused())?;
        if parsed.kind != TokenKind::Delegate {
            return Err(refused());
        }
        check_version(version)?;
        let hmac = self
            .pepper()
            .blind_index(REGISTRATION_DOMAIN, parsed.secret.expose().as_bytes());
        let now = self.now();
        let delegate = self
            .store()
            .delegate_by_registration(&hmac)
            .await?
            .filter(|delegate| {
                delegate.status == DelegateStatus::Pending
                    && delegate
                        .registration_expires_at
                        .is_some_and(|until| until >= now)
            })
            .ok_or_else(refused)?;
        let credential = rampart_crypto::token::mint(TokenKind::Delegate)?;
        let credential_hmac = self
            .pepper()
            .blind_index(CREDENTIAL_DOMAIN, credential.expose().as_bytes());
        let (scope, project) = self.project_named(delegate.project_id).await?;
        let mut tx = self.store().write().await?;
        if !tx
            .register_delegate(delegate.id, &credential_hmac, version, &meta.client_ip, now)
            .await?
        {
            tx.rollback().await?;
            return Err(refused());
        }
        tx.commit(
            anonymous(now, meta, "delegate.register", "delegate", "delegate")
                .actor(format!("delegate:{}", delegate.id))
                .scope(scope)
                .resource_id(delegate.id)
                .details(json!({ "name": delegate.name.as_str(), "version": version }))
                .build(),
        )
        .await?;
        let delegate = Delegate {
            status: DelegateStatus::Active,
            version: Some(version.to_owned()),
            registration_expires_at: None,
            registered_at: Some(now),
            last_heartbeat_at: Some(now),
            last_ip: Some(meta.client_ip.clone()),
            ..delegate
        };
        Ok(Registration {
            delegate,
            project,
            credential: Zeroizing::new(credential.expose().to_owned()),
            task_signing_public_key: rampart_crypto::digest::hex(&self.inner.task_key.public_key()),
        })
    }

    /// The delegate presenting `authorization` (`Bearer rmp_dlg_…`), which must be
    /// active; records the request as its heartbeat.
    pub async fn authenticate_delegate(
        &self,
        meta: &RequestMeta,
        authorization: Option<&str>,
        version: Option<&str>,
        sandbox: Option<&str>,
    ) -> AppResult<DelegateCaller> {
        let token = authorization
            .and_then(crate::credentials::bearer)
            .ok_or_else(|| {
                AppError::unauthenticated(
                    ErrorCode::AuthenticationRequired,
                    "delegate routes need the delegate's credential (Authorization: Bearer rmp_dlg_…)",
                )
            })?;
        let parsed = rampart_crypto::token::parse(token).map_err(|_| {
            AppError::unauthenticated(ErrorCode::TokenMalformed, "the credential is malformed")
        })?;
        if parsed.kind != TokenKind::Delegate {
            return Err(AppError::unauthenticated(
                ErrorCode::TokenKindNotAccepted,
                "delegate routes accept only a delegate's credential (rmp_dlg_…)",
            ));
        }
        if let Some(version) = version {
            check_version(version)?;
        }
        if let Some(sandbox) = sandbox {
            check_sandbox(sandbox)?;
        }
        let hmac = self
            .pepper()
            .blind_index(CREDENTIAL_DOMAIN, parsed.secret.expose().as_bytes());
        let delegate = self
            .store()
            .delegate_by_credential(&hmac)
            .await?
            .ok_or_else(|| {
                AppError::unauthenticated(ErrorCode::TokenInvalid, "the credential is not known")
            })?;
        if delegate.status != DelegateStatus::Active {
            return Err(AppError::unauthenticated(
                ErrorCode::DelegateRevoked,
                format!(
                    "delegate {} was revoked: register a new delegate",
                    delegate.name
                ),
            ));
        }
        let now = self.now();
        self.store()
            .touch_delegate(delegate.id, version, sandbox, &meta.client_ip, now)
            .await?;
        Ok(DelegateCaller {
            delegate,
            meta: meta.clone(),
        })
    }

    /// The next task for `caller`, waiting up to `wait` for one to be queued. Every
    /// task handed out is claimed in the database first, so no other delegate (through
    /// any replica) gets it while the claim's lease lasts.
    pub async fn next_delegate_task(
        &self,
        caller: &DelegateCaller,
        wait: Duration,
    ) -> AppResult<Option<ClaimedTask>> {
        let wait = wait.min(POLL_WAIT_MAX);
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            // Registered before looking, so a task queued while we look still wakes us.
            let woken = self.inner.delegate_wakeup.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            if let Some(task) = self.claim_next(caller).await? {
                return Ok(Some(task));
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            let nap = (deadline - now).min(POLL_RECHECK);
            let _ = tokio::time::timeout(nap, woken).await;
        }
    }

    async fn claim_next(&self, caller: &DelegateCaller) -> AppResult<Option<ClaimedTask>> {
        let delegate = &caller.delegate;
        let now = self.now();
        let mut after = None;
        for _ in 0..CLAIM_PAGES {
            let page = self
                .store()
                .claimable_tasks(delegate.project_id, delegate.id, now, after)
                .await?;
            let last_page = (page.len() as i64) < CLAIM_CANDIDATES;
            after = page.last().map(|task| (task.not_before, task.id));
            if let Some(claimed) = self.claim_first_of(caller, page, now).await? {
                return Ok(Some(claimed));
            }
            if last_page {
                break;
            }
        }
        Ok(None)
    }

    /// Claims the first task of `candidates` that `caller` may run and that nobody
    /// took meanwhile (failing on the way those whose time or attempts ran out).
    async fn claim_first_of(
        &self,
        caller: &DelegateCaller,
        candidates: Vec<DelegateTask>,
        now: Timestamp,
    ) -> AppResult<Option<ClaimedTask>> {
        let delegate = &caller.delegate;
        for candidate in candidates {
            if !delegate.tags.satisfy(&candidate.selector) {
                continue;
            }
            if candidate.expires_at < now || candidate.attempts >= candidate.max_attempts {
                let exhausted = (candidate.expires_at >= now)
                    .then_some((&candidate, "task_attempts_exhausted"));
                self.fail_overdue_tasks(delegate.project_id, exhausted, now)
                    .await?;
                continue;
            }
            // Opened before the claim: a task whose arguments cannot be (its project's
            // keys were shredded) fails now, instead of failing every poll of every
            // delegate until its attempts run out.
            let arguments = match self.task_arguments(&candidate).await {
                Ok(arguments) => arguments,
                Err(
                    error @ (AppError::Gone { .. }
                    | AppError::Integrity(_)
                    | AppError::Corrupt { .. }),
                ) => {
                    tracing::warn!(?error, task = %candidate.id, "a task's arguments cannot be opened; it fails");
                    self.fail_overdue_tasks(
                        delegate.project_id,
                        Some((&candidate, "task_unreadable")),
                        now,
                    )
                    .await?;
                    continue;
                }
                Err(other) => return Err(other),
            };
            let lease_until = now + candidate.kind.lease();
            let scope = self.project_scope(delegate.project_id).await?;
            let mut tx = self.store().write().await?;
            if !tx
                .claim_delegate_task(&candidate, delegate.id, lease_until, now)
                .await?
            {
                // Another delegate took it first.
                tx.rollback().await?;
                continue;
            }
            tx.commit(
                self.delegate_audit(caller, now, "delegate_task.claim")
                    .scope(scope)
                    .resource_id(candidate.id)
                    .details(json!({
                        "kind": candidate.kind.as_str(),
                        "attempt": candidate.attempts + 1,
                    }))
                    .build(),
            )
            .await?;
            return self.hand_out(caller, candidate, arguments, now).map(Some);
        }
        Ok(None)
    }

    /// Fails the tasks of `project` whose time ran out, and `give_up` — a task as it
    /// was read, with the reason — if it is still as read (no delegate finished them);
    /// the deliveries they carried are marked failed on their incidents' timelines.
    pub(crate) async fn fail_overdue_tasks(
        &self,
        project: ProjectId,
        give_up: Option<(&DelegateTask, &str)>,
        now: Timestamp,
    ) -> AppResult<()> {
        let scope = self.project_scope(project).await?;
        let sealer = self.sealer(&project.to_string()).await?;
        let mut tx = self.store().write().await?;
        let mut failed = tx.expire_delegate_tasks(Some(project), now).await?;
        if let Some((task, reason)) = give_up
            && tx.fail_delegate_task(task, reason, now).await?
        {
            failed.push(DelegateTask {
                error_code: Some(reason.to_owned()),
                ..task.clone()
            });
        }
        if failed.is_empty() {
            tx.rollback().await?;
            return Ok(());
        }
        let mut audits = Vec::new();
        for task in &failed {
            crate::sre::notifications::delivery_ended(
                &mut tx,
                &sealer,
                task,
                TaskStatus::Failed,
                task.error_code.as_deref(),
                "system",
                now,
            )
            .await?;
            // A runbook step that ran out of time fails its execution.
            if let Some(step_end) = self
                .prepare_step_end(
                    task,
                    TaskStatus::Failed,
                    task.error_code.as_deref(),
                    None,
                    &sealer,
                )
                .await?
            {
                audits.extend(
                    self.finish_step(&mut tx, &sealer, step_end, now)
                        .await?
                        .audits,
                );
            }
        }
        let ids: Vec<String> = failed.iter().map(|task| task.id.to_string()).collect();
        audits.insert(
            0,
            Ctx::system()
                .audit(now, "delegate_task.give_up", "delegate_task")
                .scope(scope)
                .details(json!({ "tasks": ids }))
                .build(),
        );
        tx.commit_all(&audits).await?;
        Ok(())
    }

    /// A task's arguments, opened.
    async fn task_arguments(&self, task: &DelegateTask) -> AppResult<Zeroizing<String>> {
        let owner = task.project_id.to_string();
        let id = task.id.to_string();
        Ok(Zeroizing::new(self.opener(&owner).await?.open_text(
            &task_place(&owner, &id, "arguments"),
            &task.arguments_sealed,
        )?))
    }

    /// The claimed `task` in an envelope signed for `caller`, with its `arguments`.
    fn hand_out(
        &self,
        caller: &DelegateCaller,
        task: DelegateTask,
        arguments: Zeroizing<String>,
        now: Timestamp,
    ) -> AppResult<ClaimedTask> {
        let id = task.id.to_string();
        // The envelope lasts as long as the claim: a delegate that sits on a task
        // past its lease refuses it as expired (another may have it by then).
        let expires_at = (now + task.kind.lease()).min(task.expires_at).as_second();
        let envelope = TaskEnvelope::new(
            &id,
            task.kind.as_str(),
            arguments.as_bytes(),
            &caller.delegate.id.to_string(),
            expires_at,
        )?;
        let signed = self
            .inner
            .task_key
            .sign(envelope)
            .map_err(|refusal| AppError::Internal(format!("signing a task: {refusal}")))?;
        Ok(ClaimedTask {
            task: DelegateTask {
                status: TaskStatus::Running,
                delegate_id: Some(caller.delegate.id),
                attempts: task.attempts + 1,
                ..task
            },
            signed,
            arguments,
        })
    }

    /// Records how `caller`'s attempt at a task ended. A failure is retried after the
    /// kind's backoff while attempts and lifetime remain.
    /// The task of the caller's project a delegate reports on, when what it reports
    /// fits.
    async fn reported_task(
        &self,
        caller: &DelegateCaller,
        id: &str,
        output: Option<&str>,
    ) -> AppResult<DelegateTask> {
        let missing = || AppError::NotFound { what: "task" };
        let id: DelegateTaskId = id.parse().map_err(|_| missing())?;
        if output.is_some_and(|output| output.len() > RESULT_BYTES_MAX) {
            return Err(AppError::bad_request(
                ErrorCode::InvalidOutput,
                format!("output must be at most {RESULT_BYTES_MAX} bytes"),
            ));
        }
        self.store()
            .delegate_task(caller.delegate.project_id, id)
            .await?
            .ok_or_else(missing)
    }

    /// Keeps what a running task's delegate has to show so far (a script's output, as
    /// its final report is shaped) in place of its result until it ends, and extends
    /// its lease: a delegate that still reports is still working. 409
    /// `task_not_claimed` when the attempt is no longer this delegate's.
    pub async fn record_task_progress(
        &self,
        caller: &DelegateCaller,
        id: &str,
        attempt: u32,
        output: &str,
    ) -> AppResult<()> {
        let delegate = &caller.delegate;
        let task = self.reported_task(caller, id, Some(output)).await?;
        let now = self.now();
        let owner = task.project_id.to_string();
        let task_id = task.id.to_string();
        let sealed = self
            .seal_value(&task_place(&owner, &task_id, "result"), output.as_bytes())
            .await?;
        let kept = self
            .store()
            .progress_delegate_task(
                task.id,
                delegate.id,
                attempt,
                &sealed,
                now + task.kind.lease(),
                now,
            )
            .await?;
        if !kept {
            return Err(AppError::conflict(
                ErrorCode::TaskNotClaimed,
                format!("task {task_id} attempt {attempt} is not running on this delegate"),
            ));
        }
        Ok(())
    }

    pub async fn report_delegate_task(
        &self,
        caller: &DelegateCaller,
        id: &str,
        attempt: u32,
        outcome: TaskOutcome,
        output: Option<&str>,
        error_code: Option<&str>,
    ) -> AppResult<TaskStatus> {
        if let Some(code) = error_code {
            let shaped = !code.is_empty()
                && code.len() <= 64
                && code
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !shaped {
                return Err(AppError::bad_request(
                    ErrorCode::InvalidErrorCode,
                    "error_code must be 1 to 64 lowercase letters, digits or '_'",
                ));
            }
        }
        let delegate = &caller.delegate;
        let task = self.reported_task(caller, id, output).await?;
        let now = self.now();
        let owner = task.project_id.to_string();
        let task_id = task.id.to_string();
        let result_sealed = match output {
            Some(output) => Some(
                self.seal_value(&task_place(&owner, &task_id, "result"), output.as_bytes())
                    .await?,
            ),
            None => None,
        };
        let error_code = error_code.map(str::to_owned);
        let end = match outcome {
            TaskOutcome::Succeeded => TaskEnd::Final {
                status: TaskStatus::Succeeded,
                result_sealed,
                error_code: None,
            },
            TaskOutcome::Refused => TaskEnd::Final {
                status: TaskStatus::Refused,
                result_sealed,
                error_code: error_code.or_else(|| Some("task_refused".into())),
            },
            TaskOutcome::Failed | TaskOutcome::FailedPermanently => {
                let not_before = now + task.kind.backoff(attempt);
                if outcome == TaskOutcome::Failed
                    && attempt < task.max_attempts
                    && not_before < task.expires_at
                {
                    TaskEnd::Retry {
                        not_before,
                        result_sealed,
                        error_code,
                    }
                } else {
                    TaskEnd::Final {
                        status: TaskStatus::Failed,
                        result_sealed,
                        error_code,
                    }
                }
            }
        };
        let status = match &end {
            TaskEnd::Final { status, .. } => *status,
            TaskEnd::Retry { .. } => TaskStatus::Queued,
        };
        let scope = self.project_scope(task.project_id).await?;
        // A notification (a page's delivery or a runbook's step) and every other
        // runbook step's end write sealed records.
        let sealer = if task.kind.runs_a_runbook_step() {
            Some(self.sealer(&owner).await?)
        } else {
            None
        };
        let step_end = match &sealer {
            Some(sealer) => {
                let error_code = match &end {
                    TaskEnd::Final { error_code, .. } | TaskEnd::Retry { error_code, .. } => {
                        error_code.as_deref()
                    }
                };
                self.prepare_step_end(&task, status, error_code, output, sealer)
                    .await?
            }
            None => None,
        };
        let mut tx = self.store().write().await?;
        if !tx
            .end_delegate_task(task.id, delegate.id, attempt, &end, now)
            .await?
        {
            tx.rollback().await?;
            return Err(AppError::conflict(
                ErrorCode::TaskNotClaimed,
                format!(
                    "task {task_id} attempt {attempt} is not running on this delegate (its lease \
                     ran out and it was queued again, or it ended): its result is not recorded"
                ),
            ));
        }
        if let Some(sealer) = &sealer {
            let error_code = match &end {
                TaskEnd::Final { error_code, .. } | TaskEnd::Retry { error_code, .. } => {
                    error_code.as_deref()
                }
            };
            crate::sre::notifications::delivery_ended(
                &mut tx,
                sealer,
                &task,
                status,
                error_code,
                &format!("delegate:{}", delegate.id),
                now,
            )
            .await?;
        }
        let mut step_moved = crate::sre::runbook_executions::Moved::default();
        if let (Some(sealer), Some(step_end)) = (&sealer, step_end) {
            step_moved = self.finish_step(&mut tx, sealer, step_end, now).await?;
        }
        let mut audits = vec![
            self.delegate_audit(caller, now, "delegate_task.finish")
                .scope(scope)
                .resource_id(task.id)
                .details(json!({
                    "kind": task.kind.as_str(),
                    "attempt": attempt,
                    "status": status.as_str(),
                    "error_code": match &end {
                        TaskEnd::Final { error_code, .. } | TaskEnd::Retry { error_code, .. } => error_code.clone(),
                    },
                }))
                .build(),
        ];
        audits.extend(step_moved.audits);
        tx.commit_all(&audits).await?;
        if step_moved.queued {
            self.wake_delegates();
        }
        if status == TaskStatus::Succeeded
            && let Some(slo) = task
                .subject
                .as_deref()
                .and_then(crate::sre::slo_pulls::pulled_slo)
            && let Some(output) = output
        {
            self.take_pulled_minutes(caller, &task, slo, output).await;
        }
        Ok(status)
    }

    /// The scope of a project known by id (for audit records of delegates' requests).
    pub(crate) async fn project_scope(&self, project: ProjectId) -> AppResult<Scope> {
        let project = self
            .store()
            .project_by_id(project)
            .await?
            .ok_or(AppError::NotFound { what: "project" })?;
        Ok(Scope::Project(project.org_id, project.id))
    }

    /// The scope of a project known by id and its name, `org/project`.
    pub(crate) async fn project_named(&self, project: ProjectId) -> AppResult<(Scope, String)> {
        let missing = || AppError::NotFound { what: "project" };
        let project = self
            .store()
            .project_by_id(project)
            .await?
            .ok_or_else(missing)?;
        let org = self
            .store()
            .org_by_id(project.org_id)
            .await?
            .ok_or_else(missing)?;
        Ok((
            Scope::Project(org.id, project.id),
            format!("{}/{}", org.identifier, project.identifier),
        ))
    }

    fn delegate_audit(
        &self,
        caller: &DelegateCaller,
        at: Timestamp,
        action: &str,
    ) -> crate::audit::AuditBuilder {
        anonymous(at, &caller.meta, action, "delegate_task", "delegate")
            .actor(format!("delegate:{}", caller.delegate.id))
    }

    /// Wakes the polls waiting on this replica (tasks were queued or put back).
    pub(crate) fn wake_delegates(&self) {
        self.inner.delegate_wakeup.notify_waiters();
    }

    /// The installation's task-signing public key (what delegates pin).
    pub fn task_signing_public_key(&self) -> [u8; 32] {
        self.inner.task_key.public_key()
    }
}

fn check_version(version: &str) -> AppResult<()> {
    let shaped = !version.is_empty()
        && version.len() <= 64
        && version
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'+' | b'_'));
    if shaped {
        Ok(())
    } else {
        Err(AppError::bad_request(
            ErrorCode::InvalidVersion,
            "version must be 1 to 64 letters, digits, '.', '-', '+' or '_'",
        ))
    }
}

/// A sandbox description is printable text of at most [`SANDBOX_DESCRIPTION_MAX`]
/// characters (it is shown as it came).
fn check_sandbox(sandbox: &str) -> AppResult<()> {
    let shaped = !sandbox.is_empty()
        && sandbox.chars().count() <= SANDBOX_DESCRIPTION_MAX
        && !sandbox.chars().any(char::is_control);
    if shaped {
        Ok(())
    } else {
        Err(ValidationError::new(
            "sandbox",
            format!("must be 1 to {SANDBOX_DESCRIPTION_MAX} printable characters"),
        )
        .into())
    }
}

/// A task to queue (see [`queue_task`]).
pub(crate) struct NewTask {
    pub project: ProjectId,
    pub kind: TaskKind,
    pub selector: Tags,
    pub target: Option<DelegateId>,
    /// JSON text: the exact bytes the delegate receives and the envelope's digest covers.
    pub arguments: String,
    pub subject: Option<String>,
}

/// The row of a new task, its arguments sealed with `sealer` (the project's ring);
/// the caller inserts it in its transaction (`WriteTx::insert_delegate_task`) and wakes the delegates after commit.
pub(crate) fn queue_task(
    sealer: &crate::sealing::Sealer,
    task: NewTask,
    now: Timestamp,
) -> AppResult<DelegateTask> {
    let id = mint(now, DelegateTaskId::mint)?;
    let id_text = id.to_string();
    let arguments_sealed = sealer.seal(
        &task_place(sealer.owner(), &id_text, "arguments"),
        task.arguments.as_bytes(),
    )?;
    Ok(DelegateTask {
        id,
        project_id: task.project,
        kind: task.kind,
        selector: task.selector,
        target_delegate_id: task.target,
        arguments_sealed,
        status: TaskStatus::Queued,
        delegate_id: None,
        attempts: 0,
        max_attempts: task.kind.max_attempts(),
        not_before: now,
        lease_until: None,
        expires_at: now + task.kind.lifetime(),
        result_sealed: None,
        error_code: None,
        subject: task.subject,
        created_at: now,
        updated_at: now,
    })
}

/// Loads the task-signing key (wrapped by the root key), creating it on first start.
pub(crate) async fn load_or_create_task_key(
    store: &rampart_store::Store,
    root_key: &rampart_crypto::RootKey,
    now: Timestamp,
) -> AppResult<TaskSigningKey> {
    let pkcs8 = crate::bootstrap::load_or_create_server_key(
        store,
        root_key,
        now,
        crate::bootstrap::ServerKey {
            secret: TASK_KEY_SECRET,
            purpose: TASK_KEY_PURPOSE,
            audit_action: "delegate.task_signing_key.create",
            resource_type: "task_signing_key",
        },
    )
    .await?;
    Ok(TaskSigningKey::from_pkcs8(&pkcs8)?)
}
