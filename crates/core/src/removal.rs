//! Removing jobs: one job (with or without its descendants), every job not started yet
//! (`drain`), or the whole queue (`obliterate`). A removed child no longer holds up its
//! parent (see the Lua include `parent.lua`).

use crate::error::{Error, Result};
use crate::queue::Queue;
use crate::queue_base::QueueCore;
use crate::scripts;

/// Whether removing a job removes its children too (BullMQ's `removeChildren`, on by
/// default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Children {
    #[default]
    Remove,
    Keep,
}

impl Queue {
    /// Removes every job that has not started, and delayed ones too when asked.
    pub async fn drain(&self, delayed: bool) -> Result<i64> {
        let k = self.keys();
        let mut inv = scripts::DRAIN.prepare_invoke();
        inv.key(&k.wait)
            .key(&k.paused)
            .key(&k.prioritized)
            .key(&k.delayed)
            .key(&k.repeat)
            .arg(&k.base)
            .arg(if delayed { "1" } else { "0" });
        self.core().invoke(&inv).await
    }

    /// Deletes the queue and all its jobs; refuses while jobs are active unless forced.
    pub async fn obliterate(&self, force: bool, count: i64) -> Result<()> {
        self.pause().await?;
        let k = self.keys();
        loop {
            let mut inv = scripts::OBLITERATE.prepare_invoke();
            inv.key(&k.meta)
                .key(&k.active)
                .key(&k.delayed)
                .key(&k.repeat)
                .key(&k.completed)
                .key(&k.wait)
                .key(&k.paused)
                .key(&k.prioritized)
                .key(&k.failed)
                .arg(&k.base)
                .arg(if force { "1" } else { "0" })
                .arg(count.max(1));
            match self.core().invoke::<i64>(&inv).await? {
                0 => return Ok(()),
                1 => continue,
                -1 => {
                    return Err(Error::InvalidArgument(
                        "Cannot obliterate non-paused queue".into(),
                    ))
                }
                _ => {
                    return Err(Error::InvalidArgument(
                        "Cannot obliterate queue with active jobs".into(),
                    ))
                }
            }
        }
    }

    /// Removes a job that no worker holds, and with `children` its descendants (which
    /// must not be held either); returns whether it was removed.
    pub async fn remove(&self, id: &str, children: Children) -> Result<bool> {
        let k = self.keys();
        let mut inv = scripts::REMOVE_JOB.prepare_invoke();
        inv.key(&k.repeat)
            .arg(&k.base)
            .arg(id)
            .arg(if children == Children::Remove {
                "1"
            } else {
                "0"
            });
        let code: i64 = self.core().invoke(&inv).await?;
        QueueCore::check_code(code, id, "removeJob", "active").map(|c| c == 1)
    }
}
