//! A workspace: one Terraform/OpenTofu root module's state and settings inside a
//! project.

use jiff::Timestamp;

use crate::limits::{WORKSPACE_TAG_CHARS_MAX, WORKSPACE_TAGS_MAX};
use crate::{Description, Name, OrgId, ProjectId, Slug, ValidationError, WorkspaceId};

/// Which CLI runs the workspace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Provisioner {
    Terraform,
    OpenTofu,
}

impl Provisioner {
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        match text {
            "terraform" => Ok(Self::Terraform),
            "opentofu" => Ok(Self::OpenTofu),
            _ => Err(ValidationError::new(
                "provisioner",
                "must be \"terraform\" or \"opentofu\"",
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Terraform => "terraform",
            Self::OpenTofu => "opentofu",
        }
    }
}

/// A provisioner version such as `1.15.5` (digits, dots, and a pre-release suffix), or
/// empty for "whatever the client runs".
pub fn parse_provisioner_version(text: &str) -> Result<String, ValidationError> {
    let valid = text.len() <= 32
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+'))
        && (text.is_empty() || text.starts_with(|c: char| c.is_ascii_digit()));
    if valid {
        Ok(text.to_owned())
    } else {
        Err(ValidationError::new(
            "provisioner_version",
            "must be a version such as 1.15.5 (at most 32 characters)",
        ))
    }
}

/// Tags: each 1–64 characters of letters, digits, `-_.:=/`, at most 32, deduplicated
/// and sorted.
pub fn parse_tags(tags: &[String]) -> Result<Vec<String>, ValidationError> {
    if tags.len() > WORKSPACE_TAGS_MAX {
        return Err(ValidationError::new(
            "tags",
            format!("at most {WORKSPACE_TAGS_MAX} tags"),
        ));
    }
    let mut parsed = Vec::with_capacity(tags.len());
    for tag in tags {
        let valid = !tag.is_empty()
            && tag.chars().count() <= WORKSPACE_TAG_CHARS_MAX
            && tag
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '=' | '/'));
        if !valid {
            return Err(ValidationError::new(
                "tags",
                format!("each tag is 1 to {WORKSPACE_TAG_CHARS_MAX} letters, digits or -_.:=/"),
            ));
        }
        parsed.push(tag.clone());
    }
    parsed.sort();
    parsed.dedup();
    Ok(parsed)
}

#[derive(Clone, Debug, PartialEq)]
pub struct Workspace {
    pub id: WorkspaceId,
    pub org_id: OrgId,
    pub project_id: ProjectId,
    pub identifier: Slug,
    pub name: Name,
    pub description: Description,
    pub provisioner: Provisioner,
    pub provisioner_version: String,
    pub tags: Vec<String>,
    /// How its runs are approved and applied.
    pub runs: crate::iacm::runs::RunSettings,
    /// The integration (of an SRE service) its drift arrives through as an alert.
    pub drift_integration: Option<crate::IntegrationId>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provisioners_versions_and_tags_parse_strictly() {
        assert_eq!(
            Provisioner::parse("opentofu").unwrap(),
            Provisioner::OpenTofu
        );
        assert!(Provisioner::parse("pulumi").is_err());
        assert_eq!(parse_provisioner_version("1.15.5").unwrap(), "1.15.5");
        assert_eq!(parse_provisioner_version("").unwrap(), "");
        assert!(parse_provisioner_version("latest; rm -rf").is_err());
        assert_eq!(
            parse_tags(&["team:infra".into(), "env=prod".into(), "env=prod".into()]).unwrap(),
            vec!["env=prod".to_owned(), "team:infra".to_owned()]
        );
        assert!(parse_tags(&["".into()]).is_err());
        assert!(parse_tags(&["a b".into()]).is_err());
        assert!(parse_tags(&vec!["t".to_owned(); 33]).is_err());
    }
}
