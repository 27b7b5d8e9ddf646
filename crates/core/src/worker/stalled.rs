//! The stalled-job check: active jobs whose lock expired go back to wait.

use std::sync::Arc;
use std::time::Duration;

use super::{RunState, Shared, WorkerEvent};
use crate::error::Result;
use crate::scripts;

pub(super) async fn run(shared: Arc<Shared>) {
    let interval = Duration::from_millis(shared.opts.stalled_interval);
    let mut state = shared.state.subscribe();
    loop {
        if *state.borrow() == RunState::Closing {
            return;
        }
        if *state.borrow() == RunState::Running {
            match check(&shared).await {
                Ok(ids) => shared.emit(
                    ids.into_iter()
                        .map(|job_id| WorkerEvent::Stalled { job_id })
                        .collect(),
                ),
                Err(err) => shared.emit_error(&err),
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            changed = state.changed() => if changed.is_err() { return },
        }
    }
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
