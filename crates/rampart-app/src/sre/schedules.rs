//! On-call schedules: who is on call at an instant, the final timeline over a range
//! (gaps included) and its iCalendar export. The schedules themselves are stored as
//! definitions ([`super::definitions`]).

use jiff::Timestamp;
use rampart_domain::platform::tenancy::Scope;
use rampart_domain::sre::documents::DefinitionKind;
use rampart_domain::sre::documents::ScheduleDoc;
use rampart_domain::sre::schedules::{Schedule, Timeline, to_ical};

use super::definitions::corrupt;
use crate::{App, AppResult};

pub(crate) fn parse_schedule(definition: &str) -> AppResult<(ScheduleDoc, Schedule)> {
    let doc: ScheduleDoc = serde_json::from_str(definition).map_err(|_| corrupt("schedule"))?;
    let schedule = doc.to_schedule().map_err(|_| corrupt("schedule"))?;
    Ok((doc, schedule))
}

impl App {
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
