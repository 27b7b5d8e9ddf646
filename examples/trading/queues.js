'use strict';

// The trading system's queues: their names, priority levels, worker concurrency, retry
// policy and health. (BullMQ refuses `:` in a queue name, so `portfolio:high_priority`
// is `portfolio.high_priority` here.)

const { Queue, Worker } = require('bullmq');
const { connection, prefix, retryDelayMs, orderRateMax } = require('./config');

const QueueName = Object.freeze({
  PORTFOLIO_HIGH_PRIORITY: 'portfolio.high_priority', // user queries, fill events
  PORTFOLIO_LOW_PRIORITY: 'portfolio.low_priority', // price updates, snapshots
  EXECUTION_ORDER_SUBMISSION: 'execution.order_submission', // order placement (rate-limited)
  EXECUTION_RECONCILIATION: 'execution.reconciliation', // periodic exchange sync
  STRATEGY_SIGNALS: 'strategy.signals',
  BACKTEST_JOBS: 'backtest.jobs',
  EXCHANGE_CANDLE_INGESTION: 'exchange.candle_ingestion',
});

// Within a queue BullMQ runs the lowest number first.
const QueuePriority = Object.freeze({
  CRITICAL: 1, // user-facing operations
  HIGH: 5, // fill processing, position updates
  NORMAL: 10, // background reconciliation
  LOW: 15, // price updates, snapshots
});

const CONCURRENCY = Object.freeze({
  [QueueName.PORTFOLIO_HIGH_PRIORITY]: 20, // user-facing, fast
  [QueueName.PORTFOLIO_LOW_PRIORITY]: 5, // background, can wait
  [QueueName.EXECUTION_ORDER_SUBMISSION]: 5, // rate-limited by the exchange's API
  [QueueName.EXECUTION_RECONCILIATION]: 3, // I/O bound
  [QueueName.STRATEGY_SIGNALS]: 10, // CPU-light
  [QueueName.BACKTEST_JOBS]: 2, // CPU-intensive
  [QueueName.EXCHANGE_CANDLE_INGESTION]: 10, // network I/O
});

// Three attempts with exponential backoff (1 s, 2 s, 4 s); order submission is critical
// (five attempts), a backtest is never retried.
const ATTEMPTS = {
  [QueueName.EXECUTION_ORDER_SUBMISSION]: 5,
  [QueueName.BACKTEST_JOBS]: 1,
};

function defaultJobOptions(name) {
  return {
    attempts: ATTEMPTS[name] ?? 3,
    backoff: { type: 'exponential', delay: retryDelayMs },
    removeOnComplete: { count: 1000 },
    removeOnFail: { count: 5000 },
  };
}

const queues = new Map();
const workers = new Set();

function assertName(name) {
  if (!Object.values(QueueName).includes(name)) throw new Error(`unknown queue ${name}`);
}

/** The queue `name` (a QueueName), made on first use. */
function getQueue(name) {
  assertName(name);
  if (!queues.has(name)) queues.set(name, new Queue(name, { connection, prefix, defaultJobOptions: defaultJobOptions(name) }));
  return queues.get(name);
}

/** A worker for queue `name` with the concurrency of the table; `opts` overrides. */
function createWorker(name, processor, opts = {}) {
  assertName(name);
  const worker = new Worker(name, processor, {
    connection,
    prefix,
    concurrency: CONCURRENCY[name],
    ...(name === QueueName.EXECUTION_ORDER_SUBMISSION && { limiter: { max: orderRateMax, duration: 1000 } }),
    ...opts,
  });
  worker.on('failed', (job, err) => console.error(`[${name}] job ${job?.id} failed: ${err.message}`));
  workers.add(worker);
  return worker;
}

/** { name, waiting, active, completed, failed, delayed }; waiting counts prioritized jobs. */
async function getQueueHealth(name) {
  const c = await getQueue(name).getJobCounts('waiting', 'prioritized', 'active', 'completed', 'failed', 'delayed');
  return { name, waiting: c.waiting + c.prioritized, active: c.active, completed: c.completed, failed: c.failed, delayed: c.delayed };
}

async function getAllQueuesHealth() {
  return Promise.all(Object.values(QueueName).map(getQueueHealth));
}

/** What to alert on: a backlog on the user-facing queue, or many failed jobs anywhere. */
function alertsFor(health) {
  const alerts = [];
  if (health.name === QueueName.PORTFOLIO_HIGH_PRIORITY && health.waiting > 100) alerts.push('scale workers');
  if (health.failed > 50) alerts.push('investigate errors');
  return alerts;
}

/** Closes the workers (each waits for its running jobs), then the queues. */
async function closeAll() {
  await Promise.all([...workers].map((worker) => worker.close()));
  workers.clear();
  await Promise.all([...queues.values()].map((queue) => queue.close()));
  queues.clear();
}

module.exports = { QueueName, QueuePriority, CONCURRENCY, getQueue, createWorker, getQueueHealth, getAllQueuesHealth, alertsFor, closeAll };
