'use strict';

// examples/trading (seed 002), installed with the implementation under test as `bullmq` and
// run against the test Redis: the concurrency table, priority levels, the two portfolio tiers,
// retry policies per queue, health, and queue-usage.js as a process. With
// BULLRUSH_TEST_IMPL=bullmq the same code runs on BullMQ itself.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { installApp, disposePacks, run } = require('../helpers/apps');
const { implLabel } = require('../helpers/env');
const { redisUrl, waitFor } = require('../helpers/redis');
const { EXAMPLES, INSTALL_TIMEOUT, uniquePrefix, dropPrefix, loadWith } = require('../helpers/seeds');

after(() => disposePacks());

describe(`examples/trading with ${implLabel} as bullmq`, () => {
  let app;
  let queues;
  const prefix = uniquePrefix('trading');
  const env = { REDIS_URL: redisUrl, QUEUE_PREFIX: prefix, RETRY_DELAY_MS: '10', ORDER_RATE_MAX: '100' };

  before(async () => {
    app = await installApp(path.join(EXAMPLES, 'trading'));
    queues = loadWith(env, app.dir, 'queues.js');
  }, INSTALL_TIMEOUT);

  after(async () => {
    await queues?.closeAll();
    await dropPrefix(prefix);
    app?.dispose();
  });

  test('each worker gets the concurrency of the table', async () => {
    const { QueueName, CONCURRENCY } = queues;
    assert.deepEqual(Object.values(CONCURRENCY), [20, 5, 5, 3, 10, 2, 10]);
    for (const name of Object.values(QueueName)) {
      const worker = queues.createWorker(name, async () => {}, { autorun: false });
      assert.equal(worker.concurrency, CONCURRENCY[name], name);
      await worker.close();
    }
    assert.throws(() => queues.getQueue('portfolio:high_priority'), /unknown queue/);
  });

  test('within a queue, CRITICAL runs before HIGH, NORMAL and LOW', async () => {
    const { QueueName, QueuePriority } = queues;
    const high = queues.getQueue(QueueName.PORTFOLIO_HIGH_PRIORITY);
    for (const level of ['LOW', 'NORMAL', 'HIGH', 'CRITICAL']) {
      await high.add('recalculate-position', { level }, { priority: QueuePriority[level] });
    }
    const order = [];
    queues.createWorker(QueueName.PORTFOLIO_HIGH_PRIORITY, async (job) => order.push(job.data.level), { concurrency: 1 });
    await waitFor(() => order.length === 4, 10000);
    assert.deepEqual(order, ['CRITICAL', 'HIGH', 'NORMAL', 'LOW']);
  });

  test('the low tier runs 5 at a time and never holds up the high tier', async () => {
    const { QueueName, QueuePriority } = queues;
    let release;
    const gate = new Promise((resolve) => {
      release = resolve;
    });
    let running = 0;
    let most = 0;
    queues.createWorker(QueueName.PORTFOLIO_LOW_PRIORITY, async () => {
      running += 1;
      most = Math.max(most, running);
      await gate;
      running -= 1;
    });
    const low = queues.getQueue(QueueName.PORTFOLIO_LOW_PRIORITY);
    await low.addBulk(Array.from({ length: 8 }, (_, i) => ({ name: 'price-update', data: { i }, opts: { priority: QueuePriority.LOW } })));
    await waitFor(() => running === 5, 10000);
    const high = queues.getQueue(QueueName.PORTFOLIO_HIGH_PRIORITY);
    await high.add('user-query', { level: 'query' }, { priority: QueuePriority.CRITICAL });
    await waitFor(async () => (await queues.getQueueHealth(QueueName.PORTFOLIO_HIGH_PRIORITY)).completed === 5, 10000);
    assert.deepEqual(await queues.getQueueHealth(QueueName.PORTFOLIO_LOW_PRIORITY), {
      name: 'portfolio.low_priority', waiting: 3, active: 5, completed: 0, failed: 0, delayed: 0,
    });
    release();
    await waitFor(async () => (await queues.getQueueHealth(QueueName.PORTFOLIO_LOW_PRIORITY)).completed === 8, 10000);
    assert.equal(most, 5);
  });

  test('order submission gets 5 attempts, a backtest 1, the rest 3', async () => {
    const { QueueName } = queues;
    const attempts = {};
    for (const name of [QueueName.EXECUTION_ORDER_SUBMISSION, QueueName.BACKTEST_JOBS, QueueName.STRATEGY_SIGNALS]) {
      queues.createWorker(name, async (job) => {
        attempts[name] = job.attemptsMade + 1;
        throw new Error('exchange unavailable');
      });
      await queues.getQueue(name).add('job', {});
    }
    await waitFor(async () => (await queues.getAllQueuesHealth()).filter((h) => h.failed === 1).length === 3, 10000);
    assert.deepEqual(attempts, { 'execution.order_submission': 5, 'backtest.jobs': 1, 'strategy.signals': 3 });
  });

  test('health lists every queue, and says what to alert on', async () => {
    const health = await queues.getAllQueuesHealth();
    assert.deepEqual(health.map((h) => h.name), Object.values(queues.QueueName));
    const signals = health.find((h) => h.name === 'strategy.signals');
    assert.deepEqual(signals, { name: 'strategy.signals', waiting: 0, active: 0, completed: 0, failed: 1, delayed: 0 });
    assert.deepEqual(queues.alertsFor({ ...signals, failed: 51 }), ['investigate errors']);
    assert.deepEqual(queues.alertsFor({ ...health[0], waiting: 101 }), ['scale workers']);
    assert.deepEqual(queues.alertsFor(signals), []);
  });

  test('queue-usage.js processes its jobs, prints the health and exits', async () => {
    const out = await run(process.execPath, ['queue-usage.js'], { cwd: app.dir, env: { ...env, QUEUE_PREFIX: `${prefix}-usage` }, timeoutMs: 60000 });
    assert.match(out, /\{"name":"portfolio.high_priority","waiting":0,"active":0,"completed":2,"failed":0,"delayed":0\}/);
    assert.match(out, /\{"name":"portfolio.low_priority","waiting":0,"active":0,"completed":3,"failed":0,"delayed":0\}/);
    await dropPrefix(`${prefix}-usage`);
  });
});
