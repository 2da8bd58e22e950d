//! Runbooks of a project and their versions. Definitions arrive here sealed with the
//! project's key; this module never sees them in clear.

use rampart_domain::platform::tenancy::Scope;
use rampart_domain::sre::runbooks::{Runbook, RunbookVersion};
use rampart_domain::{Name, RunbookId, Slug};
use sqlx::any::AnyRow;

use crate::platform::access::{scope_columns, scope_from};
use crate::platform::{Page, PageRequest};
use crate::rows::{get, get_id, get_timestamp, micros, parsed};
use crate::sealed::{SealedColumn, SealedOwner};
use crate::{Store, StoreError, StoreResult, WriteTx};

const COLUMNS: &str =
    "id, org_id, project_id, identifier, name, current_version, created_at, updated_at";

/// Runbook definitions, keyed by (runbook, version), sealed with the project's key.
pub const RUNBOOK_DEFINITION: SealedColumn = SealedColumn {
    table: "runbook_versions",
    id_column: "runbook_id",
    version_column: Some("version"),
    sealed_column: "definition_sealed",
    optional: false,
    owner: SealedOwner::Parent {
        table: "runbooks",
        foreign_key: "runbook_id",
        column: "project_id",
    },
    extra_columns: &[],
};

fn version_of(value: i64) -> StoreResult<u32> {
    u32::try_from(value).map_err(|_| StoreError::Corrupt("runbook version out of range".into()))
}

fn runbook_from(row: &AnyRow) -> StoreResult<Runbook> {
    Ok(Runbook {
        id: get_id(row, "id")?,
        scope: scope_from(row, "org_id", "project_id")?,
        identifier: parsed(
            Slug::parse(&get::<String>(row, "identifier")?),
            "identifier",
        )?,
        name: parsed(Name::parse(&get::<String>(row, "name")?), "name")?,
        current_version: version_of(get(row, "current_version")?)?,
        created_at: get_timestamp(row, "created_at")?,
        updated_at: get_timestamp(row, "updated_at")?,
    })
}

impl Store {
    pub async fn runbook_by_identifier(
        &self,
        scope: Scope,
        identifier: &Slug,
    ) -> StoreResult<Option<Runbook>> {
        let (_, _, scope_key) = scope_columns(scope);
        let sql =
            format!("SELECT {COLUMNS} FROM runbooks WHERE scope_key = $1 AND identifier = $2");
        sqlx::query(&sql)
            .bind(scope_key)
            .bind(identifier.as_str())
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(runbook_from)
            .transpose()
    }

    pub async fn list_runbooks(
        &self,
        scope: Scope,
        page: &PageRequest,
    ) -> StoreResult<Page<Runbook>> {
        self.list_defined_at("runbooks", COLUMNS, scope, page, runbook_from, |runbook| {
            runbook.id.to_string()
        })
        .await
    }

    /// A runbook's versions, newest first.
    pub async fn runbook_versions(&self, id: RunbookId) -> StoreResult<Vec<RunbookVersion>> {
        let rows = sqlx::query(
            "SELECT version, created_at, created_by FROM runbook_versions \
             WHERE runbook_id = $1 ORDER BY version DESC",
        )
        .bind(id.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(RunbookVersion {
                    version: version_of(get(row, "version")?)?,
                    created_at: get_timestamp(row, "created_at")?,
                    created_by: get(row, "created_by")?,
                })
            })
            .collect()
    }

    /// One version's sealed definition, with who wrote it.
    pub async fn sealed_runbook_definition(
        &self,
        id: RunbookId,
        version: u32,
    ) -> StoreResult<Option<(RunbookVersion, Vec<u8>)>> {
        let row = sqlx::query(
            "SELECT version, created_at, created_by, definition_sealed FROM runbook_versions \
             WHERE runbook_id = $1 AND version = $2",
        )
        .bind(id.to_string())
        .bind(i64::from(version))
        .fetch_optional(self.pool())
        .await?;
        row.as_ref()
            .map(|row| {
                Ok((
                    RunbookVersion {
                        version: version_of(get(row, "version")?)?,
                        created_at: get_timestamp(row, "created_at")?,
                        created_by: get(row, "created_by")?,
                    },
                    get(row, "definition_sealed")?,
                ))
            })
            .transpose()
    }
}

impl WriteTx {
    /// Adds a runbook; an identifier taken in the project is a conflict.
    pub async fn insert_runbook(&mut self, runbook: &Runbook) -> StoreResult<()> {
        let (org, project, scope_key) = scope_columns(runbook.scope);
        sqlx::query(
            "INSERT INTO runbooks (id, org_id, project_id, scope_key, identifier, name, \
             current_version, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(runbook.id.to_string())
        .bind(org)
        .bind(project)
        .bind(scope_key)
        .bind(runbook.identifier.as_str())
        .bind(runbook.name.as_str())
        .bind(i64::from(runbook.current_version))
        .bind(micros(runbook.created_at))
        .bind(micros(runbook.updated_at))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Moves a runbook from version `from` to its new name, version and time; false
    /// when another writer moved it first (the caller answers a conflict).
    pub async fn update_runbook(&mut self, runbook: &Runbook, from: u32) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE runbooks SET name = $2, current_version = $3, updated_at = $4 \
             WHERE id = $1 AND current_version = $5",
        )
        .bind(runbook.id.to_string())
        .bind(runbook.name.as_str())
        .bind(i64::from(runbook.current_version))
        .bind(micros(runbook.updated_at))
        .bind(i64::from(from))
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn insert_runbook_version(
        &mut self,
        id: RunbookId,
        version: &RunbookVersion,
        sealed: &[u8],
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO runbook_versions (runbook_id, version, definition_sealed, created_at, \
             created_by) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id.to_string())
        .bind(i64::from(version.version))
        .bind(sealed.to_vec())
        .bind(micros(version.created_at))
        .bind(version.created_by.clone())
        .execute(self.conn())
        .await?;
        Ok(())
    }

    pub async fn delete_runbook(&mut self, id: RunbookId) -> StoreResult<()> {
        sqlx::query("DELETE FROM runbook_versions WHERE runbook_id = $1")
            .bind(id.to_string())
            .execute(self.conn())
            .await?;
        sqlx::query("DELETE FROM runbooks WHERE id = $1")
            .bind(id.to_string())
            .execute(self.conn())
            .await?;
        Ok(())
    }
}
