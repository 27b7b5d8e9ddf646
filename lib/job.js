'use strict';

// The Job object BullMQ users hold: fields decoded from the engine's record, and methods
// that call the engine through a native queue handle.

const { wait } = require('./native');

function parseJson(text, fallback) {
  if (text === undefined || text === null) return fallback;
  try {
    return JSON.parse(text);
  } catch {
    return fallback;
  }
}

class Job {
  /**
   * @param {object} queue - the Queue or Worker the job belongs to
   */
  constructor(queue, name, data, opts = {}, id) {
    Object.defineProperty(this, 'queue', { value: queue, enumerable: false, writable: true });
    this.name = name;
    this.data = data;
    this.opts = opts;
    this.id = id;
    this.progress = 0;
    this.returnvalue = null;
    this.stacktrace = [];
    this.delay = opts.delay || 0;
    this.priority = opts.priority || 0;
    this.timestamp = opts.timestamp || Date.now();
    this.attemptsStarted = 0;
    this.attemptsMade = 0;
    this.stalledCounter = 0;
    this.failedReason = undefined;
    this.processedOn = undefined;
    this.finishedOn = undefined;
    this.queueQualifiedName = queue ? queue.qualifiedName : undefined;
  }

  /** Builds a Job from the engine's record. */
  static fromNative(queue, raw) {
    const job = new Job(queue, raw.name, parseJson(raw.data, {}), parseJson(raw.opts, {}), raw.id);
    job.timestamp = raw.timestamp;
    job.delay = raw.delay;
    job.priority = raw.priority;
    job.progress = parseJson(raw.progress, 0);
    job.returnvalue = raw.returnvalue === undefined || raw.returnvalue === null ? null : parseJson(raw.returnvalue, null);
    job.failedReason = raw.failedReason ?? undefined;
    const stack = parseJson(raw.stacktrace, []);
    job.stacktrace = Array.isArray(stack) ? stack : [];
    job.attemptsMade = raw.attemptsMade;
    job.attemptsStarted = raw.attemptsStarted;
    job.stalledCounter = raw.stalledCounter;
    job.processedOn = raw.processedOn ?? undefined;
    job.finishedOn = raw.finishedOn ?? undefined;
    if (raw.processedBy) job.processedBy = raw.processedBy;
    if (raw.parentKey) job.parentKey = raw.parentKey;
    if (raw.parent) job.parent = parseJson(raw.parent, undefined);
    if (raw.deduplicationId) job.deduplicationId = raw.deduplicationId;
    if (raw.repeatJobKey) job.repeatJobKey = raw.repeatJobKey;
    if (raw.deferredFailure) job.deferredFailure = raw.deferredFailure;
    if (raw.token) job.token = raw.token;
    return job;
  }

  /** Reads a job by id; undefined when it does not exist. */
  static async fromId(queue, jobId) {
    if (!jobId) return undefined;
    const raw = await wait(queue._nativeQueue().getJob(String(jobId)));
    return raw ? Job.fromNative(queue, raw) : undefined;
  }

  get queueName() {
    return this.queue ? this.queue.name : undefined;
  }

  get prefix() {
    return this.queue && this.queue.opts ? this.queue.opts.prefix || 'bull' : 'bull';
  }

  _native() {
    return this.queue._nativeQueue();
  }

  async updateProgress(progress) {
    this.progress = progress;
    await wait(this._native().updateProgress(this.id, JSON.stringify(progress)));
    if (this.queue && typeof this.queue.emit === 'function') {
      this.queue.emit('progress', this, progress);
    }
  }

  async log(row) {
    return wait(this._native().addLog(this.id, String(row), this.opts.keepLogs ?? null));
  }

  async getState() {
    return wait(this._native().getJobState(this.id));
  }

  async remove() {
    const removed = await wait(this._native().remove(this.id));
    if (!removed) {
      throw new Error(`Job ${this.id} could not be removed because it is locked by another worker`);
    }
  }

  // The native worker holding this job, when a Worker of this process delivered it: moves
  // go through it so it stops renewing the lock and lets go of the job. A Job read through
  // a Queue moves through the queue.
  _holder() {
    return this.queue && typeof this.queue._nativeWorker === 'function' ? this.queue._nativeWorker() : undefined;
  }

  /** Moves this active job to the delayed set until `timestamp` (ms); the attempt does not count. */
  async moveToDelayed(timestamp, token) {
    const ts = Number(timestamp);
    if (!Number.isFinite(ts)) throw new Error('timestamp must be a number of milliseconds');
    const lock = token === undefined ? '0' : String(token);
    const holder = this._holder();
    await wait(
      holder ? holder.moveToDelayed(this.id, lock, ts) : this._native().moveToDelayed(this.id, lock, ts, false),
    );
    this.delay = Math.max(0, ts - Date.now());
  }

  /** Puts this active job back at the front of wait; resolves to the rate limiter's remaining ms. */
  async moveToWait(token) {
    const lock = token === undefined ? '0' : String(token);
    const holder = this._holder();
    return wait(holder ? holder.moveToWait(this.id, lock) : this._native().moveToWait(this.id, lock));
  }

  /** Extends this active job's lock by `duration` ms; 1 when extended, 0 when the token lost it. */
  async extendLock(token, duration) {
    const extended = await wait(this._native().extendLock(this.id, String(token), Number(duration)));
    return extended ? 1 : 0;
  }

  async retry(state = 'failed', opts = {}) {
    await wait(
      this._native().reprocess(this.id, state, !!opts.resetAttemptsMade, !!opts.resetAttemptsStarted),
    );
    this.failedReason = undefined;
    this.finishedOn = undefined;
    this.processedOn = undefined;
    this.returnvalue = null;
    if (opts.resetAttemptsMade) this.attemptsMade = 0;
    if (opts.resetAttemptsStarted) this.attemptsStarted = 0;
  }

  async isCompleted() {
    return (await this.getState()) === 'completed';
  }

  async isFailed() {
    return (await this.getState()) === 'failed';
  }

  async isDelayed() {
    return (await this.getState()) === 'delayed';
  }

  async isActive() {
    return (await this.getState()) === 'active';
  }

  async isWaiting() {
    const state = await this.getState();
    return state === 'waiting' || state === 'prioritized';
  }

  async isWaitingChildren() {
    return (await this.getState()) === 'waiting-children';
  }

  /** Resolves with the return value when the job completes, rejects when it fails. */
  async waitUntilFinished(queueEvents, ttl) {
    await queueEvents.waitUntilReady();
    const jobId = this.id;
    return new Promise((resolve, reject) => {
      let timer;
      const completedEvent = `completed:${jobId}`;
      const failedEvent = `failed:${jobId}`;
      const cleanup = () => {
        clearTimeout(timer);
        queueEvents.removeListener(completedEvent, onCompleted);
        queueEvents.removeListener(failedEvent, onFailed);
      };
      const onCompleted = (args) => {
        cleanup();
        resolve(args.returnvalue);
      };
      const onFailed = (args) => {
        cleanup();
        reject(new Error(args.failedReason || args));
      };
      queueEvents.on(completedEvent, onCompleted);
      queueEvents.on(failedEvent, onFailed);
      if (ttl) {
        timer = setTimeout(() => {
          cleanup();
          reject(
            new Error(
              `Job wait ${this.name} timed out before finishing, no finish notification arrived after ${ttl}ms (id=${jobId})`,
            ),
          );
        }, ttl);
      }
      wait(this._native().jobFinished(jobId)).then(
        (finished) => {
          if (finished.code === 1) {
            cleanup();
            resolve(parseJson(finished.value, null));
          } else if (finished.code === 2) {
            cleanup();
            reject(new Error(finished.value));
          } else if (finished.code === -1) {
            cleanup();
            reject(new Error(`Missing key for job ${jobId}. isFinished`));
          }
        },
        (err) => {
          cleanup();
          reject(err);
        },
      );
    });
  }

  /** The job's fields, as BullMQ's `toJSON` gives them. */
  toJSON() {
    const { queue, ...rest } = this;
    return rest;
  }

  /** The job as stored: data, opts and results as JSON text. */
  asJSON() {
    return {
      id: this.id,
      name: this.name,
      data: JSON.stringify(this.data === undefined ? {} : this.data),
      opts: this.opts,
      progress: this.progress,
      attemptsMade: this.attemptsMade,
      attemptsStarted: this.attemptsStarted,
      stalledCounter: this.stalledCounter,
      finishedOn: this.finishedOn,
      processedOn: this.processedOn,
      timestamp: this.timestamp,
      failedReason: JSON.stringify(this.failedReason),
      stacktrace: JSON.stringify(this.stacktrace),
      returnvalue: JSON.stringify(this.returnvalue),
      delay: this.delay,
      priority: this.priority,
    };
  }
}

module.exports = { Job, parseJson };
