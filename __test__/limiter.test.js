'use strict';

// The worker `limiter` counts on the queue's shared `limiter` key, so a bullrush worker
// and a BullMQ worker on one queue stay within one limit between them.

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');

const { bullmq, impl, workerOpts, connection } = require('./helpers/sides');
const { waitFor } = require('./helpers/redis');
const { createScope } = require('./helpers/util');

const MAX = 4;
const DURATION = 800;

// No MAX + 1 jobs may start within less than one window (less a little scheduling slack).
function assertWithinLimit(starts) {
  const sorted = [...starts].sort((a, b) => a - b);
  for (let i = 0; i + MAX < sorted.length; i++) {
    const span = sorted[i + MAX] - sorted[i];
    assert.ok(span >= DURATION - 50, `jobs ${i}..${i + MAX} started within ${span} ms`);
  }
}

describe('worker limiter', () => {
  test('a bullrush worker alone keeps to { max, duration }', { timeout: 20000 }, async (t) => {
    const s = createScope();
    t.after(() => s.close());
    const name = s.queueName('limiter');
    const q = s.add(new impl.Queue(name, { connection }));
    const limiter = { max: MAX, duration: DURATION };
    const starts = [];
    s.add(new impl.Worker(name, async () => starts.push(Date.now()), workerOpts({ concurrency: 10, limiter })));
    await q.addBulk(Array.from({ length: 3 * MAX }, (_, i) => ({ name: 'j', data: { i } })));
    await waitFor(async () => (await q.getCompletedCount()) === 3 * MAX, 10000);
    assertWithinLimit(starts);
  });

  test('bullrush and BullMQ workers share one limit', { timeout: 20000 }, async (t) => {
    const s = createScope();
    t.after(() => s.close());
    const name = s.queueName('limiter-shared');
    const q = s.add(new bullmq.Queue(name, { connection }));
    const limiter = { max: MAX, duration: DURATION };
    const starts = [];
    const who = new Set();
    for (const lib of [impl, bullmq]) {
      s.add(
        new lib.Worker(
          name,
          async () => {
            starts.push(Date.now());
            who.add(lib === impl ? 'impl' : 'bullmq');
          },
          workerOpts({ concurrency: 10, limiter }),
        ),
      );
    }
    await q.addBulk(Array.from({ length: 4 * MAX }, (_, i) => ({ name: 'j', data: { i } })));
    await waitFor(async () => (await q.getCompletedCount()) === 4 * MAX, 15000);
    assertWithinLimit(starts);
  });
});
