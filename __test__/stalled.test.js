'use strict';

// A worker process of one kind takes a job and is SIGKILLed mid-job; a worker
// of the other kind finds the job stalled (its lock expired), moves it back to
// wait and processes it. Both directions.

const { test } = require('node:test');
const assert = require('node:assert/strict');

const { sides, workerOpts, connection } = require('./helpers/sides');
const { waitFor, queueEventsReady } = require('./helpers/redis');
const { createScope, recordEvents, spawnFixture } = require('./helpers/util');

for (const dead of sides) {
  const rescuer = sides.find((x) => x !== dead);
  const fixtureKind = dead === sides[0] ? 'bullmq' : 'impl';

  test(`a job held by a killed ${dead.label} worker process is recovered by a ${rescuer.label} worker`, { timeout: 40000 }, async (t) => {
    const s = createScope();
    t.after(() => s.close());
    const name = s.queueName('stalled');

    const q = s.add(new rescuer.lib.Queue(name, { connection }));
    const qes = sides.map((side) => s.add(new side.lib.QueueEvents(name, { connection })));
    for (const qe of qes) {
      // eslint-disable-next-line no-await-in-loop
      await queueEventsReady(qe, name);
    }
    const recs = qes.map((qe) => recordEvents(qe, ['stalled', 'waiting', 'completed']));

    const child = s.child(spawnFixture('stall-worker.js', [fixtureKind, name]));
    await child.waitMessage((m) => m.type === 'ready', 15000);

    const job = await q.add('victim', { payload: 'keep me' });
    const held = await child.waitMessage((m) => m.type === 'active', 10000);
    assert.equal(held.id, job.id);
    assert.equal(held.attemptsStarted, 1);

    child.kill('SIGKILL');
    const { signal } = await child.exited;
    assert.equal(signal, 'SIGKILL');
    assert.equal(await q.getJobState(job.id), 'active', 'still active right after the kill');

    const seen = [];
    const stalledEvents = [];
    const worker = s.add(
      new rescuer.lib.Worker(
        name,
        async (j) => {
          seen.push({
            id: j.id,
            data: j.data,
            attemptsMade: j.attemptsMade,
            attemptsStarted: j.attemptsStarted,
            stalledCounter: j.stalledCounter,
          });
          return `rescued by ${rescuer.label}`;
        },
        workerOpts({ lockDuration: 1000, stalledInterval: 500 }),
      ),
    );
    worker.on('stalled', (jobId, prev) => stalledEvents.push({ jobId, prev }));

    await waitFor(async () => (await q.getJobState(job.id)) === 'completed', 15000, {
      message: async () => `state ${await q.getJobState(job.id)}`,
    });

    assert.deepEqual(seen, [
      { id: job.id, data: { payload: 'keep me' }, attemptsMade: 0, attemptsStarted: 2, stalledCounter: 1 },
    ]);
    assert.deepEqual(stalledEvents, [{ jobId: job.id, prev: 'active' }], "worker 'stalled' (jobId, prev)");

    for (const qq of [q, s.add(new dead.lib.Queue(name, { connection }))]) {
      // eslint-disable-next-line no-await-in-loop
      const j = await qq.getJob(job.id);
      assert.equal(j.returnvalue, `rescued by ${rescuer.label}`);
      assert.equal(j.attemptsMade, 1);
      assert.equal(j.attemptsStarted, 2);
      assert.equal(j.stalledCounter, 1);
      // eslint-disable-next-line no-await-in-loop
      assert.deepEqual(await qq.getJobCounts('active', 'waiting', 'completed', 'failed'), {
        active: 0,
        waiting: 0,
        completed: 1,
        failed: 0,
      });
    }

    for (const [k, rec] of recs.entries()) {
      // eslint-disable-next-line no-await-in-loop
      await waitFor(() => rec.completed.length === 1, 5000);
      const who = `${sides[k].label} QueueEvents`;
      assert.deepEqual(
        rec.stalled.map(([a]) => a),
        [{ jobId: job.id }],
        `${who}: stalled`,
      );
      assert.deepEqual(
        rec.waiting.map(([a]) => a),
        [{ jobId: job.id }, { jobId: job.id, prev: 'active' }],
        `${who}: waiting on add, then prev=active on recovery`,
      );
      assert.deepEqual(rec.completed[0][0], { jobId: job.id, returnvalue: `rescued by ${rescuer.label}`, prev: 'active' });
    }
  });
}
