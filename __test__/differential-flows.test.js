'use strict';

// Differential Redis-state tests of flows: the same flows added, processed, failed,
// retried and removed by `bullmq` on one set of queues and by the implementation under
// test on another, every queue of the scenario dumped, normalised and compared (see
// helpers/differential.js). A scenario's other queues are named after its main queue
// (ctx.otherQueue), so the keys that point across queues normalise alike. Every node
// has a custom id: generated ids are UUIDs, which all normalise to `<uuid>`.

const { describe } = require('node:test');

const { bullmq, connection } = require('./helpers/sides');
const { implLabel } = require('./helpers/env');
const { differential } = require('./helpers/differential');

const KIDS = '-kids';
const GRANDPARENTS = '-gp';
// A queue no worker of the scenario serves: its jobs stay pending for their parents.
const IDLE = '-idle';

// `value` with the scenario's queue names as `<queue>` (records are compared as they are).
function named(ctx, value) {
  return JSON.parse(JSON.stringify(value === undefined ? null : value).split(ctx.name).join('<queue>'));
}

// The ids, names and parent links of a JobNode tree.
function shape(node) {
  if (!node) return null;
  const out = { id: node.job.id, name: node.job.name, parentKey: node.job.parentKey ?? null };
  if (node.children) out.children = node.children.map(shape);
  return out;
}

async function addFlow(ctx, flow, opts) {
  const producer = ctx.scope.add(new ctx.lib.FlowProducer({ connection }));
  return producer.add(flow, opts);
}

// A processor driven by job.data, the same on both sides: `fail` throws it, a job with
// `report` returns what it can read of its children, anything else returns `ret` or
// the job's name.
function flowProcessor(ctx) {
  return async (job) => {
    const d = job.data || {};
    if (d.fail) throw new Error(d.fail);
    if (d.report) {
      return {
        values: sorted(await job.getChildrenValues()),
        ignored: sorted(await job.getIgnoredChildrenFailures()),
        counts: await job.getDependenciesCount(),
      };
    }
    return d.ret ?? job.name;
  };
}

// An object with its keys in order: a hash's field order is Redis' (by key, once the
// hash outgrows its compact encoding), and the keys name queues that differ per side.
function sorted(object) {
  return Object.fromEntries(Object.entries(object).sort(([a], [b]) => (a < b ? -1 : 1)));
}

// A failed job's reason, as the worker's `failed` events saw it.
function recordFailures(ctx, worker, key) {
  const reasons = [];
  worker.on('failed', (job, err) => reasons.push([job.id, err.message]));
  return () => ctx.record(key, named(ctx, reasons));
}

describe(`differential flows: adding (bullmq vs ${implLabel})`, () => {
  differential('a tree across two queues: parents wait, leaves wait, delayed or prioritized', async (ctx) => {
    await ctx.queue();
    const kids = ctx.otherQueue(KIDS);
    const tree = await addFlow(ctx, {
      name: 'root',
      queueName: ctx.name,
      data: { r: 1 },
      opts: { jobId: 'root', attempts: 2, priority: 4, delay: 500 },
      children: [
        {
          name: 'mid',
          queueName: kids,
          opts: { jobId: 'mid', failParentOnFailure: true },
          children: [
            { name: 'leaf-a', queueName: ctx.name, data: { a: [1, 2] }, opts: { jobId: 'leaf-a', lifo: true } },
            { name: 'leaf-b', queueName: kids, opts: { jobId: 'leaf-b', delay: 60000, ignoreDependencyOnFailure: true } },
          ],
        },
        { name: 'leaf-c', queueName: kids, opts: { jobId: 'leaf-c', priority: 2, continueParentOnFailure: true } },
        { name: 'leaf-d', queueName: ctx.name, opts: { jobId: 'leaf-d', removeDependencyOnFailure: true } },
      ],
    });
    ctx.record('tree', named(ctx, shape(tree)));
    ctx.record('leaf data', tree.children[0].children[0].job.data);
    await ctx.snap('flow added', { markers: 'exact' });
    await ctx.snapOther('flow added', KIDS, { markers: 'exact' });
  });

  differential('queuesOptions, a root under an existing parent, and a root whose parent is missing', async (ctx) => {
    const q = await ctx.queue();
    await q.add('holder', {}, { jobId: 'holder' });
    const producer = ctx.scope.add(new ctx.lib.FlowProducer({ connection }));
    const kids = ctx.otherQueue(KIDS);
    const tree = await producer.add(
      {
        name: 'attached',
        queueName: kids,
        opts: { jobId: 'attached', parent: { id: 'holder', queue: `bull:${ctx.name}` } },
        children: [{ name: 'kid', queueName: kids, opts: { jobId: 'kid' } }],
      },
      { queuesOptions: { [kids]: { defaultJobOptions: { attempts: 3, removeOnComplete: true } } } },
    );
    ctx.record('attached tree', named(ctx, shape(tree)));
    const missing = { id: 'nobody', queue: `bull:${ctx.name}` };
    const refused = await producer
      .add({ name: 'orphan', queueName: kids, opts: { jobId: 'orphan', parent: missing }, children: [{ name: 'x', queueName: kids, opts: { jobId: 'x' } }] })
      .then(() => 'added', (err) => [err.message, err.code]);
    ctx.record('missing parent', named(ctx, refused));
    await ctx.snap('flows added', { markers: 'exact' });
    await ctx.snapOther('flows added', KIDS, { markers: 'exact' });
  });

  differential('addBulk, nodes that exist already (linked, completed ones counted as processed) and a child of another parent', async (ctx) => {
    const q = await ctx.queue();
    const producer = ctx.scope.add(new ctx.lib.FlowProducer({ connection }));
    await producer.add({ name: 'tue', queueName: ctx.name, opts: { jobId: 'tue' }, children: [{ name: 'mon', queueName: ctx.name, opts: { jobId: 'mon' } }] });
    await q.add('done', { ret: 'early' }, { jobId: 'done' });
    await ctx.processAll(flowProcessor(ctx));
    const trees = await producer.addBulk([
      { name: 'wed', queueName: ctx.name, opts: { jobId: 'wed' }, children: [{ name: 'tue', queueName: ctx.name, opts: { jobId: 'tue' } }] },
      { name: 'thu', queueName: ctx.name, opts: { jobId: 'thu' }, children: [{ name: 'done', queueName: ctx.name, opts: { jobId: 'done' } }] },
    ]);
    ctx.record('trees', named(ctx, trees.map(shape)));
    await q.add('fri', {}, { jobId: 'fri' });
    const moved = await q
      .add('mon', {}, { jobId: 'mon', parent: { id: 'fri', queue: `bull:${ctx.name}` } })
      .then(() => 'added', (err) => [err.message, err.code]);
    ctx.record('child of another parent', named(ctx, moved));
    await ctx.snap('nodes linked', { markers: 'exact' });
  });

  differential('the parent option on add and addBulk, and a parent that does not exist', async (ctx) => {
    const q = await ctx.queue();
    const kids = ctx.otherQueue(KIDS);
    const kq = ctx.scope.add(new ctx.lib.Queue(kids, { connection }));
    await q.add('parent', {}, { jobId: 'parent' });
    const parent = { id: 'parent', queue: `bull:${ctx.name}` };
    const one = await kq.add('one', { n: 1 }, { parent, failParentOnFailure: true });
    const bulk = await kq.addBulk([
      { name: 'two', data: {}, opts: { parent, delay: 1000 } },
      { name: 'three', data: {}, opts: { parent, jobId: 'three', priority: 1 } },
    ]);
    ctx.record('added', named(ctx, [one, ...bulk].map((j) => [j.id, j.parentKey, j.parent])));
    const refused = await kq
      .add('lost', {}, { parent: { id: 'gone', queue: `bull:${ctx.name}` } })
      .then(() => 'added', (err) => [err.message, err.code]);
    ctx.record('missing parent', named(ctx, refused));
    await ctx.snap('children added', { markers: 'exact' });
    await ctx.snapOther('children added', KIDS, { markers: 'exact' });
  });
});

describe(`differential flows: processing (bullmq vs ${implLabel})`, () => {
  // The worker side alone: the same flows added by BullMQ's FlowProducer on both sides.
  differential('a flow added by BullMQ\'s FlowProducer, processed by each side\'s workers, every failure flag', async (ctx) => {
    await ctx.queue();
    const kids = ctx.otherQueue(KIDS);
    const producer = ctx.scope.add(new bullmq.FlowProducer({ connection }));
    const flags = ['failParentOnFailure', 'continueParentOnFailure', 'ignoreDependencyOnFailure', 'removeDependencyOnFailure'];
    await producer.addBulk(
      flags.map((flag) => ({
        name: flag,
        queueName: ctx.name,
        data: { report: true },
        opts: { jobId: flag },
        children: [
          { name: 'ok', queueName: kids, data: { ret: { flag } }, opts: { jobId: `${flag}-ok` } },
          { name: 'bad', queueName: kids, data: { fail: flag }, opts: { jobId: `${flag}-bad`, [flag]: true } },
        ],
      })),
    );
    await ctx.processAll(flowProcessor(ctx), {}, { queue: kids });
    await ctx.snap('children done');
    const worker = ctx.worker(flowProcessor(ctx));
    const done = recordFailures(ctx, worker, 'parent failures');
    await ctx.waitIdle();
    await ctx.closeWorkers();
    done();
    await ctx.snap('parents done');
    await ctx.snapOther('parents done', KIDS);
  });

  differential('children values reach their parents; a released parent goes by its priority', async (ctx) => {
    await ctx.queue();
    const kids = ctx.otherQueue(KIDS);
    await addFlow(ctx, {
      name: 'root',
      queueName: ctx.name,
      data: { report: true },
      opts: { jobId: 'root', priority: 5 },
      children: [
        {
          name: 'mid',
          queueName: kids,
          data: { report: true },
          opts: { jobId: 'mid' },
          children: [
            { name: 'k1', queueName: ctx.name, data: { ret: { deep: [1, 'x'] } }, opts: { jobId: 'k1' } },
            { name: 'k2', queueName: ctx.name, data: { ret: 'two' }, opts: { jobId: 'k2' } },
          ],
        },
        { name: 'c', queueName: kids, data: { ret: 3 }, opts: { jobId: 'c' } },
      ],
    });
    await ctx.processAll(flowProcessor(ctx));
    await ctx.snap('grandchildren done');
    await ctx.snapOther('grandchildren done', KIDS);
    await ctx.processAll(flowProcessor(ctx), {}, { queue: kids });
    await ctx.snap('children done, root released');
    await ctx.processAll(flowProcessor(ctx));
    await ctx.snap('all done');
    await ctx.snapOther('all done', KIDS);
  });

  differential('a parent with a delay is released to delayed', async (ctx) => {
    await ctx.queue();
    await addFlow(ctx, {
      name: 'later',
      queueName: ctx.name,
      opts: { jobId: 'later', delay: 300 },
      children: [{ name: 'now', queueName: ctx.name, opts: { jobId: 'now' } }],
    });
    ctx.worker(flowProcessor(ctx));
    await ctx.waitIdle();
    await ctx.closeWorkers();
    await ctx.snap('parent processed after its delay');
  });

  differential('failParentOnFailure fails the parent and, through it, the grandparent', async (ctx) => {
    await ctx.queue();
    const kids = ctx.otherQueue(KIDS);
    await addFlow(ctx, {
      name: 'grand',
      queueName: ctx.name,
      opts: { jobId: 'grand' },
      children: [
        {
          name: 'parent',
          queueName: ctx.name,
          opts: { jobId: 'parent', failParentOnFailure: true },
          children: [
            { name: 'bad', queueName: kids, data: { fail: 'broken' }, opts: { jobId: 'bad', failParentOnFailure: true } },
            { name: 'good', queueName: kids, opts: { jobId: 'good' } },
          ],
        },
      ],
    });
    await ctx.processAll(flowProcessor(ctx), {}, { queue: kids });
    await ctx.snap('child failed');
    const worker = ctx.worker(flowProcessor(ctx));
    const done = recordFailures(ctx, worker, 'failures');
    await ctx.waitIdle();
    await ctx.closeWorkers();
    done();
    await ctx.snap('parent and grandparent failed');
    await ctx.snapOther('parent and grandparent failed', KIDS);
  });

  differential('continueParentOnFailure releases the parent at once; its completion then fails on the pending child', async (ctx) => {
    await ctx.queue();
    const kids = ctx.otherQueue(KIDS);
    await addFlow(ctx, {
      name: 'parent',
      queueName: ctx.name,
      data: { report: true },
      opts: { jobId: 'parent' },
      children: [
        { name: 'bad', queueName: kids, data: { fail: 'nope' }, opts: { jobId: 'bad', continueParentOnFailure: true } },
        { name: 'slow', queueName: ctx.otherQueue(IDLE), opts: { jobId: 'slow' } },
      ],
    });
    await ctx.processAll(flowProcessor(ctx), {}, { queue: kids });
    await ctx.snap('parent released');
    // Both workers report the refused completion as an `error`, then fail the job.
    const worker = ctx.worker(flowProcessor(ctx), {}, { allowErrors: true });
    const done = recordFailures(ctx, worker, 'failures');
    await ctx.waitIdle();
    await ctx.closeWorkers();
    done();
    await ctx.snap('parent failed for its pending child');
  });

  differential('ignoreDependencyOnFailure and removeDependencyOnFailure drop the child; without a flag the parent waits', async (ctx) => {
    await ctx.queue();
    const kids = ctx.otherQueue(KIDS);
    await addFlow(ctx, {
      name: 'parent',
      queueName: ctx.name,
      data: { report: true },
      opts: { jobId: 'parent' },
      children: [
        { name: 'ignored', queueName: kids, data: { fail: 'ignore me' }, opts: { jobId: 'ignored', ignoreDependencyOnFailure: true } },
        { name: 'removed', queueName: kids, data: { fail: 'forget me' }, opts: { jobId: 'removed', removeDependencyOnFailure: true } },
        { name: 'fine', queueName: kids, opts: { jobId: 'fine' } },
      ],
    });
    await addFlow(ctx, {
      name: 'stuck',
      queueName: ctx.name,
      opts: { jobId: 'stuck' },
      children: [{ name: 'plain', queueName: kids, data: { fail: 'no flag' }, opts: { jobId: 'plain' } }],
    });
    await ctx.processAll(flowProcessor(ctx), {}, { queue: kids });
    await ctx.processAll(flowProcessor(ctx));
    await ctx.snap('parent done, the other still waiting');
    await ctx.snapOther('parent done, the other still waiting', KIDS);
  });

  differential('children removed on completion keep their values in the parent; a last child removed on failure releases it', async (ctx) => {
    await ctx.queue();
    await addFlow(ctx, {
      name: 'parent',
      queueName: ctx.name,
      data: { report: true },
      opts: { jobId: 'parent' },
      children: [
        { name: 'gone', queueName: ctx.name, data: { ret: 'g' }, opts: { jobId: 'gone', removeOnComplete: true } },
        { name: 'kept', queueName: ctx.name, data: { ret: 'k' }, opts: { jobId: 'kept', removeOnComplete: 1 } },
        { name: 'pushed', queueName: ctx.name, data: { ret: 'p' }, opts: { jobId: 'pushed', removeOnComplete: 1 } },
      ],
    });
    await addFlow(ctx, {
      name: 'waiter',
      queueName: ctx.name,
      opts: { jobId: 'waiter' },
      children: [{ name: 'dropped', queueName: ctx.name, data: { fail: 'x' }, opts: { jobId: 'dropped', removeOnFail: true } }],
    });
    await ctx.processAll(flowProcessor(ctx));
    await ctx.snap('all done');
  });

  differential('a child that stalls past maxStalledCount fails its parent as a failure would', async (ctx) => {
    await ctx.queue();
    await addFlow(ctx, {
      name: 'parent',
      queueName: ctx.name,
      opts: { jobId: 'parent' },
      children: [{ name: 'stuck', queueName: ctx.name, opts: { jobId: 'stuck', failParentOnFailure: true } }],
    });
    const k = (x) => `bull:${ctx.name}:${x}`;
    await ctx.redis.multi().rpoplpush(k('wait'), k('active')).sadd(k('stalled'), 'stuck').exec();
    ctx.worker(flowProcessor(ctx), { maxStalledCount: 0 });
    await ctx.waitIdle();
    await ctx.closeWorkers();
    await ctx.snap('child and parent failed');
  });

  differential('a processor waits for the children it adds (moveToWaitingChildren + WaitingChildrenError)', async (ctx) => {
    const q = await ctx.queue();
    const kids = ctx.otherQueue(KIDS);
    const kq = ctx.scope.add(new ctx.lib.Queue(kids, { connection }));
    const answers = [];
    const stepper = async (job, token) => {
      if (job.data.step === 'start') {
        await kq.add('helper', { ret: 'helped' }, { jobId: 'helper', parent: { id: job.id, queue: job.queueQualifiedName } });
        await job.updateData({ step: 'wait' });
        const child = { id: 'helper', queue: `bull:${kids}` };
        answers.push(await job.moveToWaitingChildren(token, { child }));
        throw new ctx.lib.WaitingChildrenError();
      }
      answers.push(await job.moveToWaitingChildren(token));
      return job.getChildrenValues();
    };
    await q.add('stepper', { step: 'start' }, { jobId: 'stepper' });
    await ctx.processAll(stepper);
    await ctx.snap('waiting for its child');
    await ctx.processAll(flowProcessor(ctx), {}, { queue: kids });
    await ctx.processAll(stepper);
    ctx.record('moveToWaitingChildren answers', answers);
    await ctx.snap('done');
  });
});

describe(`differential flows: changing and removing (bullmq vs ${implLabel})`, () => {
  differential('job.remove takes the children with it (or not), and releases a grandparent', async (ctx) => {
    const q = await ctx.queue();
    const kids = ctx.otherQueue(KIDS);
    const gp = ctx.otherQueue(GRANDPARENTS);
    await addFlow(ctx, {
      name: 'grand',
      queueName: gp,
      opts: { jobId: 'grand' },
      children: [
        {
          name: 'parent',
          queueName: ctx.name,
          opts: { jobId: 'parent' },
          children: [
            { name: 'done', queueName: kids, opts: { jobId: 'done' } },
            { name: 'bad', queueName: kids, data: { fail: 'x' }, opts: { jobId: 'bad', failParentOnFailure: true } },
            { name: 'pending', queueName: kids, opts: { jobId: 'pending' }, children: [{ name: 'deep', queueName: gp, opts: { jobId: 'deep' } }] },
          ],
        },
      ],
    });
    await addFlow(ctx, {
      name: 'keeper',
      queueName: ctx.name,
      opts: { jobId: 'keeper' },
      children: [{ name: 'orphaned', queueName: ctx.name, opts: { jobId: 'orphaned', delay: 60000 } }],
    });
    await ctx.redis.set(`bull:${gp}:deep:lock`, 'someone');
    const locked = await q.remove('parent').then((n) => n, (err) => err.message);
    ctx.record('locked descendant', locked);
    await ctx.redis.del(`bull:${gp}:deep:lock`);
    await ctx.processAll(flowProcessor(ctx), {}, { queue: kids });
    const parent = await q.getJob('parent');
    await parent.remove();
    ctx.record('keeper removed without children', await q.remove('keeper', { removeChildren: false }));
    await ctx.snap('removed');
    await ctx.snapOther('removed', KIDS);
    await ctx.snapOther('removed', GRANDPARENTS);
  });

  differential('removeChildDependency and removeUnprocessedChildren', async (ctx) => {
    const q = await ctx.queue();
    // Distinct delays: nodes added in one step may or may not share a millisecond,
    // and delayed jobs due in the same one are ordered by a sequence.
    await addFlow(ctx, {
      name: 'p1',
      queueName: ctx.name,
      opts: { jobId: 'p1' },
      children: [
        { name: 'a', queueName: ctx.name, opts: { jobId: 'a', delay: 60000 } },
        { name: 'b', queueName: ctx.name, opts: { jobId: 'b', delay: 60001 } },
      ],
    });
    await addFlow(ctx, {
      name: 'p2',
      queueName: ctx.name,
      opts: { jobId: 'p2' },
      children: [
        { name: 'c', queueName: ctx.name, opts: { jobId: 'c', delay: 60002 }, children: [{ name: 'c1', queueName: ctx.name, opts: { jobId: 'c1', delay: 60003 } }] },
        { name: 'd', queueName: ctx.name, opts: { jobId: 'd', delay: 60004 } },
      ],
    });
    const a = await q.getJob('a');
    ctx.record('a detached', [await a.removeChildDependency(), a.parentKey ?? null]);
    ctx.record('a again', await a.removeChildDependency().then(String, (err) => [err.message, err.code]));
    ctx.record('b detached', await (await q.getJob('b')).removeChildDependency());
    await ctx.snap('p1 released');
    await ctx.redis.set(`bull:${ctx.name}:d:lock`, 'someone');
    await (await q.getJob('p2')).removeUnprocessedChildren();
    await ctx.redis.del(`bull:${ctx.name}:d:lock`);
    await ctx.snap('p2 kept its locked child', { markers: 'exact' });
  });

  differential('retrying a failed and a completed child makes them pending again', async (ctx) => {
    const q = await ctx.queue();
    await addFlow(ctx, {
      name: 'parent',
      queueName: ctx.name,
      opts: { jobId: 'parent' },
      children: [
        { name: 'bad', queueName: ctx.name, data: { fail: 'x' }, opts: { jobId: 'bad', ignoreDependencyOnFailure: true } },
        { name: 'good', queueName: ctx.name, opts: { jobId: 'good' } },
        { name: 'late', queueName: ctx.otherQueue(IDLE), opts: { jobId: 'late' } },
      ],
    });
    await ctx.processAll(flowProcessor(ctx));
    await (await q.getJob('bad')).retry('failed');
    await (await q.getJob('good')).retry('completed');
    await ctx.snap('children pending again', { markers: 'exact' });
  });

  differential('drain and obliterate with flows: parents here go, parents elsewhere are released', async (ctx) => {
    const q = await ctx.queue();
    const gp = ctx.otherQueue(GRANDPARENTS);
    await addFlow(ctx, {
      name: 'outer',
      queueName: gp,
      opts: { jobId: 'outer' },
      children: [
        { name: 'inner', queueName: ctx.name, opts: { jobId: 'inner' }, children: [{ name: 'w', queueName: ctx.name, opts: { jobId: 'w' } }] },
      ],
    });
    await addFlow(ctx, {
      name: 'remote',
      queueName: gp,
      opts: { jobId: 'remote' },
      children: [{ name: 'p', queueName: ctx.name, opts: { jobId: 'p', priority: 2 } }],
    });
    await q.drain();
    await ctx.snap('drained', { markers: 'exact' });
    await ctx.snapOther('drained', GRANDPARENTS, { markers: 'exact' });
    await addFlow(ctx, {
      name: 'again',
      queueName: gp,
      opts: { jobId: 'again' },
      children: [{ name: 'd', queueName: ctx.name, opts: { jobId: 'd', delay: 60000 } }],
    });
    await q.obliterate();
    await ctx.snap('obliterated', { markers: 'exact' });
    await ctx.snapOther('obliterated', GRANDPARENTS, { markers: 'exact' });
  });

  differential('removeOrphanedJobs deletes job keys no state holds', async (ctx) => {
    const q = await ctx.queue();
    await addFlow(ctx, {
      name: 'parent',
      queueName: ctx.name,
      opts: { jobId: 'parent' },
      children: [{ name: 'kid', queueName: ctx.name, opts: { jobId: 'kid' } }],
    });
    const k = (x) => `bull:${ctx.name}:${x}`;
    await ctx.redis
      .multi()
      .hset(k('lost'), 'name', 'lost', 'data', '{}', 'opts', '{}')
      .rpush(k('lost:logs'), 'line')
      .hset(k('ghost:processed'), 'x', '1')
      .exec();
    ctx.record('removed', await q.removeOrphanedJobs());
    await ctx.snap('orphans gone', { markers: 'exact' });
  });
});
