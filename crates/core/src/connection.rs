//! The connections a queue, worker or listener opens.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

use redis::aio::{
    ConnectionLike, ConnectionManager, ConnectionManagerConfig, MultiplexedConnection,
};
use redis::{AsyncConnectionConfig, Cmd, Pipeline, RedisFuture, Value};

use crate::connection_options::connection_error;
use crate::connection_options::Patience;
pub use crate::connection_options::{ClientIdentity, ConnectionOptions, TlsOptions};
use crate::error::{Error, Result};
use crate::link::{Link, Reply, Request, SocketReader};
use crate::outage::Outages;
use crate::readiness;
use crate::scripts::ScriptCall;

/// A lazily opened, self-reconnecting connection shared by all non-blocking commands:
/// our own link over plain TCP, redis-rs's connection manager over TLS.
#[derive(Debug)]
pub struct Connection {
    options: ConnectionOptions,
    addr: Arc<str>,
    link: Option<Link>,
    manager: RwLock<Option<ConnectionManager>>,
    /// Held while the manager is being opened, so only one caller opens it.
    opening: tokio::sync::Mutex<()>,
    closed: AtomicBool,
    /// The errors of the object owning the connection, reported once per outage.
    pub outages: Outages,
    /// The runtime the connection was first used from, for work a reply handed to
    /// another thread (an embedder's event loop) starts.
    runtime: OnceLock<tokio::runtime::Handle>,
}

/// Receives the reply to a script call or command.
pub type ScriptReply = Box<dyn FnOnce(Result<Value>) + Send>;

fn manager_config() -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_response_timeout(None)
        .set_connection_timeout(Some(Duration::from_secs(10)))
        .set_number_of_retries(2)
        .set_max_delay(Duration::from_secs(2))
}

fn closed_error() -> redis::RedisError {
    std::io::Error::new(std::io::ErrorKind::NotConnected, "Connection is closed.").into()
}

/// Runs a script call on `conn`, loading the script when Redis does not have it.
async fn invoke_on<C: ConnectionLike + Send>(
    conn: &mut C,
    call: &ScriptCall,
) -> redis::RedisResult<Value> {
    let cmd = call.cmd();
    match cmd.query_async::<Value>(conn).await {
        Err(e) if e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript) => {
            call.lua().load_async(conn).await?;
            cmd.query_async(conn).await
        }
        other => other,
    }
}

/// A handle on the shared connection, usable as a redis-rs connection.
#[derive(Clone)]
pub enum Shared {
    Link(Link, i64),
    Manager(ConnectionManager),
}

impl ConnectionLike for Shared {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Shared::Manager(m) => m.req_packed_command(cmd),
            Shared::Link(link, _) => Box::pin(async move {
                let mut replies = link.request(cmd.get_packed_command(), 1).await?;
                replies.pop().unwrap_or(Value::Nil).extract_error()
            }),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Shared::Manager(m) => m.req_packed_commands(cmd, offset, count),
            Shared::Link(link, _) => Box::pin(async move {
                let replies = link
                    .request(cmd.get_packed_pipeline(), offset + count)
                    .await?;
                Ok(replies.into_iter().skip(offset).collect())
            }),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Shared::Manager(m) => m.get_db(),
            Shared::Link(_, db) => *db,
        }
    }
}

impl Connection {
    /// Prepares a connection; nothing is opened until the first command.
    pub fn new(options: ConnectionOptions) -> Connection {
        Connection {
            link: options.tls.is_none().then(|| Link::new(options.clone())),
            addr: options.addr().into(),
            options,
            manager: RwLock::new(None),
            opening: tokio::sync::Mutex::new(()),
            closed: AtomicBool::new(false),
            outages: Outages::default(),
            runtime: OnceLock::new(),
        }
    }

    /// Notes the runtime the caller runs in (once), for `spawn`.
    fn note_runtime(&self) -> Option<tokio::runtime::Handle> {
        let current = tokio::runtime::Handle::try_current().ok();
        if let Some(handle) = &current {
            self.runtime.get_or_init(|| handle.clone());
        }
        current
    }

    /// The runtime to start work on: the caller's, else the one the connection was used
    /// from (for a reply handed to another thread, such as an embedder's event loop).
    pub fn runtime(&self) -> Option<tokio::runtime::Handle> {
        let current = tokio::runtime::Handle::try_current().ok();
        current.or_else(|| self.runtime.get().cloned())
    }

    /// Whether `close` was called.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// How long requests wait for Redis, from the connection options.
    pub fn patience(&self) -> Patience {
        self.options.patience
    }

    /// Lets go of the shared connection: it closes once the commands in flight are done;
    /// later commands fail with `Error::Closed`.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        if let Some(link) = &self.link {
            link.close();
        }
        self.manager
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .take();
    }

    /// Has `reader` read the replies from now on; false over TLS (the runtime reads them)
    /// or when a reader was already set.
    pub fn read_replies_with(&self, reader: Arc<dyn SocketReader>) -> bool {
        self.link
            .as_ref()
            .is_some_and(|link| link.read_with(reader))
    }

    fn current(&self) -> Option<ConnectionManager> {
        self.manager
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The options this connection was made with.
    pub fn options(&self) -> &ConnectionOptions {
        &self.options
    }

    /// The shared connection, opened on first use.
    pub async fn get(&self) -> Result<Shared> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        self.note_runtime();
        if let Some(link) = &self.link {
            link.connect().await.map_err(|e| self.options.error(e))?;
            return Ok(Shared::Link(link.clone(), self.options.db));
        }
        self.manager().await.map(Shared::Manager)
    }

    async fn manager(&self) -> Result<ConnectionManager> {
        if let Some(manager) = self.current() {
            return Ok(manager);
        }
        let _opening = self.opening.lock().await;
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        if let Some(manager) = self.current() {
            return Ok(manager);
        }
        let manager = ConnectionManager::new_with_config(self.options.client()?, manager_config())
            .await
            .map_err(|e| self.options.error(e))?;
        let mut slot = self.manager.write().unwrap_or_else(|e| e.into_inner());
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        *slot = Some(manager.clone());
        Ok(manager)
    }

    /// Sends a script call from this thread when the link is open, so the command
    /// reaches Redis without a hop to the runtime; otherwise from the runtime, which the
    /// caller must have entered. The reply goes to `reply`.
    pub fn send_script(self: &Arc<Self>, call: ScriptCall, reply: ScriptReply) {
        if let Some(link) = &self.link {
            let addr = self.addr.clone();
            let mapped: Reply = Box::new(move |r| reply(r.map_err(|e| connection_error(&addr, e))));
            if self.closed.load(Ordering::Acquire) {
                return mapped(Err(closed_error()));
            }
            return link.send_soon(Request::one(call.packed(), Some(call.lua()), mapped));
        }
        let Some(runtime) = self.note_runtime() else {
            return reply(Err(Error::Closed));
        };
        let conn = self.clone();
        runtime.spawn(async move { reply(conn.invoke(&call).await) });
    }

    /// Sends a plain command the way `send_script` sends a script call: from this thread
    /// when the link is open, else from the runtime. The reply goes to `reply`.
    pub fn send_command(self: &Arc<Self>, cmd: redis::Cmd, reply: ScriptReply) {
        if let Some(link) = &self.link {
            let addr = self.addr.clone();
            let mapped: Reply = Box::new(move |r| reply(r.map_err(|e| connection_error(&addr, e))));
            if self.closed.load(Ordering::Acquire) {
                return mapped(Err(closed_error()));
            }
            return link.send_soon(Request::one(cmd.get_packed_command(), None, mapped));
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return reply(Err(Error::Closed));
        };
        let conn = self.clone();
        runtime.spawn(async move {
            let result = match conn.get().await {
                Ok(mut shared) => cmd
                    .query_async::<Value>(&mut shared)
                    .await
                    .map_err(|e| conn.options.error(e)),
                Err(err) => Err(err),
            };
            reply(result)
        });
    }

    /// Runs a script call and returns its reply.
    pub async fn invoke(&self, call: &ScriptCall) -> Result<Value> {
        let mut conn = self.get().await?;
        invoke_on(&mut conn, call)
            .await
            .map_err(|e| self.options.error(e))
    }

    /// Opens a dedicated connection for blocking commands, named with `CLIENT SETNAME`.
    pub async fn blocking(&self, name: Option<&str>) -> Result<MultiplexedConnection> {
        let config = AsyncConnectionConfig::new()
            .set_response_timeout(None)
            .set_connection_timeout(Some(Duration::from_secs(10)));
        let mut conn = self
            .options
            .client()?
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map_err(|e| self.options.error(e))?;
        if let Some(name) = name {
            let named: redis::RedisResult<()> = redis::cmd("CLIENT")
                .arg("SETNAME")
                .arg(name)
                .query_async(&mut conn)
                .await;
            if let Err(err) = named {
                tracing::debug!(%err, "CLIENT SETNAME not supported");
            }
        }
        readiness::wait_loaded(&mut conn)
            .await
            .map_err(|e| self.options.error(e))?;
        Ok(conn)
    }
}
