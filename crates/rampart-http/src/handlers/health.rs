//! Liveness, readiness, metrics and the OpenAPI document.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rampart_api::HealthResponse;

use crate::AppState;
use crate::error::{ApiError, ApiResult};

pub async fn healthz() -> Json<HealthResponse> {
    Json(HealthResponse {
        status: "ok".into(),
    })
}

pub async fn readyz(State(state): State<AppState>) -> ApiResult<Json<HealthResponse>> {
    state.app.ready().await.map_err(|_| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "store_unavailable",
            "the database is not reachable",
        )
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
