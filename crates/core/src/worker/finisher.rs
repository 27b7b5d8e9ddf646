//! Settles reported outcomes in batches, one script call per batch, fetching as many
//! new jobs in the same call as the batch frees slots.

use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{FuturesUnordered, StreamExt};
use redis::Value;
use tokio::sync::mpsc;

use super::fetcher::{parse_fetched, push_fetch_args};
use super::outcome::{settle, Outcome, SettleKind, Settlement};
use super::{Phase, Report, RunState, Shared, WorkerEvent, WorkerOptions};
use crate::error::{Error, Result};
use crate::job::value_int;
use crate::queue::QueueCore;
use crate::scripts;

/// Most outcomes settled by one script call.
const FINISH_BATCH: usize = 1000;

/// Finishing calls in flight at once: while Redis settles one batch, the jobs fetched
/// with the previous one are being processed.
const IN_FLIGHT: usize = 2;

pub(super) async fn run(shared: Arc<Shared>, mut reports: mpsc::UnboundedReceiver<Report>) {
    let mut in_flight = FuturesUnordered::new();
    let mut batch = Vec::new();
    loop {
        let cap = batch_cap(shared.slots.concurrency());
        tokio::select! {
            received = reports.recv_many(&mut batch, cap), if in_flight.len() < IN_FLIGHT => {
                if received == 0 {
                    break;
                }
                let settlements = prepare(&shared, batch.drain(..));
                if !settlements.is_empty() {
                    in_flight.push(finish_until_done(&shared, settlements));
                }
            }
            Some(()) = in_flight.next(), if !in_flight.is_empty() => {}
        }
    }
    while in_flight.next().await.is_some() {}
}

/// Outcomes per call: half the worker's slots, so that a worker whose jobs all finish
/// together still splits them over two calls that overlap with processing.
fn batch_cap(concurrency: usize) -> usize {
    concurrency.div_ceil(IN_FLIGHT).clamp(1, FINISH_BATCH)
}

/// Decides each reported attempt. Outcomes for attempts the worker no longer holds, or
/// whose outcome is already on its way, are dropped; attempts whose processor moved the
/// job away are let go.
fn prepare(shared: &Shared, reports: impl Iterator<Item = Report>) -> Vec<Settlement> {
    let mut active = shared.active.lock().unwrap_or_else(|e| e.into_inner());
    let keep = shared.keep_defaults();
    let settlements = reports
        .filter_map(|r| {
            let held = active.get_mut(&r.job_id, &r.token)?;
            match (held.phase, &r.outcome) {
                (Phase::Settling, _) => return None,
                (Phase::Moved, Outcome::Moved) => {
                    active.remove(&r.job_id, &r.token);
                    return None;
                }
                // A job moved away and then finished anyway: settling it fails in
                // Redis, and the worker reports that error, as BullMQ does.
                _ => {}
            }
            let Some(mut s) = settle(&r.job_id, &held.info, r.outcome, keep) else {
                active.remove(&r.job_id, &r.token);
                return None;
            };
            held.phase = Phase::Settling;
            s.unseen = held.unseen.clone();
            Some(s)
        })
        .collect();
    shared.notify_if_idle(&active);
    settlements
}

/// Runs the finishing script, retrying on connection errors so no outcome is lost. The
/// slots the batch frees are filled in the same call, but for those a lowered
/// concurrency takes away.
async fn finish_until_done(shared: &Arc<Shared>, settlements: Vec<Settlement>) {
    let mut delay = Duration::from_millis(100);
    let owed = shared.slots.claim_debt(settlements.len());
    loop {
        let fetch = match shared.run_state() {
            RunState::Running if shared.rate_limit_wait().is_none() => settlements.len() - owed,
            _ => 0,
        };
        let token = shared.next_token();
        let now = crate::now_ms();
        match finish(&shared.core, &shared.opts, &settlements, fetch, &token, now).await {
            Ok(reply) => return apply(shared, settlements, reply, fetch > 0, owed, &token, now),
            Err(err) => {
                shared.emit_error(&err);
                if !err.is_connection() {
                    return release(shared, &settlements, owed);
                }
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_millis(shared.opts.run_retry_delay));
            }
        }
    }
}

/// Runs the finishing script for `settlements`, fetching `fetch` jobs under `token` after.
pub(super) async fn finish(
    core: &QueueCore,
    opts: &WorkerOptions,
    settlements: &[Settlement],
    fetch: usize,
    token: &str,
    now: i64,
) -> Result<Vec<Value>> {
    let k = &core.keys;
    let mut inv = scripts::FINISH_JOBS.prepare_invoke();
    push_fetch_args(&mut inv, core, opts, now, token, fetch);
    inv.key(&k.completed).key(&k.failed);
    inv.arg(settlements.len()).arg(
        opts.metrics
            .map(|m| m.max_data_points.to_string())
            .unwrap_or_default(),
    );
    for s in settlements {
        let delay = match s.kind {
            SettleKind::Delay(d) => d,
            _ => 0,
        };
        inv.arg(&s.job_id)
            .arg(&s.token)
            .arg(s.kind.script_name())
            .arg(&s.value)
            .arg(&s.stacktrace)
            .arg(s.keep.count)
            .arg(s.keep.age.map(|a| a.to_string()).unwrap_or_default())
            .arg(s.keep.limit.map(|l| l.to_string()).unwrap_or_default())
            .arg(s.attempts)
            .arg(delay)
            .arg(if s.lifo { "1" } else { "0" })
            .arg(s.attempts_made)
            .arg(s.deduplication_id.as_deref().unwrap_or_default());
    }
    core.invoke(&inv).await
}

/// Publishes the settled outcomes, frees their slots (forgetting the `owed` ones) and
/// starts the jobs fetched with them.
fn apply(
    shared: &Arc<Shared>,
    settlements: Vec<Settlement>,
    reply: Vec<Value>,
    fetched: bool,
    owed: usize,
    token: &str,
    now: i64,
) {
    let codes: Vec<i64> = match reply.first() {
        Some(Value::Array(codes)) => codes.iter().map(|c| value_int(c).unwrap_or(0)).collect(),
        _ => Vec::new(),
    };
    let events = settlements
        .iter()
        .zip(codes.iter().chain(std::iter::repeat(&0)))
        .filter_map(|(s, &code)| event_for(s, code, now))
        .collect();
    let mut slots = Vec::with_capacity(settlements.len());
    {
        let mut active = shared.active.lock().unwrap_or_else(|e| e.into_inner());
        for s in &settlements {
            if let Some(job) = active.remove(&s.job_id, &s.token) {
                slots.push(job._slot);
            }
        }
    }
    shared.slots.forget(&mut slots, owed);
    let jobs = match parse_fetched(&reply, 1) {
        Ok(f) => {
            shared.limit(f.rate_limit_ttl);
            if fetched {
                f.jobs
            } else {
                Vec::new()
            }
        }
        Err(err) => {
            shared.emit_error(&err);
            Vec::new()
        }
    };
    if fetched {
        shared.accept(jobs, &mut slots, token, events);
    } else {
        shared.emit(events);
    }
    let active = shared.active.lock().unwrap_or_else(|e| e.into_inner());
    shared.notify_if_idle(&active);
}

/// Gives up on outcomes the server rejected: frees their slots (forgetting the `owed`
/// ones), leaving the jobs to the stalled check.
fn release(shared: &Shared, settlements: &[Settlement], owed: usize) {
    let mut active = shared.active.lock().unwrap_or_else(|e| e.into_inner());
    let mut slots: Vec<_> = settlements
        .iter()
        .filter_map(|s| active.remove(&s.job_id, &s.token))
        .map(|job| job._slot)
        .collect();
    shared.slots.forget(&mut slots, owed);
    shared.notify_if_idle(&active);
}

/// The event a settled outcome raises on the worker; none for a job sent back to wait.
fn event_for(s: &Settlement, code: i64, now: i64) -> Option<WorkerEvent> {
    if code < 0 {
        return Some(WorkerEvent::Error {
            message: Error::script(code, &s.job_id, s.kind.command(), "active").to_string(),
            job_id: Some(s.job_id.clone()),
            token: Some(s.token.clone()),
        });
    }
    Some(match s.kind {
        SettleKind::BackToWait => return None,
        SettleKind::Completed => WorkerEvent::Completed {
            job_id: s.job_id.clone(),
            finished_on: now,
            attempts_made: s.attempts_made,
        },
        kind => WorkerEvent::Failed {
            job_id: s.job_id.clone(),
            reason: s.value.clone(),
            stacktrace: s.stacktrace.clone(),
            attempts_made: s.attempts_made,
            finished_on: (kind == SettleKind::Failed).then_some(now),
            job: s.unseen.clone(),
        },
    })
}
