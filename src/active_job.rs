//! `NativeQueue` methods for the holder of an active job's lock (manual processing).

use napi::bindgen_prelude::Result;
use napi_derive::napi;

use crate::convert::{js_error, JsFailure, JsSettled};
use crate::queue::NativeQueue;

#[napi]
impl NativeQueue {
    /// Moves an active job to the delayed set until `timestamp`.
    #[napi]
    pub async fn move_to_delayed(
        &self,
        id: String,
        token: String,
        timestamp: f64,
        count_attempt: bool,
    ) -> Result<()> {
        self.inner
            .move_to_delayed(&id, &token, timestamp as i64, count_attempt)
            .await
            .map_err(js_error)
    }

    /// Puts an active job back at the front of wait; resolves to the limiter's ttl.
    #[napi]
    pub async fn move_to_wait(&self, id: String, token: String) -> Result<f64> {
        self.inner
            .move_to_wait(&id, &token)
            .await
            .map(|ttl| ttl as f64)
            .map_err(js_error)
    }

    /// Extends an active job's lock; false when the token no longer holds it.
    #[napi]
    pub async fn extend_lock(&self, id: String, token: String, duration: f64) -> Result<bool> {
        self.inner
            .extend_lock(&id, &token, duration.max(0.0) as u64)
            .await
            .map_err(js_error)
    }

    /// Completes an active job as the holder of `token`, taking the next one with
    /// `fetch_next`.
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

    /// Fails (or retries) an active job as the holder of `token`, taking the next one with
    /// `fetch_next`.
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

    /// Rate-limits the whole queue for `expire_ms`.
    #[napi]
    pub async fn rate_limit(&self, expire_ms: f64) -> Result<()> {
        self.inner
            .rate_limit(expire_ms.max(0.0) as u64)
            .await
            .map_err(js_error)
    }
}
