'use strict';

// BullMQ's QueueEvents: the engine reads the events stream; this class decodes each entry
// the way BullMQ does and emits it as `<event>` and `<event>:<jobId>`.

const { EventEmitter } = require('node:events');
const { binding, call, wait, keepAlive } = require('./native');
const { normalizeConnection } = require('./connection');

function decode(fields) {
  const args = {};
  for (let i = 0; i + 1 < fields.length; i += 2) args[fields[i]] = fields[i + 1];
  const name = args.event;
  delete args.event;
  if (name === 'progress' && args.data !== undefined) args.data = JSON.parse(args.data);
  if (name === 'completed' && args.returnvalue !== undefined) args.returnvalue = JSON.parse(args.returnvalue);
  if (name === 'delayed' && args.delay !== undefined) args.delay = Number(args.delay);
  return { name, args };
}

class QueueEvents extends EventEmitter {
  constructor(name, opts = {}) {
    super();
    this.name = name;
    this.opts = { prefix: 'bull', autorun: true, blockingTimeout: 10000, ...opts };
    this.qualifiedName = `${this.opts.prefix}:${name}`;
    this.running = false;
    this.closing = undefined;
    this._native = call(
      () =>
        new binding.NativeQueueEvents(
          String(name ?? ''),
          {
            connection: normalizeConnection(this.opts.connection),
            prefix: this.opts.prefix,
            lastEventId: this.opts.lastEventId,
            blockingTimeout: this.opts.blockingTimeout,
          },
          (batch) => this._onBatch(batch),
        ),
    );
    if (this.opts.autorun) {
      this.run().catch((err) => {
        if (!this.closing) this.emit('error', err);
      });
    }
  }

  /** Reads the events stream; resolves once the listener is closed (as BullMQ's). */
  run() {
    if (this.running) return Promise.reject(new Error('Queue Events is already running.'));
    this.running = true;
    this._keepAlive = keepAlive();
    const closed = new Promise((resolve) => {
      this._endRun = resolve;
    });
    this._ready = wait(this._native.run());
    this._ready.catch(() => this._stopRunning());
    return this._ready.then(() => closed);
  }

  _stopRunning() {
    this.running = false;
    clearInterval(this._keepAlive);
    if (this._endRun) this._endRun();
  }

  /**
   * Resolves once connected; once running, once no event published from now on can be
   * missed.
   */
  async waitUntilReady() {
    if (this._ready) await this._ready;
    else await wait(this._nativeQueue().waitUntilReady());
    return this;
  }

  _onBatch({ events, error }) {
    if (error) this.emit('error', new Error(error));
    for (const entry of events) {
      let decoded;
      try {
        decoded = decode(entry.fields);
      } catch (err) {
        this.emit('error', err);
        continue;
      }
      const { name, args } = decoded;
      if (name === 'drained') {
        this.emit('drained', entry.id);
        continue;
      }
      this.emit(name, args, entry.id);
      if (args.jobId !== undefined) this.emit(`${name}:${args.jobId}`, args, entry.id);
    }
  }

  // A connection for health checks (getBackend), opened on first use with the listener's
  // settings: the listener's own connection is blocked in XREAD.
  _nativeQueue() {
    if (!this._health) {
      this._health = call(
        () =>
          new binding.NativeQueue(String(this.name), {
            connection: normalizeConnection(this.opts.connection),
            prefix: this.opts.prefix,
            skipMetaUpdate: true,
          }),
      );
    }
    return this._health;
  }

  async close() {
    if (!this.closing) {
      this.closing = Promise.resolve().then(async () => {
        this._native.close();
        this._stopRunning();
        if (this._health) await wait(this._health.close());
      });
    }
    await this.closing;
  }

  async disconnect() {
    await this.close();
  }
}

module.exports = { QueueEvents };
