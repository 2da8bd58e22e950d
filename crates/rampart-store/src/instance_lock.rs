//! The installation lock in the database: a running server holds it shared, an offline
//! command that changes key material holds it exclusively, so neither runs beside the
//! other. On PostgreSQL it is a session advisory lock held by a dedicated connection;
//! on SQLite the caller's lock file in the data directory (next to the database) does
//! the job and this lock is always granted.

use std::time::Duration;

use sqlx::{AnyConnection, Connection, Row};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::{Engine, Store, StoreResult};

/// PostgreSQL advisory lock space of the installation lock ("IN"); the key within it is
/// derived from the current schema, so installations in separate schemas of one database
/// do not block each other.
const POSTGRES_INSTANCE_LOCK_SPACE: i32 = 0x494e;

/// How often a server checks that the connection holding its shared lock is alive, and
/// takes the lock again on a new one when it is not (after a database restart or a
/// terminated backend).
const KEEP_ALIVE_EVERY: Duration = Duration::from_secs(5);

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
    held: Held,
}

#[derive(Debug)]
enum Held {
    /// SQLite: nothing held in the database.
    Nothing,
    /// The exclusive lock of a short offline command, on its connection.
    Connection(AnyConnection),
    /// A server's shared lock, on a connection kept (and replaced when lost) by a task.
    Kept {
        stop: oneshot::Sender<()>,
        keeper: JoinHandle<()>,
    },
}

impl InstanceLock {
    /// Releases the lock.
    pub async fn release(self) {
        match self.held {
            Held::Nothing => {}
            Held::Connection(connection) => {
                let _ = connection.close().await;
            }
            Held::Kept { stop, keeper } => {
                let _ = stop.send(());
                let _ = keeper.await;
            }
        }
    }
}

impl Store {
    /// Takes the installation lock in `mode` without waiting: `None` when it is held in
    /// a conflicting mode (a server runs, or an offline command does). A shared lock is
    /// kept for as long as the returned value lives: if its connection is lost, it is
    /// taken again on a new one.
    pub async fn try_lock_instance(
        &self,
        mode: InstanceLockMode,
    ) -> StoreResult<Option<InstanceLock>> {
        if self.engine() == Engine::Sqlite {
            return Ok(Some(InstanceLock {
                held: Held::Nothing,
            }));
        }
        let Some(connection) = self.lock_connection(mode).await? else {
            return Ok(None);
        };
        let held = match mode {
            InstanceLockMode::Exclusive => Held::Connection(connection),
            InstanceLockMode::Shared => {
                let (stop, stopped) = oneshot::channel();
                let keeper = tokio::spawn(keep_shared_lock(self.clone(), connection, stopped));
                Held::Kept { stop, keeper }
            }
        };
        Ok(Some(InstanceLock { held }))
    }

    /// A connection of its own, out of the pool, whose session holds the lock in `mode`;
    /// `None` when the lock is held in a conflicting mode.
    async fn lock_connection(&self, mode: InstanceLockMode) -> StoreResult<Option<AnyConnection>> {
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
            Ok(Some(connection))
        } else {
            let _ = connection.close().await;
            Ok(None)
        }
    }
}

/// Holds a server's shared lock until `stopped`: checks its connection now and then and,
/// when it was lost, takes the lock again on a new one (an offline key command that got
/// in meanwhile is reported: it should not have run beside a server).
async fn keep_shared_lock(
    store: Store,
    connection: AnyConnection,
    mut stopped: oneshot::Receiver<()>,
) {
    let mut held = Some(connection);
    loop {
        tokio::select! {
            _ = &mut stopped => break,
            () = tokio::time::sleep(KEEP_ALIVE_EVERY) => {}
        }
        if let Some(connection) = held.as_mut() {
            if connection.ping().await.is_ok() {
                continue;
            }
            tracing::warn!("the connection holding the installation lock was lost");
            held = None;
        }
        match store.lock_connection(InstanceLockMode::Shared).await {
            Ok(Some(connection)) => {
                tracing::info!("installation lock taken again");
                held = Some(connection);
            }
            Ok(None) => tracing::error!(
                "an offline `rampart admin keys` command holds the installation lock while \
                 this server runs: stop the server until it has finished"
            ),
            Err(error) => {
                tracing::warn!(%error, "taking the installation lock again failed; retrying");
            }
        }
    }
    if let Some(connection) = held {
        let _ = connection.close().await;
    }
}
