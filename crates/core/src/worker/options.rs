//! Worker options, with BullMQ's defaults and checks.

use super::BatchOptions;
use crate::connection::ConnectionOptions;
use crate::error::{Error, Result};
use crate::metrics::MetricsOptions;
use crate::options::KeepJobs;

/// A per-worker rate limit: at most `max` jobs per `duration` ms.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limiter {
    pub max: i64,
    pub duration: i64,
}

/// Options of a worker (BullMQ's `WorkerOptions`).
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    pub connection: ConnectionOptions,
    pub prefix: String,
    /// Jobs processed at once.
    pub concurrency: usize,
    /// Lock time-to-live in ms.
    pub lock_duration: u64,
    /// Locks are renewed when older than half of this, in ms; half the lock duration
    /// when unset.
    pub lock_renew_time: Option<u64>,
    /// How often stalled jobs are looked for, in ms.
    pub stalled_interval: u64,
    /// Stalls a job may suffer before it is failed.
    pub max_stalled_count: i64,
    /// Seconds to block waiting for a job when the queue is empty.
    pub drain_delay: f64,
    /// Written as `pb` on every job this worker takes.
    pub name: Option<String>,
    pub limiter: Option<Limiter>,
    pub remove_on_complete: Option<KeepJobs>,
    pub remove_on_fail: Option<KeepJobs>,
    pub skip_stalled_check: bool,
    pub skip_lock_renewal: bool,
    /// Fail a job at once when it has been started more than this many times.
    pub max_started_attempts: Option<i64>,
    /// Longest sleep, in ms, while rate limited.
    pub maximum_rate_limit_delay: u64,
    /// Longest wait, in ms, before retrying after a connection error.
    pub run_retry_delay: u64,
    /// Default attempt timeout in ms for jobs without their own `timeout` (bullrush only).
    pub timeout: Option<u64>,
    /// Hand jobs over in batches; `concurrency` then counts batches (bullrush only).
    pub batch: Option<BatchOptions>,
    /// Count completed and failed jobs per minute.
    pub metrics: Option<MetricsOptions>,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        WorkerOptions {
            connection: ConnectionOptions::default(),
            prefix: "bull".into(),
            concurrency: 1,
            lock_duration: 30_000,
            lock_renew_time: None,
            stalled_interval: 30_000,
            max_stalled_count: 1,
            drain_delay: 5.0,
            name: None,
            limiter: None,
            remove_on_complete: None,
            remove_on_fail: None,
            skip_stalled_check: false,
            skip_lock_renewal: false,
            max_started_attempts: None,
            maximum_rate_limit_delay: 30_000,
            run_retry_delay: 15_000,
            timeout: None,
            batch: None,
            metrics: None,
        }
    }
}

const BATCH_SIZE_MESSAGE: &str = "batch size must be an integer greater than 0";
const MAX_DATA_POINTS_MESSAGE: &str = "metrics.maxDataPoints must be an integer greater than 0";

fn concurrency_error() -> Error {
    Error::InvalidArgument("concurrency must be a finite number greater than 0".into())
}

/// A whole number of at least 1 given as any number, or `message` as the error.
fn count_from_number(value: f64, message: &str) -> Result<usize> {
    if value >= 1.0 && value.fract() == 0.0 && value.is_finite() {
        return Ok(value as usize);
    }
    Err(Error::InvalidArgument(message.into()))
}

impl BatchOptions {
    /// Batch options given as any numbers (as JS gives them): `size` must be a whole
    /// number of at least 1; a missing or negative `timeout` is 0.
    pub fn from_numbers(size: f64, timeout: Option<f64>) -> Result<BatchOptions> {
        Ok(BatchOptions {
            size: count_from_number(size, BATCH_SIZE_MESSAGE)?,
            timeout: timeout.map_or(0, |t| t.max(0.0) as u64),
        })
    }
}

impl MetricsOptions {
    /// Metrics options from a `maxDataPoints` given as any number: a whole number of at
    /// least 1.
    pub fn from_number(max_data_points: f64) -> Result<MetricsOptions> {
        Ok(MetricsOptions {
            max_data_points: count_from_number(max_data_points, MAX_DATA_POINTS_MESSAGE)? as i64,
        })
    }
}

impl WorkerOptions {
    /// Rejects a concurrency below 1, with BullMQ's message.
    pub fn check_concurrency(concurrency: usize) -> Result<()> {
        if concurrency == 0 {
            return Err(concurrency_error());
        }
        Ok(())
    }

    /// A concurrency given as any number (as JS gives it) as a job count: a fraction
    /// counts as the next whole number, since BullMQ starts a job while fewer than
    /// `concurrency` run.
    pub fn concurrency_from_number(value: f64) -> Result<usize> {
        if !value.is_finite() || value < 1.0 {
            return Err(concurrency_error());
        }
        Ok(value.ceil() as usize)
    }

    /// How many jobs a worker holds at `concurrency`: one per unit, or a batch per unit.
    pub(crate) fn slots(&self, concurrency: usize) -> usize {
        concurrency * self.batch.map_or(1, |b| b.size)
    }

    /// The lock renewal period in effect, in ms.
    pub fn renew_time(&self) -> u64 {
        self.lock_renew_time.unwrap_or(self.lock_duration / 2)
    }

    /// Rejects values BullMQ rejects, with its messages.
    pub fn validate(&self) -> Result<()> {
        let invalid = |m: &str| Err(Error::InvalidArgument(m.into()));
        Self::check_concurrency(self.concurrency)?;
        if self.batch.is_some_and(|b| b.size == 0) {
            return invalid(BATCH_SIZE_MESSAGE);
        }
        if self.timeout == Some(0) {
            return invalid("timeout must be a positive integer (ms)");
        }
        if self.max_stalled_count < 0 {
            return invalid("maxStalledCount must be greater or equal than 0");
        }
        if self.max_started_attempts.is_some_and(|n| n < 0) {
            return invalid("maxStartedAttempts must be greater or equal than 0");
        }
        if self.stalled_interval == 0 {
            return invalid("stalledInterval must be greater than 0");
        }
        if self.drain_delay <= 0.0 || !self.drain_delay.is_finite() {
            return invalid("drainDelay must be greater than 0");
        }
        if self.lock_duration == 0 {
            return invalid("lockDuration must be greater than 0");
        }
        if let Some(l) = self.limiter {
            if l.max <= 0 || l.duration <= 0 {
                return invalid("limiter max and duration must be greater than 0");
            }
        }
        if self.metrics.is_some_and(|m| m.max_data_points < 1) {
            return invalid(MAX_DATA_POINTS_MESSAGE);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_from_js_become_counts_or_errors() {
        assert_eq!(WorkerOptions::concurrency_from_number(1.5).unwrap(), 2);
        assert!(WorkerOptions::concurrency_from_number(0.5).is_err());
        assert!(WorkerOptions::concurrency_from_number(f64::NAN).is_err());
        let batch = BatchOptions::from_numbers(10.0, Some(-3.0)).unwrap();
        assert_eq!((batch.size, batch.timeout), (10, 0));
        for bad in [0.0, 2.5, f64::INFINITY] {
            assert!(BatchOptions::from_numbers(bad, None).is_err(), "size {bad}");
        }
        assert_eq!(
            MetricsOptions::from_number(60.0).unwrap().max_data_points,
            60
        );
        assert!(MetricsOptions::from_number(1.5).is_err());
    }
}
