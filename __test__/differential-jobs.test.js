'use strict';

// Differential Redis-state tests of deduplication and of the Job methods that change a
// stored job (updateData, changeDelay, changePriority, promote, clearLogs), and of job
// options stored as BullMQ stores them. Harness: helpers/differential.js.

const { describe } = require('node:test');

const { implLabel } = require('./helpers/env');
const { waitFor } = require('./helpers/redis');
const { sleep } = require('./helpers/util');
const { differential, dataProcessor } = require('./helpers/differential');

// A producer-chosen timestamp shared by both sides of a scenario, so that due times
// computed from it compare exactly.
function sharedTimestamp(ctx) {
  ctx.shared.T = ctx.shared.T || Date.now();
  return ctx.shared.T;
}

// Runs `fn` and records its error message (or 'ok') under `key`.
async function recordOutcome(ctx, key, fn) {
  try {
    await fn();
    ctx.record(key, 'ok');
  } catch (err) {
    ctx.record(key, { message: err.message, code: err.code });
  }
}

describe(`differential deduplication: bullmq vs ${implLabel}`, () => {
  differential('deduplication without ttl: adds dropped while the owner exists', async (ctx) => {
    const q = await ctx.queue();
    const ids = [];
    ids.push((await q.add('owner', { n: 1 }, { deduplication: { id: 'x' } })).id);
    ids.push((await q.add('dropped', { n: 2 }, { deduplication: { id: 'x' } })).id);
    ids.push((await q.add('dropped-prio', { n: 3 }, { deduplication: { id: 'x' }, priority: 2 })).id);
    ids.push((await q.add('dropped-delayed', { n: 4 }, { deduplication: { id: 'x' }, delay: 5000 })).id);
    ids.push((await q.add('other', { n: 5 }, { deduplication: { id: 'y' }, priority: 1 })).id);
    ids.push((await q.add('numeric-id', { n: 6 }, { deduplication: { id: 7 } })).id);
    ids.push((await q.add('falsy', { n: 7 }, { deduplication: false })).id);
    ids.push((await q.add('custom', { n: 8 }, { jobId: 'own-id', deduplication: { id: 'x' } })).id);
    const dup = await q.add('duplicated-custom', {}, { jobId: 'own-id', deduplication: { id: 'z' } });
    ids.push(dup.id);
    ctx.record('ids', ids);
    ctx.record('owners', [await q.getDeduplicationJobId('x'), await q.getDeduplicationJobId('y'),
      await q.getDeduplicationJobId('7'), await q.getDeduplicationJobId('z')]);
    ctx.record('returned job', {
      name: (await q.add('again', { n: 9 }, { deduplication: { id: 'y' } })).name,
    });
    await ctx.snap('after adds', { markers: 'exact' });
  });

  differential('deduplication in addBulk', async (ctx) => {
    const q = await ctx.queue();
    const jobs = await q.addBulk([
      { name: 'a', data: { n: 1 }, opts: { deduplication: { id: 'b1' } } },
      { name: 'a-dup', data: { n: 2 }, opts: { deduplication: { id: 'b1' } } },
      { name: 'b', data: { n: 3 }, opts: { deduplication: { id: 'b2', ttl: 60000 }, delay: 60000 } },
      { name: 'b-dup', data: { n: 4 }, opts: { deduplication: { id: 'b2', ttl: 60000 } } },
      { name: 'c', data: { n: 5 }, opts: { lifo: true } },
    ]);
    ctx.record('ids', jobs.map((j) => j.id));
    ctx.record('deduplicationIds', jobs.map((j) => j.deduplicationId ?? null));
    await ctx.snap('after addBulk', { markers: 'exact' });
  });

  differential('deduplication ttl, extend; ttl 0 and negative mean none', async (ctx) => {
    const q = await ctx.queue();
    const ids = [];
    ids.push((await q.add('ttl', {}, { deduplication: { id: 't', ttl: 60000 } })).id);
    ids.push((await q.add('ttl-dup', {}, { deduplication: { id: 't', ttl: 60000 } })).id);
    ids.push((await q.add('ext', {}, { deduplication: { id: 'e', ttl: 60000, extend: true } })).id);
    ids.push((await q.add('ext-dup', {}, { deduplication: { id: 'e', ttl: 120000, extend: true } })).id);
    ids.push((await q.add('ext-no-ttl', {}, { deduplication: { id: 'n', extend: true } })).id);
    ids.push((await q.add('ext-no-ttl-dup', {}, { deduplication: { id: 'n', extend: true } })).id);
    ids.push((await q.add('ttl-0', {}, { deduplication: { id: 'z', ttl: 0 } })).id);
    ids.push((await q.add('ttl-neg', {}, { deduplication: { id: 'm', ttl: -5 } })).id);
    ctx.record('ids', ids);
    await ctx.snap('after adds', { markers: 'exact' });
  });

  differential('deduplication ttl expires: a later add is stored', async (ctx) => {
    const q = await ctx.queue();
    const ids = [];
    ids.push((await q.add('first', {}, { deduplication: { id: 'short', ttl: 150 } })).id);
    ids.push((await q.add('dropped', {}, { deduplication: { id: 'short', ttl: 150 } })).id);
    await sleep(300);
    ids.push((await q.add('after-expiry', {}, { deduplication: { id: 'short', ttl: 150 } })).id);
    ctx.record('ids', ids);
    await sleep(300);
    await ctx.snap('after the second ttl expired', { markers: 'exact' });
  });

  differential('deduplication replace: delayed owner replaced, other owners kept', async (ctx) => {
    const q = await ctx.queue();
    const T = sharedTimestamp(ctx);
    const ids = [];
    const rep = (extra) => ({ deduplication: { id: 'r', replace: true, ...extra }, timestamp: T });
    ids.push((await q.add('r1', { v: 1 }, { ...rep({ ttl: 60000 }), delay: 5000 })).id);
    ids.push((await q.add('r2', { v: 2 }, { ...rep({ ttl: 60000 }), delay: 6000 })).id);
    ids.push((await q.add('r3', { v: 3 }, { ...rep({ ttl: 60000, extend: true }), delay: 7000 })).id);
    ids.push((await q.add('r4-now', { v: 4 }, rep({}))).id);
    ids.push((await q.add('r5-dropped', { v: 5 }, { ...rep({}), delay: 1000 })).id);
    ids.push((await q.add('s1', {}, { deduplication: { id: 's', replace: true }, delay: 9000, timestamp: T })).id);
    ids.push((await q.add('s2', {}, { deduplication: { id: 's', replace: true }, delay: 8000, timestamp: T })).id);
    ctx.record('ids', ids);
    ctx.record('owner r', await q.getDeduplicationJobId('r'));
    await ctx.snap('after adds', { markers: 'exact' });
  });

  differential('deduplication reschedule: a delayed owner takes the new delay', async (ctx) => {
    const q = await ctx.queue();
    const T = sharedTimestamp(ctx);
    const ids = [];
    const opts = (delay, extra = {}) => ({ deduplication: { id: 'd', reschedule: true, ...extra }, delay, timestamp: T });
    ids.push((await q.add('owner', { v: 1 }, opts(60000))).id);
    ids.push((await q.add('later', { v: 2 }, opts(90000))).id);
    ids.push((await q.add('no-delay', { v: 3 }, { ...opts(undefined), timestamp: T + 5 })).id);
    ids.push((await q.add('waiting-owner', {}, { deduplication: { id: 'w', reschedule: true } })).id);
    ids.push((await q.add('waiting-dup', {}, { deduplication: { id: 'w', reschedule: true }, delay: 1000 })).id);
    ctx.record('ids', ids);
    await ctx.snap('after adds', { markers: 'exact' });
  });

  differential('deduplication id released when the owner finishes or is removed', async (ctx) => {
    const q = await ctx.queue();
    const done = await q.add('done', { ret: 1 }, { deduplication: { id: 'a' } });
    await q.add('fails', { fail: 'x' }, { deduplication: { id: 'b' } });
    await q.add('ttl-done', { ret: 2 }, { deduplication: { id: 'c', ttl: 60000 } });
    await ctx.processAll(dataProcessor(ctx));
    await ctx.snap('after processing');
    const again = await q.add('again', {}, { deduplication: { id: 'a' } });
    ctx.record('new owner of a', again.id !== done.id);
    ctx.record('c still owned', (await q.add('c-dup', {}, { deduplication: { id: 'c', ttl: 60000 } })).id);
    const removed = await q.add('to-remove', {}, { deduplication: { id: 'r' }, delay: 60000 });
    await q.remove(removed.id);
    const removedByJob = await q.add('to-remove-2', {}, { deduplication: { id: 'r2' } });
    await (await q.getJob(removedByJob.id)).remove();
    await ctx.snap('after removals');
  });

  differential('Queue#removeDeduplicationKey and Job#removeDeduplicationKey', async (ctx) => {
    const q = await ctx.queue();
    const a = await q.add('a', {}, { deduplication: { id: 'a' } });
    const b = await q.add('b', {}, { deduplication: { id: 'b', ttl: 60000 } });
    const plain = await q.add('plain', {});
    const results = [];
    results.push(await q.removeDeduplicationKey('a'));
    results.push(await q.removeDeduplicationKey('a'));
    results.push(await q.removeDeduplicationKey('nope'));
    results.push(await (await q.getJob(b.id)).removeDeduplicationKey());
    results.push(await (await q.getJob(b.id)).removeDeduplicationKey());
    results.push(await plain.removeDeduplicationKey());
    const a2 = await q.add('a2', {}, { deduplication: { id: 'a' } });
    results.push(await a.removeDeduplicationKey());
    results.push(await a2.removeDeduplicationKey());
    ctx.record('results', results);
    await ctx.snap('after removals', { markers: 'exact' });
  });

  differential('deduplication with a stale owner (its job hash lost)', async (ctx) => {
    const q = await ctx.queue();
    const ids = [];
    const lost = await q.add('lost', {}, { deduplication: { id: 's' } });
    await ctx.redis.del(`bull:${ctx.name}:${lost.id}`);
    await ctx.redis.lrem(`bull:${ctx.name}:wait`, 0, lost.id);
    ids.push((await q.add('takes-over', {}, { deduplication: { id: 's' } })).id);
    ids.push((await q.add('dropped', {}, { deduplication: { id: 's' } })).id);
    ctx.record('ids', ids);
    await ctx.snap('after adds', { markers: 'exact' });
  });

  differential('deduplication keepLastIfActive: the last add during a run is enqueued after it', async (ctx) => {
    const q = await ctx.queue();
    let release;
    const gate = new Promise((r) => {
      release = r;
    });
    const keep = { deduplication: { id: 'k', keepLastIfActive: true, ttl: 60000 } };
    const seen = [];
    const first = await q.add('first', { v: 1 }, keep);
    ctx.worker(async (job) => {
      seen.push([job.name, job.data]);
      if (job.name === 'first') await gate;
      return job.data.v;
    });
    await waitFor(async () => (await ctx.redis.lpos(`bull:${ctx.name}:active`, first.id)) !== null, 5000);
    const ids = [];
    ids.push((await q.add('second', { v: 2 }, keep)).id);
    ids.push((await q.add('third', { v: 3 }, { ...keep, priority: 3 })).id);
    ctx.record('ids while active', ids);
    await ctx.snap('while the owner is active');
    release();
    await waitFor(async () => (await ctx.redis.zcard(`bull:${ctx.name}:completed`)) === 2, 5000);
    await ctx.waitIdle();
    await ctx.closeWorkers();
    ctx.record('processed', seen);
    await ctx.snap('after both runs');
  });
});

describe(`differential Job methods: bullmq vs ${implLabel}`, () => {
  differential('Job#updateData of waiting, delayed and finished jobs', async (ctx) => {
    const q = await ctx.queue();
    const a = await q.add('a', { v: 1 });
    const d = await q.add('d', { v: 2 }, { delay: 60000 });
    await a.updateData({ v: 'new', nested: ['x/y', null] });
    await (await q.getJob(d.id)).updateData('a string');
    await a.updateData(undefined);
    await ctx.snap('after updates', { markers: 'exact' });
    await q.remove(d.id);
    await ctx.processAll(async (job) => {
      await job.updateData({ ...job.data, seen: true });
      return 'ok';
    });
    const done = await q.getJob(a.id);
    await done.updateData([1, 2]);
    ctx.record('data after re-read', (await q.getJob(a.id)).data);
    await ctx.snap('after processing and update of a completed job');
  });

  differential('Job#changeDelay', async (ctx) => {
    const q = await ctx.queue();
    const a = await q.add('a', {}, { delay: 60000 });
    const b = await q.add('b', {}, { delay: 30000, priority: 2 });
    await sleep(5); // due times counted from now then differ from those counted from the add
    await a.changeDelay(120000);
    await b.changeDelay(0);
    ctx.record('job.delay', [a.delay, b.delay]);
    const fresh = await q.getJob(a.id);
    ctx.record('stored delay', fresh.delay);
    await ctx.snap('after changeDelay', { markers: 'exact' });
    // Due times count from now, so compare only their distance to each other.
    const scores = await ctx.redis.zrange(`bull:${ctx.name}:delayed`, 0, -1, 'WITHSCORES');
    const due = Object.fromEntries([[scores[0], Math.floor(scores[1] / 4096)], [scores[2], Math.floor(scores[3] / 4096)]]);
    ctx.record('due a - due b ≈ 120 s', Math.abs(due[a.id] - due[b.id] - 120000) < 1000);
  });

  differential('Job#changeDelay and Job#promote of jobs that are not delayed', async (ctx) => {
    const q = await ctx.queue();
    const w = await q.add('w', {});
    const missing = await q.add('gone', {});
    await q.remove(missing.id);
    await recordOutcome(ctx, 'changeDelay(waiting)', () => w.changeDelay(100));
    await recordOutcome(ctx, 'promote(waiting)', () => w.promote());
    await recordOutcome(ctx, 'changeDelay(missing)', () => missing.changeDelay(100));
    await recordOutcome(ctx, 'promote(missing)', () => missing.promote());
    await recordOutcome(ctx, 'updateData(missing)', () => missing.updateData({ x: 1 }));
    await recordOutcome(ctx, 'changePriority(missing)', () => missing.changePriority({ priority: 1 }));
    await ctx.snap('after the refused calls', { markers: 'exact' });
  });

  differential('Job#promote of delayed jobs (plain, prioritized, lifo) and their order', async (ctx) => {
    const q = await ctx.queue();
    await q.add('waiting', { ret: 0 });
    const a = await q.add('delayed', { ret: 1 }, { delay: 60000 });
    const p = await q.add('delayed-prio', { ret: 2 }, { delay: 60000, priority: 3 });
    const l = await q.add('delayed-lifo', { ret: 3 }, { delay: 60000, lifo: true });
    await q.add('prio', { ret: 4 }, { priority: 3 });
    await a.promote();
    await p.promote();
    await l.promote();
    ctx.record('job.delay', [a.delay, p.delay, l.delay]);
    await ctx.snap('after promote', { markers: 'exact' });
    const order = [];
    await ctx.processAll(dataProcessor(ctx, order));
    ctx.record('order', order);
    await ctx.snap('after processing');
  });

  differential('Job#promote on a paused queue', async (ctx) => {
    const q = await ctx.queue();
    const a = await q.add('delayed', {}, { delay: 60000 });
    await q.pause();
    await a.promote();
    await ctx.snap('after promote while paused', { markers: 'exact' });
  });

  differential('Job#changePriority of waiting and prioritized jobs, with and without lifo', async (ctx) => {
    const q = await ctx.queue();
    const jobs = {};
    for (const [n, p] of [
      ['w1', 0],
      ['w2', 0],
      ['w3', 0],
      ['p1', 2],
      ['p2', 2],
      ['p3', 5],
    ]) {
      // eslint-disable-next-line no-await-in-loop
      jobs[n] = await q.add(n, { ret: n }, { priority: p });
    }
    const d = await q.add('delayed', { ret: 'd' }, { delay: 60000 });
    await jobs.w1.changePriority({ priority: 2 });
    await jobs.p3.changePriority({ priority: 2, lifo: true });
    await jobs.p1.changePriority({ priority: 0 });
    await jobs.w3.changePriority({ lifo: true });
    await jobs.p2.changePriority({});
    await d.changePriority({ priority: 7 });
    ctx.record('job.priority', Object.values(jobs).map((j) => j.priority).concat(d.priority));
    await ctx.snap('after changePriority', { markers: 'exact' });
    await q.remove(d.id);
    const order = [];
    await ctx.processAll(dataProcessor(ctx, order));
    ctx.record('order', order);
    await ctx.snap('after processing');
  });

  differential('Job#changePriority while the queue is paused', async (ctx) => {
    const q = await ctx.queue();
    const a = await q.add('a', {});
    const b = await q.add('b', {}, { priority: 1 });
    await q.pause();
    await a.changePriority({ priority: 4 });
    await b.changePriority({ priority: 0, lifo: true });
    await ctx.snap('after changePriority while paused', { markers: 'exact' });
  });

  differential('Job#clearLogs (all, keep n) and Job.addJobLog', async (ctx) => {
    const q = await ctx.queue();
    const a = await q.add('a', {});
    const b = await q.add('b', {});
    const c = await q.add('c', {}, { keepLogs: 2 });
    const counts = [];
    for (const line of ['1', '2', '3', '4']) {
      // eslint-disable-next-line no-await-in-loop
      counts.push(await ctx.lib.Job.addJobLog(q, a.id, line));
      // eslint-disable-next-line no-await-in-loop
      counts.push(await b.log(line));
      // eslint-disable-next-line no-await-in-loop
      counts.push(await c.log(line));
    }
    counts.push(await q.addJobLog(a.id, 'five', 0));
    ctx.record('log counts', counts);
    await a.clearLogs(3);
    await b.clearLogs();
    await c.clearLogs(0);
    await (await q.getJob(a.id)).clearLogs(10);
    ctx.record('logs of a', await q.getJobLogs(a.id));
    await ctx.snap('after clearLogs', { markers: 'exact' });
  });

  differential('Job.create and Job.createBulk skip the queue defaults', async (ctx) => {
    const q = await ctx.queue({ defaultJobOptions: { attempts: 3, removeOnComplete: true } });
    const events = [];
    q.on('waiting', (job) => events.push(job.name));
    const one = await ctx.lib.Job.create(q, 'created', { a: 1 }, { priority: 2 });
    const bulk = await ctx.lib.Job.createBulk(q, [
      { name: 'bulk-1', data: { b: 1 } },
      { name: 'bulk-2', data: { b: 2 }, opts: { delay: 60000, deduplication: { id: 'x' } } },
    ]);
    await q.add('added', {});
    await q.addBulk([{ name: 'added-bulk', data: {} }]);
    ctx.record('ids', [one.id, ...bulk.map((j) => j.id)]);
    ctx.record('opts', [one.opts, ...bulk.map((j) => j.opts)].map((o) => ({ attempts: o.attempts, priority: o.priority })));
    ctx.record('waiting events', events);
    await ctx.snap('after adds', { markers: 'exact' });
  });
});

describe(`differential job options: bullmq vs ${implLabel}`, () => {
  differential('options stored with BullMQ short keys (logs, traces, size, jitter, flow flags, telemetry, user keys)', async (ctx) => {
    const q = await ctx.queue();
    const T = sharedTimestamp(ctx);
    const specs = [
      ['keep-logs', { keepLogs: 5, stackTraceLimit: 3, sizeLimit: 1024 }],
      ['jitter-fixed', { attempts: 3, backoff: { type: 'fixed', delay: 100, jitter: 0.25 } }],
      ['jitter-exp', { attempts: 3, backoff: { type: 'exponential', delay: 10, jitter: 1 } }],
      ['backoff-zero', { attempts: 2, backoff: 0 }],
      ['fpof', { failParentOnFailure: true }],
      ['idof', { ignoreDependencyOnFailure: true }],
      ['rdof', { removeDependencyOnFailure: true }],
      ['cpof', { continueParentOnFailure: true }],
      ['flags-false', { failParentOnFailure: false, ignoreDependencyOnFailure: false, keepLogs: 0 }],
      ['telemetry', { telemetry: { metadata: 'ctx', omitContext: true } }],
      ['user-keys', { prevMillis: 5, custom: { nested: [1, 'x/y'] }, timestamp: T, stackTraceLimit: 0 }],
      ['dedup-object', { deduplication: { id: 'o', ttl: 500, extend: false, replace: false, keepLastIfActive: false } }],
      ['remove-policies', { removeOnComplete: { age: 10, count: 2, limit: 5 }, removeOnFail: { count: 0 } }],
    ];
    for (const [n, o] of specs) {
      // eslint-disable-next-line no-await-in-loop
      await q.add(n, {}, o);
    }
    await q.addBulk(specs.map(([n, o]) => ({ name: `bulk-${n}`, data: { n }, opts: { ...o, deduplication: undefined } })));
    await ctx.snap('after adds', { markers: 'exact' });
  });

  differential('stackTraceLimit and keepLogs while processing', async (ctx) => {
    const q = await ctx.queue();
    await q.add('limit-2', { fail: 'e' }, { attempts: 4, stackTraceLimit: 2, keepLogs: 2 });
    await ctx.processAll(async (job) => {
      await job.log(`attempt ${job.attemptsMade}`);
      return dataProcessor(ctx)(job);
    });
    await ctx.snap('after the final failure');
  });
});
