//! Reading a flow back (BullMQ's `FlowProducer.getFlow`): a job and, down to a depth,
//! the children it has or had, read level by level in one round trip per level.

use redis::Value;

use super::producer::{hang_children, FlowProducer, JobNode};
use crate::error::Result;
use crate::job::{value_string, Job};

/// Which flow to read and how much of it.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowRequest {
    pub id: String,
    pub queue_name: String,
    /// The root's key prefix; the producer's when `None`.
    pub prefix: Option<String>,
    /// How many levels to read, the root's included (10 by default).
    pub depth: i64,
    /// About how many children of each kind to read per job (20 by default).
    pub max_children: u64,
}

impl FlowRequest {
    /// Reads the flow of job `id` of queue `queue_name` with BullMQ's defaults.
    pub fn new(id: &str, queue_name: &str) -> FlowRequest {
        FlowRequest {
            id: id.to_string(),
            queue_name: queue_name.to_string(),
            prefix: None,
            depth: 10,
            max_children: 20,
        }
    }
}

/// A job to read: where it is, how deep below it to go, and its parent's place.
struct Visit {
    prefix: String,
    queue_name: String,
    id: String,
    depth: i64,
    parent: Option<usize>,
}

impl Visit {
    fn key(&self) -> String {
        format!("{}:{}:{}", self.prefix, self.queue_name, self.id)
    }
}

/// A child's place from its full key, as BullMQ parses it: the id after the last colon,
/// the queue name before it, the prefix the rest.
fn parse_node_key(key: &str) -> (String, String, String) {
    let parts = key.rsplitn(3, ':').collect::<Vec<_>>();
    match parts.as_slice() {
        [id, queue, prefix] => (prefix.to_string(), queue.to_string(), id.to_string()),
        _ => {
            let mut split = key.split(':').map(str::to_string);
            let mut next = || split.next().unwrap_or_default();
            (next(), next(), next())
        }
    }
}

impl FlowProducer {
    /// Reads the flow below job `req.id`; `None` when that job does not exist. A child
    /// that no longer exists is `None` among its parent's children.
    pub async fn get_flow(&self, req: &FlowRequest) -> Result<Option<JobNode>> {
        let prefix = req
            .prefix
            .clone()
            .unwrap_or_else(|| self.prefix().to_string());
        let queue = self.queue(Some(&prefix), &req.queue_name)?;
        let mut visits = vec![Visit {
            prefix,
            queue_name: req.queue_name.clone(),
            id: req.id.clone(),
            depth: req.depth,
            parent: None,
        }];
        let mut nodes: Vec<Option<JobNode>> = Vec::new();
        let mut level = 0..1;
        while !level.is_empty() {
            let mut pipe = redis::pipe();
            for visit in &visits[level.clone()] {
                push_reads(&mut pipe, &visit.key(), req.max_children);
            }
            let replies: Vec<Value> = queue.core().pipeline(&pipe).await?;
            let next = visits.len();
            for (offset, reads) in replies.chunks(5).enumerate() {
                let index = level.start + offset;
                let (node, children) = read_node(&visits[index], reads);
                if node.as_ref().is_some_and(|n| n.children.is_some()) {
                    let depth = visits[index].depth - 1;
                    visits.extend(children.iter().map(|key| {
                        let (prefix, queue_name, id) = parse_node_key(key);
                        Visit {
                            prefix,
                            queue_name,
                            id,
                            depth,
                            parent: Some(index),
                        }
                    }));
                }
                nodes.push(node);
            }
            level = next..visits.len();
        }
        Ok(assemble(nodes, &visits))
    }
}

/// The reads of one job: its hash and a page of each dependency list.
fn push_reads(pipe: &mut redis::Pipeline, key: &str, max: u64) {
    pipe.cmd("HGETALL").arg(key);
    pipe.cmd("HSCAN")
        .arg(format!("{key}:processed"))
        .arg(0)
        .arg("COUNT")
        .arg(max);
    pipe.cmd("SSCAN")
        .arg(format!("{key}:dependencies"))
        .arg(0)
        .arg("COUNT")
        .arg(max);
    pipe.cmd("HSCAN")
        .arg(format!("{key}:failed"))
        .arg(0)
        .arg("COUNT")
        .arg(max);
    pipe.cmd("ZRANGE")
        .arg(format!("{key}:unsuccessful"))
        .arg(0)
        .arg(max as i64 - 1);
}

/// A job read back and its children's keys (processed, pending, failed, ignored), or
/// `None` when the job is gone. Its children are read on when it has any and the depth
/// allows.
fn read_node(visit: &Visit, reads: &[Value]) -> (Option<JobNode>, Vec<String>) {
    let Some(job) = Job::from_reply(&visit.id, &reads[0]) else {
        return (None, Vec::new());
    };
    let mut children = Vec::new();
    children.extend(scan_items(&reads[1]).iter().step_by(2).cloned());
    children.extend(scan_items(&reads[2]));
    children.extend(items(&reads[4]));
    children.extend(scan_items(&reads[3]).iter().step_by(2).cloned());
    let open = !children.is_empty() && visit.depth - 1 != 0;
    let node = JobNode {
        job,
        queue_name: visit.queue_name.clone(),
        prefix: visit.prefix.clone(),
        children: open.then(Vec::new),
    };
    (Some(node), children)
}

fn items(reply: &Value) -> Vec<String> {
    match reply {
        Value::Array(items) => items.iter().filter_map(value_string).collect(),
        _ => Vec::new(),
    }
}

/// The items of a SCAN-style reply (`[cursor, items]`).
fn scan_items(reply: &Value) -> Vec<String> {
    match reply {
        Value::Array(parts) if parts.len() == 2 => items(&parts[1]),
        _ => Vec::new(),
    }
}

/// Hangs every node under its parent, in reading order; returns the root.
fn assemble(mut nodes: Vec<Option<JobNode>>, visits: &[Visit]) -> Option<JobNode> {
    let parents: Vec<Option<usize>> = visits.iter().map(|v| v.parent).collect();
    hang_children(&mut nodes, &parents);
    nodes.into_iter().next().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_node_keys_as_bullmq() {
        let own = |a: &str, b: &str, c: &str| (a.to_string(), b.to_string(), c.to_string());
        assert_eq!(parse_node_key("bull:q:1"), own("bull", "q", "1"));
        assert_eq!(parse_node_key("{x}:bull:q:1"), own("{x}:bull", "q", "1"));
        assert_eq!(parse_node_key("q:1"), own("q", "1", ""));
    }
}
