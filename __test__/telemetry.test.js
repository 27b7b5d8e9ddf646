'use strict';

// OpenTelemetry through the `telemetry` option with the real `bullmq-otel`, recorded by the
// OTel SDK's in-memory exporter: the producer's span (add, addBulk), the worker's CONSUMER
// span `process` continuing the producer's trace from the context the job carries, and the
// moves under it (complete, fail, retry, delay), in every mix of BullMQ and the
// implementation under test; span names, kinds, attributes and events compared with
// BullMQ's own; omitContext; sandboxed and manual processing; nothing without the option.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');

const otel = require('@opentelemetry/api');
const { BasicTracerProvider, SimpleSpanProcessor, InMemorySpanExporter } = require('@opentelemetry/sdk-trace-base');
const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks');
const { W3CTraceContextPropagator } = require('@opentelemetry/core');
const { MeterProvider, MetricReader } = require('@opentelemetry/sdk-metrics');
const { BullMQOtel } = require('bullmq-otel');

const { bullmq, impl, sides, workerOpts, connection } = require('./helpers/sides');
const { implLabel } = require('./helpers/env');
const { waitFor } = require('./helpers/redis');
const { createScope, FIXTURES } = require('./helpers/util');

const exporter = new InMemorySpanExporter();
const contextManager = new AsyncLocalStorageContextManager();

// Reads the metrics recorded so far when asked (collect()).
class OnDemandReader extends MetricReader {
  async onForceFlush() {}
  async onShutdown() {}
}
const metricReader = new OnDemandReader();

before(() => {
  otel.trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
  otel.context.setGlobalContextManager(contextManager.enable());
  otel.propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  otel.metrics.setGlobalMeterProvider(new MeterProvider({ readers: [metricReader] }));
});

after(() => {
  otel.trace.disable();
  otel.context.disable();
  otel.propagation.disable();
  otel.metrics.disable();
});

const SPAN_KIND = { INTERNAL: 0, PRODUCER: 3, CONSUMER: 4 };

const idOf = (span) => span.spanContext().spanId;
const traceOf = (span) => span.spanContext().traceId;
const parentOf = (span) => (span.parentSpanContext ? span.parentSpanContext.spanId : undefined);

// The finished spans of queue `name` (by their queue attribute).
function spansOf(name) {
  return exporter.getFinishedSpans().filter((span) => span.attributes['bullmq.queue.name'] === name);
}

// The one finished span named `spanName`, waited for.
function spanNamed(name, spanName) {
  return waitFor(() => spansOf(name).find((span) => span.name === spanName), 5000, {
    message: () => `no span "${spanName}"; spans: ${spansOf(name).map((s) => s.name).join(', ')}`,
  });
}

// The spans of one trace as a tree of plain values, with everything that changes between
// runs (queue name, ids, timestamps) replaced, so two runs compare equal.
function traceTree(spans, rootId, name) {
  const normalise = (value) => String(value).split(name).join('<queue>');
  const build = (span) => ({
    name: normalise(span.name),
    kind: span.kind,
    attributes: Object.fromEntries(
      Object.entries(span.attributes)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([key, value]) => [key, /timestamp|\.id$/.test(key) ? typeof value : normalise(value)]),
    ),
    events: span.events.map((event) => ({ name: event.name, attributes: event.attributes })),
    children: spans
      .filter((child) => parentOf(child) === idOf(span))
      .sort((a, b) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1])
      .map(build),
  });
  return build(spans.find((span) => idOf(span) === rootId));
}

// The job metrics of queue `name` recorded so far: `<metric> <state> <job name>` → the
// counter's value, or the histogram's count.
async function jobMetricsOf(name) {
  const { resourceMetrics } = await metricReader.collect();
  const out = {};
  for (const { metrics } of resourceMetrics.scopeMetrics) {
    for (const metric of metrics) {
      for (const point of metric.dataPoints) {
        if (point.attributes['bullmq.queue.name'] !== name) continue;
        const key = `${metric.descriptor.name} ${point.attributes['bullmq.job.state']} ${point.attributes['bullmq.job.name']}`;
        out[key] = typeof point.value === 'number' ? point.value : point.value.count;
      }
    }
  }
  return out;
}

// A queue of `producer` and a worker of `consumer` (a processor function or file), both
// with bullmq-otel (and its meter); closed and removed afterwards.
function setup(t, { producer = impl, consumer = impl, processor, telemetry = true, worker: extra = {} } = {}) {
  const s = createScope();
  t.after(() => s.close());
  const name = s.queueName('otel');
  const opts = telemetry ? { telemetry: new BullMQOtel({ tracerName: 'bullrush-test', enableMetrics: true }) } : {};
  const queue = s.add(new producer.Queue(name, { connection, ...opts }));
  const worker =
    processor !== undefined &&
    s.add(recordEndings(new consumer.Worker(name, processor, workerOpts({ name: 'otel-worker', ...opts, ...extra }))));
  return { s, name, queue, worker, opts };
}

// How each job a worker finished for good ended (completed, or failed with no retry left),
// recorded from the worker's start, so a job finished before its add resolved counts too.
const endings = new WeakMap();

function recordEndings(worker) {
  const ended = new Map();
  endings.set(worker, ended);
  worker.on('completed', (job) => ended.set(job.id, 'completed'));
  worker.on('failed', (job) => job && job.finishedOn && ended.set(job.id, 'failed'));
  return worker;
}

// Resolves with how `worker` finished job `id` for good.
function finished(worker, id) {
  return waitFor(() => endings.get(worker).get(id), 10000, { message: `job ${id} never finished` });
}

async function failing(job) {
  if (job.data.fail) throw new Error(`failed attempt ${job.attemptsMade + 1}`);
  return { doubled: job.data.n * 2 };
}

describe(`telemetry spans with bullmq-otel (${implLabel})`, () => {
  for (const producer of sides) {
    for (const consumer of sides) {
      test(`${producer.label} add → ${consumer.label} worker: process is the add span's child, complete under it`, async (t) => {
        const { name, queue, worker } = setup(t, { producer: producer.lib, consumer: consumer.lib, processor: failing });
        const done = new Promise((resolve) => worker.on('completed', resolve));
        const job = await queue.add('double', { n: 21 });
        await done;
        const add = await spanNamed(name, `add ${name}.double`);
        const processSpan = await spanNamed(name, `process ${name}`);
        const complete = await spanNamed(name, `complete ${name}`);

        assert.equal(add.kind, SPAN_KIND.PRODUCER);
        assert.deepEqual(add.attributes, {
          'bullmq.queue.name': name,
          'bullmq.queue.operation': 'add',
          'bullmq.job.name': 'double',
          'bullmq.job.id': job.id,
        });
        const stored = await bullmq.Job.fromId(new bullmq.Queue(name, { connection }), job.id).then(async (j) => {
          await j.queue.close();
          return j;
        });
        const carried = JSON.parse(stored.opts.telemetry.metadata);
        assert.equal(carried.traceparent, `00-${traceOf(add)}-${idOf(add)}-01`, 'the job carries the add span as `tm`');

        assert.equal(processSpan.kind, SPAN_KIND.CONSUMER);
        assert.equal(traceOf(processSpan), traceOf(add), 'one trace');
        assert.equal(parentOf(processSpan), idOf(add), 'process is a child of add');
        assert.equal(processSpan.attributes['bullmq.worker.id'], worker.id);
        assert.equal(processSpan.attributes['bullmq.worker.name'], 'otel-worker');
        assert.equal(processSpan.attributes['bullmq.job.id'], job.id);
        assert.equal(processSpan.attributes['bullmq.job.name'], 'double');
        assert.equal(processSpan.attributes['bullmq.job.attempts.made'], 1);
        assert.deepEqual(processSpan.events.map((e) => [e.name, e.attributes]), [
          ['job completed', { 'bullmq.job.result': JSON.stringify({ doubled: 42 }) }],
        ]);

        assert.equal(complete.kind, SPAN_KIND.INTERNAL);
        assert.equal(parentOf(complete), idOf(processSpan), 'complete is a child of process');
        assert.equal(complete.attributes['bullmq.job.id'], job.id);
      });
    }
  }

  test('a BullMQ worker and this worker record the same trace: names, kinds, attributes, events (completed, retried, delayed, failed)', async (t) => {
    const trees = [];
    for (const consumer of sides) {
      const { name, queue, worker } = setup(t, { producer: bullmq, consumer: consumer.lib, processor: failing });
      const jobs = await Promise.all([
        queue.add('ok', { n: 1 }),
        queue.add('flaky', { fail: true }, { attempts: 3, backoff: { type: 'fixed', delay: 30 } }),
        queue.add('retried', { fail: true }, { attempts: 2 }),
      ]);
      await Promise.all(jobs.map((job) => finished(worker, job.id)));
      const spans = spansOf(name);
      const roots = await waitFor(() => {
        const adds = spans.filter((span) => span.name.startsWith('add '));
        return adds.length === 3 && adds;
      });
      await waitFor(() => spansOf(name).filter((span) => span.name.startsWith('process ')).length === 6, 5000);
      const all = spansOf(name);
      trees.push(
        roots
          .sort((a, b) => a.name.localeCompare(b.name))
          .map((root) => traceTree(all, idOf(root), name)),
      );
    }
    const [bullmqTrees, ownTrees] = trees;
    assert.deepEqual(ownTrees, bullmqTrees);
    const flaky = bullmqTrees.find((tree) => tree.name === 'add <queue>.flaky');
    assert.deepEqual(
      flaky.children.map((p) => p.children.map((move) => move.name)),
      [['delay <queue>'], ['delay <queue>'], ['fail <queue>']],
      'the flaky job: two retries after a backoff, then the final failure',
    );
    const retried = bullmqTrees.find((tree) => tree.name === 'add <queue>.retried');
    assert.deepEqual(retried.children.map((p) => p.children.map((move) => move.name)), [['retry <queue>'], ['fail <queue>']]);
  });

  test("addBulk: one PRODUCER span for the jobs, each job's process its child; omitContext and a job's own metadata", async (t) => {
    const own = new BullMQOtel({ tracerName: 'elsewhere' });
    const elsewhere = otel.trace.getTracer('elsewhere').startSpan('elsewhere');
    const ownMetadata = own.contextManager.getMetadata(otel.trace.setSpan(otel.context.active(), elsewhere));
    elsewhere.end();
    const { name, queue, worker } = setup(t, { processor: failing });
    const jobs = await queue.addBulk([
      { name: 'carried', data: { n: 1 } },
      { name: 'omitted', data: { n: 2 }, opts: { telemetry: { omitContext: true } } },
      { name: 'own', data: { n: 3 }, opts: { telemetry: { metadata: ownMetadata } } },
    ]);
    await Promise.all(jobs.map((job) => finished(worker, job.id)));
    const bulk = await spanNamed(name, `addBulk ${name}`);
    assert.equal(bulk.kind, SPAN_KIND.PRODUCER);
    assert.deepEqual(bulk.attributes['bullmq.job.bulk.names'], ['carried', 'omitted', 'own']);
    assert.equal(bulk.attributes['bullmq.job.bulk.count'], 3);
    await waitFor(() => spansOf(name).filter((span) => span.name === `process ${name}`).length === 3);
    const processOf = (id) =>
      spansOf(name).find((span) => span.name === `process ${name}` && span.attributes['bullmq.job.id'] === id);
    assert.equal(parentOf(processOf(jobs[0].id)), idOf(bulk));
    assert.equal(parentOf(processOf(jobs[1].id)), undefined, 'omitContext: a trace of its own');
    assert.notEqual(traceOf(processOf(jobs[1].id)), traceOf(bulk));
    assert.equal(parentOf(processOf(jobs[2].id)), elsewhere.spanContext().spanId, "the job's own context wins");
    const stored = await Promise.all(jobs.map((job) => queue.getJob(job.id)));
    assert.deepEqual(stored[1].opts.telemetry, { metadata: false, omitContext: true }, 'stored as BullMQ stores it');
    assert.equal(stored[2].opts.telemetry.metadata, ownMetadata);
  });

  test("add with omitContext: the job carries no context, its process span starts a trace", async (t) => {
    const { name, queue, worker } = setup(t, { processor: failing });
    const job = await queue.add('alone', { n: 1 }, { telemetry: { omitContext: true } });
    await finished(worker, job.id);
    const add = await spanNamed(name, `add ${name}.alone`);
    const processSpan = await spanNamed(name, `process ${name}`);
    assert.equal(parentOf(processSpan), undefined);
    assert.notEqual(traceOf(processSpan), traceOf(add));
    assert.deepEqual((await queue.getJob(job.id)).opts.telemetry, { omitContext: true });
  });

  test("the app's active span is the add span's parent, and the processor runs in the process span's context", async (t) => {
    const tracer = otel.trace.getTracer('app');
    let inProcessor;
    const { name, queue, worker } = setup(t, {
      processor: async () => {
        inProcessor = otel.trace.getActiveSpan();
        tracer.startSpan('work inside the processor').end();
        return 'ok';
      },
    });
    const request = tracer.startSpan('POST /jobs');
    const job = await otel.context.with(otel.trace.setSpan(otel.context.active(), request), () => queue.add('nested', {}));
    request.end();
    await finished(worker, job.id);
    const add = await spanNamed(name, `add ${name}.nested`);
    const processSpan = await spanNamed(name, `process ${name}`);
    assert.equal(parentOf(add), request.spanContext().spanId, 'add is a child of the active span');
    assert.equal(traceOf(processSpan), request.spanContext().traceId, 'the whole chain is one trace');
    assert.equal(inProcessor.spanContext().spanId, idOf(processSpan), 'the active span in the processor');
    const inner = exporter.getFinishedSpans().find((span) => span.name === 'work inside the processor');
    assert.equal(parentOf(inner), idOf(processSpan), "the processor's own spans are children of process");
  });

  for (const consumer of sides) {
    test(`a ${consumer.label} sandboxed worker: the process span (in the worker process) continues the trace`, async (t) => {
      const processor = path.join(FIXTURES, 'sandbox', 'processor.js');
      const { name, queue, worker } = setup(t, { consumer: consumer.lib, processor });
      const job = await queue.add('sandboxed', { mode: 'return', value: 'from the child' });
      assert.equal(await finished(worker, job.id), 'completed');
      const add = await spanNamed(name, `add ${name}.sandboxed`);
      const processSpan = await spanNamed(name, `process ${name}`);
      assert.equal(parentOf(processSpan), idOf(add));
      assert.equal(parentOf(await spanNamed(name, `complete ${name}`)), idOf(processSpan));
    });

    test(`${consumer.label} manual processing: getNextJob continues the trace; moveToCompleted/moveToFailed record their spans`, async (t) => {
      const { name, queue, worker } = setup(t, { consumer: consumer.lib, processor: null, worker: { autorun: false } });
      const [first, second] = await queue.addBulk([
        { name: 'manual', data: {} },
        { name: 'manual', data: {}, opts: { attempts: 2 } },
      ]);
      const token = 'manual-token';
      const taken = await worker.getNextJob(token);
      assert.equal(taken.id, first.id);
      const bulk = await spanNamed(name, `addBulk ${name}`);
      const next = await spanNamed(name, `getNextJob ${name}`);
      assert.equal(next.kind, SPAN_KIND.INTERNAL);
      assert.equal(parentOf(next), idOf(bulk));
      assert.equal(next.attributes['bullmq.job.id'], first.id);
      assert.equal(next.attributes['bullmq.worker.options'], JSON.stringify({ block: true }));
      await taken.moveToCompleted('done', token, false);
      const complete = await spanNamed(name, `complete ${name}`);
      assert.equal(complete.attributes['bullmq.job.id'], first.id);
      const again = await worker.getNextJob(token);
      assert.equal(again.id, second.id);
      await again.moveToFailed(new Error('manual failure'), token);
      assert.equal((await spanNamed(name, `retry ${name}`)).attributes['bullmq.job.id'], second.id);
    });
  }

  test("the Queue's and Worker's operations run in BullMQ's spans (names, kinds, attributes)", async (t) => {
    const seen = [];
    for (const side of sides) {
      const { name, queue, worker } = setup(t, {
        producer: side.lib,
        consumer: side.lib,
        processor: failing,
        worker: { autorun: false },
      });
      const job = await queue.add('admin', { n: 1 });
      await queue.updateJobProgress(job.id, 50);
      await queue.pause();
      await queue.resume();
      await queue.rateLimit(10);
      await queue.removeDeduplicationKey('dedup-key');
      await queue.trimEvents(100);
      await queue.promoteJobs({ count: 5 });
      await queue.retryJobs({ count: 5, state: 'failed' });
      await queue.clean(0, 10, 'completed');
      await queue.drain(true);
      await queue.remove(job.id);
      await worker.rateLimit(10);
      await worker.pause(true);
      await worker.resume();
      await worker.startStalledCheckTimer();
      await worker.close();
      await queue.obliterate({ force: true });
      await queue.close();
      const operations = spansOf(name)
        .filter((span) => !/^(add|process|moveStalledJobsToWait) /.test(span.name))
        .map((span) => JSON.stringify(traceTree([span], idOf(span), name)));
      seen.push([...new Set(operations)].sort().map((text) => JSON.parse(text)));
    }
    const [theirs, ours] = seen;
    assert.deepEqual(ours, theirs);
    assert.deepEqual(
      theirs.map((span) => span.name),
      [
        'clean <queue>', 'close <queue>', 'close <queue>', 'drain <queue>', 'obliterate <queue>', 'pause <queue>',
        'pause <queue>', 'promoteJobs <queue>', 'rateLimit <queue>', 'rateLimit <queue>', 'remove <queue>',
        'removeDeduplicationKey <queue>', 'resume <queue>', 'resume <queue>', 'retryJobs <queue>',
        'startStalledCheckTimer <queue>', 'trimEvents <queue>', 'updateJobProgress <queue>',
      ],
      "each operation's span, once for the Queue and once for the Worker where both have it",
    );
  });

  test("job metrics through bullmq-otel's meter: the same counts and durations as a BullMQ worker's", async (t) => {
    const seen = [];
    for (const consumer of sides) {
      const { name, queue, worker } = setup(t, {
        producer: bullmq,
        consumer: consumer.lib,
        processor: async (job, token) => {
          if (job.name === 'later' && job.attemptsStarted === 1) {
            await job.moveToDelayed(Date.now() + 50, token);
            throw new bullmq.DelayedError();
          }
          return failing(job);
        },
      });
      const jobs = await Promise.all([
        queue.add('ok', { n: 1 }),
        queue.add('flaky', { fail: true }, { attempts: 3, backoff: { type: 'fixed', delay: 30 } }),
        queue.add('retried', { fail: true }, { attempts: 2 }),
        queue.add('later', { n: 2 }),
      ]);
      await Promise.all(jobs.map((job) => finished(worker, job.id)));
      seen.push(await waitFor(async () => {
        const metrics = await jobMetricsOf(name);
        return Object.keys(metrics).length === 14 && metrics;
      }, 5000, { message: async () => JSON.stringify(await jobMetricsOf(name)) }));
    }
    const [theirs, ours] = seen;
    assert.deepEqual(ours, theirs);
    assert.deepEqual(theirs, {
      'bullmq.jobs.completed completed ok': 1,
      'bullmq.job.duration completed ok': 1,
      'bullmq.jobs.delayed delayed flaky': 2,
      'bullmq.job.duration delayed flaky': 2,
      'bullmq.jobs.failed failed flaky': 1,
      'bullmq.job.duration failed flaky': 1,
      'bullmq.jobs.retried retried retried': 1,
      'bullmq.job.duration retried retried': 1,
      'bullmq.jobs.failed failed retried': 1,
      'bullmq.job.duration failed retried': 1,
      'bullmq.jobs.delayed delayed later': 1,
      'bullmq.job.duration delayed later': 1,
      'bullmq.jobs.completed completed later': 1,
      'bullmq.job.duration completed later': 1,
    });
  });

  test('without the telemetry option: no span, and jobs carry no context', async (t) => {
    const { name, queue, worker } = setup(t, { processor: failing, telemetry: false });
    const job = await queue.add('plain', { n: 1 });
    const [bulked] = await queue.addBulk([{ name: 'plain', data: { n: 2 } }]);
    await Promise.all([finished(worker, job.id), finished(worker, bulked.id)]);
    assert.deepEqual(spansOf(name), []);
    assert.equal((await queue.getJob(job.id)).opts.telemetry, undefined);
    assert.equal((await queue.getJob(bulked.id)).opts.telemetry, undefined);
  });
});
