//! Batches: jobs handed to the host in groups of `size`, a partial group waiting at most
//! `timeout` ms for more jobs before it goes as it is.

use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use super::Shared;
use crate::job::Job;

/// How a worker groups the jobs it hands over (bullrush only; BullMQ Pro's `batch`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchOptions {
    /// Jobs per batch.
    pub size: usize,
    /// Longest wait of a partial batch for more jobs, in ms.
    pub timeout: u64,
}

/// Jobs waiting to fill a batch, and whether a flush is already scheduled.
#[derive(Default)]
pub(super) struct Batcher {
    pending: Mutex<Pending>,
}

#[derive(Default)]
struct Pending {
    jobs: Vec<Job>,
    flush_scheduled: bool,
}

impl Batcher {
    /// Adds started jobs; returns the full batches to hand over now, and schedules the
    /// hand-over of a partial one.
    pub(super) fn add(
        &self,
        shared: &Arc<Shared>,
        opts: BatchOptions,
        jobs: Vec<Job>,
    ) -> Vec<Vec<Job>> {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        pending.jobs.extend(jobs);
        let mut ready = take_full(&mut pending.jobs, opts.size);
        if pending.jobs.is_empty() {
            return ready;
        }
        if opts.timeout == 0 {
            ready.push(std::mem::take(&mut pending.jobs));
        } else if !pending.flush_scheduled {
            pending.flush_scheduled = true;
            schedule_flush(Arc::downgrade(shared), Duration::from_millis(opts.timeout));
        }
        ready
    }

    /// Takes the partial batch whose wait is over.
    fn flush(&self) -> Vec<Job> {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        pending.flush_scheduled = false;
        std::mem::take(&mut pending.jobs)
    }
}

/// Takes every full batch of `size` off the front of `jobs`, in order.
fn take_full(jobs: &mut Vec<Job>, size: usize) -> Vec<Vec<Job>> {
    let mut full = Vec::new();
    while jobs.len() >= size {
        let rest = jobs.split_off(size);
        full.push(std::mem::replace(jobs, rest));
    }
    full
}

fn schedule_flush(shared: Weak<Shared>, after: Duration) {
    tokio::spawn(async move {
        tokio::time::sleep(after).await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let jobs = shared.batcher.flush();
        if !jobs.is_empty() {
            shared.host.deliver(jobs, Vec::new(), &shared.reporter);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: &str) -> Job {
        Job {
            id: id.into(),
            ..Job::default()
        }
    }

    #[test]
    fn takes_full_batches_in_order_and_keeps_the_rest() {
        let mut jobs: Vec<Job> = (0..7).map(|i| job(&i.to_string())).collect();
        let full = take_full(&mut jobs, 3);
        let ids: Vec<Vec<&str>> = full
            .iter()
            .map(|b| b.iter().map(|j| j.id.as_str()).collect())
            .collect();
        assert_eq!(ids, vec![vec!["0", "1", "2"], vec!["3", "4", "5"]]);
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs[0].id, "6");
    }
}
