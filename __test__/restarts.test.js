'use strict';

// Redis goes away mid-run and comes back: no job that ran is run again, no add is
// rejected (BullMQ's default connection options), every job completes, and each worker
// completes a job soon after Redis answers again.
//
// Each run starts a redis-server of its own (AOF, fsync every second) on a free loopback
// port, two worker processes and a producer process (real child processes, see
// fixtures/restart-*.js), and disturbs Redis twice while the producer adds: SHUTDOWN and
// start again on the same dir and port; CLIENT KILL of every client; DEBUG SLEEP 3. The
// workers append every processor call, completion and error to files of their own, read
// here afterwards. Focused tests: a finishing call answered with LOADING; an add whose
// reply is lost; adds bounded by maxRetriesPerRequest and enableOfflineQueue: false.

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const impl = require('./helpers/impl');
const { PrivateRedis } = require('./helpers/private-redis');
const { spawnFixture, sleep, withTimeout } = require('./helpers/util');
const { uniqueQueueName } = require('./helpers/redis');
const { isBullmqImpl } = require('./helpers/env');

const ROUNDS = 80;
const JOBS_PER_ROUND = 50;
const ROUND_PAUSE_MS = 60;
// The rounds sent before the first and the second disturbance.
const DISTURB_AT_ROUNDS = [20, 45];
// How soon after Redis answers again each worker must have completed a job.
const RESUME_LIMIT_MS = 1000;

const AOF_ARGS = ['--appendonly', 'yes', '--appendfsync', 'everysec', '--enable-debug-command', 'yes'];

/** Runs `fn` with a short-lived client of `redis`, quit afterwards. */
async function withClient(redis, fn) {
  const client = redis.client();
  client.on('error', () => {});
  try {
    return await fn(client);
  } finally {
    client.disconnect();
  }
}

// The workers' lockDuration per disturbance: 2 s, but for DEBUG SLEEP 3, where Redis's
// clock runs on while it sleeps and any lock shorter than the sleep expires (with either
// library); BullMQ's default is 30 s.
const LOCK_MS = { restart: 2000, 'client-kill': 2000, 'debug-sleep': 5000 };

// The disturbances: each resolves at the time Redis answers again.
const DISTURB = {
  async restart(redis) {
    const proc = redis.proc;
    await withClient(redis, (c) => c.call('SHUTDOWN').catch(() => {}));
    await withTimeout(proc.exited, 10000, 'redis-server did not shut down');
    redis.proc = null;
    await redis.start();
    return Date.now();
  },
  async 'client-kill'(redis) {
    await withClient(redis, (c) => c.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes'));
    return Date.now();
  },
  async 'debug-sleep'(redis) {
    await withClient(redis, (c) => c.call('DEBUG', 'SLEEP', '3'));
    return Date.now();
  },
};

/** One worker's log: processor calls, completions and errors, each `{ at, text }`. */
function readLog(file) {
  const log = { p: [], c: [], e: [] };
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const match = /^([pce]) (\d+) (.*)$/.exec(line);
    if (match) log[match[1]].push({ at: Number(match[2]), text: match[3] });
  }
  return log;
}

async function completedCount(redis, name) {
  return withClient(redis, (c) => c.zcard(`bull:${name}:completed`));
}

async function runDisturbed(t, kind) {
  const redis = await PrivateRedis.create({ args: AOF_ARGS });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bullrush-restarts-'));
  const children = [];
  t.after(async () => {
    await Promise.all(children.map((c) => c.ensureDead()));
    await redis.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const name = uniqueQueueName(`restarts-${kind}`);
  const port = String(redis.port);
  const logs = [0, 1].map((i) => path.join(dir, `worker-${i}.log`));
  const workers = logs.map((log) => spawnFixture('restart-worker.js', [port, name, log, String(LOCK_MS[kind])]));
  children.push(...workers);
  await Promise.all(workers.map((w) => w.waitMessage((m) => m.type === 'ready', 15000)));

  const producer = spawnFixture('restart-producer.js', [port, name, String(ROUNDS), String(ROUND_PAUSE_MS)]);
  children.push(producer);
  // Each disturbance comes once the producer has sent that many rounds, so that jobs
  // remain for both workers after either (a busy machine slows the producer down).
  const answered = [];
  for (const round of DISTURB_AT_ROUNDS) {
    // eslint-disable-next-line no-await-in-loop
    await producer.waitMessage((m) => m.type === 'round' && m.round >= round, 60000);
    // eslint-disable-next-line no-await-in-loop
    answered.push(await DISTURB[kind](redis));
  }
  const done = await producer.waitMessage((m) => m.type === 'done', 60000);
  const total = ROUNDS * JOBS_PER_ROUND;
  const deadline = Date.now() + 30000;
  // eslint-disable-next-line no-await-in-loop
  while ((await completedCount(redis, name)) < done.added && Date.now() < deadline) await sleep(100);
  // Time for a job run twice (its lock lost: lockDuration + stalledInterval 1 s) to show.
  await sleep(LOCK_MS[kind] + 1500);
  await Promise.all(
    workers.map((w) => {
      w.kill('SIGTERM');
      return withTimeout(w.exited, 15000, 'a worker did not close');
    }),
  );
  const stored = await withClient(redis, async (c) => ({
    completed: await c.zcard(`bull:${name}:completed`),
    counter: Number(await c.get(`bull:${name}:id`)),
  }));

  const runs = new Map();
  const resumes = [];
  const errors = [];
  for (const file of logs) {
    const log = readLog(file);
    for (const { text } of log.p) runs.set(text, (runs.get(text) || 0) + 1);
    resumes.push(answered.map((at) => Math.min(...log.c.filter((c) => c.at >= at).map((c) => c.at)) - at));
    errors.push(log.e.map((e) => e.text));
  }
  const ranTwice = [...runs].filter(([, n]) => n > 1).map(([id]) => id);
  t.diagnostic(
    `${kind}: added ${done.added}, rejected ${done.rejected}, stored ${stored.counter}, completed ` +
      `${stored.completed}, ran twice ${ranTwice.length}, first completion after Redis answered ` +
      `(ms, per worker) ${JSON.stringify(resumes)}, error events per worker ${errors.map((e) => e.length)}`,
  );

  assert.equal(done.rejected, 0, `adds rejected: ${JSON.stringify(done.errors)}`);
  assert.equal(done.added, total);
  assert.equal(stored.counter, total, 'every add stored exactly once');
  assert.equal(stored.completed, total, 'every job completed');
  assert.deepEqual(ranTwice, [], 'no job ran twice');
  assert.equal(runs.size, total, 'every job ran');
  for (const [i, perWorker] of resumes.entries()) {
    for (const ms of perWorker) {
      assert.ok(ms <= RESUME_LIMIT_MS, `worker ${i} completed its first job ${ms} ms after Redis answered again`);
    }
  }
  return { errors };
}

describe(`Redis disturbed twice under two worker processes and a producer process`, () => {
  test('restarted (SHUTDOWN, then started again on its AOF)', { timeout: 120000 }, async (t) => {
    const { errors } = await runDisturbed(t, 'restart');
    for (const [i, messages] of errors.entries()) {
      assert.ok(messages.length <= 2, `worker ${i} raised one error per outage, not per retry: ${JSON.stringify(messages)}`);
    }
  });

  test('every client killed (CLIENT KILL)', { timeout: 120000 }, async (t) => {
    const { errors } = await runDisturbed(t, 'client-kill');
    for (const [i, messages] of errors.entries()) {
      assert.ok(messages.length <= 2, `worker ${i} raised one error per outage, not per retry: ${JSON.stringify(messages)}`);
    }
  });

  test('the server asleep for 3 s (DEBUG SLEEP 3)', { timeout: 120000 }, async (t) => {
    await runDisturbed(t, 'debug-sleep');
  });
});

describe('a finishing call answered with LOADING', () => {
  test('is sent again once Redis is ready: the job ends completed, run once', { timeout: 60000 }, async (t) => {
    const redis = await PrivateRedis.create({ args: ['--enable-debug-command', 'yes'] });
    const connection = { host: '127.0.0.1', port: redis.port };
    const name = uniqueQueueName('loading-finish');
    let queue;
    let worker;
    t.after(async () => {
      await Promise.all([queue, worker].filter(Boolean).map((o) => withTimeout(o.close(), 10000, 'close hangs').catch(() => {})));
      await redis.dispose();
    });
    // Loading takes seconds: many keys, each slowed down, with events served meanwhile
    // (other clients get LOADING instead of waiting).
    await withClient(redis, async (c) => {
      await c.call('DEBUG', 'POPULATE', '30000');
      await c.call('CONFIG', 'SET', 'key-load-delay', '100');
      await c.call('CONFIG', 'SET', 'loading-process-events-interval-bytes', '1024');
    });
    const calls = [];
    const errors = [];
    let entered;
    const inProcessor = new Promise((resolve) => {
      entered = resolve;
    });
    let release;
    const gate = new Promise((resolve) => {
      release = resolve;
    });
    worker = new impl.Worker(
      name,
      async (job) => {
        calls.push(job.id);
        entered();
        await gate;
        return 'done';
      },
      { connection, drainDelay: 1 },
    );
    worker.on('error', (err) => errors.push(err.message));
    queue = new impl.Queue(name, { connection });
    queue.on('error', () => {});
    const job = await queue.add('x', {});
    await withTimeout(inProcessor, 10000, 'the job never reached the processor');

    const reloader = redis.client();
    reloader.on('error', () => {});
    const reload = reloader.call('DEBUG', 'RELOAD');
    await withClient(redis, async (c) => {
      const deadline = Date.now() + 5000;
      // eslint-disable-next-line no-await-in-loop
      while (!/loading:1/.test(await c.info('persistence')) && Date.now() < deadline) await sleep(20);
    });
    release();
    await reload;
    reloader.disconnect();

    const deadline = Date.now() + 15000;
    let state;
    // eslint-disable-next-line no-await-in-loop
    while ((state = await queue.getJobState(job.id)) !== 'completed' && Date.now() < deadline) await sleep(100);
    t.diagnostic(`state ${state}, processor calls ${calls.length}, worker errors ${JSON.stringify(errors)}`);
    assert.ok(
      errors.some((m) => m.startsWith('LOADING')),
      `the finishing call met LOADING (worker errors: ${JSON.stringify(errors)})`,
    );
    assert.equal(state, 'completed');
    assert.deepEqual(calls, [job.id], 'run once');
  });
});

/** A TCP proxy to `port` that, while `dropReplies` is set, drops the connection carrying a
 * reply instead of passing the reply on (and clears the flag). */
async function replyDroppingProxy(port) {
  const sockets = new Set();
  const proxy = { dropReplies: false, dropped: 0 };
  const server = net.createServer((client) => {
    const upstream = net.connect(port, '127.0.0.1');
    sockets.add(client).add(upstream);
    client.on('data', (chunk) => upstream.write(chunk));
    upstream.on('data', (chunk) => {
      if (!proxy.dropReplies) return client.write(chunk);
      proxy.dropReplies = false;
      proxy.dropped += 1;
      client.destroy();
      upstream.destroy();
    });
    for (const s of [client, upstream]) {
      s.on('error', () => {});
      s.on('close', () => {
        client.destroy();
        upstream.destroy();
      });
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.port = server.address().port;
  proxy.close = () => {
    for (const s of sockets) s.destroy();
    return new Promise((resolve) => server.close(resolve));
  };
  return proxy;
}

describe('an add whose reply is lost', { skip: isBullmqImpl && 'bullrush-only: ioredis sends it again blindly' }, () => {
  test('is looked up before it is sent again: stored once, answered with its id', { timeout: 30000 }, async (t) => {
    const redis = await PrivateRedis.create();
    const proxy = await replyDroppingProxy(redis.port);
    const name = uniqueQueueName('lost-reply');
    const queue = new impl.Queue(name, { connection: { host: '127.0.0.1', port: proxy.port } });
    t.after(async () => {
      await queue.close();
      await proxy.close();
      await redis.dispose();
    });
    queue.on('error', () => {});
    await queue.waitUntilReady();

    proxy.dropReplies = true;
    const job = await withTimeout(queue.add('one', { n: 1 }), 10000, 'the add never resolved');
    assert.equal(proxy.dropped, 1, 'the reply was dropped');
    proxy.dropReplies = true;
    const bulk = await withTimeout(
      queue.addBulk([1, 2, 3].map((n) => ({ name: 'bulk', data: { n } }))),
      10000,
      'the addBulk never resolved',
    );
    assert.equal(proxy.dropped, 2, 'the second reply was dropped');

    const stored = await withClient(redis, async (c) => ({
      counter: await c.get(`bull:${name}:id`),
      waiting: await c.lrange(`bull:${name}:wait`, 0, -1),
    }));
    assert.deepEqual([job.id, ...bulk.map((j) => j.id)], ['1', '2', '3', '4']);
    assert.equal(stored.counter, '4', 'each add stored once');
    assert.deepEqual([...stored.waiting].sort(), ['1', '2', '3', '4']);
  });
});

describe('adds while Redis is unreachable, bounded by the connection options', { skip: isBullmqImpl && 'bullrush messages' }, () => {
  const deadPort = async () => {
    const redis = await PrivateRedis.create();
    const { port } = redis;
    await redis.dispose();
    return port;
  };

  test('maxRetriesPerRequest: 1 gives up after about a second, naming the option and the cause', { timeout: 20000 }, async (t) => {
    const port = await deadPort();
    const queue = new impl.Queue(uniqueQueueName('max-retries'), {
      connection: { host: '127.0.0.1', port, maxRetriesPerRequest: 1 },
    });
    t.after(() => queue.close());
    const errors = [];
    queue.on('error', (err) => errors.push(err.message));
    const started = Date.now();
    const err = await withTimeout(queue.add('x', {}).then(() => null, (e) => e), 10000, 'the add never gave up');
    const waited = Date.now() - started;
    assert.ok(err, 'the add was rejected');
    assert.equal(err.name, 'MaxRetriesPerRequestError');
    assert.match(err.message, /max retries per request limit \(which is 1\)/);
    assert.match(err.message, new RegExp(`ECONNREFUSED 127\\.0\\.0\\.1:${port}`));
    assert.ok(waited >= 900, `waited ${waited} ms`);
    assert.equal(errors.length, 1, `one error event for the outage: ${JSON.stringify(errors)}`);
  });

  test('enableOfflineQueue: false refuses at once, naming the option and the cause', { timeout: 20000 }, async (t) => {
    const port = await deadPort();
    const queue = new impl.Queue(uniqueQueueName('offline'), {
      connection: { host: '127.0.0.1', port, enableOfflineQueue: false },
    });
    t.after(() => queue.close());
    queue.on('error', () => {});
    const started = Date.now();
    const err = await withTimeout(queue.add('x', {}).then(() => null, (e) => e), 5000, 'the add never gave up');
    assert.ok(err, 'the add was rejected');
    assert.match(err.message, /enableOfflineQueue options is false/);
    assert.match(err.message, new RegExp(`ECONNREFUSED 127\\.0\\.0\\.1:${port}`));
    assert.ok(Date.now() - started < 1000, 'no waiting');
  });

  test('the defaults wait: an add made while Redis is down succeeds once it is up', { timeout: 30000 }, async (t) => {
    const redis = await PrivateRedis.create();
    const name = uniqueQueueName('waits');
    const queue = new impl.Queue(name, { connection: { host: '127.0.0.1', port: redis.port } });
    t.after(async () => {
      await queue.close();
      await redis.dispose();
    });
    queue.on('error', () => {});
    await queue.waitUntilReady();
    await redis.kill();
    const adding = queue.add('x', { n: 1 });
    await sleep(1500);
    await redis.start();
    const job = await withTimeout(adding, 10000, 'the add never resolved');
    assert.equal(await queue.getJobState(job.id), 'waiting');
  });
});
