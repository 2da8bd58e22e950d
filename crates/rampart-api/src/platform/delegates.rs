//! Wire types of delegates (the agents that do outbound work) and their tasks, for the
//! project's members and for the agent itself.
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A new delegate of a project.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DelegateCreate {
    #[schema(pattern = "^[a-z0-9][a-z0-9-]{0,62}$")]
    pub name: String,
    /// `key=value` labels that tasks select delegates by (at most 32).
    #[serde(default)]
    pub tags: Vec<String>,
}

/// A delegate as its project's members see it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Delegate {
    pub id: String,
    pub name: String,
    pub tags: Vec<String>,
    /// `pending` (not registered yet), `active` or `revoked`.
    pub status: String,
    #[serde(default)]
    pub registration_expires_at: Option<String>,
    /// The version the agent reported.
    #[serde(default)]
    pub version: Option<String>,
    /// The agent's last request (it polls for tasks continuously).
    #[serde(default)]
    pub last_heartbeat_at: Option<String>,
    #[serde(default)]
    pub last_ip: Option<String>,
    pub created_by: String,
    pub created_at: String,
    #[serde(default)]
    pub registered_at: Option<String>,
    #[serde(default)]
    pub revoked_at: Option<String>,
    /// The sandbox the agent runs script steps in, as it reported:
    /// `full (landlock…, seccomp, rlimits)`, `weak (…)` or `none (…)` (scripts refused).
    #[serde(default)]
    pub sandbox: Option<String>,
}

/// A new delegate with its one-time registration token (shown once; give it to
/// `rampart delegate register`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DelegateCreated {
    pub delegate: Delegate,
    pub registration_token: String,
}

/// A connectivity check of a delegate.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DelegatePing {
    /// Text the delegate sends back in its answer (at most 1 024 characters).
    #[serde(default)]
    #[schema(max_length = 1024)]
    pub echo: Option<String>,
}

/// A task of a project's delegates.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct DelegateTask {
    pub id: String,
    /// `ping` or `webhook`.
    pub kind: String,
    /// `queued`, `running`, `succeeded`, `failed` or `refused`.
    pub status: String,
    /// Tags a delegate must have to run it.
    pub selector: Vec<String>,
    /// The delegate it is for, when only one may run it.
    #[serde(default)]
    pub target_delegate_id: Option<String>,
    /// The delegate running it, or that ran its last attempt.
    #[serde(default)]
    pub delegate_id: Option<String>,
    pub attempts: u32,
    pub max_attempts: u32,
    pub not_before: String,
    pub expires_at: String,
    #[serde(default)]
    pub error_code: Option<String>,
    /// What the delegate reported (reading one task only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// The agent's registration: the one-time token and what it runs.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DelegateRegister {
    pub registration_token: String,
    /// The agent's version (letters, digits, `.`, `-`, `+`, `_`).
    pub version: String,
}

/// What registering gives the agent: its credential (shown once) and the public key
/// every task must be signed with (pinned by the agent).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DelegateRegistered {
    pub delegate: Delegate,
    /// `org/project`.
    pub project: String,
    /// The delegate's credential, `rmp_dlg_…`.
    pub credential: String,
    /// Hex Ed25519 public key.
    pub task_signing_public_key: String,
}

/// The signed envelope of a task (see `rampart_crypto::task_signature`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct TaskEnvelope {
    pub task_id: String,
    pub kind: String,
    /// Hex SHA-256 of `arguments` exactly as sent.
    pub arguments_sha256: String,
    pub delegate_id: String,
    /// Unix seconds after which the task must not run.
    pub expires_at: i64,
    /// Hex; a delegate runs each nonce once.
    pub nonce: String,
}

/// A task handed to the polling delegate.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DelegateWork {
    pub envelope: TaskEnvelope,
    /// Hex Ed25519 signature over the envelope.
    pub signature: String,
    /// The attempt this is (report it back).
    pub attempt: u32,
    /// The task's arguments: JSON text, exactly the bytes the envelope's digest covers.
    pub arguments: String,
}

/// How the delegate's attempt at a task ended.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DelegateTaskResult {
    pub attempt: u32,
    /// `succeeded`, `failed` or `refused` (the envelope did not pass its checks).
    pub outcome: String,
    /// What to keep (sealed), at most 64 KiB.
    #[serde(default)]
    pub output: Option<String>,
    /// Why it failed or was refused (`task_bad_signature`, `http_status_500`, …).
    #[serde(default)]
    pub error_code: Option<String>,
    /// With `failed`: trying again cannot help (a destination the delegate may not
    /// reach, a receiver that refused the request with a 4xx), so the task fails now
    /// instead of being retried.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub permanent: bool,
}

/// What a running task has to show so far (a script's output, shaped like its final
/// report with `ended` = `running`); it also extends the attempt's lease.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DelegateTaskProgress {
    pub attempt: u32,
    /// At most 64 KiB, kept sealed in place of the result until the task ends.
    pub output: String,
}

/// The task's status after the report (`queued` again when it will be retried).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DelegateTaskReported {
    pub status: String,
}

/// `?status=&limit=&cursor=` on a project's task list.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DelegateTaskListParams {
    /// `queued`, `running`, `succeeded`, `failed` or `refused`.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub limit: Option<u32>,
    #[serde(default)]
    pub cursor: Option<String>,
}

/// `?wait=&sandbox=` on the agent's poll: seconds to wait for a task (0 to 30,
/// default 25), and the agent's sandbox.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DelegatePollParams {
    #[serde(default)]
    pub wait: Option<u64>,
    /// The agent's script sandbox, as it describes it (kept on the delegate).
    #[serde(default)]
    pub sandbox: Option<String>,
}

/// The arguments of a `script` task (a runbook's script step), as the delegate gets
/// them: `/bin/sh` runs `script` in the delegate's sandbox.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ScriptTask {
    pub script: String,
    /// Declared inputs: environment variables of the script.
    #[serde(default)]
    pub inputs: std::collections::BTreeMap<String, String>,
    /// Secrets: environment variables too, and every value masked in the output.
    #[serde(default)]
    pub secrets: std::collections::BTreeMap<String, String>,
    /// TCP ports the script may connect to; absent: no network at all.
    #[serde(default)]
    pub tcp_connect_ports: Option<Vec<u16>>,
    pub limits: ScriptTaskLimits,
}

/// A script step's limits (see `rampart_domain::platform::delegates::ScriptLimits`).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ScriptTaskLimits {
    pub wall_seconds: u64,
    pub cpu_seconds: u64,
    pub memory_bytes: u64,
    pub processes: u64,
    pub file_bytes: u64,
    pub output_bytes: u64,
}

/// What a delegate reports of a script it ran (the task result's `output`, as JSON).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ScriptTaskOutput {
    /// `exited`, `signalled`, `timed_out`, `output_limit` or `sandbox_failed`.
    pub ended: String,
    #[serde(default)]
    pub exit_code: Option<i32>,
    #[serde(default)]
    pub signal: Option<i32>,
    /// Standard output and error interleaved, every secret value masked.
    pub output: String,
    pub output_truncated: bool,
    /// The sandbox the script ran in, as the delegate describes it.
    pub sandbox: String,
    pub duration_ms: u64,
}

/// The arguments of an `http_request` task (a runbook's HTTP step). The delegate sends
/// it only to a URL under one of its allowed prefixes and follows no redirect.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HttpRequestTask {
    /// `GET`, `HEAD`, `POST`, `PUT`, `PATCH` or `DELETE`.
    pub method: String,
    pub url: String,
    #[serde(default)]
    pub headers: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    pub body: Option<String>,
    /// 1 to 60.
    pub timeout_seconds: u64,
    /// Values (resolved secrets in the headers or body) masked in what is reported.
    #[serde(default)]
    pub mask: Vec<String>,
}

/// The arguments of a `prometheus_query` task: a PromQL query against the Prometheus
/// HTTP API at `url` (its base address; the delegate sends it only under an allowed
/// prefix). An instant query at `time`, or a range query when `range` is given.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PrometheusQueryTask {
    pub url: String,
    pub query: String,
    /// An instant query's evaluation time (Unix seconds); absent: when the delegate
    /// runs it.
    #[serde(default)]
    pub time: Option<i64>,
    #[serde(default)]
    pub range: Option<PrometheusQueryRange>,
    #[serde(default)]
    pub headers: std::collections::BTreeMap<String, String>,
    /// 1 to 60.
    pub timeout_seconds: u64,
    /// Values (resolved secrets in the headers) masked in what is reported.
    #[serde(default)]
    pub mask: Vec<String>,
}

/// A range query: `seconds` back from `end`, one point every `step_seconds`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PrometheusQueryRange {
    /// Unix seconds; absent: when the delegate runs it.
    #[serde(default)]
    pub end: Option<i64>,
    pub seconds: u64,
    pub step_seconds: u64,
}

/// What a delegate reports of a Prometheus query (the task result's `output`): the
/// API's `data` — `resultType` and `result` exactly as Prometheus gave them — cut to
/// whole series when it would not fit in a task result.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct PrometheusQueryTaskOutput {
    /// `vector`, `matrix`, `scalar` or `string`.
    pub result_type: String,
    #[schema(value_type = Object)]
    pub result: serde_json::Value,
    /// Series Prometheus returned (`result` holds fewer when `truncated`).
    pub series: usize,
    pub truncated: bool,
    /// Prometheus's warnings, if any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// The evaluation time of an instant query, or the range's start and end.
    pub start: i64,
    pub end: i64,
    pub duration_ms: u64,
}

/// What a delegate reports of an HTTP request step (the task result's `output`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct HttpRequestTaskOutput {
    pub status: u16,
    /// At most 16 KiB of the answer, masked.
    pub body: String,
    pub body_truncated: bool,
    pub duration_ms: u64,
}
