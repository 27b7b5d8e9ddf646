//! A queue's deduplication ids (`<prefix>:<queue>:de:<id>`): which job owns one, and
//! freeing one.

use crate::error::Result;
use crate::queue::Queue;
use crate::scripts;

impl Queue {
    /// The id of the job that owns deduplication id `id`, if any.
    pub async fn get_deduplication_job_id(&self, id: &str) -> Result<Option<String>> {
        self.core()
            .query(redis::cmd("GET").arg(self.keys().dedup(id)))
            .await
    }

    /// Frees deduplication id `id` whoever owns it; returns how many keys were deleted.
    pub async fn remove_deduplication_key(&self, id: &str) -> Result<i64> {
        self.core()
            .query(redis::cmd("DEL").arg(self.keys().dedup(id)))
            .await
    }

    /// Frees deduplication id `id` if job `job_id` still owns it; returns whether it did.
    pub async fn release_deduplication_key(&self, id: &str, job_id: &str) -> Result<bool> {
        let mut inv = scripts::RELEASE_DEDUP_KEY.prepare_invoke();
        inv.key(self.keys().dedup(id)).arg(job_id);
        let deleted: i64 = self.core().invoke(&inv).await?;
        Ok(deleted > 0)
    }
}
