//! QueueEvents: reads a queue's events stream and hands each batch to a host.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::Value;
use tokio::task::JoinHandle;

use crate::connection::ConnectionOptions;
use crate::error::{Error, Result};
use crate::job::value_string;
use crate::queue_base::QueueCore;
use crate::retry::{Patience, Retry};

/// Options of a QueueEvents listener (BullMQ's `QueueEventsOptions`).
#[derive(Debug, Clone)]
pub struct QueueEventsOptions {
    pub connection: ConnectionOptions,
    pub prefix: String,
    /// Read from this stream id instead of from now.
    pub last_event_id: Option<String>,
    /// Longest `XREAD BLOCK`, in ms.
    pub blocking_timeout: u64,
}

impl Default for QueueEventsOptions {
    fn default() -> Self {
        QueueEventsOptions {
            connection: ConnectionOptions::default(),
            prefix: "bull".into(),
            last_event_id: None,
            blocking_timeout: 10_000,
        }
    }
}

/// One entry of the events stream: its id and its field/value pairs (`event` first).
#[derive(Debug, Clone, PartialEq)]
pub struct StreamEvent {
    pub id: String,
    pub fields: Vec<(String, String)>,
}

impl StreamEvent {
    /// The event name (`completed`, `failed`, ...).
    pub fn name(&self) -> Option<&str> {
        self.field("event")
    }

    /// A field's value.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The wait after a first failed read that is not transient.
const FIRST_DELAY: Duration = Duration::from_millis(100);

/// Receives what a listener reads.
pub trait EventsHost: Send + Sync + 'static {
    /// A batch of events, in stream order.
    fn deliver(&self, events: Vec<StreamEvent>);
    /// A read failed; the listener reconnects and carries on.
    fn error(&self, err: Error);
}

/// A listener on a queue's events stream.
pub struct QueueEvents {
    core: Arc<QueueCore>,
    opts: QueueEventsOptions,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl QueueEvents {
    /// Creates a listener; nothing is read until `run`.
    pub fn new(name: &str, opts: QueueEventsOptions) -> Result<QueueEvents> {
        let core = QueueCore::new(name, &opts.prefix, opts.connection.clone(), Arc::default())?;
        Ok(QueueEvents {
            core: Arc::new(core),
            opts,
            task: Mutex::new(None),
        })
    }

    /// Starts reading; returns once the starting point is fixed, so no later event is
    /// missed. While Redis is unreachable it keeps trying (reporting each failure to the
    /// host) and returns `Closed` if `close` comes first.
    pub async fn run(&self, host: Arc<dyn EventsHost>) -> Result<()> {
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        {
            let mut task = self.task.lock().unwrap_or_else(|e| e.into_inner());
            if task.is_some() {
                return Err(Error::InvalidArgument(
                    "Queue Events is already running.".into(),
                ));
            }
            let reader = Reader {
                core: self.core.clone(),
                block_ms: self.opts.blocking_timeout,
                name: self.client_name(),
            };
            let start = self.opts.last_event_id.clone();
            *task = Some(tokio::spawn(reader.run(start, host, ready_tx)));
        }
        ready_rx.await.map_err(|_| Error::Closed)
    }

    fn client_name(&self) -> String {
        use base64::Engine;
        let encoded = base64::engine::general_purpose::STANDARD.encode(&self.core.name);
        format!("{}:{encoded}:qe", self.core.prefix)
    }

    /// Stops reading and drops the connection.
    pub fn close(&self) {
        if let Some(task) = self.task.lock().unwrap_or_else(|e| e.into_inner()).take() {
            task.abort();
        }
        self.core.conn.close();
    }
}

async fn last_id(conn: &mut MultiplexedConnection, core: &QueueCore) -> Result<String> {
    let reply: Value = redis::cmd("XREVRANGE")
        .arg(&core.keys.events)
        .arg("+")
        .arg("-")
        .arg("COUNT")
        .arg(1)
        .query_async(conn)
        .await
        .map_err(|e| core.conn.options().error(e))?;
    let id = match &reply {
        Value::Array(entries) => entries.first().and_then(|e| match e {
            Value::Array(parts) => parts.first().and_then(value_string),
            _ => None,
        }),
        _ => None,
    };
    Ok(id.unwrap_or_else(|| "0-0".into()))
}

struct Reader {
    core: Arc<QueueCore>,
    block_ms: u64,
    name: String,
}

impl Reader {
    async fn run(
        self,
        start: Option<String>,
        host: Arc<dyn EventsHost>,
        ready: tokio::sync::oneshot::Sender<()>,
    ) {
        let mut retry = Retry::new(Patience::Unbounded);
        let mut delay = FIRST_DELAY;
        let (conn, mut last) = loop {
            match self.start(&start).await {
                Ok(started) => break started,
                Err(err) => self.pause(&host, &mut retry, &mut delay, err).await,
            }
        };
        self.core.conn.outages.recovered();
        let _ = ready.send(());
        let mut conn = Some(conn);
        loop {
            let result = match conn.as_mut() {
                Some(c) => self.read(c, &last).await,
                None => match self.core.conn.blocking(Some(&self.name)).await {
                    Ok(c) => {
                        conn = Some(c);
                        continue;
                    }
                    Err(err) => Err(err),
                },
            };
            match result {
                Ok(events) => {
                    self.core.conn.outages.recovered();
                    retry = Retry::new(Patience::Unbounded);
                    delay = FIRST_DELAY;
                    if let Some(e) = events.last() {
                        last = e.id.clone();
                        host.deliver(events);
                    }
                }
                Err(err) => {
                    conn = None;
                    self.pause(&host, &mut retry, &mut delay, err).await;
                }
            }
        }
    }

    /// Reports `err` (once per outage) and waits before reading again: as the retry
    /// policy says for a transient error, `delay` (doubled for the next time) otherwise.
    async fn pause(
        &self,
        host: &Arc<dyn EventsHost>,
        retry: &mut Retry,
        delay: &mut Duration,
        err: Error,
    ) {
        if self.core.conn.outages.is_news(&err) {
            host.error(err.clone());
        }
        if err.is_transient() {
            let _ = retry.wait(&self.core.conn, err).await;
            return;
        }
        tokio::time::sleep(*delay).await;
        *delay = (*delay * 2).min(Duration::from_secs(5));
    }

    /// Connects and fixes the id to read after: the given one, or the stream's last.
    async fn start(&self, start: &Option<String>) -> Result<(MultiplexedConnection, String)> {
        let mut conn = self.core.conn.blocking(Some(&self.name)).await?;
        let last = match start {
            Some(id) => id.clone(),
            None => last_id(&mut conn, &self.core).await?,
        };
        Ok((conn, last))
    }

    async fn read(&self, conn: &mut MultiplexedConnection, last: &str) -> Result<Vec<StreamEvent>> {
        let cmd = redis::cmd("XREAD")
            .arg("BLOCK")
            .arg(self.block_ms)
            .arg("STREAMS")
            .arg(&self.core.keys.events)
            .arg(last)
            .to_owned();
        let watchdog = Duration::from_millis(self.block_ms + 1000);
        let reply: Value = tokio::time::timeout(watchdog, cmd.query_async(conn))
            .await
            .map_err(|_| Error::Redis("XREAD did not return in time".into()))?
            .map_err(|e| self.core.conn.options().error(e))?;
        Ok(parse_xread(&reply))
    }
}

/// Flattens an `XREAD` reply for one stream into its entries.
fn parse_xread(reply: &Value) -> Vec<StreamEvent> {
    let Value::Array(streams) = reply else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for stream in streams {
        let Value::Array(parts) = stream else {
            continue;
        };
        let Some(Value::Array(entries)) = parts.get(1) else {
            continue;
        };
        for entry in entries {
            if let Some(e) = parse_entry(entry) {
                out.push(e);
            }
        }
    }
    out
}

fn parse_entry(entry: &Value) -> Option<StreamEvent> {
    let Value::Array(parts) = entry else {
        return None;
    };
    let id = parts.first().and_then(value_string)?;
    let Some(Value::Array(flat)) = parts.get(1) else {
        return None;
    };
    let fields = flat
        .chunks_exact(2)
        .filter_map(|kv| Some((value_string(&kv[0])?, value_string(&kv[1])?)))
        .collect();
    Some(StreamEvent { id, fields })
}
