//! The in-app inbox: a user's notifications (pages and subscription notices), read
//! marks, the outbox entry queued with each one (`notification_tasks`, drained by the
//! dispatcher into delegate tasks) and the deliveries it became, one per contact method.

use jiff::Timestamp;
use rampart_domain::{
    ContactMethodId, DelegateTaskId, IncidentId, NotificationId, OrgId, ProjectId, UserId,
};
use sqlx::any::AnyRow;

use crate::platform::{Page, PageRequest};
use crate::rows::{
    get, get_id, get_optional_id, get_optional_timestamp, get_timestamp, micros, number, signed,
};
use crate::{Store, StoreResult, WriteTx};

/// An in-app notification.
#[derive(Clone, Debug, PartialEq)]
pub struct NotificationRow {
    pub id: NotificationId,
    pub user_id: UserId,
    pub project_id: ProjectId,
    pub incident_id: IncidentId,
    /// Filled when read (0 when written).
    pub incident_number: u64,
    pub kind: String,
    pub level: u64,
    pub round: u64,
    pub created_at: Timestamp,
    pub read_at: Option<Timestamp>,
}

/// An outbox entry to dispatch and its notification.
#[derive(Clone, Debug, PartialEq)]
pub struct QueuedNotification {
    pub outbox_id: String,
    pub org_id: OrgId,
    pub notification: NotificationRow,
}

/// One notification's delivery to one contact method, carried by a delegate task.
#[derive(Clone, Debug, PartialEq)]
pub struct DeliveryRow {
    pub task_id: DelegateTaskId,
    pub notification_id: NotificationId,
    /// `None` once the contact method was deleted.
    pub contact_method_id: Option<ContactMethodId>,
    pub incident_id: IncidentId,
    pub project_id: ProjectId,
    pub user_id: UserId,
    pub channel: String,
    pub label: String,
    /// The task's status: queued, running, succeeded, failed or refused.
    pub status: String,
    pub error_code: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

const DELIVERY_COLUMNS: &str = "task_id, notification_id, contact_method_id, incident_id, \
     project_id, user_id, channel, label, status, error_code, created_at, updated_at";

fn delivery_from(row: &AnyRow) -> StoreResult<DeliveryRow> {
    Ok(DeliveryRow {
        task_id: get_id(row, "task_id")?,
        notification_id: get_id(row, "notification_id")?,
        contact_method_id: get_optional_id(row, "contact_method_id")?,
        incident_id: get_id(row, "incident_id")?,
        project_id: get_id(row, "project_id")?,
        user_id: get_id(row, "user_id")?,
        channel: get(row, "channel")?,
        label: get(row, "label")?,
        status: get(row, "status")?,
        error_code: get(row, "error_code")?,
        created_at: get_timestamp(row, "created_at")?,
        updated_at: get_timestamp(row, "updated_at")?,
    })
}

fn notification_from(row: &AnyRow) -> StoreResult<NotificationRow> {
    Ok(NotificationRow {
        id: get_id(row, "id")?,
        user_id: get_id(row, "user_id")?,
        project_id: get_id(row, "project_id")?,
        incident_id: get_id(row, "incident_id")?,
        incident_number: number(get(row, "incident_number")?, "incident_number")?,
        kind: get(row, "kind")?,
        level: number(get(row, "level")?, "level")?,
        round: number(get(row, "round")?, "round")?,
        created_at: get_timestamp(row, "created_at")?,
        read_at: get_optional_timestamp(row, "read_at")?,
    })
}

impl Store {
    /// A user's notifications, newest first.
    pub async fn notifications_of_user(
        &self,
        user: UserId,
        page: &PageRequest,
    ) -> StoreResult<Page<NotificationRow>> {
        let before = page.after.clone().unwrap_or_else(|| "~".into());
        let rows = sqlx::query(
            "SELECT n.id, n.user_id, n.project_id, n.incident_id, i.number AS incident_number, \
             n.kind, n.level, n.round, n.created_at, n.read_at \
             FROM notifications n JOIN incidents i ON i.id = n.incident_id \
             WHERE n.user_id = $1 AND n.id < $2 ORDER BY n.id DESC LIMIT $3",
        )
        .bind(user.to_string())
        .bind(before)
        .bind(page.overfetch())
        .fetch_all(self.pool())
        .await?;
        let items = rows
            .iter()
            .map(notification_from)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Page::from_overfetch(items, page.limit, |n| {
            n.id.to_string()
        }))
    }

    /// The deliveries of notifications, oldest first per notification.
    pub async fn notification_deliveries(
        &self,
        notifications: &[NotificationId],
    ) -> StoreResult<Vec<DeliveryRow>> {
        if notifications.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders: Vec<String> =
            (1..=notifications.len()).map(|n| format!("${n}")).collect();
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM notification_deliveries \
             WHERE notification_id IN ({}) ORDER BY created_at, task_id",
            placeholders.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for id in notifications {
            query = query.bind(id.to_string());
        }
        let rows = query.fetch_all(self.pool()).await?;
        rows.iter().map(delivery_from).collect()
    }

    /// Outbox entries to dispatch, oldest first, with their notification (and its
    /// organisation). Read outside any transaction: the dispatcher claims each with
    /// [`WriteTx::mark_notification_dispatched`].
    pub async fn queued_notifications(&self, limit: u32) -> StoreResult<Vec<QueuedNotification>> {
        let sql = "SELECT t.id AS outbox_id, p.org_id, n.id, n.user_id, n.project_id, \
             n.incident_id, CAST(0 AS BIGINT) AS incident_number, n.kind, n.level, n.round, \
             n.created_at, n.read_at \
             FROM notification_tasks t JOIN notifications n ON n.id = t.notification_id \
             JOIN projects p ON p.id = n.project_id \
             WHERE t.status = 'queued' ORDER BY t.created_at, t.id LIMIT $1";
        let rows = sqlx::query(sql)
            .bind(i64::from(limit))
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|row| {
                Ok(QueuedNotification {
                    outbox_id: get(row, "outbox_id")?,
                    org_id: get_id(row, "org_id")?,
                    notification: notification_from(row)?,
                })
            })
            .collect()
    }

    /// Outbox entries not yet dispatched to delegates.
    pub async fn queued_notification_tasks(&self) -> StoreResult<u64> {
        let row =
            sqlx::query("SELECT COUNT(*) AS n FROM notification_tasks WHERE status = 'queued'")
                .fetch_one(self.pool())
                .await?;
        number(get(&row, "n")?, "count")
    }
}

impl WriteTx {
    /// Marks an outbox entry dispatched; false when another replica did first.
    pub async fn mark_notification_dispatched(&mut self, outbox_id: &str) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE notification_tasks SET status = 'dispatched' WHERE id = $1 AND status = 'queued'",
        )
        .bind(outbox_id)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn insert_delivery(&mut self, row: &DeliveryRow) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO notification_deliveries (task_id, notification_id, contact_method_id, \
             incident_id, project_id, user_id, channel, label, status, error_code, created_at, \
             updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(row.task_id.to_string())
        .bind(row.notification_id.to_string())
        .bind(row.contact_method_id.map(|id| id.to_string()))
        .bind(row.incident_id.to_string())
        .bind(row.project_id.to_string())
        .bind(row.user_id.to_string())
        .bind(row.channel.clone())
        .bind(row.label.clone())
        .bind(row.status.clone())
        .bind(row.error_code.clone())
        .bind(micros(row.created_at))
        .bind(micros(row.updated_at))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Records how the delegate task carrying a delivery stands; the delivery as it is
    /// now, or `None` when the task carries no delivery.
    pub async fn update_delivery(
        &mut self,
        task: DelegateTaskId,
        status: &str,
        error_code: Option<&str>,
        at: Timestamp,
    ) -> StoreResult<Option<DeliveryRow>> {
        let sql = format!(
            "UPDATE notification_deliveries SET status = $2, error_code = $3, updated_at = $4 \
             WHERE task_id = $1 RETURNING {DELIVERY_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(task.to_string())
            .bind(status)
            .bind(error_code)
            .bind(micros(at))
            .fetch_optional(self.conn())
            .await?;
        row.as_ref().map(delivery_from).transpose()
    }

    /// An in-app notification, with an outbound task queued for delegates.
    pub async fn insert_notification(
        &mut self,
        row: &NotificationRow,
        task_id: &str,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO notifications (id, user_id, project_id, incident_id, kind, level, round, \
             created_at, read_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL)",
        )
        .bind(row.id.to_string())
        .bind(row.user_id.to_string())
        .bind(row.project_id.to_string())
        .bind(row.incident_id.to_string())
        .bind(row.kind.clone())
        .bind(signed(row.level)?)
        .bind(signed(row.round)?)
        .bind(micros(row.created_at))
        .execute(self.conn())
        .await?;
        sqlx::query(
            "INSERT INTO notification_tasks (id, notification_id, channel, status, created_at) \
             VALUES ($1, $2, 'delegate', 'queued', $3)",
        )
        .bind(task_id)
        .bind(row.id.to_string())
        .bind(micros(row.created_at))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Marks a user's notification read; false when it is not theirs.
    pub async fn mark_notification_read(
        &mut self,
        id: NotificationId,
        user: UserId,
        at: Timestamp,
    ) -> StoreResult<bool> {
        let result = sqlx::query(
            "UPDATE notifications SET read_at = COALESCE(read_at, $3) WHERE id = $1 AND user_id = $2",
        )
        .bind(id.to_string())
        .bind(user.to_string())
        .bind(micros(at))
        .execute(self.conn())
        .await?;
        Ok(result.rows_affected() == 1)
    }
}
