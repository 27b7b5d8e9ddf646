'use strict';

// examples/rebalance (seed 000), installed with the implementation under test as `bullmq` and
// run against the test Redis: one pending job per user (also across processes), manual before
// automated, one job per RATE_LIMIT_MS, 3 attempts, a per-user delay after failures, metrics,
// clearQueue, and main.js as a process. With BULLRUSH_TEST_IMPL=bullmq the same code runs on
// BullMQ itself.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { installApp, disposePacks, run } = require('../helpers/apps');
const { implLabel } = require('../helpers/env');
const { redisUrl, connection, waitFor } = require('../helpers/redis');
const { EXAMPLES, INSTALL_TIMEOUT, uniquePrefix, dropPrefix, sleep } = require('../helpers/seeds');

after(() => disposePacks());

describe(`examples/rebalance with ${implLabel} as bullmq`, () => {
  let app;
  let mod;
  const prefix = uniquePrefix('rebalance');
  const settings = { connection, prefix, rateLimitMs: 300, userBackoffMs: 400, retryDelayMs: 20 };
  const services = [];

  before(async () => {
    app = await installApp(path.join(EXAMPLES, 'rebalance'));
    mod = require(path.join(app.dir, 'rebalance-queue.js'));
  }, INSTALL_TIMEOUT);

  after(async () => {
    for (const service of services) await service.close();
    await dropPrefix(prefix);
    app?.dispose();
  });

  function service(rebalance) {
    const s = new mod.RebalanceQueueService({ ...settings, rebalance });
    services.push(s);
    return s;
  }

  const runs = [];
  let active = 0;
  let maxActive = 0;
  async function rebalance(data, job) {
    active += 1;
    maxActive = Math.max(maxActive, active);
    runs.push({ userId: data.userId, at: job.processedOn });
    await sleep(20);
    active -= 1;
    if (data.fail) throw new Error(`exchange rejected ${data.userId}'s order`);
    return { userId: data.userId, trades: 1 };
  }

  let main;

  test('one pending job per user, also across processes', async () => {
    main = service(rebalance);
    for (const userId of ['alice', 'bob', 'carol']) {
      const added = await main.addRebalanceJob(userId);
      assert.equal(added.added, true);
      assert.equal(added.delay, 0);
    }
    assert.equal((await main.addRebalanceJob('dave', { trigger: 'manual' })).added, true);
    const again = await main.addRebalanceJob('alice', { trigger: 'manual' });
    assert.equal(again.added, false);
    assert.match(again.reason, /^user alice already has rebalance job rebalance-alice-\S+ pending$/);
    // Another service (another process: its own in-memory tracking) is refused by Redis.
    const elsewhere = await service(rebalance).addRebalanceJob('bob');
    assert.equal(elsewhere.added, false);
    assert.match(elsewhere.reason, /^user bob already has rebalance job rebalance-bob-\S+ pending$/);
    assert.deepEqual(await main.getQueueMetrics(), { waiting: 4, active: 0, completed: 0, failed: 0, delayed: 0, total: 4 });
  });

  test('the manual trigger runs first, one job at a time, one per RATE_LIMIT_MS', async () => {
    main.startWorker();
    await waitFor(async () => (await main.getQueueMetrics()).completed === 4, 20000);
    assert.deepEqual(runs.map((r) => r.userId), ['dave', 'alice', 'bob', 'carol']);
    assert.equal(maxActive, 1);
    for (let i = 1; i < runs.length; i += 1) {
      assert.ok(runs[i].at - runs[i - 1].at >= 280, `runs ${i - 1} and ${i} ${runs[i].at - runs[i - 1].at} ms apart`);
    }
    const job = await main.queue.getJob((await main.queue.getCompleted(0, 0))[0].id);
    assert.deepEqual(job.progress, { stage: 'COMPLETED' });
    assert.equal((await main.addRebalanceJob('alice')).added, true, 'a finished job frees its user');
    await waitFor(async () => (await main.getQueueMetrics()).completed === 5, 20000);
  });

  test('a job gets 3 attempts; a user whose jobs fail waits USER_BACKOFF_MS, doubled per failure', async () => {
    const settled = (userId) =>
      new Promise((resolve) => {
        const onFailed = (job) => job.data.userId === userId && job.attemptsMade === 3 && done(job);
        const onCompleted = (job) => job.data.userId === userId && done(job);
        const done = (job) => {
          main.worker.off('failed', onFailed);
          main.worker.off('completed', onCompleted);
          resolve(job);
        };
        main.worker.on('failed', onFailed);
        main.worker.on('completed', onCompleted);
      });
    let outcome = settled('erin');
    assert.equal((await main.addRebalanceJob('erin', { fail: true })).delay, 0);
    const failed = await outcome;
    assert.equal(failed.failedReason, "exchange rejected erin's order");
    assert.equal(await failed.getState(), 'failed');
    assert.equal(runs.filter((r) => r.userId === 'erin').length, 3);

    outcome = settled('erin');
    const second = await main.addRebalanceJob('erin', { fail: true });
    assert.equal(second.delay, 400);
    assert.equal(await main.queue.getJobState(second.jobId), 'delayed');
    await outcome;
    outcome = settled('erin');
    const third = await main.addRebalanceJob('erin');
    assert.equal(third.delay, 800);
    assert.equal(await (await outcome).getState(), 'completed');
    assert.equal((await main.addRebalanceJob('erin')).delay, 0, 'a success resets the delay');
    await waitFor(async () => (await main.getQueueMetrics()).active + (await main.getQueueMetrics()).waiting === 0, 20000);
  });

  test('metrics count every state, and clearQueue empties the queue', async () => {
    await main.worker.close();
    await main.addRebalanceJob('frank');
    await main.addRebalanceJob('grace', { trigger: 'manual' });
    const metrics = await main.getQueueMetrics();
    assert.deepEqual(metrics, { waiting: 2, active: 0, completed: 7, failed: 2, delayed: 0, total: 11 });
    await main.clearQueue();
    assert.deepEqual(await main.getQueueMetrics(), { waiting: 0, active: 0, completed: 0, failed: 0, delayed: 0, total: 0 });
    assert.equal((await main.addRebalanceJob('frank')).added, true, 'a cleared job frees its user');
  });

  test('main.js runs its jobs and exits', async () => {
    const out = await run(process.execPath, ['main.js'], {
      cwd: app.dir,
      env: { REDIS_URL: redisUrl, QUEUE_PREFIX: `${prefix}-main`, RATE_LIMIT_MS: '50' },
      timeoutMs: 60000,
    });
    assert.match(out, /added: false,\s+reason: 'user alice already has rebalance job/);
    assert.match(out, /completed: 4,/);
    await dropPrefix(`${prefix}-main`);
  });
});
