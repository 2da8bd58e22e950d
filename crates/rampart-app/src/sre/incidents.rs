//! Incidents: list, show (with linked alerts and the timeline), open by hand, move
//! through the statuses (acknowledging or resolving an incident does the same to its
//! alerts), and notes. Titles and timeline entries are sealed; every change is audited
//! and written to the timeline in the same transaction.

use rampart_domain::platform::tenancy::Scope;
use rampart_domain::sre::incident::{AlertStatus, IncidentSeverity, IncidentStatus};
use rampart_domain::{IncidentId, ProjectId};
use rampart_store::Page;
use rampart_store::sre::{AlertRow, IncidentRow};
use serde_json::json;

use super::ingest::{add_timeline, incident_title_place, timeline_place};
use crate::{App, AppError, AppResult, Ctx, mint};

/// The most characters of an incident title and of a note.
pub const INCIDENT_TITLE_CHARS_MAX: usize = 1024;
pub const INCIDENT_NOTE_CHARS_MAX: usize = 16 * 1024;

/// An incident with its title opened.
#[derive(Clone, Debug, PartialEq)]
pub struct IncidentView {
    pub incident: IncidentRow,
    pub title: String,
}

/// One timeline entry, opened.
#[derive(Clone, Debug, PartialEq)]
pub struct TimelineEntry {
    pub seq: u64,
    pub at: jiff::Timestamp,
    pub actor: String,
    pub kind: String,
    pub body: serde_json::Value,
}

fn project_of(scope: Scope) -> AppResult<ProjectId> {
    scope
        .project_id()
        .ok_or_else(|| AppError::bad_request("invalid_scope", "incidents belong to projects"))
}

fn incident_not_found() -> AppError {
    AppError::NotFound { what: "incident" }
}

fn check_text(text: &str, max: usize, field: &'static str) -> AppResult<()> {
    if text.trim().is_empty() || text.chars().count() > max {
        return Err(AppError::bad_request(
            if field == "title" {
                "invalid_title"
            } else {
                "invalid_text"
            },
            format!("the {field} is 1 to {max} characters"),
        ));
    }
    Ok(())
}

impl App {
    async fn incident_view(&self, incident: IncidentRow, title: &[u8]) -> AppResult<IncidentView> {
        let owner = incident.project_id.to_string();
        let id = incident.id.to_string();
        let opened = self
            .open_sealed(&incident_title_place(&owner, &id), title)
            .await?;
        Ok(IncidentView {
            incident,
            title: String::from_utf8_lossy(&opened).into_owned(),
        })
    }

    pub async fn list_incidents(
        &self,
        scope: Scope,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> AppResult<Page<IncidentView>> {
        let project = project_of(scope)?;
        let page = crate::platform::page_request(limit, cursor)?;
        let listed = self.store().list_incidents(project, &page).await?;
        let mut items = Vec::with_capacity(listed.items.len());
        for (incident, title) in listed.items {
            items.push(self.incident_view(incident, &title).await?);
        }
        Ok(Page {
            items,
            next_cursor: listed.next_cursor,
        })
    }

    /// An incident, its alerts and its timeline.
    pub async fn get_incident(
        &self,
        scope: Scope,
        number: u64,
    ) -> AppResult<(IncidentView, Vec<AlertRow>, Vec<TimelineEntry>)> {
        let project = project_of(scope)?;
        let (incident, title) = self
            .store()
            .incident_by_number(project, number)
            .await?
            .ok_or_else(incident_not_found)?;
        let alerts = self.store().alerts_of_incident(incident.id).await?;
        let owner = project.to_string();
        let id = incident.id.to_string();
        let mut timeline = Vec::new();
        for event in self.store().incident_events(incident.id).await? {
            let body = self
                .open_sealed(&timeline_place(&owner, &id, event.seq), &event.body_sealed)
                .await?;
            timeline.push(TimelineEntry {
                seq: event.seq,
                at: event.at,
                actor: event.actor,
                kind: event.kind,
                body: serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
            });
        }
        Ok((
            self.incident_view(incident, &title).await?,
            alerts,
            timeline,
        ))
    }

    /// Opens an incident by hand.
    pub async fn create_incident(
        &self,
        ctx: &Ctx,
        scope: Scope,
        title: &str,
        severity: &str,
    ) -> AppResult<IncidentView> {
        let Scope::Project(org_id, project_id) = scope else {
            return Err(AppError::bad_request(
                "invalid_scope",
                "incidents belong to projects",
            ));
        };
        check_text(title, INCIDENT_TITLE_CHARS_MAX, "title")?;
        let severity = IncidentSeverity::parse(severity)?;
        let owner = project_id.to_string();
        let sealer = self.sealer(&owner).await?;
        let now = self.now();
        let id = mint(now, IncidentId::mint)?;
        let sealed_title = sealer.seal(
            &incident_title_place(&owner, &id.to_string()),
            title.as_bytes(),
        )?;
        let mut tx = self.store().write().await?;
        let number = tx.next_incident_number(project_id).await?;
        let incident = IncidentRow {
            id,
            org_id,
            project_id,
            number,
            service_id: None,
            open_group: None,
            severity: severity.as_string(),
            status: IncidentStatus::Triggered,
            created_at: now,
            updated_at: now,
            acknowledged_at: None,
            resolved_at: None,
        };
        tx.insert_incident(&incident, &sealed_title).await?;
        let actor = ctx.actor.actor_text();
        add_timeline(
            &mut tx,
            &sealer,
            id,
            now,
            &actor,
            "incident.opened",
            json!({ "title": title, "severity": severity.as_string() }),
        )
        .await?;
        tx.commit(
            ctx.audit(now, "incident.create", "incident")
                .scope(scope)
                .resource_id(id)
                .details(json!({ "number": number, "severity": severity.as_string() }))
                .build(),
        )
        .await?;
        Ok(IncidentView {
            incident,
            title: title.to_owned(),
        })
    }

    /// Moves an incident to `status` with an optional status message (the timeline's
    /// communication history). Acknowledging acknowledges its triggered alerts;
    /// resolving resolves its alerts (their keys open new alerts afterwards) and stops
    /// it collecting alerts of its group.
    pub async fn set_incident_status(
        &self,
        ctx: &Ctx,
        scope: Scope,
        number: u64,
        status: &str,
        message: Option<&str>,
    ) -> AppResult<IncidentRow> {
        let project = project_of(scope)?;
        let to = IncidentStatus::parse(status)?;
        if let Some(message) = message {
            check_text(message, INCIDENT_NOTE_CHARS_MAX, "message")?;
        }
        let (found, _) = self
            .store()
            .incident_by_number(project, number)
            .await?
            .ok_or_else(incident_not_found)?;
        let owner = project.to_string();
        let sealer = self.sealer(&owner).await?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        let mut incident = tx
            .incident_for_update(found.id)
            .await?
            .ok_or_else(incident_not_found)?;
        if !incident.status.may_move_to(to) {
            tx.rollback().await?;
            return Err(AppError::conflict(
                "invalid_transition",
                format!(
                    "an incident cannot move from {} to {}",
                    incident.status.as_str(),
                    to.as_str()
                ),
            ));
        }
        let from = incident.status;
        incident.status = to;
        incident.updated_at = now;
        match to {
            IncidentStatus::Acknowledged => {
                incident.acknowledged_at.get_or_insert(now);
            }
            IncidentStatus::Resolved | IncidentStatus::Closed => {
                incident.resolved_at.get_or_insert(now);
                incident.open_group = None;
            }
            IncidentStatus::Triggered | IncidentStatus::Investigating if !from.is_open() => {
                incident.resolved_at = None;
            }
            _ => {}
        }
        tx.update_incident(&incident).await?;
        // Anyone moving it past triggered has it in hand: paging stops.
        if to != IncidentStatus::Triggered {
            let stopped = if to.is_open() {
                "acknowledged"
            } else {
                "resolved"
            };
            tx.stop_escalation(incident.id, stopped, now).await?;
        }
        for alert in self.store().alerts_of_incident(incident.id).await? {
            let next = match to {
                IncidentStatus::Resolved | IncidentStatus::Closed => AlertStatus::Resolved,
                _ if alert.status == AlertStatus::Triggered && to != IncidentStatus::Triggered => {
                    AlertStatus::Acknowledged
                }
                _ => continue,
            };
            if alert.status != AlertStatus::Resolved && alert.status != next {
                tx.set_alert_status(alert.id, next, now).await?;
            }
        }
        let actor = ctx.actor.actor_text();
        add_timeline(
            &mut tx,
            &sealer,
            incident.id,
            now,
            &actor,
            &format!("status.{}", to.as_str()),
            json!({ "from": from.as_str(), "to": to.as_str(), "text": message }),
        )
        .await?;
        tx.commit(
            ctx.audit(now, "incident.status", "incident")
                .scope(scope)
                .resource_id(incident.id)
                .details(json!({ "number": number, "from": from.as_str(), "to": to.as_str() }))
                .build(),
        )
        .await?;
        Ok(incident)
    }

    /// Adds a note to an incident's timeline.
    pub async fn add_incident_note(
        &self,
        ctx: &Ctx,
        scope: Scope,
        number: u64,
        text: &str,
    ) -> AppResult<()> {
        let project = project_of(scope)?;
        check_text(text, INCIDENT_NOTE_CHARS_MAX, "text")?;
        let (incident, _) = self
            .store()
            .incident_by_number(project, number)
            .await?
            .ok_or_else(incident_not_found)?;
        let owner = project.to_string();
        let sealer = self.sealer(&owner).await?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        let actor = ctx.actor.actor_text();
        add_timeline(
            &mut tx,
            &sealer,
            incident.id,
            now,
            &actor,
            "note",
            json!({ "text": text }),
        )
        .await?;
        tx.commit(
            ctx.audit(now, "incident.note", "incident")
                .scope(scope)
                .resource_id(incident.id)
                .details(json!({ "number": number }))
                .build(),
        )
        .await?;
        Ok(())
    }
}
