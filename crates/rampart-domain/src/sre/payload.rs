//! Incoming alert payloads: what each monitoring tool sends, decoded into one shape.
//!
//! Formats: `alertmanager` (Prometheus Alertmanager webhook v4), `grafana` (Grafana
//! alerting webhook), `pagerduty` (PagerDuty Events API v2) and `generic` (Rampart's
//! documented JSON). Dedup keys: Alertmanager's and Grafana's per-alert `fingerprint`
//! (never the summary), PagerDuty's `dedup_key` (generated for a trigger without one),
//! the generic `dedup_key`.
//!
//! Limits: a summary holds at most [`SUMMARY_CHARS_MAX`] characters and a dedup key at
//! most [`DEDUP_KEY_CHARS_MAX`]. A single-event format (PagerDuty, generic) that breaks
//! them is refused with a specific code, because its sender can fix it; a batch from
//! Alertmanager or Grafana is never refused for one long description (the sender would
//! drop the whole group): its summaries are cut at the limit with an ellipsis. Only
//! payloads that cannot be read are refused from those.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::{ErrorCode, Refusal};

/// The most characters of an alert summary.
pub const SUMMARY_CHARS_MAX: usize = 1024;
/// The most characters of a dedup key.
pub const DEDUP_KEY_CHARS_MAX: usize = 255;
/// The largest webhook body, in bytes.
pub const WEBHOOK_BODY_BYTES_MAX: usize = 512 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Alertmanager,
    Grafana,
    PagerDuty,
    Generic,
}

impl Format {
    pub fn parse(text: &str) -> Result<Self, crate::ValidationError> {
        match text {
            "alertmanager" => Ok(Self::Alertmanager),
            "grafana" => Ok(Self::Grafana),
            "pagerduty" => Ok(Self::PagerDuty),
            "generic" => Ok(Self::Generic),
            _ => Err(crate::ValidationError::new(
                "format",
                "must be alertmanager, grafana, pagerduty or generic",
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Alertmanager => "alertmanager",
            Self::Grafana => "grafana",
            Self::PagerDuty => "pagerduty",
            Self::Generic => "generic",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Trigger,
    Acknowledge,
    Resolve,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Info,
    Warning,
    Error,
    Critical,
}

impl Severity {
    /// Reads the words tools use; anything else is `None` (the caller's default).
    pub fn from_label(text: &str) -> Option<Self> {
        match text.to_ascii_lowercase().as_str() {
            "critical" | "crit" | "page" | "p1" | "sev0" | "sev1" | "fatal" | "emergency" => {
                Some(Self::Critical)
            }
            "error" | "err" | "high" | "major" | "p2" | "sev2" => Some(Self::Error),
            "warning" | "warn" | "medium" | "minor" | "p3" | "sev3" => Some(Self::Warning),
            "info" | "informational" | "low" | "notice" | "p4" | "p5" | "sev4" => Some(Self::Info),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Error => "error",
            Self::Critical => "critical",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Link {
    pub href: String,
    pub text: String,
}

/// One alert event, whatever the format.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertEvent {
    pub dedup_key: String,
    pub action: Action,
    pub summary: String,
    pub severity: Severity,
    /// Where it comes from (an instance, a host, a rule).
    pub source: String,
    /// Alerts of one group (Alertmanager's `groupKey`) open one incident together.
    pub group_key: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub links: Vec<Link>,
    pub details: Value,
}

/// A decoded body.
#[derive(Clone, Debug, PartialEq)]
pub struct Decoded {
    pub events: Vec<AlertEvent>,
    /// Alerts the sender left out (Alertmanager's `truncatedAlerts`).
    pub truncated: u64,
    /// The dedup key generated for a PagerDuty trigger that had none (returned to the
    /// sender, as PagerDuty does).
    pub generated_dedup_key: Option<String>,
}

/// Why a body was refused: a catalogued code (400, or 413 `payload_too_large`).
pub type PayloadError = Refusal;

fn invalid(code: ErrorCode, message: impl Into<String>) -> PayloadError {
    Refusal::new(code, message)
}

/// Cuts `text` to the summary limit, ending with an ellipsis when it was longer.
fn cut_summary(text: &str) -> String {
    if text.chars().count() <= SUMMARY_CHARS_MAX {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(SUMMARY_CHARS_MAX - 1).collect();
    cut.push('…');
    cut
}

fn check_summary(summary: &str) -> Result<(), PayloadError> {
    if summary.trim().is_empty() {
        return Err(invalid(
            ErrorCode::SummaryMissing,
            "an alert needs a summary",
        ));
    }
    if summary.chars().count() > SUMMARY_CHARS_MAX {
        return Err(invalid(
            ErrorCode::SummaryTooLong,
            format!("a summary holds at most {SUMMARY_CHARS_MAX} characters"),
        ));
    }
    Ok(())
}

fn check_dedup_key(key: &str) -> Result<(), PayloadError> {
    if key.is_empty() {
        return Err(invalid(
            ErrorCode::DedupKeyMissing,
            "the dedup key is empty",
        ));
    }
    if key.chars().count() > DEDUP_KEY_CHARS_MAX {
        return Err(invalid(
            ErrorCode::DedupKeyTooLong,
            format!("a dedup key holds at most {DEDUP_KEY_CHARS_MAX} characters"),
        ));
    }
    Ok(())
}

/// Decodes `body` sent in `format`. `generate_key` makes a dedup key for a PagerDuty
/// trigger without one (randomness is the caller's: the domain has none).
pub fn decode(
    format: Format,
    body: &[u8],
    generate_key: impl FnOnce() -> String,
) -> Result<Decoded, PayloadError> {
    if body.len() > WEBHOOK_BODY_BYTES_MAX {
        return Err(invalid(
            ErrorCode::PayloadTooLarge,
            format!("a webhook body holds at most {WEBHOOK_BODY_BYTES_MAX} bytes"),
        ));
    }
    let decoded = match format {
        Format::Alertmanager | Format::Grafana => decode_prometheus_style(format, body)?,
        Format::PagerDuty => decode_pagerduty(body, generate_key)?,
        Format::Generic => decode_generic(body)?,
    };
    // Keys, labels and summaries are stored as text (or their digests looked up): a NUL
    // would be kept by one engine and refused by the other. Refused alike, with a 400,
    // so the sender does not retry forever.
    if crate::json_has_nul(body) {
        return Err(invalid(
            ErrorCode::NulCharacter,
            "the payload holds a NUL character (\\u0000), which no alert field accepts",
        ));
    }
    Ok(decoded)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PrometheusBody {
    #[serde(default)]
    group_key: Option<String>,
    #[serde(default)]
    truncated_alerts: u64,
    #[serde(default, rename = "externalURL")]
    external_url: Option<String>,
    alerts: Vec<PrometheusAlert>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PrometheusAlert {
    status: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    #[serde(default, rename = "generatorURL")]
    generator_url: Option<String>,
    #[serde(default)]
    fingerprint: Option<String>,
    #[serde(default)]
    starts_at: Option<String>,
    #[serde(default)]
    ends_at: Option<String>,
    // Grafana's extras.
    #[serde(default, rename = "dashboardURL")]
    dashboard_url: Option<String>,
    #[serde(default, rename = "panelURL")]
    panel_url: Option<String>,
    #[serde(default)]
    value_string: Option<String>,
}

/// A stand-in fingerprint from the labels when a sender omits it: the sorted label
/// pairs, so the same alert always gets the same key.
fn labels_key(labels: &BTreeMap<String, String>) -> String {
    let mut key = String::from("labels:");
    for (name, value) in labels {
        key.push_str(name);
        key.push('=');
        key.push_str(value);
        key.push(';');
    }
    key.chars().take(DEDUP_KEY_CHARS_MAX).collect()
}

fn decode_prometheus_style(format: Format, body: &[u8]) -> Result<Decoded, PayloadError> {
    let parsed: PrometheusBody = crate::json::from_slice(body).map_err(|error| {
        invalid(
            ErrorCode::InvalidPayload,
            format!("not a {} webhook body: {error}", format.as_str()),
        )
    })?;
    let mut events = Vec::with_capacity(parsed.alerts.len());
    for alert in parsed.alerts {
        let action = match alert.status.as_str() {
            "firing" | "alerting" => Action::Trigger,
            "resolved" | "ok" | "normal" => Action::Resolve,
            other => {
                return Err(invalid(
                    ErrorCode::InvalidPayload,
                    format!("alert status {other:?} is neither firing nor resolved"),
                ));
            }
        };
        let dedup_key = match alert.fingerprint.filter(|f| !f.is_empty()) {
            Some(fingerprint) => fingerprint.chars().take(DEDUP_KEY_CHARS_MAX).collect(),
            None => labels_key(&alert.labels),
        };
        let summary = alert
            .annotations
            .get("summary")
            .or_else(|| alert.annotations.get("description"))
            .or_else(|| alert.labels.get("alertname"))
            .cloned()
            .unwrap_or_else(|| "alert".to_owned());
        let severity = alert
            .labels
            .get("severity")
            .and_then(|label| Severity::from_label(label))
            .unwrap_or(Severity::Warning);
        let source = alert
            .labels
            .get("instance")
            .or_else(|| alert.labels.get("job"))
            .cloned()
            .unwrap_or_else(|| format.as_str().to_owned());
        let mut links = Vec::new();
        for (href, text) in [
            (alert.generator_url, "source"),
            (alert.dashboard_url, "dashboard"),
            (alert.panel_url, "panel"),
            (parsed.external_url.clone(), format.as_str()),
        ] {
            if let Some(href) = href.filter(|h| !h.is_empty()) {
                links.push(Link {
                    href,
                    text: text.to_owned(),
                });
            }
        }
        let mut details = serde_json::Map::new();
        for (name, value) in [
            ("starts_at", alert.starts_at),
            ("ends_at", alert.ends_at),
            ("value", alert.value_string),
        ] {
            if let Some(value) = value {
                details.insert(name.to_owned(), Value::String(value));
            }
        }
        events.push(AlertEvent {
            dedup_key,
            action,
            summary: cut_summary(&summary),
            severity,
            source,
            group_key: parsed.group_key.clone(),
            labels: alert.labels,
            annotations: alert.annotations,
            links,
            details: Value::Object(details),
        });
    }
    Ok(Decoded {
        events,
        truncated: parsed.truncated_alerts,
        generated_dedup_key: None,
    })
}

#[derive(Deserialize)]
struct PagerDutyBody {
    event_action: String,
    #[serde(default)]
    dedup_key: Option<String>,
    /// Read only for a trigger: PagerDuty ignores it on acknowledge and resolve, and
    /// senders such as Alertmanager and Grafana send one with every event.
    #[serde(default)]
    payload: Option<Value>,
    #[serde(default)]
    links: Vec<PagerDutyLink>,
}

/// The `routing_key` of a PagerDuty Events API v2 body, the integration key that
/// PagerDuty senders put in the body instead of a header: how the PagerDuty-compatible
/// route finds its integration, and how a `routing_key` integration checks its sender.
/// Only that field is read; [`decode`] reads the event.
pub fn pagerduty_routing_key(body: &[u8]) -> Result<String, PayloadError> {
    if body.len() > WEBHOOK_BODY_BYTES_MAX {
        return Err(invalid(
            ErrorCode::PayloadTooLarge,
            format!("a webhook body holds at most {WEBHOOK_BODY_BYTES_MAX} bytes"),
        ));
    }
    // A map, not a struct: serde would read a struct from a JSON array too.
    let mut event: serde_json::Map<String, Value> =
        crate::json::from_slice(body).map_err(|error| {
            invalid(
                ErrorCode::InvalidPayload,
                format!("not a PagerDuty Events v2 body: {error}"),
            )
        })?;
    match event.remove("routing_key") {
        Some(Value::String(key)) if !key.is_empty() => Ok(key),
        _ => Err(invalid(
            ErrorCode::RoutingKeyMissing,
            "the event carries its integration key as routing_key, a non-empty string",
        )),
    }
}

#[derive(Deserialize)]
struct PagerDutyPayload {
    summary: String,
    source: String,
    severity: String,
    #[serde(default)]
    component: Option<String>,
    #[serde(default)]
    group: Option<String>,
    #[serde(default)]
    class: Option<String>,
    #[serde(default)]
    custom_details: Option<Value>,
}

#[derive(Deserialize)]
struct PagerDutyLink {
    href: String,
    #[serde(default)]
    text: String,
}

fn decode_pagerduty(
    body: &[u8],
    generate_key: impl FnOnce() -> String,
) -> Result<Decoded, PayloadError> {
    let parsed: PagerDutyBody = crate::json::from_slice(body).map_err(|error| {
        invalid(
            ErrorCode::InvalidPayload,
            format!("not a PagerDuty Events v2 body: {error}"),
        )
    })?;
    let action = match parsed.event_action.as_str() {
        "trigger" => Action::Trigger,
        "acknowledge" => Action::Acknowledge,
        "resolve" => Action::Resolve,
        other => {
            return Err(invalid(
                ErrorCode::InvalidEventAction,
                format!("event_action {other:?} is not trigger, acknowledge or resolve"),
            ));
        }
    };
    let mut generated = None;
    let dedup_key = match (parsed.dedup_key.filter(|k| !k.is_empty()), action) {
        (Some(key), _) => key,
        (None, Action::Trigger) => {
            let key = generate_key();
            generated = Some(key.clone());
            key
        }
        (None, _) => {
            return Err(invalid(
                ErrorCode::DedupKeyMissing,
                "acknowledge and resolve events name the alert by dedup_key",
            ));
        }
    };
    check_dedup_key(&dedup_key)?;
    let (summary, severity, source, details, labels) = match (parsed.payload, action) {
        (Some(payload), Action::Trigger) => {
            let payload: PagerDutyPayload = crate::json::from_value(payload).map_err(|error| {
                invalid(
                    ErrorCode::InvalidPayload,
                    format!("not a PagerDuty trigger payload: {error}"),
                )
            })?;
            check_summary(&payload.summary)?;
            let severity = Severity::from_label(&payload.severity).ok_or_else(|| {
                invalid(
                    ErrorCode::InvalidSeverity,
                    "severity is critical, error, warning or info",
                )
            })?;
            let mut labels = BTreeMap::new();
            for (name, value) in [
                ("component", payload.component),
                ("group", payload.group),
                ("class", payload.class),
            ] {
                if let Some(value) = value {
                    labels.insert(name.to_owned(), value);
                }
            }
            (
                payload.summary,
                severity,
                payload.source,
                payload.custom_details.unwrap_or(Value::Null),
                labels,
            )
        }
        (None, Action::Trigger) => {
            return Err(invalid(
                ErrorCode::PayloadMissing,
                "a trigger carries payload.summary, payload.source and payload.severity",
            ));
        }
        // Acknowledge and resolve name the alert by its dedup key; what else they say
        // is not used (their payload, if any, is not checked).
        (_, Action::Acknowledge | Action::Resolve) => (
            String::new(),
            Severity::Warning,
            String::new(),
            Value::Null,
            BTreeMap::new(),
        ),
    };
    Ok(Decoded {
        events: vec![AlertEvent {
            dedup_key,
            action,
            summary,
            severity,
            source,
            group_key: None,
            labels,
            annotations: BTreeMap::new(),
            links: parsed
                .links
                .into_iter()
                .map(|link| Link {
                    href: link.href,
                    text: link.text,
                })
                .collect(),
            details,
        }],
        truncated: 0,
        generated_dedup_key: generated,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GenericBody {
    dedup_key: String,
    #[serde(default = "default_action")]
    action: String,
    #[serde(default)]
    summary: Option<String>,
    #[serde(default)]
    severity: Option<String>,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    group_key: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    details: Option<Value>,
    #[serde(default)]
    links: Vec<PagerDutyLink>,
}

fn default_action() -> String {
    "trigger".into()
}

fn decode_generic(body: &[u8]) -> Result<Decoded, PayloadError> {
    let parsed: GenericBody = crate::json::from_slice(body).map_err(|error| {
        invalid(
            ErrorCode::InvalidPayload,
            format!("not a generic alert: {error}"),
        )
    })?;
    check_dedup_key(&parsed.dedup_key)?;
    let action = match parsed.action.as_str() {
        "trigger" => Action::Trigger,
        "acknowledge" => Action::Acknowledge,
        "resolve" => Action::Resolve,
        other => {
            return Err(invalid(
                ErrorCode::InvalidAction,
                format!("action {other:?} is not trigger, acknowledge or resolve"),
            ));
        }
    };
    let summary = parsed.summary.unwrap_or_default();
    if action == Action::Trigger {
        check_summary(&summary)?;
    }
    let severity = match parsed.severity.as_deref() {
        None => Severity::Warning,
        Some(text) => Severity::from_label(text).ok_or_else(|| {
            invalid(
                ErrorCode::InvalidSeverity,
                "severity is critical, error, warning or info",
            )
        })?,
    };
    Ok(Decoded {
        events: vec![AlertEvent {
            dedup_key: parsed.dedup_key,
            action,
            summary,
            severity,
            source: parsed.source.unwrap_or_else(|| "generic".into()),
            group_key: parsed.group_key,
            labels: parsed.labels,
            annotations: BTreeMap::new(),
            links: parsed
                .links
                .into_iter()
                .map(|link| Link {
                    href: link.href,
                    text: link.text,
                })
                .collect(),
            details: parsed.details.unwrap_or(Value::Null),
        }],
        truncated: 0,
        generated_dedup_key: None,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn key() -> String {
        "generated-key".into()
    }

    fn alertmanager(alerts: Value, truncated: u64) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "version": "4", "groupKey": "{}:{alertname=\"HighLatency\"}", "truncatedAlerts": truncated,
            "status": "firing", "receiver": "rampart", "groupLabels": {"alertname": "HighLatency"},
            "commonLabels": {}, "commonAnnotations": {}, "externalURL": "http://am:9093",
            "alerts": alerts
        }))
        .unwrap()
    }

    #[test]
    fn alertmanager_groups_decode_per_fingerprint_with_mixed_status() {
        let body = alertmanager(
            json!([
                {"status": "firing", "labels": {"alertname": "HighLatency", "severity": "critical", "instance": "web-1"},
                 "annotations": {"summary": "p99 above 2s"}, "startsAt": "2026-11-23T10:00:00Z",
                 "generatorURL": "http://prom/graph", "fingerprint": "a1b2c3d4e5f60718"},
                {"status": "resolved", "labels": {"alertname": "HighLatency", "instance": "web-2"},
                 "annotations": {"summary": "p99 above 2s"}, "fingerprint": "0011223344556677"}
            ]),
            3,
        );
        let decoded = decode(Format::Alertmanager, &body, key).unwrap();
        assert_eq!(decoded.truncated, 3);
        assert_eq!(decoded.events.len(), 2);
        let [first, second] = decoded.events.as_slice() else {
            panic!()
        };
        // Same summary, different alerts: the key is the fingerprint, never the summary.
        assert_eq!(first.dedup_key, "a1b2c3d4e5f60718");
        assert_eq!(second.dedup_key, "0011223344556677");
        assert_eq!(first.action, Action::Trigger);
        assert_eq!(second.action, Action::Resolve);
        assert_eq!(first.severity, Severity::Critical);
        assert_eq!(first.source, "web-1");
        assert_eq!(
            first.group_key.as_deref(),
            Some("{}:{alertname=\"HighLatency\"}")
        );
        assert_eq!(first.links[0].href, "http://prom/graph");
    }

    #[test]
    fn a_long_alertmanager_description_is_cut_not_refused() {
        let body = alertmanager(
            json!([{"status": "firing", "labels": {"alertname": "X"},
                    "annotations": {"summary": "é".repeat(5000)}, "fingerprint": "f"}]),
            0,
        );
        let decoded = decode(Format::Alertmanager, &body, key).unwrap();
        let summary = &decoded.events[0].summary;
        assert_eq!(summary.chars().count(), SUMMARY_CHARS_MAX);
        assert!(summary.ends_with('…'));
        // Only unreadable bodies are refused.
        for bad in [
            b"{".to_vec(),
            br#"{"alerts": "no"}"#.to_vec(),
            alertmanager(json!([{"status": "pending", "fingerprint": "f"}]), 0),
        ] {
            assert_eq!(
                decode(Format::Alertmanager, &bad, key)
                    .unwrap_err()
                    .code
                    .as_str(),
                "invalid_payload"
            );
        }
    }

    #[test]
    fn grafana_alerts_decode_like_alertmanager_with_their_links() {
        let body = serde_json::to_vec(&json!({
            "receiver": "rampart", "status": "firing", "orgId": 1, "groupKey": "g",
            "alerts": [{"status": "firing", "labels": {"alertname": "DiskFull", "severity": "warning"},
                        "annotations": {"description": "disk 95%"}, "fingerprint": "9f9f",
                        "dashboardURL": "http://grafana/d/1", "panelURL": "http://grafana/d/1?viewPanel=2",
                        "valueString": "[ var='A' value=95 ]"}],
            "truncatedAlerts": 0, "version": "1"
        }))
        .unwrap();
        let decoded = decode(Format::Grafana, &body, key).unwrap();
        let event = &decoded.events[0];
        assert_eq!(event.dedup_key, "9f9f");
        assert_eq!(event.summary, "disk 95%");
        assert!(event.links.iter().any(|l| l.text == "dashboard"));
        assert_eq!(event.details["value"], "[ var='A' value=95 ]");
    }

    #[test]
    fn pagerduty_events_follow_the_events_api() {
        let trigger = br#"{"routing_key":"r","event_action":"trigger",
            "payload":{"summary":"DB down","source":"db-1","severity":"critical","component":"postgres",
                       "custom_details":{"free_space":"1%"}},
            "links":[{"href":"https://runbook","text":"runbook"}]}"#;
        let decoded = decode(Format::PagerDuty, trigger, key).unwrap();
        assert_eq!(
            decoded.generated_dedup_key.as_deref(),
            Some("generated-key")
        );
        let event = &decoded.events[0];
        assert_eq!(event.dedup_key, "generated-key");
        assert_eq!(event.severity, Severity::Critical);
        assert_eq!(event.labels["component"], "postgres");
        assert_eq!(event.details["free_space"], "1%");

        let resolve = br#"{"routing_key":"r","event_action":"resolve","dedup_key":"k1"}"#;
        let decoded = decode(Format::PagerDuty, resolve, key).unwrap();
        assert_eq!(decoded.events[0].action, Action::Resolve);
        assert_eq!(decoded.generated_dedup_key, None);
        // Alertmanager and Grafana send a payload with their resolves too; only a
        // trigger's is read, so one PagerDuty would accept is not refused here.
        let resolve_with_payload = br#"{"event_action":"resolve","dedup_key":"k1",
            "payload":{"summary":"","source":"am","severity":"custom"}}"#;
        let decoded = decode(Format::PagerDuty, resolve_with_payload, key).unwrap();
        assert_eq!(decoded.events[0].action, Action::Resolve);

        let long_summary = json!({"event_action": "trigger", "dedup_key": "k",
            "payload": {"summary": "x".repeat(1025), "source": "s", "severity": "info"}});
        let long_key = json!({"event_action": "trigger", "dedup_key": "k".repeat(256),
            "payload": {"summary": "s", "source": "s", "severity": "info"}});
        for (body, code) in [
            (long_summary, "summary_too_long"),
            (long_key, "dedup_key_too_long"),
            (json!({"event_action": "resolve"}), "dedup_key_missing"),
            (json!({"event_action": "trigger"}), "payload_missing"),
            (
                json!({"event_action": "trigger", "payload": {"summary": "s"}}),
                "invalid_payload",
            ),
            (
                json!({"event_action": "explode", "dedup_key": "k"}),
                "invalid_event_action",
            ),
            (
                json!({"event_action": "trigger", "dedup_key": "k",
                    "payload": {"summary": "s", "source": "s", "severity": "bad"}}),
                "invalid_severity",
            ),
        ] {
            let error =
                decode(Format::PagerDuty, &serde_json::to_vec(&body).unwrap(), key).unwrap_err();
            assert_eq!(error.code.as_str(), code, "{body}");
        }
    }

    #[test]
    fn the_routing_key_is_read_from_a_pagerduty_body() {
        let body =
            br#"{"routing_key":"0123456789abcdef0123456789abcdef","event_action":"trigger"}"#;
        assert_eq!(
            pagerduty_routing_key(body).unwrap(),
            "0123456789abcdef0123456789abcdef"
        );
        for (body, code) in [
            (b"{".to_vec(), "invalid_payload"),
            (b"[1]".to_vec(), "invalid_payload"),
            (
                br#"{"event_action":"trigger"}"#.to_vec(),
                "routing_key_missing",
            ),
            (br#"{"routing_key":""}"#.to_vec(), "routing_key_missing"),
            (br#"{"routing_key":7}"#.to_vec(), "routing_key_missing"),
            (vec![b' '; WEBHOOK_BODY_BYTES_MAX + 1], "payload_too_large"),
        ] {
            assert_eq!(
                pagerduty_routing_key(&body).unwrap_err().code.as_str(),
                code
            );
        }
    }

    #[test]
    fn generic_alerts_are_strict() {
        let body = br#"{"dedup_key":"disk-web-1","summary":"disk full","severity":"error","labels":{"team":"web"}}"#;
        let event = &decode(Format::Generic, body, key).unwrap().events[0];
        assert_eq!(event.action, Action::Trigger);
        assert_eq!(event.severity, Severity::Error);
        assert_eq!(event.labels["team"], "web");
        let resolve = br#"{"dedup_key":"disk-web-1","action":"resolve"}"#;
        assert_eq!(
            decode(Format::Generic, resolve, key).unwrap().events[0].action,
            Action::Resolve
        );
        for (body, code) in [
            (br#"{"dedup_key":"k"}"#.to_vec(), "summary_missing"),
            (
                br#"{"dedup_key":"","summary":"s"}"#.to_vec(),
                "dedup_key_missing",
            ),
            (
                br#"{"dedup_key":"k","summary":"s","nope":1}"#.to_vec(),
                "invalid_payload",
            ),
            (vec![b' '; WEBHOOK_BODY_BYTES_MAX + 1], "payload_too_large"),
        ] {
            assert_eq!(
                decode(Format::Generic, &body, key)
                    .unwrap_err()
                    .code
                    .as_str(),
                code
            );
        }
    }
}
