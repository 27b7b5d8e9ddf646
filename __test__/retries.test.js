'use strict';

// Retries: fixed, exponential and custom backoff, immediate retries,
// UnrecoverableError. The same expectations hold whether the worker is
// BullMQ's or the implementation under test (the producer is always the other
// kind), so the stored fields match between the two.

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');

const { sides, impl, workerOpts, connection } = require('./helpers/sides');
const { waitFor, queueEventsReady, newRedis } = require('./helpers/redis');
const { createScope, recordEvents, sleep } = require('./helpers/util');
const { bullrushOnly, implLabel } = require('./helpers/env');

// Sets up producer queue (other kind), a bullmq QueueEvents and a worker of
// kind `w`; the processor throws `makeError(job)` unless it returns a value.
async function setup(t, w, processor, extraWorkerOpts = {}) {
  const s = createScope();
  t.after(() => s.close());
  const name = s.queueName('retry');
  const producer = sides.find((x) => x !== w);
  const q = s.add(new producer.lib.Queue(name, { connection }));
  const qe = s.add(new sides[0].lib.QueueEvents(name, { connection }));
  await queueEventsReady(qe, name);
  const qev = recordEvents(qe, ['failed', 'delayed', 'retries-exhausted', 'waiting', 'completed']);
  const attempts = [];
  const worker = s.add(
    new w.lib.Worker(
      name,
      async (job) => {
        attempts.push({ t: Date.now(), attemptsMade: job.attemptsMade, attemptsStarted: job.attemptsStarted });
        return processor(job);
      },
      workerOpts(extraWorkerOpts),
    ),
  );
  const failedEvents = [];
  worker.on('failed', (job, err, prev) =>
    failedEvents.push({ id: job.id, attemptsMade: job.attemptsMade, failedReason: job.failedReason, message: err.message, prev }),
  );
  return { s, name, q, qev, attempts, failedEvents, worker };
}

async function inFailedSet(name, id) {
  const c = newRedis();
  try {
    return (await c.zscore(`bull:${name}:failed`, id)) !== null;
  } finally {
    await c.quit();
  }
}

async function assertFinalFailure(ctx, job, { attemptsMade, failedReason, stacktrace }) {
  const { q, name } = ctx;
  await waitFor(async () => (await q.getJobState(job.id)) === 'failed', 10000, {
    message: async () => `state ${await q.getJobState(job.id)}, attempts ${JSON.stringify(ctx.attempts)}`,
  });
  const j = await q.getJob(job.id);
  assert.equal(j.attemptsMade, attemptsMade, 'attemptsMade');
  assert.equal(j.attemptsStarted, attemptsMade, 'attemptsStarted');
  assert.equal(j.failedReason, failedReason, 'failedReason');
  assert.equal(j.stacktrace.length, stacktrace.length, 'stacktrace length');
  stacktrace.forEach((re, k) => assert.match(j.stacktrace[k], re, `stacktrace[${k}]`));
  assert.equal(j.returnvalue, null);
  assert.equal(typeof j.finishedOn, 'number');
  assert.ok(await inFailedSet(name, job.id), 'the id is in the failed zset');
  assert.deepEqual(
    (await q.getFailed()).map((x) => x.id),
    [job.id],
  );
  assert.deepEqual(await q.getJobCounts('failed', 'delayed', 'waiting', 'active', 'completed'), {
    failed: 1,
    delayed: 0,
    waiting: 0,
    active: 0,
    completed: 0,
  });
  return j;
}

function assertGaps(attempts, minGaps) {
  assert.equal(attempts.length, minGaps.length + 1, 'number of attempts');
  minGaps.forEach((gap, k) => {
    const got = attempts[k + 1].t - attempts[k].t;
    assert.ok(got >= gap - 5, `attempt ${k + 2} started ${got} ms after attempt ${k + 1}, expected >= ${gap}`);
  });
}

for (const w of sides) {
  describe(`retries processed by a ${w.label} worker`, () => {
    for (const [type, delay, gaps] of [
      ['fixed', 200, [200, 200]],
      ['exponential', 100, [100, 200]],
    ]) {
      test(`${type} backoff, attempts 3, then final failure`, { timeout: 30000 }, async (t) => {
        const ctx = await setup(t, w, (job) => {
          throw new Error(`attempt ${job.attemptsMade + 1} failed`);
        });
        const job = await ctx.q.add('flaky', { x: 1 }, { attempts: 3, backoff: { type, delay } });

        await assertFinalFailure(ctx, job, {
          attemptsMade: 3,
          failedReason: 'attempt 3 failed',
          stacktrace: [/attempt 1 failed/, /attempt 2 failed/, /attempt 3 failed/],
        });
        assert.deepEqual(
          ctx.attempts.map((a) => [a.attemptsMade, a.attemptsStarted]),
          [
            [0, 1],
            [1, 2],
            [2, 3],
          ],
          'attemptsMade/attemptsStarted seen by the processor',
        );
        assertGaps(ctx.attempts, gaps);

        // Worker-local 'failed' on every attempt, with the updated job.
        await waitFor(() => ctx.failedEvents.length === 3, 5000);
        assert.deepEqual(
          ctx.failedEvents,
          [1, 2, 3].map((n) => ({
            id: job.id,
            attemptsMade: n,
            failedReason: `attempt ${n} failed`,
            message: `attempt ${n} failed`,
            prev: 'active',
          })),
        );

        // Stream: 'delayed' per retry with the due time; 'failed' and
        // 'retries-exhausted' once, at the end.
        await waitFor(() => ctx.qev['retries-exhausted'].length === 1, 5000);
        const delayedEvents = ctx.qev.delayed.map(([a]) => a);
        assert.equal(delayedEvents.length, 2);
        delayedEvents.forEach((a, k) => {
          assert.equal(a.jobId, job.id);
          assert.equal(typeof a.delay, 'number');
          // due = start of the failed attempt + backoff (+ processing time)
          assert.ok(a.delay >= ctx.attempts[k].t + gaps[k] - 5 && a.delay <= ctx.attempts[k + 1].t + 5, `delayed[${k}].delay`);
        });
        assert.deepEqual(
          ctx.qev.failed.map(([a]) => a),
          [{ jobId: job.id, failedReason: 'attempt 3 failed', prev: 'active' }],
        );
        assert.deepEqual(
          ctx.qev['retries-exhausted'].map(([a]) => a),
          [{ jobId: job.id, attemptsMade: '3' }],
        );
        assert.equal(
          ctx.qev.waiting.filter(([a]) => a.jobId === job.id && a.prev === 'delayed').length,
          2,
          "'waiting' prev=delayed on each promotion",
        );
      });
    }

    test('custom backoff type with the worker settings.backoffStrategy', { timeout: 30000 }, async (t) => {
      const calls = [];
      const ctx = await setup(
        t,
        w,
        (job) => {
          throw new Error(`custom ${job.attemptsMade + 1}`);
        },
        {
          settings: {
            backoffStrategy: (attemptsMade, type, err, job) => {
              calls.push({ attemptsMade, type, message: err && err.message, id: job && job.id });
              return 60 * attemptsMade;
            },
          },
        },
      );
      const job = await ctx.q.add('custom', {}, { attempts: 3, backoff: { type: 'linear-ish', delay: 999 } });
      await assertFinalFailure(ctx, job, {
        attemptsMade: 3,
        failedReason: 'custom 3',
        stacktrace: [/custom 1/, /custom 2/, /custom 3/],
      });
      assert.deepEqual(calls, [
        { attemptsMade: 1, type: 'linear-ish', message: 'custom 1', id: job.id },
        { attemptsMade: 2, type: 'linear-ish', message: 'custom 2', id: job.id },
      ]);
      assertGaps(ctx.attempts, [60, 120]);
      const stored = await ctx.q.getJob(job.id);
      assert.deepEqual(stored.opts.backoff, { type: 'linear-ish', delay: 999 });
    });

    test('a number as backoff means fixed; success on the third attempt', { timeout: 30000 }, async (t) => {
      const ctx = await setup(t, w, (job) => {
        if (job.attemptsMade < 2) throw new Error(`not yet ${job.attemptsMade}`);
        return { finally: job.attemptsMade };
      });
      const job = await ctx.q.add('eventually', {}, { attempts: 5, backoff: 50 });
      await waitFor(async () => (await ctx.q.getJobState(job.id)) === 'completed', 10000);
      const j = await ctx.q.getJob(job.id);
      assert.deepEqual(j.opts.backoff, { type: 'fixed', delay: 50 }, 'stored backoff is normalised');
      assert.equal(j.attemptsMade, 3);
      assert.equal(j.attemptsStarted, 3);
      assert.deepEqual(j.returnvalue, { finally: 2 });
      // The reason and stack of the earlier failed attempts stay on the job.
      assert.equal(j.failedReason, 'not yet 1');
      assert.equal(j.stacktrace.length, 2);
      assertGaps(ctx.attempts, [50, 50]);
      assert.equal(ctx.failedEvents.length, 2);
      assert.equal(ctx.qev.failed.length, 0, 'no failed event in the stream');
      await waitFor(() => ctx.qev.completed.length === 1, 5000);
      assert.equal(await inFailedSet(ctx.name, job.id), false);
    });

    test('no backoff: immediate retries, waiting prev=active', { timeout: 30000 }, async (t) => {
      const ctx = await setup(t, w, (job) => {
        throw new Error(`now ${job.attemptsMade}`);
      });
      const job = await ctx.q.add('immediate', {}, { attempts: 2 });
      await assertFinalFailure(ctx, job, {
        attemptsMade: 2,
        failedReason: 'now 1',
        stacktrace: [/now 0/, /now 1/],
      });
      assert.equal(ctx.qev.delayed.length, 0, 'no delayed event');
      assert.deepEqual(
        ctx.qev.waiting.map(([a]) => a).filter((a) => a.prev),
        [{ jobId: job.id, prev: 'active' }],
      );
    });

    test('UnrecoverableError fails the job at once despite attempts', { timeout: 30000 }, async (t) => {
      const ctx = await setup(t, w, (job) => {
        if (job.data.how === 'class') throw new w.lib.UnrecoverableError('give up');
        if (job.data.how === 'default') throw new w.lib.UnrecoverableError();
        // Classified by name as well, like BullMQ does.
        const err = new Error('by name');
        err.name = 'UnrecoverableError';
        throw err;
      });
      const jobs = {};
      for (const how of ['class', 'default', 'name']) {
        // eslint-disable-next-line no-await-in-loop
        jobs[how] = await ctx.q.add(how, { how }, { attempts: 3, backoff: { type: 'fixed', delay: 50 } });
      }
      const expectedReason = { class: 'give up', default: 'bullmq:unrecoverable', name: 'by name' };
      await waitFor(async () => (await ctx.q.getFailedCount()) === 3, 10000);
      for (const [how, job] of Object.entries(jobs)) {
        // eslint-disable-next-line no-await-in-loop
        const j = await ctx.q.getJob(job.id);
        // eslint-disable-next-line no-await-in-loop
        assert.equal(await j.getState(), 'failed');
        assert.equal(j.attemptsMade, 1, `${how}: attemptsMade`);
        assert.equal(j.failedReason, expectedReason[how], `${how}: failedReason`);
        assert.equal(j.stacktrace.length, 1, `${how}: stacktrace`);
        // eslint-disable-next-line no-await-in-loop
        assert.ok(await inFailedSet(ctx.name, job.id));
      }
      assert.equal(ctx.attempts.length, 3, 'one attempt each');
      assert.equal(ctx.qev.delayed.length, 0);
      await waitFor(() => ctx.qev.failed.length === 3, 5000);
      // attemptsMade 1 < attempts 3: no retries-exhausted event.
      await sleep(50);
      assert.equal(ctx.qev['retries-exhausted'].length, 0);
      const e = new w.lib.UnrecoverableError('x');
      assert.ok(e instanceof Error);
      assert.equal(e.name, 'UnrecoverableError');
      assert.equal(new w.lib.UnrecoverableError().message, 'bullmq:unrecoverable');
    });

    test('a custom strategy decides each retry: -1 gives up, 0 retries at once, a promise is awaited', { timeout: 30000 }, async (t) => {
      const answers = { giveUp: [-1], now: [0], later: [Promise.resolve(80)] };
      const ctx = await setup(
        t,
        w,
        (job) => {
          throw new Error(`${job.data.kind} ${job.attemptsMade + 1}`);
        },
        { settings: { backoffStrategy: (attemptsMade, type, err, job) => answers[job.data.kind][attemptsMade - 1] } },
      );
      const opts = { attempts: 2, backoff: { type: 'by-kind' } };
      const giveUp = await ctx.q.add('x', { kind: 'giveUp' }, opts);
      await assertFinalFailure(ctx, giveUp, { attemptsMade: 1, failedReason: 'giveUp 1', stacktrace: [/giveUp 1/] });
      await ctx.q.obliterate({ force: true });
      for (const kind of ['now', 'later']) {
        // eslint-disable-next-line no-await-in-loop
        const job = await ctx.q.add('x', { kind }, opts);
        // eslint-disable-next-line no-await-in-loop
        await waitFor(async () => (await ctx.q.getJobState(job.id)) === 'failed', 10000);
        // eslint-disable-next-line no-await-in-loop
        const j = await ctx.q.getJob(job.id);
        assert.equal(j.attemptsMade, 2, `${kind}: retried once`);
      }
      const [, nowFirst, nowSecond, laterFirst, laterSecond] = ctx.attempts;
      assert.ok(nowSecond.t - nowFirst.t < 1000, 'a 0 delay retries at once');
      assert.ok(laterSecond.t - laterFirst.t >= 75, 'the promised delay is waited');
    });

    test("a delayed retry sets the failed job's delay, in the event and as stored", { timeout: 30000 }, async (t) => {
      const ctx = await setup(t, w, () => {
        throw new Error('again');
      });
      const job = await ctx.q.add('x', {}, { attempts: 3, backoff: 300 });
      const [failed] = await new Promise((resolve) => {
        ctx.worker.once('failed', (...args) => resolve(args));
      });
      assert.equal(failed.delay, 300);
      assert.equal((await ctx.q.getJob(job.id)).delay, 300);
    });
  });
}

describe(`a custom backoff type without a worker strategy (${implLabel})`, () => {
  test('fails the job without a retry and says why', { skip: bullrushOnly, timeout: 30000 }, async (t) => {
    const ctx = await setup(t, sides.find((x) => x.lib === impl), (job) => {
      throw new Error(`no strategy ${job.attemptsMade + 1}`);
    });
    const errors = [];
    ctx.worker.on('error', (err) => errors.push(err.message));
    const job = await ctx.q.add('x', {}, { attempts: 3, backoff: { type: 'mine' } });
    await assertFinalFailure(ctx, job, { attemptsMade: 1, failedReason: 'no strategy 1', stacktrace: [/no strategy 1/] });
    assert.deepEqual(errors, [
      'Unknown backoff strategy mine. If a custom backoff strategy is used, specify it when the queue is created.',
    ]);
    ctx.s.errors.length = 0;
  });
});

