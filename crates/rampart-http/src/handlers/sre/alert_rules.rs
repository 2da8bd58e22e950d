//! A service's alert rules: which new alerts open incidents; and the conversions between
//! the wire rules and the domain's.

use axum::extract::State;
use axum::http::Method;
use axum::{Extension, Json};
use rampart_api::sre as wire;
use rampart_app::{AppError, Ctx};
use rampart_domain::sre::alert_rules::{AlertRule, Conditions, RuleAction};
use rampart_domain::{ErrorCode, Permission as P};

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
        .body::<wire::AlertRulesUpdate>()
        .reply::<wire::AlertRules>(200),
        set_alert_rules,
    );
}

pub async fn get_alert_rules(
    State(state): State<AppState>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<ServicePath>,
) -> ApiResult<Json<wire::AlertRules>> {
    let rules = state.app.alert_rules(scope.scope(), &path.service).await?;
    Ok(Json(wire_rules(rules)))
}

pub async fn set_alert_rules(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Extension(scope): Scope,
    ApiPath(path): ApiPath<ServicePath>,
    ApiJson(body): ApiJson<wire::AlertRulesUpdate>,
) -> ApiResult<Json<wire::AlertRules>> {
    let rules = match rampart_domain::json::from_value::<Vec<wire::AlertRule>>(body.rules) {
        Ok(rules) => rules.into_iter().map(rule).collect(),
        Err(error) => {
            // A service that does not exist is not found, whatever its new rules.
            state.app.service_at(scope.scope(), &path.service).await?;
            return Err(AppError::bad_request(
                ErrorCode::InvalidRules,
                format!("the alert rules: {error}"),
            )
            .into());
        }
    };
    let rules = state
        .app
        .set_alert_rules(&ctx, scope.scope(), &path.service, rules)
        .await?;
    Ok(Json(wire_rules(rules)))
}

// Conversions between the wire rules and the domain's, field by field.

fn rule(rule: wire::AlertRule) -> AlertRule {
    AlertRule {
        name: rule.name,
        conditions: Conditions {
            min_severity: rule.conditions.min_severity,
            max_severity: rule.conditions.max_severity,
            labels: rule.conditions.labels,
            source: rule.conditions.source,
        },
        action: match rule.action {
            wire::AlertRuleAction::OpenIncident => RuleAction::OpenIncident,
            wire::AlertRuleAction::RecordOnly => RuleAction::RecordOnly,
        },
    }
}

fn wire_rules(rules: Vec<AlertRule>) -> wire::AlertRules {
    wire::AlertRules {
        rules: rules
            .into_iter()
            .map(|rule| wire::AlertRule {
                name: rule.name,
                conditions: wire::AlertConditions {
                    min_severity: rule.conditions.min_severity,
                    max_severity: rule.conditions.max_severity,
                    labels: rule.conditions.labels,
                    source: rule.conditions.source,
                },
                action: match rule.action {
                    RuleAction::OpenIncident => wire::AlertRuleAction::OpenIncident,
                    RuleAction::RecordOnly => wire::AlertRuleAction::RecordOnly,
                },
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The wire rules and the stored ones are the same JSON (conditions spelt out in
    /// full), and converting one way and back loses nothing.
    #[test]
    fn rules_convert_both_ways_unchanged() {
        let json = serde_json::json!([
            {"name": "staging is noise", "conditions": {"labels": {"env": "staging"}},
             "action": "record_only"},
            {"name": "db pages", "conditions": {"min_severity": "error", "max_severity": "critical",
             "source": "db-1"}, "action": "open_incident"},
            {"name": "the rest", "action": "open_incident"}
        ]);
        let wire: Vec<wire::AlertRule> = serde_json::from_value(json.clone()).unwrap();
        let rules: Vec<AlertRule> = wire.clone().into_iter().map(rule).collect();
        assert_eq!(
            rules,
            serde_json::from_value::<Vec<AlertRule>>(json).unwrap()
        );
        let stored = serde_json::to_value(&rules).unwrap();
        let answered = wire_rules(rules);
        assert_eq!(answered.rules, wire);
        assert_eq!(serde_json::to_value(&answered.rules).unwrap(), stored);
        assert_eq!(
            stored[2]["conditions"],
            serde_json::json!({"min_severity": null, "max_severity": null, "labels": {},
                "source": null})
        );
    }
}
