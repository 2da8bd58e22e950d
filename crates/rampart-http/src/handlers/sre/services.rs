//! A project's service directory: services, their ownership (owner team, subscribers,
//! tags), a user's own subscription, and the organisation's names for the SEV levels.

use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::{Extension, Json};
use rampart_api::sre as wire;
use rampart_api::{ListParams, ListResponse};
use rampart_app::Ctx;
use rampart_app::sre::services::ServiceInput;
use rampart_domain::Permission as P;
use rampart_domain::sre::services::Service;

use crate::AppState;
use crate::enforce::Scope;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath, ApiQuery, path_params};
use crate::routes::{PROJECT, RouteSpec, RouteTable, join_path, perm};

/// Registers this module's routes.
pub fn routes(table: &mut RouteTable) {
    use Method as M;
    let r = RouteSpec::new;

    // An organisation's names for the SEV levels.
    table.add(
        r(
            M::GET,
            "/api/v1/orgs/{org}/incident-severities",
            perm(P::IncidentView),
            "The organisation's names for SEV0…SEV4",
        )
        .reply::<wire::SeverityLabels>(200),
        get_severity_labels,
    );
    table.add(
        r(
            M::PUT,
            "/api/v1/orgs/{org}/incident-severities",
            perm(P::IncidentConfigure),
            "Rename SEV levels for the organisation",
        )
        .body::<wire::SeverityLabels>()
        .reply::<wire::SeverityLabels>(200),
        set_severity_labels,
    );

    // A project's services.
    let path = |suffix| join_path(PROJECT, suffix);
    table.add(
        r(
            M::GET,
            path("/services"),
            perm(P::ServiceView),
            "List services",
        )
        .page::<wire::Service>(),
        list_services,
    );
    table.add(
        r(
            M::POST,
            path("/services"),
            perm(P::ServiceCreate),
            "Create a service",
        )
        .body::<wire::ServiceCreate>()
        .reply::<wire::Service>(201),
        create_service,
    );
    table.add(
        r(
            M::GET,
            path("/services/{service}"),
            perm(P::ServiceView),
            "A service",
        )
        .reply::<wire::Service>(200),
        get_service,
    );
    table.add(
        r(
            M::PATCH,
            path("/services/{service}"),
            perm(P::ServiceEdit),
            "Rename a service, change its description or auto-resolve",
        )
        .body::<wire::ServiceUpdate>()
        .reply::<wire::Service>(200),
        update_service,
    );
    table.add(
        r(
            M::DELETE,
            path("/services/{service}"),
            perm(P::ServiceDelete),
            "Delete a service with its integrations and alerts (incidents stay)",
        ),
        delete_service,
    );
    table.add(
        r(
            M::PUT,
            path("/services/{service}/ownership"),
            perm(P::ServiceEdit),
            "Set a service's owner team, subscribers and tags",
        )
        .body::<wire::ServiceOwnership>()
        .reply::<wire::ServiceOwnership>(200),
        set_service_ownership,
    );
    table.add(
        r(
            M::PUT,
            path("/services/{service}/subscription"),
            perm(P::ServiceSubscribe),
            "Subscribe yourself to a service's incidents (a user, not a service account)",
        )
        .reply::<wire::ServiceOwnership>(200),
        subscribe_to_service,
    );
    table.add(
        r(
            M::DELETE,
            path("/services/{service}/subscription"),
            perm(P::ServiceSubscribe),
            "End your own subscription to a service",
        ),
        unsubscribe_from_service,
    );
}

path_params! {
    /// `…/services/{service}` and what hangs off a service
    pub struct ServicePath { service }
}

fn wire_service(service: &Service) -> wire::Service {
    wire::Service {
        id: service.id.to_string(),
        identifier: service.identifier.to_string(),
        name: service.name.to_string(),
        description: service.description.to_string(),
        auto_resolve: service.auto_resolve,
        created_at: service.created_at.to_string(),
        ownership: None,
    }
}

fn wire_ownership(
    ownership: rampart_domain::sre::services::ServiceOwnership,
) -> wire::ServiceOwnership {
    wire::ServiceOwnership {
        owner_group: ownership.owner_group,
        subscribers: ownership.subscribers,
        tags: ownership.tags,
    }
}

pub async fn list_services(
    State(state): State<AppState>,
    Extension(scope): Scope,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<ListResponse<wire::Service>>> {
    let page = state
        .app
        .list_services(scope.scope(), params.limit, params.cursor.as_deref())
        .await?;
    Ok(Json(ListResponse {
        items: page.items.iter().map(wire_service).collect(),
        next_cursor: page.next_cursor,
    }))
}

pub async fn create_service(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiJson(body): ApiJson<wire::ServiceCreate>,
) -> ApiResult<(StatusCode, Json<wire::Service>)> {
    let service = state
        .app
        .create_service(
            &ctx,
            scope.scope(),
            ServiceInput {
                identifier: body.identifier,
                name: body.name,
                description: body.description,
                auto_resolve: body.auto_resolve,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(wire_service(&service))))
}

pub async fn get_service(
    State(state): State<AppState>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<ServicePath>,
) -> ApiResult<Json<wire::Service>> {
    let service = state.app.service_at(scope.scope(), &path.service).await?;
    let mut wired = wire_service(&service);
    wired.ownership = Some(wire_ownership(
        state.app.service_ownership(service.id).await?,
    ));
    Ok(Json(wired))
}

pub async fn update_service(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<ServicePath>,
    ApiJson(body): ApiJson<wire::ServiceUpdate>,
) -> ApiResult<Json<wire::Service>> {
    let service = state
        .app
        .update_service(
            &ctx,
            scope.scope(),
            &path.service,
            body.name.as_deref(),
            body.description.as_deref(),
            body.auto_resolve,
        )
        .await?;
    Ok(Json(wire_service(&service)))
}

pub async fn delete_service(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<ServicePath>,
) -> ApiResult<StatusCode> {
    state
        .app
        .delete_service(&ctx, scope.scope(), &path.service)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn set_service_ownership(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<ServicePath>,
    ApiJson(body): ApiJson<wire::ServiceOwnership>,
) -> ApiResult<Json<wire::ServiceOwnership>> {
    let ownership = state
        .app
        .set_service_ownership(
            &ctx,
            scope.scope(),
            &path.service,
            rampart_domain::sre::services::ServiceOwnership {
                owner_group: body.owner_group,
                subscribers: body.subscribers,
                tags: body.tags,
            },
        )
        .await?;
    Ok(Json(wire_ownership(ownership)))
}

pub async fn subscribe_to_service(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<ServicePath>,
) -> ApiResult<Json<wire::ServiceOwnership>> {
    let ownership = state
        .app
        .set_own_subscription(&ctx, scope.scope(), &path.service, true)
        .await?;
    Ok(Json(wire_ownership(ownership)))
}

pub async fn unsubscribe_from_service(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<ServicePath>,
) -> ApiResult<StatusCode> {
    state
        .app
        .set_own_subscription(&ctx, scope.scope(), &path.service, false)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn labels_of(
    state: &AppState,
    scope: &rampart_app::platform::tenancy::ResolvedScope,
) -> ApiResult<std::collections::BTreeMap<String, String>> {
    match scope.scope().org_id() {
        Some(org) => Ok(state.app.severity_labels(org).await?),
        None => Ok(Default::default()),
    }
}

pub async fn get_severity_labels(
    State(state): State<AppState>,
    Extension(scope): Scope,
) -> ApiResult<Json<wire::SeverityLabels>> {
    Ok(Json(wire::SeverityLabels {
        labels: labels_of(&state, &scope).await?,
    }))
}

pub async fn set_severity_labels(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiJson(body): ApiJson<wire::SeverityLabels>,
) -> ApiResult<Json<wire::SeverityLabels>> {
    let labels = state
        .app
        .set_severity_labels(&ctx, scope.scope(), body.labels)
        .await?;
    Ok(Json(wire::SeverityLabels { labels }))
}
