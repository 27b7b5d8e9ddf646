'use strict';

// The workers: one per queue, each with its concurrency, started and stopped together.
// `node workers.js` runs them until SIGTERM/SIGINT, then lets the running jobs finish.

const { Worker, UnrecoverableError } = require('bullmq');
const { connection, prefix, stepMs } = require('./config');

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Runs `steps` simulated steps, reporting the progress after each (0 ... 100).
async function work(job, steps) {
  await job.updateProgress(0);
  for (let step = 1; step <= steps; step += 1) {
    await sleep(stepMs);
    await job.updateProgress(Math.round((step * 100) / steps));
  }
}

const processors = {
  async ingestion(job) {
    const bad = (job.data.data || []).find((row) => typeof row.value !== 'number');
    // A job that can never succeed fails at once, without its retries.
    if (bad) throw new UnrecoverableError(`invalid value for ${bad.date}`);
    await work(job, 3);
    return { rows: (job.data.data || []).length };
  },
  async calculation(job) {
    await work(job, 3);
    return { status: 'SUCCESS', timestamp: new Date().toISOString() };
  },
  async webhooks(job) {
    // `failAttempts` stands in for a receiver that is down for that many attempts.
    if (job.attemptsMade < (job.data.failAttempts || 0)) {
      throw new Error(`receiver answered 503 (attempt ${job.attemptsMade + 1})`);
    }
    await work(job, 1);
    return { delivered: true, attempt: job.attemptsMade + 1 };
  },
  async reports(job) {
    await work(job, job.data.pages || 3);
    return { url: `/reports/${job.data.tenantId}/${job.id}.${job.data.format || 'pdf'}` };
  },
};

const CONCURRENCY = { ingestion: 3, calculation: 2, webhooks: 5, reports: 2 };

// Retry n waits RETRY_DELAY_MS × 5^(n-1): 5 s, 25 s, 125 s with the default 5 s.
function backoffStrategy(attemptsMade, type, err, job) {
  if (type !== 'power-of-5') return -1;
  return job.opts.backoff.delay * 5 ** (attemptsMade - 1);
}

const workers = new Map();

function label(name) {
  return `[${name[0].toUpperCase()}${name.slice(1)} Worker]`;
}

function startWorkers() {
  for (const [name, processor] of Object.entries(processors)) {
    if (workers.has(name)) continue;
    const worker = new Worker(name, processor, {
      connection,
      prefix,
      concurrency: CONCURRENCY[name],
      settings: { backoffStrategy },
      // Webhook receivers get at most 100 deliveries a minute.
      ...(name === 'webhooks' && { limiter: { max: 100, duration: 60000 } }),
    });
    worker.on('active', (job) => console.log(`${label(name)} Processing: ${job.id}`));
    worker.on('completed', (job) => {
      console.log(`${label(name)} Completed: ${job.id} (${((job.finishedOn - job.processedOn) / 1000).toFixed(1)}s)`);
    });
    worker.on('failed', (job, err) => console.log(`[Worker] Job failed: ${job?.id}: ${err.message}`));
    workers.set(name, worker);
  }
}

/** Closes every worker; each waits for its running jobs first. */
async function stopWorkers() {
  await Promise.all([...workers.values()].map((worker) => worker.close()));
  workers.clear();
}

function getWorkerStatus() {
  return [...workers].map(([name, worker]) => ({ name, isRunning: worker.isRunning(), isPaused: worker.isPaused() }));
}

if (require.main === module) {
  startWorkers();
  console.log('workers started:', JSON.stringify(getWorkerStatus()));
  for (const signal of ['SIGTERM', 'SIGINT']) {
    process.once(signal, async () => {
      console.log('Shutting down workers...');
      await stopWorkers();
      console.log('workers stopped');
      process.exit(0);
    });
  }
}

module.exports = { startWorkers, stopWorkers, getWorkerStatus, CONCURRENCY };
