//! Services: the entries of a project's service directory, which alerts are about and
//! incidents affect.

use jiff::Timestamp;

use crate::{Description, Name, OrgId, ProjectId, ServiceId, Slug};

/// A service in a project's directory: what alerts are about and incidents affect.
#[derive(Clone, Debug, PartialEq)]
pub struct Service {
    pub id: ServiceId,
    pub org_id: OrgId,
    pub project_id: ProjectId,
    pub identifier: Slug,
    pub name: Name,
    pub description: Description,
    /// Resolve an incident when every alert linked to it has resolved.
    pub auto_resolve: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Subscribers of one service (users and groups together).
pub const SERVICE_SUBSCRIBERS_MAX: usize = 100;

/// Who owns a service and who hears about its incidents.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ServiceOwnership {
    /// A user group id.
    pub owner_group: Option<String>,
    /// `user:<id>` or `group:<id>`.
    pub subscribers: Vec<String>,
    pub tags: Vec<String>,
}
