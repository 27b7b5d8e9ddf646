'use strict';

// Job schedulers: what upsertJobScheduler stores and returns, the getters, removal, the
// next iteration added by whichever worker takes the current one, bad input refused
// before Redis is touched, and schedulers shared by BullMQ and bullrush processes.

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');

const { impl, bullmq, sides, directions, workerOpts, connection } = require('./helpers/sides');
const { implLabel, isBullmqImpl } = require('./helpers/env');
const { newRedis, waitFor } = require('./helpers/redis');
const { createScope, sleep } = require('./helpers/util');

const MINUTE = 60000;

// Every key of queue `name`, for "nothing was stored" checks.
async function keysOf(redis, name) {
  return (await redis.keys(`bull:${name}:*`)).sort();
}

describe('upsertJobScheduler', () => {
  test('an `every` scheduler: its hash, its first iteration and the getters', { timeout: 15000 }, async (t) => {
    const s = createScope();
    const redis = newRedis();
    t.after(async () => {
      await redis.quit();
      await s.close();
    });
    const name = s.queueName('sched');
    const q = s.add(new impl.Queue(name, { connection, defaultJobOptions: { removeOnComplete: 7 } }));
    const start = Date.now() + 10 * MINUTE;
    const job = await q.upsertJobScheduler(
      'tick',
      { every: 5000, startDate: new Date(start) },
      { name: 'tick-job', data: { n: 1 }, opts: { attempts: 3 } },
    );
    assert.equal(job.id, `repeat:tick:${start}`);
    assert.equal(job.name, 'tick-job');
    assert.deepEqual(job.data, { n: 1 });
    assert.equal(job.repeatJobKey, 'tick');
    assert.ok(job.delay > 9 * MINUTE && job.delay <= 10 * MINUTE, `delay ${job.delay}`);
    assert.equal(await q.getJobState(job.id), 'delayed');

    const hash = await redis.hgetall(`bull:${name}:repeat:tick`);
    hash.opts = JSON.parse(hash.opts);
    assert.deepEqual(hash, {
      name: 'tick-job',
      every: '5000',
      startDate: String(start),
      offset: String(start % 5000),
      opts: { removeOnComplete: 7, attempts: 3 },
      data: '{"n":1}',
      ic: '1',
    });
    const stored = await redis.hgetall(`bull:${name}:${job.id}`);
    assert.equal(stored.rjk, 'tick');
    const opts = JSON.parse(stored.opts);
    assert.deepEqual(opts.repeat, { every: 5000, startDate: start, count: 1 });
    assert.equal(opts.jobId, job.id);
    assert.equal(opts.repeatJobKey, 'tick');

    const scheduler = await q.getJobScheduler('tick');
    assert.deepEqual(scheduler, {
      key: 'tick',
      name: 'tick-job',
      next: start,
      iterationCount: 1,
      startDate: start,
      every: 5000,
      offset: start % 5000,
      template: { data: { n: 1 }, opts: { removeOnComplete: 7, attempts: 3 } },
    });
    assert.equal(await q.getJobScheduler('nobody'), undefined);
    assert.equal(await q.getJobSchedulersCount(), 1);
  });

  test('a cron scheduler in a time zone fires at the zone\'s wall-clock time', { timeout: 15000 }, async (t) => {
    const s = createScope();
    t.after(() => s.close());
    const q = s.add(new impl.Queue(s.queueName('sched'), { connection }));
    const job = await q.upsertJobScheduler('nightly', { pattern: '30 2 * * *', tz: 'America/New_York', limit: 3 });
    const due = new Date(Number(job.id.split(':').pop()));
    const wall = new Intl.DateTimeFormat('en-GB', {
      timeZone: 'America/New_York', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
    }).format(due);
    assert.equal(wall, '02:30');
    assert.ok(due.getTime() > Date.now() && due.getTime() <= Date.now() + 25 * 3600 * 1000);
    const scheduler = await q.getJobScheduler('nightly');
    assert.equal(scheduler.pattern, '30 2 * * *');
    assert.equal(scheduler.tz, 'America/New_York');
    assert.equal(scheduler.limit, 3);
    assert.equal(scheduler.next, due.getTime());
  });

  test('6-field patterns have seconds; getJobSchedulers ranks by next time', { timeout: 15000 }, async (t) => {
    const s = createScope();
    t.after(() => s.close());
    const q = s.add(new impl.Queue(s.queueName('sched'), { connection }));
    const seconds = await q.upsertJobScheduler('secs', { pattern: '*/10 * * * * *' });
    const ms = Number(seconds.id.split(':').pop());
    assert.equal(ms % 10000, 0);
    assert.ok(ms > Date.now() - 50 && ms <= Date.now() + 10000);
    await q.upsertJobScheduler('later', { every: 1000, startDate: Date.now() + MINUTE });
    await q.upsertJobScheduler('latest', { every: 1000, startDate: Date.now() + 2 * MINUTE });
    assert.deepEqual((await q.getJobSchedulers()).map((x) => x.key), ['latest', 'later', 'secs']);
    assert.deepEqual((await q.getJobSchedulers(0, 1, true)).map((x) => x.key), ['secs', 'later']);
  });

  test('upserting again replaces the pending iteration; removing deletes it', { timeout: 15000 }, async (t) => {
    const s = createScope();
    const redis = newRedis();
    t.after(async () => {
      await redis.quit();
      await s.close();
    });
    const name = s.queueName('sched');
    const q = s.add(new impl.Queue(name, { connection }));
    const start = Date.now() + 5 * MINUTE;
    const first = await q.upsertJobScheduler('s', { every: 2000, startDate: start }, { data: { v: 1 } });
    const second = await q.upsertJobScheduler('s', { every: 2000, startDate: start }, { data: { v: 2 } });
    assert.equal(second.id, first.id, 'an unchanged `every` keeps its slot');
    assert.deepEqual((await q.getJob(second.id)).data, { v: 2 });
    const third = await q.upsertJobScheduler('s', { every: 3000, startDate: start + 1000 }, { data: { v: 3 } });
    assert.notEqual(third.id, first.id);
    assert.deepEqual(await q.getJobs(['delayed']).then((js) => js.map((j) => j.id)), [third.id]);
    assert.equal(await q.removeJobScheduler('s'), true);
    assert.equal(await q.removeJobScheduler('s'), false);
    assert.equal(await q.getJob(third.id), undefined);
    assert.equal(await q.getJobSchedulersCount(), 0);
    assert.deepEqual(await redis.keys(`bull:${name}:repeat*`), []);
  });

  test('a limit of 0 stores nothing; the limit stops iterations', { timeout: 20000 }, async (t) => {
    const s = createScope();
    t.after(() => s.close());
    const name = s.queueName('sched');
    const q = s.add(new impl.Queue(name, { connection }));
    assert.equal(await q.upsertJobScheduler('none', { every: 1000, limit: 0 }), undefined);
    assert.equal(await q.getJobSchedulersCount(), 0);
    const seen = [];
    s.add(new impl.Worker(name, async (job) => seen.push(job.opts.repeat.count), workerOpts()));
    await q.upsertJobScheduler('three', { every: 30, limit: 3 });
    await waitFor(() => seen.length >= 3, 10000);
    await sleep(300);
    assert.deepEqual(seen, [1, 2, 3]);
    assert.deepEqual(await q.getJobs(['delayed', 'wait']), []);
  });

  // BullMQ stores some of these (an empty id, a bad date) or fails inside its scripts.
  test('bad input is refused before Redis is touched', { timeout: 15000, skip: isBullmqImpl }, async (t) => {
    const s = createScope();
    const redis = newRedis();
    t.after(async () => {
      await redis.quit();
      await s.close();
    });
    const name = s.queueName('sched');
    const q = s.add(new impl.Queue(name, { connection, skipMetasUpdate: true }));
    const cases = [
      ['', { every: 1000 }, /jobSchedulerId must be a non-empty string/],
      ['s', { pattern: 'not a cron' }, /Invalid cron pattern "not a cron"/],
      ['s', { pattern: '* * * * 9' }, /Invalid cron pattern/],
      ['s', { every: 0 }, /every must be a positive number/],
      ['s', { every: -10 }, /every must be a positive number/],
      ['s', { pattern: '* * * * *', tz: 'Mars/Olympus_Mons' }, /Unknown time zone "Mars\/Olympus_Mons"/],
      ['s', { every: 1000, startDate: Date.now() + 2 * MINUTE, endDate: Date.now() + MINUTE }, /endDate must not be before startDate/],
      ['s', { every: 1000, endDate: Date.now() - MINUTE }, /End date must be greater than current timestamp/],
      ['s', { every: 1000, startDate: 'not a date' }, /startDate must be a valid date/],
      ['s', { every: 1000, pattern: '* * * * *' }, /Both .pattern and .every options are defined/],
      ['s', {}, /Either .pattern or .every options must be defined/],
      ['s', { pattern: '* * * * *', immediately: true, startDate: Date.now() }, /Both .immediately and .startDate/],
    ];
    for (const [id, repeat, message] of cases) {
      // eslint-disable-next-line no-await-in-loop
      await assert.rejects(q.upsertJobScheduler(id, repeat), message, JSON.stringify(repeat));
    }
    await assert.rejects(q.add('x', {}, { repeat: { every: 1000 } }), /repeat job option was removed in BullMQ 6/);
    assert.deepEqual(await keysOf(redis, name), []);
  });
});

describe('JobScheduler', () => {
  for (const side of sides) {
    test(`${side.label}: new JobScheduler(name) upserts, reads and removes like the Queue methods`, { timeout: 15000 }, async (t) => {
      const s = createScope();
      t.after(() => s.close());
      const name = s.queueName('js');
      const scheduler = s.add(new side.lib.JobScheduler(name, { connection }));
      const start = Date.now() + MINUTE;
      const job = await scheduler.upsertJobScheduler('j', { every: 1000, startDate: start }, 'named', { a: 1 }, {}, { override: true });
      assert.equal(job.id, `repeat:j:${start}`);
      assert.equal(job.name, 'named');
      assert.equal(await scheduler.isJobScheduler('j'), true);
      assert.equal(await scheduler.isJobScheduler('nope'), false);
      assert.equal((await scheduler.getScheduler('j')).template.data.a, 1);
      assert.equal(await scheduler.getSchedulersCount(), 1);
      assert.equal(await scheduler.removeJobScheduler('j'), 0);
      assert.equal(await scheduler.removeJobScheduler('j'), 1);
      const q = s.add(new side.lib.Queue(name, { connection }));
      assert.equal(await q.getJobSchedulersCount(), 0);
      assert.ok((await q.jobScheduler) instanceof side.lib.JobScheduler);
    });
  }
});

describe('iterations', () => {
  for (const side of sides) {
    test(`a ${side.label} worker taking an iteration adds the next one, exactly one pending`, { timeout: 20000 }, async (t) => {
      const s = createScope();
      const redis = newRedis();
      t.after(async () => {
        await redis.quit();
        await s.close();
      });
      const name = s.queueName('iter');
      const q = s.add(new impl.Queue(name, { connection }));
      const ids = [];
      const w = s.add(
        new side.lib.Worker(
          name,
          async (job) => {
            ids.push(job.id);
            const pending = await redis.zrange(`bull:${name}:delayed`, 0, -1);
            return pending;
          },
          workerOpts(),
        ),
      );
      const done = [];
      w.on('completed', (job, pending) => done.push(pending));
      await q.upsertJobScheduler('beat', { every: 200 }, { name: 'beat', data: { x: 1 } });
      await waitFor(() => done.length >= 3, 10000);
      await w.close();
      for (const pending of done.slice(0, 3)) assert.equal(pending.length, 1, JSON.stringify(pending));
      const millis = ids.map((id) => Number(id.split(':').pop()));
      for (let i = 1; i < 3; i++) assert.equal(millis[i] - millis[i - 1], 200);
      assert.equal((await q.getJobScheduler('beat')).iterationCount, ids.length + 1);
    });
  }

  test('getNextJob (manual processing) adds the next iteration too', { timeout: 15000 }, async (t) => {
    const s = createScope();
    t.after(() => s.close());
    const name = s.queueName('iter');
    const q = s.add(new impl.Queue(name, { connection }));
    const w = s.add(new impl.Worker(name, null, workerOpts({ autorun: false })));
    const first = await q.upsertJobScheduler('by-hand', { every: 60000 });
    const taken = await w.getNextJob('token-1');
    assert.equal(taken.id, first.id);
    const pending = await q.getJobs(['delayed']);
    assert.deepEqual(pending.map((j) => j.id), [`repeat:by-hand:${Number(first.id.split(':').pop()) + 60000}`]);
    assert.equal(pending[0].opts.repeat.count, 2);
  });
});

describe('v5 repeatable jobs', () => {
  const KEY = 'nightly:job-1::Europe/Paris:0 0 * * *';

  test('keys are told from scheduler ids as BullMQ tells them', () => {
    const keys = [KEY, 'a:b:123::5000', 'tenant:region:env:service:queue:task', 'a:b:c:d:e f', 'a:b:1:tz:', 'plain'];
    for (const key of keys) assert.equal(impl.hasLegacyRepeatableKeyShape(key), bullmq.hasLegacyRepeatableKeyShape(key), key);
    assert.equal(impl.getLegacyRepeatableJobError(KEY).message, bullmq.getLegacyRepeatableJobError(KEY).message);
    assert.equal(impl.LEGACY_REPEATABLE_JOBS_MIGRATION_URL, bullmq.LEGACY_REPEATABLE_JOBS_MIGRATION_URL);
  });

  for (const side of sides) {
    test(`a ${side.label} worker meeting one reports BullMQ's error and still processes the job`, { timeout: 15000 }, async (t) => {
      const s = createScope();
      const redis = newRedis();
      t.after(async () => {
        await redis.quit();
        await s.close();
      });
      const name = s.queueName('legacy');
      const q = s.add(new side.lib.Queue(name, { connection }));
      await assert.rejects(q.getJobScheduler(KEY), { message: bullmq.getLegacyRepeatableJobError(KEY).message });
      const job = await q.add('old', {}, { jobId: 'repeat:0f3e:1000' });
      await redis.hset(`bull:${name}:${job.id}`, 'rjk', KEY);
      const errors = [];
      const w = s.add(new side.lib.Worker(name, async () => 'done', workerOpts()), { allowErrors: true });
      w.on('error', (err) => errors.push(err.message));
      await waitFor(async () => (await q.getJobState(job.id)) === 'completed', 10000);
      await waitFor(() => errors.length > 0, 5000);
      assert.deepEqual(errors, [`Failed to add repeatable job for next iteration: ${bullmq.getLegacyRepeatableJobError(KEY).message}`]);
    });
  }
});

describe(`schedulers shared by bullmq and ${implLabel}`, () => {
  for (const d of directions) {
    test(`${d.label}: upserted by one, iterated by the other's worker`, { timeout: 20000 }, async (t) => {
      const s = createScope();
      t.after(() => s.close());
      const name = s.queueName('shared');
      const q = s.add(new d.producer.lib.Queue(name, { connection }));
      const seen = [];
      s.add(
        new d.consumer.lib.Worker(
          name,
          async (job) => {
            seen.push([job.name, job.data, job.repeatJobKey, job.opts.repeat.count]);
          },
          workerOpts(),
        ),
      );
      await q.upsertJobScheduler('hb', { every: 100, limit: 4 }, { name: 'heartbeat', data: { from: d.producer.label } });
      await waitFor(() => seen.length >= 4, 10000);
      await sleep(300);
      assert.deepEqual(seen, [1, 2, 3, 4].map((n) => ['heartbeat', { from: d.producer.label }, 'hb', n]));
      const other = s.add(new d.consumer.lib.Queue(name, { connection }));
      assert.equal((await other.getJobScheduler('hb')).iterationCount, 4);
    });
  }

  test('50 iterations shared by both kinds of worker: none lost, none doubled', { timeout: 60000 }, async (t) => {
    const s = createScope();
    const redis = newRedis();
    t.after(async () => {
      await redis.quit();
      await s.close();
    });
    const name = s.queueName('shared50');
    const q = s.add(new bullmq.Queue(name, { connection }));
    const taken = [];
    const byKind = { bullmq: 0, [implLabel]: 0 };
    const workersOf = { bullmq: [], [implLabel]: [] };
    for (const side of sides) {
      for (let i = 0; i < 2; i++) {
        workersOf[side.label].push(s.add(
          new side.lib.Worker(
            name,
            async (job) => {
              taken.push(job.id);
              byKind[side.label] += 1;
            },
            workerOpts({ concurrency: 2 }),
          ),
        ));
      }
    }
    await q.upsertJobScheduler('mixed', { every: 25, limit: 50 }, { name: 'mixed' });
    // Halfway, the kind that took more pauses, so the other surely takes some too (the
    // faster kind may otherwise win every race for the next iteration).
    await waitFor(() => taken.length >= 25, 45000, { message: () => `${taken.length} taken` });
    const leader = byKind.bullmq >= byKind[implLabel] ? 'bullmq' : implLabel;
    await Promise.all(workersOf[leader].map((w) => w.pause(true)));
    await waitFor(() => taken.length >= 50, 45000, { message: () => `${taken.length} taken` });
    await sleep(500);
    assert.equal(taken.length, 50, 'no iteration doubled');
    assert.equal(new Set(taken).size, 50);
    const millis = taken.map((id) => Number(id.split(':').pop())).sort((a, b) => a - b);
    const counts = await Promise.all(taken.map((id) => q.getJob(id).then((j) => j.opts.repeat.count)));
    assert.deepEqual(counts.sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i + 1), 'no iteration lost');
    for (let i = 1; i < millis.length; i++) assert.ok(millis[i] > millis[i - 1]);
    assert.ok(byKind.bullmq > 0 && byKind[implLabel] > 0, `both kinds took iterations: ${JSON.stringify(byKind)}`);
    assert.deepEqual(await redis.zrange(`bull:${name}:delayed`, 0, -1), []);
  });
});

describe('getNextMillis', () => {
  for (const side of sides) {
    test(`${side.label}: fire times for every and cron; bad options throw BullMQ's plain message`, () => {
      assert.equal(side.lib.getNextMillis(5, { every: 10 }), 10);
      assert.equal(side.lib.getNextMillis(Date.parse('2024-01-01T00:00:30Z'), { pattern: '0 * * * *', tz: 'UTC' }), Date.parse('2024-01-01T01:00:00Z'));
      assert.throws(
        () => side.lib.getNextMillis(0, { every: 10, pattern: '* * * * *' }),
        (err) => err.message === 'Both .pattern and .every options are defined for this repeatable job',
      );
    });
  }
});
