//! The add script's arguments and answers: how prepared jobs travel to Redis and what
//! comes back for each (the id it is stored under, or BullMQ's refusal).

use redis::Value;

use crate::error::{Error, Result};
use crate::job::{value_int, value_string, Job};
use crate::options::NewJob;
use crate::queue::QueueCore;
use crate::scripts::{self, ScriptCall};

/// Pushes one job's arguments, in the layout the add scripts read (see add.lua).
pub(crate) fn push_job_args(call: &mut ScriptCall, id: &str, job: &NewJob) {
    call.arg(id)
        .arg(&job.name)
        .arg(&job.data)
        .arg(&job.opts)
        .arg(job.timestamp)
        .arg(job.delay)
        .arg(job.priority)
        .arg(if job.lifo { "1" } else { "0" });
    match &job.dedup {
        Some(d) => call
            .arg(&d.id)
            .arg(d.ttl.map(|t| t.to_string()).unwrap_or_default())
            .arg(d.mode()),
        None => call.arg("").arg("").arg(""),
    };
    match &job.parent {
        Some(p) => call.arg(&p.key).arg(&p.json),
        None => call.arg("").arg(""),
    };
}

/// What an add script answered for one job: the id it is stored under (or the id that
/// deduplicated it), or BullMQ's negative code.
pub(crate) type AddAnswer = std::result::Result<String, i64>;

/// What an add script answered for each job.
pub(crate) fn add_answers(reply: Value) -> Result<Vec<AddAnswer>> {
    let Value::Array(items) = reply else {
        return Err(Error::Redis("unexpected reply from the add script".into()));
    };
    items
        .iter()
        .map(|item| match (value_int(item), item) {
            (Some(code), Value::Int(_)) => Ok(Err(code)),
            _ => value_string(item)
                .map(Ok)
                .ok_or_else(|| Error::Redis("unexpected reply from the add script".into())),
        })
        .collect()
}

/// BullMQ's error for an add the script refused: its parent is missing (-5), or the job
/// exists and belongs to another parent (-7).
pub(crate) fn add_refused(code: i64, job: &NewJob) -> Error {
    let parent = job.parent.as_ref().map_or("", |p| p.key.as_str());
    Error::script(code, parent, "addJob", "")
}

impl QueueCore {
    /// The script call that stores a batch of prepared jobs.
    pub fn add_call<'a>(&self, jobs: impl ExactSizeIterator<Item = &'a NewJob>) -> ScriptCall {
        let k = &self.keys;
        let mut call = ScriptCall::new(&scripts::ADD_JOBS);
        call.key(&k.wait)
            .key(&k.active)
            .key(&k.prioritized)
            .key(&k.pc)
            .key(&k.delayed)
            .key(&k.events)
            .key(&k.meta)
            .key(&k.marker)
            .key(&k.id)
            .arg(&k.base)
            .arg(jobs.len());
        for job in jobs {
            push_job_args(&mut call, job.id.as_deref().unwrap_or(""), job);
        }
        call
    }

    /// Stores a batch of prepared jobs in one script call; answers each job's id or the
    /// error that refused it.
    pub async fn add_jobs(&self, jobs: &[&NewJob]) -> Result<Vec<Result<String>>> {
        let reply = self
            .conn
            .invoke(&self.add_call(jobs.iter().copied()))
            .await?;
        Ok(add_answers(reply)?
            .into_iter()
            .zip(jobs)
            .map(|(answer, job)| answer.map_err(|code| add_refused(code, job)))
            .collect())
    }
}

/// The job an add stored under `id`, as the producer knows it without reading it back.
pub(crate) fn stored_job(id: String, job: NewJob) -> Job {
    let (parent_key, parent) = job.parent.map(|p| (p.key, p.json)).unzip();
    Job {
        id,
        name: job.name,
        data: job.data,
        opts: job.opts,
        timestamp: job.timestamp,
        delay: job.delay,
        priority: job.priority,
        deduplication_id: job.dedup.map(|d| d.id),
        parent_key,
        parent,
        ..Job::default()
    }
}
