//! Group commit, once for every queue that needs it: callers submit items and wait for
//! their reply, while one writer task gathers whatever arrived together (up to a batch
//! maximum) and hands the batch to a handler that commits it in one transaction and
//! replies to each caller. While one batch commits, the next gathers (with several
//! writer tasks, several batches commit at once). The queue is
//! bounded, so callers wait when it is full (back-pressure); if the writer has stopped,
//! callers get [`AppError::Unavailable`] naming it.
//!
//! Used by the audit queue (`audit_queue`) and the webhook ingest queue
//! (`sre::ingest_queue`), which keep their own capacities, batch sizes and handlers.

use std::future::Future;
use std::ops::ControlFlow;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use crate::{AppError, AppResult};

/// Where the handler sends one caller's reply (a caller that went away is ignored).
pub(crate) type Ack<Reply> = oneshot::Sender<Reply>;

/// The items gathered for one commit, each with its caller's [`Ack`], in arrival order.
pub(crate) type Batch<Item, Reply> = Vec<(Item, Ack<Reply>)>;

/// A bounded queue with one writer task that commits what it gathers in batches.
pub(crate) struct GroupCommit<Item, Reply> {
    sender: mpsc::Sender<(Item, Ack<Reply>)>,
    /// Names the writer in the "has stopped" error: "the {writer} writer has stopped".
    writer: &'static str,
}

impl<Item, Reply> Clone for GroupCommit<Item, Reply> {
    fn clone(&self) -> Self {
        Self {
            sender: self.sender.clone(),
            writer: self.writer,
        }
    }
}

impl<Item, Reply> std::fmt::Debug for GroupCommit<Item, Reply> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCommit")
            .field("writer", &self.writer)
            .finish_non_exhaustive()
    }
}

impl<Item, Reply> GroupCommit<Item, Reply>
where
    Item: Send + 'static,
    Reply: Send + 'static,
{
    /// Starts `writers` writer tasks on the current runtime (one for SQLite, whose
    /// writes are serialised anyway; several where the database takes concurrent
    /// transactions). `capacity` items may wait; `batch_max` at most go to one call of
    /// `handle`, which must reply through every [`Ack`] it is given. The tasks end when
    /// every sender is gone, or when `handle` answers [`ControlFlow::Break`] (its
    /// batch's callers, those still queued and later ones are then told the writer has
    /// stopped).
    pub(crate) fn start<Handle, Fut>(
        writer: &'static str,
        capacity: usize,
        batch_max: usize,
        writers: usize,
        handle: Handle,
    ) -> Self
    where
        Handle: Fn(Batch<Item, Reply>) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = ControlFlow<()>> + Send,
    {
        let (sender, receiver) = mpsc::channel::<(Item, Ack<Reply>)>(capacity);
        // Writers take turns gathering: one gathers while the others commit.
        let receiver = Arc::new(tokio::sync::Mutex::new(receiver));
        for _ in 0..writers.max(1) {
            let receiver = receiver.clone();
            let handle = handle.clone();
            tokio::spawn(async move {
                loop {
                    let batch = {
                        let mut receiver = receiver.lock().await;
                        let Some(first) = receiver.recv().await else {
                            break;
                        };
                        let mut batch = vec![first];
                        while batch.len() < batch_max {
                            match receiver.try_recv() {
                                Ok(next) => batch.push(next),
                                Err(_) => break,
                            }
                        }
                        batch
                    };
                    if handle(batch).await.is_break() {
                        let mut receiver = receiver.lock().await;
                        receiver.close();
                        // Dropping their acks tells queued callers the writer stopped.
                        while receiver.try_recv().is_ok() {}
                        break;
                    }
                }
            });
        }
        Self { sender, writer }
    }

    /// Queues `item` (waiting while the queue is full) and waits for its reply.
    pub(crate) async fn submit(&self, item: Item) -> AppResult<Reply> {
        let stopped = || AppError::Unavailable(format!("the {} writer has stopped", self.writer));
        let (ack, reply) = oneshot::channel();
        self.sender.send((item, ack)).await.map_err(|_| stopped())?;
        reply.await.map_err(|_| stopped())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn every_item_gets_its_own_reply_in_batches_of_at_most_batch_max() {
        let largest = Arc::new(AtomicUsize::new(0));
        let seen = largest.clone();
        let queue = GroupCommit::start("test", 64, 4, 1, move |batch: Batch<u32, u32>| {
            seen.fetch_max(batch.len(), Ordering::SeqCst);
            async move {
                for (item, ack) in batch {
                    let _ = ack.send(item * 2);
                }
                ControlFlow::Continue(())
            }
        });
        let callers: Vec<_> = (0..40)
            .map(|n| {
                let queue = queue.clone();
                tokio::spawn(async move { (n, queue.submit(n).await) })
            })
            .collect();
        for caller in callers {
            let (n, reply) = caller.await.unwrap();
            assert_eq!(reply.ok(), Some(n * 2));
        }
        let largest = largest.load(Ordering::SeqCst);
        assert!((1..=4).contains(&largest), "largest batch {largest}");
    }

    #[tokio::test]
    async fn a_stopped_writer_is_named_in_the_error() {
        let queue = GroupCommit::start("test", 4, 4, 2, |_batch: Batch<u32, u32>| async {
            ControlFlow::Break(())
        });
        for item in [1, 2] {
            match queue.submit(item).await {
                Err(AppError::Unavailable(message)) => {
                    assert_eq!(message, "the test writer has stopped");
                }
                other => panic!("expected the writer to have stopped, got {other:?}"),
            }
        }
    }
}
