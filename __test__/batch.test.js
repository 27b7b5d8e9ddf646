'use strict';

// Batches (bullrush only; BullMQ keeps them for its paid edition): a Worker with
// `batch: { size, timeout }` hands its processor arrays of jobs, each job settled on its
// own, and the state left in Redis is what processing the jobs one by one leaves.

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');

const { bullmq, impl, workerOpts, connection } = require('./helpers/sides');
const { isBullmqImpl } = require('./helpers/env');
const { waitFor } = require('./helpers/redis');
const { createScope, sleep } = require('./helpers/util');

const skip = isBullmqImpl ? 'bullrush-only feature: batches' : false;

function batchWorker(s, name, processor, opts) {
  return s.add(new impl.Worker(name, processor, workerOpts(opts)));
}

describe('batches (bullrush)', { skip }, () => {
  test('full batches of `size`, then a partial one after `timeout`, each job settled on its own', { timeout: 20000 }, async (t) => {
    const s = createScope();
    t.after(() => s.close());
    const name = s.queueName('batch');
    const producer = s.add(new bullmq.Queue(name, { connection }));
    await producer.addBulk(Array.from({ length: 23 }, (_, i) => ({ name: 'n', data: { i } })));

    const sizes = [];
    const settled = new Map();
    const worker = batchWorker(
      s,
      name,
      async (jobs) => {
        sizes.push(jobs.length);
        return jobs.map((job) => (job.data.i % 5 === 0 ? new Error(`no ${job.data.i}`) : job.data.i * 10));
      },
      { batch: { size: 10, timeout: 100 } },
    );
    worker.on('completed', (job, result) => settled.set(job.data.i, result));
    worker.on('failed', (job, err) => settled.set(job.data.i, err.message));
    await waitFor(() => settled.size === 23, 10000);

    assert.deepEqual(sizes, [10, 10, 3], 'two full batches, then the rest once the timeout passed');
    for (let i = 0; i < 23; i++) {
      assert.equal(settled.get(i), i % 5 === 0 ? `no ${i}` : i * 10, `job ${i}`);
    }
    const counts = await producer.getJobCounts('completed', 'failed', 'active', 'wait');
    assert.deepEqual(counts, { completed: 18, failed: 5, active: 0, wait: 0 });
    const failedJob = (await producer.getFailed(0, 0))[0];
    assert.match(failedJob.failedReason, /^no \d+$/, 'a BullMQ reader sees the failure');
  });

  test('a thrown error fails every job of the batch; retries go through the next batch', { timeout: 20000 }, async (t) => {
    const s = createScope();
    t.after(() => s.close());
    const name = s.queueName('batch-throw');
    const producer = s.add(new bullmq.Queue(name, { connection }));
    await producer.addBulk(Array.from({ length: 4 }, (_, i) => ({ name: 'n', data: { i }, opts: { attempts: 2 } })));

    let calls = 0;
    const completed = [];
    const worker = batchWorker(
      s,
      name,
      async (jobs) => {
        calls++;
        if (calls === 1) throw new Error('whole batch down');
        return jobs.map((job) => `ok ${job.data.i}`);
      },
      { batch: { size: 4, timeout: 200 } },
    );
    worker.on('completed', (job) => completed.push(job));
    await waitFor(() => completed.length === 4, 10000);
    for (const job of completed) {
      assert.equal(job.attemptsMade, 2, 'each job failed once with the batch, then completed');
      // eslint-disable-next-line no-await-in-loop
      const stored = await producer.getJob(job.id);
      assert.equal(stored.returnvalue, `ok ${job.data.i}`);
      assert.equal(stored.failedReason, 'whole batch down', 'the failed attempt is recorded as BullMQ would');
    }
  });

  test('`concurrency` counts batches: two batches run at once', { timeout: 20000 }, async (t) => {
    const s = createScope();
    t.after(() => s.close());
    const name = s.queueName('batch-conc');
    const producer = s.add(new bullmq.Queue(name, { connection }));
    await producer.addBulk(Array.from({ length: 12 }, (_, i) => ({ name: 'n', data: { i } })));

    let running = 0;
    let maxRunning = 0;
    let done = 0;
    const worker = batchWorker(
      s,
      name,
      async (jobs) => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        await sleep(200);
        running--;
        return jobs.map(() => 'ok');
      },
      { batch: { size: 3 }, concurrency: 2 },
    );
    worker.on('completed', () => done++);
    await waitFor(() => done === 12, 10000);
    assert.equal(maxRunning, 2);
  });

  test('a batch size that is not a whole number of at least 1 is refused', () => {
    for (const size of [0, -1, 2.5]) {
      assert.throws(
        () => new impl.Worker('batch-bad', async () => [], { connection, batch: { size }, autorun: false }),
        /batch size must be an integer greater than 0/,
        `size ${size}`,
      );
    }
  });
});
