//! On-call schedules of a project: the definition (CRUD), who is on call at an instant,
//! the final timeline of a range with its gaps, and the same as iCalendar.

use axum::extract::State;
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use rampart_api::sre as wire;
use rampart_app::{AppError, Ctx};
use rampart_domain::ErrorCode;
use rampart_domain::Permission as P;
use rampart_domain::sre::documents::DefinitionKind;

use crate::AppState;
use crate::enforce::Scope;
use crate::error::ApiResult;
use crate::extract::{ApiPath, ApiQuery, path_params};
use crate::routes::{PROJECT, RouteSpec, RouteTable, join_path, perm};

/// Registers this module's routes.
pub fn routes(table: &mut RouteTable) {
    use Method as M;
    let r = RouteSpec::new;

    // A project's on-call schedules.
    let path = |suffix| join_path(PROJECT, suffix);
    definition_routes!(
        table,
        PROJECT,
        "/schedules",
        "/schedules/{schedule}",
        "schedule",
        ScheduleView,
        ScheduleCreate,
        ScheduleEdit,
        list_schedules,
        create_schedule,
        get_schedule,
        replace_schedule
    );
    table.add(
        r(
            M::DELETE,
            path("/schedules/{schedule}"),
            perm(P::ScheduleDelete),
            "Delete a schedule (not while a policy pages it)",
        ),
        delete_schedule,
    );
    table.add(
        r(
            M::GET,
            path("/schedules/{schedule}/on-call"),
            perm(P::ScheduleView),
            "Who is on call at an instant (default now)",
        )
        .query(&[("at", "RFC 3339 time")])
        .reply::<wire::OnCall>(200),
        on_call,
    );
    table.add(
        r(
            M::GET,
            path("/schedules/{schedule}/timeline"),
            perm(P::ScheduleView),
            "The final on-call timeline of a range, with its gaps",
        )
        .query(&[("from", "RFC 3339 time"), ("to", "RFC 3339 time")])
        .reply::<wire::OnCallTimeline>(200),
        schedule_timeline,
    );
    table.add(
        r(
            M::GET,
            path("/schedules/{schedule}/ical"),
            perm(P::ScheduleView),
            "The on-call timeline of a range as iCalendar",
        )
        .query(&[("from", "RFC 3339 time"), ("to", "RFC 3339 time")])
        .text("text/calendar"),
        schedule_ical,
    );
}

path_params! {
    /// `…/schedules/{schedule}` and its views
    pub struct SchedulePath { schedule }
}

definition_handlers!(
    DefinitionKind::Schedule,
    SchedulePath,
    schedule,
    list_schedules,
    create_schedule,
    get_schedule,
    replace_schedule
);

fn time_param(text: &str, field: &'static str) -> ApiResult<jiff::Timestamp> {
    text.parse::<jiff::Timestamp>().map_err(|_| {
        AppError::bad_request(
            if field == "at" {
                ErrorCode::InvalidAt
            } else {
                ErrorCode::InvalidRange
            },
            format!("{field} must be an RFC 3339 time"),
        )
        .into()
    })
}

pub async fn on_call(
    State(state): State<AppState>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<SchedulePath>,
    ApiQuery(query): ApiQuery<wire::OnCallQuery>,
) -> ApiResult<Json<wire::OnCall>> {
    let at = match &query.at {
        Some(text) => time_param(text, "at")?,
        None => state.app.now(),
    };
    let schedule = &path.schedule;
    let user = state.app.on_call(scope.scope(), schedule, at).await?;
    Ok(Json(wire::OnCall {
        schedule: schedule.to_owned(),
        at: at.to_string(),
        user,
    }))
}

pub async fn schedule_timeline(
    State(state): State<AppState>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<SchedulePath>,
    ApiQuery(query): ApiQuery<wire::RangeQuery>,
) -> ApiResult<Json<wire::OnCallTimeline>> {
    let schedule = &path.schedule;
    let record = state
        .app
        .get_definition(DefinitionKind::Schedule, scope.scope(), schedule)
        .await?;
    let layer_names: Vec<String> =
        serde_json::from_str::<rampart_domain::sre::documents::ScheduleDoc>(&record.definition)
            .map(|doc| doc.layers.into_iter().map(|layer| layer.name).collect())
            .unwrap_or_default();
    let timeline = state
        .app
        .schedule_timeline(
            scope.scope(),
            schedule,
            time_param(&query.from, "from")?,
            time_param(&query.to, "to")?,
        )
        .await?;
    let segment = |s: &rampart_domain::sre::schedules::Segment| wire::OnCallSegment {
        start: s.start.to_string(),
        end: s.end.to_string(),
        user: s.user.clone(),
        source: s.source.map(|source| match source {
            rampart_domain::sre::schedules::Source::Override(_) => "override".to_owned(),
            rampart_domain::sre::schedules::Source::Layer(index) => format!(
                "layer:{}",
                layer_names.get(index).map(String::as_str).unwrap_or("")
            ),
        }),
    };
    Ok(Json(wire::OnCallTimeline {
        schedule: schedule.to_owned(),
        segments: timeline.segments.iter().map(segment).collect(),
        gaps: timeline.gaps().map(segment).collect(),
    }))
}

pub async fn schedule_ical(
    State(state): State<AppState>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<SchedulePath>,
    ApiQuery(query): ApiQuery<wire::RangeQuery>,
) -> ApiResult<Response> {
    let ical = state
        .app
        .schedule_ical(
            scope.scope(),
            &path.schedule,
            time_param(&query.from, "from")?,
            time_param(&query.to, "to")?,
        )
        .await?;
    Ok((
        [(header::CONTENT_TYPE, "text/calendar; charset=utf-8")],
        ical,
    )
        .into_response())
}

pub async fn delete_schedule(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<SchedulePath>,
) -> ApiResult<StatusCode> {
    state
        .app
        .delete_definition(
            &ctx,
            DefinitionKind::Schedule,
            scope.scope(),
            &path.schedule,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
