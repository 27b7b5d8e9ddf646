'use strict';

// examples/nestjs, installed with the implementation under test as `bullmq`, compiled with
// tsc against its types and started: jobs added through the controller's @InjectQueue
// queue are processed by the @Processor WorkerHost, its @OnWorkerEvent handlers hear
// active, completed and failed, and on SIGTERM the app closes and the process exits by
// itself (the worker's `closed` heard on the way out).

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { installApp, disposePacks, run, startProcess, waitForHttp } = require('../helpers/apps');
const { implLabel } = require('../helpers/env');
const { Queue } = require('../helpers/impl');
const { connection, redisUrl, uniqueQueueName, cleanup, waitFor } = require('../helpers/redis');
const { freePort } = require('../helpers/util');

const EXAMPLE = path.join(__dirname, '..', '..', 'examples', 'nestjs');

describe(`NestJS example with ${implLabel} as bullmq`, () => {
  const queueName = uniqueQueueName('nestjs');
  let app;
  let server;
  let base;
  let queue;

  before(async () => {
    app = await installApp(EXAMPLE);
    await run('npm', ['run', 'build'], { cwd: app.dir });
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    server = startProcess(process.execPath, ['dist/main.js'], {
      cwd: app.dir,
      env: { REDIS_URL: redisUrl, QUEUE_NAME: queueName, PORT: String(port) },
    });
    await waitForHttp(`${base}/jobs/events`, server);
    queue = new Queue(queueName, { connection });
  }, { timeout: 600000 });

  after(async () => {
    await server?.stop();
    await queue?.close();
    await cleanup(queueName);
    app?.dispose();
    await disposePacks();
  });

  async function call(method, url, body) {
    const res = await fetch(`${base}${url}`, {
      method,
      headers: body ? { 'content-type': 'application/json' } : {},
      body: body && JSON.stringify(body),
    });
    return { status: res.status, body: await res.json() };
  }

  let squared;
  let refused;

  test('jobs added through the @InjectQueue queue are processed by the WorkerHost', async () => {
    const added = await call('POST', '/jobs', { n: 7 });
    assert.equal(added.status, 201);
    squared = added.body.jobId;
    refused = (await call('POST', '/jobs', { n: 3, fail: true })).body.jobId;
    await waitFor(async () => (await call('GET', `/jobs/${refused}`)).body.state === 'failed', 20000, { interval: 100 });
    await waitFor(async () => (await call('GET', `/jobs/${squared}`)).body.state === 'completed', 20000, { interval: 100 });
    assert.deepEqual((await call('GET', `/jobs/${squared}`)).body, {
      jobId: squared,
      state: 'completed',
      progress: 50,
      returnvalue: { square: 49 },
    });
    const failed = await queue.getJob(refused);
    assert.deepEqual([failed.name, failed.failedReason, failed.attemptsMade], ['square', 'refused to square 3', 1]);
    assert.deepEqual(await queue.getJobCounts('completed', 'failed', 'waiting', 'active'), {
      completed: 1,
      failed: 1,
      waiting: 0,
      active: 0,
    });
    assert.equal((await call('GET', '/jobs/no-such-job')).status, 404);
  });

  test('the @OnWorkerEvent handlers heard active, completed and failed, with the job and result', async () => {
    const events = (await call('GET', '/jobs/events')).body;
    const of = (id) => events.filter((e) => e.jobId === id);
    assert.deepEqual(of(squared), [
      { event: 'active', jobId: squared },
      { event: 'completed', jobId: squared, detail: { square: 49 } },
    ]);
    assert.deepEqual(of(refused), [
      { event: 'active', jobId: refused },
      { event: 'failed', jobId: refused, detail: 'refused to square 3' },
    ]);
  });

  test('on SIGTERM the app closes its worker and the process exits by itself', async () => {
    assert.deepEqual(await server.stop(), { code: 0, signal: null }, server.output());
    assert.match(server.output(), /^worker event: closed$/m);
  });
});
