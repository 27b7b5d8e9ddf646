//! Job options: validating what a producer passes, encoding it the way BullMQ stores it,
//! and reading back the options the engine acts on.

use serde_json::{Map, Value};

use crate::dedup::Deduplication;
use crate::error::{Error, Result};
use crate::parent::ParentLink;
use crate::truthy::js_truthy;

/// The highest priority BullMQ accepts (2^21 - 1).
pub const PRIORITY_LIMIT: i64 = 2_097_151;

/// Long option names and the short keys BullMQ stores them under.
const SHORT_KEYS: [(&str, &str); 6] = [
    ("deduplication", "de"),
    ("failParentOnFailure", "fpof"),
    ("continueParentOnFailure", "cpof"),
    ("ignoreDependencyOnFailure", "idof"),
    ("removeDependencyOnFailure", "rdof"),
    ("keepLogs", "kl"),
];

/// What an add with `repeat` is told: BullMQ 6 dropped the option (its `add` would store a
/// plain job that never repeats); schedulers replace it.
const REPEAT_REMOVED: &str = "The repeat job option was removed in BullMQ 6: \
use queue.upsertJobScheduler(id, repeatOpts, template) instead";

/// How a failed attempt's retry is delayed.
#[derive(Debug, Clone, PartialEq)]
pub enum Backoff {
    /// The same delay before every retry.
    Fixed { delay: i64, jitter: f64 },
    /// `delay × 2^(attempt-1)` before each retry.
    Exponential { delay: i64, jitter: f64 },
    /// A strategy the worker supplies, by name.
    Custom(String),
}

impl Backoff {
    /// Reads BullMQ's stored backoff (`{type, delay?, jitter?}` or a plain number).
    pub fn from_json(v: &Value) -> Option<Backoff> {
        if let Some(n) = v.as_f64() {
            return Some(Backoff::Fixed {
                delay: n as i64,
                jitter: 0.0,
            });
        }
        let kind = v.get("type")?.as_str()?;
        let delay = v.get("delay").and_then(Value::as_f64).unwrap_or(0.0) as i64;
        let jitter = v.get("jitter").and_then(Value::as_f64).unwrap_or(0.0);
        Some(match kind {
            "fixed" => Backoff::Fixed { delay, jitter },
            "exponential" => Backoff::Exponential { delay, jitter },
            other => Backoff::Custom(other.to_string()),
        })
    }

    /// The delay (ms) before retrying after failed attempt number `attempt` (from 1);
    /// `None` for a custom strategy, which the worker computes.
    pub fn delay_for(&self, attempt: i64) -> Option<i64> {
        let (max, jitter) = match self {
            Backoff::Fixed { delay, jitter } => (*delay as f64, *jitter),
            Backoff::Exponential { delay, jitter } => {
                let exp = (attempt - 1).clamp(0, 62) as i32;
                ((2f64.powi(exp) * *delay as f64).round(), *jitter)
            }
            Backoff::Custom(_) => return None,
        };
        if jitter > 0.0 {
            let r: f64 = rand::random();
            return Some((r * max * jitter + max * (1.0 - jitter)).floor() as i64);
        }
        Some(max as i64)
    }
}

/// How many finished jobs to keep (`removeOnComplete` / `removeOnFail`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KeepJobs {
    /// How many to keep: -1 keeps all, 0 removes the job at once.
    pub count: i64,
    /// Remove finished jobs older than this many seconds.
    pub age: Option<f64>,
    /// At most this many removals by age per finish.
    pub limit: Option<i64>,
}

impl KeepJobs {
    /// Keep every finished job.
    pub const ALL: KeepJobs = KeepJobs {
        count: -1,
        age: None,
        limit: None,
    };

    /// Reads BullMQ's `removeOnComplete`/`removeOnFail` value; `None` when unset.
    pub fn from_json(v: &Value) -> Option<KeepJobs> {
        match v {
            Value::Bool(true) => Some(KeepJobs {
                count: 0,
                ..KeepJobs::ALL
            }),
            Value::Bool(false) => Some(KeepJobs::ALL),
            Value::Number(n) => Some(KeepJobs {
                count: n.as_f64().unwrap_or(-1.0) as i64,
                ..KeepJobs::ALL
            }),
            Value::Object(o) => Some(KeepJobs {
                count: o
                    .get("count")
                    .and_then(Value::as_f64)
                    .map(|c| c as i64)
                    .unwrap_or(-1),
                age: o.get("age").and_then(Value::as_f64),
                limit: o.get("limit").and_then(Value::as_f64).map(|l| l as i64),
            }),
            _ => None,
        }
    }
}

/// The options of a stored job that the engine acts on.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobOptions {
    pub attempts: i64,
    pub backoff: Option<Backoff>,
    pub lifo: bool,
    pub remove_on_complete: Option<KeepJobs>,
    pub remove_on_fail: Option<KeepJobs>,
    pub stack_trace_limit: Option<usize>,
    pub keep_logs: Option<i64>,
    /// How long an attempt may run, in ms (bullrush only; BullMQ ignores it).
    pub timeout: Option<u64>,
}

impl JobOptions {
    /// Reads the options from the stored JSON (short keys); unreadable input gives defaults.
    pub fn from_stored(json: &str) -> JobOptions {
        let Ok(Value::Object(o)) = serde_json::from_str::<Value>(json) else {
            return JobOptions::default();
        };
        let get = |k: &str| o.get(k).filter(|v| !v.is_null());
        JobOptions {
            attempts: get("attempts").and_then(Value::as_f64).unwrap_or(0.0) as i64,
            backoff: get("backoff").and_then(Backoff::from_json),
            lifo: get("lifo").and_then(Value::as_bool).unwrap_or(false),
            remove_on_complete: get("removeOnComplete").and_then(KeepJobs::from_json),
            remove_on_fail: get("removeOnFail").and_then(KeepJobs::from_json),
            stack_trace_limit: get("stackTraceLimit")
                .and_then(Value::as_f64)
                .map(|n| n.max(0.0) as usize),
            keep_logs: get("kl").and_then(Value::as_f64).map(|n| n as i64),
            timeout: get("timeout")
                .and_then(Value::as_f64)
                .filter(|t| *t >= 1.0)
                .map(|t| t as u64),
        }
    }
}

/// A validated job, encoded and ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    /// The custom id, if the producer chose one.
    pub id: Option<String>,
    pub name: String,
    /// The job's data as JSON text, stored verbatim.
    pub data: String,
    /// The stored options JSON, with BullMQ's short keys.
    pub opts: String,
    pub timestamp: i64,
    pub delay: i64,
    pub priority: i64,
    pub lifo: bool,
    /// The deduplication the add asks for.
    pub dedup: Option<Deduplication>,
    /// The job's parent, when it is a child.
    pub parent: Option<ParentLink>,
}

/// What a producer's options may leave open, decided by the queue.
#[derive(Debug, Clone, Copy, Default)]
pub struct AddContext {
    /// Now, in ms since the epoch.
    pub now: i64,
}

/// Validates a job before it reaches Redis and encodes its options as BullMQ stores them.
/// `opts` is the producer's options merged over the queue's defaults.
pub fn prepare_job(name: &str, data: &str, opts: &Value, ctx: AddContext) -> Result<NewJob> {
    let empty = Map::new();
    let opts = match opts {
        Value::Object(o) => o,
        Value::Null => &empty,
        _ => return Err(invalid("Job options must be an object")),
    };
    let get = |k: &str| opts.get(k).filter(|v| !v.is_null());
    let dedup = get("deduplication")
        .map(Deduplication::from_option)
        .transpose()?
        .flatten();
    if dedup.is_some() && get("parent").is_some_and(js_truthy) {
        return Err(invalid(
            "Deduplication and parent options cannot be used together",
        ));
    }
    if get("repeat").is_some() {
        return Err(invalid(REPEAT_REMOVED));
    }
    if opts.contains_key("debounce") {
        return Err(invalid(
            "Debounce option has been removed. Use deduplication option instead",
        ));
    }
    check_size(name, data, get("sizeLimit"))?;
    check_exclusive(opts)?;
    let id = get("jobId").map(job_id).transpose()?;
    let priority = priority(get("priority"))?;
    let delay = non_negative_ms(get("delay"), "Delay")?;
    check_attempts(get("attempts"))?;
    let backoff = get("backoff").map(normalise_backoff).transpose()?;
    for key in ["removeOnComplete", "removeOnFail"] {
        check_keep_jobs(key, get(key))?;
    }
    let timestamp = match get("timestamp") {
        None => ctx.now,
        Some(v) => non_negative_ms(Some(v), "timestamp")?,
    };
    let lifo = match get("lifo") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(invalid("lifo must be a boolean")),
    };
    if let Some(t) = get("timeout") {
        if !t.as_f64().is_some_and(|t| t > 0.0 && t.fract() == 0.0) {
            return Err(invalid("timeout must be a positive integer (ms)"));
        }
    }
    let parent = ParentLink::from_options(opts)?;
    let stored = encode_opts(opts, backoff);
    Ok(NewJob {
        id,
        name: name.to_string(),
        data: data.to_string(),
        opts: stored,
        timestamp,
        delay,
        priority,
        lifo,
        dedup,
        parent,
    })
}

fn invalid(msg: impl Into<String>) -> Error {
    Error::InvalidArgument(msg.into())
}

fn check_size(name: &str, data: &str, limit: Option<&Value>) -> Result<()> {
    let Some(limit) = limit.and_then(Value::as_f64).filter(|l| *l != 0.0) else {
        return Ok(());
    };
    if data.len() as f64 > limit {
        return Err(invalid(format!(
            "The size of job {name} exceeds the limit {limit} bytes"
        )));
    }
    Ok(())
}

fn check_exclusive(opts: &Map<String, Value>) -> Result<()> {
    let on: Vec<&str> = [
        "removeDependencyOnFailure",
        "failParentOnFailure",
        "continueParentOnFailure",
        "ignoreDependencyOnFailure",
    ]
    .into_iter()
    .filter(|k| opts.get(*k).is_some_and(js_truthy))
    .collect();
    if on.len() > 1 {
        return Err(invalid(format!(
            "The following options cannot be used together: {}",
            on.join(", ")
        )));
    }
    Ok(())
}

fn job_id(v: &Value) -> Result<String> {
    let id = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return Err(invalid("Custom Id must be a string")),
    };
    if id == "0" || id.starts_with("0:") {
        return Err(invalid("JobId cannot be '0' or start with '0:'"));
    }
    if id.parse::<i64>().is_ok_and(|n| n.to_string() == id) {
        return Err(invalid("Custom Id cannot be integers"));
    }
    if id.contains(':') && id.split(':').count() != 3 {
        return Err(invalid("Custom Id cannot contain :"));
    }
    Ok(id)
}

pub(crate) fn priority(v: Option<&Value>) -> Result<i64> {
    let Some(v) = v else { return Ok(0) };
    let p = v
        .as_f64()
        .ok_or_else(|| invalid(format!("Priority should be between 0 and {PRIORITY_LIMIT}")))?;
    if p.fract() != 0.0 {
        return Err(invalid("Priority should not be float"));
    }
    if !(0.0..=PRIORITY_LIMIT as f64).contains(&p) {
        return Err(invalid(format!(
            "Priority should be between 0 and {PRIORITY_LIMIT}"
        )));
    }
    Ok(p as i64)
}

fn non_negative_ms(v: Option<&Value>, what: &str) -> Result<i64> {
    let Some(v) = v else { return Ok(0) };
    match v.as_f64() {
        Some(n) if n.is_finite() && n >= 0.0 => Ok(n as i64),
        Some(_) => Err(invalid(format!("{what} cannot be negative"))),
        None => Err(invalid(format!("{what} must be a number"))),
    }
}

fn check_attempts(v: Option<&Value>) -> Result<()> {
    let Some(v) = v else { return Ok(()) };
    match v.as_f64() {
        Some(n) if n >= 1.0 && n.fract() == 0.0 => Ok(()),
        _ => Err(invalid("attempts must be an integer greater than 0")),
    }
}

fn normalise_backoff(v: &Value) -> Result<Value> {
    if let Some(n) = v.as_f64() {
        if n < 0.0 {
            return Err(invalid("Backoff delay cannot be negative"));
        }
        return Ok(serde_json::json!({ "type": "fixed", "delay": v }));
    }
    let Value::Object(o) = v else {
        return Err(invalid("backoff must be a number or an object with a type"));
    };
    if !o.get("type").is_some_and(|t| t.is_string()) {
        return Err(invalid("backoff must be a number or an object with a type"));
    }
    if let Some(d) = o.get("delay").filter(|d| !d.is_null()) {
        if !d.as_f64().is_some_and(|d| d >= 0.0) {
            return Err(invalid("Backoff delay cannot be negative"));
        }
    }
    if let Some(j) = o.get("jitter").and_then(Value::as_f64) {
        if !(0.0..=1.0).contains(&j) {
            return Err(invalid("Jitter should be between 0 and 1"));
        }
    }
    Ok(v.clone())
}

fn check_keep_jobs(key: &str, v: Option<&Value>) -> Result<()> {
    let ok = match v {
        None | Some(Value::Bool(_)) => true,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|n| n >= 0.0),
        Some(Value::Object(o)) => ["count", "age", "limit"].iter().all(|k| {
            o.get(*k)
                .is_none_or(|v| v.is_null() || v.as_f64().is_some_and(|n| n >= 0.0))
        }),
        Some(_) => false,
    };
    if ok {
        return Ok(());
    }
    Err(invalid(format!(
        "{key} must be a boolean, a non-negative number or {{ age, count }}"
    )))
}

/// Encodes merged options as BullMQ stores them: short keys, normalised backoff,
/// `attempts` defaulting to 0, nulls dropped.
fn encode_opts(opts: &Map<String, Value>, backoff: Option<Value>) -> String {
    let mut out = Map::new();
    for (key, value) in opts {
        if value.is_null() || key == "repeatJobKey" || key == "telemetry" {
            continue;
        }
        let stored = SHORT_KEYS
            .iter()
            .find(|(long, _)| long == key)
            .map_or(key.as_str(), |(_, short)| short);
        out.insert(stored.to_string(), like_cjson(value));
    }
    if let Some(Value::Object(t)) = opts.get("telemetry") {
        if let Some(m) = t.get("metadata").filter(|v| !v.is_null()) {
            out.insert("tm".into(), m.clone());
        }
        if let Some(o) = t.get("omitContext").filter(|v| !v.is_null()) {
            out.insert("omc".into(), o.clone());
        }
    }
    if let Some(b) = backoff {
        out.insert("backoff".into(), like_cjson(&b));
    }
    out.entry("attempts").or_insert(Value::from(0));
    Value::Object(out).to_string()
}

/// Mirrors what Redis' cjson does to BullMQ's options: nulls vanish, empty arrays become `{}`.
fn like_cjson(v: &Value) -> Value {
    match v {
        Value::Object(o) => Value::Object(
            o.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), like_cjson(v)))
                .collect(),
        ),
        Value::Array(a) if a.is_empty() => Value::Object(Map::new()),
        Value::Array(a) => Value::Array(a.iter().map(like_cjson).collect()),
        other => other.clone(),
    }
}

/// Spells out the short keys of stored options, the way BullMQ's `Job` shows them.
pub fn decode_stored_opts(json: &str) -> String {
    let short = |k: &str| json.contains(&format!("\"{k}\":"));
    let any_short = SHORT_KEYS.iter().any(|(_, s)| short(s)) || short("tm") || short("omc");
    if !any_short {
        return json.to_string();
    }
    let Ok(Value::Object(stored)) = serde_json::from_str::<Value>(json) else {
        return "{}".into();
    };
    let mut out = Map::new();
    let mut telemetry = Map::new();
    for (key, value) in stored {
        match key.as_str() {
            "tm" => {
                telemetry.insert("metadata".into(), value);
            }
            "omc" => {
                telemetry.insert("omitContext".into(), value);
            }
            short => {
                let long = SHORT_KEYS
                    .iter()
                    .find(|(_, s)| *s == short)
                    .map_or(short, |(long, _)| long);
                out.insert(long.to_string(), value);
            }
        }
    }
    if !telemetry.is_empty() {
        out.insert("telemetry".into(), Value::Object(telemetry));
    }
    Value::Object(out).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ctx() -> AddContext {
        AddContext { now: 1000 }
    }

    fn prepare(opts: Value) -> Result<NewJob> {
        prepare_job("n", "{}", &opts, ctx())
    }

    #[test]
    fn plain_job_stores_attempts_zero() {
        let job = prepare(json!({})).unwrap();
        assert_eq!(job.opts, r#"{"attempts":0}"#);
        assert_eq!(job.timestamp, 1000);
    }

    #[test]
    fn encodes_short_keys_and_backoff() {
        let job =
            prepare(json!({"attempts": 3, "backoff": 500, "keepLogs": 5, "jobId": "a"})).unwrap();
        let stored: Value = serde_json::from_str(&job.opts).unwrap();
        assert_eq!(
            stored,
            json!({"attempts": 3, "backoff": {"type": "fixed", "delay": 500}, "kl": 5, "jobId": "a"})
        );
        assert_eq!(job.id.as_deref(), Some("a"));
        let decoded: Value = serde_json::from_str(&decode_stored_opts(&job.opts)).unwrap();
        assert_eq!(decoded["keepLogs"], json!(5));
    }

    #[test]
    fn rejects_bad_input_with_bullmq_messages() {
        let msg = |o: Value| prepare(o).unwrap_err().to_string();
        assert_eq!(
            msg(json!({"jobId": "0"})),
            "JobId cannot be '0' or start with '0:'"
        );
        assert_eq!(msg(json!({"jobId": "12"})), "Custom Id cannot be integers");
        assert_eq!(msg(json!({"jobId": "a:b"})), "Custom Id cannot contain :");
        assert_eq!(
            msg(json!({"priority": 1.5})),
            "Priority should not be float"
        );
        assert_eq!(
            msg(json!({"priority": 3_000_000})),
            "Priority should be between 0 and 2097151"
        );
        assert_eq!(
            msg(json!({"priority": -1})),
            "Priority should be between 0 and 2097151"
        );
        assert_eq!(msg(json!({"delay": -1})), "Delay cannot be negative");
        assert!(msg(json!({"attempts": 0})).contains("attempts"));
        assert!(msg(json!({"attempts": 1.5})).contains("attempts"));
        assert_eq!(
            msg(json!({"backoff": {"type": "fixed", "jitter": 2}})),
            "Jitter should be between 0 and 1"
        );
    }

    #[test]
    fn size_limit_zero_means_no_limit() {
        assert!(prepare(json!({"sizeLimit": 0})).is_ok());
        assert_eq!(
            prepare_job("big", "{\"a\":1}", &json!({"sizeLimit": 3}), ctx())
                .unwrap_err()
                .to_string(),
            "The size of job big exceeds the limit 3 bytes"
        );
    }

    #[test]
    fn deduplication_is_stored_as_de() {
        let job = prepare(json!({"deduplication": {"id": "x", "ttl": 10, "extra": null}})).unwrap();
        let stored: Value = serde_json::from_str(&job.opts).unwrap();
        assert_eq!(stored["de"], json!({"id": "x", "ttl": 10}));
        assert_eq!(job.dedup.unwrap().ttl, Some(10));
        let none = prepare(json!({"deduplication": false})).unwrap();
        assert_eq!(none.dedup, None);
        assert_eq!(
            serde_json::from_str::<Value>(&none.opts).unwrap()["de"],
            json!(false)
        );
    }

    #[test]
    fn flow_options_are_stored_with_short_keys() {
        let job = prepare(json!({"failParentOnFailure": true, "keepLogs": 2})).unwrap();
        let stored: Value = serde_json::from_str(&job.opts).unwrap();
        assert_eq!(stored, json!({"fpof": true, "kl": 2, "attempts": 0}));
    }

    #[test]
    fn stores_custom_backoff_types_for_the_worker_to_price() {
        let job = prepare(json!({"backoff": {"type": "mine", "delay": 5}})).unwrap();
        let stored: Value = serde_json::from_str(&job.opts).unwrap();
        assert_eq!(stored["backoff"], json!({"type": "mine", "delay": 5}));
    }

    #[test]
    fn backoff_delays() {
        let exp = Backoff::Exponential {
            delay: 100,
            jitter: 0.0,
        };
        assert_eq!(exp.delay_for(1), Some(100));
        assert_eq!(exp.delay_for(3), Some(400));
        let fixed = Backoff::Fixed {
            delay: 50,
            jitter: 0.5,
        };
        let d = fixed.delay_for(2).unwrap();
        assert!((25..=50).contains(&d));
    }

    #[test]
    fn keep_jobs_forms() {
        assert_eq!(KeepJobs::from_json(&json!(true)).unwrap().count, 0);
        assert_eq!(KeepJobs::from_json(&json!(false)).unwrap().count, -1);
        assert_eq!(KeepJobs::from_json(&json!(10)).unwrap().count, 10);
        let k = KeepJobs::from_json(&json!({"age": 60})).unwrap();
        assert_eq!((k.count, k.age), (-1, Some(60.0)));
    }
}
