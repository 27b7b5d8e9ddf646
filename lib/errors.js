'use strict';

// BullMQ's error classes: the worker classifies a processor's error by class or by name.

class UnrecoverableError extends Error {
  constructor(message = 'bullmq:unrecoverable') {
    super(message);
    this.name = 'UnrecoverableError';
  }
}

// The message BullMQ recognises a rate-limited job by, whatever the error's class
// (exported under BullMQ's name).
const RATE_LIMIT_ERROR = 'bullmq:rateLimitExceeded';

class RateLimitError extends Error {
  constructor(message = RATE_LIMIT_ERROR) {
    super(message);
    this.name = 'RateLimitError';
  }
}

class DelayedError extends Error {
  constructor(message = 'bullmq:movedToDelayed') {
    super(message);
    this.name = 'DelayedError';
  }
}

class WaitingError extends Error {
  constructor(message = 'bullmq:movedToWait') {
    super(message);
    this.name = 'WaitingError';
  }
}

class WaitingChildrenError extends Error {
  constructor(message = 'bullmq:movedToWaitingChildren') {
    super(message);
    this.name = 'WaitingChildrenError';
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
  RATE_LIMIT_ERROR,
  TimeoutError,
  UnrecoverableError,
  RateLimitError,
  DelayedError,
  WaitingError,
  WaitingChildrenError,
};
