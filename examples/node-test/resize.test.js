'use strict';

// node:test with bullrush/testing: `node --test examples/node-test/` (REDIS_URL, or a
// redis-server of its own).

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { Queue, Worker, QueueEvents } = require('bullrush');
const { startTestRedis } = require('bullrush/testing');

let redis;
before(async () => {
  redis = await startTestRedis();
});
after(() => redis.stop());

test('a resize job halves the width', async () => {
  const name = redis.queueName('resize');
  const { connection } = redis;
  const queue = new Queue(name, { connection });
  const events = new QueueEvents(name, { connection });
  const worker = new Worker(name, async (job) => job.data.width / 2, { connection });
  try {
    await events.waitUntilReady();
    const job = await queue.add('half', { width: 640 });
    assert.equal(await job.waitUntilFinished(events), 320);
  } finally {
    await worker.close();
    await events.close();
    await queue.close();
  }
});
