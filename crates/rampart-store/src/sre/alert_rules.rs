//! A service's alert rules, stored as validated JSON on the service row.

use rampart_domain::ServiceId;

use crate::rows::get;
use crate::{Store, StoreResult, WriteTx};

impl Store {
    /// A service's alert rules, as stored (JSON).
    pub async fn service_alert_rules(&self, service: ServiceId) -> StoreResult<String> {
        let row = sqlx::query("SELECT alert_rules FROM services WHERE id = $1")
            .bind(service.to_string())
            .fetch_one(self.pool())
            .await?;
        get(&row, "alert_rules")
    }
}

impl WriteTx {
    pub async fn set_service_alert_rules(
        &mut self,
        service: ServiceId,
        rules: &str,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE services SET alert_rules = $2 WHERE id = $1")
            .bind(service.to_string())
            .bind(rules)
            .execute(self.conn())
            .await?;
        Ok(())
    }
}
