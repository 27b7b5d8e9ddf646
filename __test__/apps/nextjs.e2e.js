'use strict';

// The Next.js App Router app in fixtures/nextjs-app, installed with the implementation
// under test as `bullmq` and no next.config: built and served by Turbopack and by webpack,
// run under `next dev`, and built with `output: 'standalone'` (the server then copied out
// of the app, so it has only the files Next traced). In each, the route handler enqueues
// through its singleton Queue and reads jobs back with getJob while the app's native-ESM
// worker (`import { Worker, UnrecoverableError } from 'bullmq'`) processes them.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { installApp, disposePacks, run, startProcess, waitForHttp, tempDir } = require('../helpers/apps');
const { implLabel, isBullmqImpl } = require('../helpers/env');
const { redisUrl, uniqueQueueName, cleanup } = require('../helpers/redis');
const { freePort } = require('../helpers/util');

const FIXTURE = path.join(__dirname, '..', 'fixtures', 'nextjs-app');
const BUILD_TIMEOUT = 240000;
const SCENARIO_TIMEOUT = 360000;

function tail(text, chars = 4000) {
  return text.length > chars ? `…${text.slice(-chars)}` : text;
}

function next(app, args, env) {
  return [process.execPath, [path.join(app.dir, 'node_modules', 'next', 'dist', 'bin', 'next'), ...args], { cwd: app.dir, env }];
}

async function build(app, args = [], config = null) {
  fs.rmSync(path.join(app.dir, '.next'), { recursive: true, force: true });
  const configFile = path.join(app.dir, 'next.config.mjs');
  if (config) fs.writeFileSync(configFile, `export default ${JSON.stringify(config)};\n`);
  try {
    const [command, commandArgs, opts] = next(app, ['build', ...args], { REDIS_URL: redisUrl });
    await run(command, commandArgs, { ...opts, timeoutMs: BUILD_TIMEOUT });
  } finally {
    fs.rmSync(configFile, { force: true });
  }
}

async function postJob(base, data) {
  const res = await fetch(`${base}/api/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(data),
  });
  const body = await res.json();
  assert.equal(res.status, 202, JSON.stringify(body));
  return body.id;
}

async function jobWhen(base, id, state, worker, timeoutMs = 30000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    if (worker.child.exitCode !== null) throw new Error(`the worker exited (code ${worker.child.exitCode})`);
    const res = await fetch(`${base}/api/jobs?id=${encodeURIComponent(id)}`);
    last = await res.json();
    if (last.state === state) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`job ${id} never reached ${state}; last seen ${JSON.stringify(last)}`);
}

/**
 * Serves the app with `serve(port, env)`, runs its worker, and checks a job that completes,
 * one that fails with UnrecoverableError (no retries), and an unknown id. Every process is
 * stopped and the queue removed, also when a check fails.
 */
async function exercise(app, serve) {
  const port = await freePort();
  const queueName = uniqueQueueName('nextjs');
  const env = { REDIS_URL: redisUrl, QUEUE_NAME: queueName, PORT: String(port), HOSTNAME: '127.0.0.1' };
  const base = `http://127.0.0.1:${port}`;
  const server = serve(port, env);
  const worker = startProcess(process.execPath, ['worker.mjs'], { cwd: app.dir, env });
  let failure = null;
  try {
    await waitForHttp(`${base}/api/jobs?id=none`, server, 120000);
    const ok = await postJob(base, { n: 21 });
    const bad = await postJob(base, { n: 'twenty-one' });

    const done = await jobWhen(base, ok, 'completed', worker);
    assert.deepEqual(done.returnvalue, { doubled: 42 });
    assert.equal(done.attemptsMade, 1);

    const failed = await jobWhen(base, bad, 'failed', worker);
    assert.match(failed.failedReason, /n must be a number, got "twenty-one"/);
    assert.equal(failed.attemptsMade, 1, 'an UnrecoverableError is not retried');

    const missing = await fetch(`${base}/api/jobs?id=no-such-job`);
    assert.equal(missing.status, 404);
    assert.deepEqual(await missing.json(), { id: 'no-such-job', state: 'not_found' });
  } catch (err) {
    failure = err;
  }
  const workerExit = await worker.stop();
  await server.stop();
  await cleanup(queueName);
  const outputs = `\n--- server output ---\n${tail(server.output())}\n--- worker output ---\n${tail(worker.output())}`;
  if (failure) {
    failure.message += outputs;
    throw failure;
  }
  assert.deepEqual(workerExit, { code: 0, signal: null }, `the worker exits by itself once closed${outputs}`);
}

/** Builds with `output: 'standalone'` and serves the standalone server from elsewhere. */
async function exerciseStandalone(app, buildArgs) {
  await build(app, buildArgs, { output: 'standalone' });
  const moved = tempDir('standalone');
  try {
    fs.cpSync(path.join(app.dir, '.next', 'standalone'), moved, { recursive: true });
    await exercise(app, (port, env) => startProcess(process.execPath, ['server.js'], { cwd: moved, env }));
  } finally {
    fs.rmSync(moved, { recursive: true, force: true });
  }
}

function nextStart(app) {
  return (port, env) => startProcess(...next(app, ['start', '-p', String(port), '-H', '127.0.0.1'], env));
}

after(disposePacks);

describe(`Next.js app with ${implLabel} as bullmq, no next.config`, () => {
  let app;
  before(async () => {
    app = await installApp(FIXTURE);
  }, { timeout: 600000 });
  after(() => app?.dispose());

  test('next build (Turbopack), next start', { timeout: SCENARIO_TIMEOUT }, async () => {
    await build(app);
    await exercise(app, nextStart(app));
  });

  test('next build --webpack, next start', { timeout: SCENARIO_TIMEOUT }, async () => {
    await build(app, ['--webpack']);
    await exercise(app, nextStart(app));
  });

  test('next dev (Turbopack)', { timeout: SCENARIO_TIMEOUT }, async () => {
    fs.rmSync(path.join(app.dir, '.next'), { recursive: true, force: true });
    await exercise(app, (port, env) => startProcess(...next(app, ['dev', '-p', String(port), '-H', '127.0.0.1'], env)));
  });

  test("output: 'standalone' (Turbopack), served from a copy of .next/standalone", { timeout: SCENARIO_TIMEOUT }, () =>
    exerciseStandalone(app, []));

  test("output: 'standalone' (webpack), served from a copy of .next/standalone", { timeout: SCENARIO_TIMEOUT }, () =>
    exerciseStandalone(app, ['--webpack']));
});

describe('Next.js app with bullrush in the napi-rs layout (binary in its platform package)', { skip: isBullmqImpl && 'bullrush packaging' }, () => {
  let app;
  before(async () => {
    app = await installApp(FIXTURE, { layout: 'napi' });
  }, { timeout: 600000 });
  after(() => app?.dispose());

  test("output: 'standalone' (Turbopack)", { timeout: SCENARIO_TIMEOUT }, () => exerciseStandalone(app, []));

  test("output: 'standalone' (webpack)", { timeout: SCENARIO_TIMEOUT }, () => exerciseStandalone(app, ['--webpack']));
});
