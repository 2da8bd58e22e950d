//! SLOs of a project (`…/slos`): create, list, read with the status at an instant or
//! the history of a range, replace the definition, delete, push minutes of events,
//! Prometheus remote write, and OpenSLO import and export.

use axum::body::Body;
use axum::extract::State;
use axum::http::header;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use rampart_api::{ListParams, ListResponse, sre as wire};
use rampart_app::Ctx;
use rampart_app::sre::slos::{MinuteInput, SloInput, SloStatus, SloUpdate, SloView};
use rampart_domain::Permission as P;
use rampart_domain::sre::slos::{BurnSeverity, Slo};

use super::schedules::time_param;
use crate::AppState;
use crate::enforce::Scope;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath, ApiQuery, path_params};
use crate::handlers::iacm::plans::read_raw;
use crate::routes::{
    PROJECT, QueryParam, RouteSpec, RouteTable, SLUG_PATTERN, Shape, join_path, perm,
};

/// Registers this module's routes.
pub fn routes(table: &mut RouteTable) {
    use Method as M;
    let r = RouteSpec::new;
    let path = |suffix| join_path(PROJECT, suffix);
    table.add(
        r(M::GET, path("/slos"), perm(P::SloView), "List SLOs").page::<wire::SloSummary>(),
        list_slos,
    );
    table.add(
        r(M::POST, path("/slos"), perm(P::SloCreate), "Create an SLO")
            .body::<wire::SloCreate>()
            .reply::<wire::Slo>(201)
            .errors(&[409]),
        create_slo,
    );
    table.add(
        r(
            M::GET,
            path("/slos/{slo}"),
            perm(P::SloView),
            "An SLO with its error budget and burn rates now (or ?at=)",
        )
        .query(AT_QUERY)
        .reply::<wire::Slo>(200),
        get_slo,
    );
    table.add(
        r(
            M::GET,
            path("/slos/{slo}/history"),
            perm(P::SloView),
            "An SLO's history for a chart: events, burn rate and error budget of each \
             interval of a range",
        )
        .query(HISTORY_QUERY)
        .reply::<wire::SloHistory>(200),
        slo_history,
    );
    table.add(
        r(
            M::PUT,
            path("/slos/{slo}"),
            perm(P::SloEdit),
            "Replace an SLO's definition (and perhaps its name)",
        )
        .body::<wire::SloUpdate>()
        .reply::<wire::Slo>(200)
        .errors(&[409]),
        update_slo,
    );
    table.add(
        r(
            M::DELETE,
            path("/slos/{slo}"),
            perm(P::SloDelete),
            "Delete an SLO and its data",
        ),
        delete_slo,
    );
    table.add(
        r(
            M::POST,
            path("/slos/{slo}/minutes"),
            perm(P::SloWriteData),
            "Push minutes of good and total events (each replaces an earlier push of its minute)",
        )
        .body::<wire::SloMinutesPush>()
        .reply::<wire::SloMinutesStored>(200),
        push_minutes,
    );
    table.add(
        r(
            M::POST,
            path("/prometheus/write"),
            perm(P::SloWriteData),
            "Prometheus remote write (v1: snappy-compressed protobuf) feeding the project's SLOs",
        )
        .body_limit(|_| REMOTE_WRITE_BYTES_MAX)
        .errors(&[400, 413])
        .reply::<wire::SloRemoteWriteOutcome>(200),
        remote_write,
    );
    table.add(
        r(
            M::POST,
            path("/openslo"),
            perm(P::SloCreate),
            "Import OpenSLO v1 YAML (SLO, SLI, AlertPolicy, AlertCondition): creates or \
             replaces SLOs, all or nothing (replacing needs slo:edit too)",
        )
        .body_limit(|_| OPENSLO_BYTES_MAX)
        .errors(&[409, 413, 422])
        .reply::<wire::SloImportOutcome>(200),
        import_openslo,
    );
    table.add(
        r(
            M::GET,
            path("/openslo"),
            perm(P::SloView),
            "The project's SLOs (or ?slo=) as OpenSLO v1 YAML",
        )
        .query(EXPORT_QUERY)
        .text(&["application/yaml"]),
        export_openslo,
    );
}

const AT_QUERY: &[QueryParam] = &[QueryParam::optional(
    "at",
    "the status at this instant instead of now",
    Shape::Time,
)];

const HISTORY_QUERY: &[QueryParam] = &[
    QueryParam::optional(
        "from",
        "the range's start (default: one window before `to`)",
        Shape::Time,
    ),
    QueryParam::optional("to", "the range's end (default: now)", Shape::Time),
    QueryParam::optional(
        "step",
        "each interval's length, `<n>m|h|d|w` (default: at most 240 intervals)",
        Shape::Pattern("^[0-9]{1,6}[mhdw]$"),
    ),
];

const EXPORT_QUERY: &[QueryParam] = &[QueryParam::optional(
    "slo",
    "an SLO's identifier: export only it",
    Shape::Pattern(SLUG_PATTERN),
)];

/// The largest OpenSLO import accepted.
const OPENSLO_BYTES_MAX: usize = 1024 * 1024;

/// The largest compressed remote write accepted (Prometheus' requests are far smaller;
/// the decompressed size has its own limit).
const REMOTE_WRITE_BYTES_MAX: usize = 8 * 1024 * 1024;

path_params! {
    /// `…/slos/{slo}`
    pub struct SloPath { slo }
}

fn wire_summary(slo: Slo) -> wire::SloSummary {
    wire::SloSummary {
        id: slo.id.to_string(),
        identifier: slo.identifier.to_string(),
        name: slo.name.to_string(),
        version: slo.version,
        created_at: slo.created_at.to_string(),
        updated_at: slo.updated_at.to_string(),
    }
}

fn wire_status(status: &SloStatus) -> wire::SloStatus {
    let budget = &status.budget;
    wire::SloStatus {
        at: status.at.to_string(),
        window_start: budget.start.to_string(),
        window_end: budget.end.to_string(),
        good: budget.tally.good,
        bad: budget.tally.bad,
        allowed: budget.allowed,
        consumed: budget.consumed,
        remaining: budget.remaining(),
        exhausted: budget.exhausted(),
        exhaustion_at: status.exhaustion_at.map(|at| at.to_string()),
        burn_rates: status
            .burns
            .iter()
            .map(|burn| wire::SloBurnRate {
                severity: match burn.window.severity {
                    BurnSeverity::Page => "page",
                    BurnSeverity::Ticket => "ticket",
                }
                .into(),
                long_window_minutes: burn.window.long.as_mins(),
                short_window_minutes: burn.window.short.as_mins(),
                factor: burn.window.factor,
                long_burn_rate: burn.long,
                short_burn_rate: burn.short,
                firing: burn.firing,
            })
            .collect(),
    }
}

fn wire_slo(status: SloStatus) -> ApiResult<wire::Slo> {
    let definition = serde_json::to_value(&status.view.document).map_err(|error| {
        rampart_app::AppError::Integrity(format!("encoding an SLO definition: {error}"))
    })?;
    let slo = &status.view.slo;
    Ok(wire::Slo {
        id: slo.id.to_string(),
        identifier: slo.identifier.to_string(),
        name: slo.name.to_string(),
        version: slo.version,
        definition,
        status: wire_status(&status),
        created_at: slo.created_at.to_string(),
        updated_at: slo.updated_at.to_string(),
    })
}

/// `view` (just written) with its status now.
async fn with_status(state: &AppState, view: SloView) -> ApiResult<wire::Slo> {
    wire_slo(state.app.status_of(view, None).await?)
}

pub async fn list_slos(
    State(state): State<AppState>,
    Extension(scope): Scope,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<ListResponse<wire::SloSummary>>> {
    let page = state
        .app
        .list_slos(scope.scope(), params.limit, params.cursor.as_deref())
        .await?;
    Ok(Json(ListResponse {
        items: page.items.into_iter().map(wire_summary).collect(),
        next_cursor: page.next_cursor,
    }))
}

pub async fn create_slo(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiJson(body): ApiJson<wire::SloCreate>,
) -> ApiResult<(StatusCode, Json<wire::Slo>)> {
    let view = state
        .app
        .create_slo(
            &ctx,
            scope.scope(),
            SloInput {
                identifier: body.identifier,
                name: body.name,
                definition: body.definition,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(with_status(&state, view).await?)))
}

pub async fn get_slo(
    State(state): State<AppState>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<SloPath>,
    ApiQuery(params): ApiQuery<wire::SloParams>,
) -> ApiResult<Json<wire::Slo>> {
    let at = params
        .at
        .as_deref()
        .map(|text| time_param(text, "at"))
        .transpose()?;
    let status = state.app.slo_status(scope.scope(), &path.slo, at).await?;
    Ok(Json(wire_slo(status)?))
}

pub async fn slo_history(
    State(state): State<AppState>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<SloPath>,
    ApiQuery(query): ApiQuery<wire::SloHistoryQuery>,
) -> ApiResult<Json<wire::SloHistory>> {
    let time = |text: &Option<String>, field| text.as_deref().map(|text| time_param(text, field));
    let history = state
        .app
        .slo_history(
            scope.scope(),
            &path.slo,
            time(&query.from, "from").transpose()?,
            time(&query.to, "to").transpose()?,
            query.step.as_deref(),
        )
        .await?;
    let slo = &history.view.slo;
    Ok(Json(wire::SloHistory {
        slo: slo.identifier.to_string(),
        version: slo.version,
        target: history.view.definition.objective.target,
        from: history.range.from.to_string(),
        to: history.range.to.to_string(),
        step_minutes: history.range.step.as_mins(),
        points: history
            .points
            .iter()
            .map(|point| wire::SloHistoryPoint {
                start: point.start.to_string(),
                end: point.end.to_string(),
                good: point.good,
                total: point.total,
                ratio: (point.total > 0.0).then(|| point.good / point.total),
                burn_rate: point.burn_rate,
                budget_consumed: point.budget.consumed,
                budget_remaining: point.budget.remaining(),
            })
            .collect(),
    }))
}

pub async fn update_slo(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<SloPath>,
    ApiJson(body): ApiJson<wire::SloUpdate>,
) -> ApiResult<Json<wire::Slo>> {
    let view = state
        .app
        .update_slo(
            &ctx,
            scope.scope(),
            &path.slo,
            SloUpdate {
                name: body.name,
                definition: body.definition,
                expected_version: body.expected_version,
            },
        )
        .await?;
    Ok(Json(with_status(&state, view).await?))
}

pub async fn delete_slo(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<SloPath>,
) -> ApiResult<StatusCode> {
    state.app.delete_slo(&ctx, scope.scope(), &path.slo).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn push_minutes(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<SloPath>,
    ApiJson(body): ApiJson<wire::SloMinutesPush>,
) -> ApiResult<Json<wire::SloMinutesStored>> {
    let minutes: Vec<MinuteInput> = body
        .minutes
        .into_iter()
        .map(|minute| MinuteInput {
            minute: minute.minute,
            good: minute.good,
            total: minute.total,
        })
        .collect();
    let stored = state
        .app
        .push_slo_minutes(&ctx, scope.scope(), &path.slo, &minutes)
        .await?;
    Ok(Json(wire::SloMinutesStored {
        stored: u32::try_from(stored).unwrap_or(u32::MAX),
    }))
}

pub async fn remote_write(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    body: Body,
) -> ApiResult<Json<wire::SloRemoteWriteOutcome>> {
    let body = read_raw(body, REMOTE_WRITE_BYTES_MAX).await?;
    let outcome = state.app.remote_write(&ctx, scope.scope(), &body).await?;
    Ok(Json(wire::SloRemoteWriteOutcome {
        series: outcome.series,
        samples: outcome.samples,
        unmatched_series: outcome.unmatched_series,
        taken: outcome.taken,
        dropped_not_finite: outcome.dropped_not_finite,
        dropped_out_of_range: outcome.dropped_out_of_range,
        dropped_stale: outcome.dropped_stale,
        dropped_invalid: outcome.dropped_invalid,
        slos: outcome.slos,
    }))
}

pub async fn import_openslo(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    body: Body,
) -> ApiResult<Json<wire::SloImportOutcome>> {
    let body = read_raw(body, OPENSLO_BYTES_MAX).await?;
    let text = std::str::from_utf8(&body).map_err(|_| rampart_app::AppError::Unprocessable {
        code: rampart_domain::ErrorCode::InvalidOpenslo,
        message: "the body is not UTF-8 text".into(),
    })?;
    let imported = state.app.import_openslo(&ctx, scope.scope(), text).await?;
    Ok(Json(wire::SloImportOutcome {
        slos: imported
            .into_iter()
            .map(|(view, outcome)| wire::SloImported {
                identifier: view.slo.identifier.to_string(),
                outcome: outcome.as_str().into(),
                version: view.slo.version,
            })
            .collect(),
    }))
}

pub async fn export_openslo(
    State(state): State<AppState>,
    Extension(scope): Scope,
    ApiQuery(query): ApiQuery<wire::SloExportQuery>,
) -> ApiResult<Response> {
    let yaml = state
        .app
        .export_openslo(scope.scope(), query.slo.as_deref())
        .await?;
    Ok(([(header::CONTENT_TYPE, "application/yaml")], yaml).into_response())
}
