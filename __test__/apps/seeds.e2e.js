'use strict';

// The five seed systems (examples/rebalance, ingestion, trading, intents, enrichment), each
// installed as its users get it with the implementation under test as `bullmq`, and run
// against the test Redis: their modules loaded in this process, their servers and workers
// as processes. With BULLRUSH_TEST_IMPL=bullmq the same code runs on BullMQ itself.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const path = require('node:path');
const { installApp, disposePacks, startProcess, waitForHttp, run } = require('../helpers/apps');
const { implLabel } = require('../helpers/env');
const { redisUrl, connection, newRedis, waitFor, queueEventsReady } = require('../helpers/redis');
const { freePort } = require('../helpers/util');

const EXAMPLES = path.join(__dirname, '..', '..', 'examples');
const INSTALL_TIMEOUT = { timeout: 300000 };

/** A key prefix no other run uses: the example's queues live under it. */
function uniquePrefix(label) {
  return `seeds-${label}-${crypto.randomBytes(4).toString('hex')}`;
}

/** Deletes every key under `prefix`. */
async function dropPrefix(prefix) {
  const redis = newRedis();
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    await redis.quit();
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function call(base, method, url, body) {
  const res = await fetch(`${base}${url}`, {
    method,
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body && JSON.stringify(body),
  });
  const text = await res.text();
  const type = res.headers.get('content-type') || '';
  return { status: res.status, type, body: type.includes('json') ? JSON.parse(text) : text };
}

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
  async function rebalance(data) {
    active += 1;
    maxActive = Math.max(maxActive, active);
    runs.push({ userId: data.userId, at: Date.now() });
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
      assert.ok(runs[i].at - runs[i - 1].at >= 250, `runs ${i - 1} and ${i} ${runs[i].at - runs[i - 1].at} ms apart`);
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

/** Sets the example's environment, then loads `file` from the installed example. */
function loadWith(env, dir, file) {
  Object.assign(process.env, env);
  return require(path.join(dir, file));
}

describe(`examples/ingestion with ${implLabel} as bullmq`, () => {
  let app;
  let queue;
  let workers;
  let server;
  let base;
  const prefix = uniquePrefix('ingestion');
  const env = { REDIS_URL: redisUrl, QUEUE_PREFIX: prefix, RETRY_DELAY_MS: '40', STEP_MS: '30', API_TOKEN: 'test-token' };
  const auth = { authorization: 'Bearer test-token' };

  before(async () => {
    app = await installApp(path.join(EXAMPLES, 'ingestion'));
    queue = loadWith(env, app.dir, 'queue.js');
    workers = require(path.join(app.dir, 'workers.js'));
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    server = startProcess(process.execPath, ['server.js'], { cwd: app.dir, env: { ...env, PORT: String(port) } });
    await waitForHttp(`${base}/api/jobs/metrics`, server);
  }, INSTALL_TIMEOUT);

  after(async () => {
    await workers?.stopWorkers();
    await queue?.closeQueues();
    await server?.stop();
    await dropPrefix(prefix);
    app?.dispose();
  });

  const calc = { tenantId: 'tenant-123', batchId: 'batch-456' };

  test('a job id makes enqueueing idempotent; delay and priority put jobs in their states', async () => {
    const first = await queue.enqueueCalculation(calc);
    const second = await queue.enqueueCalculation(calc);
    assert.equal(first.id, 'calc-tenant-123-batch-456');
    assert.equal(second.id, first.id);
    assert.equal((await queue.getQueueMetrics('calculation')).waiting, 1);
    const delayed = await queue.enqueueIngestion(
      { tenantId: 't1', seriesCode: 'WTI', asOfDate: '2024-01-15', versionTag: 'final', source: 'csv', data: [{ date: '2024-01-15', value: 72.1 }] },
      { delay: 400 },
    );
    assert.equal((await queue.getJobStatus('ingestion', delayed.id)).state, 'delayed');
    const report = await queue.enqueueReport({ tenantId: 't1', reportType: 'price-math', batchId: 'b1', format: 'pdf' }, { priority: 100 });
    assert.equal((await queue.getJobStatus('reports', report.id)).state, 'prioritized');
    assert.deepEqual(await queue.getQueueMetrics('reports'), { waiting: 1, active: 0, completed: 0, failed: 0, delayed: 0, paused: 0 });
  });

  test('started workers report their status and run the jobs, with progress events', async () => {
    const events = queue.getQueueEvents('calculation');
    await queueEventsReady(events, 'calculation', { prefix });
    const progress = [];
    events.on('progress', ({ jobId, data }) => jobId === 'calc-tenant-123-batch-456' && progress.push(data));
    workers.startWorkers();
    await waitFor(() => workers.getWorkerStatus().every((w) => w.isRunning), 5000);
    assert.deepEqual(
      workers.getWorkerStatus(),
      ['ingestion', 'calculation', 'webhooks', 'reports'].map((name) => ({ name, isRunning: true, isPaused: false })),
    );
    const job = await queue.getQueue('calculation').getJob('calc-tenant-123-batch-456');
    const result = await job.waitUntilFinished(events, 10000);
    assert.equal(result.status, 'SUCCESS');
    const status = await queue.getJobStatus('calculation', job.id);
    assert.equal(status.state, 'completed');
    assert.equal(status.progress, 100);
    assert.deepEqual(status.result, result);
    await waitFor(() => progress.length === 4, 5000);
    assert.deepEqual(progress, [0, 33, 67, 100]);
    await waitFor(async () => (await queue.getQueueMetrics('ingestion')).completed === 1, 10000);
    await waitFor(async () => (await queue.getQueueMetrics('reports')).completed === 1, 10000);
  });

  test('a webhook is retried with its backoff (RETRY_DELAY_MS, then 5 times longer) until it is delivered', async () => {
    const events = queue.getQueueEvents('webhooks');
    await queueEventsReady(events, 'webhooks', { prefix });
    const started = [];
    events.on('active', ({ jobId }) => jobId === 'webhook-msg-1' && started.push(Date.now()));
    const job = await queue.enqueueWebhook({ tenantId: 't1', messageId: 'msg-1', eventType: 'calc.batch.completed', failAttempts: 2 });
    assert.deepEqual(await job.waitUntilFinished(events, 10000), { delivered: true, attempt: 3 });
    assert.equal((await queue.getJobStatus('webhooks', 'webhook-msg-1')).attemptsMade, 3);
    await waitFor(() => started.length === 3, 5000, { message: () => JSON.stringify(started) });
    // A failing attempt takes no time: the time between attempts is the backoff.
    const waited = [started[1] - started[0], started[2] - started[1]];
    assert.ok(waited[0] >= 35 && waited[1] >= 180, `attempts ${waited.join(' and ')} ms apart (40 and 200 expected)`);
  });

  test('a job that fails every attempt waits in the failed list until retried', async () => {
    const events = queue.getQueueEvents('webhooks');
    const job = await queue.enqueueWebhook({ tenantId: 't1', messageId: 'msg-2', failAttempts: 1 }, { attempts: 1 });
    await assert.rejects(job.waitUntilFinished(events, 10000), /receiver answered 503 \(attempt 1\)/);
    assert.deepEqual((await queue.getFailedJobs('webhooks')).map((j) => [j.id, j.attemptsMade]), [['webhook-msg-2', 1]]);
    assert.equal(await queue.retryFailedJobs('webhooks'), 1);
    await waitFor(async () => (await queue.getJobStatus('webhooks', 'webhook-msg-2')).state === 'completed', 10000);

    const ingestion = queue.getQueueEvents('ingestion');
    await queueEventsReady(ingestion, 'ingestion', { prefix });
    const bad = await queue.enqueueIngestion({ tenantId: 't1', seriesCode: 'WTI', asOfDate: '2024-01-16', versionTag: 'final', data: [{ date: '2024-01-16', value: 'n/a' }] });
    await assert.rejects(bad.waitUntilFinished(ingestion, 10000), /invalid value for 2024-01-16/);
    const status = await queue.getJobStatus('ingestion', bad.id);
    assert.equal(status.state, 'failed');
    assert.equal(status.attemptsMade, 1, 'an UnrecoverableError skips the retries');
  });

  test('the API enqueues, answers a job status and every queue\'s metrics', async () => {
    assert.equal((await fetch(`${base}/api/jobs/metrics`)).status, 401);
    const res = await fetch(`${base}/api/jobs/reports`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ data: { tenantId: 't2', reportType: 'price-math', format: 'csv' } }),
    });
    assert.equal(res.status, 202);
    const { jobId } = await res.json();
    const status = await waitFor(async () => {
      const body = await (await fetch(`${base}/api/jobs/reports/${jobId}`, { headers: auth })).json();
      return body.state === 'completed' && body;
    }, 10000);
    assert.deepEqual(status.result, { url: `/reports/t2/${jobId}.csv` });
    assert.equal((await fetch(`${base}/api/jobs/reports/nope`, { headers: auth })).status, 404);
    const { metrics } = await (await fetch(`${base}/api/jobs/metrics`, { headers: auth })).json();
    const zero = { waiting: 0, active: 0, delayed: 0, paused: 0 };
    assert.deepEqual(metrics, {
      ingestion: { ...zero, completed: 1, failed: 1 },
      calculation: { ...zero, completed: 1, failed: 0 },
      webhooks: { ...zero, completed: 2, failed: 0 },
      reports: { ...zero, completed: 2, failed: 0 },
    });
    await waitFor(() => /\[calculation\] job calc-tenant-123-batch-456 progress: 100/.test(server.output()), 5000);
    assert.match(server.output(), /\[ingestion\] job ingest-t1-WTI-2024-01-16-final failed: invalid value for 2024-01-16/);
  });

  test('clean removes old completed and failed jobs', async () => {
    assert.deepEqual(await queue.cleanOldJobs({ completedAgeMs: 0, failedAgeMs: 0 }), { ingestion: 2, calculation: 1, webhooks: 2, reports: 2 });
    const all = await queue.getAllQueueMetrics();
    assert.ok(Object.values(all).every((m) => m.completed === 0 && m.failed === 0), JSON.stringify(all));
  });

  test('workers.js finishes its running job on SIGTERM, then exits', async () => {
    await workers.stopWorkers();
    assert.deepEqual(workers.getWorkerStatus(), []);
    const proc = startProcess(process.execPath, ['workers.js'], { cwd: app.dir, env });
    try {
      await waitFor(() => /workers started/.test(proc.output()), 10000, { message: () => proc.output() });
      const job = await queue.enqueueReport({ tenantId: 't3', reportType: 'price-math', pages: 10 });
      await waitFor(async () => (await queue.getJobStatus('reports', job.id)).state === 'active', 10000);
      assert.deepEqual(await proc.stop(), { code: 0, signal: null }, proc.output());
      assert.match(proc.output(), /Shutting down workers\.\.\.[\s\S]*workers stopped/);
      assert.equal((await queue.getJobStatus('reports', job.id)).state, 'completed');
    } finally {
      await proc.stop();
    }
  });

  test('the server exits by itself on SIGTERM', async () => {
    assert.deepEqual(await server.stop(), { code: 0, signal: null }, server.output());
  });
});

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

describe(`examples/intents with ${implLabel} as bullmq`, () => {
  let app;
  let exporter;
  let service;
  let workers;
  let http;
  let base;
  const prefix = uniquePrefix('intents');
  const env = {
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: prefix,
    FULFILLMENT_BACKOFF_MS: '20',
    EXECUTION_BACKOFF_MS: '30',
    STALLED_INTERVAL_MS: '5000',
    LOCK_DURATION_MS: '10000',
    MAX_STALLED_COUNT: '2',
    FAILED_ALERT: '2',
    CONFIRMATION_MS: '10',
  };
  const FULFILL = 'intent-fulfillment';
  const EXECUTE = 'blockchain-execution';
  const to = `0x${'ab'.repeat(20)}`;

  before(async () => {
    app = await installApp(path.join(EXAMPLES, 'intents'));
    const { InMemorySpanExporter } = require(require.resolve('@opentelemetry/sdk-trace-base', { paths: [app.dir] }));
    exporter = new InMemorySpanExporter();
    loadWith(env, app.dir, 'tracing.js').startTracing(exporter);
    service = new (require(path.join(app.dir, 'queue-service.js')).QueueService)();
    workers = require(path.join(app.dir, 'processors.js')).startProcessors(service);
    const express = require(path.join(app.dir, 'app.js')).createApp(service);
    await new Promise((resolve) => {
      http = express.listen(0, '127.0.0.1', resolve);
    });
    base = `http://127.0.0.1:${http.address().port}`;
  }, INSTALL_TIMEOUT);

  after(async () => {
    await new Promise((resolve) => (http ? http.close(resolve) : resolve()));
    for (const worker of Object.values(workers || {})) await worker.close();
    await service?.close();
    await dropPrefix(prefix);
    app?.dispose();
  });

  const state = (queue, id) => service.getQueue(queue).getJobState(id);

  test('an intent is validated, then executed, in one trace from the API call', async () => {
    const res = await call(base, 'POST', '/intents', { intent: { id: 'i1', amount: 5, to }, correlationId: 'corr-1' });
    assert.deepEqual(res, { status: 202, type: res.type, body: { jobId: 'fulfill-i1' } });
    await waitFor(async () => (await state(EXECUTE, 'execute-i1')) === 'completed', 10000);
    const fulfilled = await service.getQueue(FULFILL).getJob('fulfill-i1');
    assert.deepEqual(fulfilled.returnvalue, { valid: true, executionJobId: 'execute-i1' });
    const executed = await service.getQueue(EXECUTE).getJob('execute-i1');
    assert.equal(executed.data.metadata.correlationId, 'corr-1');
    assert.equal(executed.data.walletType, 'kernel');
    assert.match(executed.returnvalue.txHash, /^0x[0-9a-f]{64}$/);

    const spans = await waitFor(() => {
      const all = exporter.getFinishedSpans();
      return all.some((s) => s.name === `process ${EXECUTE}`) && all;
    }, 5000);
    const chain = [`add ${FULFILL}.fulfill`, `process ${FULFILL}`, `add ${EXECUTE}.execute`, `process ${EXECUTE}`].map((name) => {
      const span = spans.find((s) => s.name === name);
      assert.ok(span, `a span ${name} among ${spans.map((s) => s.name).join(', ')}`);
      return span;
    });
    for (let i = 1; i < chain.length; i += 1) {
      assert.equal(chain[i].spanContext().traceId, chain[0].spanContext().traceId, chain[i].name);
      assert.equal(chain[i].parentSpanContext?.spanId, chain[i - 1].spanContext().spanId, `${chain[i].name} is a child of ${chain[i - 1].name}`);
    }
  });

  test('jobs get their queue\'s defaultJobOptions, workers the stalled-job settings', async () => {
    const fulfilled = await service.getQueue(FULFILL).getJob('fulfill-i1');
    assert.equal(fulfilled.opts.attempts, 3);
    assert.deepEqual(fulfilled.opts.backoff, { type: 'exponential', delay: 20 });
    assert.equal(fulfilled.opts.removeOnComplete, 100);
    assert.equal(fulfilled.opts.removeOnFail, 500);
    const executed = await service.getQueue(EXECUTE).getJob('execute-i1');
    assert.deepEqual(executed.opts.backoff, { type: 'exponential', delay: 30 });
    assert.equal(executed.opts.removeOnFail, 1000);
    assert.equal(workers.fulfillment.concurrency, 10);
    assert.equal(workers.execution.concurrency, 5);
    for (const worker of Object.values(workers)) {
      assert.equal(worker.opts.maxStalledCount, 2);
      assert.equal(worker.opts.stalledInterval, 5000);
      assert.equal(worker.opts.lockDuration, 10000);
    }
  });

  test('an invalid intent fails at once; clear-failed removes it', async () => {
    await call(base, 'POST', '/intents', { intent: { id: 'i2', amount: 0, to } });
    await waitFor(async () => (await state(FULFILL, 'fulfill-i2')) === 'failed', 10000);
    const job = await service.getQueue(FULFILL).getJob('fulfill-i2');
    assert.equal(job.failedReason, 'invalid intent i2: amount must be positive');
    assert.equal(job.attemptsMade, 1);
    assert.deepEqual((await call(base, 'POST', `/queues/${FULFILL}/clear-failed`)).body, { removed: 1 });
    assert.equal(await state(FULFILL, 'fulfill-i2'), 'unknown');
    assert.equal((await call(base, 'POST', '/queues/nope/pause')).status, 404);
  });

  test('a paused queue holds its jobs until resumed', async () => {
    assert.deepEqual((await call(base, 'POST', `/queues/${EXECUTE}/pause`)).body, { paused: true });
    assert.equal(await service.getQueue(EXECUTE).isPaused(), true);
    await call(base, 'POST', '/intents', { intent: { id: 'i3', amount: 1, to } });
    await waitFor(async () => (await state(FULFILL, 'fulfill-i3')) === 'completed', 10000);
    await sleep(300);
    assert.notEqual(await state(EXECUTE, 'execute-i3'), 'completed');
    const metrics = (await call(base, 'GET', `/queues/${EXECUTE}/metrics`)).body;
    assert.equal(metrics.waiting + metrics.paused, 1, JSON.stringify(metrics));
    await call(base, 'POST', `/queues/${EXECUTE}/resume`);
    await waitFor(async () => (await state(EXECUTE, 'execute-i3')) === 'completed', 10000);
  });

  test('an execution that keeps reverting fails after 3 attempts; retry-failed runs it again', async () => {
    await call(base, 'POST', '/intents', { intent: { id: 'i4', amount: 1, to, failExecutions: 3 } });
    await waitFor(async () => (await state(EXECUTE, 'execute-i4')) === 'failed', 10000);
    assert.equal((await service.getQueue(EXECUTE).getJob('execute-i4')).failedReason, 'transaction reverted (attempt 3)');
    await call(base, 'POST', `/queues/${EXECUTE}/retry-failed`);
    await waitFor(async () => (await state(EXECUTE, 'execute-i4')) === 'completed', 10000);
    assert.equal((await service.getQueue(EXECUTE).getJob('execute-i4')).attemptsMade, 4);
  });

  test('health answers the metrics, the Redis status and the last processed job', async () => {
    const before = Date.now();
    await call(base, 'POST', '/intents', { intent: { id: 'i5', amount: 1, to } });
    await waitFor(async () => (await state(EXECUTE, 'execute-i5')) === 'completed', 10000);
    const health = await call(base, 'GET', '/health');
    assert.equal(health.status, 200);
    assert.deepEqual(health.body.metrics, { waiting: 0, active: 0, completed: 8, failed: 0, delayed: 0 });
    assert.equal(health.body.redisStatus, 'connected');
    assert.equal(health.body.isHealthy, true);
    assert.ok(Date.parse(health.body.lastProcessedAt) >= before, health.body.lastProcessedAt);
    for (const id of ['i6', 'i7']) await call(base, 'POST', '/intents', { intent: { id, amount: -1, to } });
    await waitFor(async () => (await service.getQueueMetrics(FULFILL)).failed === 2, 10000);
    const unhealthy = await call(base, 'GET', '/health');
    assert.equal(unhealthy.status, 503);
    assert.equal(unhealthy.body.isHealthy, false);
  });

  test('bull-board lists both queues and their jobs', async (t) => {
    const page = await call(base, 'GET', '/admin/queues');
    assert.equal(page.status, 200);
    assert.match(page.body, /<html/i);
    const missing = await service
      .getQueue(FULFILL)
      .getJobSchedulersCount()
      .then(() => false, (err) => /not supported by bullrush yet/.test(err.message));
    // bull-board's queue list counts each queue's job schedulers, which bullrush lacks yet.
    if (missing) return t.skip('Queue.getJobSchedulersCount (job schedulers) is not in bullrush yet');
    const api = await call(base, 'GET', '/admin/queues/api/queues?activeQueue=intent-fulfillment&status=failed&page=1');
    assert.equal(api.status, 200, JSON.stringify(api.body));
    const queues = Object.fromEntries(api.body.queues.map((q) => [q.name, q]));
    assert.deepEqual(Object.keys(queues).sort(), [EXECUTE, FULFILL]);
    assert.equal(queues[FULFILL].counts.failed, 2);
    assert.equal(queues[EXECUTE].counts.completed, 4);
    assert.deepEqual(queues[FULFILL].jobs.map((j) => j.id).sort(), ['fulfill-i6', 'fulfill-i7']);
  });

  test('a job whose process dies is found stalled and run by another worker', async () => {
    const stalledEnv = { ...env, QUEUE_PREFIX: `${prefix}-stalled`, LOCK_DURATION_MS: '1000', STALLED_INTERVAL_MS: '300' };
    const start = async (confirmationMs) => {
      const port = await freePort();
      const proc = startProcess(process.execPath, ['server.js'], { cwd: app.dir, env: { ...stalledEnv, PORT: String(port), CONFIRMATION_MS: confirmationMs } });
      const url = `http://127.0.0.1:${port}`;
      await waitForHttp(`${url}/health`, proc);
      return { proc, url };
    };
    const metrics = async (url) => (await call(url, 'GET', `/queues/${EXECUTE}/metrics`)).body;
    const first = await start('60000');
    const second = { proc: null };
    try {
      await call(first.url, 'POST', '/intents', { intent: { id: 'stuck', amount: 1, to } });
      await waitFor(async () => (await metrics(first.url)).active === 1, 10000);
      process.kill(-first.proc.child.pid, 'SIGKILL');
      await first.proc.exited;
      Object.assign(second, await start('10'));
      await waitFor(async () => (await metrics(second.url)).completed === 1, 15000, { message: () => second.proc.output() });
      assert.match(second.proc.output(), new RegExp(`\\[${EXECUTE}\\] job execute-stuck stalled: back to waiting`));
      assert.deepEqual(await second.proc.stop(), { code: 0, signal: null }, second.proc.output());
    } finally {
      await first.proc.stop();
      await second.proc?.stop();
      await dropPrefix(`${prefix}-stalled`);
    }
  });

  test('server.js serves the API and exits on SIGTERM', async () => {
    const port = await freePort();
    const server = startProcess(process.execPath, ['server.js'], { cwd: app.dir, env: { ...env, QUEUE_PREFIX: `${prefix}-server`, PORT: String(port), OTEL_CONSOLE: '1' } });
    try {
      await waitForHttp(`http://127.0.0.1:${port}/health`, server);
      const res = await call(`http://127.0.0.1:${port}`, 'POST', '/intents', { intent: { id: 's1', amount: 1, to } });
      assert.equal(res.status, 202);
      await waitFor(async () => (await call(`http://127.0.0.1:${port}`, 'GET', '/health')).body.metrics.completed === 2, 10000);
      assert.deepEqual(await server.stop(), { code: 0, signal: null }, server.output());
      assert.match(server.output(), /name: 'process blockchain-execution'/);
    } finally {
      await server.stop();
      await dropPrefix(`${prefix}-server`);
    }
  });
});

describe(`examples/enrichment with ${implLabel} as bullmq`, () => {
  let app;
  let api;
  let worker;
  let base;
  const prefix = uniquePrefix('enrichment');
  const env = {
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: prefix,
    ENRICHMENT_WORKER_CONCURRENCY: '4',
    ENRICHMENT_RATE_MAX: '2',
    RATE_DURATION_MS: '1000',
    BACKOFF_MS: '40',
    STEP_MS: '100',
  };
  const alice = { 'x-user-id': 'alice' };
  const location = { latitude: 48.85, longitude: 2.35 };

  async function start(extra = {}) {
    const port = await freePort();
    const all = { ...env, ...extra, PORT: String(port) };
    const w = startProcess(process.execPath, ['worker.js'], { cwd: app.dir, env: all });
    const a = startProcess(process.execPath, ['api.js'], { cwd: app.dir, env: all });
    await waitForHttp(`http://127.0.0.1:${port}/metrics/json`, a);
    await waitFor(() => /workers ready/.test(w.output()), 10000, { message: () => w.output() });
    return { worker: w, api: a, base: `http://127.0.0.1:${port}` };
  }

  before(async () => {
    app = await installApp(path.join(EXAMPLES, 'enrichment'));
    ({ worker, api, base } = await start());
  }, INSTALL_TIMEOUT);

  after(async () => {
    await worker?.stop();
    await api?.stop();
    await dropPrefix(prefix);
    await dropPrefix(`${prefix}-ttl`);
    app?.dispose();
  });

  async function send(method, url, body, headers = alice) {
    const res = await fetch(`${base}${url}`, {
      method,
      headers: { ...headers, ...(body && { 'content-type': 'application/json' }) },
      body: body && JSON.stringify(body),
    });
    return { status: res.status, body: res.headers.get('content-type').includes('json') ? await res.json() : await res.text() };
  }

  async function jobWhen(id, status, timeoutMs = 20000) {
    return waitFor(async () => {
      const { body } = await send('GET', `/api/jobs/${id}`);
      return body.job.status === status && body.job;
    }, timeoutMs, { message: () => `${id} never ${status}\n${worker.output()}` });
  }

  test('the workers take their concurrency from the environment', () => {
    assert.match(worker.output(), /workers ready: enrichment ×4, competitor ×2, analytics-heavy ×2/);
  });

  test('POST answers a job id at once; polling its status follows the progress to completed', async () => {
    const res = await send('POST', '/api/files/prop-1/enrich', { location, countryCode: 'FR' });
    assert.equal(res.status, 202);
    assert.match(res.body.jobId, /^enrich-prop-1-\d+$/);
    const seen = [];
    const job = await waitFor(async () => {
      const { body } = await send('GET', `/api/jobs/${res.body.jobId}`);
      if (seen.at(-1) !== body.job.progress) seen.push(body.job.progress);
      return body.job.status === 'completed' && body.job;
    }, 20000);
    assert.ok(seen.some((p) => p > 0 && p < 100), `progress seen: ${seen.join(', ')}`);
    assert.deepEqual(seen, [...seen].sort((a, b) => a - b), 'progress only grows');
    assert.equal(job.progress, 100);
    assert.equal(job.queue, 'enrichment');
    assert.deepEqual(job.result, { propertyId: 'prop-1', enriched: ['weather', 'holidays', 'temporal features'] });
    assert.deepEqual(job.data, { location, countryCode: 'FR', propertyId: 'prop-1', userId: 'alice' });
    assert.equal((await send('GET', `/api/jobs/${res.body.jobId}`, undefined, { 'x-user-id': 'bob' })).status, 404, "another user's job");
    assert.equal((await send('GET', `/api/jobs/${res.body.jobId}`, undefined, {})).status, 401);
    assert.deepEqual((await send('GET', '/api/jobs/enrich-nope')).body, { success: false, job: { id: 'enrich-nope', status: 'not_found' } });
  });

  test('enrichment runs at most ENRICHMENT_RATE_MAX jobs per RATE_DURATION_MS', async () => {
    await sleep(1100); // the limiter's window opened by the last test's job has ended
    const ids = [];
    for (let i = 0; i < 4; i += 1) ids.push((await send('POST', `/api/files/rate-${i}/enrich`, { location })).body.jobId);
    const jobs = [];
    for (const id of ids) jobs.push(await jobWhen(id, 'completed'));
    const started = jobs.map((j) => j.processedOn).sort((a, b) => a - b);
    assert.ok(started[2] - started[0] >= 900, `3rd job started ${started[2] - started[0]} ms after the 1st`);
    assert.ok(started[3] - started[1] >= 900, `4th job started ${started[3] - started[1]} ms after the 2nd`);
  });

  test('failed attempts are retried; a job out of attempts waits in the DLQ until retried', async () => {
    const flaky = (await send('POST', '/api/files/flaky/enrich', { location, failAttempts: 2 })).body.jobId;
    assert.equal((await jobWhen(flaky, 'completed')).attemptsMade, 3);
    const blocked = (await send('POST', '/api/competitor', { propertyId: 'p2', location: 'Paris', checkIn: '2025-01-10', checkOut: '2025-01-12', adults: 2, failAttempts: 3 })).body.jobId;
    const analytics = (await send('POST', '/api/analytics', { propertyId: 'p3', analysisType: 'summary', data: [] })).body.jobId;
    await jobWhen(blocked, 'failed');
    await jobWhen(analytics, 'failed');
    const dlq = (await send('GET', '/api/jobs/dlq/list')).body;
    assert.equal(dlq.total, 2);
    const byId = Object.fromEntries(dlq.failedJobs.map((j) => [j.id, j]));
    assert.deepEqual([byId[blocked].queue, byId[blocked].error, byId[blocked].attemptsMade], ['competitor', 'blocked by the site (HTTP 429)', 3]);
    assert.deepEqual([byId[analytics].queue, byId[analytics].error, byId[analytics].attemptsMade], ['analytics-heavy', 'no data to analyse', 1]);
    assert.ok(byId[blocked].failedAt > 0);
    assert.deepEqual((await send('GET', '/api/jobs/dlq/list', undefined, { 'x-user-id': 'bob' })).body, { success: true, failedJobs: [], total: 0 });

    assert.equal((await send('POST', `/api/jobs/${flaky}/retry`)).status, 409);
    assert.deepEqual((await send('POST', `/api/jobs/${blocked}/retry`)).body, { success: true, message: 'Job retry initiated', jobId: blocked });
    const retried = await jobWhen(blocked, 'completed');
    assert.equal(retried.attemptsMade, 4);
    assert.deepEqual(retried.result.prices, [120, 135, 149]);
    assert.equal((await send('GET', '/api/jobs/dlq/list')).body.total, 1);
  });

  test("GET /api/jobs lists the user's jobs by queue and status", async () => {
    const list = (await send('GET', '/api/jobs?queue=enrichment&status=completed&limit=2')).body;
    assert.equal(list.total, 6);
    assert.equal(list.jobs.length, 2);
    assert.ok(list.jobs.every((j) => j.queue === 'enrichment' && j.status === 'completed' && j.progress === 100));
    assert.equal((await send('GET', '/api/jobs')).body.total, 8);
    assert.equal((await send('GET', '/api/jobs', undefined, { 'x-user-id': 'bob' })).body.total, 0);
    assert.equal((await send('GET', '/api/jobs?queue=nope')).status, 400);
    assert.equal((await send('GET', '/api/jobs?status=lost')).status, 400);
  });

  test('GET /metrics is Prometheus text, /metrics/json the same counts as JSON', async () => {
    const text = (await send('GET', '/metrics', undefined, {})).body;
    assert.match(text, /^# HELP bullmq_queue_waiting_jobs Number of jobs waiting in queue\n# TYPE bullmq_queue_waiting_jobs gauge\n/);
    for (const line of [
      'bullmq_queue_completed_jobs{queue="enrichment"} 6',
      'bullmq_queue_completed_jobs{queue="competitor"} 1',
      'bullmq_queue_failed_jobs{queue="analytics-heavy"} 1',
      'bullmq_queue_active_jobs{queue="enrichment"} 0',
    ]) assert.ok(text.split('\n').includes(line), `${line} in\n${text}`);
    const json = (await send('GET', '/metrics/json', undefined, {})).body;
    assert.ok(!Number.isNaN(Date.parse(json.timestamp)));
    assert.deepEqual(json.queues, {
      enrichment: { waiting: 0, active: 0, completed: 6, failed: 0, delayed: 0 },
      competitor: { waiting: 0, active: 0, completed: 1, failed: 0, delayed: 0 },
      'analytics-heavy': { waiting: 0, active: 0, completed: 0, failed: 1, delayed: 0 },
    });
  });

  test('on SIGTERM the worker finishes its running job, then exits; so does the API', async () => {
    const id = (await send('POST', '/api/files/last/enrich', { location })).body.jobId;
    await jobWhen(id, 'active');
    assert.deepEqual(await worker.stop(), { code: 0, signal: null }, worker.output());
    assert.equal((await send('GET', `/api/jobs/${id}`)).body.job.status, 'completed');
    assert.deepEqual(await api.stop(), { code: 0, signal: null }, api.output());
  });

  test('finished jobs expire after COMPLETED_TTL_S / FAILED_TTL_S', async () => {
    ({ worker, api, base } = await start({ QUEUE_PREFIX: `${prefix}-ttl`, COMPLETED_TTL_S: '1', FAILED_TTL_S: '1' }));
    const first = (await send('POST', '/api/analytics', { propertyId: 'a', analysisType: 'summary', data: [{ price: 100 }, { price: 120 }] })).body.jobId;
    const done = await jobWhen(first, 'completed');
    assert.deepEqual(done.result, { analysisType: 'summary', count: 2, mean: 110, min: 100, max: 120 });
    await sleep(1500);
    const second = (await send('POST', '/api/analytics', { propertyId: 'b', analysisType: 'summary', data: [{ price: 1 }] })).body.jobId;
    await jobWhen(second, 'completed');
    assert.equal((await send('GET', `/api/jobs/${first}`)).status, 404, 'the older completed job expired');
  });
});
