//! Variables of workspaces and variable sets, and runs' logs.
//!
//! A holder's variables arrive as one sealed document with its version (a change
//! writes the next version only if nobody wrote it first); a run's log arrives sealed
//! with its workspace's project key. This module never sees a key, a value or a log
//! line in clear.

use jiff::Timestamp;
use rampart_domain::iacm::policy_sets::Attachment;
use rampart_domain::iacm::runs::RunLog;
use rampart_domain::iacm::variables::VariableSet;
use rampart_domain::platform::tenancy::Scope;
use rampart_domain::{
    Description, Name, OrgId, ProjectId, RunId, Slug, VariableSetId, WorkspaceId,
};
use sqlx::any::AnyRow;

use crate::platform::access::{scope_columns, scope_from};
use crate::platform::{Page, PageRequest};
use crate::rows::{get, get_id, get_timestamp, micros, number, parsed, signed};
use crate::sealed::{SealedColumn, SealedOwner};
use crate::{Store, StoreError, StoreResult, WriteTx};

const SET_COLUMNS: &str = "id, org_id, project_id, identifier, name, description, \
     attach_kind, attach_values, version, variable_count, created_at, updated_at";

/// A variable set's variables (a JSON list), sealed with the key of the set's scope,
/// per version.
pub const VARIABLE_SET_VARIABLES: SealedColumn = SealedColumn {
    table: "variable_sets",
    id_column: "id",
    version_column: Some("version"),
    sealed_column: "variables_sealed",
    optional: false,
    owner: SealedOwner::Column("scope_key"),
    extra_columns: &[],
};

/// A workspace's own variables, sealed with its project's key, per version.
pub const WORKSPACE_VARIABLES: SealedColumn = SealedColumn {
    table: "workspace_variables",
    id_column: "workspace_id",
    version_column: Some("version"),
    sealed_column: "variables_sealed",
    optional: false,
    owner: SealedOwner::Parent {
        table: "workspaces",
        foreign_key: "workspace_id",
        column: "project_id",
    },
    extra_columns: &[],
};

/// What Terraform printed in one phase of a run, sealed with the workspace's project
/// key; the seal names the workspace, the run and the phase.
pub const RUN_LOG: SealedColumn = SealedColumn {
    table: "run_logs",
    id_column: "id",
    version_column: None,
    sealed_column: "log_sealed",
    optional: false,
    owner: SealedOwner::Parent {
        table: "workspaces",
        foreign_key: "workspace_id",
        column: "project_id",
    },
    extra_columns: &["workspace_id", "run_id", "phase"],
};

fn corrupt(column: &str) -> StoreError {
    StoreError::Corrupt(format!("column {column} holds an invalid value"))
}

fn variable_set_from(row: &AnyRow) -> StoreResult<VariableSet> {
    let values: Vec<String> = serde_json::from_str(&get::<String>(row, "attach_values")?)
        .map_err(|_| corrupt("attach_values"))?;
    Ok(VariableSet {
        id: get_id(row, "id")?,
        scope: scope_from(row, "org_id", "project_id")?,
        identifier: parsed(
            Slug::parse(&get::<String>(row, "identifier")?),
            "identifier",
        )?,
        name: parsed(Name::parse(&get::<String>(row, "name")?), "name")?,
        description: parsed(
            Description::parse(&get::<String>(row, "description")?),
            "description",
        )?,
        attachment: parsed(
            Attachment::parse(&get::<String>(row, "attach_kind")?, &values),
            "attach_kind",
        )?,
        version: number(get(row, "version")?, "version")?,
        variable_count: number(get(row, "variable_count")?, "variable_count")?,
        created_at: get_timestamp(row, "created_at")?,
        updated_at: get_timestamp(row, "updated_at")?,
    })
}

fn with_variables(row: &AnyRow) -> StoreResult<(VariableSet, Vec<u8>)> {
    Ok((variable_set_from(row)?, get(row, "variables_sealed")?))
}

/// A workspace's sealed variables and the version they were sealed at.
#[derive(Clone, Debug)]
pub struct SealedVariables {
    pub version: u64,
    pub sealed: Vec<u8>,
}

const LOG_COLUMNS: &str = "id, phase, bytes, uploaded_by, uploaded_at";

fn run_log_from(row: &AnyRow) -> StoreResult<RunLog> {
    Ok(RunLog {
        id: get(row, "id")?,
        phase: get(row, "phase")?,
        bytes: number(get(row, "bytes")?, "bytes")?,
        uploaded_by: get(row, "uploaded_by")?,
        uploaded_at: get_timestamp(row, "uploaded_at")?,
    })
}

impl Store {
    /// A workspace's own variables (none stored yet: `None`).
    pub async fn workspace_variables(
        &self,
        workspace: WorkspaceId,
    ) -> StoreResult<Option<SealedVariables>> {
        let row = sqlx::query(
            "SELECT version, variables_sealed FROM workspace_variables WHERE workspace_id = $1",
        )
        .bind(workspace.to_string())
        .fetch_optional(self.pool())
        .await?;
        row.map(|row| {
            Ok(SealedVariables {
                version: number(get(&row, "version")?, "version")?,
                sealed: get(&row, "variables_sealed")?,
            })
        })
        .transpose()
    }

    /// A variable set of `scope` with its sealed variables.
    pub async fn variable_set_by_identifier(
        &self,
        scope: Scope,
        identifier: &Slug,
    ) -> StoreResult<Option<(VariableSet, Vec<u8>)>> {
        let (_, _, scope_key) = scope_columns(scope);
        let sql = format!(
            "SELECT {SET_COLUMNS}, variables_sealed FROM variable_sets \
             WHERE scope_key = $1 AND identifier = $2"
        );
        sqlx::query(&sql)
            .bind(scope_key)
            .bind(identifier.as_str())
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(with_variables)
            .transpose()
    }

    /// The variable sets defined at `scope` (not those of its organisation), by id.
    pub async fn list_variable_sets(
        &self,
        scope: Scope,
        page: &PageRequest,
    ) -> StoreResult<Page<VariableSet>> {
        self.list_defined_at(
            "variable_sets",
            SET_COLUMNS,
            scope,
            page,
            variable_set_from,
            |set| set.id.to_string(),
        )
        .await
    }

    /// The sets a workspace of project `project` could fall under: the organisation's
    /// and the project's, with their sealed variables (the caller applies their
    /// attachments).
    pub async fn variable_sets_for(
        &self,
        org: OrgId,
        project: ProjectId,
    ) -> StoreResult<Vec<(VariableSet, Vec<u8>)>> {
        let sql = format!(
            "SELECT {SET_COLUMNS}, variables_sealed FROM variable_sets \
             WHERE org_id = $1 AND (project_id IS NULL OR project_id = $2) ORDER BY id"
        );
        let rows = sqlx::query(&sql)
            .bind(org.to_string())
            .bind(project.to_string())
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(with_variables).collect()
    }

    /// The logs uploaded for a run, by phase.
    pub async fn run_logs(&self, run: RunId) -> StoreResult<Vec<RunLog>> {
        let sql = format!("SELECT {LOG_COLUMNS} FROM run_logs WHERE run_id = $1 ORDER BY phase");
        let rows = sqlx::query(&sql)
            .bind(run.to_string())
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(run_log_from).collect()
    }

    /// One phase's log of a run with its sealed text.
    pub async fn run_log(&self, run: RunId, phase: &str) -> StoreResult<Option<(RunLog, Vec<u8>)>> {
        let sql = format!(
            "SELECT {LOG_COLUMNS}, log_sealed FROM run_logs WHERE run_id = $1 AND phase = $2"
        );
        let row = sqlx::query(&sql)
            .bind(run.to_string())
            .bind(phase.to_owned())
            .fetch_optional(self.pool())
            .await?;
        row.map(|row| Ok((run_log_from(&row)?, get(&row, "log_sealed")?)))
            .transpose()
    }
}

fn attach_values(set: &VariableSet) -> StoreResult<String> {
    serde_json::to_string(&set.attachment.values())
        .map_err(|error| StoreError::Internal(error.to_string()))
}

impl WriteTx {
    /// Writes version `version` of a workspace's variables, only if the stored version
    /// is `version - 1` (or none is stored and `version` is 1): false when another
    /// change came first.
    pub async fn put_workspace_variables(
        &mut self,
        workspace: WorkspaceId,
        version: u64,
        count: u64,
        sealed: &[u8],
        at: Timestamp,
    ) -> StoreResult<bool> {
        if version == 1 {
            let inserted = sqlx::query(
                "INSERT INTO workspace_variables (workspace_id, version, variable_count, \
                 variables_sealed, updated_at) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (workspace_id) DO NOTHING",
            )
            .bind(workspace.to_string())
            .bind(signed(version)?)
            .bind(signed(count)?)
            .bind(sealed.to_vec())
            .bind(micros(at))
            .execute(self.conn())
            .await?;
            return Ok(inserted.rows_affected() == 1);
        }
        let updated = sqlx::query(
            "UPDATE workspace_variables SET version = $2, variable_count = $3, \
             variables_sealed = $4, updated_at = $5 WHERE workspace_id = $1 AND version = $6",
        )
        .bind(workspace.to_string())
        .bind(signed(version)?)
        .bind(signed(count)?)
        .bind(sealed.to_vec())
        .bind(micros(at))
        .bind(signed(version.saturating_sub(1))?)
        .execute(self.conn())
        .await?;
        Ok(updated.rows_affected() == 1)
    }

    pub async fn insert_variable_set(
        &mut self,
        set: &VariableSet,
        variables: &[u8],
    ) -> StoreResult<()> {
        let (org, project, scope_key) = scope_columns(set.scope);
        sqlx::query(
            "INSERT INTO variable_sets (id, org_id, project_id, scope_key, identifier, name, \
             description, attach_kind, attach_values, version, variable_count, \
             variables_sealed, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(set.id.to_string())
        .bind(org)
        .bind(project)
        .bind(scope_key)
        .bind(set.identifier.as_str())
        .bind(set.name.as_str())
        .bind(set.description.as_str())
        .bind(set.attachment.kind())
        .bind(attach_values(set)?)
        .bind(signed(set.version)?)
        .bind(signed(set.variable_count)?)
        .bind(variables.to_vec())
        .bind(micros(set.created_at))
        .bind(micros(set.updated_at))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Writes a changed set (its version one above the stored one), only if the stored
    /// version is still `set.version - 1`: false when another change came first.
    pub async fn update_variable_set(
        &mut self,
        set: &VariableSet,
        variables: &[u8],
    ) -> StoreResult<bool> {
        let result = sqlx::query(
            "UPDATE variable_sets SET name = $2, description = $3, attach_kind = $4, \
             attach_values = $5, version = $6, variable_count = $7, variables_sealed = $8, \
             updated_at = $9 WHERE id = $1 AND version = $10",
        )
        .bind(set.id.to_string())
        .bind(set.name.as_str())
        .bind(set.description.as_str())
        .bind(set.attachment.kind())
        .bind(attach_values(set)?)
        .bind(signed(set.version)?)
        .bind(signed(set.variable_count)?)
        .bind(variables.to_vec())
        .bind(micros(set.updated_at))
        .bind(signed(set.version.saturating_sub(1))?)
        .execute(self.conn())
        .await?;
        Ok(result.rows_affected() == 1)
    }

    pub async fn delete_variable_set(&mut self, id: VariableSetId) -> StoreResult<()> {
        sqlx::query("DELETE FROM variable_sets WHERE id = $1")
            .bind(id.to_string())
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Stores one phase's log of a run; false when that phase has a log already.
    pub async fn insert_run_log(
        &mut self,
        run: RunId,
        workspace: WorkspaceId,
        log: &RunLog,
        sealed: &[u8],
    ) -> StoreResult<bool> {
        let inserted = sqlx::query(
            "INSERT INTO run_logs (id, run_id, phase, workspace_id, bytes, uploaded_by, \
             uploaded_at, log_sealed) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (run_id, phase) DO NOTHING",
        )
        .bind(log.id.clone())
        .bind(run.to_string())
        .bind(log.phase.clone())
        .bind(workspace.to_string())
        .bind(signed(log.bytes)?)
        .bind(log.uploaded_by.clone())
        .bind(micros(log.uploaded_at))
        .bind(sealed.to_vec())
        .execute(self.conn())
        .await?;
        Ok(inserted.rows_affected() == 1)
    }
}
