'use strict';

// Differential Redis state of worker control (see differential.test.js and
// helpers/differential.js): cancellation, RateLimitError after worker.rateLimit,
// queue.rateLimit, moveToDelayed + DelayedError, moveToWait + WaitingError, a
// processor that moves its job and then returns, and maxStartedAttempts, done by
// `bullmq` on one queue and by the implementation under test on another.

const { describe } = require('node:test');

const { implLabel } = require('./helpers/env');
const { waitFor } = require('./helpers/redis');
const { sleep } = require('./helpers/util');
const { differential } = require('./helpers/differential');

// Resolves once the job, after `moved()` became true, is back in `wait` or `prioritized`.
async function readyAgain(ctx, jobId, moved) {
  const k = (x) => `bull:${ctx.name}:${x}`;
  await waitFor(
    async () =>
      moved() &&
      ((await ctx.redis.lpos(k('wait'), jobId)) !== null || (await ctx.redis.zscore(k('prioritized'), jobId)) !== null),
    5000,
  );
}

describe(`differential Redis state, worker control: bullmq vs ${implLabel}`, () => {
  differential('cancelJob: the processor rejects on abort (final failure, and a retry)', async (ctx) => {
    const q = await ctx.queue();
    const a = await q.add('final', {});
    const b = await q.add('retried', {}, { attempts: 2 });
    const started = [];
    const w = ctx.worker(
      (job, token, signal) =>
        new Promise((resolve, reject) => {
          if (job.attemptsMade > 0) {
            resolve('second attempt');
            return;
          }
          started.push(job.id);
          signal.addEventListener('abort', () => reject(new Error(`cancelled: ${signal.reason}`)));
        }),
    );
    const results = [];
    await waitFor(() => started.length === 1, 5000);
    results.push(w.cancelJob(a.id, 'stop'));
    await waitFor(() => started.length === 2, 5000);
    results.push(w.cancelJob(b.id, 'stop b'));
    await ctx.waitIdle();
    await ctx.closeWorkers();
    ctx.record('cancelJob results', results);
    await ctx.snap('after cancellations');
  });

  differential('worker.rateLimit + RateLimitError of a waiting and a prioritized job', async (ctx) => {
    const q = await ctx.queue();
    const a = await q.add('a', { ret: 'a' });
    await q.add('b', { ret: 'b' });
    const p = await q.add('p', { ret: 'p' }, { priority: 3 });
    const limiter = { max: 10, duration: 1000 };
    const order = [];
    const limited = new Set();
    const processor = (w) => async (job) => {
      order.push(job.name);
      if ((job.name === 'a' || job.name === 'p') && !limited.has(job.name)) {
        limited.add(job.name);
        await w().rateLimit(job.name === 'a' ? 1500 : 400);
        throw ctx.lib.Worker.RateLimitError();
      }
      return job.data.ret;
    };
    let first;
    first = ctx.worker(processor(() => first), { limiter });
    await readyAgain(ctx, a.id, () => limited.has('a'));
    // Taken while the worker waits the limit out (closing it may outlast the limit).
    await ctx.snap('a rate limited, back in wait');
    await ctx.closeWorkers();
    let second;
    second = ctx.worker(processor(() => second), { limiter });
    await ctx.waitIdle();
    await ctx.closeWorkers();
    // Until the last window's counter expires, its value depends on timing.
    await sleep(1100);
    ctx.record('order', order);
    ctx.record('p limited', limited.has('p') && p.id);
    await ctx.snap('after processing');
  });

  differential('queue.rateLimit', async (ctx) => {
    const q = await ctx.queue();
    await q.add('a', {});
    await q.rateLimit(60000);
    await ctx.snap('rate limited', { markers: 'exact' });
  });

  differential('moveToDelayed + DelayedError, processed again when due', async (ctx) => {
    const q = await ctx.queue();
    const a = await q.add('a', { ret: 'a' });
    await q.add('b', { ret: 'b' });
    let target;
    ctx.worker(async (job, token) => {
      if (job.name === 'a' && target === undefined) {
        target = Date.now() + 700;
        await job.moveToDelayed(target, token);
        throw new ctx.lib.DelayedError();
      }
      return job.data.ret;
    });
    await waitFor(async () => (await ctx.redis.zcard(`bull:${ctx.name}:completed`)) === 1, 5000);
    await ctx.closeWorkers();
    await ctx.snap('a delayed by its processor', { delayTargets: { [a.id]: target } });
    await ctx.processAll(async (job) => job.data.ret);
    await ctx.snap('after processing');
  });

  differential('moveToWait + WaitingError of a waiting and a prioritized job', async (ctx) => {
    const q = await ctx.queue();
    await q.add('a', { ret: 'a' });
    await q.add('b', { ret: 'b' });
    await q.add('p', { ret: 'p' }, { priority: 2 });
    await q.add('p2', { ret: 'p2' }, { priority: 2 });
    const order = [];
    const moved = new Set();
    const ttls = [];
    await ctx.processAll(async (job, token) => {
      order.push(job.name);
      if ((job.name === 'a' || job.name === 'p') && !moved.has(job.name)) {
        moved.add(job.name);
        ttls.push(await job.moveToWait(token));
        throw new ctx.lib.WaitingError();
      }
      return job.data.ret;
    });
    ctx.record('order', order);
    ctx.record('moveToWait results', ttls);
    await ctx.snap('after processing');
  });

  differential('a processor that moves its job to delayed and then returns', async (ctx) => {
    const q = await ctx.queue();
    await q.add('a', { ret: 'a' });
    await q.add('b', { ret: 'b' });
    let moved = false;
    const errors = [];
    const w = ctx.worker(
      async (job, token) => {
        if (job.name === 'a' && !moved) {
          moved = true;
          await job.moveToDelayed(Date.now() + 400, token);
          return 'returned anyway';
        }
        return job.data.ret;
      },
      {},
      { allowErrors: true },
    );
    w.on('error', (err) => errors.push(err.message));
    await ctx.waitIdle();
    await ctx.closeWorkers();
    // BullMQ reports the refused completion and then the refused failure: the same
    // message twice.
    ctx.record('error messages', [...new Set(errors)]);
    await ctx.snap('after processing');
  });

  differential('maxStartedAttempts: no retry once reached; failed before processing beyond it', async (ctx) => {
    const q = await ctx.queue();
    await q.add('fails', {}, { attempts: 5 });
    await q.add('moves', {}, { attempts: 5 });
    const runs = {};
    await ctx.processAll(
      async (job, token) => {
        runs[job.name] = (runs[job.name] || 0) + 1;
        if (job.name === 'moves') {
          await job.moveToWait(token);
          throw new ctx.lib.WaitingError();
        }
        throw new Error(`run ${runs[job.name]}`);
      },
      { maxStartedAttempts: 2 },
    );
    ctx.record('runs', runs);
    await ctx.snap('after processing');
  });
});
