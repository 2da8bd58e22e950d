//! Wire types of SLOs: an SLO (identifier, name, its definition as written, and its
//! status at an instant — the error budget and the burn rates of its alert windows) and
//! the minutes of good and total events a monitoring system pushes. The definition's
//! fields follow OpenSLO v1's names in snake case: `description`, `service`, `target`,
//! `time_window` (`duration`, `is_rolling`, `time_zone`), `budgeting_method`
//! (`occurrences` or `timeslices`), `time_slice_target`, `time_slice_window`.
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A new SLO.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SloCreate {
    /// The SLO's identifier in its project (a slug), used in paths.
    #[schema(pattern = "^[a-z0-9][a-z0-9-]{0,62}$")]
    pub identifier: String,
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// See the module documentation; a definition of the wrong shape is refused as
    /// `invalid_definition`, naming the field.
    #[schema(value_type = Object)]
    pub definition: serde_json::Value,
}

/// A new definition of an SLO.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SloUpdate {
    /// A new display name (default: unchanged).
    #[serde(default)]
    #[schema(min_length = 1, max_length = 100)]
    pub name: Option<String>,
    /// The whole new definition.
    #[schema(value_type = Object)]
    pub definition: serde_json::Value,
    /// The version this change was made to: a newer one answers 409
    /// `slo_version_stale` instead of being overwritten.
    #[serde(default)]
    pub expected_version: Option<u32>,
}

/// One alert window at the status's instant.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct SloBurnRate {
    /// `page` or `ticket`.
    pub severity: String,
    /// The lookbacks, in minutes.
    pub long_window_minutes: i64,
    pub short_window_minutes: i64,
    /// The burn rate both lookbacks must reach.
    pub factor: f64,
    /// The burn rates over each lookback; absent without data there.
    pub long_burn_rate: Option<f64>,
    pub short_burn_rate: Option<f64>,
    pub firing: bool,
}

/// An SLO's error budget and burn rates at `at`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct SloStatus {
    pub at: String,
    /// The window counted: `[window_start, window_end)`.
    pub window_start: String,
    pub window_end: String,
    /// Good and bad events (occurrences) or slices with data (timeslices).
    pub good: f64,
    pub bad: f64,
    /// How many bad events or slices the window allows.
    pub allowed: f64,
    /// The share of the budget spent (1 is all of it) and left (negative: overspent).
    pub consumed: f64,
    pub remaining: f64,
    pub exhausted: bool,
    /// When the budget runs out at the last hour's burn rate (the page window's long
    /// lookback, scaled); absent when it does not burn.
    pub exhaustion_at: Option<String>,
    pub burn_rates: Vec<SloBurnRate>,
}

/// An SLO, its definition and its status.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Slo {
    pub id: String,
    pub identifier: String,
    pub name: String,
    /// From 1, one more at each change of the definition.
    pub version: u32,
    /// As its author wrote it (defaults left out).
    #[schema(value_type = Object)]
    pub definition: serde_json::Value,
    pub status: SloStatus,
    pub created_at: String,
    pub updated_at: String,
}

/// An SLO as listed (no definition or status).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct SloSummary {
    pub id: String,
    pub identifier: String,
    pub name: String,
    pub version: u32,
    pub created_at: String,
    pub updated_at: String,
}

/// `?at=` on reading an SLO: its status at that instant (RFC 3339) instead of now.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SloParams {
    #[serde(default)]
    pub at: Option<String>,
}

/// One minute's events.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SloMinute {
    /// The minute's first instant (RFC 3339, on a whole minute), at most 400 days ago
    /// and 5 minutes ahead.
    pub minute: String,
    /// Good events, at most `total`.
    pub good: f64,
    pub total: f64,
}

/// Minutes of an SLO's events, each replacing what an earlier push said of the same
/// minute (pushing again is harmless); 1 to 1 440 a push, all or nothing.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SloMinutesPush {
    pub minutes: Vec<SloMinute>,
}

/// How many minutes a push stored.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct SloMinutesStored {
    pub stored: u32,
}

/// What a Prometheus remote write did with its samples. Prometheus reads only the
/// status; the counts are for whoever wires it up: each sample is taken, dropped for a
/// reason, or in a series no SLO of the project selects.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct SloRemoteWriteOutcome {
    pub series: u64,
    pub samples: u64,
    /// Series no SLO's indicator selects.
    pub unmatched_series: u64,
    /// Samples counted into SLOs' minutes (once for each SLO selecting their series).
    pub taken: u64,
    /// NaN (Prometheus' staleness marker among them) and infinite values.
    pub dropped_not_finite: u64,
    /// Samples over 400 days old or over 5 minutes ahead of the server's clock.
    pub dropped_out_of_range: u64,
    /// Samples at or before the last one taken of their series (a retried write).
    pub dropped_stale: u64,
    /// Negative counts, and series whose labels are not UTF-8.
    pub dropped_invalid: u64,
    /// How many SLOs' minutes changed.
    pub slos: u64,
}

/// What an OpenSLO import did: each SLO of the YAML, in its order.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct SloImportOutcome {
    pub slos: Vec<SloImported>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct SloImported {
    pub identifier: String,
    /// `created`, `updated` or `unchanged` (the same name and definition were there).
    #[schema(pattern = "^(created|updated|unchanged)$")]
    pub outcome: String,
    /// The SLO's version after the import.
    pub version: u32,
}

/// `GET …/openslo`: the SLO to export (all of the project's without).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SloExportQuery {
    #[serde(default)]
    pub slo: Option<String>,
}

/// `GET …/slos/{slo}/history`: the range and step of a chart, each optional.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SloHistoryQuery {
    /// RFC 3339; default: one window's nominal length before `to`.
    #[serde(default)]
    pub from: Option<String>,
    /// RFC 3339; default: now.
    #[serde(default)]
    pub to: Option<String>,
    /// `<n>m`, `h`, `d` or `w`; default: the shortest whole minutes giving at most 240
    /// intervals.
    #[serde(default)]
    pub step: Option<String>,
}

/// One interval of an SLO's history.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct SloHistoryPoint {
    /// `[start, end)`.
    pub start: String,
    pub end: String,
    /// Good and all events in the interval (whatever the budgeting method).
    pub good: f64,
    pub total: f64,
    /// good / total; absent without events.
    pub ratio: Option<f64>,
    /// The burn rate over the interval, counted as an alert window counts it; absent
    /// without data.
    pub burn_rate: Option<f64>,
    /// The share of the window's budget spent and left at `end`.
    pub budget_consumed: f64,
    pub budget_remaining: f64,
}

/// An SLO's history for a chart: intervals of `step_minutes`, the last ending at `to`,
/// as many as fit after `from` (instants floored to the minute; at most 1 440 intervals
/// and 400 days).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct SloHistory {
    /// The SLO's identifier and the version of the definition the history is computed by.
    pub slo: String,
    pub version: u32,
    /// The objective, as a ratio (a chart's target line).
    pub target: f64,
    pub from: String,
    pub to: String,
    pub step_minutes: i64,
    pub points: Vec<SloHistoryPoint>,
}
