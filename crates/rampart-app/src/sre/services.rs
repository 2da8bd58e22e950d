//! The service directory: create, list, change and delete services, their owner team,
//! subscribers and tags, and an organisation's names for the severity levels. A
//! service's webhooks are [`super::integrations`], its alert rules
//! [`super::alert_rules`].

use rampart_domain::ErrorCode;
use rampart_domain::platform::tenancy::Scope;
use rampart_domain::sre::services::Service;
use rampart_domain::sre::services::{SERVICE_SUBSCRIBERS_MAX, ServiceOwnership};
use rampart_domain::{Description, Name, ServiceId, Slug};
use rampart_store::Page;
use serde_json::json;

use crate::{App, AppError, AppResult, Ctx, mint};

/// A new service.
#[derive(Clone, Debug, Default)]
pub struct ServiceInput {
    pub identifier: String,
    pub name: String,
    pub description: Option<String>,
    pub auto_resolve: Option<bool>,
}

fn service_not_found() -> AppError {
    AppError::NotFound { what: "service" }
}
impl App {
    /// Sets a service's owner team, subscribers (`user:<id>` or `group:<id>`) and tags.
    pub async fn set_service_ownership(
        &self,
        ctx: &Ctx,
        scope: Scope,
        service: &str,
        ownership: ServiceOwnership,
    ) -> AppResult<ServiceOwnership> {
        let service = self.service_at(scope, service).await?;
        let group_exists = |id: &str| {
            let id = id.to_owned();
            async move {
                match id.parse::<uuid::Uuid>() {
                    Ok(uuid) => self
                        .store()
                        .user_group_by_id(uuid)
                        .await
                        .map(|group| group.is_some()),
                    Err(_) => Ok(false),
                }
            }
        };
        if let Some(group) = &ownership.owner_group
            && !group_exists(group).await?
        {
            return Err(AppError::bad_request(
                ErrorCode::UnknownGroup,
                format!("{group:?} is not a user group id"),
            ));
        }
        if ownership.subscribers.len() > SERVICE_SUBSCRIBERS_MAX {
            return Err(AppError::bad_request(
                ErrorCode::TooManySubscribers,
                format!("a service has at most {SERVICE_SUBSCRIBERS_MAX} subscribers"),
            ));
        }
        for subscriber in &ownership.subscribers {
            let known = match subscriber.split_once(':') {
                Some(("user", id)) => match id.parse::<rampart_domain::UserId>() {
                    Ok(user) => self.store().user_by_id(user).await?.is_some(),
                    Err(_) => false,
                },
                Some(("group", id)) => group_exists(id).await?,
                _ => false,
            };
            if !known {
                return Err(AppError::bad_request(
                    ErrorCode::UnknownSubscriber,
                    format!("{subscriber:?} is not user:<id> or group:<id> of an existing one"),
                ));
            }
        }
        let ownership = ServiceOwnership {
            tags: rampart_domain::iacm::workspaces::parse_tags(&ownership.tags)?,
            ..ownership
        };
        let now = self.now();
        let mut tx = self.store().write().await?;
        tx.set_service_ownership(service.id, &ownership, now)
            .await?;
        tx.commit(
            ctx.audit(now, "service.update", "service")
                .scope(scope)
                .resource_id(service.id)
                .details(json!({
                    "owner_group": ownership.owner_group,
                    "subscribers": ownership.subscribers.len(),
                    "tags": ownership.tags,
                }))
                .build(),
        )
        .await?;
        Ok(ownership)
    }

    /// Subscribes the calling user to a service's incidents (`subscribe`), or ends
    /// their own subscription. Only users subscribe (`not_a_user` for a service
    /// account); subscribing twice, or leaving when not subscribed, changes nothing.
    /// The list is changed under the service's row lock, so concurrent subscriptions
    /// all land.
    pub async fn set_own_subscription(
        &self,
        ctx: &Ctx,
        scope: Scope,
        service: &str,
        subscribe: bool,
    ) -> AppResult<ServiceOwnership> {
        let service = self.service_at(scope, service).await?;
        let rampart_domain::platform::identity::PrincipalId::User(user) = ctx.actor.principal
        else {
            return Err(AppError::bad_request(
                ErrorCode::NotAUser,
                "only a user can subscribe to a service, not a service account",
            ));
        };
        let me = format!("user:{user}");
        let now = self.now();
        let mut tx = self.store().write().await?;
        let mut ownership = tx
            .service_ownership_for_update(service.id)
            .await?
            .ok_or_else(service_not_found)?;
        let subscribed = ownership.subscribers.contains(&me);
        if subscribed == subscribe {
            tx.rollback().await?;
            return Ok(ownership);
        }
        if subscribe {
            if ownership.subscribers.len() >= SERVICE_SUBSCRIBERS_MAX {
                return Err(AppError::bad_request(
                    ErrorCode::TooManySubscribers,
                    format!("a service has at most {SERVICE_SUBSCRIBERS_MAX} subscribers"),
                ));
            }
            ownership.subscribers.push(me);
        } else {
            ownership.subscribers.retain(|subscriber| *subscriber != me);
        }
        tx.set_service_ownership(service.id, &ownership, now)
            .await?;
        tx.commit(
            ctx.audit(
                now,
                if subscribe {
                    "service.subscribe"
                } else {
                    "service.unsubscribe"
                },
                "service",
            )
            .scope(scope)
            .resource_id(service.id)
            .details(json!({ "identifier": service.identifier.as_str() }))
            .build(),
        )
        .await?;
        Ok(ownership)
    }

    /// Renames a service, changes its description or auto-resolve.
    pub async fn update_service(
        &self,
        ctx: &Ctx,
        scope: Scope,
        identifier: &str,
        name: Option<&str>,
        description: Option<&str>,
        auto_resolve: Option<bool>,
    ) -> AppResult<Service> {
        let mut service = self.service_at(scope, identifier).await?;
        if let Some(name) = name {
            service.name = Name::parse(name)?;
        }
        if let Some(description) = description {
            service.description = Description::parse(description)?;
        }
        if let Some(auto_resolve) = auto_resolve {
            service.auto_resolve = auto_resolve;
        }
        let now = self.now();
        service.updated_at = now;
        let mut tx = self.store().write().await?;
        tx.update_service(&service).await?;
        tx.commit(
            ctx.audit(now, "service.update", "service")
                .scope(scope)
                .resource_id(service.id)
                .details(json!({ "identifier": identifier, "name": name,
                                 "auto_resolve": auto_resolve }))
                .build(),
        )
        .await?;
        Ok(service)
    }

    /// Deletes a service with its integrations and alerts; its incidents stay.
    pub async fn delete_service(&self, ctx: &Ctx, scope: Scope, identifier: &str) -> AppResult<()> {
        let service = self.service_at(scope, identifier).await?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        tx.delete_service(service.id).await?;
        tx.commit(
            ctx.audit(now, "service.delete", "service")
                .scope(scope)
                .resource_id(service.id)
                .details(json!({ "identifier": identifier }))
                .build(),
        )
        .await?;
        Ok(())
    }

    /// A service's owner team, subscribers and tags.
    pub async fn service_ownership(&self, service: ServiceId) -> AppResult<ServiceOwnership> {
        Ok(self.store().service_ownership(service).await?)
    }

    /// The users a service's subscribers (its `ownership`) are now (groups expanded).
    pub(crate) async fn subscribed_users(
        &self,
        ownership: &ServiceOwnership,
    ) -> AppResult<Vec<rampart_domain::UserId>> {
        let mut users = Vec::new();
        for subscriber in &ownership.subscribers {
            match subscriber.split_once(':') {
                Some(("user", id)) => users.extend(id.parse::<rampart_domain::UserId>().ok()),
                Some(("group", id)) => users.extend(self.store().group_member_ids(id).await?),
                _ => {}
            }
        }
        users.sort();
        users.dedup();
        Ok(users)
    }

    /// An organisation's names for SEV0…SEV4 (missing levels keep their code).
    pub async fn severity_labels(
        &self,
        org: rampart_domain::OrgId,
    ) -> AppResult<std::collections::BTreeMap<String, String>> {
        serde_json::from_str(&self.store().severity_labels(org).await?)
            .map_err(|_| AppError::Integrity("stored severity labels do not parse".into()))
    }

    /// Renames SEV levels for an organisation.
    pub async fn set_severity_labels(
        &self,
        ctx: &Ctx,
        scope: Scope,
        labels: std::collections::BTreeMap<String, String>,
    ) -> AppResult<std::collections::BTreeMap<String, String>> {
        let Scope::Org(org) = scope else {
            return Err(AppError::bad_request(
                ErrorCode::InvalidScope,
                "severity labels belong to organisations",
            ));
        };
        for (level, label) in &labels {
            rampart_domain::sre::incidents::IncidentSeverity::parse(level)?;
            if label.trim().is_empty() || label.chars().count() > 40 {
                return Err(AppError::bad_request(
                    ErrorCode::InvalidLabel,
                    "a severity label is 1 to 40 characters",
                ));
            }
        }
        let stored = serde_json::to_string(&labels)
            .map_err(|error| AppError::Internal(error.to_string()))?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        tx.set_severity_labels(org, &stored).await?;
        tx.commit(
            ctx.audit(now, "org.severity_labels", "organization")
                .scope(scope)
                .resource_id(org)
                .details(json!({ "labels": labels }))
                .build(),
        )
        .await?;
        Ok(labels)
    }

    pub async fn create_service(
        &self,
        ctx: &Ctx,
        scope: Scope,
        input: ServiceInput,
    ) -> AppResult<Service> {
        let Scope::Project(org_id, project_id) = scope else {
            return Err(AppError::bad_request(
                ErrorCode::InvalidScope,
                "services belong to projects",
            ));
        };
        let now = self.now();
        let service = Service {
            id: mint(now, ServiceId::mint)?,
            org_id,
            project_id,
            identifier: Slug::parse(&input.identifier)?,
            name: Name::parse(&input.name)?,
            description: Description::parse(input.description.as_deref().unwrap_or(""))?,
            auto_resolve: input.auto_resolve.unwrap_or(true),
            created_at: now,
            updated_at: now,
        };
        let mut tx = self.store().write().await?;
        tx.insert_service(&service)
            .await
            .map_err(|error| match error {
                rampart_store::StoreError::Conflict { .. } => AppError::conflict(
                    ErrorCode::IdentifierTaken,
                    "a service with this identifier already exists in the project",
                ),
                other => other.into(),
            })?;
        tx.commit(
            ctx.audit(now, "service.create", "service")
                .scope(scope)
                .resource_id(service.id)
                .details(json!({ "identifier": service.identifier.as_str() }))
                .build(),
        )
        .await?;
        Ok(service)
    }

    pub async fn list_services(
        &self,
        scope: Scope,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> AppResult<Page<Service>> {
        let page = crate::platform::page_request(limit, cursor)?;
        Ok(self.store().list_services(scope, &page).await?)
    }

    pub async fn service_at(&self, scope: Scope, identifier: &str) -> AppResult<Service> {
        let slug = Slug::parse(identifier).map_err(|_| service_not_found())?;
        self.store()
            .service_by_identifier(scope, &slug)
            .await?
            .ok_or_else(service_not_found)
    }
}
