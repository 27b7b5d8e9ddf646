//! Manual processing: taking jobs without a processor and settling them by hand
//! (BullMQ's `worker.getNextJob`, `job.moveToCompleted`, `job.moveToFailed`).

use redis::Value;

use super::fetcher::{fetch, parse_fetched, wait_for_marker};
use super::finisher::finish;
use super::outcome::{settle, AttemptInfo, KeepDefaults, SettleKind};
use super::{Outcome, RunState, Worker, WorkerOptions};
use crate::error::{Error, Result};
use crate::job::{value_int, Job};
use crate::queue::Queue;
use crate::queue_base::QueueCore;
use crate::scheduler::iteration::add_next;

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
            let mut blocking = self.shared.blocking.lock().await;
            wait_for_marker(&self.shared, &mut blocking, fetched.next_due).await?;
            fetched = fetch(&self.shared, 1, token).await?;
        }
        let Some(mut job) = fetched.jobs.into_iter().next() else {
            return Ok(None);
        };
        if let Some(scheduler) = &job.repeat_job_key {
            let core = &self.shared.core;
            let now = core.clock.now();
            if let Err(err) = add_next(core, scheduler, &job.id, &job.opts, now).await {
                self.shared.emit_error(&Error::Redis(format!(
                    "Failed to add repeatable job for next iteration: {err}"
                )));
            }
        }
        job.token = Some(token.to_string());
        Ok(Some(job))
    }

    /// Completes a job taken by hand, as the holder of `token`; with `fetch_next`, takes
    /// the next job under the same token in the same call.
    pub async fn move_to_completed(
        &self,
        id: &str,
        token: &str,
        returnvalue: &str,
        fetch_next: bool,
    ) -> Result<Settled> {
        let outcome = Outcome::Completed {
            returnvalue: returnvalue.to_string(),
        };
        let fetch = fetch_next && self.shared.run_state() != RunState::Closing;
        settle_by_hand(
            &self.shared.core,
            &self.shared.opts,
            id,
            token,
            outcome,
            fetch,
        )
        .await
    }

    /// Fails (or retries, as its attempts and backoff say) a job taken by hand; with
    /// `fetch_next`, takes the next job under the same token in the same call.
    pub async fn move_to_failed(
        &self,
        id: &str,
        token: &str,
        failure: super::Failure,
        fetch_next: bool,
    ) -> Result<Settled> {
        let outcome = Outcome::Failed(failure);
        let fetch = fetch_next && self.shared.run_state() != RunState::Closing;
        settle_by_hand(
            &self.shared.core,
            &self.shared.opts,
            id,
            token,
            outcome,
            fetch,
        )
        .await
    }
}

impl Queue {
    /// Completes an active job as the holder of `token` (`"0"`: without a lock); with
    /// `fetch_next`, takes the next job under the same token in the same call.
    pub async fn move_to_completed(
        &self,
        id: &str,
        token: &str,
        returnvalue: &str,
        fetch_next: bool,
    ) -> Result<Settled> {
        let outcome = Outcome::Completed {
            returnvalue: returnvalue.to_string(),
        };
        let opts = WorkerOptions::default();
        settle_by_hand(self.core(), &opts, id, token, outcome, fetch_next).await
    }

    /// Fails (or retries) an active job as the holder of `token`; with `fetch_next`,
    /// takes the next job under the same token in the same call.
    pub async fn move_to_failed(
        &self,
        id: &str,
        token: &str,
        failure: super::Failure,
        fetch_next: bool,
    ) -> Result<Settled> {
        let outcome = Outcome::Failed(failure);
        let opts = WorkerOptions::default();
        settle_by_hand(self.core(), &opts, id, token, outcome, fetch_next).await
    }
}

/// What settling an attempt by hand did to the job.
#[derive(Debug, Clone, PartialEq)]
pub struct Settled {
    /// When the job finished (completed, or failed for good).
    pub finished_on: Option<i64>,
    /// `attemptsMade` after this attempt.
    pub attempts_made: i64,
    /// The stored list of failure stacks, as JSON.
    pub stacktrace: String,
    /// The backoff delay of a retry through the delayed set.
    pub delay: Option<i64>,
    /// What the same call fetched, when asked to.
    pub next: Option<NextJob>,
}

/// The job a settling call fetched after, or why none came.
#[derive(Debug, Clone, PartialEq)]
pub struct NextJob {
    pub job: Option<Job>,
    /// The rate limiter's remaining ms, when it stopped the fetch.
    pub rate_limit_ttl: i64,
    /// When the next delayed job is due (ms), when known.
    pub next_due: i64,
}

/// Settles one attempt the way a worker settles its processor's outcome, fetching the
/// next job under `token` in the same call when `fetch_next` (never for a retry at once).
async fn settle_by_hand(
    core: &QueueCore,
    opts: &WorkerOptions,
    id: &str,
    token: &str,
    outcome: Outcome,
    fetch_next: bool,
) -> Result<Settled> {
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
        return Err(Error::script(-1, id, "moveToFinished", "active"));
    };
    // As BullMQ: a job retried at once goes back to wait without fetching another.
    let fetch_next = fetch_next && settlement.kind != SettleKind::Retry;
    let fetch = usize::from(fetch_next);
    let reply = finish(
        core,
        opts,
        std::slice::from_ref(&settlement),
        fetch,
        token,
        now,
    )
    .await?;
    let code = match reply.first() {
        Some(Value::Array(codes)) => codes.first().and_then(value_int).unwrap_or(0),
        _ => 0,
    };
    QueueCore::check_code(code, id, settlement.kind.command(), "active")?;
    let next = fetch_next
        .then(|| parse_fetched(&reply, 1))
        .transpose()?
        .map(|f| NextJob {
            job: f.jobs.into_iter().next().map(|mut job| {
                job.token = Some(token.to_string());
                job
            }),
            rate_limit_ttl: f.rate_limit_ttl,
            next_due: f.next_due,
        });
    let finished = matches!(settlement.kind, SettleKind::Completed | SettleKind::Failed);
    Ok(Settled {
        finished_on: finished.then_some(now),
        attempts_made: settlement.attempts_made,
        stacktrace: settlement.stacktrace,
        delay: match settlement.kind {
            SettleKind::Delay(d) => Some(d),
            _ => None,
        },
        next,
    })
}
