//! bullrush-core: a job-queue engine that speaks BullMQ's Redis protocol.
//!
//! A [`Queue`] adds and administers jobs, a [`Worker`] takes jobs and hands them to a
//! [`Host`] (a Rust closure through [`FnProcessor`], or the Node.js binding), and
//! [`QueueEvents`] reads the events stream. Redis state matches BullMQ's, so BullMQ
//! producers, workers and listeners can share queues with these.

mod active_job;
mod add;
pub mod clean;
pub mod clock;
mod coalesce;
pub mod connection;
mod connection_options;
pub mod custom_events;
pub mod dedup;
mod dedup_keys;
pub mod edit;
pub mod error;
pub mod events;
pub mod flow;
pub mod health;
pub mod job;
pub mod keys;
mod link;
pub mod meta;
pub mod metrics;
pub mod options;
pub mod orphans;
pub mod outage;
pub mod parent;
pub mod processor;
pub mod queue;
mod queue_base;
pub mod ranges;
mod readiness;
pub mod removal;
pub mod requeue;
mod resp;
pub mod retry;
pub mod scheduler;
mod scripts;
mod truthy;
pub mod worker;
pub mod workers;

pub use clean::CleanState;
pub use clock::Clock;
pub use connection::{ClientIdentity, ConnectionOptions, TlsOptions};
pub use dedup::Deduplication;
pub use edit::PriorityChange;
pub use error::{Error, GiveUp, Result, ScriptCode};
pub use events::{EventsHost, QueueEvents, QueueEventsOptions, StreamEvent};
pub use job::Job;
pub use keys::{JobState, QueueKeys};
pub use link::{LinkSocket, ReplyFeed, SocketReader};
pub use meta::QueueMeta;
pub use metrics::{Metrics, MetricsKind, MetricsOptions};
pub use options::{Backoff, JobOptions, KeepJobs, NewJob};
pub use processor::{FnProcessor, JobError};
pub use queue::{Defaults, Finished, Queue, QueueOptions, VERSION};
pub use removal::Children;
pub use requeue::FinishedState;
pub use retry::Patience;
pub use scheduler::{RepeatOptions, Template};
pub use worker::{
    BatchOptions, Failure, Host, Limiter, NextJob, Outcome, Reporter, Settled, Worker, WorkerEvent,
    WorkerOptions,
};
pub use workers::ClientInfo;

/// Milliseconds since the Unix epoch, from the system clock.
pub use clock::system_ms as now_ms;
