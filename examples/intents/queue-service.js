'use strict';

// QueueService: every queue operation of the module in one place, so jobs have one shape.

const crypto = require('node:crypto');
const { Queue } = require('bullmq');
const config = require('./config');
const { telemetry } = require('./tracing');

class QueueService {
  constructor() {
    this.queues = new Map();
    for (const { name, defaultJobOptions } of Object.values(config.queues)) {
      this.queues.set(name, new Queue(name, { connection: config.connection, prefix: config.prefix, defaultJobOptions, telemetry }));
    }
  }

  getQueue(queueName) {
    const queue = this.queues.get(queueName);
    if (!queue) throw new Error(`unknown queue ${queueName}`);
    return queue;
  }

  /** Queues an intent for validation. */
  addIntentToFulfillmentQueue(intent, strategy, metadata = {}) {
    const correlationId = metadata.correlationId || crypto.randomUUID();
    return this.getQueue(config.queues.fulfillment.name).add(
      'fulfill',
      { intent, strategy, metadata: { source: 'api', timestamp: Date.now(), ...metadata, correlationId } },
      { jobId: `fulfill-${intent.id}` },
    );
  }

  /** Queues a validated intent for execution. */
  addIntentToExecutionQueue(intent, strategy, { walletType, correlationId } = {}) {
    return this.getQueue(config.queues.execution.name).add(
      'execute',
      { intent, strategy, walletType, metadata: { validatedAt: Date.now(), correlationId } },
      { jobId: `execute-${intent.id}` },
    );
  }

  /** { waiting, active, completed, failed, delayed, paused }; waiting counts prioritized jobs. */
  async getQueueMetrics(queueName) {
    const c = await this.getQueue(queueName).getJobCounts('waiting', 'prioritized', 'active', 'completed', 'failed', 'delayed', 'paused');
    return { waiting: c.waiting + c.prioritized, active: c.active, completed: c.completed, failed: c.failed, delayed: c.delayed, paused: c.paused };
  }

  pauseQueue(queueName) {
    return this.getQueue(queueName).pause();
  }

  resumeQueue(queueName) {
    return this.getQueue(queueName).resume();
  }

  /** Removes every failed job; answers their ids. */
  clearFailedJobs(queueName) {
    return this.getQueue(queueName).clean(0, 0, 'failed');
  }

  /** Moves every failed job back to waiting, for another attempt. */
  retryFailedJobs(queueName) {
    return this.getQueue(queueName).retryJobs({ state: 'failed' });
  }

  /**
   * { isHealthy, metrics, redisStatus, lastProcessedAt } over both queues: healthy while
   * Redis answers and fewer than FAILED_ALERT jobs have failed.
   */
  async getQueueHealth() {
    const redisStatus = await this.redisStatus();
    if (redisStatus !== 'connected') return { isHealthy: false, metrics: null, redisStatus, lastProcessedAt: null };
    const metrics = { waiting: 0, active: 0, completed: 0, failed: 0, delayed: 0 };
    let lastProcessedAt = null;
    for (const [name, queue] of this.queues) {
      const counts = await this.getQueueMetrics(name);
      for (const key of Object.keys(metrics)) metrics[key] += counts[key];
      const [last] = await queue.getJobs(['completed'], 0, 0, false);
      if (last && (!lastProcessedAt || last.finishedOn > lastProcessedAt.getTime())) lastProcessedAt = new Date(last.finishedOn);
    }
    return { isHealthy: metrics.failed < config.failedAlert, metrics, redisStatus, lastProcessedAt };
  }

  // Whether the queues' Redis connection is up and answers.
  async redisStatus() {
    try {
      const client = await this.getQueue(config.queues.fulfillment.name).getBackend().client;
      await client.ping();
      return client.status === 'ready' ? 'connected' : 'disconnected';
    } catch {
      return 'disconnected';
    }
  }

  async close() {
    for (const queue of this.queues.values()) await queue.close();
  }
}

module.exports = { QueueService };
