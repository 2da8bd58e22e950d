//! The settings pages: the account's (`/settings`: its source-address allowlist), an
//! organisation's (`/o/{org}/settings`: allowlist, audit retention, incident severity
//! names, secrets) and a project's (`/o/{org}/p/{project}/settings`: secrets, and its delegates in
//! brief with a link to their page). The page
//! stands for reading the scope itself; each part is drawn by the module that owns its
//! resource, only for who may read it, and its form posts to that module.

use axum::Extension;
use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use maud::html;

use super::{audit_log, delegates, network, secrets};
use crate::AppState;
use crate::handlers::platform::access::scope_text;
use crate::web::ApiGuards;
use crate::web::gate::{ApiRoute, Browser, Level, WebError, WebPath};
use crate::web::page::viewer_page;
use crate::web::sre::services;

/// Each page stands for reading its scope: the account's settings for managing the
/// account, an organisation's and a project's for reading them.
pub const PAGES: [ApiRoute; 3] = [
    (Method::GET, "/api/v1/ip-allowlist"),
    (Method::GET, "/api/v1/orgs/{org}"),
    (Method::GET, "/api/v1/orgs/{org}/projects/{project}"),
];

/// `GET /settings`, `/o/{org}/settings`, `/o/{org}/p/{project}/settings`
pub async fn page(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
) -> Result<Response, WebError> {
    let level = Level::of(&path);
    let viewer = browser
        .admit(&state, &guards, level.pick(&PAGES), &path, None)
        .await?;
    let sections = [
        network::section(&state, &viewer, level).await?,
        audit_log::retention_section(&state, &viewer).await?,
        services::severities_section(&state, &viewer).await?,
        secrets::section(&state, &viewer, level).await?,
        delegates::section(&state, &viewer, level).await?,
    ];
    let title = match level {
        Level::Account => "Account settings".to_owned(),
        Level::Org => format!("Settings of organisation {}", scope_text(&viewer.scope)),
        Level::Project => format!("Settings of project {}", scope_text(&viewer.scope)),
    };
    let org_settings = match level {
        Level::Project => viewer
            .project()
            .map(|(org, _)| org.to_owned())
            .filter(|_| viewer.may_at(level_up(), org_scope(&viewer))),
        _ => None,
    };
    let empty = sections.iter().all(Option::is_none);
    let main = html! {
        h1 { (title) }
        @if let Some(org) = org_settings {
            p { "Allowlist, audit retention and severity names are set for the whole organisation: "
                a href=(format!("/o/{org}/settings")) { "settings of " (org) } "." }
        }
        @if empty { p.muted { "There is nothing here you may see." } }
        @for section in sections.into_iter().flatten() { (section) }
    };
    Ok(viewer_page(&viewer, "Settings", StatusCode::OK, main))
}

/// The organisation's settings page's route (a project's page links to it).
fn level_up() -> &'static ApiRoute {
    Level::Org.pick(&PAGES)
}

fn org_scope(viewer: &crate::web::gate::Viewer) -> rampart_domain::platform::tenancy::Scope {
    match viewer.scope.scope() {
        rampart_domain::platform::tenancy::Scope::Project(org, _) => {
            rampart_domain::platform::tenancy::Scope::Org(org)
        }
        other => other,
    }
}
