'use strict';

// What `getBackend()` returns on a Queue, Worker, QueueEvents or QueueBase: BullMQ 6.x apps
// report Redis health through `(await x.getBackend().client).status` and `.ping()`. The
// client is a view of the owner's engine connection, not an ioredis instance: it has the
// health-check surface (status, ping, isCluster) and no other Redis commands.

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

/** BullMQ's backend as far as apps use it: `client`, the queue's identity and keys. */
class Backend {
  constructor(owner) {
    Object.defineProperty(this, '_owner', { value: owner });
    this._client = new BackendClient(owner);
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
