//! A project's SLOs in the UI: the list with each one's error budget left and its burn
//! alerts; an SLO's page with its objective, indicator, budget (consumed, remaining,
//! when it runs out), each alert window's burn rates, and the window drawn (budget
//! remaining and burn rate per interval, from the API's history); creating one and
//! editing its definition (the API's JSON document, as `rampart slo create` takes it;
//! an edit made on a version someone changed since is refused, not merged), deleting
//! one, and OpenSLO v1 import and export.

use axum::Extension;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use rampart_app::AppError;
use rampart_app::sre::slos::{SloStatus, SloView};
use rampart_domain::sre::slos::{Burn, BurnSeverity, HistoryPoint, SloDoc};
use serde::Deserialize;

use crate::AppState;
use crate::extract::ApiForm;
use crate::web::ApiGuards;
use crate::web::gate::{
    ApiRoute, Browser, ButtonForm, Viewer, WebError, WebPath, form_json, invalid, query_pairs,
    see_other,
};
use crate::web::page::{self, csrf_field, project_base, viewer_page, when};

pub const LIST: ApiRoute = (Method::GET, "/api/v1/orgs/{org}/projects/{project}/slos");
const CREATE: ApiRoute = (Method::POST, "/api/v1/orgs/{org}/projects/{project}/slos");
const SHOW: ApiRoute = (
    Method::GET,
    "/api/v1/orgs/{org}/projects/{project}/slos/{slo}",
);
const HISTORY: ApiRoute = (
    Method::GET,
    "/api/v1/orgs/{org}/projects/{project}/slos/{slo}/history",
);
const UPDATE: ApiRoute = (
    Method::PUT,
    "/api/v1/orgs/{org}/projects/{project}/slos/{slo}",
);
const DELETE: ApiRoute = (
    Method::DELETE,
    "/api/v1/orgs/{org}/projects/{project}/slos/{slo}",
);
const IMPORT: ApiRoute = (
    Method::POST,
    "/api/v1/orgs/{org}/projects/{project}/openslo",
);
const EXPORT: ApiRoute = (Method::GET, "/api/v1/orgs/{org}/projects/{project}/openslo");

/// The API routes these pages stand for.
pub const API_ROUTES: [ApiRoute; 8] = [LIST, CREATE, SHOW, HISTORY, UPDATE, DELETE, IMPORT, EXPORT];

/// The most SLOs the list shows (each is read with its status).
const LIST_MAX: u32 = 100;

fn base(path_base: &str) -> String {
    format!("{path_base}/slos")
}

/// A ratio as a percentage, to two decimals at most (`99.9 %`, `-12.5 %`).
fn percent(ratio: f64) -> String {
    let text = format!("{:.2}", ratio * 100.0);
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{} %", if text == "-0" { "0" } else { text })
}

/// A count or a rate, to two decimals at most.
fn number(value: f64) -> String {
    let text = format!("{value:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// A lookback as people say it: `3 d`, `1 h`, `2 h 24 min`, `5 min`.
fn lookback(minutes: i64) -> String {
    match minutes {
        m if m % 1440 == 0 => format!("{} d", m / 1440),
        m if m % 60 == 0 => format!("{} h", m / 60),
        m if m > 60 => format!("{} h {} min", m / 60, m % 60),
        m => format!("{m} min"),
    }
}

/// The objective as people say it: `99.9 % over a rolling 30d`, or a calendar period
/// with its time zone.
fn objective(document: &SloDoc) -> String {
    let window = &document.time_window;
    let period = if window.is_rolling {
        format!("a rolling {}", window.duration)
    } else {
        format!(
            "each calendar {} ({})",
            window.duration,
            window.time_zone.as_deref().unwrap_or("UTC")
        )
    };
    let method = match document.budgeting_method.as_str() {
        "timeslices" => "good time slices",
        _ => "good events",
    };
    format!("{} {method} over {period}", percent(document.target))
}

fn severity(burn: &Burn) -> &'static str {
    match burn.window.severity {
        BurnSeverity::Page => "page",
        BurnSeverity::Ticket => "ticket",
    }
}

/// The alert windows firing now, as a short phrase.
fn firing(status: &SloStatus) -> Markup {
    let firing: Vec<String> = status
        .burns
        .iter()
        .filter(|burn| burn.firing)
        .map(|burn| {
            format!(
                "{} ({}× over {})",
                severity(burn),
                number(burn.window.factor),
                lookback(burn.window.long.as_mins())
            )
        })
        .collect();
    html! {
        @if status.budget.exhausted() {
            span.badge.status-triggered { "budget exhausted" } " "
        }
        @if firing.is_empty() {
            span.muted { "not burning fast" }
        } @else {
            span.badge.status-triggered { "burning" } " " (firing.join(", "))
        }
    }
}

/// An SLO's status for the list, or why it cannot be read: an SLO whose definition is
/// damaged or shredded is marked in its row rather than failing the whole list.
async fn row_status(
    state: &AppState,
    viewer: &Viewer,
    identifier: &str,
) -> Result<Result<SloStatus, String>, WebError> {
    match state
        .app
        .slo_status(viewer.scope.scope(), identifier, None)
        .await
    {
        Ok(status) => Ok(Ok(status)),
        Err(error @ (AppError::Integrity(_) | AppError::Gone { .. })) => {
            Ok(Err(crate::error::ApiError::from(error).message))
        }
        Err(other) => Err(other.into()),
    }
}

/// `GET /o/{org}/p/{project}/slos`
pub async fn list(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
) -> Result<Response, WebError> {
    let viewer = browser.admit(&state, &guards, &LIST, &path, None).await?;
    let slos = state
        .app
        .list_slos(viewer.scope.scope(), Some(LIST_MAX), None)
        .await?;
    let mut rows = Vec::with_capacity(slos.items.len());
    for slo in &slos.items {
        rows.push((
            slo,
            row_status(&state, &viewer, slo.identifier.as_str()).await?,
        ));
    }
    let project = project_base(&viewer);
    let base = base(&project);
    let main = html! {
        h1 { "SLOs" }
        @if rows.is_empty() {
            p.muted { "No SLOs in this project." }
        } @else {
            table.responsive {
                thead { tr {
                    th scope="col" { "SLO" } th scope="col" { "Objective" }
                    th scope="col" { "Budget left" } th scope="col" { "Burn alerts" }
                } }
                tbody {
                    @for (slo, status) in &rows {
                        tr {
                            td data-label="SLO" {
                                a href=(format!("{base}/{}", slo.identifier)) { (slo.name.as_str()) }
                            }
                            @match status {
                                Ok(status) => {
                                    td data-label="Objective" {
                                        (objective(&status.view.document)) br;
                                        span.muted { "service " (status.view.document.service.as_str()) }
                                    }
                                    td data-label="Budget left" { (percent(status.budget.remaining())) }
                                    td data-label="Burn alerts" { (firing(status)) }
                                }
                                Err(message) => {
                                    td data-label="Objective" colspan="3" { span.error { "Unreadable: " (message) } }
                                }
                            }
                        }
                    }
                }
            }
            @if slos.next_cursor.is_some() {
                p.muted { "The first " (LIST_MAX) " SLOs are shown; the API lists them all." }
            }
        }
        @if viewer.may(&EXPORT) && !rows.is_empty() {
            p { a href=(format!("{project}/openslo")) download="slos.yaml" { "Export all as OpenSLO YAML" } }
        }
        @if viewer.may(&CREATE) {
            details.edit {
                summary { "New SLO" }
                form.card method="post" action=(base) {
                    (csrf_field(&viewer))
                    label for="s-identifier" { "Identifier" }
                    input #s-identifier type="text" name="identifier" required pattern="[a-z0-9][a-z0-9\\-]{0,62}" placeholder="checkout-availability";
                    label for="s-name" { "Name" }
                    input #s-name type="text" name="name" required maxlength="100";
                    (definition_field(&new_definition()))
                    div { button type="submit" { "Create SLO" } }
                }
            }
            @if viewer.may(&IMPORT) {
                details.edit {
                    summary { "Import OpenSLO YAML" }
                    form.card method="post" action=(format!("{project}/openslo")) {
                        (csrf_field(&viewer))
                        label for="s-yaml" { "OpenSLO v1 documents (SLO, SLI, AlertPolicy, AlertCondition); an SLO named like an existing one replaces its definition" }
                        textarea #s-yaml name="yaml" rows="14" required spellcheck="false" {}
                        div { button type="submit" { "Import" } }
                    }
                }
            }
        }
    };
    Ok(viewer_page(&viewer, "SLOs", StatusCode::OK, main))
}

/// The definition a new SLO's form starts from: 99.9 % of events over 30 days.
fn new_definition() -> String {
    serde_json::to_string_pretty(&serde_json::json!({
        "description": "",
        "service": "",
        "target": 0.999,
        "time_window": {"duration": "30d", "is_rolling": true},
        "budgeting_method": "occurrences"
    }))
    .unwrap_or_default()
}

fn definition_field(text: &str) -> Markup {
    page::definition_field(
        html! {
            ", as " code { "rampart slo create --definition" } " takes it: service, target, "
            "time_window, budgeting_method, and optionally indicator and alert_policies"
        },
        text,
    )
}

/// `GET /o/{org}/p/{project}/slos/{slo}`
pub async fn show(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
) -> Result<Response, WebError> {
    let viewer = browser.admit(&state, &guards, &SHOW, &path, None).await?;
    let identifier = path.param("slo");
    let status = state
        .app
        .slo_status(viewer.scope.scope(), identifier, None)
        .await?;
    let history = if viewer.may(&HISTORY) {
        Some(
            state
                .app
                .slo_history(viewer.scope.scope(), identifier, None, None, None)
                .await?,
        )
    } else {
        None
    };
    let view = &status.view;
    let document = &view.document;
    let budget = &status.budget;
    let project = project_base(&viewer);
    let here = format!("{}/{identifier}", base(&project));
    let counted = match document.budgeting_method.as_str() {
        "timeslices" => "slices",
        _ => "events",
    };
    let main = html! {
        p { a href=(base(&project)) { "← All SLOs" } }
        h1 { (view.slo.name.as_str()) }
        @if !document.description.is_empty() { p { (document.description.as_str()) } }
        p { (firing(&status)) }
        dl.fields {
            dt { "Objective" } dd { (objective(document)) }
            dt { "Service" } dd { a href=(format!("{project}/services/{}", document.service)) { (document.service.as_str()) } }
            dt { "Indicator" } dd { (indicator_text(view)) }
            dt { "Window" } dd { (when(budget.start)) " – " (when(budget.end)) }
            dt { "Bad " (counted) } dd { (number(budget.tally.bad)) " of " (number(budget.tally.good + budget.tally.bad)) ", " (number(budget.allowed)) " allowed" }
            dt { "Error budget" } dd { (percent(budget.consumed)) " consumed, " strong { (percent(budget.remaining())) " left" } }
            dt { "Runs out" } dd {
                @match status.exhaustion_at {
                    Some(at) => { "at this hour's burn rate, " (when(at)) }
                    None => { "not at this hour's burn rate" }
                }
            }
            dt { "Version" } dd { (view.slo.version) ", changed " (when(view.slo.updated_at)) }
        }
        h2 { "Burn rate alerts" }
        table.responsive {
            thead { tr {
                th scope="col" { "Severity" } th scope="col" { "Fires at" }
                th scope="col" { "Long lookback" } th scope="col" { "Short lookback" } th scope="col" { "Now" }
            } }
            tbody {
                @for burn in &status.burns {
                    tr {
                        td data-label="Severity" { (severity(burn)) }
                        td data-label="Fires at" { (number(burn.window.factor)) "×" }
                        td data-label="Long lookback" { (rate(burn.long)) " over " (lookback(burn.window.long.as_mins())) }
                        td data-label="Short lookback" { (rate(burn.short)) " over " (lookback(burn.window.short.as_mins())) }
                        td data-label="Now" {
                            @if burn.firing { span.badge.status-triggered { "firing" } } @else { span.muted { "quiet" } }
                        }
                    }
                }
            }
        }
        @if let Some(history) = &history {
            h2 #h-history { "The window drawn" }
            (history_chart(&history.points, history.range.step.as_mins()))
        }
        @if viewer.may(&EXPORT) {
            p { a href=(format!("{project}/openslo?slo={identifier}")) download=(format!("{identifier}.yaml")) { "Export as OpenSLO YAML" } }
        }
        @if viewer.may(&UPDATE) {
            details.edit {
                summary { "Edit the definition" }
                form.card method="post" action=(format!("{here}/edit")) {
                    (csrf_field(&viewer))
                    input type="hidden" name="version" value=(view.slo.version);
                    label for="s-name" { "Name" }
                    input #s-name type="text" name="name" required maxlength="100" value=(view.slo.name.as_str());
                    (definition_field(&serde_json::to_string_pretty(document).unwrap_or_default()))
                    div { button type="submit" { "Save the definition" } }
                }
            }
        }
        @if viewer.may(&DELETE) {
            details.edit {
                summary { "Delete this SLO" }
                form.card method="post" action=(format!("{here}/delete")) {
                    (csrf_field(&viewer))
                    p { "Deleting the SLO deletes its data and resolves its open burn alerts. This cannot be undone." }
                    div { button type="submit" { "Delete " (view.slo.name.as_str()) } }
                }
            }
        }
    };
    Ok(viewer_page(
        &viewer,
        view.slo.name.as_str(),
        StatusCode::OK,
        main,
    ))
}

/// A burn rate, or that its lookback had no data.
fn rate(value: Option<f64>) -> String {
    value.map_or_else(
        || "no data".to_owned(),
        |value| format!("{}×", number(value)),
    )
}

/// Where the SLO's events come from.
fn indicator_text(view: &SloView) -> Markup {
    use rampart_domain::sre::slos::Indicator;
    match &view.definition.indicator {
        None => html! { "minutes pushed to the API" },
        Some(Indicator::Ratio { part, total, .. }) => html! {
            (part.0.as_str()) " " code { (part.1.text()) } " over total " code { (total.text()) }
        },
        Some(Indicator::Threshold { metric, .. }) => html! {
            "samples of " code { (metric.text()) } " against a threshold"
        },
    }
}

/// The window as two charts over the same intervals: the error budget left at the end
/// of each, and each one's burn rate (1× spends the budget exactly over the window).
fn history_chart(points: &[HistoryPoint], step_minutes: i64) -> Markup {
    const LEFT: f64 = 56.0;
    const WIDTH: f64 = 930.0;
    const HEIGHT: f64 = 150.0;
    const TOP: f64 = 10.0;
    let count = points.len().max(1) as f64;
    let x_of = |index: usize| LEFT + WIDTH * index as f64 / count;
    // The budget from 100 % down to 0 %, or lower when it is overspent (to -100 %).
    let lowest = points
        .iter()
        .map(|point| point.budget.remaining())
        .fold(0.0_f64, f64::min)
        .max(-1.0);
    let budget_y =
        |remaining: f64| TOP + HEIGHT * (1.0 - remaining.clamp(lowest, 1.0)) / (1.0 - lowest);
    let budget_line: Vec<String> = points
        .iter()
        .enumerate()
        .map(|(index, point)| {
            format!(
                "{:.1},{:.1}",
                x_of(index + 1),
                budget_y(point.budget.remaining())
            )
        })
        .collect();
    let highest = points
        .iter()
        .filter_map(|point| point.burn_rate)
        .fold(2.0_f64, f64::max);
    let burn_y = |rate: f64| TOP + HEIGHT * (1.0 - rate.min(highest) / highest);
    let first = points.first().map(|point| point.start);
    let last = points.last().map(|point| point.end);
    let latest = points.last();
    html! {
        figure.chart {
            svg.chart viewBox=(format!("0 0 1000 {}", TOP + HEIGHT + 24.0)) role="img" aria-labelledby="h-budget" {
                title #h-budget { "Error budget left at the end of each interval" }
                line.tick x1=(LEFT) x2=(LEFT + WIDTH) y1=(budget_y(0.0)) y2=(budget_y(0.0)) {}
                line.tick x1=(LEFT) x2=(LEFT + WIDTH) y1=(budget_y(1.0)) y2=(budget_y(1.0)) {}
                text x="4" y=(budget_y(1.0) + 4.0) { "100 %" }
                text x="4" y=(budget_y(0.0) + 4.0) { "0 %" }
                @if lowest < 0.0 { text x="4" y=(budget_y(lowest) + 4.0) { (percent(lowest)) } }
                polyline.budget points=(budget_line.join(" ")) {}
                (chart_dates(first, last, TOP + HEIGHT + 18.0))
            }
            figcaption {
                "Error budget left"
                @if let Some(point) = latest { ": " (percent(point.budget.remaining())) " at " (when(point.end)) }
            }
        }
        figure.chart {
            svg.chart viewBox=(format!("0 0 1000 {}", TOP + HEIGHT + 24.0)) role="img" aria-labelledby="h-burn" {
                title #h-burn { "Burn rate of each " (lookback(step_minutes)) " interval" }
                line.tick x1=(LEFT) x2=(LEFT + WIDTH) y1=(burn_y(0.0)) y2=(burn_y(0.0)) {}
                line.one x1=(LEFT) x2=(LEFT + WIDTH) y1=(burn_y(1.0)) y2=(burn_y(1.0)) {}
                text x="4" y=(burn_y(1.0) + 4.0) { "1×" }
                text x="4" y=(burn_y(highest) + 4.0) { (number(highest)) "×" }
                @for (index, point) in points.iter().enumerate() {
                    @if let Some(rate) = point.burn_rate {
                        @if rate > 0.0 {
                            rect class=(if rate >= 1.0 { "burn over" } else { "burn" })
                                x=(format!("{:.1}", x_of(index))) y=(format!("{:.1}", burn_y(rate)))
                                width=(format!("{:.1}", (x_of(index + 1) - x_of(index)).max(1.0)))
                                height=(format!("{:.1}", burn_y(0.0) - burn_y(rate))) {}
                        }
                    }
                }
                (chart_dates(first, last, TOP + HEIGHT + 18.0))
            }
            figcaption {
                "Burn rate per " (lookback(step_minutes)) " (bars above 1× spend the budget faster than the window allows)"
            }
        }
    }
}

fn chart_dates(first: Option<jiff::Timestamp>, last: Option<jiff::Timestamp>, y: f64) -> Markup {
    let day = |at: jiff::Timestamp| at.strftime("%d %b %H:%M").to_string();
    html! {
        @if let Some(first) = first { text x="56" y=(y) { (day(first)) } }
        @if let Some(last) = last { text x="986" y=(y) text-anchor="end" { (day(last)) } }
    }
}

/// A new SLO: identifier, name and its definition as JSON.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateForm {
    csrf: String,
    identifier: String,
    name: String,
    definition: String,
}

/// A new definition (and name) for the version the form was drawn from.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditForm {
    csrf: String,
    version: String,
    name: String,
    definition: String,
}

/// OpenSLO YAML to import.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportForm {
    csrf: String,
    yaml: String,
}

crate::signed_forms!(CreateForm, EditForm, ImportForm);

/// `POST /o/{org}/p/{project}/slos`
pub async fn create(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
    form: Result<ApiForm<CreateForm>, crate::error::ApiError>,
) -> Result<Response, WebError> {
    let (viewer, form) = browser
        .admit_form(&state, &guards, &CREATE, &path, form)
        .await?;
    let definition = form_json("definition", &form.definition)?;
    let created = state
        .app
        .create_slo(
            &viewer.ctx,
            viewer.scope.scope(),
            rampart_app::sre::slos::SloInput {
                identifier: form.identifier,
                name: form.name,
                definition,
            },
        )
        .await?;
    Ok(see_other(&format!(
        "{}/{}",
        base(&project_base(&viewer)),
        created.slo.identifier
    )))
}

/// `POST /o/{org}/p/{project}/slos/{slo}/edit`
pub async fn edit(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
    form: Result<ApiForm<EditForm>, crate::error::ApiError>,
) -> Result<Response, WebError> {
    let (viewer, form) = browser
        .admit_form(&state, &guards, &UPDATE, &path, form)
        .await?;
    let version = form
        .version
        .parse::<u32>()
        .map_err(|_| invalid("version", "the form's version is not a number"))?;
    let definition = form_json("definition", &form.definition)?;
    let identifier = path.param("slo");
    state
        .app
        .update_slo(
            &viewer.ctx,
            viewer.scope.scope(),
            identifier,
            rampart_app::sre::slos::SloUpdate {
                name: Some(form.name),
                definition,
                expected_version: Some(version),
            },
        )
        .await?;
    Ok(see_other(&format!(
        "{}/{identifier}",
        base(&project_base(&viewer))
    )))
}

/// `POST /o/{org}/p/{project}/slos/{slo}/delete`
pub async fn delete(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
    form: Result<ApiForm<ButtonForm>, crate::error::ApiError>,
) -> Result<Response, WebError> {
    let (viewer, _) = browser
        .admit_form(&state, &guards, &DELETE, &path, form)
        .await?;
    state
        .app
        .delete_slo(&viewer.ctx, viewer.scope.scope(), path.param("slo"))
        .await?;
    Ok(see_other(&base(&project_base(&viewer))))
}

/// `POST /o/{org}/p/{project}/openslo`: the import, answered with what became of each
/// SLO it held.
pub async fn import(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
    form: Result<ApiForm<ImportForm>, crate::error::ApiError>,
) -> Result<Response, WebError> {
    let (viewer, form) = browser
        .admit_form(&state, &guards, &IMPORT, &path, form)
        .await?;
    let imported = state
        .app
        .import_openslo(&viewer.ctx, viewer.scope.scope(), &form.yaml)
        .await?;
    let base = base(&project_base(&viewer));
    let main = html! {
        p { a href=(base) { "← All SLOs" } }
        h1 { "OpenSLO imported" }
        ul {
            @for (view, outcome) in &imported {
                li {
                    a href=(format!("{base}/{}", view.slo.identifier)) { (view.slo.name.as_str()) }
                    " — " (outcome.as_str()) ", version " (view.slo.version)
                }
            }
        }
    };
    Ok(viewer_page(
        &viewer,
        "OpenSLO imported",
        StatusCode::OK,
        main,
    ))
}

/// `GET /o/{org}/p/{project}/openslo?slo=`: the project's SLOs (or one) as OpenSLO YAML,
/// downloaded.
pub async fn export(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
    RawQuery(raw): RawQuery,
) -> Result<Response, WebError> {
    let viewer = browser.admit(&state, &guards, &EXPORT, &path, None).await?;
    let query = query_pairs(raw.as_deref());
    let only = query.get("slo").map(String::as_str);
    let yaml = state.app.export_openslo(viewer.scope.scope(), only).await?;
    let mut response = yaml.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/yaml; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"openslo.yaml\""),
    );
    Ok(response)
}
