//! The queue's meta hash (global concurrency, global rate limit, version) and the
//! limiter key: BullMQ's fields, written and read as BullMQ does.

use crate::error::{Error, Result};
use crate::queue::Queue;
use crate::scripts;
use crate::worker::Limiter;

/// The meta hash as BullMQ's `getMeta` shows it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueueMeta {
    /// Global concurrency (`concurrency`).
    pub concurrency: Option<i64>,
    /// Global rate limit: jobs per window (`max`).
    pub max: Option<i64>,
    /// Global rate limit: the window in ms (`duration`).
    pub duration: Option<i64>,
    /// Approximate length of the events stream (`opts.maxLenEvents`).
    pub max_len_events: Option<i64>,
    /// Whether the queue is paused (`paused` is `1`).
    pub paused: bool,
    /// Every other field (such as `version`), as stored.
    pub other: Vec<(String, String)>,
}

/// A stored number (BullMQ reads a non-empty field with `Number`).
fn number(text: &str) -> Option<i64> {
    text.trim().parse().ok()
}

impl Queue {
    /// Caps how many jobs all workers together process at once; returns how many meta
    /// fields were added (0 when it replaced a value).
    pub async fn set_global_concurrency(&self, concurrency: i64) -> Result<i64> {
        if concurrency < 0 {
            return Err(Error::InvalidArgument(
                "concurrency must be an integer >= 0".into(),
            ));
        }
        self.set_meta(&[("concurrency", concurrency)]).await
    }

    /// The global concurrency, if one is set.
    pub async fn get_global_concurrency(&self) -> Result<Option<i64>> {
        let [concurrency] = self.meta_fields(["concurrency"]).await?;
        Ok(concurrency.as_deref().and_then(number))
    }

    /// Lifts the global concurrency; returns how many fields were removed.
    pub async fn remove_global_concurrency(&self) -> Result<i64> {
        self.remove_meta(&["concurrency"]).await
    }

    /// Limits all workers together to `max` jobs per `duration` ms; returns how many meta
    /// fields were added.
    pub async fn set_global_rate_limit(&self, max: i64, duration: i64) -> Result<i64> {
        if max < 1 || duration < 1 {
            return Err(Error::InvalidArgument(
                "max and duration must be integers greater than 0".into(),
            ));
        }
        self.set_meta(&[("max", max), ("duration", duration)]).await
    }

    /// The global rate limit, when both of its fields are set.
    pub async fn get_global_rate_limit(&self) -> Result<Option<Limiter>> {
        let [max, duration] = self.meta_fields(["max", "duration"]).await?;
        Ok(
            match (
                max.as_deref().and_then(number),
                duration.as_deref().and_then(number),
            ) {
                (Some(max), Some(duration)) => Some(Limiter { max, duration }),
                _ => None,
            },
        )
    }

    /// Lifts the global rate limit; returns how many fields were removed.
    pub async fn remove_global_rate_limit(&self) -> Result<i64> {
        self.remove_meta(&["max", "duration"]).await
    }

    /// Whether the global concurrency is used up by the jobs in active.
    pub async fn is_maxed(&self) -> Result<bool> {
        let k = self.keys();
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("HGET")
            .arg(&k.meta)
            .arg("concurrency")
            .cmd("LLEN")
            .arg(&k.active);
        let (concurrency, active): (Option<String>, i64) = self.core().pipeline(&pipe).await?;
        Ok(concurrency
            .as_deref()
            .and_then(number)
            .is_some_and(|c| active >= c))
    }

    /// Ms until the rate limit lifts: 0 when the counter is below `max_jobs` (or the
    /// global max); the limiter key's raw PTTL when there is no max at all.
    pub async fn rate_limit_ttl(&self, max_jobs: Option<i64>) -> Result<i64> {
        let k = self.keys();
        let mut inv = scripts::RATE_LIMIT_TTL.prepare_invoke();
        inv.key(&k.limiter).key(&k.meta).arg(
            max_jobs
                .filter(|&m| m != 0)
                .map(|m| m.to_string())
                .unwrap_or_default(),
        );
        self.core().invoke(&inv).await
    }

    /// Deletes the limiter counter; returns how many keys went.
    pub async fn remove_rate_limit_key(&self) -> Result<i64> {
        self.core()
            .query(redis::cmd("DEL").arg(&self.keys().limiter))
            .await
    }

    /// The meta hash, its known fields read as numbers.
    pub async fn get_meta(&self) -> Result<QueueMeta> {
        let hash: Vec<(String, String)> = self
            .core()
            .query(redis::cmd("HGETALL").arg(&self.keys().meta))
            .await?;
        let mut meta = QueueMeta::default();
        for (field, value) in hash {
            match field.as_str() {
                "concurrency" => meta.concurrency = number(&value),
                "max" => meta.max = number(&value),
                "duration" => meta.duration = number(&value),
                "opts.maxLenEvents" => meta.max_len_events = number(&value),
                "paused" => meta.paused = value == "1",
                _ => meta.other.push((field, value)),
            }
        }
        Ok(meta)
    }

    /// The `version` field (`<library>:<version>`) of whoever last created a Queue on
    /// this queue, after this handle has written its own (unless it skips meta updates).
    pub async fn get_version(&self) -> Result<Option<String>> {
        self.wait_until_ready().await?;
        let [version] = self.meta_fields(["version"]).await?;
        Ok(version)
    }

    async fn set_meta(&self, fields: &[(&str, i64)]) -> Result<i64> {
        let mut cmd = redis::cmd("HSET");
        cmd.arg(&self.keys().meta);
        for (field, value) in fields {
            cmd.arg(*field).arg(*value);
        }
        self.core().query(&cmd).await
    }

    async fn remove_meta(&self, fields: &[&str]) -> Result<i64> {
        self.core()
            .query(redis::cmd("HDEL").arg(&self.keys().meta).arg(fields))
            .await
    }

    async fn meta_fields<const N: usize>(&self, fields: [&str; N]) -> Result<[Option<String>; N]> {
        let values: Vec<Option<String>> = self
            .core()
            .query(redis::cmd("HMGET").arg(&self.keys().meta).arg(&fields[..]))
            .await?;
        values
            .try_into()
            .map_err(|_| Error::Redis("unexpected reply to HMGET".into()))
    }
}
