'use strict';

// `bullrush/testing`: a throwaway real Redis for a test suite. startTestRedis() uses the
// Redis at `REDIS_URL` (or the `url` option) when one is given, and otherwise starts a
// redis-server of its own: a free loopback port, a temporary directory, no persistence.
// The TestRedis it answers hands out queue names no other suite uses; stop() removes
// those queues' keys, stops the server it started and deletes its directory, leaving no
// handle open, so the test process exits by itself.

const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { QueueBase } = require('./queue-base');

const HOST = '127.0.0.1';
const READY_LINE = 'Ready to accept connections';
const START_TIMEOUT_MS = 10000;
const PROBE_TIMEOUT_MS = 3000;
const PORT_ATTEMPTS = 5;
const DEL_BATCH = 500;

/** `{ host, port, username?, password?, db?, tls? }` from a redis:// or rediss:// URL. */
function connectionFromUrl(url) {
  let u;
  try {
    u = new URL(url);
  } catch {
    throw new TypeError(`startTestRedis: url must be a redis:// or rediss:// URL, got ${JSON.stringify(url)}`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') {
    throw new TypeError(`startTestRedis: url must be a redis:// or rediss:// URL, got ${JSON.stringify(url)}`);
  }
  const connection = { host: u.hostname || HOST, port: u.port ? Number(u.port) : 6379 };
  if (u.username) connection.username = decodeURIComponent(u.username);
  if (u.password) connection.password = decodeURIComponent(u.password);
  const db = u.pathname.replace(/^\//, '');
  if (db) connection.db = Number(db);
  if (u.protocol === 'rediss:') connection.tls = {};
  return connection;
}

/** A URL with its credentials masked, for error messages. */
function redact(url) {
  return String(url).replace(/\/\/[^@/]*@/, '//***@');
}

/** A TCP port nothing listens on at the moment (the OS picks it). */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, HOST, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** `<base>-<time>-<random>`: a queue name no other suite or earlier run uses. */
function uniqueName(base) {
  return `${base}-${Date.now().toString(36)}-${crypto.randomBytes(5).toString('hex')}`;
}

/** A glob that matches `text` literally in SCAN's MATCH. */
function escapeGlob(text) {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

/**
 * Runs `fn(client)` with a Redis command client on `connection` (the engine's own, through a
 * QueueBase's backend), closing it afterwards.
 */
async function withClient(connection, fn) {
  const base = new QueueBase('bullrush-testing', { connection });
  try {
    return await fn(await base.getBackend().client);
  } finally {
    await base.close();
  }
}

/** Rejects with `message` if `promise` has not settled within `ms`; clears its timer either way. */
async function within(promise, ms, message) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves once the Redis at `url` answers PING; rejects with a message naming the URL. */
async function probe(url, connection) {
  try {
    await within(
      withClient(connection, (client) => client.ping()),
      PROBE_TIMEOUT_MS,
      `no answer within ${PROBE_TIMEOUT_MS} ms`,
    );
  } catch (err) {
    throw new Error(`startTestRedis: the Redis at ${redact(url)} does not answer: ${err.message}`, { cause: err });
  }
}

/**
 * Starts `bin` on `port` with persistence off, in `dir`; resolves with the child once it
 * accepts connections, or rejects with its output if it exits first or is not ready in time.
 */
function spawnServer(bin, port, dir) {
  const args = ['--port', String(port), '--bind', HOST, '--save', '', '--appendonly', 'no', '--dir', dir];
  const child = spawn(bin, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  child.output = '';
  child.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return new Promise((resolve, reject) => {
    const fail = (err) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(err);
    };
    const timer = setTimeout(
      () => fail(new Error(`${bin} on port ${port} was not ready within ${START_TIMEOUT_MS} ms:\n${child.output}`)),
      START_TIMEOUT_MS,
    );
    const onData = (chunk) => {
      child.output = (child.output + chunk).slice(-8192);
      if (child.output.includes(READY_LINE)) {
        clearTimeout(timer);
        resolve(child);
      }
    };
    child.stdout.setEncoding('utf8').on('data', onData);
    child.stderr.setEncoding('utf8').on('data', onData);
    child.once('error', (err) => {
      const hint = err.code === 'ENOENT' ? ': install redis-server, or set REDIS_URL to a Redis to use' : '';
      fail(new Error(`startTestRedis: cannot run ${bin}${hint}`, { cause: err }));
    });
    child.exited.then(({ code, signal }) =>
      fail(new Error(`${bin} exited on start (code ${code}, signal ${signal}):\n${child.output}`)),
    );
  });
}

/**
 * Starts a redis-server on a free loopback port in a new temporary directory; tries other
 * ports when the one picked is taken meanwhile. Answers { child, port, dir }.
 */
async function startServer(bin) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bullrush-test-redis-'));
  let lastError;
  for (let attempt = 0; attempt < PORT_ATTEMPTS; attempt += 1) {
    const port = await freePort();
    try {
      return { child: await spawnServer(bin, port, dir), port, dir };
    } catch (err) {
      lastError = err;
      if (!/Address already in use/i.test(err.message)) break;
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });
  throw lastError;
}

/** A Redis for one test suite: where it is, unique queue names, and clean-up. */
class TestRedis {
  constructor({ url, server }) {
    /** The Redis URL, e.g. `redis://127.0.0.1:41234`. */
    this.url = url;
    /** `{ host, port, ... }` for the `connection` option of Queue, Worker and QueueEvents. */
    this.connection = connectionFromUrl(url);
    /** The process id of the redis-server this started, or null when it uses a given Redis. */
    this.pid = server ? server.child.pid : null;
    /** The temporary directory of the redis-server this started, or null. */
    this.dir = server ? server.dir : null;
    this._server = server;
    this._queueNames = new Set();
    this._stopped = null;
    // A process that exits without stop() does not leave its redis-server or directory behind.
    this._killOnExit = server
      ? () => {
          server.child.kill('SIGKILL');
          fs.rmSync(server.dir, { recursive: true, force: true });
        }
      : null;
    if (server) process.once('exit', this._killOnExit);
  }

  /** True when this started its own redis-server (false: it uses REDIS_URL or the `url` option). */
  get ownServer() {
    return this._server !== undefined;
  }

  /** A queue name no other suite uses, `<base>-<time>-<random>`; its keys go on cleanup() and stop(). */
  queueName(base = 'test') {
    if (typeof base !== 'string' || base === '' || base.includes(':')) {
      throw new TypeError('queueName(base): base must be a non-empty string without ":"');
    }
    if (this._stopped) throw new Error('queueName: this TestRedis is stopped');
    const name = uniqueName(base);
    this._queueNames.add(name);
    return name;
  }

  /**
   * Deletes the keys of every queue named by queueName() so far, under any prefix
   * (`<prefix>:<name>:*`); answers how many keys it deleted. Close the Queues, Workers and
   * QueueEvents on them first, or they may write keys again.
   */
  async cleanup() {
    const names = [...this._queueNames];
    // A stopped server of its own has taken every key with it.
    if (names.length === 0 || (this._server && this._stopped)) return 0;
    return withClient(this.connection, async (client) => {
      let deleted = 0;
      for (const name of names) {
        const keys = await scanKeys(client, `*:${escapeGlob(name)}:*`);
        for (let i = 0; i < keys.length; i += DEL_BATCH) {
          deleted += await client.call('del', keys.slice(i, i + DEL_BATCH));
        }
      }
      return deleted;
    });
  }

  /**
   * Cleans up (a given Redis), or stops the redis-server this started and deletes its
   * directory. Safe to call more than once.
   */
  stop() {
    if (!this._stopped) this._stopped = this._server ? this._stopServer() : this.cleanup().then(() => undefined);
    return this._stopped;
  }

  async _stopServer() {
    const { child, dir } = this._server;
    process.removeListener('exit', this._killOnExit);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await child.exited;
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Every key matching `pattern` (SCAN, deduplicated). */
async function scanKeys(client, pattern) {
  const keys = new Set();
  let cursor = '0';
  do {
    const [next, batch] = await client.call('scan', cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = String(next);
    for (const key of batch) keys.add(key);
  } while (cursor !== '0');
  return [...keys];
}

/**
 * A Redis for a test suite. `url` (default `process.env.REDIS_URL`): use that Redis, which
 * must answer; `url: false`, or no URL at all: start a redis-server of its own, the binary
 * `redisServer` (default `redis-server` from PATH).
 */
async function startTestRedis({ url = process.env.REDIS_URL, redisServer = 'redis-server' } = {}) {
  if (url !== undefined && url !== false && url !== '') {
    const given = String(url);
    await probe(given, connectionFromUrl(given));
    return new TestRedis({ url: given });
  }
  const server = await startServer(redisServer);
  return new TestRedis({ url: `redis://${HOST}:${server.port}`, server });
}

module.exports = { startTestRedis, TestRedis };
