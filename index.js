'use strict';

// bullrush: BullMQ's Queue, Worker, QueueEvents and Job on a Rust engine.

const { Queue } = require('./lib/queue');
const { Worker } = require('./lib/worker');
const { QueueEvents } = require('./lib/queue-events');
const { Job } = require('./lib/job');
const errors = require('./lib/errors');
const { MetricsTime } = require('./lib/metrics-time');
const { markUnsupported } = require('./lib/unsupported');
const { version } = require('./package.json');

Worker.RateLimitError = () => new errors.RateLimitError();

markUnsupported(Queue, [
  'upsertJobScheduler', 'getJobScheduler', 'getJobSchedulers', 'getJobSchedulersCount',
  'removeJobScheduler', 'removeOrphanedJobs', 'getDependencies',
]);
markUnsupported(Job, [
  'removeChildDependency', 'removeUnprocessedChildren', 'moveToWaitingChildren',
  'getChildrenValues', 'getIgnoredChildrenFailures', 'getDependencies', 'getDependenciesCount',
]);

module.exports = {
  Queue,
  Worker,
  QueueEvents,
  Job,
  MetricsTime,
  ...errors,
  version,
};
