//! The only crate with SQL.
//!
//! [`Store`] is the facade the use cases call: methods named after what they do
//! (`org_by_identifier`, `insert_token`, …), never SQL. It runs the same statements on
//! SQLite (the embedded default) and PostgreSQL (for several replicas), through sqlx's
//! `Any` driver; the few places where the dialects differ are chosen by [`Engine`].
//!
//! Writes happen in a [`WriteTx`]. A write transaction can only be committed together
//! with the audit event describing it ([`WriteTx::commit`] takes the event), so a
//! mutating use case cannot forget its audit record, and if the record cannot be written
//! nothing is.
//!
//! Portable column types: ids and text are `TEXT`, timestamps are `BIGINT` microseconds
//! since the epoch, flags are `BIGINT` 0/1, bytes are `BLOB`/`BYTEA`.
//!
//! One module per resource, in slice folders: [`platform`], [`sre`], [`iacm`]. Each holds
//! its rows, its `impl Store` (reads) and `impl WriteTx` (writes), and declares its sealed
//! columns as [`sealed::SealedColumn`] constants, which [`sealed`] lists and replaces for
//! the rewrap job without naming any feature.

mod error;
pub mod iacm;
mod instance_lock;
mod migrate;
pub mod platform;
mod rows;
pub mod sealed;
pub mod sre;
#[doc(hidden)]
pub mod testing;

use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{Any, AnyPool, Executor, Transaction};
use tokio::sync::{Mutex, OwnedMutexGuard};

pub use error::StoreError;
pub use instance_lock::{InstanceLock, InstanceLockMode};
pub use migrate::{MIGRATIONS_POSTGRES, MIGRATIONS_SQLITE, Migration};
pub use platform::Page;
pub use platform::PageRequest;
pub use platform::audit::{AuditEvent, AuditFilter, AuditRecord, StoredCheckpoint};

pub type StoreResult<T> = Result<T, StoreError>;

/// Which database engine a store runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    /// Placeholders for `count` values bound in order from the `first` (1-based),
    /// comma-separated: `$first, $first+1, …` on PostgreSQL, `?, ?, …` on SQLite. sqlx
    /// binds a named SQLite parameter (`$n`) after asking SQLite its name, which SQLite
    /// finds by walking the statement's list of names — binding costs the square of the
    /// parameter count (a 200-row insert of 14 values each spent more time there than
    /// in the insert); an anonymous `?` is bound by position. A statement built with
    /// these binds every value once, in the order of its placeholders, and has no other
    /// placeholders (SQLite numbers a `?` after the highest parameter before it).
    pub(crate) fn placeholders(self, first: usize, count: usize) -> String {
        let each: Vec<String> = (first..first + count)
            .map(|n| match self {
                Engine::Postgres => format!("${n}"),
                Engine::Sqlite => "?".to_owned(),
            })
            .collect();
        each.join(", ")
    }
}

/// Connection settings.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(3),
        }
    }
}

struct Inner {
    pool: AnyPool,
    engine: Engine,
    /// SQLite allows one writer at a time and answers a second one with `SQLITE_BUSY`
    /// when a read transaction tries to upgrade; serialising writers in the process
    /// avoids that entirely. PostgreSQL needs no such lock.
    sqlite_writer: Option<Arc<Mutex<()>>>,
}

/// The store facade. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("engine", &self.inner.engine)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Connects to `url` (`sqlite://…` or `postgres://…`). Does not migrate.
    pub async fn connect(url: &str, options: &StoreOptions) -> StoreResult<Self> {
        install_default_drivers();
        let engine = if url.starts_with("sqlite:") {
            Engine::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Engine::Postgres
        } else {
            return Err(StoreError::Config(
                "the database URL must start with sqlite:// or postgres://".into(),
            ));
        };
        let mut pool_options = AnyPoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(options.acquire_timeout);
        if engine == Engine::Sqlite {
            // A SQLite connection is a file handle in this process: a ping before each
            // acquire (a round trip to the connection's worker thread) checks nothing the
            // statement itself would not. sqlx still tests a connection as it returns.
            pool_options = pool_options.test_before_acquire(false);
            pool_options = pool_options.after_connect(|connection, _meta| {
                Box::pin(async move {
                    // WAL for concurrent readers; synchronous=FULL so that an acknowledged
                    // commit survives a power cut; foreign keys are off by default in SQLite.
                    connection
                        .execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
                        )
                        .await?;
                    Ok(())
                })
            });
        }
        if engine == Engine::Postgres {
            pool_options = pool_options.after_connect(|connection, _meta| {
                Box::pin(async move {
                    // The statements here are short, indexed ones. PostgreSQL compiles a
                    // plan with LLVM once its estimated cost passes `jit_above_cost`, and
                    // an estimate on a table not yet analysed is a guess that can pass it:
                    // measured, 37 ms of compiling for a 1 ms probe of 200 SLOs' minutes.
                    // (`jit` exists from PostgreSQL 11 on.)
                    connection.execute("SET jit = off").await?;
                    Ok(())
                })
            });
        }
        let pool = pool_options
            .connect(url)
            .await
            .map_err(StoreError::from_connect)?;
        Ok(Self {
            inner: Arc::new(Inner {
                pool,
                engine,
                sqlite_writer: (engine == Engine::Sqlite).then(|| Arc::new(Mutex::new(()))),
            }),
        })
    }

    pub fn engine(&self) -> Engine {
        self.inner.engine
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.inner.pool
    }

    /// Answers whether the database is reachable (for `/readyz`).
    pub async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(self.pool())
            .await
            .map(|_| ())
            .map_err(StoreError::from)
    }

    /// Applies every pending migration of this engine, forward only. `now_micros` is the
    /// caller's clock reading, recorded as the time of application.
    pub async fn migrate(&self, now_micros: i64) -> StoreResult<()> {
        migrate::run(self, now_micros).await?;
        let backfilled = platform::audit::backfill_leaves(self).await?;
        if backfilled > 0 {
            tracing::info!(
                events = backfilled,
                "audit events placed in the Merkle tree"
            );
        }
        Ok(())
    }

    /// On SQLite, waits for the in-process writer lock; every write takes it, including
    /// bookkeeping updates outside a `WriteTx`.
    pub(crate) async fn writer_guard(&self) -> Option<OwnedMutexGuard<()>> {
        match &self.inner.sqlite_writer {
            Some(lock) => Some(lock.clone().lock_owned().await),
            None => None,
        }
    }

    /// Begins a write transaction.
    pub async fn write(&self) -> StoreResult<WriteTx> {
        let guard = self.writer_guard().await;
        let tx = self.pool().begin().await?;
        Ok(WriteTx {
            tx,
            engine: self.inner.engine,
            _sqlite_writer: guard,
        })
    }

    /// Closes every connection (at shutdown).
    pub async fn close(&self) {
        self.inner.pool.close().await;
    }
}

/// A write transaction. Dropped without [`WriteTx::commit`], it rolls back.
pub struct WriteTx {
    tx: Transaction<'static, Any>,
    engine: Engine,
    _sqlite_writer: Option<OwnedMutexGuard<()>>,
}

impl WriteTx {
    pub(crate) fn conn(&mut self) -> &mut sqlx::AnyConnection {
        &mut self.tx
    }

    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// Writes the audit event describing this transaction's change, then commits both.
    /// If the event cannot be written, nothing is committed.
    pub async fn commit(self, event: AuditRecord) -> StoreResult<()> {
        self.commit_all(std::slice::from_ref(&event)).await
    }

    /// Commits several audit events with the change (a use case that touches many
    /// things at once).
    pub async fn commit_all(mut self, events: &[AuditRecord]) -> StoreResult<()> {
        if events.is_empty() {
            return Err(StoreError::Internal(
                "a write transaction must carry at least one audit event".into(),
            ));
        }
        let engine = self.engine;
        platform::audit::append(self.conn(), engine, events).await?;
        self.tx.commit().await?;
        Ok(())
    }

    pub async fn rollback(self) -> StoreResult<()> {
        self.tx.rollback().await?;
        Ok(())
    }
}
