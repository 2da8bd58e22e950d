//! Wire types of variables (a workspace's own and variable sets') and of runs' logs.
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::PolicySetAttach;

/// Creates a variable or changes it (`PUT …/variables/{category}/{key}`): a new
/// variable needs a `value`; what is left out stays as it is.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VariableWrite {
    /// The value (at most 64 KiB); leave it out to keep a sensitive value as it is.
    #[serde(default)]
    pub value: Option<String>,
    /// The value is an HCL expression (a list, a map, a number); Terraform parses a
    /// `TF_VAR_` value as HCL for a variable of a complex type.
    #[serde(default)]
    pub hcl: Option<bool>,
    /// Write-only from now on: never shown again, handed only to a run's executor and
    /// masked in logs and plan views. A sensitive variable stays sensitive.
    #[serde(default)]
    pub sensitive: Option<bool>,
    #[serde(default)]
    #[schema(max_length = 500)]
    pub description: Option<String>,
}

/// A variable as shown: a sensitive one has no `value`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Variable {
    pub key: String,
    /// `terraform` (an input variable: `TF_VAR_<key>`) or `env` (an environment
    /// variable of the Terraform process).
    pub category: String,
    /// Absent for a sensitive variable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    pub hcl: bool,
    pub sensitive: bool,
    pub description: String,
    /// In what a workspace's runs receive: where the value comes from (`workspace`,
    /// `project set <id>`, `organisation set <id>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// In what a workspace's runs receive: the sources it took precedence over.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overrides: Vec<String>,
}

/// The variables of a workspace, a set, or what a workspace's runs receive.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct VariableList {
    pub items: Vec<Variable>,
}

/// A variable as a run's executor receives it: with its value, and the environment
/// variable that carries it to Terraform.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct RunVariable {
    pub key: String,
    pub category: String,
    /// `TF_VAR_<key>` or the key itself.
    pub environment_name: String,
    pub value: String,
    pub hcl: bool,
    pub sensitive: bool,
    pub source: String,
}

/// What a run's executor receives.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct RunVariables {
    pub items: Vec<RunVariable>,
}

/// Creates a variable set of an organisation or a project (its variables are added
/// one at a time).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VariableSetCreate {
    #[schema(pattern = "^[a-z0-9][a-z0-9-]{0,62}$")]
    pub identifier: String,
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub description: Option<String>,
    /// Default: every workspace of the scope.
    #[serde(default)]
    pub attach: Option<PolicySetAttach>,
}

/// Changes to a variable set's settings.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VariableSetUpdate {
    #[serde(default)]
    #[schema(min_length = 1, max_length = 100)]
    pub name: Option<String>,
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub description: Option<String>,
    #[serde(default)]
    pub attach: Option<PolicySetAttach>,
}

/// A variable set; `variables` is in the answer of a single set, not in lists.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct VariableSet {
    pub id: String,
    pub identifier: String,
    /// `org` or `org/project`.
    pub scope: String,
    pub name: String,
    pub description: String,
    pub attach: PolicySetAttach,
    /// +1 at every change.
    pub version: u64,
    pub variable_count: u64,
    pub created_at: String,
    pub updated_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variables: Option<Vec<Variable>>,
}

/// A run's log of one phase, as stored (its text: `GET …/logs/{phase}`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct RunLog {
    /// `plan` or `apply`.
    pub phase: String,
    pub bytes: u64,
    pub uploaded_by: String,
    pub uploaded_at: String,
}

/// The logs a run has.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct RunLogList {
    pub items: Vec<RunLog>,
}
