//! Notifications: the caller's inbox, marking one read, and [`notify`], which writes
//! a notification (with an outbox entry) for the escalation engine and for service
//! subscribers. The dispatcher ([`App::dispatch_notifications`], a background loop,
//! safe on several replicas) turns each outbox entry into one delegate task per
//! contact method of the user in the incident's organisation — the server itself
//! connects out to nothing — and [`delivery_ended`] writes how each delivery ended on
//! the incident's timeline, in the transaction that records the task's end.

use std::collections::HashMap;
use std::sync::Arc;

use jiff::Timestamp;
use rampart_domain::platform::delegates::{DelegateTask, Tags, TaskKind, TaskStatus};
use rampart_domain::sre::contact_methods::ContactKind;
use rampart_domain::{ErrorCode, ProjectId};
use rampart_domain::{NotificationId, UserId};
use rampart_store::Page;
use rampart_store::sre::notifications::{DeliveryRow, NotificationRow, QueuedNotification};
use serde_json::json;

use super::incidents::{add_timeline, incident_title_place};
use crate::platform::delegates::{NewTask, queue_task};
use crate::sealing::Sealer;
use crate::{App, AppError, AppResult, Ctx, mint};

/// Outbox entries dispatched per engine transaction.
const DISPATCH_BATCH: u32 = 100;
/// Batches dispatched per engine tick at most (the rest waits for the next tick).
const DISPATCH_BATCHES_PER_TICK: usize = 20;

/// A notification with its deliveries (one per contact method it was sent to).
pub struct NotificationView {
    pub notification: NotificationRow,
    pub deliveries: Vec<DeliveryRow>,
}

/// What one outbox entry becomes, prepared before the dispatch transaction (reading
/// contact methods and key rings may write — a ring is created on first use — so none
/// of it happens while the transaction holds SQLite's writer).
struct Prepared {
    /// The project's ring (the tasks' arguments and the timeline are sealed with it).
    sealer: Arc<Sealer>,
    queued: QueuedNotification,
    /// (delivery, its task) per contact method; empty: the user has none.
    deliveries: Vec<(DeliveryRow, DelegateTask)>,
    /// Why nothing can be delivered, when nothing can.
    undeliverable: Option<String>,
}

impl App {
    /// The caller's notifications, newest first, each with its deliveries.
    pub async fn my_notifications(
        &self,
        ctx: &Ctx,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> AppResult<Page<NotificationView>> {
        let user = self.notified_user(ctx)?;
        let page = crate::platform::page_request(limit, cursor)?;
        let page = self.store().notifications_of_user(user, &page).await?;
        let ids: Vec<NotificationId> = page.items.iter().map(|n| n.id).collect();
        let mut deliveries: HashMap<NotificationId, Vec<DeliveryRow>> = HashMap::new();
        for delivery in self.store().notification_deliveries(&ids).await? {
            deliveries
                .entry(delivery.notification_id)
                .or_default()
                .push(delivery);
        }
        Ok(Page {
            items: page
                .items
                .into_iter()
                .map(|notification| NotificationView {
                    deliveries: deliveries.remove(&notification.id).unwrap_or_default(),
                    notification,
                })
                .collect(),
            next_cursor: page.next_cursor,
        })
    }

    /// Turns queued notifications into delegate tasks, one per contact method of the
    /// user in the incident's organisation, and fails delegate tasks whose time ran out
    /// (so an undelivered page shows as failed even when no delegate polls). Returns
    /// how many deliveries were queued.
    pub async fn dispatch_notifications(&self) -> AppResult<u64> {
        let now = self.now();
        for project in self.store().projects_with_overdue_tasks(now).await? {
            // One project's trouble must not stop the others' notifications.
            match self.fail_overdue_tasks(project, None, now).await {
                Err(error @ (AppError::Unavailable(_) | AppError::Contention(_))) => {
                    return Err(error);
                }
                Err(error) => {
                    tracing::error!(?error, %project, "failing a project's overdue tasks failed");
                }
                Ok(()) => {}
            }
        }
        // A storm of pages is drained batch by batch, a bounded number per tick.
        let mut created = 0;
        for _ in 0..DISPATCH_BATCHES_PER_TICK {
            let (deliveries, full) = self.dispatch_batch(now).await?;
            created += deliveries;
            if !full {
                break;
            }
        }
        Ok(created)
    }

    /// Dispatches one batch of the outbox: how many deliveries were queued, and
    /// whether the batch was full (more may wait).
    async fn dispatch_batch(&self, now: Timestamp) -> AppResult<(u64, bool)> {
        let queued = self.store().queued_notifications(DISPATCH_BATCH).await?;
        if queued.is_empty() {
            return Ok((0, false));
        }
        let full = queued.len() == DISPATCH_BATCH as usize;
        let mut sealers: HashMap<ProjectId, Arc<Sealer>> = HashMap::new();
        let mut prepared = Vec::with_capacity(queued.len());
        for entry in queued {
            let project = entry.notification.project_id;
            let sealer = match sealers.get(&project) {
                Some(sealer) => Arc::clone(sealer),
                None => {
                    let sealer = Arc::new(self.sealer(&project.to_string()).await?);
                    sealers.insert(project, Arc::clone(&sealer));
                    sealer
                }
            };
            prepared.push(match self.prepare_deliveries(&entry, &sealer, now).await {
                Ok(deliveries) => Prepared {
                    sealer,
                    undeliverable: deliveries
                        .is_empty()
                        .then(|| "the user has no contact methods in this organisation".into()),
                    queued: entry,
                    deliveries,
                },
                // One notification that cannot be prepared (its organisation's key
                // shredded, say) must not hold up the others: it is marked and noted.
                // An outage is not the notification's fault: the tick is tried again.
                Err(error @ (AppError::Unavailable(_) | AppError::Contention(_))) => {
                    return Err(error);
                }
                Err(error) => {
                    tracing::warn!(?error, "a notification cannot be delivered");
                    Prepared {
                        sealer,
                        queued: entry,
                        deliveries: Vec::new(),
                        undeliverable: Some(format!("it cannot be prepared: {error}")),
                    }
                }
            });
        }
        let mut tx = self.store().write().await?;
        let mut created = 0u64;
        let mut dispatched = Vec::new();
        for entry in prepared {
            if !tx
                .mark_notification_dispatched(&entry.queued.outbox_id)
                .await?
            {
                continue; // another replica dispatched it
            }
            let notification = &entry.queued.notification;
            dispatched.push(notification.id.to_string());
            let sealer = &entry.sealer;
            if let Some(reason) = &entry.undeliverable {
                add_timeline(
                    &mut tx,
                    sealer,
                    notification.incident_id,
                    now,
                    "system",
                    "notification.undeliverable",
                    json!({
                        "user": notification.user_id.to_string(),
                        "notification": notification.id.to_string(),
                        "reason": reason,
                    }),
                )
                .await?;
            }
            for (delivery, task) in &entry.deliveries {
                tx.insert_delegate_task(task).await?;
                tx.insert_delivery(delivery).await?;
                created += 1;
            }
        }
        if dispatched.is_empty() {
            tx.rollback().await?;
            return Ok((0, full));
        }
        tx.commit(
            Ctx::system()
                .audit(now, "notification.dispatch", "notification")
                .details(json!({ "notifications": dispatched, "deliveries": created }))
                .build(),
        )
        .await?;
        self.wake_delegates();
        Ok((created, full))
    }

    /// The deliveries of one notification: its message, addressed to each contact
    /// method, as sealed delegate tasks.
    async fn prepare_deliveries(
        &self,
        entry: &QueuedNotification,
        sealer: &Sealer,
        now: Timestamp,
    ) -> AppResult<Vec<(DeliveryRow, DelegateTask)>> {
        let notification = &entry.notification;
        let contacts = self
            .contacts_for_delivery(entry.org_id, notification.user_id)
            .await?;
        if contacts.is_empty() {
            return Ok(Vec::new());
        }
        let message = self.notification_message(notification).await?;
        let mut deliveries = Vec::with_capacity(contacts.len());
        for contact in contacts {
            let secret = match (contact.row.kind, &contact.secret) {
                (ContactKind::Webhook, Some(secret)) => Some(secret.as_str()),
                _ => None,
            };
            let arguments = json!({
                "channel": contact.row.kind.as_str(),
                "to": contact.address,
                "subject": message.subject,
                "text": message.text,
                "event": message.event,
                "secret": secret,
            });
            let task = queue_task(
                sealer,
                NewTask {
                    project: notification.project_id,
                    kind: TaskKind::Notification,
                    selector: Tags::default(),
                    target: None,
                    arguments: arguments.to_string(),
                    subject: Some(format!("notification:{}", notification.id)),
                },
                now,
            )?;
            deliveries.push((
                DeliveryRow {
                    task_id: task.id,
                    notification_id: notification.id,
                    contact_method_id: Some(contact.row.id),
                    incident_id: notification.incident_id,
                    project_id: notification.project_id,
                    user_id: notification.user_id,
                    channel: contact.row.kind.as_str().to_owned(),
                    label: contact.row.label.clone(),
                    status: TaskStatus::Queued.as_str().to_owned(),
                    error_code: None,
                    created_at: now,
                    updated_at: now,
                },
                task,
            ));
        }
        Ok(deliveries)
    }

    /// What a notification says: a subject line, a plain-text body and the structured
    /// event a generic webhook receives.
    async fn notification_message(&self, notification: &NotificationRow) -> AppResult<Message> {
        let missing = || AppError::NotFound { what: "incident" };
        let (incident, title_sealed) = self
            .store()
            .incident_by_id(notification.incident_id)
            .await?
            .ok_or_else(missing)?;
        let owner = incident.project_id.to_string();
        let title = self.opener(&owner).await?.open_text(
            &incident_title_place(&owner, &incident.id.to_string()),
            &title_sealed,
        )?;
        let (_, project) = self.project_named(incident.project_id).await?;
        let reference = format!("{project}#{}", incident.number);
        let why = match notification.kind.as_str() {
            "page" => format!(
                "You are paged (escalation level {}, round {})",
                notification.level + 1,
                notification.round + 1
            ),
            _ => "You subscribed to this service".to_owned(),
        };
        let subject = format!(
            "[{}] Incident {reference} {}: {title}",
            incident.severity,
            incident.status.as_str()
        );
        let text = format!(
            "{subject}\n\n{why}.\nAcknowledge: rampart incident ack {} --project {project}\n",
            incident.number
        );
        let event = json!({
            "type": format!("incident.{}", notification.kind),
            "notification_id": notification.id.to_string(),
            "sent_for": notification.user_id.to_string(),
            "level": notification.level,
            "round": notification.round,
            "created_at": notification.created_at.to_string(),
            "incident": {
                "id": incident.id.to_string(),
                "project": project,
                "number": incident.number,
                "title": title,
                "severity": incident.severity,
                "status": incident.status.as_str(),
                "created_at": incident.created_at.to_string(),
            },
        });
        Ok(Message {
            subject,
            text,
            event,
        })
    }

    pub async fn mark_notification_read(&self, ctx: &Ctx, id: &str) -> AppResult<()> {
        let user = self.notified_user(ctx)?;
        let missing = || AppError::NotFound {
            what: "notification",
        };
        let id: NotificationId = id.parse().map_err(|_| missing())?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        if !tx.mark_notification_read(id, user, now).await? {
            tx.rollback().await?;
            return Err(missing());
        }
        tx.commit(
            ctx.audit(now, "notification.read", "notification")
                .resource_id(id)
                .build(),
        )
        .await?;
        Ok(())
    }

    pub(crate) fn notified_user(&self, ctx: &Ctx) -> AppResult<UserId> {
        match ctx.actor.principal {
            rampart_domain::platform::identity::PrincipalId::User(user) => Ok(user),
            _ => Err(AppError::bad_request(
                ErrorCode::NotAUser,
                "notifications belong to users, not service accounts",
            )),
        }
    }
}

/// Writes an in-app notification for `user` about an incident, with its outbound task
/// queued for delegates. `(level, round)` say which escalation step paged (0, 0 for a
/// subscription notice).
pub(crate) async fn notify(
    tx: &mut rampart_store::WriteTx,
    user: UserId,
    incident: rampart_domain::IncidentId,
    project: rampart_domain::ProjectId,
    kind: &str,
    (level, round): (u64, u64),
    at: Timestamp,
) -> AppResult<()> {
    let notification = NotificationRow {
        id: mint(at, NotificationId::mint)?,
        user_id: user,
        project_id: project,
        incident_id: incident,
        incident_number: 0,
        kind: kind.to_owned(),
        level,
        round,
        created_at: at,
        read_at: None,
    };
    let task = mint(at, NotificationId::mint)?.to_string();
    tx.insert_notification(&notification, &task).await?;
    Ok(())
}

/// What a notification says (see [`App::notification_message`]).
struct Message {
    subject: String,
    text: String,
    event: serde_json::Value,
}

/// Records, in the transaction that ends (or retries) a delegate task, how the
/// delivery it carries stands; a delivery that ended is written on its incident's
/// timeline (`notification.delivered` or `notification.failed`). Tasks that carry no
/// delivery are left alone. `sealer` is the task's project's.
pub(crate) async fn delivery_ended(
    tx: &mut rampart_store::WriteTx,
    sealer: &Sealer,
    task: &DelegateTask,
    status: TaskStatus,
    error_code: Option<&str>,
    actor: &str,
    at: Timestamp,
) -> AppResult<()> {
    if task.kind != TaskKind::Notification {
        return Ok(());
    }
    let Some(delivery) = tx
        .update_delivery(task.id, status.as_str(), error_code, at)
        .await?
    else {
        return Ok(());
    };
    if !status.is_final() {
        return Ok(());
    }
    let kind = if status == TaskStatus::Succeeded {
        "notification.delivered"
    } else {
        "notification.failed"
    };
    add_timeline(
        tx,
        sealer,
        delivery.incident_id,
        at,
        actor,
        kind,
        json!({
            "user": delivery.user_id.to_string(),
            "notification": delivery.notification_id.to_string(),
            "channel": delivery.channel,
            "contact_method": delivery.label,
            "task": task.id.to_string(),
            "status": status.as_str(),
            "error_code": error_code,
        }),
    )
    .await
}
