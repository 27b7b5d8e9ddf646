'use strict';

// BullMQ's error classes and the messages they default to: the worker classifies a
// processor's error by class or by name, and apps match on the messages.

const UNRECOVERABLE_ERROR = 'bullmq:unrecoverable';
// The message BullMQ recognises a rate-limited job by, whatever the error's class.
const RATE_LIMIT_ERROR = 'bullmq:rateLimitExceeded';
const DELAYED_ERROR = 'bullmq:movedToDelayed';
const WAITING_ERROR = 'bullmq:movedToWait';
const WAITING_CHILDREN_ERROR = 'bullmq:movedToWaitingChildren';
const CONNECTION_CLOSED_ERROR_MSG = 'Connection is closed.';

class UnrecoverableError extends Error {
  constructor(message = UNRECOVERABLE_ERROR) {
    super(message);
    this.name = 'UnrecoverableError';
  }
}

class RateLimitError extends Error {
  constructor(message = RATE_LIMIT_ERROR) {
    super(message);
    this.name = 'RateLimitError';
  }
}

class DelayedError extends Error {
  constructor(message = DELAYED_ERROR) {
    super(message);
    this.name = 'DelayedError';
  }
}

class WaitingError extends Error {
  constructor(message = WAITING_ERROR) {
    super(message);
    this.name = 'WaitingError';
  }
}

class WaitingChildrenError extends Error {
  constructor(message = WAITING_CHILDREN_ERROR) {
    super(message);
    this.name = 'WaitingChildrenError';
  }
}

/** A command sent on a connection that has been closed; `cause` is the client's own error. */
class ConnectionClosedError extends Error {
  constructor(message, cause) {
    super(message ?? CONNECTION_CLOSED_ERROR_MSG);
    this.cause = cause;
    this.name = 'ConnectionClosedError';
  }
}

/** The error an attempt fails with when it runs past its `timeout` (bullrush only). */
class TimeoutError extends Error {
  constructor(message = 'bullrush:timeout') {
    super(message);
    this.name = 'TimeoutError';
  }
}

module.exports = {
  UNRECOVERABLE_ERROR,
  RATE_LIMIT_ERROR,
  DELAYED_ERROR,
  WAITING_ERROR,
  WAITING_CHILDREN_ERROR,
  CONNECTION_CLOSED_ERROR_MSG,
  TimeoutError,
  UnrecoverableError,
  RateLimitError,
  DelayedError,
  WaitingError,
  WaitingChildrenError,
  ConnectionClosedError,
};
