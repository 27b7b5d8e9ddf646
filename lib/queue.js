'use strict';

// BullMQ's Queue, backed by the engine's Queue.

const { EventEmitter } = require('node:events');
const { binding, call, wait, unwrapError } = require('./native');
const { Requests } = require('./requests');
const { normalizeConnection } = require('./connection');
const { Job, jobJsonOf } = require('./job');
const { dataJson, optsJson } = require('./serialize');
const { MetricNames, TelemetryAttributes, SpanKind } = require('./enums');
const { version } = require('../package.json');
const { randomUUID } = require('node:crypto');

const DEFAULT_COUNT_TYPES = binding.NativeQueue.defaultJobTypes();

// BullMQ's type list: one type or many, distinct; none means the default types.
function jobTypes(types) {
  const list = types === undefined ? [] : [types].flat();
  return list.length ? [...new Set(list)] : DEFAULT_COUNT_TYPES;
}

// A job of addBulk carrying the span's context `metadata`: its own metadata wins, and
// `telemetry.omitContext` keeps the span's out (as BullMQ stores it).
function carryingContext(job, metadata) {
  const own = (job.opts && job.opts.telemetry) || {};
  const carried = own.metadata || (!own.omitContext && metadata);
  if (!carried && !own.omitContext) return job;
  return { ...job, opts: { ...job.opts, telemetry: { metadata: carried, omitContext: own.omitContext } } };
}

class Queue extends EventEmitter {
  constructor(name, opts = {}, Connection) {
    super();
    void Connection;
    this.name = name;
    this.opts = { prefix: 'bull', ...opts };
    this.qualifiedName = `${this.opts.prefix}:${name}`;
    this.jobsOpts = opts.defaultJobOptions || {};
    this.closing = undefined;
    const maxLen = opts.streams && opts.streams.events && opts.streams.events.maxLen;
    this._requests = new Requests();
    this._native = call(
      () =>
        new binding.NativeQueue(String(name ?? ''), {
          connection: normalizeConnection(opts.connection),
          prefix: this.opts.prefix,
          defaultJobOptions: optsJson(this.jobsOpts),
          maxLenEvents: maxLen === undefined ? undefined : Number(maxLen),
          skipMetaUpdate: !!opts.skipMetasUpdate,
        }),
    );
    this._requests.readRepliesOf(this._native);
    this._native.reportErrorsWith((text) => this.emit('error', unwrapError(new Error(text))));
  }

  _nativeQueue() {
    return this._native;
  }

  // The native queue, told the time now: as in BullMQ, timestamps come from this
  // process's clock (`Date.now()`, faked or not).
  _clocked() {
    this._native.observeClock(Date.now());
    return this._native;
  }

  get defaultJobOptions() {
    return { ...this.jobsOpts };
  }

  async waitUntilReady() {
    await wait(this._native.waitUntilReady());
    return this;
  }

  async add(name, data, opts) {
    if (this.opts.telemetry) return this._addTraced(name, data, opts);
    const job = await this._addOne(name, data, opts, true);
    this.emit('waiting', job);
    return job;
  }

  // `add` in the PRODUCER span `add <queue>.<name>`, whose context the job carries
  // (`telemetry.metadata`) unless its `telemetry.omitContext` says not to.
  _addTraced(name, data, opts) {
    return this.trace(SpanKind.PRODUCER, 'add', `${this.name}.${name}`, async (span, metadata) => {
      const omit = opts && opts.telemetry && opts.telemetry.omitContext;
      const job = await this._addOne(name, data, omit ? opts : { ...opts, telemetry: { metadata } }, true);
      this.emit('waiting', job);
      span.setAttributes({ [TelemetryAttributes.JobName]: name, [TelemetryAttributes.JobId]: job.id });
      return job;
    });
  }

  // No `waiting` event here: BullMQ's addBulk emits none either.
  async addBulk(jobs) {
    if (!this.opts.telemetry) return this._addMany(jobs, true);
    return this.trace(SpanKind.PRODUCER, 'addBulk', this.name, async (span, metadata) => {
      span.setAttributes({
        [TelemetryAttributes.BulkNames]: jobs.map((job) => job.name),
        [TelemetryAttributes.BulkCount]: jobs.length,
      });
      return this._addMany(jobs.map((job) => carryingContext(job, metadata)), true);
    });
  }

  // Adds one job (over the queue's default options when `mergeDefaults`); the Job is
  // built from the caller's own name and data, not read back.
  async _addOne(name, data, opts, mergeDefaults) {
    const {
      added: [raw],
    } = await this._requests.send((replier, request) =>
      this._clocked().addWith(replier, request, String(name), dataJson(data), optsJson(opts), mergeDefaults),
    );
    return this._added(raw, name, data);
  }

  async _addMany(jobs, mergeDefaults) {
    const natives = jobs.map((j) => ({
      name: String(j.name),
      data: dataJson(j.data),
      opts: optsJson(j.opts),
    }));
    const { added } = await this._requests.send((replier, request) =>
      this._clocked().addBulkWith(replier, request, natives, mergeDefaults),
    );
    return added.map((raw, i) => this._added(raw, jobs[i].name, jobs[i].data));
  }

  _added(raw, name, data) {
    const job = new Job(this, name, data, JSON.parse(raw.opts), raw.id);
    job.timestamp = raw.timestamp;
    if (raw.parentKey) job.parentKey = raw.parentKey;
    if (raw.parent) job.parent = JSON.parse(raw.parent);
    return job;
  }

  async getJob(jobId) {
    return Job.fromId(this, jobId);
  }

  // Reads a job's record, written to Redis from this thread at once (so a read made in an
  // event handler goes out before what the worker does next).
  async _readJob(jobId) {
    const { job } = await this._requests.send((replier, request) =>
      this._native.getJobWith(replier, request, String(jobId)),
    );
    return job;
  }

  async getJobs(types, start = 0, end = -1, asc = false) {
    const raws = await wait(this._native.getJobs(jobTypes(types), Number(start), Number(end), !!asc));
    return raws.map((raw) => Job.fromNative(this, raw));
  }

  async getRanges(types, start = 0, end = 1, asc = false) {
    return wait(this._native.getRanges([types].flat(), Number(start), Number(end), !!asc));
  }

  async getCountsPerPriority(priorities) {
    const counts = await wait(this._native.getCountsPerPriority(priorities.map(Number)));
    const out = {};
    for (const [priority, count] of counts) out[`${priority}`] = count;
    return out;
  }

  getWaiting(start = 0, end = -1) {
    return this.getJobs(['waiting'], start, end, true);
  }

  getActive(start = 0, end = -1) {
    return this.getJobs(['active'], start, end, true);
  }

  getDelayed(start = 0, end = -1) {
    return this.getJobs(['delayed'], start, end, true);
  }

  getPrioritized(start = 0, end = -1) {
    return this.getJobs(['prioritized'], start, end, true);
  }

  getCompleted(start = 0, end = -1) {
    return this.getJobs(['completed'], start, end, false);
  }

  getFailed(start = 0, end = -1) {
    return this.getJobs(['failed'], start, end, false);
  }

  getWaitingChildren(start = 0, end = -1) {
    return this.getJobs(['waiting-children'], start, end, true);
  }

  async getJobState(jobId) {
    return wait(this._native.getJobState(String(jobId)));
  }

  async getJobCounts(...types) {
    const names = jobTypes(types.flat());
    const counts = await wait(this._native.getJobCounts(names));
    const out = {};
    names.forEach((t, i) => {
      out[t] = counts[i];
    });
    return out;
  }

  async getJobCountByTypes(...types) {
    const counts = await this.getJobCounts(...types);
    return Object.values(counts).reduce((sum, n) => sum + n, 0);
  }

  async count() {
    return this.getJobCountByTypes('waiting', 'delayed', 'prioritized', 'waiting-children');
  }

  getWaitingCount() {
    return this.getJobCountByTypes('waiting');
  }

  getActiveCount() {
    return this.getJobCountByTypes('active');
  }

  getCompletedCount() {
    return this.getJobCountByTypes('completed');
  }

  getFailedCount() {
    return this.getJobCountByTypes('failed');
  }

  async getDelayedCount(timestamp) {
    if (timestamp === undefined) return this.getJobCountByTypes('delayed');
    return wait(this._native.getDelayedCountBefore(Number(timestamp)));
  }

  getPrioritizedCount() {
    return this.getJobCountByTypes('prioritized');
  }

  getWaitingChildrenCount() {
    return this.getJobCountByTypes('waiting-children');
  }

  /** Rate-limits the whole queue for `expireTimeMs`: limited workers fetch nothing until then. */
  async rateLimit(expireTimeMs) {
    await wait(this._native.rateLimit(Number(expireTimeMs)));
  }

  async pause() {
    await wait(this._native.pause());
    this.emit('paused');
  }

  async resume() {
    await wait(this._native.resume());
    this.emit('resumed');
  }

  async isPaused() {
    return wait(this._native.isPaused());
  }

  async isMaxed() {
    return wait(this._native.isMaxed());
  }

  async setGlobalConcurrency(concurrency) {
    return wait(this._native.setGlobalConcurrency(Number(concurrency)));
  }

  async getGlobalConcurrency() {
    return wait(this._native.getGlobalConcurrency());
  }

  async removeGlobalConcurrency() {
    return wait(this._native.removeGlobalConcurrency());
  }

  async setGlobalRateLimit(max, duration) {
    return wait(this._native.setGlobalRateLimit(Number(max), Number(duration)));
  }

  async getGlobalRateLimit() {
    return wait(this._native.getGlobalRateLimit());
  }

  async removeGlobalRateLimit() {
    return wait(this._native.removeGlobalRateLimit());
  }

  async getRateLimitTtl(maxJobs) {
    return wait(this._native.rateLimitTtl(maxJobs === undefined || maxJobs === null ? null : Number(maxJobs)));
  }

  async removeRateLimitKey() {
    return wait(this._native.removeRateLimitKey());
  }

  async getMeta() {
    const meta = await wait(this._native.getMeta());
    const out = Object.fromEntries(meta.other);
    for (const field of ['concurrency', 'maxLenEvents', 'max', 'duration']) {
      if (meta[field] !== undefined && meta[field] !== null) out[field] = meta[field];
    }
    out.paused = meta.paused;
    return out;
  }

  async getVersion() {
    return wait(this._native.getVersion());
  }

  async drain(delayed = false) {
    await wait(this._native.drain(!!delayed));
  }

  async obliterate(opts = {}) {
    await wait(this._native.obliterate(!!opts.force, opts.count ?? 1000));
  }

  async clean(grace, limit, type = 'completed') {
    // BullMQ's `limit || Infinity`: any falsy limit means no limit.
    const { state, pages } = await wait(this._clocked().clean(Number(grace), limit ? Number(limit) : 0, String(type)));
    for (const ids of pages) this.emit('cleaned', ids, state);
    return pages.flat();
  }

  async retryJobs(opts = {}) {
    const { state = 'failed', count = 1000, timestamp } = opts;
    await wait(this._clocked().retryJobs(String(state), Number(count), timestamp === undefined ? null : Number(timestamp)));
  }

  async promoteJobs(opts = {}) {
    const { count = 1000 } = opts;
    await wait(this._native.promoteJobs(Number(count)));
  }

  async getWorkers() {
    const workers = await wait(this._native.getWorkers());
    return workers.map((flat) => {
      const client = {};
      for (let i = 0; i < flat.length; i += 2) client[flat[i]] = flat[i + 1];
      return client;
    });
  }

  async getWorkersCount() {
    return (await this.getWorkers()).length;
  }

  async getMetrics(type, start = 0, end = -1) {
    const m = await wait(this._native.getMetrics(String(type), Number(start), Number(end)));
    return { meta: { count: m.count, prevTS: m.prevTs, prevCount: m.prevCount }, data: m.data, count: m.points };
  }

  /** The job counts and finished totals in Prometheus' text format, as BullMQ writes them. */
  async exportPrometheusMetrics(globalVariables) {
    const [counts, completed, failed] = await Promise.all([
      this.getJobCounts(),
      this.getMetrics('completed'),
      this.getMetrics('failed'),
    ]);
    const labels = globalVariables ? Object.entries(globalVariables).map(([k, v]) => [k, String(v)]) : [];
    return binding.NativeQueue.prometheusText(
      this.name,
      Object.entries(counts).map(([state, n]) => [state, Number(n)]),
      completed.meta.count,
      failed.meta.count,
      labels,
    );
  }

  async trimEvents(maxLength) {
    return wait(this._native.trimEvents(Number(maxLength)));
  }

  /** Removes a job no worker holds, with its children unless `removeChildren` is false; 1 when removed, 0 when locked. */
  async remove(jobId, { removeChildren = true } = {}) {
    const removed = await wait(this._native.remove(String(jobId), !removeChildren));
    if (removed) this.emit('removed', String(jobId));
    return removed ? 1 : 0;
  }

  /**
   * A page (`start` to `end`, -1 for the end) of a parent's children: its `processed`
   * ones (each `{ id, v }` with its return value) or else its pending ones (`{ id }`),
   * with their jobs as stored and how many there are in all.
   */
  async getDependencies(parentId, type, start, end) {
    const processed = type === 'processed';
    const page = await wait(this._native.getChildrenPage(String(parentId), processed, Number(start), Number(end)));
    const items = page.items.map(({ id, value }) => (processed ? parsedItem(id, value) : { id }));
    return { items, jobs: page.jobs.map(jobJsonOf), total: page.total };
  }

  /** Deletes the jobs whose keys exist but which no state holds; resolves to how many went. */
  async removeOrphanedJobs(count = 1000, limit = 0) {
    return wait(this._native.removeOrphanedJobs(Number(count), Number(limit)));
  }

  async updateJobProgress(jobId, progress) {
    await wait(this._native.updateProgress(String(jobId), JSON.stringify(progress)));
    this.emit('progress', jobId, progress);
  }

  async addJobLog(jobId, logRow, keepLogs) {
    return wait(this._native.addLog(String(jobId), String(logRow), keepLogs ?? null));
  }

  async getJobLogs(jobId, start = 0, end = -1, asc = true) {
    if (asc) {
      return wait(this._native.getJobLogs(String(jobId), start, end));
    }
    const { logs, count } = await wait(this._native.getJobLogs(String(jobId), -(end + 1), -(start + 1)));
    return { logs: logs.reverse(), count };
  }

  async getDeduplicationJobId(id) {
    return wait(this._native.getDeduplicationJobId(String(id)));
  }

  /** @deprecated BullMQ's older name of getDeduplicationJobId. */
  async getDebounceJobId(id) {
    return this.getDeduplicationJobId(id);
  }

  async removeDeduplicationKey(id) {
    return wait(this._native.removeDeduplicationKey(String(id)));
  }

  /** @deprecated BullMQ's older name of removeDeduplicationKey. */
  async removeDebounceKey(id) {
    return this.removeDeduplicationKey(id);
  }

  async close() {
    if (!this.closing) {
      this.closing = wait(this._native.close());
    }
    await this.closing;
  }

  async disconnect() {
    await this.close();
  }

  /** A random id of this Queue instance (BullMQ's `token`). */
  get token() {
    if (!this._token) this._token = randomUUID();
    return this._token;
  }

  /** The meta fields this queue writes when it starts: the events stream's length and the library. */
  get metaValues() {
    const maxLen = this.opts.streams && this.opts.streams.events && this.opts.streams.events.maxLen;
    return { 'opts.maxLenEvents': maxLen ?? 10000, version: `bullrush:${version}` };
  }

  /** Deletes the `priority` key BullMQ before v4 kept; resolves to how many keys went (0 or 1). */
  async removeDeprecatedPriorityKey() {
    return wait(this._native.removeDeprecatedPriorityKey());
  }

  /** getJobCounts, also recorded as gauges through the `telemetry` option's meter when it has one. */
  async recordJobCountsMetric(...types) {
    const counts = await this.getJobCounts(...types);
    const meter = this.opts.telemetry && this.opts.telemetry.meter;
    if (!meter) return counts;
    const gauge = meter.createGauge(MetricNames.QueueJobsCount, {
      description: 'Number of jobs in the queue by state',
      unit: '{jobs}',
    });
    for (const [state, count] of Object.entries(counts)) {
      gauge.record(count, { [TelemetryAttributes.QueueName]: this.name, [TelemetryAttributes.QueueJobsState]: state });
    }
    return counts;
  }

  /** @deprecated The queue's QueueEvents connections (of either library), listed like getWorkers. */
  async getQueueEvents() {
    const listeners = await wait(this._native.getQueueEvents());
    return listeners.map((flat) => Object.fromEntries(pairs(flat)));
  }
}

// `[key, value, key, value, ...]` as `[key, value]` pairs.
function pairs(flat) {
  const out = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i], flat[i + 1]]);
  return out;
}

// A processed child as BullMQ's getDependencies lists it: its return value, or why it
// could not be read.
function parsedItem(id, value) {
  try {
    return { id, v: JSON.parse(value) };
  } catch (err) {
    return { id, err: err.message };
  }
}

module.exports = { Queue };
