//! Signing in and out of the UI: the login page (password, and a button per single
//! sign-on provider), the password form's post (the same `App::login` as the API's,
//! setting the same `__Host-` session cookie), sign-out (ending the session here and,
//! for a single sign-on session, at its provider), and the step-up prompt: a sensitive
//! action asked of a session whose sign-in is not recent leads here, to the password
//! (or the session's provider) and back.

use axum::Extension;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use maud::{Markup, html};
use rampart_domain::platform::tenancy::Scope;
use serde::Deserialize;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::ApiForm;
use crate::handlers::platform::auth::{clear_session_cookies, session_set_cookie};
use crate::web::ApiGuards;
use crate::web::gate::{
    ApiRoute, Browser, ButtonForm, WebError, WebPath, local_path, query_pairs, see_other,
};
use crate::web::page::{Chrome, render, respond, viewer_page};

/// Signing out stands for the API's logout.
const LOGOUT: ApiRoute = (Method::POST, "/api/v1/auth/logout");
/// Proving it is you again (step-up).
const REAUTHENTICATE: ApiRoute = (Method::POST, "/api/v1/auth/reauthenticate");

/// The API routes these pages stand for.
pub const API_ROUTES: [ApiRoute; 2] = [LOGOUT, REAUTHENTICATE];

/// `GET /login?next=`: the login page (a signed-in browser goes straight on).
pub async fn login_page(
    State(state): State<AppState>,
    browser: Browser,
    RawQuery(raw): RawQuery,
) -> Result<Response, WebError> {
    let query = query_pairs(raw.as_deref());
    let next = local_path(query.get("next").map(String::as_str));
    if browser.session_secret().is_some() && browser.signed_in(&state, None).await.is_ok() {
        return Ok(see_other(&next));
    }
    login_form(&state, &next, "", None, StatusCode::OK).await
}

async fn login_form(
    state: &AppState,
    next: &str,
    email: &str,
    problem: Option<&str>,
    status: StatusCode,
) -> Result<Response, WebError> {
    let providers = state.app.sso_login_options().await?;
    let sso_required = state.app.sso_policy(Scope::Account).await?.required;
    let start = |name: &str| {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("redirect_to", next)
            .finish();
        format!("/api/v1/auth/sso/{name}/start?{query}")
    };
    let main: Markup = html! {
        h1 { "Sign in to Rampart" }
        @if let Some(problem) = problem {
            p.error role="alert" #login-problem { (problem) }
        }
        @if !providers.is_empty() {
            section.card aria-labelledby="h-sso" {
                h2 #h-sso { "Single sign-on" }
                @for provider in &providers {
                    a.button href=(start(provider.name.as_str())) { "Sign in with " (provider.display_name.as_str()) }
                }
            }
        }
        form.card method="post" action="/login" aria-labelledby="h-password" {
            h2 #h-password { "Email and password" }
            @if sso_required {
                p.muted { "This installation signs people in through single sign-on; a password works only for its break-glass accounts." }
            }
            input type="hidden" name="next" value=(next);
            label for="email" { "Email" }
            input #email type="email" name="email" value=(email) autocomplete="username" required;
            label for="password" { "Password" }
            input #password type="password" name="password" autocomplete="current-password" required;
            div { button type="submit" { "Sign in" } }
        }
    };
    Ok(respond(
        status,
        render(
            &Chrome {
                title: "Sign in",
                viewer: None,
            },
            main,
        ),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginForm {
    email: String,
    password: String,
    #[serde(default)]
    next: String,
}

/// `POST /login`: a password login from this server's own page (a cross-site post is
/// refused, so nobody can sign a browser into their account). A refusal shows the form
/// again with the reason.
pub async fn login(
    State(state): State<AppState>,
    browser: Browser,
    form: Result<ApiForm<LoginForm>, ApiError>,
) -> Result<Response, WebError> {
    browser.check_origin()?;
    let ApiForm(form) = form?;
    let next = local_path(Some(&form.next));
    match state
        .app
        .login(&form.email, &form.password, browser.meta())
        .await
    {
        Ok(outcome) => {
            let mut response = see_other(&next);
            let cookie = session_set_cookie(&state, outcome.session_secret.as_str());
            let cookie = HeaderValue::from_str(&cookie).map_err(|_| {
                ApiError::new(rampart_domain::ErrorCode::InternalError, "internal error")
            })?;
            response.headers_mut().insert(header::SET_COOKIE, cookie);
            Ok(response)
        }
        Err(error) => {
            let error = ApiError::from(error);
            login_form(
                &state,
                &next,
                &form.email,
                Some(&error.message),
                error.status,
            )
            .await
        }
    }
}

/// `POST /logout`: ends the session, and sends a single sign-on session on to its
/// provider's logout; otherwise to the login page.
pub async fn logout(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    form: Result<ApiForm<ButtonForm>, ApiError>,
) -> Result<Response, WebError> {
    let (viewer, _) = browser
        .admit_form(&state, &guards, &LOGOUT, &WebPath::none(), form)
        .await?;
    let provider_logout_url = state.app.provider_logout_url(&viewer.ctx.actor).await;
    state.app.logout(&viewer.ctx).await?;
    let mut response = match provider_logout_url {
        // The provider is another origin, and the policy's `form-action 'self'` stops a
        // form's redirect there: a page sends the browser on instead.
        Some(url) => {
            let main = html! {
                h1 { "Signed out of Rampart" }
                p { "Finishing at your identity provider… " a href=(url) { "continue" } "." }
            };
            let mut page = respond(
                StatusCode::OK,
                render(
                    &Chrome {
                        title: "Signed out",
                        viewer: None,
                    },
                    main,
                ),
            );
            if let Ok(refresh) = HeaderValue::from_str(&format!("0; url={url}")) {
                page.headers_mut().insert("refresh", refresh);
            }
            page
        }
        None => see_other("/login"),
    };
    clear_session_cookies(response.headers_mut());
    Ok(response)
}

/// `GET /reauthenticate?next=`: the step-up prompt.
pub async fn reauthenticate_page(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    RawQuery(raw): RawQuery,
) -> Result<Response, WebError> {
    let next = local_path(query_pairs(raw.as_deref()).get("next").map(String::as_str));
    let viewer = browser
        .signed_in(&state, None)
        .await?
        .admit(
            &state,
            &guards,
            &(Method::GET, "/api/v1/me"),
            &WebPath::none(),
        )
        .await?;
    Ok(reauthenticate_form(&viewer, &next, None, StatusCode::OK))
}

fn reauthenticate_form(
    viewer: &crate::web::gate::Viewer,
    next: &str,
    problem: Option<&str>,
    status: StatusCode,
) -> Response {
    // A single sign-on session proves itself at its provider (`oidc:<name>`, `saml:<name>`).
    let provider = viewer
        .ctx
        .actor
        .session_method
        .as_deref()
        .and_then(|method| method.split_once(':'))
        .map(|(_, name)| name.to_owned());
    let main = html! {
        h1 { "Confirm it is you" }
        p { "This action is sensitive: sign in again to continue. You will come back where you were." }
        @if let Some(problem) = problem {
            p.error role="alert" { (problem) }
        }
        @match provider {
            Some(name) => {
                @let query = url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("reauthenticate", "true")
                    .append_pair("redirect_to", next)
                    .finish();
                a.button href=(format!("/api/v1/auth/sso/{name}/start?{query}")) { "Sign in again with " (name) }
            }
            None => {
                form.card method="post" action="/reauthenticate" {
                    (crate::web::page::csrf_field(viewer))
                    input type="hidden" name="next" value=(next);
                    label for="password" { "Password" }
                    input #password type="password" name="password" autocomplete="current-password" required autofocus;
                    div { button type="submit" { "Continue" } }
                }
            }
        }
    };
    viewer_page(viewer, "Confirm it is you", status, main)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReauthenticateForm {
    csrf: String,
    password: String,
    #[serde(default)]
    next: String,
}

/// `POST /reauthenticate`: the password renews the session's sign-in; back to `next`.
pub async fn reauthenticate(
    State(state): State<AppState>,
    Extension(guards): Extension<ApiGuards>,
    browser: Browser,
    form: Result<ApiForm<ReauthenticateForm>, ApiError>,
) -> Result<Response, WebError> {
    let (viewer, form) = browser
        .admit_form(&state, &guards, &REAUTHENTICATE, &WebPath::none(), form)
        .await?;
    let next = local_path(Some(&form.next));
    match state.app.reauthenticate(&viewer.ctx, &form.password).await {
        Ok(()) => Ok(see_other(&next)),
        Err(error) => {
            let error = ApiError::from(error);
            Ok(reauthenticate_form(
                &viewer,
                &next,
                Some(&error.message),
                error.status,
            ))
        }
    }
}

crate::signed_forms!(ReauthenticateForm);
