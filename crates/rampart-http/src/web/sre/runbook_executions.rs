//! A runbook execution's page: its status, who started (and approved or canceled) it,
//! its inputs, the incident it runs on, and each step with its status and what its
//! delegate reported (as text: a script's output is whatever it printed) — updated live
//! while it runs; approving a sensitive runbook's execution (a second person, step-up)
//! and canceling one that has not finished.

use axum::Extension;
use axum::extract::{RawQuery, State};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use maud::{Markup, html};
use rampart_app::sre::runbook_executions::ExecutionView;
use rampart_domain::sre::runbook_executions::ExecutionStatus;

use crate::AppState;
use crate::extract::ApiForm;
use crate::web::gate::{ApiRoute, Browser, ButtonForm, Viewer, WebError, WebPath};
use crate::web::page::{badge, csrf_field, project_base, viewer_page, when};
use crate::web::platform::identity::People;
use crate::web::{ApiGuards, live};

const SHOW: ApiRoute = (
    Method::GET,
    "/api/v1/orgs/{org}/projects/{project}/runbook-executions/{execution}",
);
const APPROVE: ApiRoute = (
    Method::POST,
    "/api/v1/orgs/{org}/projects/{project}/runbook-executions/{execution}/approve",
);
const CANCEL: ApiRoute = (
    Method::POST,
    "/api/v1/orgs/{org}/projects/{project}/runbook-executions/{execution}/cancel",
);

/// The API routes these pages stand for.
pub const API_ROUTES: [ApiRoute; 3] = [SHOW, APPROVE, CANCEL];

fn here(viewer: &Viewer, path: &WebPath) -> String {
    format!(
        "{}/runbook-executions/{}",
        project_base(viewer),
        path.param("execution")
    )
}

/// A step's report as people read it: JSON laid out, anything else as it came.
fn report_text(output: &str) -> String {
    serde_json::from_str::<serde_json::Value>(output)
        .ok()
        .filter(|value| value.is_object() || value.is_array())
        .and_then(|value| serde_json::to_string_pretty(&value).ok())
        .unwrap_or_else(|| output.to_owned())
}

/// `GET /o/{org}/p/{project}/runbook-executions/{execution}`
pub async fn show(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
) -> Result<Response, WebError> {
    let viewer = browser.admit(&state, &guards, &SHOW, &path, None).await?;
    let scope = viewer.scope.scope();
    let id = path.param("execution");
    // Taken before the execution is read: a change in between shows up as a live update.
    let mark = state.app.runbook_execution_watermark(scope, id).await?;
    let view = state.app.runbook_execution(scope, id).await?;
    let execution = &view.execution;
    let ids: Vec<&str> = [
        Some(execution.started_by.as_str()),
        execution.approved_by.as_deref(),
        execution.canceled_by.as_deref(),
    ]
    .into_iter()
    .flatten()
    .filter_map(|actor| actor.strip_prefix("user:"))
    .collect();
    let people = People::read(&state, &viewer, &ids).await?;
    let here = here(&viewer, &path);
    let main = html! {
        p { a href=(format!("{}/runbooks/{}", project_base(&viewer), execution.runbook_identifier)) { "← Runbook " (execution.runbook_identifier) } }
        h1 { "Execution of " (execution.runbook_identifier) }
        div #execution-live data-live=(live::url(&format!("{here}/events"), &mark)) {
            (execution_body(&viewer, &view, &people, &here))
        }
    };
    Ok(viewer_page(
        &viewer,
        &format!("Execution of {}", execution.runbook_identifier),
        StatusCode::OK,
        main,
    ))
}

/// What changes while the execution runs: its facts, actions and steps.
fn execution_body(viewer: &Viewer, view: &ExecutionView, people: &People, here: &str) -> Markup {
    let execution = &view.execution;
    let open = matches!(
        execution.status,
        ExecutionStatus::AwaitingApproval | ExecutionStatus::Running
    );
    // Who started it may not approve it: the button is not offered to them.
    let may_approve = execution.status == ExecutionStatus::AwaitingApproval
        && viewer.may(&APPROVE)
        && execution.started_by != viewer.ctx.actor.actor_text();
    html! {
        p {
            (badge(execution.status.as_str()))
            @if let Some(code) = &execution.error_code { " " code { (code) } }
        }
        dl.fields {
            dt { "Runbook version" } dd { (execution.runbook_version) }
            dt { "Started" } dd { (when(execution.created_at)) " by " (people.actor(&execution.started_by)) " (" (execution.trigger.as_str()) ")" }
            @if let Some(approver) = &execution.approved_by { dt { "Approved by" } dd { (people.actor(approver)) } }
            @if let Some(canceler) = &execution.canceled_by { dt { "Canceled by" } dd { (people.actor(canceler)) } }
            @if let Some(finished) = execution.finished_at { dt { "Finished" } dd { (when(finished)) } }
            @if let Some(number) = view.incident_number {
                dt { "Incident" } dd { a href=(format!("{}/incidents/{number}", project_base(viewer))) { "#" (number) } }
            }
            @for (name, value) in &view.inputs {
                dt { code { (name) } } dd { (value) }
            }
        }
        @if open {
            div.actions {
                @if may_approve {
                    form method="post" action=(format!("{here}/approve")) {
                        (csrf_field(viewer))
                        button type="submit" { "Approve and run" }
                    }
                }
                @if viewer.may(&CANCEL) {
                    form method="post" action=(format!("{here}/cancel")) {
                        (csrf_field(viewer))
                        button type="submit" { "Cancel" }
                    }
                }
            }
            @if execution.status == ExecutionStatus::AwaitingApproval {
                p.muted { "A sensitive runbook: someone other than who started it approves it before any step runs." }
            }
        }
        h2 { "Steps" }
        ol.timeline aria-label="Steps" {
            @for step in &view.steps {
                li {
                    span.what { (step.step.name) } " (" (step.step.kind) ") " (badge(step.step.status.as_str()))
                    @if let Some(code) = &step.step.error_code { " " code { (code) } }
                    @if let (Some(start), Some(end)) = (step.step.started_at, step.step.finished_at) {
                        br; span.muted { (when(start)) ", " (end.duration_since(start).as_secs()) " s" }
                    }
                    @if let Some(output) = &step.output {
                        pre.sample { (report_text(output)) }
                    }
                }
            }
        }
    }
}

/// `GET …/runbook-executions/{execution}/events`: `changed` whenever the page would.
pub async fn show_events(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
    RawQuery(raw): RawQuery,
) -> Result<Response, WebError> {
    let viewer = browser.admit(&state, &guards, &SHOW, &path, None).await?;
    let scope = viewer.scope.scope();
    let id = path.param("execution").to_owned();
    live::stream(state, &browser, raw.as_deref(), move |state| {
        let id = id.clone();
        async move { state.app.runbook_execution_watermark(scope, &id).await }
    })
    .await
}

/// `POST …/runbook-executions/{execution}/approve`
pub async fn approve(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
    form: Result<ApiForm<ButtonForm>, crate::error::ApiError>,
) -> Result<Response, WebError> {
    let (viewer, _) = browser
        .admit_form(&state, &guards, &APPROVE, &path, form)
        .await?;
    state
        .app
        .approve_runbook_execution(&viewer.ctx, viewer.scope.scope(), path.param("execution"))
        .await?;
    Ok(crate::web::gate::see_other(&here(&viewer, &path)))
}

/// `POST …/runbook-executions/{execution}/cancel`
pub async fn cancel(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
    form: Result<ApiForm<ButtonForm>, crate::error::ApiError>,
) -> Result<Response, WebError> {
    let (viewer, _) = browser
        .admit_form(&state, &guards, &CANCEL, &path, form)
        .await?;
    state
        .app
        .cancel_runbook_execution(&viewer.ctx, viewer.scope.scope(), path.param("execution"))
        .await?;
    Ok(crate::web::gate::see_other(&here(&viewer, &path)))
}
