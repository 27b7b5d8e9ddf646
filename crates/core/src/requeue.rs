//! `Queue::retry_jobs` and `Queue::promote_jobs`: moving finished or delayed jobs back to
//! wait in bulk.

use crate::error::{Error, Result};
use crate::keys::JobState;
use crate::queue::Queue;
use crate::scripts;

/// The set of finished jobs `Queue::retry_jobs` moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinishedState {
    Completed,
    Failed,
}

impl FinishedState {
    /// Parses `completed` or `failed`.
    pub fn parse(name: &str) -> Result<FinishedState> {
        match name {
            "completed" => Ok(FinishedState::Completed),
            "failed" => Ok(FinishedState::Failed),
            _ => Err(Error::InvalidArgument(format!(
                "Cannot retry jobs in state {name}; the states are completed and failed"
            ))),
        }
    }

    /// The state's name (its key suffix).
    pub fn name(self) -> &'static str {
        match self {
            FinishedState::Completed => "completed",
            FinishedState::Failed => "failed",
        }
    }

    fn job_state(self) -> JobState {
        match self {
            FinishedState::Completed => JobState::Completed,
            FinishedState::Failed => JobState::Failed,
        }
    }
}

impl Queue {
    /// Sends every job of `state` that finished at or before `timestamp` ms (now when
    /// `None`) back to wait, `count` per script call.
    pub async fn retry_jobs(
        &self,
        state: FinishedState,
        count: i64,
        timestamp: Option<i64>,
    ) -> Result<()> {
        check_count(count)?;
        loop {
            let upto = timestamp
                .unwrap_or_else(|| self.core().clock.now())
                .to_string();
            let more = self
                .requeue_page(state.job_state(), state.name(), count, &upto)
                .await?;
            if !more {
                return Ok(());
            }
        }
    }

    /// Sends every delayed job to wait now, `count` per script call.
    pub async fn promote_jobs(&self, count: i64) -> Result<()> {
        check_count(count)?;
        while self
            .requeue_page(JobState::Delayed, "delayed", count, "+inf")
            .await?
        {}
        Ok(())
    }

    /// One script call; true when it moved a full `count` (there may be more).
    async fn requeue_page(
        &self,
        state: JobState,
        name: &str,
        count: i64,
        upto: &str,
    ) -> Result<bool> {
        let k = self.keys();
        let mut inv = scripts::MOVE_JOBS_TO_WAIT.prepare_invoke();
        inv.key(k.state(state))
            .key(&k.wait)
            .key(&k.events)
            .key(&k.meta)
            .key(&k.active)
            .key(&k.marker)
            .arg(&k.base)
            .arg(count)
            .arg(upto)
            .arg(name);
        Ok(self.core().invoke::<i64>(&inv).await? == 1)
    }
}

fn check_count(count: i64) -> Result<()> {
    if count < 1 {
        return Err(Error::InvalidArgument(
            "count must be an integer greater than 0".into(),
        ));
    }
    Ok(())
}
