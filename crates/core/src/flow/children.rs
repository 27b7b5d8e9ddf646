//! A parent's view of its children and what a job can do about them: read the children
//! by how they stand, wait for them, detach from a parent, remove the pending ones
//! (BullMQ's `Job` methods of the same names, and `Queue.getDependencies`).

use redis::Value;

use crate::error::{Error, Result};
use crate::job::{value_int, value_string, Job};
use crate::parent::split_job_key;
use crate::queue::Queue;
use crate::queue_base::QueueCore;
use crate::scripts;

/// Where to start reading one dependency list and about how many entries to read
/// (BullMQ's `{ cursor, count }`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub cursor: u64,
    pub count: u64,
}

impl Default for Page {
    fn default() -> Self {
        Page {
            cursor: 0,
            count: 20,
        }
    }
}

/// Which dependency lists `get_dependencies` reads, page by page; when none is asked
/// for, all four are read whole.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DependenciesRequest {
    pub processed: Option<Page>,
    pub unprocessed: Option<Page>,
    pub failed: Option<Page>,
    pub ignored: Option<Page>,
}

impl DependenciesRequest {
    fn is_whole(&self) -> bool {
        *self == DependenciesRequest::default()
    }
}

/// A job's children by how they stand, as child keys: completed ones with their return
/// values (JSON text), pending ones, failures that failed the job, failures it ignored
/// (with their reasons). A list not read is `None`; a list read page by page comes with
/// the cursor its next page starts at.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dependencies {
    pub processed: Option<Vec<(String, String)>>,
    pub next_processed_cursor: Option<u64>,
    pub unprocessed: Option<Vec<String>>,
    pub next_unprocessed_cursor: Option<u64>,
    pub failed: Option<Vec<String>>,
    pub next_failed_cursor: Option<u64>,
    pub ignored: Option<Vec<(String, String)>>,
    pub next_ignored_cursor: Option<u64>,
}

/// The kinds of children `get_dependencies_count` counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DependencyKind {
    Processed,
    Unprocessed,
    Ignored,
    Failed,
}

impl DependencyKind {
    /// Parses BullMQ's names (`processed`, `unprocessed`, `ignored`, `failed`).
    pub fn parse(name: &str) -> Result<DependencyKind> {
        Ok(match name {
            "processed" => DependencyKind::Processed,
            "unprocessed" => DependencyKind::Unprocessed,
            "ignored" => DependencyKind::Ignored,
            "failed" => DependencyKind::Failed,
            other => {
                return Err(Error::InvalidArgument(format!(
                    "Unknown dependency type {other}; the types are processed, unprocessed, \
                     ignored and failed"
                )))
            }
        })
    }
}

/// A page of a parent's children (BullMQ's `Queue.getDependencies`): each child's key
/// (with its return value for processed children), the children's jobs, and how many
/// there are in all.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChildrenPage {
    pub items: Vec<(String, Option<String>)>,
    pub jobs: Vec<Job>,
    pub total: i64,
}

/// The keys of a job's dependency lists.
struct DependencyKeys {
    processed: String,
    unprocessed: String,
    ignored: String,
    failed: String,
}

impl DependencyKeys {
    fn of(queue: &Queue, id: &str) -> DependencyKeys {
        let job = queue.keys().job(id);
        DependencyKeys {
            processed: format!("{job}:processed"),
            unprocessed: format!("{job}:dependencies"),
            ignored: format!("{job}:failed"),
            failed: format!("{job}:unsuccessful"),
        }
    }
}

impl Queue {
    /// Reads a job's children by how they stand (BullMQ's `job.getDependencies`).
    pub async fn get_dependencies(
        &self,
        id: &str,
        req: DependenciesRequest,
    ) -> Result<Dependencies> {
        let keys = DependencyKeys::of(self, id);
        if req.is_whole() {
            return self.whole_dependencies(&keys).await;
        }
        let mut pipe = redis::pipe();
        let scan = |pipe: &mut redis::Pipeline, cmd: &str, key: &str, page: Page| {
            pipe.cmd(cmd)
                .arg(key)
                .arg(page.cursor)
                .arg("COUNT")
                .arg(page.count);
        };
        let asked = [req.processed, req.unprocessed, req.ignored, req.failed];
        if let Some(page) = req.processed {
            scan(&mut pipe, "HSCAN", &keys.processed, page);
        }
        if let Some(page) = req.unprocessed {
            scan(&mut pipe, "SSCAN", &keys.unprocessed, page);
        }
        if let Some(page) = req.ignored {
            scan(&mut pipe, "HSCAN", &keys.ignored, page);
        }
        if let Some(page) = req.failed {
            let last = (page.count as i64) - 1;
            pipe.cmd("ZRANGE")
                .arg(&keys.failed)
                .arg(page.cursor)
                .arg(last);
        }
        let replies: Vec<Value> = self.core().pipeline(&pipe).await?;
        let mut replies = replies.into_iter();
        let mut out = Dependencies::default();
        if asked[0].is_some() {
            let (cursor, items) = scanned(replies.next());
            out.processed = Some(pairs(&items));
            out.next_processed_cursor = Some(cursor);
        }
        if asked[1].is_some() {
            let (cursor, items) = scanned(replies.next());
            out.unprocessed = Some(strings(&items));
            out.next_unprocessed_cursor = Some(cursor);
        }
        if asked[2].is_some() {
            let (cursor, items) = scanned(replies.next());
            out.ignored = Some(pairs(&items));
            out.next_ignored_cursor = Some(cursor);
        }
        if let Some(page) = req.failed {
            out.failed = Some(strings(&list(replies.next())));
            out.next_failed_cursor = Some(page.cursor + page.count);
        }
        Ok(out)
    }

    async fn whole_dependencies(&self, keys: &DependencyKeys) -> Result<Dependencies> {
        let mut pipe = redis::pipe();
        pipe.cmd("HGETALL").arg(&keys.processed);
        pipe.cmd("SMEMBERS").arg(&keys.unprocessed);
        pipe.cmd("HGETALL").arg(&keys.ignored);
        pipe.cmd("ZRANGE").arg(&keys.failed).arg(0).arg(-1);
        let replies: Vec<Value> = self.core().pipeline(&pipe).await?;
        let mut replies = replies.into_iter();
        Ok(Dependencies {
            processed: Some(pairs(&list(replies.next()))),
            unprocessed: Some(strings(&list(replies.next()))),
            ignored: Some(pairs(&list(replies.next()))),
            failed: Some(strings(&list(replies.next()))),
            ..Dependencies::default()
        })
    }

    /// Counts a job's children of each kind asked, in that order.
    pub async fn get_dependencies_count(
        &self,
        id: &str,
        kinds: &[DependencyKind],
    ) -> Result<Vec<i64>> {
        let keys = DependencyKeys::of(self, id);
        let mut pipe = redis::pipe();
        for kind in kinds {
            match kind {
                DependencyKind::Processed => pipe.cmd("HLEN").arg(&keys.processed),
                DependencyKind::Unprocessed => pipe.cmd("SCARD").arg(&keys.unprocessed),
                DependencyKind::Ignored => pipe.cmd("HLEN").arg(&keys.ignored),
                DependencyKind::Failed => pipe.cmd("ZCARD").arg(&keys.failed),
            };
        }
        if kinds.is_empty() {
            return Ok(Vec::new());
        }
        self.core().pipeline(&pipe).await
    }

    /// The return values (JSON text) of a job's completed children, by child key.
    pub async fn get_children_values(&self, id: &str) -> Result<Vec<(String, String)>> {
        let key = DependencyKeys::of(self, id).processed;
        let reply: Value = self.core().query(redis::cmd("HGETALL").arg(key)).await?;
        Ok(pairs(&list(Some(reply))))
    }

    /// The reasons of the child failures a job ignored (ignoreDependencyOnFailure,
    /// continueParentOnFailure), by child key.
    pub async fn get_ignored_children_failures(&self, id: &str) -> Result<Vec<(String, String)>> {
        let key = DependencyKeys::of(self, id).ignored;
        let reply: Value = self.core().query(redis::cmd("HGETALL").arg(key)).await?;
        Ok(pairs(&list(Some(reply))))
    }

    /// A page (`start` to `end`, inclusive; -1 for the end) of a parent's processed
    /// children, or with `processed` false of its pending ones, with their jobs.
    pub async fn get_children_page(
        &self,
        parent_id: &str,
        processed: bool,
        start: i64,
        end: i64,
    ) -> Result<ChildrenPage> {
        let keys = DependencyKeys::of(self, parent_id);
        let key = if processed {
            keys.processed
        } else {
            keys.unprocessed
        };
        let mut inv = scripts::GET_CHILDREN_PAGE.prepare_invoke();
        inv.key(key).arg(start.max(0)).arg(end);
        let reply: Vec<Value> = self.core().invoke(&inv).await?;
        let total = reply.first().and_then(value_int).unwrap_or(0);
        let is_hash = reply.get(1).and_then(value_int) == Some(1);
        let items = list(reply.get(2).cloned());
        let jobs = list(reply.get(3).cloned());
        let step = if is_hash { 2 } else { 1 };
        let items: Vec<(String, Option<String>)> = items
            .chunks(step)
            .filter_map(|c| Some((value_string(&c[0])?, c.get(1).and_then(value_string))))
            .collect();
        let jobs = items
            .iter()
            .zip(jobs.iter())
            .filter_map(|((key, _), hash)| Job::from_reply(split_job_key(key).0, hash))
            .collect();
        Ok(ChildrenPage { items, jobs, total })
    }

    /// Parks an active job held with `token` in waiting-children while it has pending
    /// children, or until `child_key`'s job is done; false (the job stays active) when
    /// there is nothing to wait for.
    pub async fn move_to_waiting_children(
        &self,
        id: &str,
        token: &str,
        child_key: Option<&str>,
    ) -> Result<bool> {
        let k = self.keys();
        let mut inv = scripts::MOVE_TO_WAITING_CHILDREN.prepare_invoke();
        inv.key(&k.active)
            .key(&k.waiting_children)
            .key(&k.stalled)
            .key(&k.events)
            .arg(k.job(id))
            .arg(id)
            .arg(token)
            .arg(child_key.unwrap_or(""))
            .arg(self.core().clock.now());
        let code: i64 = self.core().invoke(&inv).await?;
        QueueCore::check_code(code, id, "moveToWaitingChildren", "active").map(|c| c == 0)
    }

    /// Detaches a job from its parent (at `parent_key`); false when it was not one of
    /// the parent's pending children.
    pub async fn remove_child_dependency(&self, id: &str, parent_key: &str) -> Result<bool> {
        let mut inv = scripts::REMOVE_CHILD_DEPENDENCY.prepare_invoke();
        inv.arg(self.keys().job(id)).arg(parent_key);
        let code: i64 = self.core().invoke(&inv).await?;
        match code {
            -5 => Err(Error::script(code, parent_key, "removeChildDependency", "")),
            code => QueueCore::check_code(code, id, "removeChildDependency", "").map(|c| c == 0),
        }
    }

    /// Removes a job's pending children and their pending descendants, sparing locked
    /// and failed ones.
    pub async fn remove_unprocessed_children(&self, id: &str) -> Result<()> {
        let mut inv = scripts::REMOVE_UNPROCESSED_CHILDREN.prepare_invoke();
        inv.arg(self.keys().job(id));
        self.core().invoke::<Value>(&inv).await.map(|_| ())
    }
}

/// The items of a reply that is a list (an empty list for anything else).
fn list(reply: Option<Value>) -> Vec<Value> {
    match reply {
        Some(Value::Array(items)) => items,
        _ => Vec::new(),
    }
}

/// A SCAN-style reply: the next cursor and the items.
fn scanned(reply: Option<Value>) -> (u64, Vec<Value>) {
    let mut parts = list(reply).into_iter();
    let cursor = parts
        .next()
        .as_ref()
        .and_then(value_int)
        .unwrap_or(0)
        .max(0) as u64;
    (cursor, list(parts.next()))
}

fn strings(items: &[Value]) -> Vec<String> {
    items.iter().filter_map(value_string).collect()
}

/// A flat `[field, value, ...]` list as pairs.
fn pairs(items: &[Value]) -> Vec<(String, String)> {
    items
        .chunks_exact(2)
        .filter_map(|c| Some((value_string(&c[0])?, value_string(&c[1])?)))
        .collect()
}
