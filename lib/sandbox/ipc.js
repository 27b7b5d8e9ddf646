'use strict';

// Messages between a sandboxed processor's parent and its child (a process or a worker
// thread), and errors as they travel between them. Loaded in the child: no native code.

/**
 * Sends `msg` to `proc`: a child process or `process` (`send`, resolving once written) or
 * a worker thread or its port (`postMessage`); anything else is ignored.
 */
function asyncSend(proc, msg) {
  return new Promise((resolve, reject) => {
    if (typeof proc.send === 'function') {
      proc.send(msg, (err) => (err ? reject(err) : resolve()));
    } else if (typeof proc.postMessage === 'function') {
      resolve(proc.postMessage(msg));
    } else {
      resolve();
    }
  });
}

/** Sends `msg` from a child to its parent through `proc` (as asyncSend). */
function childSend(proc, msg) {
  return asyncSend(proc, msg);
}

/** A JSON replacer that writes `[Circular]` for an object met again (the root included). */
function circularReplacer(root) {
  const seen = new WeakSet([root]);
  return (_key, value) => {
    if (typeof value !== 'object' || value === null) return value;
    if (seen.has(value)) return '[Circular]';
    seen.add(value);
    return value;
  };
}

/** An error's own properties (message, stack, name when set, custom fields) as plain JSON. */
function errorToJSON(err) {
  const own = {};
  for (const key of Object.getOwnPropertyNames(err)) own[key] = err[key];
  return JSON.parse(JSON.stringify(own, circularReplacer(err)));
}

/** An Error carrying the fields of an error sent as JSON. */
function errorFromJSON(json) {
  return Object.assign(new Error(), json);
}

module.exports = { asyncSend, childSend, errorToJSON, errorFromJSON };
