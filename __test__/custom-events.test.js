'use strict';

// Custom events: a QueueEventsProducer of either kind publishes, and QueueEvents of both
// kinds receive the event under its name with BullMQ's listener signature
// `(fields, id)`; the stream entry and its trimming (maxEvents) are the same as
// BullMQ's for the same calls.

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');

const { sides, connection } = require('./helpers/sides');
const { newRedis, queueEventsReady } = require('./helpers/redis');
const { createScope, nextEvent } = require('./helpers/util');

const STREAM_ID = /^\d+-\d+$/;

// An entry's fields as `[name, value, ...]`.
async function lastEntry(redis, name) {
  const [[id, fields]] = await redis.xrevrange(`bull:${name}:events`, '+', '-', 'COUNT', 1);
  return { id, fields };
}

describe('custom events (QueueEventsProducer.publishEvent)', () => {
  for (const producer of sides) {
    test(`${producer.label} producer: both kinds of QueueEvents receive the event`, { timeout: 20000 }, async (t) => {
      const s = createScope();
      t.after(() => s.close());
      const name = s.queueName('custom');
      const listeners = [];
      for (const side of sides) {
        const qe = s.add(new side.lib.QueueEvents(name, { connection }));
        // eslint-disable-next-line no-await-in-loop
        await queueEventsReady(qe, name);
        listeners.push({ side, received: nextEvent(qe, 'report-ready', { timeoutMs: 10000 }) });
      }
      const events = s.add(new producer.lib.QueueEventsProducer(name, { connection }));
      await events.publishEvent({ eventName: 'report-ready', reportId: 'r-17', pages: 12, draft: false });
      for (const { side, received } of listeners) {
        // eslint-disable-next-line no-await-in-loop
        const [fields, id] = await received;
        assert.deepEqual(fields, { reportId: 'r-17', pages: '12', draft: 'false' }, `${side.label} QueueEvents' fields`);
        assert.match(id, STREAM_ID, `${side.label} QueueEvents' id`);
      }
    });
  }

  test("the stream entry is BullMQ's: field order, values as text, null and undefined empty", { timeout: 20000 }, async (t) => {
    const s = createScope();
    t.after(() => s.close());
    const redis = newRedis();
    t.after(() => redis.quit());
    const payload = { eventName: 'audit', user: 'ann', count: 3, ratio: 0.5, none: null, gone: undefined, nested: { a: 1 } };
    const entries = [];
    for (const side of sides) {
      const name = s.queueName('custom-entry');
      const events = s.add(new side.lib.QueueEventsProducer(name, { connection }));
      // eslint-disable-next-line no-await-in-loop
      await events.publishEvent(payload);
      // eslint-disable-next-line no-await-in-loop
      entries.push((await lastEntry(redis, name)).fields);
    }
    assert.deepEqual(entries[1], entries[0]);
    assert.deepEqual(entries[0].slice(0, 4), ['event', 'audit', 'user', 'ann']);
  });

  test('maxEvents trims the stream as BullMQ does (MAXLEN ~)', { timeout: 30000 }, async (t) => {
    const s = createScope();
    t.after(() => s.close());
    const redis = newRedis();
    t.after(() => redis.quit());
    const lengths = [];
    for (const side of sides) {
      const name = s.queueName('custom-trim');
      const events = s.add(new side.lib.QueueEventsProducer(name, { connection }));
      for (let i = 0; i < 250; i += 1) {
        // eslint-disable-next-line no-await-in-loop
        await events.publishEvent({ eventName: 'tick', i }, 20);
      }
      // eslint-disable-next-line no-await-in-loop
      lengths.push(await redis.xlen(`bull:${name}:events`));
    }
    assert.equal(lengths[1], lengths[0]);
    assert.ok(lengths[0] < 250, `the stream was trimmed (${lengths[0]} entries)`);
  });

  test('a custom event reaches `<eventName>:<jobId>` listeners when it carries a jobId', { timeout: 20000 }, async (t) => {
    const s = createScope();
    t.after(() => s.close());
    const name = s.queueName('custom-job');
    const [, impl] = sides;
    const qe = s.add(new impl.lib.QueueEvents(name, { connection }));
    await queueEventsReady(qe, name);
    const perJob = nextEvent(qe, 'checkpoint:42');
    const events = s.add(new impl.lib.QueueEventsProducer(name, { connection }));
    await events.publishEvent({ eventName: 'checkpoint', jobId: '42', step: 'b' });
    const [fields] = await perJob;
    assert.deepEqual(fields, { jobId: '42', step: 'b' });
  });
});
