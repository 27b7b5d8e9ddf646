'use strict';

// The Queue's admin and read surface across implementations: what one kind of Queue does
// (clean, retryJobs, promoteJobs, trimEvents, global concurrency and rate limits,
// metrics) is seen by the other kind's getters, workers and QueueEvents, and the getters
// of each kind list the other's jobs in the same order and shape.

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');

const { bullmq, impl, sides, workerOpts, connection } = require('./helpers/sides');
const { bullrushOnly } = require('./helpers/env');
const { waitFor, queueEventsReady, queueKeys, newRedis } = require('./helpers/redis');
const { createScope, recordEvents, sleep } = require('./helpers/util');

// One side acts, the other observes; both ways round.
const roles = [
  { label: `${sides[1].label} acts, bullmq observes`, actor: sides[1], observer: sides[0] },
  { label: `bullmq acts, ${sides[1].label} observes`, actor: sides[0], observer: sides[1] },
];

// A Queue of each role on one queue name, plus a QueueEvents of each kind, ready.
async function setup(s, prefix, role) {
  const name = s.queueName(prefix);
  const actor = s.add(new role.actor.lib.Queue(name, { connection }));
  const observer = s.add(new role.observer.lib.Queue(name, { connection }));
  const listeners = sides.map((side) => s.add(new side.lib.QueueEvents(name, { connection })));
  await Promise.all(listeners.map((qe) => queueEventsReady(qe, name)));
  return { name, actor, observer, listeners };
}

// Processes everything waiting with a worker of `side`, then closes it.
async function processAll(s, side, name, processor = async (job) => job.data.ret) {
  const w = s.add(new side.lib.Worker(name, processor, workerOpts()));
  const q = s.add(new side.lib.Queue(name, { connection }));
  await waitFor(async () => {
    const c = await q.getJobCounts('waiting', 'active', 'prioritized');
    return c.waiting + c.active + c.prioritized === 0;
  }, 10000);
  await w.close();
}

describe('clean', () => {
  for (const role of roles) {
    test(`${role.label}: finished and waiting jobs`, { timeout: 30000 }, async (t) => {
      const s = createScope();
      t.after(() => s.close());
      const { name, actor, observer, listeners } = await setup(s, 'clean', role);
      const local = recordEvents(actor, ['cleaned']);
      const heard = listeners.map((qe) => recordEvents(qe, ['cleaned']));
      for (let i = 1; i <= 3; i++) {
        // eslint-disable-next-line no-await-in-loop
        await observer.add(`done-${i}`, { ret: i });
      }
      await observer.add('fails', { ret: 0 });
      await processAll(s, role.observer, name, async (job) => {
        if (job.name === 'fails') throw new Error('no');
        return job.data.ret;
      });
      const waiting = await observer.add('waiting', {}, { timestamp: Date.now() - 60000 });
      await sleep(5);

      assert.deepEqual(await actor.clean(0, 2, 'completed'), ['1', '2'], 'oldest first, up to the limit');
      assert.deepEqual(await actor.clean(0, 0, 'completed'), ['3']);
      assert.deepEqual(await actor.clean(30000, 0, 'waiting'), [waiting.id]);
      assert.deepEqual(await actor.clean(0, 0, 'failed'), ['4']);
      assert.deepEqual(local.cleaned, [
        [['1', '2'], 'completed'],
        [['3'], 'completed'],
        [[waiting.id], 'wait'],
        [['4'], 'failed'],
      ]);
      assert.deepEqual(await observer.getJobCounts('completed', 'failed', 'waiting'), {
        completed: 0,
        failed: 0,
        waiting: 0,
      });
      for (const id of ['1', '4', waiting.id]) {
        // eslint-disable-next-line no-await-in-loop
        assert.equal(await observer.getJob(id), undefined, `job ${id} is gone`);
      }
      for (const rec of heard) {
        // eslint-disable-next-line no-await-in-loop
        await waitFor(async () => rec.cleaned.length === 4, 5000);
        assert.deepEqual(
          rec.cleaned.map(([args]) => args),
          [{ count: '2' }, { count: '1' }, { count: '1' }, { count: '1' }],
        );
      }
    });
  }

  test('a bullrush Queue leaves an active job alone while its BullMQ worker holds it', { timeout: 20000 }, async (t) => {
    const s = createScope();
    t.after(() => s.close());
    const name = s.queueName('clean-active');
    const q = s.add(new impl.Queue(name, { connection }));
    let release;
    const held = new Promise((r) => {
      release = r;
    });
    s.add(new bullmq.Worker(name, () => held, workerOpts()));
    const job = await q.add('held', {});
    await waitFor(async () => (await q.getActiveCount()) === 1, 5000);
    assert.deepEqual(await q.clean(0, 0, 'active'), [], 'a locked job is not cleaned');
    release('done');
    await waitFor(async () => (await q.getJobState(job.id)) === 'completed', 5000);
  });

  test('bad grace, limit or type rejects before Redis', { skip: bullrushOnly, timeout: 10000 }, async (t) => {
    const s = createScope();
    t.after(() => s.close());
    const name = s.queueName('clean-bad');
    const q = s.add(new impl.Queue(name, { connection }));
    await q.add('a', {});
    const before = await queueKeys(name);
    await assert.rejects(q.clean(-1, 0), /grace must be a number of milliseconds >= 0/);
    await assert.rejects(q.clean(Number.NaN, 0), /grace must be a finite number/);
    await assert.rejects(q.clean(0, -1), /limit must be an integer >= 0/);
    await assert.rejects(q.clean(0, 1.5), /limit must be an integer/);
    await assert.rejects(q.clean(0, 0, 'waiting-children'), /Cannot clean jobs of type waiting-children/);
    assert.deepEqual(await queueKeys(name), before, 'nothing written');
    assert.equal(await q.getWaitingCount(), 1);
  });
});

describe('retryJobs and promoteJobs', () => {
  for (const role of roles) {
    test(`${role.label}: retried and promoted jobs run again on the observer's worker`, { timeout: 30000 }, async (t) => {
      const s = createScope();
      t.after(() => s.close());
      const { name, actor, observer, listeners } = await setup(s, 'requeue', role);
      const heard = listeners.map((qe) => recordEvents(qe, ['waiting']));
      let failing = true;
      await observer.add('flaky', { ret: 'flaky' });
      await observer.add('fine', { ret: 'fine' });
      await processAll(s, role.observer, name, async (job) => {
        if (job.name === 'flaky' && failing) throw new Error('not yet');
        return job.data.ret;
      });
      failing = false;
      const later = await observer.add('later', { ret: 'later' }, { delay: 60000 });

      await actor.retryJobs({ state: 'failed' });
      await actor.retryJobs({ state: 'completed', count: 1 });
      await actor.promoteJobs();
      assert.deepEqual(await observer.getJobCounts('waiting', 'delayed', 'failed', 'completed'), {
        waiting: 3,
        delayed: 0,
        failed: 0,
        completed: 0,
      });
      const flaky = await observer.getJob('1');
      assert.equal(flaky.failedReason, undefined);
      assert.equal(flaky.finishedOn, undefined);
      assert.equal(flaky.attemptsMade, 1, 'attempts made are kept');

      await processAll(s, role.observer, name);
      assert.deepEqual(
        (await observer.getCompleted()).map((j) => [j.name, j.returnvalue]).sort(),
        [
          ['fine', 'fine'],
          ['flaky', 'flaky'],
          ['later', 'later'],
        ],
      );
      for (const rec of heard) {
        // eslint-disable-next-line no-await-in-loop
        await waitFor(async () => rec.waiting.filter(([a]) => a.prev && a.prev !== 'active').length === 3, 5000);
        assert.deepEqual(
          rec.waiting.filter(([a]) => a.prev && a.prev !== 'active').map(([a]) => [a.jobId, a.prev]),
          [
            ['1', 'failed'],
            ['2', 'completed'],
            [later.id, 'delayed'],
          ],
        );
      }
    });
  }

  test('counts below 1 and unknown states reject before Redis', { skip: bullrushOnly, timeout: 10000 }, async (t) => {
    const s = createScope();
    t.after(() => s.close());
    const name = s.queueName('requeue-bad');
    const q = s.add(new impl.Queue(name, { connection }));
    await q.add('a', {}, { delay: 60000 });
    const before = await queueKeys(name);
    // BullMQ loops forever on these counts.
    await assert.rejects(q.retryJobs({ count: 0 }), /count must be an integer greater than 0/);
    await assert.rejects(q.promoteJobs({ count: -1 }), /count must be an integer greater than 0/);
    await assert.rejects(q.retryJobs({ state: 'delayed' }), /Cannot retry jobs in state delayed/);
    assert.deepEqual(await queueKeys(name), before, 'nothing written');
  });
});

// What a getter's job shows, for comparing the two kinds of Queue.
function shape(job) {
  return {
    id: job.id,
    name: job.name,
    data: job.data,
    opts: JSON.parse(JSON.stringify(job.opts)), // BullMQ's Job has opts.backoff: undefined
    timestamp: job.timestamp,
    delay: job.delay,
    priority: job.priority,
    returnvalue: job.returnvalue,
    failedReason: job.failedReason,
    attemptsMade: job.attemptsMade,
    processedOn: job.processedOn,
    finishedOn: job.finishedOn,
  };
}

describe('getters list either kind of job the same way', () => {
  test('getJobs, get<State>, getRanges, counts', { timeout: 30000 }, async (t) => {
    const s = createScope();
    t.after(() => s.close());
    const name = s.queueName('getters');
    const qs = sides.map((side) => s.add(new side.lib.Queue(name, { connection })));
    // Finished jobs from both kinds of worker, jobs of every other state from both
    // kinds of producer.
    for (const [i, q] of qs.entries()) {
      // eslint-disable-next-line no-await-in-loop
      await q.add(`done-${i}`, { ret: i });
      // eslint-disable-next-line no-await-in-loop
      await q.add(`fails-${i}`, { ret: -1 });
    }
    const processor = async (job) => {
      if (job.data.ret < 0) throw new Error(`${job.name} failed`);
      return job.data.ret;
    };
    for (const [n, side] of sides.entries()) {
      const w = s.add(new side.lib.Worker(name, processor, workerOpts()));
      // eslint-disable-next-line no-await-in-loop
      await waitFor(async () => (await qs[0].getJobCountByTypes('completed', 'failed')) === 4 * (n + 1), 10000);
      // eslint-disable-next-line no-await-in-loop
      await w.close();
      if (n === 1) break;
      for (const [i, q] of qs.entries()) {
        // eslint-disable-next-line no-await-in-loop
        await q.add(`done-late-${n}-${i}`, { ret: 10 + i });
        // eslint-disable-next-line no-await-in-loop
        await q.add(`fails-late-${n}-${i}`, { ret: -1 });
      }
    }
    for (const [i, q] of qs.entries()) {
      /* eslint-disable no-await-in-loop */
      await q.add(`wait-${i}`, { i });
      await q.add(`lifo-${i}`, { i }, { lifo: true });
      await q.add(`prio-${i}`, { i }, { priority: 2 - i });
      await q.add(`prio-same-${i}`, { i }, { priority: 1 });
      await q.add(`delayed-${i}`, { i }, { delay: 60000 + 1000 * i });
      /* eslint-enable no-await-in-loop */
    }

    const reads = {
      'getJobs()': (q) => q.getJobs(),
      'getJobs([])': (q) => q.getJobs([]),
      "getJobs('waiting')": (q) => q.getJobs('waiting'),
      'getJobs(waiting, delayed, asc, 1..3)': (q) => q.getJobs(['waiting', 'delayed'], 1, 3, true),
      'getJobs(completed, failed, 0..2)': (q) => q.getJobs(['completed', 'failed'], 0, 2),
      'getJobs(prioritized, wait, -3..-1, asc)': (q) => q.getJobs(['prioritized', 'wait'], -3, -1, true),
      getWaiting: (q) => q.getWaiting(),
      'getWaiting(1, 2)': (q) => q.getWaiting(1, 2),
      getActive: (q) => q.getActive(),
      getDelayed: (q) => q.getDelayed(),
      getPrioritized: (q) => q.getPrioritized(),
      getCompleted: (q) => q.getCompleted(),
      'getFailed(0, 1)': (q) => q.getFailed(0, 1),
      getWaitingChildren: (q) => q.getWaitingChildren(),
    };
    for (const [what, read] of Object.entries(reads)) {
      const [a, b] = await Promise.all(qs.map(async (q) => (await read(q)).map(shape)));
      assert.deepEqual(b, a, what);
      assert.ok(what.includes('Children') || what.includes('Active') || a.length > 0, `${what} lists jobs`);
    }
    const ranges = {
      'getRanges(waiting)': (q) => q.getRanges(['waiting']),
      'getRanges(wait, prioritized, 0..-1, asc)': (q) => q.getRanges(['wait', 'prioritized'], 0, -1, true),
      'getRanges(completed, failed, delayed, 0..-1)': (q) => q.getRanges(['completed', 'failed', 'delayed'], 0, -1),
    };
    for (const [what, read] of Object.entries(ranges)) {
      const [a, b] = await Promise.all(qs.map(read));
      assert.deepEqual(b, a, what);
    }
    const counts = {
      count: (q) => q.count(),
      getJobCounts: (q) => q.getJobCounts(),
      getCountsPerPriority: (q) => q.getCountsPerPriority([1, 0, 2, 1, 7]),
      'getDelayedCount(now + 60.5 s)': (q) => q.getDelayedCount(Date.now() + 60500),
    };
    for (const [what, read] of Object.entries(counts)) {
      const [a, b] = await Promise.all(qs.map(read));
      assert.deepEqual(b, a, what);
    }
    assert.deepEqual(await qs[1].getCountsPerPriority([1, 0, 2, 1, 7]), { 1: 3, 0: 4, 2: 1, 7: 0 });
    assert.equal(await qs[1].count(), 10);
    assert.equal(await qs[1].getDelayedCount(Date.now() + 60500), 1);
    for (const q of qs) {
      // eslint-disable-next-line no-await-in-loop
      await assert.rejects(q.getDelayedCount(1.5), /^Error: timestamp must be a safe integer in milliseconds$/);
    }
  });

  test('a bounded getJobs page reads past vanished jobs; ranges still list them', { timeout: 20000 }, async (t) => {
    const s = createScope();
    t.after(() => s.close());
    const name = s.queueName('getters-gaps');
    const qs = sides.map((side) => s.add(new side.lib.Queue(name, { connection })));
    for (let i = 0; i < 6; i++) {
      // eslint-disable-next-line no-await-in-loop
      await qs[i % 2].add(`j${i}`, { i });
    }
    const redis = newRedis();
    t.after(() => redis.quit());
    await redis.del(`bull:${name}:2`, `bull:${name}:3`);
    for (const q of qs) {
      /* eslint-disable no-await-in-loop */
      assert.deepEqual((await q.getJobs(['wait'], 0, 2, true)).map((j) => j.id), ['1', '4', '5']);
      assert.deepEqual((await q.getJobs(['wait'], 0, 1)).map((j) => j.id), ['6', '5']);
      assert.deepEqual((await q.getJobs(['wait'])).map((j) => j.id), ['6', '5', '4', '1']);
      assert.deepEqual(await q.getRanges(['wait'], 0, 2, true), ['1', '2', '3']);
      /* eslint-enable no-await-in-loop */
    }
  });
});

describe('trimEvents', () => {
  for (const side of sides) {
    test(`${side.label} trims the stream the other kind reads`, { timeout: 20000 }, async (t) => {
      const s = createScope();
      t.after(() => s.close());
      const name = s.queueName('trim');
      const q = s.add(new side.lib.Queue(name, { connection }));
      const otherSide = sides.find((x) => x !== side);
      const other = s.add(new otherSide.lib.Queue(name, { connection }));
      await q.addBulk(Array.from({ length: 150 }, (_, i) => ({ name: 'j', data: { i } })));
      const redis = newRedis();
      t.after(() => redis.quit());
      assert.equal(await redis.xlen(`bull:${name}:events`), 300);
      const trimmed = await q.trimEvents(0);
      assert.ok(trimmed > 0 && trimmed <= 300, `trimmed ${trimmed}`);
      assert.equal(await redis.xlen(`bull:${name}:events`), 300 - trimmed);
      assert.equal(await other.trimEvents(100000), 0);
    });
  }
});

describe('global concurrency and rate limit', () => {
  for (const role of roles) {
    test(`${role.label}: set, read (getMeta, isMaxed, getRateLimitTtl) and removed`, { timeout: 20000 }, async (t) => {
      const s = createScope();
      t.after(() => s.close());
      const { name, actor, observer } = await setup(s, 'meta', role);
      const redis = newRedis();
      t.after(() => redis.quit());
      const k = (x) => `bull:${name}:${x}`;
      // Each Queue writes its version into meta once ready; let both have done so.
      await Promise.all([actor.getVersion(), observer.getVersion()]);
      const version = await redis.hget(k('meta'), 'version');
      assert.match(version, /^bullmq:\d+\.\d+\.\d+$/, 'both libraries write BullMQ\'s bullmq:<version>');
      for (const q of [actor, observer]) {
        /* eslint-disable no-await-in-loop */
        assert.equal(await q.getVersion(), version);
        assert.equal(await q.getGlobalConcurrency(), null);
        assert.equal(await q.getGlobalRateLimit(), null);
        assert.equal(await q.getRateLimitTtl(), -2, 'no max anywhere: the raw PTTL of a missing key');
        /* eslint-enable no-await-in-loop */
      }
      assert.equal(await actor.setGlobalConcurrency(2), 1);
      assert.equal(await actor.setGlobalRateLimit(4, 5000), 2);
      assert.equal(await observer.getGlobalConcurrency(), 2);
      assert.deepEqual(await observer.getGlobalRateLimit(), { max: 4, duration: 5000 });
      const meta = await observer.getMeta();
      assert.deepEqual(meta, {
        version,
        concurrency: 2,
        maxLenEvents: 10000,
        max: 4,
        duration: 5000,
        paused: false,
      });
      assert.deepEqual(await actor.getMeta(), meta);

      await redis.lpush(k('active'), 'x', 'y');
      assert.deepEqual([await actor.isMaxed(), await observer.isMaxed()], [true, true]);
      await redis.del(k('active'));
      assert.deepEqual([await actor.isMaxed(), await observer.isMaxed()], [false, false]);

      await redis.set(k('limiter'), 4, 'PX', 5000);
      for (const q of [actor, observer]) {
        /* eslint-disable no-await-in-loop */
        const ttl = await q.getRateLimitTtl();
        assert.ok(ttl > 0 && ttl <= 5000, `limited by the global max: ${ttl}`);
        assert.equal(await q.getRateLimitTtl(5), 0, 'below a given max');
        /* eslint-enable no-await-in-loop */
      }
      assert.equal(await actor.removeRateLimitKey(), 1);
      assert.equal(await observer.getRateLimitTtl(), 0, 'a max but no counter');
      assert.equal(await actor.removeGlobalRateLimit(), 2);
      assert.equal(await actor.removeGlobalConcurrency(), 1);
      assert.equal(await observer.getGlobalConcurrency(), null);
      assert.equal(await observer.getGlobalRateLimit(), null);
      assert.deepEqual(await observer.getMeta(), { version, maxLenEvents: 10000, paused: false });
    });

    test(`${role.label}: the observer's workers keep to a global concurrency`, { timeout: 30000 }, async (t) => {
      const s = createScope();
      t.after(() => s.close());
      const { name, actor, observer } = await setup(s, 'global-concurrency', role);
      await actor.setGlobalConcurrency(2);
      let running = 0;
      let most = 0;
      const processor = async () => {
        running += 1;
        most = Math.max(most, running);
        await sleep(100);
        running -= 1;
      };
      for (let i = 0; i < 2; i++) s.add(new role.observer.lib.Worker(name, processor, workerOpts({ concurrency: 5 })));
      await observer.addBulk(Array.from({ length: 12 }, (_, i) => ({ name: 'j', data: { i } })));
      await waitFor(async () => (await observer.getCompletedCount()) === 12, 20000);
      assert.equal(most, 2, 'never more than the global concurrency, and that many at once');
    });

    test(`${role.label}: the observer's workers keep to a global rate limit`, { timeout: 30000 }, async (t) => {
      const s = createScope();
      t.after(() => s.close());
      const { name, actor, observer } = await setup(s, 'global-rate', role);
      const MAX = 3;
      const DURATION = 700;
      await actor.setGlobalRateLimit(MAX, DURATION);
      const starts = [];
      for (let i = 0; i < 2; i++) {
        s.add(new role.observer.lib.Worker(name, async () => starts.push(Date.now()), workerOpts({ concurrency: 10 })));
      }
      await observer.addBulk(Array.from({ length: 3 * MAX }, (_, i) => ({ name: 'j', data: { i } })));
      await waitFor(async () => (await observer.getCompletedCount()) === 3 * MAX, 20000);
      starts.sort((a, b) => a - b);
      for (let i = 0; i + MAX < starts.length; i++) {
        const span = starts[i + MAX] - starts[i];
        assert.ok(span >= DURATION - 50, `jobs ${i}..${i + MAX} started within ${span} ms`);
      }
    });
  }

  test('bad values reject before Redis', { skip: bullrushOnly, timeout: 10000 }, async (t) => {
    const s = createScope();
    t.after(() => s.close());
    const name = s.queueName('meta-bad');
    const q = s.add(new impl.Queue(name, { connection }));
    await q.waitUntilReady();
    const before = await queueKeys(name);
    await assert.rejects(q.setGlobalConcurrency(-1), /concurrency must be an integer >= 0/);
    await assert.rejects(q.setGlobalConcurrency(1.5), /concurrency must be an integer/);
    await assert.rejects(q.setGlobalRateLimit(0, 1000), /max and duration must be integers greater than 0/);
    await assert.rejects(q.setGlobalRateLimit(5, Number.NaN), /duration must be an integer/);
    await assert.rejects(q.trimEvents(-1), /maxLength must be an integer >= 0/);
    assert.deepEqual(await queueKeys(name), before, 'nothing written');
    assert.equal(await q.getGlobalConcurrency(), null);
  });
});

describe('metrics', () => {
  for (const side of sides) {
    test(`a ${side.label} worker records them; both kinds of Queue read and export them alike`, { timeout: 30000 }, async (t) => {
      const s = createScope();
      t.after(() => s.close());
      const name = s.queueName('metrics');
      const qs = sides.map((x) => s.add(new x.lib.Queue(name, { connection })));
      const redis = newRedis();
      t.after(() => redis.quit());
      // Data points are due: the last one was taken ten minutes ago, at count 1.
      await redis.hset(`bull:${name}:metrics:completed`, 'count', 4, 'prevTS', Date.now() - 600000, 'prevCount', 1);
      const w = s.add(
        new side.lib.Worker(
          name,
          async (job) => {
            if (job.data.fail) throw new Error('no');
            return 1;
          },
          workerOpts({ concurrency: 4, metrics: { maxDataPoints: 2 } }),
        ),
      );
      await qs[0].addBulk(Array.from({ length: 6 }, (_, i) => ({ name: 'j', data: { fail: i % 3 === 0 } })));
      await waitFor(async () => (await qs[0].getJobCountByTypes('completed', 'failed')) === 6, 10000);
      await w.close();
      const [a, b] = await Promise.all(qs.map((q) => Promise.all([q.getMetrics('completed'), q.getMetrics('failed', 0, 0)])));
      assert.deepEqual(b, a);
      const [completed, failed] = a;
      assert.equal(completed.meta.count, 8);
      assert.equal(completed.meta.prevCount, 4);
      assert.deepEqual(completed.data, [0, 3], 'a point per minute passed, newest first, two kept');
      assert.equal(failed.meta.count, 2);
      assert.deepEqual([failed.data, failed.count], [[], 0]);
      const texts = await Promise.all(qs.map((q) => q.exportPrometheusMetrics({ worker: side.label })));
      assert.equal(texts[1], texts[0]);
      assert.ok(texts[0].includes(`\nbullmq_job_completed_total{queue="${name}", worker="${side.label}"} 8\n`), texts[0]);
    });
  }

  test('exportPrometheusMetrics is built from getJobCounts and getMetrics, so a stub of them shows', { timeout: 10000 }, async (t) => {
    const s = createScope();
    t.after(() => s.close());
    const name = s.queueName('metrics-stub');
    const texts = sides.map((side) => {
      const q = s.add(new side.lib.Queue(name, { connection }));
      q.getJobCounts = async () => ({ waiting: 5, custom: 2 });
      q.getMetrics = async (kind) => ({ meta: { count: kind === 'completed' ? 42 : 7 }, data: [], count: 0 });
      return q.exportPrometheusMetrics({ env: 'test' });
    });
    const [bullmqText, implText] = await Promise.all(texts);
    assert.equal(implText, bullmqText);
    assert.ok(implText.includes(`bullmq_job_count{queue="${name}", state="custom", env="test"} 2`), implText);
    assert.ok(implText.includes(`bullmq_job_failed_total{queue="${name}", env="test"} 7`), implText);
    assert.ok(!implText.includes('state="active"'), implText);
  });

  test('bad metrics options and types are rejected', { skip: bullrushOnly, timeout: 10000 }, async (t) => {
    const s = createScope();
    t.after(() => s.close());
    const name = s.queueName('metrics-bad');
    assert.throws(
      () => new impl.Worker(name, async () => {}, workerOpts({ metrics: { maxDataPoints: -1 } })),
      /metrics.maxDataPoints must be an integer greater than 0/,
    );
    const q = s.add(new impl.Queue(name, { connection }));
    await assert.rejects(q.getMetrics('bogus'), /Unknown metrics type bogus/);
  });
});

describe('getWorkers', () => {
  test('both kinds of Queue list both kinds of worker, named or not, busy or idle', { timeout: 30000 }, async (t) => {
    const s = createScope();
    t.after(() => s.close());
    const name = s.queueName('workers');
    const other = s.queueName('workers-other');
    const qs = sides.map((side) => s.add(new side.lib.Queue(name, { connection })));
    let release;
    const held = new Promise((r) => {
      release = r;
    });
    const workers = [];
    // Jobs for every worker before any starts: each is busy at once, never blocked waiting
    // for a job (a worker names its blocking connection before it fetches).
    await qs[0].addBulk(Array.from({ length: 4 }, (_, i) => ({ name: 'hold', data: { i } })));
    // Worker names become part of a client name, which may not contain spaces.
    const workerName = (side) => (side === sides[0] ? 'bullmq-named' : 'impl-named');
    for (const side of sides) {
      for (const extra of [{}, { name: workerName(side) }]) {
        workers.push({ side, worker: s.add(new side.lib.Worker(name, () => held, workerOpts(extra))) });
      }
      s.add(new side.lib.Worker(other, async () => {}, workerOpts()));
      s.add(new side.lib.QueueEvents(name, { connection }));
    }
    await waitFor(async () => (await qs[0].getActiveCount()) === workers.length, 10000);
    await waitFor(async () => (await qs[1].getWorkersCount()) === 4, 5000);

    const lists = await Promise.all(qs.map((q) => q.getWorkers()));
    const raw = (list) => list.map((c) => c.rawname).sort();
    assert.deepEqual(raw(lists[1]), raw(lists[0]));
    const base = `bull:${Buffer.from(name).toString('base64')}`;
    assert.deepEqual(raw(lists[0]), [base, base, `${base}:w:bullmq-named`, `${base}:w:impl-named`].sort());
    for (const client of lists.flat()) {
      assert.equal(client.name, name);
      for (const field of ['id', 'addr', 'age', 'db', 'cmd']) assert.equal(typeof client[field], 'string', field);
    }
    assert.deepEqual(await Promise.all(qs.map((q) => q.getWorkersCount())), [4, 4]);

    release();
    await Promise.all(workers.filter((w) => w.side === sides[1]).map((w) => w.worker.close()));
    await waitFor(async () => (await qs[0].getWorkersCount()) === 2, 5000);
    assert.equal(await qs[1].getWorkersCount(), 2);
  });
  test('a worker that never ran is listed once ready, and ready is emitted without run()', { timeout: 30000 }, async (t) => {
    const s = createScope();
    t.after(() => s.close());
    const name = s.queueName('workers-idle');
    const qs = sides.map((side) => s.add(new side.lib.Queue(name, { connection })));
    for (const side of sides) {
      const worker = s.add(new side.lib.Worker(name, async () => {}, workerOpts({ autorun: false, name: `${side.label === 'bullmq' ? 'b' : 'i'}-idle` })));
      // eslint-disable-next-line no-await-in-loop
      await new Promise((resolve) => worker.once('ready', resolve));
      assert.equal(worker.isRunning(), false);
    }
    const lists = await Promise.all(qs.map((q) => q.getWorkers()));
    const base = `bull:${Buffer.from(name).toString('base64')}`;
    for (const list of lists) {
      assert.deepEqual(list.map((c) => c.rawname).sort(), [`${base}:w:b-idle`, `${base}:w:i-idle`]);
    }
  });
});
