'use strict';

// Resilience: lock renewal while the JS event loop is blocked, a Redis server
// killed and restarted under a worker and a listener, connection refused,
// clean process exit after connection failures, AUTH and db selection.
//
// Tests that need a Redis of their own (restart, refused-then-up, AUTH) start
// a private redis-server (helpers/private-redis.js) and kill it afterwards.

const { test, describe, before, after } = require('node:test');
const assert = require('node:assert/strict');

const { bullmq, impl, connection } = require('./helpers/sides');
const { isBullmqImpl, implLabel } = require('./helpers/env');
const { uniqueQueueName, waitFor, queueEventsReady, newRedis } = require('./helpers/redis');
const {
  createScope,
  recordEvents,
  spawnFixture,
  freePort,
  withTimeout,
  closeAll,
  sleep,
} = require('./helpers/util');
const { PrivateRedis, HOST } = require('./helpers/private-redis');

const addrRe = (port) => new RegExp(`${HOST.replace(/\./g, '\\.')}:${port}\\b`);

// Records 'error' events of an emitter with the time they arrived.
function recordErrors(emitter) {
  const errors = [];
  emitter.on('error', (err) => errors.push({ at: Date.now(), message: String(err && err.message) }));
  return errors;
}

// Closes everything, bounded so a hanging close cannot hang the suite.
function closeBounded(things, ms = 10000) {
  return withTimeout(closeAll(things), ms, `close() did not return within ${ms} ms`);
}

// ---------------------------------------------------------------------------
// 1. Lock renewal while the JS event loop is blocked.

describe(`lock renewal with a blocked event loop (${implLabel})`, () => {
  // Runs the busy-worker fixture (processor busy-loops `busyMs`, lockDuration
  // 1000) on a fresh queue with a BullMQ worker running its stalled checker
  // every 300 ms, and reports what everyone saw.
  async function blockedProcessorScenario(t, mode, busyMs = 2500) {
    const s = createScope();
    t.after(() => s.close());
    const name = s.queueName(`busy-${mode}`);
    const q = s.add(new bullmq.Queue(name, { connection }));
    const qes = [
      s.add(new bullmq.QueueEvents(name, { connection })),
      s.add(new impl.QueueEvents(name, { connection })),
    ];
    for (const qe of qes) {
      // eslint-disable-next-line no-await-in-loop
      await queueEventsReady(qe, name);
    }
    const recs = qes.map((qe) => recordEvents(qe, ['stalled', 'completed', 'active']));

    const child = s.child(spawnFixture('busy-worker.js', [name, String(busyMs), mode]));
    await child.waitMessage((m) => m.type === 'ready', 15000);

    const job = await q.add('busy', { mode });
    const held = await child.waitMessage((m) => m.type === 'active', 10000);
    assert.equal(held.id, job.id, 'the busy worker holds the job');

    // Only now the checker: a BullMQ worker that would also process the job
    // if the stalled check moved it back to wait.
    const checkerProcessed = [];
    const checker = s.add(
      new bullmq.Worker(
        name,
        async (j) => {
          checkerProcessed.push({ id: j.id, attemptsStarted: j.attemptsStarted, stalledCounter: j.stalledCounter });
          return 'taken over by the bullmq checker';
        },
        { connection, stalledInterval: 300, lockDuration: 1000, drainDelay: 1 },
      ),
    );
    const checkerStalled = [];
    checker.on('stalled', (id) => checkerStalled.push(id));

    // Meanwhile, watch the stalled checker work (each run stores its
    // timestamp in `stalled-check`) and the lock's TTL while the job is active.
    const probe = newRedis();
    const samples = { checkRuns: new Set(), whileActive: 0, lockMissing: 0, lockTtls: [] };
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        /* eslint-disable no-await-in-loop */
        const [[, checkRun], [, ttl], [, pos]] = await probe
          .multi()
          .get(`bull:${name}:stalled-check`)
          .pttl(`bull:${name}:${job.id}:lock`)
          .lpos(`bull:${name}:active`, job.id)
          .exec();
        if (pos !== null) {
          samples.whileActive += 1;
          if (checkRun) samples.checkRuns.add(checkRun);
          if (ttl < 0) samples.lockMissing += 1;
          else samples.lockTtls.push(ttl);
        }
        await sleep(50);
        /* eslint-enable no-await-in-loop */
      }
    })();

    let exit;
    try {
      await child.waitMessage((m) => m.type === 'closed', busyMs + 15000);
      exit = await withTimeout(child.exited, 5000, 'busy-worker did not exit after closing its worker');
    } finally {
      sampling = false;
      await sampler.catch(() => {});
      await probe.quit();
    }
    await waitFor(async () => (await q.getJobState(job.id)) === 'completed', 10000, {
      message: async () => `job state ${await q.getJobState(job.id)}`,
    });
    // Give QueueEvents a moment to deliver the tail of the stream.
    await waitFor(() => recs.every((r) => r.completed.length >= 1), 5000);
    await sleep(300);

    return { job, q, child, exit, recs, checkerProcessed, checkerStalled, samples, stored: await q.getJob(job.id) };
  }

  test(
    'a processor blocking the event loop for 2.5 s keeps its job (lockDuration 1000): renewed from Rust, no stall',
    {
      timeout: 40000,
      skip: isBullmqImpl && 'BullMQ renews locks from JS timers, which a blocked event loop stops (bullrush-only)',
    },
    async (t) => {
      const r = await blockedProcessorScenario(t, 'renew');
      assert.equal(r.exit.code, 0, `busy-worker exit code (stderr: ${r.child.stderrText()})`);
      assert.ok(r.child.messages.find((m) => m.type === 'processed').busyMs >= 2500, 'the loop was blocked ≥ 2.5 s');
      assert.ok(r.samples.whileActive >= 20, `sampled the held job ${r.samples.whileActive} times`);
      assert.ok(r.samples.checkRuns.size >= 3, `the BullMQ stalled checker ran while the job was held (${r.samples.checkRuns.size} runs seen)`);
      assert.equal(r.samples.lockMissing, 0, `the lock never expired (ttls ${r.samples.lockTtls.join(',')})`);

      assert.deepEqual(r.child.messages.filter((m) => m.type === 'active').map((m) => m.id), [r.job.id], 'processed once by the busy worker');
      assert.deepEqual(r.checkerProcessed, [], 'never handed to the BullMQ worker');
      assert.deepEqual(r.checkerStalled, [], "no 'stalled' on the BullMQ checker worker");
      assert.equal(r.stored.returnvalue, 'done by busy-worker (renew)');
      assert.equal(r.stored.attemptsStarted, 1);
      assert.equal(r.stored.stalledCounter, 0);
      for (const [k, rec] of r.recs.entries()) {
        const who = `${['bullmq', implLabel][k]} QueueEvents`;
        assert.deepEqual(rec.stalled, [], `${who}: no stalled event`);
        assert.deepEqual(rec.active.map(([a]) => a.jobId), [r.job.id], `${who}: active once`);
        assert.deepEqual(rec.completed.map(([a]) => a.jobId), [r.job.id], `${who}: completed once`);
      }

      // The busy worker's own events, last: the lock never lapsed (sampled
      // above), so an 'error' here comes after the finish. A 'could not renew
      // lock' error then, with the 'completed' event missing because of it, is
      // the renewal/finish race, tested deterministically in the next describe.
      assert.deepEqual(
        r.child.messages.filter((m) => m.type === 'completed' || m.type === 'error'),
        [{ type: 'completed', id: r.job.id, result: 'done by busy-worker (renew)' }],
        `the busy worker emitted 'completed' and no 'error' (see the renewal/finish race test): ${JSON.stringify(r.child.messages)}`,
      );
    },
  );

  test(
    'contrast: with skipLockRenewal the same blocked processor loses its job to the stalled checker',
    { timeout: 40000 },
    async (t) => {
      const r = await blockedProcessorScenario(t, 'skip');
      assert.equal(r.exit.code, 0, `busy-worker exit code (stderr: ${r.child.stderrText()})`);
      assert.ok(r.samples.lockMissing > 0, 'the lock expired while the loop was blocked');
      assert.ok(r.samples.checkRuns.size >= 2, `the BullMQ stalled checker ran (${r.samples.checkRuns.size} runs seen)`);

      assert.deepEqual(r.checkerStalled, [r.job.id], "'stalled' on the BullMQ checker worker");
      assert.deepEqual(r.checkerProcessed, [{ id: r.job.id, attemptsStarted: 2, stalledCounter: 1 }], 'the BullMQ worker took it over');
      assert.equal(r.stored.returnvalue, 'taken over by the bullmq checker');
      assert.equal(r.stored.stalledCounter, 1);
      assert.deepEqual(
        r.child.messages.filter((m) => m.type === 'completed'),
        [],
        `the busy worker could not complete a job it no longer held: ${JSON.stringify(r.child.messages)}`,
      );
      const late = r.child.messages.find((m) => m.type === 'error');
      assert.ok(late, `the busy worker reports its late finish as an error: ${JSON.stringify(r.child.messages)}`);
      assert.match(late.message, new RegExp(`(lock|state).*\\b${r.job.id}\\b|\\b${r.job.id}\\b.*(lock|state)`, 'i'));
      for (const [k, rec] of r.recs.entries()) {
        const who = `${['bullmq', implLabel][k]} QueueEvents`;
        assert.deepEqual(rec.stalled.map(([a]) => a.jobId), [r.job.id], `${who}: stalled`);
      }
    },
  );
});

describe(`lock renewal racing job completion (${implLabel})`, () => {
  // With a very short lockRenewTime the renewal of a job's lock is often in
  // flight while the same job is being finished. A lock that is gone because
  // its job just completed is not a lost lock: no 'error', no
  // 'lockRenewalFailed', and every completion is still emitted.
  test('300 short jobs, concurrency 10, lockRenewTime 4: no lock errors, every completed event emitted', { timeout: 30000 }, async (t) => {
    const s = createScope();
    t.after(() => s.close());
    const name = s.queueName('renew-race');
    const q = s.add(new impl.Queue(name, { connection }));
    const total = 300;
    await q.addBulk(Array.from({ length: total }, (_, i) => ({ name: 'short', data: { i } })));
    const w = s.add(
      new impl.Worker(
        name,
        async (j) => {
          await sleep(5);
          return j.data.i;
        },
        { connection, concurrency: 10, lockDuration: 1000, lockRenewTime: 4, drainDelay: 1 },
      ),
      { allowErrors: true },
    );
    const errors = recordErrors(w);
    const lost = [];
    w.on('lockRenewalFailed', (ids) => lost.push(...ids));
    const completed = new Set();
    w.on('completed', (job) => completed.add(job.id));

    await waitFor(async () => (await q.getJobCounts('completed')).completed === total, 20000, {
      message: async () => JSON.stringify(await q.getJobCounts('completed', 'active', 'wait', 'failed')),
    });
    await sleep(200);
    assert.deepEqual(
      {
        errors: errors.length,
        lockRenewalFailed: lost.length,
        firstErrors: errors.slice(0, 3).map((e) => e.message),
        completedEvents: completed.size,
      },
      { errors: 0, lockRenewalFailed: 0, firstErrors: [], completedEvents: total },
      "no lock renewal failures for jobs that completed, and a 'completed' event for every job",
    );
  });
});

// ---------------------------------------------------------------------------
// 2. Redis killed and restarted.

describe(`Redis restart (${implLabel})`, () => {
  test(
    'worker reports errors naming host:port, survives, and processes jobs added after Redis is back; QueueEvents recovers',
    { timeout: 45000 },
    async (t) => {
      const redis = await PrivateRedis.create();
      const conn = { host: HOST, port: redis.port };
      const name = uniqueQueueName('restart');

      const q = new impl.Queue(name, { connection: conn });
      const qe = new impl.QueueEvents(name, { connection: conn });
      const w = new impl.Worker(name, async (j) => ({ doubled: j.data.n * 2 }), {
        connection: conn,
        drainDelay: 1,
        lockDuration: 2000,
        stalledInterval: 1000,
      });
      t.after(async () => {
        try {
          await closeBounded([w, qe, q]);
        } finally {
          await redis.dispose();
        }
      });
      const errors = { worker: recordErrors(w), queueEvents: recordErrors(qe), queue: recordErrors(q) };
      const completed = [];
      w.on('completed', (job, result) => completed.push({ id: job.id, result }));
      const closedEvents = [];
      w.on('closed', () => closedEvents.push(Date.now()));
      const seen = recordEvents(qe, ['completed']);

      let admin = redis.client();
      try {
        await withTimeout(w.waitUntilReady(), 10000, 'worker not ready');
        await queueEventsReady(qe, name, { client: admin, timeoutMs: 8000 });
      } finally {
        await admin.quit();
      }

      for (let i = 0; i < 3; i++) {
        // eslint-disable-next-line no-await-in-loop
        await q.add('before', { n: i }, { jobId: `before-${i}` });
      }
      await waitFor(() => completed.length === 3 && seen.completed.length === 3, 10000, {
        message: () => `worker completed ${JSON.stringify(completed)}, QueueEvents saw ${seen.completed.length}`,
      });
      assert.deepEqual(Object.values(errors).flat(), [], 'no errors while Redis was up');

      const killedAt = Date.now();
      await redis.kill();
      await sleep(1000);
      await redis.start(); // same port, empty
      const backAt = Date.now();

      // Jobs added once Redis is back. A Queue that was idle while Redis was
      // down may need a retry here: that is tested on its own below.
      const addFailures = [];
      for (let i = 0; i < 3; i++) {
        // eslint-disable-next-line no-await-in-loop
        await waitFor(
          async () => {
            try {
              await q.add('after', { n: 10 + i }, { jobId: `after-${i}` });
              return true;
            } catch (err) {
              addFailures.push(err.message);
              throw err;
            }
          },
          10000,
          { interval: 200, message: () => `add after restart keeps failing: ${addFailures.join(' | ')}` },
        );
      }

      const afterIds = ['after-0', 'after-1', 'after-2'];
      await waitFor(() => afterIds.every((id) => completed.some((c) => c.id === id)), 20000, {
        message: () =>
          `worker completed ${JSON.stringify(completed)}; worker errors ${JSON.stringify(errors.worker)}`,
      });
      await waitFor(() => afterIds.every((id) => seen.completed.some(([a]) => a.jobId === id)), 20000, {
        message: () =>
          `QueueEvents saw ${JSON.stringify(seen.completed.map(([a]) => a.jobId))}; ` +
          `QueueEvents errors ${JSON.stringify(errors.queueEvents)}`,
      });

      // The worker reported the outage, naming the server, and did not stop.
      const outage = errors.worker.filter((e) => e.at >= killedAt);
      assert.ok(outage.length >= 1, 'worker emitted error events while Redis was down');
      for (const e of outage) {
        assert.match(e.message, addrRe(redis.port), `worker error names ${HOST}:${redis.port}: ${e.message}`);
      }
      assert.ok(
        outage.some((e) => e.at < backAt),
        `an error arrived while Redis was down (errors at +${outage.map((e) => e.at - killedAt).join(', +')} ms, back at +${backAt - killedAt} ms)`,
      );
      assert.deepEqual(closedEvents, [], 'the worker did not close');
      assert.equal(w.isRunning(), true, 'the worker is still running');
      for (const e of errors.queueEvents) {
        assert.match(e.message, addrRe(redis.port), `QueueEvents error names ${HOST}:${redis.port}: ${e.message}`);
      }

      // Everything after the restart is exact: each job once, stored completed.
      assert.deepEqual(
        completed.filter((c) => c.id.startsWith('after-')),
        afterIds.map((id, i) => ({ id, result: { doubled: 2 * (10 + i) } })),
      );
      for (const [i, id] of afterIds.entries()) {
        /* eslint-disable no-await-in-loop */
        assert.equal(await q.getJobState(id), 'completed');
        assert.deepEqual((await q.getJob(id)).returnvalue, { doubled: 2 * (10 + i) });
        /* eslint-enable no-await-in-loop */
      }
      assert.deepEqual(
        seen.completed.filter(([a]) => a.jobId.startsWith('after-')).map(([a]) => [a.jobId, a.returnvalue]),
        afterIds.map((id, i) => [id, { doubled: 2 * (10 + i) }]),
      );
      t.diagnostic(`add failures after restart: ${addFailures.length ? addFailures.join(' | ') : 'none'}`);
      t.diagnostic(`worker errors: ${errors.worker.map((e) => `+${e.at - killedAt}ms ${e.message}`).join(' | ')}`);
    },
  );

  test('a Queue that was idle while Redis was down adds on its first try once Redis is back', { timeout: 30000 }, async (t) => {
    const redis = await PrivateRedis.create();
    const conn = { host: HOST, port: redis.port };
    const name = uniqueQueueName('restart-idle');
    const q = new impl.Queue(name, { connection: conn });
    t.after(async () => {
      try {
        await closeBounded([q]);
      } finally {
        await redis.dispose();
      }
    });
    const errors = recordErrors(q);

    await q.add('before', { n: 1 });
    await redis.kill();
    await sleep(1000);
    await redis.start();

    // ioredis (BullMQ) reconnects in the background and queues commands
    // meanwhile; a command issued after the server is back must not fail
    // because the client only then notices its old socket is dead.
    const outcome = await withTimeout(
      q.add('after', { n: 2 }).then(
        (job) => ({ job }),
        (err) => ({ err }),
      ),
      10000,
      'add after restart hangs',
    );
    assert.ifError(outcome.err);
    assert.equal(await q.getJobState(outcome.job.id), 'waiting');
    t.diagnostic(`queue errors: ${JSON.stringify(errors)}`);
  });
});

// ---------------------------------------------------------------------------
// 3. Connection refused.

describe(`connection refused (${implLabel})`, () => {
  test('Queue#add rejects (or the Queue errors) naming 127.0.0.1:<port>; close() returns promptly', { timeout: 20000 }, async () => {
    const port = await freePort();
    const q = new impl.Queue(uniqueQueueName('refused'), { connection: { host: HOST, port } });
    const errors = recordErrors(q);
    // Whichever comes first: a rejected add, or an 'error' event (BullMQ's way:
    // its add waits for a connection).
    const addOutcome = q.add('x', {}).then(
      () => ({ added: true }),
      (err) => ({ err }),
    );
    const message = await withTimeout(
      Promise.race([
        addOutcome.then((o) => (o.err ? o.err.message : 'add() succeeded against a closed port')),
        waitFor(() => errors[0], 10000).then((e) => e.message),
      ]),
      12000,
      'neither a rejected add nor an error event within 10 s',
    );
    assert.match(message, addrRe(port), `names ${HOST}:${port}: ${message}`);
    const t0 = Date.now();
    await withTimeout(q.close(), 3000, 'Queue#close() hangs');
    assert.ok(Date.now() - t0 < 3000);
  });

  test('a Worker emits error events naming host:port while it retries; close() returns promptly', { timeout: 20000 }, async () => {
    const port = await freePort();
    const w = new impl.Worker(uniqueQueueName('refused'), async () => 'never', { connection: { host: HOST, port }, drainDelay: 1 });
    const errors = recordErrors(w);
    try {
      await waitFor(() => errors.length >= 1, 10000, { message: 'no error event from the Worker' });
      if (isBullmqImpl) {
        // ioredis reports every reconnection attempt.
        await waitFor(() => errors.length >= 3, 8000, {
          message: () => `the Worker stopped retrying after ${errors.length} error(s): ${JSON.stringify(errors)}`,
        });
      } else {
        // bullrush reports an outage once, however many attempts it makes (that it
        // keeps trying shows in the next test, where Redis comes up later).
        await new Promise((r) => setTimeout(r, 3000));
        assert.equal(errors.length, 1, `one error per outage: ${JSON.stringify(errors)}`);
      }
      for (const e of errors) assert.match(e.message, addrRe(port), `names ${HOST}:${port}: ${e.message}`);
    } finally {
      if (isBullmqImpl) {
        // BullMQ's Worker#close() waits for a connection that never comes
        // (bullrush-only strictness): let it connect so it can close.
        const redis = await PrivateRedis.create({ port });
        try {
          await closeBounded([w]);
        } finally {
          await redis.dispose();
        }
      } else {
        const t0 = Date.now();
        await withTimeout(w.close(), 3000, 'Worker#close() hangs');
        assert.ok(Date.now() - t0 < 3000);
      }
    }
  });

  test('a Worker started before Redis is up starts processing once Redis listens on that port', { timeout: 30000 }, async (t) => {
    const port = await freePort();
    const conn = { host: HOST, port };
    const name = uniqueQueueName('refused-then-up');
    const w = new impl.Worker(name, async (j) => j.data.n + 1, { connection: conn, drainDelay: 1 });
    let q;
    let redis;
    t.after(async () => {
      try {
        await closeBounded([w, q]);
      } finally {
        if (redis) await redis.dispose();
      }
    });
    const errors = recordErrors(w);
    const completed = [];
    w.on('completed', (job, result) => completed.push({ id: job.id, result }));
    await waitFor(() => errors.length >= 1, 10000, { message: 'no error event from the Worker' });

    redis = await PrivateRedis.create({ port });
    q = new impl.Queue(name, { connection: conn });
    const job = await withTimeout(q.add('late', { n: 41 }), 10000, 'add hangs');
    await waitFor(() => completed.length === 1, 15000, {
      message: async () =>
        `the Worker never processed a job after Redis came up (job state ${await q.getJobState(job.id)}); ` +
        `its errors: ${JSON.stringify(errors)}`,
    });
    assert.deepEqual(completed, [{ id: job.id, result: 42 }]);
  });
});

// ---------------------------------------------------------------------------
// 4. A process whose objects never connected exits by itself.

describe(`process exit after connection failures (${implLabel})`, () => {
  for (const mode of ['worker', 'all']) {
    const what = mode === 'worker' ? 'a Worker' : 'a Queue, a QueueEvents and a Worker';
    const skip = isBullmqImpl && "bullrush-only strictness: BullMQ's Worker#close() waits for a connection that never comes";
    test(`a child process with ${what} pointed at a dead port, closed after 500 ms, exits with code 0`, { timeout: 20000, skip }, async (t) => {
      const port = await freePort();
      const child = spawnFixture('dead-port-exit.js', [String(port), mode]);
      t.after(() => child.ensureDead());
      const closed = await child.waitMessage((m) => m.type === 'closed', 10000);
      assert.ok(closed.closeMs < 3000, `close() took ${closed.closeMs} ms`);
      for (const message of closed.errors) assert.match(message, addrRe(port), `error names ${HOST}:${port}: ${message}`);
      const exit = await withTimeout(
        child.exited,
        5000,
        () => `the child did not exit within 5 s of closing; stderr: ${child.stderrText()}`,
      );
      assert.deepEqual(exit, { code: 0, signal: null }, `stderr: ${child.stderrText()}`);
    });
  }
});

// ---------------------------------------------------------------------------
// 5. AUTH and db selection.

describe(`AUTH and db selection (${implLabel})`, () => {
  let redis;
  let db2;
  let db0;
  before(async () => {
    redis = await PrivateRedis.create({ args: ['--requirepass', 'secret'] });
    db2 = redis.client({ password: 'secret', db: 2 });
    db0 = redis.client({ password: 'secret', db: 0 });
  });
  after(async () => {
    await Promise.allSettled([db2 && db2.quit(), db0 && db0.quit()]);
    if (redis) await redis.dispose();
  });

  const variants = [
    { label: '{ host, port, password, db: 2 }', make: () => ({ host: HOST, port: redis.port, password: 'secret', db: 2 }) },
    {
      label: 'redis://:secret@127.0.0.1:<port>/2 (a URL string)',
      make: () => `redis://:secret@${HOST}:${redis.port}/2`,
      // BullMQ spreads a string `connection` as an options object and ends up
      // on 127.0.0.1:6379; it takes a URL as `{ url }` only.
      skip: isBullmqImpl && 'bullrush extension: BullMQ does not take a URL string as `connection`',
    },
    { label: '{ url: redis://:secret@127.0.0.1:<port>/2 }', make: () => ({ url: `redis://:secret@${HOST}:${redis.port}/2` }) },
    {
      label: 'an ioredis instance (password, db 2)',
      make: () => redis.client({ password: 'secret', db: 2, maxRetriesPerRequest: null }),
      owned: true,
    },
  ];

  for (const v of variants) {
    test(`connection ${v.label}: jobs processed, keys in db 2`, { timeout: 20000, skip: v.skip }, async (t) => {
      const conn = v.make();
      const name = uniqueQueueName('auth');
      const q = new impl.Queue(name, { connection: conn });
      const qe = new impl.QueueEvents(name, { connection: conn });
      const w = new impl.Worker(name, async (j) => `${j.data.word}!`, { connection: conn, drainDelay: 1 });
      t.after(async () => {
        await closeBounded([w, qe, q]);
        if (v.owned) await conn.quit();
        const keys = await db2.keys(`bull:${name}:*`);
        if (keys.length) await db2.del(...keys);
      });
      const errors = [recordErrors(q), recordErrors(qe), recordErrors(w)];
      const completed = [];
      w.on('completed', (job, result) => completed.push({ id: job.id, result }));
      const seen = recordEvents(qe, ['completed']);

      await withTimeout(w.waitUntilReady(), 10000, 'worker not ready');
      await queueEventsReady(qe, name, { client: db2, timeoutMs: 8000 });
      const a = await q.add('w', { word: 'hello' });
      const b = await q.add('w', { word: 'world' });
      await waitFor(() => completed.length === 2 && seen.completed.length === 2, 10000, {
        message: () =>
          `completed ${JSON.stringify(completed)}, QueueEvents saw ${seen.completed.length}; errors ${JSON.stringify(errors)}`,
      });
      assert.deepEqual(completed, [
        { id: a.id, result: 'hello!' },
        { id: b.id, result: 'world!' },
      ]);
      assert.deepEqual(seen.completed.map(([e]) => [e.jobId, e.returnvalue]), [
        [a.id, 'hello!'],
        [b.id, 'world!'],
      ]);
      assert.deepEqual(errors.flat(), [], 'no error events');

      const keys = await db2.keys(`bull:${name}:*`);
      for (const k of ['id', 'meta', 'events', 'completed', a.id, b.id]) {
        assert.ok(keys.includes(`bull:${name}:${k}`), `db 2 has bull:${name}:${k} (has ${keys.join(', ')})`);
      }
      assert.equal(await db2.hget(`bull:${name}:${a.id}`, 'returnvalue'), '"hello!"');
      assert.deepEqual(await db0.keys(`bull:${name}:*`), [], 'nothing in db 0');
    });
  }
});
