//! In-app notifications: the caller's inbox, marking one read, and [`notify`], which
//! writes a notification (with its outbound task queued for delegates) for the
//! escalation engine and for service subscribers.

use jiff::Timestamp;
use rampart_domain::ErrorCode;
use rampart_domain::{NotificationId, UserId};
use rampart_store::Page;
use rampart_store::sre::notifications::NotificationRow;

use crate::{App, AppError, AppResult, Ctx, mint};

impl App {
    /// The caller's notifications, newest first.
    pub async fn my_notifications(
        &self,
        ctx: &Ctx,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> AppResult<Page<NotificationRow>> {
        let user = self.notified_user(ctx)?;
        let page = crate::platform::page_request(limit, cursor)?;
        Ok(self.store().notifications_of_user(user, &page).await?)
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
