//! Retention: how many days an organisation's audit events keep their bodies, and the
//! sweep that drops older bodies while keeping their hashes (so exports still verify).

use rampart_domain::ErrorCode;
use rampart_domain::platform::tenancy::Scope;

use crate::{App, AppError, AppResult, Ctx};

/// Events pruned per statement by the retention sweep.
const PRUNE_BATCH: u32 = 5_000;

impl App {
    pub async fn audit_retention(&self, org: &rampart_domain::OrgId) -> AppResult<Option<u32>> {
        Ok(self.store().org_audit_retention(*org).await?)
    }

    /// Sets how many days an organisation's audit events keep their bodies (`None`:
    /// for ever). Pruned events keep their hashes, so exports still verify.
    pub async fn set_audit_retention(
        &self,
        ctx: &Ctx,
        org: rampart_domain::OrgId,
        days: Option<u32>,
    ) -> AppResult<Option<u32>> {
        use rampart_domain::limits::{AUDIT_RETENTION_DAYS_MAX, AUDIT_RETENTION_DAYS_MIN};
        if let Some(days) = days
            && !(AUDIT_RETENTION_DAYS_MIN..=AUDIT_RETENTION_DAYS_MAX).contains(&days)
        {
            return Err(AppError::bad_request(
                ErrorCode::InvalidDays,
                format!(
                    "days must be between {AUDIT_RETENTION_DAYS_MIN} and \
                     {AUDIT_RETENTION_DAYS_MAX}, or null to keep events for ever"
                ),
            ));
        }
        let now = self.now();
        let previous = self.store().org_audit_retention(org).await?;
        let mut tx = self.store().write().await?;
        tx.set_org_audit_retention(org, days).await?;
        tx.commit(
            ctx.audit(now, "org.audit_retention.update", "org")
                .scope(Scope::Org(org))
                .resource_id(org)
                .details(serde_json::json!({ "days": days, "previous": previous }))
                .build(),
        )
        .await?;
        Ok(days)
    }

    /// Drops the bodies of events older than each organisation's retention setting,
    /// keeping their hashes. Returns how many were pruned.
    pub async fn prune_audit_log(&self) -> AppResult<u64> {
        let now = self.now();
        let mut pruned = 0;
        for (org_id, days) in self.store().audit_retention_settings().await? {
            let before = now
                .checked_sub(jiff::SignedDuration::from_hours(i64::from(days) * 24))
                .map_err(|error| AppError::Internal(error.to_string()))?;
            loop {
                let count = self
                    .store()
                    .prune_audit_bodies(&org_id, before, PRUNE_BATCH)
                    .await?;
                pruned += count;
                if count < u64::from(PRUNE_BATCH) {
                    break;
                }
            }
        }
        Ok(pruned)
    }
}
