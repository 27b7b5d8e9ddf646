'use strict';

// The four queues and what the app does with them: enqueue (idempotent by job id), job
// status, metrics, events, retrying and cleaning up failed jobs.

const { Queue, QueueEvents } = require('bullmq');
const { connection, prefix, retryDelayMs } = require('./config');

const QUEUE_NAMES = ['ingestion', 'calculation', 'webhooks', 'reports'];

// Three attempts; retries wait RETRY_DELAY_MS, then 5 times longer each time (5 s, 25 s,
// 125 s ...): the `power-of-5` backoff the workers define (workers.js).
const defaultJobOptions = {
  attempts: 3,
  backoff: { type: 'power-of-5', delay: retryDelayMs },
  removeOnComplete: { count: 1000 },
  removeOnFail: { count: 5000 },
};

const queues = new Map();
const queueEvents = new Map();

/** The queue `name` (one of QUEUE_NAMES), made on first use. */
function getQueue(name) {
  if (!QUEUE_NAMES.includes(name)) throw new Error(`unknown queue ${name}`);
  if (!queues.has(name)) queues.set(name, new Queue(name, { connection, prefix, defaultJobOptions }));
  return queues.get(name);
}

/** The QueueEvents of queue `name`: completed, failed, progress ... from every worker. */
function getQueueEvents(name) {
  getQueue(name);
  if (!queueEvents.has(name)) queueEvents.set(name, new QueueEvents(name, { connection, prefix }));
  return queueEvents.get(name);
}

// A job id makes an enqueue idempotent: adding the same id again answers the job already
// there. BullMQ runs lower priorities first (1 before 100), and jobs without one before both.
function enqueueIngestion(data, opts = {}) {
  return getQueue('ingestion').add('ingest', data, {
    jobId: `ingest-${data.tenantId}-${data.seriesCode}-${data.asOfDate}-${data.versionTag}`,
    ...opts,
  });
}

function enqueueCalculation(data, opts = {}) {
  return getQueue('calculation').add('calculate', data, { jobId: `calc-${data.tenantId}-${data.batchId}`, ...opts });
}

function enqueueWebhook(data, opts = {}) {
  return getQueue('webhooks').add('deliver', data, { jobId: `webhook-${data.messageId}`, ...opts });
}

function enqueueReport(data, opts = {}) {
  return getQueue('reports').add('report', data, opts);
}

/** { state, progress, result, failedReason, attemptsMade }, or null for an unknown job. */
async function getJobStatus(name, jobId) {
  // The state first: a job read after it was seen completed carries its result.
  const queue = getQueue(name);
  const state = await queue.getJobState(jobId);
  const job = state === 'unknown' ? undefined : await queue.getJob(jobId);
  if (!job) return null;
  return {
    state,
    progress: job.progress,
    result: job.returnvalue,
    failedReason: job.failedReason,
    attemptsMade: job.attemptsMade,
  };
}

/** { waiting, active, completed, failed, delayed, paused }; waiting counts prioritized jobs. */
async function getQueueMetrics(name) {
  const c = await getQueue(name).getJobCounts('waiting', 'prioritized', 'active', 'completed', 'failed', 'delayed', 'paused');
  return {
    waiting: c.waiting + c.prioritized,
    active: c.active,
    completed: c.completed,
    failed: c.failed,
    delayed: c.delayed,
    paused: c.paused,
  };
}

async function getAllQueueMetrics() {
  const all = {};
  for (const name of QUEUE_NAMES) all[name] = await getQueueMetrics(name);
  return all;
}

/** The dead letter queue: jobs that failed every attempt. */
function getFailedJobs(name) {
  return getQueue(name).getFailed();
}

/** Retries every failed job of queue `name`; answers how many. */
async function retryFailedJobs(name) {
  const failed = await getFailedJobs(name);
  for (const job of failed) await job.retry();
  return failed.length;
}

/** Removes completed jobs older than `completedAgeMs` and failed ones older than `failedAgeMs`. */
async function cleanOldJobs({ completedAgeMs = 7 * 24 * 3600 * 1000, failedAgeMs = 30 * 24 * 3600 * 1000 } = {}) {
  const removed = {};
  for (const name of QUEUE_NAMES) {
    const queue = getQueue(name);
    const completed = await queue.clean(completedAgeMs, 1000, 'completed');
    const failed = await queue.clean(failedAgeMs, 1000, 'failed');
    removed[name] = completed.length + failed.length;
  }
  return removed;
}

async function closeQueues() {
  for (const events of queueEvents.values()) await events.close();
  for (const queue of queues.values()) await queue.close();
  queueEvents.clear();
  queues.clear();
}

module.exports = {
  QUEUE_NAMES,
  getQueue,
  getQueueEvents,
  enqueueIngestion,
  enqueueCalculation,
  enqueueWebhook,
  enqueueReport,
  getJobStatus,
  getQueueMetrics,
  getAllQueueMetrics,
  getFailedJobs,
  retryFailedJobs,
  cleanOldJobs,
  closeQueues,
};
