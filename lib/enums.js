'use strict';

// BullMQ's enums, with BullMQ's values: numeric ones map names to numbers and back (as
// TypeScript compiles them), string ones map names to strings.

/** A numeric enum object from `[name, value]` pairs. */
function numeric(pairs) {
  const out = {};
  for (const [name, value] of pairs) {
    out[name] = value;
    out[value] = name;
  }
  return out;
}

/** Codes BullMQ's scripts answer with, as the `code` of the errors they become. */
const ErrorCode = numeric([
  ['JobNotExist', -1],
  ['JobLockNotExist', -2],
  ['JobNotInState', -3],
  ['JobPendingChildren', -4],
  ['ParentJobNotExist', -5],
  ['JobLockMismatch', -6],
  ['ParentJobCannotBeReplaced', -7],
  ['JobBelongsToJobScheduler', -8],
  ['JobHasFailedChildren', -9],
  ['SchedulerJobIdCollision', -10],
  ['SchedulerJobSlotsBusy', -11],
]);

/** Messages a sandboxed processor's parent sends to its child process. */
const ChildCommand = numeric([
  ['Init', 0],
  ['Start', 1],
  ['Stop', 2],
  ['GetChildrenValuesResponse', 3],
  ['GetIgnoredChildrenFailuresResponse', 4],
  ['GetDependenciesCountResponse', 5],
  ['MoveToWaitingChildrenResponse', 6],
  ['Cancel', 7],
  ['GetDependenciesResponse', 8],
]);

/** Messages a sandboxed processor's child process sends to its parent. */
const ParentCommand = numeric([
  ['Completed', 0],
  ['Error', 1],
  ['Failed', 2],
  ['InitFailed', 3],
  ['InitCompleted', 4],
  ['Log', 5],
  ['MoveToDelayed', 6],
  ['MoveToWait', 7],
  ['Progress', 8],
  ['Update', 9],
  ['GetChildrenValues', 10],
  ['GetIgnoredChildrenFailures', 11],
  ['GetDependenciesCount', 12],
  ['MoveToWaitingChildren', 13],
  ['GetDependencies', 14],
]);

/** Span kinds telemetry adapters receive (OpenTelemetry's numbering). */
const SpanKind = numeric([
  ['INTERNAL', 0],
  ['SERVER', 1],
  ['CLIENT', 2],
  ['PRODUCER', 3],
  ['CONSUMER', 4],
]);

/** Attribute names BullMQ sets on telemetry spans. */
const TelemetryAttributes = {
  QueueName: 'bullmq.queue.name',
  QueueOperation: 'bullmq.queue.operation',
  BulkCount: 'bullmq.job.bulk.count',
  BulkNames: 'bullmq.job.bulk.names',
  JobName: 'bullmq.job.name',
  JobId: 'bullmq.job.id',
  JobKey: 'bullmq.job.key',
  JobIds: 'bullmq.job.ids',
  JobAttemptsMade: 'bullmq.job.attempts.made',
  DeduplicationKey: 'bullmq.job.deduplication.key',
  JobOptions: 'bullmq.job.options',
  JobProgress: 'bullmq.job.progress',
  QueueDrainDelay: 'bullmq.queue.drain.delay',
  QueueGrace: 'bullmq.queue.grace',
  QueueCleanLimit: 'bullmq.queue.clean.limit',
  QueueCleanCount: 'bullmq.queue.clean.count',
  QueueRateLimit: 'bullmq.queue.rate.limit',
  JobType: 'bullmq.job.type',
  QueueOptions: 'bullmq.queue.options',
  QueueEventMaxLength: 'bullmq.queue.event.max.length',
  QueueJobsState: 'bullmq.queue.jobs.state',
  WorkerOptions: 'bullmq.worker.options',
  WorkerName: 'bullmq.worker.name',
  WorkerId: 'bullmq.worker.id',
  WorkerRateLimit: 'bullmq.worker.rate.limit',
  WorkerDoNotWaitActive: 'bullmq.worker.do.not.wait.active',
  WorkerForceClose: 'bullmq.worker.force.close',
  WorkerStalledJobs: 'bullmq.worker.stalled.jobs',
  WorkerFailedJobs: 'bullmq.worker.failed.jobs',
  WorkerJobsToExtendLocks: 'bullmq.worker.jobs.to.extend.locks',
  JobAttemptFinishedTimestamp: 'bullmq.job.attempt_finished_timestamp',
  JobProcessedTimestamp: 'bullmq.job.processed.timestamp',
  JobResult: 'bullmq.job.result',
  JobFailedReason: 'bullmq.job.failed.reason',
  FlowName: 'bullmq.flow.name',
  JobSchedulerId: 'bullmq.job.scheduler.id',
  JobState: 'bullmq.job.state',
};

/** Metric names BullMQ records through a telemetry meter. */
const MetricNames = {
  QueueJobsCount: 'bullmq.queue.jobs',
  JobsCompleted: 'bullmq.jobs.completed',
  JobsFailed: 'bullmq.jobs.failed',
  JobsDelayed: 'bullmq.jobs.delayed',
  JobsRetried: 'bullmq.jobs.retried',
  JobsWaiting: 'bullmq.jobs.waiting',
  JobsWaitingChildren: 'bullmq.jobs.waiting_children',
  JobDuration: 'bullmq.job.duration',
};

/** The kinds of Redis connection BullMQ opens. */
const ClientType = {
  blocking: 'blocking',
  normal: 'normal',
};

module.exports = { ErrorCode, ChildCommand, ParentCommand, SpanKind, TelemetryAttributes, MetricNames, ClientType };
