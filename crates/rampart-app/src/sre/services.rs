//! The service directory and the webhook integrations of each service. An
//! integration's credential (a `rmp_whk_` bearer token, a Basic password, or HMAC
//! signing secrets) is shown once at creation: the bearer token is kept only as a blind
//! index, Basic and HMAC secrets sealed with the project's key.

use rampart_domain::platform::identity::TokenKind;
use rampart_domain::platform::tenancy::Scope;
use rampart_domain::sre::incident::{
    AuthMode, INTEGRATION_CIDRS_MAX, INTEGRATION_RATE_LIMIT_DEFAULT, INTEGRATION_RATE_LIMIT_MAX,
    Integration, Service,
};
use rampart_domain::sre::payload::Format;
use rampart_domain::{Description, IntegrationId, Name, ServiceId, Slug};
use rampart_store::Page;
use rampart_store::sre::integrations::IntegrationRecord;
pub use rampart_store::sre::services::ServiceOwnership;
use serde::{Deserialize, Serialize};
use serde_json::json;
use zeroize::Zeroizing;

use crate::sealing::SealPlace;
use crate::{App, AppError, AppResult, Ctx, mint};

/// A new service.
#[derive(Clone, Debug, Default)]
pub struct ServiceInput {
    pub identifier: String,
    pub name: String,
    pub description: Option<String>,
    pub auto_resolve: Option<bool>,
}

/// A new integration.
#[derive(Clone, Debug, Default)]
pub struct IntegrationInput {
    pub name: String,
    pub format: String,
    pub auth_mode: String,
    pub source_cidrs: Vec<String>,
    pub rate_limit_per_minute: Option<u32>,
}

/// The credential of a new integration, shown once.
#[derive(Clone, Debug, PartialEq)]
pub enum IntegrationCredential {
    Bearer { token: String },
    Basic { username: String, password: String },
    Hmac { secret: String },
}

/// Sealed Basic and HMAC secrets.
#[derive(Serialize, Deserialize)]
pub(crate) struct StoredSecrets {
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    /// HMAC secrets; two while one is rotated.
    #[serde(default)]
    pub hmac: Vec<String>,
}

/// Where an integration's secrets are sealed.
pub(crate) fn credentials_place<'a>(owner: &'a str, id: &'a str) -> SealPlace<'a> {
    SealPlace {
        owner,
        entity_type: "integration",
        entity_id: id,
        field: "credentials",
        version: 0,
    }
}

/// The blind index of a webhook bearer token.
pub(crate) const WEBHOOK_TOKEN_DOMAIN: &str = "webhook-token";

fn random_secret() -> AppResult<String> {
    Ok(rampart_crypto::digest::hex(
        &rampart_crypto::random::bytes::<32>()?,
    ))
}

fn service_not_found() -> AppError {
    AppError::NotFound { what: "service" }
}

impl App {
    /// A new credential for `integration`: a bearer token (kept as a blind index), a Basic
    /// password, or an HMAC secret — added in front of `previous` secrets, of which the
    /// newest stays valid so senders can switch over.
    async fn mint_credential(
        &self,
        integration: &Integration,
        previous: Option<StoredSecrets>,
    ) -> AppResult<(IntegrationCredential, Option<[u8; 32]>, Option<Vec<u8>>)> {
        let owner = integration.project_id.to_string();
        let id = integration.id.to_string();
        let (credential, token_hmac, secrets) = match integration.auth_mode {
            AuthMode::Bearer => {
                let token = rampart_crypto::token::mint(TokenKind::Webhook)?;
                let hmac = self
                    .pepper()
                    .blind_index(WEBHOOK_TOKEN_DOMAIN, token.expose().as_bytes());
                (
                    IntegrationCredential::Bearer {
                        token: token.expose().to_owned(),
                    },
                    Some(hmac),
                    None,
                )
            }
            AuthMode::Basic => {
                let password = random_secret()?;
                let stored = StoredSecrets {
                    username: Some("rampart".into()),
                    password: Some(password.clone()),
                    hmac: Vec::new(),
                };
                (
                    IntegrationCredential::Basic {
                        username: "rampart".into(),
                        password,
                    },
                    None,
                    Some(stored),
                )
            }
            AuthMode::Hmac => {
                let secret = random_secret()?;
                let mut hmac = vec![secret.clone()];
                hmac.extend(previous.into_iter().flat_map(|p| p.hmac).take(1));
                let stored = StoredSecrets {
                    username: None,
                    password: None,
                    hmac,
                };
                (IntegrationCredential::Hmac { secret }, None, Some(stored))
            }
        };
        let credentials_sealed = match secrets {
            None => None,
            Some(stored) => {
                let json = Zeroizing::new(
                    serde_json::to_vec(&stored)
                        .map_err(|error| AppError::Internal(error.to_string()))?,
                );
                Some(
                    self.seal_value(&credentials_place(&owner, &id), &json)
                        .await?,
                )
            }
        };
        Ok((credential, token_hmac, credentials_sealed))
    }

    /// Rotates an integration's credential. Bearer tokens and Basic passwords are
    /// replaced at once; an HMAC integration gets a new secret while the previous one
    /// stays valid (two at most) until the next rotation.
    pub async fn rotate_integration_credential(
        &self,
        ctx: &Ctx,
        scope: Scope,
        service: &str,
        integration: &str,
    ) -> AppResult<(Integration, IntegrationCredential)> {
        let service = self.service_at(scope, service).await?;
        let missing = || AppError::NotFound {
            what: "integration",
        };
        let id: IntegrationId = integration.parse().map_err(|_| missing())?;
        let record = self
            .store()
            .integration(id)
            .await?
            .filter(|record| record.integration.service_id == service.id)
            .ok_or_else(missing)?;
        let previous = match record.integration.auth_mode {
            AuthMode::Hmac => Some(self.integration_secrets(&record).await?),
            _ => None,
        };
        let (credential, token_hmac, sealed) =
            self.mint_credential(&record.integration, previous).await?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        tx.update_integration_credentials(id, token_hmac, sealed.as_deref())
            .await?;
        tx.commit(
            ctx.audit(now, "integration.rotate", "integration")
                .scope(scope)
                .resource_id(id)
                .details(json!({ "auth_mode": record.integration.auth_mode.as_str() }))
                .build(),
        )
        .await?;
        Ok((record.integration, credential))
    }

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
                "unknown_group",
                format!("{group:?} is not a user group id"),
            ));
        }
        if ownership.subscribers.len() > 100 {
            return Err(AppError::bad_request(
                "too_many_subscribers",
                "a service has at most 100 subscribers",
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
                    "unknown_subscriber",
                    format!("{subscriber:?} is not user:<id> or group:<id> of an existing one"),
                ));
            }
        }
        let ownership = ServiceOwnership {
            tags: rampart_domain::iacm::workspace::parse_tags(&ownership.tags)?,
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

    /// Deletes an integration: its URL stops accepting webhooks at once.
    pub async fn delete_integration(
        &self,
        ctx: &Ctx,
        scope: Scope,
        service: &str,
        integration: &str,
    ) -> AppResult<()> {
        let service = self.service_at(scope, service).await?;
        let missing = || AppError::NotFound {
            what: "integration",
        };
        let id: IntegrationId = integration.parse().map_err(|_| missing())?;
        self.store()
            .integration(id)
            .await?
            .filter(|record| record.integration.service_id == service.id)
            .ok_or_else(missing)?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        tx.delete_integration(id).await?;
        tx.commit(
            ctx.audit(now, "integration.delete", "integration")
                .scope(scope)
                .resource_id(id)
                .build(),
        )
        .await?;
        Ok(())
    }

    /// A service's owner team, subscribers and tags.
    pub async fn service_ownership(&self, service: ServiceId) -> AppResult<ServiceOwnership> {
        Ok(self.store().service_ownership(service).await?)
    }

    /// The users a service's subscribers are now (groups expanded).
    pub(crate) async fn subscribed_users(
        &self,
        service: ServiceId,
    ) -> AppResult<Vec<rampart_domain::UserId>> {
        let mut users = Vec::new();
        for subscriber in self.store().service_ownership(service).await?.subscribers {
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
                "invalid_scope",
                "severity labels belong to organisations",
            ));
        };
        for (level, label) in &labels {
            rampart_domain::sre::incident::IncidentSeverity::parse(level)?;
            if label.trim().is_empty() || label.chars().count() > 40 {
                return Err(AppError::bad_request(
                    "invalid_label",
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

    /// A service's alert rules.
    pub async fn alert_rules(
        &self,
        scope: Scope,
        service: &str,
    ) -> AppResult<Vec<rampart_domain::sre::rules::AlertRule>> {
        let service = self.service_at(scope, service).await?;
        self.rules_of(service.id).await
    }

    pub(crate) async fn rules_of(
        &self,
        service: ServiceId,
    ) -> AppResult<Vec<rampart_domain::sre::rules::AlertRule>> {
        let stored = self.store().service_alert_rules(service).await?;
        serde_json::from_str(&stored)
            .map_err(|_| AppError::Integrity("stored alert rules do not parse".into()))
    }

    /// Replaces a service's alert rules (an ordered list; the first match decides).
    pub async fn set_alert_rules(
        &self,
        ctx: &Ctx,
        scope: Scope,
        service: &str,
        rules: &serde_json::Value,
    ) -> AppResult<Vec<rampart_domain::sre::rules::AlertRule>> {
        let service = self.service_at(scope, service).await?;
        let parsed: Vec<rampart_domain::sre::rules::AlertRule> =
            serde_json::from_value(rules.clone()).map_err(|error| {
                AppError::bad_request("invalid_rules", format!("the alert rules: {error}"))
            })?;
        rampart_domain::sre::rules::validate_rules(&parsed)?;
        let stored = serde_json::to_string(&parsed)
            .map_err(|error| AppError::Internal(error.to_string()))?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        tx.set_service_alert_rules(service.id, &stored).await?;
        tx.commit(
            ctx.audit(now, "service.alert_rules", "service")
                .scope(scope)
                .resource_id(service.id)
                .details(json!({ "rules": parsed.len() }))
                .build(),
        )
        .await?;
        Ok(parsed)
    }

    pub async fn create_service(
        &self,
        ctx: &Ctx,
        scope: Scope,
        input: ServiceInput,
    ) -> AppResult<Service> {
        let Scope::Project(org_id, project_id) = scope else {
            return Err(AppError::bad_request(
                "invalid_scope",
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
                    "identifier_taken",
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

    pub async fn list_integrations(
        &self,
        scope: Scope,
        service: &str,
    ) -> AppResult<Vec<Integration>> {
        let service = self.service_at(scope, service).await?;
        Ok(self
            .store()
            .integrations_of_service(service.id)
            .await?
            .into_iter()
            .map(|record| record.integration)
            .collect())
    }

    /// Adds a webhook integration to a service; the credential is returned once.
    pub async fn create_integration(
        &self,
        ctx: &Ctx,
        scope: Scope,
        service: &str,
        input: IntegrationInput,
    ) -> AppResult<(Integration, IntegrationCredential)> {
        let service = self.service_at(scope, service).await?;
        let now = self.now();
        let rate_limit = input
            .rate_limit_per_minute
            .unwrap_or(INTEGRATION_RATE_LIMIT_DEFAULT);
        if rate_limit == 0 || rate_limit > INTEGRATION_RATE_LIMIT_MAX {
            return Err(AppError::bad_request(
                "invalid_rate_limit_per_minute",
                format!("rate_limit_per_minute is 1 to {INTEGRATION_RATE_LIMIT_MAX}"),
            ));
        }
        let integration = Integration {
            id: mint(now, IntegrationId::mint)?,
            service_id: service.id,
            project_id: service.project_id,
            name: Name::parse(&input.name)?,
            format: Format::parse(&input.format)?,
            auth_mode: AuthMode::parse(&input.auth_mode)?,
            source_cidrs: crate::platform::network::parse_cidrs(
                &input.source_cidrs,
                INTEGRATION_CIDRS_MAX,
                "an integration",
            )?,
            rate_limit_per_minute: rate_limit,
            created_at: now,
        };
        let (credential, token_hmac, credentials_sealed) =
            self.mint_credential(&integration, None).await?;
        let mut tx = self.store().write().await?;
        tx.insert_integration(&IntegrationRecord {
            integration: integration.clone(),
            token_hmac,
            credentials_sealed,
        })
        .await?;
        tx.commit(
            ctx.audit(now, "integration.create", "integration")
                .scope(scope)
                .resource_id(integration.id)
                .details(json!({
                    "service": service.identifier.as_str(),
                    "format": integration.format.as_str(),
                    "auth_mode": integration.auth_mode.as_str(),
                }))
                .build(),
        )
        .await?;
        Ok((integration, credential))
    }
}
