//! Incidents: list, show (with linked alerts and the timeline), open by hand, move
//! through the statuses (acknowledging or resolving an incident does the same to its
//! alerts), and notes. What people and senders wrote — titles, descriptions, custom
//! fields, action items and timeline entries — is sealed; every change is audited and
//! written to the timeline in the same transaction.
//!
//! An incident whose sealed data does not open (tampered with or damaged in the
//! database) is *unreadable*: a list shows it without its title and marked, its detail
//! and every change to it are refused with `integrity_violation` before anything is
//! written, and the first request to meet it marks it in the store and writes one
//! `incident.integrity_violation` audit event (see [`App::incident_integrity_violation`]).

use rampart_domain::ErrorCode;
use rampart_domain::platform::tenancy::Scope;
use rampart_domain::sre::alerts::Alert;
use rampart_domain::sre::incidents::{
    ActionItem, INCIDENT_NOTE_CHARS_MAX, INCIDENT_TITLE_CHARS_MAX, Incident, IncidentFields,
    IncidentFilter, IncidentSeverity, IncidentStatus, Paging, alert_status_after,
    check_custom_fields, check_description, check_text, check_title, normalise_assignees,
};
use rampart_domain::{IncidentId, ProjectId};
use rampart_store::Page;
use serde_json::json;

use rampart_store::sre::incidents::{
    ACTION_ITEM_TEXT, INCIDENT_CUSTOM_FIELDS, INCIDENT_DESCRIPTION, INCIDENT_TITLE,
    IncidentEventRow, IncidentFieldsRow, TIMELINE_BODY,
};

use super::alerts::alert_dedup_key_place;
use crate::audit::Outcome;
use crate::sealing::{Opener, SealContext, SealedPlace, Sealer};
use crate::{App, AppError, AppResult, Ctx, mint};
use rampart_domain::sre::runbooks::TriggerEvent;

/// The sealed incident titles, descriptions, custom fields, action items and timeline
/// entries, for the rewrap job.
pub(crate) const SEALED_PLACES: &[SealedPlace] = &[
    SealedPlace {
        column: INCIDENT_TITLE,
        reseal: |resealer, owner, cell| {
            resealer.reseal(&incident_title_place(owner, &cell.id), &cell.sealed)
        },
    },
    SealedPlace {
        column: INCIDENT_DESCRIPTION,
        reseal: |resealer, owner, cell| {
            resealer.reseal(&incident_description_place(owner, &cell.id), &cell.sealed)
        },
    },
    SealedPlace {
        column: INCIDENT_CUSTOM_FIELDS,
        reseal: |resealer, owner, cell| {
            resealer.reseal(&custom_fields_place(owner, &cell.id), &cell.sealed)
        },
    },
    SealedPlace {
        column: ACTION_ITEM_TEXT,
        reseal: |resealer, owner, cell| {
            resealer.reseal(
                &action_item_place(owner, &cell.id, cell.version),
                &cell.sealed,
            )
        },
    },
    SealedPlace {
        column: TIMELINE_BODY,
        reseal: |resealer, owner, cell| {
            resealer.reseal(&timeline_place(owner, &cell.id, cell.version), &cell.sealed)
        },
    },
];

pub(crate) fn incident_title_place<'a>(owner: &'a str, id: &'a str) -> SealContext<'a> {
    SealContext {
        owner,
        entity_type: "incident",
        entity_id: id,
        field: "title",
        version: 0,
    }
}

pub(crate) fn incident_description_place<'a>(owner: &'a str, id: &'a str) -> SealContext<'a> {
    SealContext {
        owner,
        entity_type: "incident",
        entity_id: id,
        field: "description",
        version: 0,
    }
}

/// An incident's custom fields (a JSON object).
pub(crate) fn custom_fields_place<'a>(owner: &'a str, id: &'a str) -> SealContext<'a> {
    SealContext {
        owner,
        entity_type: "incident",
        entity_id: id,
        field: "custom_fields",
        version: 0,
    }
}

/// The text of action item `seq` of an incident.
pub(crate) fn action_item_place<'a>(
    owner: &'a str,
    incident: &'a str,
    seq: u64,
) -> SealContext<'a> {
    SealContext {
        owner,
        entity_type: "incident_action_item",
        entity_id: incident,
        field: "text",
        version: seq,
    }
}

pub(crate) fn timeline_place<'a>(owner: &'a str, incident: &'a str, seq: u64) -> SealContext<'a> {
    SealContext {
        owner,
        entity_type: "incident_event",
        entity_id: incident,
        field: "body",
        version: seq,
    }
}

/// Appends a sealed timeline entry inside the transaction.
pub(crate) async fn add_timeline(
    tx: &mut rampart_store::WriteTx,
    sealer: &Sealer,
    incident: IncidentId,
    at: jiff::Timestamp,
    actor: &str,
    kind: &str,
    body: serde_json::Value,
) -> AppResult<()> {
    let seq = tx.next_incident_event_seq(incident).await?;
    let row = timeline_row(sealer, incident, seq, (at, actor, kind), &body)?;
    tx.insert_incident_event(incident, &row).await?;
    Ok(())
}

/// Timeline entry `seq` of `incident` (at, actor, kind), its body sealed to its place.
pub(crate) fn timeline_row(
    sealer: &Sealer,
    incident: IncidentId,
    seq: u64,
    (at, actor, kind): (jiff::Timestamp, &str, &str),
    body: &serde_json::Value,
) -> AppResult<IncidentEventRow> {
    let body_sealed = sealer.seal(
        &timeline_place(sealer.owner(), &incident.to_string(), seq),
        body.to_string().as_bytes(),
    )?;
    Ok(IncidentEventRow {
        seq,
        at,
        actor: actor.to_owned(),
        kind: kind.to_owned(),
        body_sealed,
    })
}

/// Changes to an incident's fields; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct IncidentPatch {
    pub title: Option<String>,
    pub description: Option<String>,
    pub severity: Option<String>,
    /// `Some(None)` clears the commander.
    pub commander: Option<Option<String>>,
    pub assignees: Option<Vec<String>>,
    /// Service identifiers of the project.
    pub linked_services: Option<Vec<String>>,
    pub custom_fields: Option<serde_json::Map<String, serde_json::Value>>,
    /// What the change was made from (see [`IncidentExpected`]).
    pub expected: IncidentExpected,
}

/// The values a change was made from: each one given must still be the incident's when
/// the change is applied — compared with the incident's row held, so no change can land
/// in between — or nothing is changed and the answer is 409 `incident_changed_since`
/// naming the fields. A form sends what it drew for the fields it changes, so a
/// colleague's change to another field stays and one to the same field is not
/// overwritten unseen. Descriptions compare with every line break as LF.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IncidentExpected {
    pub title: Option<String>,
    pub description: Option<String>,
    pub severity: Option<String>,
    /// `Some(None)`: no commander.
    pub commander: Option<Option<String>>,
    /// In any order.
    pub assignees: Option<Vec<String>>,
}

impl IncidentExpected {
    fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// Line breaks as LF, however they were sent (a browser sends CRLF).
fn line_feeds(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\r', "\n")
}

/// An id list in a comparable order.
fn sorted_ids(ids: &[String]) -> Vec<String> {
    let mut ids = ids.to_vec();
    ids.sort();
    ids.dedup();
    ids
}

/// An incident an update is about, inside its transaction, with its row held.
struct HeldIncident<'a> {
    sealer: &'a Sealer,
    incident: &'a Incident,
    fields: &'a IncidentFieldsRow,
    /// Sealed title and description.
    texts: (Vec<u8>, Option<Vec<u8>>),
}

impl HeldIncident<'_> {
    /// The fields of `expected` that the incident no longer has, in the form's order.
    fn changed_since(&self, expected: &IncidentExpected) -> AppResult<Vec<&'static str>> {
        let owner = self.sealer.owner();
        let id = self.incident.id.to_string();
        let mut changed = Vec::new();
        if let Some(title) = &expected.title {
            let now = self
                .sealer
                .open(&incident_title_place(owner, &id), &self.texts.0)?;
            if now.as_slice() != title.as_bytes() {
                changed.push("title");
            }
        }
        if let Some(description) = &expected.description {
            let now = match &self.texts.1 {
                Some(sealed) => String::from_utf8(
                    self.sealer
                        .open(&incident_description_place(owner, &id), sealed)?
                        .to_vec(),
                )
                .map_err(|_| AppError::Integrity("an incident description is not text".into()))?,
                None => String::new(),
            };
            if line_feeds(&now) != line_feeds(description) {
                changed.push("description");
            }
        }
        if expected
            .severity
            .as_ref()
            .is_some_and(|severity| *severity != self.incident.severity)
        {
            changed.push("severity");
        }
        if expected
            .commander
            .as_ref()
            .is_some_and(|commander| *commander != self.fields.commander)
        {
            changed.push("commander");
        }
        if expected
            .assignees
            .as_ref()
            .is_some_and(|assignees| sorted_ids(assignees) != sorted_ids(&self.fields.assignees))
        {
            changed.push("assignees");
        }
        Ok(changed)
    }
}

/// An incident with its title opened.
#[derive(Clone, Debug, PartialEq)]
pub struct IncidentView {
    pub incident: Incident,
    /// `None` when the stored title does not open: the incident is unreadable (its
    /// detail and changes are refused with `integrity_violation`).
    pub title: Option<String>,
}

/// An alert of an incident, with its dedup key opened.
#[derive(Clone, Debug, PartialEq)]
pub struct IncidentAlert {
    pub alert: Alert,
    pub dedup_key: String,
}

/// Everything about one incident.
#[derive(Clone, Debug, PartialEq)]
pub struct IncidentDetail {
    pub view: IncidentView,
    pub description: String,
    pub alerts: Vec<IncidentAlert>,
    pub timeline: Vec<TimelineEntry>,
    pub fields: IncidentFields,
    pub action_items: Vec<ActionItem>,
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

/// A filter's text, unless absent or blank.
fn given(text: Option<&str>) -> Option<&str> {
    text.map(str::trim).filter(|text| !text.is_empty())
}

fn project_of(scope: Scope) -> AppResult<ProjectId> {
    scope.project_id().ok_or_else(|| {
        AppError::bad_request(ErrorCode::InvalidScope, "incidents belong to projects")
    })
}

fn incident_not_found() -> AppError {
    AppError::NotFound { what: "incident" }
}

/// The filters of an incident list as the edge received them (the API's query, the web
/// UI's address): `status` (`open` or a comma-separated list), `severity` (`SEV0`…),
/// `service` (its identifier). Empty or absent means any.
#[derive(Clone, Copy, Debug, Default)]
pub struct IncidentListQuery<'a> {
    pub status: Option<&'a str>,
    pub severity: Option<&'a str>,
    pub service: Option<&'a str>,
}

impl App {
    /// Records that a sealed `field` of `incident` does not open, and answers the
    /// refusal (`integrity_violation`, 500). "Once": the first request that meets the
    /// damage — on any replica, since the mark is a conditional update of the incident's
    /// row — sets `integrity_violation_at` and, in the same transaction, writes the one
    /// `incident.integrity_violation` audit event (outcome failure) and logs an error;
    /// every later meeting finds the mark and writes nothing. Failing to record (the
    /// store unavailable) answers that failure instead.
    pub(crate) async fn incident_integrity_violation(
        &self,
        ctx: &Ctx,
        incident: &Incident,
        field: &str,
        detail: String,
    ) -> AppError {
        let recorded: AppResult<()> = async {
            let now = self.now();
            let mut tx = self.store().write().await?;
            if tx
                .mark_incident_integrity_violation(incident.id, now)
                .await?
            {
                tx.commit(
                    ctx.audit(now, "incident.integrity_violation", "incident")
                        .scope(Scope::Project(incident.org_id, incident.project_id))
                        .resource_id(incident.id)
                        .outcome(Outcome::Failure)
                        .details(json!({ "number": incident.number, "field": field }))
                        .build(),
                )
                .await?;
                tracing::error!(
                    incident = %incident.id,
                    number = incident.number,
                    field,
                    %detail,
                    "an incident failed its integrity check; it is unreadable"
                );
            } else {
                tx.rollback().await?;
            }
            Ok(())
        }
        .await;
        match recorded {
            Ok(()) => AppError::Integrity(detail),
            Err(error) => error,
        }
    }

    /// Opens a sealed value of `incident` with its project's ring; one that does not
    /// open is recorded as the incident's integrity violation.
    async fn open_incident_value(
        &self,
        ctx: &Ctx,
        incident: &Incident,
        opener: &Opener,
        place: &SealContext<'_>,
        sealed: &[u8],
    ) -> AppResult<String> {
        match opener.open(place, sealed) {
            Ok(opened) => Ok(String::from_utf8_lossy(&opened).into_owned()),
            Err(AppError::Integrity(detail)) => Err(self
                .incident_integrity_violation(ctx, incident, place.field, detail)
                .await),
            Err(other) => Err(other),
        }
    }

    /// Refuses to change an incident whose title, description or custom fields do not
    /// open, before anything is written.
    async fn check_incident_intact(
        &self,
        ctx: &Ctx,
        incident: &Incident,
        title: &[u8],
    ) -> AppResult<()> {
        let owner = incident.project_id.to_string();
        let id = incident.id.to_string();
        let opener = self.opener(&owner).await?;
        self.open_incident_value(
            ctx,
            incident,
            &opener,
            &incident_title_place(&owner, &id),
            title,
        )
        .await?;
        if let Some(sealed) = self.store().incident_description(incident.id).await? {
            self.open_incident_value(
                ctx,
                incident,
                &opener,
                &incident_description_place(&owner, &id),
                &sealed,
            )
            .await?;
        }
        if let Some(sealed) = self
            .store()
            .incident_fields(incident.id)
            .await?
            .custom_fields_sealed
        {
            self.open_incident_value(
                ctx,
                incident,
                &opener,
                &custom_fields_place(&owner, &id),
                &sealed,
            )
            .await?;
        }
        Ok(())
    }

    /// The custom fields sealed in `sealed` (none: never set).
    async fn open_custom_fields(
        &self,
        ctx: &Ctx,
        incident: &Incident,
        opener: &Opener,
        sealed: Option<&[u8]>,
    ) -> AppResult<serde_json::Map<String, serde_json::Value>> {
        let Some(sealed) = sealed else {
            return Ok(serde_json::Map::new());
        };
        let owner = incident.project_id.to_string();
        let id = incident.id.to_string();
        let text = self
            .open_incident_value(
                ctx,
                incident,
                opener,
                &custom_fields_place(&owner, &id),
                sealed,
            )
            .await?;
        match serde_json::from_str(&text) {
            Ok(serde_json::Value::Object(map)) => Ok(map),
            _ => Err(AppError::Integrity(format!(
                "the custom fields of incident {id} are not a JSON object"
            ))),
        }
    }

    /// A project's incidents, newest first, those `query` asks for (an unknown service
    /// has none). One whose title does not open is listed unreadable (`title: None`)
    /// and recorded as an integrity violation; the others are listed as usual.
    pub async fn list_incidents(
        &self,
        ctx: &Ctx,
        scope: Scope,
        query: IncidentListQuery<'_>,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> AppResult<Page<IncidentView>> {
        let project = project_of(scope)?;
        // Incidents page by number, newest first.
        let page = crate::platform::numbered_page_request(limit, cursor)?;
        let mut filter = IncidentFilter {
            statuses: IncidentFilter::parse_statuses(query.status.unwrap_or_default())?,
            severity: given(query.severity)
                .map(|text| IncidentSeverity::parse(text).map(IncidentSeverity::as_string))
                .transpose()?,
            service: None,
        };
        if let Some(identifier) = given(query.service) {
            match self.service_at(scope, identifier).await {
                Ok(service) => filter.service = Some(service.id),
                Err(AppError::NotFound { .. }) => {
                    return Ok(Page {
                        items: Vec::new(),
                        next_cursor: None,
                    });
                }
                Err(other) => return Err(other),
            }
        }
        let listed = self.store().list_incidents(project, &filter, &page).await?;
        let opener = self.opener(&project.to_string()).await?;
        let mut items = Vec::with_capacity(listed.items.len());
        for (incident, sealed) in listed.items {
            let owner = incident.project_id.to_string();
            let id = incident.id.to_string();
            let title = match self
                .open_incident_value(
                    ctx,
                    &incident,
                    &opener,
                    &incident_title_place(&owner, &id),
                    &sealed,
                )
                .await
            {
                Ok(title) => Some(title),
                Err(AppError::Integrity(_)) => None,
                Err(other) => return Err(other),
            };
            items.push(IncidentView { incident, title });
        }
        Ok(Page {
            items,
            next_cursor: listed.next_cursor,
        })
    }

    /// An incident with its alerts, timeline, fields and action items; refused with
    /// `integrity_violation` (and recorded) when any of its sealed values does not open.
    /// A token that changes whenever the project's incident list would (the web UI's
    /// live list compares successive ones; it tells nothing else).
    pub async fn incidents_watermark(&self, scope: Scope) -> AppResult<String> {
        let (how_many, latest) = self.store().incidents_watermark(project_of(scope)?).await?;
        Ok(format!("{how_many}.{latest}"))
    }

    /// A token that changes whenever incident `number`'s page would.
    pub async fn incident_watermark(&self, scope: Scope, number: u64) -> AppResult<String> {
        let (updated, event, items) = self
            .store()
            .incident_watermark(project_of(scope)?, number)
            .await?
            .ok_or_else(incident_not_found)?;
        Ok(format!("{updated}.{event}.{items}"))
    }

    pub async fn get_incident(
        &self,
        ctx: &Ctx,
        scope: Scope,
        number: u64,
    ) -> AppResult<IncidentDetail> {
        let project = project_of(scope)?;
        let (incident, title) = self
            .store()
            .incident_by_number(project, number)
            .await?
            .ok_or_else(incident_not_found)?;
        let owner = project.to_string();
        let id = incident.id.to_string();
        let opener = self.opener(&owner).await?;
        let title = self
            .open_incident_value(
                ctx,
                &incident,
                &opener,
                &incident_title_place(&owner, &id),
                &title,
            )
            .await?;
        let mut alerts = Vec::new();
        for row in self.store().alerts_of_incident(incident.id).await? {
            let dedup_key = opener.open_text(
                &alert_dedup_key_place(&owner, &row.alert.id.to_string()),
                &row.dedup_key_sealed,
            )?;
            alerts.push(IncidentAlert {
                alert: row.alert,
                dedup_key,
            });
        }
        let mut timeline = Vec::new();
        for event in self.store().incident_events(incident.id).await? {
            let body = self
                .open_incident_value(
                    ctx,
                    &incident,
                    &opener,
                    &timeline_place(&owner, &id, event.seq),
                    &event.body_sealed,
                )
                .await?;
            timeline.push(TimelineEntry {
                seq: event.seq,
                at: event.at,
                actor: event.actor,
                kind: event.kind,
                body: serde_json::from_str(&body).unwrap_or(serde_json::Value::Null),
            });
        }
        let stored = self.store().incident_fields(incident.id).await?;
        let fields = IncidentFields {
            custom_fields: self
                .open_custom_fields(
                    ctx,
                    &incident,
                    &opener,
                    stored.custom_fields_sealed.as_deref(),
                )
                .await?,
            commander: stored.commander,
            assignees: stored.assignees,
            linked_services: stored.linked_services,
        };
        let mut action_items = Vec::new();
        for item in self.store().action_items(incident.id).await? {
            let text = self
                .open_incident_value(
                    ctx,
                    &incident,
                    &opener,
                    &action_item_place(&owner, &id, item.seq),
                    &item.text_sealed,
                )
                .await?;
            action_items.push(ActionItem {
                seq: item.seq,
                text,
                assignee: item.assignee,
                done: item.done,
                created_at: item.created_at,
                updated_at: item.updated_at,
            });
        }
        let description = match self.store().incident_description(incident.id).await? {
            Some(sealed) => {
                self.open_incident_value(
                    ctx,
                    &incident,
                    &opener,
                    &incident_description_place(&owner, &id),
                    &sealed,
                )
                .await?
            }
            None => String::new(),
        };
        Ok(IncidentDetail {
            description,
            view: IncidentView {
                incident,
                title: Some(title),
            },
            alerts,
            timeline,
            fields,
            action_items,
        })
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
                ErrorCode::InvalidScope,
                "incidents belong to projects",
            ));
        };
        check_title(title)?;
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
        let incident = Incident::open(id, org_id, project_id, number, None, None, severity, now);
        tx.insert_incident(&incident, &sealed_title).await?;
        let actor = ctx.actor.actor_text();
        crate::sre::runbook_executions::queue_triggers(
            &mut tx,
            &incident,
            TriggerEvent::IncidentOpened,
            &actor,
            now,
        )
        .await?;
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
            title: Some(title.to_owned()),
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
    ) -> AppResult<Incident> {
        let project = project_of(scope)?;
        let to = IncidentStatus::parse(status)?;
        if let Some(message) = message {
            check_text(message, INCIDENT_NOTE_CHARS_MAX, "message")?;
        }
        let (found, title) = self
            .store()
            .incident_by_number(project, number)
            .await?
            .ok_or_else(incident_not_found)?;
        self.check_incident_intact(ctx, &found, &title).await?;
        let owner = project.to_string();
        let sealer = self.sealer(&owner).await?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        let (incident, from) = match self
            .move_incident(
                &mut tx,
                &sealer,
                found.id,
                to,
                message,
                &ctx.actor.actor_text(),
                now,
            )
            .await?
        {
            Ok(moved) => moved,
            Err(refusal) => {
                tx.rollback().await?;
                return Err(refusal.into());
            }
        };
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

    /// Moves incident `id` to `to` inside `tx`: paging restarts or stops as the move
    /// says, its alerts follow, and the move goes to the timeline as `actor`'s with
    /// `message`. A move the incident's status does not allow is the `Err` inside.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn move_incident(
        &self,
        tx: &mut rampart_store::WriteTx,
        sealer: &Sealer,
        id: IncidentId,
        to: IncidentStatus,
        message: Option<&str>,
        actor: &str,
        now: jiff::Timestamp,
    ) -> AppResult<Result<(Incident, IncidentStatus), rampart_domain::Refusal>> {
        let mut incident = tx
            .incident_for_update(id)
            .await?
            .ok_or_else(incident_not_found)?;
        let moved = match incident.move_to(to, now) {
            Ok(moved) => moved,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let from = moved.from;
        tx.update_incident(&incident).await?;
        crate::sre::runbook_executions::queue_triggers(
            tx,
            &incident,
            TriggerEvent::IncidentChanged,
            actor,
            now,
        )
        .await?;
        match moved.paging {
            // Reopened: page again from the first level, with the service's policy.
            Paging::Restart => {
                let policy = match incident.service_id {
                    Some(service) => self.store().service_policy(service).await?,
                    None => None,
                };
                if let Some(policy) = &policy {
                    tx.start_escalation(incident.id, incident.project_id, policy, now)
                        .await?;
                }
            }
            // Anyone moving it past triggered has it in hand: paging stops.
            Paging::Stop(reason) => tx.stop_escalation(incident.id, reason, now).await?,
            Paging::Unchanged => {}
        }
        for row in self.store().alerts_of_incident(incident.id).await? {
            if let Some(next) = alert_status_after(to, row.alert.status) {
                tx.set_alert_status(row.alert.id, next, now).await?;
            }
        }
        add_timeline(
            tx,
            sealer,
            incident.id,
            now,
            actor,
            &format!("status.{}", to.as_str()),
            json!({ "from": from.as_str(), "to": to.as_str(), "text": message }),
        )
        .await?;
        Ok(Ok((incident, from)))
    }

    async fn check_users(&self, users: &[String]) -> AppResult<()> {
        for user in users {
            let known = match user.parse::<rampart_domain::UserId>() {
                Ok(id) => self.store().user_by_id(id).await?.is_some(),
                Err(_) => false,
            };
            if !known {
                return Err(AppError::bad_request(
                    ErrorCode::UnknownUser,
                    format!("{user:?} is not a user id"),
                ));
            }
        }
        Ok(())
    }

    /// Changes an incident's title, severity, commander, assignees, linked services or
    /// custom fields; the change goes to the timeline.
    pub async fn update_incident(
        &self,
        ctx: &Ctx,
        scope: Scope,
        number: u64,
        mut patch: IncidentPatch,
    ) -> AppResult<()> {
        let project = project_of(scope)?;
        // An expected severity that is no level is refused as a new one would be (not
        // answered with a conflict), and compares as the level is stored.
        if let Some(text) = &patch.expected.severity {
            patch.expected.severity = Some(IncidentSeverity::parse(text)?.as_string());
        }
        let (found, title) = self
            .store()
            .incident_by_number(project, number)
            .await?
            .ok_or_else(incident_not_found)?;
        self.check_incident_intact(ctx, &found, &title).await?;
        // The new values of the fields kept in one row; applied inside the transaction to
        // the row as it is then (see below).
        let mut commander_now: Option<Option<String>> = None;
        let mut assignees_now: Option<Vec<String>> = None;
        let mut services_now: Option<Vec<String>> = None;
        let mut changed = serde_json::Map::new();
        if let Some(title) = &patch.title {
            check_title(title)?;
            changed.insert("title".into(), json!(title));
        }
        if let Some(description) = &patch.description {
            check_description(description)?;
            changed.insert("description".into(), json!(description));
        }
        let severity = match &patch.severity {
            Some(text) => {
                let severity = IncidentSeverity::parse(text)?;
                changed.insert("severity".into(), json!(severity.as_string()));
                Some(severity)
            }
            None => None,
        };
        if let Some(commander) = &patch.commander {
            self.check_users(commander.as_slice()).await?;
            commander_now = Some(commander.clone());
            changed.insert("commander".into(), json!(commander));
        }
        if let Some(assignees) = &patch.assignees {
            let assignees = normalise_assignees(assignees)?;
            self.check_users(&assignees).await?;
            changed.insert("assignees".into(), json!(assignees));
            assignees_now = Some(assignees);
        }
        if let Some(services) = &patch.linked_services {
            let mut ids = Vec::with_capacity(services.len());
            for service in services {
                ids.push(
                    self.service_at(scope, service)
                        .await
                        .map_err(|_| {
                            AppError::bad_request(
                                ErrorCode::UnknownService,
                                format!("no service {service:?} in this project"),
                            )
                        })?
                        .id
                        .to_string(),
                );
            }
            ids.sort();
            ids.dedup();
            changed.insert("linked_services".into(), json!(services));
            services_now = Some(ids);
        }
        if let Some(custom) = &patch.custom_fields {
            check_custom_fields(custom)?;
            changed.insert("custom_fields".into(), json!(custom));
        }
        if changed.is_empty() {
            return Ok(());
        }
        let owner = project.to_string();
        let sealer = self.sealer(&owner).await?;
        let custom_now = match &patch.custom_fields {
            Some(custom) => Some(
                sealer.seal(
                    &custom_fields_place(&owner, &found.id.to_string()),
                    serde_json::Value::Object(custom.clone())
                        .to_string()
                        .as_bytes(),
                )?,
            ),
            None => None,
        };
        let now = self.now();
        let mut tx = self.store().write().await?;
        // The row is held from here: a concurrent change to another field (or the
        // status) is read as it is, not overwritten with what was read before.
        let mut fields: IncidentFieldsRow = tx
            .incident_fields_for_update(found.id)
            .await?
            .ok_or_else(incident_not_found)?;
        let mut incident = tx
            .incident_for_update(found.id)
            .await?
            .ok_or_else(incident_not_found)?;
        if !patch.expected.is_empty() {
            let held = HeldIncident {
                sealer: &sealer,
                incident: &incident,
                fields: &fields,
                texts: tx
                    .incident_texts(found.id)
                    .await?
                    .ok_or_else(incident_not_found)?,
            };
            let changed_since = held.changed_since(&patch.expected)?;
            if !changed_since.is_empty() {
                tx.rollback().await?;
                return Err(AppError::conflict(
                    ErrorCode::IncidentChangedSince,
                    format!(
                        "someone else changed the incident's {} since this change was made \
                         from it: read the incident again and make your change to what it \
                         says now",
                        changed_since.join(" and ")
                    ),
                ));
            }
        }
        if let Some(commander) = commander_now {
            fields.commander = commander;
        }
        if let Some(assignees) = assignees_now {
            fields.assignees = assignees;
        }
        if let Some(services) = services_now {
            fields.linked_services = services;
        }
        if let Some(custom) = custom_now {
            fields.custom_fields_sealed = Some(custom);
        }
        if let Some(title) = &patch.title {
            let sealed = sealer.seal(
                &incident_title_place(&owner, &incident.id.to_string()),
                title.as_bytes(),
            )?;
            tx.set_incident_title(incident.id, &sealed).await?;
        }
        if let Some(description) = &patch.description {
            let sealed = sealer.seal(
                &incident_description_place(&owner, &incident.id.to_string()),
                description.as_bytes(),
            )?;
            tx.set_incident_description(incident.id, &sealed).await?;
        }
        if let Some(severity) = severity {
            incident.severity = severity.as_string();
        }
        incident.updated_at = now;
        tx.update_incident(&incident).await?;
        tx.set_incident_fields(incident.id, &fields, now).await?;
        let actor = ctx.actor.actor_text();
        crate::sre::runbook_executions::queue_triggers(
            &mut tx,
            &incident,
            TriggerEvent::IncidentChanged,
            &actor,
            now,
        )
        .await?;
        add_timeline(
            &mut tx,
            &sealer,
            incident.id,
            now,
            &actor,
            "incident.updated",
            serde_json::Value::Object(changed.clone()),
        )
        .await?;
        let names: Vec<&String> = changed.keys().collect();
        tx.commit(
            ctx.audit(now, "incident.update", "incident")
                .scope(scope)
                .resource_id(incident.id)
                .details(json!({ "number": number, "changed": names }))
                .build(),
        )
        .await?;
        Ok(())
    }

    /// Adds an action item (a follow-up task) to an incident and returns it, numbered.
    pub async fn add_action_item(
        &self,
        ctx: &Ctx,
        scope: Scope,
        number: u64,
        text: &str,
        assignee: Option<&str>,
    ) -> AppResult<ActionItem> {
        let project = project_of(scope)?;
        check_text(text, INCIDENT_TITLE_CHARS_MAX, "text")?;
        if let Some(assignee) = assignee {
            self.check_users(&[assignee.to_owned()]).await?;
        }
        let (incident, title) = self
            .store()
            .incident_by_number(project, number)
            .await?
            .ok_or_else(incident_not_found)?;
        self.check_incident_intact(ctx, &incident, &title).await?;
        let owner = project.to_string();
        let sealer = self.sealer(&owner).await?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        let seq = tx.next_action_item_seq(incident.id).await?;
        let text_sealed = sealer.seal(
            &action_item_place(&owner, &incident.id.to_string(), seq),
            text.as_bytes(),
        )?;
        tx.insert_action_item(incident.id, seq, &text_sealed, assignee, now)
            .await?;
        add_timeline(
            &mut tx,
            &sealer,
            incident.id,
            now,
            &ctx.actor.actor_text(),
            "action_item.added",
            json!({ "item": seq, "text": text, "assignee": assignee }),
        )
        .await?;
        tx.commit(
            ctx.audit(now, "incident.action_item", "incident")
                .scope(scope)
                .resource_id(incident.id)
                .details(json!({ "number": number, "item": seq, "added": true }))
                .build(),
        )
        .await?;
        Ok(ActionItem {
            seq,
            text: text.to_owned(),
            assignee: assignee.map(str::to_owned),
            done: false,
            created_at: now,
            updated_at: now,
        })
    }

    /// Marks an action item done (or open again).
    pub async fn set_action_item_done(
        &self,
        ctx: &Ctx,
        scope: Scope,
        number: u64,
        item: u64,
        done: bool,
    ) -> AppResult<()> {
        let project = project_of(scope)?;
        let (incident, title) = self
            .store()
            .incident_by_number(project, number)
            .await?
            .ok_or_else(incident_not_found)?;
        self.check_incident_intact(ctx, &incident, &title).await?;
        let sealer = self.sealer(&project.to_string()).await?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        if !tx
            .set_action_item_done(incident.id, item, done, now)
            .await?
        {
            tx.rollback().await?;
            return Err(AppError::NotFound {
                what: "action item",
            });
        }
        add_timeline(
            &mut tx,
            &sealer,
            incident.id,
            now,
            &ctx.actor.actor_text(),
            if done {
                "action_item.done"
            } else {
                "action_item.reopened"
            },
            json!({ "item": item }),
        )
        .await?;
        tx.commit(
            ctx.audit(now, "incident.action_item", "incident")
                .scope(scope)
                .resource_id(incident.id)
                .details(json!({ "number": number, "item": item, "done": done }))
                .build(),
        )
        .await?;
        Ok(())
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
        let (incident, title) = self
            .store()
            .incident_by_number(project, number)
            .await?
            .ok_or_else(incident_not_found)?;
        self.check_incident_intact(ctx, &incident, &title).await?;
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
