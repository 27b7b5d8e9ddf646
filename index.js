'use strict';

// bullrush: BullMQ's Queue, Worker, QueueEvents, Job and FlowProducer on a Rust engine,
// and the rest of the names a BullMQ 6.7 app imports. Every export is listed by name in the one
// `module.exports` literal below, so Node's static detection of a CommonJS module's names
// (what `import { X } from 'bullrush'` links against) sees them all; index.mjs is the ESM
// entry. The names of BullMQ that are not here are in the README's "not exported" table.

const { Queue } = require('./lib/queue');
const { Worker } = require('./lib/worker');
const { QueueEvents } = require('./lib/queue-events');
const { Job } = require('./lib/job');
const { FlowProducer } = require('./lib/flow-producer');
const { QueueBase, shareBaseMembers, adoptInstances } = require('./lib/queue-base');
const { QueueGetters } = require('./lib/queue-getters');
const { QueueEventsProducer } = require('./lib/queue-events-producer');
const { QueueKeys } = require('./lib/queue-keys');
const { Backoffs } = require('./lib/backoffs');
const { MetricsTime } = require('./lib/metrics-time');
const {
  ErrorCode,
  ChildCommand,
  ParentCommand,
  SpanKind,
  TelemetryAttributes,
  MetricNames,
  ClientType,
} = require('./lib/enums');
const {
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
} = require('./lib/errors');
const {
  PRIORITY_LIMIT,
  QUEUE_EVENT_SUFFIX,
  delay,
  isRedisInstance,
  isRedisCluster,
  getParentKey,
} = require('./lib/utils');
const { trace, withDetachedContext } = require('./lib/telemetry');
const { traceOperations } = require('./lib/spans');
const { Child } = require('./lib/sandbox/child');
const { ChildPool } = require('./lib/sandbox/child-pool');
const { ChildProcessor } = require('./lib/sandbox/child-processor');
const { asyncSend, childSend } = require('./lib/sandbox/ipc');
const {
  createIORedisClient,
  createNodeRedisClient,
  createValkeyGlideClient,
  createBunRedisClient,
} = require('./lib/redis-clients');
const {
  JobScheduler,
  installSchedulers,
  getNextMillis,
  defaultRepeatStrategy,
  hasLegacyRepeatableKeyShape,
  isLegacyRepeatableJobKey,
  getLegacyRepeatableJobError,
  LEGACY_REPEATABLE_JOBS_MIGRATION_URL,
} = require('./lib/job-scheduler');
const { version } = require('./package.json');

Worker.RateLimitError = () => new RateLimitError();

shareBaseMembers([Queue, Worker, QueueEvents]);
traceOperations(Queue, Worker);
adoptInstances(QueueBase, [Queue, Worker, QueueEvents]);
adoptInstances(QueueGetters, [Queue]);

installSchedulers(Queue, Worker);

module.exports = {
  Queue,
  Worker,
  QueueEvents,
  Job,
  QueueBase,
  QueueGetters,
  QueueEventsProducer,
  QueueKeys,
  FlowProducer,
  JobScheduler,
  Backoffs,
  MetricsTime,
  ErrorCode,
  ChildCommand,
  ParentCommand,
  SpanKind,
  TelemetryAttributes,
  MetricNames,
  ClientType,
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
  PRIORITY_LIMIT,
  QUEUE_EVENT_SUFFIX,
  delay,
  isRedisInstance,
  isRedisCluster,
  getParentKey,
  trace,
  withDetachedContext,
  Child,
  ChildPool,
  ChildProcessor,
  asyncSend,
  childSend,
  createIORedisClient,
  createNodeRedisClient,
  createValkeyGlideClient,
  createBunRedisClient,
  defaultRepeatStrategy,
  getNextMillis,
  hasLegacyRepeatableKeyShape,
  isLegacyRepeatableJobKey,
  getLegacyRepeatableJobError,
  LEGACY_REPEATABLE_JOBS_MIGRATION_URL,
  version,
};
