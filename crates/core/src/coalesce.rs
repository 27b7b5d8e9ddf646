//! Coalesces concurrent `add` calls into shared script calls, without a task hop:
//! the first caller leads and runs the batches; callers arriving meanwhile join the
//! next batch and wait for their answer.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

use crate::error::{Error, Result};
use crate::options::NewJob;
use crate::queue::QueueCore;

/// How many jobs one add script call stores at most.
pub(crate) const ADD_BATCH: usize = 1000;

struct AddRequest {
    job: NewJob,
    reply: oneshot::Sender<Result<String>>,
}

/// Pending adds of one queue and whether a caller is running them.
#[derive(Default)]
pub(crate) struct AddCoalescer {
    pending: Mutex<Vec<AddRequest>>,
    leading: AtomicBool,
}

impl AddCoalescer {
    /// Stores `job`, alone or with the adds made meanwhile; returns its id.
    pub async fn add(self: &Arc<Self>, core: &Arc<QueueCore>, job: NewJob) -> Result<String> {
        let (reply, answer) = oneshot::channel();
        self.queue().push(AddRequest { job, reply });
        self.lead(core).await;
        answer.await.map_err(|_| Error::Closed)?
    }

    /// Runs batches while nobody else does, until no add is left waiting.
    async fn lead(self: &Arc<Self>, core: &Arc<QueueCore>) {
        while !self.leading.swap(true, Ordering::AcqRel) {
            let mut guard = LeadGuard {
                coalescer: self.clone(),
                core: core.clone(),
                finished: false,
            };
            self.run_batches(core).await;
            guard.finished = true;
            drop(guard);
            if self.queue().is_empty() {
                return;
            }
        }
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, Vec<AddRequest>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn run_batches(&self, core: &QueueCore) {
        loop {
            let batch: Vec<AddRequest> = {
                let mut pending = self.queue();
                let n = pending.len().min(ADD_BATCH);
                pending.drain(..n).collect()
            };
            if batch.is_empty() {
                return;
            }
            let jobs: Vec<&NewJob> = batch.iter().map(|r| &r.job).collect();
            match core.add_jobs(&jobs).await {
                Ok(ids) => {
                    for (req, id) in batch.into_iter().zip(ids) {
                        let _ = req.reply.send(Ok(id));
                    }
                }
                Err(err) => {
                    for req in batch {
                        let _ = req.reply.send(Err(err.clone()));
                    }
                }
            }
        }
    }
}

/// Gives up the lead; a leader dropped mid-batch hands the waiting adds to a new one.
struct LeadGuard {
    coalescer: Arc<AddCoalescer>,
    core: Arc<QueueCore>,
    finished: bool,
}

impl Drop for LeadGuard {
    fn drop(&mut self) {
        self.coalescer.leading.store(false, Ordering::Release);
        if self.finished || self.coalescer.queue().is_empty() {
            return;
        }
        let coalescer = self.coalescer.clone();
        let core = self.core.clone();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move { coalescer.lead(&core).await });
        }
    }
}
