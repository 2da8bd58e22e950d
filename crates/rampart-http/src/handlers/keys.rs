//! Key rings of organisations and projects: status, rotation, crypto-shredding. Account
//! administration only; the ring is named in the query or body as `org` or
//! `org/project`; the root key has its own rotation route.

use axum::extract::State;
use axum::{Extension, Json};
use rampart_api::platform as wire;
use rampart_app::Ctx;
use rampart_app::platform::tenancy::ResolvedScope;

use super::access::scope_text;
use crate::AppState;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiQuery};

async fn resolve(state: &AppState, text: &str) -> ApiResult<ResolvedScope> {
    let (org, project) = match text.split_once('/') {
        Some((org, project)) => (org, Some(project)),
        None => (text, None),
    };
    Ok(state.app.resolve_scope(Some(org), project).await?)
}

async fn ring(state: &AppState, ctx: &Ctx, scope: &ResolvedScope) -> ApiResult<wire::KeyRing> {
    let versions = state.app.key_versions(ctx, scope.scope()).await?;
    Ok(wire::KeyRing {
        scope: scope_text(scope),
        versions: versions
            .into_iter()
            .map(|version| wire::KeyVersion {
                version: version.version,
                status: version.status,
                primary: version.primary,
                created_at: version.created_at.to_string(),
                destroyed_at: version.destroyed_at.map(|at| at.to_string()),
            })
            .collect(),
    })
}

pub async fn get_keys(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    ApiQuery(params): ApiQuery<wire::KeyScope>,
) -> ApiResult<Json<wire::KeyRing>> {
    let scope = resolve(&state, &params.scope).await?;
    Ok(Json(ring(&state, &ctx, &scope).await?))
}

pub async fn rotate_keys(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    ApiJson(body): ApiJson<wire::KeyScope>,
) -> ApiResult<Json<wire::KeyRing>> {
    let scope = resolve(&state, &body.scope).await?;
    state.app.rotate_keys(&ctx, scope.scope()).await?;
    Ok(Json(ring(&state, &ctx, &scope).await?))
}

pub async fn destroy_keys(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    ApiJson(body): ApiJson<wire::KeyDestroy>,
) -> ApiResult<Json<wire::KeysDestroyed>> {
    let scope = resolve(&state, &body.scope).await?;
    let text = scope_text(&scope);
    let destroyed = state
        .app
        .destroy_keys(&ctx, scope.scope(), &text, &body.confirm)
        .await?;
    Ok(Json(wire::KeysDestroyed {
        scope: text,
        versions_destroyed: destroyed,
    }))
}

pub async fn rotate_root_key(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
) -> ApiResult<Json<wire::RootKeyRotated>> {
    let wrapped_keys = state.app.rotate_root_key(&ctx).await?;
    Ok(Json(wire::RootKeyRotated { wrapped_keys }))
}
