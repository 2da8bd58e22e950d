//! Identity in the UI. Your personal API tokens: the list (name, last four characters,
//! expiry, last use), creating one — a sensitive action (step-up), its secret shown
//! once — and revoking one. The account's users, on the account's access page: the list,
//! creating one (with an initial password, or none for single sign-on), disabling and
//! enabling one (both step-up).

use axum::Extension;
use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use maud::{Markup, html};
use rampart_app::platform::identity::{NewTokenInput, NewUserInput, TokenExpiry, UserPatch};
use rampart_domain::{TokenId, UserId};
use serde::Deserialize;

use crate::AppState;
use crate::extract::ApiForm;
use crate::web::ApiGuards;
use crate::web::gate::{ApiRoute, Browser, ButtonForm, Viewer, WebError, WebPath, see_other};
use crate::web::page::{csrf_field, viewer_page, when};

const LIST: ApiRoute = (Method::GET, "/api/v1/tokens");
const CREATE: ApiRoute = (Method::POST, "/api/v1/tokens");
const REVOKE: ApiRoute = (Method::DELETE, "/api/v1/tokens/{token_id}");

const USERS: ApiRoute = (Method::GET, "/api/v1/users");
const USER_CREATE: ApiRoute = (Method::POST, "/api/v1/users");
const USER_UPDATE: ApiRoute = (Method::PATCH, "/api/v1/users/{user_id}");

/// The API routes these pages stand for.
pub const API_ROUTES: [ApiRoute; 6] = [LIST, CREATE, REVOKE, USERS, USER_CREATE, USER_UPDATE];

/// The users page draws at most this many.
const USERS_MAX: u32 = 500;

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
    let (viewer, form) = browser
        .admit_form(&state, &guards, &CREATE, &WebPath::none(), form)
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

/// `POST /tokens/{token_id}/revoke`
pub async fn revoke(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
    form: Result<ApiForm<ButtonForm>, crate::error::ApiError>,
) -> Result<Response, WebError> {
    let (viewer, _) = browser
        .admit_form(&state, &guards, &REVOKE, &path, form)
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

/// The account's users, for the account's access page: shown to who may list them.
pub async fn users_section(state: &AppState, viewer: &Viewer) -> Result<Option<Markup>, WebError> {
    if !viewer.may(&USERS) {
        return Ok(None);
    }
    let users = state.app.list_users(Some(USERS_MAX), None).await?;
    let may_update = viewer.may(&USER_UPDATE);
    Ok(Some(html! {
        h2 #h-users { "Users" }
        table.responsive aria-labelledby="h-users" {
            thead { tr {
                th scope="col" { "Name" } th scope="col" { "Email" } th scope="col" { "Signs in with" }
                th scope="col" { "State" } th scope="col" { "Since" }
                @if may_update { th scope="col" { span.visually-hidden { "Actions" } } }
            } }
            tbody {
                @for user in &users.items {
                    tr {
                        td data-label="Name" { (user.display_name.as_str()) @if user.is_account_owner { span.muted { " (account owner)" } } }
                        td data-label="Email" { (user.email.as_str()) }
                        td data-label="Signs in with" { @if user.has_password { "password or single sign-on" } @else { "single sign-on or tokens" } }
                        td data-label="State" { @if user.disabled { span.error { "disabled" } } @else { "active" } }
                        td data-label="Since" { (when(user.created_at)) }
                        @if may_update {
                            td data-label="" {
                                // Nobody disables themselves here, and the owner cannot be.
                                @if Some(user.id) != viewer_user(viewer) && !user.is_account_owner {
                                    form method="post" action=(format!("/access/users/{}/{}", user.id, if user.disabled { "enable" } else { "disable" })) {
                                        (csrf_field(viewer))
                                        button.secondary type="submit" aria-label=(format!("{} {}", if user.disabled { "Enable" } else { "Disable" }, user.email.as_str())) {
                                            @if user.disabled { "Enable" } @else { "Disable" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if viewer.may(&USER_CREATE) {
            form.card method="post" action="/access/users" aria-labelledby="h-user-new" {
                h3 #h-user-new { "New user" }
                (csrf_field(viewer))
                label for="u-email" { "Email" }
                input #u-email type="email" name="email" required maxlength="254";
                label for="u-name" { "Name" }
                input #u-name type="text" name="display_name" required maxlength="200";
                label for="u-password" { "Initial password (leave empty for single sign-on only)" }
                input #u-password type="password" name="password" autocomplete="new-password";
                div { button type="submit" { "Create user" } }
            }
        }
    }))
}

/// The signed-in user's id (a person never disables themselves from the list).
fn viewer_user(viewer: &Viewer) -> Option<UserId> {
    match viewer.ctx.actor.principal {
        rampart_domain::platform::identity::PrincipalId::User(id) => Some(id),
        _ => None,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserForm {
    csrf: String,
    email: String,
    display_name: String,
    #[serde(default)]
    password: Option<String>,
}

/// `POST /access/users`
pub async fn create_user(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    form: Result<ApiForm<UserForm>, crate::error::ApiError>,
) -> Result<Response, WebError> {
    let (viewer, form) = browser
        .admit_form(&state, &guards, &USER_CREATE, &WebPath::none(), form)
        .await?;
    state
        .app
        .create_user(
            &viewer.ctx,
            NewUserInput {
                email: form.email,
                display_name: form.display_name,
                password: form.password.filter(|password| !password.is_empty()),
            },
        )
        .await?;
    Ok(see_other("/access#h-users"))
}

/// `POST /access/users/{user_id}/disable` and `…/enable`: a disabled user's sessions and
/// tokens stop working.
pub async fn set_user_disabled(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    path: WebPath,
    form: Result<ApiForm<ButtonForm>, crate::error::ApiError>,
) -> Result<Response, WebError> {
    let (viewer, _) = browser
        .admit_form(&state, &guards, &USER_UPDATE, &path, form)
        .await?;
    let id = path
        .param("user_id")
        .parse::<UserId>()
        .map_err(|_| rampart_app::AppError::NotFound { what: "user" })?;
    let disabled = match path.param("change") {
        "disable" => true,
        "enable" => false,
        _ => return Err(rampart_app::AppError::NotFound { what: "page" }.into()),
    };
    state
        .app
        .update_user(
            &viewer.ctx,
            id,
            UserPatch {
                display_name: None,
                disabled: Some(disabled),
            },
        )
        .await?;
    Ok(see_other("/access#h-users"))
}

crate::signed_forms!(CreateForm, UserForm);

/// The people a page names (by user id), read once, and whether the viewer may read
/// their emails: the API shows emails only through the users routes, to who may list
/// users, so a page shows them only to the same people.
pub struct People {
    users: std::collections::BTreeMap<String, rampart_domain::platform::identity::User>,
    emails: bool,
}

impl People {
    pub async fn read(state: &AppState, viewer: &Viewer, ids: &[&str]) -> Result<Self, WebError> {
        Ok(Self {
            users: state.app.people(ids).await?,
            emails: viewer.may_at(&USERS, rampart_domain::platform::tenancy::Scope::Account),
        })
    }

    /// Whether `id` names a user.
    pub fn knows(&self, id: &str) -> bool {
        self.users.contains_key(id)
    }

    /// A person as a page names them: their name, with their email for who may read
    /// emails; an id that names nobody, as it is.
    pub fn label(&self, id: &str) -> String {
        match self.users.get(id) {
            Some(user) if self.emails => {
                format!("{} <{}>", user.display_name.as_str(), user.email.as_str())
            }
            Some(user) => user.display_name.as_str().to_owned(),
            None => id.to_owned(),
        }
    }

    /// An actor as the audit log and timelines write it: `user:<id>` named, anything
    /// else (a sender, a service account, the engine) as it is.
    pub fn actor(&self, actor: &str) -> String {
        actor
            .strip_prefix("user:")
            .filter(|id| self.knows(id))
            .map_or_else(|| actor.to_owned(), |id| self.label(id))
    }

    /// A person as a form field holds them: their email for who may read emails, else
    /// their id (`App::user_named` reads either back).
    pub fn field(&self, id: &str) -> String {
        match self.users.get(id) {
            Some(user) if self.emails => user.email.as_str().to_owned(),
            _ => id.to_owned(),
        }
    }
}
