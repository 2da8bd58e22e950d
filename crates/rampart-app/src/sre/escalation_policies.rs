//! Escalation policies: the policy a service pages with. The policies themselves are
//! stored as definitions ([`super::definitions`]); the engine that follows them is
//! [`super::escalations`].

use rampart_domain::platform::tenancy::Scope;
use rampart_domain::sre::documents::DefinitionKind;
use rampart_domain::sre::documents::PolicyDoc;
use rampart_domain::sre::escalation_policies::Policy;
use serde_json::json;

use super::definitions::corrupt;
use crate::{App, AppResult, Ctx};

pub(crate) fn parse_policy(definition: &str) -> AppResult<Policy> {
    let doc: PolicyDoc = serde_json::from_str(definition).map_err(|_| corrupt("policy"))?;
    doc.to_policy().map_err(|_| corrupt("policy"))
}

impl App {
    /// Sets (or clears) the escalation policy a service pages with.
    pub async fn set_service_escalation_policy(
        &self,
        ctx: &Ctx,
        scope: Scope,
        service: &str,
        policy: Option<&str>,
    ) -> AppResult<()> {
        let service = self.service_at(scope, service).await?;
        let policy_id = match policy {
            Some(identifier) => Some(
                self.definition_at(DefinitionKind::EscalationPolicy, scope, identifier)
                    .await?
                    .id,
            ),
            None => None,
        };
        let now = self.now();
        let mut tx = self.store().write().await?;
        tx.set_service_policy(service.id, policy_id.as_deref())
            .await?;
        tx.commit(
            ctx.audit(now, "service.update", "service")
                .scope(scope)
                .resource_id(service.id)
                .details(json!({ "escalation_policy": policy }))
                .build(),
        )
        .await?;
        Ok(())
    }
}
