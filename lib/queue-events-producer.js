'use strict';

// BullMQ's QueueEventsProducer: publishes custom events on a queue's events stream, where
// every QueueEvents (of either library) receives them as `(fields, id)` under their name.

const { QueueBase } = require('./queue-base');
const { wait } = require('./native');

// A field value as ioredis sends it: nothing for null/undefined, text for the rest.
function fieldText(value) {
  if (value === null || value === undefined) return '';
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return String(value);
}

class QueueEventsProducer extends QueueBase {
  /**
   * Appends `{ eventName, ...fields }` to the events stream as event `eventName`, keeping
   * about `maxEvents` entries.
   */
  async publishEvent(argsObj, maxEvents = 1000) {
    const { eventName, ...rest } = argsObj;
    const flat = ['event', fieldText(eventName)];
    for (const [name, value] of Object.entries(rest)) flat.push(name, fieldText(value));
    await wait(this._nativeQueue().publishEvent(flat, Number(maxEvents)));
  }
}

module.exports = { QueueEventsProducer };
