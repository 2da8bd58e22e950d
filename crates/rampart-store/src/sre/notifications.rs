//! The in-app inbox: a user's notifications (pages and subscription notices), read
//! marks, and the outbound task queued with each one for delegates.

use jiff::Timestamp;
use rampart_domain::{IncidentId, NotificationId, ProjectId, UserId};
use sqlx::any::AnyRow;

use crate::platform::{Page, PageRequest};
use crate::rows::{get, get_id, get_optional_timestamp, get_timestamp, micros, number, signed};
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

    /// Outbound tasks still queued (for delegates).
    pub async fn queued_notification_tasks(&self) -> StoreResult<u64> {
        let row =
            sqlx::query("SELECT COUNT(*) AS n FROM notification_tasks WHERE status = 'queued'")
                .fetch_one(self.pool())
                .await?;
        number(get(&row, "n")?, "count")
    }
}

impl WriteTx {
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
