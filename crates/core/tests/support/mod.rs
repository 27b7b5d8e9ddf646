//! Helpers shared by the integration tests: the test Redis and per-test queues.

#![allow(dead_code)]

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bullrush_core::{ConnectionOptions, Host, Queue, QueueOptions, Worker, WorkerOptions};
use tokio::time::sleep;

/// Longest any single wait in these tests may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(10);

pub fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

pub fn connection() -> ConnectionOptions {
    ConnectionOptions::from_url(&redis_url()).expect("REDIS_URL must be a redis:// URL")
}

/// A queue of one test: a unique name, and a guard that deletes its keys on drop.
pub struct Scratch {
    pub name: String,
}

impl Scratch {
    pub fn new(tag: &str) -> Scratch {
        Scratch {
            name: format!("bullrush-test-{tag}-{}", uuid::Uuid::new_v4().simple()),
        }
    }

    pub fn queue(&self) -> Queue {
        Queue::new(
            &self.name,
            QueueOptions {
                connection: connection(),
                ..QueueOptions::default()
            },
        )
        .unwrap()
    }

    /// Fast worker settings: short drain delay and locks.
    pub fn worker_options(&self, concurrency: usize) -> WorkerOptions {
        WorkerOptions {
            connection: connection(),
            concurrency,
            drain_delay: 0.2,
            lock_duration: 5_000,
            lock_renew_time: Some(2_500),
            stalled_interval: 5_000,
            ..WorkerOptions::default()
        }
    }

    pub fn worker(&self, concurrency: usize, host: Arc<dyn Host>) -> Worker {
        Worker::new(&self.name, self.worker_options(concurrency), host).unwrap()
    }

    /// Obliterates the queue (forced); the guard removes whatever is left.
    pub async fn obliterate(&self) {
        self.queue().obliterate(true, 1000).await.unwrap();
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // SCAN + DEL with the blocking client: runs even when the test panicked.
        let pattern = format!("bull:{}:*", self.name);
        let Ok(client) = redis::Client::open(redis_url()) else {
            return;
        };
        let Ok(mut conn) = client.get_connection() else {
            return;
        };
        let mut cursor = 0u64;
        loop {
            let scanned: redis::RedisResult<(u64, Vec<String>)> = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(1000)
                .query(&mut conn);
            let Ok((next, keys)) = scanned else { return };
            if !keys.is_empty() {
                let _: redis::RedisResult<()> = redis::cmd("DEL").arg(&keys).query(&mut conn);
            }
            if next == 0 {
                return;
            }
            cursor = next;
        }
    }
}

/// Polls `check` until it holds, failing the test after `WAIT`.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + WAIT;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        sleep(Duration::from_millis(20)).await;
    }
}
