//! Job option helpers BullMQ exposes as static functions (`Job.optsFromJSON`,
//! `Backoffs`): the engine's own decoding and backoff arithmetic, for the JS layer.

use bullrush_core::options::decode_stored_opts;
use bullrush_core::Backoff;
use napi::bindgen_prelude::Result;
use napi_derive::napi;

use crate::convert::{integer, parse_json};

/// Stored job options (short keys) as BullMQ's `Job` shows them, both as JSON text.
#[napi]
pub fn decode_job_opts(stored: String) -> String {
    decode_stored_opts(&stored)
}

/// The delay (ms) a built-in backoff (`{type, delay, jitter}` as JSON text) waits after
/// failed attempt `attempts_made`; null for a type the engine does not know.
#[napi]
pub fn backoff_delay(backoff: String, attempts_made: f64) -> Result<Option<f64>> {
    let attempts_made = integer(attempts_made, "attemptsMade")?;
    let parsed = Backoff::from_json(&parse_json(&backoff)?);
    Ok(match parsed {
        Some(strategy @ (Backoff::Fixed { .. } | Backoff::Exponential { .. })) => {
            strategy.delay_for(attempts_made).map(|ms| ms as f64)
        }
        _ => None,
    })
}
