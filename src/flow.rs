//! Flows for the JS layer: `NativeFlowProducer`, and the queue and worker methods about
//! a job's children. Conversions only; the flow logic is the engine's.

use bullrush_core::flow::{
    ChildrenPage, Dependencies, DependenciesRequest, DependencyKind, FlowNode, FlowProducer,
    FlowProducerOptions, FlowRequest, JobNode, Page, QueuesOptions,
};
use bullrush_core::Children;
use napi::bindgen_prelude::Result;
use napi_derive::napi;

use crate::convert::{connection, js_error, parse_json, JsConnection, JsJob};
use crate::queue::NativeQueue;
use crate::worker::NativeWorker;

/// A flow producer's options, normalised by the JS layer.
#[napi(object)]
pub struct JsFlowProducerOptions {
    pub connection: Option<JsConnection>,
    pub prefix: Option<String>,
}

/// A node of a flow to add; data and options as JSON text.
#[napi(object)]
pub struct JsFlowNode {
    pub name: String,
    pub queue_name: String,
    pub prefix: Option<String>,
    pub data: String,
    pub opts: String,
    pub children: Option<Vec<JsFlowNode>>,
}

impl JsFlowNode {
    fn to_core(&self) -> Result<FlowNode> {
        let children = match &self.children {
            Some(children) => children
                .iter()
                .map(JsFlowNode::to_core)
                .collect::<Result<_>>()?,
            None => Vec::new(),
        };
        Ok(FlowNode {
            name: self.name.clone(),
            queue_name: self.queue_name.clone(),
            prefix: self.prefix.clone(),
            data: self.data.clone(),
            opts: parse_json(&self.opts)?,
            children,
        })
    }
}

/// A job of a flow, its queue, and the nodes below it (none for a leaf; `null` for a
/// child that no longer exists).
#[napi(object)]
pub struct JsJobNode {
    pub job: JsJob,
    pub queue_name: String,
    pub prefix: String,
    pub children: Option<Vec<Option<JsJobNode>>>,
}

impl From<JobNode> for JsJobNode {
    fn from(node: JobNode) -> JsJobNode {
        JsJobNode {
            job: node.job.into(),
            queue_name: node.queue_name,
            prefix: node.prefix,
            children: node.children.map(|children| {
                children
                    .into_iter()
                    .map(|c| c.map(JsJobNode::from))
                    .collect()
            }),
        }
    }
}

/// `getFlow`'s options.
#[napi(object)]
pub struct JsFlowRequest {
    pub id: String,
    pub queue_name: String,
    pub prefix: Option<String>,
    pub depth: Option<f64>,
    pub max_children: Option<f64>,
}

/// A page of one dependency list (`{ cursor, count }`).
#[napi(object)]
pub struct JsPage {
    pub cursor: Option<f64>,
    pub count: Option<f64>,
}

impl From<&JsPage> for Page {
    fn from(page: &JsPage) -> Page {
        let default = Page::default();
        Page {
            cursor: page.cursor.map_or(default.cursor, |c| c.max(0.0) as u64),
            count: page.count.map_or(default.count, |c| c.max(0.0) as u64),
        }
    }
}

/// Which dependency lists to read page by page (none: all of them whole).
#[napi(object)]
pub struct JsDependenciesRequest {
    pub processed: Option<JsPage>,
    pub unprocessed: Option<JsPage>,
    pub failed: Option<JsPage>,
    pub ignored: Option<JsPage>,
}

/// A job's children by how they stand; pairs are `[childKey, value]`.
#[napi(object)]
pub struct JsDependencies {
    pub processed: Option<Vec<Vec<String>>>,
    pub next_processed_cursor: Option<f64>,
    pub unprocessed: Option<Vec<String>>,
    pub next_unprocessed_cursor: Option<f64>,
    pub failed: Option<Vec<String>>,
    pub next_failed_cursor: Option<f64>,
    pub ignored: Option<Vec<Vec<String>>>,
    pub next_ignored_cursor: Option<f64>,
}

fn pair_lists(pairs: Vec<(String, String)>) -> Vec<Vec<String>> {
    pairs.into_iter().map(|(k, v)| vec![k, v]).collect()
}

impl From<Dependencies> for JsDependencies {
    fn from(d: Dependencies) -> JsDependencies {
        let cursor = |c: Option<u64>| c.map(|c| c as f64);
        JsDependencies {
            processed: d.processed.map(pair_lists),
            next_processed_cursor: cursor(d.next_processed_cursor),
            unprocessed: d.unprocessed,
            next_unprocessed_cursor: cursor(d.next_unprocessed_cursor),
            failed: d.failed,
            next_failed_cursor: cursor(d.next_failed_cursor),
            ignored: d.ignored.map(pair_lists),
            next_ignored_cursor: cursor(d.next_ignored_cursor),
        }
    }
}

/// One child of a page: its key and, for a processed child, its return value (JSON text).
#[napi(object)]
pub struct JsChildItem {
    pub id: String,
    pub value: Option<String>,
}

/// A page of a parent's children with their jobs, and how many there are in all.
#[napi(object)]
pub struct JsChildrenPage {
    pub items: Vec<JsChildItem>,
    pub jobs: Vec<JsJob>,
    pub total: f64,
}

impl From<ChildrenPage> for JsChildrenPage {
    fn from(page: ChildrenPage) -> JsChildrenPage {
        JsChildrenPage {
            items: page
                .items
                .into_iter()
                .map(|(id, value)| JsChildItem { id, value })
                .collect(),
            jobs: page.jobs.into_iter().map(JsJob::from).collect(),
            total: page.total as f64,
        }
    }
}

/// The engine's FlowProducer for the JS layer.
#[napi]
pub struct NativeFlowProducer {
    inner: FlowProducer,
}

#[napi]
impl NativeFlowProducer {
    #[napi(constructor)]
    pub fn new(opts: JsFlowProducerOptions) -> Result<Self> {
        crate::init_tracing();
        let base = FlowProducerOptions::default();
        let inner = FlowProducer::new(FlowProducerOptions {
            connection: connection(&opts.connection)?,
            prefix: opts.prefix.unwrap_or(base.prefix),
        });
        Ok(NativeFlowProducer { inner })
    }

    /// Takes the host's time (`Date.now()`) as the producer's time now.
    #[napi]
    pub fn observe_clock(&self, now: f64) {
        self.inner.clock().observe(now as i64);
    }

    #[napi]
    pub async fn wait_until_ready(&self) -> Result<()> {
        self.inner.wait_until_ready().await.map_err(js_error)
    }

    /// `PING` on the producer's connection.
    #[napi]
    pub async fn ping(&self) -> Result<String> {
        self.inner.ping().await.map_err(js_error)
    }

    /// Runs Redis command `name` with `args`; resolves to its reply.
    #[napi]
    pub async fn command(&self, name: String, args: Vec<String>) -> Result<serde_json::Value> {
        self.inner.command(&name, &args).await.map_err(js_error)
    }

    /// A queue handle on the producer's connection, for a flow's jobs.
    #[napi]
    pub fn queue(&self, prefix: Option<String>, name: String) -> Result<NativeQueue> {
        let queue = self
            .inner
            .queue(prefix.as_deref(), &name)
            .map_err(js_error)?;
        Ok(NativeQueue::wrap(queue))
    }

    /// Adds a flow; `queues_options` is `{ [queueName]: defaultJobOptions }` as JSON text.
    #[napi]
    pub async fn add(&self, flow: JsFlowNode, queues_options: String) -> Result<JsJobNode> {
        let flow = flow.to_core()?;
        let options: QueuesOptions = serde_json::from_value(parse_json(&queues_options)?)
            .map_err(|e| js_error(bullrush_core::Error::InvalidArgument(e.to_string())))?;
        let node = self.inner.add(&flow, &options).await.map_err(js_error)?;
        Ok(node.into())
    }

    /// Adds several flows in one atomic step.
    #[napi]
    pub async fn add_bulk(&self, flows: Vec<JsFlowNode>) -> Result<Vec<JsJobNode>> {
        let flows = flows
            .iter()
            .map(JsFlowNode::to_core)
            .collect::<Result<Vec<_>>>()?;
        let nodes = self.inner.add_bulk(&flows).await.map_err(js_error)?;
        Ok(nodes.into_iter().map(JsJobNode::from).collect())
    }

    /// Reads a flow back; `null` when its root does not exist.
    #[napi]
    pub async fn get_flow(&self, req: JsFlowRequest) -> Result<Option<JsJobNode>> {
        let mut request = FlowRequest::new(&req.id, &req.queue_name);
        request.prefix = req.prefix;
        if let Some(depth) = req.depth {
            request.depth = depth as i64;
        }
        if let Some(max) = req.max_children {
            request.max_children = max.max(0.0) as u64;
        }
        let node = self.inner.get_flow(&request).await.map_err(js_error)?;
        Ok(node.map(JsJobNode::from))
    }

    #[napi]
    pub fn close(&self) {
        self.inner.close();
    }
}

#[napi]
impl NativeQueue {
    /// Removes a job no worker holds, with its descendants unless `keep_children`.
    #[napi]
    pub async fn remove(&self, id: String, keep_children: bool) -> Result<bool> {
        let children = if keep_children {
            Children::Keep
        } else {
            Children::Remove
        };
        self.inner.remove(&id, children).await.map_err(js_error)
    }

    /// A job's children by how they stand, page by page for the lists asked for.
    #[napi]
    pub async fn get_dependencies(
        &self,
        id: String,
        req: JsDependenciesRequest,
    ) -> Result<JsDependencies> {
        let page = |p: &Option<JsPage>| p.as_ref().map(Page::from);
        let request = DependenciesRequest {
            processed: page(&req.processed),
            unprocessed: page(&req.unprocessed),
            failed: page(&req.failed),
            ignored: page(&req.ignored),
        };
        let deps = self
            .inner
            .get_dependencies(&id, request)
            .await
            .map_err(js_error)?;
        Ok(deps.into())
    }

    /// Counts a job's children of each kind named, in that order.
    #[napi]
    pub async fn get_dependencies_count(&self, id: String, kinds: Vec<String>) -> Result<Vec<i64>> {
        let kinds = kinds
            .iter()
            .map(|k| DependencyKind::parse(k))
            .collect::<bullrush_core::Result<Vec<_>>>()
            .map_err(js_error)?;
        self.inner
            .get_dependencies_count(&id, &kinds)
            .await
            .map_err(js_error)
    }

    /// The return values (JSON text) of a job's completed children, as `[key, value]`.
    #[napi]
    pub async fn get_children_values(&self, id: String) -> Result<Vec<Vec<String>>> {
        let values = self
            .inner
            .get_children_values(&id)
            .await
            .map_err(js_error)?;
        Ok(pair_lists(values))
    }

    /// The reasons of the child failures a job ignored, as `[key, reason]`.
    #[napi]
    pub async fn get_ignored_children_failures(&self, id: String) -> Result<Vec<Vec<String>>> {
        let failures = self
            .inner
            .get_ignored_children_failures(&id)
            .await
            .map_err(js_error)?;
        Ok(pair_lists(failures))
    }

    /// A page of a parent's processed (or pending) children with their jobs.
    #[napi]
    pub async fn get_children_page(
        &self,
        parent_id: String,
        processed: bool,
        start: f64,
        end: f64,
    ) -> Result<JsChildrenPage> {
        let page = self
            .inner
            .get_children_page(&parent_id, processed, start as i64, end as i64)
            .await
            .map_err(js_error)?;
        Ok(page.into())
    }

    /// Parks an active job in waiting-children; false when nothing is pending.
    #[napi]
    pub async fn move_to_waiting_children(
        &self,
        id: String,
        token: String,
        child_key: Option<String>,
    ) -> Result<bool> {
        self.inner
            .move_to_waiting_children(&id, &token, child_key.as_deref())
            .await
            .map_err(js_error)
    }

    /// Detaches a job from its parent; false when it was not pending there.
    #[napi]
    pub async fn remove_child_dependency(&self, id: String, parent_key: String) -> Result<bool> {
        self.inner
            .remove_child_dependency(&id, &parent_key)
            .await
            .map_err(js_error)
    }

    /// Removes a job's pending children (and theirs), sparing locked and failed ones.
    #[napi]
    pub async fn remove_unprocessed_children(&self, id: String) -> Result<()> {
        self.inner
            .remove_unprocessed_children(&id)
            .await
            .map_err(js_error)
    }

    /// Deletes jobs no state holds; resolves to how many went.
    #[napi]
    pub async fn remove_orphaned_jobs(&self, count: f64, limit: f64) -> Result<f64> {
        let removed = self
            .inner
            .remove_orphaned_jobs(count.max(1.0) as u64, limit.max(0.0) as u64)
            .await
            .map_err(js_error)?;
        Ok(removed as f64)
    }
}

#[napi]
impl NativeWorker {
    /// Parks a job this worker processes in waiting-children; false when nothing is
    /// pending (the job stays with its processor).
    #[napi]
    pub async fn move_to_waiting_children(
        &self,
        id: String,
        token: String,
        child_key: Option<String>,
    ) -> Result<bool> {
        self.inner
            .move_to_waiting_children(&id, &token, child_key.as_deref())
            .await
            .map_err(js_error)
    }
}
