'use strict';

// bullrush: BullMQ's Queue, Worker, QueueEvents and Job on a Rust engine.

const { Queue } = require('./lib/queue');
const { Worker } = require('./lib/worker');
const { QueueEvents } = require('./lib/queue-events');
const { Job } = require('./lib/job');
const errors = require('./lib/errors');
const { version } = require('./package.json');

Worker.RateLimitError = () => new errors.RateLimitError();

module.exports = {
  Queue,
  Worker,
  QueueEvents,
  Job,
  ...errors,
  version,
};
