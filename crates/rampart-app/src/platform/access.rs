//! Role assignments, "explain" and "my permissions". Nobody can grant more than they
//! hold, admin roles are assignable only at their own level, and the last Account Admin
//! cannot be removed.

use rampart_domain::ErrorCode;
use rampart_domain::platform::access::{BuiltinRole, Grantee, PermissionSet, ResourceRef};
use rampart_domain::platform::access::{RoleAssignmentRecord, RoleRef};
use rampart_domain::platform::identity::PrincipalId;
use rampart_domain::platform::tenancy::Scope;
use rampart_domain::{Permission, ServiceAccountId, UserId};
use rampart_store::Page;
use serde_json::json;

use crate::context::Ctx;
use crate::error::{AppError, AppResult};
use crate::{App, mint};

/// Parses `user:<id>`, `service_account:<id>` or `group:<id>`.
pub fn parse_grantee(text: &str) -> AppResult<Grantee> {
    let invalid = || {
        AppError::bad_request(
            ErrorCode::InvalidPrincipal,
            "principal must be user:<id>, service_account:<id> or group:<id>",
        )
    };
    let (kind, id) = text.split_once(':').ok_or_else(invalid)?;
    match kind {
        "user" => Ok(Grantee::Principal(PrincipalId::User(
            id.parse::<UserId>().map_err(|_| invalid())?,
        ))),
        "service_account" => Ok(Grantee::Principal(PrincipalId::ServiceAccount(
            id.parse::<ServiceAccountId>().map_err(|_| invalid())?,
        ))),
        "group" => rampart_domain::parse_uuid(id)
            .map(Grantee::Group)
            .ok_or_else(invalid),
        _ => Err(invalid()),
    }
}

pub fn grantee_text(grantee: Grantee) -> String {
    match grantee {
        Grantee::Principal(principal) => principal.to_text(),
        Grantee::Group(id) => format!("group:{id}"),
    }
}

/// Refuses a change that would leave no enabled user with Account Admin (checked inside
/// the changing transaction, which is dropped, and so rolled back, on refusal).
pub(crate) async fn ensure_an_account_admin_remains(
    tx: &mut rampart_store::WriteTx,
) -> AppResult<()> {
    if tx.account_admin_assignment_count().await? < 1 {
        return Err(AppError::conflict(
            ErrorCode::LastAccountAdmin,
            "this would leave no Account Admin",
        ));
    }
    Ok(())
}

/// The answer of `explain`.
#[derive(Debug, Clone)]
pub struct Explanation {
    pub allowed: bool,
    pub decided_by: Option<uuid::Uuid>,
}

impl App {
    /// A principal as a person types it in a form: an email names that user
    /// (`user:<id>`); anything else is passed on as the access use cases read it
    /// (`user:<id>`, `service_account:<id>`, `group:<id>`). An email nobody has is refused
    /// as an unknown principal, as an unknown id is.
    pub async fn principal_named(&self, text: &str) -> AppResult<String> {
        let text = text.trim();
        if text.contains('@') {
            Ok(format!("user:{}", self.user_named(text).await?))
        } else {
            Ok(text.to_owned())
        }
    }

    /// A user as a person types one in a form, as the id the use cases take: an email
    /// names that user (one nobody has is refused as an unknown principal); anything
    /// else is passed on without a `user:` prefix, for the use case to check.
    pub async fn user_named(&self, text: &str) -> AppResult<String> {
        let text = text.trim();
        if !text.contains('@') {
            return Ok(text.strip_prefix("user:").unwrap_or(text).to_owned());
        }
        let unknown = || {
            AppError::bad_request(
                ErrorCode::UnknownPrincipal,
                "no user has this email address",
            )
        };
        let email = rampart_domain::Email::parse(text).map_err(|_| unknown())?;
        let credentials = self
            .store()
            .user_credentials_by_email(&email)
            .await?
            .ok_or_else(unknown)?;
        Ok(credentials.user.id.to_string())
    }

    async fn grantee_exists(&self, grantee: Grantee) -> AppResult<bool> {
        Ok(match grantee {
            Grantee::Principal(PrincipalId::User(id)) => {
                self.store().user_by_id(id).await?.is_some()
            }
            Grantee::Principal(PrincipalId::ServiceAccount(id)) => {
                self.store().service_account_by_id(id).await?.is_some()
            }
            Grantee::Group(id) => self.store().user_group_by_id(id).await?.is_some(),
        })
    }

    pub async fn create_role_assignment(
        &self,
        ctx: &Ctx,
        scope: Scope,
        principal: &str,
        role: &str,
        resource_group: Option<&str>,
    ) -> AppResult<RoleAssignmentRecord> {
        let grantee = parse_grantee(principal)?;
        let (role_ref, permissions) = match self.role_at(scope, role).await {
            Ok(RoleView::Builtin(builtin)) => {
                if !builtin.assignable_at(scope) {
                    return Err(AppError::bad_request(
                        ErrorCode::RoleNotAssignableHere,
                        format!(
                            "{} can only be assigned at its own level",
                            builtin.identifier()
                        ),
                    ));
                }
                (RoleRef::Builtin(builtin), builtin.permissions())
            }
            Ok(RoleView::Custom(custom)) => (RoleRef::Custom(custom.id), custom.permissions),
            Err(AppError::NotFound { .. }) => {
                return Err(AppError::bad_request(
                    ErrorCode::UnknownRole,
                    "role must be a built-in role (_account_admin, _org_admin, _project_admin, \
                     _user, _viewer) or the id of a custom role defined here or above",
                ));
            }
            Err(other) => return Err(other),
        };
        ctx.check_can_grant(scope, &permissions)?;
        let resource_group_id = match resource_group {
            Some(id) => Some(
                self.resource_group_at(scope, id, false)
                    .await
                    .map_err(|_| {
                        AppError::bad_request(
                            ErrorCode::UnknownResourceGroup,
                            "the resource group does not exist here or above",
                        )
                    })?
                    .id,
            ),
            None => None,
        };
        if let Grantee::Group(group) = grantee {
            // A group is usable at its scope and below.
            let usable = self
                .store()
                .user_group_by_id(group)
                .await?
                .is_some_and(|found| {
                    rampart_domain::platform::access::scope_covers(found.scope, scope)
                });
            if !usable {
                return Err(AppError::bad_request(
                    ErrorCode::UnknownPrincipal,
                    "the group does not exist here",
                ));
            }
        }
        if let Grantee::Principal(PrincipalId::ServiceAccount(id)) = grantee {
            // A service account only holds rights inside the scope it belongs to.
            if let Some(account) = self.store().service_account_by_id(id).await? {
                let home = match account.project_id {
                    Some(project) => Scope::Project(account.org_id, project),
                    None => Scope::Org(account.org_id),
                };
                if !rampart_domain::platform::access::scope_covers(home, scope) {
                    return Err(AppError::bad_request(
                        ErrorCode::OutsideServiceAccountScope,
                        "a service account can only be given roles inside the organisation or project it belongs to",
                    ));
                }
            }
        }
        if !self.grantee_exists(grantee).await? {
            return Err(AppError::bad_request(
                ErrorCode::UnknownPrincipal,
                "the principal does not exist",
            ));
        }
        let now = self.now();
        let record = RoleAssignmentRecord {
            id: mint(now, |millis, random| {
                uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid()
            })?,
            scope,
            grantee,
            role: role_ref,
            resource_group_id,
            created_at: now,
            created_by: ctx.actor.actor_text(),
        };
        let mut tx = self.store().write().await?;
        // The store holds each (scope, principal, role, resource group) once. (SQLite
        // names no constraint; PostgreSQL names the index or a foreign key.)
        tx.insert_role_assignment(&record)
            .await
            .map_err(|error| match error {
                rampart_store::StoreError::Conflict { constraint }
                    if constraint
                        .as_deref()
                        .is_none_or(|name| name == "role_assignments_once") =>
                {
                    AppError::conflict(
                        ErrorCode::RoleAlreadyAssigned,
                        "the principal already holds this role here",
                    )
                }
                other => other.into(),
            })?;
        tx.commit(
            ctx.audit(now, "role_assignment.create", "role_assignment")
                .scope(scope)
                .resource_id(record.id)
                .details(json!({ "principal": grantee_text(grantee), "role": role }))
                .build(),
        )
        .await?;
        Ok(record)
    }

    pub async fn list_role_assignments(
        &self,
        scope: Scope,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> AppResult<Page<RoleAssignmentRecord>> {
        let page = super::page_request(limit, cursor)?;
        Ok(self.store().list_role_assignments(scope, &page).await?)
    }

    pub async fn delete_role_assignment(&self, ctx: &Ctx, scope: Scope, id: &str) -> AppResult<()> {
        let not_found = || AppError::NotFound {
            what: "role assignment",
        };
        let id = rampart_domain::parse_uuid(id).ok_or_else(not_found)?;
        let record = self
            .store()
            .role_assignment_by_id(id)
            .await?
            .filter(|record| record.scope == scope)
            .ok_or_else(not_found)?;
        // Removing a role is as sensitive as granting it: only someone holding it may.
        let permissions = match record.role {
            RoleRef::Builtin(role) => role.permissions(),
            RoleRef::Custom(id) => self
                .store()
                .custom_role_by_id(id)
                .await?
                .map(|role| role.permissions)
                .unwrap_or_default(),
        };
        ctx.check_can_grant(scope, &permissions)?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        tx.lock_account_admins().await?;
        tx.delete_role_assignment(record.id).await?;
        ensure_an_account_admin_remains(&mut tx).await?;
        tx.commit(
            ctx.audit(now, "role_assignment.delete", "role_assignment")
                .scope(scope)
                .resource_id(record.id)
                .details(json!({ "principal": grantee_text(record.grantee) }))
                .build(),
        )
        .await?;
        Ok(())
    }

    /// Whether `principal` holds `permission` at `scope` (on one `type/id` resource when
    /// given), and which assignment decided.
    pub async fn explain(
        &self,
        scope: Scope,
        principal: &str,
        permission: &str,
        resource: Option<&str>,
    ) -> AppResult<Explanation> {
        let Grantee::Principal(principal) = parse_grantee(principal)? else {
            return Err(AppError::bad_request(
                ErrorCode::InvalidPrincipal,
                "explain answers for a user or a service account",
            ));
        };
        let permission: Permission = permission.parse().map_err(|_| {
            AppError::bad_request(
                ErrorCode::InvalidPermission,
                "permission must be resource:action from the catalogue",
            )
        })?;
        let mut target = ResourceRef::in_scope(scope, permission);
        if let Some(resource) = resource {
            let invalid = || {
                AppError::bad_request(
                    ErrorCode::InvalidResource,
                    "resource must be type/id, with the permission's type",
                )
            };
            let (kind, id) = resource.split_once('/').ok_or_else(invalid)?;
            if kind != permission.resource() || id.is_empty() {
                return Err(invalid());
            }
            target.id = Some(id.to_owned());
        }
        let index = self.store().access_of(principal).await?;
        let decision = index.decide(principal, permission, &target);
        Ok(Explanation {
            allowed: decision.allowed,
            decided_by: decision.by,
        })
    }
}

/// Input for a custom role.
#[derive(Debug, Clone)]
pub struct RoleInput {
    pub identifier: String,
    pub name: String,
    pub description: Option<String>,
    pub permissions: Vec<String>,
}

/// A partial update of a custom role.
#[derive(Debug, Clone, Default)]
pub struct RolePatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub permissions: Option<Vec<String>>,
}

/// A role as the API shows it: built-in or custom.
#[derive(Debug, Clone)]
pub enum RoleView {
    Builtin(BuiltinRole),
    Custom(CustomRole),
}

use rampart_domain::platform::access::{CustomRole, UserGroup};

fn parse_permissions(items: &[String]) -> AppResult<PermissionSet> {
    items
        .iter()
        .map(|item| {
            item.parse::<Permission>().map_err(|_| {
                AppError::bad_request(
                    ErrorCode::InvalidPermission,
                    format!("'{item}' is not a permission of the catalogue (resource:action)"),
                )
            })
        })
        .collect()
}

pub(crate) fn mint_uuid(now: jiff::Timestamp) -> AppResult<uuid::Uuid> {
    mint(now, |millis, random| {
        uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid()
    })
}

fn taken(what: &'static str) -> impl FnOnce(rampart_store::StoreError) -> AppError {
    move |error| match error {
        rampart_store::StoreError::Conflict { .. } => AppError::conflict(
            ErrorCode::IdentifierTaken,
            format!("a {what} with this identifier already exists here"),
        ),
        other => other.into(),
    }
}

impl Ctx {
    /// Refuses `permissions` beyond what the actor holds at `scope` (only what means
    /// something at that scope counts).
    fn check_can_grant(&self, scope: Scope, permissions: &PermissionSet) -> AppResult<()> {
        let granted = permissions.intersection(&PermissionSet::relevant_at(scope));
        if granted.is_subset_of(&self.permissions_at(scope)) {
            Ok(())
        } else {
            Err(AppError::forbidden(
                ErrorCode::GrantExceedsOwnRights,
                "you cannot grant permissions you do not hold here",
            ))
        }
    }
}

impl App {
    /// Refuses to act on behalf of, or on the rights of, a grantee that holds more than
    /// the actor: issuing a service account's token, adding someone to a group, editing
    /// or disabling a user. Each of the grantee's assignments must be within what the
    /// actor holds at that assignment's scope.
    pub(crate) async fn check_can_act_for(&self, ctx: &Ctx, grantee: Grantee) -> AppResult<()> {
        let assignments = match grantee {
            Grantee::Principal(principal @ PrincipalId::User(_)) => {
                let index = self.store().access_of(principal).await?;
                index.assignments_of(principal).cloned().collect::<Vec<_>>()
            }
            other => self.store().assignments_of_grantee(other).await?,
        };
        for assignment in &assignments {
            ctx.check_can_grant(assignment.scope, &assignment.permissions)?;
        }
        Ok(())
    }

    pub async fn create_custom_role(
        &self,
        ctx: &Ctx,
        scope: Scope,
        input: RoleInput,
    ) -> AppResult<CustomRole> {
        let now = self.now();
        let permissions = parse_permissions(&input.permissions)?;
        ctx.check_can_grant(scope, &permissions)?;
        let role = CustomRole {
            id: mint_uuid(now)?,
            scope,
            identifier: rampart_domain::Slug::parse(&input.identifier)?,
            name: rampart_domain::Name::parse(&input.name)?,
            description: rampart_domain::Description::parse(
                input.description.as_deref().unwrap_or(""),
            )?,
            permissions,
            created_at: now,
            updated_at: now,
        };
        let mut tx = self.store().write().await?;
        tx.insert_custom_role(&role).await.map_err(taken("role"))?;
        tx.commit(
            ctx.audit(now, "role.create", "role")
                .scope(scope)
                .resource_id(role.id)
                .details(json!({ "identifier": role.identifier.as_str(), "permissions": role.permissions.len() }))
                .build(),
        )
        .await?;
        Ok(role)
    }

    /// A role by built-in identifier or custom role id, as visible at `scope` (custom
    /// roles are usable at their scope and below).
    pub async fn role_at(&self, scope: Scope, id: &str) -> AppResult<RoleView> {
        if let Some(builtin) = BuiltinRole::from_identifier(id) {
            return Ok(RoleView::Builtin(builtin));
        }
        let not_found = || AppError::NotFound { what: "role" };
        let id = rampart_domain::parse_uuid(id).ok_or_else(not_found)?;
        let role = self
            .store()
            .custom_role_by_id(id)
            .await?
            .ok_or_else(not_found)?;
        if !rampart_domain::platform::access::scope_covers(role.scope, scope) {
            return Err(not_found());
        }
        Ok(RoleView::Custom(role))
    }

    /// A custom role defined exactly at `scope` (where it may be changed).
    async fn own_custom_role(&self, scope: Scope, id: &str) -> AppResult<CustomRole> {
        match self.role_at(scope, id).await? {
            RoleView::Builtin(_) => Err(AppError::conflict(
                ErrorCode::BuiltInRoleImmutable,
                "built-in roles cannot be changed or deleted",
            )),
            RoleView::Custom(role) if role.scope == scope => Ok(role),
            RoleView::Custom(_) => Err(AppError::NotFound { what: "role" }),
        }
    }

    pub async fn list_custom_roles(
        &self,
        scope: Scope,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> AppResult<Page<CustomRole>> {
        let page = super::page_request(limit, cursor)?;
        Ok(self.store().list_custom_roles(scope, &page).await?)
    }

    pub async fn update_custom_role(
        &self,
        ctx: &Ctx,
        scope: Scope,
        id: &str,
        patch: RolePatch,
    ) -> AppResult<CustomRole> {
        let mut role = self.own_custom_role(scope, id).await?;
        let now = self.now();
        if let Some(name) = &patch.name {
            role.name = rampart_domain::Name::parse(name)?;
        }
        if let Some(description) = &patch.description {
            role.description = rampart_domain::Description::parse(description)?;
        }
        if let Some(permissions) = &patch.permissions {
            role.permissions = parse_permissions(permissions)?;
            ctx.check_can_grant(scope, &role.permissions)?;
        }
        role.updated_at = now;
        let mut tx = self.store().write().await?;
        tx.update_custom_role(&role).await?;
        tx.commit(
            ctx.audit(now, "role.update", "role")
                .scope(scope)
                .resource_id(role.id)
                .details(json!({ "permissions": role.permissions.len() }))
                .build(),
        )
        .await?;
        Ok(role)
    }

    pub async fn delete_custom_role(&self, ctx: &Ctx, scope: Scope, id: &str) -> AppResult<()> {
        let role = self.own_custom_role(scope, id).await?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        tx.delete_custom_role(role.id).await?;
        tx.commit(
            ctx.audit(now, "role.delete", "role")
                .scope(scope)
                .resource_id(role.id)
                .build(),
        )
        .await?;
        Ok(())
    }

    pub async fn create_user_group(
        &self,
        ctx: &Ctx,
        scope: Scope,
        identifier: &str,
        name: &str,
        description: Option<&str>,
    ) -> AppResult<UserGroup> {
        let now = self.now();
        let group = UserGroup {
            id: mint_uuid(now)?,
            scope,
            identifier: rampart_domain::Slug::parse(identifier)?,
            name: rampart_domain::Name::parse(name)?,
            description: rampart_domain::Description::parse(description.unwrap_or(""))?,
            created_at: now,
            updated_at: now,
        };
        let mut tx = self.store().write().await?;
        tx.insert_user_group(&group).await.map_err(taken("group"))?;
        tx.commit(
            ctx.audit(now, "group.create", "group")
                .scope(scope)
                .resource_id(group.id)
                .details(json!({ "identifier": group.identifier.as_str() }))
                .build(),
        )
        .await?;
        Ok(group)
    }

    /// A group defined exactly at `scope`.
    pub async fn user_group_at(&self, scope: Scope, id: &str) -> AppResult<UserGroup> {
        let not_found = || AppError::NotFound { what: "group" };
        let id = rampart_domain::parse_uuid(id).ok_or_else(not_found)?;
        self.store()
            .user_group_by_id(id)
            .await?
            .filter(|group| group.scope == scope)
            .ok_or_else(not_found)
    }

    pub async fn list_user_groups(
        &self,
        scope: Scope,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> AppResult<Page<UserGroup>> {
        let page = super::page_request(limit, cursor)?;
        Ok(self.store().list_user_groups(scope, &page).await?)
    }

    pub async fn delete_user_group(&self, ctx: &Ctx, scope: Scope, id: &str) -> AppResult<()> {
        let group = self.user_group_at(scope, id).await?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        tx.delete_user_group(group.id).await?;
        tx.commit(
            ctx.audit(now, "group.delete", "group")
                .scope(scope)
                .resource_id(group.id)
                .build(),
        )
        .await?;
        Ok(())
    }

    pub async fn list_group_members(
        &self,
        scope: Scope,
        id: &str,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> AppResult<Page<UserId>> {
        let group = self.user_group_at(scope, id).await?;
        let page = super::page_request(limit, cursor)?;
        Ok(self.store().list_group_members(group.id, &page).await?)
    }

    pub async fn add_group_member(
        &self,
        ctx: &Ctx,
        scope: Scope,
        id: &str,
        user: &str,
    ) -> AppResult<()> {
        let group = self.user_group_at(scope, id).await?;
        // Joining a group gives its rights: never more than the actor holds.
        self.check_can_act_for(ctx, Grantee::Group(group.id))
            .await?;
        let user: UserId = user.parse().map_err(|_| {
            AppError::bad_request(ErrorCode::UnknownPrincipal, "the user does not exist")
        })?;
        if self.store().user_by_id(user).await?.is_none() {
            return Err(AppError::bad_request(
                ErrorCode::UnknownPrincipal,
                "the user does not exist",
            ));
        }
        let now = self.now();
        let mut tx = self.store().write().await?;
        tx.add_group_member(group.id, user, now).await?;
        tx.commit(
            ctx.audit(now, "group.member_add", "group")
                .scope(scope)
                .resource_id(group.id)
                .details(json!({ "user": user.to_string() }))
                .build(),
        )
        .await?;
        Ok(())
    }

    pub async fn remove_group_member(
        &self,
        ctx: &Ctx,
        scope: Scope,
        id: &str,
        user: &str,
    ) -> AppResult<()> {
        let group = self.user_group_at(scope, id).await?;
        let not_member = || AppError::NotFound { what: "member" };
        let user: UserId = user.parse().map_err(|_| not_member())?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        if tx.remove_group_member(group.id, user).await? == 0 {
            return Err(not_member());
        }
        tx.commit(
            ctx.audit(now, "group.member_remove", "group")
                .scope(scope)
                .resource_id(group.id)
                .details(json!({ "user": user.to_string() }))
                .build(),
        )
        .await?;
        Ok(())
    }
}

use rampart_domain::platform::access::ResourceGroupRecord;

/// Input for a resource group: `kind` is `all`, `types` or `specific`.
#[derive(Debug, Clone)]
pub struct ResourceGroupInput {
    pub identifier: String,
    pub name: String,
    pub description: Option<String>,
    pub kind: String,
    pub include_children: bool,
    /// Resource types (the `resource` half of permissions) for `types`.
    pub types: Vec<String>,
    /// `type/id` for `specific`.
    pub resources: Vec<String>,
}

fn known_kind(kind: &str) -> AppResult<String> {
    if Permission::ALL
        .iter()
        .any(|permission| permission.resource() == kind)
    {
        Ok(kind.to_owned())
    } else {
        Err(AppError::bad_request(
            ErrorCode::InvalidResourceType,
            format!("'{kind}' is not a resource type of the permission catalogue"),
        ))
    }
}

fn selector(
    input: &ResourceGroupInput,
) -> AppResult<rampart_domain::platform::access::ResourceSelector> {
    use rampart_domain::platform::access::ResourceSelector;
    match input.kind.as_str() {
        "all" => Ok(ResourceSelector::All {
            include_children: input.include_children,
        }),
        "types" if !input.types.is_empty() => Ok(ResourceSelector::Types {
            kinds: input
                .types
                .iter()
                .map(|kind| known_kind(kind))
                .collect::<AppResult<_>>()?,
            include_children: input.include_children,
        }),
        "specific" if !input.resources.is_empty() => Ok(ResourceSelector::Specific(
            input
                .resources
                .iter()
                .map(|item| {
                    let (kind, id) = item.split_once('/').ok_or_else(|| {
                        AppError::bad_request(
                            ErrorCode::InvalidResource,
                            "resources are written type/id",
                        )
                    })?;
                    let id_ok = !id.is_empty()
                        && id.len() <= 255
                        && !id
                            .chars()
                            .any(|c| c.is_whitespace() || c.is_control() || c == '=');
                    if !id_ok {
                        return Err(AppError::bad_request(
                            ErrorCode::InvalidResource,
                            "a resource id must be 1 to 255 characters without spaces or '='",
                        ));
                    }
                    Ok((known_kind(kind)?, id.to_owned()))
                })
                .collect::<AppResult<_>>()?,
        )),
        "types" | "specific" => Err(AppError::bad_request(
            ErrorCode::InvalidResourceGroup,
            "a types group needs types; a specific group needs resources",
        )),
        _ => Err(AppError::bad_request(
            ErrorCode::InvalidResourceGroup,
            "kind must be all, types or specific",
        )),
    }
}

impl App {
    pub async fn create_resource_group(
        &self,
        ctx: &Ctx,
        scope: Scope,
        input: ResourceGroupInput,
    ) -> AppResult<ResourceGroupRecord> {
        let now = self.now();
        let group = ResourceGroupRecord {
            id: mint_uuid(now)?,
            identifier: rampart_domain::Slug::parse(&input.identifier)?,
            name: rampart_domain::Name::parse(&input.name)?,
            description: rampart_domain::Description::parse(
                input.description.as_deref().unwrap_or(""),
            )?,
            spec: rampart_domain::platform::access::ResourceGroupSpec {
                scope,
                selector: selector(&input)?,
            },
            created_at: now,
            updated_at: now,
        };
        let mut tx = self.store().write().await?;
        tx.insert_resource_group(&group)
            .await
            .map_err(taken("resource group"))?;
        tx.commit(
            ctx.audit(now, "resource_group.create", "resource_group")
                .scope(scope)
                .resource_id(group.id)
                .details(json!({ "identifier": group.identifier.as_str(), "kind": input.kind }))
                .build(),
        )
        .await?;
        Ok(group)
    }

    /// A resource group usable at `scope` (defined there or above).
    pub async fn resource_group_at(
        &self,
        scope: Scope,
        id: &str,
        exactly_here: bool,
    ) -> AppResult<ResourceGroupRecord> {
        let not_found = || AppError::NotFound {
            what: "resource group",
        };
        let id = rampart_domain::parse_uuid(id).ok_or_else(not_found)?;
        self.store()
            .resource_group_by_id(id)
            .await?
            .filter(|group| {
                if exactly_here {
                    group.spec.scope == scope
                } else {
                    rampart_domain::platform::access::scope_covers(group.spec.scope, scope)
                }
            })
            .ok_or_else(not_found)
    }

    pub async fn list_resource_groups(
        &self,
        scope: Scope,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> AppResult<Page<ResourceGroupRecord>> {
        let page = super::page_request(limit, cursor)?;
        Ok(self.store().list_resource_groups(scope, &page).await?)
    }

    pub async fn delete_resource_group(&self, ctx: &Ctx, scope: Scope, id: &str) -> AppResult<()> {
        let group = self.resource_group_at(scope, id, true).await?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        tx.lock_account_admins().await?;
        tx.delete_resource_group(group.id).await?;
        ensure_an_account_admin_remains(&mut tx).await?;
        tx.commit(
            ctx.audit(now, "resource_group.delete", "resource_group")
                .scope(scope)
                .resource_id(group.id)
                .build(),
        )
        .await?;
        Ok(())
    }
}

impl App {
    /// Renames or re-describes a user group defined at `scope`.
    pub async fn update_user_group(
        &self,
        ctx: &Ctx,
        scope: Scope,
        id: &str,
        patch: super::tenancy::ScopePatch,
    ) -> AppResult<UserGroup> {
        let mut group = self.user_group_at(scope, id).await?;
        let now = self.now();
        let changed = patch.apply(&mut group.name, &mut group.description)?;
        group.updated_at = now;
        let mut tx = self.store().write().await?;
        tx.update_user_group(&group).await?;
        tx.commit(
            ctx.audit(now, "group.update", "group")
                .scope(scope)
                .resource_id(group.id)
                .details(json!({ "changed": changed }))
                .build(),
        )
        .await?;
        Ok(group)
    }

    /// Renames or re-describes a resource group defined at `scope`. What it selects is
    /// fixed: a different selection is a different group, so that existing assignments
    /// never silently change their reach.
    pub async fn update_resource_group(
        &self,
        ctx: &Ctx,
        scope: Scope,
        id: &str,
        patch: super::tenancy::ScopePatch,
    ) -> AppResult<ResourceGroupRecord> {
        let mut group = self.resource_group_at(scope, id, true).await?;
        let now = self.now();
        let changed = patch.apply(&mut group.name, &mut group.description)?;
        group.updated_at = now;
        let mut tx = self.store().write().await?;
        tx.update_resource_group(&group).await?;
        tx.commit(
            ctx.audit(now, "resource_group.update", "resource_group")
                .scope(scope)
                .resource_id(group.id)
                .details(json!({ "changed": changed }))
                .build(),
        )
        .await?;
        Ok(group)
    }
}
