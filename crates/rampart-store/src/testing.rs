//! Test support: fresh stores on every engine available. SQLite always; PostgreSQL when
//! `RAMPART_TEST_DATABASE_URL` is set, each store in its own new schema so that test runs
//! never see each other's data. Used by this crate's store suite and by the testkit.
//!
//! A test's schema is a [`TestSchema`]: created with the database's clock in its name
//! (`t_<unix seconds>_<uuid>`), dropped when the test ends (its server stopped or its
//! store dropped), and listed in `target/test-logs/schemas-<pid>.txt`, which
//! `scripts/check-test-logs.sh` reads to prove none is left behind. The first schema a
//! test process creates sweeps schemas older than [`STALE_SCHEMA_SECS`] that a killed
//! run left: tests run concurrently, and other checkouts may share the database right
//! now, so only a name that says it is old is ever swept.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::{Store, StoreOptions, StoreResult};

/// The environment variable naming the PostgreSQL server for tests.
pub const TEST_DATABASE_URL_VAR: &str = "RAMPART_TEST_DATABASE_URL";

/// A test schema older than this (by its name) belongs to no live run: no test lasts an
/// hour, so it was left by a run that was killed.
pub const STALE_SCHEMA_SECS: i64 = 3600;

/// How long dropping a schema waits for locks before it gives up (and leaves the schema
/// to a later sweep).
const DROP_LOCK_TIMEOUT: &str = "10s";

/// A fresh schema on a PostgreSQL server for one test, dropped with it.
#[derive(Debug)]
pub struct TestSchema {
    server_url: String,
    name: String,
    url: String,
    dropped: bool,
}

/// The creation time in a test schema's name (`t_<unix seconds>_<32 hex>`); `None` for
/// any other name, which is never swept.
pub fn test_schema_created_at(name: &str) -> Option<i64> {
    let (seconds, id) = name.strip_prefix("t_")?.split_once('_')?;
    let well_formed = !seconds.is_empty()
        && seconds.bytes().all(|b| b.is_ascii_digit())
        && id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase());
    well_formed.then(|| seconds.parse().ok()).flatten()
}

async fn connect_admin(server_url: &str) -> StoreResult<Store> {
    Store::connect(
        server_url,
        &StoreOptions {
            max_connections: 1,
            ..StoreOptions::default()
        },
    )
    .await
}

/// The database's clock (unix seconds), shared by every run that uses it.
async fn database_now(admin: &Store) -> StoreResult<i64> {
    let (now,): (i64,) = sqlx::query_as("SELECT CAST(EXTRACT(EPOCH FROM now()) AS BIGINT)")
        .fetch_one(admin.pool())
        .await?;
    Ok(now)
}

/// Ends the connections that use `name` (they carry it as `application_name`) and drops
/// it with everything in it.
async fn drop_schema(admin: &Store, name: &str) -> StoreResult<()> {
    sqlx::raw_sql(&format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
           WHERE application_name = '{name}' AND pid <> pg_backend_pid(); \
         SET lock_timeout = '{DROP_LOCK_TIMEOUT}'; \
         DROP SCHEMA IF EXISTS {name} CASCADE; \
         RESET lock_timeout"
    ))
    .execute(admin.pool())
    .await?;
    Ok(())
}

/// Drops test schemas whose names say they are older than [`STALE_SCHEMA_SECS`].
async fn sweep_stale_schemas(admin: &Store, now: i64) -> StoreResult<usize> {
    let names: Vec<(String,)> =
        sqlx::query_as("SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 't\\_%'")
            .fetch_all(admin.pool())
            .await?;
    let mut swept = 0;
    for (name,) in names {
        let stale =
            test_schema_created_at(&name).is_some_and(|created| now - created > STALE_SCHEMA_SECS);
        // Another process may sweep the same schema at the same moment: a failure here
        // only means it is gone or busy.
        if stale && drop_schema(admin, &name).await.is_ok() {
            swept += 1;
        }
    }
    Ok(swept)
}

/// Appends `name` to this process's list of created schemas.
fn record_schema(name: &str) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/test-logs");
    let path = dir.join(format!("schemas-{}.txt", std::process::id()));
    let written = std::fs::create_dir_all(&dir).and_then(|()| {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)?;
        writeln!(file, "{name}")
    });
    if let Err(error) = written {
        tracing::warn!(%error, "could not record a test schema");
    }
}

impl TestSchema {
    /// Creates a fresh schema on the PostgreSQL server at `server_url` (sweeping stale
    /// ones first, once per process).
    pub async fn create(server_url: &str) -> StoreResult<Self> {
        static SWEPT: AtomicBool = AtomicBool::new(false);
        let admin = connect_admin(server_url).await?;
        let now = database_now(&admin).await?;
        if !SWEPT.swap(true, Ordering::SeqCst) {
            sweep_stale_schemas(&admin, now).await?;
        }
        let name = format!("t_{now}_{}", uuid::Uuid::new_v4().simple());
        sqlx::query(&format!("CREATE SCHEMA {name}"))
            .execute(admin.pool())
            .await?;
        admin.close().await;
        record_schema(&name);
        let separator = if server_url.contains('?') { '&' } else { '?' };
        // The schema's name as the connections' application name, so that dropping it
        // can end them first.
        let url = format!(
            "{server_url}{separator}options=-c%20search_path%3D{name}&application_name={name}"
        );
        Ok(Self {
            server_url: server_url.to_owned(),
            name,
            url,
            dropped: false,
        })
    }

    /// Drops the test schemas on the server at `server_url` whose names say they are
    /// older than [`STALE_SCHEMA_SECS`]; returns how many. [`TestSchema::create`] does
    /// this once per process.
    pub async fn sweep_stale(server_url: &str) -> StoreResult<usize> {
        let admin = connect_admin(server_url).await?;
        let now = database_now(&admin).await?;
        let swept = sweep_stale_schemas(&admin, now).await;
        admin.close().await;
        swept
    }

    /// The URL of a connection that works in this schema.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The PostgreSQL server's URL the schema was made on (without the schema's options).
    pub fn server_url(&self) -> &str {
        &self.server_url
    }

    /// Drops the schema now (ending the connections that still use it).
    pub async fn drop_now(mut self) -> StoreResult<()> {
        self.dropped = true;
        let admin = connect_admin(&self.server_url).await?;
        let dropped = drop_schema(&admin, &self.name).await;
        admin.close().await;
        dropped
    }
}

impl Drop for TestSchema {
    /// Drops the schema from a thread of its own (a destructor cannot wait on the async
    /// runtime it may be running on). A failure leaves the schema to a later sweep.
    fn drop(&mut self) {
        if self.dropped {
            return;
        }
        let server_url = self.server_url.clone();
        let name = self.name.clone();
        let outcome = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|error| error.to_string())?;
            runtime.block_on(async {
                let admin = connect_admin(&server_url)
                    .await
                    .map_err(|error| error.to_string())?;
                let dropped = drop_schema(&admin, &name).await;
                admin.close().await;
                dropped.map_err(|error| error.to_string())
            })
        })
        .join();
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                eprintln!("test schema {} left for a later sweep: {error}", self.name)
            }
            Err(_) => eprintln!("test schema {} left for a later sweep", self.name),
        }
    }
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
        "real" | "double precision" | "float8" => "double".into(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_names_of_the_test_schema_form_carry_a_creation_time() {
        assert_eq!(
            test_schema_created_at("t_1790000000_0123456789abcdef0123456789abcdef"),
            Some(1_790_000_000)
        );
        for other in [
            "t_0123456789abcdef0123456789abcdef",
            "t_1790000000_0123456789ABCDEF0123456789ABCDEF",
            "t_1790000000_0123",
            "t__0123456789abcdef0123456789abcdef",
            "public",
            "t_17900x0000_0123456789abcdef0123456789abcdef",
        ] {
            assert_eq!(test_schema_created_at(other), None, "{other}");
        }
    }
}
