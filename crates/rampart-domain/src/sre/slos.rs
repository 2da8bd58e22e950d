//! The maths of service level objectives: windows (rolling, or calendar-aligned in a
//! time zone), the two budgeting methods, the error budget, burn rates, the
//! multi-window multi-burn-rate alert rule of the Google SRE workbook (scaled to the
//! SLO's window, as sloth and pyrra do), projected exhaustion, and counter increases
//! across resets (Prometheus' `increase` without extrapolation). Pure functions of
//! per-minute rollups and an instant; storage, ingestion and the engine that raises
//! alerts live elsewhere.
//!
//! The rules, stated once (README "How SLO budgets are computed" repeats them):
//!
//! - A **rollup** is the good and total count of one minute. Bad = total − good.
//! - **Occurrences**: the budget is `(1 − target) × total events` of the window so far;
//!   consumed = bad events / budget.
//! - **Timeslices**: minutes are grouped into slices (`slice` long, counted from the
//!   window's start for calendar windows and from the Unix epoch for rolling ones); a
//!   slice with data is good when its good/total ≥ the slice threshold, else bad; a slice
//!   without data is neither. The budget is `(1 − target) × the number of slices in the
//!   whole window` (a 30-day window at 99.9 % with 1-minute slices allows 43.2 bad
//!   minutes); consumed = bad slices / budget.
//! - A **burn rate** over a lookback is the error ratio there divided by `1 − target`:
//!   bad/total events (occurrences) or bad/(good + bad) slices (timeslices). No data in
//!   the lookback → no burn rate (an alert never fires on silence).
//! - An **alert window** fires when the burn rates over both its long and its short
//!   lookback reach its factor. The defaults are the workbook's for a 30-day window —
//!   page: 14.4× over 1 h and 5 m, 6× over 6 h and 30 m; ticket: 3× over 1 d and 2 h,
//!   1× over 3 d and 6 h — with both lookbacks scaled by `window / 30 d` (rounded to
//!   whole minutes, at least one), so each still means the same share of the budget.
//! - A **calendar** window is the week (from Monday), month, quarter or year that holds
//!   the instant, from local midnight of its first day in the SLO's time zone to the
//!   same of the next, the wall time made an instant by the rule every wall time of a
//!   schedule follows ([`crate::sre::schedules::instant_of`]): a midnight the clocks
//!   skip is the first instant after the gap.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ToSpan};
use serde::{Deserialize, Serialize};

use crate::platform::delegates::Tags;
use crate::platform::tenancy::Scope;
use crate::sre::series::Selector;
use crate::{Description, Name, ServiceId, SloId, Slug, ValidationError};

/// An SLO of a project: its identifier and name (how people find it, plaintext), the
/// service its alerts are raised on, and the version of its definition (which is sealed:
/// see [`SloDoc`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Slo {
    pub id: SloId,
    /// Always a project.
    pub scope: Scope,
    pub identifier: Slug,
    pub name: Name,
    pub service_id: ServiceId,
    /// From 1, one more at each change of the definition.
    pub version: u32,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// An SLO's definition as its author writes it (JSON), named after OpenSLO v1's fields
/// (`budgetingMethod` → `budgeting_method`, …) so that OpenSLO maps onto it field by
/// field. Unknown fields are refused.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SloDoc {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// The identifier of the project's service the SLO is about.
    pub service: String,
    /// The share of good, above 0 and below 1 (99.9 % is 0.999).
    pub target: f64,
    pub time_window: TimeWindowDoc,
    /// `occurrences` or `timeslices`.
    pub budgeting_method: String,
    /// With `timeslices`: the good share that makes a slice good.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_slice_target: Option<f64>,
    /// With `timeslices`: a slice's length, `1m` to `60m` (default `1m`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_slice_window: Option<String>,
    /// Where the SLI's events come from (OpenSLO's SLI spec): the series Prometheus'
    /// remote write sends. Without one, the SLO is fed only by pushed minutes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub indicator: Option<IndicatorDoc>,
    /// With a `threshold_metric`: how a sample compares with `value` to be good (`lt`,
    /// `lte`, `gt`, `gte`), as OpenSLO's objective `op`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op: Option<String>,
    /// With a `threshold_metric`: the threshold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// OpenSLO's objective `displayName`, kept for export.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objective_display_name: Option<String>,
    /// The alert windows, grouped as OpenSLO's alert policies. None: the workbook's four
    /// windows scaled to the SLO's window (see the module's rules).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alert_policies: Vec<AlertPolicyDoc>,
    /// A Prometheus inside the customer's network that a delegate queries for the
    /// indicator's series, for SLOs whose data cannot be pushed or remote-written out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull: Option<PullDoc>,
}

/// Where and how often a delegate pulls an SLO's indicator series.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PullDoc {
    /// The base URL of Prometheus' HTTP API (`http://prometheus.internal:9090`), which
    /// the delegate must allow.
    pub url: String,
    /// Tags a delegate must have to pull (`zone=eu`); none: any of the project's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub delegate_selector: Vec<String>,
    /// How often, `1m` to `60m` or `1h` (default `1m`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub every: Option<String>,
}

/// A valid [`PullDoc`].
#[derive(Clone, Debug, PartialEq)]
pub struct Pull {
    pub url: String,
    pub delegate_selector: Tags,
    pub every: SignedDuration,
}

/// The longest base URL a pull names.
const PULL_URL_MAX: usize = 2048;

/// The label a pull's query puts on each of its two series: the indicator's part
/// (`good` or `bad`) or `total`.
pub const PULL_PART_LABEL: &str = "rampart_part";

impl Pull {
    /// The range a pull asks for: three of its intervals back, at least ten minutes —
    /// so a missed pull or two lose nothing (a minute pulled again is replaced by the
    /// same counts).
    pub fn lookback(&self) -> SignedDuration {
        (self.every * 3).max(SignedDuration::from_mins(10))
    }

    /// The PromQL of a pull, evaluated as a range query one point a minute at whole
    /// minutes: for each of the ratio's part and total, the events of the minute before
    /// each point summed over every series the selector picks — `increase` of counters
    /// (Prometheus handles their resets), `sum_over_time` of per-sample counts — tagged
    /// with [`PULL_PART_LABEL`]. Two short series whatever the number of series
    /// selected. `None` for a threshold indicator (which a pull does not read).
    pub fn query(indicator: &Indicator) -> Option<String> {
        let Indicator::Ratio {
            counter,
            part,
            total,
        } = indicator
        else {
            return None;
        };
        let events = |selector: &Selector, role: SeriesRole| {
            let summed = if *counter {
                format!("sum(increase({}[1m]))", selector.text())
            } else {
                format!("sum(sum_over_time({}[1m]))", selector.text())
            };
            format!(
                "label_replace({summed}, \"{PULL_PART_LABEL}\", \"{}\", \"\", \"\")",
                role.as_str()
            )
        };
        Some(format!(
            "{} or {}",
            events(&part.1, part.0),
            events(total, SeriesRole::Total)
        ))
    }
}

/// The minutes a pull's answer makes: each point of the `total` series at a whole
/// minute (Unix seconds) counts the minute before it, with the part's point at the same
/// instant (none: no good — or no bad — events); good is held to 0 ≤ good ≤ total, as
/// `increase`'s extrapolation may step over by a fraction. Points off a whole minute,
/// not finite or negative, and minutes without a total are left out.
pub fn pulled_rollups(
    indicator: &Indicator,
    part: &std::collections::BTreeMap<i64, f64>,
    total: &std::collections::BTreeMap<i64, f64>,
) -> Vec<Rollup> {
    let Indicator::Ratio {
        part: (role, _), ..
    } = indicator
    else {
        return Vec::new();
    };
    total
        .iter()
        .filter(|(end, total)| end.rem_euclid(60) == 0 && total.is_finite() && **total >= 0.0)
        .filter_map(|(end, total)| {
            let counted = part.get(end).copied().unwrap_or(0.0);
            if !counted.is_finite() {
                return None;
            }
            let counted = counted.clamp(0.0, *total);
            let good = match role {
                SeriesRole::Bad => total - counted,
                _ => counted,
            };
            let minute = Timestamp::from_second(end.checked_sub(60)?).ok()?;
            Rollup::new(minute, good, *total).ok()
        })
        .collect()
}

impl PullDoc {
    fn parse(&self) -> Result<Pull, ValidationError> {
        let url = self.url.trim();
        let shaped = (url.starts_with("https://") || url.starts_with("http://"))
            && url.len() <= PULL_URL_MAX
            && !url.chars().any(|c| c.is_whitespace() || c.is_control())
            && !url.contains(['?', '#']);
        if !shaped {
            return Err(invalid(
                "pull",
                format!(
                    "pull.url: an http:// or https:// base URL of at most {PULL_URL_MAX} \
                     characters, without a query or fragment"
                ),
            ));
        }
        let delegate_selector = Tags::parse(&self.delegate_selector).map_err(|error| {
            invalid("pull", format!("pull.delegate_selector: {}", error.reason))
        })?;
        let every = match self.every.as_deref() {
            None => MINUTE,
            Some(text) => match duration_parts(text) {
                Some((count, 'm')) if count <= 60 => SignedDuration::from_mins(count),
                Some((1, 'h')) => SignedDuration::from_hours(1),
                _ => return Err(invalid("pull", "pull.every: 1m to 60m")),
            },
        };
        Ok(Pull {
            url: url.to_owned(),
            delegate_selector,
            every,
        })
    }
}

/// OpenSLO's AlertPolicy: a named group of burn-rate conditions. Its alerts go where
/// every alert of the SLO's service goes (its rules and escalation policy), so it has no
/// notification targets of its own.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertPolicyDoc {
    /// An identifier (`fast-burn`).
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    pub conditions: Vec<AlertConditionDoc>,
}

/// OpenSLO's AlertCondition of kind `burnrate`, with the short lookback of the
/// workbook's multi-window rule (which OpenSLO v1 cannot express) beside the long one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertConditionDoc {
    /// An identifier (`page-1h`).
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// `page` (wakes someone: a critical alert) or `ticket` (a warning).
    pub severity: String,
    /// The burn rate both lookbacks must reach (OpenSLO's `threshold`).
    pub burn_rate: f64,
    /// The long lookback, `<n>m|h|d|w` (OpenSLO's `lookbackWindow`).
    pub lookback_window: String,
    /// The short lookback; absent, the condition has one lookback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub short_window: Option<String>,
}

/// OpenSLO's SLI spec: exactly one of a ratio of two metrics or a threshold metric.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndicatorDoc {
    /// OpenSLO's SLI `metadata.name` (an identifier), kept for export.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ratio_metric: Option<RatioMetricDoc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold_metric: Option<MetricDoc>,
}

/// OpenSLO's `ratioMetric`: good (or bad) events over total events; `counter` says
/// whether the series are cumulative counters (each sample's increase counts) or carry
/// a count per sample.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RatioMetricDoc {
    pub counter: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub good: Option<MetricDoc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bad: Option<MetricDoc>,
    pub total: MetricDoc,
}

/// A metric of an SLI: OpenSLO's `{metricSource: {type, spec}}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricDoc {
    pub metric_source: MetricSourceDoc,
}

/// A metric source: `type: Prometheus` with `spec.query`, a series selector.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricSourceDoc {
    #[serde(rename = "type")]
    pub source_type: String,
    pub spec: PrometheusSourceDoc,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrometheusSourceDoc {
    pub query: String,
}

/// How a threshold metric's sample compares with the threshold to be good.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ThresholdOp {
    Lt,
    Lte,
    Gt,
    Gte,
}

impl ThresholdOp {
    pub fn good(self, sample: f64, threshold: f64) -> bool {
        match self {
            ThresholdOp::Lt => sample < threshold,
            ThresholdOp::Lte => sample <= threshold,
            ThresholdOp::Gt => sample > threshold,
            ThresholdOp::Gte => sample >= threshold,
        }
    }
}

/// Which part of an SLI a series feeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SeriesRole {
    Good,
    Bad,
    Total,
    /// A threshold metric: each sample is one event, good or bad by the threshold.
    Threshold,
}

impl SeriesRole {
    pub fn as_str(self) -> &'static str {
        match self {
            SeriesRole::Good => "good",
            SeriesRole::Bad => "bad",
            SeriesRole::Total => "total",
            SeriesRole::Threshold => "threshold",
        }
    }
}

/// What a valid [`IndicatorDoc`] means: the selectors of its series and their roles.
#[derive(Clone, Debug, PartialEq)]
pub enum Indicator {
    Ratio {
        /// Whether the series are cumulative counters.
        counter: bool,
        /// `Good` or `Bad`, with its selector.
        part: (SeriesRole, Selector),
        total: Selector,
    },
    Threshold {
        metric: Selector,
        op: ThresholdOp,
        value: f64,
    },
}

impl Indicator {
    /// Each selector with the role of the series it selects.
    pub fn selectors(&self) -> Vec<(SeriesRole, &Selector)> {
        match self {
            Indicator::Ratio { part, total, .. } => {
                vec![(part.0, &part.1), (SeriesRole::Total, total)]
            }
            Indicator::Threshold { metric, .. } => vec![(SeriesRole::Threshold, metric)],
        }
    }
}

impl MetricDoc {
    fn parse(&self, field: &'static str) -> Result<Selector, ValidationError> {
        let source = &self.metric_source;
        if source.source_type != "Prometheus" {
            return Err(invalid(
                field,
                format!(
                    "{field}: metric_source type {:?} is not supported (Prometheus is)",
                    source.source_type
                ),
            ));
        }
        Selector::parse(field, &source.spec.query)
            .map_err(|error| invalid(field, format!("{field}: {}", error.reason)))
    }
}

impl SloDoc {
    fn indicator(&self) -> Result<Option<Indicator>, ValidationError> {
        let threshold = match (&self.op, self.value) {
            (None, None) => None,
            (Some(op), Some(value)) if value.is_finite() => Some((
                match op.as_str() {
                    "lt" => ThresholdOp::Lt,
                    "lte" => ThresholdOp::Lte,
                    "gt" => ThresholdOp::Gt,
                    "gte" => ThresholdOp::Gte,
                    other => {
                        return Err(invalid(
                            "op",
                            format!("op {other:?} is not lt, lte, gt or gte"),
                        ));
                    }
                },
                value,
            )),
            _ => {
                return Err(invalid(
                    "op",
                    "op and value go together (a finite threshold), with a threshold_metric",
                ));
            }
        };
        if let Some(indicator) = &self.indicator {
            if let Some(name) = &indicator.name {
                Slug::parse(name).map_err(|error| {
                    invalid("indicator", format!("indicator.name: {}", error.reason))
                })?;
            }
            check_labels(&indicator.display_name, &indicator.description)
                .map_err(|reason| invalid("indicator", format!("indicator.{reason}")))?;
        }
        let Some(indicator) = &self.indicator else {
            return match threshold {
                None => Ok(None),
                Some(_) => Err(invalid("op", "op and value go with a threshold_metric")),
            };
        };
        match (
            &indicator.ratio_metric,
            &indicator.threshold_metric,
            threshold,
        ) {
            (Some(ratio), None, None) => {
                let part = match (&ratio.good, &ratio.bad) {
                    (Some(good), None) => (SeriesRole::Good, good.parse("indicator.good")?),
                    (None, Some(bad)) => (SeriesRole::Bad, bad.parse("indicator.bad")?),
                    _ => {
                        return Err(invalid(
                            "indicator",
                            "a ratio_metric has good or bad (one of them) and total",
                        ));
                    }
                };
                Ok(Some(Indicator::Ratio {
                    counter: ratio.counter,
                    part,
                    total: ratio.total.parse("indicator.total")?,
                }))
            }
            (None, Some(metric), Some((op, value))) => Ok(Some(Indicator::Threshold {
                metric: metric.parse("indicator.threshold_metric")?,
                op,
                value,
            })),
            (None, Some(_), None) => Err(invalid(
                "op",
                "a threshold_metric needs op and value (the threshold a good sample meets)",
            )),
            (Some(_), _, Some(_)) => Err(invalid("op", "op and value go with a threshold_metric")),
            _ => Err(invalid(
                "indicator",
                "an indicator has a ratio_metric or a threshold_metric (one of them)",
            )),
        }
    }
}

/// OpenSLO's `timeWindow`: `duration` as `<n><unit>`; rolling windows in minutes (`m`),
/// hours (`h`), days (`d`) or weeks (`w`); calendar windows `1w`, `1M`, `1Q` or `1Y` in
/// `time_zone` (an IANA name, default UTC).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeWindowDoc {
    pub duration: String,
    #[serde(default = "rolling_by_default")]
    pub is_rolling: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
}

fn rolling_by_default() -> bool {
    true
}

/// What a valid [`SloDoc`] means.
#[derive(Clone, Debug, PartialEq)]
pub struct SloDefinition {
    pub description: Description,
    pub service: Slug,
    pub objective: Objective,
    pub indicator: Option<Indicator>,
    /// The alert windows: the author's, or the workbook's scaled to the window.
    pub burn_windows: Vec<BurnWindow>,
    /// Set only with an indicator.
    pub pull: Option<Pull>,
}

fn invalid(field: &'static str, message: impl Into<String>) -> ValidationError {
    ValidationError::new(field, message)
}

/// `<n><unit>` with a unit of `units`, as a count and its unit letter.
fn duration_parts(text: &str) -> Option<(i64, char)> {
    let unit = text.chars().last()?;
    let count: i64 = text.get(..text.len() - unit.len_utf8())?.parse().ok()?;
    (count > 0 && text.starts_with(|c: char| c.is_ascii_digit())).then_some((count, unit))
}

impl TimeWindowDoc {
    fn parse(&self) -> Result<Window, ValidationError> {
        if self.is_rolling {
            if self.time_zone.is_some() {
                return Err(invalid(
                    "time_window",
                    "time_zone: only a calendar window (is_rolling: false) has a time zone",
                ));
            }
            let length = lookback(&self.duration).ok_or_else(|| {
                invalid(
                    "time_window",
                    "duration: a rolling window is a whole number of m, h, d or w (30d)",
                )
            })?;
            return Window::rolling(length).map_err(|_| {
                invalid(
                    "time_window",
                    "duration: a rolling window is 1 hour to 400 days",
                )
            });
        }
        let unit = match duration_parts(&self.duration) {
            Some((1, 'w')) => CalendarUnit::Week,
            Some((1, 'M')) => CalendarUnit::Month,
            Some((1, 'Q')) => CalendarUnit::Quarter,
            Some((1, 'Y')) => CalendarUnit::Year,
            _ => {
                return Err(invalid(
                    "time_window",
                    "duration: a calendar window is 1w, 1M, 1Q or 1Y",
                ));
            }
        };
        let time_zone = match &self.time_zone {
            None => TimeZone::UTC,
            Some(name) => TimeZone::get(name).map_err(|_| {
                invalid(
                    "time_window",
                    format!("time_zone: {name:?} is not an IANA time zone"),
                )
            })?,
        };
        Ok(Window::Calendar { unit, time_zone })
    }
}

impl SloDoc {
    /// What the document means, or the first thing wrong with it (its field named).
    pub fn parse(&self) -> Result<SloDefinition, ValidationError> {
        let description = Description::parse(&self.description)?;
        let service = Slug::parse(&self.service)
            .map_err(|error| invalid("service", format!("service: {}", error.reason)))?;
        let window = self.time_window.parse()?;
        let budgeting = match self.budgeting_method.as_str() {
            "occurrences" => {
                if self.time_slice_target.is_some() || self.time_slice_window.is_some() {
                    return Err(invalid(
                        "budgeting_method",
                        "time_slice_target and time_slice_window go with timeslices",
                    ));
                }
                Budgeting::Occurrences
            }
            "timeslices" => {
                let slice = match self.time_slice_window.as_deref() {
                    None => MINUTE,
                    Some(text) => match duration_parts(text) {
                        Some((count, 'm')) if count <= 60 => SignedDuration::from_mins(count),
                        Some((1, 'h')) => SLICE_MAX,
                        _ => {
                            return Err(invalid("time_slice_window", "a time slice is 1m to 60m"));
                        }
                    },
                };
                let target = self.time_slice_target.ok_or_else(|| {
                    invalid(
                        "time_slice_target",
                        "timeslices need a time_slice_target (the good share of a good slice)",
                    )
                })?;
                Budgeting::timeslices(slice, target)?
            }
            other => {
                return Err(invalid(
                    "budgeting_method",
                    format!("{other:?} is not occurrences or timeslices"),
                ));
            }
        };
        let objective = Objective::new(self.target, window, budgeting)?;
        if let Some(name) = &self.objective_display_name {
            Name::parse(name).map_err(|error| {
                invalid(
                    "objective_display_name",
                    format!("objective_display_name: {}", error.reason),
                )
            })?;
        }
        let burn_windows = self.burn_windows(objective.window.nominal())?;
        let indicator = self.indicator()?;
        let pull = self.pull.as_ref().map(PullDoc::parse).transpose()?;
        if pull.is_some() && !matches!(indicator, Some(Indicator::Ratio { .. })) {
            return Err(invalid(
                "pull",
                "pull: a pull queries a ratio indicator's good (or bad) and total series: \
                 give the SLO one",
            ));
        }
        Ok(SloDefinition {
            description,
            service,
            indicator,
            objective,
            burn_windows,
            pull,
        })
    }

    /// The alert windows the policies define (the defaults without any), each lookback
    /// within the window's nominal length.
    fn burn_windows(&self, nominal: SignedDuration) -> Result<Vec<BurnWindow>, ValidationError> {
        if self.alert_policies.is_empty() {
            return Ok(default_burn_windows(nominal));
        }
        let field = "alert_policies";
        let conditions: usize = self
            .alert_policies
            .iter()
            .map(|policy| policy.conditions.len())
            .sum();
        if conditions > ALERT_CONDITIONS_MAX {
            return Err(invalid(
                field,
                format!("alert_policies: at most {ALERT_CONDITIONS_MAX} conditions in all"),
            ));
        }
        let mut names = std::collections::BTreeSet::new();
        let mut windows = Vec::with_capacity(conditions);
        for policy in &self.alert_policies {
            let at = |what: &str, reason: String| {
                invalid(
                    field,
                    format!("alert_policies {}: {what}{reason}", policy.name),
                )
            };
            Slug::parse(&policy.name).map_err(|error| at("name: ", error.reason))?;
            check_labels(&policy.display_name, &policy.description)
                .map_err(|error| at("", error))?;
            if !names.insert(("policy", policy.name.as_str())) {
                return Err(at("", " is named twice".into()));
            }
            if policy.conditions.is_empty() {
                return Err(at("conditions: ", "a policy has at least one".into()));
            }
            for condition in &policy.conditions {
                let at = |reason: String| {
                    invalid(
                        field,
                        format!(
                            "alert_policies {} condition {}: {reason}",
                            policy.name, condition.name
                        ),
                    )
                };
                Slug::parse(&condition.name)
                    .map_err(|error| at(format!("name: {}", error.reason)))?;
                if !names.insert(("condition", condition.name.as_str())) {
                    return Err(at("is named twice".into()));
                }
                check_labels(&condition.display_name, &condition.description).map_err(at)?;
                windows.push(condition.window(nominal).map_err(at)?);
            }
        }
        Ok(windows)
    }
}

/// The most alert conditions an SLO has (the workbook's rule uses four).
pub const ALERT_CONDITIONS_MAX: usize = 16;

/// A display name (a [`Name`]) and a description (a [`Description`]), both optional.
fn check_labels(display_name: &Option<String>, description: &str) -> Result<(), String> {
    if let Some(name) = display_name {
        Name::parse(name).map_err(|error| format!("display_name: {}", error.reason))?;
    }
    Description::parse(description).map_err(|error| format!("description: {}", error.reason))?;
    Ok(())
}

/// A lookback `<n>m|h|d|w` in minutes, or `None`.
fn lookback(text: &str) -> Option<SignedDuration> {
    let minutes = match duration_parts(text)? {
        (count, 'm') => Some(count),
        (count, 'h') => count.checked_mul(60),
        (count, 'd') => count.checked_mul(1440),
        (count, 'w') => count.checked_mul(7 * 1440),
        _ => None,
    }?;
    (minutes <= ROLLING_MAX.as_mins()).then(|| SignedDuration::from_mins(minutes))
}

impl AlertConditionDoc {
    fn window(&self, nominal: SignedDuration) -> Result<BurnWindow, String> {
        let severity = match self.severity.as_str() {
            "page" => BurnSeverity::Page,
            "ticket" => BurnSeverity::Ticket,
            other => return Err(format!("severity {other:?} is not page or ticket")),
        };
        if !(self.burn_rate.is_finite() && self.burn_rate > 0.0) {
            return Err("burn_rate: a burn rate is a number above 0".into());
        }
        let within =
            |what: &str, text: &str| {
                lookback(text).filter(|span| *span <= nominal).ok_or_else(|| {
                format!(
                    "{what}: {text:?} is not <n>m, h, d or w within the SLO's window ({} min)",
                    nominal.as_mins()
                )
            })
            };
        let long = within("lookback_window", &self.lookback_window)?;
        let short = match &self.short_window {
            None => long,
            Some(text) => within("short_window", text)?,
        };
        if short > long {
            return Err("short_window: the short lookback is at most the long one".into());
        }
        Ok(BurnWindow {
            severity,
            long,
            short,
            factor: self.burn_rate,
        })
    }
}

const MINUTE: SignedDuration = SignedDuration::from_secs(60);

/// The length the default alert windows are written for.
pub const REFERENCE_WINDOW: SignedDuration = SignedDuration::from_hours(30 * 24);

/// The shortest and longest rolling window.
pub const ROLLING_MIN: SignedDuration = SignedDuration::from_hours(1);
pub const ROLLING_MAX: SignedDuration = SignedDuration::from_hours(400 * 24);

/// How far ahead exhaustion is projected (about a hundred years): further is never.
const EXHAUSTION_HORIZON_SECS: f64 = 100.0 * 365.0 * 86_400.0;

/// The longest time slice (slices are whole minutes; rollups are per minute).
pub const SLICE_MAX: SignedDuration = SignedDuration::from_hours(1);

/// The calendar period of a calendar-aligned window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CalendarUnit {
    Week,
    Month,
    Quarter,
    Year,
}

impl CalendarUnit {
    /// The first day of the period holding `date`.
    fn first_day(self, date: Date) -> Date {
        match self {
            CalendarUnit::Week => {
                let back = i64::from(date.weekday().to_monday_zero_offset());
                date.checked_sub(back.days()).unwrap_or(date)
            }
            CalendarUnit::Month => date.first_of_month(),
            CalendarUnit::Quarter => {
                let month = (date.month() - 1) / 3 * 3 + 1;
                Date::new(date.year(), month, 1).unwrap_or(date)
            }
            CalendarUnit::Year => date.first_of_year(),
        }
    }

    /// The first day of the period after the one starting on `first`.
    fn next_first_day(self, first: Date) -> Date {
        let span = match self {
            CalendarUnit::Week => 7.days(),
            CalendarUnit::Month => 1.month(),
            CalendarUnit::Quarter => 3.months(),
            CalendarUnit::Year => 1.year(),
        };
        first.checked_add(span).unwrap_or(first)
    }

    /// The nominal length alert windows are scaled by.
    fn nominal(self) -> SignedDuration {
        let days = match self {
            CalendarUnit::Week => 7,
            CalendarUnit::Month => 30,
            CalendarUnit::Quarter => 90,
            CalendarUnit::Year => 365,
        };
        SignedDuration::from_hours(days * 24)
    }
}

/// The time an SLO's budget is counted over.
#[derive(Clone, Debug, PartialEq)]
pub enum Window {
    /// The last `length` (whole minutes, [`ROLLING_MIN`] to [`ROLLING_MAX`]).
    Rolling(SignedDuration),
    /// The calendar period holding the instant, in `time_zone`.
    Calendar {
        unit: CalendarUnit,
        time_zone: TimeZone,
    },
}

impl Window {
    pub fn rolling(length: SignedDuration) -> Result<Self, ValidationError> {
        if length < ROLLING_MIN || length > ROLLING_MAX || length.as_secs() % 60 != 0 {
            return Err(ValidationError::new(
                "window",
                "a rolling window is whole minutes from 1 hour to 400 days",
            ));
        }
        Ok(Window::Rolling(length))
    }

    /// The length the alert windows are scaled by: a rolling window's own, a calendar
    /// period's usual (a week 7 days, a month 30, a quarter 90, a year 365).
    pub fn nominal(&self) -> SignedDuration {
        match self {
            Window::Rolling(length) => *length,
            Window::Calendar { unit, .. } => unit.nominal(),
        }
    }

    /// The window that counts at `at`, `[start, end)`: for a rolling window the
    /// `length` before `at` (`end` = `at`); for a calendar window the whole period
    /// holding `at` (data past `at` does not exist yet).
    pub fn period_at(&self, at: Timestamp) -> (Timestamp, Timestamp) {
        match self {
            Window::Rolling(length) => (at.checked_sub(*length).unwrap_or(Timestamp::MIN), at),
            Window::Calendar { unit, time_zone } => {
                let today = at.to_zoned(time_zone.clone()).date();
                let first = unit.first_day(today);
                let next = unit.next_first_day(first);
                (
                    start_of_day(time_zone, first),
                    start_of_day(time_zone, next),
                )
            }
        }
    }

    /// Where time slices are counted from: the period's start for a calendar window,
    /// the Unix epoch for a rolling one (so a slice does not change as it rolls).
    fn slice_anchor(&self, period_start: Timestamp) -> Timestamp {
        match self {
            Window::Rolling(_) => Timestamp::UNIX_EPOCH,
            Window::Calendar { .. } => period_start,
        }
    }
}

/// The first instant of `date` in `time_zone`: its midnight, or the first instant after
/// the gap when the clocks skip midnight.
pub fn start_of_day(time_zone: &TimeZone, date: Date) -> Timestamp {
    crate::sre::schedules::instant_of(time_zone, date.to_datetime(jiff::civil::Time::midnight()))
}

/// How the budget is counted.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Budgeting {
    /// Every event counts: bad events against `(1 − target) ×` all events.
    Occurrences,
    /// Slices of `slice` (whole minutes, up to an hour) are good when their good/total
    /// reaches `threshold`; bad slices against `(1 − target) ×` the window's slices.
    Timeslices {
        slice: SignedDuration,
        threshold: f64,
    },
}

impl Budgeting {
    pub fn timeslices(slice: SignedDuration, threshold: f64) -> Result<Self, ValidationError> {
        if slice < MINUTE || slice > SLICE_MAX || slice.as_secs() % 60 != 0 {
            return Err(ValidationError::new(
                "time_slice_window",
                "a time slice is whole minutes from 1 minute to 1 hour",
            ));
        }
        if !(threshold > 0.0 && threshold <= 1.0) {
            return Err(ValidationError::new(
                "time_slice_target",
                "a time slice target is a ratio above 0 and at most 1",
            ));
        }
        Ok(Budgeting::Timeslices { slice, threshold })
    }
}

/// The good and total count of one minute (`minute` is its first instant).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rollup {
    pub minute: Timestamp,
    pub good: f64,
    pub total: f64,
}

impl Rollup {
    /// A minute's counts: finite, not negative, and no more good than total events.
    pub fn new(minute: Timestamp, good: f64, total: f64) -> Result<Self, ValidationError> {
        if !good.is_finite() || !total.is_finite() || good < 0.0 || total < 0.0 {
            return Err(ValidationError::new(
                "counts",
                "counts are finite numbers, not negative",
            ));
        }
        if good > total {
            return Err(ValidationError::new(
                "counts",
                "a minute cannot have more good events than events",
            ));
        }
        if minute.as_second().rem_euclid(60) != 0 || minute.subsec_nanosecond() != 0 {
            return Err(ValidationError::new(
                "minute",
                "a rollup starts on a whole minute",
            ));
        }
        Ok(Rollup {
            minute,
            good,
            total,
        })
    }

    fn bad(&self) -> f64 {
        self.total - self.good
    }
}

/// Rollups in minute order, one per minute: what budgets and burn rates are computed
/// from. A window's or a lookback's minutes are found by binary search, so evaluating
/// an SLO costs what its lookbacks hold, not everything kept; the engine keeps one per
/// SLO between ticks and writes changed minutes into it ([`MinuteSeries::put`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MinuteSeries {
    rollups: Vec<Rollup>,
}

impl MinuteSeries {
    /// From rollups in any order; of two for the same minute, the later in `rollups`.
    pub fn new(mut rollups: Vec<Rollup>) -> Self {
        // A stable sort of the reversed list puts each minute's last rollup first.
        rollups.reverse();
        rollups.sort_by_key(|rollup| rollup.minute);
        rollups.dedup_by_key(|rollup| rollup.minute);
        MinuteSeries { rollups }
    }

    pub fn rollups(&self) -> &[Rollup] {
        &self.rollups
    }

    pub fn len(&self) -> usize {
        self.rollups.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rollups.is_empty()
    }

    /// The rollups of `[from, to)`.
    pub fn between(&self, from: Timestamp, to: Timestamp) -> &[Rollup] {
        let start = self.rollups.partition_point(|rollup| rollup.minute < from);
        let end = self.rollups.partition_point(|rollup| rollup.minute < to);
        self.rollups.get(start..end.max(start)).unwrap_or_default()
    }

    /// Puts `rollup` in, over what its minute held.
    pub fn put(&mut self, rollup: Rollup) {
        match self
            .rollups
            .binary_search_by_key(&rollup.minute, |held| held.minute)
        {
            Ok(index) => {
                if let Some(held) = self.rollups.get_mut(index) {
                    *held = rollup;
                }
            }
            Err(index) => self.rollups.insert(index, rollup),
        }
    }

    /// Forgets the minutes before `minute`.
    pub fn forget_before(&mut self, minute: Timestamp) {
        let old = self
            .rollups
            .partition_point(|rollup| rollup.minute < minute);
        self.rollups.drain(..old);
    }
}

/// An SLO's objective: a target ratio of good (0 < target < 1) over a window, counted
/// one way.
#[derive(Clone, Debug, PartialEq)]
pub struct Objective {
    pub target: f64,
    pub window: Window,
    pub budgeting: Budgeting,
}

/// Good and bad counted over some time: events, or slices with data.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Tally {
    pub good: f64,
    pub bad: f64,
}

impl Tally {
    fn error_ratio(self) -> Option<f64> {
        let all = self.good + self.bad;
        (all > 0.0).then(|| self.bad / all)
    }
}

/// The error budget of the window at an instant.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Budget {
    /// The window counted, `[start, end)`.
    pub start: Timestamp,
    pub end: Timestamp,
    /// Events, or slices with data.
    pub tally: Tally,
    /// How many bad events or slices the window allows.
    pub allowed: f64,
    /// Bad / allowed: 1 is exhausted, more is overspent. 0 while nothing is allowed
    /// yet and nothing went wrong; with nothing allowed and something bad, 1.
    pub consumed: f64,
}

impl Budget {
    /// 1 − consumed (negative when overspent).
    pub fn remaining(&self) -> f64 {
        1.0 - self.consumed
    }

    pub fn exhausted(&self) -> bool {
        self.consumed >= 1.0
    }
}

impl Objective {
    pub fn new(target: f64, window: Window, budgeting: Budgeting) -> Result<Self, ValidationError> {
        if !(target > 0.0 && target < 1.0) {
            return Err(ValidationError::new(
                "target",
                "a target is a ratio above 0 and below 1 (99.9 % is 0.999)",
            ));
        }
        Ok(Objective {
            target,
            window,
            budgeting,
        })
    }

    fn error_allowance(&self) -> f64 {
        1.0 - self.target
    }

    /// Good and bad over `[from, to)` of `minutes`, slices counted from `anchor`.
    fn tally(
        &self,
        minutes: &MinuteSeries,
        from: Timestamp,
        to: Timestamp,
        anchor: Timestamp,
    ) -> Tally {
        let within = minutes.between(from, to);
        match self.budgeting {
            Budgeting::Occurrences => within.iter().fold(Tally::default(), |tally, rollup| Tally {
                good: tally.good + rollup.good,
                bad: tally.bad + rollup.bad(),
            }),
            Budgeting::Timeslices { slice, threshold } => {
                let length = slice.as_secs().max(60);
                let mut tally = Tally::default();
                let mut count = |good: f64, total: f64| {
                    if total <= 0.0 {
                        return;
                    }
                    if good / total >= threshold {
                        tally.good += 1.0;
                    } else {
                        tally.bad += 1.0;
                    }
                };
                // Minutes come in order, so each slice's minutes are one run.
                let mut slice_sums: Option<(i64, f64, f64)> = None;
                for rollup in within {
                    let index = (rollup.minute.as_second() - anchor.as_second()).div_euclid(length);
                    slice_sums = match slice_sums {
                        Some((current, good, total)) if current == index => {
                            Some((index, good + rollup.good, total + rollup.total))
                        }
                        ended => {
                            if let Some((_, good, total)) = ended {
                                count(good, total);
                            }
                            Some((index, rollup.good, rollup.total))
                        }
                    };
                }
                if let Some((_, good, total)) = slice_sums {
                    count(good, total);
                }
                tally
            }
        }
    }

    /// The error budget at `at` from the window's minutes.
    pub fn budget(&self, minutes: &MinuteSeries, at: Timestamp) -> Budget {
        self.budget_by(at, |from, to, anchor| self.tally(minutes, from, to, anchor))
    }

    /// The error budget at `at`, `tally` counting `[from, to)` (slices from `anchor`).
    fn budget_by(
        &self,
        at: Timestamp,
        tally: impl Fn(Timestamp, Timestamp, Timestamp) -> Tally,
    ) -> Budget {
        let (start, end) = self.window.period_at(at);
        let anchor = self.window.slice_anchor(start);
        let tally = tally(start, end.min(at.max(start)), anchor);
        let allowed = match self.budgeting {
            Budgeting::Occurrences => self.error_allowance() * (tally.good + tally.bad),
            Budgeting::Timeslices { slice, .. } => {
                let slices = end.duration_since(start).as_secs_f64() / slice.as_secs_f64();
                self.error_allowance() * slices
            }
        };
        let consumed = if allowed > 0.0 {
            tally.bad / allowed
        } else if tally.bad > 0.0 {
            1.0
        } else {
            0.0
        };
        Budget {
            start,
            end,
            tally,
            allowed,
            consumed,
        }
    }

    /// The burn rate over the `lookback` before `at`: the error ratio there over the
    /// allowed one. `None` without data.
    pub fn burn_rate(
        &self,
        minutes: &MinuteSeries,
        lookback: SignedDuration,
        at: Timestamp,
    ) -> Option<f64> {
        let from = at - lookback;
        let (start, _) = self.window.period_at(at);
        let anchor = self.window.slice_anchor(start);
        self.tally(minutes, from, at, anchor)
            .error_ratio()
            .map(|ratio| ratio / self.error_allowance())
    }

    /// When the budget runs out if it keeps burning at `burn_rate` from `at` (a burn
    /// rate of 1 spends a whole budget in the window's nominal length). `None` when
    /// nothing burns; `at` when it is spent already.
    pub fn exhaustion_at(
        &self,
        budget: &Budget,
        burn_rate: f64,
        at: Timestamp,
    ) -> Option<Timestamp> {
        if budget.exhausted() {
            return Some(at);
        }
        if !(burn_rate > 0.0 && burn_rate.is_finite()) {
            return None;
        }
        // To the second: it is a projection.
        let seconds =
            (budget.remaining() * self.window.nominal().as_secs_f64() / burn_rate).round();
        if !(seconds.is_finite() && seconds < EXHAUSTION_HORIZON_SECS) {
            return None;
        }
        at.checked_add(SignedDuration::from_secs(seconds as i64))
            .ok()
    }

    /// Which alert windows fire at `at`, with their burn rates.
    pub fn evaluate(
        &self,
        windows: &[BurnWindow],
        minutes: &MinuteSeries,
        at: Timestamp,
    ) -> Vec<Burn> {
        windows
            .iter()
            .map(|window| {
                let long = self.burn_rate(minutes, window.long, at);
                let short = self.burn_rate(minutes, window.short, at);
                let firing = long.is_some_and(|rate| rate >= window.factor)
                    && short.is_some_and(|rate| rate >= window.factor);
                Burn {
                    window: *window,
                    long,
                    short,
                    firing,
                }
            })
            .collect()
    }
}

/// The most intervals one history holds (a day by the minute, a year by the 6 hours).
pub const HISTORY_POINTS_MAX: i64 = 1440;

/// How many intervals a history has when no step is asked for.
const HISTORY_POINTS_DEFAULT: i64 = 240;

/// The intervals of an SLO's history, as for a chart: `step` long, the last ending at
/// `to`, as many as fit after `from`. Instants are whole minutes (rollups are).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HistoryRange {
    pub from: Timestamp,
    pub to: Timestamp,
    pub step: SignedDuration,
}

/// `at` floored to its minute (before 1970 too, where its seconds count down).
pub fn floor_to_minute(at: Timestamp) -> Timestamp {
    let second = at.as_second() - i64::from(at.subsec_nanosecond() < 0);
    Timestamp::from_second(second.div_euclid(60) * 60).unwrap_or(at)
}

impl HistoryRange {
    /// The range asked for, each part defaulted: `to` now, `from` one nominal window
    /// before `to`, `step` (`<n>m|h|d|w`) the shortest whole minutes that cut the range
    /// into at most 240 intervals. A range is at most 400 days (what is kept) and holds
    /// 1 to [`HISTORY_POINTS_MAX`] intervals.
    pub fn new(
        window: &Window,
        now: Timestamp,
        from: Option<Timestamp>,
        to: Option<Timestamp>,
        step: Option<&str>,
    ) -> Result<Self, ValidationError> {
        let to = floor_to_minute(to.unwrap_or(now));
        let from = match from {
            Some(from) => floor_to_minute(from),
            None => to
                .checked_sub(window.nominal())
                .map_err(|_| invalid("range", "`to` is too early"))?,
        };
        if to <= from {
            return Err(invalid("range", "`to` must be after `from`"));
        }
        let span = to.duration_since(from);
        if span > ROLLING_MAX {
            return Err(invalid(
                "range",
                "a history covers at most 400 days (what is kept)",
            ));
        }
        let step = match step {
            Some(text) => lookback(text).ok_or_else(|| {
                invalid("step", "a step is a whole number of m, h, d or w (5m, 1h)")
            })?,
            None => {
                let minutes = span.as_mins();
                SignedDuration::from_mins(
                    ((minutes + HISTORY_POINTS_DEFAULT - 1) / HISTORY_POINTS_DEFAULT).max(1),
                )
            }
        };
        if step > span {
            return Err(invalid(
                "step",
                "the step is longer than the range: no interval fits",
            ));
        }
        let count = span.as_mins() / step.as_mins().max(1);
        if count > HISTORY_POINTS_MAX {
            return Err(invalid(
                "step",
                format!(
                    "the step cuts the range into {count} intervals; at most \
                     {HISTORY_POINTS_MAX}: take a longer step"
                ),
            ));
        }
        Ok(HistoryRange { from, to, step })
    }

    /// The intervals' ends, in time order.
    pub fn ends(&self) -> impl Iterator<Item = Timestamp> + '_ {
        let count = self.to.duration_since(self.from).as_mins() / self.step.as_mins().max(1);
        (0..count)
            .rev()
            .filter_map(move |back| self.to.checked_sub(self.step * back as i32).ok())
    }
}

/// Good and bad events of a series' minutes summed from the first: the events of any
/// range are two lookups.
struct RunningSums {
    /// `(good, bad)` of the rollups before each index (one more than the rollups).
    before: Vec<(f64, f64)>,
}

impl RunningSums {
    fn new(minutes: &MinuteSeries) -> Self {
        let mut before = Vec::with_capacity(minutes.len() + 1);
        let mut sums = (0.0, 0.0);
        before.push(sums);
        for rollup in minutes.rollups() {
            sums = (sums.0 + rollup.good, sums.1 + rollup.bad());
            before.push(sums);
        }
        RunningSums { before }
    }

    /// The events of `[from, to)` of `minutes` (the series these sums are of).
    fn tally(&self, minutes: &MinuteSeries, from: Timestamp, to: Timestamp) -> Tally {
        let rollups = minutes.rollups();
        let first = rollups.partition_point(|rollup| rollup.minute < from);
        let last = rollups
            .partition_point(|rollup| rollup.minute < to)
            .max(first);
        match (self.before.get(first), self.before.get(last)) {
            (Some(start), Some(end)) => Tally {
                good: end.0 - start.0,
                bad: end.1 - start.1,
            },
            _ => Tally::default(),
        }
    }
}

/// One interval of an SLO's history: its events, its burn rate, and the error budget at
/// its end.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HistoryPoint {
    /// `[start, end)`.
    pub start: Timestamp,
    pub end: Timestamp,
    /// Good and all events in the interval, whatever the budgeting method.
    pub good: f64,
    pub total: f64,
    /// The burn rate over the interval as an alert window would count it; `None`
    /// without data.
    pub burn_rate: Option<f64>,
    /// The window's budget at `end`.
    pub budget: Budget,
}

impl Objective {
    /// The history of `range` from `minutes` (those from [`Objective::history_needs_from`]).
    /// Events are summed from running totals, so a point costs two binary searches
    /// whatever the window; only timeslices budgets count their window's slices at each
    /// point.
    pub fn history(&self, minutes: &MinuteSeries, range: &HistoryRange) -> Vec<HistoryPoint> {
        let sums = RunningSums::new(minutes);
        let tally = |from, to, anchor| match self.budgeting {
            Budgeting::Occurrences => sums.tally(minutes, from, to),
            Budgeting::Timeslices { .. } => self.tally(minutes, from, to, anchor),
        };
        range
            .ends()
            .map(|end| {
                let start = end - range.step;
                let events = sums.tally(minutes, start, end);
                HistoryPoint {
                    start,
                    end,
                    good: events.good,
                    total: events.good + events.bad,
                    burn_rate: self.burn_rate(minutes, range.step, end),
                    budget: self.budget_by(end, tally),
                }
            })
            .collect()
    }

    /// The first minute [`Objective::history`] of `range` looks at: its first interval's
    /// start or the window's start at its first end, whichever is earlier.
    pub fn history_needs_from(&self, range: &HistoryRange) -> Timestamp {
        let first_end = range.ends().next().unwrap_or(range.to);
        let (window_start, _) = self.window.period_at(first_end);
        window_start.min(first_end - range.step)
    }
}

/// How urgent an alert window's alert is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BurnSeverity {
    /// Wake someone: the budget goes in hours.
    Page,
    /// Look at it in working hours: it goes in days.
    Ticket,
}

/// One pair of lookbacks and the burn rate both must reach.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BurnWindow {
    pub severity: BurnSeverity,
    pub long: SignedDuration,
    pub short: SignedDuration,
    pub factor: f64,
}

/// An alert window's state at an instant.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Burn {
    pub window: BurnWindow,
    pub long: Option<f64>,
    pub short: Option<f64>,
    pub firing: bool,
}

/// `lookback` of a 30-day window scaled to a window of `nominal`, in whole minutes (at
/// least one).
pub fn scale_lookback(lookback: SignedDuration, nominal: SignedDuration) -> SignedDuration {
    let seconds = lookback.as_secs_f64() * nominal.as_secs_f64() / REFERENCE_WINDOW.as_secs_f64();
    let minutes = (seconds / 60.0).round().max(1.0);
    SignedDuration::from_secs((minutes as i64).saturating_mul(60))
}

/// The workbook's four alert windows, scaled to a window of `nominal`.
pub fn default_burn_windows(nominal: SignedDuration) -> Vec<BurnWindow> {
    [
        (BurnSeverity::Page, 1, 5, 14.4),
        (BurnSeverity::Page, 6, 30, 6.0),
        (BurnSeverity::Ticket, 24, 120, 3.0),
        (BurnSeverity::Ticket, 72, 360, 1.0),
    ]
    .into_iter()
    .map(|(severity, long_hours, short_minutes, factor)| BurnWindow {
        severity,
        long: scale_lookback(SignedDuration::from_hours(long_hours), nominal),
        short: scale_lookback(SignedDuration::from_mins(short_minutes), nominal),
        factor,
    })
    .collect()
}

/// How much a counter grew over `values` (in time order), a reset (a value below the
/// one before) counting the new value as growth from zero — Prometheus' `increase`
/// without its extrapolation to the range's edges. Non-finite values are skipped.
pub fn counter_increase(values: &[f64]) -> f64 {
    let mut finite = values.iter().copied().filter(|value| value.is_finite());
    let Some(mut last) = finite.next() else {
        return 0.0;
    };
    let mut increase = 0.0;
    for value in finite {
        increase += counter_step(last, value);
        last = value;
    }
    increase
}

/// A sample of a series: milliseconds since the Unix epoch (as Prometheus sends them)
/// and the value. The last one taken of each series is kept between writes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SeriesSample {
    pub at_ms: i64,
    pub value: f64,
}

impl SeriesSample {
    /// The first instant of the minute holding the sample.
    pub fn minute(&self) -> Option<Timestamp> {
        Timestamp::from_second(self.at_ms.div_euclid(60_000) * 60).ok()
    }
}

/// What samples add to one minute of an SLO (`good` may be negative: a bad event of a
/// bad/total SLO takes one good away from its minute's total).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MinuteDelta {
    pub minute: Timestamp,
    pub good: f64,
    pub total: f64,
}

/// The result of [`series_deltas`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SeriesFold {
    pub deltas: Vec<MinuteDelta>,
    /// The sample to keep for the next write (the last one taken).
    pub last: Option<SeriesSample>,
    /// Samples at or before the last one taken (a retried or reordered write): skipped,
    /// so sending a write twice counts it once.
    pub stale: u64,
    /// Samples that cannot be counted: a count below zero (a ratio of non-counters).
    pub invalid: u64,
}

/// What one series' samples (finite, in time order) add to its SLO's minutes, given the
/// sample kept from earlier writes. A counter's sample adds its increase since the one
/// before (a reset — a lower value — adds the new value, as Prometheus' `increase`
/// does), to the minute of the later sample; a counter's first sample is only its
/// baseline. A non-counter's sample adds its value. A threshold metric's sample is one
/// event, good when it meets the threshold.
pub fn series_deltas(
    indicator: &Indicator,
    role: SeriesRole,
    kept: Option<SeriesSample>,
    samples: &[SeriesSample],
) -> SeriesFold {
    let mut fold = SeriesFold {
        last: kept,
        ..SeriesFold::default()
    };
    for sample in samples {
        if fold.last.is_some_and(|last| sample.at_ms <= last.at_ms) {
            fold.stale += 1;
            continue;
        }
        let previous = fold.last.replace(*sample);
        let (good, total) = match indicator {
            Indicator::Threshold { op, value, .. } => {
                (f64::from(u8::from(op.good(sample.value, *value))), 1.0)
            }
            Indicator::Ratio { counter, part, .. } => {
                let amount = if *counter {
                    match previous {
                        None => continue,
                        Some(previous) => counter_step(previous.value, sample.value),
                    }
                } else {
                    sample.value
                };
                if amount < 0.0 {
                    fold.invalid += 1;
                    continue;
                }
                match (role, part.0) {
                    (SeriesRole::Good, _) => (amount, 0.0),
                    (SeriesRole::Bad, _) => (-amount, 0.0),
                    (_, SeriesRole::Bad) => (amount, amount),
                    _ => (0.0, amount),
                }
            }
        };
        if (good, total) == (0.0, 0.0) {
            continue;
        }
        let Some(minute) = sample.minute() else {
            fold.invalid += 1;
            continue;
        };
        match fold.deltas.last_mut() {
            Some(delta) if delta.minute == minute => {
                delta.good += good;
                delta.total += total;
            }
            _ => fold.deltas.push(MinuteDelta {
                minute,
                good,
                total,
            }),
        }
    }
    fold
}

/// A counter's growth from `before` to `after`: a reset (a lower value) is growth from
/// zero.
fn counter_step(before: f64, after: f64) -> f64 {
    if after >= before {
        after - before
    } else {
        after
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn mins(minutes: i64) -> SignedDuration {
        SignedDuration::from_mins(minutes)
    }

    fn hours(hours: i64) -> SignedDuration {
        SignedDuration::from_hours(hours)
    }

    /// `count` minutes of rollups ending just before `end`, each with `total` events of
    /// which `bad(minute index)` are bad.
    fn minutes(end: Timestamp, count: i64, total: f64, bad: impl Fn(i64) -> f64) -> Vec<Rollup> {
        (0..count)
            .map(|index| {
                let minute = end - mins(count - index);
                Rollup::new(minute, total - bad(index), total).unwrap()
            })
            .collect()
    }

    fn series(rollups: &[Rollup]) -> MinuteSeries {
        MinuteSeries::new(rollups.to_vec())
    }

    fn rolling_days(days: i64, target: f64, budgeting: Budgeting) -> Objective {
        Objective::new(
            target,
            Window::rolling(hours(days * 24)).unwrap(),
            budgeting,
        )
        .unwrap()
    }

    #[test]
    fn alert_windows_scale_with_the_slo_window() {
        // (window, [(long, short)] of page 14.4, page 6, ticket 3, ticket 1)
        let cases: [(i64, [(i64, i64); 4]); 4] = [
            (30, [(60, 5), (360, 30), (1440, 120), (4320, 360)]),
            (28, [(56, 5), (336, 28), (1344, 112), (4032, 336)]),
            (7, [(14, 1), (84, 7), (336, 28), (1008, 84)]),
            (90, [(180, 15), (1080, 90), (4320, 360), (12960, 1080)]),
        ];
        for (days, expected) in cases {
            let windows = default_burn_windows(hours(days * 24));
            let got: Vec<(i64, i64)> = windows
                .iter()
                .map(|w| (w.long.as_mins(), w.short.as_mins()))
                .collect();
            assert_eq!(got, expected, "{days} days");
            let factors: Vec<f64> = windows.iter().map(|w| w.factor).collect();
            assert_eq!(factors, [14.4, 6.0, 3.0, 1.0]);
            assert_eq!(windows[0].severity, BurnSeverity::Page);
            assert_eq!(windows[3].severity, BurnSeverity::Ticket);
        }
        // Never below a minute, however short the window.
        assert_eq!(scale_lookback(mins(5), hours(1)).as_mins(), 1);
    }

    #[test]
    fn occurrences_count_events() {
        let now = at("2026-11-10T12:00:00Z");
        let slo = rolling_days(30, 0.999, Budgeting::Occurrences);
        // 100 minutes of 1 000 events; 50 bad in all (in the last 10 minutes).
        let rollups = minutes(now, 100, 1000.0, |i| if i >= 90 { 5.0 } else { 0.0 });
        let budget = slo.budget(&series(&rollups), now);
        assert_eq!(
            budget.tally,
            Tally {
                good: 99_950.0,
                bad: 50.0
            }
        );
        assert!((budget.allowed - 100.0).abs() < 1e-9, "{budget:?}");
        assert!((budget.consumed - 0.5).abs() < 1e-9, "{budget:?}");
        assert!((budget.remaining() - 0.5).abs() < 1e-9);
        assert!(!budget.exhausted());
        // Burn over the last 10 minutes: 0.5 % errors over 0.1 % allowed.
        let burn = slo.burn_rate(&series(&rollups), mins(10), now).unwrap();
        assert!((burn - 5.0).abs() < 1e-9, "{burn}");
        // Over the last hour: 50 of 60 000.
        let burn = slo.burn_rate(&series(&rollups), hours(1), now).unwrap();
        assert!((burn - 50.0 / 60_000.0 / 0.001).abs() < 1e-9, "{burn}");
        // Rollups outside the window do not count.
        let old = Rollup::new(now - hours(31 * 24), 0.0, 1_000_000.0).unwrap();
        let mut with_old = rollups.clone();
        with_old.push(old);
        assert_eq!(slo.budget(&series(&with_old), now), budget);
    }

    #[test]
    fn timeslices_count_slices_against_the_whole_window() {
        let now = at("2026-11-10T12:00:00Z");
        let one_minute = Budgeting::timeslices(mins(1), 0.95).unwrap();
        let slo = rolling_days(30, 0.999, one_minute);
        // 10 bad minutes (10 % errors), the rest good; a minute of 96 % good is good.
        let rollups = minutes(now, 600, 100.0, |i| match i {
            0..10 => 10.0,
            10..20 => 4.0,
            _ => 0.0,
        });
        let budget = slo.budget(&series(&rollups), now);
        assert_eq!(
            budget.tally,
            Tally {
                good: 590.0,
                bad: 10.0
            }
        );
        // 30 days of minutes at 0.1 %: 43.2 bad minutes allowed.
        assert!((budget.allowed - 43.2).abs() < 1e-9, "{budget:?}");
        assert!((budget.consumed - 10.0 / 43.2).abs() < 1e-9, "{budget:?}");
        // Five-minute slices, counted from the epoch: minutes 0..10 are two bad slices.
        let five = rolling_days(30, 0.999, Budgeting::timeslices(mins(5), 0.95).unwrap());
        let budget = five.budget(&series(&rollups), now);
        assert_eq!(
            budget.tally,
            Tally {
                good: 118.0,
                bad: 2.0
            }
        );
        assert!((budget.allowed - 8.64).abs() < 1e-9, "{budget:?}");
    }

    #[test]
    fn a_series_keeps_one_rollup_per_minute_in_order() {
        let now = at("2026-11-10T12:00:00Z");
        let rollup = |back: i64, good: f64| Rollup::new(now - mins(back), good, 10.0).unwrap();
        let mut kept = MinuteSeries::new(vec![rollup(1, 1.0), rollup(3, 3.0), rollup(1, 9.0)]);
        // The later of two rollups for one minute wins.
        assert_eq!(kept.rollups(), [rollup(3, 3.0), rollup(1, 9.0)]);
        kept.put(rollup(2, 2.0));
        kept.put(rollup(3, 4.0));
        kept.put(rollup(0, 5.0));
        assert_eq!(
            kept.rollups(),
            [
                rollup(3, 4.0),
                rollup(2, 2.0),
                rollup(1, 9.0),
                rollup(0, 5.0)
            ]
        );
        assert_eq!(
            kept.between(now - mins(2), now),
            [rollup(2, 2.0), rollup(1, 9.0)]
        );
        assert!(kept.between(now, now - mins(2)).is_empty());
        kept.forget_before(now - mins(1));
        assert_eq!(kept.rollups(), [rollup(1, 9.0), rollup(0, 5.0)]);
    }

    /// The tally as first written — every rollup filtered, slices gathered in a map —
    /// against which the ordered one is checked.
    /// A small linear congruential generator from `seed`: a number below its argument
    /// at each call — many cases, the same every run.
    fn generator(seed: u64) -> impl FnMut(u64) -> u64 {
        let mut state = seed;
        move |below| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) % below
        }
    }

    fn tally_by_map(
        objective: &Objective,
        rollups: &[Rollup],
        from: Timestamp,
        to: Timestamp,
        anchor: Timestamp,
    ) -> Tally {
        let within = rollups
            .iter()
            .filter(|rollup| rollup.minute >= from && rollup.minute < to);
        match objective.budgeting {
            Budgeting::Occurrences => within.fold(Tally::default(), |tally, rollup| Tally {
                good: tally.good + rollup.good,
                bad: tally.bad + rollup.bad(),
            }),
            Budgeting::Timeslices { slice, threshold } => {
                let mut slices = std::collections::BTreeMap::<i64, (f64, f64)>::new();
                for rollup in within {
                    let index = (rollup.minute.as_second() - anchor.as_second())
                        .div_euclid(slice.as_secs());
                    let entry = slices.entry(index).or_default();
                    entry.0 += rollup.good;
                    entry.1 += rollup.total;
                }
                let mut tally = Tally::default();
                for (good, total) in slices.into_values().filter(|(_, total)| *total > 0.0) {
                    if good / total >= threshold {
                        tally.good += 1.0;
                    } else {
                        tally.bad += 1.0;
                    }
                }
                tally
            }
        }
    }

    #[test]
    fn ordered_tallies_match_the_filtered_ones() {
        let mut next = generator(0x5eed);
        let now = at("2026-11-10T12:07:00Z");
        for case in 0..400 {
            let budgeting = match next(4) {
                0 => Budgeting::Occurrences,
                _ => Budgeting::timeslices(mins(1 + next(60) as i64), 0.9).unwrap(),
            };
            let window = if next(3) == 0 {
                Window::Calendar {
                    unit: CalendarUnit::Week,
                    time_zone: TimeZone::get("Asia/Kolkata").unwrap(),
                }
            } else {
                Window::rolling(hours(1 + next(72) as i64)).unwrap()
            };
            let objective = Objective::new(0.99, window, budgeting).unwrap();
            // Sparse minutes over four days and a bit past `now`, some empty, some all
            // bad; ranges anywhere over them, some empty, some reaching past the data.
            let rollups: Vec<Rollup> = (0..next(3000))
                .map(|_| {
                    let total = next(5) as f64 * 10.0;
                    let good = (total - next(12) as f64).max(0.0);
                    let minute = now - mins(next(4 * 1440) as i64) + mins(30);
                    Rollup::new(minute, good, total).unwrap()
                })
                .collect();
            let kept = MinuteSeries::new(rollups);
            let (start, _) = objective.window.period_at(now);
            let anchor = objective.window.slice_anchor(start);
            for _ in 0..8 {
                let from = now - mins(next(5 * 1440) as i64) + mins(next(3) as i64 * 20);
                let to = from + mins(next(3 * 1440) as i64);
                assert_eq!(
                    objective.tally(&kept, from, to, anchor),
                    tally_by_map(&objective, kept.rollups(), from, to, anchor),
                    "case {case}, [{from}, {to})"
                );
            }
        }
    }

    /// A history's points, counted from running totals, against the budget and the
    /// events tallied afresh at each point by the map-based tally (the independent one
    /// above) over generated data and ranges.
    #[test]
    fn history_points_match_budgets_counted_afresh() {
        let mut next = generator(0x415_7041);
        let now = at("2026-11-10T12:07:00Z");
        for case in 0..150 {
            let budgeting = match next(3) {
                0 => Budgeting::timeslices(mins(1 + next(30) as i64), 0.9).unwrap(),
                _ => Budgeting::Occurrences,
            };
            let window = if next(3) == 0 {
                Window::Calendar {
                    unit: CalendarUnit::Week,
                    time_zone: TimeZone::get("America/St_Johns").unwrap(),
                }
            } else {
                Window::rolling(hours(1 + next(48) as i64)).unwrap()
            };
            let objective = Objective::new(0.995, window, budgeting).unwrap();
            let rollups: Vec<Rollup> = (0..next(2000))
                .map(|_| {
                    let total = next(6) as f64 * 7.0;
                    let good = (total - next(9) as f64).max(0.0);
                    Rollup::new(now - mins(next(10 * 1440) as i64), good, total).unwrap()
                })
                .collect();
            let kept = MinuteSeries::new(rollups);
            let from = now - mins(next(3 * 1440) as i64 + 1);
            let step = format!("{}m", 1 + next(240));
            let Ok(range) =
                HistoryRange::new(&objective.window, now, Some(from), None, Some(&step))
            else {
                continue;
            };
            for point in objective.history(&kept, &range) {
                let budget = objective.budget(&kept, point.end);
                let (start, _) = objective.window.period_at(point.end);
                let anchor = objective.window.slice_anchor(start);
                let afresh = tally_by_map(
                    &objective,
                    kept.rollups(),
                    start,
                    budget.end.min(point.end.max(start)),
                    anchor,
                );
                assert_eq!(point.budget, budget, "case {case} at {}", point.end);
                assert_eq!(point.budget.tally, afresh, "case {case} at {}", point.end);
                let events =
                    Objective::new(0.995, objective.window.clone(), Budgeting::Occurrences)
                        .unwrap()
                        .tally(&kept, point.start, point.end, Timestamp::UNIX_EPOCH);
                assert_eq!(
                    (point.good, point.total),
                    (events.good, events.good + events.bad),
                    "case {case} at {}",
                    point.end
                );
            }
        }
    }

    #[test]
    fn missing_data_is_neither_good_nor_bad() {
        let now = at("2026-11-10T12:00:00Z");
        let slices = rolling_days(28, 0.99, Budgeting::timeslices(mins(1), 0.9).unwrap());
        let events = rolling_days(28, 0.99, Budgeting::Occurrences);
        for slo in [&slices, &events] {
            assert_eq!(slo.burn_rate(&series(&[]), hours(1), now), None);
            let budget = slo.budget(&series(&[]), now);
            assert_eq!(budget.tally, Tally::default());
            assert_eq!(budget.consumed, 0.0);
            // Minutes with no events are no data either.
            let quiet = minutes(now, 60, 0.0, |_| 0.0);
            assert_eq!(slo.burn_rate(&series(&quiet), hours(1), now), None);
            assert!(
                slo.evaluate(&default_burn_windows(hours(28 * 24)), &series(&quiet), now)
                    .iter()
                    .all(|burn| !burn.firing)
            );
        }
        // With nothing allowed yet (no events) an error still spends the budget.
        let one_bad = [Rollup::new(now - mins(1), 0.0, 1.0).unwrap()];
        let budget = events.budget(&series(&one_bad), now);
        assert!((budget.consumed - 100.0).abs() < 1e-9, "{budget:?}");
    }

    #[test]
    fn a_fast_burn_pages_and_stops_when_the_errors_stop() {
        let now = at("2026-11-10T12:00:00Z");
        let slo = rolling_days(30, 0.999, Budgeting::Occurrences);
        let windows = default_burn_windows(slo.window.nominal());
        // Two hours at 2 % errors: 20× the allowed rate.
        let burning = minutes(now, 120, 1000.0, |_| 20.0);
        let burns = slo.evaluate(&windows, &series(&burning), now);
        let firing: Vec<(BurnSeverity, f64)> = burns
            .iter()
            .filter(|burn| burn.firing)
            .map(|burn| (burn.window.severity, burn.window.factor))
            .collect();
        // Both page windows (14.4×, 6×), and the ticket windows too: their long
        // lookbacks hold only these two hours of data, all burning at 20×.
        assert_eq!(
            firing,
            [
                (BurnSeverity::Page, 14.4),
                (BurnSeverity::Page, 6.0),
                (BurnSeverity::Ticket, 3.0),
                (BurnSeverity::Ticket, 1.0)
            ]
        );
        // The errors stopped ten minutes ago: the 5-minute lookback is clean, so the
        // fast page stops at once though its hour still burns.
        let mut recovered = burning.clone();
        for rollup in recovered.iter_mut().rev().take(10) {
            rollup.good = rollup.total;
        }
        let burns = slo.evaluate(&windows, &series(&recovered), now);
        assert!(!burns[0].firing, "{:?}", burns[0]);
        assert!(burns[0].long.unwrap() >= 14.4, "{:?}", burns[0]);
        assert_eq!(burns[0].short, Some(0.0));
        // A slow burn (2×) pages nobody but makes a ticket.
        let slow = minutes(now, 3 * 24 * 60, 1000.0, |_| 2.0);
        let burns = slo.evaluate(&windows, &series(&slow), now);
        let firing: Vec<f64> = burns
            .iter()
            .filter(|burn| burn.firing)
            .map(|burn| burn.window.factor)
            .collect();
        assert_eq!(firing, [1.0]);
    }

    #[test]
    fn exhaustion_is_projected_from_the_burn_rate() {
        let now = at("2026-11-10T12:00:00Z");
        let slo = rolling_days(30, 0.999, Budgeting::Occurrences);
        let rollups = minutes(now, 100, 1000.0, |i| if i >= 90 { 5.0 } else { 0.0 });
        let budget = slo.budget(&series(&rollups), now);
        // Half the budget left; at 1× a whole budget lasts 30 days, so half lasts 15.
        assert_eq!(
            slo.exhaustion_at(&budget, 1.0, now),
            Some(now + hours(15 * 24))
        );
        assert_eq!(slo.exhaustion_at(&budget, 10.0, now), Some(now + hours(36)));
        assert_eq!(slo.exhaustion_at(&budget, 0.0, now), None);
        assert_eq!(slo.exhaustion_at(&budget, f64::NAN, now), None);
        let spent = Budget {
            consumed: 1.2,
            ..budget
        };
        assert_eq!(slo.exhaustion_at(&spent, 0.0, now), Some(now));
    }

    #[test]
    fn a_history_cuts_its_range_into_steps_ending_at_to() {
        let now = at("2026-11-10T12:00:30Z");
        let slo = rolling_days(30, 0.999, Budgeting::Occurrences);
        // 06:00 to 12:00, 1 000 events a minute; 10 a minute bad from 09:00 to 10:00.
        let rollups = minutes(at("2026-11-10T12:00:00Z"), 360, 1000.0, |i| {
            if (180..240).contains(&i) { 10.0 } else { 0.0 }
        });
        let data = series(&rollups);
        let range = HistoryRange::new(
            &slo.window,
            now,
            Some(at("2026-11-10T05:00:00Z")),
            None,
            Some("1h"),
        )
        .unwrap();
        assert_eq!(
            range.to,
            at("2026-11-10T12:00:00Z"),
            "floored to the minute"
        );
        let points = slo.history(&data, &range);
        let ends: Vec<String> = points.iter().map(|p| p.end.to_string()).collect();
        assert_eq!(
            ends,
            [
                "2026-11-10T06:00:00Z",
                "2026-11-10T07:00:00Z",
                "2026-11-10T08:00:00Z",
                "2026-11-10T09:00:00Z",
                "2026-11-10T10:00:00Z",
                "2026-11-10T11:00:00Z",
                "2026-11-10T12:00:00Z"
            ]
        );
        // Before the data: nothing, no burn rate, nothing spent.
        assert_eq!((points[0].good, points[0].total), (0.0, 0.0));
        assert_eq!(points[0].burn_rate, None);
        assert_eq!(points[0].budget.consumed, 0.0);
        assert_eq!(points[0].start, at("2026-11-10T05:00:00Z"));
        // A clean hour burns nothing.
        assert_eq!((points[1].good, points[1].total), (60_000.0, 60_000.0));
        assert_eq!(points[1].burn_rate, Some(0.0));
        // The bad hour: 1 % errors against 0.1 % allowed; by its end 600 bad of the
        // 240 allowed by 240 000 events.
        assert_eq!((points[4].good, points[4].total), (59_400.0, 60_000.0));
        assert!((points[4].burn_rate.unwrap() - 10.0).abs() < 1e-9);
        assert!(
            (points[4].budget.consumed - 2.5).abs() < 1e-9,
            "{:?}",
            points[4]
        );
        // Afterwards the budget grows with the events: 600 of 360 allowed.
        assert!((points[6].budget.consumed - 600.0 / 360.0).abs() < 1e-9);
        assert_eq!(points[6].burn_rate, Some(0.0));
        // The history needs the window from the first interval's end back.
        assert_eq!(
            slo.history_needs_from(&range),
            at("2026-11-10T06:00:00Z") - hours(30 * 24)
        );

        // A range that is not whole steps starts after `from`.
        let range = HistoryRange::new(
            &slo.window,
            now,
            Some(at("2026-11-10T06:30:00Z")),
            Some(at("2026-11-10T12:00:00Z")),
            Some("60m"),
        )
        .unwrap();
        let points = slo.history(&data, &range);
        assert_eq!(points.len(), 5);
        assert_eq!(points[0].start, at("2026-11-10T07:00:00Z"));

        // Defaults: the window's length before now, in 240 intervals.
        let range = HistoryRange::new(&slo.window, now, None, None, None).unwrap();
        assert_eq!(range.from, at("2026-10-11T12:00:00Z"));
        assert_eq!(range.step, mins(180));
        assert_eq!(range.ends().count(), 240);
        // A short range gets one-minute steps.
        let range = HistoryRange::new(&slo.window, now, Some(now - mins(90)), None, None).unwrap();
        assert_eq!((range.step, range.ends().count()), (mins(1), 90));
    }

    #[test]
    fn a_history_of_a_calendar_window_starts_each_period_afresh() {
        let month = Objective::new(
            0.99,
            Window::Calendar {
                unit: CalendarUnit::Month,
                time_zone: TimeZone::UTC,
            },
            Budgeting::Occurrences,
        )
        .unwrap();
        // 100 events a minute from 22:00 on 31 October to 02:00, all bad before midnight.
        let midnight = at("2026-11-01T00:00:00Z");
        let mut rollups = minutes(midnight, 120, 100.0, |_| 100.0);
        rollups.extend(minutes(midnight + hours(2), 120, 100.0, |_| 0.0));
        let range = HistoryRange::new(
            &month.window,
            midnight + hours(2),
            Some(midnight - hours(2)),
            None,
            Some("1h"),
        )
        .unwrap();
        let points = month.history(&series(&rollups), &range);
        let consumed: Vec<i64> = points
            .iter()
            .map(|p| (p.budget.consumed * 1e6).round() as i64)
            .collect();
        // October's budget is overspent 100× by 23:00; November's, from its first
        // instant on, is clean.
        assert_eq!(consumed, [100_000_000, 0, 0, 0]);
        assert_eq!(points[0].budget.start, at("2026-10-01T00:00:00Z"));
        assert_eq!(points[1].budget.start, midnight);
        assert!((points[1].burn_rate.unwrap() - 100.0).abs() < 1e-9);
        assert_eq!(month.history_needs_from(&range), at("2026-10-01T00:00:00Z"));
    }

    #[test]
    fn history_ranges_outside_the_limits_are_refused() {
        let now = at("2026-11-10T12:00:00Z");
        let window = Window::rolling(hours(30 * 24)).unwrap();
        let refused = |from: Option<Timestamp>, to: Option<Timestamp>, step: Option<&str>| {
            HistoryRange::new(&window, now, from, to, step)
                .unwrap_err()
                .field
        };
        assert_eq!(refused(Some(now), None, None), "range");
        assert_eq!(refused(Some(now + mins(1)), None, None), "range");
        assert_eq!(
            refused(Some(now - hours(401 * 24)), None, Some("1d")),
            "range"
        );
        assert_eq!(refused(None, None, Some("5x")), "step");
        assert_eq!(refused(None, None, Some("0m")), "step");
        assert_eq!(refused(Some(now - hours(1)), None, Some("2h")), "step");
        // 2 880 one-minute intervals are more than a history holds; 1 440 are not.
        assert_eq!(refused(Some(now - hours(48)), None, Some("1m")), "step");
        assert!(HistoryRange::new(&window, now, Some(now - hours(24)), None, Some("1m")).is_ok());
        // 400 days is allowed, by the day.
        assert!(
            HistoryRange::new(&window, now, Some(now - hours(400 * 24)), None, Some("1d")).is_ok()
        );
    }

    #[test]
    fn counters_grow_across_resets() {
        let cases: [(&[f64], f64); 7] = [
            (&[], 0.0),
            (&[7.0], 0.0),
            (&[10.0, 20.0, 30.0], 20.0),
            // A restart: 20 → 5 counts 5 (growth from zero), then 5 → 15 counts 10.
            (&[10.0, 20.0, 5.0, 15.0], 25.0),
            (&[10.0, 0.0, 0.0, 3.0], 3.0),
            (&[5.0, 5.0, 5.0], 0.0),
            (&[1.0, f64::NAN, 4.0, f64::INFINITY, 6.0], 5.0),
        ];
        for (values, expected) in cases {
            assert_eq!(counter_increase(values), expected, "{values:?}");
        }
    }

    #[test]
    fn calendar_windows_follow_the_local_calendar_across_clock_changes() {
        let berlin = TimeZone::get("Europe/Berlin").unwrap();
        let month = Window::Calendar {
            unit: CalendarUnit::Month,
            time_zone: berlin.clone(),
        };
        // Expected values from Python's zoneinfo (local midnight of the first day).
        let cases = [
            // March 2026 loses an hour: 743 hours.
            (
                "2026-03-15T12:00:00Z",
                "2026-02-28T23:00:00Z",
                "2026-03-31T22:00:00Z",
                743,
            ),
            // October 2026 gains one: 745 hours.
            (
                "2026-10-15T12:00:00Z",
                "2026-09-30T22:00:00Z",
                "2026-10-31T23:00:00Z",
                745,
            ),
            // The first instant of a month belongs to it; the one before, to the last.
            (
                "2026-02-28T23:00:00Z",
                "2026-02-28T23:00:00Z",
                "2026-03-31T22:00:00Z",
                743,
            ),
            (
                "2026-02-28T22:59:59Z",
                "2026-01-31T23:00:00Z",
                "2026-02-28T23:00:00Z",
                672,
            ),
        ];
        for (instant, start, end, length_hours) in cases {
            let (from, to) = month.period_at(at(instant));
            assert_eq!((from, to), (at(start), at(end)), "{instant}");
            assert_eq!(to.duration_since(from), hours(length_hours), "{instant}");
        }
        // Timeslices allow a share of that month's own minutes.
        let slo = Objective::new(
            0.999,
            month.clone(),
            Budgeting::timeslices(mins(1), 0.9).unwrap(),
        )
        .unwrap();
        let budget = slo.budget(&series(&[]), at("2026-03-15T12:00:00Z"));
        assert!((budget.allowed - 0.001 * 743.0 * 60.0).abs() < 1e-9);
        // Weeks start on Monday; quarters and years on their first day.
        let week = Window::Calendar {
            unit: CalendarUnit::Week,
            time_zone: berlin.clone(),
        };
        // Sunday 29 March 2026 (the clock change) is in the week from Monday the 23rd.
        assert_eq!(
            week.period_at(at("2026-03-29T12:00:00Z")),
            (at("2026-03-22T23:00:00Z"), at("2026-03-29T22:00:00Z"))
        );
        let quarter = Window::Calendar {
            unit: CalendarUnit::Quarter,
            time_zone: berlin.clone(),
        };
        assert_eq!(
            quarter.period_at(at("2026-05-20T00:00:00Z")),
            (at("2026-03-31T22:00:00Z"), at("2026-06-30T22:00:00Z"))
        );
        let year = Window::Calendar {
            unit: CalendarUnit::Year,
            time_zone: TimeZone::UTC,
        };
        assert_eq!(
            year.period_at(at("2028-02-29T00:00:00Z")),
            (at("2028-01-01T00:00:00Z"), at("2029-01-01T00:00:00Z"))
        );
        // Midnight in a gap (Chile moves 00:00 → 01:00): the day starts when the gap
        // ends, as zoneinfo says.
        let santiago = TimeZone::get("America/Santiago").unwrap();
        assert_eq!(
            start_of_day(&santiago, Date::new(2026, 9, 6).unwrap()),
            at("2026-09-06T04:00:00Z")
        );
    }

    #[test]
    fn bad_definitions_and_counts_are_refused() {
        assert!(
            Objective::new(
                1.0,
                Window::rolling(hours(24)).unwrap(),
                Budgeting::Occurrences
            )
            .is_err()
        );
        assert!(
            Objective::new(
                0.0,
                Window::rolling(hours(24)).unwrap(),
                Budgeting::Occurrences
            )
            .is_err()
        );
        assert!(
            Objective::new(
                f64::NAN,
                Window::rolling(hours(24)).unwrap(),
                Budgeting::Occurrences
            )
            .is_err()
        );
        assert!(Window::rolling(mins(59)).is_err());
        assert!(Window::rolling(hours(401 * 24)).is_err());
        assert!(Window::rolling(SignedDuration::from_secs(3601)).is_err());
        assert!(Budgeting::timeslices(SignedDuration::from_secs(30), 0.9).is_err());
        assert!(Budgeting::timeslices(mins(61), 0.9).is_err());
        assert!(Budgeting::timeslices(mins(5), 0.0).is_err());
        assert!(Budgeting::timeslices(mins(5), 1.5).is_err());
        let minute = at("2026-11-10T12:00:00Z");
        assert!(Rollup::new(minute, f64::NAN, 1.0).is_err());
        assert!(Rollup::new(minute, 1.0, f64::INFINITY).is_err());
        assert!(Rollup::new(minute, -1.0, 1.0).is_err());
        assert!(Rollup::new(minute, 2.0, 1.0).is_err());
        assert!(Rollup::new(minute + SignedDuration::from_secs(1), 1.0, 1.0).is_err());
        assert!(Rollup::new(minute, 1.0, 1.0).is_ok());
    }

    fn document(extra: serde_json::Value) -> SloDoc {
        let mut value = serde_json::json!({
            "service": "api", "target": 0.99,
            "time_window": {"duration": "30d"}, "budgeting_method": "occurrences",
        });
        if let (Some(base), Some(extra)) = (value.as_object_mut(), extra.as_object()) {
            base.extend(extra.clone());
        }
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn authors_choose_their_alert_windows() {
        let condition = |name: &str, long: &str, short: Option<&str>| {
            let mut condition = serde_json::json!({"name": name, "severity": "page",
                "burn_rate": 10.0, "lookback_window": long});
            if let Some(short) = short {
                condition["short_window"] = short.into();
            }
            condition
        };
        let with = |conditions: Vec<serde_json::Value>| {
            document(serde_json::json!({"alert_policies": [
                {"name": "fast", "conditions": conditions}]}))
            .parse()
        };
        // Chosen windows are taken as written, not scaled; one lookback means both.
        let definition = with(vec![
            condition("a", "2h", Some("10m")),
            condition("b", "30d", None),
        ])
        .unwrap();
        assert_eq!(
            definition
                .burn_windows
                .iter()
                .map(|w| (w.severity, w.long.as_mins(), w.short.as_mins(), w.factor))
                .collect::<Vec<_>>(),
            [
                (BurnSeverity::Page, 120, 10, 10.0),
                (BurnSeverity::Page, 43_200, 43_200, 10.0)
            ]
        );
        // Without policies: the workbook's, scaled (30 d: unchanged).
        assert_eq!(
            document(serde_json::json!({}))
                .parse()
                .unwrap()
                .burn_windows,
            default_burn_windows(hours(30 * 24))
        );
        for (conditions, names) in [
            (vec![condition("a", "31d", None)], "within the SLO's window"),
            (
                vec![condition("a", "1h", Some("2h"))],
                "at most the long one",
            ),
            (vec![condition("a", "1h", Some("0m"))], "short_window"),
            (vec![condition("a", "90s", None)], "lookback_window"),
            (
                vec![condition("a", "1h", None), condition("a", "2h", None)],
                "named twice",
            ),
            (vec![condition("A", "1h", None)], "name"),
            (vec![], "at least one"),
            (
                (0..17)
                    .map(|n| condition(&format!("c{n}"), "1h", None))
                    .collect(),
                "at most 16",
            ),
        ] {
            let error = with(conditions).unwrap_err();
            assert_eq!(error.field, "alert_policies");
            assert!(error.reason.contains(names), "{names}: {error:?}");
        }
        let mut fast = condition("a", "1h", None);
        fast["severity"] = "urgent".into();
        assert!(
            with(vec![fast.clone()])
                .unwrap_err()
                .reason
                .contains("page or ticket")
        );
        fast["severity"] = "page".into();
        fast["burn_rate"] = 0.0.into();
        assert!(with(vec![fast]).unwrap_err().reason.contains("burn_rate"));
    }

    fn prometheus(query: &str) -> serde_json::Value {
        serde_json::json!({"metric_source": {"type": "Prometheus", "spec": {"query": query}}})
    }

    #[test]
    fn a_pull_queries_the_indicators_series_from_a_named_prometheus() {
        let indicator = serde_json::json!({"ratio_metric": {"counter": true,
            "good": prometheus("http_requests_total{code!~\"5..\"}"),
            "total": prometheus("http_requests_total")}});
        let with = |pull: serde_json::Value| {
            document(serde_json::json!({"indicator": indicator, "pull": pull})).parse()
        };
        let definition = with(serde_json::json!({"url": "http://prometheus.internal:9090",
            "delegate_selector": ["zone=eu"], "every": "5m"}))
        .unwrap();
        let pull = definition.pull.unwrap();
        assert_eq!(pull.every, mins(5));
        assert_eq!(pull.lookback(), mins(15));
        assert_eq!(
            Pull::query(definition.indicator.as_ref().unwrap()).unwrap(),
            "label_replace(sum(increase(http_requests_total{code!~\"5..\"}[1m])), \
             \"rampart_part\", \"good\", \"\", \"\") or \
             label_replace(sum(increase(http_requests_total[1m])), \"rampart_part\", \
             \"total\", \"\", \"\")"
        );
        let pull = with(serde_json::json!({"url": "https://p/prom/"}))
            .unwrap()
            .pull
            .unwrap();
        assert_eq!((pull.every, pull.lookback()), (mins(1), mins(10)));
        assert!(pull.delegate_selector.to_strings().is_empty());
        for (bad, says) in [
            (serde_json::json!({"url": "ftp://p"}), "pull.url"),
            (serde_json::json!({"url": "http://p/?q=1"}), "pull.url"),
            (serde_json::json!({"url": "http://p /x"}), "pull.url"),
            (
                serde_json::json!({"url": "http://p", "every": "2h"}),
                "pull.every",
            ),
            (
                serde_json::json!({"url": "http://p", "every": "30s"}),
                "pull.every",
            ),
            (
                serde_json::json!({"url": "http://p", "delegate_selector": [""]}),
                "pull.delegate_selector",
            ),
        ] {
            let error = with(bad.clone()).unwrap_err();
            assert_eq!(error.field, "pull", "{bad}");
            assert!(error.reason.contains(says), "{bad}: {}", error.reason);
        }
        // Without a ratio indicator there is nothing to query.
        let error = document(serde_json::json!({"pull": {"url": "http://p"}}))
            .parse()
            .unwrap_err();
        assert!(error.reason.contains("ratio indicator"), "{}", error.reason);
        let error = document(serde_json::json!({"pull": {"url": "http://p"},
            "indicator": {"threshold_metric": prometheus("latency_seconds")},
            "op": "lte", "value": 0.3}))
        .parse()
        .unwrap_err();
        assert!(error.reason.contains("ratio indicator"), "{}", error.reason);
    }

    #[test]
    fn a_pulls_answer_counts_the_minute_before_each_point() {
        let ratio = |part: SeriesRole| Indicator::Ratio {
            counter: true,
            part: (part, Selector::parse("part", "errors_total").unwrap()),
            total: Selector::parse("total", "requests_total").unwrap(),
        };
        let points = |pairs: &[(i64, f64)]| {
            pairs
                .iter()
                .copied()
                .collect::<std::collections::BTreeMap<_, _>>()
        };
        let noon = at("2026-11-10T12:00:00Z").as_second();
        let end = |minute: i64| noon + minute * 60;
        let total = points(&[
            (end(1), 100.0),
            (end(2), 50.0),
            (end(3), 0.0),
            (end(4), 10.0),
            (end(5) + 30, 80.0),
            (end(6), f64::NAN),
            (end(7), -1.0),
            // The earliest whole minute an i64 holds: its minute before is out of range.
            (i64::MIN + (60 - i64::MIN.rem_euclid(60)) % 60, 1.0),
        ]);
        let part = points(&[(end(1), 10.0), (end(2), 50.000_1), (end(4), f64::INFINITY)]);
        let minutes = |role| -> Vec<(i64, f64, f64)> {
            pulled_rollups(&ratio(role), &part, &total)
                .iter()
                .map(|rollup| {
                    let minute = (rollup.minute.as_second() - end(0)) / 60;
                    (minute, rollup.good, rollup.total)
                })
                .collect()
        };
        // Good over total: the part's events are good ones, at most the total; a
        // minute without a part point has none; odd points are left out.
        assert_eq!(
            minutes(SeriesRole::Good),
            [(0, 10.0, 100.0), (1, 50.0, 50.0), (2, 0.0, 0.0)]
        );
        // Bad over total: the rest are good.
        assert_eq!(
            minutes(SeriesRole::Bad),
            [(0, 90.0, 100.0), (1, 0.0, 50.0), (2, 0.0, 0.0)]
        );
        let threshold = Indicator::Threshold {
            metric: Selector::parse("metric", "latency").unwrap(),
            op: ThresholdOp::Lte,
            value: 0.3,
        };
        assert!(pulled_rollups(&threshold, &part, &total).is_empty());
        assert_eq!(Pull::query(&threshold), None);
    }

    #[test]
    fn indicators_name_their_series() {
        let ratio = document(serde_json::json!({"indicator": {"ratio_metric": {
            "counter": true,
            "bad": prometheus("http_requests_total{code=~\"5..\"}"),
            "total": prometheus("http_requests_total"),
        }}}));
        let indicator = ratio.parse().unwrap().indicator.unwrap();
        let roles: Vec<_> = indicator
            .selectors()
            .iter()
            .map(|(role, selector)| (*role, selector.as_str().to_owned()))
            .collect();
        assert_eq!(
            roles,
            [
                (
                    SeriesRole::Bad,
                    "http_requests_total{code=~\"5..\"}".to_owned()
                ),
                (SeriesRole::Total, "http_requests_total".to_owned()),
            ]
        );
        let threshold = document(serde_json::json!({
            "indicator": {"threshold_metric": prometheus("probe_duration_seconds")},
            "op": "lte", "value": 0.3,
        }));
        assert!(matches!(
            threshold.parse().unwrap().indicator,
            Some(Indicator::Threshold { op: ThresholdOp::Lte, value, .. }) if value == 0.3
        ));
        assert_eq!(
            document(serde_json::json!({})).parse().unwrap().indicator,
            None
        );

        let refused: &[(serde_json::Value, &str, &str)] = &[
            (
                serde_json::json!({"indicator": {}}),
                "indicator",
                "one of them",
            ),
            (
                serde_json::json!({"indicator": {"ratio_metric": {"counter": true,
                    "total": prometheus("a")}}}),
                "indicator",
                "good or bad",
            ),
            (
                serde_json::json!({"indicator": {"ratio_metric": {"counter": true,
                    "good": prometheus("sum(rate(a[5m]))"), "total": prometheus("a")}}}),
                "indicator.good",
                "not a PromQL expression",
            ),
            (
                serde_json::json!({"indicator": {"ratio_metric": {"counter": true,
                    "good": {"metric_source": {"type": "Datadog", "spec": {"query": "a"}}},
                    "total": prometheus("a")}}}),
                "indicator.good",
                "Datadog",
            ),
            (
                serde_json::json!({"indicator": {"threshold_metric": prometheus("a")}}),
                "op",
                "needs op and value",
            ),
            (
                serde_json::json!({"indicator": {"threshold_metric": prometheus("a")},
                    "op": "eq", "value": 1.0}),
                "op",
                "not lt, lte, gt or gte",
            ),
            (
                serde_json::json!({"op": "lt", "value": 1.0}),
                "op",
                "threshold_metric",
            ),
        ];
        for (extra, field, reason) in refused {
            let error = document(extra.clone()).parse().unwrap_err();
            assert_eq!(error.field, *field, "{extra}");
            assert!(error.reason.contains(reason), "{extra}: {}", error.reason);
        }
    }

    fn sample(second: i64, value: f64) -> SeriesSample {
        SeriesSample {
            at_ms: at("2026-11-10T12:00:00Z").as_millisecond() + second * 1000,
            value,
        }
    }

    fn indicator(extra: serde_json::Value) -> Indicator {
        document(extra).parse().unwrap().indicator.unwrap()
    }

    #[test]
    fn series_samples_become_minute_counts() {
        let good_total = indicator(serde_json::json!({"indicator": {"ratio_metric": {
            "counter": true, "good": prometheus("ok_total"), "total": prometheus("all_total")}}}));
        let minute = at("2026-11-10T12:00:00Z");
        let next = minute + mins(1);
        // A counter's first sample is its baseline; a reset counts from zero; the
        // increase goes to the later sample's minute.
        let fold = series_deltas(
            &good_total,
            SeriesRole::Total,
            None,
            &[
                sample(0, 10.0),
                sample(30, 16.0),
                sample(60, 2.0),
                sample(90, 2.0),
            ],
        );
        assert_eq!(
            fold.deltas,
            [
                MinuteDelta {
                    minute,
                    good: 0.0,
                    total: 6.0
                },
                MinuteDelta {
                    minute: next,
                    good: 0.0,
                    total: 2.0
                },
            ]
        );
        assert_eq!(fold.last, Some(sample(90, 2.0)));
        // Sent again (a retry), or older: skipped, so counted once.
        let again = series_deltas(
            &good_total,
            SeriesRole::Total,
            fold.last,
            &[sample(60, 2.0), sample(90, 2.0), sample(120, 5.0)],
        );
        assert_eq!(again.stale, 2);
        assert_eq!(
            again.deltas,
            [MinuteDelta {
                minute: minute + mins(2),
                good: 0.0,
                total: 3.0
            }]
        );
        let good = series_deltas(
            &good_total,
            SeriesRole::Good,
            Some(sample(0, 1.0)),
            &[sample(10, 4.0)],
        );
        assert_eq!(
            good.deltas,
            [MinuteDelta {
                minute,
                good: 3.0,
                total: 0.0
            }]
        );

        // bad/total: a total event is good until a bad one takes it away.
        let bad_total = indicator(serde_json::json!({"indicator": {"ratio_metric": {
            "counter": false, "bad": prometheus("errors"), "total": prometheus("requests")}}}));
        let total = series_deltas(&bad_total, SeriesRole::Total, None, &[sample(1, 10.0)]);
        assert_eq!(
            total.deltas,
            [MinuteDelta {
                minute,
                good: 10.0,
                total: 10.0
            }]
        );
        let bad = series_deltas(
            &bad_total,
            SeriesRole::Bad,
            None,
            &[sample(1, 4.0), sample(2, -1.0)],
        );
        assert_eq!(
            bad.deltas,
            [MinuteDelta {
                minute,
                good: -4.0,
                total: 0.0
            }]
        );
        assert_eq!(bad.invalid, 1);

        // A threshold metric: each sample one event.
        let threshold = indicator(serde_json::json!({
            "indicator": {"threshold_metric": prometheus("latency_seconds")},
            "op": "lt", "value": 0.3,
        }));
        let fold = series_deltas(
            &threshold,
            SeriesRole::Threshold,
            None,
            &[
                sample(0, 0.1),
                sample(15, 0.3),
                sample(30, 0.29),
                sample(59, 9.0),
            ],
        );
        assert_eq!(
            fold.deltas,
            [MinuteDelta {
                minute,
                good: 2.0,
                total: 4.0
            }]
        );
        // Before the epoch, minutes still start on whole minutes.
        let early = SeriesSample {
            at_ms: -1,
            value: 0.0,
        };
        assert_eq!(early.minute(), Timestamp::from_second(-60).ok());
    }
}
