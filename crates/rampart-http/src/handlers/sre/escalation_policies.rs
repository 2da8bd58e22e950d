//! Escalation policies of a project (the definition, CRUD) and the policy a service pages
//! with.

use axum::Extension;
use axum::extract::State;
use axum::http::{Method, StatusCode};
use rampart_api::sre as wire;
use rampart_app::Ctx;
use rampart_domain::Permission as P;
use rampart_domain::sre::documents::DefinitionKind;

use super::services::ServicePath;
use crate::AppState;
use crate::enforce::Scope;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath, path_params};
use crate::routes::{PROJECT, RouteSpec, RouteTable, join_path, perm};

/// Registers this module's routes.
pub fn routes(table: &mut RouteTable) {
    use Method as M;
    let r = RouteSpec::new;

    // A project's escalation policies.
    let path = |suffix| join_path(PROJECT, suffix);
    definition_routes!(
        table,
        PROJECT,
        "/escalation-policies",
        "/escalation-policies/{policy}",
        "escalation policy",
        EscalationPolicyView,
        EscalationPolicyCreate,
        EscalationPolicyEdit,
        list_policies,
        create_policy,
        get_policy,
        replace_policy
    );
    table.add(
        r(
            M::PUT,
            path("/services/{service}/escalation-policy"),
            perm(P::ServiceEdit),
            "Set (or clear with null) the escalation policy a service pages with",
        )
        .body::<wire::ServiceEscalationPolicy>(),
        set_service_policy,
    );
    table.add(
        r(
            M::DELETE,
            path("/escalation-policies/{policy}"),
            perm(P::EscalationPolicyDelete),
            "Delete an escalation policy (not while a service pages with it)",
        ),
        delete_policy,
    );
}

path_params! {
    /// `…/escalation-policies/{policy}`
    pub struct PolicyPath { policy }
}

definition_handlers!(
    DefinitionKind::EscalationPolicy,
    PolicyPath,
    policy,
    list_policies,
    create_policy,
    get_policy,
    replace_policy
);

pub async fn set_service_policy(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<ServicePath>,
    ApiJson(body): ApiJson<wire::ServiceEscalationPolicy>,
) -> ApiResult<StatusCode> {
    state
        .app
        .set_service_escalation_policy(
            &ctx,
            scope.scope(),
            &path.service,
            body.escalation_policy.as_deref(),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn delete_policy(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<PolicyPath>,
) -> ApiResult<StatusCode> {
    state
        .app
        .delete_definition(
            &ctx,
            DefinitionKind::EscalationPolicy,
            scope.scope(),
            &path.policy,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
