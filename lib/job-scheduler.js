'use strict';

// Job schedulers: BullMQ's `JobScheduler` class, the Queue methods that use it, and
// `getNextMillis`. The engine stores schedulers and computes fire times; this layer turns
// dates into milliseconds and JSON text into objects.

const { EventEmitter } = require('node:events');
const { binding, call, wait } = require('./native');
const { QueueBase } = require('./queue-base');
const { Job } = require('./job');
const { dataJson, optsJson } = require('./serialize');

// A date as BullMQ reads it (`new Date(value).getTime()`); an unreadable one is passed on
// as given, for the engine to refuse.
function millis(value) {
  if (value === undefined || value === null || value === '') return undefined;
  const ms = new Date(value).getTime();
  return Number.isNaN(ms) ? String(value) : ms;
}

// Repeat options as the engine reads them: dates in ms.
function repeatJson(opts) {
  if (!opts || typeof opts !== 'object') throw new Error('Repeat options must be an object');
  return JSON.stringify({ ...opts, startDate: millis(opts.startDate), endDate: millis(opts.endDate) });
}

function warnImmediatelyWithEvery(opts) {
  if (opts && opts.immediately && opts.every) {
    console.warn("Using option immediately with every does not affect the job's schedule. Job will run immediately anyway.");
  }
}

// The native queue behind `owner` (a Queue or a JobScheduler), told the time now.
function clocked(owner) {
  const native = owner._nativeQueue();
  native.observeClock(Date.now());
  return native;
}

async function upsert(owner, id, repeatOpts, name, data, opts) {
  warnImmediatelyWithEvery(repeatOpts);
  const raw = await wait(
    clocked(owner).upsertJobScheduler(
      String(id ?? ''),
      repeatJson(repeatOpts),
      String(name),
      dataJson(data),
      optsJson(opts),
      Date.now(),
    ),
  );
  if (!raw) return undefined;
  const job = new Job(owner, name, data, JSON.parse(raw.opts), raw.id);
  job.timestamp = raw.timestamp;
  job.delay = raw.delay;
  job.repeatJobKey = raw.repeatJobKey;
  return job;
}

async function getOne(owner, id) {
  const text = await wait(owner._nativeQueue().getJobScheduler(String(id)));
  return text ? JSON.parse(text) : undefined;
}

async function getPage(owner, start = 0, end = -1, asc = false) {
  return JSON.parse(await wait(owner._nativeQueue().getJobSchedulers(Number(start), Number(end), !!asc)));
}

/** BullMQ's JobScheduler: the scheduler operations of one queue. */
class JobScheduler extends QueueBase {
  /**
   * Creates or replaces a scheduler (`override`), as `Queue.upsertJobScheduler` does but
   * without the queue's default job options. Adding the next iteration of a running one
   * (`override: false`) is the workers' job in bullrush.
   */
  async upsertJobScheduler(jobSchedulerId, repeatOpts, jobName, jobData, opts = {}, { override } = { override: true }) {
    if (!override) {
      throw new Error('JobScheduler.upsertJobScheduler without override: bullrush workers add the next iteration themselves');
    }
    return upsert(this, jobSchedulerId, repeatOpts, jobName ?? jobSchedulerId, jobData ?? {}, opts);
  }

  async removeJobScheduler(jobSchedulerId) {
    return (await wait(this._nativeQueue().removeJobScheduler(String(jobSchedulerId)))) ? 0 : 1;
  }

  async getScheduler(id) {
    return getOne(this, id);
  }

  async getJobSchedulers(start, end, asc) {
    return getPage(this, start, end, asc);
  }

  async getSchedulersCount() {
    return wait(this._nativeQueue().getJobSchedulersCount());
  }

  /** Whether `id` names a job scheduler (its hash has an iteration count). */
  async isJobScheduler(id) {
    const found = await getOne(this, id);
    return !!(found && found.iterationCount !== undefined);
  }

  getSchedulerNextJobId({ nextMillis, jobSchedulerId }) {
    return `repeat:${jobSchedulerId}:${nextMillis}`;
  }
}

// A JobScheduler over the connection of `owner` (a Queue or a Worker), as BullMQ's share
// their owner's.
function sharing(owner) {
  const scheduler = Object.create(JobScheduler.prototype);
  EventEmitter.call(scheduler);
  Object.assign(scheduler, { name: owner.name, opts: { ...owner.opts }, qualifiedName: owner.qualifiedName });
  scheduler.closing = undefined;
  scheduler._native = owner._nativeQueue();
  return scheduler;
}

/** The Queue methods of BullMQ's job schedulers. */
const queueMethods = {
  async upsertJobScheduler(jobSchedulerId, repeatOpts, jobTemplate) {
    const template = jobTemplate || {};
    return upsert(this, jobSchedulerId, repeatOpts, template.name ?? jobSchedulerId, template.data ?? {}, template.opts || {});
  },
  async getJobScheduler(id) {
    return getOne(this, id);
  },
  async getJobSchedulers(start, end, asc) {
    return getPage(this, start, end, asc);
  },
  async getJobSchedulersCount() {
    return wait(this._nativeQueue().getJobSchedulersCount());
  },
  async removeJobScheduler(jobSchedulerId) {
    return wait(this._nativeQueue().removeJobScheduler(String(jobSchedulerId)));
  },
};

/** Gives `Queue` the scheduler methods and `Queue`/`Worker` their `jobScheduler` getter. */
function installSchedulers(Queue, Worker) {
  Object.assign(Queue.prototype, queueMethods);
  for (const cls of [Queue, Worker]) {
    Object.defineProperty(cls.prototype, 'jobScheduler', {
      get() {
        if (!this._jobScheduler) {
          this._jobScheduler = sharing(this);
          this._jobScheduler.on('error', (err) => this.emit('error', err));
        }
        return Promise.resolve(this._jobScheduler);
      },
      configurable: true,
    });
  }
}

/** BullMQ's `getNextMillis`: the next fire time after `millis` for repeat options. */
function getNextMillis(millis, opts) {
  return call(() => binding.nextMillis(Number(millis), repeatJson(opts), Date.now())) ?? undefined;
}

/** BullMQ's default repeat strategy: `getNextMillis` for cron patterns. */
function defaultRepeatStrategy(millis, opts) {
  return getNextMillis(millis, { ...opts, every: undefined });
}

const LEGACY_REPEATABLE_JOBS_MIGRATION_URL = 'https://docs.bullmq.io/guide/migrations/migrate-from-v5-to-v6';

/** Whether `key` has the shape of a BullMQ v5 repeatable job key (`name:id:endDate:tz:<repeat>`). */
function hasLegacyRepeatableKeyShape(key) {
  return binding.hasLegacyRepeatableKeyShape(String(key));
}

/** BullMQ's error for v5 repeatable job metadata met by a v6 worker or getter. */
function getLegacyRepeatableJobError(key) {
  return new Error(binding.legacyRepeatableJobMessage(String(key)));
}

module.exports = {
  JobScheduler,
  installSchedulers,
  getNextMillis,
  defaultRepeatStrategy,
  hasLegacyRepeatableKeyShape,
  isLegacyRepeatableJobKey: hasLegacyRepeatableKeyShape,
  getLegacyRepeatableJobError,
  LEGACY_REPEATABLE_JOBS_MIGRATION_URL,
};
