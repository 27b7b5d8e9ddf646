'use strict';

// The `connection` forms BullMQ 6.7 accepts: options, URL, an ioredis instance, and
// ioredis, node-redis and Valkey GLIDE clients, raw or wrapped by BullMQ's and bullrush's
// create*Client. Each is pointed at a database other than 0, so a job landing there
// proves its settings were read. Forms bullrush cannot use are refused at construction,
// naming the form and setting, with nothing written to Redis.

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');
const IORedis = require('ioredis');
const { createClient, createCluster, createSentinel } = require('redis');
const { GlideClient } = require('@valkey/valkey-glide');

const { bullmq, impl, connection } = require('./helpers/sides');
const { bullrushOnly } = require('./helpers/env');
const { newRedis, redisUrl, uniqueQueueName, queueKeys } = require('./helpers/redis');
const { createScope, closeAll } = require('./helpers/util');

// The database every form here points at.
const DB = 7;

// `redis://host:port/<DB>` from REDIS_URL.
function urlWithDb() {
  const u = new URL(redisUrl);
  u.pathname = `/${DB}`;
  return u.toString();
}

// Each form: a name, a maker of [connection, things to close after], and whether only
// bullrush takes it (a URL string, a raw GLIDE client: BullMQ needs its wrapper).
const FORMS = [
  ['options', () => [{ ...connection, db: DB }]],
  ['options with a url', () => [{ url: urlWithDb() }]],
  ['a URL string', () => [urlWithDb()], bullrushOnly],
  ['an ioredis instance', () => wrapped(new IORedis({ ...connection, db: DB, lazyConnect: true }))],
  ["BullMQ's createIORedisClient", () => wrapped(bullmq.createIORedisClient(new IORedis({ ...connection, db: DB, lazyConnect: true })))],
  ["bullrush's createIORedisClient", () => wrapped(impl.createIORedisClient(new IORedis({ ...connection, db: DB, lazyConnect: true })))],
  ['a node-redis client', () => nodeRedisForm(nodeRedis())],
  ['a node-redis client (URL)', () => nodeRedisForm(createClient({ url: urlWithDb() }))],
  // BullMQ's adapter connects its client, as ioredis does.
  ["BullMQ's createNodeRedisClient", () => nodeRedisForm(bullmq.createNodeRedisClient(nodeRedis()))],
  ["bullrush's createNodeRedisClient", () => nodeRedisForm(impl.createNodeRedisClient(nodeRedis()))],
  ['a Valkey GLIDE client', async () => glide(await glideClient()), bullrushOnly],
  ["BullMQ's createValkeyGlideClient", async () => glide(bullmq.createValkeyGlideClient(await glideClient()))],
  ["bullrush's createValkeyGlideClient", async () => glide(impl.createValkeyGlideClient(await glideClient()))],
];

function wrapped(client) {
  return [client, { close: () => client.disconnect() }];
}

// A node-redis connection and what closes its raw client if it was opened.
function nodeRedisForm(client) {
  const raw = client.raw || client;
  return [client, { close: async () => raw.isOpen && raw.destroy() }];
}

function nodeRedis() {
  return createClient({ socket: { host: connection.host, port: connection.port }, database: DB, username: connection.username, password: connection.password });
}

async function glideClient() {
  const credentials = connection.password ? { username: connection.username, password: connection.password } : undefined;
  return GlideClient.createClient({ addresses: [{ host: connection.host, port: connection.port }], databaseId: DB, credentials });
}

// A GLIDE connection and what closes its raw client.
function glide(client) {
  const raw = client.raw || client;
  return [client, { close: () => raw.close() }];
}

describe('connection forms', () => {
  for (const [label, make, skip = false] of FORMS) {
    test(`${label}: the Queue connects with its settings (db ${DB})`, { skip, timeout: 20000 }, async (t) => {
      const s = createScope();
      t.after(() => s.close());
      const [conn, ...owned] = await make();
      t.after(() => closeAll(owned));
      const name = uniqueQueueName('conn-form');
      const queue = s.add(new impl.Queue(name, { connection: conn }));
      const job = await queue.add('probe', { form: label });
      await queue.close();
      const onDb = newRedis({ db: DB });
      t.after(() => onDb.quit());
      assert.equal(await onDb.hget(`bull:${name}:${job.id}`, 'name'), 'probe', `the job is in db ${DB}`);
      await onDb.del(...(await queueKeys(name, 'bull', onDb)));
      assert.deepEqual(await queueKeys(name), [], 'nothing in db 0');
    });
  }

  test('a Worker and a QueueEvents read the same settings from a node-redis client', { timeout: 20000 }, async (t) => {
    const s = createScope();
    t.after(() => s.close());
    const name = uniqueQueueName('conn-worker');
    const onDb = newRedis({ db: DB });
    t.after(async () => {
      const keys = await queueKeys(name, 'bull', onDb);
      if (keys.length) await onDb.del(...keys);
      await onDb.quit();
    });
    const clients = [nodeRedis(), nodeRedis(), nodeRedis()];
    t.after(() => closeAll(clients.map((client) => nodeRedisForm(client)[1])));
    const events = s.add(new impl.QueueEvents(name, { connection: clients[0] }));
    await events.waitUntilReady();
    const completed = new Promise((resolve) => events.on('completed', resolve));
    s.add(new impl.Worker(name, async (job) => job.data.n * 2, { connection: clients[1], drainDelay: 1 }));
    const queue = s.add(new impl.Queue(name, { connection: clients[2] }));
    await queue.add('double', { n: 21 });
    const [args] = await Promise.all([completed]);
    assert.equal(args.returnvalue, 42);
  });
});

// Forms bullrush refuses: [label, make connection, expected message, what closes it].
const REFUSED = [
  ['an ioredis Cluster', () => new IORedis.Cluster([{ host: '127.0.0.1', port: 7000 }], { lazyConnect: true }), /\(an ioredis Cluster\): Redis Cluster is not supported by bullrush yet/],
  ["an ioredis Cluster through BullMQ's createIORedisClient", () => bullmq.createIORedisClient(new IORedis.Cluster([{ host: '127.0.0.1', port: 7000 }], { lazyConnect: true })), /an ioredis Cluster/],
  ['a node-redis cluster', () => createCluster({ rootNodes: [{ url: 'redis://127.0.0.1:7000' }] }), /\(a node-redis cluster client\): Redis Cluster/],
  ['a node-redis sentinel', () => createSentinel({ name: 'main', sentinelRootNodes: [{ host: '127.0.0.1', port: 26379 }] }), /\(a node-redis sentinel client\): Redis Sentinel/],
  ['ioredis sentinels', () => new IORedis({ sentinels: [{ host: '127.0.0.1', port: 26379 }], name: 'main', lazyConnect: true }), /sentinels \(Redis Sentinel\)/],
  ['an ioredis Unix socket', () => new IORedis({ path: '/tmp/redis.sock', lazyConnect: true }), /\(an ioredis client\): path \(a Unix socket\)/],
  ['a node-redis Unix socket', () => createClient({ socket: { path: '/tmp/redis.sock' } }), /\(a node-redis client\): socket\.path \(a Unix socket\)/],
  ['Unix socket options', () => ({ path: '/tmp/redis.sock' }), /\(connection options\): path \(a Unix socket\)/],
  ['a node-redis TLS servername', () => createClient({ socket: { host: '127.0.0.1', tls: true, servername: 'redis.example.com' } }), /Unsupported TLS option servername/],
  ['a client of an unknown kind', () => ({ connect() {}, disconnect() {}, duplicate() {} }), /an unknown kind of Redis client, Object\): pass its settings/],
  ['a Bun client', () => ({ send() {}, connected: false, close() {} }), /\(a Bun RedisClient\): its settings cannot be read: pass its URL/],
  [
    'a GLIDE configuration with two addresses',
    () => ({ customCommand() {}, config: { addresses: [{ host: 'a' }, { host: 'b' }] } }),
    /\(a Valkey GLIDE client\): addresses lists 2 servers/,
  ],
];

describe('connections bullrush cannot use are refused at construction', () => {
  for (const [label, make, message] of REFUSED) {
    test(`${label}`, { skip: bullrushOnly }, async (t) => {
      const name = uniqueQueueName('conn-refused');
      for (const construct of [
        (conn) => new impl.Queue(name, { connection: conn }),
        (conn) => new impl.Worker(name, async () => null, { connection: conn }),
        (conn) => new impl.QueueEvents(name, { connection: conn }),
        (conn) => new impl.QueueEventsProducer(name, { connection: conn }),
      ]) {
        const conn = make();
        t.after(() => typeof conn.disconnect === 'function' && conn.disconnect());
        assert.throws(() => construct(conn), (err) => message.test(err.message) && /^Unsupported/.test(err.message));
      }
      assert.deepEqual(await queueKeys(name), [], 'nothing reached Redis');
    });
  }

  test("an ioredis keyPrefix is refused with BullMQ's message, by both libraries", async (t) => {
    for (const lib of [bullmq, impl]) {
      const client = new IORedis({ ...connection, keyPrefix: 'app:', lazyConnect: true });
      t.after(() => client.disconnect());
      assert.throws(
        () => new lib.Queue(uniqueQueueName('conn-prefix'), { connection: client }),
        /^Error: BullMQ: ioredis does not support ioredis prefixes, use the prefix option instead\.$/,
      );
    }
  });

  test('create*Client refuses a client whose settings cannot be read, at the call', { skip: bullrushOnly }, () => {
    assert.throws(() => impl.createBunRedisClient({ send() {}, connected: true }), /a Bun RedisClient/);
    assert.throws(() => impl.createNodeRedisClient(createCluster({ rootNodes: [{ url: 'redis://127.0.0.1:7000' }] })), /Redis Cluster/);
    assert.throws(() => impl.createIORedisClient(undefined), /a Redis client instance is required/);
  });
});
