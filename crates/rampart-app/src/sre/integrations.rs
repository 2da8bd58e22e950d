//! The webhook integrations of a service: create, list, delete and rotate the
//! credential. An integration's credential (a `rmp_whk_` bearer token, a PagerDuty
//! routing key, a Basic password, or HMAC signing secrets) is shown once at creation:
//! the bearer token and the routing key are kept only as blind indexes, Basic and HMAC
//! secrets sealed with the project's key.

use rampart_domain::ErrorCode;
use rampart_domain::platform::identity::TokenKind;
use rampart_domain::platform::tenancy::Scope;
use rampart_domain::sre::integrations::{
    AuthMode, INTEGRATION_CIDRS_MAX, INTEGRATION_RATE_LIMIT_DEFAULT, INTEGRATION_RATE_LIMIT_MAX,
    Integration, ROUTING_KEY_CHARS,
};
use rampart_domain::sre::payload::Format;
use rampart_domain::{IntegrationId, Name};
use rampart_store::sre::integrations::IntegrationRecord;
use serde::{Deserialize, Serialize};
use serde_json::json;
use zeroize::Zeroizing;

use rampart_store::sre::integrations::INTEGRATION_CREDENTIALS;

use crate::sealing::{SealContext, SealedPlace};
use crate::{App, AppError, AppResult, Ctx, mint};

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
    Bearer {
        token: String,
    },
    /// PagerDuty's integration key, which senders put in the body as `routing_key`.
    RoutingKey {
        routing_key: String,
    },
    Basic {
        username: String,
        password: String,
    },
    Hmac {
        secret: String,
    },
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

/// The sealed integration credentials, for the rewrap job.
pub(crate) const SEALED_PLACES: &[SealedPlace] = &[SealedPlace {
    column: INTEGRATION_CREDENTIALS,
    reseal: |resealer, owner, cell| {
        resealer.reseal(&credentials_place(owner, &cell.id), &cell.sealed)
    },
}];

/// Where an integration's secrets are sealed.
pub(crate) fn credentials_place<'a>(owner: &'a str, id: &'a str) -> SealContext<'a> {
    SealContext {
        owner,
        entity_type: "integration",
        entity_id: id,
        field: "credentials",
        version: 0,
    }
}

/// The blind index of a webhook bearer token.
pub(crate) const WEBHOOK_TOKEN_DOMAIN: &str = "webhook-token";
/// The blind index of a PagerDuty routing key (its own domain: a routing key and a
/// bearer token never index alike).
pub(crate) const ROUTING_KEY_DOMAIN: &str = "webhook-routing-key";

/// A new routing key: 16 random bytes as 32 lowercase hex characters, the shape of a
/// PagerDuty integration key, so that every sender that accepts PagerDuty's accepts it
/// (Alertmanager, Grafana and PagerDuty's Python client check no more than that it is
/// not empty; a stricter sender would expect exactly this shape). It carries no `rmp_`
/// prefix for that reason.
fn mint_routing_key() -> AppResult<String> {
    // Two hex characters a byte.
    let bytes = rampart_crypto::random::bytes::<{ ROUTING_KEY_CHARS / 2 }>()?;
    Ok(rampart_crypto::digest::hex(&bytes))
}

fn random_secret() -> AppResult<String> {
    Ok(rampart_crypto::digest::hex(
        &rampart_crypto::random::bytes::<32>()?,
    ))
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
            AuthMode::RoutingKey => {
                let routing_key = mint_routing_key()?;
                let hmac = self
                    .pepper()
                    .blind_index(ROUTING_KEY_DOMAIN, routing_key.as_bytes());
                (
                    IntegrationCredential::RoutingKey { routing_key },
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

    /// Rotates an integration's credential. Bearer tokens, routing keys and Basic
    /// passwords are replaced at once; an HMAC integration gets a new secret while the
    /// previous one stays valid (two at most) until the next rotation.
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
    /// Delivers `events` through `integration` as the server's own sender (a drift
    /// check's, an SLO's burn-rate alerts), like any sender's, so the service's alert
    /// rules, dedup, incidents, escalation and paging apply: the integration's rate limit
    /// applies too (the server cannot page faster than its senders may); its
    /// authentication and source networks are for outside senders.
    pub(crate) async fn deliver_own_events(
        &self,
        ctx: &Ctx,
        integration: rampart_domain::IntegrationId,
        events: Vec<rampart_domain::sre::payload::AlertEvent>,
    ) -> AppResult<()> {
        let Some(record) = self.store().integration(integration).await? else {
            return Ok(());
        };
        self.inner.webhook_limits.check(
            integration,
            self.now().as_second(),
            record.integration.rate_limit_per_minute,
        )?;
        let Some(service) = self
            .store()
            .service_for_delivery(record.integration.service_id)
            .await?
        else {
            return Ok(());
        };
        let delivery = self.prepare(service, &record, &ctx.meta, events).await?;
        self.inner.ingest_queue.submit(delivery).await?;
        Ok(())
    }

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
                ErrorCode::InvalidRateLimitPerMinute,
                format!("rate_limit_per_minute is 1 to {INTEGRATION_RATE_LIMIT_MAX}"),
            ));
        }
        let format = Format::parse(&input.format)?;
        let auth_mode = AuthMode::parse(&input.auth_mode)?;
        auth_mode.check_format(format)?;
        let integration = Integration {
            id: mint(now, IntegrationId::mint)?,
            service_id: service.id,
            project_id: service.project_id,
            name: Name::parse(&input.name)?,
            format,
            auth_mode,
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
