'use strict';

// Bad input is rejected before Redis is touched: the queue's keys are exactly
// as they were. Messages match BullMQ's where BullMQ rejects the same input.
// Tests marked bullrush-only cover inputs BullMQ accepts (they skip when the
// suite runs with BULLRUSH_TEST_IMPL=bullmq).

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');

const { impl, sides, connection } = require('./helpers/sides');
const { bullrushOnly } = require('./helpers/env');
const { queueKeys, waitFor, uniqueQueueName } = require('./helpers/redis');
const { dumpQueue } = require('./helpers/snapshot');
const { createScope, freePort, withTimeout } = require('./helpers/util');

const IMPL = sides[1].label;

// A queue of the implementation under test with one job in it, and a stable
// snapshot of its keys.
async function seededQueue(t) {
  const s = createScope();
  t.after(() => s.close());
  const name = s.queueName('valid');
  const q = s.add(new impl.Queue(name, { connection }));
  await q.add('seed', { ok: true });
  // Wait until nothing changes any more (e.g. asynchronous meta writes).
  let prev = await dumpQueue(name);
  await waitFor(
    async () => {
      await new Promise((r) => setTimeout(r, 50));
      const cur = await dumpQueue(name);
      const same = JSON.stringify(cur) === JSON.stringify(prev);
      prev = cur;
      return same;
    },
    3000,
    { interval: 0 },
  );
  return { s, name, q, before: prev };
}

async function assertUntouched(name, before) {
  assert.deepEqual(await dumpQueue(name), before, "the queue's keys are unchanged");
}

// assert.throws for constructors; if the constructor wrongly succeeds, the
// object is closed so that it cannot keep the test process alive.
async function expectConstructorThrows(make, expected) {
  let obj;
  try {
    obj = make();
  } catch (err) {
    assert.throws(() => {
      throw err;
    }, expected);
    return;
  }
  await obj.close().catch(() => {});
  assert.fail('the constructor did not throw');
}

const circular = { a: 1 };
circular.self = circular;

// [title, data, opts, expected rejection (assert.rejects matcher)]
const SHARED_CASES = [
  ['data with a circular reference', circular, undefined, { message: /circular/i }],
  ['data containing a BigInt', { n: 10n }, undefined, { message: /BigInt/ }],
  ['priority 1.5', {}, { priority: 1.5 }, { message: 'Priority should not be float' }],
  ['priority 3000000', {}, { priority: 3000000 }, { message: 'Priority should be between 0 and 2097151' }],
  ['jobId "0"', {}, { jobId: '0' }, { message: "JobId cannot be '0' or start with '0:'" }],
  ['jobId "0:abc"', {}, { jobId: '0:abc' }, { message: "JobId cannot be '0' or start with '0:'" }],
  ['jobId "123" (an integer string)', {}, { jobId: '123' }, { message: 'Custom Id cannot be integers' }],
  ['jobId "a:b" (colon)', {}, { jobId: 'a:b' }, { message: 'Custom Id cannot contain :' }],
  ['backoff jitter 2', {}, { attempts: 2, backoff: { type: 'fixed', delay: 10, jitter: 2 } }, { message: 'Jitter should be between 0 and 1' }],
  [
    'two exclusive parent-failure options',
    {},
    { failParentOnFailure: true, ignoreDependencyOnFailure: true },
    { message: 'The following options cannot be used together: failParentOnFailure, ignoreDependencyOnFailure' },
  ],
  ['deduplication without id', {}, { deduplication: {} }, { message: 'Deduplication id must be provided' }],
  ['deduplication id 0', {}, { deduplication: { id: 0, ttl: 10 } }, { message: 'Deduplication id must be provided' }],
  [
    'deduplication with a parent',
    {},
    { deduplication: { id: 'd' }, parent: { id: 'p', queue: 'bull:elsewhere' } },
    { message: 'Deduplication and parent options cannot be used together' },
  ],
  ['the debounce option', {}, { debounce: { id: 'd' } }, { message: 'Debounce option has been removed. Use deduplication option instead' }],
  [
    'a parent that does not exist',
    {},
    { parent: { id: 'nobody', queue: 'bull:elsewhere' } },
    { message: 'Missing key for parent job bull:elsewhere:nobody. addJob', code: -5 },
  ],
  // 'üü' is 2 characters but 4 bytes in UTF-8: the limit counts bytes.
  ['data over sizeLimit (UTF-8 bytes)', { s: 'üü' }, { sizeLimit: 10 }, { message: 'The size of job bad exceeds the limit 10 bytes' }],
];

// Inputs BullMQ accepts, which bullrush rejects.
const STRICT_CASES = [
  ['a parent without its queue\'s qualified name', {}, { parent: { id: 'p', queue: 'plain' } }],
  ['a parent without an id', {}, { parent: { queue: 'bull:parents' } }],
  ['attempts 0', {}, { attempts: 0 }],
  ['attempts 1.5', {}, { attempts: 1.5 }],
  ['attempts -1', {}, { attempts: -1 }],
  ['delay -1', {}, { delay: -1 }],
];

describe(`constructor validation (${IMPL})`, () => {
  for (const [title, bad] of [
    ['empty queue name', ''],
    ['queue name with ":"', 'a:b'],
  ]) {
    test(title, async () => {
      const expected = { message: bad === '' ? 'Queue name must be provided' : 'Queue name cannot contain :' };
      await expectConstructorThrows(() => new impl.Queue(bad, { connection }), expected);
      await expectConstructorThrows(() => new impl.Worker(bad, async () => {}, { connection, autorun: false }), expected);
      await expectConstructorThrows(() => new impl.QueueEvents(bad, { connection, autorun: false }), expected);
    });
  }

  test('a queue name with ":" leaves no keys behind', async () => {
    const name = `${uniqueQueueName('colon')}:x`;
    await expectConstructorThrows(() => new impl.Queue(name, { connection }), { message: 'Queue name cannot contain :' });
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(await queueKeys(name.split(':')[0]), []);
    assert.deepEqual(await queueKeys(name), []);
  });
});

describe(`Queue#add rejects bad input before touching Redis (${IMPL})`, () => {
  for (const [title, data, opts, expected] of SHARED_CASES) {
    test(title, async (t) => {
      const { name, q, before } = await seededQueue(t);
      await assert.rejects(q.add('bad', data, opts), expected);
      await assertUntouched(name, before);
    });
  }

  for (const [title, data, opts] of STRICT_CASES) {
    test(`${title} (bullrush-only)`, { skip: bullrushOnly }, async (t) => {
      const { name, q, before } = await seededQueue(t);
      await assert.rejects(q.add('bad', data, opts), (err) => {
        assert.ok(err instanceof Error, 'an Error');
        assert.ok(err.message.length > 0, 'with a message');
        return true;
      });
      await assertUntouched(name, before);
    });
  }

  test('addBulk with one bad entry adds nothing', async (t) => {
    const { name, q, before } = await seededQueue(t);
    await assert.rejects(
      q.addBulk([
        { name: 'good', data: { a: 1 } },
        { name: 'bad', data: {}, opts: { priority: 1.5 } },
        { name: 'good2', data: { a: 2 } },
      ]),
      { message: 'Priority should not be float' },
    );
    await assertUntouched(name, before);
  });

  test('addBulk with circular data adds nothing', async (t) => {
    const { name, q, before } = await seededQueue(t);
    await assert.rejects(
      q.addBulk([
        { name: 'good', data: { a: 1 } },
        { name: 'bad', data: circular },
      ]),
      { message: /circular/i },
    );
    await assertUntouched(name, before);
  });

  test('addBulk with attempts 0 adds nothing (bullrush-only)', { skip: bullrushOnly }, async (t) => {
    const { name, q, before } = await seededQueue(t);
    await assert.rejects(
      q.addBulk([
        { name: 'good', data: { a: 1 } },
        { name: 'bad', data: {}, opts: { attempts: 0 } },
      ]),
    );
    await assertUntouched(name, before);
  });

  test('valid edge values are accepted', async (t) => {
    const { q } = await seededQueue(t);
    const jobs = [
      await q.add('p-max', {}, { priority: 2097151 }),
      await q.add('p-zero', {}, { priority: 0 }),
      await q.add('three-segment-id', {}, { jobId: 'a:b:c' }),
      await q.add('alnum-id', {}, { jobId: '123abc' }),
      await q.add('delay-0', {}, { delay: 0 }),
      await q.add('attempts-1', {}, { attempts: 1 }),
      await q.add('size-limit-exact', { s: 'üü' }, { sizeLimit: 12 }),
      await q.add('size-limit-0', { s: 'big' }, { sizeLimit: 0 }),
    ];
    assert.equal(jobs[2].id, 'a:b:c');
    assert.equal(jobs[3].id, '123abc');
    assert.deepEqual(await q.getJobCounts('waiting', 'prioritized'), { waiting: 8, prioritized: 1 });
  });
});

describe(`FlowProducer#add rejects bad flows before touching Redis (${IMPL})`, () => {
  // A flow whose nodes live in the seeded queue; `child` adds to (or overrides) its child.
  const flow = (name, child) => ({ name: 'root', queueName: name, opts: { jobId: 'root' }, children: [{ name: 'kid', queueName: name, ...child }] });

  test('deduplication on a node with children', async (t) => {
    const { s, name, before } = await seededQueue(t);
    const producer = s.add(new impl.FlowProducer({ connection }));
    const bad = flow(name, { opts: { jobId: 'kid' }, children: [{ name: 'leaf', queueName: name }] });
    bad.children[0].opts.deduplication = { id: 'd' };
    await assert.rejects(producer.add(bad), { message: 'Deduplication options cannot be used on flow nodes with children' });
    await assertUntouched(name, before);
  });

  test('a node with bad options adds none of the flow', async (t) => {
    const { s, name, before } = await seededQueue(t);
    const producer = s.add(new impl.FlowProducer({ connection }));
    await assert.rejects(producer.add(flow(name, { opts: { priority: 1.5 } })), { message: 'Priority should not be float' });
    await assertUntouched(name, before);
  });

  test('a root whose parent does not exist stores nothing', async (t) => {
    const { s, name, before } = await seededQueue(t);
    const producer = s.add(new impl.FlowProducer({ connection }));
    const orphan = flow(name, {});
    orphan.opts.parent = { id: 'nobody', queue: `bull:${name}` };
    await assert.rejects(producer.add(orphan), { message: `Missing key for parent job bull:${name}:nobody. addJob`, code: -5 });
    await assertUntouched(name, before);
  });

  test('a node in a queue whose name has ":" (bullrush-only)', { skip: bullrushOnly }, async (t) => {
    const { s, name, before } = await seededQueue(t);
    const producer = s.add(new impl.FlowProducer({ connection }));
    await assert.rejects(producer.add(flow(name, { queueName: `${name}:x` })), { message: 'Queue name cannot contain :' });
    await assertUntouched(name, before);
    assert.deepEqual(await queueKeys(`${name}:x`), []);
  });
});

describe(`connection errors (${IMPL})`, () => {
  test('a port where nothing listens gives an error naming host and port', { timeout: 20000 }, async () => {
    const port = await freePort();
    const host = '127.0.0.1';
    const q = new impl.Queue(uniqueQueueName('refused'), { connection: { host, port } });
    const errors = [];
    q.on('error', (err) => errors.push(err));
    // Whichever comes first: an 'error' event (BullMQ's way) or a rejected add.
    const addOutcome = q.add('x', {}).then(
      () => ({ added: true }),
      (err) => ({ err }),
    );
    const err = await withTimeout(
      Promise.race([addOutcome.then((o) => o.err || new Error('add() succeeded against a closed port')), waitFor(() => errors[0], 10000)]),
      12000,
      'no error within 10 s',
    );
    assert.ok(err instanceof Error, 'an Error');
    assert.match(err.message, new RegExp(`${host.replace(/\./g, '\\.')}:${port}\\b`), `message names ${host}:${port}: ${err.message}`);
    await withTimeout(q.close(), 5000, 'close() of a never-connected Queue hangs');
  });
});
