//! Listing and counting a queue's jobs by state, in BullMQ's orders and shapes.

use std::collections::HashSet;

use redis::Value;

use crate::error::{Error, Result};
use crate::job::{value_string, Job};
use crate::queue::Queue;
use crate::scripts;

/// A priority's span of prioritized scores (priority × 2^32 + arrival counter).
const PRIORITY_SHIFT: i128 = 1 << 32;

/// The types BullMQ's getters and counts read when given none.
pub const DEFAULT_JOB_TYPES: [&str; 7] = [
    "active",
    "completed",
    "delayed",
    "failed",
    "prioritized",
    "waiting",
    "waiting-children",
];

/// The key suffix of a BullMQ job type (`waiting` is `wait`; `repeat` lists schedulers).
fn type_key(name: &str) -> Result<&'static str> {
    Ok(match name {
        "wait" | "waiting" => "wait",
        "active" => "active",
        "paused" => "paused",
        "prioritized" => "prioritized",
        "delayed" => "delayed",
        "completed" => "completed",
        "failed" => "failed",
        "waiting-children" => "waiting-children",
        "repeat" => "repeat",
        other => return Err(Error::InvalidArgument(format!("Unknown job state {other}"))),
    })
}

impl Queue {
    /// Job ids in the given states (BullMQ's `getRanges`): lists newest first unless
    /// `asc`, sorted sets by score (descending unless `asc`); an id in two states once.
    pub async fn get_ranges(
        &self,
        types: &[String],
        start: i64,
        end: i64,
        asc: bool,
    ) -> Result<Vec<String>> {
        let reply = self.ranges(types, start, end, asc, false).await?;
        let mut seen = HashSet::new();
        let mut ids = Vec::new();
        for state in reply {
            let Value::Array(items) = state else { continue };
            ids.extend(
                items
                    .iter()
                    .filter_map(value_string)
                    .filter(|id| seen.insert(id.clone())),
            );
        }
        Ok(ids)
    }

    /// Jobs in the given states (BullMQ's `getJobs`), ordered as `get_ranges` orders ids;
    /// vanished jobs are skipped, and a bounded range reads on to fill its page.
    pub async fn get_jobs(
        &self,
        types: &[String],
        start: i64,
        end: i64,
        asc: bool,
    ) -> Result<Vec<Job>> {
        let reply = self.ranges(types, start, end, asc, true).await?;
        let mut seen = HashSet::new();
        let mut jobs = Vec::new();
        for state in reply {
            let Value::Array(entries) = state else {
                continue;
            };
            for entry in entries {
                let Value::Array(pair) = entry else { continue };
                let Some(id) = pair.first().and_then(value_string) else {
                    continue;
                };
                if !seen.insert(id.clone()) {
                    continue;
                }
                if let Some(job) = pair.get(1).and_then(|hash| Job::from_reply(&id, hash)) {
                    jobs.push(job);
                }
            }
        }
        Ok(jobs)
    }

    async fn ranges(
        &self,
        types: &[String],
        start: i64,
        end: i64,
        asc: bool,
        with_hashes: bool,
    ) -> Result<Vec<Value>> {
        let mut names = Vec::with_capacity(types.len());
        for t in types {
            let name = type_key(t)?;
            if !names.contains(&name) {
                names.push(name);
            }
        }
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let k = self.keys();
        let mut inv = scripts::GET_RANGES.prepare_invoke();
        for name in &names {
            inv.key(format!("{}{name}", k.base));
        }
        inv.arg(&k.base)
            .arg(start)
            .arg(end)
            .arg(if asc { "1" } else { "0" })
            .arg(if with_hashes { "1" } else { "0" });
        for name in &names {
            inv.arg(*name);
        }
        self.core().invoke(&inv).await
    }

    /// How many jobs wait with each priority (0: the wait list), for each distinct
    /// priority in the order first given.
    pub async fn get_counts_per_priority(&self, priorities: &[i64]) -> Result<Vec<(i64, i64)>> {
        let mut distinct = Vec::with_capacity(priorities.len());
        for &p in priorities {
            if !distinct.contains(&p) {
                distinct.push(p);
            }
        }
        if distinct.is_empty() {
            return Ok(Vec::new());
        }
        let k = self.keys();
        let mut pipe = redis::pipe();
        pipe.atomic();
        for &p in &distinct {
            if p == 0 {
                pipe.cmd("LLEN").arg(&k.wait);
            } else {
                let low = i128::from(p) * PRIORITY_SHIFT;
                pipe.cmd("ZCOUNT")
                    .arg(&k.prioritized)
                    .arg(low.to_string())
                    .arg((low + PRIORITY_SHIFT - 1).to_string());
            }
        }
        let counts: Vec<i64> = self.core().pipeline(&pipe).await?;
        Ok(distinct.into_iter().zip(counts).collect())
    }

    /// Delayed jobs due strictly before `timestamp` ms.
    pub async fn get_delayed_count_before(&self, timestamp: i64) -> Result<i64> {
        let below = i128::from(timestamp) * 4096 - 1;
        self.core()
            .query(
                redis::cmd("ZCOUNT")
                    .arg(&self.keys().delayed)
                    .arg("-inf")
                    .arg(below.to_string()),
            )
            .await
    }
}
