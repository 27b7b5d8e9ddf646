//! Rust processors: an async closure as the host of a worker.

use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures_util::FutureExt;
use serde_json::Value;
use tokio::sync::broadcast;

use crate::job::Job;
use crate::worker::{Failure, Host, Outcome, Reporter, WorkerEvent};

/// Why a Rust processor failed a job.
#[derive(Debug, Clone, PartialEq)]
pub struct JobError {
    pub message: String,
    /// Fail the job for good, whatever attempts remain.
    pub unrecoverable: bool,
}

impl JobError {
    /// A failure that may be retried.
    pub fn new(message: impl Into<String>) -> JobError {
        JobError {
            message: message.into(),
            unrecoverable: false,
        }
    }

    /// A failure that is never retried (BullMQ's `UnrecoverableError`).
    pub fn unrecoverable(message: impl Into<String>) -> JobError {
        JobError {
            message: message.into(),
            unrecoverable: true,
        }
    }
}

/// Runs each job through an async closure, one task per job, and republishes
/// worker events on a broadcast channel.
pub struct FnProcessor<F> {
    f: F,
    events: broadcast::Sender<WorkerEvent>,
}

impl<F, Fut> FnProcessor<F>
where
    F: Fn(Job) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Value, JobError>> + Send + 'static,
{
    /// Wraps `f`, which receives each job and returns its result or error.
    pub fn new(f: F) -> FnProcessor<F> {
        let (events, _) = broadcast::channel(1024);
        FnProcessor { f, events }
    }

    /// Receives the worker's events from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<WorkerEvent> {
        self.events.subscribe()
    }
}

impl<F, Fut> Host for FnProcessor<F>
where
    F: Fn(Job) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Value, JobError>> + Send + 'static,
{
    fn deliver(&self, jobs: Vec<Job>, events: Vec<WorkerEvent>, reporter: &Reporter) {
        for event in events {
            let _ = self.events.send(event);
        }
        for job in jobs {
            let id = job.id.clone();
            let work = AssertUnwindSafe((self.f)(job)).catch_unwind();
            let reporter = reporter.clone();
            tokio::spawn(async move {
                let outcome = match work.await {
                    Ok(Ok(value)) => Outcome::Completed {
                        returnvalue: value.to_string(),
                    },
                    Ok(Err(err)) => Outcome::Failed(Failure {
                        message: err.message,
                        unrecoverable: err.unrecoverable,
                        ..Failure::default()
                    }),
                    Err(_) => Outcome::Failed(Failure {
                        message: "processor panicked".into(),
                        ..Failure::default()
                    }),
                };
                reporter.report(id, outcome);
            });
        }
    }
}
