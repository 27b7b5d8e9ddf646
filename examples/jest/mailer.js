'use strict';

// The app code under test: a queue of e-mails and the worker that sends them.

const { Queue, Worker } = require('bullmq');

/** The queue the app adds e-mails to. */
function mailQueue(name, connection) {
  return new Queue(name, { connection, defaultJobOptions: { attempts: 3, backoff: { type: 'fixed', delay: 10 } } });
}

/** The worker that "sends" an e-mail: it fails for addresses without `@`, and reports progress. */
function mailWorker(name, connection) {
  return new Worker(
    name,
    async (job) => {
      if (!job.data.to.includes('@')) throw new Error(`bad address: ${job.data.to}`);
      await job.updateProgress(50);
      return { sent: job.data.to };
    },
    { connection },
  );
}

module.exports = { mailQueue, mailWorker };
