//! Integration tests of the queue's admin operations (clean, retryJobs, promoteJobs, meta,
//! metrics, workers) against a real Redis (`REDIS_URL`, default `redis://127.0.0.1:6379`). Each test works on
//! its own queue and deletes that queue's keys when it ends, also when it fails.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bullrush_core::{
    CleanState, ConnectionOptions, Error, FinishedState, FnProcessor, Job, Limiter, MetricsKind,
    MetricsOptions, Queue, QueueOptions, Worker, WorkerOptions,
};
use redis::aio::MultiplexedConnection;
use serde_json::{json, Value};

fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A queue of one test, and a plain connection to arrange and inspect its keys.
struct Scratch {
    name: String,
    queue: Queue,
    redis: MultiplexedConnection,
}

impl Scratch {
    async fn new(tag: &str) -> Scratch {
        let name = format!("bullrush-admin-{tag}-{}", uuid::Uuid::new_v4().simple());
        let connection = ConnectionOptions::from_url(&redis_url()).unwrap();
        let queue = Queue::new(
            &name,
            QueueOptions {
                connection,
                ..QueueOptions::default()
            },
        )
        .unwrap();
        let client = redis::Client::open(redis_url()).unwrap();
        let redis = client.get_multiplexed_async_connection().await.unwrap();
        Scratch { name, queue, redis }
    }

    /// A worker on the queue whose jobs fail when their data says `{"fail": true}`.
    fn worker(&self, opts: WorkerOptions) -> Worker {
        let processor = Arc::new(FnProcessor::new(|job: Job| async move {
            if job.data.contains("fail") {
                return Err(bullrush_core::JobError::new("no"));
            }
            Ok(json!(1))
        }));
        let opts = WorkerOptions {
            connection: ConnectionOptions::from_url(&redis_url()).unwrap(),
            drain_delay: 0.2,
            ..opts
        };
        Worker::new(&self.name, opts, processor).unwrap()
    }

    /// Polls `check` until it holds, failing after 10 s.
    async fn eventually<F, Fut>(&self, what: &str, mut check: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !check().await {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn key(&self, suffix: &str) -> String {
        format!("bull:{}:{suffix}", self.name)
    }

    async fn add(&self, name: &str, opts: Value) -> String {
        self.queue.add(name, "{}", &opts).await.unwrap().id
    }

    /// Moves a waiting job into a finished set as if a worker had finished it at `at` ms.
    async fn finish(&mut self, id: &str, set: &str, at: i64) {
        let field = if set == "completed" {
            "returnvalue"
        } else {
            "failedReason"
        };
        redis::pipe()
            .cmd("LREM")
            .arg(self.key("wait"))
            .arg(1)
            .arg(id)
            .cmd("ZADD")
            .arg(self.key(set))
            .arg(at)
            .arg(id)
            .cmd("HSET")
            .arg(self.key(id))
            .arg("processedOn")
            .arg(at - 1)
            .arg("finishedOn")
            .arg(at)
            .arg(field)
            .arg("\"v\"")
            .exec_async(&mut self.redis)
            .await
            .unwrap();
    }

    async fn list(&mut self, suffix: &str) -> Vec<String> {
        redis::cmd("LRANGE")
            .arg(self.key(suffix))
            .arg(0)
            .arg(-1)
            .query_async(&mut self.redis)
            .await
            .unwrap()
    }

    async fn members(&mut self, suffix: &str) -> Vec<String> {
        redis::cmd("ZRANGE")
            .arg(self.key(suffix))
            .arg(0)
            .arg(-1)
            .query_async(&mut self.redis)
            .await
            .unwrap()
    }

    async fn fields(&mut self, id: &str, names: &[&str]) -> Vec<Option<String>> {
        redis::cmd("HMGET")
            .arg(self.key(id))
            .arg(names)
            .query_async(&mut self.redis)
            .await
            .unwrap()
    }

    async fn exists(&mut self, suffix: &str) -> bool {
        redis::cmd("EXISTS")
            .arg(self.key(suffix))
            .query_async(&mut self.redis)
            .await
            .unwrap()
    }

    /// The events stream as `(event name, other fields)` entries.
    async fn events(&mut self) -> Vec<(String, Vec<(String, String)>)> {
        let entries: Vec<(String, Vec<String>)> = redis::cmd("XRANGE")
            .arg(self.key("events"))
            .arg("-")
            .arg("+")
            .query_async(&mut self.redis)
            .await
            .unwrap();
        entries
            .into_iter()
            .map(|(_, fields)| {
                let pairs: Vec<(String, String)> = fields
                    .chunks(2)
                    .map(|p| (p[0].clone(), p[1].clone()))
                    .collect();
                (pairs[0].1.clone(), pairs[1..].to_vec())
            })
            .collect()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let Ok(client) = redis::Client::open(redis_url()) else {
            return;
        };
        let Ok(mut conn) = client.get_connection() else {
            return;
        };
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("bull:{}:*", self.name))
            .query(&mut conn)
            .unwrap_or_default();
        if !keys.is_empty() {
            let _: redis::RedisResult<()> = redis::cmd("DEL").arg(&keys).query(&mut conn);
        }
    }
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[tokio::test]
async fn clean_removes_finished_jobs_before_the_grace_period() {
    let mut s = Scratch::new("clean-finished").await;
    let now = bullrush_core::now_ms();
    let old = s.add("old", json!({})).await;
    let older = s.add("older", json!({})).await;
    let fresh = s.add("fresh", json!({})).await;
    let failed = s.add("failed", json!({})).await;
    s.finish(&old, "completed", now - 20_000).await;
    s.finish(&older, "completed", now - 30_000).await;
    s.finish(&fresh, "completed", now).await;
    s.finish(&failed, "failed", now - 30_000).await;

    let pages = s
        .queue
        .clean(10_000, 0, CleanState::Completed)
        .await
        .unwrap();
    assert_eq!(
        pages,
        vec![vec![older.clone(), old.clone()]],
        "oldest first"
    );
    assert_eq!(s.members("completed").await, vec![fresh.clone()]);
    assert!(!s.exists(&old).await && !s.exists(&older).await);
    assert_eq!(
        s.members("failed").await,
        vec![failed],
        "other states untouched"
    );

    let none = s
        .queue
        .clean(10_000, 0, CleanState::Completed)
        .await
        .unwrap();
    assert_eq!(
        none,
        vec![Vec::<String>::new()],
        "an empty page still emits"
    );
    let cleaned: Vec<_> = s
        .events()
        .await
        .into_iter()
        .filter(|(name, _)| name == "cleaned")
        .map(|(_, fields)| fields)
        .collect();
    assert_eq!(
        cleaned,
        vec![pairs(&[("count", "2")]), pairs(&[("count", "0")])]
    );
}

#[tokio::test]
async fn clean_limit_takes_the_oldest_and_lists_from_the_tail() {
    let mut s = Scratch::new("clean-limit").await;
    let past = bullrush_core::now_ms() - 60_000;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(s.add(&format!("j{i}"), json!({ "timestamp": past })).await);
    }
    // wait is [5, 4, 3, 2, 1]: the oldest two sit at the tail.
    let pages = s.queue.clean(1_000, 2, CleanState::Wait).await.unwrap();
    assert_eq!(pages, vec![vec![ids[1].clone(), ids[0].clone()]]);
    assert_eq!(s.list("wait").await, vec!["5", "4", "3"]);
}

#[tokio::test]
async fn clean_spares_locked_active_jobs_and_scheduler_iterations() {
    let mut s = Scratch::new("clean-active").await;
    let past = bullrush_core::now_ms() - 60_000;
    let locked = s.add("locked", json!({ "timestamp": past })).await;
    let free = s.add("free", json!({ "timestamp": past })).await;
    let iteration = s
        .add(
            "iteration",
            json!({ "jobId": "repeat:sched:1000", "timestamp": past }),
        )
        .await;
    redis::pipe()
        .cmd("RPOPLPUSH")
        .arg(s.key("wait"))
        .arg(s.key("active"))
        .cmd("RPOPLPUSH")
        .arg(s.key("wait"))
        .arg(s.key("active"))
        .cmd("SET")
        .arg(s.key(&format!("{locked}:lock")))
        .arg("token")
        .cmd("HSET")
        .arg(s.key(&iteration))
        .arg("rjk")
        .arg("sched")
        .cmd("ZADD")
        .arg(s.key("repeat"))
        .arg(1000)
        .arg("sched")
        .exec_async(&mut s.redis)
        .await
        .unwrap();

    let active = s.queue.clean(0, 0, CleanState::Active).await.unwrap();
    assert_eq!(active, vec![vec![free.clone()]]);
    assert_eq!(s.list("active").await, vec![locked]);
    let wait = s.queue.clean(0, 0, CleanState::Wait).await.unwrap();
    assert_eq!(wait, vec![Vec::<String>::new()]);
    assert_eq!(s.list("wait").await, vec![iteration]);
}

#[tokio::test]
async fn clean_judges_delayed_and_prioritized_jobs_by_their_timestamp() {
    let mut s = Scratch::new("clean-sets").await;
    let now = bullrush_core::now_ms();
    let old_delayed = s
        .add("d-old", json!({ "delay": 5000, "timestamp": now - 60_000 }))
        .await;
    let new_delayed = s.add("d-new", json!({ "delay": 1000 })).await;
    let old_prio = s
        .add("p-old", json!({ "priority": 2, "timestamp": now - 60_000 }))
        .await;
    let new_prio = s.add("p-new", json!({ "priority": 1 })).await;

    let delayed = s.queue.clean(30_000, 0, CleanState::Delayed).await.unwrap();
    assert_eq!(delayed, vec![vec![old_delayed]]);
    assert_eq!(s.members("delayed").await, vec![new_delayed]);
    let prio = s
        .queue
        .clean(30_000, 0, CleanState::Prioritized)
        .await
        .unwrap();
    assert_eq!(prio, vec![vec![old_prio]]);
    assert_eq!(s.members("prioritized").await, vec![new_prio]);
}

#[tokio::test]
async fn clean_pages_until_a_short_page() {
    let mut s = Scratch::new("clean-pages").await;
    let now = bullrush_core::now_ms();
    for i in 0..3 {
        let id = s.add(&format!("j{i}"), json!({})).await;
        s.finish(&id, "failed", now - 10_000).await;
    }
    let pages = s.queue.clean(0, 2, CleanState::Failed).await.unwrap();
    assert_eq!(pages, vec![vec!["1".to_string(), "2".to_string()]]);
    let pages = s.queue.clean(0, 0, CleanState::Failed).await.unwrap();
    assert_eq!(pages, vec![vec!["3".to_string()]]);
}

#[tokio::test]
async fn clean_rejects_bad_input_before_redis() {
    let mut s = Scratch::new("clean-bad").await;
    let grace = s.queue.clean(-1, 0, CleanState::Completed).await;
    assert!(matches!(grace, Err(Error::InvalidArgument(_))));
    let limit = s.queue.clean(0, -1, CleanState::Completed).await;
    assert!(matches!(limit, Err(Error::InvalidArgument(_))));
    assert!(CleanState::parse("waiting-children").is_err());
    assert_eq!(CleanState::parse("waiting").unwrap(), CleanState::Wait);
    assert!(!s.exists("events").await, "nothing reached Redis");
}

#[tokio::test]
async fn retry_jobs_sends_failed_jobs_back_oldest_first_page_by_page() {
    let mut s = Scratch::new("retry-failed").await;
    let now = bullrush_core::now_ms();
    let mut ids = Vec::new();
    for (i, age) in [3_000, 2_000, 1_000].iter().enumerate() {
        let id = s.add(&format!("j{i}"), json!({ "priority": 3 })).await;
        redis::cmd("ZREM")
            .arg(s.key("prioritized"))
            .arg(&id)
            .exec_async(&mut s.redis)
            .await
            .unwrap();
        redis::cmd("LPUSH")
            .arg(s.key("wait"))
            .arg(&id)
            .exec_async(&mut s.redis)
            .await
            .unwrap();
        s.finish(&id, "failed", now - age).await;
        ids.push(id);
    }
    let done = s.add("done", json!({})).await;
    s.finish(&done, "completed", now - 5_000).await;

    s.queue
        .retry_jobs(FinishedState::Failed, 2, None)
        .await
        .unwrap();
    assert!(s.members("failed").await.is_empty());
    let mut expected = ids.clone();
    expected.reverse();
    assert_eq!(
        s.list("wait").await,
        expected,
        "oldest at the tail, priority ignored"
    );
    assert_eq!(
        s.members("completed").await,
        vec![done],
        "completed untouched"
    );
    let left = s
        .fields(
            &ids[0],
            &["finishedOn", "processedOn", "failedReason", "priority"],
        )
        .await;
    assert_eq!(left, vec![None, None, None, Some("3".into())]);
    let waiting: Vec<_> = s
        .events()
        .await
        .into_iter()
        .filter(|(name, _)| name == "waiting")
        .skip(4)
        .collect();
    let expected: Vec<_> = ids
        .iter()
        .map(|id| {
            (
                "waiting".to_string(),
                pairs(&[("jobId", id), ("prev", "failed")]),
            )
        })
        .collect();
    assert_eq!(waiting, expected);
    assert!(s.exists("marker").await);
}

#[tokio::test]
async fn retry_jobs_up_to_a_timestamp_and_of_completed_jobs() {
    let mut s = Scratch::new("retry-completed").await;
    let now = bullrush_core::now_ms();
    let old = s.add("old", json!({})).await;
    let new = s.add("new", json!({})).await;
    s.finish(&old, "completed", now - 10_000).await;
    s.finish(&new, "completed", now).await;
    s.queue
        .retry_jobs(FinishedState::Completed, 1000, Some(now - 5_000))
        .await
        .unwrap();
    assert_eq!(s.list("wait").await, vec![old.clone()]);
    assert_eq!(s.members("completed").await, vec![new]);
    assert_eq!(s.fields(&old, &["returnvalue"]).await, vec![None]);
}

#[tokio::test]
async fn promote_jobs_moves_every_delayed_job_to_wait() {
    let mut s = Scratch::new("promote").await;
    let a = s.add("a", json!({ "delay": 60_000 })).await;
    let b = s.add("b", json!({ "delay": 30_000, "priority": 2 })).await;
    let c = s.add("c", json!({ "delay": 90_000 })).await;
    s.queue.promote_jobs(2).await.unwrap();
    assert!(s.members("delayed").await.is_empty());
    assert_eq!(
        s.list("wait").await,
        vec![c, a, b.clone()],
        "earliest due first"
    );
    assert!(s.members("prioritized").await.is_empty());
    assert_eq!(s.fields(&b, &["delay"]).await, vec![Some("30000".into())]);
    let prev: Vec<_> = s
        .events()
        .await
        .into_iter()
        .filter(|(name, _)| name == "waiting")
        .map(|(_, f)| f[1].clone())
        .collect();
    assert_eq!(prev, vec![("prev".to_string(), "delayed".to_string()); 3]);
}

#[tokio::test]
async fn bulk_moves_reject_bad_input_before_redis() {
    let mut s = Scratch::new("requeue-bad").await;
    let zero = s.queue.retry_jobs(FinishedState::Failed, 0, None).await;
    assert!(matches!(zero, Err(Error::InvalidArgument(_))));
    assert!(matches!(
        s.queue.promote_jobs(-5).await,
        Err(Error::InvalidArgument(_))
    ));
    assert!(FinishedState::parse("delayed").is_err());
    assert!(!s.exists("events").await, "nothing reached Redis");
}

#[tokio::test]
async fn global_limits_live_in_meta_as_bullmq_keeps_them() {
    let mut s = Scratch::new("meta").await;
    s.queue.wait_until_ready().await.unwrap();
    assert_eq!(s.queue.set_global_concurrency(2).await.unwrap(), 1);
    assert_eq!(s.queue.set_global_rate_limit(5, 1000).await.unwrap(), 2);
    assert_eq!(s.queue.get_global_concurrency().await.unwrap(), Some(2));
    let limit = Limiter {
        max: 5,
        duration: 1000,
    };
    assert_eq!(s.queue.get_global_rate_limit().await.unwrap(), Some(limit));
    let meta = s.queue.get_meta().await.unwrap();
    assert_eq!(
        (
            meta.concurrency,
            meta.max,
            meta.duration,
            meta.max_len_events
        ),
        (Some(2), Some(5), Some(1000), Some(10_000))
    );
    assert!(!meta.paused);
    assert_eq!(
        meta.other,
        vec![("version".into(), bullrush_core::VERSION.into())]
    );
    assert_eq!(
        s.queue.get_version().await.unwrap().as_deref(),
        Some(bullrush_core::VERSION)
    );

    redis::cmd("LPUSH")
        .arg(s.key("active"))
        .arg(&["a", "b"])
        .exec_async(&mut s.redis)
        .await
        .unwrap();
    assert!(s.queue.is_maxed().await.unwrap());
    redis::cmd("SET")
        .arg(s.key("limiter"))
        .arg(5)
        .arg("PX")
        .arg(10_000)
        .exec_async(&mut s.redis)
        .await
        .unwrap();
    let ttl = s.queue.rate_limit_ttl(None).await.unwrap();
    assert!(ttl > 0 && ttl <= 10_000, "limited: {ttl}");
    assert_eq!(s.queue.rate_limit_ttl(Some(6)).await.unwrap(), 0);
    assert_eq!(s.queue.remove_rate_limit_key().await.unwrap(), 1);
    assert_eq!(s.queue.remove_global_rate_limit().await.unwrap(), 2);
    assert_eq!(s.queue.rate_limit_ttl(None).await.unwrap(), -2);
    assert_eq!(s.queue.remove_global_concurrency().await.unwrap(), 1);
    assert!(!s.queue.is_maxed().await.unwrap());
    assert!(matches!(
        s.queue.set_global_rate_limit(0, 10).await,
        Err(Error::InvalidArgument(_))
    ));
}

#[tokio::test]
async fn a_worker_with_metrics_counts_finished_jobs_per_minute() {
    let mut s = Scratch::new("metrics").await;
    redis::cmd("HSET")
        .arg(s.key("metrics:completed"))
        .arg(&["count", "3", "prevCount", "1"])
        .arg("prevTS")
        .arg(bullrush_core::now_ms() - 600_000)
        .exec_async(&mut s.redis)
        .await
        .unwrap();
    for data in [json!({}), json!({ "fail": true }), json!({}), json!({})] {
        s.queue
            .add("j", &data.to_string(), &json!({}))
            .await
            .unwrap();
    }
    let worker = s.worker(WorkerOptions {
        concurrency: 4,
        metrics: Some(MetricsOptions { max_data_points: 2 }),
        ..WorkerOptions::default()
    });
    worker.run().await.unwrap();
    let queue = s.queue.clone();
    s.eventually("4 finished jobs", || {
        let queue = queue.clone();
        async move {
            let counts = queue
                .get_job_counts(&["completed".into(), "failed".into()])
                .await
                .unwrap();
            counts.iter().map(|(_, n)| n).sum::<i64>() == 4
        }
    })
    .await;
    worker.close(false).await;
    let completed = s
        .queue
        .get_metrics(MetricsKind::Completed, 0, -1)
        .await
        .unwrap();
    assert_eq!((completed.count, completed.prev_count), (6, 3));
    // Ten minutes passed, two points kept: the newest minute's 0 and the count before.
    assert_eq!(completed.data, [0, 2]);
    let failed = s
        .queue
        .get_metrics(MetricsKind::Failed, 0, -1)
        .await
        .unwrap();
    assert_eq!((failed.count, failed.prev_count, failed.points), (1, 0, 0));
    let text = s.queue.export_prometheus_metrics(&[]).await.unwrap();
    assert!(text.contains(&format!(
        "bullmq_job_completed_total{{queue=\"{}\"}} 6",
        s.name
    )));
}

#[tokio::test]
async fn get_workers_lists_a_running_worker_by_its_connection_name() {
    let s = Scratch::new("workers").await;
    let worker = s.worker(WorkerOptions {
        name: Some("alpha".into()),
        ..WorkerOptions::default()
    });
    worker.run().await.unwrap();
    let queue = s.queue.clone();
    s.eventually("the worker listed", || {
        let queue = queue.clone();
        async move { queue.get_workers_count().await.unwrap() == 1 }
    })
    .await;
    let workers = s.queue.get_workers().await.unwrap();
    let field = |k: &str| {
        workers[0]
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(field("name").as_deref(), Some(s.name.as_str()));
    let raw = field("rawname").unwrap();
    assert!(
        raw.starts_with("bull:") && raw.ends_with(":w:alpha"),
        "{raw}"
    );
    worker.close(false).await;
    s.eventually("the worker gone", || {
        let queue = queue.clone();
        async move { queue.get_workers_count().await.unwrap() == 0 }
    })
    .await;
}
