//! The route table. Every route is registered in it, by the handler module that owns
//! the route (see [`crate::handlers`]), with its method, path, [`Access`] (a permission
//! from the catalogue, or explicitly public/self-service), body limit and OpenAPI
//! description; building the router wires the one enforcement middleware in front of
//! the handler with that access. A handler reads its path only through a typed shape
//! ([`crate::extract::ApiPath`]), and the table notes any route whose path parameters
//! differ from its handler's shape ([`RouteTable::path_problems`], kept empty by a
//! test). The table is kept, so tests can walk every route and the OpenAPI document is
//! generated from exactly what is served.

use axum::Extension;
use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::handler::Handler;
use axum::http::Method;
use axum::middleware::from_fn_with_state;
use axum::routing::{MethodFilter, on};
use rampart_app::Access;
use rampart_domain::Permission;

use crate::AppState;
use crate::enforce::enforce;
use crate::extract::{ApiJson, ApiPath, ApiQuery, PathParams};

/// A schema named in the OpenAPI document, with the function that registers it.
#[derive(Clone, Copy)]
pub struct SchemaRef {
    pub name: fn() -> String,
    pub register: fn(
        &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ),
}

impl std::fmt::Debug for SchemaRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&(self.name)())
    }
}

impl SchemaRef {
    pub fn of<T: utoipa::ToSchema>() -> Self {
        Self {
            name: || T::name().into_owned(),
            register: |schemas| {
                schemas.push((T::name().into_owned(), T::schema()));
                T::schemas(schemas);
            },
        }
    }
}

/// What a successful response carries.
#[derive(Clone, Copy, Debug)]
pub enum Reply {
    /// A JSON object of this schema.
    One(u16, SchemaRef),
    /// A list page of this schema.
    Page(SchemaRef),
    /// No body.
    Empty(u16),
    /// Text (metrics), a document (OpenAPI, a state) or an export, in one of these
    /// content types.
    Text(u16, &'static [&'static str]),
}

/// What values a query parameter takes, as the handler reads it: the OpenAPI document
/// gives each parameter this schema.
#[derive(Clone, Copy, Debug)]
pub enum Shape {
    /// Any text.
    Text,
    /// A whole number from `min` to `max`.
    Integer { min: u64, max: u64 },
    /// `true` or `false`.
    Boolean,
    /// An RFC 3339 time.
    Time,
    /// One of these words.
    OneOf(&'static [&'static str]),
    /// Text matching this pattern (ECMA-262, anchored).
    Pattern(&'static str),
}

/// One query parameter of a route.
#[derive(Clone, Copy, Debug)]
pub struct QueryParam {
    pub name: &'static str,
    pub description: &'static str,
    pub required: bool,
    pub shape: Shape,
}

impl QueryParam {
    pub const fn optional(name: &'static str, description: &'static str, shape: Shape) -> Self {
        Self {
            name,
            description,
            required: false,
            shape,
        }
    }

    pub const fn required(name: &'static str, description: &'static str, shape: Shape) -> Self {
        Self {
            name,
            description,
            required: true,
            shape,
        }
    }
}

/// A UUID as the API writes it (see `rampart_domain::parse_uuid`).
pub const UUID_PATTERN: &str =
    "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";
/// An identifier used in URLs (`rampart_domain::Slug`).
pub const SLUG_PATTERN: &str = "^[a-z0-9][a-z0-9-]{0,62}$";
/// The largest number the store keeps (`rampart_domain::parse_number`).
pub const NUMBER_MAX: u64 = i64::MAX as u64;

/// One registered route.
#[derive(Clone, Debug)]
pub struct RouteSpec {
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
    pub summary: &'static str,
    pub request: Option<SchemaRef>,
    /// The request body's media type: `application/json`, or a form for what browsers
    /// post (SAML's assertion consumer service).
    pub request_content_type: &'static str,
    pub reply: Reply,
    /// Query parameters.
    pub query: &'static [QueryParam],
    /// Error statuses this route answers besides those every route of its kind does
    /// (see `openapi::error_statuses`): a conflict, a lock, shredded data.
    pub errors: &'static [u16],
    /// The route's body limit, read from the settings when the router is built; `None`
    /// for the API's default (`server.body_bytes_max`).
    pub body_bytes_max: Option<fn(&AppState) -> usize>,
    /// A sensitive route (key operations, role changes, tokens, SSO settings, runbook
    /// execution, approvals): a session must have signed in (or re-authenticated)
    /// within `auth.reauthentication_minutes` (step-up; API tokens are not asked).
    pub step_up: bool,
}

impl RouteSpec {
    pub fn new(method: Method, path: &'static str, access: Access, summary: &'static str) -> Self {
        Self {
            method,
            path,
            access,
            summary,
            request: None,
            request_content_type: "application/json",
            reply: Reply::Empty(204),
            query: &[],
            errors: &[],
            body_bytes_max: None,
            step_up: false,
        }
    }

    /// Marks the route sensitive: see [`RouteSpec::step_up`].
    pub fn step_up(mut self) -> Self {
        self.step_up = true;
        self
    }

    pub fn body<T: utoipa::ToSchema>(mut self) -> Self {
        self.request = Some(SchemaRef::of::<T>());
        self
    }

    /// A body posted as an HTML form (`application/x-www-form-urlencoded`, read with
    /// `extract::ApiForm`).
    pub fn form<T: utoipa::ToSchema>(mut self) -> Self {
        self.request = Some(SchemaRef::of::<T>());
        self.request_content_type = "application/x-www-form-urlencoded";
        self
    }

    pub fn reply<T: utoipa::ToSchema>(mut self, status: u16) -> Self {
        self.reply = Reply::One(status, SchemaRef::of::<T>());
        self
    }

    /// A success without a body, answered with `status` (204 unless told).
    pub fn empty(mut self, status: u16) -> Self {
        self.reply = Reply::Empty(status);
        self
    }

    pub fn page<T: utoipa::ToSchema>(mut self) -> Self {
        self.reply = Reply::Page(SchemaRef::of::<T>());
        self.query = LIST_QUERY;
        self
    }

    pub fn text(mut self, content_types: &'static [&'static str]) -> Self {
        self.reply = Reply::Text(200, content_types);
        self
    }

    pub fn query(mut self, query: &'static [QueryParam]) -> Self {
        self.query = query;
        self
    }

    /// A body limit of its own (a raw upload such as a plan), read from the settings.
    pub fn body_limit(mut self, limit: fn(&AppState) -> usize) -> Self {
        self.body_bytes_max = Some(limit);
        self
    }

    /// Error statuses of this route beyond its kind's (see [`RouteSpec::errors`]).
    pub fn errors(mut self, statuses: &'static [u16]) -> Self {
        self.errors = statuses;
        self
    }
}

/// `limit`, as every list reads it.
pub const LIMIT: QueryParam = QueryParam::optional(
    "limit",
    "page size, 1 to 500 (default 50)",
    Shape::Integer { min: 1, max: 500 },
);
/// `cursor`, as every list reads it.
pub const CURSOR: QueryParam = QueryParam::optional(
    "cursor",
    "next_cursor of the previous page",
    Shape::Pattern(UUID_PATTERN),
);
pub const LIST_QUERY: &[QueryParam] = &[LIMIT, CURSOR];
/// `cursor` of a list paged by number (incidents, state versions, audit events).
pub const NUMBER_CURSOR: QueryParam = QueryParam::optional(
    "cursor",
    "next_cursor of the previous page",
    Shape::Pattern("^(0|[1-9][0-9]{0,18})$"),
);
pub const NUMBERED_LIST_QUERY: &[QueryParam] = &[LIMIT, NUMBER_CURSOR];
pub const FORCE_QUERY: &[QueryParam] = &[QueryParam::optional(
    "force",
    "delete even when not empty (account admins only)",
    Shape::Boolean,
)];

/// The base of a project's routes.
pub const PROJECT: &str = "/api/v1/orgs/{org}/projects/{project}";

/// The access of a route that needs `permission` at its scope.
pub fn perm(permission: Permission) -> Access {
    Access::Permission(permission)
}

/// `base` followed by `suffix`, for routes registered under several bases. Paths are
/// registered once when the router is built, so leaking them is fine.
pub fn join_path(base: &str, suffix: &str) -> &'static str {
    Box::leak(format!("{base}{suffix}").into_boxed_str())
}

fn method_filter(method: &Method) -> MethodFilter {
    match *method {
        Method::GET => MethodFilter::GET,
        Method::POST => MethodFilter::POST,
        Method::PUT => MethodFilter::PUT,
        Method::PATCH => MethodFilter::PATCH,
        Method::DELETE => MethodFilter::DELETE,
        Method::HEAD => MethodFilter::HEAD,
        Method::OPTIONS => MethodFilter::OPTIONS,
        _ => MethodFilter::TRACE,
    }
}

/// What a handler reads from its route's path, known from the types of its arguments:
/// the names of its [`ApiPath`] shape, or nothing. Implemented for the extractors that
/// handlers in the table take; axum's `Path` and `RawPathParams` deliberately are not,
/// so a handler in the table can read its path only through a [`PathParams`] shape,
/// which [`RouteTable::add`] checks against the route's path.
pub trait ReadsPath {
    fn path_names() -> Option<&'static [&'static str]> {
        None
    }
}

impl<T> ReadsPath for State<T> {}
impl<T> ReadsPath for Extension<T> {}
impl<T> ReadsPath for ApiJson<T> {}
impl<T> ReadsPath for crate::extract::ApiForm<T> {}
impl<T> ReadsPath for ApiQuery<T> {}
/// Request headers (a credential read by the handler on a route the edge leaves open).
impl ReadsPath for axum::http::HeaderMap {}
/// A raw body (an upload read as it is sent, such as a plan).
impl ReadsPath for axum::body::Body {}
/// The raw query (a signature over its bytes as sent).
impl ReadsPath for axum::extract::RawQuery {}

impl<T: PathParams> ReadsPath for ApiPath<T> {
    fn path_names() -> Option<&'static [&'static str]> {
        Some(T::NAMES)
    }
}

/// A handler without arguments.
impl ReadsPath for ((),) {}

/// A handler's arguments, as axum's `Handler` sees them: a marker, then each extractor.
macro_rules! reads_path_tuple {
    ($($ty:ident),+) => {
        impl<M, $($ty: ReadsPath),+> ReadsPath for (M, $($ty,)+) {
            fn path_names() -> Option<&'static [&'static str]> {
                None$(.or_else($ty::path_names))+
            }
        }
    };
}
reads_path_tuple!(T1);
reads_path_tuple!(T1, T2);
reads_path_tuple!(T1, T2, T3);
reads_path_tuple!(T1, T2, T3, T4);
reads_path_tuple!(T1, T2, T3, T4, T5);
reads_path_tuple!(T1, T2, T3, T4, T5, T6);
reads_path_tuple!(T1, T2, T3, T4, T5, T6, T7);
reads_path_tuple!(T1, T2, T3, T4, T5, T6, T7, T8);

/// Path parameters that name the scope; the enforcement point resolves them, handlers
/// never read them.
const SCOPE_PARAMS: &[&str] = &["org", "project"];

/// The parameters of a path template other than the scope's, e.g. `["service"]` for
/// `/api/v1/orgs/{org}/projects/{project}/services/{service}`.
pub fn own_path_params(path: &str) -> Vec<&str> {
    path.split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
        .filter(|name| !SCOPE_PARAMS.contains(name))
        .collect()
}

/// Why a handler that reads `names` does not fit the route `method path`, if it does not.
fn path_problem(method: &Method, path: &str, names: &[&str]) -> Option<String> {
    let mut expected = own_path_params(path);
    expected.sort_unstable();
    let mut read = names.to_vec();
    read.sort_unstable();
    (expected != read)
        .then(|| format!("{method} {path}: the path has {expected:?}, the handler reads {read:?}"))
}

/// A registered handler waiting for the application state: it is wrapped in the
/// enforcement middleware and mounted when the router is built.
type Mount = Box<dyn FnOnce(Router<AppState>, &AppState) -> Router<AppState>>;

/// The routes registered so far: their specs, and their handlers to mount. Building the
/// table needs no application, so tests can walk it.
/// Refuses a body whose declared length is over the route's limit before anything else
/// (authentication included) looks at the request, and tells the edge the limit.
async fn refuse_declared_oversize(
    State(limit_bytes): State<usize>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let watch = request.extensions().get::<crate::unread_body::BodyWatch>();
    if crate::unread_body::declared_over(watch, request.headers(), limit_bytes) {
        return axum::response::IntoResponse::into_response(crate::extract::body_too_large());
    }
    next.run(request).await
}

#[derive(Default)]
pub struct RouteTable {
    specs: Vec<RouteSpec>,
    mounts: Vec<Mount>,
    path_problems: Vec<String>,
}

impl RouteTable {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `handler` for `spec`, behind the enforcement middleware for
    /// `spec.access` and the route's body limit. A handler whose path shape does not
    /// name exactly the route's own parameters is noted in [`Self::path_problems`].
    pub fn add<H, T>(&mut self, spec: RouteSpec, handler: H)
    where
        H: Handler<T, AppState>,
        T: ReadsPath + 'static,
    {
        let names = T::path_names().unwrap_or_default();
        if let Some(problem) = path_problem(&spec.method, spec.path, names) {
            self.path_problems.push(problem);
        }
        let (method, path, body_bytes_max) = (spec.method.clone(), spec.path, spec.body_bytes_max);
        let guard = crate::enforce::Guard {
            access: spec.access,
            step_up: spec.step_up,
        };
        self.mounts.push(Box::new(move |router, state| {
            let body_limit =
                body_bytes_max.map_or(state.settings.body_bytes_max, |limit| limit(state));
            let guarded = handler
                .layer(from_fn_with_state((state.clone(), guard), enforce))
                .layer(from_fn_with_state(body_limit, refuse_declared_oversize))
                .layer(DefaultBodyLimit::max(body_limit));
            router.route(path, on(method_filter(&method), guarded))
        }));
        self.specs.push(spec);
    }

    pub fn specs(&self) -> &[RouteSpec] {
        &self.specs
    }

    /// Routes whose handler reads other path parameters than the route's path has
    /// (a test keeps this empty).
    pub fn path_problems(&self) -> &[String] {
        &self.path_problems
    }

    /// Mounts every handler with `state`, in registration order.
    pub fn into_parts(self, state: &AppState) -> (Router<AppState>, Vec<RouteSpec>) {
        let router = self
            .mounts
            .into_iter()
            .fold(Router::new(), |router, mount| mount(router, state));
        (router, self.specs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::path_params;

    path_params! {
        struct ThingPath { thing }
    }
    path_params! {
        struct MisspeltPath { thnig }
    }

    async fn reads_thing(ApiPath(path): ApiPath<ThingPath>) -> String {
        path.thing
    }
    async fn reads_misspelt(ApiPath(path): ApiPath<MisspeltPath>) -> String {
        path.thnig
    }
    async fn reads_nothing(State(_): State<AppState>) {}

    #[test]
    fn scope_parameters_are_not_the_handlers() {
        assert_eq!(
            own_path_params("/api/v1/orgs/{org}/projects/{project}/things/{thing}"),
            ["thing"]
        );
        assert!(own_path_params("/api/v1/orgs/{org}").is_empty());
    }

    #[test]
    fn a_handler_whose_shape_does_not_fit_its_path_is_a_problem() {
        let route = |path| RouteSpec::new(Method::GET, path, Access::Public, "test");
        let mut table = RouteTable::new();
        table.add(route("/api/v1/orgs/{org}/things/{thing}"), reads_thing);
        table.add(route("/api/v1/orgs/{org}"), reads_nothing);
        assert_eq!(table.path_problems(), &[] as &[String]);

        table.add(route("/api/v1/things/{thing}"), reads_misspelt);
        table.add(route("/api/v1/more/{thing}"), reads_nothing);
        table.add(route("/api/v1/things"), reads_thing);
        assert_eq!(
            table.path_problems(),
            [
                "GET /api/v1/things/{thing}: the path has [\"thing\"], the handler reads [\"thnig\"]",
                "GET /api/v1/more/{thing}: the path has [\"thing\"], the handler reads []",
                "GET /api/v1/things: the path has [], the handler reads [\"thing\"]",
            ]
        );
    }
}
