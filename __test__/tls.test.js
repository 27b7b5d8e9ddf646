'use strict';

// TLS: Queue, Worker and QueueEvents against a TLS-only private redis-server
// whose certificate a throwaway CA signed (made with openssl at test time).
// The CA is trusted through `tls.ca` given as options, next to a
// `rediss://` URL, or lent by an ioredis instance; a certificate that is not
// trusted or names another host is refused, as ioredis refuses it, unless
// `rejectUnauthorized: false`; a client certificate reaches a server that
// requires one; BullMQ and the implementation share a queue over TLS. TLS
// options the engine cannot honour are refused up front.

const { test, describe, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const IORedis = require('ioredis');

const { bullmq, impl, directions } = require('./helpers/sides');
const { implLabel, bullrushOnly, isBullmqImpl } = require('./helpers/env');
const { uniqueQueueName, waitFor, queueEventsReady } = require('./helpers/redis');
const { recordEvents, withTimeout, closeAll } = require('./helpers/util');
const { PrivateRedis, HOST } = require('./helpers/private-redis');
const { tlsUnavailable, makeCertificates } = require('./helpers/tls');

// A loopback address the server also listens on but its certificate does not name.
const UNNAMED_HOST = '127.0.0.2';

const skip = tlsUnavailable();

function closeBounded(things, ms = 10000) {
  return withTimeout(closeAll(things), ms, `close() did not return within ${ms} ms`);
}

async function deleteQueueKeys(client, name) {
  const keys = await client.keys(`bull:${name}:*`);
  if (keys.length) await client.del(...keys);
}

describe(`TLS (${implLabel})`, { skip }, () => {
  let dir;
  let certs;
  let server; // TLS, client certificates not asked for; also bound to UNNAMED_HOST
  let mtlsServer; // TLS, a client certificate signed by the test CA required
  let admin;
  let mtlsAdmin;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bullrush-tls-'));
    certs = makeCertificates(dir);
    server = await PrivateRedis.create({ tls: certs.server, hosts: [HOST, UNNAMED_HOST] });
    mtlsServer = await PrivateRedis.create({ tls: { ...certs.server, authClients: 'yes' } });
    admin = server.client({ tls: { ca: certs.ca } });
    mtlsAdmin = mtlsServer.client({ tls: { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey } });
  });

  after(async () => {
    await Promise.allSettled([admin, mtlsAdmin].filter(Boolean).map((c) => c.quit()));
    await Promise.allSettled([server, mtlsServer].filter(Boolean).map((s) => s.dispose()));
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const trusted = () => ({ host: HOST, port: server.port, tls: { ca: certs.ca } });

  // Two jobs added by `producer`, processed by `consumer`'s Worker, seen
  // completed by a QueueEvents of each kind in `listeners`, all on `conn`
  // (an ioredis instance in `conn` is quit at the end).
  async function roundTrip(t, conn, { client = admin, producer = impl, consumer = impl, listeners = [impl] } = {}) {
    const name = uniqueQueueName('tls');
    const q = new producer.Queue(name, { connection: conn });
    const w = new consumer.Worker(name, async (job) => `${job.data.word}!`, { connection: conn, drainDelay: 1 });
    const qes = listeners.map((lib) => new lib.QueueEvents(name, { connection: conn }));
    t.after(async () => {
      await closeBounded([w, ...qes, q]);
      if (conn instanceof IORedis) await conn.quit();
      await deleteQueueKeys(client, name);
    });
    const errors = [q, w, ...qes].map((obj) => recordEvents(obj, ['error']).error);
    const completed = [];
    w.on('completed', (job, result) => completed.push({ id: job.id, result }));
    const seen = qes.map((qe) => recordEvents(qe, ['completed']).completed);

    await withTimeout(w.waitUntilReady(), 10000, 'worker not ready');
    for (const qe of qes) {
      // eslint-disable-next-line no-await-in-loop
      await queueEventsReady(qe, name, { client, timeoutMs: 8000 });
    }
    const a = await q.add('w', { word: 'hello' });
    const b = await q.add('w', { word: 'world' });
    await waitFor(() => completed.length === 2 && seen.every((events) => events.length === 2), 10000, {
      message: () =>
        `completed ${JSON.stringify(completed)}, QueueEvents saw ${seen.map((e) => e.length)}; ` +
        `errors ${errors.flat().map(([e]) => e && e.message)}`,
    });
    assert.deepEqual(completed, [
      { id: a.id, result: 'hello!' },
      { id: b.id, result: 'world!' },
    ]);
    for (const events of seen) {
      assert.deepEqual(events.map(([e]) => [e.jobId, e.returnvalue]), [
        [a.id, 'hello!'],
        [b.id, 'world!'],
      ]);
    }
    assert.deepEqual(errors.flat(), [], 'no error events');
    assert.equal(await client.hget(`bull:${name}:${a.id}`, 'returnvalue'), '"hello!"');
  }

  describe('connections that trust the server', () => {
    test('{ host, port, tls: { ca } }: Queue + Worker + QueueEvents round trip', { timeout: 30000 }, async (t) => {
      await roundTrip(t, trusted());
    });

    test('{ url: rediss://127.0.0.1:<port>, tls: { ca } }: round trip', { timeout: 30000 }, async (t) => {
      await roundTrip(t, { url: `rediss://${HOST}:${server.port}`, tls: { ca: certs.ca } });
    });

    test('an ioredis instance made from a rediss:// URL with tls.ca (a Buffer): round trip', { timeout: 30000 }, async (t) => {
      const client = new IORedis(`rediss://${HOST}:${server.port}`, {
        tls: { ca: Buffer.from(certs.ca) },
        maxRetriesPerRequest: null,
      });
      await roundTrip(t, client);
    });

    test('tls: { rejectUnauthorized: false } on a host the certificate does not name: round trip', { timeout: 30000 }, async (t) => {
      await roundTrip(t, { host: UNNAMED_HOST, port: server.port, tls: { rejectUnauthorized: false } });
    });

    test('tls: { ca, cert, key } on a server that requires a client certificate: round trip', { timeout: 30000 }, async (t) => {
      const conn = {
        host: HOST,
        port: mtlsServer.port,
        tls: { ca: [certs.ca], cert: certs.clientCert, key: Buffer.from(certs.clientKey) },
      };
      await roundTrip(t, conn, { client: mtlsAdmin });
    });
  });

  describe('interop with BullMQ over TLS', () => {
    for (const d of directions) {
      test(`${d.label}: jobs processed, both kinds of QueueEvents see them`, { timeout: 30000 }, async (t) => {
        await roundTrip(t, trusted(), {
          producer: d.producer.lib,
          consumer: d.consumer.lib,
          listeners: [bullmq, impl],
        });
      });
    }
  });

  // Each connection must fail and write nothing: bullrush's Queue#add
  // rejects with the TLS error; BullMQ's waits for a connection while the
  // Queue emits the TLS error as 'error' events. Whichever comes first counts.
  describe('connections that must not trust the server', () => {
    const refusals = [
      {
        label: 'tls: {} (the test CA is not trusted by default)',
        make: () => ({ host: HOST, port: server.port, tls: {} }),
        reason: /certificate/i,
      },
      {
        label: '{ url: rediss://127.0.0.1:<port> } (the test CA is not trusted by default)',
        make: () => ({ url: `rediss://${HOST}:${server.port}` }),
        reason: /certificate/i,
      },
      {
        label: 'a rediss:// URL string',
        make: () => `rediss://${HOST}:${server.port}`,
        reason: /certificate/i,
        skip: isBullmqImpl && 'bullrush extension: BullMQ does not take a URL string as `connection`',
      },
      {
        label: 'tls: { ca: <another CA> }',
        make: () => ({ host: HOST, port: server.port, tls: { ca: certs.otherCa } }),
        reason: /certificate/i,
      },
      {
        label: 'tls: { ca } on a host the certificate does not name',
        make: () => ({ host: UNNAMED_HOST, port: server.port, tls: { ca: certs.ca } }),
        reason: /certificate/i,
      },
      {
        // The server refuses after the handshake: Node reports the alert or a
        // reset connection, depending on timing.
        label: 'tls: { ca } without a client certificate where the server requires one',
        make: () => ({ host: HOST, port: mtlsServer.port, tls: { ca: certs.ca } }),
        client: () => mtlsAdmin,
        reason: /certificate|ECONNRESET|closed|reset/i,
      },
    ];

    for (const r of refusals) {
      test(`${r.label}: Queue#add fails with the TLS error, nothing stored`, { timeout: 30000, skip: r.skip }, async (t) => {
        const client = r.client ? r.client() : admin;
        const name = uniqueQueueName('tls-refused');
        const q = new impl.Queue(name, { connection: r.make() });
        const errors = recordEvents(q, ['error']).error;
        t.after(async () => {
          await closeBounded([q]);
          await deleteQueueKeys(client, name);
        });
        const added = q.add('x', { n: 1 }).then(
          () => 'add() succeeded',
          (err) => err.message,
        );
        const message = await withTimeout(
          Promise.race([added, waitFor(() => errors[0], 20000).then(([err]) => err.message)]),
          22000,
          'neither a rejected add nor an error event within 20 s',
        );
        t.diagnostic(`refused with: ${message}`);
        assert.match(message, r.reason);
        assert.deepEqual(await client.keys(`bull:${name}:*`), [], 'nothing reached the server');
      });
    }

    test('tls: {}: a Worker emits error events naming the certificate problem', { timeout: 30000 }, async () => {
      const name = uniqueQueueName('tls-refused');
      const w = new impl.Worker(name, async () => 'never', {
        connection: { host: HOST, port: server.port, tls: {} },
        drainDelay: 1,
      });
      const errors = recordEvents(w, ['error']).error;
      try {
        await waitFor(() => errors.length > 0, 20000, { message: 'no error event' });
        assert.match(String(errors[0][0] && errors[0][0].message), /certificate/i);
      } finally {
        // BullMQ's Worker#close() waits for a connection that never comes;
        // with no job active, forcing it changes nothing else.
        await withTimeout(w.close(isBullmqImpl), 5000, 'Worker#close() hangs');
      }
    });
  });

  describe('TLS options bullrush cannot honour are refused', () => {
    const refused = [
      { label: 'servername', tls: () => ({ ca: certs.ca, servername: 'localhost' }), message: /Unsupported TLS option servername: bullrush supports ca, cert, key, rejectUnauthorized/ },
      { label: 'a ca without a PEM certificate', tls: () => ({ ca: 'not a certificate' }), message: /tls\.ca holds no PEM certificate/ },
      { label: 'cert without key', tls: () => ({ ca: certs.ca, cert: certs.clientCert }), message: /tls\.cert and tls\.key must be given together/ },
      { label: 'a TLS profile name', tls: () => 'RedisCloudFixed', message: /profile names are not supported/ },
    ];
    for (const r of refused) {
      test(`${r.label}: Queue, Worker and QueueEvents constructors throw`, { skip: bullrushOnly }, () => {
        const connection = { host: HOST, port: server.port, tls: r.tls() };
        assert.throws(() => new impl.Queue('tls-refused', { connection }), r.message);
        assert.throws(() => new impl.Worker('tls-refused', async () => {}, { connection, autorun: false }), r.message);
        assert.throws(() => new impl.QueueEvents('tls-refused', { connection, autorun: false }), r.message);
      });
    }
  });
});
