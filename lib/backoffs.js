'use strict';

// BullMQ's Backoffs: the retry delays of the built-in backoff types, computed by the
// engine (the same arithmetic its workers use), and custom strategies looked up as BullMQ
// does.

const { binding, call } = require('./native');

/** A built-in strategy: `(attemptsMade) => delay` for the engine's backoff of `type`. */
function builtin(type) {
  return (delay, jitter = 0) =>
    (attemptsMade = 1) =>
      call(() => binding.backoffDelay(JSON.stringify({ type, delay, jitter }), Number(attemptsMade)));
}

class Backoffs {
  /** A plain number becomes `{ type: 'fixed', delay }`; an object stays as it is. */
  static normalize(backoff) {
    if (Number.isFinite(backoff)) return { type: 'fixed', delay: backoff };
    return backoff || undefined;
  }

  /** The delay before the retry after `attemptsMade` failed attempts. */
  static calculate(backoff, attemptsMade, err, job, customStrategy) {
    if (!backoff) return undefined;
    return lookupStrategy(backoff, customStrategy)(attemptsMade, backoff.type, err, job);
  }
}

Backoffs.builtinStrategies = {
  fixed: builtin('fixed'),
  exponential: builtin('exponential'),
};

function lookupStrategy(backoff, customStrategy) {
  if (backoff.type in Backoffs.builtinStrategies) {
    return Backoffs.builtinStrategies[backoff.type](backoff.delay, backoff.jitter);
  }
  if (customStrategy) return customStrategy;
  throw new Error(
    `Unknown backoff strategy ${backoff.type}.\n      If a custom backoff strategy is used, specify it when the queue is created.`,
  );
}

module.exports = { Backoffs };
