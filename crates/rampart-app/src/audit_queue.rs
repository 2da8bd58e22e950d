//! Group commit for audit events that accompany no change of their own — every
//! authentication attempt, success or failure. Each caller waits until its event is
//! durably committed (so a request never proceeds unaudited), but events arriving
//! together share one transaction and one fsync: while one batch commits, the next
//! gathers. Without this, auditing every successful authentication would double the
//! writes of every request.

use rampart_store::{AuditRecord, Store};
use tokio::sync::{mpsc, oneshot};

use crate::{AppError, AppResult};

/// Events waiting to be written; senders wait when it is full (back-pressure).
const QUEUE_CAPACITY: usize = 16_384;
/// Events per transaction at most.
const BATCH_MAX: usize = 1_024;

type Ack = oneshot::Sender<Result<(), String>>;

#[derive(Clone, Debug)]
pub(crate) struct AuditQueue {
    sender: mpsc::Sender<(AuditRecord, Ack)>,
}

impl AuditQueue {
    /// Starts the writer task on the current runtime.
    pub(crate) fn start(store: Store) -> Self {
        let (sender, mut receiver) = mpsc::channel::<(AuditRecord, Ack)>(QUEUE_CAPACITY);
        tokio::spawn(async move {
            while let Some(first) = receiver.recv().await {
                let mut batch = vec![first];
                while batch.len() < BATCH_MAX {
                    match receiver.try_recv() {
                        Ok(next) => batch.push(next),
                        Err(_) => break,
                    }
                }
                let (records, acks): (Vec<AuditRecord>, Vec<Ack>) = batch.into_iter().unzip();
                let result = store
                    .append_audit_batch(&records)
                    .await
                    .map_err(|error| error.to_string());
                for ack in acks {
                    let _ = ack.send(result.clone());
                }
            }
        });
        Self { sender }
    }

    /// Appends `record` and waits until it is committed.
    pub(crate) async fn append(&self, record: AuditRecord) -> AppResult<()> {
        let (ack, done) = oneshot::channel();
        self.sender
            .send((record, ack))
            .await
            .map_err(|_| AppError::Unavailable("the audit writer has stopped".into()))?;
        done.await
            .map_err(|_| AppError::Unavailable("the audit writer has stopped".into()))?
            .map_err(|error| AppError::Unavailable(format!("audit write failed: {error}")))
    }
}
