//! The job record: BullMQ's hash fields in and out of Rust.

use std::collections::HashMap;

use redis::Value;

use crate::options::JobOptions;

/// A job as stored in its hash `<prefix>:<queue>:<id>`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Job {
    pub id: String,
    pub name: String,
    /// The job's data, as JSON text.
    pub data: String,
    /// The stored options, as JSON text with BullMQ's short keys.
    pub opts: String,
    pub timestamp: i64,
    pub delay: i64,
    pub priority: i64,
    /// The last reported progress, as JSON text.
    pub progress: Option<String>,
    /// The processor's result, as JSON text.
    pub returnvalue: Option<String>,
    pub failed_reason: Option<String>,
    /// The error stacks of failed attempts, as a JSON array.
    pub stacktrace: Option<String>,
    pub attempts_made: i64,
    pub attempts_started: i64,
    pub stalled_counter: i64,
    pub processed_on: Option<i64>,
    pub finished_on: Option<i64>,
    pub processed_by: Option<String>,
    pub parent_key: Option<String>,
    /// The parent reference, as JSON text.
    pub parent: Option<String>,
    pub deduplication_id: Option<String>,
    pub repeat_job_key: Option<String>,
    /// A failure recorded for the next worker to apply (stalled too often, failed child).
    pub deferred_failure: Option<String>,
    /// The lock token, while a worker of this process holds the job.
    pub token: Option<String>,
}

impl Job {
    /// Builds a job from the field/value pairs of its hash.
    pub fn from_fields(id: &str, fields: HashMap<String, String>) -> Job {
        let mut fields = fields;
        let mut take = |name: &str| fields.remove(name);
        let number = |v: Option<String>| v.and_then(|s| parse_number(&s));
        let attempts_made = number(take("atm")).or_else(|| number(take("attemptsMade")));
        Job {
            id: id.to_string(),
            name: take("name").unwrap_or_default(),
            data: take("data").unwrap_or_else(|| "{}".into()),
            opts: take("opts").unwrap_or_else(|| "{}".into()),
            timestamp: number(take("timestamp")).unwrap_or(0),
            delay: number(take("delay")).unwrap_or(0),
            priority: number(take("priority")).unwrap_or(0),
            progress: take("progress"),
            returnvalue: take("returnvalue"),
            failed_reason: take("failedReason"),
            stacktrace: take("stacktrace"),
            attempts_made: attempts_made.unwrap_or(0),
            attempts_started: number(take("ats")).unwrap_or(0),
            stalled_counter: number(take("stc")).unwrap_or(0),
            processed_on: number(take("processedOn")),
            finished_on: number(take("finishedOn")),
            processed_by: take("pb"),
            parent_key: take("parentKey"),
            parent: take("parent"),
            deduplication_id: take("deid"),
            repeat_job_key: take("rjk"),
            deferred_failure: take("defa"),
            token: None,
        }
    }

    /// Builds a job from a flat `HGETALL` reply; `None` when the hash is empty.
    pub fn from_reply(id: &str, reply: &Value) -> Option<Job> {
        let Value::Array(items) = reply else {
            return None;
        };
        if items.is_empty() {
            return None;
        }
        let mut fields = HashMap::with_capacity(items.len() / 2);
        for pair in items.chunks_exact(2) {
            if let (Some(k), Some(v)) = (value_string(&pair[0]), value_string(&pair[1])) {
                fields.insert(k, v);
            }
        }
        Some(Job::from_fields(id, fields))
    }

    /// The options BullMQ's classes show (`job.opts`), short keys spelled out, as JSON text.
    pub fn public_opts(&self) -> String {
        crate::options::decode_stored_opts(&self.opts)
    }

    /// The options the engine acts on, read from the stored JSON.
    pub fn options(&self) -> JobOptions {
        JobOptions::from_stored(&self.opts)
    }

    /// The custom backoff type whose strategy must price a retry, when a failure of the
    /// current attempt may still be retried and the job names one.
    pub fn custom_backoff_for_retry(&self) -> Option<String> {
        if !self.opts.contains("\"backoff\"") {
            return None;
        }
        let opts = self.options();
        if self.attempts_made + 1 >= opts.attempts {
            return None;
        }
        match opts.backoff {
            Some(crate::options::Backoff::Custom(kind)) => Some(kind),
            _ => None,
        }
    }

    /// The stacks of earlier failed attempts.
    pub fn stack_entries(&self) -> Vec<String> {
        self.stacktrace
            .as_deref()
            .and_then(|s| serde_json::from_str::<Vec<String>>(s).ok())
            .unwrap_or_default()
    }
}

fn parse_number(s: &str) -> Option<i64> {
    s.parse::<i64>()
        .ok()
        .or_else(|| s.parse::<f64>().ok().map(|f| f as i64))
}

/// Reads a Redis reply value as text.
pub(crate) fn value_string(v: &Value) -> Option<String> {
    match v {
        Value::BulkString(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::SimpleString(s) => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        Value::Double(d) => Some(d.to_string()),
        Value::VerbatimString { text, .. } => Some(text.clone()),
        _ => None,
    }
}

/// Reads a Redis reply value as an integer.
pub(crate) fn value_int(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(*i),
        other => value_string(other).and_then(|s| parse_number(&s)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_bullmq_fields() {
        let fields = [
            ("name", "send"),
            ("data", "{\"a\":1}"),
            ("opts", "{\"attempts\":3}"),
            ("timestamp", "1700000000000"),
            ("delay", "0"),
            ("priority", "0"),
            ("atm", "2"),
            ("ats", "3"),
            ("processedOn", "1700000000100"),
        ];
        let map = fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let job = Job::from_fields("7", map);
        assert_eq!(job.id, "7");
        assert_eq!(job.attempts_made, 2);
        assert_eq!(job.attempts_started, 3);
        assert_eq!(job.processed_on, Some(1_700_000_000_100));
        assert_eq!(job.finished_on, None);
        assert_eq!(job.options().attempts, 3);
    }

    #[test]
    fn accepts_legacy_attempts_made() {
        let map = [("attemptsMade".to_string(), "4".to_string())]
            .into_iter()
            .collect();
        assert_eq!(Job::from_fields("1", map).attempts_made, 4);
    }
}
