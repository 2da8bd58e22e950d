//! Runbook definitions: what a runbook's author writes (JSON, the shape of
//! [`RunbookDoc`]), parsed strictly into a [`Definition`] — typed inputs, the project
//! secrets its steps may use, the steps (a script, an HTTP request or a Prometheus query
//! run by a delegate; a note, a status change or a page on the incident, done by the
//! server), the delegates it
//! runs on, and the incident changes that start it on their own. Every error names where
//! in the document it is (`steps[1].limits.wall_seconds …`).
//!
//! Inputs reach a script only as environment variables (never spliced into its text),
//! and an HTTP step's URL, headers and body through `{{inputs.NAME}}` placeholders —
//! percent-encoded in the URL. Secrets go only where a step names them: a script's
//! environment, or `{{secrets.NAME}}` in an HTTP step's headers and body (never its URL,
//! which delegates and receivers log). A Prometheus query step's PromQL takes input
//! values verbatim (they are PromQL, not escaped): an author who lets people choose a
//! value that goes into a query lists the `allowed` ones.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use jiff::Timestamp;

use super::incidents::{IncidentSeverity, IncidentStatus};
use crate::platform::delegates::{SCRIPT_LIMITS_DEFAULT, ScriptLimits, Tags};
use crate::platform::tenancy::Scope;
use crate::{Email, Name, RunbookId, ServiceAccountId, Slug, ValidationError};

/// A runbook of a project (its definitions are its versions, sealed).
#[derive(Clone, Debug, PartialEq)]
pub struct Runbook {
    pub id: RunbookId,
    /// Always a project.
    pub scope: Scope,
    pub identifier: Slug,
    pub name: Name,
    pub current_version: u32,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// One version of a runbook's definition (who wrote it, when).
#[derive(Clone, Debug, PartialEq)]
pub struct RunbookVersion {
    pub version: u32,
    pub created_at: Timestamp,
    /// The actor text of who wrote it.
    pub created_by: String,
}

/// The most bytes of a definition as written (JSON).
pub const DEFINITION_BYTES_MAX: usize = 256 * 1024;

pub const INPUTS_MAX: usize = 32;
pub const SECRETS_MAX: usize = 16;
pub const STEPS_MAX: usize = 20;
pub const TRIGGERS_MAX: usize = 8;
pub const TRIGGER_LABELS_MAX: usize = 16;
/// The most people one page step pages.
pub const PAGE_USERS_MAX: usize = 10;
/// The most bytes of a step's text (a script, a URL, a header, a body, a note).
pub const STEP_TEXT_BYTES_MAX: usize = 64 * 1024;
/// The most characters of an input's value.
pub const INPUT_VALUE_CHARS_MAX: usize = 1024;
/// An HTTP step's timeout when its author names none, and the longest allowed.
pub const HTTP_TIMEOUT_SECONDS_DEFAULT: u64 = 30;
pub const HTTP_TIMEOUT_SECONDS_MAX: u64 = 60;
/// The longest range a Prometheus query step may ask for (31 days).
pub const QUERY_RANGE_SECONDS_MAX: u64 = 31 * 24 * 3600;
/// The most points per series a range query may ask for (Prometheus refuses more).
pub const QUERY_RANGE_POINTS_MAX: u64 = 11_000;

/// A runbook definition as written.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RunbookDoc {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// A second person must approve each execution before it runs.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sensitive: bool,
    /// Tags a delegate must have to run the steps (`env=prod`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub delegate_selector: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<InputDoc>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<SecretDoc>,
    pub steps: Vec<StepDoc>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub triggers: Vec<TriggerDoc>,
    /// The service account (its id) the executions its triggers start act as: they
    /// need its `runbook:execute` and the rights their steps use. Required with
    /// triggers, only with them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_as: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct InputDoc {
    /// Upper-case letters, digits and `_`: the environment variable of scripts.
    pub name: String,
    /// `string` (the default), `integer` or `boolean`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// The value when none is given; an input without one must be given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<serde_json::Value>,
    /// The only values allowed (strings only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed: Vec<String>,
    /// Values only holders of one of the named roles may choose
    /// (`{"prod": ["production-operator"]}`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub restricted: BTreeMap<String, Vec<String>>,
}

/// A project secret the steps may use, under an environment variable name.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SecretDoc {
    pub name: String,
    /// The secret's identifier in the project.
    pub secret: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum StepDoc {
    Script {
        name: String,
        script: String,
        /// Names of the runbook's secrets this script gets.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        secrets: Vec<String>,
        /// TCP ports it may connect to; absent: no network.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tcp_connect_ports: Option<Vec<u16>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limits: Option<LimitsDoc>,
    },
    HttpRequest {
        name: String,
        method: String,
        url: String,
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        headers: BTreeMap<String, String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        body: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timeout_seconds: Option<u64>,
    },
    /// A PromQL query against the Prometheus at `url` (its base address, under a URL
    /// the delegate allows): an instant query, or a range query over the last
    /// `range_seconds` when the delegate runs it.
    PrometheusQuery {
        name: String,
        url: String,
        query: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        range_seconds: Option<u64>,
        /// The resolution of a range query (default: about 240 points).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        step_seconds: Option<u64>,
        /// E.g. `Authorization: Bearer {{secrets.PROM_TOKEN}}`.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        headers: BTreeMap<String, String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timeout_seconds: Option<u64>,
    },
    AddNote {
        name: String,
        text: String,
    },
    SetStatus {
        name: String,
        status: String,
    },
    /// Pages people (by email; each must be able to see the project's incidents)
    /// about the incident, through their contact methods like an escalation's page.
    Page {
        name: String,
        users: Vec<String>,
    },
    /// A message a delegate delivers: to a Slack-compatible incoming webhook, a generic
    /// webhook (JSON) or an email address. `to` may come from a secret (a Slack URL
    /// is one).
    Notification {
        name: String,
        channel: String,
        to: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        subject: Option<String>,
        text: String,
    },
}

/// Limits a script step asks for; each missing one is the default.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LimitsDoc {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wall_seconds: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_seconds: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_bytes: Option<u64>,
}

/// Incident changes that start the runbook on their own (as its service account).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TriggerDoc {
    /// `incident.opened` and/or `incident.changed`.
    pub on: Vec<String>,
    /// Only incidents of these services (identifiers); empty: any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<String>,
    /// Only incidents of these severities (`SEV0`…`SEV4`); empty: any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub severities: Vec<String>,
    /// Only incidents with an alert carrying every one of these labels with exactly
    /// this value (`{"team": "payments"}`); empty: any.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// The inputs of the runs it starts (the others take their defaults).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub inputs: BTreeMap<String, serde_json::Value>,
}

/// A parsed, checked definition.
#[derive(Clone, Debug, PartialEq)]
pub struct Definition {
    pub description: String,
    pub sensitive: bool,
    pub delegate_selector: Tags,
    pub inputs: Vec<Input>,
    /// Environment variable name → the project secret's identifier.
    pub secrets: BTreeMap<String, Slug>,
    pub steps: Vec<Step>,
    pub triggers: Vec<Trigger>,
    /// Who triggered executions act as (set exactly when there are triggers).
    pub run_as: Option<ServiceAccountId>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputKind {
    String,
    Integer,
    Boolean,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Input {
    pub name: String,
    pub kind: InputKind,
    pub description: String,
    /// The default, as the environment sees it.
    pub default: Option<String>,
    pub allowed: Vec<String>,
    pub restricted: BTreeMap<String, Vec<Slug>>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    Script {
        name: String,
        script: String,
        secrets: Vec<String>,
        tcp_connect_ports: Option<Vec<u16>>,
        limits: ScriptLimits,
    },
    HttpRequest {
        name: String,
        method: String,
        url: Template,
        headers: BTreeMap<String, Template>,
        body: Option<Template>,
        timeout_seconds: u64,
    },
    PrometheusQuery {
        name: String,
        url: Template,
        query: Template,
        range: Option<QueryRange>,
        headers: BTreeMap<String, Template>,
        timeout_seconds: u64,
    },
    AddNote {
        name: String,
        text: Template,
    },
    SetStatus {
        name: String,
        status: IncidentStatus,
    },
    Page {
        name: String,
        users: Vec<Email>,
    },
    Notification {
        name: String,
        /// `slack`, `webhook` or `email`.
        channel: String,
        to: Template,
        subject: Template,
        text: Template,
    },
}

/// A range query's length and resolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueryRange {
    pub seconds: u64,
    pub step_seconds: u64,
}

impl Step {
    pub fn name(&self) -> &str {
        match self {
            Step::Script { name, .. }
            | Step::HttpRequest { name, .. }
            | Step::PrometheusQuery { name, .. }
            | Step::AddNote { name, .. }
            | Step::SetStatus { name, .. }
            | Step::Page { name, .. }
            | Step::Notification { name, .. } => name,
        }
    }

    /// The names of the runbook's secrets this step uses (a script's list, the
    /// `{{secrets.NAME}}` of its templates), each once per use.
    pub fn secrets_used(&self) -> Vec<&str> {
        fn in_templates(templates: Vec<&Template>) -> Vec<&str> {
            templates
                .into_iter()
                .flat_map(Template::parts)
                .filter_map(|part| match part {
                    Part::Secret(name) => Some(name.as_str()),
                    _ => None,
                })
                .collect()
        }
        match self {
            Step::Script { secrets, .. } => secrets.iter().map(String::as_str).collect(),
            Step::HttpRequest { headers, body, .. } => {
                in_templates(headers.values().chain(body.iter()).collect())
            }
            Step::PrometheusQuery { headers, .. } => in_templates(headers.values().collect()),
            Step::Notification { to, .. } => in_templates(vec![to]),
            Step::AddNote { .. } | Step::SetStatus { .. } | Step::Page { .. } => Vec::new(),
        }
    }

    /// Whether it is a script: code its author wrote, run by a delegate (writing one
    /// takes `runbook:author_scripts`).
    pub fn is_script(&self) -> bool {
        matches!(self, Step::Script { .. })
    }

    /// Whether a delegate runs it (the others the server does).
    pub fn runs_on_a_delegate(&self) -> bool {
        matches!(
            self,
            Step::Script { .. }
                | Step::HttpRequest { .. }
                | Step::PrometheusQuery { .. }
                | Step::Notification { .. }
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum TriggerEvent {
    IncidentOpened,
    IncidentChanged,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Trigger {
    pub on: BTreeSet<TriggerEvent>,
    pub services: Vec<Slug>,
    pub severities: Vec<IncidentSeverity>,
    pub labels: BTreeMap<String, String>,
    pub inputs: BTreeMap<String, serde_json::Value>,
}

impl Trigger {
    /// Whether an incident of `service` at `severity` that just had `event` starts it.
    pub fn matches(
        &self,
        event: TriggerEvent,
        service: Option<&Slug>,
        severity: IncidentSeverity,
    ) -> bool {
        self.on.contains(&event)
            && (self.services.is_empty() || service.is_some_and(|s| self.services.contains(s)))
            && (self.severities.is_empty() || self.severities.contains(&severity))
    }

    /// Whether one of the incident's alerts (their labels) carries all the labels the
    /// trigger asks for.
    pub fn labels_match(&self, alerts: &[BTreeMap<String, String>]) -> bool {
        self.labels.is_empty()
            || alerts.iter().any(|labels| {
                self.labels
                    .iter()
                    .all(|(name, value)| labels.get(name) == Some(value))
            })
    }
}

/// Text with `{{inputs.NAME}}` and `{{secrets.NAME}}` placeholders.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template(Vec<Part>);

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Part {
    Text(String),
    Input(String),
    Secret(String),
}

impl Template {
    /// Parses `text`; `where_` names the place for errors.
    fn parse(text: &str, where_: &str) -> Result<Self, ValidationError> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("{{") {
            let (before, after) = rest.split_at(start);
            if !before.is_empty() {
                parts.push(Part::Text(before.to_owned()));
            }
            let after = after.get(2..).unwrap_or_default();
            let end = after
                .find("}}")
                .ok_or_else(|| invalid(format!("{where_}: a '{{{{' is not closed")))?;
            let (inner, tail) = after.split_at(end);
            let reference = inner.trim();
            parts.push(if let Some(name) = reference.strip_prefix("inputs.") {
                Part::Input(name.to_owned())
            } else if let Some(name) = reference.strip_prefix("secrets.") {
                Part::Secret(name.to_owned())
            } else {
                return Err(invalid(format!(
                    "{where_}: '{{{{{reference}}}}}' is neither inputs.NAME nor secrets.NAME"
                )));
            });
            rest = tail.get(2..).unwrap_or_default();
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_owned()));
        }
        Ok(Self(parts))
    }

    pub fn parts(&self) -> &[Part] {
        &self.0
    }

    fn references(&self) -> impl Iterator<Item = &Part> {
        self.0.iter().filter(|part| !matches!(part, Part::Text(_)))
    }

    /// The text with every placeholder replaced: inputs through `encode_input`
    /// (percent-encoding in a URL), secrets as they are.
    pub fn render(
        &self,
        inputs: &BTreeMap<String, String>,
        secrets: &BTreeMap<String, String>,
        encode_input: impl Fn(&str) -> String,
    ) -> String {
        self.0
            .iter()
            .map(|part| match part {
                Part::Text(text) => text.clone(),
                Part::Input(name) => encode_input(inputs.get(name).map_or("", String::as_str)),
                Part::Secret(name) => secrets.get(name).cloned().unwrap_or_default(),
            })
            .collect()
    }
}

fn invalid(reason: impl Into<String>) -> ValidationError {
    ValidationError::new("definition", reason)
}

/// Upper-case letters, digits and `_`, not starting with a digit, at most 64, and not a
/// variable the sandbox sets itself or the dynamic loader reads.
pub fn is_variable_name(name: &str) -> bool {
    const RESERVED: [&str; 5] = ["PATH", "HOME", "TMPDIR", "LANG", "PWD"];
    !name.is_empty()
        && name.len() <= 64
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        && !RESERVED.contains(&name)
        && !name.starts_with("LD_")
}

fn check_text(text: &str, where_: &str) -> Result<(), ValidationError> {
    if text.len() > STEP_TEXT_BYTES_MAX {
        return Err(invalid(format!(
            "{where_} is longer than {STEP_TEXT_BYTES_MAX} bytes"
        )));
    }
    if text.contains('\0') {
        return Err(invalid(format!("{where_} holds a NUL character")));
    }
    Ok(())
}

fn check_count(count: usize, max: usize, where_: &str) -> Result<(), ValidationError> {
    if count > max {
        return Err(invalid(format!("at most {max} {where_}")));
    }
    Ok(())
}

impl RunbookDoc {
    /// Parses and checks the whole document.
    pub fn parse(&self) -> Result<Definition, ValidationError> {
        check_text(&self.description, "description")?;
        let delegate_selector = Tags::parse(&self.delegate_selector)
            .map_err(|error| invalid(format!("delegate_selector: {}", error.reason)))?;
        check_count(self.inputs.len(), INPUTS_MAX, "inputs")?;
        check_count(self.secrets.len(), SECRETS_MAX, "secrets")?;
        check_count(self.triggers.len(), TRIGGERS_MAX, "triggers")?;
        if self.steps.is_empty() {
            return Err(invalid("steps: a runbook needs at least one step"));
        }
        check_count(self.steps.len(), STEPS_MAX, "steps")?;
        let mut names = BTreeSet::new();
        let inputs = self
            .inputs
            .iter()
            .enumerate()
            .map(|(index, input)| {
                let input = input.parse(&format!("inputs[{index}]"))?;
                if !names.insert(input.name.clone()) {
                    return Err(invalid(format!(
                        "inputs[{index}]: {} is declared twice",
                        input.name
                    )));
                }
                Ok(input)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut secrets = BTreeMap::new();
        for (index, secret) in self.secrets.iter().enumerate() {
            let where_ = format!("secrets[{index}]");
            if !is_variable_name(&secret.name) || names.contains(&secret.name) {
                return Err(invalid(format!(
                    "{where_}: {} is not a free environment variable name (A-Z, 0-9, _; not an input's)",
                    secret.name
                )));
            }
            let identifier = Slug::parse(&secret.secret)
                .map_err(|error| invalid(format!("{where_}.secret: {}", error.reason)))?;
            if secrets.insert(secret.name.clone(), identifier).is_some() {
                return Err(invalid(format!(
                    "{where_}: {} is declared twice",
                    secret.name
                )));
            }
        }
        let mut step_names = BTreeSet::new();
        let steps = self
            .steps
            .iter()
            .enumerate()
            .map(|(index, step)| {
                let step = step.parse(&format!("steps[{index}]"), &names, &secrets)?;
                if !step_names.insert(step.name().to_owned()) {
                    return Err(invalid(format!(
                        "steps[{index}]: the name {} is used twice",
                        step.name()
                    )));
                }
                Ok(step)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let definition = Definition {
            description: self.description.clone(),
            sensitive: self.sensitive,
            delegate_selector,
            inputs,
            secrets,
            steps,
            triggers: Vec::new(),
            run_as: None,
        };
        let triggers = self
            .triggers
            .iter()
            .enumerate()
            .map(|(index, trigger)| trigger.parse(&format!("triggers[{index}]"), &definition))
            .collect::<Result<Vec<_>, _>>()?;
        let run_as = match (&self.run_as, triggers.is_empty()) {
            (None, true) => None,
            (Some(id), false) => Some(
                id.parse::<ServiceAccountId>()
                    .map_err(|_| invalid(format!("run_as: {id} is not a service account's id")))?,
            ),
            (None, false) => {
                return Err(invalid(
                    "run_as: a runbook with triggers names the service account its \
                     automatic executions act as",
                ));
            }
            (Some(_), true) => {
                return Err(invalid(
                    "run_as: only with triggers (a person's execution acts as that person)",
                ));
            }
        };
        Ok(Definition {
            triggers,
            run_as,
            ..definition
        })
    }
}

impl InputDoc {
    fn parse(&self, where_: &str) -> Result<Input, ValidationError> {
        if !is_variable_name(&self.name) {
            return Err(invalid(format!(
                "{where_}.name: {} is not an environment variable name (A-Z, 0-9, _)",
                self.name
            )));
        }
        let kind = match self.kind.as_deref().unwrap_or("string") {
            "string" => InputKind::String,
            "integer" => InputKind::Integer,
            "boolean" => InputKind::Boolean,
            other => {
                return Err(invalid(format!(
                    "{where_}.type: {other} is not string, integer or boolean"
                )));
            }
        };
        check_text(&self.description, &format!("{where_}.description"))?;
        if kind != InputKind::String && !self.allowed.is_empty() {
            return Err(invalid(format!(
                "{where_}.allowed: only string inputs list allowed values"
            )));
        }
        let mut input = Input {
            name: self.name.clone(),
            kind,
            description: self.description.clone(),
            default: None,
            allowed: self.allowed.clone(),
            restricted: BTreeMap::new(),
        };
        for value in &input.allowed {
            check_value(value, &format!("{where_}.allowed"))?;
        }
        for (value, roles) in &self.restricted {
            if !input.allowed.is_empty() && !input.allowed.contains(value) {
                return Err(invalid(format!(
                    "{where_}.restricted: {value} is not an allowed value"
                )));
            }
            if roles.is_empty() {
                return Err(invalid(format!(
                    "{where_}.restricted.{value}: name at least one role"
                )));
            }
            let roles = roles
                .iter()
                .map(|role| {
                    Slug::parse(role).map_err(|error| {
                        invalid(format!("{where_}.restricted.{value}: {}", error.reason))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            input.restricted.insert(value.clone(), roles);
        }
        if let Some(default) = &self.default {
            input.default = Some(input.value_of(default, &format!("{where_}.default"))?);
        }
        Ok(input)
    }
}

fn check_value(value: &str, where_: &str) -> Result<(), ValidationError> {
    if value.chars().count() > INPUT_VALUE_CHARS_MAX || value.contains('\0') {
        return Err(invalid(format!(
            "{where_}: a value is at most {INPUT_VALUE_CHARS_MAX} characters, without NUL"
        )));
    }
    Ok(())
}

impl Input {
    /// `given` as this input's value, as the environment sees it.
    fn value_of(&self, given: &serde_json::Value, where_: &str) -> Result<String, ValidationError> {
        let text = match (self.kind, given) {
            (InputKind::String, serde_json::Value::String(text)) => text.clone(),
            (InputKind::Integer, serde_json::Value::Number(number)) if number.is_i64() => {
                number.to_string()
            }
            (InputKind::Boolean, serde_json::Value::Bool(flag)) => flag.to_string(),
            _ => {
                let kind = match self.kind {
                    InputKind::String => "a string",
                    InputKind::Integer => "an integer",
                    InputKind::Boolean => "true or false",
                };
                return Err(invalid(format!("{where_}: {} must be {kind}", self.name)));
            }
        };
        check_value(&text, where_)?;
        if !self.allowed.is_empty() && !self.allowed.contains(&text) {
            return Err(invalid(format!(
                "{where_}: {} must be one of {}",
                self.name,
                self.allowed.join(", ")
            )));
        }
        Ok(text)
    }
}

impl StepDoc {
    fn parse(
        &self,
        where_: &str,
        inputs: &BTreeSet<String>,
        secrets: &BTreeMap<String, Slug>,
    ) -> Result<Step, ValidationError> {
        let name = match self {
            StepDoc::Script { name, .. }
            | StepDoc::HttpRequest { name, .. }
            | StepDoc::PrometheusQuery { name, .. }
            | StepDoc::AddNote { name, .. }
            | StepDoc::SetStatus { name, .. }
            | StepDoc::Page { name, .. }
            | StepDoc::Notification { name, .. } => name,
        };
        Slug::parse(name).map_err(|error| invalid(format!("{where_}.name: {}", error.reason)))?;
        let template = |text: &str, place: &str, secrets_allowed: bool| {
            let place = format!("{where_}.{place}");
            check_text(text, &place)?;
            let template = Template::parse(text, &place)?;
            for reference in template.references() {
                match reference {
                    Part::Input(input) if !inputs.contains(input) => {
                        return Err(invalid(format!("{place}: there is no input {input}")));
                    }
                    Part::Secret(_) if !secrets_allowed => {
                        return Err(invalid(format!(
                            "{place}: secrets may not appear here (only in the headers and body of an HTTP or query step, and a notification's to)"
                        )));
                    }
                    Part::Secret(secret) if !secrets.contains_key(secret) => {
                        return Err(invalid(format!("{place}: there is no secret {secret}")));
                    }
                    _ => {}
                }
            }
            Ok(template)
        };
        let url_template = |url: &str| {
            let url = template(url, "url", false)?;
            if !matches!(url.parts().first(), Some(Part::Text(text)) if text.starts_with("https://") || text.starts_with("http://"))
            {
                return Err(invalid(format!(
                    "{where_}.url: must start with https:// or http:// (before any placeholder)"
                )));
            }
            Ok(url)
        };
        let header_templates = |headers: &BTreeMap<String, String>| {
            headers
                .iter()
                .map(|(header, value)| {
                    let valid_name = !header.is_empty()
                        && header
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-');
                    if !valid_name {
                        return Err(invalid(format!(
                            "{where_}.headers: {header} is not a header name"
                        )));
                    }
                    if value.contains(['\r', '\n']) {
                        return Err(invalid(format!(
                            "{where_}.headers.{header}: a header value is one line"
                        )));
                    }
                    Ok((
                        header.clone(),
                        template(value, &format!("headers.{header}"), true)?,
                    ))
                })
                .collect::<Result<BTreeMap<_, _>, _>>()
        };
        let timeout = |timeout_seconds: Option<u64>| {
            let timeout_seconds = timeout_seconds.unwrap_or(HTTP_TIMEOUT_SECONDS_DEFAULT);
            if !(1..=HTTP_TIMEOUT_SECONDS_MAX).contains(&timeout_seconds) {
                return Err(invalid(format!(
                    "{where_}.timeout_seconds: must be between 1 and {HTTP_TIMEOUT_SECONDS_MAX}"
                )));
            }
            Ok(timeout_seconds)
        };
        Ok(match self {
            StepDoc::Script {
                name,
                script,
                secrets: used,
                tcp_connect_ports,
                limits,
            } => {
                check_text(script, &format!("{where_}.script"))?;
                if let Some(unknown) = used.iter().find(|used| !secrets.contains_key(*used)) {
                    return Err(invalid(format!(
                        "{where_}.secrets: there is no secret {unknown}"
                    )));
                }
                if tcp_connect_ports
                    .as_ref()
                    .is_some_and(|ports| ports.is_empty() || ports.len() > 16 || ports.contains(&0))
                {
                    return Err(invalid(format!(
                        "{where_}.tcp_connect_ports: 1 to 16 ports, none 0 (leave it out for no network)"
                    )));
                }
                Step::Script {
                    name: name.clone(),
                    script: script.clone(),
                    secrets: used.clone(),
                    tcp_connect_ports: tcp_connect_ports.clone(),
                    limits: limits.unwrap_or_default().resolve().map_err(|error| {
                        invalid(format!("{where_}.limits.{}: {}", error.field, error.reason))
                    })?,
                }
            }
            StepDoc::HttpRequest {
                name,
                method,
                url,
                headers,
                body,
                timeout_seconds,
            } => {
                if !["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"].contains(&method.as_str()) {
                    return Err(invalid(format!(
                        "{where_}.method: {method} is not GET, HEAD, POST, PUT, PATCH or DELETE"
                    )));
                }
                let url = url_template(url)?;
                let headers = header_templates(headers)?;
                let timeout_seconds = timeout(*timeout_seconds)?;
                Step::HttpRequest {
                    name: name.clone(),
                    method: method.clone(),
                    url,
                    headers,
                    body: body
                        .as_deref()
                        .map(|body| template(body, "body", true))
                        .transpose()?,
                    timeout_seconds,
                }
            }
            StepDoc::PrometheusQuery {
                name,
                url,
                query,
                range_seconds,
                step_seconds,
                headers,
                timeout_seconds,
            } => {
                let query = template(query, "query", false)?;
                if query.parts().is_empty() {
                    return Err(invalid(format!("{where_}.query: must not be empty")));
                }
                let range = match (range_seconds, step_seconds) {
                    (None, None) => None,
                    (None, Some(_)) => {
                        return Err(invalid(format!(
                            "{where_}.step_seconds: only with range_seconds (a range query)"
                        )));
                    }
                    (Some(seconds), step) => {
                        let seconds = *seconds;
                        if !(1..=QUERY_RANGE_SECONDS_MAX).contains(&seconds) {
                            return Err(invalid(format!(
                                "{where_}.range_seconds: must be between 1 and {QUERY_RANGE_SECONDS_MAX}"
                            )));
                        }
                        let step_seconds = step.unwrap_or_else(|| (seconds / 240).max(1));
                        if step_seconds == 0
                            || step_seconds > seconds
                            || seconds / step_seconds > QUERY_RANGE_POINTS_MAX
                        {
                            return Err(invalid(format!(
                                "{where_}.step_seconds: between 1 and range_seconds, and at most \
                                 {QUERY_RANGE_POINTS_MAX} points (range_seconds / step_seconds)"
                            )));
                        }
                        Some(QueryRange {
                            seconds,
                            step_seconds,
                        })
                    }
                };
                Step::PrometheusQuery {
                    name: name.clone(),
                    url: url_template(url)?,
                    query,
                    range,
                    headers: header_templates(headers)?,
                    timeout_seconds: timeout(*timeout_seconds)?,
                }
            }
            StepDoc::AddNote { name, text } => Step::AddNote {
                name: name.clone(),
                text: template(text, "text", false)?,
            },
            StepDoc::SetStatus { name, status } => Step::SetStatus {
                name: name.clone(),
                status: IncidentStatus::parse(status)
                    .map_err(|error| invalid(format!("{where_}.status: {}", error.reason)))?,
            },
            StepDoc::Page { name, users } => {
                if users.is_empty() || users.len() > PAGE_USERS_MAX {
                    return Err(invalid(format!(
                        "{where_}.users: 1 to {PAGE_USERS_MAX} people to page"
                    )));
                }
                let users = users
                    .iter()
                    .map(|email| {
                        Email::parse(email).map_err(|error| {
                            invalid(format!("{where_}.users: {email}: {}", error.reason))
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Step::Page {
                    name: name.clone(),
                    users,
                }
            }
            StepDoc::Notification {
                name,
                channel,
                to,
                subject,
                text,
            } => {
                if !["slack", "webhook", "email"].contains(&channel.as_str()) {
                    return Err(invalid(format!(
                        "{where_}.channel: {channel} is not slack, webhook or email"
                    )));
                }
                let to = template(to, "to", true)?;
                if let [Part::Text(plain)] = to.parts() {
                    let fits = match channel.as_str() {
                        "email" => Email::parse(plain).is_ok(),
                        _ => plain.starts_with("https://") || plain.starts_with("http://"),
                    };
                    if !fits {
                        return Err(invalid(format!(
                            "{where_}.to: {plain} is not {}",
                            if channel == "email" {
                                "an email address"
                            } else {
                                "an https:// or http:// URL"
                            }
                        )));
                    }
                }
                Step::Notification {
                    name: name.clone(),
                    channel: channel.clone(),
                    to,
                    subject: template(
                        subject.as_deref().unwrap_or("Runbook notification"),
                        "subject",
                        false,
                    )?,
                    text: template(text, "text", false)?,
                }
            }
        })
    }
}

impl LimitsDoc {
    fn resolve(self) -> Result<ScriptLimits, ValidationError> {
        let default = SCRIPT_LIMITS_DEFAULT;
        ScriptLimits {
            wall_seconds: self.wall_seconds.unwrap_or(default.wall_seconds),
            cpu_seconds: self.cpu_seconds.unwrap_or(default.cpu_seconds),
            memory_bytes: self.memory_bytes.unwrap_or(default.memory_bytes),
            processes: self.processes.unwrap_or(default.processes),
            file_bytes: self.file_bytes.unwrap_or(default.file_bytes),
            output_bytes: self.output_bytes.unwrap_or(default.output_bytes),
        }
        .check()
    }
}

impl TriggerDoc {
    fn parse(&self, where_: &str, definition: &Definition) -> Result<Trigger, ValidationError> {
        let on = self
            .on
            .iter()
            .map(|event| match event.as_str() {
                "incident.opened" => Ok(TriggerEvent::IncidentOpened),
                "incident.changed" => Ok(TriggerEvent::IncidentChanged),
                other => Err(invalid(format!(
                    "{where_}.on: {other} is not incident.opened or incident.changed"
                ))),
            })
            .collect::<Result<BTreeSet<_>, _>>()?;
        if on.is_empty() {
            return Err(invalid(format!("{where_}.on: name at least one event")));
        }
        let services = self
            .services
            .iter()
            .map(|service| {
                Slug::parse(service)
                    .map_err(|error| invalid(format!("{where_}.services: {}", error.reason)))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let severities = self
            .severities
            .iter()
            .map(|severity| {
                IncidentSeverity::parse(severity)
                    .map_err(|error| invalid(format!("{where_}.severities: {}", error.reason)))
            })
            .collect::<Result<Vec<_>, _>>()?;
        check_count(
            self.labels.len(),
            TRIGGER_LABELS_MAX,
            &format!("labels in {where_}"),
        )?;
        for (name, value) in &self.labels {
            if name.is_empty() || name.len() > 128 {
                return Err(invalid(format!(
                    "{where_}.labels: a label name is 1 to 128 bytes"
                )));
            }
            check_text(name, &format!("{where_}.labels"))?;
            check_text(value, &format!("{where_}.labels.{name}"))?;
        }
        // The inputs a trigger gives must bind now: an automatic run cannot ask anyone.
        definition.bind_inputs(&self.inputs, &format!("{where_}.inputs"))?;
        Ok(Trigger {
            on,
            services,
            severities,
            labels: self.labels.clone(),
            inputs: self.inputs.clone(),
        })
    }
}

impl Definition {
    /// The values of every input for a run given `given`: each checked against its
    /// type and allowed values, defaults filled in; an unknown or missing input is an
    /// error. `where_` names the place for errors (`inputs`).
    pub fn bind_inputs(
        &self,
        given: &BTreeMap<String, serde_json::Value>,
        where_: &str,
    ) -> Result<BTreeMap<String, String>, ValidationError> {
        if let Some(unknown) = given
            .keys()
            .find(|name| !self.inputs.iter().any(|input| &input.name == *name))
        {
            return Err(invalid(format!(
                "{where_}: the runbook has no input {unknown}"
            )));
        }
        self.inputs
            .iter()
            .map(|input| {
                let value = match given.get(&input.name) {
                    Some(value) => input.value_of(value, &format!("{where_}.{}", input.name))?,
                    None => input
                        .default
                        .clone()
                        .ok_or_else(|| invalid(format!("{where_}: {} is required", input.name)))?,
                };
                Ok((input.name.clone(), value))
            })
            .collect()
    }

    /// For bound `inputs`, the values only some roles may choose: `(input, value,
    /// roles)`; the caller must hold one of the roles for each.
    pub fn restrictions<'a>(
        &'a self,
        inputs: &'a BTreeMap<String, String>,
    ) -> impl Iterator<Item = (&'a str, &'a str, &'a [Slug])> {
        self.inputs.iter().filter_map(|input| {
            let value = inputs.get(&input.name)?;
            let roles = input.restricted.get(value)?;
            Some((input.name.as_str(), value.as_str(), roles.as_slice()))
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse(document: serde_json::Value) -> Result<Definition, String> {
        let doc: RunbookDoc = serde_json::from_value(document).map_err(|e| e.to_string())?;
        doc.parse().map_err(|error| error.reason)
    }

    fn restart() -> serde_json::Value {
        json!({
            "description": "Restart the web tier",
            "delegate_selector": ["env=prod"],
            "inputs": [
                {"name": "ENV", "allowed": ["staging", "prod"], "default": "staging",
                 "restricted": {"prod": ["production-operator"]}},
                {"name": "REPLICAS", "type": "integer", "default": 3},
                {"name": "DRY_RUN", "type": "boolean"}
            ],
            "secrets": [{"name": "DEPLOY_TOKEN", "secret": "deploy-token"}],
            "steps": [
                {"kind": "script", "name": "drain", "script": "echo draining $ENV",
                 "secrets": ["DEPLOY_TOKEN"], "limits": {"wall_seconds": 60}},
                {"kind": "http_request", "name": "announce", "method": "POST",
                 "url": "https://chat.example/hooks/{{inputs.ENV}}?n={{ inputs.REPLICAS }}",
                 "headers": {"Authorization": "Bearer {{secrets.DEPLOY_TOKEN}}"},
                 "body": "{\"text\": \"restarting {{inputs.ENV}}\"}"},
                {"kind": "add_note", "name": "note", "text": "restarted {{inputs.ENV}}"},
                {"kind": "set_status", "name": "monitor", "status": "monitoring"}
            ],
            "triggers": [{"on": ["incident.opened"], "services": ["web"], "severities": ["SEV1"],
                          "inputs": {"DRY_RUN": true}}],
            "run_as": "0190c2a4-7a00-7000-8000-000000000001"
        })
    }

    #[test]
    fn a_whole_definition_parses() {
        let definition = parse(restart()).unwrap();
        assert_eq!(definition.steps.len(), 4);
        let Step::Script { limits, .. } = &definition.steps[0] else {
            panic!()
        };
        assert_eq!(limits.wall_seconds, 60);
        assert_eq!(limits.cpu_seconds, SCRIPT_LIMITS_DEFAULT.cpu_seconds);
        let Step::HttpRequest { url, headers, .. } = &definition.steps[1] else {
            panic!()
        };
        let inputs = BTreeMap::from([
            ("ENV".to_owned(), "a b/c".to_owned()),
            ("REPLICAS".to_owned(), "3".to_owned()),
        ]);
        let secrets = BTreeMap::from([("DEPLOY_TOKEN".to_owned(), "t0k".to_owned())]);
        let encode = |text: &str| text.replace(' ', "%20").replace('/', "%2F");
        assert_eq!(
            url.render(&inputs, &secrets, encode),
            "https://chat.example/hooks/a%20b%2Fc?n=3"
        );
        assert_eq!(
            headers["Authorization"].render(&inputs, &secrets, |t| t.to_owned()),
            "Bearer t0k"
        );
        assert!(definition.triggers[0].matches(
            TriggerEvent::IncidentOpened,
            Some(&Slug::parse("web").unwrap()),
            IncidentSeverity::parse("SEV1").unwrap()
        ));
        assert!(!definition.triggers[0].matches(
            TriggerEvent::IncidentChanged,
            Some(&Slug::parse("web").unwrap()),
            IncidentSeverity::parse("SEV1").unwrap()
        ));
        assert!(!definition.triggers[0].matches(
            TriggerEvent::IncidentOpened,
            None,
            IncidentSeverity::parse("SEV1").unwrap()
        ));
    }

    #[test]
    fn inputs_bind_with_types_defaults_and_restrictions() {
        let definition = parse(restart()).unwrap();
        let bound = definition
            .bind_inputs(
                &BTreeMap::from([("DRY_RUN".into(), json!(false))]),
                "inputs",
            )
            .unwrap();
        assert_eq!(bound["ENV"], "staging");
        assert_eq!(bound["REPLICAS"], "3");
        assert_eq!(bound["DRY_RUN"], "false");
        assert_eq!(definition.restrictions(&bound).count(), 0);
        let prod = definition
            .bind_inputs(
                &BTreeMap::from([
                    ("DRY_RUN".into(), json!(true)),
                    ("ENV".into(), json!("prod")),
                ]),
                "inputs",
            )
            .unwrap();
        let restricted: Vec<_> = definition.restrictions(&prod).collect();
        assert_eq!(restricted.len(), 1);
        assert_eq!(restricted[0].2[0].as_str(), "production-operator");
        for (given, expected) in [
            (json!({}), "DRY_RUN is required"),
            (json!({"DRY_RUN": "yes"}), "DRY_RUN must be true or false"),
            (
                json!({"DRY_RUN": true, "ENV": "qa"}),
                "ENV must be one of staging, prod",
            ),
            (
                json!({"DRY_RUN": true, "REPLICAS": 1.5}),
                "REPLICAS must be an integer",
            ),
            (
                json!({"DRY_RUN": true, "NOPE": 1}),
                "the runbook has no input NOPE",
            ),
            (
                json!({"DRY_RUN": true, "ENV": "staging\u{0}"}),
                "without NUL",
            ),
        ] {
            let given: BTreeMap<String, serde_json::Value> = serde_json::from_value(given).unwrap();
            let error = definition.bind_inputs(&given, "inputs").unwrap_err();
            assert!(
                error.reason.contains(expected),
                "{} vs {expected}",
                error.reason
            );
        }
    }

    #[test]
    fn bad_definitions_name_the_place() {
        let cases: Vec<(serde_json::Value, &str)> = vec![
            (json!({"steps": []}), "at least one step"),
            (
                json!({"steps": [{"kind": "script", "name": "a", "script": "x", "extra": 1}]}),
                "unknown field",
            ),
            (
                json!({"steps": [{"kind": "teleport", "name": "a"}]}),
                "unknown variant",
            ),
            (
                json!({"steps": [{"kind": "script", "name": "A b", "script": "x"}]}),
                "steps[0].name",
            ),
            (
                json!({"steps": [{"kind": "script", "name": "a", "script": "x"}, {"kind": "script", "name": "a", "script": "y"}]}),
                "steps[1]: the name a is used twice",
            ),
            (
                json!({"steps": [{"kind": "script", "name": "a", "script": "x", "limits": {"wall_seconds": 100000}}]}),
                "steps[0].limits.wall_seconds",
            ),
            (
                json!({"steps": [{"kind": "script", "name": "a", "script": "x", "secrets": ["NOPE"]}]}),
                "steps[0].secrets: there is no secret NOPE",
            ),
            (
                json!({"steps": [{"kind": "script", "name": "a", "script": "x", "tcp_connect_ports": []}]}),
                "steps[0].tcp_connect_ports",
            ),
            (
                json!({"steps": [{"kind": "http_request", "name": "a", "method": "GET", "url": "ftp://x"}]}),
                "steps[0].url: must start with",
            ),
            (
                json!({"steps": [{"kind": "http_request", "name": "a", "method": "GET", "url": "{{inputs.X}}"}]}),
                "steps[0].url",
            ),
            (
                json!({"secrets": [{"name": "T", "secret": "t"}], "steps": [{"kind": "http_request", "name": "a", "method": "GET", "url": "https://x/{{secrets.T}}"}]}),
                "secrets may not appear here",
            ),
            (
                json!({"steps": [{"kind": "http_request", "name": "a", "method": "GET", "url": "https://x/{{inputs.NOPE}}"}]}),
                "there is no input NOPE",
            ),
            (
                json!({"steps": [{"kind": "http_request", "name": "a", "method": "GET", "url": "https://x/{{inputs.NOPE"}]}),
                "is not closed",
            ),
            (
                json!({"steps": [{"kind": "http_request", "name": "a", "method": "GET", "url": "https://x/{{env.HOME}}"}]}),
                "neither inputs.NAME",
            ),
            (
                json!({"steps": [{"kind": "http_request", "name": "a", "method": "TRACE", "url": "https://x"}]}),
                "steps[0].method",
            ),
            (
                json!({"steps": [{"kind": "http_request", "name": "a", "method": "GET", "url": "https://x", "headers": {"X": "a\r\nEvil: 1"}}]}),
                "one line",
            ),
            (
                json!({"steps": [{"kind": "http_request", "name": "a", "method": "GET", "url": "https://x", "timeout_seconds": 0}]}),
                "timeout_seconds",
            ),
            (
                json!({"steps": [{"kind": "set_status", "name": "a", "status": "done"}]}),
                "steps[0].status",
            ),
            (
                json!({"inputs": [{"name": "path"}], "steps": [{"kind": "add_note", "name": "a", "text": "x"}]}),
                "inputs[0].name",
            ),
            (
                json!({"inputs": [{"name": "PATH"}], "steps": [{"kind": "add_note", "name": "a", "text": "x"}]}),
                "inputs[0].name",
            ),
            (
                json!({"inputs": [{"name": "LD_PRELOAD"}], "steps": [{"kind": "add_note", "name": "a", "text": "x"}]}),
                "inputs[0].name",
            ),
            (
                json!({"inputs": [{"name": "A"}, {"name": "A"}], "steps": [{"kind": "add_note", "name": "a", "text": "x"}]}),
                "declared twice",
            ),
            (
                json!({"inputs": [{"name": "A", "type": "float"}], "steps": [{"kind": "add_note", "name": "a", "text": "x"}]}),
                "inputs[0].type",
            ),
            (
                json!({"inputs": [{"name": "A", "allowed": ["x"], "default": "y"}], "steps": [{"kind": "add_note", "name": "a", "text": "x"}]}),
                "inputs[0].default",
            ),
            (
                json!({"inputs": [{"name": "A", "allowed": ["x"], "restricted": {"y": ["r"]}}], "steps": [{"kind": "add_note", "name": "a", "text": "x"}]}),
                "inputs[0].restricted",
            ),
            (
                json!({"inputs": [{"name": "A"}], "triggers": [{"on": ["incident.opened"]}], "steps": [{"kind": "add_note", "name": "a", "text": "x"}]}),
                "triggers[0].inputs: A is required",
            ),
            (
                json!({"triggers": [{"on": ["alert.fired"]}], "steps": [{"kind": "add_note", "name": "a", "text": "x"}]}),
                "triggers[0].on",
            ),
            (
                json!({"triggers": [{"on": ["incident.opened"], "severities": ["P1"]}], "steps": [{"kind": "add_note", "name": "a", "text": "x"}]}),
                "triggers[0].severities",
            ),
            (
                json!({"triggers": [{"on": ["incident.opened"]}], "steps": [{"kind": "add_note", "name": "a", "text": "x"}]}),
                "run_as: a runbook with triggers",
            ),
            (
                json!({"run_as": "0190c2a4-7a00-7000-8000-000000000001", "steps": [{"kind": "add_note", "name": "a", "text": "x"}]}),
                "run_as: only with triggers",
            ),
            (
                json!({"run_as": "admin", "triggers": [{"on": ["incident.opened"]}], "steps": [{"kind": "add_note", "name": "a", "text": "x"}]}),
                "run_as: admin is not",
            ),
            (
                json!({"steps": [{"kind": "notification", "name": "a", "channel": "sms", "to": "x", "text": "t"}]}),
                "steps[0].channel",
            ),
            (
                json!({"steps": [{"kind": "notification", "name": "a", "channel": "email", "to": "https://x", "text": "t"}]}),
                "steps[0].to",
            ),
            (
                json!({"steps": [{"kind": "notification", "name": "a", "channel": "slack", "to": "hooks.slack.com", "text": "t"}]}),
                "steps[0].to",
            ),
            (
                json!({"secrets": [{"name": "T", "secret": "t"}], "steps": [{"kind": "notification", "name": "a", "channel": "slack", "to": "{{secrets.T}}", "text": "{{secrets.T}}"}]}),
                "steps[0].text: secrets may not appear here",
            ),
            (
                json!({"steps": [{"kind": "page", "name": "a", "users": []}]}),
                "steps[0].users: 1 to 10",
            ),
            (
                json!({"steps": [{"kind": "page", "name": "a", "users": ["not-an-email"]}]}),
                "steps[0].users: not-an-email",
            ),
            (
                json!({"delegate_selector": ["env"], "steps": [{"kind": "add_note", "name": "a", "text": "x"}]}),
                "delegate_selector",
            ),
            (
                json!({"steps": [{"kind": "script", "name": "a", "script": "x\u{0}"}]}),
                "NUL",
            ),
            (
                json!({"steps": [{"kind": "prometheus_query", "name": "a", "url": "prom:9090", "query": "up"}]}),
                "steps[0].url",
            ),
            (
                json!({"steps": [{"kind": "prometheus_query", "name": "a", "url": "http://p", "query": ""}]}),
                "steps[0].query: must not be empty",
            ),
            (
                json!({"secrets": [{"name": "T", "secret": "t"}], "steps": [{"kind": "prometheus_query", "name": "a", "url": "http://p", "query": "up{token=\"{{secrets.T}}\"}"}]}),
                "steps[0].query: secrets may not appear here",
            ),
            (
                json!({"steps": [{"kind": "prometheus_query", "name": "a", "url": "http://p", "query": "up", "step_seconds": 5}]}),
                "only with range_seconds",
            ),
            (
                json!({"steps": [{"kind": "prometheus_query", "name": "a", "url": "http://p", "query": "up", "range_seconds": 86400, "step_seconds": 1}]}),
                "steps[0].step_seconds",
            ),
            (
                json!({"steps": [{"kind": "prometheus_query", "name": "a", "url": "http://p", "query": "up", "range_seconds": 60, "step_seconds": 61}]}),
                "steps[0].step_seconds",
            ),
            (
                json!({"steps": [{"kind": "prometheus_query", "name": "a", "url": "http://p", "query": "up", "range_seconds": 99999999}]}),
                "steps[0].range_seconds",
            ),
        ];
        for (document, expected) in cases {
            let error = parse(document.clone()).unwrap_err();
            assert!(
                error.contains(expected),
                "{document}: {error} (expected {expected})"
            );
        }
        let too_many: Vec<_> = (0..=STEPS_MAX)
            .map(|i| json!({"kind": "add_note", "name": format!("s{i}"), "text": "x"}))
            .collect();
        assert!(
            parse(json!({"steps": too_many}))
                .unwrap_err()
                .contains("at most 20 steps")
        );
    }

    #[test]
    fn a_query_step_is_instant_or_a_range_with_a_sensible_resolution() {
        let step = |extra: serde_json::Value| {
            let mut step = json!({"kind": "prometheus_query", "name": "errors",
                                  "url": "https://prom.internal:9090/",
                                  "query": "sum(rate(http_requests_total{code=~\"5..\"}[5m]))"});
            step.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            parse(json!({"steps": [step]})).unwrap().steps[0].clone()
        };
        let Step::PrometheusQuery { range, .. } = step(json!({})) else {
            panic!("not a query step");
        };
        assert_eq!(range, None);
        let Step::PrometheusQuery { range, .. } = step(json!({"range_seconds": 3600})) else {
            panic!("not a query step");
        };
        assert_eq!(
            range,
            Some(QueryRange {
                seconds: 3600,
                step_seconds: 15
            })
        );
        let Step::PrometheusQuery { range, .. } = step(json!({"range_seconds": 30})) else {
            panic!("not a query step");
        };
        assert_eq!(range.unwrap().step_seconds, 1);
        assert!(step(json!({})).runs_on_a_delegate());
    }

    #[test]
    fn a_trigger_with_labels_needs_one_alert_carrying_them_all() {
        let definition = parse(json!({
            "steps": [{"kind": "add_note", "name": "a", "text": "x"}],
            "triggers": [{"on": ["incident.opened"], "labels": {"team": "payments", "env": "prod"}}],
            "run_as": "0190c2a4-7a00-7000-8000-000000000001"
        }))
        .unwrap();
        let trigger = &definition.triggers[0];
        let labels = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        assert!(trigger.labels_match(&[labels(&[
            ("team", "payments"),
            ("env", "prod"),
            ("host", "a")
        ])]));
        // Split over two alerts is not one alert carrying both.
        assert!(
            !trigger.labels_match(&[labels(&[("team", "payments")]), labels(&[("env", "prod")])])
        );
        assert!(!trigger.labels_match(&[labels(&[("team", "Payments"), ("env", "prod")])]));
        assert!(!trigger.labels_match(&[]));
        let any = parse(json!({
            "steps": [{"kind": "add_note", "name": "a", "text": "x"}],
            "triggers": [{"on": ["incident.opened"]}],
            "run_as": "0190c2a4-7a00-7000-8000-000000000001"
        }))
        .unwrap();
        assert!(any.triggers[0].labels_match(&[]));
        let error = parse(json!({
            "steps": [{"kind": "add_note", "name": "a", "text": "x"}],
            "triggers": [{"on": ["incident.opened"], "labels": {"": "x"}}],
            "run_as": "0190c2a4-7a00-7000-8000-000000000001"
        }))
        .unwrap_err();
        assert!(error.contains("triggers[0].labels"), "{error}");
    }

    #[test]
    fn a_document_round_trips() {
        let doc: RunbookDoc = serde_json::from_value(restart()).unwrap();
        let text = serde_json::to_value(&doc).unwrap();
        assert_eq!(text, restart());
    }
}
