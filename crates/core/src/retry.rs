//! The one retry policy every engine call follows after a transient error (see
//! [`Error::is_transient`]): send the call again once Redis is reachable and ready, with a
//! growing wait between attempts. A reconnection waits until Redis has loaded its dataset
//! (`INFO persistence` says `loading:0`, as ioredis checks), so a call goes out again only
//! to a server that can run it. Nothing here runs while Redis answers: the policy costs a
//! healthy call nothing.

use std::future::Future;
use std::time::{Duration, Instant};

use crate::connection::Connection;
pub use crate::connection_options::Patience;
use crate::error::{Error, GiveUp, Result};

/// The longest wait between two attempts.
const MAX_DELAY: Duration = Duration::from_millis(500);

/// The wait before the second attempt (the first goes out at once: a connection that
/// just dropped is reopened at once, as ioredis does).
const FIRST_DELAY: Duration = Duration::from_millis(50);

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
