//! A run in the UI — what an infrastructure reviewer decides on: the plan's summary,
//! every policy set's result (deny and warn messages, overrides), the monthly cost
//! change, the approvals it has and needs, and its transitions; with the actions the
//! viewer may take at its status: override a failed soft-mandatory set (with a reason),
//! approve (both sensitive: step-up), discard. The apply itself is `rampart tf apply`,
//! which runs exactly the approved plan file where Terraform runs.

use axum::Extension;
use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use maud::{Markup, html};
use rampart_domain::Permission;
use serde::Deserialize;

use crate::AppState;
use crate::extract::ApiForm;
use crate::handlers::iacm::runs::wire_detail;
use crate::web::ApiGuards;
use crate::web::gate::{ApiRoute, Browser, ButtonForm, Viewer, WebError, WebPath, see_other};
use crate::web::page::{badge, csrf_field, project_base, viewer_page};

const SHOW: ApiRoute = (
    Method::GET,
    "/api/v1/orgs/{org}/projects/{project}/workspaces/{workspace}/runs/{run}",
);
const APPROVE: ApiRoute = (
    Method::POST,
    "/api/v1/orgs/{org}/projects/{project}/workspaces/{workspace}/runs/{run}/approvals",
);
const OVERRIDE: ApiRoute = (
    Method::POST,
    "/api/v1/orgs/{org}/projects/{project}/workspaces/{workspace}/runs/{run}/policy-overrides",
);
const DISCARD: ApiRoute = (
    Method::POST,
    "/api/v1/orgs/{org}/projects/{project}/workspaces/{workspace}/runs/{run}/discard",
);

/// The API routes these pages stand for.
pub const API_ROUTES: [ApiRoute; 4] = [SHOW, APPROVE, OVERRIDE, DISCARD];

/// Statuses a run can still be discarded from (before its apply starts).
const DISCARDABLE: [&str; 4] = ["planning", "policy_override", "needs_approval", "approved"];

fn run_path(viewer: &Viewer, path: &WebPath) -> String {
    format!(
        "{}/workspaces/{}/runs/{}",
        project_base(viewer),
        path.param("workspace"),
        path.param("run")
    )
}

/// `GET /o/{org}/p/{project}/workspaces/{workspace}/runs/{run}`
pub async fn show(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
) -> Result<Response, WebError> {
    let viewer = browser.admit(&state, &guards, &SHOW, &path, None).await?;
    let workspace = path.param("workspace");
    let view = state
        .app
        .get_run(
            &viewer.ctx,
            viewer.scope.scope(),
            workspace,
            path.param("run"),
        )
        .await?;
    let detail = wire_detail(&view);
    let here = run_path(&viewer, &path);
    let status = detail.run.status.as_str();
    let may_approve = status == "needs_approval"
        && viewer.may(&APPROVE)
        && viewer.may_on_resource(Permission::WorkspaceApprove, workspace);
    let may_override = status == "policy_override"
        && viewer.may(&OVERRIDE)
        && viewer.may_on_resource(Permission::PolicySetOverride, workspace);
    let may_discard = DISCARDABLE.contains(&status)
        && viewer.may(&DISCARD)
        && viewer.may_on_resource(Permission::WorkspaceApply, workspace);
    let main = html! {
        p { a href=(format!("{}/workspaces/{workspace}", project_base(&viewer))) { "← The workspace" } }
        h1 { @if detail.run.is_destroy { "Destroy run " } @else { "Run " } code { (detail.run.id) } }
        p {
            (badge(status)) " · started by " (detail.run.created_by) " · " (detail.run.created_at)
            @if let Some(version) = detail.run.applied_state_version { " · wrote state version " (version) }
        }
        @if let Some(plan) = &detail.plan {
            section.card aria-labelledby="h-plan" {
                h2 #h-plan { "Plan" }
                p.plan-counts {
                    strong { (plan.counts.add) " to add" } ", "
                    strong { (plan.counts.change) " to change" } ", "
                    strong { (plan.counts.replace) " to replace" } ", "
                    strong { (plan.counts.destroy) " to destroy" }
                    @if plan.counts.forget > 0 { ", " (plan.counts.forget) " to forget" }
                }
                p.muted {
                    "Terraform " (plan.terraform_version) " · plan file "
                    @if plan.has_file { "uploaded" } @else { "not uploaded" }
                }
            }
        } @else {
            p.muted { "No plan attached yet." }
        }
        @if let Some(policy) = &detail.policy {
            section.card aria-labelledby="h-policy" {
                h2 #h-policy { "Policy checks: " (badge(&policy.policy_status)) }
                @if policy.results.is_empty() { p.muted { "No policy set applies to this workspace." } }
                @for result in &policy.results {
                    h3 { (result.policy_set) " " span.muted { "(" (result.enforcement) ", version " (result.policy_set_version) ")" } }
                    p {
                        (badge(&result.outcome))
                        @if result.blocking != "no" { " · holds the run: " (result.blocking) }
                        @if let Some(error) = &result.error { " · " span.error { (error) } }
                        @if let Some(done) = &result.r#override { " · overridden by " (done.by) ": " (done.reason) }
                    }
                    ul {
                        @for module in &result.modules {
                            @for message in &module.deny { li { span.error { "deny" } " " (module.name) ": " (message) } }
                            @for message in &module.warn { li { span.muted { "warn" } " " (module.name) ": " (message) } }
                        }
                    }
                    @if may_override && result.blocking == "until_overridden" && result.r#override.is_none() {
                        form method="post" action=(format!("{here}/override")) {
                            (csrf_field(&viewer))
                            input type="hidden" name="policy_set" value=(result.policy_set_id);
                            label for=(format!("reason-{}", result.policy_set_id)) { "Why override " (result.policy_set) "?" }
                            input id=(format!("reason-{}", result.policy_set_id)) type="text" name="reason" required maxlength="1000";
                            div { button type="submit" { "Override" } }
                        }
                    }
                }
            }
        }
        @if let Some(cost) = &detail.cost {
            section.card aria-labelledby="h-cost" {
                h2 #h-cost { "Cost" }
                p {
                    (cost.prior_monthly) " → " (cost.proposed_monthly) " " (cost.currency) " a month ("
                    strong { (signed(&cost.delta_monthly)) " " (cost.currency) } ")"
                    @if cost.unpriced > 0 { span.muted { " · " (cost.unpriced) " resources without a price" } }
                }
            }
        }
        section.card aria-labelledby="h-approvals" {
            h2 #h-approvals { "Approvals: " (detail.valid_approvals) " of " (detail.approvals_required) }
            @if !detail.approvals.is_empty() {
                ul {
                    @for approval in &detail.approvals {
                        li {
                            (approval.approver) " · " (approval.approved_at)
                            @if approval.valid { " · valid until " (approval.expires_at) } @else { " · " span.error { "no longer counts" } }
                        }
                    }
                }
            }
            div.actions {
                @if may_approve {
                    form method="post" action=(format!("{here}/approve")) {
                        (csrf_field(&viewer))
                        button type="submit" { "Approve this plan" }
                    }
                }
                @if may_discard {
                    form method="post" action=(format!("{here}/discard")) {
                        (csrf_field(&viewer))
                        button.secondary type="submit" { "Discard the run" }
                    }
                }
            }
            @if status == "approved" {
                p { "Approved: apply it where Terraform runs with " code { "rampart tf apply --workspace " (workspace) " --run " (detail.run.id) } "." }
            }
        }
        h2 { "What happened" }
        (transitions(&detail.transitions))
    };
    Ok(viewer_page(&viewer, "Run", StatusCode::OK, main))
}

/// A cost change with its sign.
fn signed(delta: &str) -> String {
    if delta.starts_with('-') {
        delta.to_owned()
    } else {
        format!("+{delta}")
    }
}

fn transitions(items: &[rampart_api::iacm::RunTransition]) -> Markup {
    html! {
        ol.timeline {
            @for transition in items.iter().rev() {
                li {
                    span.what { (transition.event) } " · " (transition.at) " · " span.muted { (transition.actor) }
                    br;
                    (transition.from_status) " → " (transition.to_status)
                    @if let Some(detail) = &transition.detail { br; span.muted { (detail) } }
                }
            }
        }
    }
}

/// `POST …/runs/{run}/approve` (sensitive: step-up).
pub async fn approve(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
    form: Result<ApiForm<ButtonForm>, crate::error::ApiError>,
) -> Result<Response, WebError> {
    act(state, guards, browser, path, form, &APPROVE).await
}

/// `POST …/runs/{run}/discard`
pub async fn discard(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
    form: Result<ApiForm<ButtonForm>, crate::error::ApiError>,
) -> Result<Response, WebError> {
    act(state, guards, browser, path, form, &DISCARD).await
}

/// Approves or discards, as `route` says, and shows the run again.
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
    let (scope, workspace, run) = (
        viewer.scope.scope(),
        path.param("workspace"),
        path.param("run"),
    );
    if route.1 == APPROVE.1 {
        state
            .app
            .approve_run(&viewer.ctx, scope, workspace, run)
            .await?;
    } else {
        state
            .app
            .discard_run(&viewer.ctx, scope, workspace, run)
            .await?;
    }
    Ok(see_other(&run_path(&viewer, &path)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverrideForm {
    csrf: String,
    policy_set: String,
    reason: String,
}

/// `POST …/runs/{run}/override` (sensitive: step-up).
pub async fn override_policy(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
    form: Result<ApiForm<OverrideForm>, crate::error::ApiError>,
) -> Result<Response, WebError> {
    let (viewer, form) = browser
        .admit_form(&state, &guards, &OVERRIDE, &path, form)
        .await?;
    state
        .app
        .override_run_policy(
            &viewer.ctx,
            viewer.scope.scope(),
            path.param("workspace"),
            path.param("run"),
            &form.policy_set,
            &form.reason,
        )
        .await?;
    Ok(see_other(&run_path(&viewer, &path)))
}

crate::signed_forms!(OverrideForm);
