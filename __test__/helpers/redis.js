'use strict';

// Redis access for the tests: connection options, unique queue names, key
// clean-up and snapshots, polling.
//
// Every test works on its own queue (uniqueQueueName) and removes that
// queue's keys afterwards (cleanup), so no test depends on what another one
// left behind in Redis.

const crypto = require('node:crypto');
const IORedis = require('ioredis');

const redisUrl = process.env.REDIS_URL || 'redis://127.0.0.1:6379';

function parseRedisUrl(url) {
  const u = new URL(url);
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') {
    throw new Error(`REDIS_URL must be a redis:// or rediss:// URL, got ${url}`);
  }
  const opts = {
    host: u.hostname || '127.0.0.1',
    port: u.port ? Number(u.port) : 6379,
  };
  if (u.username) opts.username = decodeURIComponent(u.username);
  if (u.password) opts.password = decodeURIComponent(u.password);
  const db = u.pathname.replace(/^\//, '');
  if (db) opts.db = Number(db);
  if (u.protocol === 'rediss:') opts.tls = {};
  return opts;
}

// `{host, port}` (plus username/password/db/tls when REDIS_URL has them),
// for the `connection` option of Queue, Worker and QueueEvents.
const connection = parseRedisUrl(redisUrl);

// A plain ioredis client on the test Redis. The caller must quit() it.
function newRedis(extra = {}) {
  return new IORedis({ ...connection, maxRetriesPerRequest: 3, ...extra });
}

// A queue name no other test (or earlier run) uses.
function uniqueQueueName(prefix = 'test') {
  return `${prefix}-${Date.now().toString(36)}-${crypto.randomBytes(5).toString('hex')}`;
}

function escapeGlob(s) {
  return s.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

async function scanKeys(client, pattern) {
  const keys = [];
  let cursor = '0';
  do {
    // eslint-disable-next-line no-await-in-loop
    const [next, batch] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  return [...new Set(keys)].sort();
}

// All keys of a queue: `<prefix>:<name>:*`.
async function queueKeys(queueName, prefix = 'bull', client) {
  const own = !client;
  const c = client || newRedis();
  try {
    return await scanKeys(c, `${escapeGlob(prefix)}:${escapeGlob(queueName)}:*`);
  } finally {
    if (own) await c.quit();
  }
}

// Deletes every key `<prefix>:<name>:*` (SCAN + DEL).
async function cleanup(queueName, prefix = 'bull') {
  const c = newRedis();
  try {
    const keys = await queueKeys(queueName, prefix, c);
    for (let i = 0; i < keys.length; i += 500) {
      // eslint-disable-next-line no-await-in-loop
      await c.del(...keys.slice(i, i + 500));
    }
    return keys.length;
  } finally {
    await c.quit();
  }
}

// Polls `predicate` (sync or async) until it returns a truthy value, which is
// returned. Rejects after timeoutMs with `message` (a string or a function
// returning one, evaluated at timeout).
async function waitFor(predicate, timeoutMs = 5000, { interval = 20, message } = {}) {
  const deadline = Date.now() + timeoutMs;
  let lastError;
  for (;;) {
    try {
      // eslint-disable-next-line no-await-in-loop
      const v = await predicate();
      if (v) return v;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const msg = typeof message === 'function' ? await message() : message;
      const err = new Error(`waitFor timed out after ${timeoutMs} ms${msg ? `: ${msg}` : ''}`);
      if (lastError) err.cause = lastError;
      throw err;
    }
    // eslint-disable-next-line no-await-in-loop
    await new Promise((r) => setTimeout(r, interval));
  }
}

// Resolves once `queueEvents` (of either implementation) is reading the
// queue's event stream: waitUntilReady alone does not guarantee that the
// first XREAD has been issued, and a QueueEvents that starts at `$` misses
// events written before it. We append harmless `drained` entries to the
// stream until the listener reports one. (`drained` carries no jobId, and no
// test listens for a QueueEvents `drained` after this point by accident:
// tests that care about `drained` attach their listener afterwards and check
// ids.)
async function queueEventsReady(queueEvents, queueName, { prefix = 'bull', timeoutMs = 5000, client } = {}) {
  await queueEvents.waitUntilReady();
  const c = client || newRedis();
  let seen = false;
  const onDrained = () => {
    seen = true;
  };
  queueEvents.on('drained', onDrained);
  try {
    await waitFor(
      async () => {
        if (seen) return true;
        await c.xadd(`${prefix}:${queueName}:events`, '*', 'event', 'drained');
        return false;
      },
      timeoutMs,
      { interval: 50, message: 'QueueEvents never delivered the probe event (drained)' },
    );
  } finally {
    queueEvents.off('drained', onDrained);
    if (!client) await c.quit();
  }
}

module.exports = {
  redisUrl,
  parseRedisUrl,
  connection,
  newRedis,
  uniqueQueueName,
  queueKeys,
  cleanup,
  waitFor,
  queueEventsReady,
};
