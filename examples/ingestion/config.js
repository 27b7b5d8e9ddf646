'use strict';

// Settings from the environment:
//   REDIS_URL        redis://127.0.0.1:6379
//   QUEUE_PREFIX     the Redis key prefix (BullMQ's `prefix` option), bull
//   RETRY_DELAY_MS   the first retry's delay; each next one waits 5 times longer, 5000
//   STEP_MS          how long each step of the simulated work takes, 200
//   PORT, API_TOKEN  the metrics API's port (3000) and bearer token (dev-token)

const url = new URL(process.env.REDIS_URL || 'redis://127.0.0.1:6379');

const connection = {
  host: url.hostname,
  port: Number(url.port || 6379),
  ...(url.username && { username: decodeURIComponent(url.username) }),
  ...(url.password && { password: decodeURIComponent(url.password) }),
  ...(url.pathname.length > 1 && { db: Number(url.pathname.slice(1)) }),
};

module.exports = {
  connection,
  prefix: process.env.QUEUE_PREFIX || 'bull',
  retryDelayMs: Number(process.env.RETRY_DELAY_MS || 5000),
  stepMs: Number(process.env.STEP_MS || 200),
  port: Number(process.env.PORT || 3000),
  apiToken: process.env.API_TOKEN || 'dev-token',
};
