//! On-call schedules: create, replace, read and list them (typed documents, stored as
//! definitions by [`super::definitions`]), who is on call at an instant, the final
//! timeline over a range (gaps included) and its iCalendar export; and the overrides
//! API: list, add ("take my shift" included) and delete one override, editing only the
//! overrides of the stored definition under its row lock, so who is on call, timelines
//! and iCal read them as before.

use jiff::Timestamp;
use rampart_domain::platform::tenancy::Scope;
use rampart_domain::sre::documents::DefinitionKind;
use rampart_domain::sre::documents::{OverrideDoc, ScheduleDoc};
use rampart_domain::sre::schedules::{Schedule, Timeline, check_new_override, to_ical};
use rampart_domain::{ErrorCode, ScheduleId, Slug, UserId};
use rampart_store::Page;
use serde_json::json;

use super::definitions::{Document, StoredDefinition, corrupt, not_found};
use crate::{App, AppError, AppResult, Ctx, mint};

/// An override as the overrides API answers it: its id always present (the stored one,
/// or one derived from its content, see [`OverrideDoc::id_or_derived`]).
fn with_id(o: &OverrideDoc) -> OverrideDoc {
    OverrideDoc {
        id: Some(o.id_or_derived()),
        ..o.clone()
    }
}

fn override_time(text: &str, field: &str) -> AppResult<Timestamp> {
    text.parse::<Timestamp>().map_err(|_| {
        AppError::bad_request(
            ErrorCode::InvalidOverrideRange,
            format!("{field} must be an RFC 3339 time"),
        )
    })
}

pub(crate) fn parse_schedule(definition: &str) -> AppResult<(ScheduleDoc, Schedule)> {
    let doc: ScheduleDoc = serde_json::from_str(definition).map_err(|_| corrupt("schedule"))?;
    let schedule = doc.to_schedule().map_err(|_| corrupt("schedule"))?;
    Ok((doc, schedule))
}

impl App {
    /// Creates a schedule.
    pub async fn create_schedule(
        &self,
        ctx: &Ctx,
        scope: Scope,
        identifier: &str,
        name: &str,
        schedule: ScheduleDoc,
    ) -> AppResult<StoredDefinition<ScheduleDoc>> {
        let record = self
            .create_definition(ctx, scope, identifier, name, Document::Schedule(&schedule))
            .await?;
        Ok(StoredDefinition {
            record,
            document: schedule,
        })
    }

    /// Replaces a schedule's definition and name.
    pub async fn replace_schedule(
        &self,
        ctx: &Ctx,
        scope: Scope,
        identifier: &str,
        name: &str,
        schedule: ScheduleDoc,
    ) -> AppResult<StoredDefinition<ScheduleDoc>> {
        let record = self
            .replace_definition(ctx, scope, identifier, name, Document::Schedule(&schedule))
            .await?;
        Ok(StoredDefinition {
            record,
            document: schedule,
        })
    }

    /// A schedule.
    pub async fn schedule(
        &self,
        scope: Scope,
        identifier: &str,
    ) -> AppResult<StoredDefinition<ScheduleDoc>> {
        let record = self
            .definition_at(DefinitionKind::Schedule, scope, identifier)
            .await?;
        StoredDefinition::read(record, DefinitionKind::Schedule)
    }

    /// One page of a project's schedules.
    pub async fn list_schedules(
        &self,
        scope: Scope,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> AppResult<Page<StoredDefinition<ScheduleDoc>>> {
        self.list_documents(DefinitionKind::Schedule, scope, limit, cursor)
            .await
    }

    /// Who is on call on a schedule at `at`.
    pub async fn on_call(
        &self,
        scope: Scope,
        schedule: &str,
        at: Timestamp,
    ) -> AppResult<Option<String>> {
        let record = self
            .definition_at(DefinitionKind::Schedule, scope, schedule)
            .await?;
        let (_, schedule) = parse_schedule(&record.definition)?;
        Ok(schedule.on_call_at(at).map(|(user, _)| user.to_owned()))
    }

    /// The final on-call timeline of a schedule over `[from, to)`, gaps included.
    pub async fn schedule_timeline(
        &self,
        scope: Scope,
        schedule: &str,
        from: Timestamp,
        to: Timestamp,
    ) -> AppResult<Timeline> {
        let record = self
            .definition_at(DefinitionKind::Schedule, scope, schedule)
            .await?;
        let (_, schedule) = parse_schedule(&record.definition)?;
        Ok(schedule.timeline(from, to)?)
    }

    /// The schedule's timeline as iCalendar.
    pub async fn schedule_ical(
        &self,
        scope: Scope,
        schedule: &str,
        from: Timestamp,
        to: Timestamp,
    ) -> AppResult<String> {
        let record = self
            .definition_at(DefinitionKind::Schedule, scope, schedule)
            .await?;
        let timeline = self.schedule_timeline(scope, schedule, from, to).await?;
        let people: Vec<&str> = timeline
            .segments
            .iter()
            .filter_map(|segment| segment.user.as_deref())
            .collect();
        let names = self.person_names(&people).await?;
        Ok(to_ical(record.name.as_str(), &record.id, &timeline, &names))
    }

    /// A schedule's overrides (each with its id), in stored order; with `from`/`to`,
    /// only those overlapping `[from, to)`.
    pub async fn schedule_overrides(
        &self,
        scope: Scope,
        schedule: &str,
        from: Option<Timestamp>,
        to: Option<Timestamp>,
    ) -> AppResult<Vec<OverrideDoc>> {
        let record = self
            .definition_at(DefinitionKind::Schedule, scope, schedule)
            .await?;
        let (doc, parsed) = parse_schedule(&record.definition)?;
        Ok(doc
            .overrides
            .iter()
            .zip(&parsed.overrides)
            .filter(|(_, o)| {
                from.is_none_or(|from| o.ends_at > from) && to.is_none_or(|to| o.starts_at < to)
            })
            .map(|(doc, _)| with_id(doc))
            .collect())
    }

    /// Adds an override to a schedule without touching the rest of its definition:
    /// `user` on call from `starts_at` to `ends_at` (RFC 3339). Audited as
    /// `schedule_override.create`.
    pub async fn create_schedule_override(
        &self,
        ctx: &Ctx,
        scope: Scope,
        schedule: &str,
        user: &str,
        starts_at: &str,
        ends_at: &str,
    ) -> AppResult<OverrideDoc> {
        let slug = Slug::parse(schedule).map_err(|_| not_found(DefinitionKind::Schedule))?;
        // A schedule that does not exist is not found, whatever the override.
        self.definition_at(DefinitionKind::Schedule, scope, schedule)
            .await?;
        let starts = override_time(starts_at, "starts_at")?;
        let ends = override_time(ends_at, "ends_at")?;
        check_new_override(0, starts, ends)?;
        let known = match user.parse::<UserId>() {
            Ok(id) => self.store().user_by_id(id).await?.is_some(),
            Err(_) => false,
        };
        if !known {
            return Err(AppError::bad_request(
                ErrorCode::UnknownUser,
                format!("{user:?} is not a user id"),
            ));
        }
        let now = self.now();
        let id = mint(now, ScheduleId::mint)?.to_string();
        let mut tx = self.store().write().await?;
        let mut record = tx
            .definition_for_update(DefinitionKind::Schedule, scope, &slug)
            .await?
            .ok_or_else(|| not_found(DefinitionKind::Schedule))?;
        let (mut doc, _) = parse_schedule(&record.definition)?;
        check_new_override(doc.overrides.len(), starts, ends)?;
        let created = OverrideDoc {
            id: Some(id.clone()),
            user: user.to_owned(),
            starts_at: starts.to_string(),
            ends_at: ends.to_string(),
        };
        doc.overrides.push(created.clone());
        doc.to_schedule()?;
        record.definition =
            serde_json::to_string(&doc).map_err(|error| AppError::Internal(error.to_string()))?;
        record.updated_at = now;
        tx.update_definition(DefinitionKind::Schedule, &record)
            .await?;
        tx.commit(
            ctx.audit(now, "schedule_override.create", "schedule_override")
                .scope(scope)
                .resource_id(&id)
                .details(json!({
                    "schedule": schedule,
                    "user": user,
                    "starts_at": created.starts_at,
                    "ends_at": created.ends_at,
                }))
                .build(),
        )
        .await?;
        Ok(created)
    }

    /// "Take my shift": an override putting the calling user on call from `starts_at` to
    /// `ends_at`. A service account cannot take a shift (`not_a_user`).
    pub async fn take_schedule_shift(
        &self,
        ctx: &Ctx,
        scope: Scope,
        schedule: &str,
        starts_at: &str,
        ends_at: &str,
    ) -> AppResult<OverrideDoc> {
        let rampart_domain::platform::identity::PrincipalId::User(user) = ctx.actor.principal
        else {
            // A schedule that does not exist is not found, whoever asks.
            self.definition_at(DefinitionKind::Schedule, scope, schedule)
                .await?;
            return Err(AppError::bad_request(
                ErrorCode::NotAUser,
                "only a user can take a shift, not a service account",
            ));
        };
        self.create_schedule_override(ctx, scope, schedule, &user.to_string(), starts_at, ends_at)
            .await
    }

    /// Deletes one override of a schedule by its id (stored or derived), leaving the
    /// rest of the definition as it is. Audited as `schedule_override.delete`.
    pub async fn delete_schedule_override(
        &self,
        ctx: &Ctx,
        scope: Scope,
        schedule: &str,
        override_id: &str,
    ) -> AppResult<()> {
        let slug = Slug::parse(schedule).map_err(|_| not_found(DefinitionKind::Schedule))?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        let mut record = tx
            .definition_for_update(DefinitionKind::Schedule, scope, &slug)
            .await?
            .ok_or_else(|| not_found(DefinitionKind::Schedule))?;
        let (mut doc, _) = parse_schedule(&record.definition)?;
        let position = doc
            .overrides
            .iter()
            .position(|o| o.id_or_derived() == override_id)
            .ok_or(AppError::NotFound {
                what: "schedule override",
            })?;
        let removed = doc.overrides.remove(position);
        record.definition =
            serde_json::to_string(&doc).map_err(|error| AppError::Internal(error.to_string()))?;
        record.updated_at = now;
        tx.update_definition(DefinitionKind::Schedule, &record)
            .await?;
        tx.commit(
            ctx.audit(now, "schedule_override.delete", "schedule_override")
                .scope(scope)
                .resource_id(override_id)
                .details(json!({
                    "schedule": schedule,
                    "user": removed.user,
                    "starts_at": removed.starts_at,
                    "ends_at": removed.ends_at,
                }))
                .build(),
        )
        .await?;
        Ok(())
    }
}
