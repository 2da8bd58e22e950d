//! Escalation policies beyond their definition (a definition stored like schedules' in
//! [`super::definitions`], kind
//! [`DefinitionKind::EscalationPolicy`](rampart_domain::sre::documents::DefinitionKind::EscalationPolicy)):
//! which policy a service pages with, and how many services use one (a policy in use is
//! not deleted).

use rampart_domain::ServiceId;

use crate::rows::{get, number};
use crate::{Store, StoreResult, WriteTx};

impl Store {
    /// The escalation policy a service pages with.
    pub async fn service_policy(&self, service: ServiceId) -> StoreResult<Option<String>> {
        let row = sqlx::query("SELECT escalation_policy_id FROM services WHERE id = $1")
            .bind(service.to_string())
            .fetch_optional(self.pool())
            .await?;
        Ok(match row {
            Some(row) => get(&row, "escalation_policy_id")?,
            None => None,
        })
    }
}

impl WriteTx {
    pub async fn set_service_policy(
        &mut self,
        service: ServiceId,
        policy: Option<&str>,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE services SET escalation_policy_id = $2 WHERE id = $1")
            .bind(service.to_string())
            .bind(policy.map(str::to_owned))
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// How many services page with a policy.
    pub async fn services_using_policy(&mut self, policy: &str) -> StoreResult<u64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM services WHERE escalation_policy_id = $1")
            .bind(policy)
            .fetch_one(self.conn())
            .await?;
        number(get(&row, "n")?, "count")
    }
}
