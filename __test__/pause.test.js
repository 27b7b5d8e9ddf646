'use strict';

// Queue#pause from one kind stops the other kind's workers from fetching new
// jobs; Queue#resume lets them continue. Both directions.

const { test } = require('node:test');
const assert = require('node:assert/strict');

const { sides, workerOpts, connection } = require('./helpers/sides');
const { waitFor, queueEventsReady, newRedis } = require('./helpers/redis');
const { createScope, recordEvents, sleep } = require('./helpers/util');

for (const pauser of sides) {
  const workerSide = sides.find((x) => x !== pauser);

  test(`pause/resume by a ${pauser.label} Queue governs a ${workerSide.label} worker`, { timeout: 30000 }, async (t) => {
    const s = createScope();
    t.after(() => s.close());
    const name = s.queueName('pause');

    const pq = s.add(new pauser.lib.Queue(name, { connection }));
    const wq = s.add(new workerSide.lib.Queue(name, { connection }));
    const qes = sides.map((side) => s.add(new side.lib.QueueEvents(name, { connection })));
    for (const qe of qes) {
      // eslint-disable-next-line no-await-in-loop
      await queueEventsReady(qe, name);
    }
    const recs = qes.map((qe) => recordEvents(qe, ['paused', 'resumed']));

    const processed = [];
    s.add(
      new workerSide.lib.Worker(
        name,
        async (job) => {
          processed.push(job.name);
        },
        workerOpts({ concurrency: 2 }),
      ),
    );

    // The worker is live.
    await pq.add('before', {});
    await waitFor(() => processed.length === 1, 5000);

    await pq.pause();
    assert.equal(await pq.isPaused(), true);
    assert.equal(await wq.isPaused(), true, 'the other kind sees the pause');

    // Jobs from both kinds of producer, while paused.
    await pq.add('p1', {});
    await wq.add('p2', {});
    await pq.addBulk([{ name: 'p3', data: {} }, { name: 'p4', data: {} }]);
    await wq.add('p5', {}, { priority: 4 });
    await wq.add('p6', {}, { delay: 100 });

    // Longer than drainDelay (1 s), the delay of p6 and a few fetch cycles.
    await sleep(1300);
    assert.deepEqual(processed, ['before'], 'nothing fetched while paused');
    for (const q of [pq, wq]) {
      // eslint-disable-next-line no-await-in-loop
      const counts = await q.getJobCounts('waiting', 'prioritized', 'delayed', 'active', 'completed');
      assert.equal(counts.active, 0);
      assert.equal(counts.completed, 1);
      assert.equal(counts.waiting + counts.prioritized + counts.delayed, 6, JSON.stringify(counts));
      assert.equal(counts.prioritized, 1);
    }
    // v6 keeps a paused queue's jobs in `wait`, flags `paused` in meta, and
    // never writes the legacy `paused` list.
    const c = newRedis();
    try {
      assert.equal(await c.hget(`bull:${name}:meta`, 'paused'), '1');
      assert.equal(await c.exists(`bull:${name}:paused`), 0);
    } finally {
      await c.quit();
    }

    await pq.resume();
    assert.equal(await wq.isPaused(), false);
    await waitFor(() => processed.length === 7, 10000, { message: () => JSON.stringify(processed) });
    assert.deepEqual([...processed].sort(), ['before', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6']);

    for (const rec of recs) {
      // eslint-disable-next-line no-await-in-loop
      await waitFor(() => rec.resumed.length === 1, 5000);
      assert.equal(rec.paused.length, 1);
      assert.deepEqual(rec.paused[0][0], {}, "'paused' carries no fields");
      assert.deepEqual(rec.resumed[0][0], {}, "'resumed' carries no fields");
    }
  });
}
