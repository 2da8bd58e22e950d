//! Role assignments, "explain" and "my permissions". Nobody can grant more than they
//! hold, admin roles are assignable only at their own level, and the last Account Admin
//! cannot be removed.

use rampart_domain::platform::access::{BuiltinRole, Grantee, PermissionSet, ResourceRef};
use rampart_domain::platform::identity::PrincipalId;
use rampart_domain::platform::tenancy::Scope;
use rampart_domain::{Permission, ServiceAccountId, UserId};
use rampart_store::Page;
pub use rampart_store::platform::access::{RoleAssignmentRecord, RoleRef};
use serde_json::json;

use crate::context::Ctx;
use crate::error::{AppError, AppResult};
use crate::{App, mint};

/// Parses `user:<id>`, `service_account:<id>` or `group:<id>`.
pub fn parse_grantee(text: &str) -> AppResult<Grantee> {
    let invalid = || {
        AppError::bad_request(
            "invalid_principal",
            "principal must be user:<id>, service_account:<id> or group:<id>",
        )
    };
    let (kind, id) = text.split_once(':').ok_or_else(invalid)?;
    match kind {
        "user" => Ok(Grantee::Principal(PrincipalId::User(
            id.parse::<UserId>().map_err(|_| invalid())?,
        ))),
        "service_account" => Ok(Grantee::Principal(PrincipalId::ServiceAccount(
            id.parse::<ServiceAccountId>().map_err(|_| invalid())?,
        ))),
        "group" => uuid::Uuid::parse_str(id)
            .map(Grantee::Group)
            .map_err(|_| invalid()),
        _ => Err(invalid()),
    }
}

pub fn grantee_text(grantee: Grantee) -> String {
    match grantee {
        Grantee::Principal(principal) => principal.to_text(),
        Grantee::Group(id) => format!("group:{id}"),
    }
}

/// Refuses a change that would leave no enabled user with Account Admin (checked inside
/// the changing transaction, which is dropped, and so rolled back, on refusal).
pub(crate) async fn ensure_an_account_admin_remains(
    tx: &mut rampart_store::WriteTx,
) -> AppResult<()> {
    if tx.account_admin_assignment_count().await? < 1 {
        return Err(AppError::conflict(
            "last_account_admin",
            "this would leave no Account Admin",
        ));
    }
    Ok(())
}

/// The answer of `explain`.
#[derive(Debug, Clone)]
pub struct Explanation {
    pub allowed: bool,
    pub decided_by: Option<uuid::Uuid>,
}

impl App {
    async fn grantee_exists(&self, grantee: Grantee) -> AppResult<bool> {
        Ok(match grantee {
            Grantee::Principal(PrincipalId::User(id)) => {
                self.store().user_by_id(id).await?.is_some()
            }
            Grantee::Principal(PrincipalId::ServiceAccount(id)) => {
                self.store().service_account_by_id(id).await?.is_some()
            }
            // User groups arrive with their own API; until then none exists.
            Grantee::Group(_) => false,
        })
    }

    pub async fn create_role_assignment(
        &self,
        ctx: &Ctx,
        scope: Scope,
        principal: &str,
        role: &str,
    ) -> AppResult<RoleAssignmentRecord> {
        let grantee = parse_grantee(principal)?;
        let builtin = BuiltinRole::from_identifier(role).ok_or_else(|| {
            AppError::bad_request(
                "unknown_role",
                "role must be one of _account_admin, _org_admin, _project_admin, _user, _viewer",
            )
        })?;
        if !builtin.assignable_at(scope) {
            return Err(AppError::bad_request(
                "role_not_assignable_here",
                format!(
                    "{} can only be assigned at its own level",
                    builtin.identifier()
                ),
            ));
        }
        // Only what means something at this scope counts (a User role's `org:create`
        // grants nothing inside a project).
        let granted = builtin
            .permissions()
            .intersection(&PermissionSet::relevant_at(scope));
        if !granted.is_subset_of(&ctx.permissions_at(scope)) {
            return Err(AppError::forbidden(
                "grant_exceeds_own_rights",
                "you cannot grant a role with permissions you do not hold here",
            ));
        }
        if !self.grantee_exists(grantee).await? {
            return Err(AppError::bad_request(
                "unknown_principal",
                "the principal does not exist",
            ));
        }
        let now = self.now();
        let record = RoleAssignmentRecord {
            id: mint(now, |millis, random| {
                uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid()
            })?,
            scope,
            grantee,
            role: RoleRef::Builtin(builtin),
            resource_group_id: None,
            created_at: now,
            created_by: ctx.actor.actor_text(),
        };
        let mut tx = self.store().write().await?;
        tx.insert_role_assignment(&record).await?;
        tx.commit(
            ctx.audit(now, "role_assignment.create", "role_assignment")
                .scope(scope)
                .resource_id(record.id)
                .details(
                    json!({ "principal": grantee_text(grantee), "role": builtin.identifier() }),
                )
                .build(),
        )
        .await?;
        Ok(record)
    }

    pub async fn list_role_assignments(
        &self,
        scope: Scope,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> AppResult<Page<RoleAssignmentRecord>> {
        let page = super::page_request(limit, cursor)?;
        Ok(self.store().list_role_assignments(scope, &page).await?)
    }

    pub async fn delete_role_assignment(&self, ctx: &Ctx, scope: Scope, id: &str) -> AppResult<()> {
        let not_found = || AppError::NotFound {
            what: "role assignment",
        };
        let id = uuid::Uuid::parse_str(id).map_err(|_| not_found())?;
        let record = self
            .store()
            .role_assignment_by_id(id)
            .await?
            .filter(|record| record.scope == scope)
            .ok_or_else(not_found)?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        tx.delete_role_assignment(record.id).await?;
        ensure_an_account_admin_remains(&mut tx).await?;
        tx.commit(
            ctx.audit(now, "role_assignment.delete", "role_assignment")
                .scope(scope)
                .resource_id(record.id)
                .details(json!({ "principal": grantee_text(record.grantee) }))
                .build(),
        )
        .await?;
        Ok(())
    }

    /// Whether `principal` holds `permission` at `scope`, and which assignment decided.
    pub async fn explain(
        &self,
        scope: Scope,
        principal: &str,
        permission: &str,
    ) -> AppResult<Explanation> {
        let Grantee::Principal(principal) = parse_grantee(principal)? else {
            return Err(AppError::bad_request(
                "invalid_principal",
                "explain answers for a user or a service account",
            ));
        };
        let permission: Permission = permission.parse().map_err(|_| {
            AppError::bad_request(
                "invalid_permission",
                "permission must be resource:action from the catalogue",
            )
        })?;
        let index = self.store().access_of(principal).await?;
        let decision = index.decide(
            principal,
            permission,
            &ResourceRef::in_scope(scope, permission),
        );
        Ok(Explanation {
            allowed: decision.allowed,
            decided_by: decision.by,
        })
    }
}
