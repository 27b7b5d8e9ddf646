//! A job's link to its parent, as a producer asks for it (the `parent` job option) and as
//! BullMQ stores it: the parent's full key in `parentKey`, and in `parent` its id, its
//! queue's qualified name and the flag saying what the child's failure does to it.

use serde_json::{json, Map, Value};

use crate::error::{Error, Result};
use crate::truthy::js_truthy;

/// What a child's final failure does to its parent (the job options of the same names;
/// BullMQ allows at most one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnChildFailure {
    /// `failParentOnFailure`: the parent fails too.
    FailParent,
    /// `continueParentOnFailure`: the parent runs at once, the failure recorded.
    ContinueParent,
    /// `ignoreDependencyOnFailure`: the parent stops waiting for it, the failure recorded.
    IgnoreDependency,
    /// `removeDependencyOnFailure`: the parent stops waiting for it.
    RemoveDependency,
}

impl OnChildFailure {
    /// The option names and the flags BullMQ keeps in the child's `parent` field.
    const ALL: [(&'static str, &'static str, OnChildFailure); 4] = [
        ("failParentOnFailure", "fpof", OnChildFailure::FailParent),
        (
            "removeDependencyOnFailure",
            "rdof",
            OnChildFailure::RemoveDependency,
        ),
        (
            "ignoreDependencyOnFailure",
            "idof",
            OnChildFailure::IgnoreDependency,
        ),
        (
            "continueParentOnFailure",
            "cpof",
            OnChildFailure::ContinueParent,
        ),
    ];

    /// The one set in `opts`, if any (BullMQ's validation rejects several first).
    pub fn from_options(opts: &Map<String, Value>) -> Option<OnChildFailure> {
        Self::ALL
            .iter()
            .find(|(option, _, _)| opts.get(*option).is_some_and(js_truthy))
            .map(|(_, _, which)| *which)
    }

    fn flag(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, _, which)| *which == self)
            .map_or("", |(_, flag, _)| flag)
    }
}

/// The link of a new job to its parent job.
#[derive(Debug, Clone, PartialEq)]
pub struct ParentLink {
    /// The parent's full key, `<prefix>:<queue>:<id>`.
    pub key: String,
    /// The child's `parent` field: `{id, queueKey}` and its failure flag, as JSON text.
    pub json: String,
}

impl ParentLink {
    /// Reads the `parent` option (`{ id, queue }`, `queue` being the parent queue's
    /// qualified name `<prefix>:<name>`); `None` when unset.
    pub fn from_options(opts: &Map<String, Value>) -> Result<Option<ParentLink>> {
        let Some(parent) = opts.get("parent").filter(|v| !v.is_null()) else {
            return Ok(None);
        };
        let (id, queue) = parent_parts(parent)?;
        let mut stored = json!({ "id": id, "queueKey": queue });
        if let Some(on_failure) = OnChildFailure::from_options(opts) {
            stored[on_failure.flag()] = Value::Bool(true);
        }
        Ok(Some(ParentLink {
            key: format!("{queue}:{}", id_text(id)),
            json: stored.to_string(),
        }))
    }

    /// The link of a flow node's child to that node (id and queue already checked).
    pub fn to_node(
        id: &str,
        queue_qualified_name: &str,
        on_failure: Option<OnChildFailure>,
    ) -> ParentLink {
        let mut stored = json!({ "id": id, "queueKey": queue_qualified_name });
        if let Some(on_failure) = on_failure {
            stored[on_failure.flag()] = Value::Bool(true);
        }
        ParentLink {
            key: format!("{queue_qualified_name}:{id}"),
            json: stored.to_string(),
        }
    }
}

/// The parent's id and queue from a `parent` option, checked.
fn parent_parts(parent: &Value) -> Result<(&Value, &str)> {
    let bad = || {
        Error::InvalidArgument(
            "parent must be an object with the parent job's id and its queue's qualified \
             name (`<prefix>:<queue>`)"
                .into(),
        )
    };
    let id = parent
        .get("id")
        .filter(|id| id.as_str().is_some_and(|s| !s.is_empty()) || id.is_number())
        .ok_or_else(bad)?;
    let queue = parent
        .get("queue")
        .and_then(Value::as_str)
        .filter(|q| q.contains(':') && !q.starts_with(':') && !q.ends_with(':'))
        .ok_or_else(bad)?;
    Ok((id, queue))
}

/// An id as it appears in a key.
fn id_text(id: &Value) -> String {
    match id {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The id and the base key (`<prefix>:<queue>:`) of the job at a full key: the id is the
/// text after the last colon (BullMQ's reading).
pub fn split_job_key(key: &str) -> (&str, &str) {
    match key.rfind(':') {
        Some(at) => (&key[at + 1..], &key[..at + 1]),
        None => (key, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(o) => o,
            _ => unreachable!(),
        }
    }

    #[test]
    fn reads_the_parent_option_as_bullmq_stores_it() {
        let link = ParentLink::from_options(&opts(json!({
            "parent": { "id": "p1", "queue": "bull:parents" },
            "failParentOnFailure": true,
        })))
        .unwrap()
        .unwrap();
        assert_eq!(link.key, "bull:parents:p1");
        let stored: Value = serde_json::from_str(&link.json).unwrap();
        assert_eq!(
            stored,
            json!({"id": "p1", "queueKey": "bull:parents", "fpof": true})
        );
    }

    #[test]
    fn a_numeric_id_stays_a_number_in_the_stored_link() {
        let link = ParentLink::from_options(&opts(json!({"parent": {"id": 7, "queue": "a:b"}})))
            .unwrap()
            .unwrap();
        assert_eq!(link.key, "a:b:7");
        assert!(link.json.contains("\"id\":7"));
    }

    #[test]
    fn refuses_a_parent_without_a_qualified_queue_or_id() {
        for bad in [
            json!({"parent": {"id": "1", "queue": "plain"}}),
            json!({"parent": {"queue": "bull:q"}}),
            json!({"parent": {"id": "", "queue": "bull:q"}}),
            json!({"parent": "bull:q:1"}),
        ] {
            assert!(ParentLink::from_options(&opts(bad)).is_err());
        }
        assert_eq!(ParentLink::from_options(&opts(json!({}))).unwrap(), None);
    }

    #[test]
    fn splits_keys_at_the_last_colon() {
        assert_eq!(split_job_key("{app}:bull:q:42"), ("42", "{app}:bull:q:"));
    }
}
