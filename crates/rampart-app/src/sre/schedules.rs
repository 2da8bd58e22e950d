//! On-call schedules: create, replace, read and list them (typed documents, stored as
//! definitions by [`super::definitions`]), who is on call at an instant, the final
//! timeline over a range (gaps included) and its iCalendar export.

use jiff::Timestamp;
use rampart_domain::platform::tenancy::Scope;
use rampart_domain::sre::documents::DefinitionKind;
use rampart_domain::sre::documents::ScheduleDoc;
use rampart_domain::sre::schedules::{Schedule, Timeline, to_ical};
use rampart_store::Page;

use super::definitions::{Document, StoredDefinition, corrupt};
use crate::{App, AppResult, Ctx};

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
        Ok(to_ical(record.name.as_str(), &record.id, &timeline))
    }
}
