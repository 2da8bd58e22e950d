//! The home page: what someone woken at 3 a.m. needs first — the open incidents of the
//! projects they can see, who is on call now and next on those projects' schedules, and
//! their unread notifications — each part shown only where the API would show it.

use axum::Extension;
use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use jiff::{SignedDuration, Timestamp};
use maud::{Markup, html};
use rampart_app::sre::incidents::IncidentListQuery;
use rampart_domain::platform::identity::PrincipalId;
use rampart_domain::platform::tenancy::Scope;

use crate::AppState;
use crate::web::ApiGuards;
use crate::web::gate::{ApiRoute, Browser, WebError, WebPath};
use crate::web::page::{viewer_page, when};
use crate::web::sre::{incidents, schedules};

/// The home page stands for "who am I".
const ME: ApiRoute = (Method::GET, "/api/v1/me");
const INCIDENTS: ApiRoute = incidents::LIST;
const SCHEDULES: ApiRoute = schedules::LIST;
const NOTIFICATIONS: ApiRoute = (Method::GET, "/api/v1/me/notifications");

/// The API routes the home page stands for.
pub const API_ROUTES: [ApiRoute; 4] = [ME, INCIDENTS, SCHEDULES, NOTIFICATIONS];

/// At most this many projects, schedules and incidents are drawn (the home page is a
/// summary; each project's own pages have the rest).
const PROJECTS_MAX: u32 = 50;
const OPEN_INCIDENTS_MAX: u32 = 25;
/// How far ahead "next on call" looks.
const NEXT_SHIFT_DAYS: i64 = 14;

struct ProjectRow {
    org: String,
    project: String,
    scope: Scope,
    open: usize,
    more: bool,
}

struct OnCallRow {
    project: String,
    schedule: String,
    now: Option<String>,
    next: Option<(String, Timestamp)>,
}

/// `GET /`
pub async fn home(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
) -> Result<Response, WebError> {
    let viewer = browser
        .admit(&state, &guards, &ME, &WebPath::none(), None)
        .await?;
    let now = state.app.now();
    let me_id = match viewer.ctx.actor.principal {
        PrincipalId::User(id) => id.to_string(),
        _ => String::new(),
    };
    // Schedules name people by user id.
    let is_me = |user: &str| user == me_id;

    let mut projects = Vec::new();
    let mut incidents = Vec::new();
    let mut on_call = Vec::new();
    for (org, project) in state
        .app
        .visible_projects(&viewer.ctx, PROJECTS_MAX)
        .await?
    {
        let scope = Scope::Project(org.id, project.id);
        // A project behind an allowlist or SSO policy that refuses this request is left
        // out, as the API would refuse it.
        if !state
            .app
            .scope_reachable(&viewer.ctx.actor, &viewer.ctx.meta, scope)
            .await?
        {
            continue;
        }
        let mut row = ProjectRow {
            org: org.identifier.to_string(),
            project: project.identifier.to_string(),
            scope,
            open: 0,
            more: false,
        };
        if viewer.may_at(&INCIDENTS, scope) {
            let open = state
                .app
                .list_incidents(
                    &viewer.ctx,
                    scope,
                    IncidentListQuery {
                        status: Some("open"),
                        ..Default::default()
                    },
                    Some(OPEN_INCIDENTS_MAX),
                    None,
                )
                .await;
            // A project whose incidents cannot be read now (its key ring unavailable) is
            // shown without them rather than failing the whole page.
            let (items, more) = match open {
                Ok(open) => (open.items, open.next_cursor.is_some()),
                Err(error) => {
                    tracing::warn!(%error, "the home page could not list a project's incidents");
                    (Vec::new(), false)
                }
            };
            row.open = items.len();
            row.more = more;
            for view in items {
                incidents.push((row.org.clone(), row.project.clone(), view));
            }
        }
        if viewer.may_at(&SCHEDULES, scope) {
            let schedules = state
                .app
                .list_schedules(scope, Some(PROJECTS_MAX), None)
                .await?;
            for schedule in schedules.items {
                let identifier = schedule.record.identifier.to_string();
                let until = now
                    .checked_add(SignedDuration::from_hours(24 * NEXT_SHIFT_DAYS))
                    .unwrap_or(now);
                // A schedule that cannot be drawn (a zone this build lacks) is shown
                // with nobody rather than failing the page.
                let timeline = state
                    .app
                    .schedule_timeline(scope, &identifier, now, until)
                    .await
                    .ok();
                let segments = timeline.map(|t| t.segments).unwrap_or_default();
                let (now_user, next) = schedules::now_and_next(&segments, now);
                on_call.push(OnCallRow {
                    project: format!("{}/{}", row.org, row.project),
                    schedule: schedule.record.name.to_string(),
                    now: now_user,
                    next,
                });
            }
        }
        projects.push(row);
    }
    let people: Vec<&str> = on_call
        .iter()
        .flat_map(|row| {
            [
                row.now.as_deref(),
                row.next.as_ref().map(|(user, _)| user.as_str()),
            ]
        })
        .flatten()
        .collect();
    let names = state.app.person_names(&people).await?;
    incidents.sort_by_key(|row| std::cmp::Reverse(row.2.incident.created_at));
    incidents.truncate(OPEN_INCIDENTS_MAX as usize);

    let notifications = if viewer.may(&NOTIFICATIONS)
        && matches!(viewer.ctx.actor.principal, PrincipalId::User(_))
    {
        state
            .app
            .my_notifications(&viewer.ctx, Some(20), None)
            .await?
            .items
            .into_iter()
            .filter(|view| view.notification.read_at.is_none())
            .collect()
    } else {
        Vec::new()
    };
    let project_path = |project_id: String| {
        projects
            .iter()
            .find(|row| row.scope.project_id().map(|id| id.to_string()) == Some(project_id.clone()))
            .map(|row| format!("/o/{}/p/{}", row.org, row.project))
    };

    let you = |user: &str| -> Markup {
        html! {
            (names.get(user).map_or(user, String::as_str)) @if is_me(user) { " " strong { "(you)" } }
        }
    };
    let main = html! {
        h1 { "Home" }
        section.card aria-labelledby="h-open" {
            h2 #h-open { "Open incidents" }
            @if incidents.is_empty() {
                p.muted { "No open incidents in your projects." }
            } @else {
                table.responsive {
                    thead { tr {
                        th scope="col" { "Project" } th scope="col" { "Incident" }
                        th scope="col" { "Severity" } th scope="col" { "Status" } th scope="col" { "Opened" }
                    } }
                    tbody {
                        @for (org, project, view) in &incidents {
                            @let incident = &view.incident;
                            tr {
                                td data-label="Project" { (org) "/" (project) }
                                td data-label="Incident" {
                                    a href=(format!("/o/{org}/p/{project}/incidents/{}", incident.number)) {
                                        "#" (incident.number) " " (view.title.as_deref().unwrap_or("(unreadable)"))
                                    }
                                }
                                td data-label="Severity" { (incident.severity) }
                                td data-label="Status" {
                                    span class=(format!("badge status-{}", incident.status.as_str())) { (incident.status.as_str()) }
                                }
                                td data-label="Opened" { (when(incident.created_at)) }
                            }
                        }
                    }
                }
            }
        }
        section.card aria-labelledby="h-oncall" {
            h2 #h-oncall { "On call" }
            @if on_call.is_empty() {
                p.muted { "No schedules in your projects." }
            } @else {
                table.responsive {
                    thead { tr {
                        th scope="col" { "Schedule" } th scope="col" { "Now" } th scope="col" { "Next" }
                    } }
                    tbody {
                        @for row in &on_call {
                            tr {
                                td data-label="Schedule" { (row.schedule) span.muted { " · " (row.project) } }
                                td data-label="Now" {
                                    @if let Some(user) = &row.now { (you(user)) } @else { span.error { "nobody (a gap)" } }
                                }
                                td data-label="Next" {
                                    @if let Some((user, at)) = &row.next { (you(user)) " from " (when(*at)) } @else { "—" }
                                }
                            }
                        }
                    }
                }
            }
        }
        section.card aria-labelledby="h-notifications" {
            h2 #h-notifications { "Unread notifications" }
            @if notifications.is_empty() {
                p.muted { "Nothing unread." }
            } @else {
                ul {
                    @for view in &notifications {
                        @let n = &view.notification;
                        li {
                            (n.kind) " · incident "
                            @if let Some(base) = project_path(n.project_id.to_string()) {
                                a href=(format!("{base}/incidents/{}", n.incident_number)) { "#" (n.incident_number) }
                            } @else {
                                "#" (n.incident_number)
                            }
                            " · " (when(n.created_at))
                        }
                    }
                }
            }
        }
        section.card aria-labelledby="h-projects" {
            h2 #h-projects { "Projects" }
            @if projects.is_empty() {
                p.muted { "You cannot see any project yet; an administrator can give you a role." }
            } @else {
                ul {
                    @for row in &projects {
                        li {
                            a href=(format!("/o/{}/p/{}/incidents", row.org, row.project)) { (row.org) "/" (row.project) }
                            @if row.open > 0 {
                                " · " (row.open) @if row.more { "+" } " open"
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(viewer_page(&viewer, "Home", StatusCode::OK, main))
}
