//! The time a queue acts on. BullMQ takes every timestamp (job timestamps, due times,
//! `processedOn`, `finishedOn`, metrics minutes, age-based removal) from its host's clock
//! (`Date.now()`), so a test's fake clock or a host's skewed clock shows in the state it
//! writes. A [`Clock`] follows the host's clock the same way: it reads the system clock
//! plus the offset the host last reported, so engine-driven calls (fetches, stalled
//! checks, retried calls) keep to the host's time between the host's own calls.

use std::sync::atomic::{AtomicI64, Ordering};

/// Milliseconds since the Unix epoch, from the system clock.
pub fn system_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// How far a reading may stray from the system clock and still be taken for it: the host
/// reads whole milliseconds a moment before the engine does, so a host on the system clock
/// reads up to a millisecond or two behind it. Taking that for an offset would date an
/// engine-driven write (a fetch's processedOn) before a host-driven one (an add's timestamp).
const SAME_CLOCK_MS: i64 = 3;

/// A host's clock: the system clock, shifted to the time the host last reported.
#[derive(Debug, Default)]
pub struct Clock {
    offset_ms: AtomicI64,
}

impl Clock {
    /// Now, in ms since the epoch, on the host's clock.
    pub fn now(&self) -> i64 {
        system_ms() + self.offset_ms.load(Ordering::Relaxed)
    }

    /// Takes `host_now` (the host's current time, in ms) as the time now.
    pub fn observe(&self, host_now: i64) {
        let mut offset = host_now - system_ms();
        if offset.abs() <= SAME_CLOCK_MS {
            offset = 0;
        }
        self.offset_ms.store(offset, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_the_host_clock() {
        let clock = Clock::default();
        assert!((clock.now() - system_ms()).abs() < 1000);
        clock.observe(1_000);
        let now = clock.now();
        assert!((1_000..2_000).contains(&now), "{now}");
        clock.observe(system_ms() + 60_000);
        assert!(clock.now() - system_ms() >= 59_000);
    }

    #[test]
    fn a_reading_a_moment_old_is_the_system_clock() {
        let clock = Clock::default();
        clock.observe(system_ms() + 60_000);
        clock.observe(system_ms() - 2);
        assert!(clock.now() >= system_ms());
        clock.observe(system_ms() - 5_000);
        let behind = system_ms() - clock.now();
        assert!((4_000..6_000).contains(&behind), "{behind}");
    }
}
