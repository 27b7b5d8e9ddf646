'use strict';

// BullMQ's QueueKeys: the Redis key names of a queue, as tools that read Redis use them.

// The per-queue key suffixes BullMQ lists ('' is the base key `<prefix>:<name>:`).
const KEY_TYPES = [
  '',
  'active',
  'wait',
  'waiting-children',
  'paused',
  'id',
  'delayed',
  'prioritized',
  'stalled-check',
  'completed',
  'failed',
  'stalled',
  'repeat',
  'limiter',
  'meta',
  'events',
  'pc',
  'marker',
  'de',
];

class QueueKeys {
  constructor(prefix = 'bull') {
    this.prefix = prefix;
  }

  /** Every key of queue `name`, by type. */
  getKeys(name) {
    const keys = {};
    for (const type of KEY_TYPES) keys[type] = this.toKey(name, type);
    return keys;
  }

  /** `<prefix>:<name>:<type>`. */
  toKey(name, type) {
    return `${this.getQueueQualifiedName(name)}:${type}`;
  }

  /** `<prefix>:<name>`. */
  getQueueQualifiedName(name) {
    return `${this.prefix}:${name}`;
  }
}

module.exports = { QueueKeys };
