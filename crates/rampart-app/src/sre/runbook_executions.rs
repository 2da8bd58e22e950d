//! Executions of runbooks: who may start one (`runbook:execute`, and the roles an
//! input's chosen value is restricted to), the second person a sensitive runbook waits
//! for, and the engine that runs the steps in order.
//!
//! The engine moves an execution in the transaction of whatever moved it on — its
//! start, its approval, or the report of the delegate task that ran its last step — so
//! a step's end and the next step's start are one change: nothing is lost or run twice
//! whatever crashes. Everything that must not run inside a write transaction (reading
//! the definition and the secrets a step uses, sealing the next task's arguments) is
//! worked out before it, as a [`Move`]; the transaction first claims the execution in
//! the state it was read in, so a move computed from a stale read is dropped.
//!
//! A delegate's steps (a script, an HTTP request) become tasks whose arguments carry
//! the bound inputs and the secrets the step names, opened only for the task; the
//! server's steps (a note, a status change) act on the execution's incident. Each step
//! that ends is audited and, on an incident, written to its timeline with its output.

use std::collections::BTreeMap;

use jiff::Timestamp;
use rampart_domain::platform::delegates::{DelegateTask, TaskKind, TaskStatus};
use rampart_domain::platform::identity::PrincipalId;
use rampart_domain::platform::tenancy::Scope;
use rampart_domain::sre::incidents::{IncidentSeverity, IncidentStatus};
use rampart_domain::sre::runbook_executions::{
    ExecutionStatus, ExecutionStep, ExecutionTrigger, RunbookExecution, StepStatus,
};
use rampart_domain::sre::runbooks::{Definition, Step, TriggerEvent};
use rampart_domain::{
    ErrorCode, IncidentId, Permission, RunbookExecutionId, RunbookTriggerEventId, UserId,
};
use rampart_store::sealed::SealedCell;
use rampart_store::sre::runbook_executions::{EXECUTION_INPUTS, TriggerEventRow};
use rampart_store::{AuditRecord, Page, WriteTx};
use serde_json::{Value, json};
use zeroize::Zeroizing;

use crate::platform::delegates::{NewTask, queue_task};
use crate::sealing::{Resealer, SealContext, SealedPlace, Sealer, key_owner};
use crate::sre::incidents::add_timeline;
use crate::sre::runbooks::RunbookView;
use crate::{Access, App, AppError, AppResult, Ctx, authorize, authorize_resource, mint};

/// The sealed inputs of executions, for the rewrap job.
pub(crate) const SEALED_PLACES: &[SealedPlace] = &[SealedPlace {
    column: EXECUTION_INPUTS,
    reseal: reseal_inputs,
}];

fn reseal_inputs(
    resealer: &Resealer<'_>,
    owner: &str,
    cell: &SealedCell,
) -> AppResult<Option<Vec<u8>>> {
    resealer.reseal(&inputs_place(owner, &cell.id), &cell.sealed)
}

fn inputs_place<'a>(owner: &'a str, id: &'a str) -> SealContext<'a> {
    SealContext {
        owner,
        entity_type: "runbook_execution",
        entity_id: id,
        field: "inputs",
        version: 0,
    }
}

/// Asking for an execution.
#[derive(Clone, Debug, Default)]
pub struct ExecutionInput {
    pub inputs: BTreeMap<String, Value>,
    /// The number of the incident of the project to run it on.
    pub incident: Option<u64>,
}

/// An execution as its readers see it.
#[derive(Clone, Debug)]
pub struct ExecutionView {
    pub execution: RunbookExecution,
    pub incident_number: Option<u64>,
    pub inputs: BTreeMap<String, String>,
    pub steps: Vec<StepView>,
}

/// A step and what its delegate reported (secrets masked by the delegate).
#[derive(Clone, Debug)]
pub struct StepView {
    pub step: ExecutionStep,
    pub output: Option<String>,
}

fn not_found() -> AppError {
    AppError::NotFound {
        what: "runbook execution",
    }
}

fn project_scope(scope: Scope) -> AppResult<(rampart_domain::ProjectId, String)> {
    match (scope.project_id(), key_owner(scope)) {
        (Some(project), Some(owner)) => Ok((project, owner)),
        _ => Err(AppError::bad_request(
            ErrorCode::InvalidScope,
            "runbooks belong to projects",
        )),
    }
}

/// Step `index`'s row before it runs.
fn pending_step(step: &Step, index: u32) -> ExecutionStep {
    ExecutionStep {
        index,
        name: step.name().to_owned(),
        kind: kind_of(step).to_owned(),
        status: StepStatus::Pending,
        task_id: None,
        error_code: None,
        started_at: None,
        finished_at: None,
    }
}

fn kind_of(step: &Step) -> &'static str {
    match step {
        Step::Script { .. } => "script",
        Step::HttpRequest { .. } => "http_request",
        Step::PrometheusQuery { .. } => "prometheus_query",
        Step::AddNote { .. } => "add_note",
        Step::SetStatus { .. } => "set_status",
        Step::Page { .. } => "page",
        Step::Notification { .. } => "notification",
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters (an input's value
/// in a URL can never add a path segment, a query or a fragment).
fn percent_encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// What the server does next for an execution, worked out outside the transaction.
/// Each step's row is as it stands before the action (pending).
enum Action {
    Note {
        step: ExecutionStep,
        text: String,
    },
    Status {
        step: ExecutionStep,
        to: IncidentStatus,
    },
    /// People to page about the incident (each may see it), with their emails.
    Page {
        step: ExecutionStep,
        users: Vec<(UserId, String)>,
    },
    /// A delegate step: its task is queued and the execution waits for it.
    Task {
        step: ExecutionStep,
        task: Box<DelegateTask>,
    },
    /// A step that cannot start (a secret it names is gone, the runbook was deleted):
    /// it fails, and so does the execution.
    Fail {
        step: ExecutionStep,
        error_code: &'static str,
        message: String,
    },
    /// No step left: the execution succeeded.
    Done,
}

/// How a delegate step ended, as its task's report says.
#[derive(Clone)]
struct StepEnd {
    /// The step's row as it stood (running).
    step: ExecutionStep,
    status: StepStatus,
    error_code: Option<String>,
    task: DelegateTask,
    output: Option<String>,
}

/// One move of one execution: from the state it was read in (`from`) to `execution`,
/// recording `ended`, then taking `actions` in order until one waits or fails.
struct Move {
    from: (ExecutionStatus, u32),
    execution: RunbookExecution,
    ended: Option<StepEnd>,
    actions: Vec<Action>,
}

/// A new execution worked out before its transaction.
struct NewExecution {
    execution: RunbookExecution,
    steps: Vec<ExecutionStep>,
    inputs_sealed: Vec<u8>,
    input_names: Vec<String>,
    actions: Vec<Action>,
}

/// What one incident change did.
enum Fired {
    /// Started this many executions (those of its runbooks that failed to start logged).
    Started(u64),
    /// Matched no runbook's trigger (or its incident is gone).
    Unmatched,
    /// Matched, but none of its runbooks could start.
    Failed,
}

/// Incident changes one call of [`App::run_runbook_triggers`] takes.
const TRIGGER_BATCH: u32 = 100;

/// Refuses `ctx` unless it may read an incident and do what `definition`'s steps do to
/// one (a note: `incident:edit`; a status change: `incident:status_update`).
pub(crate) fn check_incident_rights(
    ctx: &Ctx,
    scope: Scope,
    definition: &Definition,
) -> AppResult<()> {
    let mut needed = vec![Permission::IncidentView];
    for step in &definition.steps {
        match step {
            Step::AddNote { .. } => needed.push(Permission::IncidentEdit),
            Step::SetStatus { .. } => needed.push(Permission::IncidentStatusUpdate),
            // Paging people about an incident is escalating it by hand.
            Step::Page { .. } => needed.push(Permission::IncidentEdit),
            Step::Script { .. }
            | Step::HttpRequest { .. }
            | Step::PrometheusQuery { .. }
            | Step::Notification { .. } => {}
        }
    }
    for permission in needed {
        authorize(
            &ctx.actor,
            &ctx.access,
            Access::Permission(permission),
            scope,
        )?;
    }
    Ok(())
}

/// The first step that acts on an incident, if any.
fn incident_step(definition: &Definition) -> Option<&Step> {
    definition
        .steps
        .iter()
        .find(|step| !step.runs_on_a_delegate())
}

/// Records, in the transaction of an incident's change, that its runbook triggers are
/// to be looked at. Changes a runbook's own steps make start nothing (a runbook that
/// changes the incident would otherwise trigger itself without end).
pub(crate) async fn queue_triggers(
    tx: &mut WriteTx,
    incident: &rampart_domain::sre::incidents::Incident,
    event: TriggerEvent,
    actor: &str,
    now: Timestamp,
) -> AppResult<()> {
    if let Some(row) = trigger_row(incident, event, actor, now)? {
        tx.queue_runbook_trigger(&row).await?;
    }
    Ok(())
}

/// The queued change [`queue_triggers`] writes, or `None` when a runbook's own step made
/// it (a runbook never triggers runbooks).
pub(crate) fn trigger_row(
    incident: &rampart_domain::sre::incidents::Incident,
    event: TriggerEvent,
    actor: &str,
    now: Timestamp,
) -> AppResult<Option<TriggerEventRow>> {
    if actor.starts_with("runbook_execution:") {
        return Ok(None);
    }
    Ok(Some(TriggerEventRow {
        id: mint(now, RunbookTriggerEventId::mint)?,
        project_id: incident.project_id,
        incident_id: incident.id,
        event: match event {
            TriggerEvent::IncidentOpened => "incident.opened",
            TriggerEvent::IncidentChanged => "incident.changed",
        }
        .to_owned(),
        created_at: now,
    }))
}

/// What a move wrote: its audit records and whether it queued a task.
#[derive(Default)]
pub(crate) struct Moved {
    pub audits: Vec<AuditRecord>,
    pub queued: bool,
}

fn actor_of(execution: &RunbookExecution) -> String {
    format!("runbook_execution:{}", execution.id)
}

impl App {
    /// Starts an execution of a runbook's current version. A sensitive runbook's waits
    /// for approval; another's first steps start at once.
    pub async fn start_runbook_execution(
        &self,
        ctx: &Ctx,
        scope: Scope,
        identifier: &str,
        input: ExecutionInput,
    ) -> AppResult<ExecutionView> {
        let (project, owner) = project_scope(scope)?;
        let view = self.runbook(scope, identifier, None).await?;
        let inputs = view
            .definition
            .bind_inputs(&input.inputs, "inputs")
            .map_err(|error| AppError::bad_request(ErrorCode::InvalidInputs, error.reason))?;
        self.check_restricted_inputs(ctx, scope, &view.definition, &inputs)
            .await?;
        if input.incident.is_some() {
            // Its steps act on the incident: the caller must be allowed to do the same.
            check_incident_rights(ctx, scope, &view.definition)?;
        }
        let incident = match input.incident {
            Some(number) => Some(
                self.store()
                    .incident_by_number(project, number)
                    .await?
                    .ok_or(AppError::NotFound { what: "incident" })?
                    .0
                    .id,
            ),
            None => None,
        };
        if let (Some(step), None) = (incident_step(&view.definition), incident) {
            return Err(AppError::bad_request(
                ErrorCode::IncidentRequired,
                format!(
                    "step {:?} acts on an incident: name the incident to run the runbook on",
                    step.name()
                ),
            ));
        }
        let now = self.now();
        let sealer = self.sealer(&owner).await?;
        let prepared = self
            .prepare_execution(
                &view,
                inputs,
                incident,
                ExecutionTrigger::Manual,
                ctx.actor.actor_text(),
                &sealer,
                now,
            )
            .await?;
        let id = prepared.execution.id;
        let mut tx = self.store().write().await?;
        let (audit, moved) = self
            .write_execution(&mut tx, &sealer, prepared, now)
            .await?;
        let mut audits = vec![
            ctx.audit(now, "runbook_execution.start", "runbook_execution")
                .scope(scope)
                .resource_id(id)
                .details(audit)
                .build(),
        ];
        audits.extend(moved.audits);
        tx.commit_all(&audits).await?;
        if moved.queued {
            self.wake_delegates();
        }
        self.runbook_execution(scope, &id.to_string()).await
    }

    /// A new execution of `view` with bound `inputs`, its first moves worked out.
    #[allow(clippy::too_many_arguments)]
    async fn prepare_execution(
        &self,
        view: &RunbookView,
        inputs: BTreeMap<String, String>,
        incident: Option<IncidentId>,
        trigger: ExecutionTrigger,
        started_by: String,
        sealer: &Sealer,
        now: Timestamp,
    ) -> AppResult<NewExecution> {
        let definition = &view.definition;
        let execution = RunbookExecution {
            id: mint(now, RunbookExecutionId::mint)?,
            scope: view.runbook.scope,
            runbook_id: view.runbook.id,
            runbook_identifier: view.runbook.identifier.as_str().to_owned(),
            runbook_version: view.version.version,
            incident_id: incident,
            trigger,
            status: if definition.sensitive {
                ExecutionStatus::AwaitingApproval
            } else {
                ExecutionStatus::Running
            },
            started_by,
            approved_by: None,
            canceled_by: None,
            current_step: 0,
            error_code: None,
            created_at: now,
            updated_at: now,
            finished_at: None,
        };
        let steps: Vec<ExecutionStep> = definition
            .steps
            .iter()
            .zip(0_u32..)
            .map(|(step, index)| pending_step(step, index))
            .collect();
        let inputs_sealed = sealer.seal(
            &inputs_place(sealer.owner(), &execution.id.to_string()),
            &serde_json::to_vec(&inputs)
                .map_err(|error| AppError::Internal(format!("encoding inputs: {error}")))?,
        )?;
        let actions = if definition.sensitive {
            Vec::new()
        } else {
            self.actions_from(&execution, definition, &inputs, 0, sealer, now)
                .await?
        };
        Ok(NewExecution {
            execution,
            steps,
            inputs_sealed,
            input_names: inputs.into_keys().collect(),
            actions,
        })
    }

    /// Writes a new execution in `tx` and makes its first moves; returns the details
    /// of its `runbook_execution.start` audit record and what the moves wrote.
    async fn write_execution(
        &self,
        tx: &mut WriteTx,
        sealer: &Sealer,
        new: NewExecution,
        now: Timestamp,
    ) -> AppResult<(Value, Moved)> {
        let NewExecution {
            execution,
            steps,
            inputs_sealed,
            input_names,
            actions,
        } = new;
        tx.insert_runbook_execution(&execution, &inputs_sealed, &steps)
            .await?;
        let waits = execution.status == ExecutionStatus::AwaitingApproval;
        if let Some(incident) = execution.incident_id {
            add_timeline(
                tx,
                sealer,
                incident,
                now,
                &execution.started_by,
                if waits {
                    "runbook.awaiting_approval"
                } else {
                    "runbook.started"
                },
                json!({
                    "execution": execution.id.to_string(),
                    "runbook": execution.runbook_identifier,
                    "version": execution.runbook_version,
                    "trigger": execution.trigger.as_str(),
                }),
            )
            .await?;
        }
        let details = json!({
            "runbook": execution.runbook_identifier,
            "version": execution.runbook_version,
            "incident": execution.incident_id.map(|id| id.to_string()),
            "trigger": execution.trigger.as_str(),
            "inputs": input_names,
            "status": execution.status.as_str(),
        });
        let moved = self
            .apply_move(
                tx,
                sealer,
                Move {
                    from: (execution.status, 0),
                    execution,
                    ended: None,
                    actions,
                },
                now,
            )
            .await?
            .claimed()
            .ok_or_else(|| AppError::Internal("a new execution was moved by another".into()))?;
        Ok((details, moved))
    }

    /// Starts the executions that waiting incident changes trigger, a bounded batch
    /// per call (the server's paging tick calls it). Each change is taken once, in the
    /// transaction that writes the executions it starts; they act as the runbook's
    /// service account (`run_as`) with the inputs the trigger names. Returns how many
    /// executions started.
    pub async fn run_runbook_triggers(&self) -> AppResult<u64> {
        let mut started = 0;
        let mut unmatched = Vec::new();
        let mut failed = Vec::new();
        let mut outage = None;
        for event in self.store().runbook_trigger_events(TRIGGER_BATCH).await? {
            match self.fire_trigger(&event).await {
                Ok(Fired::Started(count)) => started += count,
                Ok(Fired::Unmatched) => unmatched.push(event),
                Ok(Fired::Failed) => failed.push(event),
                // The database is away: try again next tick.
                Err(error @ (AppError::Unavailable(_) | AppError::Contention(_))) => {
                    outage = Some(error);
                    break;
                }
                // A change that cannot start what it triggers must not hold back the
                // ones behind it: it is taken, and the failure recorded.
                Err(error) => {
                    tracing::error!(?error, event = %event.id, "starting triggered runbooks failed");
                    failed.push(event);
                }
            }
        }
        self.take_trigger_events(&unmatched, &failed).await?;
        match outage {
            Some(error) => Err(error),
            None => Ok(started),
        }
    }

    /// Takes incident changes that started nothing, in one transaction with a record of
    /// those that matched nothing and of those whose runbooks could not start.
    async fn take_trigger_events(
        &self,
        unmatched: &[TriggerEventRow],
        failed: &[TriggerEventRow],
    ) -> AppResult<()> {
        if unmatched.is_empty() && failed.is_empty() {
            return Ok(());
        }
        let now = self.now();
        let mut tx = self.store().write().await?;
        let mut audits = Vec::new();
        for (events, action) in [
            (unmatched, "runbook_trigger.unmatched"),
            (failed, "runbook_trigger.failed"),
        ] {
            let mut taken = Vec::new();
            for event in events {
                if tx.take_runbook_trigger(event.id).await? {
                    taken.push(json!({
                        "project": event.project_id.to_string(),
                        "incident": event.incident_id.to_string(),
                        "event": event.event,
                    }));
                }
            }
            if !taken.is_empty() {
                audits.push(
                    Ctx::system()
                        .audit(now, action, "incident")
                        .details(json!({ "changes": taken }))
                        .build(),
                );
            }
        }
        if audits.is_empty() {
            tx.rollback().await?;
            return Ok(());
        }
        tx.commit_all(&audits).await?;
        Ok(())
    }

    /// Starts the runbooks one incident change triggers: how many started, or `None`
    /// when it triggers none (the caller takes it with the others that start nothing).
    /// One runbook that cannot start (logged) does not keep the others from starting.
    async fn fire_trigger(&self, event: &TriggerEventRow) -> AppResult<Fired> {
        let kind = match event.event.as_str() {
            "incident.opened" => (
                TriggerEvent::IncidentOpened,
                ExecutionTrigger::IncidentOpened,
            ),
            _ => (
                TriggerEvent::IncidentChanged,
                ExecutionTrigger::IncidentChanged,
            ),
        };
        let Some((incident, _)) = self.store().incident_by_id(event.incident_id).await? else {
            return Ok(Fired::Unmatched);
        };
        let scope = self.project_scope(event.project_id).await?;
        let service = match incident.service_id {
            Some(service) => self
                .store()
                .service(service)
                .await?
                .map(|service| service.identifier),
            None => None,
        };
        let severity = IncidentSeverity::parse(&incident.severity)?;
        let sealer = self.sealer(&event.project_id.to_string()).await?;
        let now = self.now();
        let mut prepared = Vec::new();
        let mut unprepared = 0;
        // The incident's alerts' labels, read once the first trigger that asks about
        // labels matches on everything else.
        let mut labels = None;
        let mut cursor: Option<String> = None;
        loop {
            let page = self
                .list_runbooks(scope, Some(500), cursor.as_deref())
                .await?;
            for runbook in &page.items {
                let started = self
                    .prepare_triggered(
                        scope,
                        runbook,
                        kind,
                        (&incident, service.as_ref(), severity),
                        &mut labels,
                        &sealer,
                        now,
                    )
                    .await;
                match started {
                    Ok(Some(new)) => prepared.push(new),
                    Ok(None) => {}
                    Err(error @ (AppError::Unavailable(_) | AppError::Contention(_))) => {
                        return Err(error);
                    }
                    Err(error) => {
                        unprepared += 1;
                        tracing::error!(?error, runbook = %runbook.identifier, "a triggered runbook cannot start");
                    }
                }
            }
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        if prepared.is_empty() {
            return Ok(if unprepared > 0 {
                Fired::Failed
            } else {
                Fired::Unmatched
            });
        }
        let mut tx = self.store().write().await?;
        if !tx.take_runbook_trigger(event.id).await? {
            tx.rollback().await?;
            return Ok(Fired::Started(0));
        }
        let count = prepared.len() as u64;
        let mut audits = Vec::new();
        let mut queued = false;
        for new in prepared {
            let actor = new.execution.started_by.clone();
            let id = new.execution.id;
            let (details, moved) = self.write_execution(&mut tx, &sealer, new, now).await?;
            audits.push(
                Ctx::system()
                    .audit(now, "runbook_execution.start", "runbook_execution")
                    .actor(actor)
                    .auth_method(crate::AuthMethod::Automation)
                    .scope(scope)
                    .resource_id(id)
                    .details(details)
                    .build(),
            );
            audits.extend(moved.audits);
            queued |= moved.queued;
        }
        tx.commit_all(&audits).await?;
        if queued {
            self.wake_delegates();
        }
        Ok(Fired::Started(count))
    }

    /// The execution `runbook` starts for an incident change, if one of its triggers
    /// matches.
    #[allow(clippy::too_many_arguments)]
    async fn prepare_triggered(
        &self,
        scope: Scope,
        runbook: &rampart_domain::sre::runbooks::Runbook,
        (event, trigger_kind): (TriggerEvent, ExecutionTrigger),
        (incident, service, severity): (
            &rampart_domain::sre::incidents::Incident,
            Option<&rampart_domain::Slug>,
            IncidentSeverity,
        ),
        labels: &mut Option<Vec<BTreeMap<String, String>>>,
        sealer: &Sealer,
        now: Timestamp,
    ) -> AppResult<Option<NewExecution>> {
        // Most runbooks of a project have no trigger for most changes: their cached
        // triggers say so without opening the definition.
        let triggers = self.runbook_triggers(scope, runbook).await?;
        if !triggers
            .iter()
            .any(|trigger| trigger.matches(event, service, severity))
        {
            return Ok(None);
        }
        let view = self
            .runbook(scope, runbook.identifier.as_str(), None)
            .await?;
        let mut found = None;
        for trigger in &view.definition.triggers {
            if !trigger.matches(event, service, severity) {
                continue;
            }
            if !trigger.labels.is_empty() && labels.is_none() {
                *labels = Some(
                    self.incident_alert_labels(incident.project_id, incident.id)
                        .await?,
                );
            }
            if trigger.labels_match(labels.as_deref().unwrap_or_default()) {
                found = Some(trigger);
                break;
            }
        }
        let Some(trigger) = found else {
            return Ok(None);
        };
        let inputs = view
            .definition
            .bind_inputs(&trigger.inputs, "inputs")
            .map_err(AppError::from)?;
        let run_as = self
            .check_run_as(
                scope,
                runbook.identifier.as_str(),
                &view.definition,
                &inputs,
            )
            .await?;
        Ok(Some(
            self.prepare_execution(
                &view,
                inputs,
                Some(incident.id),
                trigger_kind,
                run_as.to_text(),
                sealer,
                now,
            )
            .await?,
        ))
    }

    /// The service account a triggered execution of `definition` acts as, when it may
    /// now do what a person starting it would need: `runbook:execute` on the runbook,
    /// the incident rights of its steps, `secret:access` for its secrets, and the roles
    /// its inputs' restricted values ask for. Checked at every trigger, so a right taken
    /// from the account since the runbook was written stops it.
    async fn check_run_as(
        &self,
        scope: Scope,
        runbook: &str,
        definition: &Definition,
        inputs: &BTreeMap<String, String>,
    ) -> AppResult<PrincipalId> {
        let Some(id) = definition.run_as else {
            return Err(AppError::Internal(
                "a runbook with triggers has no service account".into(),
            ));
        };
        let principal = PrincipalId::ServiceAccount(id);
        if self.store().service_account_by_id(id).await?.is_none() {
            return Err(AppError::NotFound {
                what: "service account",
            });
        }
        let access = self.store().access_of(principal).await?;
        let ctx = Ctx::new(
            crate::Actor::automation(principal),
            crate::RequestMeta::default(),
            std::sync::Arc::new(access),
        );
        authorize_resource(
            &ctx.actor,
            &ctx.access,
            Permission::RunbookExecute,
            scope,
            runbook,
        )?;
        if !definition.secrets.is_empty() {
            authorize(
                &ctx.actor,
                &ctx.access,
                Access::Permission(Permission::SecretAccess),
                scope,
            )?;
        }
        check_incident_rights(&ctx, scope, definition)?;
        self.check_restricted_inputs(&ctx, scope, definition, inputs)
            .await?;
        Ok(principal)
    }

    /// Refuses values of inputs restricted to roles the caller does not hold at the
    /// project (directly, through a group, or from the organisation or account).
    pub(crate) async fn check_restricted_inputs(
        &self,
        ctx: &Ctx,
        scope: Scope,
        definition: &Definition,
        inputs: &BTreeMap<String, String>,
    ) -> AppResult<()> {
        let mut restrictions = definition.restrictions(inputs).peekable();
        if restrictions.peek().is_none() || ctx.actor.is_system() {
            return Ok(());
        }
        let held = self
            .store()
            .role_identifiers_held(ctx.actor.principal, scope)
            .await?;
        for (input, value, roles) in restrictions {
            if !roles
                .iter()
                .any(|role| held.iter().any(|h| h == role.as_str()))
            {
                let names: Vec<&str> = roles.iter().map(|role| role.as_str()).collect();
                return Err(AppError::forbidden(
                    ErrorCode::InputValueRestricted,
                    format!(
                        "{input}={value} may be chosen only by holders of the role {}",
                        names.join(" or ")
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Approves a sensitive runbook's execution waiting for it (not by who started it);
    /// its first steps start.
    pub async fn approve_runbook_execution(
        &self,
        ctx: &Ctx,
        scope: Scope,
        id: &str,
    ) -> AppResult<ExecutionView> {
        let (execution, inputs, owner) = self.execution_read(scope, id).await?;
        if execution.status != ExecutionStatus::AwaitingApproval {
            return Err(state_conflict(&execution, "approved"));
        }
        let approver = ctx.actor.actor_text();
        if approver == execution.started_by && !ctx.actor.is_system() {
            return Err(AppError::forbidden(
                ErrorCode::SecondPersonRequired,
                "the runbook is sensitive: someone other than who started the execution must \
                 approve it",
            ));
        }
        let now = self.now();
        let definition = self.definition_of(&execution, &owner).await?;
        let sealer = self.sealer(&owner).await?;
        let approved = RunbookExecution {
            status: ExecutionStatus::Running,
            approved_by: Some(approver.clone()),
            updated_at: now,
            ..execution.clone()
        };
        let actions = match &definition {
            Ok(definition) => {
                self.actions_from(&approved, definition, &inputs, 0, &sealer, now)
                    .await?
            }
            Err(Gone) => match definition_steps(
                &self.store().runbook_execution_steps(execution.id).await?,
                0,
            ) {
                Some(step) => vec![Gone::action(step)],
                None => vec![Action::Done],
            },
        };
        let mut tx = self.store().write().await?;
        let moved = self
            .apply_move(
                &mut tx,
                &sealer,
                Move {
                    from: (execution.status, execution.current_step),
                    execution: approved.clone(),
                    ended: None,
                    actions,
                },
                now,
            )
            .await?;
        let Some(moved) = moved.claimed() else {
            tx.rollback().await?;
            return Err(state_conflict(&execution, "approved"));
        };
        if let Some(incident) = execution.incident_id {
            add_timeline(
                &mut tx,
                &sealer,
                incident,
                now,
                &approver,
                "runbook.approved",
                json!({
                    "execution": execution.id.to_string(),
                    "runbook": execution.runbook_identifier,
                }),
            )
            .await?;
        }
        let mut audits = vec![
            ctx.audit(now, "runbook_execution.approve", "runbook_execution")
                .scope(scope)
                .resource_id(execution.id)
                .details(json!({
                    "runbook": execution.runbook_identifier,
                    "started_by": execution.started_by,
                }))
                .build(),
        ];
        audits.extend(moved.audits);
        tx.commit_all(&audits).await?;
        if moved.queued {
            self.wake_delegates();
        }
        self.runbook_execution(scope, id).await
    }

    /// Cancels an execution waiting for approval or running: no further step starts,
    /// and a step whose task no delegate has taken yet never runs (a step already on a
    /// delegate finishes there, and its result is kept).
    pub async fn cancel_runbook_execution(
        &self,
        ctx: &Ctx,
        scope: Scope,
        id: &str,
    ) -> AppResult<ExecutionView> {
        let (execution, _, owner) = self.execution_read(scope, id).await?;
        if execution.status.is_final() {
            return Err(state_conflict(&execution, "canceled"));
        }
        let now = self.now();
        let sealer = self.sealer(&owner).await?;
        let actor = ctx.actor.actor_text();
        let canceled = RunbookExecution {
            status: ExecutionStatus::Canceled,
            canceled_by: Some(actor.clone()),
            updated_at: now,
            finished_at: Some(now),
            ..execution.clone()
        };
        let mut tx = self.store().write().await?;
        if !tx.cancel_runbook_execution(&canceled).await? {
            tx.rollback().await?;
            let now_is = self
                .execution_read(scope, id)
                .await
                .map(|(execution, _, _)| execution)
                .unwrap_or(execution);
            return Err(state_conflict(&now_is, "canceled"));
        }
        // Whatever step it is at now (it may have moved on since it was read).
        let withdrawn = tx.withdraw_queued_runbook_steps(execution.id, now).await?;
        tx.skip_pending_runbook_steps(execution.id).await?;
        if let Some(incident) = execution.incident_id {
            add_timeline(
                &mut tx,
                &sealer,
                incident,
                now,
                &actor,
                "runbook.canceled",
                json!({
                    "execution": execution.id.to_string(),
                    "runbook": execution.runbook_identifier,
                }),
            )
            .await?;
        }
        tx.commit(
            ctx.audit(now, "runbook_execution.cancel", "runbook_execution")
                .scope(scope)
                .resource_id(execution.id)
                .details(json!({
                    "runbook": execution.runbook_identifier,
                    "from": execution.status.as_str(),
                    "steps_withdrawn": withdrawn,
                }))
                .build(),
        )
        .await?;
        self.runbook_execution(scope, id).await
    }

    /// Executions of a project, or of one of its runbooks, newest first.
    pub async fn runbook_executions(
        &self,
        scope: Scope,
        runbook: Option<&str>,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> AppResult<Page<RunbookExecution>> {
        let (project, _) = project_scope(scope)?;
        let page = crate::platform::page_request(limit, cursor)?;
        let runbook = match runbook {
            Some(identifier) => Some(self.runbook_versions(scope, identifier).await?.0.id),
            None => None,
        };
        Ok(self
            .store()
            .runbook_executions(project, runbook, &page)
            .await?)
    }

    /// One execution with its inputs, steps and what its delegates reported.
    pub async fn runbook_execution(&self, scope: Scope, id: &str) -> AppResult<ExecutionView> {
        let (execution, inputs, owner) = self.execution_read(scope, id).await?;
        let steps = self.store().runbook_execution_steps(execution.id).await?;
        let opener = self.opener(&owner).await?;
        let mut views = Vec::with_capacity(steps.len());
        for step in steps {
            let output = match step.task_id {
                Some(task) => self
                    .store()
                    .delegate_task(execution_project(&execution)?, task)
                    .await?
                    .and_then(|task| task.result_sealed.map(|sealed| (task.id, sealed)))
                    .map(|(task, sealed)| {
                        let task = task.to_string();
                        opener.open_text(
                            &crate::platform::delegates::task_result_place(&owner, &task),
                            &sealed,
                        )
                    })
                    .transpose()?,
                None => None,
            };
            views.push(StepView { step, output });
        }
        let incident_number = match execution.incident_id {
            Some(incident) => self
                .store()
                .incident_by_id(incident)
                .await?
                .map(|(incident, _)| incident.number),
            None => None,
        };
        Ok(ExecutionView {
            execution,
            incident_number,
            inputs: inputs.into_iter().collect(),
            steps: views,
        })
    }

    /// A token that changes whenever execution `id`'s page would: its status and last
    /// change, each step's status, and the last report of each step still running (a
    /// script's output grows while it runs). Nothing is opened.
    pub async fn runbook_execution_watermark(&self, scope: Scope, id: &str) -> AppResult<String> {
        let (project, _) = project_scope(scope)?;
        let id: RunbookExecutionId = id.parse().map_err(|_| not_found())?;
        let (execution, _) = self
            .store()
            .runbook_execution(project, id)
            .await?
            .ok_or_else(not_found)?;
        let mut mark = format!(
            "{}.{}",
            execution.status.as_str(),
            execution.updated_at.as_microsecond()
        );
        for step in self.store().runbook_execution_steps(id).await? {
            mark.push('.');
            mark.push_str(step.status.as_str());
            if let (StepStatus::Running, Some(task)) = (step.status, step.task_id)
                && let Some(task) = self.store().delegate_task(project, task).await?
            {
                mark.push_str(&format!("@{}", task.updated_at.as_microsecond()));
            }
        }
        Ok(mark)
    }

    /// An execution of the project at `scope` with its inputs opened, and the owner of
    /// the project's key.
    async fn execution_read(
        &self,
        scope: Scope,
        id: &str,
    ) -> AppResult<(RunbookExecution, BTreeMap<String, String>, String)> {
        let (project, owner) = project_scope(scope)?;
        let id: RunbookExecutionId = id.parse().map_err(|_| not_found())?;
        let (execution, sealed) = self
            .store()
            .runbook_execution(project, id)
            .await?
            .ok_or_else(not_found)?;
        let inputs = self.execution_inputs(&owner, id, &sealed).await?;
        Ok((execution, inputs, owner))
    }

    /// An execution's bound inputs, opened.
    async fn execution_inputs(
        &self,
        owner: &str,
        id: RunbookExecutionId,
        sealed: &[u8],
    ) -> AppResult<BTreeMap<String, String>> {
        let opened = self
            .open_sealed(&inputs_place(owner, &id.to_string()), sealed)
            .await?;
        serde_json::from_slice(&opened)
            .map_err(|_| AppError::Integrity(format!("execution {id}'s inputs do not parse")))
    }

    /// The definition an execution runs, or why it is gone (its runbook was deleted).
    async fn definition_of(
        &self,
        execution: &RunbookExecution,
        owner: &str,
    ) -> AppResult<Result<Definition, Gone>> {
        let Some((_, sealed)) = self
            .store()
            .sealed_runbook_definition(execution.runbook_id, execution.runbook_version)
            .await?
        else {
            return Ok(Err(Gone));
        };
        let opened = self
            .open_sealed(
                &crate::sre::runbooks::definition_place(
                    owner,
                    &execution.runbook_id.to_string(),
                    execution.runbook_version,
                ),
                &sealed,
            )
            .await?;
        let document: rampart_domain::sre::runbooks::RunbookDoc = serde_json::from_slice(&opened)
            .map_err(|_| {
            AppError::Integrity(format!("runbook {} does not parse", execution.runbook_id))
        })?;
        document.parse().map(Ok).map_err(|_| {
            AppError::Integrity(format!("runbook {} is not valid", execution.runbook_id))
        })
    }

    /// The actions that run an execution's steps from `from`: the server's steps up to
    /// the next delegate step, whose task is built (secrets read, arguments sealed), or
    /// to the end.
    async fn actions_from(
        &self,
        execution: &RunbookExecution,
        definition: &Definition,
        inputs: &BTreeMap<String, String>,
        from: u32,
        sealer: &Sealer,
        now: Timestamp,
    ) -> AppResult<Vec<Action>> {
        let mut actions = Vec::new();
        for (step, index) in definition.steps.iter().zip(0_u32..).skip(from as usize) {
            let row = pending_step(step, index);
            match step {
                Step::AddNote { text, .. } => actions.push(Action::Note {
                    step: row,
                    text: text.render(inputs, &BTreeMap::new(), str::to_owned),
                }),
                Step::SetStatus { status, .. } => actions.push(Action::Status {
                    step: row,
                    to: *status,
                }),
                Step::Page { users, .. } => match self.page_recipients(execution, users).await? {
                    Ok(users) => actions.push(Action::Page { step: row, users }),
                    Err(message) => {
                        actions.push(Action::Fail {
                            step: row,
                            error_code: "page_recipient_unknown",
                            message,
                        });
                        return Ok(actions);
                    }
                },
                Step::Script { .. }
                | Step::HttpRequest { .. }
                | Step::PrometheusQuery { .. }
                | Step::Notification { .. } => {
                    let action = match self
                        .step_task(execution, definition, step, inputs, sealer, now)
                        .await
                    {
                        Ok(Ok(task)) => Action::Task {
                            step: row,
                            task: Box::new(task),
                        },
                        Ok(Err(message)) => Action::Fail {
                            step: row,
                            error_code: "secret_unavailable",
                            message,
                        },
                        Err(error @ (AppError::Unavailable(_) | AppError::Contention(_))) => {
                            return Err(error);
                        }
                        // This step cannot start; the ones before it still run.
                        Err(error) => Action::Fail {
                            step: row,
                            error_code: "step_unavailable",
                            message: format!("{error}"),
                        },
                    };
                    actions.push(action);
                    return Ok(actions);
                }
            }
        }
        actions.push(Action::Done);
        Ok(actions)
    }

    /// The users a page step names, each an enabled user who may see the project's
    /// incidents, or why not (an unknown address and one who may not see the incident
    /// read the same: a runbook must not tell who has an account).
    async fn page_recipients(
        &self,
        execution: &RunbookExecution,
        emails: &[rampart_domain::Email],
    ) -> AppResult<Result<Vec<(UserId, String)>, String>> {
        let mut users = Vec::new();
        for email in emails {
            let found = self.store().user_credentials_by_email(email).await?;
            let user = match found {
                Some(credentials) if !credentials.user.disabled => {
                    let principal = PrincipalId::User(credentials.user.id);
                    let access = self.store().access_of(principal).await?;
                    access
                        .permissions_at(principal, execution.scope)
                        .contains(Permission::IncidentView)
                        .then_some(credentials.user.id)
                }
                _ => None,
            };
            match user {
                Some(id) => users.push((id, email.normalized().to_owned())),
                None => {
                    return Ok(Err(format!(
                        "{} is not a user who can see this project's incidents",
                        email.normalized()
                    )));
                }
            }
        }
        Ok(Ok(users))
    }

    /// The task of a delegate step, or why it cannot start.
    async fn step_task(
        &self,
        execution: &RunbookExecution,
        definition: &Definition,
        step: &Step,
        inputs: &BTreeMap<String, String>,
        sealer: &Sealer,
        now: Timestamp,
    ) -> AppResult<Result<DelegateTask, String>> {
        let wanted = step.secrets_used();
        let mut secrets = BTreeMap::new();
        for name in wanted {
            let Some(identifier) = definition.secrets.get(name) else {
                continue;
            };
            match self
                .read_secret(&Ctx::system(), execution.scope, identifier.as_str(), None)
                .await
            {
                Ok(value) => {
                    secrets.insert(name.to_owned(), value);
                }
                Err(AppError::NotFound { .. } | AppError::Gone { .. }) => {
                    return Ok(Err(format!(
                        "the project secret {identifier} ({name}) is gone or unreadable"
                    )));
                }
                Err(other) => return Err(other),
            }
        }
        let plain: BTreeMap<String, String> = secrets
            .iter()
            .map(|(name, value)| (name.clone(), value.as_str().to_owned()))
            .collect();
        // The shapes of `rampart_api::platform::{ScriptTask, HttpRequestTask,
        // PrometheusQueryTask}`, which
        // the delegate reads strictly (the runbook execution tests run a real one).
        let (kind, arguments) = match step {
            Step::Script {
                script,
                tcp_connect_ports,
                limits,
                ..
            } => (
                TaskKind::Script,
                json!({
                    "script": script,
                    "inputs": inputs,
                    "secrets": plain,
                    "tcp_connect_ports": tcp_connect_ports,
                    "limits": {
                        "wall_seconds": limits.wall_seconds,
                        "cpu_seconds": limits.cpu_seconds,
                        "memory_bytes": limits.memory_bytes,
                        "processes": limits.processes,
                        "file_bytes": limits.file_bytes,
                        "output_bytes": limits.output_bytes,
                    },
                }),
            ),
            Step::HttpRequest {
                method,
                url,
                headers,
                body,
                timeout_seconds,
                ..
            } => (
                TaskKind::HttpRequest,
                json!({
                    "method": method,
                    "url": url.render(inputs, &BTreeMap::new(), percent_encode),
                    "headers": headers
                        .iter()
                        .map(|(name, value)| {
                            (name.clone(), value.render(inputs, &plain, str::to_owned))
                        })
                        .collect::<BTreeMap<_, _>>(),
                    "body": body
                        .as_ref()
                        .map(|body| body.render(inputs, &plain, str::to_owned)),
                    "timeout_seconds": timeout_seconds,
                    "mask": plain.values().collect::<Vec<_>>(),
                }),
            ),
            Step::PrometheusQuery {
                url,
                query,
                range,
                headers,
                timeout_seconds,
                ..
            } => (
                TaskKind::PrometheusQuery,
                json!({
                    "url": url.render(inputs, &BTreeMap::new(), percent_encode),
                    "query": query.render(inputs, &BTreeMap::new(), str::to_owned),
                    // Evaluated when the delegate runs it: "now" is then.
                    "range": range.map(|range| json!({
                        "seconds": range.seconds,
                        "step_seconds": range.step_seconds,
                    })),
                    "headers": headers
                        .iter()
                        .map(|(name, value)| {
                            (name.clone(), value.render(inputs, &plain, str::to_owned))
                        })
                        .collect::<BTreeMap<_, _>>(),
                    "timeout_seconds": timeout_seconds,
                    "mask": plain.values().collect::<Vec<_>>(),
                }),
            ),
            Step::Notification {
                channel,
                to,
                subject,
                text,
                ..
            } => {
                let subject = subject.render(inputs, &BTreeMap::new(), str::to_owned);
                let text = text.render(inputs, &BTreeMap::new(), str::to_owned);
                (
                    TaskKind::Notification,
                    json!({
                        "channel": channel,
                        "to": to.render(inputs, &plain, str::to_owned),
                        "subject": subject,
                        "text": text,
                        "event": {
                            "event": "runbook.notification",
                            "runbook": execution.runbook_identifier,
                            "execution": execution.id.to_string(),
                            "subject": subject,
                            "text": text,
                        },
                        "mask": plain.values().collect::<Vec<_>>(),
                    }),
                )
            }
            Step::AddNote { .. } | Step::SetStatus { .. } | Step::Page { .. } => {
                return Err(AppError::Internal("a server step has no task".into()));
            }
        };
        let arguments = Zeroizing::new(arguments.to_string());
        let task = queue_task(
            sealer,
            NewTask {
                project: execution_project(execution)?,
                kind,
                selector: definition.delegate_selector.clone(),
                target: None,
                arguments: arguments.to_string(),
                subject: Some(format!("runbook_execution:{}", execution.id)),
            },
            now,
        )?;
        Ok(Ok(task))
    }

    /// Makes `step` in `tx`: claims the execution in the state it was read in (nothing
    /// is written when another move came first), records the delegate step that ended,
    /// then takes the actions until one waits for a delegate or fails.
    async fn apply_move(
        &self,
        tx: &mut WriteTx,
        sealer: &Sealer,
        step: Move,
        now: Timestamp,
    ) -> AppResult<Claimed> {
        let Move {
            from,
            mut execution,
            ended,
            actions,
        } = step;
        execution.updated_at = now;
        if !tx.update_runbook_execution(&execution, from).await? {
            return Ok(Claimed(None));
        }
        let actor = actor_of(&execution);
        let mut moved = Moved::default();
        if let Some(ended) = ended {
            let failed = ended.status != StepStatus::Succeeded;
            self.record_step(
                tx,
                sealer,
                &execution,
                ExecutionStep {
                    status: ended.status,
                    error_code: ended.error_code.clone(),
                    finished_at: Some(now),
                    task_id: Some(ended.task.id),
                    ..ended.step
                },
                ended.output.as_deref(),
                now,
                &mut moved,
            )
            .await?;
            if failed {
                self.finish(tx, sealer, &mut execution, ended.error_code, now)
                    .await?;
                return Ok(Claimed(Some(moved)));
            }
        }
        for action in actions {
            match action {
                Action::Note { step, text } => {
                    let incident = execution.incident_id.ok_or_else(no_incident)?;
                    add_timeline(
                        tx,
                        sealer,
                        incident,
                        now,
                        &actor,
                        "note",
                        json!({ "text": text }),
                    )
                    .await?;
                    self.server_step_done(tx, sealer, &execution, step, None, now, &mut moved)
                        .await?;
                }
                Action::Status { step, to } => {
                    let incident = execution.incident_id.ok_or_else(no_incident)?;
                    let refused = self
                        .move_incident(tx, sealer, incident, to, None, &actor, now)
                        .await?
                        .err()
                        .map(|refusal| refusal.code.as_str().to_owned());
                    self.server_step_done(
                        tx,
                        sealer,
                        &execution,
                        step,
                        refused.clone(),
                        now,
                        &mut moved,
                    )
                    .await?;
                    if refused.is_some() {
                        self.finish(tx, sealer, &mut execution, refused, now)
                            .await?;
                        return Ok(Claimed(Some(moved)));
                    }
                }
                Action::Page { step, users } => {
                    let incident = execution.incident_id.ok_or_else(no_incident)?;
                    let project = execution_project(&execution)?;
                    for (user, _) in &users {
                        crate::sre::notifications::notify(
                            tx,
                            *user,
                            incident,
                            project,
                            "page",
                            (0, 0),
                            now,
                        )
                        .await?;
                    }
                    let output = json!({
                        "paged": users.iter().map(|(_, email)| email).collect::<Vec<_>>(),
                    })
                    .to_string();
                    let step = ExecutionStep {
                        status: StepStatus::Succeeded,
                        started_at: Some(now),
                        finished_at: Some(now),
                        ..step
                    };
                    self.record_step(tx, sealer, &execution, step, Some(&output), now, &mut moved)
                        .await?;
                }
                Action::Fail {
                    step,
                    error_code,
                    message,
                } => {
                    tracing::warn!(execution = %execution.id, step = step.index, message, "a runbook step cannot start");
                    self.server_step_done(
                        tx,
                        sealer,
                        &execution,
                        step,
                        Some(error_code.to_owned()),
                        now,
                        &mut moved,
                    )
                    .await?;
                    self.finish(tx, sealer, &mut execution, Some(error_code.to_owned()), now)
                        .await?;
                    return Ok(Claimed(Some(moved)));
                }
                Action::Task { step, task } => {
                    tx.insert_delegate_task(&task).await?;
                    let index = step.index;
                    let step = ExecutionStep {
                        status: StepStatus::Running,
                        task_id: Some(task.id),
                        started_at: Some(now),
                        ..step
                    };
                    tx.update_runbook_execution_step(execution.id, &step)
                        .await?;
                    let before = (execution.status, execution.current_step);
                    execution.current_step = index;
                    tx.update_runbook_execution(&execution, before).await?;
                    moved.queued = true;
                    return Ok(Claimed(Some(moved)));
                }
                Action::Done => {
                    self.finish(tx, sealer, &mut execution, None, now).await?;
                    return Ok(Claimed(Some(moved)));
                }
            }
        }
        Ok(Claimed(Some(moved)))
    }

    /// Records a server step that ran now (`error_code`: it failed).
    #[allow(clippy::too_many_arguments)]
    async fn server_step_done(
        &self,
        tx: &mut WriteTx,
        sealer: &Sealer,
        execution: &RunbookExecution,
        step: ExecutionStep,
        error_code: Option<String>,
        now: Timestamp,
        moved: &mut Moved,
    ) -> AppResult<()> {
        let step = ExecutionStep {
            status: if error_code.is_some() {
                StepStatus::Failed
            } else {
                StepStatus::Succeeded
            },
            error_code,
            started_at: Some(now),
            finished_at: Some(now),
            ..step
        };
        self.record_step(tx, sealer, execution, step, None, now, moved)
            .await
    }

    /// Writes a step that ended, its audit record and, on an incident, its timeline
    /// entry with the delegate's output.
    #[allow(clippy::too_many_arguments)]
    async fn record_step(
        &self,
        tx: &mut WriteTx,
        sealer: &Sealer,
        execution: &RunbookExecution,
        step: ExecutionStep,
        output: Option<&str>,
        now: Timestamp,
        moved: &mut Moved,
    ) -> AppResult<()> {
        tx.update_runbook_execution_step(execution.id, &step)
            .await?;
        let details = json!({
            "execution": execution.id.to_string(),
            "runbook": execution.runbook_identifier,
            "step": step.index,
            "name": step.name,
            "kind": step.kind,
            "status": step.status.as_str(),
            "error_code": step.error_code,
            "task": step.task_id.map(|id| id.to_string()),
        });
        if let Some(incident) = execution.incident_id {
            let mut body = details.clone();
            if let Some(output) = output {
                // A delegate reports JSON (a script's exit and output, an answer's
                // status and body); anything else is kept as text.
                if let Some(fields) = body.as_object_mut() {
                    fields.insert(
                        "output".to_owned(),
                        serde_json::from_str(output)
                            .unwrap_or_else(|_| Value::String(output.to_owned())),
                    );
                }
            }
            add_timeline(
                tx,
                sealer,
                incident,
                now,
                &actor_of(execution),
                "runbook.step",
                body,
            )
            .await?;
        }
        moved.audits.push(
            Ctx::system()
                .audit(now, "runbook_execution.step", "runbook_execution")
                .actor(actor_of(execution))
                .scope(execution.scope)
                .resource_id(execution.id)
                .details(details)
                .build(),
        );
        Ok(())
    }

    /// Ends an execution: succeeded without `error_code`, failed with one; the steps
    /// not reached are skipped.
    async fn finish(
        &self,
        tx: &mut WriteTx,
        sealer: &Sealer,
        execution: &mut RunbookExecution,
        error_code: Option<String>,
        now: Timestamp,
    ) -> AppResult<()> {
        let before = (execution.status, execution.current_step);
        execution.status = if error_code.is_some() {
            ExecutionStatus::Failed
        } else {
            ExecutionStatus::Succeeded
        };
        execution.error_code = error_code;
        execution.finished_at = Some(now);
        tx.update_runbook_execution(execution, before).await?;
        tx.skip_pending_runbook_steps(execution.id).await?;
        if let Some(incident) = execution.incident_id {
            add_timeline(
                tx,
                sealer,
                incident,
                now,
                &actor_of(execution),
                "runbook.finished",
                json!({
                    "execution": execution.id.to_string(),
                    "runbook": execution.runbook_identifier,
                    "status": execution.status.as_str(),
                    "error_code": execution.error_code,
                }),
            )
            .await?;
        }
        Ok(())
    }

    /// Before the transaction that ends a delegate task: when the task runs a step of
    /// an execution and ended for good, how the execution moves on (the next steps'
    /// tasks built here, outside the transaction).
    pub(crate) async fn prepare_step_end(
        &self,
        task: &DelegateTask,
        status: TaskStatus,
        error_code: Option<&str>,
        output: Option<&str>,
        sealer: &Sealer,
    ) -> AppResult<Option<PreparedStepEnd>> {
        if !status.is_final() || !task.kind.runs_a_runbook_step() {
            return Ok(None);
        }
        let Some((id, index)) = self.store().runbook_step_of_task(task.id).await? else {
            return Ok(None);
        };
        let Some((execution, sealed)) = self.store().runbook_execution(task.project_id, id).await?
        else {
            return Ok(None);
        };
        let owner = task.project_id.to_string();
        let rows = self.store().runbook_execution_steps(id).await?;
        let Some(row) = rows.iter().find(|row| row.index == index).cloned() else {
            return Err(AppError::Integrity(format!(
                "execution {id} has no step {index}"
            )));
        };
        let step_status = if status == TaskStatus::Succeeded {
            StepStatus::Succeeded
        } else {
            StepStatus::Failed
        };
        let running_here =
            execution.status == ExecutionStatus::Running && execution.current_step == index;
        let mut actions = Vec::new();
        if running_here && step_status == StepStatus::Succeeded {
            let next = match self.execution_inputs(&owner, id, &sealed).await {
                Ok(inputs) => match self.definition_of(&execution, &owner).await {
                    Ok(Ok(definition)) => {
                        self.actions_from(
                            &execution,
                            &definition,
                            &inputs,
                            index + 1,
                            sealer,
                            self.now(),
                        )
                        .await
                    }
                    Ok(Err(Gone)) => Ok(match definition_steps(&rows, index + 1) {
                        Some(step) => vec![Gone::action(step)],
                        None => vec![Action::Done],
                    }),
                    Err(error) => Err(error),
                },
                Err(error) => Err(error),
            };
            actions = match next {
                Ok(actions) => actions,
                Err(error @ (AppError::Unavailable(_) | AppError::Contention(_))) => {
                    return Err(error);
                }
                // The step that ended is recorded whatever happens to the next one.
                Err(error) => {
                    tracing::error!(?error, execution = %id, "the next runbook step cannot start");
                    match definition_steps(&rows, index + 1) {
                        Some(step) => vec![Action::Fail {
                            step,
                            error_code: "step_unavailable",
                            message: "the step could not be prepared".into(),
                        }],
                        None => vec![Action::Done],
                    }
                }
            };
        }
        Ok(Some(PreparedStepEnd {
            running_here,
            step: Move {
                from: (execution.status, execution.current_step),
                execution,
                ended: Some(StepEnd {
                    step: row,
                    status: step_status,
                    error_code: match step_status {
                        StepStatus::Succeeded => None,
                        _ => Some(error_code.unwrap_or("task_failed").to_owned()),
                    },
                    task: task.clone(),
                    output: output.map(str::to_owned),
                }),
                actions,
            },
        }))
    }

    /// In the transaction that ended a delegate task: records the step it ran and moves
    /// the execution on as prepared. A step whose execution was canceled, or moved by
    /// another, is recorded without moving anything.
    pub(crate) async fn finish_step(
        &self,
        tx: &mut WriteTx,
        sealer: &Sealer,
        prepared: PreparedStepEnd,
        now: Timestamp,
    ) -> AppResult<Moved> {
        let PreparedStepEnd { running_here, step } = prepared;
        let execution = step.execution.clone();
        let ended = step.ended.clone();
        if running_here && let Some(moved) = self.apply_move(tx, sealer, step, now).await?.claimed()
        {
            return Ok(moved);
        }
        // Not this step's turn any more (the execution was canceled, or moved on by
        // another): its result is kept all the same.
        let mut moved = Moved::default();
        if let Some(ended) = ended {
            let step = ExecutionStep {
                status: ended.status,
                error_code: ended.error_code,
                finished_at: Some(now),
                task_id: Some(ended.task.id),
                ..ended.step
            };
            self.record_step(
                tx,
                sealer,
                &execution,
                step,
                ended.output.as_deref(),
                now,
                &mut moved,
            )
            .await?;
        }
        Ok(moved)
    }
}

/// A move's claim: `None` when the execution was not in the state the move was
/// computed from.
pub(crate) struct Claimed(Option<Moved>);

impl Claimed {
    fn claimed(self) -> Option<Moved> {
        self.0
    }
}

/// A step end worked out before its transaction (see [`App::prepare_step_end`]).
pub(crate) struct PreparedStepEnd {
    running_here: bool,
    step: Move,
}

/// A runbook version that is no longer there.
#[derive(Clone, Copy, Debug)]
struct Gone;

impl Gone {
    /// The next step, `step`, fails: there is no definition left to run.
    fn action(step: ExecutionStep) -> Action {
        Action::Fail {
            step,
            error_code: "runbook_deleted",
            message: "the runbook was deleted".into(),
        }
    }
}

/// Step `index`'s row among an execution's, if it has that many.
fn definition_steps(rows: &[ExecutionStep], index: u32) -> Option<ExecutionStep> {
    rows.iter().find(|row| row.index == index).cloned()
}

fn no_incident() -> AppError {
    AppError::Integrity("an incident step of an execution without an incident".into())
}

fn execution_project(execution: &RunbookExecution) -> AppResult<rampart_domain::ProjectId> {
    execution
        .scope
        .project_id()
        .ok_or_else(|| AppError::Integrity(format!("execution {} has no project", execution.id)))
}

fn state_conflict(execution: &RunbookExecution, wanted: &str) -> AppError {
    AppError::conflict(
        ErrorCode::ExecutionStateConflict,
        format!(
            "execution {} is {}: it cannot be {wanted}",
            execution.id,
            execution.status.as_str()
        ),
    )
}
