'use strict';

// Processes the jobs server.js enqueues: doubles `n`. A job asking for `failures: k` fails
// its first k attempts (a flaky dependency), so it uses up its retries and waits in the
// failed list until POST /api/jobs/:id/retry.

const { Worker } = require('bullmq');
const { connection, queueName } = require('./connection');

const worker = new Worker(
  queueName,
  async (job) => {
    await job.updateProgress(50);
    if (job.attemptsMade < (job.data.failures ?? 0)) {
      throw new Error(`flaky dependency (attempt ${job.attemptsMade + 1})`);
    }
    return { doubled: job.data.n * 2 };
  },
  { connection, concurrency: 4 },
);

worker.on('completed', (job) => console.log(`job ${job.id} completed`));
worker.on('failed', (job, err) => console.log(`job ${job.id} failed: ${err.message}`));

for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => worker.close());
