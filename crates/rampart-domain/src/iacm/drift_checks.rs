//! Drift checks: whether a workspace's infrastructure still matches its state and
//! configuration, as a plan made for the purpose says (`rampart tf drift`).
//!
//! This module owns what counts as drift in such a plan ([`drifted_resources`]): a
//! resource Terraform found changed outside it while refreshing (`resource_drift`), and
//! — unless the check was refresh-only — a resource the plan would change to bring the
//! infrastructure back to the configuration (the state edited behind Terraform's back, a
//! change made by hand). It also owns what a workspace's drift status is
//! ([`DriftStatus::of`]): drifted from a drifted check until a clean check or a newer
//! state (a run's apply) clears it.

use jiff::Timestamp;
use serde_json::Value;

use crate::{PlanId, ValidationError, WorkspaceId};

/// How a check looked for drift.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DriftMode {
    /// A full plan: changes outside Terraform and everything the plan would change.
    Plan,
    /// `-refresh-only`: only what changed outside Terraform.
    RefreshOnly,
}

impl DriftMode {
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        match text {
            "plan" => Ok(Self::Plan),
            "refresh_only" => Ok(Self::RefreshOnly),
            _ => Err(ValidationError::new(
                "mode",
                "must be \"plan\" or \"refresh_only\"",
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Plan => "plan",
            Self::RefreshOnly => "refresh_only",
        }
    }
}

/// One drift check of a workspace, as recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DriftCheck {
    pub id: String,
    pub workspace_id: WorkspaceId,
    /// The plan the check made (its JSON is kept sealed with the plans).
    pub plan_id: PlanId,
    pub mode: DriftMode,
    /// How many resources drifted (0: the infrastructure matches).
    pub drifted: u64,
    pub checked_by: String,
    pub checked_at: Timestamp,
}

/// A drifted resource: its address, what Terraform saw or would do, and the values
/// before and after (as the plan's masked view shows them).
#[derive(Clone, Debug, PartialEq)]
pub struct DriftedResource {
    pub address: String,
    /// `changed_outside` (found while refreshing) or `would_change` (the plan would
    /// change it back to the configuration).
    pub kind: &'static str,
    /// Terraform's actions, such as `["update"]` or `["delete"]`.
    pub actions: Vec<String>,
    pub before: Value,
    pub after: Value,
}

fn actions_of(change: &Value) -> Vec<String> {
    change
        .get("change")
        .and_then(|change| change.get("actions"))
        .and_then(Value::as_array)
        .map(|actions| {
            actions
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn entries<'a>(plan: &'a Value, field: &str) -> impl Iterator<Item = &'a Value> {
    plan.get(field)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// The resources a drift plan (`terraform show -json`, already masked) reports as
/// drifted, refresh findings first, each address once.
pub fn drifted_resources(plan: &Value, mode: DriftMode) -> Vec<DriftedResource> {
    let mut drifted: Vec<DriftedResource> = Vec::new();
    let mut take = |change: &Value, kind: &'static str| {
        let actions = actions_of(change);
        let quiet = actions.is_empty()
            || actions
                .iter()
                .all(|action| action == "no-op" || action == "read");
        let Some(address) = change.get("address").and_then(Value::as_str) else {
            return;
        };
        if quiet
            || change.get("mode").and_then(Value::as_str) == Some("data")
            || drifted.iter().any(|found| found.address == address)
        {
            return;
        }
        let value = |field: &str| {
            change
                .get("change")
                .and_then(|inner| inner.get(field))
                .cloned()
                .unwrap_or(Value::Null)
        };
        drifted.push(DriftedResource {
            address: address.to_owned(),
            kind,
            actions,
            before: value("before"),
            after: value("after"),
        });
    };
    for change in entries(plan, "resource_drift") {
        take(change, "changed_outside");
    }
    if mode == DriftMode::Plan {
        for change in entries(plan, "resource_changes") {
            take(change, "would_change");
        }
    }
    drifted
}

/// A workspace's drift, from its latest check and its latest state version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DriftStatus {
    /// Never checked, or the state changed since the last check.
    Unchecked,
    /// The latest check found nothing, and the state has not changed since.
    InSync,
    /// The latest check found drift, and no state was written since.
    Drifted,
}

impl DriftStatus {
    /// A drifted check stays the workspace's status until a clean check or a newer
    /// state version (a run's apply) — the state it was measured against is gone.
    pub fn of(latest: Option<&DriftCheck>, state_written_at: Option<Timestamp>) -> Self {
        let Some(check) = latest else {
            return Self::Unchecked;
        };
        if state_written_at.is_some_and(|written| written > check.checked_at) {
            return Self::Unchecked;
        }
        if check.drifted > 0 {
            Self::Drifted
        } else {
            Self::InSync
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unchecked => "unchecked",
            Self::InSync => "in_sync",
            Self::Drifted => "drifted",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn plan() -> Value {
        json!({
            "resource_drift": [
                {"address": "terraform_data.a", "mode": "managed",
                 "change": {"actions": ["update"], "before": {"input": "x"}, "after": {"input": "y"}}},
                {"address": "terraform_data.gone", "mode": "managed",
                 "change": {"actions": ["delete"], "before": {"input": "z"}, "after": null}},
            ],
            "resource_changes": [
                {"address": "terraform_data.a", "mode": "managed",
                 "change": {"actions": ["update"], "before": {"input": "y"}, "after": {"input": "x"}}},
                {"address": "terraform_data.b", "mode": "managed",
                 "change": {"actions": ["no-op"], "before": {}, "after": {}}},
                {"address": "terraform_data.c", "mode": "managed",
                 "change": {"actions": ["delete", "create"], "before": {}, "after": {}}},
                {"address": "data.x.y", "mode": "data",
                 "change": {"actions": ["read"], "before": null, "after": {}}},
            ],
        })
    }

    #[test]
    fn refresh_findings_come_first_and_a_full_plan_adds_what_it_would_change() {
        let full: Vec<_> = drifted_resources(&plan(), DriftMode::Plan)
            .into_iter()
            .map(|found| (found.address, found.kind))
            .collect();
        assert_eq!(
            full,
            vec![
                ("terraform_data.a".to_owned(), "changed_outside"),
                ("terraform_data.gone".to_owned(), "changed_outside"),
                ("terraform_data.c".to_owned(), "would_change"),
            ]
        );
        let refresh = drifted_resources(&plan(), DriftMode::RefreshOnly);
        assert_eq!(refresh.len(), 2);
        assert_eq!(refresh[0].before, json!({"input": "x"}));
        assert!(drifted_resources(&json!({}), DriftMode::Plan).is_empty());
    }

    #[test]
    fn drift_lasts_until_a_clean_check_or_a_newer_state() {
        let at = |seconds: i64| Timestamp::from_second(seconds).unwrap();
        let check = |drifted: u64, seconds: i64| DriftCheck {
            id: "c".into(),
            workspace_id: WorkspaceId::mint(0, [0; 10]),
            plan_id: PlanId::mint(0, [0; 10]),
            mode: DriftMode::Plan,
            drifted,
            checked_by: "u".into(),
            checked_at: at(seconds),
        };
        assert_eq!(DriftStatus::of(None, Some(at(5))), DriftStatus::Unchecked);
        assert_eq!(
            DriftStatus::of(Some(&check(2, 10)), Some(at(5))),
            DriftStatus::Drifted
        );
        assert_eq!(
            DriftStatus::of(Some(&check(2, 10)), None),
            DriftStatus::Drifted
        );
        assert_eq!(
            DriftStatus::of(Some(&check(2, 10)), Some(at(11))),
            DriftStatus::Unchecked
        );
        assert_eq!(
            DriftStatus::of(Some(&check(0, 10)), Some(at(5))),
            DriftStatus::InSync
        );
    }
}
