'use strict';

// The two processors: fulfilment validates an intent and queues it for execution;
// execution sends the transaction and waits for its confirmation. Both workers share the
// stalled-job settings: a job whose worker stops renewing its lock (a crash) is moved back
// to waiting after STALLED_INTERVAL_MS, at most MAX_STALLED_COUNT times, then failed.

const crypto = require('node:crypto');
const { Worker, UnrecoverableError } = require('bullmq');
const config = require('./config');
const { telemetry } = require('./tracing');

const STRATEGIES = {
  // The standard strategy: a positive amount of a known token, to a 0x address.
  standard(intent) {
    if (!(intent.amount > 0)) return 'amount must be positive';
    if (!/^0x[0-9a-fA-F]{40}$/.test(intent.to || '')) return 'recipient is not an address';
    return null;
  },
};

function workerOptions(queue) {
  return { connection: config.connection, prefix: config.prefix, concurrency: queue.concurrency, telemetry, ...config.worker };
}

/** Starts both workers; `service` queues validated intents for execution. */
function startProcessors(service) {
  const fulfillment = new Worker(
    config.queues.fulfillment.name,
    async (job) => {
      const { intent, strategy, metadata } = job.data;
      const validate = STRATEGIES[strategy];
      // Validation failures are permanent: the job fails without retries.
      if (!validate) throw new UnrecoverableError(`unknown strategy ${strategy}`);
      const invalid = validate(intent);
      if (invalid) throw new UnrecoverableError(`invalid intent ${intent.id}: ${invalid}`);
      // Added inside this job's span: the execution job continues this trace.
      const next = await service.addIntentToExecutionQueue(intent, strategy, { walletType: 'kernel', correlationId: metadata.correlationId });
      return { valid: true, executionJobId: next.id };
    },
    workerOptions(config.queues.fulfillment),
  );

  const execution = new Worker(
    config.queues.execution.name,
    async (job) => {
      const { intent } = job.data;
      // `failExecutions` stands in for a chain that rejects the first attempts (a nonce too
      // low, a gas spike): transient errors, retried with backoff.
      if (job.attemptsMade < (intent.failExecutions || 0)) throw new Error(`transaction reverted (attempt ${job.attemptsMade + 1})`);
      await job.updateProgress(50);
      await new Promise((resolve) => setTimeout(resolve, config.confirmationMs)); // awaits the confirmation
      const txHash = `0x${crypto.createHash('sha256').update(`${intent.id}:${job.attemptsMade}`).digest('hex')}`;
      return { txHash, confirmations: 1 };
    },
    workerOptions(config.queues.execution),
  );

  for (const worker of [fulfillment, execution]) {
    worker.on('stalled', (jobId) => console.log(`[${worker.name}] job ${jobId} stalled: back to waiting`));
  }
  return { fulfillment, execution };
}

module.exports = { startProcessors };
