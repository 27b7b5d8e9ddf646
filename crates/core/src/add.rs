//! The add script's arguments and answers: how prepared jobs travel to Redis and what
//! comes back for each (the id it is stored under, or BullMQ's refusal).

use redis::Value;

use crate::error::{Error, Result};
use crate::job::{value_int, value_string, Job};
use crate::options::NewJob;
use crate::queue_base::QueueCore;
use crate::retry::Retry;
use crate::scripts::{self, ScriptCall};

/// How many of the latest counter values an add whose reply was lost is looked for among.
const FIND_WINDOW: usize = 10_000;

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

    /// Stores a batch of prepared jobs in one script call (sent again under the retry
    /// policy after a transient error); answers each job's id or the error that refused
    /// it.
    pub async fn add_jobs(&self, jobs: &[&NewJob]) -> Result<Vec<Result<String>>> {
        let sent = self.conn.invoke(&self.add_call(jobs.iter().copied())).await;
        let answers = match sent.and_then(add_answers) {
            Err(err) if err.is_transient() => self.add_again(jobs, err).await?,
            other => other?,
        };
        Ok(answers
            .into_iter()
            .zip(jobs)
            .map(|(answer, job)| answer.map_err(|code| add_refused(code, job)))
            .collect())
    }

    /// Stores `jobs` after their add call failed with the transient `err`: sends the call
    /// again once Redis is ready, as long as the connection options let a request wait.
    /// A call whose reply was lost may have been stored: it is looked for first, so that
    /// it is not stored twice.
    pub(crate) async fn add_again(&self, jobs: &[&NewJob], err: Error) -> Result<Vec<AddAnswer>> {
        let conn = &self.conn;
        let mut retry = Retry::new(conn.patience());
        let mut maybe_stored = !err.never_ran();
        let mut err = err;
        loop {
            conn.outages.report(&err);
            retry.wait(conn, err).await?;
            let attempt = async {
                if maybe_stored {
                    if let Some(answers) = self.find_added(jobs).await? {
                        return Ok(answers);
                    }
                }
                add_answers(conn.invoke(&self.add_call(jobs.iter().copied())).await?)
            };
            match attempt.await {
                Ok(answers) => {
                    conn.outages.recovered();
                    return Ok(answers);
                }
                Err(e) => {
                    maybe_stored |= !e.never_ran();
                    err = e;
                }
            }
        }
    }

    /// The answers of an add call of `jobs` that was stored, or `None` when it was not
    /// (or cannot be told: jobs with a parent or deduplication take counter values in
    /// ways the lookup does not follow, and a batch of custom ids is safe to send again).
    async fn find_added(&self, jobs: &[&NewJob]) -> Result<Option<Vec<AddAnswer>>> {
        let plain = jobs.iter().all(|j| j.dedup.is_none() && j.parent.is_none());
        if !plain || jobs.iter().all(|j| j.id.is_some()) {
            return Ok(None);
        }
        let mut call = ScriptCall::new(&scripts::FIND_ADDED);
        call.key(&self.keys.id)
            .arg(&self.keys.base)
            .arg(FIND_WINDOW + jobs.len());
        for job in jobs {
            call.arg(job.id.as_deref().unwrap_or(""))
                .arg(&job.name)
                .arg(job.timestamp)
                .arg(&job.data);
        }
        let first = value_int(&self.conn.invoke(&call).await?).unwrap_or(0);
        if first <= 0 {
            return Ok(None);
        }
        let ids = jobs
            .iter()
            .zip(first..)
            .map(|(job, n)| Ok(job.id.clone().unwrap_or_else(|| n.to_string())));
        Ok(Some(ids.collect()))
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
