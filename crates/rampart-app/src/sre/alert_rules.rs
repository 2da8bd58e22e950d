//! A service's alert rules: an ordered list of conditions (the domain's
//! `alert_rules`) deciding whether a new alert opens an incident or is recorded only.

use rampart_domain::ServiceId;
use rampart_domain::platform::tenancy::Scope;
use rampart_domain::sre::alert_rules::{AlertRule, validate_rules};
use serde_json::json;

use crate::{App, AppError, AppResult, Ctx};

/// Alert rules as the service row stores them (JSON).
pub(crate) fn parse_rules(stored: &str) -> AppResult<Vec<AlertRule>> {
    serde_json::from_str(stored)
        .map_err(|_| AppError::Integrity("stored alert rules do not parse".into()))
}

impl App {
    /// A service's alert rules.
    pub async fn alert_rules(&self, scope: Scope, service: &str) -> AppResult<Vec<AlertRule>> {
        let service = self.service_at(scope, service).await?;
        self.rules_of(service.id).await
    }

    async fn rules_of(&self, service: ServiceId) -> AppResult<Vec<AlertRule>> {
        parse_rules(&self.store().service_alert_rules(service).await?)
    }

    /// Replaces a service's alert rules (an ordered list; the first match decides).
    pub async fn set_alert_rules(
        &self,
        ctx: &Ctx,
        scope: Scope,
        service: &str,
        rules: Vec<AlertRule>,
    ) -> AppResult<Vec<AlertRule>> {
        let service = self.service_at(scope, service).await?;
        validate_rules(&rules)?;
        let stored =
            serde_json::to_string(&rules).map_err(|error| AppError::Internal(error.to_string()))?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        tx.set_service_alert_rules(service.id, &stored).await?;
        tx.commit(
            ctx.audit(now, "service.alert_rules", "service")
                .scope(scope)
                .resource_id(service.id)
                .details(json!({ "rules": rules.len() }))
                .build(),
        )
        .await?;
        Ok(rules)
    }
}
