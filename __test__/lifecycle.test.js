'use strict';

// Lifecycle of the implementation's objects: Worker#close waits for the jobs
// it is running and fetches nothing afterwards; a process that used a Queue, a
// Worker and a QueueEvents and closed them exits by itself.

const { createHook } = require('node:async_hooks');
const { describe, test } = require('node:test');
const assert = require('node:assert/strict');

const { bullmq, impl, sides, workerOpts, connection } = require('./helpers/sides');
const { waitFor, uniqueQueueName, cleanup, newRedis } = require('./helpers/redis');
const { createScope, sleep, spawnFixture, withTimeout } = require('./helpers/util');

const IMPL = sides[1].label;

describe(`Worker#close (${IMPL})`, () => {
  test('waits for active jobs to finish, then fetches nothing more', { timeout: 20000 }, async (t) => {
    const s = createScope();
    t.after(() => s.close());
    const name = s.queueName('close');
    const bq = s.add(new bullmq.Queue(name, { connection }));

    const started = [];
    const finished = [];
    const worker = s.add(
      new impl.Worker(
        name,
        async (job) => {
          started.push(job.id);
          await sleep(400);
          finished.push(job.id);
          return `slow ${job.id}`;
        },
        workerOpts({ concurrency: 2 }),
      ),
    );
    let closedEvent = false;
    worker.on('closed', () => {
      closedEvent = true;
    });
    const a = await bq.add('a', {});
    const b = await bq.add('b', {});
    await waitFor(() => started.length === 2, 5000);

    await worker.close();
    assert.deepEqual([...finished].sort(), [a.id, b.id].sort(), 'close() resolved only after both jobs finished');
    for (const job of [a, b]) {
      // eslint-disable-next-line no-await-in-loop
      assert.equal(await bq.getJobState(job.id), 'completed', 'and their results were stored');
      // eslint-disable-next-line no-await-in-loop
      assert.equal((await bq.getJob(job.id)).returnvalue, `slow ${job.id}`);
    }
    assert.equal(closedEvent, true, "'closed' emitted");

    const c = await bq.add('c', {});
    await sleep(300);
    assert.equal(started.length, 2, 'a closed worker fetches nothing');
    assert.equal(await bq.getJobState(c.id), 'waiting');
    // close() again is harmless.
    await worker.close();
  });
});

describe('a process using the implementation exits by itself after close()', () => {
  for (const mode of ['process', 'idle']) {
    for (const kind of ['impl', 'bullmq']) {
      const label = kind === 'impl' ? IMPL : 'bullmq (control)';
      test(`${label}: Queue + Worker + QueueEvents, ${mode === 'process' ? 'after processing a job' : 'closed while idle'}`, { timeout: 30000 }, async (t) => {
        const name = uniqueQueueName('exit');
        t.after(() => cleanup(name));
        const child = spawnFixture('clean-exit.js', [kind, name, mode]);
        t.after(() => child.ensureDead());

        if (mode === 'process') {
          const result = await child.waitMessage((m) => m.type === 'result', 15000);
          assert.deepEqual(result.result, { doubled: 42 });
        }
        await child.waitMessage((m) => m.type === 'closed', 15000);
        const exit = await withTimeout(
          child.exited,
          5000,
          () => `the child did not exit within 5 s after closing everything (a handle is left open); stderr: ${child.stderrText()}`,
        );
        assert.deepEqual(exit, { code: 0, signal: null }, `stderr: ${child.stderrText()}`);
      });
    }
  }
});

describe(`close() releases Redis connections (${IMPL})`, () => {
  // The objects under test use db 11, which no other test uses, so the connections
  // CLIENT LIST shows there are theirs.
  const DB = 11;
  const clientsOnDb = async (redis) =>
    (await redis.client('LIST')).split('\n').filter((line) => line.includes(` db=${DB} `)).length;

  test('Queue, Worker and QueueEvents close every connection they opened', { timeout: 20000 }, async (t) => {
    const observer = newRedis();
    t.after(() => observer.quit());
    const name = uniqueQueueName('conn-release');
    const scoped = { ...connection, db: DB };
    t.after(async () => {
      const c = newRedis({ db: DB });
      const keys = await c.keys(`bull:${name}:*`);
      if (keys.length > 0) await c.del(...keys);
      await c.quit();
    });
    assert.equal(await clientsOnDb(observer), 0, 'nothing else is connected to the test db');

    const queue = new impl.Queue(name, { connection: scoped });
    const events = new impl.QueueEvents(name, { connection: scoped });
    await events.waitUntilReady();
    const worker = new impl.Worker(name, async (job) => job.data.n * 2, workerOpts({ connection: scoped }));
    const done = new Promise((resolve) => worker.once('completed', (_job, result) => resolve(result)));
    await queue.add('double', { n: 21 });
    assert.equal(await done, 42);
    assert.ok((await clientsOnDb(observer)) > 0, 'the objects are connected while in use');

    await worker.close();
    await events.close();
    await queue.close();
    await waitFor(async () => (await clientsOnDb(observer)) === 0, 5000);
  });

  test("a Queue's socket leaves this process's event loop with close()", { timeout: 20000 }, async (t) => {
    // Every TCP handle of this process made from here on, until it is destroyed.
    const live = new Set();
    const hook = createHook({
      init(id, type) {
        if (type === 'TCPWRAP') live.add(id);
      },
      destroy(id) {
        live.delete(id);
      },
    }).enable();
    t.after(() => hook.disable());
    const name = uniqueQueueName('socket-release');
    t.after(() => cleanup(name));
    const queue = new impl.Queue(name, { connection });
    const jobs = await Promise.all([1, 2, 3].map((n) => queue.add('n', { n })));
    assert.deepEqual(jobs.map((j) => j.id), ['1', '2', '3'], 'ids in call order');
    assert.equal(live.size, 1, 'one socket on the event loop while the queue is open');
    await queue.close();
    await waitFor(() => live.size === 0, 5000, { message: () => `${live.size} sockets left` });
  });

  test('an add still in flight when close() is called settles', { timeout: 20000 }, async (t) => {
    const name = uniqueQueueName('add-close');
    t.after(() => cleanup(name));
    const queue = new impl.Queue(name, { connection });
    await queue.waitUntilReady();
    const adding = queue.add('late', { n: 1 });
    await queue.close();
    const job = await withTimeout(adding, 5000, 'the add never settled');
    assert.equal(job.id, '1');
    const probe = newRedis();
    t.after(() => probe.quit());
    assert.equal(await probe.llen(`bull:${name}:wait`), 1);
  });
});
