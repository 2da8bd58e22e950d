//! Variables a run hands to Terraform: a workspace's own and those of the variable sets
//! of its organisation and project.
//!
//! This module owns the rules: what a key may be in each category (a Terraform variable
//! name, or an environment variable name that cannot redirect the backend or smuggle
//! command-line arguments), how a variable changes (a sensitive one stays sensitive and
//! keeps its value unless a new one is given), which value wins when several holders
//! name the same key ([`resolve`]: the workspace over a project set over an
//! organisation set; between sets at one level, the identifier first in order), and how
//! sensitive values are masked in text ([`mask`]). Sealing is the application's job;
//! nothing here is ever stored in clear.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::iacm::policy_sets::Attachment;
use crate::limits::{
    VARIABLE_DESCRIPTION_CHARS_MAX, VARIABLE_KEY_CHARS_MAX, VARIABLE_VALUE_BYTES_MAX,
    VARIABLES_PER_HOLDER_MAX,
};
use crate::platform::tenancy::Scope;
use crate::{Description, Name, Slug, ValidationError, VariableSetId};

/// How a variable reaches Terraform.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VariableCategory {
    /// An input variable of the root module (`TF_VAR_<key>` in Terraform's environment).
    Terraform,
    /// An environment variable of the Terraform process (provider credentials, say).
    Env,
}

impl VariableCategory {
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        match text {
            "terraform" => Ok(Self::Terraform),
            "env" => Ok(Self::Env),
            _ => Err(ValidationError::new(
                "category",
                "must be \"terraform\" or \"env\"",
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Terraform => "terraform",
            Self::Env => "env",
        }
    }

    /// The environment variable that carries a variable of this category to Terraform.
    pub fn environment_name(self, key: &str) -> String {
        match self {
            Self::Terraform => format!("TF_VAR_{key}"),
            Self::Env => key.to_owned(),
        }
    }
}

/// Environment variables a variable may not set: they would point the backend
/// elsewhere or carry its credential (`TF_HTTP_*`), add arguments to every Terraform
/// command (`TF_CLI_ARGS*`: `-lock=false`, `-state=…`), change how the wrapper drives
/// Terraform, or reach the wrapper itself (`RAMPART_*`).
const RESERVED_ENV_PREFIXES: &[&str] = &["TF_HTTP_", "TF_CLI_ARGS", "RAMPART_", "TF_VAR_"];
const RESERVED_ENV_NAMES: &[&str] = &["TF_INPUT", "TF_IN_AUTOMATION", "TF_WORKSPACE"];

/// A key of `category`: a Terraform variable name (a letter or `_`, then letters,
/// digits, `_` or `-`) or an environment variable name (a letter or `_`, then letters,
/// digits or `_`; not one the wrapper reserves), at most 128 characters.
pub fn parse_variable_key(
    category: VariableCategory,
    key: &str,
) -> Result<String, ValidationError> {
    let mut chars = key.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    let rest_ok = chars.all(|c| {
        c.is_ascii_alphanumeric()
            || c == '_'
            || (c == '-' && category == VariableCategory::Terraform)
    });
    if !(first_ok && rest_ok && key.len() <= VARIABLE_KEY_CHARS_MAX) {
        return Err(ValidationError::new(
            "key",
            match category {
                VariableCategory::Terraform => format!(
                    "must be a Terraform variable name: a letter or '_', then letters, digits, '_' \
                     or '-' (at most {VARIABLE_KEY_CHARS_MAX})"
                ),
                VariableCategory::Env => format!(
                    "must be an environment variable name: a letter or '_', then letters, digits or \
                     '_' (at most {VARIABLE_KEY_CHARS_MAX})"
                ),
            },
        ));
    }
    if category == VariableCategory::Env {
        let upper = key.to_ascii_uppercase();
        if RESERVED_ENV_NAMES.contains(&upper.as_str())
            || RESERVED_ENV_PREFIXES
                .iter()
                .any(|prefix| upper.starts_with(prefix))
        {
            return Err(ValidationError::new(
                "key",
                "is reserved: the wrapper sets it, or it would change where the state \
                 goes or how Terraform runs (TF_HTTP_*, TF_CLI_ARGS*, TF_VAR_* (use a \
                 terraform variable), RAMPART_*, TF_INPUT, TF_IN_AUTOMATION, TF_WORKSPACE)",
            ));
        }
    }
    Ok(key.to_owned())
}

/// One variable, as it is sealed with its holder (all of it; the key is also named in
/// the audit log of a change, as identifiers are, and never the value).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Variable {
    pub key: String,
    pub category: VariableCategory,
    pub value: String,
    /// The value is an HCL expression (a list, a map, a number) rather than a string;
    /// Terraform parses `TF_VAR_` values of complex types as HCL.
    pub hcl: bool,
    /// Write-only: the value is never shown again, only handed to a run's executor,
    /// and masked in what a run prints.
    pub sensitive: bool,
    pub description: String,
}

/// A change to one variable: what was given (the rest stays as it is, or takes its
/// default for a new variable).
#[derive(Clone, Debug, Default)]
pub struct VariableChange {
    pub value: Option<String>,
    pub hcl: Option<bool>,
    pub sensitive: Option<bool>,
    pub description: Option<String>,
}

/// Whether [`put_variable`] created or changed the variable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Put {
    Created,
    Updated,
}

fn parse_value(value: &str) -> Result<String, ValidationError> {
    if value.len() > VARIABLE_VALUE_BYTES_MAX {
        return Err(ValidationError::new(
            "value",
            format!("at most {VARIABLE_VALUE_BYTES_MAX} bytes"),
        ));
    }
    if value.contains('\0') {
        return Err(ValidationError::new(
            "value",
            "must not hold a NUL character",
        ));
    }
    Ok(value.to_owned())
}

fn parse_variable_description(text: &str) -> Result<String, ValidationError> {
    if text.chars().count() > VARIABLE_DESCRIPTION_CHARS_MAX || text.contains('\0') {
        return Err(ValidationError::new(
            "description",
            format!("at most {VARIABLE_DESCRIPTION_CHARS_MAX} characters, no NUL"),
        ));
    }
    Ok(text.to_owned())
}

/// Creates variable (`category`, `key`) in `variables` or changes it. A new variable
/// needs a value; a sensitive variable cannot be made non-sensitive (its value would be
/// readable again: delete it and create it anew); a holder keeps at most 200.
pub fn put_variable(
    variables: &mut Vec<Variable>,
    category: VariableCategory,
    key: &str,
    change: VariableChange,
) -> Result<Put, ValidationError> {
    let key = parse_variable_key(category, key)?;
    let value = change.value.as_deref().map(parse_value).transpose()?;
    let description = change
        .description
        .as_deref()
        .map(parse_variable_description)
        .transpose()?;
    if let Some(existing) = variables
        .iter_mut()
        .find(|variable| variable.category == category && variable.key == key)
    {
        if existing.sensitive && change.sensitive == Some(false) {
            return Err(ValidationError::new(
                "sensitive",
                "a sensitive variable stays sensitive: delete it and create it again",
            ));
        }
        if let Some(value) = value {
            existing.value = value;
        }
        if let Some(hcl) = change.hcl {
            existing.hcl = hcl;
        }
        if let Some(sensitive) = change.sensitive {
            existing.sensitive = sensitive;
        }
        if let Some(description) = description {
            existing.description = description;
        }
        return Ok(Put::Updated);
    }
    let Some(value) = value else {
        return Err(ValidationError::new(
            "value",
            "a new variable needs a value",
        ));
    };
    if variables.len() >= VARIABLES_PER_HOLDER_MAX {
        return Err(ValidationError::new(
            "key",
            format!(
                "a workspace or variable set holds at most {VARIABLES_PER_HOLDER_MAX} variables"
            ),
        ));
    }
    variables.push(Variable {
        key,
        category,
        value,
        hcl: change.hcl.unwrap_or(false),
        sensitive: change.sensitive.unwrap_or(false),
        description: description.unwrap_or_default(),
    });
    variables.sort_by(|a, b| (a.category, &a.key).cmp(&(b.category, &b.key)));
    Ok(Put::Created)
}

/// A variable set's settings (its variables are sealed beside it).
#[derive(Clone, Debug, PartialEq)]
pub struct VariableSet {
    pub id: VariableSetId,
    /// An organisation or a project.
    pub scope: Scope,
    pub identifier: Slug,
    pub name: Name,
    pub description: Description,
    /// Which workspaces of the scope it applies to.
    pub attachment: Attachment,
    pub version: u64,
    pub variable_count: u64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Where a resolved variable's value came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VariableSource {
    Workspace,
    ProjectSet(Slug),
    OrgSet(Slug),
}

impl VariableSource {
    /// `workspace`, `project set <id>` or `organisation set <id>`.
    pub fn describe(&self) -> String {
        match self {
            Self::Workspace => "workspace".to_owned(),
            Self::ProjectSet(set) => format!("project set {set}"),
            Self::OrgSet(set) => format!("organisation set {set}"),
        }
    }

    fn rank(&self) -> u8 {
        match self {
            Self::Workspace => 0,
            Self::ProjectSet(_) => 1,
            Self::OrgSet(_) => 2,
        }
    }
}

/// A variable as a run receives it, with where it came from and what it overrode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedVariable {
    pub variable: Variable,
    pub source: VariableSource,
    /// The sources with the same key that this one won over, in order.
    pub overrides: Vec<VariableSource>,
}

/// What a workspace's runs receive: each (category, key) once, from the holder with
/// the highest precedence — the workspace, then the project's sets, then the
/// organisation's; between two sets at the same level, the one whose identifier sorts
/// first. `sets` are the applicable sets (any order).
pub fn resolve(
    workspace: &[Variable],
    sets: &[(VariableSource, Vec<Variable>)],
) -> Vec<ResolvedVariable> {
    let mut holders: Vec<(VariableSource, &[Variable])> =
        vec![(VariableSource::Workspace, workspace)];
    holders.extend(
        sets.iter()
            .map(|(source, variables)| (source.clone(), variables.as_slice())),
    );
    holders.sort_by(|(a, _), (b, _)| {
        let identifier = |source: &VariableSource| match source {
            VariableSource::Workspace => String::new(),
            VariableSource::ProjectSet(set) | VariableSource::OrgSet(set) => set.to_string(),
        };
        (a.rank(), identifier(a)).cmp(&(b.rank(), identifier(b)))
    });
    let mut resolved: Vec<ResolvedVariable> = Vec::new();
    for (source, variables) in holders {
        for variable in variables {
            match resolved.iter_mut().find(|found| {
                found.variable.category == variable.category && found.variable.key == variable.key
            }) {
                Some(found) => found.overrides.push(source.clone()),
                None => resolved.push(ResolvedVariable {
                    variable: variable.clone(),
                    source: source.clone(),
                    overrides: Vec::new(),
                }),
            }
        }
    }
    resolved.sort_by(|a, b| {
        (a.variable.category, &a.variable.key).cmp(&(b.variable.category, &b.variable.key))
    });
    resolved
}

/// What a masked value is replaced with.
pub const MASK: &str = "***";
/// Sensitive values shorter than this are not masked: masking every `a` or `12` would
/// make a log unreadable without hiding anything worth hiding. Documented for users.
pub const MASK_MIN_CHARS: usize = 4;

/// `text` with every occurrence of each of `secrets` (of at least [`MASK_MIN_CHARS`]
/// characters) replaced by [`MASK`]; longer secrets first, so one that contains
/// another is masked whole.
pub fn mask<'a>(text: &str, secrets: impl IntoIterator<Item = &'a str>) -> String {
    let mut secrets: Vec<&str> = secrets
        .into_iter()
        .filter(|secret| secret.chars().count() >= MASK_MIN_CHARS)
        .collect();
    secrets.sort_by_key(|secret| std::cmp::Reverse(secret.len()));
    secrets.dedup();
    let mut masked = text.to_owned();
    for secret in secrets {
        if masked.contains(secret) {
            masked = masked.replace(secret, MASK);
        }
    }
    masked
}

/// [`mask`] applied to every string (and object key) of a JSON document: a plan's
/// view shows no sensitive variable's value, even one its configuration does not
/// declare `sensitive`.
pub fn mask_json(value: &mut serde_json::Value, secrets: &[&str]) {
    use serde_json::Value;
    match value {
        Value::String(text) => {
            let masked = mask(text, secrets.iter().copied());
            if masked != *text {
                *text = masked;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| mask_json(item, secrets)),
        Value::Object(fields) => {
            let masked_keys = fields
                .keys()
                .any(|key| mask(key, secrets.iter().copied()) != *key);
            if masked_keys {
                let taken = std::mem::take(fields);
                for (key, item) in taken {
                    fields.insert(mask(&key, secrets.iter().copied()), item);
                }
            }
            fields
                .values_mut()
                .for_each(|item| mask_json(item, secrets));
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn var(category: VariableCategory, key: &str, value: &str) -> Variable {
        Variable {
            key: key.into(),
            category,
            value: value.into(),
            hcl: false,
            sensitive: false,
            description: String::new(),
        }
    }

    fn slug(text: &str) -> Slug {
        Slug::parse(text).unwrap()
    }

    #[test]
    fn keys_follow_their_category_and_reserved_names_are_refused() {
        use VariableCategory::{Env, Terraform};
        for ok in ["region", "_x", "instance-count", "a1"] {
            assert!(parse_variable_key(Terraform, ok).is_ok(), "{ok}");
        }
        for bad in ["", "1a", "a b", "a.b", "ä", &"a".repeat(129)] {
            assert!(parse_variable_key(Terraform, bad).is_err(), "{bad}");
        }
        assert!(parse_variable_key(Env, "AWS_REGION").is_ok());
        for bad in [
            "AWS-REGION",
            "TF_HTTP_PASSWORD",
            "tf_http_address",
            "TF_CLI_ARGS",
            "TF_CLI_ARGS_apply",
            "RAMPART_TOKEN",
            "TF_VAR_region",
            "TF_INPUT",
        ] {
            assert!(parse_variable_key(Env, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_sensitive_variable_keeps_its_value_and_stays_sensitive() {
        let mut variables = Vec::new();
        let created = put_variable(
            &mut variables,
            VariableCategory::Env,
            "TOKEN",
            VariableChange {
                value: Some("s3cret-value".into()),
                sensitive: Some(true),
                ..VariableChange::default()
            },
        );
        assert_eq!(created, Ok(Put::Created));
        let described = put_variable(
            &mut variables,
            VariableCategory::Env,
            "TOKEN",
            VariableChange {
                description: Some("the API token".into()),
                ..VariableChange::default()
            },
        );
        assert_eq!(described, Ok(Put::Updated));
        assert_eq!(variables[0].value, "s3cret-value");
        assert!(variables[0].sensitive);
        let error = put_variable(
            &mut variables,
            VariableCategory::Env,
            "TOKEN",
            VariableChange {
                sensitive: Some(false),
                ..VariableChange::default()
            },
        )
        .unwrap_err();
        assert_eq!(error.field, "sensitive");
        let error = put_variable(
            &mut variables,
            VariableCategory::Env,
            "OTHER",
            VariableChange::default(),
        )
        .unwrap_err();
        assert_eq!(error.field, "value");
    }

    #[test]
    fn the_workspace_wins_then_project_sets_then_organisation_sets_then_identifier_order() {
        use VariableCategory::{Env, Terraform};
        let workspace = vec![var(Terraform, "region", "ws")];
        let sets = vec![
            (
                VariableSource::OrgSet(slug("b-org")),
                vec![
                    var(Terraform, "region", "org-b"),
                    var(Terraform, "size", "org-b"),
                    var(Env, "region", "org-b-env"),
                ],
            ),
            (
                VariableSource::OrgSet(slug("a-org")),
                vec![var(Terraform, "size", "org-a")],
            ),
            (
                VariableSource::ProjectSet(slug("z-proj")),
                vec![
                    var(Terraform, "region", "proj"),
                    var(Terraform, "zone", "proj"),
                ],
            ),
        ];
        let resolved = resolve(&workspace, &sets);
        let view: Vec<_> = resolved
            .iter()
            .map(|found| {
                (
                    found.variable.category,
                    found.variable.key.as_str(),
                    found.variable.value.as_str(),
                    found.source.describe(),
                    found.overrides.len(),
                )
            })
            .collect();
        assert_eq!(
            view,
            vec![
                (Terraform, "region", "ws", "workspace".into(), 2),
                (
                    Terraform,
                    "size",
                    "org-a",
                    "organisation set a-org".into(),
                    1
                ),
                (Terraform, "zone", "proj", "project set z-proj".into(), 0),
                (
                    Env,
                    "region",
                    "org-b-env",
                    "organisation set b-org".into(),
                    0
                ),
            ]
        );
    }

    #[test]
    fn masking_hides_every_occurrence_longest_first_and_skips_tiny_values() {
        let text = "token=abcd1234 again abcd1234, prefix abcd, tiny ab";
        assert_eq!(
            mask(text, ["abcd", "abcd1234", "ab"]),
            "token=*** again ***, prefix ***, tiny ab"
        );
        assert_eq!(mask("nothing here", ["secret-value"]), "nothing here");
    }
}
