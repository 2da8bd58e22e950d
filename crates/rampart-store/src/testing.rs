//! Test support: fresh stores on every engine available. SQLite always; PostgreSQL when
//! `RAMPART_TEST_DATABASE_URL` is set, each store in its own new schema so that test runs
//! never see each other's data. Used by this crate's store suite and by the testkit.

use crate::{Store, StoreOptions, StoreResult};

/// The environment variable naming the PostgreSQL server for tests.
pub const TEST_DATABASE_URL_VAR: &str = "RAMPART_TEST_DATABASE_URL";

/// Creates a fresh schema on the PostgreSQL server at `server_url` and returns a URL whose
/// connections use it (through the `search_path` connection option).
pub async fn fresh_postgres_schema_url(server_url: &str) -> StoreResult<String> {
    let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
    let admin = Store::connect(
        server_url,
        &StoreOptions {
            max_connections: 1,
            ..StoreOptions::default()
        },
    )
    .await?;
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(admin.pool())
        .await?;
    admin.close().await;
    let separator = if server_url.contains('?') { '&' } else { '?' };
    Ok(format!(
        "{server_url}{separator}options=-c%20search_path%3D{schema}"
    ))
}

use std::collections::BTreeMap;

use sqlx::Row;

use crate::{Engine, StoreError, WriteTx};

/// Table name → columns as (name, normalised type, nullable), sorted by column name.
pub type LogicalSchema = BTreeMap<String, Vec<(String, String, bool)>>;

fn normalise_type(declared: &str) -> String {
    match declared.to_ascii_lowercase().as_str() {
        "integer" | "bigint" | "int8" => "bigint".into(),
        "blob" | "bytea" => "bytes".into(),
        "text" => "text".into(),
        other => other.into(),
    }
}

impl crate::Store {
    /// Applies this binary's migrations up to `version` only: the database as an older
    /// Rampart left it, for upgrade tests (then [`crate::Store::migrate`] upgrades it).
    pub async fn migrate_up_to_for_tests(&self, version: i64) -> crate::StoreResult<()> {
        crate::migrate::run_up_to(self, 0, version).await
    }

    /// Runs raw SQL outside any use case, as an attacker with database access would.
    /// Tests only (tampering, fault injection).
    pub async fn execute_raw_for_tests(&self, sql: &str) -> Result<u64, StoreError> {
        let _writer = self.writer_guard().await;
        Ok(sqlx::raw_sql(sql)
            .execute(self.pool())
            .await?
            .rows_affected())
    }

    /// How many deadlocks PostgreSQL has broken in this database since its statistics
    /// were reset (`pg_stat_database`; `None` on SQLite). The counter is shared by every
    /// schema of the database and updated within about a second.
    pub async fn postgres_deadlocks_for_tests(&self) -> crate::StoreResult<Option<i64>> {
        if self.engine() != crate::Engine::Postgres {
            return Ok(None);
        }
        let mut connection = self.pool().acquire().await?;
        sqlx::query("SELECT pg_stat_clear_snapshot()")
            .execute(&mut *connection)
            .await?;
        let deadlocks: i64 = sqlx::query(
            "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()",
        )
        .fetch_one(&mut *connection)
        .await?
        .try_get(0)?;
        Ok(Some(deadlocks))
    }

    /// Reads the schema as the engine reports it, normalised so that SQLite and
    /// PostgreSQL can be compared.
    pub async fn logical_schema(&self) -> crate::StoreResult<LogicalSchema> {
        let mut schema = LogicalSchema::new();
        let table_sql = match self.engine() {
            Engine::Sqlite => {
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            }
            Engine::Postgres => {
                "SELECT table_name::text AS name FROM information_schema.tables \
                 WHERE table_schema = current_schema()"
            }
        };
        let tables = sqlx::query(table_sql).fetch_all(self.pool()).await?;
        for table in tables {
            let name: String = table.try_get("name")?;
            let column_sql = match self.engine() {
                Engine::Sqlite => {
                    "SELECT name, type AS data_type, \
                     CASE WHEN \"notnull\" = 1 OR pk > 0 THEN 'NO' ELSE 'YES' END AS is_nullable \
                     FROM pragma_table_info($1)"
                }
                Engine::Postgres => {
                    "SELECT column_name::text AS name, data_type::text AS data_type, \
                     is_nullable::text AS is_nullable \
                     FROM information_schema.columns \
                     WHERE table_schema = current_schema() AND table_name = $1"
                }
            };
            let rows = sqlx::query(column_sql)
                .bind(&name)
                .fetch_all(self.pool())
                .await?;
            let mut columns = rows
                .iter()
                .map(|row| {
                    Ok((
                        row.try_get::<String, _>("name")?,
                        normalise_type(&row.try_get::<String, _>("data_type")?),
                        row.try_get::<String, _>("is_nullable")? == "YES",
                    ))
                })
                .collect::<Result<Vec<_>, sqlx::Error>>()?;
            columns.sort();
            schema.insert(name, columns);
        }
        Ok(schema)
    }
}

impl WriteTx {
    /// Runs raw SQL inside the transaction. Tests only (tampering, fault injection).
    pub async fn execute_for_tests(&mut self, sql: &str) -> Result<u64, StoreError> {
        Ok(sqlx::query(sql).execute(self.conn()).await?.rows_affected())
    }
}

impl crate::Store {
    /// SQLite's `journal_mode` and `synchronous` as a pooled connection sees them.
    pub async fn sqlite_durability_for_tests(&self) -> crate::StoreResult<(String, i64)> {
        let mut connection = self.pool().acquire().await?;
        let journal: String = sqlx::query("PRAGMA journal_mode")
            .fetch_one(&mut *connection)
            .await?
            .try_get(0)?;
        let synchronous: i64 = sqlx::query("PRAGMA synchronous")
            .fetch_one(&mut *connection)
            .await?
            .try_get(0)?;
        Ok((journal, synchronous))
    }
}
