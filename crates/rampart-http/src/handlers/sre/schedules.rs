//! On-call schedules of a project: the schedule and its definition (CRUD), who is on
//! call at an instant, the final timeline of a range with its gaps, and the same as
//! iCalendar; a schedule's overrides on their own (list, add, "take my shift", delete);
//! and the conversions between the wire schedule and the domain's document.

use axum::extract::State;
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use rampart_api::{ListParams, ListResponse, sre as wire};
use rampart_app::sre::definitions::StoredDefinition;
use rampart_app::{AppError, Ctx};
use rampart_domain::ErrorCode;
use rampart_domain::Permission as P;
use rampart_domain::sre::documents::{
    DefinitionKind, LayerDoc, OverrideDoc, RestrictionDoc, ScheduleDoc,
};

use super::definition;
use crate::AppState;
use crate::enforce::Scope;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath, ApiQuery, path_params};
use crate::routes::{PROJECT, QueryParam, RouteSpec, RouteTable, Shape, join_path, perm};

/// `from` and `to` of a timeline or its iCalendar form.
const RANGE_QUERY: &[QueryParam] = &[
    QueryParam::required("from", "RFC 3339 time", Shape::Time),
    QueryParam::required("to", "RFC 3339 time", Shape::Time),
];

/// Registers this module's routes.
pub fn routes(table: &mut RouteTable) {
    use Method as M;
    let r = RouteSpec::new;

    // A project's on-call schedules.
    let path = |suffix| join_path(PROJECT, suffix);
    table.add(
        r(
            M::GET,
            path("/schedules"),
            perm(P::ScheduleView),
            "List schedules",
        )
        .page::<wire::Schedule>(),
        list_schedules,
    );
    table.add(
        r(
            M::POST,
            path("/schedules"),
            perm(P::ScheduleCreate),
            "Create a schedule",
        )
        .body::<wire::ScheduleCreate>()
        .reply::<wire::Schedule>(201),
        create_schedule,
    );
    table.add(
        r(
            M::GET,
            path("/schedules/{schedule}"),
            perm(P::ScheduleView),
            "A schedule",
        )
        .reply::<wire::Schedule>(200),
        get_schedule,
    );
    table.add(
        r(
            M::PUT,
            path("/schedules/{schedule}"),
            perm(P::ScheduleEdit),
            "Replace a schedule's name and definition",
        )
        .body::<wire::ScheduleUpdate>()
        .reply::<wire::Schedule>(200),
        replace_schedule,
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
        .query(
            const {
                &[QueryParam::optional(
                    "at",
                    "RFC 3339 time (default now)",
                    Shape::Time,
                )]
            },
        )
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
        .query(RANGE_QUERY)
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
        .query(RANGE_QUERY)
        .text(&["text/calendar"]),
        schedule_ical,
    );
    table.add(
        r(
            M::GET,
            path("/schedules/{schedule}/overrides"),
            perm(P::ScheduleOverrideView),
            "A schedule's overrides, optionally only those overlapping a range",
        )
        .query(
            const {
                &[
                    QueryParam::optional("from", "RFC 3339 time", Shape::Time),
                    QueryParam::optional("to", "RFC 3339 time", Shape::Time),
                ]
            },
        )
        .reply::<wire::ScheduleOverrides>(200),
        list_overrides,
    );
    table.add(
        r(
            M::POST,
            path("/schedules/{schedule}/overrides"),
            perm(P::ScheduleOverrideCreate),
            "Add an override to a schedule (the rest of its definition unchanged)",
        )
        .body::<wire::ScheduleOverrideCreate>()
        .reply::<wire::ScheduleOverride>(201),
        create_override,
    );
    table.add(
        r(
            M::POST,
            path("/schedules/{schedule}/overrides/take"),
            perm(P::ScheduleOverrideCreate),
            "Take my shift: an override putting the calling user on call",
        )
        .body::<wire::ShiftTake>()
        .reply::<wire::ScheduleOverride>(201),
        take_shift,
    );
    table.add(
        r(
            M::DELETE,
            path("/schedules/{schedule}/overrides/{override_id}"),
            perm(P::ScheduleOverrideDelete),
            "Delete one override of a schedule",
        ),
        delete_override,
    );
}

path_params! {
    /// `…/schedules/{schedule}` and its views
    pub struct SchedulePath { schedule }
}

path_params! {
    /// `…/schedules/{schedule}/overrides/{override_id}`
    pub struct OverridePath { schedule, override_id }
}

fn wire_override(o: OverrideDoc) -> wire::ScheduleOverride {
    wire::ScheduleOverride {
        id: o.id,
        user: o.user,
        starts_at: o.starts_at,
        ends_at: o.ends_at,
    }
}

pub async fn list_overrides(
    State(state): State<AppState>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<SchedulePath>,
    ApiQuery(query): ApiQuery<wire::OptionalRangeQuery>,
) -> ApiResult<Json<wire::ScheduleOverrides>> {
    let from = query
        .from
        .as_deref()
        .map(|text| time_param(text, "from"))
        .transpose()?;
    let to = query
        .to
        .as_deref()
        .map(|text| time_param(text, "to"))
        .transpose()?;
    let overrides = state
        .app
        .schedule_overrides(scope.scope(), &path.schedule, from, to)
        .await?;
    Ok(Json(wire::ScheduleOverrides {
        schedule: path.schedule,
        overrides: overrides.into_iter().map(wire_override).collect(),
    }))
}

pub async fn create_override(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<SchedulePath>,
    ApiJson(body): ApiJson<wire::ScheduleOverrideCreate>,
) -> ApiResult<(StatusCode, Json<wire::ScheduleOverride>)> {
    let created = state
        .app
        .create_schedule_override(
            &ctx,
            scope.scope(),
            &path.schedule,
            &body.user,
            &body.starts_at,
            &body.ends_at,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(wire_override(created))))
}

pub async fn take_shift(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<SchedulePath>,
    ApiJson(body): ApiJson<wire::ShiftTake>,
) -> ApiResult<(StatusCode, Json<wire::ScheduleOverride>)> {
    let created = state
        .app
        .take_schedule_shift(
            &ctx,
            scope.scope(),
            &path.schedule,
            &body.starts_at,
            &body.ends_at,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(wire_override(created))))
}

pub async fn delete_override(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<OverridePath>,
) -> ApiResult<StatusCode> {
    state
        .app
        .delete_schedule_override(&ctx, scope.scope(), &path.schedule, &path.override_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn list_schedules(
    State(state): State<AppState>,
    Extension(scope): Scope,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<ListResponse<wire::Schedule>>> {
    let page = state
        .app
        .list_schedules(scope.scope(), params.limit, params.cursor.as_deref())
        .await?;
    Ok(Json(ListResponse {
        items: page.items.into_iter().map(wire_schedule).collect(),
        next_cursor: page.next_cursor,
    }))
}

pub async fn create_schedule(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiJson(body): ApiJson<wire::ScheduleCreate>,
) -> ApiResult<(StatusCode, Json<wire::Schedule>)> {
    let schedule = schedule_doc(definition(body.definition)?);
    let stored = state
        .app
        .create_schedule(&ctx, scope.scope(), &body.identifier, &body.name, schedule)
        .await?;
    Ok((StatusCode::CREATED, Json(wire_schedule(stored))))
}

pub async fn get_schedule(
    State(state): State<AppState>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<SchedulePath>,
) -> ApiResult<Json<wire::Schedule>> {
    let stored = state.app.schedule(scope.scope(), &path.schedule).await?;
    Ok(Json(wire_schedule(stored)))
}

pub async fn replace_schedule(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<SchedulePath>,
    ApiJson(body): ApiJson<wire::ScheduleUpdate>,
) -> ApiResult<Json<wire::Schedule>> {
    let schedule = match definition(body.definition) {
        Ok(definition) => schedule_doc(definition),
        Err(error) => {
            // A schedule that does not exist is not found, whatever its new definition.
            state.app.schedule(scope.scope(), &path.schedule).await?;
            return Err(error.into());
        }
    };
    let stored = state
        .app
        .replace_schedule(&ctx, scope.scope(), &path.schedule, &body.name, schedule)
        .await?;
    Ok(Json(wire_schedule(stored)))
}

/// The earliest and the latest instant a query may name (1970 to the year 9000): times
/// far outside them mean nothing here, and the calendar arithmetic of a window or a
/// rotation near the ends of what a timestamp holds would overflow.
const QUERY_TIME_MIN_SECS: i64 = 0;
const QUERY_TIME_MAX_SECS: i64 = 221_845_392_000; // 9000-01-01T00:00:00Z

pub(crate) fn time_param(text: &str, field: &'static str) -> ApiResult<jiff::Timestamp> {
    text.parse::<jiff::Timestamp>()
        .ok()
        .filter(|at| (QUERY_TIME_MIN_SECS..QUERY_TIME_MAX_SECS).contains(&at.as_second()))
        .ok_or_else(|| {
            AppError::bad_request(
                if field == "at" {
                    ErrorCode::InvalidAt
                } else {
                    ErrorCode::InvalidRange
                },
                format!("{field} must be an RFC 3339 time from 1970 to 9000"),
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
    let people: Vec<&str> = user.as_deref().into_iter().collect();
    let mut names = state.app.person_names(&people).await?;
    Ok(Json(wire::OnCall {
        schedule: schedule.to_owned(),
        at: at.to_string(),
        user_name: user.as_deref().and_then(|id| names.remove(id)),
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
    let layer_names: Vec<String> = state
        .app
        .schedule(scope.scope(), schedule)
        .await?
        .document
        .layers
        .into_iter()
        .map(|layer| layer.name)
        .collect();
    let timeline = state
        .app
        .schedule_timeline(
            scope.scope(),
            schedule,
            time_param(&query.from, "from")?,
            time_param(&query.to, "to")?,
        )
        .await?;
    let people: Vec<&str> = timeline
        .segments
        .iter()
        .filter_map(|segment| segment.user.as_deref())
        .collect();
    let names = state.app.person_names(&people).await?;
    let segment = |s: &rampart_domain::sre::schedules::Segment| wire::OnCallSegment {
        start: s.start.to_string(),
        end: s.end.to_string(),
        user: s.user.clone(),
        user_name: s.user.as_ref().and_then(|id| names.get(id).cloned()),
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

// Conversions between the wire schedule and the domain's document, field by field.

fn schedule_doc(definition: wire::ScheduleDefinition) -> ScheduleDoc {
    ScheduleDoc {
        time_zone: definition.time_zone,
        layers: definition.layers.into_iter().map(layer_doc).collect(),
        overrides: definition
            .overrides
            .into_iter()
            .map(|o| OverrideDoc {
                id: o.id,
                user: o.user,
                starts_at: o.starts_at,
                ends_at: o.ends_at,
            })
            .collect(),
    }
}

fn layer_doc(layer: wire::ScheduleLayer) -> LayerDoc {
    LayerDoc {
        name: layer.name,
        priority: layer.priority,
        unit: layer.unit,
        every: layer.every,
        first_handoff: layer.first_handoff,
        participants: layer.participants,
        restrictions: layer
            .restrictions
            .into_iter()
            .map(|restriction| match restriction {
                wire::LayerRestriction::Daily { start, end } => {
                    RestrictionDoc::Daily { start, end }
                }
                wire::LayerRestriction::Weekly {
                    start_day,
                    start,
                    end_day,
                    end,
                } => RestrictionDoc::Weekly {
                    start_day,
                    start,
                    end_day,
                    end,
                },
            })
            .collect(),
        starts_at: layer.starts_at,
        ends_at: layer.ends_at,
    }
}

fn wire_schedule(stored: StoredDefinition<ScheduleDoc>) -> wire::Schedule {
    let StoredDefinition { record, document } = stored;
    wire::Schedule {
        id: record.id,
        identifier: record.identifier.to_string(),
        name: record.name.to_string(),
        definition: wire_definition(document),
        created_at: record.created_at.to_string(),
        updated_at: record.updated_at.to_string(),
    }
}

fn wire_definition(document: ScheduleDoc) -> wire::ScheduleDefinition {
    wire::ScheduleDefinition {
        time_zone: document.time_zone,
        layers: document.layers.into_iter().map(wire_layer).collect(),
        overrides: document
            .overrides
            .into_iter()
            .map(|o| wire::ScheduleOverride {
                id: o.id,
                user: o.user,
                starts_at: o.starts_at,
                ends_at: o.ends_at,
            })
            .collect(),
    }
}

fn wire_layer(layer: LayerDoc) -> wire::ScheduleLayer {
    wire::ScheduleLayer {
        name: layer.name,
        priority: layer.priority,
        unit: layer.unit,
        every: layer.every,
        first_handoff: layer.first_handoff,
        participants: layer.participants,
        restrictions: layer
            .restrictions
            .into_iter()
            .map(|restriction| match restriction {
                RestrictionDoc::Daily { start, end } => {
                    wire::LayerRestriction::Daily { start, end }
                }
                RestrictionDoc::Weekly {
                    start_day,
                    start,
                    end_day,
                    end,
                } => wire::LayerRestriction::Weekly {
                    start_day,
                    start,
                    end_day,
                    end,
                },
            })
            .collect(),
        starts_at: layer.starts_at,
        ends_at: layer.ends_at,
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
            serde_json::json!({"time_zone": "Europe/Berlin", "layers": [{"name": "day",
                "unit": "week", "first_handoff": "2026-11-23T09:00", "participants": ["u1"]}]}),
            serde_json::json!({
                "time_zone": "Europe/Berlin",
                "layers": [{"name": "day", "priority": 2, "unit": "day", "every": 3,
                            "first_handoff": "2026-11-23T09:00", "participants": ["u1", "u2"],
                            "restrictions": [
                                {"type": "daily", "start": "09:00", "end": "17:00"},
                                {"type": "weekly", "start_day": "friday", "start": "18:00",
                                 "end_day": "monday", "end": "08:00"}],
                            "starts_at": "2026-11-23T08:00:00Z", "ends_at": "2027-01-01T00:00:00Z"}],
                "overrides": [{"user": "u3", "starts_at": "2026-12-24T00:00:00Z",
                               "ends_at": "2026-12-27T00:00:00Z"}]
            }),
        ] {
            let wire: wire::ScheduleDefinition = definition(json.clone()).unwrap();
            let doc = schedule_doc(wire.clone());
            assert_eq!(
                doc,
                serde_json::from_value::<ScheduleDoc>(json.clone()).unwrap()
            );
            assert_eq!(serde_json::to_value(&doc).unwrap(), json);
            assert_eq!(wire_definition(doc), wire);
            assert_eq!(serde_json::to_value(&wire).unwrap(), json);
        }
        let error = definition::<wire::ScheduleDefinition>(
            serde_json::json!({"time_zone": "UTC", "layers": [], "extra": 1}),
        )
        .unwrap_err();
        assert!(
            matches!(
                &error,
                AppError::BadRequest { code: ErrorCode::InvalidDefinition, message }
                    if message.starts_with("the definition: unknown field `extra`")
            ),
            "{error:?}"
        );
    }
}
