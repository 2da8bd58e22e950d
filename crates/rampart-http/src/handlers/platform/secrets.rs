//! Secrets at organisation and project scope. Values go in, never come out.

use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::{Extension, Json};
use rampart_api::platform as wire;
use rampart_api::{ListParams, ListResponse};
use rampart_app::Ctx;
use rampart_app::platform::secrets::{SecretInput, SecretPatch};
use rampart_app::platform::tenancy::ResolvedScope;
use rampart_domain::Permission as P;
use rampart_domain::platform::secrets::{Secret, SecretVersion};
use zeroize::Zeroizing;

use super::access::scope_text;
use crate::AppState;
use crate::enforce::Scope;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath, ApiQuery, path_params};
use crate::routes::{RouteSpec, RouteTable, join_path, perm};

/// Registers this module's routes.
pub fn routes(table: &mut RouteTable) {
    use Method as M;
    let r = RouteSpec::new;

    // Secrets of organisations and projects (values are write-only).
    for base in [
        "/api/v1/orgs/{org}",
        "/api/v1/orgs/{org}/projects/{project}",
    ] {
        let path = |suffix| join_path(base, suffix);
        table.add(
            r(
                M::GET,
                path("/secrets"),
                perm(P::SecretView),
                "List secrets (metadata only)",
            )
            .page::<wire::Secret>(),
            list_secrets,
        );
        table.add(
            r(
                M::POST,
                path("/secrets"),
                perm(P::SecretCreate),
                "Create a secret (the value is never returned)",
            )
            .step_up()
            .body::<wire::SecretCreate>()
            .reply::<wire::Secret>(201),
            create_secret,
        );
        table.add(
            r(
                M::GET,
                path("/secrets/{secret}"),
                perm(P::SecretView),
                "A secret's metadata and versions",
            )
            .reply::<wire::Secret>(200),
            get_secret,
        );
        table.add(
            r(
                M::PATCH,
                path("/secrets/{secret}"),
                perm(P::SecretEdit),
                "Rename a secret or add a version",
            )
            .step_up()
            .body::<wire::SecretUpdate>()
            .reply::<wire::Secret>(200),
            update_secret,
        );
        table.add(
            r(
                M::DELETE,
                path("/secrets/{secret}"),
                perm(P::SecretDelete),
                "Delete a secret and all its versions",
            ),
            delete_secret,
        );
    }
}

path_params! {
    /// `…/secrets/{secret}`
    pub struct SecretPath { secret }
}

fn wire_secret(
    secret: &Secret,
    scope: &ResolvedScope,
    versions: Option<&[SecretVersion]>,
) -> wire::Secret {
    wire::Secret {
        id: secret.id.to_string(),
        identifier: secret.identifier.to_string(),
        scope: scope_text(scope),
        name: secret.name.to_string(),
        description: secret.description.to_string(),
        current_version: secret.current_version,
        created_at: secret.created_at.to_string(),
        updated_at: secret.updated_at.to_string(),
        versions: versions.map(|versions| {
            versions
                .iter()
                .map(|version| wire::SecretVersion {
                    version: version.version,
                    created_at: version.created_at.to_string(),
                    created_by: version.created_by.clone(),
                })
                .collect()
        }),
    }
}

pub async fn list_secrets(
    State(state): State<AppState>,
    Extension(scope): Scope,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<ListResponse<wire::Secret>>> {
    let page = state
        .app
        .list_secrets(scope.scope(), params.limit, params.cursor.as_deref())
        .await?;
    Ok(Json(ListResponse {
        items: page
            .items
            .iter()
            .map(|secret| wire_secret(secret, &scope, None))
            .collect(),
        next_cursor: page.next_cursor,
    }))
}

pub async fn create_secret(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiJson(body): ApiJson<wire::SecretCreate>,
) -> ApiResult<(StatusCode, Json<wire::Secret>)> {
    let secret = state
        .app
        .create_secret(
            &ctx,
            scope.scope(),
            SecretInput {
                identifier: body.identifier,
                name: body.name,
                description: body.description,
                value: Zeroizing::new(body.value),
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(wire_secret(&secret, &scope, None)),
    ))
}

pub async fn get_secret(
    State(state): State<AppState>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<SecretPath>,
) -> ApiResult<Json<wire::Secret>> {
    let (secret, versions) = state.app.get_secret(scope.scope(), &path.secret).await?;
    Ok(Json(wire_secret(&secret, &scope, Some(&versions))))
}

pub async fn update_secret(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<SecretPath>,
    ApiJson(body): ApiJson<wire::SecretUpdate>,
) -> ApiResult<Json<wire::Secret>> {
    let secret = state
        .app
        .update_secret(
            &ctx,
            scope.scope(),
            &path.secret,
            SecretPatch {
                name: body.name,
                description: body.description,
                value: body.value.map(Zeroizing::new),
            },
        )
        .await?;
    Ok(Json(wire_secret(&secret, &scope, None)))
}

pub async fn delete_secret(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<SecretPath>,
) -> ApiResult<StatusCode> {
    state
        .app
        .delete_secret(&ctx, scope.scope(), &path.secret)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
