'use strict';

// BullMQ methods bullrush does not implement yet: they reject loudly with a clear error
// instead of being silently absent (the types declare BullMQ's full surface).

function notYet(className, method) {
  return new Error(`${className}.${method} is not supported by bullrush yet`);
}

/** Defines each named method on `cls.prototype` to reject. */
function markUnsupported(cls, methods) {
  for (const name of methods) {
    Object.defineProperty(cls.prototype, name, {
      value: () => Promise.reject(notYet(cls.name, name)),
      writable: true,
      configurable: true,
    });
  }
}

module.exports = { markUnsupported };
