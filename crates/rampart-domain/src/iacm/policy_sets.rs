//! Policy sets: Rego modules of an organisation or a project that check one kind of
//! thing (a workspace's settings, a plan, a state), how strictly (advisory, soft- or
//! hard-mandatory), and which workspaces they apply to (all, by tag, by identifier).
//!
//! This module owns the rules that need no engine: what a set's settings may be, which
//! sets apply to a workspace ([`Attachment::applies_to`]), what one set's evaluation
//! decided ([`SetOutcome`]) and what all the results of a plan add up to
//! ([`PolicyStatus::of`]). Evaluating Rego is `rampart-policy`'s job; the module sources
//! are kept sealed by the application and never appear here.

use jiff::Timestamp;

use crate::iacm::workspaces::{Workspace, parse_tags};
use crate::limits::{
    POLICY_MODULE_NAME_CHARS_MAX, POLICY_OVERRIDE_REASON_CHARS_MAX, POLICY_SET_WORKSPACES_MAX,
};
use crate::platform::tenancy::Scope;
use crate::{Description, Name, PolicySetId, Slug, ValidationError};

/// What a policy set checks, and so when it is evaluated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolicyEntity {
    /// A workspace's settings, when it is created or changed.
    Workspace,
    /// A plan, when it is uploaded (with its cost estimate).
    Plan,
    /// A Terraform state, when it is written through the state backend.
    State,
}

impl PolicyEntity {
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        match text {
            "workspace" => Ok(Self::Workspace),
            "plan" => Ok(Self::Plan),
            "state" => Ok(Self::State),
            _ => Err(ValidationError::new(
                "entity",
                "must be \"workspace\", \"plan\" or \"state\"",
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Workspace => "workspace",
            Self::Plan => "plan",
            Self::State => "state",
        }
    }
}

/// What a failing policy set does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Enforcement {
    /// Reported; blocks nothing.
    Advisory,
    /// Blocks until a holder of `policy_set:override` overrides it with a reason.
    SoftMandatory,
    /// Blocks.
    HardMandatory,
}

impl Enforcement {
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        match text {
            "advisory" => Ok(Self::Advisory),
            "soft_mandatory" => Ok(Self::SoftMandatory),
            "hard_mandatory" => Ok(Self::HardMandatory),
            _ => Err(ValidationError::new(
                "enforcement",
                "must be \"advisory\", \"soft_mandatory\" or \"hard_mandatory\"",
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Advisory => "advisory",
            Self::SoftMandatory => "soft_mandatory",
            Self::HardMandatory => "hard_mandatory",
        }
    }
}

/// Which workspaces of its scope a policy set applies to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Attachment {
    /// Every workspace of the scope.
    All,
    /// Workspaces with at least one of these tags.
    Tags(Vec<String>),
    /// Workspaces with one of these identifiers (in any project of an organisation's
    /// set).
    Workspaces(Vec<Slug>),
}

impl Attachment {
    /// Parses `kind` (`all`, `tags`, `workspaces`) and its values: none for `all`, at
    /// least one for the others (tags as workspace tags are, identifiers as slugs).
    pub fn parse(kind: &str, values: &[String]) -> Result<Self, ValidationError> {
        match kind {
            "all" if values.is_empty() => Ok(Self::All),
            "all" => Err(ValidationError::new(
                "attach",
                "an attachment to all workspaces names no values",
            )),
            "tags" | "workspaces" if values.is_empty() => Err(ValidationError::new(
                "attach",
                format!("an attachment by {kind} names at least one"),
            )),
            "tags" => Ok(Self::Tags(
                parse_tags(values).map_err(|error| error.for_field("attach"))?,
            )),
            "workspaces" => {
                if values.len() > POLICY_SET_WORKSPACES_MAX {
                    return Err(ValidationError::new(
                        "attach",
                        format!("at most {POLICY_SET_WORKSPACES_MAX} workspaces"),
                    ));
                }
                let mut slugs = values
                    .iter()
                    .map(|value| Slug::parse(value).map_err(|error| error.for_field("attach")))
                    .collect::<Result<Vec<_>, _>>()?;
                slugs.sort_by(|a, b| a.as_str().cmp(b.as_str()));
                slugs.dedup();
                Ok(Self::Workspaces(slugs))
            }
            _ => Err(ValidationError::new(
                "attach",
                "the kind must be \"all\", \"tags\" or \"workspaces\"",
            )),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Tags(_) => "tags",
            Self::Workspaces(_) => "workspaces",
        }
    }

    pub fn values(&self) -> Vec<String> {
        match self {
            Self::All => Vec::new(),
            Self::Tags(tags) => tags.clone(),
            Self::Workspaces(slugs) => slugs.iter().map(|slug| slug.to_string()).collect(),
        }
    }

    /// Whether a set attached this way applies to `workspace` (its scope is checked by
    /// the caller: an organisation's set sees the organisation's workspaces, a
    /// project's set its project's).
    pub fn applies_to(&self, workspace: &Workspace) -> bool {
        match self {
            Self::All => true,
            Self::Tags(tags) => tags.iter().any(|tag| workspace.tags.contains(tag)),
            Self::Workspaces(slugs) => slugs.contains(&workspace.identifier),
        }
    }
}

/// A module's name within its set: 1–128 letters, digits, `_`, `-`, `.`, ending in
/// `.rego` (a file name: it is how results and errors name the module, and it is a URL
/// path segment).
pub fn parse_module_name(name: &str) -> Result<String, ValidationError> {
    let valid = name.len() <= POLICY_MODULE_NAME_CHARS_MAX
        && name.len() > ".rego".len()
        && name.ends_with(".rego")
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if valid {
        Ok(name.to_owned())
    } else {
        Err(ValidationError::new(
            "module_name",
            format!(
                "a module name is a file name ending in .rego: at most \
                 {POLICY_MODULE_NAME_CHARS_MAX} letters, digits, '_', '-' or '.'"
            ),
        ))
    }
}

/// A policy set's settings (its modules are stored sealed beside it).
#[derive(Clone, Debug, PartialEq)]
pub struct PolicySet {
    pub id: PolicySetId,
    /// An organisation or a project.
    pub scope: Scope,
    pub identifier: Slug,
    pub name: Name,
    pub description: Description,
    pub entity: PolicyEntity,
    pub enforcement: Enforcement,
    /// `v0` or `v1` (checked by the engine's parser when the set is saved).
    pub rego_syntax: String,
    /// `hcp` or `plan` (checked likewise).
    pub input_shape: String,
    pub attachment: Attachment,
    /// Whether the set is evaluated at all (a disabled set is kept, not applied).
    pub enabled: bool,
    /// 1 at creation, +1 at every change of modules or settings: results name the
    /// version they were decided by, and prepared engines are cached by it.
    pub version: u64,
    pub module_count: u64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// What one set's evaluation decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetOutcome {
    /// No module denies.
    Passed,
    /// Some module denies.
    Failed,
    /// The evaluation could not finish (a time or memory limit, a builtin's error): it
    /// counts as a failure at the set's enforcement level, so a broken mandatory set
    /// blocks instead of waving everything through.
    Errored,
}

impl SetOutcome {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "passed" => Some(Self::Passed),
            "failed" => Some(Self::Failed),
            "errored" => Some(Self::Errored),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Passed => "passed",
            Self::Failed => "failed",
            Self::Errored => "errored",
        }
    }

    pub fn passed(self) -> bool {
        self == Self::Passed
    }
}

/// Who overrode a failed soft-mandatory set's result, why and when.
#[derive(Clone, Debug, PartialEq)]
pub struct PolicyOverride {
    pub by: String,
    pub reason: String,
    pub at: Timestamp,
}

/// An override's reason: 1–1000 characters, not only spaces.
pub fn parse_override_reason(reason: &str) -> Result<String, ValidationError> {
    let trimmed = reason.trim();
    if trimmed.is_empty() || reason.chars().count() > POLICY_OVERRIDE_REASON_CHARS_MAX {
        return Err(ValidationError::new(
            "reason",
            format!(
                "an override needs a reason of 1 to {POLICY_OVERRIDE_REASON_CHARS_MAX} characters"
            ),
        ));
    }
    Ok(trimmed.to_owned())
}

/// What a set's result needs of whoever would go on: the rule by which a plan's results
/// add up to its [`PolicyStatus`], and the one place that says which results an
/// override applies to.
pub fn blocking(enforcement: Enforcement, outcome: SetOutcome, overridden: bool) -> Blocking {
    match (enforcement, outcome.passed(), overridden) {
        (_, true, _) | (Enforcement::Advisory, false, _) => Blocking::No,
        (Enforcement::SoftMandatory, false, true) => Blocking::No,
        (Enforcement::SoftMandatory, false, false) => Blocking::UntilOverridden,
        (Enforcement::HardMandatory, false, _) => Blocking::Yes,
    }
}

/// See [`blocking`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Blocking {
    No,
    UntilOverridden,
    Yes,
}

/// What all the policy results of a plan add up to, ordered from least to most
/// blocking (a plan's status is the most blocking of its results').
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum PolicyStatus {
    /// No policy set applied to the plan.
    None,
    /// Every set passed.
    Passed,
    /// Only advisory sets failed (or overridden soft-mandatory ones).
    PassedWithWarnings,
    /// A soft-mandatory set failed and is not overridden yet.
    NeedsOverride,
    /// A hard-mandatory set failed: the plan may not be applied.
    Blocked,
}

impl PolicyStatus {
    /// The status of results given as (enforcement, outcome, overridden).
    pub fn of(results: impl IntoIterator<Item = (Enforcement, SetOutcome, bool)>) -> Self {
        let mut status = Self::None;
        for (enforcement, outcome, overridden) in results {
            let this = match blocking(enforcement, outcome, overridden) {
                Blocking::Yes => Self::Blocked,
                Blocking::UntilOverridden => Self::NeedsOverride,
                Blocking::No if outcome.passed() => Self::Passed,
                Blocking::No => Self::PassedWithWarnings,
            };
            status = status.max(this);
        }
        status
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "none" => Some(Self::None),
            "passed" => Some(Self::Passed),
            "passed_with_warnings" => Some(Self::PassedWithWarnings),
            "needs_override" => Some(Self::NeedsOverride),
            "blocked" => Some(Self::Blocked),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Passed => "passed",
            Self::PassedWithWarnings => "passed_with_warnings",
            Self::NeedsOverride => "needs_override",
            Self::Blocked => "blocked",
        }
    }
}

/// One policy set's decision on one plan, as stored (its messages are kept sealed
/// beside it: they quote the plan).
#[derive(Clone, Debug, PartialEq)]
pub struct PolicyResult {
    /// Its place in the plan's evaluation order, from 1.
    pub seq: u64,
    pub policy_set_id: PolicySetId,
    pub policy_set_identifier: String,
    /// `org` or `project`: where the set is defined.
    pub policy_set_scope: String,
    pub policy_set_version: u64,
    pub enforcement: Enforcement,
    pub outcome: SetOutcome,
    /// Time spent evaluating the set, every module together.
    pub duration_us: u64,
    pub evaluated_at: Timestamp,
    /// Who overrode it and when (the reason is sealed beside it).
    pub overridden_by: Option<String>,
    pub overridden_at: Option<Timestamp>,
}

impl PolicyResult {
    pub fn blocking(&self) -> Blocking {
        blocking(self.enforcement, self.outcome, self.overridden_by.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Enforcement::*;
    use SetOutcome::*;

    #[test]
    fn a_plans_status_is_its_most_blocking_result() {
        assert_eq!(PolicyStatus::of([]), PolicyStatus::None);
        assert_eq!(
            PolicyStatus::of([(HardMandatory, Passed, false), (Advisory, Passed, false)]),
            PolicyStatus::Passed
        );
        assert_eq!(
            PolicyStatus::of([(Advisory, Failed, false), (SoftMandatory, Passed, false)]),
            PolicyStatus::PassedWithWarnings
        );
        assert_eq!(
            PolicyStatus::of([(SoftMandatory, Failed, false), (Advisory, Failed, false)]),
            PolicyStatus::NeedsOverride
        );
        assert_eq!(
            PolicyStatus::of([(SoftMandatory, Errored, true)]),
            PolicyStatus::PassedWithWarnings
        );
        assert_eq!(
            PolicyStatus::of([
                (SoftMandatory, Failed, false),
                (HardMandatory, Errored, false)
            ]),
            PolicyStatus::Blocked
        );
        // An override never lifts a hard-mandatory failure.
        assert_eq!(
            PolicyStatus::of([(HardMandatory, Failed, true)]),
            PolicyStatus::Blocked
        );
    }

    #[test]
    fn attachments_and_module_names_parse_strictly() {
        assert_eq!(Attachment::parse("all", &[]).unwrap(), Attachment::All);
        assert!(Attachment::parse("all", &["x".into()]).is_err());
        assert!(Attachment::parse("tags", &[]).is_err());
        assert!(Attachment::parse("workspaces", &["Not A Slug".into()]).is_err());
        assert!(Attachment::parse("everything", &[]).is_err());
        assert_eq!(
            Attachment::parse("tags", &["env=prod".into(), "env=prod".into()])
                .unwrap()
                .values(),
            vec!["env=prod".to_owned()]
        );
        assert!(parse_module_name("tags.rego").is_ok());
        assert!(parse_module_name("cost_limits-v2.rego").is_ok());
        for bad in [
            ".rego",
            "tags",
            "a/b.rego",
            "../x.rego",
            ".hidden.rego",
            "t ag.rego",
        ] {
            assert!(parse_module_name(bad).is_err(), "{bad}");
        }
        assert!(parse_override_reason("   ").is_err());
        assert_eq!(parse_override_reason(" CAB-123 ").unwrap(), "CAB-123");
    }
}
