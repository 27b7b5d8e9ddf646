//! `NativeWorker`: the engine's Worker, delivering jobs and events to one JS callback.

use std::sync::Arc;

use bullrush_core::{
    BatchOptions, Failure, Host, Limiter, MetricsOptions, Outcome, Reporter, Worker, WorkerEvent,
    WorkerOptions,
};
use napi::bindgen_prelude::Function;
use napi::bindgen_prelude::Result;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::Status;
use napi_derive::napi;

use crate::convert::{connection, js_error, keep_jobs, JsConnection, JsFailure, JsJob, JsSettled};
use crate::queue::NativeQueue;

/// Worker options, normalised by the JS layer (times in ms, `drainDelay` in s).
#[napi(object)]
pub struct JsWorkerOptions {
    pub connection: Option<JsConnection>,
    pub prefix: Option<String>,
    pub concurrency: Option<f64>,
    pub lock_duration: Option<f64>,
    pub lock_renew_time: Option<f64>,
    pub stalled_interval: Option<f64>,
    pub max_stalled_count: Option<f64>,
    pub drain_delay: Option<f64>,
    pub name: Option<String>,
    pub limiter_max: Option<f64>,
    pub limiter_duration: Option<f64>,
    /// `removeOnComplete` as JSON text.
    pub remove_on_complete: Option<String>,
    /// `removeOnFail` as JSON text.
    pub remove_on_fail: Option<String>,
    pub skip_stalled_check: Option<bool>,
    pub skip_lock_renewal: Option<bool>,
    pub max_started_attempts: Option<f64>,
    pub maximum_rate_limit_delay: Option<f64>,
    pub run_retry_delay: Option<f64>,
    pub timeout: Option<f64>,
    pub batch_size: Option<f64>,
    pub batch_timeout: Option<f64>,
    /// `metrics.maxDataPoints`, when metrics are on.
    pub metrics_max_data_points: Option<f64>,
}

/// An event for the JS worker; `kind` names it.
#[napi(object)]
pub struct JsWorkerEvent {
    pub kind: String,
    pub job_id: Option<String>,
    /// The lock token of the attempt an `error` or `timedOut` is about.
    pub token: Option<String>,
    pub message: Option<String>,
    pub stacktrace: Option<String>,
    pub attempts_made: Option<f64>,
    pub finished_on: Option<f64>,
    /// The backoff delay of a retry through the delayed set (`failed`).
    pub delay: Option<f64>,
    pub job: Option<JsJob>,
    pub job_ids: Option<Vec<String>>,
    /// A failure that may not be retried (BullMQ's `UnrecoverableError`).
    pub unrecoverable: Option<bool>,
}

/// Jobs to start and events to emit, in one crossing.
#[napi(object)]
pub struct JsDelivery {
    pub jobs: Vec<JsJob>,
    pub events: Vec<JsWorkerEvent>,
}

/// How a job's attempt ended, as the JS layer classified it.
#[napi(object)]
pub struct JsOutcome {
    pub id: String,
    /// The lock token the attempt was delivered with (the job's `token`).
    pub token: String,
    /// `completed`, `failed`, `rateLimited` (back to wait, uncounted) or `moved` (the
    /// processor moved the job itself).
    pub kind: String,
    /// The result as JSON text (completed).
    pub value: Option<String>,
    pub message: Option<String>,
    pub stack: Option<String>,
    pub unrecoverable: Option<bool>,
    pub backoff_delay: Option<f64>,
}

type Callback = ThreadsafeFunction<JsDelivery, (), JsDelivery, Status, false, true>;

struct JsHost {
    callback: Callback,
}

impl Host for JsHost {
    fn deliver(&self, jobs: Vec<bullrush_core::Job>, events: Vec<WorkerEvent>, _: &Reporter) {
        let delivery = JsDelivery {
            jobs: jobs.into_iter().map(JsJob::from).collect(),
            events: events.into_iter().map(js_event).collect(),
        };
        self.callback
            .call(delivery, ThreadsafeFunctionCallMode::NonBlocking);
    }
}

fn event(kind: &str) -> JsWorkerEvent {
    JsWorkerEvent {
        kind: kind.to_string(),
        job_id: None,
        token: None,
        message: None,
        stacktrace: None,
        attempts_made: None,
        finished_on: None,
        delay: None,
        job: None,
        job_ids: None,
        unrecoverable: None,
    }
}

fn js_event(e: WorkerEvent) -> JsWorkerEvent {
    match e {
        WorkerEvent::Ready => event("ready"),
        WorkerEvent::Drained => event("drained"),
        WorkerEvent::Closing => event("closing"),
        WorkerEvent::Closed => event("closed"),
        WorkerEvent::Completed {
            job_id,
            finished_on,
            attempts_made,
        } => JsWorkerEvent {
            job_id: Some(job_id),
            finished_on: Some(finished_on as f64),
            attempts_made: Some(attempts_made as f64),
            ..event("completed")
        },
        WorkerEvent::Failed {
            job_id,
            reason,
            stacktrace,
            attempts_made,
            finished_on,
            delay,
            job,
            unrecoverable,
        } => JsWorkerEvent {
            job_id: Some(job_id),
            message: Some(reason),
            stacktrace: Some(stacktrace),
            attempts_made: Some(attempts_made as f64),
            finished_on: finished_on.map(|f| f as f64),
            delay: delay.map(|d| d as f64),
            job: job.map(|j| JsJob::from(*j)),
            unrecoverable: Some(unrecoverable),
            ..event("failed")
        },
        WorkerEvent::Stalled { job_id } => JsWorkerEvent {
            job_id: Some(job_id),
            ..event("stalled")
        },
        WorkerEvent::LockRenewalFailed { job_ids } => JsWorkerEvent {
            job_ids: Some(job_ids),
            ..event("lockRenewalFailed")
        },
        WorkerEvent::Error {
            message,
            job_id,
            token,
        } => JsWorkerEvent {
            job_id,
            token,
            message: Some(message),
            ..event("error")
        },
        WorkerEvent::TimedOut {
            job_id,
            token,
            message,
        } => JsWorkerEvent {
            job_id: Some(job_id),
            token: Some(token),
            message: Some(message),
            ..event("timedOut")
        },
    }
}

fn core_options(o: &JsWorkerOptions) -> Result<WorkerOptions> {
    let d = WorkerOptions::default();
    let ms = |v: Option<f64>, default: u64| v.map_or(default, |v| v.max(0.0) as u64);
    let limiter = match (o.limiter_max, o.limiter_duration) {
        (Some(max), Some(duration)) => Some(Limiter {
            max: max as i64,
            duration: duration as i64,
        }),
        _ => None,
    };
    Ok(WorkerOptions {
        connection: connection(&o.connection)?,
        prefix: o.prefix.clone().unwrap_or(d.prefix),
        concurrency: o
            .concurrency
            .map_or(Ok(d.concurrency), WorkerOptions::concurrency_from_number)
            .map_err(js_error)?,
        lock_duration: ms(o.lock_duration, d.lock_duration),
        lock_renew_time: o.lock_renew_time.map(|v| v.max(0.0) as u64),
        stalled_interval: ms(o.stalled_interval, d.stalled_interval),
        max_stalled_count: o
            .max_stalled_count
            .map_or(d.max_stalled_count, |v| v as i64),
        drain_delay: o.drain_delay.unwrap_or(d.drain_delay),
        name: o.name.clone(),
        limiter,
        remove_on_complete: keep_jobs(&o.remove_on_complete)?,
        remove_on_fail: keep_jobs(&o.remove_on_fail)?,
        skip_stalled_check: o.skip_stalled_check.unwrap_or(false),
        skip_lock_renewal: o.skip_lock_renewal.unwrap_or(false),
        max_started_attempts: o.max_started_attempts.map(|v| v as i64),
        maximum_rate_limit_delay: ms(o.maximum_rate_limit_delay, d.maximum_rate_limit_delay),
        run_retry_delay: ms(o.run_retry_delay, d.run_retry_delay),
        timeout: o.timeout.map(|v| v.max(0.0) as u64),
        batch: o
            .batch_size
            .map(|size| BatchOptions::from_numbers(size, o.batch_timeout))
            .transpose()
            .map_err(js_error)?,
        metrics: o
            .metrics_max_data_points
            .map(MetricsOptions::from_number)
            .transpose()
            .map_err(js_error)?,
    })
}

#[napi]
pub struct NativeWorker {
    pub(crate) inner: Arc<Worker>,
    reporter: Reporter,
}

#[napi]
impl NativeWorker {
    #[napi(constructor)]
    pub fn new(
        name: String,
        opts: JsWorkerOptions,
        callback: Function<JsDelivery, ()>,
    ) -> Result<Self> {
        crate::init_tracing();
        let core_opts = core_options(&opts)?;
        let callback = callback
            .build_threadsafe_function()
            .callee_handled::<false>()
            .weak::<true>()
            .build()?;
        let host = Arc::new(JsHost { callback });
        let inner = Worker::new(&name, core_opts, host).map_err(js_error)?;
        let reporter = inner.reporter();
        Ok(NativeWorker {
            inner: Arc::new(inner),
            reporter,
        })
    }

    #[napi(getter)]
    pub fn id(&self) -> String {
        self.inner.id().to_string()
    }

    /// A queue handle on the worker's queue, for job methods.
    #[napi]
    pub fn queue(&self) -> NativeQueue {
        NativeQueue::wrap(self.inner.queue())
    }

    /// Changes the concurrency while running.
    #[napi]
    pub fn set_concurrency(&self, concurrency: f64) -> Result<()> {
        self.inner
            .set_concurrency(WorkerOptions::concurrency_from_number(concurrency).map_err(js_error)?)
            .map_err(js_error)
    }

    /// Takes the next job under `token` without holding it (manual processing).
    #[napi]
    pub async fn get_next_job(&self, token: String, block: bool) -> Result<Option<JsJob>> {
        self.inner
            .get_next_job(&token, block)
            .await
            .map(|job| job.map(JsJob::from))
            .map_err(js_error)
    }

    /// Completes a job taken by hand, taking the next one with `fetch_next`.
    #[napi]
    pub async fn move_to_completed(
        &self,
        id: String,
        token: String,
        value: String,
        fetch_next: bool,
    ) -> Result<JsSettled> {
        self.inner
            .move_to_completed(&id, &token, &value, fetch_next)
            .await
            .map(JsSettled::from)
            .map_err(js_error)
    }

    /// Fails (or retries) a job taken by hand, taking the next one with `fetch_next`.
    #[napi]
    pub async fn move_to_failed(
        &self,
        id: String,
        token: String,
        failure: JsFailure,
        fetch_next: bool,
    ) -> Result<JsSettled> {
        self.inner
            .move_to_failed(&id, &token, failure.into(), fetch_next)
            .await
            .map(JsSettled::from)
            .map_err(js_error)
    }

    /// Moves a job this worker processes to the delayed set until `timestamp`.
    #[napi]
    pub async fn move_to_delayed(&self, id: String, token: String, timestamp: f64) -> Result<()> {
        self.inner
            .move_to_delayed(&id, &token, timestamp as i64)
            .await
            .map_err(js_error)
    }

    /// Puts a job this worker processes back at the front of wait; resolves to the rate
    /// limiter's remaining ms.
    #[napi]
    pub async fn move_to_wait(&self, id: String, token: String) -> Result<f64> {
        self.inner
            .move_to_wait(&id, &token)
            .await
            .map(|ttl| ttl as f64)
            .map_err(js_error)
    }

    /// Connects (the named blocking connection included); raises `ready` the first time.
    #[napi]
    pub async fn wait_until_ready(&self) -> Result<()> {
        self.inner.wait_until_ready().await.map_err(js_error)
    }

    /// Starts the periodic stalled-job check (for a worker taking jobs by hand); async so
    /// that it runs on the runtime, which the check's task is spawned on.
    #[napi]
    pub async fn start_stalled_check(&self) {
        self.inner.start_stalled_check();
    }

    /// Runs one stalled-job check now; resolves to the ids moved back to wait.
    #[napi]
    pub async fn check_stalled(&self) -> Result<Vec<String>> {
        self.inner.check_stalled().await.map_err(js_error)
    }

    /// Connects and starts fetching; resolves once running.
    #[napi]
    pub async fn run(&self) -> Result<()> {
        self.inner.run().await.map_err(js_error)
    }

    /// Takes the host's time (`Date.now()`) as the worker's time now.
    #[napi]
    pub fn observe_clock(&self, now: f64) {
        self.inner.clock().observe(now as i64);
    }

    /// Reports how attempts ended at `now` (the host's time); cheap, no Redis round trip.
    #[napi]
    pub fn report(&self, outcomes: Vec<JsOutcome>, now: f64) {
        self.inner.clock().observe(now as i64);
        let outcomes = outcomes.into_iter().map(|o| {
            let outcome = match o.kind.as_str() {
                "completed" => Outcome::Completed {
                    returnvalue: o.value.unwrap_or_else(|| "null".into()),
                },
                "rateLimited" => Outcome::RateLimited,
                "moved" => Outcome::Moved,
                _ => Outcome::Failed(Failure {
                    message: o.message.unwrap_or_default(),
                    stack: o.stack,
                    unrecoverable: o.unrecoverable.unwrap_or(false),
                    backoff_delay: o.backoff_delay.map(|d| d as i64),
                }),
            };
            (o.id, o.token, outcome)
        });
        napi::bindgen_prelude::within_runtime_if_available(|| self.reporter.report_all(outcomes));
    }

    #[napi]
    pub async fn close(&self, force: bool) -> Result<()> {
        self.inner.close(force).await;
        Ok(())
    }

    /// Stops fetching at once; jobs in hand go on.
    #[napi]
    pub fn pause(&self) {
        self.inner.pause_now();
    }

    /// Resolves once the worker holds no job.
    #[napi]
    pub async fn wait_idle(&self) -> Result<()> {
        self.inner.wait_idle().await;
        Ok(())
    }

    #[napi]
    pub fn resume(&self) {
        self.inner.resume();
    }

    #[napi]
    pub fn is_running(&self) -> bool {
        self.inner.is_running()
    }

    #[napi]
    pub fn is_paused(&self) -> bool {
        self.inner.is_paused()
    }
}
