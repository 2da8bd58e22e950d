//! The three scopes: one account per installation, organisations inside it, projects
//! inside organisations.

use jiff::Timestamp;

use crate::{AccountId, Description, Name, OrgId, ProjectId, Slug};

#[derive(Clone, Debug, PartialEq)]
pub struct Account {
    pub id: AccountId,
    pub name: Name,
    pub created_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Organization {
    pub id: OrgId,
    pub identifier: Slug,
    pub name: Name,
    pub description: Description,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Project {
    pub id: ProjectId,
    pub org_id: OrgId,
    pub identifier: Slug,
    pub name: Name,
    pub description: Description,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Where something lives or where a rule applies: the account, an organisation, or a
/// project inside an organisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    Account,
    Org(OrgId),
    Project(OrgId, ProjectId),
}

impl Scope {
    pub fn org_id(self) -> Option<OrgId> {
        match self {
            Scope::Account => None,
            Scope::Org(org) | Scope::Project(org, _) => Some(org),
        }
    }

    pub fn project_id(self) -> Option<ProjectId> {
        match self {
            Scope::Project(_, project) => Some(project),
            _ => None,
        }
    }
}
