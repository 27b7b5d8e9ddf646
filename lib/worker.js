'use strict';

// BullMQ's Worker, backed by the engine's Worker: the engine fetches, locks, retries and
// settles; this class calls the user's processor and re-emits events with BullMQ's
// listener signatures.

const { EventEmitter } = require('node:events');
const { binding, call, wait, keepAlive } = require('./native');
const { normalizeConnection } = require('./connection');
const { Job } = require('./job');
const { UnrecoverableError, TimeoutError } = require('./errors');
const { failureKind, describeFailure } = require('./failure');
const { delay } = require('./utils');
const { createSandbox } = require('./sandbox');
const { traceProcess } = require('./telemetry');
const { SpanKind, TelemetryAttributes } = require('./enums');

// The engine's bounds on one blocking wait for jobs (crates/core/src/worker/fetcher.rs).
const MIN_BLOCK_SECONDS = 0.001;
const MAX_BLOCK_SECONDS = 10;

function nativeOptions(opts) {
  const limiter = opts.limiter || {};
  const keep = (v) => (v === undefined ? undefined : JSON.stringify(v));
  return {
    connection: normalizeConnection(opts.connection),
    prefix: opts.prefix,
    concurrency: opts.concurrency === undefined ? undefined : numberOrNaN(opts.concurrency),
    lockDuration: opts.lockDuration,
    lockRenewTime: opts.lockRenewTime,
    stalledInterval: opts.stalledInterval,
    maxStalledCount: opts.maxStalledCount,
    drainDelay: opts.drainDelay,
    name: opts.name,
    limiterMax: limiter.max,
    limiterDuration: limiter.duration,
    removeOnComplete: keep(opts.removeOnComplete),
    removeOnFail: keep(opts.removeOnFail),
    skipStalledCheck: opts.skipStalledCheck,
    skipLockRenewal: opts.skipLockRenewal,
    maxStartedAttempts: opts.maxStartedAttempts,
    maximumRateLimitDelay: opts.maximumRateLimitDelay,
    runRetryDelay: opts.runRetryDelay,
    timeout: opts.timeout,
    batchSize: opts.batch ? opts.batch.size : undefined,
    batchTimeout: opts.batch ? opts.batch.timeout : undefined,
    // As in BullMQ, metrics are on only with a (truthy) maxDataPoints.
    metricsMaxDataPoints: opts.metrics && opts.metrics.maxDataPoints ? Number(opts.metrics.maxDataPoints) : undefined,
  };
}

// A numeric option as the engine takes it: anything but a number is NaN, which the
// engine refuses with BullMQ's message (BullMQ rejects non-numbers too).
function numberOrNaN(value) {
  return typeof value === 'number' ? value : NaN;
}

// The error of an attempt the engine failed without a processor error: a deferred
// failure (unrecoverable), or a completion refused for the job's children (-4 an Error,
// -9 an UnrecoverableError), as BullMQ's worker reports them.
function engineFailure(event) {
  return event.unrecoverable ? new UnrecoverableError(event.message) : new Error(event.message);
}

class Worker extends EventEmitter {
  constructor(name, processor, opts = {}) {
    super();
    this.name = name;
    this.opts = {
      concurrency: 1,
      lockDuration: 30000,
      stalledInterval: 30000,
      maxStalledCount: 1,
      drainDelay: 5,
      autorun: true,
      prefix: 'bull',
      ...opts,
    };
    this.qualifiedName = `${this.opts.prefix}:${name}`;
    this.processFn = this._processorOf(processor);
    this._jobs = new Map();
    this._outcomes = [];
    this._flushScheduled = false;
    this._native = call(
      () => new binding.NativeWorker(String(name ?? ''), nativeOptions(this.opts), (d) => this._onDelivery(d)),
    );
    this._queue = call(() => this._native.queue());
    this.id = this._native.id;
    this.running = false;
    this.closing = undefined;
    this._started = false;
    this._paused = false;
    this._endRun = undefined;
    // As BullMQ's, the worker connects when created: `ready`, and getWorkers lists it.
    this._ready = wait(this._native.waitUntilReady());
    this._ready.catch((err) => {
      if (!this.closing) this.emit('error', err);
    });
    if (this.opts.autorun && this.processFn) {
      this.run().catch((err) => {
        if (!this.closing) this.emit('error', err);
      });
    }
  }

  // The function to call per job: the one given, or one running the given file (a path or
  // a file: URL) in sandboxed children (this.childPool).
  _processorOf(processor) {
    if (!processor || typeof processor === 'function') return processor;
    if (this.opts.batch) throw new Error('A sandboxed (file) processor cannot take batches: `batch` needs a processor function');
    const { childPool, processFn } = createSandbox(processor, this.opts);
    this.childPool = childPool;
    return processFn.bind(this);
  }

  _nativeQueue() {
    return this._queue;
  }

  _nativeWorker() {
    return this._native;
  }

  get concurrency() {
    return this.opts.concurrency;
  }

  set concurrency(concurrency) {
    call(() => this._native.setConcurrency(numberOrNaN(concurrency)));
    this.opts.concurrency = concurrency;
  }

  /** Rate-limits the whole queue for `expireTimeMs` (deprecated in BullMQ for `queue.rateLimit`). */
  async rateLimit(expireTimeMs) {
    await wait(this._queue.rateLimit(Number(expireTimeMs)));
  }

  /**
   * Takes the next job under `token` for manual processing; undefined when none came. With
   * `telemetry`, an INTERNAL span `getNextJob <queue>` continues the job's trace.
   */
  async getNextJob(token, { block = true } = {}) {
    const job = await this._nextJob(token, block);
    if (!this.opts.telemetry) return job;
    const metadata = job && job.opts.telemetry ? job.opts.telemetry.metadata : undefined;
    return this.trace(
      SpanKind.INTERNAL,
      'getNextJob',
      this.name,
      (span) => {
        span.setAttributes({
          [TelemetryAttributes.WorkerId]: this.id,
          [TelemetryAttributes.QueueName]: this.name,
          [TelemetryAttributes.WorkerName]: this.opts.name,
          [TelemetryAttributes.WorkerOptions]: JSON.stringify({ block }),
          [TelemetryAttributes.JobId]: job && job.id,
        });
        return job;
      },
      metadata,
    );
  }

  async _nextJob(token, block) {
    if (this._paused || this.closing) return undefined;
    this._native.observeClock(Date.now());
    const raw = await wait(this._native.getNextJob(String(token), !!block));
    if (!raw) return undefined;
    const job = Job.fromNative(this, raw);
    this.emit('active', job, 'waiting');
    return job;
  }

  /**
   * Starts checking for stalled jobs every `stalledInterval` ms, for a worker that takes
   * jobs by hand (`run` starts the check itself).
   */
  async startStalledCheckTimer() {
    if (this.closing) return;
    await wait(this._native.startStalledCheck());
  }

  /** Runs one stalled-job check now: stalled jobs go back to wait (or fail), `stalled` is emitted for each. */
  async moveStalledJobsToWait() {
    this._native.observeClock(Date.now());
    await wait(this._native.checkStalled());
  }

  /**
   * Aborts the signal of a job whose processor is running; false when there is none (as
   * BullMQ, a processor that has returned or thrown can no longer be cancelled).
   */
  cancelJob(jobId, reason) {
    const entry = this._jobs.get(String(jobId));
    if (!entry || !entry.controller || entry.reported) return false;
    entry.controller.abort(reason);
    return true;
  }

  /** Aborts the signal of every job whose processor is running. */
  cancelAllJobs(reason) {
    for (const entry of this._jobs.values()) {
      if (entry.controller && !entry.reported) entry.controller.abort(reason);
    }
  }

  /**
   * Starts processing; resolves when the worker stops: once paused with its active jobs
   * done (`resume` runs it again), or closed.
   */
  async run() {
    if (!this.processFn) throw new Error('No process function is defined.');
    if (this.running) throw new Error('Worker is already running.');
    this.running = true;
    if (this.closing || this._paused) {
      this.running = false;
      return;
    }
    const stopped = new Promise((resolve) => {
      this._endRun = resolve;
    });
    try {
      await this._begin();
    } catch (err) {
      this._stopRunning();
      throw err;
    }
    await stopped;
  }

  // Starts the engine the first time, resumes it after a pause; either way on this
  // process's clock as it reads now (fetches promote what is due by it).
  async _begin() {
    this._native.observeClock(Date.now());
    if (this._started) {
      this._native.resume();
      return;
    }
    this._started = true;
    this._keepAlive = this._keepAlive || keepAlive();
    await wait(this._native.run());
  }

  // Ends the current run: `run()` resolves and `isRunning()` turns false.
  _stopRunning() {
    this.running = false;
    const end = this._endRun;
    this._endRun = undefined;
    if (end) end();
  }

  async waitUntilReady() {
    await wait(this._native.waitUntilReady());
    await wait(this._queue.waitUntilReady());
    return this;
  }

  _onDelivery({ jobs, events }) {
    for (const event of events) this._onEvent(event);
    if (!this.opts.batch) {
      for (const raw of jobs) this._start(raw);
    } else if (jobs.length > 0) {
      this._startBatch(jobs);
    }
  }

  _onEvent(e) {
    switch (e.kind) {
      case 'completed':
        return this._settled(e, (job, entry) => {
          job.returnvalue = entry.result;
          job.finishedOn = e.finishedOn;
          job.attemptsMade = e.attemptsMade;
          this.emit('completed', job, entry.result, 'active');
        });
      case 'failed':
        return this._settled(e, (job, entry) => {
          job.failedReason = e.message;
          job.stacktrace = JSON.parse(e.stacktrace || '[]');
          job.attemptsMade = e.attemptsMade;
          if (e.finishedOn !== undefined && e.finishedOn !== null) job.finishedOn = e.finishedOn;
          if (e.delay !== undefined && e.delay !== null) job.delay = e.delay;
          this.emit('failed', job, entry.error || engineFailure(e), 'active');
        });
      case 'error': {
        // The engine let go of an attempt whose outcome Redis refused.
        const entry = this._attempt(e.jobId, e.token);
        if (entry) this._letGo(entry);
        return this.emit('error', new Error(e.message));
      }
      case 'timedOut':
        return this._timedOut(this._attempt(e.jobId, e.token), e.message);
      case 'drained':
        return this.emit('drained');
      case 'ready':
        return this.emit('ready');
      case 'stalled':
        return this.emit('stalled', e.jobId, 'active');
      case 'lockRenewalFailed':
        return this.emit('lockRenewalFailed', e.jobIds);
      case 'closing':
        return this.emit('closing', 'closing');
      default:
        return undefined;
    }
  }

  _settled(e, emit) {
    const entry = this._jobs.get(e.jobId) || (e.job ? { job: Job.fromNative(this, e.job) } : undefined);
    this._jobs.delete(e.jobId);
    if (!entry) return;
    emit(entry.job, entry);
    if (entry.settle) entry.settle(e);
  }

  _start(raw) {
    const controller = this._controller();
    const entry = this._track(raw, controller);
    if (!this.opts.telemetry) return this._run(entry, controller);
    return traceProcess(this, entry, () => this._run(entry, controller)).catch((err) => this.emit('error', err));
  }

  // Runs the processor for one job and reports its outcome.
  _run(entry, controller) {
    return this._process(entry.job, entry.job.token, controller).then(
      (result) => this._completed(entry, result),
      (err) => this._failed(entry, err),
    );
  }

  // One delivery in batch mode is one batch: the processor gets its jobs and answers with
  // one result per job (an Error fails that job), or throws to fail them all.
  _startBatch(raws) {
    const controller = this._controller();
    const entries = raws.map((raw) => this._track(raw, controller));
    this._process(entries.map((e) => e.job), undefined, controller).then(
      (results) =>
        entries.forEach((entry, i) => {
          const result = Array.isArray(results) ? results[i] : undefined;
          if (result instanceof Error) this._failed(entry, result);
          else this._completed(entry, result);
        }),
      (err) => entries.forEach((entry) => this._failed(entry, err)),
    );
  }

  // As BullMQ: a signal only for processors that take one (a third parameter).
  _controller() {
    return this.processFn.length >= 3 ? new AbortController() : undefined;
  }

  // Holds a delivered job as running and announces it.
  _track(raw, controller) {
    const job = Job.fromNative(this, raw);
    const entry = { job, customBackoff: raw.customBackoff, controller, reported: false };
    this._jobs.set(job.id, entry);
    this.emit('active', job, 'waiting');
    return entry;
  }

  // Calls the processor; a synchronous throw becomes a rejection.
  _process(work, token, controller) {
    try {
      return Promise.resolve(this.processFn(work, token, controller && controller.signal));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  // The entry of the attempt of `jobId` delivered with `token`, while it is the latest.
  _attempt(jobId, token) {
    const entry = jobId === undefined || jobId === null ? undefined : this._jobs.get(jobId);
    return entry && entry.job.token === token ? entry : undefined;
  }

  // Forgets an attempt, unless a later attempt of the same job has taken its place.
  _letGo(entry) {
    if (this._jobs.get(entry.job.id) === entry) this._jobs.delete(entry.job.id);
    if (entry.settle) entry.settle();
  }

  _timedOut(entry, message) {
    if (!entry || entry.reported) return;
    const err = new TimeoutError(message);
    if (entry.controller) entry.controller.abort(err);
    this._failed(entry, err);
  }

  // An attempt is reported once: the first of its result, its error or its timeout wins.
  _completed(entry, result) {
    if (entry.reported) return undefined;
    entry.reported = true;
    let value;
    try {
      value = result === undefined ? 'null' : JSON.stringify(result);
    } catch (err) {
      return this._fail(entry, err);
    }
    entry.result = result;
    const { id, token } = entry.job;
    this._report({ id, token, kind: 'completed', value: value === undefined ? 'null' : value });
  }

  _failed(entry, err) {
    if (entry.reported) return undefined;
    entry.reported = true;
    return this._fail(entry, err);
  }

  async _fail(entry, err) {
    entry.error = err;
    const job = entry.job;
    const kind = failureKind(err);
    if (kind !== 'failed') {
      this._letGo(entry);
      this._report({ id: job.id, token: job.token, kind });
      return;
    }
    const outcome = { id: job.id, token: job.token, kind: 'failed', ...describeFailure(err) };
    if (entry.customBackoff && !outcome.unrecoverable) {
      outcome.backoffDelay = await this._customBackoff(entry, err);
    }
    this._report(outcome);
  }

  // The delay the worker's `settings.backoffStrategy` gives a retry of a job with a
  // custom backoff type (-1: no retry; anything but a positive number retries at once,
  // as in BullMQ); without a strategy the job is not retried.
  async _customBackoff(entry, err) {
    const { job, customBackoff: type } = entry;
    const strategy = this.opts.settings && this.opts.settings.backoffStrategy;
    if (typeof strategy !== 'function') {
      this.emit(
        'error',
        new Error(`Unknown backoff strategy ${type}. If a custom backoff strategy is used, specify it when the queue is created.`),
      );
      return -1;
    }
    try {
      const delay = Number(await strategy(job.attemptsMade + 1, type, err, job));
      return delay === -1 || delay > 0 ? delay : 0;
    } catch (strategyErr) {
      this.emit('error', strategyErr);
      return -1;
    }
  }

  _report(outcome) {
    this._outcomes.push(outcome);
    if (this._flushScheduled) return;
    this._flushScheduled = true;
    queueMicrotask(() => {
      this._flushScheduled = false;
      const batch = this._outcomes;
      this._outcomes = [];
      this._native.report(batch, Date.now());
    });
  }

  isRunning() {
    return this.running;
  }

  isPaused() {
    return this._paused;
  }

  /**
   * Stops taking jobs; waits for the active ones unless `doNotWaitActive`. Once they are
   * done the run ends (`run()` resolves, `isRunning()` is false); without waiting it goes
   * on until `resume` or `close`.
   */
  async pause(doNotWaitActive) {
    if (this._paused) return;
    this._paused = true;
    this._native.pause();
    if (!doNotWaitActive) {
      await wait(this._native.waitIdle());
      if (this._paused) this._stopRunning();
    }
    this.emit('paused');
  }

  /** Takes jobs again after `pause` (and starts a worker that never ran, as BullMQ). */
  async resume() {
    if (this.running && !this._paused) return;
    this._paused = false;
    if (this.running) {
      this._native.resume();
    } else if (this.processFn) {
      this.run().catch((err) => this.emit('error', err));
    }
    this.emit('resumed');
  }

  /** Stops taking jobs; waits for the active ones unless `force`. */
  close(force = false) {
    if (!this.closing) {
      this.closing = (async () => {
        await wait(this._native.close(!!force));
        if (this.childPool) await this.childPool.clean();
        await wait(this._queue.close());
        clearInterval(this._keepAlive);
        this._stopRunning();
        this.emit('closed');
      })();
    }
    return this.closing;
  }

  async disconnect() {
    await this.close(true);
  }

  /** Extends the locks of jobs this worker holds; resolves to the ids whose lock was not extended. */
  async extendJobLocks(jobIds, tokens, duration) {
    const extended = await Promise.all(
      jobIds.map((id, i) => wait(this._queue.extendLock(String(id), String(tokens[i]), Number(duration)))),
    );
    return jobIds.filter((_, i) => !extended[i]).map(String);
  }

  /** The shortest wait (seconds) the engine blocks for when waiting for jobs. */
  get minimumBlockTimeout() {
    return MIN_BLOCK_SECONDS;
  }

  /** The longest wait (seconds) the engine blocks for before looking again. */
  get maximumBlockTimeout() {
    return MAX_BLOCK_SECONDS;
  }

  /** Resolves after `milliseconds` (100 when not given), or when `abortController` aborts. */
  async delay(milliseconds, abortController) {
    await delay(milliseconds || 100, abortController);
  }
}

module.exports = { Worker };
