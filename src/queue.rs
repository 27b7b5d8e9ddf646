//! `NativeQueue`: the engine's Queue for the JS layer.

use bullrush_core::{
    CleanState, Defaults, Finished, FinishedState, JobState, PriorityChange, Queue, QueueOptions,
};
use napi::bindgen_prelude::{FnArgs, Function, Result};
use napi_derive::napi;

use crate::convert::{
    connection, finite, integer, js_error, parse_json, JsAdded, JsConnection, JsJob,
};
use crate::reply::{Answer, NativeReplier};
use crate::socket::NativeReplyFeed;

/// Queue options, normalised by the JS layer.
#[napi(object)]
pub struct JsQueueOptions {
    pub connection: Option<JsConnection>,
    pub prefix: Option<String>,
    /// `defaultJobOptions` as JSON text.
    pub default_job_options: Option<String>,
    pub max_len_events: Option<i64>,
    pub skip_meta_update: Option<bool>,
}

/// One job of an `addBulk` call; data and options as JSON text.
#[napi(object)]
pub struct JsNewJob {
    pub name: String,
    pub data: String,
    pub opts: String,
}

/// Whether a job has finished: code -1 missing, 0 pending, 1 completed, 2 failed.
#[napi(object)]
pub struct JsFinished {
    pub code: i32,
    pub value: Option<String>,
}

/// What `clean` removed: the state's name and the ids of each script call.
#[napi(object)]
pub struct JsCleaned {
    pub state: String,
    pub pages: Vec<Vec<String>>,
}

/// `Queue.add` merges the queue's default options, `Job.create` does not.
fn defaults(merge: bool) -> Defaults {
    if merge {
        Defaults::Merge
    } else {
        Defaults::Skip
    }
}

#[napi]
pub struct NativeQueue {
    pub(crate) inner: Queue,
}

impl NativeQueue {
    pub(crate) fn wrap(inner: Queue) -> NativeQueue {
        NativeQueue { inner }
    }
}

#[napi]
impl NativeQueue {
    #[napi(constructor)]
    pub fn new(name: String, opts: JsQueueOptions) -> Result<Self> {
        crate::init_tracing();
        let defaults = match &opts.default_job_options {
            Some(text) => parse_json(text)?,
            None => serde_json::Value::Object(Default::default()),
        };
        let base = QueueOptions::default();
        let core_opts = QueueOptions {
            connection: connection(&opts.connection)?,
            prefix: opts.prefix.clone().unwrap_or(base.prefix),
            default_job_options: defaults,
            max_len_events: opts.max_len_events.unwrap_or(base.max_len_events),
            skip_meta_update: opts.skip_meta_update.unwrap_or(false),
            ..base
        };
        let inner = Queue::new(&name, core_opts).map_err(js_error)?;
        Ok(NativeQueue { inner })
    }

    /// Has `callback(feed, fd)` read this queue's replies on Node's event loop; false
    /// where the runtime reads them instead (TLS, Windows).
    #[napi]
    pub fn read_replies_with(
        &self,
        callback: Function<FnArgs<(NativeReplyFeed, i32)>, ()>,
    ) -> Result<bool> {
        #[cfg(unix)]
        {
            let reader = crate::socket::JsSocketReader::new(callback)?;
            Ok(self.inner.read_replies_with(std::sync::Arc::new(reader)))
        }
        #[cfg(not(unix))]
        {
            let _ = callback;
            Ok(false)
        }
    }

    /// Has `callback(message)` receive the queue's errors (a connection lost, once per
    /// outage), each as `<code>|<message>`.
    #[napi]
    pub fn report_errors_with(&self, callback: Function<String, ()>) -> Result<bool> {
        let callback = callback
            .build_threadsafe_function()
            .callee_handled::<false>()
            .weak::<true>()
            .build()?;
        Ok(self.inner.report_errors_to(move |err| {
            let text = crate::convert::js_error(err.clone()).reason;
            callback.call(
                text,
                napi::threadsafe_function::ThreadsafeFunctionCallMode::NonBlocking,
            );
        }))
    }

    /// Takes the host's time (`Date.now()`) as the queue's time now.
    #[napi]
    pub fn observe_clock(&self, now: f64) {
        self.inner.clock().observe(now as i64);
    }

    /// The types BullMQ's getters and counts read when given none.
    #[napi]
    pub fn default_job_types() -> Vec<String> {
        bullrush_core::ranges::DEFAULT_JOB_TYPES
            .iter()
            .map(|t| t.to_string())
            .collect()
    }

    #[napi]
    pub async fn wait_until_ready(&self) -> Result<()> {
        self.inner.wait_until_ready().await.map_err(js_error)
    }

    /// Validates a job without storing it (throws what `add` would).
    #[napi]
    pub fn validate(&self, name: String, data: String, opts: String) -> Result<()> {
        let opts = parse_json(&opts)?;
        self.inner
            .prepare(&name, &data, &opts)
            .map(|_| ())
            .map_err(js_error)
    }

    /// Adds a job; the answer arrives on `replier` as request `request`.
    #[napi]
    pub fn add_with(
        &self,
        replier: &NativeReplier,
        request: u32,
        name: String,
        data: String,
        opts: String,
        merge_defaults: bool,
    ) -> Result<()> {
        let opts = parse_json(&opts)?;
        let answer = replier.answer(request);
        let reply = Box::new(move |job: bullrush_core::Result<bullrush_core::Job>| {
            answer(job.map(|job| Answer::Added(vec![job.into()])))
        });
        napi::bindgen_prelude::within_runtime_if_available(|| {
            self.inner
                .add_now(&name, &data, &opts, defaults(merge_defaults), reply)
        })
        .map_err(js_error)
    }

    /// Adds many jobs; the answer arrives on `replier` as request `request`.
    #[napi]
    pub fn add_bulk_with(
        &self,
        replier: &NativeReplier,
        request: u32,
        jobs: Vec<JsNewJob>,
        merge_defaults: bool,
    ) -> Result<()> {
        let parsed = jobs
            .into_iter()
            .map(|j| Ok((j.name, j.data, parse_json(&j.opts)?)))
            .collect::<Result<Vec<_>>>()?;
        let defaults = defaults(merge_defaults);
        let queue = self.inner.clone();
        replier.spawn(request, async move {
            let added = queue.add_bulk_with(&parsed, defaults).await?;
            Ok(Answer::Added(
                added.into_iter().map(JsAdded::from).collect(),
            ))
        });
        Ok(())
    }

    /// Reads a job; the answer arrives on `replier` as request `request`. The read is
    /// written from this thread, ahead of anything the caller does next.
    #[napi]
    pub fn get_job_with(&self, replier: &NativeReplier, request: u32, id: String) -> Result<()> {
        let answer = replier.answer(request);
        let reply = Box::new(
            move |job: bullrush_core::Result<Option<bullrush_core::Job>>| {
                answer(job.map(|job| Answer::Read(job.map(|job| Box::new(job.into())))))
            },
        );
        napi::bindgen_prelude::within_runtime_if_available(|| self.inner.get_job_now(&id, reply))
            .map_err(js_error)
    }

    #[napi]
    pub async fn get_job(&self, id: String) -> Result<Option<JsJob>> {
        let job = self.inner.get_job(&id).await.map_err(js_error)?;
        Ok(job.map(JsJob::from))
    }

    /// Trims the events stream to about `max_len` entries.
    #[napi]
    pub async fn trim_events(&self, max_len: f64) -> Result<i64> {
        let max_len = integer(max_len, "maxLength")?;
        self.inner.trim_events(max_len).await.map_err(js_error)
    }

    #[napi]
    pub async fn job_finished(&self, id: String) -> Result<JsFinished> {
        let finished = self.inner.job_finished(&id).await.map_err(js_error)?;
        Ok(match finished {
            Finished::Missing => JsFinished {
                code: -1,
                value: None,
            },
            Finished::Pending => JsFinished {
                code: 0,
                value: None,
            },
            Finished::Completed(v) => JsFinished {
                code: 1,
                value: Some(v),
            },
            Finished::Failed(v) => JsFinished {
                code: 2,
                value: Some(v),
            },
        })
    }

    #[napi]
    pub async fn pause(&self) -> Result<()> {
        self.inner.pause().await.map_err(js_error)
    }

    #[napi]
    pub async fn resume(&self) -> Result<()> {
        self.inner.resume().await.map_err(js_error)
    }

    #[napi]
    pub async fn is_paused(&self) -> Result<bool> {
        self.inner.is_paused().await.map_err(js_error)
    }

    #[napi]
    pub async fn drain(&self, delayed: bool) -> Result<i64> {
        self.inner.drain(delayed).await.map_err(js_error)
    }

    #[napi]
    pub async fn obliterate(&self, force: bool, count: i64) -> Result<()> {
        self.inner.obliterate(force, count).await.map_err(js_error)
    }

    #[napi]
    pub async fn update_progress(&self, id: String, progress: String) -> Result<()> {
        self.inner
            .update_progress(&id, &progress)
            .await
            .map_err(js_error)
    }

    #[napi]
    pub async fn add_log(&self, id: String, row: String, keep_logs: Option<i64>) -> Result<i64> {
        self.inner
            .add_log(&id, &row, keep_logs)
            .await
            .map_err(js_error)
    }

    #[napi]
    pub async fn reprocess(
        &self,
        id: String,
        state: String,
        reset_made: bool,
        reset_started: bool,
    ) -> Result<()> {
        let state = JobState::parse(&state).unwrap_or(JobState::Failed);
        self.inner
            .reprocess(&id, state, reset_made, reset_started)
            .await
            .map_err(js_error)
    }

    /// Removes jobs of one state older than `grace` ms (`limit` 0: all of them).
    #[napi]
    pub async fn clean(&self, grace: f64, limit: f64, state: String) -> Result<JsCleaned> {
        // Timestamps are whole ms, so rounding the grace up keeps the same jobs.
        let grace = finite(grace, "grace")?.ceil() as i64;
        let limit = integer(limit, "limit")?;
        let state = CleanState::parse(&state).map_err(js_error)?;
        let pages = self
            .inner
            .clean(grace, limit, state)
            .await
            .map_err(js_error)?;
        Ok(JsCleaned {
            state: state.name().to_string(),
            pages,
        })
    }

    /// Sends finished jobs of `state` up to `timestamp` (now when absent) back to wait.
    #[napi]
    pub async fn retry_jobs(
        &self,
        state: String,
        count: f64,
        timestamp: Option<f64>,
    ) -> Result<()> {
        let state = FinishedState::parse(&state).map_err(js_error)?;
        let count = integer(count, "count")?;
        let timestamp = match timestamp {
            // Scores are whole ms, so rounding down moves the same jobs.
            Some(t) => Some(finite(t, "timestamp")?.floor() as i64),
            None => None,
        };
        self.inner
            .retry_jobs(state, count, timestamp)
            .await
            .map_err(js_error)
    }

    /// Sends every delayed job to wait.
    #[napi]
    pub async fn promote_jobs(&self, count: f64) -> Result<()> {
        let count = integer(count, "count")?;
        self.inner.promote_jobs(count).await.map_err(js_error)
    }

    #[napi]
    pub async fn remove_deduplication_key(&self, id: String) -> Result<i64> {
        self.inner
            .remove_deduplication_key(&id)
            .await
            .map_err(js_error)
    }

    #[napi]
    pub async fn release_deduplication_key(&self, id: String, job_id: String) -> Result<bool> {
        self.inner
            .release_deduplication_key(&id, &job_id)
            .await
            .map_err(js_error)
    }

    #[napi]
    pub async fn update_data(&self, id: String, data: String) -> Result<()> {
        self.inner.update_data(&id, &data).await.map_err(js_error)
    }

    #[napi]
    pub async fn change_delay(&self, id: String, delay: i64) -> Result<()> {
        self.inner.change_delay(&id, delay).await.map_err(js_error)
    }

    /// `opts`: BullMQ's `{ priority?, lifo? }` as JSON text.
    #[napi]
    pub async fn change_priority(&self, id: String, opts: String) -> Result<()> {
        let change = PriorityChange::from_json(&parse_json(&opts)?).map_err(js_error)?;
        self.inner
            .change_priority(&id, change)
            .await
            .map_err(js_error)
    }

    #[napi]
    pub async fn promote(&self, id: String) -> Result<()> {
        self.inner.promote(&id).await.map_err(js_error)
    }

    #[napi]
    pub async fn clear_logs(&self, id: String, keep: Option<i64>) -> Result<()> {
        self.inner.clear_logs(&id, keep).await.map_err(js_error)
    }

    #[napi]
    pub async fn set_global_concurrency(&self, concurrency: f64) -> Result<i64> {
        let concurrency = integer(concurrency, "concurrency")?;
        self.inner
            .set_global_concurrency(concurrency)
            .await
            .map_err(js_error)
    }

    #[napi]
    pub async fn remove_global_concurrency(&self) -> Result<i64> {
        self.inner
            .remove_global_concurrency()
            .await
            .map_err(js_error)
    }

    #[napi]
    pub async fn set_global_rate_limit(&self, max: f64, duration: f64) -> Result<i64> {
        let (max, duration) = (integer(max, "max")?, integer(duration, "duration")?);
        self.inner
            .set_global_rate_limit(max, duration)
            .await
            .map_err(js_error)
    }

    #[napi]
    pub async fn remove_global_rate_limit(&self) -> Result<i64> {
        self.inner
            .remove_global_rate_limit()
            .await
            .map_err(js_error)
    }

    #[napi]
    pub async fn remove_rate_limit_key(&self) -> Result<i64> {
        self.inner.remove_rate_limit_key().await.map_err(js_error)
    }

    /// Appends a custom event, `fields` flat as `[name, value, ...]`, to the events stream.
    #[napi]
    pub async fn publish_event(&self, fields: Vec<String>, max_len: f64) -> Result<String> {
        let max_len = integer(max_len, "maxEvents")?;
        let pairs: Vec<(String, String)> = fields
            .chunks(2)
            .map(|pair| (pair[0].clone(), pair.get(1).cloned().unwrap_or_default()))
            .collect();
        self.inner
            .publish_event(&pairs, max_len)
            .await
            .map_err(js_error)
    }

    /// `PING` on the queue's connection.
    #[napi]
    pub async fn ping(&self) -> Result<String> {
        self.inner.ping().await.map_err(js_error)
    }

    /// Deletes the pre-v4 `<q>:priority` key.
    #[napi]
    pub async fn remove_deprecated_priority_key(&self) -> Result<i64> {
        self.inner
            .remove_deprecated_priority_key()
            .await
            .map_err(js_error)
    }

    #[napi]
    pub async fn close(&self) -> Result<()> {
        self.inner.close().await;
        Ok(())
    }
}
