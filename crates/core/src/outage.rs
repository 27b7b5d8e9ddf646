//! The errors an object reports (its `error` event): every final error, and a transient
//! one once per outage (from the first failure until a call succeeds again), not once per
//! attempt.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::OnceLock;

use crate::error::Error;

/// Receives the errors an object reports.
pub struct ErrorSink(pub Box<dyn Fn(&Error) + Send + Sync>);

impl std::fmt::Debug for ErrorSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ErrorSink")
    }
}

/// The outages of one connection and where its errors are reported.
#[derive(Debug, Default)]
pub struct Outages {
    /// Whether a transient error was reported and no call has succeeded since.
    ongoing: AtomicBool,
    /// How many outages were reported.
    count: AtomicU64,
    sink: OnceLock<ErrorSink>,
}

impl Outages {
    /// Has the errors reported go to `sink`; false when one is set.
    pub fn report_to(&self, sink: ErrorSink) -> bool {
        self.sink.set(sink).is_ok()
    }

    /// Whether `err` is news: any final error, and the first transient error of an
    /// outage.
    pub fn is_news(&self, err: &Error) -> bool {
        if !err.is_transient() {
            return true;
        }
        let news = !self.ongoing.swap(true, Ordering::AcqRel);
        if news {
            self.count.fetch_add(1, Ordering::AcqRel);
        }
        news
    }

    /// Reports `err` to the sink, unless it belongs to an outage already reported.
    pub fn report(&self, err: &Error) {
        if !self.is_news(err) {
            return;
        }
        tracing::warn!(%err, "redis error");
        if let Some(sink) = self.sink.get() {
            (sink.0)(err);
        }
    }

    /// Notes that a call succeeded: an outage is over. One atomic read while none is.
    pub fn recovered(&self) {
        if self.ongoing.load(Ordering::Relaxed) {
            self.ongoing.store(false, Ordering::Release);
        }
    }

    /// How many outages were reported so far: a connection opened before the count last
    /// changed may have died in the outage.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Acquire)
    }
}
