//! The Node.js binding of bullrush-core: converts JS values to engine types and back.
//! No queue logic lives here.

mod convert;
mod events;
mod queue;
mod worker;

use std::sync::Once;

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
