'use strict';

// BullMQ's spans of the Queue's and Worker's operations: with the `telemetry` option each
// listed method runs in the span `<method> <queue>` (INTERNAL, or the kind given) with
// BullMQ's attributes for it (from its arguments, or with `after` from its result too);
// without the option the method is called as it is.

const { SpanKind, TelemetryAttributes: A } = require('./enums');

const workerIds = (worker) => ({ [A.WorkerId]: worker.id, [A.WorkerName]: worker.opts.name });

/** Per Queue method: its span's kind and its attributes from `(queue, args, result)`. */
const QUEUE_SPANS = {
  pause: {},
  resume: {},
  close: {},
  obliterate: {},
  rateLimit: { attributes: (queue, [ms]) => ({ [A.QueueRateLimit]: ms }) },
  removeDeduplicationKey: { attributes: (queue, [id]) => ({ [A.DeduplicationKey]: id }) },
  removeDebounceKey: { attributes: (queue, [id]) => ({ [A.JobKey]: id }) },
  remove: {
    attributes: (queue, [jobId, { removeChildren = true } = {}]) => ({
      [A.JobId]: jobId,
      [A.JobOptions]: JSON.stringify({ removeChildren }),
    }),
  },
  updateJobProgress: {
    attributes: (queue, [jobId, progress]) => ({ [A.JobId]: jobId, [A.JobProgress]: JSON.stringify(progress) }),
  },
  drain: { attributes: (queue, [delayed = false]) => ({ [A.QueueDrainDelay]: delayed }) },
  clean: {
    after: true,
    attributes: (queue, [grace, limit, type = 'completed'], cleaned) => ({
      [A.QueueGrace]: grace,
      [A.JobType]: type,
      [A.QueueCleanLimit]: limit || Infinity,
      [A.QueueCleanCount]: cleaned.length,
    }),
  },
  retryJobs: { kind: SpanKind.PRODUCER, attributes: (queue, [opts = {}]) => ({ [A.QueueOptions]: JSON.stringify(opts) }) },
  promoteJobs: { attributes: (queue, [opts = {}]) => ({ [A.QueueOptions]: JSON.stringify(opts) }) },
  trimEvents: { attributes: (queue, [maxLength]) => ({ [A.QueueEventMaxLength]: maxLength }) },
};

/** Per Worker method, as QUEUE_SPANS. */
const WORKER_SPANS = {
  pause: { attributes: (worker, [doNotWaitActive]) => ({ ...workerIds(worker), [A.WorkerDoNotWaitActive]: doNotWaitActive }) },
  resume: { attributes: (worker) => workerIds(worker) },
  close: { attributes: (worker, [force = false]) => ({ ...workerIds(worker), [A.WorkerForceClose]: force }) },
  rateLimit: { attributes: (worker, [ms]) => ({ [A.WorkerId]: worker.id, [A.WorkerRateLimit]: ms }) },
  startStalledCheckTimer: { attributes: (worker) => workerIds(worker) },
};

/** Wraps each method of `cls` named in `spans` in its span when the instance has `telemetry`. */
function traceMethods(cls, spans) {
  for (const [method, { kind = SpanKind.INTERNAL, attributes, after }] of Object.entries(spans)) {
    const untraced = cls.prototype[method];
    Object.defineProperty(cls.prototype, method, {
      value: function traced(...args) {
        if (!this.opts.telemetry) return untraced.apply(this, args);
        return this.trace(kind, method, this.name, async (span) => {
          if (attributes && !after) span.setAttributes(attributes(this, args));
          const result = await untraced.apply(this, args);
          if (attributes && after) span.setAttributes(attributes(this, args, result));
          return result;
        });
      },
      writable: true,
      configurable: true,
    });
  }
}

/** Gives the Queue's and Worker's operations BullMQ's spans. */
function traceOperations(Queue, Worker) {
  traceMethods(Queue, QUEUE_SPANS);
  traceMethods(Worker, WORKER_SPANS);
}

module.exports = { traceOperations };
