'use strict';

// BullMQ's FlowProducer, backed by the engine's: a whole flow (a tree of jobs across
// queues) is added in one atomic step, and read back with getFlow. The jobs of the trees
// it returns are bound to queue handles on the producer's own connection.

const { EventEmitter } = require('node:events');
const { binding, call, wait } = require('./native');
const { normalizeConnection } = require('./connection');
const { Job } = require('./job');
const { dataJson, optsJson } = require('./serialize');
const { backendOf } = require('./backend');

// A queue-like object for the jobs of one queue of a flow (BullMQ's `queueFromNode`):
// what a Job needs to act on its queue, with events going to the producer.
class FlowQueue {
  constructor(producer, prefix, name) {
    this.name = name;
    this.qualifiedName = `${prefix}:${name}`;
    this.opts = { prefix, connection: producer.opts.connection };
    this._producer = producer;
    this._native = call(() => producer._native.queue(prefix, name));
  }

  _nativeQueue() {
    return this._native;
  }

  get closing() {
    return this._producer.closing;
  }

  async waitUntilReady() {
    await this._producer.waitUntilReady();
  }

  emit(event, ...args) {
    return this._producer.emit(event, ...args);
  }

  on(event, listener) {
    this._producer.on(event, listener);
    return this;
  }

  removeListener(event, listener) {
    this._producer.removeListener(event, listener);
    return this;
  }
}

// A flow node as the engine takes it: data and options as JSON text.
function nativeNode(node) {
  if (!node || typeof node !== 'object') throw new Error('A flow node must be an object');
  return {
    name: String(node.name),
    queueName: String(node.queueName ?? ''),
    prefix: node.prefix,
    data: dataJson(node.data),
    opts: optsJson(node.opts),
    children: Array.isArray(node.children) ? node.children.map(nativeNode) : undefined,
  };
}

// `queuesOptions` as the engine takes it: each queue's defaultJobOptions, as JSON text.
function queuesDefaults(queuesOptions) {
  const defaults = {};
  for (const [name, options] of Object.entries(queuesOptions || {})) {
    if (options && options.defaultJobOptions) defaults[name] = options.defaultJobOptions;
  }
  return JSON.stringify(defaults);
}

class FlowProducer extends EventEmitter {
  constructor(opts = { connection: {} }) {
    super();
    this.opts = { prefix: 'bull', ...opts };
    this.closing = undefined;
    this._queues = new Map();
    this._native = call(
      () =>
        new binding.NativeFlowProducer({
          connection: normalizeConnection(this.opts.connection),
          prefix: this.opts.prefix,
        }),
    );
  }

  /** The Job class the trees are made of (BullMQ's helper for extending it). */
  get Job() {
    return Job;
  }

  async waitUntilReady() {
    await wait(this._native.waitUntilReady());
  }

  /** The backend: its `client` answers `status` and `ping()` for health checks (no queue of its own). */
  getBackend() {
    return backendOf(this);
  }

  // What the backend's client uses (ping, commands): the producer's connection.
  _nativeQueue() {
    return this._native;
  }

  /** Adds a flow atomically: all its jobs, or (when its root cannot be added) none. */
  async add(flow, opts) {
    if (this.closing) return undefined;
    const node = nativeNode(flow);
    this._native.observeClock(Date.now());
    const raw = await wait(this._native.add(node, queuesDefaults(opts && opts.queuesOptions)));
    return this._tree(raw);
  }

  /** Adds several flows in one atomic step. */
  async addBulk(flows) {
    if (this.closing) return undefined;
    const nodes = flows.map(nativeNode);
    this._native.observeClock(Date.now());
    const raws = await wait(this._native.addBulk(nodes));
    return raws.map((raw) => this._tree(raw));
  }

  /** Reads a flow back: `{ id, queueName, prefix?, depth = 10, maxChildren = 20 }`. */
  async getFlow(opts) {
    if (this.closing) return undefined;
    const raw = await wait(
      this._native.getFlow({
        id: String(opts.id),
        queueName: String(opts.queueName),
        prefix: opts.prefix ?? this.opts.prefix,
        depth: opts.depth,
        maxChildren: opts.maxChildren,
      }),
    );
    return raw ? this._tree(raw) : undefined;
  }

  // A JobNode (`{ job, children? }`) from the engine's.
  _tree(raw) {
    const job = Job.fromNative(this._queue(raw.prefix, raw.queueName), raw.job);
    if (!raw.children) return { job };
    return { job, children: raw.children.map((child) => (child ? this._tree(child) : undefined)) };
  }

  _queue(prefix, name) {
    const key = `${prefix}:${name}`;
    let queue = this._queues.get(key);
    if (!queue) {
      queue = new FlowQueue(this, prefix, name);
      this._queues.set(key, queue);
    }
    return queue;
  }

  async close() {
    if (!this.closing) {
      this.closing = Promise.resolve(this._native.close());
    }
    await this.closing;
  }

  async disconnect() {
    await this.close();
  }
}

module.exports = { FlowProducer };
