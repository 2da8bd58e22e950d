//! The installation lock in the database: a running server holds it shared, an offline
//! command that changes key material holds it exclusively, so neither runs beside the
//! other. On PostgreSQL it is a session advisory lock held by a dedicated connection;
//! on SQLite the caller's lock file in the data directory (next to the database) does
//! the job and this lock is always granted.

use sqlx::{AnyConnection, Connection, Row};

use crate::{Engine, Store, StoreResult};

/// PostgreSQL advisory lock space of the installation lock ("IN"); the key within it is
/// derived from the current schema, so installations in separate schemas of one database
/// do not block each other.
const POSTGRES_INSTANCE_LOCK_SPACE: i32 = 0x494e;

/// How the installation lock is wanted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InstanceLockMode {
    /// A server: any number of replicas hold it together.
    Shared,
    /// An offline command: only when no server (and no other such command) holds it.
    Exclusive,
}

/// A held installation lock. It lasts as long as its connection: [`InstanceLock::release`]
/// closes it, and dropping it (or the process ending) releases it too.
#[derive(Debug)]
pub struct InstanceLock {
    connection: Option<AnyConnection>,
}

impl InstanceLock {
    /// Releases the lock.
    pub async fn release(mut self) {
        if let Some(connection) = self.connection.take() {
            let _ = connection.close().await;
        }
    }
}

impl Store {
    /// Takes the installation lock in `mode` without waiting: `None` when it is held in
    /// a conflicting mode (a server runs, or an offline command does).
    pub async fn try_lock_instance(
        &self,
        mode: InstanceLockMode,
    ) -> StoreResult<Option<InstanceLock>> {
        if self.engine() == Engine::Sqlite {
            return Ok(Some(InstanceLock { connection: None }));
        }
        // A connection of its own, out of the pool: the lock belongs to its session.
        let mut connection = self.pool().acquire().await?.detach();
        let sql = match mode {
            InstanceLockMode::Shared => {
                "SELECT pg_try_advisory_lock_shared($1, hashtext(coalesce(current_schema(), ''))) AS taken"
            }
            InstanceLockMode::Exclusive => {
                "SELECT pg_try_advisory_lock($1, hashtext(coalesce(current_schema(), ''))) AS taken"
            }
        };
        let row = sqlx::query(sql)
            .bind(POSTGRES_INSTANCE_LOCK_SPACE)
            .fetch_one(&mut connection)
            .await?;
        let taken: bool = row.try_get("taken")?;
        if taken {
            Ok(Some(InstanceLock {
                connection: Some(connection),
            }))
        } else {
            let _ = connection.close().await;
            Ok(None)
        }
    }
}
