'use strict';

// What dashboards read from a Queue beyond BullMQ's job API, as bull-board's BullMQAdapter
// reads it: the number of job schedulers (its queue list shows it), the Redis client behind
// `getBackend()`, which it tells apart from an ioredis Cluster by a `nodes` method before
// it reads INFO, and a job serialised through `toJSON()` (the job its "add" answers).

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');

const { bullmq, sides, connection } = require('./helpers/sides');
const { createScope } = require('./helpers/util');

describe('getJobSchedulersCount', () => {
  for (const side of sides) {
    test(`${side.label}: 0 on a new queue, then the schedulers BullMQ upserted there`, { timeout: 20000 }, async (t) => {
      const s = createScope();
      t.after(() => s.close());
      const name = s.queueName('sched-count');
      const queue = s.add(new side.lib.Queue(name, { connection }));
      assert.equal(await queue.getJobSchedulersCount(), 0);
      const maker = s.add(new bullmq.Queue(name, { connection }));
      await maker.upsertJobScheduler('every-minute', { every: 60000 });
      await maker.upsertJobScheduler('nightly', { pattern: '0 3 * * *' }, { name: 'report' });
      await maker.upsertJobScheduler('every-minute', { every: 30000 });
      assert.equal(await queue.getJobSchedulersCount(), 2);
      await maker.removeJobScheduler('nightly');
      assert.equal(await queue.getJobSchedulersCount(), 1);
    });
  }
});

describe('the client behind getBackend() on a single Redis', () => {
  for (const side of sides) {
    test(`${side.label}: no cluster's nodes method, isCluster false, INFO as its text`, { timeout: 20000 }, async (t) => {
      const s = createScope();
      t.after(() => s.close());
      const queue = s.add(new side.lib.Queue(s.queueName('backend-info'), { connection }));
      const client = await queue.getBackend().client;
      assert.equal(typeof client.nodes, 'undefined');
      assert.equal(client.isCluster, false);
      const info = await client.info();
      assert.equal(typeof info, 'string');
      assert.match(info, /^redis_version:\d+\.\d+/m);
      assert.match(info, /^connected_clients:\d+/m);
    });
  }
});

describe("a job's toJSON, as bull-board serialises it", () => {
  // What JSON keeps of a job, without what differs from run to run.
  function shown(job) {
    const { timestamp, queueQualifiedName, ...rest } = JSON.parse(JSON.stringify(job.toJSON()));
    assert.equal(typeof timestamp, 'number');
    assert.equal(typeof queueQualifiedName, 'string');
    return rest;
  }

  async function jobsOf(lib, s) {
    const queue = s.add(new lib.Queue(s.queueName('to-json'), { connection }));
    const plain = await queue.add('plain', { a: 1 });
    const delayed = await queue.add('delayed', { b: 2 }, { delay: 60000, priority: 3 });
    const [bulk] = await queue.addBulk([{ name: 'bulk', data: { c: 3 } }]);
    const read = await queue.getJob(plain.id);
    return { plain: shown(plain), delayed: shown(delayed), bulk: shown(bulk), read: shown(read) };
  }

  test('added (add, addBulk) and read back (getJob): the same fields as BullMQ\'s', { timeout: 20000 }, async (t) => {
    const s = createScope();
    t.after(() => s.close());
    const [expected, actual] = await Promise.all(sides.map((side) => jobsOf(side.lib, s)));
    assert.deepEqual(actual, expected);
    assert.equal('delay' in actual.plain, false, 'no delay option: no delay field (BullMQ leaves job.delay undefined)');
    assert.equal(actual.plain.stacktrace, null);
  });
});
