//! Account, organisations and projects.

use rampart_domain::platform::tenancy::{Account, Organization, Project, Scope};
use rampart_domain::{Description, Name, OrgId, ProjectId, Slug};
use sqlx::any::AnyRow;
use sqlx::{Any, Executor};

use super::{Page, PageRequest};
use crate::rows::{get, get_id, get_timestamp, micros, parsed};
use crate::{Store, StoreResult, WriteTx};

fn account_from(row: &AnyRow) -> StoreResult<Account> {
    Ok(Account {
        id: get_id(row, "id")?,
        name: parsed(Name::parse(&get::<String>(row, "name")?), "name")?,
        created_at: get_timestamp(row, "created_at")?,
    })
}

fn org_from(row: &AnyRow) -> StoreResult<Organization> {
    Ok(Organization {
        id: get_id(row, "id")?,
        identifier: parsed(
            Slug::parse(&get::<String>(row, "identifier")?),
            "identifier",
        )?,
        name: parsed(Name::parse(&get::<String>(row, "name")?), "name")?,
        description: parsed(
            Description::parse(&get::<String>(row, "description")?),
            "description",
        )?,
        created_at: get_timestamp(row, "created_at")?,
        updated_at: get_timestamp(row, "updated_at")?,
    })
}

fn project_from(row: &AnyRow) -> StoreResult<Project> {
    Ok(Project {
        id: get_id(row, "id")?,
        org_id: get_id(row, "org_id")?,
        identifier: parsed(
            Slug::parse(&get::<String>(row, "identifier")?),
            "identifier",
        )?,
        name: parsed(Name::parse(&get::<String>(row, "name")?), "name")?,
        description: parsed(
            Description::parse(&get::<String>(row, "description")?),
            "description",
        )?,
        created_at: get_timestamp(row, "created_at")?,
        updated_at: get_timestamp(row, "updated_at")?,
    })
}

const ORG_COLUMNS: &str = "id, identifier, name, description, created_at, updated_at";
const PROJECT_COLUMNS: &str = "id, org_id, identifier, name, description, created_at, updated_at";

async fn org_by_identifier<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    identifier: &Slug,
) -> StoreResult<Option<Organization>> {
    let sql = format!("SELECT {ORG_COLUMNS} FROM organizations WHERE identifier = $1");
    sqlx::query(&sql)
        .bind(identifier.as_str())
        .fetch_optional(executor)
        .await?
        .as_ref()
        .map(org_from)
        .transpose()
}

async fn project_by_identifier<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    org_id: OrgId,
    identifier: &Slug,
) -> StoreResult<Option<Project>> {
    let sql =
        format!("SELECT {PROJECT_COLUMNS} FROM projects WHERE org_id = $1 AND identifier = $2");
    sqlx::query(&sql)
        .bind(org_id.to_string())
        .bind(identifier.as_str())
        .fetch_optional(executor)
        .await?
        .as_ref()
        .map(project_from)
        .transpose()
}

async fn count<'e, E: Executor<'e, Database = Any>>(
    executor: E,
    sql: &str,
    id: String,
) -> StoreResult<i64> {
    let row = sqlx::query(sql).bind(id).fetch_one(executor).await?;
    get::<i64>(&row, "n")
}

impl Store {
    pub async fn account(&self) -> StoreResult<Option<Account>> {
        sqlx::query("SELECT id, name, created_at FROM accounts")
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(account_from)
            .transpose()
    }

    pub async fn org_by_identifier(&self, identifier: &Slug) -> StoreResult<Option<Organization>> {
        org_by_identifier(self.pool(), identifier).await
    }

    pub async fn org_by_id(&self, id: OrgId) -> StoreResult<Option<Organization>> {
        let sql = format!("SELECT {ORG_COLUMNS} FROM organizations WHERE id = $1");
        sqlx::query(&sql)
            .bind(id.to_string())
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(org_from)
            .transpose()
    }

    pub async fn list_orgs(&self, page: &PageRequest) -> StoreResult<Page<Organization>> {
        let sql =
            format!("SELECT {ORG_COLUMNS} FROM organizations WHERE id > $1 ORDER BY id LIMIT $2");
        let rows = sqlx::query(&sql)
            .bind(page.after_or_start())
            .bind(page.overfetch())
            .fetch_all(self.pool())
            .await?;
        let items = rows.iter().map(org_from).collect::<StoreResult<Vec<_>>>()?;
        Ok(Page::from_overfetch(items, page.limit, |org| {
            org.id.to_string()
        }))
    }

    pub async fn project_by_identifier(
        &self,
        org_id: OrgId,
        identifier: &Slug,
    ) -> StoreResult<Option<Project>> {
        project_by_identifier(self.pool(), org_id, identifier).await
    }

    pub async fn project_by_id(&self, id: ProjectId) -> StoreResult<Option<Project>> {
        let sql = format!("SELECT {PROJECT_COLUMNS} FROM projects WHERE id = $1");
        sqlx::query(&sql)
            .bind(id.to_string())
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(project_from)
            .transpose()
    }

    pub async fn list_projects(
        &self,
        org_id: OrgId,
        page: &PageRequest,
    ) -> StoreResult<Page<Project>> {
        let sql = format!(
            "SELECT {PROJECT_COLUMNS} FROM projects WHERE org_id = $1 AND id > $2 \
             ORDER BY id LIMIT $3"
        );
        let rows = sqlx::query(&sql)
            .bind(org_id.to_string())
            .bind(page.after_or_start())
            .bind(page.overfetch())
            .fetch_all(self.pool())
            .await?;
        let items = rows
            .iter()
            .map(project_from)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Page::from_overfetch(items, page.limit, |project| {
            project.id.to_string()
        }))
    }
}

impl Store {
    /// The allowlists that apply at `scope`: the account's, then the organisation's
    /// (when the scope is inside one). Empty lists are left out.
    pub async fn ip_allowlists_for(&self, scope: Scope) -> StoreResult<Vec<(String, Vec<String>)>> {
        let org_key = scope
            .org_id()
            .map(|org| org.to_string())
            .unwrap_or_default();
        let rows = sqlx::query(
            "SELECT scope_key, cidrs FROM ip_allowlists \
             WHERE (scope_key = 'account' OR scope_key = $1) AND cidrs <> '' ORDER BY scope_key",
        )
        .bind(org_key)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                let cidrs: String = crate::rows::get(row, "cidrs")?;
                Ok((
                    crate::rows::get(row, "scope_key")?,
                    cidrs.split_whitespace().map(str::to_owned).collect(),
                ))
            })
            .collect()
    }

    /// One scope's own allowlist (`account` or an organisation).
    pub async fn ip_allowlist(&self, scope: Scope) -> StoreResult<Vec<String>> {
        let key = match scope {
            Scope::Org(org) | Scope::Project(org, _) => org.to_string(),
            Scope::Account => "account".to_owned(),
        };
        let row = sqlx::query("SELECT cidrs FROM ip_allowlists WHERE scope_key = $1")
            .bind(key)
            .fetch_optional(self.pool())
            .await?;
        let cidrs: String = match &row {
            Some(row) => crate::rows::get(row, "cidrs")?,
            None => String::new(),
        };
        Ok(cidrs.split_whitespace().map(str::to_owned).collect())
    }

    /// The organisation's audit retention in days (`None`: for ever).
    pub async fn org_audit_retention(&self, id: OrgId) -> StoreResult<Option<u32>> {
        let row = sqlx::query("SELECT audit_retention_days FROM organizations WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(self.pool())
            .await?;
        let days: Option<i64> = match &row {
            Some(row) => crate::rows::get(row, "audit_retention_days")?,
            None => None,
        };
        days.map(|days| {
            u32::try_from(days)
                .map_err(|_| crate::StoreError::Corrupt("audit_retention_days out of range".into()))
        })
        .transpose()
    }
}

impl WriteTx {
    pub async fn insert_account(&mut self, account: &Account) -> StoreResult<()> {
        sqlx::query("INSERT INTO accounts (id, name, created_at) VALUES ($1, $2, $3)")
            .bind(account.id.to_string())
            .bind(account.name.as_str())
            .bind(micros(account.created_at))
            .execute(self.conn())
            .await?;
        Ok(())
    }

    pub async fn insert_org(&mut self, org: &Organization) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO organizations (id, identifier, name, description, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(org.id.to_string())
        .bind(org.identifier.as_str())
        .bind(org.name.as_str())
        .bind(org.description.as_str())
        .bind(micros(org.created_at))
        .bind(micros(org.updated_at))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Updates name, description and updated_at (identifiers are immutable: they are in
    /// every URL and every Terraform backend block).
    pub async fn update_org(&mut self, org: &Organization) -> StoreResult<()> {
        sqlx::query(
            "UPDATE organizations SET name = $2, description = $3, updated_at = $4 WHERE id = $1",
        )
        .bind(org.id.to_string())
        .bind(org.name.as_str())
        .bind(org.description.as_str())
        .bind(micros(org.updated_at))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Replaces the allowlist of the account or an organisation.
    pub async fn set_ip_allowlist(
        &mut self,
        scope: Scope,
        cidrs: &[String],
        at: jiff::Timestamp,
    ) -> StoreResult<()> {
        let key = match scope {
            Scope::Org(org) | Scope::Project(org, _) => org.to_string(),
            Scope::Account => "account".to_owned(),
        };
        sqlx::query("DELETE FROM ip_allowlists WHERE scope_key = $1")
            .bind(key.clone())
            .execute(self.conn())
            .await?;
        sqlx::query("INSERT INTO ip_allowlists (scope_key, cidrs, updated_at) VALUES ($1, $2, $3)")
            .bind(key)
            .bind(cidrs.join(" "))
            .bind(micros(at))
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Sets (or clears) how long the organisation's audit events keep their bodies.
    pub async fn set_org_audit_retention(
        &mut self,
        id: OrgId,
        days: Option<u32>,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE organizations SET audit_retention_days = $2 WHERE id = $1")
            .bind(id.to_string())
            .bind(days.map(i64::from))
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Locks the organisation row until the transaction ends, so that nothing can be
    /// added to it between counting its contents and deleting it (PostgreSQL; SQLite
    /// writers are already serialised).
    pub async fn lock_org(&mut self, id: OrgId) -> StoreResult<()> {
        if self.engine() == crate::Engine::Postgres {
            sqlx::query("SELECT id FROM organizations WHERE id = $1 FOR UPDATE")
                .bind(id.to_string())
                .fetch_optional(self.conn())
                .await?;
        }
        Ok(())
    }

    /// Locks the project row until the transaction ends (see [`WriteTx::lock_org`]).
    pub async fn lock_project(&mut self, id: ProjectId) -> StoreResult<()> {
        if self.engine() == crate::Engine::Postgres {
            sqlx::query("SELECT id FROM projects WHERE id = $1 FOR UPDATE")
                .bind(id.to_string())
                .fetch_optional(self.conn())
                .await?;
        }
        Ok(())
    }

    pub async fn delete_org(&mut self, id: OrgId) -> StoreResult<()> {
        sqlx::query("DELETE FROM organizations WHERE id = $1")
            .bind(id.to_string())
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Counts what an organisation holds (projects and org-level service accounts), read
    /// inside the deleting transaction so that nothing is added in between.
    pub async fn org_content_count(&mut self, id: OrgId) -> StoreResult<i64> {
        let projects = count(
            self.conn(),
            "SELECT COUNT(*) AS n FROM projects WHERE org_id = $1",
            id.to_string(),
        )
        .await?;
        let service_accounts = count(
            self.conn(),
            "SELECT COUNT(*) AS n FROM service_accounts WHERE org_id = $1",
            id.to_string(),
        )
        .await?;
        Ok(projects + service_accounts)
    }

    pub async fn insert_project(&mut self, project: &Project) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO projects (id, org_id, identifier, name, description, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(project.id.to_string())
        .bind(project.org_id.to_string())
        .bind(project.identifier.as_str())
        .bind(project.name.as_str())
        .bind(project.description.as_str())
        .bind(micros(project.created_at))
        .bind(micros(project.updated_at))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    pub async fn update_project(&mut self, project: &Project) -> StoreResult<()> {
        sqlx::query(
            "UPDATE projects SET name = $2, description = $3, updated_at = $4 WHERE id = $1",
        )
        .bind(project.id.to_string())
        .bind(project.name.as_str())
        .bind(project.description.as_str())
        .bind(micros(project.updated_at))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    pub async fn delete_project(&mut self, id: ProjectId) -> StoreResult<()> {
        sqlx::query("DELETE FROM projects WHERE id = $1")
            .bind(id.to_string())
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Counts what a project holds (service accounts and tokens narrowed to it; later
    /// issues add workspaces, services and incidents here).
    pub async fn project_content_count(&mut self, id: ProjectId) -> StoreResult<i64> {
        let service_accounts = count(
            self.conn(),
            "SELECT COUNT(*) AS n FROM service_accounts WHERE project_id = $1",
            id.to_string(),
        )
        .await?;
        let tokens = count(
            self.conn(),
            "SELECT COUNT(*) AS n FROM api_tokens WHERE project_id = $1 AND revoked_at IS NULL",
            id.to_string(),
        )
        .await?;
        Ok(service_accounts + tokens)
    }
}
