'use strict';

// The differential Redis-state harness ("Redis state is the interface",
// ARCHITECTURE.md), shared by differential*.test.js.
//
// Every scenario runs twice: once with `bullmq` on one queue, once with the
// implementation under test on another queue (each side uses only its own
// Queue / Worker / Job objects). At named checkpoints the whole key space of
// each queue (`bull:<name>:*`) is dumped and normalised (helpers/snapshot.js
// documents every normalisation and why), and the two states must be deeply
// equal. Values the scenario observes through the API (returned ids, processing
// order, log counts, ...) are recorded per side and compared too.
//
// Determinism: jobs are added before the worker starts; workers have
// concurrency 1; every checkpoint with a worker is taken after the worker is
// idle (wait/active/prioritized/delayed empty) and closed. Workers use
// stalledInterval 60 s so the `stalled-check` key set by the check at worker
// start is present at every checkpoint on both sides (with a short interval its
// presence would depend on how long the scenario ran). The `marker` zset is
// compared exactly only at checkpoints where no worker ever ran on the queue
// (`markers: 'exact'`); with workers it is a hint a blocked BZPOPMIN may or may
// not have consumed by the time of the dump, so only its invariant is checked.
//
// Set DIFF_DUMP_DIR=/some/dir to write both sides' raw and normalised states
// of every checkpoint as JSON, for investigation.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const { bullmq, impl, connection } = require('./sides');
const { implLabel } = require('./env');
const { newRedis, waitFor } = require('./redis');
const { createScope } = require('./util');
const { snapshotQueue, diffStates, canon } = require('./snapshot');

const SIDES = [
  { label: 'bullmq', lib: bullmq },
  { label: implLabel, lib: impl },
];

function workerOptions(extra = {}) {
  return {
    connection,
    concurrency: 1,
    drainDelay: 1,
    lockDuration: 2000,
    stalledInterval: 60000,
    ...extra,
  };
}

// Everything one side of a scenario uses.
function makeContext(s, side, name, shared) {
  const redis = newRedis();
  const ctx = {
    shared, // an object both sides of one scenario see
    scope: s, // for extra queue names and objects a scenario opens
    label: side.label,
    lib: side.lib,
    name,
    redis,
    t0: Date.now(),
    snaps: [],
    records: {},
    workers: [],
    q: undefined,

    async queue(opts = {}) {
      const q = s.add(new side.lib.Queue(name, { connection, ...opts }));
      await q.waitUntilReady();
      // The Queue writes meta (version, opts.maxLenEvents) asynchronously after
      // connecting; give it a moment so checkpoints do not race it.
      await waitFor(async () => (await redis.hexists(`bull:${name}:meta`, 'version')) === 1, 2000).catch(() => {});
      return q;
    },

    // allowErrors: the worker's 'error' events are expected (not reported). `queue`:
    // another queue of the scenario (its full name).
    worker(processor, extra = {}, { allowErrors = false, queue = name } = {}) {
      const w = s.add(new side.lib.Worker(queue, processor, workerOptions(extra)), { allowErrors });
      ctx.workers.push(w);
      return w;
    },

    async closeWorkers() {
      const ws = ctx.workers.splice(0);
      await Promise.all(ws.map((w) => w.close()));
    },

    // Waits until no job is waiting, prioritized, delayed or active (read in
    // one MULTI: a job can go delayed → wait → active between separate reads).
    // `queue`: another queue of the scenario (its full name), under `keyPrefix`.
    async waitIdle(timeoutMs = 15000, { queue = name, keyPrefix = 'bull' } = {}) {
      const k = (x) => `${keyPrefix}:${queue}:${x}`;
      await waitFor(
        async () => {
          const res = await redis
            .multi()
            .llen(k('wait'))
            .llen(k('active'))
            .zcard(k('prioritized'))
            .zcard(k('delayed'))
            .exec();
          return res.reduce((sum, [err, n]) => (err ? NaN : sum + n), 0) === 0;
        },
        timeoutMs,
        {
          message: async () =>
            `${side.label}: not idle: ${JSON.stringify(
              await Promise.all([
                redis.lrange(k('wait'), 0, -1),
                redis.lrange(k('active'), 0, -1),
                redis.zrange(k('prioritized'), 0, -1),
                redis.zrange(k('delayed'), 0, -1),
              ]),
            )}`,
        },
      );
    },

    // Processes everything (of `queue`, another queue of the scenario) with a fresh
    // worker, then closes it.
    async processAll(processor, extra = {}, { allowErrors = false, queue = name } = {}) {
      ctx.worker(processor, extra, { allowErrors, queue });
      await ctx.waitIdle(15000, { queue, keyPrefix: extra.prefix || 'bull' });
      await ctx.closeWorkers();
    },

    record(key, value) {
      if (key in ctx.records) throw new Error(`record ${key} written twice`);
      ctx.records[key] = value;
    },

    // delayTargets: see helpers/snapshot.js.
    async snap(label, { markers = 'ignore', delayTargets } = {}) {
      const { raw, norm } = await snapshotQueue(name, { t0: ctx.t0, markers, delayTargets });
      ctx.snaps.push({ label, raw, norm });
      return norm;
    },

    // Another queue of the scenario (flows span queues), named after the main queue so
    // that names normalise alike on both sides; removed with the scenario's queues.
    otherQueue(suffix, keyPrefix = 'bull') {
      return s.track(`${name}${suffix}`, keyPrefix);
    },

    // A checkpoint of another queue of the scenario (see otherQueue).
    async snapOther(label, suffix, { markers = 'ignore', keyPrefix = 'bull' } = {}) {
      const other = `${name}${suffix}`;
      const opts = { t0: ctx.t0, markers, prefix: keyPrefix, textName: name };
      const { raw, norm } = await snapshotQueue(other, opts);
      ctx.snaps.push({ label: `${label} [${keyPrefix}:<queue>${suffix}]`, raw, norm });
      return norm;
    },
  };
  return ctx;
}

function dump(title, results) {
  const dir = process.env.DIFF_DUMP_DIR;
  if (!dir) return;
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${title.replace(/[^\w.-]+/g, '_')}.json`);
  const out = {};
  for (const r of results) out[r.label] = { name: r.name, records: r.records, snaps: r.snaps };
  fs.writeFileSync(file, JSON.stringify(out, null, 2));
}

// Runs `scenario(ctx)` for BullMQ, then for the implementation under test,
// and compares checkpoints and records.
function differential(title, scenario, { timeout = 40000 } = {}) {
  test(title, { timeout }, async (t) => {
    const s = createScope();
    const contexts = [];
    t.after(async () => {
      await Promise.allSettled(contexts.map((c) => c.redis.quit()));
      await s.close();
    });
    const shared = {};
    for (const side of SIDES) {
      const ctx = makeContext(s, side, s.queueName('diff'), shared);
      contexts.push(ctx);
      // eslint-disable-next-line no-await-in-loop
      await scenario(ctx);
      // eslint-disable-next-line no-await-in-loop
      await ctx.closeWorkers();
    }
    dump(title, contexts);
    const [a, b] = contexts;
    const problems = [];
    assert.deepEqual(
      b.snaps.map((x) => x.label),
      a.snaps.map((x) => x.label),
      'both sides took the same checkpoints',
    );
    a.snaps.forEach((sa, i) => {
      const d = diffStates(sa.norm, b.snaps[i].norm, a.label, b.label);
      if (d) problems.push(`checkpoint "${sa.label}" (${a.label} queue ${a.name}, ${b.label} queue ${b.name}):\n${d}`);
    });
    const keys = [...new Set([...Object.keys(a.records), ...Object.keys(b.records)])];
    for (const k of keys) {
      if (JSON.stringify(canon(a.records[k])) !== JSON.stringify(canon(b.records[k]))) {
        problems.push(
          `record "${k}": ${a.label}=${JSON.stringify(a.records[k])}  ${b.label}=${JSON.stringify(b.records[k])}`,
        );
      }
    }
    if (problems.length) {
      assert.fail(`Redis states differ (- ${a.label}, + ${b.label}):\n${problems.join('\n\n')}`);
    }
  });
}

// A processor driven by job.data, identical on both sides:
//   data.ret     → return that value ('__undefined__' → undefined)
//   data.fail    → throw new Error(data.fail) on every attempt
//   data.failUntil → throw while attemptsStarted < failUntil
//   data.unrecoverable → throw lib.UnrecoverableError(message or default)
function dataProcessor(ctx, order = []) {
  return async (job) => {
    order.push(job.name);
    const d = job.data || {};
    if (d.unrecoverable !== undefined) {
      throw d.unrecoverable === '' ? new ctx.lib.UnrecoverableError() : new ctx.lib.UnrecoverableError(d.unrecoverable);
    }
    if (d.fail) throw new Error(d.fail);
    if (d.ret === '__undefined__') return undefined;
    return d.ret;
  };
}

module.exports = { differential, dataProcessor, workerOptions, SIDES };
