//! The access-control model and its one decision function.
//!
//! A **role** is a set of permissions (built-in or custom). A **resource group** says
//! which resources: all of a scope (optionally with its child scopes), all of some types,
//! or named resources. A **role assignment** gives a principal (user, user group or
//! service account) a role over a resource group at a scope; it is inherited downward.
//! [`AccessIndex::decide`] answers: allowed iff some assignment of the principal, direct
//! or through a group, at the resource's scope or an ancestor, grants the permission on
//! a resource group containing the resource. Deny by default; the deciding assignment is
//! returned so that `explain` can show it.
//!
//! Everything here is pure and in memory; the store loads it, the app keeps it fresh.

use jiff::Timestamp;

use std::collections::HashMap;

use crate::platform::identity::PrincipalId;
use crate::platform::tenancy::Scope;
use crate::{Permission, PermissionClass, ScopeLevel};

/// Words of the permission bit set: the catalogue has fewer than 64 × this permissions.
const PERMISSION_WORDS: usize = 2;

/// A set of permissions, as bits indexed by [`Permission::index`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct PermissionSet([u64; PERMISSION_WORDS]);

impl PermissionSet {
    pub const EMPTY: Self = Self([0; PERMISSION_WORDS]);

    fn locate(permission: Permission) -> (usize, u64) {
        let index = permission.index();
        (index / 64, 1u64 << (index % 64))
    }

    pub fn insert(&mut self, permission: Permission) {
        let (word, bit) = Self::locate(permission);
        if let Some(slot) = self.0.get_mut(word) {
            *slot |= bit;
        }
    }

    pub fn contains(&self, permission: Permission) -> bool {
        let (word, bit) = Self::locate(permission);
        self.0.get(word).is_some_and(|slot| slot & bit != 0)
    }

    pub fn is_subset_of(&self, other: &Self) -> bool {
        self.0
            .iter()
            .zip(other.0.iter())
            .all(|(mine, theirs)| mine & !theirs == 0)
    }

    pub fn union(&self, other: &Self) -> Self {
        let mut out = *self;
        for (mine, theirs) in out.0.iter_mut().zip(other.0.iter()) {
            *mine |= theirs;
        }
        out
    }

    pub fn intersection(&self, other: &Self) -> Self {
        let mut out = *self;
        for (mine, theirs) in out.0.iter_mut().zip(other.0.iter()) {
            *mine &= theirs;
        }
        out
    }

    /// The permissions that mean something at `scope`: each permission's
    /// [`ScopeLevel`] says how far in it reaches (account-level resources do not exist
    /// inside an organisation, organisation-level ones not inside a project).
    pub fn relevant_at(scope: Scope) -> Self {
        let innermost = match scope {
            Scope::Account => ScopeLevel::Account,
            Scope::Org(_) => ScopeLevel::Org,
            Scope::Project(..) => ScopeLevel::Project,
        };
        Permission::ALL
            .iter()
            .copied()
            .filter(|permission| permission.level() >= innermost)
            .collect()
    }

    pub fn iter(&self) -> impl Iterator<Item = Permission> + '_ {
        Permission::ALL
            .iter()
            .copied()
            .filter(|p| self.contains(*p))
    }

    pub fn len(&self) -> usize {
        self.0.iter().map(|word| word.count_ones() as usize).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|word| *word == 0)
    }
}

impl FromIterator<Permission> for PermissionSet {
    fn from_iter<I: IntoIterator<Item = Permission>>(iter: I) -> Self {
        let mut set = Self::EMPTY;
        for permission in iter {
            set.insert(permission);
        }
        set
    }
}

/// The built-in roles. They cannot be edited or deleted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BuiltinRole {
    /// Everything.
    AccountAdmin,
    /// Everything that means something inside an organisation.
    OrgAdmin,
    /// Everything that means something inside a project.
    ProjectAdmin,
    /// Reading and the day's work ([`PermissionClass::Operational`]): nothing
    /// destructive, nothing administrative.
    User,
    /// Reading only ([`PermissionClass::Read`]).
    Viewer,
}

impl BuiltinRole {
    pub const ALL: [BuiltinRole; 5] = [
        BuiltinRole::AccountAdmin,
        BuiltinRole::OrgAdmin,
        BuiltinRole::ProjectAdmin,
        BuiltinRole::User,
        BuiltinRole::Viewer,
    ];

    /// The identifier used in the API (`_account_admin`, …; the underscore keeps them
    /// apart from custom role slugs, which cannot start with one).
    pub const fn identifier(self) -> &'static str {
        match self {
            BuiltinRole::AccountAdmin => "_account_admin",
            BuiltinRole::OrgAdmin => "_org_admin",
            BuiltinRole::ProjectAdmin => "_project_admin",
            BuiltinRole::User => "_user",
            BuiltinRole::Viewer => "_viewer",
        }
    }

    pub fn from_identifier(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|role| role.identifier() == text)
    }

    /// Whether the role grants `permission` (wherever it is assigned). Decided by the
    /// permission's class and level alone, never by its name: the admin roles hold
    /// everything that means something at their scope, the User every reading and
    /// operational permission, the Viewer every reading one.
    pub fn grants(self, permission: Permission) -> bool {
        match self {
            BuiltinRole::AccountAdmin => true,
            BuiltinRole::OrgAdmin => permission.level() >= ScopeLevel::Org,
            BuiltinRole::ProjectAdmin => permission.level() >= ScopeLevel::Project,
            BuiltinRole::User => matches!(
                permission.class(),
                PermissionClass::Read | PermissionClass::Operational
            ),
            BuiltinRole::Viewer => permission.class() == PermissionClass::Read,
        }
    }

    pub fn permissions(self) -> PermissionSet {
        Permission::ALL
            .iter()
            .copied()
            .filter(|permission| self.grants(*permission))
            .collect()
    }

    /// The scopes where the role may be assigned: admin roles at their own level only.
    pub fn assignable_at(self, scope: Scope) -> bool {
        match self {
            BuiltinRole::AccountAdmin => scope == Scope::Account,
            BuiltinRole::OrgAdmin => matches!(scope, Scope::Org(_)),
            BuiltinRole::ProjectAdmin => matches!(scope, Scope::Project(..)),
            BuiltinRole::User | BuiltinRole::Viewer => true,
        }
    }
}

/// Whether `outer` is `inner` or one of its ancestors.
pub fn scope_covers(outer: Scope, inner: Scope) -> bool {
    match (outer, inner) {
        (Scope::Account, _) => true,
        (Scope::Org(org), Scope::Org(other)) => org == other,
        (Scope::Org(org), Scope::Project(other, _)) => org == other,
        (Scope::Project(_, project), Scope::Project(_, other)) => project == other,
        _ => false,
    }
}

/// A resource as the decision sees it: where it lives, its type (the `resource` half of
/// a permission: `incident`, `workspace`, `project`, …) and, for a single resource, its id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceRef {
    pub scope: Scope,
    pub kind: &'static str,
    pub id: Option<String>,
}

impl ResourceRef {
    /// The collection or scope-level target of a route (no single resource).
    pub fn in_scope(scope: Scope, permission: Permission) -> Self {
        Self {
            scope,
            kind: permission.resource(),
            id: None,
        }
    }
}

/// Which resources a resource group selects, relative to its scope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResourceSelector {
    /// Every resource of the scope, and of its child scopes when `include_children`.
    All { include_children: bool },
    /// Every resource of these types.
    Types {
        kinds: Vec<String>,
        include_children: bool,
    },
    /// These resources, by type and id.
    Specific(Vec<(String, String)>),
}

/// A resource group, resolved for decisions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceGroupSpec {
    pub scope: Scope,
    pub selector: ResourceSelector,
}

impl ResourceGroupSpec {
    /// The built-in "all resources in scope" group (child scopes included).
    pub fn all_in(scope: Scope) -> Self {
        Self {
            scope,
            selector: ResourceSelector::All {
                include_children: true,
            },
        }
    }

    pub fn contains(&self, resource: &ResourceRef) -> bool {
        let same_scope = self.scope == resource.scope;
        let within = scope_covers(self.scope, resource.scope);
        match &self.selector {
            ResourceSelector::All { include_children } => {
                same_scope || (*include_children && within)
            }
            ResourceSelector::Types {
                kinds,
                include_children,
            } => {
                (same_scope || (*include_children && within))
                    && kinds.iter().any(|kind| kind == resource.kind)
            }
            ResourceSelector::Specific(items) => {
                within
                    && resource.id.as_deref().is_some_and(|id| {
                        items
                            .iter()
                            .any(|(kind, item)| kind == resource.kind && item == id)
                    })
            }
        }
    }
}

impl ResourceGroupSpec {
    /// Whether the group may hold some resource of `kind` that lives at `scope` (one not
    /// named yet): what a route deciding per resource needs before it reads anything.
    pub fn may_hold_some(&self, kind: &str, scope: Scope) -> bool {
        let same_scope = self.scope == scope;
        let within = scope_covers(self.scope, scope);
        match &self.selector {
            ResourceSelector::All { include_children } => {
                same_scope || (*include_children && within)
            }
            ResourceSelector::Types {
                kinds,
                include_children,
            } => {
                (same_scope || (*include_children && within))
                    && kinds.iter().any(|candidate| candidate == kind)
            }
            ResourceSelector::Specific(items) => {
                within && items.iter().any(|(candidate, _)| candidate == kind)
            }
        }
    }
}

/// Who an assignment is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Grantee {
    Principal(PrincipalId),
    Group(uuid::Uuid),
}

/// A role assignment with its role's permissions and its resource group resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EffectiveAssignment {
    pub id: uuid::Uuid,
    pub grantee: Grantee,
    pub scope: Scope,
    pub permissions: PermissionSet,
    pub resources: ResourceGroupSpec,
}

impl EffectiveAssignment {
    fn grants(&self, permission: Permission, resource: &ResourceRef) -> bool {
        self.permissions.contains(permission)
            && scope_covers(self.scope, resource.scope)
            && self.resources.contains(resource)
    }
}

/// The outcome of a decision: allowed or not, and which assignment allowed it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub by: Option<uuid::Uuid>,
}

/// All assignments and group memberships, indexed by grantee so that a decision only
/// looks at the assignments of one principal and its groups.
#[derive(Clone, Debug, Default)]
pub struct AccessIndex {
    assignments: Vec<EffectiveAssignment>,
    by_grantee: HashMap<Grantee, Vec<usize>>,
    groups_of: HashMap<PrincipalId, Vec<uuid::Uuid>>,
}

impl AccessIndex {
    pub fn new(
        assignments: Vec<EffectiveAssignment>,
        memberships: impl IntoIterator<Item = (uuid::Uuid, PrincipalId)>,
    ) -> Self {
        let mut by_grantee: HashMap<Grantee, Vec<usize>> = HashMap::new();
        for (position, assignment) in assignments.iter().enumerate() {
            by_grantee
                .entry(assignment.grantee)
                .or_default()
                .push(position);
        }
        let mut groups_of: HashMap<PrincipalId, Vec<uuid::Uuid>> = HashMap::new();
        for (group, member) in memberships {
            groups_of.entry(member).or_default().push(group);
        }
        Self {
            assignments,
            by_grantee,
            groups_of,
        }
    }

    /// Every assignment that applies to `principal`: its own and its groups'.
    pub fn assignments_of(
        &self,
        principal: PrincipalId,
    ) -> impl Iterator<Item = &EffectiveAssignment> {
        let groups = self
            .groups_of
            .get(&principal)
            .map(Vec::as_slice)
            .unwrap_or_default();
        std::iter::once(Grantee::Principal(principal))
            .chain(groups.iter().map(|group| Grantee::Group(*group)))
            .filter_map(|grantee| self.by_grantee.get(&grantee))
            .flatten()
            .filter_map(|position| self.assignments.get(*position))
    }

    /// The decision. Deny by default.
    pub fn decide(
        &self,
        principal: PrincipalId,
        permission: Permission,
        resource: &ResourceRef,
    ) -> Decision {
        let by = self
            .assignments_of(principal)
            .find(|assignment| assignment.grants(permission, resource))
            .map(|assignment| assignment.id);
        Decision {
            allowed: by.is_some(),
            by,
        }
    }

    /// Whether `principal` holds `permission` on some resource at `scope` (a resource
    /// group naming one workspace of a project it cannot otherwise see counts): the
    /// condition for a route that decides per resource to go on reading the request. A
    /// principal without it gets 404, like a scope that does not exist.
    pub fn reaches(&self, principal: PrincipalId, permission: Permission, scope: Scope) -> bool {
        self.assignments_of(principal).any(|assignment| {
            assignment.permissions.contains(permission)
                && scope_covers(assignment.scope, scope)
                && assignment
                    .resources
                    .may_hold_some(permission.resource(), scope)
        })
    }

    /// Whether `principal` can see `scope` at all: a project it may view
    /// (`project:view`), or an organisation it may view (`org:view`) or holding such a
    /// project. What cannot be seen answers 404, exactly like what does not exist.
    pub fn can_see(&self, principal: PrincipalId, scope: Scope) -> bool {
        match scope {
            Scope::Account => true,
            Scope::Project(..) => {
                self.decide(
                    principal,
                    Permission::ProjectView,
                    &ResourceRef::in_scope(scope, Permission::ProjectView),
                )
                .allowed
            }
            Scope::Org(org) => {
                self.decide(
                    principal,
                    Permission::OrgView,
                    &ResourceRef::in_scope(scope, Permission::OrgView),
                )
                .allowed
                    || self
                        .assignments_of(principal)
                        .any(|assignment| match assignment.scope {
                            Scope::Project(assigned_org, _) if assigned_org == org => assignment
                                .grants(
                                    Permission::ProjectView,
                                    &ResourceRef::in_scope(
                                        assignment.scope,
                                        Permission::ProjectView,
                                    ),
                                ),
                            _ => false,
                        })
            }
        }
    }

    /// What `principal` holds on the resources of `scope` as a whole (for "my
    /// permissions" and for refusing grants beyond one's own rights). An assignment over
    /// some types contributes the permissions on those types; one over named resources
    /// contributes nothing at scope level.
    pub fn permissions_at(&self, principal: PrincipalId, scope: Scope) -> PermissionSet {
        self.assignments_of(principal)
            .filter(|assignment| scope_covers(assignment.scope, scope))
            .fold(PermissionSet::EMPTY, |set, assignment| {
                let reach = &assignment.resources;
                let scope_matches = |include_children: bool| {
                    reach.scope == scope || (include_children && scope_covers(reach.scope, scope))
                };
                let granted: PermissionSet = match &reach.selector {
                    ResourceSelector::All { include_children }
                        if scope_matches(*include_children) =>
                    {
                        assignment.permissions
                    }
                    ResourceSelector::Types {
                        kinds,
                        include_children,
                    } if scope_matches(*include_children) => assignment
                        .permissions
                        .iter()
                        .filter(|p| kinds.iter().any(|kind| kind == p.resource()))
                        .collect(),
                    _ => PermissionSet::EMPTY,
                };
                set.union(&granted)
            })
    }
}

/// A stored role assignment.
#[derive(Clone, Debug, PartialEq)]
pub struct RoleAssignmentRecord {
    pub id: uuid::Uuid,
    pub scope: Scope,
    pub grantee: Grantee,
    pub role: RoleRef,
    /// `None`: the built-in "all resources in scope" group.
    pub resource_group_id: Option<uuid::Uuid>,
    pub created_at: Timestamp,
    pub created_by: String,
}

/// The role an assignment grants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoleRef {
    Builtin(BuiltinRole),
    Custom(uuid::Uuid),
}

/// A custom role.
#[derive(Clone, Debug, PartialEq)]
pub struct CustomRole {
    pub id: uuid::Uuid,
    pub scope: Scope,
    pub identifier: crate::Slug,
    pub name: crate::Name,
    pub description: crate::Description,
    pub permissions: PermissionSet,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A user group.
#[derive(Clone, Debug, PartialEq)]
pub struct UserGroup {
    pub id: uuid::Uuid,
    pub scope: Scope,
    pub identifier: crate::Slug,
    pub name: crate::Name,
    pub description: crate::Description,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A custom resource group.
#[derive(Clone, Debug, PartialEq)]
pub struct ResourceGroupRecord {
    pub id: uuid::Uuid,
    pub identifier: crate::Slug,
    pub name: crate::Name,
    pub description: crate::Description,
    pub spec: ResourceGroupSpec,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{OrgId, ProjectId, UserId};

    fn org(n: u8) -> OrgId {
        OrgId::mint(1, [n; 10])
    }
    fn project(n: u8) -> ProjectId {
        ProjectId::mint(1, [n; 10])
    }
    fn user(n: u8) -> PrincipalId {
        PrincipalId::User(UserId::mint(1, [n; 10]))
    }
    fn assignment(n: u8, grantee: Grantee, scope: Scope, role: BuiltinRole) -> EffectiveAssignment {
        EffectiveAssignment {
            id: uuid::Uuid::from_bytes([n; 16]),
            grantee,
            scope,
            permissions: role.permissions(),
            resources: ResourceGroupSpec::all_in(scope),
        }
    }

    #[test]
    fn built_in_roles_nest_and_stay_inside_their_classes() {
        // The role-by-permission table written from the seed is in the integration
        // tests (`platform/access.rs`); here, the shape the derivation must keep.
        let set = BuiltinRole::permissions;
        assert_eq!(set(BuiltinRole::AccountAdmin).len(), Permission::ALL.len());
        assert!(set(BuiltinRole::Viewer).is_subset_of(&set(BuiltinRole::User)));
        assert!(set(BuiltinRole::ProjectAdmin).is_subset_of(&set(BuiltinRole::OrgAdmin)));
        assert!(set(BuiltinRole::OrgAdmin).is_subset_of(&set(BuiltinRole::AccountAdmin)));
        for permission in set(BuiltinRole::User).iter() {
            assert!(
                !matches!(
                    permission.class(),
                    PermissionClass::Destructive | PermissionClass::Administrative
                ),
                "{permission}"
            );
        }
        // Each admin role holds exactly what means something where it is assignable.
        for (role, scope) in [
            (BuiltinRole::AccountAdmin, Scope::Account),
            (BuiltinRole::OrgAdmin, Scope::Org(org(1))),
            (
                BuiltinRole::ProjectAdmin,
                Scope::Project(org(1), project(1)),
            ),
        ] {
            assert!(role.assignable_at(scope));
            assert_eq!(set(role), PermissionSet::relevant_at(scope), "{role:?}");
        }
    }

    #[test]
    fn assignments_inherit_downward_only_and_deny_by_default() {
        let alice = user(1);
        let index = AccessIndex::new(
            vec![assignment(
                1,
                Grantee::Principal(alice),
                Scope::Org(org(1)),
                BuiltinRole::Viewer,
            )],
            [],
        );
        let in_project =
            ResourceRef::in_scope(Scope::Project(org(1), project(1)), Permission::IncidentView);
        assert!(
            index
                .decide(alice, Permission::IncidentView, &in_project)
                .allowed
        );
        assert!(
            !index
                .decide(alice, Permission::IncidentEdit, &in_project)
                .allowed
        );
        let other_org =
            ResourceRef::in_scope(Scope::Project(org(2), project(2)), Permission::IncidentView);
        assert!(
            !index
                .decide(alice, Permission::IncidentView, &other_org)
                .allowed
        );
        let account = ResourceRef::in_scope(Scope::Account, Permission::OrgView);
        assert!(
            !index.decide(alice, Permission::OrgView, &account).allowed,
            "no upward inheritance"
        );
        assert!(
            !index
                .decide(user(2), Permission::IncidentView, &in_project)
                .allowed
        );
    }

    #[test]
    fn groups_and_resource_groups_narrow_what_an_assignment_reaches() {
        let bob = user(2);
        let group = uuid::Uuid::from_bytes([9; 16]);
        let scope = Scope::Project(org(1), project(1));
        let mut only_incidents = assignment(2, Grantee::Group(group), scope, BuiltinRole::User);
        only_incidents.resources = ResourceGroupSpec {
            scope,
            selector: ResourceSelector::Types {
                kinds: vec!["incident".into()],
                include_children: false,
            },
        };
        let mut one_workspace =
            assignment(3, Grantee::Principal(bob), scope, BuiltinRole::ProjectAdmin);
        one_workspace.resources = ResourceGroupSpec {
            scope,
            selector: ResourceSelector::Specific(vec![("workspace".into(), "prod".into())]),
        };
        let index = AccessIndex::new(vec![only_incidents, one_workspace], [(group, bob)]);
        let incident = ResourceRef::in_scope(scope, Permission::IncidentEdit);
        let decision = index.decide(bob, Permission::IncidentEdit, &incident);
        assert_eq!(
            decision,
            Decision {
                allowed: true,
                by: Some(uuid::Uuid::from_bytes([2; 16]))
            }
        );
        let slo = ResourceRef::in_scope(scope, Permission::SloEdit);
        assert!(
            !index.decide(bob, Permission::SloEdit, &slo).allowed,
            "type not in the group"
        );
        let prod = ResourceRef {
            scope,
            kind: "workspace",
            id: Some("prod".into()),
        };
        let staging = ResourceRef {
            scope,
            kind: "workspace",
            id: Some("staging".into()),
        };
        assert!(
            index
                .decide(bob, Permission::WorkspaceForceUnlock, &prod)
                .allowed
        );
        assert!(
            !index
                .decide(bob, Permission::WorkspaceForceUnlock, &staging)
                .allowed
        );
        let held = index.permissions_at(bob, scope);
        assert!(held.contains(Permission::IncidentEdit));
        assert!(!held.contains(Permission::SloView), "type-limited group");
        assert!(
            !held.contains(Permission::WorkspaceForceUnlock),
            "named resources only"
        );
    }

    #[test]
    fn permission_sets_are_exact() {
        let set: PermissionSet = [Permission::OrgView, Permission::VariableSetDelete]
            .into_iter()
            .collect();
        assert!(set.contains(Permission::VariableSetDelete));
        assert!(!set.contains(Permission::OrgEdit));
        assert_eq!(
            set.iter().collect::<Vec<_>>(),
            [Permission::OrgView, Permission::VariableSetDelete]
        );
        assert!(Permission::ALL.len() <= 64 * PERMISSION_WORDS);
    }

    #[test]
    fn a_group_may_hold_some_resource_of_a_kind_where_it_reaches() {
        let here = Scope::Project(org(1), project(1));
        let elsewhere = Scope::Project(org(1), project(2));
        let in_org = |selector| ResourceGroupSpec {
            scope: Scope::Org(org(1)),
            selector,
        };
        let one_workspace = in_org(ResourceSelector::Specific(vec![(
            "workspace".into(),
            "prod".into(),
        )]));
        let workspaces_here_only = ResourceGroupSpec {
            scope: here,
            selector: ResourceSelector::Types {
                kinds: vec!["workspace".into()],
                include_children: false,
            },
        };
        let org_itself = in_org(ResourceSelector::All {
            include_children: false,
        });
        // (group, kind, scope, may hold some)
        for (group, kind, scope, expected) in [
            (&one_workspace, "workspace", here, true),
            (&one_workspace, "incident", here, false),
            (&workspaces_here_only, "workspace", here, true),
            (&workspaces_here_only, "workspace", elsewhere, false),
            (&workspaces_here_only, "incident", here, false),
            (&org_itself, "workspace", here, false),
            (&org_itself, "workspace", Scope::Org(org(1)), true),
        ] {
            assert_eq!(
                group.may_hold_some(kind, scope),
                expected,
                "{group:?} {kind} {scope:?}"
            );
        }
    }
}
