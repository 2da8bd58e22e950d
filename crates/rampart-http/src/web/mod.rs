//! The web UI: server-rendered HTML under `/`, on the same use cases as the API.
//!
//! Pages are `maud` templates compiled into the binary (every value escaped unless a
//! template says otherwise, which none does with anything a person or sender wrote); the
//! style sheet and the small script are the project's own, embedded and served from
//! `/static/` ([`assets`]) so that the Content-Security-Policy allows no inline script or
//! style. Every page and form works without JavaScript.
//!
//! Security ([`gate`]): a page is for a signed-in session only (the `__Host-` cookie of
//! a password or single sign-on login; API tokens are not accepted here); every form
//! carries the session's CSRF token and a state-changing request must come from this
//! origin (`Origin`, `Sec-Fetch-Site`). Each page and each form names the API route it
//! stands for ([`ApiGuards`]) and is admitted by [`crate::enforce::admit`] with that
//! route's access and step-up, so the UI can never allow what the API refuses; a
//! control whose route the viewer may not use is not shown.
//!
//! Layout: [`page`] (the shell every page shares), one module per resource as in the
//! API's handlers (`platform/auth.rs`: sign-in, sign-out and the step-up prompt;
//! `platform/identity.rs`: your API tokens and the account's users; `platform/delegates.rs`:
//! a project's delegates (created with the registration token shown once, revoked,
//! checked) and their tasks; `platform/access.rs`:
//! explain, assignments, roles, groups; `platform/settings.rs`: settings pages composed
//! of `platform/network.rs`, `platform/audit_log.rs` (retention), `sre/services.rs`
//! (severity names) and `platform/secrets.rs`; `platform/audit_log.rs`;
//! `sre/incidents.rs`: the incident list and page, editing, action items;
//! `sre/alerts.rs`; `sre/services.rs`: services, integrations, escalation policy, alert
//! rules; `sre/schedules.rs`: who is on call, two weeks drawn, editing, overrides;
//! `sre/escalation_policies.rs`; `sre/slos.rs`: budgets, burn rates, the window
//! drawn, definitions, OpenSLO import and export; `sre/runbooks.rs`: what a runbook does,
//! its versions, running it, editing; `sre/runbook_executions.rs`: an execution live,
//! approving and canceling; `iacm/workspaces.rs`: state history, diffs, rollback;
//! `iacm/runs.rs`: a run's plan, policy checks, cost and approvals), [`home`], and
//! [`live`] updates.

pub mod assets;
pub mod gate;
pub mod home;
pub mod iacm;
pub mod live;
pub mod page;
pub mod platform;
pub mod sre;

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::Method;
use axum::routing::{get, post};

use crate::AppState;
use crate::enforce::Guard;
use crate::routes::RouteSpec;

/// The largest form the UI accepts (a note, a title): notes are at most a few thousand
/// characters.
pub const FORM_BYTES_MAX: usize = 64 * 1024;

/// The largest form that carries a definition (a runbook's JSON, OpenSLO YAML): the
/// API's own limits (256 KiB, 1 MiB) as a browser sends them, each `"` and line break
/// escaped to three bytes.
pub const DEFINITION_FORM_BYTES_MAX: usize = 3 * 1024 * 1024;

/// A form route that carries a definition, with its larger body limit.
fn definition_form(
    handler: axum::routing::MethodRouter<AppState>,
) -> axum::routing::MethodRouter<AppState> {
    handler.layer(DefaultBodyLimit::max(DEFINITION_FORM_BYTES_MAX))
}

/// The access of the API's routes by method and path. A page or form of the UI names
/// the API route it stands for; a name that is not a route is a programming error that
/// a test finds (`ui_names_only_api_routes`), and is refused meanwhile.
#[derive(Clone)]
pub struct ApiGuards(Arc<HashMap<(Method, &'static str), Guard>>);

impl ApiGuards {
    pub fn new(specs: &[RouteSpec]) -> Self {
        Self(Arc::new(
            specs
                .iter()
                .map(|spec| {
                    let guard = Guard {
                        access: spec.access,
                        step_up: spec.step_up,
                    };
                    ((spec.method.clone(), spec.path), guard)
                })
                .collect(),
        ))
    }

    /// The guard of the API route `method path`, if it is one.
    pub fn of(&self, method: &Method, path: &str) -> Option<Guard> {
        self.0.get(&(method.clone(), path)).copied()
    }
}

/// Every API route a page or form of the UI names (checked by a test against the
/// route table).
pub fn named_api_routes() -> Vec<(Method, &'static str)> {
    let mut routes = home::API_ROUTES.to_vec();
    routes.extend(platform::auth::API_ROUTES.iter().cloned());
    routes.extend(platform::identity::API_ROUTES.iter().cloned());
    routes.extend(platform::audit_log::API_ROUTES.iter().cloned());
    routes.extend(sre::incidents::API_ROUTES.iter().cloned());
    routes.extend(sre::alerts::API_ROUTES.iter().cloned());
    routes.extend(sre::services::API_ROUTES.iter().cloned());
    routes.extend(sre::schedules::API_ROUTES.iter().cloned());
    routes.extend(sre::escalation_policies::API_ROUTES.iter().cloned());
    routes.extend(sre::slos::API_ROUTES.iter().cloned());
    routes.extend(sre::runbooks::API_ROUTES.iter().cloned());
    routes.extend(sre::runbook_executions::API_ROUTES.iter().cloned());
    routes.extend(platform::delegates::API_ROUTES.iter().cloned());
    routes.extend(iacm::workspaces::API_ROUTES.iter().cloned());
    routes.extend(iacm::runs::API_ROUTES.iter().cloned());
    routes.extend(platform::access::API_ROUTES.iter().flatten().cloned());
    routes.extend(platform::network::API_ROUTES.iter().cloned());
    routes.extend(platform::secrets::API_ROUTES.iter().flatten().cloned());
    routes.extend(platform::settings::PAGES.iter().cloned());
    routes
}

/// Where the pages of the account, an organisation and a project begin.
const SCOPE_PREFIXES: [&str; 3] = ["", "/o/{org}", "/o/{org}/p/{project}"];

/// The access and settings pages, at each scope that has them.
fn scoped_pages(mut pages: Router<AppState>) -> Router<AppState> {
    use platform::{access, audit_log, identity, network, secrets, settings};
    for prefix in SCOPE_PREFIXES {
        pages = pages
            .route(&format!("{prefix}/access"), get(access::page))
            .route(
                &format!("{prefix}/access/assignments"),
                post(access::assign),
            )
            .route(
                &format!("{prefix}/access/assignments/{{assignment_id}}/remove"),
                post(access::unassign),
            )
            .route(
                &format!("{prefix}/access/groups"),
                post(access::create_group),
            )
            .route(
                &format!("{prefix}/access/groups/{{group_id}}/delete"),
                post(access::delete_group),
            )
            .route(
                &format!("{prefix}/access/groups/{{group_id}}/members"),
                post(access::add_member),
            )
            .route(
                &format!("{prefix}/access/groups/{{group_id}}/members/{{user_id}}/remove"),
                post(access::remove_member),
            )
            .route(&format!("{prefix}/settings"), get(settings::page));
    }
    for prefix in ["/o/{org}", "/o/{org}/p/{project}"] {
        pages = pages
            .route(&format!("{prefix}/settings/secrets"), post(secrets::create))
            .route(
                &format!("{prefix}/settings/secrets/{{secret}}"),
                post(secrets::add_version),
            )
            .route(
                &format!("{prefix}/settings/secrets/{{secret}}/delete"),
                post(secrets::delete),
            );
    }
    pages
        .route("/settings/allowlist", post(network::set))
        .route("/o/{org}/settings/allowlist", post(network::set))
        .route(
            "/o/{org}/settings/retention",
            post(audit_log::set_retention),
        )
        .route(
            "/o/{org}/settings/severities",
            post(sre::services::set_severities),
        )
        .route("/access/users", post(identity::create_user))
        .route(
            "/access/users/{user_id}/{change}",
            post(identity::set_user_disabled),
        )
}

/// Adds the UI's pages to `router`.
pub fn mount(router: Router<AppState>, specs: &[RouteSpec]) -> Router<AppState> {
    use iacm::{runs, workspaces};
    use platform::{audit_log, auth, delegates, identity};
    use sre::{
        alerts, escalation_policies, incidents, runbook_executions, runbooks, schedules, services,
        slos,
    };
    let pages = Router::new()
        .route("/", get(home::home))
        .route("/login", get(auth::login_page).post(auth::login))
        .route("/logout", post(auth::logout))
        .route(
            "/reauthenticate",
            get(auth::reauthenticate_page).post(auth::reauthenticate),
        )
        .route("/tokens", get(identity::list).post(identity::create))
        .route("/tokens/{token_id}/revoke", post(identity::revoke))
        .route("/audit", get(audit_log::account))
        .route("/o/{org}/p/{project}/audit", get(audit_log::project))
        .route("/static/{file}", get(assets::asset))
        .route(
            "/o/{org}/p/{project}/incidents",
            get(incidents::list).post(incidents::create),
        )
        .route(
            "/o/{org}/p/{project}/incidents/events",
            get(incidents::list_events),
        )
        .route(
            "/o/{org}/p/{project}/incidents/{number}",
            get(incidents::show),
        )
        .route(
            "/o/{org}/p/{project}/incidents/{number}/events",
            get(incidents::show_events),
        )
        .route(
            "/o/{org}/p/{project}/incidents/{number}/status",
            post(incidents::change_status),
        )
        .route(
            "/o/{org}/p/{project}/incidents/{number}/notes",
            post(incidents::add_note),
        )
        .route(
            "/o/{org}/p/{project}/incidents/{number}/edit",
            post(incidents::edit),
        )
        .route(
            "/o/{org}/p/{project}/incidents/{number}/action-items",
            post(incidents::add_action_item),
        )
        .route(
            "/o/{org}/p/{project}/incidents/{number}/action-items/{item}",
            post(incidents::mark_action_item),
        )
        .route("/o/{org}/p/{project}/alerts", get(alerts::list))
        .route(
            "/o/{org}/p/{project}/alerts/events",
            get(alerts::list_events),
        )
        .route("/o/{org}/p/{project}/alerts/{alert}", get(alerts::show))
        .route(
            "/o/{org}/p/{project}/alerts/{alert}/acknowledge",
            post(alerts::acknowledge),
        )
        .route(
            "/o/{org}/p/{project}/alerts/{alert}/resolve",
            post(alerts::resolve),
        )
        .route(
            "/o/{org}/p/{project}/services",
            get(services::list).post(services::create),
        )
        .route(
            "/o/{org}/p/{project}/services/{service}",
            get(services::show),
        )
        .route(
            "/o/{org}/p/{project}/services/{service}/integrations",
            post(services::add_integration),
        )
        .route(
            "/o/{org}/p/{project}/services/{service}/escalation-policy",
            post(services::set_policy),
        )
        .route(
            "/o/{org}/p/{project}/services/{service}/alert-rules",
            post(services::set_rules),
        )
        .route(
            "/o/{org}/p/{project}/services/{service}/integrations/{integration}/rotate",
            post(services::rotate),
        )
        .route(
            "/o/{org}/p/{project}/services/{service}/integrations/{integration}/remove",
            post(services::remove_integration),
        )
        .route(
            "/o/{org}/p/{project}/services/{service}/edit",
            post(services::edit),
        )
        .route(
            "/o/{org}/p/{project}/services/{service}/delete",
            post(services::delete),
        )
        .route(
            "/o/{org}/p/{project}/schedules",
            get(schedules::list).post(schedules::create),
        )
        .route(
            "/o/{org}/p/{project}/schedules/{schedule}/edit",
            post(schedules::edit),
        )
        .route(
            "/o/{org}/p/{project}/schedules/{schedule}/overrides",
            post(schedules::add_override),
        )
        .route(
            "/o/{org}/p/{project}/schedules/{schedule}/overrides/take",
            post(schedules::take_shift),
        )
        .route(
            "/o/{org}/p/{project}/schedules/{schedule}/overrides/remove",
            post(schedules::remove_override),
        )
        .route(
            "/o/{org}/p/{project}/schedules/{schedule}",
            get(schedules::show),
        )
        .route(
            "/o/{org}/p/{project}/escalation-policies",
            get(escalation_policies::list).post(escalation_policies::create),
        )
        .route(
            "/o/{org}/p/{project}/escalation-policies/{policy}",
            get(escalation_policies::show),
        )
        .route(
            "/o/{org}/p/{project}/escalation-policies/{policy}/edit",
            post(escalation_policies::edit),
        )
        .route(
            "/o/{org}/p/{project}/slos",
            get(slos::list).merge(definition_form(post(slos::create))),
        )
        .route("/o/{org}/p/{project}/slos/{slo}", get(slos::show))
        .route(
            "/o/{org}/p/{project}/slos/{slo}/edit",
            definition_form(post(slos::edit)),
        )
        .route("/o/{org}/p/{project}/slos/{slo}/delete", post(slos::delete))
        .route(
            "/o/{org}/p/{project}/openslo",
            get(slos::export).merge(definition_form(post(slos::import))),
        )
        .route(
            "/o/{org}/p/{project}/runbooks",
            get(runbooks::list).merge(definition_form(post(runbooks::create))),
        )
        .route(
            "/o/{org}/p/{project}/runbooks/{runbook}",
            get(runbooks::show),
        )
        .route(
            "/o/{org}/p/{project}/runbooks/{runbook}/edit",
            definition_form(post(runbooks::edit)),
        )
        .route(
            "/o/{org}/p/{project}/runbooks/{runbook}/delete",
            post(runbooks::delete),
        )
        .route(
            "/o/{org}/p/{project}/runbooks/{runbook}/run",
            post(runbooks::run),
        )
        .route(
            "/o/{org}/p/{project}/runbook-executions/{execution}",
            get(runbook_executions::show),
        )
        .route(
            "/o/{org}/p/{project}/runbook-executions/{execution}/events",
            get(runbook_executions::show_events),
        )
        .route(
            "/o/{org}/p/{project}/runbook-executions/{execution}/approve",
            post(runbook_executions::approve),
        )
        .route(
            "/o/{org}/p/{project}/runbook-executions/{execution}/cancel",
            post(runbook_executions::cancel),
        )
        .route(
            "/o/{org}/p/{project}/delegates",
            get(delegates::list).post(delegates::create),
        )
        .route(
            "/o/{org}/p/{project}/delegates/{delegate}",
            get(delegates::show),
        )
        .route(
            "/o/{org}/p/{project}/delegates/{delegate}/revoke",
            post(delegates::revoke),
        )
        .route(
            "/o/{org}/p/{project}/delegates/{delegate}/delete",
            post(delegates::delete),
        )
        .route(
            "/o/{org}/p/{project}/delegates/{delegate}/ping",
            post(delegates::ping),
        )
        .route("/o/{org}/p/{project}/delegate-tasks", get(delegates::tasks))
        .route(
            "/o/{org}/p/{project}/delegate-tasks/{task}",
            get(delegates::task),
        )
        .route(
            "/o/{org}/p/{project}/delegate-tasks/{task}/events",
            get(delegates::task_events),
        )
        .route("/o/{org}/p/{project}/workspaces", get(workspaces::list))
        .route(
            "/o/{org}/p/{project}/workspaces/{workspace}",
            get(workspaces::show),
        )
        .route(
            "/o/{org}/p/{project}/workspaces/{workspace}/rollback",
            get(workspaces::rollback_page).post(workspaces::rollback),
        )
        .route(
            "/o/{org}/p/{project}/workspaces/{workspace}/runs/{run}",
            get(runs::show),
        )
        .route(
            "/o/{org}/p/{project}/workspaces/{workspace}/runs/{run}/approve",
            post(runs::approve),
        )
        .route(
            "/o/{org}/p/{project}/workspaces/{workspace}/runs/{run}/override",
            post(runs::override_policy),
        )
        .route(
            "/o/{org}/p/{project}/workspaces/{workspace}/runs/{run}/discard",
            post(runs::discard),
        );
    let pages = scoped_pages(pages)
        .layer(axum::Extension(ApiGuards::new(specs)))
        .layer(DefaultBodyLimit::max(FORM_BYTES_MAX));
    router.merge(pages)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routes::RouteTable;

    #[test]
    fn ui_names_only_api_routes() {
        let mut table = RouteTable::new();
        crate::handlers::register_all(&mut table, &crate::HttpSettings::default());
        let guards = ApiGuards::new(table.specs());
        for (method, path) in named_api_routes() {
            assert!(guards.of(&method, path).is_some(), "{method} {path}");
        }
    }
}
