//! Health checks, raw commands and upkeep a queue answers outside its job operations.

use redis::Value;
use serde_json::Value as Json;

use crate::error::{Error, Result};
use crate::queue::Queue;

impl Queue {
    /// Sends `PING` on the queue's connection (connecting first if needed); `PONG` when
    /// Redis answers.
    pub async fn ping(&self) -> Result<String> {
        self.core().query(&redis::cmd("PING")).await
    }

    /// Runs Redis command `name` with `args` on the queue's connection and returns its
    /// reply as ioredis shapes it (the raw client apps reach through BullMQ's
    /// `getBackend().client`).
    pub async fn command(&self, name: &str, args: &[String]) -> Result<Json> {
        let reply: Value = self.core().query(&raw_command(name, args)?).await?;
        Ok(json_of(reply))
    }

    /// Deletes `<q>:priority`, the key BullMQ before v4 kept priorities in (BullMQ's
    /// `removeDeprecatedPriorityKey`); returns how many keys went (0 or 1).
    pub async fn remove_deprecated_priority_key(&self) -> Result<i64> {
        let key = format!("{}priority", self.keys().base);
        self.core().query(redis::cmd("DEL").arg(key)).await
    }
}

/// The command `name` with `args`, refused when `name` cannot be a command's name.
pub(crate) fn raw_command(name: &str, args: &[String]) -> Result<redis::Cmd> {
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(Error::InvalidArgument(format!(
            "{name:?} is not a Redis command name"
        )));
    }
    let mut cmd = redis::cmd(name);
    cmd.arg(args);
    Ok(cmd)
}

/// A Redis reply as ioredis gives it: text, numbers, null, arrays (maps as flat arrays).
pub(crate) fn json_of(value: Value) -> Json {
    match value {
        Value::Nil => Json::Null,
        Value::Int(n) => Json::from(n),
        Value::Double(d) => Json::from(d),
        Value::Boolean(b) => Json::from(i64::from(b)),
        Value::BulkString(bytes) => Json::String(String::from_utf8_lossy(&bytes).into_owned()),
        Value::SimpleString(text) | Value::VerbatimString { text, .. } => Json::String(text),
        Value::Okay => Json::String("OK".into()),
        Value::Array(items) | Value::Set(items) => {
            Json::Array(items.into_iter().map(json_of).collect())
        }
        Value::Map(pairs) => Json::Array(
            pairs
                .into_iter()
                .flat_map(|(k, v)| [json_of(k), json_of(v)])
                .collect(),
        ),
        Value::Attribute { data, .. } => json_of(*data),
        Value::BigNumber(n) => Json::String(String::from_utf8_lossy(&n).into_owned()),
        Value::Push { data, .. } => Json::Array(data.into_iter().map(json_of).collect()),
        Value::ServerError(err) => Json::String(format!("{err:?}")),
        _ => Json::Null,
    }
}
