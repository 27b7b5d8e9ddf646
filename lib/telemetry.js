'use strict';

// BullMQ's telemetry helpers: spans through the `telemetry` option's tracer and context
// manager (the interfaces `bullmq-otel` implements); without telemetry they only call back.

const { SpanKind, TelemetryAttributes, MetricNames } = require('./enums');

/** The counter of each state a job reaches, as BullMQ counts them. */
const STATE_COUNTERS = {
  completed: MetricNames.JobsCompleted,
  failed: MetricNames.JobsFailed,
  delayed: MetricNames.JobsDelayed,
  retried: MetricNames.JobsRetried,
  waiting: MetricNames.JobsWaiting,
  'waiting-children': MetricNames.JobsWaitingChildren,
};

/** The state a move span's operation leaves the job in. */
const MOVE_STATES = { complete: 'completed', fail: 'failed', delay: 'delayed', retry: 'retried' };

/**
 * Runs `callback(span, dstPropagationMetadata)` inside a span named `<operation>
 * <destination>` when `telemetry` is given, recording a thrown error on the span.
 */
async function trace(telemetry, spanKind, queueName, operation, destination, callback, srcPropagationMetadata) {
  if (!telemetry) return callback();
  const { tracer, contextManager } = telemetry;
  const current = contextManager.active();
  const parent = srcPropagationMetadata ? contextManager.fromMetadata(current, srcPropagationMetadata) : undefined;
  const span = tracer.startSpan(destination ? `${operation} ${destination}` : operation, { kind: spanKind }, parent);
  try {
    span.setAttributes({
      [TelemetryAttributes.QueueName]: queueName,
      [TelemetryAttributes.QueueOperation]: operation,
    });
    const context = span.setSpanOnContext(spanKind === SpanKind.CONSUMER && parent ? parent : current);
    const metadata = callback.length === 2 ? contextManager.getMetadata(context) : undefined;
    return await contextManager.with(context, () => callback(span, metadata));
  } catch (err) {
    span.recordException(err);
    throw err;
  } finally {
    span.end();
  }
}

/** Runs `callback` under the context manager's root context, when it has one. */
function withDetachedContext(telemetry, callback) {
  const contextManager = telemetry && telemetry.contextManager;
  if (!contextManager || typeof contextManager.root !== 'function') return callback();
  return contextManager.with(contextManager.root(), callback);
}

/** The `fail` span's operation for a failed attempt, from the engine's `failed` event. */
function failOperation(event) {
  if (event.finishedOn !== undefined && event.finishedOn !== null) return 'fail';
  return event.delay !== undefined && event.delay !== null ? 'delay' : 'retry';
}

/**
 * BullMQ's job metrics through the `telemetry` option's meter, when it has one: the count
 * of jobs reaching `state` and, for a job that was processed, how long since it started.
 */
function recordJobMetrics(telemetry, queueName, job, state) {
  const meter = telemetry && telemetry.meter;
  if (!meter) return;
  const attributes = {
    [TelemetryAttributes.QueueName]: queueName,
    [TelemetryAttributes.JobName]: job.name,
    [TelemetryAttributes.JobState]: state,
  };
  meter.createCounter(STATE_COUNTERS[state], { description: `Number of jobs ${state}`, unit: '1' }).add(1, attributes);
  if (!job.processedOn) return;
  meter
    .createHistogram(MetricNames.JobDuration, { description: 'Job processing duration', unit: 'ms' })
    .record(Date.now() - job.processedOn, attributes);
}

/**
 * Records the INTERNAL span `<operation> <queue>` of a job's move that began at `startTime`
 * (the engine settles moves in batches, so the span is made once the outcome is known),
 * as a child of `context`, and the job metrics of the state it moved to.
 */
function recordMove(telemetry, context, queueName, operation, startTime, job) {
  recordJobMetrics(telemetry, queueName, job, MOVE_STATES[operation]);
  const span = telemetry.tracer.startSpan(`${operation} ${queueName}`, { kind: SpanKind.INTERNAL, startTime }, context);
  span.setAttributes({
    [TelemetryAttributes.QueueName]: queueName,
    [TelemetryAttributes.QueueOperation]: operation,
    [TelemetryAttributes.JobName]: job.name,
    [TelemetryAttributes.JobId]: job.id,
  });
  span.end();
}

/**
 * Runs a worker's job attempt (`work` starts the processor and reports its outcome) in the
 * CONSUMER span `process <queue>`, a child of the producer's span when the job carries its
 * context. The span lasts until the engine has settled the attempt: `entry.settle(event)`
 * with the engine's `completed`/`failed` event (first recording the `complete`, `fail`,
 * `retry` or `delay` span under it), or `entry.settle()` for an attempt let go.
 */
function traceProcess(worker, entry, work) {
  const { job } = entry;
  const telemetry = worker.opts.telemetry;
  const metadata = job.opts && job.opts.telemetry ? job.opts.telemetry.metadata : undefined;
  return worker.trace(
    SpanKind.CONSUMER,
    'process',
    worker.name,
    (span) => {
      span.setAttributes({
        [TelemetryAttributes.WorkerId]: worker.id,
        [TelemetryAttributes.WorkerName]: worker.opts.name,
        [TelemetryAttributes.JobId]: job.id,
        [TelemetryAttributes.JobName]: job.name,
      });
      const context = telemetry.contextManager.active();
      let reportedAt;
      const settled = new Promise((resolve) => {
        entry.settle = (event) => {
          entry.settle = undefined;
          if (event) recordMove(telemetry, context, worker.name, moveOperation(event), reportedAt, job);
          resolve(event);
        };
      });
      const reported = () => {
        reportedAt = Date.now();
      };
      Promise.resolve(work()).then(reported, reported);
      return settled.then((event) => closeProcessSpan(span, job, event, entry));
    },
    metadata,
  );
}

/** The move span's operation for the engine's event of a settled attempt. */
function moveOperation(event) {
  return event.kind === 'completed' ? 'complete' : failOperation(event);
}

// What BullMQ's process span says last: the outcome (an event and the attempts made) and
// the attempt's timestamps.
function closeProcessSpan(span, job, event, entry) {
  if (event && event.kind === 'completed') {
    span.addEvent('job completed', { [TelemetryAttributes.JobResult]: JSON.stringify(entry.result) });
  } else if (event) {
    span.addEvent('job failed', { [TelemetryAttributes.JobFailedReason]: event.message });
  }
  if (event) span.setAttributes({ [TelemetryAttributes.JobAttemptsMade]: job.attemptsMade });
  span.setAttributes({
    [TelemetryAttributes.JobAttemptFinishedTimestamp]: job.finishedOn || Date.now(),
    [TelemetryAttributes.JobProcessedTimestamp]: job.processedOn,
  });
}

module.exports = { trace, withDetachedContext, traceProcess, recordMove, recordJobMetrics, failOperation };
