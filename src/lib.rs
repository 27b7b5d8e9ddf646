//! The Node.js binding of bullrush-core: converts JS values to engine types and back.
//! No queue logic lives here.

mod active_job;
mod backend;
mod convert;
mod events;
mod flow;
// Public: its items are free napi functions, which only the addon's exports use.
pub mod options;
mod queue;
mod queue_getters;
mod reply;
pub mod scheduler;
mod socket;
mod worker;

use std::sync::Once;

/// The binding's one tokio runtime. A single worker thread by default: the engine's work
/// per job is small, and on few cores extra threads cost more in wake-ups than they give
/// (`BULLRUSH_THREADS` overrides it).
#[napi_derive::module_init]
fn init_runtime() {
    let threads = std::env::var("BULLRUSH_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n: &usize| *n > 0)
        .unwrap_or(1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .thread_name("bullrush")
        .enable_all()
        .build();
    match runtime {
        Ok(rt) => napi::bindgen_prelude::create_custom_tokio_runtime(rt),
        Err(err) => eprintln!("bullrush: could not start its runtime: {err}"),
    }
}

/// Switches on `tracing` output when `BULLRUSH_LOG` is set (e.g. `BULLRUSH_LOG=debug`).
pub(crate) fn init_tracing() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        let Ok(filter) = std::env::var("BULLRUSH_LOG") else {
            return;
        };
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_writer(std::io::stderr)
            .try_init();
    });
}
