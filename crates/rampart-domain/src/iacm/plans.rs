//! Terraform/OpenTofu plans, as `terraform show -json PLANFILE` (or `tofu show -json`)
//! writes them: what such a document must be ([`Plan::parse`]), what it changes
//! ([`PlanSummary`]: resources to add, change, replace, destroy, read or leave alone,
//! by address and action, and the outputs), and the same document with every value the
//! plan marks sensitive replaced by [`SENSITIVE_MARKER`] ([`masked_plan`]).
//!
//! The JSON output format is Terraform's documented one
//! (<https://developer.hashicorp.com/terraform/internals/json-format>), versions
//! `0.1` to `1.x` (Terraform 0.12 to 1.15, OpenTofu alike). Where the plan carries a
//! value it also says whether the value is sensitive:
//!
//! - `resource_changes[]`, `resource_drift[]` (and `deferred_changes[].resource_change`):
//!   `change.before` and `change.after`, with `change.before_sensitive` and
//!   `change.after_sensitive` — `true` for a wholly sensitive value, or a structure of
//!   the value's shape whose `true` leaves mark sensitive parts;
//! - `planned_values` and `prior_state.values`: each resource's `values` with its
//!   `sensitive_values` (same rule), through `root_module` and `child_modules`; each
//!   output's `value` with its `sensitive` flag;
//! - `output_changes`: like a resource change; an output declared `sensitive` (in
//!   `configuration`, or flagged in the planned or prior values) is masked whole;
//! - `variables`: the root module's input values; a variable declared `sensitive` in
//!   `configuration` is masked, and so are its `default` there and constant values
//!   passed to a module's sensitive variable.
//!
//! When the shape of a sensitivity mark and of its value disagree, the whole value is
//! masked: the view fails closed.
//!
//! [`Plan`] is the parsed form other rules read (the cost estimator, policy input):
//! format and Terraform version, and each resource change with its address, type,
//! provider, mode, actions, reason and values.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{PlanId, WorkspaceId};

/// What replaces every sensitive value in [`masked_plan`] (Terraform's own words for
/// one in its plan output).
pub const SENSITIVE_MARKER: &str = "(sensitive value)";

/// The longest `terraform_version` accepted (it is kept in clear with the plan).
pub const TERRAFORM_VERSION_CHARS_MAX: usize = 64;

/// Why a document is not a plan that can be stored.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// Not a plan: empty, not JSON, not an object, a state instead of a plan, a field
    /// missing or of the wrong type. The message names the field.
    #[error("{0}")]
    Invalid(String),
    /// A plan of a JSON format version this server does not read.
    #[error("plan format_version {0:?} is not supported (Terraform's JSON plan format 0.1 to 1.x)")]
    UnsupportedFormat(String),
}

fn invalid(message: impl Into<String>) -> PlanError {
    PlanError::Invalid(message.into())
}

/// One action Terraform lists in a change's `actions`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChangeAction {
    NoOp,
    Create,
    Read,
    Update,
    Delete,
    /// Removed from the state without being destroyed (Terraform 1.7+ `removed` blocks).
    Forget,
}

impl ChangeAction {
    fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "no-op" => Self::NoOp,
            "create" => Self::Create,
            "read" => Self::Read,
            "update" => Self::Update,
            "delete" => Self::Delete,
            "forget" => Self::Forget,
            _ => return None,
        })
    }

    /// As Terraform writes it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::NoOp => "no-op",
            Self::Create => "create",
            Self::Read => "read",
            Self::Update => "update",
            Self::Delete => "delete",
            Self::Forget => "forget",
        }
    }
}

/// What a change does to its object, from its `actions` list: the categories of
/// Terraform's "Plan: N to add, N to change, N to destroy" line, with replacement and
/// reads told apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PlannedAction {
    /// `["create"]`.
    Create,
    /// `["update"]`, in place.
    Update,
    /// `["delete", "create"]`, `["create", "delete"]` (`create_before_destroy`) or
    /// `["create", "forget"]`.
    Replace,
    /// `["delete"]`.
    Delete,
    /// `["read"]`: a data source read during apply.
    Read,
    /// `["no-op"]`.
    NoOp,
    /// `["forget"]`: dropped from the state, left running.
    Forget,
}

impl PlannedAction {
    /// The action of an `actions` list, or `None` for a list Terraform never writes.
    pub fn of(actions: &[ChangeAction]) -> Option<Self> {
        use ChangeAction as A;
        Some(match actions {
            [A::Create] => Self::Create,
            [A::Update] => Self::Update,
            [A::Delete, A::Create] | [A::Create, A::Delete] | [A::Create, A::Forget] => {
                Self::Replace
            }
            [A::Delete] => Self::Delete,
            [A::Read] => Self::Read,
            [A::NoOp] => Self::NoOp,
            [A::Forget] => Self::Forget,
            _ => return None,
        })
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Update => "update",
            Self::Replace => "replace",
            Self::Delete => "delete",
            Self::Read => "read",
            Self::NoOp => "no-op",
            Self::Forget => "forget",
        }
    }
}

/// `managed` (a `resource` block) or `data` (a `data` block).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResourceMode {
    Managed,
    Data,
}

impl ResourceMode {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Managed => "managed",
            Self::Data => "data",
        }
    }
}

/// One entry of a plan's `resource_changes`: a resource instance (or a deposed object
/// of one) and what the plan does to it.
#[derive(Clone, Debug, PartialEq)]
pub struct ResourceChange {
    /// The instance address: `module.net.aws_subnet.public[0]`.
    pub address: String,
    /// The address it had before a `moved` block, when it moved.
    pub previous_address: Option<String>,
    /// The module address, `None` for the root module.
    pub module_address: Option<String>,
    pub mode: ResourceMode,
    /// The resource type: `aws_instance`.
    pub resource_type: String,
    pub name: String,
    /// `count` or `for_each` key, when the resource has one.
    pub index: Option<Value>,
    /// `registry.terraform.io/hashicorp/aws` (older plans: `aws`).
    pub provider_name: String,
    /// The deposed object's key, for a change to a deposed object.
    pub deposed: Option<String>,
    /// The actions as listed.
    pub actions: Vec<ChangeAction>,
    /// What the actions amount to.
    pub action: PlannedAction,
    /// Why (`replace_because_tainted`, `read_because_dependency_pending`, …), when
    /// Terraform says (format 0.2+ for managed, 1.2+ for data resources).
    pub action_reason: Option<String>,
    /// The object before and after (`null` when it does not exist on that side). In
    /// clear: mask with [`Self::before_sensitive`] / [`Self::after_sensitive`] before
    /// showing them.
    pub before: Value,
    pub after: Value,
    /// Which parts of `after` are known only after apply (`true` leaves).
    pub after_unknown: Value,
    /// Which parts of `before`/`after` are sensitive (`true` leaves; `false` or `null`
    /// when none or when the plan's format predates the field).
    pub before_sensitive: Value,
    pub after_sensitive: Value,
}

/// One entry of a plan's `output_changes`.
#[derive(Clone, Debug, PartialEq)]
pub struct OutputChange {
    pub name: String,
    pub actions: Vec<ChangeAction>,
    pub action: PlannedAction,
}

/// A parsed plan: what every rule reading plans needs. Parse with [`Plan::parse`].
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// The JSON format version: `0.1` … `1.2` so far.
    pub format_version: String,
    /// The Terraform (or OpenTofu) version that made the plan.
    pub terraform_version: String,
    pub resource_changes: Vec<ResourceChange>,
    /// By name, sorted.
    pub output_changes: Vec<OutputChange>,
}

/// Counts of resource changes by what they do.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionCounts {
    pub add: u64,
    pub change: u64,
    pub replace: u64,
    pub destroy: u64,
    pub read: u64,
    pub no_op: u64,
    pub forget: u64,
}

impl ActionCounts {
    fn count(&mut self, action: PlannedAction) {
        let slot = match action {
            PlannedAction::Create => &mut self.add,
            PlannedAction::Update => &mut self.change,
            PlannedAction::Replace => &mut self.replace,
            PlannedAction::Delete => &mut self.destroy,
            PlannedAction::Read => &mut self.read,
            PlannedAction::NoOp => &mut self.no_op,
            PlannedAction::Forget => &mut self.forget,
        };
        *slot += 1;
    }
}

/// One resource change in a summary.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceSummary {
    pub address: String,
    pub action: PlannedAction,
    /// The actions as listed (`["delete", "create"]` tells a replacement's order).
    pub actions: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_reason: Option<String>,
    /// Set for a change to a deposed object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deposed: Option<String>,
}

/// One output change in a summary.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputSummary {
    pub name: String,
    pub action: PlannedAction,
}

/// What a plan changes, without any value: counts, then every resource change (in the
/// plan's order) and output change. Stored (sealed) as JSON with the plan, so this type
/// is a stored document and derives serde.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanSummary {
    pub counts: ActionCounts,
    pub resources: Vec<ResourceSummary>,
    pub outputs: Vec<OutputSummary>,
}

/// Reads a format version `MAJOR.MINOR`; supported: `0.1` and later `0.x`, and `1.x`.
fn supported_format(text: &str) -> bool {
    let Some((major, minor)) = text.split_once('.') else {
        return false;
    };
    let number = |part: &str| {
        (!part.is_empty() && part.len() <= 4 && part.bytes().all(|b| b.is_ascii_digit()))
            .then(|| part.parse::<u32>().ok())
            .flatten()
    };
    match (number(major), number(minor)) {
        (Some(0), Some(minor)) => minor >= 1,
        (Some(1), Some(_)) => true,
        _ => false,
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn string_field(object: &Map<String, Value>, field: &str, at: &str) -> Result<String, PlanError> {
    match object.get(field) {
        Some(Value::String(text)) => Ok(text.clone()),
        None | Some(Value::Null) => Err(invalid(format!("{at}{field} is missing"))),
        Some(other) => Err(invalid(format!(
            "{at}{field} must be a string, not {}",
            kind(other)
        ))),
    }
}

fn optional_string(
    object: &Map<String, Value>,
    field: &str,
    at: &str,
) -> Result<Option<String>, PlanError> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(other) => Err(invalid(format!(
            "{at}{field} must be a string, not {}",
            kind(other)
        ))),
    }
}

fn actions_of(change: &Map<String, Value>, at: &str) -> Result<Vec<ChangeAction>, PlanError> {
    let Some(list) = change.get("actions") else {
        return Err(invalid(format!("{at}actions is missing")));
    };
    let Value::Array(list) = list else {
        return Err(invalid(format!(
            "{at}actions must be an array of actions, not {}",
            kind(list)
        )));
    };
    list.iter()
        .map(|action| {
            action
                .as_str()
                .and_then(ChangeAction::parse)
                .ok_or_else(|| invalid(format!("{at}actions holds an unknown action {action}")))
        })
        .collect()
}

fn planned_action(actions: &[ChangeAction], at: &str) -> Result<PlannedAction, PlanError> {
    PlannedAction::of(actions).ok_or_else(|| {
        let listed: Vec<&str> = actions.iter().map(|action| action.as_str()).collect();
        invalid(format!(
            "{at}actions {listed:?} is not a combination Terraform plans"
        ))
    })
}

/// Checks the document's top level and returns it as an object.
fn plan_object(value: Value) -> Result<Map<String, Value>, PlanError> {
    let Value::Object(object) = value else {
        return Err(invalid(format!(
            "a plan is a JSON object (`terraform show -json PLANFILE`), not {}",
            kind(&value)
        )));
    };
    let format_version = match object.get("format_version") {
        Some(Value::String(text)) => text.clone(),
        Some(other) => {
            return Err(invalid(format!(
                "format_version must be a string, not {}",
                kind(other)
            )));
        }
        None if object.contains_key("version") && object.contains_key("lineage") => {
            return Err(invalid(
                "this is a Terraform state file, not a plan: format_version is missing \
                 (upload `terraform show -json PLANFILE`)",
            ));
        }
        None => return Err(invalid("format_version is missing")),
    };
    if !supported_format(&format_version) {
        return Err(PlanError::UnsupportedFormat(
            format_version.chars().take(32).collect(),
        ));
    }
    let terraform_version = string_field(&object, "terraform_version", "")?;
    if terraform_version.is_empty()
        || terraform_version.chars().count() > TERRAFORM_VERSION_CHARS_MAX
        || !terraform_version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+' | '_'))
    {
        return Err(invalid(format!(
            "terraform_version must be a version such as 1.15.5 (1 to \
             {TERRAFORM_VERSION_CHARS_MAX} letters, digits, `.`, `-`, `+`)"
        )));
    }
    match object.get("planned_values") {
        Some(Value::Object(_)) => {}
        None if object.contains_key("values") => {
            return Err(invalid(
                "this is the JSON of a state (`terraform show -json` without a plan \
                 file), not a plan: planned_values is missing",
            ));
        }
        None => return Err(invalid("planned_values is missing")),
        Some(other) => {
            return Err(invalid(format!(
                "planned_values must be an object, not {}",
                kind(other)
            )));
        }
    }
    for (field, want_object) in [
        ("resource_changes", false),
        ("resource_drift", false),
        ("output_changes", true),
        ("variables", true),
        ("prior_state", true),
        ("configuration", true),
    ] {
        match (object.get(field), want_object) {
            (None | Some(Value::Null), _)
            | (Some(Value::Object(_)), true)
            | (Some(Value::Array(_)), false) => {}
            (Some(other), true) => {
                return Err(invalid(format!(
                    "{field} must be an object, not {}",
                    kind(other)
                )));
            }
            (Some(other), false) => {
                return Err(invalid(format!(
                    "{field} must be an array, not {}",
                    kind(other)
                )));
            }
        }
    }
    Ok(object)
}

fn resource_change(position: usize, entry: Value) -> Result<ResourceChange, PlanError> {
    let at = format!("resource_changes[{position}].");
    let Value::Object(mut entry) = entry else {
        return Err(invalid(format!(
            "resource_changes[{position}] must be an object, not {}",
            kind(&entry)
        )));
    };
    let address = string_field(&entry, "address", &at)?;
    let mode = match string_field(&entry, "mode", &at)?.as_str() {
        "managed" => ResourceMode::Managed,
        "data" => ResourceMode::Data,
        other => {
            return Err(invalid(format!(
                "{at}mode must be `managed` or `data`, not {other:?}"
            )));
        }
    };
    let resource_type = string_field(&entry, "type", &at)?;
    let name = string_field(&entry, "name", &at)?;
    // Plans of Terraform 0.12 name the provider too; absent, it is unknown, not wrong.
    let provider_name = optional_string(&entry, "provider_name", &at)?.unwrap_or_default();
    let module_address = optional_string(&entry, "module_address", &at)?;
    let previous_address = optional_string(&entry, "previous_address", &at)?;
    let deposed = optional_string(&entry, "deposed", &at)?;
    let action_reason = optional_string(&entry, "action_reason", &at)?;
    let index = entry.remove("index").filter(|index| !index.is_null());
    let change_at = format!("{at}change.");
    let mut change = match entry.remove("change") {
        Some(Value::Object(change)) => change,
        None => return Err(invalid(format!("{at}change is missing"))),
        Some(other) => {
            return Err(invalid(format!(
                "{at}change must be an object, not {}",
                kind(&other)
            )));
        }
    };
    let actions = actions_of(&change, &change_at)?;
    let action = planned_action(&actions, &change_at)?;
    let mut take = |field: &str| change.remove(field).unwrap_or(Value::Null);
    Ok(ResourceChange {
        address,
        previous_address,
        module_address,
        mode,
        resource_type,
        name,
        index,
        provider_name,
        deposed,
        actions,
        action,
        action_reason,
        before: take("before"),
        after: take("after"),
        after_unknown: take("after_unknown"),
        before_sensitive: take("before_sensitive"),
        after_sensitive: take("after_sensitive"),
    })
}

fn output_changes(changes: Option<Value>) -> Result<Vec<OutputChange>, PlanError> {
    let Some(Value::Object(changes)) = changes else {
        return Ok(Vec::new());
    };
    // serde_json's map is ordered by key: outputs come sorted by name.
    changes
        .into_iter()
        .map(|(name, change)| {
            let at = format!("output_changes.{name}.");
            let Value::Object(change) = change else {
                return Err(invalid(format!(
                    "output_changes.{name} must be an object, not {}",
                    kind(&change)
                )));
            };
            let actions = actions_of(&change, &at)?;
            let action = planned_action(&actions, &at)?;
            Ok(OutputChange {
                name,
                actions,
                action,
            })
        })
        .collect()
}

impl Plan {
    /// Parses and checks a plan document (see [`PlanError`] for what is refused). The
    /// document is read strictly (`crate::json`); its values are kept as they are.
    pub fn parse(body: &[u8]) -> Result<Self, PlanError> {
        Self::from_value(read_document(body)?)
    }

    /// [`Plan::parse`] over a document already read as JSON.
    pub fn from_value(document: Value) -> Result<Self, PlanError> {
        let mut object = plan_object(document)?;
        let format_version = string_field(&object, "format_version", "")?;
        let terraform_version = string_field(&object, "terraform_version", "")?;
        let resource_changes = match object.remove("resource_changes") {
            Some(Value::Array(entries)) => entries
                .into_iter()
                .enumerate()
                .map(|(position, entry)| resource_change(position, entry))
                .collect::<Result<Vec<_>, _>>()?,
            _ => Vec::new(),
        };
        let output_changes = output_changes(object.remove("output_changes"))?;
        Ok(Self {
            format_version,
            terraform_version,
            resource_changes,
            output_changes,
        })
    }

    /// What the plan changes, by address and action.
    pub fn summary(&self) -> PlanSummary {
        let mut counts = ActionCounts::default();
        let resources = self
            .resource_changes
            .iter()
            .map(|change| {
                counts.count(change.action);
                ResourceSummary {
                    address: change.address.clone(),
                    action: change.action,
                    actions: change
                        .actions
                        .iter()
                        .map(|action| action.as_str().to_owned())
                        .collect(),
                    action_reason: change.action_reason.clone(),
                    deposed: change.deposed.clone(),
                }
            })
            .collect();
        PlanSummary {
            counts,
            resources,
            outputs: self
                .output_changes
                .iter()
                .map(|change| OutputSummary {
                    name: change.name.clone(),
                    action: change.action,
                })
                .collect(),
        }
    }
}

/// Reads the document as JSON (strictly, as every input), telling an empty body and
/// non-JSON apart.
fn read_document(body: &[u8]) -> Result<Value, PlanError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(invalid("the plan is empty"));
    }
    crate::json::from_slice(body).map_err(|error| invalid(format!("the plan is not JSON: {error}")))
}

/// Replaces the parts of `value` that `sensitive` marks by [`SENSITIVE_MARKER`]. A mark
/// whose shape does not fit the value masks the whole value.
fn mask_with(value: &mut Value, sensitive: &Value) {
    let fits = match (sensitive, &*value) {
        (Value::Null | Value::Bool(false), _) | (_, Value::Null) => return,
        (Value::Object(_), Value::Object(_)) | (Value::Array(_), Value::Array(_)) => true,
        // `true`, a mark of another shape than its value, or one that is neither a
        // boolean nor a structure: nothing can say which part is sensitive, so all of
        // it is.
        _ => false,
    };
    if !fits {
        *value = Value::String(SENSITIVE_MARKER.to_owned());
        return;
    }
    match (sensitive, value) {
        (Value::Object(marks), Value::Object(fields)) => {
            for (key, mark) in marks {
                if let Some(field) = fields.get_mut(key) {
                    mask_with(field, mark);
                }
            }
        }
        (Value::Array(marks), Value::Array(items)) => {
            for (item, mark) in items.iter_mut().zip(marks) {
                mask_with(item, mark);
            }
        }
        _ => {}
    }
}

/// Masks a change object's `before`/`after` with its `*_sensitive` marks.
fn mask_change(change: &mut Value) {
    let Some(change) = change.as_object_mut() else {
        return;
    };
    for (field, marks) in [("before", "before_sensitive"), ("after", "after_sensitive")] {
        let marks = change.get(marks).cloned().unwrap_or(Value::Null);
        if let Some(value) = change.get_mut(field) {
            mask_with(value, &marks);
        }
    }
}

/// Masks every change of a `resource_changes`-shaped array.
fn mask_resource_changes(changes: Option<&mut Value>) {
    let Some(Value::Array(changes)) = changes else {
        return;
    };
    for entry in changes {
        if let Some(change) = entry.get_mut("change") {
            mask_change(change);
        }
    }
}

/// Masks a `values` document (`planned_values`, `prior_state.values`): resources by
/// their `sensitive_values`, outputs by their `sensitive` flag (whose names are added
/// to `sensitive_outputs`).
fn mask_values(values: Option<&mut Value>, sensitive_outputs: &mut Vec<String>) {
    let Some(values) = values.and_then(Value::as_object_mut) else {
        return;
    };
    if let Some(Value::Object(outputs)) = values.get_mut("outputs") {
        for (name, output) in outputs {
            if output.get("sensitive") == Some(&Value::Bool(true)) {
                sensitive_outputs.push(name.clone());
                if let Some(value) = output.get_mut("value") {
                    *value = Value::String(SENSITIVE_MARKER.to_owned());
                }
            }
        }
    }
    if let Some(module) = values.get_mut("root_module") {
        mask_module(module);
    }
}

fn mask_module(module: &mut Value) {
    let Some(module) = module.as_object_mut() else {
        return;
    };
    if let Some(Value::Array(resources)) = module.get_mut("resources") {
        for resource in resources {
            let marks = resource
                .get("sensitive_values")
                .cloned()
                .unwrap_or(Value::Null);
            if let Some(values) = resource.get_mut("values") {
                mask_with(values, &marks);
            }
        }
    }
    if let Some(Value::Array(children)) = module.get_mut("child_modules") {
        for child in children {
            mask_module(child);
        }
    }
}

/// Masks the configuration's sensitive variables' defaults and constants passed to a
/// module's sensitive variables; returns the root module's sensitive variables and
/// outputs.
fn mask_configuration(configuration: Option<&mut Value>) -> (Vec<String>, Vec<String>) {
    let Some(root) = configuration.and_then(|configuration| configuration.get_mut("root_module"))
    else {
        return (Vec::new(), Vec::new());
    };
    let variables = mask_config_module(root);
    let outputs = root
        .get("outputs")
        .and_then(Value::as_object)
        .map(|outputs| {
            outputs
                .iter()
                .filter(|(_, output)| output.get("sensitive") == Some(&Value::Bool(true)))
                .map(|(name, _)| name.clone())
                .collect()
        })
        .unwrap_or_default();
    (variables, outputs)
}

/// Masks one configuration module (and its calls); returns its sensitive variables.
fn mask_config_module(module: &mut Value) -> Vec<String> {
    let mut sensitive = Vec::new();
    if let Some(Value::Object(variables)) = module.get_mut("variables") {
        for (name, variable) in variables {
            if variable.get("sensitive") == Some(&Value::Bool(true)) {
                sensitive.push(name.clone());
                if let Some(default) = variable.get_mut("default") {
                    *default = Value::String(SENSITIVE_MARKER.to_owned());
                }
            }
        }
    }
    if let Some(Value::Object(calls)) = module.get_mut("module_calls") {
        for call in calls.values_mut() {
            let called = call
                .get_mut("module")
                .map(mask_config_module)
                .unwrap_or_default();
            if let Some(Value::Object(expressions)) = call.get_mut("expressions") {
                for name in &called {
                    if let Some(Value::Object(expression)) = expressions.get_mut(name)
                        && let Some(constant) = expression.get_mut("constant_value")
                    {
                        *constant = Value::String(SENSITIVE_MARKER.to_owned());
                    }
                }
            }
        }
    }
    sensitive
}

/// Masks every sensitive value of a plan document in place (see the module
/// documentation for where they are). The document need not have been checked.
pub fn mask_plan_document(document: &mut Value) {
    let Some(plan) = document.as_object_mut() else {
        return;
    };
    let (sensitive_variables, mut sensitive_outputs) =
        mask_configuration(plan.get_mut("configuration"));
    mask_resource_changes(plan.get_mut("resource_changes"));
    mask_resource_changes(plan.get_mut("resource_drift"));
    if let Some(Value::Array(deferred)) = plan.get_mut("deferred_changes") {
        for entry in deferred {
            if let Some(change) = entry
                .get_mut("resource_change")
                .and_then(|change| change.get_mut("change"))
            {
                mask_change(change);
            }
        }
    }
    mask_values(plan.get_mut("planned_values"), &mut sensitive_outputs);
    if let Some(prior) = plan.get_mut("prior_state") {
        mask_values(prior.get_mut("values"), &mut sensitive_outputs);
    }
    if let Some(Value::Object(outputs)) = plan.get_mut("output_changes") {
        for (name, change) in outputs {
            mask_change(change);
            if sensitive_outputs.contains(name)
                && let Some(change) = change.as_object_mut()
            {
                for field in ["before", "after"] {
                    if let Some(value) = change.get_mut(field) {
                        *value = Value::String(SENSITIVE_MARKER.to_owned());
                    }
                }
            }
        }
    }
    if let Some(Value::Object(variables)) = plan.get_mut("variables") {
        for name in &sensitive_variables {
            if let Some(value) = variables
                .get_mut(name)
                .and_then(|variable| variable.get_mut("value"))
            {
                *value = Value::String(SENSITIVE_MARKER.to_owned());
            }
        }
    }
}

/// The plan with every sensitive value replaced by [`SENSITIVE_MARKER`]; refused like
/// [`Plan::parse`] refuses.
pub fn masked_plan(body: &[u8]) -> Result<Value, PlanError> {
    let mut document = read_document(body)?;
    Plan::from_value(document.clone())?;
    mask_plan_document(&mut document);
    Ok(document)
}

/// The state version a plan was made against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanStateRef {
    /// The workspace's state version number.
    pub version: u64,
    pub serial: u64,
    pub lineage: String,
    /// SHA-256 of that state version's body.
    pub sha256: [u8; 32],
}

/// A stored plan's row, without its sealed parts (the JSON, its digest and summary, the
/// binary plan file).
#[derive(Clone, Debug, PartialEq)]
pub struct StoredPlan {
    pub id: PlanId,
    pub workspace_id: WorkspaceId,
    pub format_version: String,
    pub terraform_version: String,
    pub json_size_bytes: u64,
    /// Counts of the summary (kept in clear, like other numbers, so lists need no key).
    pub counts: ActionCounts,
    /// `None` when the workspace had no state when the plan was uploaded.
    pub state: Option<PlanStateRef>,
    /// The binary plan file's size, once uploaded.
    pub file_size_bytes: Option<u64>,
    pub file_uploaded_at: Option<Timestamp>,
    /// What the policy sets that applied decided, together.
    pub policy_status: crate::iacm::policy_sets::PolicyStatus,
    pub created_by: String,
    pub created_at: Timestamp,
}

/// What the uploader says the plan was made against (`?state_serial=&state_lineage=`):
/// both must match the workspace's current state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StateAssertion {
    pub serial: Option<u64>,
    pub lineage: Option<String>,
}

impl StateAssertion {
    /// `Err` with the explanation when the assertion does not hold for `current`.
    pub fn check(&self, current: Option<&PlanStateRef>) -> Result<(), String> {
        if self.serial.is_none() && self.lineage.is_none() {
            return Ok(());
        }
        let Some(current) = current else {
            return Err(
                "the plan says it was made against a state, and the workspace has none".into(),
            );
        };
        if let Some(serial) = self.serial
            && serial != current.serial
        {
            return Err(format!(
                "the plan was made against serial {serial}; the workspace's current state \
                 has serial {} (plan again)",
                current.serial
            ));
        }
        if let Some(lineage) = &self.lineage
            && *lineage != current.lineage
        {
            return Err(format!(
                "the plan was made against lineage {lineage}; the workspace's current state \
                 has lineage {} (plan again)",
                current.lineage
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn plan(extra: Value) -> Vec<u8> {
        let mut document = json!({
            "format_version": "1.2", "terraform_version": "1.15.5",
            "planned_values": {"root_module": {}},
        });
        for (key, value) in extra.as_object().unwrap() {
            document[key] = value.clone();
        }
        serde_json::to_vec(&document).unwrap()
    }

    fn change(address: &str, actions: Value) -> Value {
        json!({"address": address, "mode": "managed", "type": "terraform_data",
               "name": address.rsplit('.').next().unwrap(),
               "provider_name": "terraform.io/builtin/terraform",
               "change": {"actions": actions, "before": null, "after": {}}})
    }

    #[test]
    fn format_versions_from_0_1_to_1_x() {
        for ok in ["0.1", "0.2", "1.0", "1.2", "1.10"] {
            assert!(supported_format(ok), "{ok}");
        }
        for refused in ["0.0", "2.0", "1", "", "1.2.3", "x.1", "-1.0", "01.0.0"] {
            assert!(!supported_format(refused), "{refused}");
        }
        let body = serde_json::to_vec(&json!({
            "format_version": "2.0", "terraform_version": "9.0.0", "planned_values": {}}))
        .unwrap();
        assert_eq!(
            Plan::parse(&body).unwrap_err(),
            PlanError::UnsupportedFormat("2.0".into())
        );
    }

    #[test]
    fn what_is_not_a_plan_is_named() {
        let message = |body: &[u8]| match Plan::parse(body) {
            Err(PlanError::Invalid(message)) => message,
            other => panic!("{other:?}"),
        };
        assert!(message(b"").contains("empty"));
        assert!(message(b"{nope").contains("not JSON"));
        assert!(message(b"[1, 2]").contains("not an array"));
        assert!(message(b"\"plan\"").contains("not a string"));
        assert!(
            message(br#"{"version": 4, "serial": 1, "lineage": "x", "resources": []}"#)
                .contains("state file")
        );
        assert!(
            message(br#"{"format_version": "1.0", "terraform_version": "1.5.0", "values": {}}"#)
                .contains("planned_values")
        );
        assert!(message(br#"{"format_version": 1.2}"#).contains("format_version must be"));
        assert!(
            message(br#"{"format_version": "1.2", "planned_values": {}}"#)
                .contains("terraform_version is missing")
        );
        assert!(message(&plan(json!({"resource_changes": {}}))).contains("resource_changes must"));
        assert!(
            message(&plan(
                json!({"resource_changes": [change("a.b", json!(["explode"]))]})
            ))
            .contains("resource_changes[0].change.actions")
        );
        assert!(
            message(&plan(
                json!({"resource_changes": [change("a.b", json!(["delete", "update"]))]})
            ))
            .contains("not a combination")
        );
        assert!(
            message(&plan(
                json!({"resource_changes": [{"address": "a.b", "mode": "managed",
                "type": "a", "name": "b", "change": {"actions": "create"}}]})
            ))
            .contains("resource_changes[0].change.actions must be an array")
        );
        assert!(
            message(&plan(json!({"resource_changes": [{"address": 1}]})))
                .contains("resource_changes[0].address must be a string")
        );
        assert!(
            message(&plan(json!({"terraform_version": "1.0\n"}))).contains("terraform_version")
        );
    }

    #[test]
    fn summaries_count_by_action_with_reasons() {
        let mut replace = change("terraform_data.c", json!(["delete", "create"]));
        replace["action_reason"] = json!("replace_because_tainted");
        let body = plan(json!({
            "resource_changes": [
                change("terraform_data.a", json!(["create"])),
                change("terraform_data.b", json!(["update"])),
                replace,
                change("terraform_data.d", json!(["create", "delete"])),
                change("terraform_data.e", json!(["delete"])),
                change("terraform_data.f", json!(["no-op"])),
                change("terraform_data.g", json!(["forget"])),
                {"address": "data.x.y", "mode": "data", "type": "x", "name": "y",
                 "provider_name": "p", "change": {"actions": ["read"]}},
            ],
            "output_changes": {"url": {"actions": ["update"]}, "id": {"actions": ["create"]}},
        }));
        let plan = Plan::parse(&body).unwrap();
        let summary = plan.summary();
        assert_eq!(
            summary.counts,
            ActionCounts {
                add: 1,
                change: 1,
                replace: 2,
                destroy: 1,
                read: 1,
                no_op: 1,
                forget: 1
            }
        );
        assert_eq!(summary.resources[2].action, PlannedAction::Replace);
        assert_eq!(summary.resources[2].actions, vec!["delete", "create"]);
        assert_eq!(
            summary.resources[2].action_reason.as_deref(),
            Some("replace_because_tainted")
        );
        assert_eq!(plan.resource_changes[7].mode, ResourceMode::Data);
        let outputs: Vec<_> = summary
            .outputs
            .iter()
            .map(|o| (o.name.as_str(), o.action))
            .collect();
        assert_eq!(
            outputs,
            vec![
                ("id", PlannedAction::Create),
                ("url", PlannedAction::Update)
            ]
        );
        // The summary is stored as JSON and read back.
        let stored = serde_json::to_string(&summary).unwrap();
        assert!(stored.contains(r#""action":"no-op""#));
        assert_eq!(
            serde_json::from_str::<PlanSummary>(&stored).unwrap(),
            summary
        );
    }

    #[test]
    fn every_sensitive_value_is_masked() {
        let body = plan(json!({
            "variables": {"password": {"value": "s3cret-var"}, "region": {"value": "eu"}},
            "resource_changes": [{
                "address": "module.db.aws_db_instance.main", "module_address": "module.db",
                "mode": "managed", "type": "aws_db_instance", "name": "main",
                "provider_name": "registry.terraform.io/hashicorp/aws",
                "change": {"actions": ["update"],
                    "before": {"password": "s3cret-before", "tags": {"a": "b"}, "list": ["x", "s3cret-item"]},
                    "after": {"password": "s3cret-after", "tags": {"a": "b"}, "list": ["x", "s3cret-item"],
                              "nested": "s3cret-shape"},
                    "before_sensitive": {"password": true, "list": [false, true]},
                    "after_sensitive": {"password": true, "list": [false, true], "nested": {"x": true}}}}],
            "resource_drift": [{"address": "a.b", "mode": "managed", "type": "a", "name": "b",
                "change": {"actions": ["update"], "before": "s3cret-drift", "after": null,
                           "before_sensitive": true}}],
            "planned_values": {
                "outputs": {"token": {"sensitive": true, "value": "s3cret-output"},
                            "url": {"sensitive": false, "value": "https://shown"}},
                "root_module": {"child_modules": [{"resources": [{"address": "x",
                    "values": {"key": "s3cret-planned", "name": "shown-name"},
                    "sensitive_values": {"key": true}}]}]}},
            "prior_state": {"values": {"outputs": {"token": {"sensitive": true, "value": "s3cret-prior"}},
                "root_module": {"resources": [{"values": {"key": "s3cret-prior-res"},
                                               "sensitive_values": {"key": true}}]}}},
            "output_changes": {
                "token": {"actions": ["update"], "before": "s3cret-out-before", "after": "s3cret-out-after"},
                "url": {"actions": ["no-op"], "before": "https://shown", "after": "https://shown"}},
            "configuration": {"root_module": {
                "variables": {"password": {"sensitive": true, "default": "s3cret-default"}},
                "module_calls": {"db": {"expressions": {"master": {"constant_value": "s3cret-constant"}},
                    "module": {"variables": {"master": {"sensitive": true}}}}}}},
        }));
        let masked = masked_plan(&body).unwrap();
        let text = masked.to_string();
        assert!(!text.contains("s3cret"), "{text}");
        assert!(text.contains("https://shown") && text.contains("shown-name"));
        assert_eq!(masked["variables"]["region"]["value"], "eu");
        assert_eq!(
            masked["resource_changes"][0]["change"]["after"]["tags"]["a"],
            "b"
        );
        assert_eq!(
            masked["resource_changes"][0]["change"]["after"]["list"][0],
            "x"
        );
        assert_eq!(masked["variables"]["password"]["value"], SENSITIVE_MARKER);
        // The parsed plan keeps values in clear for rules that read them.
        let plan = Plan::parse(&body).unwrap();
        assert_eq!(plan.resource_changes[0].after["password"], "s3cret-after");
        assert_eq!(
            plan.resource_changes[0].module_address.as_deref(),
            Some("module.db")
        );
    }

    #[test]
    fn state_assertions_must_match_the_current_state() {
        let current = PlanStateRef {
            version: 3,
            serial: 7,
            lineage: "l".into(),
            sha256: [0; 32],
        };
        let assert = |serial, lineage: Option<&str>| StateAssertion {
            serial,
            lineage: lineage.map(str::to_owned),
        };
        assert!(assert(None, None).check(None).is_ok());
        assert!(assert(Some(7), Some("l")).check(Some(&current)).is_ok());
        assert!(assert(Some(6), None).check(Some(&current)).is_err());
        assert!(assert(None, Some("m")).check(Some(&current)).is_err());
        assert!(assert(Some(1), None).check(None).is_err());
    }
}
