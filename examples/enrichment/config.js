'use strict';

// Settings from the environment:
//   REDIS_URL                       redis://127.0.0.1:6379
//   QUEUE_PREFIX                    the Redis key prefix (BullMQ's `prefix` option), bull
//   ENRICHMENT_WORKER_CONCURRENCY   3
//   COMPETITOR_WORKER_CONCURRENCY   2
//   ANALYTICS_WORKER_CONCURRENCY    2
//   ENRICHMENT_RATE_MAX             enrichment jobs per RATE_DURATION_MS, 10
//   RATE_DURATION_MS                60000 (so 10 jobs a minute)
//   BACKOFF_MS                      the exponential backoff's first delay, 5000
//   COMPLETED_TTL_S, FAILED_TTL_S   how long finished jobs are kept: 24 h and 7 days
//   STEP_MS                         each step of the simulated work, 500
//   PORT                            the API's port, 3001

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
  concurrency: {
    enrichment: num('ENRICHMENT_WORKER_CONCURRENCY', 3),
    competitor: num('COMPETITOR_WORKER_CONCURRENCY', 2),
    'analytics-heavy': num('ANALYTICS_WORKER_CONCURRENCY', 2),
  },
  enrichmentLimit: { max: num('ENRICHMENT_RATE_MAX', 10), duration: num('RATE_DURATION_MS', 60000) },
  backoffMs: num('BACKOFF_MS', 5000),
  completedTtlS: num('COMPLETED_TTL_S', 24 * 3600),
  failedTtlS: num('FAILED_TTL_S', 7 * 24 * 3600),
  stepMs: num('STEP_MS', 500),
  port: num('PORT', 3001),
};
