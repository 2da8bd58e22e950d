//! OpenSLO v1 ↔ Rampart SLO definitions: the YAML a user imports (`rampart slo import`,
//! `POST …/openslo`) read strictly into [`SloDoc`]s, and the YAML an export writes.
//!
//! What maps onto what (README "OpenSLO import and export" says the same for users):
//!
//! - An `SLO` document is one Rampart SLO: `metadata.name` its identifier,
//!   `metadata.displayName` its name; one time window, one objective (`target` or
//!   `targetPercent`), `Occurrences` or `Timeslices`.
//! - Its SLI is inline (`spec.indicator`) or an `SLI` document named by
//!   `spec.indicatorRef`; metrics are `type: Prometheus` with a series selector as
//!   `spec.query` (what remote write is matched against).
//! - Its `alertPolicies` are inline or `AlertPolicy` documents (by `alertPolicyRef`),
//!   whose conditions are inline or `AlertCondition` documents (by `conditionRef`) of
//!   kind `burnrate`: `severity` page or ticket, `threshold` the burn rate,
//!   `lookbackWindow` the long lookback. **Extension**: the short lookback of the
//!   workbook's multi-window rule, which OpenSLO v1 cannot express, is the
//!   condition's annotation [`SHORT_WINDOW_ANNOTATION`]; without it a condition has one
//!   lookback. Alerts go through the service's escalation policy, so a policy has no
//!   notification targets; it alerts when breaching and on resolution, never on no data.
//! - **Extension**: a delegate's pull of the SLI from a Prometheus inside the network
//!   (the definition's `pull`) is the SLO's annotations [`PULL_URL_ANNOTATION`],
//!   [`PULL_EVERY_ANNOTATION`] and [`PULL_DELEGATE_SELECTOR_ANNOTATION`] (tags
//!   comma-separated); an SLI's and policies' annotations are refused.
//! - Anything else (labels, `RatioTimeslices`, data source references, `alertAfter`
//!   other than 0, other kinds) is refused, naming the field: nothing is silently
//!   dropped.
//!
//! An export writes each SLO as one document with its SLI and alert policies inline, so
//! importing what was exported gives the same SLOs and exporting what was imported in
//! that form gives the same documents.

use std::collections::BTreeMap;

use jiff::civil::{DateTime, Weekday};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::slos::{
    AlertConditionDoc, AlertPolicyDoc, IndicatorDoc, MetricDoc, MetricSourceDoc,
    PrometheusSourceDoc, PullDoc, RatioMetricDoc, SloDefinition, SloDoc, TimeWindowDoc,
};
use crate::{Name, Slug};

/// The only version read and written.
pub const API_VERSION: &str = "openslo/v1";

/// The annotation of an `AlertCondition` holding the short lookback (`5m`).
pub const SHORT_WINDOW_ANNOTATION: &str = "rampart.dev/short-window";

/// The annotations of an `SLO` holding its pull (the definition's `pull`): the base URL
/// of the Prometheus a delegate queries, how often, and the delegate's tags
/// (comma-separated).
pub const PULL_URL_ANNOTATION: &str = "rampart.dev/pull-url";
pub const PULL_EVERY_ANNOTATION: &str = "rampart.dev/pull-every";
pub const PULL_DELEGATE_SELECTOR_ANNOTATION: &str = "rampart.dev/pull-delegate-selector";

/// The start an export writes for a calendar window: local midnight of a Monday that
/// opens a year, so it starts a week, a month, a quarter and a year alike.
const CALENDAR_START: &str = "2024-01-01 00:00:00";

/// What is wrong with an import, and where: `path` names the document and the field
/// (`document 2 (SLO checkout): spec.objectives[0].target`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenSloError {
    pub path: String,
    pub reason: String,
}

impl std::fmt::Display for OpenSloError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.reason)
    }
}

/// One SLO read from OpenSLO: its identifier, name and definition (valid: it parses).
#[derive(Clone, Debug, PartialEq)]
pub struct ImportedSlo {
    pub identifier: Slug,
    pub name: Name,
    pub document: SloDoc,
    /// What `document` means.
    pub definition: SloDefinition,
}

/// One SLO to export.
pub struct ExportedSlo<'a> {
    pub identifier: &'a str,
    pub name: &'a str,
    pub document: &'a SloDoc,
}

// The documents, field for field as OpenSLO v1 names them. Each type serves both ways.

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Head {
    api_version: String,
    kind: String,
    metadata: Value,
    spec: Value,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Document<S> {
    api_version: &'static str,
    kind: &'static str,
    metadata: Metadata,
    spec: S,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Metadata {
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    display_name: Option<String>,
    /// Only an SLO's (the pull: [`PULL_URL_ANNOTATION`] and its two companions) and an
    /// alert condition's ([`SHORT_WINDOW_ANNOTATION`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    annotations: BTreeMap<String, String>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SloSpec {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    description: String,
    service: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    indicator: Option<Inline<SliSpec>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    indicator_ref: Option<String>,
    time_window: Vec<TimeWindow>,
    budgeting_method: String,
    objectives: Vec<Objective>,
    /// Inline policies or references, read one by one (see `read_policy_item`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    alert_policies: Vec<Value>,
}

/// An object written inside another: `metadata` and `spec`, with `kind` where OpenSLO
/// has one (inline alert policies and conditions).
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Inline<S> {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kind: Option<String>,
    metadata: Metadata,
    spec: S,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SliSpec {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ratio_metric: Option<RatioMetric>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    threshold_metric: Option<Metric>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RatioMetric {
    counter: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    good: Option<Metric>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    bad: Option<Metric>,
    total: Metric,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Metric {
    metric_source: MetricSource,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct MetricSource {
    #[serde(rename = "type")]
    source_type: String,
    spec: PrometheusSpec,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PrometheusSpec {
    query: String,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TimeWindow {
    duration: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    is_rolling: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    calendar: Option<Calendar>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Calendar {
    start_time: String,
    time_zone: String,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Objective {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    op: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    value: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    target: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    target_percent: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    time_slice_target: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    time_slice_window: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AlertPolicySpec {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    description: String,
    #[serde(default)]
    alert_when_no_data: Option<bool>,
    #[serde(default)]
    alert_when_breaching: Option<bool>,
    #[serde(default)]
    alert_when_resolved: Option<bool>,
    /// Inline conditions or references, read one by one.
    conditions: Vec<Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    notification_targets: Vec<Value>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AlertConditionSpec {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    description: String,
    severity: String,
    condition: BurnRateCondition,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct BurnRateCondition {
    kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    op: Option<String>,
    threshold: f64,
    lookback_window: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    alert_after: Option<String>,
}

/// Where in the input a value is: the document and the path inside it.
#[derive(Clone)]
struct At {
    document: String,
    path: String,
}

impl At {
    fn field(&self, field: &str) -> At {
        At {
            document: self.document.clone(),
            path: if self.path.is_empty() {
                field.to_owned()
            } else if field.starts_with('[') {
                format!("{}{field}", self.path)
            } else {
                format!("{}.{field}", self.path)
            },
        }
    }

    fn error(&self, reason: impl Into<String>) -> OpenSloError {
        OpenSloError {
            path: if self.path.is_empty() {
                self.document.clone()
            } else {
                format!("{}: {}", self.document, self.path)
            },
            reason: reason.into(),
        }
    }

    /// `value` as a `T`, an error naming the exact field.
    fn read<T: DeserializeOwned>(&self, value: Value) -> Result<T, OpenSloError> {
        serde_path_to_error::deserialize(value).map_err(|error| {
            let inner = error.path().to_string();
            let at = if inner == "." {
                self.clone()
            } else {
                self.field(&inner)
            };
            at.error(error.into_inner().to_string())
        })
    }
}

/// A document of a kind other SLOs refer to, and whether one did.
struct Named {
    at: At,
    spec: Value,
    metadata: Metadata,
    used: bool,
}

#[derive(Default)]
struct Library {
    slis: BTreeMap<String, Named>,
    policies: BTreeMap<String, Named>,
    conditions: BTreeMap<String, Named>,
}

fn yaml_options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        // An error names its line and column; the request body is not echoed back.
        with_snippet: false,
    }
}

/// Reads OpenSLO v1 YAML (one or more documents, each an object or a list of objects)
/// into SLOs. All or nothing: the first problem is the error.
pub fn import(text: &str) -> Result<Vec<ImportedSlo>, OpenSloError> {
    let documents: Vec<Value> = serde_saphyr::from_multiple_with_options(text, yaml_options())
        .map_err(|error| OpenSloError {
            path: "YAML".into(),
            reason: error.to_string(),
        })?;
    let mut objects = Vec::new();
    for (document, index) in documents.into_iter().zip(1..) {
        match document {
            Value::Null => {}
            Value::Array(items) => {
                for (item, position) in items.into_iter().zip(0..) {
                    objects.push((format!("document {index} item {position}"), item));
                }
            }
            other => objects.push((format!("document {index}"), other)),
        }
    }
    let mut library = Library::default();
    let mut slos = Vec::new();
    for (place, object) in objects {
        let at = At {
            document: place,
            path: String::new(),
        };
        let head: Head = at.read(object)?;
        if head.api_version != API_VERSION {
            return Err(at
                .field("apiVersion")
                .error(format!("{:?} is not {API_VERSION}", head.api_version)));
        }
        let metadata: Metadata = at.field("metadata").read(head.metadata)?;
        let at = At {
            document: format!("{} ({} {})", at.document, head.kind, metadata.name),
            path: String::new(),
        };
        let shelf = match head.kind.as_str() {
            "SLO" => {
                slos.push((at, metadata, head.spec));
                continue;
            }
            "SLI" => &mut library.slis,
            "AlertPolicy" => &mut library.policies,
            "AlertCondition" => &mut library.conditions,
            other => {
                return Err(at.field("kind").error(format!(
                    "kind {other:?} is not imported (SLO, SLI, AlertPolicy and AlertCondition are)"
                )));
            }
        };
        if shelf.contains_key(&metadata.name) {
            return Err(at
                .field("metadata.name")
                .error("a second document of this kind has this name"));
        }
        shelf.insert(
            metadata.name.clone(),
            Named {
                at,
                spec: head.spec,
                metadata,
                used: false,
            },
        );
    }
    let mut imported: Vec<ImportedSlo> = Vec::with_capacity(slos.len());
    for (at, metadata, spec) in slos {
        let slo = read_slo(&at, metadata, spec, &mut library)?;
        if imported
            .iter()
            .any(|earlier| earlier.identifier == slo.identifier)
        {
            return Err(at
                .field("metadata.name")
                .error("a second SLO has this name"));
        }
        imported.push(slo);
    }
    for shelf in [&library.slis, &library.policies, &library.conditions] {
        if let Some(unused) = shelf.values().find(|named| !named.used) {
            return Err(unused.at.error(
                "no SLO refers to it: Rampart keeps SLIs, alert policies and conditions with \
                 the SLOs that use them",
            ));
        }
    }
    Ok(imported)
}

fn plain_metadata(at: &At, metadata: &Metadata) -> Result<(), OpenSloError> {
    if metadata.annotations.is_empty() {
        Ok(())
    } else {
        Err(at
            .field("metadata.annotations")
            .error("annotations are read only on SLOs (a delegate's pull) and alert conditions (the short window)"))
    }
}

/// The pull an SLO's annotations describe (none without them); any other annotation is
/// refused.
fn read_pull(at: &At, metadata: &Metadata) -> Result<Option<PullDoc>, OpenSloError> {
    let mut url = None;
    let mut every = None;
    let mut delegate_selector = Vec::new();
    for (key, value) in &metadata.annotations {
        match key.as_str() {
            PULL_URL_ANNOTATION => url = Some(value.clone()),
            PULL_EVERY_ANNOTATION => every = Some(value.clone()),
            PULL_DELEGATE_SELECTOR_ANNOTATION => {
                delegate_selector = value
                    .split(',')
                    .map(str::trim)
                    .filter(|tag| !tag.is_empty())
                    .map(str::to_owned)
                    .collect();
            }
            _ => {
                return Err(at
                    .field(&format!("metadata.annotations.{key}"))
                    .error(format!(
                        "an SLO's annotations read are {PULL_URL_ANNOTATION}, \
                         {PULL_EVERY_ANNOTATION} and {PULL_DELEGATE_SELECTOR_ANNOTATION} \
                         (a delegate's pull)"
                    )));
            }
        }
    }
    match url {
        Some(url) => Ok(Some(PullDoc {
            url,
            delegate_selector,
            every,
        })),
        None if every.is_none() && delegate_selector.is_empty() => Ok(None),
        None => Err(at
            .field(&format!("metadata.annotations.{PULL_URL_ANNOTATION}"))
            .error("a pull needs the URL of the Prometheus to query")),
    }
}

fn read_slo(
    at: &At,
    metadata: Metadata,
    spec: Value,
    library: &mut Library,
) -> Result<ImportedSlo, OpenSloError> {
    let pull = read_pull(at, &metadata)?;
    let identifier = Slug::parse(&metadata.name)
        .map_err(|error| at.field("metadata.name").error(error.reason))?;
    let name = Name::parse(metadata.display_name.as_deref().unwrap_or(&metadata.name))
        .map_err(|error| at.field("metadata.displayName").error(error.reason))?;
    let at_spec = at.field("spec");
    let spec: SloSpec = at_spec.read(spec)?;
    let indicator = match (spec.indicator, &spec.indicator_ref) {
        (Some(_), Some(_)) => {
            return Err(at_spec
                .field("indicatorRef")
                .error("an SLO has an inline indicator or an indicatorRef, not both"));
        }
        (Some(inline), None) => Some(read_sli(
            &at_spec.field("indicator"),
            inline.metadata,
            inline.spec,
        )?),
        (None, Some(name)) => {
            let named = library.slis.get_mut(name).ok_or_else(|| {
                at_spec
                    .field("indicatorRef")
                    .error(format!("no SLI document is named {name:?}"))
            })?;
            named.used = true;
            let sli_at = named.at.field("spec");
            let sli: SliSpec = sli_at.read(named.spec.clone())?;
            let metadata = Metadata {
                name: named.metadata.name.clone(),
                display_name: named.metadata.display_name.clone(),
                annotations: BTreeMap::new(),
            };
            plain_metadata(&named.at, &named.metadata)?;
            Some(read_sli(&sli_at, metadata, sli)?)
        }
        (None, None) => None,
    };
    let [window] = <[TimeWindow; 1]>::try_from(spec.time_window).map_err(|_| {
        at_spec
            .field("timeWindow")
            .error("an SLO has exactly one time window")
    })?;
    let time_window = read_window(&at_spec.field("timeWindow[0]"), window)?;
    let budgeting_method = match spec.budgeting_method.as_str() {
        "Occurrences" => "occurrences",
        "Timeslices" => "timeslices",
        other => {
            return Err(at_spec.field("budgetingMethod").error(format!(
                "{other:?} is not Occurrences or Timeslices (RatioTimeslices is not supported)"
            )));
        }
    };
    let [objective] = <[Objective; 1]>::try_from(spec.objectives).map_err(|_| {
        at_spec
            .field("objectives")
            .error("an SLO has exactly one objective (composite SLOs are not supported)")
    })?;
    let at_objective = at_spec.field("objectives[0]");
    let target = match (objective.target, objective.target_percent) {
        (Some(target), None) => target,
        (None, Some(percent)) => percent / 100.0,
        _ => {
            return Err(at_objective
                .field("target")
                .error("an objective has target or targetPercent (one of them)"));
        }
    };
    let mut alert_policies = Vec::with_capacity(spec.alert_policies.len());
    for (item, index) in spec.alert_policies.into_iter().zip(0..) {
        alert_policies.push(read_policy_item(
            &at_spec.field(&format!("alertPolicies[{index}]")),
            item,
            library,
        )?);
    }
    let document = SloDoc {
        description: spec.description,
        service: spec.service,
        target,
        time_window,
        budgeting_method: budgeting_method.into(),
        time_slice_target: objective.time_slice_target,
        time_slice_window: objective.time_slice_window,
        indicator,
        op: objective.op,
        value: objective.value,
        objective_display_name: objective.display_name,
        alert_policies,
        pull,
    };
    let definition = document.parse().map_err(|error| {
        if error.field == "pull" {
            at.field("metadata.annotations").error(error.reason)
        } else {
            openslo_field(&at_spec, error.field).error(error.reason)
        }
    })?;
    Ok(ImportedSlo {
        identifier,
        name,
        document,
        definition,
    })
}

/// Where a field of [`SloDoc`] came from in an OpenSLO SLO's spec.
fn openslo_field(spec: &At, field: &str) -> At {
    spec.field(match field {
        "service" => "service",
        "description" => "description",
        "time_window" => "timeWindow[0]",
        "budgeting_method" => "budgetingMethod",
        "target" => "objectives[0].target",
        "time_slice_target" => "objectives[0].timeSliceTarget",
        "time_slice_window" => "objectives[0].timeSliceWindow",
        "op" => "objectives[0].op",
        "objective_display_name" => "objectives[0].displayName",
        "indicator" => "indicator",
        "alert_policies" => "alertPolicies",
        _ => "",
    })
}

fn read_sli(at: &At, metadata: Metadata, spec: SliSpec) -> Result<IndicatorDoc, OpenSloError> {
    plain_metadata(at, &metadata)?;
    let metric = |metric: Metric| MetricDoc {
        metric_source: MetricSourceDoc {
            source_type: metric.metric_source.source_type,
            spec: PrometheusSourceDoc {
                query: metric.metric_source.spec.query,
            },
        },
    };
    Ok(IndicatorDoc {
        name: Some(metadata.name),
        display_name: metadata.display_name,
        description: spec.description,
        ratio_metric: spec.ratio_metric.map(|ratio| RatioMetricDoc {
            counter: ratio.counter,
            good: ratio.good.map(metric),
            bad: ratio.bad.map(metric),
            total: metric(ratio.total),
        }),
        threshold_metric: spec.threshold_metric.map(metric),
    })
}

fn read_window(at: &At, window: TimeWindow) -> Result<TimeWindowDoc, OpenSloError> {
    let Some(calendar) = window.calendar else {
        if window.is_rolling == Some(false) {
            return Err(at
                .field("calendar")
                .error("a window that is not rolling has a calendar"));
        }
        return Ok(TimeWindowDoc {
            duration: window.duration,
            is_rolling: true,
            time_zone: None,
        });
    };
    if window.is_rolling == Some(true) {
        return Err(at
            .field("isRolling")
            .error("a rolling window has no calendar"));
    }
    let start = DateTime::strptime("%Y-%m-%d %H:%M:%S", &calendar.start_time)
        .ok()
        .filter(|start| {
            let date = start.date();
            let aligned = match window.duration.as_str() {
                "1w" => date.weekday() == Weekday::Monday,
                "1M" => date.day() == 1,
                "1Q" => date.day() == 1 && (date.month() - 1) % 3 == 0,
                "1Y" => date.day() == 1 && date.month() == 1,
                _ => true,
            };
            aligned && start.time() == jiff::civil::Time::midnight()
        });
    if start.is_none() {
        return Err(at.field("calendar.startTime").error(format!(
            "{:?}: a calendar window starts at local midnight (YYYY-MM-DD 00:00:00) of a \
             Monday (1w), a month's first day (1M), a quarter's (1Q) or a year's (1Y)",
            calendar.start_time
        )));
    }
    Ok(TimeWindowDoc {
        duration: window.duration,
        is_rolling: false,
        time_zone: Some(calendar.time_zone),
    })
}

/// Looks a referenced document up, marking it used.
fn referred<'a>(
    at: &At,
    shelf: &'a mut BTreeMap<String, Named>,
    name: &str,
    kind: &str,
) -> Result<&'a mut Named, OpenSloError> {
    let named = shelf
        .get_mut(name)
        .ok_or_else(|| at.error(format!("no {kind} document is named {name:?}")))?;
    named.used = true;
    Ok(named)
}

/// An item of a list holding objects inline or references to documents of `kind`
/// (`{<ref_key>: name}`, or a bare name where `bare_names`): where the object is, its
/// metadata and its spec. A referenced document is marked used.
fn resolve_item(
    at: &At,
    item: Value,
    shelf: &mut BTreeMap<String, Named>,
    kind: &str,
    ref_key: &str,
    bare_names: bool,
) -> Result<(At, Metadata, Value), OpenSloError> {
    let reference = match &item {
        Value::String(name) if bare_names => Some((at.clone(), name.clone())),
        Value::Object(object) if object.contains_key(ref_key) => {
            if let Some(extra) = object.keys().find(|key| *key != ref_key) {
                return Err(at
                    .field(extra)
                    .error(format!("a reference holds {ref_key} alone")));
            }
            match object.get(ref_key) {
                Some(Value::String(name)) => Some((at.field(ref_key), name.clone())),
                _ => return Err(at.field(ref_key).error("a name (a string)")),
            }
        }
        _ => None,
    };
    if let Some((reference_at, name)) = reference {
        let named = referred(&reference_at, shelf, &name, kind)?;
        return Ok((
            named.at.clone(),
            clone_metadata(&named.metadata),
            named.spec.clone(),
        ));
    }
    let inline: Inline<Value> = at.read(item)?;
    check_kind(at, inline.kind.as_deref(), kind)?;
    Ok((at.clone(), inline.metadata, inline.spec))
}

fn read_policy_item(
    at: &At,
    item: Value,
    library: &mut Library,
) -> Result<AlertPolicyDoc, OpenSloError> {
    // The first v1 drafts wrote a policy's name alone.
    let (place, metadata, spec) = resolve_item(
        at,
        item,
        &mut library.policies,
        "AlertPolicy",
        "alertPolicyRef",
        true,
    )?;
    plain_metadata(&place, &metadata)?;
    let at = place.field("spec");
    let spec: AlertPolicySpec = at.read(spec)?;
    for (field, value, wanted) in [
        ("alertWhenNoData", spec.alert_when_no_data, false),
        ("alertWhenBreaching", spec.alert_when_breaching, true),
        ("alertWhenResolved", spec.alert_when_resolved, true),
    ] {
        if value.is_some_and(|value| value != wanted) {
            return Err(at.field(field).error(format!(
                "Rampart's SLO alerts fire when breaching, resolve when the burn stops and never \
                 fire on missing data: {field} is {wanted} here"
            )));
        }
    }
    if !spec.notification_targets.is_empty() {
        return Err(at.field("notificationTargets").error(
            "an SLO's alerts go where its service's alerts go (alert rules and escalation \
             policy), not to targets of their own",
        ));
    }
    let mut conditions = Vec::with_capacity(spec.conditions.len());
    for (item, index) in spec.conditions.into_iter().zip(0..) {
        conditions.push(read_condition_item(
            &at.field(&format!("conditions[{index}]")),
            item,
            library,
        )?);
    }
    Ok(AlertPolicyDoc {
        name: metadata.name,
        display_name: metadata.display_name,
        description: spec.description,
        conditions,
    })
}

fn clone_metadata(metadata: &Metadata) -> Metadata {
    Metadata {
        name: metadata.name.clone(),
        display_name: metadata.display_name.clone(),
        annotations: metadata.annotations.clone(),
    }
}

fn check_kind(at: &At, kind: Option<&str>, wanted: &str) -> Result<(), OpenSloError> {
    match kind {
        None => Ok(()),
        Some(kind) if kind == wanted => Ok(()),
        Some(other) => Err(at
            .field("kind")
            .error(format!("{other:?} here is not {wanted}"))),
    }
}

fn read_condition_item(
    at: &At,
    item: Value,
    library: &mut Library,
) -> Result<AlertConditionDoc, OpenSloError> {
    let (at, metadata, spec) = resolve_item(
        at,
        item,
        &mut library.conditions,
        "AlertCondition",
        "conditionRef",
        false,
    )?;
    let mut short_window = None;
    for (key, value) in metadata.annotations {
        if key != SHORT_WINDOW_ANNOTATION {
            return Err(at
                .field(&format!("metadata.annotations.{key}"))
                .error(format!(
                    "the one annotation read is {SHORT_WINDOW_ANNOTATION} (the short lookback)"
                )));
        }
        short_window = Some(value);
    }
    let at_spec = at.field("spec");
    let spec: AlertConditionSpec = at_spec.read(spec)?;
    let condition = spec.condition;
    let at_condition = at_spec.field("condition");
    if condition.kind != "burnrate" {
        return Err(at_condition
            .field("kind")
            .error(format!("{:?} is not burnrate", condition.kind)));
    }
    if condition.op.as_deref().is_some_and(|op| op != "gte") {
        return Err(at_condition
            .field("op")
            .error("a burn-rate alert fires when the burn rate reaches the threshold: op is gte"));
    }
    if let Some(after) = &condition.alert_after
        && !is_zero_duration(after)
    {
        return Err(at_condition.field("alertAfter").error(format!(
            "{after:?}: an alert fires as soon as both lookbacks burn (the short lookback, \
             annotation {SHORT_WINDOW_ANNOTATION}, keeps it from flapping): alertAfter is 0m"
        )));
    }
    Ok(AlertConditionDoc {
        name: metadata.name,
        display_name: metadata.display_name,
        description: spec.description,
        severity: spec.severity,
        burn_rate: condition.threshold,
        lookback_window: condition.lookback_window,
        short_window,
    })
}

fn is_zero_duration(text: &str) -> bool {
    text.strip_suffix(['s', 'm', 'h', 'd', 'w'])
        .is_some_and(|count| !count.is_empty() && count.bytes().all(|digit| digit == b'0'))
}

/// The annotations [`read_pull`] reads back.
fn pull_annotations(pull: Option<&PullDoc>) -> BTreeMap<String, String> {
    let mut annotations = BTreeMap::new();
    if let Some(pull) = pull {
        annotations.insert(PULL_URL_ANNOTATION.to_owned(), pull.url.clone());
        if let Some(every) = &pull.every {
            annotations.insert(PULL_EVERY_ANNOTATION.to_owned(), every.clone());
        }
        if !pull.delegate_selector.is_empty() {
            annotations.insert(
                PULL_DELEGATE_SELECTOR_ANNOTATION.to_owned(),
                pull.delegate_selector.join(","),
            );
        }
    }
    annotations
}

/// Writes SLOs as OpenSLO v1 YAML, one document each with its SLI and alert policies
/// inline.
pub fn export(slos: &[ExportedSlo<'_>]) -> Result<String, String> {
    let documents: Vec<Document<SloSpec>> = slos.iter().map(exported).collect();
    serde_saphyr::to_string_multiple(&documents).map_err(|error| error.to_string())
}

fn exported(slo: &ExportedSlo<'_>) -> Document<SloSpec> {
    let document = slo.document;
    let metric = |metric: &MetricDoc| Metric {
        metric_source: MetricSource {
            source_type: metric.metric_source.source_type.clone(),
            spec: PrometheusSpec {
                query: metric.metric_source.spec.query.clone(),
            },
        },
    };
    let indicator = document.indicator.as_ref().map(|indicator| Inline {
        kind: None,
        metadata: Metadata {
            name: indicator
                .name
                .clone()
                .unwrap_or_else(|| slo.identifier.to_owned()),
            display_name: indicator.display_name.clone(),
            annotations: BTreeMap::new(),
        },
        spec: SliSpec {
            description: indicator.description.clone(),
            ratio_metric: indicator.ratio_metric.as_ref().map(|ratio| RatioMetric {
                counter: ratio.counter,
                good: ratio.good.as_ref().map(metric),
                bad: ratio.bad.as_ref().map(metric),
                total: metric(&ratio.total),
            }),
            threshold_metric: indicator.threshold_metric.as_ref().map(metric),
        },
    });
    let window = &document.time_window;
    let time_window = TimeWindow {
        duration: window.duration.clone(),
        is_rolling: Some(window.is_rolling),
        calendar: (!window.is_rolling).then(|| Calendar {
            start_time: CALENDAR_START.into(),
            time_zone: window.time_zone.clone().unwrap_or_else(|| "UTC".into()),
        }),
    };
    let budgeting_method = match document.budgeting_method.as_str() {
        "timeslices" => "Timeslices",
        _ => "Occurrences",
    };
    Document {
        api_version: API_VERSION,
        kind: "SLO",
        metadata: Metadata {
            name: slo.identifier.to_owned(),
            display_name: (slo.name != slo.identifier).then(|| slo.name.to_owned()),
            annotations: pull_annotations(document.pull.as_ref()),
        },
        spec: SloSpec {
            description: document.description.clone(),
            service: document.service.clone(),
            indicator,
            indicator_ref: None,
            time_window: vec![time_window],
            budgeting_method: budgeting_method.into(),
            objectives: vec![Objective {
                display_name: document.objective_display_name.clone(),
                op: document.op.clone(),
                value: document.value,
                target: Some(document.target),
                target_percent: None,
                time_slice_target: document.time_slice_target,
                time_slice_window: document.time_slice_window.clone(),
            }],
            alert_policies: document
                .alert_policies
                .iter()
                .map(exported_policy)
                .collect(),
        },
    }
}

fn exported_policy(policy: &AlertPolicyDoc) -> Value {
    let conditions = policy
        .conditions
        .iter()
        .map(|condition| {
            to_value(Inline {
                kind: Some("AlertCondition".into()),
                metadata: Metadata {
                    name: condition.name.clone(),
                    display_name: condition.display_name.clone(),
                    annotations: condition
                        .short_window
                        .iter()
                        .map(|short| (SHORT_WINDOW_ANNOTATION.to_owned(), short.clone()))
                        .collect(),
                },
                spec: AlertConditionSpec {
                    description: condition.description.clone(),
                    severity: condition.severity.clone(),
                    condition: BurnRateCondition {
                        kind: "burnrate".into(),
                        op: Some("gte".into()),
                        threshold: condition.burn_rate,
                        lookback_window: condition.lookback_window.clone(),
                        alert_after: Some("0m".into()),
                    },
                },
            })
        })
        .collect();
    to_value(Inline {
        kind: Some("AlertPolicy".into()),
        metadata: Metadata {
            name: policy.name.clone(),
            display_name: policy.display_name.clone(),
            annotations: BTreeMap::new(),
        },
        spec: AlertPolicySpec {
            description: policy.description.clone(),
            alert_when_no_data: Some(false),
            alert_when_breaching: Some(true),
            alert_when_resolved: Some(true),
            conditions,
            notification_targets: Vec::new(),
        },
    })
}

/// A document part as a JSON value (for the lists OpenSLO lets hold inline objects or
/// references). These types always encode.
fn to_value<T: Serialize>(part: T) -> Value {
    serde_json::to_value(part).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// An SLO in the form an export writes: SLI and alert policies inline, every field
    /// Rampart keeps, the short-window extension.
    const CANONICAL: &str = r#"apiVersion: openslo/v1
kind: SLO
metadata:
  name: checkout-availability
  displayName: Checkout availability
  annotations:
    rampart.dev/pull-delegate-selector: zone=eu,env=prod
    rampart.dev/pull-every: 2m
    rampart.dev/pull-url: http://prometheus.internal:9090
spec:
  description: Checkouts that succeed
  service: checkout
  indicator:
    metadata:
      name: checkout-errors
      displayName: Checkout errors
    spec:
      description: 5xx over all requests
      ratioMetric:
        counter: true
        bad:
          metricSource:
            type: Prometheus
            spec:
              query: http_requests_total{job="checkout",code=~"5.."}
        total:
          metricSource:
            type: Prometheus
            spec:
              query: http_requests_total{job="checkout"}
  timeWindow:
  - duration: 1M
    isRolling: false
    calendar:
      startTime: 2024-01-01 00:00:00
      timeZone: Europe/Berlin
  budgetingMethod: Timeslices
  objectives:
  - displayName: Good minutes
    target: 0.999
    timeSliceTarget: 0.95
    timeSliceWindow: 5m
  alertPolicies:
  - kind: AlertPolicy
    metadata:
      name: fast-burn
      displayName: Fast burn
    spec:
      description: Wakes someone
      alertWhenNoData: false
      alertWhenBreaching: true
      alertWhenResolved: true
      conditions:
      - kind: AlertCondition
        metadata:
          name: page-1h
          annotations:
            rampart.dev/short-window: 5m
        spec:
          severity: page
          condition:
            kind: burnrate
            op: gte
            threshold: 14.4
            lookbackWindow: 1h
            alertAfter: 0m
      - kind: AlertCondition
        metadata:
          name: ticket-3d
        spec:
          description: One lookback only
          severity: ticket
          condition:
            kind: burnrate
            op: gte
            threshold: 1.0
            lookbackWindow: 3d
            alertAfter: 0m
---
apiVersion: openslo/v1
kind: SLO
metadata:
  name: latency
spec:
  service: checkout
  indicator:
    metadata:
      name: latency
    spec:
      thresholdMetric:
        metricSource:
          type: Prometheus
          spec:
            query: request_seconds
  timeWindow:
  - duration: 28d
    isRolling: true
  budgetingMethod: Occurrences
  objectives:
  - op: lte
    value: 0.3
    target: 0.99
"#;

    fn yaml_values(text: &str) -> Vec<Value> {
        serde_saphyr::from_multiple(text).unwrap()
    }

    fn exported_text(slos: &[ImportedSlo]) -> String {
        let exported: Vec<ExportedSlo<'_>> = slos
            .iter()
            .map(|slo| ExportedSlo {
                identifier: slo.identifier.as_str(),
                name: slo.name.as_str(),
                document: &slo.document,
            })
            .collect();
        export(&exported).unwrap()
    }

    #[test]
    fn the_canonical_form_round_trips_unchanged() {
        let slos = import(CANONICAL).unwrap();
        assert_eq!(slos.len(), 2);
        let first = &slos[0];
        assert_eq!(first.identifier.as_str(), "checkout-availability");
        assert_eq!(first.name.as_str(), "Checkout availability");
        let definition = first.document.parse().unwrap();
        assert_eq!(definition.burn_windows.len(), 2);
        assert_eq!(
            definition.burn_windows[0].short,
            jiff::SignedDuration::from_mins(5)
        );
        assert_eq!(
            definition.burn_windows[0].long,
            jiff::SignedDuration::from_hours(1)
        );
        assert_eq!(
            definition.burn_windows[1].short,
            definition.burn_windows[1].long
        );
        let pull = slos[0].definition.pull.as_ref().unwrap();
        assert_eq!(pull.url, "http://prometheus.internal:9090");
        assert_eq!(pull.every, jiff::SignedDuration::from_mins(2));
        assert_eq!(pull.delegate_selector.to_strings(), ["env=prod", "zone=eu"]);
        // The same documents come back, field for field.
        let written = exported_text(&slos);
        assert_eq!(yaml_values(&written), yaml_values(CANONICAL), "{written}");
        // And what was written reads as the same SLOs.
        assert_eq!(import(&written).unwrap(), slos);
    }

    #[test]
    fn referenced_documents_import_as_their_inline_form() {
        let referenced = r#"
apiVersion: openslo/v1
kind: SLI
metadata:
  name: checkout-errors
  displayName: Checkout errors
spec:
  description: 5xx over all requests
  ratioMetric:
    counter: true
    bad:
      metricSource:
        type: Prometheus
        spec:
          query: http_requests_total{job="checkout",code=~"5.."}
    total:
      metricSource:
        type: Prometheus
        spec:
          query: http_requests_total{job="checkout"}
---
apiVersion: openslo/v1
kind: AlertCondition
metadata:
  name: page-1h
  annotations:
    rampart.dev/short-window: 5m
spec:
  severity: page
  condition:
    kind: burnrate
    threshold: 14.4
    lookbackWindow: 1h
    alertAfter: 0s
---
apiVersion: openslo/v1
kind: AlertPolicy
metadata:
  name: fast-burn
  displayName: Fast burn
spec:
  description: Wakes someone
  conditions:
  - conditionRef: page-1h
  - kind: AlertCondition
    metadata:
      name: ticket-3d
    spec:
      description: One lookback only
      severity: ticket
      condition:
        kind: burnrate
        op: gte
        threshold: 1
        lookbackWindow: 3d
---
- apiVersion: openslo/v1
  kind: SLO
  metadata:
    name: checkout-availability
    displayName: Checkout availability
    annotations:
      rampart.dev/pull-url: http://prometheus.internal:9090
      rampart.dev/pull-every: 2m
      rampart.dev/pull-delegate-selector: zone=eu, env=prod
  spec:
    description: Checkouts that succeed
    service: checkout
    indicatorRef: checkout-errors
    timeWindow:
    - duration: 1M
      calendar:
        startTime: 2026-03-01 00:00:00
        timeZone: Europe/Berlin
    budgetingMethod: Timeslices
    objectives:
    - displayName: Good minutes
      targetPercent: 99.9
      timeSliceTarget: 0.95
      timeSliceWindow: 5m
    alertPolicies:
    - alertPolicyRef: fast-burn
"#;
        let from_references = import(referenced).unwrap();
        let inline = import(CANONICAL).unwrap();
        assert_eq!(from_references.len(), 1);
        let (mut got, want) = (from_references[0].clone(), inline[0].clone());
        // 99.9 % is 0.999 give or take the last bit of a double.
        assert!((got.document.target - want.document.target).abs() < 1e-12);
        got.document.target = want.document.target;
        got.definition = got.document.parse().unwrap();
        assert_eq!(got, want);
    }

    /// Each refusal names the document and the field.
    #[test]
    fn bad_input_is_refused_naming_the_field() {
        let slo = |spec_tail: &str| {
            format!(
                "apiVersion: openslo/v1\nkind: SLO\nmetadata:\n  name: s\nspec:\n  service: api\n  \
                 timeWindow:\n  - duration: 30d\n    isRolling: true\n  budgetingMethod: \
                 Occurrences\n{spec_tail}"
            )
        };
        let objective = "  objectives:\n  - target: 0.99\n";
        let policy = |condition: &str, extra: &str| {
            slo(&format!(
                "{objective}  alertPolicies:\n  - kind: AlertPolicy\n    metadata:\n      name: p\n    \
                 spec:\n{extra}      conditions:\n      - kind: AlertCondition\n        metadata:\n          \
                 name: c\n        spec:\n          severity: page\n          condition:\n            \
                 kind: burnrate\n            threshold: 2\n            lookbackWindow: 1h\n{condition}"
            ))
        };
        let cases: Vec<(String, &str, &str)> = vec![
            ("a: [1, 2".into(), "YAML", ""),
            ("a: 1\na: 2\n".into(), "YAML", "duplicate"),
            (
                slo(objective).replace("openslo/v1", "openslo/v2alpha"),
                "document 1: apiVersion",
                "openslo/v2alpha",
            ),
            (
                slo(objective).replace("  name: s\n", "  name: s\n  labels:\n    team: [a]\n"),
                "document 1: metadata.labels",
                "unknown field",
            ),
            (
                slo(objective).replace("kind: SLO", "kind: Service"),
                "document 1 (Service s): kind",
                "not imported",
            ),
            (
                slo(objective).replace("Occurrences", "RatioTimeslices"),
                "document 1 (SLO s): spec.budgetingMethod",
                "RatioTimeslices",
            ),
            (
                slo("  objectives:\n  - target: 0.99\n  - target: 0.9\n"),
                "document 1 (SLO s): spec.objectives",
                "exactly one",
            ),
            (
                slo("  objectives:\n  - target: 1.5\n"),
                "document 1 (SLO s): spec.objectives[0].target",
                "",
            ),
            (
                slo("  objectives:\n  - target: 0.99\n    targetPercent: 99\n"),
                "document 1 (SLO s): spec.objectives[0].target",
                "one of them",
            ),
            (
                slo("  objectives:\n  - target: high\n"),
                "document 1 (SLO s): spec.objectives[0].target",
                "",
            ),
            (
                slo(&format!(
                    "{objective}  indicator:\n    metadata:\n      name: i\n    spec:\n      \
                     ratioMetric:\n        counter: false\n        rawType: success\n        raw:\n          \
                     metricSource:\n            type: Prometheus\n            spec:\n              query: x\n"
                )),
                "document 1 (SLO s): spec.indicator.spec.ratioMetric",
                "unknown field `raw",
            ),
            (
                slo(&format!(
                    "{objective}  indicator:\n    metadata:\n      name: i\n    spec:\n      \
                     thresholdMetric:\n        metricSource:\n          metricSourceRef: prom\n          \
                     type: Prometheus\n          spec:\n            query: x\n"
                )),
                "document 1 (SLO s): spec.indicator.spec.thresholdMetric.metricSource",
                "metricSourceRef",
            ),
            (
                slo(&format!("{objective}  indicatorRef: missing\n")),
                "document 1 (SLO s): spec.indicatorRef",
                "no SLI document",
            ),
            (
                slo(objective).replace(
                    "  - duration: 30d\n    isRolling: true\n",
                    "  - duration: 1w\n    calendar:\n      startTime: 2022-01-01 12:00:00\n      \
                     timeZone: UTC\n",
                ),
                "document 1 (SLO s): spec.timeWindow[0].calendar.startTime",
                "midnight",
            ),
            (
                policy("            alertAfter: 5m\n", ""),
                "spec.alertPolicies[0].spec.conditions[0].spec.condition.alertAfter",
                "0m",
            ),
            (
                policy("", "      alertWhenNoData: true\n"),
                "spec.alertPolicies[0].spec.alertWhenNoData",
                "false",
            ),
            (
                policy(
                    "",
                    "      notificationTargets:\n      - targetRef: pagerduty\n",
                ),
                "spec.alertPolicies[0].spec.notificationTargets",
                "escalation policy",
            ),
            (
                policy("            op: lt\n", ""),
                "spec.alertPolicies[0].spec.conditions[0].spec.condition.op",
                "gte",
            ),
            (
                policy("", "").replace("severity: page", "severity: critical"),
                "document 1 (SLO s): spec.alertPolicies",
                "page or ticket",
            ),
            (
                policy("", "").replace(
                    "name: c\n",
                    "name: c\n          annotations:\n            rampart.dev/short-window: 2h\n",
                ),
                "document 1 (SLO s): spec.alertPolicies",
                "at most the long one",
            ),
            (
                policy("", "").replace(
                    "name: c\n",
                    "name: c\n          annotations:\n            team: a\n",
                ),
                "spec.alertPolicies[0].spec.conditions[0].metadata.annotations.team",
                "rampart.dev/short-window",
            ),
            (
                policy("", "").replace(
                    "      name: p\n",
                    "      name: p\n      annotations:\n        team: a\n",
                ),
                "spec.alertPolicies[0].metadata.annotations",
                "read only on SLOs",
            ),
            (
                slo(objective).replace("  name: s\n", "  name: s\n  annotations:\n    team: a\n"),
                "document 1 (SLO s): metadata.annotations.team",
                "a delegate's pull",
            ),
            (
                slo(objective).replace(
                    "  name: s\n",
                    "  name: s\n  annotations:\n    rampart.dev/pull-every: 5m\n",
                ),
                "document 1 (SLO s): metadata.annotations.rampart.dev/pull-url",
                "needs the URL",
            ),
            (
                slo(objective).replace(
                    "  name: s\n",
                    "  name: s\n  annotations:\n    rampart.dev/pull-url: http://p:9090\n",
                ),
                "document 1 (SLO s): metadata.annotations",
                "a ratio indicator",
            ),
            (
                format!(
                    "{}---\napiVersion: openslo/v1\nkind: SLI\nmetadata:\n  name: spare\nspec:\n  \
                     thresholdMetric:\n    metricSource:\n      type: Prometheus\n      spec:\n        \
                     query: x\n",
                    slo(objective)
                ),
                "document 2 (SLI spare)",
                "no SLO refers to it",
            ),
            (
                format!("{}---\n{}", slo(objective), slo(objective)),
                "document 2 (SLO s): metadata.name",
                "second SLO",
            ),
        ];
        for (text, path, reason) in cases {
            let error = import(&text).expect_err(&text);
            assert!(
                error.path.starts_with(path) || error.path.ends_with(path),
                "{path} vs {error}\n{text}"
            );
            assert!(error.reason.contains(reason), "{reason:?} vs {error}");
        }
    }

    /// A billion laughs stops at the parser's budget instead of eating memory.
    #[test]
    fn alias_bombs_are_refused() {
        let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x]\n");
        for (level, previous) in ('b'..='j').zip('a'..) {
            let row = vec![format!("*{previous}"); 9].join(", ");
            text.push_str(&format!("{level}: &{level} [{row}]\n"));
        }
        let error = import(&text).unwrap_err();
        assert_eq!(error.path, "YAML");
    }

    fn metric() -> impl Strategy<Value = MetricDoc> {
        "[a-z_]{1,12}".prop_map(|name| MetricDoc {
            metric_source: MetricSourceDoc {
                source_type: "Prometheus".into(),
                spec: PrometheusSourceDoc {
                    query: format!("{name}{{job=\"api\"}}"),
                },
            },
        })
    }

    prop_compose! {
        fn documents()(
            rolling in any::<bool>(),
            days in 1..=90u32,
            calendar in prop::sample::select(vec!["1w", "1M", "1Q", "1Y"]),
            zone in prop::sample::select(vec!["UTC", "Europe/Berlin", "Australia/Lord_Howe"]),
            nines in 1..=5u32,
            timeslices in any::<bool>(),
            slice in 1..=60u32,
            indicator_kind in 0..3u32,
            counter in any::<bool>(),
            part in metric(),
            total in metric(),
            policies in prop::collection::vec(
                (any::<bool>(), 1..=24u32, 1..=60u32, 1..=20u32, any::<bool>()), 0..4),
            description in "[A-Za-z ]{0,20}",
            pull in prop::option::of((1..=60u32, prop::collection::vec("[a-z]{1,8}=[a-z0-9]{1,8}", 0..3))),
        ) -> SloDoc {
            let target = 1.0 - 10f64.powi(-(nines as i32));
            let indicator = match indicator_kind {
                0 => None,
                1 => Some(IndicatorDoc {
                    name: Some("sli".into()),
                    display_name: None,
                    description: String::new(),
                    ratio_metric: Some(RatioMetricDoc {
                        counter,
                        good: counter.then(|| part.clone()),
                        bad: (!counter).then(|| part.clone()),
                        total,
                    }),
                    threshold_metric: None,
                }),
                _ => Some(IndicatorDoc {
                    name: Some("sli".into()),
                    display_name: Some("The SLI".into()),
                    description: "latency".into(),
                    ratio_metric: None,
                    threshold_metric: Some(part),
                }),
            };
            let threshold = indicator_kind == 2;
            SloDoc {
                description: description.trim().to_owned(),
                service: "api".into(),
                target,
                time_window: TimeWindowDoc {
                    duration: if rolling { format!("{days}d") } else { calendar.into() },
                    is_rolling: rolling,
                    time_zone: (!rolling).then(|| zone.into()),
                },
                budgeting_method: if timeslices { "timeslices" } else { "occurrences" }.into(),
                time_slice_target: timeslices.then_some(0.9),
                time_slice_window: timeslices.then(|| format!("{slice}m")),
                indicator,
                op: threshold.then(|| "lte".into()),
                value: threshold.then_some(0.25),
                objective_display_name: None,
                alert_policies: policies
                    .into_iter()
                    .enumerate()
                    .map(|(index, (page, hours, minutes, rate, short))| AlertPolicyDoc {
                        name: format!("policy-{index}"),
                        display_name: None,
                        description: String::new(),
                        conditions: vec![AlertConditionDoc {
                            name: format!("condition-{index}"),
                            display_name: None,
                            description: String::new(),
                            severity: if page { "page" } else { "ticket" }.into(),
                            burn_rate: f64::from(rate) / 2.0,
                            lookback_window: format!("{hours}h"),
                            short_window: short.then(|| format!("{minutes}m")),
                        }],
                    })
                    .collect(),
                pull: pull
                    .filter(|_| indicator_kind == 1)
                    .map(|(every, delegate_selector)| PullDoc {
                        url: "http://prometheus.internal:9090/prom".into(),
                        delegate_selector,
                        every: (every != 1).then(|| format!("{every}m")),
                    }),
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        /// Whatever valid SLO is exported reads back as the same SLO.
        #[test]
        fn every_exported_slo_imports_as_itself(document in documents()) {
            prop_assume!(document.parse().is_ok());
            let slo = ImportedSlo {
                identifier: Slug::parse("generated").unwrap(),
                name: Name::parse("Generated SLO").unwrap(),
                definition: document.parse().unwrap(),
                document,
            };
            let written = exported_text(std::slice::from_ref(&slo));
            let read = import(&written).map_err(|error| TestCaseError::fail(format!("{error}\n{written}")))?;
            prop_assert_eq!(read, vec![slo]);
        }
    }
}
