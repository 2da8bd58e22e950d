//! Alerts arrive here: the webhook endpoint `POST /hooks/v1/{integration_id}`, mounted
//! beside the route table because its authentication is the integration's own (bearer
//! `rmp_whk_` token, Basic, an HMAC signature, or a PagerDuty routing key), not an API
//! token; and the PagerDuty-compatible `POST /hooks/pagerduty/v2/enqueue`, where any
//! PagerDuty Events API v2 sender posts unchanged (the integration key as `routing_key`
//! in the body, no header) and is answered in PagerDuty's shapes. What a delivery does
//! (dedup, open or join an incident) is the application's.
//!
//! And the alerts API of a project, in the table: the list (filters `status`, `service`,
//! `since`), one alert with its payload, and acknowledging or resolving one by hand.

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use rampart_api::ListResponse;
use rampart_api::sre as wire;
use rampart_app::sre::alerts::{AlertQuery, AlertView, PagerDutyEventRequest, WebhookRequest};
use rampart_app::{Ctx, RequestMeta};
use rampart_domain::ErrorCode;
use rampart_domain::Permission as P;
use rampart_domain::sre::payload::WEBHOOK_BODY_BYTES_MAX;

use crate::AppState;
use crate::enforce::Scope;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiPath, ApiQuery, path_params};
use crate::routes::{
    CURSOR, LIMIT, PROJECT, QueryParam, RouteSpec, RouteTable, SLUG_PATTERN, Shape, join_path, perm,
};
use crate::unread_body::{BodyWatch, declared_over};

/// Registers the alerts API of a project.
pub fn routes(table: &mut RouteTable) {
    use Method as M;
    let r = RouteSpec::new;
    const ALERT_LIST_QUERY: &[QueryParam] = &[
        QueryParam::optional(
            "status",
            "triggered, acknowledged or resolved",
            Shape::OneOf(&["triggered", "acknowledged", "resolved"]),
        ),
        QueryParam::optional(
            "service",
            "a service's identifier",
            Shape::Pattern(SLUG_PATTERN),
        ),
        QueryParam::optional(
            "since",
            "RFC 3339 time: alerts created at or after",
            Shape::Time,
        ),
        LIMIT,
        CURSOR,
    ];
    let path = |suffix| join_path(PROJECT, suffix);
    table.add(
        r(
            M::GET,
            path("/alerts"),
            perm(P::AlertView),
            "Alerts, newest first (filters: status, service, since)",
        )
        .page::<wire::Alert>()
        .query(ALERT_LIST_QUERY),
        list_alerts,
    );
    table.add(
        r(
            M::GET,
            path("/alerts/{alert}"),
            perm(P::AlertView),
            "An alert with its payload and its incident's number",
        )
        .reply::<wire::Alert>(200),
        get_alert,
    );
    table.add(
        r(
            M::POST,
            path("/alerts/{alert}/acknowledge"),
            perm(P::AlertEdit),
            "Acknowledge a triggered alert",
        )
        .reply::<wire::Alert>(200),
        acknowledge_alert,
    );
    table.add(
        r(
            M::POST,
            path("/alerts/{alert}/resolve"),
            perm(P::AlertEdit),
            "Resolve an alert, as its sender's resolve event would (its incident may auto-resolve)",
        )
        .reply::<wire::Alert>(200),
        resolve_alert,
    );
}

path_params! {
    /// `…/alerts/{alert}` and its actions
    pub struct AlertPath { alert }
}

fn wire_alert(view: AlertView) -> wire::Alert {
    let alert = view.alert;
    wire::Alert {
        id: alert.id.to_string(),
        dedup_key: view.dedup_key,
        status: alert.status.as_str().to_owned(),
        severity: alert.severity,
        event_count: alert.event_count,
        created_at: alert.created_at.to_string(),
        resolved_at: alert.resolved_at.map(|t| t.to_string()),
        service: Some(view.service),
        incident: view.incident_number,
        updated_at: Some(alert.updated_at.to_string()),
        payload: None,
    }
}

pub async fn list_alerts(
    State(state): State<AppState>,
    Extension(scope): Scope,
    ApiQuery(params): ApiQuery<wire::AlertListParams>,
) -> ApiResult<Json<ListResponse<wire::Alert>>> {
    let query = AlertQuery {
        status: params.status,
        service: params.service,
        since: params.since,
    };
    let page = state
        .app
        .list_alerts(
            scope.scope(),
            &query,
            params.limit,
            params.cursor.as_deref(),
        )
        .await?;
    Ok(Json(ListResponse {
        items: page.items.into_iter().map(wire_alert).collect(),
        next_cursor: page.next_cursor,
    }))
}

pub async fn get_alert(
    State(state): State<AppState>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<AlertPath>,
) -> ApiResult<Json<wire::Alert>> {
    let detail = state.app.get_alert(scope.scope(), &path.alert).await?;
    let mut alert = wire_alert(detail.view);
    alert.payload = Some(detail.payload);
    Ok(Json(alert))
}

pub async fn acknowledge_alert(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<AlertPath>,
) -> ApiResult<Json<wire::Alert>> {
    let view = state
        .app
        .acknowledge_alert(&ctx, scope.scope(), &path.alert)
        .await?;
    Ok(Json(wire_alert(view)))
}

pub async fn resolve_alert(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<AlertPath>,
) -> ApiResult<Json<wire::Alert>> {
    let view = state
        .app
        .resolve_alert(&ctx, scope.scope(), &path.alert)
        .await?;
    Ok(Json(wire_alert(view)))
}

/// Where PagerDuty Events API v2 senders post: their base URL is
/// `https://HOST:PORT/hooks/pagerduty`, to which they add PagerDuty's `/v2/enqueue`.
pub const PAGERDUTY_ENQUEUE_PATH: &str = "/hooks/pagerduty/v2/enqueue";

/// Mounts `POST /hooks/v1/{integration_id}` and `POST /hooks/pagerduty/v2/enqueue`
/// (their own authentication and body limit).
pub fn mount(router: Router<AppState>) -> Router<AppState> {
    router
        .route(
            "/hooks/v1/{integration_id}",
            axum::routing::post(webhook).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route(
            PAGERDUTY_ENQUEUE_PATH,
            axum::routing::post(pagerduty_event).layer(axum::extract::DefaultBodyLimit::disable()),
        )
}

/// A webhook body, read up to the limit (`payload_too_large` past it).
async fn webhook_body(
    watch: Option<&BodyWatch>,
    headers: &HeaderMap,
    body: Body,
) -> Result<axum::body::Bytes, ApiError> {
    let too_large = || {
        ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("a webhook body holds at most {WEBHOOK_BODY_BYTES_MAX} bytes"),
        )
    };
    // Declared too large: refused before a byte is read or the integration looked up.
    if declared_over(watch, headers, WEBHOOK_BODY_BYTES_MAX) {
        return Err(too_large());
    }
    axum::body::to_bytes(body, WEBHOOK_BODY_BYTES_MAX)
        .await
        .map_err(|_| too_large())
}

/// `POST /hooks/v1/{integration_id}`: 202 with what each event did.
pub async fn webhook(
    State(state): State<AppState>,
    Path(integration_id): Path<String>,
    headers: HeaderMap,
    request_meta: Option<Extension<RequestMeta>>,
    watch: Option<Extension<BodyWatch>>,
    body: Body,
) -> Response {
    let body = match webhook_body(watch.as_deref(), &headers, body).await {
        Ok(body) => body,
        Err(error) => return error.into_response(),
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

/// `POST /hooks/pagerduty/v2/enqueue`: one PagerDuty Events API v2 event, answered as
/// PagerDuty answers — 202 `{"status": "success", "message": "Event processed",
/// "dedup_key": …}` — or with [`pagerduty_error`].
pub async fn pagerduty_event(
    State(state): State<AppState>,
    headers: HeaderMap,
    request_meta: Option<Extension<RequestMeta>>,
    watch: Option<Extension<BodyWatch>>,
    body: Body,
) -> Response {
    let body = match webhook_body(watch.as_deref(), &headers, body).await {
        Ok(body) => body,
        Err(error) => return pagerduty_error(error),
    };
    let request = PagerDutyEventRequest {
        meta: request_meta.map(|m| m.0).unwrap_or_default(),
        body: &body,
    };
    match state.app.ingest_pagerduty_event(request).await {
        // One event per body: its key is the one it gave or the one generated for it.
        Ok(outcome) => match outcome.alerts.into_iter().next() {
            Some(alert) => (
                StatusCode::ACCEPTED,
                Json(wire::PagerDutyEventAccepted {
                    status: "success".into(),
                    message: "Event processed".into(),
                    dedup_key: alert.dedup_key,
                }),
            )
                .into_response(),
            None => pagerduty_error(ApiError::from(rampart_app::AppError::Internal(
                "a PagerDuty event decoded to no event".into(),
            ))),
        },
        Err(error) => pagerduty_error(ApiError::from(error)),
    }
}

/// An error in PagerDuty's shape — `{"status": "invalid event", "message": "Event object
/// is invalid", "errors": […]}` for a 400, which is what PagerDuty's clients parse —
/// with Rampart's `error` (the catalogued code) in the same body, and the status and
/// headers (`Retry-After` on a 429) of the error itself.
pub fn pagerduty_error(error: ApiError) -> Response {
    let (status, message) = match error.status.as_u16() {
        400 | 413 => ("invalid event", "Event object is invalid".to_owned()),
        429 => ("throttle event", error.message.clone()),
        403 => ("forbidden", error.message.clone()),
        _ if error.status.is_server_error() => ("error", error.message.clone()),
        _ => ("rejected", error.message.clone()),
    };
    let body = wire::PagerDutyEventError {
        status: status.to_owned(),
        message,
        errors: vec![error.message.clone()],
        error: error.body().error,
    };
    error.into_response_with(body)
}
