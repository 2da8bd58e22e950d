//! A project's Terraform workspaces in the UI: the list (lock and drift status), a
//! workspace's page — its lock, the current state's resources and outputs (sensitive
//! ones masked), its state history with a diff between any version and the one before —
//! and rolling back to an old version's content, which shows what would change and asks
//! the person to type the workspace's identifier and a reason before anything is written.
//! Workspaces are authorised per workspace (resource groups), as in the API.

use axum::Extension;
use axum::extract::{RawQuery, State};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use maud::{Markup, html};
use rampart_app::AppError;
use rampart_domain::ErrorCode;
use rampart_domain::Permission;
use rampart_domain::iacm::state_versions::StateDiff;
use serde::Deserialize;

use crate::AppState;
use crate::extract::ApiForm;
use crate::web::ApiGuards;
use crate::web::gate::{ApiRoute, Browser, Viewer, WebError, WebPath, query_pairs, see_other};
use crate::web::page::{badge, csrf_field, project_base, viewer_page, when};

pub const LIST: ApiRoute = (
    Method::GET,
    "/api/v1/orgs/{org}/projects/{project}/workspaces",
);
const SHOW: ApiRoute = (
    Method::GET,
    "/api/v1/orgs/{org}/projects/{project}/workspaces/{workspace}",
);
const DIFF: ApiRoute = (
    Method::GET,
    "/api/v1/orgs/{org}/projects/{project}/workspaces/{workspace}/state-diff",
);
const ROLLBACK: ApiRoute = (
    Method::POST,
    "/api/v1/orgs/{org}/projects/{project}/workspaces/{workspace}/state-rollback",
);

/// The API routes these pages stand for.
pub const API_ROUTES: [ApiRoute; 4] = [LIST, SHOW, DIFF, ROLLBACK];

const VERSIONS_SHOWN: u32 = 50;
const RUNS_SHOWN: u32 = 20;

fn base(viewer: &Viewer) -> String {
    format!("{}/workspaces", project_base(viewer))
}

/// `GET /o/{org}/p/{project}/workspaces`
pub async fn list(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
) -> Result<Response, WebError> {
    let viewer = browser.admit(&state, &guards, &LIST, &path, None).await?;
    let workspaces = state
        .app
        .list_workspaces(&viewer.ctx, viewer.scope.scope(), Some(500), None)
        .await?;
    let overviews = state.app.workspaces_overview(&workspaces.items).await?;
    let base = base(&viewer);
    let main = html! {
        h1 { "Workspaces" }
        @if workspaces.items.is_empty() {
            p.muted { "No workspaces you may view. Terraform creates one at its first state write; see the README." }
        } @else {
            table.responsive {
                thead { tr {
                    th scope="col" { "Workspace" } th scope="col" { "Name" } th scope="col" { "Lock" }
                    th scope="col" { "Drift" } th scope="col" { "Provisioner" }
                } }
                tbody {
                    @for (workspace, (locked, drift, _)) in workspaces.items.iter().zip(&overviews) {
                        tr {
                            td data-label="Workspace" {
                                a href=(format!("{base}/{}", workspace.identifier)) { (workspace.identifier.as_str()) }
                            }
                            td data-label="Name" { (workspace.name.as_str()) }
                            td data-label="Lock" { @if *locked { (badge("locked")) } @else { "—" } }
                            td data-label="Drift" { (badge(drift.as_str())) }
                            td data-label="Provisioner" { (workspace.provisioner.as_str()) " " (workspace.provisioner_version) }
                        }
                    }
                }
            }
        }
    };
    Ok(viewer_page(&viewer, "Workspaces", StatusCode::OK, main))
}

/// A diff between two versions, as lists of addresses.
fn diff_markup(diff: &StateDiff) -> Markup {
    let groups: [(&str, &Vec<String>); 6] = [
        ("Resources added", &diff.added),
        ("Resources removed", &diff.removed),
        ("Resources changed", &diff.changed),
        ("Outputs added", &diff.outputs_added),
        ("Outputs removed", &diff.outputs_removed),
        ("Outputs changed", &diff.outputs_changed),
    ];
    html! {
        @if groups.iter().all(|(_, items)| items.is_empty()) {
            p.muted { "No resource or output differs." }
        } @else {
            dl.fields.diff {
                @for (label, items) in groups {
                    @if !items.is_empty() {
                        dt { (label) " (" (items.len()) ")" }
                        dd { ul { @for item in items.iter() { li { code { (item) } } } } }
                    }
                }
            }
        }
    }
}

/// A version number from a query; one that does not parse names no version.
fn version_param(text: Option<&String>) -> Result<Option<u64>, WebError> {
    match text.map(String::as_str).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(text) => rampart_domain::parse_number(text).map(Some).ok_or_else(|| {
            AppError::NotFound {
                what: "state version",
            }
            .into()
        }),
    }
}

/// `GET /o/{org}/p/{project}/workspaces/{workspace}?diff=<version>`: the workspace; with
/// `diff`, what that version changed from the one before.
pub async fn show(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
    RawQuery(raw): RawQuery,
) -> Result<Response, WebError> {
    let viewer = browser.admit(&state, &guards, &SHOW, &path, None).await?;
    let workspace = state
        .app
        .workspace_for(
            &viewer.ctx,
            viewer.scope.scope(),
            path.param("workspace"),
            Permission::WorkspaceView,
        )
        .await?;
    let query = query_pairs(raw.as_deref());
    let diff_of = version_param(query.get("diff"))?;
    let lock = state.app.workspace_lock_view(&workspace).await?;
    let history = state
        .app
        .state_history(&workspace, Some(VERSIONS_SHOWN), None)
        .await?;
    let may_read_state = viewer.may_on_resource(
        Permission::WorkspaceAccessState,
        workspace.identifier.as_str(),
    );
    let current = if may_read_state {
        state.app.state_resources(&viewer.ctx, &workspace).await?
    } else {
        None
    };
    let diff = match diff_of {
        Some(version) if version > 1 && may_read_state => Some((
            version,
            state
                .app
                .diff_state_versions(&viewer.ctx, &workspace, version - 1, version)
                .await?,
        )),
        _ => None,
    };
    let (_, runs) = state
        .app
        .list_runs(
            &viewer.ctx,
            viewer.scope.scope(),
            workspace.identifier.as_str(),
            Some(RUNS_SHOWN),
            None,
        )
        .await?;
    let may_roll_back = viewer.may_on_resource(
        Permission::WorkspaceRollbackState,
        workspace.identifier.as_str(),
    ) && viewer.may(&ROLLBACK);
    let here = format!("{}/{}", base(&viewer), workspace.identifier);
    let latest = history.items.first().map(|row| row.version);
    let main = html! {
        p { a href=(base(&viewer)) { "← All workspaces" } }
        h1 { (workspace.name.as_str()) " " span.muted { "(" (workspace.identifier.as_str()) ")" } }
        @if !workspace.description.as_str().is_empty() { p { (workspace.description.as_str()) } }
        p {
            (workspace.provisioner.as_str()) " " (workspace.provisioner_version)
            @if let Some(lock) = &lock {
                " · " (badge("locked")) " by " (lock.locked_by) " for " (lock.operation) " since " (when(lock.locked_at))
            } @else { " · unlocked" }
        }
        @if let Some((version, diff)) = &diff {
            section.card aria-labelledby="h-diff" {
                h2 #h-diff { "Version " (version) " against " (version - 1) }
                (diff_markup(diff))
            }
        }
        @if let Some((row, view)) = &current {
            h2 { "Current state: version " (row.version) }
            p.muted { "serial " (view.serial) " · lineage " code { (view.lineage) } " · Terraform " (view.terraform_version) }
            @if view.resources.is_empty() {
                p.muted { "No resources." }
            } @else {
                table.responsive {
                    thead { tr {
                        th scope="col" { "Resource" } th scope="col" { "Type" }
                        th scope="col" { "Provider" } th scope="col" { "Instances" }
                    } }
                    tbody {
                        @for resource in &view.resources {
                            tr {
                                td data-label="Resource" { code { (resource.address) } }
                                td data-label="Type" { (resource.resource_type) @if resource.mode == "data" { " (data)" } }
                                td data-label="Provider" { (resource.provider) }
                                td data-label="Instances" { (resource.instances) }
                            }
                        }
                    }
                }
            }
            @if !view.outputs.is_empty() {
                h2 { "Outputs" }
                dl.fields {
                    @for output in &view.outputs {
                        dt { (output.name) }
                        dd {
                            @match &output.value {
                                Some(value) if !output.sensitive => code { (value.to_string()) },
                                _ => span.muted { "(sensitive)" },
                            }
                        }
                    }
                }
            }
        } @else if !may_read_state {
            p.muted { "You may see this workspace's history but not its state." }
        }
        h2 { "Runs" }
        @if runs.items.is_empty() {
            p.muted { "No runs yet: " code { "rampart tf plan" } " starts one." }
        } @else {
            table.responsive {
                thead { tr {
                    th scope="col" { "Run" } th scope="col" { "Status" } th scope="col" { "By" } th scope="col" { "Started" }
                } }
                tbody {
                    @for run in &runs.items {
                        tr {
                            td data-label="Run" {
                                a href=(format!("{here}/runs/{}", run.id)) {
                                    @if run.is_destroy { "destroy " } (run.id.to_string().get(..13).unwrap_or_default()) "…"
                                }
                            }
                            td data-label="Status" { (badge(run.status.as_str())) }
                            td data-label="By" { (run.created_by) }
                            td data-label="Started" { (when(run.created_at)) }
                        }
                    }
                }
            }
        }
        h2 { "State history" }
        @if history.items.is_empty() {
            p.muted { "No state written yet." }
        } @else {
            table.responsive {
                thead { tr {
                    th scope="col" { "Version" } th scope="col" { "Written" } th scope="col" { "By" }
                    th scope="col" { "Serial" } th scope="col" { "Resources" } th scope="col" { "Size" }
                    th scope="col" { "Why" } th scope="col" { span.visually-hidden { "Actions" } }
                } }
                tbody {
                    @for row in &history.items {
                        tr {
                            td data-label="Version" { (row.version) @if Some(row.version) == latest { " (current)" } }
                            td data-label="Written" { (when(row.created_at)) }
                            td data-label="By" { (row.created_by) }
                            td data-label="Serial" { (row.serial) }
                            td data-label="Resources" { (row.resource_count) }
                            td data-label="Size" { (row.size_bytes) " B" }
                            td data-label="Why" { (row.reason.as_deref().unwrap_or("")) }
                            td data-label="" {
                                @if row.version > 1 && may_read_state {
                                    a href=(format!("{here}?diff={}", row.version)) { "Changes" }
                                }
                                @if may_roll_back && Some(row.version) != latest {
                                    " " a href=(format!("{here}/rollback?version={}", row.version)) { "Roll back to this" }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(viewer_page(
        &viewer,
        workspace.name.as_str(),
        StatusCode::OK,
        main,
    ))
}

/// `GET …/workspaces/{workspace}/rollback?version=N`: what rolling back would change,
/// and the confirmation form.
pub async fn rollback_page(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
    RawQuery(raw): RawQuery,
) -> Result<Response, WebError> {
    let viewer = browser
        .admit(&state, &guards, &ROLLBACK, &path, None)
        .await?;
    let workspace = state
        .app
        .workspace_for(
            &viewer.ctx,
            viewer.scope.scope(),
            path.param("workspace"),
            Permission::WorkspaceRollbackState,
        )
        .await?;
    let version =
        version_param(query_pairs(raw.as_deref()).get("version"))?.ok_or(AppError::NotFound {
            what: "state version",
        })?;
    let current = state
        .app
        .state_history(&workspace, Some(1), None)
        .await?
        .items
        .first()
        .map(|row| row.version)
        .ok_or(AppError::NotFound {
            what: "state version",
        })?;
    let diff = state
        .app
        .diff_state_versions(&viewer.ctx, &workspace, current, version)
        .await?;
    let here = format!("{}/{}", base(&viewer), workspace.identifier);
    let main = html! {
        p { a href=(here) { "← Back to the workspace" } }
        h1 { "Roll back " (workspace.identifier.as_str()) " to version " (version) }
        p {
            "The content of version " (version) " becomes a new version after " (current)
            ". Terraform's next plan compares the infrastructure with it; nothing in the infrastructure changes until someone applies."
        }
        section.card aria-labelledby="h-change" {
            h2 #h-change { "What changes in the state (from version " (current) ")" }
            (diff_markup(&diff))
        }
        form.card method="post" action=(format!("{here}/rollback")) {
            (csrf_field(&viewer))
            input type="hidden" name="version" value=(version);
            label for="rollback-reason" { "Reason (kept with the new version and in the audit log)" }
            input #rollback-reason type="text" name="reason" required maxlength="500";
            label for="rollback-confirm" { "Type the workspace's identifier, " code { (workspace.identifier.as_str()) } ", to confirm" }
            input #rollback-confirm type="text" name="confirm" required autocomplete="off";
            div { button type="submit" { "Roll back" } }
        }
    };
    Ok(viewer_page(&viewer, "Roll back", StatusCode::OK, main))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RollbackForm {
    csrf: String,
    version: String,
    reason: String,
    confirm: String,
}

/// `POST …/workspaces/{workspace}/rollback`: only with the identifier typed.
pub async fn rollback(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
    form: Result<ApiForm<RollbackForm>, crate::error::ApiError>,
) -> Result<Response, WebError> {
    let (viewer, form) = browser
        .admit_form(&state, &guards, &ROLLBACK, &path, form)
        .await?;
    let workspace = state
        .app
        .workspace_for(
            &viewer.ctx,
            viewer.scope.scope(),
            path.param("workspace"),
            Permission::WorkspaceView,
        )
        .await?;
    if form.confirm.trim() != workspace.identifier.as_str() {
        return Err(AppError::bad_request(
            ErrorCode::InvalidBody,
            "type the workspace's identifier to confirm the rollback",
        )
        .into());
    }
    let version = version_param(Some(&form.version))?.ok_or(AppError::NotFound {
        what: "state version",
    })?;
    let written = state
        .app
        .rollback_state(&viewer.ctx, &workspace, version, &form.reason)
        .await?;
    Ok(see_other(&format!(
        "{}/{}?diff={written}",
        base(&viewer),
        workspace.identifier
    )))
}

crate::signed_forms!(RollbackForm);
