'use strict';

// Differential Redis-state tests of job schedulers: the same schedulers upserted,
// replaced, removed and iterated by workers with `bullmq` on one queue and with the
// implementation under test on another, both key spaces dumped, normalised and compared
// (see helpers/differential.js; helpers/snapshot.js says how iteration times, which
// follow the clock, are normalised). Start dates are shared by both sides, so their
// iteration ids are equal.

const { describe } = require('node:test');

const { implLabel } = require('./helpers/env');
const { differential, dataProcessor } = require('./helpers/differential');

const MINUTE = 60000;

// A start time both sides of a scenario use: whole seconds, minutes ahead.
function sharedStart(ctx, minutes = 10) {
  if (ctx.shared.start === undefined) ctx.shared.start = Math.ceil((Date.now() + minutes * MINUTE) / 1000) * 1000;
  return ctx.shared.start;
}

// `value` with the shared start time written as `S` (in numbers: `S+<n>` for start + n).
function relative(ctx, value) {
  const start = ctx.shared.start;
  if (typeof value === 'string') return value.split(String(start)).join('S');
  if (typeof value === 'number' && Math.abs(value - start) < 100 * 86400000) return `S+${value - start}`;
  if (Array.isArray(value)) return value.map((v) => relative(ctx, v));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, relative(ctx, v)]));
  }
  return value;
}

// What a scheduler getter shows, without what follows the clock (the next time, and the
// offset of an `every` counted from "now"; the state dumps compare those).
function shown(scheduler) {
  if (!scheduler) return scheduler;
  const { next, offset, ...rest } = scheduler;
  return { ...rest, next: typeof next, offset: typeof offset };
}

describe(`differential schedulers: writes (bullmq vs ${implLabel})`, () => {
  differential('upsert: `every` from a start date, a cron pattern in a time zone, template over the queue defaults', async (ctx) => {
    const q = await ctx.queue({ defaultJobOptions: { attempts: 2, removeOnComplete: 10 } });
    const start = sharedStart(ctx);
    const every = await q.upsertJobScheduler(
      'every',
      { every: 7000, startDate: start, endDate: start + 60 * MINUTE, limit: 5 },
      { name: 'ticker', data: { list: [1, 2] }, opts: { priority: 3, backoff: 1000 } },
    );
    const cron = await q.upsertJobScheduler(
      'cron',
      { pattern: '0 15 10 * * *', tz: 'Asia/Tokyo', startDate: start },
      { data: { tz: true }, opts: { lifo: true } },
    );
    const plain = await q.upsertJobScheduler('plain', { every: 3000, offset: 250, startDate: start });
    ctx.record('ids', relative(ctx, [every.id, every.name, cron.name, plain.id]));
    ctx.record('schedulers', relative(ctx, (await q.getJobSchedulers(0, -1, true)).map(shown)));
    ctx.record('count', await q.getJobSchedulersCount());
    await ctx.snap('upserted', { markers: 'exact' });
  });

  differential('upsert again: an unchanged `every` keeps its slot, a changed one moves, a new pattern replaces', async (ctx) => {
    const q = await ctx.queue();
    const start = sharedStart(ctx);
    await q.upsertJobScheduler('a', { every: 5000, startDate: start }, { data: { v: 1 } });
    await q.upsertJobScheduler('b', { pattern: '0 0 12 * * 1', tz: 'Europe/Paris', startDate: start }, { data: { v: 1 } });
    await ctx.snap('first', { markers: 'exact' });
    const kept = await q.upsertJobScheduler('a', { every: 5000, startDate: start }, { data: { v: 2 }, opts: { attempts: 4 } });
    const moved = await q.upsertJobScheduler('a', { every: 8000, startDate: start + 1000 }, { data: { v: 3 } });
    const replaced = await q.upsertJobScheduler('b', { pattern: '0 30 6 * * 3', tz: 'Europe/Paris', startDate: start }, { name: 'renamed' });
    ctx.record('ids', relative(ctx, [kept.id, moved.id, replaced.name]));
    await ctx.snap('upserted again', { markers: 'exact' });
  });

  differential('remove a scheduler (its delayed iteration goes with it), and one that does not exist', async (ctx) => {
    const q = await ctx.queue();
    const start = sharedStart(ctx);
    await q.upsertJobScheduler('gone', { every: 4000, startDate: start });
    await q.upsertJobScheduler('kept', { every: 4000, startDate: start + 500 });
    ctx.record('removed', await q.removeJobScheduler('gone'));
    ctx.record('missing', await q.removeJobScheduler('never'));
    ctx.record('left', (await q.getJobSchedulers()).map((x) => x.key));
    await ctx.snap('removed', { markers: 'exact' });
  });
});

describe(`differential schedulers: upserts around taken and paused iterations (bullmq vs ${implLabel})`, () => {
  differential('upsert while an iteration is taken by hand: its successor is replaced in its slot', async (ctx) => {
    const q = await ctx.queue();
    await q.upsertJobScheduler('held', { every: 60000 }, { name: 'held' });
    const w = ctx.worker(null, { autorun: false });
    const taken = await w.getNextJob('token-1');
    ctx.record('taken', taken.name);
    await ctx.snap('taken by hand');
    await q.upsertJobScheduler('held', { every: 60000 }, { name: 'held', data: { v: 2 } });
    ctx.record('schedulers', (await q.getJobSchedulers()).map(shown));
    await ctx.snap('upserted over the taken one');
  });

  differential('upsert on a paused queue: a waiting iteration stays, the new one is added', async (ctx) => {
    const q = await ctx.queue();
    const start = sharedStart(ctx);
    await q.pause();
    await q.upsertJobScheduler('p', { every: 9000, startDate: start }, { name: 'p' });
    const [delayed] = await q.getDelayed();
    await delayed.promote();
    await q.upsertJobScheduler('p', { every: 9000, startDate: start + 3000 }, { name: 'p', data: { v: 2 } });
    ctx.record('counts', await q.getJobCounts('wait', 'paused', 'delayed'));
    await ctx.snap('upserted while paused', { markers: 'exact' });
  });
});

describe(`differential schedulers: iterations (bullmq vs ${implLabel})`, () => {
  differential('a worker takes `every` iterations; each taker adds the next until the limit', async (ctx) => {
    const q = await ctx.queue();
    await q.upsertJobScheduler('beat', { every: 400, limit: 3 }, { name: 'beat', data: { ret: 'ok' }, opts: { attempts: 2 } });
    await ctx.processAll(dataProcessor(ctx));
    ctx.record('scheduler', shown(await q.getJobScheduler('beat')));
    await ctx.snap('three iterations');
  });

  differential('a worker takes cron iterations (seconds field): the next comes from the pattern', async (ctx) => {
    const q = await ctx.queue();
    await q.upsertJobScheduler('sec', { pattern: '* * * * * *', limit: 2 }, { name: 'sec', data: { ret: 1 } });
    await ctx.processAll(dataProcessor(ctx));
    ctx.record('scheduler', shown(await q.getJobScheduler('sec')));
    await ctx.snap('two iterations');
  });
});
