'use strict';

// Settings from the environment, with the seed system's values as defaults:
//   REDIS_URL            redis://127.0.0.1:6379
//   QUEUE_PREFIX         the Redis key prefix (BullMQ's `prefix` option), bull
//   RATE_LIMIT_MS        the worker takes at most one job per this many ms, 5000
//   USER_BACKOFF_MS      a user's next job waits this long after one failed job, doubling
//                        with each further failure in a row (30 s, 60 s, 120 s ...), 30000
//   RETRY_DELAY_MS       BullMQ's exponential backoff between a job's attempts, 1000

const url = new URL(process.env.REDIS_URL || 'redis://127.0.0.1:6379');

const connection = {
  host: url.hostname,
  port: Number(url.port || 6379),
  ...(url.username && { username: decodeURIComponent(url.username) }),
  ...(url.password && { password: decodeURIComponent(url.password) }),
  ...(url.pathname.length > 1 && { db: Number(url.pathname.slice(1)) }),
};

const ms = (name, fallback) => Number(process.env[name] || fallback);

module.exports = {
  connection,
  prefix: process.env.QUEUE_PREFIX || 'bull',
  rateLimitMs: ms('RATE_LIMIT_MS', 5000),
  userBackoffMs: ms('USER_BACKOFF_MS', 30000),
  retryDelayMs: ms('RETRY_DELAY_MS', 1000),
};
