//! Your personal API tokens in the UI: the list (name, last four characters, expiry,
//! last use), creating one — a sensitive action (step-up), its secret shown once — and
//! revoking one.

use axum::Extension;
use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use maud::html;
use rampart_app::platform::identity::{NewTokenInput, TokenExpiry};
use rampart_domain::TokenId;
use serde::Deserialize;

use crate::AppState;
use crate::extract::ApiForm;
use crate::web::ApiGuards;
use crate::web::gate::{ApiRoute, Browser, WebError, WebPath, see_other};
use crate::web::page::{csrf_field, viewer_page, when};

const LIST: ApiRoute = (Method::GET, "/api/v1/tokens");
const CREATE: ApiRoute = (Method::POST, "/api/v1/tokens");
const REVOKE: ApiRoute = (Method::DELETE, "/api/v1/tokens/{token_id}");

/// The API routes these pages stand for.
pub const API_ROUTES: [ApiRoute; 3] = [LIST, CREATE, REVOKE];

/// The lifetimes offered for a new token, in days.
const LIFETIMES: [u32; 5] = [1, 7, 30, 90, 365];

/// `GET /tokens`
pub async fn list(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
) -> Result<Response, WebError> {
    let viewer = browser
        .admit(&state, &guards, &LIST, &WebPath::none(), None)
        .await?;
    let tokens = state
        .app
        .list_tokens(viewer.ctx.actor.principal, Some(200), None)
        .await?;
    let now = state.app.now();
    let main = html! {
        h1 { "Your API tokens" }
        p.muted { "Tokens act as you, with your current rights, for the CLI, scripts and Terraform." }
        @if tokens.items.is_empty() {
            p.muted { "You have no tokens." }
        } @else {
            table.responsive {
                thead { tr {
                    th scope="col" { "Name" } th scope="col" { "Ends in" } th scope="col" { "Expires" }
                    th scope="col" { "Last used" } th scope="col" { "State" }
                    @if viewer.may(&REVOKE) { th scope="col" { span.visually-hidden { "Actions" } } }
                } }
                tbody {
                    @for token in &tokens.items {
                        @let live = token.revoked_at.is_none() && token.expires_at > now;
                        tr {
                            td data-label="Name" { (token.name.as_str()) }
                            td data-label="Ends in" { code { "…" (token.last_four) } }
                            td data-label="Expires" { (when(token.expires_at)) }
                            td data-label="Last used" {
                                @if let Some(at) = token.last_used_at {
                                    (when(at)) @if let Some(ip) = &token.last_used_ip { span.muted { " from " (ip) } }
                                } @else { "never" }
                            }
                            td data-label="State" {
                                @if token.revoked_at.is_some() { "revoked" } @else if live { "active" } @else { "expired" }
                            }
                            @if viewer.may(&REVOKE) {
                                td data-label="" {
                                    @if live {
                                        form method="post" action=(format!("/tokens/{}/revoke", token.id)) {
                                            (csrf_field(&viewer))
                                            button.secondary type="submit" aria-label=(format!("Revoke {}", token.name.as_str())) { "Revoke" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if viewer.may(&CREATE) {
            h2 { "Create a token" }
            form.card method="post" action="/tokens" {
                (csrf_field(&viewer))
                label for="token-name" { "Name" }
                input #token-name type="text" name="name" required maxlength="255" placeholder="laptop CLI";
                label for="token-days" { "Lifetime" }
                select #token-days name="expires_in_days" {
                    @for days in LIFETIMES {
                        option value=(days) selected[days == 30] { (days) @if days == 1 { " day" } @else { " days" } }
                    }
                }
                div { button type="submit" { "Create token" } }
            }
        }
    };
    Ok(viewer_page(
        &viewer,
        "Your API tokens",
        StatusCode::OK,
        main,
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateForm {
    csrf: String,
    name: String,
    expires_in_days: String,
}

/// `POST /tokens`: the new token's secret, shown once (a sensitive action: a session
/// whose sign-in is not recent is asked to re-authenticate first).
pub async fn create(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    form: Result<ApiForm<CreateForm>, crate::error::ApiError>,
) -> Result<Response, WebError> {
    browser.check_origin()?;
    let ApiForm(form) = form?;
    let viewer = browser
        .admit(&state, &guards, &CREATE, &WebPath::none(), Some(&form.csrf))
        .await?;
    let days = form.expires_in_days.parse::<u32>().map_err(|_| {
        rampart_app::AppError::Invalid(rampart_domain::ValidationError::new(
            "expires_in_days",
            "must be a number of days",
        ))
    })?;
    let created = state
        .app
        .create_token(
            &viewer.ctx,
            viewer.ctx.actor.principal,
            NewTokenInput {
                name: form.name,
                expiry: TokenExpiry::InDays(days),
                project: None,
                allowed_cidrs: Vec::new(),
            },
        )
        .await?;
    let main = html! {
        h1 { "Token created: " (created.token.name.as_str()) }
        p.notice role="status" { "Copy the token now: it is shown only once." }
        dl.fields #credential {
            dt { "Token" } dd { code { (created.secret.expose()) } }
            dt { "Expires" } dd { (when(created.token.expires_at)) }
        }
        h2 { "Use it" }
        pre.sample { "export RAMPART_URL=" (browser.origin(&state)) "\nexport RAMPART_TOKEN=" (created.secret.expose()) "\nrampart org list" }
        p { a href="/tokens" { "Back to your tokens" } }
    };
    Ok(viewer_page(
        &viewer,
        "Token created",
        StatusCode::CREATED,
        main,
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevokeForm {
    csrf: String,
}

/// `POST /tokens/{token_id}/revoke`
pub async fn revoke(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
    form: Result<ApiForm<RevokeForm>, crate::error::ApiError>,
) -> Result<Response, WebError> {
    browser.check_origin()?;
    let ApiForm(form) = form?;
    let viewer = browser
        .admit(&state, &guards, &REVOKE, &path, Some(&form.csrf))
        .await?;
    let id = path
        .param("token_id")
        .parse::<TokenId>()
        .map_err(|_| rampart_app::AppError::NotFound { what: "token" })?;
    state
        .app
        .revoke_token(&viewer.ctx, viewer.ctx.actor.principal, id)
        .await?;
    Ok(see_other("/tokens"))
}
