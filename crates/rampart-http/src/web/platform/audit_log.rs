//! The audit log in the UI, at the account's scope (`/audit`) and a project's
//! (`/o/{org}/p/{project}/audit`): events newest first with the API's filters kept in the
//! address, links to the signed export (NDJSON with checkpoints and proofs, or CSV) with
//! the same filters, and (for who may export) the newest signed checkpoint with its
//! signature checked. On an organisation's settings page: how long its events keep
//! their bodies (retention), and changing it (step-up).

use axum::Extension;
use axum::extract::{RawQuery, State};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use maud::{Markup, html};
use rampart_app::platform::audit_log::AuditQuery;
use rampart_app::platform::tenancy::ResolvedScope;
use serde::Deserialize;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::ApiForm;
use crate::handlers::platform::audit_log::audit_page;
use crate::web::ApiGuards;
use crate::web::gate::{ApiRoute, Browser, Viewer, WebError, WebPath, query_pairs, see_other};
use crate::web::page::{project_base, viewer_page};

pub const ACCOUNT: ApiRoute = (Method::GET, "/api/v1/audit-events");
pub const PROJECT: ApiRoute = (
    Method::GET,
    "/api/v1/orgs/{org}/projects/{project}/audit-events",
);
const ACCOUNT_EXPORT: ApiRoute = (Method::GET, "/api/v1/audit-events/export");
const PROJECT_EXPORT: ApiRoute = (
    Method::GET,
    "/api/v1/orgs/{org}/projects/{project}/audit-events/export",
);

const RETENTION: ApiRoute = (Method::GET, "/api/v1/orgs/{org}/audit-retention");
const RETENTION_SET: ApiRoute = (Method::PUT, "/api/v1/orgs/{org}/audit-retention");

/// The API routes these pages stand for.
pub const API_ROUTES: [ApiRoute; 6] = [
    ACCOUNT,
    PROJECT,
    ACCOUNT_EXPORT,
    PROJECT_EXPORT,
    RETENTION,
    RETENTION_SET,
];

/// The filters the page keeps in its address: (name, label, placeholder).
const FILTERS: [(&str, &str, &str); 7] = [
    ("action", "Action", "incident.create"),
    ("resource_type", "Resource type", "incident"),
    ("resource_id", "Resource id", "an id"),
    ("actor", "Actor", "user:<id>"),
    ("outcome", "Outcome", "success, failure or denied"),
    ("since", "Since", "2026-12-01T00:00:00Z"),
    ("until", "Until", "2026-12-31T00:00:00Z"),
];

const PAGE_SIZE: u32 = 100;

/// `GET /audit`
pub async fn account(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    RawQuery(raw): RawQuery,
) -> Result<Response, WebError> {
    show(state, guards, browser, WebPath::none(), raw, false).await
}

/// `GET /o/{org}/p/{project}/audit`
pub async fn project(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
    RawQuery(raw): RawQuery,
) -> Result<Response, WebError> {
    show(state, guards, browser, path, raw, true).await
}

async fn show(
    state: AppState,
    guards: ApiGuards,
    browser: Browser,
    path: WebPath,
    raw: Option<String>,
    in_project: bool,
) -> Result<Response, WebError> {
    let (route, export_route) = if in_project {
        (&PROJECT, &PROJECT_EXPORT)
    } else {
        (&ACCOUNT, &ACCOUNT_EXPORT)
    };
    let viewer = browser.admit(&state, &guards, route, &path, None).await?;
    let query = query_pairs(raw.as_deref());
    let given = |name: &str| {
        query
            .get(name)
            .map(|value| value.trim().to_owned())
            .filter(|value| !value.is_empty())
    };
    let filters = AuditQuery {
        since: given("since"),
        until: given("until"),
        actor: given("actor"),
        action: given("action"),
        resource_type: given("resource_type"),
        resource_id: given("resource_id"),
        outcome: given("outcome"),
    };
    let events = audit_page(
        &state,
        &viewer.ctx,
        viewer.scope.scope(),
        &filters,
        Some(PAGE_SIZE),
        given("cursor").as_deref(),
    )
    .await?;
    // The installation's checkpoint covers every event: shown to whoever may export the
    // log (exports carry checkpoints), as the API does.
    let may_export = viewer.may(export_route);
    let checkpoint = if may_export {
        state.app.latest_audit_checkpoint().await?
    } else {
        None
    };
    let (page_base, api_base) = if in_project {
        let (org, project) = viewer.project().unwrap_or_default();
        (
            format!("{}/audit", project_base(&viewer)),
            format!("/api/v1/orgs/{org}/projects/{project}/audit-events"),
        )
    } else {
        ("/audit".to_owned(), "/api/v1/audit-events".to_owned())
    };
    // The filters as the address and the export take them.
    let mut kept = url::form_urlencoded::Serializer::new(String::new());
    for (name, _, _) in FILTERS {
        if let Some(value) = given(name) {
            kept.append_pair(name, &value);
        }
    }
    let kept = kept.finish();
    let next_page = events.next_cursor.as_ref().map(|cursor| {
        let cursor = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("cursor", cursor)
            .finish();
        format!("{page_base}?{kept}&{cursor}")
    });
    let main = html! {
        h1 { "Audit log" }
        @if let Some(checkpoint) = &checkpoint {
            p {
                "Newest signed checkpoint: " strong { (checkpoint.tree_size) " events" }
                ", signed " (crate::web::page::when(checkpoint.signed_at))
                @if checkpoint.signature_valid { " — " span.notice { "signature valid" } }
                @else { " — " span.error { "signature does not verify" } }
                br;
                span.muted { "Merkle root " code { (checkpoint.root) } }
            }
        } @else if may_export {
            p.muted { "No checkpoint is signed yet." }
        }
        form.filters method="get" action=(page_base) role="search" aria-label="Filter the audit log" {
            @for (name, label, placeholder) in FILTERS {
                div {
                    label for=(format!("f-{name}")) { (label) }
                    input id=(format!("f-{name}")) type="text" name=(name) value=(given(name).unwrap_or_default()) placeholder=(placeholder);
                }
            }
            div { button type="submit" { "Filter" } }
        }
        @if may_export {
            p {
                "Export these events: "
                a href=(format!("{api_base}/export?{kept}")) download { "NDJSON with checkpoints and proofs" }
                " · "
                a href=(format!("{api_base}/export?format=csv&{kept}")) download { "CSV" }
                span.muted { " (verify an NDJSON export offline with " code { "rampart admin audit verify" } ")" }
            }
        }
        @if events.items.is_empty() {
            p.muted { "No events match." }
        } @else {
            table.responsive {
                thead { tr {
                    th scope="col" { "#" } th scope="col" { "When" } th scope="col" { "Actor" }
                    th scope="col" { "Action" } th scope="col" { "Resource" } th scope="col" { "Outcome" }
                    th scope="col" { "From" } th scope="col" { "Details" }
                } }
                tbody {
                    @for event in &events.items {
                        tr {
                            td data-label="#" { (event.index) }
                            td data-label="When" { (event.occurred_at) }
                            td data-label="Actor" { (event.actor.as_deref().unwrap_or("—")) }
                            td data-label="Action" { code { (event.action) } }
                            td data-label="Resource" {
                                (event.resource_type)
                                @if let Some(id) = &event.resource_id { br; span.muted { (id) } }
                            }
                            td data-label="Outcome" { (crate::web::page::badge(&event.outcome)) }
                            td data-label="From" { (event.client_ip.as_deref().unwrap_or("—")) }
                            td data-label="Details" {
                                @if event.details.as_object().is_some_and(|d| !d.is_empty()) {
                                    pre { (event.details.to_string()) }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if let Some(next) = next_page {
            p { a href=(next) rel="next" { "Older events" } }
        }
    };
    Ok(viewer_page(&viewer, "Audit log", StatusCode::OK, main))
}

/// The retention part of an organisation's settings page, for who may read it.
pub async fn retention_section(
    state: &AppState,
    viewer: &Viewer,
) -> Result<Option<Markup>, WebError> {
    let ResolvedScope::Org(org) = &viewer.scope else {
        return Ok(None);
    };
    if !viewer.may(&RETENTION) {
        return Ok(None);
    }
    let days = state.app.audit_retention(&org.id).await?;
    Ok(Some(html! {
        h2 #h-retention { "Audit retention" }
        p {
            @match days {
                Some(days) => { "Events keep their bodies for " strong { (days) " days" } "; older ones keep only their hash, so the log still verifies." }
                None => { "Events are kept for ever." }
            }
        }
        @if viewer.may(&RETENTION_SET) {
            form.card method="post" action=(format!("/o/{}/settings/retention", org.identifier)) aria-labelledby="h-retention-edit" {
                h3 #h-retention-edit { "Change retention" }
                (crate::web::page::csrf_field(viewer))
                label for="retention-days" { "Days (1 to 36500; empty keeps events for ever)" }
                input #retention-days type="text" inputmode="numeric" name="days" value=(days.map(|d| d.to_string()).unwrap_or_default());
                div { button type="submit" { "Save retention" } }
            }
        }
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionForm {
    csrf: String,
    days: String,
}

/// `POST /o/{org}/settings/retention`
pub async fn set_retention(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
    form: Result<ApiForm<RetentionForm>, ApiError>,
) -> Result<Response, WebError> {
    let (viewer, form) = browser
        .admit_form(&state, &guards, &RETENTION_SET, &path, form)
        .await?;
    let ResolvedScope::Org(org) = &viewer.scope else {
        return Err(rampart_app::AppError::NotFound { what: "page" }.into());
    };
    let days = match form.days.trim() {
        "" => None,
        text => Some(text.parse::<u32>().map_err(|_| {
            rampart_app::AppError::Invalid(rampart_domain::ValidationError::new(
                "days",
                "must be a whole number of days, or empty",
            ))
        })?),
    };
    state
        .app
        .set_audit_retention(&viewer.ctx, org.id, days)
        .await?;
    Ok(see_other(&format!(
        "/o/{}/settings#h-retention",
        org.identifier
    )))
}

crate::signed_forms!(RetentionForm);
