//! Secrets of organisations and projects: create, list, read metadata, add versions,
//! rename, delete. The value is write-only through the API: no route returns it.
//! Internal consumers (webhook credentials, runbooks, delegates) read it through
//! [`App::read_secret`], which checks `secret:access` for the acting principal and
//! records every read (and every refused read) in the audit log.

use rampart_domain::ErrorCode;
use rampart_domain::limits::SECRET_VALUE_BYTES_MAX;
use rampart_domain::platform::secrets::{Secret, SecretVersion};
use rampart_domain::platform::tenancy::Scope;
use rampart_domain::{Description, Name, Permission, SecretId, Slug};
use rampart_store::Page;
use serde_json::json;
use zeroize::Zeroizing;

use crate::audit::Outcome;
use rampart_store::platform::secrets::SECRET_VALUE;
use rampart_store::sealed::SealedCell;

use crate::sealing::{Resealer, SealContext, SealedPlace, key_owner};
use crate::{Access, App, AppError, AppResult, Ctx, authorize, mint};

/// The sealed values of secrets, for the rewrap job.
pub(crate) const SEALED_PLACES: &[SealedPlace] = &[SealedPlace {
    column: SECRET_VALUE,
    reseal: reseal_secret_value,
}];

fn reseal_secret_value(
    resealer: &Resealer<'_>,
    owner: &str,
    cell: &SealedCell,
) -> AppResult<Option<Vec<u8>>> {
    let version = u32::try_from(cell.version)
        .map_err(|_| AppError::Integrity(format!("secret {} version", cell.id)))?;
    resealer.reseal(&secret_place(owner, &cell.id, version), &cell.sealed)
}

/// Where version `version` of secret `id` is sealed.
pub(crate) fn secret_place<'a>(owner: &'a str, id: &'a str, version: u32) -> SealContext<'a> {
    SealContext {
        owner,
        entity_type: "secret",
        entity_id: id,
        field: "value",
        version: u64::from(version),
    }
}

/// A new secret.
#[derive(Clone)]
pub struct SecretInput {
    pub identifier: String,
    pub name: String,
    pub description: Option<String>,
    pub value: Zeroizing<String>,
}

/// Changes to a secret; a value adds a version.
#[derive(Clone, Default)]
pub struct SecretPatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub value: Option<Zeroizing<String>>,
}

fn check_value(value: &str) -> AppResult<()> {
    if value.is_empty() {
        return Err(AppError::bad_request(
            ErrorCode::InvalidValue,
            "the secret value must not be empty",
        ));
    }
    if value.len() > SECRET_VALUE_BYTES_MAX {
        return Err(AppError::bad_request(
            ErrorCode::SecretTooLarge,
            format!("a secret value holds at most {SECRET_VALUE_BYTES_MAX} bytes"),
        ));
    }
    Ok(())
}

fn owner_of(scope: Scope) -> AppResult<String> {
    key_owner(scope).ok_or_else(|| {
        AppError::bad_request(
            ErrorCode::InvalidScope,
            "secrets belong to organisations and projects",
        )
    })
}

fn not_found() -> AppError {
    AppError::NotFound { what: "secret" }
}

impl App {
    async fn secret_at(&self, scope: Scope, identifier: &str) -> AppResult<Secret> {
        let slug = Slug::parse(identifier).map_err(|_| not_found())?;
        self.store()
            .secret_by_identifier(scope, &slug)
            .await?
            .ok_or_else(not_found)
    }

    pub async fn create_secret(
        &self,
        ctx: &Ctx,
        scope: Scope,
        input: SecretInput,
    ) -> AppResult<Secret> {
        let owner = owner_of(scope)?;
        check_value(&input.value)?;
        let now = self.now();
        let secret = Secret {
            id: mint(now, SecretId::mint)?,
            scope,
            identifier: Slug::parse(&input.identifier)?,
            name: Name::parse(&input.name)?,
            description: Description::parse(input.description.as_deref().unwrap_or(""))?,
            current_version: 1,
            created_at: now,
            updated_at: now,
        };
        let id = secret.id.to_string();
        let sealed = self
            .seal_value(&secret_place(&owner, &id, 1), input.value.as_bytes())
            .await?;
        let version = SecretVersion {
            version: 1,
            created_at: now,
            created_by: ctx.actor.actor_text(),
        };
        let mut tx = self.store().write().await?;
        tx.insert_secret(&secret)
            .await
            .map_err(|error| match error {
                rampart_store::StoreError::Conflict { .. } => AppError::conflict(
                    ErrorCode::IdentifierTaken,
                    "a secret with this identifier already exists here",
                ),
                other => other.into(),
            })?;
        tx.insert_secret_version(secret.id, &version, &sealed)
            .await?;
        tx.commit(
            ctx.audit(now, "secret.create", "secret")
                .scope(scope)
                .resource_id(secret.id)
                .details(json!({ "identifier": secret.identifier.as_str(), "version": 1 }))
                .build(),
        )
        .await?;
        Ok(secret)
    }

    pub async fn list_secrets(
        &self,
        scope: Scope,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> AppResult<Page<Secret>> {
        let page = super::page_request(limit, cursor)?;
        Ok(self.store().list_secrets(scope, &page).await?)
    }

    /// A secret's metadata and its versions, newest first (never the value).
    pub async fn get_secret(
        &self,
        scope: Scope,
        identifier: &str,
    ) -> AppResult<(Secret, Vec<SecretVersion>)> {
        let secret = self.secret_at(scope, identifier).await?;
        let versions = self.store().secret_versions(secret.id).await?;
        Ok((secret, versions))
    }

    pub async fn update_secret(
        &self,
        ctx: &Ctx,
        scope: Scope,
        identifier: &str,
        patch: SecretPatch,
    ) -> AppResult<Secret> {
        let owner = owner_of(scope)?;
        let mut secret = self.secret_at(scope, identifier).await?;
        let now = self.now();
        let mut changed = Vec::new();
        if let Some(name) = &patch.name {
            secret.name = Name::parse(name)?;
            changed.push("name");
        }
        if let Some(description) = &patch.description {
            secret.description = Description::parse(description)?;
            changed.push("description");
        }
        // Seal before the transaction: sealing may create the ring in a write of its own.
        let mut new_version = None;
        if let Some(value) = &patch.value {
            check_value(value)?;
            secret.current_version += 1;
            let id = secret.id.to_string();
            let sealed = self
                .seal_value(
                    &secret_place(&owner, &id, secret.current_version),
                    value.as_bytes(),
                )
                .await?;
            let version = SecretVersion {
                version: secret.current_version,
                created_at: now,
                created_by: ctx.actor.actor_text(),
            };
            new_version = Some((version, sealed));
            changed.push("value");
        }
        let mut tx = self.store().write().await?;
        if let Some((version, sealed)) = &new_version {
            // Two concurrent writers race for the same version number: the loser's
            // insert is refused by the primary key and it gets a conflict, not a lost
            // update.
            tx.insert_secret_version(secret.id, version, sealed)
                .await
                .map_err(|error| match error {
                    rampart_store::StoreError::Conflict { .. } => AppError::conflict(
                        ErrorCode::ConcurrentUpdate,
                        "the secret changed while this version was written; retry",
                    ),
                    other => other.into(),
                })?;
        }
        secret.updated_at = now;
        tx.update_secret(&secret).await?;
        tx.commit(
            ctx.audit(now, "secret.update", "secret")
                .scope(scope)
                .resource_id(secret.id)
                .details(json!({
                    "identifier": secret.identifier.as_str(),
                    "changed": changed,
                    "version": secret.current_version,
                }))
                .build(),
        )
        .await?;
        Ok(secret)
    }

    pub async fn delete_secret(&self, ctx: &Ctx, scope: Scope, identifier: &str) -> AppResult<()> {
        let secret = self.secret_at(scope, identifier).await?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        tx.delete_secret(secret.id).await?;
        tx.commit(
            ctx.audit(now, "secret.delete", "secret")
                .scope(scope)
                .resource_id(secret.id)
                .details(json!({ "identifier": secret.identifier.as_str() }))
                .build(),
        )
        .await?;
        Ok(())
    }

    /// The value of a secret (its current version, or `version`) for an internal
    /// consumer acting as `ctx`. Needs `secret:access`; every read and every refusal is
    /// audited. A shredded secret answers `data_shredded`.
    pub async fn read_secret(
        &self,
        ctx: &Ctx,
        scope: Scope,
        identifier: &str,
        version: Option<u32>,
    ) -> AppResult<Zeroizing<String>> {
        let now = self.now();
        if let Err(denied) = authorize(
            &ctx.actor,
            &ctx.access,
            Access::Permission(Permission::SecretAccess),
            scope,
        ) {
            self.store()
                .append_audit(
                    &ctx.audit(now, "secret.read", "secret")
                        .scope(scope)
                        .outcome(Outcome::Denied)
                        .details(json!({ "identifier": identifier }))
                        .build(),
                )
                .await?;
            return Err(denied);
        }
        let owner = owner_of(scope)?;
        let secret = self.secret_at(scope, identifier).await?;
        let version = version.unwrap_or(secret.current_version);
        let sealed = self
            .store()
            .sealed_secret_value(secret.id, version)
            .await?
            .ok_or(AppError::NotFound {
                what: "secret version",
            })?;
        let id = secret.id.to_string();
        let opened = self
            .open_sealed(&secret_place(&owner, &id, version), &sealed)
            .await;
        self.store()
            .append_audit(
                &ctx.audit(now, "secret.read", "secret")
                    .scope(scope)
                    .resource_id(secret.id)
                    .outcome(if opened.is_ok() {
                        Outcome::Success
                    } else {
                        Outcome::Failure
                    })
                    .details(json!({ "identifier": identifier, "version": version }))
                    .build(),
            )
            .await?;
        let bytes = opened?;
        String::from_utf8(bytes.to_vec())
            .map(Zeroizing::new)
            .map_err(|_| AppError::Integrity("a secret value is not UTF-8".into()))
    }
}
