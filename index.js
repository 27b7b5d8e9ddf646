'use strict';

// bullrush: BullMQ's Queue, Worker, QueueEvents, Job and FlowProducer on a Rust engine.

const { Queue } = require('./lib/queue');
const { Worker } = require('./lib/worker');
const { QueueEvents } = require('./lib/queue-events');
const { Job } = require('./lib/job');
const { FlowProducer } = require('./lib/flow-producer');
const errors = require('./lib/errors');
const { MetricsTime } = require('./lib/metrics-time');
const { markUnsupported } = require('./lib/unsupported');
const { version } = require('./package.json');

Worker.RateLimitError = () => new errors.RateLimitError();

markUnsupported(Queue, [
  'upsertJobScheduler', 'getJobScheduler', 'getJobSchedulers', 'getJobSchedulersCount',
  'removeJobScheduler',
]);

module.exports = {
  Queue,
  Worker,
  QueueEvents,
  Job,
  FlowProducer,
  MetricsTime,
  ...errors,
  version,
};
