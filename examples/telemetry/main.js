'use strict';

// A job traced from its producer through the worker with OpenTelemetry, through
// bullmq-otel: the `telemetry` option BullMQ takes. An app would export its spans (OTLP);
// this one keeps them in memory and prints them as a tree.
//
//   npm install bullmq-otel @opentelemetry/api @opentelemetry/sdk-trace-base \
//     @opentelemetry/context-async-hooks @opentelemetry/core
//   node examples/telemetry/main.js    # Redis at REDIS_URL (default redis://127.0.0.1:6379)

const { trace, context, propagation } = require('@opentelemetry/api');
const { BasicTracerProvider, SimpleSpanProcessor, InMemorySpanExporter } = require('@opentelemetry/sdk-trace-base');
const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks');
const { W3CTraceContextPropagator } = require('@opentelemetry/core');
const { BullMQOtel } = require('bullmq-otel');
const { Queue, Worker } = require('bullrush');

const exporter = new InMemorySpanExporter();
trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
// The job carries its producer's trace context in this format.
propagation.setGlobalPropagator(new W3CTraceContextPropagator());

const { hostname: host, port } = new URL(process.env.REDIS_URL || 'redis://127.0.0.1:6379');
const connection = { host, port: Number(port || 6379) };
const name = `telemetry-example-${process.pid}`;
const telemetry = new BullMQOtel({ tracerName: 'telemetry-example' });

async function main() {
  const queue = new Queue(name, { connection, telemetry });
  const worker = new Worker(name, async (job) => ({ doubled: job.data.n * 2 }), { connection, telemetry });
  const completed = new Promise((resolve) => worker.on('completed', resolve));
  await queue.add('double', { n: 21 });
  await completed;

  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  const spans = exporter.getFinishedSpans();
  printTree(spans, spans.find((span) => span.name.startsWith('add ')));
}

// A span and, indented under it, its children: add → process → complete.
function printTree(spans, span, depth = 0) {
  console.log(`${'  '.repeat(depth)}${span.name.replace(name, '<queue>')} (${span.spanContext().traceId})`);
  for (const child of spans.filter((s) => s.parentSpanContext?.spanId === span.spanContext().spanId)) {
    printTree(spans, child, depth + 1);
  }
}

main();
