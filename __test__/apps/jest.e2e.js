'use strict';

// examples/jest, installed with bullrush as `bullmq`: Jest from the npm registry runs the
// app's two suites (Queue, Worker and QueueEvents on a Redis from `bullmq/testing`) with
// --detectOpenHandles, once on the Redis at REDIS_URL and once on redis-servers the suites
// start themselves. Jest must pass, report no open handle and exit by itself; the suites'
// keys, servers and directories must be gone. A suite that leaves a Worker open shows the
// check can fail. Skipped with BULLRUSH_TEST_IMPL=bullmq: `bullmq/testing` is bullrush's.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { installApp, disposePacks, startProcess } = require('../helpers/apps');
const { isBullmqImpl } = require('../helpers/env');
const { redisUrl, newRedis } = require('../helpers/redis');

const EXAMPLE = path.join(__dirname, '..', '..', 'examples', 'jest');
// Jest's whole run, start-up included; a run that has not exited by then left a handle open.
const EXIT_BOUND_MS = 90000;
const OPEN_HANDLES = /open handles? potentially keeping Jest from exiting|did not exit one second after/;
const LEAK_SUITE = `const { Worker } = require('bullmq');
const { startTestRedis } = require('bullmq/testing');

let redis;
beforeAll(async () => { redis = await startTestRedis(); });
afterAll(() => redis.stop());

test('a worker left open', async () => {
  const worker = new Worker(redis.queueName('jest-leak'), async () => {}, { connection: redis.connection });
  await worker.waitUntilReady();
});
`;

/**
 * Runs `jest <args>` in the app; answers { code, signal, exitedInTime, output } once it has
 * exited, or once `until` matches its output or EXIT_BOUND_MS passed (then it is stopped).
 */
async function jest(app, args, env, until) {
  const bin = path.join(app.dir, 'node_modules', 'jest', 'bin', 'jest.js');
  const proc = startProcess(process.execPath, [bin, ...args], { cwd: app.dir, env });
  const deadline = Date.now() + EXIT_BOUND_MS;
  while (Date.now() < deadline && proc.child.exitCode === null && proc.child.signalCode === null) {
    if (until && until.test(proc.output())) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const exitedInTime = proc.child.exitCode !== null || proc.child.signalCode !== null;
  const { code, signal } = await proc.stop();
  return { code, signal, exitedInTime, output: proc.output() };
}

/** The entries of the temporary directory that bullrush/testing makes its servers' directories in. */
function serverDirs() {
  return fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith('bullrush-test-redis-'));
}

/** Every key of a queue named `jest-*` (the suites' queue names), under any prefix. */
async function jestQueueKeys() {
  const client = newRedis();
  try {
    return (await client.keys('*:jest-*')).sort();
  } finally {
    await client.quit();
  }
}

describe('Jest example with bullrush as bullmq', { skip: isBullmqImpl && 'bullmq/testing is bullrush-only' }, () => {
  let app;

  before(async () => {
    app = await installApp(EXAMPLE);
  }, { timeout: 300000 });

  after(async () => {
    app?.dispose();
    await disposePacks();
  });

  test('the suites pass on the Redis at REDIS_URL, report no open handle, exit by themselves and leave no keys', async () => {
    const keysBefore = await jestQueueKeys();
    const run = await jest(app, ['--detectOpenHandles'], { REDIS_URL: redisUrl });
    assert.equal(run.exitedInTime, true, `jest did not exit within ${EXIT_BOUND_MS} ms:\n${run.output}`);
    assert.deepEqual([run.code, run.signal], [0, null], run.output);
    assert.match(run.output, /Test Suites: 2 passed, 2 total/);
    assert.match(run.output, /Tests: {7}3 passed, 3 total/);
    assert.doesNotMatch(run.output, OPEN_HANDLES);
    assert.deepEqual(await jestQueueKeys(), keysBefore);
  });

  test('the suites pass on redis-servers of their own, which are gone afterwards', async () => {
    const dirsBefore = serverDirs();
    const run = await jest(app, ['--detectOpenHandles'], { REDIS_URL: '' });
    assert.equal(run.exitedInTime, true, `jest did not exit within ${EXIT_BOUND_MS} ms:\n${run.output}`);
    assert.deepEqual([run.code, run.signal], [0, null], run.output);
    assert.match(run.output, /Test Suites: 2 passed, 2 total/);
    assert.doesNotMatch(run.output, OPEN_HANDLES);
    assert.deepEqual(serverDirs().filter((d) => !dirsBefore.includes(d)), []);
  });

  test('a suite that leaves a Worker open is reported (the check can fail)', async () => {
    fs.writeFileSync(path.join(app.dir, '__tests__', 'leak.test.js'), LEAK_SUITE);
    try {
      const run = await jest(app, ['--detectOpenHandles', '__tests__/leak.test.js'], { REDIS_URL: '' }, OPEN_HANDLES);
      assert.match(run.output, OPEN_HANDLES);
      assert.match(run.output, /leak\.test\.js/);
    } finally {
      fs.rmSync(path.join(app.dir, '__tests__', 'leak.test.js'));
    }
  });
});
