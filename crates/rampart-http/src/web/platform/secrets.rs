//! Secrets in the UI, on the settings pages of an organisation and of a project: the
//! list (name, identifier, version, last change — never a value), creating one, adding
//! a version, and deleting one. Values go in and never come out: no page shows one, and
//! the forms never echo one back. Creating and adding a version are sensitive (step-up).

use axum::Extension;
use axum::extract::State;
use axum::http::Method;
use axum::response::Response;
use maud::{Markup, html};
use rampart_app::platform::secrets::{SecretInput, SecretPatch};
use serde::Deserialize;
use zeroize::Zeroizing;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::ApiForm;
use crate::web::ApiGuards;
use crate::web::gate::{
    ApiRoute, Browser, ButtonForm, Level, Viewer, WebError, WebPath, see_other,
};
use crate::web::page::{csrf_field, scope_base, when};

/// (list, create, add a version, delete) at an organisation and at a project.
const ORG: [ApiRoute; 4] = [
    (Method::GET, "/api/v1/orgs/{org}/secrets"),
    (Method::POST, "/api/v1/orgs/{org}/secrets"),
    (Method::PATCH, "/api/v1/orgs/{org}/secrets/{secret}"),
    (Method::DELETE, "/api/v1/orgs/{org}/secrets/{secret}"),
];
const PROJECT: [ApiRoute; 4] = [
    (Method::GET, "/api/v1/orgs/{org}/projects/{project}/secrets"),
    (
        Method::POST,
        "/api/v1/orgs/{org}/projects/{project}/secrets",
    ),
    (
        Method::PATCH,
        "/api/v1/orgs/{org}/projects/{project}/secrets/{secret}",
    ),
    (
        Method::DELETE,
        "/api/v1/orgs/{org}/projects/{project}/secrets/{secret}",
    ),
];

/// Listing a project's secrets (the project's settings page is for who may).
pub const LIST_AT_PROJECT: &ApiRoute = &PROJECT[0];

/// The API routes these pages stand for.
pub const API_ROUTES: [[ApiRoute; 4]; 2] = [ORG, PROJECT];

const LIST_MAX: u32 = 200;

struct Routes {
    list: &'static ApiRoute,
    create: &'static ApiRoute,
    update: &'static ApiRoute,
    delete: &'static ApiRoute,
}

/// The secrets routes at `level`: secrets belong to organisations and projects.
fn routes_at(level: Level) -> Option<Routes> {
    let [list, create, update, delete] = match level {
        Level::Account => return None,
        Level::Org => &ORG,
        Level::Project => &PROJECT,
    };
    Some(Routes {
        list,
        create,
        update,
        delete,
    })
}

/// The secrets part of a settings page, for who may list them.
pub async fn section(
    state: &AppState,
    viewer: &Viewer,
    level: Level,
) -> Result<Option<Markup>, WebError> {
    let Some(routes) = routes_at(level) else {
        return Ok(None);
    };
    if !viewer.may(routes.list) {
        return Ok(None);
    }
    let secrets = state
        .app
        .list_secrets(viewer.scope.scope(), Some(LIST_MAX), None)
        .await?;
    let base = format!("{}/settings/secrets", scope_base(viewer));
    let may_update = viewer.may(routes.update);
    let may_delete = viewer.may(routes.delete);
    Ok(Some(html! {
        h2 #h-secrets { "Secrets" }
        p.muted { "Values are sealed and write-only: nobody can read one back here or through the API." }
        @if secrets.items.is_empty() {
            p.muted { "No secrets here." }
        } @else {
            table.responsive aria-labelledby="h-secrets" {
                thead { tr {
                    th scope="col" { "Name" } th scope="col" { "Identifier" } th scope="col" { "Version" }
                    th scope="col" { "Changed" }
                    @if may_update || may_delete { th scope="col" { span.visually-hidden { "Actions" } } }
                } }
                tbody {
                    @for secret in &secrets.items {
                        @let id = secret.identifier.as_str();
                        tr {
                            td data-label="Name" { (secret.name.as_str()) }
                            td data-label="Identifier" { code { (id) } }
                            td data-label="Version" { (secret.current_version) }
                            td data-label="Changed" { (when(secret.updated_at)) }
                            @if may_update || may_delete {
                                td data-label="" {
                                    @if may_update {
                                        details {
                                            summary { "New value" }
                                            form method="post" action=(format!("{base}/{id}")) {
                                                (csrf_field(viewer))
                                                label for=(format!("v-{id}")) { "New value of " (id) }
                                                textarea id=(format!("v-{id}")) name="value" required autocomplete="off" spellcheck="false" {}
                                                button type="submit" { "Add version" }
                                            }
                                        }
                                    }
                                    @if may_delete {
                                        form method="post" action=(format!("{base}/{id}/delete")) {
                                            (csrf_field(viewer))
                                            button.secondary type="submit" aria-label=(format!("Delete secret {id}")) { "Delete" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if viewer.may(routes.create) {
            form.card method="post" action=(base) aria-labelledby="h-secret-new" {
                h3 #h-secret-new { "New secret" }
                (csrf_field(viewer))
                label for="s-identifier" { "Identifier" }
                input #s-identifier type="text" name="identifier" required pattern="[a-z0-9][a-z0-9\\-]{0,62}" placeholder="db-password";
                label for="s-name" { "Name" }
                input #s-name type="text" name="name" required maxlength="100";
                label for="s-value" { "Value" }
                textarea #s-value name="value" required autocomplete="off" spellcheck="false" {}
                div { button type="submit" { "Create secret" } }
            }
        }
    }))
}

fn back(viewer: &Viewer) -> Response {
    see_other(&format!("{}/settings#h-secrets", scope_base(viewer)))
}

fn not_here() -> WebError {
    rampart_app::AppError::NotFound { what: "page" }.into()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateForm {
    csrf: String,
    identifier: String,
    name: String,
    value: String,
}

/// `POST …/settings/secrets`
pub async fn create(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
    form: Result<ApiForm<CreateForm>, ApiError>,
) -> Result<Response, WebError> {
    let routes = routes_at(Level::of(&path)).ok_or_else(not_here)?;
    let (viewer, form) = browser
        .admit_form(&state, &guards, routes.create, &path, form)
        .await?;
    state
        .app
        .create_secret(
            &viewer.ctx,
            viewer.scope.scope(),
            SecretInput {
                identifier: form.identifier,
                name: form.name,
                description: None,
                value: Zeroizing::new(form.value),
            },
        )
        .await?;
    Ok(back(&viewer))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VersionForm {
    csrf: String,
    value: String,
}

/// `POST …/settings/secrets/{secret}`: a new version.
pub async fn add_version(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
    form: Result<ApiForm<VersionForm>, ApiError>,
) -> Result<Response, WebError> {
    let routes = routes_at(Level::of(&path)).ok_or_else(not_here)?;
    let (viewer, form) = browser
        .admit_form(&state, &guards, routes.update, &path, form)
        .await?;
    state
        .app
        .update_secret(
            &viewer.ctx,
            viewer.scope.scope(),
            path.param("secret"),
            SecretPatch {
                value: Some(Zeroizing::new(form.value)),
                ..SecretPatch::default()
            },
        )
        .await?;
    Ok(back(&viewer))
}

/// `POST …/settings/secrets/{secret}/delete`
pub async fn delete(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
    form: Result<ApiForm<ButtonForm>, ApiError>,
) -> Result<Response, WebError> {
    let routes = routes_at(Level::of(&path)).ok_or_else(not_here)?;
    let (viewer, _) = browser
        .admit_form(&state, &guards, routes.delete, &path, form)
        .await?;
    state
        .app
        .delete_secret(&viewer.ctx, viewer.scope.scope(), path.param("secret"))
        .await?;
    Ok(back(&viewer))
}

crate::signed_forms!(CreateForm, VersionForm);
