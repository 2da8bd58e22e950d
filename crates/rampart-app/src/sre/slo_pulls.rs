//! SLI data pulled by delegates: an SLO whose definition names a `pull` (a Prometheus
//! inside the customer's network, how often, which delegates) gets a `prometheus_query`
//! task at each due tick — a range query of its indicator's selectors over the pull's
//! lookback, one point a minute — and the matrix a delegate reports is taken exactly as
//! a remote write of those series would be, for that SLO alone ([`App::remote_write`]'s
//! matching, counter folding and dedup of samples already taken, so overlapping pulls
//! count each increase once). The server still opens no connection: the delegate does.
//!
//! Which replica queues a pull is settled by compare-and-swap on the SLO's
//! `pull_due_at` in the transaction that inserts the task. A pull's task lives only as
//! long as its lookback: with no delegate to run it, at most a few wait, and the first
//! that runs brings everything they would have.

use jiff::Timestamp;
use prost::bytes::Bytes;
use rampart_domain::SloId;
use rampart_domain::platform::delegates::TaskKind;
use rampart_domain::sre::slos::{Indicator, Pull, Slo};
use serde_json::{Value, json};

use super::remote_write::{Label, Sample, TimeSeries, WriteRequest};
use crate::platform::delegates::{DelegateCaller, NewTask, queue_task};
use crate::{App, AppError, AppResult, Ctx};

/// The subject of a pull's task: this, then the SLO's id.
const PULL_SUBJECT: &str = "slo_pull:";

/// One point a minute: the rollups' resolution.
const PULL_STEP_SECONDS: u64 = 60;

/// How long Prometheus may take to answer a pull.
const PULL_TIMEOUT_SECONDS: u64 = 30;

/// The SLO a task's subject says it pulls for, if it is a pull's.
pub(crate) fn pulled_slo(subject: &str) -> Option<SloId> {
    subject.strip_prefix(PULL_SUBJECT)?.parse().ok()
}

impl App {
    /// Queues the pulls that are due (the engine's tick); returns how many.
    pub async fn pull_slis(&self) -> AppResult<u64> {
        let mut after = None;
        let mut queued = 0;
        loop {
            let page = self
                .store()
                .slos_for_alerting(after, super::slos::ALERTING_PAGE)
                .await?;
            let now = self.now();
            for row in &page {
                if row.pull_due_at.is_some_and(|due| due > now) {
                    continue;
                }
                let opened = match self.cached_definition(row.slo.clone()).await {
                    Ok(Some((_, opened))) => opened,
                    Ok(None) => continue,
                    Err(error) => {
                        super::slos::tolerate_one_slo(error, row)?;
                        continue;
                    }
                };
                let (_, definition) = opened.as_ref();
                let (Some(pull), Some(indicator)) = (&definition.pull, &definition.indicator)
                else {
                    continue;
                };
                match self.queue_pull(&row.slo, pull, indicator, now).await {
                    Ok(true) => queued += 1,
                    Ok(false) => {}
                    Err(error) => super::slos::tolerate_one_slo(error, row)?,
                }
            }
            match page.last() {
                Some(last) if page.len() >= super::slos::ALERTING_PAGE as usize => {
                    after = Some(last.slo.id);
                }
                _ => break,
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
        let sealer = self.sealer(&project.to_string()).await?;
        let lookback = pull.lookback();
        // The shape of `rampart_api::platform::PrometheusQueryTask`, which the delegate
        // reads strictly; the range ends when the delegate runs it.
        let arguments = json!({
            "url": pull.url,
            "query": Pull::query(indicator),
            "range": {
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
                subject: Some(format!("{PULL_SUBJECT}{}", slo.id)),
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
    /// work, and the next pull's lookback brings the same series again.
    pub(crate) async fn take_pulled_series(
        &self,
        caller: &DelegateCaller,
        slo: SloId,
        output: &str,
    ) {
        let taken = async {
            let Some((slo_row, _)) = self.store().slo_by_id(slo).await? else {
                return Ok(None);
            };
            let request = pulled_write_request(output)
                .map_err(|reason| AppError::Internal(format!("a pull's answer: {reason}")))?;
            let meta = caller.meta.clone();
            let actor = format!("delegate:{}", caller.delegate.id);
            let outcome = self
                .take_series(slo_row.scope, &request, Some(slo), |now| {
                    crate::audit::anonymous(now, &meta, "slo.pull_data", "slo", "delegate")
                        .actor(actor)
                        .resource_id(slo)
                })
                .await?;
            AppResult::Ok(Some(outcome))
        };
        match taken.await {
            Ok(Some(outcome)) => {
                tracing::debug!(%slo, taken = outcome.taken, "pulled series taken")
            }
            Ok(None) => {}
            Err(error) => tracing::warn!(
                ?error,
                %slo,
                "taking the series a delegate pulled failed; the next pull brings them again"
            ),
        }
    }
}

/// The series of a Prometheus range query's answer as the delegate reports it
/// (`result_type` `matrix`, `result` as Prometheus gives it: each series' `metric`
/// labels and `values` as `[unix seconds, "value"]`), as a write request.
pub(crate) fn pulled_write_request(output: &str) -> Result<WriteRequest, String> {
    let output: Value = serde_json::from_str(output).map_err(|error| error.to_string())?;
    if output.get("result_type").and_then(Value::as_str) != Some("matrix") {
        return Err("a pull's answer is a matrix".into());
    }
    let series = output
        .get("result")
        .and_then(Value::as_array)
        .ok_or("a matrix without a result")?;
    let mut timeseries = Vec::with_capacity(series.len());
    for one in series {
        let labels = one
            .get("metric")
            .and_then(Value::as_object)
            .ok_or("a series without labels")?
            .iter()
            .map(|(name, value)| {
                Ok(Label {
                    name: Bytes::from(name.clone()),
                    value: Bytes::from(
                        value
                            .as_str()
                            .ok_or("a label value that is not text")?
                            .to_owned(),
                    ),
                })
            })
            .collect::<Result<Vec<_>, &str>>()?;
        let samples = one
            .get("values")
            .and_then(Value::as_array)
            .ok_or("a series without values")?
            .iter()
            .map(|point| {
                let seconds = point
                    .get(0)
                    .and_then(Value::as_f64)
                    .ok_or("a point without a time")?;
                let value = point
                    .get(1)
                    .and_then(Value::as_str)
                    .and_then(|text| text.parse::<f64>().ok())
                    .ok_or("a point without a value")?;
                Ok(Sample {
                    value,
                    timestamp: (seconds * 1000.0).round() as i64,
                })
            })
            .collect::<Result<Vec<_>, &str>>()?;
        timeseries.push(TimeSeries { labels, samples });
    }
    Ok(WriteRequest { timeseries })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_matrix_becomes_the_series_a_remote_write_would_carry() {
        let output = json!({
            "result_type": "matrix",
            "result": [
                {"metric": {"__name__": "http_requests_total", "code": "200"},
                 "values": [[1733000000.5, "10"], [1733000060, "+Inf"]]},
                {"metric": {"__name__": "up"}, "values": []},
            ],
            "series": 2, "truncated": false, "start": 0, "end": 0, "duration_ms": 3,
        });
        let request = pulled_write_request(&output.to_string()).unwrap();
        assert_eq!(request.timeseries.len(), 2);
        let first = &request.timeseries[0];
        let labels: Vec<(&[u8], &[u8])> = first
            .labels
            .iter()
            .map(|label| (&label.name[..], &label.value[..]))
            .collect();
        assert_eq!(
            labels,
            [
                (&b"__name__"[..], &b"http_requests_total"[..]),
                (b"code", b"200")
            ]
        );
        assert_eq!(first.samples[0].timestamp, 1_733_000_000_500);
        assert_eq!(first.samples[0].value, 10.0);
        assert!(
            first.samples[1].value.is_infinite(),
            "dropped later as not finite"
        );

        for bad in [
            json!({"result_type": "vector", "result": []}),
            json!({"result_type": "matrix"}),
            json!({"result_type": "matrix", "result": [{"values": []}]}),
            json!({"result_type": "matrix", "result": [{"metric": {"a": 1}, "values": []}]}),
            json!({"result_type": "matrix", "result": [{"metric": {}, "values": [[1, "x"]]}]}),
        ] {
            assert!(pulled_write_request(&bad.to_string()).is_err(), "{bad}");
        }
        assert!(pulled_write_request("not json").is_err());
        assert_eq!(pulled_slo("slo_pull:nope"), None);
        assert_eq!(pulled_slo("runbook_execution:x"), None);
    }
}
