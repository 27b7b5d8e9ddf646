'use strict';

// The two sides of every interop test: real BullMQ and the implementation
// under test, plus common options.

const bullmq = require('bullmq');
const impl = require('./impl');
const { implLabel } = require('./env');
const { connection } = require('./redis');

const sides = [
  { label: 'bullmq', lib: bullmq },
  { label: implLabel, lib: impl },
];

// Producer on one side, worker (consumer) on the other; both directions.
const directions = [
  { label: `bullmq → ${implLabel}`, producer: sides[0], consumer: sides[1] },
  { label: `${implLabel} → bullmq`, producer: sides[1], consumer: sides[0] },
];

// Short timings, so the suite runs in minutes. drainDelay is in seconds.
function workerOpts(extra = {}) {
  return { connection, drainDelay: 1, lockDuration: 2000, stalledInterval: 1000, ...extra };
}

module.exports = { bullmq, impl, sides, directions, workerOpts, connection };
