'use strict';

// examples/express, installed with the implementation under test as `bullmq`: its REST API
// (enqueue, status, list, retry) served by server.js while worker.js processes the jobs,
// each in its own process, both exiting by themselves on SIGTERM.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { installApp, disposePacks, startProcess, waitForHttp } = require('../helpers/apps');
const { implLabel } = require('../helpers/env');
const { redisUrl, uniqueQueueName, cleanup } = require('../helpers/redis');
const { freePort } = require('../helpers/util');

const EXAMPLE = path.join(__dirname, '..', '..', 'examples', 'express');

async function call(base, method, url, body) {
  const res = await fetch(`${base}${url}`, {
    method,
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body && JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

describe(`Express example with ${implLabel} as bullmq`, () => {
  let app;
  let server;
  let worker;
  let base;
  const queueName = uniqueQueueName('express');

  before(async () => {
    app = await installApp(EXAMPLE);
    const port = await freePort();
    const env = { REDIS_URL: redisUrl, QUEUE_NAME: queueName, PORT: String(port) };
    base = `http://127.0.0.1:${port}`;
    worker = startProcess(process.execPath, ['worker.js'], { cwd: app.dir, env });
    server = startProcess(process.execPath, ['server.js'], { cwd: app.dir, env });
    await waitForHttp(`${base}/api/jobs/none`, server);
  }, { timeout: 300000 });

  after(async () => {
    await worker?.stop();
    await server?.stop();
    await cleanup(queueName);
    app?.dispose();
    await disposePacks();
  });

  /** Polls a job's status until it is `status`; fails early when the worker has exited. */
  async function jobWhen(id, status, timeoutMs = 20000) {
    const deadline = Date.now() + timeoutMs;
    let last;
    while (Date.now() < deadline) {
      if (worker.child.exitCode !== null) throw new Error(`the worker exited:\n${worker.output()}`);
      last = (await call(base, 'GET', `/api/jobs/${id}`)).body;
      if (last.status === status) return last;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`job ${id} never reached ${status}; last seen ${JSON.stringify(last)}\n${worker.output()}`);
  }

  let doubled;
  let flaky;

  test('POST /api/jobs answers the job id at once', async () => {
    const ok = await call(base, 'POST', '/api/jobs', { n: 21 });
    assert.equal(ok.status, 202);
    assert.deepEqual(Object.keys(ok.body).sort(), ['jobId', 'status']);
    assert.equal(ok.body.status, 'queued');
    doubled = ok.body.jobId;
    flaky = (await call(base, 'POST', '/api/jobs', { n: 5, failures: 2 })).body.jobId;
  });

  test('GET /api/jobs/:id follows a job to completed', async () => {
    const job = await jobWhen(doubled, 'completed');
    assert.equal(job.name, 'double');
    assert.deepEqual(job.data, { n: 21 });
    assert.deepEqual(job.returnvalue, { doubled: 42 });
    assert.equal(job.progress, 50);
    assert.equal(job.attemptsMade, 1);
    assert.ok(job.finishedOn >= job.timestamp);
  });

  test('a job that fails both attempts ends in failed, and GET /api/jobs lists it', async () => {
    const job = await jobWhen(flaky, 'failed');
    assert.equal(job.attemptsMade, 2);
    assert.equal(job.failedReason, 'flaky dependency (attempt 2)');
    const list = await call(base, 'GET', '/api/jobs?status=failed');
    assert.equal(list.status, 200);
    assert.equal(list.body.total, 1);
    assert.deepEqual(list.body.jobs.map((j) => [j.jobId, j.status]), [[flaky, 'failed']]);
  });

  test('POST /api/jobs/:id/retry runs a failed job again, and refuses any other', async () => {
    assert.deepEqual(await call(base, 'POST', `/api/jobs/${doubled}/retry`), {
      status: 409,
      body: { error: `job ${doubled} has not failed` },
    });
    assert.deepEqual(await call(base, 'POST', `/api/jobs/${flaky}/retry`), {
      status: 200,
      body: { jobId: flaky, status: 'retried' },
    });
    const job = await jobWhen(flaky, 'completed');
    assert.deepEqual(job.returnvalue, { doubled: 10 });
    assert.equal(job.attemptsMade, 3);
    const list = await call(base, 'GET', '/api/jobs?status=completed&limit=10');
    assert.equal(list.body.total, 2);
    assert.deepEqual(list.body.jobs.map((j) => j.jobId).sort(), [doubled, flaky].sort());
  });

  test('unknown ids and states are refused', async () => {
    assert.deepEqual(await call(base, 'GET', '/api/jobs/no-such-job'), {
      status: 404,
      body: { jobId: 'no-such-job', status: 'not_found' },
    });
    assert.equal((await call(base, 'POST', '/api/jobs/no-such-job/retry')).status, 404);
    assert.equal((await call(base, 'GET', '/api/jobs?status=lost')).status, 400);
  });

  test('server and worker exit by themselves on SIGTERM', async () => {
    assert.deepEqual(await server.stop(), { code: 0, signal: null }, server.output());
    assert.deepEqual(await worker.stop(), { code: 0, signal: null }, worker.output());
  });
});
