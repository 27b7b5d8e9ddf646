'use strict';

// QueueEvents of both kinds see what workers of either kind do: completed
// (returnvalue parsed), failed (failedReason), progress, retries-exhausted,
// the per-job `E:<jobId>` events, stream ids; and Job#waitUntilFinished across
// kinds.

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');

const { sides, workerOpts, connection } = require('./helpers/sides');
const { waitFor, queueEventsReady } = require('./helpers/redis');
const { createScope, recordEvents, sleep } = require('./helpers/util');

const EVENT_NAMES = ['added', 'waiting', 'active', 'progress', 'completed', 'failed', 'retries-exhausted'];
const STREAM_ID = /^\d+-\d+$/;

describe('QueueEvents across implementations', () => {
  for (const w of sides) {
    const producer = sides.find((x) => x !== w);

    test(`${w.label} worker, ${producer.label} producer: both kinds of QueueEvents see its events`, { timeout: 30000 }, async (t) => {
      const s = createScope();
      t.after(() => s.close());
      const name = s.queueName('events');

      const q = s.add(new producer.lib.Queue(name, { connection }));
      const listeners = [];
      for (const side of sides) {
        const qe = s.add(new side.lib.QueueEvents(name, { connection }));
        // eslint-disable-next-line no-await-in-loop
        await queueEventsReady(qe, name);
        listeners.push({ side, qe, rec: recordEvents(qe, EVENT_NAMES) });
      }

      const ok = await q.add('ok', { a: 1, b: 2 });
      // attempts 2 and no backoff: one immediate retry, then the final failure.
      const bad = await q.add('bad', { a: 0 }, { attempts: 2 });

      // Per-job events, registered before any worker exists.
      for (const l of listeners) {
        l.perJob = recordEvents(l.qe, [`completed:${ok.id}`, `progress:${ok.id}`, `failed:${bad.id}`, `active:${bad.id}`]);
      }

      // The worker starts only now, so no job event can precede the per-job listeners.
      const workerProgress = [];
      const worker = s.add(
        new w.lib.Worker(
          name,
          async (job) => {
            if (job.name === 'bad') throw new Error(`bad thing ${job.attemptsMade}`);
            await job.updateProgress(42);
            await job.updateProgress({ step: 'half', pct: 50 });
            return { sum: job.data.a + job.data.b };
          },
          workerOpts(),
        ),
      );
      worker.on('progress', (job, progress) => workerProgress.push({ id: job.id, progress }));

      for (const l of listeners) {
        // eslint-disable-next-line no-await-in-loop
        await waitFor(
          () => l.rec.completed.length >= 1 && l.rec.failed.length >= 1 && l.rec['retries-exhausted'].length >= 1,
          10000,
          { message: () => `${l.side.label} QueueEvents got ${JSON.stringify(l.rec)}` },
        );
      }
      await sleep(100); // let any (wrong) extra events arrive

      for (const l of listeners) {
        const { rec, perJob } = l;
        const who = `${l.side.label} QueueEvents`;
        // (args, id) with args without `event`.
        for (const [, id] of Object.values(rec).flat()) assert.match(id, STREAM_ID, `${who}: stream id`);

        assert.deepEqual(
          rec.completed.map(([args]) => args),
          [{ jobId: ok.id, returnvalue: { sum: 3 }, prev: 'active' }],
          `${who}: completed`,
        );
        assert.deepEqual(perJob[`completed:${ok.id}`], rec.completed, `${who}: completed:<jobId>`);

        assert.deepEqual(
          rec.failed.map(([args]) => args),
          [{ jobId: bad.id, failedReason: 'bad thing 1', prev: 'active' }],
          `${who}: failed (final attempt only)`,
        );
        assert.deepEqual(perJob[`failed:${bad.id}`], rec.failed, `${who}: failed:<jobId>`);

        assert.deepEqual(
          rec['retries-exhausted'].map(([args]) => args),
          [{ jobId: bad.id, attemptsMade: '2' }],
          `${who}: retries-exhausted (attemptsMade is a string)`,
        );

        assert.deepEqual(
          rec.progress.map(([args]) => args),
          [
            { jobId: ok.id, data: 42 },
            { jobId: ok.id, data: { step: 'half', pct: 50 } },
          ],
          `${who}: progress`,
        );
        assert.deepEqual(perJob[`progress:${ok.id}`], rec.progress, `${who}: progress:<jobId>`);

        const added = rec.added.map(([args]) => args);
        assert.deepEqual(added, [
          { jobId: ok.id, name: 'ok' },
          { jobId: bad.id, name: 'bad' },
        ]);
        const active = rec.active.map(([args]) => args);
        assert.deepEqual(
          active.filter((a) => a.jobId === bad.id),
          [
            { jobId: bad.id, prev: 'waiting' },
            { jobId: bad.id, prev: 'waiting' },
          ],
          `${who}: active, twice for the retried job`,
        );
        assert.equal(perJob[`active:${bad.id}`].length, 2);
        const waiting = rec.waiting.map(([args]) => args);
        assert.deepEqual(
          waiting.filter((a) => a.jobId === bad.id),
          [{ jobId: bad.id }, { jobId: bad.id, prev: 'active' }],
          `${who}: waiting on add, then waiting prev=active on the immediate retry`,
        );
      }

      // Both listeners read one stream: same events, same ids, same order.
      for (const ev of EVENT_NAMES) {
        assert.deepEqual(listeners[0].rec[ev], listeners[1].rec[ev], `same '${ev}' events on both kinds`);
      }

      // Worker-local progress event: (job, progress).
      assert.deepEqual(workerProgress, [
        { id: ok.id, progress: 42 },
        { id: ok.id, progress: { step: 'half', pct: 50 } },
      ]);
      const stored = await q.getJob(ok.id);
      assert.deepEqual(stored.progress, { step: 'half', pct: 50 });
    });
  }
});

describe('Job#waitUntilFinished across implementations', () => {
  for (const jobSide of sides) {
    for (const qeSide of sides) {
      const workerSide = sides.find((x) => x !== jobSide);
      test(`${jobSide.label} Job, ${qeSide.label} QueueEvents, ${workerSide.label} worker`, { timeout: 30000 }, async (t) => {
        const s = createScope();
        t.after(() => s.close());
        const name = s.queueName('wuf');

        const q = s.add(new jobSide.lib.Queue(name, { connection }));
        const qe = s.add(new qeSide.lib.QueueEvents(name, { connection }));
        await queueEventsReady(qe, name);

        // Finished before anyone waits: found by the one-off state check.
        const early = await q.add('early', { v: 'e' });
        const earlyWorker = s.add(new workerSide.lib.Worker(name, async (job) => `done ${job.data.v}`, workerOpts()));
        await waitFor(async () => (await q.getJobState(early.id)) === 'completed', 5000);
        await earlyWorker.close();
        assert.equal(await early.waitUntilFinished(qe, 5000), 'done e');

        // Removed before anyone waits: the state check names the job's key.
        const gone = await q.add('gone', {});
        await gone.remove();
        await assert.rejects(gone.waitUntilFinished(qe, 5000), {
          message: `Missing key for job bull:${name}:${gone.id}. isFinished`,
        });

        // Never processed (no worker running): the ttl expires.
        const never = await q.add('never', {});
        await assert.rejects(never.waitUntilFinished(qe, 300), {
          message: `Job wait never timed out before finishing, no finish notification arrived after 300ms (id=${never.id})`,
        });

        // Finishing while we wait.
        const good = await q.add('slow', { v: 'g' });
        const bad = await q.add('fail', { v: 'b' });
        const pGood = good.waitUntilFinished(qe, 10000);
        const pBad = bad.waitUntilFinished(qe, 10000);
        // Attach handlers now so an early rejection is not "unhandled".
        pBad.catch(() => {});
        await sleep(50);
        s.add(
          new workerSide.lib.Worker(
            name,
            async (job) => {
              if (job.name === 'fail') throw new Error(`failed ${job.data.v}`);
              await sleep(100);
              return { v: job.data.v, n: 1 };
            },
            workerOpts(),
          ),
        );
        assert.deepEqual(await pGood, { v: 'g', n: 1 });
        await assert.rejects(pBad, (err) => {
          assert.ok(err instanceof Error);
          assert.equal(err.message, 'failed b');
          return true;
        });
      });
    }
  }
});

for (const side of sides) {
  describe(`listener lifecycle (${side.label})`, () => {
    test('QueueEvents with autorun false: ready without run, run() resolves on close, a second run rejects', { timeout: 20000 }, async (t) => {
      const s = createScope();
      t.after(() => s.close());
      const name = s.queueName('qe-autorun');
      const q = s.add(new side.lib.Queue(name, { connection }));
      const qe = new side.lib.QueueEvents(name, { connection, autorun: false });
      t.after(() => qe.close());
      await qe.waitUntilReady();
      const seen = [];
      qe.on('added', ({ jobId }) => seen.push(jobId));
      const running = qe.run();
      await assert.rejects(qe.run(), { message: 'Queue Events is already running.' });
      // Reading starts after run(): wait until an add made now is seen.
      await waitFor(async () => {
        await q.add('x', {});
        return seen.length > 0;
      }, 10000);
      let settled = false;
      running.then(() => {
        settled = true;
      });
      await sleep(50);
      assert.equal(settled, false, 'run() is pending while the listener reads');
      await qe.close();
      assert.equal(await running, undefined);
    });

    test('a listener that throws becomes an error event; the worker carries on', { timeout: 20000 }, async (t) => {
      const s = createScope();
      t.after(() => s.close());
      const name = s.queueName('throwing-listener');
      const q = s.add(new side.lib.Queue(name, { connection }));
      const worker = new side.lib.Worker(name, async () => 'ok', workerOpts());
      t.after(() => worker.close());
      const errors = [];
      worker.on('error', (err) => errors.push(err.message));
      worker.once('completed', () => {
        throw new Error('listener bug');
      });
      await q.add('a', {});
      await waitFor(() => errors.length === 1, 10000);
      assert.deepEqual(errors, ['listener bug']);
      await q.add('b', {});
      await waitFor(async () => (await q.getCompletedCount()) === 2, 10000);
    });
  });
}
