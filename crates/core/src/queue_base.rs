//! The parts of a queue that producers, workers and listeners share (BullMQ's
//! `QueueBase`): its name, prefix and keys, its connection and its clock, and the
//! calls every operation makes through them.

use std::sync::Arc;

use redis::{FromRedisValue, Value};

use crate::clock::Clock;
use crate::connection::{Connection, ConnectionOptions, Shared};
use crate::error::{Error, Result};
use crate::job::Job;
use crate::keys::QueueKeys;

/// Checks a queue name the way BullMQ does.
pub fn validate_queue_name(name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(Error::InvalidArgument("Queue name must be provided".into()));
    }
    if name.contains(':') {
        return Err(Error::InvalidArgument("Queue name cannot contain :".into()));
    }
    Ok(())
}

/// The parts of a queue shared by producers, workers and listeners.
#[derive(Debug)]
pub(crate) struct QueueCore {
    pub name: String,
    pub prefix: String,
    pub keys: QueueKeys,
    pub conn: Arc<Connection>,
    pub clock: Arc<Clock>,
}

impl QueueCore {
    pub fn new(
        name: &str,
        prefix: &str,
        connection: ConnectionOptions,
        clock: Arc<Clock>,
    ) -> Result<QueueCore> {
        Self::on_connection(name, prefix, Arc::new(Connection::new(connection)), clock)
    }

    /// The parts of queue `name` using `conn`, which other handles may share.
    pub fn on_connection(
        name: &str,
        prefix: &str,
        conn: Arc<Connection>,
        clock: Arc<Clock>,
    ) -> Result<QueueCore> {
        validate_queue_name(name)?;
        Ok(QueueCore {
            name: name.to_string(),
            prefix: prefix.to_string(),
            keys: QueueKeys::new(prefix, name),
            conn,
            clock,
        })
    }

    /// `<prefix>:<base64 of the name>`: how BullMQ names a queue's connections (a worker's
    /// blocking connection is this, or this plus `:w:<worker name>`).
    pub fn client_name(&self) -> String {
        use base64::Engine;
        let encoded = base64::engine::general_purpose::STANDARD.encode(&self.name);
        format!("{}:{encoded}", self.prefix)
    }

    pub async fn conn(&self) -> Result<Shared> {
        self.conn.get().await
    }

    /// Runs a prepared script invocation, naming the server on connection errors.
    pub async fn invoke<T: FromRedisValue>(&self, inv: &redis::ScriptInvocation<'_>) -> Result<T> {
        self.send_retrying(|mut c| async move { inv.invoke_async(&mut c).await })
            .await
    }

    /// Runs a plain command.
    pub async fn query<T: FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T> {
        self.send_retrying(|mut c| async move { cmd.query_async(&mut c).await })
            .await
    }

    /// Runs a pipeline.
    pub async fn pipeline<T: FromRedisValue>(&self, pipe: &redis::Pipeline) -> Result<T> {
        self.send_retrying(|mut c| async move { pipe.query_async(&mut c).await })
            .await
    }

    /// Runs `send` on the shared connection, sent again under the retry policy after a
    /// transient error (a connection lost, Redis loading...).
    async fn send_retrying<T, F, Fut>(&self, send: F) -> Result<T>
    where
        F: Fn(Shared) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        let conn = &self.conn;
        crate::retry::retrying(conn, conn.patience(), || async {
            let shared = conn.get().await?;
            send(shared).await.map_err(|e| conn.options().error(e))
        })
        .await
    }

    /// Reads one job's hash.
    pub async fn get_job(&self, id: &str) -> Result<Option<Job>> {
        let reply: Value = self
            .query(redis::cmd("HGETALL").arg(self.keys.job(id)))
            .await?;
        Ok(Job::from_reply(id, &reply))
    }

    /// Raises BullMQ's error for a negative script reply.
    pub fn check_code(code: i64, id: &str, command: &str, state: &'static str) -> Result<i64> {
        if code < 0 {
            return Err(Error::script(code, id, command, state));
        }
        Ok(code)
    }
}
