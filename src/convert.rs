//! JS object shapes and their conversions to and from engine types.

use bullrush_core::{
    ClientIdentity, ConnectionOptions, Error, Failure, Job, KeepJobs, Patience, Settled, TlsOptions,
};
use napi::bindgen_prelude::Result;
use napi_derive::napi;

/// Errors cross as JS errors whose message starts with `<code>|`; the JS layer splits
/// the code off into `err.code`.
pub(crate) fn js_error(err: Error) -> napi::Error {
    let code = match &err {
        Error::Script { code, .. } => code.number().to_string(),
        other => other.code_name().to_string(),
    };
    napi::Error::from_reason(format!("{code}|{err}"))
}

/// Connection settings, already normalised by the JS layer.
#[napi(object)]
#[derive(Default)]
pub struct JsConnection {
    pub host: Option<String>,
    pub port: Option<u32>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub db: Option<i64>,
    pub tls: Option<bool>,
    pub reject_unauthorized: Option<bool>,
    /// PEM text of the trusted CA certificates.
    pub ca: Option<String>,
    /// PEM text of the client certificate chain.
    pub cert: Option<String>,
    /// PEM text of the client private key.
    pub key: Option<String>,
    pub url: Option<String>,
    /// ioredis' `maxRetriesPerRequest`: a count, or -1 for `null` (no limit).
    pub max_retries_per_request: Option<i64>,
    /// ioredis' `enableOfflineQueue`.
    pub enable_offline_queue: Option<bool>,
}

impl JsConnection {
    pub(crate) fn to_core(&self) -> bullrush_core::Result<ConnectionOptions> {
        let mut opts = match &self.url {
            Some(url) => ConnectionOptions::from_url(url)?,
            None => ConnectionOptions::default(),
        };
        if let Some(host) = &self.host {
            opts.host = host.clone();
        }
        if let Some(port) = self.port {
            opts.port = u16::try_from(port)
                .map_err(|_| Error::InvalidArgument(format!("Invalid port {port}")))?;
        }
        if self.username.is_some() {
            opts.username = self.username.clone();
        }
        if self.password.is_some() {
            opts.password = self.password.clone();
        }
        if let Some(db) = self.db {
            opts.db = db;
        }
        if self.tls.unwrap_or(opts.tls.is_some()) {
            opts.tls = Some(TlsOptions {
                reject_unauthorized: self.reject_unauthorized.unwrap_or(true),
                ca: self.ca.clone(),
                client_identity: ClientIdentity::from_parts(self.cert.clone(), self.key.clone())?,
            });
        } else {
            opts.tls = None;
        }
        opts.patience = self.patience();
        opts.validate()?;
        Ok(opts)
    }
}

impl JsConnection {
    fn patience(&self) -> Patience {
        if self.enable_offline_queue == Some(false) {
            return Patience::NoOfflineQueue;
        }
        match self.max_retries_per_request {
            Some(n) if n < 0 => Patience::Unbounded,
            Some(n) => Patience::MaxRetries(u32::try_from(n).unwrap_or(u32::MAX)),
            None => Patience::default(),
        }
    }
}

pub(crate) fn connection(c: &Option<JsConnection>) -> Result<ConnectionOptions> {
    c.as_ref()
        .map_or_else(|| Ok(ConnectionOptions::default()), JsConnection::to_core)
        .map_err(js_error)
}

/// A job as the JS layer receives it; JSON fields stay text.
#[napi(object)]
pub struct JsJob {
    pub id: String,
    pub name: String,
    pub data: String,
    pub opts: String,
    pub timestamp: f64,
    pub delay: f64,
    pub priority: f64,
    pub progress: Option<String>,
    pub returnvalue: Option<String>,
    pub failed_reason: Option<String>,
    pub stacktrace: Option<String>,
    pub attempts_made: f64,
    pub attempts_started: f64,
    pub stalled_counter: f64,
    pub processed_on: Option<f64>,
    pub finished_on: Option<f64>,
    pub processed_by: Option<String>,
    pub parent_key: Option<String>,
    pub parent: Option<String>,
    pub deduplication_id: Option<String>,
    pub repeat_job_key: Option<String>,
    pub deferred_failure: Option<String>,
    /// The custom backoff type to ask the worker's strategy about if this attempt fails
    /// (set by the engine only when a retry would follow).
    pub custom_backoff: Option<String>,
    /// The lock token, for jobs a worker delivers.
    pub token: Option<String>,
}

impl From<Job> for JsJob {
    fn from(job: Job) -> JsJob {
        let opts = job.public_opts();
        let custom_backoff = job.custom_backoff_for_retry();
        JsJob {
            custom_backoff,
            id: job.id,
            name: job.name,
            data: job.data,
            opts,
            timestamp: job.timestamp as f64,
            delay: job.delay as f64,
            priority: job.priority as f64,
            progress: job.progress,
            returnvalue: job.returnvalue,
            failed_reason: job.failed_reason,
            stacktrace: job.stacktrace,
            attempts_made: job.attempts_made as f64,
            attempts_started: job.attempts_started as f64,
            stalled_counter: job.stalled_counter as f64,
            processed_on: job.processed_on.map(|v| v as f64),
            finished_on: job.finished_on.map(|v| v as f64),
            processed_by: job.processed_by,
            parent_key: job.parent_key,
            parent: job.parent,
            deduplication_id: job.deduplication_id,
            repeat_job_key: job.repeat_job_key,
            deferred_failure: job.deferred_failure,
            token: job.token,
        }
    }
}

/// A failed attempt, as the JS layer classified the error.
#[napi(object)]
pub struct JsFailure {
    pub message: String,
    pub stack: Option<String>,
    pub unrecoverable: bool,
    pub backoff_delay: Option<f64>,
}

impl From<JsFailure> for Failure {
    fn from(f: JsFailure) -> Failure {
        Failure {
            message: f.message,
            stack: f.stack,
            unrecoverable: f.unrecoverable,
            backoff_delay: f.backoff_delay.map(|d| d as i64),
        }
    }
}

/// What the JS layer needs of a job it just added (it already has the name and data).
#[napi(object)]
pub struct JsAdded {
    pub id: String,
    pub timestamp: f64,
    /// The job's options as BullMQ's `Job` shows them, as JSON text.
    pub opts: String,
    /// The parent's full key, for a child.
    pub parent_key: Option<String>,
    /// The child's link to its parent (`{id, queueKey, ...}`), as JSON text.
    pub parent: Option<String>,
}

impl From<Job> for JsAdded {
    fn from(job: Job) -> JsAdded {
        JsAdded {
            opts: job.public_opts(),
            id: job.id,
            timestamp: job.timestamp as f64,
            parent_key: job.parent_key,
            parent: job.parent,
        }
    }
}

/// What settling an attempt by hand did to the job.
#[napi(object)]
pub struct JsSettled {
    pub finished_on: Option<f64>,
    pub attempts_made: f64,
    /// The stored failure stacks, as JSON text ("" for a completion).
    pub stacktrace: String,
    pub delay: Option<f64>,
    /// What the same call fetched, when asked to.
    pub next: Option<JsNextJob>,
}

/// The job a settling call fetched after, or why none came.
#[napi(object)]
pub struct JsNextJob {
    pub job: Option<JsJob>,
    pub rate_limit_ttl: f64,
    pub next_due: f64,
}

impl From<Settled> for JsSettled {
    fn from(s: Settled) -> JsSettled {
        JsSettled {
            finished_on: s.finished_on.map(|t| t as f64),
            attempts_made: s.attempts_made as f64,
            stacktrace: s.stacktrace,
            delay: s.delay.map(|d| d as f64),
            next: s.next.map(|n| JsNextJob {
                job: n.job.map(JsJob::from),
                rate_limit_ttl: n.rate_limit_ttl as f64,
                next_due: n.next_due as f64,
            }),
        }
    }
}

/// Reads a `removeOnComplete`/`removeOnFail` value passed as JSON text.
pub(crate) fn keep_jobs(json: &Option<String>) -> Result<Option<KeepJobs>> {
    let Some(text) = json else { return Ok(None) };
    let value = parse_json(text)?;
    Ok(KeepJobs::from_json(&value))
}

/// A JS number that must be whole (`what` names it in the error).
pub(crate) fn integer(value: f64, what: &str) -> Result<i64> {
    if !value.is_finite() || value.fract() != 0.0 {
        return Err(js_error(Error::InvalidArgument(format!(
            "{what} must be an integer"
        ))));
    }
    Ok(value as i64)
}

/// A JS number that must be finite (`what` names it in the error).
pub(crate) fn finite(value: f64, what: &str) -> Result<f64> {
    if !value.is_finite() {
        return Err(js_error(Error::InvalidArgument(format!(
            "{what} must be a finite number"
        ))));
    }
    Ok(value)
}

/// Parses JSON text the JS layer produced.
pub(crate) fn parse_json(text: &str) -> Result<serde_json::Value> {
    serde_json::from_str(text).map_err(|e| js_error(Error::InvalidArgument(e.to_string())))
}
