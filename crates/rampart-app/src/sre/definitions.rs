//! The stored definitions of schedules and escalation policies (validated documents
//! stored as JSON, one table for both kinds): create, replace, delete (refused while in
//! use), read and list, each audited. The typed use cases of each kind, and what a
//! definition means, live in [`super::schedules`] and [`super::escalation_policies`].

use rampart_domain::ErrorCode;
use rampart_domain::platform::tenancy::Scope;
use rampart_domain::sre::documents::{DefinitionKind, DefinitionRecord};
use rampart_domain::sre::documents::{PolicyDoc, ScheduleDoc};
use rampart_domain::{EscalationPolicyId, Name, ScheduleId, Slug, UserId};
use rampart_store::Page;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::{App, AppError, AppResult, Ctx, mint};

pub(crate) fn not_found(kind: DefinitionKind) -> AppError {
    AppError::NotFound {
        what: match kind {
            DefinitionKind::Schedule => "schedule",
            DefinitionKind::EscalationPolicy => "escalation policy",
        },
    }
}

/// The audit actions and resource type of a kind of definition.
pub(crate) fn audit_names(kind: DefinitionKind) -> (&'static str, &'static str, &'static str) {
    match kind {
        DefinitionKind::Schedule => ("schedule.create", "schedule.update", "schedule"),
        DefinitionKind::EscalationPolicy => (
            "escalation_policy.create",
            "escalation_policy.update",
            "escalation_policy",
        ),
    }
}

pub(crate) fn corrupt(what: &str) -> AppError {
    AppError::Integrity(format!("a stored {what} definition does not parse"))
}

/// A stored schedule or escalation policy with its document read back.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredDefinition<D> {
    pub record: DefinitionRecord,
    pub document: D,
}

impl<D: DeserializeOwned> StoredDefinition<D> {
    /// Reads the document of a stored definition of `kind` back.
    pub(crate) fn read(record: DefinitionRecord, kind: DefinitionKind) -> AppResult<Self> {
        let document = serde_json::from_str(&record.definition).map_err(|_| {
            corrupt(match kind {
                DefinitionKind::Schedule => "schedule",
                DefinitionKind::EscalationPolicy => "policy",
            })
        })?;
        Ok(Self { record, document })
    }
}

/// The document of a new or replaced definition, typed by its kind.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Document<'a> {
    Schedule(&'a ScheduleDoc),
    EscalationPolicy(&'a PolicyDoc),
}

impl Document<'_> {
    fn kind(self) -> DefinitionKind {
        match self {
            Self::Schedule(_) => DefinitionKind::Schedule,
            Self::EscalationPolicy(_) => DefinitionKind::EscalationPolicy,
        }
    }

    /// The stored form.
    fn to_json(self) -> AppResult<String> {
        match self {
            Self::Schedule(doc) => serde_json::to_string(doc),
            Self::EscalationPolicy(doc) => serde_json::to_string(doc),
        }
        .map_err(|error| AppError::Internal(error.to_string()))
    }
}

impl App {
    pub(crate) async fn definition_at(
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

    /// Checks a definition and that the users it names exist; answers its stored form.
    pub(crate) async fn check_definition(
        &self,
        scope: Scope,
        definition: Document<'_>,
    ) -> AppResult<String> {
        let users = match definition {
            Document::Schedule(doc) => {
                doc.to_schedule()?;
                doc.users()
            }
            Document::EscalationPolicy(doc) => {
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
                                        ErrorCode::UnknownSchedule,
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
                    ErrorCode::UnknownUser,
                    format!("{user:?} is not a user id"),
                ));
            }
        }
        definition.to_json()
    }

    /// Creates a schedule or an escalation policy.
    pub(crate) async fn create_definition(
        &self,
        ctx: &Ctx,
        scope: Scope,
        identifier: &str,
        name: &str,
        definition: Document<'_>,
    ) -> AppResult<DefinitionRecord> {
        let kind = definition.kind();
        let Scope::Project(org_id, project_id) = scope else {
            return Err(AppError::bad_request(
                ErrorCode::InvalidScope,
                "schedules and escalation policies belong to projects",
            ));
        };
        let definition = self.check_definition(scope, definition).await?;
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
                    ErrorCode::IdentifierTaken,
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
    pub(crate) async fn replace_definition(
        &self,
        ctx: &Ctx,
        scope: Scope,
        identifier: &str,
        name: &str,
        definition: Document<'_>,
    ) -> AppResult<DefinitionRecord> {
        let kind = definition.kind();
        let mut record = self.definition_at(kind, scope, identifier).await?;
        record.definition = self.check_definition(scope, definition).await?;
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
                        ErrorCode::ScheduleInUse,
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
                ErrorCode::PolicyInUse,
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

    /// One page of a kind's definitions, each with its document read back.
    pub(crate) async fn list_documents<D: DeserializeOwned>(
        &self,
        kind: DefinitionKind,
        scope: Scope,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> AppResult<Page<StoredDefinition<D>>> {
        let request = crate::platform::page_request(limit, cursor)?;
        let page = self.store().list_definitions(kind, scope, &request).await?;
        Ok(Page {
            items: page
                .items
                .into_iter()
                .map(|record| StoredDefinition::read(record, kind))
                .collect::<AppResult<_>>()?,
            next_cursor: page.next_cursor,
        })
    }
}
