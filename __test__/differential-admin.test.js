'use strict';

// Differential Redis-state tests of the Queue's admin operations (clean, retryJobs,
// promoteJobs, trimEvents, global concurrency and rate limit, metrics): the same
// operations by `bullmq` on one queue and by the implementation under test on another,
// key spaces dumped, normalised and compared (see helpers/differential.js and
// differential.test.js for the harness and its rules).

const { describe } = require('node:test');

const { bullmq, connection } = require('./helpers/sides');
const { implLabel } = require('./helpers/env');
const { sleep } = require('./helpers/util');
const { differential, dataProcessor } = require('./helpers/differential');

// Records every `cleaned` event of a Queue as [ids, type].
function recordCleaned(q) {
  const seen = [];
  q.on('cleaned', (ids, type) => seen.push([ids, type]));
  return seen;
}

// dataProcessor, a few ms per job: jobs finish in distinct ms, so the finished sets
// (scored by finishedOn, ties broken by id) order them the same on both sides.
function spacedProcessor(ctx, order) {
  const run = dataProcessor(ctx, order);
  return async (job) => {
    await sleep(3);
    return run(job);
  };
}

// A grace that puts the cutoff at `ms` (a finishedOn read back), give or take the
// few ms until the clean call reads its clock.
function graceUntil(ms) {
  return Date.now() - ms;
}

describe(`differential admin: clean (bullmq vs ${implLabel})`, () => {
  differential('clean completed and failed jobs by grace and limit', async (ctx) => {
    const q = await ctx.queue();
    const cleaned = recordCleaned(q);
    await q.add('old-1', { ret: 1 });
    await q.add('old-2', { ret: 2 });
    await q.add('old-3', { ret: 3 });
    await q.add('old-fail', { fail: 'x' });
    await ctx.processAll(spacedProcessor(ctx));
    const boundary = Math.max(...(await q.getJobs(['completed', 'failed'])).map((j) => j.finishedOn));
    await sleep(300);
    await q.add('new', { ret: 4 });
    await q.add('new-fail', { fail: 'y' });
    await ctx.processAll(spacedProcessor(ctx));
    ctx.record('completed, limit 2', await q.clean(graceUntil(boundary), 2, 'completed'));
    ctx.record('failed', await q.clean(graceUntil(boundary), 0, 'failed'));
    ctx.record('completed, the rest', await q.clean(graceUntil(boundary), 0));
    ctx.record('cleaned events', cleaned);
    await ctx.snap('after cleans');
  });

  differential('clean wait, prioritized and delayed jobs by their timestamp', async (ctx) => {
    const q = await ctx.queue();
    const cleaned = recordCleaned(q);
    ctx.shared.T = ctx.shared.T || Date.now();
    const old = ctx.shared.T - 60000;
    await q.add('w-old-1', {}, { timestamp: old });
    await q.add('w-new', {});
    await q.add('w-old-2', {}, { timestamp: old });
    const owner = await q.add('w-old-3', {}, { timestamp: old });
    // A deduplication id the job owns (set by hand: bullrush does not add with one yet).
    await ctx.redis.multi().hset(`bull:${ctx.name}:${owner.id}`, 'deid', 'dd').set(`bull:${ctx.name}:de:dd`, owner.id).exec();
    await q.add('p-old', {}, { priority: 2, timestamp: old });
    await q.add('p-new', {}, { priority: 1 });
    await q.add('d-old', {}, { delay: 100000, timestamp: old });
    await q.add('d-new', {}, { delay: 5000 });
    // limit 2 looks at the two oldest entries (the tail) only: one of them is recent.
    ctx.record('wait, limit 2', await q.clean(30000, 2, 'wait'));
    ctx.record('waiting', await q.clean(30000, 0, 'waiting'));
    ctx.record('prioritized', await q.clean(30000, 0, 'prioritized'));
    ctx.record('delayed', await q.clean(30000, 0, 'delayed'));
    ctx.record('cleaned events', cleaned);
    await ctx.snap('after cleans', { markers: 'exact' });
  });

  differential('clean active (locks honoured), legacy paused, scheduler iterations spared', async (ctx) => {
    const q = await ctx.queue();
    const k = (s) => `bull:${ctx.name}:${s}`;
    for (const n of ['locked', 'unlocked', 'p-1', 'p-2', 'kept']) {
      // eslint-disable-next-line no-await-in-loop
      await q.add(n, {});
    }
    await q.add('iteration', {}, { jobId: 'repeat:sched:1000' });
    // Hand-made states, the same on both sides: jobs 1 and 2 taken into active (no
    // worker; only job 1 holds a lock), jobs 3 and 4 in a v5-style paused list, job
    // 'repeat:sched:1000' the current iteration of scheduler 'sched'.
    await ctx.redis
      .multi()
      .rpoplpush(k('wait'), k('active'))
      .rpoplpush(k('wait'), k('active'))
      .set(k('1:lock'), 'someone-else')
      .rpoplpush(k('wait'), k('paused'))
      .rpoplpush(k('wait'), k('paused'))
      .hset(k('repeat:sched:1000'), 'rjk', 'sched')
      .zadd(k('repeat'), 1000, 'sched')
      .exec();
    await sleep(5);
    ctx.record('active', await q.clean(0, 0, 'active'));
    ctx.record('paused', await q.clean(0, 0, 'paused'));
    ctx.record('wait', await q.clean(0, 0, 'wait'));
    await ctx.snap('after cleans', { markers: 'exact' });
  });

  differential('clean children of a flow: parents in this queue go, others are released', async (ctx) => {
    const q = await ctx.queue();
    const parents = ctx.scope.queueName('diff-parents');
    const flows = new bullmq.FlowProducer({ connection });
    try {
      await flows.add({
        name: 'local-parent',
        queueName: ctx.name,
        opts: { jobId: 'local-parent' },
        children: [
          { name: 'c1', queueName: ctx.name, opts: { jobId: 'c1' } },
          { name: 'c2', queueName: ctx.name, opts: { jobId: 'c2' } },
        ],
      });
      await flows.add({
        name: 'remote-parent',
        queueName: parents,
        opts: { jobId: 'remote-parent' },
        children: [{ name: 'c3', queueName: ctx.name, opts: { jobId: 'c3' } }],
      });
    } finally {
      await flows.close();
    }
    await sleep(5);
    ctx.record('wait', await q.clean(0, 1, 'wait'));
    ctx.record('wait, the rest', await q.clean(0, 0, 'wait'));
    ctx.record('parent queue', {
      wait: await ctx.redis.lrange(`bull:${parents}:wait`, 0, -1),
      waitingChildren: await ctx.redis.zrange(`bull:${parents}:waiting-children`, 0, -1),
      dependencies: await ctx.redis.smembers(`bull:${parents}:remote-parent:dependencies`),
      events: (await ctx.redis.xrange(`bull:${parents}:events`, '-', '+')).map(([, f]) => f[1]),
    });
    await ctx.snap('after cleans', { markers: 'exact' });
  });
});

describe(`differential admin: retryJobs and promoteJobs (bullmq vs ${implLabel})`, () => {
  differential('retryJobs of failed, then completed jobs (one per call), then processed again', async (ctx) => {
    const q = await ctx.queue();
    const order = [];
    await q.add('f1', { fail: 'a' });
    await q.add('c1', { ret: 1 });
    await q.add('f2', { fail: 'b' }, { priority: 2 });
    await q.add('c2', { ret: 2 }, { lifo: true });
    await q.add('f3', { fail: 'c' }, { attempts: 2 });
    await ctx.processAll(spacedProcessor(ctx));
    await ctx.snap('finished');
    await q.retryJobs();
    await ctx.snap('failed jobs retried');
    await q.retryJobs({ state: 'completed', count: 1 });
    await ctx.snap('completed jobs retried');
    await ctx.processAll(spacedProcessor(ctx, order));
    ctx.record('order', order);
    await ctx.snap('processed again');
  });

  differential('retryJobs up to a timestamp', async (ctx) => {
    const q = await ctx.queue();
    await q.add('early', { fail: 'a' });
    await ctx.processAll(spacedProcessor(ctx));
    const [early] = await q.getFailed();
    await sleep(20);
    await q.add('late', { fail: 'b' });
    await ctx.processAll(spacedProcessor(ctx));
    await q.retryJobs({ state: 'failed', timestamp: early.finishedOn });
    await ctx.snap('only the early job retried');
  });

  differential('promoteJobs, two per call, of plain, prioritized and lifo delayed jobs', async (ctx) => {
    const q = await ctx.queue();
    const order = [];
    await q.add('waiting', { ret: 0 });
    await q.add('d-60', { ret: 1 }, { delay: 60000 });
    await q.add('d-30-prio', { ret: 2 }, { delay: 30000, priority: 3 });
    await q.add('d-90-lifo', { ret: 3 }, { delay: 90000, lifo: true });
    await q.add('d-45', { ret: 4 }, { delay: 45000 });
    await q.promoteJobs({ count: 2 });
    await ctx.snap('promoted', { markers: 'exact' });
    await ctx.processAll(spacedProcessor(ctx, order));
    ctx.record('order', order);
    await ctx.snap('processed');
  });

  differential('promoteJobs and retryJobs on a paused queue leave no ready marker', async (ctx) => {
    const q = await ctx.queue();
    await q.add('d', {}, { delay: 60000 });
    await q.pause();
    await q.promoteJobs();
    await ctx.snap('promoted while paused', { markers: 'exact' });
  });
});

describe(`differential admin: trimEvents (bullmq vs ${implLabel})`, () => {
  differential('trimEvents to about 0 and to more than the stream holds', async (ctx) => {
    const q = await ctx.queue();
    await q.addBulk(Array.from({ length: 150 }, (_, i) => ({ name: `j${i}`, data: { i } })));
    ctx.record('trimmed to ~1000', await q.trimEvents(1000));
    ctx.record('trimmed to ~0', await q.trimEvents(0));
    await ctx.snap('trimmed', { markers: 'exact' });
  });
});

describe(`differential admin: global concurrency and rate limit (bullmq vs ${implLabel})`, () => {
  differential('set and remove them in meta; an add while maxed leaves no ready marker', async (ctx) => {
    const q = await ctx.queue();
    ctx.record('set', [await q.setGlobalConcurrency(2), await q.setGlobalRateLimit(10, 2000), await q.setGlobalConcurrency(3)]);
    await ctx.snap('set', { markers: 'exact' });
    ctx.record('removed', [
      await q.removeGlobalRateLimit(),
      await q.removeGlobalConcurrency(),
      await q.removeGlobalConcurrency(),
    ]);
    await ctx.snap('removed', { markers: 'exact' });
    await q.setGlobalConcurrency(0);
    await q.add('while-maxed', {});
    ctx.record('maxed', await q.isMaxed());
    await ctx.snap('added while maxed', { markers: 'exact' });
  });

  differential('processing under both counts on the limiter; removeRateLimitKey', async (ctx) => {
    const q = await ctx.queue();
    await q.setGlobalConcurrency(1);
    await q.setGlobalRateLimit(100, 60000);
    for (let i = 0; i < 3; i++) {
      // eslint-disable-next-line no-await-in-loop
      await q.add(`j${i}`, { ret: i });
    }
    await ctx.processAll(dataProcessor(ctx), { concurrency: 5 });
    ctx.record('ttl with max 3', (await q.getRateLimitTtl(3)) > 0);
    ctx.record('ttl with max 4', await q.getRateLimitTtl(4));
    await ctx.snap('processed');
    ctx.record('removed', await q.removeRateLimitKey());
    ctx.record('ttl after removal', await q.getRateLimitTtl());
    await ctx.snap('limiter removed');
  });
});

// Waits, if need be, until the current minute has at least `ms` left, so that the
// finishes of a scenario land in one minute (metrics data points are per minute).
async function withinOneMinute(ms = 15000) {
  const left = 60000 - (Date.now() % 60000);
  if (left < ms) await sleep(left + 50);
}

describe(`differential admin: metrics (bullmq vs ${implLabel})`, () => {
  differential('worker metrics: the first finishes start the clock', async (ctx) => {
    const q = await ctx.queue();
    for (const [n, data] of [
      ['ok-1', { ret: 1 }],
      ['bad-1', { fail: 'x' }],
      ['ok-2', { ret: 2 }],
      ['retried', { fail: 'y' }],
      ['ok-3', { ret: 3 }],
    ]) {
      // eslint-disable-next-line no-await-in-loop
      await q.add(n, data, n === 'retried' ? { attempts: 2 } : {});
    }
    await withinOneMinute();
    await ctx.processAll(dataProcessor(ctx), { metrics: { maxDataPoints: 10 } });
    const { meta, data, count } = await q.getMetrics('completed');
    ctx.record('completed', { count: meta.count, prevCount: meta.prevCount, data, points: count });
    ctx.record('failed', (await q.getMetrics('failed')).meta.count);
    await ctx.snap('processed');
  });

  differential('worker metrics: data points for the minutes passed, trimmed', async (ctx) => {
    const q = await ctx.queue();
    const k = (x) => `bull:${ctx.name}:${x}`;
    // Counted before: 5 jobs, the last data point 10 minutes ago at count 2 (more
    // minutes than the points kept, so a minute turning meanwhile changes nothing).
    await ctx.redis
      .multi()
      .hset(k('metrics:completed'), 'count', 5, 'prevTS', Date.now() - 600000, 'prevCount', 2)
      .rpush(k('metrics:completed:data'), 9, 8, 7)
      .exec();
    for (let i = 0; i < 6; i++) {
      // eslint-disable-next-line no-await-in-loop
      await q.add(`j${i}`, { ret: i });
    }
    await withinOneMinute();
    await ctx.processAll(dataProcessor(ctx), { metrics: { maxDataPoints: 4 } });
    const m = await q.getMetrics('completed', 0, 1);
    ctx.record('completed', { count: m.meta.count, prevCount: m.meta.prevCount, data: m.data, points: m.count });
    await ctx.snap('processed');
  });

  differential('exportPrometheusMetrics', async (ctx) => {
    const q = await ctx.queue();
    await q.add('ok', { ret: 1 });
    await q.add('bad', { fail: 'x' });
    await withinOneMinute();
    await ctx.processAll(dataProcessor(ctx), { metrics: { maxDataPoints: 5 } });
    await q.add('waiting', {});
    await q.add('later', {}, { delay: 60000 });
    const local = (text) => text.split(ctx.name).join('<queue>');
    ctx.record('plain', local(await q.exportPrometheusMetrics()));
    ctx.record('labels', local(await q.exportPrometheusMetrics({ env: 'prod "eu"\nx', path: 'a\\b' })));
  });
});
