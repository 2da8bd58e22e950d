//! Incident response, one module per resource: the service directory, webhook
//! integrations, incoming alerts, alert rules, incidents, on-call schedules, escalation
//! policies and notifications. Schedules and escalation policies are both stored
//! definitions with the same four routes; `definition_handlers!` and
//! `definition_routes!` (below) write them once.

use rampart_api::sre as wire;
use rampart_domain::sre::documents::DefinitionRecord;

pub(crate) fn wire_definition(record: &DefinitionRecord) -> wire::Definition {
    wire::Definition {
        id: record.id.clone(),
        identifier: record.identifier.to_string(),
        name: record.name.to_string(),
        definition: serde_json::from_str(&record.definition).unwrap_or(serde_json::Value::Null),
        created_at: record.created_at.to_string(),
        updated_at: record.updated_at.to_string(),
    }
}

/// The list, create, read and replace handlers of a stored definition of `$kind`, whose
/// item path is `$path` with the identifier in `$field`.
macro_rules! definition_handlers {
    ($kind:expr, $path:ty, $field:ident, $list:ident, $create:ident, $get:ident, $replace:ident) => {
        pub async fn $list(
            ::axum::extract::State(state): ::axum::extract::State<$crate::AppState>,
            ::axum::Extension(scope): $crate::enforce::Scope,
            $crate::extract::ApiQuery(params): $crate::extract::ApiQuery<::rampart_api::ListParams>,
        ) -> $crate::error::ApiResult<
            ::axum::Json<::rampart_api::ListResponse<::rampart_api::sre::Definition>>,
        > {
            let page = state
                .app
                .list_definitions($kind, scope.scope(), params.limit, params.cursor.as_deref())
                .await?;
            Ok(::axum::Json(::rampart_api::ListResponse {
                items: page
                    .items
                    .iter()
                    .map($crate::handlers::sre::wire_definition)
                    .collect(),
                next_cursor: page.next_cursor,
            }))
        }

        pub async fn $create(
            ::axum::extract::State(state): ::axum::extract::State<$crate::AppState>,
            ::axum::Extension(ctx): ::axum::Extension<::rampart_app::Ctx>,
            ::axum::Extension(scope): $crate::enforce::Scope,
            $crate::extract::ApiJson(body): $crate::extract::ApiJson<
                ::rampart_api::sre::DefinitionCreate,
            >,
        ) -> $crate::error::ApiResult<(
            ::axum::http::StatusCode,
            ::axum::Json<::rampart_api::sre::Definition>,
        )> {
            let record = state
                .app
                .create_definition(
                    &ctx,
                    $kind,
                    scope.scope(),
                    &body.identifier,
                    &body.name,
                    &body.definition,
                )
                .await?;
            Ok((
                ::axum::http::StatusCode::CREATED,
                ::axum::Json($crate::handlers::sre::wire_definition(&record)),
            ))
        }

        pub async fn $get(
            ::axum::extract::State(state): ::axum::extract::State<$crate::AppState>,
            ::axum::Extension(scope): $crate::enforce::Scope,
            $crate::extract::ApiPath(path): $crate::extract::ApiPath<$path>,
        ) -> $crate::error::ApiResult<::axum::Json<::rampart_api::sre::Definition>> {
            let record = state
                .app
                .get_definition($kind, scope.scope(), &path.$field)
                .await?;
            Ok(::axum::Json($crate::handlers::sre::wire_definition(
                &record,
            )))
        }

        pub async fn $replace(
            ::axum::extract::State(state): ::axum::extract::State<$crate::AppState>,
            ::axum::Extension(ctx): ::axum::Extension<::rampart_app::Ctx>,
            ::axum::Extension(scope): $crate::enforce::Scope,
            $crate::extract::ApiPath(path): $crate::extract::ApiPath<$path>,
            $crate::extract::ApiJson(body): $crate::extract::ApiJson<
                ::rampart_api::sre::DefinitionUpdate,
            >,
        ) -> $crate::error::ApiResult<::axum::Json<::rampart_api::sre::Definition>> {
            let record = state
                .app
                .replace_definition(
                    &ctx,
                    $kind,
                    scope.scope(),
                    &path.$field,
                    &body.name,
                    &body.definition,
                )
                .await?;
            Ok(::axum::Json($crate::handlers::sre::wire_definition(
                &record,
            )))
        }
    };
}

/// The four routes of a stored definition (schedule or escalation policy) under `$base`.
macro_rules! definition_routes {
    ($table:ident, $base:expr, $collection:literal, $item:literal, $noun:literal,
     $view:ident, $create:ident, $edit:ident,
     $list_h:path, $create_h:path, $get_h:path, $put_h:path) => {
        $table.add(
            $crate::routes::RouteSpec::new(
                ::axum::http::Method::GET,
                $crate::routes::join_path($base, $collection),
                $crate::routes::perm(::rampart_domain::Permission::$view),
                concat!("List ", $noun, "s"),
            )
            .page::<::rampart_api::sre::Definition>(),
            $list_h,
        );
        $table.add(
            $crate::routes::RouteSpec::new(
                ::axum::http::Method::POST,
                $crate::routes::join_path($base, $collection),
                $crate::routes::perm(::rampart_domain::Permission::$create),
                concat!("Create a ", $noun),
            )
            .body::<::rampart_api::sre::DefinitionCreate>()
            .reply::<::rampart_api::sre::Definition>(201),
            $create_h,
        );
        $table.add(
            $crate::routes::RouteSpec::new(
                ::axum::http::Method::GET,
                $crate::routes::join_path($base, $item),
                $crate::routes::perm(::rampart_domain::Permission::$view),
                concat!("A ", $noun),
            )
            .reply::<::rampart_api::sre::Definition>(200),
            $get_h,
        );
        $table.add(
            $crate::routes::RouteSpec::new(
                ::axum::http::Method::PUT,
                $crate::routes::join_path($base, $item),
                $crate::routes::perm(::rampart_domain::Permission::$edit),
                concat!("Replace a ", $noun, "'s name and definition"),
            )
            .body::<::rampart_api::sre::DefinitionUpdate>()
            .reply::<::rampart_api::sre::Definition>(200),
            $put_h,
        );
    };
}

pub mod alert_rules;
pub mod alerts;
pub mod escalation_policies;
pub mod incidents;
pub mod integrations;
pub mod notifications;
pub mod schedules;
pub mod services;
