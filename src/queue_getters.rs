//! What `NativeQueue` reads about its queue (BullMQ's `QueueGetters`): counts, job lists,
//! states, logs, meta, metrics, limits and the clients connected to it.

use bullrush_core::MetricsKind;
use napi::bindgen_prelude::Result;
use napi_derive::napi;

use crate::convert::{integer, js_error, JsJob};
use crate::queue::NativeQueue;

/// A global rate limit: `max` jobs per `duration` ms.
#[napi(object)]
pub struct JsRateLimit {
    pub max: i64,
    pub duration: i64,
}

/// The meta hash's known fields, and every other one as `[field, value]`.
#[napi(object)]
pub struct JsQueueMeta {
    pub concurrency: Option<i64>,
    pub max: Option<i64>,
    pub duration: Option<i64>,
    pub max_len_events: Option<i64>,
    pub paused: bool,
    pub other: Vec<Vec<String>>,
}

/// A metrics series (BullMQ's `Metrics`): `meta` totals, data points, how many stored.
#[napi(object)]
pub struct JsMetrics {
    pub count: i64,
    pub prev_ts: i64,
    pub prev_count: i64,
    pub data: Vec<i64>,
    pub points: i64,
}

/// A job's log lines and how many it has.
#[napi(object)]
pub struct JsLogs {
    pub logs: Vec<String>,
    pub count: i64,
}

#[napi]
impl NativeQueue {
    /// Counts per type, in the order given.
    #[napi]
    pub async fn get_job_counts(&self, types: Vec<String>) -> Result<Vec<i64>> {
        let counts = self.inner.get_job_counts(&types).await.map_err(js_error)?;
        Ok(counts.into_iter().map(|(_, n)| n).collect())
    }

    /// Jobs in the given states (BullMQ's `getJobs`).
    #[napi]
    pub async fn get_jobs(
        &self,
        types: Vec<String>,
        start: f64,
        end: f64,
        asc: bool,
    ) -> Result<Vec<JsJob>> {
        let (start, end) = (integer(start, "start")?, integer(end, "end")?);
        let jobs = self
            .inner
            .get_jobs(&types, start, end, asc)
            .await
            .map_err(js_error)?;
        Ok(jobs.into_iter().map(JsJob::from).collect())
    }

    /// Job ids in the given states (BullMQ's `getRanges`).
    #[napi]
    pub async fn get_ranges(
        &self,
        types: Vec<String>,
        start: f64,
        end: f64,
        asc: bool,
    ) -> Result<Vec<String>> {
        let (start, end) = (integer(start, "start")?, integer(end, "end")?);
        self.inner
            .get_ranges(&types, start, end, asc)
            .await
            .map_err(js_error)
    }

    /// Counts per distinct priority, in the order first given.
    #[napi]
    pub async fn get_counts_per_priority(&self, priorities: Vec<f64>) -> Result<Vec<Vec<i64>>> {
        let priorities = priorities
            .into_iter()
            .map(|p| integer(p, "priority"))
            .collect::<Result<Vec<_>>>()?;
        let counts = self
            .inner
            .get_counts_per_priority(&priorities)
            .await
            .map_err(js_error)?;
        Ok(counts.into_iter().map(|(p, n)| vec![p, n]).collect())
    }

    /// Delayed jobs due strictly before `timestamp` ms.
    #[napi]
    pub async fn get_delayed_count_before(&self, timestamp: f64) -> Result<i64> {
        if timestamp.fract() != 0.0 || timestamp.abs() > 9_007_199_254_740_991.0 {
            return Err(js_error(bullrush_core::Error::InvalidArgument(
                "timestamp must be a safe integer in milliseconds".into(),
            )));
        }
        self.inner
            .get_delayed_count_before(timestamp as i64)
            .await
            .map_err(js_error)
    }

    #[napi]
    pub async fn get_job_state(&self, id: String) -> Result<String> {
        self.inner.get_job_state(&id).await.map_err(js_error)
    }

    #[napi]
    pub async fn get_job_logs(&self, id: String, start: i64, end: i64) -> Result<JsLogs> {
        let (logs, count) = self
            .inner
            .get_job_logs(&id, start, end)
            .await
            .map_err(js_error)?;
        Ok(JsLogs { logs, count })
    }

    #[napi]
    pub async fn get_deduplication_job_id(&self, id: String) -> Result<Option<String>> {
        self.inner
            .get_deduplication_job_id(&id)
            .await
            .map_err(js_error)
    }

    #[napi]
    pub async fn get_global_concurrency(&self) -> Result<Option<i64>> {
        self.inner.get_global_concurrency().await.map_err(js_error)
    }

    #[napi]
    pub async fn get_global_rate_limit(&self) -> Result<Option<JsRateLimit>> {
        let limit = self.inner.get_global_rate_limit().await.map_err(js_error)?;
        Ok(limit.map(|l| JsRateLimit {
            max: l.max,
            duration: l.duration,
        }))
    }

    #[napi]
    pub async fn is_maxed(&self) -> Result<bool> {
        self.inner.is_maxed().await.map_err(js_error)
    }

    #[napi]
    pub async fn rate_limit_ttl(&self, max_jobs: Option<f64>) -> Result<i64> {
        let max_jobs = match max_jobs {
            Some(m) => Some(integer(m, "maxJobs")?),
            None => None,
        };
        self.inner.rate_limit_ttl(max_jobs).await.map_err(js_error)
    }

    #[napi]
    pub async fn get_meta(&self) -> Result<JsQueueMeta> {
        let meta = self.inner.get_meta().await.map_err(js_error)?;
        Ok(JsQueueMeta {
            concurrency: meta.concurrency,
            max: meta.max,
            duration: meta.duration,
            max_len_events: meta.max_len_events,
            paused: meta.paused,
            other: meta.other.into_iter().map(|(f, v)| vec![f, v]).collect(),
        })
    }

    #[napi]
    pub async fn get_version(&self) -> Result<Option<String>> {
        self.inner.get_version().await.map_err(js_error)
    }

    /// The completed or failed metrics, data points `start..=end`.
    #[napi]
    pub async fn get_metrics(&self, kind: String, start: f64, end: f64) -> Result<JsMetrics> {
        let kind = MetricsKind::parse(&kind).map_err(js_error)?;
        let (start, end) = (integer(start, "start")?, integer(end, "end")?);
        let m = self
            .inner
            .get_metrics(kind, start, end)
            .await
            .map_err(js_error)?;
        Ok(JsMetrics {
            count: m.count,
            prev_ts: m.prev_ts,
            prev_count: m.prev_count,
            data: m.data,
            points: m.points,
        })
    }

    /// BullMQ's Prometheus text for queue `queue` from its counts (`[state, count]` pairs),
    /// its completed and failed totals and `labels` (`[name, value]` pairs).
    #[napi]
    pub fn prometheus_text(
        queue: String,
        counts: Vec<(String, f64)>,
        completed: f64,
        failed: f64,
        labels: Vec<(String, String)>,
    ) -> String {
        let counts: Vec<(String, i64)> = counts.into_iter().map(|(s, n)| (s, n as i64)).collect();
        bullrush_core::metrics::prometheus_text(
            &queue,
            &counts,
            [completed as i64, failed as i64],
            &labels,
        )
    }

    /// The queue's workers, each as its `CLIENT LIST` fields `[key, value, key, value, ...]`.
    #[napi]
    pub async fn get_workers(&self) -> Result<Vec<Vec<String>>> {
        let workers = self.inner.get_workers().await.map_err(js_error)?;
        Ok(workers
            .into_iter()
            .map(|fields| fields.into_iter().flat_map(|(k, v)| [k, v]).collect())
            .collect())
    }

    /// The queue's event listeners, each as its `CLIENT LIST` fields `[key, value, ...]`.
    #[napi]
    pub async fn get_queue_events(&self) -> Result<Vec<Vec<String>>> {
        let listeners = self.inner.get_queue_events().await.map_err(js_error)?;
        Ok(listeners
            .into_iter()
            .map(|fields| fields.into_iter().flat_map(|(k, v)| [k, v]).collect())
            .collect())
    }
}
