//! Source-address allowlists in the UI, on the settings pages of the account and of an
//! organisation: the list, and replacing it (one address or CIDR range per line; empty
//! allows every address). A list that would shut out the person's own address is
//! refused by the use case, so nobody locks themselves out from a form.

use axum::Extension;
use axum::extract::State;
use axum::http::Method;
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::ApiForm;
use crate::web::ApiGuards;
use crate::web::gate::{ApiRoute, Browser, Level, Viewer, WebError, WebPath, see_other};
use crate::web::page::{csrf_field, scope_base};

const ACCOUNT: ApiRoute = (Method::GET, "/api/v1/ip-allowlist");
const ACCOUNT_SET: ApiRoute = (Method::PUT, "/api/v1/ip-allowlist");
const ORG: ApiRoute = (Method::GET, "/api/v1/orgs/{org}/ip-allowlist");
const ORG_SET: ApiRoute = (Method::PUT, "/api/v1/orgs/{org}/ip-allowlist");

/// The API routes these pages stand for.
pub const API_ROUTES: [ApiRoute; 4] = [ACCOUNT, ACCOUNT_SET, ORG, ORG_SET];

/// (read, replace) at `level`: allowlists belong to the account and organisations.
fn routes_at(level: Level) -> Option<(&'static ApiRoute, &'static ApiRoute)> {
    match level {
        Level::Account => Some((&ACCOUNT, &ACCOUNT_SET)),
        Level::Org => Some((&ORG, &ORG_SET)),
        Level::Project => None,
    }
}

/// The allowlist part of a settings page, for who may read it.
pub async fn section(
    state: &AppState,
    viewer: &Viewer,
    level: Level,
) -> Result<Option<Markup>, WebError> {
    let Some((read, replace)) = routes_at(level) else {
        return Ok(None);
    };
    if !viewer.may(read) {
        return Ok(None);
    }
    let cidrs = state.app.ip_allowlist(viewer.scope.scope()).await?;
    let base = scope_base(viewer);
    Ok(Some(html! {
        h2 #h-allowlist { "Allowed source addresses" }
        @if cidrs.is_empty() {
            p { "Every address may reach " @if level == Level::Account { "the account" } @else { "this organisation" } "." }
        } @else {
            ul { @for cidr in &cidrs { li { code { (cidr) } } } }
        }
        @if viewer.may(replace) {
            form.card method="post" action=(format!("{base}/settings/allowlist")) aria-labelledby="h-allowlist-edit" {
                h3 #h-allowlist-edit { "Replace the allowlist" }
                (csrf_field(viewer))
                label for="allowlist" { "Addresses or CIDR ranges, one per line (empty: allow every address)" }
                textarea #allowlist name="cidrs" spellcheck="false" { (cidrs.join("\n")) }
                p.muted { "Your address now: " code { (viewer.ctx.meta.client_ip) } " — a list without it is refused." }
                div { button type="submit" { "Save allowlist" } }
            }
        }
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowlistForm {
    csrf: String,
    cidrs: String,
}

/// `POST /settings/allowlist`, `POST /o/{org}/settings/allowlist`
pub async fn set(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
    form: Result<ApiForm<AllowlistForm>, ApiError>,
) -> Result<Response, WebError> {
    let Some((_, replace)) = routes_at(Level::of(&path)) else {
        return Err(rampart_app::AppError::NotFound { what: "page" }.into());
    };
    let (viewer, form) = browser
        .admit_form(&state, &guards, replace, &path, form)
        .await?;
    let cidrs: Vec<String> = form
        .cidrs
        .split(['\n', ',', ' ', '\r', '\t'])
        .filter(|cidr| !cidr.is_empty())
        .map(str::to_owned)
        .collect();
    state
        .app
        .set_ip_allowlist(&viewer.ctx, viewer.scope.scope(), &cidrs)
        .await?;
    Ok(see_other(&format!(
        "{}/settings#h-allowlist",
        scope_base(&viewer)
    )))
}

crate::signed_forms!(AllowlistForm);
