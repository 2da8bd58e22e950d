//! Alerts arrive here: the webhook endpoint `POST /hooks/v1/{integration_id}`, mounted
//! beside the route table because its authentication is the integration's own (bearer
//! `rmp_whk_` token, Basic, or an HMAC signature), not an API token. What a delivery
//! does (dedup, open or join an incident) is the application's.

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use rampart_api::sre as wire;
use rampart_app::RequestMeta;
use rampart_app::sre::alerts::WebhookRequest;
use rampart_domain::ErrorCode;
use rampart_domain::sre::payload::WEBHOOK_BODY_BYTES_MAX;

use crate::AppState;
use crate::error::ApiError;

/// Mounts `POST /hooks/v1/{integration_id}` (its own authentication and body limit).
pub fn mount(router: Router<AppState>) -> Router<AppState> {
    router.route(
        "/hooks/v1/{integration_id}",
        axum::routing::post(webhook).layer(axum::extract::DefaultBodyLimit::disable()),
    )
}

/// `POST /hooks/v1/{integration_id}`: 202 with what each event did.
pub async fn webhook(
    State(state): State<AppState>,
    Path(integration_id): Path<String>,
    headers: HeaderMap,
    request_meta: Option<Extension<RequestMeta>>,
    body: Body,
) -> Response {
    let body = match axum::body::to_bytes(body, WEBHOOK_BODY_BYTES_MAX).await {
        Ok(body) => body,
        Err(_) => {
            return ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!("a webhook body holds at most {WEBHOOK_BODY_BYTES_MAX} bytes"),
            )
            .into_response();
        }
    };
    let header_text = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    let request = WebhookRequest {
        integration_id: &integration_id,
        meta: request_meta.map(|m| m.0).unwrap_or_default(),
        authorization: header_text(header::AUTHORIZATION.as_str()),
        signature: header_text(rampart_app::sre::alerts::SIGNATURE_HEADER),
        body: &body,
    };
    match state.app.ingest_webhook(request).await {
        Ok(outcome) => (
            StatusCode::ACCEPTED,
            Json(wire::WebhookAccepted {
                status: "accepted".into(),
                alerts: outcome
                    .alerts
                    .into_iter()
                    .map(|alert| wire::WebhookAlert {
                        dedup_key: alert.dedup_key,
                        alert_id: alert.alert_id.map(|id| id.to_string()),
                        outcome: alert.outcome.to_owned(),
                        incident: alert.incident_number,
                    })
                    .collect(),
                truncated_alerts: outcome.truncated,
                dedup_key: outcome.generated_dedup_key,
            }),
        )
            .into_response(),
        Err(error) => ApiError::from(error).into_response(),
    }
}
