//! The caller's contact methods in an organisation: where delegates deliver the pages
//! and notices the caller gets (email, Slack-compatible webhook, generic signed
//! webhook). Addresses are sealed with the organisation's key; a generic webhook gets
//! its own HMAC signing secret, shown once when the method is added. Only the user
//! sees and changes their own methods; every change is audited.

use jiff::Timestamp;
use rampart_domain::platform::tenancy::Scope;
use rampart_domain::sre::contact_methods::{CONTACT_METHODS_MAX, ContactKind, check_label};
use rampart_domain::{ContactMethodId, ErrorCode, OrgId, UserId};
use rampart_store::sre::contact_methods::{CONTACT_ADDRESS, CONTACT_SECRET, ContactMethodRow};
use serde_json::json;
use zeroize::Zeroizing;

use crate::sealing::{Opener, SealContext, SealedPlace};
use crate::{App, AppError, AppResult, Ctx, mint};

pub(crate) const SEALED_PLACES: &[SealedPlace] = &[
    SealedPlace {
        column: CONTACT_ADDRESS,
        reseal: |resealer, owner, cell| {
            resealer.reseal(&contact_place(owner, &cell.id, "address"), &cell.sealed)
        },
    },
    SealedPlace {
        column: CONTACT_SECRET,
        reseal: |resealer, owner, cell| {
            resealer.reseal(&contact_place(owner, &cell.id, "secret"), &cell.sealed)
        },
    },
];

fn contact_place<'a>(owner: &'a str, id: &'a str, field: &'static str) -> SealContext<'a> {
    SealContext {
        owner,
        entity_type: "contact_method",
        entity_id: id,
        field,
        version: 0,
    }
}

/// A new contact method.
#[derive(Clone, Debug)]
pub struct ContactMethodInput {
    pub kind: String,
    pub label: String,
    pub address: String,
}

/// A contact method as its owner reads it (address opened).
#[derive(Clone, Debug)]
pub struct ContactMethod {
    pub id: ContactMethodId,
    pub kind: ContactKind,
    pub label: String,
    pub address: String,
    pub created_at: Timestamp,
}

/// A contact method opened for delivery: its address and, for a generic webhook, its
/// signing secret.
pub(crate) struct OpenedContact {
    pub row: ContactMethodRow,
    pub address: String,
    pub secret: Option<Zeroizing<String>>,
}

fn org_of(scope: Scope) -> AppResult<OrgId> {
    match scope {
        Scope::Org(org) => Ok(org),
        _ => Err(AppError::NotFound {
            what: "organisation",
        }),
    }
}

fn missing() -> AppError {
    AppError::NotFound {
        what: "contact method",
    }
}

impl App {
    /// The caller's contact methods in the organisation at `scope`.
    pub async fn contact_methods(&self, ctx: &Ctx, scope: Scope) -> AppResult<Vec<ContactMethod>> {
        let user = self.notified_user(ctx)?;
        let org = org_of(scope)?;
        let rows = self.store().contact_methods_of(org, user).await?;
        let opener = self.opener(&org.to_string()).await?;
        rows.into_iter()
            .map(|row| {
                let opened = open_contact(&opener, row)?;
                Ok(ContactMethod {
                    id: opened.row.id,
                    kind: opened.row.kind,
                    label: opened.row.label,
                    address: opened.address,
                    created_at: opened.row.created_at,
                })
            })
            .collect()
    }

    /// Adds a contact method for the caller; a generic webhook's signing secret is
    /// returned this once.
    pub async fn add_contact_method(
        &self,
        ctx: &Ctx,
        scope: Scope,
        input: ContactMethodInput,
    ) -> AppResult<(ContactMethod, Option<Zeroizing<String>>)> {
        let user = self.notified_user(ctx)?;
        let org = org_of(scope)?;
        let kind = ContactKind::parse(&input.kind)?;
        let label = check_label(&input.label)?;
        let address = kind.check_address(&input.address)?;
        let secret = match kind {
            ContactKind::Webhook => Some(Zeroizing::new(rampart_crypto::digest::hex(
                &rampart_crypto::random::bytes::<32>()?,
            ))),
            ContactKind::Email | ContactKind::Slack => None,
        };
        let now = self.now();
        let id = mint(now, ContactMethodId::mint)?;
        let owner = org.to_string();
        let id_text = id.to_string();
        let sealer = self.sealer(&owner).await?;
        let row = ContactMethodRow {
            id,
            org_id: org,
            user_id: user,
            kind,
            label: label.clone(),
            address_sealed: sealer.seal(
                &contact_place(&owner, &id_text, "address"),
                address.as_bytes(),
            )?,
            secret_sealed: secret
                .as_ref()
                .map(|secret| {
                    sealer.seal(
                        &contact_place(&owner, &id_text, "secret"),
                        secret.as_bytes(),
                    )
                })
                .transpose()?,
            created_at: now,
        };
        let mut tx = self.store().write().await?;
        if tx.count_contact_methods(org, user).await? >= CONTACT_METHODS_MAX as u64 {
            tx.rollback().await?;
            return Err(AppError::bad_request(
                ErrorCode::TooManyContactMethods,
                format!(
                    "a user has at most {CONTACT_METHODS_MAX} contact methods in an organisation"
                ),
            ));
        }
        if let Err(error) = tx.insert_contact_method(&row).await {
            return Err(if error.is_unique_violation() {
                AppError::conflict(
                    ErrorCode::IdentifierTaken,
                    "you have a contact method with that label in this organisation",
                )
            } else {
                error.into()
            });
        }
        tx.commit(
            ctx.audit(now, "contact_method.create", "contact_method")
                .scope(scope)
                .resource_id(id)
                .details(json!({ "kind": kind.as_str(), "label": label }))
                .build(),
        )
        .await?;
        Ok((
            ContactMethod {
                id,
                kind,
                label,
                address,
                created_at: now,
            },
            secret,
        ))
    }

    /// Removes one of the caller's contact methods (deliveries already queued to it
    /// still run).
    pub async fn delete_contact_method(&self, ctx: &Ctx, scope: Scope, id: &str) -> AppResult<()> {
        let user = self.notified_user(ctx)?;
        let org = org_of(scope)?;
        let id: ContactMethodId = id.parse().map_err(|_| missing())?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        if !tx.delete_contact_method(org, user, id).await? {
            tx.rollback().await?;
            return Err(missing());
        }
        tx.commit(
            ctx.audit(now, "contact_method.delete", "contact_method")
                .scope(scope)
                .resource_id(id)
                .build(),
        )
        .await?;
        Ok(())
    }

    /// A user's contact methods in an organisation, opened for delivery.
    pub(crate) async fn contacts_for_delivery(
        &self,
        org: OrgId,
        user: UserId,
    ) -> AppResult<Vec<OpenedContact>> {
        let rows = self.store().contact_methods_of(org, user).await?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let opener = self.opener(&org.to_string()).await?;
        rows.into_iter()
            .map(|row| open_contact(&opener, row))
            .collect()
    }
}

fn open_contact(opener: &Opener, row: ContactMethodRow) -> AppResult<OpenedContact> {
    let owner = row.org_id.to_string();
    let id = row.id.to_string();
    let address = opener.open_text(&contact_place(&owner, &id, "address"), &row.address_sealed)?;
    let secret = row
        .secret_sealed
        .as_ref()
        .map(|sealed| {
            opener
                .open_text(&contact_place(&owner, &id, "secret"), sealed)
                .map(Zeroizing::new)
        })
        .transpose()?;
    Ok(OpenedContact {
        row,
        address,
        secret,
    })
}
