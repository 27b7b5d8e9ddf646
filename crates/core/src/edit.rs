//! Changes to a stored job that has not run yet: its data, delay and priority, promotion
//! out of delayed, and its logs (BullMQ's `Job` methods of the same names).

use serde_json::Value as Json;

use crate::error::{Error, Result};
use crate::options::priority;
use crate::queue::Queue;
use crate::queue_base::QueueCore;
use crate::scripts;
use crate::truthy::js_truthy;

/// A job's new priority and whether it goes first among its peers (BullMQ's
/// `changePriority` options).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PriorityChange {
    /// 0 (none) to 2 097 151.
    pub priority: i64,
    /// Queue the job at the front of its priority (of wait for priority 0).
    pub lifo: bool,
}

impl PriorityChange {
    /// Reads `{ priority?, lifo? }`, checking the priority as an add does.
    pub fn from_json(opts: &Json) -> Result<PriorityChange> {
        let get = |k: &str| opts.get(k).filter(|v| !v.is_null());
        if !opts.is_object() && !opts.is_null() {
            return Err(Error::InvalidArgument(
                "changePriority options must be an object".into(),
            ));
        }
        Ok(PriorityChange {
            priority: priority(get("priority"))?,
            lifo: get("lifo").is_some_and(js_truthy),
        })
    }
}

impl Queue {
    /// Replaces a job's data (JSON text).
    pub async fn update_data(&self, id: &str, data: &str) -> Result<()> {
        let mut inv = scripts::UPDATE_DATA.prepare_invoke();
        inv.key(self.keys().job(id)).arg(data);
        let code: i64 = self.core().invoke(&inv).await?;
        QueueCore::check_code(code, id, "updateData", "active").map(|_| ())
    }

    /// Reschedules a delayed job to become due `delay` ms from now.
    pub async fn change_delay(&self, id: &str, delay: i64) -> Result<()> {
        if delay < 0 {
            return Err(Error::InvalidArgument("Delay cannot be negative".into()));
        }
        let k = self.keys();
        let mut inv = scripts::CHANGE_DELAY.prepare_invoke();
        inv.key(k.job(id))
            .key(&k.delayed)
            .key(&k.events)
            .key(&k.meta)
            .key(&k.marker)
            .arg(id)
            .arg(delay)
            .arg(self.core().clock.now());
        let code: i64 = self.core().invoke(&inv).await?;
        QueueCore::check_code(code, id, "changeDelay", "delayed").map(|_| ())
    }

    /// Gives a job a new priority; a waiting or prioritized job is queued again under it.
    pub async fn change_priority(&self, id: &str, change: PriorityChange) -> Result<()> {
        let k = self.keys();
        let mut inv = scripts::CHANGE_PRIORITY.prepare_invoke();
        inv.key(k.job(id))
            .key(&k.wait)
            .key(&k.prioritized)
            .key(&k.pc)
            .key(&k.meta)
            .key(&k.active)
            .key(&k.marker)
            .arg(id)
            .arg(change.priority)
            .arg(if change.lifo { "1" } else { "0" });
        let code: i64 = self.core().invoke(&inv).await?;
        QueueCore::check_code(code, id, "changePriority", "active").map(|_| ())
    }

    /// Makes a delayed job ready now.
    pub async fn promote(&self, id: &str) -> Result<()> {
        let k = self.keys();
        let mut inv = scripts::PROMOTE.prepare_invoke();
        inv.key(&k.delayed)
            .key(&k.wait)
            .key(&k.prioritized)
            .key(&k.pc)
            .key(&k.meta)
            .key(&k.active)
            .key(&k.events)
            .key(&k.marker)
            .arg(&k.base)
            .arg(id);
        let code: i64 = self.core().invoke(&inv).await?;
        QueueCore::check_code(code, id, "promote", "delayed").map(|_| ())
    }

    /// Deletes a job's log lines, keeping the newest `keep` when it is given and not 0.
    pub async fn clear_logs(&self, id: &str, keep: Option<i64>) -> Result<()> {
        let key = self.keys().logs(id);
        match keep.filter(|n| *n != 0) {
            None => self.core().query(redis::cmd("DEL").arg(key)).await,
            Some(n) if n < 0 => Err(Error::InvalidArgument("keepLogs cannot be negative".into())),
            Some(n) => {
                self.core()
                    .query(redis::cmd("LTRIM").arg(key).arg(-n).arg(-1))
                    .await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn priority_change_reads_bullmq_options() {
        let read = |v: Json| PriorityChange::from_json(&v);
        assert_eq!(read(json!({})).unwrap(), PriorityChange::default());
        assert_eq!(
            read(json!({"priority": 3, "lifo": true})).unwrap(),
            PriorityChange {
                priority: 3,
                lifo: true
            }
        );
        assert_eq!(
            read(json!({"priority": 1.5})).unwrap_err().to_string(),
            "Priority should not be float"
        );
        assert_eq!(
            read(json!({"priority": -1})).unwrap_err().to_string(),
            "Priority should be between 0 and 2097151"
        );
        assert!(read(json!(5)).is_err());
    }
}
