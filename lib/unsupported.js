'use strict';

// BullMQ methods bullrush does not implement yet: they fail loudly with a clear error
// instead of being silently absent (the types declare BullMQ's full surface).

function notYet(className, method) {
  return new Error(`${className}.${method} is not supported by bullrush yet`);
}

/** Defines each named method on `cls.prototype` (or `cls` for statics) to reject. */
function markUnsupported(cls, methods, { statics = [], sync = [] } = {}) {
  for (const name of methods) {
    Object.defineProperty(cls.prototype, name, {
      value: sync.includes(name)
        ? () => {
            throw notYet(cls.name, name);
          }
        : () => Promise.reject(notYet(cls.name, name)),
      writable: true,
      configurable: true,
    });
  }
  for (const name of statics) {
    Object.defineProperty(cls, name, {
      value: () => Promise.reject(notYet(cls.name, name)),
      writable: true,
      configurable: true,
    });
  }
}

module.exports = { markUnsupported };
