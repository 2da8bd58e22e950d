//! On-call: schedules and escalation policies of a project (definitions validated into
//! the domain's rules), who is on call, the escalation engine, and in-app notifications.
//!
//! The engine ([`App::run_escalations`], run by a background loop and safe on several
//! replicas: due rows are taken under `FOR UPDATE SKIP LOCKED` on PostgreSQL) pages each
//! due level: one in-app notification per user, with an outbound task queued for
//! delegates, in the transaction that moves the escalation and writes the audit event.
//! Acknowledging or resolving an incident stops its escalation.

use std::collections::HashMap;

use jiff::Timestamp;
use rampart_domain::platform::tenancy::Scope;
use rampart_domain::sre::documents::{PolicyDoc, ScheduleDoc};
use rampart_domain::sre::escalation::{Escalation, Policy, Resolve, Status, Target};
use rampart_domain::sre::schedule::{Schedule, Timeline, to_ical};
use rampart_domain::{EscalationPolicyId, Name, NotificationId, ScheduleId, Slug, UserId};
use rampart_store::Page;
pub use rampart_store::sre::definitions::{DefinitionKind, DefinitionRecord};
use rampart_store::sre::escalations::EscalationRow;
use rampart_store::sre::notifications::NotificationRow;
use serde_json::json;

use crate::{App, AppError, AppResult, Ctx, mint};

/// Escalations advanced per engine transaction.
const ENGINE_BATCH: u32 = 100;

fn not_found(kind: DefinitionKind) -> AppError {
    AppError::NotFound {
        what: match kind {
            DefinitionKind::Schedule => "schedule",
            DefinitionKind::EscalationPolicy => "escalation policy",
        },
    }
}

/// The audit actions and resource type of a kind of definition.
fn audit_names(kind: DefinitionKind) -> (&'static str, &'static str, &'static str) {
    match kind {
        DefinitionKind::Schedule => ("schedule.create", "schedule.update", "schedule"),
        DefinitionKind::EscalationPolicy => (
            "escalation_policy.create",
            "escalation_policy.update",
            "escalation_policy",
        ),
    }
}

fn corrupt(what: &str) -> AppError {
    AppError::Integrity(format!("a stored {what} definition does not parse"))
}

fn parse_schedule(definition: &str) -> AppResult<(ScheduleDoc, Schedule)> {
    let doc: ScheduleDoc = serde_json::from_str(definition).map_err(|_| corrupt("schedule"))?;
    let schedule = doc.to_schedule().map_err(|_| corrupt("schedule"))?;
    Ok((doc, schedule))
}

fn parse_policy(definition: &str) -> AppResult<Policy> {
    let doc: PolicyDoc = serde_json::from_str(definition).map_err(|_| corrupt("policy"))?;
    doc.to_policy().map_err(|_| corrupt("policy"))
}

/// Who targets are, from what was loaded before the engine's transaction.
struct Directory {
    groups: HashMap<String, Vec<String>>,
    schedules: HashMap<String, Schedule>,
}

impl Resolve for Directory {
    fn users(&self, target: &Target, at: Timestamp) -> Vec<String> {
        match target {
            Target::User(user) => vec![user.clone()],
            Target::Group(group) => self.groups.get(group).cloned().unwrap_or_default(),
            Target::Schedule(schedule) => self
                .schedules
                .get(schedule)
                .and_then(|schedule| schedule.on_call_at(at))
                .map(|(user, _)| vec![user.to_owned()])
                .unwrap_or_default(),
        }
    }
}

impl App {
    async fn definition_at(
        &self,
        kind: DefinitionKind,
        scope: Scope,
        identifier: &str,
    ) -> AppResult<DefinitionRecord> {
        let slug = Slug::parse(identifier).map_err(|_| not_found(kind))?;
        self.store()
            .definition_by_identifier(kind, scope, &slug)
            .await?
            .ok_or_else(|| not_found(kind))
    }

    /// Checks a definition and that the users it names exist.
    async fn check_definition(
        &self,
        kind: DefinitionKind,
        scope: Scope,
        definition: &serde_json::Value,
    ) -> AppResult<String> {
        let invalid = |error: serde_json::Error| {
            AppError::bad_request("invalid_definition", format!("the definition: {error}"))
        };
        let users = match kind {
            DefinitionKind::Schedule => {
                let doc: ScheduleDoc =
                    serde_json::from_value(definition.clone()).map_err(invalid)?;
                doc.to_schedule()?;
                doc.users()
            }
            DefinitionKind::EscalationPolicy => {
                let doc: PolicyDoc = serde_json::from_value(definition.clone()).map_err(invalid)?;
                doc.to_policy()?;
                let mut users = Vec::new();
                for target in doc.levels.iter().flat_map(|level| &level.targets) {
                    match target.kind.as_str() {
                        "user" => users.push(target.id.clone()),
                        "schedule" => {
                            self.definition_at(DefinitionKind::Schedule, scope, &target.id)
                                .await
                                .map_err(|_| {
                                    AppError::bad_request(
                                        "unknown_schedule",
                                        format!("no schedule {:?} in this project", target.id),
                                    )
                                })?;
                        }
                        _ => {}
                    }
                }
                users
            }
        };
        for user in users {
            let known = match user.parse::<UserId>() {
                Ok(id) => self.store().user_by_id(id).await?.is_some(),
                Err(_) => false,
            };
            if !known {
                return Err(AppError::bad_request(
                    "unknown_user",
                    format!("{user:?} is not a user id"),
                ));
            }
        }
        Ok(definition.to_string())
    }

    /// Creates a schedule or an escalation policy.
    pub async fn create_definition(
        &self,
        ctx: &Ctx,
        kind: DefinitionKind,
        scope: Scope,
        identifier: &str,
        name: &str,
        definition: &serde_json::Value,
    ) -> AppResult<DefinitionRecord> {
        let Scope::Project(org_id, project_id) = scope else {
            return Err(AppError::bad_request(
                "invalid_scope",
                "schedules and escalation policies belong to projects",
            ));
        };
        let definition = self.check_definition(kind, scope, definition).await?;
        let now = self.now();
        let id = match kind {
            DefinitionKind::Schedule => mint(now, ScheduleId::mint)?.to_string(),
            DefinitionKind::EscalationPolicy => mint(now, EscalationPolicyId::mint)?.to_string(),
        };
        let record = DefinitionRecord {
            id,
            org_id,
            project_id,
            identifier: Slug::parse(identifier)?,
            name: Name::parse(name)?,
            definition,
            created_at: now,
            updated_at: now,
        };
        let (action, _, resource) = audit_names(kind);
        let mut tx = self.store().write().await?;
        tx.insert_definition(kind, &record)
            .await
            .map_err(|error| match error {
                rampart_store::StoreError::Conflict { .. } => AppError::conflict(
                    "identifier_taken",
                    "the identifier is already used in this project",
                ),
                other => other.into(),
            })?;
        tx.commit(
            ctx.audit(now, action, resource)
                .scope(scope)
                .resource_id(&record.id)
                .details(json!({ "identifier": identifier }))
                .build(),
        )
        .await?;
        Ok(record)
    }

    /// Replaces a schedule's or policy's definition (and name).
    pub async fn replace_definition(
        &self,
        ctx: &Ctx,
        kind: DefinitionKind,
        scope: Scope,
        identifier: &str,
        name: &str,
        definition: &serde_json::Value,
    ) -> AppResult<DefinitionRecord> {
        let mut record = self.definition_at(kind, scope, identifier).await?;
        record.definition = self.check_definition(kind, scope, definition).await?;
        record.name = Name::parse(name)?;
        let now = self.now();
        record.updated_at = now;
        let (_, action, resource) = audit_names(kind);
        let mut tx = self.store().write().await?;
        tx.update_definition(kind, &record).await?;
        tx.commit(
            ctx.audit(now, action, resource)
                .scope(scope)
                .resource_id(&record.id)
                .details(json!({ "identifier": identifier }))
                .build(),
        )
        .await?;
        Ok(record)
    }

    /// Deletes a schedule (refused while a policy of the project targets it) or a
    /// policy (refused while a service pages with it).
    pub async fn delete_definition(
        &self,
        ctx: &Ctx,
        kind: DefinitionKind,
        scope: Scope,
        identifier: &str,
    ) -> AppResult<()> {
        let record = self.definition_at(kind, scope, identifier).await?;
        if kind == DefinitionKind::Schedule {
            let policies = self
                .store()
                .list_definitions(
                    DefinitionKind::EscalationPolicy,
                    scope,
                    &rampart_store::PageRequest {
                        after: None,
                        limit: 10_000,
                    },
                )
                .await?;
            for policy in policies.items {
                let doc: PolicyDoc =
                    serde_json::from_str(&policy.definition).map_err(|_| corrupt("policy"))?;
                let targets = doc.levels.iter().flat_map(|level| &level.targets);
                if targets
                    .into_iter()
                    .any(|t| t.kind == "schedule" && t.id == identifier)
                {
                    return Err(AppError::conflict(
                        "schedule_in_use",
                        format!(
                            "escalation policy {} pages this schedule; change it first",
                            policy.identifier
                        ),
                    ));
                }
            }
        }
        let now = self.now();
        let (_, _, resource) = audit_names(kind);
        let mut tx = self.store().write().await?;
        if kind == DefinitionKind::EscalationPolicy
            && tx.services_using_policy(&record.id).await? > 0
        {
            tx.rollback().await?;
            return Err(AppError::conflict(
                "policy_in_use",
                "services page with this escalation policy; change them first",
            ));
        }
        tx.delete_definition(kind, &record.id).await?;
        tx.commit(
            ctx.audit(now, &format!("{resource}.delete"), resource)
                .scope(scope)
                .resource_id(&record.id)
                .details(json!({ "identifier": identifier }))
                .build(),
        )
        .await?;
        Ok(())
    }

    pub async fn get_definition(
        &self,
        kind: DefinitionKind,
        scope: Scope,
        identifier: &str,
    ) -> AppResult<DefinitionRecord> {
        self.definition_at(kind, scope, identifier).await
    }

    pub async fn list_definitions(
        &self,
        kind: DefinitionKind,
        scope: Scope,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> AppResult<Page<DefinitionRecord>> {
        let page = crate::platform::page_request(limit, cursor)?;
        Ok(self.store().list_definitions(kind, scope, &page).await?)
    }

    /// Who is on call on a schedule at `at`.
    pub async fn on_call(
        &self,
        scope: Scope,
        schedule: &str,
        at: Timestamp,
    ) -> AppResult<Option<String>> {
        let record = self
            .definition_at(DefinitionKind::Schedule, scope, schedule)
            .await?;
        let (_, schedule) = parse_schedule(&record.definition)?;
        Ok(schedule.on_call_at(at).map(|(user, _)| user.to_owned()))
    }

    /// The final on-call timeline of a schedule over `[from, to)`, gaps included.
    pub async fn schedule_timeline(
        &self,
        scope: Scope,
        schedule: &str,
        from: Timestamp,
        to: Timestamp,
    ) -> AppResult<Timeline> {
        let record = self
            .definition_at(DefinitionKind::Schedule, scope, schedule)
            .await?;
        let (_, schedule) = parse_schedule(&record.definition)?;
        Ok(schedule.timeline(from, to)?)
    }

    /// The schedule's timeline as iCalendar.
    pub async fn schedule_ical(
        &self,
        scope: Scope,
        schedule: &str,
        from: Timestamp,
        to: Timestamp,
    ) -> AppResult<String> {
        let record = self
            .definition_at(DefinitionKind::Schedule, scope, schedule)
            .await?;
        let timeline = self.schedule_timeline(scope, schedule, from, to).await?;
        Ok(to_ical(record.name.as_str(), &record.id, &timeline))
    }

    /// Sets (or clears) the escalation policy a service pages with.
    pub async fn set_service_escalation_policy(
        &self,
        ctx: &Ctx,
        scope: Scope,
        service: &str,
        policy: Option<&str>,
    ) -> AppResult<()> {
        let service = self.service_at(scope, service).await?;
        let policy_id = match policy {
            Some(identifier) => Some(
                self.definition_at(DefinitionKind::EscalationPolicy, scope, identifier)
                    .await?
                    .id,
            ),
            None => None,
        };
        let now = self.now();
        let mut tx = self.store().write().await?;
        tx.set_service_policy(service.id, policy_id.as_deref())
            .await?;
        tx.commit(
            ctx.audit(now, "service.update", "service")
                .scope(scope)
                .resource_id(service.id)
                .details(json!({ "escalation_policy": policy }))
                .build(),
        )
        .await?;
        Ok(())
    }

    /// Loads who a policy's targets can be: group members and schedules.
    async fn directory_for(&self, scope: Scope, policy: &Policy) -> AppResult<Directory> {
        let mut directory = Directory {
            groups: HashMap::new(),
            schedules: HashMap::new(),
        };
        for target in policy.levels.iter().flat_map(|level| &level.targets) {
            match target {
                Target::Group(group) if !directory.groups.contains_key(group) => {
                    let members = self
                        .store()
                        .group_member_ids(group)
                        .await?
                        .into_iter()
                        .map(|id| id.to_string())
                        .collect();
                    directory.groups.insert(group.clone(), members);
                }
                Target::Schedule(identifier) if !directory.schedules.contains_key(identifier) => {
                    if let Ok(record) = self
                        .definition_at(DefinitionKind::Schedule, scope, identifier)
                        .await
                    {
                        let (_, schedule) = parse_schedule(&record.definition)?;
                        directory.schedules.insert(identifier.clone(), schedule);
                    }
                }
                _ => {}
            }
        }
        Ok(directory)
    }

    /// Advances every escalation that is due: pages levels, queues notifications.
    /// Returns how many notifications were created.
    pub async fn run_escalations(&self) -> AppResult<u64> {
        let now = self.now();
        let mut tx = self.store().write().await?;
        let due = tx.due_escalations(now, ENGINE_BATCH).await?;
        if due.is_empty() {
            tx.rollback().await?;
            return Ok(0);
        }
        let mut created = 0u64;
        let mut paged = Vec::new();
        for row in due {
            let Some(record) = self
                .store()
                .definition_by_id(DefinitionKind::EscalationPolicy, &row.policy_id)
                .await?
            else {
                continue;
            };
            let scope = Scope::Project(record.org_id, record.project_id);
            let policy = parse_policy(&record.definition)?;
            let directory = self.directory_for(scope, &policy).await?;
            let (mut escalation, mut pages) = if row.started {
                (
                    Escalation {
                        level: usize::try_from(row.level).unwrap_or(usize::MAX),
                        round: u32::try_from(row.round).unwrap_or(u32::MAX),
                        next_at: row.next_at,
                        status: Status::Waiting,
                    },
                    Vec::new(),
                )
            } else {
                Escalation::start(&policy, row.next_at, &directory)
            };
            pages.extend(escalation.advance(&policy, now, &directory));
            for page in &pages {
                for user in &page.users {
                    let Ok(user_id) = user.parse::<UserId>() else {
                        continue;
                    };
                    notify(
                        &mut tx,
                        user_id,
                        row.incident_id,
                        row.project_id,
                        "page",
                        (page.level as u64, u64::from(page.round)),
                        page.at,
                    )
                    .await?;
                    created += 1;
                }
                paged.push(json!({
                    "incident": row.incident_id.to_string(),
                    "level": page.level,
                    "round": page.round,
                    "users": page.users,
                }));
            }
            let status = match escalation.status {
                Status::Waiting => "waiting",
                Status::Acknowledged => "acknowledged",
                Status::Exhausted => "exhausted",
            };
            tx.update_escalation(&EscalationRow {
                started: true,
                level: escalation.level as u64,
                round: u64::from(escalation.round),
                next_at: escalation.next_at,
                status: status.into(),
                updated_at: now,
                ..row
            })
            .await?;
        }
        tx.commit(
            Ctx::system()
                .audit(now, "escalation.page", "incident")
                .details(json!({ "pages": paged, "notifications": created }))
                .build(),
        )
        .await?;
        Ok(created)
    }

    /// The caller's notifications, newest first.
    pub async fn my_notifications(
        &self,
        ctx: &Ctx,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> AppResult<Page<NotificationRow>> {
        let user = self.notified_user(ctx)?;
        let page = crate::platform::page_request(limit, cursor)?;
        Ok(self.store().notifications_of_user(user, &page).await?)
    }

    pub async fn mark_notification_read(&self, ctx: &Ctx, id: &str) -> AppResult<()> {
        let user = self.notified_user(ctx)?;
        let missing = || AppError::NotFound {
            what: "notification",
        };
        let id: NotificationId = id.parse().map_err(|_| missing())?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        if !tx.mark_notification_read(id, user, now).await? {
            tx.rollback().await?;
            return Err(missing());
        }
        tx.commit(
            ctx.audit(now, "notification.read", "notification")
                .resource_id(id)
                .build(),
        )
        .await?;
        Ok(())
    }

    fn notified_user(&self, ctx: &Ctx) -> AppResult<UserId> {
        match ctx.actor.principal {
            rampart_domain::platform::identity::PrincipalId::User(user) => Ok(user),
            _ => Err(AppError::bad_request(
                "not_a_user",
                "notifications belong to users, not service accounts",
            )),
        }
    }
}

/// Writes an in-app notification for `user` about an incident, with its outbound task
/// queued for delegates. `(level, round)` say which escalation step paged (0, 0 for a
/// subscription notice).
pub(crate) async fn notify(
    tx: &mut rampart_store::WriteTx,
    user: UserId,
    incident: rampart_domain::IncidentId,
    project: rampart_domain::ProjectId,
    kind: &str,
    (level, round): (u64, u64),
    at: Timestamp,
) -> AppResult<()> {
    let notification = NotificationRow {
        id: mint(at, NotificationId::mint)?,
        user_id: user,
        project_id: project,
        incident_id: incident,
        incident_number: 0,
        kind: kind.to_owned(),
        level,
        round,
        created_at: at,
        read_at: None,
    };
    let task = mint(at, NotificationId::mint)?.to_string();
    tx.insert_notification(&notification, &task).await?;
    Ok(())
}
