'use strict';

// bullrush/testing (lib/testing.js), used as a node:test suite uses it: a redis-server of
// its own or the Redis at REDIS_URL, unique queue names, keys removed on cleanup/stop,
// the server gone after stop, and a process using it exiting by itself. The queues run
// on the implementation under test, so with BULLRUSH_TEST_IMPL=bullmq this shows the
// helper serving BullMQ too.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFile } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { startTestRedis } = require('../testing');
const { Queue, Worker, QueueEvents } = require('./helpers/impl');
const { redisUrl, newRedis, queueKeys, uniqueQueueName, cleanup, waitFor } = require('./helpers/redis');
const { FIXTURES } = require('./helpers/util');

const ROOT = path.join(__dirname, '..');

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    if (err.code === 'ESRCH') return false;
    throw err;
  }
}

/** Resolves with whether something accepts TCP connections on 127.0.0.1:`port`. */
function listening(port) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Adds a job to `name` and answers its result, processed by a Worker, seen by QueueEvents. */
async function roundTrip(name, connection, opts = {}) {
  const queue = new Queue(name, { connection, ...opts });
  const events = new QueueEvents(name, { connection, ...opts });
  const worker = new Worker(name, async (job) => job.data.n * 2, { connection, ...opts });
  try {
    await events.waitUntilReady();
    const job = await queue.add('double', { n: 21 });
    return await job.waitUntilFinished(events, 10000);
  } finally {
    await worker.close();
    await events.close();
    await queue.close();
  }
}

/** Runs `node <args>` in `cwd`; answers { code, stdout, stderr }; fails if it runs past `timeoutMs`. */
// (Without the test runner's NODE_TEST_CONTEXT, so a nested `node --test` reports as TAP.)
function runNode(args, { cwd = ROOT, env = {}, timeoutMs = 30000 } = {}) {
  const childEnv = { ...process.env, ...env };
  delete childEnv.NODE_TEST_CONTEXT;
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd, env: childEnv, timeout: timeoutMs }, (err, stdout, stderr) => {
      resolve({ code: err ? (err.killed ? 'timeout' : err.code) : 0, stdout, stderr });
    });
  });
}

describe('bullrush/testing: a redis-server of its own', () => {
  let redis;
  before(async () => {
    redis = await startTestRedis({ url: false });
  });
  after(() => redis.stop());

  test('starts redis-server on a free loopback port, in a temporary directory', async () => {
    assert.equal(redis.ownServer, true);
    assert.match(redis.url, /^redis:\/\/127\.0\.0\.1:\d+$/);
    assert.deepEqual(redis.connection, { host: '127.0.0.1', port: Number(new URL(redis.url).port) });
    assert.notEqual(redis.connection.port, 6379);
    assert.ok(alive(redis.pid));
    assert.ok(fs.statSync(redis.dir).isDirectory());
  });

  test('serves a Queue, a Worker and QueueEvents, with persistence off', async () => {
    assert.equal(await roundTrip(redis.queueName('own'), redis.connection), 42);
    const client = newRedis({ host: '127.0.0.1', port: redis.connection.port });
    try {
      assert.deepEqual(await client.config('GET', 'save'), ['save', '']);
      assert.deepEqual(await client.config('GET', 'appendonly'), ['appendonly', 'no']);
      assert.deepEqual(await client.config('GET', 'dir'), ['dir', fs.realpathSync(redis.dir)]);
    } finally {
      await client.quit();
    }
  });

  test('stop() kills the server and deletes its directory; a second stop() is a no-op', async () => {
    const other = await startTestRedis({ url: false });
    const { pid, dir } = other;
    const { port } = other.connection;
    assert.equal(await roundTrip(other.queueName(), other.connection), 42);
    await other.stop();
    assert.equal(alive(pid), false, 'redis-server still running');
    assert.equal(await listening(port), false, `something still listens on ${port}`);
    assert.equal(fs.existsSync(dir), false, `${dir} still exists`);
    await other.stop();
    assert.equal(await other.cleanup(), 0);
    assert.throws(() => other.queueName(), /stopped/);
  });

  test('two at once get different servers', async () => {
    const other = await startTestRedis({ url: false });
    try {
      assert.notEqual(other.url, redis.url);
      assert.notEqual(other.pid, redis.pid);
    } finally {
      await other.stop();
    }
  });
});

describe('bullrush/testing: the Redis at REDIS_URL', () => {
  let redis;
  let keptName;
  before(async () => {
    redis = await startTestRedis({ url: redisUrl });
    keptName = uniqueQueueName('testing-kept');
  });
  after(async () => {
    await redis.stop();
    await cleanup(keptName);
  });

  test('uses the given Redis and starts nothing', () => {
    assert.equal(redis.ownServer, false);
    assert.equal(redis.url, redisUrl);
    assert.equal(redis.pid, null);
    assert.equal(redis.dir, null);
  });

  test('REDIS_URL is the default, and url: false ignores it', async () => {
    const saved = process.env.REDIS_URL;
    process.env.REDIS_URL = redisUrl;
    try {
      const fromEnv = await startTestRedis();
      assert.equal(fromEnv.ownServer, false);
      assert.equal(fromEnv.url, redisUrl);
      await fromEnv.stop();
      const own = await startTestRedis({ url: false });
      assert.equal(own.ownServer, true);
      await own.stop();
    } finally {
      if (saved === undefined) delete process.env.REDIS_URL;
      else process.env.REDIS_URL = saved;
    }
  });

  test('queueName() answers unique names carrying the base', () => {
    const names = Array.from({ length: 50 }, () => redis.queueName('emails'));
    assert.equal(new Set(names).size, 50);
    for (const name of names) assert.match(name, /^emails-[0-9a-z]+-[0-9a-f]{10}$/);
    assert.match(redis.queueName(), /^test-/);
    for (const bad of ['', 'a:b', 42]) assert.throws(() => redis.queueName(bad), TypeError);
  });

  test('cleanup() deletes the keys of its queues under any prefix, and no other key', async () => {
    const name = redis.queueName('clean');
    assert.equal(await roundTrip(name, redis.connection), 42);
    assert.equal(await roundTrip(name, redis.connection, { prefix: 'custom' }), 42);
    await roundTrip(keptName, redis.connection);
    const ours = [...(await queueKeys(name)), ...(await queueKeys(name, 'custom'))];
    const kept = await queueKeys(keptName);
    assert.ok(ours.length > 6, `expected the queue's keys, got ${ours}`);
    assert.equal(await redis.cleanup(), ours.length);
    assert.deepEqual(await queueKeys(name), []);
    assert.deepEqual(await queueKeys(name, 'custom'), []);
    assert.deepEqual(await queueKeys(keptName), kept);
  });

  test('stop() deletes the keys of every queue it named', async () => {
    const other = await startTestRedis({ url: redisUrl });
    const names = [other.queueName('a'), other.queueName('b')];
    for (const name of names) await roundTrip(name, other.connection);
    for (const name of names) assert.notDeepEqual(await queueKeys(name), []);
    await other.stop();
    for (const name of names) assert.deepEqual(await queueKeys(name), []);
  });
});

describe('bullrush/testing: errors', () => {
  test('a Redis that does not answer is named, credentials masked', async () => {
    await assert.rejects(
      startTestRedis({ url: 'redis://user:secret@127.0.0.1:1' }),
      (err) => /the Redis at redis:\/\/\*\*\*@127\.0\.0\.1:1 does not answer/.test(err.message) && !err.message.includes('secret'),
    );
  });

  test('a URL that is not redis:// is refused', async () => {
    await assert.rejects(startTestRedis({ url: 'http://127.0.0.1:6379' }), TypeError);
    await assert.rejects(startTestRedis({ url: 'not a url' }), TypeError);
  });

  test('a redis-server binary that is missing says how to get a Redis, and leaves no directory', async () => {
    const before = fs.readdirSync(require('node:os').tmpdir()).filter((f) => f.startsWith('bullrush-test-redis-'));
    await assert.rejects(
      startTestRedis({ url: false, redisServer: 'no-such-redis-server' }),
      /cannot run no-such-redis-server: install redis-server, or set REDIS_URL/,
    );
    const after = fs.readdirSync(require('node:os').tmpdir()).filter((f) => f.startsWith('bullrush-test-redis-'));
    assert.deepEqual(after.filter((f) => !before.includes(f)), []);
  });
});

describe('bullrush/testing: a process using it exits by itself', () => {
  for (const mode of ['own', 'given']) {
    test(`with ${mode === 'own' ? 'a redis-server of its own' : 'the Redis at REDIS_URL'}`, async () => {
      const run = await runNode([path.join(FIXTURES, 'testing-exit.js'), mode], { env: { REDIS_URL: redisUrl } });
      assert.equal(run.code, 0, `exit ${run.code}\n${run.stdout}\n${run.stderr}`);
      const report = JSON.parse(run.stdout);
      assert.equal(report.result, 42);
      assert.equal(report.ownServer, mode === 'own');
      if (mode === 'own') {
        assert.equal(alive(report.pid), false);
        assert.equal(fs.existsSync(report.dir), false);
      } else {
        assert.equal(report.url, redisUrl);
      }
      assert.deepEqual(await queueKeys(report.name), []);
    });
  }

  test('process.exit() without stop() takes its redis-server and directory down too', async () => {
    const script =
      "require('./testing').startTestRedis({ url: false }).then((r) => { console.log(JSON.stringify({ pid: r.pid, dir: r.dir })); process.exit(0); });";
    const run = await runNode(['-e', script]);
    assert.equal(run.code, 0, run.stderr);
    const { pid, dir } = JSON.parse(run.stdout);
    assert.ok(pid > 0, run.stdout);
    assert.equal(fs.existsSync(dir), false, `${dir} still exists`);
    await waitFor(() => !alive(pid), 5000, { message: `redis-server ${pid} still running` });
  });

  for (const [label, url] of [['the Redis at REDIS_URL', redisUrl], ['a redis-server of its own', '']]) {
    test(`the README's node:test example (examples/node-test) passes and exits, on ${label}`, async () => {
      const run = await runNode(['--test', path.join('examples', 'node-test', 'resize.test.js')], { env: { REDIS_URL: url } });
      assert.equal(run.code, 0, `exit ${run.code}\n${run.stdout}\n${run.stderr}`);
      assert.match(run.stdout, /^# pass 1$/m);
      assert.match(run.stdout, /^# fail 0$/m);
    });
  }

  test('bullrush/testing loads by its package name under require and import', async () => {
    const cjs = await runNode(['-e', "const t = require('bullrush/testing'); console.log(Object.keys(t).sort().join())"]);
    assert.equal(cjs.stdout.trim(), 'TestRedis,startTestRedis', cjs.stderr);
    const esm = await runNode([
      '--input-type=module',
      '-e',
      "import * as t from 'bullrush/testing'; import { startTestRedis } from 'bullrush/testing'; " +
        "console.log(Object.keys(t).sort().join(), typeof startTestRedis)",
    ]);
    assert.equal(esm.stdout.trim(), 'TestRedis,startTestRedis function', esm.stderr);
  });
});
