'use strict';

// What `getBackend()` returns on a Queue, Worker, QueueEvents or QueueBase: BullMQ 6.x apps
// report Redis health through `(await x.getBackend().client).status` and `.ping()`, and
// reach Redis itself through the same client. The client is a view of the owner's engine
// connection, not an ioredis instance: health checks (status, ping, isCluster), and any
// other Redis command the way ioredis offers it (`client.set(key, value)`,
// `client.call('SET', key, value)`), with ioredis' reply shapes.

const { wait } = require('./native');
const { ConnectionClosedError } = require('./errors');

const backends = new WeakMap();

// ioredis' status words for the states of an engine connection.
const STATUS = { idle: 'wait', ready: 'ready', lost: 'reconnecting', closed: 'end' };

/** The health-check view of an owner's connection (`client` of a backend). */
class BackendClient {
  constructor(owner) {
    Object.defineProperty(this, '_owner', { value: owner });
    this._state = 'idle';
    this.isCluster = false;
  }

  /** ioredis' status: `wait` before connecting, `ready`, `reconnecting` after a failed command, `end` once closed. */
  get status() {
    if (this._owner.closing) return STATUS.closed;
    return STATUS[this._state];
  }

  /** Sends PING; resolves with `PONG` (or echoes `message`, as Redis does). */
  async ping(message) {
    this._checkOpen();
    try {
      const reply = await wait(this._owner._nativeQueue().ping());
      this._state = 'ready';
      return message === undefined ? reply : String(message);
    } catch (err) {
      if (!this._owner.closing) this._state = 'lost';
      throw err;
    }
  }

  /** Runs Redis command `command` with `args` (nested arrays and option objects flattened). */
  async call(command, ...args) {
    this._checkOpen();
    const name = String(command).toLowerCase();
    const reply = await wait(this._owner._nativeQueue().command(name, flatten(args)));
    return name === 'hgetall' ? pairsToObject(reply) : reply;
  }

  /** XADD, also in BullMQ's form `(key, id, fields, { MAXLEN, approximate })`. */
  xadd(key, ...args) {
    if (!isPlainObject(args[1])) return this.call('xadd', key, ...args);
    const [id, fields, opts = {}] = args;
    const trim = opts.MAXLEN === undefined ? [] : ['MAXLEN', opts.approximate ? '~' : '=', opts.MAXLEN];
    return this.call('xadd', key, ...trim, id, fields);
  }

  /** XREAD, also in BullMQ's form `([{ key, id }], { BLOCK, COUNT })`. */
  xread(...args) {
    if (!Array.isArray(args[0])) return this.call('xread', ...args);
    const [streams, opts = {}] = args;
    const keys = streams.map((s) => s.key);
    const ids = streams.map((s) => s.id);
    return this.call('xread', opts, 'STREAMS', keys, ids);
  }

  /** XTRIM, also in BullMQ's form `(key, 'MAXLEN', threshold, { approximate })`. */
  xtrim(key, strategy, threshold, opts) {
    if (!isPlainObject(opts)) return this.call('xtrim', ...[key, strategy, threshold, opts].filter((a) => a !== undefined));
    return this.call('xtrim', key, strategy, opts.approximate ? '~' : '=', threshold);
  }

  clientSetName(name) {
    return this.call('client', 'SETNAME', name);
  }

  clientList() {
    return this.call('client', 'LIST');
  }

  clientInfo() {
    return this.call('client', 'INFO');
  }

  // A closed owner's connection takes no more commands (as ioredis after quit).
  _checkOpen() {
    if (this._owner.closing) throw new ConnectionClosedError();
  }

  // Connects (the owner's readiness); a failure leaves the status `reconnecting`.
  async _connect() {
    this._checkOpen();
    try {
      await wait(this._owner._nativeQueue().waitUntilReady());
      this._state = 'ready';
    } catch (err) {
      this._state = 'lost';
      throw err;
    }
    return this;
  }
}

// Command arguments as Redis takes them: arrays spread, objects as their entries (a `true`
// option as its name alone, `{ PX: 100 }` as `PX 100`, a hash's fields as field value).
function flatten(args) {
  const out = [];
  for (const arg of args) {
    if (Array.isArray(arg)) out.push(...flatten(arg));
    else if (arg !== null && typeof arg === 'object' && !Buffer.isBuffer(arg)) {
      for (const [key, value] of Object.entries(arg)) {
        if (value === true) out.push(key);
        else if (value !== false && value !== undefined && value !== null) out.push(key, String(value));
      }
    } else if (arg !== undefined) out.push(String(arg));
  }
  return out;
}

function isPlainObject(value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !Buffer.isBuffer(value);
}

// HGETALL's flat reply as ioredis gives it: an object.
function pairsToObject(reply) {
  const out = {};
  for (let i = 0; i + 1 < reply.length; i += 2) out[reply[i]] = reply[i + 1];
  return out;
}

// Lowercase names the client never treats as commands: a thenable or array-like client would
// confuse `await` and inspection, and a `nodes` method is how dashboards (bull-board) tell an
// ioredis Cluster from a single Redis.
const NOT_COMMANDS = new Set(['then', 'catch', 'finally', 'length', 'name', 'prototype', 'nodes']);

// The client, with every Redis command as a method of its lowercase name (ioredis style).
function withCommands(client) {
  return new Proxy(client, {
    get(target, prop, receiver) {
      const command = typeof prop === 'string' && /^[a-z][a-z0-9]*$/.test(prop) && !NOT_COMMANDS.has(prop);
      if (!command || prop in target) {
        return Reflect.get(target, prop, receiver);
      }
      return (...args) => target.call(prop, ...args);
    },
  });
}

/** BullMQ's backend as far as apps use it: `client`, the queue's identity and keys. */
class Backend {
  constructor(owner) {
    Object.defineProperty(this, '_owner', { value: owner });
    this._client = withCommands(new BackendClient(owner));
  }

  /** Resolves with the connection's client once it is connected (as BullMQ's does). */
  get client() {
    return this._client._connect();
  }

  get qualifiedName() {
    return this._owner.qualifiedName;
  }

  get keys() {
    return this._owner.keys;
  }

  toKey(type) {
    return this._owner.toKey(type);
  }

  /** Resolves once the connection is up. */
  async waitUntilReady() {
    await this._client._connect();
  }
}

/** The backend of `owner` (one per owner). */
function backendOf(owner) {
  let backend = backends.get(owner);
  if (!backend) {
    backend = new Backend(owner);
    backends.set(owner, backend);
  }
  return backend;
}

module.exports = { backendOf };
