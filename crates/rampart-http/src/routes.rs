//! The route table. Every route is registered in it, by the handler module that owns
//! the route (see [`crate::handlers`]), with its method, path, [`Access`] (a permission
//! from the catalogue, or explicitly public/self-service), body limit and OpenAPI
//! description; building the router wires the one enforcement middleware in front of
//! the handler with that access. The table is kept, so tests can walk every route and
//! the OpenAPI document is generated from exactly what is served.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::handler::Handler;
use axum::http::Method;
use axum::middleware::from_fn_with_state;
use axum::routing::{MethodFilter, on};
use rampart_app::Access;
use rampart_domain::Permission;

use crate::AppState;
use crate::enforce::enforce;

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
    /// Text (metrics) or a document (OpenAPI).
    Text(u16, &'static str),
}

/// One registered route.
#[derive(Clone, Debug)]
pub struct RouteSpec {
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
    pub summary: &'static str,
    pub request: Option<SchemaRef>,
    pub reply: Reply,
    /// Query parameters, documented as `(name, description)`.
    pub query: &'static [(&'static str, &'static str)],
    pub body_bytes_max: Option<usize>,
}

impl RouteSpec {
    pub fn new(method: Method, path: &'static str, access: Access, summary: &'static str) -> Self {
        Self {
            method,
            path,
            access,
            summary,
            request: None,
            reply: Reply::Empty(204),
            query: &[],
            body_bytes_max: None,
        }
    }

    pub fn body<T: utoipa::ToSchema>(mut self) -> Self {
        self.request = Some(SchemaRef::of::<T>());
        self
    }

    pub fn reply<T: utoipa::ToSchema>(mut self, status: u16) -> Self {
        self.reply = Reply::One(status, SchemaRef::of::<T>());
        self
    }

    pub fn page<T: utoipa::ToSchema>(mut self) -> Self {
        self.reply = Reply::Page(SchemaRef::of::<T>());
        self.query = LIST_QUERY;
        self
    }

    pub fn text(mut self, content_type: &'static str) -> Self {
        self.reply = Reply::Text(200, content_type);
        self
    }

    pub fn query(mut self, query: &'static [(&'static str, &'static str)]) -> Self {
        self.query = query;
        self
    }
}

pub const LIST_QUERY: &[(&str, &str)] = &[
    ("limit", "page size, 1 to 500 (default 50)"),
    ("cursor", "next_cursor of the previous page"),
];
pub const FORCE_QUERY: &[(&str, &str)] =
    &[("force", "delete even when not empty (account admins only)")];

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

/// A registered handler waiting for the application state: it is wrapped in the
/// enforcement middleware and mounted when the router is built.
type Mount = Box<dyn FnOnce(Router<AppState>, &AppState) -> Router<AppState>>;

/// The routes registered so far: their specs, and their handlers to mount. Building the
/// table needs no application, so tests can walk it.
#[derive(Default)]
pub struct RouteTable {
    specs: Vec<RouteSpec>,
    mounts: Vec<Mount>,
}

impl RouteTable {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `handler` for `spec`, behind the enforcement middleware for
    /// `spec.access` and the route's body limit.
    pub fn add<H, T>(&mut self, spec: RouteSpec, handler: H)
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let (method, path, access, body_bytes_max) = (
            spec.method.clone(),
            spec.path,
            spec.access,
            spec.body_bytes_max,
        );
        self.mounts.push(Box::new(move |router, state| {
            let body_limit = body_bytes_max.unwrap_or(state.settings.body_bytes_max);
            let guarded = handler
                .layer(from_fn_with_state((state.clone(), access), enforce))
                .layer(DefaultBodyLimit::max(body_limit));
            router.route(path, on(method_filter(&method), guarded))
        }));
        self.specs.push(spec);
    }

    pub fn specs(&self) -> &[RouteSpec] {
        &self.specs
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
