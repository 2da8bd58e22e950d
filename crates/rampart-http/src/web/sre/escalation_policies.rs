//! A project's escalation policies in the UI: the list and creating one; a policy's page
//! with its levels (who each pages — people named, schedules linked — and how long it
//! waits) and the services that page with it; editing its levels and repeats. In a
//! form, a target is a person's email, `schedule:<identifier>` or `group:<id>`.

use std::collections::BTreeMap;

use axum::Extension;
use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use maud::{Markup, html};
use rampart_domain::sre::documents::{LevelDoc, PolicyDoc, TargetDoc};
use serde::Deserialize;

use crate::AppState;
use crate::extract::ApiForm;
use crate::web::ApiGuards;
use crate::web::gate::{
    ApiRoute, Browser, Viewer, WebError, WebPath, form_lines, form_rows, invalid, see_other,
};
use crate::web::page::{csrf_field, project_base, viewer_page, when};
use crate::web::platform::identity::People;

pub const LIST: ApiRoute = (
    Method::GET,
    "/api/v1/orgs/{org}/projects/{project}/escalation-policies",
);
const CREATE: ApiRoute = (
    Method::POST,
    "/api/v1/orgs/{org}/projects/{project}/escalation-policies",
);
const SHOW: ApiRoute = (
    Method::GET,
    "/api/v1/orgs/{org}/projects/{project}/escalation-policies/{policy}",
);
const REPLACE: ApiRoute = (
    Method::PUT,
    "/api/v1/orgs/{org}/projects/{project}/escalation-policies/{policy}",
);

/// The API routes these pages stand for.
pub const API_ROUTES: [ApiRoute; 4] = [LIST, CREATE, SHOW, REPLACE];

/// The default wait before the next level, in minutes (a new level's form).
const DEFAULT_DELAY_MINUTES: u32 = 15;

fn base(path_base: &str) -> String {
    format!("{path_base}/escalation-policies")
}

/// A target as people read it: a person (named as [`People::label`] does), a
/// schedule, a group.
fn target_text(target: &TargetDoc, people: &People) -> String {
    match target.kind.as_str() {
        "user" if people.knows(&target.id) => people.label(&target.id),
        kind => format!("{kind} {}", target.id),
    }
}

/// A target as a form line: a person as [`People::field`] holds them, else `type:id`.
fn target_line(target: &TargetDoc, people: &People) -> String {
    match target.kind.as_str() {
        "user" if people.knows(&target.id) => people.field(&target.id),
        kind => format!("{kind}:{}", target.id),
    }
}

async fn people_of(
    state: &AppState,
    viewer: &Viewer,
    policies: &[&PolicyDoc],
) -> Result<People, WebError> {
    let ids: Vec<&str> = policies
        .iter()
        .flat_map(|policy| policy.levels.iter())
        .flat_map(|level| level.targets.iter())
        .filter(|target| target.kind == "user")
        .map(|target| target.id.as_str())
        .collect();
    People::read(state, viewer, &ids).await
}

/// `GET /o/{org}/p/{project}/escalation-policies`
pub async fn list(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
) -> Result<Response, WebError> {
    let viewer = browser.admit(&state, &guards, &LIST, &path, None).await?;
    let policies = state
        .app
        .list_escalation_policies(viewer.scope.scope(), Some(500), None)
        .await?;
    let docs: Vec<&PolicyDoc> = policies.items.iter().map(|p| &p.document).collect();
    let people = people_of(&state, &viewer, &docs).await?;
    let base = base(&project_base(&viewer));
    let main = html! {
        h1 { "Escalation policies" }
        @if policies.items.is_empty() {
            p.muted { "No escalation policies in this project." }
        } @else {
            table.responsive {
                thead { tr {
                    th scope="col" { "Policy" } th scope="col" { "First pages" }
                    th scope="col" { "Levels" } th scope="col" { "Changed" }
                } }
                tbody {
                    @for policy in &policies.items {
                        tr {
                            td data-label="Policy" {
                                a href=(format!("{base}/{}", policy.record.identifier)) { (policy.record.name.as_str()) }
                            }
                            td data-label="First pages" {
                                @if let Some(level) = policy.document.levels.first() {
                                    (level.targets.iter().map(|t| target_text(t, &people)).collect::<Vec<_>>().join(", "))
                                }
                            }
                            td data-label="Levels" { (policy.document.levels.len()) }
                            td data-label="Changed" { (when(policy.record.updated_at)) }
                        }
                    }
                }
            }
        }
        @if viewer.may(&CREATE) {
            details.edit {
                summary { "New escalation policy" }
                form.card method="post" action=(base) {
                    (csrf_field(&viewer))
                    label for="p-identifier" { "Identifier" }
                    input #p-identifier type="text" name="identifier" required pattern="[a-z0-9][a-z0-9\\-]{0,62}" placeholder="default";
                    label for="p-name" { "Name" }
                    input #p-name type="text" name="name" required maxlength="100";
                    (policy_fields(&PolicyDoc { levels: Vec::new(), repeats: 0 }, &people))
                    div { button type="submit" { "Create policy" } }
                }
            }
        }
    };
    Ok(viewer_page(
        &viewer,
        "Escalation policies",
        StatusCode::OK,
        main,
    ))
}

/// `GET /o/{org}/p/{project}/escalation-policies/{policy}`
pub async fn show(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
) -> Result<Response, WebError> {
    let viewer = browser.admit(&state, &guards, &SHOW, &path, None).await?;
    let identifier = path.param("policy");
    let policy = state
        .app
        .escalation_policy(viewer.scope.scope(), identifier)
        .await?;
    let people = people_of(&state, &viewer, &[&policy.document]).await?;
    let project = project_base(&viewer);
    let here = format!("{}/{identifier}", base(&project));
    let main = html! {
        p { a href=(base(&project)) { "← All escalation policies" } }
        h1 { (policy.record.name.as_str()) }
        ol.timeline aria-label="Levels" {
            @for (index, level) in policy.document.levels.iter().enumerate() {
                li {
                    span.what { "Level " (index + 1) } " pages "
                    @for (n, target) in level.targets.iter().enumerate() {
                        @if n > 0 { ", " }
                        @if target.kind == "schedule" {
                            "who is on call on " a href=(format!("{project}/schedules/{}", target.id)) { (target.id) }
                        } @else {
                            (target_text(target, &people))
                        }
                    }
                    br;
                    span.muted { "then waits " (level.delay_minutes) " minutes before the next level" }
                }
            }
        }
        p {
            @if policy.document.repeats == 0 { "After the last level, paging stops." }
            @else { "After the last level, the policy runs again " (policy.document.repeats) " more times." }
        }
        @if viewer.may(&REPLACE) {
            details.edit {
                summary { "Edit the policy" }
                form.card method="post" action=(format!("{here}/edit")) {
                    (csrf_field(&viewer))
                    label for="p-name" { "Name" }
                    input #p-name type="text" name="name" required maxlength="100" value=(policy.record.name.as_str());
                    (policy_fields(&policy.document, &people))
                    div { button type="submit" { "Save the policy" } }
                }
            }
        }
    };
    Ok(viewer_page(
        &viewer,
        policy.record.name.as_str(),
        StatusCode::OK,
        main,
    ))
}

/// The levels (each existing one, then a blank one to add; a level whose targets are
/// emptied is removed) and the repeats.
fn policy_fields(policy: &PolicyDoc, people: &People) -> Markup {
    let blank = LevelDoc {
        targets: Vec::new(),
        delay_minutes: DEFAULT_DELAY_MINUTES,
    };
    html! {
        @for (index, level) in policy.levels.iter().chain(std::iter::once(&blank)).enumerate() {
            fieldset {
                legend { @if index < policy.levels.len() { "Level " (index + 1) " (empty who it pages to remove it)" } @else { "A new level" @if !policy.levels.is_empty() { " (optional)" } } }
                label for=(format!("v{index}-targets")) { "Pages (one per line: an email, schedule:<identifier> or group:<id>)" }
                textarea id=(format!("v{index}-targets")) name=(format!("level{index}.targets")) spellcheck="false" {
                    (level.targets.iter().map(|t| target_line(t, people)).collect::<Vec<_>>().join("\n"))
                }
                label for=(format!("v{index}-delay")) { "Then waits (minutes, 1 to 1440)" }
                input id=(format!("v{index}-delay")) type="number" min="1" max="1440" name=(format!("level{index}.delay_minutes")) value=(level.delay_minutes);
            }
        }
        label for="p-repeats" { "Runs again after the last level (0 to 9 times)" }
        input #p-repeats type="number" min="0" max="9" name="repeats" value=(policy.repeats);
    }
}

/// A policy form: `name`, `repeats` and `level<i>.targets` / `level<i>.delay_minutes`;
/// anything else is refused.
#[derive(Debug, Deserialize)]
pub struct PolicyForm {
    csrf: String,
    #[serde(default)]
    identifier: Option<String>,
    name: String,
    repeats: String,
    #[serde(flatten)]
    levels: BTreeMap<String, String>,
}

crate::signed_forms!(PolicyForm);

/// The policy a form describes, people named by email turned into user ids.
async fn policy_of(state: &AppState, form: &PolicyForm) -> Result<PolicyDoc, WebError> {
    let rows = form_rows(
        &form.levels,
        "level",
        &["targets", "delay_minutes"],
        "levels",
    )?;
    let mut levels = Vec::new();
    for (index, row) in rows.iter().enumerate() {
        let get = |field: &str| row.get(field).copied().unwrap_or_default();
        let mut targets = Vec::new();
        for line in form_lines(get("targets"), "levels")? {
            targets.push(match line.split_once(':') {
                Some((kind @ ("schedule" | "group" | "user"), id)) if !line.contains('@') => {
                    TargetDoc {
                        kind: kind.to_owned(),
                        id: id.trim().to_owned(),
                    }
                }
                _ => TargetDoc {
                    kind: "user".to_owned(),
                    id: state.app.user_named(line).await?,
                },
            });
        }
        if targets.is_empty() {
            continue;
        }
        let delay_minutes = get("delay_minutes").trim().parse::<u32>().map_err(|_| {
            invalid(
                "levels",
                format!("level {}: the wait is a whole number of minutes", index + 1),
            )
        })?;
        levels.push(LevelDoc {
            targets,
            delay_minutes,
        });
    }
    let repeats = form
        .repeats
        .trim()
        .parse::<u32>()
        .map_err(|_| invalid("repeats", "must be a whole number, 0 to 9"))?;
    Ok(PolicyDoc { levels, repeats })
}

/// `POST /o/{org}/p/{project}/escalation-policies`
pub async fn create(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
    form: Result<ApiForm<PolicyForm>, crate::error::ApiError>,
) -> Result<Response, WebError> {
    let (viewer, form) = browser
        .admit_form(&state, &guards, &CREATE, &path, form)
        .await?;
    let policy = policy_of(&state, &form).await?;
    let identifier = form.identifier.clone().unwrap_or_default();
    let created = state
        .app
        .create_escalation_policy(
            &viewer.ctx,
            viewer.scope.scope(),
            &identifier,
            &form.name,
            policy,
        )
        .await?;
    Ok(see_other(&format!(
        "{}/{}",
        base(&project_base(&viewer)),
        created.record.identifier
    )))
}

/// `POST /o/{org}/p/{project}/escalation-policies/{policy}/edit`
pub async fn edit(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
    form: Result<ApiForm<PolicyForm>, crate::error::ApiError>,
) -> Result<Response, WebError> {
    let (viewer, form) = browser
        .admit_form(&state, &guards, &REPLACE, &path, form)
        .await?;
    if form.identifier.is_some() {
        return Err(invalid(
            "identifier",
            "a policy's identifier does not change",
        ));
    }
    let identifier = path.param("policy");
    let policy = policy_of(&state, &form).await?;
    state
        .app
        .replace_escalation_policy(
            &viewer.ctx,
            viewer.scope.scope(),
            identifier,
            &form.name,
            policy,
        )
        .await?;
    Ok(see_other(&format!(
        "{}/{identifier}",
        base(&project_base(&viewer))
    )))
}
