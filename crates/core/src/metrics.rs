//! Completed/failed metrics: per-minute counts workers with the `metrics` option record
//! (`<queue>:metrics:<kind>` and `…:data`), read back as BullMQ's `getMetrics` reads
//! them, and the Prometheus text BullMQ's `exportPrometheusMetrics` writes.

use crate::error::{Error, Result};
use crate::queue::Queue;
use crate::ranges::DEFAULT_JOB_TYPES;

/// A worker's `metrics` option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricsOptions {
    /// How many one-minute data points are kept.
    pub max_data_points: i64,
}

/// Which finished jobs a metrics series counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricsKind {
    Completed,
    Failed,
}

impl MetricsKind {
    /// Parses `completed` or `failed`.
    pub fn parse(name: &str) -> Result<MetricsKind> {
        match name {
            "completed" => Ok(MetricsKind::Completed),
            "failed" => Ok(MetricsKind::Failed),
            _ => Err(Error::InvalidArgument(format!(
                "Unknown metrics type {name}; the types are completed and failed"
            ))),
        }
    }

    /// The kind's name, as in its keys.
    pub fn name(self) -> &'static str {
        match self {
            MetricsKind::Completed => "completed",
            MetricsKind::Failed => "failed",
        }
    }
}

/// A metrics series: totals, and per-minute counts newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metrics {
    /// Jobs counted in all.
    pub count: i64,
    /// Ms of the last data point (or of the first job counted).
    pub prev_ts: i64,
    /// `count` at the last data point.
    pub prev_count: i64,
    /// The requested range of per-minute counts, newest first.
    pub data: Vec<i64>,
    /// How many data points are stored.
    pub points: i64,
}

/// A stored integer, 0 when missing (BullMQ's `parseInt(field || '0')`).
fn int(text: Option<&str>) -> i64 {
    text.and_then(|t| t.trim().parse().ok()).unwrap_or(0)
}

/// A Prometheus label value with `\`, `"` and newlines escaped.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Queue {
    /// The `kind` series, with data points `start..=end` (0 is the newest, -1 the oldest).
    pub async fn get_metrics(&self, kind: MetricsKind, start: i64, end: i64) -> Result<Metrics> {
        let key = format!("{}metrics:{}", self.keys().base, kind.name());
        let data_key = format!("{key}:data");
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("HMGET")
            .arg(&key)
            .arg(&["count", "prevTS", "prevCount"])
            .cmd("LRANGE")
            .arg(&data_key)
            .arg(start)
            .arg(end)
            .cmd("LLEN")
            .arg(&data_key);
        let (totals, data, points): (Vec<Option<String>>, Vec<String>, i64) =
            self.core().pipeline(&pipe).await?;
        let total = |i: usize| int(totals.get(i).and_then(|t| t.as_deref()));
        Ok(Metrics {
            count: total(0),
            prev_ts: total(1),
            prev_count: total(2),
            data: data.iter().map(|p| p.trim().parse().unwrap_or(0)).collect(),
            points,
        })
    }

    /// The job counts per state and the completed/failed totals in Prometheus' text
    /// format, each sample labelled with the queue and with `labels`, as BullMQ writes it.
    pub async fn export_prometheus_metrics(&self, labels: &[(String, String)]) -> Result<String> {
        let types: Vec<String> = DEFAULT_JOB_TYPES.iter().map(|t| t.to_string()).collect();
        let counts = self.get_job_counts(&types).await?;
        let completed = self.get_metrics(MetricsKind::Completed, 0, -1).await?;
        let failed = self.get_metrics(MetricsKind::Failed, 0, -1).await?;
        Ok(prometheus_text(
            self.name(),
            &counts,
            [completed.count, failed.count],
            labels,
        ))
    }
}

/// BullMQ's Prometheus text for queue `queue`: a gauge sample per `(state, count)` and the
/// `[completed, failed]` totals as counters, each labelled with the queue and `labels`.
pub fn prometheus_text(
    queue: &str,
    counts: &[(String, i64)],
    totals: [i64; 2],
    labels: &[(String, String)],
) -> String {
    let queue = label(queue);
    let extra: String = labels
        .iter()
        .map(|(k, v)| format!(", {k}=\"{}\"", label(v)))
        .collect();
    let mut lines = vec![
        "# HELP bullmq_job_count Number of jobs in the queue by state".to_string(),
        "# TYPE bullmq_job_count gauge".to_string(),
    ];
    for (state, n) in counts {
        lines.push(format!(
            "bullmq_job_count{{queue=\"{queue}\", state=\"{state}\"{extra}}} {n}"
        ));
    }
    for (kind, total) in ["completed", "failed"].into_iter().zip(totals) {
        lines.push(format!(
            "# HELP bullmq_job_{kind}_total Total number of {kind} jobs"
        ));
        lines.push(format!("# TYPE bullmq_job_{kind}_total counter"));
        lines.push(format!(
            "bullmq_job_{kind}_total{{queue=\"{queue}\"{extra}}} {total}"
        ));
    }
    lines.join("\n")
}
