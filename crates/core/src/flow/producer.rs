//! Adding flows: trees of jobs whose parents wait in `waiting-children` until their
//! children are done, each node in a queue of its own choosing (BullMQ's `FlowProducer`).
//! A whole batch of trees goes to Redis as one script call.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{json, Map, Value as Json};

use crate::add::{add_answers, add_refused, push_job_args, stored_job, AddAnswer};
use crate::clock::Clock;
use crate::connection::{Connection, ConnectionOptions};
use crate::error::{Error, Result};
use crate::health::{json_of, raw_command};
use crate::job::Job;
use crate::options::{prepare_job, AddContext, NewJob};
use crate::queue::{validate_queue_name, Queue, QueueOptions};
use crate::scripts::{self, ScriptCall};

/// One node of a flow to add: a job and the children it waits for.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowNode {
    pub name: String,
    pub queue_name: String,
    /// The node's key prefix; the producer's when `None`.
    pub prefix: Option<String>,
    /// The job's data, as JSON text.
    pub data: String,
    /// The job's options (an object, or null).
    pub opts: Json,
    pub children: Vec<FlowNode>,
}

/// A job of a flow and the nodes below it (BullMQ's `JobNode`); `children` is `None` for
/// a leaf, and holds `None` for a child that no longer exists when the flow is read back.
#[derive(Debug, Clone, PartialEq)]
pub struct JobNode {
    pub job: Job,
    pub queue_name: String,
    pub prefix: String,
    pub children: Option<Vec<Option<JobNode>>>,
}

/// `defaultJobOptions` per queue name, applied under the nodes' own options (BullMQ's
/// `queuesOptions`).
pub type QueuesOptions = HashMap<String, Json>;

/// Options of a flow producer (BullMQ's `QueueBaseOptions`).
#[derive(Debug, Clone)]
pub struct FlowProducerOptions {
    pub connection: ConnectionOptions,
    /// Key prefix of nodes that name none, `bull` by default.
    pub prefix: String,
}

impl Default for FlowProducerOptions {
    fn default() -> Self {
        FlowProducerOptions {
            connection: ConnectionOptions::default(),
            prefix: "bull".into(),
        }
    }
}

/// Adds flows and reads them back; its connection is shared by the queue handles it
/// gives out for the flows' jobs.
pub struct FlowProducer {
    conn: Arc<Connection>,
    prefix: String,
    clock: Arc<Clock>,
    queues: Mutex<HashMap<(String, String), Queue>>,
    closed: AtomicBool,
}

impl FlowProducer {
    /// Creates a flow producer; nothing touches Redis until the first operation.
    pub fn new(opts: FlowProducerOptions) -> FlowProducer {
        FlowProducer {
            conn: Arc::new(Connection::new(opts.connection)),
            prefix: opts.prefix,
            clock: Arc::default(),
            queues: Mutex::default(),
            closed: AtomicBool::new(false),
        }
    }

    /// The prefix of nodes that name none.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The clock the flows' timestamps come from.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Connects.
    pub async fn wait_until_ready(&self) -> Result<()> {
        self.check_open()?;
        self.conn.get().await.map(|_| ())
    }

    /// Sends `PING` on the producer's connection (connecting first if needed).
    pub async fn ping(&self) -> Result<String> {
        self.query(&redis::cmd("PING")).await
    }

    /// Runs Redis command `name` with `args` on the producer's connection; its reply as
    /// ioredis shapes it (what apps reach through `getBackend().client`).
    pub async fn command(&self, name: &str, args: &[String]) -> Result<Json> {
        let reply: redis::Value = self.query(&raw_command(name, args)?).await?;
        Ok(json_of(reply))
    }

    async fn query<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T> {
        self.check_open()?;
        let mut shared = self.conn.get().await?;
        cmd.query_async(&mut shared)
            .await
            .map_err(|e| self.conn.options().error(e))
    }

    /// A handle on queue `name` under `prefix` (the producer's when `None`), on the
    /// producer's connection: for the jobs of the flows it adds or reads. It writes no
    /// queue meta.
    pub fn queue(&self, prefix: Option<&str>, name: &str) -> Result<Queue> {
        let prefix = prefix.unwrap_or(&self.prefix).to_string();
        let mut queues = self.queues.lock().unwrap_or_else(|e| e.into_inner());
        let key = (prefix.clone(), name.to_string());
        if let Some(queue) = queues.get(&key) {
            return Ok(queue.clone());
        }
        let opts = QueueOptions {
            prefix,
            skip_meta_update: true,
            clock: self.clock.clone(),
            ..QueueOptions::default()
        };
        let queue = Queue::on_connection(name, opts, self.conn.clone())?;
        queues.insert(key, queue.clone());
        Ok(queue)
    }

    /// Adds one flow atomically: all of it, or (when its root names a parent that does
    /// not exist, or cannot take it) nothing.
    pub async fn add(&self, flow: &FlowNode, queues_options: &QueuesOptions) -> Result<JobNode> {
        let mut nodes = self
            .add_all(std::slice::from_ref(flow), queues_options)
            .await?;
        let (node, root) = nodes
            .pop()
            .ok_or_else(|| Error::Redis("no flow added".into()))?;
        root.map(|_| node)
    }

    /// Adds several flows in one atomic step. A flow whose root was refused (a missing or
    /// different parent) is returned as built, without being stored, as BullMQ does.
    pub async fn add_bulk(&self, flows: &[FlowNode]) -> Result<Vec<JobNode>> {
        let nodes = self.add_all(flows, &QueuesOptions::new()).await?;
        Ok(nodes.into_iter().map(|(node, _)| node).collect())
    }

    /// Stores `flows` in one script call; answers each tree with what became of its root.
    async fn add_all(
        &self,
        flows: &[FlowNode],
        queues_options: &QueuesOptions,
    ) -> Result<Vec<(JobNode, Result<()>)>> {
        self.check_open()?;
        for flow in flows {
            check_tree(flow)?;
        }
        let now = self.clock.now();
        let mut plan = Plan::default();
        let roots = plan.forest(self, flows, queues_options, now)?;
        // Every node has its id before the call (a custom one or a UUID), so a call
        // whose reply was lost is safe to send again: it finds its nodes stored.
        let conn = &self.conn;
        let answers = crate::retry::retrying(conn, conn.patience(), || async {
            add_answers(conn.invoke(&plan.call(now)).await?)
        })
        .await?;
        Ok(plan.settle(&roots, &answers))
    }

    /// Closes the connection; the queue handles it gave out stop working.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.conn.close();
    }

    fn check_open(&self) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        Ok(())
    }
}

/// Refuses what BullMQ refuses before adding: a node with children and deduplication
/// anywhere in the tree, and bad queue names.
fn check_tree(node: &FlowNode) -> Result<()> {
    validate_queue_name(&node.queue_name)?;
    if node.children.is_empty() {
        return Ok(());
    }
    let dedup = node.opts.get("deduplication").is_some_and(|d| !d.is_null());
    if dedup {
        return Err(Error::InvalidArgument(
            "Deduplication options cannot be used on flow nodes with children".into(),
        ));
    }
    node.children.iter().try_for_each(check_tree)
}

/// One node of a planned batch: where it goes and its parent's place in the batch.
struct Entry {
    queue: usize,
    has_children: bool,
    id: String,
    job: NewJob,
    queue_name: String,
    prefix: String,
    parent: Option<usize>,
}

/// The nodes of a batch of flows in the order they are stored (breadth first across the
/// batch, as BullMQ's FlowProducer orders them), and the queues they go to.
#[derive(Default)]
struct Plan {
    queues: Vec<String>,
    entries: Vec<Entry>,
}

impl Plan {
    /// Prepares the nodes of the trees breadth first across all of them (the roots, then
    /// every child of theirs, ...), as BullMQ orders the nodes of a batch; returns the
    /// roots' places.
    fn forest(
        &mut self,
        producer: &FlowProducer,
        flows: &[FlowNode],
        queues_options: &QueuesOptions,
        now: i64,
    ) -> Result<Vec<usize>> {
        let mut queue: VecDeque<(&FlowNode, Option<usize>, Json)> = flows
            .iter()
            .map(|flow| {
                (
                    flow,
                    None,
                    flow.opts.get("parent").cloned().unwrap_or(Json::Null),
                )
            })
            .collect();
        while let Some((node, parent, parent_opt)) = queue.pop_front() {
            let index = self.prepare(producer, node, parent, parent_opt, queues_options, now)?;
            let entry = &self.entries[index];
            let link =
                json!({ "id": entry.id, "queue": qualified(&entry.prefix, &entry.queue_name) });
            for child in &node.children {
                queue.push_back((child, Some(index), link.clone()));
            }
        }
        Ok((0..flows.len()).collect())
    }

    /// Validates one node as BullMQ's FlowProducer builds its job (the queue's defaults,
    /// the node's options, the link to its parent) and places it in the batch.
    fn prepare(
        &mut self,
        producer: &FlowProducer,
        node: &FlowNode,
        parent: Option<usize>,
        parent_opt: Json,
        queues_options: &QueuesOptions,
        now: i64,
    ) -> Result<usize> {
        let prefix = node
            .prefix
            .clone()
            .unwrap_or_else(|| producer.prefix.clone());
        let mut opts = match queues_options.get(&node.queue_name) {
            Some(Json::Object(defaults)) => defaults.clone(),
            _ => Map::new(),
        };
        if let Json::Object(own) = &node.opts {
            opts.extend(own.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        opts.insert("parent".into(), parent_opt);
        check_keep_last(&opts)?;
        let opts = Json::Object(opts);
        let mut job = prepare_job(&node.name, &node.data, &opts, AddContext { now })?;
        let id = match node.opts.get("jobId").filter(|id| truthy_id(id)) {
            Some(_) => job.id.clone().unwrap_or_default(),
            None => uuid::Uuid::new_v4().to_string(),
        };
        job.id = Some(id.clone());
        let queue = self.queue_index(format!("{prefix}:{}:", node.queue_name));
        self.entries.push(Entry {
            queue,
            has_children: !node.children.is_empty(),
            id,
            job,
            queue_name: node.queue_name.clone(),
            prefix,
            parent,
        });
        Ok(self.entries.len() - 1)
    }

    fn queue_index(&mut self, base: String) -> usize {
        match self.queues.iter().position(|q| *q == base) {
            Some(i) => i + 1,
            None => {
                self.queues.push(base);
                self.queues.len()
            }
        }
    }

    /// The script call storing the whole batch.
    fn call(&self, now: i64) -> ScriptCall {
        let mut call = ScriptCall::new(&scripts::ADD_FLOW);
        call.arg(now).arg(self.queues.len());
        for base in &self.queues {
            call.arg(base);
        }
        for entry in &self.entries {
            call.arg(entry.queue)
                .arg(if entry.has_children { "p" } else { "j" });
            push_job_args(&mut call, &entry.id, &entry.job);
        }
        call
    }

    /// Builds the job trees from the batch and the script's answers, one per root; each
    /// with what became of its root: its id (which deduplication may change) or the
    /// error that refused it.
    fn settle(self, roots: &[usize], answers: &[AddAnswer]) -> Vec<(JobNode, Result<()>)> {
        let mut outcomes: Vec<Result<()>> = Vec::with_capacity(roots.len());
        let mut nodes: Vec<Option<JobNode>> = Vec::with_capacity(self.entries.len());
        let mut parents = Vec::with_capacity(self.entries.len());
        for (index, entry) in self.entries.into_iter().enumerate() {
            let mut id = entry.id;
            if entry.parent.is_none() {
                match answers.get(index) {
                    Some(Ok(answered)) => {
                        id = answered.clone();
                        outcomes.push(Ok(()));
                    }
                    Some(Err(code)) => outcomes.push(Err(add_refused(*code, &entry.job))),
                    None => outcomes.push(Err(Error::Redis("no answer for a flow".into()))),
                }
            }
            parents.push(entry.parent);
            nodes.push(Some(JobNode {
                job: stored_job(id, entry.job),
                queue_name: entry.queue_name,
                prefix: entry.prefix,
                children: entry.has_children.then(Vec::new),
            }));
        }
        hang_children(&mut nodes, &parents);
        roots
            .iter()
            .zip(outcomes)
            .map(|(&root, outcome)| {
                (
                    nodes[root].take().expect("a root is never a child"),
                    outcome,
                )
            })
            .collect()
    }
}

/// Moves every node under its parent (`parents[i]`, a lower index), keeping their order:
/// children are gathered last first, and put in order before their parent moves.
pub(super) fn hang_children(nodes: &mut [Option<JobNode>], parents: &[Option<usize>]) {
    for index in (0..nodes.len()).rev() {
        if let Some(children) = children_of(nodes, index) {
            children.reverse();
        }
        let Some(parent) = parents[index] else {
            continue;
        };
        let node = nodes[index].take();
        if let Some(children) = children_of(nodes, parent) {
            children.push(node);
        }
    }
}

fn children_of(nodes: &mut [Option<JobNode>], index: usize) -> Option<&mut Vec<Option<JobNode>>> {
    nodes.get_mut(index)?.as_mut()?.children.as_mut()
}

/// BullMQ refuses keep-last deduplication on a node that has a parent.
fn check_keep_last(opts: &Map<String, Json>) -> Result<()> {
    let has_parent = opts.get("parent").is_some_and(|p| !p.is_null());
    let keep_last = opts
        .get("deduplication")
        .and_then(|d| d.get("keepLastIfActive"))
        .is_some_and(|k| k.as_bool().unwrap_or(!k.is_null()));
    if has_parent && keep_last {
        return Err(Error::InvalidArgument(
            "keepLastIfActive deduplication cannot be used on flow nodes with a parent".into(),
        ));
    }
    Ok(())
}

/// Whether a node's `jobId` option names an id (BullMQ's `opts.jobId || randomUUID()`).
fn truthy_id(id: &Json) -> bool {
    match id {
        Json::String(s) => !s.is_empty(),
        Json::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        _ => false,
    }
}

/// `<prefix>:<name>`.
fn qualified(prefix: &str, name: &str) -> String {
    format!("{prefix}:{name}")
}
