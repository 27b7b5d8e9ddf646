//! What a processor may do with the job it holds besides finishing it: move it to the
//! delayed set, back to wait, or to waiting-children. The worker stops renewing the lock
//! of a moved job and lets go of it once the processor reports.

use super::{Phase, Worker};
use crate::error::Result;

impl Worker {
    /// Moves a job this worker processes to the delayed set until `timestamp` (ms),
    /// without counting the attempt (BullMQ's `job.moveToDelayed`); the worker lets go
    /// of it once its processor returns.
    pub async fn move_to_delayed(&self, id: &str, token: &str, timestamp: i64) -> Result<()> {
        self.moving(
            id,
            token,
            self.queue.move_to_delayed(id, token, timestamp, false),
        )
        .await
    }

    /// Puts a job this worker processes back at the front of wait (BullMQ's
    /// `job.moveToWait`); returns the rate limiter's remaining time in ms.
    pub async fn move_to_wait(&self, id: &str, token: &str) -> Result<i64> {
        self.moving(id, token, self.queue.move_to_wait(id, token))
            .await
    }

    /// Runs a move of a held job out of active: no lock renewal meanwhile, and the job
    /// stays held (its slot taken) until its processor reports.
    async fn moving<T>(
        &self,
        id: &str,
        token: &str,
        op: impl std::future::Future<Output = Result<T>>,
    ) -> Result<T> {
        let held = self.set_phase(id, token, Phase::Processing, Phase::Moved);
        let result = op.await;
        if held && result.is_err() {
            self.set_phase(id, token, Phase::Moved, Phase::Processing);
        }
        result
    }

    /// Parks a job this worker processes in waiting-children while it has pending
    /// children, or until the child at `child_key` is done (BullMQ's
    /// `job.moveToWaitingChildren`); the worker lets go of it once its processor throws
    /// `WaitingChildrenError`. False, and the job stays with its processor, when there is
    /// nothing to wait for.
    pub async fn move_to_waiting_children(
        &self,
        id: &str,
        token: &str,
        child_key: Option<&str>,
    ) -> Result<bool> {
        let held = self.set_phase(id, token, Phase::Processing, Phase::Moved);
        let result = self
            .queue
            .move_to_waiting_children(id, token, child_key)
            .await;
        if held && !matches!(result, Ok(true)) {
            self.set_phase(id, token, Phase::Moved, Phase::Processing);
        }
        result
    }

    /// Changes the phase of a held job from `from` to `to`; false when not held so.
    fn set_phase(&self, id: &str, token: &str, from: Phase, to: Phase) -> bool {
        let mut active = self.shared.active.lock().unwrap_or_else(|e| e.into_inner());
        match active.get_mut(id, token) {
            Some(job) if job.phase == from => {
                job.phase = to;
                true
            }
            _ => false,
        }
    }
}
