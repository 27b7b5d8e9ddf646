'use strict';

// The three queues, their retry and retention policies, and how jobs are enqueued: each
// job id starts with its queue's tag, so a job id alone finds its queue.

const { Queue } = require('bullmq');
const config = require('./config');

const QUEUES = {
  enrichment: { tag: 'enrich', attempts: 5 }, // external APIs can fail
  competitor: { tag: 'competitor', attempts: 3 },
  'analytics-heavy': { tag: 'analytics', attempts: 2 }, // failures are mostly deterministic
};

const queues = new Map();

function getQueue(name) {
  const spec = QUEUES[name];
  if (!spec) throw new Error(`unknown queue ${name}`);
  if (!queues.has(name)) {
    queues.set(
      name,
      new Queue(name, {
        connection: config.connection,
        prefix: config.prefix,
        defaultJobOptions: {
          attempts: spec.attempts,
          backoff: { type: 'exponential', delay: config.backoffMs },
          // Finished jobs expire: completed after COMPLETED_TTL_S, failed (the dead letter
          // queue) after FAILED_TTL_S.
          removeOnComplete: { age: config.completedTtlS },
          removeOnFail: { age: config.failedTtlS },
        },
      }),
    );
  }
  return queues.get(name);
}

/** The queue of job `jobId`, from its tag; undefined for an id no queue makes. */
function queueOfJob(jobId) {
  const name = Object.keys(QUEUES).find((n) => jobId.startsWith(`${QUEUES[n].tag}-`));
  return name && getQueue(name);
}

function enqueue(name, data) {
  const jobId = `${QUEUES[name].tag}-${data.propertyId}-${Date.now()}`;
  return getQueue(name).add(name, data, { jobId });
}

async function closeQueues() {
  await Promise.all([...queues.values()].map((queue) => queue.close()));
  queues.clear();
}

module.exports = { QUEUES, getQueue, queueOfJob, enqueue, closeQueues };
