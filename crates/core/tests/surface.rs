//! Integration tests of the engine operations behind BullMQ's wider surface: custom events
//! (`publish_event`), health checks (`ping`), the listener listing (`get_queue_events`) and
//! the pre-v4 priority key, against a real Redis (`REDIS_URL`).

use std::sync::{Arc, Mutex};

use bullrush_core::{Error, EventsHost, QueueEvents, QueueEventsOptions, StreamEvent};
use redis::AsyncCommands;

mod support;

use support::{connection, eventually, redis_url, Scratch};

async fn plain_connection() -> redis::aio::MultiplexedConnection {
    let client = redis::Client::open(redis_url()).unwrap();
    client.get_multiplexed_async_connection().await.unwrap()
}

fn pairs(fields: &[(&str, &str)]) -> Vec<(String, String)> {
    fields
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[tokio::test]
async fn publish_event_appends_the_fields_in_order_and_trims_about_max_len() {
    let s = Scratch::new("publish");
    let queue = s.queue();
    let id = queue
        .publish_event(
            &pairs(&[("event", "audit"), ("user", "ann"), ("n", "3")]),
            1000,
        )
        .await
        .unwrap();
    let mut redis = plain_connection().await;
    let events = format!("bull:{}:events", s.name);
    let entries: Vec<(String, Vec<String>)> = redis::cmd("XRANGE")
        .arg(&events)
        .arg("-")
        .arg("+")
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].0, id);
    assert_eq!(entries[0].1, ["event", "audit", "user", "ann", "n", "3"]);
    for i in 0..300 {
        let n = i.to_string();
        queue
            .publish_event(&pairs(&[("event", "tick"), ("i", &n)]), 10)
            .await
            .unwrap();
    }
    let len: i64 = redis.xlen(&events).await.unwrap();
    assert!(
        len < 200,
        "trimmed to about 10 entries (whole stream nodes go), got {len}"
    );
}

#[tokio::test]
async fn publish_event_refuses_no_fields_and_a_negative_max_len() {
    let s = Scratch::new("publish-bad");
    let queue = s.queue();
    let none = queue.publish_event(&[], 10).await;
    assert!(none.is_err_and(|e| e.is_invalid_argument()));
    let negative = queue.publish_event(&pairs(&[("event", "x")]), -1).await;
    assert!(negative.is_err_and(|e| e.is_invalid_argument()));
    let mut redis = plain_connection().await;
    let exists: bool = redis
        .exists(format!("bull:{}:events", s.name))
        .await
        .unwrap();
    assert!(!exists, "nothing reached Redis");
}

#[tokio::test]
async fn ping_answers_pong() {
    let s = Scratch::new("ping");
    assert_eq!(s.queue().ping().await.unwrap(), "PONG");
}

#[tokio::test]
async fn remove_deprecated_priority_key_deletes_only_that_key() {
    let s = Scratch::new("priority-key");
    let mut redis = plain_connection().await;
    let key = format!("bull:{}:priority", s.name);
    let _: () = redis.set(&key, "legacy").await.unwrap();
    let wait = format!("bull:{}:wait", s.name);
    let _: () = redis.lpush(&wait, "1").await.unwrap();
    let queue = s.queue();
    assert_eq!(queue.remove_deprecated_priority_key().await.unwrap(), 1);
    assert_eq!(queue.remove_deprecated_priority_key().await.unwrap(), 0);
    let left: bool = redis.exists(&wait).await.unwrap();
    assert!(left);
}

struct Quiet;

impl EventsHost for Quiet {
    fn deliver(&self, _events: Vec<StreamEvent>) {}
    fn error(&self, _err: Error) {}
}

#[tokio::test]
async fn get_queue_events_lists_a_running_listener_by_its_connection_name() {
    let s = Scratch::new("listeners");
    let queue = s.queue();
    let listener = QueueEvents::new(
        &s.name,
        QueueEventsOptions {
            connection: connection(),
            ..QueueEventsOptions::default()
        },
    )
    .unwrap();
    listener.run(Arc::new(Quiet)).await.unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (q, found) = (queue.clone(), seen.clone());
    eventually("the listener listed", || {
        let (q, found) = (q.clone(), found.clone());
        async move {
            let listeners = q.get_queue_events().await.unwrap();
            let listed = listeners.len() == 1;
            *found.lock().unwrap() = listeners;
            listed
        }
    })
    .await;
    let listeners = seen.lock().unwrap().clone();
    let field = |k: &str| {
        listeners[0]
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(field("name").as_deref(), Some(s.name.as_str()));
    assert!(field("rawname").unwrap().ends_with(":qe"));
    assert!(
        queue.get_workers().await.unwrap().is_empty(),
        "a listener is no worker"
    );
    listener.close();
    eventually("the listener gone", || {
        let q = q.clone();
        async move { q.get_queue_events().await.unwrap().is_empty() }
    })
    .await;
}
