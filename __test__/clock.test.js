'use strict';

// Where time comes from: as in BullMQ, every timestamp a queue or worker writes (job
// timestamps, processedOn/finishedOn, metrics minutes, age-based removal) follows the
// process's own clock, `Date.now()`, also when a test fakes it or the host's clock is
// off. Each scenario runs with both implementations under one faked clock, and both must
// leave the same times.

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');

const { sides, connection } = require('./helpers/sides');
const { waitFor } = require('./helpers/redis');
const { createScope } = require('./helpers/util');

const MINUTE = 60_000;
const START = Date.parse('2017-02-07T09:24:00Z');

// Replaces Date.now with a clock that starts at `start` and moves only when told.
function fakeClock(t, start) {
  const real = Date.now;
  let now = start;
  Date.now = () => now;
  t.after(() => {
    Date.now = real;
  });
  return {
    tick(ms) {
      now += ms;
    },
    now: () => now,
  };
}

for (const side of sides) {
  describe(`timestamps follow the process clock (${side.label})`, () => {
    test('job timestamps, finishedOn and metrics minutes come from Date.now()', { timeout: 30000 }, async (t) => {
      const s = createScope();
      t.after(() => s.close());
      const clock = fakeClock(t, START);
      const name = s.queueName('clock');
      const q = s.add(new side.lib.Queue(name, { connection }));
      const ticks = [0, MINUTE / 2, MINUTE / 2, 3 * MINUTE, 0];
      const finished = [];
      const worker = s.add(
        new side.lib.Worker(
          name,
          async (job) => {
            clock.tick(ticks[job.data.i]);
          },
          { connection, metrics: { maxDataPoints: 60 }, autorun: false },
        ),
      );
      worker.on('completed', (job) => finished.push(job.id));
      const jobs = [];
      for (let i = 0; i < ticks.length; i++) {
        // eslint-disable-next-line no-await-in-loop
        jobs.push(await q.add('tick', { i }));
      }
      assert.deepEqual(
        jobs.map((j) => j.timestamp),
        ticks.map(() => START),
      );
      worker.run();
      await waitFor(() => finished.length === ticks.length, 10000);
      const last = await q.getJob(jobs[jobs.length - 1].id);
      assert.equal(last.timestamp, START);
      assert.equal(last.finishedOn, clock.now());
      const metrics = await q.getMetrics('completed');
      assert.equal(metrics.meta.count, ticks.length);
      // Finishes at +0, +0.5, +1, +4 and +4 min: one point per minute closed since the
      // first finish, newest first, each counting the finishes before it.
      assert.deepEqual(metrics.data, [0, 0, 1, 2]);
    });

    test('removeOnComplete { age } measures age on the process clock', { timeout: 30000 }, async (t) => {
      const s = createScope();
      t.after(() => s.close());
      const clock = fakeClock(t, 10_000);
      const name = s.queueName('clock-age');
      const q = s.add(new side.lib.Queue(name, { connection }));
      const worker = s.add(
        new side.lib.Worker(name, async () => {}, { connection, removeOnComplete: { age: 3 }, autorun: false }),
      );
      const done = [];
      worker.on('completed', (job) => {
        done.push(job.id);
        clock.tick(1000);
      });
      const jobs = await q.addBulk([0, 1, 2, 3, 4, 5].map((i) => ({ name: 'age', data: { i } })));
      worker.run();
      await waitFor(() => done.length === jobs.length, 10000);
      await worker.close();
      // Each finish one second after the last: the last three are young enough to stay.
      const kept = (await q.getCompleted()).map((j) => j.id).sort();
      assert.ok(kept.length >= 3 && kept.length <= 4, `kept ${kept}`);
      assert.deepEqual(kept.slice(-3), jobs.slice(-3).map((j) => j.id).sort().slice(-3));
    });
  });
}
