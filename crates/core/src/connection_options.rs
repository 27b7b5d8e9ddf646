//! Where and how to reach Redis: the connection options (host, port, URL, TLS, credentials,
//! database, how long a request may wait for Redis), as BullMQ's ioredis options give them.

use std::time::Duration;

use crate::error::{Error, Result};

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

    pub(crate) fn client(&self) -> Result<redis::Client> {
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

/// How long a request may wait for Redis, from BullMQ's connection options as ioredis
/// reads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Patience {
    /// Waits as long as it takes (`maxRetriesPerRequest: null`; workers and listeners
    /// always do, as BullMQ forces it on them).
    Unbounded,
    /// Waits as long as ioredis makes `n` reconnection attempts under BullMQ's retry
    /// strategy (`maxRetriesPerRequest: n`; ioredis' default is 20).
    MaxRetries(u32),
    /// Never waits (`enableOfflineQueue: false`).
    NoOfflineQueue,
}

impl Default for Patience {
    fn default() -> Self {
        Patience::MaxRetries(20)
    }
}

impl Patience {
    /// How long ioredis takes for `n` reconnection attempts with BullMQ's retry strategy
    /// (`max(min(e^attempt, 20 s), 1 s)` before each).
    pub(crate) fn budget(n: u32) -> Duration {
        let ms: f64 = (1..=n)
            .map(|attempt| f64::from(attempt).exp().clamp(1000.0, 20_000.0))
            .sum();
        Duration::from_millis(ms as u64)
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

    #[test]
    fn budgets_as_ioredis_waits() {
        assert_eq!(Patience::budget(0), Duration::ZERO);
        assert_eq!(Patience::budget(1), Duration::from_secs(1));
        assert_eq!(Patience::budget(3), Duration::from_secs(3));
        assert!(Patience::budget(20) > Duration::from_secs(200));
    }
}
