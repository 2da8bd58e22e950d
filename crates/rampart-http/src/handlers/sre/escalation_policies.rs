//! Escalation policies of a project (the policy and its definition, CRUD) and the policy
//! a service pages with; and the conversions between the wire policy and the domain's
//! document.

use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::{Extension, Json};
use rampart_api::{ListParams, ListResponse, sre as wire};
use rampart_app::Ctx;
use rampart_app::sre::definitions::StoredDefinition;
use rampart_domain::Permission as P;
use rampart_domain::sre::documents::{DefinitionKind, LevelDoc, PolicyDoc, TargetDoc};

use super::definition;
use super::services::ServicePath;
use crate::AppState;
use crate::enforce::Scope;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath, ApiQuery, path_params};
use crate::routes::{PROJECT, RouteSpec, RouteTable, join_path, perm};

/// Registers this module's routes.
pub fn routes(table: &mut RouteTable) {
    use Method as M;
    let r = RouteSpec::new;

    // A project's escalation policies.
    let path = |suffix| join_path(PROJECT, suffix);
    table.add(
        r(
            M::GET,
            path("/escalation-policies"),
            perm(P::EscalationPolicyView),
            "List escalation policies",
        )
        .page::<wire::EscalationPolicy>(),
        list_policies,
    );
    table.add(
        r(
            M::POST,
            path("/escalation-policies"),
            perm(P::EscalationPolicyCreate),
            "Create an escalation policy",
        )
        .body::<wire::EscalationPolicyCreate>()
        .reply::<wire::EscalationPolicy>(201),
        create_policy,
    );
    table.add(
        r(
            M::GET,
            path("/escalation-policies/{policy}"),
            perm(P::EscalationPolicyView),
            "An escalation policy",
        )
        .reply::<wire::EscalationPolicy>(200),
        get_policy,
    );
    table.add(
        r(
            M::PUT,
            path("/escalation-policies/{policy}"),
            perm(P::EscalationPolicyEdit),
            "Replace an escalation policy's name and definition",
        )
        .body::<wire::EscalationPolicyUpdate>()
        .reply::<wire::EscalationPolicy>(200),
        replace_policy,
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

pub async fn list_policies(
    State(state): State<AppState>,
    Extension(scope): Scope,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<ListResponse<wire::EscalationPolicy>>> {
    let page = state
        .app
        .list_escalation_policies(scope.scope(), params.limit, params.cursor.as_deref())
        .await?;
    Ok(Json(ListResponse {
        items: page.items.into_iter().map(wire_policy).collect(),
        next_cursor: page.next_cursor,
    }))
}

pub async fn create_policy(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiJson(body): ApiJson<wire::EscalationPolicyCreate>,
) -> ApiResult<(StatusCode, Json<wire::EscalationPolicy>)> {
    let policy = policy_doc(definition(body.definition)?);
    let stored = state
        .app
        .create_escalation_policy(&ctx, scope.scope(), &body.identifier, &body.name, policy)
        .await?;
    Ok((StatusCode::CREATED, Json(wire_policy(stored))))
}

pub async fn get_policy(
    State(state): State<AppState>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<PolicyPath>,
) -> ApiResult<Json<wire::EscalationPolicy>> {
    let stored = state
        .app
        .escalation_policy(scope.scope(), &path.policy)
        .await?;
    Ok(Json(wire_policy(stored)))
}

pub async fn replace_policy(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<PolicyPath>,
    ApiJson(body): ApiJson<wire::EscalationPolicyUpdate>,
) -> ApiResult<Json<wire::EscalationPolicy>> {
    let policy = match definition(body.definition) {
        Ok(definition) => policy_doc(definition),
        Err(error) => {
            // A policy that does not exist is not found, whatever its new definition.
            state
                .app
                .escalation_policy(scope.scope(), &path.policy)
                .await?;
            return Err(error.into());
        }
    };
    let stored = state
        .app
        .replace_escalation_policy(&ctx, scope.scope(), &path.policy, &body.name, policy)
        .await?;
    Ok(Json(wire_policy(stored)))
}

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

// Conversions between the wire policy and the domain's document, field by field.

fn policy_doc(definition: wire::EscalationPolicyDefinition) -> PolicyDoc {
    PolicyDoc {
        levels: definition
            .levels
            .into_iter()
            .map(|level| LevelDoc {
                targets: level
                    .targets
                    .into_iter()
                    .map(|target| TargetDoc {
                        kind: target.kind,
                        id: target.id,
                    })
                    .collect(),
                delay_minutes: level.delay_minutes,
            })
            .collect(),
        repeats: definition.repeats,
    }
}

fn wire_policy(stored: StoredDefinition<PolicyDoc>) -> wire::EscalationPolicy {
    let StoredDefinition { record, document } = stored;
    wire::EscalationPolicy {
        id: record.id,
        identifier: record.identifier.to_string(),
        name: record.name.to_string(),
        definition: wire_definition(document),
        created_at: record.created_at.to_string(),
        updated_at: record.updated_at.to_string(),
    }
}

fn wire_definition(document: PolicyDoc) -> wire::EscalationPolicyDefinition {
    wire::EscalationPolicyDefinition {
        levels: document
            .levels
            .into_iter()
            .map(|level| wire::EscalationLevel {
                targets: level
                    .targets
                    .into_iter()
                    .map(|target| wire::EscalationTarget {
                        kind: target.kind,
                        id: target.id,
                    })
                    .collect(),
                delay_minutes: level.delay_minutes,
            })
            .collect(),
        repeats: document.repeats,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The wire definition and the stored document are the same JSON, and converting one
    /// way and back loses nothing.
    #[test]
    fn a_definition_converts_both_ways_unchanged() {
        for json in [
            serde_json::json!({"levels": [{"targets": [{"type": "user", "id": "u1"}],
                "delay_minutes": 5}]}),
            serde_json::json!({"levels": [
                {"targets": [{"type": "schedule", "id": "primary"}, {"type": "group", "id": "g1"}],
                 "delay_minutes": 5},
                {"targets": [{"type": "user", "id": "u1"}], "delay_minutes": 30}],
                "repeats": 2}),
        ] {
            let wire: wire::EscalationPolicyDefinition = definition(json.clone()).unwrap();
            let doc = policy_doc(wire.clone());
            assert_eq!(
                doc,
                serde_json::from_value::<PolicyDoc>(json.clone()).unwrap()
            );
            assert_eq!(serde_json::to_value(&doc).unwrap(), json);
            assert_eq!(wire_definition(doc), wire);
            assert_eq!(serde_json::to_value(&wire).unwrap(), json);
        }
    }
}
