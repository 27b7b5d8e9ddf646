'use strict';

// Manual processing (BullMQ's `worker.getNextJob(token)`, `job.moveToCompleted`,
// `job.moveToFailed`, `job.extendLock`): a Worker without a processor takes jobs under a
// token of the caller's choosing and settles them by hand; BullMQ reads the result.

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');

const { bullmq, impl, workerOpts, connection, sides } = require('./helpers/sides');
const { newRedis } = require('./helpers/redis');
const { createScope, nextEvent } = require('./helpers/util');

const IMPL = sides[1].label;

function manualWorker(s, name) {
  return s.add(new impl.Worker(name, null, workerOpts({ drainDelay: 0.3 })));
}

describe(`manual processing (${IMPL})`, () => {
  test('getNextJob locks a BullMQ-added job with the token; moveToCompleted stores the result', { timeout: 20000 }, async (t) => {
    const s = createScope();
    t.after(() => s.close());
    const name = s.queueName('manual');
    const producer = s.add(new bullmq.Queue(name, { connection }));
    const added = await producer.add('m', { n: 1 });
    const worker = manualWorker(s, name);
    const redis = newRedis();
    t.after(() => redis.quit());
    const lockKey = (id) => `bull:${name}:${id}:lock`;

    const token = 'my-token-1';
    const job = await worker.getNextJob(token);
    assert.equal(job.id, added.id);
    assert.deepEqual(job.data, { n: 1 });
    assert.equal(await redis.get(lockKey(job.id)), token, 'locked with the caller\'s token');
    assert.equal(await producer.getJobState(job.id), 'active');

    assert.equal(await job.extendLock(token, 60000), 1);
    assert.ok((await redis.pttl(lockKey(job.id))) > 30000, 'extendLock set the new duration');
    assert.equal(await job.extendLock('not-mine', 60000), 0);

    await job.moveToCompleted({ ok: true }, token, false);
    const stored = await producer.getJob(job.id);
    assert.equal(await stored.getState(), 'completed');
    assert.deepEqual(stored.returnvalue, { ok: true });
    assert.equal(stored.attemptsMade, 1);
    assert.ok(stored.finishedOn >= stored.processedOn);
    assert.equal(await redis.exists(lockKey(job.id)), 0, 'the lock is released');
  });

  test('moveToFailed retries while attempts remain, then fails for good', { timeout: 20000 }, async (t) => {
    const s = createScope();
    t.after(() => s.close());
    const name = s.queueName('manual-fail');
    const producer = s.add(new bullmq.Queue(name, { connection }));
    const added = await producer.add('m', {}, { attempts: 2 });
    const worker = manualWorker(s, name);

    const first = await worker.getNextJob('t1');
    await first.moveToFailed(new Error('first'), 't1', false);
    assert.equal(await producer.getJobState(added.id), 'waiting', 'retried');
    const second = await worker.getNextJob('t2');
    assert.equal(second.id, added.id);
    await second.moveToFailed(new Error('second'), 't2', false);
    const stored = await producer.getJob(added.id);
    assert.equal(await stored.getState(), 'failed');
    assert.equal(stored.failedReason, 'second');
    assert.equal(stored.attemptsMade, 2);
    assert.equal(stored.stacktrace.length, 2);
  });

  test('startStalledCheckTimer on a worker that never ran: a job whose lock lapsed goes back to wait', { timeout: 20000 }, async (t) => {
    const s = createScope();
    t.after(() => s.close());
    const name = s.queueName('manual-stalled');
    const producer = s.add(new bullmq.Queue(name, { connection }));
    const added = await producer.add('m', {});
    // A BullMQ worker takes the job by hand and never renews its 500 ms lock.
    const holder = s.add(new bullmq.Worker(name, null, workerOpts({ lockDuration: 500 })));
    assert.equal((await holder.getNextJob('lapsing')).id, added.id);
    const checker = s.add(new impl.Worker(name, null, workerOpts({ stalledInterval: 300 })));
    const stalled = nextEvent(checker, 'stalled', { timeoutMs: 10000 });
    await checker.startStalledCheckTimer();
    assert.deepEqual(await stalled, [added.id, 'active']);
    assert.equal(await producer.getJobState(added.id), 'waiting');
  });

  test('a wrong token is refused with BullMQ\'s message and leaves the job active', { timeout: 20000 }, async (t) => {
    const s = createScope();
    t.after(() => s.close());
    const name = s.queueName('manual-token');
    const producer = s.add(new bullmq.Queue(name, { connection }));
    const added = await producer.add('m', {});
    const worker = manualWorker(s, name);
    const job = await worker.getNextJob('right');
    await assert.rejects(job.moveToCompleted('x', 'wrong', false), {
      message: `Lock mismatch for job ${added.id}. Cmd moveToFinished from active`,
    });
    assert.equal(await producer.getJobState(added.id), 'active');
    await job.moveToCompleted('x', 'right', false);
    assert.equal(await producer.getJobState(added.id), 'completed');
  });

  test('getNextJob on an empty queue: undefined at once without block, the job that arrives while blocking', { timeout: 20000 }, async (t) => {
    const s = createScope();
    t.after(() => s.close());
    const name = s.queueName('manual-block');
    const producer = s.add(new bullmq.Queue(name, { connection }));
    const worker = manualWorker(s, name);
    await worker.waitUntilReady();
    assert.equal(await worker.getNextJob('t', { block: false }), undefined);
    const pending = worker.getNextJob('t');
    const added = await producer.add('late', {});
    const job = await pending;
    assert.equal(job && job.id, added.id, 'the blocked call took the job added meanwhile');
    await job.moveToCompleted(null, 't', false);
  });
});

for (const side of sides) {
  describe(`settling by hand with fetchNext (${side.label})`, () => {
    test('moveToCompleted takes the next job under the same token by default', { timeout: 20000 }, async (t) => {
      const s = createScope();
      t.after(() => s.close());
      const name = s.queueName('fetch-next');
      const q = s.add(new side.lib.Queue(name, { connection }));
      const worker = s.add(new side.lib.Worker(name, null, workerOpts({ drainDelay: 0.3 })));
      const redis = newRedis();
      t.after(() => redis.quit());
      await q.add('first', { n: 1 });
      const second = await q.add('second', { n: 2 }, { attempts: 2 });

      const job = await worker.getNextJob('tok');
      const next = await job.moveToCompleted('done', 'tok');
      assert.equal(job.returnvalue, 'done');
      assert.equal(job.attemptsMade, 1);
      assert.equal(typeof job.finishedOn, 'number');
      assert.equal(next.length, 4);
      assert.equal(next[1], second.id);
      assert.deepEqual([next[2], next[3]], [0, 0]);
      assert.equal(next[0].name, 'second');
      assert.deepEqual(JSON.parse(next[0].data), { n: 2 });
      assert.equal(next[0].opts.attempts, 2);
      assert.equal(await q.getJobState(second.id), 'active');
      assert.equal(await redis.get(`bull:${name}:${second.id}:lock`), 'tok');

      // Nothing left: an empty answer.
      const settled = await q.getJob(second.id);
      assert.deepEqual(await settled.moveToCompleted('done too', 'tok', true), []);
    });

    test('moveToFailed: a delayed retry fetches only when asked, and updates the job', { timeout: 20000 }, async (t) => {
      const s = createScope();
      t.after(() => s.close());
      const name = s.queueName('fail-next');
      const q = s.add(new side.lib.Queue(name, { connection }));
      const worker = s.add(new side.lib.Worker(name, null, workerOpts({ drainDelay: 0.3 })));
      await q.add('flaky', {}, { attempts: 3, backoff: 300, stackTraceLimit: 1 });
      const other = await q.add('other', {});

      const job = await worker.getNextJob('tok');
      assert.deepEqual(await job.moveToFailed(new Error('once'), 'tok', false), []);
      assert.equal(await job.getState(), 'delayed');
      assert.equal(job.attemptsMade, 1);
      assert.equal(job.delay, 300);
      assert.equal(job.failedReason, 'once');
      assert.equal(job.stacktrace.length, 1);
      assert.match(job.stacktrace[0], /Error: once/);
      assert.equal(await q.getJobState(other.id), 'waiting');

      const taken = await worker.getNextJob('tok');
      assert.equal(taken.id, other.id);
      await taken.moveToCompleted(null, 'tok', false);
      await job.promote();
      const again = await worker.getNextJob('tok');
      assert.equal(again.id, job.id);
      const last = await q.add('last', {});
      const next = await again.moveToFailed(new Error('twice'), 'tok', true);
      assert.equal(next[1], last.id);
      assert.equal(again.stacktrace.length, 1, 'stackTraceLimit keeps the newest');
      assert.match(again.stacktrace[0], /Error: twice/);
      assert.equal(await q.getJobState(last.id), 'active');
    });
  });
}
