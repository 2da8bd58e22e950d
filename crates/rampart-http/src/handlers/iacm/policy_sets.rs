//! Policy sets through the API, at organisation and project scope: create, list, read
//! (with module sources), change, delete, and one module at a time as raw Rego
//! (`curl -T tags.rego …/modules/tags.rego`); and what they decided about a plan, with
//! the override of a failed soft-mandatory result. The set routes check
//! `policy_set:*` at the path's scope; the plan routes decide per workspace.

use axum::body::Body;
use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use axum::{Extension, Json};
use rampart_api::iacm as wire;
use rampart_api::{ListParams, ListResponse};
use rampart_app::Access;
use rampart_app::Ctx;
use rampart_app::iacm::policy_sets::{
    PolicyModuleText, PolicyResultView, PolicySetInput, PolicySetPatch,
};
use rampart_app::platform::tenancy::ResolvedScope;
use rampart_domain::Permission as P;
use rampart_domain::iacm::policy_sets::{Blocking, PolicySet, PolicyStatus};

use super::plans::{PlanPath, document, read_raw};
use crate::AppState;
use crate::enforce::Scope;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath, ApiQuery, path_params};
use crate::handlers::platform::access::scope_text;
use crate::routes::{RouteSpec, RouteTable, join_path, perm};

/// Registers this module's routes.
pub fn routes(table: &mut RouteTable) {
    use Method as M;
    let r = RouteSpec::new;

    for base in [
        "/api/v1/orgs/{org}",
        "/api/v1/orgs/{org}/projects/{project}",
    ] {
        let path = |suffix| join_path(base, suffix);
        table.add(
            r(
                M::GET,
                path("/policy-sets"),
                perm(P::PolicySetView),
                "Policy sets defined here (an organisation's apply to its projects too)",
            )
            .page::<wire::PolicySet>(),
            list_policy_sets,
        );
        table.add(
            r(
                M::POST,
                path("/policy-sets"),
                perm(P::PolicySetCreate),
                "Create a policy set; its modules are validated (422 with line and column)",
            )
            .step_up()
            .body::<wire::PolicySetCreate>()
            .body_limit(|_| SET_BODY_BYTES_MAX)
            .errors(&[422])
            .reply::<wire::PolicySet>(201),
            create_policy_set,
        );
        table.add(
            r(
                M::GET,
                path("/policy-sets/{policy_set}"),
                perm(P::PolicySetView),
                "A policy set with its modules' sources",
            )
            .reply::<wire::PolicySet>(200),
            get_policy_set,
        );
        table.add(
            r(
                M::PATCH,
                path("/policy-sets/{policy_set}"),
                perm(P::PolicySetEdit),
                "Change a policy set (`modules` replaces them all); the version goes up",
            )
            .step_up()
            .body::<wire::PolicySetUpdate>()
            .body_limit(|_| SET_BODY_BYTES_MAX)
            .errors(&[422])
            .reply::<wire::PolicySet>(200),
            update_policy_set,
        );
        table.add(
            r(
                M::DELETE,
                path("/policy-sets/{policy_set}"),
                perm(P::PolicySetDelete),
                "Delete a policy set (what it decided stays with the plans)",
            )
            .step_up(),
            delete_policy_set,
        );
        table.add(
            r(
                M::GET,
                path("/policy-sets/{policy_set}/modules/{module}"),
                perm(P::PolicySetView),
                "One module's Rego source",
            )
            .text(&["text/plain"]),
            get_policy_module,
        );
        table.add(
            r(
                M::PUT,
                path("/policy-sets/{policy_set}/modules/{module}"),
                perm(P::PolicySetEdit),
                "Add a module or replace its source: the raw Rego text (validated: 422)",
            )
            .step_up()
            .body_limit(|_| rampart_policy_module_bytes_max())
            .errors(&[400, 413, 422])
            .reply::<wire::PolicySet>(200),
            put_policy_module,
        );
        table.add(
            r(
                M::DELETE,
                path("/policy-sets/{policy_set}/modules/{module}"),
                perm(P::PolicySetEdit),
                "Remove a module (a set keeps at least one: 422)",
            )
            .step_up()
            .errors(&[422])
            .reply::<wire::PolicySet>(200),
            delete_policy_module,
        );
    }

    const PLANS: &str = "/api/v1/orgs/{org}/projects/{project}/workspaces/{workspace}/plans";
    table.add(
        r(
            M::GET,
            join_path(PLANS, "/{plan}/policy-results"),
            Access::PerResource(P::WorkspaceView),
            "What the policy sets decided about a plan",
        )
        .reply::<wire::PolicyResults>(200),
        plan_policy_results,
    );
    table.add(
        r(
            M::POST,
            join_path(PLANS, "/{plan}/policy-overrides"),
            Access::PerResource(P::PolicySetOverride),
            "Override a failed soft-mandatory result, with a reason (audited)",
        )
        .step_up()
        .body::<wire::PolicyOverrideCreate>()
        .reply::<wire::PolicyResults>(200),
        override_plan_policy,
    );
}

/// A set's JSON body: its modules (4 MiB of sources together) escaped in JSON.
const SET_BODY_BYTES_MAX: usize = 2 * rampart_domain::limits::POLICY_SET_SOURCE_BYTES_MAX;

fn rampart_policy_module_bytes_max() -> usize {
    rampart_app::iacm::policy_sets::MODULE_BYTES_MAX
}

path_params! {
    /// `…/policy-sets/{policy_set}`
    pub struct PolicySetPath { policy_set }
}

path_params! {
    /// `…/policy-sets/{policy_set}/modules/{module}`
    pub struct PolicyModulePath { policy_set, module }
}

fn wire_attach(set: &PolicySet) -> wire::PolicySetAttach {
    wire::PolicySetAttach {
        kind: set.attachment.kind().to_owned(),
        values: set.attachment.values(),
    }
}

fn wire_set(
    set: &PolicySet,
    scope: &ResolvedScope,
    modules: Option<&[PolicyModuleText]>,
) -> wire::PolicySet {
    wire::PolicySet {
        id: set.id.to_string(),
        identifier: set.identifier.to_string(),
        scope: scope_text(scope),
        name: set.name.to_string(),
        description: set.description.to_string(),
        entity: set.entity.as_str().to_owned(),
        enforcement: set.enforcement.as_str().to_owned(),
        rego_syntax: set.rego_syntax.clone(),
        input_shape: set.input_shape.clone(),
        attach: wire_attach(set),
        enabled: set.enabled,
        version: set.version,
        module_count: set.module_count,
        created_at: set.created_at.to_string(),
        updated_at: set.updated_at.to_string(),
        modules: modules.map(|modules| {
            modules
                .iter()
                .map(|module| wire::PolicyModule {
                    name: module.name.clone(),
                    source: module.source.clone(),
                })
                .collect()
        }),
    }
}

fn module_texts(modules: Vec<wire::PolicyModule>) -> Vec<PolicyModuleText> {
    modules
        .into_iter()
        .map(|module| PolicyModuleText {
            name: module.name,
            source: module.source,
        })
        .collect()
}

fn attach(attach: Option<wire::PolicySetAttach>) -> Option<(String, Vec<String>)> {
    attach.map(|attach| (attach.kind, attach.values))
}

fn blocking_text(blocking: Blocking) -> &'static str {
    match blocking {
        Blocking::No => "no",
        Blocking::UntilOverridden => "until_overridden",
        Blocking::Yes => "yes",
    }
}

/// A plan's results as the API shows them.
pub fn wire_results(views: &[PolicyResultView]) -> wire::PolicyResults {
    let status = PolicyStatus::of(views.iter().map(|view| {
        (
            view.result.enforcement,
            view.result.outcome,
            view.result.overridden_by.is_some(),
        )
    }));
    wire::PolicyResults {
        policy_status: status.as_str().to_owned(),
        results: views
            .iter()
            .map(|view| {
                let result = &view.result;
                wire::PolicyResult {
                    policy_set: result.policy_set_identifier.clone(),
                    policy_set_id: result.policy_set_id.to_string(),
                    policy_set_scope: result.policy_set_scope.clone(),
                    policy_set_version: result.policy_set_version,
                    enforcement: result.enforcement.as_str().to_owned(),
                    outcome: result.outcome.as_str().to_owned(),
                    blocking: blocking_text(result.blocking()).to_owned(),
                    duration_us: result.duration_us,
                    evaluated_at: result.evaluated_at.to_string(),
                    modules: view
                        .decisions
                        .modules
                        .iter()
                        .map(|module| wire::PolicyModuleResult {
                            name: module.name.clone(),
                            package: module.package.clone(),
                            deny: module.deny.clone(),
                            warn: module.warn.clone(),
                            duration_us: module.duration_us,
                        })
                        .collect(),
                    error: view.decisions.error.clone(),
                    r#override: match (&result.overridden_by, &result.overridden_at) {
                        (Some(by), Some(at)) => Some(wire::PolicyOverride {
                            by: by.clone(),
                            reason: view.override_reason.clone().unwrap_or_default(),
                            at: at.to_string(),
                        }),
                        _ => None,
                    },
                }
            })
            .collect(),
    }
}

pub async fn list_policy_sets(
    State(state): State<AppState>,
    Extension(scope): Scope,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<ListResponse<wire::PolicySet>>> {
    let page = state
        .app
        .list_policy_sets(scope.scope(), params.limit, params.cursor.as_deref())
        .await?;
    Ok(Json(ListResponse {
        items: page
            .items
            .iter()
            .map(|set| wire_set(set, &scope, None))
            .collect(),
        next_cursor: page.next_cursor,
    }))
}

pub async fn create_policy_set(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiJson(body): ApiJson<wire::PolicySetCreate>,
) -> ApiResult<(StatusCode, Json<wire::PolicySet>)> {
    let (set, modules) = state
        .app
        .create_policy_set(
            &ctx,
            scope.scope(),
            PolicySetInput {
                identifier: body.identifier,
                name: body.name,
                description: body.description,
                entity: body.entity,
                enforcement: body.enforcement,
                rego_syntax: body.rego_syntax,
                input_shape: body.input_shape,
                attach: attach(body.attach),
                enabled: body.enabled,
                modules: module_texts(body.modules),
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(wire_set(&set, &scope, Some(&modules))),
    ))
}

pub async fn get_policy_set(
    State(state): State<AppState>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<PolicySetPath>,
) -> ApiResult<Json<wire::PolicySet>> {
    let (set, modules) = state
        .app
        .get_policy_set(scope.scope(), &path.policy_set)
        .await?;
    Ok(Json(wire_set(&set, &scope, Some(&modules))))
}

pub async fn update_policy_set(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<PolicySetPath>,
    ApiJson(body): ApiJson<wire::PolicySetUpdate>,
) -> ApiResult<Json<wire::PolicySet>> {
    let (set, modules) = state
        .app
        .update_policy_set(
            &ctx,
            scope.scope(),
            &path.policy_set,
            PolicySetPatch {
                name: body.name,
                description: body.description,
                enforcement: body.enforcement,
                rego_syntax: body.rego_syntax,
                input_shape: body.input_shape,
                attach: attach(body.attach),
                enabled: body.enabled,
                modules: body.modules.map(module_texts),
            },
        )
        .await?;
    Ok(Json(wire_set(&set, &scope, Some(&modules))))
}

pub async fn delete_policy_set(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<PolicySetPath>,
) -> ApiResult<StatusCode> {
    state
        .app
        .delete_policy_set(&ctx, scope.scope(), &path.policy_set)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn get_policy_module(
    State(state): State<AppState>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<PolicyModulePath>,
) -> ApiResult<Response> {
    let (_, modules) = state
        .app
        .get_policy_set(scope.scope(), &path.policy_set)
        .await?;
    let module = modules
        .into_iter()
        .find(|module| module.name == path.module)
        .ok_or(rampart_app::AppError::NotFound {
            what: "policy module",
        })?;
    Ok(document("text/plain; charset=utf-8", module.source))
}

pub async fn put_policy_module(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<PolicyModulePath>,
    body: Body,
) -> ApiResult<Json<wire::PolicySet>> {
    let body = read_raw(body, rampart_policy_module_bytes_max()).await?;
    let source = String::from_utf8(body.to_vec()).map_err(|_| {
        rampart_app::AppError::bad_request(
            rampart_domain::ErrorCode::InvalidBody,
            "a Rego module is UTF-8 text",
        )
    })?;
    let (set, modules) = state
        .app
        .put_policy_module(&ctx, scope.scope(), &path.policy_set, &path.module, source)
        .await?;
    Ok(Json(wire_set(&set, &scope, Some(&modules))))
}

pub async fn delete_policy_module(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<PolicyModulePath>,
) -> ApiResult<Json<wire::PolicySet>> {
    let (set, modules) = state
        .app
        .delete_policy_module(&ctx, scope.scope(), &path.policy_set, &path.module)
        .await?;
    Ok(Json(wire_set(&set, &scope, Some(&modules))))
}

pub async fn plan_policy_results(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<PlanPath>,
) -> ApiResult<Json<wire::PolicyResults>> {
    let views = state
        .app
        .plan_policy_results(&ctx, scope.scope(), &path.workspace, &path.plan)
        .await?;
    Ok(Json(wire_results(&views)))
}

pub async fn override_plan_policy(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<PlanPath>,
    ApiJson(body): ApiJson<wire::PolicyOverrideCreate>,
) -> ApiResult<Json<wire::PolicyResults>> {
    let views = state
        .app
        .override_plan_policy(
            &ctx,
            scope.scope(),
            &path.workspace,
            &path.plan,
            &body.policy_set,
            &body.reason,
        )
        .await?;
    Ok(Json(wire_results(&views)))
}
