//! Health checks and upkeep a queue answers outside its job operations.

use crate::error::Result;
use crate::queue::Queue;

impl Queue {
    /// Sends `PING` on the queue's connection (connecting first if needed); `PONG` when
    /// Redis answers.
    pub async fn ping(&self) -> Result<String> {
        self.core().query(&redis::cmd("PING")).await
    }

    /// Deletes `<q>:priority`, the key BullMQ before v4 kept priorities in (BullMQ's
    /// `removeDeprecatedPriorityKey`); returns how many keys went (0 or 1).
    pub async fn remove_deprecated_priority_key(&self) -> Result<i64> {
        let key = format!("{}priority", self.keys().base);
        self.core().query(redis::cmd("DEL").arg(key)).await
    }
}
