//! `Queue::publish_event`: custom entries on a queue's events stream, as BullMQ's
//! `QueueEventsProducer.publishEvent` writes them.

use crate::error::{Error, Result};
use crate::queue::Queue;

impl Queue {
    /// Appends an entry (`fields` as `[name, value]` pairs, BullMQ puts `event` first) to
    /// the events stream, trimmed to about `max_len` entries; returns the entry's id.
    pub async fn publish_event(&self, fields: &[(String, String)], max_len: i64) -> Result<String> {
        if fields.is_empty() {
            return Err(Error::InvalidArgument(
                "an event needs at least one field".into(),
            ));
        }
        if max_len < 0 {
            return Err(Error::InvalidArgument(
                "maxEvents must be an integer >= 0".into(),
            ));
        }
        let mut cmd = redis::cmd("XADD");
        cmd.arg(&self.keys().events)
            .arg("MAXLEN")
            .arg("~")
            .arg(max_len)
            .arg("*");
        for (name, value) in fields {
            cmd.arg(name).arg(value);
        }
        self.core().query(&cmd).await
    }
}
