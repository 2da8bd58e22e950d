//! A project's runbooks in the UI: the list with the project's latest executions; a
//! runbook's page with what it does (inputs, secrets by name, each step, triggers), its
//! versions (any one readable), its executions, the **Run** form (a field per input,
//! typed as the input is; on an incident or not), editing its definition (the API's
//! JSON document; an edit made on a version someone changed since is refused, not
//! merged) and deleting it. An execution's own page is `runbook_executions.rs`.

use std::collections::BTreeMap;

use axum::Extension;
use axum::extract::{RawQuery, State};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use maud::{Markup, html};
use rampart_app::AppError;
use rampart_app::sre::runbook_executions::ExecutionInput;
use rampart_app::sre::runbooks::{RunbookInput, RunbookUpdate, RunbookView};
use rampart_domain::ErrorCode;
use rampart_domain::sre::runbook_executions::RunbookExecution;
use rampart_domain::sre::runbooks::{InputDoc, StepDoc};
use serde::Deserialize;
use serde_json::Value;

use crate::AppState;
use crate::extract::ApiForm;
use crate::web::ApiGuards;
use crate::web::gate::{
    ApiRoute, Browser, ButtonForm, Viewer, WebError, WebPath, form_json, invalid, query_pairs,
    see_other,
};
use crate::web::page::{self, badge, csrf_field, project_base, viewer_page, when};
use crate::web::platform::identity::People;

pub const LIST: ApiRoute = (
    Method::GET,
    "/api/v1/orgs/{org}/projects/{project}/runbooks",
);
const CREATE: ApiRoute = (
    Method::POST,
    "/api/v1/orgs/{org}/projects/{project}/runbooks",
);
const SHOW: ApiRoute = (
    Method::GET,
    "/api/v1/orgs/{org}/projects/{project}/runbooks/{runbook}",
);
const UPDATE: ApiRoute = (
    Method::PUT,
    "/api/v1/orgs/{org}/projects/{project}/runbooks/{runbook}",
);
const DELETE: ApiRoute = (
    Method::DELETE,
    "/api/v1/orgs/{org}/projects/{project}/runbooks/{runbook}",
);
const VERSIONS: ApiRoute = (
    Method::GET,
    "/api/v1/orgs/{org}/projects/{project}/runbooks/{runbook}/versions",
);
const START: ApiRoute = (
    Method::POST,
    "/api/v1/orgs/{org}/projects/{project}/runbooks/{runbook}/executions",
);
const EXECUTIONS: ApiRoute = (
    Method::GET,
    "/api/v1/orgs/{org}/projects/{project}/runbooks/{runbook}/executions",
);
const PROJECT_EXECUTIONS: ApiRoute = (
    Method::GET,
    "/api/v1/orgs/{org}/projects/{project}/runbook-executions",
);

/// The API routes these pages stand for.
pub const API_ROUTES: [ApiRoute; 9] = [
    LIST,
    CREATE,
    SHOW,
    UPDATE,
    DELETE,
    VERSIONS,
    START,
    EXECUTIONS,
    PROJECT_EXECUTIONS,
];

/// How many executions a page lists (the API pages through all of them).
const EXECUTIONS_SHOWN: u32 = 20;

fn base(path_base: &str) -> String {
    format!("{path_base}/runbooks")
}

/// The prefix of a Run form's input fields: `input.<NAME>`.
const INPUT_PREFIX: &str = "input.";

/// Executions as a table: when, runbook (and version), status, who started them.
fn executions_table(project: &str, executions: &[RunbookExecution], people: &People) -> Markup {
    html! {
        @if executions.is_empty() {
            p.muted { "No executions yet." }
        } @else {
            table.responsive {
                thead { tr {
                    th scope="col" { "Started" } th scope="col" { "Runbook" }
                    th scope="col" { "Status" } th scope="col" { "By" }
                } }
                tbody {
                    @for execution in executions {
                        tr {
                            td data-label="Started" {
                                a href=(format!("{project}/runbook-executions/{}", execution.id)) { (when(execution.created_at)) }
                            }
                            td data-label="Runbook" { (execution.runbook_identifier) " v" (execution.runbook_version) }
                            td data-label="Status" {
                                (badge(execution.status.as_str()))
                                @if let Some(code) = &execution.error_code { " " code { (code) } }
                            }
                            td data-label="By" { (people.actor(&execution.started_by)) }
                        }
                    }
                }
            }
        }
    }
}

/// The people who started the executions.
async fn starters(
    state: &AppState,
    viewer: &Viewer,
    executions: &[RunbookExecution],
) -> Result<People, WebError> {
    let ids: Vec<&str> = executions
        .iter()
        .filter_map(|execution| execution.started_by.strip_prefix("user:"))
        .collect();
    People::read(state, viewer, &ids).await
}

/// `GET /o/{org}/p/{project}/runbooks`
pub async fn list(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
) -> Result<Response, WebError> {
    let viewer = browser.admit(&state, &guards, &LIST, &path, None).await?;
    let scope = viewer.scope.scope();
    let runbooks = state.app.list_runbooks(scope, Some(500), None).await?;
    let executions = if viewer.may(&PROJECT_EXECUTIONS) {
        state
            .app
            .runbook_executions(scope, None, Some(EXECUTIONS_SHOWN), None)
            .await?
            .items
    } else {
        Vec::new()
    };
    let people = starters(&state, &viewer, &executions).await?;
    let project = project_base(&viewer);
    let base = base(&project);
    let main = html! {
        h1 { "Runbooks" }
        @if runbooks.items.is_empty() {
            p.muted { "No runbooks in this project." }
        } @else {
            table.responsive {
                thead { tr {
                    th scope="col" { "Runbook" } th scope="col" { "Identifier" }
                    th scope="col" { "Version" } th scope="col" { "Changed" }
                } }
                tbody {
                    @for runbook in &runbooks.items {
                        tr {
                            td data-label="Runbook" { a href=(format!("{base}/{}", runbook.identifier)) { (runbook.name.as_str()) } }
                            td data-label="Identifier" { code { (runbook.identifier.as_str()) } }
                            td data-label="Version" { (runbook.current_version) }
                            td data-label="Changed" { (when(runbook.updated_at)) }
                        }
                    }
                }
            }
        }
        @if viewer.may(&crate::web::platform::delegates::LIST) {
            p.muted {
                "Script, HTTP, Prometheus and notification steps run on the project's "
                a href=(format!("{project}/delegates")) { "delegates" } "."
            }
        }
        @if viewer.may(&PROJECT_EXECUTIONS) {
            h2 { "Latest executions" }
            (executions_table(&project, &executions, &people))
        }
        @if viewer.may(&CREATE) {
            details.edit {
                summary { "New runbook" }
                form.card method="post" action=(base) {
                    (csrf_field(&viewer))
                    label for="r-identifier" { "Identifier" }
                    input #r-identifier type="text" name="identifier" required pattern="[a-z0-9][a-z0-9\\-]{0,62}" placeholder="restart-web";
                    label for="r-name" { "Name" }
                    input #r-name type="text" name="name" required maxlength="100";
                    (definition_field(&new_definition()))
                    div { button type="submit" { "Create runbook" } }
                }
            }
        }
    };
    Ok(viewer_page(&viewer, "Runbooks", StatusCode::OK, main))
}

/// The definition a new runbook's form starts from: one input and a note on the
/// incident it runs on.
fn new_definition() -> String {
    serde_json::to_string_pretty(&serde_json::json!({
        "description": "",
        "inputs": [{"name": "REASON", "description": "Why it runs"}],
        "steps": [{"kind": "add_note", "name": "note", "text": "Runbook ran: {{inputs.REASON}}"}]
    }))
    .unwrap_or_default()
}

fn definition_field(json: &str) -> Markup {
    page::definition_field(
        html! {
            ", as " code { "rampart runbook create --definition" } " takes it: description, "
            "sensitive, delegate_selector, inputs, secrets, steps, triggers, run_as"
        },
        json,
    )
}

/// What a step does, in a line (a script's source folded below it).
fn step_text(step: &StepDoc) -> Markup {
    match step {
        StepDoc::Script {
            script,
            secrets,
            tcp_connect_ports,
            ..
        } => html! {
            "runs a script on a delegate"
            @if !secrets.is_empty() { " with the secrets " (secrets.join(", ")) }
            @match tcp_connect_ports {
                Some(ports) if !ports.is_empty() => {
                    ", may connect to TCP ports "
                    (ports.iter().map(u16::to_string).collect::<Vec<_>>().join(", "))
                }
                _ => { ", no network" }
            }
            details { summary { "The script" } pre.sample { (script) } }
        },
        StepDoc::HttpRequest { method, url, .. } => html! {
            "sends " code { (method) " " (url) } " from a delegate"
        },
        StepDoc::PrometheusQuery { url, query, .. } => html! {
            "queries " code { (query) } " on the Prometheus at " code { (url) } " from a delegate"
        },
        StepDoc::AddNote { text, .. } => html! { "adds a note to the incident: " q { (text) } },
        StepDoc::SetStatus { status, .. } => html! { "sets the incident's status to " (status) },
        StepDoc::Page { users, .. } => html! { "pages " (users.join(", ")) " about the incident" },
        StepDoc::Notification { channel, to, .. } => html! {
            "sends a " (channel) " message to " code { (to) }
        },
    }
}

fn step_name(step: &StepDoc) -> &str {
    match step {
        StepDoc::Script { name, .. }
        | StepDoc::HttpRequest { name, .. }
        | StepDoc::PrometheusQuery { name, .. }
        | StepDoc::AddNote { name, .. }
        | StepDoc::SetStatus { name, .. }
        | StepDoc::Page { name, .. }
        | StepDoc::Notification { name, .. } => name,
    }
}

/// `GET /o/{org}/p/{project}/runbooks/{runbook}?version=`
pub async fn show(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
    RawQuery(raw): RawQuery,
) -> Result<Response, WebError> {
    let viewer = browser.admit(&state, &guards, &SHOW, &path, None).await?;
    let scope = viewer.scope.scope();
    let identifier = path.param("runbook");
    let version = match query_pairs(raw.as_deref()).get("version") {
        Some(text) => Some(
            text.parse::<u32>()
                .map_err(|_| invalid("version", "a version is a whole number"))?,
        ),
        None => None,
    };
    let view = state.app.runbook(scope, identifier, version).await?;
    let versions = if viewer.may(&VERSIONS) {
        state.app.runbook_versions(scope, identifier).await?.1
    } else {
        Vec::new()
    };
    let executions = if viewer.may(&EXECUTIONS) {
        state
            .app
            .runbook_executions(scope, Some(identifier), Some(EXECUTIONS_SHOWN), None)
            .await?
            .items
    } else {
        Vec::new()
    };
    let mut ids: Vec<&str> = versions
        .iter()
        .filter_map(|version| version.created_by.strip_prefix("user:"))
        .collect();
    ids.extend(
        executions
            .iter()
            .filter_map(|execution| execution.started_by.strip_prefix("user:")),
    );
    let people = People::read(&state, &viewer, &ids).await?;
    let project = project_base(&viewer);
    let here = format!("{}/{identifier}", base(&project));
    let current = view.version.version == view.runbook.current_version;
    let document = &view.document;
    let main = html! {
        p { a href=(base(&project)) { "← All runbooks" } }
        h1 { (view.runbook.name.as_str()) }
        @if !current {
            p.error role="status" {
                "This is version " (view.version.version) ", not the current one ("
                a href=(here) { "version " (view.runbook.current_version) } ")."
            }
        }
        @if !document.description.is_empty() { p { (document.description.as_str()) } }
        dl.fields {
            dt { "Version" } dd { (view.version.version) ", written " (when(view.version.created_at)) " by " (people.actor(&view.version.created_by)) }
            dt { "Approval" } dd {
                @if document.sensitive { "each execution waits for a second person's approval" }
                @else { "runs when started" }
            }
            @if !document.delegate_selector.is_empty() {
                dt { "Delegates" } dd { "those tagged " (document.delegate_selector.join(", ")) }
            }
            @if !document.secrets.is_empty() {
                dt { "Secrets" } dd {
                    (document.secrets.iter().map(|secret| format!("{} (project secret {})", secret.name, secret.secret)).collect::<Vec<_>>().join(", "))
                }
            }
            @if !document.triggers.is_empty() {
                dt { "Starts by itself" } dd {
                    @for trigger in &document.triggers {
                        "on " (trigger.on.join(", "))
                        @if !trigger.services.is_empty() { " of " (trigger.services.join(", ")) }
                        @if !trigger.severities.is_empty() { " at " (trigger.severities.join(", ")) }
                        br;
                    }
                }
            }
        }
        h2 { "Steps" }
        ol.timeline aria-label="Steps" {
            @for step in &document.steps {
                li { span.what { (step_name(step)) } " — " (step_text(step)) }
            }
        }
        @if current && viewer.may(&START) {
            (run_form(&viewer, &here, view.version.version, &document.inputs))
        }
        @if viewer.may(&EXECUTIONS) {
            h2 { "Executions" }
            (executions_table(&project, &executions, &people))
        }
        @if !versions.is_empty() {
            h2 { "Versions" }
            ul {
                @for version in &versions {
                    li {
                        a href=(format!("{here}?version={}", version.version)) { "Version " (version.version) }
                        " · " (when(version.created_at)) " · " (people.actor(&version.created_by))
                    }
                }
            }
        }
        @if current && viewer.may(&UPDATE) {
            details.edit {
                summary { "Edit the definition" }
                form.card method="post" action=(format!("{here}/edit")) {
                    (csrf_field(&viewer))
                    input type="hidden" name="version" value=(view.version.version);
                    label for="r-name" { "Name" }
                    input #r-name type="text" name="name" required maxlength="100" value=(view.runbook.name.as_str());
                    (definition_field(&serde_json::to_string_pretty(document).unwrap_or_default()))
                    div { button type="submit" { "Save as a new version" } }
                }
            }
        }
        @if current && viewer.may(&DELETE) {
            details.edit {
                summary { "Delete this runbook" }
                form.card method="post" action=(format!("{here}/delete")) {
                    (csrf_field(&viewer))
                    p { "Deleting the runbook deletes all its versions; its executions stay on record." }
                    div { button type="submit" { "Delete " (view.runbook.name.as_str()) } }
                }
            }
        }
    };
    Ok(viewer_page(
        &viewer,
        view.runbook.name.as_str(),
        StatusCode::OK,
        main,
    ))
}

/// The Run form: a field per input as the input is typed (a choice of its allowed
/// values, yes or no, a number, text), its default filled in; an incident by number.
fn run_form(viewer: &Viewer, here: &str, version: u32, inputs: &[InputDoc]) -> Markup {
    let default_text = |input: &InputDoc| match &input.default {
        Some(Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    };
    html! {
        h2 #h-run { "Run" }
        form.card method="post" action=(format!("{here}/run")) aria-labelledby="h-run" {
            (csrf_field(viewer))
            // The version read: a newer one is refused rather than run unseen.
            input type="hidden" name="version" value=(version);
            @for (index, input) in inputs.iter().enumerate() {
                @let id = format!("i{index}");
                @let name = format!("{INPUT_PREFIX}{}", input.name);
                @let default = default_text(input);
                label for=(id) {
                    code { (input.name) }
                    @if !input.description.is_empty() { " — " (input.description) }
                    @if input.default.is_none() { " (required)" }
                }
                @if !input.allowed.is_empty() {
                    select id=(id) name=(name) {
                        @if input.default.is_none() { option value="" { "Choose…" } }
                        @for value in &input.allowed {
                            option value=(value) selected[*value == default] {
                                (value)
                                @if input.restricted.contains_key(value) { " (restricted)" }
                            }
                        }
                    }
                } @else if input.kind.as_deref() == Some("boolean") {
                    select id=(id) name=(name) {
                        @if input.default.is_none() { option value="" { "Choose…" } }
                        option value="true" selected[default == "true"] { "yes" }
                        option value="false" selected[default == "false"] { "no" }
                    }
                } @else if input.kind.as_deref() == Some("integer") {
                    input id=(id) type="number" step="1" name=(name) value=(default);
                } @else {
                    input id=(id) type="text" name=(name) value=(default);
                }
            }
            label for="r-incident" { "On incident number (optional)" }
            input #r-incident type="number" min="1" name="incident";
            div { button type="submit" { "Run" } }
        }
    }
}

/// A new runbook: identifier, name and its definition as JSON.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateForm {
    csrf: String,
    identifier: String,
    name: String,
    definition: String,
}

/// A new definition (and name) for the version the form was drawn from.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditForm {
    csrf: String,
    version: String,
    name: String,
    definition: String,
}

/// Starting an execution of the version the form was drawn from: `input.<NAME>`
/// fields and an optional incident number; anything else is refused.
#[derive(Debug, Deserialize)]
pub struct RunForm {
    csrf: String,
    version: String,
    #[serde(default)]
    incident: String,
    #[serde(flatten)]
    inputs: BTreeMap<String, String>,
}

crate::signed_forms!(CreateForm, EditForm, RunForm);

/// `POST /o/{org}/p/{project}/runbooks`
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
    let definition = form_json("definition", &form.definition)?;
    let created = state
        .app
        .create_runbook(
            &viewer.ctx,
            viewer.scope.scope(),
            RunbookInput {
                identifier: form.identifier,
                name: form.name,
                definition,
            },
        )
        .await?;
    Ok(see_other(&format!(
        "{}/{}",
        base(&project_base(&viewer)),
        created.runbook.identifier
    )))
}

/// `POST /o/{org}/p/{project}/runbooks/{runbook}/edit`
pub async fn edit(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
    form: Result<ApiForm<EditForm>, crate::error::ApiError>,
) -> Result<Response, WebError> {
    let (viewer, form) = browser
        .admit_form(&state, &guards, &UPDATE, &path, form)
        .await?;
    let version = form
        .version
        .parse::<u32>()
        .map_err(|_| invalid("version", "the form's version is not a number"))?;
    let definition = form_json("definition", &form.definition)?;
    let identifier = path.param("runbook");
    state
        .app
        .update_runbook(
            &viewer.ctx,
            viewer.scope.scope(),
            identifier,
            RunbookUpdate {
                name: Some(form.name),
                definition,
                expected_version: Some(version),
            },
        )
        .await?;
    Ok(see_other(&format!(
        "{}/{identifier}",
        base(&project_base(&viewer))
    )))
}

/// `POST /o/{org}/p/{project}/runbooks/{runbook}/delete`
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
        .delete_runbook(&viewer.ctx, viewer.scope.scope(), path.param("runbook"))
        .await?;
    Ok(see_other(&base(&project_base(&viewer))))
}

/// The inputs a Run form gives, typed as the runbook declares them; an empty field is
/// not given (the input's default applies, or the API names it as missing).
fn inputs_of(view: &RunbookView, form: &RunForm) -> Result<BTreeMap<String, Value>, WebError> {
    let mut inputs = BTreeMap::new();
    for (field, text) in &form.inputs {
        let Some(name) = field.strip_prefix(INPUT_PREFIX) else {
            return Err(invalid(
                "inputs",
                format!("{field} is not a field of this form"),
            ));
        };
        let Some(input) = view.document.inputs.iter().find(|input| input.name == name) else {
            return Err(invalid(
                "inputs",
                format!("{name} is not an input of this runbook"),
            ));
        };
        if text.is_empty() {
            continue;
        }
        let value = match input.kind.as_deref() {
            Some("integer") => text
                .trim()
                .parse::<i64>()
                .map(Value::from)
                .map_err(|_| invalid("inputs", format!("{name} is a whole number")))?,
            Some("boolean") => match text.as_str() {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => return Err(invalid("inputs", format!("{name} is yes or no"))),
            },
            _ => Value::String(text.clone()),
        };
        inputs.insert(name.to_owned(), value);
    }
    Ok(inputs)
}

/// `POST /o/{org}/p/{project}/runbooks/{runbook}/run`: starts an execution of the
/// current version and shows it.
pub async fn run(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
    form: Result<ApiForm<RunForm>, crate::error::ApiError>,
) -> Result<Response, WebError> {
    let (viewer, form) = browser
        .admit_form(&state, &guards, &START, &path, form)
        .await?;
    let scope = viewer.scope.scope();
    let identifier = path.param("runbook");
    let view = state.app.runbook(scope, identifier, None).await?;
    if form.version != view.runbook.current_version.to_string() {
        // Someone saved a new version since the page was drawn: its steps were not seen.
        return Err(AppError::conflict(
            ErrorCode::RunbookVersionStale,
            format!(
                "runbook {identifier} is at version {} now, not the version this form was \
                 drawn from: read its steps again before running it",
                view.runbook.current_version
            ),
        )
        .into());
    }
    let inputs = inputs_of(&view, &form)?;
    let incident = match form.incident.trim() {
        "" => None,
        number => Some(
            number
                .parse::<u64>()
                .map_err(|_| invalid("incident", "an incident is named by its number"))?,
        ),
    };
    let started = state
        .app
        .start_runbook_execution(
            &viewer.ctx,
            scope,
            identifier,
            ExecutionInput { inputs, incident },
        )
        .await?;
    Ok(see_other(&format!(
        "{}/runbook-executions/{}",
        project_base(&viewer),
        started.execution.id
    )))
}
