//! Job scheduler calls on `NativeQueue`: JSON text in, engine calls, JSON text out.

use bullrush_core::{RepeatOptions, Template};
use napi::bindgen_prelude::Result;
use napi_derive::napi;

use crate::convert::{integer, js_error, parse_json, JsJob};
use crate::queue::NativeQueue;

#[napi]
impl NativeQueue {
    /// Creates or replaces a job scheduler (repeat options and template options as JSON
    /// text, dates in ms) at the host's time `now`; the iteration it added, if any.
    #[napi]
    pub async fn upsert_job_scheduler(
        &self,
        id: String,
        repeat: String,
        name: String,
        data: String,
        opts: String,
        now: f64,
    ) -> Result<Option<JsJob>> {
        let repeat = parse_json(&repeat)?;
        let template = Template {
            name,
            data,
            opts: parse_json(&opts)?,
        };
        let job = self
            .inner
            .upsert_job_scheduler_at(&id, &repeat, template, now as i64)
            .await
            .map_err(js_error)?;
        Ok(job.map(JsJob::from))
    }

    /// One job scheduler as JSON text, or nothing.
    #[napi]
    pub async fn get_job_scheduler(&self, id: String) -> Result<Option<String>> {
        let found = self.inner.get_job_scheduler(&id).await.map_err(js_error)?;
        Ok(found.map(|s| s.to_string()))
    }

    /// A page of job schedulers, as a JSON array.
    #[napi]
    pub async fn get_job_schedulers(&self, start: f64, end: f64, asc: bool) -> Result<String> {
        let (start, end) = (integer(start, "start")?, integer(end, "end")?);
        let list = self
            .inner
            .get_job_schedulers(start, end, asc)
            .await
            .map_err(js_error)?;
        Ok(serde_json::Value::Array(list).to_string())
    }

    /// How many job schedulers the queue has.
    #[napi]
    pub async fn get_job_schedulers_count(&self) -> Result<i64> {
        self.inner
            .get_job_schedulers_count()
            .await
            .map_err(js_error)
    }

    /// Removes a job scheduler; true when it existed.
    #[napi]
    pub async fn remove_job_scheduler(&self, id: String) -> Result<bool> {
        self.inner.remove_job_scheduler(&id).await.map_err(js_error)
    }
}

/// BullMQ's `getNextMillis`: the next fire time after `millis` for repeat options given as
/// JSON text (dates in ms), or nothing.
#[napi]
pub fn next_millis(millis: f64, repeat: String, now: f64) -> Result<Option<f64>> {
    let repeat = RepeatOptions::from_json(&parse_json(&repeat)?).map_err(js_error)?;
    Ok(repeat
        .next_millis(millis as i64, now as i64)
        .map(|n| n as f64))
}

/// Whether `key` has the shape of a BullMQ v5 repeatable job key.
#[napi]
pub fn has_legacy_repeatable_key_shape(key: String) -> bool {
    bullrush_core::scheduler::legacy::has_legacy_key_shape(&key)
}

/// BullMQ's message for v5 repeatable job metadata.
#[napi]
pub fn legacy_repeatable_job_message(key: String) -> String {
    bullrush_core::scheduler::legacy::legacy_message(&key)
}
