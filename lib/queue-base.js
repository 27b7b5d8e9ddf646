'use strict';

// BullMQ's QueueBase: a named queue's identity (name, prefix, keys), its connection and
// the members every queue-bound class shares (getBackend, trace, waitUntilReady, close).
// Queue, Worker and QueueEvents have their own engines and constructors; they get the
// shared members from here (shareBaseMembers) and count as QueueBase instances
// (adoptInstances).

const { EventEmitter } = require('node:events');
const { binding, call, wait } = require('./native');
const { normalizeConnection } = require('./connection');
const { QueueKeys } = require('./queue-keys');
const { backendOf } = require('./backend');
const { trace } = require('./telemetry');

// Classes whose instances `instanceof <base>` accepts beside the base's own subclasses.
const adopted = new Map();

class QueueBase extends EventEmitter {
  /** Validates `name` as BullMQ does and sets up the queue's identity; connects lazily. */
  constructor(name, opts = { connection: {} }, backendFactory) {
    super();
    if (!name) throw new Error('Queue name must be provided');
    if (String(name).includes(':')) throw new Error('Queue name cannot contain :');
    if (backendFactory !== undefined && backendFactory !== null) {
      throw new Error('A backendFactory is not supported by bullrush: it connects to Redis with its own engine');
    }
    this.name = name;
    this.opts = { ...opts };
    const prefix = this.opts.prefix || 'bull';
    this.qualifiedName = `${prefix}:${name}`;
    this.closing = undefined;
    this._native = call(
      () =>
        new binding.NativeQueue(String(name), {
          connection: normalizeConnection(this.opts.connection),
          prefix,
          skipMetaUpdate: true,
        }),
    );
  }

  static [Symbol.hasInstance](value) {
    if (Function.prototype[Symbol.hasInstance].call(this, value)) return true;
    return (adopted.get(this) || []).some((cls) => value instanceof cls);
  }

  _nativeQueue() {
    return this._native;
  }

  /** The queue's keys by type (`wait`, `events`, ...), as BullMQ's `keys`. */
  get keys() {
    return new QueueKeys(this.opts.prefix || 'bull').getKeys(this.name);
  }

  /** `<prefix>:<name>:<type>`. */
  toKey(type) {
    return new QueueKeys(this.opts.prefix || 'bull').toKey(this.name, type);
  }

  /** Resolves once the connection is up. */
  async waitUntilReady() {
    await wait(this._nativeQueue().waitUntilReady());
  }

  /** The backend: its `client` answers `status` and `ping()` for health checks. */
  getBackend() {
    return backendOf(this);
  }

  /** The same as getBackend(). */
  get backend() {
    return backendOf(this);
  }

  /** Emits, turning a listener's exception into an `error` event (as BullMQ does). */
  emit(event, ...args) {
    try {
      return super.emit(event, ...args);
    } catch (err) {
      try {
        return super.emit('error', err);
      } catch (unhandled) {
        console.error(unhandled);
        return false;
      }
    }
  }

  /** Wraps `callback` in a telemetry span when the `telemetry` option is set. */
  trace(spanKind, operation, destination, callback, srcPropagationMetadata) {
    return trace(this.opts.telemetry, spanKind, this.name, operation, destination, callback, srcPropagationMetadata);
  }

  async close() {
    if (!this.closing) this.closing = wait(this._native.close());
    await this.closing;
  }

  async disconnect() {
    await this.close();
  }
}

// The members a Queue, Worker or QueueEvents takes from QueueBase when it lacks them.
const SHARED = ['keys', 'toKey', 'getBackend', 'backend', 'trace', 'emit'];

/** Gives each class QueueBase's shared members it does not define itself. */
function shareBaseMembers(classes) {
  for (const cls of classes) {
    for (const name of SHARED) {
      if (Object.prototype.hasOwnProperty.call(cls.prototype, name)) continue;
      Object.defineProperty(cls.prototype, name, Object.getOwnPropertyDescriptor(QueueBase.prototype, name));
    }
  }
}

/** Makes instances of `classes` count as `instanceof base` (BullMQ's class hierarchy). */
function adoptInstances(base, classes) {
  adopted.set(base, [...(adopted.get(base) || []), ...classes]);
}

module.exports = { QueueBase, shareBaseMembers, adoptInstances };
