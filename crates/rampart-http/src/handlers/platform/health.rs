//! Liveness, readiness, metrics and the OpenAPI document.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use rampart_api::HealthResponse;
use rampart_app::Access;
use rampart_app::AppError;
use rampart_domain::ErrorCode;
use rampart_domain::Permission as P;

use crate::error::{ApiError, ApiResult};
use crate::routes::{RouteSpec, RouteTable, perm};
use crate::{AppState, HttpSettings};

/// Registers this module's routes.
pub fn routes(table: &mut RouteTable, settings: &HttpSettings) {
    use Method as M;
    let r = RouteSpec::new;

    // Health, metrics, the API description.
    table.add(
        r(M::GET, "/healthz", Access::Public, "Liveness").reply::<HealthResponse>(200),
        healthz,
    );
    table.add(
        r(
            M::GET,
            "/readyz",
            if settings.readyz_public {
                Access::Public
            } else {
                Access::SelfServiceNarrowedOk
            },
            "Readiness: the store answers",
        )
        .reply::<HealthResponse>(200),
        readyz,
    );
    let metrics_access = if settings.metrics_public {
        Access::Public
    } else {
        perm(P::SettingsView)
    };
    table.add(
        r(M::GET, "/metrics", metrics_access, "Prometheus metrics")
            .text(&["text/plain; version=0.0.4"]),
        metrics,
    );
    table.add(
        r(
            M::GET,
            "/api/v1/openapi.json",
            Access::SelfServiceNarrowedOk,
            "This API's OpenAPI 3.1 document",
        )
        .text(&["application/json"]),
        openapi,
    );
}

pub async fn healthz() -> Json<HealthResponse> {
    Json(HealthResponse {
        status: "ok".into(),
    })
}

pub async fn readyz(State(state): State<AppState>) -> ApiResult<Json<HealthResponse>> {
    state.app.ready().await.map_err(|error| match error {
        misconfigured @ AppError::Misconfigured { .. } => ApiError::from(misconfigured),
        _ => ApiError::new(ErrorCode::StoreUnavailable, "the database is not reachable"),
    })?;
    Ok(Json(HealthResponse {
        status: "ready".into(),
    }))
}

pub async fn metrics(State(state): State<AppState>) -> Response {
    let mut response = state.metrics.render().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    response
}

/// The document is rendered once when the router is built and handed in as an extension.
pub async fn openapi(axum::Extension(document): axum::Extension<OpenApiJson>) -> Response {
    let mut response = document.0.as_str().to_owned().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// The rendered OpenAPI document.
#[derive(Clone, Debug)]
pub struct OpenApiJson(pub std::sync::Arc<String>);
