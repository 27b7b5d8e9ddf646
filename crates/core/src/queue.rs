//! The producer and admin side of a queue.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use redis::Value;
use serde_json::Value as Json;
use tokio::sync::OnceCell;

use crate::add::stored_job;
use crate::clock::Clock;
use crate::coalesce::{AddCoalescer, AddReply, ADD_BATCH};
use crate::connection::{Connection, ConnectionOptions};
use crate::error::{Error, Result};
use crate::job::{value_int, value_string, Job};
use crate::keys::{JobState, QueueKeys};
use crate::link::SocketReader;
use crate::options::{prepare_job, AddContext, NewJob};
pub use crate::queue_base::validate_queue_name;
use crate::queue_base::QueueCore;
use crate::scripts;

/// The `version` a queue writes into its meta hash: BullMQ's `bullmq:<version>`, naming
/// the BullMQ release whose Redis layout and behaviour this engine follows, so tools that
/// read it (dashboards, BullMQ's own getters) see a BullMQ queue of that layout.
pub const VERSION: &str = "bullmq:6.7.0";

/// Options of a queue (BullMQ's `QueueOptions`).
#[derive(Debug, Clone)]
pub struct QueueOptions {
    pub connection: ConnectionOptions,
    /// Key prefix, `bull` by default.
    pub prefix: String,
    /// Options merged under every job's own options.
    pub default_job_options: Json,
    /// Approximate length the events stream is trimmed to.
    pub max_len_events: i64,
    /// Leave the meta hash (version, events length) as it is.
    pub skip_meta_update: bool,
    /// The clock the queue's timestamps come from.
    pub clock: Arc<Clock>,
}

impl Default for QueueOptions {
    fn default() -> Self {
        QueueOptions {
            connection: ConnectionOptions::default(),
            prefix: "bull".into(),
            default_job_options: Json::Object(Default::default()),
            max_len_events: 10_000,
            skip_meta_update: false,
            clock: Arc::default(),
        }
    }
}

/// Which options an add stores: the queue's `defaultJobOptions` under the job's own
/// (BullMQ's `Queue.add`), or the job's own only (BullMQ's `Job.create`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Defaults {
    Merge,
    Skip,
}

/// Counts of jobs per state, in the order asked.
pub type JobCounts = Vec<(String, i64)>;

/// Whether and how a job has finished.
#[derive(Debug, Clone, PartialEq)]
pub enum Finished {
    Missing,
    Pending,
    Completed(String),
    Failed(String),
}

/// A queue handle: adds jobs and administers the queue.
#[derive(Clone)]
pub struct Queue {
    inner: Arc<QueueInner>,
}

struct QueueInner {
    core: Arc<QueueCore>,
    opts: QueueOptions,
    meta: OnceCell<()>,
    adds: Arc<AddCoalescer>,
    closed: AtomicBool,
}

impl Queue {
    /// Creates a queue handle; nothing touches Redis until the first operation.
    pub fn new(name: &str, opts: QueueOptions) -> Result<Queue> {
        let core = QueueCore::new(
            name,
            &opts.prefix,
            opts.connection.clone(),
            opts.clock.clone(),
        )?;
        Self::with_core(core, opts)
    }

    /// A handle on queue `name` over `conn`, a connection other handles share (closing
    /// this handle closes it for them too).
    pub(crate) fn on_connection(
        name: &str,
        opts: QueueOptions,
        conn: Arc<Connection>,
    ) -> Result<Queue> {
        let core = QueueCore::on_connection(name, &opts.prefix, conn, opts.clock.clone())?;
        Self::with_core(core, opts)
    }

    fn with_core(core: QueueCore, opts: QueueOptions) -> Result<Queue> {
        if !opts.default_job_options.is_object() && !opts.default_job_options.is_null() {
            return Err(Error::InvalidArgument(
                "defaultJobOptions must be an object".into(),
            ));
        }
        Ok(Queue {
            inner: Arc::new(QueueInner {
                core: Arc::new(core),
                opts,
                meta: OnceCell::new(),
                adds: Arc::default(),
                closed: AtomicBool::new(false),
            }),
        })
    }

    /// The queue's name.
    pub fn name(&self) -> &str {
        &self.inner.core.name
    }

    /// `<prefix>:<name>`.
    pub fn qualified_name(&self) -> String {
        format!("{}:{}", self.inner.core.prefix, self.inner.core.name)
    }

    /// The clock the queue's timestamps come from (tell it the host's time with
    /// [`Clock::observe`]).
    pub fn clock(&self) -> &Clock {
        &self.inner.core.clock
    }

    /// The queue's keys.
    pub fn keys(&self) -> &QueueKeys {
        &self.inner.core.keys
    }

    /// The options the queue was made with.
    pub(crate) fn options(&self) -> &QueueOptions {
        &self.inner.opts
    }

    /// The connection and keys shared by the queue's operations.
    pub(crate) fn core(&self) -> &QueueCore {
        &self.inner.core
    }

    /// Has `reader`, an event loop the embedder runs, read the replies to this queue's
    /// commands, so they arrive on its thread without a hop through the runtime. Call it
    /// before the first command; false over TLS, whose replies the runtime reads.
    pub fn read_replies_with(&self, reader: Arc<dyn SocketReader>) -> bool {
        self.inner.core.conn.read_replies_with(reader)
    }

    /// Has the queue's errors (a lost connection, once per outage) go to `sink`; false
    /// when a sink is set already.
    pub fn report_errors_to(&self, sink: impl Fn(&Error) + Send + Sync + 'static) -> bool {
        let sink = crate::outage::ErrorSink(Box::new(sink));
        self.inner.core.conn.outages.report_to(sink)
    }

    /// Connects and writes the queue's meta (version, events length) once.
    pub async fn wait_until_ready(&self) -> Result<()> {
        self.inner
            .meta
            .get_or_try_init(|| async {
                let core = &self.inner.core;
                if self.inner.opts.skip_meta_update {
                    return core.conn().await.map(|_| ());
                }
                core.query::<()>(
                    redis::cmd("HSET")
                        .arg(&core.keys.meta)
                        .arg("opts.maxLenEvents")
                        .arg(self.inner.opts.max_len_events)
                        .arg("version")
                        .arg(VERSION),
                )
                .await
            })
            .await?;
        Ok(())
    }

    /// Validates a job against the queue's defaults, without touching Redis.
    pub fn prepare(&self, name: &str, data: &str, opts: &Json) -> Result<NewJob> {
        self.prepare_with(name, data, opts, Defaults::Merge)
    }

    fn prepare_with(
        &self,
        name: &str,
        data: &str,
        opts: &Json,
        defaults: Defaults,
    ) -> Result<NewJob> {
        if !opts.is_object() && !opts.is_null() {
            return Err(Error::InvalidArgument(
                "Job options must be an object".into(),
            ));
        }
        let merged = match defaults {
            Defaults::Merge => merge_options(&self.inner.opts.default_job_options, opts),
            Defaults::Skip => opts.clone(),
        };
        let ctx = AddContext {
            now: self.inner.core.clock.now(),
        };
        prepare_job(name, data, &merged, ctx)
    }

    /// Adds one job over the queue's default options; concurrent calls share script
    /// calls. Returns the stored job.
    pub async fn add(&self, name: &str, data: &str, opts: &Json) -> Result<Job> {
        self.add_with(name, data, opts, Defaults::Merge).await
    }

    /// Adds one job, with or without the queue's default options.
    pub async fn add_with(
        &self,
        name: &str,
        data: &str,
        opts: &Json,
        defaults: Defaults,
    ) -> Result<Job> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.add_now(
            name,
            data,
            opts,
            defaults,
            Box::new(move |job| drop(tx.send(job))),
        )?;
        rx.await.map_err(|_| Error::Closed)?
    }

    /// Adds one job and hands the stored job to `reply`. Once the queue is ready and its
    /// connection open, the add is written to Redis before this returns; call it within
    /// the runtime. Bad input is refused here, before anything is sent.
    pub fn add_now(
        &self,
        name: &str,
        data: &str,
        opts: &Json,
        defaults: Defaults,
        reply: Box<dyn FnOnce(Result<Job>) + Send>,
    ) -> Result<()> {
        self.check_open()?;
        let job = self.prepare_with(name, data, opts, defaults)?;
        if self.inner.meta.initialized() {
            self.submit(job, reply);
            return Ok(());
        }
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| Error::Closed)?;
        if self
            .inner
            .adds
            .submit_held(job.clone(), stored_reply(job, reply))
        {
            let queue = self.clone();
            runtime.spawn(async move {
                let adds = &queue.inner.adds;
                match queue.wait_until_ready().await {
                    Ok(()) => adds.release(&queue.inner.core),
                    Err(err) => adds.fail_held(err),
                }
            });
        }
        Ok(())
    }

    fn submit(&self, job: NewJob, reply: Box<dyn FnOnce(Result<Job>) + Send>) {
        let stored = stored_reply(job.clone(), reply);
        self.inner.adds.submit(&self.inner.core, job, stored);
    }

    /// Reads job `id` and hands it to `reply` (`None` when it does not exist). On plain TCP
    /// the read is written to Redis before this returns; call it within the runtime.
    pub fn get_job_now(
        &self,
        id: &str,
        reply: Box<dyn FnOnce(Result<Option<Job>>) + Send>,
    ) -> Result<()> {
        self.check_open()?;
        let core = &self.inner.core;
        let id = id.to_string();
        let mut cmd = redis::cmd("HGETALL");
        cmd.arg(core.keys.job(&id));
        core.conn.send_command(
            cmd,
            Box::new(move |value| reply(value.map(|v| Job::from_reply(&id, &v)))),
        );
        Ok(())
    }

    /// Adds many jobs over the queue's default options, in as few script calls as
    /// possible; all are validated first.
    pub async fn add_bulk(&self, jobs: &[(String, String, Json)]) -> Result<Vec<Job>> {
        self.add_bulk_with(jobs, Defaults::Merge).await
    }

    /// Adds many jobs, with or without the queue's default options.
    pub async fn add_bulk_with(
        &self,
        jobs: &[(String, String, Json)],
        defaults: Defaults,
    ) -> Result<Vec<Job>> {
        self.check_open()?;
        let prepared = jobs
            .iter()
            .map(|(name, data, opts)| self.prepare_with(name, data, opts, defaults))
            .collect::<Result<Vec<_>>>()?;
        self.wait_until_ready().await?;
        let mut out = Vec::with_capacity(prepared.len());
        for chunk in prepared.chunks(ADD_BATCH) {
            let refs: Vec<&NewJob> = chunk.iter().collect();
            let answers = self.inner.core.add_jobs(&refs).await?;
            for (answer, job) in answers.into_iter().zip(chunk.iter().cloned()) {
                out.push(stored_job(answer?, job));
            }
        }
        Ok(out)
    }

    /// Reads one job; `None` when it does not exist.
    pub async fn get_job(&self, id: &str) -> Result<Option<Job>> {
        self.inner.core.get_job(id).await
    }

    /// Counts jobs in each of the given states (BullMQ's type names).
    pub async fn get_job_counts(&self, types: &[String]) -> Result<JobCounts> {
        let keys = self.keys();
        let mut pipe = redis::pipe();
        let mut names = Vec::with_capacity(types.len());
        for t in types {
            let state = JobState::parse(t)
                .ok_or_else(|| Error::InvalidArgument(format!("Unknown job state {t}")))?;
            let cmd = if state.is_list() { "LLEN" } else { "ZCARD" };
            pipe.cmd(cmd).arg(keys.state(state));
            names.push(t.clone());
        }
        let counts: Vec<i64> = self.inner.core.pipeline(&pipe).await?;
        Ok(names.into_iter().zip(counts).collect())
    }

    /// Reads many jobs in one round trip; missing ones are skipped.
    pub async fn get_jobs_by_id(&self, ids: &[String]) -> Result<Vec<Job>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for id in ids {
            pipe.cmd("HGETALL").arg(self.keys().job(id));
        }
        let hashes: Vec<Value> = self.inner.core.pipeline(&pipe).await?;
        Ok(ids
            .iter()
            .zip(hashes.iter())
            .filter_map(|(id, h)| Job::from_reply(id, h))
            .collect())
    }

    /// Names the state a job is in (`completed`, `waiting`, ... or `unknown`).
    pub async fn get_job_state(&self, id: &str) -> Result<String> {
        let k = self.keys();
        let mut inv = scripts::GET_STATE.prepare_invoke();
        inv.key(&k.completed)
            .key(&k.failed)
            .key(&k.delayed)
            .key(&k.prioritized)
            .key(&k.active)
            .key(&k.wait)
            .key(&k.paused)
            .key(&k.waiting_children)
            .arg(id);
        self.inner.core.invoke(&inv).await
    }

    /// Tells whether a job has finished, with its result or reason.
    pub async fn job_finished(&self, id: &str) -> Result<Finished> {
        let k = self.keys();
        let mut inv = scripts::JOB_FINISHED.prepare_invoke();
        inv.key(k.job(id)).key(&k.completed).key(&k.failed).arg(id);
        let reply: Vec<Value> = self.inner.core.invoke(&inv).await?;
        let text = || reply.get(1).and_then(value_string).unwrap_or_default();
        Ok(match reply.first().and_then(value_int) {
            Some(1) => Finished::Completed(text()),
            Some(2) => Finished::Failed(text()),
            Some(0) => Finished::Pending,
            _ => Finished::Missing,
        })
    }

    /// Stops all workers of the queue from taking jobs.
    pub async fn pause(&self) -> Result<()> {
        self.wait_until_ready().await?;
        let k = self.keys();
        let mut inv = scripts::PAUSE.prepare_invoke();
        inv.key(&k.meta).key(&k.marker).key(&k.events);
        self.inner.core.invoke::<i64>(&inv).await.map(|_| ())
    }

    /// Lets workers take jobs again.
    pub async fn resume(&self) -> Result<()> {
        self.wait_until_ready().await?;
        let k = self.keys();
        let mut inv = scripts::RESUME.prepare_invoke();
        inv.key(&k.meta)
            .key(&k.wait)
            .key(&k.paused)
            .key(&k.prioritized)
            .key(&k.delayed)
            .key(&k.marker)
            .key(&k.events);
        self.inner.core.invoke::<i64>(&inv).await.map(|_| ())
    }

    /// Trims the events stream to about `max_len` entries; returns how many went.
    pub async fn trim_events(&self, max_len: i64) -> Result<i64> {
        if max_len < 0 {
            return Err(Error::InvalidArgument(
                "maxLength must be an integer >= 0".into(),
            ));
        }
        self.inner
            .core
            .query(
                redis::cmd("XTRIM")
                    .arg(&self.keys().events)
                    .arg("MAXLEN")
                    .arg("~")
                    .arg(max_len),
            )
            .await
    }

    /// Whether the queue is paused.
    pub async fn is_paused(&self) -> Result<bool> {
        self.inner
            .core
            .query(redis::cmd("HEXISTS").arg(&self.keys().meta).arg("paused"))
            .await
    }

    /// Stores a job's progress (JSON text) and emits `progress`.
    pub async fn update_progress(&self, id: &str, progress: &str) -> Result<()> {
        let k = self.keys();
        let mut inv = scripts::UPDATE_PROGRESS.prepare_invoke();
        inv.key(k.job(id))
            .key(&k.events)
            .key(&k.meta)
            .arg(id)
            .arg(progress);
        let code: i64 = self.inner.core.invoke(&inv).await?;
        QueueCore::check_code(code, id, "updateProgress", "active").map(|_| ())
    }

    /// Appends a line to a job's log, keeping the newest `keep_logs` lines when it is
    /// given and not 0; returns how many lines it keeps.
    pub async fn add_log(&self, id: &str, row: &str, keep_logs: Option<i64>) -> Result<i64> {
        let k = self.keys();
        let mut inv = scripts::ADD_LOG.prepare_invoke();
        inv.key(k.job(id)).key(k.logs(id)).arg(row).arg(
            keep_logs
                .filter(|n| *n != 0)
                .map(|n| n.to_string())
                .unwrap_or_default(),
        );
        let code: i64 = self.inner.core.invoke(&inv).await?;
        QueueCore::check_code(code, id, "addLog", "active")
    }

    /// Reads a job's log lines from `start` to `end` (inclusive) and how many there are.
    pub async fn get_job_logs(&self, id: &str, start: i64, end: i64) -> Result<(Vec<String>, i64)> {
        let key = self.keys().logs(id);
        let mut pipe = redis::pipe();
        pipe.cmd("LRANGE").arg(&key).arg(start).arg(end);
        pipe.cmd("LLEN").arg(&key);
        self.inner.core.pipeline(&pipe).await
    }

    /// Sends a completed or failed job back to wait (BullMQ's `job.retry`).
    pub async fn reprocess(
        &self,
        id: &str,
        from: JobState,
        reset_made: bool,
        reset_started: bool,
    ) -> Result<()> {
        let (set, state) = match from {
            JobState::Completed => (&self.keys().completed, "completed"),
            JobState::Failed => (&self.keys().failed, "failed"),
            _ => {
                return Err(Error::InvalidArgument(
                    "Only completed or failed jobs can be retried".into(),
                ))
            }
        };
        let lifo = self.get_job(id).await?.is_some_and(|j| j.options().lifo);
        let k = self.keys();
        let flag = |b: bool| if b { "1" } else { "0" };
        let mut inv = scripts::REPROCESS_JOB.prepare_invoke();
        inv.key(k.job(id))
            .key(&k.events)
            .key(set)
            .key(&k.wait)
            .key(&k.meta)
            .key(&k.active)
            .key(&k.marker)
            .key(&k.prioritized)
            .key(&k.pc)
            .arg(id)
            .arg(flag(lifo))
            .arg(state)
            .arg(flag(reset_made))
            .arg(flag(reset_started));
        let code: i64 = self.inner.core.invoke(&inv).await?;
        let state = if state == "failed" {
            "failed"
        } else {
            "completed"
        };
        QueueCore::check_code(code, id, "reprocessJob", state).map(|_| ())
    }

    /// Refuses further adds; adds already made still finish.
    pub async fn close(&self) {
        self.inner.closed.store(true, Ordering::Release);
        self.inner.core.conn.close();
    }

    fn check_open(&self) -> Result<()> {
        if self.inner.closed.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        Ok(())
    }
}

/// Shallow merge of job options over the queue defaults (`Object.assign` order).
fn merge_options(defaults: &Json, opts: &Json) -> Json {
    let mut merged = match defaults {
        Json::Object(d) => d.clone(),
        _ => Default::default(),
    };
    if let Json::Object(o) = opts {
        for (k, v) in o {
            merged.insert(k.clone(), v.clone());
        }
    }
    Json::Object(merged)
}

/// Turns the id an add got into the stored job, for `reply`.
fn stored_reply(job: NewJob, reply: Box<dyn FnOnce(Result<Job>) + Send>) -> AddReply {
    Box::new(move |id| reply(id.map(|id| stored_job(id, job))))
}
