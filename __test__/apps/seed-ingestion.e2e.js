'use strict';

// examples/ingestion (seed 001), installed with the implementation under test as `bullmq` and
// run against the test Redis: idempotent job ids, delay and priority, workers started, stopped
// and asked for their status, progress events, retries with the custom backoff, failed-job
// retry, the metrics API (server.js), clean, and workers.js finishing its job on SIGTERM. With
// BULLRUSH_TEST_IMPL=bullmq the same code runs on BullMQ itself.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { installApp, disposePacks, startProcess, waitForHttp } = require('../helpers/apps');
const { implLabel } = require('../helpers/env');
const { redisUrl, waitFor, queueEventsReady } = require('../helpers/redis');
const { EXAMPLES, INSTALL_TIMEOUT, uniquePrefix, dropPrefix, loadWith } = require('../helpers/seeds');
const { freePort } = require('../helpers/util');

after(() => disposePacks());

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
    // Each retry's `delayed` event: when the job is due, and (the event's stream id) when it failed.
    const backoffs = [];
    events.on('delayed', ({ jobId, delay }, eventId) => {
      if (jobId === 'webhook-msg-1') backoffs.push(Number(delay) - Number(eventId.split('-')[0]));
    });
    const job = await queue.enqueueWebhook({ tenantId: 't1', messageId: 'msg-1', eventType: 'calc.batch.completed', failAttempts: 2 });
    assert.deepEqual(await job.waitUntilFinished(events, 10000), { delivered: true, attempt: 3 });
    assert.equal((await queue.getJobStatus('webhooks', 'webhook-msg-1')).attemptsMade, 3);
    await waitFor(() => backoffs.length === 2, 5000, { message: () => JSON.stringify(backoffs) });
    // Due time (the engine's clock) against the stream id (Redis' clock): equal within a few ms.
    assert.ok(Math.abs(backoffs[0] - 40) <= 20 && Math.abs(backoffs[1] - 200) <= 20, `backoffs ${backoffs.join(', ')} ms (40, 200 expected)`);
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
      const job = await queue.enqueueReport({ tenantId: 't3', reportType: 'price-math', pages: 20 });
      await waitFor(async () => (await queue.getJobStatus('reports', job.id)).state === 'active', 10000);
      assert.deepEqual(await proc.stop(), { code: 0, signal: null }, proc.output());
      // The job was still running when the signal came, and finished before the exit.
      assert.match(proc.output(), new RegExp(`Shutting down workers\\.\\.\\.[\\s\\S]*Completed: ${job.id} [\\s\\S]*workers stopped`));
      assert.equal((await queue.getJobStatus('reports', job.id)).state, 'completed');
    } finally {
      await proc.stop();
    }
  });

  test('the server exits by itself on SIGTERM', async () => {
    assert.deepEqual(await server.stop(), { code: 0, signal: null }, server.output());
  });
});
