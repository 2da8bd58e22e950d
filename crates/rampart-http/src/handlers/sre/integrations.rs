//! A service's webhook integrations: create, list, rotate the credential (shown once),
//! delete. Deliveries to them arrive at [`super::alerts`].

use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::{Extension, Json};
use rampart_api::ListResponse;
use rampart_api::sre as wire;
use rampart_app::Ctx;
use rampart_app::sre::integrations::{IntegrationCredential, IntegrationInput};
use rampart_domain::Permission as P;
use rampart_domain::sre::integrations::{AuthMode, Integration};

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

    // A service's webhook integrations.
    let path = |suffix| join_path(PROJECT, suffix);
    table.add(
        r(
            M::GET,
            path("/services/{service}/integrations"),
            perm(P::ServiceView),
            "A service's webhook integrations (never their credentials)",
        )
        .page::<wire::Integration>(),
        list_integrations,
    );
    table.add(
        r(
            M::POST,
            path("/services/{service}/integrations"),
            perm(P::ServiceEdit),
            "Add a webhook integration; its credential is shown once",
        )
        .step_up()
        .body::<wire::IntegrationCreate>()
        .reply::<wire::IntegrationCreated>(201),
        create_integration,
    );
    table.add(
        r(
            M::POST,
            path("/services/{service}/integrations/{integration}/rotate"),
            perm(P::ServiceEdit),
            "Rotate an integration's credential (HMAC: the previous secret stays valid \
             until the next rotation); the new one is shown once",
        )
        .step_up()
        .reply::<wire::IntegrationCreated>(200),
        rotate_integration,
    );
    table.add(
        r(
            M::DELETE,
            path("/services/{service}/integrations/{integration}"),
            perm(P::ServiceEdit),
            "Delete an integration (its URL stops accepting webhooks)",
        ),
        delete_integration,
    );
}

path_params! {
    /// `…/services/{service}/integrations/{integration}`
    pub struct IntegrationPath { service, integration }
}

fn wire_integration(integration: &Integration, service: &str) -> wire::Integration {
    wire::Integration {
        id: integration.id.to_string(),
        service: service.to_owned(),
        name: integration.name.to_string(),
        format: integration.format.as_str().to_owned(),
        auth_mode: integration.auth_mode.as_str().to_owned(),
        source_cidrs: integration.source_cidrs.clone(),
        rate_limit_per_minute: integration.rate_limit_per_minute,
        url_path: match integration.auth_mode {
            AuthMode::RoutingKey => super::alerts::PAGERDUTY_ENQUEUE_PATH.to_owned(),
            _ => format!("/hooks/v1/{}", integration.id),
        },
        created_at: integration.created_at.to_string(),
    }
}

pub async fn list_integrations(
    State(state): State<AppState>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<ServicePath>,
) -> ApiResult<Json<ListResponse<wire::Integration>>> {
    let service = &path.service;
    let integrations = state.app.list_integrations(scope.scope(), service).await?;
    Ok(Json(ListResponse {
        items: integrations
            .iter()
            .map(|integration| wire_integration(integration, service))
            .collect(),
        next_cursor: None,
    }))
}

pub async fn create_integration(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<ServicePath>,
    ApiJson(body): ApiJson<wire::IntegrationCreate>,
) -> ApiResult<(StatusCode, Json<wire::IntegrationCreated>)> {
    let service = &path.service;
    let (integration, credential) = state
        .app
        .create_integration(
            &ctx,
            scope.scope(),
            service,
            IntegrationInput {
                name: body.name,
                format: body.format,
                auth_mode: body.auth_mode,
                source_cidrs: body.source_cidrs,
                rate_limit_per_minute: body.rate_limit_per_minute,
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(wire_created(&integration, service, credential)),
    ))
}

/// A new or rotated integration with its credential, shown once.
fn wire_created(
    integration: &Integration,
    service: &str,
    credential: IntegrationCredential,
) -> wire::IntegrationCreated {
    let mut created = wire::IntegrationCreated {
        integration: wire_integration(integration, service),
        token: None,
        routing_key: None,
        username: None,
        password: None,
        secret: None,
    };
    match credential {
        IntegrationCredential::Bearer { token } => created.token = Some(token),
        IntegrationCredential::RoutingKey { routing_key } => {
            created.routing_key = Some(routing_key);
        }
        IntegrationCredential::Basic { username, password } => {
            created.username = Some(username);
            created.password = Some(password);
        }
        IntegrationCredential::Hmac { secret } => created.secret = Some(secret),
    }
    created
}

pub async fn rotate_integration(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<IntegrationPath>,
) -> ApiResult<Json<wire::IntegrationCreated>> {
    let service = &path.service;
    let (integration, credential) = state
        .app
        .rotate_integration_credential(&ctx, scope.scope(), service, &path.integration)
        .await?;
    Ok(Json(wire_created(&integration, service, credential)))
}

pub async fn delete_integration(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<IntegrationPath>,
) -> ApiResult<StatusCode> {
    state
        .app
        .delete_integration(&ctx, scope.scope(), &path.service, &path.integration)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
