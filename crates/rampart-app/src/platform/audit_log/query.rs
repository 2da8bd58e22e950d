//! The query API: audit events at a scope, filtered and paged newest first, and the
//! filters (as text from the caller) that the export takes too.

use jiff::Timestamp;
use rampart_domain::ErrorCode;
use rampart_domain::Permission;
use rampart_domain::platform::tenancy::Scope;
use rampart_store::{AuditEvent, AuditFilter, Page};

use crate::{Access, App, AppError, AppResult, Ctx, authorize};

/// Filters accepted by the query and export APIs, as text from the caller.
#[derive(Clone, Debug, Default)]
pub struct AuditQuery {
    pub since: Option<String>,
    pub until: Option<String>,
    pub actor: Option<String>,
    pub action: Option<String>,
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    pub outcome: Option<String>,
}

impl AuditQuery {
    pub(super) fn is_empty(&self) -> bool {
        self.since.is_none()
            && self.until.is_none()
            && self.actor.is_none()
            && self.action.is_none()
            && self.resource_type.is_none()
            && self.resource_id.is_none()
            && self.outcome.is_none()
    }
}

fn parse_time(text: Option<&str>, field: &'static str) -> AppResult<Option<Timestamp>> {
    text.map(|text| {
        text.parse::<Timestamp>().map_err(|_| {
            AppError::bad_request(
                ErrorCode::InvalidTime,
                format!("{field} must be an RFC 3339 time such as 2026-01-31T12:00:00Z"),
            )
        })
    })
    .transpose()
}

pub(super) fn store_filter(query: &AuditQuery, scope: Scope) -> AppResult<AuditFilter> {
    if let Some(outcome) = &query.outcome
        && !matches!(outcome.as_str(), "success" | "failure" | "denied")
    {
        return Err(AppError::bad_request(
            ErrorCode::InvalidOutcome,
            "outcome must be success, failure or denied",
        ));
    }
    Ok(AuditFilter {
        since: parse_time(query.since.as_deref(), "since")?,
        until: parse_time(query.until.as_deref(), "until")?,
        actor: query.actor.clone(),
        action: query.action.clone(),
        resource_type: query.resource_type.clone(),
        resource_id: query.resource_id.clone(),
        outcome: query.outcome.clone(),
        org_ids: scope.org_id().map(|org| vec![org.to_string()]),
        project_id: scope.project_id().map(|project| project.to_string()),
    })
}

impl App {
    /// Audit events at `scope` (account: all; organisation or project: its own),
    /// newest first. Events whose body retention pruned are left out: every item has
    /// its record.
    pub async fn list_audit_events(
        &self,
        ctx: &Ctx,
        scope: Scope,
        query: &AuditQuery,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> AppResult<Page<AuditEvent>> {
        authorize(
            &ctx.actor,
            &ctx.access,
            Access::Permission(Permission::AuditView),
            scope,
        )?;
        let filter = store_filter(query, scope)?;
        let page = crate::platform::numbered_page_request(limit, cursor)?;
        let events = self.store().audit_events(&filter, &page).await?;
        Ok(Page {
            items: events
                .items
                .into_iter()
                .filter(|event| event.record.is_some())
                .collect(),
            next_cursor: events.next_cursor,
        })
    }
}
