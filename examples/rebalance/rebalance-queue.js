'use strict';

// The rebalance queue: one job at a time, at most one job per RATE_LIMIT_MS, three attempts,
// manual triggers ahead of automated ones, one pending job per user, and a user whose jobs
// keep failing waits longer and longer before the next one runs.

const crypto = require('node:crypto');
const { Queue, Worker } = require('bullmq');
const config = require('./config');

const QUEUE_NAME = 'rebalance';

// BullMQ runs the lowest number first; a job without a priority runs before any with one.
const PRIORITY = { manual: 1, automated: 10 };

// The states of a job that is not finished yet.
const PENDING = ['waiting', 'prioritized', 'delayed', 'active', 'waiting-children'];

class RebalanceQueueService {
  /**
   * `rebalance(data, job)` does the work (simulate, then execute) and answers its result;
   * it throws to fail the attempt.
   */
  constructor({ rebalance, ...settings } = {}) {
    this.settings = { ...config, ...settings };
    this.rebalance = rebalance || simulateAndExecute;
    this.queue = new Queue(QUEUE_NAME, {
      connection: this.settings.connection,
      prefix: this.settings.prefix,
      defaultJobOptions: {
        attempts: 3,
        backoff: { type: 'exponential', delay: this.settings.retryDelayMs },
        removeOnComplete: 1000,
        removeOnFail: 5000,
      },
    });
    this.activeJobs = new Map(); // userId → the id of the user's pending job (fast path)
    this.failures = new Map(); // userId → failed jobs in a row
  }

  /**
   * Queues a rebalance for `userId`, unless the user already has one pending: answers
   * { added: true, jobId, delay } or { added: false, reason }.
   */
  async addRebalanceJob(userId, { trigger = 'automated', ...params } = {}) {
    const tracked = this.activeJobs.get(userId);
    if (tracked && PENDING.includes(await this.queue.getJobState(tracked))) {
      return { added: false, reason: `user ${userId} already has rebalance job ${tracked} pending` };
    }
    this.activeJobs.delete(userId);

    const failures = this.failures.get(userId) ?? 0;
    const delay = failures > 0 ? this.settings.userBackoffMs * 2 ** (failures - 1) : 0;
    const jobId = `rebalance-${userId}-${crypto.randomUUID()}`;
    // The deduplication id is the check that holds across processes: while a job of this
    // user is unfinished, add answers that job instead of adding another.
    const job = await this.queue.add(
      'rebalance',
      { userId, trigger, ...params },
      { jobId, delay, priority: PRIORITY[trigger], deduplication: { id: `user-${userId}` } },
    );
    if (job.id !== jobId) {
      this.activeJobs.set(userId, job.id);
      return { added: false, reason: `user ${userId} already has rebalance job ${job.id} pending` };
    }
    this.activeJobs.set(userId, jobId);
    return { added: true, jobId, delay };
  }

  /** Starts the worker: serial, and at most one job per RATE_LIMIT_MS. */
  startWorker() {
    this.worker = new Worker(QUEUE_NAME, (job) => this.process(job), {
      connection: this.settings.connection,
      prefix: this.settings.prefix,
      concurrency: 1,
      limiter: { max: 1, duration: this.settings.rateLimitMs },
    });
    this.worker.on('completed', (job) => this.settle(job.data.userId, true));
    this.worker.on('failed', (job) => {
      if (job && job.attemptsMade >= job.opts.attempts) this.settle(job.data.userId, false);
    });
    return this.worker;
  }

  async process(job) {
    await job.updateProgress({ stage: 'SIMULATING' });
    const result = await this.rebalance(job.data, job);
    await job.updateProgress({ stage: 'COMPLETED' });
    return result;
  }

  // A finished job: success resets the user's failures, a final failure adds one.
  settle(userId, succeeded) {
    this.activeJobs.delete(userId);
    if (succeeded) this.failures.delete(userId);
    else this.failures.set(userId, (this.failures.get(userId) ?? 0) + 1);
  }

  /** { waiting, active, completed, failed, delayed, total }; waiting counts prioritized jobs. */
  async getQueueMetrics() {
    const counts = await this.queue.getJobCounts('waiting', 'prioritized', 'active', 'completed', 'failed', 'delayed');
    const metrics = {
      waiting: counts.waiting + counts.prioritized,
      active: counts.active,
      completed: counts.completed,
      failed: counts.failed,
      delayed: counts.delayed,
    };
    return { ...metrics, total: Object.values(metrics).reduce((a, b) => a + b, 0) };
  }

  /** Maintenance: removes every job that is not running, and forgets the tracking. */
  async clearQueue() {
    await this.queue.drain(true);
    await this.queue.clean(0, 0, 'completed');
    await this.queue.clean(0, 0, 'failed');
    for (const userId of this.activeJobs.keys()) await this.queue.removeDeduplicationKey(`user-${userId}`);
    this.activeJobs.clear();
    this.failures.clear();
  }

  /** Waits for the running job, then closes the worker and the queue. */
  async close() {
    await this.worker?.close();
    await this.queue.close();
  }
}

// Stands in for the real rebalance: simulate the trades, then execute them.
async function simulateAndExecute(data, job) {
  await new Promise((resolve) => setTimeout(resolve, 50));
  await job.updateProgress({ stage: 'EXECUTING' });
  return { userId: data.userId, trades: 2 };
}

module.exports = { RebalanceQueueService, PRIORITY, QUEUE_NAME };
