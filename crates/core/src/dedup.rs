//! Deduplication: an add whose deduplication id is owned by another job gives that job
//! back instead of storing a new one. The key `<prefix>:<queue>:de:<id>` holds the id of
//! the owning job, as BullMQ keeps it.

use serde_json::Value;

use crate::error::{Error, Result};
use crate::truthy::js_truthy;

/// A job's `deduplication` option, validated.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Deduplication {
    /// The deduplication id.
    pub id: String,
    /// How long (ms) the id stays owned; `None`: until the owner finishes or is removed.
    pub ttl: Option<i64>,
    /// A dropped add restarts the ttl.
    pub extend: bool,
    /// An add replaces an owner that is still delayed.
    pub replace: bool,
    /// A dropped add gives a still-delayed owner its own delay, counted from its timestamp.
    pub reschedule: bool,
    /// An add arriving while the owner is active is kept (the latest one) and enqueued
    /// when the owner finishes.
    pub keep_last_if_active: bool,
}

impl Deduplication {
    /// Reads the `deduplication` option; `None` when it is unset or falsy (BullMQ then
    /// stores it as given and does not deduplicate).
    pub fn from_option(v: &Value) -> Result<Option<Deduplication>> {
        if !js_truthy(v) {
            return Ok(None);
        }
        let Some(id) = v.get("id").filter(|id| js_truthy(id)) else {
            return Err(invalid("Deduplication id must be provided"));
        };
        let id = match id {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => return Err(invalid("Deduplication id must be a string")),
        };
        let flag = |name: &str| v.get(name).is_some_and(lua_truthy);
        Ok(Some(Deduplication {
            id,
            ttl: ttl(v.get("ttl"))?,
            extend: flag("extend"),
            replace: flag("replace"),
            reschedule: flag("reschedule"),
            keep_last_if_active: flag("keepLastIfActive"),
        }))
    }

    /// The mode letters the add script reads: `e` extend, `r` replace, `s` reschedule,
    /// `k` keep last if active.
    pub(crate) fn mode(&self) -> String {
        [
            (self.extend, 'e'),
            (self.replace, 'r'),
            (self.reschedule, 's'),
            (self.keep_last_if_active, 'k'),
        ]
        .into_iter()
        .filter_map(|(on, letter)| on.then_some(letter))
        .collect()
    }
}

/// The ttl as BullMQ's scripts use it: only a positive number counts.
fn ttl(v: Option<&Value>) -> Result<Option<i64>> {
    match v {
        None | Some(Value::Null) | Some(Value::Bool(false)) => Ok(None),
        Some(Value::Number(n)) => {
            let ms = n.as_f64().unwrap_or(0.0);
            if ms <= 0.0 {
                return Ok(None);
            }
            if ms.fract() != 0.0 || ms > i64::MAX as f64 {
                return Err(invalid("Deduplication ttl must be an integer (ms)"));
            }
            Ok(Some(ms as i64))
        }
        Some(_) => Err(invalid("Deduplication ttl must be a number (ms)")),
    }
}

/// Lua truthiness, which BullMQ's scripts apply to the stored flags: only `false` and
/// absent values are false.
fn lua_truthy(v: &Value) -> bool {
    !matches!(v, Value::Null | Value::Bool(false))
}

fn invalid(msg: &str) -> Error {
    Error::InvalidArgument(msg.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<Option<Deduplication>> {
        Deduplication::from_option(&v)
    }

    #[test]
    fn falsy_option_means_no_deduplication() {
        for v in [json!(null), json!(false), json!(0), json!("")] {
            assert_eq!(parse(v).unwrap(), None);
        }
    }

    #[test]
    fn id_is_required() {
        for v in [
            json!({}),
            json!({"id": ""}),
            json!({"id": 0}),
            json!("x"),
            json!(true),
        ] {
            assert_eq!(
                parse(v).unwrap_err().to_string(),
                "Deduplication id must be provided"
            );
        }
        assert!(parse(json!({"id": true})).is_err());
        assert_eq!(parse(json!({"id": 7})).unwrap().unwrap().id, "7");
    }

    #[test]
    fn ttl_counts_only_when_positive() {
        let ttl = |v: Value| parse(json!({"id": "a", "ttl": v})).map(|d| d.unwrap().ttl);
        assert_eq!(ttl(json!(500)).unwrap(), Some(500));
        assert_eq!(ttl(json!(0)).unwrap(), None);
        assert_eq!(ttl(json!(-5)).unwrap(), None);
        assert!(ttl(json!(1.5)).is_err());
        assert!(ttl(json!("500")).is_err());
    }

    #[test]
    fn flags_follow_lua_truthiness() {
        let d = parse(json!({"id": "a", "extend": 0, "replace": false, "reschedule": true}))
            .unwrap()
            .unwrap();
        assert_eq!(d.mode(), "es");
        let all = parse(
            json!({"id": "a", "extend": 1, "replace": 1, "reschedule": 1, "keepLastIfActive": 1}),
        )
        .unwrap()
        .unwrap();
        assert_eq!(all.mode(), "ersk");
    }
}
