//! What a worker and its host (the binding, or a Rust service) say to each other: the
//! jobs and events the worker delivers, and the outcomes the host reports back.

use std::sync::Arc;

use super::finisher::Finisher;
use super::outcome::Outcome;
use crate::job::Job;

/// Something the worker tells its host, besides handing it jobs.
#[derive(Debug, Clone, PartialEq)]
pub enum WorkerEvent {
    /// The worker is connected and about to fetch.
    Ready,
    /// A job completed and is stored as such.
    Completed {
        job_id: String,
        finished_on: i64,
        attempts_made: i64,
    },
    /// An attempt failed; `finished_on` is set when the job failed for good.
    Failed {
        job_id: String,
        reason: String,
        stacktrace: String,
        attempts_made: i64,
        finished_on: Option<i64>,
        /// The backoff delay (ms) of a retry through the delayed set.
        delay: Option<i64>,
        /// The job, when the host never saw it (failed before processing).
        job: Option<Box<Job>>,
        /// The failure was unrecoverable (BullMQ's `UnrecoverableError`).
        unrecoverable: bool,
    },
    /// A fetch found the queue empty.
    Drained,
    /// Jobs this worker's stalled check moved back to wait.
    Stalled { job_id: String },
    /// Locks that could not be renewed (gone, or taken by another worker).
    LockRenewalFailed { job_ids: Vec<String> },
    /// Something went wrong; the worker carries on. `job_id` and `token` name the
    /// attempt whose outcome Redis refused (the worker let go of it).
    Error {
        message: String,
        job_id: Option<String>,
        token: Option<String>,
    },
    /// The attempt of `job_id` taken with `token` ran past its `timeout`: the host aborts
    /// its processor and reports the attempt failed with a `TimeoutError` carrying
    /// `message`.
    TimedOut {
        job_id: String,
        token: String,
        message: String,
    },
    /// The worker stopped fetching and is waiting for its jobs.
    Closing,
    /// The worker has stopped.
    Closed,
}

/// Where a worker sends the jobs it takes and the events it raises.
pub trait Host: Send + Sync + 'static {
    /// Receives jobs to start (report each outcome with `reporter`) and events to publish.
    fn deliver(&self, jobs: Vec<Job>, events: Vec<WorkerEvent>, reporter: &Reporter);
}

/// Reports how jobs ended; cheap to clone and usable from any thread.
#[derive(Clone, Debug)]
pub struct Reporter {
    pub(super) finisher: Arc<Finisher>,
}

impl Reporter {
    /// Reports the outcome of the attempt of job `job_id` delivered with lock `token`
    /// (the job's `token`).
    pub fn report(&self, job_id: String, token: String, outcome: Outcome) {
        self.report_all([(job_id, token, outcome)]);
    }

    /// Reports several outcomes at once, as `(job_id, token, outcome)`; they are
    /// settled together where they can be. Call it within the runtime.
    pub fn report_all(&self, outcomes: impl IntoIterator<Item = (String, String, Outcome)>) {
        self.finisher
            .report(outcomes.into_iter().map(|(job_id, token, outcome)| Report {
                job_id,
                token,
                outcome,
            }));
    }
}

#[derive(Debug)]
pub(crate) struct Report {
    pub job_id: String,
    pub token: String,
    pub outcome: Outcome,
}
