//! JavaScript's truthiness of an option value, which BullMQ's option checks apply
//! (`if (opts.lifo)`, `opts.deduplication?.id`, ...).

use serde_json::Value;

/// Whether JavaScript takes `v` for true: not `null`, `false`, `0` or `""`.
pub(crate) fn js_truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        _ => true,
    }
}
