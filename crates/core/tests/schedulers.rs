//! Job schedulers through the Rust API, against a real Redis: an upserted scheduler is
//! iterated by a Rust worker, each taken iteration adding exactly one successor, and bad
//! repeat options are refused before Redis is touched.

use std::sync::{Arc, Mutex};

use bullrush_core::{Error, FnProcessor, Job, Template};
use serde_json::json;

mod support;
use support::{eventually, Scratch};

fn template(name: &str) -> Template {
    Template {
        name: name.into(),
        data: r#"{"k":1}"#.into(),
        opts: json!({ "attempts": 2 }),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rust_worker_iterates_a_scheduler_up_to_its_limit() {
    let s = Scratch::new("sched");
    let queue = s.queue();
    let taken = Arc::new(Mutex::new(Vec::<(String, String)>::new()));
    let seen = taken.clone();
    let host = Arc::new(FnProcessor::new(move |job: Job| {
        let seen = seen.clone();
        async move {
            let repeat =
                serde_json::from_str::<serde_json::Value>(&job.opts).unwrap()["repeat"].clone();
            seen.lock()
                .unwrap()
                .push((job.id.clone(), repeat["count"].to_string()));
            Ok(json!(null))
        }
    }));
    let first = queue
        .upsert_job_scheduler(
            "beat",
            &json!({ "every": 50, "limit": 4 }),
            template("beat"),
        )
        .await
        .unwrap()
        .expect("a first iteration");
    assert!(first.id.starts_with("repeat:beat:"));
    assert_eq!(first.repeat_job_key.as_deref(), Some("beat"));
    let worker = s.worker(2, host);
    worker.run().await.unwrap();
    eventually("four iterations", || {
        let taken = taken.clone();
        async move { taken.lock().unwrap().len() >= 4 }
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    worker.close(false).await;
    let taken = taken.lock().unwrap().clone();
    let counts: Vec<&str> = taken.iter().map(|(_, c)| c.as_str()).collect();
    assert_eq!(counts, ["1", "2", "3", "4"]);
    let scheduler = queue.get_job_scheduler("beat").await.unwrap().unwrap();
    assert_eq!(scheduler["iterationCount"], 4);
    assert_eq!(queue.get_job_schedulers_count().await.unwrap(), 1);
    assert!(queue.remove_job_scheduler("beat").await.unwrap());
    assert_eq!(queue.get_job_schedulers_count().await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_repeat_options_are_refused() {
    let s = Scratch::new("sched-bad");
    let queue = s.queue();
    for (id, repeat, expected) in [
        (
            "",
            json!({ "every": 10 }),
            "jobSchedulerId must be a non-empty string",
        ),
        ("x", json!({ "every": 0 }), "every must be a positive"),
        ("x", json!({ "pattern": "*/5 * *" }), "Invalid cron pattern"),
        (
            "x",
            json!({ "pattern": "* * * * *", "tz": "Nowhere/Land" }),
            "Unknown time zone",
        ),
    ] {
        match queue.upsert_job_scheduler(id, &repeat, template("x")).await {
            Err(Error::InvalidArgument(message)) => {
                assert!(message.contains(expected), "{message}")
            }
            other => panic!("{repeat}: expected InvalidArgument, got {other:?}"),
        }
    }
    assert_eq!(queue.get_job_schedulers_count().await.unwrap(), 0);
}
