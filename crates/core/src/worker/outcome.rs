//! What a processor reports for a job, and how the engine settles it (retry or finish).

use crate::options::{JobOptions, KeepJobs};

/// How one processing attempt ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The processor returned; `returnvalue` is its result as JSON text.
    Completed { returnvalue: String },
    /// The processor threw.
    Failed(Failure),
    /// The processor hit a rate limit (BullMQ's `RateLimitError`): the job goes back to
    /// wait without the attempt counting.
    RateLimited,
    /// The processor moved the job out of active itself (`moveToDelayed`, `moveToWait`,
    /// then BullMQ's `DelayedError`/`WaitingError`): the worker only lets go of it.
    Moved,
}

/// A failed attempt, as the processor reported it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Failure {
    pub message: String,
    pub stack: Option<String>,
    /// Never retry (BullMQ's `UnrecoverableError`).
    pub unrecoverable: bool,
    /// The delay a custom backoff strategy chose, if the job uses one (-1: do not retry).
    pub backoff_delay: Option<i64>,
}

/// Where a settled attempt sends the job.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum SettleKind {
    Completed,
    Failed,
    Retry,
    Delay(i64),
    BackToWait,
}

impl SettleKind {
    pub fn script_name(self) -> &'static str {
        match self {
            SettleKind::Completed => "completed",
            SettleKind::Failed => "failed",
            SettleKind::Retry => "retry",
            SettleKind::Delay(_) => "delay",
            SettleKind::BackToWait => "wait",
        }
    }

    /// BullMQ's name of the command, for its error messages.
    pub fn command(self) -> &'static str {
        match self {
            SettleKind::Retry => "retryJob",
            SettleKind::Delay(_) => "moveToDelayed",
            SettleKind::BackToWait => "moveJobFromActiveToWait",
            SettleKind::Completed | SettleKind::Failed => "moveToFinished",
        }
    }
}

/// One attempt ready for the finishing script.
#[derive(Debug, Clone)]
pub(crate) struct Settlement {
    pub job_id: String,
    pub token: String,
    pub kind: SettleKind,
    /// The result JSON for a completion, the failure message otherwise.
    pub value: String,
    /// The stack list to store, as JSON (failures only).
    pub stacktrace: String,
    pub keep: KeepJobs,
    pub attempts: i64,
    pub lifo: bool,
    /// `atm` once the script has run.
    pub attempts_made: i64,
    /// The job's deduplication id, released when it finishes.
    pub deduplication_id: Option<String>,
    /// The job, when it failed before the host saw it.
    pub unseen: Option<Box<crate::job::Job>>,
    /// The failure may not be retried (BullMQ's `UnrecoverableError`).
    pub unrecoverable: bool,
}

/// The facts about an active job that settling needs.
#[derive(Debug, Clone)]
pub(crate) struct AttemptInfo {
    pub token: String,
    pub attempts_made: i64,
    /// `attemptsStarted`, this attempt included.
    pub attempts_started: i64,
    /// The worker's `maxStartedAttempts`: a job started that often is not retried.
    pub max_started_attempts: Option<i64>,
    pub deduplication_id: Option<String>,
    pub opts: JobOptions,
    pub stacktrace: Vec<String>,
}

/// Worker-level defaults for keeping finished jobs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KeepDefaults {
    pub on_complete: Option<KeepJobs>,
    pub on_fail: Option<KeepJobs>,
}

/// Decides, as BullMQ does, whether an attempt completes, retries now, retries later,
/// fails or goes back to wait; `None` when the processor already moved the job.
pub(crate) fn settle(
    job_id: &str,
    info: &AttemptInfo,
    outcome: Outcome,
    keep: KeepDefaults,
) -> Option<Settlement> {
    let base = Settlement {
        job_id: job_id.to_string(),
        token: info.token.clone(),
        kind: SettleKind::Completed,
        value: String::new(),
        stacktrace: String::new(),
        keep: KeepJobs::ALL,
        attempts: info.opts.attempts,
        lifo: info.opts.lifo,
        attempts_made: info.attempts_made + 1,
        deduplication_id: info.deduplication_id.clone(),
        unseen: None,
        unrecoverable: false,
    };
    let failure = match outcome {
        Outcome::Completed { returnvalue } => {
            return Some(Settlement {
                value: returnvalue,
                keep: keep_for(info.opts.remove_on_complete, keep.on_complete),
                ..base
            })
        }
        Outcome::RateLimited => {
            return Some(Settlement {
                kind: SettleKind::BackToWait,
                attempts_made: info.attempts_made,
                ..base
            })
        }
        Outcome::Moved => return None,
        Outcome::Failed(f) => f,
    };
    let kind = retry_kind(info, &failure);
    let keep = match kind {
        SettleKind::Failed => keep_for(info.opts.remove_on_fail, keep.on_fail),
        _ => KeepJobs::ALL,
    };
    Some(Settlement {
        kind,
        unrecoverable: failure.unrecoverable,
        stacktrace: stack_json(&info.stacktrace, failure.stack, info.opts.stack_trace_limit),
        value: failure.message,
        keep,
        ..base
    })
}

fn keep_for(job: Option<KeepJobs>, worker: Option<KeepJobs>) -> KeepJobs {
    job.or(worker).unwrap_or(KeepJobs::ALL)
}

fn retry_kind(info: &AttemptInfo, failure: &Failure) -> SettleKind {
    let started_enough = info
        .max_started_attempts
        .is_some_and(|max| max > 0 && max <= info.attempts_started);
    if failure.unrecoverable || started_enough || info.attempts_made + 1 >= info.opts.attempts {
        return SettleKind::Failed;
    }
    let delay = match &info.opts.backoff {
        None => 0,
        Some(b) => match b
            .delay_for(info.attempts_made + 1)
            .or(failure.backoff_delay)
        {
            Some(d) => d,
            None => return SettleKind::Failed,
        },
    };
    match delay {
        d if d < 0 => SettleKind::Failed,
        0 => SettleKind::Retry,
        d => SettleKind::Delay(d),
    }
}

/// The stack list to store: as BullMQ, a new stack is appended and the list trimmed to
/// `limit`; without one the list is kept as it was.
fn stack_json(previous: &[String], stack: Option<String>, limit: Option<usize>) -> String {
    let mut entries: Vec<String> = previous.to_vec();
    if let Some(stack) = stack {
        entries.push(stack);
        if let Some(n) = limit {
            entries = entries.split_off(entries.len().saturating_sub(n));
        }
    }
    serde_json::to_string(&entries).unwrap_or_else(|_| "[]".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::Backoff;

    fn info(attempts: i64, made: i64, backoff: Option<Backoff>) -> AttemptInfo {
        AttemptInfo {
            token: "t".into(),
            attempts_made: made,
            attempts_started: made + 1,
            max_started_attempts: None,
            deduplication_id: None,
            opts: JobOptions {
                attempts,
                backoff,
                ..JobOptions::default()
            },
            stacktrace: vec!["old".into()],
        }
    }

    fn fail(msg: &str) -> Outcome {
        Outcome::Failed(Failure {
            message: msg.into(),
            stack: Some(format!("Error: {msg}")),
            ..Failure::default()
        })
    }

    const KEEP: KeepDefaults = KeepDefaults {
        on_complete: None,
        on_fail: None,
    };

    #[test]
    fn retries_until_attempts_are_used() {
        let s = settle("1", &info(3, 0, None), fail("x"), KEEP).unwrap();
        assert_eq!(s.kind, SettleKind::Retry);
        assert_eq!(s.stacktrace, r#"["old","Error: x"]"#);
        let s = settle("1", &info(3, 2, None), fail("x"), KEEP).unwrap();
        assert_eq!(s.kind, SettleKind::Failed);
        assert_eq!(s.attempts_made, 3);
    }

    #[test]
    fn backoff_delays_the_retry() {
        let b = Backoff::Exponential {
            delay: 100,
            jitter: 0.0,
        };
        let s = settle("1", &info(5, 2, Some(b)), fail("x"), KEEP).unwrap();
        assert_eq!(s.kind, SettleKind::Delay(400));
    }

    #[test]
    fn unrecoverable_fails_at_once() {
        let out = Outcome::Failed(Failure {
            message: "no".into(),
            unrecoverable: true,
            ..Failure::default()
        });
        assert_eq!(
            settle("1", &info(5, 0, None), out, KEEP).unwrap().kind,
            SettleKind::Failed
        );
    }

    #[test]
    fn max_started_attempts_stops_retries() {
        let mut i = info(5, 0, None);
        i.attempts_started = 2;
        i.max_started_attempts = Some(2);
        assert_eq!(
            settle("1", &i, fail("x"), KEEP).unwrap().kind,
            SettleKind::Failed
        );
        i.max_started_attempts = Some(3);
        assert_eq!(
            settle("1", &i, fail("x"), KEEP).unwrap().kind,
            SettleKind::Retry
        );
    }

    #[test]
    fn rate_limited_goes_back_to_wait_uncounted() {
        let s = settle("1", &info(3, 1, None), Outcome::RateLimited, KEEP).unwrap();
        assert_eq!(s.kind, SettleKind::BackToWait);
        assert_eq!(s.attempts_made, 1);
        assert!(settle("1", &info(3, 1, None), Outcome::Moved, KEEP).is_none());
    }

    #[test]
    fn a_failure_without_stack_keeps_the_list_untrimmed() {
        let mut i = info(1, 0, None);
        i.stacktrace = vec!["a".into(), "b".into()];
        i.opts.stack_trace_limit = Some(1);
        let out = Outcome::Failed(Failure {
            message: "no stack".into(),
            ..Failure::default()
        });
        assert_eq!(
            settle("1", &i, out, KEEP).unwrap().stacktrace,
            r#"["a","b"]"#
        );
    }

    #[test]
    fn stack_trace_limit_keeps_newest() {
        let mut i = info(1, 0, None);
        i.opts.stack_trace_limit = Some(1);
        assert_eq!(
            settle("1", &i, fail("x"), KEEP).unwrap().stacktrace,
            r#"["Error: x"]"#
        );
        i.opts.stack_trace_limit = Some(0);
        assert_eq!(settle("1", &i, fail("x"), KEEP).unwrap().stacktrace, "[]");
    }
}
