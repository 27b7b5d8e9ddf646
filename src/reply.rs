//! Replies to JS requests through one long-lived threadsafe function per JS object,
//! instead of a promise (and its own threadsafe function) per call: cheaper on hot paths.

use std::future::Future;
use std::sync::Arc;

use napi::bindgen_prelude::{Function, Result};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::Status;
use napi_derive::napi;

use crate::convert::js_error;
use crate::queue::JsAdded;

/// The answer to request `request`: an error (`<code>|<message>`) or the added jobs.
#[napi(object)]
pub struct JsReply {
    pub request: u32,
    pub error: Option<String>,
    pub added: Vec<JsAdded>,
}

type Callback = ThreadsafeFunction<JsReply, (), JsReply, Status, false, true>;

/// The channel a JS object receives its replies on.
#[napi]
pub struct NativeReplier {
    callback: Arc<Callback>,
}

#[napi]
impl NativeReplier {
    #[napi(constructor)]
    pub fn new(callback: Function<JsReply, ()>) -> Result<Self> {
        let callback = callback
            .build_threadsafe_function()
            .callee_handled::<false>()
            .weak::<true>()
            .build()?;
        Ok(NativeReplier {
            callback: Arc::new(callback),
        })
    }
}

impl NativeReplier {
    /// Runs `work` on the runtime and sends its outcome as the reply to `request`.
    pub(crate) fn spawn<F>(&self, request: u32, work: F)
    where
        F: Future<Output = bullrush_core::Result<Vec<JsAdded>>> + Send + 'static,
    {
        let answer = self.answer(request);
        napi::bindgen_prelude::spawn(async move { answer(work.await) });
    }

    /// A function that sends its argument as the reply to `request`, from any thread.
    pub(crate) fn answer(
        &self,
        request: u32,
    ) -> impl FnOnce(bullrush_core::Result<Vec<JsAdded>>) + Send + 'static {
        let callback = self.callback.clone();
        move |outcome| {
            let reply = match outcome {
                Ok(added) => JsReply {
                    request,
                    error: None,
                    added,
                },
                Err(err) => JsReply {
                    request,
                    error: Some(js_error(err).reason.clone()),
                    added: Vec::new(),
                },
            };
            callback.call(reply, ThreadsafeFunctionCallMode::NonBlocking);
        }
    }
}
