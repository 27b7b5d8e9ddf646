'use strict';

// Producer of one kind, worker of the other kind, one queue on one Redis:
// return values, counters, timestamps, final states and counts as the other
// side sees them. Both directions.

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');

const { directions, workerOpts, connection } = require('./helpers/sides');
const { waitFor } = require('./helpers/redis');
const { createScope } = require('./helpers/util');

// name -> [data, value the processor returns]
const CASES = {
  obj: [{ i: 1 }, { a: 1, nested: { b: [1, 2, 'x'] }, s: 'üñí 🚀 "q" \\ /' }],
  str: [{ i: 2, text: 'üñí 🚀 "quoted" \\ /slash' }, 'hello'],
  emptystr: [{ i: 3 }, ''],
  num: [{ i: 4 }, 42.5],
  zero: [{ i: 5 }, 0],
  bool: [{ i: 6 }, false],
  null: [{ i: 7 }, null],
  undef: [{ i: 8 }, undefined],
  arr: [{ i: 9, list: [1, 2, 3] }, [1, '2', { three: 3 }]],
};
const FAIL = 'throws';

for (const dir of directions) {
  const P = dir.producer.lib;
  const C = dir.consumer.lib;

  describe(`producer/worker interop: ${dir.label}`, () => {
    test('completed and failed jobs: values, counters, timestamps, states, counts', { timeout: 30000 }, async (t) => {
      const s = createScope();
      t.after(() => s.close());
      const name = s.queueName('interop');

      const pq = s.add(new P.Queue(name, { connection }));
      const cq = s.add(new C.Queue(name, { connection }));

      const seen = new Map(); // id -> what the processor saw
      const completedEvents = [];
      const failedEvents = [];
      const worker = s.add(
        new C.Worker(
          name,
          async (job) => {
            seen.set(job.id, {
              name: job.name,
              data: job.data,
              attemptsMade: job.attemptsMade,
              attemptsStarted: job.attemptsStarted,
              timestamp: job.timestamp,
              opts: job.opts,
            });
            if (job.name === FAIL) throw new Error('kaput');
            return CASES[job.name][1];
          },
          workerOpts(),
        ),
      );
      worker.on('completed', (job, result, prev) => completedEvents.push({ id: job.id, result, prev }));
      worker.on('failed', (job, err, prev) => failedEvents.push({ id: job && job.id, message: err.message, prev }));

      const added = new Map(); // id -> {name, job, before, after}
      for (const [jobName, [data]] of [...Object.entries(CASES), [FAIL, [{ i: 10 }]]]) {
        const before = Date.now();
        // eslint-disable-next-line no-await-in-loop
        const job = await pq.add(jobName, data);
        const after = Date.now();
        assert.equal(typeof job.id, 'string', 'job.id is a string');
        assert.equal(job.name, jobName);
        assert.deepEqual(job.data, data);
        added.set(job.id, { name: jobName, data, job, before, after });
      }
      assert.equal(added.size, Object.keys(CASES).length + 1, 'distinct ids');

      await waitFor(() => completedEvents.length + failedEvents.length === added.size, 10000, {
        message: () => `completed ${completedEvents.length}, failed ${failedEvents.length}`,
      });

      // Worker-local events: completed (job, result, prev), failed (job, err, prev).
      for (const ev of completedEvents) {
        const { name: jobName } = added.get(ev.id);
        assert.deepEqual(ev.result, CASES[jobName][1], `worker 'completed' result of ${jobName}`);
        assert.equal(ev.prev, 'active');
      }
      assert.equal(failedEvents.length, 1);
      assert.equal(failedEvents[0].message, 'kaput');
      assert.equal(failedEvents[0].prev, 'active');

      // What the processor received.
      for (const [id, a] of added) {
        const got = seen.get(id);
        assert.ok(got, `processor saw job ${id}`);
        assert.equal(got.name, a.name);
        assert.deepEqual(got.data, a.data);
        assert.equal(got.attemptsMade, 0, 'attemptsMade during the first attempt');
        assert.equal(got.attemptsStarted, 1, 'attemptsStarted during the first attempt');
        assert.equal(got.timestamp, a.job.timestamp, 'timestamp as the producer set it');
        assert.equal(got.opts.attempts, 0, 'opts.attempts defaults to 0');
      }

      // The stored jobs, as each side reads them.
      for (const q of [pq, cq]) {
        for (const [id, a] of added) {
          // eslint-disable-next-line no-await-in-loop
          const job = await q.getJob(id);
          assert.ok(job, `getJob(${id})`);
          assert.equal(job.id, id);
          assert.equal(job.name, a.name);
          assert.deepEqual(job.data, a.data);
          assert.equal(job.attemptsMade, 1, `attemptsMade of ${a.name}`);
          assert.equal(job.attemptsStarted, 1, `attemptsStarted of ${a.name}`);
          assert.equal(job.delay, 0);
          assert.equal(job.priority, 0);
          assert.equal(typeof job.timestamp, 'number');
          assert.equal(typeof job.processedOn, 'number');
          assert.equal(typeof job.finishedOn, 'number');
          assert.ok(a.before <= job.timestamp && job.timestamp <= a.after, `timestamp ${job.timestamp} set at add`);
          assert.ok(job.timestamp <= job.processedOn, 'timestamp <= processedOn');
          assert.ok(job.processedOn <= job.finishedOn, 'processedOn <= finishedOn');
          assert.ok(job.finishedOn <= Date.now());
          // eslint-disable-next-line no-await-in-loop
          const state = await job.getState();
          if (a.name === FAIL) {
            assert.equal(state, 'failed');
            assert.equal(job.failedReason, 'kaput');
            assert.equal(job.stacktrace.length, 1);
            assert.match(job.stacktrace[0], /kaput/);
            assert.equal(job.returnvalue, null);
          } else {
            assert.equal(state, 'completed');
            const expected = CASES[a.name][1];
            // undefined is stored as JSON null.
            assert.deepEqual(job.returnvalue, expected === undefined ? null : expected, `returnvalue of ${a.name}`);
            assert.equal(job.failedReason, undefined);
            assert.deepEqual(job.stacktrace, []);
          }
          // eslint-disable-next-line no-await-in-loop
          assert.equal(await q.getJobState(id), state);
        }
      }

      const expectedCounts = {
        active: 0,
        completed: Object.keys(CASES).length,
        delayed: 0,
        failed: 1,
        prioritized: 0,
        waiting: 0,
        'waiting-children': 0,
      };
      assert.deepEqual(await pq.getJobCounts(), expectedCounts);
      assert.deepEqual(await cq.getJobCounts(), expectedCounts);
      assert.deepEqual(await cq.getJobCounts('completed', 'failed'), { completed: expectedCounts.completed, failed: 1 });
      assert.equal(await cq.getCompletedCount(), expectedCounts.completed);
      assert.equal(await cq.getFailedCount(), 1);
      assert.equal(await cq.getWaitingCount(), 0);
      assert.equal(await cq.getActiveCount(), 0);
    });

    test('priority, lifo and delay set by the producer are honoured by the worker', { timeout: 30000 }, async (t) => {
      const s = createScope();
      t.after(() => s.close());
      const name = s.queueName('order');
      const pq = s.add(new P.Queue(name, { connection }));

      await pq.add('plain-1', {});
      await pq.add('p3', {}, { priority: 3 });
      await pq.add('p1', {}, { priority: 1 });
      await pq.add('plain-2', {});
      await pq.add('p2', {}, { priority: 2 });
      await pq.add('lifo', {}, { lifo: true });
      const delayed = await pq.add('delayed', {}, { delay: 400 });

      const cq = s.add(new C.Queue(name, { connection }));
      assert.deepEqual(await cq.getJobCounts('waiting', 'prioritized', 'delayed'), {
        waiting: 3,
        prioritized: 3,
        delayed: 1,
      });
      assert.equal(await cq.getJobState(delayed.id), 'delayed');
      assert.equal(await cq.getJobState((await cq.getJobs(['prioritized']))[0].id), 'prioritized');

      const order = [];
      s.add(
        new C.Worker(
          name,
          async (job) => {
            order.push(job.name);
          },
          workerOpts({ concurrency: 1 }),
        ),
      );
      await waitFor(() => order.length === 7, 10000, { message: () => `processed ${JSON.stringify(order)}` });

      // Plain jobs (priority 0) before prioritized ones, lifo at the front,
      // then ascending priority; the delayed job not before its time.
      assert.deepEqual(order.slice(0, 6), ['lifo', 'plain-1', 'plain-2', 'p1', 'p2', 'p3']);
      const d = await pq.getJob(delayed.id);
      assert.equal(d.opts.delay, 400);
      assert.equal(d.delay, 0, 'promotion resets the delay field to 0');
      assert.equal(await d.getState(), 'completed');
      assert.ok(d.processedOn - d.timestamp >= 400, `delayed job ran ${d.processedOn - d.timestamp} ms after add`);
      const p2 = (await pq.getJobs(['completed'])).find((j) => j.name === 'p2');
      assert.equal(p2.priority, 2);
      assert.equal(p2.opts.priority, 2);
    });
  });
}
