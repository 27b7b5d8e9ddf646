'use strict';

// Flows shared by both libraries: a flow added by one kind of FlowProducer (or with the
// `parent` option of one kind of Queue) is processed by the other kind's workers; the
// children's values reach their parents across queues and prefixes, every failure
// option acts as it does under the producer's own library, and both kinds read the same
// tree back. Both directions.

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');

const { directions, workerOpts, connection } = require('./helpers/sides');
const { waitFor } = require('./helpers/redis');
const { createScope } = require('./helpers/util');

// A tree's ids, names, return values and parent keys, children in order.
function shape(node) {
  if (!node) return null;
  const { job } = node;
  const out = { id: job.id, name: job.name, returnvalue: job.returnvalue ?? null, parentKey: job.parentKey ?? null };
  if (node.children) out.children = node.children.map(shape);
  return out;
}

// Workers of `lib` on each of `queues` (`[name, prefix]`), all with `processor`.
function workersOn(s, lib, queues, processor) {
  return queues.map(([name, prefix]) => s.add(new lib.Worker(name, processor, workerOpts({ prefix }))));
}

async function stateOf(s, lib, name, id, prefix = 'bull') {
  const q = s.add(new lib.Queue(name, { connection, prefix }));
  return q.getJobState(id);
}

for (const dir of directions) {
  const P = dir.producer.lib;
  const C = dir.consumer.lib;

  describe(`flows across libraries: ${dir.label}`, () => {
    test('a tree across queues and prefixes: children values reach their parents, both kinds read it back alike', { timeout: 30000 }, async (t) => {
      const s = createScope();
      t.after(() => s.close());
      const top = s.queueName('flow-top');
      const side = s.track(s.queueName('flow-side'), 'flowx');
      const producer = s.add(new P.FlowProducer({ connection }));
      const tree = await producer.add({
        name: 'root',
        queueName: top,
        data: { sum: true },
        opts: { jobId: 'root' },
        children: [
          {
            name: 'mid',
            queueName: side,
            prefix: 'flowx',
            data: { sum: true },
            opts: { jobId: 'mid' },
            children: [{ name: 'leaf', queueName: top, data: { n: 2 }, opts: { jobId: 'leaf' } }],
          },
          { name: 'other', queueName: top, data: { n: 5 }, opts: { jobId: 'other' } },
        ],
      });
      assert.deepEqual(
        shape(tree).children.map((c) => [c.id, c.parentKey]),
        [
          ['mid', `bull:${top}:root`],
          ['other', `bull:${top}:root`],
        ],
      );

      const processor = async (job) => {
        if (!job.data.sum) return job.data.n;
        const values = Object.values(await job.getChildrenValues());
        return values.reduce((a, b) => a + b, 0);
      };
      const [topWorker] = workersOn(s, C, [[top, 'bull'], [side, 'flowx']], processor);
      const rootDone = new Promise((resolve) => {
        topWorker.on('completed', (job, result) => job.id === 'root' && resolve(result));
      });
      assert.equal(await rootDone, 7);

      const read = [];
      for (const lib of [P, C]) {
        const reader = s.add(new lib.FlowProducer({ connection }));
        // eslint-disable-next-line no-await-in-loop
        read.push(shape(await reader.getFlow({ id: 'root', queueName: top })));
      }
      assert.deepEqual(read[0], read[1], 'both kinds read the same tree');
      const byId = (nodes) => [...nodes].sort((x, y) => (x.id < y.id ? -1 : 1));
      assert.deepEqual({ ...read[0], children: byId(read[0].children) }, {
        id: 'root',
        name: 'root',
        returnvalue: 7,
        parentKey: null,
        children: [
          {
            id: 'mid',
            name: 'mid',
            returnvalue: 2,
            parentKey: `bull:${top}:root`,
            children: [{ id: 'leaf', name: 'leaf', returnvalue: 2, parentKey: `flowx:${side}:mid` }],
          },
          { id: 'other', name: 'other', returnvalue: 5, parentKey: `bull:${top}:root` },
        ],
      });
    });

    test('every failure option acts on the parent as under the producer\'s library', { timeout: 30000 }, async (t) => {
      const s = createScope();
      t.after(() => s.close());
      const parents = s.queueName('flow-parents');
      const kids = s.queueName('flow-kids');
      const producer = s.add(new P.FlowProducer({ connection }));
      const flags = {
        fpof: 'failParentOnFailure',
        cpof: 'continueParentOnFailure',
        idof: 'ignoreDependencyOnFailure',
        rdof: 'removeDependencyOnFailure',
        none: undefined,
      };
      await producer.addBulk(
        Object.entries(flags).map(([id, flag]) => ({
          name: id,
          queueName: parents,
          opts: { jobId: id },
          children: [{ name: `${id}-kid`, queueName: kids, data: { fail: true }, opts: { jobId: `${id}-kid`, ...(flag && { [flag]: true }) } }],
        })),
      );
      const failing = async (job) => {
        if (job.data.fail) throw new Error(`${job.id} broke`);
        return { ignored: await job.getIgnoredChildrenFailures(), counts: await job.getDependenciesCount() };
      };
      const [parentWorker, kidWorker] = workersOn(s, C, [[parents, 'bull'], [kids, 'bull']], failing);
      const settled = new Map();
      parentWorker.on('completed', (job, result) => settled.set(job.id, ['completed', result]));
      parentWorker.on('failed', (job, err) => settled.set(job.id, ['failed', err.message]));
      let kidsFailed = 0;
      kidWorker.on('failed', () => kidsFailed++);
      await waitFor(() => kidsFailed === 5 && settled.size === 4, 15000, {
        message: () => `kids failed ${kidsFailed}, parents settled ${JSON.stringify([...settled])}`,
      });
      const kid = (id) => `bull:${kids}:${id}-kid`;
      const counts = (over) => ({ processed: 0, unprocessed: 0, ignored: 0, failed: 0, ...over });
      assert.deepEqual(settled.get('fpof'), ['failed', `child ${kid('fpof')} failed`]);
      assert.deepEqual(settled.get('cpof'), ['completed', { ignored: { [kid('cpof')]: 'cpof-kid broke' }, counts: counts({ ignored: 1 }) }]);
      assert.deepEqual(settled.get('idof'), ['completed', { ignored: { [kid('idof')]: 'idof-kid broke' }, counts: counts({ ignored: 1 }) }]);
      assert.deepEqual(settled.get('rdof'), ['completed', { ignored: {}, counts: counts() }]);
      assert.equal(await stateOf(s, P, parents, 'none'), 'waiting-children', 'without a flag the parent keeps waiting');
      const fpof = await s.add(new P.Queue(parents, { connection })).getJob('fpof');
      assert.deepEqual(await fpof.getDependencies(), { processed: {}, unprocessed: [], failed: [kid('fpof')], ignored: {} });
    });

    test('a processor waits for the children it adds with the other kind\'s parent option', { timeout: 30000 }, async (t) => {
      const s = createScope();
      t.after(() => s.close());
      const name = s.queueName('flow-steps');
      const kids = s.queueName('flow-step-kids');
      const pq = s.add(new P.Queue(name, { connection }));
      const kq = s.add(new P.Queue(kids, { connection }));
      const answers = [];
      // The children are processed once their parent waits for them.
      const startKids = () => workersOn(s, P, [[kids, 'bull']], async (job) => job.data.n);
      const stepper = async (job, token) => {
        if (job.data.step === 'start') {
          const parent = { id: job.id, queue: job.queueQualifiedName };
          await kq.addBulk([
            { name: 'a', data: { n: 1 }, opts: { parent } },
            { name: 'b', data: { n: 2 }, opts: { parent } },
          ]);
          await job.updateData({ step: 'wait' });
          answers.push(await job.moveToWaitingChildren(token));
          startKids();
          throw new C.WaitingChildrenError();
        }
        answers.push(await job.moveToWaitingChildren(token));
        return Object.values(await job.getChildrenValues()).sort();
      };
      const [stepWorker] = workersOn(s, C, [[name, 'bull']], stepper);
      const done = new Promise((resolve) => stepWorker.on('completed', (job, result) => resolve(result)));
      await pq.add('stepper', { step: 'start' });
      assert.deepEqual(await done, [1, 2]);
      assert.deepEqual(answers, [true, false]);
    });

    test('a parent completed while a child is pending fails with BullMQ\'s error, reported by the worker', { timeout: 30000 }, async (t) => {
      const s = createScope();
      t.after(() => s.close());
      const name = s.queueName('flow-early');
      const idle = s.queueName('flow-idle');
      const producer = s.add(new P.FlowProducer({ connection }));
      await producer.add({
        name: 'parent',
        queueName: name,
        opts: { jobId: 'parent', attempts: 2 },
        children: [
          { name: 'bad', queueName: name, data: { fail: true }, opts: { jobId: 'bad', continueParentOnFailure: true } },
          { name: 'later', queueName: idle, opts: { jobId: 'later' } },
        ],
      });
      const worker = s.add(
        new C.Worker(name, async (job) => {
          if (job.data.fail) throw new Error('broke');
          return 'done';
        }, workerOpts()),
        { allowErrors: true },
      );
      const errors = [];
      worker.on('error', (err) => errors.push(err.message));
      const failures = [];
      worker.on('failed', (job, err) => job.id === 'parent' && failures.push([err.name, err.message, job.attemptsMade]));
      await waitFor(() => failures.length === 2, 10000, { message: () => JSON.stringify(failures) });
      const reason = 'Job parent has pending dependencies. moveToFinished';
      assert.deepEqual(failures, [
        ['Error', reason, 1],
        ['Error', reason, 2],
      ], 'an ordinary Error, retried while attempts remain');
      assert.deepEqual([...new Set(errors)], [reason]);
      assert.equal(await stateOf(s, P, name, 'parent'), 'failed');
    });

    test('a child added under a missing parent is refused and nothing is stored, either kind', async (t) => {
      const s = createScope();
      t.after(() => s.close());
      const name = s.queueName('flow-missing');
      const q = s.add(new P.Queue(name, { connection }));
      const parent = { id: 'nobody', queue: `bull:${name}` };
      await assert.rejects(q.add('orphan', {}, { parent }), {
        message: `Missing key for parent job bull:${name}:nobody. addJob`,
      });
      const producer = s.add(new P.FlowProducer({ connection }));
      const client = await producer.getBackend().client;
      assert.equal(await client.ping(), 'PONG', 'the producer answers health checks');
      assert.equal(await client.exists(`bull:${name}:nobody`), 0, 'and runs Redis commands');
      await assert.rejects(
        producer.add({ name: 'root', queueName: name, opts: { parent }, children: [{ name: 'kid', queueName: name }] }),
        { message: `Missing key for parent job bull:${name}:nobody. addJob`, code: -5 },
      );
      const counts = await s.add(new C.Queue(name, { connection })).getJobCounts();
      assert.equal(Object.values(counts).reduce((a, b) => a + b, 0), 0);
    });
  });
}
