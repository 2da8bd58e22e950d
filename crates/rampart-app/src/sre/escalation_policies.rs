//! Escalation policies: create, replace, read and list them (typed documents, stored as
//! definitions by [`super::definitions`]) and the policy a service pages with; the
//! engine that follows them is [`super::escalations`].

use rampart_domain::platform::tenancy::Scope;
use rampart_domain::sre::documents::DefinitionKind;
use rampart_domain::sre::documents::PolicyDoc;
use rampart_domain::sre::escalation_policies::Policy;
use rampart_store::Page;
use serde_json::json;

use super::definitions::{Document, StoredDefinition, corrupt};
use crate::{App, AppResult, Ctx};

pub(crate) fn parse_policy(definition: &str) -> AppResult<Policy> {
    let doc: PolicyDoc = serde_json::from_str(definition).map_err(|_| corrupt("policy"))?;
    doc.to_policy().map_err(|_| corrupt("policy"))
}

impl App {
    /// Creates an escalation policy.
    pub async fn create_escalation_policy(
        &self,
        ctx: &Ctx,
        scope: Scope,
        identifier: &str,
        name: &str,
        policy: PolicyDoc,
    ) -> AppResult<StoredDefinition<PolicyDoc>> {
        let record = self
            .create_definition(
                ctx,
                scope,
                identifier,
                name,
                Document::EscalationPolicy(&policy),
            )
            .await?;
        Ok(StoredDefinition {
            record,
            document: policy,
        })
    }

    /// Replaces an escalation policy's definition and name.
    pub async fn replace_escalation_policy(
        &self,
        ctx: &Ctx,
        scope: Scope,
        identifier: &str,
        name: &str,
        policy: PolicyDoc,
    ) -> AppResult<StoredDefinition<PolicyDoc>> {
        let record = self
            .replace_definition(
                ctx,
                scope,
                identifier,
                name,
                Document::EscalationPolicy(&policy),
            )
            .await?;
        Ok(StoredDefinition {
            record,
            document: policy,
        })
    }

    /// An escalation policy.
    pub async fn escalation_policy(
        &self,
        scope: Scope,
        identifier: &str,
    ) -> AppResult<StoredDefinition<PolicyDoc>> {
        let record = self
            .definition_at(DefinitionKind::EscalationPolicy, scope, identifier)
            .await?;
        StoredDefinition::read(record, DefinitionKind::EscalationPolicy)
    }

    /// One page of a project's escalation policies.
    pub async fn list_escalation_policies(
        &self,
        scope: Scope,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> AppResult<Page<StoredDefinition<PolicyDoc>>> {
        self.list_documents(DefinitionKind::EscalationPolicy, scope, limit, cursor)
            .await
    }

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

    /// The identifier of the escalation policy `service` pages with, if it has one.
    pub async fn service_escalation_policy(
        &self,
        scope: Scope,
        service: &str,
    ) -> AppResult<Option<String>> {
        let service = self.service_at(scope, service).await?;
        let Some(policy_id) = self
            .store()
            .service_for_delivery(service.id)
            .await?
            .and_then(|found| found.escalation_policy)
        else {
            return Ok(None);
        };
        Ok(self
            .store()
            .definition_by_id(DefinitionKind::EscalationPolicy, &policy_id)
            .await?
            .map(|record| record.identifier.to_string()))
    }
}
