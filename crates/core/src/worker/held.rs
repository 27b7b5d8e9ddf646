//! The attempts a worker holds, each known by its job id and lock token: a job taken
//! again while an earlier attempt of it is still with the host (moved away by its
//! processor, or lost to the stalled check) must not be confused with that attempt.

use std::collections::HashMap;
use std::time::Instant;

use tokio::task::AbortHandle;

use super::outcome::AttemptInfo;
use super::slots::Slot;
use crate::job::Job;

/// Where a held attempt stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// The processor has it; its lock is renewed.
    Processing,
    /// Its outcome is on its way to Redis; later reports for it are ignored.
    Settling,
    /// The processor moved the job out of active itself (delayed, wait): its lock is
    /// no longer renewed, and a report that it moved only frees its slot.
    Moved,
}

/// An attempt the worker holds: its lock token, what settling needs, and its slot.
pub(crate) struct ActiveJob {
    pub info: AttemptInfo,
    pub renewed_at: Instant,
    /// Set when the job fails before the host sees it.
    pub unseen: Option<Box<Job>>,
    pub phase: Phase,
    /// The pending `timeout` of the attempt.
    pub _timer: Option<Timer>,
    pub _slot: Slot,
}

/// An attempt's timeout, cancelled when the attempt is let go.
pub(crate) struct Timer(pub AbortHandle);

impl Drop for Timer {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The held attempts: the latest of each job, and earlier ones still awaiting their
/// processor's report.
#[derive(Default)]
pub(crate) struct Held {
    latest: HashMap<String, ActiveJob>,
    earlier: HashMap<(String, String), ActiveJob>,
}

impl Held {
    /// Holds a new attempt of `job_id`; an earlier one still held waits aside.
    pub fn insert(&mut self, job_id: String, job: ActiveJob) {
        if let Some(earlier) = self.latest.insert(job_id.clone(), job) {
            let token = earlier.info.token.clone();
            self.earlier.insert((job_id, token), earlier);
        }
    }

    /// The attempt of `job_id` taken with `token`.
    pub fn get(&self, job_id: &str, token: &str) -> Option<&ActiveJob> {
        if self.is_latest(job_id, token) {
            return self.latest.get(job_id);
        }
        self.earlier.get(&(job_id.to_string(), token.to_string()))
    }

    /// The attempt of `job_id` taken with `token`, to change.
    pub fn get_mut(&mut self, job_id: &str, token: &str) -> Option<&mut ActiveJob> {
        if self.is_latest(job_id, token) {
            return self.latest.get_mut(job_id);
        }
        self.earlier
            .get_mut(&(job_id.to_string(), token.to_string()))
    }

    /// Lets go of the attempt of `job_id` taken with `token`.
    pub fn remove(&mut self, job_id: &str, token: &str) -> Option<ActiveJob> {
        if self.is_latest(job_id, token) {
            return self.latest.remove(job_id);
        }
        self.earlier
            .remove(&(job_id.to_string(), token.to_string()))
    }

    fn is_latest(&self, job_id: &str, token: &str) -> bool {
        self.latest
            .get(job_id)
            .is_some_and(|job| job.info.token == token)
    }

    /// Every held attempt with its job id.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&str, &mut ActiveJob)> {
        let latest = self.latest.iter_mut().map(|(id, job)| (id.as_str(), job));
        let earlier = self
            .earlier
            .iter_mut()
            .map(|((id, _), job)| (id.as_str(), job));
        latest.chain(earlier)
    }

    /// Whether an attempt of `job_id` taken with `token` is with its processor.
    pub fn is_processing(&self, job_id: &str, token: &str) -> bool {
        self.get(job_id, token)
            .is_some_and(|job| job.phase == Phase::Processing)
    }

    /// How many attempts are held.
    pub fn len(&self) -> usize {
        self.latest.len() + self.earlier.len()
    }

    /// Whether no attempt is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
