//! Who is asking, for the UI: the browser's session, the same-origin check of a form,
//! and admission through [`crate::enforce::admit`] with the guard of the API route a page
//! or form stands for. A refusal is a [`WebError`]: a redirect to the login page when
//! nobody is signed in, otherwise a page with the API's status, code and message.

use std::collections::HashMap;

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rampart_app::platform::identity::Me;
use rampart_app::platform::tenancy::ResolvedScope;
use rampart_app::{Actor, AppError, Ctx, RequestMeta};
use rampart_domain::ErrorCode;
use rampart_domain::platform::tenancy::Scope;
use zeroize::Zeroizing;

use super::ApiGuards;
use crate::AppState;
use crate::enforce::{Target, admit, session_cookie};
use crate::error::ApiError;
use crate::extract::ApiForm;

/// An API route as the UI names it: method and the route table's path.
pub type ApiRoute = (Method, &'static str);

/// Why a page is not shown.
#[derive(Debug)]
pub enum WebError {
    /// Nobody is signed in, or the session ended: to the login page, then back to
    /// `next`.
    SignIn { next: String },
    /// The route is sensitive and the session's sign-in is not recent (step-up): to the
    /// re-authentication page, then back to `next`.
    Reauthenticate { next: String },
    /// A refusal or a failure, shown as a page with the API's status, code and message.
    Refused(ApiError),
}

impl From<AppError> for WebError {
    fn from(error: AppError) -> Self {
        Self::Refused(ApiError::from(error))
    }
}

impl From<ApiError> for WebError {
    fn from(error: ApiError) -> Self {
        Self::Refused(error)
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        match self {
            Self::SignIn { next } => {
                let query = url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("next", &next)
                    .finish();
                see_other(&format!("/login?{query}"))
            }
            Self::Reauthenticate { next } => {
                let query = url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("next", &next)
                    .finish();
                see_other(&format!("/reauthenticate?{query}"))
            }
            Self::Refused(error) => super::page::error_page(&error),
        }
    }
}

/// A form's field that does not hold what it must: 400 naming the field.
pub fn invalid(field: &'static str, message: impl Into<String>) -> WebError {
    AppError::Invalid(rampart_domain::ValidationError::new(field, message)).into()
}

/// A form field holding a JSON document (a definition as the API and the CLI take it):
/// 400 naming `field` when it is not JSON.
pub fn form_json(field: &'static str, text: &str) -> Result<serde_json::Value, WebError> {
    serde_json::from_str(text)
        .map_err(|error| invalid(field, format!("the {field} is not JSON: {error}")))
}

/// The most rows a form that repeats fields per row may send (layers, levels, rules).
pub const FORM_ROWS_MAX: usize = 50;
/// The most lines one field of people or targets may hold (each is looked up).
pub const FORM_LINES_MAX: usize = 100;

/// The rows of a form that repeats fields per row (`<prefix><i>.<field>`, `i` = 0, 1, …
/// written plainly), each row's fields by name, in order. Any other key, an unknown
/// field, an index written otherwise (`01`, `+1`), a gap between indices or more than
/// [`FORM_ROWS_MAX`] rows is refused, naming `what`: nothing a form sends is ignored.
pub fn form_rows<'a>(
    fields: &'a std::collections::BTreeMap<String, String>,
    prefix: &str,
    names: &[&str],
    what: &'static str,
) -> Result<Vec<HashMap<&'a str, &'a str>>, WebError> {
    let mut rows: Vec<HashMap<&'a str, &'a str>> = Vec::new();
    let mut indexed: Vec<(usize, &'a str, &'a str)> = Vec::new();
    for (key, value) in fields {
        let parsed = key
            .strip_prefix(prefix)
            .and_then(|rest| rest.split_once('.'))
            .and_then(|(index, field)| {
                let number = index.parse::<usize>().ok()?;
                (number.to_string() == index && names.contains(&field)).then_some((number, field))
            });
        let Some((index, field)) = parsed else {
            return Err(invalid(what, format!("{key} is not a field of this form")));
        };
        if index >= FORM_ROWS_MAX {
            return Err(invalid(
                what,
                format!("at most {FORM_ROWS_MAX} rows in one form"),
            ));
        }
        indexed.push((index, field, value.as_str()));
    }
    for (index, field, value) in indexed {
        if rows.len() <= index {
            rows.resize_with(index + 1, HashMap::new);
        }
        if let Some(row) = rows.get_mut(index) {
            row.insert(field, value);
        }
    }
    if rows.iter().any(HashMap::is_empty) {
        return Err(invalid(what, "the form's rows are numbered with a gap"));
    }
    Ok(rows)
}

/// The non-empty lines (or comma-separated items) of a field of people or targets,
/// trimmed; more than [`FORM_LINES_MAX`] is refused.
pub fn form_lines<'a>(text: &'a str, what: &'static str) -> Result<Vec<&'a str>, WebError> {
    let lines: Vec<&str> = text
        .split(['\n', ','])
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect();
    if lines.len() > FORM_LINES_MAX {
        return Err(invalid(
            what,
            format!("at most {FORM_LINES_MAX} entries in one field"),
        ));
    }
    Ok(lines)
}

/// A `303 See Other` (after a form, to the login page, to a provider's logout).
pub fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// The longest path a sign-in returns to.
const RETURN_PATH_BYTES_MAX: usize = 2048;

/// Where to go after signing in: a path of this server, never another site — anything
/// not starting with `/`, `//host`, a backslash anywhere, a control, space or non-ASCII
/// character (an address arrives percent-encoded) or an overlong path becomes `/`.
pub fn local_path(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.contains('\\')
                && path.len() <= RETURN_PATH_BYTES_MAX
                && path.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            path.to_owned()
        }
        _ => "/".to_owned(),
    }
}

/// A browser's request as the UI reads it before deciding anything.
pub struct Browser {
    secret: Option<Zeroizing<String>>,
    meta: RequestMeta,
    method: Method,
    same_origin: bool,
    /// `https://<host>` as the browser addressed this server (webhook addresses shown
    /// to the person are built on it).
    origin: String,
    /// The page to come back to after signing in or re-authenticating: this one for a
    /// page; for a form, the page it was sent from (its same-origin `Referer`), else home.
    back: String,
    /// A read the page makes by itself (an event stream: a GET with `Accept:
    /// text/event-stream`): it does not slide the session's idle timeout.
    unattended: bool,
}

/// A state-changing request from a browser must come from this server: `Origin` (when
/// sent) is this origin, and `Sec-Fetch-Site` (when sent) is `same-origin` or `none` (typed
/// by the person). Browsers send both on cross-site form posts; the CSRF token stays the
/// first line of defence.
fn from_this_origin(headers: &HeaderMap, authority: Option<&str>) -> bool {
    let fetch_site_ok = headers
        .get("sec-fetch-site")
        .is_none_or(|value| matches!(value.to_str(), Ok("same-origin" | "none")));
    fetch_site_ok && crate::enforce::origin_matches(headers, authority)
}

impl<S: Send + Sync> FromRequestParts<S> for Browser {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let authority = parts.uri.authority().map(|a| a.as_str().to_owned());
        let host = parts
            .headers
            .get(axum::http::header::HOST)
            .and_then(|host| host.to_str().ok())
            .or(authority.as_deref())
            .unwrap_or_default()
            .to_owned();
        let origin = format!("https://{host}");
        let here = parts
            .uri
            .path_and_query()
            .map_or_else(|| "/".to_owned(), |pq| pq.as_str().to_owned());
        let back = if matches!(parts.method, Method::GET | Method::HEAD) {
            here.clone()
        } else {
            let referer = parts
                .headers
                .get(axum::http::header::REFERER)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.strip_prefix(&origin));
            local_path(referer)
        };
        Ok(Self {
            secret: session_cookie(&parts.headers).map(|s| Zeroizing::new(s.to_owned())),
            meta: parts
                .extensions
                .get::<RequestMeta>()
                .cloned()
                .unwrap_or_default(),
            method: parts.method.clone(),
            same_origin: from_this_origin(&parts.headers, authority.as_deref()),
            origin,
            back,
            // Reads only: a form always carries and is checked for its CSRF token.
            unattended: parts.method == Method::GET
                && parts
                    .headers
                    .get(axum::http::header::ACCEPT)
                    .and_then(|value| value.to_str().ok())
                    .is_some_and(|accept| accept.contains("text/event-stream")),
        })
    }
}

impl Browser {
    /// Where people reach this server: the configured `server.public_url`, else
    /// `https://<host>` as the browser addressed it (webhook and CLI addresses shown on
    /// pages are built on it).
    pub fn origin(&self, state: &AppState) -> String {
        state.app.settings().public_url.as_deref().map_or_else(
            || self.origin.clone(),
            |url| url.trim_end_matches('/').to_owned(),
        )
    }

    pub fn meta(&self) -> &RequestMeta {
        &self.meta
    }

    fn state_changing(&self) -> bool {
        !matches!(self.method, Method::GET | Method::HEAD)
    }

    /// Refuses a state-changing request from another site (also before anyone is
    /// signed in: the login form).
    pub fn check_origin(&self) -> Result<(), WebError> {
        if self.state_changing() && !self.same_origin {
            return Err(AppError::forbidden(
                ErrorCode::OriginMismatch,
                "a form must be sent from this server's own pages",
            )
            .into());
        }
        Ok(())
    }

    /// The session's cookie value, if the browser sent one.
    pub fn session_secret(&self) -> Option<&str> {
        self.secret.as_deref().map(String::as_str)
    }

    /// The session's cookie value to keep (a live stream checks it on every poll);
    /// empty when none was sent (such a request was not admitted).
    pub fn owned_session_secret(&self) -> Zeroizing<String> {
        self.secret.clone().unwrap_or_default()
    }

    /// The page to come back to (see the field).
    pub fn back(&self) -> &str {
        &self.back
    }

    /// The signed-in person. A form passes the CSRF token it carried, checked against
    /// the session's; a page (GET) passes none. No session, or one that ended: to the
    /// login page and back (to the page a form was sent from).
    pub async fn signed_in(
        &self,
        state: &AppState,
        form_csrf: Option<&str>,
    ) -> Result<SignedIn, WebError> {
        self.check_origin()?;
        let next = self.back.clone();
        let Some(secret) = self.session_secret() else {
            return Err(WebError::SignIn { next });
        };
        let authenticated = if self.unattended {
            state
                .app
                .authenticate_session_unattended(secret, &self.meta)
                .await
        } else {
            state
                .app
                .authenticate_session(secret, form_csrf, self.state_changing(), &self.meta)
                .await
        };
        match authenticated {
            Ok(actor) => Ok(SignedIn {
                actor,
                csrf: state.app.csrf_token_of_session(secret),
                meta: self.meta.clone(),
            }),
            Err(AppError::Unauthenticated {
                code: ErrorCode::SessionInvalid,
                ..
            }) => Err(WebError::SignIn { next }),
            Err(other) => Err(other.into()),
        }
    }

    /// Signs in and admits the request as `route` at the scope of `path` in one step:
    /// what almost every page and form does.
    pub async fn admit(
        &self,
        state: &AppState,
        guards: &ApiGuards,
        route: &ApiRoute,
        path: &WebPath,
        form_csrf: Option<&str>,
    ) -> Result<Viewer, WebError> {
        let admitted = self
            .signed_in(state, form_csrf)
            .await?
            .admit(state, guards, route, path)
            .await;
        match admitted {
            Err(WebError::Refused(error))
                if error.code == ErrorCode::ReauthenticationRequired.as_str() =>
            {
                Err(WebError::Reauthenticate {
                    next: self.back.clone(),
                })
            }
            other => other,
        }
    }
}

/// A form of a signed-in page: every one carries the session's CSRF token (implemented
/// with [`crate::signed_forms!`]).
pub trait SignedForm {
    fn csrf(&self) -> &str;
}

/// A form that is only a button (revoke, remove, acknowledge…): the CSRF token alone.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ButtonForm {
    csrf: String,
}

/// Implements [`SignedForm`] for form structs that have a `csrf` field.
#[macro_export]
macro_rules! signed_forms {
    ($($form:ty),+ $(,)?) => {
        $(impl $crate::web::gate::SignedForm for $form {
            fn csrf(&self) -> &str {
                &self.csrf
            }
        })+
    };
}

impl Browser {
    /// A form sent from a signed-in page: it must come from this origin and parse, and is
    /// admitted as `route` at the scope of `path` with the CSRF token it carried.
    pub async fn admit_form<T: SignedForm>(
        &self,
        state: &AppState,
        guards: &ApiGuards,
        route: &ApiRoute,
        path: &WebPath,
        form: Result<ApiForm<T>, ApiError>,
    ) -> Result<(Viewer, T), WebError> {
        self.check_origin()?;
        let ApiForm(form) = form?;
        let viewer = self
            .admit(state, guards, route, path, Some(form.csrf()))
            .await?;
        Ok((viewer, form))
    }
}

/// A browser with a live session, not yet admitted to anything.
pub struct SignedIn {
    actor: Actor,
    csrf: Zeroizing<String>,
    meta: RequestMeta,
}

impl SignedIn {
    /// Admits the request as the API route `route` at the scope named by `path`'s
    /// `{org}` and `{project}`: the route's access, allowlists, SSO policies and step-up,
    /// a denial audited — exactly as the API would.
    pub async fn admit(
        self,
        state: &AppState,
        guards: &ApiGuards,
        route: &ApiRoute,
        path: &WebPath,
    ) -> Result<Viewer, WebError> {
        let (method, api_path) = route;
        let guard = guards.of(method, api_path).ok_or_else(|| {
            tracing::error!(route = api_path, "a web page names no API route");
            ApiError::new(ErrorCode::InternalError, "internal error")
        })?;
        let target = Target {
            org: path.get("org").map(str::to_owned),
            project: path.get("project").map(str::to_owned),
            method,
            route: api_path,
        };
        let (ctx, scope) = admit(state, self.actor, self.meta, guard, &target).await?;
        let who = match state.app.me(&ctx).await? {
            Me::User(user) => user.email.as_str().to_owned(),
            Me::ServiceAccount(account) => account.name.to_string(),
        };
        Ok(Viewer {
            ctx,
            scope,
            csrf: self.csrf,
            who,
            guards: guards.clone(),
        })
    }
}

/// A signed-in person admitted to a page, with what the page needs to draw itself.
pub struct Viewer {
    pub ctx: Ctx,
    pub scope: ResolvedScope,
    pub csrf: Zeroizing<String>,
    /// How the header names the person (their email).
    pub who: String,
    guards: ApiGuards,
}

impl Viewer {
    /// Whether the viewer may use the API route `route` at this page's scope: a control
    /// for it is shown only then (its use is admitted again when it is sent).
    pub fn may(&self, route: &ApiRoute) -> bool {
        self.may_at(route, self.scope.scope())
    }

    /// Whether the viewer may use `route` at `scope` (a home page spanning projects).
    pub fn may_at(&self, route: &ApiRoute, scope: Scope) -> bool {
        self.guards.of(&route.0, route.1).is_some_and(|guard| {
            rampart_app::authorize(&self.ctx.actor, &self.ctx.access, guard.access, scope).is_ok()
        })
    }

    /// Whether the viewer holds `permission` on the resource `identifier` at this
    /// page's scope, its resource groups included (a workspace): a control for it is
    /// drawn only then; its use is authorised again by the use case, and audited.
    pub fn may_on_resource(
        &self,
        permission: rampart_domain::Permission,
        identifier: &str,
    ) -> bool {
        rampart_app::authorize_resource(
            &self.ctx.actor,
            &self.ctx.access,
            permission,
            self.scope.scope(),
            identifier,
        )
        .is_ok()
    }

    /// `(org, project)` identifiers of a project page.
    pub fn project(&self) -> Option<(&str, &str)> {
        match &self.scope {
            ResolvedScope::Project(org, project) => {
                Some((org.identifier.as_str(), project.identifier.as_str()))
            }
            _ => None,
        }
    }
}

/// Where a page of access or settings stands: the account (`/access`), an organisation
/// (`/o/{org}/access`) or a project (`/o/{org}/p/{project}/access`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Account,
    Org,
    Project,
}

impl Level {
    /// The level a UI path names by its `{org}` and `{project}`.
    pub fn of(path: &WebPath) -> Self {
        match (path.get("org"), path.get("project")) {
            (Some(_), Some(_)) => Self::Project,
            (Some(_), None) => Self::Org,
            _ => Self::Account,
        }
    }

    /// Of one API route at the account, an organisation and a project (as
    /// [`crate::api_routes_at_each_level!`] writes them), the one for this level.
    pub fn pick(self, routes: &'static [ApiRoute; 3]) -> &'static ApiRoute {
        let [account, org, project] = routes;
        match self {
            Self::Account => account,
            Self::Org => org,
            Self::Project => project,
        }
    }
}

/// One API route at the account, an organisation and a project: `METHOD`, and the
/// path's part after `/api/v1`, `/api/v1/orgs/{org}` or
/// `/api/v1/orgs/{org}/projects/{project}`.
#[macro_export]
macro_rules! api_routes_at_each_level {
    ($method:ident, $suffix:literal) => {
        [
            (::axum::http::Method::$method, concat!("/api/v1", $suffix)),
            (
                ::axum::http::Method::$method,
                concat!("/api/v1/orgs/{org}", $suffix),
            ),
            (
                ::axum::http::Method::$method,
                concat!("/api/v1/orgs/{org}/projects/{project}", $suffix),
            ),
        ]
    };
}

/// The parameters of a UI path (`{org}`, `{project}`, `{number}`…). One that does not
/// decode names nothing: 404.
pub struct WebPath(HashMap<String, String>);

impl WebPath {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// A parameter the route's path always has.
    pub fn param(&self, name: &str) -> &str {
        self.get(name).unwrap_or_default()
    }

    /// A path with no parameters (the home page).
    pub fn none() -> Self {
        Self(HashMap::new())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for WebPath {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let raw = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| WebError::from(AppError::NotFound { what: "page" }))?;
        Ok(Self(
            raw.iter()
                .map(|(key, value)| (key.to_owned(), value.to_owned()))
                .collect(),
        ))
    }
}

/// The query of a page's address, each name's first value (filters kept in the URL).
pub fn query_pairs(raw: Option<&str>) -> HashMap<String, String> {
    let mut pairs = HashMap::new();
    for (name, value) in url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        pairs
            .entry(name.into_owned())
            .or_insert_with(|| value.into_owned());
    }
    pairs
}

crate::signed_forms!(ButtonForm);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_returned_to() {
        assert_eq!(
            local_path(Some("/o/a/p/b/incidents?status=open")),
            "/o/a/p/b/incidents?status=open"
        );
        for foreign in [
            "https://evil.example/",
            "//evil.example/",
            "/\\evil.example",
            "evil",
            "",
            "/\nSet-Cookie: x",
            "/a\\b",
            "/é",
            "/a b",
        ] {
            assert_eq!(local_path(Some(foreign)), "/", "{foreign:?}");
        }
        assert_eq!(local_path(None), "/");
    }

    #[test]
    fn form_rows_are_read_in_order_and_nothing_is_ignored() {
        let form = |pairs: &[(&str, &str)]| -> std::collections::BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        let names = ["name", "every"];
        let sent = form(&[("row1.name", "b"), ("row0.name", "a"), ("row0.every", "2")]);
        let rows = form_rows(&sent, "row", &names, "rows").unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows.first().and_then(|r| r.get("every")), Some(&"2"));
        assert_eq!(rows.get(1).and_then(|r| r.get("name")), Some(&"b"));
        for hostile in [
            &[("row0.colour", "x")][..],
            &[("row01.name", "x")][..],
            &[("row+1.name", "x")][..],
            &[("row0.name", "a"), ("row2.name", "c")][..],
            &[("row50.name", "x")][..],
            &[("other", "x")][..],
            &[("row.name", "x")][..],
        ] {
            assert!(
                form_rows(&form(hostile), "row", &names, "rows").is_err(),
                "{hostile:?}"
            );
        }
        let many = "a,".repeat(FORM_LINES_MAX + 1);
        assert!(form_lines(&many, "people").is_err());
        assert_eq!(
            form_lines(" a@x \n\n b@x, c@x", "people").ok(),
            Some(vec!["a@x", "b@x", "c@x"])
        );
    }

    #[test]
    fn forms_must_come_from_this_origin() {
        let headers = |pairs: &[(&'static str, &'static str)]| {
            let mut map = HeaderMap::new();
            for (name, value) in pairs {
                map.insert(*name, HeaderValue::from_static(value));
            }
            map
        };
        let host = ("host", "rampart.example:8443");
        assert!(from_this_origin(&headers(&[host]), None));
        assert!(from_this_origin(
            &headers(&[
                host,
                ("origin", "https://rampart.example:8443"),
                ("sec-fetch-site", "same-origin")
            ]),
            None
        ));
        assert!(!from_this_origin(
            &headers(&[host, ("origin", "https://evil.example")]),
            None
        ));
        assert!(!from_this_origin(
            &headers(&[host, ("sec-fetch-site", "cross-site")]),
            None
        ));
        assert!(!from_this_origin(
            &headers(&[host, ("sec-fetch-site", "same-site")]),
            None
        ));
        assert!(!from_this_origin(
            &headers(&[host, ("origin", "null")]),
            None
        ));
    }
}
