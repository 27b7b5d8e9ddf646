//! `Queue::clean`: removing jobs of one state that are older than a grace period.

use crate::error::{Error, Result};
use crate::queue::Queue;
use crate::scripts;

/// Most jobs one script call removes, as BullMQ pages its `clean`.
const CLEAN_PAGE: i64 = 10_000;

/// A state whose jobs `Queue::clean` can remove (BullMQ's `clean` types).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CleanState {
    Completed,
    Wait,
    Active,
    Paused,
    Prioritized,
    Delayed,
    Failed,
}

impl CleanState {
    /// Parses BullMQ's type names; `waiting` is `wait`.
    pub fn parse(name: &str) -> Result<CleanState> {
        Ok(match name {
            "completed" => CleanState::Completed,
            "wait" | "waiting" => CleanState::Wait,
            "active" => CleanState::Active,
            "paused" => CleanState::Paused,
            "prioritized" => CleanState::Prioritized,
            "delayed" => CleanState::Delayed,
            "failed" => CleanState::Failed,
            other => {
                return Err(Error::InvalidArgument(format!(
                    "Cannot clean jobs of type {other}; the types are completed, wait, waiting, \
                     active, paused, prioritized, delayed and failed"
                )))
            }
        })
    }

    /// The state's name: its key suffix, and the type the `cleaned` event reports.
    pub fn name(self) -> &'static str {
        match self {
            CleanState::Completed => "completed",
            CleanState::Wait => "wait",
            CleanState::Active => "active",
            CleanState::Paused => "paused",
            CleanState::Prioritized => "prioritized",
            CleanState::Delayed => "delayed",
            CleanState::Failed => "failed",
        }
    }
}

impl Queue {
    /// Removes jobs in `state` older than `grace_ms`, at most `limit` of them (0: no
    /// limit), the way BullMQ's `clean` does: one script call per page of up to 10000
    /// jobs, each emitting `cleaned`, until a page comes back short. Returns the ids each
    /// call removed, in call order.
    pub async fn clean(
        &self,
        grace_ms: i64,
        limit: i64,
        state: CleanState,
    ) -> Result<Vec<Vec<String>>> {
        if grace_ms < 0 {
            return Err(Error::InvalidArgument(
                "grace must be a number of milliseconds >= 0".into(),
            ));
        }
        if limit < 0 {
            return Err(Error::InvalidArgument(
                "limit must be an integer >= 0 (0 removes without limit)".into(),
            ));
        }
        let max = if limit == 0 { i64::MAX } else { limit };
        let page = max.min(CLEAN_PAGE);
        let cutoff = self.core().clock.now() - grace_ms;
        let mut pages = Vec::new();
        let mut removed = 0;
        while removed < max {
            let ids = self.clean_page(cutoff, page, state).await?;
            removed += ids.len() as i64;
            let short = (ids.len() as i64) < page;
            pages.push(ids);
            if short {
                break;
            }
        }
        Ok(pages)
    }

    async fn clean_page(&self, cutoff: i64, limit: i64, state: CleanState) -> Result<Vec<String>> {
        let k = self.keys();
        let mut inv = scripts::CLEAN_JOBS.prepare_invoke();
        inv.key(format!("{}{}", k.base, state.name()))
            .key(&k.events)
            .key(&k.repeat)
            .arg(&k.base)
            .arg(cutoff)
            .arg(limit)
            .arg(state.name());
        self.core().invoke(&inv).await
    }
}
