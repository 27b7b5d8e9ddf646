'use strict';

// JSON text for values that cross into the engine, with BullMQ's errors for bad data.

/** Job data as JSON text; `{}` when undefined. Throws for circular or BigInt data. */
function dataJson(data) {
  if (data === undefined) return '{}';
  const text = JSON.stringify(data);
  return text === undefined ? '{}' : text;
}

/** Options as JSON text (functions and undefined values drop out). */
function optsJson(opts) {
  return opts ? JSON.stringify(opts) : '{}';
}

module.exports = { dataJson, optsJson };
