'use strict';

// Loads the addon and turns its errors ("<code>|<message>") into errors with a `code`.

const binding = require('./load-binding').loadBinding();

const CODED = /^(ERR_[A-Z_]+|-?\d+)\|/s;
const FAILED_CHILDREN = -9;

function unwrapError(err) {
  if (!(err instanceof Error)) return err;
  const match = CODED.exec(err.message);
  if (!match) return err;
  err.message = err.message.slice(match[0].length);
  const code = match[1];
  err.code = /^-?\d+$/.test(code) ? Number(code) : code;
  if (code === 'ERR_CONNECTION' && err.message.includes('ECONNREFUSED')) {
    err.code = 'ECONNREFUSED';
  }
  if (code === 'ERR_INVALID_ARG') err.name = 'Error';
  if (code === 'ERR_MAX_RETRIES') err.name = 'MaxRetriesPerRequestError';
  if (typeof err.stack === 'string') {
    err.stack = err.stack.replace(match[0], '');
  }
  if (err.code === FAILED_CHILDREN) return unrecoverable(err);
  return err;
}

// BullMQ throws a failed child's refusal (-9) as an UnrecoverableError: a processor that
// lets it through fails its job without a retry.
function unrecoverable(err) {
  const { UnrecoverableError } = require('./errors');
  const out = new UnrecoverableError(err.message);
  out.code = err.code;
  return out;
}

/** Calls a native function, rethrowing its error with a code. */
function call(fn) {
  try {
    return fn();
  } catch (err) {
    throw unwrapError(err);
  }
}

/** Awaits a native promise, rejecting with a coded error. */
async function wait(promise) {
  try {
    return await promise;
  } catch (err) {
    throw unwrapError(err);
  }
}

/** A ref'd timer that keeps the process alive while a worker or listener runs. */
function keepAlive() {
  return setInterval(() => {}, 1 << 30);
}

module.exports = { binding, call, wait, unwrapError, keepAlive };
