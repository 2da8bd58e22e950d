//! Role assignments (and, as the access-control work grows, custom roles, resource
//! groups and user groups), and loading everything that decides one principal's access.

use jiff::Timestamp;
use rampart_domain::platform::access::{
    AccessIndex, BuiltinRole, EffectiveAssignment, Grantee, PermissionSet, ResourceGroupSpec,
    ResourceSelector,
};
use rampart_domain::platform::access::{
    CustomRole, ResourceGroupRecord, RoleAssignmentRecord, RoleRef, UserGroup,
};
use rampart_domain::platform::identity::PrincipalId;
use rampart_domain::platform::tenancy::Scope;
use rampart_domain::{OrgId, Permission, ProjectId, ServiceAccountId, UserId};
use sqlx::any::AnyRow;

use super::{Page, PageRequest};
use crate::rows::{get, get_id, get_optional_id, get_timestamp, micros};
use crate::{Store, StoreError, StoreResult, WriteTx};

pub(crate) fn scope_columns(scope: Scope) -> (Option<String>, Option<String>, String) {
    match scope {
        Scope::Account => (None, None, "account".to_owned()),
        Scope::Org(org) => (Some(org.to_string()), None, org.to_string()),
        Scope::Project(org, project) => (
            Some(org.to_string()),
            Some(project.to_string()),
            project.to_string(),
        ),
    }
}

pub(crate) fn scope_from(
    row: &AnyRow,
    org_column: &str,
    project_column: &str,
) -> StoreResult<Scope> {
    let org: Option<OrgId> = get_optional_id(row, org_column)?;
    let project: Option<ProjectId> = get_optional_id(row, project_column)?;
    match (org, project) {
        (None, None) => Ok(Scope::Account),
        (Some(org), None) => Ok(Scope::Org(org)),
        (Some(org), Some(project)) => Ok(Scope::Project(org, project)),
        (None, Some(_)) => Err(StoreError::Corrupt(format!(
            "{project_column} without {org_column}"
        ))),
    }
}

pub(crate) fn grantee_columns(grantee: Grantee) -> (&'static str, String) {
    match grantee {
        Grantee::Principal(PrincipalId::User(id)) => ("user", id.to_string()),
        Grantee::Principal(PrincipalId::ServiceAccount(id)) => ("service_account", id.to_string()),
        Grantee::Group(id) => ("group", id.to_string()),
    }
}

fn grantee_from(kind: &str, id: &str) -> StoreResult<Grantee> {
    let corrupt = || StoreError::Corrupt("role_assignments.principal".into());
    match kind {
        "user" => Ok(Grantee::Principal(PrincipalId::User(
            id.parse::<UserId>().map_err(|_| corrupt())?,
        ))),
        "service_account" => Ok(Grantee::Principal(PrincipalId::ServiceAccount(
            id.parse::<ServiceAccountId>().map_err(|_| corrupt())?,
        ))),
        "group" => uuid::Uuid::parse_str(id)
            .map(Grantee::Group)
            .map_err(|_| corrupt()),
        _ => Err(corrupt()),
    }
}

const ASSIGNMENT_COLUMNS: &str = "a.id, a.org_id, a.project_id, a.principal_kind, a.principal_id, \
                                  a.role, a.resource_group_id, a.created_at, a.created_by";

fn assignment_from(row: &AnyRow) -> StoreResult<RoleAssignmentRecord> {
    let id: String = get(row, "id")?;
    let group: Option<String> = get(row, "resource_group_id")?;
    Ok(RoleAssignmentRecord {
        id: uuid::Uuid::parse_str(&id)
            .map_err(|_| StoreError::Corrupt("role_assignments.id".into()))?,
        scope: scope_from(row, "org_id", "project_id")?,
        grantee: grantee_from(
            &get::<String>(row, "principal_kind")?,
            &get::<String>(row, "principal_id")?,
        )?,
        role: role_from_column(&get::<String>(row, "role")?)?,
        resource_group_id: group
            .map(|text| uuid::Uuid::parse_str(&text))
            .transpose()
            .map_err(|_| StoreError::Corrupt("role_assignments.resource_group_id".into()))?,
        created_at: get_timestamp(row, "created_at")?,
        created_by: get(row, "created_by")?,
    })
}

fn permissions_from(text: &str) -> PermissionSet {
    // An unknown permission (from a newer binary) grants nothing here: deny by default.
    text.split_whitespace()
        .filter_map(|item| item.parse::<Permission>().ok())
        .collect()
}

fn selector_from(kind: &str, include_children: bool, items: &str) -> StoreResult<ResourceSelector> {
    match kind {
        "all" => Ok(ResourceSelector::All { include_children }),
        "types" => Ok(ResourceSelector::Types {
            kinds: items.split_whitespace().map(str::to_owned).collect(),
            include_children,
        }),
        "specific" => Ok(ResourceSelector::Specific(
            items
                .split_whitespace()
                .filter_map(|pair| pair.split_once('='))
                .map(|(kind, id)| (kind.to_owned(), id.to_owned()))
                .collect(),
        )),
        _ => Err(StoreError::Corrupt("resource_groups.selector_kind".into())),
    }
}

impl Store {
    /// Everything that decides `principal`'s access, read fresh from the store: its own
    /// assignments and its groups', with roles and resource groups resolved. Reading it
    /// per request means a removed assignment can never keep allowing anything.
    pub async fn access_of(&self, principal: PrincipalId) -> StoreResult<AccessIndex> {
        let (kind, id) = grantee_columns(Grantee::Principal(principal));
        let groups: Vec<uuid::Uuid> = match principal {
            PrincipalId::User(user) => {
                sqlx::query("SELECT group_id FROM group_members WHERE user_id = $1")
                    .bind(user.to_string())
                    .fetch_all(self.pool())
                    .await?
                    .iter()
                    .map(|row| {
                        get::<String>(row, "group_id").and_then(|text| {
                            uuid::Uuid::parse_str(&text)
                                .map_err(|_| StoreError::Corrupt("group_members.group_id".into()))
                        })
                    })
                    .collect::<StoreResult<_>>()?
            }
            PrincipalId::ServiceAccount(_) => Vec::new(),
        };
        let assignments = self
            .effective_assignments(
                "(a.principal_kind = $1 AND a.principal_id = $2) \
                 OR (a.principal_kind = 'group' AND a.principal_id IN \
                     (SELECT group_id FROM group_members WHERE user_id = $2))",
                kind,
                &id,
            )
            .await?;
        Ok(AccessIndex::new(
            assignments,
            groups.into_iter().map(|group| (group, principal)),
        ))
    }

    /// The assignments made directly to one grantee (a principal or a group), resolved.
    pub async fn assignments_of_grantee(
        &self,
        grantee: Grantee,
    ) -> StoreResult<Vec<EffectiveAssignment>> {
        let (kind, id) = grantee_columns(grantee);
        self.effective_assignments("a.principal_kind = $1 AND a.principal_id = $2", kind, &id)
            .await
    }

    async fn effective_assignments(
        &self,
        condition: &str,
        kind: &str,
        id: &str,
    ) -> StoreResult<Vec<EffectiveAssignment>> {
        let sql = format!(
            "SELECT {ASSIGNMENT_COLUMNS}, r.permissions AS role_permissions, \
             g.org_id AS group_org_id, g.project_id AS group_project_id, \
             g.selector_kind, g.include_children, g.selector_items \
             FROM role_assignments a \
             LEFT JOIN roles r ON r.id = a.role \
             LEFT JOIN resource_groups g ON g.id = a.resource_group_id \
             WHERE {condition}"
        );
        let rows = sqlx::query(&sql)
            .bind(kind)
            .bind(id)
            .fetch_all(self.pool())
            .await?;
        let mut assignments = Vec::with_capacity(rows.len());
        for row in &rows {
            let record = assignment_from(row)?;
            let permissions = match record.role {
                RoleRef::Builtin(role) => role.permissions(),
                RoleRef::Custom(_) => permissions_from(
                    &get::<Option<String>>(row, "role_permissions")?.unwrap_or_default(),
                ),
            };
            let resources = match record.resource_group_id {
                None => ResourceGroupSpec::all_in(record.scope),
                Some(_) => ResourceGroupSpec {
                    scope: scope_from(row, "group_org_id", "group_project_id")?,
                    selector: selector_from(
                        &get::<String>(row, "selector_kind")?,
                        get::<i64>(row, "include_children")? != 0,
                        &get::<String>(row, "selector_items")?,
                    )?,
                },
            };
            assignments.push(EffectiveAssignment {
                id: record.id,
                grantee: record.grantee,
                scope: record.scope,
                permissions,
                resources,
            });
        }
        Ok(assignments)
    }

    pub async fn role_assignment_by_id(
        &self,
        id: uuid::Uuid,
    ) -> StoreResult<Option<RoleAssignmentRecord>> {
        let sql = format!("SELECT {ASSIGNMENT_COLUMNS} FROM role_assignments a WHERE a.id = $1");
        sqlx::query(&sql)
            .bind(id.to_string())
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(assignment_from)
            .transpose()
    }

    /// Assignments made directly at `scope`.
    pub async fn list_role_assignments(
        &self,
        scope: Scope,
        page: &PageRequest,
    ) -> StoreResult<Page<RoleAssignmentRecord>> {
        self.list_defined_at(
            "role_assignments a",
            ASSIGNMENT_COLUMNS,
            scope,
            page,
            assignment_from,
            |a| a.id.to_string(),
        )
        .await
    }
}

impl WriteTx {
    /// Inserts an assignment; one the principal already holds (same scope, role and
    /// resource group: the `role_assignments_once` index) is a conflict.
    pub async fn insert_role_assignment(
        &mut self,
        record: &RoleAssignmentRecord,
    ) -> StoreResult<()> {
        self.write_role_assignment(record, "").await.map(|_| ())
    }

    /// Inserts an assignment unless the principal already holds it; whether it did.
    pub async fn insert_role_assignment_unless_held(
        &mut self,
        record: &RoleAssignmentRecord,
    ) -> StoreResult<bool> {
        self.write_role_assignment(record, " ON CONFLICT DO NOTHING")
            .await
            .map(|rows| rows == 1)
    }

    async fn write_role_assignment(
        &mut self,
        record: &RoleAssignmentRecord,
        on_conflict: &str,
    ) -> StoreResult<u64> {
        let (org, project, scope_key) = scope_columns(record.scope);
        let (kind, principal) = grantee_columns(record.grantee);
        let sql = format!(
            "INSERT INTO role_assignments (id, org_id, project_id, scope_key, principal_kind, \
             principal_id, role, resource_group_id, created_at, created_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10){on_conflict}"
        );
        let done = sqlx::query(&sql)
            .bind(record.id.to_string())
            .bind(org)
            .bind(project)
            .bind(scope_key)
            .bind(kind)
            .bind(principal)
            .bind(role_column(record.role))
            .bind(record.resource_group_id.map(|id| id.to_string()))
            .bind(micros(record.created_at))
            .bind(&record.created_by)
            .execute(self.conn())
            .await?;
        Ok(done.rows_affected())
    }

    pub async fn delete_role_assignment(&mut self, id: uuid::Uuid) -> StoreResult<()> {
        sqlx::query("DELETE FROM role_assignments WHERE id = $1")
            .bind(id.to_string())
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Removes every assignment of a principal (the principal is being deleted).
    pub async fn delete_role_assignments_of(&mut self, principal: PrincipalId) -> StoreResult<u64> {
        let (kind, id) = grantee_columns(Grantee::Principal(principal));
        let done = sqlx::query(
            "DELETE FROM role_assignments WHERE principal_kind = $1 AND principal_id = $2",
        )
        .bind(kind)
        .bind(id)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected())
    }

    /// Locks the Account Admin assignments until the transaction ends (PostgreSQL), so
    /// that two admins removing each other at once cannot both succeed. Call it before a
    /// change that could remove the last admin; SQLite writers are already serialised.
    pub async fn lock_account_admins(&mut self) -> StoreResult<()> {
        if self.engine() == crate::Engine::Postgres {
            sqlx::query(
                "SELECT id FROM role_assignments WHERE role = '_account_admin' \
                 AND resource_group_id IS NULL FOR UPDATE",
            )
            .fetch_all(self.conn())
            .await?;
        }
        Ok(())
    }

    /// Account Admin assignments over the whole account (no resource group) held
    /// directly by enabled users, read inside the transaction (the last one can be
    /// neither removed nor demoted).
    pub async fn account_admin_assignment_count(&mut self) -> StoreResult<i64> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM role_assignments a \
             JOIN users u ON u.id = a.principal_id \
             WHERE a.role = '_account_admin' AND a.resource_group_id IS NULL \
             AND a.principal_kind = 'user' AND u.disabled = 0",
        )
        .fetch_one(self.conn())
        .await?;
        get::<i64>(&row, "n")
    }
}

fn uuid_column(row: &AnyRow, column: &str) -> StoreResult<uuid::Uuid> {
    uuid::Uuid::parse_str(&get::<String>(row, column)?)
        .map_err(|_| StoreError::Corrupt(format!("{column} is not a uuid")))
}

fn named_from(
    row: &AnyRow,
) -> StoreResult<(
    rampart_domain::Slug,
    rampart_domain::Name,
    rampart_domain::Description,
)> {
    use crate::rows::parsed;
    Ok((
        parsed(
            rampart_domain::Slug::parse(&get::<String>(row, "identifier")?),
            "identifier",
        )?,
        parsed(
            rampart_domain::Name::parse(&get::<String>(row, "name")?),
            "name",
        )?,
        parsed(
            rampart_domain::Description::parse(&get::<String>(row, "description")?),
            "description",
        )?,
    ))
}

fn role_from(row: &AnyRow) -> StoreResult<CustomRole> {
    let (identifier, name, description) = named_from(row)?;
    Ok(CustomRole {
        id: uuid_column(row, "id")?,
        scope: scope_from(row, "org_id", "project_id")?,
        identifier,
        name,
        description,
        permissions: permissions_from(&get::<String>(row, "permissions")?),
        created_at: get_timestamp(row, "created_at")?,
        updated_at: get_timestamp(row, "updated_at")?,
    })
}

fn group_from(row: &AnyRow) -> StoreResult<UserGroup> {
    let (identifier, name, description) = named_from(row)?;
    Ok(UserGroup {
        id: uuid_column(row, "id")?,
        scope: scope_from(row, "org_id", "project_id")?,
        identifier,
        name,
        description,
        created_at: get_timestamp(row, "created_at")?,
        updated_at: get_timestamp(row, "updated_at")?,
    })
}

fn permissions_text(permissions: &PermissionSet) -> String {
    permissions
        .iter()
        .map(Permission::as_str)
        .collect::<Vec<_>>()
        .join(" ")
}

const ROLE_COLUMNS: &str =
    "id, org_id, project_id, identifier, name, description, permissions, created_at, updated_at";
const GROUP_COLUMNS: &str =
    "id, org_id, project_id, identifier, name, description, created_at, updated_at";

impl Store {
    pub async fn custom_role_by_id(&self, id: uuid::Uuid) -> StoreResult<Option<CustomRole>> {
        let sql = format!("SELECT {ROLE_COLUMNS} FROM roles WHERE id = $1");
        sqlx::query(&sql)
            .bind(id.to_string())
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(role_from)
            .transpose()
    }

    /// Custom roles defined at `scope`.
    pub async fn list_custom_roles(
        &self,
        scope: Scope,
        page: &PageRequest,
    ) -> StoreResult<Page<CustomRole>> {
        self.list_defined_at("roles", ROLE_COLUMNS, scope, page, role_from, |role| {
            role.id.to_string()
        })
        .await
    }

    pub async fn user_group_by_id(&self, id: uuid::Uuid) -> StoreResult<Option<UserGroup>> {
        let sql = format!("SELECT {GROUP_COLUMNS} FROM user_groups WHERE id = $1");
        sqlx::query(&sql)
            .bind(id.to_string())
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(group_from)
            .transpose()
    }

    /// The user group defined at `scope` with this identifier.
    pub async fn user_group_by_identifier(
        &self,
        scope: Scope,
        identifier: &str,
    ) -> StoreResult<Option<UserGroup>> {
        let sql = format!(
            "SELECT {GROUP_COLUMNS} FROM user_groups WHERE scope_key = $1 AND identifier = $2"
        );
        sqlx::query(&sql)
            .bind(scope_columns(scope).2)
            .bind(identifier)
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(group_from)
            .transpose()
    }

    pub async fn list_user_groups(
        &self,
        scope: Scope,
        page: &PageRequest,
    ) -> StoreResult<Page<UserGroup>> {
        self.list_defined_at(
            "user_groups",
            GROUP_COLUMNS,
            scope,
            page,
            group_from,
            |group| group.id.to_string(),
        )
        .await
    }

    /// The members of a group (user ids), paginated.
    pub async fn list_group_members(
        &self,
        group: uuid::Uuid,
        page: &PageRequest,
    ) -> StoreResult<Page<UserId>> {
        let rows = sqlx::query(
            "SELECT user_id FROM group_members WHERE group_id = $1 AND user_id > $2 \
             ORDER BY user_id LIMIT $3",
        )
        .bind(group.to_string())
        .bind(page.after_or_start())
        .bind(page.overfetch())
        .fetch_all(self.pool())
        .await?;
        let items = rows
            .iter()
            .map(|row| crate::rows::get_id::<UserId>(row, "user_id"))
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Page::from_overfetch(items, page.limit, |id| id.to_string()))
    }

    /// The members of a user group.
    pub async fn group_member_ids(&self, group_id: &str) -> StoreResult<Vec<UserId>> {
        let rows =
            sqlx::query("SELECT user_id FROM group_members WHERE group_id = $1 ORDER BY user_id")
                .bind(group_id)
                .fetch_all(self.pool())
                .await?;
        rows.iter().map(|row| get_id(row, "user_id")).collect()
    }
}

impl WriteTx {
    pub async fn insert_custom_role(&mut self, role: &CustomRole) -> StoreResult<()> {
        let (org, project, scope_key) = scope_columns(role.scope);
        sqlx::query(
            "INSERT INTO roles (id, org_id, project_id, scope_key, identifier, name, description, \
             permissions, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(role.id.to_string())
        .bind(org)
        .bind(project)
        .bind(scope_key)
        .bind(role.identifier.as_str())
        .bind(role.name.as_str())
        .bind(role.description.as_str())
        .bind(permissions_text(&role.permissions))
        .bind(micros(role.created_at))
        .bind(micros(role.updated_at))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    pub async fn update_custom_role(&mut self, role: &CustomRole) -> StoreResult<()> {
        sqlx::query(
            "UPDATE roles SET name = $2, description = $3, permissions = $4, updated_at = $5 WHERE id = $1",
        )
        .bind(role.id.to_string())
        .bind(role.name.as_str())
        .bind(role.description.as_str())
        .bind(permissions_text(&role.permissions))
        .bind(micros(role.updated_at))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Deletes a custom role and the assignments that grant it.
    pub async fn delete_custom_role(&mut self, id: uuid::Uuid) -> StoreResult<()> {
        self.delete_with_assignments("roles", "role = $1", id).await
    }

    /// Deletes a row of `table` and, first, the role assignments matching
    /// `assignment_condition` (on `$1`, the id). Both arguments are fixed by the caller,
    /// never user input.
    async fn delete_with_assignments(
        &mut self,
        table: &'static str,
        assignment_condition: &'static str,
        id: uuid::Uuid,
    ) -> StoreResult<()> {
        sqlx::query(&format!(
            "DELETE FROM role_assignments WHERE {assignment_condition}"
        ))
        .bind(id.to_string())
        .execute(self.conn())
        .await?;
        sqlx::query(&format!("DELETE FROM {table} WHERE id = $1"))
            .bind(id.to_string())
            .execute(self.conn())
            .await?;
        Ok(())
    }

    pub async fn insert_user_group(&mut self, group: &UserGroup) -> StoreResult<()> {
        let (org, project, scope_key) = scope_columns(group.scope);
        sqlx::query(
            "INSERT INTO user_groups (id, org_id, project_id, scope_key, identifier, name, \
             description, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(group.id.to_string())
        .bind(org)
        .bind(project)
        .bind(scope_key)
        .bind(group.identifier.as_str())
        .bind(group.name.as_str())
        .bind(group.description.as_str())
        .bind(micros(group.created_at))
        .bind(micros(group.updated_at))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Deletes a group, its memberships and the assignments made to it.
    pub async fn delete_user_group(&mut self, id: uuid::Uuid) -> StoreResult<()> {
        self.delete_with_assignments(
            "user_groups",
            "principal_kind = 'group' AND principal_id = $1",
            id,
        )
        .await
    }

    pub async fn add_group_member(
        &mut self,
        group: uuid::Uuid,
        user: UserId,
        at: Timestamp,
    ) -> StoreResult<u64> {
        let done = sqlx::query(
            "INSERT INTO group_members (group_id, user_id, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (group_id, user_id) DO NOTHING",
        )
        .bind(group.to_string())
        .bind(user.to_string())
        .bind(micros(at))
        .execute(self.conn())
        .await?;
        // 1 when the user joined, 0 when already a member.
        Ok(done.rows_affected())
    }

    pub async fn remove_group_member(
        &mut self,
        group: uuid::Uuid,
        user: UserId,
    ) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM group_members WHERE group_id = $1 AND user_id = $2")
            .bind(group.to_string())
            .bind(user.to_string())
            .execute(self.conn())
            .await?;
        Ok(done.rows_affected())
    }
}

fn selector_columns(selector: &ResourceSelector) -> (&'static str, bool, String) {
    match selector {
        ResourceSelector::All { include_children } => ("all", *include_children, String::new()),
        ResourceSelector::Types {
            kinds,
            include_children,
        } => ("types", *include_children, kinds.join(" ")),
        ResourceSelector::Specific(items) => (
            "specific",
            false,
            items
                .iter()
                .map(|(kind, id)| format!("{kind}={id}"))
                .collect::<Vec<_>>()
                .join(" "),
        ),
    }
}

const RESOURCE_GROUP_COLUMNS: &str = "id, org_id, project_id, identifier, name, description, \
                                      selector_kind, include_children, selector_items, created_at, updated_at";

fn resource_group_from(row: &AnyRow) -> StoreResult<ResourceGroupRecord> {
    let (identifier, name, description) = named_from(row)?;
    Ok(ResourceGroupRecord {
        id: uuid_column(row, "id")?,
        identifier,
        name,
        description,
        spec: ResourceGroupSpec {
            scope: scope_from(row, "org_id", "project_id")?,
            selector: selector_from(
                &get::<String>(row, "selector_kind")?,
                get::<i64>(row, "include_children")? != 0,
                &get::<String>(row, "selector_items")?,
            )?,
        },
        created_at: get_timestamp(row, "created_at")?,
        updated_at: get_timestamp(row, "updated_at")?,
    })
}

impl Store {
    pub async fn resource_group_by_id(
        &self,
        id: uuid::Uuid,
    ) -> StoreResult<Option<ResourceGroupRecord>> {
        let sql = format!("SELECT {RESOURCE_GROUP_COLUMNS} FROM resource_groups WHERE id = $1");
        sqlx::query(&sql)
            .bind(id.to_string())
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(resource_group_from)
            .transpose()
    }

    pub async fn list_resource_groups(
        &self,
        scope: Scope,
        page: &PageRequest,
    ) -> StoreResult<Page<ResourceGroupRecord>> {
        self.list_defined_at(
            "resource_groups",
            RESOURCE_GROUP_COLUMNS,
            scope,
            page,
            resource_group_from,
            |group| group.id.to_string(),
        )
        .await
    }

    /// One page of the rows of `table` (a fixed name, never user input) defined exactly
    /// at `scope`, ordered by id.
    pub(crate) async fn list_defined_at<T>(
        &self,
        table: &'static str,
        columns: &'static str,
        scope: Scope,
        page: &PageRequest,
        from_row: fn(&AnyRow) -> StoreResult<T>,
        id_of: fn(&T) -> String,
    ) -> StoreResult<Page<T>> {
        let (_, _, scope_key) = scope_columns(scope);
        let sql = format!(
            "SELECT {columns} FROM {table} WHERE scope_key = $1 AND id > $2 ORDER BY id LIMIT $3"
        );
        let rows = sqlx::query(&sql)
            .bind(scope_key)
            .bind(page.after_or_start())
            .bind(page.overfetch())
            .fetch_all(self.pool())
            .await?;
        let items = rows.iter().map(from_row).collect::<StoreResult<Vec<_>>>()?;
        Ok(Page::from_overfetch(items, page.limit, id_of))
    }
}

impl WriteTx {
    pub async fn insert_resource_group(&mut self, group: &ResourceGroupRecord) -> StoreResult<()> {
        let (org, project, scope_key) = scope_columns(group.spec.scope);
        let (kind, include_children, items) = selector_columns(&group.spec.selector);
        sqlx::query(
            "INSERT INTO resource_groups (id, org_id, project_id, scope_key, identifier, name, \
             description, selector_kind, include_children, selector_items, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(group.id.to_string())
        .bind(org)
        .bind(project)
        .bind(scope_key)
        .bind(group.identifier.as_str())
        .bind(group.name.as_str())
        .bind(group.description.as_str())
        .bind(kind)
        .bind(i64::from(include_children))
        .bind(items)
        .bind(micros(group.created_at))
        .bind(micros(group.updated_at))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Deletes a resource group and the assignments over it.
    pub async fn delete_resource_group(&mut self, id: uuid::Uuid) -> StoreResult<()> {
        self.delete_with_assignments("resource_groups", "resource_group_id = $1", id)
            .await
    }
}

impl WriteTx {
    /// Renames or re-describes a user group or resource group (`table` is fixed by the
    /// caller, never user input).
    async fn update_named(
        &mut self,
        table: &'static str,
        id: uuid::Uuid,
        name: &rampart_domain::Name,
        description: &rampart_domain::Description,
        at: Timestamp,
    ) -> StoreResult<()> {
        let sql = format!(
            "UPDATE {table} SET name = $2, description = $3, updated_at = $4 WHERE id = $1"
        );
        sqlx::query(&sql)
            .bind(id.to_string())
            .bind(name.as_str())
            .bind(description.as_str())
            .bind(micros(at))
            .execute(self.conn())
            .await?;
        Ok(())
    }

    pub async fn update_user_group(&mut self, group: &UserGroup) -> StoreResult<()> {
        self.update_named(
            "user_groups",
            group.id,
            &group.name,
            &group.description,
            group.updated_at,
        )
        .await
    }

    pub async fn update_resource_group(&mut self, group: &ResourceGroupRecord) -> StoreResult<()> {
        self.update_named(
            "resource_groups",
            group.id,
            &group.name,
            &group.description,
            group.updated_at,
        )
        .await
    }
}

fn role_column(role: RoleRef) -> String {
    match role {
        RoleRef::Builtin(role) => role.identifier().to_owned(),
        RoleRef::Custom(id) => id.to_string(),
    }
}

fn role_from_column(text: &str) -> StoreResult<RoleRef> {
    if let Some(role) = BuiltinRole::from_identifier(text) {
        return Ok(RoleRef::Builtin(role));
    }
    uuid::Uuid::parse_str(text)
        .map(RoleRef::Custom)
        .map_err(|_| StoreError::Corrupt("role_assignments.role".into()))
}
