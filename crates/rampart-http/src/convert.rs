//! Domain values → wire types.

use rampart_api::platform as wire;
use rampart_domain::platform::identity::{ApiToken, ServiceAccount, User};
use rampart_domain::platform::tenancy::{Organization, Project};

pub fn org(org: &Organization) -> wire::Org {
    wire::Org {
        id: org.id.to_string(),
        identifier: org.identifier.to_string(),
        name: org.name.to_string(),
        description: org.description.to_string(),
        created_at: org.created_at.to_string(),
        updated_at: org.updated_at.to_string(),
    }
}

pub fn project(org: &Organization, project: &Project) -> wire::Project {
    wire::Project {
        id: project.id.to_string(),
        org: org.identifier.to_string(),
        identifier: project.identifier.to_string(),
        name: project.name.to_string(),
        description: project.description.to_string(),
        created_at: project.created_at.to_string(),
        updated_at: project.updated_at.to_string(),
    }
}

pub fn user(user: &User) -> wire::User {
    wire::User {
        id: user.id.to_string(),
        email: user.email.to_string(),
        display_name: user.display_name.to_string(),
        is_account_owner: user.is_account_owner,
        has_password: user.has_password,
        disabled: user.disabled,
        created_at: user.created_at.to_string(),
        updated_at: user.updated_at.to_string(),
    }
}

pub fn service_account(
    account: &ServiceAccount,
    org: &Organization,
    project: Option<&Project>,
) -> wire::ServiceAccount {
    wire::ServiceAccount {
        id: account.id.to_string(),
        org: org.identifier.to_string(),
        project: project.map(|p| p.identifier.to_string()),
        name: account.name.to_string(),
        description: account.description.to_string(),
        created_at: account.created_at.to_string(),
        updated_at: account.updated_at.to_string(),
    }
}

/// `project_path` is `org/project` of a narrowed token, looked up by the caller.
pub fn token(token: &ApiToken, project_path: Option<String>) -> wire::Token {
    wire::Token {
        id: token.id.to_string(),
        kind: token.kind.prefix_code().to_owned(),
        name: token.name.to_string(),
        last_four: token.last_four.clone(),
        project: project_path,
        created_at: token.created_at.to_string(),
        expires_at: token.expires_at.to_string(),
        revoked_at: token.revoked_at.map(|t| t.to_string()),
        last_used_at: token.last_used_at.map(|t| t.to_string()),
        last_used_ip: token.last_used_ip.clone(),
        allowed_cidrs: token.allowed_cidrs.clone(),
        run: token.run.map(|run| run.run_id.to_string()),
    }
}
