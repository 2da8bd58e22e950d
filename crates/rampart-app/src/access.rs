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
/// Nothing leaks existence: a scope the actor cannot see answers 404, exactly like a
/// scope that does not exist. A token narrowed to a project sees that project and its
/// organisation; inside what it can see, a refusal is 403 naming the reason.
pub fn authorize(actor: &Actor, access: Access, scope: Scope) -> Result<(), AppError> {
    if matches!(access, Access::Public | Access::SelfServiceNarrowedOk) {
        return Ok(());
    }
    if let Some((narrowed_org, narrowed_project)) = actor.narrowed_to {
        match scope {
            Scope::Project(_, project) if project == narrowed_project => {}
            Scope::Project(..) => return Err(AppError::NotFound { what: "project" }),
            Scope::Org(org) if org != narrowed_org => {
                return Err(AppError::NotFound {
                    what: "organization",
                });
            }
            Scope::Org(_) | Scope::Account => {
                return Err(AppError::forbidden(
                    "token_narrowed",
                    "this token is narrowed to one project and cannot be used here",
                ));
            }
        }
    }
    match access {
        Access::Public | Access::SelfService | Access::SelfServiceNarrowedOk => Ok(()),
        Access::Permission(_) if actor.is_account_owner => Ok(()),
        Access::Permission(permission) => match scope {
            // Until roles exist, nobody but the owner can see into any organisation.
            Scope::Org(_) => Err(AppError::NotFound {
                what: "organization",
            }),
            Scope::Project(..) => Err(AppError::NotFound { what: "project" }),
            Scope::Account => Err(AppError::forbidden(
                "permission_denied",
                format!("missing permission {permission}"),
            )),
        },
    }
}
