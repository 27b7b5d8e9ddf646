//! Lock renewal from the Rust side, so a busy JS event loop never loses a job.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Phase, RunState, Shared, WorkerEvent};
use crate::error::Result;
use crate::scripts;

pub(super) async fn run(shared: Arc<Shared>) {
    let half = Duration::from_millis((shared.opts.renew_time() / 2).max(1));
    let mut state = shared.state.subscribe();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(half) => {}
            changed = state.changed() => if changed.is_err() { return },
        }
        if *state.borrow() == RunState::Closing && idle(&shared) {
            return;
        }
        let due = due_for_renewal(&shared, half);
        if due.is_empty() {
            continue;
        }
        match extend(&shared, &due).await {
            Ok(lost) if lost.is_empty() => {}
            Ok(lost) => report_lost(&shared, &due, lost),
            Err(err) => shared.emit_error(&err),
        }
    }
}

fn idle(shared: &Shared) -> bool {
    shared
        .active
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .is_empty()
}

/// The (id, token) of every held job not renewed for `age`; marks them renewed now.
fn due_for_renewal(shared: &Shared, age: Duration) -> Vec<(String, String)> {
    let now = Instant::now();
    let mut active = shared.active.lock().unwrap_or_else(|e| e.into_inner());
    active
        .iter_mut()
        .filter(|(_, job)| {
            job.phase == Phase::Processing && now.duration_since(job.renewed_at) >= age
        })
        .map(|(id, job)| {
            job.renewed_at = now;
            (id.to_string(), job.info.token.clone())
        })
        .collect()
}

async fn extend(shared: &Shared, jobs: &[(String, String)]) -> Result<Vec<String>> {
    let k = &shared.core.keys;
    let mut inv = scripts::EXTEND_LOCKS.prepare_invoke();
    inv.key(&k.stalled)
        .arg(&k.base)
        .arg(shared.opts.lock_duration);
    for (id, token) in jobs {
        inv.arg(id).arg(token);
    }
    shared.core.invoke(&inv).await
}

/// Reports lost locks of attempts still with their processor (of those renewed with
/// `sent`); an attempt settled meanwhile gave its lock up itself.
fn report_lost(shared: &Shared, sent: &[(String, String)], lost: Vec<String>) {
    let lost: Vec<String> = {
        let active = shared.active.lock().unwrap_or_else(|e| e.into_inner());
        lost.into_iter()
            .filter(|id| {
                sent.iter()
                    .any(|(sent_id, token)| sent_id == id && active.is_processing(id, token))
            })
            .collect()
    };
    if lost.is_empty() {
        return;
    }
    let mut events: Vec<WorkerEvent> = lost
        .iter()
        .map(|id| WorkerEvent::Error {
            message: format!("could not renew lock for job {id}"),
            job_id: None,
            token: None,
        })
        .collect();
    events.push(WorkerEvent::LockRenewalFailed { job_ids: lost });
    shared.emit(events);
}
