//! Group commit for audit events that accompany no change of their own — every
//! authentication attempt, success or failure. Each caller waits until its event is
//! durably committed (so a request never proceeds unaudited), but events arriving
//! together share one transaction and one fsync: while one batch commits, the next
//! gathers. Without this, auditing every successful authentication would double the
//! writes of every request.

use std::ops::ControlFlow;

use rampart_store::{AuditRecord, Store};

use crate::group_commit::{Batch, GroupCommit};
use crate::{AppError, AppResult};

/// Events waiting to be written; senders wait when it is full (back-pressure).
const QUEUE_CAPACITY: usize = 16_384;
/// Events per transaction at most.
const BATCH_MAX: usize = 1_024;

#[derive(Clone, Debug)]
pub(crate) struct AuditQueue {
    queue: GroupCommit<AuditRecord, Result<(), String>>,
}

impl AuditQueue {
    /// Starts the writer task on the current runtime.
    pub(crate) fn start(store: Store) -> Self {
        let queue = GroupCommit::start(
            "audit",
            QUEUE_CAPACITY,
            BATCH_MAX,
            1,
            move |batch: Batch<AuditRecord, Result<(), String>>| {
                let store = store.clone();
                async move {
                    let (records, acks): (Vec<AuditRecord>, Vec<_>) = batch.into_iter().unzip();
                    let result = store
                        .append_audit_batch(&records)
                        .await
                        .map_err(|error| error.to_string());
                    for ack in acks {
                        let _ = ack.send(result.clone());
                    }
                    ControlFlow::Continue(())
                }
            },
        );
        Self { queue }
    }

    /// Appends `record` and waits until it is committed.
    pub(crate) async fn append(&self, record: AuditRecord) -> AppResult<()> {
        self.queue
            .submit(record)
            .await?
            .map_err(|error| AppError::Unavailable(format!("audit write failed: {error}")))
    }
}
