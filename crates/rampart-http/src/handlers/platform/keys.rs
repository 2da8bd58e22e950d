//! Key rings of organisations and projects: status, rotation, crypto-shredding. Account
//! administration only; the ring is named in the query or body as `org` or
//! `org/project`; the root key has its own rotation route.

use axum::extract::State;
use axum::http::Method;
use axum::{Extension, Json};
use rampart_api::platform as wire;
use rampart_app::Ctx;
use rampart_app::platform::tenancy::ResolvedScope;
use rampart_domain::Permission as P;

use super::access::scope_text;
use crate::AppState;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiQuery};
use crate::routes::{QueryParam, RouteSpec, RouteTable, Shape, perm};

/// Registers this module's routes.
pub fn routes(table: &mut RouteTable) {
    use Method as M;
    let r = RouteSpec::new;

    // Key rings (encryption at rest): account administration.
    table.add(
        r(
            M::GET,
            "/api/v1/keys",
            perm(P::AccountManage),
            "The key versions of an organisation's or project's ring",
        )
        .query(
            const {
                &[QueryParam::required(
                    "scope",
                    "org or org/project",
                    Shape::Pattern("^[a-z0-9][a-z0-9-]{0,62}(/[a-z0-9][a-z0-9-]{0,62})?$"),
                )]
            },
        )
        .reply::<wire::KeyRing>(200)
        .errors(&[404]),
        get_keys,
    );
    table.add(
        r(
            M::POST,
            "/api/v1/keys/rotate",
            perm(P::AccountManage),
            "Make a new key version primary; older data is resealed in the background",
        )
        .step_up()
        .body::<wire::KeyScope>()
        .reply::<wire::KeyRing>(200)
        .errors(&[404]),
        rotate_keys,
    );
    table.add(
        r(
            M::POST,
            "/api/v1/keys/rotate-root",
            perm(P::AccountManage),
            "Replace the root key online: every key ring and server secret is rewrapped",
        )
        .step_up()
        .reply::<wire::RootKeyRotated>(200),
        rotate_root_key,
    );
    table.add(
        r(
            M::POST,
            "/api/v1/keys/destroy",
            perm(P::AccountManage),
            "Crypto-shred: destroy every key version (confirm must repeat the scope)",
        )
        .step_up()
        .body::<wire::KeyDestroy>()
        .reply::<wire::KeysDestroyed>(200)
        .errors(&[404]),
        destroy_keys,
    );
}

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
