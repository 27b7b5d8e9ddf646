'use strict';

// Deduplication and the Job methods that change a stored job, across the two
// implementations: one side adds and processes, the other changes the job or adds
// duplicates; both directions. Also the errors of those methods and bad input.

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');

const { impl, directions, workerOpts, connection } = require('./helpers/sides');
const { bullrushOnly, implLabel } = require('./helpers/env');
const { waitFor, queueEventsReady } = require('./helpers/redis');
const { createScope, nextEvent } = require('./helpers/util');
const { dumpQueue } = require('./helpers/snapshot');

// Everything one test of direction `dir` uses: the producer's Queue (A, which also runs
// the worker) and the other side's Queue (B).
function setup(t, dir, tag) {
  const s = createScope();
  t.after(() => s.close());
  const name = s.queueName(tag);
  const A = dir.producer.lib;
  const B = dir.consumer.lib;
  return {
    s,
    name,
    A,
    B,
    qa: s.add(new A.Queue(name, { connection })),
    qb: s.add(new B.Queue(name, { connection })),
    // A worker of side `lib` recording what it processed, in order.
    work(lib, seen, { gate } = {}) {
      return s.add(
        new lib.Worker(
          name,
          async (job) => {
            seen.push({ name: job.name, data: job.data, priority: job.priority, delay: job.delay });
            if (gate && job.name === gate.name) await gate.promise;
            return job.name;
          },
          workerOpts(),
        ),
      );
    },
  };
}

function gate(name) {
  let open;
  const promise = new Promise((r) => {
    open = r;
  });
  return { name, promise, open };
}

for (const dir of directions) {
  describe(`Job methods across implementations: ${dir.label}`, () => {
    test("the other side's Job methods change a job this side processes", { timeout: 20000 }, async (t) => {
      const { qa, qb, A, work } = setup(t, dir, 'jobops');
      await qa.add('first', { v: 1 });
      const changed = await qa.add('changed', { v: 'old' });
      const prio = await qa.add('prio', {}, { priority: 5 });
      const delayed = await qa.add('delayed', { v: 'd' }, { delay: 60000, priority: 1 });
      const later = await qa.add('later', {}, { delay: 60000 });

      const viaB = async (id) => qb.getJob(id);
      await (await viaB(changed.id)).updateData({ v: 'new' });
      await (await viaB(changed.id)).changePriority({ priority: 3 });
      await (await viaB(prio.id)).changePriority({ priority: 3, lifo: true });
      await (await viaB(delayed.id)).promote();
      await (await viaB(later.id)).changeDelay(100);
      assert.equal(await qa.getJobState(delayed.id), 'prioritized');
      assert.equal((await qa.getJob(delayed.id)).delay, 0);
      assert.equal((await qa.getJob(later.id)).delay, 100);

      const seen = [];
      work(A, seen);
      await waitFor(() => seen.length === 5, 10000, { message: () => JSON.stringify(seen) });
      assert.deepEqual(
        seen.map((j) => j.name),
        ['first', 'delayed', 'prio', 'changed', 'later'],
        'priority 0 first, then priority 1, then priority 3 (lifo first), then the due delayed job',
      );
      assert.deepEqual(seen[3].data, { v: 'new' });
      assert.equal(seen[3].priority, 3);
    });

    test('changeDelay on a job the other side added emits delayed to both kinds of listeners', { timeout: 20000 }, async (t) => {
      const { s, name, qa, qb, A, B } = setup(t, dir, 'jobops-ev');
      const job = await qa.add('d', {}, { delay: 60000 });
      const listeners = [A, B].map((lib) => s.add(new lib.QueueEvents(name, { connection })));
      await Promise.all(listeners.map((qe) => queueEventsReady(qe, name)));
      const got = listeners.map((qe) => nextEvent(qe, 'delayed', { filter: (e) => e.jobId === job.id }));
      const before = Date.now();
      await (await qb.getJob(job.id)).changeDelay(5000);
      for (const [[event]] of await Promise.all(got.map((p) => p.then((args) => [args])))) {
        assert.equal(typeof event.delay, 'number');
        assert.ok(event.delay >= before + 5000 && event.delay <= Date.now() + 5000, `due ${event.delay}`);
      }
    });
  });

  describe(`delay and priority with both producers: ${dir.label}`, () => {
    test('FIFO within a priority across producers; delayed jobs run once due', { timeout: 20000 }, async (t) => {
      const { qa, qb, B, work } = setup(t, dir, 'order');
      const adds = [
        [qa, 'p2-a', { priority: 2 }],
        [qb, 'p2-b', { priority: 2 }],
        [qa, 'p1-a', { priority: 1 }],
        [qb, 'p2-c', { priority: 2 }],
        [qb, 'plain-b', {}],
        [qa, 'plain-a', {}],
        [qb, 'lifo-b', { lifo: true }],
        [qa, 'd300-p1', { delay: 300, priority: 1 }],
        [qb, 'd200-p3', { delay: 200, priority: 3 }],
      ];
      const added = {};
      for (const [q, n, o] of adds) {
        // eslint-disable-next-line no-await-in-loop
        added[n] = await q.add(n, {}, o);
      }
      const seen = [];
      work(B, seen);
      await waitFor(() => seen.length === adds.length, 10000, { message: () => JSON.stringify(seen) });
      assert.deepEqual(
        seen.slice(0, 7).map((j) => j.name),
        ['lifo-b', 'plain-b', 'plain-a', 'p1-a', 'p2-a', 'p2-b', 'p2-c'],
      );
      // Which delayed job runs first depends on whether both were due at one fetch.
      assert.deepEqual(seen.slice(7).map((j) => j.name).sort(), ['d200-p3', 'd300-p1'], 'each delayed job runs once');
      for (const n of ['d300-p1', 'd200-p3']) {
        // eslint-disable-next-line no-await-in-loop
        const job = await qa.getJob(added[n].id);
        assert.ok(job.processedOn - job.timestamp >= job.opts.delay, `${n} ran ${job.processedOn - job.timestamp} ms after its add`);
        assert.equal(job.delay, 0);
      }
    });
  });

  describe(`deduplication across implementations: ${dir.label}`, () => {
    test('adds of both kinds share deduplication ids', { timeout: 20000 }, async (t) => {
      const { s, name, qa, qb, A, B } = setup(t, dir, 'dedup');
      const qe = s.add(new A.QueueEvents(name, { connection }));
      await queueEventsReady(qe, name);
      const deduplicated = nextEvent(qe, 'deduplicated');
      const owner = await qa.add('owner', { v: 1 }, { deduplication: { id: 'x', ttl: 60000 } });
      const dropped = await qb.add('dropped', { v: 2 }, { deduplication: { id: 'x', ttl: 60000 } });
      assert.equal(dropped.id, owner.id, 'the add returns the owner id');
      assert.equal(dropped.deduplicationId, 'x');
      const [event] = await deduplicated;
      assert.deepEqual(event, { jobId: owner.id, deduplicationId: 'x', deduplicatedJobId: String(Number(owner.id) + 1) });
      assert.equal(await qb.getDeduplicationJobId('x'), owner.id);
      assert.equal((await qb.getJob(owner.id)).deduplicationId, 'x');

      const other = await qb.add('other', {}, { deduplication: { id: 'y' } });
      assert.equal((await qa.add('other-dup', {}, { deduplication: { id: 'y' } })).id, other.id);
      assert.equal(await (await qa.getJob(other.id)).removeDeduplicationKey(), true);
      assert.notEqual((await qa.add('after-release', {}, { deduplication: { id: 'y' } })).id, other.id);
      assert.equal(await qb.removeDeduplicationKey('x'), 1);
      assert.equal(await qa.getDeduplicationJobId('x'), null);
      void B;
    });

    test("a delayed owner added by one side is replaced by the other side's add", { timeout: 20000 }, async (t) => {
      const { qa, qb } = setup(t, dir, 'dedup-rep');
      const opts = { deduplication: { id: 'r', replace: true, ttl: 60000 }, delay: 60000 };
      const first = await qa.add('first', { v: 1 }, opts);
      const second = await qb.add('second', { v: 2 }, opts);
      assert.notEqual(second.id, first.id);
      assert.equal(await qa.getJob(first.id), undefined);
      assert.equal(await qa.getDeduplicationJobId('r'), second.id);
      assert.equal(await qa.getJobState(second.id), 'delayed');
    });

    test("the id is freed when the other side's worker finishes the owner", { timeout: 20000 }, async (t) => {
      const { qa, qb, B, work } = setup(t, dir, 'dedup-done');
      const owner = await qa.add('owner', {}, { deduplication: { id: 'f' } });
      const seen = [];
      const worker = work(B, seen);
      await waitFor(async () => (await qa.getJobState(owner.id)) === 'completed', 10000);
      await worker.close();
      assert.equal(await qa.getDeduplicationJobId('f'), null);
      assert.notEqual((await qb.add('next', {}, { deduplication: { id: 'f' } })).id, owner.id);
    });

    test("keepLastIfActive: the other side's worker enqueues the kept add when the owner finishes", { timeout: 20000 }, async (t) => {
      const { qa, qb, B, work } = setup(t, dir, 'dedup-keep');
      const keep = { deduplication: { id: 'k', keepLastIfActive: true } };
      const owner = await qa.add('owner', { v: 1 }, keep);
      const seen = [];
      const g = gate('owner');
      work(B, seen, { gate: g });
      await waitFor(async () => (await qa.getJobState(owner.id)) === 'active', 10000);
      assert.equal((await qa.add('kept-1', { v: 2 }, keep)).id, owner.id);
      assert.equal((await qb.add('kept-2', { v: 3 }, { ...keep, delay: 100 })).id, owner.id);
      g.open();
      await waitFor(() => seen.length === 2, 10000, { message: () => JSON.stringify(seen) });
      assert.deepEqual(seen.map((j) => [j.name, j.data]), [['owner', { v: 1 }], ['kept-2', { v: 3 }]]);
    });
  });
}

describe(`Job method errors and bad input (${implLabel})`, () => {
  test('BullMQ errors for jobs in the wrong state or missing', async (t) => {
    const s = createScope();
    t.after(() => s.close());
    const q = s.add(new impl.Queue(s.queueName('jobops-err'), { connection }));
    const w = await q.add('w', {});
    const ghost = await q.add('ghost', {});
    await q.remove(ghost.id);
    await assert.rejects(w.changeDelay(10), { message: `Job ${w.id} is not in the delayed state. changeDelay`, code: -3 });
    await assert.rejects(w.promote(), { message: `Job ${w.id} is not in the delayed state. promote`, code: -3 });
    await assert.rejects(ghost.changeDelay(10), { message: `Missing key for job ${ghost.id}. changeDelay`, code: -1 });
    await assert.rejects(ghost.updateData({}), { message: `Missing key for job ${ghost.id}. updateData`, code: -1 });
    await assert.rejects(ghost.changePriority({ priority: 1 }), {
      message: `Missing key for job ${ghost.id}. changePriority`,
      code: -1,
    });
    await assert.rejects(ghost.promote(), { message: `Job ${ghost.id} is not in the delayed state. promote`, code: -3 });
    assert.equal(await ghost.removeDeduplicationKey(), false);
  });

  test('Job.fromJSON and Job.addJobLog', async (t) => {
    const s = createScope();
    t.after(() => s.close());
    const q = s.add(new impl.Queue(s.queueName('jobops-json'), { connection }));
    const added = await q.add('j', { a: 1 }, { attempts: 2, deduplication: { id: 'd' } });
    assert.equal(await impl.Job.addJobLog(q, added.id, 'line'), 1);
    const json = {
      id: added.id,
      name: 'j',
      data: '{"a":1}',
      opts: { attempts: 2 },
      progress: 5,
      delay: 0,
      priority: 0,
      timestamp: 1000,
      attemptsMade: 1,
      stacktrace: '["s"]',
      returnvalue: '{"r":1}',
      deduplicationId: 'd',
    };
    const job = impl.Job.fromJSON(q, json);
    assert.deepEqual(
      [job.id, job.data, job.progress, job.timestamp, job.attemptsMade, job.attemptsStarted, job.stacktrace, job.returnvalue],
      [added.id, { a: 1 }, 5, 1000, 1, 0, ['s'], { r: 1 }],
    );
    assert.equal(job.deduplicationId, 'd');
    assert.equal(impl.Job.fromJSON(q, { ...json, id: undefined }, 'other').id, 'other');
    await job.updateData({ a: 2 });
    assert.deepEqual((await q.getJob(added.id)).data, { a: 2 });
  });

  test('bad arguments are refused before Redis (bullrush-only)', { skip: bullrushOnly }, async (t) => {
    const s = createScope();
    t.after(() => s.close());
    const name = s.queueName('jobops-bad');
    const q = s.add(new impl.Queue(name, { connection }));
    const d = await q.add('d', {}, { delay: 60000 });
    const before = await dumpQueue(name);
    await assert.rejects(d.changeDelay(-1), { message: 'Delay cannot be negative' });
    await assert.rejects(d.changePriority({ priority: 1.5 }), { message: 'Priority should not be float' });
    await assert.rejects(d.changePriority({ priority: 3000000 }), { message: 'Priority should be between 0 and 2097151' });
    await assert.rejects(d.clearLogs(-1), { message: 'keepLogs cannot be negative' });
    await assert.rejects(q.add('x', {}, { deduplication: { id: 'a', ttl: 1.5 } }), { message: 'Deduplication ttl must be an integer (ms)' });
    await assert.rejects(q.add('x', {}, { deduplication: { id: true } }), { message: 'Deduplication id must be a string' });
    assert.deepEqual(await dumpQueue(name), before, "the queue's keys are unchanged");
  });
});

// The retry delays of `backoff.jitter`: each lies in [delay × (1 − jitter), delay] for
// the attempt's full delay, and they are not all the full delay.
describe('backoff jitter', () => {
  for (const side of [
    { label: 'bullmq', lib: require('bullmq') },
    { label: implLabel, lib: impl },
  ]) {
    test(`${side.label} worker: fixed and exponential delays with jitter`, { timeout: 20000 }, async (t) => {
      const s = createScope();
      t.after(() => s.close());
      const name = s.queueName('jitter');
      const q = s.add(new side.lib.Queue(name, { connection }));
      const fixed = await q.add('fixed', {}, { attempts: 5, backoff: { type: 'fixed', delay: 100, jitter: 0.5 } });
      const exp = await q.add('exp', {}, { attempts: 5, backoff: { type: 'exponential', delay: 20, jitter: 0.5 } });
      s.add(
        new side.lib.Worker(
          name,
          async () => {
            throw new Error('again');
          },
          workerOpts(),
        ),
      );
      await waitFor(async () => (await q.getFailedCount()) === 2, 15000);
      const redis = require('./helpers/redis').newRedis();
      t.after(() => redis.quit());
      const entries = await redis.xrange(`bull:${name}:events`, '-', '+');
      const delays = { [fixed.id]: [], [exp.id]: [] };
      for (const [id, fields] of entries) {
        const e = {};
        for (let i = 0; i < fields.length; i += 2) e[fields[i]] = fields[i + 1];
        if (e.event === 'delayed' && delays[e.jobId]) delays[e.jobId].push(Number(e.delay) - Number(id.split('-')[0]));
      }
      const full = { [fixed.id]: [100, 100, 100, 100], [exp.id]: [20, 40, 80, 160] };
      for (const jobId of [fixed.id, exp.id]) {
        assert.equal(delays[jobId].length, 4, `four backoff delays for job ${jobId}`);
        delays[jobId].forEach((d, i) => {
          const max = full[jobId][i];
          assert.ok(d >= max / 2 - 20 && d <= max + 5, `delay ${i + 1} of job ${jobId}: ${d} not in [${max / 2}, ${max}]`);
        });
        // Without jitter every delay would be the full one (less a few ms of clock skew
        // between the worker and Redis); with it, 4 delays all above 90 % is a 0.2 % chance.
        assert.ok(delays[jobId].some((d, i) => d <= 0.9 * full[jobId][i]), `some delay of job ${jobId} is jittered: ${delays[jobId]}`);
      }
    });
  }
});
