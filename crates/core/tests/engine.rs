//! Integration tests of the engine against a real Redis (`REDIS_URL`, default
//! `redis://127.0.0.1:6379`). Every test works on its own queue, named with a UUID, and
//! removes that queue's keys when it ends, also when it fails.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bullrush_core::{
    ConnectionOptions, Error, EventsHost, Failure, Finished, FnProcessor, Host, Job, JobError,
    LinkSocket, Outcome, Patience, Queue, QueueEvents, QueueEventsOptions, QueueOptions, Reporter,
    SocketReader, StreamEvent, Worker, WorkerEvent, WorkerOptions,
};
use serde_json::{json, Value};
use tokio::sync::{broadcast, mpsc};
use tokio::time::{sleep, timeout};

mod support;
use support::{connection, eventually, Scratch, WAIT};

/// A port on 127.0.0.1 that nothing listens on.
fn dead_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Options for an endpoint nothing listens on.
fn dead_connection() -> (ConnectionOptions, String) {
    let port = dead_port();
    let opts = ConnectionOptions {
        host: "127.0.0.1".into(),
        port,
        patience: Patience::MaxRetries(0),
        ..ConnectionOptions::default()
    };
    (opts, format!("127.0.0.1:{port}"))
}

fn no_opts() -> Value {
    json!({})
}

/// Adds one job with JSON data and options, returning its id.
async fn add(queue: &Queue, name: &str, data: Value, opts: Value) -> String {
    queue.add(name, &data.to_string(), &opts).await.unwrap().id
}

async fn counts(queue: &Queue, states: &[&str]) -> Vec<i64> {
    let states: Vec<String> = states.iter().map(|s| s.to_string()).collect();
    queue
        .get_job_counts(&states)
        .await
        .unwrap()
        .into_iter()
        .map(|(_, n)| n)
        .collect()
}

/// Receives worker events until `pick` returns something; fails on an `Error` event.
async fn next_event<T>(
    rx: &mut broadcast::Receiver<WorkerEvent>,
    mut pick: impl FnMut(&WorkerEvent) -> Option<T>,
) -> T {
    let wait = async {
        loop {
            match rx.recv().await {
                Ok(WorkerEvent::Error {
                    message, job_id, ..
                }) => {
                    panic!("worker error event: {message} (job {job_id:?})")
                }
                Ok(event) => {
                    if let Some(found) = pick(&event) {
                        return found;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(n)) => panic!("missed {n} worker events"),
                Err(broadcast::error::RecvError::Closed) => panic!("worker events closed"),
            }
        }
    };
    timeout(WAIT, wait)
        .await
        .expect("timed out waiting for a worker event")
}

/// Waits for `n` `Completed` events; returns `(job_id, finished_on, attempts_made)` of each.
async fn completions(
    rx: &mut broadcast::Receiver<WorkerEvent>,
    n: usize,
) -> Vec<(String, i64, i64)> {
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let done = next_event(rx, |e| match e {
            WorkerEvent::Completed {
                job_id,
                finished_on,
                attempts_made,
            } => Some((job_id.clone(), *finished_on, *attempts_made)),
            _ => None,
        })
        .await;
        out.push(done);
    }
    out
}

/// A `Failed` event's fields: `(job_id, reason, attempts_made, finished_on)`.
type FailedEvent = (String, String, i64, Option<i64>);

async fn next_failure(rx: &mut broadcast::Receiver<WorkerEvent>) -> FailedEvent {
    next_event(rx, |e| match e {
        WorkerEvent::Failed {
            job_id,
            reason,
            attempts_made,
            finished_on,
            ..
        } => Some((job_id.clone(), reason.clone(), *attempts_made, *finished_on)),
        _ => None,
    })
    .await
}

fn parse(json: &str) -> Value {
    serde_json::from_str(json).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn completes_a_job_with_its_return_value() {
    let s = Scratch::new("complete");
    let queue = s.queue();
    let before = bullrush_core::now_ms();
    let id = add(&queue, "double", json!({ "n": 21 }), no_opts()).await;
    assert_eq!(id, "1", "the first job of a fresh queue gets id 1");
    assert_eq!(queue.get_job_state(&id).await.unwrap(), "waiting");

    let seen = Arc::new(Mutex::new(Vec::<Job>::new()));
    let processor = Arc::new(FnProcessor::new({
        let seen = seen.clone();
        move |job: Job| {
            seen.lock().unwrap().push(job.clone());
            async move {
                let n = parse(&job.data)["n"].as_i64().unwrap();
                Ok(json!({ "doubled": n * 2 }))
            }
        }
    }));
    let mut events = processor.subscribe();
    let worker = s.worker(1, processor.clone());
    worker.run().await.unwrap();

    let done = completions(&mut events, 1).await;
    assert_eq!(done[0].0, id);
    assert!(done[0].1 >= before, "finished_on is a current timestamp");
    assert_eq!(done[0].2, 1, "attempts_made after one attempt");

    let given = seen.lock().unwrap().clone();
    assert_eq!(given.len(), 1);
    assert_eq!(given[0].id, id);
    assert_eq!(given[0].name, "double");
    assert_eq!(parse(&given[0].data), json!({ "n": 21 }));
    assert_eq!(
        given[0].attempts_made, 0,
        "the processor sees the attempts made before"
    );

    let job = queue.get_job(&id).await.unwrap().expect("job kept");
    assert_eq!(
        job.returnvalue.as_deref().map(parse),
        Some(json!({ "doubled": 42 }))
    );
    assert_eq!(job.attempts_made, 1);
    assert_eq!(job.finished_on, Some(done[0].1));
    assert!(job
        .processed_on
        .is_some_and(|p| p >= before && p <= done[0].1));
    assert_eq!(job.failed_reason, None);
    assert_eq!(queue.get_job_state(&id).await.unwrap(), "completed");
    assert_eq!(
        queue.job_finished(&id).await.unwrap(),
        Finished::Completed(r#"{"doubled":42}"#.into())
    );
    assert_eq!(
        counts(
            &queue,
            &["completed", "waiting", "active", "failed", "delayed"]
        )
        .await,
        [1, 0, 0, 0, 0]
    );
    assert_eq!(queue.get_job_state("nope").await.unwrap(), "unknown");

    worker.close(false).await;
    queue.close().await;
    s.obliterate().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrency_processes_every_job_exactly_once() {
    const JOBS: usize = 60;
    const CONCURRENCY: usize = 4;
    let s = Scratch::new("concurrency");
    let queue = s.queue();
    let bulk: Vec<(String, String, Value)> = (0..JOBS)
        .map(|i| ("work".to_string(), json!({ "i": i }).to_string(), json!({})))
        .collect();
    let added: HashSet<String> = queue
        .add_bulk(&bulk)
        .await
        .unwrap()
        .into_iter()
        .map(|j| j.id)
        .collect();
    assert_eq!(added.len(), JOBS);

    // Two workers on one queue; each records the ids it runs and its peak parallelism.
    let processed = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut workers = Vec::new();
    let mut peaks = Vec::new();
    let mut receivers = Vec::new();
    for _ in 0..2 {
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let processor = Arc::new(FnProcessor::new({
            let (processed, running, peak) = (processed.clone(), running.clone(), peak.clone());
            move |job: Job| {
                let (processed, running, peak) = (processed.clone(), running.clone(), peak.clone());
                async move {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    processed.lock().unwrap().push(job.id.clone());
                    sleep(Duration::from_millis(10)).await;
                    running.fetch_sub(1, Ordering::SeqCst);
                    Ok(json!(job.id))
                }
            }
        }));
        receivers.push(processor.subscribe());
        let worker = s.worker(CONCURRENCY, processor);
        worker.run().await.unwrap();
        workers.push(worker);
        peaks.push(peak);
    }

    eventually("all jobs completed", || async {
        counts(&queue, &["completed"]).await == [JOBS as i64]
    })
    .await;
    // Give a duplicate delivery, if there were one, time to show up.
    sleep(Duration::from_millis(200)).await;
    for worker in &workers {
        worker.close(false).await;
    }

    let processed = processed.lock().unwrap().clone();
    let unique: HashSet<String> = processed.iter().cloned().collect();
    assert_eq!(processed.len(), JOBS, "each job is processed once");
    assert_eq!(unique, added);
    for peak in &peaks {
        let peak = peak.load(Ordering::SeqCst);
        assert!(
            (2..=CONCURRENCY).contains(&peak),
            "a worker ran {peak} jobs at once, expected 2..={CONCURRENCY}"
        );
    }
    let mut completed_events = 0;
    for rx in &mut receivers {
        while let Ok(event) = rx.try_recv() {
            match event {
                WorkerEvent::Completed { .. } => completed_events += 1,
                WorkerEvent::Error { message, .. } => panic!("worker error: {message}"),
                _ => {}
            }
        }
    }
    assert_eq!(completed_events, JOBS);
    assert_eq!(
        counts(&queue, &["waiting", "active", "failed"]).await,
        [0, 0, 0]
    );

    queue.close().await;
    s.obliterate().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn retries_with_fixed_backoff_then_fails() {
    const BACKOFF_MS: u64 = 300;
    let s = Scratch::new("retries");
    let queue = s.queue();
    let opts = json!({ "attempts": 3, "backoff": { "type": "fixed", "delay": BACKOFF_MS } });
    let id = add(&queue, "flaky", json!({}), opts).await;

    let starts = Arc::new(Mutex::new(Vec::<(i64, Instant)>::new()));
    let processor = Arc::new(FnProcessor::new({
        let starts = starts.clone();
        move |job: Job| {
            starts
                .lock()
                .unwrap()
                .push((job.attempts_made, Instant::now()));
            async move {
                Err::<Value, _>(JobError::new(format!(
                    "boom on attempt {}",
                    job.attempts_made + 1
                )))
            }
        }
    }));
    let mut events = processor.subscribe();
    let worker = s.worker(1, processor.clone());
    worker.run().await.unwrap();

    let first = next_failure(&mut events).await;
    assert_eq!(first, (id.clone(), "boom on attempt 1".into(), 1, None));
    assert_eq!(
        queue.get_job_state(&id).await.unwrap(),
        "delayed",
        "a retry with backoff waits in delayed"
    );
    let second = next_failure(&mut events).await;
    assert_eq!(second, (id.clone(), "boom on attempt 2".into(), 2, None));
    let last = next_failure(&mut events).await;
    assert_eq!(
        (&last.0, last.1.as_str(), last.2),
        (&id, "boom on attempt 3", 3)
    );
    let finished_on = last.3.expect("the final failure has finished_on");

    let starts = starts.lock().unwrap().clone();
    let made: Vec<i64> = starts.iter().map(|(m, _)| *m).collect();
    assert_eq!(made, [0, 1, 2], "three attempts, in order");
    for pair in starts.windows(2) {
        let gap = pair[1].1 - pair[0].1;
        assert!(
            gap >= Duration::from_millis(BACKOFF_MS - 10),
            "retry came after {gap:?}, before the {BACKOFF_MS} ms backoff"
        );
    }

    let job = queue.get_job(&id).await.unwrap().unwrap();
    assert_eq!(job.failed_reason.as_deref(), Some("boom on attempt 3"));
    assert_eq!(job.attempts_made, 3);
    assert_eq!(job.attempts_started, 3);
    assert_eq!(job.finished_on, Some(finished_on));
    assert_eq!(job.returnvalue, None);
    // FnProcessor's JobError carries no stack, so no entries are recorded (as BullMQ
    // does for errors without a stack); the field is still a JSON array.
    let stacktrace = job.stacktrace.as_deref().expect("stacktrace stored");
    assert!(
        parse(stacktrace).is_array(),
        "stacktrace {stacktrace} is a JSON array"
    );
    assert_eq!(queue.get_job_state(&id).await.unwrap(), "failed");
    assert_eq!(
        queue.job_finished(&id).await.unwrap(),
        Finished::Failed("boom on attempt 3".into())
    );
    assert_eq!(
        counts(&queue, &["failed", "delayed", "waiting", "completed"]).await,
        [1, 0, 0, 0]
    );

    worker.close(false).await;
    queue.close().await;
    s.obliterate().await;
}

/// A hand-written host that fails every attempt with a stack, to check how stacks
/// accumulate across retries.
struct FailingHost {
    events: mpsc::UnboundedSender<WorkerEvent>,
}

impl Host for FailingHost {
    fn deliver(&self, jobs: Vec<Job>, events: Vec<WorkerEvent>, reporter: &Reporter) {
        for event in events {
            let _ = self.events.send(event);
        }
        for job in jobs {
            let attempt = job.attempts_made + 1;
            reporter.report(
                job.id,
                job.token.unwrap_or_default(),
                Outcome::Failed(Failure {
                    message: format!("attempt {attempt}"),
                    stack: Some(format!("Error: attempt {attempt}\n    at test")),
                    ..Failure::default()
                }),
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn custom_host_failure_stacks_accumulate() {
    let s = Scratch::new("stacks");
    let queue = s.queue();
    let id = add(&queue, "stacky", json!({}), json!({ "attempts": 3 })).await;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let worker = s.worker(1, Arc::new(FailingHost { events: tx }));
    worker.run().await.unwrap();

    let mut failures = Vec::new();
    timeout(WAIT, async {
        while let Some(event) = rx.recv().await {
            if let WorkerEvent::Failed {
                attempts_made,
                finished_on,
                stacktrace,
                ..
            } = event
            {
                failures.push((attempts_made, finished_on.is_some(), stacktrace));
                if finished_on.is_some() {
                    return;
                }
            }
        }
    })
    .await
    .expect("timed out waiting for the final failure");

    let shape: Vec<(i64, bool)> = failures.iter().map(|(a, f, _)| (*a, *f)).collect();
    assert_eq!(shape, [(1, false), (2, false), (3, true)]);
    let stacks = |n: usize| -> Vec<String> {
        (1..=n)
            .map(|a| format!("Error: attempt {a}\n    at test"))
            .collect()
    };
    for (i, (_, _, stacktrace)) in failures.iter().enumerate() {
        assert_eq!(parse(stacktrace), json!(stacks(i + 1)), "event {}", i + 1);
    }
    let job = queue.get_job(&id).await.unwrap().unwrap();
    assert_eq!(job.stack_entries(), stacks(3));
    assert_eq!(job.failed_reason.as_deref(), Some("attempt 3"));

    worker.close(false).await;
    queue.close().await;
    s.obliterate().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn unrecoverable_error_fails_at_once() {
    let s = Scratch::new("unrecoverable");
    let queue = s.queue();
    let opts = json!({ "attempts": 5, "backoff": { "type": "fixed", "delay": 10 } });
    let id = add(&queue, "doomed", json!({}), opts).await;

    let calls = Arc::new(AtomicUsize::new(0));
    let processor = Arc::new(FnProcessor::new({
        let calls = calls.clone();
        move |_job: Job| {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Err::<Value, _>(JobError::unrecoverable("fatal")) }
        }
    }));
    let mut events = processor.subscribe();
    let worker = s.worker(1, processor.clone());
    worker.run().await.unwrap();

    let (job_id, reason, attempts_made, finished_on) = next_failure(&mut events).await;
    assert_eq!((job_id.as_str(), reason.as_str()), (id.as_str(), "fatal"));
    assert_eq!(attempts_made, 1);
    assert!(finished_on.is_some(), "the first failure is final");
    sleep(Duration::from_millis(200)).await;
    assert_eq!(calls.load(Ordering::SeqCst), 1, "never retried");

    let job = queue.get_job(&id).await.unwrap().unwrap();
    assert_eq!(job.failed_reason.as_deref(), Some("fatal"));
    assert_eq!(job.attempts_made, 1);
    assert_eq!(queue.get_job_state(&id).await.unwrap(), "failed");
    assert_eq!(
        counts(&queue, &["failed", "delayed", "waiting"]).await,
        [1, 0, 0]
    );

    worker.close(false).await;
    queue.close().await;
    s.obliterate().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn pausing_the_queue_stops_the_worker_and_resuming_restarts_it() {
    let s = Scratch::new("pause");
    let queue = s.queue();
    let calls = Arc::new(AtomicUsize::new(0));
    let processor = Arc::new(FnProcessor::new({
        let calls = calls.clone();
        move |_job: Job| {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Ok(Value::Null) }
        }
    }));
    let mut events = processor.subscribe();
    let worker = s.worker(2, processor.clone());
    worker.run().await.unwrap();
    next_event(&mut events, |e| (*e == WorkerEvent::Drained).then_some(())).await;

    queue.pause().await.unwrap();
    assert!(queue.is_paused().await.unwrap());
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(add(&queue, "held", json!({ "i": i }), no_opts()).await);
    }
    sleep(Duration::from_millis(600)).await;
    assert_eq!(calls.load(Ordering::SeqCst), 0, "no job taken while paused");
    assert_eq!(counts(&queue, &["waiting", "active"]).await, [3, 0]);
    for id in &ids {
        assert_eq!(queue.get_job_state(id).await.unwrap(), "waiting");
    }
    assert!(
        worker.is_running() && !worker.is_paused(),
        "only the queue is paused"
    );

    queue.resume().await.unwrap();
    assert!(!queue.is_paused().await.unwrap());
    let done: HashSet<String> = completions(&mut events, 3)
        .await
        .into_iter()
        .map(|(id, _, _)| id)
        .collect();
    assert_eq!(done, ids.iter().cloned().collect());
    assert_eq!(calls.load(Ordering::SeqCst), 3);

    worker.close(false).await;
    queue.close().await;
    s.obliterate().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn add_bulk_keeps_order_and_assigns_ids() {
    let s = Scratch::new("bulk");
    let queue = s.queue();
    let mut bulk: Vec<(String, String, Value)> = (0..5)
        .map(|i| (format!("job-{i}"), json!({ "i": i }).to_string(), json!({})))
        .collect();
    bulk[2].2 = json!({ "jobId": "custom-two" });
    let jobs = queue.add_bulk(&bulk).await.unwrap();

    let ids: Vec<&str> = jobs.iter().map(|j| j.id.as_str()).collect();
    // The id counter advances for custom ids too, as in BullMQ.
    assert_eq!(ids, ["1", "2", "custom-two", "4", "5"]);
    let names: Vec<&str> = jobs.iter().map(|j| j.name.as_str()).collect();
    assert_eq!(names, ["job-0", "job-1", "job-2", "job-3", "job-4"]);
    assert!(jobs.iter().all(|j| j.timestamp > 0));

    // Oldest first in wait, in the order given.
    let waiting = queue
        .get_ranges(&["wait".to_string()], 0, -1, true)
        .await
        .unwrap();
    assert_eq!(waiting, ids);
    let ids: Vec<String> = ids.into_iter().map(String::from).collect();
    let stored = queue.get_jobs_by_id(&ids).await.unwrap();
    assert_eq!(stored.len(), 5);
    for (i, job) in stored.iter().enumerate() {
        assert_eq!(job.id, ids[i]);
        assert_eq!(job.name, format!("job-{i}"));
        assert_eq!(parse(&job.data), json!({ "i": i }));
        assert_eq!(parse(&job.opts)["attempts"], json!(0));
    }
    assert_eq!(queue.add_bulk(&[]).await.unwrap(), Vec::<Job>::new());
    assert_eq!(counts(&queue, &["waiting"]).await, [5]);

    queue.close().await;
    s.obliterate().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn duplicate_custom_job_id_returns_the_existing_job() {
    let s = Scratch::new("dedupe");
    let queue = s.queue();
    let first = add(
        &queue,
        "order",
        json!({ "v": 1 }),
        json!({ "jobId": "order-42" }),
    )
    .await;
    assert_eq!(first, "order-42");
    let again = add(
        &queue,
        "order",
        json!({ "v": 2 }),
        json!({ "jobId": "order-42" }),
    )
    .await;
    assert_eq!(again, "order-42");
    let bulk = vec![
        (
            "order".to_string(),
            json!({ "v": 3 }).to_string(),
            json!({ "jobId": "order-42" }),
        ),
        (
            "order".to_string(),
            json!({ "v": 4 }).to_string(),
            json!({ "jobId": "order-43" }),
        ),
    ];
    let ids: Vec<String> = queue
        .add_bulk(&bulk)
        .await
        .unwrap()
        .into_iter()
        .map(|j| j.id)
        .collect();
    assert_eq!(ids, ["order-42", "order-43"]);

    let job = queue.get_job("order-42").await.unwrap().unwrap();
    assert_eq!(
        parse(&job.data),
        json!({ "v": 1 }),
        "the first job is kept as is"
    );
    assert_eq!(counts(&queue, &["waiting"]).await, [2]);

    queue.close().await;
    s.obliterate().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_options_are_rejected_before_redis_is_touched() {
    // Nothing listens here: a connection attempt would give `Error::Connection`.
    let (dead, _) = dead_connection();
    let queue = Queue::new(
        "validation",
        QueueOptions {
            connection: dead.clone(),
            ..QueueOptions::default()
        },
    )
    .unwrap();
    let invalid = |r: Result<Job, Error>| match r {
        Err(Error::InvalidArgument(message)) => message,
        other => panic!("expected InvalidArgument, got {other:?}"),
    };
    let cases = [
        (
            json!({ "priority": -1 }),
            "Priority should be between 0 and 2097151",
        ),
        (json!({ "priority": 1.5 }), "Priority should not be float"),
        (json!({ "delay": -5 }), "Delay cannot be negative"),
        (json!({ "jobId": "12" }), "Custom Id cannot be integers"),
        (
            json!({ "jobId": "0" }),
            "JobId cannot be '0' or start with '0:'",
        ),
        (json!({ "jobId": "a:b" }), "Custom Id cannot contain :"),
        (
            json!({ "attempts": 0 }),
            "attempts must be an integer greater than 0",
        ),
        (
            json!({ "backoff": { "type": "fixed", "jitter": 2 } }),
            "Jitter should be between 0 and 1",
        ),
        (
            json!({ "removeOnComplete": -1 }),
            "removeOnComplete must be",
        ),
        (
            json!({ "repeat": { "every": 1000 } }),
            "The repeat job option was removed in BullMQ 6",
        ),
    ];
    for (opts, expected) in cases {
        let message = match queue.add("x", "{}", &opts).await {
            Err(Error::InvalidArgument(message)) => message,
            other => panic!("options {opts}: expected InvalidArgument, got {other:?}"),
        };
        assert!(
            message.contains(expected),
            "options {opts}: got {message:?}, expected {expected:?}"
        );
    }
    // A custom backoff type is accepted, to be stored for the worker's strategy to price.
    let custom = queue
        .prepare("x", "{}", &json!({ "backoff": { "type": "mine" } }))
        .unwrap();
    assert!(custom.opts.contains(r#""type":"mine""#), "{}", custom.opts);

    // One bad job rejects the whole bulk, before anything is sent.
    let bulk = vec![
        ("ok".to_string(), "{}".to_string(), json!({})),
        ("bad".to_string(), "{}".to_string(), json!({ "delay": -1 })),
    ];
    assert!(matches!(
        queue.add_bulk(&bulk).await,
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        queue.get_job_counts(&["bogus".to_string()]).await,
        Err(Error::InvalidArgument(_))
    ));

    // Queue defaults are merged under the job's options and checked with them.
    let strict = Queue::new(
        "validation",
        QueueOptions {
            connection: dead.clone(),
            default_job_options: json!({ "attempts": 0 }),
            ..QueueOptions::default()
        },
    )
    .unwrap();
    assert!(invalid(strict.add("x", "{}", &json!({})).await).contains("attempts"));
    assert!(
        strict
            .add("x", "{}", &json!({ "attempts": 2 }))
            .await
            .is_err_and(|e| e.is_connection()),
        "valid options do reach for Redis"
    );

    // Constructors.
    let queue_opts = || QueueOptions {
        connection: dead.clone(),
        ..QueueOptions::default()
    };
    for name in ["", "a:b"] {
        assert!(Queue::new(name, queue_opts()).is_err_and(|e| e.is_invalid_argument()));
        let events = QueueEventsOptions {
            connection: dead.clone(),
            ..QueueEventsOptions::default()
        };
        assert!(QueueEvents::new(name, events).is_err_and(|e| e.is_invalid_argument()));
    }
    assert!(Queue::new(
        "q",
        QueueOptions {
            default_job_options: json!([1]),
            ..queue_opts()
        }
    )
    .is_err_and(|e| e.is_invalid_argument()));

    let host: Arc<dyn Host> = Arc::new(FnProcessor::new(|_job: Job| async { Ok(Value::Null) }));
    let worker_opts = || WorkerOptions {
        connection: dead.clone(),
        ..WorkerOptions::default()
    };
    let bad_workers = [
        (
            "q",
            WorkerOptions {
                concurrency: 0,
                ..worker_opts()
            },
        ),
        (
            "q",
            WorkerOptions {
                drain_delay: 0.0,
                ..worker_opts()
            },
        ),
        (
            "q",
            WorkerOptions {
                lock_duration: 0,
                ..worker_opts()
            },
        ),
        (
            "q",
            WorkerOptions {
                stalled_interval: 0,
                ..worker_opts()
            },
        ),
        (
            "q",
            WorkerOptions {
                limiter: Some(bullrush_core::Limiter {
                    max: 0,
                    duration: 1000,
                }),
                ..worker_opts()
            },
        ),
        ("a:b", worker_opts()),
    ];
    for (name, opts) in bad_workers {
        let result = Worker::new(name, opts.clone(), host.clone());
        assert!(
            matches!(result, Err(Error::InvalidArgument(_))),
            "worker {name:?} with {opts:?} was accepted"
        );
    }

    for url in [
        "http://localhost",
        "redis://host:notaport",
        "redis://h:1/db",
    ] {
        assert!(
            ConnectionOptions::from_url(url).is_err_and(|e| e.is_invalid_argument()),
            "{url} accepted"
        );
    }
}

/// Engine bug: `Queue::add` merges the options over the queue defaults before
/// validating, and the merge drops options that are not an object, so `5` or `[1]`
/// is accepted as `{}` instead of failing with "Job options must be an object".
#[tokio::test(flavor = "multi_thread")]
async fn non_object_job_options_are_rejected() {
    let (dead, _) = dead_connection();
    let queue = Queue::new(
        "validation",
        QueueOptions {
            connection: dead,
            ..QueueOptions::default()
        },
    )
    .unwrap();
    for opts in [json!(5), json!([1]), json!("x")] {
        let result = queue.add("x", "{}", &opts).await;
        assert!(
            matches!(&result, Err(Error::InvalidArgument(m)) if m == "Job options must be an object"),
            "options {opts}: {result:?}"
        );
    }
}

/// Collects what a QueueEvents listener reads.
#[derive(Default)]
struct Collector {
    events: Mutex<Vec<StreamEvent>>,
    errors: Mutex<Vec<Error>>,
}

impl EventsHost for Collector {
    fn deliver(&self, events: Vec<StreamEvent>) {
        self.events.lock().unwrap().extend(events);
    }

    fn error(&self, err: Error) {
        self.errors.lock().unwrap().push(err);
    }
}

impl Collector {
    fn completed(&self) -> Vec<(String, String)> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e.name() == Some("completed"))
            .map(|e| {
                (
                    e.field("jobId").unwrap_or_default().to_string(),
                    e.field("returnvalue").unwrap_or_default().to_string(),
                )
            })
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn queue_events_sees_every_completed_job() {
    let s = Scratch::new("events");
    let queue = s.queue();
    // An event from before `run` must not be delivered.
    add(&queue, "early", json!({ "n": 0 }), no_opts()).await;
    queue.drain(false).await.unwrap();

    let listener = QueueEvents::new(
        &s.name,
        QueueEventsOptions {
            connection: connection(),
            blocking_timeout: 500,
            ..QueueEventsOptions::default()
        },
    )
    .unwrap();
    let collector = Arc::new(Collector::default());
    listener.run(collector.clone()).await.unwrap();
    assert!(
        matches!(
            listener.run(collector.clone()).await,
            Err(Error::InvalidArgument(_))
        ),
        "a second run is refused"
    );

    let processor = Arc::new(FnProcessor::new(|job: Job| async move {
        let n = parse(&job.data)["n"].as_i64().unwrap();
        Ok(json!(n * n))
    }));
    let worker = s.worker(3, processor);
    worker.run().await.unwrap();
    let mut expected = Vec::new();
    for n in 1..=5 {
        let id = add(&queue, "square", json!({ "n": n }), no_opts()).await;
        expected.push((id, (n * n).to_string()));
    }

    eventually("5 completed events", || async {
        collector.completed().len() >= expected.len()
    })
    .await;
    let mut seen = collector.completed();
    seen.sort();
    expected.sort();
    assert_eq!(seen, expected);
    let names: Vec<String> = collector
        .events
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| e.name().map(String::from))
        .collect();
    assert_eq!(
        names.iter().filter(|n| *n == "added").count(),
        5,
        "only events after run: {names:?}"
    );
    assert!(collector.errors.lock().unwrap().is_empty());

    listener.close();
    worker.close(false).await;
    queue.close().await;
    s.obliterate().await;
}

/// How long the job of the close tests takes.
const SLOW_WORK: Duration = Duration::from_millis(500);

/// A running worker that holds one slow job.
struct SlowJob {
    queue: Queue,
    worker: Worker,
    events: broadcast::Receiver<WorkerEvent>,
    started: mpsc::UnboundedReceiver<String>,
    id: String,
}

async fn start_slow_job(s: &Scratch) -> SlowJob {
    let queue = s.queue();
    let (started_tx, mut started) = mpsc::unbounded_channel();
    let processor = Arc::new(FnProcessor::new(move |job: Job| {
        let _ = started_tx.send(job.id.clone());
        async move {
            sleep(SLOW_WORK).await;
            Ok(json!("done"))
        }
    }));
    let events = processor.subscribe();
    let worker = s.worker(2, processor.clone());
    worker.run().await.unwrap();
    let id = add(&queue, "slow", json!({}), no_opts()).await;
    let taken = timeout(WAIT, started.recv()).await.unwrap().unwrap();
    assert_eq!(taken, id);
    assert_eq!(worker.active_count(), 1);
    SlowJob {
        queue,
        worker,
        events,
        started,
        id,
    }
}

/// Names the close-related events received so far.
fn close_events(events: &mut broadcast::Receiver<WorkerEvent>, order: &mut Vec<&'static str>) {
    while let Ok(event) = events.try_recv() {
        match event {
            WorkerEvent::Closing => order.push("closing"),
            WorkerEvent::Completed { .. } => order.push("completed"),
            WorkerEvent::Closed => order.push("closed"),
            WorkerEvent::Error { message, .. } => panic!("worker error: {message}"),
            _ => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn close_waits_for_active_jobs() {
    let s = Scratch::new("close");
    let SlowJob {
        queue,
        worker,
        mut events,
        mut started,
        id,
    } = start_slow_job(&s).await;

    let closing_at = Instant::now();
    timeout(WAIT, worker.close(false)).await.unwrap();
    assert!(
        closing_at.elapsed() >= SLOW_WORK - Duration::from_millis(100),
        "close returned after {:?}, before the job ended",
        closing_at.elapsed()
    );
    assert_eq!(worker.active_count(), 0);
    assert!(!worker.is_running());
    assert_eq!(queue.get_job_state(&id).await.unwrap(), "completed");

    // Closing first; the completion and Closed follow (their order is racy, see
    // `close_publishes_completed_before_closed`).
    let mut order = Vec::new();
    eventually("completed and closed events", || {
        close_events(&mut events, &mut order);
        let done = order.len() >= 3;
        async move { done }
    })
    .await;
    assert_eq!(order[0], "closing");
    order.sort();
    assert_eq!(order, ["closed", "closing", "completed"]);

    // A closed worker takes nothing more.
    let later = add(&queue, "later", json!({}), no_opts()).await;
    sleep(Duration::from_millis(400)).await;
    assert!(started.try_recv().is_err());
    assert_eq!(queue.get_job_state(&later).await.unwrap(), "waiting");
    worker.close(false).await; // closing twice is harmless

    queue.close().await;
    s.obliterate().await;
}

/// Engine bug: the finisher frees a job's slot (waking `close`) before it publishes the
/// job's `Completed` event, so `Closed` often comes first, or `close` returns before
/// `Completed` is published at all. BullMQ emits `completed` before `closed`.
#[tokio::test(flavor = "multi_thread")]
async fn close_publishes_completed_before_closed() {
    let s = Scratch::new("close-order");
    let mut slow = start_slow_job(&s).await;
    timeout(WAIT, slow.worker.close(false)).await.unwrap();
    let mut order = Vec::new();
    close_events(&mut slow.events, &mut order);
    assert_eq!(order, ["closing", "completed", "closed"]);
    slow.queue.close().await;
    s.obliterate().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn unreachable_redis_is_reported_with_its_address() {
    let (dead, addr) = dead_connection();
    let processor = Arc::new(FnProcessor::new(|_job: Job| async { Ok(Value::Null) }));
    let mut events = processor.subscribe();
    let worker = Worker::new(
        "unreachable",
        WorkerOptions {
            connection: dead.clone(),
            drain_delay: 0.2,
            ..WorkerOptions::default()
        },
        processor,
    )
    .unwrap();
    timeout(WAIT, worker.run())
        .await
        .expect("run returns at once")
        .expect("run starts even without a server");
    let mut errors = Vec::new();
    while errors.is_empty() {
        match timeout(WAIT, events.recv())
            .await
            .expect("an error event in time")
        {
            Ok(WorkerEvent::Error { message, .. }) => errors.push(message),
            Ok(WorkerEvent::Ready) => panic!("ready without a server"),
            _ => {}
        }
    }
    for message in &errors {
        assert!(message.contains(&addr), "message {message} names {addr}");
    }
    assert!(worker.is_running(), "the worker keeps retrying");
    timeout(WAIT, worker.close(false))
        .await
        .expect("close returns");

    let queue = Queue::new(
        "unreachable",
        QueueOptions {
            connection: dead,
            ..QueueOptions::default()
        },
    )
    .unwrap();
    let err = timeout(WAIT, queue.add("x", "{}", &json!({})))
        .await
        .expect("add gave up in time")
        .expect_err("add fails without a server");
    let Error::GaveUp { cause, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(
        matches!(&**cause, Error::Connection { addr: named, .. } if *named == addr),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_timed_out_attempt_fails_and_frees_its_slot() {
    let s = Scratch::new("timeout");
    let queue = s.queue();
    let stuck = add(&queue, "stuck", json!({}), json!({ "timeout": 200 })).await;
    let next = add(&queue, "next", json!({}), no_opts()).await;

    let processor = Arc::new(FnProcessor::new(|job: Job| async move {
        if job.name == "stuck" {
            std::future::pending::<()>().await;
        }
        Ok::<Value, JobError>(json!("done"))
    }));
    let mut events = processor.subscribe();
    let worker = s.worker(1, processor.clone());
    worker.run().await.unwrap();

    let (job_id, reason, attempts_made, finished_on) = next_failure(&mut events).await;
    assert_eq!(job_id, stuck);
    assert_eq!(reason, format!("Job {stuck} timed out after 200 ms"));
    assert_eq!(attempts_made, 1);
    assert!(finished_on.is_some(), "no attempts left: failed for good");
    let done = completions(&mut events, 1).await;
    assert_eq!(
        done[0].0, next,
        "the slot of the stuck job went to the next one"
    );
    assert_eq!(queue.get_job_state(&stuck).await.unwrap(), "failed");

    worker.close(false).await;
    queue.close().await;
    s.obliterate().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn manual_processing_takes_and_settles_jobs_by_hand() {
    let s = Scratch::new("manual");
    let queue = s.queue();
    let first = add(&queue, "a", json!({}), json!({ "attempts": 2 })).await;
    let worker = s.worker(
        1,
        Arc::new(FnProcessor::new(|_job: Job| async {
            Ok::<Value, JobError>(Value::Null)
        })),
    );

    let job = worker
        .get_next_job("my-token", false)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (job.id.as_str(), job.token.as_deref()),
        (first.as_str(), Some("my-token"))
    );
    assert!(queue.extend_lock(&first, "my-token", 20_000).await.unwrap());
    assert!(!queue.extend_lock(&first, "other", 20_000).await.unwrap());

    let failure = Failure {
        message: "not yet".into(),
        ..Failure::default()
    };
    let settled = worker
        .move_to_failed(&first, "my-token", failure, false)
        .await
        .unwrap();
    assert_eq!(
        settled.finished_on, None,
        "one attempt left: retried, not finished"
    );
    assert_eq!(settled.attempts_made, 1);
    assert_eq!(settled.next, None, "nothing fetched unless asked");
    assert_eq!(queue.get_job_state(&first).await.unwrap(), "waiting");

    let again = worker.get_next_job("t2", false).await.unwrap().unwrap();
    assert_eq!(again.id, first);
    let err = worker
        .move_to_completed(&first, "wrong", "1", false)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("Lock mismatch for job {first}. Cmd moveToFinished from active")
    );
    let settled = worker
        .move_to_completed(&first, "t2", "\"ok\"", true)
        .await
        .unwrap();
    assert!(settled.finished_on.is_some());
    let next = settled.next.expect("asked to fetch");
    assert_eq!(next.job, None, "nothing else waits");
    let stored = queue.get_job(&first).await.unwrap().unwrap();
    assert_eq!(stored.returnvalue.as_deref(), Some("\"ok\""));
    assert_eq!(stored.attempts_made, 2);
    assert!(worker.get_next_job("t3", false).await.unwrap().is_none());

    worker.close(false).await;
    queue.close().await;
    s.obliterate().await;
}

/// Empties Redis's script cache, as a restart or `SCRIPT FLUSH` by someone else does.
fn flush_scripts() {
    let client = redis::Client::open(support::redis_url()).unwrap();
    let mut conn = client.get_connection().unwrap();
    let _: () = redis::cmd("SCRIPT").arg("FLUSH").query(&mut conn).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn adds_and_finishes_after_redis_forgot_the_scripts() {
    let s = Scratch::new("noscript");
    let queue = s.queue();
    add(&queue, "a", json!({}), no_opts()).await;
    flush_scripts();
    let second = add(&queue, "b", json!({}), no_opts()).await;
    assert_eq!(
        second, "2",
        "the add after the flush loads the script again"
    );

    let processor = Arc::new(FnProcessor::new(|_job: Job| async {
        flush_scripts();
        Ok(json!("done"))
    }));
    let mut events = processor.subscribe();
    let worker = s.worker(1, processor.clone());
    worker.run().await.unwrap();
    let done = completions(&mut events, 2).await;
    assert_eq!(done.len(), 2);
    assert_eq!(
        counts(&queue, &["completed", "waiting", "active"]).await,
        [2, 0, 0]
    );

    worker.close(false).await;
    queue.close().await;
    s.obliterate().await;
}

/// Reads each socket a link opens on a thread of its own, like an embedder's event loop,
/// and hands the replies over one byte at a time.
#[derive(Default)]
struct ByteReader {
    local_addrs: Mutex<Vec<std::net::SocketAddr>>,
    threads: Mutex<Vec<std::thread::JoinHandle<()>>>,
}

impl ByteReader {
    fn sockets(&self) -> usize {
        self.local_addrs.lock().unwrap().len()
    }
}

impl SocketReader for ByteReader {
    fn read(&self, socket: LinkSocket) {
        let LinkSocket { stream, feed } = socket;
        self.local_addrs
            .lock()
            .unwrap()
            .push(stream.local_addr().unwrap());
        let thread = std::thread::spawn(move || {
            use std::io::Read;
            let mut buf = [0u8; 256];
            loop {
                let n = match (&stream).read(&mut buf) {
                    Ok(0) => return feed.ended(None),
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(1));
                        continue;
                    }
                    Err(e) => return feed.ended(Some(e.to_string())),
                };
                for byte in &buf[..n] {
                    if !feed.feed(std::slice::from_ref(byte)) {
                        return;
                    }
                }
            }
        });
        self.threads.lock().unwrap().push(thread);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn replies_read_by_an_outside_reader_reach_their_callers() {
    let s = Scratch::new("outside-reader");
    let queue = s.queue();
    let reader = Arc::new(ByteReader::default());
    assert!(queue.read_replies_with(reader.clone()));
    assert!(!queue.read_replies_with(reader.clone()), "set once");

    let opts = no_opts();
    let data: Vec<String> = (0..5).map(|i| json!({ "i": i }).to_string()).collect();
    let adds = futures_util::future::join_all(data.iter().map(|d| queue.add("byte", d, &opts)));
    let adds = timeout(WAIT, adds).await.expect("the adds are answered");
    let ids: Vec<String> = adds.into_iter().map(|a| a.unwrap().id).collect();
    assert_eq!(ids, ["1", "2", "3", "4", "5"]);
    assert_eq!(counts(&queue, &["waiting"]).await, [5]);
    assert_eq!(reader.sockets(), 1);

    let killed = reader.local_addrs.lock().unwrap()[0].to_string();
    let client = redis::Client::open(support::redis_url()).unwrap();
    let mut admin = client.get_connection().unwrap();
    let _: () = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("ADDR")
        .arg(&killed)
        .query(&mut admin)
        .unwrap();
    eventually("the killed socket's end reaches the link", || {
        let queue = queue.clone();
        async move { queue.add("after", "{}", &no_opts()).await.is_ok() }
    })
    .await;
    assert_eq!(reader.sockets(), 2, "a new socket, read by the same reader");
    assert_eq!(counts(&queue, &["waiting"]).await, [6]);

    queue.close().await;
    let threads = std::mem::take(&mut *reader.threads.lock().unwrap());
    for thread in threads {
        tokio::task::spawn_blocking(move || thread.join().unwrap())
            .await
            .unwrap();
    }
    s.obliterate().await;
}
