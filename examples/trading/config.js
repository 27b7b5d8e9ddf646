'use strict';

// Settings from the environment:
//   REDIS_URL         redis://127.0.0.1:6379
//   QUEUE_PREFIX      the Redis key prefix (BullMQ's `prefix` option), bull
//   RETRY_DELAY_MS    the exponential backoff's first delay (1 s, 2 s, 4 s), 1000
//   ORDER_RATE_MAX    order submissions the exchange takes per second, 10

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
  retryDelayMs: Number(process.env.RETRY_DELAY_MS || 1000),
  orderRateMax: Number(process.env.ORDER_RATE_MAX || 10),
};
