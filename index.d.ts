// Public types of bullrush: drop-in, BullMQ-compatible Queue, Worker, QueueEvents and Job,
// and the rest of BullMQ 6.7's importable surface.
// Hand-written; the napi-generated binding.d.ts is internal and not re-exported.

import { EventEmitter } from 'node:events';
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import type { ChildProcess, ForkOptions } from 'node:child_process';
import type { Worker as ThreadWorker, WorkerOptions as WorkerThreadsOptions } from 'node:worker_threads';

// ---------------------------------------------------------------------------
// Connection
// ---------------------------------------------------------------------------

/** Redis connection settings in ioredis' shape. */
export interface RedisOptions {
  /** Server host. @defaultValue 'localhost' */
  host?: string;
  /** Server port. @defaultValue 6379 */
  port?: number;
  /** ACL user name. */
  username?: string;
  /** Password (ACL or `requirepass`). */
  password?: string;
  /** Database index. @defaultValue 0 */
  db?: number;
  /** Connect over TLS: `true`, or Node's TLS options, of which `ca`, `cert`, `key` and `rejectUnauthorized` are honoured and any other is refused. */
  tls?: boolean | TlsConnectionOptions;
  /** A `redis://` or `rediss://` URL; the other fields override its parts. */
  url?: string;
  /** Name sent with `CLIENT SETNAME`. */
  connectionName?: string;
  /** Milliseconds to wait for the connection to open. */
  connectTimeout?: number;
  /** Delay in ms before reconnect attempt `times`, or a non-number to stop. */
  retryStrategy?: (times: number) => number | void | null;
  /** How many reconnection attempts (as ioredis spaces them) a Queue's request waits through while Redis is unreachable or loading; `null` waits as long as it takes. Workers and QueueEvents always wait. @defaultValue 20 */
  maxRetriesPerRequest?: number | null;
  /** `false`: a Queue's requests fail at once while Redis is unreachable, instead of waiting. @defaultValue true */
  enableOfflineQueue?: boolean;
  /** Skip the check of the Redis server version. */
  skipVersionCheck?: boolean;
  /** Other ioredis options are accepted; those bullrush does not use are ignored. */
  [option: string]: unknown;
}

/** An existing ioredis `Redis` or `Cluster` instance, typed structurally; bullrush connects with its settings. */
export interface RedisClientLike {
  /** The client's resolved options. */
  options: object;
  /** The client's connection status (`'ready'`, `'wait'`, `'end'`, ...). */
  status: string;
  /** `true` for an ioredis `Cluster`. */
  isCluster?: boolean;
}

/**
 * A node-redis, Valkey GLIDE or other driver client (raw, or wrapped by a `create*Client`
 * function); bullrush reads its settings and refuses a kind it cannot read.
 */
export interface RedisConnectionClient {
  connect(...args: any[]): any;
  duplicate(...args: any[]): any;
  [key: string]: any;
}

/** How to reach Redis: an options object, a `redis://`/`rediss://` URL, or a client instance. */
export type ConnectionOptions = RedisOptions | RedisClientLike | RedisConnectionClient | string;

// ---------------------------------------------------------------------------
// Telemetry (the interfaces `bullmq-otel` implements)
// ---------------------------------------------------------------------------

/** A span attribute's value. */
export type AttributeValue =
  | string
  | number
  | boolean
  | Array<null | undefined | string>
  | Array<null | undefined | number>
  | Array<null | undefined | boolean>;

/** Span or metric attributes. */
export interface Attributes {
  [attribute: string]: AttributeValue | undefined;
}

/** A telemetry span. */
export interface Span<Context = any> {
  setSpanOnContext(ctx: Context): Context;
  setAttribute(key: string, value: AttributeValue): void;
  setAttributes(attributes: Attributes): void;
  addEvent(name: string, attributes?: Attributes): void;
  recordException(exception: any, time?: any): void;
  end(): void;
}

/** Starts spans. */
export interface Tracer<Context = any> {
  startSpan(name: string, options?: { kind: SpanKind }, context?: Context): Span;
}

/** Carries the active telemetry context. */
export interface ContextManager<Context = any> {
  with<A extends (...args: any[]) => any>(context: Context, fn: A): ReturnType<A>;
  active(): Context;
  root?(): Context;
  getMetadata(context: Context): string;
  fromMetadata(activeContext: Context, metadata: string): Context;
}

/** Options of a metric instrument. */
export interface MetricOptions {
  description?: string;
  unit?: string;
}

/** A gauge instrument. */
export interface Gauge {
  record(value: number, attributes?: Attributes): void;
}

/** Creates metric instruments. */
export interface Meter {
  createCounter(name: string, options?: MetricOptions): { add(value: number, attributes?: Attributes): void };
  createHistogram(name: string, options?: MetricOptions): { record(value: number, attributes?: Attributes): void };
  createGauge(name: string, options?: MetricOptions): Gauge;
}

/** The `telemetry` option: a tracer, its context manager and optionally a meter. */
export interface Telemetry<Context = any> {
  tracer: Tracer<Context>;
  contextManager: ContextManager;
  meter?: Meter;
}

// ---------------------------------------------------------------------------
// Job options
// ---------------------------------------------------------------------------

/** Retry backoff: a built-in (`fixed`, `exponential`) or custom strategy name. */
export interface BackoffOptions {
  /** Strategy name; custom names go to `settings.backoffStrategy`. */
  type: 'fixed' | 'exponential' | (string & {});
  /** Base delay in ms. */
  delay?: number;
  /** Fraction (0..1) of random jitter applied to the delay. @defaultValue 0 */
  jitter?: number;
}

/** Which finished jobs to keep: the newest `count`, and/or those younger than `age` seconds. */
export type KeepJobs =
  | {
      /** Max number of jobs to keep. */
      count: number;
    }
  | {
      /** Max age in seconds of the jobs to keep. */
      age: number;
      /** Max number of jobs to keep. */
      count?: number;
      /** Max number of jobs removed per cleanup. */
      limit?: number;
    };

/** Deduplication: adds with the same `id` are dropped until the first job finishes, or for `ttl` ms. */
export interface DeduplicationOptions {
  /** Deduplication key. */
  id: string;
  /** Key lifetime in ms. */
  ttl?: number;
  /** Restart the ttl on every deduplicated add. */
  extend?: boolean;
  /** Replace the existing job while it is still delayed. */
  replace?: boolean;
  /** Reschedule the existing delayed job with the incoming job's delay. */
  reschedule?: boolean;
  /** Keep the latest data added during an active run and enqueue it when that run ends. */
  keepLastIfActive?: boolean;
}

/** The parent of a job in a flow. */
export interface ParentOptions {
  /** Parent job id. */
  id: string;
  /** Parent queue's qualified name (`<prefix>:<queue>`). */
  queue: string;
}

/** Job options that can also be set as a queue's `defaultJobOptions`. */
export interface DefaultJobOptions {
  /** Creation time in ms since the epoch. @defaultValue Date.now() */
  timestamp?: number;
  /** 0 (default, runs first) or 1..2 097 151; lower runs earlier. */
  priority?: number;
  /** Milliseconds to wait before the job can run. */
  delay?: number;
  /** Total number of attempts before the job fails for good. @defaultValue 1 */
  attempts?: number;
  /** Delay before retries: fixed ms, or a strategy. */
  backoff?: number | BackoffOptions;
  /** Add to the front of the wait list instead of the back. */
  lifo?: boolean;
  /** Remove on completion: `true`, a number of jobs to keep, or a keep policy. */
  removeOnComplete?: boolean | number | KeepJobs;
  /** Remove after the final failure: `true`, a number of jobs to keep, or a keep policy. */
  removeOnFail?: boolean | number | KeepJobs;
  /** Max number of log lines kept. */
  keepLogs?: number;
  /** Max number of stack trace entries kept. */
  stackTraceLimit?: number;
  /** Max size in bytes of the JSON-encoded data; larger adds are rejected. */
  sizeLimit?: number;
  /** bullrush extension: the job's timeout in ms; an attempt running longer fails. */
  timeout?: number;
}

/** Job options of `Queue.add`, without the flow and deduplication extras. */
export interface BaseJobOptions extends DefaultJobOptions {
  /** Custom job id; adding an existing id is a no-op. */
  jobId?: string;
  /** Parent job, making this job a child in a flow. */
  parent?: ParentOptions;
  /** Set by job schedulers: the scheduler's key. */
  repeatJobKey?: string;
  /** Set by job schedulers: the previous iteration's time. */
  prevMillis?: number;
}

/** All options of `Queue.add`. */
export interface JobsOptions extends BaseJobOptions {
  /** Drop adds while a job with the same deduplication id exists. */
  deduplication?: DeduplicationOptions;
  /** Fail the parent when this job fails for good. */
  failParentOnFailure?: boolean;
  /** Let the parent run when this job fails for good. */
  continueParentOnFailure?: boolean;
  /** Record this job's final failure in the parent and let the parent continue. */
  ignoreDependencyOnFailure?: boolean;
  /** Drop this job from the parent's dependencies when it fails for good. */
  removeDependencyOnFailure?: boolean;
  /** Telemetry context propagation. */
  telemetry?: {
    /** Serialized propagation context. */
    metadata?: string;
    /** Do not propagate the context. */
    omitContext?: boolean;
  };
}

/** Options of each entry of `Queue.addBulk`. */
export type BulkJobOptions = JobsOptions;

/** Options of a job scheduler's template job. */
export type JobSchedulerTemplateOptions = Omit<JobsOptions, 'jobId' | 'delay' | 'deduplication'>;

/** When a job scheduler fires. */
export interface RepeatOptions {
  /** Cron pattern. */
  pattern?: string;
  /** Interval in ms (instead of `pattern`). */
  every?: number;
  /** Time zone of `pattern`. */
  tz?: string;
  /** Do not fire before this time. */
  startDate?: Date | string | number;
  /** Do not fire after this time. */
  endDate?: Date | string | number;
  /** Max number of iterations. */
  limit?: number;
  /** Fire the first iteration right away. */
  immediately?: boolean;
  /** Starting iteration count. */
  count?: number;
  /** Offset in ms added to each iteration time. */
  offset?: number;
  /** Custom scheduler key. */
  key?: string;
  /** Internal: previous iteration time. */
  prevMillis?: number;
  /** @deprecated Unused. */
  jobId?: string;
}

/** A job scheduler as stored. */
export interface JobSchedulerJson<D = any> {
  key: string;
  name: string;
  id?: string | null;
  iterationCount?: number;
  limit?: number;
  startDate?: number;
  endDate?: number;
  tz?: string;
  pattern?: string;
  every?: number;
  next?: number;
  offset?: number;
  template?: { data?: D; opts?: JobSchedulerTemplateOptions };
}

// ---------------------------------------------------------------------------
// Shared types
// ---------------------------------------------------------------------------

/** A job's progress value. */
export type JobProgress = string | boolean | number | object;

/** A terminal job state. */
export type FinishedStatus = 'completed' | 'failed';

/** A job's state. */
export type JobState = FinishedStatus | 'active' | 'delayed' | 'prioritized' | 'waiting' | 'waiting-children';

/** A job state or list name accepted by the getters. */
export type JobType = JobState | 'repeat' | 'wait';

/** The function a worker runs for each job; its resolved value becomes `returnvalue`. */
export type Processor<T = any, R = any, N extends string = string, P extends JobProgress = JobProgress> = (
  job: Job<T, R, N, P>,
  token?: string,
  signal?: AbortSignal,
) => Promise<R>;

/**
 * bullrush extension: the processor of a worker with `batch` options. It receives the
 * batch's jobs and returns one result per job, in order: an `Error` fails that job's
 * attempt, anything else completes it. Throwing fails every job of the batch.
 */
export type BatchProcessor<T = any, R = any, N extends string = string, P extends JobProgress = JobProgress> = (
  jobs: Job<T, R, N, P>[],
  token?: undefined,
  signal?: AbortSignal,
) => Promise<(R | Error)[] | void>;

/** Custom backoff: returns the delay in ms before the next attempt. */
export type BackoffStrategy = (
  attemptsMade: number,
  type?: string,
  err?: Error,
  job?: Job,
) => Promise<number> | number;

/** Custom repeat strategy: returns the next fire time in ms, or undefined to stop. */
export type RepeatStrategy = (
  millis: number,
  opts: RepeatOptions,
  name?: string,
) => number | undefined | Promise<number | undefined>;

/** A job's parent reference as stored on the child. */
export interface ParentKeys {
  /** Parent job id. */
  id?: string;
  /** Parent queue key (`<prefix>:<queue>`). */
  queueKey: string;
  /** failParentOnFailure. */
  fpof?: boolean;
  /** removeDependencyOnFailure. */
  rdof?: boolean;
  /** ignoreDependencyOnFailure. */
  idof?: boolean;
  /** continueParentOnFailure. */
  cpof?: boolean;
}

/** A job in its stored form (`job.asJSON()`): `data` and `returnvalue` are JSON strings. */
export interface JobJson {
  id: string;
  name: string;
  data: string;
  opts: JobsOptions;
  progress: JobProgress;
  attemptsMade: number;
  attemptsStarted: number;
  stalledCounter: number;
  timestamp: number;
  delay?: number;
  priority?: number;
  processedOn?: number;
  finishedOn?: number;
  failedReason: string;
  stacktrace?: string;
  returnvalue: string;
  parent?: ParentKeys;
  parentKey?: string;
  repeatJobKey?: string;
  deduplicationId?: string;
  deferredFailure?: string;
  processedBy?: string;
}

/** The fields `job.toJSON()` (and so `JSON.stringify(job)`) carries. */
export type JobField =
  | 'id'
  | 'name'
  | 'data'
  | 'opts'
  | 'progress'
  | 'returnvalue'
  | 'stacktrace'
  | 'failedReason'
  | 'attemptsMade'
  | 'attemptsStarted'
  | 'stalledCounter'
  | 'timestamp'
  | 'delay'
  | 'priority'
  | 'processedOn'
  | 'finishedOn'
  | 'queueQualifiedName'
  | 'parentKey'
  | 'parent'
  | 'token'
  | 'deduplicationId'
  | 'repeatJobKey'
  | 'processedBy'
  | 'deferredFailure';

/** Options of `job.retry`. */
export interface RetryOptions {
  /** Reset `attemptsMade` to 0. */
  resetAttemptsMade?: boolean;
  /** Reset `attemptsStarted` to 0. */
  resetAttemptsStarted?: boolean;
}

/** Paging of one kind of dependency in `job.getDependencies`. */
export interface DependencyOpts {
  /** Cursor returned by the previous page. */
  cursor?: number;
  /** Page size. */
  count?: number;
}

/** Which dependencies `job.getDependencies` returns. */
export interface DependenciesOpts {
  failed?: DependencyOpts;
  ignored?: DependencyOpts;
  processed?: DependencyOpts;
  unprocessed?: DependencyOpts;
}

/** Completed/failed counts per minute, newest first. */
export interface Metrics {
  meta: { count: number; prevTS: number; prevCount: number };
  data: number[];
  count: number;
}

/** Common `metrics.maxDataPoints` values: one data point per minute. */
export declare enum MetricsTime {
  ONE_MINUTE = 1,
  FIVE_MINUTES = 5,
  FIFTEEN_MINUTES = 15,
  THIRTY_MINUTES = 30,
  ONE_HOUR = 60,
  ONE_WEEK = 10080,
  TWO_WEEKS = 20160,
  ONE_MONTH = 80640,
}

/** Public fields of a queue's meta hash. */
export interface QueueMeta {
  concurrency?: number;
  max?: number;
  duration?: number;
  maxLenEvents?: number;
  paused?: boolean;
  version?: string;
}

/** Options of `Queue.obliterate`. */
export interface ObliterateOpts {
  /** Obliterate even with active jobs. @defaultValue false */
  force?: boolean;
  /** Max keys deleted per iteration. @defaultValue 1000 */
  count?: number;
}

// ---------------------------------------------------------------------------
// Queue, Worker and QueueEvents options
// ---------------------------------------------------------------------------

/** Options shared by Queue, Worker and QueueEvents. */
export interface QueueBaseOptions {
  /** Where Redis is. @defaultValue localhost:6379 */
  connection?: ConnectionOptions;
  /** Prefix of every Redis key of the queue. @defaultValue 'bull' */
  prefix?: string;
  /** Skip the check of the Redis server version. */
  skipVersionCheck?: boolean;
  /** Do not wait for the connection before the first command. */
  skipWaitingForReady?: boolean;
  /** @deprecated Unused. */
  blockingConnection?: boolean;
  /**
   * Spans through this tracer (`add`, `addBulk`, a worker's `process`, `complete`, `fail`,
   * `trace`) and gauges through its meter (`recordJobCountsMetric`).
   */
  telemetry?: Telemetry;
}

/** How a worker with a processor file runs its children. */
export interface SandboxedOptions {
  /** Run the processor file in worker threads instead of child processes. @defaultValue false */
  useWorkerThreads?: boolean;
  /** Options of `child_process.fork` for each child process (`env`, `execArgv`, `stdio`, ...). */
  workerForkOptions?: ForkOptions;
  /** Options of `new worker_threads.Worker` for each thread (with `useWorkerThreads`). */
  workerThreadsOptions?: WorkerThreadsOptions;
}

/** Repeat settings of a queue. */
export interface AdvancedRepeatOptions {
  /** Custom repeat strategy. */
  repeatStrategy?: RepeatStrategy;
  /** Hash algorithm for repeat keys. @defaultValue 'md5' */
  repeatKeyHashAlgorithm?: string;
}

/** Advanced worker settings. */
export interface AdvancedOptions extends AdvancedRepeatOptions {
  /** Custom backoff strategy, used for `backoff.type` names other than the built-ins. */
  backoffStrategy?: BackoffStrategy;
}

/** Options of `new Queue`. */
export interface QueueOptions extends QueueBaseOptions {
  /** Options applied to every job added through this queue. */
  defaultJobOptions?: DefaultJobOptions;
  /** Events stream settings. */
  streams?: {
    events: {
      /** Approximate max length of the events stream. @defaultValue 10000 */
      maxLen: number;
    };
  };
  /** Do not write the queue's meta hash (read-only use). */
  skipMetasUpdate?: boolean;
  /** Repeat settings. */
  settings?: AdvancedRepeatOptions;
}

/** Worker rate limit: at most `max` jobs per `duration` ms across the queue. */
export interface RateLimiterOptions {
  max: number;
  duration: number;
}

/** Metrics collection of a worker. */
export interface MetricsOptions {
  /** Number of one-minute data points kept. */
  maxDataPoints?: number;
}

/**
 * bullrush extension: hand the processor arrays of up to `size` jobs (see
 * `BatchProcessor`); `concurrency` then counts batches.
 */
export interface BatchOptions {
  /** Jobs per batch (an integer of at least 1). */
  size: number;
  /** Max ms a partial batch waits for more jobs before it is handed over (default 0). */
  timeout?: number;
}

/** Options of `new Worker`. */
export interface WorkerOptions extends QueueBaseOptions, SandboxedOptions {
  /** Worker name, stored on the jobs it processes (`processedBy`). */
  name?: string;
  /** Start processing at construction. @defaultValue true */
  autorun?: boolean;
  /** Max number of jobs processed at once. @defaultValue 1 */
  concurrency?: number;
  /** Queue-wide rate limit. */
  limiter?: RateLimiterOptions;
  /** Collect completed/failed metrics. */
  metrics?: MetricsOptions;
  /** Max ms to idle while rate limited. @defaultValue 30000 */
  maximumRateLimitDelay?: number;
  /** Fail a job once it has been started this many times. */
  maxStartedAttempts?: number;
  /** Times a job may stall before it fails. @defaultValue 1 */
  maxStalledCount?: number;
  /** Ms between stalled-job checks. @defaultValue 30000 */
  stalledInterval?: number;
  /** Keep policy for completed jobs (a job's own option wins). */
  removeOnComplete?: KeepJobs;
  /** Keep policy for failed jobs (a job's own option wins). */
  removeOnFail?: KeepJobs;
  /** Do not run stalled-job checks from this worker. */
  skipStalledCheck?: boolean;
  /** Do not renew job locks. */
  skipLockRenewal?: boolean;
  /** Seconds to block waiting for jobs when the queue is empty. @defaultValue 5 */
  drainDelay?: number;
  /** Job lock duration in ms. @defaultValue 30000 */
  lockDuration?: number;
  /** Ms between lock renewals. @defaultValue lockDuration / 2 */
  lockRenewTime?: number;
  /** Ms before the main loop retries after an error. @defaultValue 15000 */
  runRetryDelay?: number;
  /** Advanced settings (custom backoff strategy). */
  settings?: AdvancedOptions;
  /** bullrush extension: fetch and finish jobs in batches. */
  batch?: BatchOptions;
  /** bullrush extension: default job timeout in ms for jobs without their own `timeout`. */
  timeout?: number;
}

/** Options of `new QueueEvents`. */
export interface QueueEventsOptions extends QueueBaseOptions {
  /** Start reading events at construction. @defaultValue true */
  autorun?: boolean;
  /** Stream id to continue from; default is only new events (`$`). */
  lastEventId?: string;
  /** Ms each blocking read waits. @defaultValue 10000 */
  blockingTimeout?: number;
}

// ---------------------------------------------------------------------------
// Listener maps
// ---------------------------------------------------------------------------

/** The connection-closed event every class emits. */
export interface IoredisListener {
  /** The Redis connection closed (name kept from BullMQ). */
  'ioredis:close': () => void;
}

/** Local events of a Queue. */
export interface QueueListener<JobT = Job> extends IoredisListener {
  /** `clean` removed these jobs of this type. */
  cleaned: (jobs: string[], type: string) => void;
  /** An error occurred. */
  error: (err: Error) => void;
  /** `pause` was called. */
  paused: () => void;
  /** `updateJobProgress` was called. */
  progress: (jobId: string, progress: JobProgress) => void;
  /** A job was removed through this queue. */
  removed: (jobId: string) => void;
  /** `resume` was called. */
  resumed: () => void;
  /** A job was added or retried through this queue. */
  waiting: (job: JobT) => void;
}

/** Local events of a Worker. */
export interface WorkerListener<
  DataType = any,
  ResultType = any,
  NameType extends string = string,
  ProgressType extends JobProgress = JobProgress,
> extends IoredisListener {
  /** A job started. */
  active: (job: Job<DataType, ResultType, NameType, ProgressType>, prev: string) => void;
  /** The worker closed. */
  closed: () => void;
  /** The worker is closing. */
  closing: (msg: string) => void;
  /** A job completed with `result`. */
  completed: (job: Job<DataType, ResultType, NameType, ProgressType>, result: ResultType, prev: string) => void;
  /** The queue ran out of waiting jobs. */
  drained: () => void;
  /** An error occurred. */
  error: (failedReason: Error) => void;
  /** An attempt failed (job is undefined when it could not be loaded). */
  failed: (job: Job<DataType, ResultType, NameType, ProgressType> | undefined, error: Error, prev: string) => void;
  /** The worker paused. */
  paused: () => void;
  /** A job reported progress. */
  progress: (job: Job<DataType, ResultType, NameType, ProgressType>, progress: ProgressType) => void;
  /** The worker's connection is ready. */
  ready: () => void;
  /** The worker resumed. */
  resumed: () => void;
  /** A job stalled and was moved back or failed. */
  stalled: (jobId: string, prev: string) => void;
  /** Locks of these jobs could not be renewed. */
  lockRenewalFailed: (jobIds: string[]) => void;
  /** Locks were renewed. */
  locksRenewed: (data: { count: number; jobIds: string[] }) => void;
}

/** Global events read from the queue's events stream; `id` is the stream entry id. */
export interface QueueEventsListener<ResultType = any> extends IoredisListener {
  /** A job started. */
  active: (args: { jobId: string; prev?: string }, id: string) => void;
  /** A job was added. */
  added: (args: { jobId: string; name: string }, id: string) => void;
  /** `clean` removed `count` jobs. */
  cleaned: (args: { count: string }, id: string) => void;
  /** A job completed. */
  completed: (args: { jobId: string; returnvalue: ResultType; prev?: string }, id: string) => void;
  /** An add was dropped by deduplication. */
  deduplicated: (args: { jobId: string; deduplicationId: string; deduplicatedJobId: string }, id: string) => void;
  /** A job was delayed until `delay` (ms since the epoch). */
  delayed: (args: { jobId: string; delay: number }, id: string) => void;
  /** The queue ran out of waiting jobs. */
  drained: (id: string) => void;
  /** An add was dropped because the job id exists. */
  duplicated: (args: { jobId: string }, id: string) => void;
  /** Reading the stream failed. */
  error: (args: Error) => void;
  /** A job failed for good. */
  failed: (args: { jobId: string; failedReason: string; prev?: string }, id: string) => void;
  /** The queue was paused. */
  paused: (args: object, id: string) => void;
  /** A job reported progress. */
  progress: (args: { jobId: string; data: JobProgress }, id: string) => void;
  /** A job was removed. */
  removed: (args: { jobId: string; prev: string }, id: string) => void;
  /** The queue was resumed. */
  resumed: (args: object, id: string) => void;
  /** A job used up its attempts. */
  'retries-exhausted': (args: { jobId: string; attemptsMade: string }, id: string) => void;
  /** A job stalled. */
  stalled: (args: { jobId: string }, id: string) => void;
  /** A job is waiting to run. */
  waiting: (args: { jobId: string; prev?: string }, id: string) => void;
  /** A job is waiting for its children. */
  'waiting-children': (args: { jobId: string }, id: string) => void;
}

/** Listener type of a QueueEvents event name, including per-job names like `completed:<jobId>`. */
export type QueueEventsHandler<ResultType, E extends string> = E extends keyof QueueEventsListener<ResultType>
  ? QueueEventsListener<ResultType>[E]
  : E extends `${infer Base}:${string}`
    ? Base extends keyof QueueEventsListener<ResultType>
      ? QueueEventsListener<ResultType>[Base]
      : (...args: any[]) => void
    : (...args: any[]) => void;

// ---------------------------------------------------------------------------
// Classes
// ---------------------------------------------------------------------------

type IsAny<T> = 0 extends 1 & T ? true : false;
type DataOf<T> = IsAny<T> extends true ? any : T extends Job<infer D, any, any> ? D : T;
type ResultOf<T, R> = IsAny<T> extends true ? R : T extends Job<any, infer X, any> ? X : R;
type NameOf<T, N extends string> = IsAny<T> extends true ? N : T extends Job<any, any, infer X> ? X : N;

/** What a Job belongs to: a Queue or a Worker. */
export type JobQueue = Queue<any, any, any> | Worker<any, any, any>;

/** Produces jobs and administers a queue. The first type argument may be a Job type instead of a data type. */
export declare class Queue<
  DataTypeOrJob = any,
  DefaultResultType = any,
  DefaultNameType extends string = string,
  DataType = DataOf<DataTypeOrJob>,
  ResultType = ResultOf<DataTypeOrJob, DefaultResultType>,
  NameType extends string = NameOf<DataTypeOrJob, DefaultNameType>,
> extends EventEmitter {
  /** Queue name. */
  readonly name: string;
  /** `<prefix>:<name>`. */
  readonly qualifiedName: string;
  /** The options given to the constructor. */
  opts: QueueOptions;
  /** Set once `close()` was called; resolves when closed. */
  closing: Promise<void> | undefined;
  /** A random id of this Queue instance. */
  readonly token: string;
  /** The default job options given to the constructor. */
  jobsOpts: DefaultJobOptions;

  constructor(name: string, opts?: QueueOptions);

  /** Default options applied to added jobs. */
  get defaultJobOptions(): JobsOptions;

  on<U extends keyof QueueListener<Job<DataType, ResultType, NameType>>>(
    event: U,
    listener: QueueListener<Job<DataType, ResultType, NameType>>[U],
  ): this;
  once<U extends keyof QueueListener<Job<DataType, ResultType, NameType>>>(
    event: U,
    listener: QueueListener<Job<DataType, ResultType, NameType>>[U],
  ): this;
  off<U extends keyof QueueListener<Job<DataType, ResultType, NameType>>>(
    event: U,
    listener: QueueListener<Job<DataType, ResultType, NameType>>[U],
  ): this;
  emit<U extends keyof QueueListener<Job<DataType, ResultType, NameType>>>(
    event: U,
    ...args: Parameters<QueueListener<Job<DataType, ResultType, NameType>>[U]>
  ): boolean;

  /** Resolves once the connection is ready. */
  waitUntilReady(): Promise<void>;
  /** Closes the connections. */
  close(): Promise<void>;
  /** Drops the connections at once. */
  disconnect(): Promise<void>;

  /** Adds a job; `data` is stored with `JSON.stringify`. */
  add(name: NameType, data: DataType, opts?: JobsOptions): Promise<Job<DataType, ResultType, NameType>>;
  /** Adds many jobs atomically. */
  addBulk(
    jobs: { name: NameType; data: DataType; opts?: BulkJobOptions }[],
  ): Promise<Job<DataType, ResultType, NameType>[]>;

  /** Pauses processing queue-wide. */
  pause(): Promise<void>;
  /** Resumes processing queue-wide. */
  resume(): Promise<void>;
  /** Whether the queue is paused. */
  isPaused(): Promise<boolean>;
  /** Whether the global concurrency is reached. */
  isMaxed(): Promise<boolean>;
  /** Removes waiting (and, with `delayed`, delayed) jobs. */
  drain(delayed?: boolean): Promise<void>;
  /** Removes up to `limit` jobs of `type` older than `grace` ms; returns their ids. */
  clean(
    grace: number,
    limit: number,
    type?: 'completed' | 'wait' | 'waiting' | 'active' | 'paused' | 'prioritized' | 'delayed' | 'failed',
  ): Promise<string[]>;
  /** Deletes the queue and all its data. */
  obliterate(opts?: ObliterateOpts): Promise<void>;
  /** Moves failed (or completed) jobs back to wait. */
  retryJobs(opts?: { count?: number; state?: FinishedStatus; timestamp?: number }): Promise<void>;
  /** Moves all delayed jobs to wait. */
  promoteJobs(opts?: { count?: number }): Promise<void>;
  /** Removes a job; returns 1 if removed, 0 if it or a child is locked. */
  remove(jobId: string, opts?: { removeChildren?: boolean }): Promise<number>;
  /** Sets a job's progress. */
  updateJobProgress(jobId: string, progress: JobProgress): Promise<void>;
  /** Appends a log line to a job; returns the log length. */
  addJobLog(jobId: string, logRow: string, keepLogs?: number): Promise<number>;
  /** Trims the events stream to about `maxLength` entries. */
  trimEvents(maxLength: number): Promise<number>;

  /** Rate-limits the queue for `expireTimeMs`. */
  rateLimit(expireTimeMs: number): Promise<void>;
  /** Sets the queue-wide concurrency limit. */
  setGlobalConcurrency(concurrency: number): Promise<number>;
  /** The queue-wide concurrency limit, or null. */
  getGlobalConcurrency(): Promise<number | null>;
  /** Removes the queue-wide concurrency limit. */
  removeGlobalConcurrency(): Promise<number>;
  /** Sets the queue-wide rate limit. */
  setGlobalRateLimit(max: number, duration: number): Promise<number>;
  /** The queue-wide rate limit, or null. */
  getGlobalRateLimit(): Promise<{ max: number; duration: number } | null>;
  /** Removes the queue-wide rate limit. */
  removeGlobalRateLimit(): Promise<number>;
  /** Ms left of the current rate limit (-2: none). */
  getRateLimitTtl(maxJobs?: number): Promise<number>;
  /** Clears the current rate limit. */
  removeRateLimitKey(): Promise<number>;
  /** The job id holding a deduplication key, or null. */
  getDeduplicationJobId(id: string): Promise<string | null>;
  /** Deletes a deduplication key. */
  removeDeduplicationKey(id: string): Promise<number>;
  /** @deprecated use getDeduplicationJobId */
  getDebounceJobId(id: string): Promise<string | null>;
  /** @deprecated use removeDeduplicationKey */
  removeDebounceKey(id: string): Promise<number>;
  /** The `version` field of the meta hash, or null. */
  getVersion(): Promise<string | null>;
  /** The queue's meta hash. */
  getMeta(): Promise<QueueMeta>;

  /** Creates or updates a job scheduler; returns its next job. */
  upsertJobScheduler(
    jobSchedulerId: NameType,
    repeatOpts: Omit<RepeatOptions, 'key'>,
    jobTemplate?: { name?: NameType; data?: DataType; opts?: JobSchedulerTemplateOptions },
  ): Promise<Job<DataType, ResultType, NameType>>;
  /** A job scheduler by id. */
  getJobScheduler(id: string): Promise<JobSchedulerJson<DataType> | undefined>;
  /** Job schedulers ordered by next fire time. */
  getJobSchedulers(start?: number, end?: number, asc?: boolean): Promise<JobSchedulerJson<DataType>[]>;
  /** Number of job schedulers. */
  getJobSchedulersCount(): Promise<number>;
  /** Removes a job scheduler. */
  removeJobScheduler(jobSchedulerId: string): Promise<boolean>;
  /** Deletes job keys no state references. */
  removeOrphanedJobs(count?: number, limit?: number): Promise<number>;

  /** A job by id. */
  getJob(jobId: string): Promise<Job<DataType, ResultType, NameType> | undefined>;
  /** A job's state. */
  getJobState(jobId: string): Promise<JobState | 'unknown'>;
  /** Jobs in waiting, delayed, prioritized and waiting-children. */
  count(): Promise<number>;
  /** Sum of the counts of the given types. */
  getJobCountByTypes(...types: JobType[]): Promise<number>;
  /** Counts per type (all types when none are given). */
  getJobCounts(...types: JobType[]): Promise<{ [index: string]: number }>;
  getCompletedCount(): Promise<number>;
  getFailedCount(): Promise<number>;
  /** Delayed jobs, or only those due before `timestamp`. */
  getDelayedCount(timestamp?: number): Promise<number>;
  getActiveCount(): Promise<number>;
  getPrioritizedCount(): Promise<number>;
  /** Counts per priority. */
  getCountsPerPriority(priorities: number[]): Promise<{ [index: string]: number }>;
  /** Waiting (and paused) jobs. */
  getWaitingCount(): Promise<number>;
  getWaitingChildrenCount(): Promise<number>;
  getWaiting(start?: number, end?: number): Promise<Job<DataType, ResultType, NameType>[]>;
  getWaitingChildren(start?: number, end?: number): Promise<Job<DataType, ResultType, NameType>[]>;
  getActive(start?: number, end?: number): Promise<Job<DataType, ResultType, NameType>[]>;
  getDelayed(start?: number, end?: number): Promise<Job<DataType, ResultType, NameType>[]>;
  getPrioritized(start?: number, end?: number): Promise<Job<DataType, ResultType, NameType>[]>;
  getCompleted(start?: number, end?: number): Promise<Job<DataType, ResultType, NameType>[]>;
  getFailed(start?: number, end?: number): Promise<Job<DataType, ResultType, NameType>[]>;
  /** Jobs in the given states, newest first unless `asc`. */
  getJobs(
    types?: JobType[] | JobType,
    start?: number,
    end?: number,
    asc?: boolean,
  ): Promise<Job<DataType, ResultType, NameType>[]>;
  /** Job ids in the given states. */
  getRanges(types: JobType[], start?: number, end?: number, asc?: boolean): Promise<string[]>;
  /** A job's log lines and their total count. */
  getJobLogs(jobId: string, start?: number, end?: number, asc?: boolean): Promise<{ logs: string[]; count: number }>;
  /** A parent's processed or pending children. */
  getDependencies(
    parentId: string,
    type: 'processed' | 'pending',
    start: number,
    end: number,
  ): Promise<{ items: { id: string; v?: any; err?: string }[]; jobs: JobJson[]; total: number }>;
  /** Connected workers (from `CLIENT LIST`). */
  getWorkers(): Promise<{ [index: string]: string }[]>;
  /** Number of connected workers. */
  getWorkersCount(): Promise<number>;
  /** Completed or failed metrics. */
  getMetrics(type: 'completed' | 'failed', start?: number, end?: number): Promise<Metrics>;
  /** Job counts in Prometheus text format. */
  exportPrometheusMetrics(globalVariables?: Record<string, string>): Promise<string>;
  /** getJobCounts, also recorded as gauges through the `telemetry` option's meter. */
  recordJobCountsMetric(...types: JobType[]): Promise<{ [index: string]: number }>;
  /** @deprecated The queue's QueueEvents connections (of either library). */
  getQueueEvents(): Promise<{ [index: string]: string }[]>;
  /** The meta fields this queue writes: the events stream's length and the library version. */
  get metaValues(): Record<string, string | number>;
  /** Deletes the `priority` key of BullMQ before v4; resolves to how many keys went. */
  removeDeprecatedPriorityKey(): Promise<number>;
  /** Job schedulers are not supported by bullrush yet: rejects. */
  get jobScheduler(): Promise<JobScheduler>;

  /** The queue's keys by type (`wait`, `events`, ...). */
  readonly keys: KeysMap;
  /** `<prefix>:<name>:<type>`. */
  toKey(type: string): string;
  /** The backend: its `client` answers `status` and `ping()` for health checks. */
  getBackend(): Backend;
  /** The same as `getBackend()`. */
  readonly backend: Backend;
  /** Runs `callback` in a telemetry span when the `telemetry` option is set. */
  trace<T>(
    spanKind: SpanKind,
    operation: string,
    destination: string,
    callback: (span?: Span, dstPropagationMetadata?: string) => Promise<T> | T,
    srcPropagationMetadata?: string,
  ): Promise<T | Promise<T>>;
}

/** Processes jobs of a queue with a processor function. */
export declare class Worker<DataType = any, ResultType = any, NameType extends string = string> extends EventEmitter {
  /** Queue name. */
  readonly name: string;
  /** `<prefix>:<name>`. */
  readonly qualifiedName: string;
  /** The options given to the constructor. */
  readonly opts: WorkerOptions;
  /** Set once `close()` was called; resolves when closed. */
  closing: Promise<void> | undefined;
  /** Unique id of this worker instance. */
  readonly id: string;

  constructor(
    name: string,
    processor: BatchProcessor<DataType, ResultType, NameType>,
    opts: WorkerOptions & { batch: BatchOptions },
  );
  /**
   * `processor` is a function, or the path (or file: URL) of a file whose default export is
   * one, run in child processes (worker threads with `useWorkerThreads`).
   */
  constructor(
    name: string,
    processor?: string | URL | Processor<DataType, ResultType, NameType> | null,
    opts?: WorkerOptions,
  );

  /** The children running a processor file (absent for a processor function). */
  readonly childPool?: ChildPool;

  /** A RateLimitError to throw from the processor after `worker.rateLimit`. */
  static RateLimitError(): Error;

  /** Max number of jobs processed at once (settable while running). */
  get concurrency(): number;
  set concurrency(concurrency: number);

  on<U extends keyof WorkerListener<DataType, ResultType, NameType>>(
    event: U,
    listener: WorkerListener<DataType, ResultType, NameType>[U],
  ): this;
  once<U extends keyof WorkerListener<DataType, ResultType, NameType>>(
    event: U,
    listener: WorkerListener<DataType, ResultType, NameType>[U],
  ): this;
  off<U extends keyof WorkerListener<DataType, ResultType, NameType>>(
    event: U,
    listener: WorkerListener<DataType, ResultType, NameType>[U],
  ): this;
  emit<U extends keyof WorkerListener<DataType, ResultType, NameType>>(
    event: U,
    ...args: Parameters<WorkerListener<DataType, ResultType, NameType>[U]>
  ): boolean;

  /** Starts processing (when `autorun` is false); resolves when the worker stops. */
  run(): Promise<void>;
  /** Resolves once the connections are ready. */
  waitUntilReady(): Promise<void>;
  /** Stops; waits for active jobs unless `force`. */
  close(force?: boolean): Promise<void>;
  /** Drops the connections at once. */
  disconnect(): Promise<void>;
  /** Stops fetching; waits for active jobs unless `doNotWaitActive`. */
  pause(doNotWaitActive?: boolean): Promise<void>;
  /** Resumes fetching. */
  resume(): Promise<void>;
  /** Whether the worker is processing. */
  isRunning(): boolean;
  /** Whether the worker is paused. */
  isPaused(): boolean;
  /** Rate-limits the queue for `expireTimeMs`. */
  rateLimit(expireTimeMs: number): Promise<void>;
  /** Fetches and locks the next job with `token` (manual processing); undefined when none. */
  getNextJob(token: string, opts?: { block?: boolean }): Promise<Job<DataType, ResultType, NameType> | undefined>;
  /** Aborts an active job's signal; returns whether it was found. */
  cancelJob(jobId: string, reason?: string): boolean;
  /** Aborts the signals of all active jobs. */
  cancelAllJobs(reason?: string): void;
  /** Starts the stalled-job check of a worker that takes jobs by hand (`run` starts it itself). */
  startStalledCheckTimer(): Promise<void>;
  /** Extends the locks of held jobs; resolves to the ids whose lock was not extended. */
  extendJobLocks(jobIds: string[], tokens: string[], duration: number): Promise<string[]>;
  /** The shortest blocking wait for jobs, in seconds. */
  get minimumBlockTimeout(): number;
  /** The longest blocking wait for jobs, in seconds. */
  get maximumBlockTimeout(): number;
  /** Resolves after `milliseconds` (100 by default), or when `abortController` aborts. */
  delay(milliseconds?: number, abortController?: AbortControllerLike): Promise<void>;
  /** Job schedulers are not supported by bullrush yet: rejects. */
  get jobScheduler(): Promise<JobScheduler>;

  /** The queue's keys by type (`wait`, `events`, ...). */
  readonly keys: KeysMap;
  /** `<prefix>:<name>:<type>`. */
  toKey(type: string): string;
  /** The backend: its `client` answers `status` and `ping()` for health checks. */
  getBackend(): Backend;
  /** The same as `getBackend()`. */
  readonly backend: Backend;
  /** Runs `callback` in a telemetry span when the `telemetry` option is set. */
  trace<T>(
    spanKind: SpanKind,
    operation: string,
    destination: string,
    callback: (span?: Span, dstPropagationMetadata?: string) => Promise<T> | T,
    srcPropagationMetadata?: string,
  ): Promise<T | Promise<T>>;
}

/** Listens to a queue's global events stream. */
export declare class QueueEvents<ResultType = any> extends EventEmitter {
  /** Queue name. */
  readonly name: string;
  /** `<prefix>:<name>`. */
  readonly qualifiedName: string;
  /** The options given to the constructor. */
  opts: QueueEventsOptions;
  /** Set once `close()` was called; resolves when closed. */
  closing: Promise<void> | undefined;

  constructor(name: string, opts?: QueueEventsOptions);

  /** Adds a listener; `<event>:<jobId>` names fire only for that job. */
  on<E extends string>(event: E, listener: QueueEventsHandler<ResultType, E>): this;
  /** Adds a one-time listener. */
  once<E extends string>(event: E, listener: QueueEventsHandler<ResultType, E>): this;
  /** Removes a listener. */
  off<E extends string>(event: E, listener: QueueEventsHandler<ResultType, E>): this;

  /** Starts reading (when `autorun` is false); resolves when reading stops. */
  run(): Promise<void>;
  /** Resolves once the connection is ready. */
  waitUntilReady(): Promise<void>;
  /** Stops reading and closes the connection. */
  close(): Promise<void>;
  /** Drops the connection at once. */
  disconnect(): Promise<void>;

  /** The queue's keys by type (`wait`, `events`, ...). */
  readonly keys: KeysMap;
  /** `<prefix>:<name>:<type>`. */
  toKey(type: string): string;
  /** The backend: its `client` answers `status` and `ping()` for health checks. */
  getBackend(): Backend;
  /** The same as `getBackend()`. */
  readonly backend: Backend;
  /** Runs `callback` in a telemetry span when the `telemetry` option is set. */
  trace<T>(
    spanKind: SpanKind,
    operation: string,
    destination: string,
    callback: (span?: Span, dstPropagationMetadata?: string) => Promise<T> | T,
    srcPropagationMetadata?: string,
  ): Promise<T | Promise<T>>;
}

/** What `Job.waitUntilFinished` listens on: a QueueEvents of either library. */
export interface QueueEventsLike {
  waitUntilReady(): Promise<unknown>;
  on(event: string, listener: (...args: any[]) => void): unknown;
  removeListener(event: string, listener: (...args: any[]) => void): unknown;
}

/** A job: its stored fields and the operations on it. */
export declare class Job<
  DataType = any,
  ReturnType = any,
  NameType extends string = string,
  ProgressType extends JobProgress = JobProgress,
> {
  /** Job id (set once stored). */
  id?: string;
  /** Job name. */
  name: NameType;
  /** Payload. */
  data: DataType;
  /** Options the job was added with. */
  opts: JobsOptions;
  /** Last reported progress. @defaultValue 0 */
  progress: ProgressType;
  /** Processor result (null until completed). */
  returnvalue: ReturnType;
  /** Stack traces of failed attempts. */
  stacktrace: string[] | null;
  /** Message of the last failure. */
  failedReason: string;
  /** Attempts that failed. */
  attemptsMade: number;
  /** Attempts that started. */
  attemptsStarted: number;
  /** Times the job stalled. */
  stalledCounter: number;
  /** Creation time in ms. */
  timestamp: number;
  /** When processing last started, in ms. */
  processedOn?: number;
  /** When the job finished, in ms. */
  finishedOn?: number;
  /** Delay in ms it was added with. */
  delay: number;
  /** Priority (0 = none). */
  priority: number;
  /** `<prefix>:<queue>`. */
  readonly queueQualifiedName: string;
  /** Key of the parent job. */
  parentKey?: string;
  /** Parent reference. */
  parent?: ParentKeys;
  /** Lock token while a worker holds the job. */
  token?: string;
  /** Deduplication id it was added with. */
  deduplicationId?: string;
  /** Key of the job scheduler that produced it. */
  repeatJobKey?: string;
  /** Name of the worker that processed it. */
  processedBy?: string;
  /** Failure to apply as soon as a worker picks the job up. */
  deferredFailure?: string;

  constructor(queue: JobQueue, name: NameType, data: DataType, opts?: JobsOptions, id?: string);

  /** Adds a job to `queue`. */
  static create<T = any, R = any, N extends string = string>(
    queue: JobQueue,
    name: N,
    data: T,
    opts?: JobsOptions,
  ): Promise<Job<T, R, N>>;
  /** Adds many jobs to `queue` atomically. */
  static createBulk<T = any, R = any, N extends string = string>(
    queue: JobQueue,
    jobs: { name: N; data: T; opts?: BulkJobOptions }[],
  ): Promise<Job<T, R, N>[]>;
  /** Loads a job by id; undefined if missing. */
  static fromId<T = any, R = any, N extends string = string>(
    queue: JobQueue,
    jobId: string,
  ): Promise<Job<T, R, N> | undefined>;
  /** Builds a job from its stored form. */
  static fromJSON<T = any, R = any, N extends string = string>(
    queue: JobQueue,
    json: JobJson,
    jobId?: string,
  ): Job<T, R, N>;
  /** Appends a log line to a job; returns the log length. */
  static addJobLog(queue: JobQueue, jobId: string, logRow: string, keepLogs?: number): Promise<number>;

  /** Queue name. */
  get queueName(): string;
  /** Key prefix. */
  get prefix(): string;

  /** The job's fields as a plain object. */
  toJSON(): Pick<this, JobField>;
  /** The job in its stored form. */
  asJSON(): JobJson;

  /** Replaces the payload. */
  updateData(data: DataType): Promise<void>;
  /** Reports progress (emits `progress`). */
  updateProgress(progress: ProgressType): Promise<void>;
  /** Appends a log line; returns the log length. */
  log(logRow: string): Promise<number>;
  /** Deletes the logs, keeping the last `keepLogs` lines. */
  clearLogs(keepLogs?: number): Promise<void>;
  /** Removes the job (fails if it is locked). */
  remove(opts?: { removeChildren?: boolean }): Promise<void>;
  /** Unlinks this unfinished child from its parent. */
  removeChildDependency(): Promise<boolean>;
  /** Removes the children that have not been processed. */
  removeUnprocessedChildren(): Promise<void>;
  /** Deletes its deduplication key if it still points here. */
  removeDeduplicationKey(): Promise<boolean>;

  /** Extends the lock held with `token` by `duration` ms. */
  extendLock(token: string, duration: number): Promise<number>;
  /** Completes the job held with `token` (manual processing). */
  moveToCompleted(returnValue: ReturnType, token: string, fetchNext?: boolean): Promise<void | any[]>;
  /** Fails (or retries) the job held with `token` (manual processing). */
  moveToFailed<E extends Error>(err: E, token: string, fetchNext?: boolean): Promise<void | any[]>;
  /** Moves the active job back to wait. */
  moveToWait(token?: string): Promise<number>;
  /** Moves the job to delayed until `timestamp` (ms). */
  moveToDelayed(timestamp: number, token?: string): Promise<void>;
  /** Moves the job to waiting-children if it has pending children. */
  moveToWaitingChildren(token: string, opts?: { child?: ParentOptions }): Promise<boolean>;

  isCompleted(): Promise<boolean>;
  isFailed(): Promise<boolean>;
  isDelayed(): Promise<boolean>;
  isWaitingChildren(): Promise<boolean>;
  isActive(): Promise<boolean>;
  isWaiting(): Promise<boolean>;
  /** Current state. */
  getState(): Promise<JobState | 'unknown'>;

  /** Reschedules a delayed job to run `delay` ms from now. */
  changeDelay(delay: number): Promise<void>;
  /** Changes priority and/or lifo of a waiting job. */
  changePriority(opts: { priority?: number; lifo?: boolean }): Promise<void>;
  /** Runs a delayed job now. */
  promote(): Promise<void>;
  /** Moves a failed (or completed) job back to wait. */
  retry(state?: FinishedStatus, opts?: RetryOptions): Promise<void>;
  /** Resolves with the return value when the job completes; rejects when it fails or after `ttl` ms. */
  waitUntilFinished(queueEvents: QueueEventsLike, ttl?: number): Promise<ReturnType>;

  /** Return values of the processed children, by job key. */
  getChildrenValues<CT = any>(): Promise<{ [jobKey: string]: CT }>;
  /** Failure reasons of children ignored with `ignoreDependencyOnFailure`. */
  getIgnoredChildrenFailures(): Promise<{ [jobKey: string]: string }>;
  /** Children by kind, paged. */
  getDependencies(opts?: DependenciesOpts): Promise<{
    nextFailedCursor?: number;
    failed?: string[];
    nextIgnoredCursor?: number;
    ignored?: Record<string, any>;
    nextProcessedCursor?: number;
    processed?: Record<string, any>;
    nextUnprocessedCursor?: number;
    unprocessed?: string[];
  }>;
  /** Children counts by kind. */
  getDependenciesCount(opts?: {
    failed?: boolean;
    ignored?: boolean;
    processed?: boolean;
    unprocessed?: boolean;
  }): Promise<{ failed?: number; ignored?: number; processed?: number; unprocessed?: number }>;
  /** @deprecated The same as getIgnoredChildrenFailures. */
  getFailedChildrenValues(): Promise<{ [jobKey: string]: string }>;
  /** asJSON plus the queue's name, qualified name and prefix. */
  asJSONSandbox(): JobJsonSandbox;
  /** Stored options (JSON text with BullMQ's short keys) as a Job shows them. */
  static optsFromJSON(rawOpts?: string, optsDecode?: Record<string, string>): JobsOptions;
}

/** A job as a sandboxed processor receives it. */
export type JobJsonSandbox = JobJson & {
  queueName: string;
  queueQualifiedName: string;
  prefix: string;
};

/** The job a sandboxed processor's function gets: its fields and methods that ask the worker. */
export interface SandboxedJob<T = any, R = any> extends Omit<JobJsonSandbox, 'data' | 'opts' | 'returnvalue'> {
  data: T;
  opts: JobsOptions;
  queueQualifiedName: string;
  moveToDelayed: (timestamp: number, token?: string) => Promise<void>;
  moveToWait: (token?: string) => Promise<void>;
  moveToWaitingChildren: (token?: string, opts?: { child?: { id: string; queue: string } }) => Promise<boolean>;
  log: (row: string) => void;
  updateData: (data: T) => Promise<void>;
  updateProgress: (value: JobProgress) => Promise<void>;
  getChildrenValues: <CT = any>() => Promise<{ [jobKey: string]: CT }>;
  getIgnoredChildrenFailures: () => Promise<{ [jobKey: string]: string }>;
  getDependenciesCount: (opts?: {
    failed?: boolean;
    ignored?: boolean;
    processed?: boolean;
    unprocessed?: boolean;
  }) => Promise<{ failed?: number; ignored?: number; processed?: number; unprocessed?: number }>;
  getDependencies: (opts?: Record<string, unknown>) => Promise<Record<string, unknown>>;
  returnValue: R;
}

/** The default export of a processor file. */
export type SandboxedProcessor<T = any, R = any> = (job: SandboxedJob<T, R>, token?: string, signal?: AbortSignal) => R | Promise<R>;

/** What a child receives its parent's messages from (a process, or a thread's port). */
export interface Receiver {
  on: (evt: 'message', cb: (msg: any) => void) => void;
  off: (evt: 'message', cb: (msg: any) => void) => void;
}

/** A message from a child to its parent. */
export interface ChildMessage {
  cmd: ParentCommand;
  requestId?: string;
  value?: any;
  err?: Record<string, any>;
}

/** One child of a sandboxed worker, a process or a worker thread, as its parent sees it. */
export declare class Child extends EventEmitter {
  processFile: string;
  childProcess?: ChildProcess;
  worker?: ThreadWorker;
  constructor(mainFile: string, processFile: string, opts?: SandboxedOptions);
  /** The process id, or the thread id. */
  get pid(): number;
  get exitCode(): number | null;
  get signalCode(): NodeJS.Signals | number | null;
  get killed(): boolean;
  /** Starts the child and has it load the processor file. */
  init(): Promise<void>;
  send(msg: any): Promise<void>;
  /** Signals the child; resolves once it has exited (SIGKILL after `timeoutMs`). */
  kill(signal?: 'SIGTERM' | 'SIGKILL', timeoutMs?: number): Promise<void>;
  hasProcessExited(): boolean;
}

/** The children of a sandboxed worker: at work (`retained`, by pid) and idle (`free`, by file). */
export declare class ChildPool {
  retained: { [pid: number]: Child };
  free: { [processFile: string]: Child[] };
  constructor(opts: SandboxedOptions & { mainFile?: string });
  /** An idle child of `processFile`, or a new one. */
  retain(processFile: string): Promise<Child>;
  release(child: Child): void;
  remove(child: Child): void;
  kill(child: Child, signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** Ends every child (each finishes its job first). */
  clean(): Promise<void>;
  getFree(id: string): Child[];
  getAllFree(): Child[];
}

/** Runs jobs inside a child: loads the processor file, runs one job at a time. */
export declare class ChildProcessor {
  processor: any;
  currentJobPromise: Promise<unknown> | undefined;
  constructor(send: (msg: any) => Promise<void>, receiver: Receiver);
  init(processorFile: string): Promise<void>;
  start(jobJson: JobJsonSandbox, token?: string): Promise<void>;
  cancel(reason?: string): void;
  waitForCurrentJobAndExit(): Promise<void>;
}

/** Sends a message to a child process or thread (or from a child to its parent). */
export declare function asyncSend(
  proc: { send?: (msg: any, cb?: (err: Error | null) => void) => unknown; postMessage?: (msg: any) => void },
  msg: any,
): Promise<void>;

/** Sends a message from a child process to its parent. */
export declare function childSend(proc: NodeJS.Process, msg: ChildMessage): Promise<void>;

// ---------------------------------------------------------------------------
// Errors a processor throws to control the job (matched by `name`, as BullMQ does)
// ---------------------------------------------------------------------------

/** Fails the job at once, without further attempts. */
export declare class UnrecoverableError extends Error {
  constructor(message?: string);
}

/** Signals that the worker was rate-limited (`worker.rateLimit`); the job goes back to wait. */
export declare class RateLimitError extends Error {
  constructor(message?: string);
}

/** Signals that the processor moved the job to delayed (`job.moveToDelayed`). */
export declare class DelayedError extends Error {
  constructor(message?: string);
}

/** Signals that the processor moved the job to waiting-children (`job.moveToWaitingChildren`). */
export declare class WaitingChildrenError extends Error {
  constructor(message?: string);
}

/** Signals that the processor moved the job back to wait (`job.moveToWait`). */
export declare class WaitingError extends Error {
  constructor(message?: string);
}

/** bullrush extension: an attempt ran past its `timeout`; it fails like any other error. */
export declare class TimeoutError extends Error {
  constructor(message?: string);
}

/** A command was sent on a closed connection. */
export declare class ConnectionClosedError extends Error {
  cause?: unknown;
  constructor(message?: string, cause?: unknown);
}

/** The message a processor's error carries when the job was rate-limited. */
export declare const RATE_LIMIT_ERROR = 'bullmq:rateLimitExceeded';
/** UnrecoverableError's default message. */
export declare const UNRECOVERABLE_ERROR = 'bullmq:unrecoverable';
/** DelayedError's default message. */
export declare const DELAYED_ERROR = 'bullmq:movedToDelayed';
/** WaitingError's default message. */
export declare const WAITING_ERROR = 'bullmq:movedToWait';
/** WaitingChildrenError's default message. */
export declare const WAITING_CHILDREN_ERROR = 'bullmq:movedToWaitingChildren';
/** ConnectionClosedError's default message. */
export declare const CONNECTION_CLOSED_ERROR_MSG = 'Connection is closed.';

// ---------------------------------------------------------------------------
// Enums
// ---------------------------------------------------------------------------

/** Codes of the errors BullMQ's scripts answer with (the `code` of the error). */
export declare enum ErrorCode {
  JobNotExist = -1,
  JobLockNotExist = -2,
  JobNotInState = -3,
  JobPendingChildren = -4,
  ParentJobNotExist = -5,
  JobLockMismatch = -6,
  ParentJobCannotBeReplaced = -7,
  JobBelongsToJobScheduler = -8,
  JobHasFailedChildren = -9,
  SchedulerJobIdCollision = -10,
  SchedulerJobSlotsBusy = -11,
}

/** Messages a sandboxed processor's parent sends its child process. */
export declare enum ChildCommand {
  Init = 0,
  Start = 1,
  Stop = 2,
  GetChildrenValuesResponse = 3,
  GetIgnoredChildrenFailuresResponse = 4,
  GetDependenciesCountResponse = 5,
  MoveToWaitingChildrenResponse = 6,
  Cancel = 7,
  GetDependenciesResponse = 8,
}

/** Messages a sandboxed processor's child process sends its parent. */
export declare enum ParentCommand {
  Completed = 0,
  Error = 1,
  Failed = 2,
  InitFailed = 3,
  InitCompleted = 4,
  Log = 5,
  MoveToDelayed = 6,
  MoveToWait = 7,
  Progress = 8,
  Update = 9,
  GetChildrenValues = 10,
  GetIgnoredChildrenFailures = 11,
  GetDependenciesCount = 12,
  MoveToWaitingChildren = 13,
  GetDependencies = 14,
}

/** Kinds of telemetry span. */
export declare enum SpanKind {
  INTERNAL = 0,
  SERVER = 1,
  CLIENT = 2,
  PRODUCER = 3,
  CONSUMER = 4,
}

/** Attribute names set on telemetry spans. */
export declare enum TelemetryAttributes {
  QueueName = 'bullmq.queue.name',
  QueueOperation = 'bullmq.queue.operation',
  BulkCount = 'bullmq.job.bulk.count',
  BulkNames = 'bullmq.job.bulk.names',
  JobName = 'bullmq.job.name',
  JobId = 'bullmq.job.id',
  JobKey = 'bullmq.job.key',
  JobIds = 'bullmq.job.ids',
  JobAttemptsMade = 'bullmq.job.attempts.made',
  DeduplicationKey = 'bullmq.job.deduplication.key',
  JobOptions = 'bullmq.job.options',
  JobProgress = 'bullmq.job.progress',
  QueueDrainDelay = 'bullmq.queue.drain.delay',
  QueueGrace = 'bullmq.queue.grace',
  QueueCleanLimit = 'bullmq.queue.clean.limit',
  QueueCleanCount = 'bullmq.queue.clean.count',
  QueueRateLimit = 'bullmq.queue.rate.limit',
  JobType = 'bullmq.job.type',
  QueueOptions = 'bullmq.queue.options',
  QueueEventMaxLength = 'bullmq.queue.event.max.length',
  QueueJobsState = 'bullmq.queue.jobs.state',
  WorkerOptions = 'bullmq.worker.options',
  WorkerName = 'bullmq.worker.name',
  WorkerId = 'bullmq.worker.id',
  WorkerRateLimit = 'bullmq.worker.rate.limit',
  WorkerDoNotWaitActive = 'bullmq.worker.do.not.wait.active',
  WorkerForceClose = 'bullmq.worker.force.close',
  WorkerStalledJobs = 'bullmq.worker.stalled.jobs',
  WorkerFailedJobs = 'bullmq.worker.failed.jobs',
  WorkerJobsToExtendLocks = 'bullmq.worker.jobs.to.extend.locks',
  JobAttemptFinishedTimestamp = 'bullmq.job.attempt_finished_timestamp',
  JobProcessedTimestamp = 'bullmq.job.processed.timestamp',
  JobResult = 'bullmq.job.result',
  JobFailedReason = 'bullmq.job.failed.reason',
  FlowName = 'bullmq.flow.name',
  JobSchedulerId = 'bullmq.job.scheduler.id',
  JobState = 'bullmq.job.state',
}

/** Metric names recorded through a telemetry meter. */
export declare enum MetricNames {
  QueueJobsCount = 'bullmq.queue.jobs',
  JobsCompleted = 'bullmq.jobs.completed',
  JobsFailed = 'bullmq.jobs.failed',
  JobsDelayed = 'bullmq.jobs.delayed',
  JobsRetried = 'bullmq.jobs.retried',
  JobsWaiting = 'bullmq.jobs.waiting',
  JobsWaitingChildren = 'bullmq.jobs.waiting_children',
  JobDuration = 'bullmq.job.duration',
}

/** Kinds of Redis connection. */
export declare enum ClientType {
  blocking = 'blocking',
  normal = 'normal',
}

// ---------------------------------------------------------------------------
// QueueBase and the other queue-bound classes
// ---------------------------------------------------------------------------

/** Key names by type. */
export type KeysMap = { [index in string]: string };

/** The health-check view of a connection (`await getBackend().client`). */
export interface BackendClient {
  /** ioredis' status word: `wait`, `ready`, `reconnecting`, `end`. */
  readonly status: string;
  /** Always false: Redis Cluster is not supported by bullrush yet. */
  readonly isCluster: boolean;
  /** PING; resolves with `PONG` (or `message`). */
  ping(message?: string): Promise<string>;
}

/** What `getBackend()` returns. */
export interface Backend {
  /** Resolves with the client once connected. */
  readonly client: Promise<BackendClient>;
  readonly qualifiedName: string;
  readonly keys: KeysMap;
  toKey(type: string): string;
  waitUntilReady(): Promise<void>;
}

/** A named queue's identity, keys and connection: the base of the queue-bound classes. */
export declare class QueueBase extends EventEmitter {
  readonly name: string;
  readonly qualifiedName: string;
  opts: QueueBaseOptions;
  closing: Promise<void> | undefined;
  constructor(name: string, opts?: QueueBaseOptions);
  /** Resolves once connected. */
  waitUntilReady(): Promise<void>;
  close(): Promise<void>;
  disconnect(): Promise<void>;
  /** The queue's keys by type (`wait`, `events`, ...). */
  readonly keys: KeysMap;
  /** `<prefix>:<name>:<type>`. */
  toKey(type: string): string;
  /** The backend: its `client` answers `status` and `ping()` for health checks. */
  getBackend(): Backend;
  /** The same as `getBackend()`. */
  readonly backend: Backend;
  /** Runs `callback` in a telemetry span when the `telemetry` option is set. */
  trace<T>(
    spanKind: SpanKind,
    operation: string,
    destination: string,
    callback: (span?: Span, dstPropagationMetadata?: string) => Promise<T> | T,
    srcPropagationMetadata?: string,
  ): Promise<T | Promise<T>>;
}

/** The read-only half of a Queue on a QueueBase's connection. */
export declare class QueueGetters<JobBase extends Job = Job> extends QueueBase {
  getJob(jobId: string): Promise<JobBase | undefined>;
  count(): Promise<number>;
  getRateLimitTtl(maxJobs?: number): Promise<number>;
  getDebounceJobId(id: string): Promise<string | null>;
  getDeduplicationJobId(id: string): Promise<string | null>;
  getGlobalConcurrency(): Promise<number | null>;
  getGlobalRateLimit(): Promise<{ max: number; duration: number } | null>;
  getJobCountByTypes(...types: JobType[]): Promise<number>;
  getJobCounts(...types: JobType[]): Promise<{ [index: string]: number }>;
  recordJobCountsMetric(...types: JobType[]): Promise<{ [index: string]: number }>;
  getJobState(jobId: string): Promise<JobState | 'unknown'>;
  getMeta(): Promise<QueueMeta>;
  getCompletedCount(): Promise<number>;
  getFailedCount(): Promise<number>;
  getDelayedCount(timestamp?: number): Promise<number>;
  getActiveCount(): Promise<number>;
  getPrioritizedCount(): Promise<number>;
  getCountsPerPriority(priorities: number[]): Promise<{ [index: string]: number }>;
  getWaitingCount(): Promise<number>;
  getWaitingChildrenCount(): Promise<number>;
  getWaiting(start?: number, end?: number): Promise<JobBase[]>;
  getWaitingChildren(start?: number, end?: number): Promise<JobBase[]>;
  getActive(start?: number, end?: number): Promise<JobBase[]>;
  getDelayed(start?: number, end?: number): Promise<JobBase[]>;
  getPrioritized(start?: number, end?: number): Promise<JobBase[]>;
  getCompleted(start?: number, end?: number): Promise<JobBase[]>;
  getFailed(start?: number, end?: number): Promise<JobBase[]>;
  /** A page of a parent's processed or pending children, with their jobs and how many there are. */
  getDependencies(
    parentId: string,
    type: 'processed' | 'pending',
    start: number,
    end: number,
  ): Promise<{ items: { id: string; v?: any; err?: string }[]; jobs: JobJson[]; total: number }>;
  getRanges(types: JobType[], start?: number, end?: number, asc?: boolean): Promise<string[]>;
  getJobs(types?: JobType[] | JobType, start?: number, end?: number, asc?: boolean): Promise<JobBase[]>;
  getJobLogs(jobId: string, start?: number, end?: number, asc?: boolean): Promise<{ logs: string[]; count: number }>;
  getWorkers(): Promise<{ [index: string]: string }[]>;
  getWorkersCount(): Promise<number>;
  /** @deprecated */
  getQueueEvents(): Promise<{ [index: string]: string }[]>;
  getMetrics(type: 'completed' | 'failed', start?: number, end?: number): Promise<Metrics>;
  exportPrometheusMetrics(globalVariables?: Record<string, string>): Promise<string>;
}

/** Options of `new QueueEventsProducer`. */
export type QueueEventsProducerOptions = QueueBaseOptions;

/** Publishes custom events, which every QueueEvents of the queue receives. */
export declare class QueueEventsProducer extends QueueBase {
  constructor(name: string, opts?: QueueEventsProducerOptions);
  /** Appends event `eventName` with the other fields, keeping about `maxEvents` (1000) entries. */
  publishEvent<T extends { eventName: string }>(argsObj: T, maxEvents?: number): Promise<void>;
}

/** The Redis key names of queues under a prefix. */
export declare class QueueKeys {
  readonly prefix: string;
  constructor(prefix?: string);
  getKeys(name: string): KeysMap;
  toKey(name: string, type: string): string;
  getQueueQualifiedName(name: string): string;
}

/** Retry backoff arithmetic. */
export declare class Backoffs {
  static builtinStrategies: { [name: string]: (delay: number, jitter?: number) => BackoffStrategy };
  static normalize(backoff: number | BackoffOptions): BackoffOptions | undefined;
  static calculate(
    backoff: BackoffOptions,
    attemptsMade: number,
    err: Error,
    job: Job,
    customStrategy?: BackoffStrategy,
  ): Promise<number> | number | undefined;
}

// ---------------------------------------------------------------------------
// Flows
// ---------------------------------------------------------------------------

/** A flow node's deduplication: any mode but `replace`. */
type FlowDeduplicationOptions = Omit<DeduplicationOptions, 'replace'>;
type FlowJobOpts = Omit<JobsOptions, 'deduplication'> & { deduplication?: FlowDeduplicationOptions };
/** A node with children takes no deduplication and no parent (its parent is the node above). */
type FlowParentJobOpts = Omit<FlowJobOpts, 'deduplication' | 'parent' | 'repeat'>;
type FlowNestedLeafJobOpts = Omit<FlowJobOpts, 'parent' | 'repeat'>;
/** The root may name an existing job as its parent. */
type FlowRootJobOpts = Omit<FlowJobOpts, 'repeat'>;

/** What every node of a flow names: its job, its queue (and key prefix) and options. */
export interface FlowJobBase<T> {
  name: string;
  queueName: string;
  data?: any;
  prefix?: string;
  opts?: T;
}
/** A leaf below the root. */
export type FlowNestedLeafJob = FlowJobBase<FlowNestedLeafJobOpts> & { children?: never };
/** A node with children below the root. */
export type FlowParentJob = FlowJobBase<FlowParentJobOpts> & { children: FlowJobNode[] };
export type FlowJobNode = FlowParentJob | FlowNestedLeafJob;
/** A flow of one job. */
export type FlowRootLeafJob = FlowJobBase<FlowRootJobOpts> & { children?: never };
/** A flow whose root waits for children. */
export type FlowRootParentJob = FlowJobBase<FlowRootJobOpts> & { children: FlowJobNode[] };
/** A flow to add: a tree of jobs, each in the queue it names. */
export type FlowJob = FlowRootLeafJob | FlowRootParentJob;
/** Options per queue name; bullrush applies their `defaultJobOptions` to the nodes of that queue. */
export type FlowQueuesOpts = Record<string, Omit<QueueOptions, 'connection' | 'prefix'>>;
/** Options of `FlowProducer.add`. */
export interface FlowOpts {
  queuesOptions: FlowQueuesOpts;
}
/** Which flow `FlowProducer.getFlow` reads: its root, and how deep and wide to go. */
export interface NodeOpts {
  queueName: string;
  /** The root's key prefix; the producer's by default. */
  prefix?: string;
  id: string;
  /** Levels to read, the root's included (10). */
  depth?: number;
  /** About how many children of each kind to read per job (20). */
  maxChildren?: number;
}
/** A job of a flow and the nodes below it. */
export interface JobNode {
  job: Job;
  children?: JobNode[];
}
export interface FlowProducerListener extends IoredisListener {
  error: (failedReason: Error) => void;
}

/**
 * Adds flows: trees of jobs whose parents wait in `waiting-children` until their
 * children are done, each node in a queue (and prefix) of its own. A whole flow, or a
 * batch of them, is stored in one atomic step.
 */
export declare class FlowProducer extends EventEmitter {
  constructor(opts?: QueueBaseOptions);
  opts: QueueBaseOptions;
  /** Set once `close()` was called. */
  closing: Promise<void> | undefined;
  emit<U extends keyof FlowProducerListener>(event: U, ...args: Parameters<FlowProducerListener[U]>): boolean;
  off<U extends keyof FlowProducerListener>(eventName: U, listener: FlowProducerListener[U]): this;
  on<U extends keyof FlowProducerListener>(event: U, listener: FlowProducerListener[U]): this;
  once<U extends keyof FlowProducerListener>(event: U, listener: FlowProducerListener[U]): this;
  /** Connects. */
  waitUntilReady(): Promise<void>;
  /** The backend: `client` resolves to the connection's health-check view (`status`, `ping()`). */
  getBackend(): Backend;
  /** Adds a flow: all its jobs, or (when its root's parent is missing or cannot take it) none. */
  add(flow: FlowJob, opts?: FlowOpts): Promise<JobNode>;
  /** Reads a flow back; undefined when its root does not exist. */
  getFlow(opts: NodeOpts): Promise<JobNode>;
  /** Adds several flows in one atomic step. */
  addBulk(flows: FlowJob[]): Promise<JobNode[]>;
  /** Closes the connection. */
  close(): Promise<void>;
  /** The same as close(). */
  disconnect(): Promise<void>;
}

/** A queue's job schedulers (BullMQ's `JobScheduler`); `Queue` has the same operations. */
export declare class JobScheduler extends QueueBase {
  constructor(name: string, opts?: QueueBaseOptions);
  /** Creates or replaces a scheduler (without the queue's default job options). */
  upsertJobScheduler<T = any, R = any, N extends string = string>(
    jobSchedulerId: string,
    repeatOpts: Omit<RepeatOptions, 'key' | 'prevMillis'>,
    jobName: N,
    jobData: T,
    opts: JobSchedulerTemplateOptions,
    options: { override: boolean; producerId?: string },
  ): Promise<Job<T, R, N> | undefined>;
  /** Removes a scheduler: 0 when it existed, 1 when it did not. */
  removeJobScheduler(jobSchedulerId: string): Promise<number>;
  /** Whether `id` names a job scheduler. */
  isJobScheduler(id: string): Promise<boolean>;
  /** A scheduler by id. */
  getScheduler<D = any>(id: string): Promise<JobSchedulerJson<D> | undefined>;
  /** Schedulers ordered by next fire time. */
  getJobSchedulers<D = any>(start?: number, end?: number, asc?: boolean): Promise<JobSchedulerJson<D>[]>;
  /** Number of schedulers. */
  getSchedulersCount(): Promise<number>;
}

/** The next fire time of a cron pattern after `millis` (BullMQ's default strategy). */
export declare const defaultRepeatStrategy: (millis: number, opts: RepeatOptions) => number | undefined;
/** The next fire time after `millis` for `every` or `pattern` repeat options. */
export declare const getNextMillis: (millis: number, opts: RepeatOptions) => number | undefined;
/** Where BullMQ documents moving v5 repeatable jobs to job schedulers. */
export declare const LEGACY_REPEATABLE_JOBS_MIGRATION_URL = 'https://docs.bullmq.io/guide/migrations/migrate-from-v5-to-v6';
/** Whether `key` has the shape of a v5 repeatable job key (`name:id:endDate:tz:pattern|every`). */
export declare function hasLegacyRepeatableKeyShape(key: string): boolean;
/** The same as `hasLegacyRepeatableKeyShape`. */
export declare const isLegacyRepeatableJobKey: typeof hasLegacyRepeatableKeyShape;
/** BullMQ's error for v5 repeatable job metadata. */
export declare function getLegacyRepeatableJobError(key: string): Error;

// ---------------------------------------------------------------------------
// Utilities
// ---------------------------------------------------------------------------

/** An AbortController (Node's, or the `node-abort-controller` package's BullMQ types use). */
export interface AbortControllerLike {
  readonly signal: {
    addEventListener(type: 'abort', listener: () => void): void;
    removeEventListener(type: 'abort', listener: () => void): void;
  };
}

/** The highest job priority (2^21 - 1). */
export declare const PRIORITY_LIMIT: number;
/** The suffix of a QueueEvents connection's client name. */
export declare const QUEUE_EVENT_SUFFIX = ':qe';
/** Resolves after `ms`, or when `abortController` aborts. */
export declare function delay(ms: number, abortController?: AbortControllerLike): Promise<void>;
/** Whether `obj` has a Redis client's connect, disconnect and duplicate. */
export declare function isRedisInstance(obj: any): boolean;
/** Whether `obj` is a Redis client of a Redis Cluster. */
export declare function isRedisCluster(obj: any): boolean;
/** `<parent queue key>:<parent id>`, from a job's `parent` option. */
export declare function getParentKey(opts: { id: string; queue: string }): string | undefined;
/** Runs `callback` in a span of `telemetry`, or plainly without it. */
export declare function trace<T>(
  telemetry: Telemetry | undefined,
  spanKind: SpanKind,
  queueName: string,
  operation: string,
  destination: string,
  callback: (span?: Span, dstPropagationMetadata?: string) => Promise<T> | T,
  srcPropagationMetadata?: string,
): Promise<T | Promise<T>>;
/** Runs `callback` under the telemetry context manager's root context, when it has one. */
export declare function withDetachedContext<T>(telemetry: Telemetry | undefined, callback: () => T): T;
/** An ioredis client as a connection: returned as it is, its settings checked. */
export declare function createIORedisClient<T extends object>(client: T): T;
/** A node-redis client as a connection: returned as it is, its settings checked. */
export declare function createNodeRedisClient<T extends object>(client: T): T;
/** A Valkey GLIDE client as a connection: returned as it is, its settings checked. */
export declare function createValkeyGlideClient<T extends object>(client: T): T;
/** A Bun RedisClient: refused, its settings cannot be read (pass its URL instead). */
export declare function createBunRedisClient<T extends object>(client: T, opts?: object): T;

/** bullrush's package version. */
export declare const version: string;
