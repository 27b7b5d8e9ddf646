//! A Rust service and a Node.js worker sharing one queue.
//!
//! The Rust side adds ten `square` jobs to the queue `shared-queue` and processes
//! jobs of that queue with an async closure. `examples/node-worker.js` processes
//! jobs of the same queue with bullrush's (or BullMQ's) `Worker`; whichever worker
//! is free takes the next job, and every job records who processed it.
//!
//! Alone (the Rust worker takes every job):
//!
//!     cargo run -p bullrush-core --example shared_queue
//!
//! Together, from the repository root (build the addon first with `npm run build`,
//! or use `require('bullmq')` in the script):
//!
//!     node examples/node-worker.js &                      # waits for jobs
//!     cargo run -p bullrush-core --example shared_queue   # adds jobs, works too
//!     kill %1                                             # stop the Node worker
//!
//! Both sides honour `REDIS_URL` (default `redis://127.0.0.1:6379`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use bullrush_core::{
    ConnectionOptions, FnProcessor, Job, JobError, Queue, QueueOptions, Worker, WorkerOptions,
};
use serde_json::{json, Value};

const QUEUE: &str = "shared-queue";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let connection = ConnectionOptions::from_url(&url)?;

    // The processor: an async closure from job to JSON result.
    let processor = Arc::new(FnProcessor::new(|job: Job| async move {
        let data: Value = serde_json::from_str(&job.data)
            .map_err(|e| JobError::unrecoverable(format!("bad data: {e}")))?;
        let n = data["n"]
            .as_i64()
            .ok_or_else(|| JobError::unrecoverable("data.n must be an integer"))?;
        tokio::time::sleep(Duration::from_millis(100)).await; // some work
        Ok(json!({ "square": n * n, "by": "rust" }))
    }));
    let worker = Worker::new(
        QUEUE,
        WorkerOptions {
            connection: connection.clone(),
            concurrency: 2,
            name: Some("rust-worker".into()), // stored on each job it takes
            drain_delay: 1.0,
            ..WorkerOptions::default()
        },
        processor,
    )?;
    worker.run().await?;

    let queue = Queue::new(
        QUEUE,
        QueueOptions {
            connection,
            default_job_options: json!({ "removeOnComplete": 100, "removeOnFail": 100 }),
            ..QueueOptions::default()
        },
    )?;
    let jobs: Vec<(String, String, Value)> = (1..=10)
        .map(|n| ("square".into(), json!({ "n": n }).to_string(), json!({})))
        .collect();
    let ids: Vec<String> = queue
        .add_bulk(&jobs)
        .await?
        .into_iter()
        .map(|job| job.id)
        .collect();
    println!(
        "added {} jobs to {QUEUE}: ids {}",
        ids.len(),
        ids.join(", ")
    );

    // Wait until every job is finished, whichever worker took it.
    let deadline = Instant::now() + Duration::from_secs(30);
    let finished = loop {
        let jobs = queue.get_jobs_by_id(&ids).await?;
        if jobs.iter().all(|job| job.finished_on.is_some()) || Instant::now() > deadline {
            break jobs;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    for job in &finished {
        let worker = job.processed_by.as_deref().unwrap_or("?");
        match (&job.returnvalue, &job.failed_reason) {
            (Some(result), _) => println!("job {:>3} {} -> {result} ({worker})", job.id, job.data),
            (None, Some(reason)) => println!("job {:>3} {} failed: {reason}", job.id, job.data),
            (None, None) => println!("job {:>3} {} not finished yet", job.id, job.data),
        }
    }

    worker.close(false).await;
    queue.close().await;
    Ok(())
}
