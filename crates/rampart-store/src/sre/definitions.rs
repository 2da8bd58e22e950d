//! What schedules and escalation policies share: both are a named, project-scoped
//! validated definition stored as JSON, in two tables of the same shape (`schedules`,
//! `escalation_policies`). [`DefinitionKind`] picks the table; the rows, reads and
//! writes here serve both. What only one of them has lives in [`super::schedules`] or
//! [`super::escalation_policies`].

use rampart_domain::platform::tenancy::Scope;
use rampart_domain::sre::documents::{DefinitionKind, DefinitionRecord};
use rampart_domain::{Name, Slug};
use sqlx::any::AnyRow;

use crate::platform::access::scope_columns;
use crate::platform::{Page, PageRequest};
use crate::rows::{get, get_id, get_timestamp, micros, parsed};
use crate::{Store, StoreResult, WriteTx};

const COLUMNS: &str =
    "id, org_id, project_id, identifier, name, definition, created_at, updated_at";

fn definition_from(row: &AnyRow) -> StoreResult<DefinitionRecord> {
    Ok(DefinitionRecord {
        id: get(row, "id")?,
        org_id: get_id(row, "org_id")?,
        project_id: get_id(row, "project_id")?,
        identifier: parsed(
            Slug::parse(&get::<String>(row, "identifier")?),
            "identifier",
        )?,
        name: parsed(Name::parse(&get::<String>(row, "name")?), "name")?,
        definition: get(row, "definition")?,
        created_at: get_timestamp(row, "created_at")?,
        updated_at: get_timestamp(row, "updated_at")?,
    })
}

impl Store {
    pub async fn definition_by_identifier(
        &self,
        kind: DefinitionKind,
        scope: Scope,
        identifier: &Slug,
    ) -> StoreResult<Option<DefinitionRecord>> {
        let (_, _, scope_key) = scope_columns(scope);
        let sql = format!(
            "SELECT {COLUMNS} FROM {} WHERE scope_key = $1 AND identifier = $2",
            definition_table(kind)
        );
        sqlx::query(&sql)
            .bind(scope_key)
            .bind(identifier.as_str())
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(definition_from)
            .transpose()
    }

    pub async fn definition_by_id(
        &self,
        kind: DefinitionKind,
        id: &str,
    ) -> StoreResult<Option<DefinitionRecord>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM {} WHERE id = $1",
            definition_table(kind)
        );
        sqlx::query(&sql)
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(definition_from)
            .transpose()
    }

    pub async fn list_definitions(
        &self,
        kind: DefinitionKind,
        scope: Scope,
        page: &PageRequest,
    ) -> StoreResult<Page<DefinitionRecord>> {
        self.list_defined_at(
            definition_table(kind),
            COLUMNS,
            scope,
            page,
            definition_from,
            |d| d.id.clone(),
        )
        .await
    }
}

impl WriteTx {
    /// A definition read inside this transaction, its row locked until the transaction
    /// ends (PostgreSQL `FOR UPDATE`; SQLite writers are already serialised), so a change
    /// to part of it (a schedule's overrides) cannot lose a concurrent one.
    pub async fn definition_for_update(
        &mut self,
        kind: DefinitionKind,
        scope: Scope,
        identifier: &Slug,
    ) -> StoreResult<Option<DefinitionRecord>> {
        let (_, _, scope_key) = scope_columns(scope);
        let lock = if self.engine() == crate::Engine::Postgres {
            " FOR UPDATE"
        } else {
            ""
        };
        let sql = format!(
            "SELECT {COLUMNS} FROM {} WHERE scope_key = $1 AND identifier = $2{lock}",
            definition_table(kind)
        );
        sqlx::query(&sql)
            .bind(scope_key)
            .bind(identifier.as_str())
            .fetch_optional(self.conn())
            .await?
            .as_ref()
            .map(definition_from)
            .transpose()
    }

    pub async fn insert_definition(
        &mut self,
        kind: DefinitionKind,
        record: &DefinitionRecord,
    ) -> StoreResult<()> {
        let (org, project, scope_key) =
            scope_columns(Scope::Project(record.org_id, record.project_id));
        let sql = format!(
            "INSERT INTO {} (id, org_id, project_id, scope_key, identifier, name, definition, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            definition_table(kind)
        );
        sqlx::query(&sql)
            .bind(record.id.clone())
            .bind(org)
            .bind(project)
            .bind(scope_key)
            .bind(record.identifier.as_str())
            .bind(record.name.as_str())
            .bind(record.definition.clone())
            .bind(micros(record.created_at))
            .bind(micros(record.updated_at))
            .execute(self.conn())
            .await?;
        Ok(())
    }

    pub async fn update_definition(
        &mut self,
        kind: DefinitionKind,
        record: &DefinitionRecord,
    ) -> StoreResult<()> {
        let sql = format!(
            "UPDATE {} SET name = $2, definition = $3, updated_at = $4 WHERE id = $1",
            definition_table(kind)
        );
        sqlx::query(&sql)
            .bind(record.id.clone())
            .bind(record.name.as_str())
            .bind(record.definition.clone())
            .bind(micros(record.updated_at))
            .execute(self.conn())
            .await?;
        Ok(())
    }

    pub async fn delete_definition(&mut self, kind: DefinitionKind, id: &str) -> StoreResult<()> {
        let sql = format!("DELETE FROM {} WHERE id = $1", definition_table(kind));
        sqlx::query(&sql).bind(id).execute(self.conn()).await?;
        Ok(())
    }
}

/// The table of a kind of definition (both have the same columns).
fn definition_table(kind: DefinitionKind) -> &'static str {
    match kind {
        DefinitionKind::Schedule => "schedules",
        DefinitionKind::EscalationPolicy => "escalation_policies",
    }
}
