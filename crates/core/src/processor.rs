//! Rust processors: an async closure as the host of a worker.

use std::collections::HashMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};

use futures_util::FutureExt;
use serde_json::Value;
use tokio::sync::broadcast;
use tokio::task::AbortHandle;

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
    /// The closures at work, by attempt (job id, lock token).
    running: Arc<Mutex<HashMap<(String, String), AbortHandle>>>,
}

impl<F, Fut> FnProcessor<F>
where
    F: Fn(Job) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Value, JobError>> + Send + 'static,
{
    /// Wraps `f`, which receives each job and returns its result or error.
    pub fn new(f: F) -> FnProcessor<F> {
        let (events, _) = broadcast::channel(1024);
        FnProcessor {
            f,
            events,
            running: Arc::default(),
        }
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
            if let WorkerEvent::TimedOut {
                job_id,
                token,
                message,
            } = &event
            {
                self.time_out(job_id, token, message, reporter);
            }
            let _ = self.events.send(event);
        }
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        for job in jobs {
            let attempt = (job.id.clone(), job.token.clone().unwrap_or_default());
            let work = AssertUnwindSafe((self.f)(job)).catch_unwind();
            let reporter = reporter.clone();
            let finished = Arc::downgrade(&self.running);
            let task_attempt = attempt.clone();
            let task = tokio::spawn(async move {
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
                if let Some(running) = finished.upgrade() {
                    running
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .remove(&attempt);
                }
                let (id, token) = attempt;
                reporter.report(id, token, outcome);
            });
            running.insert(task_attempt, task.abort_handle());
        }
    }
}

impl<F> FnProcessor<F> {
    /// Stops an attempt's closure and reports the attempt failed with a `TimeoutError`.
    fn time_out(&self, job_id: &str, token: &str, message: &str, reporter: &Reporter) {
        let attempt = (job_id.to_string(), token.to_string());
        let task = self
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&attempt);
        if let Some(task) = task {
            task.abort();
        }
        let (job_id, token) = attempt;
        reporter.report(
            job_id,
            token,
            Outcome::Failed(Failure {
                message: message.to_string(),
                stack: Some(format!("TimeoutError: {message}")),
                ..Failure::default()
            }),
        );
    }
}
