'use strict';

// Worker control from inside and outside the processor: the processor's
// `(job, token, signal)`, `cancelJob` / `cancelAllJobs`, `concurrency` changed at
// run time, `RateLimitError` after `worker.rateLimit` / `queue.rateLimit`,
// `moveToDelayed` + `DelayedError`, `moveToWait` + `WaitingError`, `extendLock`,
// `maxStartedAttempts`, and the bullrush-only attempt `timeout`.
// The Redis state these leave is compared with BullMQ's in
// differential-worker.test.js.

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');

const { bullmq, impl, workerOpts, connection } = require('./helpers/sides');
const { isBullmqImpl, implLabel } = require('./helpers/env');
const { newRedis, waitFor, queueEventsReady } = require('./helpers/redis');
const { createScope, sleep, nextEvent, recordEvents } = require('./helpers/util');

const timeoutOnly = isBullmqImpl ? 'bullrush-only feature: BullMQ has no job/worker timeout' : false;

const BAD_CONCURRENCY = 'concurrency must be a finite number greater than 0';

// A scope, a Redis client and a queue name for one test; all released afterwards.
// Functions given to `whileClosing` run every 20 ms while the scope closes, so a
// worker whose test failed half-way does not wait for its held jobs forever.
function setup(t, prefix) {
  const s = createScope();
  const redis = newRedis();
  const unblockers = [];
  t.after(async () => {
    const unblock = setInterval(() => unblockers.forEach((f) => f()), 20);
    try {
      await redis.quit();
      await s.close();
    } finally {
      clearInterval(unblock);
    }
  });
  const name = s.queueName(prefix);
  return {
    s,
    redis,
    name,
    key: (suffix) => `bull:${name}:${suffix}`,
    whileClosing: (f) => unblockers.push(f),
  };
}

// A promise with its resolve function.
function deferred() {
  let resolve;
  const promise = new Promise((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

// Resolves the gates of the given jobs (all when `n` is omitted), in arrival order.
function release(gates, n = gates.size) {
  for (const [id, open] of [...gates].slice(0, n)) {
    gates.delete(id);
    open();
  }
}

async function stateOf(q, id) {
  return (await q.getJob(id)).getState();
}

describe(`processor arguments (${implLabel})`, () => {
  test('token is job.token and the value of the job lock; a signal only with a third parameter', async (t) => {
    const { s, redis, name, key } = setup(t, 'token');
    const q = s.add(new impl.Queue(name, { connection }));
    const seen = [];
    s.add(
      new impl.Worker(
        name,
        async (job, token, signal) => {
          seen.push({ id: job.id, token, jobToken: job.token, lock: await redis.get(key(`${job.id}:lock`)), signal });
          return 'ok';
        },
        workerOpts({ concurrency: 2 }),
      ),
    );
    await q.addBulk([1, 2, 3].map((i) => ({ name: `j${i}`, data: {} })));
    await waitFor(async () => (await q.getCompletedCount()) === 3, 10000);
    assert.equal(seen.length, 3);
    for (const x of seen) {
      assert.equal(typeof x.token, 'string', `job ${x.id}: token is a string`);
      assert.ok(x.token.length > 0, `job ${x.id}: token is not empty`);
      assert.equal(x.jobToken, x.token, `job ${x.id}: job.token is the token argument`);
      assert.equal(x.lock, x.token, `job ${x.id}: the :lock key holds the token`);
      assert.ok(x.signal instanceof AbortSignal, `job ${x.id}: a three-parameter processor gets a signal`);
      assert.equal(x.signal.aborted, false);
    }

    const other = s.queueName('token-2');
    const q2 = s.add(new impl.Queue(other, { connection }));
    let third = 'unset';
    s.add(
      new impl.Worker(
        other,
        // A two-parameter processor: no signal.
        async function processor(job, token) {
          // eslint-disable-next-line prefer-rest-params
          third = arguments[2];
          return token;
        },
        workerOpts(),
      ),
    );
    const j = await q2.add('x', {});
    await waitFor(async () => (await q2.getCompletedCount()) === 1, 10000);
    assert.equal(third, undefined, 'no signal for a processor with two parameters');
    assert.equal(typeof (await q2.getJob(j.id)).returnvalue, 'string', 'the token still arrives');
  });
});

describe(`cancellation (${implLabel})`, () => {
  // Rejects with `cancelled: <reason>` once the signal is aborted.
  const cancellable = (signals) => (job, token, signal) =>
    new Promise((_, reject) => {
      signals[job.name] = signal;
      signal.addEventListener('abort', () => reject(new Error(`cancelled: ${signal.reason}`)));
    });

  test('cancelJob aborts only that job with the reason; cancelAllJobs aborts the rest', async (t) => {
    const { s, name, whileClosing } = setup(t, 'cancel');
    const q = s.add(new impl.Queue(name, { connection }));
    const signals = {};
    const w = s.add(new impl.Worker(name, cancellable(signals), workerOpts({ concurrency: 3 })));
    whileClosing(() => w.cancelAllJobs('test over'));
    const { failed } = recordEvents(w, ['failed']);
    const [a, b, c] = await q.addBulk(['a', 'b', 'c'].map((n) => ({ name: n, data: {} })));
    await waitFor(() => Object.keys(signals).length === 3, 10000);

    assert.equal(w.cancelJob(a.id, 'stop a'), true);
    assert.equal(signals.a.aborted, true);
    assert.equal(signals.a.reason, 'stop a');
    assert.equal(signals.b.aborted, false, 'other jobs keep running');
    assert.equal(signals.c.aborted, false, 'other jobs keep running');
    assert.equal(w.cancelJob('no-such-job', 'x'), false, 'unknown job');
    await waitFor(async () => (await stateOf(q, a.id)) === 'failed', 5000);
    const failedA = await q.getJob(a.id);
    assert.equal(failedA.failedReason, 'cancelled: stop a');
    assert.equal(failedA.attemptsMade, 1);
    assert.equal(w.cancelJob(a.id, 'again'), false, 'a finished job cannot be cancelled');

    w.cancelAllJobs('shutdown');
    assert.equal(signals.b.reason, 'shutdown');
    assert.equal(signals.c.reason, 'shutdown');
    await waitFor(async () => (await q.getFailedCount()) === 3, 5000);
    for (const job of [b, c]) {
      // eslint-disable-next-line no-await-in-loop
      assert.equal((await q.getJob(job.id)).failedReason, 'cancelled: shutdown');
    }
    assert.deepEqual(
      failed.map(([job, err]) => [job.id, err.message]).sort(),
      [
        [a.id, 'cancelled: stop a'],
        [b.id, 'cancelled: shutdown'],
        [c.id, 'cancelled: shutdown'],
      ].sort(),
    );
  });

  test('cancelJob without a reason aborts with an AbortError; a cancelled job is retried when attempts remain', async (t) => {
    const { s, name, whileClosing } = setup(t, 'cancel-retry');
    const q = s.add(new impl.Queue(name, { connection }));
    const reasons = [];
    const started = deferred();
    const w = s.add(
      new impl.Worker(
        name,
        (job, token, signal) =>
          new Promise((resolve, reject) => {
            if (job.attemptsMade > 0) {
              resolve('second attempt');
              return;
            }
            started.resolve();
            signal.addEventListener('abort', () => {
              reasons.push(signal.reason);
              reject(new Error('cancelled'));
            });
          }),
        workerOpts(),
      ),
    );
    whileClosing(() => w.cancelAllJobs('test over'));
    const job = await q.add('retry-me', {}, { attempts: 2 });
    // BullMQ emits 'active' before it can cancel the job: wait for the processor.
    await started.promise;
    assert.equal(w.cancelJob(job.id), true);
    await waitFor(async () => (await stateOf(q, job.id)) === 'completed', 5000);
    assert.equal(reasons.length, 1);
    assert.equal(reasons[0].name, 'AbortError');
    const done = await q.getJob(job.id);
    assert.equal(done.attemptsMade, 2);
    assert.equal(done.failedReason, 'cancelled');
    assert.equal(done.returnvalue, 'second attempt');
  });

  test('cancelJob is false for a processor without a signal parameter', async (t) => {
    const { s, name, whileClosing } = setup(t, 'cancel-nosignal');
    const q = s.add(new impl.Queue(name, { connection }));
    const gate = deferred();
    whileClosing(gate.resolve);
    const w = s.add(new impl.Worker(name, async (job, token) => gate.promise.then(() => token), workerOpts()));
    const started = nextEvent(w, 'active');
    const job = await q.add('x', {});
    await started;
    await sleep(50); // BullMQ emits 'active' just before calling the processor
    assert.equal(w.cancelJob(job.id, 'no'), false);
    w.cancelAllJobs('no'); // nothing to abort, nothing thrown
    gate.resolve();
    await waitFor(async () => (await stateOf(q, job.id)) === 'completed', 5000);
  });
});

describe(`concurrency at run time (${implLabel})`, () => {
  test('raising it lets more jobs run at once; lowering it takes effect as running jobs finish', { timeout: 30000 }, async (t) => {
    const { s, name, whileClosing } = setup(t, 'concurrency');
    const q = s.add(new impl.Queue(name, { connection }));
    const gates = new Map();
    whileClosing(() => release(gates));
    let running = 0;
    let max = 0;
    let starts = 0;
    let lowered = false;
    let maxLowered = 0;
    const w = s.add(
      new impl.Worker(
        name,
        async (job) => {
          running += 1;
          starts += 1;
          max = Math.max(max, running);
          if (lowered) maxLowered = Math.max(maxLowered, running);
          await new Promise((r) => gates.set(job.id, r));
          running -= 1;
        },
        workerOpts({ concurrency: 1 }),
      ),
    );
    const total = 14;
    await q.addBulk(Array.from({ length: total }, (_, i) => ({ name: `j${i}`, data: {} })));
    await waitFor(() => running === 1, 5000);
    await sleep(300);
    assert.equal(max, 1, 'concurrency 1: one job at a time');

    w.concurrency = 4;
    assert.equal(w.concurrency, 4);
    // BullMQ looks at the new value when a running job finishes; bullrush at once.
    release(gates, 1);
    await waitFor(() => running === 4, 5000);
    await sleep(300);
    assert.equal(max, 4, 'never more than 4 at once');

    w.concurrency = 2;
    assert.equal(w.concurrency, 2);
    lowered = true;
    const before = starts;
    release(gates, 1);
    await sleep(300);
    assert.equal(running, 3);
    release(gates, 1);
    await sleep(300);
    assert.equal(running, 2);
    assert.equal(starts, before, 'no job starts while the running ones exceed the new limit');
    release(gates, 1);
    await waitFor(() => starts === before + 1, 5000);
    await sleep(300);
    assert.equal(running, 2, 'one new job once below the new limit');

    while ((await q.getCompletedCount()) < total) {
      release(gates);
      // eslint-disable-next-line no-await-in-loop
      await sleep(50);
    }
    assert.ok(maxLowered <= 2, `at most 2 jobs at once after lowering (saw ${maxLowered})`);
  });

  test('invalid values throw BullMQ\'s message and change nothing', async (t) => {
    const { s, name } = setup(t, 'concurrency-bad');
    const w = s.add(new impl.Worker(name, async () => {}, workerOpts({ concurrency: 3, autorun: false })));
    for (const bad of [0, -1, 0.5, NaN, Infinity, -Infinity, '2', null, undefined, {}]) {
      assert.throws(
        () => {
          w.concurrency = bad;
        },
        { message: BAD_CONCURRENCY },
        `concurrency = ${String(bad)}`,
      );
    }
    assert.equal(w.concurrency, 3);
    w.concurrency = 5;
    assert.equal(w.concurrency, 5);
    if (!isBullmqImpl) {
      // BullMQ throws this from its constructor too, but only after opening
      // connections it never closes, so it is checked for bullrush alone.
      for (const bad of [0, 0.5, -1, NaN, '2', null]) {
        assert.throws(() => new impl.Worker(name, async () => {}, workerOpts({ concurrency: bad })), {
          message: BAD_CONCURRENCY,
        });
      }
    }
  });

  test('a fractional concurrency runs up to the next whole number of jobs at once, as BullMQ', { timeout: 20000 }, async (t) => {
    const { s, name } = setup(t, 'concurrency-fraction');
    const q = s.add(new impl.Queue(name, { connection }));
    let running = 0;
    let max = 0;
    const w = s.add(
      new impl.Worker(
        name,
        async () => {
          running += 1;
          max = Math.max(max, running);
          await sleep(200);
          running -= 1;
        },
        workerOpts({ concurrency: 1.5 }),
      ),
    );
    const batch = () => q.addBulk(Array.from({ length: 6 }, (_, i) => ({ name: `j${i}`, data: {} })));
    await batch();
    await waitFor(async () => (await q.getCompletedCount()) === 6, 10000);
    assert.equal(max, 2, 'concurrency 1.5 in the options');
    assert.equal(w.concurrency, 1.5);
    w.concurrency = 2.5;
    max = 0;
    await batch();
    await waitFor(async () => (await q.getCompletedCount()) === 12, 10000);
    assert.equal(max, 3, 'concurrency = 2.5');
  });
});

describe(`rate limit from the processor (${implLabel})`, () => {
  const LIMIT = 600;

  test('worker.rateLimit + RateLimitError: back to the front of wait, attempt not counted, retaken after the limit', { timeout: 20000 }, async (t) => {
    const { s, redis, name, key } = setup(t, 'ratelimit');
    const q = s.add(new impl.Queue(name, { connection }));
    const qe = s.add(new impl.QueueEvents(name, { connection }));
    await queueEventsReady(qe, name);
    const events = recordEvents(qe, ['waiting', 'failed']);
    const runs = [];
    let limitedAt;
    const w = s.add(
      new impl.Worker(
        name,
        async (job) => {
          runs.push({ name: job.name, at: Date.now(), attemptsMade: job.attemptsMade, attemptsStarted: job.attemptsStarted });
          if (job.name === 'a' && runs.length === 1) {
            const before = Date.now();
            await w.rateLimit(LIMIT);
            limitedAt = before;
            throw impl.Worker.RateLimitError();
          }
          return job.name;
        },
        workerOpts({ autorun: false, limiter: { max: 100, duration: 1000 } }),
      ),
    );
    const workerEvents = recordEvents(w, ['failed', 'completed']);
    const a = await q.add('a', {});
    const b = await q.add('b', {});
    const c = await q.add('c', {});
    w.run().catch(() => {});
    await waitFor(async () => limitedAt && (await redis.lrange(key('wait'), 0, -1)).length === 3, 5000);
    assert.deepEqual(await redis.lrange(key('wait'), 0, -1), [c.id, b.id, a.id], 'a is back at the front of wait');
    assert.equal(await stateOf(q, a.id), 'waiting');
    const limited = await q.getJob(a.id);
    assert.equal(limited.attemptsMade, 0, 'the attempt is not counted');
    assert.equal(limited.attemptsStarted, 1);
    assert.equal(await redis.exists(key(`${a.id}:lock`)), 0, 'the lock is released');
    assert.ok((await redis.pttl(key('limiter'))) > 0, 'the queue is rate limited');

    await waitFor(async () => (await q.getCompletedCount()) === 3, 10000);
    assert.deepEqual(
      runs.map((r) => r.name),
      ['a', 'a', 'b', 'c'],
    );
    assert.ok(runs[1].at - limitedAt >= LIMIT, `retaken ${runs[1].at - limitedAt} ms after the limit was set`);
    assert.equal(runs[1].attemptsMade, 0);
    assert.equal(runs[1].attemptsStarted, 2);
    const done = await q.getJob(a.id);
    assert.equal(done.attemptsMade, 1);
    assert.equal(done.attemptsStarted, 2);
    assert.equal(workerEvents.failed.length, 0, 'no failed event on the worker');
    assert.equal(events.failed.length, 0, 'no failed event on the stream');
    assert.ok(
      events.waiting.some(([e]) => e.jobId === a.id && e.prev === 'active'),
      `a waiting event with prev active: ${JSON.stringify(events.waiting)}`,
    );
  });

  test('RateLimitError in a worker without limiter: the job waits out the limit too', { timeout: 20000 }, async (t) => {
    const { s, name } = setup(t, 'ratelimit-nolimiter');
    const q = s.add(new impl.Queue(name, { connection }));
    const runs = [];
    let limitedAt;
    const w = s.add(
      new impl.Worker(
        name,
        async (job) => {
          runs.push(Date.now());
          if (runs.length === 1) {
            limitedAt = Date.now();
            await w.rateLimit(LIMIT);
            throw impl.Worker.RateLimitError();
          }
          return 'ok';
        },
        workerOpts(),
      ),
    );
    const job = await q.add('a', {});
    await waitFor(async () => (await stateOf(q, job.id)) === 'completed', 10000);
    assert.equal(runs.length, 2);
    assert.ok(runs[1] - limitedAt >= LIMIT, `retaken ${runs[1] - limitedAt} ms after the limit was set`);
    assert.equal((await q.getJob(job.id)).attemptsMade, 1);
  });

  for (const [limiterLib, workerLib, label] of [
    [impl, bullmq, `${implLabel} queue.rateLimit → bullmq worker`],
    [bullmq, impl, `bullmq queue.rateLimit → ${implLabel} worker`],
  ]) {
    test(`interop: ${label} with a limiter waits it out`, { timeout: 20000 }, async (t) => {
      const { s, redis, name, key } = setup(t, 'ratelimit-interop');
      const q = s.add(new limiterLib.Queue(name, { connection }));
      await q.waitUntilReady();
      const limitedAt = Date.now();
      await q.rateLimit(LIMIT);
      assert.equal(await redis.get(key('limiter')), String(Number.MAX_SAFE_INTEGER));
      const ttl = await redis.pttl(key('limiter'));
      assert.ok(ttl > 0 && ttl <= LIMIT, `limiter ttl ${ttl}`);
      const starts = [];
      s.add(
        new workerLib.Worker(name, async () => starts.push(Date.now()), workerOpts({ limiter: { max: 100, duration: 1000 } })),
      );
      await q.add('a', {});
      await waitFor(async () => (await q.getCompletedCount()) === 1, 10000);
      assert.ok(starts[0] - limitedAt >= LIMIT, `processed ${starts[0] - limitedAt} ms after the limit was set`);
    });
  }
});

describe(`moveToDelayed + DelayedError (${implLabel})`, () => {
  test('the job goes to delayed until the timestamp, the attempt not counted, and runs again when due', { timeout: 20000 }, async (t) => {
    const { s, redis, name, key } = setup(t, 'move-delayed');
    const q = s.add(new impl.Queue(name, { connection }));
    const qe = s.add(new impl.QueueEvents(name, { connection }));
    await queueEventsReady(qe, name);
    const events = recordEvents(qe, ['delayed', 'failed']);
    const runs = [];
    let target;
    let movedAt;
    const w = s.add(
      new impl.Worker(
        name,
        async (job, token) => {
          runs.push({ at: Date.now(), attemptsMade: job.attemptsMade });
          if (runs.length === 1) {
            target = Date.now() + 800;
            await job.moveToDelayed(target, token);
            movedAt = Date.now();
            throw new impl.DelayedError();
          }
          return 'done';
        },
        workerOpts(),
      ),
    );
    const workerEvents = recordEvents(w, ['failed', 'completed']);
    const job = await q.add('a', {});
    await waitFor(async () => (await redis.zcard(key('delayed'))) === 1, 5000);
    const [[member, score]] = await redis
      .zrange(key('delayed'), 0, -1, 'WITHSCORES')
      .then((f) => [[f[0], Number(f[1])]]);
    assert.equal(member, job.id);
    assert.equal(Math.floor(score / 4096), target, 'delayed score: the timestamp × 4096');
    assert.equal(await stateOf(q, job.id), 'delayed');
    const moved = await q.getJob(job.id);
    assert.equal(moved.attemptsMade, 0, 'the attempt is not counted');
    assert.ok(moved.delay > 0 && moved.delay <= 800, `delay field ${moved.delay}`);
    assert.equal(await redis.exists(key(`${job.id}:lock`)), 0, 'the lock is released');
    await waitFor(() => events.delayed.length === 1, 5000);
    assert.deepEqual(events.delayed[0][0], { jobId: job.id, delay: target });

    await waitFor(async () => (await stateOf(q, job.id)) === 'completed', 10000);
    assert.equal(runs.length, 2);
    assert.ok(runs[1].at >= target, `ran again ${runs[1].at - target} ms after the timestamp`);
    assert.ok(movedAt <= target);
    assert.equal(runs[1].attemptsMade, 0);
    const done = await q.getJob(job.id);
    assert.equal(done.attemptsMade, 1);
    assert.equal(done.attemptsStarted, 2);
    assert.equal(workerEvents.failed.length, 0, 'DelayedError raises no failed event');
    assert.equal(events.failed.length, 0);
  });

  for (const [moverLib, processorLib, label] of [
    [impl, bullmq, `${implLabel} moves, bullmq processes`],
    [bullmq, impl, `bullmq moves, ${implLabel} processes`],
  ]) {
    test(`interop: ${label} when due`, { timeout: 20000 }, async (t) => {
      const { s, redis, name, key } = setup(t, 'move-delayed-interop');
      const q = s.add(new bullmq.Queue(name, { connection }));
      let target;
      const mover = s.add(
        new moverLib.Worker(
          name,
          async (job, token) => {
            target = Date.now() + 700;
            await job.moveToDelayed(target, token);
            throw new moverLib.DelayedError();
          },
          workerOpts(),
        ),
      );
      const job = await q.add('a', { v: 1 });
      await waitFor(async () => (await redis.zcard(key('delayed'))) === 1, 5000);
      await mover.close();
      let ranAt;
      s.add(
        new processorLib.Worker(
          name,
          async (j) => {
            ranAt = Date.now();
            return { v: j.data.v, attemptsMade: j.attemptsMade };
          },
          workerOpts(),
        ),
      );
      await waitFor(async () => (await q.getJobState(job.id)) === 'completed', 10000);
      assert.ok(ranAt >= target, `ran ${ranAt - target} ms after the timestamp`);
      const done = await q.getJob(job.id);
      assert.deepEqual(done.returnvalue, { v: 1, attemptsMade: 0 });
      assert.equal(done.attemptsMade, 1);
      assert.equal(done.attemptsStarted, 2);
    });
  }

  test('a job fetched through a Queue can be moved with the token of the worker holding it', { timeout: 20000 }, async (t) => {
    const { s, redis, name, key } = setup(t, 'move-delayed-queue');
    const q = s.add(new impl.Queue(name, { connection }));
    let runs = 0;
    // The worker is BullMQ's, the move goes through the implementation's Queue.
    s.add(
      new bullmq.Worker(
        name,
        async (job, token) => {
          runs += 1;
          if (runs === 1) {
            const same = await q.getJob(job.id);
            await same.moveToDelayed(Date.now() + 300, token);
            throw new bullmq.DelayedError();
          }
          return 'done';
        },
        workerOpts(),
      ),
    );
    const job = await q.add('a', {});
    await waitFor(async () => (await redis.zcard(key('delayed'))) === 1, 5000);
    await waitFor(async () => (await stateOf(q, job.id)) === 'completed', 10000);
    assert.equal(runs, 2);
    assert.equal((await q.getJob(job.id)).attemptsMade, 1);
  });

  test('a wrong token is refused with BullMQ\'s error and the job stays active', async (t) => {
    const { s, name } = setup(t, 'move-delayed-token');
    const q = s.add(new impl.Queue(name, { connection }));
    let message;
    let state;
    s.add(
      new impl.Worker(
        name,
        async (job) => {
          try {
            await job.moveToDelayed(Date.now() + 1000, 'not-the-token');
          } catch (err) {
            message = err.message;
          }
          state = await job.getState();
          return 'ok';
        },
        workerOpts(),
      ),
    );
    const job = await q.add('a', {});
    await waitFor(async () => (await stateOf(q, job.id)) === 'completed', 5000);
    assert.equal(message, `Lock mismatch for job ${job.id}. Cmd moveToDelayed from active`);
    assert.equal(state, 'active');
  });

  test('a processor that moves its job and then returns: the worker carries on (errors as BullMQ)', { timeout: 20000 }, async (t) => {
    const { s, name } = setup(t, 'move-delayed-return');
    const q = s.add(new impl.Queue(name, { connection }));
    let runs = 0;
    const w = s.add(
      new impl.Worker(
        name,
        async (job, token) => {
          if (job.name === 'a') {
            runs += 1;
            if (runs === 1) {
              await job.moveToDelayed(Date.now() + 500, token);
              return 'returned anyway';
            }
          }
          return job.name;
        },
        workerOpts({ concurrency: 1 }),
      ),
      { allowErrors: true },
    );
    const workerEvents = recordEvents(w, ['completed', 'failed', 'error']);
    const a = await q.add('a', {});
    const b = await q.add('b', {});
    // The single slot is free again: b runs while a is delayed.
    await waitFor(async () => (await stateOf(q, b.id)) === 'completed', 5000);
    assert.equal(await stateOf(q, a.id), 'delayed');
    await waitFor(async () => (await stateOf(q, a.id)) === 'completed', 10000);
    // The worker's event follows the stored state by a moment.
    await waitFor(() => workerEvents.completed.length === 2, 5000);
    assert.equal(runs, 2);
    assert.deepEqual(
      workerEvents.completed.map(([job, result]) => [job.id, result]),
      [
        [b.id, 'b'],
        [a.id, 'a'],
      ],
      'no completed event for the moved attempt',
    );
    assert.equal(workerEvents.failed.length, 0);
    const messages = workerEvents.error.map(([err]) => err.message);
    assert.ok(messages.length > 0, 'the finishing attempt is reported as an error');
    for (const m of messages) assert.equal(m, `Missing lock for job ${a.id}. moveToFinished`);
    const done = await q.getJob(a.id);
    assert.equal(done.attemptsMade, 1);
    assert.equal(done.returnvalue, 'a');
  });
  test('a processor that moves its job and then throws: Redis refuses the failure with the command BullMQ names', { timeout: 20000 }, async (t) => {
    const { s, name } = setup(t, 'move-delayed-throw');
    const q = s.add(new impl.Queue(name, { connection }));
    const moved = new Set();
    const w = s.add(
      new impl.Worker(
        name,
        async (job, token) => {
          if (!moved.has(job.id)) {
            moved.add(job.id);
            await job.moveToDelayed(Date.now() + 300, token);
            throw new Error('after the move');
          }
          return 'ok';
        },
        workerOpts(),
      ),
      { allowErrors: true },
    );
    const events = recordEvents(w, ['failed', 'error']);
    const final = await q.add('final', {});
    const retry = await q.add('retry', {}, { attempts: 3 });
    const backoff = await q.add('backoff', {}, { attempts: 3, backoff: 100 });
    await waitFor(async () => (await q.getCompletedCount()) === 3, 10000);
    assert.deepEqual(events.error.map(([err]) => err.message).sort(), [
      `Missing lock for job ${backoff.id}. moveToDelayed`,
      `Missing lock for job ${final.id}. moveToFinished`,
      `Missing lock for job ${retry.id}. retryJob`,
    ].sort());
    assert.equal(events.failed.length, 0, 'no failed event: the failure never happened');
    for (const job of [final, retry, backoff]) {
      // eslint-disable-next-line no-await-in-loop
      assert.equal((await q.getJob(job.id)).attemptsMade, 1);
    }
  });
});

describe(`moveToWait + WaitingError (${implLabel})`, () => {
  test('the job goes back to the front of wait, the attempt not counted, and runs again', { timeout: 20000 }, async (t) => {
    const { s, redis, name, key } = setup(t, 'move-wait');
    const q = s.add(new impl.Queue(name, { connection }));
    const qe = s.add(new impl.QueueEvents(name, { connection }));
    await queueEventsReady(qe, name);
    const events = recordEvents(qe, ['waiting', 'failed']);
    const order = [];
    let waitList;
    let ttl;
    const w = s.add(
      new impl.Worker(
        name,
        async (job, token) => {
          order.push(job.name);
          if (job.name === 'a' && order.length === 1) {
            ttl = await job.moveToWait(token);
            waitList = await redis.lrange(key('wait'), 0, -1);
            throw new impl.WaitingError();
          }
          return job.attemptsMade;
        },
        workerOpts({ autorun: false }),
      ),
    );
    const workerEvents = recordEvents(w, ['failed']);
    const a = await q.add('a', {});
    const b = await q.add('b', {});
    w.run().catch(() => {});
    await waitFor(async () => (await q.getCompletedCount()) === 2, 10000);
    assert.equal(ttl, 0, 'moveToWait resolves to the limiter ttl, 0 when not limited');
    assert.deepEqual(waitList, [b.id, a.id], 'a is back at the front of wait');
    assert.deepEqual(order, ['a', 'a', 'b']);
    const done = await q.getJob(a.id);
    assert.equal(done.returnvalue, 0, 'the moved attempt was not counted');
    assert.equal(done.attemptsMade, 1);
    assert.equal(done.attemptsStarted, 2);
    assert.equal(workerEvents.failed.length, 0);
    assert.equal(events.failed.length, 0);
    // QueueEvents reads the stream on its own connection, a moment behind.
    await waitFor(() => events.waiting.some(([e]) => e.jobId === a.id && e.prev === 'active'), 5000);
  });

  for (const [moverLib, processorLib, label] of [
    [impl, bullmq, `${implLabel} moves, bullmq processes`],
    [bullmq, impl, `bullmq moves, ${implLabel} processes`],
  ]) {
    test(`interop: ${label}`, { timeout: 20000 }, async (t) => {
      const { s, name } = setup(t, 'move-wait-interop');
      const q = s.add(new bullmq.Queue(name, { connection }));
      const mover = s.add(
        new moverLib.Worker(
          name,
          async (job, token) => {
            await job.moveToWait(token);
            // Closing before the error: the mover takes no job after this one.
            mover.close();
            throw new moverLib.WaitingError();
          },
          workerOpts(),
        ),
      );
      const job = await q.add('a', { v: 2 });
      await nextEvent(mover, 'closed', { timeoutMs: 10000 });
      assert.equal(await q.getJobState(job.id), 'waiting');
      s.add(
        new processorLib.Worker(name, async (j) => ({ v: j.data.v, attemptsMade: j.attemptsMade }), workerOpts()),
      );
      await waitFor(async () => (await q.getJobState(job.id)) === 'completed', 10000);
      const done = await q.getJob(job.id);
      assert.deepEqual(done.returnvalue, { v: 2, attemptsMade: 0 });
      assert.equal(done.attemptsMade, 1);
      assert.equal(done.attemptsStarted, 2);
    });
  }

  test('a prioritized job goes back ahead of its priority', { timeout: 20000 }, async (t) => {
    const { s, name } = setup(t, 'move-wait-prio');
    const q = s.add(new impl.Queue(name, { connection }));
    const order = [];
    s.add(
      new impl.Worker(
        name,
        async (job, token) => {
          order.push(job.name);
          if (job.name === 'p-first' && order.length === 1) {
            await job.moveToWait(token);
            throw new impl.WaitingError();
          }
          return 'ok';
        },
        workerOpts({ autorun: true }),
      ),
    );
    await q.addBulk([
      { name: 'p-first', data: {}, opts: { priority: 2 } },
      { name: 'p-second', data: {}, opts: { priority: 2 } },
    ]);
    await waitFor(async () => (await q.getCompletedCount()) === 2, 10000);
    assert.deepEqual(order, ['p-first', 'p-first', 'p-second']);
  });

  test('with concurrency 2 the moved job may be retaken at once; its first attempt does not disturb the second', { timeout: 20000 }, async (t) => {
    const { s, name } = setup(t, 'move-wait-retake');
    const q = s.add(new impl.Queue(name, { connection }));
    const runs = [];
    const w = s.add(
      new impl.Worker(
        name,
        async (job, token) => {
          runs.push(job.attemptsStarted);
          if (runs.length === 1) {
            await job.moveToWait(token);
            // Give the worker time to take the job again before this attempt ends.
            await sleep(300);
            throw new impl.WaitingError();
          }
          await sleep(600);
          return 'second';
        },
        workerOpts({ concurrency: 2, lockDuration: 1000, stalledInterval: 500 }),
      ),
    );
    const workerEvents = recordEvents(w, ['completed', 'stalled']);
    const job = await q.add('a', {});
    await waitFor(async () => (await stateOf(q, job.id)) === 'completed', 10000);
    assert.deepEqual(runs, [1, 2]);
    await waitFor(() => workerEvents.completed.length === 1, 2000);
    assert.equal(workerEvents.completed[0][1], 'second');
    assert.equal(workerEvents.stalled.length, 0, 'the second attempt kept its lock');
    const done = await q.getJob(job.id);
    assert.equal(done.attemptsMade, 1);
    assert.equal(done.stalledCounter, 0);
  });
});

describe(`extendLock (${implLabel})`, () => {
  test('sets the lock ttl to the duration with the right token (1), refuses another (0)', async (t) => {
    const { s, redis, name, key } = setup(t, 'extend-lock');
    const q = s.add(new impl.Queue(name, { connection }));
    const seen = {};
    s.add(
      new impl.Worker(
        name,
        async (job, token) => {
          const lockKey = key(`${job.id}:lock`);
          seen.before = await redis.pttl(lockKey);
          seen.extended = await job.extendLock(token, 10000);
          seen.after = await redis.pttl(lockKey);
          seen.refused = await job.extendLock('not-the-token', 50000);
          seen.afterRefused = await redis.pttl(lockKey);
          seen.owner = await redis.get(lockKey);
          seen.token = token;
          // Through a Job read from a Queue, with the same token.
          seen.viaQueue = await (await q.getJob(job.id)).extendLock(token, 12000);
          seen.afterQueue = await redis.pttl(lockKey);
          return 'ok';
        },
        // The default lockDuration (30 s): no renewal during the test.
        { connection, drainDelay: 1 },
      ),
    );
    const job = await q.add('a', {});
    await waitFor(async () => (await stateOf(q, job.id)) === 'completed', 5000);
    assert.ok(seen.before > 20000, `lock ttl before ${seen.before}`);
    assert.equal(seen.extended, 1);
    assert.ok(seen.after > 9000 && seen.after <= 10000, `lock ttl after extendLock(10000): ${seen.after}`);
    assert.equal(seen.refused, 0);
    assert.ok(seen.afterRefused <= 10000, `a refused extendLock leaves the ttl: ${seen.afterRefused}`);
    assert.equal(seen.owner, seen.token, 'a refused extendLock leaves the owner');
    assert.equal(seen.viaQueue, 1);
    assert.ok(seen.afterQueue > 11000 && seen.afterQueue <= 12000, `ttl ${seen.afterQueue}`);
  });

  test('is 0 once the job has finished', async (t) => {
    const { s, name } = setup(t, 'extend-lock-done');
    const q = s.add(new impl.Queue(name, { connection }));
    let held;
    s.add(
      new impl.Worker(
        name,
        async (job, token) => {
          held = { job, token };
          return 'ok';
        },
        workerOpts(),
      ),
    );
    const job = await q.add('a', {});
    await waitFor(async () => (await stateOf(q, job.id)) === 'completed', 5000);
    assert.equal(await held.job.extendLock(held.token, 5000), 0);
  });
});

describe(`maxStartedAttempts (${implLabel})`, () => {
  test('a failing job started that many times is failed, not retried', { timeout: 20000 }, async (t) => {
    const { s, name } = setup(t, 'max-started');
    const q = s.add(new impl.Queue(name, { connection }));
    let runs = 0;
    const w = s.add(
      new impl.Worker(
        name,
        async () => {
          runs += 1;
          throw new Error(`run ${runs}`);
        },
        workerOpts({ maxStartedAttempts: 2 }),
      ),
    );
    const { failed } = recordEvents(w, ['failed']);
    const job = await q.add('a', {}, { attempts: 5 });
    await waitFor(async () => (await stateOf(q, job.id)) === 'failed', 10000);
    await sleep(300);
    assert.equal(runs, 2);
    const done = await q.getJob(job.id);
    assert.equal(done.attemptsMade, 2);
    assert.equal(done.attemptsStarted, 2);
    assert.equal(done.failedReason, 'run 2');
    assert.equal(failed.length, 2);
  });

  test('a job already started more often fails before its processor runs', { timeout: 20000 }, async (t) => {
    const { s, name } = setup(t, 'max-started-before');
    const q = s.add(new impl.Queue(name, { connection }));
    let runs = 0;
    const w = s.add(
      new impl.Worker(
        name,
        async (job, token) => {
          runs += 1;
          // Each move back to wait starts the job once more without counting an attempt.
          await job.moveToWait(token);
          throw new impl.WaitingError();
        },
        workerOpts({ maxStartedAttempts: 2 }),
      ),
    );
    const { failed } = recordEvents(w, ['failed']);
    const job = await q.add('a', {}, { attempts: 5 });
    await waitFor(async () => (await stateOf(q, job.id)) === 'failed', 10000);
    assert.equal(runs, 2, 'the processor ran for the two allowed starts');
    const done = await q.getJob(job.id);
    assert.equal(done.failedReason, 'job started more than allowable limit');
    assert.equal(done.attemptsStarted, 3);
    assert.equal(done.attemptsMade, 1);
    await waitFor(() => failed.length === 1, 2000);
    assert.equal(failed[0][1].name, 'UnrecoverableError');
  });
});

describe('attempt timeout (bullrush only)', () => {
  test('job option: the signal aborts with a TimeoutError, the attempt fails and is retried', { skip: timeoutOnly, timeout: 20000 }, async (t) => {
    const { s, redis, name, key } = setup(t, 'timeout-job');
    const q = s.add(new impl.Queue(name, { connection }));
    const attempts = [];
    const w = s.add(
      new impl.Worker(
        name,
        (job, token, signal) =>
          new Promise((_, reject) => {
            signal.addEventListener('abort', () => {
              attempts.push({ after: Date.now() - job.processedOn, reason: signal.reason });
              reject(signal.reason);
            });
          }),
        workerOpts(),
      ),
    );
    const { failed } = recordEvents(w, ['failed']);
    const job = await q.add('slow', {}, { timeout: 300, attempts: 2 });
    await waitFor(async () => (await stateOf(q, job.id)) === 'failed', 10000);
    const message = `Job ${job.id} timed out after 300 ms`;
    assert.equal(attempts.length, 2, 'retried once');
    for (const a of attempts) {
      assert.ok(a.after >= 300, `aborted ${a.after} ms after processedOn`);
      assert.ok(a.reason instanceof impl.TimeoutError);
      assert.equal(a.reason.name, 'TimeoutError');
      assert.equal(a.reason.message, message);
    }
    const done = await q.getJob(job.id);
    assert.equal(done.failedReason, message);
    assert.equal(done.attemptsMade, 2);
    assert.equal(done.stacktrace.length, 2);
    assert.equal(failed.length, 2);
    for (const [j, err] of failed) {
      assert.equal(j.id, job.id);
      assert.equal(err.name, 'TimeoutError');
      assert.equal(err.message, message);
    }
    assert.equal(JSON.parse(await redis.hget(key(job.id), 'opts')).timeout, 300, 'stored in opts');
  });

  test('a processor that ignores the signal and never settles still fails on time and frees its slot', { skip: timeoutOnly, timeout: 20000 }, async (t) => {
    const { s, name } = setup(t, 'timeout-hang');
    const q = s.add(new impl.Queue(name, { connection }));
    const w = s.add(
      new impl.Worker(
        name,
        async (job) => {
          if (job.name === 'hang') await new Promise(() => {});
          return job.name;
        },
        workerOpts({ concurrency: 1 }),
      ),
    );
    const { failed } = recordEvents(w, ['failed']);
    const hang = await q.add('hang', {}, { timeout: 250 });
    const next = await q.add('next', {});
    await waitFor(async () => (await stateOf(q, next.id)) === 'completed', 10000);
    assert.equal(await stateOf(q, hang.id), 'failed');
    assert.equal((await q.getJob(hang.id)).failedReason, `Job ${hang.id} timed out after 250 ms`);
    assert.equal(failed.length, 1);
    assert.ok(failed[0][1] instanceof impl.TimeoutError);
  });

  test('worker option: a default for jobs without their own timeout', { skip: timeoutOnly, timeout: 20000 }, async (t) => {
    const { s, name } = setup(t, 'timeout-worker');
    const q = s.add(new impl.Queue(name, { connection }));
    s.add(
      new impl.Worker(
        name,
        async (job) => {
          await sleep(job.data.ms);
          return job.name;
        },
        workerOpts({ concurrency: 3, timeout: 200 }),
      ),
    );
    const slow = await q.add('slow', { ms: 600 });
    const own = await q.add('own-timeout', { ms: 400 }, { timeout: 1500 });
    const ownShort = await q.add('own-short', { ms: 600 }, { timeout: 300 });
    await waitFor(async () => (await q.getCompletedCount()) + (await q.getFailedCount()) === 3, 10000);
    assert.equal((await q.getJob(slow.id)).failedReason, `Job ${slow.id} timed out after 200 ms`);
    assert.equal(await stateOf(q, own.id), 'completed', 'the job option wins over the worker option');
    assert.equal((await q.getJob(ownShort.id)).failedReason, `Job ${ownShort.id} timed out after 300 ms`);
  });

  test('a late result of a timed-out attempt is ignored', { skip: timeoutOnly, timeout: 20000 }, async (t) => {
    const { s, name } = setup(t, 'timeout-late');
    const q = s.add(new impl.Queue(name, { connection }));
    const w = s.add(
      new impl.Worker(
        name,
        async () => {
          await sleep(500);
          return 'too late';
        },
        workerOpts(),
      ),
    );
    const events = recordEvents(w, ['completed', 'failed']);
    const job = await q.add('a', {}, { timeout: 200 });
    await waitFor(async () => (await stateOf(q, job.id)) === 'failed', 5000);
    await sleep(600);
    assert.equal(await stateOf(q, job.id), 'failed');
    const done = await q.getJob(job.id);
    assert.equal(done.returnvalue, null);
    assert.equal(done.attemptsMade, 1);
    assert.equal(events.completed.length, 0);
    assert.equal(events.failed.length, 1);
  });

  test('a BullMQ worker processes a job with a timeout option normally', { skip: timeoutOnly, timeout: 20000 }, async (t) => {
    const { s, redis, name, key } = setup(t, 'timeout-bullmq');
    const q = s.add(new impl.Queue(name, { connection }));
    const job = await q.add('a', {}, { timeout: 100 });
    assert.equal(JSON.parse(await redis.hget(key(job.id), 'opts')).timeout, 100, 'stored in opts');
    s.add(
      new bullmq.Worker(
        name,
        async () => {
          await sleep(300);
          return 'fine';
        },
        workerOpts(),
      ),
    );
    await waitFor(async () => (await stateOf(q, job.id)) === 'completed', 5000);
    assert.equal((await q.getJob(job.id)).returnvalue, 'fine');
  });

  test('a timeout that is not a positive integer is refused', { skip: timeoutOnly }, async (t) => {
    const { s, name } = setup(t, 'timeout-bad');
    const q = s.add(new impl.Queue(name, { connection }));
    for (const bad of [0, -5, 1.5, 'x']) {
      // eslint-disable-next-line no-await-in-loop
      await assert.rejects(q.add('a', {}, { timeout: bad }), { message: 'timeout must be a positive integer (ms)' });
    }
    assert.throws(() => new impl.Worker(name, async () => {}, workerOpts({ timeout: 0 })), {
      message: 'timeout must be a positive integer (ms)',
    });
  });
});
