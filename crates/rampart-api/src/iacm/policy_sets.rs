//! Wire types of policy sets (Rego modules checking workspaces, plans or states) and of
//! what they decided about a plan.
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One Rego module of a set.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PolicyModule {
    /// A file name ending in `.rego`, unique in the set.
    #[schema(pattern = "^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,122}\\.rego$")]
    pub name: String,
    /// The Rego source (at most 512 KiB; a set's modules at most 4 MiB together).
    pub source: String,
}

/// Which workspaces of its scope a set applies to.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PolicySetAttach {
    /// `all`, `tags` (workspaces with any of the tags) or `workspaces` (by identifier).
    #[schema(pattern = "^(all|tags|workspaces)$")]
    pub kind: String,
    /// The tags or workspace identifiers; none for `all`.
    #[serde(default)]
    pub values: Vec<String>,
}

/// A new policy set. Its modules are validated (parse, compile, a `deny` or `warn`
/// rule in each): 422 with the module, line and column otherwise.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicySetCreate {
    #[schema(pattern = "^[a-z0-9][a-z0-9-]{0,62}$")]
    pub identifier: String,
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub description: Option<String>,
    /// What the set checks: `workspace` (on create and update), `plan` (on upload, with
    /// its cost estimate) or `state` (on write through the state backend).
    #[schema(pattern = "^(workspace|plan|state)$")]
    pub entity: String,
    /// `advisory` (default), `soft_mandatory` or `hard_mandatory`.
    #[serde(default)]
    #[schema(pattern = "^(advisory|soft_mandatory|hard_mandatory)$")]
    pub enforcement: Option<String>,
    /// `v1` (default) or `v0`.
    #[serde(default)]
    #[schema(pattern = "^v[01]$")]
    pub rego_syntax: Option<String>,
    /// `hcp` (default: `input.plan`, `input.workspace`, …, `input.cost`) or `plan` (the
    /// subject itself is `input`).
    #[serde(default)]
    #[schema(pattern = "^(hcp|plan)$")]
    pub input_shape: Option<String>,
    /// Default: every workspace of the scope.
    #[serde(default)]
    pub attach: Option<PolicySetAttach>,
    /// Default `true`; a disabled set is kept and not evaluated.
    #[serde(default)]
    pub enabled: Option<bool>,
    #[schema(min_items = 1)]
    pub modules: Vec<PolicyModule>,
}

/// Changes to a policy set (what it checks cannot change); `modules` replaces them all.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicySetUpdate {
    #[serde(default)]
    #[schema(min_length = 1, max_length = 100)]
    pub name: Option<String>,
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub description: Option<String>,
    #[serde(default)]
    #[schema(pattern = "^(advisory|soft_mandatory|hard_mandatory)$")]
    pub enforcement: Option<String>,
    #[serde(default)]
    #[schema(pattern = "^v[01]$")]
    pub rego_syntax: Option<String>,
    #[serde(default)]
    #[schema(pattern = "^(hcp|plan)$")]
    pub input_shape: Option<String>,
    #[serde(default)]
    pub attach: Option<PolicySetAttach>,
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub modules: Option<Vec<PolicyModule>>,
}

/// A policy set. `modules` (with their sources) is in the answer of a single set, not
/// in lists.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct PolicySet {
    pub id: String,
    pub identifier: String,
    /// `org` or `org/project`.
    pub scope: String,
    pub name: String,
    pub description: String,
    pub entity: String,
    pub enforcement: String,
    pub rego_syntax: String,
    pub input_shape: String,
    pub attach: PolicySetAttach,
    pub enabled: bool,
    /// +1 at every change; results name the version that decided them.
    pub version: u64,
    pub module_count: u64,
    pub created_at: String,
    pub updated_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modules: Option<Vec<PolicyModule>>,
}

/// What one module decided.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct PolicyModuleResult {
    pub name: String,
    /// The module's package, without `data.`.
    pub package: String,
    /// Its `deny` messages, sorted; none passes.
    pub deny: Vec<String>,
    pub warn: Vec<String>,
    /// Time spent reading its decision, in microseconds (rules it shares with modules
    /// read before it count for those).
    pub duration_us: u64,
}

/// An override of a failed soft-mandatory result.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct PolicyOverride {
    pub by: String,
    pub reason: String,
    pub at: String,
}

/// What one policy set decided about a plan.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct PolicyResult {
    /// The set's identifier.
    pub policy_set: String,
    pub policy_set_id: String,
    /// `org` or `project`: where the set is defined.
    pub policy_set_scope: String,
    /// The version of the set that decided.
    pub policy_set_version: u64,
    pub enforcement: String,
    /// `passed`, `failed` (a module denies) or `errored` (the evaluation could not
    /// finish: a failure at the set's enforcement level).
    pub outcome: String,
    /// Whether it holds the plan back: `no`, `until_overridden` or `yes`.
    pub blocking: String,
    /// Evaluation time of the set, every module together, in microseconds.
    pub duration_us: u64,
    pub evaluated_at: String,
    pub modules: Vec<PolicyModuleResult>,
    /// `{code}: {message}` when the evaluation could not finish (`policy_timeout`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r#override: Option<PolicyOverride>,
}

/// A plan's policy results and what they add up to.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct PolicyResults {
    /// `none` (no set applied), `passed`, `passed_with_warnings`, `needs_override` or
    /// `blocked`.
    pub policy_status: String,
    pub results: Vec<PolicyResult>,
}

/// Overrides a plan's failed soft-mandatory result.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyOverrideCreate {
    /// The set's identifier (or its id, when an organisation's and a project's set share
    /// the identifier).
    #[schema(min_length = 1, max_length = 100)]
    pub policy_set: String,
    /// Why (1 to 1000 characters); kept sealed and recorded in the audit log.
    #[schema(min_length = 1, max_length = 1000)]
    pub reason: String,
}
