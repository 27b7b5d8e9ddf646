//! The fetch driver: fills free slots with jobs in one script call, and waits on the
//! marker when the queue is empty.

use std::sync::Arc;
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::Value;
use tokio::sync::watch;

use super::slots::Slot;
use super::{RunState, Shared, WorkerOptions};
use crate::error::{Error, Result};
use crate::job::{value_int, value_string, Job};
use crate::queue_base::QueueCore;
use crate::retry::{Patience, Retry};
use crate::scripts::{self, ScriptCall};

/// What one fetch brought back.
pub(crate) struct Fetched {
    pub jobs: Vec<Job>,
    pub rate_limit_ttl: i64,
    pub next_due: i64,
}

/// Longest time a blocking wait on the marker lasts, as BullMQ caps it.
const MAX_BLOCK_SECS: f64 = 10.0;

pub(super) async fn run(shared: Arc<Shared>) {
    let mut state = shared.state.subscribe();
    let mut blocking: Option<MultiplexedConnection> = None;
    let mut retry_delay = Duration::from_millis(100);
    let mut retry = Retry::new(Patience::Unbounded);
    let mut seen_outages = shared.core.conn.outages.count();
    let mut connected = false;
    loop {
        let current = *state.borrow_and_update();
        match current {
            RunState::Closing => return,
            RunState::Idle | RunState::Paused => {
                if state.changed().await.is_err() {
                    return;
                }
                continue;
            }
            RunState::Running => {}
        }
        if !connected {
            if let Err(err) = connect(&shared, &mut blocking).await {
                shared.emit_error(&err);
                retry_delay = wait_after(&shared, &mut state, &mut retry, err, retry_delay).await;
                continue;
            }
            connected = true;
            shared.announce_ready();
        }
        let Some(mut slots) = take_slots(&shared, &mut state).await else {
            continue;
        };
        // A slot and a pause or close can arrive together: the state wins.
        if shared.run_state() != RunState::Running {
            drop(slots);
            continue;
        }
        if let Some(wait) = shared.rate_limit_wait() {
            drop(slots);
            sleep_unless_changed(&mut state, wait).await;
            continue;
        }
        let token = shared.next_token();
        let fetched = match fetch(&shared, slots.len(), &token).await {
            Ok(f) => f,
            Err(err) => {
                drop(slots);
                shared.emit_error(&err);
                retry_delay = wait_after(&shared, &mut state, &mut retry, err, retry_delay).await;
                continue;
            }
        };
        shared.core.conn.outages.recovered();
        retry = Retry::new(Patience::Unbounded);
        retry_delay = Duration::from_millis(100);
        let got = fetched.jobs.len();
        shared.accept(fetched.jobs, &mut slots, &token, Vec::new());
        if got > 0 {
            continue;
        }
        if fetched.rate_limit_ttl > 0 {
            shared.limit(fetched.rate_limit_ttl);
            continue;
        }
        // After an outage the blocking connection is most likely dead too: a new one is
        // opened, rather than found dead (and reported) once Redis is back.
        let outages = shared.core.conn.outages.count();
        if outages != seen_outages {
            seen_outages = outages;
            blocking = None;
        }
        let waited = tokio::select! {
            r = wait_for_marker(&shared, &mut blocking, fetched.next_due) => r,
            _ = state.changed() => Ok(()),
        };
        if let Err(err) = waited {
            blocking = None;
            shared.emit_error(&err);
            retry_delay = wait_after(&shared, &mut state, &mut retry, err, retry_delay).await;
        }
    }
}

/// Waits before the next fetch after `err` (or until the run state changes): as the retry
/// policy says for a transient error, `delay` for another; returns the next such delay.
async fn wait_after(
    shared: &Shared,
    state: &mut watch::Receiver<RunState>,
    retry: &mut Retry,
    err: Error,
    delay: Duration,
) -> Duration {
    if err.is_transient() {
        tokio::select! {
            _ = retry.wait(&shared.core.conn, err) => {}
            _ = state.changed() => {}
        }
        return delay;
    }
    sleep_unless_changed(state, delay).await;
    next_delay(delay, shared)
}

/// Opens the shared connection and takes the named blocking one (opened now unless
/// `wait_until_ready` did it), so that `getWorkers` lists the worker from its start, as it
/// lists BullMQ's.
async fn connect(shared: &Shared, blocking: &mut Option<MultiplexedConnection>) -> Result<()> {
    if blocking.is_some() {
        return shared.core.conn().await.map(|_| ());
    }
    shared.connect().await?;
    *blocking = shared.blocking.lock().await.take();
    Ok(())
}

/// Doubles a retry delay, up to the worker's `runRetryDelay`.
fn next_delay(delay: Duration, shared: &Shared) -> Duration {
    (delay * 2).min(Duration::from_millis(shared.opts.run_retry_delay))
}

/// Waits for free slots; `None` when the run state changes first.
async fn take_slots(shared: &Shared, state: &mut watch::Receiver<RunState>) -> Option<Vec<Slot>> {
    tokio::select! {
        slots = shared.slots.take() => slots,
        _ = state.changed() => None,
    }
}

async fn sleep_unless_changed(state: &mut watch::Receiver<RunState>, d: Duration) {
    tokio::select! {
        _ = tokio::time::sleep(d) => {}
        _ = state.changed() => {}
    }
}

/// Moves up to `count` jobs into active under lock `token`.
pub(crate) async fn fetch(shared: &Shared, count: usize, token: &str) -> Result<Fetched> {
    let mut call = ScriptCall::new(&scripts::FETCH_JOBS);
    push_fetch_args(
        &mut call,
        &shared.core,
        &shared.opts,
        shared.core.clock.now(),
        token,
        count,
    );
    let reply = shared.core.conn.invoke(&call).await?;
    let Value::Array(reply) = reply else {
        return Err(Error::Redis(
            "unexpected reply from the fetch script".into(),
        ));
    };
    parse_fetched(&reply, 0)
}

/// The keys and arguments both fetching scripts start with (see `includes/fetch.lua`).
pub(crate) fn push_fetch_args(
    inv: &mut ScriptCall,
    core: &QueueCore,
    o: &WorkerOptions,
    now: i64,
    token: &str,
    count: usize,
) {
    let k = &core.keys;
    for key in [
        &k.wait,
        &k.active,
        &k.prioritized,
        &k.pc,
        &k.delayed,
        &k.events,
        &k.meta,
        &k.marker,
        &k.stalled,
        &k.limiter,
    ] {
        inv.key(key);
    }
    inv.arg(&k.base)
        .arg(now)
        .arg(token)
        .arg(o.lock_duration)
        .arg(count);
    match o.limiter {
        Some(l) => inv.arg(l.max).arg(l.duration),
        None => inv.arg("").arg(""),
    };
    inv.arg(o.name.as_deref().unwrap_or(""));
}

/// Reads `[jobs, ttl, nextDue]` starting at `at` in a script reply.
pub(crate) fn parse_fetched(reply: &[Value], at: usize) -> Result<Fetched> {
    let bad = || Error::Redis("unexpected reply from the fetch script".into());
    let Some(Value::Array(raw_jobs)) = reply.get(at) else {
        return Err(bad());
    };
    let mut jobs = Vec::with_capacity(raw_jobs.len());
    for entry in raw_jobs {
        let Value::Array(pair) = entry else {
            return Err(bad());
        };
        let id = pair.first().and_then(value_string).ok_or_else(bad)?;
        let hash = pair.get(1).ok_or_else(bad)?;
        let job = Job::from_reply(&id, hash).unwrap_or_else(|| Job {
            id: id.clone(),
            data: "{}".into(),
            opts: "{}".into(),
            ..Job::default()
        });
        jobs.push(job);
    }
    Ok(Fetched {
        jobs,
        rate_limit_ttl: reply.get(at + 1).and_then(value_int).unwrap_or(0),
        next_due: reply.get(at + 2).and_then(value_int).unwrap_or(0),
    })
}

/// Blocks on the marker until a job may be ready, the next delayed job is due,
/// or `drainDelay` passes.
pub(super) async fn wait_for_marker(
    shared: &Shared,
    blocking: &mut Option<MultiplexedConnection>,
    mut block_until: i64,
) -> Result<()> {
    loop {
        let timeout = match block_timeout(
            block_until,
            shared.core.clock.now(),
            shared.opts.drain_delay,
        ) {
            Some(t) => t,
            None => return Ok(()),
        };
        if blocking.is_none() {
            *blocking = Some(
                shared
                    .core
                    .conn
                    .blocking(Some(&shared.client_name()))
                    .await?,
            );
        }
        let conn = blocking.as_mut().expect("blocking connection just opened");
        let cmd = redis::cmd("BZPOPMIN")
            .arg(&shared.core.keys.marker)
            .arg(format!("{timeout:.3}"))
            .to_owned();
        let watchdog = Duration::from_secs_f64(timeout + 1.0);
        let popped: Value = match tokio::time::timeout(watchdog, cmd.query_async(conn)).await {
            Ok(r) => r.map_err(|e| shared.core.conn.options().error(e))?,
            Err(_) => {
                *blocking = None;
                return Ok(());
            }
        };
        let due = match &popped {
            Value::Array(items) => items.get(2).and_then(value_string),
            _ => None,
        };
        let Some(score) = due.and_then(|s| s.parse::<f64>().ok()) else {
            return Ok(());
        };
        if score as i64 <= shared.core.clock.now() {
            return Ok(());
        }
        block_until = score as i64;
    }
}

/// Seconds to block for, or `None` when the wait is already over.
fn block_timeout(block_until: i64, now: i64, drain_delay: f64) -> Option<f64> {
    if block_until <= 0 {
        return Some(drain_delay.max(0.001));
    }
    let ms = block_until - now;
    if ms <= 0 {
        return None;
    }
    Some((ms as f64 / 1000.0).clamp(0.001, MAX_BLOCK_SECS))
}
