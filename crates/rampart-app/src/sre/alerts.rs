//! Incoming webhooks (`POST /hooks/v1/{integration_id}`, and PagerDuty Events API v2
//! events at `POST /hooks/pagerduty/v2/enqueue`, whose integration is the one whose
//! routing key the body carries) and the alerts they make:
//! source address, rate limit, authentication, decoding, then — in one transaction with
//! its audit event — each event's decision (the domain's
//! [`decide_alert`]: dedup, record only, open or join the group's incident, acknowledge,
//! resolve, drop) written to the store, with auto-resolution of incidents whose alerts
//! have all resolved. Decisions about one alert group are serialised (PostgreSQL
//! advisory lock; SQLite has one writer), so concurrent identical triggers make exactly
//! one alert. Deliveries arriving together share a transaction
//! ([`super::ingest_queue`]).
//!
//! What the sender wrote stays out of the database in clear: the payload and the dedup
//! key are sealed with the project's key; the dedup key (the open-alert lookup) and the
//! group key (which incident a group goes to) are kept as blind indexes
//! ([`DEDUP_KEY_INDEX`], [`GROUP_KEY_INDEX`]), one HMAC each per event.
//!
//! The alerts API: a project's alerts listed (status, service and time filters), one
//! alert with its payload opened, and acknowledging or resolving one by hand — the
//! domain's [`decide_by_hand`], written like the sender's own event (a resolve goes
//! through the same [`resolve_alert`] as a delivery's) and audited in its transaction.

use rampart_domain::ErrorCode;
use std::collections::HashMap;
use std::sync::Mutex;

use rampart_domain::platform::tenancy::Scope;
use rampart_domain::sre::alerts::{
    Alert, AlertDecision, AlertOutcomeKind, AlertStatus, HandAction, decide_alert, decide_by_hand,
    group_of,
};
use rampart_domain::sre::incidents::{
    Incident, IncidentSeverity, is_provisional_incident_number, provisional_incident_number,
};
use rampart_domain::sre::integrations::AuthMode;
use rampart_domain::sre::payload::{AlertEvent, decode, pagerduty_routing_key};
use rampart_domain::sre::services::Service;
use rampart_domain::{AlertId, IncidentId, IntegrationId, ProjectId, ServiceId};
use rampart_store::Page;
use rampart_store::sre::alerts::{
    ALERT_DEDUP_INDEX, ALERT_DEDUP_KEY, ALERT_GROUP_INDEX, ALERT_OPEN_KEY, AlertFilter,
    ListedAlert, NewAlertRow,
};
use rampart_store::sre::incidents::{INCIDENT_OPEN_GROUP, IncidentEventRow};
use rampart_store::sre::integrations::IntegrationRecord;
use rampart_store::sre::runbook_executions::TriggerEventRow;
use rampart_store::sre::services::ServiceForDelivery;
use serde_json::json;

use super::incidents::{add_timeline, incident_title_place, timeline_row};
use super::integrations::{
    ROUTING_KEY_DOMAIN, StoredSecrets, WEBHOOK_TOKEN_DOMAIN, credentials_place,
};
use crate::audit::Outcome;
use rampart_store::sre::alerts::ALERT_PAYLOAD;

use crate::sealing::{BlindIndex, Opener, SealContext, SealedPlace, Sealer};
use crate::{App, AppError, AppResult, Ctx, RequestMeta, mint};

/// The header carrying a webhook's HMAC signature.
pub const SIGNATURE_HEADER: &str = rampart_crypto::webhook_signature::SIGNATURE_HEADER;
/// The replay window of signed webhooks, either side of the server's clock.
pub const SIGNATURE_WINDOW_SECS: i64 = 300;

/// A webhook as it arrived.
pub struct WebhookRequest<'a> {
    pub integration_id: &'a str,
    pub meta: RequestMeta,
    pub authorization: Option<&'a str>,
    pub signature: Option<&'a str>,
    pub body: &'a [u8],
}

/// A PagerDuty Events API v2 event as it arrived at the PagerDuty-compatible route: no
/// integration in the path and no header, the integration key as `routing_key` in the
/// body.
pub struct PagerDutyEventRequest<'a> {
    pub meta: RequestMeta,
    pub body: &'a [u8],
}

/// What happened to one event of a webhook.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertOutcome {
    pub dedup_key: String,
    pub alert_id: Option<AlertId>,
    /// `created`, `deduplicated`, `acknowledged`, `resolved` or `dropped`.
    pub outcome: &'static str,
    pub incident_number: Option<u64>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct IngestOutcome {
    pub alerts: Vec<AlertOutcome>,
    pub truncated: u64,
    pub generated_dedup_key: Option<String>,
}

/// An alert as the alerts API shows it: with its dedup key opened, its service's
/// identifier and its incident's number (none when recorded only).
#[derive(Clone, Debug, PartialEq)]
pub struct AlertView {
    pub alert: Alert,
    pub dedup_key: String,
    pub service: String,
    pub incident_number: Option<u64>,
}

/// One alert with its payload (everything the sender said) opened.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertDetail {
    pub view: AlertView,
    pub payload: serde_json::Value,
}

/// The filters of a project's alert list, as the request gave them.
#[derive(Clone, Debug, Default)]
pub struct AlertQuery {
    /// `triggered`, `acknowledged` or `resolved`.
    pub status: Option<String>,
    /// A service's identifier.
    pub service: Option<String>,
    /// RFC 3339: alerts created at or after.
    pub since: Option<String>,
}

fn view_of(opener: &Opener, listed: ListedAlert) -> AppResult<AlertView> {
    let owner = listed.alert.project_id.to_string();
    let id = listed.alert.id.to_string();
    let dedup_key = opener.open_text(
        &alert_dedup_key_place(&owner, &id),
        &listed.dedup_key_sealed,
    )?;
    Ok(AlertView {
        alert: listed.alert,
        dedup_key,
        service: listed.service,
        incident_number: listed.incident_number,
    })
}

fn alert_not_found() -> AppError {
    AppError::NotFound { what: "alert" }
}

fn project_of(scope: Scope) -> AppResult<ProjectId> {
    scope
        .project_id()
        .ok_or_else(|| AppError::bad_request(ErrorCode::InvalidScope, "alerts belong to projects"))
}

/// Who resolves an alert: its sender (a delivery, counted as one more event of the
/// alert) or a person by hand (named on the timeline).
pub(crate) enum ResolvedBy<'a> {
    Sender,
    Hand { actor: &'a str },
}

/// A resolve decision, written: the alert resolves (its key is free for a new alert),
/// its incident's timeline says so, and the incident resolves automatically when the
/// service auto-resolves and no alert of it is left open. The one path for a sender's
/// resolve event and a resolve by hand; answers the incident's number.
pub(crate) async fn resolve_alert(
    tx: &mut rampart_store::WriteTx,
    sealer: &Sealer,
    service: &Service,
    (alert, incident): (AlertId, Option<IncidentId>),
    dedup_key: &str,
    by: ResolvedBy<'_>,
    now: jiff::Timestamp,
) -> AppResult<Option<u64>> {
    let (actor, counts_event) = match by {
        ResolvedBy::Sender => ("system", true),
        ResolvedBy::Hand { actor } => (actor, false),
    };
    tx.move_alert(alert, AlertStatus::Resolved, now, counts_event)
        .await?;
    let Some(incident_id) = incident else {
        return Ok(None);
    };
    let Some(mut incident) = tx.incident_for_update(incident_id).await? else {
        return Ok(None);
    };
    add_timeline(
        tx,
        sealer,
        incident.id,
        now,
        actor,
        "alert.resolved",
        json!({ "dedup_key": dedup_key }),
    )
    .await?;
    // The rule first: the count of alerts left is a query.
    if incident.may_auto_resolve(service.auto_resolve)
        && tx.unresolved_alerts_of_incident(incident.id).await? == 0
    {
        incident.resolve_automatically(now);
        tx.update_incident(&incident).await?;
        crate::sre::runbook_executions::queue_triggers(
            tx,
            &incident,
            rampart_domain::sre::runbooks::TriggerEvent::IncidentChanged,
            "system",
            now,
        )
        .await?;
        tx.stop_escalation(incident.id, "resolved", now).await?;
        add_timeline(
            tx,
            sealer,
            incident.id,
            now,
            "system",
            "status.resolved",
            json!({ "text": "every linked alert resolved", "auto": true }),
        )
        .await?;
    }
    Ok(Some(incident.number))
}

/// A decoded delivery, ready for its transaction.
pub(crate) struct Delivery {
    service: Service,
    integration: rampart_domain::sre::integrations::Integration,
    meta: RequestMeta,
    events: Vec<AlertEvent>,
    /// Each event's blind indexes, in `events`' order.
    indexes: Vec<EventIndexes>,
    sealer: Sealer,
    policy: Option<String>,
    rules: Vec<rampart_domain::sre::alert_rules::AlertRule>,
    /// Told (in-app) when an incident opens.
    subscribers: Vec<rampart_domain::UserId>,
}

/// An event's blind indexes: its dedup key's (the open-alert lookup) and its alert
/// group's (the open-incident lookup and the group's lock). Computed once, when the
/// delivery is prepared, so that the HMACs run in the request's task rather than in
/// the writer's transaction, which every other delivery waits for.
struct EventIndexes {
    dedup: String,
    group: String,
}

impl Delivery {
    /// Each event with its blind indexes.
    fn indexed_events(&self) -> impl Iterator<Item = (&AlertEvent, &EventIndexes)> {
        self.events.iter().zip(&self.indexes)
    }

    /// The alert groups this delivery's events decide about, as their locks name them.
    pub(crate) fn groups(&self) -> impl Iterator<Item = (ServiceId, String)> + '_ {
        self.indexes
            .iter()
            .map(|indexes| (self.service.id, indexes.group.clone()))
    }
}

/// An incident a delivery opened and what opening it writes (see
/// [`IngestLedger::opened`]).
struct OpenedIncident {
    incident: Incident,
    title_sealed: Vec<u8>,
    /// Its first timeline entry (`incident.opened`).
    timeline: IncidentEventRow,
    trigger: Option<TriggerEventRow>,
    escalation_policy: Option<String>,
    subscribers: Vec<rampart_domain::UserId>,
}

/// What a batch of deliveries knows about open alerts and has yet to write, so that a
/// batch costs a few statements rather than two per event: the open alerts of its dedup
/// keys, read at once before the first event ([`IngestLedger::prefetch`]) and kept
/// current as events decide; the new alerts and the repeated events, written together
/// ([`IngestLedger::flush`]) before the transaction commits, or before anything that
/// reads alerts back from the database (acknowledging, resolving); and the incidents
/// the batch opened, numbered last ([`IngestLedger::number_incidents`]).
#[derive(Default)]
pub(crate) struct IngestLedger {
    /// Keyed by integration and dedup-key blind index; `None`: known to have no open
    /// alert.
    known: HashMap<(IntegrationId, String), Option<Alert>>,
    inserts: Vec<NewAlertRow>,
    /// Repeated events per alert, in first-seen order.
    bumps: Vec<(AlertId, u64)>,
    /// Incidents opened with a provisional number, in opening order.
    unnumbered: Vec<(ProjectId, IncidentId, u64)>,
    /// The open incident of each alert group (service, group-key blind index) as this
    /// batch has left it; `None`: known to have none.
    group_incidents: HashMap<(ServiceId, String), Option<Incident>>,
    /// What the incidents this batch opened write, until [`IngestLedger::flush`]: the
    /// incidents with their sealed titles, timeline entries, runbook trigger changes,
    /// escalations to start (incident, project, policy) and subscribers to tell.
    new_incidents: Vec<(Incident, Vec<u8>)>,
    new_timeline: Vec<(IncidentId, IncidentEventRow)>,
    new_triggers: Vec<TriggerEventRow>,
    new_escalations: Vec<(IncidentId, ProjectId, String)>,
    new_notifications: Vec<(rampart_domain::UserId, IncidentId, ProjectId)>,
    /// The next timeline sequence number of each incident in `new_incidents` (its
    /// timeline is written with it, so nothing can be read back yet).
    next_seq: HashMap<IncidentId, u64>,
}

impl IngestLedger {
    /// Reads the open alerts of every dedup key of `deliveries` not known yet: one
    /// statement per integration (per few hundred keys).
    pub(crate) async fn prefetch(
        &mut self,
        tx: &mut rampart_store::WriteTx,
        deliveries: &[&Delivery],
    ) -> AppResult<()> {
        let mut wanted: HashMap<IntegrationId, Vec<String>> = Default::default();
        for delivery in deliveries {
            let integration = delivery.integration.id;
            for indexes in &delivery.indexes {
                let index = &indexes.dedup;
                if !self.known.contains_key(&(integration, index.clone())) {
                    wanted.entry(integration).or_default().push(index.clone());
                }
            }
        }
        for (integration, mut indexes) in wanted {
            indexes.sort_unstable();
            indexes.dedup();
            let borrowed: Vec<&str> = indexes.iter().map(String::as_str).collect();
            let found = tx.open_alerts(integration, &borrowed).await?;
            for index in indexes {
                self.known.insert((integration, index), None);
            }
            for (index, alert) in found {
                self.known.insert((integration, index), Some(alert));
            }
        }
        let mut groups: Vec<(ServiceId, String)> = deliveries
            .iter()
            .flat_map(|delivery| delivery.groups())
            .filter(|group| !self.group_incidents.contains_key(group))
            .collect();
        groups.sort_unstable();
        groups.dedup();
        let found = tx.open_incidents_for_groups(&groups).await?;
        for group in groups {
            self.group_incidents.insert(group, None);
        }
        for incident in found {
            if let (Some(service), Some(group)) = (incident.service_id, incident.open_group.clone())
            {
                self.group_incidents
                    .insert((service, group), Some(incident));
            }
        }
        Ok(())
    }

    /// The open incident of an alert group, as this batch has left it.
    async fn open_incident(
        &mut self,
        tx: &mut rampart_store::WriteTx,
        service: ServiceId,
        group_index: &str,
    ) -> AppResult<Option<Incident>> {
        let key = (service, group_index.to_owned());
        if let Some(known) = self.group_incidents.get(&key) {
            return Ok(known.clone());
        }
        let open = tx.open_incident_for_group(service, group_index).await?;
        self.group_incidents.insert(key, open.clone());
        Ok(open)
    }

    /// Adds a timeline entry to an incident: kept with the batch's writes when the
    /// batch opened the incident, written at once otherwise.
    async fn add_timeline(
        &mut self,
        tx: &mut rampart_store::WriteTx,
        sealer: &Sealer,
        incident: IncidentId,
        entry: (jiff::Timestamp, &str, &str),
        body: serde_json::Value,
    ) -> AppResult<()> {
        match self.next_seq.get_mut(&incident) {
            Some(next) => {
                let row = timeline_row(sealer, incident, *next, entry, &body)?;
                *next += 1;
                self.new_timeline.push((incident, row));
                Ok(())
            }
            None => {
                let (at, actor, kind) = entry;
                add_timeline(tx, sealer, incident, at, actor, kind, body).await
            }
        }
    }

    /// The open alert of `integration` with the dedup-key index `dedup_index`, as this
    /// batch has left it.
    async fn open_alert(
        &mut self,
        tx: &mut rampart_store::WriteTx,
        integration: IntegrationId,
        dedup_index: &str,
    ) -> AppResult<Option<Alert>> {
        let key = (integration, dedup_index.to_owned());
        if let Some(known) = self.known.get(&key) {
            return Ok(known.clone());
        }
        let open = tx.open_alert(integration, dedup_index).await?;
        self.known.insert(key, open.clone());
        Ok(open)
    }

    fn insert(&mut self, row: NewAlertRow) {
        self.known.insert(
            (row.alert.integration_id, row.dedup_index.clone()),
            Some(row.alert.clone()),
        );
        self.inserts.push(row);
    }

    fn bump(&mut self, integration: IntegrationId, dedup_index: &str, alert: AlertId) {
        if let Some(Some(open)) = self.known.get_mut(&(integration, dedup_index.to_owned())) {
            open.event_count += 1;
        }
        match self.bumps.iter_mut().find(|(id, _)| *id == alert) {
            Some((_, events)) => *events += 1,
            None => self.bumps.push((alert, 1)),
        }
    }

    /// Drops what the ledger knows of one alert after it was written directly (its
    /// next event reads it again).
    fn forget(&mut self, integration: IntegrationId, dedup_index: &str) {
        self.known.remove(&(integration, dedup_index.to_owned()));
    }

    /// Keeps a new incident (and what opening it writes) for [`IngestLedger::flush`].
    fn opened(&mut self, opened: OpenedIncident) {
        let OpenedIncident {
            incident,
            title_sealed,
            timeline,
            trigger,
            escalation_policy,
            subscribers,
        } = opened;
        self.unnumbered
            .push((incident.project_id, incident.id, incident.number));
        if let (Some(service), Some(group)) = (incident.service_id, incident.open_group.clone()) {
            self.group_incidents
                .insert((service, group), Some(incident.clone()));
        }
        self.next_seq.insert(incident.id, timeline.seq + 1);
        self.new_timeline.push((incident.id, timeline));
        self.new_triggers.extend(trigger);
        if let Some(policy) = escalation_policy {
            self.new_escalations
                .push((incident.id, incident.project_id, policy));
        }
        for user in subscribers {
            self.new_notifications
                .push((user, incident.id, incident.project_id));
        }
        self.new_incidents.push((incident, title_sealed));
    }

    /// Forgets the open incidents of alert groups after an incident was resolved
    /// directly (their next events read them again).
    fn forget_group_incidents(&mut self) {
        self.group_incidents.clear();
    }

    /// Numbers the incidents the batch opened (per project, in opening order) and puts
    /// their numbers in `outcomes` in place of the provisional ones. The last writes
    /// before the audit events: see [`provisional_incident_number`].
    pub(crate) async fn number_incidents(
        &mut self,
        tx: &mut rampart_store::WriteTx,
        outcomes: &mut [Vec<AlertOutcome>],
    ) -> AppResult<()> {
        let mut projects: Vec<ProjectId> = self.unnumbered.iter().map(|(p, _, _)| *p).collect();
        projects.sort_unstable();
        projects.dedup();
        let mut real: HashMap<u64, u64> = HashMap::new();
        for project in projects {
            let of_project: Vec<&(ProjectId, IncidentId, u64)> = self
                .unnumbered
                .iter()
                .filter(|(p, _, _)| *p == project)
                .collect();
            let ids: Vec<IncidentId> = of_project.iter().map(|(_, id, _)| *id).collect();
            let numbers = tx.number_incidents(project, &ids).await?;
            for ((_, _, provisional), number) in of_project.into_iter().zip(numbers) {
                real.insert(*provisional, number);
            }
        }
        self.unnumbered.clear();
        for outcome in outcomes.iter_mut().flatten() {
            if let Some(number) = outcome.incident_number.as_mut()
                && is_provisional_incident_number(*number)
            {
                *number = real.get(number).copied().ok_or_else(|| {
                    AppError::Internal("an incident of the batch was not numbered".into())
                })?;
            }
        }
        Ok(())
    }

    /// Writes the new incidents and what they bring (timeline entries, runbook trigger
    /// changes, escalations, subscribers' notifications), then the new alerts, then the
    /// repeated events (which may be of new alerts).
    pub(crate) async fn flush(
        &mut self,
        tx: &mut rampart_store::WriteTx,
        now: jiff::Timestamp,
    ) -> AppResult<()> {
        if !self.new_incidents.is_empty() {
            tx.insert_incidents(&self.new_incidents).await?;
            self.new_incidents.clear();
        }
        if !self.new_timeline.is_empty() {
            tx.insert_incident_events(&self.new_timeline).await?;
            self.new_timeline.clear();
        }
        // Written now: a later entry reads its sequence number from the database.
        self.next_seq.clear();
        if !self.new_triggers.is_empty() {
            tx.queue_runbook_triggers(&self.new_triggers).await?;
            self.new_triggers.clear();
        }
        for (incident, project, policy) in std::mem::take(&mut self.new_escalations) {
            tx.start_escalation(incident, project, &policy, now).await?;
        }
        for (user, incident, project) in std::mem::take(&mut self.new_notifications) {
            super::notifications::notify(tx, user, incident, project, "subscribed", (0, 0), now)
                .await?;
        }
        if !self.inserts.is_empty() {
            tx.insert_alerts(&self.inserts).await?;
            self.inserts.clear();
        }
        if !self.bumps.is_empty() {
            tx.bump_alerts(&self.bumps, now).await?;
            self.bumps.clear();
        }
        Ok(())
    }
}

/// Per-integration counts of accepted deliveries in fixed one-minute windows, shared by
/// the replicas: each counts its own and adds the others' counts as the store last
/// reported them ([`App::sync_webhook_rate_limits`], about once a second), so that the
/// limit holds for the installation, exceeded at most by what the other replicas accept
/// between two syncs.
#[derive(Default)]
pub(crate) struct RateLimiter {
    windows: Mutex<HashMap<IntegrationId, Window>>,
}

#[derive(Clone, Copy, Default)]
struct Window {
    minute: i64,
    /// Accepted here.
    local: u32,
    /// `local` as last published to the store.
    published: u32,
    /// Accepted by the other replicas, as last read.
    others: u32,
}

/// Integrations tracked before windows of past minutes are dropped.
const RATE_WINDOWS_MAX: usize = 100_000;

impl RateLimiter {
    fn windows(&self) -> std::sync::MutexGuard<'_, HashMap<IntegrationId, Window>> {
        self.windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn check(&self, id: IntegrationId, now_secs: i64, limit: u32) -> AppResult<()> {
        let minute = now_secs.div_euclid(60);
        let mut windows = self.windows();
        if windows.len() > RATE_WINDOWS_MAX {
            windows.retain(|_, window| window.minute == minute);
        }
        let window = windows.entry(id).or_default();
        if window.minute != minute {
            *window = Window {
                minute,
                ..Window::default()
            };
        }
        if window.local.saturating_add(window.others) >= limit {
            return Err(AppError::RateLimited {
                code: ErrorCode::RateLimited,
                message: format!("this integration accepts {limit} requests a minute"),
                retry_after_secs: u64::try_from(60 - now_secs.rem_euclid(60)).unwrap_or(60),
            });
        }
        window.local += 1;
        Ok(())
    }

    /// This replica's counts of `minute` not yet published.
    fn unpublished(&self, minute: i64) -> Vec<(IntegrationId, u32)> {
        self.windows()
            .iter()
            .filter(|(_, window)| window.minute == minute && window.local != window.published)
            .map(|(id, window)| (*id, window.local))
            .collect()
    }

    fn mark_published(&self, minute: i64, counts: &[(IntegrationId, u32)]) {
        let mut windows = self.windows();
        for (id, published) in counts {
            if let Some(window) = windows.get_mut(id)
                && window.minute == minute
            {
                window.published = *published;
            }
        }
    }

    /// Takes the other replicas' counts of `minute` (an integration absent from
    /// `others` has none).
    fn set_others(&self, minute: i64, others: &[(IntegrationId, u32)]) {
        let mut windows = self.windows();
        for window in windows.values_mut() {
            if window.minute == minute {
                window.others = 0;
            }
        }
        for (id, count) in others {
            if windows.len() > RATE_WINDOWS_MAX && !windows.contains_key(id) {
                continue;
            }
            let window = windows.entry(*id).or_default();
            if window.minute != minute {
                *window = Window {
                    minute,
                    ..Window::default()
                };
            }
            window.others = *count;
        }
    }
}

impl App {
    /// Shares integration rate-limit counts with the other replicas (run about once a
    /// second by the maintenance loop): publishes this replica's counts of the current
    /// minute, reads the others', and deletes counts of past minutes.
    pub async fn sync_webhook_rate_limits(&self) -> AppResult<()> {
        let limiter = &self.inner.webhook_limits;
        let minute = self.now().as_second().div_euclid(60);
        let counts = limiter.unpublished(minute);
        if !counts.is_empty() {
            self.store()
                .publish_webhook_counts(self.replica_id(), minute, &counts)
                .await?;
            limiter.mark_published(minute, &counts);
        }
        let others = self
            .store()
            .webhook_counts_of_others(self.replica_id(), minute)
            .await?;
        limiter.set_others(minute, &others);
        self.store().forget_webhook_counts(minute - 1).await?;
        Ok(())
    }
}

/// The sealed alert payloads and dedup keys, for the rewrap job.
pub(crate) const SEALED_PLACES: &[SealedPlace] = &[
    SealedPlace {
        column: ALERT_PAYLOAD,
        reseal: |resealer, owner, cell| {
            resealer.reseal(&alert_place(owner, &cell.id), &cell.sealed)
        },
    },
    SealedPlace {
        column: ALERT_DEDUP_KEY,
        reseal: |resealer, owner, cell| {
            resealer.reseal(&alert_dedup_key_place(owner, &cell.id), &cell.sealed)
        },
    },
];

/// An alert's dedup key, blind-indexed: the open-alert lookup of each event (its open
/// key) and the alert's permanent index.
pub(crate) const DEDUP_KEY_INDEX: BlindIndex = BlindIndex {
    domain: "alert-dedup-key",
    columns: &[ALERT_DEDUP_INDEX, ALERT_OPEN_KEY],
};

/// An alert's group key (Alertmanager's `groupKey`, else its dedup key), blind-indexed:
/// the alerts of a group and the open incident collecting them carry the same index,
/// whatever the key's length.
pub(crate) const GROUP_KEY_INDEX: BlindIndex = BlindIndex {
    domain: "alert-group-key",
    columns: &[ALERT_GROUP_INDEX, INCIDENT_OPEN_GROUP],
};

/// The blind indexes of alerts (and of the incidents their groups open).
pub(crate) const BLIND_INDEXES: &[BlindIndex] = &[DEDUP_KEY_INDEX, GROUP_KEY_INDEX];

pub(crate) fn alert_place<'a>(owner: &'a str, id: &'a str) -> SealContext<'a> {
    SealContext {
        owner,
        entity_type: "alert",
        entity_id: id,
        field: "payload",
        version: 0,
    }
}

pub(crate) fn alert_dedup_key_place<'a>(owner: &'a str, id: &'a str) -> SealContext<'a> {
    SealContext {
        owner,
        entity_type: "alert",
        entity_id: id,
        field: "dedup_key",
        version: 0,
    }
}

fn unauthorized(code: ErrorCode) -> AppError {
    AppError::unauthenticated(code, "the webhook's credentials are missing or wrong")
}

/// A routing key that is no integration's. A 400, as PagerDuty answers it: the key is a
/// field of the event, and senders do not retry a 400.
fn routing_key_invalid() -> AppError {
    AppError::bad_request(
        ErrorCode::RoutingKeyInvalid,
        "the routing_key is not the integration key of any integration",
    )
}

/// The code of a refusal that is about the sender's credentials (audited as
/// `webhook.refused`), if `error` is one.
fn credentials_refused(error: &AppError) -> Option<ErrorCode> {
    match error {
        AppError::Unauthenticated { code, .. } => Some(*code),
        AppError::BadRequest { code, .. }
            if matches!(
                code,
                ErrorCode::RoutingKeyMissing | ErrorCode::RoutingKeyInvalid
            ) =>
        {
            Some(*code)
        }
        _ => None,
    }
}

/// How many of an incident's alerts (the newest) runbook trigger conditions look at.
const TRIGGER_ALERTS_READ: usize = 100;

/// The alert payload as sealed: everything the sender said about the alert.
fn payload_json(event: &AlertEvent) -> serde_json::Value {
    json!({
        "summary": event.summary,
        "source": event.source,
        "severity": event.severity.as_str(),
        "labels": event.labels,
        "annotations": event.annotations,
        "links": event.links.iter().map(|l| json!({"href": l.href, "text": l.text})).collect::<Vec<_>>(),
        "details": event.details,
    })
}

impl App {
    async fn authenticate_webhook(
        &self,
        record: &IntegrationRecord,
        request: &WebhookRequest<'_>,
    ) -> AppResult<()> {
        let integration = &record.integration;
        match integration.auth_mode {
            AuthMode::RoutingKey => {
                // PagerDuty's way: the key is a field of the event, and no header is sent.
                let key = pagerduty_routing_key(request.body)?;
                let presented = self
                    .pepper()
                    .blind_index(ROUTING_KEY_DOMAIN, key.as_bytes());
                let stored = record.token_hmac.ok_or_else(routing_key_invalid)?;
                if !rampart_crypto::digest::constant_time_eq(&presented, &stored) {
                    return Err(routing_key_invalid());
                }
                Ok(())
            }
            AuthMode::Bearer => {
                let token = request
                    .authorization
                    .and_then(crate::credentials::bearer)
                    .ok_or_else(|| unauthorized(ErrorCode::AuthenticationRequired))?;
                let parsed = rampart_crypto::token::parse(token)
                    .map_err(|_| unauthorized(ErrorCode::TokenMalformed))?;
                let presented = self
                    .pepper()
                    .blind_index(WEBHOOK_TOKEN_DOMAIN, parsed.secret.expose().as_bytes());
                let stored = record
                    .token_hmac
                    .ok_or_else(|| unauthorized(ErrorCode::TokenInvalid))?;
                if !rampart_crypto::digest::constant_time_eq(&presented, &stored) {
                    return Err(unauthorized(ErrorCode::TokenInvalid));
                }
                Ok(())
            }
            AuthMode::Basic | AuthMode::Hmac => {
                let secrets = self.integration_secrets(record).await?;
                if integration.auth_mode == AuthMode::Basic {
                    let (user, password) = request
                        .authorization
                        .and_then(crate::credentials::basic)
                        .ok_or_else(|| unauthorized(ErrorCode::AuthenticationRequired))?;
                    let user_ok = rampart_crypto::digest::constant_time_eq(
                        user.as_bytes(),
                        secrets.username.as_deref().unwrap_or("").as_bytes(),
                    );
                    let password_ok = rampart_crypto::digest::constant_time_eq(
                        password.as_bytes(),
                        secrets.password.as_deref().unwrap_or("").as_bytes(),
                    );
                    if !(user_ok & password_ok) {
                        return Err(unauthorized(ErrorCode::CredentialsInvalid));
                    }
                    return Ok(());
                }
                let header = request
                    .signature
                    .ok_or_else(|| unauthorized(ErrorCode::SignatureRequired))?;
                let keys: Vec<&[u8]> = secrets.hmac.iter().map(|s| s.as_bytes()).collect();
                rampart_crypto::webhook_signature::verify(
                    &keys,
                    header,
                    request.body,
                    self.now().as_second(),
                    SIGNATURE_WINDOW_SECS,
                )
                .map_err(|error| match error {
                    rampart_crypto::webhook_signature::SignatureError::Malformed => {
                        unauthorized(ErrorCode::SignatureMalformed)
                    }
                    rampart_crypto::webhook_signature::SignatureError::Stale => {
                        unauthorized(ErrorCode::SignatureExpired)
                    }
                    rampart_crypto::webhook_signature::SignatureError::Mismatch => {
                        unauthorized(ErrorCode::SignatureInvalid)
                    }
                })
            }
        }
    }

    pub(crate) async fn integration_secrets(
        &self,
        record: &IntegrationRecord,
    ) -> AppResult<StoredSecrets> {
        let sealed = record
            .credentials_sealed
            .as_ref()
            .ok_or_else(|| AppError::Integrity("an integration lost its credentials".into()))?;
        let owner = record.integration.project_id.to_string();
        let id = record.integration.id.to_string();
        let opened = self
            .open_sealed(&credentials_place(&owner, &id), sealed)
            .await?;
        serde_json::from_slice(&opened)
            .map_err(|_| AppError::Integrity("integration credentials do not parse".into()))
    }

    /// Handles one webhook delivery.
    pub async fn ingest_webhook(&self, request: WebhookRequest<'_>) -> AppResult<IngestOutcome> {
        let not_found = || AppError::NotFound {
            what: "integration",
        };
        // An address that keeps presenting bad credentials is refused unchecked, like
        // any failed authentication (`throttle`).
        self.check_auth_failures(&request.meta)?;
        let id: IntegrationId = request.integration_id.parse().map_err(|_| not_found())?;
        let record = self.store().integration(id).await?.ok_or_else(not_found)?;
        self.ingest_into(&record, &request).await
    }

    /// Handles one PagerDuty Events API v2 event: its integration is the `routing_key`
    /// integration whose key the body carries, found by the key's blind index (one
    /// index probe: no scan, and no key is ever compared in the clear); then it goes
    /// exactly as a delivery to `/hooks/v1/{id}` of that integration does (source
    /// networks, rate limit, the key checked again in constant time, decoding, dedup,
    /// audit). A missing or unknown key is refused with a 400, as PagerDuty refuses
    /// it, audited as an `auth.failure` (there is no integration to name) and counted
    /// against the client address like any failed authentication (`throttle`).
    pub async fn ingest_pagerduty_event(
        &self,
        request: PagerDutyEventRequest<'_>,
    ) -> AppResult<IngestOutcome> {
        self.check_auth_failures(&request.meta)?;
        let key = match pagerduty_routing_key(request.body) {
            Ok(key) => key,
            Err(refusal) => {
                if refusal.code == ErrorCode::RoutingKeyMissing {
                    self.record_auth_failure(&request.meta, "routing_key", refusal.code.as_str())
                        .await;
                }
                return Err(refusal.into());
            }
        };
        let index = self
            .pepper()
            .blind_index(ROUTING_KEY_DOMAIN, key.as_bytes());
        let Some(record) = self.store().integration_by_routing_key(&index).await? else {
            self.record_auth_failure(
                &request.meta,
                "routing_key",
                ErrorCode::RoutingKeyInvalid.as_str(),
            )
            .await;
            return Err(routing_key_invalid());
        };
        let integration_id = record.integration.id.to_string();
        let webhook = WebhookRequest {
            integration_id: &integration_id,
            meta: request.meta,
            authorization: None,
            signature: None,
            body: request.body,
        };
        self.ingest_into(&record, &webhook).await
    }

    /// A delivery to the integration `record`, from its source check on.
    async fn ingest_into(
        &self,
        record: &IntegrationRecord,
        request: &WebhookRequest<'_>,
    ) -> AppResult<IngestOutcome> {
        let not_found = || AppError::NotFound {
            what: "integration",
        };
        let integration = &record.integration;
        let id = integration.id;
        let meta = &request.meta;
        if !integration.source_cidrs.is_empty()
            && !crate::platform::network::address_allowed(
                &integration.source_cidrs,
                &meta.client_ip,
            )
        {
            self.record_webhook_refusal(meta, id, "source_not_allowed")
                .await?;
            return Err(AppError::forbidden(
                ErrorCode::SourceNotAllowed,
                "this integration does not accept webhooks from this address",
            ));
        }
        if let Err(error) = self.authenticate_webhook(record, request).await {
            if let Some(code) = credentials_refused(&error) {
                self.charge_auth_failure(meta);
                self.record_webhook_refusal(meta, id, code.as_str()).await?;
            }
            return Err(error);
        }
        // Only authenticated deliveries count against the integration's budget, so that
        // nobody without its credentials can use it up; unauthenticated traffic meets
        // the per-address limits (`throttle`).
        self.inner.webhook_limits.check(
            id,
            self.now().as_second(),
            integration.rate_limit_per_minute,
        )?;
        let decoded = decode(integration.format, request.body, || {
            rampart_crypto::random::bytes::<16>()
                .map(|bytes| rampart_crypto::digest::hex(&bytes))
                .unwrap_or_default()
        })
        // The catalogue gives the status: 413 for payload_too_large, else 400.
        .map_err(AppError::from)?;
        let service = self
            .store()
            .service_for_delivery(integration.service_id)
            .await?
            .ok_or_else(not_found)?;
        let delivery = self.prepare(service, record, meta, decoded.events).await?;
        let outcomes = self.inner.ingest_queue.submit(delivery).await?;
        Ok(IngestOutcome {
            alerts: outcomes,
            truncated: decoded.truncated,
            generated_dedup_key: decoded.generated_dedup_key,
        })
    }

    async fn record_webhook_refusal(
        &self,
        meta: &RequestMeta,
        integration: IntegrationId,
        reason: &str,
    ) -> AppResult<()> {
        let ctx = Ctx::new(crate::Actor::system(), meta.clone(), Default::default());
        self.store()
            .append_audit(
                &ctx.audit(self.now(), "webhook.refused", "integration")
                    .resource_id(integration)
                    .outcome(Outcome::Denied)
                    .details(json!({ "reason": reason }))
                    .build(),
            )
            .await?;
        Ok(())
    }

    /// What a delivery needs inside the transaction, loaded before it: the project's
    /// ring, the service's policy and alert rules (read with the service), and its
    /// subscribers.
    pub(crate) async fn prepare(
        &self,
        service: ServiceForDelivery,
        record: &IntegrationRecord,
        meta: &RequestMeta,
        events: Vec<AlertEvent>,
    ) -> AppResult<Delivery> {
        let owner = service.service.project_id.to_string();
        let sealer = self.sealer(&owner).await?;
        let indexes = events
            .iter()
            .map(|event| EventIndexes {
                dedup: sealer.blind_index(&DEDUP_KEY_INDEX, &event.dedup_key),
                group: sealer.blind_index(&GROUP_KEY_INDEX, group_of(event)),
            })
            .collect();
        Ok(Delivery {
            sealer,
            indexes,
            policy: service.escalation_policy,
            rules: super::alert_rules::parse_rules(&service.alert_rules)?,
            subscribers: self.subscribed_users(&service.ownership).await?,
            integration: record.integration.clone(),
            meta: meta.clone(),
            events,
            service: service.service,
        })
    }

    /// Opens an incident for a new alert group (`group_index`, its key's blind index):
    /// numbered (provisionally, see [`IngestLedger::number_incidents`]), titled (sealed)
    /// from the alert, its subscribers to be told, its escalation to be queued, its
    /// timeline started — all written by [`IngestLedger::flush`] with the batch's
    /// other new incidents.
    fn open_incident_for(
        &self,
        delivery: &Delivery,
        event: &AlertEvent,
        group_index: &str,
        now: jiff::Timestamp,
    ) -> AppResult<OpenedIncident> {
        let service = &delivery.service;
        let id = mint(now, IncidentId::mint)?;
        let number = provisional_incident_number(id);
        let title_sealed = delivery.sealer.seal(
            &incident_title_place(delivery.sealer.owner(), &id.to_string()),
            event.summary.as_bytes(),
        )?;
        let incident = Incident::open(
            id,
            service.org_id,
            service.project_id,
            number,
            Some(service.id),
            Some(group_index.to_owned()),
            IncidentSeverity::for_alert(event.severity),
            now,
        );
        let trigger = crate::sre::runbook_executions::trigger_row(
            &incident,
            rampart_domain::sre::runbooks::TriggerEvent::IncidentOpened,
            "system",
            now,
        )?;
        let timeline = timeline_row(
            &delivery.sealer,
            incident.id,
            1,
            (now, "system", "incident.opened"),
            &json!({ "dedup_key": event.dedup_key, "summary": event.summary,
                     "service": service.identifier.as_str() }),
        )?;
        Ok(OpenedIncident {
            incident,
            title_sealed,
            timeline,
            trigger,
            escalation_policy: delivery.policy.clone(),
            subscribers: delivery.subscribers.clone(),
        })
    }

    /// Dedup, lifecycle and incidents for a delivery's events, inside `tx`, which holds
    /// the locks of the delivery's [`Delivery::groups`]; returns what happened and the
    /// delivery's audit event (committed with the transaction).
    pub(crate) async fn apply_delivery(
        &self,
        tx: &mut rampart_store::WriteTx,
        ledger: &mut IngestLedger,
        delivery: &Delivery,
        now: jiff::Timestamp,
    ) -> AppResult<(Vec<AlertOutcome>, rampart_store::AuditRecord)> {
        let Delivery {
            service,
            integration,
            meta,
            events,
            sealer,
            rules,
            ..
        } = delivery;
        let owner = service.project_id.to_string();
        let scope =
            rampart_domain::platform::tenancy::Scope::Project(service.org_id, service.project_id);
        let mut outcomes = Vec::with_capacity(events.len());
        let mut opened_incidents = 0u64;
        // Alerts that joined an open incident, written to its timeline once at the end.
        let mut attached: Vec<(IncidentId, Vec<serde_json::Value>)> = Vec::new();
        for (event, indexes) in delivery.indexed_events() {
            let group_index = indexes.group.clone();
            let dedup_index = indexes.dedup.clone();
            let open = ledger.open_alert(tx, integration.id, &dedup_index).await?;
            let decision = decide_alert(open.as_ref(), event, rules);
            let mut outcome = AlertOutcome {
                dedup_key: event.dedup_key.clone(),
                alert_id: None,
                outcome: decision.outcome().as_str(),
                incident_number: None,
            };
            match decision {
                AlertDecision::Deduplicate { alert } => {
                    ledger.bump(integration.id, &dedup_index, alert);
                    outcome.alert_id = Some(alert);
                }
                AlertDecision::Open { to_incident, .. } => {
                    let alert_id = mint(now, AlertId::mint)?;
                    let id_text = alert_id.to_string();
                    let payload = sealer.seal(
                        &alert_place(&owner, &id_text),
                        payload_json(event).to_string().as_bytes(),
                    )?;
                    let dedup_key_sealed = sealer.seal(
                        &alert_dedup_key_place(&owner, &id_text),
                        event.dedup_key.as_bytes(),
                    )?;
                    let incident = if to_incident {
                        let known = ledger.open_incident(tx, service.id, &group_index).await?;
                        let incident = match known {
                            Some(incident) => {
                                // One timeline entry per incident per delivery.
                                let entry = json!({ "dedup_key": event.dedup_key,
                                                    "summary": event.summary });
                                match attached.iter_mut().find(|(id, _)| *id == incident.id) {
                                    Some((_, alerts)) => alerts.push(entry),
                                    None => attached.push((incident.id, vec![entry])),
                                }
                                incident
                            }
                            None => {
                                opened_incidents += 1;
                                let opened =
                                    self.open_incident_for(delivery, event, &group_index, now)?;
                                let incident = opened.incident.clone();
                                ledger.opened(opened);
                                incident
                            }
                        };
                        Some(incident)
                    } else {
                        None
                    };
                    let alert = Alert::open(
                        alert_id,
                        (service.project_id, service.id, integration.id),
                        event,
                        group_index,
                        incident.as_ref().map(|i| i.id),
                        now,
                    );
                    ledger.insert(NewAlertRow {
                        alert,
                        dedup_index,
                        dedup_key_sealed,
                        payload_sealed: payload,
                    });
                    outcome.alert_id = Some(alert_id);
                    outcome.incident_number = incident.as_ref().map(|i| i.number);
                }
                AlertDecision::Drop => {}
                AlertDecision::Acknowledge {
                    alert,
                    changes_status,
                } => {
                    if changes_status {
                        ledger.flush(tx, now).await?;
                        tx.set_alert_status(alert, AlertStatus::Acknowledged, now)
                            .await?;
                        ledger.forget(integration.id, &dedup_index);
                    } else {
                        ledger.bump(integration.id, &dedup_index, alert);
                    }
                    outcome.alert_id = Some(alert);
                }
                AlertDecision::Resolve { alert, incident } => {
                    // Resolving reads the incident's alerts back: they must be written.
                    ledger.flush(tx, now).await?;
                    outcome.incident_number = resolve_alert(
                        tx,
                        sealer,
                        service,
                        (alert, incident),
                        &event.dedup_key,
                        ResolvedBy::Sender,
                        now,
                    )
                    .await?;
                    ledger.forget(integration.id, &dedup_index);
                    // The alert's incident may have resolved with it.
                    ledger.forget_group_incidents();
                    outcome.alert_id = Some(alert);
                }
            }
            outcomes.push(outcome);
        }
        for (incident, alerts) in attached {
            ledger
                .add_timeline(
                    tx,
                    sealer,
                    incident,
                    (now, "system", "alerts.attached"),
                    json!({ "alerts": alerts }),
                )
                .await?;
        }
        let count = |kind: AlertOutcomeKind| {
            outcomes
                .iter()
                .filter(|o| o.outcome == kind.as_str())
                .count()
        };
        let ctx = Ctx::new(crate::Actor::system(), meta.clone(), Default::default());
        let record = ctx
            .audit(now, "alert.ingest", "integration")
            .scope(scope)
            .resource_id(integration.id)
            .details(json!({
                "format": integration.format.as_str(),
                "events": events.len(),
                "created": count(AlertOutcomeKind::Created),
                "deduplicated": count(AlertOutcomeKind::Deduplicated),
                "acknowledged": count(AlertOutcomeKind::Acknowledged),
                "resolved": count(AlertOutcomeKind::Resolved),
                "dropped": count(AlertOutcomeKind::Dropped),
                "incidents_opened": opened_incidents,
            }))
            .build();
        Ok((outcomes, record))
    }
}

impl App {
    /// A token that changes whenever a project's alert list would (a new alert, an
    /// event, a status change).
    pub async fn alerts_watermark(&self, scope: Scope) -> AppResult<String> {
        let (how_many, latest) = self.store().alerts_watermark(project_of(scope)?).await?;
        Ok(format!("{how_many}.{latest}"))
    }

    /// A project's alerts, newest first, kept by `query` (a bad status is
    /// `invalid_status`, an unknown service `unknown_service`, a bad time `invalid_time`).
    pub async fn list_alerts(
        &self,
        scope: Scope,
        query: &AlertQuery,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> AppResult<Page<AlertView>> {
        let project = project_of(scope)?;
        let page = crate::platform::page_request(limit, cursor)?;
        let status = match query.status.as_deref() {
            None => None,
            Some(text) => Some(AlertStatus::parse(text).ok_or_else(|| {
                rampart_domain::ValidationError::new(
                    "status",
                    "must be triggered, acknowledged or resolved",
                )
            })?),
        };
        let service = match query.service.as_deref() {
            None => None,
            Some(identifier) => Some(
                self.service_at(scope, identifier)
                    .await
                    .map_err(|error| match error {
                        AppError::NotFound { .. } => AppError::bad_request(
                            ErrorCode::UnknownService,
                            format!("no service {identifier:?} in this project"),
                        ),
                        other => other,
                    })?
                    .id,
            ),
        };
        let since = match query.since.as_deref() {
            None => None,
            Some(text) => Some(text.parse::<jiff::Timestamp>().map_err(|_| {
                AppError::bad_request(
                    ErrorCode::InvalidTime,
                    "since must be an RFC 3339 time such as 2026-01-31T12:00:00Z",
                )
            })?),
        };
        let filter = AlertFilter {
            status,
            service,
            since,
        };
        let listed = self.store().list_alerts(project, &filter, &page).await?;
        let opener = self.opener(&project.to_string()).await?;
        let items = listed
            .items
            .into_iter()
            .map(|listed| view_of(&opener, listed))
            .collect::<AppResult<Vec<_>>>()?;
        Ok(Page {
            items,
            next_cursor: listed.next_cursor,
        })
    }

    /// One alert of the project (another project's is not found, like a missing one),
    /// with the ring that opened its dedup key.
    async fn project_alert(&self, project: ProjectId, id: &str) -> AppResult<(AlertView, Opener)> {
        let id: AlertId = id.parse().map_err(|_| alert_not_found())?;
        let listed = self
            .store()
            .project_alert(project, id)
            .await?
            .ok_or_else(alert_not_found)?;
        let opener = self.opener(&project.to_string()).await?;
        Ok((view_of(&opener, listed)?, opener))
    }

    /// The labels of an incident's alerts (the newest [`TRIGGER_ALERTS_READ`]), opened
    /// from their sealed payloads: what runbook triggers with label conditions match.
    pub(crate) async fn incident_alert_labels(
        &self,
        project: ProjectId,
        incident: rampart_domain::IncidentId,
    ) -> AppResult<Vec<std::collections::BTreeMap<String, String>>> {
        let rows = self.store().alerts_of_incident(incident).await?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let owner = project.to_string();
        let opener = self.opener(&owner).await?;
        let mut labels = Vec::new();
        for row in rows.iter().rev().take(TRIGGER_ALERTS_READ) {
            let id = row.alert.id;
            let Some(sealed) = self.store().alert_payload(id).await? else {
                continue;
            };
            let opened = opener.open(&alert_place(&owner, &id.to_string()), &sealed)?;
            let payload: serde_json::Value = serde_json::from_slice(&opened)
                .map_err(|_| AppError::Integrity("an alert payload does not parse".into()))?;
            labels.push(
                payload
                    .get("labels")
                    .and_then(serde_json::Value::as_object)
                    .map(|found| {
                        found
                            .iter()
                            .filter_map(|(name, value)| {
                                Some((name.clone(), value.as_str()?.to_owned()))
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            );
        }
        Ok(labels)
    }

    /// One alert of the project with its payload opened; another project's alert is
    /// not found, like a missing one.
    pub async fn get_alert(&self, scope: Scope, id: &str) -> AppResult<AlertDetail> {
        let project = project_of(scope)?;
        let (view, opener) = self.project_alert(project, id).await?;
        let sealed = self
            .store()
            .alert_payload(view.alert.id)
            .await?
            .ok_or_else(alert_not_found)?;
        let owner = project.to_string();
        let opened = opener.open(&alert_place(&owner, &view.alert.id.to_string()), &sealed)?;
        let payload = serde_json::from_slice(&opened)
            .map_err(|_| AppError::Integrity("an alert payload does not parse".into()))?;
        Ok(AlertDetail { view, payload })
    }

    /// Acknowledges a triggered alert by hand (`alert.acknowledge`, audited).
    pub async fn acknowledge_alert(
        &self,
        ctx: &Ctx,
        scope: Scope,
        id: &str,
    ) -> AppResult<AlertView> {
        self.alert_by_hand(ctx, scope, id, HandAction::Acknowledge)
            .await
    }

    /// Resolves an open alert by hand (`alert.resolve`, audited), exactly as the
    /// sender's resolve event would: its incident's timeline, and auto-resolution.
    pub async fn resolve_alert(&self, ctx: &Ctx, scope: Scope, id: &str) -> AppResult<AlertView> {
        self.alert_by_hand(ctx, scope, id, HandAction::Resolve)
            .await
    }

    async fn alert_by_hand(
        &self,
        ctx: &Ctx,
        scope: Scope,
        id: &str,
        action: HandAction,
    ) -> AppResult<AlertView> {
        let project = project_of(scope)?;
        let (found, _) = self.project_alert(project, id).await?;
        let service = self
            .store()
            .service(found.alert.service_id)
            .await?
            .ok_or_else(alert_not_found)?;
        let sealer = self.sealer(&project.to_string()).await?;
        let actor = ctx.actor.actor_text();
        let now = self.now();
        let mut tx = self.store().write().await?;
        // The same lock as a delivery of its group: a concurrent event sees the result.
        tx.lock_alert_group(service.id, &found.alert.group_index)
            .await?;
        let Some(alert) = tx.alert_by_id(found.alert.id).await? else {
            tx.rollback().await?;
            return Err(alert_not_found());
        };
        let decision = match decide_by_hand(&alert, action) {
            Ok(decision) => decision,
            Err(refusal) => {
                tx.rollback().await?;
                return Err(refusal.into());
            }
        };
        let mut incident_number = found.incident_number;
        match decision {
            AlertDecision::Acknowledge { alert, .. } => {
                tx.move_alert(alert, AlertStatus::Acknowledged, now, false)
                    .await?;
            }
            AlertDecision::Resolve { alert, incident } => {
                incident_number = resolve_alert(
                    &mut tx,
                    &sealer,
                    &service,
                    (alert, incident),
                    &found.dedup_key,
                    ResolvedBy::Hand { actor: &actor },
                    now,
                )
                .await?
                .or(incident_number);
            }
            AlertDecision::Deduplicate { .. }
            | AlertDecision::Open { .. }
            | AlertDecision::Drop => {}
        }
        let (action_name, status) = match action {
            HandAction::Acknowledge => ("alert.acknowledge", AlertStatus::Acknowledged),
            HandAction::Resolve => ("alert.resolve", AlertStatus::Resolved),
        };
        tx.commit(
            ctx.audit(now, action_name, "alert")
                .scope(scope)
                .resource_id(alert.id)
                .details(json!({
                    "service": found.service,
                    "from": alert.status.as_str(),
                    "incident": incident_number,
                }))
                .build(),
        )
        .await?;
        let mut moved = alert;
        moved.status = status;
        moved.updated_at = now;
        if status == AlertStatus::Resolved {
            moved.resolved_at = Some(now);
        }
        Ok(AlertView {
            alert: moved,
            dedup_key: found.dedup_key,
            service: found.service,
            incident_number,
        })
    }
}
