'use strict';

// Differential Redis-state tests ("Redis state is the interface", ARCHITECTURE.md).
//
// Every scenario runs twice: once with `bullmq` on one queue, once with the
// implementation under test on another queue (each side uses only its own
// Queue / Worker / Job objects). At named checkpoints the whole key space of
// each queue (`bull:<name>:*`) is dumped and normalised (helpers/snapshot.js
// documents every normalisation and why), and the two states must be deeply
// equal. Values the scenario observes through the API (returned ids, processing
// order, log counts, ...) are recorded per side and compared too. The harness
// and its determinism rules are in helpers/differential.js.

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');

const { bullmq, connection } = require('./helpers/sides');
const { implLabel } = require('./helpers/env');
const { waitFor } = require('./helpers/redis');
const { createScope, sleep } = require('./helpers/util');
const { snapshotQueue, diffStates } = require('./helpers/snapshot');
const { differential, dataProcessor } = require('./helpers/differential');

describe(`differential Redis state: bullmq vs ${implLabel}`, () => {
  differential('plain add', async (ctx) => {
    const q = await ctx.queue();
    await ctx.snap('empty queue after construction', { markers: 'exact' });
    const ids = [];
    ids.push((await q.add('plain', { a: 1, nested: { b: [1, 2, 'x/y'] } })).id);
    ids.push((await q.add('no-data')).id);
    ids.push((await q.add('unicode', { s: 'üñí "q" \n\t ✓' })).id);
    ids.push((await q.add('string-data', 'just a string')).id);
    ids.push((await q.add('null-data', null)).id);
    ids.push((await q.add('array-data', [1, { two: 2 }])).id);
    ids.push((await q.add('', { emptyName: true })).id);
    ctx.record('ids', ids);
    await ctx.snap('after adds', { markers: 'exact' });
  });

  differential('add with jobId, re-add → duplicated', async (ctx) => {
    const q = await ctx.queue();
    const ids = [];
    ids.push((await q.add('orig', { v: 1 }, { jobId: 'custom-a' })).id);
    ids.push((await q.add('auto', { v: 2 })).id);
    ids.push((await q.add('again', { v: 3 }, { jobId: 'custom-a', priority: 4 })).id);
    ids.push((await q.add('again2', { v: 4 }, { jobId: 'custom-a', delay: 1000 })).id);
    ids.push((await q.add('other', { v: 5 }, { jobId: 'custom-b' })).id);
    ctx.record('ids', ids);
    await ctx.snap('after adds and duplicates', { markers: 'exact' });
  });

  differential('delay', async (ctx) => {
    const q = await ctx.queue();
    // One producer-chosen timestamp for both sides (opts are compared exactly).
    ctx.shared.T = ctx.shared.T || Date.now();
    const { T } = ctx.shared;
    const ids = [];
    ids.push((await q.add('d5000', { n: 1 }, { delay: 5000 })).id);
    // Same timestamp and delay: same due ms, so the second gets seq 1.
    ids.push((await q.add('same-due-1', { n: 2 }, { delay: 3000, timestamp: T })).id);
    ids.push((await q.add('same-due-2', { n: 3 }, { delay: 3000, timestamp: T })).id);
    ids.push((await q.add('delayed-prio', { n: 4 }, { delay: 60000, priority: 3 })).id);
    ids.push((await q.add('zero-delay', { n: 5 }, { delay: 0 })).id);
    ctx.record('ids', ids);
    await ctx.snap('after delayed adds', { markers: 'exact' });
  });

  differential('delay: promoted and processed', async (ctx) => {
    const q = await ctx.queue();
    const order = [];
    await q.add('late', { ret: 'late' }, { delay: 400 });
    await q.add('early', { ret: 'early' }, { delay: 200 });
    await ctx.snap('delayed', { markers: 'exact' });
    await ctx.processAll(dataProcessor(ctx, order));
    ctx.record('order', order);
    await ctx.snap('after processing');
  });

  differential('priority (several priorities, FIFO within one)', async (ctx) => {
    const q = await ctx.queue();
    const order = [];
    for (const [n, p] of [
      ['p5-a', 5],
      ['p1-a', 1],
      ['p5-b', 5],
      ['p0-a', 0],
      ['p1-b', 1],
      ['p3-a', 3],
      ['p1-c', 1],
      ['p0-b', undefined],
    ]) {
      // eslint-disable-next-line no-await-in-loop
      await q.add(n, { ret: n }, p === undefined ? {} : { priority: p });
    }
    await ctx.snap('after prioritized adds', { markers: 'exact' });
    await ctx.processAll(dataProcessor(ctx, order));
    ctx.record('order', order);
    await ctx.snap('after processing');
  });

  differential('lifo', async (ctx) => {
    const q = await ctx.queue();
    const order = [];
    await q.add('a', { ret: 1 });
    await q.add('b', { ret: 2 });
    await q.add('c-lifo', { ret: 3 }, { lifo: true });
    await q.add('d', { ret: 4 });
    await q.add('e-lifo', { ret: 5 }, { lifo: true });
    await q.add('f-lifo-prio', { ret: 6 }, { lifo: true, priority: 2 });
    await ctx.snap('after adds', { markers: 'exact' });
    await ctx.processAll(dataProcessor(ctx, order));
    ctx.record('order', order);
    await ctx.snap('after processing');
  });

  differential('attempts, backoff and other options stored', async (ctx) => {
    const q = await ctx.queue();
    await q.add('exp', {}, { attempts: 3, backoff: { type: 'exponential', delay: 1000 } });
    await q.add('fixed-num', {}, { attempts: 2, backoff: 500 });
    await q.add('fixed-jitter', {}, { attempts: 5, backoff: { type: 'fixed', delay: 100, jitter: 0.5 } });
    await q.add('keep', {}, { removeOnComplete: true, removeOnFail: 10, keepLogs: 3, stackTraceLimit: 2 });
    await q.add('keep-obj', {}, { removeOnComplete: { age: 3600, count: 5 }, removeOnFail: { count: 2 } });
    await q.add('user-key', {}, { attempts: 1, sizeLimit: 1000, lifo: false });
    await ctx.snap('after adds', { markers: 'exact' });
  });

  differential('addBulk', async (ctx) => {
    const q = await ctx.queue();
    const jobs = await q.addBulk([
      { name: 'plain', data: { n: 1 } },
      { name: 'custom', data: { n: 2 }, opts: { jobId: 'bulk-custom' } },
      { name: 'prio', data: { n: 3 }, opts: { priority: 7 } },
      { name: 'later', data: { n: 4 }, opts: { delay: 60000 } },
      { name: 'front', data: { n: 5 }, opts: { lifo: true, attempts: 4, backoff: { type: 'exponential', delay: 10 } } },
      { name: 'dup', data: { n: 6 }, opts: { jobId: 'bulk-custom' } },
    ]);
    ctx.record('ids', jobs.map((j) => j.id));
    await ctx.snap('after addBulk', { markers: 'exact' });
  });

  differential('processing to completion; return values of several JSON types', async (ctx) => {
    const q = await ctx.queue();
    const values = [
      { obj: { a: 1, b: [true, null, 'x'] } },
      { arr: [1, 'two', { three: 3 }] },
      { str: 'hello "world" /slash ü' },
      { num: 42.5 },
      { bool: false },
      { nul: null },
      { undef: '__undefined__' },
      { zero: 0 },
    ];
    for (const v of values) {
      const [[n, ret]] = Object.entries(v);
      // eslint-disable-next-line no-await-in-loop
      await q.add(n, { ret });
    }
    const order = [];
    await ctx.processAll(dataProcessor(ctx, order));
    ctx.record('order', order);
    await ctx.snap('after processing');
  });

  differential('failure with immediate retries to final failure (retries-exhausted)', async (ctx) => {
    const q = await ctx.queue();
    const order = [];
    await q.add('always-fails', { fail: 'boom' }, { attempts: 3 });
    await q.add('ok', { ret: 'fine' });
    await q.add('fails-once-no-attempts', { fail: 'single' });
    await ctx.processAll(dataProcessor(ctx, order));
    ctx.record('order', order);
    await ctx.snap('after final failure');
  });

  differential('failure with fixed backoff to final failure', async (ctx) => {
    const q = await ctx.queue();
    const order = [];
    await q.add('backoff', { fail: 'again' }, { attempts: 3, backoff: { type: 'fixed', delay: 150 } });
    await ctx.processAll(dataProcessor(ctx, order));
    ctx.record('order', order);
    await ctx.snap('after final failure');
  });

  differential('failure with backoff: state while delayed', async (ctx) => {
    const q = await ctx.queue();
    await q.add('backoff-long', { fail: 'later' }, { attempts: 2, backoff: { type: 'fixed', delay: 60000 } });
    ctx.worker(dataProcessor(ctx));
    await waitFor(async () => (await ctx.redis.zcard(`bull:${ctx.name}:delayed`)) === 1, 10000);
    await ctx.closeWorkers();
    await ctx.snap('job in delayed after first failed attempt');
  });

  differential('UnrecoverableError', async (ctx) => {
    const q = await ctx.queue();
    const order = [];
    await q.add('unrec-msg', { unrecoverable: 'no way' }, { attempts: 3, backoff: 100 });
    await q.add('unrec-default', { unrecoverable: '' }, { attempts: 1 });
    await q.add('unrec-no-attempts', { unrecoverable: 'x' });
    await ctx.processAll(dataProcessor(ctx, order));
    ctx.record('order', order);
    await ctx.snap('after processing');
  });

  differential('updateProgress and job.log (keepLogs) inside the processor', async (ctx) => {
    const q = await ctx.queue();
    const counts = {};
    await q.add('kept', { lines: ['one', 'two', 'three', 'four'] }, { keepLogs: 2 });
    await q.add('all', { lines: ['a', 'b: ü "q"'] });
    await q.add('progress-only', {});
    await ctx.processAll(async (job) => {
      counts[job.name] = [];
      await job.updateProgress(10);
      for (const line of job.data.lines || []) {
        // eslint-disable-next-line no-await-in-loop
        counts[job.name].push(await job.log(line));
      }
      await job.updateProgress({ step: 2, of: 3, label: 'x/y' });
      if (job.name === 'progress-only') await job.updateProgress('done');
      return 'ok';
    });
    ctx.record('log counts', counts);
    await ctx.snap('after processing');
  });

  differential('removeOnComplete: true, number, {age, count}', async (ctx) => {
    const q = await ctx.queue();
    // ids 1..6 (single digits keep zset tie-breaks on equal scores lexical = numeric)
    await q.add('keep-1', { ret: 1 });
    await q.add('remove-true', { ret: 2 }, { removeOnComplete: true });
    await q.add('keep-3', { ret: 3 });
    await q.add('count-2', { ret: 4 }, { removeOnComplete: 2 });
    await q.add('age-count-1', { ret: 5 }, { removeOnComplete: { age: 3600, count: 1 } });
    await q.add('false', { ret: 'f' }, { removeOnComplete: false });
    await ctx.processAll(dataProcessor(ctx));
    await ctx.snap('after first batch');
    await sleep(1500);
    await q.add('age-1', { ret: 6 }, { removeOnComplete: { age: 1 } });
    await ctx.processAll(dataProcessor(ctx));
    await ctx.snap('after age-based removal');
  });

  differential('removeOnFail: true, number, {age, count}', async (ctx) => {
    const q = await ctx.queue();
    await q.add('keep-1', { fail: 'e1' });
    await q.add('remove-true', { fail: 'e2' }, { removeOnFail: true });
    await q.add('keep-3', { fail: 'e3' });
    await q.add('count-2', { fail: 'e4' }, { removeOnFail: 2 });
    await q.add('age-count-1', { fail: 'e5' }, { removeOnFail: { age: 3600, count: 1 } });
    await q.add('retried-then-removed', { fail: 'e6' }, { removeOnFail: true, attempts: 2 });
    await ctx.processAll(dataProcessor(ctx));
    await ctx.snap('after first batch');
    await sleep(1500);
    await q.add('age-1', { fail: 'e7' }, { removeOnFail: { age: 1 } });
    await ctx.processAll(dataProcessor(ctx));
    await ctx.snap('after age-based removal');
  });

  differential('removeOnComplete / removeOnFail as worker options', async (ctx) => {
    const q = await ctx.queue();
    await q.add('c1', { ret: 1 });
    await q.add('c2', { ret: 2 });
    await q.add('c3', { ret: 3 });
    await q.add('f1', { fail: 'x' });
    await q.add('f2', { fail: 'y' });
    await q.add('c4-own', { ret: 4 }, { removeOnComplete: false });
    // BullMQ's worker options take KeepJobs objects only (a boolean reaches the
    // script as is and breaks it), so no `true` here.
    await ctx.processAll(dataProcessor(ctx), { removeOnComplete: { count: 1 }, removeOnFail: { count: 0 } });
    await ctx.snap('after processing');
  });

  differential('pause / resume with jobs waiting', async (ctx) => {
    const q = await ctx.queue();
    await q.add('w1', { ret: 1 });
    await q.add('w2', { ret: 2 }, { priority: 2 });
    await q.pause();
    await ctx.snap('paused with jobs waiting', { markers: 'exact' });
    await q.add('while-paused', { ret: 3 });
    await q.add('while-paused-prio', { ret: 4 }, { priority: 1 });
    await q.add('while-paused-delayed', { ret: 5 }, { delay: 300 });
    await ctx.snap('jobs added while paused', { markers: 'exact' });
    const order = [];
    ctx.worker(dataProcessor(ctx, order));
    // The delayed job becomes due meanwhile, and the delay hint wakes the
    // worker: a fetch on a paused queue still promotes it (BullMQ's
    // moveToActive promotes before its paused check). Wait for that (not
    // failing here if it never happens: the checkpoint shows the difference).
    await waitFor(async () => (await ctx.redis.zcard(`bull:${ctx.name}:delayed`)) === 0, 3000).catch(() => {});
    await sleep(200);
    await ctx.snap('worker running on the paused queue');
    await q.resume();
    await ctx.waitIdle();
    await ctx.closeWorkers();
    ctx.record('order', order);
    await ctx.snap('after resume and processing');
  });

  differential('pause / resume without worker', async (ctx) => {
    const q = await ctx.queue();
    await q.pause();
    await ctx.snap('paused, empty', { markers: 'exact' });
    await q.resume();
    await ctx.snap('resumed, empty', { markers: 'exact' });
    await q.add('d', {}, { delay: 60000 });
    await q.pause();
    await q.resume();
    await ctx.snap('resumed with only a delayed job', { markers: 'exact' });
    await q.add('w', {});
    await q.pause();
    await q.resume();
    await ctx.snap('resumed with a waiting job', { markers: 'exact' });
  });

  differential('drain (with and without delayed)', async (ctx) => {
    const q = await ctx.queue();
    await q.add('w1', {});
    await q.add('w2', {}, { jobId: 'custom-w' });
    await q.add('p1', {}, { priority: 3 });
    await q.add('d1', {}, { delay: 60000 });
    await q.add('d2', {}, { delay: 30000 });
    await q.drain();
    await ctx.snap('after drain()', { markers: 'exact' });
    await q.add('w3', {});
    await q.add('p2', {}, { priority: 1 });
    await q.drain(true);
    await ctx.snap('after drain(true)', { markers: 'exact' });
  });

  differential('drain with finished jobs present', async (ctx) => {
    const q = await ctx.queue();
    await q.add('done', { ret: 1 });
    await q.add('bad', { fail: 'x' });
    await ctx.processAll(dataProcessor(ctx));
    await q.add('w1', {});
    await q.add('d1', {}, { delay: 60000 });
    await q.drain(true);
    await ctx.snap('after drain(true)');
  });

  differential('remove(jobId) of waiting, prioritized and delayed jobs', async (ctx) => {
    const q = await ctx.queue();
    await q.add('a', {});
    const b = await q.add('b', {});
    await q.add('c', {});
    const p = await q.add('p', {}, { priority: 2 });
    const d = await q.add('d', {}, { delay: 60000 });
    const results = [];
    results.push(await q.remove(b.id));
    results.push(await q.remove(p.id));
    results.push(await q.remove(d.id));
    results.push(await q.remove('does-not-exist'));
    ctx.record('remove results', results);
    await ctx.snap('after removals', { markers: 'exact' });
  });

  differential('job.retry() of a failed job', async (ctx) => {
    const q = await ctx.queue();
    let runs = 0;
    const processor = async (job) => {
      runs += 1;
      if (runs === 1) throw new Error('first run fails');
      return { run: runs, name: job.name };
    };
    const job = await q.add('retry-me', { x: 1 }, { attempts: 1 });
    await q.add('other', { x: 2 }, { removeOnComplete: true });
    await ctx.processAll(processor);
    await ctx.snap('after failure');
    const failed = await q.getJob(job.id);
    await failed.retry();
    await ctx.snap('after job.retry()');
    await ctx.processAll(processor);
    await ctx.snap('after reprocessing');
    const done = await q.getJob(job.id);
    await done.retry('completed', { resetAttemptsMade: true, resetAttemptsStarted: true });
    await ctx.snap('after job.retry("completed", reset both)');
  });

  differential('obliterate', async (ctx) => {
    const q = await ctx.queue();
    await q.add('c', { ret: 1 });
    await q.add('f', { fail: 'x' });
    await q.add('logged', { lines: ['x'] });
    await ctx.processAll(async (job) => {
      if (job.data.lines) await job.log('line');
      return dataProcessor(ctx)(job);
    });
    await q.add('w', {});
    await q.add('p', {}, { priority: 1 });
    await q.add('d', {}, { delay: 60000 });
    await q.obliterate();
    const norm = await ctx.snap('after obliterate', { markers: 'exact' });
    assert.deepEqual(norm, {}, `${ctx.label}: nothing is left after obliterate: ${JSON.stringify(norm)}`);
  });
});

describe(`differential Redis state, edge cases: bullmq vs ${implLabel}`, () => {
  differential('custom ids with unusual characters', async (ctx) => {
    const q = await ctx.queue();
    const ids = [];
    for (const id of ['with/slash', 'ünï-cödé ✓', 'a b c', 'x:y:z', '007x', 'uuid-ish-12345678-1234-1234-1234-123456789abc']) {
      // eslint-disable-next-line no-await-in-loop
      ids.push((await q.add('n', { id }, { jobId: id })).id);
    }
    ctx.record('ids', ids);
    await ctx.snap('after adds', { markers: 'exact' });
  });

  differential('Queue defaultJobOptions merged with job options', async (ctx) => {
    const q = await ctx.queue({
      defaultJobOptions: { attempts: 2, backoff: 1000, removeOnComplete: 5, removeOnFail: { age: 60 }, priority: 0 },
    });
    await q.add('defaults', {});
    await q.add('override', {}, { attempts: 4, removeOnComplete: false, lifo: true });
    await q.add('prio', {}, { priority: 9 });
    await ctx.snap('after adds', { markers: 'exact' });
  });

  differential('stackTraceLimit with immediate retries', async (ctx) => {
    const q = await ctx.queue();
    await q.add('limit-1', { fail: 'e' }, { attempts: 3, stackTraceLimit: 1 });
    await q.add('limit-0', { fail: 'e' }, { attempts: 2, stackTraceLimit: 0 });
    await ctx.processAll(dataProcessor(ctx));
    await ctx.snap('after final failures');
  });

  differential('immediate retries of lifo and prioritized jobs', async (ctx) => {
    const q = await ctx.queue();
    const order = [];
    const failedOnce = new Set();
    await q.add('plain-1', { ret: 1 });
    await q.add('lifo-retry', {}, { lifo: true, attempts: 2 });
    await q.add('plain-2', { ret: 2 });
    await q.add('prio-retry', {}, { priority: 1, attempts: 2 });
    await q.add('prio-2', { ret: 3 }, { priority: 1 });
    await ctx.processAll(async (job) => {
      order.push(job.name);
      if (job.name.endsWith('-retry') && !failedOnce.has(job.name)) {
        failedOnce.add(job.name);
        throw new Error(`first attempt of ${job.name}`);
      }
      return job.name;
    });
    ctx.record('order', order);
    await ctx.snap('after processing');
  });

  differential('exponential backoff to final failure', async (ctx) => {
    const q = await ctx.queue();
    await q.add('exp', { fail: 'exp' }, { attempts: 3, backoff: { type: 'exponential', delay: 100 } });
    await ctx.processAll(dataProcessor(ctx));
    await ctx.snap('after final failure');
  });

  differential('backoff retry that then succeeds', async (ctx) => {
    const q = await ctx.queue();
    await q.add('flaky', {}, { attempts: 3, backoff: 100 });
    await ctx.processAll(async (job) => {
      if (job.attemptsMade < 1) throw new Error('flaky');
      return { attemptsMade: job.attemptsMade };
    });
    await ctx.snap('after success');
  });

  differential('worker name (pb)', async (ctx) => {
    const q = await ctx.queue();
    await q.add('a', { ret: 1 });
    await q.add('b', { fail: 'x' });
    await ctx.processAll(dataProcessor(ctx), { name: 'worker-one' });
    await ctx.snap('after processing');
  });

  differential('return value that cannot be serialised', async (ctx) => {
    const q = await ctx.queue();
    await q.add('circular', {});
    await q.add('bigint', {});
    await q.add('fn', {});
    await ctx.processAll(async (job) => {
      if (job.name === 'circular') {
        const o = { a: 1 };
        o.self = o;
        return o;
      }
      if (job.name === 'bigint') return { n: 10n };
      return () => 1; // JSON.stringify gives undefined
      // BullMQ's worker also emits 'error' for the failed serialisation.
    }, {}, { allowErrors: true });
    await ctx.snap('after processing');
  });

  differential('odd thrown values and messages', async (ctx) => {
    const q = await ctx.queue();
    await q.add('empty-message', {});
    await q.add('custom-name', {});
    await q.add('multiline', {});
    await ctx.processAll(async (job) => {
      if (job.name === 'empty-message') throw new Error('');
      if (job.name === 'custom-name') {
        const e = new Error('with a name');
        e.name = 'MyError';
        throw e;
      }
      throw new Error('line 1\nline 2 "quoted" /slash ü');
    });
    await ctx.snap('after processing');
  });

  differential('progress values of several types', async (ctx) => {
    const q = await ctx.queue();
    await q.add('p', {});
    await ctx.processAll(async (job) => {
      for (const p of [0, 55.5, 'half', true, { a: [1, 2] }, [3, 'x'], 100]) {
        // eslint-disable-next-line no-await-in-loop
        await job.updateProgress(p);
      }
      return 'ok';
    });
    await ctx.snap('after processing');
  });

  differential('delayed jobs promoted into prioritized, lifo and wait', async (ctx) => {
    const q = await ctx.queue();
    const order = [];
    await q.add('waiting', { ret: 0 });
    await q.add('delayed-prio', { ret: 1 }, { delay: 200, priority: 4 });
    await q.add('delayed-lifo', { ret: 2 }, { delay: 200, lifo: true });
    await q.add('prio', { ret: 3 }, { priority: 4 });
    await sleep(400); // all due before the worker starts: promoted in one fetch
    await ctx.processAll(dataProcessor(ctx, order));
    ctx.record('order', order);
    await ctx.snap('after processing');
  });

  differential('remove() of completed and failed jobs; Job#remove with logs', async (ctx) => {
    const q = await ctx.queue();
    const c = await q.add('c', { ret: 1 });
    const f = await q.add('f', { fail: 'x' });
    const l = await q.add('logged', { ret: 2 });
    await ctx.processAll(async (job) => {
      await job.log('a log line');
      return dataProcessor(ctx)(job);
    });
    const results = [];
    results.push(await q.remove(c.id));
    results.push(await q.remove(f.id));
    ctx.record('remove results', results);
    await (await q.getJob(l.id)).remove();
    await ctx.snap('after removals');
  });

  differential('job.retry() of a lifo job', async (ctx) => {
    const q = await ctx.queue();
    const a = await q.add('lifo', { fail: 'x' }, { lifo: true });
    await q.add('plain', { fail: 'z' });
    await ctx.processAll(dataProcessor(ctx));
    await q.add('waiting', {});
    await (await q.getJob(a.id)).retry();
    await ctx.snap('after retry');
  });

  // BullMQ 6.7.0's reprocessJob (commands/reprocessJob-9.lua) re-adds a job
  // with priority > 0 to `prioritized` (INCR pc); PROTOCOL.md §6.15 describes
  // v6.2.0's reprocessJob-8, which pushed onto `wait` regardless of priority.
  differential('job.retry() of a prioritized job', async (ctx) => {
    const q = await ctx.queue();
    const b = await q.add('prio', { fail: 'y' }, { priority: 3 });
    await q.add('plain', { fail: 'z' });
    await ctx.processAll(dataProcessor(ctx));
    await (await q.getJob(b.id)).retry();
    await ctx.snap('after retry');
  });

  // {age, limit} with more expired jobs than `limit`: BullMQ's
  // removeJobsByMaxAge takes ZREVRANGEBYSCORE <cutoff> -inf LIMIT 0 <limit>,
  // i.e. the newest expired jobs go first.
  differential('removeOnComplete edge values: 0, {count: 0}, {age: 0}, {age, limit}', async (ctx) => {
    const q = await ctx.queue();
    await q.add('keep-1', { ret: 1 });
    await q.add('keep-2', { ret: 2 });
    await q.add('keep-3', { ret: 3 });
    await q.add('zero', { ret: 4 }, { removeOnComplete: 0 });
    await q.add('count-0', { ret: 5 }, { removeOnComplete: { count: 0 } });
    await ctx.processAll(dataProcessor(ctx));
    await ctx.snap('after first batch');
    await sleep(1500);
    await q.add('age-1-limit-1', { ret: 6 }, { removeOnComplete: { age: 1, limit: 1 } });
    await ctx.processAll(dataProcessor(ctx));
    await ctx.snap('after {age: 1, limit: 1}');
    await q.add('age-0', { ret: 7 }, { removeOnComplete: { age: 0 } });
    await ctx.processAll(dataProcessor(ctx));
    await ctx.snap('after {age: 0}');
  });

  differential('pause while a job is active, then resume', async (ctx) => {
    const q = await ctx.queue();
    let release;
    const gate = new Promise((r) => {
      release = r;
    });
    let started = false;
    await q.add('slow', {});
    await q.add('next', {});
    ctx.worker(async (job) => {
      if (job.name === 'slow') {
        started = true;
        await gate;
      }
      return job.name;
    });
    await waitFor(() => started, 5000);
    await q.pause();
    release();
    await waitFor(async () => (await ctx.redis.zcard(`bull:${ctx.name}:completed`)) === 1, 5000);
    await sleep(300);
    await ctx.snap('paused after the active job completed');
    await q.resume();
    await ctx.waitIdle();
    await ctx.closeWorkers();
    await ctx.snap('after resume');
  });

  // Worker#close issued the moment a fetch moves a job into active: BullMQ
  // processes the job it fetched before closing. Repeated, because the window
  // is narrow (a delayed job, so the fetch happens at a known moment).
  differential('Worker#close right after a fetch moved a job to active', async (ctx) => {
    const q = await ctx.queue();
    const activeKey = `bull:${ctx.name}:active`;
    for (let i = 0; i < 8; i++) {
      // eslint-disable-next-line no-await-in-loop
      const { id } = await q.add(`j${i}`, { ret: i }, { delay: 50 });
      ctx.worker(dataProcessor(ctx));
      const deadline = Date.now() + 5000;
      // eslint-disable-next-line no-await-in-loop
      while ((await ctx.redis.lpos(activeKey, id)) === null && Date.now() < deadline);
      // eslint-disable-next-line no-await-in-loop
      await ctx.closeWorkers();
    }
    await ctx.snap('after 8 add / start / close cycles');
  });

  differential('jobs added while the worker is idle', async (ctx) => {
    const q = await ctx.queue();
    ctx.worker(dataProcessor(ctx));
    await sleep(300); // the worker has found nothing and blocks on the marker
    const completed = async () => ctx.redis.zcard(`bull:${ctx.name}:completed`);
    const specs = [
      ['plain', { ret: 1 }, {}],
      ['prio', { ret: 2 }, { priority: 2 }],
      ['delayed', { ret: 3 }, { delay: 200 }],
      ['lifo', { ret: 4 }, { lifo: true }],
    ];
    for (const [i, [n, d, o]] of specs.entries()) {
      // eslint-disable-next-line no-await-in-loop
      await q.add(n, d, o);
      // eslint-disable-next-line no-await-in-loop
      await waitFor(async () => (await completed()) === i + 1, 5000);
    }
    await ctx.closeWorkers();
    await ctx.snap('after processing');
  });

  differential('remove() of an active job; obliterate({force}) with an active job', async (ctx) => {
    const q = await ctx.queue();
    let release;
    const gate = new Promise((r) => {
      release = r;
    });
    const active = await q.add('active', {});
    await q.add('waiting', {});
    await q.add('delayed', {}, { delay: 60000 });
    // The worker's attempt to finish the obliterated job fails: 'error' expected.
    ctx.worker(async () => {
      await gate;
      return 'late';
    }, {}, { allowErrors: true });
    await waitFor(async () => (await ctx.redis.lpos(`bull:${ctx.name}:active`, active.id)) !== null, 5000);
    ctx.record('remove(active)', await q.remove(active.id));
    await ctx.snap('after remove() of the active job');
    let obliterateError;
    try {
      await q.obliterate();
    } catch (err) {
      obliterateError = err.message;
    }
    ctx.record('obliterate without force', obliterateError);
    await ctx.snap('after obliterate() refused');
    await q.obliterate({ force: true });
    await ctx.snap('after obliterate({force: true})');
    release();
    await sleep(300); // the worker tries to complete the vanished job
    await ctx.closeWorkers();
    await ctx.snap('after the worker finished the obliterated job');
  });

  differential('job.retry() of a job that is not failed', async (ctx) => {
    const q = await ctx.queue();
    const job = await q.add('waiting', {});
    let message;
    try {
      await job.retry();
    } catch (err) {
      message = err.message;
    }
    ctx.record('error', message);
    await ctx.snap('after the refused retry', { markers: 'exact' });
  });

  differential('Queue#updateJobProgress and Queue#addJobLog', async (ctx) => {
    const q = await ctx.queue();
    const a = await q.add('a', {});
    const b = await q.add('b', {}, { keepLogs: 1 });
    await q.updateJobProgress(a.id, 42);
    await q.updateJobProgress(b.id, { p: 'x/y' });
    const counts = [];
    counts.push(await q.addJobLog(a.id, 'first'));
    counts.push(await q.addJobLog(a.id, 'second', 1));
    counts.push(await q.addJobLog(b.id, 'b1'));
    counts.push(await q.addJobLog(b.id, 'b2'));
    ctx.record('log counts', counts);
    await ctx.snap('after progress and logs', { markers: 'exact' });
  });

  differential('Queue streams.events.maxLen', async (ctx) => {
    const q = await ctx.queue({ streams: { events: { maxLen: 25 } } });
    await q.add('a', {});
    await ctx.snap('after add', { markers: 'exact' });
  });

  differential('keepLogs with removeOnComplete and logs on a failed job', async (ctx) => {
    const q = await ctx.queue();
    await q.add('gone', {}, { removeOnComplete: true, keepLogs: 1 });
    await q.add('failed-logged', { fail: 'x' }, { keepLogs: 1 });
    await ctx.processAll(async (job) => {
      await job.log('one');
      await job.log('two');
      return dataProcessor(ctx)(job);
    });
    await ctx.snap('after processing');
  });
});

// The harness itself: a normalised state must report every kind of change.
describe('differential harness self-check', () => {
  test('diffStates reports field, list order, event and score changes', async (t) => {
    const s = createScope();
    t.after(() => s.close());
    const name = s.queueName('diff-self');
    const q = s.add(new bullmq.Queue(name, { connection }));
    const t0 = Date.now();
    await q.add('a', { x: 1 });
    await q.add('b', { x: 2 });
    await q.add('p', {}, { priority: 2 });
    await q.add('d', {}, { delay: 5000 });
    const { norm } = await snapshotQueue(name, { t0, markers: 'exact' });
    assert.equal(diffStates(norm, structuredClone(norm)), '', 'identical states give no diff');
    const mutations = {
      'hash field': (n) => {
        n['1'].value.data = '{"x":9}';
      },
      'parsed opts': (n) => {
        n['1'].value.opts.attempts = 1;
      },
      'list order': (n) => {
        n.wait.value.reverse();
      },
      'missing event': (n) => {
        n.events.value.splice(1, 1);
      },
      'event field': (n) => {
        n.events.value[0].name = 'other';
      },
      'prioritized score': (n) => {
        n.prioritized.value[0][1] = '2·2^32+2';
      },
      'delayed seq': (n) => {
        n.delayed.value[0][1].seq = 1;
      },
      'extra key': (n) => {
        n.paused = { type: 'list', value: ['1'] };
      },
      'missing key': (n) => {
        delete n.marker;
      },
    };
    for (const [what, mutate] of Object.entries(mutations)) {
      const other = structuredClone(norm);
      mutate(other);
      assert.notEqual(diffStates(norm, other), '', `a ${what} change is reported`);
    }
  });
});
