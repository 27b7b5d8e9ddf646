//! The time a queue acts on. BullMQ takes every timestamp (job timestamps, due times,
//! `processedOn`, `finishedOn`, metrics minutes, age-based removal) from its host's clock
//! (`Date.now()`), so a test's fake clock or a host's skewed clock shows in the state it
//! writes. A [`Clock`] follows the host's clock the same way: it reads the system clock
//! plus the offset the host last reported, so engine-driven calls (fetches, stalled
//! checks, retried calls) keep to the host's time between the host's own calls. The offset
//! is kept in microseconds: a host clock that stands still (a test's fake timers) then
//! reads the same millisecond until a whole millisecond of real time has passed since the
//! host's last reading, not at the first millisecond boundary after it.

use std::sync::atomic::{AtomicI64, Ordering};

/// Milliseconds since the Unix epoch, from the system clock.
pub fn system_ms() -> i64 {
    system_us().div_euclid(1000)
}

/// Microseconds since the Unix epoch, from the system clock.
fn system_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

/// How far a reading may stray from the system clock and still be taken for it: the host
/// reads whole milliseconds a moment before the engine does, so a host on the system clock
/// reads up to a millisecond or two behind it. Taking that for an offset would date an
/// engine-driven write (a fetch's processedOn) before a host-driven one (an add's timestamp).
const SAME_CLOCK_US: i64 = 3_000;

/// A host's clock: the system clock, shifted to the time the host last reported.
#[derive(Debug, Default)]
pub struct Clock {
    offset_us: AtomicI64,
}

impl Clock {
    /// Now, in ms since the epoch, on the host's clock.
    pub fn now(&self) -> i64 {
        (system_us() + self.offset_us.load(Ordering::Relaxed)).div_euclid(1000)
    }

    /// Takes `host_now` (the host's current time, in ms) as the time now.
    pub fn observe(&self, host_now: i64) {
        let mut offset = host_now * 1000 - system_us();
        if offset.abs() <= SAME_CLOCK_US {
            offset = 0;
        }
        self.offset_us.store(offset, Ordering::Relaxed);
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

    #[test]
    fn a_standing_clock_reads_its_time_until_a_millisecond_has_passed() {
        let clock = Clock::default();
        let mut same = 0;
        for _ in 0..100 {
            clock.observe(1_000);
            let observed = system_us();
            while system_us() - observed < 400 {
                std::hint::spin_loop();
            }
            same += usize::from(clock.now() == 1_000);
        }
        assert!(same >= 95, "{same} of 100 readings 0.4 ms after the host's");
    }
}
