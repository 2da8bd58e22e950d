//! A project's alerts in the UI: the list (status and service filters in the address)
//! and an alert's page with everything its sender said — rendered as text, since alert
//! text is written by whoever can reach a webhook — with acknowledge and resolve.

use axum::Extension;
use axum::extract::{RawQuery, State};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use maud::html;
use rampart_app::sre::alerts::AlertQuery;

use crate::AppState;
use crate::extract::ApiForm;
use crate::web::gate::{
    ApiRoute, Browser, ButtonForm, Viewer, WebError, WebPath, query_pairs, see_other,
};
use crate::web::page::{badge, csrf_field, project_base, viewer_page, when};
use crate::web::sre::services::service_names;
use crate::web::{ApiGuards, live};

pub const LIST: ApiRoute = (Method::GET, "/api/v1/orgs/{org}/projects/{project}/alerts");
const SHOW: ApiRoute = (
    Method::GET,
    "/api/v1/orgs/{org}/projects/{project}/alerts/{alert}",
);
const ACKNOWLEDGE: ApiRoute = (
    Method::POST,
    "/api/v1/orgs/{org}/projects/{project}/alerts/{alert}/acknowledge",
);
const RESOLVE: ApiRoute = (
    Method::POST,
    "/api/v1/orgs/{org}/projects/{project}/alerts/{alert}/resolve",
);

/// The API routes these pages stand for.
pub const API_ROUTES: [ApiRoute; 4] = [LIST, SHOW, ACKNOWLEDGE, RESOLVE];

const PAGE_SIZE: u32 = 50;
const STATUSES: [&str; 3] = ["triggered", "acknowledged", "resolved"];

fn base(viewer: &Viewer) -> String {
    format!("{}/alerts", project_base(viewer))
}

/// `GET /o/{org}/p/{project}/alerts?status=&service=&cursor=`
pub async fn list(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
    RawQuery(raw): RawQuery,
) -> Result<Response, WebError> {
    let viewer = browser.admit(&state, &guards, &LIST, &path, None).await?;
    // Taken before the list is read: a change in between shows up as a live update.
    let mark = state.app.alerts_watermark(viewer.scope.scope()).await?;
    let query = query_pairs(raw.as_deref());
    let filter = |name: &str| {
        query
            .get(name)
            .map(String::as_str)
            .filter(|value| !value.is_empty())
    };
    let listed = state
        .app
        .list_alerts(
            viewer.scope.scope(),
            &AlertQuery {
                status: filter("status").map(str::to_owned),
                service: filter("service").map(str::to_owned),
                since: None,
            },
            Some(PAGE_SIZE),
            filter("cursor"),
        )
        .await?;
    let services = service_names(&state, &viewer).await?;
    let mut service_ids: Vec<&String> = services.values().collect();
    service_ids.sort();
    let base = base(&viewer);
    let incidents = format!("{}/incidents", project_base(&viewer));
    let next_page = listed.next_cursor.as_ref().map(|cursor| {
        let mut serializer = url::form_urlencoded::Serializer::new(String::new());
        for name in ["status", "service"] {
            serializer.append_pair(name, filter(name).unwrap_or_default());
        }
        serializer.append_pair("cursor", cursor);
        format!("{base}?{}", serializer.finish())
    });
    let main = html! {
        h1 { "Alerts" }
        form.filters method="get" action=(base) role="search" aria-label="Filter alerts" {
            div {
                label for="f-status" { "Status" }
                select #f-status name="status" {
                    option value="" selected[filter("status").is_none()] { "Any" }
                    @for status in STATUSES {
                        option value=(status) selected[filter("status") == Some(status)] { (status) }
                    }
                }
            }
            @if !service_ids.is_empty() {
                div {
                    label for="f-service" { "Service" }
                    select #f-service name="service" {
                        option value="" selected[filter("service").is_none()] { "Any" }
                        @for identifier in &service_ids {
                            option value=(identifier) selected[filter("service") == Some(identifier.as_str())] { (identifier) }
                        }
                    }
                }
            }
            div { button type="submit" { "Filter" } }
        }
        p.live data-live-status="" aria-live="polite" {}
        div #alert-list data-live=(live::url(&format!("{base}/events"), &mark)) {
        @if listed.items.is_empty() {
            p.muted { "No alerts match." }
        } @else {
            table.responsive {
                thead { tr {
                    th scope="col" { "Alert" } th scope="col" { "Service" } th scope="col" { "Severity" }
                    th scope="col" { "Status" } th scope="col" { "Events" } th scope="col" { "Incident" }
                    th scope="col" { "First seen" }
                } }
                tbody {
                    @for view in &listed.items {
                        tr {
                            td data-label="Alert" { a href=(format!("{base}/{}", view.alert.id)) { (view.dedup_key) } }
                            td data-label="Service" { (view.service) }
                            td data-label="Severity" { (view.alert.severity) }
                            td data-label="Status" { (badge(view.alert.status.as_str())) }
                            td data-label="Events" { (view.alert.event_count) }
                            td data-label="Incident" {
                                @if let Some(number) = view.incident_number {
                                    a href=(format!("{incidents}/{number}")) { "#" (number) }
                                } @else { "—" }
                            }
                            td data-label="First seen" { (when(view.alert.created_at)) }
                        }
                    }
                }
            }
        }
        }
        @if let Some(next) = next_page {
            p { a href=(next) rel="next" { "Older alerts" } }
        }
    };
    Ok(viewer_page(&viewer, "Alerts", StatusCode::OK, main))
}

/// `GET …/alerts/events`: `changed` whenever the list would change (the list page's
/// script then fetches itself again).
pub async fn list_events(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
    RawQuery(raw): RawQuery,
) -> Result<Response, WebError> {
    let viewer = browser.admit(&state, &guards, &LIST, &path, None).await?;
    let scope = viewer.scope.scope();
    live::stream(state, &browser, raw.as_deref(), move |state| async move {
        state.app.alerts_watermark(scope).await
    })
    .await
}

/// `GET /o/{org}/p/{project}/alerts/{alert}`
pub async fn show(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
) -> Result<Response, WebError> {
    let viewer = browser.admit(&state, &guards, &SHOW, &path, None).await?;
    let detail = state
        .app
        .get_alert(viewer.scope.scope(), path.param("alert"))
        .await?;
    let view = &detail.view;
    let here = format!("{}/{}", base(&viewer), view.alert.id);
    let open = view.alert.status.as_str() != "resolved";
    let labels = detail
        .payload
        .get("labels")
        .and_then(serde_json::Value::as_object);
    let payload = serde_json::to_string_pretty(&detail.payload).unwrap_or_default();
    let main = html! {
        p { a href=(base(&viewer)) { "← All alerts" } }
        h1 { (view.dedup_key) }
        p {
            (badge(view.alert.status.as_str())) " " (view.alert.severity)
            " · service " (view.service)
            " · " (view.alert.event_count) " events · first seen " (when(view.alert.created_at))
            @if let Some(at) = view.alert.resolved_at { " · resolved " (when(at)) }
            @if let Some(number) = view.incident_number {
                " · " a href=(format!("{}/incidents/{number}", project_base(&viewer))) { "incident #" (number) }
            }
        }
        @if open && (viewer.may(&ACKNOWLEDGE) || viewer.may(&RESOLVE)) {
            div.actions {
                @if viewer.may(&ACKNOWLEDGE) && view.alert.status.as_str() == "triggered" {
                    form method="post" action=(format!("{here}/acknowledge")) {
                        (csrf_field(&viewer))
                        button type="submit" { "Acknowledge" }
                    }
                }
                @if viewer.may(&RESOLVE) {
                    form method="post" action=(format!("{here}/resolve")) {
                        (csrf_field(&viewer))
                        button type="submit" { "Resolve" }
                    }
                }
            }
        }
        @if let Some(labels) = labels {
            h2 { "Labels" }
            dl.fields {
                @for (name, value) in labels {
                    dt { (name) }
                    dd { (value.as_str().map_or_else(|| value.to_string(), str::to_owned)) }
                }
            }
        }
        h2 { "What the sender sent" }
        pre.payload { (payload) }
    };
    Ok(viewer_page(&viewer, &view.dedup_key, StatusCode::OK, main))
}

/// `POST …/alerts/{alert}/acknowledge`
pub async fn acknowledge(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
    form: Result<ApiForm<ButtonForm>, crate::error::ApiError>,
) -> Result<Response, WebError> {
    act(state, guards, browser, path, form, &ACKNOWLEDGE).await
}

/// `POST …/alerts/{alert}/resolve`
pub async fn resolve(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
    form: Result<ApiForm<ButtonForm>, crate::error::ApiError>,
) -> Result<Response, WebError> {
    act(state, guards, browser, path, form, &RESOLVE).await
}

async fn act(
    state: AppState,
    guards: ApiGuards,
    browser: Browser,
    path: WebPath,
    form: Result<ApiForm<ButtonForm>, crate::error::ApiError>,
    route: &ApiRoute,
) -> Result<Response, WebError> {
    let (viewer, _) = browser
        .admit_form(&state, &guards, route, &path, form)
        .await?;
    let alert = path.param("alert");
    if route.1 == RESOLVE.1 {
        state
            .app
            .resolve_alert(&viewer.ctx, viewer.scope.scope(), alert)
            .await?;
    } else {
        state
            .app
            .acknowledge_alert(&viewer.ctx, viewer.scope.scope(), alert)
            .await?;
    }
    Ok(see_other(&format!("{}/{alert}", base(&viewer))))
}
