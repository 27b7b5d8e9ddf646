'use strict';

// Queue and Job operations of the implementation under test, each checked
// from the BullMQ side (and vice versa where both directions matter): job
// logs, duplicate custom ids, addBulk, counts getters, drain, obliterate,
// removeOnComplete / removeOnFail.

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');

const { bullmq, impl, sides, directions, workerOpts, connection } = require('./helpers/sides');
const { waitFor, queueEventsReady, queueKeys } = require('./helpers/redis');
const { createScope, recordEvents, sleep } = require('./helpers/util');

const IMPL = sides[1].label;

describe('job logs', () => {
  for (const w of sides) {
    test(`job.log in a ${w.label} worker, read by both kinds of Queue`, { timeout: 20000 }, async (t) => {
      const s = createScope();
      t.after(() => s.close());
      const name = s.queueName('logs');
      const qs = sides.map((side) => s.add(new side.lib.Queue(name, { connection })));
      s.add(
        new w.lib.Worker(
          name,
          async (job) => {
            const counts = [];
            for (const line of job.data.lines) {
              // eslint-disable-next-line no-await-in-loop
              counts.push(await job.log(line));
            }
            return counts;
          },
          workerOpts(),
        ),
      );
      const a = await qs[0].add('a', { lines: ['first line', 'second: üñí "q"'] });
      const b = await qs[1].add('b', { lines: ['1', '2', '3'] }, { keepLogs: 2 });
      await waitFor(async () => (await qs[0].getCompletedCount()) === 2, 5000);

      assert.deepEqual((await qs[0].getJob(a.id)).returnvalue, [1, 2], 'job.log resolves with the number of rows');
      assert.deepEqual((await qs[0].getJob(b.id)).returnvalue, [1, 2, 2], 'keepLogs caps the count');
      for (const q of qs) {
        // eslint-disable-next-line no-await-in-loop
        assert.deepEqual(await q.getJobLogs(a.id), { logs: ['first line', 'second: üñí "q"'], count: 2 });
        // eslint-disable-next-line no-await-in-loop
        assert.deepEqual(await q.getJobLogs(a.id, 0, -1, false), { logs: ['second: üñí "q"', 'first line'], count: 2 });
        // eslint-disable-next-line no-await-in-loop
        assert.deepEqual(await q.getJobLogs(a.id, 0, 0), { logs: ['first line'], count: 2 });
        // eslint-disable-next-line no-await-in-loop
        assert.deepEqual(await q.getJobLogs(b.id), { logs: ['2', '3'], count: 2 }, 'keepLogs keeps the newest rows');
      }
    });
  }
});

describe('duplicate custom job ids', () => {
  for (const dir of directions) {
    test(`first added by ${dir.producer.label}, re-added by ${dir.consumer.label}`, { timeout: 20000 }, async (t) => {
      const s = createScope();
      t.after(() => s.close());
      const name = s.queueName('dup');
      const first = s.add(new dir.producer.lib.Queue(name, { connection }));
      const second = s.add(new dir.consumer.lib.Queue(name, { connection }));
      const qe = s.add(new bullmq.QueueEvents(name, { connection }));
      await queueEventsReady(qe, name);
      const rec = recordEvents(qe, ['added', 'duplicated']);

      const orig = await first.add('orig', { v: 1 }, { jobId: 'order-42' });
      assert.equal(orig.id, 'order-42');
      for (const [q, v] of [
        [second, 2],
        [first, 3],
        [second, 4],
      ]) {
        // eslint-disable-next-line no-await-in-loop
        const again = await q.add('again', { v }, { jobId: 'order-42' });
        assert.equal(again.id, 'order-42', 'the existing id is returned');
      }
      for (const q of [first, second]) {
        // eslint-disable-next-line no-await-in-loop
        const j = await q.getJob('order-42');
        assert.equal(j.name, 'orig');
        assert.deepEqual(j.data, { v: 1 }, 'the stored job is untouched');
        // eslint-disable-next-line no-await-in-loop
        assert.equal(await q.getWaitingCount(), 1);
      }
      await waitFor(() => rec.duplicated.length === 3, 5000);
      assert.deepEqual(
        rec.duplicated.map(([a]) => a),
        [{ jobId: 'order-42' }, { jobId: 'order-42' }, { jobId: 'order-42' }],
      );
      assert.deepEqual(
        rec.added.map(([a]) => a),
        [{ jobId: 'order-42', name: 'orig' }],
      );

      // Still a duplicate once the job has completed.
      s.add(new dir.consumer.lib.Worker(name, async () => 'done', workerOpts()));
      await waitFor(async () => (await first.getJobState('order-42')) === 'completed', 5000);
      const late = await second.add('late', { v: 5 }, { jobId: 'order-42' });
      assert.equal(late.id, 'order-42');
      assert.deepEqual(await first.getJobCounts('waiting', 'completed'), { waiting: 0, completed: 1 });
      assert.deepEqual((await first.getJob('order-42')).data, { v: 1 });
    });
  }
});

describe(`addBulk (${IMPL})`, () => {
  test('adds jobs with their options, in order, visible to BullMQ', { timeout: 20000 }, async (t) => {
    const s = createScope();
    t.after(() => s.close());
    const name = s.queueName('bulk');
    const q = s.add(new impl.Queue(name, { connection }));
    const bq = s.add(new bullmq.Queue(name, { connection }));
    const qe = s.add(new bullmq.QueueEvents(name, { connection }));
    await queueEventsReady(qe, name);
    const rec = recordEvents(qe, ['added']);

    assert.deepEqual(await q.addBulk([]), []);
    const spec = [
      { name: 'plain', data: { n: 1 } },
      { name: 'custom', data: { n: 2 }, opts: { jobId: 'bulk-custom' } },
      { name: 'prio', data: { n: 3 }, opts: { priority: 7 } },
      { name: 'later', data: { n: 4 }, opts: { delay: 60000 } },
      { name: 'front', data: { n: 5 }, opts: { lifo: true, attempts: 4, backoff: { type: 'exponential', delay: 10 } } },
    ];
    const jobs = await q.addBulk(spec);
    assert.equal(jobs.length, spec.length);
    jobs.forEach((job, k) => {
      assert.equal(job.name, spec[k].name);
      assert.deepEqual(job.data, spec[k].data);
      assert.equal(typeof job.id, 'string');
    });
    assert.equal(jobs[1].id, 'bulk-custom');
    assert.equal(new Set(jobs.map((j) => j.id)).size, spec.length);

    for (const [k, job] of jobs.entries()) {
      // eslint-disable-next-line no-await-in-loop
      const b = await bq.getJob(job.id);
      assert.equal(b.name, spec[k].name);
      assert.deepEqual(b.data, spec[k].data);
    }
    assert.equal((await bq.getJob(jobs[2].id)).priority, 7);
    assert.equal(await bq.getJobState(jobs[2].id), 'prioritized');
    assert.equal(await bq.getJobState(jobs[3].id), 'delayed');
    assert.equal((await bq.getJob(jobs[3].id)).delay, 60000);
    const front = await bq.getJob(jobs[4].id);
    assert.equal(front.opts.attempts, 4);
    assert.equal(front.opts.lifo, true);
    assert.deepEqual(front.opts.backoff, { type: 'exponential', delay: 10 });
    assert.deepEqual(await bq.getJobCounts('waiting', 'prioritized', 'delayed'), { waiting: 3, prioritized: 1, delayed: 1 });
    // `wait` is consumed from the tail: the lifo job is first in line.
    assert.deepEqual(
      (await bq.getWaiting()).map((j) => j.name),
      ['front', 'plain', 'custom'],
    );

    await waitFor(() => rec.added.length === spec.length, 5000);
    assert.deepEqual(
      rec.added.map(([a]) => a),
      jobs.map((j) => ({ jobId: j.id, name: j.name })),
    );
  });
});

describe(`counts getters (${IMPL})`, () => {
  test('getJobCounts and the per-state getters match BullMQ on the same queue', { timeout: 20000 }, async (t) => {
    const s = createScope();
    t.after(() => s.close());
    const name = s.queueName('counts');
    const bq = s.add(new bullmq.Queue(name, { connection }));
    const q = s.add(new impl.Queue(name, { connection }));

    const zero = {
      active: 0,
      completed: 0,
      delayed: 0,
      failed: 0,
      prioritized: 0,
      waiting: 0,
      'waiting-children': 0,
    };
    assert.deepEqual(await q.getJobCounts(), zero, 'empty queue');

    // Build a known state with BullMQ: 2 completed, 1 failed, 1 active,
    // 3 waiting, 2 delayed, 1 prioritized.
    let release;
    const hold = new Promise((r) => {
      release = r;
    });
    t.after(() => release());
    await bq.add('done', {});
    await bq.add('done', {});
    await bq.add('bad', {});
    await bq.add('hold', {});
    s.add(
      new bullmq.Worker(
        name,
        async (job) => {
          if (job.name === 'bad') throw new Error('bad');
          if (job.name === 'hold') await hold;
        },
        workerOpts({ concurrency: 1 }),
      ),
    );
    await waitFor(async () => (await bq.getActiveCount()) === 1 && (await bq.getCompletedCount()) === 2, 5000);
    await bq.add('w', {});
    await q.add('w', {});
    await q.add('w', {});
    await bq.add('d', {}, { delay: 60000 });
    await q.add('d', {}, { delay: 60000 });
    await q.add('p', {}, { priority: 3 });

    const expected = { active: 1, completed: 2, delayed: 2, failed: 1, prioritized: 1, waiting: 3, 'waiting-children': 0 };
    assert.deepEqual(await bq.getJobCounts(), expected, 'BullMQ view');
    assert.deepEqual(await q.getJobCounts(), expected, `${IMPL} view`);
    assert.deepEqual(await q.getJobCounts('waiting', 'active'), { waiting: 3, active: 1 });
    assert.deepEqual(await q.getJobCounts('failed'), { failed: 1 });
    assert.equal(await q.getWaitingCount(), 3);
    assert.equal(await q.getActiveCount(), 1);
    assert.equal(await q.getCompletedCount(), 2);
    assert.equal(await q.getFailedCount(), 1);
    assert.equal(await q.getDelayedCount(), 2);
    assert.equal(await q.getPrioritizedCount(), 1);
    assert.equal(await q.getJobCountByTypes('completed', 'failed'), 3);
    assert.equal(await q.count(), await bq.count(), 'count()');
    release();
  });
});

describe(`drain (${IMPL})`, () => {
  test('removes waiting and prioritized jobs; delayed only with drain(true)', { timeout: 20000 }, async (t) => {
    const s = createScope();
    t.after(() => s.close());
    const name = s.queueName('drain');
    const q = s.add(new impl.Queue(name, { connection }));
    const bq = s.add(new bullmq.Queue(name, { connection }));

    const bw = s.add(new bullmq.Worker(name, async () => 'kept', workerOpts()));
    const done = await bq.add('done', {});
    await waitFor(async () => (await bq.getJobState(done.id)) === 'completed', 5000);
    await bw.close(); // nothing may fetch from here on

    const waiting = [await q.add('w', {}), await bq.add('w', {}), await q.add('w', { lifo: 1 }, { lifo: true })];
    const prio = await q.add('p', {}, { priority: 2 });
    const delayed = [await q.add('d', {}, { delay: 60000 }), await bq.add('d', {}, { delay: 60000 })];

    const view = bq;
    assert.deepEqual(await view.getJobCounts('waiting', 'prioritized', 'delayed', 'completed'), {
      waiting: waiting.length,
      prioritized: 1,
      delayed: 2,
      completed: 1,
    });

    await q.drain();
    assert.deepEqual(await view.getJobCounts('waiting', 'prioritized', 'delayed', 'completed'), {
      waiting: 0,
      prioritized: 0,
      delayed: 2,
      completed: 1,
    });
    for (const j of [...waiting, prio]) {
      // eslint-disable-next-line no-await-in-loop
      assert.equal(await view.getJob(j.id), undefined, `job ${j.id} removed with its hash`);
    }
    assert.ok(await view.getJob(delayed[0].id), 'delayed jobs kept');
    assert.ok(await view.getJob(done.id), 'completed jobs kept');

    await q.drain(true);
    assert.deepEqual(await view.getJobCounts('waiting', 'prioritized', 'delayed', 'completed'), {
      waiting: 0,
      prioritized: 0,
      delayed: 0,
      completed: 1,
    });
    assert.equal(await view.getJob(delayed[1].id), undefined);
  });
});

describe('obliterate', () => {
  for (const dir of directions) {
    const obliterator = dir.consumer;
    const holder = dir.producer;
    test(`${obliterator.label} obliterate with a job active in a ${holder.label} worker`, { timeout: 20000 }, async (t) => {
      const s = createScope();
      t.after(() => s.close());
      const name = s.queueName('obliterate');
      const q = s.add(new obliterator.lib.Queue(name, { connection }));
      const hq = s.add(new holder.lib.Queue(name, { connection }));

      let release;
      const hold = new Promise((r) => {
        release = r;
      });
      t.after(() => release());
      const finished = [];
      const worker = s.add(
        new holder.lib.Worker(
          name,
          async (job) => {
            if (job.name === 'hold') await hold;
            finished.push(job.id);
            return 'x';
          },
          workerOpts({ concurrency: 1 }),
        ),
        // Finishing a job whose keys were obliterated is an error for the worker.
        { allowErrors: true },
      );
      await hq.add('done', {});
      await q.add('done', {}, { removeOnComplete: false });
      await waitFor(() => finished.length === 2, 5000);
      const held = await hq.add('hold', {});
      await waitFor(async () => (await q.getJobState(held.id)) === 'active', 5000);
      await q.add('waiting', { a: 1 });
      await hq.add('delayed', {}, { delay: 60000 });
      await q.add('prio', {}, { priority: 9 });
      await q.addBulk([{ name: 'x', data: {} }, { name: 'y', data: {} }]);

      await assert.rejects(q.obliterate(), { message: 'Cannot obliterate queue with active jobs' });
      assert.equal(await hq.isPaused(), true, 'obliterate pauses the queue first');
      assert.ok((await queueKeys(name)).length > 0, 'nothing removed');

      await q.obliterate({ force: true });
      assert.deepEqual(await queueKeys(name), [], 'every key of the queue is gone');

      // The held job finishes now: its keys must not come back.
      release();
      await sleep(300);
      await worker.close();
      assert.deepEqual(await queueKeys(name), [], 'still no keys after the worker gave up the obliterated job');
    });
  }

  test(`${IMPL} obliterate on an idle queue removes everything; the name is reusable`, { timeout: 20000 }, async (t) => {
    const s = createScope();
    t.after(() => s.close());
    const name = s.queueName('obliterate-idle');
    const q = s.add(new impl.Queue(name, { connection }));
    const bq = s.add(new bullmq.Queue(name, { connection }));
    const bw = s.add(
      new bullmq.Worker(
        name,
        async (job) => {
          if (job.name === 'f') throw new Error('f');
          await job.log('row');
          return 1;
        },
        workerOpts(),
      ),
    );
    await bq.add('ok', {});
    await bq.add('f', {});
    await waitFor(async () => (await bq.getJobCountByTypes('completed', 'failed')) === 2, 5000);
    await bw.close();
    await q.add('w', {}, { delay: 60000 });
    await q.add('w', {}, { priority: 1 });
    await q.add('w', {});
    await q.pause();
    await q.obliterate();
    assert.deepEqual(await queueKeys(name), []);
    // The id counter went with it.
    const again = await bq.add('again', {});
    assert.equal(again.id, '1');
    assert.equal(await q.isPaused(), false, 'the paused flag went with the meta hash');
  });
});

describe('removeOnComplete / removeOnFail', () => {
  for (const dir of directions) {
    const P = dir.producer.lib;
    const C = dir.consumer.lib;
    const cases = [
      {
        title: 'removeOnComplete: true',
        jobs: [{ name: 'ok', opts: { removeOnComplete: true } }],
        kept: { completed: [], failed: [] },
      },
      {
        title: 'removeOnComplete: 2 keeps the newest 2',
        jobs: [1, 2, 3, 4, 5].map((n) => ({ name: `ok${n}`, opts: { removeOnComplete: 2 } })),
        kept: { completed: ['ok4', 'ok5'], failed: [] },
      },
      {
        title: 'removeOnComplete: {count: 1}',
        jobs: [1, 2, 3].map((n) => ({ name: `ok${n}`, opts: { removeOnComplete: { count: 1 } } })),
        kept: { completed: ['ok3'], failed: [] },
      },
      {
        title: 'removeOnFail: true',
        jobs: [{ name: 'fail', opts: { removeOnFail: true, attempts: 2 } }],
        kept: { completed: [], failed: [] },
      },
      {
        title: 'removeOnFail: 1 keeps the newest failed job',
        jobs: [1, 2, 3].map((n) => ({ name: `fail${n}`, opts: { removeOnFail: 1 } })),
        kept: { completed: [], failed: ['fail3'] },
      },
      {
        title: 'removeOnComplete: false and the default keep everything',
        jobs: [
          { name: 'ok1', opts: { removeOnComplete: false } },
          { name: 'ok2', opts: {} },
        ],
        kept: { completed: ['ok1', 'ok2'], failed: [] },
      },
      {
        title: 'worker option removeOnComplete {count: 1} applies to jobs without the option',
        workerOpts: { removeOnComplete: { count: 1 } },
        jobs: [1, 2, 3].map((n) => ({ name: `ok${n}`, opts: {} })),
        kept: { completed: ['ok3'], failed: [] },
      },
    ];

    describe(dir.label, () => {
      for (const c of cases) {
        test(c.title, { timeout: 20000 }, async (t) => {
          const s = createScope();
          t.after(() => s.close());
          const name = s.queueName('keep');
          const q = s.add(new P.Queue(name, { connection }));
          const qe = s.add(new bullmq.QueueEvents(name, { connection }));
          await queueEventsReady(qe, name);
          const rec = recordEvents(qe, ['completed', 'failed']);

          // Added before the worker starts; concurrency 1 keeps finish order = add order.
          const added = [];
          for (const j of c.jobs) {
            // eslint-disable-next-line no-await-in-loop
            added.push(await q.add(j.name, { n: added.length }, j.opts));
          }
          s.add(
            new C.Worker(
              name,
              async (job) => {
                if (job.name.startsWith('fail')) throw new Error(`no ${job.name}`);
                return { name: job.name };
              },
              workerOpts({ concurrency: 1, ...(c.workerOpts || {}) }),
            ),
          );
          await waitFor(() => rec.completed.length + rec.failed.length === c.jobs.length, 10000, {
            message: () => `events ${JSON.stringify(rec)}`,
          });
          // Removed jobs still announce their completion, with the value.
          for (const [a] of rec.completed) {
            const job = added.find((x) => x.id === a.jobId);
            assert.deepEqual(a.returnvalue, { name: job.name });
          }

          const cq = s.add(new C.Queue(name, { connection }));
          for (const view of [q, cq]) {
            // eslint-disable-next-line no-await-in-loop
            const completed = (await view.getCompleted()).map((j) => j.name).sort();
            // eslint-disable-next-line no-await-in-loop
            const failed = (await view.getFailed()).map((j) => j.name).sort();
            assert.deepEqual({ completed, failed }, c.kept);
            for (const job of added) {
              const keptIt = c.kept.completed.includes(job.name) || c.kept.failed.includes(job.name);
              // eslint-disable-next-line no-await-in-loop
              const stored = await view.getJob(job.id);
              assert.equal(Boolean(stored), keptIt, `job ${job.name} ${keptIt ? 'kept' : 'removed'}`);
            }
          }
          // A removed job leaves no keys behind (hash, logs, lock).
          const keys = await queueKeys(name);
          for (const job of added) {
            const keptIt = c.kept.completed.includes(job.name) || c.kept.failed.includes(job.name);
            if (!keptIt) {
              assert.deepEqual(
                keys.filter((k) => k === `bull:${name}:${job.id}` || k.startsWith(`bull:${name}:${job.id}:`)),
                [],
                `no keys left for removed job ${job.id}`,
              );
            }
          }
        });
      }
    });
  }
});
