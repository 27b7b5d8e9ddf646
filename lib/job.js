'use strict';

// The Job object BullMQ users hold: fields decoded from the engine's record, and methods
// that call the engine through a native queue handle.

const { binding, wait } = require('./native');
const { describeFailure } = require('./failure');
const { recordMove, recordJobMetrics, failOperation } = require('./telemetry');

/** The lock token to act with: BullMQ's '0' (no lock check) when none is given. */
function lockOf(token) {
  return token === undefined || token === null ? '0' : String(token);
}

function parseJson(text, fallback) {
  if (text === undefined || text === null) return fallback;
  try {
    return JSON.parse(text);
  } catch {
    return fallback;
  }
}

// BullMQ's answer of a call that fetched the next job: `[jobJson, jobId, rateLimitTtl,
// nextDelayedDue]`; without a job, why (a rate limit, or with `withDue` when the next
// delayed job is due), else `[]`.
function nextJobData(next, withDue = true) {
  if (!next) return [];
  if (next.job) return [jobJsonOf(next.job), next.job.id, next.rateLimitTtl, next.nextDue];
  if (next.rateLimitTtl > 0) return [null, 0, next.rateLimitTtl, 0];
  if (withDue && next.nextDue > 0) return [null, 0, 0, next.nextDue];
  return [];
}

// A job record as BullMQ's `JobJson` (data, stacktrace and returnvalue stay JSON text).
function jobJsonOf(raw) {
  return {
    id: raw.id,
    name: raw.name,
    data: raw.data || '{}',
    opts: parseJson(raw.opts, {}),
    progress: parseJson(raw.progress, 0),
    delay: raw.delay,
    priority: raw.priority,
    timestamp: raw.timestamp,
    attemptsStarted: raw.attemptsStarted,
    attemptsMade: raw.attemptsMade,
    stalledCounter: raw.stalledCounter,
    finishedOn: raw.finishedOn ?? undefined,
    processedOn: raw.processedOn ?? undefined,
    repeatJobKey: raw.repeatJobKey ?? undefined,
    debounceId: raw.deduplicationId ?? undefined,
    deduplicationId: raw.deduplicationId ?? undefined,
    failedReason: raw.failedReason ?? undefined,
    deferredFailure: raw.deferredFailure ?? undefined,
    stacktrace: raw.stacktrace ?? undefined,
    returnvalue: raw.returnvalue ?? undefined,
    parentKey: raw.parentKey ?? undefined,
    parent: parseJson(raw.parent, undefined),
    processedBy: raw.processedBy ?? undefined,
  };
}

// `[key, JSON text]` pairs as an object of parsed values (BullMQ's parseObjectValues).
function parsedValues(pairs) {
  const out = {};
  for (const [key, value] of pairs) out[key] = JSON.parse(value);
  return out;
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
    this.stacktrace = null;
    this.delay = opts.delay;
    this.priority = opts.priority || 0;
    this.timestamp = opts.timestamp || Date.now();
    this.attemptsStarted = 0;
    this.attemptsMade = 0;
    this.stalledCounter = 0;
    this.failedReason = undefined;
    this.processedOn = undefined;
    this.finishedOn = undefined;
    this.queueQualifiedName = queue ? queue.qualifiedName : undefined;
    if (opts.deduplication && opts.deduplication.id) this.deduplicationId = opts.deduplication.id;
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

  /** Adds a job to `queue` with exactly the given options (the queue's defaults do not apply). */
  static async create(queue, name, data, opts) {
    return queue._addOne(name, data, opts, false);
  }

  /** Adds many jobs to `queue` with exactly their given options. */
  static async createBulk(queue, jobs) {
    return queue._addMany(jobs, false);
  }

  /** Builds a Job from its stored form (BullMQ's `JobJson`: data as JSON text). */
  static fromJSON(queue, json, jobId) {
    const job = new this(queue, json.name, JSON.parse(json.data || '{}'), json.opts, json.id || jobId);
    job.progress = json.progress ?? 0;
    job.delay = json.delay;
    job.priority = json.priority;
    job.timestamp = json.timestamp;
    for (const field of ['finishedOn', 'processedOn', 'repeatJobKey', 'deduplicationId', 'failedReason', 'deferredFailure', 'processedBy']) {
      if (json[field]) job[field] = json[field];
    }
    job.attemptsStarted = json.attemptsStarted ?? 0;
    job.attemptsMade = json.attemptsMade ?? 0;
    job.stalledCounter = json.stalledCounter ?? 0;
    const stack = parseJson(json.stacktrace, []);
    job.stacktrace = Array.isArray(stack) ? stack : [];
    if (typeof json.returnvalue === 'string') job.returnvalue = parseJson(json.returnvalue, undefined);
    job.parentKey = json.parentKey || undefined;
    job.parent = json.parent || undefined;
    return job;
  }

  /** Appends a log line to job `jobId` of `queue`; returns the log length. */
  static addJobLog(queue, jobId, logRow, keepLogs) {
    return queue.addJobLog(jobId, logRow, keepLogs);
  }

  /** Reads a job by id; undefined when it does not exist. */
  static async fromId(queue, jobId) {
    if (!jobId) return undefined;
    const raw =
      typeof queue._readJob === 'function'
        ? await queue._readJob(jobId)
        : await wait(queue._nativeQueue().getJob(String(jobId)));
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

  // The native queue, told the time now (timestamps come from this process's clock).
  _clocked() {
    const native = this._native();
    native.observeClock(Date.now());
    return native;
  }

  async updateProgress(progress) {
    this.progress = progress;
    await wait(this._native().updateProgress(this.id, JSON.stringify(progress)));
    if (this.queue && typeof this.queue.emit === 'function') {
      this.queue.emit('progress', this, progress);
    }
  }

  /** Replaces the job's data. */
  async updateData(data) {
    this.data = data;
    const text = JSON.stringify(data);
    await wait(this._native().updateData(this.id, text === undefined ? '' : text));
  }

  /** Reschedules the delayed job to run `delay` ms from now. */
  async changeDelay(delay) {
    await wait(this._clocked().changeDelay(this.id, delay));
    this.delay = delay;
  }

  /** Gives the job a new priority (and with `lifo`, the front of its peers). */
  async changePriority(opts = {}) {
    await wait(this._native().changePriority(this.id, JSON.stringify(opts)));
    this.priority = opts.priority || 0;
  }

  /** Makes the delayed job ready now. */
  async promote() {
    await wait(this._native().promote(this.id));
    this.delay = 0;
  }

  /** Deletes the job's logs, keeping the newest `keepLogs` lines when given. */
  async clearLogs(keepLogs) {
    await wait(this._native().clearLogs(this.id, keepLogs || null));
  }

  async log(row) {
    return wait(this._native().addLog(this.id, String(row), this.opts.keepLogs ?? null));
  }

  async getState() {
    return wait(this._native().getJobState(this.id));
  }

  /** Removes the job, with its children unless `removeChildren` is false; throws while a worker holds it (or one of them). */
  async remove({ removeChildren = true } = {}) {
    const removed = await wait(this._native().remove(this.id, !removeChildren));
    if (!removed) {
      throw new Error(`Job ${this.id} could not be removed because it is locked by another worker`);
    }
    if (this.queue && typeof this.queue.emit === 'function') this.queue.emit('removed', this);
  }

  /**
   * The job's children by how they stand: `processed` (child key → return value),
   * `unprocessed` (pending keys), `failed` (keys of children that failed it), `ignored`
   * (child key → reason). With options, only the lists named, a page each
   * (`{ cursor = 0, count = 20 }`), with the cursor of the next page.
   */
  async getDependencies(opts = {}) {
    const kinds = ['processed', 'unprocessed', 'ignored', 'failed'].filter((kind) => opts[kind]);
    const request = {};
    for (const kind of kinds) request[kind] = { ...opts[kind] };
    const deps = await wait(this._native().getDependencies(this.id, request));
    if (kinds.length === 0) {
      return {
        processed: parsedValues(deps.processed),
        unprocessed: deps.unprocessed,
        failed: deps.failed,
        ignored: Object.fromEntries(deps.ignored),
      };
    }
    return {
      ...(deps.processed && { processed: parsedValues(deps.processed), nextProcessedCursor: deps.nextProcessedCursor }),
      ...(deps.ignored && { ignored: Object.fromEntries(deps.ignored), nextIgnoredCursor: deps.nextIgnoredCursor }),
      ...(deps.failed && deps.nextFailedCursor && { failed: deps.failed, nextFailedCursor: deps.nextFailedCursor }),
      ...(deps.unprocessed && { unprocessed: deps.unprocessed, nextUnprocessedCursor: deps.nextUnprocessedCursor }),
    };
  }

  /** How many children the job has of each kind named (all four when none is). */
  async getDependenciesCount(opts = {}) {
    const named = Object.keys(opts).filter((kind) => opts[kind]);
    const kinds = named.length ? named : ['processed', 'unprocessed', 'ignored', 'failed'];
    const counts = await wait(this._native().getDependenciesCount(this.id, kinds));
    const out = {};
    kinds.forEach((kind, i) => {
      out[kind] = counts[i] || 0;
    });
    return out;
  }

  /** The return values of the job's completed children, by child key. */
  async getChildrenValues() {
    return parsedValues(await wait(this._native().getChildrenValues(this.id)));
  }

  /** The reasons of the child failures the job ignored, by child key. */
  async getIgnoredChildrenFailures() {
    return Object.fromEntries(await wait(this._native().getIgnoredChildrenFailures(this.id)));
  }

  /** @deprecated BullMQ's older name of getIgnoredChildrenFailures. */
  async getFailedChildrenValues() {
    return this.getIgnoredChildrenFailures();
  }

  /**
   * Parks this active job in waiting-children while it has pending children (or until
   * `opts.child` is done); resolves false, the job staying active, when nothing is
   * pending. The processor then throws WaitingChildrenError.
   */
  async moveToWaitingChildren(token, opts = {}) {
    const child = opts.child ? `${opts.child.queue}:${opts.child.id}` : null;
    const lock = lockOf(token);
    const holder = this._holder();
    const moved = await wait(
      holder
        ? holder.moveToWaitingChildren(this.id, lock, child)
        : this._clocked().moveToWaitingChildren(this.id, lock, child),
    );
    if (moved) this._recordMetrics('waiting-children');
    return moved;
  }

  /**
   * Detaches the job from its parent; false when it was not one of the parent's pending
   * children. A job without a parent key is refused as BullMQ refuses it (a missing parent
   * `undefined`).
   */
  async removeChildDependency() {
    const removed = await wait(this._native().removeChildDependency(this.id, String(this.parentKey)));
    if (removed) {
      this.parent = undefined;
      this.parentKey = undefined;
    }
    return removed;
  }

  /** Removes the job's pending children and their pending descendants (locked and failed ones stay). */
  async removeUnprocessedChildren() {
    await wait(this._native().removeUnprocessedChildren(this.id));
  }

  // The native worker holding this job, when a Worker of this process delivered it: moves
  // go through it so it stops renewing the lock and lets go of the job. A Job read through
  // a Queue moves through the queue. Either is told the time now.
  _holder() {
    if (!this.queue || typeof this.queue._nativeWorker !== 'function') return undefined;
    const worker = this.queue._nativeWorker();
    worker.observeClock(Date.now());
    return worker;
  }

  /** Moves this active job to the delayed set until `timestamp` (ms); the attempt does not count. */
  async moveToDelayed(timestamp, token) {
    const ts = Number(timestamp);
    if (!Number.isFinite(ts)) throw new Error('timestamp must be a number of milliseconds');
    const lock = lockOf(token);
    const holder = this._holder();
    await wait(
      holder ? holder.moveToDelayed(this.id, lock, ts) : this._clocked().moveToDelayed(this.id, lock, ts, false),
    );
    this.delay = Math.max(0, ts - Date.now());
    this._recordMetrics('delayed');
  }

  /** Puts this active job back at the front of wait; resolves to the rate limiter's remaining ms. */
  async moveToWait(token) {
    const lock = lockOf(token);
    const holder = this._holder();
    const rateLimitTtl = await wait(holder ? holder.moveToWait(this.id, lock) : this._native().moveToWait(this.id, lock));
    this._recordMetrics('waiting');
    return rateLimitTtl;
  }

  /**
   * Completes this active job held with `token` (manual processing); with `fetchNext`
   * (the default, as in BullMQ) the same call takes the next job under `token` and
   * resolves to `[jobJson, jobId, rateLimitTtl, nextDelayedDue]`, else to `[]`.
   */
  async moveToCompleted(returnValue, token, fetchNext = true) {
    const startTime = Date.now();
    const value = JSON.stringify(returnValue);
    const owner = this._holder() || this._clocked();
    const settled = await wait(owner.moveToCompleted(this.id, lockOf(token), value ?? 'null', !!fetchNext));
    this.returnvalue = returnValue || undefined;
    this.finishedOn = settled.finishedOn;
    this.attemptsMade = settled.attemptsMade;
    this._recordMove('complete', startTime);
    return nextJobData(settled.next);
  }

  /**
   * Fails (or retries, per attempts and backoff) this active job held with `token`; with
   * `fetchNext` the same call takes the next job, as `moveToCompleted` does (a retry at
   * once fetches nothing and resolves to undefined, as in BullMQ).
   */
  async moveToFailed(err, token, fetchNext = false) {
    const startTime = Date.now();
    const failure = describeFailure(err);
    const owner = this._holder() || this._clocked();
    const settled = await wait(owner.moveToFailed(this.id, lockOf(token), failure, !!fetchNext));
    this.failedReason = failure.message;
    this.stacktrace = parseJson(settled.stacktrace, this.stacktrace);
    this.attemptsMade = settled.attemptsMade;
    if (settled.finishedOn !== null && settled.finishedOn !== undefined) this.finishedOn = settled.finishedOn;
    const delayed = settled.delay !== null && settled.delay !== undefined;
    if (delayed) this.delay = settled.delay;
    this._recordMove(failOperation(settled), startTime);
    const retried = !delayed && (settled.finishedOn === null || settled.finishedOn === undefined);
    return retried ? undefined : nextJobData(settled.next, !delayed);
  }

  // The `telemetry` option of the queue or worker this job came through, if any.
  _telemetry() {
    return this.queue && this.queue.opts ? this.queue.opts.telemetry : undefined;
  }

  // The telemetry span and metrics of a move made by hand (`complete`, `fail`, `retry`,
  // `delay`), under the active context.
  _recordMove(operation, startTime) {
    const telemetry = this._telemetry();
    if (!telemetry) return;
    recordMove(telemetry, telemetry.contextManager.active(), this.queue.name, operation, startTime, this);
  }

  // The job metrics of a move to `state`, through the telemetry option's meter.
  _recordMetrics(state) {
    recordJobMetrics(this._telemetry(), this.queue && this.queue.name, this, state);
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
    this.failedReason = null;
    this.finishedOn = null;
    this.processedOn = null;
    this.returnvalue = null;
    if (opts.resetAttemptsMade) this.attemptsMade = 0;
    if (opts.resetAttemptsStarted) this.attemptsStarted = 0;
  }

  /** Frees the job's deduplication id if the job still owns it; returns whether it did. */
  async removeDeduplicationKey() {
    if (!this.deduplicationId) return false;
    return wait(this._native().releaseDeduplicationKey(String(this.deduplicationId), this.id));
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
            reject(new Error(`Missing key for job ${this.queue.qualifiedName}:${jobId}. isFinished`));
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
      parent: this.parent ? { ...this.parent } : undefined,
      parentKey: this.parentKey,
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
      deduplicationId: this.deduplicationId,
      delay: this.delay,
      priority: this.priority,
    };
  }

  /** asJSON plus the queue's name, qualified name and prefix (what a sandboxed processor gets). */
  asJSONSandbox() {
    return { ...this.asJSON(), queueName: this.queueName, queueQualifiedName: this.queueQualifiedName, prefix: this.prefix };
  }

  /** Stored job options (JSON text with BullMQ's short keys) as a Job shows them; `optsDecode` renames keys instead. */
  static optsFromJSON(rawOpts, optsDecode) {
    const text = rawOpts || '{}';
    if (!optsDecode) return JSON.parse(binding.decodeJobOpts(text));
    const out = {};
    for (const [key, value] of Object.entries(JSON.parse(text))) out[optsDecode[key] || key] = value;
    return out;
  }
}

module.exports = { Job, parseJson, jobJsonOf };
