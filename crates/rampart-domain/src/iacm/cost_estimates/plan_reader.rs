//! A small private reader of the parts of a plan JSON (`terraform show -json`) that
//! pricing needs: `resource_changes[*]` (address, module address, mode, type,
//! provider name, actions, before, after, after_unknown) and the literal provider
//! configuration (`configuration.provider_config`).
//!
//! It exists only because the shared parsed plan type (`rampart_domain::iacm::plans::Plan`,
//! on the `plans` branch) had not landed when cost estimation was written. When it does,
//! build a [`PlanView`] from it (every field here borrows from the plan) and delete
//! [`PlanView::read`]; the estimator only sees `PlanView`.

use serde_json::{Map, Value};

/// Why a document is not a plan this reader understands.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlanReadError {
    #[error("the plan is not valid JSON: {0}")]
    NotJson(String),
    #[error("the plan is not a JSON object")]
    NotAnObject,
    #[error(
        "the JSON has no format_version: it is not the output of `terraform show -json PLANFILE`"
    )]
    NoFormatVersion,
    #[error("{0}")]
    Shape(String),
}

/// One resource change, borrowed from the plan.
#[derive(Clone, Debug)]
pub struct ResourceChangeView<'a> {
    pub address: &'a str,
    /// `module.db.module.db_1` (`None`: the root module).
    pub module_address: Option<&'a str>,
    /// `managed` or `data`.
    pub mode: &'a str,
    pub resource_type: &'a str,
    /// `registry.terraform.io/hashicorp/aws` (or `aws` in old plans).
    pub provider_name: &'a str,
    pub actions: Vec<&'a str>,
    pub before: Option<&'a Value>,
    pub after: Option<&'a Value>,
    /// Terraform's mirror of `after` marking values known only after apply.
    pub after_unknown: Option<&'a Value>,
}

/// What the estimator reads of a plan.
#[derive(Clone, Debug, Default)]
pub struct PlanView<'a> {
    pub resource_changes: Vec<ResourceChangeView<'a>>,
    /// `configuration.provider_config`: `aws`, `module.db:aws`, … → `{name, expressions}`.
    pub provider_config: Option<&'a Map<String, Value>>,
}

fn text<'a>(
    object: &'a Map<String, Value>,
    field: &str,
    index: usize,
) -> Result<&'a str, PlanReadError> {
    object.get(field).and_then(Value::as_str).ok_or_else(|| {
        PlanReadError::Shape(format!("resource_changes[{index}].{field} is not a string"))
    })
}

/// A value that is present and not `null`.
fn present(value: Option<&Value>) -> Option<&Value> {
    value.filter(|value| !value.is_null())
}

impl<'a> PlanView<'a> {
    /// Reads the parts pricing needs; everything else in the plan is ignored.
    pub fn read(plan: &'a Value) -> Result<Self, PlanReadError> {
        let plan = plan.as_object().ok_or(PlanReadError::NotAnObject)?;
        if !plan.get("format_version").is_some_and(Value::is_string) {
            return Err(PlanReadError::NoFormatVersion);
        }
        let changes = match plan.get("resource_changes") {
            None | Some(Value::Null) => &[][..],
            Some(Value::Array(changes)) => changes.as_slice(),
            Some(_) => {
                return Err(PlanReadError::Shape(
                    "resource_changes is not an array".into(),
                ));
            }
        };
        let mut resource_changes = Vec::with_capacity(changes.len());
        for (index, change) in changes.iter().enumerate() {
            let object = change.as_object().ok_or_else(|| {
                PlanReadError::Shape(format!("resource_changes[{index}] is not an object"))
            })?;
            let body = object
                .get("change")
                .and_then(Value::as_object)
                .ok_or_else(|| {
                    PlanReadError::Shape(format!(
                        "resource_changes[{index}].change is not an object"
                    ))
                })?;
            let actions = body
                .get("actions")
                .and_then(Value::as_array)
                .and_then(|actions| {
                    actions
                        .iter()
                        .map(Value::as_str)
                        .collect::<Option<Vec<_>>>()
                })
                .ok_or_else(|| {
                    PlanReadError::Shape(format!(
                        "resource_changes[{index}].change.actions is not an array of strings"
                    ))
                })?;
            resource_changes.push(ResourceChangeView {
                address: text(object, "address", index)?,
                module_address: object.get("module_address").and_then(Value::as_str),
                mode: text(object, "mode", index)?,
                resource_type: text(object, "type", index)?,
                provider_name: text(object, "provider_name", index)?,
                actions,
                before: present(body.get("before")),
                after: present(body.get("after")),
                after_unknown: present(body.get("after_unknown")),
            });
        }
        let provider_config = plan
            .get("configuration")
            .and_then(|configuration| configuration.get("provider_config"))
            .and_then(Value::as_object);
        Ok(Self {
            resource_changes,
            provider_config,
        })
    }
}

/// What the provider configuration says about one setting (`region`) for a resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProviderSetting<'a> {
    Literal(&'a str),
    /// Set, but from an expression (a variable, a reference): not known offline.
    NotLiteral,
    Absent,
}

/// `module.a["x"].module.b[0]` → `module.a.module.b`: provider configuration keys name
/// module calls, not their instances.
fn without_instance_keys(module_address: &str) -> String {
    let mut result = String::with_capacity(module_address.len());
    let mut depth = 0_u32;
    let mut in_string = false;
    let mut escaped = false;
    for character in module_address.chars() {
        if in_string {
            match (escaped, character) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match character {
            '"' if depth > 0 => in_string = true,
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            _ if depth == 0 => result.push(character),
            _ => {}
        }
    }
    result
}

impl PlanView<'_> {
    /// The provider configuration's `setting` for a resource: the configuration of its
    /// module (`module.db.module.db_1:aws`), else of each enclosing module in turn, else of
    /// the root (`aws`) — the way an unconfigured module inherits its parent's provider.
    /// Aliased configurations (`aws.west`) are not followed: the plan's resource changes
    /// do not say which alias a resource uses.
    pub fn provider_setting(
        &self,
        change: &ResourceChangeView<'_>,
        setting: &str,
    ) -> ProviderSetting<'_> {
        let Some(configs) = self.provider_config else {
            return ProviderSetting::Absent;
        };
        let provider = change
            .provider_name
            .rsplit('/')
            .next()
            .unwrap_or(change.provider_name);
        let mut module = change
            .module_address
            .map(without_instance_keys)
            .unwrap_or_default();
        loop {
            let key = if module.is_empty() {
                provider.to_owned()
            } else {
                format!("{module}:{provider}")
            };
            if let Some(expression) = configs
                .get(&key)
                .and_then(|config| config.get("expressions"))
                .and_then(|expressions| expressions.get(setting))
            {
                return match expression.get("constant_value").and_then(Value::as_str) {
                    Some(value) => ProviderSetting::Literal(value),
                    None => ProviderSetting::NotLiteral,
                };
            }
            if module.is_empty() {
                return ProviderSetting::Absent;
            }
            // Up one module: drop the last `module.NAME`.
            module = match module.rfind(".module.") {
                Some(position) => module.get(..position).unwrap_or_default().to_owned(),
                None => String::new(),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn instance_keys_are_dropped_from_module_addresses() {
        assert_eq!(
            without_instance_keys("module.a[\"x.module.y]\"].module.b[0]"),
            "module.a.module.b"
        );
        assert_eq!(without_instance_keys("module.db"), "module.db");
    }

    #[test]
    fn a_module_inherits_the_nearest_literal_region_and_an_expression_is_not_literal() {
        let plan = json!({
            "format_version": "1.2",
            "resource_changes": [
                {"address": "module.a.module.b.aws_eip.x", "module_address": "module.a.module.b[1]", "mode": "managed",
                 "type": "aws_eip", "provider_name": "registry.terraform.io/hashicorp/aws",
                 "change": {"actions": ["create"], "before": null, "after": {}}},
                {"address": "module.c.aws_eip.y", "module_address": "module.c", "mode": "managed",
                 "type": "aws_eip", "provider_name": "registry.terraform.io/hashicorp/aws",
                 "change": {"actions": ["create"], "before": null, "after": {}}}
            ],
            "configuration": {"provider_config": {
                "aws": {"name": "aws", "expressions": {"region": {"constant_value": "us-east-1"}}},
                "module.a:aws": {"name": "aws", "expressions": {"region": {"constant_value": "eu-west-1"}}},
                "module.a.module.b:aws": {"name": "aws", "module_address": "module.a.module.b"},
                "module.c:aws": {"name": "aws", "expressions": {"region": {"references": ["var.region"]}}}
            }}
        });
        let view = PlanView::read(&plan).unwrap();
        assert_eq!(
            view.provider_setting(&view.resource_changes[0], "region"),
            ProviderSetting::Literal("eu-west-1")
        );
        assert_eq!(
            view.provider_setting(&view.resource_changes[1], "region"),
            ProviderSetting::NotLiteral
        );
    }

    #[test]
    fn what_is_not_a_plan_is_named() {
        assert_eq!(
            PlanView::read(&json!([])).unwrap_err(),
            PlanReadError::NotAnObject
        );
        assert_eq!(
            PlanView::read(&json!({"version": 4})).unwrap_err(),
            PlanReadError::NoFormatVersion
        );
        let error = PlanView::read(
            &json!({"format_version": "1.2", "resource_changes": [{"address": "a"}]}),
        )
        .unwrap_err();
        assert!(error.to_string().contains("resource_changes[0]"), "{error}");
        // A plan with no changes at all has no resource_changes.
        assert!(
            PlanView::read(&json!({"format_version": "1.2"}))
                .unwrap()
                .resource_changes
                .is_empty()
        );
    }
}
