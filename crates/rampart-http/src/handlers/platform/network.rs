//! Source-address allowlists of the account and of organisations.

use axum::extract::State;
use axum::http::Method;
use axum::{Extension, Json};
use rampart_api::platform as wire;
use rampart_app::Ctx;
use rampart_domain::Permission as P;

use crate::AppState;
use crate::error::ApiResult;
use crate::routes::{RouteSpec, RouteTable, perm};

/// Registers this module's routes.
pub fn routes(table: &mut RouteTable) {
    use Method as M;
    let r = RouteSpec::new;

    // Source-address allowlists of the account and of organisations.
    table.add(
        r(
            M::GET,
            "/api/v1/ip-allowlist",
            perm(P::AccountManage),
            "The account's source-address allowlist",
        )
        .reply::<wire::IpAllowlist>(200),
        get_ip_allowlist,
    );
    table.add(
        r(
            M::PUT,
            "/api/v1/ip-allowlist",
            perm(P::AccountManage),
            "Replace the account's allowlist (must include your own address)",
        )
        .step_up()
        .body::<wire::IpAllowlist>()
        .reply::<wire::IpAllowlist>(200),
        set_ip_allowlist,
    );
    table.add(
        r(
            M::GET,
            "/api/v1/orgs/{org}/ip-allowlist",
            perm(P::OrgView),
            "The organisation's source-address allowlist",
        )
        .reply::<wire::IpAllowlist>(200),
        get_ip_allowlist,
    );
    table.add(
        r(
            M::PUT,
            "/api/v1/orgs/{org}/ip-allowlist",
            perm(P::OrgEdit),
            "Replace the organisation's allowlist (must include your own address)",
        )
        .step_up()
        .body::<wire::IpAllowlist>()
        .reply::<wire::IpAllowlist>(200),
        set_ip_allowlist,
    );
}

pub async fn get_ip_allowlist(
    State(state): State<AppState>,
    Extension(scope): crate::enforce::Scope,
) -> ApiResult<Json<wire::IpAllowlist>> {
    let cidrs = state.app.ip_allowlist(scope.scope()).await?;
    Ok(Json(wire::IpAllowlist { cidrs }))
}

pub async fn set_ip_allowlist(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): crate::enforce::Scope,
    crate::extract::ApiJson(body): crate::extract::ApiJson<wire::IpAllowlist>,
) -> ApiResult<Json<wire::IpAllowlist>> {
    let cidrs = state
        .app
        .set_ip_allowlist(&ctx, scope.scope(), &body.cidrs)
        .await?;
    Ok(Json(wire::IpAllowlist { cidrs }))
}
