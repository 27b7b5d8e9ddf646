'use strict';

// BullMQ's utilities that apps and libraries import from 'bullmq', with BullMQ's behaviour.

/** The highest job priority BullMQ accepts (2^21 - 1). */
const PRIORITY_LIMIT = 2 ** 21 - 1;

/** The suffix of a QueueEvents connection's client name (`<prefix>:<base64 name>:qe`). */
const QUEUE_EVENT_SUFFIX = ':qe';

/** Resolves after `ms`, or as soon as `abortController` aborts. */
function delay(ms, abortController) {
  return new Promise((resolve) => {
    const signal = abortController && abortController.signal;
    const done = () => {
      clearTimeout(timer);
      if (signal) signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    if (signal) signal.addEventListener('abort', done);
  });
}

/** Whether `obj` looks like a Redis client (ioredis or an adapter): connect, disconnect, duplicate. */
function isRedisInstance(obj) {
  if (!obj) return false;
  return ['connect', 'disconnect', 'duplicate'].every((name) => typeof obj[name] === 'function');
}

/** Whether `obj` is a Redis client connected to a Redis Cluster. */
function isRedisCluster(obj) {
  return isRedisInstance(obj) && !!obj.isCluster;
}

/** The parent job's key, `<parent queue key>:<parent id>`, from a job's `parent` option. */
function getParentKey(opts) {
  if (!opts) return undefined;
  return `${opts.queue}:${opts.id}`;
}

module.exports = { PRIORITY_LIMIT, QUEUE_EVENT_SUFFIX, delay, isRedisInstance, isRedisCluster, getParentKey };
