'use strict';

// What status endpoints read, as BullMQ 6.x apps write them: `getBackend().client`'s
// `status` and `ping()` on a Queue, Worker, QueueEvents and QueueBase, while connected,
// after close and (bullrush) when Redis does not answer; and a Worker's `isRunning()` /
// `isPaused()` through pause, resume and close.

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');

const { sides, workerOpts, connection } = require('./helpers/sides');
const { bullrushOnly } = require('./helpers/env');
const { waitFor } = require('./helpers/redis');
const { createScope, freePort } = require('./helpers/util');

const [, implSide] = sides;

// Each kind of queue-bound object, made on queue `name` with library `lib`.
const OWNERS = {
  Queue: (lib, name) => new lib.Queue(name, { connection }),
  Worker: (lib, name) => new lib.Worker(name, async () => 'done', workerOpts()),
  QueueEvents: (lib, name) => new lib.QueueEvents(name, { connection }),
  QueueBase: (lib, name) => new lib.QueueBase(name, { connection }),
};

describe('health checks through getBackend().client', () => {
  for (const side of sides) {
    for (const [kind, make] of Object.entries(OWNERS)) {
      test(`${side.label} ${kind}: status is ready and ping answers PONG; after close, end`, { timeout: 20000 }, async (t) => {
        const s = createScope();
        t.after(() => s.close());
        const owner = make(side.lib, s.queueName('health'));
        s.add(owner);
        const client = await owner.getBackend().client;
        assert.equal(client.status, 'ready');
        assert.equal(await client.ping(), 'PONG');
        await owner.close();
        await waitFor(() => client.status === 'end', 5000, { message: () => `status after close: ${client.status}` });
        await assert.rejects(client.ping(), /Connection is closed/);
      });
    }
  }

  // With BullMQ's default options a queue waits minutes for a Redis that does not answer
  // (as ioredis does); without the offline queue it gives up at once.
  test('bullrush: an unreachable Redis rejects the client with the address, and the status says so', { skip: bullrushOnly, timeout: 20000 }, async (t) => {
    const s = createScope();
    t.after(() => s.close());
    const port = await freePort();
    const connection = { host: '127.0.0.1', port, enableOfflineQueue: false };
    const queue = s.add(new implSide.lib.Queue(s.queueName('health-down'), { connection }), {
      allowErrors: true,
    });
    const backend = queue.getBackend();
    await assert.rejects(backend.client, new RegExp(`ECONNREFUSED 127\\.0\\.0\\.1:${port}`));
    const client = backend._client;
    assert.equal(client.status, 'reconnecting');
    await assert.rejects(client.ping(), /ECONNREFUSED/);
  });
});

describe('Worker state as BullMQ reports it', () => {
  for (const side of sides) {
    test(`${side.label}: paused is not running; resume flips both back; closed is not running`, { timeout: 30000 }, async (t) => {
      const s = createScope();
      t.after(() => s.close());
      const name = s.queueName('state');
      const queue = s.add(new side.lib.Queue(name, { connection }));
      const done = [];
      const worker = s.add(new side.lib.Worker(name, async (job) => done.push(job.id), workerOpts()));
      await worker.waitUntilReady();
      assert.equal(worker.isRunning(), true);
      assert.equal(worker.isPaused(), false);

      await worker.pause();
      assert.equal(worker.isRunning(), false, 'isRunning() after pause()');
      assert.equal(worker.isPaused(), true, 'isPaused() after pause()');

      await worker.resume();
      assert.equal(worker.isRunning(), true, 'isRunning() after resume()');
      assert.equal(worker.isPaused(), false, 'isPaused() after resume()');
      const job = await queue.add('after-resume', {});
      await waitFor(() => done.includes(job.id), 10000, { message: 'the resumed worker processes jobs' });

      await worker.close();
      assert.equal(worker.isRunning(), false, 'isRunning() after close()');
    });
  }
});

describe('Redis itself through getBackend().client', () => {
  for (const side of sides) {
    test(`${side.label}: commands ioredis-style (varargs, hash objects, SET options) with ioredis' reply shapes`, { timeout: 20000 }, async (t) => {
      const s = createScope();
      t.after(() => s.close());
      const q = s.add(new side.lib.Queue(s.queueName('raw'), { connection }));
      const client = await q.getBackend().client;
      const key = (k) => q.toKey(k);
      assert.equal(await client.set(key('s'), 'v'), 'OK');
      assert.equal(await client.get(key('s')), 'v');
      assert.equal(await client.get(key('missing')), null);
      assert.equal(await client.set(key('px'), 'v', { PX: 60000 }), 'OK');
      const ttl = await client.pttl(key('px'));
      assert.ok(ttl > 0 && ttl <= 60000, `pttl ${ttl}`);
      assert.equal(await client.hset(key('h'), { a: 1, b: 'x' }), 2);
      assert.deepEqual(await client.hgetall(key('h')), { a: '1', b: 'x' });
      assert.equal(await client.lpush(key('l'), 'a', 'b'), 2);
      assert.deepEqual(await client.lrange(key('l'), 0, -1), ['b', 'a']);
      assert.equal(await client.exists(key('l'), key('missing')), 1);
      assert.equal(await client.del(key('s'), key('px'), key('h'), key('l')), 4);
    });
  }
});

describe("Redis streams through getBackend().client in BullMQ's structured forms", () => {
  for (const side of sides) {
    test(`${side.label}: xadd, xread and xtrim with option objects`, { timeout: 20000 }, async (t) => {
      const s = createScope();
      t.after(() => s.close());
      const q = s.add(new side.lib.Queue(s.queueName('raw-streams'), { connection }));
      const client = await q.getBackend().client;
      const stream = q.toKey('custom-stream');
      const id = await client.xadd(stream, '*', { a: 1, b: 'x' }, { MAXLEN: 100, approximate: true });
      assert.match(id, /^\d+-\d+$/);
      const read = await client.xread([{ key: stream, id: '0-0' }], { COUNT: 10 });
      assert.deepEqual(read, [[stream, [[id, ['a', '1', 'b', 'x']]]]]);
      assert.equal(await client.xtrim(stream, 'MAXLEN', 0, { approximate: false }), 1);
    });
  }
});
