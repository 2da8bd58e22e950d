//! The OpenAPI 3.1 document, generated from the route table, so that it describes
//! exactly the routes that are served, each with its required permission in
//! `x-rampart-permission`. A copy is checked in at `docs/openapi.json`; a test keeps it
//! fresh.

use std::collections::BTreeSet;

use rampart_api::ErrorBody;
use rampart_app::Access;
use rampart_domain::ErrorCode;
use utoipa::openapi::extensions::ExtensionsBuilder;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, Paths, Ref, Required,
    ResponseBuilder,
};

use crate::routes::{Reply, RouteSpec, SchemaRef};

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

fn operation_id(spec: &RouteSpec) -> String {
    let mut id = spec.method.as_str().to_lowercase();
    for segment in spec.path.split('/').filter(|s| !s.is_empty()) {
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

/// Builds the document for `specs`.
pub fn document(specs: &[RouteSpec]) -> OpenApi {
    let mut schemas = Vec::new();
    let mut registered = BTreeSet::new();
    let mut register = |schema: SchemaRef, schemas: &mut Vec<_>| {
        if registered.insert((schema.name)()) {
            (schema.register)(schemas);
        }
    };
    register(SchemaRef::of::<ErrorBody>(), &mut schemas);

    let mut paths = Paths::new();
    for spec in specs {
        let mut operation = OperationBuilder::new()
            .summary(Some(spec.summary))
            .operation_id(Some(operation_id(spec)));
        for name in path_parameters(spec.path) {
            operation = operation.parameter(
                ParameterBuilder::new()
                    .name(name)
                    .parameter_in(ParameterIn::Path)
                    .required(Required::True)
                    .schema(Some(ObjectBuilder::new().schema_type(Type::String))),
            );
        }
        for (name, description) in spec.query {
            operation = operation.parameter(
                ParameterBuilder::new()
                    .name(*name)
                    .parameter_in(ParameterIn::Query)
                    .required(Required::False)
                    .description(Some(*description))
                    .schema(Some(ObjectBuilder::new().schema_type(Type::String))),
            );
        }
        if let Some(body) = spec.request {
            register(body, &mut schemas);
            operation = operation.request_body(Some(
                RequestBodyBuilder::new()
                    .content("application/json", json_ref(&(body.name)()))
                    .required(Some(Required::True))
                    .build(),
            ));
        }
        operation = match spec.reply {
            Reply::One(status, schema) => {
                register(schema, &mut schemas);
                operation.response(
                    status.to_string(),
                    ResponseBuilder::new()
                        .description("success")
                        .content("application/json", json_ref(&(schema.name)())),
                )
            }
            Reply::Page(schema) => {
                register(schema, &mut schemas);
                let page = ObjectBuilder::new()
                    .property(
                        "items",
                        ArrayBuilder::new().items(Ref::from_schema_name((schema.name)())),
                    )
                    .required("items")
                    .property(
                        "next_cursor",
                        ObjectBuilder::new().schema_type(
                            utoipa::openapi::schema::SchemaType::from_iter([
                                Type::String,
                                Type::Null,
                            ]),
                        ),
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
            Reply::Text(status, content_type) => operation.response(
                status.to_string(),
                ResponseBuilder::new()
                    .description("document")
                    .content(content_type, ContentBuilder::new().build()),
            ),
        };
        operation = operation.response(
            "default",
            ResponseBuilder::new()
                .description("an error: 4xx with a stable code, or 503")
                .content("application/json", json_ref("ErrorBody")),
        );
        let access = match spec.access {
            Access::Public => "public".to_owned(),
            Access::SelfService | Access::SelfServiceNarrowedOk | Access::SeeScope => {
                "authenticated".to_owned()
            }
            Access::Permission(permission) => permission.as_str().to_owned(),
            Access::List(permission) => format!("{permission} (items filtered)"),
            Access::PerResource(permission) => format!("{permission} (per resource)"),
        };
        if spec.access != Access::Public {
            operation =
                operation.security(SecurityRequirement::new("bearer", Vec::<String>::new()));
        }
        operation = operation.extensions(Some(
            ExtensionsBuilder::new()
                .add("x-rampart-permission", access)
                .build(),
        ));
        paths.add_path_operation(
            spec.path,
            vec![http_method(&spec.method)],
            operation.build(),
        );
    }

    let mut components = ComponentsBuilder::new().security_scheme(
        "bearer",
        SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
    );
    schemas.push(("ErrorCode".to_owned(), error_code_schema().into()));
    schemas.sort_by(|a, b| a.0.cmp(&b.0));
    schemas.dedup_by(|a, b| a.0 == b.0);
    for (name, schema) in schemas {
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

/// The catalogue of error codes (`rampart_domain::error_code`) as a schema: every code
/// an error body's `code` can be, each with its status and meaning.
fn error_code_schema() -> utoipa::openapi::schema::Schema {
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
