//! Job schedulers (BullMQ's `JobScheduler`): job factories stored in the queue's `repeat`
//! sorted set (id scored by its next fire time) and `repeat:<id>` hashes, each with
//! exactly one pending iteration `repeat:<id>:<ms>`. Whichever worker takes an iteration
//! adds the next one (see [`iteration`]).

pub mod iteration;
pub mod legacy;
pub mod repeat;

use std::collections::HashMap;

use redis::Value;
use serde_json::{Map, Value as Json};

use crate::error::{Error, Result, ScriptCode};
use crate::job::{value_int, value_string, Job};
use crate::queue::Queue;
use crate::queue_base::QueueCore;
use crate::scripts::{self, ScriptCall};
pub use repeat::{Pattern, RepeatOptions, Schedule};

/// What `upsertJobScheduler` stores as the template of every iteration.
#[derive(Debug, Clone)]
pub struct Template {
    /// The iterations' name (BullMQ defaults it to the scheduler id).
    pub name: String,
    /// The iterations' data, as JSON text.
    pub data: String,
    /// The iterations' options (merged over the queue's defaults).
    pub opts: Json,
}

/// The keys the iteration scripts take (see `includes/iteration.lua`).
pub(crate) fn iteration_call(core: &QueueCore, lua: &'static scripts::Lua) -> ScriptCall {
    let k = &core.keys;
    let mut call = ScriptCall::new(lua);
    for key in [
        &k.repeat,
        &k.delayed,
        &k.wait,
        &k.meta,
        &k.prioritized,
        &k.marker,
        &k.id,
        &k.events,
        &k.pc,
        &k.active,
    ] {
        call.key(key);
    }
    call.arg(&k.base);
    call
}

/// Checks a scheduler id before anything reaches Redis.
fn check_id(id: &str) -> Result<()> {
    if id.is_empty() {
        return Err(Error::InvalidArgument(
            "jobSchedulerId must be a non-empty string".into(),
        ));
    }
    Ok(())
}

impl Queue {
    /// Creates or replaces job scheduler `id` and adds its next iteration; `None` when the
    /// options allow no iteration (limit reached, end date passed).
    pub async fn upsert_job_scheduler(
        &self,
        id: &str,
        repeat: &Json,
        template: Template,
    ) -> Result<Option<Job>> {
        let now = self.clock().now();
        self.upsert_job_scheduler_at(id, repeat, template, now)
            .await
    }

    /// [`Queue::upsert_job_scheduler`] at `now` (ms), the host's time of the call.
    pub async fn upsert_job_scheduler_at(
        &self,
        id: &str,
        repeat: &Json,
        template: Template,
        now: i64,
    ) -> Result<Option<Job>> {
        check_id(id)?;
        let repeat = RepeatOptions::from_json(repeat)?;
        if repeat.end_date.is_some_and(|end| end < now) {
            return Err(Error::InvalidArgument(
                "End date must be greater than current timestamp".into(),
            ));
        }
        let (template_opts, priority) = self.template_options(&template)?;
        if repeat.limit.is_some_and(|limit| limit < 1) {
            return Ok(None);
        }
        let next = match repeat.schedule {
            Schedule::Every(_) => None,
            Schedule::Pattern(_) => match repeat.pattern_next(now) {
                Some(n) => Some(n),
                None => return Ok(None),
            },
        };
        let opts = first_iteration_opts(template_opts.clone(), &repeat, id, now, next);
        let template_json = match template_opts.is_empty() {
            true => String::new(),
            false => Json::Object(template_opts).to_string(),
        };
        let core = self.core();
        let mut call = iteration_call(core, &scripts::UPSERT_JOB_SCHEDULER);
        call.arg(id)
            .arg(now)
            .arg(&template.name)
            .arg(next.map(|n| n.to_string()).unwrap_or_default())
            .arg(repeat.every().map(|n| n.to_string()).unwrap_or_default())
            .arg(repeat.offset.map(|n| n.to_string()).unwrap_or_default())
            .arg(repeat.start_date.map(|n| n.to_string()).unwrap_or_default())
            .arg(&template.data)
            .arg(&template_json)
            .arg(&opts);
        push_scheduler_fields(&mut call, &repeat);
        let reply = core.conn.invoke(&call).await?;
        let (job_id, delay) = upserted(reply, id)?;
        Ok(Some(Job {
            id: job_id.clone(),
            name: template.name,
            data: template.data,
            opts: with_id_and_delay(&opts, &job_id, delay),
            timestamp: now,
            delay,
            priority,
            repeat_job_key: Some(id.to_string()),
            ..Job::default()
        }))
    }

    /// The template's options checked and stored as BullMQ stores them (short keys, as
    /// given: no `attempts` default, a numeric backoff kept a number), and its priority.
    fn template_options(&self, template: &Template) -> Result<(Map<String, Json>, i64)> {
        let prepared = self.prepare(&template.name, &template.data, &template.opts)?;
        let mut stored: Map<String, Json> =
            serde_json::from_str(&prepared.opts).unwrap_or_default();
        let defaults = &self.options().default_job_options;
        let given = |key: &str| {
            [&template.opts, defaults]
                .into_iter()
                .find_map(|o| o.get(key).filter(|v| !v.is_null()))
        };
        if given("attempts").is_none() {
            stored.remove("attempts");
        }
        if let Some(raw) = given("backoff") {
            stored.insert("backoff".into(), raw.clone());
        }
        Ok((stored, prepared.priority))
    }

    /// Job scheduler `id` as BullMQ's `getJobScheduler` shows it, or `None` (BullMQ's
    /// legacy error for an id shaped like a v5 repeatable job key that is no scheduler).
    pub async fn get_job_scheduler(&self, id: &str) -> Result<Option<Json>> {
        let k = &self.core().keys;
        let mut pipe = redis::pipe();
        pipe.atomic()
            .zscore(&k.repeat, id)
            .hgetall(format!("{}:{id}", k.repeat));
        let (next, fields): (Option<f64>, HashMap<String, String>) =
            self.core().pipeline(&pipe).await?;
        let found = next.and_then(|n| scheduler_json(id, &fields, n as i64));
        if found.is_none() && legacy::has_legacy_key_shape(id) {
            return Err(Error::InvalidArgument(legacy::legacy_message(id)));
        }
        Ok(found)
    }

    /// Job schedulers ranked by next fire time (BullMQ's `getJobSchedulers`: `asc` false
    /// lists the latest first); schedulers whose hash is gone are removed and skipped, and
    /// a v5 repeatable job among them is BullMQ's legacy error.
    pub async fn get_job_schedulers(&self, start: i64, end: i64, asc: bool) -> Result<Vec<Json>> {
        let k = &self.core().keys;
        let cmd = match asc {
            true => redis::cmd("ZRANGE"),
            false => redis::cmd("ZREVRANGE"),
        }
        .arg(&k.repeat)
        .arg(start)
        .arg(end)
        .arg("WITHSCORES")
        .to_owned();
        let ranked: Vec<(String, f64)> = self.core().query(&cmd).await?;
        if ranked.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for (id, _) in &ranked {
            pipe.hgetall(format!("{}:{id}", k.repeat));
        }
        let hashes: Vec<HashMap<String, String>> = self.core().pipeline(&pipe).await?;
        let mut out = Vec::with_capacity(ranked.len());
        for ((id, next), fields) in ranked.iter().zip(hashes) {
            match scheduler_json(id, &fields, *next as i64) {
                Some(json) => out.push(json),
                None if legacy::has_legacy_key_shape(id) => {
                    return Err(Error::InvalidArgument(legacy::legacy_message(id)));
                }
                None => {
                    self.remove_job_scheduler(id).await?;
                }
            }
        }
        Ok(out)
    }

    /// How many job schedulers the queue has.
    pub async fn get_job_schedulers_count(&self) -> Result<i64> {
        let cmd = redis::cmd("ZCARD").arg(&self.core().keys.repeat).to_owned();
        self.core().query(&cmd).await
    }

    /// Removes job scheduler `id` and its delayed iteration; true when it existed.
    pub async fn remove_job_scheduler(&self, id: &str) -> Result<bool> {
        let core = self.core();
        let mut call = ScriptCall::new(&scripts::REMOVE_JOB_SCHEDULER);
        call.key(&core.keys.repeat)
            .key(&core.keys.delayed)
            .key(&core.keys.events)
            .arg(id)
            .arg(&core.keys.base);
        let reply = core.conn.invoke(&call).await?;
        Ok(value_int(&reply) == Some(1))
    }
}

/// The first iteration's options: the template's, with `repeat` (count 1), the time of
/// the upsert, the scheduler id and, for a pattern, the fire time as `prevMillis`.
fn first_iteration_opts(
    mut opts: Map<String, Json>,
    repeat: &RepeatOptions,
    id: &str,
    now: i64,
    next: Option<i64>,
) -> String {
    opts.insert("repeat".into(), Json::Object(repeat.stored(1)));
    opts.insert("timestamp".into(), Json::from(now));
    opts.insert("repeatJobKey".into(), Json::from(id));
    if let Some(n) = next {
        opts.insert("prevMillis".into(), Json::from(n));
    }
    Json::Object(opts).to_string()
}

/// The optional scheduler hash fields, as name/value pairs.
fn push_scheduler_fields(call: &mut ScriptCall, repeat: &RepeatOptions) {
    let mut pair = |name: &str, value: Option<String>| {
        if let Some(v) = value {
            call.arg(name).arg(v);
        }
    };
    pair("tz", repeat.tz.clone());
    pair("limit", repeat.limit.map(|n| n.to_string()));
    if let Schedule::Pattern(p) = &repeat.schedule {
        pair("pattern", Some(p.text.clone()));
    }
    pair("startDate", repeat.start_date.map(|n| n.to_string()));
    pair("endDate", repeat.end_date.map(|n| n.to_string()));
}

/// Reads the upsert script's `{id, delay}` or its refusal.
fn upserted(reply: Value, id: &str) -> Result<(String, i64)> {
    if let Some(code) = value_int(&reply) {
        return Err(Error::Script {
            code: ScriptCode::from_reply(code),
            job_id: id.to_string(),
            command: "addJobScheduler".into(),
            state: "",
        });
    }
    let Value::Array(items) = reply else {
        return Err(Error::Redis(
            "unexpected reply from the upsert script".into(),
        ));
    };
    match (
        items.first().and_then(value_string),
        items.get(1).and_then(value_int),
    ) {
        (Some(job_id), Some(delay)) => Ok((job_id, delay)),
        _ => Err(Error::Redis(
            "unexpected reply from the upsert script".into(),
        )),
    }
}

/// The stored options JSON with the `jobId` and `delay` the script gave the iteration.
fn with_id_and_delay(opts: &str, id: &str, delay: i64) -> String {
    let mut map: Map<String, Json> = serde_json::from_str(opts).unwrap_or_default();
    map.insert("jobId".into(), Json::from(id));
    map.insert("delay".into(), Json::from(delay));
    Json::Object(map).to_string()
}

/// BullMQ's `JobSchedulerJson` for a scheduler hash; `None` when the hash is empty.
fn scheduler_json(id: &str, f: &HashMap<String, String>, next: i64) -> Option<Json> {
    if f.is_empty() {
        return None;
    }
    let mut out = Map::new();
    out.insert("key".into(), Json::from(id));
    out.insert(
        "name".into(),
        f.get("name").cloned().map_or(Json::Null, Json::from),
    );
    out.insert("next".into(), Json::from(next));
    let int = |name: &str| {
        f.get(name)
            .and_then(|v| v.parse::<f64>().ok())
            .map(|n| n as i64)
    };
    for (field, key) in [
        ("ic", "iterationCount"),
        ("limit", "limit"),
        ("startDate", "startDate"),
        ("endDate", "endDate"),
    ] {
        if let Some(n) = int(field) {
            out.insert(key.into(), Json::from(n));
        }
    }
    for key in ["tz", "pattern"] {
        if let Some(v) = f.get(key).filter(|v| !v.is_empty()) {
            out.insert(key.into(), Json::from(v.clone()));
        }
    }
    for key in ["every", "offset"] {
        if let Some(n) = int(key) {
            out.insert(key.into(), Json::from(n));
        }
    }
    let mut template = Map::new();
    if let Some(data) = f.get("data").filter(|d| !d.is_empty()) {
        template.insert(
            "data".into(),
            serde_json::from_str(data).unwrap_or(Json::Null),
        );
    }
    if let Some(opts) = f.get("opts").filter(|d| !d.is_empty()) {
        let decoded = crate::options::decode_stored_opts(opts);
        template.insert(
            "opts".into(),
            serde_json::from_str(&decoded).unwrap_or(Json::Null),
        );
    }
    if !template.is_empty() {
        out.insert("template".into(), Json::Object(template));
    }
    Some(Json::Object(out))
}
