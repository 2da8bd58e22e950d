//! Incoming webhooks (`POST /hooks/v1/{integration_id}`): source address, rate limit,
//! authentication, decoding, then — in one transaction with its audit event — dedup,
//! alert lifecycle and incidents.
//!
//! Rules: a trigger whose dedup key has an open alert on the integration is the same
//! alert (a redelivery changes nothing but a counter); otherwise it opens a new alert
//! and — unless the service's alert rules say to record it only — a new incident for
//! its alert group, or joins the group's open incident. Acknowledge and resolve act on the open alert; with none they are dropped.
//! A resolved alert frees its key: the next trigger opens a new alert. When every alert
//! of an incident has resolved and the service auto-resolves, the incident resolves.
//! Decisions about one alert group are serialised (PostgreSQL advisory lock; SQLite has
//! one writer), so concurrent identical triggers make exactly one alert.

use std::collections::HashMap;
use std::sync::Mutex;

use rampart_domain::sre::incident::{
    AlertStatus, AuthMode, IncidentSeverity, IncidentStatus, Service,
};
use rampart_domain::sre::payload::{Action, AlertEvent, decode};
use rampart_domain::{AlertId, IncidentId, IntegrationId};
use rampart_store::sre::alerts::AlertRow;
use rampart_store::sre::incidents::{IncidentEventRow, IncidentRow};
use rampart_store::sre::integrations::IntegrationRecord;
use serde_json::json;

use super::services::{StoredSecrets, WEBHOOK_TOKEN_DOMAIN, credentials_place};
use crate::audit::Outcome;
use crate::sealing::{SealPlace, Sealer};
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

/// A decoded delivery, ready for its transaction.
pub(crate) struct Delivery {
    service: Service,
    integration: rampart_domain::sre::incident::Integration,
    meta: RequestMeta,
    events: Vec<AlertEvent>,
    sealer: Sealer,
    policy: Option<String>,
    rules: Vec<rampart_domain::sre::rules::AlertRule>,
    /// Told (in-app) when an incident opens.
    subscribers: Vec<rampart_domain::UserId>,
}

/// Per-integration request counts in fixed one-minute windows (per server process).
#[derive(Default)]
pub(crate) struct RateLimiter {
    windows: Mutex<HashMap<IntegrationId, (i64, u32)>>,
}

impl RateLimiter {
    fn check(&self, id: IntegrationId, now_secs: i64, limit: u32) -> AppResult<()> {
        let minute = now_secs.div_euclid(60);
        let mut windows = self
            .windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if windows.len() > 100_000 {
            windows.retain(|_, (window, _)| *window == minute);
        }
        let entry = windows.entry(id).or_insert((minute, 0));
        if entry.0 != minute {
            *entry = (minute, 0);
        }
        if entry.1 >= limit {
            return Err(AppError::RateLimited {
                code: "rate_limited",
                message: format!("this integration accepts {limit} requests a minute"),
                retry_after_secs: u64::try_from(60 - now_secs.rem_euclid(60)).unwrap_or(60),
            });
        }
        entry.1 += 1;
        Ok(())
    }
}

pub(crate) fn alert_place<'a>(owner: &'a str, id: &'a str) -> SealPlace<'a> {
    SealPlace {
        owner,
        entity_type: "alert",
        entity_id: id,
        field: "payload",
        version: 0,
    }
}

pub(crate) fn incident_title_place<'a>(owner: &'a str, id: &'a str) -> SealPlace<'a> {
    SealPlace {
        owner,
        entity_type: "incident",
        entity_id: id,
        field: "title",
        version: 0,
    }
}

pub(crate) fn incident_description_place<'a>(owner: &'a str, id: &'a str) -> SealPlace<'a> {
    SealPlace {
        owner,
        entity_type: "incident",
        entity_id: id,
        field: "description",
        version: 0,
    }
}

pub(crate) fn timeline_place<'a>(owner: &'a str, incident: &'a str, seq: u64) -> SealPlace<'a> {
    SealPlace {
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
    let id = incident.to_string();
    let body_sealed = sealer.seal(
        &timeline_place(sealer.owner(), &id, seq),
        body.to_string().as_bytes(),
    )?;
    tx.insert_incident_event(
        incident,
        &IncidentEventRow {
            seq,
            at,
            actor: actor.to_owned(),
            kind: kind.to_owned(),
            body_sealed,
        },
    )
    .await?;
    Ok(())
}

fn unauthorized(code: &'static str) -> AppError {
    AppError::unauthenticated(code, "the webhook's credentials are missing or wrong")
}

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
            AuthMode::Bearer => {
                let token = request
                    .authorization
                    .and_then(crate::credentials::bearer)
                    .ok_or_else(|| unauthorized("authentication_required"))?;
                let parsed = rampart_crypto::token::parse(token)
                    .map_err(|_| unauthorized("token_malformed"))?;
                let presented = self
                    .pepper()
                    .blind_index(WEBHOOK_TOKEN_DOMAIN, parsed.secret.expose().as_bytes());
                let stored = record
                    .token_hmac
                    .ok_or_else(|| unauthorized("token_invalid"))?;
                if !rampart_crypto::digest::constant_time_eq(&presented, &stored) {
                    return Err(unauthorized("token_invalid"));
                }
                Ok(())
            }
            AuthMode::Basic | AuthMode::Hmac => {
                let secrets = self.integration_secrets(record).await?;
                if integration.auth_mode == AuthMode::Basic {
                    let (user, password) = request
                        .authorization
                        .and_then(crate::credentials::basic)
                        .ok_or_else(|| unauthorized("authentication_required"))?;
                    let user_ok = rampart_crypto::digest::constant_time_eq(
                        user.as_bytes(),
                        secrets.username.as_deref().unwrap_or("").as_bytes(),
                    );
                    let password_ok = rampart_crypto::digest::constant_time_eq(
                        password.as_bytes(),
                        secrets.password.as_deref().unwrap_or("").as_bytes(),
                    );
                    if !(user_ok & password_ok) {
                        return Err(unauthorized("credentials_invalid"));
                    }
                    return Ok(());
                }
                let header = request
                    .signature
                    .ok_or_else(|| unauthorized("signature_required"))?;
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
                        unauthorized("signature_malformed")
                    }
                    rampart_crypto::webhook_signature::SignatureError::Stale => {
                        unauthorized("signature_expired")
                    }
                    rampart_crypto::webhook_signature::SignatureError::Mismatch => {
                        unauthorized("signature_invalid")
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
        let id: IntegrationId = request.integration_id.parse().map_err(|_| not_found())?;
        let record = self.store().integration(id).await?.ok_or_else(not_found)?;
        let integration = &record.integration;
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
                "source_not_allowed",
                "this integration does not accept webhooks from this address",
            ));
        }
        self.inner.webhook_limits.check(
            id,
            self.now().as_second(),
            integration.rate_limit_per_minute,
        )?;
        if let Err(error) = self.authenticate_webhook(&record, &request).await {
            if let AppError::Unauthenticated { code, .. } = &error {
                self.record_webhook_refusal(meta, id, code).await?;
            }
            return Err(error);
        }
        let decoded = decode(integration.format, request.body, || {
            rampart_crypto::random::bytes::<16>()
                .map(|bytes| rampart_crypto::digest::hex(&bytes))
                .unwrap_or_default()
        })
        .map_err(|error| match error.code {
            "payload_too_large" => AppError::TooLarge {
                code: error.code,
                message: error.message,
            },
            code => AppError::bad_request(code, error.message),
        })?;
        let service = self
            .store()
            .service(integration.service_id)
            .await?
            .ok_or_else(not_found)?;
        let delivery = self.prepare(service, &record, meta, decoded.events).await?;
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
        code: &str,
    ) -> AppResult<()> {
        let ctx = Ctx::new(crate::Actor::system(), meta.clone(), Default::default());
        self.store()
            .append_audit(
                &ctx.audit(self.now(), "webhook.refused", "integration")
                    .resource_id(integration)
                    .outcome(Outcome::Denied)
                    .details(json!({ "reason": code }))
                    .build(),
            )
            .await?;
        Ok(())
    }

    /// What a delivery needs inside the transaction, loaded before it: the project's
    /// ring, the service's policy and alert rules.
    async fn prepare(
        &self,
        service: Service,
        record: &IntegrationRecord,
        meta: &RequestMeta,
        events: Vec<AlertEvent>,
    ) -> AppResult<Delivery> {
        let owner = service.project_id.to_string();
        Ok(Delivery {
            sealer: self.sealer(&owner).await?,
            policy: self.store().service_policy(service.id).await?,
            rules: self.rules_of(service.id).await?,
            subscribers: self.subscribed_users(service.id).await?,
            integration: record.integration.clone(),
            meta: meta.clone(),
            events,
            service,
        })
    }

    /// Opens an incident for a new alert group: numbered, titled (sealed) from the alert,
    /// its subscribers told, its escalation queued, its timeline started.
    async fn open_incident_for(
        &self,
        tx: &mut rampart_store::WriteTx,
        delivery: &Delivery,
        event: &AlertEvent,
        group: &str,
        now: jiff::Timestamp,
    ) -> AppResult<IncidentRow> {
        let service = &delivery.service;
        let id = mint(now, IncidentId::mint)?;
        let number = tx.next_incident_number(service.project_id).await?;
        let title = delivery.sealer.seal(
            &incident_title_place(delivery.sealer.owner(), &id.to_string()),
            event.summary.as_bytes(),
        )?;
        let incident = IncidentRow {
            id,
            org_id: service.org_id,
            project_id: service.project_id,
            number,
            service_id: Some(service.id),
            open_group: Some(group.to_owned()),
            severity: IncidentSeverity::for_alert(event.severity).as_string(),
            status: IncidentStatus::Triggered,
            created_at: now,
            updated_at: now,
            acknowledged_at: None,
            resolved_at: None,
        };
        tx.insert_incident(&incident, &title).await?;
        for user in &delivery.subscribers {
            super::oncall::notify(
                tx,
                *user,
                incident.id,
                incident.project_id,
                "subscribed",
                (0, 0),
                now,
            )
            .await?;
        }
        if let Some(policy) = &delivery.policy {
            tx.start_escalation(incident.id, service.project_id, policy, now)
                .await?;
        }
        add_timeline(
            tx,
            &delivery.sealer,
            incident.id,
            now,
            "system",
            "incident.opened",
            json!({ "dedup_key": event.dedup_key, "summary": event.summary,
                    "service": service.identifier.as_str() }),
        )
        .await?;
        Ok(incident)
    }

    /// Dedup, lifecycle and incidents for a delivery's events, inside `tx`; returns what
    /// happened and the delivery's audit event (committed with the transaction).
    pub(crate) async fn apply_delivery(
        &self,
        tx: &mut rampart_store::WriteTx,
        delivery: &Delivery,
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
        let now = self.now();
        let scope =
            rampart_domain::platform::tenancy::Scope::Project(service.org_id, service.project_id);
        let mut outcomes = Vec::with_capacity(events.len());
        let mut opened_incidents = 0u64;
        // The open incident of each alert group seen in this delivery (most deliveries
        // are one group: one lookup instead of one per alert).
        let mut group_incidents: HashMap<String, IncidentRow> = HashMap::new();
        // Alerts that joined an open incident, written to its timeline once at the end.
        let mut attached: Vec<(IncidentId, Vec<serde_json::Value>)> = Vec::new();
        for event in events.iter() {
            let group = event
                .group_key
                .clone()
                .unwrap_or_else(|| event.dedup_key.clone());
            tx.lock_alert_group(service.id, &group).await?;
            let open = tx.open_alert(integration.id, &event.dedup_key).await?;
            match (event.action, open) {
                (Action::Trigger, Some(open)) => {
                    tx.bump_alert(open.id, now).await?;
                    outcomes.push(AlertOutcome {
                        dedup_key: event.dedup_key.clone(),
                        alert_id: Some(open.id),
                        outcome: "deduplicated",
                        incident_number: None,
                    });
                }
                (Action::Trigger, None) => {
                    let alert_id = mint(now, AlertId::mint)?;
                    let alert_text = alert_id.to_string();
                    let payload = sealer.seal(
                        &alert_place(&owner, &alert_text),
                        payload_json(event).to_string().as_bytes(),
                    )?;
                    let (decision, _) = rampart_domain::sre::rules::decide(rules, event);
                    let incident = if decision == rampart_domain::sre::rules::RuleAction::RecordOnly
                    {
                        None
                    } else {
                        let known = match group_incidents.get(&group) {
                            Some(incident) => Some(incident.clone()),
                            None => tx.open_incident_for_group(service.id, &group).await?,
                        };
                        Some(match known {
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
                                self.open_incident_for(tx, delivery, event, &group, now)
                                    .await?
                            }
                        })
                    };
                    if let Some(incident) = &incident {
                        group_incidents.insert(group.clone(), incident.clone());
                    }
                    tx.insert_alert(
                        &AlertRow {
                            id: alert_id,
                            project_id: service.project_id,
                            service_id: service.id,
                            integration_id: integration.id,
                            dedup_key: event.dedup_key.clone(),
                            status: AlertStatus::Triggered,
                            severity: event.severity.as_str().to_owned(),
                            group_key: group.clone(),
                            incident_id: incident.as_ref().map(|i| i.id),
                            event_count: 1,
                            created_at: now,
                            updated_at: now,
                            resolved_at: None,
                        },
                        &payload,
                    )
                    .await?;
                    outcomes.push(AlertOutcome {
                        dedup_key: event.dedup_key.clone(),
                        alert_id: Some(alert_id),
                        outcome: if incident.is_some() {
                            "created"
                        } else {
                            "recorded"
                        },
                        incident_number: incident.as_ref().map(|i| i.number),
                    });
                }
                (Action::Acknowledge | Action::Resolve, None) => {
                    outcomes.push(AlertOutcome {
                        dedup_key: event.dedup_key.clone(),
                        alert_id: None,
                        outcome: "dropped",
                        incident_number: None,
                    });
                }
                (Action::Acknowledge, Some(open)) => {
                    if open.status == AlertStatus::Triggered {
                        tx.set_alert_status(open.id, AlertStatus::Acknowledged, now)
                            .await?;
                    } else {
                        tx.bump_alert(open.id, now).await?;
                    }
                    outcomes.push(AlertOutcome {
                        dedup_key: event.dedup_key.clone(),
                        alert_id: Some(open.id),
                        outcome: "acknowledged",
                        incident_number: None,
                    });
                }
                (Action::Resolve, Some(open)) => {
                    tx.set_alert_status(open.id, AlertStatus::Resolved, now)
                        .await?;
                    let mut number = None;
                    if let Some(incident_id) = open.incident_id
                        && let Some(mut incident) = tx.incident_for_update(incident_id).await?
                    {
                        number = Some(incident.number);
                        add_timeline(
                            tx,
                            sealer,
                            incident.id,
                            now,
                            "system",
                            "alert.resolved",
                            json!({ "dedup_key": event.dedup_key }),
                        )
                        .await?;
                        if service.auto_resolve
                            && incident.status.is_open()
                            && tx.unresolved_alerts_of_incident(incident.id).await? == 0
                        {
                            incident.status = IncidentStatus::Resolved;
                            incident.resolved_at = Some(now);
                            incident.updated_at = now;
                            incident.open_group = None;
                            tx.update_incident(&incident).await?;
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
                    }
                    outcomes.push(AlertOutcome {
                        dedup_key: event.dedup_key.clone(),
                        alert_id: Some(open.id),
                        outcome: "resolved",
                        incident_number: number,
                    });
                }
            }
        }
        for (incident, alerts) in attached {
            add_timeline(
                tx,
                sealer,
                incident,
                now,
                "system",
                "alerts.attached",
                json!({ "alerts": alerts }),
            )
            .await?;
        }
        let count = |name: &str| outcomes.iter().filter(|o| o.outcome == name).count();
        let ctx = Ctx::new(crate::Actor::system(), meta.clone(), Default::default());
        let record = ctx
            .audit(now, "alert.ingest", "integration")
            .scope(scope)
            .resource_id(integration.id)
            .details(json!({
                "format": integration.format.as_str(),
                "events": events.len(),
                "created": count("created"),
                "deduplicated": count("deduplicated"),
                "acknowledged": count("acknowledged"),
                "resolved": count("resolved"),
                "dropped": count("dropped"),
                "incidents_opened": opened_incidents,
            }))
            .build();
        Ok((outcomes, record))
    }
}
