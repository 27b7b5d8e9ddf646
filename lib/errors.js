'use strict';

// BullMQ's error classes: the worker classifies a processor's error by class or by name.

class UnrecoverableError extends Error {
  constructor(message = 'bullmq:unrecoverable') {
    super(message);
    this.name = 'UnrecoverableError';
  }
}

class RateLimitError extends Error {
  constructor(message = 'bullmq:rateLimitExceeded') {
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

module.exports = {
  UnrecoverableError,
  RateLimitError,
  DelayedError,
  WaitingError,
  WaitingChildrenError,
};
