//! The input document a policy sees: HCP Terraform's shape or the plan itself.
//!
//! `hcp` (the default of a policy set) follows HCP Terraform's OPA input, so that policies
//! written for it work unchanged: the plan JSON (`terraform show -json`) is `input.plan`;
//! the run, workspace, organisation and project are `input.run`, `input.workspace`,
//! `input.organization` and `input.project` — and also `input.run.workspace`,
//! `input.run.organization`, `input.run.project`, where HCP Terraform nests them. Rampart
//! adds `input.cost`, the plan's cost estimate. `plan` makes the plan JSON itself the
//! input, as conftest users write policies (`input.resource_changes`); it carries no
//! context and no cost.

use serde_json::{Map, Value};

/// Which document a policy set's modules read as `input`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InputShape {
    /// HCP Terraform's OPA input (`input.plan`, `input.run`, …, plus `input.cost`).
    #[default]
    Hcp,
    /// The plan JSON itself is `input` (conftest style).
    Plan,
}

impl InputShape {
    /// The name users write (`hcp`, `plan`).
    pub fn as_str(self) -> &'static str {
        match self {
            InputShape::Hcp => "hcp",
            InputShape::Plan => "plan",
        }
    }

    /// Parses the name users write; `None` for anything else.
    pub fn parse(name: &str) -> Option<InputShape> {
        match name {
            "hcp" => Some(InputShape::Hcp),
            "plan" => Some(InputShape::Plan),
            _ => None,
        }
    }
}

/// What the `hcp` shape carries besides the plan. Every part is optional: a missing part
/// is absent from the input (a policy reading it sees `undefined`, as in OPA).
#[derive(Debug, Clone, Default)]
pub struct InputContext {
    /// `input.run`: id, created_at, created_by, message, is_destroy, … (HCP's run object).
    pub run: Option<Value>,
    /// `input.workspace`: name, tags, execution mode, ….
    pub workspace: Option<Value>,
    /// `input.organization`: name.
    pub organization: Option<Value>,
    /// `input.project`: id, name.
    pub project: Option<Value>,
    /// `input.cost`: the plan's cost estimate (prior, proposed, delta, per resource).
    pub cost: Option<Value>,
}

/// Builds the input document of one evaluation from the plan JSON, in `shape`.
pub fn build_input(shape: InputShape, plan: Value, context: &InputContext) -> Value {
    match shape {
        InputShape::Plan => plan,
        InputShape::Hcp => {
            let mut input = Map::new();
            input.insert("plan".to_owned(), plan);
            // HCP Terraform nests the workspace, organisation and project inside the run;
            // the shape also has them at the top. Both are filled, so policies
            // written either way read the same values.
            let mut run = match &context.run {
                Some(Value::Object(run)) => run.clone(),
                Some(other) => {
                    input.insert("run".to_owned(), other.clone());
                    Map::new()
                }
                None => Map::new(),
            };
            for (key, part) in [
                ("workspace", &context.workspace),
                ("organization", &context.organization),
                ("project", &context.project),
            ] {
                if let Some(value) = part {
                    input.insert(key.to_owned(), value.clone());
                    run.entry(key.to_owned()).or_insert_with(|| value.clone());
                }
            }
            if context.run.is_some() || !run.is_empty() {
                input.entry("run".to_owned()).or_insert(Value::Object(run));
            }
            if let Some(cost) = &context.cost {
                input.insert("cost".to_owned(), cost.clone());
            }
            Value::Object(input)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_plan_shape_is_the_plan_itself() {
        let plan = json!({"format_version": "1.2", "resource_changes": []});
        let input = build_input(InputShape::Plan, plan.clone(), &InputContext::default());
        assert_eq!(input, plan);
    }

    #[test]
    fn the_hcp_shape_nests_the_plan_and_fills_the_context_both_ways() {
        let context = InputContext {
            run: Some(json!({"id": "run-1", "is_destroy": false})),
            workspace: Some(json!({"name": "prod-network"})),
            organization: Some(json!({"name": "default"})),
            project: None,
            cost: Some(json!({"delta_monthly": 12.5})),
        };
        let input = build_input(InputShape::Hcp, json!({"format_version": "1.2"}), &context);
        assert_eq!(
            input,
            json!({
                "plan": {"format_version": "1.2"},
                "run": {"id": "run-1", "is_destroy": false,
                        "workspace": {"name": "prod-network"}, "organization": {"name": "default"}},
                "workspace": {"name": "prod-network"},
                "organization": {"name": "default"},
                "cost": {"delta_monthly": 12.5},
            })
        );
        let bare = build_input(InputShape::Hcp, json!({}), &InputContext::default());
        assert_eq!(bare, json!({"plan": {}}));
    }
}
