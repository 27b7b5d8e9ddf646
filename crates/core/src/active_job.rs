//! What the holder of an active job's lock may do with it besides finishing it: send it
//! to the delayed set or back to wait, and extend its lock (BullMQ's `moveToDelayed`,
//! `moveToWait`, `extendLock`).

use crate::error::{Error, Result};
use crate::queue::Queue;
use crate::queue_base::QueueCore;
use crate::scripts;

/// The largest value BullMQ writes into the limiter key to mark a manual rate limit.
const MANUAL_LIMIT: i64 = 9_007_199_254_740_991;

impl Queue {
    /// Moves an active job to the delayed set until `timestamp` (ms); with
    /// `count_attempt`, the attempt counts in `attemptsMade`.
    pub async fn move_to_delayed(
        &self,
        id: &str,
        token: &str,
        timestamp: i64,
        count_attempt: bool,
    ) -> Result<()> {
        let now = self.core().clock.now();
        let delay = (timestamp - now).max(0);
        let k = self.keys();
        let mut inv = scripts::MOVE_TO_DELAYED.prepare_invoke();
        inv.key(&k.active)
            .key(&k.delayed)
            .key(&k.events)
            .key(&k.meta)
            .key(&k.marker)
            .key(&k.stalled)
            .arg(k.job(id))
            .arg(id)
            .arg(token)
            .arg(now)
            .arg(delay)
            .arg(if count_attempt { "1" } else { "0" });
        let code: i64 = self.core().invoke(&inv).await?;
        QueueCore::check_code(code, id, "moveToDelayed", "active").map(|_| ())
    }

    /// Puts an active job back at the front of wait; returns the rate limiter's remaining
    /// time in ms (0 when not limited).
    pub async fn move_to_wait(&self, id: &str, token: &str) -> Result<i64> {
        let k = self.keys();
        let mut inv = scripts::MOVE_TO_WAIT.prepare_invoke();
        inv.key(&k.active)
            .key(&k.wait)
            .key(&k.prioritized)
            .key(&k.events)
            .key(&k.meta)
            .key(&k.marker)
            .key(&k.stalled)
            .key(&k.limiter)
            .arg(k.job(id))
            .arg(id)
            .arg(token);
        let code: i64 = self.core().invoke(&inv).await?;
        QueueCore::check_code(code, id, "moveJobFromActiveToWait", "active")
    }

    /// Extends the lock of an active job held with `token` by `duration` ms; false when
    /// the lock is gone or held by another token.
    pub async fn extend_lock(&self, id: &str, token: &str, duration: u64) -> Result<bool> {
        if duration == 0 {
            return Err(Error::InvalidArgument(
                "duration must be greater than 0".into(),
            ));
        }
        let k = self.keys();
        let mut inv = scripts::EXTEND_LOCKS.prepare_invoke();
        inv.key(&k.stalled)
            .arg(&k.base)
            .arg(duration)
            .arg(id)
            .arg(token);
        let lost: Vec<String> = self.core().invoke(&inv).await?;
        Ok(lost.is_empty())
    }

    /// Rate-limits the whole queue for `expire_ms` ms (BullMQ's `queue.rateLimit`):
    /// workers with a limiter fetch nothing until it expires.
    pub async fn rate_limit(&self, expire_ms: u64) -> Result<()> {
        if expire_ms == 0 {
            return Err(Error::InvalidArgument(
                "expireTimeMs must be greater than 0".into(),
            ));
        }
        let cmd = redis::cmd("SET")
            .arg(&self.keys().limiter)
            .arg(MANUAL_LIMIT)
            .arg("PX")
            .arg(expire_ms)
            .to_owned();
        self.core().query::<()>(&cmd).await
    }
}
