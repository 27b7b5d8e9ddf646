'use strict';

// BullMQ's upstream benchmark scenarios (taskforcesh/bullmq-bench), written
// against the public BullMQ API only, so the same code drives `bullmq` and
// bullrush. Every scenario runs on a fresh queue, first puts 1,000 warm-up
// jobs through the implementation, then times its own part and reads Redis
// CPU around exactly that part.

const PREFIX = 'bull'; // BullMQ's default; the harness never sets another
const WARMUP_JOBS = 1000;
const JOB_NAME = 'bench';
const PRE_ADD_CHUNK = 500; // untimed pre-loading of worker scenarios
// Extra wait past a delay so that every delayed job is due when timing starts.
const DUE_MARGIN_MS = 50;

// An object with `width` keys, each holding an object of `depth` keys with
// small string and number values (BullMQ's widthFactor/depthFactor).
function nestedPayload(width, depth) {
  const out = {};
  for (let i = 0; i < width; i++) {
    const inner = {};
    for (let j = 0; j < depth; j++) {
      inner[`field${j}`] = j % 2 === 0 ? `value-${i}-${j}` : i * 100 + j;
    }
    out[`key${i}`] = inner;
  }
  return out;
}

function withTimeout(promise, ms, describe) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms / 1000} s: ${describe()}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function ready(obj) {
  if (typeof obj.waitUntilReady === 'function') await obj.waitUntilReady();
}

// Times `fn` and reads Redis CPU right before and right after it. The INFO
// round trips themselves stay outside the timed window. Also estimates how
// much CPU other processes on this machine took meanwhile (machine busy time
// minus this process and Redis), which makes a run noisy.
async function measure(ctx, fn) {
  const s0 = await ctx.cpuSnapshot();
  const t0 = process.hrtime.bigint();
  await fn();
  const t1 = process.hrtime.bigint();
  const s1 = await ctx.cpuSnapshot();
  const ms = Number(t1 - t0) / 1e6;
  const foreignUs = s1.machineUs - s0.machineUs - (s1.procUs - s0.procUs) - (s1.redisTotalUs - s0.redisTotalUs);
  return {
    ms,
    redisCpuUs: s1.redisUs - s0.redisUs,
    foreignCpuShare: Math.max(0, foreignUs / (ms * 1000)), // in cores
  };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// `n` jobs for addBulk; `optsFor(i)` gives the options of the i-th, if any.
function bulkOf(n, data, optsFor) {
  const jobs = new Array(n);
  for (let i = 0; i < n; i++) jobs[i] = optsFor ? { name: JOB_NAME, data, opts: optsFor(i) } : { name: JOB_NAME, data };
  return jobs;
}

async function preAdd(queue, total, data, optsFor) {
  for (let added = 0; added < total; added += PRE_ADD_CHUNK) {
    const n = Math.min(PRE_ADD_CHUNK, total - added);
    await queue.addBulk(bulkOf(n, data, optsFor && ((i) => optsFor(added + i))));
  }
}

function newQueue(ctx) {
  const queue = ctx.track(new ctx.impl.Queue(ctx.queueName, { connection: ctx.connection }));
  queue.on('error', ctx.onError);
  return queue;
}

// Starts one Worker, lets it process `n` jobs, closes it. When `timed`, the
// clock runs from `run()` until the n-th 'completed' event.
async function processJobs(ctx, { n, concurrency, result, phase }) {
  const worker = ctx.track(
    new ctx.impl.Worker(ctx.queueName, async () => result, {
      connection: ctx.connection,
      concurrency,
      autorun: false,
    }),
  );
  worker.on('error', ctx.onError);

  let completed = 0;
  let failed = 0;
  let running;
  const done = new Promise((resolve, reject) => {
    worker.on('completed', () => {
      if (++completed === n) resolve();
    });
    worker.on('failed', (job, err) => {
      failed++;
      reject(new Error(`job ${job && job.id} failed: ${err && err.message}`));
    });
  });
  await ready(worker);

  const m = await measure(ctx, async () => {
    running = Promise.resolve(worker.run());
    running.catch(ctx.onError);
    await withTimeout(
      Promise.race([done, running.then(() => Promise.reject(new Error('worker stopped running')))]),
      ctx.timeoutMs,
      () => `${phase}: ${completed}/${n} jobs completed, ${failed} failed`,
    );
  });
  await ctx.close(worker);
  return m;
}

async function expectRedis(ctx, label, command, args, expected) {
  const got = await ctx.redis[command](...args);
  if (Number(got) !== expected) ctx.invalid(`${label} is ${got}, expected ${expected}`);
}

const key = (ctx, suffix) => `${PREFIX}:${ctx.queueName}:${suffix}`;

const scenarios = [
  {
    name: 'queue-add',
    description: '1,000 awaited queue.add calls, 10x10 nested payload',
    jobs: 1000,
    async run(ctx) {
      const data = nestedPayload(10, 10);
      const queue = newQueue(ctx);
      await ready(queue);
      for (let i = 0; i < WARMUP_JOBS; i++) await queue.add(JOB_NAME, data);
      const m = await measure(ctx, async () => {
        for (let i = 0; i < this.jobs; i++) await queue.add(JOB_NAME, data);
      });
      const total = WARMUP_JOBS + this.jobs;
      await expectRedis(ctx, 'id counter', 'get', [key(ctx, 'id')], total);
      await expectRedis(ctx, 'wait list length', 'llen', [key(ctx, 'wait')], total);
      return m;
    },
  },
  {
    name: 'queue-add-bulk',
    description: '10,000 jobs via queue.addBulk in batches of 50, 1x1 payload',
    jobs: 10000,
    bulkSize: 50,
    async run(ctx) {
      const data = nestedPayload(1, 1);
      const queue = newQueue(ctx);
      await ready(queue);
      const batch = () => bulkOf(this.bulkSize, data);
      const warmup = Array.from({ length: WARMUP_JOBS / this.bulkSize }, batch);
      const timed = Array.from({ length: this.jobs / this.bulkSize }, batch);
      for (const jobs of warmup) await queue.addBulk(jobs);
      const m = await measure(ctx, async () => {
        for (const jobs of timed) await queue.addBulk(jobs);
      });
      const total = WARMUP_JOBS + this.jobs;
      await expectRedis(ctx, 'id counter', 'get', [key(ctx, 'id')], total);
      await expectRedis(ctx, 'wait list length', 'llen', [key(ctx, 'wait')], total);
      return m;
    },
  },
  {
    name: 'worker-generic',
    description: '1,000 pre-added jobs, one Worker, concurrency 1',
    jobs: 1000,
    concurrency: 1,
    run: runWorkerScenario,
  },
  {
    name: 'worker-concurrent',
    description: '10,000 pre-added jobs, one Worker, concurrency 100',
    jobs: 10000,
    concurrency: 100,
    run: runWorkerScenario,
  },
  {
    name: 'worker-delayed',
    description: '10,000 delayed jobs, all due at run(), one Worker, concurrency 100',
    jobs: 10000,
    concurrency: 100,
    delayMs: 200,
    run: runWorkerScenario,
    jobOpts() {
      return { delay: this.delayMs };
    },
    // Every job must still be delayed when added, and due once this resolves.
    async beforeRun(ctx, n) {
      await expectRedis(ctx, 'delayed set size before the run', 'zcard', [key(ctx, 'delayed')], n);
      await sleep(this.delayMs + DUE_MARGIN_MS);
    },
    async check(ctx) {
      await expectRedis(ctx, 'delayed set size', 'zcard', [key(ctx, 'delayed')], 0);
    },
  },
  {
    name: 'worker-prioritized',
    description: '10,000 jobs with priorities 1..10, one Worker, concurrency 100',
    jobs: 10000,
    concurrency: 100,
    priorities: 10,
    run: runWorkerScenario,
    jobOpts(i) {
      return { priority: (i % this.priorities) + 1 };
    },
    async beforeRun(ctx, n) {
      await expectRedis(ctx, 'prioritized set size before the run', 'zcard', [key(ctx, 'prioritized')], n);
    },
    async check(ctx) {
      await expectRedis(ctx, 'prioritized set size', 'zcard', [key(ctx, 'prioritized')], 0);
    },
  },
  {
    name: 'flow',
    description: '1,000 flows (a parent and 10 children), added 50 per FlowProducer.addBulk while one Worker (concurrency 100) processes them',
    parents: 1000,
    children: 10,
    bulkSize: 50,
    concurrency: 100,
    jobs: 11000,
    run: runFlowScenario,
  },
];

// `n` flows of a parent and `children` children, all in the queue of `ctx`.
function flowsOf(ctx, n, children, data) {
  const flows = new Array(n);
  for (let i = 0; i < n; i++) {
    const kids = new Array(children);
    for (let j = 0; j < children; j++) kids[j] = { name: JOB_NAME, queueName: ctx.queueName, data };
    flows[i] = { name: 'parent', queueName: ctx.queueName, data, children: kids };
  }
  return flows;
}

// Adds `parents` flows, `bulkSize` per call, while one Worker processes them; when
// `timed`, the clock runs from the first add until the last parent completed.
async function addAndProcessFlows(ctx, producer, { parents, children, bulkSize, concurrency, phase }) {
  const data = nestedPayload(1, 1);
  const worker = ctx.track(
    new ctx.impl.Worker(ctx.queueName, async (job) => (job.name === 'parent' ? job.getChildrenValues() : data), {
      connection: ctx.connection,
      concurrency,
      autorun: false,
    }),
  );
  worker.on('error', ctx.onError);
  let parentsDone = 0;
  let failed = 0;
  const done = new Promise((resolve, reject) => {
    worker.on('completed', (job) => {
      if (job.name === 'parent' && ++parentsDone === parents) resolve();
    });
    worker.on('failed', (job, err) => {
      failed++;
      reject(new Error(`job ${job && job.id} failed: ${err && err.message}`));
    });
  });
  await ready(worker);
  const batches = Array.from({ length: parents / bulkSize }, () => flowsOf(ctx, bulkSize, children, data));
  const m = await measure(ctx, async () => {
    const running = Promise.resolve(worker.run());
    running.catch(ctx.onError);
    for (const flows of batches) await producer.addBulk(flows);
    await withTimeout(done, ctx.timeoutMs, () => `${phase}: ${parentsDone}/${parents} parents completed, ${failed} failed`);
  });
  await ctx.close(worker);
  return m;
}

async function runFlowScenario(ctx) {
  const queue = newQueue(ctx);
  const producer = ctx.track(new ctx.impl.FlowProducer({ connection: ctx.connection }));
  producer.on('error', ctx.onError);
  await ready(queue);
  await ready(producer);
  const shape = { children: this.children, bulkSize: this.bulkSize, concurrency: this.concurrency };
  const warmupParents = WARMUP_JOBS / 10;
  await addAndProcessFlows(ctx, producer, { ...shape, parents: warmupParents, phase: 'warm-up' });
  const m = await addAndProcessFlows(ctx, producer, { ...shape, parents: this.parents, phase: 'timed run' });
  const total = (warmupParents + this.parents) * (this.children + 1);
  await expectRedis(ctx, 'completed set size', 'zcard', [key(ctx, 'completed')], total);
  await expectRedis(ctx, 'failed set size', 'zcard', [key(ctx, 'failed')], 0);
  await expectRedis(ctx, 'waiting-children set size', 'zcard', [key(ctx, 'waiting-children')], 0);
  await expectRedis(ctx, 'wait list length', 'llen', [key(ctx, 'wait')], 0);
  await expectRedis(ctx, 'id counter', 'get', [key(ctx, 'id')], total);
  return m;
}

// Worker scenarios: jobs are added untimed (with `jobOpts(i)` when the
// scenario has it), `beforeRun` checks and prepares what was added, then one
// Worker processes them all; `check` adds scenario-specific state checks.
async function runWorkerScenario(ctx) {
  const data = nestedPayload(1, 1);
  const result = nestedPayload(1, 1);
  const optsFor = this.jobOpts && ((i) => this.jobOpts(i));
  const queue = newQueue(ctx);
  await ready(queue);

  // Warm-up: 1,000 jobs through a worker like the timed one, on this queue.
  await preAdd(queue, WARMUP_JOBS, data, optsFor);
  if (this.beforeRun) await this.beforeRun(ctx, WARMUP_JOBS);
  await processJobs(ctx, { n: WARMUP_JOBS, concurrency: this.concurrency, result, phase: 'warm-up' });

  await preAdd(queue, this.jobs, data, optsFor);
  if (this.beforeRun) await this.beforeRun(ctx, this.jobs);
  const m = await processJobs(ctx, { n: this.jobs, concurrency: this.concurrency, result, phase: 'timed run' });

  const total = WARMUP_JOBS + this.jobs;
  await expectRedis(ctx, 'completed set size', 'zcard', [key(ctx, 'completed')], total);
  await expectRedis(ctx, 'failed set size', 'zcard', [key(ctx, 'failed')], 0);
  await expectRedis(ctx, 'wait list length', 'llen', [key(ctx, 'wait')], 0);
  await expectRedis(ctx, 'active list length', 'llen', [key(ctx, 'active')], 0);
  if (this.check) await this.check(ctx);
  return m;
}

const SCENARIO_NAMES = scenarios.map((s) => s.name);

module.exports = { scenarios, SCENARIO_NAMES, PREFIX, WARMUP_JOBS, withTimeout };
