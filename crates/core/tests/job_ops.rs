//! Integration tests of deduplication and of the changes to stored jobs (data, delay,
//! priority, promotion, logs) against a real Redis (`REDIS_URL`).

use std::sync::Arc;

use bullrush_core::{
    ConnectionOptions, Defaults, Error, FnProcessor, Job, PriorityChange, Queue, QueueOptions,
    ScriptCode,
};
use serde_json::{json, Value};

mod support;
use support::{eventually, redis_url, Scratch};

async fn redis() -> redis::aio::MultiplexedConnection {
    redis::Client::open(redis_url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

async fn add(queue: &Queue, name: &str, opts: Value) -> Job {
    queue.add(name, "{}", &opts).await.unwrap()
}

/// The events stream as `(event, fields)` pairs, oldest first.
async fn events(s: &Scratch) -> Vec<(String, Vec<(String, String)>)> {
    let entries: Vec<(String, Vec<String>)> = redis::cmd("XRANGE")
        .arg(format!("bull:{}:events", s.name))
        .arg("-")
        .arg("+")
        .query_async(&mut redis().await)
        .await
        .unwrap();
    entries
        .into_iter()
        .map(|(_, flat)| {
            let mut pairs: Vec<(String, String)> = flat
                .chunks_exact(2)
                .map(|p| (p[0].clone(), p[1].clone()))
                .collect();
            let (_, event) = pairs.remove(0);
            (event, pairs)
        })
        .collect()
}

fn pairs(fields: &[(&str, &str)]) -> Vec<(String, String)> {
    fields
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

async fn state(queue: &Queue, id: &str) -> String {
    queue.get_job_state(id).await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn deduplicated_adds_return_the_owner() {
    let s = Scratch::new("dedup");
    let queue = s.queue();
    let owner = add(&queue, "owner", json!({"deduplication": {"id": "a"}})).await;
    let dropped = add(&queue, "dropped", json!({"deduplication": {"id": "a"}})).await;
    assert_eq!(dropped.id, owner.id, "the add gives the owner's id back");
    assert_eq!(
        dropped.name, "dropped",
        "with the add's own fields, as BullMQ"
    );
    assert_eq!(dropped.deduplication_id.as_deref(), Some("a"));
    assert_eq!(
        queue.get_deduplication_job_id("a").await.unwrap(),
        Some(owner.id.clone())
    );
    let stored = queue.get_job(&owner.id).await.unwrap().unwrap();
    assert_eq!(stored.deduplication_id.as_deref(), Some("a"));
    let (event, fields) = events(&s).await.pop().unwrap();
    assert_eq!(event, "deduplicated");
    assert_eq!(
        fields,
        pairs(&[
            ("jobId", &owner.id),
            ("deduplicationId", "a"),
            ("deduplicatedJobId", "2")
        ])
    );

    assert!(!queue.release_deduplication_key("a", "2").await.unwrap());
    assert!(queue
        .release_deduplication_key("a", &owner.id)
        .await
        .unwrap());
    let next = add(&queue, "next", json!({"deduplication": {"id": "a"}})).await;
    assert_eq!(next.id, "3");
    assert_eq!(queue.remove_deduplication_key("a").await.unwrap(), 1);
    assert_eq!(queue.remove_deduplication_key("a").await.unwrap(), 0);
    assert_eq!(queue.get_deduplication_job_id("a").await.unwrap(), None);
    s.obliterate().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn deduplication_ttl_and_replace() {
    let s = Scratch::new("dedup-ttl");
    let queue = s.queue();
    let de_key = |id: &str| format!("bull:{}:de:{id}", s.name);
    add(
        &queue,
        "t",
        json!({"deduplication": {"id": "t", "ttl": 60000}}),
    )
    .await;
    let ttl: i64 = redis::cmd("PTTL")
        .arg(de_key("t"))
        .query_async(&mut redis().await)
        .await
        .unwrap();
    assert!((1..=60000).contains(&ttl), "ttl {ttl}");

    let first = add(
        &queue,
        "r1",
        json!({"deduplication": {"id": "r", "replace": true}, "delay": 60000}),
    )
    .await;
    let second = add(
        &queue,
        "r2",
        json!({"deduplication": {"id": "r", "replace": true}, "delay": 30000}),
    )
    .await;
    assert_ne!(second.id, first.id, "a delayed owner is replaced");
    assert!(queue.get_job(&first.id).await.unwrap().is_none());
    assert_eq!(state(&queue, &second.id).await, "delayed");
    assert_eq!(
        queue.get_deduplication_job_id("r").await.unwrap(),
        Some(second.id.clone())
    );
    let kinds: Vec<String> = events(&s).await.into_iter().map(|(e, _)| e).collect();
    assert!(kinds.ends_with(&[
        "removed".into(),
        "deduplicated".into(),
        "added".into(),
        "delayed".into()
    ]));
    s.obliterate().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn deduplication_id_is_freed_when_the_owner_completes() {
    let s = Scratch::new("dedup-done");
    let queue = s.queue();
    let owner = add(&queue, "owner", json!({"deduplication": {"id": "d"}})).await;
    let processor = Arc::new(FnProcessor::new(|_job: Job| async { Ok(json!(1)) }));
    let worker = s.worker(1, processor);
    worker.run().await.unwrap();
    eventually("the owner completed", || async {
        state(&queue, &owner.id).await == "completed"
    })
    .await;
    worker.close(false).await;
    assert_eq!(queue.get_deduplication_job_id("d").await.unwrap(), None);
    let next = add(&queue, "next", json!({"deduplication": {"id": "d"}})).await;
    assert_ne!(next.id, owner.id);
    s.obliterate().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn job_changes() {
    let s = Scratch::new("edit");
    let queue = s.queue();
    let waiting = add(&queue, "w", json!({})).await;
    let delayed = add(&queue, "d", json!({"delay": 60000, "priority": 2})).await;

    queue.update_data(&waiting.id, r#"{"v":2}"#).await.unwrap();
    let job = queue.get_job(&waiting.id).await.unwrap().unwrap();
    assert_eq!(job.data, r#"{"v":2}"#);

    queue.change_delay(&delayed.id, 120_000).await.unwrap();
    let job = queue.get_job(&delayed.id).await.unwrap().unwrap();
    assert_eq!(job.delay, 120_000);

    let change = PriorityChange {
        priority: 5,
        lifo: false,
    };
    queue.change_priority(&waiting.id, change).await.unwrap();
    assert_eq!(state(&queue, &waiting.id).await, "prioritized");
    queue
        .change_priority(&waiting.id, PriorityChange::default())
        .await
        .unwrap();
    assert_eq!(state(&queue, &waiting.id).await, "waiting");

    queue.promote(&delayed.id).await.unwrap();
    assert_eq!(state(&queue, &delayed.id).await, "prioritized");
    assert_eq!(queue.get_job(&delayed.id).await.unwrap().unwrap().delay, 0);

    for row in ["a", "b", "c"] {
        queue.add_log(&waiting.id, row, None).await.unwrap();
    }
    queue.clear_logs(&waiting.id, Some(2)).await.unwrap();
    let (logs, count) = queue.get_job_logs(&waiting.id, 0, -1).await.unwrap();
    assert_eq!((logs, count), (vec!["b".to_string(), "c".to_string()], 2));
    queue.clear_logs(&waiting.id, None).await.unwrap();
    assert_eq!(queue.get_job_logs(&waiting.id, 0, -1).await.unwrap().1, 0);
    s.obliterate().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn job_changes_refused_with_bullmq_errors() {
    let s = Scratch::new("edit-errors");
    let queue = s.queue();
    let waiting = add(&queue, "w", json!({})).await;
    let script_error = |r: Result<(), Error>| match r {
        Err(e @ Error::Script { .. }) => e,
        other => panic!("expected a script error, got {other:?}"),
    };
    let e = script_error(queue.change_delay(&waiting.id, 10).await);
    assert_eq!(
        e.to_string(),
        format!(
            "Job {} is not in the delayed state. changeDelay",
            waiting.id
        )
    );
    assert!(matches!(
        e,
        Error::Script {
            code: ScriptCode::JobNotInState,
            ..
        }
    ));
    let e = script_error(queue.promote(&waiting.id).await);
    assert_eq!(
        e.to_string(),
        format!("Job {} is not in the delayed state. promote", waiting.id)
    );
    let e = script_error(queue.update_data("nope", "{}").await);
    assert_eq!(e.to_string(), "Missing key for job nope. updateData");
    let e = script_error(
        queue
            .change_priority("nope", PriorityChange::default())
            .await,
    );
    assert_eq!(e.to_string(), "Missing key for job nope. changePriority");
    let e = script_error(queue.change_delay("nope", 5).await);
    assert_eq!(e.to_string(), "Missing key for job nope. changeDelay");
    s.obliterate().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_refused_before_redis() {
    // Nothing listens here: reaching Redis would give a connection error instead.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let queue = Queue::new(
        "edit-validation",
        QueueOptions {
            connection: ConnectionOptions {
                host: "127.0.0.1".into(),
                port,
                ..ConnectionOptions::default()
            },
            ..QueueOptions::default()
        },
    )
    .unwrap();
    let invalid = |e: Error| match e {
        Error::InvalidArgument(message) => message,
        other => panic!("expected InvalidArgument, got {other:?}"),
    };
    assert_eq!(
        invalid(queue.change_delay("1", -1).await.unwrap_err()),
        "Delay cannot be negative"
    );
    assert_eq!(
        invalid(queue.clear_logs("1", Some(-2)).await.unwrap_err()),
        "keepLogs cannot be negative"
    );
    assert_eq!(
        invalid(PriorityChange::from_json(&json!({"priority": 1.5})).unwrap_err()),
        "Priority should not be float"
    );
    for (opts, message) in [
        (
            json!({"deduplication": {"ttl": 5}}),
            "Deduplication id must be provided",
        ),
        (
            json!({"deduplication": {"id": "a"}, "parent": {"id": "p", "queue": "bull:q"}}),
            "Deduplication and parent options cannot be used together",
        ),
        (
            json!({"deduplication": {"id": "a", "ttl": 1.5}}),
            "Deduplication ttl must be an integer (ms)",
        ),
        (
            json!({"sizeLimit": 3}),
            "The size of job x exceeds the limit 3 bytes",
        ),
    ] {
        let err = queue
            .add_with("x", r#"{"a":1}"#, &opts, Defaults::Skip)
            .await
            .unwrap_err();
        assert_eq!(invalid(err), message, "for {opts}");
    }
}
