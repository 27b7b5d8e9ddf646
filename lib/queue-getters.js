'use strict';

// BullMQ's QueueGetters: the read-only half of a Queue (counts, jobs, logs, workers,
// metrics) on a QueueBase's connection. The methods are the Queue's own.

const { QueueBase } = require('./queue-base');
const { Queue } = require('./queue');

// BullMQ's QueueGetters methods (every one of them is also a Queue method).
const GETTERS = [
  'getJob',
  'count',
  'getRateLimitTtl',
  'getDebounceJobId',
  'getDeduplicationJobId',
  'getGlobalConcurrency',
  'getGlobalRateLimit',
  'getJobCountByTypes',
  'getJobCounts',
  'recordJobCountsMetric',
  'getJobState',
  'getMeta',
  'getCompletedCount',
  'getFailedCount',
  'getDelayedCount',
  'getActiveCount',
  'getPrioritizedCount',
  'getCountsPerPriority',
  'getWaitingCount',
  'getWaitingChildrenCount',
  'getWaiting',
  'getWaitingChildren',
  'getActive',
  'getDelayed',
  'getPrioritized',
  'getCompleted',
  'getFailed',
  'getDependencies',
  'getRanges',
  'getJobs',
  'getJobLogs',
  'getWorkers',
  'getWorkersCount',
  'getQueueEvents',
  'getMetrics',
  'exportPrometheusMetrics',
];

class QueueGetters extends QueueBase {}

// Each getter runs the Queue's method of that name (looked up at the call, so methods
// installed on Queue later are the same here).
for (const name of GETTERS) {
  Object.defineProperty(QueueGetters.prototype, name, {
    value: {
      [name](...args) {
        return Queue.prototype[name].apply(this, args);
      },
    }[name],
    writable: true,
    configurable: true,
  });
}

module.exports = { QueueGetters };
