//! The caller's in-app notifications (pages and subscription notices).

use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::{Extension, Json};
use rampart_api::sre as wire;
use rampart_api::{ListParams, ListResponse};
use rampart_app::{Access, Ctx};

use crate::AppState;
use crate::error::ApiResult;
use crate::extract::{ApiPath, ApiQuery, path_params};
use crate::routes::{RouteSpec, RouteTable};

/// Registers this module's routes.
pub fn routes(table: &mut RouteTable) {
    use Method as M;
    let r = RouteSpec::new;

    // The caller's in-app notifications (pages).
    table.add(
        r(
            M::GET,
            "/api/v1/me/notifications",
            Access::SelfService,
            "Your notifications, newest first",
        )
        .page::<wire::Notification>(),
        my_notifications,
    );
    table.add(
        r(
            M::POST,
            "/api/v1/me/notifications/{notification}/read",
            Access::SelfService,
            "Mark one of your notifications read",
        ),
        read_notification,
    );
}

path_params! {
    /// `/me/notifications/{notification}/read`
    pub struct NotificationPath { notification }
}

pub async fn my_notifications(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<ListResponse<wire::Notification>>> {
    let page = state
        .app
        .my_notifications(&ctx, params.limit, params.cursor.as_deref())
        .await?;
    Ok(Json(ListResponse {
        items: page
            .items
            .iter()
            .map(|view| (&view.notification, &view.deliveries))
            .map(|(n, deliveries)| wire::Notification {
                id: n.id.to_string(),
                kind: n.kind.clone(),
                project_id: n.project_id.to_string(),
                incident_id: n.incident_id.to_string(),
                incident_number: n.incident_number,
                level: n.level,
                round: n.round,
                created_at: n.created_at.to_string(),
                read_at: n.read_at.map(|t| t.to_string()),
                deliveries: deliveries
                    .iter()
                    .map(|d| wire::NotificationDelivery {
                        task_id: d.task_id.to_string(),
                        channel: d.channel.clone(),
                        label: d.label.clone(),
                        status: d.status.clone(),
                        error_code: d.error_code.clone(),
                        updated_at: d.updated_at.to_string(),
                    })
                    .collect(),
            })
            .collect(),
        next_cursor: page.next_cursor,
    }))
}

pub async fn read_notification(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    ApiPath(path): ApiPath<NotificationPath>,
) -> ApiResult<StatusCode> {
    state
        .app
        .mark_notification_read(&ctx, &path.notification)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
