//! The one authorisation decision at the edge.
//!
//! Every HTTP route declares an [`Access`] where it is registered; the edge calls
//! [`authorize`] before the handler runs, with the actor's role assignments read for the
//! request. The rule is the domain's [`AccessIndex::decide`]: allowed iff an assignment
//! of the principal (or of one of its groups) at the scope or above grants the permission
//! on a resource group containing the target; deny by default. A token narrowed to a
//! project never reaches beyond it.
//! A run credential reads and writes one workspace's state and does nothing else.

use rampart_domain::ErrorCode;
use rampart_domain::Permission;
use rampart_domain::platform::access::{AccessIndex, ResourceRef};
use rampart_domain::platform::tenancy::Scope;

use crate::context::{Actor, RunCredential};
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
    /// Any authenticated principal that can see the scope (reading one's own rights there).
    SeeScope,
    /// A list: the caller must be able to see the scope; the handler then returns only
    /// the items on which the caller holds this permission.
    List(Permission),
    /// Any authenticated principal at the route; the use case checks this permission
    /// on the one resource the request names (so a resource group naming single
    /// resources decides) and answers 404 for what the caller may neither see nor use.
    PerResource(Permission),
}

/// A run credential reads and writes its one workspace's state and does nothing else:
/// another workspace looks missing; anything else is refused naming the run.
fn run_credential_may(
    credential: &RunCredential,
    access: Access,
    resource_id: Option<&str>,
) -> Result<(), AppError> {
    let permission = match access {
        Access::Permission(permission) | Access::PerResource(permission) => Some(permission),
        _ => None,
    };
    if permission.is_none_or(|permission| !RunCredential::PERMISSIONS.contains(&permission)) {
        return Err(AppError::forbidden(
            ErrorCode::TokenNarrowed,
            format!(
                "this is the credential of run {}: it reads and writes the state of workspace \
                 {} while the run applies, and can be used for nothing else",
                credential.run_id, credential.workspace
            ),
        ));
    }
    if resource_id.is_some_and(|id| id != credential.workspace) {
        return Err(AppError::NotFound { what: "workspace" });
    }
    Ok(())
}

fn not_visible(scope: Scope) -> AppError {
    match scope {
        Scope::Project(..) => AppError::NotFound { what: "project" },
        _ => AppError::NotFound {
            what: "organization",
        },
    }
}

/// Decides whether `actor` may do what `access` requires at `scope`.
///
/// Nothing leaks existence: a scope the actor cannot see answers 404, exactly like a
/// scope that does not exist. A token narrowed to a project sees that project and its
/// organisation; inside what it can see, a refusal is 403 naming the permission.
pub fn authorize(
    actor: &Actor,
    index: &AccessIndex,
    access: Access,
    scope: Scope,
) -> Result<(), AppError> {
    authorize_on(actor, index, access, scope, None)
}

/// [`authorize`] for one resource of the permission's type (its identifier), so that a
/// resource group selecting single resources (a `workspace` named `prod`) decides.
pub fn authorize_resource(
    actor: &Actor,
    index: &AccessIndex,
    permission: Permission,
    scope: Scope,
    resource_id: &str,
) -> Result<(), AppError> {
    authorize_on(
        actor,
        index,
        Access::Permission(permission),
        scope,
        Some(resource_id),
    )
}

fn authorize_on(
    actor: &Actor,
    index: &AccessIndex,
    access: Access,
    scope: Scope,
    resource_id: Option<&str>,
) -> Result<(), AppError> {
    if access == Access::Public || actor.is_system() {
        return Ok(());
    }
    if let Some(credential) = &actor.run_credential {
        run_credential_may(credential, access, resource_id)?;
    }
    if access == Access::SelfServiceNarrowedOk {
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
                    ErrorCode::TokenNarrowed,
                    "this token is narrowed to one project and cannot be used here",
                ));
            }
        }
    }
    let visible = scope == Scope::Account || index.can_see(actor.principal, scope);
    match access {
        Access::Public | Access::SelfService | Access::SelfServiceNarrowedOk => Ok(()),
        // The use case decides on the one resource named; a caller who holds the
        // permission on nothing here learns nothing more than about a missing scope.
        Access::PerResource(permission)
            if visible || index.reaches(actor.principal, permission, scope) =>
        {
            Ok(())
        }
        Access::PerResource(_) => Err(not_visible(scope)),
        Access::List(_) | Access::SeeScope if visible => Ok(()),
        Access::List(_) | Access::SeeScope => Err(not_visible(scope)),
        Access::Permission(permission) => {
            let target = ResourceRef {
                id: resource_id.map(str::to_owned),
                ..ResourceRef::in_scope(scope, permission)
            };
            if index.decide(actor.principal, permission, &target).allowed {
                Ok(())
            } else if !visible {
                Err(not_visible(scope))
            } else {
                Err(AppError::forbidden(
                    ErrorCode::PermissionDenied,
                    format!("missing permission {permission}"),
                ))
            }
        }
    }
}
