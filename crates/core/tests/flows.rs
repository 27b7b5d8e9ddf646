//! Integration tests of flows through the Rust API against a real Redis (`REDIS_URL`):
//! a FlowProducer's tree processed by a Rust worker, the parent option, and the job
//! methods about children.

use std::sync::Arc;

use bullrush_core::flow::{
    DependenciesRequest, DependencyKind, FlowNode, FlowProducer, FlowProducerOptions, FlowRequest,
    JobNode, Page, QueuesOptions,
};
use bullrush_core::{Children, Error, FnProcessor, Job, JobError, Queue, ScriptCode};
use serde_json::{json, Value};

mod support;
use support::{connection, eventually, Scratch};

fn producer() -> FlowProducer {
    FlowProducer::new(FlowProducerOptions {
        connection: connection(),
        ..FlowProducerOptions::default()
    })
}

fn node(name: &str, queue: &str, opts: Value, children: Vec<FlowNode>) -> FlowNode {
    FlowNode {
        name: name.into(),
        queue_name: queue.into(),
        prefix: None,
        data: json!({ "name": name }).to_string(),
        opts,
        children,
    }
}

/// Ids of a tree, children in order.
fn ids(node: &JobNode) -> Value {
    let children = node.children.as_ref().map(|children| {
        children
            .iter()
            .map(|c| c.as_ref().map_or(Value::Null, ids))
            .collect::<Vec<_>>()
    });
    json!({ "id": node.job.id, "children": children })
}

/// A processor returning a leaf's number, and a parent's sum of its children's values.
fn summing(queue: Queue) -> Arc<impl bullrush_core::Host> {
    Arc::new(FnProcessor::new(move |job: Job| {
        let queue = queue.clone();
        async move {
            let data: Value = serde_json::from_str(&job.data).unwrap();
            if let Some(n) = data["n"].as_i64() {
                return Ok(json!(n));
            }
            if data["fail"].as_bool() == Some(true) {
                return Err(JobError::new("broken"));
            }
            let values = queue.get_children_values(&job.id).await.unwrap();
            let sum: i64 = values.iter().map(|(_, v)| v.parse::<i64>().unwrap()).sum();
            Ok(json!(sum))
        }
    }))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flow_is_processed_children_first_and_read_back() {
    let s = Scratch::new("flow");
    let queue = s.queue();
    let producer = producer();
    let leaf = |id: &str, n: i64| {
        let mut leaf = node(id, &s.name, json!({ "jobId": id }), vec![]);
        leaf.data = json!({ "n": n }).to_string();
        leaf
    };
    let tree = node(
        "root",
        &s.name,
        json!({ "jobId": "root" }),
        vec![
            node(
                "mid",
                &s.name,
                json!({ "jobId": "mid" }),
                vec![leaf("a", 1), leaf("b", 2)],
            ),
            leaf("c", 4),
        ],
    );
    let added = producer.add(&tree, &QueuesOptions::new()).await.unwrap();
    assert_eq!(
        ids(&added),
        json!({ "id": "root", "children": [
            { "id": "mid", "children": [{ "id": "a", "children": null }, { "id": "b", "children": null }] },
            { "id": "c", "children": null },
        ]})
    );
    let mid = added.children.as_ref().unwrap()[0].as_ref().unwrap();
    assert_eq!(
        mid.job.parent_key.as_deref(),
        Some(format!("bull:{}:root", s.name).as_str())
    );
    assert_eq!(
        queue.get_job_state("root").await.unwrap(),
        "waiting-children"
    );
    assert_eq!(
        queue.get_job_state("mid").await.unwrap(),
        "waiting-children"
    );

    let worker = s.worker(1, summing(queue.clone()));
    worker.run().await.unwrap();
    eventually("the root completes", || async {
        queue.get_job_state("root").await.unwrap() == "completed"
    })
    .await;
    let root = queue.get_job("root").await.unwrap().unwrap();
    assert_eq!(root.returnvalue.as_deref(), Some("7"));

    let read = producer
        .get_flow(&FlowRequest::new("root", &s.name))
        .await
        .unwrap()
        .expect("the root exists");
    assert_eq!(read.job.returnvalue.as_deref(), Some("7"));
    let mut children: Vec<String> = read
        .children
        .unwrap()
        .into_iter()
        .map(|c| c.unwrap().job.id)
        .collect();
    children.sort();
    assert_eq!(children, ["c", "mid"]);
    let mut shallow = FlowRequest::new("root", &s.name);
    shallow.depth = 1;
    let top = producer.get_flow(&shallow).await.unwrap().unwrap();
    assert_eq!(top.children, None, "depth 1 reads the root alone");

    worker.close(false).await;
    producer.close();
    s.obliterate().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_parent_is_refused_and_nothing_is_stored() {
    let s = Scratch::new("orphan");
    let queue = s.queue();
    let parent = json!({ "parent": { "id": "nobody", "queue": format!("bull:{}", s.name) } });
    let err = queue.add("orphan", "{}", &parent).await.unwrap_err();
    assert!(matches!(
        err,
        Error::Script {
            code: ScriptCode::ParentJobNotExist,
            ..
        }
    ));
    assert_eq!(
        err.to_string(),
        format!("Missing key for parent job bull:{}:nobody. addJob", s.name)
    );
    let producer = producer();
    let flow = FlowNode {
        opts: parent.clone(),
        ..node(
            "root",
            &s.name,
            json!({}),
            vec![node("kid", &s.name, json!({}), vec![])],
        )
    };
    let err = producer
        .add(&flow, &QueuesOptions::new())
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("Missing key for parent job bull:{}:nobody. addJob", s.name)
    );
    let counts = queue
        .get_job_counts(&["waiting".into(), "waiting-children".into()])
        .await
        .unwrap();
    assert_eq!(
        counts,
        [("waiting".into(), 0), ("waiting-children".into(), 0)]
    );
    producer.close();
    s.obliterate().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn children_are_read_detached_and_removed() {
    let s = Scratch::new("children");
    let queue = s.queue();
    queue
        .add("parent", "{}", &json!({ "jobId": "parent" }))
        .await
        .unwrap();
    let parent = json!({ "id": "parent", "queue": format!("bull:{}", s.name) });
    for id in ["k1", "k2", "k3"] {
        let opts = json!({ "jobId": id, "parent": parent, "delay": 60_000 });
        let job = queue.add(id, "{}", &opts).await.unwrap();
        assert_eq!(
            job.parent_key.as_deref(),
            Some(format!("bull:{}:parent", s.name).as_str())
        );
    }
    let all = queue
        .get_dependencies("parent", DependenciesRequest::default())
        .await
        .unwrap();
    let mut pending = all.unprocessed.unwrap();
    pending.sort();
    assert_eq!(
        pending,
        ["k1", "k2", "k3"].map(|id| format!("bull:{}:{id}", s.name))
    );
    let paged = DependenciesRequest {
        unprocessed: Some(Page {
            cursor: 0,
            count: 10,
        }),
        ..DependenciesRequest::default()
    };
    let page = queue.get_dependencies("parent", paged).await.unwrap();
    assert_eq!(page.unprocessed.map(|p| p.len()), Some(3));
    assert_eq!(page.next_unprocessed_cursor, Some(0));
    assert_eq!(page.processed, None, "only the lists asked for");

    assert!(queue
        .remove_child_dependency("k1", &format!("bull:{}:parent", s.name))
        .await
        .unwrap());
    let kinds = [DependencyKind::Unprocessed, DependencyKind::Processed];
    assert_eq!(
        queue
            .get_dependencies_count("parent", &kinds)
            .await
            .unwrap(),
        [2, 0]
    );
    assert!(queue.remove("parent", Children::Remove).await.unwrap());
    for id in ["parent", "k2", "k3"] {
        assert_eq!(
            queue.get_job_state(id).await.unwrap(),
            "unknown",
            "{id} removed"
        );
    }
    assert_eq!(
        queue.get_job_state("k1").await.unwrap(),
        "delayed",
        "detached, so kept"
    );
    s.obliterate().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_child_with_fail_parent_on_failure_fails_its_parent() {
    let s = Scratch::new("fpof");
    let queue = s.queue();
    let producer = producer();
    let mut bad = node(
        "bad",
        &s.name,
        json!({ "jobId": "bad", "failParentOnFailure": true }),
        vec![],
    );
    bad.data = json!({ "fail": true }).to_string();
    let tree = node("parent", &s.name, json!({ "jobId": "parent" }), vec![bad]);
    producer.add(&tree, &QueuesOptions::new()).await.unwrap();
    let worker = s.worker(1, summing(queue.clone()));
    worker.run().await.unwrap();
    eventually("the parent fails", || async {
        queue.get_job_state("parent").await.unwrap() == "failed"
    })
    .await;
    let parent = queue.get_job("parent").await.unwrap().unwrap();
    assert_eq!(
        parent.failed_reason,
        Some(format!("child bull:{}:bad failed", s.name))
    );
    let counts = queue
        .get_dependencies_count("parent", &[DependencyKind::Failed])
        .await
        .unwrap();
    assert_eq!(counts, [1]);
    worker.close(false).await;
    producer.close();
    s.obliterate().await;
}
