//! `NativeQueue.command`: any Redis command on a queue's connection, for the raw client of
//! `getBackend()`; replies cross as JSON values.

use napi::bindgen_prelude::Result;
use napi_derive::napi;
use serde_json::Value as Json;

use crate::convert::js_error;
use crate::queue::NativeQueue;

#[napi]
impl NativeQueue {
    /// Runs Redis command `name` with `args`; resolves to its reply.
    #[napi]
    pub async fn command(&self, name: String, args: Vec<String>) -> Result<Json> {
        self.inner.command(&name, &args).await.map_err(js_error)
    }
}
