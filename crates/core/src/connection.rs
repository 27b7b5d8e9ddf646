//! Connection options and the connections a queue, worker or listener opens.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

use redis::aio::{
    ConnectionLike, ConnectionManager, ConnectionManagerConfig, MultiplexedConnection,
};
use redis::{AsyncConnectionConfig, Cmd, Pipeline, RedisFuture, Value};

use crate::error::{Error, Result};
use crate::link::{Link, Reply, Request, SocketReader};
use crate::outage::Outages;
use crate::retry::{self, Patience};
use crate::scripts::ScriptCall;

/// Where and how to reach Redis.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectionOptions {
    pub host: String,
    pub port: u16,
    pub username: Option<String>,
    pub password: Option<String>,
    pub db: i64,
    pub tls: Option<TlsOptions>,
    /// How long a request waits for Redis while it is unreachable or not ready.
    pub patience: Patience,
}

/// TLS settings for a `rediss://` connection, as Node's `tls.connect` takes them.
#[derive(Debug, Clone, PartialEq)]
pub struct TlsOptions {
    /// Whether the server certificate must be valid (ioredis' `rejectUnauthorized`).
    pub reject_unauthorized: bool,
    /// PEM certificates trusted instead of the built-in roots (Node's `ca`).
    pub ca: Option<String>,
    /// The certificate this client presents to servers that ask for one.
    pub client_identity: Option<ClientIdentity>,
}

impl Default for TlsOptions {
    fn default() -> Self {
        TlsOptions {
            reject_unauthorized: true,
            ca: None,
            client_identity: None,
        }
    }
}

impl TlsOptions {
    /// Rejects certificate texts that hold no PEM certificate.
    fn validate(&self) -> Result<()> {
        if let Some(ca) = &self.ca {
            require_pem_certificate(ca, "tls.ca")?;
        }
        if let Some(identity) = &self.client_identity {
            require_pem_certificate(&identity.cert, "tls.cert")?;
        }
        Ok(())
    }

    /// The certificates redis-rs needs, or `None` when the defaults do.
    fn certificates(&self) -> Option<redis::TlsCertificates> {
        if self.ca.is_none() && self.client_identity.is_none() {
            return None;
        }
        Some(redis::TlsCertificates {
            client_tls: self
                .client_identity
                .as_ref()
                .map(|identity| redis::ClientTlsConfig {
                    client_cert: identity.cert.clone().into_bytes(),
                    client_key: identity.key.clone().into_bytes(),
                }),
            root_cert: self.ca.clone().map(String::into_bytes),
        })
    }
}

/// A client certificate chain and its private key, both PEM (Node's `cert` and `key`).
#[derive(Clone, PartialEq)]
pub struct ClientIdentity {
    pub cert: String,
    pub key: String,
}

impl ClientIdentity {
    /// Pairs `cert` and `key`; one without the other is an error.
    pub fn from_parts(cert: Option<String>, key: Option<String>) -> Result<Option<Self>> {
        match (cert, key) {
            (Some(cert), Some(key)) => Ok(Some(ClientIdentity { cert, key })),
            (None, None) => Ok(None),
            _ => Err(Error::InvalidArgument(
                "tls.cert and tls.key must be given together".into(),
            )),
        }
    }
}

impl std::fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientIdentity")
            .field("cert", &self.cert)
            .field("key", &"<redacted>")
            .finish()
    }
}

/// Makes ring the process's TLS crypto provider unless the application installed one.
fn ensure_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_some() {
        return;
    }
    // Losing a race to another installer still leaves a provider in place.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

fn require_pem_certificate(text: &str, option: &str) -> Result<()> {
    if text.contains("-----BEGIN CERTIFICATE-----") {
        return Ok(());
    }
    Err(Error::InvalidArgument(format!(
        "{option} holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
    )))
}

impl Default for ConnectionOptions {
    fn default() -> Self {
        ConnectionOptions {
            host: "127.0.0.1".into(),
            port: 6379,
            username: None,
            password: None,
            db: 0,
            tls: None,
            patience: Patience::default(),
        }
    }
}

impl ConnectionOptions {
    /// Parses a `redis://` or `rediss://` URL.
    pub fn from_url(url: &str) -> Result<ConnectionOptions> {
        let invalid = || Error::InvalidArgument(format!("Invalid Redis URL: {url}"));
        let (tls, rest) = if let Some(rest) = url.strip_prefix("rediss://") {
            (Some(TlsOptions::default()), rest)
        } else if let Some(rest) = url.strip_prefix("redis://") {
            (None, rest)
        } else {
            return Err(invalid());
        };
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((user, host)) => (Some(user), host),
            None => (None, authority),
        };
        let (username, password) = match userinfo {
            None => (None, None),
            Some(info) => match info.split_once(':') {
                Some((u, p)) => (non_empty(percent_decode(u)), non_empty(percent_decode(p))),
                None => (non_empty(percent_decode(info)), None),
            },
        };
        let (host, port) = split_host_port(hostport).ok_or_else(invalid)?;
        let db_part = path.split(['?', '#']).next().unwrap_or("");
        let db = if db_part.is_empty() {
            0
        } else {
            db_part.parse().map_err(|_| invalid())?
        };
        Ok(ConnectionOptions {
            host,
            port,
            username,
            password,
            db,
            tls,
            patience: Patience::default(),
        })
    }

    /// `host:port`, as error messages name the server.
    pub fn addr(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    fn url(&self) -> String {
        let scheme = if self.tls.is_some() {
            "rediss"
        } else {
            "redis"
        };
        let auth = match (&self.username, &self.password) {
            (None, None) => String::new(),
            (user, pass) => format!(
                "{}:{}@",
                percent_encode(user.as_deref().unwrap_or("")),
                percent_encode(pass.as_deref().unwrap_or(""))
            ),
        };
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let insecure = match &self.tls {
            Some(tls) if !tls.reject_unauthorized => "#insecure",
            _ => "",
        };
        format!(
            "{scheme}://{auth}{host}:{}/{}{insecure}",
            self.port, self.db
        )
    }

    /// Checks what can be checked without a server: the URL parts and TLS certificates.
    pub fn validate(&self) -> Result<()> {
        if let Some(tls) = &self.tls {
            tls.validate()?;
        }
        self.client().map(|_| ())
    }

    fn client(&self) -> Result<redis::Client> {
        use redis::IntoConnectionInfo;
        let invalid = |e: redis::RedisError| Error::InvalidArgument(e.to_string());
        let info = self
            .url()
            .into_connection_info()
            .map_err(invalid)?
            .set_tcp_settings(redis::io::tcp::TcpSettings::default().set_nodelay(true));
        if self.tls.is_some() {
            ensure_crypto_provider();
        }
        match self.tls.as_ref().and_then(TlsOptions::certificates) {
            Some(certificates) => redis::Client::build_with_tls(info, certificates),
            None => redis::Client::open(info),
        }
        .map_err(invalid)
    }

    /// Turns a Redis client error into an engine error that names this server.
    pub fn error(&self, err: redis::RedisError) -> Error {
        connection_error(&self.addr(), err)
    }
}

/// Turns a Redis client error into an engine error that names the server at `addr`.
pub(crate) fn connection_error(addr: &str, err: redis::RedisError) -> Error {
    if err.is_connection_refusal() {
        return Error::Connection {
            addr: addr.to_string(),
            message: "ECONNREFUSED".into(),
        };
    }
    if err.is_io_error() || err.is_connection_dropped() || err.is_timeout() {
        return Error::Connection {
            addr: addr.to_string(),
            message: err.to_string(),
        };
    }
    Error::from(err)
}

fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

fn split_host_port(hostport: &str) -> Option<(String, u16)> {
    if let Some(rest) = hostport.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().ok()?,
            None => 6379,
        };
        return Some((host.to_string(), port));
    }
    match hostport.rsplit_once(':') {
        Some((host, port)) => Some((host.to_string(), port.parse().ok()?)),
        None if hostport.is_empty() => Some(("127.0.0.1".into(), 6379)),
        None => Some((hostport.to_string(), 6379)),
    }
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

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
        retry::wait_loaded(&mut conn)
            .await
            .map_err(|e| self.options.error(e))?;
        Ok(conn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        let o = ConnectionOptions::from_url("redis://u:p%40ss@example.com:6380/2").unwrap();
        assert_eq!(o.host, "example.com");
        assert_eq!(o.port, 6380);
        assert_eq!(o.username.as_deref(), Some("u"));
        assert_eq!(o.password.as_deref(), Some("p@ss"));
        assert_eq!(o.db, 2);
        assert!(o.tls.is_none());
        let o = ConnectionOptions::from_url("rediss://:secret@[::1]").unwrap();
        assert_eq!(o.host, "::1");
        assert_eq!(o.port, 6379);
        assert_eq!(o.password.as_deref(), Some("secret"));
        assert!(o.tls.is_some());
        assert!(ConnectionOptions::from_url("http://x").is_err());
    }

    #[test]
    fn builds_urls_back() {
        let o = ConnectionOptions {
            password: Some("a b".into()),
            tls: Some(TlsOptions {
                reject_unauthorized: false,
                ..TlsOptions::default()
            }),
            ..ConnectionOptions::default()
        };
        assert_eq!(o.url(), "rediss://:a%20b@127.0.0.1:6379/0#insecure");
    }

    #[test]
    fn refuses_tls_texts_without_certificates() {
        let with_tls = |tls: TlsOptions| ConnectionOptions {
            tls: Some(tls),
            ..ConnectionOptions::default()
        };
        let err = with_tls(TlsOptions {
            ca: Some("not a certificate".into()),
            ..TlsOptions::default()
        })
        .validate()
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "tls.ca holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
        );
        let err = with_tls(TlsOptions {
            client_identity: Some(ClientIdentity {
                cert: "x".into(),
                key: "y".into(),
            }),
            ..TlsOptions::default()
        })
        .validate()
        .unwrap_err();
        assert!(err.to_string().starts_with("tls.cert holds no PEM"));
        assert!(with_tls(TlsOptions::default()).validate().is_ok());
    }

    #[test]
    fn pairs_client_cert_and_key() {
        assert_eq!(ClientIdentity::from_parts(None, None).unwrap(), None);
        assert!(ClientIdentity::from_parts(Some("c".into()), None).is_err());
        assert!(ClientIdentity::from_parts(None, Some("k".into())).is_err());
        let pair = ClientIdentity::from_parts(Some("c".into()), Some("k".into())).unwrap();
        assert_eq!(
            format!("{pair:?}"),
            r#"Some(ClientIdentity { cert: "c", key: "<redacted>" })"#
        );
    }
}
