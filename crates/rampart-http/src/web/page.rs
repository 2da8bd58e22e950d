//! The shell every page shares (head, header with navigation and sign-out, the main
//! landmark), the HTML response, and small pieces pages have in common: times, the CSRF
//! field, the error page.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use maud::{DOCTYPE, Markup, html};
use rampart_app::platform::tenancy::ResolvedScope;

use super::assets;
use super::gate::{ApiRoute, Level, Viewer};
use crate::error::ApiError;

/// A project's pages in the navigation, each shown only to who may read it: (the API
/// route it stands for, its path under the project, its label).
const PROJECT_PAGES: [(&ApiRoute, &str, &str); 9] = [
    (&crate::web::sre::incidents::LIST, "incidents", "Incidents"),
    (&crate::web::sre::alerts::LIST, "alerts", "Alerts"),
    (&crate::web::sre::schedules::LIST, "schedules", "On call"),
    (
        &crate::web::sre::escalation_policies::LIST,
        "escalation-policies",
        "Escalation",
    ),
    (&crate::web::sre::services::LIST, "services", "Services"),
    (&crate::web::sre::slos::LIST, "slos", "SLOs"),
    (&crate::web::sre::runbooks::LIST, "runbooks", "Runbooks"),
    (
        &crate::web::iacm::workspaces::LIST,
        "workspaces",
        "Workspaces",
    ),
    (&crate::web::platform::audit_log::PROJECT, "audit", "Audit"),
];

/// The navigation of a page at the viewer's scope, each link shown only to who may read
/// its page: a project's pages, or an organisation's or the account's access and
/// settings.
fn navigation(viewer: &Viewer) -> Vec<(String, &'static str)> {
    use super::platform::{access, audit_log, secrets, settings};
    let base = scope_base(viewer);
    let mut links: Vec<(String, &'static str)> = Vec::new();
    let mut add = |route: &ApiRoute, page: &str, label: &'static str| {
        if viewer.may(route) {
            links.push((format!("{base}/{page}"), label));
        }
    };
    let level = match &viewer.scope {
        ResolvedScope::Account => Level::Account,
        ResolvedScope::Org(_) => Level::Org,
        ResolvedScope::Project(..) => Level::Project,
    };
    if level == Level::Project {
        for (route, page, label) in PROJECT_PAGES {
            add(route, page, label);
        }
    }
    if level == Level::Account {
        add(&audit_log::ACCOUNT, "audit", "Audit");
    }
    add(level.pick(&access::ASSIGNMENTS), "access", "Access");
    match level {
        Level::Project => add(secrets::LIST_AT_PROJECT, "settings", "Settings"),
        _ => add(level.pick(&settings::PAGES), "settings", "Settings"),
    }
    links
}

/// What the shell shows around a page.
pub struct Chrome<'a> {
    pub title: &'a str,
    /// The signed-in person (and the sign-out form), if any.
    pub viewer: Option<&'a Viewer>,
}

/// A whole page: `main` inside the shared shell.
pub fn render(chrome: &Chrome<'_>, main: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light dark";
                title { (chrome.title) " · Rampart" }
                link rel="stylesheet" href=(assets::CSS_PATH);
                link rel="icon" href=(assets::ICON_PATH) type="image/svg+xml";
                script src=(assets::JS_PATH) defer {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    nav aria-label="Main" {
                        a.brand href="/" { "Rampart" }
                        @if let Some(viewer) = chrome.viewer {
                            @for (href, label) in navigation(viewer) {
                                a href=(href) { (label) }
                            }
                        }
                    }
                    @if let Some(viewer) = chrome.viewer {
                        form.signout method="post" action="/logout" {
                            a.who href="/tokens" title="Your API tokens" { (viewer.who) }
                            (csrf_field(viewer))
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main #main tabindex="-1" {
                    (main)
                }
            }
        }
    }
}

/// Where the pages of the viewer's scope live: `` (the account), `/o/<org>` or
/// `/o/<org>/p/<project>`.
pub fn scope_base(viewer: &Viewer) -> String {
    match &viewer.scope {
        ResolvedScope::Account => String::new(),
        ResolvedScope::Org(org) => format!("/o/{}", org.identifier),
        ResolvedScope::Project(org, project) => {
            format!("/o/{}/p/{}", org.identifier, project.identifier)
        }
    }
}

/// `/o/<org>/p/<project>`: where a project's pages live.
pub fn project_base(viewer: &Viewer) -> String {
    let (org, project) = viewer.project().unwrap_or_default();
    format!("/o/{org}/p/{project}")
}

/// A status as a badge (incidents and alerts share the words and colours).
pub fn badge(status: &str) -> Markup {
    html! { span class=(format!("badge status-{status}")) { (status) } }
}

/// A definition as JSON (the document the API and the CLI take), in a form's
/// `definition` field: `about` says what it holds.
pub fn definition_field(about: Markup, json: &str) -> Markup {
    html! {
        label for="f-definition" { "Definition (JSON" (about) ")" }
        // HTML drops a line break right after `<textarea>`: one is written so that
        // the text arrives as it is.
        textarea #f-definition name="definition" rows="16" required spellcheck="false" { "\n" (json) }
    }
}

/// The hidden field every form of a signed-in page carries.
pub fn csrf_field(viewer: &Viewer) -> Markup {
    html! { input type="hidden" name="csrf" value=(viewer.csrf.as_str()); }
}

/// A signed-in person's page in the shell, answered with `status`.
pub fn viewer_page(viewer: &Viewer, title: &str, status: StatusCode, main: Markup) -> Response {
    respond(
        status,
        render(
            &Chrome {
                title,
                viewer: Some(viewer),
            },
            main,
        ),
    )
}

/// An HTML answer. Its referrer policy is `same-origin` rather than the API's
/// `no-referrer`: under `no-referrer` browsers send `Origin: null` with a form post, and
/// the forms' origin check needs the real one; other sites still learn nothing.
pub fn respond(status: StatusCode, markup: Markup) -> Response {
    let mut response = (status, markup.into_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}

/// An instant as people read it (UTC, to the minute), machine-readable in `datetime`.
pub fn when(at: Timestamp) -> Markup {
    html! {
        time datetime=(at.to_string()) { (at.strftime("%Y-%m-%d %H:%M UTC").to_string()) }
    }
}

/// A refusal or failure as a page: the API's status, message and code.
pub fn error_page(error: &ApiError) -> Response {
    let reauthenticate = error.code == rampart_domain::ErrorCode::ReauthenticationRequired.as_str();
    let title = error
        .status
        .canonical_reason()
        .unwrap_or("Something went wrong");
    let main = html! {
        h1 { (title) }
        p.error role="alert" { (error.message) }
        p.code { "Code: " code { (error.code) } }
        @if reauthenticate {
            p { "Sign in again to continue: " a href="/login" { "sign in" } "." }
        }
        p { a href="/" { "Back to the home page" } }
    };
    respond(
        error.status,
        render(
            &Chrome {
                title,
                viewer: None,
            },
            main,
        ),
    )
}
