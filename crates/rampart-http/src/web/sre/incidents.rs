//! A project's incidents in the UI: the list (status, severity and service filters kept
//! in the address, live without a reload), opening one by hand, and an incident's page
//! (timeline, alerts, fields, action items) with its status moves and notes. Each page and
//! form stands for the incident API route of the same purpose and is held to its access.

use std::collections::{BTreeMap, HashMap};

use axum::Extension;
use axum::extract::{RawQuery, State};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use maud::{Markup, html};
use rampart_app::AppError;
use rampart_app::sre::incidents::{
    IncidentDetail, IncidentExpected, IncidentListQuery, IncidentPatch, IncidentView,
};
use rampart_domain::sre::incidents::IncidentStatus;
use serde::Deserialize;

use crate::AppState;
use crate::extract::ApiForm;
use crate::web::gate::{
    ApiRoute, Browser, Viewer, WebError, WebPath, form_lines, query_pairs, see_other,
};
use crate::web::page::{badge, csrf_field, project_base, viewer_page, when};
use crate::web::platform::identity::People;
use crate::web::sre::services::service_names;
use crate::web::{ApiGuards, live};

pub const LIST: ApiRoute = (
    Method::GET,
    "/api/v1/orgs/{org}/projects/{project}/incidents",
);
const CREATE: ApiRoute = (
    Method::POST,
    "/api/v1/orgs/{org}/projects/{project}/incidents",
);
const SHOW: ApiRoute = (
    Method::GET,
    "/api/v1/orgs/{org}/projects/{project}/incidents/{number}",
);
const CHANGE_STATUS: ApiRoute = (
    Method::POST,
    "/api/v1/orgs/{org}/projects/{project}/incidents/{number}/status",
);
const ADD_NOTE: ApiRoute = (
    Method::POST,
    "/api/v1/orgs/{org}/projects/{project}/incidents/{number}/notes",
);

const EDIT: ApiRoute = (
    Method::PATCH,
    "/api/v1/orgs/{org}/projects/{project}/incidents/{number}",
);
const ADD_ACTION_ITEM: ApiRoute = (
    Method::POST,
    "/api/v1/orgs/{org}/projects/{project}/incidents/{number}/action-items",
);
const MARK_ACTION_ITEM: ApiRoute = (
    Method::PATCH,
    "/api/v1/orgs/{org}/projects/{project}/incidents/{number}/action-items/{item}",
);

/// The API routes these pages stand for.
pub const API_ROUTES: [ApiRoute; 8] = [
    LIST,
    CREATE,
    SHOW,
    CHANGE_STATUS,
    ADD_NOTE,
    EDIT,
    ADD_ACTION_ITEM,
    MARK_ACTION_ITEM,
];

/// The severities an incident may have.
const SEVERITIES: [&str; 5] = ["SEV0", "SEV1", "SEV2", "SEV3", "SEV4"];

/// How many incidents a list page shows.
const PAGE_SIZE: u32 = 50;

/// The status moves offered on an incident's page, as buttons: (target, label).
const MOVES: [(IncidentStatus, &str); 5] = [
    (IncidentStatus::Acknowledged, "Acknowledge"),
    (IncidentStatus::Investigating, "Investigating"),
    (IncidentStatus::Monitoring, "Monitoring"),
    (IncidentStatus::Resolved, "Resolve"),
    (IncidentStatus::Triggered, "Reopen"),
];

fn base(viewer: &Viewer) -> String {
    format!("{}/incidents", project_base(viewer))
}

/// The severity's label of the organisation (SEV1 → "Critical"), else the severity.
async fn severity_labels(state: &AppState, viewer: &Viewer) -> BTreeMap<String, String> {
    match viewer.scope.scope().org_id() {
        Some(org) => state.app.severity_labels(org).await.unwrap_or_default(),
        None => BTreeMap::new(),
    }
}

fn status_badge(status: IncidentStatus) -> Markup {
    badge(status.as_str())
}

fn severity_text(labels: &BTreeMap<String, String>, severity: &str) -> String {
    match labels.get(severity) {
        Some(label) if label != severity => format!("{severity} · {label}"),
        _ => severity.to_owned(),
    }
}

/// `GET /o/{org}/p/{project}/incidents?status=&severity=&service=&cursor=`
pub async fn list(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
    RawQuery(raw): RawQuery,
) -> Result<Response, WebError> {
    let viewer = browser.admit(&state, &guards, &LIST, &path, None).await?;
    // Taken before the list is read: a change in between shows up as a live update.
    let mark = state.app.incidents_watermark(viewer.scope.scope()).await?;
    let query = query_pairs(raw.as_deref());
    let filter = |name: &str| query.get(name).map(String::as_str).unwrap_or_default();
    // With no filter in the address, the open ones: what someone paged at night wants.
    let status = if raw.as_deref().unwrap_or_default().is_empty() {
        "open"
    } else {
        filter("status")
    };
    let listed = state
        .app
        .list_incidents(
            &viewer.ctx,
            viewer.scope.scope(),
            IncidentListQuery {
                status: Some(status),
                severity: Some(filter("severity")),
                service: Some(filter("service")),
            },
            Some(PAGE_SIZE),
            query.get("cursor").map(String::as_str),
        )
        .await?;
    let labels = severity_labels(&state, &viewer).await;
    let services = service_names(&state, &viewer).await?;
    let base = base(&viewer);
    let next_page = listed.next_cursor.as_ref().map(|cursor| {
        let mut serializer = url::form_urlencoded::Serializer::new(String::new());
        for name in ["status", "severity", "service"] {
            serializer.append_pair(
                name,
                if name == "status" {
                    status
                } else {
                    filter(name)
                },
            );
        }
        serializer.append_pair("cursor", cursor);
        format!("{base}?{}", serializer.finish())
    });
    let main = html! {
        h1 { "Incidents" }
        form.filters method="get" action=(base) role="search" aria-label="Filter incidents" {
            div {
                label for="f-status" { "Status" }
                select #f-status name="status" {
                    @for (value, text) in [("open", "Open"), ("", "Any")].into_iter().chain(
                        IncidentStatus::ALL.iter().map(|s| (s.as_str(), s.as_str()))
                    ) {
                        option value=(value) selected[status == value] { (text) }
                    }
                }
            }
            div {
                label for="f-severity" { "Severity" }
                select #f-severity name="severity" {
                    option value="" selected[filter("severity").is_empty()] { "Any" }
                    @for level in 0..=4 {
                        @let severity = format!("SEV{level}");
                        option value=(severity) selected[filter("severity") == severity] {
                            (severity_text(&labels, &severity))
                        }
                    }
                }
            }
            @if !services.is_empty() {
                div {
                    label for="f-service" { "Service" }
                    select #f-service name="service" {
                        option value="" selected[filter("service").is_empty()] { "Any" }
                        @for identifier in sorted_values(&services) {
                            option value=(identifier) selected[filter("service") == identifier] { (identifier) }
                        }
                    }
                }
            }
            div { button type="submit" { "Filter" } }
        }
        p.live data-live-status="" aria-live="polite" {}
        div #incident-list data-live=(live::url(&format!("{base}/events"), &mark)) {
            (incident_table(&base, &listed.items, &labels, &services))
        }
        @if let Some(next) = next_page {
            p { a href=(next) rel="next" { "Older incidents" } }
        }
        @if viewer.may(&CREATE) {
            h2 { "Open an incident by hand" }
            form.card method="post" action=(base) {
                (csrf_field(&viewer))
                label for="new-title" { "Title" }
                input #new-title type="text" name="title" required maxlength="255";
                label for="new-severity" { "Severity" }
                select #new-severity name="severity" {
                    @for level in 0..=4 {
                        @let severity = format!("SEV{level}");
                        option value=(severity) selected[level == 2] { (severity_text(&labels, &severity)) }
                    }
                }
                div { button type="submit" { "Open incident" } }
            }
        }
    };
    Ok(viewer_page(&viewer, "Incidents", StatusCode::OK, main))
}

fn sorted_values(map: &HashMap<String, String>) -> Vec<&String> {
    let mut values: Vec<&String> = map.values().collect();
    values.sort();
    values
}

fn incident_table(
    base: &str,
    items: &[IncidentView],
    labels: &BTreeMap<String, String>,
    services: &HashMap<String, String>,
) -> Markup {
    html! {
        @if items.is_empty() {
            p.muted { "No incidents match." }
        } @else {
            table.responsive {
                caption.muted { (items.len()) " shown" }
                thead { tr {
                    th scope="col" { "#" } th scope="col" { "Title" } th scope="col" { "Severity" }
                    th scope="col" { "Status" } th scope="col" { "Service" } th scope="col" { "Opened" }
                } }
                tbody {
                    @for view in items {
                        @let incident = &view.incident;
                        tr {
                            td data-label="#" { (incident.number) }
                            td data-label="Title" {
                                @match &view.title {
                                    Some(title) => a href=(format!("{base}/{}", incident.number)) { (title) },
                                    None => span.error { "unreadable (failed its integrity check)" },
                                }
                            }
                            td data-label="Severity" { (severity_text(labels, &incident.severity)) }
                            td data-label="Status" { (status_badge(incident.status)) }
                            td data-label="Service" {
                                @if let Some(service) = incident.service_id {
                                    (services.get(&service.to_string()).cloned().unwrap_or_else(|| "—".to_owned()))
                                } @else { span.muted { "by hand" } }
                            }
                            td data-label="Opened" { (when(incident.created_at)) }
                        }
                    }
                }
            }
        }
    }
}

/// `GET …/incidents/events`: `changed` whenever the list would change (the list page's
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
        state.app.incidents_watermark(scope).await
    })
    .await
}

/// `GET …/incidents/{number}/events`: `changed` whenever the incident's page would.
pub async fn show_events(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
    RawQuery(raw): RawQuery,
) -> Result<Response, WebError> {
    let viewer = browser.admit(&state, &guards, &SHOW, &path, None).await?;
    let number = number(&path)?;
    let scope = viewer.scope.scope();
    live::stream(state, &browser, raw.as_deref(), move |state| async move {
        state.app.incident_watermark(scope, number).await
    })
    .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateForm {
    csrf: String,
    title: String,
    severity: String,
}

/// `POST /o/{org}/p/{project}/incidents`: opens an incident by hand and shows it.
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
    let view = state
        .app
        .create_incident(
            &viewer.ctx,
            viewer.scope.scope(),
            &form.title,
            &form.severity,
        )
        .await?;
    Ok(see_other(&format!(
        "{}/{}",
        base(&viewer),
        view.incident.number
    )))
}

/// An incident number in a path; one that does not parse names no incident.
fn number(path: &WebPath) -> Result<u64, WebError> {
    rampart_domain::parse_number(path.param("number"))
        .ok_or_else(|| AppError::NotFound { what: "incident" }.into())
}

/// `GET /o/{org}/p/{project}/incidents/{number}`
pub async fn show(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
) -> Result<Response, WebError> {
    let viewer = browser.admit(&state, &guards, &SHOW, &path, None).await?;
    let number = number(&path)?;
    let mark = state
        .app
        .incident_watermark(viewer.scope.scope(), number)
        .await?;
    let detail = state
        .app
        .get_incident(&viewer.ctx, viewer.scope.scope(), number)
        .await?;
    let labels = severity_labels(&state, &viewer).await;
    let services = service_names(&state, &viewer).await?;
    let people = people_of(&state, &viewer, &detail).await?;
    let title = detail.view.title.clone().unwrap_or_default();
    let main = incident_page(
        &viewer,
        &detail,
        &Names {
            labels: &labels,
            services: &services,
            people: &people,
        },
        &mark,
    );
    Ok(viewer_page(
        &viewer,
        &format!("#{number} {title}"),
        StatusCode::OK,
        main,
    ))
}

/// The people an incident names (commander, assignees, action items' assignees,
/// timeline actors).
async fn people_of(
    state: &AppState,
    viewer: &Viewer,
    detail: &IncidentDetail,
) -> Result<People, WebError> {
    let mut ids: Vec<&str> = detail.fields.assignees.iter().map(String::as_str).collect();
    ids.extend(detail.fields.commander.as_deref());
    ids.extend(
        detail
            .action_items
            .iter()
            .filter_map(|item| item.assignee.as_deref()),
    );
    ids.extend(
        detail
            .timeline
            .iter()
            .filter_map(|entry| entry.actor.strip_prefix("user:")),
    );
    People::read(state, viewer, &ids).await
}

/// How the incident page names things: severities, services and people.
struct Names<'a> {
    labels: &'a BTreeMap<String, String>,
    services: &'a HashMap<String, String>,
    people: &'a People,
}

impl Names<'_> {
    fn person(&self, id: &str) -> String {
        self.people.label(id)
    }

    /// A person for an edit form's field.
    fn email(&self, id: &str) -> String {
        self.people.field(id)
    }

    /// A timeline actor: `user:<id>` named, anything else (a sender, the engine) as is.
    fn actor(&self, actor: &str) -> String {
        self.people.actor(actor)
    }
}

fn incident_page(
    viewer: &Viewer,
    detail: &IncidentDetail,
    names: &Names<'_>,
    mark: &str,
) -> Markup {
    let labels = names.labels;
    let services = names.services;
    let incident = &detail.view.incident;
    let here = format!("{}/{}", base(viewer), incident.number);
    let moves: Vec<&(IncidentStatus, &str)> = MOVES
        .iter()
        .filter(|(to, _)| incident.status.may_move_to(*to))
        .collect();
    let service_name = |id: &str| services.get(id).cloned().unwrap_or_else(|| id.to_owned());
    html! {
        p { a href=(base(viewer)) { "← All incidents" } }
        h1 { "#" (incident.number) " " (detail.view.title.as_deref().unwrap_or_default()) }
        div #incident-live data-live=(live::url(&format!("{here}/events"), mark)) {
            p {
                (status_badge(incident.status)) " "
                (severity_text(labels, &incident.severity))
                " · opened " (when(incident.created_at))
                @if let Some(at) = incident.acknowledged_at { " · acknowledged " (when(at)) }
                @if let Some(at) = incident.resolved_at { " · resolved " (when(at)) }
            }
            @if viewer.may(&CHANGE_STATUS) && !moves.is_empty() {
                section.card aria-labelledby="h-status" {
                    h2 #h-status { "Change status" }
                    form method="post" action=(format!("{here}/status")) {
                        (csrf_field(viewer))
                        // Enter in the text field submits with the form's first button:
                        // this disabled one, so that it picks no move (a person chooses).
                        button type="submit" disabled hidden aria-hidden="true" tabindex="-1" { "Choose a status below" }
                        label for="status-message" { "Status update (optional)" }
                        input #status-message type="text" name="message" maxlength="2000";
                        div.actions {
                            @for (to, label) in moves {
                                button type="submit" name="status" value=(to.as_str()) { (label) }
                            }
                        }
                    }
                }
            }
            @if !detail.description.is_empty() {
                h2 { "Description" }
                p { (detail.description) }
            }
            h2 { "Details" }
            dl.fields {
                dt { "Commander" } dd {
                    @if let Some(commander) = &detail.fields.commander { (names.person(commander)) } @else { "—" }
                }
                dt { "Assignees" } dd {
                    @if detail.fields.assignees.is_empty() { "—" }
                    @else { (detail.fields.assignees.iter().map(|id| names.person(id)).collect::<Vec<_>>().join(", ")) }
                }
                dt { "Services" } dd {
                    @if let Some(service) = incident.service_id { (service_name(&service.to_string())) }
                    @for linked in &detail.fields.linked_services { " " (service_name(linked)) }
                    @if incident.service_id.is_none() && detail.fields.linked_services.is_empty() { "—" }
                }
                @for (name, value) in &detail.fields.custom_fields {
                    dt { (name) }
                    dd { (plain(value)) }
                }
            }
            @if viewer.may(&EDIT) {
                details.edit {
                    summary { "Edit title, severity, commander, assignees, description" }
                    form.card method="post" action=(format!("{here}/edit")) {
                        (csrf_field(viewer))
                        // What the form was drawn from: only the fields changed in it
                        // are sent, and one someone else changed since is refused.
                        input type="hidden" name="was_title" value=(detail.view.title.as_deref().unwrap_or_default());
                        input type="hidden" name="was_severity" value=(incident.severity);
                        input type="hidden" name="was_commander" value=(detail.fields.commander.as_deref().unwrap_or_default());
                        input type="hidden" name="was_assignees" value=(detail.fields.assignees.join(","));
                        input type="hidden" name="was_description" value=(detail.description);
                        label for="edit-title" { "Title" }
                        input #edit-title type="text" name="title" required maxlength="1024" value=(detail.view.title.as_deref().unwrap_or_default());
                        label for="edit-severity" { "Severity" }
                        select #edit-severity name="severity" {
                            @for level in SEVERITIES {
                                option value=(level) selected[incident.severity == level] { (severity_text(labels, level)) }
                            }
                        }
                        label for="edit-commander" { "Commander (email; empty for none)" }
                        input #edit-commander type="email" name="commander"
                            value=(detail.fields.commander.as_deref().map(|id| names.email(id)).unwrap_or_default());
                        label for="edit-assignees" { "Assignees (emails, separated by commas)" }
                        input #edit-assignees type="text" name="assignees"
                            value=(detail.fields.assignees.iter().map(|id| names.email(id)).collect::<Vec<_>>().join(", "));
                        label for="edit-description" { "Description" }
                        textarea #edit-description name="description" maxlength="16384" { "\n" (detail.description) }
                        div { button type="submit" { "Save" } }
                    }
                }
            }
            @if !detail.alerts.is_empty() {
                h2 { "Alerts" }
                table.responsive {
                    thead { tr {
                        th scope="col" { "Alert" } th scope="col" { "Status" }
                        th scope="col" { "Events" } th scope="col" { "First seen" }
                    } }
                    tbody {
                        @for row in &detail.alerts {
                            tr {
                                td data-label="Alert" { code { (row.dedup_key) } }
                                td data-label="Status" { (row.alert.status.as_str()) }
                                td data-label="Events" { (row.alert.event_count) }
                                td data-label="First seen" { (when(row.alert.created_at)) }
                            }
                        }
                    }
                }
            }
            @if !detail.action_items.is_empty() || viewer.may(&ADD_ACTION_ITEM) {
                h2 #h-action-items { "Action items" }
            }
            @if !detail.action_items.is_empty() {
                ul.members aria-labelledby="h-action-items" {
                    @for item in &detail.action_items {
                        li {
                            @if item.done { "✓ " s { (item.text) } } @else { "☐ " (item.text) }
                            @if let Some(assignee) = &item.assignee { span.muted { " — " (names.person(assignee)) } }
                            @if viewer.may(&MARK_ACTION_ITEM) {
                                form.inline method="post" action=(format!("{here}/action-items/{}", item.seq)) {
                                    (csrf_field(viewer))
                                    input type="hidden" name="done" value=(if item.done { "false" } else { "true" });
                                    button.secondary type="submit" aria-label=(format!("Mark “{}” {}", item.text, if item.done { "not done" } else { "done" })) {
                                        @if item.done { "Reopen" } @else { "Done" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if viewer.may(&ADD_ACTION_ITEM) {
                form.card method="post" action=(format!("{here}/action-items")) aria-label="Add an action item" {
                    (csrf_field(viewer))
                    label for="item-text" { "New action item" }
                    input #item-text type="text" name="text" required maxlength="1024";
                    label for="item-assignee" { "Assignee (email, optional)" }
                    input #item-assignee type="email" name="assignee";
                    div { button type="submit" { "Add action item" } }
                }
            }
            h2 { "Timeline" }
            ol.timeline {
                @for entry in detail.timeline.iter().rev() {
                    li {
                        span.what { (entry.kind) } " · " (when(entry.at)) " · " span.muted { (names.actor(&entry.actor)) }
                        (timeline_body(&entry.body))
                    }
                }
            }
        }
        @if viewer.may(&ADD_NOTE) {
            section.card aria-labelledby="h-note" {
                h2 #h-note { "Add a note" }
                form method="post" action=(format!("{here}/notes")) {
                    (csrf_field(viewer))
                    label for="note-text" { "Note" }
                    textarea #note-text name="text" required maxlength="10000" {}
                    div { button type="submit" { "Add note" } }
                }
            }
        }
        p.live data-live-status="" aria-live="polite" {}
    }
}

/// A JSON value as text (strings as they are, everything else as JSON).
fn plain(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// A timeline entry's body: its fields, as text (what senders and people wrote is shown,
/// never interpreted).
fn timeline_body(body: &serde_json::Value) -> Markup {
    html! {
        @if let serde_json::Value::Object(fields) = body {
            @if !fields.is_empty() {
                dl.fields {
                    @for (name, value) in fields.iter().filter(|(_, value)| !value.is_null()) {
                        dt { (name) }
                        dd { pre { (plain(value)) } }
                    }
                }
            }
        } @else if !body.is_null() {
            pre { (plain(body)) }
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusForm {
    csrf: String,
    status: String,
    #[serde(default)]
    message: String,
}

/// `POST …/incidents/{number}/status`: acknowledge, resolve, reopen… then back to the
/// incident.
pub async fn change_status(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
    form: Result<ApiForm<StatusForm>, crate::error::ApiError>,
) -> Result<Response, WebError> {
    let (viewer, form) = browser
        .admit_form(&state, &guards, &CHANGE_STATUS, &path, form)
        .await?;
    let number = number(&path)?;
    let message = Some(form.message.trim()).filter(|m| !m.is_empty());
    state
        .app
        .set_incident_status(
            &viewer.ctx,
            viewer.scope.scope(),
            number,
            &form.status,
            message,
        )
        .await?;
    Ok(see_other(&format!("{}/{number}", base(&viewer))))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoteForm {
    csrf: String,
    text: String,
}

/// `POST …/incidents/{number}/notes`
pub async fn add_note(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
    form: Result<ApiForm<NoteForm>, crate::error::ApiError>,
) -> Result<Response, WebError> {
    let (viewer, form) = browser
        .admit_form(&state, &guards, &ADD_NOTE, &path, form)
        .await?;
    let number = number(&path)?;
    state
        .app
        .add_incident_note(&viewer.ctx, viewer.scope.scope(), number, &form.text)
        .await?;
    Ok(see_other(&format!("{}/{number}", base(&viewer))))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditForm {
    csrf: String,
    title: String,
    severity: String,
    #[serde(default)]
    commander: String,
    #[serde(default)]
    assignees: String,
    #[serde(default)]
    description: String,
    was_title: String,
    was_severity: String,
    #[serde(default)]
    was_commander: String,
    #[serde(default)]
    was_assignees: String,
    #[serde(default)]
    was_description: String,
}

/// A description as compared and stored: a browser sends every line break of a form
/// (CRLF, or a lone CR or LF) as CRLF, the API takes whatever it was given.
fn lines(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\r', "\n")
}

/// People's ids in a comparable order.
fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids.dedup();
    ids
}

/// `POST /o/{org}/p/{project}/incidents/{number}/edit`: title, severity, commander and
/// assignees (people by email), description — one change, one timeline entry. Only the
/// fields changed in the form are sent, so a change someone else made meanwhile to
/// another field stays; a field the form changes that someone else changed since the
/// form was drawn is refused (409 `incident_changed_since`), not overwritten.
pub async fn edit(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
    form: Result<ApiForm<EditForm>, crate::error::ApiError>,
) -> Result<Response, WebError> {
    let (viewer, form) = browser
        .admit_form(&state, &guards, &EDIT, &path, form)
        .await?;
    let number = number(&path)?;
    let commander = match form.commander.trim() {
        "" => None,
        person => Some(state.app.user_named(person).await?),
    };
    let mut assignees = Vec::new();
    for person in form_lines(&form.assignees, "assignees")? {
        assignees.push(state.app.user_named(person).await?);
    }
    let assignees = sorted(assignees);
    let was_commander = Some(form.was_commander.clone()).filter(|id| !id.is_empty());
    let was_assignees = sorted(
        form.was_assignees
            .split(',')
            .filter(|id| !id.is_empty())
            .map(str::to_owned)
            .collect(),
    );
    let description = lines(&form.description);
    let was_description = lines(&form.was_description);
    let title = Some(form.title.clone()).filter(|title| *title != form.was_title);
    let description = Some(description).filter(|text| *text != was_description);
    let severity = Some(form.severity.clone()).filter(|severity| *severity != form.was_severity);
    let commander = Some(commander).filter(|commander| *commander != was_commander);
    let assignees = Some(assignees).filter(|assignees| *assignees != was_assignees);
    // What the form was drawn from, for the fields it changes only: the app refuses the
    // change if one of them is no longer so (checked with the incident held).
    let expected = IncidentExpected {
        title: title.as_ref().map(|_| form.was_title.clone()),
        description: description.as_ref().map(|_| was_description),
        severity: severity.as_ref().map(|_| form.was_severity.clone()),
        commander: commander.as_ref().map(|_| was_commander),
        assignees: assignees.as_ref().map(|_| was_assignees),
    };
    let patch = IncidentPatch {
        title,
        description,
        severity,
        commander,
        assignees,
        linked_services: None,
        custom_fields: None,
        expected,
    };
    let here = format!("{}/{number}", base(&viewer));
    let changes = [
        patch.title.is_some(),
        patch.description.is_some(),
        patch.severity.is_some(),
        patch.commander.is_some(),
        patch.assignees.is_some(),
    ];
    if !changes.contains(&true) {
        return Ok(see_other(&here));
    }
    let scope = viewer.scope.scope();
    state
        .app
        .update_incident(&viewer.ctx, scope, number, patch)
        .await?;
    Ok(see_other(&here))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionItemForm {
    csrf: String,
    text: String,
    #[serde(default)]
    assignee: String,
}

/// `POST /o/{org}/p/{project}/incidents/{number}/action-items`
pub async fn add_action_item(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
    form: Result<ApiForm<ActionItemForm>, crate::error::ApiError>,
) -> Result<Response, WebError> {
    let (viewer, form) = browser
        .admit_form(&state, &guards, &ADD_ACTION_ITEM, &path, form)
        .await?;
    let number = number(&path)?;
    let assignee = match form.assignee.trim() {
        "" => None,
        person => Some(state.app.user_named(person).await?),
    };
    state
        .app
        .add_action_item(
            &viewer.ctx,
            viewer.scope.scope(),
            number,
            &form.text,
            assignee.as_deref(),
        )
        .await?;
    Ok(see_other(&format!(
        "{}/{number}#h-action-items",
        base(&viewer)
    )))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarkForm {
    csrf: String,
    done: String,
}

/// `POST /o/{org}/p/{project}/incidents/{number}/action-items/{item}`: done or not.
pub async fn mark_action_item(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
    form: Result<ApiForm<MarkForm>, crate::error::ApiError>,
) -> Result<Response, WebError> {
    let (viewer, form) = browser
        .admit_form(&state, &guards, &MARK_ACTION_ITEM, &path, form)
        .await?;
    let number = number(&path)?;
    let item = rampart_domain::parse_number(path.param("item")).ok_or(AppError::NotFound {
        what: "action item",
    })?;
    let done = match form.done.as_str() {
        "true" => true,
        "false" => false,
        _ => {
            return Err(AppError::Invalid(rampart_domain::ValidationError::new(
                "done",
                "must be true or false",
            ))
            .into());
        }
    };
    state
        .app
        .set_action_item_done(&viewer.ctx, viewer.scope.scope(), number, item, done)
        .await?;
    Ok(see_other(&format!(
        "{}/{number}#h-action-items",
        base(&viewer)
    )))
}

crate::signed_forms!(
    CreateForm,
    StatusForm,
    NoteForm,
    EditForm,
    ActionItemForm,
    MarkForm
);
