//! What a queue holds of job schedulers. bullrush makes none yet; a queue shared with
//! BullMQ has BullMQ's, one member each in the `repeat` sorted set.

use crate::error::Result;
use crate::queue::Queue;

impl Queue {
    /// How many job schedulers the queue has (BullMQ's `getJobSchedulersCount`).
    pub async fn get_job_schedulers_count(&self) -> Result<i64> {
        self.core()
            .query(redis::cmd("ZCARD").arg(&self.keys().repeat))
            .await
    }
}
