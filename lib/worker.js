'use strict';

// BullMQ's Worker, backed by the engine's Worker: the engine fetches, locks, retries and
// settles; this class calls the user's processor and re-emits events with BullMQ's
// listener signatures.

const { EventEmitter } = require('node:events');
const { binding, call, wait, keepAlive } = require('./native');
const { normalizeConnection } = require('./connection');
const { Job } = require('./job');
const { UnrecoverableError } = require('./errors');

function nativeOptions(opts) {
  const limiter = opts.limiter || {};
  const keep = (v) => (v === undefined ? undefined : JSON.stringify(v));
  return {
    connection: normalizeConnection(opts.connection),
    prefix: opts.prefix,
    concurrency: opts.concurrency,
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
  };
}

function errorMessage(err) {
  if (err && typeof err === 'object' && 'message' in err) return String(err.message);
  return String(err);
}

function isUnrecoverable(err) {
  return err instanceof UnrecoverableError || (err && err.name === 'UnrecoverableError');
}

class Worker extends EventEmitter {
  constructor(name, processor, opts = {}) {
    super();
    if (processor !== undefined && processor !== null && typeof processor !== 'function') {
      throw new Error('bullrush does not support sandboxed (file) processors yet');
    }
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
    this.processFn = processor;
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
    this._closed = new Promise((resolve) => {
      this._resolveClosed = resolve;
    });
    if (this.opts.autorun && this.processFn) {
      this.run().catch((err) => {
        if (!this.closing) this.emit('error', err);
      });
    }
  }

  _nativeQueue() {
    return this._queue;
  }

  get concurrency() {
    return this.opts.concurrency;
  }

  /** Starts processing; resolves when the worker has closed. */
  async run() {
    if (!this.processFn) throw new Error('No process function is defined.');
    if (this.running) throw new Error('Worker is already running.');
    this.running = true;
    this._keepAlive = keepAlive();
    try {
      await wait(this._native.run());
    } catch (err) {
      this.running = false;
      clearInterval(this._keepAlive);
      throw err;
    }
    return this._closed;
  }

  async waitUntilReady() {
    await wait(this._queue.waitUntilReady());
    return this;
  }

  _onDelivery({ jobs, events }) {
    for (const event of events) this._onEvent(event);
    for (const raw of jobs) this._start(raw);
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
          this.emit('failed', job, entry.error || new UnrecoverableError(e.message), 'active');
        });
      case 'error':
        if (e.jobId) this._jobs.delete(e.jobId);
        return this.emit('error', new Error(e.message));
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
    if (entry) emit(entry.job, entry);
  }

  _start(raw) {
    const job = Job.fromNative(this, raw);
    const entry = { job, customBackoff: raw.customBackoff };
    this._jobs.set(job.id, entry);
    this.emit('active', job, 'waiting');
    let pending;
    try {
      pending = Promise.resolve(this.processFn(job));
    } catch (err) {
      pending = Promise.reject(err);
    }
    pending.then(
      (result) => this._completed(entry, result),
      (err) => this._failed(entry, err),
    );
  }

  _completed(entry, result) {
    let value;
    try {
      value = result === undefined ? 'null' : JSON.stringify(result);
    } catch (err) {
      return this._failed(entry, err);
    }
    entry.result = result;
    this._report({ id: entry.job.id, kind: 'completed', value: value === undefined ? 'null' : value });
  }

  async _failed(entry, err) {
    entry.error = err;
    const job = entry.job;
    const outcome = {
      id: job.id,
      kind: 'failed',
      message: errorMessage(err),
      stack: err && typeof err.stack === 'string' ? err.stack : undefined,
      unrecoverable: isUnrecoverable(err),
    };
    const strategy = this.opts.settings && this.opts.settings.backoffStrategy;
    if (strategy && entry.customBackoff && !outcome.unrecoverable) {
      try {
        outcome.backoffDelay = await strategy(job.attemptsMade + 1, entry.customBackoff, err, job);
      } catch (strategyErr) {
        this.emit('error', strategyErr);
      }
    }
    this._report(outcome);
  }

  _report(outcome) {
    this._outcomes.push(outcome);
    if (this._flushScheduled) return;
    this._flushScheduled = true;
    queueMicrotask(() => {
      this._flushScheduled = false;
      const batch = this._outcomes;
      this._outcomes = [];
      this._native.report(batch);
    });
  }

  isRunning() {
    return this.running && !this.closing;
  }

  isPaused() {
    return this._native.isPaused();
  }

  async pause(doNotWaitActive) {
    await wait(this._native.pause(!doNotWaitActive));
    this.emit('paused');
  }

  resume() {
    this._native.resume();
    this.emit('resumed');
  }

  /** Stops taking jobs; waits for the active ones unless `force`. */
  close(force = false) {
    if (!this.closing) {
      this.closing = (async () => {
        await wait(this._native.close(!!force));
        await wait(this._queue.close());
        clearInterval(this._keepAlive);
        this.running = false;
        this.emit('closed');
        this._resolveClosed();
      })();
    }
    return this.closing;
  }

  async disconnect() {
    await this.close(true);
  }
}

module.exports = { Worker };
