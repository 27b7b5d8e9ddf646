//! Manual processing: taking jobs without a processor and settling them by hand
//! (BullMQ's `worker.getNextJob`, `job.moveToCompleted`, `job.moveToFailed`).

use redis::Value;

use super::fetcher::{fetch, wait_for_marker};
use super::finisher::finish;
use super::outcome::{settle, AttemptInfo, KeepDefaults, SettleKind};
use super::{Outcome, RunState, Worker, WorkerOptions};
use crate::error::{Error, Result};
use crate::job::{value_int, Job};
use crate::queue::{Queue, QueueCore};

impl Worker {
    /// Takes the next job under `token` without holding it (its lock is not renewed:
    /// extend it with `Queue::extend_lock`); with `block`, waits up to `drainDelay` for
    /// one. Nothing while the worker is paused or closing.
    pub async fn get_next_job(&self, token: &str, block: bool) -> Result<Option<Job>> {
        if matches!(
            self.shared.run_state(),
            RunState::Paused | RunState::Closing
        ) {
            return Ok(None);
        }
        let mut fetched = fetch(&self.shared, 1, token).await?;
        if fetched.jobs.is_empty() && block && fetched.rate_limit_ttl == 0 {
            let mut blocking = self.manual_blocking.lock().await;
            wait_for_marker(&self.shared, &mut blocking, fetched.next_due).await?;
            fetched = fetch(&self.shared, 1, token).await?;
        }
        Ok(fetched.jobs.into_iter().next().map(|mut job| {
            job.token = Some(token.to_string());
            job
        }))
    }

    /// Completes a job taken by hand, as the holder of `token`; returns `finishedOn`.
    pub async fn move_to_completed(&self, id: &str, token: &str, returnvalue: &str) -> Result<i64> {
        let outcome = Outcome::Completed {
            returnvalue: returnvalue.to_string(),
        };
        let at = settle_by_hand(&self.shared.core, &self.shared.opts, id, token, outcome).await?;
        Ok(at.unwrap_or_else(|| self.shared.core.clock.now()))
    }

    /// Fails (or retries, as its attempts and backoff say) a job taken by hand; returns
    /// `finishedOn` when it failed for good.
    pub async fn move_to_failed(
        &self,
        id: &str,
        token: &str,
        failure: super::Failure,
    ) -> Result<Option<i64>> {
        let outcome = Outcome::Failed(failure);
        settle_by_hand(&self.shared.core, &self.shared.opts, id, token, outcome).await
    }
}

impl Queue {
    /// Completes an active job as the holder of `token` (`"0"`: without a lock); returns
    /// `finishedOn`.
    pub async fn move_to_completed(&self, id: &str, token: &str, returnvalue: &str) -> Result<i64> {
        let outcome = Outcome::Completed {
            returnvalue: returnvalue.to_string(),
        };
        let at = settle_by_hand(self.core(), &WorkerOptions::default(), id, token, outcome).await?;
        Ok(at.unwrap_or_else(|| self.core().clock.now()))
    }

    /// Fails (or retries) an active job as the holder of `token`; returns `finishedOn`
    /// when it failed for good.
    pub async fn move_to_failed(
        &self,
        id: &str,
        token: &str,
        failure: super::Failure,
    ) -> Result<Option<i64>> {
        let outcome = Outcome::Failed(failure);
        settle_by_hand(self.core(), &WorkerOptions::default(), id, token, outcome).await
    }
}

/// Settles one attempt the way a worker settles its processor's outcome; returns
/// `finishedOn` when the job finished (completed, or failed for good).
async fn settle_by_hand(
    core: &QueueCore,
    opts: &WorkerOptions,
    id: &str,
    token: &str,
    outcome: Outcome,
) -> Result<Option<i64>> {
    let Some(job) = core.get_job(id).await? else {
        return Err(Error::script(-1, id, "moveToFinished", "active"));
    };
    let info = AttemptInfo {
        token: token.to_string(),
        attempts_made: job.attempts_made,
        attempts_started: job.attempts_started,
        max_started_attempts: opts.max_started_attempts,
        deduplication_id: job.deduplication_id.clone(),
        opts: job.options(),
        stacktrace: job.stack_entries(),
    };
    let keep = KeepDefaults {
        on_complete: opts.remove_on_complete,
        on_fail: opts.remove_on_fail,
    };
    let now = core.clock.now();
    let Some(settlement) = settle(id, &info, outcome, keep) else {
        return Ok(None);
    };
    let reply = finish(core, opts, std::slice::from_ref(&settlement), 0, token, now).await?;
    let code = match reply.first() {
        Some(Value::Array(codes)) => codes.first().and_then(value_int).unwrap_or(0),
        _ => 0,
    };
    QueueCore::check_code(code, id, settlement.kind.command(), "active")?;
    let finished = matches!(settlement.kind, SettleKind::Completed | SettleKind::Failed);
    Ok(finished.then_some(now))
}
