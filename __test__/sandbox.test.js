'use strict';

// Sandboxed processors: a Worker given a processor file runs it in child processes, or
// worker threads with `useWorkerThreads`. Real children, real Redis, and real BullMQ on
// the other side: what the child sees of its job, calls it makes on its job (through the
// engine: events, logs, data, moves), the pool of reusable children, crashing children,
// close() ending them, lock renewal while a child blocks its own event loop, options,
// and jobs shared with BullMQ's sandboxed workers.

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { pathToFileURL } = require('node:url');

const { bullmq, impl, workerOpts, directions, connection } = require('./helpers/sides');
const { implLabel, isBullmqImpl } = require('./helpers/env');
const { waitFor, queueEventsReady, newRedis } = require('./helpers/redis');
const { createScope, nextEvent, recordEvents, spawnFixture, withTimeout, sleep, FIXTURES } = require('./helpers/util');

const SANDBOX = path.join(FIXTURES, 'sandbox');
const PROCESSOR = path.join(SANDBOX, 'processor.js');

const MODES = [
  { label: 'child processes', useWorkerThreads: false },
  { label: 'worker threads', useWorkerThreads: true },
];

// A scope, a queue and a sandboxed worker of `lib` running `file`; all closed afterwards
// (`allowErrors`: the worker's 'error' events are expected).
function setup(t, { lib = impl, file = PROCESSOR, allowErrors = false, ...opts } = {}) {
  const s = createScope();
  t.after(() => s.close());
  const name = s.queueName('sandbox');
  const queue = s.add(new lib.Queue(name, { connection }));
  const worker = s.add(new lib.Worker(name, file, workerOpts(opts)), { allowErrors });
  return { s, name, queue, worker, outcomes: outcomes(worker) };
}

// Every job outcome of `worker` by job id; `of(id)` resolves with the job's.
function outcomes(worker) {
  const seen = new Map();
  worker.on('completed', (job, value) => seen.set(job.id, { state: 'completed', job, value }));
  worker.on('failed', (job, err) => job && seen.set(job.id, { state: 'failed', job, err }));
  return {
    of: (id, timeoutMs = 10000) => waitFor(() => seen.get(id), timeoutMs, { message: `no outcome for job ${id}` }),
  };
}

// Whether a process with this pid is running.
function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    if (err.code === 'ESRCH') return false;
    throw err;
  }
}

// How many children the worker's pool has (at work and idle).
function poolSize(worker) {
  return Object.keys(worker.childPool.retained).length + worker.childPool.getAllFree().length;
}

for (const mode of MODES) {
  const { useWorkerThreads } = mode;

  describe(`sandboxed processors in ${mode.label} (${implLabel})`, () => {
    test('the processor gets the job as BullMQ sandboxes it, with its token and a signal', async (t) => {
      const { queue, worker, outcomes: o } = setup(t, { useWorkerThreads });
      const added = await queue.add('look', { mode: 'info', n: 1 }, { attempts: 2, priority: 3 });
      const { state, job, value } = await o.of(added.id);
      assert.equal(state, 'completed');
      assert.deepEqual(value.data, { mode: 'info', n: 1 });
      assert.equal(value.opts.attempts, 2);
      assert.equal(value.opts.priority, 3);
      assert.equal(value.token, job.token, 'the token the worker holds the job with');
      assert.equal(value.hasSignal, true);
      const { fields } = value;
      assert.equal(fields.id, added.id);
      assert.equal(fields.name, 'look');
      assert.equal(fields.attemptsMade, 0);
      assert.equal(fields.attemptsStarted, 1);
      assert.equal(fields.queueName, queue.name);
      assert.equal(fields.queueQualifiedName, `bull:${queue.name}`);
      assert.equal(fields.prefix, 'bull');
      assert.equal(typeof fields.timestamp, 'number');
      assert.equal(typeof fields.processedOn, 'number');
      for (const method of [
        'updateProgress', 'log', 'updateData', 'moveToDelayed', 'moveToWait', 'moveToWaitingChildren',
        'getChildrenValues', 'getIgnoredChildrenFailures', 'getDependenciesCount', 'getDependencies',
      ]) {
        assert.ok(value.methods.includes(method), `the sandboxed job has ${method}`);
      }
      if (useWorkerThreads) {
        assert.equal(value.pid, process.pid, 'a thread of this process');
        assert.ok(value.threadId > 0, 'not the main thread');
      } else {
        assert.notEqual(value.pid, process.pid, 'another process');
      }
      assert.equal((await queue.getJob(added.id)).returnvalue.fields.id, added.id, 'the result is stored');
    });

    for (const [label, file] of [
      ['a CommonJS .cjs file', path.join(SANDBOX, 'processor.cjs')],
      ['an ES module (.mjs)', path.join(SANDBOX, 'processor.mjs')],
      ['a file: URL', pathToFileURL(path.join(SANDBOX, 'processor.mjs'))],
    ]) {
      test(`runs ${label}`, async (t) => {
        const { queue, outcomes: o } = setup(t, { useWorkerThreads, file });
        const added = await queue.add('kind', { k: label });
        const { state, value } = await o.of(added.id);
        assert.equal(state, 'completed');
        assert.equal(value.module, label.includes('cjs') ? 'cjs' : 'esm');
        assert.deepEqual(value.input, { k: label });
      });
    }

    test(
      'a path without an extension runs the .js file it was checked against',
      { skip: isBullmqImpl && 'BullMQ checks for <path>.js but has the child import <path> itself, which fails' },
      async (t) => {
        const { queue, outcomes: o } = setup(t, { useWorkerThreads, file: PROCESSOR.slice(0, -'.js'.length) });
        const added = await queue.add('return', { mode: 'return', value: 'found' });
        assert.equal((await o.of(added.id)).value, 'found');
      },
    );

    test("progress, logs and data updates go through the worker's Job: events, Redis, BullMQ's QueueEvents", async (t) => {
      const { s, name, queue, worker, outcomes: o } = setup(t, { useWorkerThreads });
      const qe = s.add(new bullmq.QueueEvents(name, { connection }));
      await queueEventsReady(qe, name);
      const rec = recordEvents(qe, ['progress']);
      const local = recordEvents(worker, ['progress']);
      const added = await queue.add('steps', { mode: 'steps' });
      const { value } = await o.of(added.id);
      const progresses = [25, 50, { done: 75 }];
      assert.deepEqual(value, { progress: { done: 75 }, data: { mode: 'steps', updated: true } });
      assert.deepEqual(local.progress.map(([job, p]) => [job.id, p]), progresses.map((p) => [added.id, p]));
      await waitFor(() => rec.progress.length === 3);
      assert.deepEqual(rec.progress.map(([e]) => e.data), progresses, "BullMQ's QueueEvents saw each progress");
      const stored = await queue.getJob(added.id);
      assert.deepEqual(stored.progress, { done: 75 });
      assert.deepEqual(stored.data, { mode: 'steps', updated: true });
      assert.deepEqual((await queue.getJobLogs(added.id)).logs, ['first line', 'second line']);
    });

    test('a free child is reused: one child for jobs run one at a time', async (t) => {
      const { queue, worker, outcomes: o } = setup(t, { useWorkerThreads, concurrency: 1 });
      const ids = [];
      for (let i = 0; i < 3; i += 1) {
        const added = await queue.add('slow', { mode: 'slow', ms: 10 });
        ids.push((await o.of(added.id)).value);
      }
      const key = useWorkerThreads ? 'threadId' : 'pid';
      assert.equal(new Set(ids.map((r) => r[key])).size, 1, `one child for all three: ${JSON.stringify(ids)}`);
      assert.deepEqual(Object.keys(worker.childPool.retained), []);
      assert.equal(worker.childPool.getAllFree().length, 1);
    });

    test('concurrency N: jobs run at once in N children, never more', async (t) => {
      const { queue, worker, outcomes: o } = setup(t, { useWorkerThreads, concurrency: 3 });
      let most = 0;
      worker.on('active', () => {
        most = Math.max(most, poolSize(worker));
      });
      const jobs = await queue.addBulk(Array.from({ length: 9 }, () => ({ name: 'slow', data: { mode: 'slow', ms: 300 } })));
      const started = Date.now();
      const results = await Promise.all(jobs.map((job) => o.of(job.id)));
      const elapsed = Date.now() - started;
      const key = useWorkerThreads ? 'threadId' : 'pid';
      assert.ok(results.every((r) => r.state === 'completed'));
      assert.equal(new Set(results.map((r) => r.value[key])).size, 3, 'three children did the work');
      assert.ok(most <= 3, `at most 3 children at any start (saw ${most})`);
      assert.ok(poolSize(worker) <= 3);
      assert.ok(elapsed >= 900, `three rounds of 300 ms (took ${elapsed} ms)`);
    });

    test("a thrown error fails the job with its message, stack and fields; the child is kept", async (t) => {
      const { queue, worker, outcomes: o } = setup(t, { useWorkerThreads });
      const failed = await queue.add('fail', { mode: 'fail' });
      const { state, job, err } = await o.of(failed.id);
      assert.equal(state, 'failed');
      assert.equal(err.message, 'Manually failed processor');
      assert.match(err.stack, /fixtures\/sandbox\/processor\.js/);
      assert.equal(job.failedReason, 'Manually failed processor');
      assert.equal((await queue.getJob(failed.id)).failedReason, 'Manually failed processor');
      assert.deepEqual(Object.keys(worker.childPool.retained), []);
      assert.equal(worker.childPool.getAllFree().length, 1);

      const circular = await queue.add('circular', { mode: 'circular' });
      const c = await o.of(circular.id);
      assert.equal(c.err.message, 'error');
      assert.equal(c.err.reference, '[Circular]');
      assert.deepEqual(c.err.custom, { ref: '[Circular]' });
    });

    test('an UnrecoverableError from the child is not retried', async (t) => {
      const { queue, outcomes: o } = setup(t, { useWorkerThreads });
      const added = await queue.add('unrecoverable', { mode: 'unrecoverable' }, { attempts: 3 });
      const { state, job, err } = await o.of(added.id);
      assert.equal(state, 'failed');
      assert.equal(err.message, 'no retry for this one');
      assert.equal(job.attemptsMade, 1);
      assert.equal(await queue.getJobState(added.id), 'failed');
    });

    test('a crashing child fails only its own job; the next job gets a new child', async (t) => {
      const { queue, outcomes: o } = setup(t, { useWorkerThreads, concurrency: 2 });
      const slow = await queue.add('slow', { mode: 'slow', ms: 800 });
      const crash = await queue.add('crash', { mode: 'crash' });
      const crashed = await o.of(crash.id);
      assert.equal(crashed.state, 'failed');
      assert.equal(crashed.err.message, 'boom!', 'an uncaught exception fails the job with its error');
      assert.equal((await o.of(slow.id)).state, 'completed', 'the job in the other child completes');

      for (const [exitCode, message] of [
        [0, 'Unexpected exit code: 0 signal: null'],
        [3, 'Unexpected exit code: 3 signal: null'],
      ]) {
        const exit = await queue.add('exit', { mode: 'exit', exitCode });
        const exited = await o.of(exit.id);
        assert.equal(exited.state, 'failed');
        assert.equal(exited.err.message, message);
        assert.equal((await queue.getJob(exit.id)).failedReason, message);
      }
      const after = await queue.add('return', { mode: 'return', value: 'still working' });
      assert.deepEqual(await o.of(after.id).then((r) => [r.state, r.value]), ['completed', 'still working']);
    });

    test('a processor file that fails to load fails its jobs with its error; the broken child is not kept', async (t) => {
      for (const [file, message] of [
        ['broken.js', 'Broken file processor'],
        ['no-function.js', 'No function is exported in processor file'],
      ]) {
        const { queue, worker, outcomes: o } = setup(t, { useWorkerThreads, file: path.join(SANDBOX, file) });
        const added = await queue.add('any', {});
        const { state, err } = await o.of(added.id);
        assert.equal(state, 'failed');
        assert.equal(err.message, message);
        assert.equal(poolSize(worker), 0, `no child kept for ${file}`);
      }
    });

    test('moveToDelayed / moveToWait from the child move the job through the engine', async (t) => {
      const { queue, worker, outcomes: o } = setup(t, { useWorkerThreads });
      const failed = recordEvents(worker, ['failed']);
      const delayed = await queue.add('delayed', { mode: 'delayed', delay: 60000 });
      await waitFor(async () => (await queue.getJobState(delayed.id)) === 'delayed');
      const stored = await queue.getJob(delayed.id);
      assert.ok(stored.delay > 50000, `delayed by the child's timestamp (delay ${stored.delay})`);
      assert.equal(stored.attemptsMade, 0, 'the attempt does not count');

      const waited = await queue.add('wait', { mode: 'wait' });
      const { state, value } = await o.of(waited.id);
      assert.deepEqual([state, value], ['completed', 'second start'], 'back to wait, then taken again');
      assert.deepEqual(failed.failed, [], 'no failed event for a moved job');
    });

    test("flows: a child sees its parent, a parent reads its children's values and counts", async (t) => {
      const { s, name, outcomes: o } = setup(t, { useWorkerThreads });
      const flows = s.add(new impl.FlowProducer({ connection }));
      const tree = await flows.add({
        name: 'parent',
        queueName: name,
        data: { mode: 'family' },
        children: [1, 2].map((value) => ({ name: 'child', queueName: name, data: { mode: 'family', value } })),
      });
      const parent = await o.of(tree.job.id);
      assert.equal(parent.state, 'completed');
      const expected = {};
      for (const child of tree.children) {
        const { value } = await o.of(child.job.id);
        assert.deepEqual(value.parent, { id: tree.job.id, queueKey: `bull:${name}` });
        assert.equal(value.parentKey, `bull:${name}:${tree.job.id}`);
        expected[`bull:${name}:${child.job.id}`] = value;
      }
      assert.deepEqual(parent.value.values, expected);
      assert.equal(parent.value.counts.processed, 2);
      assert.equal(parent.value.counts.unprocessed, 0);
    });

    test('cancelJob aborts the signal the child gave its processor', async (t) => {
      const { queue, worker, outcomes: o } = setup(t, { useWorkerThreads });
      const active = nextEvent(worker, 'active');
      const added = await queue.add('cancel', { mode: 'cancel' });
      await active;
      await sleep(200);
      assert.equal(worker.cancelJob(added.id, 'stop now'), true);
      const { state, err } = await o.of(added.id);
      assert.equal(state, 'failed');
      assert.equal(err.message, 'cancelled: stop now');
    });

    test('close() ends every child and the process exits by itself, after the running job finished', async (t) => {
      const s = createScope();
      t.after(() => s.close());
      const name = s.queueName('sandbox-exit');
      const child = s.child(spawnFixture('sandbox-exit.js', [name, useWorkerThreads ? 'threads' : 'processes']));
      const { pids } = await child.waitMessage((m) => m.type === 'children', 20000);
      assert.equal(pids.length, 2, 'two children worked at once');
      const closed = await child.waitMessage((m) => m.type === 'closed', 20000);
      assert.equal(closed.slow, 'completed', 'close waited for the running job');
      if (!useWorkerThreads) assert.deepEqual(pids.filter(alive), [], 'no child process is left');
      const exit = await withTimeout(child.exited, 5000, () => `did not exit by itself; stderr: ${child.stderrText()}`);
      assert.equal(exit.code, 0, `exit code (stderr: ${child.stderrText()})`);
      const printed = child.messages.filter((m) => m.type === 'text').map((m) => m.text);
      assert.ok(printed.includes('printed by the sandboxed processor'), "the child's stdout goes to the parent's");
      assert.match(child.stderrText(), /written to stderr by the sandboxed processor/);
    });

    test('a child blocking its own event loop longer than lockDuration keeps its job (locks renewed by the worker)', { timeout: 30000 }, async (t) => {
      for (const skipLockRenewal of [false, true]) {
        const { s, name, queue, worker, outcomes: o } = setup(t, {
          useWorkerThreads,
          lockDuration: 1000,
          skipStalledCheck: true,
          skipLockRenewal,
          // Without renewal, finishing the job it lost is an error.
          allowErrors: skipLockRenewal,
        });
        await worker.waitUntilReady();
        const active = nextEvent(worker, 'active');
        const busy = await queue.add('busy', { mode: 'busy', ms: 2500 });
        await active;
        // A BullMQ worker checking for stalled jobs every 300 ms, which would take a
        // stalled job over.
        const taken = [];
        const checker = s.add(
          new bullmq.Worker(name, async (job) => taken.push(job.id) && 'taken over', {
            connection,
            stalledInterval: 300,
            lockDuration: 1000,
            drainDelay: 1,
          }),
          { allowErrors: true },
        );
        const stalled = recordEvents(checker, ['stalled']);
        if (!skipLockRenewal) {
          const { state, value } = await o.of(busy.id);
          assert.equal(state, 'completed');
          assert.ok(value.busyMs >= 2500, 'the child blocked its loop for 2.5 s');
          const stored = await queue.getJob(busy.id);
          assert.equal(stored.attemptsStarted, 1);
          assert.equal(stored.stalledCounter, 0);
          assert.deepEqual(stalled.stalled, [], 'never stalled');
          assert.deepEqual(taken, [], 'never taken by the checker');
        } else {
          // Contrast: without renewal the same job is lost to the checker.
          await waitFor(() => taken.length === 1, 10000, { message: 'the checker never took the job' });
          assert.deepEqual(stalled.stalled.map(([id]) => id), [busy.id]);
        }
        await checker.close();
      }
    });
  });
}

describe(`sandbox options (${implLabel})`, () => {
  test("a missing file or file: URL throws at construction, with BullMQ's messages", async (t) => {
    const s = createScope();
    t.after(() => s.close());
    const missing = path.join(SANDBOX, 'missing.js');
    const child = s.child(spawnFixture('sandbox-missing.js', [missing]));
    const exit = await withTimeout(child.exited, 10000, 'sandbox-missing.js did not finish');
    assert.equal(exit.code, 0, child.stderrText());
    assert.deepEqual(
      child.messages.map((m) => [m.type, m.message]),
      [
        ['thrown', `File ${missing} does not exist`],
        ['thrown', `File ${missing} does not exist`],
        ['thrown', `URL ${pathToFileURL(missing)} does not exist in the local file system`],
      ],
    );
  });

  test('workerForkOptions reach the child process (env)', async (t) => {
    const { queue, outcomes: o } = setup(t, {
      workerForkOptions: { env: { ...process.env, SANDBOX_FIXTURE_ENV: 'from fork options' } },
    });
    const added = await queue.add('info', { mode: 'info' });
    assert.equal((await o.of(added.id)).value.env, 'from fork options');
  });

  test(
    'a child process that dies before it loads the processor fails the job (no pipes: stdio ignore)',
    { skip: isBullmqImpl && "BullMQ's pool waits for such a child forever: the job never ends" },
    async (t) => {
      const { queue, worker, outcomes: o } = setup(t, {
        workerForkOptions: { execArgv: ['--no-such-flag'], stdio: 'ignore' },
      });
      const added = await queue.add('return', { mode: 'return', value: 1 });
      const { state, err } = await o.of(added.id);
      assert.equal(state, 'failed');
      assert.equal(err.message, 'Error initializing child: Invalid Argument and signal null');
      assert.equal(poolSize(worker), 0);
    },
  );

  test('workerThreadsOptions reach the worker thread (env)', async (t) => {
    const { queue, outcomes: o } = setup(t, {
      useWorkerThreads: true,
      workerThreadsOptions: { env: { ...process.env, SANDBOX_FIXTURE_ENV: 'from thread options' } },
    });
    const added = await queue.add('info', { mode: 'info' });
    assert.equal((await o.of(added.id)).value.env, 'from thread options');
  });

  test(
    'a child whose worker process dies (SIGKILL) ends at once instead of running on',
    { skip: isBullmqImpl && "BullMQ's child runs its job to the end after its parent is gone" },
    async (t) => {
      const s = createScope();
      t.after(() => s.close());
      const parent = s.child(spawnFixture('sandbox-orphan.js', [s.queueName('sandbox-orphan')]));
      const { pid } = await parent.waitMessage((m) => m.type === 'child', 15000);
      assert.equal(alive(pid), true);
      parent.kill('SIGKILL');
      await parent.exited;
      await waitFor(() => !alive(pid), 5000, { message: `child ${pid} still runs without its parent` });
    },
  );

  test('a child killed with SIGKILL while it works fails its job', async (t) => {
    const { queue, worker, outcomes: o } = setup(t);
    const active = nextEvent(worker, 'active');
    const added = await queue.add('slow', { mode: 'slow', ms: 5000 });
    await active;
    await waitFor(() => Object.values(worker.childPool.retained)[0]);
    await sleep(200);
    await Object.values(worker.childPool.retained)[0].kill('SIGKILL');
    const { state, err } = await o.of(added.id);
    assert.equal(state, 'failed');
    assert.equal(err.message, 'Unexpected exit code: null signal: SIGKILL');
  });
});

describe('sandboxed workers share jobs with the other library', () => {
  for (const { label, producer, consumer } of directions) {
    test(`${label}: a ${consumer.label} sandboxed worker processes the ${producer.label} job; both kinds of QueueEvents see it`, async (t) => {
      const s = createScope();
      t.after(() => s.close());
      const name = s.queueName('sandbox-interop');
      const queue = s.add(new producer.lib.Queue(name, { connection }));
      const qes = [s.add(new bullmq.QueueEvents(name, { connection })), s.add(new impl.QueueEvents(name, { connection }))];
      for (const qe of qes) await queueEventsReady(qe, name);
      const recs = qes.map((qe) => recordEvents(qe, ['progress', 'completed']));
      s.add(new consumer.lib.Worker(name, PROCESSOR, workerOpts()));
      const added = await queue.add('steps', { mode: 'steps' }, { attempts: 2 });
      for (const rec of recs) {
        await waitFor(() => rec.completed.length === 1, 10000);
        assert.equal(rec.completed[0][0].jobId, added.id);
        const { returnvalue } = rec.completed[0][0];
        assert.deepEqual(typeof returnvalue === 'string' ? JSON.parse(returnvalue) : returnvalue, {
          progress: { done: 75 },
          data: { mode: 'steps', updated: true },
        });
        assert.deepEqual(rec.progress.map(([e]) => e.data), [25, 50, { done: 75 }]);
      }
      const redis = newRedis();
      t.after(() => redis.quit());
      assert.deepEqual(await redis.lrange(`bull:${name}:${added.id}:logs`, 0, -1), ['first line', 'second line']);
      const stored = await producer.lib.Job.fromId(queue, added.id);
      assert.deepEqual(stored.data, { mode: 'steps', updated: true });
      assert.equal(stored.attemptsMade, 1);
    });
  }
});
