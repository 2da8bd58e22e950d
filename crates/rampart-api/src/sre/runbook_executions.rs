//! Wire types of runbook executions: asking for one (inputs and the incident to run
//! it on), an execution with its steps and what their delegates reported, and the
//! list. Statuses: `awaiting_approval`, `running`, `succeeded`, `failed`, `canceled`;
//! a step's: `pending`, `running`, `succeeded`, `failed`, `skipped`.
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Starting an execution of a runbook's current version.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunbookExecutionCreate {
    /// Input name → value (a string, an integer or a boolean, as the input is typed);
    /// inputs left out take their defaults. Bad ones answer `invalid_inputs`; a value
    /// restricted to roles the caller does not hold answers 403 `input_value_restricted`.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub inputs: serde_json::Map<String, serde_json::Value>,
    /// The number of the project's incident to run it on (needed when a step acts on
    /// an incident: `incident_required`).
    #[serde(default)]
    pub incident: Option<u64>,
}

/// One step of an execution.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct RunbookExecutionStep {
    pub index: u32,
    pub name: String,
    /// `script`, `http_request`, `prometheus_query`, `notification`, `add_note`, `set_status` or `page`.
    pub kind: String,
    pub status: String,
    /// The delegate task that ran it (a delegate's steps).
    pub task_id: Option<String>,
    pub error_code: Option<String>,
    /// What the delegate reported, as JSON (a script's ending and masked output, an
    /// answer's status and body).
    #[schema(value_type = Object)]
    pub output: Option<serde_json::Value>,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
}

/// An execution of a runbook.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct RunbookExecution {
    pub id: String,
    pub runbook: String,
    pub runbook_version: u32,
    /// The incident's number, when it runs on one.
    pub incident: Option<u64>,
    /// `manual`, `incident.opened` or `incident.changed`.
    pub trigger: String,
    pub status: String,
    pub started_by: String,
    pub approved_by: Option<String>,
    pub canceled_by: Option<String>,
    pub error_code: Option<String>,
    /// The values it runs with (a runbook's secrets are never among them).
    pub inputs: std::collections::BTreeMap<String, String>,
    pub steps: Vec<RunbookExecutionStep>,
    pub created_at: String,
    pub updated_at: String,
    pub finished_at: Option<String>,
}

/// An execution as listed (no inputs or steps).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct RunbookExecutionSummary {
    pub id: String,
    pub runbook: String,
    pub runbook_version: u32,
    pub trigger: String,
    pub status: String,
    pub started_by: String,
    pub current_step: u32,
    pub error_code: Option<String>,
    pub created_at: String,
    pub finished_at: Option<String>,
}
