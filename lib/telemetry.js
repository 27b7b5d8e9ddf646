'use strict';

// BullMQ's telemetry helpers: spans through the `telemetry` option's tracer and context
// manager (the interfaces `bullmq-otel` implements); without telemetry they only call back.

const { SpanKind, TelemetryAttributes } = require('./enums');

/**
 * Runs `callback(span, dstPropagationMetadata)` inside a span named `<operation>
 * <destination>` when `telemetry` is given, recording a thrown error on the span.
 */
async function trace(telemetry, spanKind, queueName, operation, destination, callback, srcPropagationMetadata) {
  if (!telemetry) return callback();
  const { tracer, contextManager } = telemetry;
  const current = contextManager.active();
  const parent = srcPropagationMetadata ? contextManager.fromMetadata(current, srcPropagationMetadata) : undefined;
  const span = tracer.startSpan(destination ? `${operation} ${destination}` : operation, { kind: spanKind }, parent);
  try {
    span.setAttributes({
      [TelemetryAttributes.QueueName]: queueName,
      [TelemetryAttributes.QueueOperation]: operation,
    });
    const context = span.setSpanOnContext(spanKind === SpanKind.CONSUMER && parent ? parent : current);
    const metadata = callback.length === 2 ? contextManager.getMetadata(context) : undefined;
    return await contextManager.with(context, () => callback(span, metadata));
  } catch (err) {
    span.recordException(err);
    throw err;
  } finally {
    span.end();
  }
}

/** Runs `callback` under the context manager's root context, when it has one. */
function withDetachedContext(telemetry, callback) {
  const contextManager = telemetry && telemetry.contextManager;
  if (!contextManager || typeof contextManager.root !== 'function') return callback();
  return contextManager.with(contextManager.root(), callback);
}

module.exports = { trace, withDetachedContext };
