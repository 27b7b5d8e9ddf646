//! `NativeQueueEvents`: the engine's events reader for the JS layer.

use std::sync::Arc;

use bullrush_core::{Error, EventsHost, QueueEvents, QueueEventsOptions, StreamEvent};
use napi::bindgen_prelude::Function;
use napi::bindgen_prelude::Result;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::Status;
use napi_derive::napi;

use crate::convert::{connection, js_error, JsConnection};

#[napi(object)]
pub struct JsQueueEventsOptions {
    pub connection: Option<JsConnection>,
    pub prefix: Option<String>,
    pub last_event_id: Option<String>,
    pub blocking_timeout: Option<f64>,
}

/// One stream entry: its id and flat field/value list.
#[napi(object)]
pub struct JsStreamEvent {
    pub id: String,
    pub fields: Vec<String>,
}

/// What the reader hands JS: a batch of entries, or an error.
#[napi(object)]
pub struct JsEventsBatch {
    pub events: Vec<JsStreamEvent>,
    pub error: Option<String>,
}

type Callback = ThreadsafeFunction<JsEventsBatch, (), JsEventsBatch, Status, false, true>;

struct JsEventsHost {
    callback: Callback,
}

impl EventsHost for JsEventsHost {
    fn deliver(&self, events: Vec<StreamEvent>) {
        let events = events
            .into_iter()
            .map(|e| JsStreamEvent {
                id: e.id,
                fields: e.fields.into_iter().flat_map(|(k, v)| [k, v]).collect(),
            })
            .collect();
        let batch = JsEventsBatch {
            events,
            error: None,
        };
        self.callback
            .call(batch, ThreadsafeFunctionCallMode::NonBlocking);
    }

    fn error(&self, err: Error) {
        let batch = JsEventsBatch {
            events: Vec::new(),
            error: Some(err.to_string()),
        };
        self.callback
            .call(batch, ThreadsafeFunctionCallMode::NonBlocking);
    }
}

#[napi]
pub struct NativeQueueEvents {
    inner: QueueEvents,
    host: Arc<JsEventsHost>,
}

#[napi]
impl NativeQueueEvents {
    #[napi(constructor)]
    pub fn new(
        name: String,
        opts: JsQueueEventsOptions,
        callback: Function<JsEventsBatch, ()>,
    ) -> Result<Self> {
        crate::init_tracing();
        let base = QueueEventsOptions::default();
        let core_opts = QueueEventsOptions {
            connection: connection(&opts.connection)?,
            prefix: opts.prefix.clone().unwrap_or(base.prefix),
            last_event_id: opts.last_event_id.clone(),
            blocking_timeout: opts
                .blocking_timeout
                .map_or(base.blocking_timeout, |t| t.max(1.0) as u64),
        };
        let inner = QueueEvents::new(&name, core_opts).map_err(js_error)?;
        let callback = callback
            .build_threadsafe_function()
            .callee_handled::<false>()
            .weak::<true>()
            .build()?;
        Ok(NativeQueueEvents {
            inner,
            host: Arc::new(JsEventsHost { callback }),
        })
    }

    /// Resolves once reading has started.
    #[napi]
    pub async fn run(&self) -> Result<()> {
        self.inner.run(self.host.clone()).await.map_err(js_error)
    }

    #[napi]
    pub fn close(&self) {
        self.inner.close();
    }
}
