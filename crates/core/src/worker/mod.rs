//! The consumer side: fetching jobs, handing them to a processor, settling the outcomes.

mod batch;
mod fetcher;
mod finisher;
mod held;
mod host;
mod locks;
mod manual;
mod moves;
mod options;
mod outcome;
mod slots;
mod stalled;

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use crate::connection::ConnectionOptions;
use crate::error::{Error, Result};
use crate::job::Job;
use crate::outage::ErrorSink;
use crate::queue::Queue;
use crate::queue_base::QueueCore;
use crate::retry::Patience;
use crate::scheduler::iteration::{after_take, OnIterationError};

pub use batch::BatchOptions;
use held::{ActiveJob, Held, Phase, Timer};
pub(crate) use host::Report;
pub use host::{Host, Reporter, WorkerEvent};
pub use manual::{NextJob, Settled};
pub use options::{Limiter, WorkerOptions};
use outcome::{AttemptInfo, KeepDefaults};
pub use outcome::{Failure, Outcome};
use slots::{Slot, Slots};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RunState {
    Idle,
    Running,
    Paused,
    Closing,
}

/// State shared by a worker's tasks.
pub(crate) struct Shared {
    core: Arc<QueueCore>,
    opts: WorkerOptions,
    host: Arc<dyn Host>,
    reporter: Reporter,
    slots: Slots,
    batcher: batch::Batcher,
    active: Mutex<Held>,
    idle: Notify,
    state: watch::Sender<RunState>,
    drained: AtomicBool,
    /// Until when (ms) the worker fetches nothing: a rate limit it ran into.
    limited_until: AtomicI64,
    token_seq: AtomicU64,
    uuid: String,
    /// The named blocking connection, opened before the first fetch needs it (by
    /// `wait_until_ready`, or by manual processing), so `getWorkers` lists the worker.
    blocking: tokio::sync::Mutex<Option<redis::aio::MultiplexedConnection>>,
    /// Whether `Ready` was raised (it is, once).
    announced: AtomicBool,
}

impl Shared {
    fn emit(&self, events: Vec<WorkerEvent>) {
        if !events.is_empty() {
            self.host.deliver(Vec::new(), events, &self.reporter);
        }
    }

    /// Raises `err` as an `Error` event: every final error, and the first transient one
    /// of an outage.
    fn emit_error(&self, err: &Error) {
        self.core.conn.outages.report(err);
    }

    /// Raises `Ready` the first time the worker is connected.
    fn announce_ready(&self) {
        if !self.announced.swap(true, Ordering::SeqCst) {
            self.emit(vec![WorkerEvent::Ready]);
        }
    }

    /// Opens the shared connection and, unless one is open, the named blocking one.
    async fn connect(&self) -> Result<()> {
        self.core.conn().await?;
        let mut blocking = self.blocking.lock().await;
        if blocking.is_none() {
            *blocking = Some(self.core.conn.blocking(Some(&self.client_name())).await?);
        }
        Ok(())
    }

    /// The blocking connection's name, which BullMQ's `getWorkers` looks for.
    fn client_name(&self) -> String {
        let base = self.core.client_name();
        match &self.opts.name {
            Some(name) => format!("{base}:w:{name}"),
            None => base,
        }
    }

    fn next_token(&self) -> String {
        let n = self.token_seq.fetch_add(1, Ordering::Relaxed);
        format!("{}:{n}", self.uuid)
    }

    /// Fetches nothing for the next `ttl` ms (a rate limit's remaining time), at most
    /// `maximumRateLimitDelay`, as BullMQ's worker.
    fn limit(&self, ttl: i64) {
        if ttl > 0 {
            let ttl = ttl.min(self.opts.maximum_rate_limit_delay as i64);
            self.limited_until
                .fetch_max(self.core.clock.now() + ttl, Ordering::SeqCst);
        }
    }

    /// How long fetching must still wait for a rate limit.
    fn rate_limit_wait(&self) -> Option<Duration> {
        let left = self.limited_until.load(Ordering::SeqCst) - self.core.clock.now();
        (left > 0).then(|| Duration::from_millis(left as u64))
    }

    fn run_state(&self) -> RunState {
        *self.state.borrow()
    }

    fn keep_defaults(&self) -> KeepDefaults {
        KeepDefaults {
            on_complete: self.opts.remove_on_complete,
            on_fail: self.opts.remove_on_fail,
        }
    }

    /// Takes fetched jobs into the active set, each with a slot; starts them on the host.
    /// Jobs that must fail before processing are reported failed at once.
    fn accept(
        self: &Arc<Self>,
        jobs: Vec<Job>,
        slots: &mut Vec<Slot>,
        token: &str,
        mut events: Vec<WorkerEvent>,
    ) {
        if jobs.is_empty() {
            if !self.drained.swap(true, Ordering::Relaxed) {
                events.push(WorkerEvent::Drained);
            }
        } else {
            self.drained.store(false, Ordering::Relaxed);
        }
        if jobs.iter().any(|j| j.repeat_job_key.is_some()) {
            let shared = Arc::downgrade(self);
            let sink: OnIterationError = Arc::new(move |e| {
                if let Some(s) = shared.upgrade() {
                    s.emit_error(&e);
                }
            });
            after_take(&self.core, &jobs, self.core.clock.now(), &sink);
        }
        let mut start = Vec::with_capacity(jobs.len());
        let mut refused = Vec::new();
        {
            let mut active = self.active.lock().unwrap_or_else(|e| e.into_inner());
            for mut job in jobs {
                let Some(slot) = slots.pop() else {
                    tracing::error!(job = %job.id, "fetched more jobs than free slots");
                    break;
                };
                let info = AttemptInfo {
                    token: token.to_string(),
                    attempts_made: job.attempts_made,
                    attempts_started: job.attempts_started,
                    max_started_attempts: self.opts.max_started_attempts,
                    deduplication_id: job.deduplication_id.clone(),
                    opts: job.options(),
                    stacktrace: job.stack_entries(),
                };
                let failure = self.failure_before_start(&job);
                let timer = match (&failure, info.opts.timeout.or(self.opts.timeout)) {
                    (None, Some(ms)) => Some(self.start_timer(&job.id, token, ms)),
                    _ => None,
                };
                job.token = Some(token.to_string());
                active.insert(
                    job.id.clone(),
                    ActiveJob {
                        info,
                        renewed_at: Instant::now(),
                        unseen: failure.is_some().then(|| Box::new(job.clone())),
                        phase: Phase::Processing,
                        _timer: timer,
                        _slot: slot,
                    },
                );
                match failure {
                    Some(message) => refused.push((
                        job.id.clone(),
                        token.to_string(),
                        Outcome::Failed(Failure {
                            // BullMQ fails it with an UnrecoverableError it creates, whose
                            // stack joins the job's stacktrace.
                            stack: Some(format!("UnrecoverableError: {message}")),
                            message,
                            unrecoverable: true,
                            ..Failure::default()
                        }),
                    )),
                    None => start.push(job),
                }
            }
        }
        if !refused.is_empty() {
            self.reporter.report_all(refused);
        }
        slots.clear();
        self.start(start, events);
    }

    /// Hands started jobs to the host: all at once, or batch by batch in batch mode.
    fn start(self: &Arc<Self>, jobs: Vec<Job>, events: Vec<WorkerEvent>) {
        let Some(batch) = self.opts.batch else {
            if !jobs.is_empty() || !events.is_empty() {
                self.host.deliver(jobs, events, &self.reporter);
            }
            return;
        };
        let mut events = Some(events);
        for batch in self.batcher.add(self, batch, jobs) {
            self.host
                .deliver(batch, events.take().unwrap_or_default(), &self.reporter);
        }
        if let Some(events) = events.filter(|e| !e.is_empty()) {
            self.host.deliver(Vec::new(), events, &self.reporter);
        }
    }

    /// Tells the host when the attempt of `job_id` under `token` has run for `ms`.
    fn start_timer(self: &Arc<Self>, job_id: &str, token: &str, ms: u64) -> Timer {
        let shared = Arc::downgrade(self);
        let (job_id, token) = (job_id.to_string(), token.to_string());
        let timer = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            if let Some(shared) = shared.upgrade() {
                shared.time_out(job_id, token, ms);
            }
        });
        Timer(timer.abort_handle())
    }

    fn time_out(&self, job_id: String, token: String, timeout_ms: u64) {
        let still_processing = {
            let active = self.active.lock().unwrap_or_else(|e| e.into_inner());
            active.is_processing(&job_id, &token)
        };
        if still_processing {
            let message = format!("Job {job_id} timed out after {timeout_ms} ms");
            self.emit(vec![WorkerEvent::TimedOut {
                job_id,
                token,
                message,
            }]);
        }
    }

    /// BullMQ fails a job before processing when it stalled too often or started too often.
    fn failure_before_start(&self, job: &Job) -> Option<String> {
        if let Some(reason) = &job.deferred_failure {
            return Some(reason.clone());
        }
        match self.opts.max_started_attempts {
            Some(max) if job.attempts_started > max => {
                Some("job started more than allowable limit".into())
            }
            _ => None,
        }
    }

    fn notify_if_idle(&self, active: &Held) {
        if active.is_empty() {
            self.idle.notify_waiters();
        }
    }
}

/// Has the errors reported on the worker's connection raised as `Error` events.
fn report_errors(shared: &Shared) {
    let (host, reporter) = (shared.host.clone(), shared.reporter.clone());
    let sink = ErrorSink(Box::new(move |err| {
        let event = WorkerEvent::Error {
            message: err.to_string(),
            job_id: None,
            token: None,
        };
        host.deliver(Vec::new(), vec![event], &reporter);
    }));
    shared.core.conn.outages.report_to(sink);
}

/// A worker: takes jobs from a queue and hands them to a host that processes them.
pub struct Worker {
    shared: Arc<Shared>,
    queue: Queue,
    started: AtomicBool,
    stalled_started: AtomicBool,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    fetcher: Mutex<Option<JoinHandle<()>>>,
    closed: Notify,
    is_closed: AtomicBool,
}

impl Worker {
    /// Creates a worker for queue `name`; nothing runs until `run`.
    pub fn new(name: &str, opts: WorkerOptions, host: Arc<dyn Host>) -> Result<Worker> {
        opts.validate()?;
        let clock = Arc::<crate::Clock>::default();
        let core = Arc::new(QueueCore::new(
            name,
            &opts.prefix,
            ConnectionOptions {
                patience: Patience::Unbounded,
                ..opts.connection.clone()
            },
            clock.clone(),
        )?);
        let queue = Queue::new(
            name,
            crate::queue::QueueOptions {
                connection: opts.connection.clone(),
                prefix: opts.prefix.clone(),
                skip_meta_update: true,
                clock,
                ..Default::default()
            },
        )?;
        let (state, _) = watch::channel(RunState::Idle);
        let shared = Arc::new(Shared {
            core,
            slots: Slots::new(opts.slots(opts.concurrency)),
            batcher: batch::Batcher::default(),
            opts,
            host,
            reporter: Reporter {
                finisher: Arc::default(),
            },
            active: Mutex::new(Held::default()),
            idle: Notify::new(),
            state,
            drained: AtomicBool::new(false),
            limited_until: AtomicI64::new(0),
            token_seq: AtomicU64::new(0),
            uuid: uuid::Uuid::new_v4().to_string(),
            blocking: tokio::sync::Mutex::new(None),
            announced: AtomicBool::new(false),
        });
        report_errors(&shared);
        Ok(Worker {
            shared,
            queue,
            started: AtomicBool::new(false),
            stalled_started: AtomicBool::new(false),
            tasks: Mutex::new(Vec::new()),
            fetcher: Mutex::new(None),
            closed: Notify::new(),
            is_closed: AtomicBool::new(false),
        })
    }

    /// The worker's reporter, for outcomes of the jobs it delivered.
    pub fn reporter(&self) -> Reporter {
        self.shared.reporter.clone()
    }

    /// The clock the worker's timestamps come from (tell it the host's time with
    /// [`crate::Clock::observe`]).
    pub fn clock(&self) -> &crate::Clock {
        &self.shared.core.clock
    }

    /// The worker's id (BullMQ's `worker.id`).
    pub fn id(&self) -> &str {
        &self.shared.uuid
    }

    /// A queue handle on the worker's queue, for job operations (progress, logs).
    pub fn queue(&self) -> Queue {
        self.queue.clone()
    }

    /// Connects, opening the named blocking connection at once so `getWorkers` lists the
    /// worker before it runs (as BullMQ's worker connects when created); raises `Ready`
    /// the first time. While Redis is unreachable it waits (raising one `Error`).
    pub async fn wait_until_ready(&self) -> Result<()> {
        if self.is_closed.load(Ordering::SeqCst) {
            return Err(Error::Closed);
        }
        if self.shared.announced.load(Ordering::SeqCst) {
            return self.shared.core.conn().await.map(|_| ());
        }
        let conn = &self.shared.core.conn;
        crate::retry::retrying(conn, Patience::Unbounded, || self.shared.connect()).await?;
        self.shared.announce_ready();
        Ok(())
    }

    /// Starts fetching, renewing locks and checking for stalled jobs. Connection trouble
    /// is reported as `Error` events while the worker retries; `Ready` follows the first
    /// successful connection.
    pub async fn run(&self) -> Result<()> {
        if self.started.swap(true, Ordering::SeqCst) {
            return Err(Error::InvalidArgument("Worker is already running.".into()));
        }
        let shared = &self.shared;
        shared.state.send_replace(RunState::Running);
        shared.reporter.finisher.start(shared);
        let mut tasks = self.tasks.lock().unwrap_or_else(|e| e.into_inner());
        *self.fetcher.lock().unwrap_or_else(|e| e.into_inner()) =
            Some(tokio::spawn(fetcher::run(shared.clone())));
        if !shared.opts.skip_lock_renewal {
            tasks.push(tokio::spawn(locks::run(shared.clone())));
        }
        drop(tasks);
        self.start_stalled_check();
        Ok(())
    }

    /// Starts the periodic stalled-job check (BullMQ's `startStalledCheckTimer`), for a
    /// worker that takes jobs by hand; `run` starts it too. Does nothing when already
    /// started or with `skipStalledCheck`.
    pub fn start_stalled_check(&self) {
        if self.shared.opts.skip_stalled_check || self.stalled_started.swap(true, Ordering::SeqCst)
        {
            return;
        }
        let task = tokio::spawn(stalled::run(self.shared.clone()));
        self.tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(task);
    }

    /// Runs one stalled-job check now (BullMQ's `moveStalledJobsToWait`); returns the ids
    /// it moved back to wait, each also raised as a `Stalled` event.
    pub async fn check_stalled(&self) -> Result<Vec<String>> {
        stalled::check_and_report(&self.shared).await
    }

    /// Whether the worker is fetching or processing.
    pub fn is_running(&self) -> bool {
        matches!(
            self.shared.run_state(),
            RunState::Running | RunState::Paused
        )
    }

    /// Whether the worker was paused locally.
    pub fn is_paused(&self) -> bool {
        self.shared.run_state() == RunState::Paused
    }

    /// Stops fetching (jobs in hand go on); with `wait_active`, returns once they are done.
    pub async fn pause(&self, wait_active: bool) {
        self.pause_now();
        if wait_active {
            self.wait_idle().await;
        }
    }

    /// Stops fetching at once; jobs in hand go on.
    pub fn pause_now(&self) {
        self.shared.state.send_if_modified(|s| {
            let change = *s == RunState::Running;
            if change {
                *s = RunState::Paused;
            }
            change
        });
    }

    /// Fetches again after `pause`.
    pub fn resume(&self) {
        self.shared.state.send_if_modified(|s| {
            let change = *s == RunState::Paused;
            if change {
                *s = RunState::Running;
            }
            change
        });
    }

    /// Returns once the worker holds no job.
    pub async fn wait_idle(&self) {
        loop {
            let notified = self.shared.idle.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.active_count() == 0 {
                return;
            }
            notified.await;
        }
    }

    /// Changes how many jobs the worker processes at once; jobs already held beyond a
    /// lower limit finish first.
    pub fn set_concurrency(&self, concurrency: usize) -> Result<()> {
        WorkerOptions::check_concurrency(concurrency)?;
        self.shared
            .slots
            .resize(self.shared.opts.slots(concurrency));
        Ok(())
    }

    /// The concurrency in effect (in batches, for a worker with `batch`).
    pub fn concurrency(&self) -> usize {
        self.shared.slots.concurrency() / self.shared.opts.slots(1)
    }

    /// How many jobs the worker holds.
    pub fn active_count(&self) -> usize {
        self.shared
            .active
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }

    /// Stops the worker: no new jobs; waits for the active ones unless `force`.
    pub async fn close(&self, force: bool) {
        if self.is_closed.swap(true, Ordering::SeqCst) {
            return self.closed_wait().await;
        }
        let was_running = self.shared.run_state() != RunState::Idle;
        self.shared.state.send_replace(RunState::Closing);
        self.shared.emit(vec![WorkerEvent::Closing]);
        let fetcher = self
            .fetcher
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(fetcher) = fetcher {
            if force {
                fetcher.abort();
            } else {
                let _ = fetcher.await;
            }
        }
        if was_running && !force {
            self.wait_idle().await;
        }
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|e| e.into_inner()));
        for task in tasks {
            task.abort();
        }
        self.shared.core.conn.close();
        self.queue.close().await;
        *self.shared.blocking.lock().await = None;
        self.shared.emit(vec![WorkerEvent::Closed]);
        self.closed.notify_waiters();
    }

    async fn closed_wait(&self) {
        let notified = self.closed.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if self
            .tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
        {
            return;
        }
        notified.await;
    }
}
