'use strict';

// BullMQ features bullrush does not implement yet: their names exist, so imports link
// and the types declare BullMQ's full surface, but using them fails loudly with a clear
// error instead of silently doing nothing.

function notYet(what) {
  return new Error(`${what} is not supported by bullrush yet`);
}

/** Defines each named method on `cls.prototype` to reject. */
function markUnsupported(cls, methods) {
  for (const name of methods) {
    Object.defineProperty(cls.prototype, name, {
      value: () => Promise.reject(notYet(`${cls.name}.${name}`)),
      writable: true,
      configurable: true,
    });
  }
}

/** Defines a getter on `cls.prototype` whose value is a promise that rejects (BullMQ's `jobScheduler`). */
function markUnsupportedGetter(cls, name) {
  Object.defineProperty(cls.prototype, name, {
    get: () => Promise.reject(notYet(`${cls.name}.${name}`)),
    configurable: true,
  });
}

/**
 * A class named `name` whose constructor throws, for BullMQ classes whose every use needs
 * what bullrush lacks (`JobScheduler`, ...).
 */
function unsupportedClass(name) {
  const cls = {
    [name]: class {
      constructor() {
        throw notYet(name);
      }
    },
  }[name];
  return cls;
}

/** A function named `name` that throws when called. */
function unsupportedFunction(name) {
  return {
    [name]() {
      throw notYet(name);
    },
  }[name];
}

module.exports = { markUnsupported, markUnsupportedGetter, unsupportedClass, unsupportedFunction, notYet };
