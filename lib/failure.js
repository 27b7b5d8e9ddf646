'use strict';

// How an error thrown for a job reads to the engine, the way BullMQ reads it: by class
// or by name, so errors from another copy of the classes still count.

const { UnrecoverableError, RATE_LIMIT_ERROR } = require('./errors');

// Errors a processor throws after moving its job out of active itself.
const MOVED_ERRORS = new Set(['DelayedError', 'WaitingError', 'WaitingChildrenError']);

/** What a processor's error means for its job: 'rateLimited', 'moved' or 'failed'. */
function failureKind(err) {
  if (err && err.message === RATE_LIMIT_ERROR) return 'rateLimited';
  if (err && MOVED_ERRORS.has(err.name)) return 'moved';
  return 'failed';
}

/** The failure to record: message, stack and whether retries are ruled out. */
function describeFailure(err) {
  const message = err && typeof err === 'object' && 'message' in err ? String(err.message) : String(err);
  return {
    message,
    stack: err && typeof err.stack === 'string' ? err.stack : undefined,
    unrecoverable: err instanceof UnrecoverableError || (!!err && err.name === 'UnrecoverableError'),
  };
}

module.exports = { failureKind, describeFailure };
