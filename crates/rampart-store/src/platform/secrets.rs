//! Secrets and their sealed versions. Values arrive here already sealed by the app
//! layer; this module never sees plaintext.

use rampart_domain::platform::secrets::{Secret, SecretVersion};
use rampart_domain::platform::tenancy::Scope;
use rampart_domain::{SecretId, Slug};
use sqlx::any::AnyRow;

use super::access::{scope_columns, scope_from};
use super::{Page, PageRequest};
use crate::rows::{get, get_id, get_timestamp, micros, parsed};
use crate::sealed::{SealedColumn, SealedOwner};
use crate::{Store, StoreError, StoreResult, WriteTx};

const COLUMNS: &str = "id, org_id, project_id, identifier, name, description, current_version, \
     created_at, updated_at";

/// Secret values, keyed by (secret, version), sealed with the key of the secret's owner
/// (its project, or its organisation for an organisation's own secrets).
pub const SECRET_VALUE: SealedColumn = SealedColumn {
    table: "secret_versions",
    id_column: "secret_id",
    version_column: Some("version"),
    sealed_column: "value_sealed",
    optional: false,
    owner: SealedOwner::Parent {
        table: "secrets",
        foreign_key: "secret_id",
        column: "scope_key",
    },
    extra_columns: &[],
};

fn version_of(value: i64) -> StoreResult<u32> {
    u32::try_from(value).map_err(|_| StoreError::Corrupt("secret version out of range".into()))
}

fn secret_from(row: &AnyRow) -> StoreResult<Secret> {
    Ok(Secret {
        id: get_id(row, "id")?,
        scope: scope_from(row, "org_id", "project_id")?,
        identifier: parsed(
            Slug::parse(&get::<String>(row, "identifier")?),
            "identifier",
        )?,
        name: parsed(
            rampart_domain::Name::parse(&get::<String>(row, "name")?),
            "name",
        )?,
        description: parsed(
            rampart_domain::Description::parse(&get::<String>(row, "description")?),
            "description",
        )?,
        current_version: version_of(get(row, "current_version")?)?,
        created_at: get_timestamp(row, "created_at")?,
        updated_at: get_timestamp(row, "updated_at")?,
    })
}

impl Store {
    pub async fn secret_by_identifier(
        &self,
        scope: Scope,
        identifier: &Slug,
    ) -> StoreResult<Option<Secret>> {
        let (_, _, scope_key) = scope_columns(scope);
        let sql = format!("SELECT {COLUMNS} FROM secrets WHERE scope_key = $1 AND identifier = $2");
        sqlx::query(&sql)
            .bind(scope_key)
            .bind(identifier.as_str())
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(secret_from)
            .transpose()
    }

    pub async fn list_secrets(
        &self,
        scope: Scope,
        page: &PageRequest,
    ) -> StoreResult<Page<Secret>> {
        self.list_defined_at("secrets", COLUMNS, scope, page, secret_from, |secret| {
            secret.id.to_string()
        })
        .await
    }

    pub async fn secret_versions(&self, id: SecretId) -> StoreResult<Vec<SecretVersion>> {
        let rows = sqlx::query(
            "SELECT version, created_at, created_by FROM secret_versions \
             WHERE secret_id = $1 ORDER BY version DESC",
        )
        .bind(id.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(SecretVersion {
                    version: version_of(get(row, "version")?)?,
                    created_at: get_timestamp(row, "created_at")?,
                    created_by: get(row, "created_by")?,
                })
            })
            .collect()
    }

    pub async fn sealed_secret_value(
        &self,
        id: SecretId,
        version: u32,
    ) -> StoreResult<Option<Vec<u8>>> {
        let row = sqlx::query(
            "SELECT value_sealed FROM secret_versions WHERE secret_id = $1 AND version = $2",
        )
        .bind(id.to_string())
        .bind(i64::from(version))
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(|row| get(row, "value_sealed")).transpose()
    }
}

impl WriteTx {
    pub async fn insert_secret(&mut self, secret: &Secret) -> StoreResult<()> {
        let (org, project, scope_key) = scope_columns(secret.scope);
        sqlx::query(
            "INSERT INTO secrets (id, org_id, project_id, scope_key, identifier, name, \
             description, current_version, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(secret.id.to_string())
        .bind(org)
        .bind(project)
        .bind(scope_key)
        .bind(secret.identifier.as_str())
        .bind(secret.name.as_str())
        .bind(secret.description.as_str())
        .bind(i64::from(secret.current_version))
        .bind(micros(secret.created_at))
        .bind(micros(secret.updated_at))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Name, description, current version and updated time.
    pub async fn update_secret(&mut self, secret: &Secret) -> StoreResult<()> {
        sqlx::query(
            "UPDATE secrets SET name = $2, description = $3, current_version = $4, \
             updated_at = $5 WHERE id = $1",
        )
        .bind(secret.id.to_string())
        .bind(secret.name.as_str())
        .bind(secret.description.as_str())
        .bind(i64::from(secret.current_version))
        .bind(micros(secret.updated_at))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    pub async fn insert_secret_version(
        &mut self,
        id: SecretId,
        version: &SecretVersion,
        sealed: &[u8],
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO secret_versions (secret_id, version, value_sealed, created_at, created_by) \
             VALUES ($1, $2, $3, $4, $5)",
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

    pub async fn delete_secret(&mut self, id: SecretId) -> StoreResult<()> {
        sqlx::query("DELETE FROM secret_versions WHERE secret_id = $1")
            .bind(id.to_string())
            .execute(self.conn())
            .await?;
        sqlx::query("DELETE FROM secrets WHERE id = $1")
            .bind(id.to_string())
            .execute(self.conn())
            .await?;
        Ok(())
    }
}
