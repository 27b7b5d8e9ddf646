//! The one retry policy every engine call follows after a transient error (see
//! [`Error::is_transient`]): send the call again once Redis is reachable and ready, with a
//! growing wait between attempts. A reconnection waits until Redis has loaded its dataset
//! (`INFO persistence` says `loading:0`, as ioredis checks), so a call goes out again only
//! to a server that can run it. Nothing here runs while Redis answers: the policy costs a
//! healthy call nothing.

use std::future::Future;
use std::time::{Duration, Instant};

use redis::aio::ConnectionLike;

use crate::connection::Connection;
use crate::error::{Error, GiveUp, Result};

/// The longest wait between two attempts.
const MAX_DELAY: Duration = Duration::from_millis(500);

/// The wait before the second attempt (the first goes out at once: a connection that
/// just dropped is reopened at once, as ioredis does).
const FIRST_DELAY: Duration = Duration::from_millis(50);

/// How often a connection that found Redis loading its dataset asks again.
pub(crate) const LOADING_POLL: Duration = Duration::from_millis(100);

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
    fn budget(n: u32) -> Duration {
        let ms: f64 = (1..=n)
            .map(|attempt| f64::from(attempt).exp().clamp(1000.0, 20_000.0))
            .sum();
        Duration::from_millis(ms as u64)
    }
}

/// The attempts of one call: when it started and how long the next wait is.
pub(crate) struct Retry {
    patience: Patience,
    started: Instant,
    delay: Duration,
}

impl Retry {
    /// Starts counting for a call that waits as `patience` allows.
    pub fn new(patience: Patience) -> Retry {
        Retry {
            patience,
            started: Instant::now(),
            delay: Duration::ZERO,
        }
    }

    /// After the call failed with `err`: waits until it should go out again, or returns
    /// the error it ends with (`err` itself when it is final, or the give-up error when
    /// the connection options allow no more waiting).
    pub async fn wait(&mut self, conn: &Connection, err: Error) -> Result<()> {
        if !err.is_transient() || conn.is_closed() {
            return Err(err);
        }
        let give_up = |limit| Error::GaveUp {
            limit,
            cause: Box::new(err.clone()),
        };
        match self.patience {
            Patience::NoOfflineQueue => return Err(give_up(GiveUp::OfflineQueueDisabled)),
            Patience::MaxRetries(n) if self.started.elapsed() >= Patience::budget(n) => {
                return Err(give_up(GiveUp::MaxRetries(n)))
            }
            _ => {}
        }
        let delay = self.delay;
        self.delay = (delay * 2).clamp(FIRST_DELAY, MAX_DELAY);
        tokio::time::sleep(delay).await;
        if conn.is_closed() {
            return Err(Error::Closed);
        }
        Ok(())
    }
}

/// Runs `call` until it succeeds or fails for good under `patience`, reporting the first
/// transient error of an outage (and every final one) on `conn`.
pub(crate) async fn retrying<T, F, Fut>(conn: &Connection, patience: Patience, call: F) -> Result<T>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let mut retry = Retry::new(patience);
    loop {
        match call().await {
            Ok(value) => {
                conn.outages.recovered();
                return Ok(value);
            }
            Err(err) => {
                if err.is_transient() {
                    conn.outages.report(&err);
                }
                retry.wait(conn, err).await?;
            }
        }
    }
}

/// Returns once Redis has loaded its dataset (`INFO persistence` says `loading:0`).
pub(crate) async fn wait_loaded<C: ConnectionLike + Send>(conn: &mut C) -> redis::RedisResult<()> {
    loop {
        let info: String = redis::cmd("INFO")
            .arg("persistence")
            .query_async(conn)
            .await?;
        if !is_loading(&info) {
            return Ok(());
        }
        tokio::time::sleep(LOADING_POLL).await;
    }
}

/// Whether an `INFO persistence` reply says Redis is still loading its dataset.
pub(crate) fn is_loading(info: &str) -> bool {
    info.lines().any(|line| line.trim_end() == "loading:1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_loading_state() {
        assert!(is_loading(
            "# Persistence\r\nloading:1\r\nasync_loading:0\r\n"
        ));
        assert!(!is_loading(
            "# Persistence\r\nloading:0\r\nasync_loading:1\r\n"
        ));
    }

    #[test]
    fn budgets_as_ioredis_waits() {
        assert_eq!(Patience::budget(0), Duration::ZERO);
        assert_eq!(Patience::budget(1), Duration::from_secs(1));
        assert_eq!(Patience::budget(3), Duration::from_secs(3));
        assert!(Patience::budget(20) > Duration::from_secs(200));
    }
}
