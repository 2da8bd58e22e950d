//! Group commit for webhook deliveries: deliveries arriving together are applied in one
//! transaction with one fsync (each still gets its own outcome and audit event, and its
//! request waits until the transaction is durable). While a batch commits, the next one
//! waits in its writer's queue and is taken whole. A delivery goes to the writer its
//! first alert group hashes to. A transaction first locks every alert group its deliveries touch, in one
//! global order, so batches on several replicas never deadlock on each other. If a batch
//! fails, its deliveries are retried one transaction each, so one bad delivery never
//! fails the others; a transaction that loses a conflict with a concurrent one (a
//! deadlock the database broke) is run again, a few times.

use std::hash::{Hash, Hasher};
use std::ops::ControlFlow;
use std::sync::Weak;

use super::alerts::{AlertOutcome, Delivery, IngestLedger};
use crate::group_commit::{Batch, GroupCommit};
use crate::{App, AppError, AppResult, Inner};

/// Deliveries waiting (all writers' queues together); senders wait when a queue is
/// full (back-pressure).
const QUEUE_CAPACITY: usize = 4_096;
/// Deliveries per transaction at most.
const BATCH_MAX: usize = 64;
/// Batches committing at once on PostgreSQL (SQLite serialises writers: one there).
/// Their group locks are taken in one order, so they wait on each other only where
/// they touch the same alert groups (deliveries of several groups, or other replicas)
/// or number incidents in the same project.
const POSTGRES_WRITERS: usize = 4;
/// Times one delivery's transaction runs when the database keeps breaking deadlocks.
const CONTENTION_ATTEMPTS: usize = 3;

type Reply = AppResult<Vec<AlertOutcome>>;

pub(crate) struct IngestQueue {
    /// One queue per writer. A delivery goes to the writer its first alert group hashes
    /// to, so deliveries of one group are committed by one writer in turn: writers of
    /// one replica never wait on each other's group locks (a repeat sent right after
    /// its group opened used to wait for the other writer's whole transaction).
    shards: Vec<GroupCommit<Delivery, Reply>>,
}

impl IngestQueue {
    /// Starts the writer tasks; they hold the application weakly, so they end with it.
    pub(crate) fn start(app: Weak<Inner>, engine: rampart_store::Engine) -> Self {
        let writers = match engine {
            rampart_store::Engine::Sqlite => 1,
            rampart_store::Engine::Postgres => POSTGRES_WRITERS,
        };
        let shards = (0..writers)
            .map(|_| {
                let app = app.clone();
                GroupCommit::start(
                    "webhook",
                    QUEUE_CAPACITY / writers,
                    BATCH_MAX,
                    1,
                    move |batch: Batch<Delivery, Reply>| {
                        let app = app.upgrade();
                        async move {
                            let Some(inner) = app else {
                                return ControlFlow::Break(());
                            };
                            App { inner }.commit_batch(batch).await;
                            ControlFlow::Continue(())
                        }
                    },
                )
            })
            .collect();
        Self { shards }
    }

    /// Applies `delivery` and waits until it is committed.
    pub(crate) async fn submit(&self, delivery: Delivery) -> AppResult<Vec<AlertOutcome>> {
        let shard = delivery.groups().next().map_or(0, |group| {
            let mut hasher = std::hash::DefaultHasher::new();
            group.hash(&mut hasher);
            // Fits: the remainder is below the shard count, a usize.
            (hasher.finish() % self.shards.len().max(1) as u64) as usize
        });
        let queue = self
            .shards
            .get(shard)
            .ok_or_else(|| AppError::Internal("no webhook writer".into()))?;
        queue.submit(delivery).await?
    }
}

impl App {
    async fn commit_batch(&self, batch: Batch<Delivery, Reply>) {
        if batch.len() > 1 {
            let deliveries: Vec<&Delivery> = batch.iter().map(|(delivery, _)| delivery).collect();
            match self.try_batch(&deliveries).await {
                Ok(results) => {
                    for ((_, reply), outcomes) in batch.into_iter().zip(results) {
                        let _ = reply.send(Ok(outcomes));
                    }
                    return;
                }
                Err(error) => {
                    tracing::warn!(%error, deliveries = batch.len(), "a webhook batch failed; retrying one by one");
                }
            }
        }
        for (delivery, reply) in batch {
            let mut result = self.try_batch(&[&delivery]).await;
            for _ in 1..CONTENTION_ATTEMPTS {
                if !matches!(result, Err(AppError::Contention(_))) {
                    break;
                }
                result = self.try_batch(&[&delivery]).await;
            }
            let _ = reply.send(result.map(|mut all| all.pop().unwrap_or_default()));
        }
    }

    async fn try_batch(&self, deliveries: &[&Delivery]) -> AppResult<Vec<Vec<AlertOutcome>>> {
        let mut tx = self.store().write().await?;
        let groups: Vec<_> = deliveries
            .iter()
            .flat_map(|delivery| delivery.groups())
            .collect();
        tx.lock_alert_groups(&groups).await?;
        // One time for the batch: its deliveries commit together.
        let now = self.now();
        let mut ledger = IngestLedger::default();
        ledger.prefetch(&mut tx, deliveries).await?;
        let mut results = Vec::with_capacity(deliveries.len());
        let mut audits = Vec::with_capacity(deliveries.len());
        for delivery in deliveries {
            let (outcomes, audit) = self
                .apply_delivery(&mut tx, &mut ledger, delivery, now)
                .await?;
            results.push(outcomes);
            audits.push(audit);
        }
        ledger.flush(&mut tx, now).await?;
        ledger.number_incidents(&mut tx, &mut results).await?;
        tx.commit_all(&audits).await?;
        Ok(results)
    }
}
