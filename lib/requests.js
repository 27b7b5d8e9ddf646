'use strict';

// Requests to the engine answered on one shared reply channel (cheaper per call than a
// promise made by the addon). The process is kept alive while an answer is due.

const { binding, unwrapError } = require('./native');

class Requests {
  constructor() {
    this._pending = new Map();
    this._next = 0;
    this._hold = setInterval(() => {}, 1 << 30);
    this._hold.unref();
    this._replier = new binding.NativeReplier((reply) => this._answer(reply));
  }

  /** Calls `start(replier, requestId)` and resolves with the reply's jobs. */
  send(start) {
    const request = (this._next = (this._next + 1) >>> 0);
    return new Promise((resolve, reject) => {
      try {
        start(this._replier, request);
      } catch (err) {
        reject(unwrapError(err));
        return;
      }
      if (this._pending.size === 0) this._hold.ref();
      this._pending.set(request, { resolve, reject });
    });
  }

  _answer(reply) {
    const waiting = this._pending.get(reply.request);
    if (!waiting) return;
    this._pending.delete(reply.request);
    if (this._pending.size === 0) this._hold.unref();
    if (reply.error) waiting.reject(unwrapError(new Error(reply.error)));
    else waiting.resolve(reply.added);
  }
}

module.exports = { Requests };
