'use strict';

// A BullMQ worker and a worker of the implementation under test share one
// queue: several thousand jobs, added by producers of both kinds, are each
// processed exactly once between them.

const { test } = require('node:test');
const assert = require('node:assert/strict');

const { sides, workerOpts, connection } = require('./helpers/sides');
const { waitFor } = require('./helpers/redis');
const { createScope } = require('./helpers/util');

const TOTAL = 3000;
const CHUNK = 250;

test(`${TOTAL} jobs shared by a bullmq and a ${sides[1].label} worker are processed exactly once`, { timeout: 120000 }, async (t) => {
  const s = createScope();
  t.after(() => s.close());
  const name = s.queueName('shared');

  const queues = sides.map((side) => s.add(new side.lib.Queue(name, { connection })));
  const processed = sides.map(() => []); // ids, per worker, in processing order

  const workers = sides.map((side, k) =>
    s.add(
      new side.lib.Worker(
        name,
        async (job) => {
          processed[k].push(job.id);
          // Yield now and then so that jobs interleave between the workers.
          if (job.data.i % 5 === 0) await new Promise((r) => setImmediate(r));
          return { by: side.label, i: job.data.i };
        },
        workerOpts({ concurrency: 8 }),
      ),
    ),
  );
  await Promise.all(workers.map((w) => w.waitUntilReady()));

  // Half the jobs from each kind of producer, interleaved, in bulk.
  const expected = new Map(); // id -> i
  let i = 0;
  while (i < TOTAL) {
    for (const q of queues) {
      const batch = [];
      for (let k = 0; k < CHUNK && i < TOTAL; k += 1, i += 1) batch.push({ name: 'j', data: { i } });
      // eslint-disable-next-line no-await-in-loop
      const jobs = await q.addBulk(batch);
      assert.equal(jobs.length, batch.length);
      jobs.forEach((job, k) => {
        assert.equal(job.data.i, batch[k].data.i, 'addBulk returns the jobs in order');
        expected.set(job.id, job.data.i);
      });
    }
  }
  assert.equal(expected.size, TOTAL, 'every added job got its own id');

  await waitFor(async () => (await queues[0].getCompletedCount()) === TOTAL, 90000, {
    interval: 200,
    message: async () => `completed ${await queues[0].getCompletedCount()}, processed ${processed.map((p) => p.length)}`,
  });
  // Give a double-processing bug the chance to show in the records.
  await new Promise((r) => setTimeout(r, 300));

  const all = processed.flat();
  const unique = new Set(all);
  const seenOnce = new Set();
  const dupes = all.filter((id) => (seenOnce.has(id) ? true : (seenOnce.add(id), false)));
  assert.deepEqual(dupes, [], 'no job was processed twice');
  assert.equal(unique.size, TOTAL, 'every job was processed');
  for (const id of expected.keys()) assert.ok(unique.has(id), `job ${id} processed`);
  for (const [k, side] of sides.entries()) {
    assert.ok(processed[k].length > 0, `the ${side.label} worker processed some jobs (${processed[k].length})`);
  }

  const byId = new Map();
  sides.forEach((side, k) => processed[k].forEach((id) => byId.set(id, side.label)));
  for (const q of queues) {
    // eslint-disable-next-line no-await-in-loop
    assert.deepEqual(await q.getJobCounts(), {
      active: 0,
      completed: TOTAL,
      delayed: 0,
      failed: 0,
      prioritized: 0,
      waiting: 0,
      'waiting-children': 0,
    });
  }
  // Each job records who ran it, and was started and finished exactly once.
  const completed = await queues[1].getCompleted(0, -1);
  assert.equal(completed.length, TOTAL);
  for (const job of completed) {
    assert.deepEqual(job.returnvalue, { by: byId.get(job.id), i: expected.get(job.id) }, `returnvalue of ${job.id}`);
    assert.equal(job.attemptsMade, 1, `attemptsMade of ${job.id}`);
    assert.equal(job.attemptsStarted, 1, `attemptsStarted of ${job.id}`);
  }
});
