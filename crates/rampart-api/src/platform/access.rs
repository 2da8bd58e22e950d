//! Wire types of access control: role assignments, roles, user groups, resource groups and explanations.
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A role given to a principal at a scope, over all resources of that scope.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct RoleAssignment {
    pub id: String,
    /// `account`, `<org>` or `<org>/<project>`.
    pub scope: String,
    /// `user:<id>`, `service_account:<id>` or `group:<id>`.
    pub principal: String,
    /// A built-in role: `_account_admin`, `_org_admin`, `_project_admin`, `_user`, `_viewer`.
    pub role: String,
    /// `null`: all resources in the scope (and its child scopes).
    pub resource_group: Option<String>,
    pub created_at: String,
    pub created_by: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleAssignmentCreate {
    pub principal: String,
    pub role: String,
    /// A resource group id (defined here or above); absent: all resources in scope.
    #[serde(default)]
    pub resource_group: Option<String>,
}

/// `?principal=&permission=` of the explain endpoint.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ExplainParams {
    pub principal: String,
    pub permission: String,
    /// One resource as `type/id`; absent: the scope's resources as a whole.
    #[serde(default)]
    pub resource: Option<String>,
}

/// Whether a principal holds a permission here, and which assignment decided.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Explanation {
    pub principal: String,
    pub permission: String,
    pub scope: String,
    pub resource: Option<String>,
    pub allowed: bool,
    /// The id of the deciding role assignment; `null` when denied (deny by default).
    pub decided_by: Option<String>,
}

/// The caller's permissions at a scope.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MyPermissions {
    pub scope: String,
    pub permissions: Vec<String>,
}

/// A role: built-in (id = its identifier, e.g. `_viewer`) or custom (id = a UUID).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Role {
    pub id: String,
    pub identifier: String,
    pub name: String,
    pub description: String,
    /// Where a custom role is defined (usable there and below); `account` for built-ins.
    pub scope: String,
    pub built_in: bool,
    pub permissions: Vec<String>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleCreate {
    #[schema(pattern = "^[a-z0-9][a-z0-9-]{0,62}$")]
    pub identifier: String,
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub description: Option<String>,
    /// `resource:action` permissions from the catalogue; never beyond your own.
    pub permissions: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleUpdate {
    #[serde(default)]
    #[schema(min_length = 1, max_length = 100)]
    pub name: Option<String>,
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub description: Option<String>,
    #[serde(default)]
    pub permissions: Option<Vec<String>>,
}

/// A user group (a principal that role assignments can name as `group:<id>`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Group {
    pub id: String,
    pub identifier: String,
    pub name: String,
    pub description: String,
    pub scope: String,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupCreate {
    #[schema(pattern = "^[a-z0-9][a-z0-9-]{0,62}$")]
    pub identifier: String,
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub description: Option<String>,
}

/// A member of a group.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GroupMember {
    /// The user's id.
    pub user: String,
}

/// Which resources an assignment reaches.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ResourceGroup {
    pub id: String,
    pub identifier: String,
    pub name: String,
    pub description: String,
    pub scope: String,
    /// `all`, `types` or `specific`.
    pub kind: String,
    pub include_children: bool,
    pub types: Vec<String>,
    /// `type/id` items of a `specific` group.
    pub resources: Vec<String>,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceGroupCreate {
    #[schema(pattern = "^[a-z0-9][a-z0-9-]{0,62}$")]
    pub identifier: String,
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub description: Option<String>,
    /// `all` (every resource of the scope), `types` or `specific`.
    pub kind: String,
    /// Also the child scopes' resources (organisation → its projects).
    #[serde(default)]
    pub include_children: bool,
    #[serde(default)]
    pub types: Vec<String>,
    #[serde(default)]
    pub resources: Vec<String>,
}
