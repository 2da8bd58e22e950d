//! The one authorisation decision.
//!
//! Every HTTP route declares an [`Access`] where it is registered; the edge calls
//! [`authorize`] before the handler runs. Until role assignments land (the access-control
//! issue), the rule is: the account owner holds every permission; everyone else holds
//! none, except self-service on their own identity. A token narrowed to a project never
//! reaches beyond it. Deny by default.

use rampart_domain::Permission;
use rampart_domain::platform::tenancy::Scope;

use crate::context::Actor;
use crate::error::AppError;

/// What a route requires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// No authentication (health checks, login).
    Public,
    /// Any authenticated principal, acting on their own identity (`/me`, own tokens).
    SelfService,
    /// Any authenticated principal, including one whose token is narrowed to a project
    /// (reading who you are).
    SelfServiceNarrowedOk,
    /// A permission from the catalogue, checked at the route's scope.
    Permission(Permission),
}

/// Decides whether `actor` may do what `access` requires at `scope`.
///
/// A token narrowed to a project is refused outside it: with 404 inside another project
/// (its existence is not the token's business), with 403 elsewhere.
pub fn authorize(actor: &Actor, access: Access, scope: Scope) -> Result<(), AppError> {
    if access == Access::Public {
        return Ok(());
    }
    if access == Access::SelfServiceNarrowedOk {
        return Ok(());
    }
    if let Some(narrowed) = actor.narrowed_to_project {
        match scope {
            Scope::Project(_, project) if project == narrowed => {}
            Scope::Project(..) => return Err(AppError::NotFound { what: "project" }),
            _ => {
                return Err(AppError::forbidden(
                    "token_narrowed",
                    "this token is narrowed to one project and cannot be used here",
                ));
            }
        }
    }
    match access {
        Access::Public | Access::SelfService | Access::SelfServiceNarrowedOk => Ok(()),
        Access::Permission(permission) => {
            if actor.is_account_owner {
                Ok(())
            } else {
                Err(AppError::forbidden(
                    "permission_denied",
                    format!("missing permission {permission}"),
                ))
            }
        }
    }
}
