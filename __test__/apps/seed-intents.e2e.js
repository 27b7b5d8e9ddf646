'use strict';

// examples/intents (seed 003), installed with the implementation under test as `bullmq` and
// run against the test Redis: one OpenTelemetry trace across both queues (in-memory exporter),
// defaultJobOptions and stalled settings, pause/resume, retry/clear failed, health, bull-board's
// API, a killed server's job found stalled, SIGTERM. With BULLRUSH_TEST_IMPL=bullmq the same code
// runs on BullMQ itself.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { installApp, disposePacks, startProcess, waitForHttp } = require('../helpers/apps');
const { implLabel } = require('../helpers/env');
const { redisUrl, waitFor } = require('../helpers/redis');
const { EXAMPLES, INSTALL_TIMEOUT, uniquePrefix, dropPrefix, sleep, call, loadWith } = require('../helpers/seeds');
const { freePort } = require('../helpers/util');

after(() => disposePacks());

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
