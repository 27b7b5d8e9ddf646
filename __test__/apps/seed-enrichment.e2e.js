'use strict';

// examples/enrichment (seed 004), its API and worker run as processes with the implementation
// under test installed as `bullmq`: job status, list, dead letter list and retry, Prometheus and
// JSON metrics, concurrency from the environment, the rate limit, progress polling, retention
// TTLs, SIGTERM. With BULLRUSH_TEST_IMPL=bullmq the same code runs on BullMQ itself.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { installApp, disposePacks, startProcess, waitForHttp } = require('../helpers/apps');
const { implLabel } = require('../helpers/env');
const { redisUrl, waitFor } = require('../helpers/redis');
const { EXAMPLES, INSTALL_TIMEOUT, uniquePrefix, dropPrefix, sleep } = require('../helpers/seeds');
const { freePort } = require('../helpers/util');

after(() => disposePacks());

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
    STEP_MS: '200',
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
    // The job was still running when the signal came, and finished before the exit.
    assert.match(worker.output(), new RegExp(`closing workers[\\s\\S]*\\[enrichment\\] ${id} completed`));
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
