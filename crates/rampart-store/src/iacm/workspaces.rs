//! Workspaces: create, update, delete (with their state versions and lock), list, the
//! operator's list of every workspace with its address, and the per-workspace write lock
//! that serialises state and lock writes.

use rampart_domain::iacm::runs::RunSettings;
use rampart_domain::iacm::workspaces::{Provisioner, Workspace};
use rampart_domain::platform::tenancy::Scope;
use rampart_domain::{Description, Name, Slug, WorkspaceId};
use sqlx::any::AnyRow;

use crate::platform::access::scope_columns;
use crate::platform::{Page, PageRequest};
use crate::rows::{get, get_id, get_optional_id, get_timestamp, micros, number, parsed, signed};
use crate::{Store, StoreError, StoreResult, WriteTx};

const COLUMNS: &str = "id, org_id, project_id, identifier, name, description, provisioner, \
     provisioner_version, tags, auto_apply, allow_self_approval, approvals_required, \
     approval_ttl_seconds, governed, drift_integration_id, created_at, updated_at";

/// Advisory lock space for per-workspace write serialisation on PostgreSQL.
const POSTGRES_WORKSPACE_LOCK_SPACE: i32 = 0x5753; // "WS"

fn workspace_from(row: &AnyRow) -> StoreResult<Workspace> {
    let tags: String = get(row, "tags")?;
    Ok(Workspace {
        id: get_id(row, "id")?,
        org_id: get_id(row, "org_id")?,
        project_id: get_id(row, "project_id")?,
        identifier: parsed(
            Slug::parse(&get::<String>(row, "identifier")?),
            "identifier",
        )?,
        name: parsed(Name::parse(&get::<String>(row, "name")?), "name")?,
        description: parsed(
            Description::parse(&get::<String>(row, "description")?),
            "description",
        )?,
        provisioner: parsed(
            Provisioner::parse(&get::<String>(row, "provisioner")?),
            "provisioner",
        )?,
        provisioner_version: get(row, "provisioner_version")?,
        tags: serde_json::from_str(&tags)
            .map_err(|_| StoreError::Corrupt("workspace tags".into()))?,
        runs: RunSettings {
            auto_apply: get::<i64>(row, "auto_apply")? != 0,
            allow_self_approval: get::<i64>(row, "allow_self_approval")? != 0,
            approvals_required: u32::try_from(get::<i64>(row, "approvals_required")?)
                .map_err(|_| StoreError::Corrupt("approvals_required".into()))?,
            approval_ttl_seconds: number(
                get(row, "approval_ttl_seconds")?,
                "approval_ttl_seconds",
            )?,
            governed: get::<i64>(row, "governed")? != 0,
        },
        drift_integration: get_optional_id(row, "drift_integration_id")?,
        created_at: get_timestamp(row, "created_at")?,
        updated_at: get_timestamp(row, "updated_at")?,
    })
}

impl Store {
    pub async fn workspace_by_identifier(
        &self,
        scope: Scope,
        identifier: &Slug,
    ) -> StoreResult<Option<Workspace>> {
        let (_, _, scope_key) = scope_columns(scope);
        let sql =
            format!("SELECT {COLUMNS} FROM workspaces WHERE scope_key = $1 AND identifier = $2");
        sqlx::query(&sql)
            .bind(scope_key)
            .bind(identifier.as_str())
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(workspace_from)
            .transpose()
    }

    pub async fn workspace_by_id(&self, id: WorkspaceId) -> StoreResult<Option<Workspace>> {
        let sql = format!("SELECT {COLUMNS} FROM workspaces WHERE id = $1");
        sqlx::query(&sql)
            .bind(id.to_string())
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(workspace_from)
            .transpose()
    }

    pub async fn list_workspaces(
        &self,
        scope: Scope,
        page: &PageRequest,
    ) -> StoreResult<Page<Workspace>> {
        self.list_defined_at("workspaces", COLUMNS, scope, page, workspace_from, |w| {
            w.id.to_string()
        })
        .await
    }

    /// Every workspace with its organisation's and project's identifiers (operator
    /// verification).
    pub async fn all_workspace_addresses(&self) -> StoreResult<Vec<(String, String, Workspace)>> {
        let columns = COLUMNS
            .split(", ")
            .map(|column| format!("w.{column}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT {columns}, o.identifier AS org_identifier, p.identifier AS project_identifier \
             FROM workspaces w JOIN organizations o ON o.id = w.org_id \
             JOIN projects p ON p.id = w.project_id ORDER BY w.id"
        );
        let rows = sqlx::query(&sql).fetch_all(self.pool()).await?;
        rows.iter()
            .map(|row| {
                Ok((
                    get(row, "org_identifier")?,
                    get(row, "project_identifier")?,
                    workspace_from(row)?,
                ))
            })
            .collect()
    }
}

impl WriteTx {
    /// Serialises writes to one workspace's state and lock (SQLite has one writer).
    pub async fn lock_workspace(&mut self, workspace: WorkspaceId) -> StoreResult<()> {
        if self.engine() == crate::Engine::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
                .bind(POSTGRES_WORKSPACE_LOCK_SPACE)
                .bind(workspace.to_string())
                .execute(self.conn())
                .await?;
        }
        Ok(())
    }

    pub async fn insert_workspace(&mut self, workspace: &Workspace) -> StoreResult<()> {
        let (org, project, scope_key) =
            scope_columns(Scope::Project(workspace.org_id, workspace.project_id));
        sqlx::query(
            "INSERT INTO workspaces (id, org_id, project_id, scope_key, identifier, name, \
             description, provisioner, provisioner_version, tags, created_at, updated_at, \
             auto_apply, allow_self_approval, approvals_required, approval_ttl_seconds, \
             governed, drift_integration_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
             $18)",
        )
        .bind(workspace.id.to_string())
        .bind(org)
        .bind(project)
        .bind(scope_key)
        .bind(workspace.identifier.as_str())
        .bind(workspace.name.as_str())
        .bind(workspace.description.as_str())
        .bind(workspace.provisioner.as_str())
        .bind(workspace.provisioner_version.clone())
        .bind(serde_json::Value::from(workspace.tags.clone()).to_string())
        .bind(micros(workspace.created_at))
        .bind(micros(workspace.updated_at))
        .bind(i64::from(workspace.runs.auto_apply))
        .bind(i64::from(workspace.runs.allow_self_approval))
        .bind(i64::from(workspace.runs.approvals_required))
        .bind(signed(workspace.runs.approval_ttl_seconds)?)
        .bind(i64::from(workspace.runs.governed))
        .bind(workspace.drift_integration.map(|id| id.to_string()))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Name, description, provisioner, version, tags, run settings, drift integration
    /// and updated time.
    pub async fn update_workspace(&mut self, workspace: &Workspace) -> StoreResult<()> {
        sqlx::query(
            "UPDATE workspaces SET name = $2, description = $3, provisioner = $4, \
             provisioner_version = $5, tags = $6, updated_at = $7, auto_apply = $8, \
             allow_self_approval = $9, approvals_required = $10, approval_ttl_seconds = $11, \
             governed = $12, drift_integration_id = $13 WHERE id = $1",
        )
        .bind(workspace.id.to_string())
        .bind(workspace.name.as_str())
        .bind(workspace.description.as_str())
        .bind(workspace.provisioner.as_str())
        .bind(workspace.provisioner_version.clone())
        .bind(serde_json::Value::from(workspace.tags.clone()).to_string())
        .bind(micros(workspace.updated_at))
        .bind(i64::from(workspace.runs.auto_apply))
        .bind(i64::from(workspace.runs.allow_self_approval))
        .bind(i64::from(workspace.runs.approvals_required))
        .bind(signed(workspace.runs.approval_ttl_seconds)?)
        .bind(i64::from(workspace.runs.governed))
        .bind(workspace.drift_integration.map(|id| id.to_string()))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    pub async fn delete_workspace(&mut self, workspace: WorkspaceId) -> StoreResult<()> {
        for sql in [
            "DELETE FROM workspace_locks WHERE workspace_id = $1",
            "DELETE FROM run_logs WHERE run_id IN (SELECT id FROM runs WHERE workspace_id = $1)",
            "DELETE FROM run_approvals WHERE run_id IN (SELECT id FROM runs WHERE workspace_id = $1)",
            "DELETE FROM run_transitions WHERE run_id IN (SELECT id FROM runs WHERE workspace_id = $1)",
            "DELETE FROM runs WHERE workspace_id = $1",
            "DELETE FROM state_versions WHERE workspace_id = $1",
            "DELETE FROM workspace_variables WHERE workspace_id = $1",
            "DELETE FROM drift_checks WHERE workspace_id = $1",
            "DELETE FROM workspaces WHERE id = $1",
        ] {
            sqlx::query(sql)
                .bind(workspace.to_string())
                .execute(self.conn())
                .await?;
        }
        Ok(())
    }
}
