//! The next iteration of a job scheduler, added when a worker takes the current one (as
//! BullMQ's workers do right after moving it to active), so exactly one is pending.

use std::sync::Arc;

use serde_json::{Map, Value as Json};

use super::{iteration_call, legacy, RepeatOptions};
use crate::error::{Error, Result};
use crate::job::{value_string, Job};
use crate::queue_base::QueueCore;
use crate::scripts;

/// Where a worker's background errors go.
pub(crate) type OnIterationError = Arc<dyn Fn(Error) + Send + Sync>;

/// Adds, in the background, the next iteration of each scheduler whose iteration is among
/// the `jobs` just taken at `now` (ms); failures go to `on_error` with BullMQ's message.
pub(crate) fn after_take(
    core: &Arc<QueueCore>,
    jobs: &[Job],
    now: i64,
    on_error: &OnIterationError,
) {
    for job in jobs {
        let Some(scheduler) = job.repeat_job_key.clone() else {
            continue;
        };
        let (core, on_error) = (core.clone(), on_error.clone());
        let (taken, opts) = (job.id.clone(), job.opts.clone());
        tokio::spawn(async move {
            if let Err(err) = add_next(&core, &scheduler, &taken, &opts, now).await {
                on_error(Error::Redis(format!(
                    "Failed to add repeatable job for next iteration: {err}"
                )));
            }
        });
    }
}

/// Adds the iteration after `taken` (whose stored options are `stored_opts`), taken at
/// `now` (ms), of scheduler `scheduler`; the id added, or `None` when the scheduler is
/// done, gone or moved on.
pub(crate) async fn add_next(
    core: &QueueCore,
    scheduler: &str,
    taken: &str,
    stored_opts: &str,
    now: i64,
) -> Result<Option<String>> {
    if legacy::has_legacy_key_shape(scheduler) && !is_scheduler(core, scheduler).await? {
        return Err(Error::InvalidArgument(legacy::legacy_message(scheduler)));
    }
    let Some((next, opts)) = plan(stored_opts, scheduler, now)? else {
        return Ok(None);
    };
    let mut call = iteration_call(core, &scripts::NEXT_ITERATION);
    call.arg(scheduler)
        .arg(taken)
        .arg(now)
        .arg(next.map(|n| n.to_string()).unwrap_or_default())
        .arg(opts);
    let reply = core.conn.invoke(&call).await?;
    Ok(value_string(&reply))
}

/// Whether `id` names a job scheduler (its hash has an iteration count), for ids shaped
/// like v5 repeatable job keys.
async fn is_scheduler(core: &QueueCore, id: &str) -> Result<bool> {
    let cmd = redis::cmd("HEXISTS")
        .arg(format!("{}:{id}", core.keys.repeat))
        .arg("ic")
        .to_owned();
    core.query(&cmd).await
}

/// The next fire time (for a pattern; `every` is computed by the script) and the options
/// of the next iteration, from the taken one's; `None` when its limit or end date is
/// reached or its pattern has no next time.
fn plan(stored_opts: &str, scheduler: &str, now: i64) -> Result<Option<(Option<i64>, String)>> {
    let mut opts: Map<String, Json> = serde_json::from_str(stored_opts).unwrap_or_default();
    let mut repeat = match opts.remove("repeat") {
        Some(Json::Object(r)) => r,
        _ => Map::new(),
    };
    let int =
        |r: &Map<String, Json>, key: &str| r.get(key).and_then(Json::as_f64).map(|n| n as i64);
    let count = int(&repeat, "count")
        .filter(|c| *c != 0)
        .map_or(1, |c| c + 1);
    if int(&repeat, "limit").is_some_and(|limit| count > limit) {
        return Ok(None);
    }
    if int(&repeat, "endDate").is_some_and(|end| now > end) {
        return Ok(None);
    }
    let is_pattern = repeat
        .get("pattern")
        .is_some_and(|p| p.as_str().is_some_and(|s| !s.is_empty()));
    let next = match is_pattern {
        true => {
            let from = int(&opts, "prevMillis").map_or(now, |p| p.max(now));
            match RepeatOptions::from_json(&Json::Object(repeat.clone()))?.pattern_next(from) {
                Some(n) => Some(n),
                None => return Ok(None),
            }
        }
        false => None,
    };
    let every = int(&repeat, "every").filter(|e| *e != 0);
    if every.is_none() || int(&repeat, "offset").is_none_or(|o| o == 0) {
        repeat.remove("offset");
    }
    repeat.insert("count".into(), Json::from(count));
    opts.insert("repeat".into(), Json::Object(repeat));
    opts.entry("attempts").or_insert(Json::from(0));
    // As BullMQ's `Job` reads options back: a numeric backoff is a fixed one.
    if let Some(delay) = opts.get("backoff").filter(|b| b.is_number()).cloned() {
        let fixed = serde_json::json!({ "type": "fixed", "delay": delay });
        opts.insert("backoff".into(), fixed);
    }
    opts.insert("timestamp".into(), Json::from(now));
    opts.insert("repeatJobKey".into(), Json::from(scheduler));
    match next {
        Some(n) => opts.insert("prevMillis".into(), Json::from(n)),
        None => opts.remove("prevMillis"),
    };
    Ok(Some((next, Json::Object(opts).to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_iterations_and_stops_at_the_limit() {
        let (next, opts) = plan(r#"{"repeat":{"every":100,"count":1,"limit":3}}"#, "s", 1000)
            .unwrap()
            .unwrap();
        assert_eq!(next, None);
        let opts: Json = serde_json::from_str(&opts).unwrap();
        assert_eq!(opts["repeat"]["count"], 2);
        assert_eq!(opts["attempts"], 0);
        assert_eq!(opts["repeatJobKey"], "s");
        assert!(
            plan(r#"{"repeat":{"every":100,"count":3,"limit":3}}"#, "s", 1000)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn patterns_fire_after_the_previous_time() {
        let (next, _) = plan(
            r#"{"prevMillis":1767225605000,"repeat":{"pattern":"*/5 * * * * *","count":1}}"#,
            "s",
            1_767_225_601_000,
        )
        .unwrap()
        .unwrap();
        assert_eq!(next, Some(1_767_225_610_000));
    }
}
