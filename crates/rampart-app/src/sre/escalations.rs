//! The escalation engine ([`App::run_escalations`], run by a background loop and safe on
//! several replicas: due rows are taken under `FOR UPDATE SKIP LOCKED` on PostgreSQL):
//! it pages each due level — one in-app notification per user, with an outbound task
//! queued for delegates — in the transaction that moves the escalation and writes the
//! audit event. Acknowledging or resolving an incident stops its escalation.

use std::collections::HashMap;

use jiff::Timestamp;
use rampart_domain::UserId;
use rampart_domain::platform::tenancy::Scope;
use rampart_domain::sre::documents::DefinitionKind;
use rampart_domain::sre::escalation_policies::{Escalation, Policy, Resolve, Status, Target};
use rampart_domain::sre::schedules::Schedule;
use rampart_store::sre::escalations::EscalationRow;
use serde_json::json;

use super::escalation_policies::parse_policy;
use super::notifications::notify;
use super::schedules::parse_schedule;
use crate::{App, AppResult, Ctx};

/// Escalations advanced per engine transaction.
const ENGINE_BATCH: u32 = 100;

/// Who targets are, from what was loaded before the engine's transaction.
struct Directory {
    groups: HashMap<String, Vec<String>>,
    schedules: HashMap<String, Schedule>,
}

impl Resolve for Directory {
    fn users(&self, target: &Target, at: Timestamp) -> Vec<String> {
        match target {
            Target::User(user) => vec![user.clone()],
            Target::Group(group) => self.groups.get(group).cloned().unwrap_or_default(),
            Target::Schedule(schedule) => self
                .schedules
                .get(schedule)
                .and_then(|schedule| schedule.on_call_at(at))
                .map(|(user, _)| vec![user.to_owned()])
                .unwrap_or_default(),
        }
    }
}

impl App {
    /// Loads who a policy's targets can be: group members and schedules.
    async fn directory_for(&self, scope: Scope, policy: &Policy) -> AppResult<Directory> {
        let mut directory = Directory {
            groups: HashMap::new(),
            schedules: HashMap::new(),
        };
        for target in policy.levels.iter().flat_map(|level| &level.targets) {
            match target {
                Target::Group(group) if !directory.groups.contains_key(group) => {
                    let members = self
                        .store()
                        .group_member_ids(group)
                        .await?
                        .into_iter()
                        .map(|id| id.to_string())
                        .collect();
                    directory.groups.insert(group.clone(), members);
                }
                Target::Schedule(identifier) if !directory.schedules.contains_key(identifier) => {
                    if let Ok(record) = self
                        .definition_at(DefinitionKind::Schedule, scope, identifier)
                        .await
                    {
                        let (_, schedule) = parse_schedule(&record.definition)?;
                        directory.schedules.insert(identifier.clone(), schedule);
                    }
                }
                _ => {}
            }
        }
        Ok(directory)
    }

    /// Advances every escalation that is due: pages levels, queues notifications.
    /// Returns how many notifications were created.
    pub async fn run_escalations(&self) -> AppResult<u64> {
        let now = self.now();
        let mut tx = self.store().write().await?;
        let due = tx.due_escalations(now, ENGINE_BATCH).await?;
        if due.is_empty() {
            tx.rollback().await?;
            return Ok(0);
        }
        let mut created = 0u64;
        let mut paged = Vec::new();
        for row in due {
            let Some(record) = self
                .store()
                .definition_by_id(DefinitionKind::EscalationPolicy, &row.policy_id)
                .await?
            else {
                continue;
            };
            let scope = Scope::Project(record.org_id, record.project_id);
            let policy = parse_policy(&record.definition)?;
            let directory = self.directory_for(scope, &policy).await?;
            let (mut escalation, mut pages) = if row.started {
                (
                    Escalation {
                        level: usize::try_from(row.level).unwrap_or(usize::MAX),
                        round: u32::try_from(row.round).unwrap_or(u32::MAX),
                        next_at: row.next_at,
                        status: Status::Waiting,
                    },
                    Vec::new(),
                )
            } else {
                Escalation::start(&policy, row.next_at, &directory)
            };
            pages.extend(escalation.advance(&policy, now, &directory));
            for page in &pages {
                for user in &page.users {
                    let Ok(user_id) = user.parse::<UserId>() else {
                        continue;
                    };
                    notify(
                        &mut tx,
                        user_id,
                        row.incident_id,
                        row.project_id,
                        "page",
                        (page.level as u64, u64::from(page.round)),
                        page.at,
                    )
                    .await?;
                    created += 1;
                }
                paged.push(json!({
                    "incident": row.incident_id.to_string(),
                    "level": page.level,
                    "round": page.round,
                    "users": page.users,
                }));
            }
            let status = match escalation.status {
                Status::Waiting => "waiting",
                Status::Acknowledged => "acknowledged",
                Status::Exhausted => "exhausted",
            };
            tx.update_escalation(&EscalationRow {
                started: true,
                level: escalation.level as u64,
                round: u64::from(escalation.round),
                next_at: escalation.next_at,
                status: status.into(),
                updated_at: now,
                ..row
            })
            .await?;
        }
        tx.commit(
            Ctx::system()
                .audit(now, "escalation.page", "incident")
                .details(json!({ "pages": paged, "notifications": created }))
                .build(),
        )
        .await?;
        Ok(created)
    }
}
