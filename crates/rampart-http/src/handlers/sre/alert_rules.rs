//! A service's alert rules: which new alerts open incidents.

use axum::extract::State;
use axum::http::Method;
use axum::{Extension, Json};
use rampart_api::sre as wire;
use rampart_app::Ctx;
use rampart_domain::Permission as P;

use super::services::ServicePath;
use crate::AppState;
use crate::enforce::Scope;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath};
use crate::routes::{PROJECT, RouteSpec, RouteTable, join_path, perm};

/// Registers this module's routes.
pub fn routes(table: &mut RouteTable) {
    use Method as M;
    let r = RouteSpec::new;

    // A service's alert rules.
    let path = |suffix| join_path(PROJECT, suffix);
    table.add(
        r(
            M::GET,
            path("/services/{service}/alert-rules"),
            perm(P::AlertRuleView),
            "A service's alert rules (which new alerts open incidents)",
        )
        .reply::<wire::AlertRules>(200),
        get_alert_rules,
    );
    table.add(
        r(
            M::PUT,
            path("/services/{service}/alert-rules"),
            perm(P::AlertRuleEdit),
            "Replace a service's alert rules",
        )
        .body::<wire::AlertRules>()
        .reply::<wire::AlertRules>(200),
        set_alert_rules,
    );
}

fn wire_rules(rules: &[rampart_domain::sre::alert_rules::AlertRule]) -> wire::AlertRules {
    wire::AlertRules {
        rules: serde_json::to_value(rules).unwrap_or(serde_json::Value::Null),
    }
}

pub async fn get_alert_rules(
    State(state): State<AppState>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<ServicePath>,
) -> ApiResult<Json<wire::AlertRules>> {
    let rules = state.app.alert_rules(scope.scope(), &path.service).await?;
    Ok(Json(wire_rules(&rules)))
}

pub async fn set_alert_rules(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<ServicePath>,
    ApiJson(body): ApiJson<wire::AlertRules>,
) -> ApiResult<Json<wire::AlertRules>> {
    let rules = state
        .app
        .set_alert_rules(&ctx, scope.scope(), &path.service, &body.rules)
        .await?;
    Ok(Json(wire_rules(&rules)))
}
