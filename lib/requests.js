'use strict';

// Requests to the engine answered on one shared reply channel (cheaper per call than a
// promise made by the addon). The process is kept alive while an answer is due.
//
// Where it can, the engine leaves reading its Redis socket to this thread's event loop:
// each socket it opens is wrapped in a net.Socket whose bytes go back to the engine, and
// the requests they complete are answered right there, with no hop through the engine's
// own thread.

const fs = require('node:fs');
const net = require('node:net');
const { binding, unwrapError } = require('./native');

class Requests {
  constructor() {
    this._pending = new Map();
    this._next = 0;
    this._hold = setInterval(() => {}, 1 << 30);
    this._hold.unref();
    this._replier = new binding.NativeReplier((reply) => this._answer(reply));
  }

  /** Calls `start(replier, requestId)` and resolves with the reply (`added` or `job`). */
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

  /** Reads the replies to `native`'s commands on this thread, where the engine allows. */
  readRepliesOf(native) {
    native.readRepliesWith((feed, fd) => this._read(feed, fd));
  }

  _read(feed, fd) {
    let socket;
    try {
      socket = new net.Socket({ fd, readable: true, writable: false, allowHalfOpen: true });
    } catch (err) {
      fs.close(fd, () => {});
      feed.ended(err.message);
      return;
    }
    socket.unref();
    let over = false;
    const end = (reason) => {
      if (over) return;
      over = true;
      feed.ended(reason);
      socket.destroy();
    };
    socket.on('data', (bytes) => {
      let replies;
      try {
        replies = feed.feed(this._replier, bytes);
      } catch (err) {
        end(err.message);
        return;
      }
      if (replies === null) {
        over = true;
        socket.destroy();
        return;
      }
      for (const reply of replies) this._answer(reply);
    });
    socket.on('end', () => end(null));
    socket.on('error', (err) => end(err.message));
  }

  _answer(reply) {
    const waiting = this._pending.get(reply.request);
    if (!waiting) return;
    this._pending.delete(reply.request);
    if (this._pending.size === 0) this._hold.unref();
    if (reply.error) waiting.reject(unwrapError(new Error(reply.error)));
    else waiting.resolve(reply);
  }
}

module.exports = { Requests };
