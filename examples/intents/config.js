'use strict';

// Settings from the environment, with the module's documented defaults:
//   REDIS_URL                 redis://127.0.0.1:6379
//   QUEUE_PREFIX              the Redis key prefix (BullMQ's `prefix` option), bull
//   FULFILLMENT_CONCURRENCY   10      EXECUTION_CONCURRENCY   5
//   FULFILLMENT_BACKOFF_MS    2000    EXECUTION_BACKOFF_MS    5000  (exponential)
//   MAX_STALLED_COUNT         3       STALLED_INTERVAL_MS     30000
//   LOCK_DURATION_MS          30000
//   CONFIRMATION_MS           how long a simulated transaction takes to confirm, 1000
//   FAILED_ALERT              failed jobs from which the queues count as unhealthy, 100
//   PORT                      3000

const url = new URL(process.env.REDIS_URL || 'redis://127.0.0.1:6379');

const connection = {
  host: url.hostname,
  port: Number(url.port || 6379),
  ...(url.username && { username: decodeURIComponent(url.username) }),
  ...(url.password && { password: decodeURIComponent(url.password) }),
  ...(url.pathname.length > 1 && { db: Number(url.pathname.slice(1)) }),
};

const num = (name, fallback) => Number(process.env[name] || fallback);

module.exports = {
  connection,
  prefix: process.env.QUEUE_PREFIX || 'bull',
  queues: {
    fulfillment: {
      name: 'intent-fulfillment',
      concurrency: num('FULFILLMENT_CONCURRENCY', 10),
      defaultJobOptions: {
        attempts: 3,
        backoff: { type: 'exponential', delay: num('FULFILLMENT_BACKOFF_MS', 2000) },
        removeOnComplete: 100,
        removeOnFail: 500,
      },
    },
    execution: {
      name: 'blockchain-execution',
      concurrency: num('EXECUTION_CONCURRENCY', 5),
      defaultJobOptions: {
        attempts: 3,
        backoff: { type: 'exponential', delay: num('EXECUTION_BACKOFF_MS', 5000) },
        removeOnComplete: 100,
        removeOnFail: 1000,
      },
    },
  },
  worker: {
    maxStalledCount: num('MAX_STALLED_COUNT', 3),
    stalledInterval: num('STALLED_INTERVAL_MS', 30000),
    lockDuration: num('LOCK_DURATION_MS', 30000),
  },
  confirmationMs: num('CONFIRMATION_MS', 1000),
  failedAlert: num('FAILED_ALERT', 100),
  port: num('PORT', 3000),
};
