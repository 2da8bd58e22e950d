//! SLI data pulled by delegates: an SLO whose definition names a `pull` (a Prometheus
//! inside the customer's network, how often, which delegates) gets a `prometheus_query`
//! task at each due tick — a range query ([`Pull::query`]) of the events of each minute
//! of the pull's lookback, summed over every series its good (or bad) and total
//! selectors pick, one point a minute at whole minutes — and the two series the
//! delegate reports become the SLO's minutes ([`pulled_rollups`]), each replacing what
//! its minute held, as a push does: pulls that overlap write the same counts again. The
//! answer is two short series however many series the selectors pick, so it always fits
//! a task's result. The server still opens no connection: the delegate does.
//!
//! Writing a definition that names a pull makes it due at once (`pull_due_at`, NULL for
//! SLOs without one, indexed: a tick reads only the SLOs due). Which replica queues a
//! pull is settled by compare-and-swap on `pull_due_at` in the transaction that inserts
//! the task. A pull's task lives only as
//! long as its lookback: with no delegate to run it, at most a few wait, and the first
//! that runs brings everything they would have.

use std::collections::BTreeMap;

use jiff::Timestamp;
use rampart_domain::SloId;
use rampart_domain::platform::delegates::{DelegateTask, TaskKind};
use rampart_domain::sre::slos::{
    Indicator, PULL_PART_LABEL, Pull, Rollup, SeriesRole, Slo, floor_to_minute, pulled_rollups,
};
use serde_json::{Value, json};

use crate::platform::delegates::{DelegateCaller, NewTask, queue_task};
use crate::{App, AppError, AppResult, Ctx};

/// The subject of a pull's task: this, then the SLO's id and the version of the
/// definition the query was made from (an answer to an older one is not taken).
const PULL_SUBJECT: &str = "slo_pull:";

/// How far back a pulled minute may be (a pull runs within its lookback of at most
/// three hours), and how many one answer may write.
const PULLED_PAST_MAX: jiff::SignedDuration = jiff::SignedDuration::from_hours(24);
const PULLED_MINUTES_MAX: usize = 1440;

/// One point a minute: the rollups' resolution.
const PULL_STEP_SECONDS: u64 = 60;

/// The most pulls one tick queues.
const PULLS_PER_TICK: u32 = 1000;

/// How long Prometheus may take to answer a pull.
const PULL_TIMEOUT_SECONDS: u64 = 30;

/// The SLO and the version of its definition a task's subject says it pulls for, if it
/// is a pull's.
pub(crate) fn pulled_slo(subject: &str) -> Option<(SloId, u32)> {
    let (slo, version) = subject.strip_prefix(PULL_SUBJECT)?.split_once(':')?;
    Some((slo.parse().ok()?, version.parse().ok()?))
}

impl App {
    /// Queues the pulls that are due (the engine's tick), at most
    /// [`PULLS_PER_TICK`] (the longest due first; the rest on the next tick); returns how
    /// many. Only SLOs naming a pull are read (the store indexes their due times).
    pub async fn pull_slis(&self) -> AppResult<u64> {
        let now = self.now();
        let mut queued = 0;
        for slo in self
            .store()
            .slos_with_pulls_due(now, PULLS_PER_TICK)
            .await?
        {
            let id = slo.id;
            let (slo, opened) = match self.cached_definition(slo).await {
                Ok(Some(held)) => held,
                Ok(None) => continue,
                Err(error) => {
                    super::slos::tolerate_one_slo(error, id)?;
                    continue;
                }
            };
            let (_, definition) = opened.as_ref();
            let (Some(pull), Some(indicator)) = (&definition.pull, &definition.indicator) else {
                continue;
            };
            match self.queue_pull(&slo, pull, indicator, now).await {
                Ok(true) => queued += 1,
                Ok(false) => {}
                Err(error) => super::slos::tolerate_one_slo(error, id)?,
            }
        }
        if queued > 0 {
            self.wake_delegates();
        }
        Ok(queued)
    }

    /// Queues one pull of `slo` unless another replica took it first.
    async fn queue_pull(
        &self,
        slo: &Slo,
        pull: &Pull,
        indicator: &Indicator,
        now: Timestamp,
    ) -> AppResult<bool> {
        let project = slo
            .scope
            .project_id()
            .ok_or(AppError::NotFound { what: "project" })?;
        let Some(query) = Pull::query(indicator) else {
            return Ok(false);
        };
        let sealer = self.sealer(&project.to_string()).await?;
        let lookback = pull.lookback();
        // The shape of `rampart_api::platform::PrometheusQueryTask`, which the delegate
        // reads strictly. The range ends at the last whole minute, so each point counts
        // one whole minute.
        let end = floor_to_minute(now).as_second();
        let arguments = json!({
            "url": pull.url,
            "query": query,
            "range": {
                "end": end,
                "seconds": lookback.as_secs(),
                "step_seconds": PULL_STEP_SECONDS,
            },
            "timeout_seconds": PULL_TIMEOUT_SECONDS,
        });
        let mut task = queue_task(
            &sealer,
            NewTask {
                project,
                kind: TaskKind::PrometheusQuery,
                selector: pull.delegate_selector.clone(),
                target: None,
                arguments: arguments.to_string(),
                subject: Some(format!("{PULL_SUBJECT}{}:{}", slo.id, slo.version)),
            },
            now,
        )?;
        // A pull run later than its lookback brings nothing a newer one does not.
        task.expires_at = now + lookback;
        let mut tx = self.store().write().await?;
        if !tx.take_slo_pull(slo.id, now, now + pull.every).await? {
            tx.rollback().await?;
            return Ok(false);
        }
        tx.insert_delegate_task(&task).await?;
        tx.commit(
            Ctx::system()
                .audit(now, "slo.pull", "slo")
                .scope(slo.scope)
                .resource_id(slo.id)
                .details(json!({
                    "identifier": slo.identifier.as_str(),
                    "task": task.id.to_string(),
                }))
                .build(),
        )
        .await?;
        Ok(true)
    }

    /// Takes what a delegate's pull of `slo` brought (its task's `output`), after the
    /// task's end was recorded. A failure is logged, not answered: the delegate did its
    /// work, and the next pull's lookback brings the same minutes again.
    pub(crate) async fn take_pulled_minutes(
        &self,
        caller: &DelegateCaller,
        task: &DelegateTask,
        (slo, version): (SloId, u32),
        output: &str,
    ) {
        let taken = async {
            // Only an SLO of the task's own project (the subject is the server's, but a
            // project's delegates never write another's minutes, whatever it says).
            let Some((row, _)) = self
                .store()
                .slo_by_id(slo)
                .await?
                .filter(|(row, _)| row.scope.project_id() == Some(task.project_id))
            else {
                return Ok(0);
            };
            // The answer to a query of another definition (changed since) may count other
            // series, or swap good and bad: the next pull asks again.
            if row.version != version {
                return Ok(0);
            }
            let Some((row, opened)) = self.cached_definition(row).await? else {
                return Ok(0);
            };
            let Some(
                indicator @ Indicator::Ratio {
                    part: (role, _), ..
                },
            ) = &opened.1.indicator
            else {
                return Ok(0);
            };
            let (part_role, part, total) = pulled_series(output)
                .map_err(|reason| AppError::Internal(format!("a pull's answer: {reason}")))?;
            if part_role.is_some_and(|part_role| part_role != *role) {
                return Err(AppError::Internal(format!(
                    "a pull's answer counts {:?} events, the SLO's indicator {:?}",
                    part_role.map(SeriesRole::as_str),
                    role.as_str()
                )));
            }
            let now = self.now();
            let (earliest, latest) = (now - PULLED_PAST_MAX, now + super::slos::PUSH_FUTURE_MAX);
            let mut rollups: Vec<Rollup> = pulled_rollups(indicator, &part, &total)
                .into_iter()
                .filter(|rollup| rollup.minute >= earliest && rollup.minute <= latest)
                .collect();
            // The newest, when a delegate reports more than a pull asks for.
            let extra = rollups.len().saturating_sub(PULLED_MINUTES_MAX);
            rollups.drain(..extra);
            if rollups.is_empty() {
                return Ok(0);
            }
            let meta = caller.meta.clone();
            let actor = format!("delegate:{}", caller.delegate.id);
            self.put_minutes(&row, rollups, |now| {
                crate::audit::anonymous(now, &meta, "slo.pull_data", "slo", "delegate").actor(actor)
            })
            .await
        };
        match taken.await {
            Ok(minutes) => tracing::debug!(%slo, minutes, "pulled minutes taken"),
            Err(error) => tracing::warn!(
                ?error,
                %slo,
                "taking the minutes a delegate pulled failed; the next pull brings them again"
            ),
        }
    }
}

/// The points of a pull's answer as the delegate reports it (`result_type` `matrix`,
/// `result` as Prometheus gives it: each series' `metric` labels and `values` as
/// `[unix seconds, "value"]`): the part's (`good` or `bad`) and the total's, by
/// [`PULL_PART_LABEL`], each by second.
pub(crate) type PulledPoints = BTreeMap<i64, f64>;

pub(crate) fn pulled_series(
    output: &str,
) -> Result<(Option<SeriesRole>, PulledPoints, PulledPoints), String> {
    let output: Value = serde_json::from_str(output).map_err(|error| error.to_string())?;
    if output.get("result_type").and_then(Value::as_str) != Some("matrix") {
        return Err("a pull's answer is a matrix".into());
    }
    let series = output
        .get("result")
        .and_then(Value::as_array)
        .ok_or("a matrix without a result")?;
    let (mut part_role, mut part, mut total) = (None, BTreeMap::new(), BTreeMap::new());
    for one in series {
        let role = one
            .get("metric")
            .and_then(|metric| metric.get(PULL_PART_LABEL))
            .and_then(Value::as_str)
            .ok_or("a series without its part label")?;
        let points = match role {
            "total" => &mut total,
            "good" | "bad" => {
                let this = if role == "good" {
                    SeriesRole::Good
                } else {
                    SeriesRole::Bad
                };
                if part_role.replace(this).is_some_and(|before| before != this) {
                    return Err("a pull's answer has both good and bad series".into());
                }
                &mut part
            }
            _ => return Err(format!("a series of part {role:?}")),
        };
        for point in one
            .get("values")
            .and_then(Value::as_array)
            .ok_or("a series without values")?
        {
            let seconds = point
                .get(0)
                .and_then(Value::as_f64)
                .ok_or("a point without a time")?;
            let value = point
                .get(1)
                .and_then(Value::as_str)
                .and_then(|text| text.parse::<f64>().ok())
                .ok_or("a point without a value")?;
            // Points at whole seconds (the range's are at whole minutes); others are
            // not a minute's and are left out by `pulled_rollups`.
            if seconds.fract() == 0.0 {
                points.insert(seconds as i64, value);
            }
        }
    }
    Ok((part_role, part, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_matrix_becomes_the_part_and_total_points() {
        let output = json!({
            "result_type": "matrix",
            "result": [
                {"metric": {"rampart_part": "good"},
                 "values": [[1733000040, "990"], [1733000100, "+Inf"], [1733000130.5, "1"]]},
                {"metric": {"rampart_part": "total"}, "values": [[1733000040, "1000"]]},
            ],
            "series": 2, "truncated": false, "start": 0, "end": 0, "duration_ms": 3,
        });
        let (role, part, total) = pulled_series(&output.to_string()).unwrap();
        assert_eq!(role, Some(SeriesRole::Good));
        assert_eq!(part.len(), 2, "{part:?}");
        assert_eq!(part.get(&1_733_000_040), Some(&990.0));
        assert!(
            part.get(&1_733_000_100).unwrap().is_infinite(),
            "left out later"
        );
        assert_eq!(
            total.into_iter().collect::<Vec<_>>(),
            [(1_733_000_040, 1000.0)]
        );

        for bad in [
            json!({"result_type": "vector", "result": []}),
            json!({"result_type": "matrix"}),
            json!({"result_type": "matrix", "result": [{"values": []}]}),
            json!({"result_type": "matrix", "result": [{"metric": {"rampart_part": "x"}, "values": []}]}),
            json!({"result_type": "matrix", "result": [{"metric": {"rampart_part": "total"}, "values": [[1, "x"]]}]}),
            json!({"result_type": "matrix", "result": [
                {"metric": {"rampart_part": "good"}, "values": []},
                {"metric": {"rampart_part": "bad"}, "values": []}]}),
        ] {
            assert!(pulled_series(&bad.to_string()).is_err(), "{bad}");
        }
        assert!(pulled_series("not json").is_err());
        assert_eq!(pulled_slo("slo_pull:nope:1"), None);
        let slo = SloId::mint(1_733_000_000_000, [7; 10]);
        assert_eq!(pulled_slo(&format!("slo_pull:{slo}:3")), Some((slo, 3)));
        assert_eq!(pulled_slo(&format!("slo_pull:{slo}")), None);
        assert_eq!(pulled_slo("runbook_execution:x"), None);
    }
}
