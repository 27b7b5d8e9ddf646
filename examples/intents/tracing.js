'use strict';

// OpenTelemetry for the queues: BullMQ's `telemetry` option, implemented by bullmq-otel,
// makes a span for each add and each processing of a job, and carries the producer's trace
// context in the job, so the worker's span continues the producer's trace. An app exports
// its spans (OTLP); startTracing takes any span exporter.

const { trace, context, propagation } = require('@opentelemetry/api');
const { BasicTracerProvider, SimpleSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks');
const { W3CTraceContextPropagator } = require('@opentelemetry/core');
const { BullMQOtel } = require('bullmq-otel');

/** Registers a tracer provider that hands every finished span to `exporter`. */
function startTracing(exporter) {
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
}

// Spans are made through the global tracer provider, whenever one is registered.
const telemetry = new BullMQOtel({ tracerName: 'intents' });

module.exports = { startTracing, telemetry };
