//! `Queue::remove_orphaned_jobs`: deleting job keys that no state of the queue refers to
//! (BullMQ's `removeOrphanedJobs`), found by scanning the queue's key space.

use std::collections::BTreeSet;

use redis::Value;

use crate::error::Result;
use crate::job::{value_int, value_string};
use crate::queue::Queue;
use crate::scripts;

/// The queue's own keys (BullMQ's key map): never a job's, and their sub-keys neither.
const QUEUE_KEYS: [&str; 18] = [
    "active",
    "wait",
    "waiting-children",
    "paused",
    "id",
    "delayed",
    "prioritized",
    "stalled-check",
    "completed",
    "failed",
    "stalled",
    "repeat",
    "limiter",
    "meta",
    "events",
    "pc",
    "marker",
    "de",
];

/// The keys hanging off a job, deleted with it.
const JOB_SUB_KEYS: [&str; 6] = [
    "logs",
    "dependencies",
    "processed",
    "failed",
    "unsuccessful",
    "lock",
];

/// The job a key under the queue's base belongs to, if it is a job's key or one of its
/// sub-keys.
fn candidate(suffix: &str) -> Option<&str> {
    if suffix.is_empty() || QUEUE_KEYS.contains(&suffix) {
        return None;
    }
    let Some((job, sub)) = suffix.split_once(':') else {
        return Some(suffix);
    };
    if QUEUE_KEYS.contains(&job) || !JOB_SUB_KEYS.contains(&sub) {
        return None;
    }
    Some(job)
}

impl Queue {
    /// Deletes the jobs whose keys exist but which no state holds, scanning about
    /// `count` keys per step and stopping once at least `limit` went (0: no limit).
    /// Returns how many went.
    pub async fn remove_orphaned_jobs(&self, count: u64, limit: u64) -> Result<u64> {
        let base = &self.keys().base;
        let mut cursor = 0u64;
        let mut removed = 0u64;
        loop {
            let reply: Vec<Value> = self
                .core()
                .query(
                    redis::cmd("SCAN")
                        .arg(cursor)
                        .arg("MATCH")
                        .arg(format!("{}*", glob_escape(base)))
                        .arg("COUNT")
                        .arg(count.max(1)),
                )
                .await?;
            cursor = reply.first().and_then(value_int).unwrap_or(0).max(0) as u64;
            let keys = match reply.get(1) {
                Some(Value::Array(keys)) => keys.iter().filter_map(value_string).collect(),
                _ => Vec::new(),
            };
            let candidates: BTreeSet<String> = keys
                .iter()
                .filter_map(|key: &String| candidate(key.strip_prefix(base.as_str())?))
                .map(str::to_string)
                .collect();
            if !candidates.is_empty() {
                removed += self.remove_orphans_among(&candidates).await?;
                if limit > 0 && removed >= limit {
                    return Ok(removed);
                }
            }
            if cursor == 0 {
                return Ok(removed);
            }
        }
    }

    async fn remove_orphans_among(&self, candidates: &BTreeSet<String>) -> Result<u64> {
        let mut inv = scripts::REMOVE_ORPHANED_JOBS.prepare_invoke();
        inv.arg(&self.keys().base).arg(QUEUE_KEYS.len());
        for suffix in QUEUE_KEYS {
            inv.arg(suffix);
        }
        inv.arg(JOB_SUB_KEYS.len());
        for suffix in JOB_SUB_KEYS {
            inv.arg(suffix);
        }
        for id in candidates {
            inv.arg(id);
        }
        self.core().invoke(&inv).await
    }
}

/// `text` with the glob pattern's special characters escaped, for SCAN's MATCH.
fn glob_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_job_keys_and_their_sub_keys() {
        assert_eq!(candidate("42"), Some("42"));
        assert_eq!(candidate("42:logs"), Some("42"));
        assert_eq!(candidate("42:lock"), Some("42"));
        assert_eq!(candidate("wait"), None);
        assert_eq!(candidate("de:x"), None);
        assert_eq!(candidate("repeat:s:1"), None);
        assert_eq!(candidate("metrics:completed"), None);
        assert_eq!(candidate("42:other"), None);
    }
}
