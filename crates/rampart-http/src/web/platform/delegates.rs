//! A project's delegates in the UI: the list (status, last heartbeat, version, sandbox,
//! tags) with creating one — its one-time registration token shown once, with the
//! commands that register and run it; a delegate's page with revoking, deleting and a
//! connectivity check; the project's delegate tasks (status filter in the address) and
//! a task's page with what its delegate reported (as text), live until it ends. The
//! project's settings page links here with a summary ([`section`]).

use axum::Extension;
use axum::extract::{RawQuery, State};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use maud::{Markup, html};
use rampart_app::platform::delegates::DelegateInput;
use rampart_domain::platform::delegates::{Delegate, DelegateStatus, DelegateTask, TaskStatus};
use serde::Deserialize;

use crate::AppState;
use crate::extract::ApiForm;
use crate::web::gate::{
    ApiRoute, Browser, ButtonForm, Level, Viewer, WebError, WebPath, form_lines, query_pairs,
    see_other,
};
use crate::web::page::{badge, csrf_field, project_base, viewer_page, when};
use crate::web::{ApiGuards, live};

pub const LIST: ApiRoute = (
    Method::GET,
    "/api/v1/orgs/{org}/projects/{project}/delegates",
);
const CREATE: ApiRoute = (
    Method::POST,
    "/api/v1/orgs/{org}/projects/{project}/delegates",
);
const SHOW: ApiRoute = (
    Method::GET,
    "/api/v1/orgs/{org}/projects/{project}/delegates/{delegate}",
);
const REVOKE: ApiRoute = (
    Method::POST,
    "/api/v1/orgs/{org}/projects/{project}/delegates/{delegate}/revoke",
);
const DELETE: ApiRoute = (
    Method::DELETE,
    "/api/v1/orgs/{org}/projects/{project}/delegates/{delegate}",
);
const PING: ApiRoute = (
    Method::POST,
    "/api/v1/orgs/{org}/projects/{project}/delegates/{delegate}/ping",
);
const TASKS: ApiRoute = (
    Method::GET,
    "/api/v1/orgs/{org}/projects/{project}/delegate-tasks",
);
const TASK: ApiRoute = (
    Method::GET,
    "/api/v1/orgs/{org}/projects/{project}/delegate-tasks/{task}",
);

/// The API routes these pages stand for.
pub const API_ROUTES: [ApiRoute; 8] = [LIST, CREATE, SHOW, REVOKE, DELETE, PING, TASKS, TASK];

/// How many tasks the task list shows (the API pages through all of them).
const TASKS_SHOWN: u32 = 50;

/// A delegate without a heartbeat for this long is shown as not heard from.
const QUIET_SECS: i64 = 120;

fn base(path_base: &str) -> String {
    format!("{path_base}/delegates")
}

/// A delegate's status as its badge, and whether an active one has gone quiet.
fn delegate_status(delegate: &Delegate, now: jiff::Timestamp) -> Markup {
    let quiet = delegate.status == DelegateStatus::Active
        && delegate
            .last_heartbeat_at
            .is_none_or(|at| now.duration_since(at).as_secs() > QUIET_SECS);
    html! {
        (badge(delegate.status.as_str()))
        @if quiet { " " span.muted { "not heard from lately" } }
    }
}

/// The project settings' summary of its delegates, for who may list them.
pub async fn section(
    state: &AppState,
    viewer: &Viewer,
    level: Level,
) -> Result<Option<Markup>, WebError> {
    if level != Level::Project || !viewer.may(&LIST) {
        return Ok(None);
    }
    let delegates = state
        .app
        .delegates(&viewer.ctx, viewer.scope.scope(), Some(500), None)
        .await?;
    let active = delegates
        .items
        .iter()
        .filter(|delegate| delegate.status == DelegateStatus::Active)
        .count();
    Ok(Some(html! {
        section aria-labelledby="h-delegates" {
            h2 #h-delegates { "Delegates" }
            p {
                (active) " active of " (delegates.items.len()) ". Delegates run runbook steps, "
                "notifications and webhook calls inside your network. "
                a href=(base(&project_base(viewer))) { "Manage delegates" }
            }
        }
    }))
}

/// `GET /o/{org}/p/{project}/delegates`
pub async fn list(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
) -> Result<Response, WebError> {
    let viewer = browser.admit(&state, &guards, &LIST, &path, None).await?;
    let delegates = state
        .app
        .delegates(&viewer.ctx, viewer.scope.scope(), Some(500), None)
        .await?;
    let now = state.app.now();
    let project = project_base(&viewer);
    let base = base(&project);
    let main = html! {
        h1 { "Delegates" }
        p.muted { "Agents you run inside your network (" code { "rampart delegate run" } "): they pull tasks over HTTPS; the server connects out to nothing." }
        @if delegates.items.is_empty() {
            p.muted { "No delegates in this project." }
        } @else {
            table.responsive {
                thead { tr {
                    th scope="col" { "Delegate" } th scope="col" { "Status" } th scope="col" { "Tags" }
                    th scope="col" { "Last heartbeat" } th scope="col" { "Version" }
                } }
                tbody {
                    @for delegate in &delegates.items {
                        tr {
                            td data-label="Delegate" { a href=(format!("{base}/{}", delegate.name)) { (delegate.name.as_str()) } }
                            td data-label="Status" { (delegate_status(delegate, now)) }
                            td data-label="Tags" { (delegate.tags.to_strings().join(", ")) }
                            td data-label="Last heartbeat" {
                                @match delegate.last_heartbeat_at { Some(at) => (when(at)), None => span.muted { "never" } }
                            }
                            td data-label="Version" { (delegate.version.as_deref().unwrap_or("—")) }
                        }
                    }
                }
            }
        }
        @if viewer.may(&TASKS) {
            p { a href=(format!("{project}/delegate-tasks")) { "The project's delegate tasks" } }
        }
        @if viewer.may(&CREATE) {
            details.edit {
                summary { "New delegate" }
                form.card method="post" action=(base) {
                    (csrf_field(&viewer))
                    label for="d-name" { "Name" }
                    input #d-name type="text" name="name" required pattern="[a-z0-9][a-z0-9\\-]{0,62}" placeholder="edge-1";
                    label for="d-tags" { "Tags (one per line, " code { "key=value" } "; runbooks pick delegates by them)" }
                    textarea #d-tags name="tags" rows="3" spellcheck="false" placeholder="env=prod" {}
                    div { button type="submit" { "Create delegate" } }
                }
            }
        }
    };
    Ok(viewer_page(&viewer, "Delegates", StatusCode::OK, main))
}

/// A new delegate: a name and tags, one per line.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateForm {
    csrf: String,
    name: String,
    #[serde(default)]
    tags: String,
}

/// A connectivity check, with an optional text the delegate echoes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PingForm {
    csrf: String,
    #[serde(default)]
    echo: String,
}

crate::signed_forms!(CreateForm, PingForm);

/// `POST /o/{org}/p/{project}/delegates`: the registration token, shown once.
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
    let tags = form_lines(&form.tags, "tags")?
        .into_iter()
        .map(str::to_owned)
        .collect();
    let (delegate, token) = state
        .app
        .create_delegate(
            &viewer.ctx,
            viewer.scope.scope(),
            DelegateInput {
                name: form.name,
                tags,
            },
        )
        .await?;
    let expires = delegate.registration_expires_at;
    let main = html! {
        h1 { "Delegate created: " (delegate.name.as_str()) }
        p.notice role="status" { "Copy the registration token now: it is shown only once, and works once." }
        dl.fields #credential {
            dt { "Registration token" } dd { code { (token.as_str()) } }
            @if let Some(expires) = expires { dt { "Register before" } dd { (when(expires)) } }
        }
        h2 { "Register and run it" }
        p { "On the machine inside your network that runs it, as the user it runs as:" }
        pre.sample {
            "export RAMPART_URL=" (browser.origin(&state)) "\n"
            "RAMPART_DELEGATE_REGISTRATION_TOKEN=" (token.as_str()) " rampart delegate register --state delegate.json\n"
            "rampart delegate run --state delegate.json"
        }
        p { a href=(format!("{}/{}", base(&project_base(&viewer)), delegate.name)) { "The delegate's page" } }
    };
    Ok(viewer_page(
        &viewer,
        "Delegate created",
        StatusCode::CREATED,
        main,
    ))
}

/// `GET /o/{org}/p/{project}/delegates/{delegate}`
pub async fn show(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
) -> Result<Response, WebError> {
    let viewer = browser.admit(&state, &guards, &SHOW, &path, None).await?;
    let name = path.param("delegate");
    let delegate = state
        .app
        .delegate(&viewer.ctx, viewer.scope.scope(), name)
        .await?;
    let here = format!("{}/{name}", base(&project_base(&viewer)));
    let main = html! {
        p { a href=(base(&project_base(&viewer))) { "← All delegates" } }
        h1 { (delegate.name.as_str()) }
        p { (delegate_status(&delegate, state.app.now())) }
        dl.fields {
            dt { "Tags" } dd { (delegate.tags.to_strings().join(", ")) }
            dt { "Created" } dd { (when(delegate.created_at)) }
            @if let Some(at) = delegate.registration_expires_at.filter(|_| delegate.status == DelegateStatus::Pending) {
                dt { "Registration token valid until" } dd { (when(at)) }
            }
            @if let Some(at) = delegate.registered_at { dt { "Registered" } dd { (when(at)) } }
            dt { "Last heartbeat" } dd {
                @match delegate.last_heartbeat_at { Some(at) => (when(at)), None => span.muted { "never" } }
                @if let Some(ip) = &delegate.last_ip { " from " (ip) }
            }
            dt { "Version" } dd { (delegate.version.as_deref().unwrap_or("—")) }
            dt { "Script sandbox" } dd { (delegate.sandbox.as_deref().unwrap_or("not reported")) }
            @if let Some(at) = delegate.revoked_at { dt { "Revoked" } dd { (when(at)) } }
        }
        @if delegate.status == DelegateStatus::Active && viewer.may(&PING) {
            form.card method="post" action=(format!("{here}/ping")) aria-labelledby="h-ping" {
                h2 #h-ping { "Check it" }
                (csrf_field(&viewer))
                label for="d-echo" { "Text it answers with (optional)" }
                input #d-echo type="text" name="echo" maxlength="200";
                div { button type="submit" { "Check connectivity" } }
            }
        }
        @if delegate.status != DelegateStatus::Revoked && viewer.may(&REVOKE) {
            form method="post" action=(format!("{here}/revoke")) {
                (csrf_field(&viewer))
                p { "Revoking refuses its next request and hands its running tasks to others." }
                button type="submit" { "Revoke " (delegate.name.as_str()) }
            }
        }
        @if viewer.may(&DELETE) {
            details.edit {
                summary { "Delete this delegate" }
                form.card method="post" action=(format!("{here}/delete")) {
                    (csrf_field(&viewer))
                    p { "Deleting revokes it and removes it with its connectivity checks; the tasks it ran for runbooks and notifications stay on record." }
                    div { button type="submit" { "Delete " (delegate.name.as_str()) } }
                }
            }
        }
    };
    Ok(viewer_page(
        &viewer,
        delegate.name.as_str(),
        StatusCode::OK,
        main,
    ))
}

/// `POST …/delegates/{delegate}/revoke`
pub async fn revoke(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
    form: Result<ApiForm<ButtonForm>, crate::error::ApiError>,
) -> Result<Response, WebError> {
    let (viewer, _) = browser
        .admit_form(&state, &guards, &REVOKE, &path, form)
        .await?;
    let name = path.param("delegate");
    state
        .app
        .revoke_delegate(&viewer.ctx, viewer.scope.scope(), name)
        .await?;
    Ok(see_other(&format!(
        "{}/{name}",
        base(&project_base(&viewer))
    )))
}

/// `POST …/delegates/{delegate}/delete`
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
        .delete_delegate(&viewer.ctx, viewer.scope.scope(), path.param("delegate"))
        .await?;
    Ok(see_other(&base(&project_base(&viewer))))
}

/// `POST …/delegates/{delegate}/ping`: queues the check and shows its task.
pub async fn ping(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
    form: Result<ApiForm<PingForm>, crate::error::ApiError>,
) -> Result<Response, WebError> {
    let (viewer, form) = browser
        .admit_form(&state, &guards, &PING, &path, form)
        .await?;
    let echo = Some(form.echo.as_str()).filter(|echo| !echo.is_empty());
    let task = state
        .app
        .ping_delegate(
            &viewer.ctx,
            viewer.scope.scope(),
            path.param("delegate"),
            echo,
        )
        .await?;
    Ok(see_other(&format!(
        "{}/delegate-tasks/{}",
        project_base(&viewer),
        task.id
    )))
}

/// The task statuses a list may be filtered by.
const TASK_STATUSES: [&str; 5] = ["queued", "running", "succeeded", "failed", "refused"];

fn task_row(project: &str, task: &DelegateTask) -> Markup {
    html! {
        tr {
            td data-label="Created" { a href=(format!("{project}/delegate-tasks/{}", task.id)) { (when(task.created_at)) } }
            td data-label="Kind" { (task.kind.as_str()) }
            td data-label="Status" {
                (badge(task.status.as_str()))
                @if let Some(code) = &task.error_code { " " code { (code) } }
            }
            td data-label="Attempts" { (task.attempts) " of " (task.max_attempts) }
        }
    }
}

/// `GET /o/{org}/p/{project}/delegate-tasks?status=`
pub async fn tasks(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
    RawQuery(raw): RawQuery,
) -> Result<Response, WebError> {
    let viewer = browser.admit(&state, &guards, &TASKS, &path, None).await?;
    let query = query_pairs(raw.as_deref());
    let status = query
        .get("status")
        .map(String::as_str)
        .filter(|status| !status.is_empty());
    let tasks = state
        .app
        .delegate_tasks(
            &viewer.ctx,
            viewer.scope.scope(),
            status,
            Some(TASKS_SHOWN),
            None,
        )
        .await?;
    let project = project_base(&viewer);
    let main = html! {
        p { a href=(base(&project)) { "← Delegates" } }
        h1 { "Delegate tasks" }
        form.filters method="get" action=(format!("{project}/delegate-tasks")) {
            label for="t-status" { "Status" }
            select #t-status name="status" {
                option value="" { "any" }
                @for option in TASK_STATUSES {
                    option value=(option) selected[status == Some(option)] { (option) }
                }
            }
            button type="submit" { "Filter" }
        }
        @if tasks.items.is_empty() {
            p.muted { "No tasks match." }
        } @else {
            table.responsive {
                thead { tr {
                    th scope="col" { "Created" } th scope="col" { "Kind" }
                    th scope="col" { "Status" } th scope="col" { "Attempts" }
                } }
                tbody { @for task in &tasks.items { (task_row(&project, task)) } }
            }
        }
    };
    Ok(viewer_page(&viewer, "Delegate tasks", StatusCode::OK, main))
}

/// `GET /o/{org}/p/{project}/delegate-tasks/{task}`
pub async fn task(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
) -> Result<Response, WebError> {
    let viewer = browser.admit(&state, &guards, &TASK, &path, None).await?;
    let id = path.param("task");
    let scope = viewer.scope.scope();
    // Taken before the task is read: a change in between shows up as a live update.
    let mark = state.app.delegate_task_watermark(scope, id).await?;
    let view = state.app.delegate_task(&viewer.ctx, scope, id).await?;
    let task = &view.task;
    let here = format!("{}/delegate-tasks/{id}", project_base(&viewer));
    let main = html! {
        p { a href=(format!("{}/delegate-tasks", project_base(&viewer))) { "← All tasks" } }
        h1 { "A " (task.kind.as_str()) " task" }
        div #task-live data-live=(live::url(&format!("{here}/events"), &mark)) {
            p {
                (badge(task.status.as_str()))
                @if let Some(code) = &task.error_code { " " code { (code) } }
                @if matches!(task.status, TaskStatus::Queued | TaskStatus::Running) {
                    " " span.muted { "this page updates when it changes" }
                }
            }
            dl.fields {
                dt { "Created" } dd { (when(task.created_at)) }
                dt { "Attempts" } dd { (task.attempts) " of " (task.max_attempts) }
                dt { "Expires" } dd { (when(task.expires_at)) }
                @if !task.selector.to_strings().is_empty() {
                    dt { "For delegates tagged" } dd { (task.selector.to_strings().join(", ")) }
                }
                dt { "Changed" } dd { (when(task.updated_at)) }
            }
            @if let Some(result) = &view.result {
                h2 { "What the delegate reported" }
                pre.sample { (result) }
            }
        }
    };
    Ok(viewer_page(&viewer, "Delegate task", StatusCode::OK, main))
}

/// `GET …/delegate-tasks/{task}/events`: `changed` whenever the task's page would.
pub async fn task_events(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
    RawQuery(raw): RawQuery,
) -> Result<Response, WebError> {
    let viewer = browser.admit(&state, &guards, &TASK, &path, None).await?;
    let scope = viewer.scope.scope();
    let id = path.param("task").to_owned();
    live::stream(state, &browser, raw.as_deref(), move |state| {
        let id = id.clone();
        async move { state.app.delegate_task_watermark(scope, &id).await }
    })
    .await
}
