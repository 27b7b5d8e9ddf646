//! Settles reported outcomes in batches, one script call per batch, fetching as many
//! new jobs in the same call as the batch frees slots. A report that finds a call free
//! sends it from the reporting thread (the JS thread, for the binding), so it reaches
//! Redis without a hop to the runtime; reports arriving while the calls are busy go
//! together in the next one.

use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};

use redis::Value;

use super::fetcher::{parse_fetched, push_fetch_args};
use super::outcome::{settle, Failure, Outcome, SettleKind, Settlement};
use super::{Phase, Report, RunState, Shared, WorkerEvent, WorkerOptions};
use crate::error::{Error, Result};
use crate::job::value_int;
use crate::queue_base::QueueCore;
use crate::retry::{Patience, Retry};
use crate::scripts::{self, ScriptCall};

/// Most outcomes settled by one script call.
const FINISH_BATCH: usize = 1000;

/// Finishing calls in flight at once: while Redis settles one batch, the jobs fetched
/// with the previous one are being processed.
const IN_FLIGHT: usize = 2;

/// Reports waiting for a call, and how many calls are in flight.
#[derive(Default)]
struct Flow {
    queued: Vec<Report>,
    in_flight: usize,
}

/// A worker's finishing calls.
#[derive(Default)]
pub(crate) struct Finisher {
    shared: OnceLock<Weak<Shared>>,
    flow: Mutex<Flow>,
}

impl std::fmt::Debug for Finisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Finisher").finish_non_exhaustive()
    }
}

impl Finisher {
    fn flow(&self) -> MutexGuard<'_, Flow> {
        self.flow.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts settling for the worker `shared`: reports made before wait until now.
    pub(super) fn start(self: &Arc<Self>, shared: &Arc<Shared>) {
        let _ = self.shared.set(Arc::downgrade(shared));
        self.send_next(shared, false);
    }

    /// Takes reports; sends a call now if one is free.
    pub(super) fn report(self: &Arc<Self>, reports: impl IntoIterator<Item = Report>) {
        self.flow().queued.extend(reports);
        if let Some(shared) = self.shared.get().and_then(Weak::upgrade) {
            self.send_next(&shared, false);
        }
    }

    /// Sends the queued reports if a call is free (or, with `finished`, once the call
    /// that just finished is counted out).
    fn send_next(self: &Arc<Self>, shared: &Arc<Shared>, finished: bool) {
        let batch = {
            let mut flow = self.flow();
            if finished {
                flow.in_flight -= 1;
            }
            if flow.in_flight >= IN_FLIGHT || flow.queued.is_empty() {
                return;
            }
            flow.in_flight += 1;
            let n = flow.queued.len().min(batch_cap(shared.slots.concurrency()));
            flow.queued.drain(..n).collect::<Vec<_>>()
        };
        let settlements = prepare(shared, batch.into_iter());
        if settlements.is_empty() {
            return self.send_next(shared, true);
        }
        self.send(shared, settlements);
    }

    /// Runs the finishing script for `settlements`; after a transient error it is sent
    /// again from the runtime until it goes through, so no outcome is lost.
    fn send(self: &Arc<Self>, shared: &Arc<Shared>, settlements: Vec<Settlement>) {
        let owed = shared.slots.claim_debt(settlements.len());
        let fetch = fetch_count(shared, settlements.len(), owed);
        let token = shared.next_token();
        let now = shared.core.clock.now();
        let call = finish_call(&shared.core, &shared.opts, &settlements, fetch, &token, now);
        let (finisher, owner) = (self.clone(), shared.clone());
        shared.core.conn.send_script(
            call,
            Box::new(move |reply| {
                match reply.and_then(into_values) {
                    Ok(values) => {
                        owner.core.conn.outages.recovered();
                        apply(&owner, settlements, values, fetch > 0, owed, &token, now)
                    }
                    Err(err) => return finisher.retry(owner, settlements, owed, err),
                }
                finisher.send_next(&owner, true);
            }),
        );
    }

    fn retry(
        self: Arc<Self>,
        shared: Arc<Shared>,
        settlements: Vec<Settlement>,
        owed: usize,
        err: Error,
    ) {
        shared.emit_error(&err);
        let runtime = shared.core.conn.runtime();
        let Some(runtime) = runtime.filter(|_| err.is_transient()) else {
            release(&shared, &settlements, owed);
            return self.send_next(&shared, true);
        };
        runtime.spawn(async move {
            finish_until_done(&shared, settlements, owed, err).await;
            self.send_next(&shared, true);
        });
    }
}

/// Outcomes per call: half the worker's slots, so that a worker whose jobs all finish
/// together still splits them over two calls that overlap with processing.
fn batch_cap(concurrency: usize) -> usize {
    concurrency.div_ceil(IN_FLIGHT).clamp(1, FINISH_BATCH)
}

/// How many jobs to fetch with `settled` outcomes: the slots they free, but for those a
/// lowered concurrency takes away, and none while not running or rate limited.
fn fetch_count(shared: &Shared, settled: usize, owed: usize) -> usize {
    match shared.run_state() {
        RunState::Running if shared.rate_limit_wait().is_none() => settled - owed,
        _ => 0,
    }
}

fn into_values(reply: Value) -> Result<Vec<Value>> {
    match reply {
        Value::Array(values) => Ok(values),
        _ => Err(Error::Redis(
            "unexpected reply from the finish script".into(),
        )),
    }
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

/// Sends the finishing script again after the transient error `err`, under the retry
/// policy, until it goes through; gives the outcomes up only on a final error or when the
/// worker's connection is closed.
async fn finish_until_done(
    shared: &Arc<Shared>,
    settlements: Vec<Settlement>,
    owed: usize,
    err: Error,
) {
    let conn = &shared.core.conn;
    let mut retry = Retry::new(Patience::Unbounded);
    let mut last = err;
    loop {
        if retry.wait(conn, last).await.is_err() {
            return release(shared, &settlements, owed);
        }
        let fetch = fetch_count(shared, settlements.len(), owed);
        let token = shared.next_token();
        let now = shared.core.clock.now();
        match finish(&shared.core, &shared.opts, &settlements, fetch, &token, now).await {
            Ok(reply) => {
                conn.outages.recovered();
                return apply(shared, settlements, reply, fetch > 0, owed, &token, now);
            }
            Err(err) => {
                shared.emit_error(&err);
                last = err;
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
    let call = finish_call(core, opts, settlements, fetch, token, now);
    into_values(core.conn.invoke(&call).await?)
}

/// The finishing script call for `settlements`, fetching `fetch` jobs under `token` after.
fn finish_call(
    core: &QueueCore,
    opts: &WorkerOptions,
    settlements: &[Settlement],
    fetch: usize,
    token: &str,
    now: i64,
) -> ScriptCall {
    let k = &core.keys;
    let mut call = ScriptCall::new(&scripts::FINISH_JOBS);
    push_fetch_args(&mut call, core, opts, now, token, fetch);
    call.key(&k.completed).key(&k.failed);
    call.arg(settlements.len()).arg(
        opts.metrics
            .map(|m| m.max_data_points.to_string())
            .unwrap_or_default(),
    );
    for s in settlements {
        let delay = match s.kind {
            SettleKind::Delay(d) => d,
            _ => 0,
        };
        call.arg(&s.job_id)
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
    call
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
    let mut events = Vec::with_capacity(settlements.len());
    let mut slots = Vec::with_capacity(settlements.len());
    let mut refused = Vec::new();
    {
        let mut active = shared.active.lock().unwrap_or_else(|e| e.into_inner());
        for (s, &code) in settlements
            .iter()
            .zip(codes.iter().chain(std::iter::repeat(&0)))
        {
            if let Some((outcome, error)) = refused_for_children(s, code) {
                if let Some(job) = active.get_mut(&s.job_id, &s.token) {
                    job.phase = Phase::Processing;
                    refused.push((s.job_id.clone(), s.token.clone(), outcome));
                    events.push(error);
                }
                continue;
            }
            events.extend(event_for(s, code, now));
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
    if !refused.is_empty() {
        shared.reporter.report_all(refused);
    }
    let active = shared.active.lock().unwrap_or_else(|e| e.into_inner());
    shared.notify_if_idle(&active);
}

/// A completion Redis refused because of the job's children (-4 some are pending, -9 one
/// failed it): as BullMQ's worker, the worker reports the error and the attempt fails
/// with it instead, never retried for a failed child.
fn refused_for_children(s: &Settlement, code: i64) -> Option<(Outcome, WorkerEvent)> {
    if s.kind != SettleKind::Completed || !matches!(code, -4 | -9) {
        return None;
    }
    let message = Error::script(code, &s.job_id, "moveToFinished", "active").to_string();
    let unrecoverable = code == -9;
    let class = if unrecoverable {
        "UnrecoverableError"
    } else {
        "Error"
    };
    let error = WorkerEvent::Error {
        message: message.clone(),
        job_id: None,
        token: None,
    };
    let failure = Outcome::Failed(Failure {
        stack: Some(format!("{class}: {message}")),
        message,
        unrecoverable,
        backoff_delay: None,
    });
    Some((failure, error))
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
            delay: match kind {
                SettleKind::Delay(d) => Some(d),
                _ => None,
            },
            job: s.unseen.clone(),
            unrecoverable: s.unrecoverable,
        },
    })
}
