//! The stalled-job check: active jobs whose lock expired go back to wait.

use std::sync::Arc;
use std::time::Duration;

use super::{RunState, Shared, WorkerEvent};
use crate::error::Result;
use crate::scripts;

/// Checks every `stalledInterval` while the worker runs (or, never started, takes jobs by
/// hand); paused workers skip their turns, as BullMQ's stop their checker.
pub(super) async fn run(shared: Arc<Shared>) {
    let interval = Duration::from_millis(shared.opts.stalled_interval);
    let mut state = shared.state.subscribe();
    loop {
        let now = *state.borrow();
        if now == RunState::Closing {
            return;
        }
        if matches!(now, RunState::Running | RunState::Idle) {
            if let Err(err) = check_and_report(&shared).await {
                shared.emit_error(&err);
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            changed = state.changed() => if changed.is_err() { return },
        }
    }
}

/// Runs one stalled check and raises a `Stalled` event per job it moved back to wait.
pub(super) async fn check_and_report(shared: &Shared) -> Result<Vec<String>> {
    let ids = check(shared).await?;
    shared.emit(
        ids.iter()
            .map(|id| WorkerEvent::Stalled { job_id: id.clone() })
            .collect(),
    );
    Ok(ids)
}

/// Runs one stalled check (at most one per interval across all workers).
async fn check(shared: &Shared) -> Result<Vec<String>> {
    let k = &shared.core.keys;
    let mut inv = scripts::MOVE_STALLED_JOBS.prepare_invoke();
    inv.key(&k.stalled)
        .key(&k.wait)
        .key(&k.active)
        .key(&k.stalled_check)
        .key(&k.meta)
        .key(&k.events)
        .key(&k.marker)
        .key(&k.repeat)
        .arg(shared.opts.max_stalled_count)
        .arg(&k.base)
        .arg(shared.core.clock.now())
        .arg(shared.opts.stalled_interval);
    shared.core.invoke(&inv).await
}
