//! The OpenAPI 3.1 document, generated from the route table, so that it describes
//! exactly the routes that are served, each with its required permission in
//! `x-rampart-permission`, its path and query parameters as the handlers read them,
//! and every status it answers (errors with the error body). The two routes mounted
//! beside the table — the Terraform state backend (`/tf/v1/…`) and incoming webhooks
//! (`/hooks/…`) — are described here by hand ([`outside_table`]), next to the router
//! that mounts them. A copy is checked in at `docs/openapi.json`; a test keeps it
//! fresh, and a schemathesis run checks the server against it.

use std::collections::BTreeSet;

use rampart_api::ErrorBody;
use rampart_app::Access;
use rampart_domain::ErrorCode;
use utoipa::openapi::extensions::ExtensionsBuilder;
use utoipa::openapi::path::{
    HttpMethod, Operation, OperationBuilder, Parameter, ParameterBuilder, ParameterIn,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{
    AdditionalProperties, ArrayBuilder, KnownFormat, ObjectBuilder, Schema, SchemaFormat,
    SchemaType, Type,
};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, Paths, Ref, RefOr,
    Required, ResponseBuilder,
};

use crate::routes::{
    NUMBER_MAX, QueryParam, Reply, RouteSpec, SLUG_PATTERN, SchemaRef, Shape, UUID_PATTERN,
};

fn http_method(method: &axum::http::Method) -> HttpMethod {
    match *method {
        axum::http::Method::POST => HttpMethod::Post,
        axum::http::Method::PUT => HttpMethod::Put,
        axum::http::Method::PATCH => HttpMethod::Patch,
        axum::http::Method::DELETE => HttpMethod::Delete,
        axum::http::Method::HEAD => HttpMethod::Head,
        axum::http::Method::OPTIONS => HttpMethod::Options,
        _ => HttpMethod::Get,
    }
}

fn operation_id(method: &str, path: &str) -> String {
    let mut id = method.to_lowercase();
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        id.push('_');
        id.push_str(
            &segment
                .trim_start_matches('{')
                .trim_end_matches('}')
                .replace(['-', '.'], "_"),
        );
    }
    id
}

fn path_parameters(path: &str) -> Vec<&str> {
    path.split('/')
        .filter_map(|segment| segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .collect()
}

fn json_ref(name: &str) -> utoipa::openapi::Content {
    ContentBuilder::new()
        .schema(Some(Ref::from_schema_name(name)))
        .build()
}

fn text_schema() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

fn pattern_schema(pattern: &str) -> ObjectBuilder {
    text_schema().pattern(Some(pattern))
}

fn integer_schema(min: u64, max: u64) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(min as f64))
        .maximum(Some(max as f64))
}

/// `UUID_PATTERN` without its anchors, to combine with other forms.
fn uuid_alternative() -> &'static str {
    UUID_PATTERN.trim_start_matches('^').trim_end_matches('$')
}

/// The schema of a path parameter, by its name: identifiers are slugs, numbers are
/// canonical decimals the store can hold, everything else is a UUID (see
/// `rampart_domain::{Slug, parse_number, parse_uuid}`).
fn path_parameter_schema(name: &str) -> ObjectBuilder {
    match name {
        "org" | "project" | "workspace" | "service" | "schedule" | "policy" | "secret" => {
            pattern_schema(SLUG_PATTERN)
        }
        "number" | "item" => integer_schema(1, NUMBER_MAX),
        // A version number, or `current` for the newest.
        "version" => pattern_schema("^(current|[1-9][0-9]{0,18})$"),
        // Built-in roles are named (`_viewer`); custom roles have UUIDs.
        "role_id" => pattern_schema(&format!("^(_[a-z_]{{1,62}}|{})$", uuid_alternative())),
        // Overrides written in a full definition without an id have a derived one.
        "override_id" => {
            pattern_schema(&format!("^({}|legacy-[0-9a-f]{{16}})$", uuid_alternative()))
        }
        _ => pattern_schema(UUID_PATTERN),
    }
}

fn path_parameter(name: &str) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Path)
        .required(Required::True)
        .schema(Some(path_parameter_schema(name)))
        .build()
}

fn query_schema(shape: Shape) -> ObjectBuilder {
    match shape {
        Shape::Text => text_schema(),
        Shape::Integer { min, max } => integer_schema(min, max),
        Shape::Boolean => ObjectBuilder::new().schema_type(Type::Boolean),
        Shape::Time => text_schema().format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime))),
        Shape::OneOf(words) => text_schema().enum_values(Some(words.iter().copied())),
        Shape::Pattern(pattern) => pattern_schema(pattern),
    }
}

fn query_parameter(query: &QueryParam) -> Parameter {
    ParameterBuilder::new()
        .name(query.name)
        .parameter_in(ParameterIn::Query)
        .required(if query.required {
            Required::True
        } else {
            Required::False
        })
        .description(Some(query.description))
        .schema(Some(query_schema(query.shape)))
        .build()
}

/// The error statuses a route answers, from what it is: every route can be throttled
/// (429), meet stored data that fails its integrity check (500) or a database that is
/// away or slow (503); a route that needs credentials refuses missing or bad ones (401)
/// and insufficient ones (403); a path with parameters may name nothing (404); a body
/// can be malformed (400), too large (413) or not JSON (415); a query can be invalid
/// (400); a change can conflict with what is stored (409). Beyond these, the statuses
/// the route declares itself ([`RouteSpec::errors`]).
pub fn error_statuses(spec: &RouteSpec) -> BTreeSet<u16> {
    let mut statuses = BTreeSet::from([429, 500, 503]);
    if spec.access != Access::Public {
        statuses.extend([401, 403]);
    }
    if !path_parameters(spec.path).is_empty() {
        statuses.insert(404);
    }
    if spec.request.is_some() {
        statuses.extend([400, 413, 415]);
    }
    if !spec.query.is_empty() {
        statuses.insert(400);
    }
    if spec.method != axum::http::Method::GET && !spec.path.starts_with("/api/v1/auth/") {
        statuses.insert(409);
    }
    statuses.extend(spec.errors.iter().copied());
    statuses
}

/// What an error status means, for the document.
fn error_description(status: u16) -> &'static str {
    match status {
        400 => "the request is invalid (a stable `code` says how)",
        401 => "no credentials, or credentials that are not valid",
        403 => "the credentials do not allow this here",
        404 => "nothing here, or nothing the caller may see",
        409 => "the change conflicts with what is stored",
        410 => "the data's keys were destroyed (crypto-shredding)",
        413 => "the body is larger than the route accepts",
        415 => "the body is not sent with the media type the request body names",
        422 => "the request cannot be carried out as asked",
        423 => "the resource is locked",
        429 => "too many requests; `Retry-After` says when to retry",
        500 => "stored data failed an integrity check, or an unexpected failure",
        503 => "the database is unavailable or the request took too long; retry",
        _ => "an error",
    }
}

fn error_response(status: u16, schema: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(error_description(status))
        .content("application/json", json_ref(schema))
        .build()
}

fn permission_text(access: Access) -> String {
    match access {
        Access::Public => "public".to_owned(),
        Access::SelfService | Access::SelfServiceNarrowedOk | Access::SeeScope => {
            "authenticated".to_owned()
        }
        Access::Permission(permission) => permission.as_str().to_owned(),
        Access::List(permission) => format!("{permission} (items filtered)"),
        Access::PerResource(permission) => format!("{permission} (per resource)"),
    }
}

/// The schema objects collected while building, registered once each.
struct Schemas {
    schemas: Vec<(String, RefOr<Schema>)>,
    registered: BTreeSet<String>,
}

impl Schemas {
    fn register(&mut self, schema: SchemaRef) {
        if self.registered.insert((schema.name)()) {
            (schema.register)(&mut self.schemas);
        }
    }
}

/// The description of a sensitive operation (see `RouteSpec::step_up`).
pub const STEP_UP_DESCRIPTION: &str = "Step-up: a session must have signed in or \
    re-authenticated within `auth.reauthentication_minutes`, else 401 \
    `reauthentication_required` (API tokens are not asked).";

fn table_operation(spec: &RouteSpec, schemas: &mut Schemas) -> Operation {
    let mut operation = OperationBuilder::new()
        .summary(Some(spec.summary))
        .operation_id(Some(operation_id(spec.method.as_str(), spec.path)));
    for name in path_parameters(spec.path) {
        operation = operation.parameter(path_parameter(name));
    }
    for query in spec.query {
        operation = operation.parameter(query_parameter(query));
    }
    if let Some(body) = spec.request {
        schemas.register(body);
        operation = operation.request_body(Some(
            RequestBodyBuilder::new()
                .content(spec.request_content_type, json_ref(&(body.name)()))
                .required(Some(Required::True))
                .build(),
        ));
    }
    operation = match spec.reply {
        Reply::One(status, schema) => {
            schemas.register(schema);
            operation.response(
                status.to_string(),
                ResponseBuilder::new()
                    .description("success")
                    .content("application/json", json_ref(&(schema.name)())),
            )
        }
        Reply::Page(schema) => {
            schemas.register(schema);
            let page = ObjectBuilder::new()
                .property(
                    "items",
                    ArrayBuilder::new().items(Ref::from_schema_name((schema.name)())),
                )
                .required("items")
                .property(
                    "next_cursor",
                    ObjectBuilder::new()
                        .schema_type(SchemaType::from_iter([Type::String, Type::Null])),
                )
                .required("next_cursor");
            operation.response(
                "200",
                ResponseBuilder::new().description("one page").content(
                    "application/json",
                    ContentBuilder::new().schema(Some(page)).build(),
                ),
            )
        }
        Reply::Empty(status) => operation.response(
            status.to_string(),
            ResponseBuilder::new().description("done"),
        ),
        Reply::Text(status, content_types) => {
            let mut response = ResponseBuilder::new().description("document");
            for content_type in content_types {
                response = response.content(*content_type, ContentBuilder::new().build());
            }
            operation.response(status.to_string(), response)
        }
    };
    for status in error_statuses(spec) {
        operation = operation.response(status.to_string(), error_response(status, "ErrorBody"));
    }
    if spec.access != Access::Public {
        operation = operation.security(SecurityRequirement::new("bearer", Vec::<String>::new()));
    }
    if spec.step_up {
        // One extension per operation: utoipa keeps extensions in a hash map, and a
        // second one would make the document's bytes change from build to build.
        operation = operation.description(Some(STEP_UP_DESCRIPTION));
    }
    operation
        .extensions(Some(
            ExtensionsBuilder::new()
                .add("x-rampart-permission", permission_text(spec.access))
                .build(),
        ))
        .build()
}

/// Builds the document for `specs` (the route table) and the routes beside it.
pub fn document(specs: &[RouteSpec]) -> OpenApi {
    let mut schemas = Schemas {
        schemas: Vec::new(),
        registered: BTreeSet::new(),
    };
    schemas.register(SchemaRef::of::<ErrorBody>());

    let mut paths = Paths::new();
    for spec in specs {
        let operation = table_operation(spec, &mut schemas);
        paths.add_path_operation(spec.path, vec![http_method(&spec.method)], operation);
    }
    for (path, method, operation) in outside_table(&mut schemas) {
        paths.add_path_operation(path, vec![method], operation);
    }
    // LOCK and UNLOCK, which OpenAPI cannot name, on the lock address itself (one
    // extension per object keeps the document's key order stable).
    if let Some(lock) = paths.paths.get_mut(TF_LOCK_PATH) {
        lock.extensions = Some(
            ExtensionsBuilder::new()
                .add("x-rampart-methods", serde_json::json!(["LOCK", "UNLOCK"]))
                .build(),
        );
    }

    let mut components = ComponentsBuilder::new()
        .security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        )
        .security_scheme(
            "basic",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some(
                        "HTTP Basic: the password is a token (the username is ignored)",
                    ))
                    .build(),
            ),
        )
        .security_scheme(
            "webhook_signature",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                rampart_app::sre::alerts::SIGNATURE_HEADER,
                "`t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<body>\">` (several `v1=` \
                 during a secret's rotation)",
            ))),
        );
    let mut all = schemas.schemas;
    all.push(("ErrorCode".to_owned(), error_code_schema().into()));
    all.sort_by(|a, b| a.0.cmp(&b.0));
    all.dedup_by(|a, b| a.0 == b.0);
    for (name, schema) in all {
        components = components.schema(name, schema);
    }
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Rampart")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "Incident response and infrastructure-as-code management. Errors are \
                     {\"error\": {\"code\", \"message\"}} with a stable code.",
                ))
                .build(),
        )
        .paths(paths)
        .components(Some(components.build()))
        .build()
}

/// The Terraform backend's lock address.
const TF_LOCK_PATH: &str = "/tf/v1/{org}/{project}/{workspace}/lock";

/// A JSON object with these properties (others allowed), for bodies the server reads
/// only in part.
fn open_object() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .additional_properties(Some(AdditionalProperties::FreeForm(true)))
}

/// A Terraform state as the backend checks it (`rampart_domain::iacm::state_versions`):
/// format version 4, a serial the store can hold, a lineage; the rest is stored as sent
/// and must have the types Terraform writes.
fn terraform_state_schema() -> ObjectBuilder {
    let resource = open_object()
        .property(
            "module",
            ObjectBuilder::new().schema_type(SchemaType::from_iter([Type::String, Type::Null])),
        )
        .property("mode", text_schema())
        .property("type", text_schema())
        .property("name", text_schema())
        .property("provider", text_schema())
        .property("instances", ArrayBuilder::new().items(open_object()));
    open_object()
        .property(
            "version",
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .enum_values(Some([4])),
        )
        .required("version")
        .property("serial", integer_schema(0, NUMBER_MAX))
        .property(
            "lineage",
            text_schema()
                .min_length(Some(1))
                .max_length(Some(128))
                .pattern(Some("^[^\\u0000]*$")),
        )
        .required("lineage")
        .property("terraform_version", text_schema())
        .property(
            "outputs",
            ObjectBuilder::new()
                .schema_type(Type::Object)
                .additional_properties(Some(AdditionalProperties::RefOr(RefOr::T(
                    open_object().build().into(),
                )))),
        )
        .property("resources", ArrayBuilder::new().items(resource))
}

/// Terraform's lock information: an `ID` (1 to 128 characters) and what the client
/// adds, stored verbatim.
fn lock_info_schema() -> ObjectBuilder {
    open_object()
        .property(
            "ID",
            text_schema()
                .min_length(Some(1))
                .max_length(Some(128))
                .pattern(Some("^[^\\u0000]*$")),
        )
        .required("ID")
        .property("Operation", text_schema())
        .property("Who", text_schema())
        .property("Version", text_schema())
        .property("Created", text_schema())
        .property("Path", text_schema())
        .property("Info", text_schema())
}

fn json_content(schema: ObjectBuilder) -> utoipa::openapi::Content {
    ContentBuilder::new().schema(Some(schema)).build()
}

fn responses_with(
    mut operation: OperationBuilder,
    statuses: &[u16],
    schema: &str,
) -> OperationBuilder {
    for status in statuses {
        operation = operation.response(status.to_string(), error_response(*status, schema));
    }
    operation
}

/// The Terraform state backend and incoming webhooks: mounted beside the route table
/// (`handlers::mount_outside_table`) because their methods and authentication are their
/// clients'. LOCK and UNLOCK, which OpenAPI cannot name, are listed in
/// `x-rampart-methods` of the lock address (see [`document`]); POST/PUT and DELETE do
/// the same there.
fn outside_table(schemas: &mut Schemas) -> Vec<(&'static str, HttpMethod, Operation)> {
    schemas.register(SchemaRef::of::<rampart_api::sre::WebhookAccepted>());
    schemas.register(SchemaRef::of::<rampart_api::sre::PagerDutyEventAccepted>());
    schemas.register(SchemaRef::of::<rampart_api::sre::PagerDutyEventError>());
    const STATE: &str = "/tf/v1/{org}/{project}/{workspace}";
    const LOCK: &str = TF_LOCK_PATH;
    const WEBHOOK: &str = "/hooks/v1/{integration_id}";
    const PAGERDUTY: &str = crate::handlers::sre::alerts::PAGERDUTY_ENQUEUE_PATH;
    let token = || {
        vec![
            SecurityRequirement::new("basic", Vec::<String>::new()),
            SecurityRequirement::new("bearer", Vec::<String>::new()),
        ]
    };
    let permission = |text: &str| {
        Some(
            ExtensionsBuilder::new()
                .add("x-rampart-permission", text)
                .build(),
        )
    };
    let tf = |method: &str, path: &str, summary: &str| {
        let mut operation = OperationBuilder::new()
            .summary(Some(summary))
            .operation_id(Some(operation_id(method, path)))
            .securities(Some(token()));
        for name in path_parameters(path) {
            operation = operation.parameter(path_parameter(name));
        }
        operation
    };
    let mut operations = Vec::new();

    let read = tf(
        "get",
        STATE,
        "Terraform http backend: the current state (404 `no_state` before the first write)",
    )
    .response(
        "200",
        ResponseBuilder::new()
            .description("the state, exactly the bytes stored")
            .content("application/json", json_content(terraform_state_schema())),
    )
    .extensions(permission(
        "workspace:access_state (per resource; the first use creates the workspace with workspace:create)",
    ));
    operations.push((
        STATE,
        HttpMethod::Get,
        responses_with(read, &[401, 403, 404, 429, 500, 503], "ErrorBody").build(),
    ));
    for (method, http) in [("post", HttpMethod::Post), ("put", HttpMethod::Put)] {
        let write = tf(
            method,
            STATE,
            "Terraform http backend: write the state (serial and lineage rules; `?ID=` while locked)",
        )
        .parameter(query_parameter(&QueryParam::optional(
            "ID",
            "the lock's ID, when the writer holds the lock",
            Shape::Text,
        )))
        .parameter(
            ParameterBuilder::new()
                .name("Content-MD5")
                .parameter_in(ParameterIn::Header)
                .required(Required::False)
                .description(Some("base64 MD5 of the body; a mismatch is refused"))
                .schema(Some(text_schema())),
        )
        .request_body(Some(
            RequestBodyBuilder::new()
                .content("application/json", json_content(terraform_state_schema()))
                .required(Some(Required::True))
                .build(),
        ))
        .response("200", ResponseBuilder::new().description("stored (or a retry of the newest)"))
        .extensions(permission("workspace:write_state (per resource)"));
        operations.push((
            STATE,
            http,
            responses_with(
                write,
                &[400, 401, 403, 404, 409, 413, 423, 429, 500, 503],
                "ErrorBody",
            )
            .build(),
        ));
    }
    for (method, http, summary, held, permission_name) in [
        (
            "post",
            HttpMethod::Post,
            "Terraform http backend: lock (also LOCK or PUT); 423 with the holder's lock info",
            "423",
            "workspace:write_state (per resource)",
        ),
        (
            "put",
            HttpMethod::Put,
            "Terraform http backend: lock (as POST and LOCK)",
            "423",
            "workspace:write_state (per resource)",
        ),
        (
            "delete",
            HttpMethod::Delete,
            "Terraform http backend: unlock (also UNLOCK); an empty body force-unlocks; 409 with the holder's lock info",
            "409",
            "workspace:write_state (per resource; force-unlock: workspace:force_unlock)",
        ),
    ] {
        let mut operation = tf(method, LOCK, summary)
            .request_body(Some(
                RequestBodyBuilder::new()
                    .content("application/json", json_content(lock_info_schema()))
                    .required(Some(Required::False))
                    .build(),
            ))
            .response("200", ResponseBuilder::new().description("done"))
            .response(
                held,
                ResponseBuilder::new()
                    .description("held by another lock: its lock info")
                    .content("application/json", json_content(lock_info_schema())),
            )
            .extensions(permission(permission_name));
        // The held status also answers errors of its code (a write conflict, a lock
        // held elsewhere): the body is then an error body or lock info.
        let errors: &[u16] = &[400, 401, 403, 404, 413, 429, 500, 503];
        operation = responses_with(operation, errors, "ErrorBody");
        operations.push((LOCK, http, operation.build()));
    }

    let webhook = OperationBuilder::new()
        .summary(Some(
            "Deliver alerts to an integration, in its format (Alertmanager, Grafana, \
             PagerDuty Events v2, generic), authenticated its way",
        ))
        .operation_id(Some(operation_id("post", WEBHOOK)))
        .parameter(path_parameter("integration_id"))
        .securities(Some(vec![
            SecurityRequirement::new("bearer", Vec::<String>::new()),
            SecurityRequirement::new("basic", Vec::<String>::new()),
            SecurityRequirement::new("webhook_signature", Vec::<String>::new()),
            // PagerDuty's own mode: the key is the body's `routing_key`.
            SecurityRequirement::default(),
        ]))
        .request_body(Some(
            RequestBodyBuilder::new()
                .content("application/json", json_content(open_object()))
                .required(Some(Required::True))
                .build(),
        ))
        .response(
            "202",
            ResponseBuilder::new()
                .description("what each event did")
                .content("application/json", json_ref("WebhookAccepted")),
        )
        .extensions(permission("the integration's own credentials"));
    operations.push((
        WEBHOOK,
        HttpMethod::Post,
        responses_with(
            webhook,
            &[400, 401, 403, 404, 413, 429, 500, 503],
            "ErrorBody",
        )
        .build(),
    ));

    let pagerduty = OperationBuilder::new()
        .summary(Some(
            "PagerDuty Events API v2, unchanged: the integration key as `routing_key` in \
             the body; answered in PagerDuty's shapes",
        ))
        .operation_id(Some(operation_id("post", PAGERDUTY)))
        .securities(Some(vec![SecurityRequirement::default()]))
        .request_body(Some(
            RequestBodyBuilder::new()
                .content(
                    "application/json",
                    json_content(
                        open_object()
                            .property("routing_key", text_schema().min_length(Some(1)))
                            .required("routing_key")
                            .property(
                                "event_action",
                                text_schema().enum_values(Some([
                                    "trigger",
                                    "acknowledge",
                                    "resolve",
                                ])),
                            )
                            .required("event_action")
                            .property("dedup_key", text_schema())
                            .property("payload", open_object()),
                    ),
                )
                .required(Some(Required::True))
                .build(),
        ))
        .response(
            "202",
            ResponseBuilder::new()
                .description("processed")
                .content("application/json", json_ref("PagerDutyEventAccepted")),
        )
        .extensions(permission("the integration's routing key"));
    operations.push((
        PAGERDUTY,
        HttpMethod::Post,
        responses_with(
            pagerduty,
            &[400, 403, 413, 429, 500, 503],
            "PagerDutyEventError",
        )
        .build(),
    ));
    operations
}

/// The catalogue of error codes (`rampart_domain::error_code`) as a schema: every code
/// an error body's `code` can be, each with its status and meaning.
fn error_code_schema() -> Schema {
    let mut description = String::from(
        "The stable `code` of an error body. Besides these, a value that failed validation \
         answers 400 `invalid_<field>` (the field is also in `field`).\n",
    );
    for code in ErrorCode::ALL {
        description.push_str(&format!(
            "\n- `{}` ({}): {}",
            code.as_str(),
            code.status(),
            code.meaning()
        ));
    }
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(ErrorCode::ALL.iter().map(|code| code.as_str())))
        .description(Some(description))
        .into()
}

/// The document as pretty JSON (the form served and checked in).
pub fn document_json_for(specs: &[RouteSpec]) -> String {
    document(specs)
        .to_pretty_json()
        .unwrap_or_else(|_| "{}".to_owned())
}
